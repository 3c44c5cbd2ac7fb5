"""Benchmark: peak memory and wall time of each capability against the number of dates.

Spec: every capability of the package (IO floor, key check, standardize, zscore,
winsorize + rank, cross-sectional WLS and Huber, rolling and full-sample betas,
quintile portfolios and IC, specific risk, the ``polars-factors run`` command) on
synthetic panels of 3,000 assets x N dates read from a multi-file parquet dataset,
N = 500, 2,000, 8,000 and 32,000 (sizes ``1.5M``, ``6M``, ``24M``, ``96M`` rows; ``tiny``
= 20 dates for smoke runs). The question is how memory and time grow with the
number of dates: flat peak memory where the partition layer splits the work,
linear time everywhere.

Each (capability, size) runs in a fresh process, ``python benchmarks/scale.py --child
CAPABILITY --size SIZE --data-dir DIR``, started under ``/usr/bin/time -v``: the peak
RSS is its "Maximum resident set size" (the process and the processes it waited for,
so the ``cli`` capability's ``polars-factors`` subprocess counts), the wall time is
the child's own clock around the capability (imports and untimed setup excluded), and
the process's elapsed time is kept too. ``time`` is a small process of its own, so the
parent's memory never leaks into a child's peak (see ``_harness.py``). The child
prints one JSON line (capability, size, rows, seconds, extra numbers); a child that
fails, times out or is killed is recorded with its exit code or signal, never dropped.

``--memory-cap GB`` caps the child's memory. Where this process's cgroup-v1 memory
controller is writable (``/proc/self/cgroup``), the child runs in a new cgroup below it
with ``memory.limit_in_bytes`` = the cap: a cap on resident memory (the page cache of
the files it reads counts too, but the kernel reclaims it before it kills), and the
kernel kills the child (SIGKILL) when its memory cannot fit. Otherwise, or with
``--cap-kind address-space``, the child runs under ``prlimit --as=BYTES``: a cap on the
virtual address space, which is stricter. Address space is RSS plus memory reserved but
not touched (thread stacks, allocator arenas, OpenBLAS buffers: ~0.6 GB after the
imports against ~0.13 GB of RSS) plus the parquet files Polars maps into memory, so a
child can stop with its RSS well under such a cap; the child's JSON has its own
``vm_peak_gb`` to calibrate it. The table says which cap a run had.

Usage (from the repository root)::

    python benchmarks/scale.py --sizes tiny                       # smoke run, ~30 s
    python benchmarks/scale.py --sizes 1.5M,6M --capabilities io_floor,standardize
    python benchmarks/scale.py --sizes 1.5M,6M,24M --write-results --memory-cap 16
    python benchmarks/scale.py --render-only --write-results      # the stored runs only

Measurements are merged into ``DIR/scale_results.json`` (a newer run of a (capability,
size) replaces the older one), so sizes can be run separately; ``--write-results``
renders every stored measurement into the ``scale`` section of ``RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import _harness as bench  # benchmarks/_harness.py
import numpy as np
import polars as pl

import polars_factors as pf
from polars_factors import _validate

SEED = 20261207
GEN_VERSION = 1  # bump when the generator changes: panels on disk are then rewritten
N_ASSETS = 3_000
BLOCK = 250  # dates per file: every size but `tiny` is a whole number of files
ROW_GROUP = 250_000
SIZES = {"tiny": 20, "1.5M": 500, "6M": 2_000, "24M": 8_000, "96M": 32_000}
COLS = [f"d{i}" for i in range(10)]
FACTORS = ["mkt", "smb", "hml"]
N_INDUSTRIES = 30
TIME_BIN = "/usr/bin/time"
SECTION = "scale"
HEADER = "## Scale: memory and time against the number of dates\n\n"
MEMORY_ERRORS = re.compile(
    r"MemoryError|memory allocation|Cannot allocate memory|failed to allocate|out of memory"
    r"|bad_alloc",
    re.IGNORECASE,
)


# --------------------------------------------------------------------------- data


def panel_dir(data_dir: Path, size: str) -> Path:
    return data_dir / size


def panel_glob(data_dir: Path, size: str) -> str:
    return f"{panel_dir(data_dir, size)}/*.parquet"


def _meta(n_dates: int) -> dict[str, Any]:
    return {
        "version": GEN_VERSION,
        "seed": SEED,
        "assets": N_ASSETS,
        "block": BLOCK,
        "dates": n_dates,
    }


def _read_meta(directory: Path) -> dict[str, Any] | None:
    path = directory / "_panel.json"
    return json.loads(path.read_text()) if path.exists() else None


def _traits() -> dict[str, np.ndarray]:
    """What is fixed per asset: industry, share count, factor betas, first close."""
    rng = np.random.default_rng([SEED, 0])
    close = rng.lognormal(np.log(40.0), 0.8, N_ASSETS)
    return {
        "industry": rng.integers(0, N_INDUSTRIES, N_ASSETS),
        "shares": rng.lognormal(np.log(2e9), 1.5, N_ASSETS) / close,
        "beta": rng.normal([1.0, 0.0, 0.0], [0.3, 0.5, 0.5], (N_ASSETS, 3)),
        "close": close,
    }


def _block(
    index: int, dates: pl.Series, traits: dict[str, np.ndarray], close0: np.ndarray
) -> tuple[pl.DataFrame, np.ndarray]:
    """The rows of one file: ``len(dates)`` dates x all assets, sorted by date then asset.

    ``ret`` = betas x (mkt, smb, hml) + an industry return + 0.002 (d0 + d1/2 - d2/2 +
    d3/4) + 1.5% noise (std ~1.9%); ``close`` compounds ``ret`` from ``close0``, and
    ``mcap`` = ``shares`` x ``close`` (lognormal across assets).
    """
    rng = np.random.default_rng([SEED, 1, index])
    nd = len(dates)
    n = nd * N_ASSETS
    day = np.repeat(np.arange(nd), N_ASSETS)
    d = rng.standard_normal((len(COLS), n))
    f = rng.normal([0.0003, 0.0, 0.0], [0.01, 0.005, 0.005], (nd, 3))
    ind_ret = rng.normal(0.0, 0.005, (nd, N_INDUSTRIES))
    ind = np.tile(traits["industry"], nd)
    signal_part = 0.002 * (d[0] + 0.5 * d[1] - 0.5 * d[2] + 0.25 * d[3])
    ret = (np.tile(traits["beta"], (nd, 1)) * f[day]).sum(axis=1)
    ret += ind_ret[day, ind] + signal_part + 0.015 * rng.standard_normal(n)
    close = close0 * np.cumprod(1.0 + ret.reshape(nd, N_ASSETS), axis=0)
    shares = np.tile(traits["shares"], nd)
    assets = pl.Series("asset", [f"A{i + 1:04d}" for i in range(N_ASSETS)])
    industries = pl.Series("industry", [f"IND{k:02d}" for k in range(N_INDUSTRIES)])
    frame = {
        "date": dates.gather(day),
        "asset": assets.gather(np.tile(np.arange(N_ASSETS), nd)),
        **{c: d[i] for i, c in enumerate(COLS)},
        "ret": ret,
        "mcap": shares * close.ravel(),
        "industry": industries.gather(ind),
        **{c: f[day, j] for j, c in enumerate(FACTORS)},
        "close": close.ravel(),
        "shares": shares,
    }
    return pl.DataFrame(frame), close[-1]


def _reusable(data_dir: Path, size: str, index: int) -> Path | None:
    """The same file of another size's panel (the panels nest), if it is complete."""
    name = f"part-{index:05d}.parquet"
    for other in SIZES:
        meta = _read_meta(panel_dir(data_dir, other))
        if other == size or meta is None:
            continue
        same_generator = {**meta, "dates": 0} == _meta(0)
        if same_generator and meta["dates"] >= (index + 1) * BLOCK:
            return panel_dir(data_dir, other) / name
    return None


def generate(data_dir: Path, size: str, *, reuse: bool) -> None:
    """Write the panel of ``size`` file by file (bounded memory), then its metadata.

    File ``i`` holds dates ``[250 i, 250 (i + 1))``, seeded by ``i``: a longer panel
    starts with the files of a shorter one, which are hard-linked instead of rewritten.
    """
    n_dates = SIZES[size]
    out = panel_dir(data_dir, size)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    dates = bench.weekdays(dt.date(2000, 1, 3), n_dates)
    traits = _traits()
    close = traits["close"]
    for i, start in enumerate(range(0, n_dates, BLOCK)):
        path = out / f"part-{i:05d}.parquet"
        source = _reusable(data_dir, size, i) if reuse and start + BLOCK <= n_dates else None
        if source is not None:
            os.link(source, path)
            close = pl.read_parquet(path, columns=["close"])["close"].tail(N_ASSETS).to_numpy()
            continue
        frame, close = _block(i, dates[start : start + BLOCK], traits, close)
        tmp = path.with_suffix(".tmp")
        frame.write_parquet(tmp, row_group_size=ROW_GROUP)
        tmp.replace(path)
    (out / "_panel.json").write_text(json.dumps(_meta(n_dates)))


def ensure_panel(data_dir: Path, size: str, *, regenerate: bool) -> None:
    """Generate the panel in a child process unless it is on disk with this generator."""
    if not regenerate and _read_meta(panel_dir(data_dir, size)) == _meta(SIZES[size]):
        return
    print(f"generating {panel_dir(data_dir, size)} ({SIZES[size]:,} dates) ...", flush=True)
    start = time.perf_counter()
    cmd = [sys.executable, __file__, "--child", "generate", "--size", size]
    cmd += ["--data-dir", str(data_dir), *(["--regenerate"] if regenerate else [])]
    subprocess.run(cmd, check=True)
    mb = sum(p.stat().st_size for p in panel_dir(data_dir, size).glob("*.parquet")) / 1024**2
    print(f"  done in {time.perf_counter() - start:.1f} s ({mb:,.0f} MB)", flush=True)


# ------------------------------------------------------------------- capabilities


def scan(src: str) -> pl.LazyFrame:
    return pl.scan_parquet(src)


def sink_report(report: pf.partition.SinkReport) -> dict[str, Any]:
    return {"chunks": report.n_chunks, "out_rows": report.n_rows}


def run_baseline(src: str, tmp: Path) -> dict[str, Any]:  # noqa: ARG001
    """Nothing: the interpreter and the imports (the peak RSS floor)."""
    return {}


def run_io_floor(src: str, tmp: Path) -> dict[str, Any]:  # noqa: ARG001
    out = scan(src).select(pl.all().exclude("date", "asset", "industry").sum()).collect()
    return {"sum_ret": out["ret"].item()}


def run_key_check(src: str, tmp: Path) -> dict[str, Any]:  # noqa: ARG001
    _validate.check_unique_keys(scan(src), date="date", asset="asset")
    return {}


def run_standardize(src: str, tmp: Path) -> dict[str, Any]:
    plan = scan(src).factors.standardize(COLS, weights="mcap")
    return sink_report(pf.partition.sink_parquet(plan, tmp / "out.parquet"))


def run_zscore(src: str, tmp: Path) -> dict[str, Any]:
    plan = scan(src).factors.zscore(COLS, weights="mcap")
    return sink_report(pf.partition.sink_parquet(plan, tmp / "out.parquet"))


def run_winsorize_rank(src: str, tmp: Path) -> dict[str, Any]:
    plan = scan(src).factors.winsorize(COLS, lower=0.01, upper=0.99).factors.rank(COLS)
    return sink_report(pf.partition.sink_parquet(plan, tmp / "out.parquet"))


def _cross_section(src: str, method: str) -> dict[str, Any]:
    res = pf.cross_section(
        scan(src), "ret", COLS, industry="industry", weights="mcap", method=method
    )
    fr = res.factor_returns.collect()
    d0 = fr.filter(pl.col("factor") == "d0")["factor_return"].mean()
    return {"factor_rows": fr.height, "mean_d0_return": d0}


def run_cross_section(src: str, tmp: Path) -> dict[str, Any]:  # noqa: ARG001
    return _cross_section(src, "wls")


def run_cross_section_chunked(src: str, tmp: Path) -> dict[str, Any]:  # noqa: ARG001
    # The same WLS over chunks of dates: the per-date sums of one chunk at a time.
    lf = scan(src)
    _validate.check_unique_keys(lf, date="date", asset="asset")

    def build(rows: pl.LazyFrame) -> pl.LazyFrame:
        return pf.cross_section(
            rows, "ret", COLS, industry="industry", weights="mcap", check_keys=False
        ).factor_returns

    fr = pf.partition.collect(lf, build=build)
    d0 = fr.filter(pl.col("factor") == "d0")["factor_return"].mean()
    return {"factor_rows": fr.height, "mean_d0_return": d0}


def run_cross_section_huber(src: str, tmp: Path) -> dict[str, Any]:  # noqa: ARG001
    # Huber needs each date's median (not a sum): run it over chunks of dates
    # (docs/big_data.md); the key check runs once, on the whole scan.
    lf = scan(src)
    _validate.check_unique_keys(lf, date="date", asset="asset")

    def build(rows: pl.LazyFrame) -> pl.LazyFrame:
        return pf.cross_section(
            rows, "ret", COLS, industry="industry", weights="mcap", method="huber",
            check_keys=False,
        ).factor_returns  # fmt: skip

    fr = pf.partition.collect(lf, build=build)
    d0 = fr.filter(pl.col("factor") == "d0")["factor_return"].mean()
    return {"factor_rows": fr.height, "mean_d0_return": d0}


def rolling_betas(rows: pl.LazyFrame) -> pl.LazyFrame:
    return pf.betas(rows, "ret", FACTORS, window=252)


def run_betas_rolling(src: str, tmp: Path) -> dict[str, Any]:
    report = pf.partition.sink_parquet(
        scan(src), tmp / "out.parquet", by="asset", build=rolling_betas
    )
    return sink_report(report)


def run_betas_full(src: str, tmp: Path) -> dict[str, Any]:  # noqa: ARG001
    # Per-asset work: chunks of whole assets, each fitted on its own (build=).
    out = pf.partition.collect(
        scan(src), by="asset", build=lambda rows: pf.betas(rows, "ret", FACTORS)
    )
    return {"out_rows": out.height, "median_beta_mkt": out["beta_mkt"].median()}


def run_portfolio(src: str, tmp: Path) -> dict[str, Any]:  # noqa: ARG001
    """Quintiles of d0 per date, value-weighted quintile returns, daily rank IC.

    ``ret`` plays the return over the period after the row's date (the generator
    makes it load on that row's d0..d3). Both are aggregates (rows per date, not per
    input row), so they run with ``build=`` over chunks of the panel's dates: the
    chunks are then sized on the panel's rows.
    """
    lf = scan(src)

    def returns(rows: pl.LazyFrame) -> pl.LazyFrame:
        buckets = pf.portfolio.assign_buckets(rows, "d0", n=5)
        return pf.portfolio.portfolio_returns(buckets, "d0_bucket", "ret", weights="mcap")

    def ic(rows: pl.LazyFrame) -> pl.LazyFrame:
        return pf.portfolio.information_coefficient(rows, "d0", "ret").ic

    rets = pf.partition.collect(lf, build=returns)
    ics = pf.partition.collect(lf, build=ic)
    return {"return_rows": rets.height, "ic_rows": ics.height, "mean_ic": ics["ic"].mean()}


def run_specific_risk(src: str, tmp: Path) -> dict[str, Any]:
    """Specific variances (half-life 84, 5 Newey-West lags) of ``ret``, split by asset.

    No size shrinkage: it works across the assets of a date, so its plan could be
    split neither by asset (the time series) nor by date.
    """
    plan = pf.risk.specific_risk(scan(src), residual="ret", half_life=84, nw_lags=5)
    return sink_report(pf.partition.sink_parquet(plan, tmp / "out.parquet", by="asset"))


CLI_CONFIG = """\
# polars-factors run on the synthetic panel of benchmarks/scale.py
[data]
panel = "{panel}"
fama_french = "ff3_daily.csv"  # the panel's own mkt/smb/hml (rf = 0), French's format

[columns]  # date, asset, close, industry: same names
shares_outstanding = "shares"

[model]
styles = ["size", "momentum", "volatility"]  # no fundamentals: no value style
industry = "industry"

[output]
dir = "out"
figures = false
"""


def prepare_cli(src: str, tmp: Path) -> None:
    """The config and a Fama-French file of the panel's factors (untimed)."""
    ff = scan(src).group_by("date").agg(pl.col(FACTORS).first()).sort("date").collect()
    lines = ["synthetic factors of benchmarks/scale.py", "", ",Mkt-RF,SMB,HML,RF"]
    lines += [
        f"{d:%Y%m%d},{m * 100:.6f},{s * 100:.6f},{h * 100:.6f},0.0" for d, m, s, h in ff.iter_rows()
    ]
    (tmp / "ff3_daily.csv").write_text("\r\n".join([*lines, ""]))
    (tmp / "config.toml").write_text(CLI_CONFIG.format(panel=src))


def run_cli(src: str, tmp: Path) -> dict[str, Any]:  # noqa: ARG001
    exe = Path(sys.executable).with_name("polars-factors")
    cmd = [str(exe), "run", str(tmp / "config.toml")]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        msg = f"polars-factors exit {proc.returncode}: {proc.stderr.strip()[-2000:]}"
        raise RuntimeError(msg)
    return {"outputs": len(list((tmp / "out").glob("*.parquet")))}


@dataclass(frozen=True)
class Capability:
    name: str
    what: str
    run: Callable[[str, Path], dict[str, Any]]
    prepare: Callable[[str, Path], None] | None = None  # untimed setup


CAPABILITIES = [
    Capability("baseline", "imports only (peak RSS floor)", run_baseline),
    Capability("io_floor", "scan + sum of every numeric column", run_io_floor),
    Capability("key_check", "`_validate.check_unique_keys` (key ranges)", run_key_check),
    Capability("standardize", "`standardize` 10 cols, mcap; partition sink", run_standardize),
    Capability("zscore", "`zscore` 10 cols, mcap; partition sink", run_zscore),
    Capability(
        "winsorize_rank", "`winsorize` + `rank` 10 cols; partition sink", run_winsorize_rank
    ),
    Capability(
        "cross_section", "`cross_section` WLS, 10 styles + 30 industries", run_cross_section
    ),
    Capability(
        "cross_section_chunked",
        "same, over chunks of dates (`pf.partition.collect`, `build=`)",
        run_cross_section_chunked,
    ),
    Capability(
        "cross_section_huber",
        'same, `method="huber"`, over chunks of dates (`pf.partition.collect`, `build=`)',
        run_cross_section_huber,
    ),
    Capability(
        "betas_rolling", "`betas` window 252, 3 factors; sink by asset (build)", run_betas_rolling
    ),
    Capability(
        "betas_full", "`betas` full sample, 3 factors; collect by asset (build)", run_betas_full
    ),
    Capability(
        "portfolio",
        "quintiles of d0, cap-weighted returns, rank IC; collect by date (build)",
        run_portfolio,
    ),
    Capability(
        "specific_risk", "`specific_risk` hl 84, NW 5; partition sink by asset", run_specific_risk
    ),
    Capability(
        "cli",
        "`polars-factors run CONFIG.toml` (subprocess: its start included; no figures)",
        run_cli,
        prepare_cli,
    ),
]
BY_NAME = {c.name: c for c in CAPABILITIES}


def vm_peak_gb() -> float | None:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmPeak:"):
            return int(line.split()[1]) / 1024**2
    return None


def child(cap: Capability, size: str, data_dir: Path) -> int:
    """Run one capability once; print its JSON line. Its temp folder is deleted."""
    src = panel_glob(data_dir, size)
    (data_dir / "_tmp").mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{cap.name}-{size}-", dir=data_dir / "_tmp"))
    try:
        if cap.prepare is not None:
            cap.prepare(src, tmp)
        start = time.perf_counter()
        extra = cap.run(src, tmp)
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    line = {
        "capability": cap.name,
        "size": size,
        "rows": SIZES[size] * N_ASSETS,
        "seconds": seconds,
        "vm_peak_gb": vm_peak_gb(),
        **extra,
    }
    print(json.dumps(line, default=str))
    return 0


# ------------------------------------------------------------------------- parent


@dataclass
class Measurement:
    capability: str
    size: str
    rows: int
    status: str  # "ok", "failed (exit N)", "killed (memory cap)", "killed (signal N)", ...
    seconds: float | None = None  # the capability (child's clock)
    process_s: float | None = None  # the whole process (time -v), imports included
    peak_gb: float | None = None
    detail: str = ""  # the error's last line; extra numbers of the child
    when: str = ""
    cap: str = ""  # the memory cap it ran under ("cgroup 6 GB", "address-space 12 GB")


def parse_time(text: str) -> tuple[float | None, float | None, int | None]:
    """Peak RSS (GB), elapsed wall (s) and terminating signal from ``time -v`` output."""
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", text)
    sig = re.search(r"Command terminated by signal (\d+)", text)
    elapsed = None
    if wall:
        elapsed = 0.0
        for part in wall.group(1).split(":"):
            elapsed = elapsed * 60 + float(part)
    return (
        int(rss.group(1)) / 1024**2 if rss else None,
        elapsed,
        int(sig.group(1)) if sig else None,
    )


def _status(rc: int, sig: int | None, stderr: str, cap_gb: float | None) -> str:
    capped = cap_gb is not None
    if sig is not None:
        return "killed (memory cap)" if capped and sig in (6, 9, 11) else f"killed (signal {sig})"
    if rc != 0:
        return (
            "killed (memory cap)"
            if capped and MEMORY_ERRORS.search(stderr)
            else f"failed (exit {rc})"
        )
    return "ok"


def memory_cgroup() -> Path | None:
    """This process's cgroup-v1 memory controller directory, if it is writable."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            base = Path("/sys/fs/cgroup/memory") / path.lstrip("/")
            if (base / "memory.limit_in_bytes").exists() and os.access(base, os.W_OK):
                return base
    return None


def cap_kind(args: argparse.Namespace) -> str | None:
    """``"cgroup"``, ``"address-space"`` or None (no cap) for this run."""
    if not args.memory_cap:
        return None
    if args.cap_kind == "auto":
        return "cgroup" if memory_cgroup() is not None else "address-space"
    return str(args.cap_kind)


def _command(
    cap: str, size: str, args: argparse.Namespace, time_file: Path, group: Path | None
) -> list[str]:
    child_args = ["--child", cap, "--size", size, "--data-dir", str(args.data_dir)]
    run = [TIME_BIN, "-v", "-o", str(time_file)]
    if group is not None:
        # The shell joins the cgroup, then becomes ``time``; its children inherit it.
        run = ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(group), *run]
    elif args.memory_cap:
        run = [*run, "prlimit", f"--as={int(args.memory_cap * 1024**3)}"]
    return [*run, sys.executable, __file__, *child_args]


def _new_cgroup(limit_gb: float) -> Path:
    base = memory_cgroup()
    if base is None:
        msg = "--cap-kind cgroup: no writable cgroup-v1 memory controller here"
        raise SystemExit(msg)
    group = base / f"pf_scale_{os.getpid()}_{time.monotonic_ns()}"
    group.mkdir()
    (group / "memory.limit_in_bytes").write_text(str(int(limit_gb * 1024**3)))
    return group


def measure(cap: str, size: str, args: argparse.Namespace) -> Measurement:
    """One fresh child under ``/usr/bin/time -v`` (and ``prlimit`` with a memory cap)."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    m = Measurement(cap, size, SIZES[size] * N_ASSETS, "ok", when=now)
    kind = cap_kind(args)
    group = _new_cgroup(args.memory_cap) if kind == "cgroup" else None
    if kind is not None:
        m.cap = f"{kind} {args.memory_cap:g} GB"
    with tempfile.TemporaryDirectory() as d:
        time_file = Path(d) / "time.txt"
        proc = subprocess.Popen(
            _command(cap, size, args, time_file, group),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # this child's process group only
            out, err = proc.communicate()
            m.status = f"timeout ({args.timeout:g} s)"
        m.peak_gb, m.process_s, sig = parse_time(
            time_file.read_text() if time_file.exists() else ""
        )
    if group is not None:
        group.rmdir()  # empty: its processes have exited
    for left in (args.data_dir / "_tmp").glob(f"{cap}-{size}-*"):  # a killed child's output
        shutil.rmtree(left, ignore_errors=True)
    if m.status == "ok":
        m.status = _status(proc.returncode, sig, err, args.memory_cap)
    _read_answer(m, out, err)
    return m


def _read_answer(m: Measurement, out: str, err: str) -> None:
    """The child's JSON line into ``m`` (or the error's line when it failed)."""
    if m.status == "ok":
        try:
            line = json.loads(out.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            m.status = "failed (no JSON line)"
    if m.status != "ok":
        lines = [ln for ln in err.strip().splitlines() if ln.strip()]
        memory = [ln for ln in lines if MEMORY_ERRORS.search(ln)]
        m.detail = (memory or lines or [""])[-1][:300]
        return
    m.seconds = float(line.pop("seconds"))
    skip = ("capability", "size", "rows")
    m.detail = ", ".join(f"{k}={_fmt(v)}" for k, v in line.items() if k not in skip)
    if err.strip():
        print(f"    [{m.capability} {m.size}] stderr: {err.strip()[-500:]}", file=sys.stderr)


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


# ------------------------------------------------------------------------ results


def load_results(path: Path) -> list[Measurement]:
    if not path.exists():
        return []
    return [Measurement(**r) for r in json.loads(path.read_text())]


def merge_results(path: Path, new: list[Measurement]) -> list[Measurement]:
    """Store ``new``; it replaces the stored runs of the same (capability, size)."""
    keys = {(m.capability, m.size) for m in new}
    old = [m for m in load_results(path) if (m.capability, m.size) not in keys]
    merged = old + new
    path.write_text(json.dumps([asdict(m) for m in merged], indent=1))
    return merged


def summarize(runs: list[Measurement]) -> dict[tuple[str, str], Measurement]:
    """Per (capability, size): best wall and largest peak of the runs; a failure wins."""
    cells: dict[tuple[str, str], Measurement] = {}
    for m in runs:
        key = (m.capability, m.size)
        prev = cells.get(key)
        if prev is None or (m.status != "ok" and prev.status == "ok"):
            cells[key] = m
        elif m.status == "ok" and prev.status == "ok":
            best = m if (m.seconds or 0) < (prev.seconds or 0) else prev
            peak = max(m.peak_gb or 0.0, prev.peak_gb or 0.0)
            cells[key] = Measurement(**{**asdict(best), "peak_gb": peak})
    return cells


def _ratio(a: Measurement | None, b: Measurement | None, field: str) -> str:
    if a is None or b is None or a.status != "ok" or b.status != "ok":
        return "-"
    x, y = getattr(a, field), getattr(b, field)
    return f"{x / y:.2f}" if x and y else "-"


def render(runs: list[Measurement], info: dict[str, str], conditions: str) -> str:
    cells = summarize(runs)
    sizes = [s for s in SIZES if any(k[1] == s for k in cells)]
    caps = [c for c in CAPABILITIES if any(k[0] == c.name for k in cells)]
    growth = [
        (b, a)
        for a, b in (("1.5M", "6M"), ("6M", "24M"), ("24M", "96M"))
        if a in sizes and b in sizes
    ]
    head = (
        "| capability | what | "
        + " | ".join(sizes)
        + "".join(f" | peak {b}/{a}" for b, a in growth)
        + " |"
    )
    lines = [
        (
            "Panels of 3,000 assets x N dates (1.5M = 500, 6M = 2,000, 24M = 8,000, 96M = "
            "32,000 dates), parquet files of 250 dates sorted by date then asset; each "
            "(capability, size) in a fresh process under `/usr/bin/time -v`."
        ),
        "",
        (
            "**Peak RSS (GB)**, `Maximum resident set size` of the process (imports "
            "included, see `baseline`; the `cli` row includes its `polars-factors` "
            "subprocess):"
        ),
        "",
        head,
        "|---|---|" + "---:|" * (len(sizes) + len(growth)),
    ]
    for c in caps:
        row = [_peak_cell(cells.get((c.name, s))) for s in sizes]
        row += [
            _ratio(cells.get((c.name, b)), cells.get((c.name, a)), "peak_gb") for b, a in growth
        ]
        lines.append(f"| `{c.name}` | {c.what} | " + " | ".join(row) + " |")
    lines += [
        "",
        (
            "**Wall (s)** of the capability (child's clock; imports and untimed setup "
            "excluded), then seconds per million rows and the ratio to `io_floor` at the "
            "same size:"
        ),
        "",
        "| capability | " + " | ".join(sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for c in (c for c in caps if c.name != "baseline"):
        row = [_wall_cell(cells.get((c.name, s)), cells.get(("io_floor", s))) for s in sizes]
        lines.append(f"| `{c.name}` | " + " | ".join(row) + " |")
    failures = [m for m in cells.values() if m.status != "ok"]
    if failures:
        lines += ["", "Failures (exit code or signal, last line of stderr):", ""]
        lines += [f"- `{m.capability}` {m.size}: {m.status}: `{m.detail}`" for m in failures]
    capped = [m for m in cells.values() if m.cap]
    if capped:
        lines += ["", "Memory caps (see the module docstring; no cap elsewhere):", ""]
        lines += [f"- `{m.capability}` {m.size}: {m.cap}" for m in capped]
    when = sorted(m.when for m in runs) or ["-"]
    lines += ["", f"Measured {when[0]} to {when[-1]} UTC (repeats: best wall, largest peak)."]
    return bench.report(lines, info, conditions)


def _peak_cell(m: Measurement | None) -> str:
    if m is None:
        return "-"
    return f"{m.peak_gb:.2f}" if m.status == "ok" and m.peak_gb is not None else m.status


def _wall_cell(m: Measurement | None, floor: Measurement | None) -> str:
    if m is None:
        return "-"
    if m.status != "ok" or m.seconds is None:
        return m.status
    cell = f"{m.seconds:.2f} ({m.seconds / (m.rows / 1e6):.2f} s/M"
    if floor is not None and floor.status == "ok" and floor.seconds:
        cell += f", x{m.seconds / floor.seconds:.1f}"
    return cell + ")"


# ---------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1.5M", help=f"comma-separated, of {list(SIZES)}")
    parser.add_argument(
        "--capabilities", default=",".join(BY_NAME), help="comma-separated (default: all)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="fresh processes per cell")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/pf_scale"))
    parser.add_argument(
        "--memory-cap",
        type=float,
        default=None,
        metavar="GB",
        help="cap on each child's memory (see --cap-kind)",
    )
    parser.add_argument(
        "--cap-kind",
        choices=("auto", "cgroup", "address-space"),
        default="auto",
        help="cgroup: memory.limit_in_bytes of a new cgroup-v1 (auto: where writable); "
        "address-space: prlimit --as",
    )
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per child")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="run nothing: print (with --write-results: write) the stored measurements",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="OPENBLAS/OMP/MKL_NUM_THREADS of the children (0: as is)",
    )
    parser.add_argument(
        "--write-results", action="store_true", help="write the stored measurements into RESULTS.md"
    )
    parser.add_argument("--output", type=Path, default=bench.RESULTS, help=argparse.SUPPRESS)
    parser.add_argument("--regenerate", action="store_true", help="rewrite the panels")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.sizes = args.sizes.split(",")
    args.capabilities = args.capabilities.split(",")
    for name, given, known in (
        ("size", args.sizes, SIZES),
        ("capability", args.capabilities, BY_NAME),
    ):
        bad = [x for x in given if x not in known]
        if bad:
            parser.error(f"unknown {name} {bad}; choose from {list(known)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.data_dir = args.data_dir.resolve()
    if args.child == "generate":
        generate(args.data_dir, args.size, reuse=not args.regenerate)
        return 0
    if args.child:
        return child(BY_NAME[args.child], args.size, args.data_dir)
    if not Path(TIME_BIN).exists():
        print(f"{TIME_BIN} is needed (GNU time: apt-get install time)", file=sys.stderr)
        return 2
    if args.render_only:  # the stored measurements, nothing run
        runs = load_results(args.data_dir / "scale_results.json")
        conditions = "rendered from the stored measurements (their conditions not recorded)"
        table = render(runs, bench.machine_info(("polars", "numpy")), conditions)
        bench.publish(table, args.output if args.write_results else None, SECTION, HEADER)
        return 0
    print(f"children: {bench.set_blas_threads(args.blas_threads)}", flush=True)
    for size in args.sizes:
        ensure_panel(args.data_dir, size, regenerate=args.regenerate)
    conditions = bench.Conditions()
    new: list[Measurement] = []
    for r in range(args.repeat):
        for size in args.sizes:
            for cap in args.capabilities:
                m = measure(cap, size, args)
                new.append(m)
                wall = f"{m.seconds:8.2f} s" if m.seconds is not None else " " * 10
                peak = f"{m.peak_gb:6.2f} GB" if m.peak_gb is not None else ""
                print(
                    f"  round {r + 1} {size:>5} {cap:20s} {wall} {peak}  {m.status}"
                    + ("" if m.status == "ok" else f": {m.detail}"),
                    flush=True,
                )
    # `tiny` is a smoke size: shown, never stored (nor written to RESULTS.md)
    stored = [m for m in new if m.size != "tiny"]
    runs = merge_results(args.data_dir / "scale_results.json", stored)
    runs += [m for m in new if m.size == "tiny"]
    table = render(runs, bench.machine_info(("polars", "numpy")), conditions.describe())
    bench.publish(table, args.output if args.write_results else None, SECTION, HEADER)
    return 0


if __name__ == "__main__":
    sys.exit(main())
