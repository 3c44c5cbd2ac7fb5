"""Call-time checks of panels and options.

Schema checks use ``collect_schema()``, which reads no data. The checks that read
data read only the columns they check: the duplicate-key checks (:func:`check_unique_keys`
for panels, :func:`check_unique` for small frames), the time-order check and the
negative-weights check.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl

from polars_factors.exceptions import (
    ColumnNotFoundError,
    DuplicateKeyError,
    InvalidDataError,
    SchemaError,
    UnsortedError,
    WeightError,
)
from polars_factors.typing import ColumnNames, EngineType

__all__ = [
    "as_list",
    "check_choice",
    "check_column_names",
    "check_columns_exist",
    "check_half_life",
    "check_industry",
    "check_no_negative",
    "check_numeric",
    "check_time_order",
    "check_unique",
    "check_unique_keys",
    "resolve_by",
]

_MAX_LISTED = 12


def as_list(columns: ColumnNames | None, *, name: str = "columns") -> list[str]:
    """Turn one column name or a sequence of names into a list, rejecting empty input."""
    if columns is None:
        return []
    if isinstance(columns, str):
        return [columns]
    if isinstance(columns, pl.Expr):
        msg = f"`{name}` takes column names, not expressions; got {columns!r}."
        raise TypeError(msg)
    out = list(columns)
    for col in out:
        if not isinstance(col, str):
            kind = type(col).__name__
            msg = f"`{name}` must contain column names (str); got {col!r} of type {kind}."
            raise TypeError(msg)
    if len(set(out)) != len(out):
        dupes = sorted({c for c in out if out.count(c) > 1})
        msg = f"`{name}` names a column more than once: {dupes}."
        raise ValueError(msg)
    return out


def _describe(names: Sequence[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_MAX_LISTED])
    more = len(names) - _MAX_LISTED
    return shown + (f", ... ({more} more)" if more > 0 else "")


def check_columns_exist(schema: pl.Schema, columns: Iterable[str], *, role: str = "column") -> None:
    """Raise :class:`ColumnNotFoundError` naming the first missing column and its closest match."""
    names = list(schema.names())
    for col in columns:
        if col in schema:
            continue
        close = difflib.get_close_matches(col, names, n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        msg = (
            f"{role} {col!r} not found in the frame.{hint} "
            f"The frame has {len(names)} columns: {_describe(names)}. "
            f"Pass the right name (for the panel keys, use date=/asset=)."
        )
        raise ColumnNotFoundError(msg)


def check_numeric(
    schema: pl.Schema, columns: Iterable[str], *, role: str = "column", hint: str = ""
) -> None:
    """Raise :class:`SchemaError` if a column is not integer, float or decimal.

    ``hint`` (a sentence) is inserted before the advice to cast.
    """
    for col in columns:
        dtype = schema[col]
        if not (dtype.is_numeric() and dtype != pl.Boolean):
            msg = (
                f"{role} {col!r} must be numeric (integer or float), but its dtype is {dtype}."
                f"{hint} Cast it first, e.g. pl.col({col!r}).cast(pl.Float64)."
            )
            raise SchemaError(msg)


def check_choice(name: str, value: Any, allowed: Sequence[Any]) -> None:
    """Raise ``ValueError`` if ``value`` is not one of ``allowed``."""
    if value not in allowed:
        msg = f"unknown {name}={value!r}; expected one of {', '.join(repr(a) for a in allowed)}."
        raise ValueError(msg)


def resolve_by(by: ColumnNames | None, date: str) -> list[str]:
    """Group keys of a per-date operation: ``by`` if given, else ``[date]``."""
    keys = as_list(by, name="by") if by is not None else [date]
    if not keys:
        msg = "`by` must name at least one column (the default is the date column)."
        raise ValueError(msg)
    return keys


def check_unique(
    frame: pl.DataFrame | pl.LazyFrame,
    keys: str | Sequence[str],
    *,
    what: str,
    fix: str | None = None,
    unit: str = "row",
    engine: EngineType = "auto",
) -> None:
    """Raise :class:`DuplicateKeyError` if some value of ``keys`` has more than one row.

    The one duplicate-key check of small frames (factor tables, weights, plot and
    conversion inputs); panels use :func:`check_unique_keys`, which is bounded in
    memory. Reads only the key columns (a LazyFrame's are collected with ``engine``).
    The message names the frame (``what``, e.g. ``"the factors frame"``), the number of
    rows whose key repeats and the first repeated key, then ``fix`` (a sentence), if
    given; ``unit`` names what a row of ``frame`` stands for in the user's input (the
    ``"column"`` labels of a wide pandas frame). Null keys count as values: two rows
    with a null key repeat it.

    Examples
    --------
    >>> import polars as pl
    >>> from polars_factors._validate import check_unique
    >>> from polars_factors.exceptions import DuplicateKeyError
    >>> check_unique(pl.DataFrame({"date": [1, 2]}), "date", what="the factors frame")
    >>> try:
    ...     check_unique(pl.DataFrame({"date": [1, 1]}), "date", what="the factors frame")
    ... except DuplicateKeyError as err:
    ...     print(err)
    the factors frame has 2 rows for repeated ('date') keys, e.g. (1); keep one row per key.
    """
    names = [keys] if isinstance(keys, str) else list(keys)
    if isinstance(frame, pl.LazyFrame):
        table = frame.select(names).collect(engine=engine)
    else:
        table = frame.select(names)
    repeated = table.filter(table.is_duplicated())
    if not repeated.height:
        return
    shown = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in repeated.row(0))
    msg = (
        f"{what} has {repeated.height} {unit}s for repeated ({', '.join(map(repr, names))}) "
        f"keys, e.g. ({shown}); keep one {unit} per key."
    )
    if fix:
        msg += f" {fix}"
    raise DuplicateKeyError(msg)


#: Rows per pass of the key checks on a LazyFrame: each pass keeps its keys in a hash
#: table (about 60 bytes a row), so a check of any panel needs a few hundred MB.
KEY_CHECK_ROWS = 1_000_000

#: Rows per pass of the time-order check: ranges of assets cannot skip the row groups
#: of date-sorted files, so each pass reads the key columns whole; fewer, larger passes.
TIME_ORDER_ROWS = 4_000_000


def _key_ranges(frame: pl.LazyFrame, column: str, rows: int) -> list[pl.Expr]:
    """Return filters that split a LazyFrame into ranges of whole ``column`` values.

    Each range holds about ``rows`` rows; finding them reads that column
    once (one row per distinct value is kept). The filters reach the scan, so on
    files sorted by ``column`` each range reads only its own row groups. Rows with a
    null key get a filter of their own. One range: an empty list.
    """
    from polars_factors.partition._chunks import plan_by_rows  # noqa: PLC0415 (import cycle)

    chunks = plan_by_rows(frame, column=column, rows=rows, size=None, engine="streaming")
    if len(chunks) <= 1:
        return []
    dtype = frame.collect_schema()[column]
    return [*(c.predicate(dtype) for c in chunks), pl.col(column).is_null()]


def check_unique_keys(frame: pl.DataFrame | pl.LazyFrame, *, date: str, asset: str) -> None:
    """Raise :class:`DuplicateKeyError` if some ``(date, asset)`` key has more than one row.

    Reads only the two key columns. On a LazyFrame the check runs over ranges of
    dates holding about :data:`KEY_CHECK_ROWS` rows each, one after another, so its
    memory does not grow with the number of dates.
    """
    from polars_factors._frame import temp_name  # noqa: PLC0415 (import cycle)

    keys = frame.lazy().select(pl.col(date), pl.col(asset))
    ranges = _key_ranges(frame, date, KEY_CHECK_ROWS) if isinstance(frame, pl.LazyFrame) else []
    taken = {date, asset}
    extra, count = temp_name(taken, "extra"), temp_name(taken, "rows")
    n_dates = n_rows = 0
    offending: list[pl.LazyFrame] = []
    for lf in [keys.filter(r) for r in ranges] or [keys]:
        bad = (
            lf.group_by(date)
            .agg((pl.len() - pl.col(asset).n_unique()).alias(extra))
            .filter(pl.col(extra) > 0)
            .select(pl.len().alias("dates"), pl.col(extra).sum().alias("rows"))
            .collect()
        )
        dates, rows = bad.row(0)
        if dates:
            n_dates += dates
            n_rows += rows
            offending.append(lf)
    if not offending:
        return
    # The three worst keys of each offending range, then the three worst of those.
    examples = (
        pl.concat(
            [
                lf.group_by(date, asset)
                .agg(pl.len().alias(count))
                .filter(pl.col(count) > 1)
                .sort(count, date, asset, descending=[True, False, False], nulls_last=True)
                .head(3)
                .collect()
                for lf in offending
            ]
        )
        .sort(count, date, asset, descending=[True, False, False], nulls_last=True)
        .head(3)
    )
    shown = "; ".join(
        f"({d!r}, {a!r}) x{r}" for d, a, r in examples.select(date, asset, count).iter_rows()
    )
    msg = (
        f"the panel has duplicate ({date!r}, {asset!r}) keys: {n_rows} extra rows on "
        f"{n_dates} dates, e.g. {shown}. A panel needs one row per (date, asset); "
        f"deduplicate it first, e.g. frame.unique([{date!r}, {asset!r}], keep='last')."
    )
    raise DuplicateKeyError(msg)


def check_industry(schema: pl.Schema, industry: object, others: Sequence[str]) -> str | None:
    """Check a classification column: present, categorical-like, not one of ``others``."""
    if industry is None:
        return None
    if not isinstance(industry, str):
        msg = f"`industry` must be a column name; got {industry!r}."
        raise TypeError(msg)
    check_columns_exist(schema, [industry], role="industry column")
    dtype = schema[industry]
    if not (
        dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum)) or dtype.is_integer()
    ):
        msg = (
            f"industry column {industry!r} must be a string, categorical, enum or integer "
            f"code, but its dtype is {dtype}. Cast it, e.g. pl.col({industry!r}).cast(pl.String)."
        )
        raise SchemaError(msg)
    if industry in others:
        msg = (
            f"industry column {industry!r} is also a response or regressor column ({list(others)})."
        )
        raise ValueError(msg)
    return industry


def check_no_negative(
    frame: pl.DataFrame | pl.LazyFrame,
    column: str,
    *,
    rule: str,
    engine: EngineType = "auto",
) -> None:
    """Raise :class:`WeightError` if ``column`` has negative values; reads only that column.

    ``rule`` (one or more sentences) says what the weights must be and what to do.
    """
    negative = frame.lazy().select((pl.col(column) < 0).sum()).collect(engine=engine).item()
    if negative:
        msg = f"weights column {column!r} has {negative} negative values; {rule}"
        raise WeightError(msg)


def check_time_order(frame: pl.DataFrame | pl.LazyFrame, *, date: str, asset: str) -> None:
    """Check that every asset's rows are in strictly increasing date order.

    Time-series operations (rolling windows, lags) run over each asset's rows in the
    order they appear, so the rows of an asset must be sorted by date. Reads only the
    two key columns; on a LazyFrame, over ranges of assets holding about
    :data:`TIME_ORDER_ROWS` rows each (memory independent of the number of dates).
    Raises :class:`DuplicateKeyError` for a repeated ``(date, asset)`` key,
    :class:`UnsortedError` for a date that goes backwards within an asset and
    :class:`InvalidDataError` for a null date or asset.
    """
    from polars_factors._frame import temp_name  # noqa: PLC0415 (import cycle)

    keys = frame.lazy().select(pl.col(date), pl.col(asset))
    null_date, null_asset = (
        keys.select(
            pl.col(date).null_count().alias("null_date"),
            pl.col(asset).null_count().alias("null_asset"),
        )
        .collect()
        .row(0)
    )
    if null_date or null_asset:
        msg = (
            f"the panel has {null_date} rows with a null {date!r} and {null_asset} with a null "
            f"{asset!r}; time-series operations need both keys. Drop them first, e.g. "
            f"frame.drop_nulls([{date!r}, {asset!r}])."
        )
        raise InvalidDataError(msg)
    # Row numbers are taken before the split, so each pass sees the original order.
    taken = {date, asset}
    idx, back, same, first_back = (
        temp_name(taken, h) for h in ("row", "backward", "repeat", "first")
    )
    numbered = keys.with_row_index(idx)
    passes = [numbered]
    if isinstance(frame, pl.LazyFrame):
        ranges = _key_ranges(frame, asset, TIME_ORDER_ROWS)
        if len(ranges) > 1:
            passes = [numbered.filter(r) for r in ranges]
    backward = repeat = 0
    first: dict[str, Any] | None = None
    now, prev = pl.col(date), pl.col(date).shift(1)
    for part in passes:
        # One streaming group_by (the rows of a group keep their order): cheaper than
        # a window function over the whole pass.
        steps = (
            part.group_by(asset)
            .agg(
                (now < prev).sum().alias(back),
                (now == prev).sum().alias(same),
                pl.col(idx).filter(now < prev).min().alias(first_back),
            )
            .select(pl.col(back, same).sum(), pl.col(first_back).min())
            .collect()
        )
        b, r, row = steps.row(0)
        backward += b
        repeat += r
        if row is not None and (first is None or row < first[idx]):
            first = numbered.filter(pl.col(idx) == row).collect().row(0, named=True)
    if not (repeat or backward):
        return
    check_unique_keys(frame, date=date, asset=asset)
    assert first is not None  # a repeat without a duplicate key is impossible
    msg = (
        f"the rows of each asset must be in increasing {date!r} order, but {backward} rows "
        f"go back in time (first at row {first[idx]}: asset {first[asset]!r}, "
        f"{date} {first[date]!r}). Sort the panel first, e.g. frame.sort({date!r}) "
        f"or frame.sort({asset!r}, {date!r})."
    )
    raise UnsortedError(msg)


def check_half_life(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a positive half-life, else raise ``ValueError``.

    Half-lives count observations (dates or rows); ``math.inf`` means equal weights.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        msg = f"{name} must be a positive number of observations, got {value!r}"
        raise ValueError(msg)
    if value <= 0:
        msg = (
            f"{name} must be positive (a number of observations; math.inf for equal "
            f"weights), got {value!r}"
        )
        raise ValueError(msg)
    return float(value)


def check_column_names(*, distinct: bool = False, **names: object) -> None:
    """Check that each named role is a column name (str) or None.

    With ``distinct``, two roles may not name the same column (``ValueError``).
    """
    seen: dict[object, str] = {}
    for role, name in names.items():
        if name is None:
            continue
        if not isinstance(name, str):
            msg = f"`{role}` must be a column name (str); got {name!r}."
            raise TypeError(msg)
        if distinct and name in seen:
            msg = (
                f"column {name!r} is given both as `{seen[name]}` and as `{role}`; each column "
                f"can play one role only."
            )
            raise ValueError(msg)
        seen[name] = role
