r"""Risk decomposition and hedge solves of one date's factor model (numpy only).

The model is ``Sigma = X F X' + diag(S)`` with exposures ``X`` (``N x K``), factor
covariance ``F`` (``K x K``) and specific variances ``S`` (``N``). Nothing here forms
the ``N x N`` matrix ``Sigma``: every product goes through the ``K``-dimensional factor
space, so the cost is ``O(N K^2)`` whatever the number of assets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from polars_factors.risk._linalg._matrix import symmetrize

if TYPE_CHECKING:
    # For annotations only: a runtime import would load the regression package.
    from polars_factors.regression._solve._types import FloatArray

__all__ = [
    "RANK_TOL",
    "HedgeSolution",
    "PortfolioDecomposition",
    "asset_variances",
    "collinear_factors",
    "eigenvalue_range",
    "hedge_positions",
    "mimicking_portfolios",
    "portfolio_decomposition",
    "sigma_times",
]

#: Singular values below ``RANK_TOL * s_max`` count as zero (rank decisions).
RANK_TOL = 1e-10


@dataclass(frozen=True)
class PortfolioDecomposition:
    """Factor and specific parts of one portfolio's variance."""

    exposures: FloatArray  # x = X' w, (K,)
    factor_times: FloatArray  # F x, (K,)
    sigma_w: FloatArray  # Sigma w = X F x + S w, (N,)
    factor_var: float  # x' F x
    specific_var: float  # sum w^2 S


@dataclass(frozen=True)
class HedgeSolution:
    """Positions in the instruments and the hedged weights."""

    positions: FloatArray  # (M,)
    hedged: FloatArray  # w + H h, (N,)


def eigenvalue_range(cov: FloatArray) -> tuple[float, float]:
    """Smallest and largest eigenvalue of the symmetric part of ``F``."""
    eig = np.linalg.eigvalsh(symmetrize(cov))
    return float(eig[0]), float(eig[-1])


def asset_variances(x: FloatArray, cov: FloatArray) -> FloatArray:
    """Factor variance of every asset, ``x_n' F x_n`` (the diagonal of ``X F X'``)."""
    out: FloatArray = np.einsum("nk,nk->n", x @ cov, x)
    return out


def sigma_times(x: FloatArray, cov: FloatArray, spec: FloatArray, w: FloatArray) -> FloatArray:
    """``Sigma w = X (F (X' w)) + S w`` without the ``N x N`` matrix."""
    out: FloatArray = x @ (cov @ (x.T @ w)) + spec * w
    return out


def portfolio_decomposition(
    x: FloatArray, cov: FloatArray, spec: FloatArray, w: FloatArray
) -> PortfolioDecomposition:
    """Decompose ``w' Sigma w`` into its factor and specific parts."""
    expo = x.T @ w
    f_x = cov @ expo
    sigma_w = x @ f_x + spec * w
    factor_var = float(expo @ f_x)
    specific_var = float(np.sum(w * w * spec))
    return PortfolioDecomposition(expo, f_x, sigma_w, factor_var, specific_var)


def _rank(s: npt.NDArray[np.floating[Any]]) -> int:
    if s.size == 0 or s[0] <= 0:
        return 0
    return int(np.sum(s > RANK_TOL * s[0]))


def collinear_factors(x_h: FloatArray) -> list[int]:
    """Return the columns that take part in the (near) linear dependence of ``x_h``.

    Read from the right singular vector of the smallest singular value: the columns
    with a sizeable weight in it combine to (almost) zero.
    """
    _, _, vt = np.linalg.svd(x_h, full_matrices=False)
    null = vt[-1]
    scale = float(np.abs(null).max())
    return [int(i) for i in np.flatnonzero(np.abs(null) > 1e-6 * scale)]


def mimicking_portfolios(x_h: FloatArray, spec: FloatArray) -> FloatArray | None:
    r"""Minimum specific-variance portfolios with unit exposure to one factor each.

    ``P = S^{-1} X_H (X_H' S^{-1} X_H)^{-1}`` over the assets with ``S > 0`` (the
    others get weight 0), computed from the QR decomposition of ``Z = S^{-1/2} X_H``:
    ``P = S^{-1/2} Q R'^{-1}``. Returns ``None`` when ``Z`` is (numerically) rank
    deficient, i.e. when ``X_H' S^{-1} X_H`` is singular.
    """
    n, h = x_h.shape
    used = spec > 0
    if int(used.sum()) < h:
        return None
    root = np.sqrt(spec[used])
    z: FloatArray = x_h[used] / root[:, None]
    if h == 0:
        return np.zeros((n, 0))
    if _rank(np.linalg.svd(z, compute_uv=False)) < h:
        return None
    q, r = np.linalg.qr(z)
    # Q R'^{-1}: solve R y' = Q' for y (h x n_used), then transpose.
    part = np.linalg.solve(r, q.T).T / root[:, None]
    # One refinement step, P + P (I - X_H' P): X_H' P = I to rounding even when X_H is
    # badly scaled.
    part = part + part @ (np.eye(h) - x_h[used].T @ part)
    out = np.zeros((n, h))
    out[used] = part
    return out


def hedge_positions(x_h: FloatArray, inst: FloatArray, w: FloatArray) -> HedgeSolution | None:
    """Positions ``h`` with ``X_H' (w + H h) = 0``, minimum-norm when not unique.

    Returns ``None`` when ``B = X_H' H`` does not have full row rank (the instruments
    cannot neutralize every hedged factor).
    """
    b = x_h.T @ inst
    target = -(x_h.T @ w)
    if b.shape[0] == 0:
        return HedgeSolution(np.zeros(inst.shape[1]), w.copy())
    if b.shape[1] < b.shape[0] or _rank(np.linalg.svd(b, compute_uv=False)) < b.shape[0]:
        return None
    pinv = np.linalg.pinv(b, rcond=RANK_TOL)
    pos = pinv @ target
    # One refinement step on the residual exposure.
    pos += pinv @ (target - b @ pos)
    return HedgeSolution(pos, w + inst @ pos)
