"""Least squares from sums of cross-products, solved per row as Polars expressions.

A time-series regression labelled at every row of a panel (rolling, expanding) has one
small system per row: millions of ``k x k`` solves. They are done column-wise, as a
Cholesky factorization written out in Polars expressions, so that the
per-row work stays in Polars (no numpy on the panel, no Python per row) and runs on any
engine. The factorization is unrolled for the ``k`` regressors at hand; every
intermediate is a column, computed in stages (one ``with_columns`` per step) so that
no expression tree repeats a sub-tree.

Notation (all sums are weighted, over the rows of one window):

- ``W = sum w``; ``Sx_i = sum w x_i``; ``Sy = sum w y``,
- ``Sxx_ij = sum w x_i x_j``; ``Sxy_i = sum w x_i y``; ``Syy = sum w y^2``.

With an intercept the moments are centred by the window's weighted means (the inputs
are already shifted by a per-asset constant, so the centring removes little and loses
no digits); without one they are used as they are. The slope system
``Sxx_c beta = Sxy_c`` is factored as ``L L'`` and solved; ``L^-1`` gives the diagonal
of the inverse for the standard errors. No explicit Jacobi scaling is needed: the
rounding errors of Cholesky do not depend on the scaling of the rows and columns (van
der Sluis), and the collinearity test is relative, ``pivot_j / Sxx_jj``, which is one
minus the R^2 of regressor ``j`` on the regressors before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

__all__ = [
    "PIVOT_TOL",
    "SUM_MIN",
    "SumNames",
    "sandwich_inputs",
    "sandwich_stages",
    "solve_stages",
    "sum_of",
]

#: A regressor whose scaled Cholesky pivot (one minus its R^2 on the regressors before
#: it, intercept included) is at most this is treated as collinear: the row gets nulls.
PIVOT_TOL = 1e-10
#: A positive sum of squares below this has lost its digits to underflow (values below
#: about 1e-145): the row gets nulls, like one whose sums overflow to inf.
SUM_MIN = 1e-290


@dataclass(frozen=True)
class SumNames:
    """Column names of the window sums (see the module docstring)."""

    n_obs: str
    w: str | None  # sum of weights; None without an intercept
    x: tuple[str, ...]  # sum w x_i (intercept only)
    y: str | None  # sum w y (intercept only)
    xx: dict[tuple[int, int], str]  # (i, j) with i <= j
    xy: tuple[str, ...]
    yy: str


def sum_of(terms: Sequence[pl.Expr]) -> pl.Expr:
    """Return the sum of the expressions, as a chain of additions (no horizontal op)."""
    out = terms[0]
    for term in terms[1:]:
        out = out + term
    return out


def solve_stages(
    sums: SumNames,
    *,
    k: int,
    intercept: bool,
    shift_x: Sequence[pl.Expr],
    shift_y: pl.Expr,
    valid: pl.Expr,
    prefix: str,
) -> tuple[list[list[pl.Expr]], dict[str, pl.Expr]]:
    """Return the ``with_columns`` stages and the final estimates.

    ``shift_x``/``shift_y`` are the per-asset constants subtracted from the data before
    summing (zero without an intercept); ``valid`` is true where the row has a window
    to solve (enough observations). The estimates are keyed ``alpha``, ``beta_i``,
    ``se_alpha``, ``se_beta_i``, ``r2`` (``i`` = regressor position).
    """
    solver = _Unrolled(sums, k=k, intercept=intercept, prefix=prefix)
    stages = [
        solver.means(),
        solver.centred(valid),
        *solver.cholesky(),
        *solver.substitutions(),
        *solver.inverse(),
        solver.residuals(),
    ]
    return [s for s in stages if s], solver.estimates(shift_x, shift_y)


def sandwich_stages(
    sums: SumNames,
    *,
    k: int,
    intercept: bool,
    shift_x: Sequence[pl.Expr],
    meat: dict[tuple[int, int], pl.Expr],
    scale: pl.Expr,
    prefix: str,
) -> tuple[list[list[pl.Expr]], dict[str, pl.Expr]]:
    """Return the stages and the sandwich standard errors, after :func:`solve_stages`.

    ``meat[(r, s)]`` (``r <= s``) is the meat in the coordinates of the summed data
    (the shifted regressors, the intercept first when there is one); ``scale``
    multiplies the covariance (HC1's ``n / (n - p)``). The bread is the solver's:
    in window-centred coordinates it is ``diag(1/W, C^-1)``, so the meat is centred
    the same way (``G M G'``) and the intercept mapped back to the raw data. The
    estimates are keyed ``se_alpha`` and ``se_beta_i``, null where the classical
    ones are.
    """
    return _Unrolled(sums, k=k, intercept=intercept, prefix=prefix).sandwich(
        meat, scale=scale, shift_x=shift_x
    )


def sandwich_inputs(sums: SumNames, *, k: int, intercept: bool, prefix: str) -> list[str]:
    """Return the solver's columns that :func:`sandwich_stages` and the residuals read.

    The residuals' coefficients (``beta``, and ``my``/``mx`` for the intercept), the
    inverse Cholesky factor, the flags and the sums of weights and observations.
    """
    names = [f"{prefix}beta{i}" for i in range(k)]
    names += [f"{prefix}m{i}_{j}" for i in range(k) for j in range(i + 1)]
    names += [f"{prefix}ok", *(f"{prefix}ok{j}" for j in range(k)), sums.n_obs]
    if intercept:
        assert sums.w is not None
        names += [f"{prefix}my", *(f"{prefix}mx{i}" for i in range(k)), sums.w]
    return list(dict.fromkeys(names))


class _Unrolled:
    """Builders of the solver's stages; every intermediate column starts with ``prefix``.

    Rows that cannot be solved (too few observations, no spread, a failed pivot) are
    computed with harmless stand-in values and flagged, and every estimate is masked
    with the flags at the end: arithmetic on columns without nulls is faster.
    """

    def __init__(self, sums: SumNames, *, k: int, intercept: bool, prefix: str) -> None:
        self.sums = sums
        self.k = k
        self.intercept = intercept
        self.p = prefix

    def col(self, name: str) -> pl.Expr:
        return pl.col(f"{self.p}{name}")

    def means(self) -> list[pl.Expr]:
        """Weighted window means of the (shifted) regressors and response."""
        if not self.intercept:
            return []
        assert self.sums.w is not None
        assert self.sums.y is not None
        w_total = pl.col(self.sums.w)
        out = [(pl.col(s) / w_total).alias(f"{self.p}mx{i}") for i, s in enumerate(self.sums.x)]
        out.append((pl.col(self.sums.y) / w_total).alias(f"{self.p}my"))
        return out

    def _centre(self, raw: str, i: str, j: str) -> pl.Expr:
        if not self.intercept:
            return pl.col(raw)
        assert self.sums.w is not None
        return pl.col(raw) - pl.col(self.sums.w) * self.col(i) * self.col(j)

    def centred(self, valid: pl.Expr) -> list[pl.Expr]:
        """Centred moments ``C = Sxx_c``, ``c = Sxy_c``, the TSS and the spread flag.

        A regressor with no spread in the window has a centred ``Sxx_ii`` that is
        round-off relative to its sum of squares about the asset's mean (which can
        also be exactly zero): it is collinear with the intercept, and the row is
        flagged.
        """
        k = self.k
        out = [
            self._centre(self.sums.xx[(j, i)], f"mx{i}", f"mx{j}").alias(f"{self.p}c{i}_{j}")
            for j in range(k)
            for i in range(j, k)
        ]
        out.extend(
            self._centre(self.sums.xy[i], f"mx{i}", "my").alias(f"{self.p}cy{i}") for i in range(k)
        )
        out.append(self._centre(self.sums.yy, "my", "my").alias(f"{self.p}syy"))
        # Sums of squares that overflowed (values near 1e154 or more) or underflowed
        # give no estimate rather than a wrong one.
        yy = pl.col(self.sums.yy)
        ok = valid & yy.is_finite() & ((yy == 0) | (yy >= SUM_MIN))
        ok = ok & self._centre(self.sums.yy, "my", "my").is_finite()
        for i in range(k):
            sxx_ii = self._centre(self.sums.xx[(i, i)], f"mx{i}", f"mx{i}")
            raw_ii = pl.col(self.sums.xx[(i, i)])
            ok = ok & (sxx_ii > PIVOT_TOL * raw_ii if self.intercept else sxx_ii > 0)
            ok = ok & sxx_ii.is_finite() & raw_ii.is_finite() & (raw_ii >= SUM_MIN)
        out.append(ok.alias(f"{self.p}ok"))
        return out

    def c(self, i: int, j: int) -> pl.Expr:
        return self.col(f"c{max(i, j)}_{min(i, j)}")

    def low(self, i: int, j: int) -> pl.Expr:
        return self.col(f"l{i}_{j}")

    def inv(self, i: int, j: int) -> pl.Expr:
        return self.col(f"m{i}_{j}")

    def cholesky(self) -> list[list[pl.Expr]]:
        """Factor ``C = L L'`` column by column, flagging collinear regressors.

        The pivot of column ``j`` over ``C_jj`` is one minus the R^2 of regressor ``j``
        on the regressors before it; at or below PIVOT_TOL the row is flagged, and a
        stand-in pivot ``C_jj`` keeps the arithmetic finite.
        """
        stages = []
        low = self.low
        for j in range(self.k):
            c_jj = self.c(j, j)
            pivot = c_jj
            if j:
                pivot = pivot - sum_of([low(j, m) * low(j, m) for m in range(j)])
            good = pivot > PIVOT_TOL * c_jj
            diag = pl.when(good).then(pivot).otherwise(c_jj.abs() + 1.0).sqrt()
            stages.append([diag.alias(f"{self.p}l{j}_{j}"), good.alias(f"{self.p}ok{j}")])
            below = []
            for i in range(j + 1, self.k):
                num = self.c(i, j)
                if j:
                    num = num - sum_of([low(i, m) * low(j, m) for m in range(j)])
                below.append((num / low(j, j)).alias(f"{self.p}l{i}_{j}"))
            stages.append(below)
        return stages

    def substitutions(self) -> list[list[pl.Expr]]:
        """Forward substitution ``L z = c``, then back substitution ``L' beta = z``."""
        stages = []
        low, k = self.low, self.k
        for i in range(k):
            num = self.col(f"cy{i}")
            if i:
                num = num - sum_of([low(i, m) * self.col(f"z{m}") for m in range(i)])
            stages.append([(num / low(i, i)).alias(f"{self.p}z{i}")])
        for i in reversed(range(k)):
            num = self.col(f"z{i}")
            if i < k - 1:
                num = num - sum_of([low(m, i) * self.col(f"beta{m}") for m in range(i + 1, k)])
            stages.append([(num / low(i, i)).alias(f"{self.p}beta{i}")])
        return stages

    def inverse(self) -> list[list[pl.Expr]]:
        """Invert ``M = L^-1`` row by row: ``M_ii = 1/L_ii``, ``M_ij = -sum L_im M_mj / L_ii``."""
        stages = []
        low, inv = self.low, self.inv
        for i in range(self.k):
            row = [(pl.lit(1.0) / low(i, i)).alias(f"{self.p}m{i}_{i}")]
            row.extend(
                (-sum_of([low(i, m) * inv(m, j) for m in range(j, i)]) / low(i, i)).alias(
                    f"{self.p}m{i}_{j}"
                )
                for j in range(i)
            )
            stages.append(row)
        return stages

    def cinv(self, i: int, j: int) -> pl.Expr:
        """Return entry ``(i, j)`` of ``C^-1 = M'M`` (``M = L^-1``, lower triangular)."""
        return sum_of([self.inv(m, i) * self.inv(m, j) for m in range(max(i, j), self.k)])

    def solved(self) -> pl.Expr:
        """Return the flag of the rows solved: a window, spread, and every pivot good."""
        out = self.col("ok").fill_null(value=False)
        for j in range(self.k):
            out = out & self.col(f"ok{j}")
        return out

    def sandwich(
        self, meat: dict[tuple[int, int], pl.Expr], *, scale: pl.Expr, shift_x: Sequence[pl.Expr]
    ) -> tuple[list[list[pl.Expr]], dict[str, pl.Expr]]:
        """Return the stages and standard errors (see :func:`sandwich_stages`)."""
        k, o = self.k, int(self.intercept)

        def m(r: int, s: int) -> pl.Expr:
            return meat[(min(r, s), max(r, s))]

        def mx(i: int) -> pl.Expr:
            return self.col(f"mx{i}")

        # The meat centred by the window means (regressors i, j; the intercept 0).
        centred = []
        for i in range(k):
            for j in range(i, k):
                e = m(o + i, o + j)
                if self.intercept:
                    e = e - mx(i) * m(0, o + j) - mx(j) * m(0, o + i) + mx(i) * mx(j) * m(0, 0)
                centred.append(e.alias(f"{self.p}q{i}_{j}"))
            if self.intercept:
                centred.append((m(0, o + i) - mx(i) * m(0, 0)).alias(f"{self.p}q0x{i}"))
        pairs = [(i, j) for i in range(k) for j in range(i, k)]
        centred.extend(self.cinv(i, j).alias(f"{self.p}ci{i}_{j}") for i, j in pairs)

        def q(i: int, j: int) -> pl.Expr:
            return self.col(f"q{min(i, j)}_{max(i, j)}")

        def ci(i: int, j: int) -> pl.Expr:
            return self.col(f"ci{min(i, j)}_{max(i, j)}")

        def quad(v: Sequence[pl.Expr]) -> pl.Expr:
            terms = [v[r] * v[r] * q(r, r) for r in range(k)]
            terms += [2.0 * v[r] * v[s] * q(r, s) for r in range(k) for s in range(r + 1, k)]
            return sum_of(terms)

        solved = self.solved()
        df_ok = pl.col(self.sums.n_obs) > (k + o)

        def se(var: pl.Expr) -> pl.Expr:
            return pl.when(solved & df_ok).then((scale * var.clip(lower_bound=0.0)).sqrt())

        out = {f"se_beta_{i}": se(quad([ci(i, r) for r in range(k)])) for i in range(k)}
        stages = [centred]
        if self.intercept:
            assert self.sums.w is not None
            inv_w = pl.lit(1.0) / pl.col(self.sums.w)
            raw_mx = [mx(j) + shift_x[j] for j in range(k)]
            v = [sum_of([ci(r, j) * raw_mx[j] for j in range(k)]) for r in range(k)]
            stages.append([e.alias(f"{self.p}v{r}") for r, e in enumerate(v)])
            vs = [self.col(f"v{r}") for r in range(k)]
            var_a = (
                self.col("q00") * inv_w * inv_w
                - 2.0 * inv_w * sum_of([vs[r] * self.col(f"q0x{r}") for r in range(k)])
                + quad(vs)
            )
            stages[0].append(m(0, 0).alias(f"{self.p}q00"))
            out["se_alpha"] = se(var_a)
        return stages, out

    def residuals(self) -> list[pl.Expr]:
        """Compute SSR = TSS - z'z and sigma^2 = SSR / (n - p)."""
        z = [self.col(f"z{i}") for i in range(self.k)]
        ssr = (self.col("syy") - sum_of([z_i * z_i for z_i in z])).clip(lower_bound=0.0)
        df_resid = pl.col(self.sums.n_obs).cast(pl.Float64) - (self.k + int(self.intercept))
        return [
            ssr.alias(f"{self.p}ssr"),
            pl.when(df_resid > 0).then(ssr / df_resid).alias(f"{self.p}s2"),
        ]

    def estimates(self, shift_x: Sequence[pl.Expr], shift_y: pl.Expr) -> dict[str, pl.Expr]:
        """Coefficients, standard errors and R^2 from the staged columns."""
        k, inv = self.k, self.inv
        solved = self.solved()
        betas = [self.col(f"beta{i}") for i in range(k)]
        s2 = self.col("s2")
        out: dict[str, pl.Expr] = {}
        for i in range(k):
            diag = sum_of([inv(m, i) * inv(m, i) for m in range(i, k)])
            out[f"beta_{i}"] = pl.when(solved).then(betas[i])
            out[f"se_beta_{i}"] = pl.when(solved).then((s2 * diag).sqrt())
        if self.intercept:
            assert self.sums.w is not None
            raw_mx = [self.col(f"mx{i}") + shift_x[i] for i in range(k)]
            alpha = self.col("my") + shift_y - sum_of([raw_mx[i] * betas[i] for i in range(k)])
            # (X'WX)^-1 at the intercept: 1/W + mx' Sxx^-1 mx, with mx the raw means.
            u = [sum_of([inv(i, m) * raw_mx[m] for m in range(i + 1)]) for i in range(k)]
            quad = sum_of([u_i * u_i for u_i in u])
            out["alpha"] = pl.when(solved).then(alpha)
            out["se_alpha"] = pl.when(solved).then(
                (s2 * (pl.lit(1.0) / pl.col(self.sums.w) + quad)).sqrt()
            )
        r2 = pl.lit(1.0) - self.col("ssr") / self.col("syy")
        out["r2"] = pl.when(solved & (self.col("syy") > 0)).then(r2)
        return out
