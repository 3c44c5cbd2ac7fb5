"""The point-in-time (as-of) join of fiscal-period data onto a daily panel."""

from __future__ import annotations

import datetime as dt

import polars as pl

from polars_factors import _validate
from polars_factors._frame import like_input, temp_name
from polars_factors.exceptions import SchemaError
from polars_factors.typing import FrameT

__all__ = ["DEFAULT_LAG", "point_in_time"]

#: Default reporting lag: the SEC deadline of the 10-K is 60 days after the fiscal year
#: end for large accelerated filers, 75 for accelerated and 90 for the other filers, so
#: 90 days covers every US annual report filed on time.
DEFAULT_LAG = "90d"

_PROBE = dt.datetime(2001, 1, 31)  # a month end: "1mo" and "90d" both move it forward


def point_in_time(
    panel: FrameT,
    fundamentals: pl.DataFrame | pl.LazyFrame,
    *,
    period_end: str = "period_end",
    lag: str | dt.timedelta = DEFAULT_LAG,
    date: str = "date",
    asset: str = "asset",
    suffix: str | None = None,
    check_keys: bool | None = None,
) -> FrameT:
    """Join fiscal-period data onto a panel as of each date, without look-ahead.

    Each panel row gets the row of ``fundamentals`` of its asset with the latest
    ``period_end`` whose figures are public on the row's date, that is with
    ``period_end + lag <= date``; nulls where there is none yet (before an asset's first
    public period, or for an asset absent from ``fundamentals``).

    Parameters
    ----------
    panel
        The panel: one row per ``(date, asset)``, each asset's rows in increasing date
        order (the order across assets does not matter).
    fundamentals
        One row per asset and fiscal period: the ``asset`` column, the ``period_end``
        column (the last day of the fiscal period) and the values to join, in any order.
        Rows with a null ``asset`` or ``period_end`` are left out (they can never be
        dated).
    period_end
        Column of ``fundamentals`` holding the fiscal period end (Date or Datetime).
    lag
        Time between a period end and the date its figures are taken to be public: a
        Polars duration string (``"90d"``, ``"3mo"``, ``"6mo"``) or a
        ``datetime.timedelta``; at least 0. Calendar units (``"mo"``, ``"y"``) follow the
        calendar (2016-01-31 + ``"1mo"`` is 2016-02-29). When ``date`` and
        ``period_end`` are both Date columns the lag must be whole days. The default,
        ``"90d"``, is the latest SEC deadline of a 10-K (60 days after the fiscal year
        end for large accelerated filers, 75 for accelerated, 90 for the others): every
        US annual report filed on time is public by then. Fama and French's ``"6mo"``
        (and more) is more conservative; quarterly data needs its own (10-Q: 40-45 days).
    date, asset
        Panel key columns (``asset`` is also the asset column of ``fundamentals``, with
        the same dtype). ``date`` must be Date or Datetime.
    suffix
        Appended to the name of every column added from ``fundamentals``
        (``period_end`` included); ``None`` (the default) or ``""`` keeps the names.
    check_keys
        Check that each asset's dates strictly increase (which the join needs), as
        :func:`polars_factors.betas`: ``None`` (default) at call time on a DataFrame,
        inside the plan on a LazyFrame (``collect`` raises); ``True`` at call time;
        ``False``: no check.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        Same kind as ``panel`` (lazy in, lazy out), with the same rows in the same order:
        the panel's columns, then the columns of ``fundamentals`` other than ``asset``
        in their order, ``period_end`` included (the fiscal period each row's figures
        come from, so that later steps can find the fiscal history).

    Raises
    ------
    ColumnNotFoundError
        If a key column is missing from either frame.
    SchemaError
        If ``date`` or ``period_end`` is not a Date or Datetime column, if their time
        zones differ, or if the two ``asset`` columns have different dtypes.
    UnsortedError
        An asset's dates go backwards somewhere (see ``check_keys``).
    DuplicateKeyError
        If ``fundamentals`` is a DataFrame with more than one row for some
        ``(asset, period_end)`` (restatements must replace the original row). A
        LazyFrame is not read at call time and not checked: with duplicates the join
        takes the last of the repeated rows in the frame's order: pass it collected
        (fundamentals tables are small) to have it checked.
    ValueError
        If an added column would overwrite a panel column (pass ``suffix=``), or if
        ``lag`` is negative, not a valid duration, or not whole days between two Date
        columns.
    TypeError
        If an argument has the wrong type.

    Notes
    -----
    An as-of join by asset needs each asset's rows sorted on both sides: the panel's
    are by contract (checked), and ``fundamentals`` (small) is sorted by asset and
    public date (ties, from calendar lags such as ``"1mo"`` that map two period ends to
    one day, go to the later ``period_end``). The panel is not sorted, so the join
    streams, keeps the panel's row order, and lets a filter on the asset or the date
    reach the scan (the partition layer can split it).

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> panel = pl.DataFrame(
    ...     {"date": [dt.date(2017, 3, 1), dt.date(2017, 4, 3), dt.date(2017, 4, 3)],
    ...      "asset": ["A", "A", "B"]}
    ... )
    >>> fundamentals = pl.DataFrame(
    ...     {"asset": ["A", "A"],
    ...      "period_end": [dt.date(2015, 12, 31), dt.date(2016, 12, 31)],
    ...      "book_equity": [10.0, 12.0]}
    ... )
    >>> pf.io.point_in_time(panel, fundamentals)  # 2016-12-31 + 90 days = 2017-03-31
    shape: (3, 4)
    ┌────────────┬───────┬────────────┬─────────────┐
    │ date       ┆ asset ┆ period_end ┆ book_equity │
    │ ---        ┆ ---   ┆ ---        ┆ ---         │
    │ date       ┆ str   ┆ date       ┆ f64         │
    ╞════════════╪═══════╪════════════╪═════════════╡
    │ 2017-03-01 ┆ A     ┆ 2015-12-31 ┆ 10.0        │
    │ 2017-04-03 ┆ A     ┆ 2016-12-31 ┆ 12.0        │
    │ 2017-04-03 ┆ B     ┆ null       ┆ null        │
    └────────────┴───────┴────────────┴─────────────┘
    """
    for name, frame in (("panel", panel), ("fundamentals", fundamentals)):
        if not isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
            msg = f"`{name}` must be a polars DataFrame or LazyFrame; got {type(frame).__name__}."
            raise TypeError(msg)
    _validate.check_column_names(period_end=period_end, date=date, asset=asset)
    if suffix is not None and not isinstance(suffix, str):
        msg = f"`suffix` must be a string or None; got {suffix!r}."
        raise TypeError(msg)
    schema: pl.Schema = panel.collect_schema()
    fund_schema: pl.Schema = fundamentals.collect_schema()
    _validate.check_columns_exist(schema, [date, asset], role="panel key")
    _validate.check_columns_exist(fund_schema, [asset, period_end], role="fundamentals key")
    _validate.check_key_dtypes(schema, date=date, asset=asset)
    _validate.check_key_dtypes(fund_schema, date=period_end, asset=asset)
    if schema[asset] != fund_schema[asset]:
        msg = (
            f"asset column {asset!r} is {schema[asset]} in the panel but {fund_schema[asset]} "
            f"in fundamentals; cast one to the other, e.g. pl.col({asset!r}).cast(pl.String)."
        )
        raise SchemaError(msg)
    key_dtype = _join_dtype(schema[date], fund_schema[period_end], date=date, period_end=period_end)
    offset = _lag_string(lag, whole_days=key_dtype == pl.Date)
    added = [c for c in fund_schema.names() if c != asset]
    renamed = {c: f"{c}{suffix}" for c in added} if suffix else {}
    outputs: list[str] = [renamed.get(c, c) for c in added]
    columns: list[str] = [*schema.names(), *outputs]
    _validate.check_new_columns(
        schema,
        outputs,
        function="point_in_time",
        fix="Pass suffix= (e.g. suffix='_fy'), or rename or drop the panel's columns first.",
    )
    known = pl.col(asset).is_not_null() & pl.col(period_end).is_not_null()
    if isinstance(fundamentals, pl.DataFrame):
        _validate.check_unique(
            fundamentals.filter(known),
            [asset, period_end],
            what="the fundamentals frame",
            fix="A restated period must replace the original row, e.g. "
            f"frame.unique([{asset!r}, {period_end!r}], keep='last').",
        )
    checked = _validate.time_order(panel, check_keys, date=date, asset=asset)
    taken = set(schema.names()) | set(fund_schema.names())
    key = temp_name(taken, "public")
    right = (
        fundamentals.lazy()
        .filter(known)
        .with_columns(pl.col(period_end).cast(key_dtype).dt.offset_by(offset).alias(key))
        .sort(asset, key, period_end)
        .rename(renamed)
    )
    left = checked.lazy().with_columns(pl.col(date).cast(key_dtype).alias(key))
    # Within each asset both sides are sorted by the as-of key, which is what an as-of
    # join by asset needs (Polars cannot check it when `by` is given; the panel's
    # order is checked above). The join keeps the panel's row order.
    plan = left.join_asof(
        right, on=key, by=asset, strategy="backward", check_sortedness=False
    ).select(columns)
    return like_input(panel, plan)


def _join_dtype(
    left: pl.DataType, right: pl.DataType, *, date: str, period_end: str
) -> pl.DataType:
    """Return the dtype both as-of keys are cast to: Date, or the finer Datetime."""
    for col, dtype in ((date, left), (period_end, right)):
        if not (dtype == pl.Date or isinstance(dtype, pl.Datetime)):
            msg = (
                f"column {col!r} must be a Date or Datetime to be dated by a lag, but its "
                f"dtype is {dtype}; convert it, e.g. pl.col({col!r}).str.to_date()."
            )
            raise SchemaError(msg)
    if isinstance(left, pl.Datetime) and isinstance(right, pl.Datetime):
        if left.time_zone != right.time_zone:
            msg = (
                f"{date!r} ({left}) and {period_end!r} ({right}) have different time zones; "
                f"convert one, e.g. pl.col({period_end!r}).dt.convert_time_zone(...)."
            )
            raise SchemaError(msg)
        return left
    return left if isinstance(left, pl.Datetime) else right


def _lag_string(lag: object, *, whole_days: bool) -> str:
    """Return ``lag`` as a Polars duration string, checking that it is non-negative."""
    negative = f"`lag` must be at least 0 (a negative lag looks ahead); got {lag!r}."
    if isinstance(lag, dt.timedelta):
        if lag < dt.timedelta(0):
            raise ValueError(negative)
        text = f"{lag.days}d{lag.seconds}s{lag.microseconds}us"
    elif isinstance(lag, str):
        text = lag
    else:
        msg = (
            f"`lag` must be a Polars duration string (e.g. '90d', '3mo') or a "
            f"datetime.timedelta; got {lag!r} of type {type(lag).__name__}."
        )
        raise TypeError(msg)
    try:
        moved = pl.select(pl.lit(_PROBE).dt.offset_by(text)).item()
    except pl.exceptions.PolarsError as err:
        msg = f"`lag` {lag!r} is not a valid Polars duration (e.g. '90d', '3mo'): {err}"
        raise ValueError(msg) from None
    if moved < _PROBE:
        raise ValueError(negative)
    if whole_days and moved.time() != dt.time(0):
        msg = (
            f"`lag` {lag!r} is not a whole number of days, but the date and period end "
            f"columns are Date columns; round it, or cast the columns to Datetime."
        )
        raise ValueError(msg)
    return text
