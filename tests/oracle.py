"""Independent references: plain per-group numpy loops, written from the definitions.

Missing values are NaN here. Nothing in this module imports polars_factors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import polars as pl
from scipy import special, stats

ZERO_RTOL = 1e-13  # the documented zero-spread rule


def column(df: pl.DataFrame, name: str) -> np.ndarray:
    """Float array with NaN for null, NaN and +-inf."""
    x = df[name].cast(pl.Float64).to_numpy().astype(float, copy=True)
    x[~np.isfinite(x)] = np.nan
    return x


def raw_column(df: pl.DataFrame, name: str) -> np.ndarray:
    return df[name].cast(pl.Float64).to_numpy().astype(float, copy=True)


def per_group(
    df: pl.DataFrame,
    by: Sequence[str],
    arrays: Sequence[np.ndarray],
    fn: Callable[..., np.ndarray],
) -> np.ndarray:
    """Apply ``fn(*arrays_of_group)`` for each group; results aligned to the rows."""
    keys = df.select(by).rows()
    groups: dict[tuple[object, ...], list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    out = np.full(df.height, np.nan)
    for idx_list in groups.values():
        idx = np.asarray(idx_list)
        out[idx] = fn(*(a[idx] for a in arrays))
    return out


def eff_weights(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(x) & np.isfinite(w) & (w > 0)
    return np.where(ok, w, 0.0)


def mean_std(x: np.ndarray, w: np.ndarray | None, std_weights: str) -> tuple[float, float]:
    present = ~np.isnan(x)
    v = x[present]
    if v.size == 0:
        return np.nan, np.nan
    if w is None:
        mean = v.mean()
    else:
        we = eff_weights(x, w)[present]
        mean = np.average(v, weights=we) if we.sum() > 0 else np.nan
    if w is None or std_weights == "equal":
        std = v.std()
    else:
        we = eff_weights(x, w)[present]
        std = np.sqrt(np.average((v - mean) ** 2, weights=we)) if we.sum() > 0 else np.nan
    if not std > ZERO_RTOL * np.abs(v).max():
        std = np.nan
    return mean, std


def clip(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    out = x.copy()
    if not np.isnan(lo):
        out = np.where(out < lo, lo, out)
    if not np.isnan(hi):
        out = np.where(out > hi, hi, out)
    return out


def winsorize_quantile(x: np.ndarray, lower: float, upper: float) -> np.ndarray:
    v = x[~np.isnan(x)]
    if v.size == 0:
        return x.copy()
    lo, hi = np.quantile(v, [lower, upper])
    return clip(x, lo, hi)


def winsorize_sigma(
    x: np.ndarray, w: np.ndarray | None, n_sigma: float, std_weights: str = "equal"
) -> np.ndarray:
    mean, std = mean_std(x, w, std_weights)
    if np.isnan(mean) or np.isnan(std):
        return x.copy()
    return clip(x, mean - n_sigma * std, mean + n_sigma * std)


def winsorize_mad(x: np.ndarray, n_sigma: float) -> np.ndarray:
    v = x[~np.isnan(x)]
    if v.size == 0:
        return x.copy()
    med = np.median(v)
    mad = np.median(np.abs(v - med))
    if not mad > 0:
        return x.copy()
    return clip(x, med - n_sigma * 1.4826 * mad, med + n_sigma * 1.4826 * mad)


def zscore(x: np.ndarray, w: np.ndarray | None, std_weights: str = "equal") -> np.ndarray:
    mean, std = mean_std(x, w, std_weights)
    return (x - mean) / std


def rank(x: np.ndarray, *, gaussian: bool) -> np.ndarray:
    out = np.full(x.shape, np.nan)
    present = ~np.isnan(x)
    v = x[present]
    if v.size:
        p = stats.rankdata(v, method="average") / (v.size + 1)
        out[present] = special.ndtri(p) if gaussian else p
    return out


def fill(x: np.ndarray, strategy: str) -> np.ndarray:
    v = x[~np.isnan(x)]
    if strategy == "zero":
        value = 0.0
    elif v.size == 0:
        return x.copy()
    else:
        value = np.median(v) if strategy == "median" else v.mean()
    return np.where(np.isnan(x), value, x)


def standardize(
    x: np.ndarray,
    w: np.ndarray | None,
    w_raw: np.ndarray | None,
    *,
    lower: float,
    upper: float,
    n_sigma: float,
    std_weights: str,
    min_count: int,
) -> np.ndarray:
    present = ~np.isnan(x)
    count = int(present.sum()) if w_raw is None else int((present & ~np.isnan(w_raw)).sum())
    if count < min_count:
        return np.full(x.shape, np.nan)
    s1 = winsorize_quantile(x, lower, upper)
    s2 = winsorize_sigma(s1, w, n_sigma, std_weights)
    return zscore(s2, w, std_weights)
