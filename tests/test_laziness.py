"""What each public function reads at call time on a LazyFrame.

Calling a function on a LazyFrame builds a plan; the data is read when the plan is
collected. The exceptions are checks and small reads listed in docs/concepts.md
("What a call reads"), with their reason. This test counts the collects each public
panel function makes when it is called on a LazyFrame with its defaults, and holds
them to that list: a function that starts reading at call time fails here.
"""

from __future__ import annotations

from collections.abc import Callable
from inspect import signature
from typing import Any

import numpy as np
import polars as pl
import pytest

import polars_factors as pf
from polars_factors._api import PANEL_FUNCTIONS, load

# What reads at call time on a LazyFrame (docs/concepts.md, "What a call reads").
# With the defaults, nothing but the documented exceptions: the time-order and
# negative-value checks are inside the plan, the duplicate-key check is opt-in.
# With check_keys=True the checks run at call time; on this small panel each is two
# collects: one pass over the key column to cut ranges of about 1M rows, then one
# pass per range (here one).
KEY_CHECK = 2  # each (date, asset) key once
TIME_ORDER = 3  # null keys, then ranges as above, each asset's dates increasing
NEGATIVE = 1  # one pass over the weight or size column: no negative value

#: Collects at call time with default options.
READS_AT_CALL: dict[str, int] = {
    "check_panel": KEY_CHECK,  # the explicit check: it reads now, by design
    # the per-date regression sums (the fit is solved at call time)
    "neutralize": 1,
    # small tables: join_factors checks that the factor frame has one row per date;
    # fama_macbeth reads the factor returns (T x K) and returns a DataFrame
    "join_factors": 1,
    "fama_macbeth": 2,  # the input once, then a second collect of it in memory
}

#: Collects at call time with ``check_keys=True``, for the functions that take it.
READS_WITH_CHECK: dict[str, int] = {
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
    "neutralize": KEY_CHECK + 1,
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


CALLS: dict[str, Callable[..., Any]] = {
    "check_panel": pf.check_panel,
    "winsorize": lambda lf, **kw: pf.winsorize(lf, "style_1", **kw),
    "zscore": lambda lf, **kw: pf.zscore(lf, "style_1", **kw),
    "rank": lambda lf, **kw: pf.rank(lf, "style_1", **kw),
    "fill_missing": lambda lf, **kw: pf.fill_missing(lf, "style_1", **kw),
    "neutralize": lambda lf, **kw: pf.neutralize(lf, "style_1", industry="industry", **kw),
    "combine": lambda lf, **kw: pf.combine(lf, {"both": ["style_1", "style_2"]}, **kw),
    "standardize": lambda lf, **kw: pf.standardize(lf, ["style_1"], **kw),
    "cross_section": lambda lf, **kw: pf.cross_section(lf, "returns", "style_1", **kw),
    "fama_macbeth": lambda lf: pf.fama_macbeth(
        lf.select("date", factor=pl.lit("mkt"), factor_return=pl.col("mkt")).unique("date")
    ),
    "betas": lambda lf, **kw: pf.betas(lf, "returns", ["mkt"], **kw),
    "join_factors": lambda lf: pf.join_factors(
        lf.drop("mkt"), lf.select("date", "mkt").unique("date")
    ),
    "ts_features": lambda lf, **kw: pf.ts_features(lf, "close", **kw),
    "assign_buckets": lambda lf, **kw: pf.assign_buckets(lf, "style_1", n=3, **kw),
    "bucket_breakpoints": lambda lf, **kw: pf.bucket_breakpoints(lf, "style_1", n=3, **kw),
    "rebalance": lambda lf, **kw: pf.rebalance(lf, ["style_1"], **kw),
    "portfolio_returns": lambda lf: pf.portfolio_returns(lf, "bucket", "returns"),
    "long_short": lambda lf: pf.long_short(lf, "style_1", "returns"),
    "fama_french": lambda lf, **kw: pf.fama_french(lf, returns="returns", **kw),
    "information_coefficient": lambda lf: pf.information_coefficient(lf, "style_1", "returns"),
    "turnover": lambda lf, **kw: pf.turnover(lf, "bucket", **kw),
    "quantile_returns": lambda lf: pf.quantile_returns(lf, "style_1", "returns"),
    "specific_risk": pf.specific_risk,
    "shrink_specific_risk": lambda lf, **kw: pf.shrink_specific_risk(lf, size="mcap", **kw),
}


def test_every_panel_function_is_listed() -> None:
    names = {name for _, name in PANEL_FUNCTIONS}
    assert set(CALLS) == names
    assert set(READS_AT_CALL) <= names
    takes_check = {
        n for m, n in PANEL_FUNCTIONS if "check_keys" in signature(load(m, n)).parameters
    }
    assert set(READS_WITH_CHECK) == takes_check


@pytest.mark.parametrize("name", list(CALLS))
def test_reads_at_call_time(name: str, collects: list[str]) -> None:
    lf = _panel().lazy()
    fama_macbeth_input = name == "fama_macbeth"
    before = len(collects)
    out = CALLS[name](lf)
    reads = len(collects) - before
    assert reads == READS_AT_CALL.get(name, 0), f"{name}: {reads} collects at call time"
    if not fama_macbeth_input:  # fama_macbeth returns a small DataFrame by design
        fields = ("factor_returns", "residuals", "stats", "ic", "by_date", "spread")
        frames = [getattr(out, f) for f in fields if hasattr(out, f)]
        assert all(isinstance(f, pl.LazyFrame) for f in frames or [out])


@pytest.mark.parametrize("check_keys", [True, False])
@pytest.mark.parametrize("name", list(READS_WITH_CHECK))
def test_reads_with_check_keys(name: str, check_keys: bool, collects: list[str]) -> None:
    # True: the checks at call time; False: no check, only the documented reads.
    lf = _panel().lazy()
    before = len(collects)
    CALLS[name](lf, check_keys=check_keys)
    reads = len(collects) - before
    want = READS_WITH_CHECK[name] if check_keys else READS_AT_CALL.get(name, 0)
    assert reads == want, f"{name}: {reads} collects with check_keys={check_keys}"
