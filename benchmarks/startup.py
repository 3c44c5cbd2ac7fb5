"""Benchmark: start-up time of ``import polars_factors`` and ``polars-factors --help``.

Spec: each command runs in a fresh Python process (``python -c ...``), several times,
interleaved; the best wall time is kept. ``import polars`` is the reference: the goal
is ``import polars_factors`` within 1.5x of it. What the import loads is listed too
(it must not load numpy, scipy, the regression or risk packages: they load when a
function is first used).

Usage (from the repository root)::

    python benchmarks/startup.py            # prints the table
    python benchmarks/startup.py --write    # and writes its section of RESULTS.md
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import _harness as bench  # benchmarks/_harness.py

RESULTS = Path(__file__).with_name("RESULTS.md")
CLI = str(Path(sys.executable).with_name("polars-factors"))
FIRST_CALL = (
    "import polars as pl, polars_factors as pf; "
    "pf.zscore(pl.DataFrame({'date': [1], 'asset': ['a'], 'x': [1.0]}), 'x')"
)
COMMANDS = {
    "python": ([sys.executable, "-c", "pass"], "the interpreter alone"),
    "import_polars": ([sys.executable, "-c", "import polars"], "`import polars` (reference)"),
    "import_polars_factors": (
        [sys.executable, "-c", "import polars_factors"],
        "`import polars_factors`",
    ),
    "first_call": (
        [sys.executable, "-c", FIRST_CALL],
        "import and a first `pf.zscore` (loads the standardization package)",
    ),
    "cli_help": ([CLI, "--help"], "`polars-factors --help`"),
}
LOADED = (
    "import sys, polars_factors; print(' '.join(sorted(m for m in ('numpy', 'scipy', "
    "'matplotlib', 'pandas', 'polars_factors.regression', 'polars_factors.risk', "
    "'polars_factors.pipeline', 'polars_factors.standardization') if m in sys.modules)))"
)


def measure(repeats: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(repeats):
        for name, (cmd, _) in COMMANDS.items():
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times[name].append(time.perf_counter() - start)
    return times


def render(times: dict[str, list[float]], loaded: str) -> str:
    best = {k: min(v) for k, v in times.items()}
    ref = best["import_polars"]
    lines = [
        "Each command in a fresh process, interleaved; best wall time of the runs.",
        "",
        "| command | what | best (s) | all runs (s) | x `import polars` |",
        "|---|---|---:|---|---:|",
    ]
    for name, (_, what) in COMMANDS.items():
        runs = " ".join(f"{t:.3f}" for t in times[name])
        lines.append(f"| `{name}` | {what} | {best[name]:.3f} | {runs} | {best[name] / ref:.2f} |")
    ratio = best["import_polars_factors"] / ref
    goal = bench.goal(
        "`import polars_factors` / `import polars`", round(ratio, 2), "<= 1.5x", met=ratio <= 1.5
    )
    heavy = loaded or "none"
    lines += [
        "",
        goal,
        (
            "- modules the import loads, of numpy, scipy, matplotlib, pandas and the heavy "
            f"subpackages: {heavy}"
        ),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--write", action="store_true", help="write the RESULTS.md section")
    args = parser.parse_args()
    conditions = bench.Conditions()
    times = measure(args.repeats)
    loaded = subprocess.run(
        [sys.executable, "-c", LOADED], check=True, capture_output=True, text=True
    ).stdout.strip()
    table = bench.report(
        [render(times, loaded)], bench.machine_info(["polars"]), conditions.describe()
    )
    header = "## `startup.py`: import and command-line start-up\n\n"
    bench.publish(table, RESULTS if args.write else None, "startup", header)


if __name__ == "__main__":
    main()
