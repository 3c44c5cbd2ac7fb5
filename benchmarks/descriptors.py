"""Benchmark: the USE4 price descriptors of a panel, streamed to parquet, against pandas.

Spec: a synthetic daily panel of 3,000 assets x 2,500 days (7.5M rows, sorted by asset
then date) with returns, a market return, close / high / low, volume and shares
outstanding, read from parquet. In the same run, on the same file, compare

- ours: ``pf.descriptors.compute(pl.scan_parquet(path), names=NAMES)
  .sink_parquet(out)`` for the ten price descriptors (beta, hsigma, dastd, cmra, rstr,
  lncap, stom, stoq, stoa, hilo; the USE4 defaults, the time-order check inside the
  plan), and the same through ``pf.partition.sink_parquet(..., by="asset",
  build=...)``, which runs the plan one chunk of assets (~1M rows) at a time;
- (a) the IO floor: a streaming scan summing the columns the descriptors read;
- (b) pandas: ``read_parquet``, the same definitions written the way a quant would
  (unweighted windows with ``groupby("asset").rolling(...)``; the exponentially
  weighted windows of beta / hsigma / dastd / rstr as ``np.convolve`` of each asset's
  series with the weight kernel, next to the same sums of a presence indicator), then
  ``to_parquet``.

Goal: pandas / ours >= 10x. Peak memory (``ru_maxrss`` of the fresh process) is
reported, and ours and its partitioned run are also timed on the first quarter of the
dates (3,000 x 625, a file of its own) to show whether the peak grows with the number
of dates.

Before any timing, ours and pandas are compared on the first ``--verify-assets``
assets (default 100; every row of them, same nulls, max abs difference <= 1e-9); the
run stops otherwise. The per-descriptor sums and non-null counts of every timed run's
output file are cross-checked too (ours, partitioned and pandas).

Each measurement runs in a fresh subprocess, ``--repeats`` times (default 2, to keep
the full run near 10 minutes on 2 cores), interleaving the variants; the table shows
the best wall time (reading the file, computing and writing the result; not the
imports nor the checksum read afterwards), all runs, the CPU time of the fastest run
and the largest peak RSS.

Usage (from the repository root)::

    python benchmarks/descriptors.py           # full run (~10 min), writes RESULTS.md
    python benchmarks/descriptors.py --quick   # 300 assets x 600 days, ~45 s, prints only
    python benchmarks/descriptors.py --repeats 3   # best of 3 (~13 min)

The panels are generated once (seeded) under ``benchmarks/data/`` (git-ignored).
Needs ``pandas`` besides the package.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _harness as bench  # benchmarks/_harness.py
import numpy as np
import polars as pl

import polars_factors as pf

SEED = 20261124
NAMES = ["beta", "hsigma", "dastd", "cmra", "rstr", "lncap", "stom", "stoq", "stoa", "hilo"]
INPUTS = ["ret", "market_ret", "close", "high", "low", "volume", "shares_outstanding"]


@dataclass(frozen=True)
class Sizes:
    shape: tuple[int, int]  # (dates, assets)
    short_dates: int  # dates of the second panel (peak memory against dates)
    verify_assets: int  # assets compared with pandas


FULL = Sizes(shape=(2_500, 3_000), short_dates=625, verify_assets=100)
QUICK = Sizes(shape=(600, 300), short_dates=150, verify_assets=300)
CHUNK_ASSETS = 250  # assets generated per chunk (bounded memory)
NULL_RET, NULL_VOLUME = 0.002, 0.0005  # shares of null returns and volumes
OUT_DIR = bench.DATA_DIR / "descriptors_out"
VERSIONS = ("polars", "pandas", "numpy", "pyarrow")
# USE4 defaults of the builders in polars_factors/exprs/_descriptors.py
BETA_WINDOW, BETA_HL, BETA_MIN = 252, 63, 63
DASTD_WINDOW, DASTD_HL, DASTD_MIN = 252, 42, 42
RSTR_WINDOW, RSTR_LAG, RSTR_HL = 504, 21, 126
RSTR_MIN = RSTR_WINDOW // 4
MONTH = 21
VAR_RTOL = 1e-12  # a constant market (beta) / an exact fit (hsigma)


# --------------------------------------------------------------------------- data


def panel_path(n_dates: int, n_assets: int) -> Path:
    return bench.DATA_DIR / f"descriptors_{n_dates}x{n_assets}_seed{SEED}.parquet"


def _chunk(chunk: int, first: int, n: int, market: np.ndarray, dates: pl.Series) -> pl.DataFrame:
    """Rows of assets ``first .. first + n - 1``, sorted by asset then date."""
    rng = np.random.default_rng([SEED, 1, chunk])
    n_dates = len(dates)
    beta = rng.normal(1.0, 0.3, n)[:, None]
    vol = rng.lognormal(np.log(0.015), 0.4, n)[:, None]
    ret = beta * market[None, :] + vol * rng.standard_normal((n, n_dates))
    close = rng.lognormal(np.log(30.0), 1.0, n)[:, None] * np.exp(np.cumsum(np.log1p(ret), 1))
    spread = np.abs(rng.normal(0.0, 0.01, (2, n, n_dates)))
    high, low = close * np.exp(spread[0]), close * np.exp(-spread[1])
    shares = rng.lognormal(np.log(1e8), 1.0, n)[:, None] * np.ones((1, n_dates))
    change = rng.integers(0, n_dates, n)  # one change of the share count per asset
    shares *= np.where(np.arange(n_dates)[None, :] >= change[:, None], 1.05, 1.0)
    turnover = rng.lognormal(np.log(0.005), 0.5, (n, n_dates))
    volume = np.round(turnover * shares)
    ret[rng.random(ret.shape) < NULL_RET] = np.nan
    volume[rng.random(volume.shape) < NULL_VOLUME] = np.nan
    return pl.DataFrame(
        {
            "date": pl.concat([dates] * n),
            "asset": np.repeat(np.arange(first, first + n, dtype=np.int32), n_dates),
            "ret": ret.ravel(),
            "market_ret": np.tile(market, n),
            "close": close.ravel(),
            "high": high.ravel(),
            "low": low.ravel(),
            "volume": volume.ravel(),
            "shares_outstanding": shares.ravel(),
        }
    ).with_columns(pl.col("ret", "volume").fill_nan(None))


def generate_panel(path: Path, n_dates: int, n_assets: int) -> None:
    """Write the panel by chunks of assets, then stream the chunks into one file."""
    dates = bench.weekdays(dt.date(2000, 1, 3), n_dates)
    market = np.random.default_rng([SEED, 0, n_dates]).normal(3e-4, 0.01, n_dates)
    tmp = path.with_name(path.stem + ".parts")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for i, first in enumerate(range(0, n_assets, CHUNK_ASSETS)):
        n = min(CHUNK_ASSETS, n_assets - first)
        _chunk(i, first, n, market, dates).write_parquet(tmp / f"{i:05d}.parquet")
    out = path.with_suffix(".tmp")
    pl.scan_parquet(sorted(tmp.glob("*.parquet"))).sink_parquet(out)
    out.replace(path)
    shutil.rmtree(tmp)


# ------------------------------------------------------------------------ ours


def ours_plan(source: pl.LazyFrame) -> pl.LazyFrame:
    return pf.descriptors.compute(source, names=NAMES)


def run_ours(path: Path, out: Path) -> None:
    ours_plan(pl.scan_parquet(path)).sink_parquet(out)


def run_ours_partition(path: Path, out: Path) -> None:
    pf.partition.sink_parquet(pl.scan_parquet(path), out, by="asset", build=ours_plan)


def run_io_floor(path: Path, _: Path) -> None:
    pl.scan_parquet(path).select(
        pl.col("date").to_physical().sum(), pl.col("asset", *INPUTS).sum()
    ).collect(engine="streaming")


def run_baseline(_: Path, __: Path) -> None:
    """Nothing: the peak RSS of the interpreter and the imports (polars, numpy, package)."""


# ---------------------------------------------------------------------- pandas
# The same definitions as polars_factors/exprs/_descriptors.py, written per asset.


def _kernel(window: int, half_life: float) -> np.ndarray:
    """Weights by age (newest first) for ``np.convolve``: 2^(-age / half_life)."""
    return 0.5 ** (np.arange(window) / half_life)


def _wsum(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Trailing weighted sums: sum_i kernel[i] * x[t - i] over the rows present so far."""
    return np.convolve(x, kernel)[: len(x)]


def _beta_hsigma(r: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ok = ~np.isnan(r) & ~np.isnan(m)
    x, y, c = np.where(ok, m, 0.0), np.where(ok, r, 0.0), ok.astype(float)
    k = _kernel(BETA_WINDOW, BETA_HL)
    n = _wsum(c, np.ones(BETA_WINDOW))
    sw = _wsum(c, k)
    mx, my, mxx = _wsum(x, k) / sw, _wsum(y, k) / sw, _wsum(x * x, k) / sw
    var_x = mxx - mx * mx
    cov = _wsum(x * y, k) / sw - mx * my
    var_y = _wsum(y * y, k) / sw - my * my
    good = (n >= BETA_MIN) & (sw > 0) & (var_x > VAR_RTOL * mxx)
    resid = var_y - cov * cov / var_x
    sigma = np.sqrt(np.where(resid > VAR_RTOL * var_y, resid, 0.0))
    return np.where(good, cov / var_x, np.nan), np.where(good, sigma, np.nan)


def _dastd(r: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(r)
    x, c = np.where(ok, r, 0.0), ok.astype(float)
    k = _kernel(DASTD_WINDOW, DASTD_HL)
    n = _wsum(c, np.ones(DASTD_WINDOW))
    sw = _wsum(c, k)
    mean = _wsum(x, k) / sw
    var = _wsum(x * x, k) / sw - mean * mean
    return np.where((n >= DASTD_MIN) & (sw > 0), np.sqrt(np.clip(var, 0.0, None)), np.nan)


def _rstr(log_r: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(log_r)
    c = ok.astype(float)
    k = _kernel(RSTR_WINDOW, RSTR_HL)
    n = _wsum(c, np.ones(RSTR_WINDOW))
    sw = _wsum(c, k)
    mean = np.where((n >= RSTR_MIN) & (sw > 0), _wsum(np.where(ok, log_r, 0.0), k) / sw, np.nan)
    out = np.full_like(mean, np.nan)
    out[RSTR_LAG:] = mean[: len(mean) - RSTR_LAG]
    return out


def pandas_descriptors(df: Any) -> Any:
    """Add the ten descriptors to ``df`` (pandas, sorted by asset then date)."""
    import pandas as pd  # noqa: PLC0415

    if not df["asset"].is_monotonic_increasing:
        msg = "pandas: the panel must be sorted by asset then date"
        raise ValueError(msg)
    g = df.groupby("asset", sort=False)

    def rolling(s: pd.Series, window: int) -> Any:
        return s.groupby(df["asset"], sort=False).rolling(window, min_periods=window)

    ret = df["ret"].to_numpy(dtype=float, na_value=np.nan)
    mkt = df["market_ret"].to_numpy(dtype=float, na_value=np.nan)
    log_r = np.log1p(np.where(ret > -1, ret, np.nan))
    beta, hsigma, dastd, rstr = (np.full(len(df), np.nan) for _ in range(4))
    with np.errstate(divide="ignore", invalid="ignore"):
        for idx in g.indices.values():
            beta[idx], hsigma[idx] = _beta_hsigma(ret[idx], mkt[idx])
            dastd[idx] = _dastd(ret[idx])
            rstr[idx] = _rstr(log_r[idx])
    out = {"beta": beta, "hsigma": hsigma, "dastd": dastd}

    # cmra: cumulative log returns over the last 1..12 months (all 252 rows present)
    log_s = pd.Series(log_r, index=df.index)
    z = pd.concat(
        [rolling(log_s, k * MONTH).sum().droplevel(0) for k in range(1, 13)], axis=1
    ).sort_index()
    top, bottom = z.max(axis=1, skipna=False), z.min(axis=1, skipna=False)
    out["cmra"] = np.log1p(top).where(bottom > -1) - np.log1p(bottom.where(bottom > -1))
    out["rstr"] = rstr

    close, shares = df["close"], df["shares_outstanding"]
    out["lncap"] = np.log((close * shares).where((close > 0) & (shares > 0)))
    turnover = (df["volume"] / shares).where((df["volume"] >= 0) & (shares > 0))
    for name, months in (("stom", 1), ("stoq", 3), ("stoa", 12)):
        total = rolling(turnover, months * MONTH).sum().droplevel(0)
        out[name] = np.log((total / months).where(total > 0))
    high = rolling(df["high"].where(df["high"] > 0), MONTH).max().droplevel(0)
    low = rolling(df["low"].where(df["low"] > 0), MONTH).min().droplevel(0)
    out["hilo"] = np.log(high) - np.log(low)
    return df.assign(**out)


def run_pandas(path: Path, out: Path) -> None:
    import pandas as pd  # noqa: PLC0415

    pandas_descriptors(pd.read_parquet(path)).to_parquet(out, index=False)


# ------------------------------------------------------------------- variants


VARIANTS = [
    bench.Variant("io_floor", "(a) streaming scan + sum of the 9 input columns", run_io_floor),
    bench.Variant(
        "ours",
        "`pf.descriptors.compute(pl.scan_parquet(...), names=[10]).sink_parquet(...)`",
        run_ours,
    ),
    bench.Variant(
        "ours_partition",
        '`pf.partition.sink_parquet(scan, out, by="asset", build=compute)` (~1M rows a chunk)',
        run_ours_partition,
    ),
    bench.Variant(
        "pandas",
        "(b) `read_parquet`, groupby-rolling + per-asset `np.convolve`, `to_parquet`",
        run_pandas,
        ref="ours",
    ),
    bench.Variant("baseline", "imports only (peak RSS floor)", run_baseline),
]
HARNESS = bench.Harness(__file__, VARIANTS, generate_panel)
WRITES = ("ours", "ours_partition", "pandas")  # variants whose output file is checked
SHORT_VARIANTS = ("ours", "ours_partition")


def out_path(name: str, path: Path) -> Path:
    return OUT_DIR / f"{name}_{path.stem}.parquet"


def checksum(name: str, out: Path) -> tuple[dict[str, list[float]] | None, int | None]:
    """Per descriptor: sum and non-null count of the written file (then removed)."""
    if name not in WRITES:
        return None, None
    frame = (
        pl.scan_parquet(out)
        .select(
            *(pl.col(n).sum().alias(f"{n}_sum") for n in NAMES),
            *(pl.col(n).count().alias(f"{n}_n") for n in NAMES),
            pl.len().alias("rows"),
        )
        .collect()
        .row(0, named=True)
    )
    out.unlink()
    return {n: [frame[f"{n}_sum"], frame[f"{n}_n"]] for n in NAMES}, frame["rows"]


# ------------------------------------------------------------------- verification


def verify(path: Path, n_assets: int) -> dict[str, float]:
    """Ours == pandas on every row of the first ``n_assets`` assets (same nulls)."""
    import pandas as pd  # noqa: PLC0415

    subset = pl.scan_parquet(path).filter(pl.col("asset") < n_assets)
    ours = ours_plan(subset).collect()
    theirs = pandas_descriptors(pd.read_parquet(path, filters=[("asset", "<", n_assets)]))
    keys = ours.select("asset").to_series().to_numpy()
    if not np.array_equal(keys, theirs["asset"].to_numpy()):
        msg = "ours and pandas have different rows"
        raise AssertionError(msg)
    checks: dict[str, float] = {}
    for name in NAMES:
        x = ours[name].fill_null(np.nan).to_numpy()
        y = theirs[name].to_numpy(dtype=float, na_value=np.nan)
        if not np.array_equal(np.isnan(x), np.isnan(y)):
            msg = f"{name}: null at different rows ({np.isnan(x).sum()} vs {np.isnan(y).sum()})"
            raise AssertionError(msg)
        present = int((~np.isnan(x)).sum())
        if present == 0:
            msg = f"{name}: no value on the subset (too few dates?)"
            raise AssertionError(msg)
        diff = float(np.nanmax(np.abs(x - y)))
        checks[f"{name} ({present:,} values)"] = diff
    return checks


def check_sums(results: dict[str, list[bench.Run]], n_rows: int, tolerance: float) -> None:
    """Every written output has the same per-descriptor counts and sums as ours' first."""
    ref = results["ours"][0].checksum
    for name in WRITES:
        for run in results.get(name, []):
            if run.count != n_rows:
                msg = f"{name}: {run.count} rows written, expected {n_rows}"
                raise AssertionError(msg)
            for desc, (total, count) in run.checksum.items():
                ref_total, ref_count = ref[desc]
                scale = max(1.0, abs(ref_total))
                if count != ref_count or abs(total - ref_total) > tolerance * scale:
                    msg = (
                        f"{name}: {desc} sum {total!r} / {count}, ours {ref_total!r} / {ref_count}"
                    )
                    raise AssertionError(msg)


# ------------------------------------------------------------------ subprocesses


def child(args: argparse.Namespace) -> int:
    def run(v: bench.Variant) -> dict[str, Any]:
        out = out_path(v.name, args.path)
        out.parent.mkdir(parents=True, exist_ok=True)
        return bench.timed(lambda: v.fn(args.path, out), lambda _: checksum(v.name, out))

    return HARNESS.child(args, verify=lambda: verify(args.path, args.verify_assets), run=run)


# -------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Setup:
    shape: tuple[int, int]
    short_dates: int
    verify_assets: int
    mb: float
    repeats: int
    blas: str


def _row(v: bench.Variant, runs: list[bench.Run], ref_s: float | None) -> str:
    best = min(runs, key=lambda r: r.seconds)
    peak = max(r.peak_mb for r in runs)
    if v.name == "baseline":
        return bench.baseline_row(v, 4, f"{peak:,.0f}")
    ratio = f"{best.seconds / ref_s:.1f}" if ref_s else "-"
    return (
        f"| `{v.name}` | {v.what} | {best.seconds:.2f} | {bench.all_runs(runs)} | "
        f"{best.cpu} | {ratio} | {peak:,.0f} |"
    )


def render(
    results: dict[str, list[bench.Run]],
    short: dict[str, list[bench.Run]],
    *,
    setup: Setup,
    checks: dict[str, float],
    info: dict[str, str],
    conditions: str,
) -> str:
    n_dates, n_assets = setup.shape
    best = {k: v.seconds for k, v in bench.fastest(results).items()}
    peak = bench.peaks(results)
    short_peak = bench.peaks(short)
    lines = [
        (
            f"Panel: {n_assets:,} assets x {n_dates:,} days = {n_dates * n_assets:,} rows, "
            "sorted by asset then date; ret = beta x market + N(0, vol) "
            f"({NULL_RET:.1%} null), market_ret N(3bp, 1%), close from the returns, high / "
            "low 1% around it, shares outstanding (one 5% change per asset), volume = "
            f"lognormal turnover x shares ({NULL_VOLUME:.2%} null); parquet "
            f"{setup.mb:,.0f} MB. Descriptors: {', '.join(NAMES)}, with the USE4 "
            "defaults (beta / hsigma 252 rows half-life 63, dastd 252 / 42, cmra 12 x 21, "
            "rstr 504 lagged 21 / 126, stom / stoq / stoa 21 / 63 / 252, hilo 21)."
        ),
        "",
        (
            f"Checked first: ours == pandas on every row of the first "
            f"{setup.verify_assets:,} assets (same nulls; max abs difference):"
        ),
        "",
        *bench.check_lines(checks),
        "",
        (
            "The per-descriptor sums and non-null counts of every timed run's output file "
            "agree (ours, partitioned, pandas)."
        ),
        "",
        (
            f"Best of {setup.repeats} fresh processes (variants interleaved); wall and CPU "
            "time cover reading the file, computing and writing the result to parquet "
            "(not the imports). CPU = user + system time of the fastest run. Peak RSS = "
            "max over the runs of the process's ru_maxrss, imports included (see "
            f"`baseline`). Every child runs with {setup.blas}."
        ),
        "",
        (
            "| variant | what | best wall (s) | all runs (s) | CPU user + sys (s) "
            "| x slower than ours | peak RSS (MB) |"
        ),
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        _row(v, results[v.name], best["ours"] if v.ref else None)
        for v in VARIANTS
        if v.name in results
    ]
    ratio = best["pandas"] / best["ours"]
    lines += [
        "",
        "Goal:",
        "",
        bench.goal("pandas / ours", round(ratio, 1), ">= 10x", met=ratio >= 10),
        f"- pandas / ours_partition: **{best['pandas'] / best['ours_partition']:.1f}**",
        "",
        (
            f"Peak RSS against the number of dates ({n_assets:,} assets; the "
            f"{setup.short_dates:,}-day panel is a file of its own, best of "
            f"{setup.repeats} runs as above):"
        ),
        "",
        (
            f"| variant | {setup.short_dates:,} days (MB) | {n_dates:,} days (MB) | ratio "
            f"(dates x {n_dates / setup.short_dates:g}) | best wall {setup.short_dates:,} / "
            f"{n_dates:,} days (s) |"
        ),
        "|---|---:|---:|---:|---:|",
    ]
    short_best = {k: v.seconds for k, v in bench.fastest(short).items()}
    for name in SHORT_VARIANTS:
        lines.append(
            f"| `{name}` | {short_peak[name]:,.0f} | {peak[name]:,.0f} | "
            f"{peak[name] / short_peak[name]:.2f} | {short_best[name]:.2f} / {best[name]:.2f} |"
        )
    return bench.report(lines, info, conditions)


# ---------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench.parser(__doc__, tolerance=1e-9)
    parser.set_defaults(repeats=2)  # the full run stays near 10 minutes on 2 cores
    parser.add_argument(
        "--quick", action="store_true", help="300 assets x 600 days (and x 150); prints only"
    )
    parser.add_argument(
        "--verify-assets", type=int, default=None, help="assets compared with pandas"
    )
    parser.add_argument("--variants", nargs="+", default=None, help="time only these (prints only)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child(args)

    sizes = QUICK if args.quick else FULL
    shape, short_dates = sizes.shape, sizes.short_dates
    verify_assets = int(args.verify_assets or sizes.verify_assets)
    names = args.variants or [v.name for v in VARIANTS]
    unknown = sorted(set(names) - set(HARNESS.by_name))
    if unknown:
        msg = f"unknown variants {unknown}; choose from {list(HARNESS.by_name)}"
        raise SystemExit(msg)
    partial = set(names) != set(HARNESS.by_name)
    output = args.output if args.output is not None else (None if args.quick else bench.RESULTS)
    if partial:
        output = None  # a partial table never replaces the full one
    blas = bench.set_blas_threads(args.blas_threads)  # inherited by every child
    path = HARNESS.ensure_panel(panel_path(*shape), shape, regenerate=args.regenerate)
    short_shape = (short_dates, shape[1])
    short_path = HARNESS.ensure_panel(
        panel_path(*short_shape), short_shape, regenerate=args.regenerate
    )

    print(f"checking ours against pandas on the first {verify_assets} assets ...", flush=True)
    checks = HARNESS.spawn(
        "--child", "verify", "--path", str(path), "--verify-assets", str(verify_assets)
    )
    for k, v in checks.items():
        print(f"  {k}: max abs diff {v:.1e}", flush=True)
    bench.check_tolerance(checks, args.tolerance)

    conditions = bench.Conditions()
    results = HARNESS.measure(names, path, args.repeats, width=16)
    short_names = [n for n in SHORT_VARIANTS if n in names]
    short = HARNESS.measure(short_names, short_path, args.repeats, label="short", width=16)
    if "ours" in results:
        check_sums(results, shape[0] * shape[1], args.tolerance)
        if short:
            check_sums(short, short_dates * shape[1], args.tolerance)
    during = conditions.describe()

    best = {k: v.seconds for k, v in bench.fastest(results).items()}
    for name, runs in results.items():
        print(f"{name:16s} best {best[name]:8.3f} s, peak {max(r.peak_mb for r in runs):,.0f} MB")
    for name, runs in short.items():
        print(
            f"{name:16s} at {short_dates} days: best {min(r.seconds for r in runs):8.3f} s, "
            f"peak {max(r.peak_mb for r in runs):,.0f} MB"
        )
    if "pandas" in best and "ours" in best:
        ratio = best["pandas"] / best["ours"]
        print(f"pandas / ours = {ratio:.1f}x (goal >= 10x: {'met' if ratio >= 10 else 'NOT met'})")
    if partial:
        return 0

    setup = Setup(
        shape=shape,
        short_dates=short_dates,
        verify_assets=verify_assets,
        mb=path.stat().st_size / 1024**2,
        repeats=args.repeats,
        blas=blas,
    )
    info = bench.machine_info(VERSIONS)
    table = render(results, short, setup=setup, checks=checks, info=info, conditions=during)
    header = "## `descriptors.py`: the ten USE4 price descriptors, streamed to parquet\n\n"
    bench.publish(table, output, "descriptors", header)
    return 0


if __name__ == "__main__":
    sys.exit(main())
