"""Benchmark: the Huber cross-section at small and medium sizes, against statsmodels RLM.

Spec: ``pf.cross_section(..., method="huber")`` on panels small enough that the fixed
cost of a call (planning, call-time collects, the batched IRLS set-up) matters, against
the best case of a statsmodels ``RLM`` loop. Sizes (dates x assets, K styles, J
industries):

- ``vbase``: 12 x 50, K = 3, no industries (a monthly one-year demo);
- ``small``: 60 x 1,000, K = 5, J = 10;
- ``medium``: 250 x 3,000, K = 10, J = 30.

Data (seeded, built in memory by numpy in every child, before the clock): styles
N(0, 1), industries as strings (fixed per asset, at least 5 assets each), weights
``w`` lognormal, ``ret`` = styles x factor returns + industry returns + Student t
(4 dof) noise with variance ~ 1/w (heavy tails: Huber matters), 0.5% null returns.

- ``ours``: ``pf.cross_section(df.lazy(), "ret", styles, industry="industry",
  weights="w", method="huber").factor_returns.collect()`` (factor returns and their
  standard errors), timed from the eager DataFrame to the collected frame;
- ``statsmodels``: per date ``RLM(y * sw, X * sw, M=HuberT(1.345)).fit(scale_est="mad",
  conv="dev", maxiter=50, tol=1e-8)`` with ``sw = sqrt(w)``, keeping ``params`` and
  ``bse`` (the package's definition, as in ``cross_section.py``). Its best case: the
  null returns dropped, the industry dummies built and every date's scaled ``y`` and
  ``X`` sliced before the clock, so only the per-date fits are timed.

Before any timing, a child per size compares ours with statsmodels on every date:
params and bse (std errors) within ``--tolerance`` absolute (default 1e-8, the
tolerance of the Huber check of ``cross_section.py``); the run stops otherwise.

Timing: each (size, variant) runs in a fresh child process, ``--repeats`` times
(default 3), variants interleaved. In a child: one warm-up call (reported as the
first call), then ``--inner`` calls (default 5), each timed with
``time.perf_counter``. The table shows the best call over all processes, the median
of all timed calls, and the best call of each process. Every child runs with one BLAS
thread (``--blas-threads``; Polars keeps its thread pool). Goals: ours faster than
statsmodels at ``vbase`` (ratio > 1) and at least 10x faster at ``small`` and
``medium``.

Usage (from the repository root)::

    python benchmarks/huber.py                          # full run (~15 min), prints only
    python benchmarks/huber.py --output benchmarks/RESULTS.md   # same, writes its section
    python benchmarks/huber.py --small                  # smoke run (~40 s), prints only
    python benchmarks/huber.py --sizes vbase,small --inner 20

Unlike ``cross_section.py``, the full run prints only unless ``--output`` is given;
then it rewrites the ``<!-- huber:begin -->`` ... ``<!-- huber:end -->`` section of
that file. Run times measured on 2 cores; most of the full run is the statsmodels loop
at ``medium`` (~40 s a call, 6 calls a process). ``--small`` (vbase and small, 2
repeats) never writes. Needs ``statsmodels`` besides the package.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import _harness as bench  # benchmarks/_harness.py
import numpy as np
import polars as pl

import polars_factors as pf

SEED = 20261207
NULL_FRAC = 0.005  # share of null returns
MIN_MEMBERS = 5  # assets per industry, at least
HUBER_T = 1.345
VERSIONS = ("polars", "statsmodels", "numpy")
GOALS = {"vbase": 1.0, "small": 10.0, "medium": 10.0}  # statsmodels / ours, at least


@dataclass(frozen=True)
class Size:
    n_dates: int
    n_assets: int
    n_styles: int
    n_industries: int

    @property
    def styles(self) -> list[str]:
        return [f"s{k}" for k in range(self.n_styles)]

    @property
    def industries(self) -> list[str]:
        return [f"ind_{j:02d}" for j in range(self.n_industries)]

    @property
    def factors(self) -> list[str]:
        """Ours in model order: exposures as given, then industries sorted by name."""
        return [*self.styles, *self.industries]

    def describe(self) -> str:
        ind = f"{self.n_industries} industries" if self.n_industries else "no industries"
        return (
            f"{self.n_dates:,} dates x {self.n_assets:,} assets = "
            f"{self.n_dates * self.n_assets:,} rows, {self.n_styles} styles, {ind}"
        )


SIZES = {
    "vbase": Size(12, 50, 3, 0),
    "small": Size(60, 1_000, 5, 10),
    "medium": Size(250, 3_000, 10, 30),
}
SMOKE = ("vbase", "small")


# --------------------------------------------------------------------------- data


def make_panel(size: Size) -> pl.DataFrame:
    """The seeded panel of ``size``, sorted by date then asset."""
    rng = np.random.default_rng([SEED, size.n_dates, size.n_assets, size.n_styles])
    n_dates, n_assets, k, j = size.n_dates, size.n_assets, size.n_styles, size.n_industries
    n = n_dates * n_assets
    day = np.repeat(np.arange(n_dates), n_assets)
    x = rng.standard_normal((n, k))
    w = rng.lognormal(mean=0.0, sigma=1.0, size=n)
    f_style = rng.normal(0.0, 0.005, size=(n_dates, k))
    systematic = np.einsum("dak,dk->da", x.reshape(n_dates, n_assets, k), f_style).ravel()
    columns: dict[str, Any] = {}
    if j:
        floor = np.repeat(np.arange(j), MIN_MEMBERS)
        rest = rng.choice(j, size=n_assets - floor.size, p=rng.dirichlet(np.full(j, 2.0)))
        ind = np.tile(rng.permutation(np.concatenate([floor, rest])), n_dates)
        systematic += rng.normal(0.0, 0.004, size=(n_dates, j))[day, ind]
        columns["industry"] = pl.Series(size.industries).gather(ind)
    noise = rng.standard_t(df=4, size=n) / np.sqrt(2.0)  # t(4) has variance 2
    ret = systematic + 0.02 * noise / np.sqrt(w)
    ret[rng.random(n) < NULL_FRAC] = np.nan
    return pl.DataFrame(
        {
            "date": bench.weekdays(dt.date(2020, 1, 1), n_dates).gather(day),
            "asset": np.tile(np.arange(n_assets, dtype=np.int32), n_dates),
            **columns,
            "w": w,
            **{s: x[:, i] for i, s in enumerate(size.styles)},
            "ret": ret,
        }
    ).with_columns(pl.col("ret").fill_nan(None))


def no_file(*_: Any) -> None:
    msg = "huber.py builds its panels in memory; there is no panel file to generate"
    raise NotImplementedError(msg)


# ----------------------------------------------------------------------- variants


Fits = tuple[pl.DataFrame, np.ndarray, np.ndarray]  # dates, params, bse (dates x factors)


def prepare_ours(df: pl.DataFrame, size: Size) -> Callable[[], pl.DataFrame]:
    """The timed call: the eager panel to the collected factor returns and std errors."""
    industry = "industry" if size.n_industries else None

    def call() -> pl.DataFrame:
        res = pf.cross_section(
            df.lazy(), "ret", size.styles, industry=industry, weights="w", method="huber"
        )
        return res.factor_returns.collect()

    return call


def prepare_statsmodels(df: pl.DataFrame, size: Size) -> Callable[[], Fits]:
    """The timed call: the per-date RLM fits only (the peer's best case).

    Before the clock: null returns dropped, industry dummies built once (columns in
    ours' order), every date's ``y * sqrt(w)`` and ``X * sqrt(w)`` sliced out.
    """
    import statsmodels.api as sm  # noqa: PLC0415

    rows = df.filter(pl.col("ret").is_not_null())
    x = rows.select(size.styles).to_numpy()
    if size.n_industries:
        dummies = rows.select(
            (pl.col("industry") == ind).cast(pl.Float64).alias(ind) for ind in size.industries
        )
        x = np.column_stack([x, dummies.to_numpy()])
    sw = np.sqrt(rows["w"].to_numpy())
    y = rows["ret"].to_numpy() * sw
    x = x * sw[:, None]
    dates, starts = np.unique(rows["date"].to_physical().to_numpy(), return_index=True)
    bounds = [*starts[1:], len(y)]
    slices = [(y[a:b], x[a:b]) for a, b in zip(starts, bounds, strict=True)]
    norm = sm.robust.norms.HuberT(HUBER_T)
    day_frame = pl.DataFrame({"date": pl.Series(dates).cast(pl.Date)})

    def call() -> Fits:
        params, bse = [], []
        for yd, xd in slices:
            fit = sm.RLM(yd, xd, M=norm).fit(scale_est="mad", conv="dev", maxiter=50, tol=1e-8)
            params.append(fit.params)
            bse.append(fit.bse)
        return day_frame, np.vstack(params), np.vstack(bse)

    return call


def ours_fits(frame: pl.DataFrame, size: Size) -> Fits:
    """Our long factor returns as statsmodels' arrays: one row per date, ours' order."""

    def wide(value: str) -> pl.DataFrame:
        return frame.pivot("factor", index="date", values=value).sort("date")

    params, bse = wide("factor_return"), wide("std_error")
    return (
        params.select("date"),
        params.select(size.factors).to_numpy(),
        bse.select(size.factors).to_numpy(),
    )


def checksum(out: pl.DataFrame | Fits, size: Size) -> tuple[float, int]:
    """Sum of the factor returns and the number of dates."""
    days, params, _ = ours_fits(out, size) if isinstance(out, pl.DataFrame) else out
    return float(params.sum()), days.height


VARIANTS = [
    bench.Variant(
        "ours",
        '`pf.cross_section(df.lazy(), ..., method="huber").factor_returns.collect()`',
        prepare_ours,
    ),
    bench.Variant(
        "statsmodels",
        "per-date `RLM(HuberT(1.345)).fit()` on arrays sliced before the clock",
        prepare_statsmodels,
        ref="ours",
    ),
]
HARNESS = bench.Harness(__file__, VARIANTS, no_file)


# ------------------------------------------------------------------ subprocesses


def verify(size: Size, tolerance: float) -> dict[str, float]:
    """Ours against statsmodels on every date: params and bse within ``tolerance``."""
    df = make_panel(size)
    ours_frame = prepare_ours(df, size)()
    if ours_frame["factor"].unique(maintain_order=True).to_list() != size.factors:
        msg = f"ours: factors {ours_frame['factor'].unique(maintain_order=True).to_list()}"
        raise AssertionError(msg)
    days, params, bse = ours_fits(ours_frame, size)
    sm_days, sm_params, sm_bse = prepare_statsmodels(df, size)()
    if not days.equals(sm_days) or days.height != size.n_dates:
        msg = f"dates differ: ours {days.height}, statsmodels {sm_days.height}"
        raise AssertionError(msg)
    if np.isnan(params).any() or np.isnan(bse).any():
        msg = "ours: null factor returns or std errors"
        raise AssertionError(msg)
    checks = {
        "params, max abs diff": float(np.abs(params - sm_params).max()),
        "bse, max abs diff": float(np.abs(bse - sm_bse).max()),
    }
    bench.check_tolerance(checks, tolerance)
    checks["bse, max rel diff (not checked)"] = float(np.abs(bse / sm_bse - 1.0).max())
    return checks


def run(size: Size, name: str, inner: int) -> dict[str, Any]:
    """One warm-up call, then ``inner`` timed calls; their times and the checksum."""
    call = HARNESS.by_name[name].fn(make_panel(size), size)  # untimed: data and set-up
    start = time.perf_counter()
    out = call()
    first = time.perf_counter() - start
    times = []
    for _ in range(inner):
        start = time.perf_counter()
        out = call()
        times.append(time.perf_counter() - start)
    total, count = checksum(out, size)
    return {"first": first, "times": times, "checksum": total, "count": count}


def child(args: argparse.Namespace) -> int:
    size = SIZES[args.size]
    return HARNESS.child(
        args,
        verify=lambda: verify(size, args.tolerance),
        run=lambda v: run(size, v.name, args.inner),
    )


def measure(name: str, repeats: int, inner: int) -> dict[str, list[dict[str, Any]]]:
    """``repeats`` rounds of one fresh process per variant, interleaved."""
    results: dict[str, list[dict[str, Any]]] = {v.name: [] for v in VARIANTS}
    for r in range(repeats):
        for v in VARIANTS:
            out = HARNESS.spawn("--child", v.name, "--size", name, "--inner", str(inner))
            results[v.name].append(out)
            print(
                f"  {name} round {r + 1}: {v.name:12s} best {min(out['times']) * 1e3:10.2f} ms"
                f"  first {out['first'] * 1e3:10.2f} ms",
                flush=True,
            )
    return results


def check_sums(results: dict[str, list[dict[str, Any]]], size: Size) -> None:
    """Every timed call computed the same factor returns (sum) over every date."""
    ref = results["ours"][0]["checksum"]
    tol = 1e-8 * size.n_dates * len(size.factors)
    for name, runs in results.items():
        for out in runs:
            if abs(out["checksum"] - ref) > tol or out["count"] != size.n_dates:
                msg = f"{name}: sum {out['checksum']!r} over {out['count']} dates, expected {ref!r}"
                raise AssertionError(msg)


# -------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Timing:
    best: float
    median: float
    per_process: list[float]
    first: float

    @classmethod
    def of(cls, runs: list[dict[str, Any]]) -> Timing:
        times = [t for out in runs for t in out["times"]]
        return cls(
            best=min(times),
            median=statistics.median(times),
            per_process=[min(out["times"]) for out in runs],
            first=min(out["first"] for out in runs),
        )


def _ratio(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def size_lines(
    name: str, results: dict[str, list[dict[str, Any]]], checks: dict[str, float]
) -> list[str]:
    """The section of one size: heading, checks, table and goal line."""
    size = SIZES[name]
    t = {k: Timing.of(v) for k, v in results.items()}
    ours, theirs = t["ours"], t["statsmodels"]
    best, median = theirs.best / ours.best, theirs.median / ours.median
    lines = [
        f"### `{name}`: {size.describe()}",
        "",
        "Checked first, every date: " + "; ".join(f"{k} {v:.1e}" for k, v in checks.items()),
        "",
        (
            "| variant | what | best (ms) | median (ms) | best per process (ms) "
            "| first call (ms) | statsmodels / ours (best; median) |"
        ),
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for v in VARIANTS:
        r = t[v.name]
        ratio = f"{_ratio(best)}; {_ratio(median)}" if v.ref else "-"
        lines.append(
            f"| `{v.name}` | {v.what} | {r.best * 1e3:.2f} | {r.median * 1e3:.2f} | "
            f"{' '.join(f'{s * 1e3:.2f}' for s in r.per_process)} | {r.first * 1e3:.1f} | "
            f"{ratio} |"
        )
    target = GOALS[name]
    goal = bench.goal(
        f"`{name}`: statsmodels / ours (best)",
        round(best, 2),
        "> 1x (ours faster)" if target == 1 else f">= {target:g}x",
        met=best > target if target == 1 else best >= target,
    )
    return [*lines, "", goal, ""]


def render(
    sections: list[list[str]],
    *,
    repeats: int,
    inner: int,
    tolerance: float,
    info: dict[str, str],
    conditions: str,
) -> str:
    lines = [
        (
            f"Per size and variant, {repeats} fresh processes (variants interleaved); in each, "
            f"one warm-up call (first call), then {inner} timed calls. Best = fastest call "
            "over all processes, median = median of all timed calls. Ours is timed from the "
            "eager DataFrame to the collected factor returns and std errors; statsmodels "
            "only on its per-date fits (data prepared before the clock). Ours equals "
            f"statsmodels on every date (params and bse within {tolerance:g} absolute)."
        ),
        "",
    ]
    for body in sections:
        lines += body
    return bench.report(lines, info, conditions)


# ---------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench.parser(
        __doc__,
        tolerance=1e-8,
        tolerance_help="max abs difference of params and bse against statsmodels",
        output_help="markdown file whose `huber` section is rewritten (default: none, "
        "prints only; not with --small)",
        regenerate_help=argparse.SUPPRESS,
    )
    parser.add_argument(
        "--sizes",
        default=",".join(SIZES),
        help=f"comma-separated subset of {', '.join(SIZES)} (default: all)",
    )
    parser.add_argument("--inner", type=int, default=5, help="timed calls per process")
    parser.add_argument(
        "--small", action="store_true", help="smoke run: vbase and small, 2 repeats, prints only"
    )
    parser.add_argument("--size", choices=list(SIZES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return args
    if args.small:
        if args.output is not None:
            parser.error("--small is a smoke run and prints only; drop --output")
        args.sizes, args.repeats = ",".join(SMOKE), 2
    args.sizes = args.sizes.split(",")
    unknown = set(args.sizes) - set(SIZES)
    if unknown:
        parser.error(f"unknown sizes {sorted(unknown)}; choose from {', '.join(SIZES)}")
    if args.inner < 1 or args.repeats < 1:
        parser.error("--inner and --repeats must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child(args)

    blas = bench.set_blas_threads(args.blas_threads)  # inherited by every child
    checks: dict[str, dict[str, float]] = {}
    for name in args.sizes:
        print(f"cross-checking ours against statsmodels RLM, {name}, every date ...", flush=True)
        checks[name] = HARNESS.spawn(
            "--child", "verify", "--size", name, "--tolerance", str(args.tolerance)
        )
        for k, v in checks[name].items():
            print(f"  {k}: {v:.1e}", flush=True)

    conditions = bench.Conditions()
    sections = []
    for name in args.sizes:
        results = measure(name, args.repeats, args.inner)
        check_sums(results, SIZES[name])
        sections.append(size_lines(name, results, checks[name]))
    during = f"{conditions.describe()}; BLAS threads in every child: {blas}"

    table = render(
        sections,
        repeats=args.repeats,
        inner=args.inner,
        tolerance=args.tolerance,
        info=bench.machine_info(VERSIONS),
        conditions=during,
    )
    header = "## `huber.py`: Huber cross-section at small and medium sizes\n\n"
    bench.publish(table, args.output, "huber", header)
    return 0


if __name__ == "__main__":
    sys.exit(main())
