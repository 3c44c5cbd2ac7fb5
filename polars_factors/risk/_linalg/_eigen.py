r"""Eigenfactor risk adjustment by Monte Carlo simulation (USE4 Appendix B).

The sample covariance matrix of ``window`` periods underestimates the variance of its
smallest-variance eigenportfolios ("eigenfactors"). Menchero, Wang and Orr (2011)
measure that bias by simulating returns from the matrix itself and re-estimating it;
:func:`eigen_adjust` implements it for a stack of ``K x K`` matrices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from polars_factors.exceptions import SingularMatrixError
from polars_factors.risk._linalg._matrix import symmetrize

if TYPE_CHECKING:
    # For annotations only: a runtime import would load the regression package.
    from polars_factors.regression._solve._types import FloatArray

__all__ = ["CHUNK_BYTES", "NONPD_TOL", "eigen_adjust", "simulated_bias"]

#: A matrix is refused when an eigenvalue is below this fraction of its largest one.
NONPD_TOL = 1e-12

#: Largest simulated return block held at once (bytes); memory stays bounded for any M.
CHUNK_BYTES = 32 * 2**20


def simulated_bias(
    eigenvalues: FloatArray,
    *,
    n_sims: int,
    window: int,
    seed: int,
    chunk_bytes: int = CHUNK_BYTES,
) -> FloatArray:
    r"""Simulate the volatility bias :math:`\lambda_k` of each eigenfactor of ``F0 = U0 D0 U0'``.

    Draws come from ``np.random.default_rng(seed)``: simulation ``m`` takes the next
    ``rng.standard_normal((window, K))`` block. Simulations run in chunks of at most
    ``chunk_bytes`` of draws; a ``(c, window, K)`` draw is the same stream as ``c``
    successive ``(window, K)`` draws, so the result does not depend on the chunk size.

    The bias depends on the eigenvalues ``D0`` only: with ``b ~ N(0, D0)`` and
    ``f = b U0'``, the sample covariance is ``F_m = U0 S_m U0'`` (``S_m`` that of ``b``),
    so ``F_m = U_m D_m U_m'`` with ``U_m = U0 V_m`` where ``S_m = V_m D_m V_m'``, and
    ``U_m' F0 U_m = V_m' D0 V_m``: the same eigenvalues and ratios as rotating every
    draw into factor space, for a third less work.
    """
    k = eigenvalues.shape[0]
    sd = np.sqrt(eigenvalues)
    rng = np.random.default_rng(seed)
    per_sim = max(window * k * 8, 1)  # bytes of one simulation's draws
    chunk = max(1, min(n_sims, chunk_bytes // per_sim))
    ratio_sum = np.zeros(k)
    done = 0
    while done < n_sims:
        c = min(chunk, n_sims - done)
        returns = rng.standard_normal((c, window, k))  # b, in the eigenbasis of F0
        returns *= sd
        returns -= returns.mean(axis=1, keepdims=True)
        sample = np.swapaxes(returns, 1, 2) @ returns / window
        sim_values, sim_vectors = np.linalg.eigh(sample)  # ascending, paired with D0
        # D~_m(k) = u_mk' F0 u_mk = sum_i V_m(i, k)^2 D0(i): true variance of eigenfactor k.
        true_var = (sim_vectors**2 * eigenvalues[:, None]).sum(axis=1)
        ratio_sum += (true_var / sim_values).sum(axis=0)
        done += c
    result: FloatArray = np.sqrt(ratio_sum / n_sims)
    return result


def eigen_adjust(
    values: FloatArray,
    *,
    n_sims: int,
    window: int,
    scale: float | None,
    seed: int,
    labels: Sequence[object] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> FloatArray:
    r"""Eigen-adjusted matrices of a ``D x K x K`` stack (NaN matrices stay NaN).

    ``F = U0 diag(gamma^2 D0) U0'`` with ``gamma = scale (lambda - 1) + 1`` (``lambda``
    itself when ``scale`` is None), symmetrized exactly. Each matrix uses a fresh
    ``default_rng(seed)``. Raises :class:`SingularMatrixError` for a matrix with an
    eigenvalue at or below ``NONPD_TOL`` times its largest (named by ``labels``).
    """
    out = np.full_like(values, np.nan)
    for i in range(values.shape[0]):
        matrix = values[i]
        if not np.isfinite(matrix).all():
            continue
        eigenvalues, eigenvectors = np.linalg.eigh(symmetrize(matrix))
        top = eigenvalues[-1]
        if not (top > 0 and eigenvalues[0] > NONPD_TOL * top):
            where = f" on {labels[i]!r}" if labels is not None else ""
            msg = (
                f"the eigenfactor adjustment needs positive definite covariance matrices; "
                f"the matrix{where} has smallest eigenvalue {eigenvalues[0]:.3g} against a "
                f"largest of {top:.3g} (limit {NONPD_TOL:g} times the largest). Drop "
                "collinear factors or regularize the matrix first (e.g. shrink it)"
            )
            raise SingularMatrixError(msg)
        bias = simulated_bias(
            eigenvalues,
            n_sims=n_sims,
            window=window,
            seed=seed,
            chunk_bytes=chunk_bytes,
        )
        gamma = bias if scale is None else scale * (bias - 1.0) + 1.0
        adjusted = (eigenvectors * (gamma**2 * eigenvalues)) @ eigenvectors.T
        out[i] = symmetrize(adjusted)
    return out
