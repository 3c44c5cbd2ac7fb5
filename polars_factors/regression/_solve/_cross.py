r"""Cross-sectional factor models per date, from ``(date, industry)`` cell sums (numpy only).

The model of one date, for the rows used on that date, is

.. math::

    y_i = \sum_{k \le P} x_{ik} b_k + [\,f_c\,] + [\,f_{j(i)}\,] + e_i, \qquad
    \min \sum_i w_i e_i^2,

with ``P`` styles, an optional country factor and optional industry factors. The
parameter vector of a date is laid out as ``(styles, country, industries)``, ``K``
entries in all, the same for every date; a factor with no data on a date (an empty
industry) is *absent* there and gets NaN.

Industry dummies are never built: the blocks of :math:`X'WX` that involve them are the
cell sums themselves (see :func:`assemble`). With industries and a country factor the
design is exactly collinear; the Barra constraint :math:`\sum_j c_j f_j = 0` is imposed
by substitution, :math:`f = T g`, where ``T`` (:func:`constraint_transform`) writes the
largest-share industry as minus the share-weighted sum of the others and leaves that
industry's slot of ``g`` unused. The reduced system :math:`T'X'WXT\,g = T'X'Wy` is
solved like any other; unused and absent slots have a zero diagonal and are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from polars_factors.regression._solve._normal import group_sum, unpack_symmetric
from polars_factors.regression._solve._types import BoolArray, FloatArray, IntArray

__all__ = [
    "COND_OK",
    "COND_SINGULAR",
    "GAUSSIAN_3_4",
    "SSR_RTOL",
    "STATUS",
    "Design",
    "IrlsState",
    "LinearFit",
    "assemble",
    "classical_cov",
    "constraint_transform",
    "huber_h1_factor",
    "identity_transforms",
    "irls_converged",
    "r_squared",
    "resolve",
    "scaled_cov",
    "solve_design",
    "ssr_at",
    "std_errors",
]

#: Per-date status codes; their names are what users see in ``stats["status"]``.
STATUS = (
    "ok",
    "ill_conditioned",
    "singular",
    "too_few_assets",
    "no_data",
    "max_iter",
    "no_constraint_weight",
    "overflow",
)
OK, ILL, SINGULAR, TOO_FEW, NO_DATA, MAX_ITER, NO_CONSTRAINT, OVERFLOW = range(len(STATUS))

#: Above this Jacobi-scaled condition number a date is solved by SVD least squares.
COND_OK = 1e8
#: Above this the design is treated as singular: null returns, never a solve.
COND_SINGULAR = 1e12
#: A residual sum of squares below this fraction of :math:`y'Wy` is rounding noise of the
#: sums (the fit is exact at their precision): the residual variance is taken as 0.
SSR_RTOL = 1e-12
#: ``scipy.stats.norm.ppf(0.75)``: the MAD of a standard normal (statsmodels' constant).
GAUSSIAN_3_4 = 0.6744897501960817


@dataclass(frozen=True)
class Design:
    r"""Normal equations of the full factor model, one system per date.

    Attributes
    ----------
    xtx, xty, yty
        ``(G, K, K)`` :math:`X'WX`, ``(G, K)`` :math:`X'Wy`, ``(G,)`` :math:`y'Wy`.
    n_obs
        ``(G,)`` rows used.
    w_sum, wy_sum
        ``(G,)`` :math:`\sum w` and :math:`\sum w y` (for the centred R²).
    industry_weight
        ``(G, J)`` :math:`\sum w` per industry (0 where the industry is empty).
    wx_sum
        ``(G, P)`` :math:`\sum w x` of each style (for the centred VIFs).
    industry_n
        ``(G, J)`` rows used per industry.
    """

    xtx: FloatArray
    xty: FloatArray
    yty: FloatArray
    n_obs: FloatArray
    w_sum: FloatArray
    wy_sum: FloatArray
    industry_weight: FloatArray
    wx_sum: FloatArray
    industry_n: FloatArray

    @property
    def present(self) -> BoolArray:
        """``(G, K)`` True where the factor has data on the date (positive diagonal)."""
        return np.asarray(np.diagonal(self.xtx, axis1=1, axis2=2) > 0)

    def take(self, idx: IntArray) -> Design:
        """Select the systems of the dates ``idx``."""
        return Design(
            xtx=self.xtx[idx], xty=self.xty[idx], yty=self.yty[idx], n_obs=self.n_obs[idx],
            w_sum=self.w_sum[idx], wy_sum=self.wy_sum[idx],
            industry_weight=self.industry_weight[idx], wx_sum=self.wx_sum[idx],
            industry_n=self.industry_n[idx],
        )  # fmt: skip

    def minus(self, other: Design) -> Design:
        """Subtract the sums of ``other`` (the same rows keep their count)."""
        return Design(
            xtx=self.xtx - other.xtx, xty=self.xty - other.xty, yty=self.yty - other.yty,
            n_obs=self.n_obs, w_sum=self.w_sum - other.w_sum, wy_sum=self.wy_sum - other.wy_sum,
            industry_weight=self.industry_weight - other.industry_weight,
            wx_sum=self.wx_sum - other.wx_sum, industry_n=self.industry_n,
        )  # fmt: skip


def assemble(
    *,
    group: IntArray,
    industry: IntArray | None,
    count: FloatArray,
    weight: FloatArray,
    first: FloatArray,
    second: FloatArray,
    n_groups: int,
    n_industries: int,
    country: bool,
    dates: IntArray | None = None,
) -> Design:
    r"""Build each date's :math:`X'WX`, :math:`X'Wy` from its cell sums.

    Parameters
    ----------
    group, industry
        ``(C,)`` date index in ``[0, G)`` and industry index in ``[0, J)`` of each cell
        (``-1``: no industry; such cells must carry no weight). ``industry`` may be
        None when ``J = 0``.
    count
        ``(C,)`` rows used in the cell.
    weight, first, second
        ``(C,)`` :math:`\sum w`, ``(C, P+1)`` :math:`\sum w z` and packed
        ``(C, (P+1)(P+2)/2)`` :math:`\sum w z z'` of the cell, :math:`z = (x_1..x_P, y)`.
    n_groups, n_industries
        ``G`` and ``J``.
    country
        Whether the model has a country factor (slot ``P``).
    dates
        Build only the systems of these date indexes, in this order (cells of other
        dates are ignored); default all ``G``.

    Returns
    -------
    Design
    """
    g = np.asarray(group, dtype=np.intp)
    if dates is not None:
        position = np.full(n_groups, -1, dtype=np.intp)
        position[dates] = np.arange(len(dates))
        g = position[g]
        keep = g >= 0
        g, n_groups = g[keep], len(dates)
        count, weight = np.asarray(count)[keep], np.asarray(weight)[keep]
        first, second = np.asarray(first)[keep], np.asarray(second)[keep]
        industry = None if industry is None else np.asarray(industry)[keep]
    s = np.asarray(first, dtype=np.float64)
    p = s.shape[1] - 1
    w = np.asarray(weight, dtype=np.float64)
    k = p + int(country) + n_industries
    # Summed per date while packed: (P+1)(P+2)/2 sums per cell instead of (P+1)^2.
    q_g = unpack_symmetric(group_sum(np.asarray(second, dtype=np.float64), g, n_groups), p + 1)
    s_g = group_sum(s, g, n_groups)
    w_g = group_sum(w, g, n_groups)
    xtx = np.zeros((n_groups, k, k))
    xty = np.zeros((n_groups, k))
    xtx[:, :p, :p] = q_g[:, :p, :p]
    xty[:, :p] = q_g[:, :p, p]
    if country:
        xtx[:, p, :p] = s_g[:, :p]
        xtx[:, :p, p] = s_g[:, :p]
        xtx[:, p, p] = w_g
        xty[:, p] = s_g[:, p]
    w_j = np.zeros((n_groups, n_industries))
    n_j = np.zeros((n_groups, n_industries))
    if n_industries and industry is not None:
        j = np.asarray(industry, dtype=np.intp)
        keep = j >= 0
        cell = g[keep] * n_industries + j[keep]
        n_cells = n_groups * n_industries
        w_j = group_sum(w[keep], cell, n_cells).reshape(n_groups, n_industries)
        n_j = group_sum(np.asarray(count, dtype=np.float64)[keep], cell, n_cells).reshape(
            n_groups, n_industries
        )
        s_j = group_sum(s[keep], cell, n_cells).reshape(n_groups, n_industries, p + 1)
        idx = p + int(country) + np.arange(n_industries)
        xtx[:, idx, idx] = w_j
        xtx[:, idx, :p] = s_j[:, :, :p]
        xtx[:, :p, idx] = np.swapaxes(s_j[:, :, :p], 1, 2)
        xty[:, idx] = s_j[:, :, p]
        if country:
            xtx[:, idx, p] = w_j
            xtx[:, p, idx] = w_j
    return Design(
        xtx=xtx,
        xty=xty,
        yty=q_g[:, p, p],
        n_obs=group_sum(np.asarray(count, dtype=np.float64), g, n_groups),
        w_sum=w_g,
        wy_sum=s_g[:, p],
        industry_weight=w_j,
        wx_sum=s_g[:, :p],
        industry_n=n_j,
    )


def identity_transforms(n_groups: int, n_params: int) -> FloatArray:
    """``(G, K, K)`` identities: the transforms of an unconstrained model."""
    return np.asarray(np.broadcast_to(np.eye(n_params), (n_groups, n_params, n_params)).copy())


def constraint_transform(
    industry_weight: FloatArray, shares: FloatArray | None, *, offset: int, n_params: int
) -> tuple[FloatArray, BoolArray]:
    r"""Substitution matrices :math:`T` with :math:`f = T g` for the Barra constraint.

    Parameters
    ----------
    industry_weight
        ``(G, J)`` regression weight per industry; an industry is present on a date
        when it is positive.
    shares
        ``(G, J)`` constraint weight per industry (e.g. summed market cap), or None for
        equal shares of the present industries.
    offset
        Slot of the first industry in the parameter vector.
    n_params
        ``K``.

    Returns
    -------
    transform
        ``(G, K, K)``: the identity, except the row of the pivot industry ``p`` (the
        present industry with the largest share), which is
        :math:`f_p = -\sum_{j \ne p} (c_j / c_p)\, g_j` with :math:`c` the shares of the
        present industries, normalized to sum to one.
    ok
        ``(G,)`` False where the shares of the present industries sum to zero (the
        transform is then the identity and the constraint cannot be imposed).
    """
    present = np.asarray(industry_weight) > 0
    raw = np.ones(present.shape) if shares is None else np.asarray(shares, dtype=np.float64)
    c = np.where(present, np.where(np.isfinite(raw), raw, 0.0), 0.0)
    total = c.sum(axis=1)
    ok: BoolArray = np.asarray(total > 0)
    n_groups, n_ind = c.shape
    transform = identity_transforms(n_groups, n_params)
    if n_ind == 0:
        return transform, ok
    pivot = np.argmax(c, axis=1)
    rows = np.flatnonzero(ok)
    c_p = c[rows, pivot[rows]]
    prow = offset + pivot[rows]
    transform[rows, prow, offset : offset + n_ind] = -c[rows] / c_p[:, None]
    transform[rows, prow, prow] = 0.0
    return transform, ok


@dataclass(frozen=True)
class LinearFit:
    r"""Weighted least-squares solutions of a batch of (possibly reduced) designs.

    Attributes
    ----------
    coef
        ``(G, K)`` reduced coefficients ``g`` (0 in unused or absent slots).
    factor_returns
        ``(G, K)`` :math:`f = T g`; NaN for absent factors and failed dates.
    inverse
        ``(G, K, K)`` :math:`(T'X'WXT)^{-1}` on the free slots, 0 elsewhere.
    cond
        ``(G,)`` condition number of the Jacobi-scaled reduced system.
    n_free
        ``(G,)`` number of free parameters (the rank of a well-posed design).
    status
        ``(G,)`` index into :data:`STATUS`.
    ssr
        ``(G,)`` :math:`\sum w e^2` from the sums (clipped at 0).
    """

    coef: FloatArray
    factor_returns: FloatArray
    inverse: FloatArray
    cond: FloatArray
    n_free: IntArray
    status: IntArray
    ssr: FloatArray

    @property
    def solved(self) -> BoolArray:
        """``(G,)`` True where the date has factor returns."""
        return np.asarray((self.status == OK) | (self.status == ILL))


def _reduce(design: Design, t: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Form the reduced normal equations :math:`T'X'WXT` and :math:`T'X'Wy`."""
    t_t = np.swapaxes(t, 1, 2)
    with np.errstate(over="ignore", invalid="ignore"):  # overflowed sums: status overflow
        return t_t @ design.xtx @ t, (t_t @ design.xty[:, :, None])[:, :, 0]


def _jacobi(a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, BoolArray]:
    """Scale to a unit diagonal; parameters with a zero diagonal get a decoupled 1."""
    k = a.shape[-1]
    d = np.diagonal(a, axis1=1, axis2=2)
    active = np.asarray(d > 0)
    scale = np.where(active, 1.0 / np.sqrt(np.where(active, d, 1.0)), 0.0)
    a_s = a * scale[:, :, None] * scale[:, None, :]
    diag = np.arange(k)
    a_s[:, diag, diag] = np.where(active, a_s[:, diag, diag], 1.0)
    return a_s, b * scale, scale, active


def solve_design(
    design: Design, transform: FloatArray, *, constraint_ok: BoolArray | None = None
) -> LinearFit:
    r"""Solve :math:`T'X'WXT\, g = T'X'Wy` per date and map back, :math:`f = T g`.

    Dates with no rows, fewer rows than free parameters, a condition number above
    :data:`COND_SINGULAR` or non-finite sums (``overflow``: products of values near
    1e154 or more exceed float64) get NaN returns and a status saying why;
    dates between :data:`COND_OK` and :data:`COND_SINGULAR` are solved by SVD least
    squares (``np.linalg.lstsq``) instead of ``np.linalg.solve``.
    """
    t = transform
    a, b = _reduce(design, t)
    n_groups, k = b.shape
    finite = np.isfinite(a).all(axis=(1, 2)) & np.isfinite(b).all(axis=1)
    finite &= np.isfinite(design.yty)
    a = np.where(finite[:, None, None], a, 0.0)
    b = np.where(finite[:, None], b, 0.0)
    a_s, b_s, scale, active = _jacobi(a, b)
    lam = np.linalg.eigvalsh(a_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        cond = np.abs(lam).max(axis=1) / np.abs(lam).min(axis=1)
    n_free = active.sum(axis=1).astype(np.int64)
    status = np.full(n_groups, OK, dtype=np.int64)
    status[cond > COND_OK] = ILL
    status[~(cond <= COND_SINGULAR)] = SINGULAR
    status[~finite] = OVERFLOW
    if constraint_ok is not None:
        status[~constraint_ok] = NO_CONSTRAINT
    status[design.n_obs < n_free] = TOO_FEW
    status[design.n_obs == 0] = NO_DATA
    z = np.zeros((n_groups, k))
    inv_s = np.zeros((n_groups, k, k))
    good = np.flatnonzero(status == OK)
    if good.size:
        # One LU per date gives the solution and the inverse (for the covariance).
        rhs = np.concatenate(
            [b_s[good][:, :, None], np.broadcast_to(np.eye(k), (good.size, k, k))], axis=2
        )
        both = np.linalg.solve(a_s[good], rhs)
        z[good] = both[:, :, 0]
        inv_s[good] = both[:, :, 1:]
    for i in np.flatnonzero(status == ILL):
        z[i] = np.linalg.lstsq(a_s[i], b_s[i], rcond=None)[0]
        inv_s[i] = np.linalg.pinv(a_s[i], hermitian=True)
    mask = active[:, :, None] & active[:, None, :]
    inverse = np.where(mask, inv_s * scale[:, :, None] * scale[:, None, :], 0.0)
    g = z * scale
    ssr = design.yty - 2.0 * np.einsum("gk,gk->g", g, b) + np.einsum("gi,gij,gj->g", g, a, g)
    f = (t @ g[:, :, None])[:, :, 0]
    f = np.where(design.present & (status[:, None] <= ILL), f, np.nan)
    cond = np.where(finite & (design.n_obs > 0), cond, np.nan)
    return LinearFit(
        coef=g,
        factor_returns=f,
        inverse=inverse,
        cond=cond,
        n_free=n_free,
        status=status,
        ssr=np.maximum(ssr, 0.0),
    )


def resolve(design: Design, transform: FloatArray, status: IntArray) -> FloatArray:
    """``(G, K)`` factor returns of designs whose status is already known (IRLS steps).

    Like :func:`solve_design` without the condition numbers and inverses: dates with
    status ``ok`` are solved by LU, ``ill_conditioned`` by SVD least squares, the
    others get NaN.
    """
    t = transform
    a, b = _reduce(design, t)
    n_groups, k = b.shape
    a_s, b_s, scale, _ = _jacobi(a, b)
    z = np.full((n_groups, k), np.nan)
    good = np.flatnonzero(status == OK)
    if good.size:
        z[good] = np.linalg.solve(a_s[good], b_s[good][:, :, None])[:, :, 0]
    for i in np.flatnonzero(status == ILL):
        z[i] = np.linalg.lstsq(a_s[i], b_s[i], rcond=None)[0]
    f = (t @ (z * scale)[:, :, None])[:, :, 0]
    return np.asarray(np.where(design.present, f, np.nan))


def classical_cov(fit: LinearFit, design: Design, transform: FloatArray) -> FloatArray:
    r"""``(G, K, K)`` :math:`\hat\sigma^2 T (T'X'WXT)^{-1} T'`, :math:`\hat\sigma^2 = SSR/(n-p)`.

    NaN where the date has no residual degree of freedom or no solution. :math:`SSR`
    comes from :math:`y'Wy - 2g'b + g'Ag`, whose rounding error is of order
    :math:`\epsilon\, y'Wy`: an :math:`SSR` below :data:`SSR_RTOL` times :math:`y'Wy`
    is that noise, the fit is exact at the precision of the sums, and
    :math:`\hat\sigma^2` is 0 (rather than a noisy tiny number).
    """
    dof = design.n_obs - fit.n_free
    exact = fit.ssr <= SSR_RTOL * np.abs(design.yty)
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma2 = np.where(exact, 0.0, fit.ssr / dof)
        sigma2 = np.where((dof > 0) & fit.solved, sigma2, np.nan)
    return _map_cov(sigma2, fit.inverse, transform)


def style_vif(design: Design, fit: LinearFit, n_styles: int, *, centred: bool) -> FloatArray:
    r"""``(G, P)`` variance inflation factors of the styles, NaN where undefined.

    :math:`\mathrm{VIF}_k = 1 / (1 - R_k^2)`, with :math:`R_k^2` the weighted
    :math:`R^2` of style :math:`k` on the other regressors of the date's model (centred
    when the model has an intercept). The residual sum of squares of that regression
    is :math:`1 / [(T'X'WXT)^{-1}]_{kk}` (styles keep their own column under the Barra
    substitution), so :math:`\mathrm{VIF}_k = TSS_k\,[(T'X'WXT)^{-1}]_{kk}`: no pass
    over the rows. NaN for an absent style (no weighted variance), a date without a
    solution, or a style constant on the date when the model has an intercept.
    """
    p = n_styles
    inverse = np.diagonal(fit.inverse, axis1=1, axis2=2)[:, :p]
    sxx = np.diagonal(design.xtx, axis1=1, axis2=2)[:, :p]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # sum w x^2 - (sum w x) * mean: no square of a sum (weights near 1e300).
        mean = design.wx_sum / design.w_sum[:, None]
        tss = sxx - design.wx_sum * mean if centred else sxx
        vif = tss * inverse
        # A centred sum of squares at the rounding level of sxx is a constant style.
        ok = fit.solved[:, None] & (sxx > 0) & (tss > SSR_RTOL * sxx) & (inverse > 0)
        return np.asarray(np.where(ok & np.isfinite(vif), vif, np.nan))


def sandwich_cov(
    fit: LinearFit, meat: FloatArray, transform: FloatArray, factor: FloatArray
) -> FloatArray:
    r"""``(G, K, K)`` robust covariance ``factor`` :math:`T A^{-1} T' B T A^{-1} T'`.

    :math:`A^{-1}` is the inverse of the reduced normal equations (``fit.inverse``) and
    ``meat`` the ``(G, K, K)`` :math:`B` in the full factor space: for HC0
    :math:`\sum_i w_i^2 e_i^2 x_i x_i'`, for clusters :math:`\sum_c s_c s_c'` with
    :math:`s_c = \sum_{i \in c} w_i e_i x_i`. ``factor`` per date: 1 (HC0),
    :math:`n/(n-p)` (HC1), or the cluster correction. NaN where unsolved.
    """
    t_t = np.swapaxes(transform, 1, 2)
    with np.errstate(over="ignore", invalid="ignore"):
        inner = fit.inverse @ (t_t @ meat @ transform) @ fit.inverse
        cov = transform @ inner @ t_t
    return np.asarray(cov * np.where(fit.solved, factor, np.nan)[:, None, None])


def hc_factor(n_obs: FloatArray, n_free: IntArray, *, small_sample: bool) -> FloatArray:
    r"""``(G,)`` scale of the HC0 sandwich: 1, or :math:`n/(n-p)` for HC1.

    NaN where :math:`n \le p`: the residuals are zero by construction (an exact fit),
    so no variance can be estimated, as for the classical standard errors.
    """
    n = np.asarray(n_obs, dtype=np.float64)
    p = np.asarray(n_free, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = n / (n - p) if small_sample else np.ones(n.shape)
    return np.asarray(np.where(n > p, out, np.nan))


def cluster_factor(n_clusters: FloatArray, n_obs: FloatArray, n_free: IntArray) -> FloatArray:
    r"""``(G,)`` statsmodels' cluster correction :math:`\frac{G}{G-1}\frac{n-1}{n-p}`.

    (``use_correction=True`` with the degrees-of-freedom correction; NaN with one
    cluster or :math:`n \le p`.)
    """
    g = np.asarray(n_clusters, dtype=np.float64)
    n = np.asarray(n_obs, dtype=np.float64)
    p = np.asarray(n_free, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = g / (g - 1.0) * (n - 1.0) / (n - p)
    return np.asarray(np.where((g > 1) & (n > p), out, np.nan))


def leverage_coefficients(
    fit: LinearFit, transform: FloatArray, *, n_styles: int, country: bool, n_industries: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    r"""Per date and industry, the coefficients of a row's leverage in its styles.

    With :math:`M = T A^{-1} T'` (the inverse normal equations in the factor space) and
    a row :math:`x = (z, 1_{\text{country}}, e_j)`, the leverage is
    :math:`h = w\, x' M x = w\,(z' a z + 2 b_j' z + c_j)`. Returns ``a`` ``(G, P, P)``,
    ``b`` ``(G, J', P)`` and ``c`` ``(G, J')`` with :math:`J' = J`, or 1 without
    industries. Zero on dates without a solution.
    """
    m = transform @ fit.inverse @ np.swapaxes(transform, 1, 2)
    p = n_styles
    a = m[:, :p, :p]
    n_groups = m.shape[0]
    if n_industries:
        idx = p + int(country) + np.arange(n_industries)
        b = np.swapaxes(m[:, :p, idx], 1, 2)  # (G, J, P): M[k, j]
        c = m[:, idx, idx]
        if country:
            b = b + m[:, None, p, :p]
            c = c + 2.0 * m[:, p, idx] + m[:, p, p][:, None]
    elif country:
        b = m[:, None, p, :p]
        c = m[:, p, p][:, None]
    else:
        b = np.zeros((n_groups, 1, p))
        c = np.zeros((n_groups, 1))
    return np.asarray(a), np.asarray(b), np.asarray(c)


def cluster_meat(
    *,
    group: IntArray,
    cluster: IntArray,
    industry: IntArray | None,
    score: FloatArray,
    score_one: FloatArray,
    n_groups: int,
    n_industries: int,
    country: bool,
) -> tuple[FloatArray, FloatArray]:
    r"""``(G, K, K)`` :math:`\sum_c s_c s_c'` and ``(G,)`` clusters per date.

    The input is one row per (date, cluster, industry) cell: ``score`` ``(C, P)``
    :math:`\sum w e x` of the styles and ``score_one`` ``(C,)`` :math:`\sum w e`
    (the industry's and the country's entry of the score). ``cluster`` numbers the
    clusters within the whole input (``-1``: none).
    """
    p = score.shape[1]
    k = p + int(country) + n_industries
    full = np.zeros((score.shape[0], k))
    full[:, :p] = score
    if country:
        full[:, p] = score_one
    if n_industries and industry is not None:
        j = np.asarray(industry, dtype=np.intp)
        rows = np.flatnonzero(j >= 0)
        full[rows, p + int(country) + j[rows]] = score_one[rows]
    # Scores per (date, cluster), then their outer products summed per date.
    g = np.asarray(group, dtype=np.intp)
    c = np.asarray(cluster, dtype=np.intp)
    keys, key_index = np.unique(np.stack([g, c], axis=1), axis=0, return_inverse=True)
    s_c = group_sum(full, key_index.reshape(-1), len(keys))
    outer = s_c[:, :, None] * s_c[:, None, :]
    meat = group_sum(outer, keys[:, 0], n_groups)
    n_clusters = np.bincount(keys[:, 0], minlength=n_groups).astype(np.float64)
    return meat, n_clusters


def huber_h1_factor(
    *, n_obs: FloatArray, n_free: IntArray, scale: FloatArray, sum_dpsi: FloatArray,
    sum_psi2: FloatArray,
) -> FloatArray:  # fmt: skip
    r"""``(G,)`` factor of statsmodels' H1 covariance of a Huber fit.

    .. math::

        H_1 = \kappa^2 \frac{\sum \psi(r_i)^2 / (n - p)}{m^2}\, s^2\,(X'WX)^{-1},
        \quad m = \frac{1}{n}\sum \psi'(r_i), \quad
        \kappa = 1 + \frac{p}{n}\frac{\operatorname{var}\psi'}{m^2},

    with :math:`r = u / s` the scaled residuals and :math:`\psi' \in \{0, 1\}` for
    Huber's norm, so :math:`\operatorname{var}\psi' = m(1 - m)`.
    """
    n = np.asarray(n_obs, dtype=np.float64)
    p = np.asarray(n_free, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.asarray(sum_dpsi) / n
        kappa = 1.0 + p / n * (m - m * m) / (m * m)
        out = kappa**2 * (np.asarray(sum_psi2) / (n - p)) * np.asarray(scale) ** 2 / (m * m)
    return np.where((n > p) & (np.asarray(scale) > 0), out, np.nan)


def scaled_cov(factor: FloatArray, fit: LinearFit, transform: FloatArray) -> FloatArray:
    """``(G, K, K)`` ``factor * T inverse T'``, e.g. with :func:`huber_h1_factor`."""
    return _map_cov(np.where(fit.solved, factor, np.nan), fit.inverse, transform)


def _map_cov(factor: FloatArray, inverse: FloatArray, transform: FloatArray) -> FloatArray:
    cov = transform @ inverse @ np.swapaxes(transform, 1, 2)
    return np.asarray(cov * np.asarray(factor)[:, None, None])


class IrlsState:
    """Per-date IRLS state, arrays of length ``G``, starting from the first (WLS) fit."""

    def __init__(self, fit0: LinearFit) -> None:
        n = fit0.status.shape[0]
        self.factor_returns = fit0.factor_returns.copy()
        self.status = fit0.status.copy()
        self.iteration = np.ones(n, dtype=np.int64)
        self.active = fit0.solved.copy()
        self.scale = np.zeros(n)
        self.deviance = np.zeros(n)
        self.sum_dpsi = np.zeros(n)
        self.sum_psi2 = np.zeros(n)


def scatter(n: int, idx: IntArray, values: FloatArray, *, fill: float = 1.0) -> FloatArray:
    """Return a length-``n`` array with ``values`` at ``idx`` and ``fill`` elsewhere."""
    out = np.full(n, fill)
    out[idx] = values
    return out


def irls_converged(
    deviance: FloatArray, previous: FloatArray, iteration: IntArray, *, tol: float, max_iter: int
) -> tuple[BoolArray, BoolArray]:
    """Apply statsmodels RLM's stopping rule (``conv="dev"``) per date.

    Returns ``(done, exhausted)``: done when the deviance changed by at most ``tol``
    or ``iteration`` reached ``max_iter``; exhausted when it stopped still moving.
    """
    with np.errstate(invalid="ignore"):
        moving = np.abs(np.asarray(deviance) - np.asarray(previous)) > tol
    out_of_steps = np.asarray(iteration) >= max_iter
    return np.asarray(~(moving & ~out_of_steps)), np.asarray(moving & out_of_steps)


def ssr_at(design: Design, factor_returns: FloatArray) -> FloatArray:
    r"""``(G,)`` :math:`\sum w e^2` at given factor returns (NaN entries count as 0)."""
    f = np.nan_to_num(np.asarray(factor_returns, dtype=np.float64), nan=0.0)
    out = (
        design.yty
        - 2.0 * np.einsum("gk,gk->g", f, design.xty)
        + np.einsum("gi,gij,gj->g", f, design.xtx, f)
    )
    return np.asarray(np.maximum(out, 0.0))


def r_squared(
    design: Design, ssr: FloatArray, n_free: IntArray, *, centred: bool, solved: BoolArray
) -> tuple[FloatArray, FloatArray]:
    r"""Weighted :math:`R^2` and adjusted :math:`R^2` per date, as statsmodels' WLS.

    Centred (about the weighted mean) when the model has an intercept, else uncentred;
    the adjusted value is :math:`1 - \frac{n - k_0}{n - p}(1 - R^2)`, :math:`k_0 = 1`
    when centred. NaN where not ``solved``.
    """
    n = design.n_obs
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # Where wy**2 overflows (weights near 1e300, finite sums), (wy / w) * wy.
        wy, w = design.wy_sum, design.w_sum
        square = wy**2
        mean_part = np.where(np.isfinite(square), square / w, wy / w * wy)
        tss = design.yty - mean_part if centred else design.yty
        r2 = 1.0 - np.asarray(ssr) / tss
        k0 = 1.0 if centred else 0.0
        adj = 1.0 - (n - k0) / (n - np.asarray(n_free)) * (1.0 - r2)
    adj = np.where((n > np.asarray(n_free)) & solved, adj, np.nan)
    r2 = np.where(solved, r2, np.nan)
    return np.where(np.isfinite(r2), r2, np.nan), np.where(np.isfinite(adj), adj, np.nan)


def std_errors(cov: FloatArray) -> FloatArray:
    """``(G, K)`` square roots of the covariance diagonals (NaN stays NaN)."""
    d = np.diagonal(cov, axis1=1, axis2=2)
    with np.errstate(invalid="ignore"):
        return np.sqrt(np.where(d >= 0, d, np.nan))
