"""Benchmark: robust standard errors of rolling betas (HC0, HC1, HAC) against classical.

Spec: the panel of ``rolling_betas.py`` (the same parquet file, reused: 3,000 assets x
2,500 days, 7.5M rows, sorted by date then asset, 4 factor returns shared by all assets
on a date, returns = alpha + beta'f + noise, 0.2% null returns). Rolling 252-row
regressions with an intercept, ``pf.betas(pl.scan_parquet(path), "ret", ["f1", "f2",
"f3", "f4"], window=252, cov_type=...).collect()`` (default streaming engine), timed
for every ``cov_type`` in the same run, on the same file:

- ``ours``: ``cov_type="classical"`` (the default), the reference of the costs;
- ``ours_hc0``, ``ours_hc1``: White's HC0 and HC1 (HC0 times n / (n - p));
- ``ours_hac1``, ``ours_hac5``: Newey-West HAC with Bartlett weights and
  ``nw_lags=1`` / ``5`` (no small-sample correction);
- ``ours_hac5_subset``: HAC(5) on the first ``--sm-assets`` assets only (the scan
  filtered on ``asset``), the same work as the statsmodels HAC loop;
- (a) the IO floor of ``rolling_betas.py``: a streaming scan that only sums the
  columns the fit reads;
- (b) pandas + statsmodels ``RollingOLS(y, sm.add_constant(X), window=252)
  .fit(cov_type="HCCM")`` (HCCM is HC0) looped over assets on numpy slices, reading
  ``params`` and ``bse``; compared with ``ours_hc0``;
- (c) pandas + statsmodels, a loop over assets and over every full window of
  ``sm.OLS(y_w, X_w, missing="drop").fit(cov_type="HAC", cov_kwds={"maxlags": 5})``
  (statsmodels has no rolling HAC), reading ``params`` and ``bse``; compared with
  ``ours_hac5`` (full panel, measured) and with ``ours_hac5_subset`` (the same assets).

(b) and (c) are timed on the first ``--sm-assets`` assets (default 30: the HAC loop
fits ~2,250 windows an asset, ~0.6 s an asset on 2 cores) and scaled linearly to all
assets; the table says so.

Before any timing, a child checks (max relative difference of the std errors; the run
stops above ``--tolerance``, default 1e-8) on the 6 assets with the most null returns:

- ``ours_hc0`` == ``RollingOLS(...).fit(cov_type="HCCM")`` on every full window
  (both drop a window's rows with a missing return; params too, max abs);
- ``cov_type="HC1"`` == ``OLS(y_w, X_w, missing="drop").fit(cov_type="HC1")`` on 50
  sampled full windows, half of them with a null return;
- HAC(1) and HAC(5) == ``OLS(...).fit(cov_type="HAC", cov_kwds={"maxlags": L})`` on
  50 sampled full windows without a null return (HAC lags count rows: a null row stays
  in the window as a zero score and a lag step, where statsmodels drops it and closes
  the gap, so windows with a null return differ by definition);
- the alpha and betas of every cov_type == classical (max abs): HC0 and HC1 on the
  full panel, HAC(1) and HAC(5) on the 6 assets (each asset's fit is its own, so a
  scan filtered on assets gives the same numbers; checked for HC0).

Each measurement runs in a fresh subprocess, ``--repeats`` times (default 3),
interleaving the variants (``_harness.py``); the table shows the best wall time, all
runs, the user and system CPU time of the fastest run and the largest peak RSS. Wall
and CPU times cover the work only (reading the file included, the result collected in
memory), not the interpreter start, the imports (pandas, pyarrow and statsmodels are
imported before the clock of a statsmodels variant: ~1 s, which the x 100 scaling
would turn into minutes) or the checksum computed afterwards. The
checksum of a result (computed after the clock stops) is the sum of ``beta_f1`` and of
``beta_f1_std_error`` over the full windows: every cov_type gives the classical sum of
``beta_f1`` (and the statsmodels loops that of ``ours_hac5_subset``, the same assets),
and the repeated runs of a variant give the same two sums.

Usage (from the repository root)::

    python benchmarks/robust_betas.py           # full run (~15 min), writes RESULTS.md
    python benchmarks/robust_betas.py --small   # smoke run (~1 min), prints only

The panel is that of ``rolling_betas.py`` (generated once, seeded, under
``benchmarks/data/`` if absent). Needs ``pandas`` and ``statsmodels`` besides the
package.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any, cast

import _harness as bench  # benchmarks/_harness.py
import numpy as np
import polars as pl
import rolling_betas as rb  # benchmarks/rolling_betas.py: the panel and the IO floor

import polars_factors as pf

FACTORS = rb.FACTORS
WINDOW = rb.WINDOW
COEFS = rb.COEFS
SE = [f"{c}_std_error" for c in COEFS]
FULL_SHAPE = cast("tuple[int, int]", rb.FULL["shape"])  # the panels of rolling_betas.py
SMALL_SHAPE = cast("tuple[int, int]", rb.SMALL["shape"])
FULL_SM_ASSETS, SMALL_SM_ASSETS = 30, 5
VERIFY_ASSETS = 6  # assets checked against statsmodels
SAMPLED_WINDOWS = 50  # windows checked against a per-window statsmodels OLS
VERSIONS = ("polars", "pandas", "statsmodels", "numpy")
#: The cov_type options of each variant of ours.
COV: dict[str, dict[str, Any]] = {
    "ours": {},
    "ours_hc0": {"cov_type": "HC0"},
    "ours_hc1": {"cov_type": "HC1"},
    "ours_hac1": {"cov_type": "HAC", "nw_lags": 1},
    "ours_hac5": {"cov_type": "HAC", "nw_lags": 5},
}


# ----------------------------------------------------------------------- variants
# Each returns what it computed; the child times the call and computes the checksum
# (the sums of beta_f1 and beta_f1_std_error over the full windows) afterwards.


def _ours(source: pl.LazyFrame, options: dict[str, Any]) -> pl.DataFrame:
    return pf.betas(source, "ret", FACTORS, window=WINDOW, **options).collect()


def _scan(path: Path, assets: int | list[int] | None = None) -> pl.LazyFrame:
    """The panel; only the first ``assets`` (int) or these ids (list) if given."""
    lf = pl.scan_parquet(path)
    if isinstance(assets, int):
        return lf.filter(pl.col("asset") < assets)
    if assets is not None:
        return lf.filter(pl.col("asset").is_in(assets))
    return lf


def run_ours(path: Path, _: int | None) -> pl.DataFrame:
    return _ours(_scan(path), COV["ours"])


def run_ours_hc0(path: Path, _: int | None) -> pl.DataFrame:
    return _ours(_scan(path), COV["ours_hc0"])


def run_ours_hc1(path: Path, _: int | None) -> pl.DataFrame:
    return _ours(_scan(path), COV["ours_hc1"])


def run_ours_hac1(path: Path, _: int | None) -> pl.DataFrame:
    return _ours(_scan(path), COV["ours_hac1"])


def run_ours_hac5(path: Path, _: int | None) -> pl.DataFrame:
    return _ours(_scan(path), COV["ours_hac5"])


def run_ours_hac5_subset(path: Path, n_assets: int | None) -> pl.DataFrame:
    return _ours(_scan(path, n_assets), COV["ours_hac5"])


def _sm_data(path: Path, n_assets: int | None) -> tuple[np.ndarray, np.ndarray, dict[int, Any]]:
    """The first ``n_assets`` assets read once with pandas: y, X (constant first) and
    each asset's row positions (in date order), as ``rolling_betas.statsmodels_loop``."""
    import pandas as pd  # noqa: PLC0415
    import statsmodels.api as sm  # noqa: PLC0415

    filters = None if n_assets is None else [("asset", "<", n_assets)]
    df = pd.read_parquet(path, columns=["asset", "ret", *FACTORS], filters=filters)
    y = df["ret"].to_numpy(dtype=float, na_value=np.nan)
    x = sm.add_constant(df[FACTORS].to_numpy())
    return y, x, df.groupby("asset", sort=True).indices


def statsmodels_hccm(path: Path, n_assets: int | None) -> dict[int, dict[str, np.ndarray]]:
    """A loop over assets calling ``RollingOLS(...).fit(cov_type="HCCM")`` (HC0).

    Missing returns: statsmodels' default ``missing="drop"`` (a window uses its
    complete rows), the semantics of ours.
    """
    from statsmodels.regression.rolling import RollingOLS  # noqa: PLC0415

    y, x, groups = _sm_data(path, n_assets)
    out = {}
    for asset, idx in groups.items():
        fit = RollingOLS(y[idx], x[idx], window=WINDOW).fit(cov_type="HCCM")
        out[int(asset)] = {"params": fit.params, "bse": fit.bse}
    return out


def statsmodels_hac(
    path: Path, n_assets: int | None, nw_lags: int = 5
) -> dict[int, dict[str, np.ndarray]]:
    """A loop over assets and their full windows calling ``OLS(...).fit(cov_type="HAC")``.

    statsmodels has no rolling HAC: each window is its own ``OLS`` on numpy slices
    (``missing="drop"``). Rows before the first full window are NaN, as in
    ``RollingOLS``.
    """
    import statsmodels.api as sm  # noqa: PLC0415

    y, x, groups = _sm_data(path, n_assets)
    kwds = {"maxlags": nw_lags}
    out = {}
    for asset, idx in groups.items():
        ya, xa = y[idx], x[idx]
        params = np.full(xa.shape, np.nan)
        bse = np.full(xa.shape, np.nan)
        for t in range(WINDOW - 1, len(idx)):
            rows = slice(t - WINDOW + 1, t + 1)
            fit = sm.OLS(ya[rows], xa[rows], missing="drop").fit(cov_type="HAC", cov_kwds=kwds)
            params[t], bse[t] = fit.params, fit.bse
        out[int(asset)] = {"params": params, "bse": bse}
    return out


def run_statsmodels_hccm(path: Path, n_assets: int | None) -> dict[int, dict[str, np.ndarray]]:
    return statsmodels_hccm(path, n_assets)


def run_statsmodels_hac5(path: Path, n_assets: int | None) -> dict[int, dict[str, np.ndarray]]:
    return statsmodels_hac(path, n_assets, 5)


def run_baseline(path: Path, _: int | None) -> None:
    """Nothing: the peak RSS of the interpreter and the imports (polars, numpy, package)."""


def checksum(name: str, out: Any) -> tuple[list[float] | None, int | None]:
    """Sums of beta_f1 and beta_f1_std_error over the full windows; the assets covered."""
    if out is None or name == "io_floor":
        return None, None
    if name.startswith("statsmodels"):
        beta = sum(float(np.nansum(r["params"][WINDOW - 1 :, 1])) for r in out.values())
        se = sum(float(np.nansum(r["bse"][WINDOW - 1 :, 1])) for r in out.values())
        return [beta, se], len(out)
    frame: pl.DataFrame = out
    sums = [float(frame["beta_f1"].sum()), float(frame["beta_f1_std_error"].sum())]
    return sums, frame["asset"].n_unique()


VARIANTS = [
    bench.Variant(
        "io_floor", "(a) streaming scan + sum of date, asset, ret, f1..f4", rb.run_io_floor
    ),
    bench.Variant(
        "ours",
        '`pf.betas(..., window=252)`, cov_type="classical": alpha, betas, std errors, '
        "t-stats, R², n_obs",
        run_ours,
    ),
    bench.Variant("ours_hc0", 'same, cov_type="HC0"', run_ours_hc0, ref="ours"),
    bench.Variant("ours_hc1", 'same, cov_type="HC1"', run_ours_hc1, ref="ours"),
    bench.Variant("ours_hac1", 'same, cov_type="HAC", nw_lags=1', run_ours_hac1, ref="ours"),
    bench.Variant("ours_hac5", 'same, cov_type="HAC", nw_lags=5', run_ours_hac5, ref="ours"),
    bench.Variant(
        "ours_hac5_subset",
        'same (HAC, nw_lags=5) on the statsmodels assets only (scan filtered on "asset")',
        run_ours_hac5_subset,
        subset=True,
        ref="ours_hac5",
    ),
    bench.Variant(
        "statsmodels_hccm",
        '(b) loop over assets, statsmodels `RollingOLS(...).fit(cov_type="HCCM")` (HC0): '
        "params, bse",
        run_statsmodels_hccm,
        subset=True,
        ref="ours_hc0",
    ),
    bench.Variant(
        "statsmodels_hac5",
        '(c) loop over assets and full windows, statsmodels `OLS(y_w, X_w, missing="drop")'
        '.fit(cov_type="HAC", cov_kwds={"maxlags": 5})`: params, bse',
        run_statsmodels_hac5,
        subset=True,
        ref="ours_hac5",
    ),
    bench.Variant("baseline", "imports only (peak RSS floor)", run_baseline),
]
HARNESS = bench.Harness(__file__, VARIANTS, rb.generate_panel)
SAME_BETAS = ("ours", "ours_hc0", "ours_hc1", "ours_hac1", "ours_hac5")  # the full panel
SAME_SUBSET = ("ours_hac5_subset", "statsmodels_hccm", "statsmodels_hac5")  # the sm assets


# ------------------------------------------------------------------- verification


def _nan(s: pl.Series) -> np.ndarray:
    return s.cast(pl.Float64).fill_null(np.nan).to_numpy()


def _diff(x: np.ndarray, y: np.ndarray, what: str, *, relative: bool = False) -> float:
    """Max abs (or relative to |y|) difference; both must be missing at the same rows."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if not np.array_equal(np.isnan(x), np.isnan(y)):
        msg = f"{what}: missing at different rows ({np.isnan(x).sum()} vs {np.isnan(y).sum()})"
        raise AssertionError(msg)
    diff = np.abs(x - y)
    if relative:
        diff /= np.abs(y)
    return float(np.nanmax(diff)) if np.isfinite(diff).any() else 0.0


def _ols(y: np.ndarray, x: np.ndarray, cov_type: str, nw_lags: int = 0) -> Any:
    import statsmodels.api as sm  # noqa: PLC0415

    model = sm.OLS(y, x, missing="drop")
    if cov_type == "HAC":
        return model.fit(cov_type="HAC", cov_kwds={"maxlags": nw_lags})
    return model.fit(cov_type=cov_type)


def verify(path: Path, tolerance: float) -> dict[str, float]:
    """Robust std errors against statsmodels on a few assets; betas against classical.

    Ours comes out sorted by asset, then date (the input's order within an asset): the
    per-asset frames are aligned with the input by position, checked on the dates.
    """
    keys = ["asset", "date"]
    classical = _ours(_scan(path), COV["ours"])
    checks: dict[str, float] = {}

    # The 6 assets with the most null returns.
    nulls = (
        pl.scan_parquet(path)
        .group_by("asset")
        .agg(pl.col("ret").null_count().alias("n"))
        .sort("n", "asset", descending=[True, False])
        .head(VERIFY_ASSETS)
        .collect()
    )
    picked = sorted(nulls["asset"].to_list())
    panel = _scan(path, picked).collect()
    few = _scan(path, picked)
    robust = {
        "HC0": _ours(_scan(path), COV["ours_hc0"]),
        "HC1": _ours(_scan(path), COV["ours_hc1"]),
        "HAC(1)": _ours(few, COV["ours_hac1"]),
        "HAC(5)": _ours(few, COV["ours_hac5"]),
    }
    hc0_few = _ours(few, COV["ours_hc0"])
    few_classical = classical.filter(pl.col("asset").is_in(picked))
    worst_betas = 0.0
    for name, out in robust.items():
        ref = classical if out.height == classical.height else few_classical
        if not out.select(keys).equals(ref.select(keys)):
            msg = f"{name}: the (asset, date) keys differ from the classical output"
            raise AssertionError(msg)
        for c in COEFS:
            worst_betas = max(worst_betas, _diff(_nan(out[c]), _nan(ref[c]), f"{name} {c}"))
    full_hc0 = robust["HC0"].filter(pl.col("asset").is_in(picked))
    checks[f"HC0 on the {len(picked)} assets alone vs on the full panel, every output cell"] = max(
        _diff(_nan(hc0_few[c]), _nan(full_hc0[c]), f"HC0 subset {c}")
        for c in hc0_few.columns
        if c not in keys
    )
    checks["alpha and betas of HC0, HC1 (full panel), HAC(1), HAC(5) vs classical"] = worst_betas

    from statsmodels.regression.rolling import RollingOLS  # noqa: PLC0415

    rng = np.random.default_rng(rb.SEED)
    hccm = {"params": 0.0, "bse": 0.0}
    n_hccm = 0
    with_null: list[tuple[int, int]] = []  # (asset, last row) of the full windows
    without_null: list[tuple[int, int]] = []
    data: dict[int, tuple[np.ndarray, np.ndarray, dict[str, pl.DataFrame]]] = {}
    for asset in picked:
        rows = panel.filter(pl.col("asset") == asset).sort("date")
        mine = {k: out.filter(pl.col("asset") == asset) for k, out in robust.items()}
        for cov, out in mine.items():
            if not out["date"].equals(rows["date"]):
                msg = f"{cov}: asset {asset} is not in date order"
                raise AssertionError(msg)
        y = _nan(rows["ret"])
        x = np.column_stack([np.ones(rows.height), rows.select(FACTORS).to_numpy()])
        data[asset] = (y, x, mine)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            fit = RollingOLS(y, x, window=WINDOW).fit(cov_type="HCCM")
        for k, c in enumerate(COEFS):
            hccm["params"] = max(
                hccm["params"], _diff(_nan(mine["HC0"][c]), fit.params[:, k], f"HCCM {c}")
            )
            hccm["bse"] = max(
                hccm["bse"],
                _diff(_nan(mine["HC0"][SE[k]]), fit.bse[:, k], f"HCCM {SE[k]}", relative=True),
            )
        n_hccm += int(np.isfinite(fit.bse[:, 0]).sum())
        missing = np.isnan(y).astype(int)
        in_window = np.convolve(missing, np.ones(WINDOW, dtype=int))[: len(y)]  # ending at t
        for t in range(WINDOW - 1, len(y)):
            (with_null if in_window[t] else without_null).append((asset, t))
    label = f"{len(picked)} assets ({min(nulls['n'])}-{max(nulls['n'])} null returns each)"
    checks[f"HC0 params vs RollingOLS HCCM, {label}, {n_hccm:,} full windows"] = hccm["params"]
    checks["HC0 bse vs RollingOLS HCCM (relative), same windows"] = hccm["bse"]

    def sample(windows: list[tuple[int, int]], n: int) -> list[tuple[int, int]]:
        picks = rng.choice(len(windows), size=min(n, len(windows)), replace=False)
        return [windows[i] for i in sorted(picks)]

    def per_window(
        name: str, cov_type: str, windows: list[tuple[int, int]], lags: int = 0
    ) -> float:
        worst = 0.0
        for asset, t in windows:
            y, x, mine = data[asset]
            rows = slice(t - WINDOW + 1, t + 1)
            res = _ols(y[rows], x[rows], cov_type, lags)
            got = np.array([mine[name][c][t] for c in SE], dtype=float)
            worst = max(
                worst, _diff(got, res.bse, f"{name} bse, window {asset}/{t}", relative=True)
            )
            got = np.array([mine[name][c][t] for c in COEFS], dtype=float)
            worst_p = _diff(got, res.params, f"{name} params, window {asset}/{t}")
            if worst_p > tolerance:
                msg = f"{name}: params of window ({asset}, {t}) differ by {worst_p:.1e}"
                raise AssertionError(msg)
        return worst

    half = SAMPLED_WINDOWS // 2
    hc1 = sample(with_null, half) + sample(without_null, SAMPLED_WINDOWS - half)
    n_null = len(set(hc1) & set(with_null))
    checks[
        f'HC1 bse vs OLS(missing="drop").fit(cov_type="HC1") (relative), {len(hc1)} '
        f"sampled full windows ({n_null} with a null return)"
    ] = per_window("HC1", "HC1", hc1)
    hac = sample(without_null, SAMPLED_WINDOWS)
    for lags in (1, 5):
        checks[
            f'HAC({lags}) bse vs OLS.fit(cov_type="HAC", maxlags={lags}) (relative), '
            f"{len(hac)} sampled full windows without a null return"
        ] = per_window(f"HAC({lags})", "HAC", hac, lags)
    bench.check_tolerance(checks, tolerance)
    return checks


# ------------------------------------------------------------------ subprocesses


def import_peers() -> None:
    """Import pandas, statsmodels and pyarrow's parquet reader (~1 s on 2 cores).

    Called before the clock of a statsmodels variant starts: scaled x 100 from the
    subset, an import inside the clock would add minutes to the full-panel time.
    """
    import pandas as pd  # noqa: F401, PLC0415
    import pyarrow.parquet  # noqa: F401, PLC0415
    import statsmodels.api  # noqa: PLC0415
    import statsmodels.regression.rolling  # noqa: F401, PLC0415


def run_variant(v: bench.Variant, args: argparse.Namespace) -> dict[str, Any]:
    if v.name.startswith("statsmodels"):
        import_peers()
    return bench.timed(lambda: v.fn(args.path, args.assets), lambda out: checksum(v.name, out))


def child(args: argparse.Namespace) -> int:
    """The work of a child process: generate, verify, or run one variant once.

    The imports of the peers and the checksum of a variant's result are outside the
    clock.
    """
    return HARNESS.child(
        args,
        verify=lambda: verify(args.path, args.tolerance),
        run=lambda v: run_variant(v, args),
    )


def check_sums(results: dict[str, list[bench.Run]], n_assets: int) -> None:
    """Every cov_type gives the classical sum of beta_f1 (full panel); the statsmodels
    loops give that of ``ours_hac5_subset`` (the same assets); the repeated runs of a
    variant give the same sums of beta_f1 and of beta_f1_std_error."""
    tol = 1e-9 * n_assets * 1_000  # as rolling_betas.py, on sums of ~2,250 betas an asset
    for group in (SAME_BETAS, SAME_SUBSET):
        names = [n for n in group if n in results]
        if not names:
            continue
        ref = results[names[0]][0].checksum[0]
        for name in names:
            for run in results[name]:
                if abs(run.checksum[0] - ref) > tol:
                    msg = f"{name}: sum of beta_f1 {run.checksum[0]!r}, {names[0]} {ref!r}"
                    raise AssertionError(msg)
    for name, runs in results.items():
        sums = [r.checksum for r in runs if r.checksum is not None]
        for k, what in enumerate(("beta_f1", "beta_f1_std_error")):
            values = [s[k] for s in sums]
            if values and max(values) - min(values) > 1e-9 * max(1.0, abs(values[0])):
                msg = f"{name}: runs disagree on the sum of {what}: {values}"
                raise AssertionError(msg)


# -------------------------------------------------------------------------- report


Setup = rb.Setup  # the panel shape, statsmodels' subset, file size, repeats, BLAS


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
            f"Panel: that of `rolling_betas.py` (the same file): {n_dates:,} dates x "
            f"{n_assets:,} assets = {n_dates * n_assets:,} rows, sorted by date then asset, "
            f"4 factors, {rb.NULL_FRAC:.1%} null returns; parquet {setup.mb:,.0f} MB. "
            f"Window {WINDOW} rows, with an intercept. Ours: `pf.betas(pl.scan_parquet(path), "
            f'"ret", ["f1", "f2", "f3", "f4"], window=252, cov_type=...).collect()` '
            "(streaming engine); HAC: Newey-West, Bartlett weights, no small-sample "
            "correction (statsmodels' default)."
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
            f"marked * were timed on the first {setup.sm_assets:,} assets only**; their "
            f"full-panel time is the measured time x {scale:g} (statsmodels is linear in the "
            "number of assets; for `ours_hac5_subset` the scaling also multiplies its fixed "
            "costs, reading the whole file included, so it overstates ours) and their peak "
            f"RSS is that of the subset. Every child runs with {setup.blas} (numpy's BLAS; "
            "Polars keeps its thread pool). The ratio column compares full-panel times: "
            "the robust variants with classical `ours` (the cost of the cov_type), "
            "`statsmodels_hccm` with `ours_hc0`, `statsmodels_hac5` with `ours_hac5` "
            "(measured on the whole panel, the honest full-panel comparison)."
        ),
        "",
        (
            "| variant | what | assets timed | best wall (s) | all runs (s) | CPU user + sys (s) "
            "| full-panel wall (s) | x IO floor (a) | x slower than ref | peak RSS (MB) |"
        ),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += HARNESS.scaled_rows(results, n_all=n_assets, n_subset=setup.sm_assets, ref_name=True)

    best = bench.fastest(results)
    ours = full_s["ours"]
    lines += ["", "Cost of each cov_type (best wall / classical `ours`, peak RSS):", ""]
    for name in SAME_BETAS[1:]:
        lines.append(
            f"- {name} ({', '.join(f'{k}={v!r}' for k, v in COV[name].items())}): "
            f"**{full_s[name] / ours:.2f}x** classical ({full_s[name]:.2f} s vs "
            f"{ours:.2f} s), peak RSS {peak[name]:,.0f} MB"
        )
    lines.append(
        f"- classical `ours`: {ours:.2f} s, peak RSS {peak['ours']:,.0f} MB (IO floor "
        f"{peak['io_floor']:,.0f} MB; imports alone {peak['baseline']:,.0f} MB)"
    )
    vs_hccm = full_s["statsmodels_hccm"] / full_s["ours_hc0"]
    vs_hac = full_s["statsmodels_hac5"] / full_s["ours_hac5"]
    vs_hac_same = best["statsmodels_hac5"].seconds / best["ours_hac5_subset"].seconds
    lines += [
        "",
        "Against statsmodels:",
        "",
        bench.goal(
            "statsmodels RollingOLS HCCM loop (scaled) / ours_hc0: faster than statsmodels",
            round(vs_hccm, 1),
            "> 1x",
            met=vs_hccm > 1,
        ),
        bench.goal(
            "statsmodels per-window OLS HAC(5) loop (scaled) / ours_hac5 (whole panel): "
            "faster than statsmodels",
            round(vs_hac, 1),
            "> 1x",
            met=vs_hac > 1,
        ),
        (
            f"- statsmodels_hac5 / ours_hac5_subset, the same {setup.sm_assets:,} assets "
            f"(identical work, measured times, no scaling): **{vs_hac_same:.1f}**"
        ),
    ]
    return bench.report(lines, info, conditions)


# ---------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    args = rb.parse_args(argv, doc=__doc__, small_sm_assets=SMALL_SM_ASSETS)
    if args.child:
        return child(args)

    shape = SMALL_SHAPE if args.small else FULL_SHAPE
    sm_assets = int(args.sm_assets or (SMALL_SM_ASSETS if args.small else FULL_SM_ASSETS))
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
    path = HARNESS.ensure_panel(rb.panel_path(*shape), shape, regenerate=args.regenerate)

    checks = HARNESS.cross_check(path, args.tolerance)

    conditions = bench.Conditions()
    subset_args = ["--assets", str(sm_assets)]
    results = HARNESS.measure(names, path, args.repeats, subset_args=subset_args, width=20)
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
    header = (
        "## `robust_betas.py`: robust standard errors of rolling betas "
        "(252-day window, 4 factors)\n\n"
    )
    bench.publish(table, output, "robust_betas", header)
    return 0


if __name__ == "__main__":
    sys.exit(main())
