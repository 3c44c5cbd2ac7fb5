"""Expression builders for cross-sectional standardization.

Each builder returns one ``pl.Expr``. Its statistics (quantiles, means, stds) are
aggregations, so ``expr.over("date")`` computes them per date, ``expr.over(["date",
"sector"])`` per date and sector, and the bare expression over the whole column.
The frame-level functions in :mod:`polars_factors.standardization` call these builders.
"""

from __future__ import annotations

import polars as pl

from polars_factors._validate import check_choice
from polars_factors.exprs import _core
from polars_factors.exprs._core import clean, clean_weights, clip_between, to_expr
from polars_factors.typing import FillStrategy, IntoExpr, StdWeights, WinsorizeMethod

__all__ = ["fill_missing", "norm_ppf", "rank", "standardize", "winsorize", "zscore"]

#: Consistency constant of the MAD for the normal distribution, as specified.
MAD_SCALE = 1.4826

_WINSORIZE_METHODS = ("quantile", "sigma", "mad")
_STD_WEIGHTS = ("equal", "weighted")
_FILL_STRATEGIES = ("median", "mean", "zero")


def check_fractions(lower: float, upper: float) -> None:
    for name, q in (("lower", lower), ("upper", upper)):
        if not 0.0 <= q <= 1.0:
            msg = f"`{name}` must be a fraction in [0, 1]; got {q!r}."
            raise ValueError(msg)
    if lower >= upper:
        msg = f"`lower` must be smaller than `upper`; got lower={lower!r}, upper={upper!r}."
        raise ValueError(msg)


def check_n_sigma(n_sigma: float) -> None:
    if not n_sigma > 0:
        msg = f"`n_sigma` must be positive; got {n_sigma!r}."
        raise ValueError(msg)


def quantile_clip(x: pl.Expr, lower: float, upper: float) -> pl.Expr:
    """Clip ``x`` (cleaned) at its ``lower`` and ``upper`` quantiles (linear interpolation).

    Both quantiles are read from one sort of the values: two ``quantile`` calls sort the
    group twice, and the sort is most of the cost of a winsorization.
    """
    f = pl.field
    n = f("x").count().cast(pl.Int64)  # an unsigned count would wrap below 0
    packed = pl.struct(x.alias("x"), x.sort(nulls_last=True).alias("s"))
    bounds = (_sorted_quantile(f("s"), n, q) for q in (lower, upper))
    clipped = clip_between(f("x"), *bounds)
    out = packed.struct.with_fields(clipped.alias("_clipped")).struct.field("_clipped")
    name = x.meta.output_name(raise_if_undetermined=False)
    return out if name is None else out.alias(name)


def _sorted_quantile(s: pl.Expr, n: pl.Expr, q: float) -> pl.Expr:
    """Return the ``q`` quantile (numpy's "linear") of the first ``n`` values of ``s``."""
    h = (n - 1).cast(pl.Float64) * q
    i = h.floor().cast(pl.Int64).clip(lower_bound=0)
    a = s.get(i)
    b = s.get((i + 1).clip(upper_bound=(n - 1).clip(lower_bound=0)))
    return a + (h - i) * (b - a)


def sigma_clip(x: pl.Expr, w: pl.Expr | None, n_sigma: float, std_weights: StdWeights) -> pl.Expr:
    mean = _core.location(x, w)
    std = _core.dispersion(x, w, mean, std_weights)
    half_width = pl.when(_core.nonzero_spread(x, std)).then(n_sigma * std)
    # Values whose squares do not fit in float64 give a null group, not unclipped values.
    return pl.when(_core.in_range(x, w)).then(clip_between(x, mean - half_width, mean + half_width))


def mad_clip(x: pl.Expr, n_sigma: float) -> pl.Expr:
    med = x.median()
    mad = (x - med).abs().median()
    half_width = pl.when(mad > 0).then(n_sigma * MAD_SCALE * mad)
    return clip_between(x, med - half_width, med + half_width)


def winsorize(
    column: IntoExpr,
    *,
    method: WinsorizeMethod = "quantile",
    lower: float = 0.01,
    upper: float = 0.99,
    n_sigma: float = 3.0,
    weights: IntoExpr | None = None,
    std_weights: StdWeights = "equal",
) -> pl.Expr:
    """Clip a column at cross-sectional bounds; use with ``.over(by)``.

    Parameters
    ----------
    column
        Column name or expression. NaN and +-inf count as missing: they are excluded
        from the bounds and come out null.
    method
        ``"quantile"``: clip at the ``lower`` and ``upper`` quantiles (linear
        interpolation, numpy's default definition). ``"sigma"``: clip at
        ``mean +- n_sigma * std`` (population std; weighted mean when ``weights`` are
        given, weighted std too when ``std_weights="weighted"``). ``"mad"``: clip at
        ``median +- n_sigma * 1.4826 * MAD``.
    lower, upper
        Quantile fractions for ``method="quantile"``, ``0 <= lower < upper <= 1``.
    n_sigma
        Width of the band for ``"sigma"`` and ``"mad"``.
    weights
        Weights of the ``"sigma"`` mean (e.g. market cap). Null, NaN, infinite and
        negative weights count as zero. Not accepted by the other methods.
    std_weights
        ``"equal"`` or ``"weighted"`` standard deviation for ``"sigma"``.

    Returns
    -------
    pl.Expr
        Float64 expression. A group with zero spread (or no positive weight) is left
        unclipped.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({"date": [1] * 5, "x": [1.0, 2.0, 3.0, 4.0, 100.0]})
    >>> df.select(pf.exprs.winsorize("x", lower=0.0, upper=0.75).over("date"))["x"].to_list()
    [1.0, 2.0, 3.0, 4.0, 4.0]
    """
    check_winsorize_options(
        method, lower=lower, upper=upper, n_sigma=n_sigma, weights=weights, std_weights=std_weights
    )
    x = clean(column)
    w = None if weights is None else clean_weights(weights, x)
    return winsorize_core(
        x, w, method=method, lower=lower, upper=upper, n_sigma=n_sigma, std_weights=std_weights
    )


def check_winsorize_options(
    method: WinsorizeMethod,
    *,
    lower: float,
    upper: float,
    n_sigma: float,
    weights: IntoExpr | None,
    std_weights: StdWeights,
) -> None:
    """Validate the options of :func:`winsorize` (``ValueError`` on a bad one)."""
    check_choice("method", method, _WINSORIZE_METHODS)
    check_choice("std_weights", std_weights, _STD_WEIGHTS)
    if method == "quantile":
        check_fractions(lower, upper)
    else:
        check_n_sigma(n_sigma)
    if method != "sigma":
        _reject_weights(weights, method)


def winsorize_core(
    x: pl.Expr,
    w: pl.Expr | None,
    *,
    method: WinsorizeMethod,
    lower: float,
    upper: float,
    n_sigma: float,
    std_weights: StdWeights,
) -> pl.Expr:
    """Winsorize a cleaned column ``x`` with cleaned, masked weights ``w``."""
    if method == "quantile":
        return quantile_clip(x, lower, upper)
    if method == "sigma":
        return sigma_clip(x, w, n_sigma, std_weights)
    return mad_clip(x, n_sigma)


def _reject_weights(weights: IntoExpr | None, method: str) -> None:
    if weights is not None:
        msg = (
            f"weights are used only by method='sigma'; method={method!r} clips at "
            "equal-weighted bounds. Drop `weights` or use method='sigma'."
        )
        raise ValueError(msg)


def zscore(
    column: IntoExpr,
    *,
    weights: IntoExpr | None = None,
    std_weights: StdWeights = "equal",
) -> pl.Expr:
    r"""Cross-sectional z-score; use with ``.over(by)``.

    Parameters
    ----------
    column
        Column name or expression; NaN and +-inf count as missing.
    weights
        Weights of the mean (e.g. market cap). Null, NaN, infinite and negative
        weights count as zero.
    std_weights
        ``"equal"`` (Barra USE4: equal-weighted std) or ``"weighted"``.

    Returns
    -------
    pl.Expr
        Float64 expression, null where the input is missing and on groups with zero
        spread or no positive weight.

    Notes
    -----
    With weights :math:`w_i \ge 0`,

    .. math::

        z_i = \frac{x_i - \bar x_w}{s}, \qquad
        \bar x_w = \frac{\sum_i w_i x_i}{\sum_i w_i},

    where :math:`s` is the population std :math:`\sqrt{\tfrac1n \sum_i (x_i - \bar
    x)^2}` for ``std_weights="equal"`` and :math:`\sqrt{\sum_i w_i (x_i - \bar
    x_w)^2 / \sum_i w_i}` for ``"weighted"``. Without weights, :math:`\bar x_w` is the
    plain mean.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({"date": [1, 1, 1], "x": [1.0, 2.0, 3.0]})
    >>> df.select(pf.exprs.zscore("x").over("date"))["x"].round(6).to_list()
    [-1.224745, 0.0, 1.224745]
    """
    check_choice("std_weights", std_weights, _STD_WEIGHTS)
    x = clean(column)
    w = None if weights is None else clean_weights(weights, x)
    return zscore_core(x, w, std_weights)


def zscore_core(x: pl.Expr, w: pl.Expr | None, std_weights: StdWeights) -> pl.Expr:
    """Z-score a cleaned column ``x`` with cleaned, masked weights ``w``."""
    mean = _core.location(x, w)
    std = _core.dispersion(x, w, mean, std_weights)
    # Null where the spread is zero, and where the values (or weights) are beyond what
    # float64 can square: a null the caller reports, never z-scores of 0 from an inf std.
    ok = _core.nonzero_spread(x, std) & _core.in_range(x, w)
    return pl.when(ok).then((x - mean) / std)


def rank(column: IntoExpr, *, gaussian: bool = False) -> pl.Expr:
    r"""Cross-sectional percentile rank in (0, 1); use with ``.over(by)``.

    Parameters
    ----------
    column
        Column name or expression; NaN and +-inf count as missing.
    gaussian
        Map the percentile through the standard normal inverse CDF (van der Waerden
        scores).

    Returns
    -------
    pl.Expr
        ``rank / (n + 1)`` where ``rank`` is the average rank of ties (1 = smallest)
        and ``n`` the number of non-missing values in the group; null for missing.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({"x": [10.0, 30.0, 20.0, 20.0]})
    >>> df.select(pf.exprs.rank("x"))["x"].to_list()
    [0.2, 0.8, 0.5, 0.5]
    """
    return rank_core(clean(column), gaussian=gaussian)


def rank_core(x: pl.Expr, *, gaussian: bool) -> pl.Expr:
    """Percentile rank (or normal score) of a cleaned column ``x``."""
    pct = x.rank("average") / (x.count() + 1)
    return norm_ppf(pct) if gaussian else pct


def fill_missing(column: IntoExpr, *, strategy: FillStrategy = "median") -> pl.Expr:
    """Replace missing values with the group's median, mean or zero; use with ``.over(by)``.

    Parameters
    ----------
    column
        Column name or expression; NaN and +-inf count as missing and are filled too.
    strategy
        ``"median"`` (average of the two middle values for even counts), ``"mean"``
        or ``"zero"``. A group with no value at all stays null.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({"x": [1.0, None, 3.0, 10.0]})
    >>> df.select(pf.exprs.fill_missing("x"))["x"].to_list()
    [1.0, 3.0, 3.0, 10.0]
    """
    check_choice("strategy", strategy, _FILL_STRATEGIES)
    return fill_core(clean(column), strategy)


def fill_core(x: pl.Expr, strategy: FillStrategy) -> pl.Expr:
    """Fill the nulls of a cleaned column ``x`` with the group's statistic."""
    if strategy == "zero":
        return x.fill_null(0.0)
    fill = x.median() if strategy == "median" else x.mean()
    return x.fill_null(fill)


def standardize(
    column: IntoExpr,
    *,
    weights: IntoExpr | None = None,
    lower: float = 0.001,
    upper: float = 0.999,
    n_sigma: float = 3.0,
    std_weights: StdWeights = "equal",
    min_count: int = 1,
) -> pl.Expr:
    """Apply the risk-model descriptor pipeline in one expression; use with ``.over(by)``.

    Quantile clip (equal-weighted), then clip at weighted mean ``+- n_sigma`` std,
    then z-score with the weighted mean and the ``std_weights`` std. See
    :func:`polars_factors.standardization.standardize` for the full description.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({"date": [1] * 4, "x": [1.0, 2.0, 3.0, 4.0], "w": [1.0] * 4})
    >>> expr = pf.exprs.standardize("x", weights="w", lower=0.0, upper=1.0)
    >>> df.select(expr.over("date"))["x"].round(6).to_list()
    [-1.341641, -0.447214, 0.447214, 1.341641]
    """
    check_choice("std_weights", std_weights, _STD_WEIGHTS)
    check_fractions(lower, upper)
    check_n_sigma(n_sigma)
    check_min_count(min_count)
    x = clean(column)
    stage1 = quantile_clip(x, lower, upper)
    w1 = None if weights is None else clean_weights(weights, stage1)
    stage2 = sigma_clip(stage1, w1, n_sigma, std_weights)
    z = zscore(stage2, weights=weights, std_weights=std_weights)
    return pl.when(support_count(x, weights) >= min_count).then(z)


def check_min_count(min_count: int) -> None:
    """Validate ``min_count`` (a non-negative integer)."""
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 0:
        msg = f"`min_count` must be a non-negative integer; got {min_count!r}."
        raise ValueError(msg)


def support_count(x: pl.Expr, weights: IntoExpr | None) -> pl.Expr:
    """Count the rows of the group with a value and (when given) a non-null weight."""
    if weights is None:
        return x.count()
    w = to_expr(weights).cast(pl.Float64)
    return (x.is_not_null() & w.is_not_nan().fill_null(value=False)).sum()


# Wichura (1988), Algorithm AS 241 (PPND16): the normal quantile to ~1e-16 relative
# accuracy from three rational approximations in p.
_AS241_CENTRAL_NUM = (
    3.387132872796366608, 133.14166789178437745, 1971.5909503065514427,
    13731.693765509461125, 45921.953931549871457, 67265.770927008700853,
    33430.575583588128105, 2509.0809287301226727,
)  # fmt: skip
_AS241_CENTRAL_DEN = (
    1.0, 42.313330701600911252, 687.1870074920579083, 5394.1960214247511077,
    21213.794301586595867, 39307.89580009271061, 28729.085735721942674,
    5226.495278852854561,
)  # fmt: skip
_AS241_MID_NUM = (
    1.42343711074968357734, 4.6303378461565452959, 5.7694972214606914055,
    3.64784832476320460504, 1.27045825245236838258, 0.24178072517745061177,
    0.0227238449892691845833, 7.7454501427834140764e-4,
)  # fmt: skip
_AS241_MID_DEN = (
    1.0, 2.05319162663775882187, 1.6763848301838038494, 0.68976733498510000455,
    0.14810397642748007459, 0.0151986665636164571966, 5.475938084995344946e-4,
    1.05075007164441684324e-9,
)  # fmt: skip
_AS241_TAIL_NUM = (
    6.6579046435011037772, 5.4637849111641143699, 1.7848265399172913358,
    0.29656057182850489123, 0.026532189526576123093, 0.0012426609473880784386,
    2.71155556874348757815e-5, 2.01033439929228813265e-7,
)  # fmt: skip
_AS241_TAIL_DEN = (
    1.0, 0.59983220655588793769, 0.13692988092273580531, 0.0148753612908506148525,
    7.868691311456132591e-4, 1.8463183175100546818e-5, 1.4215117583164458887e-7,
    2.04426310338993978564e-15,
)  # fmt: skip


def _poly(coefs: tuple[float, ...], r: pl.Expr) -> pl.Expr:
    acc: pl.Expr = pl.lit(coefs[-1])
    for c in reversed(coefs[:-1]):
        acc = acc * r + c
    return acc


def norm_ppf(p: IntoExpr) -> pl.Expr:
    """Compute the standard normal inverse CDF element-wise (Wichura's AS 241).

    ``p`` outside ``(0, 1)`` gives null; ``p`` of exactly 0 or 1 gives -inf / inf.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> pl.select(pf.exprs.norm_ppf(pl.lit(0.975))).item()
    1.959963984540054
    """
    p = to_expr(p).cast(pl.Float64)
    q = p - 0.5
    r_central = 0.180625 - q * q
    central = q * _poly(_AS241_CENTRAL_NUM, r_central) / _poly(_AS241_CENTRAL_DEN, r_central)
    tail_p = pl.when(q <= 0).then(p).otherwise(1.0 - p)
    r = (-tail_p.log()).sqrt()
    r_mid = r - 1.6
    r_far = r - 5.0
    mid = _poly(_AS241_MID_NUM, r_mid) / _poly(_AS241_MID_DEN, r_mid)
    far = _poly(_AS241_TAIL_NUM, r_far) / _poly(_AS241_TAIL_DEN, r_far)
    magnitude = pl.when(r <= 5.0).then(mid).otherwise(far)
    signed = pl.when(q < 0).then(-magnitude).otherwise(magnitude)
    return (
        pl.when((p > 0) & (p < 1) & (q.abs() <= 0.425))
        .then(central)
        .when((p > 0) & (p < 1))
        .then(signed)
        .when(p == 0)
        .then(float("-inf"))
        .when(p == 1)
        .then(float("inf"))
    )
