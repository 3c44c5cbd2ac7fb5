"""Exponentially weighted Newey-West covariances of returns with missing values (pairwise).

The kernel of :mod:`._ewm` for a ``T x K`` array ``x`` with NaN where a return is
missing (an empty industry on some dates). With the presence indicators
``p_s = 1[x_s present]`` and ``z_s`` the returns with 0 where missing, entry ``(i, j)``
of date ``t`` uses only the dates where both returns are present, the weights
``lam ** (t - s)`` renormalized over them. Every quantity is a decayed running sum
over ``s <= t`` of a ``K x K`` product (an outer product ``u_s v_s'``):

* ``W``: of ``p p'`` (the pair's total weight), ``n``: the same undecayed (its count);
* ``M``: of ``z p'`` (``M_ij / W_ij`` is the mean of ``i`` on the pair's dates);
* ``S0``: of ``z z'``;
* per lag ``l``, with ``z_-``, ``p_-`` the values ``l`` dates earlier (0 for
  ``s < l``): ``A_l`` of ``z z_-'``, ``C_l`` of ``z p_-'``, ``D_l`` of ``p z_-'``
  and ``N_l`` of ``p p_-'``.

Then, with the pair's means ``a = M / W`` (of ``i``) and ``b = a'`` (of ``j``),
elementwise,

    G_0 = S0 / W - a b
    G_l = (A_l - b C_l - a D_l + a b N_l) / W
    V   = G_0 + sum_l (1 - l / (L + 1)) (G_l + G_l')

that is, for each pair, the weighted covariance over the dates where both are present
and the lag terms over the dates where the current value of ``i`` and the lagged value
of ``j`` are both present, divided by the pair's weight ``W_ij`` (a lag product that
is missing counts as 0, as the first ``l`` dates do in the complete case). The
diagonal is each factor's own variance over its own dates. Without missing values
``W``, ``M``, ``C_l``, ``D_l`` and ``N_l`` collapse to the scalars and vectors of
:mod:`._ewm` and ``V`` is the same matrix (to rounding); :mod:`._ewm` keeps that
case, which is cheaper (``K x K`` sums only for ``S0`` and ``A_l``).

A pairwise estimate need not be positive semi-definite:
:func:`factor_covariance_blocks` projects the matrices that are not (eigenvalues
clipped at 0) over the factors with a covariance, and nulls the entries of pairs with
fewer than ``min_periods`` common dates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from polars_factors.risk._linalg import _ewm, _matrix

if TYPE_CHECKING:
    # For annotations only: a runtime import would load the regression package.
    from polars_factors.regression._solve._types import BoolArray, FloatArray, IntArray

__all__ = ["factor_covariance_blocks", "pairwise_covariance", "project_finite"]

Outer = Callable[["FloatArray", "FloatArray"], "FloatArray"]


@dataclass
class _PairSums:
    """Running sums at the kept dates of one chunk (leading axis: dates)."""

    w: FloatArray
    n: FloatArray
    m: FloatArray
    s0: FloatArray
    lags: list[tuple[FloatArray, FloatArray, FloatArray, FloatArray]]


def _first_present(x: FloatArray) -> FloatArray:
    """Each column's first present value (0 for a column without any)."""
    present = ~np.isnan(x)
    first = present.argmax(axis=0)
    out = x[first, np.arange(x.shape[1])]
    return np.where(present.any(axis=0), out, 0.0)


def _lagged(v: FloatArray, lo: int, hi: int, lag: int) -> FloatArray:
    """Rows ``s - lag`` of ``v`` for ``s`` in ``lo..hi`` (zeros where ``s < lag``)."""
    out = np.zeros((hi - lo, v.shape[1]))
    start = max(lo, lag)
    if start < hi:
        out[start - lo :] = v[start - lag : hi - lag]
    return out


def _outer(*, diagonal: bool) -> Outer:
    def outer(u: FloatArray, v: FloatArray) -> FloatArray:
        return np.asarray(u * v if diagonal else np.einsum("ti,tj->tij", u, v))

    return outer


def _chunks(
    x: FloatArray,
    keep: IntArray,
    *,
    half_life: float | None,
    lags: int,
    demean: bool,
    diagonal: bool,
) -> Iterator[tuple[int, FloatArray, FloatArray]]:
    """Yield ``(position in keep, covariances, pair counts)`` chunk by chunk."""
    t_len, k = x.shape
    present = ~np.isnan(x)
    if demean and t_len:
        # A constant shift per column leaves the demeaned moments unchanged and keeps
        # S0 / W - a b from losing digits.
        x = x - _first_present(x)
    z = np.where(present, x, 0.0)
    p = present.astype(np.float64)
    filt, count = _ewm.Filter(_ewm.decay(half_life)), _ewm.Filter(1.0)
    outer = _outer(diagonal=diagonal)
    per_date = (k if diagonal else k * k) * (4 + 4 * lags)
    chunk = max(1, _ewm.CHUNK_ELEMENTS // per_date)
    done = 0
    for lo in range(0, t_len, chunk):
        hi = min(t_len, lo + chunk)
        sel = keep[(keep >= lo) & (keep < hi)] - lo
        zc, pc = z[lo:hi], p[lo:hi]
        pp = outer(pc, pc)
        per_lag = []
        for lag in range(1, lags + 1):
            zl, pl_ = _lagged(z, lo, hi, lag), _lagged(p, lo, hi, lag)
            per_lag.append(
                (
                    filt(f"a{lag}", outer(zc, zl))[sel],
                    filt(f"c{lag}", outer(zc, pl_))[sel],
                    filt(f"d{lag}", outer(pc, zl))[sel],
                    filt(f"n{lag}", outer(pc, pl_))[sel],
                )
            )
        sums = _PairSums(
            w=filt("w", pp)[sel],
            n=count("n", pp)[sel],
            m=filt("m", outer(zc, pc))[sel],
            s0=filt("s0", outer(zc, zc))[sel],
            lags=per_lag,
        )
        if sel.size:
            cov = _assemble(sums, lags, demean=demean, diagonal=diagonal)
            yield done, cov, sums.n
        done += sel.size


def _assemble(sums: _PairSums, lags: int, *, demean: bool, diagonal: bool) -> FloatArray:
    """Assemble the pairwise Newey-West covariances from the running sums (NaN: ``W = 0``)."""
    inv_w = np.divide(1.0, sums.w, out=np.full_like(sums.w, np.nan), where=sums.w > 0)

    def swap(a: FloatArray) -> FloatArray:
        return a if diagonal else a.transpose(0, 2, 1)

    if demean:
        mu_a = sums.m * inv_w
        mu_b = swap(mu_a)
    else:
        mu_a = mu_b = np.zeros_like(sums.w)
    ab = mu_a * mu_b
    v = sums.s0 * inv_w - ab
    for lag, (a, c, d, n) in enumerate(sums.lags, start=1):
        g = (a - mu_b * c - mu_a * d + ab * n) * inv_w
        v = v + (1.0 - lag / (lags + 1.0)) * (g + swap(g))
    return np.asarray(v, dtype=np.float64)


def pairwise_covariance(
    x: FloatArray,
    keep: IntArray,
    *,
    half_life: float | None,
    lags: int = 0,
    demean: bool = True,
    diagonal: bool = False,
) -> tuple[FloatArray, FloatArray]:
    """Pairwise Newey-West covariances at the dates ``keep``, and the pairs' counts.

    ``len(keep) x K x K`` arrays (``len(keep) x K`` with ``diagonal``); entries of pairs
    without a common date are NaN. Not projected, not masked by a minimum count.
    """
    k = x.shape[1]
    shape = (keep.size, k) if diagonal else (keep.size, k, k)
    out, counts = np.empty(shape), np.empty(shape)
    for start, values, n in _chunks(
        x, keep, half_life=half_life, lags=lags, demean=demean, diagonal=diagonal
    ):
        out[start : start + values.shape[0]] = values
        counts[start : start + values.shape[0]] = n
    return out, counts


def project_finite(values: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Project to PSD each matrix's block of factors with a finite variance.

    Matrices are grouped by which diagonal entries are finite (a loop over those
    patterns, not over dates); a block that still has non-finite entries (a pair
    without enough common dates) is left as it is. Returns the stack (in place) and
    which matrices were changed.
    """
    changed = np.zeros(values.shape[0], dtype=bool)
    finite = np.isfinite(np.einsum("dii->di", values))
    patterns, inverse = np.unique(finite, axis=0, return_inverse=True)
    for which, pattern in enumerate(patterns):
        cols = np.flatnonzero(pattern)
        if cols.size == 0:
            continue
        idx = np.flatnonzero(inverse.reshape(-1) == which)
        sub = values[np.ix_(idx, cols, cols)]
        ok = np.isfinite(sub).all(axis=(1, 2))
        if not ok.any():
            continue
        fixed, bad = _matrix.project_psd(sub[ok])
        values[np.ix_(idx[ok], cols, cols)] = fixed
        changed[idx[ok]] = bad
    return values, changed


def factor_covariance_blocks(
    x: FloatArray,
    keep: IntArray,
    *,
    half_life_vol: float | None,
    half_life_corr: float | None,
    lags_vol: int,
    lags_corr: int,
    demean: bool,
    min_periods: int,
) -> Iterator[tuple[int, FloatArray, int]]:
    """:func:`._ewm.factor_covariance_blocks` for returns with missing values (NaN).

    ``F_ij = sigma_i sigma_j rho_ij``: ``sigma`` from each factor's own dates with
    ``half_life_vol`` and ``lags_vol``, ``rho`` from the pairwise covariance ``C`` with
    ``half_life_corr`` and ``lags_corr``. Entries of pairs with fewer than
    ``min_periods`` common dates (rows and columns of a factor with fewer than
    ``min_periods`` returns) are NaN; ``C`` is projected to PSD, over the factors with
    a variance, wherever it is not PSD (the count of such matrices is yielded).
    """
    var, _ = pairwise_covariance(
        x, keep, half_life=half_life_vol, lags=lags_vol, demean=demean, diagonal=True
    )
    sd = np.sqrt(np.clip(var, 0.0, None))
    for start, raw, counts in _chunks(
        x, keep, half_life=half_life_corr, lags=lags_corr, demean=demean, diagonal=False
    ):
        stop = start + raw.shape[0]
        raw[counts < min_periods] = np.nan
        cov, changed = project_finite(_matrix.symmetrize(raw))
        diag = np.einsum("dii->di", cov)
        c_sd = np.sqrt(np.clip(diag, 0.0, None))
        scale = np.divide(sd[start:stop], c_sd, out=np.zeros_like(c_sd), where=c_sd > 0)
        scale[np.isnan(diag)] = np.nan
        cov *= scale[:, :, None]
        cov *= scale[:, None, :]
        block = cov + cov.transpose(0, 2, 1)
        block *= 0.5
        yield start, block, int(changed.sum())
