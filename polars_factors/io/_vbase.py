"""The inputs of vbase's ``run_monthly_factor_returns`` as one panel, and a drop-in for it."""

from __future__ import annotations

import warnings

import polars as pl

from polars_factors import _validate
from polars_factors._frame import user_stacklevel
from polars_factors.exceptions import DataLossWarning, SchemaError
from polars_factors.io._optional import PandasFrame
from polars_factors.io._pandas import (
    WideLayout,
    from_pandas_exposures,
    from_pandas_returns,
    from_pandas_weights,
    pandas,
)
from polars_factors.io._to_pandas import to_pandas_factor_returns
from polars_factors.regression import cross_section
from polars_factors.regression._model import CrossSectionMethod

__all__ = ["from_pandas_panel", "run_monthly_factor_returns"]


def from_pandas_panel(
    returns_df: PandasFrame,
    exposures_df: PandasFrame,
    weights_df: PandasFrame | None = None,
    *,
    layout: WideLayout = "assets_by_dates",
    date: str = "date",
    asset: str = "asset",
    returns: str = "returns",
    weights: str = "weights",
) -> pl.DataFrame:
    """Join wide pandas returns, MultiIndex exposures and weights into one long panel.

    The three inputs of vbase's ``run_monthly_factor_returns``, as
    :func:`polars_factors.cross_section` takes them.

    Parameters
    ----------
    returns_df
        Wide returns (see :func:`from_pandas_returns`); NaN cells are left out.
    exposures_df
        Exposures with a ``(date, asset)`` MultiIndex, one column per factor (see
        :func:`from_pandas_exposures`).
    weights_df
        Optional regression weights with the same MultiIndex: a Series or a
        one-column frame (see :func:`from_pandas_weights`).
    layout
        Orientation of ``returns_df``: ``"assets_by_dates"`` (vbase) or
        ``"dates_by_assets"``.
    date, asset, returns, weights
        Names of the output columns.

    Returns
    -------
    DataFrame
        ``date``, ``asset``, ``returns``, the factor columns, and ``weights`` when
        ``weights_df`` is given: one row per ``(date, asset)`` present in every
        input, in the order of the returns (by date, then asset). Rows of one input
        that another lacks (a NaN return included) are left out with a
        :class:`~polars_factors.exceptions.DataLossWarning` that counts them.

    Raises
    ------
    SchemaError
        The date (or asset) labels have different types in two inputs, e.g.
        ``"2023-01"`` strings in one and Timestamps in another.
    FileFormatError, DuplicateKeyError
        As the three converters raise them; a factor named like an output column.

    Examples
    --------
    >>> import pandas as pd
    >>> from polars_factors.io import from_pandas_panel
    >>> returns_df = pd.DataFrame({"2023-01": [0.02, -0.01]}, index=["A", "B"])
    >>> idx = pd.MultiIndex.from_product([["2023-01"], ["A", "B"]])
    >>> exposures_df = pd.DataFrame({"value": [1.0, -1.0]}, index=idx)
    >>> weights_df = pd.DataFrame({"weight": [2.0, 1.0]}, index=idx)
    >>> from_pandas_panel(returns_df, exposures_df, weights_df).rows()
    [('2023-01', 'A', 0.02, 1.0, 2.0), ('2023-01', 'B', -0.01, -1.0, 1.0)]
    """
    pandas("from_pandas_panel")
    _validate.check_column_names(
        distinct=True, date=date, asset=asset, returns=returns, weights=weights
    )
    panel = from_pandas_returns(returns_df, layout=layout, date=date, asset=asset, returns=returns)
    parts = [("exposures", from_pandas_exposures(exposures_df, date=date, asset=asset))]
    if weights_df is not None:
        w = from_pandas_weights(weights_df, date=date, asset=asset, name=weights)
        parts.append(("weights", w))
    taken = {date, asset, returns, weights}
    lost: list[str] = []
    for what, part in parts:
        clash = sorted(set(part.columns[2:]) & (taken - {weights} if what == "weights" else taken))
        if clash:
            msg = (
                f"{what}: columns {clash} have the name of another column of the panel; "
                f"rename them, or pass other names with returns=/weights=/date=/asset=."
            )
            raise ValueError(msg)
        for key in (date, asset):
            left, right = panel.schema[key], part.schema[key]
            if left != right:
                msg = (
                    f"the {key} labels of the returns are {left} but those of the "
                    f"{what} are {right}; give them the same type, e.g. "
                    f"pd.to_datetime(...) on both or .astype(str) on both."
                )
                raise SchemaError(msg)
        keys = [date, asset]
        unmatched = (
            panel.join(part, on=keys, how="anti").height,
            part.join(panel, on=keys, how="anti").height,
        )
        if any(unmatched):
            lost.append(
                f"{unmatched[0]} rows of the returns (and the inputs joined so far) have "
                f"no {what} and {unmatched[1]} rows of the {what} have no return"
            )
        panel = panel.join(part, on=keys, how="inner", maintain_order="left")
        taken |= set(part.columns)
    if lost:
        msg = (
            f"from_pandas_panel keeps the (date, asset) rows present in every input: "
            f"{'; '.join(lost)}; they are left out. Align the inputs first (e.g. "
            f"returns_df.reindex(...)) if they should match."
        )
        warnings.warn(msg, DataLossWarning, stacklevel=user_stacklevel())
    return panel


def run_monthly_factor_returns(
    returns_df: PandasFrame,
    exposures_df: PandasFrame,
    weights_df: PandasFrame | None = None,
    huber_t: float = 1.345,
    *,
    method: CrossSectionMethod = "huber",
    layout: WideLayout = "assets_by_dates",
) -> PandasFrame:
    r"""Estimate each period's factor returns from pandas inputs: a drop-in for vbase's.

    Replaces ``from vbase_py_utils.stats.cross_section_regression import
    run_monthly_factor_returns`` with the same arguments and the same result, run
    by :func:`polars_factors.cross_section` (one Huber IRLS for all periods).

    Parameters
    ----------
    returns_df
        Asset returns, one row per asset, one column per period (or the transpose,
        with ``layout="dates_by_assets"``).
    exposures_df
        Exposures with a ``(period, asset)`` MultiIndex, one column per factor.
    weights_df
        Regression weights with the same MultiIndex (a Series or a one-column
        frame); default equal weights.
    huber_t
        Huber's tuning constant.
    method
        ``"huber"`` (default, statsmodels ``RLM(HuberT(huber_t))`` on
        :math:`\sqrt{w}\,y` and :math:`\sqrt{w}\,X`), ``"wls"`` or ``"ols"``.
    layout
        Orientation of ``returns_df``.

    Returns
    -------
    pandas.DataFrame
        One row per period of ``returns_df`` (in its order; NaN for a period that
        could not be estimated), one float64 column per factor of
        ``exposures_df``; the axes are unnamed, as vbase returns them.

    Notes
    -----
    A period uses the assets that have a return, every exposure and a weight, as
    vbase's loop does. The regression has no intercept (add a column of ones to
    ``exposures_df`` for one). Unlike the vbase version whose ``RLM(weights=...)``
    silently ignores the weights, the weights are used.

    Examples
    --------
    >>> import pandas as pd
    >>> from polars_factors.io import run_monthly_factor_returns
    >>> idx = pd.MultiIndex.from_product([["2023-01"], ["A", "B", "C"]])
    >>> exposures_df = pd.DataFrame({"mkt": [1.0, 1.0, 1.0], "value": [1.0, 0.0, -1.0]},
    ...                             index=idx)
    >>> returns_df = pd.DataFrame({"2023-01": [0.03, 0.01, -0.01]}, index=["A", "B", "C"])
    >>> run_monthly_factor_returns(returns_df, exposures_df, method="ols").round(6)
              mkt  value
    2023-01  0.01   0.02
    """
    pd = pandas("run_monthly_factor_returns")
    panel = from_pandas_panel(returns_df, exposures_df, weights_df, layout=layout)
    factors = [c for c in panel.columns[3:] if c != "weights"]
    result = cross_section(
        panel,
        "returns",
        factors,
        weights="weights" if weights_df is not None else None,
        method=method,
        huber_t=huber_t,
    )
    wide = to_pandas_factor_returns(result.factor_returns)
    periods = returns_df.columns if layout == "assets_by_dates" else returns_df.index
    out = wide.reindex(index=pd.Index(periods), columns=pd.Index(factors)).astype(float)
    out.index.name, out.columns.name = None, None
    return out
