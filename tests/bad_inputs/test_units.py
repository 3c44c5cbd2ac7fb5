"""Returns in percent where decimals are expected: one UnitsWarning per call or plan.

The rule (polars_factors._units): at least 10 finite values, a median |value| above 0.2
and at least 1% of the values below -1. A DataFrame is checked at call time; a
LazyFrame reads nothing at call time and warns once when its plan is collected.
"""

from __future__ import annotations

import datetime as dt
import pickle
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
import pytest

import polars_factors as pf
from polars_factors._units import _UnitsWarner, check_units, percent_like
from polars_factors.io import read_french_csv
from tests.conftest import DATA_DIR

N_ASSETS = 12
N_MONTHS = 30


def _panel(scale: float) -> pl.DataFrame:
    """A monthly panel sorted by date and asset; returns of about 5% a month x scale."""
    rng = np.random.default_rng(16)
    dates = pl.date_range(dt.date(2018, 1, 1), dt.date(2020, 6, 1), "1mo", eager=True)
    dates = dates.dt.month_end()
    n = len(dates) * N_ASSETS
    return pl.DataFrame(
        {
            "date": np.repeat(dates.to_numpy(), N_ASSETS),
            "asset": [f"a{i:02d}" for i in range(N_ASSETS)] * len(dates),
            "ret": rng.normal(0.005, 0.06, n) * scale,
            "mkt": np.repeat(rng.normal(0.005, 0.04, len(dates)), N_ASSETS),
            "signal": rng.normal(size=n),
            "bucket": rng.integers(1, 4, n),
            "mcap": rng.lognormal(3, 1, n),
            "bm": rng.lognormal(-0.5, 0.5, n),
        }
    ).with_columns(residual=pl.col("ret") - pl.col("mkt") * scale)


def _collect(out: Any, engine: str) -> Any:
    return out.collect(engine=engine) if hasattr(out, "collect") else out


CALLS: dict[str, Callable[[Any], Any]] = {
    "betas": lambda f: pf.betas(f, "ret", "mkt"),
    "betas_rolling": lambda f: pf.betas(f, "ret", "mkt", window=12),
    "cross_section": lambda f: pf.cross_section(f, "ret", "bm"),
    "portfolio_returns": lambda f: pf.portfolio_returns(f, "bucket", "ret"),
    "long_short": lambda f: pf.portfolio.long_short(f, "signal", "ret", n=3),
    "quantile_returns": lambda f: pf.portfolio.quantile_returns(f, "signal", "ret", n=3),
    "fama_french": pf.portfolio.fama_french,
    "information_coefficient": lambda f: pf.portfolio.information_coefficient(f, "signal", "ret"),
    "specific_risk": lambda f: pf.risk.specific_risk(f, half_life=12),
}


def _units_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, pf.UnitsWarning)]


@pytest.mark.parametrize("name", list(CALLS))
def test_percent_returns_warn_once_on_a_dataframe(name):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        CALLS[name](_panel(100.0))
    found = _units_warnings(caught)
    assert len(found) == 1, found
    assert "looks like percent" in found[0]
    assert "pl.col('ret') / 100" in found[0] or "pl.col('residual') / 100" in found[0]


@pytest.mark.parametrize("engine", ["in-memory", "streaming"])
@pytest.mark.parametrize("name", list(CALLS))
def test_percent_returns_warn_once_when_a_lazy_plan_is_collected(name, engine):
    lf = _panel(100.0).lazy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = CALLS[name](lf)
        assert not _units_warnings(caught), "a LazyFrame call reads nothing"
        _collect(out, engine)
    found = _units_warnings(caught)
    assert len(found) == 1, found
    assert "lazy plan" in found[0]


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("name", list(CALLS))
def test_decimal_returns_do_not_warn(name, lazy):
    frame: Any = _panel(1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", pf.UnitsWarning)
        _collect(CALLS[name](frame.lazy() if lazy else frame), "streaming")


def _factor_returns(scale: float) -> pl.DataFrame:
    rng = np.random.default_rng(5)
    return pl.DataFrame(
        {
            "date": pl.date_range(dt.date(2015, 1, 31), dt.date(2019, 12, 31), "1mo", eager=True),
            "mkt": rng.normal(0.006, 0.04, 60) * scale,
            "smb": rng.normal(0.002, 0.03, 60) * scale,
        }
    )


@pytest.mark.parametrize("layout", ["wide", "long"])
def test_factor_covariance_warns_on_percent_factor_returns(layout):
    fr = _factor_returns(100.0)
    if layout == "long":
        fr = fr.unpivot(index="date", variable_name="factor", value_name="factor_return")
    with pytest.warns(pf.UnitsWarning, match="factor_covariance") as caught:
        pf.risk.factor_covariance(fr.lazy(), half_life_vol=12, half_life_corr=24)
    assert len(_units_warnings(list(caught))) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", pf.UnitsWarning)
        pf.risk.factor_covariance(_factor_returns(1.0), half_life_vol=12, half_life_corr=24)


@pytest.mark.parametrize("kind", ["eager", "lazy panel", "lazy both"])
def test_join_factors_warns_on_percent_factors(kind):
    panel: Any = _panel(1.0).drop("mkt")
    factors: Any = _factor_returns(100.0).with_columns(pl.col("date").dt.month_end())
    if kind != "eager":
        panel = panel.lazy()
    if kind == "lazy both":
        factors = factors.lazy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = pf.join_factors(panel, factors)
        if kind == "lazy both":
            assert not _units_warnings(caught)
            out.collect()
    found = _units_warnings(caught)
    assert len(found) == 1
    assert "'mkt', 'smb'" in found[0]


def test_fama_french_warns_once_not_per_portfolio_step():
    lf = _panel(100.0).lazy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pf.portfolio.fama_french(lf, momentum="signal").collect()
    assert len(_units_warnings(caught)) == 1


def test_betas_does_not_judge_its_regressors():
    # z-scored features are fine regressors: only the response is checked.
    df = _panel(1.0).with_columns(z=(pl.col("signal") - pl.col("signal").mean()))
    with warnings.catch_warnings():
        warnings.simplefilter("error", pf.UnitsWarning)
        pf.betas(df, "ret", ["mkt", "z"])


def test_rule_needs_both_conditions_and_enough_values():
    long_horizon = pl.DataFrame({"r": [0.3, -0.4, 0.5, 0.25, -0.2, 0.6, 0.35, -0.3, 0.4, 0.1]})
    book_to_market = pl.DataFrame({"bm": [0.5, 0.7, 1.2, 2.0, 0.3] * 4})
    tiny = pl.DataFrame({"r": [1.5, -2.0, 3.0]})
    percent = pl.DataFrame({"r": [1.5, -2.0, 3.0, -0.5, 0.8] * 2})
    assert percent_like(long_horizon) == []  # none below -1
    assert percent_like(book_to_market) == []
    assert percent_like(tiny) == []  # fewer than 10 values
    assert [s.column for s in percent_like(percent)] == ["r"]
    assert percent_like(pl.DataFrame({"r": [None, float("nan"), float("inf")] * 5})) == []


def test_a_plan_warns_once_however_often_it_is_collected():
    lf = check_units(pl.concat([_panel(100.0).lazy()] * 20), ["ret"], function="test")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lf.collect(engine="streaming")
        lf.collect(engine="in-memory")
    assert len(_units_warnings(caught)) == 1


def test_the_batch_check_pickles_without_its_lock():
    check = _UnitsWarner(["ret"], function="betas")
    again = pickle.loads(pickle.dumps(check))
    assert again.names == ["ret"]
    assert not again.warned


# Real data: never a warning.


@pytest.fixture(scope="module")
def sp500() -> pl.DataFrame:
    if not DATA_DIR.exists():
        pytest.skip(f"real data not found at {DATA_DIR}")
    prices = pl.read_parquet(DATA_DIR / "sp500_5yr" / "prices.parquet")
    ff = read_french_csv(DATA_DIR / "fama_french" / "F-F_Research_Data_Factors_daily.CSV")
    panel = (
        prices.select("date", pl.col("Name").alias("asset"), "close")
        .with_columns(pl.col("date").cast(pl.Date))
        .sort("asset", "date")
        .with_columns(ret=pl.col("close").pct_change().over("asset"))
        .sort("date", "asset")
    )
    return pf.join_factors(panel, ff.rename({"Mkt-RF": "mkt"}).select("date", "mkt"))


@pytest.mark.filterwarnings("ignore::polars_factors.DataLossWarning")
def test_real_sp500_panel_does_not_warn(sp500):
    with warnings.catch_warnings():
        warnings.simplefilter("error", pf.UnitsWarning)
        pf.betas(sp500, "ret", "mkt")
        pf.betas(sp500.lazy(), "ret", "mkt", window=126).collect(engine="streaming")
        pf.cross_section(sp500.lazy(), "ret", "mkt").collect()


def test_real_and_bundled_fama_french_factors_do_not_warn():
    tables = [pf.datasets.load_fama_french(f) for f in ("daily", "monthly")]
    if DATA_DIR.exists():
        tables += [read_french_csv(p) for p in sorted((DATA_DIR / "fama_french").iterdir())]
    with warnings.catch_warnings():
        warnings.simplefilter("error", pf.UnitsWarning)
        for table in tables:
            df = table.collect() if isinstance(table, pl.LazyFrame) else table
            assert percent_like(df.drop("date")) == []
            check_units(df, [c for c in df.columns if c != "date"], function="test")


def test_synthetic_datasets_do_not_warn():
    sim = pf.datasets.synthetic_panel(n_dates=60, n_assets=50, n_styles=2, n_industries=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", pf.UnitsWarning)
        fit = pf.cross_section(sim.panel, "returns", ["style_1", "style_2"], industry="industry")
        fit = fit.collect()
        pf.risk.factor_covariance(fit.factor_returns, half_life_vol=20, half_life_corr=40)
        pf.risk.specific_risk(fit.residuals, half_life=20)
        pf.risk.factor_covariance(sim.factor_returns, half_life_vol=20, half_life_corr=40)
