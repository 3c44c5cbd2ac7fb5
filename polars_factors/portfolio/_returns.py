r"""Portfolio returns of sorted buckets, long-short returns and quantile returns.

Three aggregations of a long panel (one row per ``(date, asset)``), lazy or eager:

- :func:`portfolio_returns`: the equal- or value-weighted return of every bucket (or
  combination of buckets, for double sorts) per date;
- :func:`long_short`: the return of a long-short portfolio per date, either top minus
  bottom bucket (``"spread"``) or weights proportional to the demeaned signal
  (``"signal_weighted"``, alphalens' factor returns);
- :func:`quantile_returns`: mean forward returns per signal quantile and date, the
  top-minus-bottom spread and their averages over dates (alphalens'
  ``mean_return_by_quantile``).

Every per-date statistic is a ``group_by`` aggregation, so the plans run on
``engine="streaming"``; results are sorted by the group keys. A row takes part in a
portfolio only if its bucket, its return and (when weighting) its weight are present:
null, NaN and infinite returns and weights, and zero weights, leave the row out.
Negative weights raise :class:`~polars_factors.exceptions.WeightError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import polars as pl

from polars_factors import _validate
from polars_factors._frame import like_input, temp_name
from polars_factors._units import check_units
from polars_factors.exceptions import SchemaError
from polars_factors.exprs._core import clean
from polars_factors.portfolio._buckets import assign_buckets
from polars_factors.typing import ColumnNames, EngineType, FrameT

__all__ = [
    "LongShortMethod",
    "long_short",
    "portfolio_returns",
]

#: How :func:`long_short` weights its two legs.
LongShortMethod = Literal["spread", "signal_weighted"]

_PORTFOLIO_OUTPUTS = ("return", "n_assets", "weight_sum")
_LONG_SHORT_OUTPUTS = ("long", "short", "long_short")
_QUANTILE_OUTPUTS = (
    "forward_returns",
    "quantile",
    "mean_return",
    "n_assets",
    "top",
    "bottom",
    "spread",
)


# ---------------------------------------------------------------------------------
# Validation


def _check_frame(frame: object) -> None:
    if not isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
        msg = f"expected a polars DataFrame or LazyFrame; got {type(frame).__name__}."
        raise TypeError(msg)


def _column_name(value: object, name: str) -> str:
    if not isinstance(value, str):
        msg = f"`{name}` must be a column name (str); got {value!r}."
        raise TypeError(msg)
    return value


def _check_weights_column(schema: pl.Schema, weights: object) -> str | None:
    if weights is None:
        return None
    col = _column_name(weights, "weights")
    _validate.check_columns_exist(schema, [col], role="weights column")
    _validate.check_numeric(schema, [col], role="weights column")
    return col


def _check_disjoint(groups: dict[str, Sequence[str]]) -> None:
    """Raise ``ValueError`` if a column plays two roles (e.g. a bucket and a group key)."""
    seen: dict[str, str] = {}
    for role, cols in groups.items():
        for col in cols:
            if col in seen and seen[col] != role:
                msg = (
                    f"column {col!r} is given both as {seen[col]} and as {role}; each column "
                    f"can play one role only."
                )
                raise ValueError(msg)
            seen.setdefault(col, role)


def _check_output_names(inputs: Sequence[str], outputs: Sequence[str]) -> None:
    clash = [c for c in inputs if c in outputs]
    if clash:
        msg = (
            f"column(s) {clash} would clash with the output columns {list(outputs)}; rename "
            f"them first, e.g. frame.rename({{{clash[0]!r}: {clash[0] + '_'!r}}})."
        )
        raise ValueError(msg)


def _check_no_negative_weights(frame: FrameT, weights: str | None, *, check: bool) -> FrameT:
    """Raise :class:`WeightError` on negative weights (reads only the weights column).

    At call time on a DataFrame; on a LazyFrame the check goes into the returned plan.
    """
    return _validate.no_negative(
        frame,
        None if check else False,
        weights,
        rule=(
            "portfolio weights must be >= 0 (rows with a zero, null, NaN or infinite weight "
            f"are left out). Fix or filter them, e.g. pl.col({weights!r}).clip(lower_bound=0), "
            "or pass check_weights=False to leave negative weights out like zero weights."
        ),
    )


def _usable_weight(weights: str) -> pl.Expr:
    w = pl.col(weights).cast(pl.Float64)
    return (w.is_finite() & (w > 0)).fill_null(value=False)


def _present(column: str, dtype: pl.DataType) -> pl.Expr:
    """Tell whether a bucket label is present (not null, and not NaN for floats)."""
    out = pl.col(column).is_not_null()
    if dtype.is_float():
        out &= pl.col(column).is_not_nan()
    return out


def _n_buckets(n: object, breakpoints: Sequence[float] | None) -> tuple[int | None, int]:
    """``(n to pass to assign_buckets, number of buckets)``; breakpoints replace ``n``."""
    if breakpoints is not None:
        if isinstance(breakpoints, (str, bytes)) or not isinstance(breakpoints, Sequence):
            msg = f"`breakpoints` must be a sequence of fractions; got {breakpoints!r}."
            raise TypeError(msg)
        return None, len(breakpoints) + 1
    if isinstance(n, bool) or not isinstance(n, int):
        msg = f"`n` must be an integer number of buckets; got {n!r}."
        raise TypeError(msg)
    return n, n


def _leg_mean(r: pl.Expr, keep: pl.Expr, w: pl.Expr | None) -> pl.Expr:
    """Mean of ``r`` over the rows where ``keep`` holds, weighted by ``w`` if given."""
    if w is None:
        return pl.when(keep).then(r).mean()
    den = pl.when(keep).then(w).sum()
    return pl.when(den > 0).then(pl.when(keep).then(r * w).sum() / den)


def _finish(frame: FrameT, out: pl.LazyFrame, engine: EngineType) -> FrameT:
    return like_input(frame, out, engine=engine)


# ---------------------------------------------------------------------------------
# portfolio_returns


def portfolio_returns(
    frame: FrameT,
    buckets: ColumnNames,
    returns: str = "ret",
    *,
    weights: str | None = None,
    by: ColumnNames | None = None,
    date: str = "date",
    check_weights: bool = True,
    engine: EngineType = "auto",
) -> FrameT:
    r"""Compute the return of every bucket (or combination of buckets) per date.

    Parameters
    ----------
    frame
        Long panel, lazy or eager; each row is one holding of one portfolio.
    buckets
        Bucket column, or several for a multiple sort (e.g. ``["size_bucket",
        "bm_bucket"]`` gives the 2x3 portfolios of a double sort). Any dtype
        (integers from :func:`~polars_factors.portfolio.assign_buckets`, strings, ...)
        except nested ones; a null (or NaN) label leaves the row out.
    returns
        Return of each row over the holding period (numeric).
    weights
        ``None``: equal weights. A column name (e.g. ``"mcap"``): value weights,
        used as given. Lag it yourself so that a period's return is weighted by the
        value known at its start (e.g. with
        :func:`~polars_factors.portfolio.rebalance` or
        ``pl.col("mcap").shift(1).over("asset")``).
    by
        Group keys of a portfolio formation; default ``[date]``.
    date
        The date column: the default group key.
    check_weights
        Check that no weight is negative: at call time on a DataFrame (reads only the
        weights column), inside the plan on a LazyFrame (nothing is read now;
        ``collect`` raises :class:`~polars_factors.WeightError`). With ``False``,
        negative weights are left out like zero weights.
    engine
        Polars engine used to collect an eager panel.

    Returns
    -------
    DataFrame or LazyFrame
        The kind of ``frame``, one row per ``by`` group and bucket combination that
        has at least one usable row, sorted by ``by`` then the buckets:

        - the ``by`` and bucket columns;
        - ``return`` (Float64): :math:`\sum_i w_i r_i / \sum_i w_i` over the usable
          rows (the plain mean for equal weights);
        - ``n_assets`` (UInt32): the number of usable rows;
        - ``weight_sum`` (Float64): :math:`\sum_i w_i` (``n_assets`` for equal
          weights).

        A row is usable when its buckets, its return and (with ``weights``) its
        weight are present: null, NaN or infinite returns and weights, and zero
        weights, leave it out. A combination without usable rows has no output row.

    Raises
    ------
    ColumnNotFoundError
        A named column is missing.
    SchemaError
        ``returns`` or ``weights`` is not numeric, or a bucket column is nested.
    WeightError
        With ``check_weights``: a negative weight (``-inf`` included).
    ValueError
        No bucket column, a column named in two roles, or an input column named like
        an output column.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame(
    ...     {
    ...         "date": [1, 1, 1, 1, 2, 2, 2],
    ...         "q": [1, 1, 2, 2, 1, 2, None],
    ...         "ret": [0.01, 0.03, -0.02, 0.04, 0.02, 0.05, 0.10],
    ...         "mcap": [1.0, 3.0, 2.0, 2.0, 5.0, 1.0, 1.0],
    ...     }
    ... )
    >>> pf.portfolio.portfolio_returns(df, "q", weights="mcap")
    shape: (4, 5)
    ┌──────┬─────┬────────┬──────────┬────────────┐
    │ date ┆ q   ┆ return ┆ n_assets ┆ weight_sum │
    │ ---  ┆ --- ┆ ---    ┆ ---      ┆ ---        │
    │ i64  ┆ i64 ┆ f64    ┆ u32      ┆ f64        │
    ╞══════╪═════╪════════╪══════════╪════════════╡
    │ 1    ┆ 1   ┆ 0.025  ┆ 2        ┆ 4.0        │
    │ 1    ┆ 2   ┆ 0.01   ┆ 2        ┆ 4.0        │
    │ 2    ┆ 1   ┆ 0.02   ┆ 1        ┆ 5.0        │
    │ 2    ┆ 2   ┆ 0.05   ┆ 1        ┆ 1.0        │
    └──────┴─────┴────────┴──────────┴────────────┘
    """
    _check_frame(frame)
    cols: list[str] = _validate.as_list(buckets, name="buckets")
    if not cols:
        msg = "`buckets` must name at least one bucket column."
        raise ValueError(msg)
    _validate.check_column_names(date=date)
    keys: list[str] = _validate.resolve_by(by, date)
    ret = _column_name(returns, "returns")
    schema = frame.collect_schema()
    _validate.check_columns_exist(schema, keys, role="group key")
    _validate.check_columns_exist(schema, cols, role="bucket column")
    _validate.check_key_dtypes(schema, date=date, by=keys)
    _validate.check_columns_exist(schema, [ret], role="returns column")
    _validate.check_numeric(schema, [ret], role="returns column")
    w_col = _check_weights_column(schema, weights)
    for col in cols:
        if schema[col].is_nested() or schema[col] in (pl.Object, pl.Null):
            msg = (
                f"bucket column {col!r} must hold labels (integers, strings, ...), but its "
                f"dtype is {schema[col]}."
            )
            raise SchemaError(msg)
    _check_disjoint(
        {
            "group key (by)": keys,
            "bucket column": cols,
            "returns column": [ret],
            "weights column": [w_col] if w_col else [],
        }
    )
    _check_output_names([*keys, *cols], _PORTFOLIO_OUTPUTS)
    frame = _check_no_negative_weights(frame, w_col, check=check_weights)
    frame = check_units(frame, [ret], function="portfolio_returns")

    taken = set(schema.names())
    r_tmp, w_tmp = temp_name(taken, "r"), temp_name(taken, "w")
    r = clean(ret)
    usable = r.is_not_null()
    for col in cols:
        usable &= _present(col, schema[col])
    if w_col is not None:
        usable &= _usable_weight(w_col)
    rows = (
        frame.lazy()
        .filter(usable)
        .select(
            *keys,
            *cols,
            r.alias(r_tmp),
            *([pl.col(w_col).cast(pl.Float64).alias(w_tmp)] if w_col else []),
        )
    )
    if w_col is None:
        stats = [
            pl.col(r_tmp).mean().alias("return"),
            pl.len().cast(pl.UInt32).alias("n_assets"),
            pl.len().cast(pl.Float64).alias("weight_sum"),
        ]
    else:
        w = pl.col(w_tmp)
        stats = [
            ((pl.col(r_tmp) * w).sum() / w.sum()).alias("return"),
            pl.len().cast(pl.UInt32).alias("n_assets"),
            w.sum().alias("weight_sum"),
        ]
    out = rows.group_by(*keys, *cols).agg(stats).sort(*keys, *cols, nulls_last=True)
    _validate.warn_non_finite(frame, [ret], function="portfolio_returns")
    return _finish(frame, out, engine)


# ---------------------------------------------------------------------------------
# long_short


def long_short(
    frame: FrameT,
    signal: str,
    returns: str = "ret",
    *,
    n: int = 5,
    breakpoints: Sequence[float] | None = None,
    weights: str | None = None,
    method: LongShortMethod = "spread",
    by: ColumnNames | None = None,
    date: str = "date",
    check_weights: bool = True,
    engine: EngineType = "auto",
) -> FrameT:
    r"""Compute the return of a long-short portfolio on a signal per date.

    Parameters
    ----------
    frame
        Long panel, lazy or eager, one row per ``(date, asset)``, holding the signal
        known at the start of each row's period and the row's return over it.
    signal
        Sorting signal (numeric); high values are held long. Null, NaN and infinite
        values leave the row out.
    returns
        Return of each row over the holding period.
    n
        ``"spread"``: number of equal-count buckets (quintiles by default).
    breakpoints
        ``"spread"``: explicit percentile breakpoints such as ``[0.3, 0.7]`` instead
        of ``n`` (they replace it).
    weights
        ``None``: equal weights. A column name (e.g. lagged market cap): value
        weights; see Notes for ``"signal_weighted"``.
    method
        ``"spread"``: long the top bucket, short the bottom one (buckets from
        :func:`~polars_factors.portfolio.assign_buckets` per ``by`` group: linear
        quantile breakpoints, a value equal to a breakpoint goes to the lower bucket).
        ``"signal_weighted"``: weights proportional to the demeaned signal, scaled to
        a gross exposure of 1 (alphalens' ``factor_returns``).
    by, date, check_weights, engine
        As in :func:`portfolio_returns`: the group keys (default ``[date]``), the
        date column, the weights check and the engine.

    Returns
    -------
    DataFrame or LazyFrame
        The kind of ``frame``: the ``by`` columns and ``long``, ``short``,
        ``long_short`` (Float64), one row per ``by`` group of the frame, sorted. A
        leg without usable rows is null, and so is ``long_short`` then.

    Raises
    ------
    ColumnNotFoundError, SchemaError
        A named column is missing or not numeric.
    WeightError
        With ``check_weights``: a negative weight.
    ValueError
        An unknown ``method``, invalid ``n`` or ``breakpoints``, a column named in two
        roles or like an output column.

    Notes
    -----
    **spread**: ``long`` and ``short`` are the returns of the top and bottom bucket
    portfolios (as in :func:`portfolio_returns`; the breakpoints use every row with
    a signal, whether or not its return is present) and
    ``long_short = long - short``: one unit long, one unit short.

    **signal_weighted**: on each date, over the rows with a signal, a return and (if
    given) a positive weight :math:`m_i` (1 without ``weights``),

    .. math::

        d_i = m_i (s_i - \bar s), \quad \bar s = \frac{\sum_j m_j s_j}{\sum_j m_j},
        \qquad w_i = \frac{d_i}{\sum_j |d_j|},

    so that :math:`\sum_i w_i = 0` (dollar neutral) and :math:`\sum_i |w_i| = 1`
    (gross exposure 1); ``long_short`` :math:`= \sum_i w_i r_i`. Without weights
    this is alphalens' ``factor_returns(demeaned=True)``; with weights the demeaning
    and the scaling are value weighted (a cap-weighted signal tilt). The legs are
    the fully invested long and short books,

    .. math::

        \text{long} = \frac{\sum_{w_i > 0} w_i r_i}{\sum_{w_i > 0} w_i}, \qquad
        \text{short} = \frac{\sum_{w_i < 0} |w_i| r_i}{\sum_{w_i < 0} |w_i|},

    and since each leg holds half of the gross exposure,
    ``long_short = (long - short) / 2`` (not ``long - short`` as for ``"spread"``).
    A date whose signal is constant (all usable values equal) has no portfolio: all
    three are null (alphalens reports 0).

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame(
    ...     {
    ...         "date": [1] * 4,
    ...         "asset": list("abcd"),
    ...         "mom": [1.0, 2.0, 3.0, 6.0],
    ...         "ret": [-0.02, 0.01, 0.02, 0.04],
    ...     }
    ... )
    >>> pf.portfolio.long_short(df, "mom", n=2).select(pl.all().round(6)).rows()
    [(1, 0.03, -0.005, 0.035)]

    With signal weights (-1/3, -1/6, 0, 1/2), the long leg is asset d alone and the
    short leg holds a and b in proportion 2:1:

    >>> out = pf.portfolio.long_short(df, "mom", method="signal_weighted")
    >>> out.select(pl.all().round(6)).rows()
    [(1, 0.04, -0.01, 0.025)]
    """
    _check_frame(frame)
    _validate.check_choice("method", method, ("spread", "signal_weighted"))
    _validate.check_column_names(date=date)
    keys: list[str] = _validate.resolve_by(by, date)
    sig = _column_name(signal, "signal")
    ret = _column_name(returns, "returns")
    schema = frame.collect_schema()
    _validate.check_columns_exist(schema, keys, role="group key")
    _validate.check_key_dtypes(schema, date=date, by=keys)
    _validate.check_columns_exist(schema, [sig], role="signal column")
    _validate.check_columns_exist(schema, [ret], role="returns column")
    _validate.check_numeric(schema, [sig], role="signal column")
    _validate.check_numeric(schema, [ret], role="returns column")
    w_col = _check_weights_column(schema, weights)
    _check_disjoint({"group key (by)": keys, "signal column": [sig], "returns column": [ret]})
    _check_disjoint({"group key (by)": keys, "weights column": [w_col] if w_col else []})
    _check_output_names(keys, _LONG_SHORT_OUTPUTS)
    taken = set(schema.names())
    frame = _check_no_negative_weights(frame, w_col, check=check_weights)
    frame = check_units(frame, [ret], function="long_short")
    if method == "spread":
        n_arg, k = _n_buckets(n, breakpoints)
        bucket = temp_name(taken, "bucket")
        lf = assign_buckets(
            frame.lazy(), sig, n=n_arg, breakpoints=breakpoints, by=keys, name=bucket,
            date=keys[0], check_keys=False,
        )  # fmt: skip
        out = _spread(lf, keys, bucket=bucket, k=k, returns=ret, weights=w_col)
    else:
        if breakpoints is not None:
            msg = "`breakpoints` only applies to method='spread'; signal weights use no buckets."
            raise ValueError(msg)
        out = _signal_weighted(frame.lazy(), keys, taken, signal=sig, returns=ret, weights=w_col)
    _validate.warn_non_finite(frame, [sig, ret], function="long_short")
    return _finish(frame, out.sort(*keys, nulls_last=True), engine)


def _spread(
    lf: pl.LazyFrame, keys: list[str], *, bucket: str, k: int, returns: str, weights: str | None
) -> pl.LazyFrame:
    r = clean(returns)
    usable = r.is_not_null()
    if weights is not None:
        usable &= _usable_weight(weights)
    w = pl.col(weights).cast(pl.Float64) if weights is not None else None
    b = pl.col(bucket)
    return (
        lf.group_by(keys)
        .agg(
            _leg_mean(r, usable & (b == k), w).alias("long"),
            _leg_mean(r, usable & (b == 1), w).alias("short"),
        )
        .with_columns((pl.col("long") - pl.col("short")).alias("long_short"))
    )


def _signal_weighted(
    lf: pl.LazyFrame,
    keys: list[str],
    taken: set[str],
    *,
    signal: str,
    returns: str,
    weights: str | None,
) -> pl.LazyFrame:
    s_, r_, m_, shift_, mean_ = (temp_name(taken, h) for h in ("s", "r", "m", "shift", "mean"))
    s, r, m = pl.col(s_), pl.col(r_), pl.col(m_)
    usable = clean(signal).is_not_null() & clean(returns).is_not_null()
    if weights is not None:
        usable &= _usable_weight(weights)
        mass = pl.col(weights).cast(pl.Float64)
    else:
        mass = pl.lit(1.0)
    # Unusable rows keep their group (a date without a portfolio gives nulls) but get
    # zero mass, so they drop out of every sum below.
    rows = lf.select(
        *keys,
        pl.when(usable).then(clean(signal)).otherwise(0.0).alias(s_),
        pl.when(usable).then(clean(returns)).otherwise(0.0).alias(r_),
        pl.when(usable).then(mass).otherwise(0.0).alias(m_),
    )
    # The signal mean per date is a group_by joined back (streams; a window would not).
    # It is taken of the deviations from one of the group's values (its largest): a
    # constant signal then demeans to exact zeros (no portfolio), and one varying little
    # around a large level (1000.000001, 1000, ...) to weights that still net to zero
    # (the mean itself would be rounded to the level's precision, leaving a net
    # exposure of order n * ulp(level) / spread).
    shift = pl.when(m > 0).then(s).max()
    means = rows.group_by(keys).agg(
        shift.alias(shift_),
        pl.when(m.sum() > 0).then((m * (s - shift)).sum() / m.sum()).alias(mean_),
    )
    d = pl.col(m_)  # replaced by the weight numerators m_i (s_i - mean) below
    pos, neg = pl.when(d > 0).then(d), pl.when(d < 0).then(-d)
    gross = d.abs().sum()
    ok = gross > 0
    return (
        rows.join(means, on=keys, how="left", nulls_equal=True)
        .with_columns((m * ((s - pl.col(shift_)) - pl.col(mean_))).alias(m_))
        .group_by(keys)
        .agg(
            pl.when(ok).then((pos * r).sum() / pos.sum()).alias("long"),
            pl.when(ok).then((neg * r).sum() / neg.sum()).alias("short"),
            pl.when(ok).then((d * r).sum() / gross).alias("long_short"),
        )
    )
