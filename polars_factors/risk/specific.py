r"""Specific (idiosyncratic) risk of each asset from its regression residuals.

:func:`specific_risk` turns the residuals of the cross-sectional regressions (long
``date, asset, residual``, e.g. ``pf.cross_section(...).residuals``) into a forecast of
each asset's specific variance on every row: an exponentially weighted variance of the
asset's own residual history (optionally with Newey-West serial-correlation terms),
then, with a size column, the Bayesian shrinkage of USE4 toward the cap-weighted mean
volatility of assets of similar size.

Everything is Polars expressions (windows over the asset for the time series, over the
date and size group for the shrinkage), so a LazyFrame stays lazy.
"""

from __future__ import annotations

import math

import polars as pl

from polars_factors import _validate
from polars_factors._frame import like_input, temp_name
from polars_factors._units import check_units
from polars_factors.exprs._core import clean
from polars_factors.exprs._price import check_int
from polars_factors.typing import FrameT

__all__ = ["shrink_specific_risk", "specific_risk"]

_OUTPUT = "specific_var"


def _check_options(
    half_life: object,
    nw_lags: object,
    shrinkage: object,
    n_groups: object,
    min_periods: object,
) -> tuple[float | None, int, float, int, int]:
    """Validate the numeric options; return ``(half_life, lags, q, groups, min_periods)``.

    The half-life returned is ``None`` for equal weights (``half_life=math.inf``).
    """
    if half_life is None:
        msg = (
            "half_life=None is not a half-life: pass half_life=math.inf for equal weights "
            "(an expanding-window variance), or leave it out for the default of 84. Across "
            "polars_factors, None means 'the default' and math.inf means equal weights."
        )
        raise ValueError(msg)
    checked = _validate.check_half_life("half_life", half_life)
    h = None if math.isinf(checked) else checked
    lags = check_int("nw_lags", nw_lags, minimum=0, hint=" (0: no Newey-West terms)")
    groups = check_int("n_groups", n_groups, minimum=1)
    if (
        isinstance(shrinkage, bool)
        or not isinstance(shrinkage, (int, float))
        or not 0.0 <= shrinkage <= 1.0
    ):
        msg = f"`shrinkage` must be a number in [0, 1] (0: no shrinkage); got {shrinkage!r}."
        raise ValueError(msg)
    if min_periods is None:
        periods = lags + 2
    else:
        periods = check_int("min_periods", min_periods, minimum=1, hint=" (or None)")
    return h, lags, float(shrinkage), groups, periods


def _time_series_variance(
    lf: pl.LazyFrame,
    residual: str,
    out: str,
    *,
    asset: str,
    half_life: float | None,
    nw_lags: int,
    min_periods: int,
    demean: bool,
    taken: set[str],
) -> pl.LazyFrame:
    """Add ``out``: the EW (Newey-West) variance of each asset's residuals up to each row."""
    u_n, p_n = temp_name(taken, "u"), temp_name(taken, "p")
    lag_n = {lag: temp_name(taken, f"lag{lag}") for lag in range(1, nw_lags + 1)}
    u_raw = clean(residual)
    # Shifting an asset's residuals by its first present one leaves the demeaned moments
    # unchanged and is causal (rows before it have no observation); it keeps
    # E[u^2] - m^2 from cancelling when the residuals sit far from zero.
    u_expr = (u_raw - u_raw.drop_nulls().first()).over(asset) if demean else u_raw
    lf = lf.with_columns(u_expr.alias(u_n), u_raw.is_not_null().alias(p_n))
    u, present = pl.col(u_n), pl.col(p_n)
    lf = lf.with_columns(u.shift(lag).over(asset).alias(n) for lag, n in lag_n.items())

    def acc(e: pl.Expr) -> pl.Expr:
        # Sums over the asset's rows up to this one, weighted by age in rows; every
        # sum is normalized by the same total row weight (ewm_mean, adjust=True), which
        # cancels in the ratios below.
        e = e.fill_null(0.0)
        if half_life is None:
            return e.cum_sum().over(asset)
        return e.ewm_mean(half_life=half_life, adjust=True, ignore_nulls=False).over(asset)

    u0 = u.fill_null(0.0)
    weight = acc(present.cast(pl.Float64))
    mean = acc(u0) / weight if demean else pl.lit(0.0)
    var = acc(u0 * u0) / weight - mean * mean
    for lag, name in lag_n.items():
        lagged = pl.col(name)
        both = (present & lagged.is_not_null()).cast(pl.Float64)
        lagged0 = lagged.fill_null(0.0)
        cross = acc(both * u0 * lagged0)
        if demean:
            cross = cross - mean * (acc(both * u0) + acc(both * lagged0)) + mean * mean * acc(both)
        var += 2.0 * (1.0 - lag / (nw_lags + 1)) * cross / weight
    enough = present.cum_sum().over(asset) >= min_periods
    return lf.with_columns(pl.when(enough).then(var.clip(lower_bound=0.0)).alias(out))


def _shrink(
    lf: pl.LazyFrame,
    var: str,
    size: str,
    *,
    date: str,
    asset: str,
    shrinkage: float,
    n_groups: int,
    taken: set[str],
) -> pl.LazyFrame:
    """Replace ``var`` by its Bayesian-shrunk value (USE4) on the eligible rows."""
    sigma_n, size_n, group_n, bar_n = (temp_name(taken, h) for h in ("sig", "sz", "grp", "bar"))
    sigma = pl.col(var).sqrt()
    raw_size = clean(size)
    eligible = (sigma.is_not_null() & (raw_size > 0)).fill_null(value=False)
    lf = lf.with_columns(
        pl.when(eligible).then(sigma).alias(sigma_n),
        pl.when(eligible).then(raw_size).alias(size_n),
    )
    s, w = pl.col(sigma_n), pl.col(size_n)
    # Ordinal rank of size within the date, ties broken by asset (deterministic in any
    # engine and row order).
    rank = w.rank("min").over(date) + pl.col(asset).rank("ordinal").over(date, size_n) - 1
    n = w.count().over(date)
    lf = lf.with_columns(
        ((rank.cast(pl.Int64) - 1) * n_groups // n.cast(pl.Int64)).alias(group_n),
    )
    keys = [date, group_n]
    # Sizes relative to the group's largest: the same weights, safe from over/underflow.
    lf = lf.with_columns((w / w.max().over(keys)).alias(size_n))
    lf = lf.with_columns(((w * s).sum().over(keys) / w.sum().over(keys)).alias(bar_n))
    bar = pl.col(bar_n)
    spread = (s - bar).pow(2).mean().over(keys).sqrt()
    dev = shrinkage * (s - bar).abs()
    v = pl.when(dev > 0).then(dev / (spread + dev)).otherwise(0.0)
    shrunk = v * bar + (1.0 - v) * s
    return lf.with_columns(
        pl.when(s.is_not_null() & (dev > 0)).then(shrunk * shrunk).otherwise(pl.col(var)).alias(var)
    )


def _check_sizes(frame: FrameT, size: str | None, *, check_keys: bool | None) -> FrameT:
    # Sizes are checked whatever ``check_keys`` (as before it existed): at call time
    # on a DataFrame or with ``check_keys=True``, else inside the plan.
    return _validate.no_negative(
        frame,
        True if check_keys is True else None,
        size,
        rule=(
            "market capitalizations must be >= 0 (rows with a zero, null or NaN size are "
            "not shrunk). Fix or null them first, e.g. "
            f"pl.when(pl.col({size!r}) > 0).then(pl.col({size!r}))."
        ),
    )


def shrink_specific_risk(
    frame: FrameT,
    *,
    size: str,
    shrinkage: float = 0.1,
    n_groups: int = 10,
    variance: str = "specific_var",
    date: str = "date",
    asset: str = "asset",
    check_keys: bool | None = None,
) -> FrameT:
    r"""Shrink specific variances toward their size group (the USE4 Bayesian step alone).

    ``specific_risk(panel, size=s, ...)`` is ``specific_risk(panel, ...)`` (no size)
    followed by this step on its output, with the sizes alongside. The first part works
    along each asset's history, this one within each date, so on a panel larger than
    memory they split differently: the first by asset, this one by date
    (docs/big_data.md). The numbers are the same up to the order of the per-date sums
    (about 1e-15 relative).

    Parameters
    ----------
    frame
        Long panel, lazy or eager: one row per ``(date, asset)`` with the variance to
        shrink and the size.
    size
        Column with the market capitalization that sorts assets into size groups and
        weights the group mean volatility.
    shrinkage
        Shrinkage intensity :math:`q` in [0, 1] (USE4 uses 0.1); 0 changes nothing.
    n_groups
        Number of equal-count size groups per date (>= 1).
    variance
        Column with the specific variances (``specific_risk``'s ``specific_var``).
    date, asset
        Column names.
    check_keys
        Check that ``(date, asset)`` is unique. ``None`` (default): on a DataFrame at
        call time; on a LazyFrame not at all, so that the call reads nothing (pass
        ``True`` to read the key columns now, or check a scan once with
        :func:`~polars_factors.check_panel`). ``True``: at call time whatever the
        frame. ``False``: no check. Sizes are checked whatever ``check_keys``: at call
        time on a DataFrame, inside the plan on a LazyFrame.

    Returns
    -------
    DataFrame or LazyFrame
        The kind of ``frame``: every column of ``frame``, in the same order and row
        order, with ``variance`` (Float64) replaced by the shrunk variance on the rows
        with a variance and a positive size; other rows keep theirs.

    Raises
    ------
    ColumnNotFoundError
        A named column is missing.
    SchemaError
        ``variance`` or ``size`` is not numeric.
    DuplicateKeyError
        With ``check_keys``: a repeated ``(date, asset)`` key.
    WeightError
        ``size`` has negative values.
    ValueError
        ``shrinkage`` outside [0, 1], ``n_groups < 1``, or a column named in two roles.

    Notes
    -----
    The formula is in :func:`specific_risk` (Notes, "Shrinkage").

    Examples
    --------
    >>> import math
    >>> import polars as pl
    >>> from polars_factors.risk.specific import shrink_specific_risk, specific_risk
    >>> res = pl.DataFrame(
    ...     {
    ...         "date": [1] * 4 + [2] * 4,
    ...         "asset": ["a", "b", "c", "d"] * 2,
    ...         "residual": [0.01, -0.02, 0.03, -0.01, -0.01, 0.02, -0.03, 0.04],
    ...         "mcap": [1.0, 2.0, 3.0, 4.0] * 2,
    ...     }
    ... )
    >>> opts = {"half_life": math.inf, "min_periods": 1}
    >>> raw = specific_risk(res, **opts).with_columns(res["mcap"])
    >>> shrunk = shrink_specific_risk(raw, size="mcap", n_groups=2)
    >>> shrunk["specific_var"].tail(4).round(6).to_list()
    [0.000116, 0.000392, 0.000883, 0.000633]
    >>> one_plan = specific_risk(res, size="mcap", n_groups=2, **opts)
    >>> (shrunk["specific_var"] - one_plan["specific_var"]).abs().max() < 1e-18
    True
    """
    if not isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
        msg = f"expected a polars DataFrame or LazyFrame; got {type(frame).__name__}."
        raise TypeError(msg)
    _, _, q, groups, _ = _check_options(84, 0, shrinkage, n_groups, None)
    _validate.check_column_names(
        distinct=True, date=date, asset=asset, variance=variance, size=size
    )
    schema = frame.collect_schema()
    _validate.check_columns_exist(schema, [date, asset], role="panel key")
    _validate.check_key_dtypes(schema, date=date, asset=asset)
    _validate.check_columns_exist(schema, [variance], role="variance column")
    _validate.check_numeric(schema, [variance], role="variance column")
    _validate.check_columns_exist(schema, [size], role="size column")
    _validate.check_numeric(schema, [size], role="size column")
    _validate.unique_keys(frame, check_keys, date=date, asset=asset)
    lf = _check_sizes(frame, size, check_keys=check_keys).lazy()
    lf = lf.with_columns(pl.col(variance).cast(pl.Float64))
    if q > 0:
        taken = set(schema.names())
        lf = _shrink(
            lf, variance, size, date=date, asset=asset, shrinkage=q, n_groups=groups,
            taken=taken,
        )  # fmt: skip
    out = lf.select(schema.names())
    return like_input(frame, out)


def specific_risk(
    residuals: FrameT,
    *,
    half_life: float = 84,
    nw_lags: int = 0,
    shrinkage: float = 0.1,
    size: str | None = None,
    n_groups: int = 10,
    min_periods: int | None = None,
    demean: bool = True,
    residual: str = "residual",
    date: str = "date",
    asset: str = "asset",
    check_keys: bool | None = None,
) -> FrameT:
    r"""Forecast each asset's specific variance from its history of regression residuals.

    Parameters
    ----------
    residuals
        Long panel, lazy or eager: one row per ``(date, asset)`` with the residual of
        the cross-sectional regression (e.g. ``pf.cross_section(...).residuals``, null
        where the row was not in the fit). Each asset's rows must be in increasing date
        order (rows of different assets may be interleaved in any way).
    half_life
        Half-life of the weights, in rows of the asset (positive). ``math.inf``: equal
        weights (an expanding-window variance).
    nw_lags
        Number of Newey-West lags (Bartlett weights); 0 for none.
    shrinkage
        Shrinkage intensity :math:`q` in [0, 1] of the Bayesian shrinkage (USE4 uses
        0.1). Used only with ``size``; 0 turns it off.
    size
        Column of ``residuals`` with the market capitalization that sorts assets into
        size groups and weights the group mean volatility. ``None``: no shrinkage.
    n_groups
        Number of equal-count size groups per date (>= 1).
    min_periods
        Number of present residuals an asset needs (up to and including the row) before
        it gets a variance; ``None`` means ``nw_lags + 2``.
    demean
        Subtract the weighted mean of the residuals (``False``: variance around 0).
    residual, date, asset
        Column names.
    check_keys
        Check that each asset's dates strictly increase, which also rules out
        repeated and null keys. ``None`` (default): at call time on a DataFrame,
        inside the plan on a LazyFrame (nothing is read now; ``collect`` raises).
        ``True``: at call time whatever the frame (on a LazyFrame it reads the key
        columns now). ``False``: no check. Sizes (``size=``) are checked whatever
        ``check_keys``, at call time on a DataFrame, inside the plan on a LazyFrame.

    Returns
    -------
    DataFrame or LazyFrame
        The kind of ``residuals``, with columns ``date``, ``asset`` and
        ``specific_var`` (Float64): one row per input row, in input order. Null where
        the asset has fewer than ``min_periods`` present residuals so far. A row whose
        own residual is missing still gets the variance of the residuals before it.

    Raises
    ------
    ColumnNotFoundError
        A named column is missing.
    SchemaError
        ``residual`` or ``size`` is not numeric.
    DuplicateKeyError
        With ``check_keys``: a repeated ``(date, asset)`` key.
    UnsortedError
        With ``check_keys``: an asset's dates go backwards.
    WeightError
        ``size`` has negative values.
    ValueError
        An option is out of range (``half_life <= 0``, ``nw_lags < 0``, ``n_groups < 1``,
        ``shrinkage`` outside [0, 1], ``min_periods < 1``), or a column is named in two
        roles.
    InvalidDataError
        With ``check_keys``: a date or asset is null.

    Notes
    -----
    **Time series.** Null, NaN and +-inf residuals are missing. For the row :math:`t`
    of asset :math:`n`, let :math:`S_t` be the asset's rows :math:`s \le t` with a
    present residual :math:`u_s`, and give each the weight
    :math:`w_s = 2^{-(t-s)/h}`, where :math:`t - s` is the age in rows of the asset
    (rows with a missing residual still age the older ones); :math:`h` = ``half_life``,
    equal weights when it is ``None``. With :math:`W = \sum_{s \in S_t} w_s` and the
    weighted mean :math:`m = \sum_{s \in S_t} w_s u_s / W` (:math:`m = 0` when
    ``demean=False``),

    .. math::

        \Gamma_l = \frac{1}{W} \sum_{s \in S_t,\ s-l \in S_t} w_s (u_s - m)(u_{s-l} - m),
        \qquad
        V_t = \Gamma_0 + 2 \sum_{l=1}^{L} \Bigl(1 - \frac{l}{L+1}\Bigr) \Gamma_l,

    where :math:`s - l` is the asset's :math:`l`-th previous row and :math:`L` =
    ``nw_lags`` (the Newey-West estimator with Bartlett weights; with equal weights
    and ``demean=True`` it is statsmodels' ``S_hac_simple``, which divides by the
    number of observations). There is no bias correction. A negative :math:`V_t`
    (strong negative autocorrelation) is set to 0. Each sum is an exponentially
    weighted mean (Polars ``ewm_mean``, ``adjust=True``) of zero-filled products over
    the asset's rows, so no future row is used; the residuals are shifted by the
    asset's first present residual first, which leaves :math:`V_t` unchanged and keeps
    it accurate over long histories.

    **Bayesian shrinkage** (USE4 Methodology Notes, Menchero, Orr and Wang 2011,
    section on specific risk). On each date, the rows with a variance and a positive
    (finite) size are sorted into ``n_groups`` equal-count groups by size: the row of
    ordinal size rank :math:`r` among :math:`N` (ties broken by asset) is in group
    :math:`\lfloor (r - 1) G / N \rfloor`. With :math:`\sigma_n = \sqrt{V_n}`, the
    size-weighted group mean :math:`\bar\sigma(g) = \sum_{n \in g} c_n \sigma_n /
    \sum_{n \in g} c_n` and the equal-weighted dispersion
    :math:`\Delta(g) = \sqrt{\operatorname{mean}_{n \in g} (\sigma_n - \bar\sigma(g))^2}`,

    .. math::

        v_n = \frac{q |\sigma_n - \bar\sigma(g)|}{\Delta(g) + q |\sigma_n - \bar\sigma(g)|},
        \qquad
        \sigma_n^{SH} = v_n \bar\sigma(g) + (1 - v_n) \sigma_n,

    (:math:`v_n = 0` when :math:`\sigma_n = \bar\sigma(g)`) and the specific variance
    is :math:`(\sigma_n^{SH})^2`. Rows with a null, NaN, infinite or zero size are not
    shrunk and do not take part in the groups.

    An empty frame gives an empty result with the output schema.

    Examples
    --------
    >>> import math
    >>> import polars as pl
    >>> from polars_factors.risk.specific import specific_risk
    >>> res = pl.DataFrame(
    ...     {
    ...         "date": [1, 1, 2, 2, 3, 3, 4, 4],
    ...         "asset": ["a", "b"] * 4,
    ...         "residual": [0.01, -0.02, -0.01, 0.03, 0.02, None, 0.0, -0.01],
    ...     }
    ... )
    >>> out = specific_risk(res, half_life=2, shrinkage=0.0)
    >>> out.with_columns(pl.col("specific_var").round(6))
    shape: (8, 3)
    ┌──────┬───────┬──────────────┐
    │ date ┆ asset ┆ specific_var │
    │ ---  ┆ ---   ┆ ---          │
    │ i64  ┆ str   ┆ f64          │
    ╞══════╪═══════╪══════════════╡
    │ 1    ┆ a     ┆ null         │
    │ 1    ┆ b     ┆ null         │
    │ 2    ┆ a     ┆ 0.000097     │
    │ 2    ┆ b     ┆ 0.000607     │
    │ 3    ┆ a     ┆ 0.00017      │
    │ 3    ┆ b     ┆ 0.000607     │
    │ 4    ┆ a     ┆ 0.000119     │
    │ 4    ┆ b     ┆ 0.000372     │
    └──────┴───────┴──────────────┘

    With a size column, each volatility moves toward the cap-weighted mean volatility of
    its size group (here 2 groups: a, b and c, d):

    >>> res = pl.DataFrame(
    ...     {
    ...         "date": [1] * 4 + [2] * 4,
    ...         "asset": ["a", "b", "c", "d"] * 2,
    ...         "residual": [0.01, -0.02, 0.03, -0.01, -0.01, 0.02, -0.03, 0.04],
    ...         "mcap": [1.0, 2.0, 3.0, 4.0] * 2,
    ...     }
    ... )
    >>> opts = {"half_life": math.inf, "min_periods": 1}
    >>> raw = specific_risk(res, **opts)
    >>> shrunk = specific_risk(res, size="mcap", n_groups=2, **opts)
    >>> raw["specific_var"].tail(4).round(6).to_list()
    [0.0001, 0.0004, 0.0009, 0.000625]
    >>> shrunk["specific_var"].tail(4).round(6).to_list()
    [0.000116, 0.000392, 0.000883, 0.000633]
    """
    if not isinstance(residuals, (pl.DataFrame, pl.LazyFrame)):
        msg = f"expected a polars DataFrame or LazyFrame; got {type(residuals).__name__}."
        raise TypeError(msg)
    h, lags, q, groups, periods = _check_options(
        half_life, nw_lags, shrinkage, n_groups, min_periods
    )
    _validate.check_column_names(
        distinct=True, date=date, asset=asset, residual=residual, size=size
    )
    schema = residuals.collect_schema()
    _validate.check_columns_exist(schema, [date, asset], role="panel key")
    _validate.check_key_dtypes(schema, date=date, asset=asset)
    _validate.check_columns_exist(schema, [residual], role="residual column")
    _validate.check_numeric(schema, [residual], role="residual column")
    if size is not None:
        _validate.check_columns_exist(schema, [size], role="size column")
        _validate.check_numeric(schema, [size], role="size column")
    residuals = _validate.time_order(residuals, check_keys, date=date, asset=asset)
    residuals = _check_sizes(residuals, size, check_keys=check_keys)
    residuals = _validate.check_magnitude(residuals, [residual], function="specific_risk")
    residuals = check_units(residuals, [residual], function="specific_risk")

    taken = {date, asset, residual, *([size] if size is not None else [])}
    var_n = temp_name(taken, "var")
    lf = _time_series_variance(
        residuals.lazy(),
        residual,
        var_n,
        asset=asset,
        half_life=h,
        nw_lags=lags,
        min_periods=periods,
        demean=demean,
        taken=taken,
    )
    if size is not None and q > 0:
        lf = _shrink(
            lf, var_n, size, date=date, asset=asset, shrinkage=q, n_groups=groups, taken=taken
        )
    out = lf.select(pl.col(date), pl.col(asset), pl.col(var_n).cast(pl.Float64).alias(_OUTPUT))
    return like_input(residuals, out)
