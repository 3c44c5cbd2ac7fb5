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
from dataclasses import dataclass
from typing import Generic, Literal

import polars as pl

from polars_factors import _validate
from polars_factors._frame import temp_name
from polars_factors.exceptions import SchemaError, WeightError
from polars_factors.exprs._core import clean
from polars_factors.portfolio._buckets import assign_buckets
from polars_factors.typing import ColumnNames, EngineType, FrameT

__all__ = [
    "LongShortMethod",
    "QuantileReturns",
    "long_short",
    "portfolio_returns",
    "quantile_returns",
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


def _check_no_negative_weights(
    frame: pl.DataFrame | pl.LazyFrame, weights: str | None, engine: EngineType
) -> None:
    """Raise :class:`WeightError` on negative weights; reads only the weights column."""
    if weights is None:
        return
    negative = frame.lazy().select((pl.col(weights) < 0).sum()).collect(engine=engine).item()
    if negative:
        msg = (
            f"weights column {weights!r} has {negative} negative values; portfolio weights "
            f"must be >= 0 (rows with a zero, null, NaN or infinite weight are left out). "
            f"Fix or filter them, e.g. pl.col({weights!r}).clip(lower_bound=0), or pass "
            f"check_weights=False to leave negative weights out like zero weights."
        )
        raise WeightError(msg)


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
    return out.collect(engine=engine) if isinstance(frame, pl.DataFrame) else out


# ---------------------------------------------------------------------------------
# portfolio_returns


def portfolio_returns(
    frame: FrameT,
    buckets: ColumnNames,
    returns: str = "ret",
    *,
    weights: str | None = None,
    by: ColumnNames = "date",
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
        Group keys of a portfolio formation: the date column by default.
    check_weights
        Check at call time that no weight is negative (reads only the weights column;
        on a LazyFrame this runs a small query). With ``False``, negative weights are
        left out like zero weights.
    engine
        Polars engine used to collect an eager panel (and the weights check).

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
    keys: list[str] = _validate.resolve_by(by, "date")
    ret = _column_name(returns, "returns")
    schema = frame.collect_schema()
    _validate.check_columns_exist(schema, keys, role="group key")
    _validate.check_columns_exist(schema, cols, role="bucket column")
    _validate.check_columns_exist(schema, [ret], role="returns column")
    _validate.check_numeric(schema, [ret], role="returns column")
    w_col = _check_weights_column(schema, weights)
    for col in cols:
        if schema[col].is_nested():
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
    if check_weights:
        _check_no_negative_weights(frame, w_col, engine)

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
    by: ColumnNames = "date",
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
    by
        Group keys: the date column by default.
    check_weights, engine
        As in :func:`portfolio_returns`.

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
    keys: list[str] = _validate.resolve_by(by, "date")
    sig = _column_name(signal, "signal")
    ret = _column_name(returns, "returns")
    schema = frame.collect_schema()
    _validate.check_columns_exist(schema, keys, role="group key")
    _validate.check_columns_exist(schema, [sig], role="signal column")
    _validate.check_columns_exist(schema, [ret], role="returns column")
    _validate.check_numeric(schema, [sig], role="signal column")
    _validate.check_numeric(schema, [ret], role="returns column")
    w_col = _check_weights_column(schema, weights)
    _check_disjoint({"group key (by)": keys, "signal column": [sig], "returns column": [ret]})
    _check_disjoint({"group key (by)": keys, "weights column": [w_col] if w_col else []})
    _check_output_names(keys, _LONG_SHORT_OUTPUTS)
    taken = set(schema.names())
    if method == "spread":
        n_arg, k = _n_buckets(n, breakpoints)
        bucket = temp_name(taken, "bucket")
        lf = assign_buckets(
            frame.lazy(), sig, n=n_arg, breakpoints=breakpoints, by=keys, name=bucket,
            date=keys[0], check_keys=False,
        )  # fmt: skip
        if check_weights:
            _check_no_negative_weights(frame, w_col, engine)
        out = _spread(lf, keys, bucket=bucket, k=k, returns=ret, weights=w_col)
    else:
        if breakpoints is not None:
            msg = "`breakpoints` only applies to method='spread'; signal weights use no buckets."
            raise ValueError(msg)
        if check_weights:
            _check_no_negative_weights(frame, w_col, engine)
        out = _signal_weighted(frame.lazy(), keys, taken, signal=sig, returns=ret, weights=w_col)
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


# ---------------------------------------------------------------------------------
# quantile_returns


@dataclass(frozen=True)
class QuantileReturns(Generic[FrameT]):
    """Mean forward returns per signal quantile of :func:`quantile_returns`.

    The two frames are LazyFrames when the panel was lazy (collect them together with
    :meth:`collect`) and DataFrames when it was eager.

    Attributes
    ----------
    by_date
        The ``by`` keys, ``forward_returns`` (String: the forward-return column's
        name), ``quantile`` (Int32, 1 = lowest signal), ``mean_return`` (Float64) and
        ``n_assets`` (UInt32: the rows averaged): one row per ``by`` group,
        forward-return column and quantile with at least one usable row, sorted by
        the keys, the forward-return columns in the order given, and quantile.
    spread
        The ``by`` keys, ``forward_returns``, ``top`` and ``bottom`` (the mean returns
        of quantiles ``n`` and 1) and ``spread = top - bottom``: one row per ``by``
        group and forward-return column, null where either quantile is empty.
    n
        The number of quantiles.
    by
        The group keys; the first one is the period averaged over by the summaries.
    forward_returns
        The forward-return columns, in the order given.
    engine
        The engine the summaries and :meth:`collect` collect lazy frames with.
    """

    by_date: FrameT
    spread: FrameT
    n: int
    by: list[str]
    forward_returns: list[str]
    engine: EngineType = "auto"

    def collect(self, *, engine: EngineType | None = None) -> QuantileReturns[pl.DataFrame]:
        """Collect both frames in one ``pl.collect_all`` (an eager result is returned as is).

        Examples
        --------
        >>> import polars as pl
        >>> import polars_factors as pf
        >>> lf = pl.LazyFrame({"date": [1, 1], "s": [1.0, 2.0], "fwd": [0.01, 0.03]})
        >>> res = pf.portfolio.quantile_returns(lf, "s", "fwd", n=2).collect()
        >>> res.spread["spread"].round(6).to_list()
        [0.02]
        """
        if isinstance(self.by_date, pl.DataFrame) and isinstance(self.spread, pl.DataFrame):
            return self
        by_date, spread = pl.collect_all(
            [self.by_date.lazy(), self.spread.lazy()], engine=engine or self.engine
        )
        return QuantileReturns(
            by_date, spread, self.n, list(self.by), list(self.forward_returns), self.engine
        )

    def summary(self) -> pl.DataFrame:
        r"""Average the per-date quantile returns over the periods.

        Returns
        -------
        DataFrame
            The ``by`` keys after the first (e.g. ``sector`` for ``by=["date",
            "sector"]``), ``forward_returns``, ``quantile``, and

            - ``mean_return``: the mean over periods of the per-period mean returns
              (alphalens' ``mean_return_by_quantile(by_date=False)``; not the mean
              over all observations);
            - ``std_error``: their sample std (``ddof=1``) over
              :math:`\sqrt{n_{periods}}`, as alphalens;
            - ``t_stat``: ``mean_return / std_error`` (null where the std is 0);
            - ``n_periods`` (UInt32): the periods with a return.

            Sorted by the extra keys, the forward-return columns in the order given,
            and quantile. ``std_error`` and ``t_stat`` are null with one period.

        Examples
        --------
        >>> import polars as pl
        >>> import polars_factors as pf
        >>> df = pl.DataFrame({"date": [1, 1, 2, 2], "s": [1.0, 2.0, 1.0, 2.0],
        ...                    "fwd": [0.01, 0.03, 0.03, 0.01]})
        >>> res = pf.portfolio.quantile_returns(df, "s", "fwd", n=2)
        >>> res.summary().select("quantile", "mean_return", "n_periods").rows()
        [(1, 0.02, 2), (2, 0.02, 2)]
        """
        return _over_periods(
            self.by_date, "mean_return", [*self.by[1:], "forward_returns", "quantile"], self
        )

    def spread_summary(self) -> pl.DataFrame:
        """Average the per-date top-minus-bottom spread over the periods.

        Returns
        -------
        DataFrame
            The ``by`` keys after the first, ``forward_returns``, ``mean_spread``,
            ``std_error``, ``t_stat`` and ``n_periods`` (the periods where both extreme
            quantiles have a return), as in :meth:`summary`.

        Examples
        --------
        >>> import polars as pl
        >>> import polars_factors as pf
        >>> df = pl.DataFrame({"date": [1, 1, 2, 2], "s": [1.0, 2.0, 1.0, 2.0],
        ...                    "fwd": [0.01, 0.03, 0.00, 0.04]})
        >>> res = pf.portfolio.quantile_returns(df, "s", "fwd", n=2)
        >>> res.spread_summary().select(pl.exclude("forward_returns").round(4)).rows()
        [(0.03, 0.01, 3.0, 2)]
        """
        return _over_periods(self.spread, "spread", [*self.by[1:], "forward_returns"], self).rename(
            {"mean_return": "mean_spread"}
        )


def _over_periods(
    frame: pl.DataFrame | pl.LazyFrame,
    value: str,
    group: list[str],
    res: QuantileReturns[pl.DataFrame] | QuantileReturns[pl.LazyFrame],
) -> pl.DataFrame:
    x = pl.col(value).filter(pl.col(value).is_not_null() & pl.col(res.by[0]).is_not_null())
    count = x.count()
    std_error = x.std(ddof=1) / count.cast(pl.Float64).sqrt()
    order = _column_order(res.forward_returns)
    extra = group[:-2] if group[-1] == "quantile" else group[:-1]
    out = (
        frame.lazy()
        .group_by(group)
        .agg(
            x.mean().alias("mean_return"),
            std_error.alias("std_error"),
            pl.when(std_error > 0).then(x.mean() / std_error).alias("t_stat"),
            count.cast(pl.UInt32).alias("n_periods"),
        )
        .sort(*extra, order, *group[len(extra) + 1 :], nulls_last=True)
    )
    return out.collect(engine=res.engine)


def _column_order(columns: Sequence[str]) -> pl.Expr:
    """Sort key putting the ``forward_returns`` labels in the order they were given."""
    return pl.col("forward_returns").replace_strict(
        list(columns), list(range(len(columns))), return_dtype=pl.UInt32
    )


def quantile_returns(
    frame: FrameT,
    signal: str,
    forward_returns: ColumnNames,
    *,
    n: int = 5,
    weights: str | None = None,
    by: ColumnNames = "date",
    check_weights: bool = True,
    engine: EngineType = "auto",
) -> QuantileReturns[FrameT]:
    r"""Compute mean forward returns per signal quantile and date, and the top-bottom spread.

    Parameters
    ----------
    frame
        Long panel, lazy or eager, one row per ``(date, asset)``, with the signal and
        the forward returns that start after the signal's date (e.g. from
        :func:`polars_factors.exprs.forward_returns`). A LazyFrame gives lazy frames.
    signal
        Signal column (numeric). Its quantiles are set per ``by`` group from every
        row with a signal (null, NaN and infinite values get no quantile), with the
        rules of :func:`~polars_factors.portfolio.assign_buckets`: linear quantile
        breakpoints at :math:`1/n, \dots, (n-1)/n`, a value equal to a breakpoint in
        the lower quantile (``pd.qcut``'s right-closed bins).
    forward_returns
        One forward-return column or several (e.g. ``["fwd_ret_1", "fwd_ret_5"]``);
        each is averaged over its own usable rows (null, NaN and infinite returns are
        left out).
    n
        Number of quantiles.
    weights
        ``None``: equal-weighted means. A column name (e.g. market cap): value-weighted
        means within each quantile (rows with a null, NaN, infinite or zero weight are
        left out).
    by
        Group keys: the date column by default. With more keys (e.g. ``["date",
        "sector"]``) quantiles are set within each group and the summaries average
        per value of the extra keys.
    check_weights
        As in :func:`portfolio_returns`.
    engine
        Polars engine used to collect an eager panel, and by the summaries.

    Returns
    -------
    QuantileReturns
        Per-date quantile returns (``by_date``), the per-date top-minus-bottom
        ``spread``, and averages over dates from :meth:`QuantileReturns.summary` and
        :meth:`QuantileReturns.spread_summary`.

    Raises
    ------
    ColumnNotFoundError, SchemaError
        A named column is missing or not numeric.
    WeightError
        With ``check_weights``: a negative weight.
    ValueError
        Invalid ``n``, a column named in two roles, or a ``by`` key named like an
        output column.

    Notes
    -----
    With equal weights and no missing values, ``by_date`` and
    :meth:`~QuantileReturns.summary` (``mean_return`` and ``std_error``) reproduce
    alphalens-reloaded's ``mean_return_by_quantile(factor_data, by_date=True / False,
    demeaned=False)`` with ``factor_data = get_clean_factor_and_forward_returns(factor,
    prices, quantiles=n)``: both set per-date quantiles with linear breakpoints and
    right-closed bins (``pd.qcut``), take the per-date mean of each quantile, and
    average those over dates. They differ where alphalens would:

    - drop every row whose forward return for *any* horizon is missing before it
      sets the quantiles; here the quantiles come from all rows with a signal, and
      each horizon uses its own non-missing returns;
    - raise on ties that make two breakpoints equal (``pd.qcut``'s "Bin edges must
      be unique"); here tied rows share the lower quantile and a quantile may be
      empty on that date;
    - demean the returns by default (``demeaned=True``);
    - weight equally; here ``weights`` value-weights the means.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame(
    ...     {
    ...         "date": [1, 1, 1, 1, 2, 2, 2, 2],
    ...         "s": [1.0, 2.0, 3.0, 4.0, 4.0, 3.0, 2.0, 1.0],
    ...         "fwd_1": [0.01, 0.02, 0.03, 0.04, 0.02, 0.01, 0.0, -0.01],
    ...     }
    ... )
    >>> res = pf.portfolio.quantile_returns(df, "s", "fwd_1", n=2)
    >>> res.by_date.select("date", "quantile", pl.col("mean_return").round(6)).rows()
    [(1, 1, 0.015), (1, 2, 0.035), (2, 1, -0.005), (2, 2, 0.015)]
    >>> res.spread["spread"].round(6).to_list()
    [0.02, 0.02]
    """
    _check_frame(frame)
    keys: list[str] = _validate.resolve_by(by, "date")
    sig = _column_name(signal, "signal")
    cols: list[str] = _validate.as_list(forward_returns, name="forward_returns")
    if not cols:
        msg = "`forward_returns` must name at least one column."
        raise ValueError(msg)
    n_arg, _ = _n_buckets(n, None)
    schema = frame.collect_schema()
    _validate.check_columns_exist(schema, keys, role="group key")
    _validate.check_columns_exist(schema, [sig], role="signal column")
    _validate.check_columns_exist(schema, cols, role="forward-return column")
    _validate.check_numeric(schema, [sig], role="signal column")
    _validate.check_numeric(schema, cols, role="forward-return column")
    w_col = _check_weights_column(schema, weights)
    _check_disjoint({"group key (by)": keys, "signal column": [sig], "forward-return column": cols})
    _check_disjoint({"group key (by)": keys, "weights column": [w_col] if w_col else []})
    _check_output_names(keys, _QUANTILE_OUTPUTS)

    q_ = temp_name(set(schema.names()), "quantile")
    lf = assign_buckets(
        frame.lazy(), sig, n=n_arg, by=keys, name=q_, date=keys[0], check_keys=False
    )
    if check_weights:
        _check_no_negative_weights(frame, w_col, engine)
    w = pl.col(w_col).cast(pl.Float64) if w_col is not None else None
    w_ok = _usable_weight(w_col) if w_col is not None else pl.lit(value=True)
    means = (
        lf.filter(pl.col(q_).is_not_null())
        .group_by(*keys, q_)
        .agg(
            pl.struct(
                _leg_mean(clean(c), clean(c).is_not_null() & w_ok, w).alias("mean_return"),
                (clean(c).is_not_null() & w_ok).sum().cast(pl.UInt32).alias("n_assets"),
            ).alias(c)
            for c in cols
        )
        .unpivot(on=cols, index=[*keys, q_], variable_name="forward_returns", value_name=q_ + "v")
        .unnest(q_ + "v")
        .filter(pl.col("n_assets") > 0)
        .select(
            *keys,
            "forward_returns",
            pl.col(q_).cast(pl.Int32).alias("quantile"),
            "mean_return",
            "n_assets",
        )
    )
    order = _column_order(cols)
    by_date = means.sort(*keys, order, "quantile", nulls_last=True)
    top = pl.col("mean_return").filter(pl.col("quantile") == n).first()
    bottom = pl.col("mean_return").filter(pl.col("quantile") == 1).first()
    spread = (
        means.group_by(*keys, "forward_returns")
        .agg(top.alias("top"), bottom.alias("bottom"))
        .with_columns((pl.col("top") - pl.col("bottom")).alias("spread"))
        .sort(*keys, order, nulls_last=True)
    )
    res = QuantileReturns(by_date, spread, n, keys, cols, engine)
    return res.collect() if isinstance(frame, pl.DataFrame) else res
