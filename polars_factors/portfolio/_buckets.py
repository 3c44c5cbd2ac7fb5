r"""Portfolio sorts: per-date breakpoints, buckets, and formation/holding periods.

:func:`assign_buckets` sorts each date's cross-section into groups at quantile
breakpoints computed on a breakpoint universe (all rows, or e.g. NYSE stocks only);
:func:`bucket_breakpoints` returns those breakpoints; :func:`rebalance` carries
values formed at the end of one period (signals, buckets, weights) over the next.

All three build lazy Polars plans: per-group statistics are a ``group_by``
joined back onto the panel with ``maintain_order="left"``, so a LazyFrame keeps its
rows and their order on every engine, ``engine="streaming"`` included.
"""

from __future__ import annotations

import itertools
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from polars_factors import _frame, _validate
from polars_factors.exceptions import DataLossWarning, SchemaError
from polars_factors.exprs._core import clean
from polars_factors.typing import ColumnNames, EngineType, FrameT

__all__ = ["assign_buckets", "bucket_breakpoints", "rebalance"]

#: A position ``q (n - 1)`` this close (relative) to an integer is that integer: the
#: float product of a fraction such as 0.7 and a count is often off by one ulp.
_SNAP_RTOL = 1e-12


# --------------------------------------------------------------------------- buckets


@dataclass(frozen=True)
class _Sort:
    """Validated arguments of a sort: signal, fractions, group keys, universe."""

    column: str
    fractions: list[float]
    by: list[str]
    universe: pl.Expr | None
    schema: pl.Schema


def _fractions(n: object, breakpoints: object) -> list[float]:
    if (n is None) == (breakpoints is None):
        msg = (
            "give exactly one of `n` (the number of equal-count buckets, e.g. n=5) and "
            "`breakpoints` (percentile fractions, e.g. breakpoints=[0.3, 0.7]); got "
            + ("neither." if n is None else f"both (n={n!r}, breakpoints={breakpoints!r}).")
        )
        raise ValueError(msg)
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, int):
            msg = f"`n` must be an integer >= 2; got {n!r}."
            raise TypeError(msg)
        if n < 2:
            msg = f"`n` must be at least 2 (the number of buckets); got n={n}."
            raise ValueError(msg)
        return [j / n for j in range(1, n)]
    if isinstance(breakpoints, (str, bytes)) or not isinstance(breakpoints, Sequence):
        msg = (
            f"`breakpoints` must be a sequence of fractions in (0, 1), e.g. [0.3, 0.7] "
            f"(or [0.5] for a median split); got {breakpoints!r}."
        )
        raise TypeError(msg)
    out = []
    for q in breakpoints:
        if isinstance(q, bool) or not isinstance(q, (int, float)):
            msg = f"`breakpoints` must contain numbers; got {q!r} in {list(breakpoints)!r}."
            raise TypeError(msg)
        out.append(float(q))
    if not out:
        msg = "`breakpoints` is empty; give at least one fraction, e.g. [0.5]."
        raise ValueError(msg)
    outside = [q for q in out if not 0.0 < q < 1.0]
    if outside:
        msg = (
            f"`breakpoints` are fractions of the cross-section and must lie strictly "
            f"between 0 and 1; got {outside} in {out}. For percentiles, divide by 100 "
            f"(e.g. [0.3, 0.7] for the 30th and 70th)."
        )
        raise ValueError(msg)
    if any(b <= a for a, b in itertools.pairwise(out)):
        msg = f"`breakpoints` must be strictly increasing; got {out}. Sort them and drop repeats."
        raise ValueError(msg)
    return out


def _universe(schema: pl.Schema, universe: object, lf: pl.LazyFrame) -> pl.Expr | None:
    if universe is None:
        return None
    if isinstance(universe, str):
        _validate.check_columns_exist(schema, [universe], role="breakpoint_universe column")
        expr = pl.col(universe)
    elif isinstance(universe, pl.Expr):
        _validate.check_columns_exist(
            schema, universe.meta.root_names(), role="breakpoint_universe column"
        )
        expr = universe
    else:
        msg = (
            f"`breakpoint_universe` must be a boolean column name or a polars expression, "
            f'e.g. pl.col("exchange") == "NYSE"; got {universe!r}.'
        )
        raise TypeError(msg)
    dtype = lf.select(expr).collect_schema().dtypes()[0]
    if dtype != pl.Boolean:
        msg = (
            f"`breakpoint_universe` must be boolean (True = the row counts for the "
            f"breakpoints), but {universe!r} is {dtype}. Compare it to something, e.g. "
            f'pl.col("exchange") == "NYSE".'
        )
        raise SchemaError(msg)
    return expr


def _prepare_sort(
    frame: pl.DataFrame | pl.LazyFrame,
    column: object,
    *,
    n: object,
    breakpoints: object,
    by: ColumnNames | None,
    universe: object,
    date: str,
    asset: str,
    check_keys: bool | None,
) -> _Sort:
    if not isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
        msg = f"expected a polars DataFrame or LazyFrame; got {type(frame).__name__}."
        raise TypeError(msg)
    if not isinstance(column, str):
        msg = f"`column` must be the name of the signal column (str); got {column!r}."
        raise TypeError(msg)
    fractions = _fractions(n, breakpoints)
    keys = _validate.resolve_by(by, date)
    schema = frame.collect_schema()
    _validate.check_columns_exist(schema, [column], role="signal column")
    _validate.check_numeric(schema, [column], role="signal column")
    _validate.check_columns_exist(schema, keys, role="group key")
    _validate.check_key_dtypes(schema, date=date, asset=asset, by=keys)
    expr = _universe(schema, universe, frame.lazy())
    _validate.unique_keys(frame, check_keys, date=date, asset=asset)
    return _Sort(column=column, fractions=fractions, by=keys, universe=expr, schema=schema)


def _quantile(values: pl.Expr, q: float) -> pl.Expr:
    """Linear-interpolation quantile of a sorted list column (numpy's ``"linear"``).

    The position ``q (n - 1)`` is snapped to an integer when it is within round-off
    of one, so that a breakpoint that is an observed value is exactly that value (and
    ties at it go to the lower bucket). The interpolation is numpy's: from the lower
    neighbour when the fraction is below 1/2, from the upper one otherwise.
    """
    count = values.list.len()
    pos = (count - 1).cast(pl.Float64) * q
    near = pos.round()
    pos = pl.when((pos - near).abs() <= _SNAP_RTOL * pos.clip(1.0)).then(near).otherwise(pos)
    low = pos.floor()
    frac = pos - low
    a = values.list.get(low.cast(pl.Int64), null_on_oob=True)
    b = values.list.get(pos.ceil().cast(pl.Int64), null_on_oob=True)
    value = pl.when(frac < 0.5).then(a + (b - a) * frac).otherwise(b - (b - a) * (1.0 - frac))
    return pl.when(count > 0).then(value)


def _breakpoint_plan(
    lf: pl.LazyFrame, sort: _Sort, names: Sequence[str], count_name: str, taken: set[str]
) -> pl.LazyFrame:
    """One row per ``by`` group: the breakpoints and the size of the usable universe."""
    values = _frame.temp_name(taken, "universe_values")
    usable = clean(sort.column)
    pairs = zip(sort.fractions, names, strict=True)
    if sort.universe is not None:
        # Evaluated on the frame (as in with_columns), not inside each group.
        selected = _frame.temp_name(taken, "in_universe")
        lf = lf.with_columns(sort.universe.fill_null(value=False).alias(selected))
        usable = usable.filter(pl.col(selected))
    return (
        lf.group_by(sort.by)
        .agg(usable.drop_nulls().sort().alias(values))
        .select(
            *sort.by,
            *(_quantile(pl.col(values), q).alias(b) for q, b in pairs),
            pl.col(values).list.len().cast(pl.UInt32).alias(count_name),
        )
    )


def bucket_breakpoints(
    frame: FrameT,
    column: str,
    *,
    n: int | None = None,
    breakpoints: Sequence[float] | None = None,
    by: ColumnNames | None = None,
    breakpoint_universe: str | pl.Expr | None = None,
    date: str = "date",
    asset: str = "asset",
    check_keys: bool | None = None,
    engine: EngineType = "auto",
) -> FrameT:
    """Compute the per-date breakpoints that :func:`assign_buckets` sorts at.

    Parameters
    ----------
    frame, column, n, breakpoints, by, breakpoint_universe, date, asset, check_keys, engine
        As in :func:`assign_buckets`.

    Returns
    -------
    DataFrame or LazyFrame
        One row per ``by`` group, sorted by it: the group keys, ``breakpoint_1``,
        ..., ``breakpoint_{k-1}`` (Float64; null when the group's universe has no
        usable value) and ``n_universe`` (UInt32), the number of usable universe
        values the breakpoints come from.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame(
    ...     {"date": [1] * 5 + [2] * 5, "asset": list("abcde") * 2,
    ...      "x": [1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 40.0, None, 20.0, 30.0]}
    ... )
    >>> pf.portfolio.bucket_breakpoints(df, "x", breakpoints=[0.3, 0.7])
    shape: (2, 4)
    ┌──────┬──────────────┬──────────────┬────────────┐
    │ date ┆ breakpoint_1 ┆ breakpoint_2 ┆ n_universe │
    │ ---  ┆ ---          ┆ ---          ┆ ---        │
    │ i64  ┆ f64          ┆ f64          ┆ u32        │
    ╞══════╪══════════════╪══════════════╪════════════╡
    │ 1    ┆ 2.2          ┆ 3.8          ┆ 5          │
    │ 2    ┆ 19.0         ┆ 31.0         ┆ 4          │
    └──────┴──────────────┴──────────────┴────────────┘
    """
    sort = _prepare_sort(
        frame, column, n=n, breakpoints=breakpoints, by=by, universe=breakpoint_universe,
        date=date, asset=asset, check_keys=check_keys,
    )  # fmt: skip
    names = [f"breakpoint_{i}" for i in range(1, len(sort.fractions) + 1)]
    taken = set(sort.schema.names()) | set(names) | {"n_universe"}
    plan = _breakpoint_plan(frame.lazy(), sort, names, "n_universe", taken).sort(
        sort.by, nulls_last=True
    )
    return _frame.like_input(frame, plan, engine=engine)


def assign_buckets(
    frame: FrameT,
    column: str,
    *,
    n: int | None = None,
    breakpoints: Sequence[float] | None = None,
    by: ColumnNames | None = None,
    breakpoint_universe: str | pl.Expr | None = None,
    name: str | None = None,
    date: str = "date",
    asset: str = "asset",
    check_keys: bool | None = None,
    engine: EngineType = "auto",
) -> FrameT:
    r"""Sort each date's cross-section into buckets at quantile breakpoints.

    Parameters
    ----------
    frame
        Panel, one row per ``(date, asset)``; a LazyFrame gives a LazyFrame.
    column
        Numeric signal to sort on (e.g. market cap, book-to-market).
    n
        Number of equal-count buckets: breakpoints at :math:`1/n, \dots, (n-1)/n`.
        At least 2.
    breakpoints
        Percentile fractions instead of ``n``, strictly increasing in (0, 1), e.g.
        ``[0.3, 0.7]`` (Fama-French value terciles) or ``[0.5]`` (a median split);
        ``len(breakpoints) + 1`` buckets. Give exactly one of ``n`` and ``breakpoints``.
    by
        Group keys of the breakpoints; default the date column. E.g.
        ``["date", "sector"]`` sorts within sectors.
    breakpoint_universe
        Rows whose values set the breakpoints: a boolean column name or a boolean
        expression such as ``pl.col("exchange") == "NYSE"`` (Fama-French NYSE
        breakpoints). ``None`` (default) uses every row; a null counts as not
        selected. An expression is evaluated on the whole frame, as in
        ``with_columns`` (not per group). Every row is bucketed, inside the universe
        or not.
    name
        Name of the bucket column; default ``f"{column}_bucket"``. It must not be a
        column of the frame already.
    date, asset
        Names of the panel keys (used by ``check_keys``).
    check_keys
        Check that ``(date, asset)`` is unique. ``None`` (default): on a
        DataFrame at call time; on a LazyFrame not at all, so that the call reads
        nothing (pass ``True`` to read the key columns now, or check a scan once with
        :func:`~polars_factors.check_panel`). ``True``: at call time whatever the
        frame. ``False``: no check.
    engine
        Polars engine that collects a DataFrame input (``"auto"``: Polars' default,
        the streaming engine); a LazyFrame is returned as a plan.

    Returns
    -------
    DataFrame or LazyFrame
        The same rows in the same order with an ``Int32`` bucket column added:
        1 holds the lowest values, ``k`` (the number of buckets) the highest. A null,
        NaN or infinite signal gives a null bucket, and so does every row of a group
        whose universe has no usable value (on a DataFrame a
        :class:`~polars_factors.exceptions.DataLossWarning` says how many rows and
        groups; a LazyFrame cannot warn without computing).

    Raises
    ------
    ColumnNotFoundError
        ``column``, a ``by`` key, a universe column or a panel key is missing.
    SchemaError
        ``column`` is not numeric, or the universe is not boolean.
    DuplicateKeyError
        ``check_keys`` and a ``(date, asset)`` key repeats.
    ValueError
        ``n < 2``; ``n`` and ``breakpoints`` both or neither given; breakpoints not
        strictly increasing or outside (0, 1); ``name`` already a column.

    Notes
    -----
    The breakpoints of a group are the linear-interpolation quantiles (numpy's and
    pandas' default) of the usable universe values (not null, not NaN, finite):
    with those values sorted, :math:`v_0 \le \dots \le v_{m-1}`, the breakpoint for
    fraction :math:`q` is

    .. math::

        b_q = v_{\lfloor h \rfloor} + (h - \lfloor h \rfloor)
              (v_{\lceil h \rceil} - v_{\lfloor h \rfloor}), \qquad h = q (m - 1).

    The position :math:`h` is snapped to an integer when it is one up to round-off, so
    that e.g. the 70th percentile of 91 values is exactly the 64th smallest value
    (``np.quantile`` gives ``62.99999999999999`` for ``0, 1, ..., 90``).

    A row's bucket is one plus the number of breakpoints strictly below its value:

    .. math::

        \text{bucket}(x) = 1 + \#\{q : b_q < x\}.

    **Ties:** a value equal to a breakpoint goes to the lower bucket (the bins are
    closed on the right, as in ``pandas.qcut``); rows with equal values always share a
    bucket, so bucket sizes can differ by more than one when values repeat. When
    several breakpoints coincide, the buckets between them are empty.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame(
    ...     {"date": [1] * 6, "asset": list("abcdef"),
    ...      "exchange": ["NYSE", "NYSE", "NYSE", "NASDAQ", "NASDAQ", "NYSE"],
    ...      "mcap": [1.0, 2.0, 3.0, 0.5, 0.8, None]}
    ... )
    >>> out = pf.portfolio.assign_buckets(df, "mcap", n=2)
    >>> out["mcap_bucket"].to_list()
    [1, 2, 2, 1, 1, None]

    The median of all five values is 1.0, which goes to the lower bucket. With NYSE
    breakpoints the median is 2.0:

    >>> nyse = pl.col("exchange") == "NYSE"
    >>> pf.portfolio.assign_buckets(df, "mcap", n=2, breakpoint_universe=nyse)[
    ...     "mcap_bucket"
    ... ].to_list()
    [1, 1, 2, 1, 1, None]
    >>> pf.portfolio.assign_buckets(df, "mcap", breakpoints=[0.3, 0.7], name="size")[
    ...     "size"
    ... ].to_list()
    [2, 3, 3, 1, 1, None]
    """
    sort = _prepare_sort(
        frame, column, n=n, breakpoints=breakpoints, by=by, universe=breakpoint_universe,
        date=date, asset=asset, check_keys=check_keys,
    )  # fmt: skip
    out_name = f"{column}_bucket" if name is None else name
    if not isinstance(out_name, str):
        msg = f"`name` must be a string or None; got {name!r}."
        raise TypeError(msg)
    _validate.check_new_columns(
        sort.schema, [out_name], function="assign_buckets",
        fix="Pass another name=..., or drop the column first.",
    )  # fmt: skip
    taken = set(sort.schema.names()) | {out_name}
    names = [_frame.temp_name(taken, f"bp{i}") for i in range(len(sort.fractions))]
    count = _frame.temp_name(taken, "n_universe")
    lf = frame.lazy()
    table = _breakpoint_plan(lf, sort, names, count, taken)
    x = clean(sort.column)
    above = pl.sum_horizontal((pl.col(b) < x).cast(pl.Int32) for b in names)
    bucket = pl.when(x.is_not_null() & pl.col(names[0]).is_not_null()).then(1 + above)
    staged = (
        lf.join(table, on=sort.by, how="left", nulls_equal=True, maintain_order="left")
        .with_columns(bucket.cast(pl.Int32).alias(out_name))
        .drop(*names, count)
    )
    if isinstance(frame, pl.LazyFrame):
        return staged
    out = staged.collect(engine=engine)
    _warn_empty_universe(frame, out, sort, out_name)
    return out


def _warn_empty_universe(frame: pl.DataFrame, out: pl.DataFrame, sort: _Sort, name: str) -> None:
    value = pl.col(sort.column).cast(pl.Float64)
    lost = value.is_finite() & out[name].is_null()
    counts = frame.select(
        lost.sum().alias("rows"),
        pl.struct(sort.by).filter(lost).n_unique().alias("groups"),
        value.is_infinite().sum().alias("inf"),
    ).row(0, named=True)
    parts = []
    if counts["rows"]:
        groups = counts["groups"]
        where = "in the frame" if sort.universe is None else "in the breakpoint universe"
        parts.append(
            f"{counts['rows']} rows with a value got a null bucket: {groups} "
            f"{'group' if groups == 1 else 'groups'} of {', '.join(sort.by)} "
            f"{'has' if groups == 1 else 'have'} no usable {sort.column!r} value {where}"
        )
    if counts["inf"]:
        parts.append(f"{counts['inf']} infinite values were treated as missing")
    if parts:
        msg = f"{name!r}: " + "; ".join(parts) + "."
        warnings.warn(msg, DataLossWarning, stacklevel=_frame.user_stacklevel())


# -------------------------------------------------------------------------- rebalance

_EVERY = re.compile(r"^([1-9][0-9]*)(mo|q|y|w|d)$")


@dataclass(frozen=True)
class _Periods:
    """Calendar periods: ``length`` months (``unit="mo"``) or days (``unit="d"``)."""

    unit: str
    length: int
    shift: int


def _periods(every: object, month: object) -> _Periods:
    if not isinstance(every, str):
        msg = f'`every` must be a duration string such as "1mo", "3mo" or "1y"; got {every!r}.'
        raise TypeError(msg)
    found = _EVERY.match(every)
    if found is None:
        msg = (
            f"unsupported every={every!r}: give one calendar duration, a positive integer "
            f'and one of "mo" (months), "q" (quarters), "y" (years), "w" (weeks) or '
            f'"d" (days), e.g. "1mo", "3mo", "1y".'
        )
        raise ValueError(msg)
    k, unit = int(found.group(1)), found.group(2)
    if unit in {"w", "d"}:
        if month is not None:
            msg = f"`month` applies to periods of months or years, not to every={every!r}."
            raise ValueError(msg)
        return _Periods(unit="d", length=7 * k if unit == "w" else k, shift=0)
    length = k * {"mo": 1, "q": 3, "y": 12}[unit]
    if month is None:
        return _Periods(unit="mo", length=length, shift=0)
    if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
        msg = f"`month` must be an integer from 1 to 12 (the month periods end in); got {month!r}."
        raise ValueError(msg)
    if length == 1 or not (12 % length == 0 or length % 12 == 0):
        msg = (
            f"`month` sets the month in which periods end, which needs periods that tile "
            f"the year (every='2mo', '3mo', '4mo', '6mo', '1y', ...); got every={every!r}."
        )
        raise ValueError(msg)
    return _Periods(unit="mo", length=length, shift=month % length)


def _period_index(date: pl.Expr, dtype: pl.DataType, periods: _Periods) -> pl.Expr:
    """Integer period number of each date (consecutive periods differ by 1)."""
    if periods.unit == "mo":
        months = (date.dt.year().cast(pl.Int64) - 1970) * 12 + date.dt.month().cast(pl.Int64) - 1
        return (months - periods.shift) // periods.length
    day = date.dt.date() if isinstance(dtype, pl.Datetime) else date
    days = day.cast(pl.Int64)
    # Weeks start on Monday: 1970-01-01 (day 0) was a Thursday.
    offset = 3 if periods.length % 7 == 0 else 0
    return (days + offset) // periods.length


def rebalance(
    frame: FrameT,
    columns: ColumnNames,
    *,
    every: str = "1mo",
    month: int | None = None,
    lag: int = 1,
    date: str = "date",
    asset: str = "asset",
    check_keys: bool | None = None,
    engine: EngineType = "auto",
) -> FrameT:
    r"""Hold values formed at the end of each period over the following period(s).

    The panel's dates fall into calendar periods. For each asset, the value of a
    column on a row of period :math:`p` is replaced by the value on the asset's last
    row (latest date) in period :math:`p - \text{lag}`: signals, buckets or weights
    formed at the end of one period are held over the next, so returns never see a
    value of their own period.

    Parameters
    ----------
    frame
        Panel, one row per ``(date, asset)``; a LazyFrame gives a LazyFrame. The rows
        may come in any order.
    columns
        Column name(s) to carry, of any dtype (e.g. the output of
        :func:`assign_buckets`, a signal, a weight).
    every
        Period length: ``"<k>mo"``, ``"<k>q"`` (quarters) or ``"<k>y"`` calendar
        periods, or ``"<k>w"`` (weeks starting on Monday) and ``"<k>d"`` (days).
        Monthly periods are calendar months; multi-month periods are counted from
        January 1970 (so ``"3mo"`` gives calendar quarters and ``"1y"`` calendar
        years), multi-day periods from 1970-01-01 (multiples of a week from Monday
        1969-12-29).
    month
        The month (1-12) in which periods of several months end, e.g. ``every="1y",
        month=6`` for July-June years (Fama-French June formation: values formed at
        the end of June and held from July to the next June). Default: calendar
        periods (``"1y"`` ends in December, ``"3mo"`` in March, June, ...).
    lag
        Number of periods between formation and holding, at least 1: ``lag=1``
        holds the values of period :math:`p - 1` during period :math:`p`.
        ``lag=0`` is rejected: it would give every row of a period the value of
        the period's last date, a look-ahead.
    date, asset
        Names of the panel keys. ``date`` must be a Date or Datetime column.
    check_keys
        Check that ``(date, asset)`` is unique. ``None`` (default): on a
        DataFrame at call time; on a LazyFrame not at all, so that the call reads
        nothing (pass ``True`` to read the key columns now, or check a scan once with
        :func:`~polars_factors.check_panel`). ``True``: at call time whatever the
        frame. ``False``: no check.
    engine
        Polars engine that collects a DataFrame input (``"auto"``: Polars' default,
        the streaming engine); a LazyFrame is returned as a plan.

    Returns
    -------
    DataFrame or LazyFrame
        The same rows in the same order and the same columns, with ``columns``
        replaced (in place, same dtype) by the carried values. A row gets null when
        its asset has no row in period :math:`p - \text{lag}` (an asset's first
        periods, a gap; values are never carried further back), when the value on
        that last row is null, or when its date or asset is null.

    Raises
    ------
    ColumnNotFoundError
        A column or panel key is missing.
    SchemaError
        ``date`` is not a Date or Datetime column.
    DuplicateKeyError
        ``check_keys`` and a ``(date, asset)`` key repeats.
    ValueError
        Unsupported ``every``, ``month`` or ``lag``; ``columns`` names a panel key.

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame(
    ...     {"date": [dt.date(2020, 5, 29), dt.date(2020, 6, 30), dt.date(2020, 7, 31),
    ...               dt.date(2020, 8, 31)],
    ...      "asset": ["a"] * 4,
    ...      "size": [1.0, 2.0, 3.0, 4.0]}
    ... )
    >>> pf.portfolio.rebalance(df, "size")["size"].to_list()
    [None, 1.0, 2.0, 3.0]
    >>> pf.portfolio.rebalance(df, "size", every="1y", month=6)["size"].to_list()
    [None, None, 2.0, 2.0]
    """
    if not isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
        msg = f"expected a polars DataFrame or LazyFrame; got {type(frame).__name__}."
        raise TypeError(msg)
    cols = _validate.as_list(columns)
    if not cols:
        msg = "`columns` must name at least one column to carry."
        raise ValueError(msg)
    periods = _periods(every, month)
    if isinstance(lag, bool) or not isinstance(lag, int):
        msg = f"`lag` must be an integer >= 1; got {lag!r}."
        raise TypeError(msg)
    if lag < 1:
        msg = (
            f"`lag` must be at least 1; got lag={lag}. With lag=0 every row of a period "
            f"would get the value formed on the period's last date (a look-ahead)."
        )
        raise ValueError(msg)
    schema = frame.collect_schema()
    _validate.check_columns_exist(schema, [date, asset], role="panel key")
    _validate.check_key_dtypes(schema, date=date, asset=asset)
    _validate.check_columns_exist(schema, cols)
    keys = [c for c in cols if c in {date, asset}]
    if keys:
        msg = f"`columns` must not include the panel keys; got {keys}."
        raise ValueError(msg)
    dtype = schema[date]
    if not isinstance(dtype, (pl.Date, pl.Datetime)):
        msg = (
            f"date column {date!r} must be a Date or Datetime to form calendar periods, "
            f"but its dtype is {dtype}. Convert it first, e.g. "
            f"pl.col({date!r}).str.to_date() or pl.col({date!r}).cast(pl.Date)."
        )
        raise SchemaError(msg)
    _validate.unique_keys(frame, check_keys, date=date, asset=asset)
    taken = set(schema.names())
    period = _frame.temp_name(taken, "period")
    lf = frame.lazy().with_columns(_period_index(pl.col(date), dtype, periods).alias(period))
    formed = (
        lf.group_by(asset, period)
        .agg(pl.col(c).sort_by(date).last() for c in cols)
        .with_columns(pl.col(period) + lag)
    )
    staged = (
        lf.drop(cols)
        .join(formed, on=[asset, period], how="left", maintain_order="left")
        .select(schema.names())
    )
    return _frame.like_input(frame, staged, engine=engine)
