"""Conversions from long Polars frames to the pandas layouts of pandas factor code.

The inverses of :mod:`polars_factors.io._pandas`: a long ``(date, asset, returns)``
frame to a wide frame, a panel to a ``(date, asset)`` MultiIndex frame, long factor
returns to periods x factors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from polars_factors import _validate
from polars_factors.exceptions import FileFormatError
from polars_factors.io._optional import PandasFrame
from polars_factors.io._pandas import _LAYOUTS, WideLayout, pandas

__all__ = [
    "to_pandas_exposures",
    "to_pandas_factor_returns",
    "to_pandas_returns",
    "to_pandas_weights",
]


def to_pandas_returns(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    layout: WideLayout = "assets_by_dates",
    date: str = "date",
    asset: str = "asset",
    returns: str = "returns",
) -> PandasFrame:
    """Turn a long panel of returns into a wide pandas frame.

    The inverse of :func:`from_pandas_returns`.

    Parameters
    ----------
    frame
        Panel with one row per ``(date, asset)`` (other columns are ignored).
    layout
        ``"assets_by_dates"`` (default): one row per asset, one column per date, as
        vbase's ``run_monthly_factor_returns`` takes them; ``"dates_by_assets"``:
        the transpose.
    date, asset, returns
        Columns of the panel.

    Returns
    -------
    pandas.DataFrame
        float64 returns, NaN where the panel has no row (or a null return). Rows
        and columns are in the order in which the assets and dates first appear;
        the axes are named after ``asset`` and ``date``.

    Raises
    ------
    MissingDependencyError
        pandas is not installed.
    ColumnNotFoundError
        A named column is not in the frame.
    SchemaError
        ``returns`` is not numeric.
    FileFormatError
        A date or asset is null.
    DuplicateKeyError
        The panel has two rows for some ``(date, asset)``.

    Examples
    --------
    >>> import polars as pl
    >>> from polars_factors.io import to_pandas_returns
    >>> panel = pl.DataFrame(
    ...     {"date": ["2023-01", "2023-01", "2023-02"], "asset": ["A", "B", "A"],
    ...      "returns": [0.01, 0.02, -0.03]}
    ... )
    >>> to_pandas_returns(panel)
    date   2023-01  2023-02
    asset
    A         0.01    -0.03
    B         0.02      NaN
    """
    pd = pandas("to_pandas_returns")
    _validate.check_choice("layout", layout, _LAYOUTS)
    df = _keyed(frame, date=date, asset=asset, values=[returns], numeric=True)
    pdf = df.with_columns(pl.col(returns).cast(pl.Float64)).to_pandas()
    wide = pdf.pivot(index=asset, columns=date, values=returns)
    wide = wide.reindex(index=_order(pd, pdf[asset]), columns=_order(pd, pdf[date]))
    wide.index.name, wide.columns.name = asset, date
    return wide.T if layout == "dates_by_assets" else wide


def to_pandas_exposures(
    frame: pl.DataFrame | pl.LazyFrame,
    factors: Sequence[str] | None = None,
    *,
    date: str = "date",
    asset: str = "asset",
) -> PandasFrame:
    """Turn a panel into a pandas frame indexed by a ``(date, asset)`` MultiIndex.

    The inverse of :func:`from_pandas_exposures`: the layout of vbase's
    ``exposures_df``.

    Parameters
    ----------
    frame
        Panel with one row per ``(date, asset)``.
    factors
        Columns to keep, in this order; default: every column but the keys.
    date, asset
        Key columns; they become the index levels, named after them.

    Returns
    -------
    pandas.DataFrame
        One row per panel row, in the panel's order; one column per factor.

    Raises
    ------
    MissingDependencyError
        pandas is not installed.
    ColumnNotFoundError
        A named column is not in the frame.
    FileFormatError
        A date or asset is null.
    DuplicateKeyError
        The panel has two rows for some ``(date, asset)``.

    Examples
    --------
    >>> import polars as pl
    >>> from polars_factors.io import to_pandas_exposures
    >>> panel = pl.DataFrame(
    ...     {"date": ["2023-01", "2023-01"], "asset": ["A", "B"], "value": [0.5, -0.5]}
    ... )
    >>> to_pandas_exposures(panel)
                   value
    date    asset
    2023-01 A        0.5
            B       -0.5
    """
    pandas("to_pandas_exposures")
    schema = frame.lazy().collect_schema()
    _validate.check_column_names(distinct=True, date=date, asset=asset)
    names = (
        [c for c in schema.names() if c not in (date, asset)]
        if factors is None
        else _validate.as_list(factors, name="factors")
    )
    df = _keyed(frame, date=date, asset=asset, values=names, numeric=False)
    return df.to_pandas().set_index([date, asset])


def to_pandas_weights(
    frame: pl.DataFrame | pl.LazyFrame,
    weights: str = "weights",
    *,
    date: str = "date",
    asset: str = "asset",
    name: str | None = None,
) -> PandasFrame:
    """Turn the weights of a panel into a one-column pandas frame, ``(date, asset)`` indexed.

    The inverse of :func:`from_pandas_weights`: the layout of vbase's ``weights_df``.

    Parameters
    ----------
    frame
        Panel with one row per ``(date, asset)``.
    weights
        Column of the weights.
    date, asset
        Key columns; they become the index levels.
    name
        Name of the pandas column (vbase's demo uses ``"weight"``); default
        ``weights``.

    Returns
    -------
    pandas.DataFrame
        One row per panel row, in the panel's order, one float64 column.

    Raises
    ------
    MissingDependencyError
        pandas is not installed.
    ColumnNotFoundError
        A named column is not in the frame.
    SchemaError
        The weights are not numeric.
    FileFormatError
        A date or asset is null.
    DuplicateKeyError
        The panel has two rows for some ``(date, asset)``.

    Examples
    --------
    >>> import polars as pl
    >>> from polars_factors.io import to_pandas_weights
    >>> panel = pl.DataFrame({"date": [1, 1], "asset": ["A", "B"], "mcap": [3.0, 1.0]})
    >>> to_pandas_weights(panel, "mcap", name="weight")["weight"].tolist()
    [3.0, 1.0]
    """
    pandas("to_pandas_weights")
    df = _keyed(frame, date=date, asset=asset, values=[weights], numeric=True)
    df = df.select(date, asset, pl.col(weights).cast(pl.Float64).alias(name or weights))
    return df.to_pandas().set_index([date, asset])


def to_pandas_factor_returns(
    factor_returns: pl.DataFrame | pl.LazyFrame,
    *,
    date: str = "date",
    factor: str = "factor",
    factor_return: str = "factor_return",
) -> PandasFrame:
    """Turn long factor returns into a pandas frame of periods x factors.

    The layout that vbase's ``run_monthly_factor_returns`` returns.

    Parameters
    ----------
    factor_returns
        Long factor returns, one row per ``(date, factor)``, e.g.
        :attr:`CrossSectionResult.factor_returns
        <polars_factors.CrossSectionResult.factor_returns>`.
    date, factor, factor_return
        Its columns.

    Returns
    -------
    pandas.DataFrame
        One row per date, one column per factor (float64), both in the order in
        which they first appear; NaN where a factor has no return on a date. The
        index is named after ``date``, the columns after ``factor``.

    Raises
    ------
    MissingDependencyError
        pandas is not installed.
    ColumnNotFoundError
        A named column is not in the frame.
    SchemaError
        ``factor_return`` is not numeric.
    FileFormatError
        A date or factor is null.
    DuplicateKeyError
        Two rows for the same ``(date, factor)``.

    Examples
    --------
    >>> import polars as pl
    >>> from polars_factors.io import to_pandas_factor_returns
    >>> long = pl.DataFrame(
    ...     {"date": ["2023-01", "2023-01", "2023-02", "2023-02"],
    ...      "factor": ["value", "size"] * 2, "factor_return": [0.01, -0.02, 0.03, 0.0]}
    ... )
    >>> to_pandas_factor_returns(long)
    factor   value  size
    date
    2023-01   0.01 -0.02
    2023-02   0.03  0.00
    """
    pd = pandas("to_pandas_factor_returns")
    df = _keyed(factor_returns, date=date, asset=factor, values=[factor_return], numeric=True)
    pdf = df.with_columns(pl.col(factor_return).cast(pl.Float64)).to_pandas()
    wide = pdf.pivot(index=date, columns=factor, values=factor_return)
    wide = wide.reindex(index=_order(pd, pdf[date]), columns=_order(pd, pdf[factor]))
    wide.index.name, wide.columns.name = date, factor
    return wide


# ------------------------------------------------------------------------ helpers


def _order(pd: Any, labels: Any) -> Any:
    """Return the distinct labels of a pandas Series, in order of first appearance."""
    return pd.Index(labels.drop_duplicates(), name=labels.name)


def _keyed(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    date: str,
    asset: str,
    values: list[str],
    numeric: bool,
) -> pl.DataFrame:
    """Collect the key and value columns after checking names, types, keys."""
    _validate.check_column_names(distinct=True, date=date, asset=asset)
    lf = frame.lazy()
    schema = lf.collect_schema()
    _validate.check_columns_exist(schema, [date, asset, *values])
    if numeric:
        _validate.check_numeric(schema, values)
    dup = sorted({v for v in values if values.count(v) > 1 or v in (date, asset)})
    if dup:
        msg = f"columns {dup} are repeated or are also the keys {[date, asset]}."
        raise ValueError(msg)
    df = lf.select(date, asset, *values).collect()
    for key in (date, asset):
        if df[key].null_count():
            msg = f"{df[key].null_count()} rows have a null {key}; every row needs a key."
            raise FileFormatError(msg)
    _validate.check_unique_keys(df, date=date, asset=asset)
    return df
