"""Exponentially weighted covariances with Newey-West terms, for every date at once.

For the dates ``t = 0..T-1`` of a ``T x K`` array ``x`` (no missing values), with
``lam = 0.5 ** (1 / half_life)`` (1 for equal weights) and weights ``lam ** (t - s)``
on the observations ``s <= t``, every quantity needed is a decayed running sum
``E_t = lam * E_{t-1} + P_t`` of some product ``P``:

* ``W``: of 1; ``m``: of ``x_s``; ``S0``: of ``x_s x_s'``;
* per lag ``l``: ``A_l`` of ``x_s x_{s-l}'``, ``c_l`` of ``x_s``, ``b_l`` of ``x_{s-l}``
  and ``W_l`` of 1, each over ``s >= l`` only.

Then, with ``mu = m / W``,

    G_0 = S0 / W - mu mu'
    G_l = (A_l - c_l mu' - mu b_l' + W_l mu mu') / W
    V   = G_0 + sum_l (1 - l / (L + 1)) (G_l + G_l')

which is the weighted (Newey-West) covariance normalized by the total weight. The
running sums are linear recursions, run by :func:`scipy.signal.lfilter` over chunks of
dates (the filter state carries from chunk to chunk), so the time is linear in ``T``
and the memory bounded by the chunk. The data are first shifted by their first row: a
constant shift leaves the demeaned moments unchanged and keeps ``S0 / W - mu mu'``
from losing digits (it uses no later data, so no look-ahead either).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from polars_factors.risk._linalg import _matrix

if TYPE_CHECKING:
    # For annotations only: a runtime import would load the regression package.
    from polars_factors.regression._solve._types import FloatArray, IntArray

__all__ = ["Filter", "decay", "ew_covariance", "ew_variance", "factor_covariance_blocks"]

#: Elements of one chunk's ``C x K x K`` product arrays (about 16 MB each).
CHUNK_ELEMENTS = 2_000_000


def decay(half_life: float | None) -> float:
    """``0.5 ** (1 / half_life)``; 1.0 (equal weights) for None or infinity."""
    if half_life is None or math.isinf(half_life):
        return 1.0
    return float(0.5 ** (1.0 / half_life))


@dataclass
class _Sums:
    """Running decayed sums at the dates of one chunk (leading axis: dates)."""

    w: FloatArray
    m: FloatArray
    s0: FloatArray
    lags: list[tuple[FloatArray, FloatArray, FloatArray, FloatArray]]


class Filter:
    """Decayed running sums ``E_t = lam E_{t-1} + P_t`` whose state carries across chunks."""

    def __init__(self, lam: float) -> None:
        self.b = np.array([1.0])
        self.a = np.array([1.0, -lam])
        self.state: dict[str, FloatArray] = {}

    def __call__(self, name: str, p: FloatArray) -> FloatArray:
        zi = self.state.get(name)
        if zi is None:
            zi = np.zeros((1, *p.shape[1:]))
        # scipy is imported on first use: `import polars_factors` stays fast.
        from scipy.signal import lfilter  # type: ignore[import-untyped]  # noqa: PLC0415

        out, zf = lfilter(self.b, self.a, p, axis=0, zi=zi)
        self.state[name] = zf
        return np.asarray(out, dtype=np.float64)


def _products(
    x: FloatArray, lo: int, hi: int, lags: int, *, diagonal: bool
) -> tuple[FloatArray, list[tuple[FloatArray, FloatArray, FloatArray]]]:
    """``x_s x_s'`` and, per lag, ``x_s x_{s-l}'``, ``x_s 1[s>=l]``, ``x_{s-l} 1[s>=l]``."""
    cur = x[lo:hi]

    def outer(u: FloatArray, v: FloatArray) -> FloatArray:
        return u * v if diagonal else np.einsum("ti,tj->tij", u, v)

    per_lag = []
    for lag in range(1, lags + 1):
        prev = np.zeros_like(cur)
        start = max(lo, lag)
        if start < hi:
            prev[start - lo :] = x[start - lag : hi - lag]
        mask = (np.arange(lo, hi) >= lag).astype(np.float64)[:, None]
        per_lag.append((outer(cur, prev), cur * mask, prev))
    return outer(cur, cur), per_lag


def _chunks(
    x: FloatArray,
    keep: IntArray,
    *,
    half_life: float | None,
    lags: int,
    demean: bool,
    diagonal: bool,
) -> Iterator[tuple[int, FloatArray]]:
    """Yield ``(position in keep, covariances)`` chunk by chunk (bounded memory)."""
    t_len, k = x.shape
    if demean and t_len:
        x = x - x[0]
    filt = Filter(decay(half_life))
    per_date = k if diagonal else k * k
    chunk = max(1, CHUNK_ELEMENTS // (per_date * (1 + lags)))
    done = 0
    for lo in range(0, t_len, chunk):
        hi = min(t_len, lo + chunk)
        sel = keep[(keep >= lo) & (keep < hi)] - lo
        sq, per_lag = _products(x, lo, hi, lags, diagonal=diagonal)
        ones = np.ones((hi - lo, 1))
        sums = _Sums(
            w=filt("w", ones)[sel, 0],
            m=filt("m", x[lo:hi])[sel],
            s0=filt("s0", sq)[sel],
            lags=[
                (
                    filt(f"a{i}", a)[sel],
                    filt(f"c{i}", c)[sel],
                    filt(f"b{i}", b)[sel],
                    filt(f"w{i}", ones * (np.arange(lo, hi) >= i + 1)[:, None])[sel, 0],
                )
                for i, (a, c, b) in enumerate(per_lag)
            ],
        )
        if sel.size:
            yield done, _assemble(sums, lags, demean=demean, diagonal=diagonal)
        done += sel.size


def ew_covariance(
    x: FloatArray,
    keep: IntArray,
    *,
    half_life: float | None,
    lags: int = 0,
    demean: bool = True,
    diagonal: bool = False,
) -> FloatArray:
    """Weighted Newey-West covariance at the dates ``keep`` (sorted row indices of ``x``).

    Returns ``len(keep) x K x K`` (or ``len(keep) x K`` variances with ``diagonal``).
    """
    k = x.shape[1]
    out = np.empty((keep.size, k) if diagonal else (keep.size, k, k))
    for start, values in _chunks(
        x, keep, half_life=half_life, lags=lags, demean=demean, diagonal=diagonal
    ):
        out[start : start + values.shape[0]] = values
    return out


def _assemble(sums: _Sums, lags: int, *, demean: bool, diagonal: bool) -> FloatArray:
    w = sums.w[:, None] if diagonal else sums.w[:, None, None]
    mu = sums.m / sums.w[:, None] if demean else np.zeros_like(sums.m)

    def outer(u: FloatArray, v: FloatArray) -> FloatArray:
        return u * v if diagonal else np.einsum("di,dj->dij", u, v)

    mm = outer(mu, mu)
    v = sums.s0 / w - mm
    for lag, (a, c, b, wl) in enumerate(sums.lags, start=1):
        wl_ = wl[:, None] if diagonal else wl[:, None, None]
        g = (a - outer(c, mu) - outer(mu, b) + wl_ * mm) / w
        g_t = g if diagonal else g.transpose(0, 2, 1)
        v = v + (1.0 - lag / (lags + 1.0)) * (g + g_t)
    return np.asarray(v, dtype=np.float64)


def ew_variance(
    x: FloatArray, keep: IntArray, *, half_life: float | None, lags: int = 0, demean: bool = True
) -> FloatArray:
    """Weighted Newey-West variances of each column (negative values clipped at 0)."""
    var = ew_covariance(x, keep, half_life=half_life, lags=lags, demean=demean, diagonal=True)
    return np.clip(var, 0.0, None)


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
    """Covariance from volatilities and correlations with their own half-lives and lags.

    ``F_ij = sigma_i sigma_j rho_ij``: ``sigma`` from the (Newey-West) variances with
    ``half_life_vol``, ``rho`` from the (Newey-West) covariance ``C`` with
    ``half_life_corr`` (projected to PSD first when its Newey-West terms made it
    indefinite), computed as ``C_ij * (sigma_i / sqrt(C_ii)) * (sigma_j / sqrt(C_jj))``.
    Yields ``(position in keep, block of matrices, matrices projected)`` chunk by chunk
    in date order, in one pass (memory: one chunk). Dates with fewer than
    ``min_periods`` observations are NaN.
    """
    sd = np.sqrt(ew_variance(x, keep, half_life=half_life_vol, lags=lags_vol, demean=demean))
    for start, raw in _chunks(
        x, keep, half_life=half_life_corr, lags=lags_corr, demean=demean, diagonal=False
    ):
        stop = start + raw.shape[0]
        cov, n_projected = raw, 0
        if lags_corr > 0:
            cov, changed = _matrix.project_psd(raw)
            n_projected = int(changed.sum())
        c_sd = np.sqrt(np.clip(np.einsum("dii->di", cov), 0.0, None))
        scale = np.divide(sd[start:stop], c_sd, out=np.zeros_like(c_sd), where=c_sd > 0)
        cov *= scale[:, :, None]
        cov *= scale[:, None, :]
        block = cov + cov.transpose(0, 2, 1)
        block *= 0.5
        block[keep[start:stop] + 1 < min_periods] = np.nan
        yield start, block, n_projected
