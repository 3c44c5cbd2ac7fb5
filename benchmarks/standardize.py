"""Benchmark: quantile winsorize + cap-weighted z-score of 10 columns on a parquet panel.

Spec: winsorize (quantile, 1%/99%) then z-score with a cap-weighted mean and the
equal-weighted std, per date, of 10 columns of a synthetic panel of 2,500 dates x
4,000 assets read from parquet. In the same run, compare with

(a) the IO floor: a scan that only sums the same 10 columns;
(b) pandas: ``read_parquet`` + ``groupby("date")`` transforms.

Goal: within 3x of (a), at least 10x faster than (b); report peak memory.

Every variant ends in the same reduction (the per-column sum of the result) so that
nothing is optimized away and the variants can be cross-checked. Before any timing,
the full polars_factors result is compared element by element with the pandas one
(``--tolerance``, default 1e-9): a benchmark comparing different numbers is worthless.

Also timed: ``check_keys=True``, ``engine="in-memory"``, ``sink_parquet`` of the whole
result, winsorize and zscore alone, and the same math as bare Polars ``over``
expressions (``polars_minimal``: the library's overhead).

Each measurement runs in a fresh subprocess (so peak RSS, ``ru_maxrss`` of that
process, is per variant), ``--repeats`` times (default 3), interleaving the
variants; the table shows the best wall time, all the runs, the user and system CPU
time of the fastest run and the largest peak RSS. Wall and CPU times cover the query
only, not the interpreter start or the imports.

Usage (from the repository root)::

    python benchmarks/standardize.py            # full: 2,500 x 4,000, writes RESULTS.md
    python benchmarks/standardize.py --small    # smoke run: 250 x 1,000, prints only

The panel is generated once (seeded) under ``benchmarks/data/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Literal

import _harness as bench  # benchmarks/_harness.py
import numpy as np
import pandas as pd
import polars as pl

import polars_factors  # noqa: F401 (registers the .factors namespace)

SEED = 20261120
COLS = [f"x{i}" for i in range(10)]
LOWER, UPPER = 0.01, 0.99
NULL_FRAC = 0.01
VERSIONS = ("polars", "pandas", "numpy")


# --------------------------------------------------------------------------- data


def panel_path(n_dates: int, n_assets: int) -> Path:
    return bench.DATA_DIR / f"panel_{n_dates}x{n_assets}_seed{SEED}.parquet"


def generate_panel(path: Path, n_dates: int, n_assets: int) -> None:
    """Write the seeded synthetic panel, sorted by date then asset."""
    rng = np.random.default_rng(SEED)
    n = n_dates * n_assets
    dates = bench.weekdays(dt.date(2010, 1, 1), n_dates)
    base_cap = rng.lognormal(mean=np.log(5e9), sigma=1.5, size=n_assets)
    data: dict[str, object] = {
        "date": dates.gather(np.repeat(np.arange(n_dates), n_assets)),
        "asset": np.tile(np.arange(n_assets, dtype=np.int32), n_dates),
        "mcap": np.tile(base_cap, n_dates) * rng.lognormal(sigma=0.2, size=n),
    }
    for i, col in enumerate(COLS):
        kind = i % 5
        if kind == 0:
            x = rng.standard_normal(n)
        elif kind == 1:
            x = rng.standard_t(df=3, size=n)  # heavy tails
        elif kind == 2:
            x = rng.lognormal(sigma=1.0, size=n)  # skewed
        elif kind == 3:
            x = rng.standard_cauchy(n)  # no mean: winsorizing matters
        else:
            x = rng.standard_normal(n)
            x[rng.random(n) < 0.002] *= 1000.0  # rare huge outliers
        x[rng.random(n) < NULL_FRAC] = np.nan
        data[col] = x
    frame = pl.DataFrame(data).with_columns(pl.col(COLS).fill_nan(None))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    frame.write_parquet(tmp)
    tmp.replace(path)


# ----------------------------------------------------------------------- variants


def _ours(path: Path, *, check_keys: bool) -> pl.LazyFrame:
    lf = pl.scan_parquet(path)
    lf = lf.factors.winsorize(COLS, lower=LOWER, upper=UPPER, check_keys=check_keys)
    return lf.factors.zscore(COLS, weights="mcap", check_keys=check_keys)


def _sums(lf: pl.LazyFrame, engine: Literal["streaming", "in-memory"] = "streaming") -> list[float]:
    return [float(v) for v in lf.select(pl.col(COLS).sum()).collect(engine=engine).row(0)]


def run_io_floor(path: Path) -> list[float]:
    return _sums(pl.scan_parquet(path))


def run_ours(path: Path) -> list[float]:
    return _sums(_ours(path, check_keys=False))


def run_ours_check_keys(path: Path) -> list[float]:
    return _sums(_ours(path, check_keys=True))


def run_ours_in_memory(path: Path) -> list[float]:
    return _sums(_ours(path, check_keys=False), engine="in-memory")


def run_ours_sink(path: Path) -> list[float]:
    out = path.with_name(f"_sink_{os.getpid()}.parquet")
    try:
        _ours(path, check_keys=False).sink_parquet(out)
        return [float("nan")] * len(COLS)  # sums are checked on the other variants
    finally:
        out.unlink(missing_ok=True)


def run_winsorize_only(path: Path) -> list[float]:
    return _sums(
        pl.scan_parquet(path).factors.winsorize(COLS, lower=LOWER, upper=UPPER, check_keys=False)
    )


def run_zscore_only(path: Path) -> list[float]:
    return _sums(pl.scan_parquet(path).factors.zscore(COLS, weights="mcap", check_keys=False))


def polars_minimal(lf: pl.LazyFrame) -> pl.LazyFrame:
    """The same math as bare Polars window expressions, without the library.

    No NaN/inf cleaning, no zero-spread or zero-weight guards (this data needs none),
    so it gives the same numbers here; the gap to ``ours`` is the library's overhead.
    """
    lf = lf.with_columns(
        pl.col(c)
        .clip(
            pl.col(c).quantile(LOWER, interpolation="linear"),
            pl.col(c).quantile(UPPER, interpolation="linear"),
        )
        .over("date")
        for c in COLS
    )
    z = []
    for c in COLS:
        x = pl.col(c)
        w = pl.when(x.is_not_null()).then(pl.col("mcap")).otherwise(0.0)
        z.append(((x - (x * w).sum() / w.sum()) / x.std(ddof=0)).over("date").alias(c))
    return lf.with_columns(z)


def run_polars_minimal(path: Path) -> list[float]:
    return _sums(polars_minimal(pl.scan_parquet(path)))


def pandas_zscore(path: Path) -> pd.DataFrame:
    """The pandas implementation: vectorized groupby transforms, no Python loop per date.

    Dates are read as ``datetime64`` (pyarrow's default turns a parquet date into
    Python ``date`` objects, which makes every groupby about twice as slow). NaN are
    skipped by the quantiles, sums and stds, as nulls are by polars_factors; ``mcap``
    is positive and finite here, so it needs no cleaning.
    """
    df = pd.read_parquet(
        path, columns=["date", "mcap", *COLS], to_pandas_kwargs={"date_as_object": False}
    )
    keys, mcap = df["date"], df["mcap"]
    g = df.groupby(keys, sort=False)[COLS]
    lo = g.transform("quantile", LOWER)  # linear interpolation
    hi = g.transform("quantile", UPPER)
    x = df[COLS].clip(lo, hi)
    del df, g, lo, hi
    # Cap-weighted mean over the rows where the column is present.
    num = x.mul(mcap, axis=0).groupby(keys, sort=False).transform("sum")
    den = x.notna().mul(mcap, axis=0).groupby(keys, sort=False).transform("sum")
    mean = num / den
    del num, den
    std = x.groupby(keys, sort=False).transform("std", ddof=0)  # equal-weighted, population
    return (x - mean) / std


def run_pandas(path: Path) -> list[float]:
    return [float(v) for v in pandas_zscore(path).sum()]


def run_baseline(path: Path) -> list[float]:  # noqa: ARG001
    """Nothing: the peak RSS of the interpreter and the imports (polars, pandas, numpy)."""
    return [float("nan")] * len(COLS)


VARIANTS = [
    bench.Variant("io_floor", "(a) scan + sum of the 10 columns (streaming)", run_io_floor),
    bench.Variant("ours", "winsorize + zscore, check_keys=False, streaming", run_ours),
    bench.Variant(
        "ours_check_keys", "same, check_keys=True (2 key scans at call time)", run_ours_check_keys
    ),
    bench.Variant("ours_in_memory", 'same, engine="in-memory"', run_ours_in_memory),
    bench.Variant("ours_sink", "same, sink_parquet of the whole frame", run_ours_sink),
    bench.Variant("winsorize_only", "winsorize alone, streaming", run_winsorize_only),
    bench.Variant("zscore_only", "zscore alone, streaming", run_zscore_only),
    bench.Variant(
        "polars_minimal",
        "bare Polars `over` expressions, same math, no library (overhead reference)",
        run_polars_minimal,
    ),
    bench.Variant("pandas", "(b) pandas read_parquet + groupby transforms", run_pandas),
    bench.Variant("baseline", "imports only (peak RSS floor)", run_baseline),
]
HARNESS = bench.Harness(__file__, VARIANTS, generate_panel)


def child(args: argparse.Namespace) -> int:
    """The work of a child process: generate, verify, or run one variant once."""
    return HARNESS.child(
        args,
        verify=lambda: {"max_diff": verify(args.path, args.tolerance)},
        run=lambda v: bench.timed(lambda: v.fn(args.path), lambda sums: (sums, None)),
    )


# ------------------------------------------------------------------- verification


def verify(path: Path, tolerance: float) -> float:
    """Max abs difference between the polars_factors and pandas results (all cells)."""
    ours = _ours(path, check_keys=True).select(COLS).collect(engine="streaming")
    theirs = pl.from_pandas(pandas_zscore(path).reset_index(drop=True)).with_columns(
        pl.col(COLS).fill_nan(None)
    )
    worst = 0.0
    for col in COLS:
        a, b = ours[col], theirs[col]
        if not a.is_null().equals(b.is_null()):
            msg = f"{col}: null patterns differ ({a.null_count()} vs {b.null_count()} nulls)"
            raise AssertionError(msg)
        diff = (a - b).abs().fill_null(0.0).max()
        worst = max(worst, float(diff or 0.0))  # type: ignore[arg-type]
    if not worst <= tolerance:
        msg = f"polars_factors and pandas differ by {worst:.3g} > {tolerance:g}"
        raise AssertionError(msg)
    return worst


def check_sums(results: dict[str, list[bench.Run]], n_rows: int) -> None:
    """The reductions of all variants that compute z-scores must agree."""
    ref = results["ours"][0].checksum
    for name in ("ours", "ours_check_keys", "ours_in_memory", "polars_minimal", "pandas"):
        for run in results.get(name, []):
            for col, a, b in zip(COLS, ref, run.checksum, strict=True):
                if abs(a - b) > 1e-9 * n_rows:
                    msg = f"{name}: sum of {col} is {b!r}, expected {a!r}"
                    raise AssertionError(msg)


# -------------------------------------------------------------------------- report


def render(
    results: dict[str, list[bench.Run]],
    *,
    info: dict[str, str],
    shape: tuple[int, int],
    file_mb: float,
    max_diff: float,
    repeats: int,
    conditions: str,
) -> str:
    best_run = bench.fastest(results)
    best = {k: r.seconds for k, r in best_run.items()}
    peak = bench.peaks(results)
    floor, pandas_s, ours = best["io_floor"], best["pandas"], best["ours"]
    n_dates, n_assets = shape
    lines = [
        (
            f"Panel: {n_dates:,} dates x {n_assets:,} assets = {n_dates * n_assets:,} rows; "
            "date, asset (Int32), mcap, x0..x9 (Float64, ~1% nulls; normal, t(3), "
            f"lognormal, Cauchy, rare 1000x outliers); parquet {file_mb:,.0f} MB."
        ),
        "",
        (
            "Checked first: polars_factors == pandas on every cell, max abs diff "
            f"{max_diff:.2e} (same null pattern); the per-column sums of all z-score "
            "variants agree."
        ),
        "",
        (
            f"Best of {repeats} fresh processes (variants interleaved). CPU = user and "
            "system time of the fastest run (system time is mostly page faults on fresh "
            "memory). Peak RSS = max over the runs of the process's ru_maxrss, imports "
            "included (see `baseline`)."
        ),
        "",
        (
            "| variant | what | best wall (s) | all runs (s) | CPU user + sys (s) "
            "| x IO floor (a) | pandas (b) / this | peak RSS (MB) |"
        ),
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for v in (v for v in VARIANTS if v.name in results):
        s = best[v.name]
        mb = f"{peak[v.name]:,.0f}"
        if v.name == "baseline":
            lines.append(bench.baseline_row(v, 5, mb))
            continue
        lines.append(
            f"| `{v.name}` | {v.what} | {s:.3f} | {bench.all_runs(results[v.name])} | "
            f"{best_run[v.name].cpu} | {s / floor:.2f} | {pandas_s / s:.1f} | {mb} |"
        )
    within = ours / floor
    speedup = pandas_s / ours
    lines += [
        "",
        (
            f"Goals: ours / IO floor = **{within:.2f}x** (goal <= 3x: "
            f"{'met' if within <= 3 else 'NOT met'}); pandas / ours = **{speedup:.1f}x** "
            f"(goal >= 10x: {'met' if speedup >= 10 else 'NOT met'})."
        ),
    ]
    return bench.report(lines, info, conditions)


# ---------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench.parser(
        __doc__,
        tolerance=1e-9,
        tolerance_help="max abs diff vs pandas",
        output_help="markdown file for the table (default: benchmarks/RESULTS.md for the full "
        "run, none for --small/--shape)",
        blas=False,
        shape=True,
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--small", action="store_true", help="250 dates x 1,000 assets (smoke run)")
    size.add_argument("--shape", type=int, nargs=2, metavar=("DATES", "ASSETS"), help="panel shape")
    parser.add_argument(
        "--variants", nargs="+", choices=list(HARNESS.by_name), default=None, help="subset to run"
    )
    args = parser.parse_args(argv)
    if args.shape is None:
        args.shape = [250, 1_000] if args.small else [2_500, 4_000]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child(args)

    shape: tuple[int, int] = (args.shape[0], args.shape[1])
    full = shape == (2_500, 4_000)
    output = args.output if args.output is not None else (bench.RESULTS if full else None)
    path = HARNESS.ensure_panel(panel_path(*shape), shape, regenerate=args.regenerate)
    n_rows = shape[0] * shape[1]
    file_mb = path.stat().st_size / 1024**2

    print("verifying polars_factors against pandas ...", flush=True)
    verified = HARNESS.spawn(
        "--child", "verify", "--path", str(path), "--tolerance", str(args.tolerance)
    )
    max_diff = float(verified["max_diff"])
    print(f"  max abs diff {max_diff:.2e} (tolerance {args.tolerance:g})", flush=True)

    names = args.variants or [v.name for v in VARIANTS]
    for needed in ("io_floor", "ours", "pandas"):
        if needed not in names:
            names.append(needed)
    names = [v.name for v in VARIANTS if v.name in names]
    conditions = bench.Conditions()
    results = HARNESS.measure(names, path, args.repeats)
    check_sums(results, n_rows)

    table = render(
        results,
        info=bench.machine_info(VERSIONS),
        shape=shape,
        file_mb=file_mb,
        max_diff=max_diff,
        repeats=args.repeats,
        conditions=conditions.describe(),
    )
    header = "## `standardize.py`: winsorize + cap-weighted zscore\n\n"
    bench.publish(table, output, "standardize", header)
    return 0


if __name__ == "__main__":
    sys.exit(main())
