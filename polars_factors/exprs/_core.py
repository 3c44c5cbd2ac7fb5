"""Expression primitives shared by the builders: cleaning, weighted moments, clipping.

Everything here returns a ``pl.Expr`` whose aggregations (``sum``, ``std``,
``quantile``, ...) are evaluated per group when the final expression is wrapped in
``.over(by)``, and over the whole column otherwise.
"""

from __future__ import annotations

import polars as pl

from polars_factors.typing import IntoExpr, StdWeights

__all__ = [
    "MAX_MAGNITUDE",
    "MIN_MAGNITUDE",
    "ZERO_SPREAD_RTOL",
    "clean",
    "clean_weights",
    "clip_between",
    "dispersion",
    "in_range",
    "location",
    "nonzero_spread",
    "to_expr",
]

#: A cross-section whose standard deviation is at most this multiple of its largest
#: absolute value is treated as constant (floating-point round-off makes the std of
#: identical values ~1e-17 rather than exactly 0).
ZERO_SPREAD_RTOL = 1e-13


def to_expr(value: IntoExpr) -> pl.Expr:
    """Column name or expression to expression."""
    return pl.col(value) if isinstance(value, str) else value


def clean(value: IntoExpr) -> pl.Expr:
    """Float64 with NaN and +-inf turned into null (missing)."""
    x = to_expr(value).cast(pl.Float64)
    return pl.when(x.is_finite()).then(x)


def clean_weights(weights: IntoExpr, x: pl.Expr) -> pl.Expr:
    """Weights usable for the rows where ``x`` is present, else 0.

    Null, NaN, infinite and negative weights count as zero weight.
    """
    w = to_expr(weights).cast(pl.Float64)
    usable = x.is_not_null() & w.is_finite() & (w > 0)
    return pl.when(usable).then(w).otherwise(pl.lit(0.0))


def location(x: pl.Expr, w: pl.Expr | None) -> pl.Expr:
    """Mean of ``x``, weighted by cleaned weights ``w`` when given (null if no weight)."""
    if w is None:
        return x.mean()
    total = w.sum()
    return pl.when(total > 0).then((x * w).sum() / total)


def dispersion(x: pl.Expr, w: pl.Expr | None, mean: pl.Expr, std_weights: StdWeights) -> pl.Expr:
    """Compute the population standard deviation of ``x``.

    ``std_weights="equal"`` (or no weights): the equal-weighted std around the
    equal-weighted mean. ``"weighted"``: ``sqrt(sum w (x - mean)^2 / sum w)`` around
    the weighted ``mean``.
    """
    if w is None or std_weights == "equal":
        return x.std(ddof=0)
    total = w.sum()
    return pl.when(total > 0).then(((x - mean).pow(2) * w).sum().truediv(total).sqrt())


def nonzero_spread(x: pl.Expr, std: pl.Expr) -> pl.Expr:
    """Tell whether ``std`` is a usable (positive, not round-off) scale for ``x``."""
    return std > ZERO_SPREAD_RTOL * x.abs().max()


#: Magnitudes whose squares, and sums of many of them, stay normal float64 numbers.
MAX_MAGNITUDE = 1e145
MIN_MAGNITUDE = 1e-140


def in_range(x: pl.Expr, w: pl.Expr | None = None) -> pl.Expr:
    """Return whether the group's largest ``|x|`` (and weight) can be squared in float64.

    Above :data:`MAX_MAGNITUDE` squares overflow (an inf std gives z-scores of 0);
    below :data:`MIN_MAGNITUDE` they underflow to subnormals or 0 (digits are lost). An
    all-zero group is in range (its spread is zero, which has its own rule).
    """
    top = x.abs().max()
    ok = top.is_between(MIN_MAGNITUDE, MAX_MAGNITUDE) | (top == 0)
    if w is not None:
        # Weighted squares w * x**2 must fit too (an overflow gives inf, which fails).
        w_top = w.max()
        ok &= (w_top * top * top <= 1e300) & ((w_top >= MIN_MAGNITUDE) | (w_top == 0))
    return ok


def clip_between(x: pl.Expr, lower: pl.Expr, upper: pl.Expr) -> pl.Expr:
    """Clip ``x`` to ``[lower, upper]``; a null bound leaves that side unclipped."""
    # ``Expr.clip`` references ``x`` once, which keeps nested builders small.
    return x.clip(lower, upper)
