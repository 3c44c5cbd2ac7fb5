"""Benchmark: daily factor covariances and specific variances (the risk model).

Spec: two synthetic inputs, read from parquet. (1) Daily returns of 60 factors over
5,000 dates (wide: ``date`` + one column per factor; correlated, with time-varying
volatility and a little autocorrelation). (2) A long panel of regression residuals of
3,000 assets x 2,500 dates (7.5M rows, sorted by date then asset; serially
correlated, 1% nulls) with a lognormal market cap. In the same run compare

- ours, covariance: ``pf.risk.factor_covariance(pl.scan_parquet(path),
  preset="USE4S")`` (half-lives 84 / 504 dates, Newey-West lags 5 / 2), a 60 x 60
  matrix for every date (``dates="all"``, 18M rows), also on the first 1,250 and
  2,500 dates (time linear in the number of dates?) and for the last date only;
- (a) numpy, per date: for every date t, the weights ``0.5 ** ((t - s) / h)`` over
  the dates s <= t, the weighted mean, the (Newey-West) variances with the vol
  half-life and the covariance with the corr half-life from matrix products over the
  whole history (PSD projection where the lags made it indefinite), then
  ``F = sigma rho sigma``: the formulas written out, quadratic in the number of dates;
- ours, specific risk: ``specific_risk(pl.scan_parquet(path), half_life=84,
  nw_lags=5).collect()`` (EW Newey-West variance of every asset on every row), also
  with ``size="mcap"`` (USE4 Bayesian shrinkage toward the cap-weighted mean
  volatility of the size decile) and on the first 1,250 dates;
- (b) numpy, per date: the residuals pivoted to a dates x assets matrix, then for
  every date the weighted mean and Newey-West sums of every asset over its whole
  history (``w @ (d[l:] * d[:-l])``), and the shrinkage from per-date sorts and
  ``np.bincount`` group sums; quadratic in the number of dates;
- (c) pandas, linear: the pivoted residuals, ``DataFrame.ewm(halflife=84).mean()``
  of the zero-filled residuals, their squares, their lagged products and the
  presence masks (the weighted sums of the same formulas, one pass each), and the
  shrinkage from ``groupby`` rank and group sums on the long frame. The fastest
  pandas version found.

(a) and (b) are timed on every ``--stride``-th date (default 10 and 25; each date's
work is linear in the length of its history, so a strided sample costs the full loop
divided by the stride) and scaled by the stride; the residual matrix is built before
their clock starts (which favours them). The table says so.

Goals: each workload at least 10x faster than its per-date baseline; time linear in
the number of dates (the ratio of 5,000 to 2,500 dates, and of 2,500 to 1,250 for the
specific variances, at most 2.4: 2 plus noise, less with fixed costs such as reading
the file; quadratic would be 4); report peak memory.

Before any timing, ours is compared with (a) on a dozen dates (every entry, relative
to ``sqrt(F_ii F_jj)``), with itself on prefixes of the dates (no look-ahead) and
with ``dates="last"``; and with (b) on a dozen dates and with (c) on every row
(relative difference, nulls at the same places), with and without shrinkage. The run
stops if any check fails.

Each measurement runs in a fresh subprocess (so peak RSS, ``ru_maxrss`` of that
process, is per variant), ``--repeats`` times (default 3), interleaving the
variants; the table shows the best wall time, all the runs, the user and system CPU
time of the fastest run and the largest peak RSS. Wall and CPU times cover the work
only (reading the file included, the result collected in memory), not the
interpreter start, the imports or the checksum computed afterwards.

Usage (from the repository root)::

    python benchmarks/risk.py           # full run, writes RESULTS.md
    python benchmarks/risk.py --small   # smoke run (~1 min), prints only

The inputs are generated once (seeded) under ``benchmarks/data/`` (git-ignored).
Needs ``pandas`` besides the package.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import _harness as bench  # benchmarks/_harness.py
import numpy as np
import polars as pl

import polars_factors as pf
from polars_factors.exceptions import DataLossWarning
from polars_factors.risk.specific import specific_risk

SEED = 20261124
USE4S = {"half_life_vol": 84, "half_life_corr": 504, "nw_lags_vol": 5, "nw_lags_corr": 2}
HALF_LIFE, NW_LAGS, SHRINKAGE, N_GROUPS = 84, 5, 0.1, 10  # specific risk
PHI = 0.05  # AR(1) coefficient of the factor returns and of the residuals
NULL_RESID, NULL_MCAP = 0.01, 0.001  # shares of null residuals and market caps
FULL = {"cov": (5_000, 60), "spec": (2_500, 3_000), "cov_stride": 10, "spec_stride": 25}
SMALL = {"cov": (800, 20), "spec": (400, 300), "cov_stride": 4, "spec_stride": 4}
N_CHECK_DATES = 12
VERSIONS = ("polars", "pandas", "numpy", "scipy")
Engine = Literal["auto", "streaming", "in-memory"]


# --------------------------------------------------------------------------- data


def data_path(kind: str, n_dates: int, n_cols: int) -> Path:
    return bench.DATA_DIR / f"risk_{kind}_{n_dates}x{n_cols}_seed{SEED}.parquet"


def panel_dates(n_dates: int) -> pl.Series:
    """The trading dates: weekdays from 2000-01-03."""
    return bench.weekdays(dt.date(2000, 1, 3), n_dates)


def _factor_returns(n_dates: int, n_factors: int) -> pl.DataFrame:
    """Wide daily factor returns: correlated, volatility regimes, AR(1) with :data:`PHI`.

    Three latent drivers plus a factor-specific part give correlations of about
    +-0.3; each factor's volatility (0.2% to 1% a day) is scaled by a slowly moving
    market-wide regime (log-AR(1)), so the half-lives matter.
    """
    rng = np.random.default_rng([SEED, n_factors])
    loadings = rng.normal(0.0, 0.5, (3, n_factors))
    vol = rng.uniform(0.002, 0.01, n_factors)
    z = rng.standard_normal((n_dates, 3)) @ loadings + rng.standard_normal((n_dates, n_factors))
    z /= np.sqrt((loadings**2).sum(axis=0) + 1.0)
    log_regime = np.zeros(n_dates)
    shocks = rng.normal(0.0, 0.05, n_dates)
    for t in range(1, n_dates):
        log_regime[t] = 0.995 * log_regime[t - 1] + shocks[t]
    x = np.empty((n_dates, n_factors))
    prev = np.zeros(n_factors)
    for t in range(n_dates):
        prev = PHI * prev + z[t] * vol * np.exp(log_regime[t])
        x[t] = prev
    names = [f"f{k + 1:02d}" for k in range(n_factors)]
    return pl.DataFrame({"date": panel_dates(n_dates), **dict(zip(names, x.T, strict=True))})


class _Residuals:
    """Residual panel state carried from one chunk of dates to the next.

    Per asset: a specific volatility (lognormal around 1.5% a day), the last residual
    (AR(1) with :data:`PHI`) and the log market cap (a random walk). A longer panel
    starts with the same rows as a shorter one.
    """

    def __init__(self, n_assets: int) -> None:
        rng = np.random.default_rng([SEED, n_assets])
        self.n_assets = n_assets
        self.vol = rng.lognormal(np.log(0.015), 0.5, n_assets)
        self.last = np.zeros(n_assets)
        self.log_mcap = rng.normal(np.log(2_000.0), 1.5, n_assets)

    def chunk(self, i: int, dates: pl.Series) -> pl.DataFrame:
        rng = np.random.default_rng([SEED, self.n_assets, i])
        m, n = len(dates), self.n_assets
        noise = rng.standard_t(5, (m, n)) * np.sqrt(3 / 5) * self.vol
        resid = np.empty((m, n))
        for t in range(m):
            self.last = PHI * self.last + noise[t]
            resid[t] = self.last
        log_mcap = self.log_mcap + np.cumsum(rng.normal(0.0, 0.01, (m, n)), axis=0)
        self.log_mcap = log_mcap[-1]
        mcap = np.exp(log_mcap)
        resid[rng.random((m, n)) < NULL_RESID] = np.nan
        mcap[rng.random((m, n)) < NULL_MCAP] = np.nan
        return pl.DataFrame(
            {
                "date": dates.gather(np.repeat(np.arange(m), n)),
                "asset": np.tile(np.arange(n, dtype=np.int32), m),
                "residual": resid.ravel(),
                "mcap": mcap.ravel(),
            }
        ).with_columns(pl.col("residual", "mcap").fill_nan(None))


def generate(path: Path, n_dates: int, n_cols: int) -> None:
    """Write the factor returns (``risk_cov_*``) or the residual panel (``risk_spec_*``)."""
    if path.name.startswith("risk_cov_"):
        out = path.with_suffix(".tmp")
        _factor_returns(n_dates, n_cols).write_parquet(out)
        out.replace(path)
    else:
        bench.write_chunked(path, panel_dates(n_dates), _Residuals(n_cols).chunk)


def _first_dates(path: Path, divisor: int) -> pl.LazyFrame:
    """The file's first ``1 / divisor`` of the dates (its shape is in its name)."""
    n_dates = int(path.stem.split("_")[2].split("x")[0])
    last = panel_dates(n_dates // divisor)[-1]
    return pl.scan_parquet(path).filter(pl.col("date") <= last)


# ------------------------------------------------------------------ ours: covariance


def ours_covariance(lf: pl.LazyFrame | pl.DataFrame, dates: Any = "all") -> pl.DataFrame:
    """USE4S covariances; the projection warning (early, short histories) is counted."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataLossWarning)
        return pf.risk.factor_covariance(lf, preset="USE4S", dates=dates)


def run_cov_ours(path: Path, _: int | None) -> pl.DataFrame:
    return ours_covariance(pl.scan_parquet(path))


def run_cov_ours_half(path: Path, _: int | None) -> pl.DataFrame:
    return ours_covariance(_first_dates(path, 2))


def run_cov_ours_quarter(path: Path, _: int | None) -> pl.DataFrame:
    return ours_covariance(_first_dates(path, 4))


def run_cov_ours_last(path: Path, _: int | None) -> pl.DataFrame:
    return ours_covariance(pl.scan_parquet(path), dates="last")


# ---------------------------------------------------------------- baseline: covariance


def _ew_cov(x: np.ndarray, half_life: float, lags: int, *, diagonal: bool) -> np.ndarray:
    """Newey-West EW covariance (or variances) of the rows of ``x`` as of its last row.

    Weights ``0.5 ** (age / half_life)`` normalized to sum to 1, the weighted mean
    subtracted, lag terms with Bartlett weights (normalized by the total weight).
    """
    n = x.shape[0]
    w = 0.5 ** (np.arange(n - 1, -1, -1) / half_life)
    w /= w.sum()
    d = x - w @ x
    if diagonal:
        v = w @ (d * d)
        for lag in range(1, lags + 1):
            v += 2.0 * (1.0 - lag / (lags + 1)) * (w[lag:] @ (d[lag:] * d[:-lag]))
        return np.asarray(np.clip(v, 0.0, None))
    dw = d * w[:, None]
    v = dw.T @ d
    for lag in range(1, lags + 1):
        g = dw[lag:].T @ d[:-lag]
        v += (1.0 - lag / (lags + 1)) * (g + g.T)
    return np.asarray(v)


def numpy_covariance_at(x: np.ndarray, t: int) -> np.ndarray:
    """The USE4S covariance of date ``t`` from the returns of dates ``0..t``."""
    k = x.shape[1]
    if t + 1 < max(k + 1, max(USE4S["nw_lags_vol"], USE4S["nw_lags_corr"]) + 2):
        return np.full((k, k), np.nan)
    hist = x[: t + 1]
    var = _ew_cov(hist, USE4S["half_life_vol"], USE4S["nw_lags_vol"], diagonal=True)
    cov = _ew_cov(hist, USE4S["half_life_corr"], USE4S["nw_lags_corr"], diagonal=False)
    cov = 0.5 * (cov + cov.T)
    eig = np.linalg.eigvalsh(cov)
    if eig[0] < -1e-12 * max(abs(eig[-1]), np.finfo(float).tiny):  # projection, as ours
        w, v = np.linalg.eigh(cov)
        cov = (v * np.clip(w, 0.0, None)) @ v.T
        cov = 0.5 * (cov + cov.T)
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    np.fill_diagonal(corr, 1.0)
    vol = np.sqrt(var)
    return np.asarray(corr * np.outer(vol, vol))


def strided(n_dates: int, stride: int) -> np.ndarray:
    """Every ``stride``-th date, starting in the middle of the first stride."""
    return np.arange(stride // 2, n_dates, stride)


def read_factor_matrix(path: Path) -> np.ndarray:
    import pandas as pd  # noqa: PLC0415

    return np.asarray(pd.read_parquet(path).drop(columns="date").to_numpy(dtype=float))


def run_cov_numpy(path: Path, stride: int | None) -> dict[int, np.ndarray]:
    x = read_factor_matrix(path)
    return {int(t): numpy_covariance_at(x, int(t)) for t in strided(len(x), stride or 1)}


# ---------------------------------------------------------------- ours: specific risk


def ours_specific(
    lf: pl.LazyFrame, *, size: str | None = None, engine: Engine = "auto"
) -> pl.DataFrame:
    out = specific_risk(lf, half_life=HALF_LIFE, nw_lags=NW_LAGS, shrinkage=SHRINKAGE, size=size)
    return out.collect(engine=engine)


def run_spec_ours(path: Path, _: int | None) -> pl.DataFrame:
    return ours_specific(pl.scan_parquet(path))


def run_spec_ours_size(path: Path, _: int | None) -> pl.DataFrame:
    return ours_specific(pl.scan_parquet(path), size="mcap")


def run_spec_ours_streaming(path: Path, _: int | None) -> pl.DataFrame:
    return ours_specific(pl.scan_parquet(path), engine="streaming")


def run_spec_ours_in_memory(path: Path, _: int | None) -> pl.DataFrame:
    return ours_specific(pl.scan_parquet(path), engine="in-memory")


def run_spec_ours_half(path: Path, _: int | None) -> pl.DataFrame:
    return ours_specific(_first_dates(path, 2))


# ------------------------------------------------------------ baselines: specific risk


@dataclass(frozen=True)
class Matrices:
    """The residual panel as dates x assets matrices (NaN where missing)."""

    dates: np.ndarray
    resid: np.ndarray
    mcap: np.ndarray


def read_matrices(path: Path) -> Matrices:
    """pandas: read the long panel and pivot residuals and market caps."""
    import pandas as pd  # noqa: PLC0415

    df = pd.read_parquet(path, to_pandas_kwargs={"date_as_object": False})
    resid = df.pivot(index="date", columns="asset", values="residual")
    mcap = df.pivot(index="date", columns="asset", values="mcap")
    return Matrices(resid.index.to_numpy(), resid.to_numpy(dtype=float), mcap.to_numpy(dtype=float))


def numpy_specific_at(u: np.ndarray, t: int) -> np.ndarray:
    """EW Newey-West variance of every asset on date ``t`` from its residuals up to ``t``.

    Weights by age in dates (a missing residual still ages the older ones), the
    weighted mean of the present residuals subtracted, lag products where both are
    present, everything normalized by the weight of the present residuals.
    """
    hist = u[: t + 1]
    present = ~np.isnan(hist)
    w = 0.5 ** (np.arange(t, -1, -1) / HALF_LIFE)
    total = w @ present
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (w @ np.where(present, hist, 0.0)) / total
        d = np.where(present, hist - mean, 0.0)  # zero where missing: drops the pair
        v = w @ (d * d)
        for lag in range(1, NW_LAGS + 1):
            v += 2.0 * (1.0 - lag / (NW_LAGS + 1)) * (w[lag:] @ (d[lag:] * d[:-lag]))
        v = np.clip(v / total, 0.0, None)
    v[present.sum(axis=0) < NW_LAGS + 2] = np.nan
    return np.asarray(v)


def numpy_shrink(var: np.ndarray, size: np.ndarray) -> np.ndarray:
    """USE4 Bayesian shrinkage of one date's variances toward size-decile means."""
    sigma = np.sqrt(var)
    ok = np.isfinite(sigma) & np.isfinite(size) & (size > 0)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return var
    s, c = sigma[idx], size[idx]
    order = np.argsort(c, kind="stable")  # ties: the lower asset first
    group = np.empty(idx.size, dtype=np.int64)
    group[order] = np.arange(idx.size) * N_GROUPS // idx.size
    bar = np.bincount(group, c * s, N_GROUPS) / np.bincount(group, c, N_GROUPS)
    gap = s - bar[group]
    spread = np.sqrt(np.bincount(group, gap * gap, N_GROUPS) / np.bincount(group, None, N_GROUPS))
    dev = SHRINKAGE * np.abs(gap)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where(dev > 0, dev / (spread[group] + dev), 0.0)
    shrunk = v * bar[group] + (1.0 - v) * s
    out = var.copy()
    out[idx] = np.where(dev > 0, shrunk * shrunk, var[idx])
    return out


def numpy_specific(m: Matrices, dates: np.ndarray, *, size: bool) -> dict[int, np.ndarray]:
    out = {}
    for t in dates:
        var = numpy_specific_at(m.resid, int(t))
        out[int(t)] = numpy_shrink(var, m.mcap[t]) if size else var
    return out


def pandas_specific(path: Path, *, size: bool) -> Any:
    """EW means of zero-filled products (pandas ``ewm``), shrinkage by ``groupby``.

    The ratio of two EW means with the same weights is the ratio of the weighted sums,
    so every term of the per-date formula is one ``ewm(...).mean()`` pass over the
    pivoted dates x assets frame. Returns the long frame with ``specific_var``.
    """
    import pandas as pd  # noqa: PLC0415

    df = pd.read_parquet(path, to_pandas_kwargs={"date_as_object": False})
    u = df.pivot(index="date", columns="asset", values="residual")
    present = u.notna().astype(float)
    u0 = u.fillna(0.0)

    def ewm(frame: Any) -> Any:
        return frame.ewm(halflife=HALF_LIFE, adjust=True).mean()

    weight = ewm(present)
    mean = ewm(u0) / weight
    var = ewm(u0 * u0) / weight - mean * mean
    for lag in range(1, NW_LAGS + 1):
        lagged = u0.shift(lag).fillna(0.0)
        both = present * present.shift(lag).fillna(0.0)
        cross = (
            ewm(u0 * lagged) - mean * (ewm(both * u0) + ewm(both * lagged)) + mean**2 * ewm(both)
        )
        var += 2.0 * (1.0 - lag / (NW_LAGS + 1)) * cross / weight
    var = var.clip(lower=0.0).where(present.cumsum() >= NW_LAGS + 2)
    long = var.stack(future_stack=True).rename("specific_var")
    out = df[["date", "asset"]].join(long, on=["date", "asset"])
    if not size:
        return out
    out["mcap"] = df["mcap"]
    sigma = np.sqrt(out["specific_var"])
    ok = sigma.notna() & (out["mcap"] > 0)
    sub = pd.DataFrame({"date": out["date"], "s": sigma, "c": out["mcap"]})[ok]
    rank = sub.groupby("date")["c"].rank(method="first")
    n = sub.groupby("date")["c"].transform("size")
    sub["g"] = ((rank.astype(np.int64) - 1) * N_GROUPS // n).to_numpy()
    sub["cs"] = sub["c"] * sub["s"]
    grouped = sub.groupby(["date", "g"])
    bar = grouped["cs"].transform("sum") / grouped["c"].transform("sum")
    sub["gap2"] = (sub["s"] - bar) ** 2
    spread = np.sqrt(sub.groupby(["date", "g"])["gap2"].transform("mean"))
    dev = SHRINKAGE * (sub["s"] - bar).abs()
    v = (dev / (spread + dev)).where(dev > 0, 0.0)
    shrunk = v * bar + (1.0 - v) * sub["s"]
    out.loc[sub.index[dev > 0], "specific_var"] = (shrunk * shrunk)[dev > 0]
    return out.drop(columns="mcap")


def run_spec_numpy(m: Matrices, stride: int | None) -> dict[int, np.ndarray]:
    return numpy_specific(m, strided(len(m.dates), stride or 1), size=False)


def run_spec_numpy_size(m: Matrices, stride: int | None) -> dict[int, np.ndarray]:
    return numpy_specific(m, strided(len(m.dates), stride or 1), size=True)


def run_spec_pandas(path: Path, _: int | None) -> Any:
    return pandas_specific(path, size=False)


def run_spec_pandas_size(path: Path, _: int | None) -> Any:
    return pandas_specific(path, size=True)


def run_baseline(path: Path, _: int | None) -> None:
    """Nothing: the peak RSS of the interpreter and the imports (polars, numpy, package)."""


# --------------------------------------------------------------------- checksums


def checksum(out: Any) -> tuple[float | None, int | None]:
    """Sum of the result (covariances or variances) and the number of dates covered."""
    if out is None:
        return None, None
    if isinstance(out, dict):  # per-date baselines: {date index: matrix or vector}
        return float(sum(np.nansum(v) for v in out.values())), len(out)
    if isinstance(out, pl.DataFrame):
        col = "covariance" if "covariance" in out.columns else "specific_var"
        return float(out[col].sum()), out["date"].n_unique()
    return float(out["specific_var"].sum()), int(out["date"].nunique())


COV = "cov"
SPEC = "spec"
VARIANTS = [
    bench.Variant(
        "cov_ours",
        '`factor_covariance(scan_parquet, preset="USE4S")`, every date',
        run_cov_ours,
    ),
    bench.Variant("cov_ours_half", "same, first half of the dates", run_cov_ours_half),
    bench.Variant("cov_ours_quarter", "same, first quarter of the dates", run_cov_ours_quarter),
    bench.Variant("cov_ours_last", 'same, `dates="last"` (one matrix)', run_cov_ours_last),
    bench.Variant(
        "cov_numpy",
        "(a) numpy per date: weighted mean, NW variances and covariance from matrix "
        "products over the history, PSD check (`eigvalsh`), `sigma rho sigma`",
        run_cov_numpy,
        subset=True,
        ref="cov_ours",
    ),
    bench.Variant(
        "spec_ours",
        "`specific_risk(scan_parquet, half_life=84, nw_lags=5).collect()`",
        run_spec_ours,
    ),
    bench.Variant(
        "spec_ours_size",
        'same, `size="mcap"` (Bayesian shrinkage, 10 size groups)',
        run_spec_ours_size,
    ),
    bench.Variant("spec_ours_streaming", 'same, engine="streaming"', run_spec_ours_streaming),
    bench.Variant("spec_ours_in_memory", 'same, engine="in-memory"', run_spec_ours_in_memory),
    bench.Variant(
        "spec_ours_half", "same as `spec_ours`, first half of the dates", run_spec_ours_half
    ),
    bench.Variant(
        "spec_numpy",
        "(b) numpy per date on the pivoted dates x assets matrix: weighted mean and NW "
        "sums `w @ (d[l:] * d[:-l])` over each asset's history",
        run_spec_numpy,
        subset=True,
        ref="spec_ours",
    ),
    bench.Variant(
        "spec_numpy_size",
        "(b) with the shrinkage: per-date `argsort` size groups, `np.bincount` group sums",
        run_spec_numpy_size,
        subset=True,
        ref="spec_ours_size",
    ),
    bench.Variant(
        "spec_pandas",
        "(c) pandas: `read_parquet`, `pivot`, `ewm(halflife=84).mean()` of the zero-filled "
        "residuals, squares, lagged products and presence masks, `stack` + join back",
        run_spec_pandas,
        ref="spec_ours",
    ),
    bench.Variant(
        "spec_pandas_size",
        "(c) with the shrinkage: `groupby(date).rank`, `groupby([date, group]).transform`",
        run_spec_pandas_size,
        ref="spec_ours_size",
    ),
    bench.Variant("baseline", "imports only (peak RSS floor)", run_baseline),
]
HARNESS = bench.Harness(__file__, VARIANTS, generate)
PREPARED = {"spec_numpy", "spec_numpy_size"}  # get the pivoted matrices before the clock
SAME_RESULT = {
    "spec_ours": ("spec_pandas", "spec_ours_streaming", "spec_ours_in_memory"),
    "spec_ours_size": ("spec_pandas_size",),
}


def workload(name: str) -> str:
    return COV if name.startswith("cov_") else SPEC


# ------------------------------------------------------------------- verification


def _check_dates(n_dates: int) -> list[int]:
    """A dozen dates spread over the panel, the first and last included."""
    picks = np.linspace(0, n_dates - 1, N_CHECK_DATES).round().astype(int)
    return sorted({*picks.tolist(), n_dates // 3 + 1})


def _rel_cov(mine: np.ndarray, ref: np.ndarray, what: str) -> float:
    """Max of ``|a - b| / sqrt(b_ii b_jj)``; both must be null (NaN) together."""
    if np.isnan(ref).all() or np.isnan(mine).all():
        if not (np.isnan(ref).all() and np.isnan(mine).all()):
            msg = f"{what}: null in one and not the other"
            raise AssertionError(msg)
        return 0.0
    scale = np.sqrt(np.outer(np.diag(ref), np.diag(ref)))
    return float((np.abs(mine - ref) / scale).max())


def _rel(mine: Any, ref: Any, what: str) -> float:
    """Max relative difference (vs max(|ref|, 1e-300)); nulls must be at the same places."""
    a, b = np.asarray(mine, dtype=float), np.asarray(ref, dtype=float)
    if a.shape != b.shape:
        msg = f"{what}: shapes differ ({a.shape} vs {b.shape})"
        raise AssertionError(msg)
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        msg = f"{what}: null at different places ({np.isnan(a).sum()} vs {np.isnan(b).sum()})"
        raise AssertionError(msg)
    ok = ~np.isnan(b)
    if not ok.any():
        return 0.0
    return float((np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]), 1e-300)).max())


def _stack(cov: pl.DataFrame, k: int) -> np.ndarray:
    return cov["covariance"].fill_null(np.nan).to_numpy().reshape(-1, k, k)


def verify_cov(path: Path) -> tuple[dict[str, float], dict[str, float]]:
    x = read_factor_matrix(path)
    n_dates, k = x.shape
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataLossWarning)
        mine = pf.risk.factor_covariance(pl.scan_parquet(path), preset="USE4S")
    stack = _stack(mine, k)
    days = _check_dates(n_dates)
    worst = max(_rel_cov(stack[t], numpy_covariance_at(x, t), f"date {t}") for t in days)
    checks = {f"cov: ours vs (a) numpy on {len(days)} dates (relative to sqrt(F_ii F_jj))": worst}
    half = n_dates // 2
    prefix = ours_covariance(pl.scan_parquet(path).head(half), dates="last")
    checks["cov: ours on the first half of the dates, last matrix, vs every date"] = _rel_cov(
        _stack(prefix, k)[0], stack[half - 1], "prefix"
    )
    last = ours_covariance(pl.scan_parquet(path), dates="last")
    checks['cov: dates="last" vs every date'] = _rel_cov(_stack(last, k)[0], stack[-1], "last")
    n_null = int(np.isnan(stack).all(axis=(1, 2)).sum())
    stats = {"null matrices": float(n_null), "projection warnings": float(len(caught))}
    if mine.height != n_dates * k * k:
        msg = f"cov: {mine.height} rows, expected {n_dates * k * k}"
        raise AssertionError(msg)
    return checks, stats


def _wide(frame: pl.DataFrame, n_dates: int, n_assets: int) -> np.ndarray:
    """Ours (long, sorted by date then asset, one row per cell) as dates x assets."""
    return frame["specific_var"].fill_null(np.nan).to_numpy().reshape(n_dates, n_assets)


def verify_spec(path: Path) -> tuple[dict[str, float], dict[str, float]]:
    m = read_matrices(path)
    n_dates, n_assets = m.resid.shape
    days = _check_dates(n_dates)
    checks: dict[str, float] = {}
    stats: dict[str, float] = {}
    for size in (False, True):
        label = "with shrinkage" if size else "no shrinkage"
        mine = ours_specific(pl.scan_parquet(path), size="mcap" if size else None)
        keys = pl.scan_parquet(path).select("date", "asset").collect()
        if not mine.select("date", "asset").equals(keys):
            msg = "spec: ours changed the rows or their order"
            raise AssertionError(msg)
        wide = _wide(mine, n_dates, n_assets)
        ref = numpy_specific(m, np.array(days), size=size)
        checks[f"spec ({label}): ours vs (b) numpy on {len(days)} dates (relative)"] = max(
            _rel(wide[t], ref[t], f"date {t}") for t in days
        )
        pd_out = pandas_specific(path, size=size)
        checks[f"spec ({label}): ours vs (c) pandas on every row (relative)"] = _rel(
            mine["specific_var"].fill_null(np.nan).to_numpy(),
            pd_out["specific_var"].to_numpy(dtype=float),
            f"pandas {label}",
        )
        if size:
            raw = _wide(ours_specific(pl.scan_parquet(path)), n_dates, n_assets)
            moved = (wide != raw) & ~np.isnan(raw)
            stats["share of variances moved by the shrinkage"] = float(moved.mean())
        else:
            stats["null variances (short histories)"] = float(np.isnan(wide).mean())
    return checks, stats


def verify(paths: dict[str, Path]) -> dict[str, Any]:
    checks, stats = verify_cov(paths[COV])
    spec_checks, spec_stats = verify_spec(paths[SPEC])
    return {"checks": checks | spec_checks, "stats": stats | spec_stats}


# ------------------------------------------------------------------ subprocesses


def child(args: argparse.Namespace) -> int:
    """The work of a child process: generate, verify, or run one variant once.

    The per-date numpy baseline of the specific variances gets its dates x assets
    matrices before the clock starts; the checksum is computed after it stops.
    """

    def run(v: bench.Variant) -> dict[str, Any]:
        data: Any = read_matrices(args.path) if v.name in PREPARED else args.path
        return bench.timed(lambda: v.fn(data, args.stride), checksum)

    return HARNESS.child(
        args,
        verify=lambda: _verify_and_check(args),
        run=run,
    )


def _verify_and_check(args: argparse.Namespace) -> dict[str, Any]:
    out = verify({COV: args.path, SPEC: Path(args.spec_path)})
    bench.check_tolerance(out["checks"], args.tolerance)
    return out


def cross_check(paths: dict[str, Path], tolerance: float) -> dict[str, Any]:
    print("cross-checking polars_factors against numpy and pandas ...", flush=True)
    out = HARNESS.spawn(
        "--child",
        "verify",
        "--path",
        str(paths[COV]),
        "--spec-path",
        str(paths[SPEC]),
        "--tolerance",
        str(tolerance),
    )
    for k, v in out["checks"].items():
        print(f"  {k}: {v:.1e}", flush=True)
    print("  " + ", ".join(f"{k} {v:g}" for k, v in out["stats"].items()), flush=True)
    return out


def check_sums(results: dict[str, list[bench.Run]]) -> None:
    """Repeated runs agree; the linear pandas baseline sums to ours."""
    for name, runs in results.items():
        sums = [r.checksum for r in runs if r.checksum is not None]
        if sums and max(sums) - min(sums) > 1e-9 * max(abs(s) for s in sums):
            msg = f"{name}: runs disagree: {sums}"
            raise AssertionError(msg)
    for ref, others in SAME_RESULT.items():
        if ref not in results:
            continue
        want = results[ref][0].checksum
        for name in others:
            for run in results.get(name, []):
                if abs(run.checksum - want) > 1e-9 * abs(want):
                    msg = f"{name}: sum {run.checksum!r}, expected {want!r} ({ref})"
                    raise AssertionError(msg)


# -------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Setup:
    cov: tuple[int, int]
    spec: tuple[int, int]
    strides: dict[str, int]
    mb: dict[str, float]
    repeats: int
    blas: str
    stats: dict[str, float]


def _rows(
    results: dict[str, list[bench.Run]], names: Sequence[str], n_dates: int, stride: int
) -> list[str]:
    best, peak = bench.fastest(results), bench.peaks(results)
    full_s = {n: best[n].seconds * (stride if HARNESS.by_name[n].subset else 1) for n in names}
    lines = []
    for name in names:
        v, r = HARNESS.by_name[name], best[name]
        timed_on = f"{len(strided(n_dates, stride)):,} *" if v.subset else "all"
        full = f"{full_s[name]:.2f}" + (f" (x {stride}) *" if v.subset else "")
        ratio = f"{full_s[name] / full_s[v.ref]:.1f} (vs `{v.ref}`)" if v.ref else "-"
        mb = f"{peak[name]:,.0f}" + (" *" if v.subset else "")
        lines.append(
            f"| `{name}` | {v.what} | {timed_on} | {r.seconds:.3f} | "
            f"{bench.all_runs(results[name])} | {r.cpu} | {full} | {ratio} | {mb} |"
        )
    return lines


def full_seconds(results: dict[str, list[bench.Run]], strides: dict[str, int]) -> dict[str, float]:
    best = bench.fastest(results)
    return {
        n: r.seconds * (strides[workload(n)] if HARNESS.by_name[n].subset else 1)
        for n, r in best.items()
    }


def render(
    results: dict[str, list[bench.Run]],
    *,
    setup: Setup,
    checks: dict[str, float],
    info: dict[str, str],
    conditions: str,
) -> str:
    (t_cov, k), (t_spec, n_assets) = setup.cov, setup.spec
    s_cov, s_spec = setup.strides[COV], setup.strides[SPEC]
    full = full_seconds(results, setup.strides)
    peak = bench.peaks(results)
    st = setup.stats
    header = (
        "| variant | what | dates timed | best wall (s) | all runs (s) | CPU user + sys (s) "
        "| all-dates wall (s) | x slower than ours | peak RSS (MB) |"
    )
    rule = "|---|---|---:|---:|---:|---:|---:|---:|---:|"
    cov_names = [v.name for v in VARIANTS if workload(v.name) == COV and v.name in results]
    spec_names = [v.name for v in VARIANTS if v.name != "baseline" and workload(v.name) == SPEC]
    spec_names = [n for n in spec_names if n in results]
    lines = [
        (
            f"Factor returns: {t_cov:,} dates x {k} factors, wide (`date` + one Float64 "
            "column per factor): three latent drivers plus a factor-specific part, "
            f"volatilities 0.2%-1% a day times a common log-AR(1) regime, AR(1) {PHI}; "
            f"parquet {setup.mb[COV]:,.1f} MB. Output: {t_cov * k * k:,} rows "
            f"({k} x {k} per date; the first {int(st['null matrices'])} dates are null: "
            f"fewer than {k + 1} observations). USE4S: half-lives 84 (vol) / 504 (corr), "
            "Newey-West lags 5 / 2."
        ),
        "",
        (
            f"Residuals: {t_spec:,} dates x {n_assets:,} assets = {t_spec * n_assets:,} rows, "
            "sorted by date then asset; date, asset (Int32), residual (AR(1) "
            f"{PHI}, t(5) shocks, asset vol lognormal around 1.5% a day, {NULL_RESID:.0%} "
            f"null), mcap (lognormal random walk, {NULL_MCAP:.1%} null); parquet "
            f"{setup.mb[SPEC]:,.0f} MB. Half-life {HALF_LIFE}, Newey-West lags {NW_LAGS}, "
            f"shrinkage {SHRINKAGE} over {N_GROUPS} size groups "
            f"({st['share of variances moved by the shrinkage']:.0%} of the variances move)."
        ),
        "",
        "Checked first (max relative difference):",
        "",
        *bench.check_lines(checks),
        "",
        (
            f"Best of {setup.repeats} fresh processes (variants interleaved); wall and CPU "
            "time cover reading the file and computing the result in memory, not the "
            "imports. CPU = user + system time of the fastest run. Peak RSS = max over the "
            "runs of the process's ru_maxrss, imports included (see `baseline`). **Rows "
            "marked * were timed on every n-th date only** (n = "
            f"{s_cov} for (a), {s_spec} for (b); the dates n/2, n/2 + n, ...): the work of "
            "a date is linear in the length of its history, so the strided sample costs "
            "the full loop divided by n, and the all-dates time is the measured time x n; "
            "their peak RSS is that of the sample. (b) gets its dates x assets matrices "
            "(read + pivot, ~1 s) before its clock starts. Every child runs with "
            f"{setup.blas}."
        ),
        "",
        f"Factor covariance ({t_cov:,} dates x {k} factors):",
        "",
        header,
        rule,
        *_rows(results, cov_names, t_cov, s_cov),
        "",
        f"Specific variances ({t_spec:,} dates x {n_assets:,} assets):",
        "",
        header,
        rule,
        *_rows(results, spec_names, t_spec, s_spec),
    ]
    if "baseline" in results:
        lines.append(bench.baseline_row(HARNESS.by_name["baseline"], 6, f"{peak['baseline']:,.0f}"))
    vs_cov = full["cov_numpy"] / full["cov_ours"]
    vs_spec = full["spec_numpy"] / full["spec_ours"]
    vs_size = full["spec_numpy_size"] / full["spec_ours_size"]
    lin_cov = full["cov_ours"] / full["cov_ours_half"]
    lin_cov_q = full["cov_ours_half"] / full["cov_ours_quarter"]
    lin_spec = full["spec_ours"] / full["spec_ours_half"]
    lines += [
        "",
        "Goals:",
        "",
        bench.goal(
            "covariance: (a) numpy per date / ours", round(vs_cov, 1), ">= 10x", met=vs_cov >= 10
        ),
        bench.goal(
            "specific variances: (b) numpy per date / ours",
            round(vs_spec, 1),
            ">= 10x",
            met=vs_spec >= 10,
        ),
        bench.goal(
            "specific variances with shrinkage: (b) / ours",
            round(vs_size, 1),
            ">= 10x",
            met=vs_size >= 10,
        ),
        (
            f"- specific variances, (c) pandas `ewm` (linear) / ours: "
            f"**{full['spec_pandas'] / full['spec_ours']:.1f}** (with shrinkage "
            f"**{full['spec_pandas_size'] / full['spec_ours_size']:.1f}**)"
        ),
        bench.goal(
            f"covariance linear in dates: ours at {t_cov:,} / {t_cov // 2:,} dates",
            round(lin_cov, 2),
            "<= 2.4: linear, less with fixed costs; quadratic would be 4",
            met=lin_cov <= 2.4,
        ),
        f"- covariance, ours at {t_cov // 2:,} / {t_cov // 4:,} dates: **{lin_cov_q:.2f}**",
        bench.goal(
            f"specific variances linear in dates: ours at {t_spec:,} / {t_spec // 2:,} dates",
            round(lin_spec, 2),
            "<= 2.4",
            met=lin_spec <= 2.4,
        ),
        (
            f"- peak RSS: covariance **{peak['cov_ours']:,.0f} MB** (the {t_cov * k * k:,}-row "
            f'output; `dates="last"` {peak["cov_ours_last"]:,.0f} MB); specific variances '
            f"**{peak['spec_ours']:,.0f} MB**, with shrinkage **{peak['spec_ours_size']:,.0f} "
            f"MB** (pandas {peak['spec_pandas']:,.0f} / {peak['spec_pandas_size']:,.0f} MB; "
            f"imports alone {peak.get('baseline', float('nan')):,.0f} MB)"
        ),
    ]
    return bench.report(lines, info, conditions)


# ---------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench.parser(__doc__, tolerance=1e-10)
    parser.set_defaults(repeats=None)
    parser.add_argument(
        "--small",
        action="store_true",
        help="smoke run: 800 dates x 20 factors, 400 dates x 300 assets, 1 repeat; prints only",
    )
    parser.add_argument(
        "--stride", type=int, default=None, help="date stride of (a) and (b) (default 10 / 25)"
    )
    parser.add_argument(
        "--variants", nargs="+", default=None, help="time only these (default: all)"
    )
    parser.add_argument("--spec-path", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _measure(
    names: Sequence[str], paths: dict[str, Path], strides: dict[str, int], repeats: int
) -> dict[str, list[bench.Run]]:
    results: dict[str, list[bench.Run]] = {}
    for kind in (COV, SPEC):
        group = [n for n in names if workload(n) == kind]
        if group:
            stride = ["--stride", str(strides[kind])]
            label = "covariance" if kind == COV else "specific"
            results |= HARNESS.measure(
                group, paths[kind], repeats, subset_args=stride, label=label, width=18
            )
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child(args)

    sizes = SMALL if args.small else FULL
    shapes: dict[str, tuple[int, int]] = {COV: sizes[COV], SPEC: sizes[SPEC]}  # type: ignore[dict-item]
    strides = {
        COV: int(args.stride or sizes["cov_stride"]),  # type: ignore[call-overload]
        SPEC: int(args.stride or sizes["spec_stride"]),  # type: ignore[call-overload]
    }
    repeats = args.repeats or (1 if args.small else 3)
    names = args.variants or [v.name for v in VARIANTS]
    unknown = sorted(set(names) - set(HARNESS.by_name))
    if unknown:
        msg = f"unknown variants {unknown}; choose from {list(HARNESS.by_name)}"
        raise SystemExit(msg)
    partial = set(names) != set(HARNESS.by_name)
    output = args.output if args.output is not None else (None if args.small else bench.RESULTS)
    if partial:
        output = None  # a partial table never replaces the full one
    blas = bench.set_blas_threads(args.blas_threads)  # inherited by every child
    paths = {
        kind: HARNESS.ensure_panel(data_path(kind, *shape), shape, regenerate=args.regenerate)
        for kind, shape in shapes.items()
    }

    verified = cross_check(paths, args.tolerance)

    conditions = bench.Conditions()
    results = _measure(names, paths, strides, repeats)
    check_sums(results)
    for kind in (COV, SPEC):
        subset = [n for n in names if HARNESS.by_name[n].subset and workload(n) == kind]
        n_sample = len(strided(shapes[kind][0], strides[kind]))
        bench.check_counts(results, subset, n_sample, "dates")
    during = f"{conditions.describe()}; BLAS threads in every child: {blas}"
    if partial:
        for name, runs in results.items():
            best = min(runs, key=lambda r: r.seconds)
            print(f"{name:18s} best {best.seconds:.3f} s, peak {best.peak_mb:,.0f} MB")
        return 0

    setup = Setup(
        cov=shapes[COV],
        spec=shapes[SPEC],
        strides=strides,
        mb={kind: p.stat().st_size / 1024**2 for kind, p in paths.items()},
        repeats=repeats,
        blas=blas,
        stats=verified["stats"],
    )
    info = bench.machine_info(VERSIONS)
    table = render(results, setup=setup, checks=verified["checks"], info=info, conditions=during)
    header = "## `risk.py`: daily factor covariances and specific variances\n\n"
    bench.publish(table, output, "risk", header)
    return 0


if __name__ == "__main__":
    sys.exit(main())
