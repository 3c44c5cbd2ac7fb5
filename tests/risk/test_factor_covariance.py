"""factor_covariance against plain numpy loops, pandas and statsmodels; layouts; errors."""

from __future__ import annotations

import itertools
import math
import warnings
from datetime import date, timedelta

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.sandwich_covariance import S_hac_simple

import polars_factors as pf
from polars_factors.exceptions import (
    ColumnNotFoundError,
    DataLossWarning,
    DuplicateKeyError,
    InsufficientDataError,
    InvalidDataError,
    SchemaError,
)
from polars_factors.risk import _input
from polars_factors.risk._linalg import _ewm
from polars_factors.risk.covariance import covariance_frames

FACTORS = ["mkt", "size", "value", "tech"]


def nw_oracle(x: np.ndarray, t: int, half_life: float, lags: int, *, demean: bool = True):
    """Weighted Newey-West covariance at date t, written out as a plain loop."""
    xs = x[: t + 1]
    age = t - np.arange(t + 1)
    w = np.ones(t + 1) if math.isinf(half_life) else 0.5 ** (age / half_life)
    w = w / w.sum()
    mu = w @ xs if demean else np.zeros(x.shape[1])
    d = xs - mu
    v = np.zeros((x.shape[1], x.shape[1]))
    for s in range(t + 1):
        v += w[s] * np.outer(d[s], d[s])
    for lag in range(1, lags + 1):
        g = np.zeros_like(v)
        for s in range(lag, t + 1):
            g += w[s] * np.outer(d[s], d[s - lag])
        v += (1 - lag / (lags + 1)) * (g + g.T)
    return v


def cov_oracle(x, t, *, hl_vol, hl_corr, lags_vol=0, lags_corr=0, demean=True):
    vol = np.sqrt(np.clip(np.diag(nw_oracle(x, t, hl_vol, lags_vol, demean=demean)), 0, None))
    c = nw_oracle(x, t, hl_corr, lags_corr, demean=demean)
    sd = np.sqrt(np.diag(c))
    corr = c / np.outer(sd, sd)
    return corr * np.outer(vol, vol)


def wide_frame(x: np.ndarray, names=FACTORS) -> pl.DataFrame:
    start = date(2020, 1, 1)
    dates = [start + timedelta(days=i) for i in range(x.shape[0])]
    return pl.DataFrame({"date": dates, **{n: x[:, i] for i, n in enumerate(names)}})


def long_frame(x: np.ndarray, names=FACTORS) -> pl.DataFrame:
    return (
        wide_frame(x, names)
        .unpivot(index="date", variable_name="factor", value_name="factor_return")
        .sort("date", maintain_order=True)
    )


def matrices(cov: pl.DataFrame, k: int) -> np.ndarray:
    return cov.get_column("covariance").to_numpy().reshape(-1, k, k)


@pytest.fixture
def returns(rng) -> np.ndarray:
    # correlated, autocorrelated, with a non-zero mean (demeaning matters)
    t, k = 60, len(FACTORS)
    mix = rng.normal(size=(k, k))
    e = rng.standard_t(df=5, size=(t, k)) @ mix * 0.01 + 0.002
    e[1:] += 0.3 * e[:-1]
    return e


@pytest.mark.parametrize(
    "case",
    [(5, 5, 0, 0), (3, 20, 0, 0), (10, 40, 3, 1), (math.inf, 8, 2, 0), (7, math.inf, 0, 2)],
)
@pytest.mark.parametrize("demean", [True, False])
def test_against_loop(returns, case, demean):
    hl_vol, hl_corr, lags_vol, lags_corr = case
    k = len(FACTORS)
    out = pf.risk.factor_covariance(
        wide_frame(returns),
        half_life_vol=hl_vol,
        half_life_corr=hl_corr,
        nw_lags_vol=lags_vol,
        nw_lags_corr=lags_corr,
        demean=demean,
        min_periods=1,
    )
    got = matrices(out, k)
    assert got.shape == (returns.shape[0], k, k)
    for t in range(2, returns.shape[0]):
        want = cov_oracle(
            returns, t, hl_vol=hl_vol, hl_corr=hl_corr, lags_vol=lags_vol, lags_corr=lags_corr,
            demean=demean,
        )  # fmt: skip
        np.testing.assert_allclose(got[t], want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


def test_same_half_life_is_the_weighted_covariance_as_pandas(returns):
    # pandas ewm(halflife, adjust=True) uses the same normalized weights 0.5 ** (age / h)
    h = 6.0
    out = pf.risk.factor_covariance(
        wide_frame(returns), half_life_vol=h, half_life_corr=h, min_periods=1
    )
    got = matrices(out, len(FACTORS))
    want = pd.DataFrame(returns).ewm(halflife=h).cov(bias=True).to_numpy()
    want = want.reshape(returns.shape[0], len(FACTORS), len(FACTORS))
    np.testing.assert_allclose(got[1:], want[1:], rtol=1e-11, atol=1e-17)


@pytest.mark.parametrize("lags", [1, 3, 6])
def test_equal_weights_newey_west_is_statsmodels_hac(returns, lags):
    out = pf.risk.factor_covariance(
        wide_frame(returns),
        half_life_vol=math.inf,
        half_life_corr=math.inf,
        nw_lags_vol=lags,
        nw_lags_corr=lags,
        dates="last",
    )
    got = matrices(out, len(FACTORS))[0]
    # S_hac_simple returns the sums; the covariance divides them by the count
    want = S_hac_simple(returns - returns.mean(axis=0), nlags=lags) / returns.shape[0]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_hand_case():
    # two dates, one factor, half-life 1: weights 1/3 (older) and 2/3
    fr = pl.DataFrame({"date": [1, 2], "f": [1.0, 4.0]})
    out = pf.risk.factor_covariance(fr, half_life_vol=1, half_life_corr=1, min_periods=1)
    mean = 1 / 3 * 1 + 2 / 3 * 4  # 3
    var = 1 / 3 * (1 - mean) ** 2 + 2 / 3 * (4 - mean) ** 2  # 4/3 + 2/3 = 2
    assert out.get_column("covariance").to_list() == pytest.approx([0.0, var], abs=1e-15)
    assert var == pytest.approx(2.0)


def test_long_history_accuracy(rng):
    x = rng.normal(size=(3000, 3)) * 0.01 + 0.05  # a large mean relative to the spread
    out = pf.risk.factor_covariance(
        wide_frame(x, ["a", "b", "c"]), half_life_vol=84, half_life_corr=504, nw_lags_vol=5,
        nw_lags_corr=2, dates=[date(2020, 1, 1) + timedelta(days=i) for i in (999, 2999)],
    )  # fmt: skip
    got = matrices(out, 3)
    for i, t in enumerate((999, 2999)):
        want = cov_oracle(x, t, hl_vol=84, hl_corr=504, lags_vol=5, lags_corr=2)
        np.testing.assert_allclose(got[i], want, rtol=1e-10)


def test_no_look_ahead(returns):
    t = 30
    base = matrices(pf.risk.factor_covariance(wide_frame(returns), preset="USE4S"), 4)
    altered = returns.copy()
    altered[t + 1 :] = altered[t + 1 :] * 7 - 0.3
    again = matrices(pf.risk.factor_covariance(wide_frame(altered), preset="USE4S"), 4)
    np.testing.assert_array_equal(base[: t + 1], again[: t + 1])
    assert not np.allclose(base[t + 1 :], again[t + 1 :], equal_nan=True)


def test_layout_long_wide_lazy(returns):
    wide = pf.risk.factor_covariance(wide_frame(returns), preset="hsr")
    assert wide.columns == ["date", "factor_1", "factor_2", "covariance"]
    assert wide.height == returns.shape[0] * 16
    assert wide.get_column("factor_1").head(4).to_list() == ["mkt"] * 4
    assert wide.get_column("factor_2").head(4).to_list() == FACTORS
    assert wide.get_column("date").is_sorted()
    long = pf.risk.factor_covariance(long_frame(returns), preset="hsr")
    lazy = pf.risk.factor_covariance(long_frame(returns).lazy(), preset="hsr", engine="streaming")
    assert wide.equals(long)
    assert wide.equals(lazy)


def test_min_periods_and_dates(returns):
    out = pf.risk.factor_covariance(wide_frame(returns))
    per_date = out.group_by("date", maintain_order=True).agg(pl.col("covariance").null_count())
    # default min_periods = K + 1 = 5: the first 4 dates are null matrices
    assert per_date.get_column("covariance").to_list()[:6] == [16] * 4 + [0, 0]
    last = pf.risk.factor_covariance(wide_frame(returns), dates="last")
    assert last.equals(out.tail(16))
    some = [date(2020, 1, 11), date(2020, 1, 3)]
    picked = pf.risk.factor_covariance(wide_frame(returns), dates=some)
    assert picked.get_column("date").unique().sort().to_list() == sorted(some)
    assert picked.equals(out.filter(pl.col("date").is_in(some)))


def test_presets_and_overrides(returns):
    fr = wide_frame(returns)
    use4l = pf.risk.factor_covariance(fr, preset="USE4L", dates="last")
    explicit = pf.risk.factor_covariance(
        fr, half_life_vol=252, half_life_corr=504, nw_lags_vol=5, nw_lags_corr=2, dates="last"
    )
    assert use4l.equals(explicit)
    override = pf.risk.factor_covariance(fr, preset="USE4L", nw_lags_vol=0, dates="last")
    plain = pf.risk.factor_covariance(
        fr, half_life_vol=252, half_life_corr=504, nw_lags_corr=2, dates="last"
    )
    assert override.equals(plain)
    assert pf.risk.PRESETS["hsr"] == {
        "half_life_vol": 42, "half_life_corr": 200, "nw_lags_vol": 0, "nw_lags_corr": 0,
    }  # fmt: skip


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(6, 40), st.integers(1, 6)),
    half_lives=st.tuples(st.floats(1.0, 100.0), st.floats(1.0, 500.0)),
    lags=st.tuples(st.integers(0, 4), st.integers(0, 4)),
)
def test_symmetric_psd(seed, shape, half_lives, lags):
    t, k = shape
    (hl_vol, hl_corr), (lags_vol, lags_corr) = half_lives, lags
    x = np.random.default_rng(seed).standard_t(df=3, size=(t, k)) * 0.02
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataLossWarning)  # projections are allowed here
        out = pf.risk.factor_covariance(
            wide_frame(x, [f"f{i}" for i in range(k)]), half_life_vol=hl_vol,
            half_life_corr=hl_corr, nw_lags_vol=lags_vol, nw_lags_corr=lags_corr,
            min_periods=1,
        )  # fmt: skip
    m = matrices(out, k)
    assert np.isfinite(m).all()
    np.testing.assert_array_equal(m, m.transpose(0, 2, 1))
    eig = np.linalg.eigvalsh(m)
    assert (eig[:, 0] >= -1e-12 * np.maximum(eig[:, -1], 1e-300)).all()


def test_indefinite_newey_west_is_projected_with_a_warning():
    # a short history, nearly collinear factors and a short half-life: with exponential
    # weights the Bartlett terms are no longer guaranteed PSD
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 3))
    x[:, 2] = x[:, 0] + x[:, 1] + 1e-3 * rng.normal(size=8)
    with pytest.warns(DataLossWarning, match="projected"):
        out = pf.risk.factor_covariance(
            wide_frame(x, ["a", "b", "c"]), half_life_corr=1, nw_lags_corr=3, min_periods=1
        )
    eig = np.linalg.eigvalsh(matrices(out, 3))
    assert (eig[:, 0] >= -1e-12 * eig[:, -1]).all()


def test_round_trip_of_the_covariance_layout(returns):
    out = pf.risk.factor_covariance(long_frame(returns))
    stack = _input.covariance_stack(out)
    assert stack.factors == FACTORS
    assert _input.covariance_frame(stack).equals(out)
    one = out.filter(pl.col("date") == pl.col("date").max()).drop("date")
    single = _input.covariance_stack(one)
    assert single.dates is None
    assert _input.covariance_frame(single).equals(one)


def test_errors(returns):
    fr = wide_frame(returns)
    long = long_frame(returns)
    with pytest.raises(DuplicateKeyError, match="repeat"):
        pf.risk.factor_covariance(pl.concat([fr.head(3), fr.slice(2)]))
    with pytest.raises(DuplicateKeyError, match="repeated"):
        pf.risk.factor_covariance(pl.concat([long.head(3), long.slice(2)]))
    # missing returns (gaps, nulls, NaN) are estimated pairwise:
    # tests/risk/test_missing_factor_returns.py; an infinite return is an error
    inf = fr.with_columns(pl.when(pl.col("date") == date(2020, 1, 7)).then(float("inf"))
                          .otherwise(pl.col("tech")).alias("tech"))  # fmt: skip
    with pytest.raises(InvalidDataError, match="'tech' on 2020-01-07"):
        pf.risk.factor_covariance(inf)
    with pytest.raises(ValueError, match="half_life_vol must be positive"):
        pf.risk.factor_covariance(fr, half_life_vol=-5)
    with pytest.raises(ValueError, match="half_life_corr must be positive"):
        pf.risk.factor_covariance(fr, half_life_corr=0)
    with pytest.raises(ValueError, match="nw_lags_vol must be a non-negative integer"):
        pf.risk.factor_covariance(fr, nw_lags_vol=-1)
    with pytest.raises(ValueError, match="preset"):
        pf.risk.factor_covariance(fr, preset="USE5")  # type: ignore[arg-type]
    with pytest.raises(InvalidDataError, match="not in the factor returns"):
        pf.risk.factor_covariance(fr, dates=[date(1999, 1, 1)])
    null_date = pl.when(pl.int_range(pl.len()) == 0).then(None).otherwise(pl.col("date"))
    with pytest.raises(InvalidDataError, match="have null 'date' values; drop those rows"):
        pf.risk.factor_covariance(fr.with_columns(null_date.alias("date")))
    null_factor = pl.when(pl.col("factor") == "size").then(None).otherwise(pl.col("factor"))
    with pytest.raises(InvalidDataError, match="have null 'date' or 'factor' values"):
        pf.risk.factor_covariance(long.with_columns(null_factor.alias("factor")))
    with pytest.raises(ValueError, match="min_periods"):
        pf.risk.factor_covariance(fr, min_periods=0)
    with pytest.raises(ColumnNotFoundError, match="day"):
        pf.risk.factor_covariance(fr, date="day")
    with pytest.raises(SchemaError):
        pf.risk.factor_covariance(fr.with_columns(pl.col("mkt").cast(pl.String)))
    with pytest.raises(InsufficientDataError, match="empty"):
        pf.risk.factor_covariance(fr.head(0))


def test_rows_in_any_order_are_sorted_first(returns):
    # A small T x K table is put in date order, not refused: reversed rows, and the
    # factor-major frame that `unpivot` of a wide table gives.
    fr = wide_frame(returns)
    want = pf.risk.factor_covariance(fr)
    assert pf.risk.factor_covariance(fr.reverse()).equals(want)
    factor_major = fr.unpivot(index="date", variable_name="factor", value_name="factor_return")
    assert not factor_major.get_column("date").is_sorted()
    assert pf.risk.factor_covariance(factor_major).equals(want)
    shuffled = long_frame(returns).sample(fraction=1.0, shuffle=True, seed=3)
    got = pf.risk.factor_covariance(shuffled)
    # factors in their order of first appearance after the sort by date
    order = (
        shuffled.sort("date", maintain_order=True).get_column("factor").unique(maintain_order=True)
    )
    assert got.get_column("factor_1").unique(maintain_order=True).equals(order)
    keyed = want.select("date", "factor_1", "factor_2", "covariance")
    assert got.sort("date", "factor_1", "factor_2").equals(
        keyed.sort("date", "factor_1", "factor_2")
    )


def test_covariance_frames_are_the_result_in_pieces(returns, monkeypatch):
    # one pass over the history, a chunk of dates at a time (small chunks here):
    # the frames, concatenated, are factor_covariance's result, bit for bit
    monkeypatch.setattr(_ewm, "CHUNK_ELEMENTS", 40)
    opts = {"half_life_vol": 5, "half_life_corr": 10, "nw_lags_corr": 2}
    frames = list(covariance_frames(long_frame(returns), **opts))
    assert len(frames) > 3
    assert pl.concat(frames).equals(pf.risk.factor_covariance(long_frame(returns), **opts))
    dates = [f.get_column("date") for f in frames]
    assert all(a.max() < b.min() for a, b in itertools.pairwise(dates))
