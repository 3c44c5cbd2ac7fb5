"""Checks and repairs of stacks of covariance matrices (``D x K x K``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    # For annotations only: a runtime import would load the regression package.
    from polars_factors.regression._solve._types import BoolArray, FloatArray

__all__ = ["check_stack", "project_psd", "symmetrize"]


def check_stack(values: FloatArray) -> tuple[BoolArray, FloatArray]:
    """Per matrix: partly non-finite (some entries but not all), and relative asymmetry.

    A matrix that is entirely NaN (a null matrix) is neither partial nor asymmetric.
    """
    finite = np.isfinite(values)
    n_finite = finite.sum(axis=(1, 2))
    size = values.shape[1] * values.shape[2]
    partial = (n_finite > 0) & (n_finite < size)
    full = n_finite == size
    asymmetry = np.zeros(values.shape[0])
    if full.any():
        m = values[full]
        scale = np.abs(m).max(axis=(1, 2))
        diff = np.abs(m - m.transpose(0, 2, 1)).max(axis=(1, 2))
        asymmetry[full] = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)
    return partial, asymmetry


def symmetrize(values: FloatArray) -> FloatArray:
    """Return ``(A + A') / 2`` for one matrix or each matrix of a stack (exactly symmetric)."""
    return np.asarray(0.5 * (values + np.swapaxes(values, -1, -2)), dtype=np.float64)


def project_psd(values: FloatArray, *, block: int = 64) -> tuple[FloatArray, BoolArray]:
    """Clip negative eigenvalues at zero where a matrix is not positive semi-definite.

    Returns the repaired stack and which matrices were changed. A matrix counts as
    indefinite when its smallest eigenvalue is below ``-1e-12`` times its largest
    (round-off leaves smaller negative values on PSD matrices). NaN matrices pass
    through. A batched Cholesky factorization clears blocks of positive definite
    matrices cheaply; eigenvalues are computed only for blocks where it fails.
    """
    out = symmetrize(values)
    changed = np.zeros(values.shape[0], dtype=bool)
    idx = np.flatnonzero(np.isfinite(out).all(axis=(1, 2)))
    for lo in range(0, idx.size, block):
        part = idx[lo : lo + block]
        try:
            np.linalg.cholesky(out[part])
        except np.linalg.LinAlgError:
            pass
        else:
            continue
        eig = np.linalg.eigvalsh(out[part])
        bad = eig[:, 0] < -1e-12 * np.maximum(np.abs(eig[:, -1]), np.finfo(float).tiny)
        if bad.any():
            fix = part[bad]
            w, v = np.linalg.eigh(out[fix])
            w = np.clip(w, 0.0, None)
            out[fix] = symmetrize(np.einsum("dik,dk,djk->dij", v, w, v))
            changed[fix] = True
    return out, changed
