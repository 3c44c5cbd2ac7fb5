"""factor_covariance with missing factor returns: pairwise EW Newey-West estimates.

Oracles: a plain loop over dates and pairs written from the formula (pairwise dates,
weights renormalized over them, lag terms over the dates where the current and the
lagged value are present), and pandas' pairwise ``ewm().cov(bias=True)`` (the
definition of skfolio's ``EWCovariance``, which is built on it; skfolio itself is not
a test dependency). Tolerances: 1e-12 relative to ``sqrt(F_ii F_jj)`` against the
loop (observed about 5e-14), 1e-11 relative against pandas.
"""

from __future__ import annotations

import math
import warnings
from datetime import date, timedelta

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import polars_factors as pf
from polars_factors.exceptions import DataLossWarning
from polars_factors.risk._linalg import _ewm, _pairwise
from polars_factors.risk.covariance import covariance_frames

# Unit-scale synthetic returns (N(0, 1) draws) look like percent returns to the
# units check (polars_factors._units); they are not what these tests are about.
pytestmark = pytest.mark.filterwarnings("ignore::polars_factors.UnitsWarning")

NAMES = ["mkt", "size", "value", "tech", "energy"]
RTOL = 1e-12


# ------------------------------------------------------------------------- oracle


def pair_nw(x: np.ndarray, t: int, half_life: float, lags: int, *, demean: bool = True):
    """Pairwise weighted Newey-West covariance at date t and the pairs' counts (loops)."""
    k = x.shape[1]
    lam = 1.0 if math.isinf(half_life) else 0.5 ** (1.0 / half_life)
    ok = ~np.isnan(x)
    v = np.full((k, k), np.nan)
    n = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            both = [s for s in range(t + 1) if ok[s, i] and ok[s, j]]
            n[i, j] = len(both)
            if not both:
                continue
            w = [lam ** (t - s) for s in range(t + 1)]
            total = sum(w[s] for s in both)
            mi = sum(w[s] * x[s, i] for s in both) / total if demean else 0.0
            mj = sum(w[s] * x[s, j] for s in both) / total if demean else 0.0
            acc = sum(w[s] * (x[s, i] - mi) * (x[s, j] - mj) for s in both) / total
            for lag in range(1, lags + 1):
                g = 0.0
                for s in range(lag, t + 1):
                    if ok[s, i] and ok[s - lag, j]:  # Gamma_l, entry (i, j)
                        g += w[s] * (x[s, i] - mi) * (x[s - lag, j] - mj)
                    if ok[s, j] and ok[s - lag, i]:  # Gamma_l', entry (i, j)
                        g += w[s] * (x[s, j] - mj) * (x[s - lag, i] - mi)
                acc += (1 - lag / (lags + 1)) * g / total
            v[i, j] = acc
    return v, n


def cov_oracle(x, t, *, hl_vol, hl_corr, lags_vol=0, lags_corr=0, demean=True, min_periods=1):
    """F = sigma rho sigma from the pairwise estimates; PSD projection by eigh; nulls."""
    var, _ = pair_nw(x, t, hl_vol, lags_vol, demean=demean)
    vol = np.sqrt(np.clip(np.diag(var), 0, None))
    c, n = pair_nw(x, t, hl_corr, lags_corr, demean=demean)
    c[n < min_periods] = np.nan
    idx = np.flatnonzero(np.isfinite(np.diag(c)))
    sub = c[np.ix_(idx, idx)]
    projected = False
    if idx.size and np.isfinite(sub).all():
        lam, vec = np.linalg.eigh(sub)
        if lam[0] < -1e-12 * max(abs(lam[-1]), 1e-300):
            projected = True
            sub = (vec * np.clip(lam, 0, None)) @ vec.T
            c[np.ix_(idx, idx)] = (sub + sub.T) / 2
    sd = np.sqrt(np.diag(c))
    with np.errstate(invalid="ignore", divide="ignore"):
        return c / np.outer(sd, sd) * np.outer(vol, vol), projected


def assert_close_to_oracle(got: np.ndarray, want: np.ndarray, rtol: float = RTOL) -> None:
    """Nulls at the same places; finite entries within rtol of sqrt(F_ii F_jj)."""
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = np.isfinite(want)
    scale = np.sqrt(np.abs(np.outer(np.diag(want), np.diag(want))))
    assert (np.abs(got - want)[ok] <= rtol * np.maximum(scale[ok], 1e-300)).all()


# ------------------------------------------------------------------------ helpers


def dates(n: int) -> list[date]:
    return [date(2020, 1, 1) + timedelta(days=i) for i in range(n)]


def wide(x: np.ndarray, names=NAMES) -> pl.DataFrame:
    """Wide frame; NaN in x become nulls (as cross_section gives them)."""
    frame = pl.DataFrame({"date": dates(x.shape[0]), **{n: x[:, i] for i, n in enumerate(names)}})
    return frame.fill_nan(None)


def stack(cov: pl.DataFrame, k: int) -> np.ndarray:
    return cov.get_column("covariance").fill_null(np.nan).to_numpy().reshape(-1, k, k)


def run(frame, **kw) -> tuple[pl.DataFrame, int]:
    """factor_covariance and how many projection warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = pf.risk.factor_covariance(frame, **kw)
    assert all(issubclass(w.category, DataLossWarning) for w in caught), caught
    return out, len(caught)


@pytest.fixture
def gappy(rng) -> np.ndarray:
    """Correlated, autocorrelated returns with an empty-industry run, a late start, holes."""
    t, k = 45, len(NAMES)
    x = rng.standard_t(df=5, size=(t, k)) @ rng.normal(size=(k, k)) * 0.01 + 0.002
    x[1:] += 0.3 * x[:-1]
    x[10:18, 3] = np.nan  # an industry without stocks for 8 dates
    x[:6, 4] = np.nan  # a late listing
    x[rng.random((t, k)) < 0.08] = np.nan  # scattered holes
    return x


# -------------------------------------------------------------------- the oracles

CASES = [(5, 5, 0, 0), (3, 20, 0, 0), (10, 40, 3, 1), (math.inf, 8, 2, 0), (7, math.inf, 0, 2)]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("demean", [True, False])
def test_against_the_pairwise_loop(gappy, case, demean):
    hl_vol, hl_corr, lags_vol, lags_corr = case
    k = len(NAMES)
    out, warned = run(
        wide(gappy), half_life_vol=hl_vol, half_life_corr=hl_corr, nw_lags_vol=lags_vol,
        nw_lags_corr=lags_corr, demean=demean, min_periods=3,
    )  # fmt: skip
    got = stack(out, k)
    n_projected = 0
    for t in range(gappy.shape[0]):
        want, projected = cov_oracle(
            gappy, t, hl_vol=hl_vol, hl_corr=hl_corr, lags_vol=lags_vol, lags_corr=lags_corr,
            demean=demean, min_periods=3,
        )  # fmt: skip
        n_projected += projected
        assert_close_to_oracle(got[t], want)
    assert warned == (n_projected > 0)


@pytest.mark.parametrize("holes", [False, True])
def test_same_half_life_is_pandas_pairwise_ewm(rng, gappy, holes):
    # pandas ewm(halflife, adjust=True, ignore_na=False).cov(bias=True) of a frame with
    # NaN: each pair over the dates where both are present, weights by age in dates
    h, k = 6.0, len(NAMES)
    if not holes:  # the empty industry and the late listing only
        gappy = rng.normal(size=gappy.shape) * 0.01
        gappy[10:18, 3] = np.nan
        gappy[:6, 4] = np.nan
    out, warned = run(wide(gappy), half_life_vol=h, half_life_corr=h, min_periods=1)
    got = stack(out, k)
    want = pd.DataFrame(gappy).ewm(halflife=h).cov(bias=True).to_numpy().reshape(-1, k, k)
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(want))
    # pandas does not project: compare the dates where its matrix is PSD
    compared = 0
    for t in range(want.shape[0]):
        if not np.isfinite(want[t]).all():
            continue
        eig = np.linalg.eigvalsh(want[t])
        if eig[0] < -1e-12 * eig[-1]:
            continue
        np.testing.assert_allclose(got[t], want[t], rtol=1e-11, atol=1e-17)
        compared += 1
    # scattered holes with a short half-life break PSD-ness on most dates
    assert compared > (2 if holes else 20)
    assert warned or not holes


def test_pairwise_kernel_on_complete_data_is_the_complete_kernel(rng):
    # the two kernels agree where nothing is missing (the complete one is kept for speed)
    x = rng.normal(size=(80, 4)) * 0.01 + 0.05
    keep = np.arange(80)
    opts = {"half_life_vol": 9.0, "half_life_corr": 30.0, "lags_vol": 3, "lags_corr": 2,
            "demean": True, "min_periods": 5}  # fmt: skip
    full = np.concatenate([b for _, b, _ in _ewm.factor_covariance_blocks(x, keep, **opts)])
    pair = np.concatenate([b for _, b, _ in _pairwise.factor_covariance_blocks(x, keep, **opts)])
    np.testing.assert_array_equal(np.isnan(full), np.isnan(pair))
    ok = np.isfinite(full)
    scale = np.abs(full[ok]).max()
    assert np.abs(full[ok] - pair[ok]).max() <= 1e-14 * scale


# ------------------------------------------------------------------- the semantics


def test_null_nan_and_absent_rows_are_all_missing(gappy):
    frame = wide(gappy)
    want, _ = run(frame, preset="hsr")
    as_nan = frame.with_columns(pl.col(NAMES).fill_null(float("nan")))
    long = frame.unpivot(index="date", variable_name="factor", value_name="factor_return")
    absent = long.drop_nulls("factor_return")  # no row at all for a missing return
    for other in (as_nan, long, absent, long.lazy()):
        got, _ = run(other, preset="hsr")
        assert got.equals(want)


def test_a_late_factor_has_null_rows_until_min_periods(gappy):
    x = np.where(np.isnan(gappy), 0.001, gappy)
    x[:20, 4] = np.nan  # only 'energy' has missing returns: listed on date 20
    out, _ = run(wide(x), half_life_vol=10, half_life_corr=20, min_periods=6)
    got = stack(out, len(NAMES))
    # 'energy' has 6 returns from date 25: null row and column before, numbers after
    assert np.isnan(got[:25, 4, :]).all()
    assert np.isnan(got[:25, :, 4]).all()
    assert np.isfinite(got[25:]).all()
    # the other factors are not held back by it
    assert np.isfinite(got[5:25, :4, :4]).all()
    assert np.isnan(got[:5]).all()


def test_pairs_that_never_overlap_are_null():
    x = np.full((30, 3), np.nan)
    rng = np.random.default_rng(5)
    x[:, 0] = rng.normal(size=30)
    x[:15, 1] = rng.normal(size=15)  # a factor that ends
    x[15:, 2] = rng.normal(size=15)  # and one that begins
    x *= 0.01  # decimals: `run` records every warning, and unit-scale values look like percent
    out, _ = run(wide(x, ["a", "b", "c"]), half_life_vol=5, half_life_corr=10, min_periods=3)
    got = stack(out, 3)[-1]
    assert np.isnan(got[1, 2])
    assert np.isnan(got[2, 1])
    assert np.isfinite(np.diag(got)).all()
    assert np.isfinite(got[0]).all()


def test_a_factor_without_any_return_is_null(gappy):
    x = gappy.copy()
    x[:, 2] = np.nan
    out, _ = run(wide(x), preset="hsr", min_periods=4)
    got = stack(out, len(NAMES))
    assert np.isnan(got[:, 2, :]).all()
    assert np.isnan(got[:, :, 2]).all()
    rest = [0, 1, 3, 4]
    again, _ = run(wide(x).drop("value"), preset="hsr", min_periods=4)
    np.testing.assert_array_equal(got[:, rest][:, :, rest], stack(again, 4))


def test_volatility_uses_the_factor_own_dates(gappy):
    # the variance of a factor does not depend on where the others are missing
    x = gappy.copy()
    y = x.copy()
    y[20:30, 0] = np.nan  # more gaps in another factor
    opts = {"half_life_vol": 8, "half_life_corr": 16, "nw_lags_vol": 2, "min_periods": 3}
    a, _ = run(wide(x), **opts)
    b, _ = run(wide(y), **opts)
    var_a = np.einsum("dii->di", stack(a, 5))[:, 1:]
    var_b = np.einsum("dii->di", stack(b, 5))[:, 1:]
    np.testing.assert_allclose(var_a, var_b, rtol=1e-13, equal_nan=True)


def test_indefinite_pairwise_matrix_is_projected_with_a_warning():
    # three factors observed in disjoint-ish pairs: the pairwise correlations (+1, +1,
    # -1 on different dates) are not those of any joint distribution
    rng = np.random.default_rng(1)
    z = rng.normal(size=40)
    x = np.full((40, 3), np.nan)
    x[:, 0] = z
    x[:20, 1] = z[:20] + 0.01 * rng.normal(size=20)
    x[20:, 2] = z[20:] + 0.01 * rng.normal(size=20)
    x[:20, 2] = -z[:20]  # c = -a when b is present (= a), c = +a later
    with pytest.warns(DataLossWarning, match="pairwise estimates made .* indefinite"):
        out = pf.risk.factor_covariance(
            wide(x, ["a", "b", "c"]), half_life_vol=30, half_life_corr=30, min_periods=3
        )
    got = stack(out, 3)
    fine = np.isfinite(got).all(axis=(1, 2))
    eig = np.linalg.eigvalsh(got[fine])
    assert (eig[:, 0] >= -1e-10 * eig[:, -1]).all()
    for t in (25, 39):
        want, projected = cov_oracle(x, t, hl_vol=30, hl_corr=30, min_periods=3)
        assert projected
        assert_close_to_oracle(got[t], want)


def test_covariance_frames_in_pieces_with_missing(gappy, monkeypatch):
    monkeypatch.setattr(_ewm, "CHUNK_ELEMENTS", 60)
    opts = {"half_life_vol": 5, "half_life_corr": 10, "nw_lags_corr": 2, "min_periods": 4}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataLossWarning)
        frames = list(covariance_frames(wide(gappy), **opts))
        whole = pf.risk.factor_covariance(wide(gappy), **opts)
    assert len(frames) > 3
    assert pl.concat(frames).equals(whole)


def test_no_look_ahead_and_dates_with_missing(gappy):
    t = 25
    base, _ = run(wide(gappy), preset="USE4S", min_periods=3)
    altered = gappy.copy()
    altered[t + 1 :] = altered[t + 1 :] * 5 - 0.1
    altered[t + 1 :, 1] = np.nan
    again, _ = run(wide(altered), preset="USE4S", min_periods=3)
    a, b = stack(base, 5), stack(again, 5)
    np.testing.assert_array_equal(a[: t + 1], b[: t + 1])
    last, _ = run(wide(gappy), preset="USE4S", min_periods=3, dates="last")
    assert last.equals(base.tail(25))


def test_empty_industry_from_cross_section_feeds_the_risk_model(rng):
    # the library's own flow: an industry without stocks on some dates gives a null
    # factor return (by design), which the covariance and RiskModel.fit now accept
    n_dates, n_assets = 40, 24
    rows = [(d, a) for d in range(n_dates) for a in range(n_assets)]
    sector = [("x", "y", "z")[a % 3] for _, a in rows]
    # no 'z' stock on dates 10..14 (delisted, then back)
    keep = [not (s == "z" and 10 <= d < 15) for (d, _), s in zip(rows, sector, strict=True)]
    panel = pl.DataFrame(
        {
            "date": [d for d, _ in rows],
            "asset": [f"A{a:02d}" for _, a in rows],
            "sector": sector,
            "size": rng.normal(size=len(rows)),
            "ret": rng.normal(scale=0.02, size=len(rows)),
        }
    ).filter(pl.Series(keep))
    res = pf.cross_section(panel, "ret", "size", industry="sector", country=True)
    fr = res.factor_returns
    assert (
        fr.filter(pl.col("factor") == "z", pl.col("date").is_between(10, 14))
        .get_column("factor_return")
        .is_null()
        .all()
    )
    opts = {"half_life_vol": 10, "half_life_corr": 20, "min_periods": 6}
    # with two industries left, the Barra constraint makes x = -y exactly on those
    # dates: the pairwise estimates across the gap are slightly indefinite
    with pytest.warns(DataLossWarning, match="pairwise estimates"):
        cov = pf.risk.factor_covariance(fr, **opts)
    assert cov.filter(pl.col("date") == 39).get_column("covariance").null_count() == 0
    with pytest.warns(DataLossWarning, match="pairwise estimates"):
        model = pf.risk.RiskModel.fit(
            panel, res, exposures="size", industry="sector", country=True, covariance=opts,
            specific={"half_life": 10},
        )  # fmt: skip
    assert model.factors == ("size", "country", "x", "y", "z")
    eig = np.linalg.eigvalsh(model.covariance.get_column("covariance").to_numpy().reshape(5, 5))
    assert eig[0] >= -1e-12 * eig[-1]


# ---------------------------------------------------------------------- property


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(8, 30), st.integers(1, 5)),
    missing=st.floats(0.0, 0.4),
    half_lives=st.tuples(st.floats(1.0, 60.0), st.floats(1.0, 200.0)),
    lags=st.tuples(st.integers(0, 3), st.integers(0, 3)),
)
def test_symmetric_psd_and_complete_when_nothing_is_missing(seed, shape, missing, half_lives, lags):
    t, k = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_t(df=3, size=(t, k)) * 0.02
    names = [f"f{i}" for i in range(k)]
    holes = x.copy()
    holes[rng.random((t, k)) < missing] = np.nan
    opts = {"half_life_vol": half_lives[0], "half_life_corr": half_lives[1],
            "nw_lags_vol": lags[0], "nw_lags_corr": lags[1], "min_periods": 2}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataLossWarning)  # projections are allowed here
        got = stack(pf.risk.factor_covariance(wide(holes, names), **opts), k)
        full = stack(pf.risk.factor_covariance(wide(x, names), **opts), k)
    np.testing.assert_array_equal(got, got.transpose(0, 2, 1))
    for m in got:
        block = np.flatnonzero(np.isfinite(np.diag(m)))
        sub = m[np.ix_(block, block)]
        if block.size and np.isfinite(sub).all():
            eig = np.linalg.eigvalsh(sub)
            assert eig[0] >= -1e-10 * max(eig[-1], 1e-300)
    if not np.isnan(holes).any():
        np.testing.assert_array_equal(got, full)
    # every pair with enough common dates has a number, the others are null
    present = (~np.isnan(holes)).astype(float)
    counts = np.cumsum(np.einsum("ti,tj->tij", present, present), axis=0)
    np.testing.assert_array_equal(np.isnan(got), counts < 2)
