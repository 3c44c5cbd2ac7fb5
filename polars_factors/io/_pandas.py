r"""Conversions between the pandas layouts of pandas factor code and long Polars panels.

The pandas layouts are those of vbase's ``run_monthly_factor_returns`` (and of most
pandas factor code): returns as a wide frame (assets x periods, or periods x
assets), exposures and weights with a ``(period, asset)`` MultiIndex, factor returns
as periods x factors. polars_factors works on a long panel: one row per
``(date, asset)``, one column per quantity.

pandas is optional: it is imported when one of these functions is called.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import polars as pl

from polars_factors import _validate
from polars_factors._frame import temp_name
from polars_factors.exceptions import FileFormatError, SchemaError
from polars_factors.io._optional import PandasFrame, import_optional

__all__ = [
    "WideLayout",
    "from_pandas_exposures",
    "from_pandas_returns",
    "from_pandas_weights",
    "pandas",
]

#: Orientation of a wide returns frame: rows x columns.
WideLayout = Literal["assets_by_dates", "dates_by_assets"]
_LAYOUTS = ("assets_by_dates", "dates_by_assets")


def pandas(purpose: str) -> Any:
    """Import pandas for ``purpose`` (a function name), with an install hint if missing."""
    return import_optional("pandas", extra="pandas", purpose=purpose)


def from_pandas_returns(
    df: PandasFrame,
    *,
    layout: WideLayout = "assets_by_dates",
    date: str = "date",
    asset: str = "asset",
    returns: str = "returns",
    drop_missing: bool = True,
) -> pl.DataFrame:
    """Turn a wide pandas frame of returns into a long ``(date, asset, returns)`` frame.

    Parameters
    ----------
    df
        A ``pandas.DataFrame`` of numbers with one label per row and per column:
        assets x dates (``layout="assets_by_dates"``, the default, as vbase's
        ``run_monthly_factor_returns`` takes them) or dates x assets
        (``"dates_by_assets"``, e.g. ``prices.pct_change()``). Labels keep their type:
        ``"2023-01"`` strings stay String, Timestamps become Datetime.
    layout
        Orientation of ``df``.
    date, asset, returns
        Names of the output columns.
    drop_missing
        Leave out the cells that are NaN or null (default): a wide frame has a cell
        for every pair even when the asset has no return on the date.

    Returns
    -------
    DataFrame
        ``date``, ``asset`` and ``returns`` (Float64), one row per cell, by date in
        the frame's order of dates, then by asset in its order of assets.

    Raises
    ------
    MissingDependencyError
        pandas is not installed.
    SchemaError
        ``df`` is not a pandas DataFrame, or a column is not numeric.
    FileFormatError
        A MultiIndex on either axis (one label per row and per column is expected),
        a missing label, or output names that are not distinct.
    DuplicateKeyError
        Two rows or two columns have the same label.

    Examples
    --------
    >>> import pandas as pd
    >>> from polars_factors.io import from_pandas_returns
    >>> wide = pd.DataFrame(
    ...     {"2023-01": [0.01, 0.02], "2023-02": [-0.03, None]}, index=["A", "B"]
    ... )
    >>> from_pandas_returns(wide)
    shape: (3, 3)
    ┌─────────┬───────┬─────────┐
    │ date    ┆ asset ┆ returns │
    │ ---     ┆ ---   ┆ ---     │
    │ str     ┆ str   ┆ f64     │
    ╞═════════╪═══════╪═════════╡
    │ 2023-01 ┆ A     ┆ 0.01    │
    │ 2023-01 ┆ B     ┆ 0.02    │
    │ 2023-02 ┆ A     ┆ -0.03   │
    └─────────┴───────┴─────────┘
    """
    pd = pandas("from_pandas_returns")
    _validate.check_choice("layout", layout, _LAYOUTS)
    _validate.check_column_names(distinct=True, date=date, asset=asset, returns=returns)
    _check_frame(pd, df, "returns")
    row_key, col_key = (asset, date) if layout == "assets_by_dates" else (date, asset)
    for axis, side, key in ((df.index, "rows", row_key), (df.columns, "columns", col_key)):
        _check_flat(pd, axis, what="returns", side=side, key=key, layout=layout)
    for label, dtype in df.dtypes.items():
        if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            msg = (
                f"returns: column {label!r} has dtype {dtype}; a returns frame holds "
                f"numbers only. Convert it first, e.g. df.astype(float)."
            )
            raise SchemaError(msg)
    if layout == "dates_by_assets":
        df = df.T
    body = df.set_axis([str(i) for i in range(df.shape[1])], axis=1)
    taken = set(body.columns) | {returns}
    row, col = temp_name(taken, "row"), temp_name(taken, "col")
    wide = pl.from_pandas(body).with_row_index(row)
    long = (
        wide.unpivot(index=row, variable_name=col, value_name=returns)
        .with_columns(pl.col(col).cast(pl.UInt32))
        .sort(col, row)
    )
    dates = pl.Series(date, df.columns).gather(long[col])
    assets = pl.Series(asset, df.index).gather(long[row])
    out = pl.DataFrame(
        [dates, assets, long[returns].cast(pl.Float64).fill_nan(None).alias(returns)]
    )
    return out.drop_nulls(returns) if drop_missing else out


def from_pandas_exposures(
    df: PandasFrame,
    *,
    date: str = "date",
    asset: str = "asset",
    levels: tuple[int | str, int | str] = (0, 1),
) -> pl.DataFrame:
    """Turn a pandas frame with a ``(date, asset)`` MultiIndex into a long panel.

    Parameters
    ----------
    df
        A ``pandas.DataFrame`` indexed by a two-level MultiIndex, one column per
        factor (vbase's ``exposures_df``). Column labels become column names
        (``str(label)``).
    date, asset
        Names of the output key columns.
    levels
        Positions or names of the index levels holding the date and the asset.

    Returns
    -------
    DataFrame
        ``date``, ``asset`` and one column per factor, rows in the frame's order.
        NaN becomes null.

    Raises
    ------
    MissingDependencyError
        pandas is not installed.
    SchemaError
        ``df`` is not a pandas DataFrame.
    FileFormatError
        The index is not a two-level MultiIndex, a level does not exist, a key is
        missing, or the columns are not distinct names different from the keys.
    DuplicateKeyError
        Two rows have the same ``(date, asset)``.

    Examples
    --------
    >>> import pandas as pd
    >>> from polars_factors.io import from_pandas_exposures
    >>> idx = pd.MultiIndex.from_product(
    ...     [["2023-01", "2023-02"], ["A", "B"]], names=["period", "asset"]
    ... )
    >>> exposures = pd.DataFrame({"value": [0.5, -0.5, 0.4, -0.4]}, index=idx)
    >>> from_pandas_exposures(exposures)["date", "asset", "value"].rows()
    [('2023-01', 'A', 0.5), ('2023-01', 'B', -0.5), ('2023-02', 'A', 0.4), ('2023-02', 'B', -0.4)]
    """
    pd = pandas("from_pandas_exposures")
    return _from_multiindex(pd, df, what="exposures", date=date, asset=asset, levels=levels)


def from_pandas_weights(
    weights: PandasFrame,
    *,
    column: str | None = None,
    date: str = "date",
    asset: str = "asset",
    name: str = "weights",
    levels: tuple[int | str, int | str] = (0, 1),
) -> pl.DataFrame:
    """Turn pandas weights with a ``(date, asset)`` MultiIndex into a long frame.

    Parameters
    ----------
    weights
        A ``pandas.Series``, or a ``pandas.DataFrame`` with one column (vbase's
        ``weights_df``, a column ``"weight"``), indexed by a two-level MultiIndex.
    column
        Column to take from a frame with several columns.
    date, asset, name
        Names of the output columns.
    levels
        Positions or names of the index levels holding the date and the asset.

    Returns
    -------
    DataFrame
        ``date``, ``asset`` and ``name`` (Float64), rows in the input's order.

    Raises
    ------
    MissingDependencyError
        pandas is not installed.
    SchemaError
        Not a pandas Series or DataFrame, or the weights are not numeric.
    FileFormatError
        Several columns and no ``column=``; an index that is not a two-level
        MultiIndex; a missing key.
    ColumnNotFoundError
        ``column`` is not a column of the frame.
    DuplicateKeyError
        Two rows have the same ``(date, asset)``.

    Examples
    --------
    >>> import pandas as pd
    >>> from polars_factors.io import from_pandas_weights
    >>> idx = pd.MultiIndex.from_tuples([("2023-01", "A"), ("2023-01", "B")])
    >>> w = pd.DataFrame({"weight": [1.0, 2.0]}, index=idx)
    >>> from_pandas_weights(w).rows()
    [('2023-01', 'A', 1.0), ('2023-01', 'B', 2.0)]
    """
    pd = pandas("from_pandas_weights")
    _validate.check_column_names(distinct=True, date=date, asset=asset, name=name)
    if isinstance(weights, pd.Series):
        weights = weights.to_frame(name)
    _check_frame(pd, weights, "weights", series_ok=True)
    labels = [str(c) for c in weights.columns]
    if column is not None:
        _validate.check_columns_exist(pl.Schema(dict.fromkeys(labels, pl.Float64)), [column])
        weights = weights.iloc[:, [labels.index(column)]]
    elif len(labels) != 1:
        msg = (
            f"weights: expected a Series or a frame with one column; found "
            f"{len(labels)} columns {labels[:5]}. Pick one with column=."
        )
        raise FileFormatError(msg)
    dtype = weights.dtypes.iloc[0]
    if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        msg = f"weights: the weights have dtype {dtype}; expected numbers."
        raise SchemaError(msg)
    weights = weights.set_axis([name], axis=1)
    out = _from_multiindex(pd, weights, what="weights", date=date, asset=asset, levels=levels)
    return out.with_columns(pl.col(name).cast(pl.Float64).fill_nan(None))


# ------------------------------------------------------------------------ helpers


def _check_frame(pd: Any, df: object, what: str, *, series_ok: bool = False) -> None:
    if not isinstance(df, pd.DataFrame):
        expected = "a pandas DataFrame or Series" if series_ok else "a pandas DataFrame"
        msg = f"{what}: expected {expected}; got {type(df).__module__}.{type(df).__name__}."
        raise SchemaError(msg)


def _check_flat(pd: Any, axis: Any, *, what: str, side: str, key: str, layout: str) -> None:
    """One label per row (or column): no MultiIndex, no missing or repeated label."""
    if isinstance(axis, pd.MultiIndex):
        msg = (
            f"{what}: the {side} have a MultiIndex of {axis.nlevels} levels "
            f"{list(axis.names)}; in a {layout} frame each of the {side} is labelled by "
            f"one {key}. For a frame indexed by (date, asset) use from_pandas_exposures, "
            f"or df.unstack() it first."
        )
        raise FileFormatError(msg)
    if axis.hasnans:
        msg = f"{what}: one of the {side} has a missing {key} label (NaN or None)."
        raise FileFormatError(msg)
    if not axis.is_unique:
        _validate.check_unique(
            pl.DataFrame([pl.Series(key, axis)]),
            key,
            what=f"the {what} frame",
            unit=side.removesuffix("s"),
            fix="A wide frame needs one row and one column per label; aggregate or drop "
            "the duplicates first.",
        )


def _level(names: Sequence[object], level: int | str, what: str) -> int:
    n = len(names)
    if isinstance(level, int) and not isinstance(level, bool):
        if -n <= level < n:
            return level % n
    elif level in names:
        return list(names).index(level)
    msg = f"{what}: no index level {level!r}; the index has levels {list(names)}."
    raise FileFormatError(msg)


def _from_multiindex(
    pd: Any,
    df: Any,
    *,
    what: str,
    date: str,
    asset: str,
    levels: tuple[int | str, int | str],
) -> pl.DataFrame:
    """Long frame from a frame indexed by a (date, asset) MultiIndex."""
    _check_frame(pd, df, what)
    _validate.check_column_names(distinct=True, date=date, asset=asset)
    idx = df.index
    if not isinstance(idx, pd.MultiIndex) or idx.nlevels != 2:
        found = (
            f"a MultiIndex of {idx.nlevels} levels {list(idx.names)}"
            if isinstance(idx, pd.MultiIndex)
            else f"a flat {type(idx).__name__} named {idx.name!r}"
        )
        msg = (
            f"{what}: expected a (date, asset) MultiIndex of 2 levels; found {found}. "
            "If the keys are columns, use df.set_index([<the date column>, <the asset column>])."
        )
        raise FileFormatError(msg)
    d, a = (_level(idx.names, lev, what) for lev in levels)
    if d == a:
        msg = f"{what}: levels={levels!r} names the same index level twice."
        raise FileFormatError(msg)
    if isinstance(df.columns, pd.MultiIndex):
        msg = (
            f"{what}: the columns form a MultiIndex {list(df.columns.names)}; expected "
            f"one column per factor. Flatten them first, e.g. df.stack(level=...)."
        )
        raise FileFormatError(msg)
    names = [str(c) for c in df.columns]
    clash = sorted({c for c in names if names.count(c) > 1 or c in (date, asset)})
    if clash:
        msg = (
            f"{what}: column names {clash} are repeated or clash with the key columns "
            f"{[date, asset]}; rename them (or pass other names with date=/asset=)."
        )
        raise FileFormatError(msg)
    keys = pl.DataFrame(
        [
            pl.Series(date, idx.get_level_values(d)),
            pl.Series(asset, idx.get_level_values(a)),
        ]
    )
    _check_keys(keys, what=what, date=date, asset=asset)
    body = pl.from_pandas(df.set_axis(names, axis=1).reset_index(drop=True))
    return pl.concat([keys, body], how="horizontal")


def _check_keys(keys: pl.DataFrame, *, what: str, date: str, asset: str) -> None:
    """No missing key; no repeated (date, asset)."""
    nulls = keys.null_count().row(0)
    if any(nulls):
        col = keys.columns[0] if nulls[0] else keys.columns[1]
        msg = f"{what}: {keys[col].null_count()} rows have a missing {col} (NaN or None)."
        raise FileFormatError(msg)
    _validate.check_unique(
        keys,
        [date, asset],
        what=f"the {what} frame",
        fix="Deduplicate it first, e.g. df[~df.index.duplicated(keep='last')].",
    )
