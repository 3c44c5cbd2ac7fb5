r"""Fama-MacBeth inference on a time series of factor returns.

The second pass of a Fama-MacBeth (1973) regression: the per-period estimates
(e.g. :attr:`CrossSectionResult.factor_returns`) are averaged over time, and the
average is tested against zero with the classical and the Newey-West (Bartlett
kernel) standard error of the mean. The per-period work runs as Polars
expressions; the result is one small eager frame, one row per factor.
"""

from __future__ import annotations

import polars as pl

from polars_factors import _validate
from polars_factors._validate import check_columns_exist
from polars_factors.exceptions import (
    DuplicateKeyError,
    InsufficientDataError,
    InvalidDataError,
    SchemaError,
)
from polars_factors.exprs._core import nonzero_spread

__all__ = ["fama_macbeth"]

# Internal column names; the user's names are only read at the input.
_D, _F, _V = "__fm_date", "__fm_factor", "__fm_value"
_E, _C, _CL, _CT, _I, _T, _L, _S = (
    f"__fm_{s}" for s in ("e", "c", "cl", "ct", "i", "t", "l", "spread")
)

_FACTOR_DTYPES = (pl.String, pl.Categorical, pl.Enum)
_MAX_SHOWN = 3


def fama_macbeth(
    factor_returns: pl.DataFrame | pl.LazyFrame,
    *,
    nw_lags: int | None = None,
    debiased: bool = True,
    date: str = "date",
    factor: str = "factor",
    value: str = "factor_return",
) -> pl.DataFrame:
    r"""Average per-period factor returns and test them with Fama-MacBeth t-statistics.

    Parameters
    ----------
    factor_returns
        Per-period estimates, lazy or eager, in one of two layouts:

        - **long**: one row per ``(date, factor)`` with the estimate in ``value``,
          e.g. the ``factor_returns`` frame of :func:`cross_section` (other columns
          such as ``std_error`` are ignored);
        - **wide**: a ``date`` column plus one numeric column per factor (a factor
          time series). The frame is read as wide when it has no ``factor`` column.

        Null, NaN and +-inf estimates are missing; each factor uses its own
        non-missing periods, in date order.
    nw_lags
        Bartlett-kernel bandwidth :math:`L` of the Newey-West standard error, a
        non-negative int. ``None`` picks :math:`L = \lfloor 4 (T/100)^{2/9} \rfloor`
        per factor, with :math:`T` that factor's number of periods (the Newey-West
        1994 rule of thumb). ``0`` gives the classical standard error. A factor with
        :math:`T \le L` gets a null Newey-West standard error and t-statistic.
    debiased
        Divide the variance of the mean by :math:`T - 1` instead of :math:`T`, as
        linearmodels' ``FamaMacBeth.fit`` does by default; then ``std_error`` is the
        classical Fama-MacBeth :math:`s / \sqrt{T}`. ``False`` divides by :math:`T`.
    date
        Name of the period column (any sortable dtype).
    factor
        Name of the factor-name column of a long frame (String, Categorical, Enum or
        integer codes).
    value
        Name of the estimate column of a long frame.

    Returns
    -------
    DataFrame
        Always eager, also for a LazyFrame input (by design: the ``T x K`` table of
        estimates is small and is read whole at call time, to check its keys and
        compute the statistics, and the result has one row per factor). One row per
        factor in order of first appearance (long) or column order (wide), with columns

        - ``factor`` (String);
        - ``mean``: the average :math:`\bar f`;
        - ``std``: the sample standard deviation (``ddof=1``);
        - ``t_stat``: ``mean / std_error``;
        - ``nw_t_stat``: ``mean / nw_std_error``;
        - ``n_periods`` (UInt32): :math:`T`, the number of non-missing periods;
        - ``std_error``, ``nw_std_error``: the standard errors of the mean;
        - ``nw_lags`` (Int64): the bandwidth :math:`L` used for that factor.

        A factor with no period has null statistics; with a single period, only
        ``mean``. The t-statistics of a constant series (``std`` at most 1e-13
        times the largest absolute estimate, i.e. round-off) are null.

    Raises
    ------
    ColumnNotFoundError
        A named column is not in the frame.
    SchemaError
        The estimates are not numeric, or the factor column has an unusable dtype.
    DuplicateKeyError
        A ``(date, factor)`` pair (a date, for a wide frame) appears more than once.
    InsufficientDataError
        The frame has no rows or no factor column.
    ValueError
        ``nw_lags`` is negative or not an int.
    InvalidDataError
        A date or factor name is null.
    TypeError
        ``debiased`` is not a bool.

    Notes
    -----
    For one factor with estimates :math:`f_1, \dots, f_T` (sorted by date),
    :math:`e_t = f_t - \bar f` and :math:`d` = 1 if ``debiased`` else 0:

    .. math::

        \mathrm{se} = \sqrt{\frac{\sum_t e_t^2}{T\,(T - d)}}, \qquad
        \mathrm{se}_{NW} = \sqrt{\frac{S}{T - d}}, \qquad
        S = \frac1T\Big[\sum_t e_t^2 + 2\sum_{l=1}^{L}\Big(1 - \frac{l}{L+1}\Big)
        \sum_{t=l+1}^{T} e_t e_{t-l}\Big].

    These are the standard errors of linearmodels ``FamaMacBeth`` with
    ``cov_type="unadjusted"`` and with ``cov_type="kernel", kernel="bartlett",
    bandwidth=L`` (same ``debiased`` flag and default), and they are tested against
    it to 1e-10. linearmodels drops a period when any factor is missing; here each
    factor keeps its own periods, which is the same on a balanced panel.

    The Bartlett weights are the convolution of two boxcars of width :math:`L+1`, so
    the bracket equals :math:`\frac{1}{L+1}\sum_{t=1}^{T+L} W_t^2` with
    :math:`W_t = \sum_{j=0}^{L} e_{t-j}` (:math:`e` zero outside :math:`1..T`). The
    window sums are differences of the cumulative sum of :math:`e`, which makes the
    cost :math:`O(T)` for any :math:`L` and :math:`S \ge 0` by construction.

    Examples
    --------
    >>> import polars as pl
    >>> from polars_factors.regression.fama_macbeth import fama_macbeth
    >>> fr = pl.DataFrame(
    ...     {"date": [1, 1, 2, 2, 3, 3, 4, 4],
    ...      "factor": ["mkt", "size"] * 4,
    ...      "factor_return": [0.02, 0.01, -0.01, 0.00, 0.03, -0.02, 0.00, None]}
    ... )
    >>> out = fama_macbeth(fr, nw_lags=1)
    >>> out.select("factor", "mean", "t_stat", "nw_t_stat", "n_periods").with_columns(
    ...     pl.col(pl.Float64).round(4)
    ... )
    shape: (2, 5)
    ┌────────┬─────────┬────────┬───────────┬───────────┐
    │ factor ┆ mean    ┆ t_stat ┆ nw_t_stat ┆ n_periods │
    │ ---    ┆ ---     ┆ ---    ┆ ---       ┆ ---       │
    │ str    ┆ f64     ┆ f64    ┆ f64       ┆ u32       │
    ╞════════╪═════════╪════════╪═══════════╪═══════════╡
    │ mkt    ┆ 0.01    ┆ 1.0954 ┆ 2.4495    ┆ 4         │
    │ size   ┆ -0.0033 ┆ -0.378 ┆ -0.3825   ┆ 3         │
    └────────┴─────────┴────────┴───────────┴───────────┘

    A wide factor time series works the same way:

    >>> wide = fr.pivot("factor", index="date", values="factor_return")
    >>> fama_macbeth(wide, nw_lags=1)["nw_t_stat"].round(4).to_list()
    [2.4495, -0.3825]
    """
    _check_options(nw_lags, debiased)
    if isinstance(factor_returns, (pl.DataFrame, pl.LazyFrame)):
        _validate.check_key_dtypes(factor_returns.collect_schema(), date=date, by=[factor])
    long, names = _to_long(factor_returns, date=date, factor=factor, value=value)
    stats = _statistics(long, nw_lags=nw_lags, debiased=debiased)
    return (
        pl.DataFrame({"factor": names}, schema={"factor": pl.String})
        .join(stats, left_on="factor", right_on=_F, how="left", maintain_order="left")
        .with_columns(pl.col("n_periods").fill_null(0).cast(pl.UInt32))
        .select(
            "factor",
            "mean",
            "std",
            "t_stat",
            "nw_t_stat",
            "n_periods",
            "std_error",
            "nw_std_error",
            "nw_lags",
        )
    )


def _check_options(nw_lags: object, debiased: object) -> None:
    if nw_lags is not None and (
        isinstance(nw_lags, bool) or not isinstance(nw_lags, int) or nw_lags < 0
    ):
        msg = (
            f"nw_lags must be a non-negative int (the Bartlett bandwidth) or None for the "
            f"Newey-West rule of thumb; got {nw_lags!r}."
        )
        raise ValueError(msg)
    if not isinstance(debiased, bool):
        msg = f"debiased must be True or False; got {debiased!r}."
        raise TypeError(msg)


def _to_long(
    frame: pl.DataFrame | pl.LazyFrame, *, date: str, factor: str, value: str
) -> tuple[pl.DataFrame, list[str]]:
    """Collect the estimates as ``(_D, _F, _V)`` rows and list the factors in output order."""
    schema = frame.collect_schema()
    lf = frame.lazy()
    if factor in schema:
        check_columns_exist(schema, [date, factor, value])
        fdtype = schema[factor]
        if not (isinstance(fdtype, _FACTOR_DTYPES) or fdtype.is_integer()):
            msg = (
                f"factor column {factor!r} must hold factor names (String, Categorical, Enum "
                f"or integer codes), but its dtype is {fdtype}."
            )
            raise SchemaError(msg)
        _validate.check_numeric(schema, [value], role="factor return column")
        long = lf.select(
            pl.col(date).alias(_D),
            pl.col(factor).cast(pl.String).alias(_F),
            pl.col(value).cast(pl.Float64).alias(_V),
        ).collect()
        _check_rows(long, date=date, wide=False)
        names = long[_F].unique(maintain_order=True).to_list()
        _check_unique(long, [_D, _F], f"({date!r}, {factor!r})")
    else:
        check_columns_exist(schema, [date], role="date column")
        names = [c for c in schema.names() if c != date]
        if not names:
            msg = (
                f"the frame has no factor column: it has no {factor!r} column, so it is read "
                f"as wide (a {date!r} column plus one column per factor), and it has only "
                f"{date!r}. Pass factor= to name the factor column of a long frame."
            )
            raise InsufficientDataError(msg)
        hint = (
            f" The frame has no {factor!r} column, so it is read as wide (one numeric "
            f"column per factor); for a long frame pass factor=<name column>."
        )
        _validate.check_numeric(schema, names, role="factor column", hint=hint)
        wide = lf.select(pl.col(date).alias(_D), *(pl.col(c).cast(pl.Float64) for c in names))
        wide_df = wide.collect()
        _check_rows(wide_df, date=date, wide=True)
        _check_unique(wide_df, [_D], repr(date))
        long = wide_df.unpivot(names, index=_D, variable_name=_F, value_name=_V)
    return long, names


def _check_rows(df: pl.DataFrame, *, date: str, wide: bool) -> None:
    if df.height == 0:
        msg = "the factor returns frame has no rows; there is nothing to average."
        raise InsufficientDataError(msg)
    keys = [_D] if wide else [_D, _F]
    for key in keys:
        n_null = df[key].null_count()
        if n_null:
            what = repr(date) if key == _D else "factor name"
            msg = (
                f"{n_null} rows have a null {what}; each estimate needs a period and a factor "
                f"to be ordered in time. Drop or fill them first."
            )
            raise InvalidDataError(msg)


def _check_unique(df: pl.DataFrame, keys: list[str], label: str) -> None:
    dupes = df.group_by(keys).agg(pl.len().alias("rows")).filter(pl.col("rows") > 1).sort(keys)
    if dupes.height == 0:
        return
    shown = "; ".join(
        f"{tuple(row[:-1]) if len(row) > 2 else row[0]!r} x{row[-1]}"
        for row in dupes.head(_MAX_SHOWN).iter_rows()
    )
    msg = (
        f"the factor returns have duplicate {label} keys ({dupes.height} keys), e.g. "
        f"{shown}. Fama-MacBeth needs one estimate per period and factor; deduplicate "
        f"the frame first."
    )
    raise DuplicateKeyError(msg)


def _statistics(long: pl.DataFrame, *, nw_lags: int | None, debiased: bool) -> pl.DataFrame:
    """One row per factor with at least one non-missing estimate."""
    # The Newey-West variance is regression._solve.newey_west(f, L, demean=True) / (T - d)
    # of each factor's series (tested equal), evaluated here as Polars expressions over
    # each factor's own periods (O(T) window sums) instead of on a numpy array.
    v = pl.col(_V)
    lags = (
        pl.lit(nw_lags, dtype=pl.Int64)
        if nw_lags is not None
        else (4 * (pl.col(_T) / 100).pow(2 / 9)).floor().cast(pl.Int64)
    )
    obs = (
        long.lazy()
        .filter(v.is_finite())
        .sort(_F, _D)
        .with_columns(
            pl.len().over(_F).cast(pl.Int64).alias(_T),
            (v - v.mean().over(_F)).alias(_E),
            pl.int_range(pl.len()).over(_F).cast(pl.Int64).alias(_I),
        )
        .with_columns(pl.col(_E).cum_sum().over(_F).alias(_C), lags.alias(_L))
        .with_columns(pl.col(_C).last().over(_F).alias(_CT))
    )
    # c_{t-L-1}: the cumulative sum L+1 periods earlier (0 before the first period).
    lagged = obs.select(_F, (pl.col(_I) + pl.col(_L) + 1).alias(_I), pl.col(_C).alias(_CL))
    # Keeping the date order makes the sums, hence the result, independent of input order.
    obs = obs.join(lagged, on=[_F, _I], how="left", maintain_order="left").with_columns(
        pl.col(_CL).fill_null(0.0)
    )

    n, lag, i = pl.col(_T).first(), pl.col(_L).first(), pl.col(_I)
    window = (pl.col(_C) - pl.col(_CL)).pow(2).sum()
    # Windows that run past the last period: W = c_T - c_k for k = T-L-1 .. T-1 (the
    # k = T-1 term is 0).
    tail = (pl.col(_CT) - pl.col(_C)).pow(2).filter(i >= pl.col(_T) - pl.col(_L) - 1).sum()
    denom = n - int(debiased)
    var = pl.col(_E).pow(2).sum() / n / denom
    nw_var = (window + tail) / (lag + 1) / n / denom
    stats = obs.group_by(_F).agg(
        v.mean().alias("mean"),
        v.std(ddof=1).alias("std"),
        nonzero_spread(v, v.std(ddof=1)).alias(_S),
        n.alias("n_periods"),
        lag.alias("nw_lags"),
        pl.when(n >= 2).then(var.sqrt()).alias("std_error"),
        pl.when((n >= 2) & (lag < n)).then(nw_var.sqrt()).alias("nw_std_error"),
    )
    return (
        stats.with_columns(
            _t_stat("std_error").alias("t_stat"), _t_stat("nw_std_error").alias("nw_t_stat")
        )
        .drop(_S)
        .collect()
        .with_columns(pl.col("nw_lags").cast(pl.Int64))
    )


def _t_stat(std_error: str) -> pl.Expr:
    # A constant series has a round-off standard error (~1e-17): no t-statistic.
    se = pl.col(std_error)
    return pl.when(pl.col(_S) & (se > 0)).then(pl.col("mean") / se)
