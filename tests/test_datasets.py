"""Bundled sample data and the synthetic panel.

Oracles: the raw files in ../shared/data (when present) read without the library, a
pandas ``merge_asof`` for the point-in-time fundamentals, and an explicit rebuild of
the synthetic returns from the true factor returns.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import polars_factors as pf
from polars_factors.datasets import data_path, load_fama_french, load_sp500, synthetic_panel
from tests.conftest import DATA_DIR

FUNDAMENTALS = ["shares_outstanding", "book_equity", "net_income", "sales"]


@pytest.fixture(scope="module")
def sp500() -> pl.DataFrame:
    return load_sp500().collect()


def test_sp500_layout(sp500):
    assert sp500.columns == [
        "date",
        "asset",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "sector",
        "industry",
        *FUNDAMENTALS,
    ]
    assert sp500.height == 375_980
    assert sp500["date"].n_unique() == 756
    assert sp500["asset"].n_unique() == 505
    assert sp500.select(pl.struct("date", "asset").is_unique().all()).item()
    assert sp500.select(["asset", "date"]).equals(
        sp500.select(["asset", "date"]).sort("asset", "date")
    )
    assert sp500["date"].min() == dt.date(2015, 2, 9)
    assert sp500["date"].max() == dt.date(2018, 2, 7)
    assert sp500.filter(pl.col("sector").is_not_null())["sector"].n_unique() == 11
    # 31 tickers have no GICS row, hence no sector (kept as null, not dropped)
    assert sp500.filter(pl.col("sector").is_null())["asset"].n_unique() == 31
    assert sp500.filter(pl.col("shares_outstanding") <= 0).height == 0


def test_sp500_point_in_time_against_pandas_merge_asof(sp500):
    """Each row has the latest fiscal year public on its date (period_end + lag <= date)."""
    lag = 90
    fundamentals = pd.read_parquet(data_path("sp500_fundamentals.parquet"))
    fundamentals["public"] = (
        pd.to_datetime(fundamentals["period_end"]) + pd.Timedelta(days=lag)
    ).astype("datetime64[ns]")
    prices = sp500.select("date", "asset").to_pandas()
    prices["date"] = pd.to_datetime(prices["date"]).astype("datetime64[ns]")
    oracle = pd.merge_asof(
        prices.sort_values("date"),
        fundamentals.sort_values("public"),
        left_on="date",
        right_on="public",
        by="asset",
        direction="backward",
    ).sort_values(["asset", "date"])
    for name in FUNDAMENTALS:
        np.testing.assert_array_equal(
            sp500[name].to_numpy(), oracle[name].to_numpy(dtype=float), err_msg=name
        )


def test_sp500_reporting_lag_moves_the_fundamentals():
    """A longer lag never shows a fiscal year earlier; lag 0 shows it on its period end."""
    row = pl.col("asset") == "AAPL"
    at = pl.col("date") == pl.date(2016, 10, 3)  # AAPL fiscal 2016 ended 2016-09-24
    early = load_sp500(reporting_lag_days=0).filter(row, at).collect()
    late = load_sp500(reporting_lag_days=90).filter(row, at).collect()
    fund = pl.read_parquet(data_path("sp500_fundamentals.parquet")).filter(row)
    fy2016 = fund.filter(pl.col("period_end") == pl.date(2016, 9, 24))
    fy2015 = fund.filter(pl.col("period_end") == pl.date(2015, 9, 26))
    assert early["net_income"].item() == fy2016["net_income"].item()
    assert late["net_income"].item() == fy2015["net_income"].item()


@pytest.mark.parametrize(("lag", "error"), [(-1, ValueError), (1.5, TypeError), (True, TypeError)])
def test_sp500_bad_lag(lag, error):
    with pytest.raises(error, match="reporting_lag_days"):
        load_sp500(reporting_lag_days=lag)


def test_sp500_streams(sp500):
    streamed = load_sp500().collect(engine="streaming").sort("asset", "date")
    assert_frame_equal(streamed, sp500)


@pytest.mark.skipif(not DATA_DIR.exists(), reason=f"real data not found at {DATA_DIR}")
def test_sp500_matches_the_source_files(sp500):
    raw = (
        pl.read_parquet(DATA_DIR / "sp500_5yr" / "prices.parquet")
        .filter(pl.col("date") >= dt.date(2015, 2, 9))
        .rename({"Name": "asset"})
        .sort("asset", "date")
    )
    assert_frame_equal(sp500.select(raw.columns), raw.select(raw.columns))
    securities = pl.read_csv(DATA_DIR / "nyse_kaggle" / "securities.csv")
    sectors = dict(zip(securities["Ticker symbol"], securities["GICS Sector"], strict=True))
    got = sp500.unique("asset").select("asset", "sector").rows()
    assert all(sector == sectors.get(asset) for asset, sector in got)
    # AAPL's fiscal 2016 total equity as written in the spreadsheet
    fund = pl.read_csv(DATA_DIR / "nyse_kaggle" / "fundamentals.csv", infer_schema_length=0)
    equity = fund.filter(pl.col("Ticker Symbol") == "AAPL", pl.col("Period Ending") == "24-Sep-16")[
        "Total Equity"
    ].item()
    last = sp500.filter(pl.col("asset") == "AAPL").tail(1)
    assert last["book_equity"].item() == float(equity)


@pytest.mark.parametrize("frequency", ["daily", "monthly"])
@pytest.mark.parametrize("model", ["3", "5"])
def test_fama_french_layout(frequency, model):
    ff = load_fama_french(frequency, model)
    extra = ["RMW", "CMA"] if model == "5" else []
    assert ff.columns == ["date", "Mkt-RF", "SMB", "HML", *extra, "RF"]
    assert ff.schema["date"] == pl.Date
    assert ff["date"].is_sorted()
    assert ff["date"].is_unique().all()
    # decimals, not percent: no daily or monthly factor moves 100 %
    assert ff.drop("date").select(pl.all().abs().max()).max_horizontal().item() < 0.5
    if frequency == "monthly":
        assert (ff["date"] == ff["date"].dt.month_end()).all()
    else:
        assert ff["date"].min() >= dt.date(2000, 1, 1)
        assert ff["date"].max() >= dt.date(2018, 2, 7)  # covers the S&P 500 sample


@pytest.mark.skipif(not DATA_DIR.exists(), reason=f"real data not found at {DATA_DIR}")
def test_fama_french_matches_the_csv():
    """Spot values read from the raw text (percent) divided by 100."""
    text = (DATA_DIR / "fama_french" / "F-F_Research_Data_Factors.CSV").read_text()
    line = next(x for x in text.splitlines() if x.startswith("201701"))
    values = [float(v) / 100 for v in line.split(",")[1:]]
    ff = load_fama_french("monthly").filter(pl.col("date") == dt.date(2017, 1, 31))
    assert list(ff.row(0)[1:]) == pytest.approx(values, abs=1e-15)


def test_fama_french_bad_choices():
    with pytest.raises(ValueError, match="frequency"):
        load_fama_french("weekly")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="model"):
        load_fama_french("daily", model="4")  # type: ignore[arg-type]


def test_data_path_unknown_file():
    with pytest.raises(FileNotFoundError, match=r"sp500_prices\.parquet"):
        data_path("nope.parquet")


def rebuild_returns(sim: pf.datasets.SyntheticPanel) -> pl.DataFrame:
    """returns = country + sum_k x_k f_k + f_industry + e, from the true frames."""
    panel = sim.panel.collect()
    wide = sim.factor_returns.pivot("factor", index="date", values="factor_return")
    styles = [c for c in panel.columns if c.startswith("style_")]
    wide = wide.rename({c: f"{c}_f" for c in wide.columns if c != "date"})
    joined = panel.join(wide, on="date", how="left").join(
        sim.specific_returns, on=["date", "asset"], how="left"
    )
    total = pl.col("country_f") + pl.col("specific_return")
    for s in styles:
        total += pl.col(s) * pl.col(f"{s}_f")
    if "industry" in panel.columns:
        industries = sorted(panel["industry"].unique())
        ind = pl.coalesce(
            [pl.when(pl.col("industry") == name).then(pl.col(f"{name}_f")) for name in industries]
        )
        total += ind
    return joined.select(pl.col("returns"), total.alias("rebuilt"))


@settings(max_examples=25, deadline=None)
@given(
    n_dates=st.integers(1, 6),
    n_assets=st.integers(3, 40),
    n_styles=st.integers(0, 3),
    n_industries=st.integers(0, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_synthetic_identity_and_constraint(n_dates, n_assets, n_styles, n_industries, seed):
    sim = synthetic_panel(n_dates, n_assets, n_styles, n_industries, seed=seed)
    panel = sim.panel.collect()
    assert panel.height == n_dates * n_assets
    assert panel["date"].n_unique() == n_dates
    both = rebuild_returns(sim)
    np.testing.assert_allclose(both["returns"], both["rebuilt"], rtol=0, atol=1e-15)
    if n_industries:
        # every industry has members, and the cap-weighted industry returns sum to 0
        assert panel["industry"].n_unique() == n_industries
        caps = panel.group_by("date", "industry").agg(pl.col("mcap").sum())
        check = caps.join(
            sim.factor_returns, left_on=["date", "industry"], right_on=["date", "factor"]
        )
        per_date = check.group_by("date").agg(
            (pl.col("mcap") * pl.col("factor_return")).sum() / pl.col("mcap").sum()
        )
        assert per_date["mcap"].abs().max() < 1e-15
    if n_styles and n_assets > 1:
        stats = panel.group_by("date").agg(
            pl.col("style_1").mean().alias("mean"), pl.col("style_1").std(ddof=0).alias("std")
        )
        np.testing.assert_allclose(stats["mean"].to_numpy(), 0, atol=1e-12)
        np.testing.assert_allclose(stats["std"].to_numpy(), 1, rtol=1e-12)


def test_synthetic_is_reproducible_and_seeded():
    a = synthetic_panel(5, 20, seed=3)
    b = synthetic_panel(5, 20, seed=3)
    c = synthetic_panel(5, 20, seed=4)
    assert_frame_equal(a.panel.collect(), b.panel.collect())
    assert_frame_equal(a.factor_returns, b.factor_returns)
    assert not a.panel.collect().equals(c.panel.collect())


def test_synthetic_recovered_by_cross_section():
    """With no specific noise the regression returns the true factor returns exactly."""
    sim = synthetic_panel(4, 120, 3, 6, seed=7, noise=0.0)
    res = sim.panel.factors.cross_section(
        "returns",
        ["style_1", "style_2", "style_3"],
        industry="industry",
        country=True,
        constraint_weights="mcap",
    ).collect()
    joined = res.factor_returns.join(sim.factor_returns, on=["date", "factor"], suffix="_true")
    assert joined.height == sim.factor_returns.height
    np.testing.assert_allclose(joined["factor_return"], joined["factor_return_true"], atol=1e-12)


def test_synthetic_with_noise_is_close():
    """With noise, the estimates are within a few standard errors of the truth."""
    sim = synthetic_panel(20, 1000, 3, 10, seed=11)
    res = sim.panel.factors.cross_section(
        "returns",
        ["style_1", "style_2", "style_3"],
        industry="industry",
        country=True,
        constraint_weights="mcap",
    ).collect()
    joined = res.factor_returns.join(sim.factor_returns, on=["date", "factor"], suffix="_true")
    z = (joined["factor_return"] - joined["factor_return_true"]) / joined["std_error"]
    assert z.abs().max() < 5
    assert 0.6 < z.std() < 1.5


def test_synthetic_monthly_dates():
    sim = synthetic_panel(12, 50, interval="1mo", start=dt.date(2020, 1, 31))
    dates = sim.panel.collect()["date"].unique().sort()
    assert (
        dates.to_list()
        == pl.date_range(dt.date(2020, 1, 31), dt.date(2020, 12, 31), "1mo", eager=True).to_list()
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_dates": 0}, ValueError, "n_dates"),
        ({"n_assets": 3, "n_industries": 5}, pf.InsufficientDataError, "industries"),
        ({"noise": -1.0}, ValueError, "noise"),
        ({"persistence": 1.0}, ValueError, "persistence"),
        ({"interval": "monthly"}, ValueError, "interval"),
    ],
)
def test_synthetic_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        synthetic_panel(**kwargs)
