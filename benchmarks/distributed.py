"""Benchmark: ``pf.distributed`` in process and on a Dask LocalCluster, with a projection.

Spec (the distributed issue): a 24M-row panel (6,000 dates x 4,000 assets) in 40 parquet
files, in both layouts: split by date (the files as generated, 150 dates each) and split
by asset (``pf.distributed.layout(..., by="asset")``, 100 assets each). Each case runs
in process (``executor=None``) and on a ``pf.distributed.local_cluster(2,
threads_per_worker=1, polars_threads=1)``, on the same files in the same run:

- ``cs_date``, ``cs_asset``: ``pf.distributed.cross_section`` WLS of ``ret`` on 10
  styles, 30 industries and a country factor with weights ``w`` (sqrt cap), residuals
  written (``residuals_path=``), on the date files and on the asset files;
- ``standardize``: ``sink_parquet`` of ``partial(pf.standardize, columns=styles,
  weights="w", check_keys=False)`` on the date files;
- ``betas``: ``sink_parquet`` of ``partial(pf.betas, returns="ret", factors=["mkt",
  "smb", "hml"], window=60)`` on the asset files;
- ``overhead``: 400 no-op tasks through ``run_tasks`` (in process and on the cluster),
  the per-call version check (``check_workers``) and the rate at which a result frame
  reaches the client.

How it measures. Every (case, mode) is a fresh child process (``--child CASE --mode
MODE``); the parent stays small (Linux carries a parent's peak RSS into a child's
``ru_maxrss``). A cluster child starts its own cluster first, while it is still small
(the nannies, scheduler and spawned workers start from its imports only), waits for the
workers and warms them up (a tiny cross-section, standardize and betas on each, so that
the lazy imports are not timed); the in-process child runs the same warm-up. Then the
clock runs around the library call only. Peaks: the child's ``ru_maxrss`` (with a
cluster it also holds the scheduler and the nannies of the LocalCluster, which run in
the client process), and each worker's ``ru_maxrss`` read with ``client.run`` after the
call (a fresh cluster per measurement, so no restart is needed; the workers' idle
figure after the warm-up is shown too). On the cluster the library gets a timing
wrapper of its own mapper, ``resolve_executor(client)`` (a ``DaskMapper``: the workers'
versions checked, at most ``max(2 x workers, 4)`` tasks submitted and not yet read, each
result released once read), built inside the timed region so that the version check is
timed as with ``executor=client``; it passes the library's ``_call`` through and
records, per map, the tasks' own compute time on the workers, the client's time between
results, the size of the results and of a pickled task (and of the shared solution
file that the residual tasks of asset files read). The library's reduce of the cell
sums (``_cross_section._reduce``) is wrapped too, in the cluster children only: its
time after each table (a merge, or only a list append), the tables' heights, and its
end, so that the solve is the time from the end of the reduce to the residual map.

After each case its cluster result is compared with the in-process one (factor returns:
max abs difference <= ``--tolerance``, default 1e-12; the residual and sink output files
part by part: max ``|a - b| / max(1, |b|)`` <= ``--output-tolerance``, default 1e-9, and
the same nulls), and the factor returns of both with those of the plain in-process
``pf.cross_section`` of the date files. If one fails, nothing is written.

The projection to ``--project-rows`` (500M) rows on ``--project-workers`` (32) workers
is arithmetic on the measured per-task costs (see :func:`project` and the section of
``RESULTS.md``): worker seconds per row of each map, the per-task overhead, the client's
reduce per merge and per merged row, the solve per date, the result and task sizes per
cell or date, and the transfer rate of a result frame to the client; for the asset
files also with the tasks grouped to two per worker (``rows=``).

Usage (from the repository root)::

    python benchmarks/distributed.py --quick    # 1.2M rows / 8 files, ~40 s, prints only
    python benchmarks/distributed.py            # 24M rows / 40 files, writes RESULTS.md

The first full run writes ~2 x 2 GB of parquet under ``benchmarks/data/distributed/``
(reused afterwards; ``--regenerate`` rewrites it) and needs ~6 GB of free disk for the
outputs of one case at a time (deleted after its check). ``--output FILE`` writes the
section to another file (e.g. a copy of ``RESULTS.md``); a quick run, another
``--shape`` or a subset of ``--cases`` print only unless it is given. A failed check
prints the tables but writes nothing and exits with 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import functools
import json
import logging
import os
import pickle
import resource
import shutil
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _harness as bench  # benchmarks/_harness.py
import numpy as np
import polars as pl

import polars_factors as pf
from polars_factors.distributed import Dataset
from polars_factors.distributed import _cross_section as cs_impl
from polars_factors.distributed._tasks import Task, Versions, resolve_executor, run_tasks

# This file has the name of Dask's `distributed` package, and running it as a script puts
# its folder first on sys.path: `import distributed` (by `dask.distributed`, and in the
# spawned workers, which inherit sys.path) would find this file. Move the folder last.
sys.path.sort(key=lambda p: Path(p or os.curdir).resolve() == bench.HERE)

SEED = 20261208
GEN_VERSION = 1  # bump when the generator changes: the files on disk are then rewritten
STYLES = [f"s{i}" for i in range(10)]
FACTORS = ["mkt", "smb", "hml"]
N_INDUSTRIES = 30
WINDOW = 60
FULL = (6_000, 4_000, 40)  # dates, assets, files
QUICK = (600, 2_000, 8)
DATA = bench.DATA_DIR / "distributed"
SECTION = "distributed"
HEADER = "## `distributed.py`: `pf.distributed` in process and on a Dask LocalCluster\n\n"
TRANSFER_ROWS = 1_000_000  # x 8 Float64 columns: a 64 MB result frame
MODES = ("local", "cluster")


# --------------------------------------------------------------------------- data


def panel_dir(shape: tuple[int, int, int]) -> Path:
    dates, assets, files = shape
    return DATA / f"{dates}x{assets}_{files}files_seed{SEED}"


def _traits(n_assets: int) -> dict[str, np.ndarray]:
    """What is fixed per asset: industry, factor betas, weight (sqrt of a lognormal cap)."""
    rng = np.random.default_rng([SEED, 0])
    return {
        "industry": rng.integers(0, N_INDUSTRIES, n_assets),
        "beta": rng.normal([1.0, 0.0, 0.0], [0.3, 0.5, 0.5], (n_assets, 3)),
        "w": np.sqrt(rng.lognormal(np.log(2e9), 1.5, n_assets)),
    }


def _file(index: int, dates: pl.Series, traits: dict[str, np.ndarray]) -> pl.DataFrame:
    """One date file: ``len(dates)`` dates x all assets, sorted by date then asset.

    ``ret`` = betas x (mkt, smb, hml) + an industry return + 0.002 (s0 + s1/2 - s2/2 +
    s3/4) + noise whose variance is ~1/w; 0.2% of the returns are null.
    """
    rng = np.random.default_rng([SEED, 1, index])
    nd, na = len(dates), len(traits["w"])
    n = nd * na
    day = np.repeat(np.arange(nd), na)
    s = rng.standard_normal((len(STYLES), n))
    f = rng.normal([3e-4, 0.0, 0.0], [0.01, 0.005, 0.005], (nd, 3))
    ind_ret = rng.normal(0.0, 0.005, (nd, N_INDUSTRIES))
    ind = np.tile(traits["industry"], nd)
    w = np.tile(traits["w"], nd)
    noise = 0.015 * np.sqrt(np.median(traits["w"]) / w) * rng.standard_normal(n)
    ret = (np.tile(traits["beta"], (nd, 1)) * f[day]).sum(axis=1) + ind_ret[day, ind]
    ret += 0.002 * (s[0] + 0.5 * s[1] - 0.5 * s[2] + 0.25 * s[3]) + noise
    ret[rng.random(n) < 0.002] = np.nan
    assets = pl.Series("asset", [f"A{i:05d}" for i in range(na)])
    industries = pl.Series("industry", [f"IND{k:02d}" for k in range(N_INDUSTRIES)])
    return pl.DataFrame(
        {
            "date": dates.gather(day),
            "asset": assets.gather(np.tile(np.arange(na), nd)),
            **{c: s[i] for i, c in enumerate(STYLES)},
            "industry": industries.gather(ind),
            "ret": pl.Series(ret, nan_to_null=True),
            "w": w,
            **{c: f[day, j] for j, c in enumerate(FACTORS)},
        }
    )


def generate(shape: tuple[int, int, int], folder: Path) -> None:
    """Write the date files one at a time (bounded memory: one file's rows)."""
    n_dates, n_assets, n_files = shape
    per_file = n_dates // n_files
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    dates = bench.weekdays(dt.date(2000, 1, 3), n_dates)
    traits = _traits(n_assets)
    for i in range(n_files):
        frame = _file(i, dates[i * per_file : (i + 1) * per_file], traits)
        tmp = folder / f"part-{i:05d}.tmp"
        frame.write_parquet(tmp, row_group_size=max(frame.height // 4, 1))
        tmp.replace(folder / f"part-{i:05d}.parquet")


def _meta(shape: tuple[int, int, int]) -> dict[str, Any]:
    return {"version": GEN_VERSION, "seed": SEED, "shape": list(shape)}


def _folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.glob("*.parquet")) / 1024**2


def ensure_panel(
    h: bench.Harness, shape: tuple[int, int, int], *, regenerate: bool
) -> dict[str, Any]:
    """Generate the date files and lay out the asset files in children, unless on disk."""
    root = panel_dir(shape)
    meta_path = root / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    complete = len(list((root / "by_date").glob("*.parquet"))) == shape[2]
    if regenerate or not complete or {k: meta.get(k) for k in _meta(shape)} != _meta(shape):
        print(f"generating {root / 'by_date'} ...", flush=True)
        start = time.perf_counter()
        h.spawn("--child", "generate", "--shape", *map(str, shape))
        meta = {**_meta(shape), "generate_s": time.perf_counter() - start}
        meta_path.write_text(json.dumps(meta))
        print(f"  done in {meta['generate_s']:.1f} s", flush=True)
    if "layout" not in meta or not (root / "datasets.pkl").exists():
        print(f"laying out {root / 'by_asset'} (pf.distributed.layout, by='asset') ...")
        meta["layout"] = h.spawn("--child", "prepare", "--shape", *map(str, shape))
        meta_path.write_text(json.dumps(meta))
        print(f"  done in {meta['layout']['layout_s']:.1f} s", flush=True)
    meta["date_mb"] = _folder_mb(root / "by_date")
    meta["asset_mb"] = _folder_mb(root / "by_asset")
    return meta


def prepare(shape: tuple[int, int, int]) -> dict[str, Any]:
    """Child: the asset layout and both checked datasets (pickled for the case children)."""
    root = panel_dir(shape)
    rows_per_file = shape[0] * shape[1] // shape[2]
    start = time.perf_counter()
    by_asset = pf.distributed.layout(
        root / "by_date", root / "by_asset", by="asset", rows=rows_per_file
    )
    layout_s = time.perf_counter() - start
    start = time.perf_counter()
    by_date = pf.distributed.dataset(root / "by_date", by="date")
    check_s = time.perf_counter() - start
    with (root / "datasets.pkl").open("wb") as f:
        pickle.dump({"date": by_date, "asset": by_asset}, f)
    return {
        "layout_s": layout_s,
        "layout_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "check_date_s": check_s,
        "date_files": len(by_date.parts),
        "asset_files": len(by_asset.parts),
    }


def load_datasets(shape: tuple[int, int, int]) -> dict[str, Dataset]:
    with (panel_dir(shape) / "datasets.pkl").open("rb") as f:
        out: dict[str, Dataset] = pickle.load(f)
    return out


# --------------------------------------------------------------------------- cases


def run_cs(ds: Dataset, out: Path, executor: object) -> pl.DataFrame:
    res = pf.distributed.cross_section(
        ds, "ret", STYLES, industry="industry", country=True, weights="w", method="wls",
        residuals_path=out / "residuals", executor=executor,
    )  # fmt: skip
    return res.factor_returns.collect()


def run_standardize(ds: Dataset, out: Path, executor: object) -> pf.partition.SinkReport:
    build = functools.partial(pf.standardize, columns=STYLES, weights="w", check_keys=False)
    return pf.distributed.sink_parquet(ds, out / "output", build=build, executor=executor)


def run_betas(ds: Dataset, out: Path, executor: object) -> pf.partition.SinkReport:
    build = functools.partial(pf.betas, returns="ret", factors=FACTORS, window=WINDOW)
    return pf.distributed.sink_parquet(ds, out / "output", build=build, executor=executor)


@dataclass(frozen=True)
class Case:
    name: str
    what: str
    layout: str  # which files: "date" or "asset"
    run: Callable[[Dataset, Path, object], Any]

    @property
    def regression(self) -> bool:
        return self.run is run_cs


CASES = {
    c.name: c
    for c in (
        Case("cs_date", "`cross_section` WLS + industries + country, residuals", "date", run_cs),
        Case("cs_asset", "the same on the asset files", "asset", run_cs),
        Case("standardize", "`sink_parquet`, `standardize` 10 styles, w", "date", run_standardize),
        Case(
            "betas", f"`sink_parquet`, rolling `betas` 3 factors, {WINDOW} days", "asset", run_betas
        ),
    )
}


# ------------------------------------------------------------------ worker side


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _warm() -> int:
    """Import and run every function once on a tiny panel (lazy imports are not timed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lf = pf.datasets.synthetic_panel(n_dates=70, n_assets=30, seed=1).panel.lazy()
        pf.cross_section(
            lf, "returns", ["style_1"], industry="industry", country=True, weights="mcap"
        ).factor_returns.collect()
        pf.standardize(lf, ["style_1"], weights="mcap", check_keys=False).collect()
        pf.betas(lf, "returns", ["style_1"], window=WINDOW).collect()
    return os.getpid()


def _timed_call(fn: Callable[[Any], Any], item: Any) -> tuple[Any, float, int, int]:
    """Run one task; its compute time on the worker and the size of its frame result."""
    start = time.perf_counter()
    out = fn(item)
    seconds = time.perf_counter() - start
    value = getattr(out, "value", None)
    if isinstance(value, pl.DataFrame):
        return out, seconds, value.height, int(value.estimated_size())
    return out, seconds, 0, 0


def _transfer_frame(rows: int) -> pl.DataFrame:
    return pl.select(pl.int_range(rows, dtype=pl.Int64).cast(pl.Float64).alias("c0")).select(
        pl.col("c0").alias(f"c{i}") for i in range(8)
    )


# ------------------------------------------------------------------ client side


@dataclass
class MapRecord:
    """One ``map`` of the library through :class:`TimedMapper` (times from the call start)."""

    start: float
    tasks: int
    sent_bytes: int  # one pickled task (the first)
    shared_bytes: int = 0  # the shared solution file the residual tasks read (asset files)
    end: float = 0.0
    steps: list[float] = field(default_factory=list)  # the consumer's time after each result
    task_s: list[float] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    bytes: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "client_s": sum(self.steps)}


class TimedMapper:
    """The library's Dask mapper (``resolve_executor(client)``: the workers' versions
    checked, tasks a few ahead, each result released once read), timed: its maps
    record what :class:`MapRecord` holds.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self._inner = resolve_executor(client)
        self.maps: list[MapRecord] = []
        self.origin = time.perf_counter()
        self.instrument_s = 0.0  # pickling the first task to size it: not the library's

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> Iterator[Any]:
        import cloudpickle  # noqa: PLC0415  (Dask's serializer; only needed here)

        (items,) = iterables
        tasks = list(items)
        start = time.perf_counter()
        sent = len(cloudpickle.dumps(tasks[0])) if tasks else 0
        shared = getattr(getattr(tasks[0], "work", None), "solution", None) if tasks else None
        shared_bytes = Path(shared).stat().st_size if isinstance(shared, str) else 0
        self.instrument_s += time.perf_counter() - start
        rec = MapRecord(start - self.origin, len(tasks), sent, shared_bytes)
        self.maps.append(rec)
        results = self._inner.map(functools.partial(_timed_call, fn), tasks)
        return self._iterate(results, rec)

    def _iterate(self, results: Iterator[Any], rec: MapRecord) -> Iterator[Any]:
        for outcome, seconds, rows, nbytes in results:
            rec.task_s.append(seconds)
            rec.rows.append(rows)
            rec.bytes.append(nbytes)
            t0 = time.perf_counter()
            yield outcome
            rec.steps.append(time.perf_counter() - t0)
        rec.end = time.perf_counter() - self.origin


@dataclass
class ReduceRecord:
    """One call of the library's reduce of the cell sums (times from the call start)."""

    start: float
    streamed: bool  # the tables came while the map ran (not a list of every result)
    end: float = 0.0
    heights: list[int] = field(default_factory=list)  # each table's rows, in order
    steps: list[float] = field(default_factory=list)  # the reduce's time after each table
    tail_s: float = 0.0  # after the last table: the merge of the tables left, the sort
    cells: int = 0  # rows of the summed table


class TimedReduce:
    """``_cross_section._reduce`` (which ``cross_section`` looks up at each call), timed.

    Its time after each table (up to its next read) is a merge when the waiting tables
    reached the total's rows, else a list append; waiting for a table is not counted.
    """

    def __init__(self, inner: Callable[..., pl.DataFrame]) -> None:
        self.inner = inner
        self.origin = time.perf_counter()
        self.records: list[ReduceRecord] = []

    def __call__(self, parts: Iterable[pl.DataFrame], model: Any) -> pl.DataFrame:
        rec = ReduceRecord(time.perf_counter() - self.origin, not isinstance(parts, Sequence))
        self.records.append(rec)
        fed = [0.0]

        def feed() -> Iterator[pl.DataFrame]:
            for part in parts:
                rec.heights.append(part.height)
                t0 = time.perf_counter()
                yield part
                rec.steps.append(time.perf_counter() - t0)
            fed[0] = time.perf_counter()

        total = self.inner(feed(), model)
        now = time.perf_counter()
        rec.tail_s, rec.end, rec.cells = now - fed[0], now - self.origin, total.height
        return total


def start_cluster(workers: int) -> tuple[Any, Any, dict[str, Any]]:
    """A LocalCluster of ``workers`` processes (1 thread, 1 Polars thread), warmed up."""
    from distributed import Client  # noqa: PLC0415  (not in the in-process children)

    start = time.perf_counter()
    cluster = pf.distributed.local_cluster(
        workers, threads_per_worker=1, polars_threads=1, silence_logs=logging.ERROR
    )
    client = Client(cluster)
    client.wait_for_workers(workers)
    info: dict[str, Any] = {"start_s": time.perf_counter() - start}
    threads = pf.distributed.check_workers(client)["polars_threads"].to_list()
    if threads != [1] * workers:
        msg = f"the workers' Polars thread pools are {threads}, not 1 each"
        raise RuntimeError(msg)
    client.run(_warm)
    info["worker_idle_mb"] = sorted(client.run(_maxrss_mb).values())
    return cluster, client, info


def child_case(case: Case, mode: str, args: argparse.Namespace) -> dict[str, Any]:
    ds = load_datasets(tuple(args.shape))[case.layout]
    out: Path = args.out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    cluster = client = None
    info: dict[str, Any] = {}
    executor: TimedMapper | None = None
    reduce = TimedReduce(cs_impl._reduce)
    if mode == "cluster":
        cluster, client, info = start_cluster(args.workers)
        cs_impl._reduce = reduce  # this child only (a fresh process per case and mode)
    else:
        _warm()
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    if client is not None:  # the version check (resolve_executor) is timed
        executor = TimedMapper(client)
        executor.origin = reduce.origin = start
    result = case.run(ds, out, executor)
    seconds = time.perf_counter() - start - (executor.instrument_s if executor else 0.0)
    after = resource.getrusage(resource.RUSAGE_SELF)
    if client is not None:
        info["worker_peak_mb"] = sorted(client.run(_maxrss_mb).values())
        info["maps"] = [m.summary() for m in executor.maps]  # type: ignore[union-attr]
        if reduce.records:
            info["reduce"] = dataclasses.asdict(reduce.records[0])
        client.close()
        cluster.close()
    if isinstance(result, pl.DataFrame):
        result.write_parquet(out / "factor_returns.parquet")
        info["dates"] = result["date"].n_unique()
        info["factors"] = result["factor"].n_unique()
    else:
        info["tasks"], info["out_rows"] = result.n_chunks, result.n_rows
    return {
        "seconds": seconds,
        "user_s": after.ru_utime - before.ru_utime,
        "sys_s": after.ru_stime - before.ru_stime,
        "peak_mb": after.ru_maxrss / 1024,
        "rows": ds.n_rows,
        "files": len(ds.parts),
        **info,
    }


def child_overhead(args: argparse.Namespace) -> dict[str, Any]:
    """No-op tasks in process and on the cluster, the version check, the result transfer."""
    from distributed import wait  # noqa: PLC0415

    n = args.noop_tasks
    versions = Versions.here()

    def tasks(offset: int, count: int) -> list[Task[int]]:
        # Distinct arguments: the sums below check that every task ran once.
        return [Task(functools.partial(int, offset + i), versions) for i in range(count)]

    start = time.perf_counter()
    assert sum(run_tasks(None, tasks(0, n))) == n * (n - 1) // 2
    local_s = time.perf_counter() - start
    cluster, client, info = start_cluster(args.workers)
    checks = []
    for _ in range(5):
        start = time.perf_counter()
        mapper = resolve_executor(client)  # check_workers, then a DaskMapper
        checks.append(time.perf_counter() - start)
    list(run_tasks(mapper, tasks(10 * n, 20)))  # warm-up
    start = time.perf_counter()
    assert sum(run_tasks(mapper, tasks(0, n))) == n * (n - 1) // 2
    cluster_s = time.perf_counter() - start
    rates = []
    for _ in range(3):
        fut = client.submit(_transfer_frame, TRANSFER_ROWS, pure=False)
        wait(fut)
        start = time.perf_counter()
        frame = fut.result()
        rates.append(frame.estimated_size() / 1024**2 / (time.perf_counter() - start))
        del fut, frame
    client.close()
    cluster.close()
    return {
        "tasks": n,
        "local_task_s": local_s / n,
        "cluster_task_s": cluster_s / n,
        "check_s": statistics.median(checks),
        "transfer_mb_s": max(rates),
        "start_s": info["start_s"],
        "worker_idle_mb": info["worker_idle_mb"],
        "peak_mb": _maxrss_mb(),
    }


# ------------------------------------------------------------------ cross-checks


def _max_diff(a: pl.Series, b: pl.Series) -> tuple[float, float, int]:
    """Max |a - b|, max |a - b| / max(1, |b|), and the rows whose nulls differ."""
    nulls = int((a.is_null() != b.is_null()).sum())
    d = (a - b).abs()
    scaled = d / b.abs().clip(lower_bound=1.0)
    return float(d.max() or 0.0), float(scaled.max() or 0.0), nulls


def compare_parts(left: Path, right: Path) -> dict[str, float]:
    """Two output folders of the same tasks, file by file (one pair in memory at a time)."""
    files = sorted(p.name for p in left.glob("*.parquet"))
    if files != sorted(p.name for p in right.glob("*.parquet")) or not files:
        msg = f"{left} and {right} hold different files"
        raise AssertionError(msg)
    worst = {"abs": 0.0, "scaled": 0.0, "null_mismatch": 0.0}
    for name in files:
        a, b = pl.read_parquet(left / name), pl.read_parquet(right / name)
        if a.schema != b.schema or a.height != b.height:
            msg = f"{name}: schema or height differs"
            raise AssertionError(msg)
        for col, dtype in a.schema.items():
            if not dtype.is_float():
                if not a[col].equals(b[col]):
                    msg = f"{name}: column {col} differs"
                    raise AssertionError(msg)
                continue
            ab, sc, nulls = _max_diff(a[col], b[col])
            worst["abs"] = max(worst["abs"], ab)
            worst["scaled"] = max(worst["scaled"], sc)
            worst["null_mismatch"] += nulls
    return worst


def compare_factor_returns(a: pl.DataFrame, b: pl.DataFrame) -> float:
    """Max abs difference of the factor returns on the same (date, factor) rows."""
    keys = ["date", "factor"]
    if a.height != b.height:
        msg = f"factor returns: {a.height} rows against {b.height}"
        raise AssertionError(msg)
    both = a.join(b, on=keys, how="full", coalesce=True, nulls_equal=True)
    if both.height != a.height:
        msg = "factor returns: the (date, factor) rows differ"
        raise AssertionError(msg)
    ab, _, nulls = _max_diff(both["factor_return"], both["factor_return_right"])
    if nulls:
        msg = f"factor returns: {nulls} rows null on one side only"
        raise AssertionError(msg)
    return ab


def reference(shape: tuple[int, int, int], work: Path) -> tuple[pl.DataFrame, float]:
    """The plain in-process ``pf.cross_section`` of the date files (computed once a run)."""
    path = work / "reference_factor_returns.parquet"
    if path.exists():
        return pl.read_parquet(path), json.loads(path.with_suffix(".json").read_text())
    start = time.perf_counter()
    fr = pf.cross_section(
        pl.scan_parquet(panel_dir(shape) / "by_date" / "*.parquet"), "ret", STYLES,
        industry="industry", country=True, weights="w", check_keys=False,
    ).factor_returns.collect()  # fmt: skip
    seconds = time.perf_counter() - start
    fr.write_parquet(path)
    path.with_suffix(".json").write_text(json.dumps(seconds))
    return fr, seconds


def child_compare(case: Case, args: argparse.Namespace) -> dict[str, float]:
    work: Path = args.out
    local, cluster = work / f"{case.name}-local", work / f"{case.name}-cluster"
    if not case.regression:
        d = compare_parts(local / "output", cluster / "output")
        return {"output scaled": d["scaled"], "output nulls": d["null_mismatch"]}
    fr_l = pl.read_parquet(local / "factor_returns.parquet")
    fr_c = pl.read_parquet(cluster / "factor_returns.parquet")
    ref, ref_s = reference(tuple(args.shape), work)
    res = compare_parts(local / "residuals", cluster / "residuals")
    return {
        "factor_return local vs cluster": compare_factor_returns(fr_l, fr_c),
        "factor_return cluster vs pf.cross_section": compare_factor_returns(fr_c, ref),
        "factor_return local vs pf.cross_section": compare_factor_returns(fr_l, ref),
        "residual scaled": res["scaled"],
        "residual nulls": res["null_mismatch"],
        "reference_s": ref_s,
    }


def check(case: str, diffs: dict[str, float], args: argparse.Namespace) -> list[str]:
    """The checks of ``case`` that failed (factor returns: ``--tolerance``, absolute;
    residuals and outputs: ``--output-tolerance``, scaled; nulls: none may differ)."""
    bad = {
        k: v
        for k, v in diffs.items()
        if (k.startswith("factor_return") and not v <= args.tolerance)
        or (k.endswith("scaled") and not v <= args.output_tolerance)
        or (k.endswith("nulls") and v != 0)
    }
    return [f"{case}: {k} = {v:g}" for k, v in bad.items()]


# --------------------------------------------------------------------- projection


@dataclass(frozen=True)
class Shape:
    rows: int
    dates: int
    workers: int
    tasks: int
    cells: int  # (date, industry) cells of the panel

    @property
    def rows_per_task(self) -> float:
        return self.rows / self.tasks


def task_cells(shape: Shape, *, by_asset: bool) -> float:
    """Cell rows of a task's table: its dates' cells (date files), or for asset files
    every date times the industries its assets cover (each asset's industry drawn
    uniformly, as in this panel: ``K (1 - (1 - 1/K)^assets)`` per date)."""
    if not by_asset:
        return shape.cells / shape.tasks
    assets = shape.rows / shape.dates / shape.tasks
    return shape.dates * N_INDUSTRIES * (1.0 - (1.0 - 1.0 / N_INDUSTRIES) ** assets)


def reduce_merges(heights: list[float], cells: float, *, by_asset: bool) -> list[tuple[int, float]]:
    """The merges of the client's reduce (``_cross_section._reduce``): (step, rows).

    The tables wait in a list; once they hold as many rows as the running total, the
    total and they are concatenated and grouped (``rows``: the total plus the waiting
    tables; the first table alone makes the first total). Step ``i``: after table
    ``i``; ``len(heights)``: after the last one (the tables left). The total is the
    distinct cells seen: date files hold disjoint cells (the sum of the tables),
    asset files overlap (each table an independent share ``h / cells`` of the cells).
    """
    out: list[tuple[int, float]] = []
    total: float | None = None
    waiting, seen, missed = 0.0, 0.0, 1.0
    for i, h in enumerate(heights):
        waiting += h
        seen += h
        missed *= max(0.0, 1.0 - h / cells)
        if total is None or waiting >= total:
            out.append((i, (total or 0.0) + waiting))
            total, waiting = (cells * (1.0 - missed) if by_asset else min(seen, cells)), 0.0
    if waiting and total is not None:
        out.append((len(heights), total + waiting))
    return out


def fit_reduce(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least squares ``merge seconds = a + b x rows`` (a, b >= 0) over the merges."""
    x = np.array([p[0] for p in points])
    y = np.array([p[1] for p in points])
    if len(x) > 1 and np.ptp(x) > 0:
        b, a = np.polyfit(x, y, 1)
        if b < 0:
            return float(y.mean()), 0.0
        if a >= 0:
            return float(a), float(b)
    return 0.0, float((x * y).sum() / (x * x).sum())


def reduce_points(runs: dict[tuple[str, str], list[dict[str, Any]]]) -> list[tuple[float, float]]:
    """(rows, seconds) of every merge inside the reduce's loop, in the cross-section
    cluster runs (the merge of the tables left after the last one is timed with the
    final sort: not a point)."""
    points = []
    for name in (c for c in CASES if CASES[c].regression and (c, "cluster") in runs):
        for run in runs[name, "cluster"]:
            red = run["reduce"]
            merges = reduce_merges(
                red["heights"], red["cells"], by_asset=CASES[name].layout == "asset"
            )
            points += [(rows, red["steps"][i]) for i, rows in merges if i < len(red["steps"])]
    return points


def ahead(workers: int) -> int:
    """Tasks the library's ``DaskMapper`` keeps submitted and not yet read."""
    return max(2 * workers, 4)


def _map_terms(m: dict[str, Any], rows: int) -> dict[str, float]:
    task_s = sum(m["task_s"])
    return {
        "kappa": task_s / rows,  # worker seconds per row
        "table_rows": statistics.mean(m["rows"]) if m["rows"] else 0.0,
        "bytes_per_row": (sum(m["bytes"]) / sum(m["rows"])) if sum(m["rows"]) else 0.0,
        "wall": m["end"] - m["start"],
        "task_s": task_s,
        "client_s": m["client_s"],
        "sent_bytes": m["sent_bytes"],
    }


def project(
    case: Case,
    run: dict[str, Any],
    ovh: dict[str, Any],
    here: Shape,
    there: Shape,
    *,
    fit: tuple[float, float],
) -> dict[str, float]:
    """Seconds of each term of the model at ``there``, from the run measured at ``here``.

    Sinks: T = F + N' tau + R' kappa / W'. Cross-section, with ``fit`` = (a, b) of the
    merges and M' merges of S' rows in all (:func:`reduce_merges` at ``there``):
    T = F + max(N' tau + R' kappa1 / W', N' b' / B) + M' a + b S' + sigma D'
        + N' (tau + s' / B) + R' kappa2 / W'
    when the library hands the reduce the list of every result (as measured now); if
    the measured reduce got the results as they came, M' a + b S' joins N' b' / B
    inside the max.
    """
    tau, fixed, rate = ovh["cluster_task_s"], ovh["check_s"], ovh["transfer_mb_s"] * 1024**2
    maps = [_map_terms(m, run["rows"]) for m in run["maps"]]
    n, w, r = there.tasks, there.workers, there.rows
    out = {"fixed": fixed, "overhead": n * tau, "map": r * maps[0]["kappa"] / w}
    if not case.regression:
        out["total"] = sum(out.values())
        out["kappa1"] = maps[0]["kappa"]
        return out
    by_asset = case.layout == "asset"
    red = run["reduce"]
    table_p = task_cells(there, by_asset=by_asset)  # cell rows per task result
    merges = reduce_merges([table_p] * n, there.cells, by_asset=by_asset)
    a, b = fit
    solve_s = run["maps"][1]["start"] - red["end"]
    if by_asset:  # a residual task names the shared solution file: it carries no solution
        sent_p = float(maps[1]["sent_bytes"])
        shared_p = run["maps"][1]["shared_bytes"] / here.dates * there.dates
    else:  # the slim solution of its dates
        sent_p = maps[1]["sent_bytes"] / (here.dates / here.tasks) * (there.dates / n)
        shared_p = 0.0
    cell_bytes = maps[0]["bytes_per_row"]
    out["fetch"] = n * table_p * cell_bytes / rate
    out["reduce"] = len(merges) * a + b * sum(rows for _, rows in merges)
    out["solve"] = solve_s / here.dates * there.dates
    out["ship"] = n * sent_p / rate
    out["overhead2"] = n * tau
    out["map2"] = r * maps[1]["kappa"] / w
    worker = out["overhead"] + out["map"]
    streamed = bool(red["streamed"])
    client = out["fetch"] + (out["reduce"] if streamed else 0.0)
    out["total"] = (
        fixed
        + max(client, worker)
        + (0.0 if streamed else out["reduce"])
        + out["solve"]
        + out["ship"]
        + out["overhead2"]
        + out["map2"]
    )
    out |= {
        "kappa1": maps[0]["kappa"],
        "kappa2": maps[1]["kappa"],
        "sigma": solve_s / here.dates,
        "merges": len(merges),
        "merged_rows": sum(rows for _, rows in merges),
        "table_rows": table_p,
        "table_mb": table_p * cell_bytes / 1024**2,
        "sent_mb": sent_p / 1024**2,
        "shared_mb": shared_p / 1024**2,
        "cells_mb": there.cells * cell_bytes / 1024**2,  # the client's summed table
        "results_gb": n * table_p * cell_bytes / 1024**3,  # every table of the map
        "ahead_gb": min(ahead(w), n) * table_p * cell_bytes / 1024**3,  # on the cluster
        "streamed": float(streamed),
    }
    return out


# ------------------------------------------------------------------------ report


def _mb_list(values: list[float]) -> str:
    return " / ".join(f"{v:,.0f}" for v in values)


def render(
    *,
    shape: tuple[int, int, int],
    meta: dict[str, Any],
    runs: dict[tuple[str, str], list[dict[str, Any]]],
    ovh: dict[str, Any],
    diffs: dict[str, dict[str, float]],
    args: argparse.Namespace,
) -> list[str]:
    dates, assets, files = shape
    rows = dates * assets
    lay = meta["layout"]
    lines = [
        (
            f"Panel: {dates:,} dates x {assets:,} assets = {rows:,} rows: date, asset, 10 styles "
            f"s0..s9, industry (String, {N_INDUSTRIES}), ret (0.2% null), w (sqrt cap), mkt, smb, "
            f"hml. Date files: {lay['date_files']} files of {dates // files} dates as generated "
            f'({meta["date_mb"]:,.0f} MB); asset files: `pf.distributed.layout(..., by="asset", '
            f"rows={rows // files:,})` wrote {lay['asset_files']} files ({meta['asset_mb']:,.0f} "
            f"MB) in {lay['layout_s']:.1f} s, peak {lay['layout_peak_mb']:,.0f} MB (checking the "
            f'date files with `pf.distributed.dataset(..., by="date")`: {lay["check_date_s"]:.2f} '
            "s). One task per file."
        ),
        "",
        (
            "Each (case, mode) in a fresh process. `in-process`: `executor=None` (tasks one after "
            f"another, Polars thread pool of {pl.thread_pool_size()}). `cluster`: the process "
            f"first starts `pf.distributed.local_cluster({args.workers}, threads_per_worker=1, "
            f"polars_threads=1)` (not timed: {ovh['start_s']:.1f} s; checked: each worker's "
            "Polars thread pool is 1) and warms the workers up. "
            "Wall: the library call only. Client peak: `ru_maxrss` of the process (with a "
            "cluster it includes the scheduler and nannies, which run in it). Worker peaks: each "
            "worker's `ru_maxrss` after the call (`client.run`; a new cluster per measurement, "
            f"idle after the warm-up: {_mb_list(ovh['worker_idle_mb'])} MB). Best of "
            f"{args.repeats} run(s)."
        ),
        "",
        (
            "| case | what | files | mode | wall (s) | M rows/s | in-process / cluster | "
            "client CPU user + sys (s) | client peak (MB) | worker peaks (MB) |"
        ),
        "|---|---|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for name in (c for c in CASES if (c, "local") in runs):
        case = CASES[name]
        best = {m: min(runs[name, m], key=lambda r: r["seconds"]) for m in MODES}
        for mode in MODES:
            r = best[mode]
            peak = max(x["peak_mb"] for x in runs[name, mode])
            workers = "-"
            if mode == "cluster":  # each worker's largest peak over the repeats
                per_run = [x["worker_peak_mb"] for x in runs[name, mode]]
                workers = _mb_list([max(v) for v in zip(*per_run, strict=True)])
            ratio = f"{best['local']['seconds'] / r['seconds']:.2f}" if mode == "cluster" else "-"
            label = "in-process" if mode == "local" else f"cluster ({args.workers} workers)"
            lines.append(
                f"| `{name}` | {case.what} | {r['files']} {case.layout} | {label} | "
                f"{r['seconds']:.2f} | {r['rows'] / r['seconds'] / 1e6:.2f} | {ratio} | "
                f"{r['user_s']:.1f} + {r['sys_s']:.1f} | {peak:,.0f} | {workers} |"
            )
    lines += [
        "",
        (
            "Cluster runs, per map (from the timing wrapper of the library's mapper): the "
            "tasks' own compute time on the workers, worker microseconds per input row "
            "(kappa), efficiency = sum of task time / (workers x map wall), the client's time "
            "between results (its first and last step), the mean result per task, the pickled "
            "size of a task. For the cross-sections also the client's reduce of the cell sums "
            "(`_reduce`, wrapped: its own time, not the wait for results; its merges and the "
            "rows they concatenate and group, from its rule on the tables' heights; `after "
            "the map`: it was handed the list of every result) and the solve of every date "
            "(from the end of the reduce to the start of the residual map)."
        ),
        "",
        (
            "| case | map | tasks | sum task (s) | max task (s) | kappa (us/row) | map wall (s) | "
            "efficiency | client between results (s) (first / last) | client reduce (s) "
            "[merges, rows] | result / task | task sent (MB) | solve (s) |"
        ),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|",
    ]
    for name in (c for c in CASES if (c, "cluster") in runs):
        case = CASES[name]
        r = min(runs[name, "cluster"], key=lambda x: x["seconds"])
        red = r.get("reduce")
        for i, m in enumerate(r["maps"]):
            t = _map_terms(m, r["rows"])
            what = "cell sums" if case.regression and i == 0 else "residuals"
            what = what if case.regression else "build + write"
            result = "-"
            if t["table_rows"]:
                mb = statistics.mean(m["bytes"]) / 1024**2
                result = f"{t['table_rows']:,.0f} rows, {mb:.1f} MB"
            reduce = solve = "-"
            if red is not None and i == 0:
                merges = reduce_merges(
                    red["heights"], red["cells"], by_asset=case.layout == "asset"
                )
                reduce = (
                    f"{sum(red['steps']) + red['tail_s']:.2f} [{len(merges)}, "
                    f"{sum(rows for _, rows in merges):,.0f}]"
                    + ("" if red["streamed"] else " after the map")
                )
            if red is not None and i == 1:
                solve = f"{m['start'] - red['end']:.2f}"
            client = f"{t['client_s']:.2f}"
            if t["client_s"] >= 0.01:
                client += f" ({m['steps'][0] * 1e3:.0f} / {m['steps'][-1] * 1e3:.0f} ms)"
            sent = f"{m['sent_bytes'] / 1024**2:.2f}"
            if m["shared_bytes"]:
                sent += f" (+ shared file {m['shared_bytes'] / 1024**2:.2f})"
            lines.append(
                f"| `{name}` | {what} | {m['tasks']} | {t['task_s']:.2f} | "
                f"{max(m['task_s']):.2f} | "
                f"{t['kappa'] * 1e6:.2f} | {t['wall']:.2f} | "
                f"{t['task_s'] / (args.workers * t['wall']):.2f} | {client} | {reduce} | "
                f"{result} | {sent} | {solve} |"
            )
    lines += [
        "",
        (
            f"Overhead ({ovh['tasks']} no-op tasks through `run_tasks`, then divided): "
            f"{ovh['local_task_s'] * 1e6:.0f} us per task in process, "
            f"{ovh['cluster_task_s'] * 1e3:.2f} ms per task on the cluster ({args.workers} "
            f"workers); the version check of every call (`resolve_executor(client)`: "
            "`check_workers`, then the `DaskMapper`): "
            f"{ovh['check_s'] * 1e3:.1f} ms; a {TRANSFER_ROWS * 64 / 1e6:.0f} MB result frame "
            f"reaches the client at {ovh['transfer_mb_s']:,.0f} MB/s; cluster start "
            f"{ovh['start_s']:.1f} s."
        ),
        "",
        (
            f"Checks (cluster against in-process; factor returns: max abs difference, "
            f"tolerance {args.tolerance:g}; `scaled` = max |a - b| / max(1, |b|) over every "
            f"float column of every output file, tolerance {args.output_tolerance:g}; nulls = "
            "rows null on one side only):"
        ),
        "",
    ]
    for name, d in diffs.items():
        parts = ", ".join(
            f"{k} {v:.1e}" if isinstance(v, float) and not k.endswith("nulls") else f"{k} {v:g}"
            for k, v in d.items()
            if k != "reference_s"
        )
        lines.append(f"- `{name}`: {parts}")
    ref = [d["reference_s"] for d in diffs.values() if "reference_s" in d]
    if ref:
        lines.append(
            f"- reference: plain `pf.cross_section` of the date files (factor returns only, "
            f"in process, no residuals): {ref[0]:.2f} s"
        )
    return lines


def render_projection(
    runs: dict[tuple[str, str], list[dict[str, Any]]],
    ovh: dict[str, Any],
    shape: tuple[int, int, int],
    args: argparse.Namespace,
) -> list[str]:
    dates, assets, files = shape
    here = Shape(dates * assets, dates, args.workers, files, dates * N_INDUSTRIES)
    rows_per_task = args.project_task_rows or here.rows_per_task
    n = max(1, round(args.project_rows / rows_per_task))
    w = args.project_workers
    there = Shape(args.project_rows, args.project_dates, w, n, args.project_dates * N_INDUSTRIES)
    grouped = dataclasses.replace(there, tasks=2 * w)  # asset files, two tasks per worker
    p_assets = args.project_rows // args.project_dates
    points = reduce_points(runs)
    a, b = fit_reduce(points) if points else (0.0, 0.0)
    reduces = [
        run["reduce"]
        for (name, mode), rs in runs.items()
        if mode == "cluster" and CASES[name].regression
        for run in rs
    ]
    streamed = any(red["streamed"] for red in reduces)
    cover = task_cells(there, by_asset=True) / there.cells
    lines = [
        f"### Projection: {args.project_rows / 1e6:,.0f}M rows on {w} workers",
        "",
        (
            f"Arithmetic, not a measurement. Shape: D' = {there.dates:,} dates x {p_assets:,} "
            f"assets, R' = {there.rows:,} rows, K = {N_INDUSTRIES} industries (C' = "
            f"{there.cells:,} (date, industry) cells), tasks of {rows_per_task:,.0f} rows "
            f"(N' = {n:,}) and, for the asset files, also grouped into two tasks per worker "
            f"(`rows=R'/(2W')` of `pf.distributed.cross_section`, {there.rows / (2 * w):,.0f} "
            f"rows: N' = {2 * w}, as the docs advise for asset files), W' = {w} workers of one "
            "core each, as fast as one worker here. Measured here (cluster runs and "
            "`overhead` above):"
        ),
        "",
        f"- F = {ovh['check_s'] * 1e3:.1f} ms: the version check of a call;",
        (
            f"- tau = {ovh['cluster_task_s'] * 1e3:.2f} ms: per-task overhead (no-op tasks; the "
            "scheduler's rate, taken as independent of the workers);"
        ),
        (
            "- kappa = worker seconds per input row of a map (sum of the tasks' compute time / "
            "rows; table above): the map's compute is R' kappa / W';"
        ),
        f"- B = {ovh['transfer_mb_s']:,.0f} MB/s: a result (or a task) through the client;",
        (
            "- b' = cell-table bytes per task at D' (bytes per cell row as measured, times the "
            "cell rows of a task: C' / N' for date files; for asset files D' times the "
            f"industries that the task's R' / (D' N') assets cover, K (1 - (1 - 1/K)^assets) "
            f"with each asset's industry drawn uniformly as here: {cover:.0%} of C' at "
            f"N' = {n:,}, {task_cells(grouped, by_asset=True) / there.cells:.0%} at "
            f"N' = {2 * w});"
        ),
        (
            f"- a = {a * 1e3:.2f} ms per merge and b = {b * 1e9:.0f} ns per row: the client's "
            "reduce (`_reduce`). The tables wait in a list and are added to the running total "
            "(one concat + group_by of the total and the waiting tables) once they hold as "
            "many rows as the total; fitted as a + b x rows over the "
            f"{len(points)} merges inside its loop in both cross-section runs (each merge "
            "timed as the reduce's time after the table that triggered it; the other steps "
            "only append to the list). M' merges of S' rows in all at the new shape, by the "
            "same rule: asset files whose tables cover every cell are added one by one "
            "(M' = N', two tables a merge: S' = C' (2 N' - 1), about 2 C' N'; tables covering "
            "a share of the cells wait until they hold the total's rows: fewer, larger "
            "merges); date files (disjoint cells) double the total (M' about log2 N' + 1, "
            "S' about 2 C');"
        ),
        (
            "- sigma = solve seconds per date (on the client, from the end of the reduce to "
            "the start of the residual map: the batch solve, the slim solution, for asset "
            "files writing it to the shared file);"
        ),
        (
            "- s' = bytes shipped with a residual task: a task of date files carries the slim "
            "solution of its dates (date, factor, factor_return, kind, status: the measured "
            "task scaled to D' / N' dates); a task of asset files carries only the name of "
            "the shared file (the slim solution of every date, written once next to the "
            "outputs), so its s' is the measured task as is. Each task of asset files reads "
            "that file (its size at D' in the table, scaled from the file here): the read is "
            "inside kappa2 as measured, with a file of D dates, not scaled to D'."
        ),
        "",
        "Sinks: T = F + N' tau + R' kappa / W'.",
        "",
    ]
    if streamed:
        lines.append(
            "Cross-section: T = F + max(N' tau + R' kappa1 / W', N' b' / B + M' a + b S') "
            "+ sigma D' + N' (tau + s' / B) + R' kappa2 / W' (measured here, the reduce "
            "got the results as they came: the client fetches and reduces while the "
            "workers compute; the map of residuals starts after the solve)."
        )
    else:
        lines.append(
            "Cross-section: T = F + max(N' tau + R' kappa1 / W', N' b' / B) + M' a + b S' "
            "+ sigma D' + N' (tau + s' / B) + R' kappa2 / W' (the client fetches the "
            "results while the workers compute; as measured here, `cross_section` hands the "
            "reduce the list of every result, so the reduce starts when the map ends; then "
            "the solve, then the map of residuals)."
        )
    lines += [
        "",
        (
            "| case | N' | N' tau (s) | R' kappa1 / W' (s) [kappa1] | N' b' / B (s) [b'] | "
            "M' a + b S' (s) [M', S'] | sigma D' (s) [sigma] | N' s' / B (s) [s'] | "
            "R' kappa2 / W' (s) [kappa2] | **T (s)** | measured here (s) |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    memory: list[str] = []
    for name in (c for c in CASES if (c, "cluster") in runs):
        case = CASES[name]
        r = min(runs[name, "cluster"], key=lambda x: x["seconds"])
        shapes = [(f"`{name}`", there, f"{r['seconds']:.1f}")]
        if case.regression and case.layout == "asset":
            shapes.append((f"`{name}` (rows=R'/(2W'))", grouped, "-"))
        for label, at, measured in shapes:
            p = project(case, r, ovh, here, at, fit=(a, b))
            cells = [
                f"{at.tasks:,}",
                f"{p['overhead']:.1f}",
                f"{p['map']:.1f} [{p['kappa1'] * 1e6:.2f} us/row]",
            ]
            if case.regression:
                ship = f"{p['ship']:.1f} [{p['sent_mb']:.2f} MB"
                ship += f"; shared file {p['shared_mb']:.0f} MB]" if p["shared_mb"] else "]"
                cells += [
                    f"{p['fetch']:.1f} [{p['table_mb']:.2f} MB]",
                    f"{p['reduce']:.1f} [{p['merges']:,.0f}, {p['merged_rows'] / 1e6:,.1f}M]",
                    f"{p['solve']:.1f} [{p['sigma'] * 1e3:.2f} ms/date]",
                    ship,
                    f"{p['map2']:.1f} [{p['kappa2'] * 1e6:.2f} us/row]",
                ]
                memory.append(_memory_line(label, p, at, streamed=streamed))
            else:
                cells += ["-"] * 5
            lines.append(
                f"| {label} | " + " | ".join(cells) + f" | **{p['total']:.0f}** | {measured} |"
            )
    lines += [
        "",
        (
            "Not in the model: reading the files from a shared file system (here they come "
            "from the page cache of one disk), the shared solution file read by every residual "
            "task of asset files beyond its cost here, stragglers and a slower or busier "
            "scheduler; kappa is taken per row as measured here, whatever the rows per task "
            "and the cells per task's table."
        ),
    ]
    if memory:
        client = (
            "the summed table and the tables waiting (as many rows as it at most)"
            if streamed
            else "every cell table of the map until the map ends (N' b': `cross_section` "
            "hands the reduce the list of every result), then the summed table and a merge"
        )
        lines += [
            "",
            (
                "Memory: a worker's peak follows the rows of a task (the grouped tasks hold "
                f"{there.rows / (2 * w) / rows_per_task:,.0f} times the rows of those measured "
                f"here). The cluster holds at most ahead = max(2 W', 4) = {ahead(w)} results "
                "not yet read (the library's `DaskMapper` submits a task as the client reads a "
                "result, and releases each result once read): ahead x b' across the cluster. "
                f"The client holds {client}:"
            ),
            "",
            *memory,
        ]
    return lines


def _memory_line(label: str, p: dict[str, float], at: Shape, *, streamed: bool) -> str:
    held = "" if streamed else f"; every table of the map: {_gb(p['results_gb'])} (N' b')"
    return (
        f"- {label}: the summed table at D' is {p['cells_mb']:,.0f} MB{held}; on the "
        f"cluster at most {_gb(p['ahead_gb'])} of results "
        f"({min(ahead(at.workers), at.tasks)} tables of {p['table_mb']:,.1f} MB)."
    )


def _gb(gb: float) -> str:
    return f"{gb:,.1f} GB" if gb >= 1 else f"{gb * 1024:,.0f} MB"


# ---------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1.2M rows / 8 files; prints only")
    parser.add_argument(
        "--shape", type=int, nargs=3, metavar=("DATES", "ASSETS", "FILES"), default=None,
        help=f"panel shape (default {FULL}; --quick {QUICK}); FILES must divide DATES",
    )  # fmt: skip
    parser.add_argument(
        "--cases", default=",".join(CASES), help="comma-separated subset (overhead always runs)"
    )
    parser.add_argument("--repeats", type=int, default=1, help="fresh processes per case")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster workers")
    parser.add_argument("--noop-tasks", type=int, default=400, help="tasks of the overhead run")
    parser.add_argument(
        "--tolerance", type=float, default=1e-12, help="factor returns: max abs difference"
    )
    parser.add_argument(
        "--output-tolerance", type=float, default=1e-9,
        help="residual and output files: max |a - b| / max(1, |b|)",
    )  # fmt: skip
    parser.add_argument("--project-rows", type=int, default=500_000_000)
    parser.add_argument("--project-dates", type=int, default=10_000)
    parser.add_argument("--project-workers", type=int, default=32)
    parser.add_argument(
        "--project-task-rows", type=int, default=None,
        help="rows per task of the projection (default: as measured, rows / files)",
    )  # fmt: skip
    parser.add_argument(
        "--blas-threads", type=int, default=1,
        help="OPENBLAS/OMP/MKL_NUM_THREADS of the children and workers (0: as is)",
    )  # fmt: skip
    parser.add_argument(
        "--output", type=Path, default=None,
        help="markdown file (default: benchmarks/RESULTS.md for the full run of every case)",
    )  # fmt: skip
    parser.add_argument("--regenerate", action="store_true", help="rewrite the panel files")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.full = args.shape is None and not args.quick
    args.shape = tuple(args.shape or (QUICK if args.quick else FULL))
    args.cases = [c for c in args.cases.split(",") if c]
    bad = [c for c in args.cases if c not in CASES]
    if bad:
        parser.error(f"unknown case {bad}; choose from {list(CASES)}")
    if args.shape[0] % args.shape[2]:
        parser.error("FILES must divide DATES (files of whole, equal date blocks)")
    return args


def child(args: argparse.Namespace) -> dict[str, Any]:
    if args.child == "generate":
        generate(args.shape, panel_dir(args.shape) / "by_date")
        return {}
    if args.child == "prepare":
        return prepare(args.shape)
    if args.child == "overhead":
        return child_overhead(args)
    if args.child == "compare":
        return child_compare(CASES[args.case], args)
    return child_case(CASES[args.child], args.mode, args)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(child(args)))
        return 0
    started = time.perf_counter()
    print(f"children: {bench.set_blas_threads(args.blas_threads)}", flush=True)
    h = bench.Harness(__file__, [], generate)  # for its spawn(); the children are ours
    shape = args.shape
    meta = ensure_panel(h, shape, regenerate=args.regenerate)
    work = panel_dir(shape) / "work"
    shutil.rmtree(work, ignore_errors=True)
    common = ["--shape", *map(str, shape), "--workers", str(args.workers)]
    conditions = bench.Conditions()
    print("overhead: no-op tasks, version check, result transfer ...", flush=True)
    ovh = h.spawn("--child", "overhead", "--noop-tasks", str(args.noop_tasks), *common)
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    diffs: dict[str, dict[str, float]] = {}
    failed: list[str] = []
    try:
        for r in range(args.repeats):
            for name in (c for c in CASES if c in args.cases):
                for mode in MODES:
                    out = work / f"{name}-{mode}"
                    res = h.spawn("--child", name, "--mode", mode, "--out", str(out), *common)
                    runs.setdefault((name, mode), []).append(res)
                    workers = _mb_list(res.get("worker_peak_mb", [])) or "-"
                    print(
                        f"  round {r + 1}: {name:12s} {mode:8s} {res['seconds']:8.2f} s  "
                        f"client {res['peak_mb']:7,.0f} MB  workers {workers} MB",
                        flush=True,
                    )
                d = h.spawn("--child", "compare", "--case", name, "--out", str(work), *common)
                failed += check(name, d, args)  # every round is checked
                diffs.setdefault(name, d)  # the first round's are shown
                if failed:
                    print(f"  CHECK FAILED: {failed}", flush=True)
                for mode in MODES:
                    shutil.rmtree(work / f"{name}-{mode}", ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = render(shape=shape, meta=meta, runs=runs, ovh=ovh, diffs=diffs, args=args)
    if any(mode == "cluster" for _, mode in runs):
        lines += ["", *render_projection(runs, ovh, shape, args)]
    table = bench.report(
        lines, bench.machine_info(("polars", "dask", "distributed")), conditions.describe()
    )
    complete = args.full and set(args.cases) == set(CASES)
    output = args.output if args.output is not None else (bench.RESULTS if complete else None)
    if failed:  # the measurements are shown, but not stored
        bench.publish(table, None, SECTION, HEADER)
        print(f"\nNOT written: cluster and in-process results differ: {failed}", file=sys.stderr)
        return 1
    bench.publish(table, output, SECTION, HEADER)
    print(f"total {time.perf_counter() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
