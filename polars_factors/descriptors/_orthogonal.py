r"""Per-date weighted residuals on one or two regressors, as Polars expressions.

The USE4 orthogonalisations (nonlinear size against size, residual volatility against
beta and size, liquidity against size) regress a style on one or two others per date,
with an intercept and regression weights. With at most two regressors the normal
equations of the centred problem are solved in closed form, in a few per-date sums
(``.over(date)``): they stay in the plan and read nothing at call time (unlike
:func:`polars_factors.neutralize`, which solves a general fit).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from polars_factors import _frame

__all__ = ["SINGULAR_RTOL", "residual"]

#: The fit of a date is singular (null residuals) where the determinant of the centred
#: normal equations is at most this multiple of the product of its diagonal (one
#: regressor: where its weighted variance is at most this multiple of its mean square).
SINGULAR_RTOL = 1e-12


def residual(
    lf: pl.LazyFrame,
    y: str,
    xs: Sequence[str],
    weights: pl.Expr,
    *,
    by: str,
    name: str,
    taken: set[str],
) -> pl.LazyFrame:
    r"""Add ``name``: the residual of a per-``by`` weighted least-squares fit of ``y`` on ``xs``.

    Parameters
    ----------
    lf
        The frame.
    y
        The response column, clean (null for missing; no NaN).
    xs
        One or two regressor columns, clean.
    weights
        Regression weights, clean and positive where used (null or <= 0: left out).
    by
        The group column (the date).
    name
        The output column.
    taken
        The frame's column names (the temporary columns are named from it).

    Returns
    -------
    pl.LazyFrame
        ``lf`` with ``name``: :math:`y - a - \sum_k b_k x_k` on the rows where ``y``,
        every ``x`` and a positive weight are present (the rows of the fit); null
        elsewhere and on groups whose fit is singular.

    Notes
    -----
    With :math:`\bar v = \sum w v / \sum w` over the rows of the fit and centred
    values :math:`\tilde v = v - \bar v`, the slopes solve
    :math:`S b = s` with :math:`S_{jk} = \sum w \tilde x_j \tilde x_k` and
    :math:`s_k = \sum w \tilde x_k \tilde y` (Cramer's rule for two regressors), and
    the residual is :math:`\tilde y - \sum_k b_k \tilde x_k`. Each stage is a column
    of its own, so that no window expression is copied into the ones above it.
    """
    if len(xs) not in (1, 2):  # pragma: no cover - the presets use one or two
        msg = f"residual() takes one or two regressors; got {len(xs)}."
        raise ValueError(msg)
    used = pl.col(y).is_not_null() & (weights > 0).fill_null(value=False)
    for x in xs:
        used = used & pl.col(x).is_not_null()
    w = _frame.temp_name(taken, "w")
    lf = lf.with_columns(pl.when(used).then(weights).alias(w))
    centred = {v: _frame.temp_name(taken, "c") for v in [y, *xs]}
    lf = lf.with_columns(
        (pl.col(v) - (pl.col(w) * pl.col(v)).sum().over(by) / pl.col(w).sum().over(by)).alias(c)
        for v, c in centred.items()
    )
    yc = pl.col(centred[y])
    xc = [pl.col(centred[x]) for x in xs]

    def moment(a: pl.Expr, b: pl.Expr) -> pl.Expr:
        return (pl.col(w) * a * b).sum().over(by)

    names = [_frame.temp_name(taken, "s") for _ in range(5)]
    if len(xc) == 1:
        (x1,) = xc
        lf = lf.with_columns(
            moment(x1, x1).alias(names[0]),
            moment(x1, yc).alias(names[1]),
            moment(pl.col(xs[0]), pl.col(xs[0])).alias(names[2]),
        )
        s11, s1y, raw = (pl.col(n) for n in names[:3])
        ok = s11 > SINGULAR_RTOL * raw
        fitted = s1y / s11 * x1
    else:
        x1, x2 = xc
        lf = lf.with_columns(
            moment(x1, x1).alias(names[0]),
            moment(x1, x2).alias(names[1]),
            moment(x2, x2).alias(names[2]),
            moment(x1, yc).alias(names[3]),
            moment(x2, yc).alias(names[4]),
        )
        s11, s12, s22, s1y, s2y = (pl.col(n) for n in names)
        det = s11 * s22 - s12 * s12
        ok = det > SINGULAR_RTOL * s11 * s22
        fitted = ((s22 * s1y - s12 * s2y) * x1 + (s11 * s2y - s12 * s1y) * x2) / det
    out = lf.with_columns(pl.when(used & ok).then(yc - fitted).alias(name))
    return out.drop(w, *centred.values(), *names[: 3 if len(xc) == 1 else 5])
