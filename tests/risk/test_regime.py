"""volatility_regime and bias_statistic: hand cases, numpy-loop oracles, no look-ahead."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from polars_factors.exceptions import (
    ColumnNotFoundError,
    DuplicateKeyError,
    InvalidDataError,
    SchemaError,
    WeightError,
)
from polars_factors.risk.regime import bias_statistic, volatility_regime

ENGINES = ["eager", "in-memory", "streaming"]


def collect_with(kind, fn, *frames):
    """Run ``fn`` on eager frames, or lazy ones collected with the given engine."""
    if kind == "eager":
        return fn(*frames)
    lazy = [f.lazy() if isinstance(f, pl.DataFrame) else f for f in frames]
    return fn(*lazy, engine=kind)


# ---------------------------------------------------------------------------------
# Oracles


def ew_weights(n, half_life):
    ages = np.arange(n)[::-1]
    if math.isinf(half_life):
        return np.ones(n)
    return 0.5 ** (ages / half_life)


def regime_oracle(dates, returns, pred, half_life, weights=None):
    """Plain loops. ``returns``/``weights``: {(date, key): value}; ``pred``: same (a vol)."""
    bias, mult = [], []
    b_hist = []
    for t in dates:
        num = den = 0.0
        any_obs = False
        for (d, k), r in returns.items():
            if d != t or r is None or not np.isfinite(r):
                continue
            before = [s for (s, kk) in pred if kk == k and s < t]
            if not before:
                continue
            sigma = pred[(max(before), k)]
            if sigma is None or not np.isfinite(sigma) or sigma <= 0:
                continue
            w = 1.0 if weights is None else weights[(d, k)]
            if w is None or not np.isfinite(w) or w <= 0:
                continue
            z = r / sigma
            num += w * z * z
            den += w
            any_obs = True
        b = math.sqrt(num / den) if any_obs else None
        bias.append(b)
        if b is not None:
            b_hist.append(b)
        if b_hist:
            v = ew_weights(len(b_hist), half_life)
            mult.append(math.sqrt(np.sum(v * np.array(b_hist) ** 2) / v.sum()))
        else:
            mult.append(None)
    return bias, mult


def proxy_oracle(x, half_life, long_half_life):
    """Multiplier per row of ``x`` (NaN = missing observation)."""
    out = []
    obs = []
    last = None
    for value in x:
        if np.isfinite(value):
            obs.append(value)
            arr = np.array(obs)
            variances = []
            for h in (half_life, long_half_life):
                w = ew_weights(len(arr), h)
                w = w / w.sum()
                m = np.sum(w * arr)
                variances.append(np.sum(w * (arr - m) ** 2))
            last = math.sqrt(variances[0] / variances[1]) if variances[1] > 0 else None
        out.append(last)
    return out


def rolling_bias_oracle(z, window, min_periods):
    out = []
    for i in range(len(z)):
        sample = z[max(0, i - window + 1) : i + 1]
        out.append(np.std(sample, ddof=1) if len(sample) >= min_periods else None)
    return out


def assert_close(actual, expected, tol=1e-12):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        if e is None:
            assert a is None
        else:
            assert a is not None
            assert abs(a - e) <= tol * max(1.0, abs(e)), (a, e)


# ---------------------------------------------------------------------------------
# Random data


def random_regime_data(rng, n_dates=30, n_keys=6):
    keys = [f"k{i}" for i in range(n_keys)]
    rows, prows = [], []
    for d in range(n_dates):
        for k in keys:
            if rng.random() < 0.9:
                r = float(rng.standard_normal() * 0.02)
                if rng.random() < 0.05:
                    r = None
                rows.append((d, k, r, float(rng.lognormal())))
            if rng.random() < 0.8:
                vol = float(rng.uniform(0.01, 0.03))
                if rng.random() < 0.03:
                    vol = 0.0
                prows.append((d, k, vol))
    returns = pl.DataFrame(
        rows, schema=["date", "factor", "factor_return", "mcap"], orient="row"
    ).sample(fraction=1.0, shuffle=True, seed=1)
    predicted = pl.DataFrame(prows, schema=["date", "factor", "volatility"], orient="row").sample(
        fraction=1.0, shuffle=True, seed=2
    )
    return returns, predicted


def as_dicts(returns, predicted, weights=None):
    r = {(d, k): v for d, k, v in returns.select("date", "factor", "factor_return").iter_rows()}
    p = {(d, k): v for d, k, v in predicted.select("date", "factor", "volatility").iter_rows()}
    w = None
    if weights is not None:
        w = {(d, k): v for d, k, v in returns.select("date", "factor", weights).iter_rows()}
    return r, p, w


# ---------------------------------------------------------------------------------
# volatility_regime, method="bias"


def test_hand_case():
    # 2 factors, 3 dates; predictions on dates 1 and 2.
    returns = pl.DataFrame(
        {
            "date": [1, 1, 2, 2, 3, 3],
            "factor": ["a", "b"] * 3,
            "factor_return": [0.5, 0.1, 0.3, -0.4, -0.2, 0.6],
        }
    )
    predicted = pl.DataFrame(
        {"date": [1, 1, 2, 2], "factor": ["a", "b"] * 2, "volatility": [0.1, 0.2, 0.2, 0.3]}
    )
    out = volatility_regime(returns, predicted, half_life=2)
    # date 2: z = (0.3/0.1, -0.4/0.2) = (3, -2); date 3: z = (-0.2/0.2, 0.6/0.3) = (-1, 2)
    b2 = math.sqrt((9 + 4) / 2)
    b3 = math.sqrt((1 + 4) / 2)
    v = 0.5 ** (1 / 2)  # weight of date 2 on date 3
    lam3 = math.sqrt((v * b2**2 + b3**2) / (v + 1))
    assert out.columns == ["date", "bias", "multiplier"]
    assert out["date"].to_list() == [1, 2, 3]
    assert_close(out["bias"].to_list(), [None, b2, b3])
    assert_close(out["multiplier"].to_list(), [None, b2, lam3])
    # cap-weighted: weights 1 and 3
    weighted = volatility_regime(
        returns.with_columns(mcap=pl.Series([1.0, 3.0] * 3)),
        predicted,
        half_life=2,
        weights="mcap",
    )
    b2w = math.sqrt((9 + 3 * 4) / 4)
    b3w = math.sqrt((1 + 3 * 4) / 4)
    assert_close(weighted["bias"].to_list(), [None, b2w, b3w])
    assert_close(
        weighted["multiplier"].to_list(),
        [None, b2w, math.sqrt((v * b2w**2 + b3w**2) / (v + 1))],
    )


@pytest.mark.parametrize("half_life", [3.0, 10, math.inf])
@pytest.mark.parametrize("weighted", [False, True])
def test_bias_oracle(rng, half_life, weighted):
    returns, predicted = random_regime_data(rng)
    weights = "mcap" if weighted else None
    out = volatility_regime(returns, predicted, half_life=half_life, weights=weights)
    r, p, w = as_dicts(returns, predicted, weights)
    dates = sorted(returns["date"].unique().to_list())
    bias, mult = regime_oracle(dates, r, p, half_life, w)
    assert out["date"].to_list() == dates
    assert_close(out["bias"].to_list(), bias)
    assert_close(out["multiplier"].to_list(), mult)


def test_bias_dates_without_b_carry_multiplier():
    returns = pl.DataFrame(
        {
            "date": [1, 2, 3, 4, 5],
            "factor": ["a"] * 5,
            "factor_return": [0.1, 0.2, None, 0.1, float("nan")],
        }
    )
    predicted = pl.DataFrame({"date": [1, 2, 3, 4], "factor": ["a"] * 4, "volatility": [0.1] * 4})
    out = volatility_regime(returns, predicted, half_life=1)
    assert_close(out["bias"].to_list(), [None, 2.0, None, 1.0, None])
    lam4 = math.sqrt((0.5 * 4 + 1) / 1.5)
    assert_close(out["multiplier"].to_list(), [None, 2.0, 2.0, lam4, lam4])


def test_bias_uses_latest_prediction_strictly_before():
    # predictions on dates 1 and 3: the return of date 3 uses date 1's, that of date 4
    # uses date 3's; a null prediction on the latest date is not replaced by an older one.
    returns = pl.DataFrame({"date": [2, 3, 4, 5], "factor": ["a"] * 4, "factor_return": [1.0] * 4})
    predicted = pl.DataFrame(
        {"date": [1, 3, 4], "factor": ["a"] * 3, "volatility": [0.5, 0.25, None]}
    )
    out = volatility_regime(returns, predicted, half_life=math.inf)
    assert_close(out["bias"].to_list(), [2.0, 2.0, 4.0, None])


def test_no_look_ahead(rng):
    returns, predicted = random_regime_data(rng)
    base = volatility_regime(returns, predicted, half_life=5)
    t0 = 17
    changed_r = returns.with_columns(
        pl.when(pl.col("date") > t0)
        .then(pl.col("factor_return") * 10 + 1)
        .otherwise(pl.col("factor_return"))
    )
    changed_p = predicted.with_columns(
        pl.when(pl.col("date") >= t0)
        .then(pl.col("volatility") * 7 + 0.5)
        .otherwise(pl.col("volatility"))
    )
    out = volatility_regime(changed_r, changed_p, half_life=5)
    assert_frame_equal(base.filter(pl.col("date") <= t0), out.filter(pl.col("date") <= t0))
    assert not base.equals(out)
    # and the proxy method
    market = returns.group_by("date").agg(pl.col("factor_return").mean().alias("mkt"))
    proxy = volatility_regime(market, method="proxy", half_life=3, long_half_life=10)
    proxy2 = volatility_regime(
        market.with_columns(
            pl.when(pl.col("date") > t0).then(pl.col("mkt") * 5).otherwise(pl.col("mkt"))
        ),
        method="proxy",
        half_life=3,
        long_half_life=10,
    )
    assert_frame_equal(proxy.filter(pl.col("date") <= t0), proxy2.filter(pl.col("date") <= t0))


@pytest.mark.parametrize("kind", ENGINES)
def test_engines_agree(rng, kind):
    returns, predicted = random_regime_data(rng)
    expected = volatility_regime(returns, predicted, half_life=4, weights="mcap")
    out = collect_with(
        kind,
        lambda r, p, **kw: volatility_regime(r, p, half_life=4, weights="mcap", **kw),
        returns,
        predicted,
    )
    assert_frame_equal(out, expected)
    market = returns.group_by("date").agg(pl.col("factor_return").sum().alias("mkt"))
    expected = volatility_regime(market, method="proxy", half_life=3, long_half_life=9)
    out = collect_with(
        kind,
        lambda r, **kw: volatility_regime(r, method="proxy", half_life=3, long_half_life=9, **kw),
        market,
    )
    assert_frame_equal(out, expected)


def random_covariances(rng, n_dates, factors):
    k = len(factors)
    rows = []
    for d in range(n_dates):
        a = rng.standard_normal((k, k)) * 0.01
        cov = a @ a.T + np.eye(k) * 1e-4
        rows.extend(
            (d, factors[i], factors[j], float(cov[i, j])) for i in range(k) for j in range(k)
        )
    return pl.DataFrame(rows, schema=["date", "factor_1", "factor_2", "covariance"], orient="row")


def test_prediction_layouts_agree(rng):
    factors = ["mkt", "size", "value", "mom"]
    cov = random_covariances(rng, 12, factors)
    diag = cov.filter(pl.col("factor_1") == pl.col("factor_2")).select(
        "date", pl.col("factor_1").alias("factor"), pl.col("covariance").alias("var")
    )
    vols = diag.select("date", "factor", pl.col("var").sqrt().alias("volatility"))
    spec = diag.rename({"var": "specific_var"})
    wide = pl.DataFrame(
        {"date": list(range(12))} | {f: rng.standard_normal(12) * 0.02 for f in factors}
    )
    long = wide.unpivot(index="date", variable_name="factor", value_name="factor_return")
    expected = volatility_regime(long, vols, half_life=5)
    assert expected["bias"].null_count() == 1
    for returns in (long, wide):
        for predicted in (cov, vols, spec):
            out = volatility_regime(returns, predicted, half_life=5)
            assert_frame_equal(out, expected, check_exact=False, rel_tol=1e-14)
    # residuals with asset keys and specific variances
    resid = long.rename({"factor": "asset", "factor_return": "residual"})
    out = volatility_regime(
        resid, spec.rename({"factor": "asset"}), half_life=5, key="asset", value="residual"
    )
    assert_frame_equal(out, expected, check_exact=False, rel_tol=1e-14)


def test_zero_and_null_weights_left_out():
    returns = pl.DataFrame(
        {
            "date": [1, 1, 2, 2, 2],
            "factor": ["a", "b", "a", "b", "c"],
            "factor_return": [0.0, 0.0, 1.0, 2.0, 5.0],
            "w": [1.0, 1.0, 2.0, 0.0, None],
        }
    )
    predicted = pl.DataFrame({"date": [1, 1, 1], "factor": ["a", "b", "c"], "volatility": 1.0})
    out = volatility_regime(returns, predicted, half_life=1, weights="w")
    assert_close(out["bias"].to_list(), [None, 1.0])


@settings(max_examples=25, deadline=None)
@given(c=st.floats(0.01, 100.0), seed=st.integers(0, 2**32 - 1))
def test_scaling_property(c, seed):
    # B and the multiplier are invariant to the units of returns and predictions together,
    # and scale with the returns alone.
    returns, predicted = random_regime_data(np.random.default_rng(seed), n_dates=8, n_keys=3)
    base = volatility_regime(returns, predicted, half_life=3)
    scaled_r = returns.with_columns(pl.col("factor_return") * c)
    both = volatility_regime(
        scaled_r, predicted.with_columns(pl.col("volatility") * c), half_life=3
    )
    assert_frame_equal(both, base, check_exact=False, rel_tol=1e-12)
    only = volatility_regime(scaled_r, predicted, half_life=3)
    expected = base.with_columns(pl.col("bias", "multiplier") * c)
    assert_frame_equal(only, expected, check_exact=False, rel_tol=1e-12)


# ---------------------------------------------------------------------------------
# volatility_regime, method="proxy"


@pytest.mark.parametrize(("half_life", "long_half_life"), [(5, 20), (2.5, math.inf), (42, 252)])
def test_proxy_oracle(rng, half_life, long_half_life):
    x = rng.standard_normal(120) * np.linspace(0.5, 2.0, 120)
    x[[7, 50, 51]] = np.nan
    frame = pl.DataFrame({"date": np.arange(120), "mkt": x}).with_columns(
        pl.when(pl.col("date") == 80).then(None).otherwise(pl.col("mkt")).alias("mkt")
    )
    x[80] = np.nan
    out = volatility_regime(
        frame.reverse(), method="proxy", half_life=half_life, long_half_life=long_half_life
    )
    assert out.columns == ["date", "bias", "multiplier"]
    assert out["date"].to_list() == list(range(120))
    assert out["bias"].null_count() == 120
    assert out.schema["bias"] == pl.Float64
    assert_close(out["multiplier"].to_list(), proxy_oracle(x, half_life, long_half_life))


def test_proxy_value_column_and_first_row():
    frame = pl.DataFrame({"date": [1, 2, 3], "ret": [1.0, 3.0, 2.0]})
    out = volatility_regime(frame, method="proxy", half_life=1, long_half_life=math.inf)
    named = volatility_regime(
        frame.with_columns(x=0.0), method="proxy", value="ret", half_life=1, long_half_life=1e9
    )
    assert out["multiplier"][0] is None  # zero long variance on the first observation
    assert_close(out["multiplier"].to_list(), proxy_oracle([1.0, 3.0, 2.0], 1, math.inf))
    assert_close(named["multiplier"].to_list(), out["multiplier"].to_list(), tol=1e-8)


# ---------------------------------------------------------------------------------
# volatility_regime errors


def test_regime_errors():
    returns = pl.DataFrame(
        {"date": [1, 1, 2, 2], "factor": ["a", "b"] * 2, "factor_return": [0.1] * 4, "w": 1.0}
    )
    vols = pl.DataFrame({"date": [1, 1], "factor": ["a", "b"], "volatility": [0.1, 0.2]})
    with pytest.raises(ValueError, match="needs `predicted`"):
        volatility_regime(returns)
    with pytest.raises(ValueError, match="`predicted` must be None"):
        volatility_regime(returns.select("date", "factor_return"), vols, method="proxy")
    with pytest.raises(ValueError, match="unknown method"):
        volatility_regime(returns, vols, method="nope")  # type: ignore[arg-type]
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="half_life"):
            volatility_regime(returns, vols, half_life=bad)
    with pytest.raises(ValueError, match="long_half_life"):
        volatility_regime(returns.select("date", "factor_return"), method="proxy", long_half_life=0)
    with pytest.raises(ValueError, match="single return series"):
        volatility_regime(returns, method="proxy")
    with pytest.raises(ValueError, match="method='bias' only"):
        volatility_regime(returns.select("date", "w"), method="proxy", weights="w")
    with pytest.raises(ColumnNotFoundError, match="'factor_return'"):
        volatility_regime(returns.drop("factor_return"), vols)
    with pytest.raises(ColumnNotFoundError, match="'nope'"):
        volatility_regime(returns, vols, weights="nope")
    with pytest.raises(SchemaError, match="numeric"):
        volatility_regime(returns.with_columns(pl.col("factor_return").cast(pl.String)), vols)
    with pytest.raises(SchemaError, match="numeric"):
        volatility_regime(returns.with_columns(w=pl.lit("x")), vols, weights="w")
    with pytest.raises(WeightError, match="negative"):
        volatility_regime(returns.with_columns(w=-1.0), vols, weights="w")
    with pytest.raises(DuplicateKeyError):
        volatility_regime(pl.concat([returns, returns]), vols)
    with pytest.raises(DuplicateKeyError):
        volatility_regime(returns, pl.concat([vols, vols]))
    wide = pl.DataFrame({"date": [1, 1], "a": [0.1, 0.2]})
    with pytest.raises(DuplicateKeyError):
        volatility_regime(wide, vols)
    with pytest.raises(ValueError, match="wide"):
        volatility_regime(wide, vols, weights="a")
    with pytest.raises(InvalidDataError, match="2 negative values; volatilities and variances"):
        volatility_regime(returns, vols.with_columns(volatility=-0.1))
    with pytest.raises(ColumnNotFoundError, match="volatility"):
        volatility_regime(returns, vols.rename({"volatility": "vol"}))
    with pytest.raises(ValueError, match="both"):
        volatility_regime(returns, vols.with_columns(specific_var=0.1))
    with pytest.raises(SchemaError, match="same dtype"):
        volatility_regime(returns, vols.with_columns(pl.col("date").cast(pl.Float64)))
    with pytest.raises(InvalidDataError, match="4 null 'date' or 'factor' values"):
        volatility_regime(returns.with_columns(factor=pl.lit(None, pl.String)), vols)
    with pytest.raises(DuplicateKeyError):
        volatility_regime(
            pl.DataFrame({"date": [1, 1], "m": [0.1, 0.2]}), method="proxy", value="m"
        )
    with pytest.raises(InvalidDataError, match="1 rows with a null 'date'; drop them first"):
        volatility_regime(
            pl.DataFrame({"date": [1, None], "m": [0.1, 0.2]}), method="proxy", value="m"
        )
    with pytest.raises(TypeError, match="DataFrame"):
        volatility_regime({"date": [1]}, vols)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------
# bias_statistic


def portfolio_data(rng, n=60, portfolios=("p1", "p2", "p3")):
    rows, prows = [], []
    for p in portfolios:
        vol = rng.uniform(0.5, 2.0, n)
        r = rng.standard_normal(n) * np.roll(vol, 1) * 1.3
        for t in range(n):
            if rng.random() < 0.9:
                rows.append((t, p, float(r[t])))
            if rng.random() < 0.9:
                prows.append((t, p, float(vol[t])))
    rets = pl.DataFrame(rows, schema=["date", "port", "return"], orient="row")
    vols = pl.DataFrame(prows, schema=["date", "port", "volatility"], orient="row")
    return rets.sample(fraction=1.0, shuffle=True, seed=3), vols.sample(
        fraction=1.0, shuffle=True, seed=4
    )


def standardized(rets, vols, p):
    r = rets.filter(pl.col("port") == p).sort("date")
    v = vols.filter(pl.col("port") == p).sort("date")
    vd = v["date"].to_numpy()
    vv = v["volatility"].to_numpy()
    dates, z = [], []
    for d, x in r.select("date", "return").iter_rows():
        before = np.nonzero(vd < d)[0]
        if len(before) == 0:
            continue
        dates.append(d)
        z.append(x / vv[before[-1]])
    return dates, np.array(z)


@pytest.mark.parametrize(("window", "min_periods"), [(10, None), (10, 4), (2, None)])
def test_bias_statistic_rolling_oracle(rng, window, min_periods):
    rets, vols = portfolio_data(rng)
    out = bias_statistic(rets, vols, window=window, portfolio="port", min_periods=min_periods)
    assert out.columns == ["date", "port", "z", "bias", "n_obs", "lower", "upper"]
    periods = window if min_periods is None else min_periods
    assert out["port"].to_list() == sorted(out["port"].to_list())
    for p in ("p1", "p2", "p3"):
        dates, z = standardized(rets, vols, p)
        sub = out.filter(pl.col("port") == p)
        assert sub["date"].to_list() == dates
        assert_close(sub["z"].to_list(), list(z))
        assert_close(sub["bias"].to_list(), rolling_bias_oracle(z, window, periods), tol=1e-10)
        n = np.minimum(np.arange(1, len(z) + 1), window)
        assert sub["n_obs"].to_list() == list(n)
        has = sub["bias"].is_not_null().to_numpy()
        np.testing.assert_allclose(
            sub["lower"].to_numpy()[has], 1 - np.sqrt(2 / n[has]), rtol=1e-14
        )
        np.testing.assert_allclose(
            sub["upper"].to_numpy()[has], 1 + np.sqrt(2 / n[has]), rtol=1e-14
        )
        assert sub["lower"].null_count() == (~has).sum()


def test_bias_statistic_full_sample(rng):
    rets, vols = portfolio_data(rng)
    out = bias_statistic(rets, vols, window=None, portfolio="port")
    assert out.columns == ["port", "n_obs", "bias", "lower", "upper"]
    assert out["port"].to_list() == ["p1", "p2", "p3"]
    for p, n_obs, bias, lower, upper in out.iter_rows():
        _, z = standardized(rets, vols, p)
        assert n_obs == len(z)
        assert abs(bias - np.std(z, ddof=1)) < 1e-12
        assert abs(lower - (1 - math.sqrt(2 / len(z)))) < 1e-14
        assert abs(upper - (1 + math.sqrt(2 / len(z)))) < 1e-14
    # a single portfolio without a key column
    single = bias_statistic(
        rets.filter(pl.col("port") == "p2").drop("port"),
        vols.filter(pl.col("port") == "p2").drop("port"),
        window=None,
    )
    assert single.columns == ["n_obs", "bias", "lower", "upper"]
    assert_frame_equal(single, out.filter(pl.col("port") == "p2").drop("port"))


def test_bias_statistic_calibrated():
    rng = np.random.default_rng(7)
    n = 2000
    vol = rng.uniform(0.005, 0.03, n)
    r = np.empty(n)
    r[0] = 0.0
    r[1:] = rng.standard_normal(n - 1) * vol[:-1]  # return t drawn with the vol predicted at t-1
    rets = pl.DataFrame({"date": np.arange(n), "return": r})
    vols = pl.DataFrame({"date": np.arange(n), "volatility": vol})
    out = bias_statistic(rets, vols, window=None)
    assert out["n_obs"].item() == n - 1
    assert out["lower"].item() < out["bias"].item() < out["upper"].item()
    overpredicted = bias_statistic(rets, vols.with_columns(pl.col("volatility") * 2), window=None)
    assert overpredicted["bias"].item() < overpredicted["lower"].item()
    rolling = bias_statistic(rets, vols, window=250)
    inside = rolling.filter(pl.col("bias").is_not_null()).select(
        ((pl.col("bias") > pl.col("lower")) & (pl.col("bias") < pl.col("upper"))).mean()
    )
    assert inside.item() > 0.8


def test_bias_statistic_zero_forecast_left_out():
    rets = pl.DataFrame({"date": [1, 2, 3, 4], "return": [1.0, 2.0, 3.0, 4.0]})
    vols = pl.DataFrame({"date": [1, 2, 3], "volatility": [1.0, 0.0, 2.0]})
    out = bias_statistic(rets, vols, window=2, min_periods=2)
    assert out["date"].to_list() == [2, 4]
    assert out["z"].to_list() == [2.0, 2.0]
    assert out["bias"].to_list() == [None, 0.0]


@pytest.mark.parametrize("kind", ENGINES)
def test_bias_statistic_engines(rng, kind):
    rets, vols = portfolio_data(rng)
    for window in (5, None):
        expected = bias_statistic(rets, vols, window=window, portfolio="port")
        out = collect_with(
            kind,
            lambda r, v, **kw: bias_statistic(r, v, window=window, portfolio="port", **kw),  # noqa: B023
            rets,
            vols,
        )
        assert_frame_equal(out, expected)


def test_bias_statistic_errors():
    rets = pl.DataFrame({"date": [1, 2], "return": [0.1, 0.2]})
    vols = pl.DataFrame({"date": [1, 2], "volatility": [0.1, 0.2]})
    for bad in (1, 0, 2.5, True):
        with pytest.raises(ValueError, match="window"):
            bias_statistic(rets, vols, window=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="min_periods"):
        bias_statistic(rets, vols, window=5, min_periods=6)
    with pytest.raises(ValueError, match="min_periods"):
        bias_statistic(rets, vols, window=None, min_periods=1)
    with pytest.raises(ColumnNotFoundError, match="'port'"):
        bias_statistic(rets, vols, window=None, portfolio="port")
    with pytest.raises(ColumnNotFoundError, match="'volatility'"):
        bias_statistic(rets, vols.rename({"volatility": "vol"}), window=None)
    with pytest.raises(SchemaError, match="numeric"):
        bias_statistic(rets.with_columns(pl.col("return").cast(pl.String)), vols, window=None)
    with pytest.raises(SchemaError, match="same dtype"):
        bias_statistic(rets, vols.with_columns(pl.col("date").cast(pl.Float64)), window=None)
    with pytest.raises(DuplicateKeyError):
        bias_statistic(pl.concat([rets, rets]), vols, window=None)
    with pytest.raises(DuplicateKeyError):
        bias_statistic(
            rets.with_columns(port=pl.lit("a")),
            pl.concat([vols, vols]).with_columns(port=pl.lit("a")),
            window=None,
            portfolio="port",
        )
    with pytest.raises(InvalidDataError, match="2 negative values"):
        bias_statistic(rets, vols.with_columns(volatility=-1.0), window=None)
