"""Benchmark: quantile winsorize + cap-weighted z-score of 10 columns on a parquet panel.

Spec: winsorize (quantile, 1%/99%) then z-score with a cap-weighted mean and the
equal-weighted std, per date, of 10 columns of a synthetic panel of 2,500 dates x
4,000 assets read from parquet. In the same run, compare with

(a) the IO floor: a scan that only sums the same 10 columns;
(b) pandas: ``read_parquet`` + ``groupby("date")`` transforms;
(c) polars-ds 0.13, the Polars peer: ``stats.winsorize(c, 0.01, 0.99,
    method="linear")`` then ``num.z_normalize(c)``, each ``.over("date")``, on
    ``scan_parquet`` (equal-weighted: compared with ``ours_equal``, our winsorize +
    zscore without weights);
(d) skfolio 1.12, the portfolio-library peer: ``read_parquet``, each column reshaped
    to a dates x assets matrix (the complete grid sorted by date: the peer's best case;
    a Polars pivot would add about 20 s a column), ``CSWinsorizer(low=0.01, high=0.99)`` and
    ``CSStandardScaler`` (``skfolio``: equal-weighted, vs ``ours_equal``;
    ``skfolio_cap``: ``cs_weights=mcap``, vs ``ours``).

Goals: ours within 3x of (a), at least 10x faster than (b), at least 3x faster than
``skfolio_cap``; ``ours_equal`` at least 2x faster than polars-ds; report peak memory.

Every variant ends in the same reduction (the per-column sum of the result) so that
nothing is optimized away and the variants can be cross-checked. Before any timing,
the full polars_factors result is compared element by element with the pandas one
(``--tolerance``, default 1e-9), and each peer's full result with the matching one of
ours (max abs difference <= 1e-10): a benchmark comparing different numbers is
worthless. Both peers divide by the sample std (ddof=1) where we divide by the
population std (ddof=0), and skfolio's cap-weighted std is taken around the
cap-weighted mean where ours is the plain equal-weighted std: their results are ours
times a per-date, per-column factor, which the check applies to ours (see
:func:`peer_reference`); the timed peers compute their own definition, untouched.

Also timed: ``check_keys=True``, ``engine="in-memory"``, ``sink_parquet`` of the whole
result, winsorize and zscore alone, and the same math as bare Polars ``over``
expressions (``polars_minimal``: the library's overhead).

Each measurement runs in a fresh subprocess (so peak RSS, ``ru_maxrss`` of that
process, is per variant), ``--repeats`` times (default 3), interleaving the
variants; the table shows the best wall time, all the runs, the user and system CPU
time of the fastest run and the largest peak RSS. Wall and CPU times cover the query
only, not the interpreter start or the imports (the peers' packages are imported
before the clock starts; their peak RSS includes them).

Usage (from the repository root)::

    python benchmarks/standardize.py            # full: 2,500 x 4,000, writes RESULTS.md
    python benchmarks/standardize.py --small    # smoke run: 250 x 1,000, prints only

The panel is generated once (seeded) under ``benchmarks/data/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import _harness as bench  # benchmarks/_harness.py
import numpy as np
import pandas as pd
import polars as pl

import polars_factors  # noqa: F401 (registers the .factors namespace)

SEED = 20261120
COLS = [f"x{i}" for i in range(10)]
LOWER, UPPER = 0.01, 0.99
NULL_FRAC = 0.01
VERSIONS = ("polars", "pandas", "numpy", "polars-ds", "skfolio", "scikit-learn")
PEER_TOLERANCE = 1e-10  # max abs difference of a peer's z-scores from ours (rescaled)
# The peers, the variant of ours each computes, and what it imports (before the clock).
PEERS = {"polars_ds": "ours_equal", "skfolio": "ours_equal", "skfolio_cap": "ours"}
PEER_MODULES = {
    "polars_ds": ("polars_ds.exprs.num", "polars_ds.exprs.stats"),
    "skfolio": ("skfolio.preprocessing",),
    "skfolio_cap": ("skfolio.preprocessing",),
}


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


def _ours(path: Path, *, check_keys: bool, weights: str | None = "mcap") -> pl.LazyFrame:
    lf = pl.scan_parquet(path)
    lf = lf.factors.winsorize(COLS, lower=LOWER, upper=UPPER, check_keys=check_keys)
    return lf.factors.zscore(COLS, weights=weights, check_keys=check_keys)


def _sums(lf: pl.LazyFrame, engine: Literal["streaming", "in-memory"] = "streaming") -> list[float]:
    return [float(v) for v in lf.select(pl.col(COLS).sum()).collect(engine=engine).row(0)]


def run_io_floor(path: Path) -> list[float]:
    return _sums(pl.scan_parquet(path))


def run_ours(path: Path) -> list[float]:
    return _sums(_ours(path, check_keys=False))


def run_ours_equal(path: Path) -> list[float]:
    return _sums(_ours(path, check_keys=False, weights=None))


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


def polars_ds_zscore(lf: pl.LazyFrame) -> pl.LazyFrame:
    """polars-ds 0.13 as its user writes it: its winsorize, then its z_normalize, per date.

    ``winsorize(method="linear")`` clips at ``quantile(q, interpolation="linear")``,
    our quantiles. ``z_normalize`` is ``(x - x.mean()) / x.std()``: equal-weighted mean
    (``ours_equal``'s) but the sample std (ddof=1), where ours is the population std
    (ddof=0): its z-scores are ours times ``sqrt((n - 1) / n)``, n the date's non-null
    count of the column. No weights: polars-ds has no weighted z-score. (NaN: ours
    counts it as missing, Polars' quantile and std do not; the panel has nulls only.)
    """
    from polars_ds.exprs import num, stats  # noqa: PLC0415 (imported before the clock)

    lf = lf.with_columns(
        stats.winsorize(c, LOWER, UPPER, method="linear").over("date") for c in COLS
    )
    return lf.with_columns(num.z_normalize(c).over("date") for c in COLS)


def run_polars_ds(path: Path) -> list[float]:
    return _sums(polars_ds_zscore(pl.scan_parquet(path)))


def _wide(df: pl.DataFrame, col: str) -> np.ndarray:
    """One column as a dates x assets matrix, null as NaN.

    The panel is the complete (date, asset) grid sorted by date then asset (checked
    before timing by ``verify_peers``), so a reshape of the column is the matrix: the
    peer's best case. A ragged panel needs ``df.pivot(on="asset", index="date")``,
    which takes about 20 s a column at 10M rows in Polars 2.1 (the cost a user with
    such a panel would pay on top).
    """
    n_dates = df.get_column("date").n_unique()
    values = df.get_column(col).cast(pl.Float64).to_numpy()
    return values.reshape(n_dates, df.height // n_dates)


def skfolio_zscores(path: Path, *, cap_weighted: bool) -> Iterator[np.ndarray]:
    """skfolio 1.12's cross-sectional transformers, one dates x assets matrix per column.

    The user reads the panel and reshapes each column (and ``mcap``) to dates x assets
    (timed: skfolio takes nothing else; see :func:`_wide`), then ``CSWinsorizer(low=0.01,
    high=0.99)`` (``np.nanpercentile``, numpy's ``"linear"`` method: our quantiles;
    NaN skipped and kept) and ``CSStandardScaler()`` (no groups), with
    ``cs_weights=mcap`` when ``cap_weighted``. Its mean is ours (cap-weighted over
    the non-missing rows, or equal-weighted), but its std is fixed to the sample
    std (ddof=1) around that mean: with ``cs_weights``, ``sqrt(sum (x - mean_w)^2 /
    (n - 1))``, where ours is the population std around the equal-weighted mean. Its
    z-scores are ours times ``sqrt((n - 1) / sum z^2)`` per date (``sqrt((n - 1) / n)``
    when equal-weighted), which no option changes. (Its ``atol=1e-12`` zero-spread
    rule gives 0 where ours gives null; no date of this panel has zero spread.)
    """
    from skfolio.preprocessing import (  # noqa: PLC0415 (imported before the clock)
        CSStandardScaler,
        CSWinsorizer,
    )

    extra = ["mcap"] if cap_weighted else []
    df = pl.read_parquet(path, columns=["date", "asset", *extra, *COLS])
    weights = _wide(df, "mcap") if cap_weighted else None
    winsorizer, scaler = CSWinsorizer(low=LOWER, high=UPPER), CSStandardScaler()
    for col in COLS:
        clipped = winsorizer.fit_transform(_wide(df, col))
        yield scaler.fit_transform(clipped, cs_weights=weights)


def run_skfolio(path: Path) -> list[float]:
    return [float(np.nansum(z)) for z in skfolio_zscores(path, cap_weighted=False)]


def run_skfolio_cap(path: Path) -> list[float]:
    return [float(np.nansum(z)) for z in skfolio_zscores(path, cap_weighted=True)]


def run_baseline(path: Path) -> list[float]:  # noqa: ARG001
    """Nothing: the peak RSS of the interpreter and the imports (polars, pandas, numpy)."""
    return [float("nan")] * len(COLS)


VARIANTS = [
    bench.Variant("io_floor", "(a) scan + sum of the 10 columns (streaming)", run_io_floor),
    bench.Variant("ours", "winsorize + zscore, check_keys=False, streaming", run_ours),
    bench.Variant(
        "ours_equal", "same, equal-weighted zscore (no weights; for (c) and (d))", run_ours_equal
    ),
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
    bench.Variant(
        "polars_ds",
        '(c) polars-ds 0.13: `stats.winsorize(method="linear")` + `num.z_normalize` '
        '`over("date")`, streaming; equal-weighted, std ddof=1 (vs `ours_equal`)',
        run_polars_ds,
        ref="ours_equal",
    ),
    bench.Variant(
        "skfolio",
        "(d) skfolio 1.12: read_parquet, each column reshaped to dates x assets, "
        "`CSWinsorizer` + `CSStandardScaler`; equal-weighted, std ddof=1 (vs `ours_equal`)",
        run_skfolio,
        ref="ours_equal",
    ),
    bench.Variant(
        "skfolio_cap",
        "(d) same with `cs_weights=mcap`: cap-weighted mean, std ddof=1 around the "
        "cap-weighted mean (ours: ddof=0 around the equal-weighted mean) (vs `ours`)",
        run_skfolio_cap,
        ref="ours",
    ),
    bench.Variant("baseline", "imports only (peak RSS floor)", run_baseline),
]
HARNESS = bench.Harness(__file__, VARIANTS, generate_panel)


def child(args: argparse.Namespace) -> int:
    """The work of a child process: generate, verify, or run one variant once.

    A peer's package is imported here, before the clock starts.
    """
    if args.child == "verify_peers":
        print(json.dumps(verify_peers(args.path, args.variants)))
        return 0
    for module in PEER_MODULES.get(args.child, ()):
        importlib.import_module(module)
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
        worst = max(worst, _max_abs_diff(ours[col], theirs[col], col))
    if not worst <= tolerance:
        msg = f"polars_factors and pandas differ by {worst:.3g} > {tolerance:g}"
        raise AssertionError(msg)
    return worst


def peer_reference(ours: pl.DataFrame, *, cap_weighted: bool) -> pl.DataFrame:
    """Our z-scores rescaled to the peers' sample std: a peer's result, computed from ours.

    A peer's z-score is ``(x - m) / s1`` and ours ``(x - m) / s0``, with the same mean
    ``m`` (cap-weighted, or equal-weighted), so ``z_peer = z_ours * s0 / s1`` on each
    date and column. ``s1^2 = sum (x - m)^2 / (n - 1)`` (n non-null rows) and
    ``sum z_ours^2 = sum (x - m)^2 / s0^2``, so ``s0 / s1 = sqrt((n - 1) / sum z_ours^2)``
    exactly. Equal-weighted, ``m`` is the plain mean, ``sum z_ours^2 = n`` and the factor
    is ``sqrt((n - 1) / n)`` (used as such); cap-weighted (skfolio's std around the
    cap-weighted mean), ``sum z_ours^2 = n + n (mean - m)^2 / s0^2`` varies by date.
    """

    def factor(c: str) -> pl.Expr:
        n = pl.col(c).count()
        squares = pl.col(c).pow(2).sum() if cap_weighted else n
        return ((n - 1) / squares).sqrt().over("date")

    return ours.with_columns(pl.col(c) * factor(c) for c in COLS)


def _max_abs_diff(a: pl.Series, b: pl.Series, what: str) -> float:
    """Max abs difference of two columns with the same null pattern (else it raises)."""
    if not a.is_null().equals(b.is_null()):
        msg = f"{what}: null patterns differ ({a.null_count()} vs {b.null_count()} nulls)"
        raise AssertionError(msg)
    diff = (a - b).abs().fill_null(0.0).max()
    return float(diff or 0.0)  # type: ignore[arg-type]


def _sums_of(frame: pl.DataFrame) -> list[float]:
    return [float(v) for v in frame.select(pl.col(COLS).sum()).row(0)]


def verify_peers(path: Path, names: list[str] | None) -> dict[str, Any]:
    """Each peer's full result against the matching variant of ours, rescaled (all cells).

    The comparison is like with like: our z-scores go through :func:`peer_reference`
    (the peers' std: ddof=1, and for ``skfolio_cap`` around the cap-weighted mean; the
    bounds and the means are the same), then every cell must be within
    ``PEER_TOLERANCE`` (absolute: z-scores are of order 1), with the same nulls (NaN
    for skfolio). The peer runs as timed (:func:`polars_ds_zscore`,
    :func:`skfolio_zscores`); ours keeps the file's (date, asset) rows, which are the
    full grid in date-major order (checked), so row ``i`` of ours is cell ``i`` of
    skfolio's flattened dates x assets matrix (the reshape of :func:`_wide`).
    Returns the max differences and the expected per-column sums of every variant
    involved (ours, and ours rescaled for the peers), which the timed runs must give.
    """
    peers = [p for p in PEERS if names is None or p in names]
    needed = {PEERS[p] for p in peers}
    if names is None or "ours_equal" in names:
        needed.add("ours_equal")
    keys = pl.read_parquet(path, columns=["date", "asset"])
    dates = keys["date"].unique(maintain_order=True)
    assets = keys["asset"].head(keys.height // dates.len())
    grid = (
        np.repeat(np.arange(dates.len()), assets.len()),
        np.tile(np.arange(assets.len()), dates.len()),
    )
    if keys.height != dates.len() * assets.len() or not (
        keys["date"].equals(dates.gather(grid[0])) and keys["asset"].equals(assets.gather(grid[1]))
    ):
        msg = "the panel is not the full (date, asset) grid in date-major order"
        raise AssertionError(msg)
    ours: dict[str, pl.DataFrame] = {}
    for name in needed:
        weights = "mcap" if name == "ours" else None
        lf = _ours(path, check_keys=True, weights=weights).select("date", "asset", *COLS)
        ours[name] = lf.collect(engine="streaming")
        if not ours[name].select("date", "asset").equals(keys):
            msg = f"{name}: rows are not in the file's (date, asset) order"
            raise AssertionError(msg)
    diffs: dict[str, float] = {}
    sums = {name: _sums_of(frame) for name, frame in ours.items()}
    for peer in peers:
        ref = peer_reference(ours[PEERS[peer]], cap_weighted=PEERS[peer] == "ours")
        sums[peer] = _sums_of(ref)
        worst = 0.0
        if peer == "polars_ds":
            theirs = polars_ds_zscore(pl.scan_parquet(path)).select(COLS).collect()
            for c in COLS:
                worst = max(worst, _max_abs_diff(theirs[c], ref[c], f"{peer} {c}"))
        else:
            zs = skfolio_zscores(path, cap_weighted=peer == "skfolio_cap")
            for c, z in zip(COLS, zs, strict=True):
                assert z.shape == (dates.len(), assets.len())
                a = pl.Series(z.ravel(), nan_to_null=True)
                worst = max(worst, _max_abs_diff(a, ref[c], f"{peer} {c}"))
        if not worst <= PEER_TOLERANCE:
            msg = f"{peer} and {PEERS[peer]} (rescaled) differ by {worst:.3g} > {PEER_TOLERANCE:g}"
            raise AssertionError(msg)
        diffs[peer] = worst
    return {"max_diff": diffs, "sums": sums}


def check_sums(
    results: dict[str, list[bench.Run]], n_rows: int, expected: dict[str, list[float]]
) -> None:
    """The reductions of all variants that compute z-scores must agree.

    Those of ours (cap-weighted) must match the first run of ``ours``; those of
    ``ours_equal`` and the peers, the sums :func:`verify_peers` computed from ours.
    """
    refs = dict.fromkeys(
        ("ours", "ours_check_keys", "ours_in_memory", "polars_minimal", "pandas"),
        results["ours"][0].checksum,
    )
    refs |= expected
    for name, ref in refs.items():
        for run in results.get(name, []):
            for col, a, b in zip(COLS, ref, run.checksum, strict=True):
                if abs(a - b) > 1e-9 * n_rows:
                    msg = f"{name}: sum of {col} is {b!r}, expected {a!r}"
                    raise AssertionError(msg)


# -------------------------------------------------------------------------- report


def _met(ok: bool) -> str:  # noqa: FBT001
    return "met" if ok else "NOT met"


def render(
    results: dict[str, list[bench.Run]],
    *,
    info: dict[str, str],
    shape: tuple[int, int],
    file_mb: float,
    max_diff: float,
    peer_diffs: dict[str, float],
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
            f"{max_diff:.2e} (same null pattern)"
            + "".join(
                f"; `{peer}` == `{PEERS[peer]}` rescaled to the peer's ddof=1 std on every "
                f"cell, max abs diff {diff:.2e}"
                for peer, diff in peer_diffs.items()
            )
            + "; the per-column sums of all z-score variants agree."
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
    goals = [f"ours / IO floor = **{within:.2f}x** (goal <= 3x: {_met(within <= 3)})"]
    # pandas and the peers: their time over that of the variant of ours computing the same.
    for theirs, label, mine, target in (
        ("pandas", "pandas", "ours", 10.0),
        ("polars_ds", "polars-ds", "ours_equal", 2.0),
        ("skfolio_cap", "skfolio (cap-weighted)", "ours", 3.0),
        ("skfolio", "skfolio (equal-weighted)", "ours_equal", None),
    ):
        if theirs in best and mine in best:
            ratio = best[theirs] / best[mine]
            text = f"{label} / `{mine}` = **{ratio:.1f}x**"
            if target is not None:
                text += f" (goal >= {target:g}x: {_met(ratio >= target)})"
            goals.append(text)
    lines += ["", "Goals: " + "; ".join(goals) + "."]
    return bench.report(lines, info, conditions)


# ---------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench.parser(
        __doc__,
        tolerance=1e-9,
        tolerance_help="max abs diff vs pandas",
        output_help="markdown file for the table (default: benchmarks/RESULTS.md for the full "
        "run, none for --small/--shape/--variants)",
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
    full = shape == (2_500, 4_000) and args.variants is None  # a subset prints only
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
    for needed in ("io_floor", "ours", "pandas", *(PEERS[p] for p in PEERS if p in names)):
        if needed not in names:
            names.append(needed)
    names = [v.name for v in VARIANTS if v.name in names]

    peer_diffs: dict[str, float] = {}
    expected: dict[str, list[float]] = {}
    if any(n in PEERS or n == "ours_equal" for n in names):
        print("verifying the peers against polars_factors ...", flush=True)
        checked = HARNESS.spawn(
            "--child", "verify_peers", "--path", str(path), "--variants", *names
        )
        peer_diffs, expected = checked["max_diff"], checked["sums"]
        for peer, diff in peer_diffs.items():
            print(
                f"  {peer} vs {PEERS[peer]} (rescaled to ddof=1): max abs diff {diff:.2e} "
                f"(tolerance {PEER_TOLERANCE:g})",
                flush=True,
            )

    conditions = bench.Conditions()
    results = HARNESS.measure(names, path, args.repeats)
    check_sums(results, n_rows, expected)

    table = render(
        results,
        info=bench.machine_info(VERSIONS),
        shape=shape,
        file_mb=file_mb,
        max_diff=max_diff,
        peer_diffs=peer_diffs,
        repeats=args.repeats,
        conditions=conditions.describe(),
    )
    header = "## `standardize.py`: winsorize + cap-weighted zscore\n\n"
    bench.publish(table, output, "standardize", header)
    return 0


if __name__ == "__main__":
    sys.exit(main())
