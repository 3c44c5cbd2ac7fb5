"""pf.exprs.forward_returns against pandas ``shift(-h)`` per asset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import polars_factors as pf
from polars_factors.exprs import forward_returns
from tests.conftest import DATA_DIR

PRICES = DATA_DIR / "sp500_5yr" / "prices.parquet"
TOL = {"rtol": 1e-12, "atol": 1e-15}


def make_prices(rng: np.random.Generator, *, n_assets: int = 6, n_dates: int = 40) -> pl.DataFrame:
    """A shuffled price panel: ragged histories, null/NaN/inf/zero/negative prices."""
    rows = []
    for a in range(n_assets):
        start = int(rng.integers(0, n_dates // 3))
        stop = int(rng.integers(start + 1, n_dates + 1))
        price = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, stop - start)))
        rows += [(d, f"A{a}", p) for d, p in zip(range(start, stop), price, strict=True)]
    df = pl.DataFrame(rows, schema=["date", "asset", "close"], orient="row")
    n = df.height
    bad = rng.choice([None, np.nan, np.inf, 0.0, -3.0], size=n)
    mask = rng.random(n) < 0.1
    close = [b if m else c for b, m, c in zip(bad, mask, df["close"].to_list(), strict=True)]
    df = df.with_columns(pl.Series("close", close, dtype=pl.Float64))
    return df.sample(fraction=1.0, shuffle=True, seed=int(rng.integers(1 << 31)))


def pandas_forward(df: pl.DataFrame, periods: tuple[int, ...]) -> pd.DataFrame:
    """The reference: pandas per-asset ``shift(-h)`` on date-sorted rows, bad prices NaN."""
    pdf = df.to_pandas().sort_values(["asset", "date"])
    price = pdf["close"].where(np.isfinite(pdf["close"]) & (pdf["close"] > 0))
    for h in periods:
        pdf[f"fwd_ret_{h}"] = price.groupby(pdf["asset"]).shift(-h) / price - 1
    return pdf.sort_values(["date", "asset"]).reset_index(drop=True)


def check_against_pandas(out: pl.DataFrame, df: pl.DataFrame, periods: tuple[int, ...]) -> None:
    expected = pandas_forward(df, periods)
    got = out.sort("date", "asset")
    for h in periods:
        col = got[f"fwd_ret_{h}"]
        assert col.dtype == pl.Float64
        assert not col.is_nan().any(), "outputs use null, never NaN"
        mine = col.to_numpy().astype(float)
        ref = expected[f"fwd_ret_{h}"].to_numpy(dtype=float)
        np.testing.assert_array_equal(np.isnan(mine), np.isnan(ref), err_msg=f"h={h}")
        np.testing.assert_allclose(mine, ref, **TOL, err_msg=f"h={h}")


@pytest.mark.parametrize("engine", ["eager", "in-memory", "streaming"])
def test_matches_pandas_shift_on_unsorted_rows(rng, engine):
    df = make_prices(rng)
    periods = (1, 5, 21)
    exprs = forward_returns("close", periods, asset="asset", date="date")
    if engine == "eager":
        out = df.with_columns(exprs)
    else:
        out = df.lazy().with_columns(exprs).collect(engine=engine)
    # Same rows in the same order, three new columns.
    assert out.columns == [*df.columns, "fwd_ret_1", "fwd_ret_5", "fwd_ret_21"]
    assert out.select(df.columns).equals(df, null_equal=True)
    check_against_pandas(out, df, periods)


def test_manual_over_on_sorted_rows_matches(rng):
    df = make_prices(rng).sort("date", "asset")
    exprs = forward_returns("close", (1, 3))
    out = df.lazy().with_columns(e.over("asset") for e in exprs).collect(engine="streaming")
    check_against_pandas(out, df, (1, 3))
    # asset= without date= relies on the row order the same way
    same = df.with_columns(forward_returns("close", (1, 3), asset="asset"))
    assert same.equals(out, null_equal=True)


def test_hand_values_and_alignment():
    df = pl.DataFrame({"close": [10.0, 11.0, 0.0, 12.1, 13.31, None, 14.0]})
    out = df.select(forward_returns("close", (1, 2)))
    np.testing.assert_allclose(
        out["fwd_ret_1"].to_numpy().astype(float),
        [0.1, np.nan, np.nan, 0.1, np.nan, np.nan, np.nan],
    )
    np.testing.assert_allclose(
        out["fwd_ret_2"].to_numpy().astype(float),
        [np.nan, 0.1, np.nan, np.nan, 14.0 / 13.31 - 1, np.nan, np.nan],
    )


def test_single_int_period_prefix_and_expression_input():
    df = pl.DataFrame({"asset": ["a", "a", "b", "b"], "p": [1.0, 2.0, 4.0, 5.0]})
    exprs = forward_returns(pl.col("p") * 2, 1, asset="asset", prefix="r")
    assert len(exprs) == 1
    out = df.with_columns(exprs)
    assert out["r1"].to_list() == [1.0, None, 0.25, None]


def test_exported_from_exprs():
    assert pf.exprs.forward_returns is forward_returns
    assert "forward_returns" in pf.exprs.__all__


@settings(max_examples=50, deadline=None)
@given(
    prices=st.lists(st.floats(0.5, 200.0), min_size=3, max_size=30),
    h=st.integers(1, 4),
)
def test_property_returns_compound(prices, h):
    # (1 + r1_t)(1 + r1_{t+1})...(1 + r1_{t+h-1}) = 1 + r_h_t
    df = pl.DataFrame({"p": prices})
    out = df.select(forward_returns("p", sorted({1, h}), prefix="f"))
    one = out["f1"].to_numpy().astype(float)
    n = len(prices)
    growth = np.array([np.prod(1 + one[t : t + h]) - 1 if t + h < n else np.nan for t in range(n)])
    mine = out[f"f{h}"].to_numpy().astype(float)
    np.testing.assert_array_equal(np.isnan(mine), np.isnan(growth))
    np.testing.assert_allclose(mine, growth, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"periods": 0}, ValueError, r"`periods` must be an integer >= 1 \(a horizon in rows\)"),
        ({"periods": (1, -5)}, ValueError, "got -5"),
        ({"periods": (1, 2.5)}, ValueError, "got 2.5"),
        ({"periods": True}, ValueError, "got True"),
        ({"periods": "5"}, ValueError, "got '5'"),
        ({"periods": ()}, ValueError, "at least one horizon"),
        ({"periods": (5, 1, 5)}, ValueError, "repeats a horizon"),
        ({"date": "date"}, ValueError, "needs `asset` too"),
        ({"asset": pl.col("asset")}, TypeError, "`asset` must be a column name"),
        ({"asset": "asset", "date": 3}, TypeError, "`date` must be a column name"),
        ({"prefix": None}, TypeError, "`prefix` must be a string"),
    ],
)
def test_bad_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        forward_returns("close", **kwargs)


@pytest.mark.skipif(not PRICES.exists(), reason=f"real data not found at {DATA_DIR}")
def test_real_prices_match_pandas():
    lf = pl.scan_parquet(PRICES).rename({"Name": "asset"})
    last = lf.select(pl.col("date").unique().sort().tail(60)).collect()["date"]
    df = lf.filter(pl.col("date").is_in(last.implode())).select("date", "asset", "close").collect()
    df = df.sample(fraction=1.0, shuffle=True, seed=7)
    exprs = forward_returns("close", (1, 5, 21), asset="asset", date="date")
    out = df.lazy().with_columns(exprs).collect(engine="streaming")
    check_against_pandas(out, df, (1, 5, 21))
