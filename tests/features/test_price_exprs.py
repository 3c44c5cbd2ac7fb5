"""Price descriptors (pf.exprs.ewm_beta, volatility, ...) against pandas and numpy loops."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import polars_factors as pf
from tests.conftest import DATA_DIR
from tests.features.test_ts_features import make_ts_panel

PRICES = DATA_DIR / "sp500_5yr" / "prices.parquet"
TOL = {"rtol": 1e-9, "atol": 1e-12}


def _clean(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return np.where(np.isfinite(x), x, np.nan)


def _float(s: pl.Series) -> np.ndarray:
    assert s.dtype == pl.Float64
    assert not s.is_nan().any(), "outputs must use null, never NaN"
    return s.to_numpy().astype(float)


def _per_asset(df: pl.DataFrame, exprs: dict[str, pl.Expr], oracle) -> None:
    """Run the expressions with .over('asset') on eager, lazy and streaming frames."""
    plans = {name: e.over("asset").alias(name) for name, e in exprs.items()}
    outs = [
        df.with_columns(**plans),
        df.lazy().with_columns(**plans).collect(engine="in-memory"),
        df.lazy().with_columns(**plans).collect(engine="streaming"),
    ]
    for out in outs:
        assert out.select(df.columns).equals(df, null_equal=True)
        for asset in df["asset"].unique().to_list():
            mine = out.filter(pl.col("asset") == asset)
            expected = oracle(mine)
            for name in exprs:
                got, exp = _float(mine[name]), np.asarray(expected[name], dtype=float)
                np.testing.assert_array_equal(np.isnan(got), np.isnan(exp), err_msg=name)
                np.testing.assert_allclose(got, exp, **TOL, err_msg=f"{asset} {name}")


# --- ewm_beta ----------------------------------------------------------------------------


def beta_loop(r: np.ndarray, m: np.ndarray, half_life: float, min_periods: int) -> np.ndarray:
    """The documented formula, row by row: weights 2^(-age/h), age in rows, complete rows."""
    r, m = _clean(r), _clean(m)
    ok = ~np.isnan(r) & ~np.isnan(m)
    out = np.full(len(r), np.nan)
    for t in range(len(r)):
        idx = np.flatnonzero(ok[: t + 1])
        if len(idx) < min_periods:
            continue
        w = 0.5 ** ((t - idx) / half_life)
        x, y = r[idx], m[idx]
        xb, yb = w @ x / w.sum(), w @ y / w.sum()
        var = w @ (y - yb) ** 2
        if var > 1e-12 * (w @ y**2):
            out[t] = w @ ((x - xb) * (y - yb)) / var
    return out


def beta_pandas(r: np.ndarray, m: np.ndarray, half_life: float, min_periods: int) -> np.ndarray:
    """pandas on the pairwise-complete rows (NaN rows kept so that ages count rows)."""
    rs, ms = pd.Series(_clean(r)), pd.Series(_clean(m))
    ewm = {"halflife": half_life, "min_periods": min_periods}
    cov = rs.ewm(**ewm).cov(ms)
    var = ms.where(rs.notna()).ewm(**ewm).var()
    return (cov / var).to_numpy()


@pytest.mark.parametrize(("half_life", "min_periods"), [(63, 60), (5, 3), (2.5, 1), (10, 2)])
def test_ewm_beta_matches_pandas_and_loop(rng, half_life, min_periods):
    df = make_ts_panel(rng, max_len=120)
    expr = pf.exprs.ewm_beta("ret", "mkt", half_life=half_life, min_periods=min_periods)

    def oracle(sub: pl.DataFrame) -> dict[str, np.ndarray]:
        r, m = sub["ret"].to_numpy(), sub["mkt"].to_numpy()
        loop = beta_loop(r, m, half_life, min_periods)
        if min_periods > 1:  # pandas' single-observation variance is NaN, not 0/0
            np.testing.assert_allclose(loop, beta_pandas(r, m, half_life, min_periods), **TOL)
        return {"beta": loop}

    _per_asset(df, {"beta": expr}, oracle)


def test_ewm_beta_hand():
    mkt = [0.01, -0.02, 0.03, 0.0, 0.015, -0.01]
    df = pl.DataFrame(
        {
            "asset": "a",
            "mkt": mkt,
            "ret": [0.001 + 1.5 * x for x in mkt],
        }
    )
    out = df.select(pf.exprs.ewm_beta("ret", "mkt", half_life=3, min_periods=3))["ret"]
    assert out[:2].to_list() == [None, None]
    np.testing.assert_allclose(out[2:].to_numpy(), 1.5, rtol=1e-12)


def test_ewm_beta_min_periods_counts_complete_rows():
    df = pl.DataFrame(
        {
            "ret": [0.01, None, 0.02, float("nan"), -0.01, 0.03],
            "mkt": [0.02, 0.01, None, 0.01, 0.0, 0.01],
        }
    )
    out = df.select(pf.exprs.ewm_beta("ret", "mkt", half_life=2, min_periods=3))["ret"]
    # complete rows: 0, 4, 5; a missing row keeps the last beta
    assert out.is_null().to_list() == [True] * 5 + [False]


def test_ewm_beta_constant_market_is_null():
    df = pl.DataFrame({"ret": [0.01, 0.02, -0.01, 0.0], "mkt": [0.003] * 4})
    out = df.select(pf.exprs.ewm_beta("ret", "mkt", half_life=2, min_periods=1))["ret"]
    assert out.null_count() == 4


def test_ewm_beta_price_levels_are_accurate(rng):
    # Inputs far from zero: the shift by the first observation keeps full accuracy.
    n = 400
    m = 1000 + rng.normal(0, 0.01, n)
    r = 3 * m + rng.normal(0, 0.01, n)
    df = pl.DataFrame({"r": r, "m": m})
    got = _float(df.select(pf.exprs.ewm_beta("r", "m", half_life=20, min_periods=5))["r"])
    np.testing.assert_allclose(got, beta_loop(r, m, 20, 5), rtol=1e-9, atol=0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    # Returns on a 0.001 grid: a market that moves at all moves by at least 0.001, so
    # adding c to it cannot round its moves away.
    data=st.lists(
        st.tuples(st.floats(-0.1, 0.1), st.floats(-0.1, 0.1).map(lambda x: round(x, 3))),
        min_size=2,
        max_size=40,
    ),
    a=st.floats(-3, 3),
    b=st.floats(-2, 2),
    c=st.floats(-0.05, 0.05),
)
def test_property_ewm_beta_is_linear(data, a, b, c):
    # beta(a r + b m + c, m) = a beta(r, m) + b
    df = pl.DataFrame(data, schema=["r", "m"], orient="row")
    df = df.with_columns(y=a * pl.col("r") + b * pl.col("m") + c)
    beta = pf.exprs.ewm_beta
    out = df.select(
        beta("r", "m", half_life=5, min_periods=2).alias("r"),
        beta("y", "m", half_life=5, min_periods=2).alias("y"),
    )
    r, y = out["r"].to_numpy(), out["y"].to_numpy()
    np.testing.assert_array_equal(np.isnan(r), np.isnan(y))
    np.testing.assert_allclose(y, a * r + b, rtol=1e-7, atol=1e-7)


# --- volatility, high_low_range, relative_strength ----------------------------------------


@pytest.mark.parametrize(("window", "min_periods"), [(2, None), (5, None), (10, 3), (10, 10)])
def test_volatility_matches_pandas(rng, window, min_periods):
    df = make_ts_panel(rng)
    expr = pf.exprs.volatility("ret", window=window, min_periods=min_periods)

    def oracle(sub: pl.DataFrame) -> dict[str, np.ndarray]:
        r = pd.Series(_clean(sub["ret"].to_numpy()))
        return {"vol": r.rolling(window, min_periods=min_periods).std().to_numpy()}

    _per_asset(df, {"vol": expr}, oracle)


@pytest.mark.parametrize(("window", "min_periods"), [(1, None), (3, None), (21, None), (8, 2)])
def test_high_low_range_matches_pandas(rng, window, min_periods):
    df = make_ts_panel(rng)
    expr = pf.exprs.high_low_range("high", "low", window=window, min_periods=min_periods)

    def oracle(sub: pl.DataFrame) -> dict[str, np.ndarray]:
        h, lo = (pd.Series(_clean(sub[c].to_numpy())) for c in ("high", "low"))
        h, lo = h.where(h > 0), lo.where(lo > 0)
        roll = {"window": window, "min_periods": min_periods}
        hl = np.log(h.rolling(**roll).max() / lo.rolling(**roll).min())
        return {"hl": hl.to_numpy()}

    _per_asset(df, {"hl": expr}, oracle)


@pytest.mark.parametrize(
    ("window", "skip", "min_periods"), [(10, 3, None), (5, 0, None), (12, 2, 4), (1, 0, None)]
)
def test_relative_strength_matches_pandas(rng, window, skip, min_periods):
    df = make_ts_panel(rng)
    expr = pf.exprs.relative_strength("ret", window=window, skip=skip, min_periods=min_periods)

    def oracle(sub: pl.DataFrame) -> dict[str, np.ndarray]:
        r = pd.Series(_clean(sub["ret"].to_numpy()))
        log_r = np.log1p(r.where(r > -1))
        rs = log_r.rolling(window - skip, min_periods=min_periods).sum().shift(skip)
        return {"rs": rs.to_numpy()}

    _per_asset(df, {"rs": expr}, oracle)


def test_relative_strength_default_is_12_1_momentum():
    # 300 days of 0.1% returns, except the last 21 days at 5%: only the 231 days from
    # t-251 to t-21 count.
    r = [0.001] * 279 + [0.05] * 21
    df = pl.DataFrame({"ret": r})
    out = df.select(pf.exprs.relative_strength("ret"))["ret"]
    assert out.null_count() == 251
    assert out[-1] == pytest.approx(231 * np.log1p(0.001), rel=1e-12)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: pf.exprs.ewm_beta("r", "m", half_life=0), "half_life"),
        (lambda: pf.exprs.ewm_beta("r", "m", half_life=-1.0), "half_life"),
        (lambda: pf.exprs.ewm_beta("r", "m", half_life=float("nan")), "half_life"),
        (lambda: pf.exprs.ewm_beta("r", "m", half_life=True), "half_life"),
        (lambda: pf.exprs.ewm_beta("r", "m", min_periods=0), "`min_periods` must be an integer"),
        (lambda: pf.exprs.volatility("r", window=1), "`window` must be an integer >= 2"),
        (lambda: pf.exprs.volatility("r", window=5, min_periods=1), "`min_periods`"),
        (lambda: pf.exprs.volatility("r", window=5, min_periods=6), "at most the window"),
        (lambda: pf.exprs.high_low_range("h", "l", window=0), "`window` must be an integer"),
        (lambda: pf.exprs.relative_strength("r", window=21, skip=21), "smaller than the window"),
        (lambda: pf.exprs.relative_strength("r", skip=-1), "`skip` must be an integer >= 0"),
        (lambda: pf.exprs.relative_strength("r", window=5.0), "`window` must be an integer"),
    ],
)
def test_bad_options(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- real data -------------------------------------------------------------------------


@pytest.mark.skipif(not PRICES.exists(), reason=f"real data not found at {DATA_DIR}")
def test_real_sp500_descriptors():
    # Betas to the equal-weighted market return, over the whole panel, for a few tickers.
    lf = pl.scan_parquet(PRICES).with_columns(
        (pl.col("close") / pl.col("close").shift(1) - 1).over("Name").alias("ret")
    )
    lf = lf.with_columns(pl.col("ret").mean().over("date").alias("mkt"))
    out = lf.with_columns(
        pf.exprs.ewm_beta("ret", "mkt").over("Name").alias("beta"),
        pf.exprs.relative_strength("ret").over("Name").alias("rs"),
        pf.exprs.high_low_range("high", "low").over("Name").alias("hl"),
    ).collect(engine="streaming")
    assert out.height == 619_040
    for ticker in ("AAPL", "LNT", "XOM"):
        sub = out.filter(pl.col("Name") == ticker)
        r, m = sub["ret"].to_numpy(), sub["mkt"].to_numpy()
        np.testing.assert_allclose(_float(sub["beta"]), beta_pandas(r, m, 63, 60), **TOL)
        rs = np.log1p(pd.Series(r)).rolling(231).sum().shift(21).to_numpy()
        np.testing.assert_allclose(_float(sub["rs"]), rs, **TOL)
        h, lo = sub["high"].to_pandas(), sub["low"].to_pandas()
        hl = np.log(h.rolling(21).max() / lo.rolling(21).min()).to_numpy()
        np.testing.assert_allclose(_float(sub["hl"]), hl, **TOL)
    median_beta = out.group_by("Name").agg(pl.col("beta").last())["beta"].median()
    assert 0.5 < median_beta < 1.5


def test_ewm_beta_infinite_half_life_is_the_expanding_ols_beta() -> None:
    # math.inf means equal weights, as everywhere in polars_factors: the beta of all
    # complete rows so far (numpy loop oracle), held on rows with a missing return.
    rng = np.random.default_rng(3)
    m = rng.normal(0, 0.01, 40)
    r = 1.3 * m + rng.normal(0, 0.005, 40)
    r[[5, 17, 18]] = np.nan
    df = pl.DataFrame({"r": r, "m": m})
    got = df.select(pf.exprs.ewm_beta("r", "m", half_life=math.inf, min_periods=3))["r"]
    expected = []
    for t in range(40):
        ok = ~np.isnan(r[: t + 1])
        x, y = r[: t + 1][ok], m[: t + 1][ok]
        if len(x) < 3:
            expected.append(None)
            continue
        expected.append(float(np.cov(x, y, bias=True)[0, 1] / np.var(y)))
    assert got[:2].to_list() == [None, None]
    np.testing.assert_allclose(got[2:].to_numpy(), np.array(expected[2:], dtype=float), rtol=1e-10)
