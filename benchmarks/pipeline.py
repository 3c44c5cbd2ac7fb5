"""Benchmark: the command-line pipeline (``polars-factors demo`` and ``run CONFIG.toml``).

Spec: the whole pipeline of :mod:`polars_factors.pipeline` (returns and descriptors,
USE4 standardization, Fama-French factors, the cross-sectional regression with sectors
and a country factor, time-series betas, the risk model, then the parquet files, the
figures and ``report.md``), end to end, as the command line runs it:

- ``demo``: ``run(demo_config(tmp), progress=StringIO())`` on the bundled S&P 500
  sample (505 stocks x 755 dates, 375,980 rows) with the figures, into a temporary
  folder: what ``polars-factors demo`` does after its imports;
- ``demo_no_figures``: the same without the figures (``figures=False``);
- ``cli_demo``: the ``polars-factors demo`` command itself in a subprocess: what a
  user waits for, interpreter start and imports included;
- ``run_x1``, ``run_x4``, ``run_x8``: ``run(with_output(load_config(toml), tmp))``
  (``polars-factors run CONFIG.toml``, figures off) on 1, 4 and 8 copies of the
  bundled panel written to parquet (376k, 1.5M and 3M rows). Copy 0 is the bundled
  panel itself; copy j >= 1 of every ticker is named ``TICKER_j`` and its prices are
  the original ones times ``exp(cumsum(N(0, 1%)))`` (one seeded path per asset; open,
  high, low and close scaled by the same factor), with the same sector, industry,
  volume and fundamentals. The time and the memory should grow linearly with the rows;
- ``io_floor``: a streaming scan of the 8-copy file summing every column;
- ``baseline``: the imports only (the peak RSS floor).

Every part of the pipeline is compared with its peers (statsmodels, linearmodels,
polars-ols, pandas, alphalens) by the other scripts of this folder; this one measures
the whole run and how it scales.

Goals: the demo (with figures) under 60 s (the issue's limit for the demo in the test
suite); time and peak memory linear in the rows: 8 copies at most ~10x the time of one.

Before any timing, the demo, the demo without figures and ``run`` on one copy are
checked to give the same headline numbers (rows, median cross-sectional R², portfolio
volatility: the parquet copy is the bundled panel), the same numbers in every repeated
run, and the copies are checked to hold the expected rows.

Each measurement runs in a fresh subprocess (so peak RSS, ``ru_maxrss`` of that
process, is per variant), ``--repeats`` times (default 3), interleaving the variants;
the table shows the best wall time, all the runs, the user and system CPU time of the
fastest run and the largest peak RSS. Wall and CPU time cover the pipeline only (from
reading the config to ``report.md``, the output written), not the interpreter start
or the imports (except ``cli_demo``). The per-step times come from the pipeline's
``on_step`` callback (the steps of its progress lines), in the fastest run.

Usage (from the repository root)::

    python benchmarks/pipeline.py           # full run (~3 min), writes RESULTS.md
    python benchmarks/pipeline.py --small   # smoke run (60 stocks, 1 repeat), prints only

The copies are written once (seeded) under ``benchmarks/data/`` (git-ignored).
Needs ``matplotlib`` (extra ``plot``) besides the package.
"""

from __future__ import annotations

import argparse
import io
import itertools
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import _harness as bench  # benchmarks/_harness.py
import numpy as np
import polars as pl

from polars_factors import datasets
from polars_factors.pipeline import PipelineConfig, demo_config, load_config, run, with_output
from polars_factors.pipeline._run import STEPS

SEED = 20261125
NOISE = 0.01  # daily log-noise of the perturbed copies' prices
PRICES = ("open", "high", "low", "close")
COPIES = (1, 4, 8)  # copies of the panel in run_x1, run_x4, run_x8
FULL_ASSETS = 505  # all of the bundled sample
SMALL_ASSETS = 60  # --small: the first 60 tickers (AAPL among them)
FOCUS = "AAPL"
DEMO_LIMIT_S = 60.0
VERSIONS = ("polars", "numpy", "matplotlib")
LOAD = "load (lazy scans, schema checks)"
REPORT = "report.md"
SAME_AS_DEMO = ("demo_no_figures", "run_x1")  # the same data as the demo: same numbers


# --------------------------------------------------------------------------- data


def copies_path(copies: int, n_assets: int) -> Path:
    return bench.DATA_DIR / f"pipeline_sp500_{n_assets}assets_x{copies}_seed{SEED}.parquet"


def bundled(n_assets: int) -> pl.DataFrame:
    """The bundled panel (every column), restricted to its first ``n_assets`` tickers."""
    lf = datasets.load_sp500()
    if n_assets < FULL_ASSETS:
        first = lf.select(pl.col("asset").unique().sort().head(n_assets)).collect()
        lf = lf.filter(pl.col("asset").is_in(first["asset"].implode()))
    return lf.collect().sort("asset", "date")


def perturbed(base: pl.DataFrame, j: int) -> pl.DataFrame:
    """Copy ``j`` of the panel: assets ``TICKER_j``, prices times a seeded random path.

    ``base`` is sorted by (asset, date), so the cumulative sum over each asset runs
    forward in time.
    """
    if j == 0:
        return base
    rng = np.random.default_rng([SEED, j])
    noise = pl.Series("noise", rng.normal(0.0, NOISE, base.height))
    factor = noise.to_frame().with_columns(
        pl.col("noise").cum_sum().over(base["asset"]).exp().alias("factor")
    )["factor"]
    return base.with_columns(
        (pl.col("asset") + f"_{j}"),
        *(pl.col(c) * factor for c in PRICES),
    )


def generate(path: Path, copies: int, n_assets: int) -> None:
    """Write ``copies`` copies of the bundled panel into one parquet file, copy by copy."""
    base = bundled(n_assets)
    tmp = path.with_name(path.stem + ".parts")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for j in range(copies):
        perturbed(base, j).write_parquet(tmp / f"{j:03d}.parquet")
    out = path.with_suffix(".tmp")
    pl.scan_parquet(sorted(tmp.glob("*.parquet"))).sink_parquet(out)
    out.replace(path)
    shutil.rmtree(tmp)


def config_text(panel: Path, output: Path) -> str:
    """The TOML of the ``run`` variants: the file's columns have the canonical names."""
    return (
        f'[data]\npanel = "{panel.as_posix()}"\n\n'
        f'[model]\nfocus_asset = "{FOCUS}"\n\n'
        f'[output]\ndir = "{output.as_posix()}"\nfigures = false\n'
    )


# ----------------------------------------------------------------------- variants


def demo_cfg(output: Path, assets: tuple[str, ...] | None, *, figures: bool) -> PipelineConfig:
    """The demo's config; ``assets``: only these tickers (``--small``)."""
    cfg = demo_config(output)
    if assets is not None:
        cfg = replace(cfg, data=replace(cfg.data, assets=assets))
    return replace(cfg, figures=figures)


def first_assets(n_assets: int) -> tuple[str, ...] | None:
    """The tickers of the copies (``None``: all of them)."""
    if n_assets >= FULL_ASSETS:
        return None
    return tuple(bundled(n_assets)["asset"].unique().sort())


def timed_pipeline(make_cfg: Any) -> dict[str, Any]:
    """Child side: time the config and the pipeline into a temporary folder.

    ``make_cfg(folder)`` builds the config (inside the clock: ``load_config`` is part
    of ``polars-factors run``). The step times come from ``on_step``.
    """
    marks: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="pf_bench_") as tmp:
        folder = Path(tmp)

        def work() -> Any:
            marks.append((LOAD, time.perf_counter()))
            result = run(
                make_cfg(folder),
                progress=io.StringIO(),
                on_step=lambda name: marks.append((name, time.perf_counter())),
            )
            marks.append((REPORT, time.perf_counter()))
            return result

        def reduce(result: Any) -> tuple[Any, int | None]:
            s = result.results.summary
            steps = {a[0]: b[1] - a[1] for a, b in itertools.pairwise(marks)}
            out = result.output
            return {
                "steps": steps,
                "median_r2": s.get("median_r2"),
                "portfolio_vol": s.get("portfolio_vol"),
                "parquet_files": len(list(out.glob("*.parquet"))),
                "figures": len(list(out.glob("figures/*.png"))),
                "output_mb": sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20,
            }, int(s["rows"])

        return bench.timed(work, reduce)


def run_demo(args: argparse.Namespace) -> dict[str, Any]:
    assets = first_assets(args.assets)  # before the clock
    return timed_pipeline(lambda out: demo_cfg(out, assets, figures=True))


def run_demo_no_figures(args: argparse.Namespace) -> dict[str, Any]:
    assets = first_assets(args.assets)
    return timed_pipeline(lambda out: demo_cfg(out, assets, figures=False))


def run_copies(args: argparse.Namespace) -> dict[str, Any]:
    def make_cfg(out: Path) -> PipelineConfig:
        toml = out / "config.toml"
        toml.write_text(config_text(args.path, out / "output"), encoding="utf-8")
        return with_output(load_config(toml), out / "output")

    return timed_pipeline(make_cfg)


def run_cli_demo(_: argparse.Namespace) -> dict[str, Any]:
    """``polars-factors demo`` in a subprocess; its CPU and peak RSS (RUSAGE_CHILDREN)."""
    exe = Path(sys.executable).with_name("polars-factors")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "polars_factors.cli"]
    with tempfile.TemporaryDirectory(prefix="pf_bench_") as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(
            [*cmd, "demo", "--quiet", "--output", tmp], capture_output=True, text=True, check=False
        )
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            msg = f"polars-factors demo failed ({proc.returncode}): {proc.stderr}"
            raise RuntimeError(msg)
        figures = len(list(Path(tmp).glob("figures/*.png")))
    rows = re.search(r"panel: ([\d,]+) rows", proc.stdout)
    r2 = re.search(r"median R² ([\d.]+)", proc.stdout)
    return {
        "seconds": seconds,
        "user_s": after.ru_utime - before.ru_utime,
        "sys_s": after.ru_stime - before.ru_stime,
        "peak_mb": after.ru_maxrss / 1024,
        "checksum": {"figures": figures, "median_r2_printed": float(r2[1]) if r2 else None},
        "count": int(rows[1].replace(",", "")) if rows else None,
    }


def run_io_floor(args: argparse.Namespace) -> dict[str, Any]:
    def work() -> pl.DataFrame:
        lf = pl.scan_parquet(args.path)
        strings = [n for n, t in lf.collect_schema().items() if t == pl.String]
        return lf.select(
            pl.all().exclude(strings).cast(pl.Float64).sum(),
            pl.col(strings).str.len_bytes().sum(),
            pl.len().alias("rows"),
        ).collect(engine="streaming")

    return bench.timed(work, lambda out: (None, int(out["rows"][0])))


def run_baseline(_: argparse.Namespace) -> dict[str, Any]:
    """Nothing: the peak RSS of the interpreter and the imports (polars, the package)."""
    return bench.timed(lambda: (None, None))


VARIANTS = [
    bench.Variant(
        "demo",
        "`run(demo_config(tmp))`: bundled sample, figures on (`polars-factors demo`)",
        run_demo,
    ),
    bench.Variant("demo_no_figures", "same, `figures=False`", run_demo_no_figures),
    bench.Variant(
        "cli_demo",
        "the `polars-factors demo` command in a subprocess: interpreter start and imports included",
        run_cli_demo,
    ),
    *(
        bench.Variant(
            f"run_x{k}",
            f"`polars-factors run CONFIG.toml` (`load_config` + `run`), figures off, on {k} "
            f"cop{'y' if k == 1 else 'ies'} of the panel (parquet)",
            run_copies,
            ref="run_x1" if k > 1 else None,
        )
        for k in COPIES
    ),
    bench.Variant(
        "io_floor",
        f"`scan_parquet` of the x{COPIES[-1]} file, sum of every column, streaming",
        run_io_floor,
    ),
    bench.Variant("baseline", "imports only (peak RSS floor)", run_baseline),
]
HARNESS = bench.Harness(__file__, VARIANTS, generate)


def variant_path(name: str, paths: dict[int, Path]) -> Path:
    """The parquet file a variant reads (the demo variants ignore it)."""
    if name.startswith("run_x"):
        return paths[int(name.removeprefix("run_x"))]
    return paths[COPIES[-1]] if name == "io_floor" else paths[1]


# ------------------------------------------------------------------ subprocesses


def child(args: argparse.Namespace) -> int:
    """The work of a child process: write the copies, or run one variant once."""
    return HARNESS.child(args, verify=dict, run=lambda v: v.fn(args))


def measure(
    names: Sequence[str], paths: dict[int, Path], repeats: int, n_assets: int
) -> dict[str, list[bench.Run]]:
    """``repeats`` rounds of one fresh process per variant, interleaved."""
    results: dict[str, list[bench.Run]] = {n: [] for n in names}
    for r in range(repeats):
        for name in names:
            res = HARNESS.run_variant(name, variant_path(name, paths), "--assets", str(n_assets))
            results[name].append(res)
            print(
                f"  round {r + 1}: {name:16s} {res.seconds:8.3f} s {res.peak_mb:8.0f} MB",
                flush=True,
            )
    return results


def check(results: dict[str, list[bench.Run]], n_assets: int) -> None:
    """Every run the same; the expected rows; the demo's numbers for the demo's data."""
    rows_x1 = bundled(n_assets).height
    for name, runs in results.items():
        if name.startswith("run_x"):
            k = int(name.removeprefix("run_x"))
            want = rows_x1 * k
            if runs[0].count != want:
                msg = f"{name}: {runs[0].count} rows, expected {want}"
                raise AssertionError(msg)
        if name == "io_floor" and runs[0].count != rows_x1 * COPIES[-1]:
            msg = f"io_floor: {runs[0].count} rows, expected {rows_x1 * COPIES[-1]}"
            raise AssertionError(msg)
        for key in ("median_r2", "portfolio_vol", "figures", "parquet_files"):
            found = [r.checksum.get(key) for r in runs if isinstance(r.checksum, dict)]
            values = [v for v in found if v is not None]
            if values and max(values) - min(values) > 1e-9 * max(1.0, abs(values[0])):
                msg = f"{name}: runs disagree on {key}: {values}"
                raise AssertionError(msg)
    if "demo" in results:
        check_same_as_demo(results, full=n_assets >= FULL_ASSETS)


def check_same_as_demo(results: dict[str, list[bench.Run]], *, full: bool) -> None:
    """The variants on the demo's data give its numbers (the command: as printed).

    ``full``: the demo ran on every stock, as the command always does.
    """
    ref = results["demo"][0]
    for name in SAME_AS_DEMO:
        for run_ in results.get(name, []):
            for key in ("median_r2", "portfolio_vol"):
                a, b = ref.checksum[key], run_.checksum[key]
                if a is None or b is None or abs(a - b) > 1e-9 * max(1.0, abs(a)):
                    msg = f"{name}: {key} {b!r}, the demo has {a!r}"
                    raise AssertionError(msg)
            if run_.count != ref.count:
                msg = f"{name}: {run_.count} rows, the demo has {ref.count}"
                raise AssertionError(msg)
    for run_ in results.get("cli_demo", []) if full else []:
        printed = run_.checksum["median_r2_printed"]
        if (
            run_.count != ref.count
            or printed is None
            or abs(printed - ref.checksum["median_r2"]) > 5e-4
        ):
            msg = f"cli_demo: {run_.count} rows, median R² {printed}; the demo has {ref.count}"
            raise AssertionError(msg)


# -------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Setup:
    n_assets: int
    rows: int
    mb: dict[int, float]
    repeats: int
    blas: str


def _rows(results: dict[str, list[bench.Run]]) -> list[str]:
    best, peak = bench.fastest(results), bench.peaks(results)
    lines = []
    for v in (v for v in VARIANTS if v.name in results):
        mb = f"{peak[v.name]:,.0f}"
        if v.name == "baseline":
            lines.append(bench.baseline_row(v, 6, mb))
            continue
        r = best[v.name]
        rows = f"{r.count:,}" if r.count else "-"
        ratio = f"{r.seconds / best[v.ref].seconds:.2f}" if v.ref in best else "-"
        mb_ratio = f"{peak[v.name] / peak[v.ref]:.2f}" if v.ref in best else "-"
        lines.append(
            f"| `{v.name}` | {v.what} | {rows} | {r.seconds:.2f} | "
            f"{bench.all_runs(results[v.name])} | {r.cpu} | {ratio} | {mb} | {mb_ratio} |"
        )
    return lines


def _step_rows(results: dict[str, list[bench.Run]]) -> tuple[list[str], list[str]]:
    best = bench.fastest(results)
    names = [
        n for n in results if isinstance(best[n].checksum, dict) and "steps" in best[n].checksum
    ]
    header = "| step | " + " | ".join(f"`{n}` (s)" for n in names) + " |"
    rule = "|---|" + "---:|" * len(names)
    lines = [header, rule]
    for step in (LOAD, *STEPS):
        cells = [best[n].checksum["steps"].get(step) for n in names]
        label = step + (" (until `report.md` is written)" if step == STEPS[-1] else "")
        lines.append(
            f"| {label} | " + " | ".join("-" if c is None else f"{c:.2f}" for c in cells) + " |"
        )
    lines.append("| **total** | " + " | ".join(f"**{best[n].seconds:.2f}**" for n in names) + " |")
    return names, lines


def render(
    results: dict[str, list[bench.Run]],
    *,
    setup: Setup,
    info: dict[str, str],
    conditions: str,
) -> str:
    best, peak = bench.fastest(results), bench.peaks(results)
    demo = best["demo"]
    _, steps = _step_rows(results)
    figures = demo.checksum["figures"]
    files = demo.checksum["parquet_files"]
    sizes = ", ".join(f"x{k} {setup.mb[k]:,.1f} MB" for k in COPIES)
    t = {k: best[f"run_x{k}"].seconds for k in COPIES}
    m = {k: peak[f"run_x{k}"] for k in COPIES}
    last = COPIES[-1]
    lines = [
        (
            f"Data: the bundled S&P 500 sample (`datasets.load_sp500()`, {setup.n_assets} "
            f"stocks x 755 dates, {setup.rows:,} rows, 2015-02-09 .. 2018-02-07) for the demo; "
            f"for `run`, {', '.join(map(str, COPIES))} copies of it in one parquet file each "
            f"({sizes}): copy 0 is the bundled panel, copy j >= 1 renames every ticker "
            f"`TICKER_j` and multiplies its open, high, low and close by exp(cumsum of "
            f"N(0, {NOISE:.0%})) (one seeded path per asset), with the same sector, volume "
            "and fundamentals. The pipeline: returns and descriptors, USE4 standardization "
            "(size, value, momentum, volatility), Fama-French SMB/HML/UMD, WLS "
            "cross-sectional regressions with sectors and a country factor (Fama-MacBeth, "
            "rank IC, quintile returns), rolling 252-day Fama-French betas, the USE4S risk "
            f"model, then {files} parquet files and `report.md` (+ {figures} PNG figures "
            "for the demo)."
        ),
        "",
        (
            "Checked first: the demo, the demo without figures and `run_x1` (the bundled "
            "panel read back from parquet through a TOML config) give the same rows, median "
            "cross-sectional R² and portfolio volatility (relative 1e-9), and `cli_demo` prints "
            "the same rows and R²; every repeated run the same numbers; each copy file holds "
            "the expected rows."
        ),
        "",
        (
            f"Best of {setup.repeats} fresh processes (variants interleaved); wall and CPU "
            "time cover the pipeline from the config to `report.md` (output written into a "
            "temporary folder), not the interpreter start or the imports, except "
            "`cli_demo` (the whole command; its CPU and peak RSS are those of the "
            "command's process). CPU = user + system time of the fastest run. Peak RSS = "
            "max over the runs of the process's ru_maxrss, imports included (see "
            f"`baseline`). BLAS threads: {setup.blas}."
        ),
        "",
        (
            "| variant | what | rows | best wall (s) | all runs (s) | CPU user + sys (s) "
            "| time / `run_x1` | peak RSS (MB) | RSS / `run_x1` |"
        ),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        *_rows(results),
        "",
        (
            "Per step (the pipeline's progress steps, from its `on_step` callback, fastest "
            "run of each variant; `load` = the lazy scans and schema checks before step 1, "
            "and `load_config` for `run`):"
        ),
        "",
        *steps,
        "",
        "Goals:",
        "",
        bench.goal(
            "demo with figures, wall time (s)",
            round(demo.seconds, 1),
            f"< {DEMO_LIMIT_S:.0f} s",
            met=demo.seconds < DEMO_LIMIT_S,
        ),
    ]
    if "cli_demo" in best:
        cli = best["cli_demo"].seconds
        lines.append(
            bench.goal(
                "`polars-factors demo` command, start to exit (s)",
                round(cli, 1),
                f"< {DEMO_LIMIT_S:.0f} s",
                met=cli < DEMO_LIMIT_S,
            )
        )
    for k in COPIES[1:]:
        ratio = t[k] / t[1]
        lines.append(
            bench.goal(
                f"time, x{k} / x1 rows",
                round(ratio, 2),
                f"<= {1.25 * k:g} (linear: {k}, with fixed costs less)",
                met=ratio <= 1.25 * k,
            )
        )
    if "io_floor" in best:
        lines.append(
            f"- peak RSS, x{'/x'.join(map(str, COPIES[1:]))} / x1: "
            + " / ".join(f"**{m[k] / m[1]:.2f}**" for k in COPIES[1:])
            + f" ({' / '.join(f'{m[k]:,.0f}' for k in COPIES)} MB; imports alone "
            f"{peak.get('baseline', float('nan')):,.0f} MB); the x{last} file's IO floor "
            f"{best['io_floor'].seconds:.2f} s"
        )
    if "demo_no_figures" in best:
        lines.append(
            f"- the figures: {demo.seconds - best['demo_no_figures'].seconds:.2f} s of the "
            f"demo's {demo.seconds:.2f} s ({figures} PNG files)"
        )
    return bench.report(lines, info, conditions)


# ---------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench.parser(
        __doc__,
        tolerance=1e-9,
        tolerance_help="unused (the checks compare headline numbers, relative 1e-9)",
        regenerate_help="rewrite the copies of the panel",
    )
    parser.set_defaults(blas_threads=0)
    parser.add_argument(
        "--small",
        action="store_true",
        help=f"smoke run: the first {SMALL_ASSETS} tickers, 1 repeat; prints only",
    )
    parser.add_argument(
        "--variants", nargs="+", default=None, help="time only these (default: all); prints only"
    )
    parser.add_argument("--assets", type=int, default=FULL_ASSETS, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child(args)

    n_assets = SMALL_ASSETS if args.small else FULL_ASSETS
    repeats = 1 if args.small else args.repeats
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
        k: HARNESS.ensure_panel(copies_path(k, n_assets), (k, n_assets), regenerate=args.regenerate)
        for k in COPIES
    }

    conditions = bench.Conditions()
    results = measure(names, paths, repeats, n_assets)
    check(results, n_assets)
    print("checks passed: same numbers for the same data, every run the same, rows as expected")
    during = conditions.describe()
    if partial:
        for name, runs in results.items():
            best = min(runs, key=lambda r: r.seconds)
            print(f"{name:16s} best {best.seconds:.3f} s, peak {best.peak_mb:,.0f} MB")
        return 0

    setup = Setup(
        n_assets=n_assets,
        rows=results["demo"][0].count or 0,
        mb={k: p.stat().st_size / 1024**2 for k, p in paths.items()},
        repeats=repeats,
        blas=blas,
    )
    info = bench.machine_info(VERSIONS)
    table = render(results, setup=setup, info=info, conditions=during)
    header = "## `pipeline.py`: the command-line pipeline (`polars-factors demo` / `run`)\n\n"
    bench.publish(table, output, "pipeline", header)
    return 0


if __name__ == "__main__":
    sys.exit(main())
