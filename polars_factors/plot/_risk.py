"""Risk decomposition of a portfolio (or of each asset) by factor and specific risk."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from polars_factors import _validate
from polars_factors._frame import temp_name
from polars_factors.exceptions import InsufficientDataError
from polars_factors.plot import _common
from polars_factors.risk import PortfolioRiskResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["risk_decomposition"]

_SPECIFIC = "specific"


def _portfolio_parts(risk: PortfolioRiskResult, top: int) -> tuple[list[str], list[float], float]:
    """Labels and shares of total variance: the ``top`` factors, the rest, specific."""
    summary = risk.summary().row(0, named=True)
    total = summary["total_var"]
    if total is None or not total > 0:
        msg = "the portfolio has zero variance (no weights?): there is nothing to decompose."
        raise InsufficientDataError(msg)
    factors = risk.factors.select("factor", (pl.col("contribution") / total).alias("share")).sort(
        pl.col("share").abs(), descending=True, maintain_order=True
    )
    head, rest = factors.head(top), factors.slice(top)
    labels = head.get_column("factor").to_list()
    shares = _common.values(head.get_column("share"))
    if rest.height:
        labels.append(f"{rest.height} other factors")
        shares.append(float(rest.get_column("share").sum()))
    labels.append(_SPECIFIC)
    shares.append(summary["specific_var"] / total)
    return labels, shares, float(summary["total_vol"])


def _draw_portfolio(ax: Axes, labels: list[str], shares: list[float]) -> None:
    colors = [
        _common.color(7) if label == _SPECIFIC else _common.color(0 if s >= 0 else 3)
        for label, s in zip(labels, shares, strict=True)
    ]
    positions = list(range(len(labels)))
    ax.barh(positions, shares, color=colors)
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()  # the largest contribution on top
    ax.axvline(0.0, color=_common.NEUTRAL, linewidth=0.8)
    for y, share in zip(positions, shares, strict=True):
        ax.annotate(
            f"{share:.1%}", (share, y), xytext=(3 if share >= 0 else -3, 0),
            textcoords="offset points", va="center", ha="left" if share >= 0 else "right",
            fontsize=8,
        )  # fmt: skip
    ax.margins(x=0.15)
    ax.set_xlabel("share of total variance")
    _common.percent_axis(ax, "x")
    _common.style(ax, grid="x")


def _draw_assets(ax: Axes, frame: pl.DataFrame, asset: str, top: int) -> None:
    needed = [asset, "factor_var", "specific_var"]
    _validate.check_columns_exist(frame.schema, needed, role="asset-risk column")
    _validate.check_numeric(frame.schema, needed[1:], role="asset-risk column")
    total = temp_name(set(frame.columns), "total")
    rows = (
        frame.with_columns((pl.col("factor_var") + pl.col("specific_var")).alias(total))
        .sort(total, descending=True, nulls_last=True, maintain_order=True)
        .head(top)
    )
    labels = [str(a) for a in rows.get_column(asset).to_list()]
    factor = _common.values(rows.get_column("factor_var"))
    specific = _common.values(rows.get_column("specific_var"))
    positions = list(range(len(labels)))
    ax.barh(positions, factor, color=_common.color(0), label="factor")
    ax.barh(positions, specific, left=factor, color=_common.color(7), label="specific")
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    ax.set_xlabel("variance")
    ax.legend(loc="lower right", frameon=False)
    _common.style(ax, grid="x")


def risk_decomposition(
    risk: PortfolioRiskResult | pl.DataFrame | pl.LazyFrame,
    *,
    top: int = 15,
    asset: str = "asset",
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Draw the risk decomposition of a portfolio, or the factor and specific risk of assets.

    Parameters
    ----------
    risk
        A :class:`~polars_factors.risk.PortfolioRiskResult` (from
        :meth:`RiskModel.portfolio_risk <polars_factors.risk.RiskModel.portfolio_risk>`):
        one horizontal bar per factor with its contribution as a share of the total
        variance, and one for the specific variance (the bars add up to 100%). Or the
        frame of :meth:`RiskModel.asset_risk <polars_factors.risk.RiskModel.asset_risk>`
        (the asset column, ``factor_var``, ``specific_var``): one stacked bar of factor
        and specific variance per asset.
    top
        Portfolio: the number of factors drawn, those with the largest absolute
        contributions; the others are added up in one bar. Assets: the number of
        assets drawn, those with the largest total variance.
    asset
        Name of the asset column of an asset-risk frame.
    title, figsize
        Figure title (``None``: a default; ``""``: none) and size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        One axes of horizontal bars, the largest on top.

    Raises
    ------
    MissingDependencyError
        matplotlib is not installed.
    ColumnNotFoundError
        A frame without the asset-risk columns.
    InsufficientDataError
        A portfolio with zero variance.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> model = pf.risk.RiskModel.from_parts(
    ...     pl.DataFrame({"asset": ["a", "b"], "market": [1.0, 1.0], "size": [0.5, -0.5]}),
    ...     pl.DataFrame({"factor_1": ["market", "market", "size", "size"],
    ...                   "factor_2": ["market", "size", "market", "size"],
    ...                   "covariance": [0.04, 0.0, 0.0, 0.01]}),
    ...     pl.DataFrame({"asset": ["a", "b"], "specific_var": [0.01, 0.02]}),
    ... )
    >>> fig = pf.plot.risk_decomposition(model.portfolio_risk({"a": 0.5, "b": 0.5}))
    >>> [label.get_text() for label in fig.axes[0].get_yticklabels()]
    ['market', 'size', 'specific']
    >>> [round(float(bar.get_width()), 4) for bar in fig.axes[0].patches]
    [0.8421, 0.0, 0.1579]
    """
    _common.require_matplotlib()
    _common.check_int("top", top, 1)
    if isinstance(risk, PortfolioRiskResult):
        labels, shares, vol = _portfolio_parts(risk, top)
        fig, (ax,) = _common.new_figure(figsize, (7.0, 1.2 + 0.35 * len(labels)))
        _draw_portfolio(ax, labels, shares)
        return _common.finish(fig, title, f"Risk decomposition (total volatility {vol:.2%})")
    frame = _common.as_frame(risk, "risk")
    fig, (ax,) = _common.new_figure(figsize, (7.0, 1.2 + 0.35 * min(top, frame.height)))
    _draw_assets(ax, frame, asset, top)
    return _common.finish(fig, title, "Factor and specific variance by asset")
