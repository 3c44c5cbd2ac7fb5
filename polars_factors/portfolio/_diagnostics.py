r"""Factor diagnostics: information coefficients and bucket turnover.

:func:`information_coefficient` correlates a signal with forward returns within each
date (rank or Pearson correlation) and summarizes the time series of those
correlations; :func:`turnover` measures how much of each bucket is replaced from one
date to the next. Both are lazy Polars plans of window ranks, ``group_by`` sums and
joins, which the streaming engine runs; results keyed by date are sorted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Literal

import polars as pl

from polars_factors import _frame, _validate
from polars_factors._frame import temp_name
from polars_factors._units import check_units
from polars_factors.exprs._core import clean
from polars_factors.exprs._price import check_int
from polars_factors.regression.fama_macbeth import fama_macbeth
from polars_factors.typing import ColumnNames, EngineType, FrameT

__all__ = ["ICMethod", "ICResult", "information_coefficient", "turnover"]

#: Correlation of :func:`information_coefficient`: rank (Spearman) or linear (Pearson).
ICMethod = Literal["spearman", "pearson"]

_IC_OUTPUTS = ("forward_returns", "ic", "n_assets")
_DERIVED = ("_mean", "_scale", "_n", "_sa", "_sb", "_saa", "_sbb", "_sab", "_const")
_TURNOVER_OUTPUTS = ("turnover", "n_assets", "n_entered")
_SUMMARY_STATS = (
    "mean", "std", "ir", "t_stat", "nw_t_stat", "share_positive", "n_periods", "nw_lags",
)  # fmt: skip


@dataclass(frozen=True)
class ICResult(Generic[FrameT]):
    """Per-date information coefficients of :func:`information_coefficient`.

    Attributes
    ----------
    ic
        One row per ``by`` group and forward-return column: the ``by`` keys,
        ``forward_returns`` (String: the column's name), ``ic`` (Float64) and
        ``n_assets`` (UInt32: the rows where the signal and that forward return are
        both present), sorted by the ``by`` keys and then in the order the
        forward-return columns were given. A LazyFrame when the panel was lazy.
    method
        ``"spearman"`` or ``"pearson"``.
    by
        The group keys; the first one orders the periods in :meth:`summary`.
    forward_returns
        The forward-return columns, in the order given.
    engine
        The engine :meth:`summary` and :meth:`collect` collect a lazy ``ic`` with.
    """

    ic: FrameT
    method: ICMethod
    by: list[str]
    forward_returns: list[str]
    engine: EngineType = "auto"

    def collect(self, *, engine: EngineType | None = None) -> ICResult[pl.DataFrame]:
        """Collect ``ic`` (an eager result is returned as it is).

        Examples
        --------
        >>> import polars as pl
        >>> import polars_factors as pf
        >>> lf = pl.LazyFrame({"date": [1, 1, 1], "x": [1.0, 2.0, 3.0],
        ...                    "fwd": [0.01, 0.03, 0.02]})
        >>> res = pf.portfolio.information_coefficient(lf, "x", "fwd").collect()
        >>> res.ic["ic"].to_list()
        [0.5]
        """
        if isinstance(self.ic, pl.DataFrame):
            return self
        ic = self.ic.collect(engine=engine or self.engine)
        return ICResult(ic, self.method, list(self.by), list(self.forward_returns), self.engine)

    def summary(self, *, nw_lags: int | None = None) -> pl.DataFrame:
        r"""Summarize the IC time series of each forward-return column.

        Parameters
        ----------
        nw_lags
            Bartlett bandwidth of the Newey-West t-statistic; ``None`` picks
            :math:`\lfloor 4 (T/100)^{2/9} \rfloor` (see
            :func:`~polars_factors.fama_macbeth`). Overlapping forward returns (a
            21-day return evaluated every day) make consecutive ICs correlated, so
            ``nw_t_stat`` with ``nw_lags`` at least the horizon minus one is the
            honest test there.

        Returns
        -------
        DataFrame
            One row per forward-return column (and per value of the ``by`` keys
            after the first, e.g. per sector for ``by=["date", "sector"]``), in the
            order given, with

            - ``mean``: the mean IC over the periods with an IC;
            - ``std``: its standard deviation (``ddof=1``);
            - ``ir``: the information ratio ``mean / std`` (alphalens'
              "risk-adjusted IC");
            - ``t_stat``: ``mean / (std / sqrt(n_periods))``;
            - ``nw_t_stat``: the t-statistic with a Newey-West standard error;
            - ``share_positive``: the share of periods with a positive IC;
            - ``n_periods`` (UInt32): the number of periods with an IC;
            - ``nw_lags`` (Int64): the bandwidth used.

            Periods with a null IC (or a null first ``by`` key) are left out.
            ``std``, ``ir`` and the t-statistics are null with fewer than two
            periods; ``ir`` and the t-statistics also for a constant IC series.

        Examples
        --------
        >>> import polars as pl
        >>> import polars_factors as pf
        >>> df = pl.DataFrame(
        ...     {"date": [1] * 3 + [2] * 3 + [3] * 3,
        ...      "x": [1.0, 2.0, 3.0] * 3,
        ...      "fwd": [0.01, 0.02, 0.03, 0.02, 0.01, 0.03, 0.03, 0.02, 0.01]}
        ... )
        >>> res = pf.portfolio.information_coefficient(df, "x", "fwd")
        >>> res.ic["ic"].to_list()
        [1.0, 0.5, -1.0]
        >>> res.summary(nw_lags=0).select("mean", "std", "ir", "share_positive").with_columns(
        ...     pl.col(pl.Float64).round(4)
        ... )
        shape: (1, 4)
        ┌────────┬────────┬────────┬────────────────┐
        │ mean   ┆ std    ┆ ir     ┆ share_positive │
        │ ---    ┆ ---    ┆ ---    ┆ ---            │
        │ f64    ┆ f64    ┆ f64    ┆ f64            │
        ╞════════╪════════╪════════╪════════════════╡
        │ 0.1667 ┆ 1.0408 ┆ 0.1601 ┆ 0.6667         │
        └────────┴────────┴────────┴────────────────┘
        """
        ic = self.ic if isinstance(self.ic, pl.DataFrame) else self.ic.collect(engine=self.engine)
        return _summary(ic, by=self.by, forward_returns=self.forward_returns, nw_lags=nw_lags)


def information_coefficient(
    frame: FrameT,
    signal: str,
    forward_returns: ColumnNames,
    *,
    method: ICMethod = "spearman",
    by: ColumnNames | None = None,
    date: str = "date",
    min_assets: int = 3,
    engine: EngineType = "auto",
) -> ICResult[FrameT]:
    r"""Correlate a signal with forward returns within each date (information coefficient).

    Parameters
    ----------
    frame
        Panel, lazy or eager, one row per ``(date, asset)`` with the signal and the
        forward returns known at that date (e.g. from
        :func:`polars_factors.exprs.forward_returns`). A LazyFrame gives a lazy
        ``ic`` frame.
    signal
        Numeric signal column (the factor exposure).
    forward_returns
        One numeric forward-return column or several, e.g.
        ``["fwd_ret_1", "fwd_ret_5", "fwd_ret_21"]``; each gets its own IC.
    method
        ``"spearman"``: the rank IC, the Pearson correlation of the average ranks
        (ties share their mean rank), as ``scipy.stats.spearmanr``; ``"pearson"``:
        the linear correlation of the values, as ``scipy.stats.pearsonr``.
    by
        Group key(s); default ``[date]``. E.g. ``["date", "sector"]`` gives one IC
        per date and sector. The first key is the period of :meth:`ICResult.summary`.
        Rows with a null key form a group of their own.
    date
        The date column: the default group key.
    min_assets
        Fewest complete rows (signal and forward return both present) a group needs
        for an IC, an int >= 3 (with two rows a correlation is always +-1).
    engine
        Polars engine used to collect an eager panel (and, later, by
        :meth:`ICResult.summary`).

    Returns
    -------
    ICResult
        ``ic``: ``<by keys>, forward_returns, ic, n_assets``, one row per group (every
        group in the frame, also those without a usable row) and forward-return
        column; and :meth:`~ICResult.summary` for mean, std, information ratio,
        t-statistics and share of positive ICs.

        The IC is null where the group has fewer than ``min_assets`` complete rows,
        or where the signal or the forward return is constant over them (scipy
        gives NaN and a ``ConstantInputWarning`` there).

    Raises
    ------
    ColumnNotFoundError
        A named column is not in the frame.
    SchemaError
        The signal or a forward-return column is not numeric.
    ValueError
        Unknown ``method``, a bad ``min_assets``, the signal listed among the forward
        returns, a column used both as a key and as a value, or a ``by`` key named
        like an output column (``forward_returns``, ``ic``, ``n_assets``).

    Notes
    -----
    For one group and forward-return column, let :math:`i = 1..n` be the rows where
    both the signal :math:`s_i` and the forward return :math:`r_i` are finite (null,
    NaN and +-inf are missing). With :math:`x_i, y_i` the values (``"pearson"``) or
    their average ranks among those :math:`n` rows (``"spearman"``),

    .. math::

        \mathrm{IC} = \frac{\sum_i (x_i - \bar x)(y_i - \bar y)}
                           {\sqrt{\sum_i (x_i - \bar x)^2 \sum_i (y_i - \bar y)^2}}.

    The sums are a ``group_by`` over centred values, so the plan streams. Ranks come
    from a rank window per group and are centred by :math:`(n + 1)/2` (multiples of
    1/2: the sums are exact). Values are centred by their group mean and divided by
    their largest absolute value (from a ``group_by`` joined back, which keeps the
    squares clear of under- and overflow), and the corrected two-pass formula
    :math:`\sum ab - \sum a \sum b / n` removes the round-off of the mean. The
    tests match scipy to :math:`10^{-12}` (:math:`10^{-9}` for values a million
    times their spread away from zero).

    The rank window holds each group in memory; the Pearson plan is a streaming
    ``group_by`` and join throughout.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame(
    ...     {"date": [1] * 4 + [2] * 4,
    ...      "asset": list("abcd") * 2,
    ...      "value": [0.2, 0.5, 0.1, 0.9, 0.3, 0.6, None, 0.4],
    ...      "fwd_ret_1": [0.01, 0.02, -0.01, 0.03, 0.00, -0.01, 0.02, 0.01],
    ...      "fwd_ret_5": [0.02, 0.01, 0.01, 0.05, 0.01, 0.02, 0.01, 0.00]}
    ... )
    >>> res = pf.portfolio.information_coefficient(df, "value", ["fwd_ret_1", "fwd_ret_5"])
    >>> res.ic.with_columns(pl.col("ic").round(4))
    shape: (4, 4)
    ┌──────┬─────────────────┬────────┬──────────┐
    │ date ┆ forward_returns ┆ ic     ┆ n_assets │
    │ ---  ┆ ---             ┆ ---    ┆ ---      │
    │ i64  ┆ str             ┆ f64    ┆ u32      │
    ╞══════╪═════════════════╪════════╪══════════╡
    │ 1    ┆ fwd_ret_1       ┆ 1.0    ┆ 4        │
    │ 1    ┆ fwd_ret_5       ┆ 0.6325 ┆ 4        │
    │ 2    ┆ fwd_ret_1       ┆ -0.5   ┆ 3        │
    │ 2    ┆ fwd_ret_5       ┆ 0.5    ┆ 3        │
    └──────┴─────────────────┴────────┴──────────┘
    """
    if not isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
        msg = f"expected a polars DataFrame or LazyFrame; got {type(frame).__name__}."
        raise TypeError(msg)
    _validate.check_choice("method", method, ("spearman", "pearson"))
    check_int("min_assets", min_assets, minimum=3)
    if not isinstance(signal, str):
        msg = f"`signal` must be a column name; got {signal!r}."
        raise TypeError(msg)
    horizons: list[str] = _validate.as_list(forward_returns, name="forward_returns")
    if not horizons:
        msg = "`forward_returns` must name at least one column."
        raise ValueError(msg)
    _validate.check_column_names(date=date)
    keys = _validate.resolve_by(by, date)
    schema = frame.collect_schema()
    _validate.check_columns_exist(schema, [signal], role="signal column")
    _validate.check_numeric(schema, [signal], role="signal column")
    _validate.check_columns_exist(schema, horizons, role="forward-return column")
    _validate.check_numeric(schema, horizons, role="forward-return column")
    _validate.check_columns_exist(schema, keys, role="group key")
    _validate.check_key_dtypes(schema, date=date, by=keys)
    if signal in horizons:
        msg = f"the signal {signal!r} is also listed among the forward returns {horizons}."
        raise ValueError(msg)
    _check_keys_apart(keys, [signal, *horizons], _IC_OUTPUTS)
    _validate.warn_non_finite(frame, [signal, *horizons], function="information_coefficient")
    frame = check_units(frame, horizons, function="information_coefficient")

    ic = _ic_plan(frame.lazy(), signal, horizons, keys=keys, method=method, min_assets=min_assets)
    lost = {"ic": (pl.col("n_assets") > 0) & pl.col("ic").is_null()}
    why = (
        f"dates with fewer than min_assets={min_assets} assets with both values, or a "
        "constant signal or forward return (no rank correlation)"
    )
    out = _frame.report_lost(frame, ic, lost, reason=why, what="dates", engine=engine)
    return ICResult(out, method, keys, horizons, engine)


def _check_keys_apart(keys: list[str], values: list[str], outputs: tuple[str, ...]) -> None:
    both = [k for k in keys if k in values]
    if both:
        msg = f"column(s) {both} are used both as group keys and as values; pass them once."
        raise ValueError(msg)
    clash = [k for k in keys if k in outputs]
    if clash:
        msg = (
            f"group key(s) {clash} have the name of an output column ({', '.join(outputs)}); "
            f"rename them first, e.g. frame.rename({{{clash[0]!r}: 'period'}})."
        )
        raise ValueError(msg)


def _ic_plan(
    lf: pl.LazyFrame,
    signal: str,
    horizons: list[str],
    *,
    keys: list[str],
    method: ICMethod,
    min_assets: int,
) -> pl.LazyFrame:
    taken = set(lf.collect_schema().names())
    # Derived columns are named <temporary name><suffix>: keep the stems of user columns
    # with such a suffix out of the temporary names.
    taken |= {c.removesuffix(s) for c in taken for s in _DERIVED if c.endswith(s)}
    xs = [temp_name(taken, f"x{i}") for i in range(len(horizons))]
    ys = [temp_name(taken, f"y{i}") for i in range(len(horizons))]
    order = temp_name(taken, "order")
    x = clean(signal)
    masked = []
    for h, xi, yi in zip(horizons, xs, ys, strict=True):
        y = clean(h)
        both = x.is_not_null() & y.is_not_null()
        masked += [pl.when(both).then(x).alias(xi), pl.when(both).then(y).alias(yi)]
    lf = lf.select(*keys, *masked)
    if method == "spearman":
        # Ranks minus their mean (n + 1) / 2: multiples of 1/2, so the sums are exact.
        ranks = [pl.col(c).rank("average") - (pl.col(c).count() + 1) / 2 for c in (*xs, *ys)]
        centred = lf.with_columns(r.over(keys) for r in ranks)
    else:
        # Centred by the group mean and scaled by the largest absolute value, so that
        # the squares neither underflow nor overflow (the correlation is unchanged).
        means = lf.group_by(keys).agg(
            *(pl.col(c).mean().name.suffix("_mean") for c in (*xs, *ys)),
            *(pl.col(c).abs().max().name.suffix("_scale") for c in (*xs, *ys)),
        )
        centred = lf.join(means, on=keys, how="inner", nulls_equal=True).select(
            *keys, *((pl.col(c) - pl.col(f"{c}_mean")) / _scale(f"{c}_scale") for c in (*xs, *ys))
        )
    # Sums are named after the (temporary, hence unused) signal column of their pair.
    sums = centred.group_by(keys).agg(
        agg for xi, yi in zip(xs, ys, strict=True) for agg in _corr_sums(xi, yi)
    )
    parts = [
        sums.select(
            *keys,
            pl.lit(h, dtype=pl.String).alias("forward_returns"),
            _corr(xi, min_assets).alias("ic"),
            pl.col(f"{xi}_n").cast(pl.UInt32).alias("n_assets"),
            pl.lit(i, dtype=pl.Int32).alias(order),
        )
        for i, (h, xi) in enumerate(zip(horizons, xs, strict=True))
    ]
    return pl.concat(parts).sort([*keys, order], nulls_last=True).drop(order)


def _scale(name: str) -> pl.Expr:
    scale = pl.col(name)
    return pl.when(scale > 0).then(scale).otherwise(1.0)


def _corr_sums(x: str, y: str) -> list[pl.Expr]:
    """Group sums for the correlation of centred ``x`` and ``y`` (null where unpaired)."""
    a, b = pl.col(x), pl.col(y)
    return [
        a.count().alias(f"{x}_n"),
        a.sum().alias(f"{x}_sa"),
        b.sum().alias(f"{x}_sb"),
        (a * a).sum().alias(f"{x}_saa"),
        (b * b).sum().alias(f"{x}_sbb"),
        (a * b).sum().alias(f"{x}_sab"),
        # An exactly constant input stays constant after centring (same operation on
        # the same value); its centred sum of squares need not be exactly zero.
        ((a.min() == a.max()) | (b.min() == b.max())).alias(f"{x}_const"),
    ]


def _corr(x: str, min_assets: int) -> pl.Expr:
    n = pl.col(f"{x}_n").cast(pl.Float64)
    sa, sb = pl.col(f"{x}_sa"), pl.col(f"{x}_sb")
    # Corrected two-pass: subtracting (sum a)(sum b)/n removes the round-off of the mean.
    sxx = pl.col(f"{x}_saa") - sa * sa / n
    syy = pl.col(f"{x}_sbb") - sb * sb / n
    sxy = pl.col(f"{x}_sab") - sa * sb / n
    usable = (n >= min_assets) & ~pl.col(f"{x}_const") & (sxx > 0) & (syy > 0)
    return pl.when(usable).then((sxy / (sxx * syy).sqrt()).clip(-1.0, 1.0))


def _summary(
    ic: pl.DataFrame, *, by: list[str], forward_returns: list[str], nw_lags: int | None
) -> pl.DataFrame:
    period, groups = by[0], [*by[1:], "forward_returns"]
    taken = set(ic.columns)
    key, order = temp_name(taken, "key"), temp_name(taken, "order")
    # One series per (extra keys, forward-return column), numbered in output order.
    series = (
        ic.select(groups)
        .unique(maintain_order=True)
        .with_columns(
            pl.col("forward_returns")
            .replace_strict(forward_returns, list(range(len(forward_returns))))
            .alias(order)
        )
        .sort([*by[1:], order], nulls_last=True, maintain_order=True)
        .drop(order)
        .with_row_index(key)
    )
    periods = ic.filter(pl.col(period).is_not_null() & pl.col("ic").is_not_null()).join(
        series, on=groups, how="inner", nulls_equal=True
    )
    stats = _series_stats(periods, period=period, key=key, nw_lags=nw_lags)
    return (
        series.join(stats, on=key, how="left", maintain_order="left")
        .with_columns(pl.col("n_periods").fill_null(0))
        .select(*groups, *_SUMMARY_STATS)
    )


def _series_stats(
    periods: pl.DataFrame, *, period: str, key: str, nw_lags: int | None
) -> pl.DataFrame:
    """Statistics of each IC series ``key`` (one row per series with a period)."""
    schema = {
        key: pl.UInt32,
        **dict.fromkeys(("mean", "std", "ir", "t_stat", "nw_t_stat"), pl.Float64),
        "n_periods": pl.UInt32,
        "nw_lags": pl.Int64,
        "share_positive": pl.Float64,
    }
    if periods.height == 0:
        return pl.DataFrame(schema=schema)
    # The Fama-MacBeth table is exactly the mean test of a time series, with its
    # Newey-West variant; the series number serves as the factor code.
    fm = fama_macbeth(
        periods.select(period, pl.col(key).cast(pl.Int64), "ic"),
        nw_lags=nw_lags,
        date=period,
        factor=key,
        value="ic",
    )
    positive = periods.group_by(key).agg((pl.col("ic") > 0).mean().alias("share_positive"))
    return (
        fm.select(
            pl.col("factor").cast(pl.UInt32).alias(key),
            "mean",
            "std",
            (pl.col("t_stat") / pl.col("n_periods").cast(pl.Float64).sqrt()).alias("ir"),
            "t_stat",
            "nw_t_stat",
            "n_periods",
            "nw_lags",
        )
        .join(positive, on=key, how="left")
        .cast(schema)  # type: ignore[arg-type]
    )


def turnover(
    frame: FrameT,
    buckets: ColumnNames,
    *,
    date: str = "date",
    asset: str = "asset",
    check_keys: bool | None = None,
    engine: EngineType = "auto",
) -> FrameT:
    r"""Share of each bucket's assets that were not in it on the previous date.

    Parameters
    ----------
    frame
        Panel, lazy or eager, one row per ``(date, asset)`` with bucket labels (e.g.
        from ``assign_buckets``). A LazyFrame gives a LazyFrame.
    buckets
        Bucket column, or several for a multiple sort (a bucket is then a
        combination of their values). Any dtype; null labels are "in no bucket".
    date, asset
        Names of the panel keys.
    check_keys
        Check that ``(date, asset)`` is unique (a repeated key would count an asset
        twice). ``None`` (default): on a DataFrame at call time; on a LazyFrame not at
        all, so that the call reads nothing (pass ``True`` to read the key columns
        now, or check a scan once with :func:`~polars_factors.check_panel`).
        ``True``: at call time whatever the frame. ``False``: no check.
    engine
        Polars engine used to collect an eager panel.

    Returns
    -------
    DataFrame or LazyFrame
        ``date, <bucket columns>, turnover, n_assets, n_entered``: one row per date
        and bucket that has members on that date, sorted by date and bucket.
        ``n_assets`` (UInt32) counts the members, ``n_entered`` (UInt32) those that
        were not in the bucket on the previous date, and ``turnover = n_entered /
        n_assets``. Both are null on the first date of the frame.

    Raises
    ------
    ColumnNotFoundError
        A named column is not in the frame.
    DuplicateKeyError
        A ``(date, asset)`` key repeats (with ``check_keys``).
    ValueError
        A bucket column is also ``date`` or ``asset``, or is named like an output
        column.

    Notes
    -----
    With :math:`B_t` the assets in bucket :math:`b` on date :math:`t`,

    .. math::

        \mathrm{turnover}_{b,t} = 1 - \frac{|B_t \cap B_{t^-}|}{|B_t|},

    where :math:`t^-` is the **previous date present in the frame**: the dates of all
    rows with a non-null date, sorted, whatever their buckets. A bucket that was
    empty on :math:`t^-` (e.g. a date whose buckets are all null, before the first
    formation) has a turnover of 1. This is alphalens' ``quantile_turnover`` (with
    ``period=1``) whenever every bucket has members on every date; alphalens instead
    compares with the bucket's own previous non-empty date. Rows with a null date or
    asset are ignored.

    The plan is a ``group_by`` and two joins: the memberships of :math:`t^-`, relabelled
    to :math:`t`, are joined to those of :math:`t` on ``(date, asset, buckets)``.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame(
    ...     {"date": [1, 1, 1, 1, 2, 2, 2, 2],
    ...      "asset": list("abcd") * 2,
    ...      "bucket": [1, 1, 2, 2, 1, 2, 2, None]}
    ... )
    >>> pf.portfolio.turnover(df, "bucket")
    shape: (4, 5)
    ┌──────┬────────┬──────────┬──────────┬───────────┐
    │ date ┆ bucket ┆ turnover ┆ n_assets ┆ n_entered │
    │ ---  ┆ ---    ┆ ---      ┆ ---      ┆ ---       │
    │ i64  ┆ i64    ┆ f64      ┆ u32      ┆ u32       │
    ╞══════╪════════╪══════════╪══════════╪═══════════╡
    │ 1    ┆ 1      ┆ null     ┆ 2        ┆ null      │
    │ 1    ┆ 2      ┆ null     ┆ 2        ┆ null      │
    │ 2    ┆ 1      ┆ 0.0      ┆ 1        ┆ 0         │
    │ 2    ┆ 2      ┆ 0.5      ┆ 2        ┆ 1         │
    └──────┴────────┴──────────┴──────────┴───────────┘
    """
    if not isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
        msg = f"expected a polars DataFrame or LazyFrame; got {type(frame).__name__}."
        raise TypeError(msg)
    cols = _validate.as_list(buckets, name="buckets")
    if not cols:
        msg = "`buckets` must name at least one column."
        raise ValueError(msg)
    schema = frame.collect_schema()
    _validate.check_columns_exist(schema, cols, role="bucket column")
    _validate.check_columns_exist(schema, [date, asset], role="panel key")
    _validate.check_key_dtypes(schema, date=date, asset=asset, by=cols)
    _check_keys_apart([date, asset], cols, ())
    clash = [c for c in cols if c in _TURNOVER_OUTPUTS]
    if clash:
        msg = (
            f"bucket column(s) {clash} have the name of an output column "
            f"({', '.join(_TURNOVER_OUTPUTS)}); rename them first."
        )
        raise ValueError(msg)
    _validate.unique_keys(frame, check_keys, date=date, asset=asset)
    plan = _turnover_plan(frame.lazy(), cols, date=date, asset=asset)
    return _frame.like_input(frame, plan, engine=engine)


def _turnover_plan(lf: pl.LazyFrame, cols: list[str], *, date: str, asset: str) -> pl.LazyFrame:
    taken = {*lf.collect_schema().names(), *_TURNOVER_OUTPUTS}
    prev, nxt, stayed = (temp_name(taken, h) for h in ("prev", "next", "stayed"))
    keys = [date, *cols]
    members = lf.select(date, asset, *cols).filter(
        pl.all_horizontal(pl.col(c).is_not_null() for c in (date, asset, *cols))
    )
    dates = (
        lf.select(pl.col(date))
        .filter(pl.col(date).is_not_null())
        .unique()
        .sort(date)
        .with_columns(pl.col(date).shift(1).alias(prev))
    )
    # Memberships of the previous date, relabelled to the date that follows it.
    following = dates.select(pl.col(prev).alias(date), pl.col(date).alias(nxt)).filter(
        pl.col(date).is_not_null()
    )
    previous = members.join(following, on=date, how="inner").select(
        pl.col(nxt).alias(date), asset, *cols
    )
    n_stayed = (
        members.join(previous, on=[date, asset, *cols], how="inner")
        .group_by(keys)
        .agg(pl.len().alias(stayed))
    )
    counts = members.group_by(keys).agg(pl.len().alias("n_assets"))
    n_assets = pl.col("n_assets")
    entered = n_assets - pl.col(stayed).fill_null(0)
    return (
        counts.join(dates, on=date, how="left")
        .join(n_stayed, on=keys, how="left")
        .select(
            *keys,
            pl.when(pl.col(prev).is_not_null())
            .then(entered.cast(pl.Float64) / n_assets.cast(pl.Float64))
            .alias("turnover"),
            n_assets.cast(pl.UInt32),
            pl.when(pl.col(prev).is_not_null()).then(entered).cast(pl.UInt32).alias("n_entered"),
        )
        .sort(keys, nulls_last=True)
    )
