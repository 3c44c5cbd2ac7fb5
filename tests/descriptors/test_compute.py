"""``pf.descriptors.compute``: the wiring of every descriptor, its kinds and its errors.

Oracles: each descriptor's builder (tested against numpy per-asset loops in
tests/features/test_descriptors_price.py and tests/descriptors/test_fundamental.py)
applied by hand, ``.over(asset)`` for the time series; the fiscal table computed with
``fiscal_descriptors`` and joined by hand; nonlinear size against numpy in
test_styles.py. Plus: the modes agree, the rows keep their order, a LazyFrame is not read.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import polars_factors as pf

PRICE = ["beta", "hsigma", "dastd", "cmra", "rstr", "stom", "stoq", "stoa", "hilo"]
FUND = {
    "book_equity": "be", "net_income": "ni", "sales": "sales", "operating_cash_flow": "ocf",
    "total_assets": "ta", "total_liabilities": "tl", "long_term_debt": "ltd", "dividends": "div",
    "period_end": "period_end",
}  # fmt: skip


MEANS = (20, 18, 21, 18.5, 22, 21.5, 20.5, 16)


def daily(seed: int = 3, n_assets: int = 6, n_dates: int = 420) -> pl.DataFrame:
    """A daily panel with fundamentals joined point in time; rows interleaved across assets."""
    rng = np.random.default_rng(seed)
    days = [dt.date(2015, 1, 1) + dt.timedelta(days=i) for i in range(n_dates)]
    rows: list[tuple[object, ...]] = []
    for a in range(n_assets):
        start = int(rng.integers(0, 60))  # ragged starts
        n = n_dates - start
        ret = rng.normal(0.0005, 0.02, n)
        ret[rng.random(n) < 0.03] = np.nan
        close = 50 * np.exp(np.cumsum(np.nan_to_num(ret)))
        vol = rng.lognormal(13, 0.5, n)
        vol[rng.random(n) < 0.02] = np.nan
        rows.extend(
            (days[start + i], f"A{a}", ret[i], close[i], close[i] * 1.01, close[i] * 0.99,
             vol[i], 1e7 * (1 + a))
            for i in range(n)
        )  # fmt: skip
    df = pl.DataFrame(
        rows,
        schema=["date", "asset", "ret", "close", "high", "low", "volume", "shares"],
        orient="row",
    )
    df = df.with_columns(pl.col("ret").fill_nan(None), pl.col("volume").fill_nan(None))
    market = df.group_by("date").agg(pl.col("ret").mean().alias("market_ret"))
    df = df.join(market, on="date", how="left")
    # Fiscal years (6 per asset, public 90 days after the period end).
    fiscal = pl.DataFrame(
        [
            (f"A{a}", dt.date(y, 12, 31), *(rng.lognormal(m, 0.3) for m in MEANS))
            for a in range(n_assets) for y in range(2009, 2016)
        ],
        schema=["asset", "period_end", "be", "ni", "sales", "ocf", "ta", "tl", "ltd", "div"],
        orient="row",
    )  # fmt: skip
    return pf.io.point_in_time(df.sort("date", "asset"), fiscal, lag="90d")


def test_price_descriptors_are_their_builders() -> None:
    df = daily()
    out = pf.descriptors.compute(df, PRICE, shares="shares")
    c = {"returns": pl.col("ret"), "market": pl.col("market_ret")}
    expected = df.with_columns(
        pf.exprs.beta(c["returns"], c["market"]).over("asset").alias("beta"),
        pf.exprs.hsigma(c["returns"], c["market"]).over("asset").alias("hsigma"),
        pf.exprs.dastd(c["returns"]).over("asset").alias("dastd"),
        pf.exprs.cmra(c["returns"]).over("asset").alias("cmra"),
        pf.exprs.rstr(c["returns"]).over("asset").alias("rstr"),
        pf.exprs.stom("volume", "shares").over("asset").alias("stom"),
        pf.exprs.stoq("volume", "shares").over("asset").alias("stoq"),
        pf.exprs.stoa("volume", "shares").over("asset").alias("stoa"),
        pf.exprs.hilo("high", "low").over("asset").alias("hilo"),
    )
    assert_frame_equal(out, expected)
    for name in ("beta", "dastd", "stom", "hilo"):
        assert out[name].drop_nulls().len() > 100, name


def test_fundamental_ratios_and_fiscal_history() -> None:
    df = daily()
    names = [
        "lncap",
        "btop",
        "etop",
        "cetop",
        "sp",
        "mlev",
        "dtoa",
        "blev",
        "dyld",
        "egro",
        "sgro",
        "agro",
        "vern",
        "vsales",
        "vcfs",
    ]
    # The panel sees two fiscal years per asset (the rest were published before its
    # first date or after its last): two-year windows.
    out = pf.descriptors.compute(
        df, names, shares="shares", fundamentals=FUND, parameters={"egro": {"years": 2}}
    )
    cap = pl.col("close") * pl.col("shares")
    ref = df.with_columns(
        cap.log().alias("lncap"),
        (pl.col("be") / cap).alias("btop"),
        (pl.col("ni") / cap).alias("etop"),
        (pl.col("ocf") / cap).alias("cetop"),
        (pl.col("sales") / cap).alias("sp"),
        ((cap + pl.col("ltd")) / cap).alias("mlev"),
        (pl.col("tl") / pl.col("ta")).alias("dtoa"),
        ((pl.col("be") + pl.col("ltd")) / pl.col("be")).alias("blev"),
        (pl.col("div") / cap).alias("dyld"),
    )
    for name in names[:9]:
        np.testing.assert_allclose(
            out[name].to_numpy(), ref[name].to_numpy(), rtol=1e-12, err_msg=name
        )
    # The five-year descriptors: the fiscal table seen in the panel, per share, joined back.
    table = (
        df.select("asset", "period_end", "ni", "sales", "ta", "ocf", "shares")
        .drop_nulls("period_end")
        .unique(["asset", "period_end"])
    )
    roles = {
        "net_income": "ni",
        "sales": "sales",
        "total_assets": "ta",
        "operating_cash_flow": "ocf",
        "shares": "shares",
    }
    fiscal = pf.descriptors.fiscal_descriptors(table, roles, years=2)
    joined = df.join(
        fiscal.select("asset", "period_end", *names[9:]),
        on=["asset", "period_end"],
        how="left",
        maintain_order="left",
    )
    assert_frame_equal(out.select(names[9:]), joined.select(names[9:]))
    assert out["egro"].drop_nulls().len() > 0


@pytest.mark.parametrize("engine", ["in-memory", "streaming"])
def test_modes_and_order(engine: str) -> None:
    df = (
        daily(5)
        .sample(fraction=1.0, shuffle=True, seed=1)
        .sort("asset", "date")
        .sample(fraction=1.0, seed=2, shuffle=True)
    )
    df = df.sort("date")  # interleaved assets, dates increasing within each
    eager = pf.descriptors.compute(df, shares="shares", fundamentals=FUND)
    lazy = pf.descriptors.compute(df.lazy(), shares="shares", fundamentals=FUND).collect(
        engine=engine
    )
    assert_frame_equal(lazy, eager)
    assert eager.select("date", "asset").equals(df.select("date", "asset"))
    assert set(pf.descriptors.DESCRIPTORS) <= set(eager.columns)


def test_unsorted_assets_are_refused() -> None:
    df = daily(2)
    shuffled = df.sample(fraction=1.0, shuffle=True, seed=0)
    with pytest.raises(pf.UnsortedError):
        pf.descriptors.compute(shuffled, ["dastd"])
    with pytest.raises(pf.UnsortedError):
        pf.descriptors.compute(shuffled.lazy(), ["dastd"]).collect()
    # Per-row and per-date descriptors need no order.
    pf.descriptors.compute(shuffled, ["lncap", "nlsize"], shares="shares")


def test_parameters_reach_the_builder() -> None:
    df = daily(4)
    out = pf.descriptors.compute(
        df, ["beta"], parameters={"beta": {"half_life": 21, "min_periods": 30}}
    )
    ref = df.with_columns(
        pf.exprs.beta("ret", "market_ret", half_life=21, min_periods=30).over("asset").alias("beta")
    )
    assert_frame_equal(out, ref)
    with pytest.raises(TypeError):
        pf.descriptors.compute(df, ["beta"], parameters={"beta": {"halflife": 21}})


def test_risk_free_gives_excess_returns() -> None:
    df = daily(6).with_columns(pl.lit(0.0001).alias("rf"))
    out = pf.descriptors.compute(df, ["dastd", "beta"], risk_free="rf")
    ref = df.with_columns(
        pf.exprs.dastd("ret", risk_free="rf").over("asset").alias("dastd"),
        pf.exprs.beta("ret", "market_ret", risk_free="rf").over("asset").alias("beta"),
    )
    assert_frame_equal(out, ref)
