r"""Figures from the results of polars_factors (optional extra ``plot``: matplotlib).

Each function takes the frames or result objects of the other modules and returns a
:class:`matplotlib.figure.Figure`, built without pyplot: nothing is shown and no global
state changes. Save it with ``fig.savefig("exposures.png")``, or show it in a notebook
by leaving it as the last expression of a cell.

=========================  ===============================================================
function                   input
=========================  ===============================================================
:func:`exposure_bar`       full-sample :func:`polars_factors.betas` output, or a long
                           ``factor, exposure`` frame
:func:`exposure_radar`     the same
:func:`rolling_betas`      rolling :func:`polars_factors.betas` output
:func:`cumulative_returns` long ``date, factor, factor_return`` (cross-section factor
                           returns) or wide ``date`` + one column per factor
:func:`ic_by_date`         :func:`polars_factors.portfolio.information_coefficient`
:func:`quantile_returns`   :func:`polars_factors.portfolio.quantile_returns`
:func:`risk_decomposition` :meth:`polars_factors.risk.RiskModel.portfolio_risk` or
                           :meth:`~polars_factors.risk.RiskModel.asset_risk`
=========================  ===============================================================

matplotlib is imported on the first call, so this module imports without it; a call
without it raises :class:`~polars_factors.exceptions.MissingDependencyError`.

Examples
--------
>>> import io
>>> import polars as pl
>>> import polars_factors as pf
>>> betas = pl.DataFrame({"asset": ["a"], "beta_mkt": [1.1], "beta_smb": [-0.3]})
>>> fig = pf.plot.exposure_bar(betas, title="Exposures of a")
>>> buffer = io.BytesIO()
>>> fig.savefig(buffer, format="png")
>>> buffer.getvalue()[:4]
b'\x89PNG'
"""

from __future__ import annotations

from polars_factors.plot._exposures import exposure_bar, exposure_radar, rolling_betas
from polars_factors.plot._quantiles import quantile_returns
from polars_factors.plot._returns import cumulative_returns, ic_by_date
from polars_factors.plot._risk import risk_decomposition

__all__ = [
    "cumulative_returns",
    "exposure_bar",
    "exposure_radar",
    "ic_by_date",
    "quantile_returns",
    "risk_decomposition",
    "rolling_betas",
]
