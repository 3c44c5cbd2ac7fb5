"""Benchmark: cross-sectional factor regressions (WLS, Barra constrained, Huber) per date.

Spec: a synthetic panel of 2,000 dates x 3,000 assets, 10 style exposures and 30
industries (a string column), sqrt-cap regression weights, returns generated from a
factor model, read from parquet. In the same run, on the same file, compare

- ours: ``pf.cross_section(pl.scan_parquet(path), "ret", styles, industry="industry",
  weights="w", method="wls", check_keys=False).factor_returns.collect()``, with the
  streaming and the in-memory engine, ``check_keys=True``, the Barra-constrained model
  (``country=True, constraint_weights="cap"``) and ``method="huber"``;
- (a) the IO floor: a streaming scan that only sums the columns the regression reads;
- (b) polars-ols ``least_squares.wls`` in ``group_by("date")`` with one-hot industries;
- (c) a pandas groupby loop calling statsmodels ``WLS`` per date; ``statsmodels_wls_hc1``
  the same loop with ``.fit(cov_type="HC1")`` (vs ``ours_hc1``);
- (d) a pandas groupby loop calling statsmodels ``RLM(HuberT())`` per date (the Huber
  reference);
- (e) polars-ds 0.13, the Polars peer: ``lin_reg`` (``polars_ds.exprs.expr_linear``) per
  date with one-hot industries, as WLS by scaling (see :func:`polars_ds_design`):
  ``polars_ds`` takes the coefficients in ``group_by("date").agg(...)``,
  ``polars_ds_residuals`` also the residuals with ``lin_reg(..., return_pred=True)
  .over("date")`` (vs ``ours_residuals``).

Ours is also timed as ``ours_factor_returns`` (the same call as ``ours``, which
collects only the factor returns) and ``ours_residuals`` (``pl.collect_all`` of the
factor returns and the sum of ``result.residuals``, streaming): the price of the
residuals; and as ``ours_hc0``, ``ours_hc1``, ``ours_hc3`` (``cov_type="HC0"`` ...;
HC2 is HC3's computation with another power of ``1 - h``) and ``ours_cluster``
(``cov_type="cluster", cluster="industry"``), streaming: the price of robust standard
errors (a second pass over the rows).

(c) (both loops) and (d) are timed on the first ``--sm-dates`` dates (default 200) and scaled
linearly to the whole panel; the table says so. Ours and (a) also run on a second
panel of 10,000 dates x 3,000 assets, to show that time grows linearly and memory
stays flat with the number of dates.

Goals: WLS at least 6x faster than (b) and 20x faster than (c), within 2.5x of (a),
peak memory <= 1 GB and flat in the number of dates; Huber at least 10x faster than (d);
factor returns + residuals at most 1.5x the factor returns alone, and at least 2x faster
than (e) with residuals.

Before any timing, our factor returns are compared with polars-ols on every date and
with statsmodels (WLS params and bse, HC1 and industry-clustered bse, RLM params and
bse) on a few dates; the
constrained model is checked against the unconstrained one (same styles; country +
constrained industry = unconstrained industry; the cap-weighted industry returns sum
to 0). Then (``verify_peers``, in its own child) every polars-ds coefficient is
compared with our factor return on every date, and every polars-ds residual with ours
on every row: each cell within 1e-9 relative or 1e-12 absolute, with the same nulls.
The run stops if any check fails.

Each measurement runs in a fresh subprocess (so peak RSS, ``ru_maxrss`` of that
process, is per variant), ``--repeats`` times (default 3), interleaving the
variants; the table shows the best wall time, all the runs, the user and system CPU
time of the fastest run and the largest peak RSS. Wall and CPU times cover the work
only (reading the file included), not the interpreter start or the imports.

Usage (from the repository root)::

    python benchmarks/cross_section.py           # full run (~10 min), writes RESULTS.md
    python benchmarks/cross_section.py --small   # smoke run (~1 min), prints only
    python benchmarks/cross_section.py --variants ours polars_ds  # a subset, prints only

The panels are generated once (seeded) under ``benchmarks/data/`` (git-ignored).
Needs ``pandas``, ``statsmodels``, ``polars-ols`` and ``polars-ds`` besides the package.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import _harness as bench  # benchmarks/_harness.py
import numpy as np
import polars as pl

import polars_factors as pf

SEED = 20261121
STYLES = [f"s{i}" for i in range(10)]
N_INDUSTRIES = 30
INDUSTRIES = [f"ind_{j:02d}" for j in range(N_INDUSTRIES)]
NULL_FRAC = 0.005  # share of null returns
MIN_MEMBERS = 5  # assets per industry, at least
FULL = {"main": (2_000, 3_000), "big": (10_000, 3_000), "sm_dates": 200}
SMALL = {"main": (250, 1_000), "big": (1_250, 1_000), "sm_dates": 50}
Engine = Literal["streaming", "in-memory"]
CovType = Literal["classical", "HC1", "cluster"]
VERSIONS = ("polars", "polars-ols", "polars-ds", "pandas", "statsmodels", "numpy")
FACTORS = [*STYLES, *INDUSTRIES]
# polars-ds against ours, cell by cell: within PEER_RTOL relative or PEER_ATOL absolute.
PEER_RTOL, PEER_ATOL = 1e-9, 1e-12
# The polars-ds variants and the variant of ours computing the same.
PEERS = {"polars_ds": "ours_factor_returns", "polars_ds_residuals": "ours_residuals"}
PEER_MODULES = ("polars_ds.exprs.expr_linear",)  # imported before the clock


# --------------------------------------------------------------------------- data


def panel_path(n_dates: int, n_assets: int) -> Path:
    return bench.DATA_DIR / f"cross_section_{n_dates}x{n_assets}_seed{SEED}.parquet"


def panel_dates(n_dates: int) -> pl.Series:
    """The trading dates of the panel: weekdays from 1990-01-01."""
    return bench.weekdays(dt.date(1990, 1, 1), n_dates)


def _asset_table(n_assets: int) -> tuple[np.ndarray, np.ndarray]:
    """Per asset: base market cap and industry code (fixed over time)."""
    rng = np.random.default_rng([SEED, n_assets])
    base_cap = rng.lognormal(mean=np.log(2e9), sigma=1.5, size=n_assets)
    # Unequal industry sizes, at least MIN_MEMBERS assets each (no empty industry).
    shares = rng.dirichlet(np.full(N_INDUSTRIES, 2.0))
    floor = np.repeat(np.arange(N_INDUSTRIES), MIN_MEMBERS)
    rest = rng.choice(N_INDUSTRIES, size=n_assets - floor.size, p=shares)
    industry = rng.permutation(np.concatenate([floor, rest]))
    return base_cap, industry


def _chunk(chunk: int, dates: pl.Series, n_assets: int) -> pl.DataFrame:
    """Rows of ``dates`` (one chunk), sorted by date then asset, seeded by chunk."""
    rng = np.random.default_rng([SEED, chunk])
    base_cap, industry = _asset_table(n_assets)
    n_dates = len(dates)
    n = n_dates * n_assets
    cap = np.tile(base_cap, n_dates) * rng.lognormal(sigma=0.1, size=n)
    w = np.sqrt(cap)
    log_cap = np.log(cap)
    mu, sd = np.log(2e9), 1.5
    x = rng.standard_normal((n, len(STYLES)))
    x[:, 0] = (log_cap - mu) / sd  # s0 is "size"
    # Factor returns: styles, a market (country) factor and industries, per date.
    f_style = rng.normal(0.0, 0.005, size=(n_dates, len(STYLES)))
    f_country = rng.normal(3e-4, 0.01, size=n_dates)
    f_industry = rng.normal(0.0, 0.004, size=(n_dates, N_INDUSTRIES))
    day = np.repeat(np.arange(n_dates), n_assets)
    ind = np.tile(industry, n_dates)
    systematic = (
        np.einsum("dak,dk->da", x.reshape(n_dates, n_assets, -1), f_style).ravel()
        + f_country[day]
        + f_industry[day, ind]
    )
    # Specific returns: fat tailed (t, 4 dof), variance proportional to 1 / w.
    noise = rng.standard_t(df=4, size=n) / np.sqrt(2.0)
    ret = systematic + 0.02 * np.sqrt(np.exp(mu / 2) / w) * noise
    ret[rng.random(n) < NULL_FRAC] = np.nan
    return pl.DataFrame(
        {
            "date": dates.gather(day),
            "asset": np.tile(np.arange(n_assets, dtype=np.int32), n_dates),
            "industry": pl.Series(INDUSTRIES).gather(ind),
            "cap": cap,
            "w": w,
            **{s: x[:, k] for k, s in enumerate(STYLES)},
            "ret": ret,
        }
    ).with_columns(pl.col("ret").fill_nan(None))


def generate_panel(path: Path, n_dates: int, n_assets: int) -> None:
    """Write the panel chunk by chunk, then stream the chunks into one parquet file.

    Chunks are seeded by their index, so a longer panel starts with the same rows as a
    shorter one of the same width.
    """
    bench.write_chunked(path, panel_dates(n_dates), lambda i, dates: _chunk(i, dates, n_assets))


# ----------------------------------------------------------------------- variants


def _ours_result(
    path: Path,
    *,
    engine: Engine = "streaming",
    check_keys: bool = False,
    barra: bool = False,
    method: Literal["wls", "huber"] = "wls",
    cov_type: CovType = "classical",
    cluster: str | None = None,
) -> pf.CrossSectionResult[pl.LazyFrame]:
    return pf.cross_section(
        pl.scan_parquet(path),
        "ret",
        STYLES,
        industry="industry",
        country=barra,
        weights="w",
        method=method,
        constraint_weights="cap" if barra else None,
        cov_type=cov_type,
        cluster=cluster,
        check_keys=check_keys,
        engine=engine,
    )


def _ours(path: Path, *, engine: Engine = "streaming", **options: Any) -> pl.DataFrame:
    """The factor returns of :func:`_ours_result` (same options), collected with ``engine``."""
    return _ours_result(path, engine=engine, **options).factor_returns.collect(engine=engine)


Checksum = tuple[float | None, int | None]  # sum of the factor returns, dates covered


def _checksum(frame: pl.DataFrame, value: str = "factor_return") -> Checksum:
    return float(frame[value].sum()), frame["date"].n_unique()


def run_io_floor(path: Path, _: dt.date | None) -> Checksum:
    """Read every column the WLS reads (date, ret, styles, industry, w) and reduce it."""
    row = (
        pl.scan_parquet(path)
        .select(
            pl.col("date").to_physical().sum(),
            pl.col("industry").str.len_bytes().sum(),
            pl.col("ret", "w", *STYLES).sum(),
        )
        .collect(engine="streaming")
    )
    return float(row["ret"][0]), None


def run_ours(path: Path, _: dt.date | None) -> Checksum:
    return _checksum(_ours(path))


def run_ours_in_memory(path: Path, _: dt.date | None) -> Checksum:
    return _checksum(_ours(path, engine="in-memory"))


def run_ours_check_keys(path: Path, _: dt.date | None) -> Checksum:
    return _checksum(_ours(path, check_keys=True))


def run_ours_barra(path: Path, _: dt.date | None) -> Checksum:
    return _checksum(_ours(path, barra=True))


def run_ours_huber(path: Path, _: dt.date | None) -> Checksum:
    return _checksum(_ours(path, method="huber"))


def run_ours_hc1(path: Path, _: dt.date | None) -> Checksum:
    return _checksum(_ours(path, cov_type="HC1"))


def run_ours_hc0(path: Path, _: dt.date | None) -> Checksum:
    return _checksum(_ours(path, cov_type="HC0"))


def run_ours_hc3(path: Path, _: dt.date | None) -> Checksum:
    return _checksum(_ours(path, cov_type="HC3"))


def run_ours_cluster(path: Path, _: dt.date | None) -> Checksum:
    return _checksum(_ours(path, cov_type="cluster", cluster="industry"))


def run_ours_factor_returns(path: Path, _: dt.date | None) -> Checksum:
    """The same call as ``ours`` (only ``factor_returns`` collected): the reference of
    ``ours_residuals``, timed in the same rounds."""
    return _checksum(_ours(path))


def run_ours_residuals(path: Path, _: dt.date | None) -> Checksum:
    """Factor returns and residuals in one ``collect_all`` (streaming); the residuals
    reduced to their sum. Checksum: the sum of the residuals, and the dates covered."""
    res = _ours_result(path)
    returns, total = pl.collect_all(
        [res.factor_returns, res.residuals.select(pl.col("residual").sum())], engine="streaming"
    )
    return float(total.item()), returns["date"].n_unique()


def polars_ols_frame(path: Path) -> pl.DataFrame:
    """polars-ols WLS per date, industries one-hot encoded as expressions, no intercept."""
    import polars_ols  # noqa: F401, PLC0415 (registers the .least_squares namespace)

    dummies = [(pl.col("industry") == ind).cast(pl.Float64).alias(ind) for ind in INDUSTRIES]
    coef = pl.col("ret").least_squares.wls(
        *STYLES, *dummies, sample_weights="w", mode="coefficients", null_policy="drop"
    )
    return (
        pl.scan_parquet(path)
        .group_by("date")
        .agg(coef.alias("coef"))
        .unnest("coef")
        .unpivot(index="date", variable_name="factor", value_name="factor_return")
        .collect()
    )


def run_polars_ols(path: Path, _: dt.date | None) -> Checksum:
    return _checksum(polars_ols_frame(path))


def polars_ds_design() -> tuple[pl.Expr, list[pl.Expr]]:
    """The target and the regressors of polars-ds's WLS, written as OLS on scaled data.

    polars-ds 0.13's ``lin_reg(..., weights=...)`` calls ``Expr.rechunk``, which Polars
    2.1 removed: the weighted call fails. WLS with weights ``w`` is OLS of
    ``sqrt(w) * ret`` on ``sqrt(w) * [styles, dummies]`` (same coefficients, exactly), so
    the user scales: industries one-hot encoded as expressions, times ``sqrt(w)``, no
    intercept (the dummies span it), names kept (the scaled columns are regressors).
    """
    sw = pl.col("w").sqrt()
    target = (pl.col("ret") * sw).alias("ret")
    dummies = [(pl.col("industry") == ind).cast(pl.Float64) for ind in INDUSTRIES]
    regressors = [(pl.col(s) * sw).alias(s) for s in STYLES]
    regressors += [(d * sw).alias(ind) for d, ind in zip(dummies, INDUSTRIES, strict=True)]
    return target, regressors


def polars_ds_coefficients(lf: pl.LazyFrame) -> pl.LazyFrame:
    """polars-ds ``lin_reg`` per date in ``group_by("date").agg``: one row per date and
    one column per factor (the coefficient list, named).

    ``null_policy="skip"`` (the default) drops the rows with a null return, as ours
    does; the default QR solver; the default singular-X gate (``singular_x_tol=1e-12``:
    a rank-deficient date, e.g. an industry absent from it, gets null coefficients for
    every factor, where ours gives null for that industry only; no date of this panel
    has one, and the check would catch it).
    """
    from polars_ds.exprs.expr_linear import lin_reg  # noqa: PLC0415 (imported before the clock)

    target, regressors = polars_ds_design()
    coef = lin_reg(*regressors, target=target).list.to_struct(fields=FACTORS)
    return lf.group_by("date").agg(coef.alias("coef")).unnest("coef")


def polars_ds_residuals(lf: pl.LazyFrame) -> pl.LazyFrame:
    """``date, asset, residual`` per row, in input order: ``lin_reg(..., return_pred=True)
    .over("date")`` (a struct of the prediction and the residual of the scaled problem).

    The scaled residual is ``sqrt(w) * (ret - X b)``; dividing it by ``sqrt(w)`` gives the
    residual of the returns, ``ret - X b`` (ours). Null where the return is null.
    """
    from polars_ds.exprs.expr_linear import lin_reg  # noqa: PLC0415 (imported before the clock)

    target, regressors = polars_ds_design()
    scaled = lin_reg(*regressors, target=target, return_pred=True).over("date")
    residual = scaled.struct.field("resid") / pl.col("w").sqrt()
    return lf.select("date", "asset", residual.alias("residual"))


def run_polars_ds(path: Path, _: dt.date | None) -> Checksum:
    """The coefficients only. Checksum: their sum (= our sum of factor returns)."""
    frame = polars_ds_coefficients(pl.scan_parquet(path)).collect()
    return float(frame.select(pl.sum_horizontal(pl.col(FACTORS).sum())).item()), frame.height


def run_polars_ds_residuals(path: Path, _: dt.date | None) -> Checksum:
    """Coefficients and residuals (summed) in one ``collect_all``, as ``ours_residuals``."""
    lf = pl.scan_parquet(path)
    coefs, total = pl.collect_all(
        [polars_ds_coefficients(lf), polars_ds_residuals(lf).select(pl.col("residual").sum())]
    )
    return float(total.item()), coefs.height


def _read_pandas(path: Path, filters: list[tuple[str, str, Any]] | None) -> Any:
    """The model columns as pandas (rows matching pyarrow ``filters``), null returns dropped."""
    import pandas as pd  # noqa: PLC0415

    df = pd.read_parquet(
        path,
        columns=["date", "ret", *STYLES, "industry", "w"],
        filters=filters,
        to_pandas_kwargs={"date_as_object": False},
    )
    return df.dropna(subset=["ret"])


def statsmodels_loop(
    path: Path,
    filters: list[tuple[str, str, Any]] | None,
    *,
    method: Literal["wls", "huber"],
    cov_type: CovType = "classical",
) -> Any:
    """A pandas groupby loop calling statsmodels per date; the efficient version.

    Dummies are built once, and each date fits on numpy slices (no per-date pandas
    frames), so the loop measures statsmodels, not pandas indexing. Huber follows the
    package's definition: RLM on sqrt(w)-scaled data, HuberT(1.345), MAD scale.
    ``cov_type`` (WLS only): ``.fit()`` (classical), ``.fit(cov_type="HC1")``, or
    ``.fit(cov_type="cluster", cov_kwds={"groups": ...})`` with the integer codes of
    the industries of the date's rows.
    """
    import pandas as pd  # noqa: PLC0415
    import statsmodels.api as sm  # noqa: PLC0415

    df = _read_pandas(path, filters)
    dummies = pd.get_dummies(df["industry"], dtype=float)[INDUSTRIES]
    x = np.column_stack([df[STYLES].to_numpy(), dummies.to_numpy()])
    y, w = df["ret"].to_numpy(), df["w"].to_numpy()
    codes = pd.factorize(df["industry"])[0] if cov_type == "cluster" else None
    rows = []
    for date, idx in df.groupby("date", sort=True).indices.items():
        if method == "wls":
            model = sm.WLS(y[idx], x[idx], weights=w[idx])
            if codes is not None:
                fit = model.fit(cov_type="cluster", cov_kwds={"groups": codes[idx]})
            else:
                fit = model.fit(cov_type="nonrobust" if cov_type == "classical" else cov_type)
        else:
            sw = np.sqrt(w[idx])
            model = sm.RLM(y[idx] * sw, x[idx] * sw[:, None], M=sm.robust.norms.HuberT(1.345))
            fit = model.fit(scale_est="mad", conv="dev", maxiter=50, tol=1e-8)
        rows.append((date, fit.params, fit.bse))
    factors = [*STYLES, *INDUSTRIES]
    return pd.DataFrame(
        {
            "date": np.repeat([r[0] for r in rows], len(factors)),
            "factor": factors * len(rows),
            "factor_return": np.concatenate([r[1] for r in rows]),
            "std_error": np.concatenate([r[2] for r in rows]),
        }
    )


def _before(day: dt.date | None) -> list[tuple[str, str, Any]] | None:
    return None if day is None else [("date", "<", day)]


def run_statsmodels_wls(path: Path, before: dt.date | None) -> Checksum:
    out = statsmodels_loop(path, _before(before), method="wls")
    return float(out["factor_return"].sum()), int(out["date"].nunique())


def run_statsmodels_wls_hc1(path: Path, before: dt.date | None) -> Checksum:
    out = statsmodels_loop(path, _before(before), method="wls", cov_type="HC1")
    return float(out["factor_return"].sum()), int(out["date"].nunique())


def run_statsmodels_rlm(path: Path, before: dt.date | None) -> Checksum:
    out = statsmodels_loop(path, _before(before), method="huber")
    return float(out["factor_return"].sum()), int(out["date"].nunique())


def run_baseline(path: Path, _: dt.date | None) -> Checksum:  # noqa: ARG001
    """Nothing: the peak RSS of the interpreter and the imports (polars, numpy, package)."""
    return None, None


VARIANTS = [
    bench.Variant(
        "io_floor", "(a) streaming scan + sum of date, ret, styles, industry, w", run_io_floor
    ),
    bench.Variant("ours", "WLS, 10 styles + 30 industries, streaming", run_ours),
    bench.Variant("ours_in_memory", 'same, engine="in-memory"', run_ours_in_memory),
    bench.Variant(
        "ours_check_keys",
        "same, check_keys=True (reads the keys at call time)",
        run_ours_check_keys,
    ),
    bench.Variant(
        "ours_barra",
        'same + country=True, constraint_weights="cap" (Barra constrained)',
        run_ours_barra,
    ),
    bench.Variant("ours_huber", 'method="huber" (IRLS, HuberT 1.345), streaming', run_ours_huber),
    bench.Variant(
        "ours_factor_returns",
        "WLS, factor returns only (the same call as `ours`), streaming",
        run_ours_factor_returns,
    ),
    bench.Variant(
        "ours_residuals",
        "WLS, factor returns + residuals (summed) in one `collect_all`, streaming",
        run_ours_residuals,
    ),
    bench.Variant(
        "ours_hc1",
        'WLS, cov_type="HC1" (robust std errors: a second pass over the rows), streaming',
        run_ours_hc1,
    ),
    bench.Variant("ours_hc0", 'same, cov_type="HC0"', run_ours_hc0),
    bench.Variant(
        "ours_hc3",
        'WLS, cov_type="HC3" (leverages joined back per row: HC2 costs the same), streaming',
        run_ours_hc3,
    ),
    bench.Variant(
        "ours_cluster",
        'WLS, cov_type="cluster", cluster="industry" (clustered std errors), streaming',
        run_ours_cluster,
    ),
    bench.Variant(
        "polars_ols",
        "(b) polars-ols `least_squares.wls` in group_by(date), one-hot industries",
        run_polars_ols,
        ref="ours",
    ),
    bench.Variant(
        "statsmodels_wls",
        "(c) pandas groupby loop, statsmodels `WLS(...).fit()` per date",
        run_statsmodels_wls,
        subset=True,
        ref="ours",
    ),
    bench.Variant(
        "statsmodels_wls_hc1",
        '(c) same loop, statsmodels `WLS(...).fit(cov_type="HC1")` per date',
        run_statsmodels_wls_hc1,
        subset=True,
        ref="ours_hc1",
    ),
    bench.Variant(
        "statsmodels_rlm",
        "(d) pandas groupby loop, statsmodels `RLM(HuberT()).fit()` per date",
        run_statsmodels_rlm,
        subset=True,
        ref="ours_huber",
    ),
    bench.Variant(
        "polars_ds",
        "(e) polars-ds 0.13 `lin_reg` in group_by(date), one-hot industries, WLS as OLS "
        "on sqrt(w)-scaled data; coefficients only (vs `ours_factor_returns`)",
        run_polars_ds,
        ref="ours_factor_returns",
    ),
    bench.Variant(
        "polars_ds_residuals",
        '(e) same + residuals: `lin_reg(return_pred=True).over("date")`, one `collect_all` '
        "(vs `ours_residuals`)",
        run_polars_ds_residuals,
        ref="ours_residuals",
    ),
    bench.Variant("baseline", "imports only (peak RSS floor)", run_baseline),
]
BIG_VARIANTS = ["io_floor", "ours"]
HARNESS = bench.Harness(__file__, VARIANTS, generate_panel)


# ------------------------------------------------------------------- verification


def _wide(frame: pl.DataFrame, value: str = "factor_return") -> pl.DataFrame:
    return frame.pivot("factor", index="date", values=value).sort("date")


def _max_diff(a: pl.DataFrame, b: pl.DataFrame, columns: list[str], what: str) -> float:
    """Max abs difference of two wide frames over ``columns``, rows joined on date."""
    joined = a.join(b, on="date", how="inner", suffix="_b")
    if joined.height != b.height:
        msg = f"{what}: {joined.height} common dates, expected {b.height}"
        raise AssertionError(msg)
    worst = 0.0
    for c in columns:
        diff = (joined[c] - joined[f"{c}_b"]).abs()
        if diff.null_count():
            msg = f"{what}: {c} has nulls on one side only"
            raise AssertionError(msg)
        worst = max(worst, float(diff.max()))  # type: ignore[arg-type]
    return worst


def verify(path: Path, n_dates: int, tolerance: float) -> dict[str, float]:
    """Compare ours with polars-ols (all dates) and statsmodels (a few dates)."""
    factors = [*STYLES, *INDUSTRIES]
    ours_long = _ours(path)
    if ours_long.height != n_dates * len(factors) or ours_long["factor_return"].null_count():
        msg = f"ours: expected {n_dates * len(factors)} non-null factor returns"
        raise AssertionError(msg)
    if ours_long["factor"].unique(maintain_order=True).to_list() != factors:
        msg = f"ours: factor order {ours_long['factor'].unique(maintain_order=True).to_list()}"
        raise AssertionError(msg)
    ours = _wide(ours_long)
    ours_se = _wide(ours_long, "std_error")
    checks: dict[str, float] = {}
    checks["in-memory engine vs streaming"] = _max_diff(
        ours, _wide(_ours(path, engine="in-memory")), factors, "in-memory"
    )
    checks["polars-ols WLS, all dates"] = _max_diff(
        ours, _wide(polars_ols_frame(path)), factors, "polars-ols"
    )

    # statsmodels on a few dates: the first, one in the middle and the last.
    dates = panel_dates(n_dates)
    pick = [dates[0], dates[n_dates // 2], dates[-1]]
    sm = pl.from_pandas(statsmodels_loop(path, [("date", "in", pick)], method="wls")).with_columns(
        pl.col("date").cast(pl.Date)
    )
    checks["statsmodels WLS params, 3 dates"] = _max_diff(ours, _wide(sm), factors, "sm WLS")
    checks["statsmodels WLS bse, 3 dates"] = _max_diff(
        ours_se, _wide(sm, "std_error"), factors, "sm WLS bse"
    )
    # Robust std errors against statsmodels' on the same dates.
    for label, cov_type, cluster in (
        ("HC1", "HC1", None),
        ("cluster (industry)", "cluster", "industry"),
    ):
        robust = _wide(_ours(path, cov_type=cov_type, cluster=cluster), "std_error")
        theirs = statsmodels_loop(path, [("date", "in", pick)], method="wls", cov_type=cov_type)
        sm_robust = pl.from_pandas(theirs).with_columns(pl.col("date").cast(pl.Date))
        checks[f"statsmodels WLS {label} bse, 3 dates"] = _max_diff(
            robust, _wide(sm_robust, "std_error"), factors, f"sm WLS {label} bse"
        )

    # Barra: same fitted model, reparametrized.
    barra = _wide(_ours(path, barra=True))
    shares = (
        pl.scan_parquet(path)
        .filter(pl.col("ret").is_not_null())
        .group_by("date", "industry")
        .agg(pl.col("cap").sum())
        .with_columns(pl.col("cap") / pl.col("cap").sum().over("date"))
        .collect()
        .pivot("industry", index="date", values="cap")
        .sort("date")
    )
    checks["barra styles == unconstrained styles"] = _max_diff(barra, ours, STYLES, "barra styles")
    shifted = barra.select(
        "date", *[(pl.col("country") + pl.col(ind)).alias(ind) for ind in INDUSTRIES]
    )
    checks["barra country + industry == unconstrained industry"] = _max_diff(
        shifted, ours, INDUSTRIES, "barra industries"
    )
    constraint = barra.join(shares, on="date", suffix="_c").select(
        pl.sum_horizontal(pl.col(ind) * pl.col(f"{ind}_c") for ind in INDUSTRIES).abs().max()
    )
    checks["barra sum_j c_j f_j == 0"] = float(constraint.item())

    # Huber against statsmodels RLM on the same dates.
    huber_long = _ours(path, method="huber")
    rlm = pl.from_pandas(
        statsmodels_loop(path, [("date", "in", pick)], method="huber")
    ).with_columns(pl.col("date").cast(pl.Date))
    huber = _wide(huber_long).filter(pl.col("date").is_in(pick))
    huber_se = _wide(huber_long, "std_error").filter(pl.col("date").is_in(pick))
    checks["statsmodels RLM params, 3 dates"] = _max_diff(huber, _wide(rlm), factors, "RLM")
    checks["statsmodels RLM bse, 3 dates"] = _max_diff(
        huber_se, _wide(rlm, "std_error"), factors, "RLM bse"
    )
    bench.check_tolerance(checks, tolerance)
    return checks


def _close(theirs: pl.Series, ours: pl.Series, what: str) -> dict[str, float]:
    """Cell by cell: ``|theirs - ours| <= max(PEER_ATOL, PEER_RTOL * |ours|)``, same nulls.

    Returns the max abs difference, the max relative difference (over the non-zero
    cells of ours) and the worst cell's share of its tolerance (<= 1 passes); raises
    if a cell fails or the null patterns differ.
    """
    if not theirs.is_null().equals(ours.is_null()):
        msg = f"{what}: null patterns differ ({theirs.null_count()} vs {ours.null_count()} nulls)"
        raise AssertionError(msg)
    frame = pl.DataFrame({"a": theirs, "b": ours}).drop_nulls()
    diff, size = (pl.col("a") - pl.col("b")).abs(), pl.col("b").abs()
    row = frame.select(
        diff.max().alias("abs"),
        (diff / size).filter(size > 0).max().alias("rel"),
        (diff / pl.max_horizontal(pl.lit(PEER_ATOL), PEER_RTOL * size)).max().alias("share"),
    ).row(0, named=True)
    out = {k: float(v or 0.0) for k, v in row.items()}
    if not out["share"] <= 1.0:
        msg = (
            f"{what}: differs from ours by up to {out['abs']:.3g} abs, {out['rel']:.3g} rel "
            f"(tolerance {PEER_RTOL:g} rel or {PEER_ATOL:g} abs)"
        )
        raise AssertionError(msg)
    return out


def _worst(stats: list[dict[str, float]], cells: int) -> dict[str, float]:
    return {k: max(s[k] for s in stats) for k in ("abs", "rel", "share")} | {"cells": cells}


def verify_peers(path: Path, names: list[str] | None) -> dict[str, Any]:
    """polars-ds against ours (``check_keys=True``), every coefficient and residual.

    Coefficients: polars-ds's one row per date (:func:`polars_ds_coefficients`) against
    our factor returns pivoted to one row per date, one column per factor, joined on the
    date (every date on both sides). Residuals: polars-ds's rows
    (:func:`polars_ds_residuals`) against ``result.residuals``, both in the file's row
    order (the keys are checked equal), null on the same rows (a null return). Each
    cell within ``PEER_RTOL`` relative or ``PEER_ATOL`` absolute (:func:`_close`).
    Like with like: an industry absent from a date is null in ours and nulls the whole
    date in polars-ds (its singular-X gate): the null patterns would differ and the
    check fail; this panel has no such date. Returns the worst differences and the
    expected checksums (from ours) of ``ours_residuals`` and ``polars_ds_residuals``.
    """
    wanted = [p for p in PEERS if names is None or p in names]
    res = _ours_result(path, check_keys=True)
    returns, residuals = pl.collect_all([res.factor_returns, res.residuals], engine="streaming")
    if returns["factor"].unique(maintain_order=True).to_list() != FACTORS:
        msg = f"ours: factor order {returns['factor'].unique(maintain_order=True).to_list()}"
        raise AssertionError(msg)
    ours = _wide(returns)
    lf = pl.scan_parquet(path)
    checks: dict[str, dict[str, float]] = {}
    if wanted:
        theirs = polars_ds_coefficients(lf).collect().sort("date")
        joined = ours.join(theirs, on="date", how="full", suffix="_pds")
        if joined.height != ours.height or joined.height != theirs.height:
            msg = f"polars-ds: {theirs.height} dates, ours {ours.height}, {joined.height} in all"
            raise AssertionError(msg)
        stats = [_close(joined[f"{f}_pds"], joined[f], f"polars-ds {f}") for f in FACTORS]
        checks["polars-ds coefficients vs our factor returns"] = _worst(
            stats, ours.height * len(FACTORS)
        )
    if "polars_ds_residuals" in wanted:
        theirs = polars_ds_residuals(lf).collect()
        if not theirs.select("date", "asset").equals(residuals.select("date", "asset")):
            msg = "polars-ds residuals: rows are not in our (the file's) order"
            raise AssertionError(msg)
        stats = [_close(theirs["residual"], residuals["residual"], "polars-ds residuals")]
        checks["polars-ds residuals vs ours"] = _worst(stats, residuals.height)
    total = float(residuals["residual"].sum())
    sums = {"ours_residuals": total, "polars_ds_residuals": total}
    return {"checks": checks, "sums": sums}


# ------------------------------------------------------------------ subprocesses


def child(args: argparse.Namespace) -> int:
    """The work of a child process: generate, verify, or run one variant once.

    The peer's package is imported here, before the clock starts.
    """
    if args.child == "verify_peers":
        print(json.dumps(verify_peers(args.path, args.variants)))
        return 0
    if args.child in PEERS:
        for module in PEER_MODULES:
            importlib.import_module(module)
    day = dt.date.fromisoformat(args.before) if args.before else None
    return HARNESS.child(
        args,
        verify=lambda: verify(args.path, args.shape[0], args.tolerance),
        run=lambda v: bench.timed(lambda: v.fn(args.path, day)),
    )


def check_sums(
    results: dict[str, list[bench.Run]], shape: tuple[int, int], expected: dict[str, float]
) -> None:
    """Repeated runs and engines of the same model must give the same sum of returns;
    the variants with residuals, the sum of our residuals (``verify_peers``)."""
    n_dates, n_assets = shape
    same = (
        "ours",
        "ours_in_memory",
        "ours_check_keys",
        "ours_factor_returns",
        "ours_hc1",  # robust std errors: same factor returns
        "ours_hc0",
        "ours_hc3",
        "ours_cluster",
        "polars_ols",
    )
    bench.check_checksums(results, (*same, "polars_ds"), 1e-8 * n_dates, "sum of factor returns")
    for name, ref in expected.items():
        for run in results.get(name, []):
            if run.checksum is None or abs(run.checksum - ref) > 1e-10 * n_dates * n_assets:
                msg = f"{name}: sum of residuals {run.checksum!r}, expected {ref!r}"
                raise AssertionError(msg)
            if run.count != n_dates:
                msg = f"{name}: {run.count} dates, expected {n_dates}"
                raise AssertionError(msg)


# -------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Setup:
    main: tuple[int, int]
    big: tuple[int, int]
    sm_dates: int
    main_mb: float
    big_mb: float | None  # None: the big panel was not run (--variants)
    repeats: int
    blas: str


def _peer_lines(peer_checks: dict[str, dict[str, float]]) -> list[str]:
    return [
        f"- {k} ({v['cells']:,.0f} cells): max abs diff {v['abs']:.1e}, max rel diff "
        f"{v['rel']:.1e}; worst cell at {v['share']:.2f} of its tolerance "
        f"({PEER_RTOL:g} rel or {PEER_ATOL:g} abs; same nulls)"
        for k, v in peer_checks.items()
    ]


def _big_lines(
    big: dict[str, list[bench.Run]],
    best: dict[str, bench.Run],
    peak: dict[str, float],
    setup: Setup,
) -> list[str]:
    n_dates = setup.main[0]
    b_dates, b_assets = setup.big
    b_fast, b_peak = bench.fastest(big), bench.peaks(big)
    lines = [
        "",
        (
            f"Scaling: the same on a panel of {b_dates:,} dates x {b_assets:,} assets = "
            f"{b_dates * b_assets:,} rows (parquet {setup.big_mb:,.0f} MB; its first "
            f"{n_dates:,} dates are the panel above), best of {setup.repeats}."
        ),
        "",
        (
            "| variant | best wall (s) | all runs (s) | CPU user + sys (s) | x IO floor "
            f"| wall / wall at {n_dates:,} dates | peak RSS (MB) "
            f"| peak / peak at {n_dates:,} dates |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in BIG_VARIANTS:
        r = b_fast[name]
        lines.append(
            f"| `{name}` | {r.seconds:.3f} | {bench.all_runs(big[name])} | {r.cpu} | "
            f"{r.seconds / b_fast['io_floor'].seconds:.2f} | "
            f"{r.seconds / best[name].seconds:.1f} | {b_peak[name]:,.0f} | "
            f"{b_peak[name] / peak[name]:.2f} |"
        )
    return lines


def _goals(
    full_s: dict[str, float],
    peak: dict[str, float],
    big: dict[str, list[bench.Run]] | None,
    setup: Setup,
) -> list[str]:
    """The goal lines whose variants were run."""
    n_dates, b_dates = setup.main[0], setup.big[0]
    ours = full_s["ours"]
    goals = []
    if "polars_ols" in full_s:
        vs_ols = full_s["polars_ols"] / ours
        goals.append(
            bench.goal("WLS: polars-ols / ours", round(vs_ols, 1), ">= 6x", met=vs_ols >= 6)
        )
    if "statsmodels_wls" in full_s:
        vs_sm = full_s["statsmodels_wls"] / ours
        goals.append(
            bench.goal(
                "WLS: statsmodels loop (scaled) / ours", round(vs_sm, 1), ">= 20x", met=vs_sm >= 20
            )
        )
    within = ours / full_s["io_floor"]
    goals.append(bench.goal("WLS: ours / IO floor", round(within, 2), "<= 2.5x", met=within <= 2.5))
    if big is not None:
        b_peak = bench.peaks(big)
        mem = max(peak["ours"], b_peak["ours"])
        flat = b_peak["ours"] / peak["ours"]
        goals += [
            bench.goal(
                f"WLS: peak RSS of ours ({n_dates:,} and {b_dates:,} dates), MB",
                round(mem),
                "<= 1,024 MB",
                met=mem <= 1024,
            ),
            bench.goal(
                f"WLS: peak RSS at {b_dates:,} / at {n_dates:,} dates",
                round(flat, 2),
                "flat, <= 1.25",
                met=flat <= 1.25,
            ),
        ]
    if "ours_residuals" in full_s and "ours_factor_returns" in full_s:
        cost = full_s["ours_residuals"] / full_s["ours_factor_returns"]
        goals.append(
            bench.goal(
                "WLS: ours, factor returns + residuals / factor returns alone",
                round(cost, 2),
                "<= 1.5x",
                met=cost <= 1.5,
            )
        )
    if "polars_ds_residuals" in full_s and "ours_residuals" in full_s:
        vs_pds = full_s["polars_ds_residuals"] / full_s["ours_residuals"]
        goals.append(
            bench.goal(
                "WLS + residuals: polars-ds / ours", round(vs_pds, 1), ">= 2x", met=vs_pds >= 2
            )
        )
    if "polars_ds" in full_s and "ours_factor_returns" in full_s:
        ratio = full_s["polars_ds"] / full_s["ours_factor_returns"]
        goals.append(f"- WLS, factor returns only: polars-ds / ours: **{ratio:.1f}** (no goal)")
    for name, label in (
        ("ours_hc0", "HC0"),
        ("ours_hc1", "HC1"),
        ("ours_hc3", "HC3"),
        ("ours_cluster", "cluster"),
    ):
        if name in full_s:
            ratio = full_s[name] / ours
            goals.append(f"- WLS: {label} / classical (ours): **{ratio:.2f}** (no goal)")
    if "statsmodels_wls_hc1" in full_s and "ours_hc1" in full_s:
        ratio = full_s["statsmodels_wls_hc1"] / full_s["ours_hc1"]
        goals.append(
            f"- WLS: statsmodels WLS HC1 loop (scaled) / ours HC1: **{ratio:.1f}** (no goal)"
        )
    if "statsmodels_rlm" in full_s and "ours_huber" in full_s:
        vs_rlm = full_s["statsmodels_rlm"] / full_s["ours_huber"]
        goals.append(
            bench.goal(
                "Huber: statsmodels RLM loop (scaled) / ours",
                round(vs_rlm, 1),
                ">= 10x",
                met=vs_rlm >= 10,
            )
        )
    return goals


def render(
    results: dict[str, list[bench.Run]],
    big: dict[str, list[bench.Run]] | None,
    *,
    setup: Setup,
    checks: dict[str, float],
    peer_checks: dict[str, dict[str, float]],
    info: dict[str, str],
    conditions: str,
) -> str:
    n_dates, n_assets = setup.main
    scale = n_dates / setup.sm_dates
    best = bench.fastest(results)
    full_s = HARNESS.scaled_best(results, scale)
    peak = bench.peaks(results)
    lines = [
        (
            f"Panel: {n_dates:,} dates x {n_assets:,} assets = {n_dates * n_assets:,} rows; "
            "date, asset (Int32), industry (String, 30 values, unequal sizes), cap, "
            "w = sqrt(cap), s0..s9 (s0 = size), ret = country + styles + industry + "
            f"t(4) noise with variance ~ 1/w, {NULL_FRAC:.1%} null returns; "
            f"parquet {setup.main_mb:,.0f} MB."
        ),
        "",
        "Checked first (max abs difference of the factor returns, or of the std errors):",
        "",
        *bench.check_lines(checks),
        *_peer_lines(peer_checks),
        "",
        (
            f"Best of {setup.repeats} fresh processes (variants interleaved); wall and CPU "
            "time cover reading the file and fitting, not the imports. CPU = user + system "
            "time of the fastest run. Peak RSS = max over the runs of the process's "
            "ru_maxrss, imports included (see `baseline`). **Rows marked * were timed on "
            f"the first {setup.sm_dates:,} dates only** (a full run would take minutes); "
            f"their full-panel time is the measured time x {scale:g} (the work is linear "
            "in the number of dates) and their peak RSS is that of the subset. Every "
            f"child runs with {setup.blas} (numpy's BLAS; Polars keeps its thread pool): "
            "multi-threaded OpenBLAS on many small matrices (statsmodels' per-date SVDs) "
            "is many times slower on a small machine, and one thread is what a per-date "
            "loop should use."
        ),
        "",
        (
            "| variant | what | dates timed | best wall (s) | all runs (s) | CPU user + sys (s) "
            "| full-panel wall (s) | x IO floor (a) | ours is x faster | peak RSS (MB) |"
        ),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += HARNESS.scaled_rows(results, n_all=n_dates, n_subset=setup.sm_dates)
    if big is not None:
        lines += _big_lines(big, best, peak, setup)
    lines += ["", "Goals:", "", *_goals(full_s, peak, big, setup)]
    return bench.report(lines, info, conditions)


# ---------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench.parser(
        __doc__,
        tolerance=1e-8,
        output_help="markdown file (default: benchmarks/RESULTS.md for the full run, "
        "none for --small or --variants)",
        regenerate_help="rewrite the panel files",
    )
    parser.add_argument(
        "--small",
        action="store_true",
        help="smoke run: 250 x 1,000 and 1,250 x 1,000 panels, statsmodels on 50 dates",
    )
    parser.add_argument(
        "--sm-dates", type=int, default=None, help="dates the statsmodels loops are timed on"
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=list(HARNESS.by_name),
        default=None,
        help="subset to run (io_floor and ours always; the big panel is skipped; prints only)",
    )
    parser.add_argument("--before", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _selected(variants: list[str] | None) -> list[str]:
    """The variants to time, in table order: ``variants`` (all if None), plus what the
    ratios need (the IO floor, ``ours`` and the variant of ours each peer is compared
    with)."""
    if variants is None:
        return [v.name for v in VARIANTS]
    names = {*variants, "io_floor", "ours"}
    names |= {HARNESS.by_name[n].ref for n in variants if HARNESS.by_name[n].ref} - {None}
    if "ours_residuals" in names:
        names.add("ours_factor_returns")
    return [v.name for v in VARIANTS if v.name in names]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child(args)

    sizes = SMALL if args.small else FULL
    main_shape: tuple[int, int] = sizes["main"]  # type: ignore[assignment]
    big_shape: tuple[int, int] = sizes["big"]  # type: ignore[assignment]
    sm_dates = int(args.sm_dates or sizes["sm_dates"])  # type: ignore[call-overload]
    full = not args.small and args.variants is None  # a subset or a smoke run prints only
    output = args.output if args.output is not None else (bench.RESULTS if full else None)
    blas = bench.set_blas_threads(args.blas_threads)  # inherited by every child
    main_path = HARNESS.ensure_panel(
        panel_path(*main_shape), main_shape, regenerate=args.regenerate
    )
    big_path = None
    if args.variants is None:
        big_path = HARNESS.ensure_panel(
            panel_path(*big_shape), big_shape, regenerate=args.regenerate
        )
    before = panel_dates(sm_dates + 1)[-1]  # statsmodels: dates before this one

    checks = HARNESS.cross_check(main_path, args.tolerance, "--shape", *map(str, main_shape))
    names = _selected(args.variants)
    peer_checks: dict[str, dict[str, float]] = {}
    expected: dict[str, float] = {}
    if any(n in PEERS or n == "ours_residuals" for n in names):
        print("verifying polars-ds against polars_factors, cell by cell ...", flush=True)
        verified = HARNESS.spawn(
            "--child", "verify_peers", "--path", str(main_path), "--variants", *names
        )
        peer_checks = verified["checks"]
        expected = {k: v for k, v in verified["sums"].items() if k in names}
        for line in _peer_lines(peer_checks):
            print(f"  {line[2:]}", flush=True)

    conditions = bench.Conditions()
    subset_args = ["--before", before.isoformat()]
    results = HARNESS.measure(
        names, main_path, args.repeats, subset_args=subset_args, label="main", width=20
    )
    check_sums(results, main_shape, expected)
    subset = [
        n for n in ("statsmodels_wls", "statsmodels_wls_hc1", "statsmodels_rlm") if n in results
    ]
    bench.check_counts(results, subset, sm_dates, "dates")
    big = None
    if big_path is not None:
        big = HARNESS.measure(BIG_VARIANTS, big_path, args.repeats, label="big")
    during = f"{conditions.describe()}; BLAS threads in every child: {blas}"

    setup = Setup(
        main=main_shape,
        big=big_shape,
        sm_dates=sm_dates,
        main_mb=main_path.stat().st_size / 1024**2,
        big_mb=big_path.stat().st_size / 1024**2 if big_path is not None else None,
        repeats=args.repeats,
        blas=blas,
    )
    info = bench.machine_info(VERSIONS, gpu=True)
    table = render(
        results,
        big,
        setup=setup,
        checks=checks,
        peer_checks=peer_checks,
        info=info,
        conditions=during,
    )
    header = "## `cross_section.py`: cross-sectional regressions (WLS, Barra, Huber)\n\n"
    bench.publish(table, output, "cross_section", header)
    return 0


if __name__ == "__main__":
    sys.exit(main())
