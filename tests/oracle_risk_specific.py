"""Independent oracle of ``specific_risk``'s time-series step: plain loops per asset and row."""

from __future__ import annotations

import math

import numpy as np
import polars as pl


def ts_variance_one(
    u: np.ndarray,
    *,
    half_life: float | None,
    nw_lags: int,
    min_periods: int,
    demean: bool,
) -> np.ndarray:
    """Variance forecast on every row of one asset's residuals (NaN = missing)."""
    n = len(u)
    out = np.full(n, np.nan)
    for t in range(n):
        rows = [s for s in range(t + 1) if math.isfinite(u[s])]
        if len(rows) < min_periods:
            continue
        if half_life is None or math.isinf(half_life):
            w = dict.fromkeys(rows, 1.0)
        else:
            w = {s: 0.5 ** ((t - s) / half_life) for s in rows}
        total = sum(w.values())
        m = sum(w[s] * u[s] for s in rows) / total if demean else 0.0
        gamma0 = sum(w[s] * (u[s] - m) ** 2 for s in rows) / total
        v = gamma0
        for lag in range(1, nw_lags + 1):
            g = 0.0
            for s in rows:
                if s - lag >= 0 and math.isfinite(u[s - lag]):
                    g += w[s] * (u[s] - m) * (u[s - lag] - m)
            v += 2.0 * (1.0 - lag / (nw_lags + 1)) * g / total
        out[t] = max(v, 0.0)
    return out


def ts_variance_last(
    u: np.ndarray, *, half_life: float | None, nw_lags: int, demean: bool
) -> float:
    """Variance forecast on the last row of ``u`` (NaN = missing), vectorized with numpy."""
    n = len(u)
    age = np.arange(n)[::-1].astype(float)
    w = np.ones(n) if half_life is None else 0.5 ** (age / half_life)
    ok = np.isfinite(u)
    total = w[ok].sum()
    m = (w[ok] * u[ok]).sum() / total if demean else 0.0
    d = np.where(ok, u - m, 0.0)  # zero where missing: drops incomplete pairs
    v = (w * d * d).sum() / total
    for lag in range(1, nw_lags + 1):
        v += 2.0 * (1.0 - lag / (nw_lags + 1)) * (w[lag:] * d[lag:] * d[:-lag]).sum() / total
    return max(v, 0.0)


def ts_variance(
    df: pl.DataFrame,
    *,
    half_life: float | None,
    nw_lags: int,
    min_periods: int,
    demean: bool,
) -> np.ndarray:
    """Oracle over a panel (each asset's rows in increasing date order), in input order."""
    assets = df["asset"].to_list()
    u_all = df["residual"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    u_all = np.where(np.isfinite(u_all), u_all, np.nan)
    out = np.full(len(assets), np.nan)
    for a in dict.fromkeys(assets):
        idx = np.array([i for i, x in enumerate(assets) if x == a])
        out[idx] = ts_variance_one(
            u_all[idx],
            half_life=half_life,
            nw_lags=nw_lags,
            min_periods=min_periods,
            demean=demean,
        )
    return out


def shrink(
    sigma: list[float | None],
    size: list[float | None],
    names: list[str],
    *,
    q: float,
    n_groups: int,
) -> list[float | None]:
    """Bayesian shrinkage of one date's volatilities (plain Python); returns variances.

    Size ties are broken by ``names``.
    """
    elig = [
        i
        for i, (s, c) in enumerate(zip(sigma, size, strict=True))
        if s is not None and c is not None and math.isfinite(c) and c > 0
    ]
    order = sorted(elig, key=lambda i: (size[i], names[i]))
    n = len(order)
    group = {i: (r * n_groups) // n for r, i in enumerate(order)}
    out: list[float | None] = [None if s is None else s * s for s in sigma]
    for g in set(group.values()):
        members = [i for i in elig if group[i] == g]
        bar = sum(size[i] * sigma[i] for i in members) / sum(size[i] for i in members)  # type: ignore[operator,misc]
        delta = math.sqrt(sum((sigma[i] - bar) ** 2 for i in members) / len(members))  # type: ignore[operator]
        for i in members:
            dev = q * abs(sigma[i] - bar)  # type: ignore[operator]
            v = dev / (delta + dev) if dev > 0 else 0.0
            sh = v * bar + (1 - v) * sigma[i]  # type: ignore[operator]
            out[i] = sh * sh
    return out
