"""What each public function reads at call time on a LazyFrame.

Calling a function on a LazyFrame builds a plan; the data is read when the plan is
collected. The exceptions are checks and small reads listed in docs/concepts.md
("What a call reads"), with their reason. This test counts the collects each public
panel function makes when it is called on a LazyFrame with its defaults, and holds
them to that list: a function that starts reading at call time fails here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
import pytest

import polars_factors as pf
from polars_factors._api import PANEL_FUNCTIONS

# What reads at call time, with default options (docs/concepts.md, "What a call reads").
# On this small panel each check is two collects: one pass over the key column to cut
# ranges of about 1M rows, then one pass per range (here one).
KEY_CHECK = 2  # check_keys=True: each (date, asset) key once
TIME_ORDER = 3  # check_keys=True: null keys, then ranges as above, each asset's dates increasing
NEGATIVE = 1  # one pass over the weight or size column: no negative value

#: Collects at call time with default options.
READS_AT_CALL: dict[str, int] = {
    "winsorize": KEY_CHECK,
    "zscore": KEY_CHECK,
    "rank": KEY_CHECK,
    "fill_missing": KEY_CHECK,
    "combine": KEY_CHECK,
    "standardize": KEY_CHECK,
    "assign_buckets": KEY_CHECK,
    "bucket_breakpoints": KEY_CHECK,
    "rebalance": KEY_CHECK,
    "turnover": KEY_CHECK,
    "cross_section": KEY_CHECK,
    "betas": KEY_CHECK,  # full sample; a rolling window checks the time order instead
    "ts_features": TIME_ORDER,
    "specific_risk": TIME_ORDER,
    "fama_french": TIME_ORDER + NEGATIVE,
    "shrink_specific_risk": KEY_CHECK + NEGATIVE,
    # the key check, then the per-date regression sums (the fit is solved at call time)
    "neutralize": KEY_CHECK + 1,
    # small tables: join_factors checks that the factor frame has one row per date;
    # fama_macbeth reads the factor returns (T x K) and returns a DataFrame
    "join_factors": 1,
    "fama_macbeth": 2,  # the input once, then a second collect of it in memory
    # the plan only
    "portfolio_returns": 0,
    "long_short": 0,
    "information_coefficient": 0,
    "quantile_returns": 0,
}


def _panel() -> pl.DataFrame:
    sim = pf.datasets.synthetic_panel(n_dates=30, n_assets=12, seed=2)
    df = sim.panel.collect().sort("asset", "date")
    rng = np.random.default_rng(0)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, df.height)))
    df = df.with_columns(
        close=pl.Series(close),
        residual=pl.col("returns"),
        specific_var=pl.col("returns") ** 2,
        bucket=(pl.col("style_1") > 0).cast(pl.Int64),
        bm=pl.col("style_2").abs(),
    )
    market = df.group_by("date").agg(mkt=pl.col("returns").mean())
    return df.join(market, on="date").sort("date", "asset")


CALLS: dict[str, Callable[[pl.LazyFrame], Any]] = {
    "winsorize": lambda lf: pf.winsorize(lf, "style_1"),
    "zscore": lambda lf: pf.zscore(lf, "style_1"),
    "rank": lambda lf: pf.rank(lf, "style_1"),
    "fill_missing": lambda lf: pf.fill_missing(lf, "style_1"),
    "neutralize": lambda lf: pf.neutralize(lf, "style_1", industry="industry"),
    "combine": lambda lf: pf.combine(lf, {"both": ["style_1", "style_2"]}),
    "standardize": lambda lf: pf.standardize(lf, ["style_1"]),
    "cross_section": lambda lf: pf.cross_section(lf, "returns", "style_1"),
    "fama_macbeth": lambda lf: pf.fama_macbeth(
        lf.select("date", factor=pl.lit("mkt"), factor_return=pl.col("mkt")).unique("date")
    ),
    "betas": lambda lf: pf.betas(lf, "returns", ["mkt"]),
    "join_factors": lambda lf: pf.join_factors(
        lf.drop("mkt"), lf.select("date", "mkt").unique("date")
    ),
    "ts_features": lambda lf: pf.ts_features(lf, "close"),
    "assign_buckets": lambda lf: pf.assign_buckets(lf, "style_1", n=3),
    "bucket_breakpoints": lambda lf: pf.bucket_breakpoints(lf, "style_1", n=3),
    "rebalance": lambda lf: pf.rebalance(lf, ["style_1"]),
    "portfolio_returns": lambda lf: pf.portfolio_returns(lf, "bucket", "returns"),
    "long_short": lambda lf: pf.long_short(lf, "style_1", "returns"),
    "fama_french": lambda lf: pf.fama_french(lf, returns="returns"),
    "information_coefficient": lambda lf: pf.information_coefficient(lf, "style_1", "returns"),
    "turnover": lambda lf: pf.turnover(lf, "bucket"),
    "quantile_returns": lambda lf: pf.quantile_returns(lf, "style_1", "returns"),
    "specific_risk": pf.specific_risk,
    "shrink_specific_risk": lambda lf: pf.shrink_specific_risk(lf, size="mcap"),
}


@pytest.fixture
def collects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every LazyFrame collect (and ``pl.collect_all``) made while active."""
    seen: list[str] = []
    real_collect, real_all = pl.LazyFrame.collect, pl.collect_all

    def collect(self: pl.LazyFrame, *args: Any, **kwargs: Any) -> Any:
        seen.append("collect")
        return real_collect(self, *args, **kwargs)

    def collect_all(frames: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append("collect_all")
        return real_all(frames, *args, **kwargs)

    monkeypatch.setattr(pl.LazyFrame, "collect", collect)
    monkeypatch.setattr(pl, "collect_all", collect_all)
    return seen


def test_every_panel_function_is_listed() -> None:
    names = {name for _, name in PANEL_FUNCTIONS}
    assert set(CALLS) == names
    assert set(READS_AT_CALL) == names


@pytest.mark.parametrize("name", list(CALLS))
def test_reads_at_call_time(name: str, collects: list[str]) -> None:
    lf = _panel().lazy()
    fama_macbeth_input = name == "fama_macbeth"
    before = len(collects)
    out = CALLS[name](lf)
    reads = len(collects) - before
    assert reads == READS_AT_CALL[name], f"{name}: {reads} collects at call time"
    if not fama_macbeth_input:  # fama_macbeth returns a small DataFrame by design
        fields = ("factor_returns", "residuals", "stats", "ic", "by_date", "spread")
        frames = [getattr(out, f) for f in fields if hasattr(out, f)]
        assert all(isinstance(f, pl.LazyFrame) for f in frames or [out])
