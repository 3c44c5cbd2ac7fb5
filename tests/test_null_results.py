"""Results that come back null where the input had data are reported, lazy or eager.

A DataFrame input is reported at call time with exact counts; a LazyFrame's plan
carries the check and reports when it is collected (once per plan, with the counts of
the batch where it happened). Each case runs eager, lazy with the in-memory engine and
lazy with the streaming engine.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

import numpy as np
import polars as pl
import pytest

import polars_factors as pf
from polars_factors.exceptions import DataLossWarning

MODES = ["eager", "in-memory", "streaming"]


def _apply(mode: str, df: pl.DataFrame, fn: Any) -> tuple[Any, list[str]]:
    """Run ``fn`` on ``df`` in ``mode``; return the collected result and the warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataLossWarning)
        if mode == "eager":
            out = fn(df)
        else:
            out = fn(df.lazy())
            out = out.collect(engine=mode) if isinstance(out, pl.LazyFrame) else out
    messages = [str(w.message) for w in caught if issubclass(w.category, DataLossWarning)]
    return out, messages


def _panel(n_dates: int = 6, n_assets: int = 8, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_dates * n_assets
    return pl.DataFrame(
        {
            "date": np.repeat(np.arange(n_dates), n_assets),
            "asset": np.tile([f"a{i}" for i in range(n_assets)], n_dates),
            "ret": rng.normal(0, 0.02, n),
            "x": rng.normal(size=n),
            "y": rng.normal(size=n),
            "mkt": np.repeat(rng.normal(0, 0.01, n_dates), n_assets),
        }
    )


# --------------------------------------------------------------------------- standardize


@pytest.mark.parametrize("mode", MODES)
def test_standardize_min_count_reports_the_dates_it_nulls(mode: str) -> None:
    # Date 0 keeps 2 rows only: below min_count=3, every value of it becomes null.
    df = _panel().filter((pl.col("date") != 0) | (pl.col("asset").is_in(["a0", "a1"])))
    out, msgs = _apply(mode, df, lambda f: pf.standardize(f, "x", min_count=3))
    assert out.filter(pl.col("date") == 0)["x"].null_count() == 2
    assert len(msgs) == 1
    assert "'x'" in msgs[0]
    assert "min_count=3" in msgs[0]
    if mode != "streaming":  # one batch: the count is exact
        assert "2 values became null" in msgs[0]


@pytest.mark.parametrize("mode", ["in-memory", "streaming"])
def test_a_lazy_plan_reports_once(mode: str) -> None:
    df = _panel().with_columns(x=pl.when(pl.col("date") < 3).then(1.0).otherwise(pl.col("x")))
    plan = pf.zscore(df.lazy(), "x")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataLossWarning)
        plan.collect(engine=mode)
        plan.collect(engine=mode)
    assert len([w for w in caught if issubclass(w.category, DataLossWarning)]) == 1


def test_no_loss_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataLossWarning)
        pf.zscore(_panel().lazy(), "x").collect()
        pf.zscore(_panel(), "x")


def test_a_chunked_run_reports_the_loss() -> None:
    df = _panel(n_dates=12).with_columns(
        x=pl.when(pl.col("date") == 7).then(1.0).otherwise(pl.col("x"))
    )
    with pytest.warns(DataLossWarning, match="'x': 8 values became null"):
        out = pf.partition.collect(pf.zscore(df.lazy(), "x"), rows=16)
    assert out.filter(pl.col("date") == 7)["x"].null_count() == 8


# --------------------------------------------------------------------------- cross_section


@pytest.mark.parametrize("mode", MODES)
def test_cross_section_collinear_styles(mode: str) -> None:
    df = _panel().with_columns(y=2.0 * pl.col("x"))
    res, msgs = _apply(mode, df, lambda f: pf.cross_section(f, "ret", ["x", "y"]).collect())
    assert res.factor_returns["factor_return"].null_count() == res.factor_returns.height
    assert any(
        "6 of 6 dates with usable rows have null factor returns: 6 singular" in m for m in msgs
    )


@pytest.mark.parametrize("mode", MODES)
def test_cross_section_constant_style(mode: str) -> None:
    # A style constant on a date is collinear with the intercept (country) there.
    df = _panel().with_columns(x=pl.when(pl.col("date") == 2).then(0.5).otherwise(pl.col("x")))
    res, msgs = _apply(
        mode, df, lambda f: pf.cross_section(f, "ret", ["x"], country=True).collect()
    )
    assert res.stats.filter(pl.col("date") == 2)["status"].item() == "singular"
    assert any("1 of 6 dates" in m and "1 singular" in m for m in msgs)


@pytest.mark.parametrize("mode", MODES)
def test_cross_section_fewer_assets_than_factors(mode: str) -> None:
    df = _panel().filter((pl.col("date") != 4) | (pl.col("asset") == "a0"))
    res, msgs = _apply(
        mode, df, lambda f: pf.cross_section(f, "ret", ["x", "y"], country=True).collect()
    )
    assert res.stats.filter(pl.col("date") == 4)["status"].item() == "too_few_assets"
    assert any("1 fewer usable assets than factors" in m for m in msgs)


def test_cross_section_datetime_with_times_of_day() -> None:
    # Each row has its own timestamp: every row is a date of its own.
    df = _panel(n_dates=2, n_assets=6).with_columns(
        date=pl.datetime(2024, 1, 2) + pl.duration(minutes=pl.int_range(pl.len()))
    )
    with pytest.warns(DataLossWarning, match=r"carries times of day.*\.dt\.date\(\)"):
        pf.cross_section(df, "ret", ["x"], country=True)


# --------------------------------------------------------------------------- betas, IC


@pytest.mark.parametrize("mode", MODES)
def test_betas_all_zero_factor(mode: str) -> None:
    df = _panel().with_columns(zero=pl.lit(0.0))
    out, msgs = _apply(mode, df, lambda f: pf.betas(f, "ret", ["mkt", "zero"]))
    assert out["beta_mkt"].null_count() == out.height == 8
    assert len(msgs) == 1
    assert "singular design" in msgs[0]
    if mode != "streaming":
        assert "'alpha': 8 fits became null" in msgs[0]


@pytest.mark.parametrize("mode", MODES)
def test_ic_constant_signal(mode: str) -> None:
    df = _panel().with_columns(x=pl.when(pl.col("date") < 2).then(1.0).otherwise(pl.col("x")))
    res, msgs = _apply(mode, df, lambda f: pf.information_coefficient(f, "x", "ret").ic)
    assert res.filter(pl.col("date") < 2)["ic"].null_count() == 2
    assert res.filter(pl.col("date") >= 2)["ic"].null_count() == 0
    assert len(msgs) == 1
    assert "constant signal" in msgs[0]
    if mode != "streaming":
        assert "'ic': 2 dates became null" in msgs[0]


def test_dates_as_datetimes_without_times_are_fine() -> None:
    df = _panel(n_dates=3).with_columns(date=pl.datetime(2024, 1, 2) + pl.duration(days="date"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataLossWarning)
        res = pf.cross_section(df, "ret", ["x"], country=True)
    assert res.stats["date"].to_list() == [dt.datetime(2024, 1, d) for d in (2, 3, 4)]


# --------------------------------------------------------------------------- covariance


def test_factor_covariance_on_one_date_warns() -> None:
    fr = pl.DataFrame({"date": [1, 1], "factor": ["a", "b"], "factor_return": [0.01, 0.02]})
    with pytest.warns(DataLossWarning, match=r"every covariance is null.*have 1 dates"):
        out = pf.risk.factor_covariance(fr)
    assert out["covariance"].null_count() == 4


# Unit-scale random factor returns look like percent to the units check.
@pytest.mark.filterwarnings("ignore::polars_factors.UnitsWarning")
def test_factor_covariance_warm_up_dates_do_not_warn() -> None:
    # The first dates of a history are null by design; the last date has values.
    rng = np.random.default_rng(5)
    fr = pl.DataFrame({"date": np.arange(30), "a": rng.normal(size=30), "b": rng.normal(size=30)})
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataLossWarning)
        out = pf.risk.factor_covariance(fr, half_life_vol=10, half_life_corr=20)
    assert out.filter(pl.col("date") == 0)["covariance"].null_count() == 4
    assert out.filter(pl.col("date") == 29)["covariance"].null_count() == 0


# Unit-scale random factor returns look like percent to the units check.
@pytest.mark.filterwarnings("ignore::polars_factors.UnitsWarning")
def test_factor_covariance_a_late_factor_on_the_last_date_warns() -> None:
    rng = np.random.default_rng(6)
    b = rng.normal(size=30)
    b[:28] = np.nan  # 'b' starts two dates before the end
    fr = pl.DataFrame({"date": np.arange(30), "a": rng.normal(size=30), "b": b}).fill_nan(None)
    with pytest.warns(
        DataLossWarning,
        match=r"on the last date, 3 of 4 covariances are null.*1 factors have no variance: 'b'",
    ):
        out = pf.risk.factor_covariance(fr, half_life_vol=10, half_life_corr=20, dates="last")
    assert out.filter(pl.col("factor_1") == "a", pl.col("factor_2") == "a")["covariance"].item()


# --------------------------------------------------------------------------- fama_french


def _sp500() -> pl.DataFrame:
    lf = pf.datasets.load_sp500().with_columns(mcap=pl.col("close") * pl.col("shares_outstanding"))
    return (
        lf.with_columns(
            bm=pl.col("book_equity") / pl.col("mcap"),
            ret=pl.col("close").pct_change().over("asset"),
        )
        .select("date", "asset", "mcap", "bm", "ret")
        .collect()
    )


@pytest.mark.parametrize("mode", MODES)
def test_fama_french_empty_breakpoint_universe(mode: str) -> None:
    df = _sp500()
    out, msgs = _apply(
        mode, df, lambda f: pf.fama_french(f, breakpoint_universe=pl.col("mcap") < 0)
    )
    assert out["SMB"].null_count() == out["HML"].null_count() == out.height > 700
    assert len(msgs) == 1
    assert "fama_french: 'SMB', 'HML' null on all" in msgs[0]
    assert "empty breakpoint universe" in msgs[0]


def test_fama_french_with_portfolios_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataLossWarning)
        out = pf.fama_french(_sp500().lazy()).collect()
    assert out["HML"].null_count() < out.height
