r"""Batched solvers for many small least-squares systems (numpy only; imports no polars).

The regressions of :mod:`polars_factors` reduce a panel to sufficient statistics with a
Polars ``group_by`` (one small system per date, or per ``by`` group) and solve all the
systems here at once. Arrays are small: ``G`` groups by ``K`` parameters, ``G x K x K``
for the normal matrices. Nothing here sees per-row data.

Conventions
-----------
- Leading axes are batch axes: ``xtx`` of shape ``(*B, K, K)`` goes with a right-hand
  side ``(*B, K)`` (one response) or ``(*B, K, R)`` (``R`` responses).
- A system that is singular or badly conditioned never fails the batch: it gets the
  minimum-norm least-squares solution and a rank below ``K``.
- Symmetric matrices travel between Polars and numpy *packed*: the upper triangle in
  row-major order, as listed by :func:`symmetric_pairs`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from polars_factors.regression._solve._types import BoolArray, FloatArray, IntArray

__all__ = [
    "NormalSolution",
    "group_sum",
    "solve_absorbed",
    "solve_normal_equations",
    "symmetric_pairs",
    "unpack_symmetric",
]

#: Systems whose Jacobi-scaled condition number exceeds this are solved by pseudo-inverse.
MAX_COND = 1e12

#: A parameter whose diagonal entry is at most this fraction of its reference scale
#: (``diag_ref``) is treated as absent: its column is zero up to round-off.
DROP_RTOL = 1e-12


@dataclass(frozen=True)
class NormalSolution:
    """Solutions of a batch of normal equations.

    Attributes
    ----------
    beta
        ``(*B, K)`` or ``(*B, K, R)`` coefficients; NaN for systems with non-finite
        input; 0 for parameters dropped as absent.
    cond
        ``(*B,)`` 2-norm condition number of the Jacobi-scaled system restricted to
        the parameters present (``inf`` when singular, NaN for non-finite input).
    rank
        ``(*B,)`` numerical rank (``K`` for a well-posed system, 0 for non-finite input).
    n_params
        ``K``.
    """

    beta: FloatArray
    cond: FloatArray
    rank: IntArray
    n_params: int

    @property
    def rank_deficient(self) -> BoolArray:
        """``(*B,)`` True where the system was singular or badly conditioned."""
        return np.asarray(self.rank < self.n_params)


def symmetric_pairs(p: int) -> list[tuple[int, int]]:
    """Index pairs ``(i, j)``, ``i <= j``, of a packed ``p x p`` symmetric matrix, in order."""
    return [(i, j) for i in range(p) for j in range(i, p)]


def unpack_symmetric(packed: FloatArray, p: int) -> FloatArray:
    """``(..., p(p+1)/2)`` packed upper triangles to ``(..., p, p)`` symmetric matrices."""
    packed = np.asarray(packed, dtype=np.float64)
    rows, cols = np.triu_indices(p)
    out = np.zeros((*packed.shape[:-1], p, p))
    out[..., rows, cols] = packed
    out[..., cols, rows] = packed
    return out


def group_sum(values: FloatArray, group: IntArray, n_groups: int) -> FloatArray:
    """Sum the rows of ``values`` (shape ``(C, ...)``) by ``group`` (``(C,)`` in ``[0, G)``)."""
    values = np.asarray(values, dtype=np.float64)
    flat = values.reshape(values.shape[0], int(np.prod(values.shape[1:])))
    idx = np.asarray(group, dtype=np.intp)
    out = np.zeros((n_groups, flat.shape[1]))
    for j, col in enumerate(flat.T):
        out[:, j] = np.bincount(idx, weights=col, minlength=n_groups)
    return out.reshape(n_groups, *values.shape[1:])


def solve_normal_equations(
    xtx: FloatArray,
    xty: FloatArray,
    *,
    diag_ref: FloatArray | None = None,
    drop_rtol: float = DROP_RTOL,
    max_cond: float = MAX_COND,
) -> NormalSolution:
    r"""Solve a batch of normal equations :math:`(X'WX)\,\beta = X'Wy`.

    Parameters
    ----------
    xtx
        ``(*B, K, K)`` symmetric positive semi-definite matrices.
    xty
        ``(*B, K)`` or ``(*B, K, R)`` right-hand sides.
    diag_ref
        ``(*B, K)`` reference scale of each diagonal entry, e.g. the uncentred
        :math:`\sum w x^2` of a centred regressor. A parameter with
        ``xtx[k, k] <= drop_rtol * diag_ref[k]`` (its column is zero up to round-off)
        is dropped: coefficient 0, rank reduced. Without it only exactly zero (or
        negative) diagonal entries are dropped.
    drop_rtol
        See ``diag_ref``.
    max_cond
        Systems whose scaled condition number exceeds it are solved by pseudo-inverse,
        truncating eigenvalues below ``max_eigenvalue / max_cond``.

    Returns
    -------
    NormalSolution

    Notes
    -----
    With :math:`D = \operatorname{diag}(X'WX)^{-1/2}` the scaled system
    :math:`(D X'WX D)\,z = D X'Wy`, :math:`\beta = D z`, has a unit diagonal, so its
    condition number measures collinearity rather than units. Well-conditioned
    systems go to one batched ``np.linalg.solve``; the others get
    :math:`z = V \Lambda^+ V' D X'Wy` from ``np.linalg.eigh`` (the minimum-norm
    least-squares solution in scaled coordinates). Residuals
    :math:`y - X\beta` are the projection residuals either way.

    Examples
    --------
    >>> import numpy as np
    >>> xtx = np.array([[[2.0, 0.0], [0.0, 4.0]], [[1.0, 1.0], [1.0, 1.0]]])
    >>> xty = np.array([[2.0, 2.0], [2.0, 2.0]])
    >>> sol = solve_normal_equations(xtx, xty)
    >>> sol.beta.tolist(), sol.rank.tolist()
    ([[1.0, 0.5], [1.0, 1.0]], [2, 1])
    """
    a = np.asarray(xtx, dtype=np.float64)
    b = np.asarray(xty, dtype=np.float64)
    k = a.shape[-1]
    batch = a.shape[:-2]
    n = int(np.prod(batch))
    vector = b.ndim == a.ndim - 1
    b = b.reshape(n, k, 1) if vector else b.reshape(n, k, b.shape[-1])
    ref = None if diag_ref is None else np.asarray(diag_ref, dtype=np.float64).reshape(n, k)
    beta, cond, rank = _solve_flat(a.reshape(n, k, k), b, ref, drop_rtol, max_cond)
    beta = beta.reshape(*batch, k) if vector else beta.reshape(*batch, k, b.shape[-1])
    return NormalSolution(beta=beta, cond=cond.reshape(batch), rank=rank.reshape(batch), n_params=k)


def _solve_flat(
    a: FloatArray, b: FloatArray, ref: FloatArray | None, drop_rtol: float, max_cond: float
) -> tuple[FloatArray, FloatArray, IntArray]:
    """:func:`solve_normal_equations` on ``(N, K, K)`` and ``(N, K, R)`` arrays."""
    n, k = a.shape[0], a.shape[1]
    if k == 0:
        return np.zeros(b.shape), np.ones(n), np.zeros(n, dtype=np.int64)
    finite: BoolArray = np.asarray(
        np.isfinite(a).all(axis=(1, 2)) & np.isfinite(b).all(axis=(1, 2))
    )
    a = np.where(finite[:, None, None], a, 0.0)
    b = np.where(finite[:, None, None], b, 0.0)
    scale, active = _jacobi_scale(a, ref, drop_rtol)
    a_s = a * scale[:, :, None] * scale[:, None, :]
    diag = np.arange(k)
    # Dropped parameters get a unit diagonal: their coefficient solves 1 * z = 0.
    a_s[:, diag, diag] = np.where(active, a_s[:, diag, diag], 1.0)
    b_s = b * scale[:, :, None]
    eig = np.abs(np.linalg.eigvalsh(a_s))
    with np.errstate(divide="ignore", invalid="ignore"):
        cond = eig.max(axis=1) / eig.min(axis=1)
    direct: BoolArray = np.asarray(cond <= max_cond)
    z = np.zeros(b_s.shape)
    rank = active.sum(axis=1).astype(np.int64)
    if direct.any():
        z[direct] = np.linalg.solve(a_s[direct], b_s[direct])
    if (~direct).any():
        z[~direct], kept = _pinv_solve(a_s[~direct], b_s[~direct], 1.0 / max_cond)
        rank[~direct] = kept - (~active[~direct]).sum(axis=1)
    beta = z * scale[:, :, None]
    beta[~finite] = np.nan
    cond[~finite] = np.nan
    rank[~finite] = 0
    return beta, cond, rank


def _jacobi_scale(
    a: FloatArray, ref: FloatArray | None, drop_rtol: float
) -> tuple[FloatArray, BoolArray]:
    """``diag(a)^{-1/2}`` for the parameters present, 0 for the dropped ones."""
    d = np.diagonal(a, axis1=1, axis2=2)
    active = d > 0
    if ref is not None:
        active &= d > drop_rtol * np.where(np.isfinite(ref), ref, 0.0)
    scale = np.where(active, 1.0 / np.sqrt(np.where(active, d, 1.0)), 0.0)
    return scale, active


def _pinv_solve(a: FloatArray, b: FloatArray, rtol: float) -> tuple[FloatArray, IntArray]:
    """Minimum-norm solutions of symmetric systems and the number of eigenvalues kept."""
    lam, vec = np.linalg.eigh(a)
    keep = lam > rtol * lam.max(axis=1, keepdims=True)
    inv = np.where(keep, 1.0 / np.where(keep, lam, 1.0), 0.0)
    z = vec @ (inv[:, :, None] * (np.swapaxes(vec, 1, 2) @ b))
    return z, keep.sum(axis=1).astype(np.int64)


def solve_absorbed(
    weight: FloatArray,
    first: FloatArray,
    second: FloatArray,
    group: IntArray,
    *,
    n_groups: int,
    n_regressors: int,
    max_cond: float = MAX_COND,
) -> NormalSolution:
    r"""Weighted least squares per group with cell fixed effects absorbed, from cell sums.

    Each group (a date) is split into cells (its industries); the model is
    :math:`y_i = a_{c(i)} + x_i'\beta + e_i` with one intercept per cell. By
    Frisch-Waugh-Lovell, :math:`\beta` solves the normal equations of the
    within-cell centred data, whose moments pool over the cells of a group.

    Parameters
    ----------
    weight
        ``(C,)`` per cell :math:`W_c = \sum_{i \in c} w_i`.
    first
        ``(C, P)`` per cell :math:`S_c = \sum w_i z_i` with :math:`z = (x, y)`: the
        first ``n_regressors`` entries are regressors, the rest ``R = P - K`` responses.
    second
        ``(C, P(P+1)/2)`` per cell packed :math:`Q_c = \sum w_i z_i z_i'`
        (see :func:`symmetric_pairs`).
    group
        ``(C,)`` group index of each cell, in ``[0, n_groups)``.
    n_groups
        ``G``.
    n_regressors
        ``K``.
    max_cond
        As in :func:`solve_normal_equations`.

    Returns
    -------
    NormalSolution
        ``beta`` of shape ``(G, K, R)``. A regressor that is constant within every
        cell of a group (up to round-off) is dropped there (rank below ``K``).

    Notes
    -----
    .. math::

        M_g = \sum_{c \in g} \Big(Q_c - \frac{S_c S_c'}{W_c}\Big), \qquad
        M_{g,xx}\, \beta_g = M_{g,xy},

    cells with :math:`W_c = 0` contributing nothing. The centring is done on sums, so
    it loses about :math:`\log_{10}(1 + \bar x^2 / s_x^2)` digits when a regressor's
    mean in a cell is large against its spread there; a regressor whose within-cell
    variance is below ``1e-12`` of its mean square is treated as constant.
    """
    k = n_regressors
    w = np.asarray(weight, dtype=np.float64)
    s = np.asarray(first, dtype=np.float64)
    q = np.asarray(second, dtype=np.float64)
    p = s.shape[1]
    rows, cols = np.triu_indices(p)
    used = w[:, None] > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        centred = q - s[:, rows] * s[:, cols] / w[:, None]
    within = unpack_symmetric(group_sum(np.where(used, centred, 0.0), group, n_groups), p)
    raw = unpack_symmetric(group_sum(np.where(used, q, 0.0), group, n_groups), p)
    diag = np.arange(k)
    return solve_normal_equations(
        within[:, :k, :k],
        within[:, :k, k:],
        diag_ref=raw[:, diag, diag],
        max_cond=max_cond,
    )
