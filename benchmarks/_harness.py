"""Shared by the benchmark scripts: processes, timing, machine notes and the report.

A benchmark script runs every measurement in a fresh child process of itself
(``--child NAME``): the child times the work (wall clock, user and system CPU time)
and reads its own peak RSS (``ru_maxrss``), then prints one line of JSON that the
parent reads back as a :class:`Run`. The parent stays small on purpose: Linux carries
a parent's peak RSS into a spawned child's ``ru_maxrss`` (exec keeps the high-water
mark), so the children's peaks are their own only if the parent's is low.

Also here: the seeded, chunked panel writer; the BLAS thread setting of the children;
the machine description, load and hypervisor steal; the common rows, goal lines
and footer of the markdown tables; the options every script has; and
:func:`write_section`, which rewrites one
script's section of ``RESULTS.md``. Each script owns the part of the file between
``<!-- NAME:begin -->`` and ``<!-- NAME:end -->``; everything outside the markers
(hand-written notes, the other scripts' sections) is kept as it is.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import importlib.util
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

import polars_factors as pf

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE / "data"
RESULTS = HERE / "RESULTS.md"
TITLE = "# Benchmark results\n"
BLAS_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
CHUNK_DATES = 250  # dates generated per chunk (bounded memory; same data at any size)


# --------------------------------------------------------------------------- data


def weekdays(start: dt.date, n: int) -> pl.Series:
    """The first ``n`` weekdays from ``start`` (the trading dates of a panel)."""
    days = pl.date_range(start, start + dt.timedelta(days=7 * n // 5 + 7), eager=True)
    return days.filter(days.dt.weekday() <= 5).head(n)


def write_chunked(
    path: Path, dates: pl.Series, chunk: Callable[[int, pl.Series], pl.DataFrame]
) -> None:
    """Write a panel chunk by chunk, then stream the chunks into one parquet file.

    ``chunk(i, dates)`` makes the rows of the ``i``-th run of :data:`CHUNK_DATES`
    dates; seeded by ``i``, a longer panel starts with the same rows as a shorter one.
    """
    tmp = path.with_name(path.stem + ".parts")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for i, start in enumerate(range(0, len(dates), CHUNK_DATES)):
        chunk(i, dates[start : start + CHUNK_DATES]).write_parquet(tmp / f"{i:05d}.parquet")
    out = path.with_suffix(".tmp")
    pl.scan_parquet(sorted(tmp.glob("*.parquet"))).sink_parquet(out)
    out.replace(path)
    shutil.rmtree(tmp)


# ----------------------------------------------------------------------- variants


@dataclass(frozen=True)
class Variant:
    """One timed way of doing the work; ``fn`` runs in the child process."""

    name: str
    what: str
    fn: Callable[..., Any]
    subset: bool = False  # timed on a subset of the panel, scaled to all of it
    ref: str | None = None  # the variant of ours it is compared with


@dataclass(frozen=True)
class Run:
    """One measurement: wall and CPU time of the work, peak RSS of its process.

    ``checksum`` is what the result reduces to (cross-checked between the runs and
    the variants), ``count`` how many dates or assets the result covers.
    """

    seconds: float
    user_s: float
    sys_s: float
    peak_mb: float
    checksum: Any = None
    count: int | None = None

    @property
    def cpu(self) -> str:
        return f"{self.user_s:.1f} + {self.sys_s:.1f}"


def timed(
    work: Callable[[], Any], reduce: Callable[[Any], tuple[Any, int | None]] | None = None
) -> dict[str, Any]:
    """Child side: run ``work`` once; its times, peak RSS, checksum and count.

    ``reduce`` turns the result into ``(checksum, count)`` after the clock stops
    (default: ``work`` returns that pair itself).
    """
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    out = work()
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    checksum, count = reduce(out) if reduce is not None else out
    return {
        "seconds": seconds,
        "user_s": after.ru_utime - before.ru_utime,
        "sys_s": after.ru_stime - before.ru_stime,
        "peak_mb": after.ru_maxrss / 1024,  # KiB on Linux
        "checksum": checksum,
        "count": count,
    }


class Harness:
    """One benchmark script's variants and child processes (both sides of the pipe)."""

    def __init__(
        self, script: str, variants: Sequence[Variant], generate: Callable[..., None]
    ) -> None:
        self.script = Path(script).resolve()
        self.variants = list(variants)
        self.by_name = {v.name: v for v in self.variants}
        self.generate = generate  # (path, n_dates, n_assets): writes the panel file

    def child(
        self,
        args: argparse.Namespace,
        *,
        verify: Callable[[], dict[str, Any]],
        run: Callable[[Variant], dict[str, Any]],
    ) -> int:
        """Child side: generate the panel, verify, or time one variant (``--child``).

        ``run`` times the variant once (see :func:`timed`); the answer goes to the
        parent as one line of JSON on stdout.
        """
        if args.child == "generate":
            args.path.parent.mkdir(parents=True, exist_ok=True)  # data/ is git-ignored
            self.generate(args.path, *args.shape)
            result: dict[str, Any] = {}
        elif args.child == "verify":
            result = verify()
        else:
            result = run(self.by_name[args.child])
        print(json.dumps(result))
        return 0

    def spawn(self, *args: str) -> dict[str, Any]:
        """Run the script with ``args`` in a fresh interpreter; return its JSON answer."""
        cmd = [sys.executable, str(self.script), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            msg = f"{' '.join(args)} failed (exit {proc.returncode}):\n{proc.stderr}"
            raise RuntimeError(msg)
        if proc.stderr.strip():
            print(f"  [{' '.join(args)}] stderr: {proc.stderr.strip()}", file=sys.stderr)
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        return result

    def ensure_panel(self, path: Path, shape: Sequence[int], *, regenerate: bool) -> Path:
        """Generate the panel file in a child unless it exists (or ``regenerate``)."""
        if regenerate or not path.exists():
            print(f"generating {path} ...", flush=True)
            start = time.perf_counter()
            self.spawn("--child", "generate", "--path", str(path), "--shape", *map(str, shape))
            print(f"  done in {time.perf_counter() - start:.1f} s", flush=True)
        return path

    def cross_check(self, path: Path, tolerance: float, *extra: str) -> dict[str, float]:
        """Run the script's checks in a child (it fails if one fails); print them."""
        print("cross-checking polars_factors against polars-ols and statsmodels ...", flush=True)
        checks = self.spawn(
            "--child", "verify", "--path", str(path), "--tolerance", str(tolerance), *extra
        )
        for k, v in checks.items():
            print(f"  {k}: {v:.1e}", flush=True)
        return checks

    def run_variant(self, name: str, path: Path, *extra: str) -> Run:
        out = self.spawn("--child", name, "--path", str(path), *extra)
        return Run(
            seconds=float(out["seconds"]),
            user_s=float(out["user_s"]),
            sys_s=float(out["sys_s"]),
            peak_mb=float(out["peak_mb"]),
            checksum=out["checksum"],
            count=out["count"],
        )

    def measure(
        self,
        names: Sequence[str],
        path: Path,
        repeats: int,
        *,
        subset_args: Sequence[str] = (),
        label: str = "",
        width: int = 16,
    ) -> dict[str, list[Run]]:
        """``repeats`` rounds of one fresh process per variant, interleaved.

        ``subset_args`` go to the children of the variants timed on a subset.
        """
        results: dict[str, list[Run]] = {n: [] for n in names}
        prefix = f"{label} " if label else ""
        for r in range(repeats):
            for name in names:
                extra = subset_args if self.by_name[name].subset else ()
                res = self.run_variant(name, path, *extra)
                results[name].append(res)
                print(
                    f"  {prefix}round {r + 1}: {name:{width}s} {res.seconds:8.3f} s "
                    f"{res.peak_mb:8.0f} MB",
                    flush=True,
                )
        return results

    def scaled_best(self, results: Mapping[str, list[Run]], scale: float) -> dict[str, float]:
        """Best wall time of each variant, those timed on a subset times ``scale``."""
        return {
            k: r.seconds * (scale if self.by_name[k].subset else 1.0)
            for k, r in fastest(results).items()
        }

    def scaled_rows(
        self,
        results: Mapping[str, list[Run]],
        *,
        n_all: int,
        n_subset: int,
        ref_name: bool = False,
    ) -> list[str]:
        """Table rows: variant, what, timed on, best, runs, CPU, scaled, x floor, x ref, RSS.

        Variants timed on ``n_subset`` of the ``n_all`` dates or assets are marked
        ``*``; ``ref_name`` names the reference variant in the ratio column.
        """
        scale = n_all / n_subset
        full_s = self.scaled_best(results, scale)
        best, peak = fastest(results), peaks(results)
        floor = full_s["io_floor"]
        lines = []
        for v in (v for v in self.variants if v.name in results):
            mb = f"{peak[v.name]:,.0f}" + (" *" if v.subset else "")
            if v.name == "baseline":
                lines.append(baseline_row(v, 7, mb))
                continue
            r = best[v.name]
            timed_on = f"{n_subset:,} *" if v.subset else f"{n_all:,}"
            full = f"{full_s[v.name]:.2f}" + (f" (x {scale:g}) *" if v.subset else "")
            ratio = "-"
            if v.ref in full_s:
                ratio = f"{full_s[v.name] / full_s[v.ref]:.1f}"
                ratio += f" (vs `{v.ref}`)" if ref_name else ""
            lines.append(
                f"| `{v.name}` | {v.what} | {timed_on} | {r.seconds:.3f} | "
                f"{all_runs(results[v.name])} | {r.cpu} | {full} | "
                f"{full_s[v.name] / floor:.2f} | {ratio} | {mb} |"
            )
        return lines


# ------------------------------------------------------------------ cross-checks


def check_tolerance(checks: Mapping[str, float], tolerance: float) -> None:
    bad = {k: v for k, v in checks.items() if not v <= tolerance}
    if bad:
        msg = f"checks above tolerance {tolerance:g}: {bad}"
        raise AssertionError(msg)


def check_checksums(
    results: Mapping[str, list[Run]], same: Iterable[str], tol: float, what: str
) -> None:
    """The variants ``same`` must match the first run of ``ours``; the runs of each
    variant must agree with each other (within ``tol``)."""
    ref = results["ours"][0].checksum
    assert ref is not None
    for name in same:
        for run in results.get(name, []):
            if run.checksum is None or abs(run.checksum - ref) > tol:
                msg = f"{name}: {what} {run.checksum!r}, expected {ref!r}"
                raise AssertionError(msg)
    for name, runs in results.items():
        sums = [r.checksum for r in runs if r.checksum is not None]
        if sums and max(sums) - min(sums) > tol:
            msg = f"{name}: runs disagree: {sums}"
            raise AssertionError(msg)


def check_counts(
    results: Mapping[str, list[Run]], names: Iterable[str], expected: int, unit: str
) -> None:
    """The variants timed on a subset covered ``expected`` dates or assets."""
    for name in names:
        if results[name][0].count != expected:
            msg = f"{name}: timed on {results[name][0].count} {unit}, expected {expected}"
            raise AssertionError(msg)


# ------------------------------------------------------------------------ machine


def set_blas_threads(n: int) -> str:
    """Set the BLAS thread variables that every child inherits; describe them.

    0 leaves the environment alone. Polars' own thread pool is not affected.
    """
    if n > 0:
        for var in BLAS_VARS:
            os.environ[var] = str(n)
    return ", ".join(f"{v}={os.environ.get(v, 'unset')}" for v in BLAS_VARS)


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def gpu_note() -> str:
    if importlib.util.find_spec("cudf_polars") is None:
        return 'engine="gpu": GPU engine not installed here (no `cudf_polars`); not measured'
    return 'engine="gpu": `cudf_polars` is installed, but not measured by this script'


def machine_info(dists: Sequence[str], *, gpu: bool = False) -> dict[str, str]:
    """Date, CPU, memory, OS, the versions of Python, ``dists`` and the package."""
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    libs = ", ".join(f"{'Polars' if d == 'polars' else d} {version(d)}" for d in dists)
    info = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {len(os.sched_getaffinity(0))} cores usable "
        f"(polars thread pool: {pl.thread_pool_size()})",
        "memory": f"{mem_kb / 1024**2:.1f} GiB",
        "os": platform.platform(),
        "versions": f"Python {platform.python_version()}, {libs}, polars_factors {pf.__version__}",
    }
    if gpu:
        info["gpu"] = gpu_note()
    return info


def cpu_times() -> list[int]:
    """The aggregate ``cpu`` line of /proc/stat (user, nice, system, idle, ..., steal)."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()
    return [int(v) for v in first[1:]]


def steal_share(before: list[int], after: list[int]) -> float:
    """Fraction of CPU time stolen by the hypervisor between two :func:`cpu_times`."""
    delta = [b - a for a, b in zip(before, after, strict=True)]
    total = sum(delta[:8])  # user..steal; guest time is already in user
    return delta[7] / total if total else 0.0


class Conditions:
    """Load average and hypervisor steal from its creation to :meth:`describe`."""

    def __init__(self) -> None:
        self.load = os.getloadavg()[0]
        self.cpu = cpu_times()

    def describe(self) -> str:
        steal = steal_share(self.cpu, cpu_times())
        return (
            f"load average (1 min) {self.load:.2f} before, {os.getloadavg()[0]:.2f} after; "
            f"CPU time stolen by the hypervisor {steal:.0%}"
        )


# ------------------------------------------------------------------------- report


def fastest(results: Mapping[str, list[Run]]) -> dict[str, Run]:
    return {k: min(v, key=lambda r: r.seconds) for k, v in results.items()}


def peaks(results: Mapping[str, list[Run]]) -> dict[str, float]:
    return {k: max(r.peak_mb for r in v) for k, v in results.items()}


def all_runs(runs: Iterable[Run]) -> str:
    return " ".join(f"{r.seconds:.2f}" for r in runs)


def baseline_row(v: Variant, dashes: int, mb: str) -> str:
    """The row of the imports-only variant: only its peak RSS."""
    return f"| `{v.name}` | {v.what} | " + "- | " * dashes + f"{mb} |"


def check_lines(checks: Mapping[str, float]) -> list[str]:
    return [f"- {k}: {v:.1e}" for k, v in checks.items()]


def goal(label: str, value: float, target: str, *, met: bool) -> str:
    return f"- {label}: **{value}** (goal {target}: {'met' if met else '**NOT met**'})"


def report(lines: Sequence[str], info: Mapping[str, str], conditions: str) -> str:
    """The table's ``lines``, then the machine and the conditions of the runs."""
    machine = "Machine: " + "; ".join(f"{k}: {v}" for k, v in info.items()) + "."
    return "\n".join([*lines, "", machine, f"Conditions during the timed runs: {conditions}."])


def write_section(output: Path, name: str, body: str) -> None:
    """Replace the section ``name`` of ``output`` with ``body``; append it if absent."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{body.strip()}\n{end}"
    old = output.read_text() if output.exists() else TITLE
    start, stop = old.find(begin), old.find(end)
    if start >= 0 and stop > start:
        new = old[:start] + block + old[stop + len(end) :]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    output.write_text(new)


def publish(table: str, output: Path | None, name: str, header: str) -> None:
    """Print the table; write it as the section ``name`` of ``output`` if given."""
    print()
    print(table)
    if output is not None:
        write_section(output, name, header + table)
        print(f"\nwrote {output}")


# ---------------------------------------------------------------------- arguments


def parser(
    doc: str,
    *,
    tolerance: float,
    tolerance_help: str = "cross-check tolerance",
    output_help: str = "markdown file (default: benchmarks/RESULTS.md for the full run, "
    "none for --small)",
    regenerate_help: str = "rewrite the panel file",
    blas: bool = True,
    shape: bool = False,
) -> argparse.ArgumentParser:
    """A parser with the options every script has and the hidden ones of its children.

    ``shape``: the script has its own ``--shape`` option (else it is hidden).
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per variant")
    parser.add_argument("--tolerance", type=float, default=tolerance, help=tolerance_help)
    parser.add_argument("--output", type=Path, default=None, help=output_help)
    if blas:
        parser.add_argument(
            "--blas-threads",
            type=int,
            default=1,
            help="OPENBLAS/OMP/MKL_NUM_THREADS of the children (0: leave the environment alone)",
        )
    parser.add_argument("--regenerate", action="store_true", help=regenerate_help)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    if not shape:
        parser.add_argument("--shape", type=int, nargs=2, help=argparse.SUPPRESS)
    return parser
