"""Standardization on the real S&P 500 panel (../shared/data), against the numpy oracle."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm

import polars_factors as pf
from tests import oracle
from tests.conftest import DATA_DIR

PRICES = DATA_DIR / "sp500_5yr" / "prices.parquet"
SECTORS = DATA_DIR / "nyse_kaggle" / "securities.csv"

pytestmark = pytest.mark.skipif(not PRICES.exists(), reason=f"real data not found at {DATA_DIR}")


@pytest.fixture(scope="module")
def real_panel() -> pl.DataFrame:
    """Last 40 dates: daily return, log dollar volume, range; GICS sector (null if unknown)."""
    sectors = pl.scan_csv(SECTORS).select(
        pl.col("Ticker symbol").alias("asset"), pl.col("GICS Sector").alias("sector")
    )
    lf = (
        pl.scan_parquet(PRICES)
        .rename({"Name": "asset"})
        .sort("asset", "date")
        .with_columns(
            (pl.col("close") / pl.col("close").shift(1).over("asset") - 1).alias("ret"),
            (pl.col("close") * pl.col("volume")).alias("dollar_volume"),
            ((pl.col("high") - pl.col("low")) / pl.col("close")).alias("range"),
        )
        .with_columns(pl.col("dollar_volume").log().alias("log_dv"))
        .join(sectors, on="asset", how="left")
    )
    last = lf.select(pl.col("date").unique().sort().tail(40)).collect()["date"]
    return lf.filter(pl.col("date").is_in(last.implode())).collect().sort("date", "asset")


def test_real_panel_is_messy(real_panel):
    # The quirks the library must cope with are really there.
    assert real_panel["sector"].null_count() > 0  # tickers missing from securities.csv
    assert real_panel.height > 40 * 450


@pytest.mark.parametrize("engine", ["in-memory", "streaming"])
def test_real_standardize_matches_oracle(real_panel, engine):
    out = (
        real_panel.lazy()
        .factors.standardize(
            ["ret", "log_dv", "range"], weights="dollar_volume", min_count=25, suffix="_z"
        )
        .collect(engine=engine)
    )
    assert out.height == real_panel.height
    w = oracle.raw_column(real_panel, "dollar_volume")
    for col in ("ret", "log_dv", "range"):
        expected = oracle.per_group(
            real_panel,
            ["date"],
            [oracle.column(real_panel, col), w],
            lambda v, wv: oracle.standardize(
                v, wv, wv, lower=0.001, upper=0.999, n_sigma=3.0, std_weights="equal", min_count=25
            ),
        )
        np.testing.assert_allclose(
            out[f"{col}_z"].to_numpy().astype(float), expected, rtol=1e-11, atol=1e-11
        )


def test_real_zscore_and_rank_by_sector(real_panel):
    out = (
        real_panel.lazy()
        .factors.zscore("ret", weights="dollar_volume", by=["date", "sector"], suffix="_z")
        .factors.rank("log_dv", gaussian=True, suffix="_g")
        .collect(engine="streaming")
    )
    expected_z = oracle.per_group(
        real_panel,
        ["date", "sector"],
        [oracle.column(real_panel, "ret"), oracle.raw_column(real_panel, "dollar_volume")],
        oracle.zscore,
    )
    np.testing.assert_allclose(
        out["ret_z"].to_numpy().astype(float), expected_z, rtol=1e-11, atol=1e-11
    )
    expected_g = oracle.per_group(
        real_panel,
        ["date"],
        [oracle.column(real_panel, "log_dv")],
        lambda v: oracle.rank(v, gaussian=True),
    )
    np.testing.assert_allclose(
        out["log_dv_g"].to_numpy().astype(float), expected_g, rtol=1e-12, atol=1e-12
    )


def test_real_neutralize_residuals_orthogonal(real_panel):
    plan = real_panel.lazy().factors.neutralize(
        "ret", against=["log_dv"], industry="sector", suffix="_n"
    )
    # Rows without a sector or a dollar volume get null residuals: the plan says so.
    with pytest.warns(pf.DataLossWarning, match=r"'ret_n': \d+ values became null"):
        out = plan.collect(engine="streaming")
    fitted = out.filter(pl.col("ret_n").is_not_null() & pl.col("sector").is_not_null())
    per_date = fitted.group_by("date").agg(
        (pl.col("ret_n") * pl.col("log_dv")).sum().abs().alias("dot"),
        pl.col("ret_n").abs().max().alias("scale"),
    )
    assert (per_date["dot"] <= 1e-9 * per_date["scale"] * 500).all()
    per_sector = fitted.group_by("date", "sector").agg(pl.col("ret_n").sum().abs().alias("s"))
    assert per_sector["s"].max() < 1e-12


# --- cross-sectional regression on the real panel ------------------------------------


def _statsmodels_fit(day: pl.DataFrame, method: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """One date by statsmodels on the substituted design (independent of the library)."""
    day = day.drop_nulls(["ret", "log_dv", "range", "sector", "dollar_volume"])
    sectors = sorted(day["sector"].unique().to_list())
    share = np.array([day.filter(pl.col("sector") == s)["dollar_volume"].sum() for s in sectors])
    share = share / share.sum()
    dummies = np.column_stack([(day["sector"] == s).to_numpy().astype(float) for s in sectors])
    x = np.column_stack([day["log_dv"], day["range"], np.ones(day.height), dummies])
    j = len(sectors)
    # Null-space basis of the constraint: the last sector in terms of the others.
    basis = np.zeros((3 + j, 2 + j))
    basis[:3, :3] = np.eye(3)
    basis[3:, 3:] = np.vstack([np.eye(j - 1), -share[:-1] / share[-1]])
    w = np.sqrt(day["dollar_volume"].to_numpy())
    y = day["ret"].to_numpy()
    if method == "huber":
        fit = sm.RLM(np.sqrt(w) * y, np.sqrt(w)[:, None] * (x @ basis), M=sm.robust.norms.HuberT())
        res = fit.fit()
    else:
        res = sm.WLS(y, x @ basis, weights=w).fit()
    f = basis @ res.params
    se = np.sqrt(np.diag(basis @ res.cov_params() @ basis.T))
    return ["log_dv", "range", "country", *sectors], f, se


@pytest.mark.parametrize("method", ["wls", "huber"])
def test_real_cross_section_matches_statsmodels(real_panel, method):
    """WLS and Huber with sectors, a country factor and the constraint, vs statsmodels."""
    panel = real_panel.with_columns(w=pl.col("dollar_volume").sqrt())
    res = pf.cross_section(
        panel.lazy(), "ret", ["log_dv", "range"], industry="sector", country=True,
        weights="w", constraint_weights="dollar_volume", method=method,
    ).collect(engine="streaming")  # fmt: skip
    statuses = set(res.stats["status"].to_list())
    # Huber stops some dates at max_iter=50, as statsmodels does with the same options.
    assert statuses == ({"ok"} if method == "wls" else {"ok", "max_iter"})
    dates = res.stats["date"]
    checked = [*dates[::13], *res.stats.filter(pl.col("status") == "max_iter")["date"][:1]]
    for day_date in checked:
        names, f, se = _statsmodels_fit(real_panel.filter(pl.col("date") == day_date), method)
        ours = res.factor_returns.filter(pl.col("date") == day_date)
        assert ours["factor"].to_list() == names
        np.testing.assert_allclose(ours["factor_return"].to_numpy(), f, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(ours["std_error"].to_numpy(), se, rtol=1e-8, atol=1e-12)
