"""USE4 price descriptors (pf.exprs.beta, hsigma, dastd, cmra, rstr, ...) against numpy loops.

The oracles below are written from the documented formulas, one asset and one row at a
time: each window's rows are gathered by index, the missing ones dropped, and the
weights ``0.5 ** (age / half_life)`` built for that window. Nothing is shared with the
implementation (which sums exponential weights recursively over each asset's history).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import polars_factors as pf
from tests.conftest import DATA_DIR

PRICES = DATA_DIR / "sp500_5yr" / "prices.parquet"
TOL = {"rtol": 1e-10, "atol": 1e-12}
FLOATS = ["ret", "mkt", "rf", "close", "shares", "volume", "high", "low"]


# --- a messy panel ---------------------------------------------------------------------


def make_panel(rng: np.random.Generator, *, n_assets: int = 6, max_len: int = 90) -> pl.DataFrame:
    """Ragged assets (one with a single row), gaps in the dates, interleaved rows.

    Null, NaN and inf in every input; returns of -1 and below; zero and negative
    shares; zero and negative volumes; a stretch without trades.
    """
    lengths = rng.integers(2, max_len + 1, size=n_assets)
    lengths[0], lengths[1] = 1, max_len
    n_dates = 2 * max_len
    mkt_by_date = rng.normal(0.0004, 0.01, n_dates)
    rf_by_date = rng.uniform(0, 0.0002, n_dates)
    mkt_by_date[rng.random(n_dates) < 0.05] = np.nan
    rf_by_date[rng.random(n_dates) < 0.03] = np.nan
    parts = []
    for a, n in enumerate(lengths):
        dates = np.sort(rng.choice(n_dates, size=n, replace=False))
        mkt = mkt_by_date[dates]
        ret = (0.5 + a / n_assets) * np.nan_to_num(mkt) + rng.normal(0, 0.015, n)
        close = 20 * (a + 1) * np.exp(np.cumsum(rng.normal(0.0005, 0.02, n)))
        shares = np.full(n, 1e6 * (a + 1)) * np.exp(rng.normal(0, 0.01, n))
        volume = rng.integers(1_000, 50_000, n).astype(float)
        spread = np.abs(rng.normal(0, 0.01, (2, n)))
        high, low = close * (1 + spread[0]), close * (1 - spread[1])
        cols = {"ret": ret, "close": close, "shares": shares, "volume": volume}
        cols |= {"high": high, "low": low}
        for col in cols.values():
            col[rng.random(n) < 0.05] = np.nan
            col[rng.random(n) < 0.01] = np.inf
        if n > 40:
            ret[[3, 9]] = [-1.0, -1.5]
            shares[[4, 12]] = [0.0, -5.0]
            volume[[6, 13]] = [-10.0, 0.0]
            volume[20:35] = 0.0  # no trades for 15 rows
        parts.append(
            pl.DataFrame(
                {"asset": f"A{a}", "date": dates, "mkt": mkt, "rf": rf_by_date[dates], **cols}
            )
        )
    df = pl.concat(parts)
    df = df.with_columns(pl.col("date").cast(pl.Int64))
    order = rng.permutation(df.height)
    # Shuffle the rows, keeping each asset's dates increasing.
    df = df[order].sort("date", maintain_order=True)
    # About a third of the NaN become nulls.
    return df.with_columns(
        pl.when(pl.col(c).is_nan() & (pl.int_range(pl.len()) % 3 == 0))
        .then(None)
        .otherwise(pl.col(c))
        .alias(c)
        for c in FLOATS
    )


def _np(s: pl.Series) -> np.ndarray:
    x = s.cast(pl.Float64).to_numpy().astype(float)
    return np.where(np.isfinite(x), x, np.nan)


def _float(s: pl.Series) -> np.ndarray:
    assert s.dtype == pl.Float64
    assert not s.is_nan().any(), "outputs must use null, never NaN"
    return s.to_numpy().astype(float)


def run_all_engines(df: pl.DataFrame, exprs: dict[str, pl.Expr], oracle) -> None:
    """Eager, lazy and streaming with .over('asset'): same rows, each asset = oracle."""
    plans = {name: e.over("asset").alias(name) for name, e in exprs.items()}
    outs = [
        df.with_columns(**plans),
        df.lazy().with_columns(**plans).collect(engine="in-memory"),
        df.lazy().with_columns(**plans).collect(engine="streaming"),
    ]
    for out in outs[1:]:
        assert out.equals(outs[0], null_equal=True)
    out = outs[0]
    assert out.select(df.columns).equals(df, null_equal=True)
    for asset in df["asset"].unique().to_list():
        mine = out.filter(pl.col("asset") == asset)
        expected = oracle(mine)
        for name in exprs:
            got, exp = _float(mine[name]), np.asarray(expected[name], dtype=float)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(exp), err_msg=f"{asset} {name}")
            np.testing.assert_allclose(got, exp, **TOL, err_msg=f"{asset} {name}")


# --- oracles: the formulas, one window at a time ---------------------------------------


def _window(t: int, window: int) -> np.ndarray:
    return np.arange(max(0, t - window + 1), t + 1)


def _weights(ages: np.ndarray, half_life: float | None) -> np.ndarray:
    if half_life is None or math.isinf(half_life):
        return np.ones(len(ages))
    return 0.5 ** (ages / half_life)


def regression_loop(y, x, *, window, half_life, min_periods):
    """WLS with intercept per window (lstsq on sqrt(w)-scaled rows): slope, residual vol."""
    n = len(y)
    slope, resid_vol = np.full(n, np.nan), np.full(n, np.nan)
    for t in range(n):
        rows = _window(t, window)
        rows = rows[~np.isnan(y[rows]) & ~np.isnan(x[rows])]
        if len(rows) < min_periods:
            continue
        w = _weights(t - rows, half_life)
        design = np.column_stack([np.ones(len(rows)), x[rows]])
        sw = np.sqrt(w)
        (a, b), *_ = np.linalg.lstsq(design * sw[:, None], y[rows] * sw, rcond=None)
        e = y[rows] - a - b * x[rows]
        slope[t] = b
        resid_vol[t] = math.sqrt(w @ e**2 / w.sum())
    return slope, resid_vol


def dastd_loop(x, *, window, half_life, min_periods):
    out = np.full(len(x), np.nan)
    for t in range(len(x)):
        rows = _window(t, window)
        rows = rows[~np.isnan(x[rows])]
        if len(rows) < min_periods:
            continue
        w = _weights(t - rows, half_life)
        mean = w @ x[rows] / w.sum()
        out[t] = math.sqrt(w @ (x[rows] - mean) ** 2 / w.sum())
    return out


def log_excess(r, rf):
    with np.errstate(invalid="ignore", divide="ignore"):
        lr = np.where(r > -1, np.log1p(np.where(r > -1, r, 0)), np.nan)
        if rf is None:
            return lr
        lf = np.where(rf > -1, np.log1p(np.where(rf > -1, rf, 0)), np.nan)
    return lr - lf


def cmra_loop(lx, *, months, days, min_periods):
    out = np.full(len(lx), np.nan)
    for t in range(len(lx)):
        if np.sum(~np.isnan(lx[_window(t, months * days)])) < min_periods:
            continue
        z = [np.nansum(lx[_window(t, k * days)]) for k in range(1, months + 1)]
        if min(z) > -1:
            out[t] = math.log(1 + max(z)) - math.log(1 + min(z))
    return out


def rstr_loop(lx, *, window, lag, half_life, min_periods):
    out = np.full(len(lx), np.nan)
    for t in range(len(lx)):
        end = t - lag
        if end < 0:
            continue
        rows = _window(end, window)
        rows = rows[~np.isnan(lx[rows])]
        if len(rows) < min_periods:
            continue
        w = _weights(end - rows, half_life)
        out[t] = w @ lx[rows] / w.sum()
    return out


def turnover_loop(volume, shares, *, months, days, min_periods):
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = np.where((volume >= 0) & (shares > 0), volume / shares, np.nan)
    window = months * days
    out = np.full(len(tau), np.nan)
    for t in range(len(tau)):
        vals = tau[_window(t, window)]
        vals = vals[~np.isnan(vals)]
        if len(vals) < min_periods:
            continue
        monthly = vals.sum() * window / len(vals) / months
        if monthly > 0:
            out[t] = math.log(monthly)
    return out


def hilo_loop(high, low, *, window, min_periods):
    high = np.where(high > 0, high, np.nan)
    low = np.where(low > 0, low, np.nan)
    out = np.full(len(high), np.nan)
    for t in range(len(high)):
        h, lo = high[_window(t, window)], low[_window(t, window)]
        h, lo = h[~np.isnan(h)], lo[~np.isnan(lo)]
        if len(h) >= min_periods and len(lo) >= min_periods:
            out[t] = math.log(h.max() / lo.min())
    return out


# --- against the oracles -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "half_life", "min_periods", "with_rf"),
    [(30, 7, 10, True), (12, 3.5, 2, False), (20, None, 20, True), (5, 1, 3, True)],
)
def test_beta_hsigma_dastd_match_loops(rng, window, half_life, min_periods, with_rf):
    df = make_panel(rng)
    rf = "rf" if with_rf else None
    opts = {"window": window, "half_life": half_life, "min_periods": min_periods}
    exprs = {
        "beta": pf.exprs.beta("ret", "mkt", risk_free=rf, **opts),
        "hsigma": pf.exprs.hsigma("ret", "mkt", risk_free=rf, **opts),
        "dastd": pf.exprs.dastd("ret", risk_free=rf, **opts),
    }

    def oracle(sub: pl.DataFrame) -> dict[str, np.ndarray]:
        r, m = _np(sub["ret"]), _np(sub["mkt"])
        rfv = _np(sub["rf"]) if with_rf else np.zeros(len(r))
        slope, vol = regression_loop(r - rfv, m - rfv, **opts)
        return {"beta": slope, "hsigma": vol, "dastd": dastd_loop(r - rfv, **opts)}

    run_all_engines(df, exprs, oracle)


@pytest.mark.parametrize(
    ("months", "days", "min_periods", "with_rf"),
    [(4, 5, None, True), (3, 7, 10, False), (12, 2, 1, True), (1, 1, None, False)],
)
def test_cmra_matches_loop(rng, months, days, min_periods, with_rf):
    df = make_panel(rng)
    rf = "rf" if with_rf else None
    expr = pf.exprs.cmra("ret", risk_free=rf, months=months, days=days, min_periods=min_periods)

    def oracle(sub: pl.DataFrame) -> dict[str, np.ndarray]:
        lx = log_excess(_np(sub["ret"]), _np(sub["rf"]) if with_rf else None)
        n = months * days if min_periods is None else min_periods
        return {"cmra": cmra_loop(lx, months=months, days=days, min_periods=n)}

    run_all_engines(df, {"cmra": expr}, oracle)


@pytest.mark.parametrize(
    ("window", "lag", "half_life", "min_periods", "with_rf"),
    [
        (30, 5, 10, None, True),
        (10, 0, 2.5, 10, False),
        (40, 3, None, 1, True),
        (3, 1, 1, None, True),
        # Weights falling by 2^-33 a row: the oldest rows count only when the newer
        # are missing (direct weighted sums under a half-life of one row).
        (6, 0, 0.03, 1, True),
    ],
)
def test_rstr_matches_loop(rng, window, lag, half_life, min_periods, with_rf):  # noqa: PLR0917
    df = make_panel(rng)
    rf = "rf" if with_rf else None
    expr = pf.exprs.rstr(
        "ret", risk_free=rf, window=window, lag=lag, half_life=half_life, min_periods=min_periods
    )

    def oracle(sub: pl.DataFrame) -> dict[str, np.ndarray]:
        lx = log_excess(_np(sub["ret"]), _np(sub["rf"]) if with_rf else None)
        n = max(1, window // 4) if min_periods is None else min_periods
        opts = {"window": window, "lag": lag, "half_life": half_life, "min_periods": n}
        return {"rstr": rstr_loop(lx, **opts)}

    run_all_engines(df, {"rstr": expr}, oracle)


@pytest.mark.parametrize(("months", "days", "min_periods"), [(1, 21, None), (3, 5, 7), (2, 4, 1)])
def test_turnover_lncap_hilo_match_loops(rng, months, days, min_periods):
    df = make_panel(rng)
    hl_n = None if min_periods is None else min(min_periods, days)
    exprs = {
        "sto": pf.exprs.share_turnover(
            "volume", "shares", months=months, days=days, min_periods=min_periods
        ),
        "lncap": pf.exprs.lncap("close", "shares"),
        "hilo": pf.exprs.hilo("high", "low", window=days, min_periods=hl_n),
    }

    def oracle(sub: pl.DataFrame) -> dict[str, np.ndarray]:
        v, s = _np(sub["volume"]), _np(sub["shares"])
        p = _np(sub["close"])
        n = months * days if min_periods is None else min_periods
        with np.errstate(invalid="ignore", divide="ignore"):
            lncap = np.where((p > 0) & (s > 0), np.log(np.abs(p)) + np.log(np.abs(s)), np.nan)
        return {
            "sto": turnover_loop(v, s, months=months, days=days, min_periods=n),
            "lncap": lncap,
            "hilo": hilo_loop(
                _np(sub["high"]), _np(sub["low"]), window=days, min_periods=hl_n or days
            ),
        }

    run_all_engines(df, exprs, oracle)


def test_defaults_on_long_histories(rng):
    # The USE4 windows (252, 504 + 21) on 3 assets of 700 rows, with missing values.
    n = 700
    parts = []
    for a in range(3):
        mkt = rng.normal(0.0004, 0.01, n)
        ret = (0.8 + 0.2 * a) * mkt + rng.normal(0, 0.015, n)
        ret[rng.random(n) < 0.03] = np.nan
        vol = rng.integers(1_000, 50_000, n).astype(float)
        vol[rng.random(n) < 0.003] = np.nan
        parts.append(
            pl.DataFrame(
                {"asset": f"A{a}", "date": np.arange(n) + 5 * a, "ret": ret, "mkt": mkt}
                | {"rf": np.full(n, 0.0001), "volume": vol, "shares": np.full(n, 1e6)}
            )
        )
    df = pl.concat(parts).sort("date", maintain_order=True)
    df = df.with_columns(pl.col("ret").fill_nan(None))
    exprs = {
        "beta": pf.exprs.beta("ret", "mkt", risk_free="rf"),
        "hsigma": pf.exprs.hsigma("ret", "mkt", risk_free="rf"),
        "dastd": pf.exprs.dastd("ret", risk_free="rf"),
        "cmra": pf.exprs.cmra("ret", risk_free="rf", min_periods=240),
        "rstr": pf.exprs.rstr("ret", risk_free="rf"),
        "stom": pf.exprs.stom("volume", "shares"),
        "stoq": pf.exprs.stoq("volume", "shares"),
        "stoa": pf.exprs.stoa("volume", "shares", min_periods=200),
    }

    def oracle(sub: pl.DataFrame) -> dict[str, np.ndarray]:
        r, m, rf = _np(sub["ret"]), _np(sub["mkt"]), _np(sub["rf"])
        v, s = _np(sub["volume"]), _np(sub["shares"])
        reg = {"window": 252, "half_life": 63, "min_periods": 63}
        slope, vol = regression_loop(r - rf, m - rf, **reg)
        lx = log_excess(r, rf)
        return {
            "beta": slope,
            "hsigma": vol,
            "dastd": dastd_loop(r - rf, window=252, half_life=42, min_periods=42),
            "cmra": cmra_loop(lx, months=12, days=21, min_periods=240),
            "rstr": rstr_loop(lx, window=504, lag=21, half_life=126, min_periods=126),
            "stom": turnover_loop(v, s, months=1, days=21, min_periods=21),
            "stoq": turnover_loop(v, s, months=3, days=21, min_periods=63),
            "stoa": turnover_loop(v, s, months=12, days=21, min_periods=200),
        }

    run_all_engines(df, exprs, oracle)


@pytest.mark.parametrize(("window", "half_life"), [(252, 63), (60, 600)])
def test_long_histories_with_large_values(rng, window, half_life):
    # The exponentially weighted sums are recursions over each asset's whole history
    # (a window sum = the all-history sum minus the one `window` rows back, scaled):
    # 5,000 rows of values near 1,000 with a trend, and a half-life ten times the
    # window (the longest memory), must still match the oracles.
    parts = []
    for a, n in enumerate((5_000, 3_000)):
        mkt = 1_000 + rng.normal(0, 1, n) + np.linspace(0, 5, n)
        ret = (2 + a) * mkt + rng.normal(0, 1, n)
        ret[rng.random(n) < 0.03] = np.nan
        mkt[rng.random(n) < 0.01] = np.nan
        parts.append(
            pl.DataFrame({"asset": f"A{a}", "date": np.arange(n) + 7 * a, "ret": ret, "mkt": mkt})
        )
    df = pl.concat(parts).sort("date", maintain_order=True)
    df = df.with_columns(pl.col("ret", "mkt").fill_nan(None))
    opts = {"window": window, "half_life": half_life, "min_periods": window // 2}
    mom = {"window": 2 * window, "lag": 5, "half_life": 2 * half_life, "min_periods": window}
    exprs = {
        "beta": pf.exprs.beta("ret", "mkt", **opts),
        "hsigma": pf.exprs.hsigma("ret", "mkt", **opts),
        "dastd": pf.exprs.dastd("ret", **opts),
        "rstr": pf.exprs.rstr("ret", **mom),
    }

    def oracle(sub: pl.DataFrame) -> dict[str, np.ndarray]:
        r, m = _np(sub["ret"]), _np(sub["mkt"])
        slope, vol = regression_loop(r, m, **opts)
        return {
            "beta": slope,
            "hsigma": vol,
            "dastd": dastd_loop(r, **opts),
            "rstr": rstr_loop(log_excess(r, None), **mom),
        }

    run_all_engines(df, exprs, oracle)


# --- hand-computed cases ---------------------------------------------------------------


def test_beta_of_an_exact_line_and_zero_hsigma():
    mkt = [0.01, -0.02, 0.03, 0.0, 0.015, -0.01, 0.02]
    rf = [0.001, 0.0, 0.002, 0.001, 0.0, 0.0, 0.001]
    # excess return = 0.002 + 1.5 * excess market
    ret = [f + 0.002 + 1.5 * (m - f) for m, f in zip(mkt, rf, strict=True)]
    df = pl.DataFrame({"ret": ret, "mkt": mkt, "rf": rf})
    opts = {"risk_free": "rf", "window": 4, "half_life": 2, "min_periods": 3}
    out = df.select(
        pf.exprs.beta("ret", "mkt", **opts).alias("b"),
        pf.exprs.hsigma("ret", "mkt", **opts).alias("h"),
    )
    assert out["b"][:2].to_list() == [None, None]
    np.testing.assert_allclose(out["b"][2:].to_numpy(), 1.5, rtol=1e-12)
    np.testing.assert_allclose(out["h"][2:].to_numpy(), 0.0, atol=1e-9)
    # Without the risk-free rate the line is not exact: the slope moves.
    b = df.select(pf.exprs.beta("ret", "mkt", window=4, half_life=2, min_periods=3))["ret"]
    assert abs(b[-1] - 1.5) > 1e-4


def test_beta_hand_two_points():
    # Two complete rows: the line through them. Weights do not matter.
    df = pl.DataFrame({"ret": [0.01, None, 0.05], "mkt": [0.0, 0.3, 0.02]})
    out = df.select(pf.exprs.beta("ret", "mkt", window=3, half_life=1, min_periods=2))
    assert out["ret"].to_list()[:2] == [None, None]
    assert out["ret"][2] == pytest.approx(2.0, rel=1e-12)


def test_beta_constant_market_is_null():
    df = pl.DataFrame(
        {"ret": [0.01, 0.02, -0.01, 0.0, 0.03], "mkt": [0.1, 0.003, 0.003, 0.003, 0.003]}
    )
    out = df.select(pf.exprs.beta("ret", "mkt", window=3, half_life=None, min_periods=2))["ret"]
    assert out.is_null().to_list() == [True, False, False, True, True]


def test_beta_far_from_zero_is_accurate(rng):
    n = 200
    m = 1000 + rng.normal(0, 0.01, n)
    r = 3 * m + rng.normal(0, 0.01, n)
    df = pl.DataFrame({"r": r, "m": m})
    got = _float(df.select(pf.exprs.beta("r", "m", window=50, half_life=10, min_periods=5))["r"])
    exp, _ = regression_loop(r, m, window=50, half_life=10, min_periods=5)
    np.testing.assert_allclose(got, exp, rtol=1e-8)


def test_dastd_hand_weights():
    # window 3, half-life 1: weights 1/4, 1/2, 1 on x = 0.0, 0.03, 0.06
    df = pl.DataFrame({"ret": [0.0, 0.03, 0.06]})
    out = df.select(pf.exprs.dastd("ret", window=3, half_life=1, min_periods=3))["ret"]
    w, x = np.array([0.25, 0.5, 1.0]), np.array([0.0, 0.03, 0.06])
    mean = w @ x / w.sum()
    assert out[2] == pytest.approx(math.sqrt(w @ (x - mean) ** 2 / w.sum()), rel=1e-12)


def test_cmra_hand():
    # months=3, days=2; log returns 0.1, -0.3, 0.05, 0.05, -0.2, 0.1
    logs = [0.1, -0.3, 0.05, 0.05, -0.2, 0.1]
    df = pl.DataFrame({"ret": [math.expm1(v) for v in logs]})
    out = df.select(pf.exprs.cmra("ret", months=3, days=2))["ret"]
    assert out[:5].to_list() == [None] * 5
    z = [-0.1, -0.1 + 0.1, -0.1 + 0.1 - 0.2]  # 1, 2 and 3 months
    assert out[5] == pytest.approx(math.log(1 + max(z)) - math.log(1 + min(z)), rel=1e-12)


def test_cmra_missing_returns_count_as_zero_when_allowed():
    logs = [0.1, None, 0.2, 0.1]
    df = pl.DataFrame({"ret": [None if v is None else math.expm1(v) for v in logs]})
    strict = df.select(pf.exprs.cmra("ret", months=2, days=2))["ret"]
    assert strict.null_count() == 4
    loose = df.select(pf.exprs.cmra("ret", months=2, days=2, min_periods=3))["ret"]
    assert loose[:3].to_list() == [None] * 3
    assert loose[3] == pytest.approx(math.log(1.4) - math.log(1.3), rel=1e-12)


def test_cmra_below_minus_one_is_null():
    df = pl.DataFrame({"ret": [math.expm1(-0.8)] * 4})  # Z_2 = -1.6: no log
    out = df.select(pf.exprs.cmra("ret", months=2, days=2))["ret"]
    assert out.null_count() == 4


def test_rstr_defaults_and_constant_returns():
    # A constant log return: every weighted mean is that return; first defined row is
    # lag + min_periods - 1 = 21 + 126 - 1.
    df = pl.DataFrame({"ret": [math.expm1(0.001)] * 700})
    out = df.select(pf.exprs.rstr("ret"))["ret"]
    assert out.null_count() == 21 + 125
    np.testing.assert_allclose(out.drop_nulls().to_numpy(), 0.001, rtol=1e-12)
    # The last 21 rows do not count.
    r = [0.001] * 600 + [0.5] * 21
    out = pl.DataFrame({"ret": r}).select(pf.exprs.rstr("ret"))["ret"]
    assert out[-1] == pytest.approx(math.log1p(0.001), rel=1e-12)


def test_rstr_hand_weights_with_risk_free():
    df = pl.DataFrame({"ret": [0.02, 0.04, 0.0, 0.5], "rf": [0.01, 0.01, None, 0.0]})
    out = df.select(pf.exprs.rstr("ret", risk_free="rf", window=3, lag=1, half_life=1))["ret"]
    # at the last row: rows 0..2, row 2 missing (rf null); ages 2, 1 -> weights 1/4, 1/2
    l0, l1 = math.log(1.02 / 1.01), math.log(1.04 / 1.01)
    assert out[-1] == pytest.approx((0.25 * l0 + 0.5 * l1) / 0.75, rel=1e-12)


def test_share_turnover_wrappers_and_zero_volume():
    n = 300
    df = pl.DataFrame({"volume": [2_000.0] * n, "shares": [1e6] * n}).with_columns(
        volume=pl.when(pl.int_range(pl.len()) >= 270).then(0.0).otherwise("volume")
    )
    out = df.select(
        pf.exprs.stom("volume", "shares").alias("m"),
        pf.exprs.stoq("volume", "shares").alias("q"),
        pf.exprs.stoa("volume", "shares").alias("a"),
    )
    daily = 2_000 / 1e6
    for name, nulls in (("m", 20), ("q", 62), ("a", 251)):
        col = out[name]
        assert col[:nulls].null_count() == nulls
        assert col[nulls] == pytest.approx(math.log(21 * daily), rel=1e-12)
    assert out["m"][269] == pytest.approx(math.log(21 * daily), rel=1e-12)
    assert out["m"][280] == pytest.approx(math.log(10 * daily), rel=1e-12)
    assert out["m"][-1] is None  # 21 days without trades: log(0) -> null
    assert out["a"][-1] == pytest.approx(math.log(222 * daily / 12), rel=1e-12)


def test_lncap_hand():
    df = pl.DataFrame(
        {"close": [10.0, -1.0, 2.0, float("inf"), 1e200], "shares": [1e6, 5.0, 0.0, 1.0, 1e200]}
    )
    out = df.select(pf.exprs.lncap("close", "shares"))["close"]
    assert out[1:4].to_list() == [None, None, None]
    assert out[0] == pytest.approx(math.log(1e7), rel=1e-14)
    assert out[4] == pytest.approx(400 * math.log(10), rel=1e-14)  # no overflow


def test_hilo_is_high_low_range(rng):
    df = make_panel(rng)
    out = df.select(
        pf.exprs.hilo("high", "low").over("asset").alias("a"),
        pf.exprs.high_low_range("high", "low", window=21).over("asset").alias("b"),
    )
    assert out["a"].equals(out["b"].alias("a"), null_equal=True)


def test_output_names_and_dtypes():
    df = pl.DataFrame(
        {"r": [0.01, 0.02], "m": [0.0, 0.01], "v": [1, 2], "s": [10, 10], "h": [2, 3], "lo": [1, 1]}
    )
    out = df.select(
        pf.exprs.beta("r", "m", window=2, min_periods=2),
        pf.exprs.hsigma("r", "m", window=2, min_periods=2).name.suffix("_h"),
        pf.exprs.dastd("r", window=2, min_periods=2).name.suffix("_d"),
        pf.exprs.cmra("r", months=1, days=2).name.suffix("_c"),
        pf.exprs.rstr("r", window=2, lag=0).name.suffix("_s"),
        pf.exprs.lncap("h", "s"),
        pf.exprs.share_turnover("v", "s", months=1, days=2),
        pf.exprs.hilo("h", "lo", window=2).name.suffix("_hl"),
    )
    assert out.columns == ["r", "r_h", "r_d", "r_c", "r_s", "h", "v", "h_hl"]
    assert set(out.dtypes) == {pl.Float64}


# --- no look-ahead ---------------------------------------------------------------------


def _all_descriptors() -> dict[str, pl.Expr]:
    opts = {"window": 6, "half_life": 3, "min_periods": 2}
    return {
        "beta": pf.exprs.beta("ret", "mkt", risk_free="rf", **opts),
        "hsigma": pf.exprs.hsigma("ret", "mkt", risk_free="rf", **opts),
        "dastd": pf.exprs.dastd("ret", risk_free="rf", **opts),
        "cmra": pf.exprs.cmra("ret", risk_free="rf", months=3, days=2, min_periods=2),
        "rstr": pf.exprs.rstr("ret", risk_free="rf", window=5, lag=2, half_life=2),
        "lncap": pf.exprs.lncap("close", "shares"),
        "sto": pf.exprs.share_turnover("volume", "shares", months=2, days=2, min_periods=2),
        "hilo": pf.exprs.hilo("high", "low", window=3, min_periods=1),
    }


_value = st.one_of(
    st.floats(-0.2, 0.2),
    st.sampled_from([None, math.nan, math.inf, -1.0, 0.0]),
)
_row = st.fixed_dictionaries(dict.fromkeys(("ret", "mkt", "rf"), _value)).map(
    lambda d: (
        d | {"close": 10 + 5 * (d["ret"] or 0), "shares": 100.0, "volume": 1 + (d["mkt"] or 0)}
    )
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(_row, min_size=1, max_size=25),
    other=st.lists(_row, min_size=1, max_size=25),
    t=st.integers(0, 24),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_no_look_ahead(rows, other, t, seed):
    # Changing any input of an asset after its row t leaves rows 0..t unchanged.
    def frame(data: list[dict[str, object]], asset: str) -> pl.DataFrame:
        df = pl.DataFrame(data, schema=dict.fromkeys(FLOATS[:6], pl.Float64), strict=False)
        df = df.with_columns(asset=pl.lit(asset), high=pl.col("close") * 1.01, low=pl.col("close"))
        return df.with_columns(date=pl.int_range(pl.len()))

    base = pl.concat([frame(rows, "a"), frame(other, "b")])
    noise = np.random.default_rng(seed)
    changed = base.with_columns(
        pl.when((pl.col("asset") == "a") & (pl.col("date") > t))
        .then(pl.lit(pl.Series(noise.normal(0, 0.1, base.height))) * (i + 1))
        .otherwise(pl.col(c))
        .alias(c)
        for i, c in enumerate(FLOATS)
    )
    # One plan over both versions (the asset names tell them apart), rows interleaved.
    both = pl.concat([base, changed.with_columns(asset=pl.col("asset") + "'")])
    both = both.sort("date", maintain_order=True)
    plans = [e.over("asset").alias(n) for n, e in _all_descriptors().items()]
    out = both.with_columns(plans).drop(FLOATS).sort("asset", "date")

    def rows_of(asset: str, *, upto: int | None = None) -> pl.DataFrame:
        sub = out.filter(pl.col("asset") == asset).drop("asset")
        return sub if upto is None else sub.filter(pl.col("date") <= upto)

    assert rows_of("a", upto=t).equals(rows_of("a'", upto=t), null_equal=True)
    # The other asset is untouched altogether.
    assert rows_of("b").equals(rows_of("b'"), null_equal=True)


# --- option validation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: pf.exprs.beta("r", "m", window=1), "`window` must be an integer >= 2"),
        (lambda: pf.exprs.beta("r", "m", window=10.0), "`window` must be an integer"),
        (lambda: pf.exprs.beta("r", "m", half_life=0), "half_life"),
        (lambda: pf.exprs.beta("r", "m", half_life=-3.0), "half_life"),
        (lambda: pf.exprs.beta("r", "m", half_life=math.nan), "half_life"),
        (lambda: pf.exprs.beta("r", "m", half_life=True), "half_life"),
        (lambda: pf.exprs.beta("r", "m", half_life="63"), "half_life"),
        (lambda: pf.exprs.beta("r", "m", min_periods=1), "`min_periods` must be an integer >= 2"),
        (lambda: pf.exprs.beta("r", "m", window=50), "at most the window"),
        (lambda: pf.exprs.hsigma("r", "m", min_periods=300), "at most the window"),
        (lambda: pf.exprs.hsigma("r", "m", half_life=0.0), "half_life"),
        (lambda: pf.exprs.dastd("r", window=0), "`window` must be an integer >= 2"),
        (lambda: pf.exprs.dastd("r", half_life=-1), "half_life"),
        (lambda: pf.exprs.cmra("r", months=0), "`months` must be an integer >= 1"),
        (lambda: pf.exprs.cmra("r", days=0), "`days` must be an integer >= 1"),
        (lambda: pf.exprs.cmra("r", min_periods=0), "`min_periods` must be an integer >= 1"),
        (lambda: pf.exprs.cmra("r", min_periods=253), "at most the window"),
        (lambda: pf.exprs.rstr("r", window=0), "`window` must be an integer >= 1"),
        (lambda: pf.exprs.rstr("r", lag=-1), "`lag` must be an integer >= 0"),
        (lambda: pf.exprs.rstr("r", half_life=0), "half_life"),
        (lambda: pf.exprs.rstr("r", min_periods=505), "at most the window"),
        (lambda: pf.exprs.share_turnover("v", "s", months=0), "`months` must be an integer"),
        (lambda: pf.exprs.share_turnover("v", "s", months=1, days=1.5), "`days` must be"),
        (lambda: pf.exprs.stom("v", "s", min_periods=22), "at most the window"),
        (lambda: pf.exprs.stoq("v", "s", min_periods=0), "`min_periods`"),
        (lambda: pf.exprs.hilo("h", "l", window=0), "`window` must be an integer"),
    ],
)
def test_bad_options(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_half_life_none_and_inf_are_equal_weights(rng):
    df = make_panel(rng, n_assets=3, max_len=40)
    a = pf.exprs.beta("ret", "mkt", window=10, half_life=None, min_periods=3)
    b = pf.exprs.beta("ret", "mkt", window=10, half_life=math.inf, min_periods=3)
    # A half-life so long that every weight rounds to 1.
    c = pf.exprs.beta("ret", "mkt", window=10, half_life=1e300, min_periods=3)
    out = df.select(a.over("asset").alias("a"), b.over("asset").alias("b"), c.over("asset"))
    assert out["a"].equals(out["b"].alias("a"), null_equal=True)
    assert out["a"].equals(out["ret"].alias("a"), null_equal=True)


# --- real data -------------------------------------------------------------------------


@pytest.mark.skipif(not PRICES.exists(), reason=f"real data not found at {DATA_DIR}")
def test_real_sp500_descriptors():
    tickers = ["AAPL", "XOM", "LNT"]
    lf = pl.scan_parquet(PRICES).with_columns(
        (pl.col("close") / pl.col("close").shift(1) - 1).over("Name").alias("ret")
    )
    lf = lf.with_columns(pl.col("ret").mean().over("date").alias("mkt"))
    lf = lf.filter(pl.col("Name").is_in(tickers)).sort("Name", "date")
    shares = pl.lit(1e9)  # no shares in this data: turnover per billion shares
    out = lf.with_columns(
        pf.exprs.beta("ret", "mkt").over("Name").alias("beta"),
        pf.exprs.hsigma("ret", "mkt").over("Name").alias("hsigma"),
        pf.exprs.dastd("ret").over("Name").alias("dastd"),
        pf.exprs.cmra("ret").over("Name").alias("cmra"),
        pf.exprs.rstr("ret").over("Name").alias("rstr"),
        pf.exprs.stom("volume", shares).over("Name").alias("stom"),
        pf.exprs.hilo("high", "low").over("Name").alias("hilo"),
    ).collect(engine="streaming")
    assert out["Name"].unique().sort().to_list() == sorted(tickers)
    for ticker in tickers:
        sub = out.filter(pl.col("Name") == ticker)
        r, m = _np(sub["ret"]), _np(sub["mkt"])
        slope, vol = regression_loop(r, m, window=252, half_life=63, min_periods=63)
        lx = log_excess(r, None)
        expected = {
            "beta": slope,
            "hsigma": vol,
            "dastd": dastd_loop(r, window=252, half_life=42, min_periods=42),
            "cmra": cmra_loop(lx, months=12, days=21, min_periods=252),
            "rstr": rstr_loop(lx, window=504, lag=21, half_life=126, min_periods=126),
            "stom": turnover_loop(
                _np(sub["volume"]), np.full(sub.height, 1e9), months=1, days=21, min_periods=21
            ),
            "hilo": hilo_loop(_np(sub["high"]), _np(sub["low"]), window=21, min_periods=21),
        }
        for name, exp in expected.items():
            got = _float(sub[name])
            np.testing.assert_array_equal(np.isnan(got), np.isnan(exp), err_msg=f"{ticker} {name}")
            np.testing.assert_allclose(got, exp, **TOL, err_msg=f"{ticker} {name}")
        assert 0.3 < np.nanmedian(_float(sub["beta"])) < 2.0
