"""Mean forward returns per signal quantile (:func:`quantile_returns`).

The per-date quantile means and top-minus-bottom spreads of a signal, and their
summaries over dates as alphalens' ``mean_return_by_quantile`` reports them; the
sorting and the validation are shared with :mod:`polars_factors.portfolio._returns`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic

import polars as pl

from polars_factors import _validate
from polars_factors._frame import temp_name
from polars_factors._units import check_units
from polars_factors.exprs._core import clean
from polars_factors.portfolio._buckets import assign_buckets
from polars_factors.portfolio._returns import (
    _QUANTILE_OUTPUTS,
    _check_disjoint,
    _check_frame,
    _check_no_negative_weights,
    _check_output_names,
    _check_weights_column,
    _column_name,
    _leg_mean,
    _n_buckets,
    _usable_weight,
)
from polars_factors.typing import ColumnNames, EngineType, FrameT

__all__ = ["QuantileReturnsResult", "quantile_returns"]


@dataclass(frozen=True)
class QuantileReturnsResult(Generic[FrameT]):
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

    def collect(self, *, engine: EngineType | None = None) -> QuantileReturnsResult[pl.DataFrame]:
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
        return QuantileReturnsResult(
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
    res: QuantileReturnsResult[pl.DataFrame] | QuantileReturnsResult[pl.LazyFrame],
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
    by: ColumnNames | None = None,
    date: str = "date",
    check_weights: bool = True,
    engine: EngineType = "auto",
) -> QuantileReturnsResult[FrameT]:
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
        Group keys; default ``[date]``. With more keys (e.g. ``["date", "sector"]``)
        quantiles are set within each group and the summaries average per value of
        the extra keys.
    date
        The date column: the default group key.
    check_weights
        As in :func:`portfolio_returns`.
    engine
        Polars engine used to collect an eager panel, and by the summaries.

    Returns
    -------
    QuantileReturnsResult
        Per-date quantile returns (``by_date``), the per-date top-minus-bottom
        ``spread``, and averages over dates from :meth:`QuantileReturnsResult.summary` and
        :meth:`QuantileReturnsResult.spread_summary`.

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
    :meth:`~QuantileReturnsResult.summary` (``mean_return`` and ``std_error``) reproduce
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
    _validate.check_column_names(date=date)
    keys: list[str] = _validate.resolve_by(by, date)
    sig = _column_name(signal, "signal")
    cols: list[str] = _validate.as_list(forward_returns, name="forward_returns")
    if not cols:
        msg = "`forward_returns` must name at least one column."
        raise ValueError(msg)
    n_arg, _ = _n_buckets(n, None)
    schema = frame.collect_schema()
    _validate.check_columns_exist(schema, keys, role="group key")
    _validate.check_key_dtypes(schema, date=date, by=keys)
    _validate.check_columns_exist(schema, [sig], role="signal column")
    _validate.check_columns_exist(schema, cols, role="forward-return column")
    _validate.check_numeric(schema, [sig], role="signal column")
    _validate.check_numeric(schema, cols, role="forward-return column")
    w_col = _check_weights_column(schema, weights)
    _check_disjoint({"group key (by)": keys, "signal column": [sig], "forward-return column": cols})
    _check_disjoint({"group key (by)": keys, "weights column": [w_col] if w_col else []})
    _check_output_names(keys, _QUANTILE_OUTPUTS)

    q_ = temp_name(set(schema.names()), "quantile")
    _validate.warn_non_finite(frame, [sig, *cols], function="quantile_returns")
    frame = _check_no_negative_weights(frame, w_col, check=check_weights)
    frame = check_units(frame, cols, function="quantile_returns")
    lf = assign_buckets(
        frame.lazy(), sig, n=n_arg, by=keys, name=q_, date=keys[0], check_keys=False
    )
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
    res = QuantileReturnsResult(by_date, spread, n, keys, cols, engine)
    return res.collect() if isinstance(frame, pl.DataFrame) else res
