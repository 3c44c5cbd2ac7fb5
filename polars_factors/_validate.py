"""Checks of panels and options, at call time and inside plans.

Schema checks use ``collect_schema()``, which reads no data. The checks of the data
read only the columns they check: the duplicate-key checks (:func:`check_unique_keys`
for panels, :func:`check_unique` for small frames), the time-order check and the
negative-weights check.

Where they run is decided by :func:`checks_now` from the ``check_keys`` argument of
the panel functions: on a DataFrame at call time (the data is in memory); on a
LazyFrame, the time-order and negative-value checks go into the plan
(:func:`guard_time_order`, :func:`guard_no_negative`: cheap, and they raise when the
plan is collected), and the duplicate-key check, which must hash every key, runs at
call time only when asked (``check_keys=True``, or once for a whole scan with
:func:`polars_factors.check_panel`).
"""

from __future__ import annotations

import difflib
import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import polars as pl

from polars_factors.exceptions import (
    ColumnNotFoundError,
    DataLossWarning,
    DuplicateKeyError,
    InvalidDataError,
    SchemaError,
    UnsortedError,
    WeightError,
)
from polars_factors.typing import ColumnNames, EngineType, FrameT

#: ``check_keys`` of the panel functions: ``None`` (the default) checks a DataFrame at
#: call time and puts the cheap checks of a LazyFrame into its plan; ``True`` checks at
#: call time whatever the frame (on a LazyFrame that reads the key columns now);
#: ``False`` checks nothing.
CheckKeys = bool | None

__all__ = [
    "as_list",
    "check_choice",
    "check_column_names",
    "check_columns_exist",
    "check_half_life",
    "check_industry",
    "check_key_dtypes",
    "check_magnitude",
    "check_new_columns",
    "check_no_negative",
    "check_numeric",
    "check_time_order",
    "check_unique",
    "check_unique_keys",
    "checks_in_plan",
    "checks_now",
    "guard_no_negative",
    "guard_time_order",
    "no_negative",
    "resolve_by",
    "time_order",
    "unique_keys",
    "warn_non_finite",
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
        raise WeightError(_negative_message(column, negative, rule))


def _negative_message(column: str, negative: int, rule: str) -> str:
    return f"weights column {column!r} has {negative} negative values; {rule}"


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
        raise InvalidDataError(_null_keys_message(null_date, null_asset, date=date, asset=asset))
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
    where = f"first at row {first[idx]}: asset {first[asset]!r}, {date} {first[date]!r}"
    raise UnsortedError(_unsorted_message(backward, where, date=date, asset=asset))


def _null_keys_message(null_date: int, null_asset: int, *, date: str, asset: str) -> str:
    return (
        f"the panel has {null_date} rows with a null {date!r} and {null_asset} with a null "
        f"{asset!r}; time-series operations need both keys. Drop them first, e.g. "
        f"frame.drop_nulls([{date!r}, {asset!r}])."
    )


def _unsorted_message(backward: int, where: str, *, date: str, asset: str) -> str:
    return (
        f"the rows of each asset must be in increasing {date!r} order, but {backward} rows "
        f"go back in time ({where}). Sort the panel first, e.g. frame.sort({date!r}) "
        f"or frame.sort({asset!r}, {date!r})."
    )


def checks_now(frame: pl.DataFrame | pl.LazyFrame, check_keys: CheckKeys) -> bool:
    """Whether the data checks of a panel function run at call time.

    They do on a DataFrame (``check_keys=None``, the default) and whenever
    ``check_keys=True``; on a LazyFrame with the default they do not (see
    :func:`checks_in_plan`).
    """
    if check_keys is None:
        return isinstance(frame, pl.DataFrame)
    if not isinstance(check_keys, bool):
        msg = f"`check_keys` must be True, False or None; got {check_keys!r}."
        raise TypeError(msg)
    return check_keys


def unique_keys(
    frame: pl.DataFrame | pl.LazyFrame, check_keys: CheckKeys, *, date: str, asset: str
) -> None:
    """Run the duplicate-key check of a per-date panel function where ``check_keys`` says.

    With ``check_keys`` not ``False`` the key columns must exist (a schema check); the
    data is read (:func:`check_unique_keys`) only when :func:`checks_now` says so.
    """
    if check_keys is False:
        return
    check_columns_exist(frame.collect_schema(), [date, asset], role="panel key")
    if checks_now(frame, check_keys):
        check_unique_keys(frame, date=date, asset=asset)


def time_order(frame: FrameT, check_keys: CheckKeys, *, date: str, asset: str) -> FrameT:
    """Run the time-order check of a per-asset function where ``check_keys`` says.

    At call time (:func:`check_time_order`) when :func:`checks_now` says so; inside the
    returned plan (:func:`guard_time_order`) on a LazyFrame by default.
    """
    if check_keys is False:
        return frame
    check_columns_exist(frame.collect_schema(), [date, asset], role="panel key")
    if checks_now(frame, check_keys):
        check_time_order(frame, date=date, asset=asset)
        return frame
    assert isinstance(frame, pl.LazyFrame)
    return guard_time_order(frame, date=date, asset=asset)


def no_negative(frame: FrameT, check: CheckKeys, column: str | None, *, rule: str) -> FrameT:
    """Check ``column`` for negative values, at call time or in the plan (as above)."""
    if column is None or check is False:
        return frame
    if checks_now(frame, check):
        check_no_negative(frame, column, rule=rule)
        return frame
    assert isinstance(frame, pl.LazyFrame)
    return guard_no_negative(frame, column, rule=rule)


def checks_in_plan(frame: pl.DataFrame | pl.LazyFrame, check_keys: CheckKeys) -> bool:
    """Whether the cheap data checks go into the plan: a LazyFrame with ``check_keys=None``."""
    return check_keys is None and isinstance(frame, pl.LazyFrame)


def _gate(lf: pl.LazyFrame, check: pl.Expr) -> pl.LazyFrame:
    """Keep every row of ``lf`` behind ``check``, a Boolean that is true or raises.

    The check is a temporary column that a filter consumes (so that projection
    pushdown cannot drop it) and that is dropped afterwards. Its function is
    elementwise: predicates on other columns pass it, and the streaming engine runs it
    on each batch as it goes.
    """
    from polars_factors._frame import temp_name  # noqa: PLC0415 (import cycle)

    ok = temp_name(set(lf.collect_schema().names()), "ok")
    return lf.with_columns(check.alias(ok)).filter(pl.col(ok)).drop(ok)


def guard_time_order(
    lf: pl.LazyFrame, *, date: str, asset: str, grouped: bool = False
) -> pl.LazyFrame:
    """Return ``lf`` with the checks of :func:`check_time_order` inside its plan.

    Nothing is read now; when the plan is collected, a null key raises
    :class:`InvalidDataError`, a date that goes backwards within an asset
    :class:`UnsortedError`, a repeated ``(date, asset)`` key :class:`DuplicateKeyError`.
    The comparison of each date with the asset's previous one is a window over the
    asset (filters on the asset column still reach the scan). The streaming engine
    runs the check batch by batch: the counts in the messages are those of the batch
    in which the problem was found, and keys with several problems (a null key, a
    repeated key, a date that goes back) report the first one a batch shows.
    With ``grouped``, the rows of each asset must be contiguous (after a stable sort by
    the asset, as in the windowed betas): each row is compared with the row before,
    with no window.
    """
    from polars_factors._frame import temp_name  # noqa: PLC0415 (import cycle)

    taken = {date, asset}
    back, same = temp_name(taken, "back"), temp_name(taken, "same")
    now = pl.col(date)
    prev: pl.Expr
    if grouped:  # each asset's rows are contiguous: compare with the row before
        same_asset = pl.col(asset) == pl.col(asset).shift(1)
        prev = pl.when(same_asset).then(pl.col(date).shift(1))
    else:
        prev = pl.col(date).shift(1).over(asset)

    def check(batch: pl.Series) -> pl.Series:
        keys = batch.struct.unnest()
        null_date, null_asset = (
            keys.get_column(date).null_count(),
            keys.get_column(asset).null_count(),
        )
        if null_date or null_asset:
            raise InvalidDataError(
                _null_keys_message(null_date, null_asset, date=date, asset=asset)
            )
        backward, repeated = keys.filter(pl.col(back)), keys.filter(pl.col(same))
        if backward.height or repeated.height:
            # As at call time, a repeated key is reported as such, before any order.
            check_unique_keys(keys.select(date, asset), date=date, asset=asset)
        if backward.height:
            a, d = backward.row(0, named=True)[asset], backward.row(0, named=True)[date]
            where = f"first: asset {a!r}, {date} {d!r}"
            raise UnsortedError(_unsorted_message(backward.height, where, date=date, asset=asset))
        if repeated.height:  # only where the twin fell into another batch
            d, a = repeated.row(0, named=True)[date], repeated.row(0, named=True)[asset]
            msg = (
                f"the panel has duplicate ({date!r}, {asset!r}) keys: {repeated.height} extra "
                f"rows, e.g. ({d!r}, {a!r}). A panel needs one row per (date, asset); "
                f"deduplicate it first, e.g. frame.unique([{date!r}, {asset!r}], keep='last')."
            )
            raise DuplicateKeyError(msg)
        return pl.repeat(value=True, n=batch.len(), dtype=pl.Boolean, eager=True)

    keys = pl.struct(
        (now < prev).alias(back), (now == prev).alias(same), pl.col(date), pl.col(asset)
    )
    return _gate(lf, keys.map_batches(check, return_dtype=pl.Boolean, is_elementwise=True))


def guard_no_negative(lf: pl.LazyFrame, column: str, *, rule: str) -> pl.LazyFrame:
    """Return ``lf`` with the check of :func:`check_no_negative` inside its plan.

    Nothing is read now; a negative value raises :class:`WeightError` when the plan is
    collected (the count in the message is that of the batch where it was found).
    The column is replaced by itself, passed through the check: a filter on it (such as
    the ``w > 0`` of a weighted sum) cannot be pushed below the check and hide the
    negative values from it; filters on other columns still reach the scan.
    """

    def check(values: pl.Series) -> pl.Series:
        negative = int((values < 0).sum())
        if negative:
            raise WeightError(_negative_message(column, negative, rule))
        return values

    return _pass_through(lf, column, check)


def _pass_through(
    lf: pl.LazyFrame, column: str, check: Callable[[pl.Series], pl.Series]
) -> pl.LazyFrame:
    """Replace ``column`` by itself passed through ``check``, elementwise, batch by batch.

    ``check`` raises or returns its batch unchanged. A filter on ``column`` cannot be
    pushed below the check (it would hide rows from it); filters on other columns still
    reach the scan; a query that does not read ``column`` does not run the check.
    """
    dtype = lf.collect_schema()[column]
    checked = pl.col(column).map_batches(check, return_dtype=dtype, is_elementwise=True)
    return lf.with_columns(checked.alias(column))


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


#: Dtypes that cannot be a key: grouping, joining or sorting on them fails, or panics.
_UNUSABLE_KEY_DTYPES = (pl.Object, pl.List, pl.Struct, pl.Array, pl.Null)


def _key_fix(col: str, dtype: pl.DataType) -> str:
    if dtype == pl.Object:
        return (
            f"Object columns hold Python objects (e.g. a numpy array of datetime.date); "
            f"rebuild it as a Polars dtype, e.g. frame.with_columns(pl.Series({col!r}, "
            f"frame[{col!r}].to_list(), dtype=pl.Date)), or convert it before pl.from_pandas"
        )
    if dtype == pl.Null:
        return f"every value is null; fill it, or cast it, e.g. pl.col({col!r}).cast(pl.Date)"
    return (
        f"nested values cannot be keys; take one element or field, e.g. "
        f"pl.col({col!r}).list.first() or pl.col({col!r}).struct.field('...'), or explode it"
    )


def check_key_dtypes(
    schema: pl.Schema,
    *,
    date: str | None = None,
    asset: str | None = None,
    by: Iterable[str] = (),
    industry: str | None = None,
) -> None:
    """Raise :class:`SchemaError` if a key column has a dtype that cannot be a key.

    Object, List, Struct, Array and Null columns cannot be grouped, joined or sorted
    reliably (an Object key makes the streaming engine panic, which ``except
    Exception`` does not catch), so every panel function refuses them at call time,
    from the schema. Columns that are not in the schema are skipped: their absence is
    reported by :func:`check_columns_exist`.

    Examples
    --------
    >>> import polars as pl
    >>> from polars_factors._validate import check_key_dtypes
    >>> check_key_dtypes(pl.Schema({"date": pl.Date, "asset": pl.String}), date="date")
    >>> try:
    ...     check_key_dtypes(pl.Schema({"date": pl.Null}), date="date")
    ... except TypeError as err:
    ...     for part in str(err).split("; "):
    ...         print(part)
    date column 'date' has dtype Null, which cannot be a key
    every value is null
    fill it, or cast it, e.g. pl.col('date').cast(pl.Date).
    """
    roles = [(date, "date column"), (asset, "asset column")]
    roles += [(b, "group key") for b in by]
    roles.append((industry, "industry column"))
    for col, role in roles:
        if col is None or col not in schema:
            continue
        dtype = schema[col]
        if isinstance(dtype, _UNUSABLE_KEY_DTYPES) or dtype in _UNUSABLE_KEY_DTYPES:
            msg = (
                f"{role} {col!r} has dtype {dtype}, which cannot be a key; {_key_fix(col, dtype)}."
            )
            raise SchemaError(msg)


def check_new_columns(
    schema: pl.Schema,
    outputs: Iterable[str],
    *,
    replaced: Iterable[str] = (),
    function: str,
    fix: str,
) -> None:
    """Raise ``ValueError`` if an output column is already a column of the frame.

    The one rule of the functions that write columns: an output never overwrites a
    column silently. The exceptions are ``replaced``, the input columns that the call
    replaces in place (a standardization with ``suffix=None``). Two outputs with one
    name are refused too. ``fix`` (a sentence) says how to choose other names.

    Examples
    --------
    >>> import polars as pl
    >>> from polars_factors._validate import check_new_columns
    >>> schema = pl.Schema({"bm": pl.Float64, "bm_z": pl.Float64})
    >>> try:
    ...     check_new_columns(schema, ["bm_z"], function="zscore", fix="Pass another suffix=.")
    ... except ValueError as err:
    ...     for part in str(err).split("; "):
    ...         print(part)
    zscore would write the column 'bm_z', which the frame already has
    it is not overwritten. Pass another suffix=.
    """
    keep = set(replaced)
    seen: set[str] = set()
    for col in outputs:
        if col in seen:
            msg = f"{function} would write the column {col!r} twice. {fix}"
            raise ValueError(msg)
        seen.add(col)
        if col in schema and col not in keep:
            msg = (
                f"{function} would write the column {col!r}, which the frame already has; "
                f"it is not overwritten. {fix}"
            )
            raise ValueError(msg)


def warn_non_finite(
    frame: pl.DataFrame | pl.LazyFrame, columns: Sequence[str], *, function: str
) -> None:
    """On a DataFrame, warn that the infinite values of ``columns`` are treated as missing.

    The one rule of non-finite inputs: null, NaN and +-inf are missing values (left out
    of every statistic); on a DataFrame a
    :class:`~polars_factors.exceptions.DataLossWarning` counts the infinite ones (a
    LazyFrame cannot warn without reading its data). Reads only ``columns``.
    """
    if not isinstance(frame, pl.DataFrame) or not columns:
        return
    from polars_factors._frame import user_stacklevel  # noqa: PLC0415 (import cycle)

    names = list(dict.fromkeys(columns))
    counts = frame.select(
        pl.col(c).cast(pl.Float64).is_infinite().sum().alias(str(i)) for i, c in enumerate(names)
    ).row(0)
    found = [(c, n) for c, n in zip(names, counts, strict=True) if n]
    if not found:
        return
    shown = ", ".join(f"{n} in {c!r}" for c, n in found)
    c = found[0][0]
    msg = (
        f"{function}: infinite values were treated as missing ({shown}). Replace them with "
        f"null first to silence this, e.g. pl.when(pl.col({c!r}).is_finite()).then(pl.col({c!r}))."
    )
    warnings.warn(msg, DataLossWarning, stacklevel=user_stacklevel())


#: Magnitudes whose squares (and products of two) stay normal floating-point numbers:
#: above ``MAX_MAGNITUDE`` a square overflows to inf, below ``MIN_MAGNITUDE`` (and not
#: zero) it underflows to a subnormal or 0.
MAX_MAGNITUDE = 1e150
MIN_MAGNITUDE = 1e-150


def _magnitude_message(function: str, column: str, big: int, tiny: int) -> str:
    return (
        f"{function}: column {column!r} has {big} values of magnitude above {MAX_MAGNITUDE:g} "
        f"and {tiny} nonzero ones below {MIN_MAGNITUDE:g}; their squares overflow or "
        f"underflow in floating point, which would give a covariance or a residual that "
        f"looks right but is not. Rescale the column (e.g. pl.col({column!r}) * 1e-100), "
        f"or null such values."
    )


def _raise_out_of_range(
    frame: pl.DataFrame | pl.LazyFrame, columns: Sequence[str], *, function: str
) -> None:
    """Raise :class:`InvalidDataError` for the first column with values out of range."""
    exprs = []
    for i, column in enumerate(columns):
        a = pl.col(column).cast(pl.Float64).abs()
        exprs.append(((a > MAX_MAGNITUDE) & a.is_finite()).sum().alias(f"big{i}"))
        exprs.append(((a < MIN_MAGNITUDE) & (a > 0)).sum().alias(f"tiny{i}"))
    table = frame.select(exprs)
    counts = (table.collect() if isinstance(table, pl.LazyFrame) else table).row(0)
    for i, column in enumerate(columns):
        n_big, n_tiny = counts[2 * i], counts[2 * i + 1]
        if n_big or n_tiny:
            raise InvalidDataError(_magnitude_message(function, column, n_big, n_tiny))


def check_magnitude(
    frame: FrameT, columns: Sequence[str], *, function: str, check: CheckKeys = None
) -> FrameT:
    """Refuse values whose squares overflow or underflow (:class:`InvalidDataError`).

    For the estimators that square their inputs without rescaling them (covariances,
    variances, residual regressions): values of magnitude above :data:`MAX_MAGNITUDE`
    or nonzero below :data:`MIN_MAGNITUDE`. At call time on a DataFrame (one
    aggregate); inside the plan on a LazyFrame (an elementwise check that raises when
    the plan is collected; the column passes through it unchanged).
    """
    if check is False or not columns:
        return frame
    if checks_now(frame, check):
        _raise_out_of_range(frame, columns, function=function)  # one pass, every column
        return frame
    assert isinstance(frame, pl.LazyFrame)
    lf = frame
    for column in columns:
        lf = _pass_through(lf, column, _magnitude_checker(function, column))
    return lf


def _magnitude_checker(function: str, column: str) -> Callable[[pl.Series], pl.Series]:
    """Return the batch function of :func:`check_magnitude`'s in-plan check of ``column``."""

    def check_batch(values: pl.Series) -> pl.Series:
        _raise_out_of_range(values.to_frame(column), [column], function=function)
        return values

    return check_batch
