"""ts_features against a direct pandas computation of its definitions, per asset."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polars_factors.exceptions import (
    ColumnNotFoundError,
    DataLossWarning,
    DuplicateKeyError,
    InvalidDataError,
    SchemaError,
    UnsortedError,
)
from polars_factors.features import FEATURES, ts_features
from tests.conftest import DATA_DIR

PRICES = DATA_DIR / "sp500_5yr" / "prices.parquet"
TOL = {"rtol": 1e-9, "atol": 1e-13}
# pandas' rolling std of a price level loses ~1e-10 relative (sums of squares); ours
# matches an exact per-window numpy std to ~1e-13.
MR_TOL = {"rtol": 1e-8, "atol": 1e-10}
IGNORE_LOSS = pytest.mark.filterwarnings("ignore::polars_factors.exceptions.DataLossWarning")
SHIFTED = ("momentum", "volatility", "trend", "mean_reversion")


def make_ts_panel(
    rng: np.random.Generator, *, n_assets: int = 7, max_len: int = 60, dirty: bool = True
) -> pl.DataFrame:
    """A messy price panel.

    Assets of different lengths (one with a single row), gaps in the dates, rows of the
    assets interleaved at random but each asset's dates increasing; when ``dirty``,
    null, NaN, zero, negative and infinite prices. Also a market return ``mkt`` (by
    date), an asset return ``ret``, ``high`` and ``low`` with their own missing values.
    """
    lengths = rng.integers(2, max_len + 1, size=n_assets)
    lengths[0] = 1
    lengths[1] = max_len
    n_dates = 2 * max_len
    mkt_by_date = rng.normal(0.0004, 0.01, n_dates)
    mkt_by_date[rng.random(n_dates) < 0.05] = np.nan
    series = {}
    for a, n in enumerate(lengths):
        dates = np.sort(rng.choice(n_dates, size=n, replace=False))
        close = 20 * (a + 1) * np.exp(np.cumsum(rng.normal(0.0005, 0.02, n)))
        beta = 0.5 + a / n_assets
        mkt = mkt_by_date[dates]
        ret = beta * np.nan_to_num(mkt) + rng.normal(0, 0.015, n)
        spread = np.abs(rng.normal(0, 0.01, (2, n)))
        high, low = close * (1 + spread[0]), close * (1 - spread[1])
        if dirty:
            for col, frac in ((close, 0.04), (ret, 0.04), (high, 0.03), (low, 0.03)):
                col[rng.random(n) < frac] = np.nan
            if n > 20:
                close[[5, 11, 17]] = [0.0, -3.0, np.inf]
                ret[7] = -1.0
                low[9] = 0.0
        series[a] = {"date": dates, "close": close, "ret": ret, "mkt": mkt, "high": high}
        series[a]["low"] = low
    order = rng.permutation(np.repeat(np.arange(n_assets), lengths))
    taken = dict.fromkeys(range(n_assets), 0)
    rows = []
    for a in order:
        i = taken[a]
        taken[a] += 1
        rows.append(
            {"asset": f"A{a}", **{k: v[i].item() for k, v in series[a].items()}},
        )
    df = pl.DataFrame(rows).with_columns(pl.col("date").cast(pl.Int64))
    # About a third of the missing values are nulls, the rest NaN.
    floats = ["close", "ret", "mkt", "high", "low"]
    return df.with_columns(
        pl.when(pl.col(c).is_nan() & (pl.int_range(pl.len()) % 3 == 0))
        .then(None)
        .otherwise(pl.col(c))
        .alias(c)
        for c in floats
    )


def pandas_features(price: np.ndarray, window: int, lag: int) -> dict[str, np.ndarray]:
    """The definitions, one asset, straight from pandas."""
    p = pd.Series(price, dtype=float)
    p = p.where(np.isfinite(p) & (p > 0))
    r = np.log(p).diff()
    out = {
        "momentum": r.rolling(window).mean(),
        "volatility": r.rolling(window).std(),
        "trend": r.rolling(window)
        .apply(lambda x: np.polyfit(np.arange(window), x, 1)[0], raw=True)
        .shift(1),
        "mean_reversion": (p - p.rolling(window).mean()) / p.rolling(window).std(),
    }
    res = {name: s.shift(lag).to_numpy() for name, s in out.items()}
    res["log_return"] = r.to_numpy()
    return res


def _float(out: pl.DataFrame, col: str) -> np.ndarray:
    s = out[col]
    assert s.dtype == pl.Float64
    assert not s.is_nan().any(), "outputs must use null, never NaN"
    return s.to_numpy().astype(float)


def _assert_matches(got: np.ndarray, expected: np.ndarray, tol: dict[str, float], what: str):
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected), err_msg=what)
    np.testing.assert_allclose(got, expected, **tol, err_msg=what)


def _check_against_pandas(df: pl.DataFrame, out: pl.DataFrame, window: int, lag: int) -> None:
    assert out.columns == [*df.columns, *FEATURES]
    assert out.select(df.columns).equals(df, null_equal=True)
    for asset in df["asset"].unique().to_list():
        mine = out.filter(pl.col("asset") == asset)
        expected = pandas_features(mine["close"].to_numpy(), window, lag)
        for name in FEATURES:
            tol = MR_TOL if name == "mean_reversion" else TOL
            _assert_matches(_float(mine, name), expected[name], tol, f"{asset} {name}")


@pytest.mark.parametrize(("window", "lag"), [(2, 0), (5, 0), (5, 1), (13, 3), (126, 0)])
def test_matches_pandas(rng, run, window, lag):
    df = make_ts_panel(rng, max_len=150 if window == 126 else 60)
    out = run(df, lambda f: ts_features(f, window=window, lag=lag))
    _check_against_pandas(df, out, window, lag)


def test_default_window_is_126(rng):
    df = make_ts_panel(rng, max_len=140, dirty=False)
    _check_against_pandas(df, ts_features(df), 126, 0)


@pytest.mark.parametrize("window", [2, 3, 21])
def test_trend_matches_polyfit_per_window(rng, window):
    # A long clean series: the slope from sums against numpy.polyfit, window by window.
    n = 3000
    close = 50 * np.exp(np.cumsum(rng.normal(0.001, 0.02, n)))
    df = pl.DataFrame({"date": np.arange(n), "asset": "a", "close": close})
    got = _float(ts_features(df, window=window), "trend")
    r = np.diff(np.log(close))  # r[i] is row i + 1
    windows = np.lib.stride_tricks.sliding_window_view(r, window)
    slopes = np.polyfit(np.arange(window), windows.T, 1)[0]
    expected = np.full(n, np.nan)
    expected[window + 1 :] = slopes[: n - window - 1]  # window ending at the previous row
    scale = r.std() / window**1.5
    assert np.isnan(got[: window + 1]).all()
    np.testing.assert_allclose(
        got[window + 1 :], expected[window + 1 :], rtol=0, atol=1e-11 * scale
    )


def test_hand_linear_log_price():
    # log p = 1 + 0.01 t: constant momentum 0.01, no volatility, no trend.
    t = np.arange(12)
    df = pl.DataFrame({"date": t, "asset": "a", "close": np.exp(1 + 0.01 * t)})
    out = ts_features(df, window=4)
    assert out["log_return"][0] is None
    np.testing.assert_allclose(out["log_return"].to_numpy()[1:], 0.01, rtol=1e-12)
    assert out["momentum"].null_count() == 4
    np.testing.assert_allclose(out["momentum"].to_numpy()[4:], 0.01, rtol=1e-12)
    np.testing.assert_allclose(out["volatility"].to_numpy()[4:], 0.0, atol=1e-15)
    assert out["trend"].null_count() == 5
    np.testing.assert_allclose(out["trend"].to_numpy()[5:], 0.0, atol=1e-15)


def test_hand_quadratic_log_price_and_linear_price():
    # log p = c t^2 gives r_t = c (2t - 1): a slope of exactly 2c.
    c = 0.001
    t = np.arange(15)
    df = pl.DataFrame({"date": t, "asset": "a", "close": np.exp(c * t**2)})
    trend = ts_features(df, window=5)["trend"].to_numpy()[6:]
    np.testing.assert_allclose(trend, 2 * c, rtol=1e-9)
    # p = 10 + t: (p - mean)/std = ((w-1)/2) / sqrt(w(w+1)/12) on every full window.
    w = 5
    df = pl.DataFrame({"date": t, "asset": "a", "close": 10.0 + t})
    mr = ts_features(df, window=w)["mean_reversion"].to_numpy()[w - 1 :]
    np.testing.assert_allclose(mr, ((w - 1) / 2) / math.sqrt(w * (w + 1) / 12), rtol=1e-12)


def test_flat_price_has_null_mean_reversion():
    df = pl.DataFrame({"date": range(6), "asset": "a", "close": [5.0, 5.0, 5.0, 5.0, 6.0, 6.0]})
    out = ts_features(df, window=3)
    assert out["mean_reversion"].to_list()[:4] == [None, None, None, None]
    assert out["volatility"].to_list()[3] == 0.0


def test_missing_price_nulls_its_windows():
    close = [10.0, 11.0, None, 12.0, 12.5, 13.0, 13.5, 14.0]
    df = pl.DataFrame({"date": range(8), "asset": "a", "close": close})
    out = ts_features(df, window=2)
    # r_2 (price missing) and r_3 (previous price missing) are null; no forward fill.
    assert out["log_return"].is_null().to_list() == [True, False, True, True] + [False] * 4
    assert out["momentum"].is_null().to_list() == [True] * 5 + [False] * 3
    assert out["trend"].is_null().to_list() == [True] * 6 + [False] * 2
    assert out["mean_reversion"].is_null().to_list() == [True, False, True, True] + [False] * 4


@IGNORE_LOSS
def test_lag_shifts_within_asset(rng):
    df = make_ts_panel(rng)
    base = ts_features(df, window=4)
    for k in (1, 2, 5):
        lagged = ts_features(df, window=4, lag=k)
        assert lagged["log_return"].equals(base["log_return"])  # the response is not shifted
        expected = base.select(pl.col(c).shift(k).over("asset") for c in SHIFTED)
        assert lagged.select(SHIFTED).equals(expected)


def test_lag_zero_look_ahead():
    # With lag=0 the momentum of a row contains that row's own return; with lag=1 not.
    close = [100.0, 100.0, 100.0, 100.0, 150.0]
    df = pl.DataFrame({"date": range(5), "asset": "a", "close": close})
    now = ts_features(df, window=2)
    assert now["momentum"][4] == pytest.approx(math.log(1.5) / 2)
    assert ts_features(df, window=2, lag=1)["momentum"][4] == 0.0


def test_suffix_and_name_clash(rng):
    df = make_ts_panel(rng, dirty=False)
    out = ts_features(df, window=3, suffix="_3")
    assert out.columns == [*df.columns, *(f"{f}_3" for f in FEATURES)]
    both = ts_features(out, window=5)
    assert both["momentum_3"].equals(out["momentum_3"])
    with pytest.raises(ValueError, match=r"column '\w+_3', which the frame already has.*suffix="):
        ts_features(out, window=3, suffix="_3")
    with pytest.raises(ValueError, match="log_return"):
        ts_features(df.rename({"ret": "log_return"}), window=3)


def test_streaming_plan_from_parquet(rng, tmp_path):
    df = make_ts_panel(rng)
    path = tmp_path / "prices.parquet"
    df.write_parquet(path)
    lf = ts_features(pl.scan_parquet(path), window=6, lag=1)
    assert isinstance(lf, pl.LazyFrame)
    with pytest.warns(DataLossWarning, match="prices became null"):  # the panel's bad prices
        out = lf.collect(engine="streaming")
    _check_against_pandas(df, out, 6, 1)


def test_bad_prices_warn_eager_and_when_a_plan_is_collected(rng):
    df = pl.DataFrame(
        {
            "date": range(6),
            "asset": "a",
            "close": [1.0, 0.0, -2.0, float("nan"), float("inf"), None],
        }
    )
    msg = r"4 values of the price column 'close'.*\(2 zero or negative, 1 NaN, 1 infinite\)"
    with pytest.warns(DataLossWarning, match=msg):
        out = ts_features(df, window=2)
    assert out["log_return"].null_count() == 6
    plan = ts_features(df.lazy(), window=2)  # no warning at call time: nothing was read
    with pytest.warns(DataLossWarning, match=r"'close': 4 prices became null \(not positive"):
        plan.collect(engine="in-memory")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ts_features(df.filter(pl.col("close").is_finite() & (pl.col("close") > 0)), window=2)


def test_integer_price_and_other_key_names():
    df = pl.DataFrame({"day": [1, 2, 3, 1, 2, 3], "ticker": list("aaabbb"), "px": [1, 2, 4] * 2})
    out = ts_features(df, "px", window=2, asset="ticker", date="day")
    assert out["momentum"].to_list()[-1] == pytest.approx(math.log(2))


# --- bad input -------------------------------------------------------------------------


@pytest.fixture
def small() -> pl.DataFrame:
    return pl.DataFrame(
        {"date": [1, 2, 3, 1, 2, 3], "asset": list("aaabbb"), "close": [1.0, 2, 3, 4, 5, 6]}
    )


def test_missing_columns(small):
    with pytest.raises(ColumnNotFoundError, match=r"price column 'clse'.*Did you mean 'close'"):
        ts_features(small, "clse")
    with pytest.raises(ColumnNotFoundError, match="panel key 'ticker'"):
        ts_features(small, asset="ticker")
    with pytest.raises(ColumnNotFoundError, match="panel key 'day'"):
        ts_features(small.lazy(), date="day")
    ts_features(small, date="day", check_keys=False)  # the date is only read by the check


def test_non_numeric_price(small):
    with pytest.raises(SchemaError, match=r"price column 'close' must be numeric.*String"):
        ts_features(small.with_columns(pl.col("close").cast(pl.String)))


def test_duplicate_keys(small):
    dup = pl.concat([small, small.tail(1)])
    with pytest.raises(DuplicateKeyError, match=r"duplicate \('date', 'asset'\).*\(3, 'b'\)"):
        ts_features(dup, window=2)
    plan = ts_features(dup.lazy(), window=2)  # checked inside the plan
    for engine in ("in-memory", "streaming"):
        with pytest.raises(DuplicateKeyError, match=r"duplicate \('date', 'asset'\).*\(3, 'b'\)"):
            plan.collect(engine=engine)


def test_dates_not_increasing_within_asset(small):
    bad = small.with_columns(pl.Series("date", [1, 3, 2, 1, 2, 3]))
    with pytest.raises(UnsortedError, match=r"1 rows go back in time.*row 2: asset 'a'"):
        ts_features(bad, window=2)
    with pytest.raises(UnsortedError, match=r"1 rows go back in time.*row 2: asset 'a'"):
        ts_features(bad.lazy(), window=2, check_keys=True)
    plan = ts_features(bad.lazy(), window=2)  # checked inside the plan
    for engine in ("in-memory", "streaming"):
        with pytest.raises(UnsortedError, match=r"1 rows go back in time \(first: asset 'a'"):
            plan.collect(engine=engine)
    # Interleaved assets are fine as long as each asset's dates increase.
    ts_features(small.sort("date"), window=2)
    # check_keys=False trusts the order.
    ts_features(bad, window=2, check_keys=False)


def test_null_keys(small):
    with pytest.raises(InvalidDataError, match="null 'date'"):
        ts_features(small.with_columns(pl.lit(None, pl.Int64).alias("date")), window=2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"window": 1}, "`window` must be an integer >= 2"),
        ({"window": 2.0}, "`window` must be an integer >= 2"),
        ({"window": True}, "`window` must be an integer >= 2"),
        ({"lag": -1}, "`lag` must be an integer >= 0"),
        ({"lag": 1.5}, "`lag` must be an integer >= 0"),
        ({"price": "asset"}, "also a panel key"),
    ],
)
def test_bad_options(small, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ts_features(small, **kwargs)


def test_bad_types(small):
    with pytest.raises(TypeError, match="DataFrame or LazyFrame"):
        ts_features(small.to_pandas())  # type: ignore[type-var]
    with pytest.raises(TypeError, match="`suffix` must be a string"):
        ts_features(small, suffix=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`price` must be a column name"):
        ts_features(small, pl.col("close"))  # type: ignore[arg-type]


# --- properties ------------------------------------------------------------------------

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
log_returns = st.lists(
    st.floats(-0.2, 0.2).map(lambda x: x if abs(x) > 1e-4 else 0.0), min_size=1, max_size=40
)


def _series(r: list[float], start: float = 3.0) -> pl.DataFrame:
    log_p = start + np.concatenate([[0.0], np.cumsum(r)])
    return pl.DataFrame({"date": np.arange(len(log_p)), "asset": "a", "close": np.exp(log_p)})


@SETTINGS
@given(r=log_returns, window=st.integers(2, 6), shift=st.floats(-5, 5))
def test_property_price_scale_invariance(r, window, shift):
    # Adding a constant to the log prices (a unit of account) changes no feature.
    a = ts_features(_series(r), window=window)
    b = ts_features(_series(r, start=3.0 + shift), window=window)
    for name in FEATURES:
        x, y = a[name].to_numpy(), b[name].to_numpy()
        np.testing.assert_array_equal(np.isnan(x), np.isnan(y))
        np.testing.assert_allclose(x, y, rtol=1e-7, atol=1e-9, err_msg=name)


@SETTINGS
@given(r=log_returns, window=st.integers(2, 6), k=st.floats(-3, 3).filter(lambda k: abs(k) > 0.1))
def test_property_return_scaling(r, window, k):
    # Scaling the log returns by k scales momentum and trend by k, volatility by |k|.
    a = ts_features(_series(r), window=window)
    b = ts_features(_series([k * x for x in r]), window=window)
    for name, factor in (("momentum", k), ("trend", k), ("volatility", abs(k))):
        np.testing.assert_allclose(
            b[name].to_numpy(), factor * a[name].to_numpy(), rtol=1e-9, atol=1e-12, err_msg=name
        )


# --- real data -------------------------------------------------------------------------


@pytest.mark.skipif(not PRICES.exists(), reason=f"real data not found at {DATA_DIR}")
def test_real_sp500_panel():
    lf = ts_features(pl.scan_parquet(PRICES), window=126, lag=1, asset="Name")
    out = lf.collect(engine="streaming")
    assert out.height == 619_040
    for ticker in ("AAPL", "LNT", "DISCK", "XOM"):
        mine = out.filter(pl.col("Name") == ticker)
        expected = pandas_features(mine["close"].to_numpy(), 126, 1)
        for name in FEATURES:
            tol = MR_TOL if name == "mean_reversion" else TOL
            _assert_matches(_float(mine, name), expected[name], tol, f"{ticker} {name}")
