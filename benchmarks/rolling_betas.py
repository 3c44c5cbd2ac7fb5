"""Benchmark: rolling time-series betas of every asset on 4 factors (252-day window).

Spec: a synthetic long panel of 3,000 assets x 2,500 days (7.5M rows, sorted by date
then asset), 4 factor returns shared by all assets on a date, returns = alpha +
beta'f + noise with a few nulls, read from parquet. In the same run, on the same file,
compare

- ours: ``pf.betas(pl.scan_parquet(path), "ret", ["f1", "f2", "f3", "f4"],
  window=252).collect()``: per input row alpha, 4 betas, their standard errors and
  t-statistics, R² and the number of observations (statsmodels ``RollingOLS``
  semantics: the first 251 rows of an asset are null). Also timed with
  ``check_keys=False``, ``engine="in-memory"`` and with only alpha and the betas
  selected (``betas_only``: the API has no coefficients-only mode; the projection
  lets Polars skip what is not selected, if it can);
- (a) the IO floor: a streaming scan that only sums the columns the fit reads;
- (b) polars-ols: ``pl.col("ret").least_squares.rolling_ols(*factors, window_size=252,
  add_intercept=True, mode="coefficients", null_policy="drop_window").over("asset")``
  (its rolling model has no statistics mode: coefficients only; ``drop_window`` is its
  statsmodels-like handling of nulls inside a window);
- (c) pandas + statsmodels: ``RollingOLS(y, sm.add_constant(X), window=252).fit()``
  looped over assets, reading ``params``, ``bse``, ``tvalues`` and ``rsquared`` (what
  ours computes), and the same with ``fit(params_only=True)`` (coefficients only).

(c) is timed on the first ``--sm-assets`` assets (default 300) and scaled linearly to
all assets; the table says so.

Goals: at least 20x faster than (c) and at least 2x faster than (b); report peak memory.

Before any timing, ours (streaming) is compared with ours (in-memory) on every output
cell, with polars-ols on every coefficient of every full window, and with statsmodels
(params, bse, tvalues, rsquared, nobs) on a few assets, including assets with null
returns. The run stops if any check fails.

Each measurement runs in a fresh subprocess (so peak RSS, ``ru_maxrss`` of that
process, is per variant), ``--repeats`` times (default 3), interleaving the
variants; the table shows the best wall time, all the runs, the user and system CPU
time of the fastest run and the largest peak RSS. Wall and CPU times cover the work
only (reading the file included, the result collected in memory), not the
interpreter start, the imports or the checksum computed afterwards.

Usage (from the repository root)::

    python benchmarks/rolling_betas.py           # full run (~10 min), writes RESULTS.md
    python benchmarks/rolling_betas.py --small   # smoke run (~1 min), prints only

The panel is generated once (seeded) under ``benchmarks/data/`` (git-ignored).
Needs ``pandas``, ``statsmodels`` and ``polars-ols`` besides the package.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import _harness as bench  # benchmarks/_harness.py
import numpy as np
import polars as pl

import polars_factors as pf

SEED = 20261122
FACTORS = ["f1", "f2", "f3", "f4"]
WINDOW = 252
NULL_FRAC = 0.002  # share of null returns
FULL = {"shape": (2_500, 3_000), "sm_assets": 300}
SMALL = {"shape": (500, 300), "sm_assets": 30}
VERIFY_ASSETS = 6  # assets checked against statsmodels
Engine = Literal["streaming", "in-memory"]
VERSIONS = ("polars", "polars-ols", "pandas", "statsmodels", "numpy")
COEFS = ["alpha", *(f"beta_{f}" for f in FACTORS)]


# --------------------------------------------------------------------------- data


def panel_path(n_dates: int, n_assets: int) -> Path:
    return bench.DATA_DIR / f"rolling_betas_{n_dates}x{n_assets}_seed{SEED}.parquet"


def panel_dates(n_dates: int) -> pl.Series:
    """The trading dates of the panel: weekdays from 2000-01-03."""
    return bench.weekdays(dt.date(2000, 1, 3), n_dates)


def _asset_table(n_assets: int) -> dict[str, np.ndarray]:
    """Per asset: alpha, the 4 betas and the noise volatility (fixed over time)."""
    rng = np.random.default_rng([SEED, n_assets])
    beta = np.column_stack(
        [rng.normal(1.0, 0.3, n_assets), *(rng.normal(0.0, 0.5, n_assets) for _ in range(3))]
    )
    return {
        "alpha": rng.normal(0.0, 2e-4, n_assets),  # daily: about +-5% a year
        "beta": beta,
        "vol": rng.lognormal(np.log(0.015), 0.4, n_assets),  # daily idiosyncratic vol
    }


def _chunk(chunk: int, dates: pl.Series, n_assets: int) -> pl.DataFrame:
    """Rows of ``dates`` (one chunk), sorted by date then asset, seeded by chunk."""
    rng = np.random.default_rng([SEED, chunk])
    table = _asset_table(n_assets)
    n_dates = len(dates)
    # Daily factor returns: a market factor (mean 3 bp, vol 1%) and three
    # long-short factors (vol 0.5%), the same for every asset on a date.
    f = np.column_stack(
        [rng.normal(3e-4, 0.01, n_dates), *(rng.normal(0.0, 0.005, n_dates) for _ in range(3))]
    )
    ret = (
        table["alpha"][None, :]
        + f @ table["beta"].T
        + rng.standard_normal((n_dates, n_assets)) * table["vol"][None, :]
    ).ravel()
    ret[rng.random(ret.size) < NULL_FRAC] = np.nan
    day = np.repeat(np.arange(n_dates), n_assets)
    return pl.DataFrame(
        {
            "date": dates.gather(day),
            "asset": np.tile(np.arange(n_assets, dtype=np.int32), n_dates),
            **{name: f[day, k] for k, name in enumerate(FACTORS)},
            "ret": ret,
        }
    ).with_columns(pl.col("ret").fill_nan(None))


def generate_panel(path: Path, n_dates: int, n_assets: int) -> None:
    """Write the panel chunk by chunk, then stream the chunks into one parquet file."""
    bench.write_chunked(path, panel_dates(n_dates), lambda i, dates: _chunk(i, dates, n_assets))


# ----------------------------------------------------------------------- variants
# Each returns what it computed; the child times the call and computes the checksum
# (the sum of beta_f1 over the full windows) afterwards, outside the timing.


def _ours(
    path: Path,
    *,
    engine: Engine = "streaming",
    check_keys: bool | None = None,
    betas_only: bool = False,
) -> pl.DataFrame:
    lf = pf.betas(pl.scan_parquet(path), "ret", FACTORS, window=WINDOW, check_keys=check_keys)
    if betas_only:
        lf = lf.select("asset", "date", *COEFS)
    return lf.collect(engine=engine)


def run_io_floor(path: Path, _: int | None) -> pl.DataFrame:
    """Read every column the fit reads (date, asset, ret, factors) and reduce it."""
    return (
        pl.scan_parquet(path)
        .select(pl.col("date").to_physical().sum(), pl.col("asset", "ret", *FACTORS).sum())
        .collect(engine="streaming")
    )


def run_ours(path: Path, _: int | None) -> pl.DataFrame:
    return _ours(path)


def run_ours_no_check(path: Path, _: int | None) -> pl.DataFrame:
    return _ours(path, check_keys=False)


def run_ours_check_now(path: Path, _: int | None) -> pl.DataFrame:
    return _ours(path, check_keys=True)


def run_ours_in_memory(path: Path, _: int | None) -> pl.DataFrame:
    return _ours(path, engine="in-memory")


def run_ours_betas_only(path: Path, _: int | None) -> pl.DataFrame:
    return _ours(path, betas_only=True)


def polars_ols_frame(path: Path) -> pl.DataFrame:
    """polars-ols rolling OLS per asset: one struct of coefficients per row."""
    import polars_ols  # noqa: F401, PLC0415 (registers the .least_squares namespace)

    coef = (
        pl.col("ret")
        .least_squares.rolling_ols(
            *FACTORS,
            window_size=WINDOW,
            add_intercept=True,
            mode="coefficients",
            null_policy="drop_window",
        )
        .over("asset")
    )
    return pl.scan_parquet(path).select("asset", "date", coef.alias("coef")).collect()


def run_polars_ols(path: Path, _: int | None) -> pl.DataFrame:
    return polars_ols_frame(path)


def statsmodels_loop(
    path: Path, assets: int | list[int] | None, *, params_only: bool = False
) -> dict[int, dict[str, np.ndarray]]:
    """A loop over assets calling statsmodels ``RollingOLS``; the efficient version.

    ``assets``: all of them (None), the first ``assets`` (int) or these ids (list).

    The panel is read once with pandas, and each asset fits on numpy slices of it
    (no per-asset pandas frames), so the loop measures statsmodels, not pandas
    indexing. Missing returns: statsmodels' default ``missing="drop"`` (a window
    uses its complete rows), the semantics of ours.
    """
    import pandas as pd  # noqa: PLC0415
    import statsmodels.api as sm  # noqa: PLC0415
    from statsmodels.regression.rolling import RollingOLS  # noqa: PLC0415

    if assets is None:
        filters = None
    elif isinstance(assets, int):  # the first `assets` assets
        filters = [("asset", "<", assets)]
    else:
        filters = [("asset", "in", assets)]
    df = pd.read_parquet(path, columns=["asset", "ret", *FACTORS], filters=filters)
    y = df["ret"].to_numpy(dtype=float, na_value=np.nan)
    x = sm.add_constant(df[FACTORS].to_numpy())
    out = {}
    for asset, idx in df.groupby("asset", sort=True).indices.items():
        fit = RollingOLS(y[idx], x[idx], window=WINDOW).fit(params_only=params_only)
        res = {"params": fit.params}
        if not params_only:
            res |= {
                "bse": fit.bse,
                "tvalues": fit.tvalues,
                "rsquared": fit.rsquared,
                "nobs": fit.nobs,
            }
        out[int(asset)] = res
    return out


def run_statsmodels(path: Path, n_assets: int | None) -> dict[int, dict[str, np.ndarray]]:
    return statsmodels_loop(path, n_assets)


def run_statsmodels_params(path: Path, n_assets: int | None) -> dict[int, dict[str, np.ndarray]]:
    return statsmodels_loop(path, n_assets, params_only=True)


def run_baseline(path: Path, _: int | None) -> None:
    """Nothing: the peak RSS of the interpreter and the imports (polars, numpy, package)."""


def checksum(name: str, out: Any) -> tuple[float | None, int | None]:
    """Sum of beta_f1 over the full windows, and the number of assets it covers."""
    if out is None or name == "io_floor":
        return None, None
    if name.startswith("statsmodels"):
        total = sum(float(np.nansum(r["params"][WINDOW - 1 :, 1])) for r in out.values())
        return total, len(out)
    frame: pl.DataFrame = out
    if name == "polars_ols":  # it also estimates the first WINDOW - 1 rows of an asset
        frame = frame.filter(pl.int_range(pl.len()).over("asset") >= WINDOW - 1).select(
            "asset", pl.col("coef").struct.field("f1").alias("beta_f1")
        )
    return float(frame["beta_f1"].sum()), frame["asset"].n_unique()


VARIANTS = [
    bench.Variant("io_floor", "(a) streaming scan + sum of date, asset, ret, f1..f4", run_io_floor),
    bench.Variant(
        "ours",
        "`pf.betas(..., window=252)`: alpha, betas, std errors, t-stats, R², n_obs "
        "(the time-order check inside the plan)",
        run_ours,
    ),
    bench.Variant("ours_no_check", "same, check_keys=False (no order check)", run_ours_no_check),
    bench.Variant(
        "ours_check_now",
        "same, check_keys=True (the order check reads the keys at call time)",
        run_ours_check_now,
    ),
    bench.Variant("ours_in_memory", 'same, engine="in-memory"', run_ours_in_memory),
    bench.Variant(
        "ours_betas_only",
        "same, only asset, date, alpha and betas selected before collect",
        run_ours_betas_only,
    ),
    bench.Variant(
        "polars_ols",
        '(b) polars-ols `rolling_ols(mode="coefficients", null_policy="drop_window")'
        '.over("asset")`: alpha and betas',
        run_polars_ols,
        ref="ours",
    ),
    bench.Variant(
        "statsmodels",
        "(c) loop over assets, statsmodels `RollingOLS(...).fit()`: params, bse, tvalues, rsquared",
        run_statsmodels,
        subset=True,
        ref="ours",
    ),
    bench.Variant(
        "statsmodels_params",
        "(c') same with `fit(params_only=True)`: params only",
        run_statsmodels_params,
        subset=True,
        ref="ours_betas_only",
    ),
    bench.Variant("baseline", "imports only (peak RSS floor)", run_baseline),
]
HARNESS = bench.Harness(__file__, VARIANTS, generate_panel)
SAME_RESULT = ("ours", "ours_no_check", "ours_in_memory", "ours_betas_only", "polars_ols")


# ------------------------------------------------------------------- verification


def _max_abs(
    a: pl.Series, b: pl.Series | np.ndarray, what: str, *, relative: bool = False
) -> float:
    """Max abs (or relative) difference; the two must be missing at the same rows."""
    x = a.cast(pl.Float64).fill_null(np.nan).to_numpy()
    y = np.asarray(b, dtype=float)
    if not np.array_equal(np.isnan(x), np.isnan(y)):
        msg = f"{what}: missing at different rows ({np.isnan(x).sum()} vs {np.isnan(y).sum()})"
        raise AssertionError(msg)
    diff = np.abs(x - y)
    if relative:
        diff /= np.maximum(1.0, np.abs(y))
    return float(np.nanmax(diff)) if diff.size else 0.0


def verify(path: Path, tolerance: float) -> dict[str, float]:
    """Compare ours with itself (engines), polars-ols (every row) and statsmodels (a few).

    Frames are aligned by sorting on (asset, date); that ours has exactly one row per
    input row is checked on the keys.
    """
    keys = ["asset", "date"]
    ours = _ours(path).sort(keys)
    rows = pl.scan_parquet(path).select(keys).sort(keys).collect()
    if not ours.select(keys).equals(rows):
        msg = "ours: the (asset, date) keys of the output are not those of the input"
        raise AssertionError(msg)
    checks: dict[str, float] = {}
    in_memory = _ours(path, engine="in-memory").sort(keys)
    numeric = [c for c in ours.columns if c not in keys]
    checks["in-memory engine vs streaming, every output cell"] = max(
        _max_abs(in_memory[c], ours[c].to_numpy(), f"in-memory {c}") for c in numeric
    )
    betas_only = _ours(path, betas_only=True).sort(keys)
    checks["betas_only vs full output, alpha and betas"] = max(
        _max_abs(betas_only[c], ours[c].to_numpy(), f"betas_only {c}") for c in COEFS
    )

    # polars-ols: every full window (it also fits the first WINDOW - 1 rows).
    ols = polars_ols_frame(path).unnest("coef").sort(keys)
    full = ours["n_obs"].is_not_null()
    names = {"alpha": "const", **{f"beta_{f}": f for f in FACTORS}}
    checks["polars-ols coefficients, every full window"] = max(
        _max_abs(ols[theirs].filter(full), ours[mine].filter(full).to_numpy(), f"ols {mine}")
        for mine, theirs in names.items()
    )

    # statsmodels on a few assets, those with the most null returns first.
    nulls = (
        pl.scan_parquet(path)
        .group_by("asset")
        .agg(pl.col("ret").null_count().alias("n"))
        .sort("n", "asset", descending=[True, False])
        .head(VERIFY_ASSETS)
        .collect()
    )
    picked = nulls["asset"].to_list()
    sm = statsmodels_loop(path, picked)
    worst = {"params": 0.0, "bse": 0.0, "tvalues": 0.0, "rsquared": 0.0, "nobs": 0.0}
    for asset in picked:
        mine = ours.filter(pl.col("asset") == asset)
        res = sm[asset]
        # statsmodels reports nobs 0 (not NaN) before the first full window
        nobs = np.where(np.isnan(res["params"][:, 0]), np.nan, res["nobs"])
        for k, name in enumerate(COEFS):
            worst["params"] = max(
                worst["params"], _max_abs(mine[name], res["params"][:, k], f"sm {name}")
            )
            worst["bse"] = max(
                worst["bse"],
                _max_abs(mine[f"{name}_std_error"], res["bse"][:, k], f"sm bse {name}"),
            )
            worst["tvalues"] = max(
                worst["tvalues"],
                _max_abs(
                    mine[f"{name}_t_stat"], res["tvalues"][:, k], f"sm t {name}", relative=True
                ),
            )
        worst["rsquared"] = max(worst["rsquared"], _max_abs(mine["r2"], res["rsquared"], "sm r2"))
        worst["nobs"] = max(worst["nobs"], _max_abs(mine["n_obs"], nobs, "sm nobs"))
    n_null = nulls["n"].to_list()
    label = f"{len(picked)} assets ({min(n_null)}-{max(n_null)} null returns each)"
    checks[f"statsmodels params, {label}"] = worst["params"]
    checks[f"statsmodels bse, {label}"] = worst["bse"]
    checks[f"statsmodels tvalues (relative to max(1, |t|)), {label}"] = worst["tvalues"]
    checks[f"statsmodels rsquared, {label}"] = worst["rsquared"]
    checks[f"statsmodels nobs, {label}"] = worst["nobs"]
    bench.check_tolerance(checks, tolerance)
    return checks


# ------------------------------------------------------------------ subprocesses


def child(args: argparse.Namespace) -> int:
    """The work of a child process: generate, verify, or run one variant once.

    The checksum of a variant's result is computed after the clock stops.
    """
    return HARNESS.child(
        args,
        verify=lambda: verify(args.path, args.tolerance),
        run=lambda v: bench.timed(
            lambda: v.fn(args.path, args.assets), lambda out: checksum(v.name, out)
        ),
    )


def check_sums(results: dict[str, list[bench.Run]], n_assets: int) -> None:
    """Repeated runs, engines and polars-ols must give the same sum of beta_f1."""
    bench.check_checksums(results, SAME_RESULT, 1e-9 * n_assets * 1_000, "sum of beta_f1")


# -------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Setup:
    shape: tuple[int, int]
    sm_assets: int
    mb: float
    repeats: int
    blas: str


def render(
    results: dict[str, list[bench.Run]],
    *,
    setup: Setup,
    checks: dict[str, float],
    info: dict[str, str],
    conditions: str,
) -> str:
    n_dates, n_assets = setup.shape
    scale = n_assets / setup.sm_assets
    full_s = HARNESS.scaled_best(results, scale)
    peak = bench.peaks(results)
    lines = [
        (
            f"Panel: {n_dates:,} dates x {n_assets:,} assets = {n_dates * n_assets:,} rows, "
            "sorted by date then asset; date, asset (Int32), f1..f4 (factor returns shared "
            "by all assets on a date: market N(3bp, 1%), three N(0, 0.5%)), ret = alpha + "
            "beta'f + N(0, vol) with asset-specific alpha, betas and vol (lognormal around "
            f"1.5%), {NULL_FRAC:.1%} null returns; parquet {setup.mb:,.0f} MB. "
            f"Window {WINDOW} rows, with an intercept."
        ),
        "",
        "Checked first (max abs difference unless stated):",
        "",
        *bench.check_lines(checks),
        "",
        (
            f"Best of {setup.repeats} fresh processes (variants interleaved); wall and CPU "
            "time cover reading the file and computing the result in memory, not the "
            "imports. CPU = user + system time of the fastest run. Peak RSS = max over the "
            "runs of the process's ru_maxrss, imports included (see `baseline`). **Rows "
            f"marked * were timed on the first {setup.sm_assets:,} assets only** (the whole "
            f"loop would take many minutes); their full-panel time is the measured time x "
            f"{scale:g} (the loop is linear in the number of assets) and their peak RSS is "
            f"that of the subset. Every child runs with {setup.blas} (numpy's BLAS; Polars "
            "keeps its thread pool)."
        ),
        "",
        (
            "| variant | what | assets timed | best wall (s) | all runs (s) | CPU user + sys (s) "
            "| full-panel wall (s) | x IO floor (a) | x slower than ours | peak RSS (MB) |"
        ),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += HARNESS.scaled_rows(results, n_all=n_assets, n_subset=setup.sm_assets, ref_name=True)

    ours = full_s["ours"]
    vs_sm = full_s["statsmodels"] / ours
    vs_ols = full_s["polars_ols"] / ours
    vs_ols_same = full_s["polars_ols"] / full_s["ours_betas_only"]
    lines += [
        "",
        "Goals:",
        "",
        bench.goal(
            "statsmodels RollingOLS loop (scaled) / ours",
            round(vs_sm, 1),
            ">= 20x",
            met=vs_sm >= 20,
        ),
        bench.goal("polars-ols / ours", round(vs_ols, 1), ">= 2x", met=vs_ols >= 2),
        (
            f"- polars-ols / ours_betas_only (the same output: coefficients only): "
            f"**{vs_ols_same:.1f}**"
        ),
        (
            f"- peak RSS of ours: **{peak['ours']:,.0f} MB** (polars-ols "
            f"{peak['polars_ols']:,.0f} MB; IO floor {peak['io_floor']:,.0f} MB; imports "
            f"alone {peak['baseline']:,.0f} MB)"
        ),
    ]
    return bench.report(lines, info, conditions)


# ---------------------------------------------------------------------------- main


def parse_args(
    argv: list[str] | None, *, doc: str | None = __doc__, small_sm_assets: int = 30
) -> argparse.Namespace:
    """The options of this script, and of ``robust_betas.py`` (same panel, own ``doc``)."""
    parser = bench.parser(doc or "", tolerance=1e-8)
    parser.add_argument(
        "--small",
        action="store_true",
        help=f"smoke run: 500 x 300 panel, statsmodels on {small_sm_assets} assets",
    )
    parser.add_argument(
        "--sm-assets", type=int, default=None, help="assets the statsmodels loops are timed on"
    )
    parser.add_argument(
        "--variants", nargs="+", default=None, help="time only these (default: all)"
    )
    parser.add_argument("--assets", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child(args)

    sizes = SMALL if args.small else FULL
    shape: tuple[int, int] = sizes["shape"]  # type: ignore[assignment]
    sm_assets = int(args.sm_assets or sizes["sm_assets"])  # type: ignore[call-overload]
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
    path = HARNESS.ensure_panel(panel_path(*shape), shape, regenerate=args.regenerate)

    checks = HARNESS.cross_check(path, args.tolerance)

    conditions = bench.Conditions()
    subset_args = ["--assets", str(sm_assets)]
    results = HARNESS.measure(names, path, args.repeats, subset_args=subset_args, width=20)
    if "ours" in results:
        check_sums(results, shape[1])
    subset = [n for n in names if HARNESS.by_name[n].subset]
    bench.check_counts(results, subset, sm_assets, "assets")
    during = conditions.describe()
    if partial:
        for name, runs in results.items():
            best = min(runs, key=lambda r: r.seconds)
            print(f"{name:20s} best {best.seconds:.3f} s, peak {best.peak_mb:,.0f} MB")
        return 0

    setup = Setup(
        shape=shape,
        sm_assets=sm_assets,
        mb=path.stat().st_size / 1024**2,
        repeats=args.repeats,
        blas=blas,
    )
    info = bench.machine_info(VERSIONS, gpu=True)
    table = render(results, setup=setup, checks=checks, info=info, conditions=during)
    header = "## `rolling_betas.py`: rolling time-series betas (252-day window, 4 factors)\n\n"
    bench.publish(table, output, "rolling_betas", header)
    return 0


if __name__ == "__main__":
    sys.exit(main())
