"""betas: Hypothesis properties (invariances of least squares) and real S&P 500 data."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.regression.rolling import RollingOLS
from statsmodels.stats.sandwich_covariance import S_hac_simple

import polars_factors as pf
from tests.conftest import DATA_DIR
from tests.regression.test_betas import (
    FACTORS,
    NAMES,
    SE_NAMES,
    assert_columns_close,
    make_ts_panel,
)

T_NAMES = [f"{n}_t_stat" for n in NAMES]
# Windows of at least 8 observations: with as few observations as parameters a fit is
# nearly exact and badly conditioned, and normal equations (which square the condition
# number) then reproduce it only to ~1e-7, not to the tolerances below.
WINDOWS = st.sampled_from(
    [
        {"window": None},
        {"window": 12, "min_periods": 8},
        {"window": 20, "min_periods": 8},
        {"window": "expanding", "min_periods": 8},
        {"window": "21d", "min_periods": 8},
        {"window": 15, "half_life": 6.0, "min_periods": 8},
        {"window": None, "half_life": 20.0},
    ]
)
SETTINGS = settings(max_examples=25, deadline=None)


def panel_of(seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return make_ts_panel(rng, n_dates=int(rng.integers(20, 70)), n_assets=3, gappy=True)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), kwargs=WINDOWS, shift=st.floats(-0.5, 0.5))
def test_shifting_returns_moves_only_alpha(seed: int, kwargs: dict, shift: float) -> None:
    panel = panel_of(seed)
    base = pf.betas(panel, "ret", FACTORS, **kwargs)
    moved = pf.betas(panel.with_columns(pl.col("ret") + shift), "ret", FACTORS, **kwargs)
    slopes = [f"beta_{f}" for f in FACTORS]
    assert_columns_close(moved, base, [*slopes, *SE_NAMES, "r2"], rtol=1e-7)
    expected = base.with_columns(pl.col("alpha") + shift)
    assert_columns_close(moved, expected, ["alpha"], rtol=1e-9)


# Returns scaled up to 1000x look like percent to the units check.
@pytest.mark.filterwarnings("ignore::polars_factors.UnitsWarning")
@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), kwargs=WINDOWS, scale=st.floats(1e-3, 1e3))
def test_scaling_returns_scales_estimates_not_t_stats(
    seed: int, kwargs: dict, scale: float
) -> None:
    panel = panel_of(seed)
    base = pf.betas(panel, "ret", FACTORS, **kwargs)
    scaled = pf.betas(panel.with_columns(pl.col("ret") * scale), "ret", FACTORS, **kwargs)
    expected = base.with_columns(pl.col(*NAMES, *SE_NAMES) * scale)
    assert_columns_close(scaled, expected, [*NAMES, *SE_NAMES], rtol=1e-9)
    assert_columns_close(scaled, base, [*T_NAMES, "r2"], rtol=1e-7)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), kwargs=WINDOWS, scale=st.floats(1e-3, 1e3))
def test_scaling_the_weights_changes_nothing(seed: int, kwargs: dict, scale: float) -> None:
    panel = panel_of(seed)
    base = pf.betas(panel, "ret", FACTORS, weights="w", **kwargs)
    scaled = pf.betas(
        panel.with_columns(pl.col("w") * scale), "ret", FACTORS, weights="w", **kwargs
    )
    assert_columns_close(scaled, base, [*NAMES, *SE_NAMES, "r2"], rtol=1e-8)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), kwargs=WINDOWS)
def test_each_asset_is_fitted_on_its_own(seed: int, kwargs: dict) -> None:
    # Interleaving other assets (or removing them) does not change an asset's fits.
    panel = panel_of(seed)
    together = pf.betas(panel, "ret", FACTORS, **kwargs)
    for asset in panel["asset"].unique().to_list():
        alone = pf.betas(panel.filter(pl.col("asset") == asset), "ret", FACTORS, **kwargs)
        mine = together.filter(pl.col("asset") == asset)
        assert_columns_close(mine, alone, [*NAMES, *SE_NAMES, "r2", "n_obs"], rtol=1e-10)


# Short expanding windows of the random panels can be singular: reported, not tested here.
@pytest.mark.filterwarnings("ignore:.*fits became null:polars_factors.DataLossWarning")
@SETTINGS
@given(seed=st.integers(0, 2**32 - 1))
def test_a_window_as_long_as_the_history_ends_at_the_full_sample_fit(seed: int) -> None:
    panel = panel_of(seed)
    full = pf.betas(panel, "ret", FACTORS)
    for kwargs in [{"window": "expanding"}, {"window": panel.height}]:
        last = (
            pf.betas(panel, "ret", FACTORS, **kwargs)
            .with_row_index("_r")
            .group_by("asset")
            .agg(pl.all().sort_by("_r").last())
            .sort("asset")
        )
        if isinstance(kwargs["window"], int):
            # A fixed window longer than the asset's history never fills.
            assert last["alpha"].is_null().all()
            continue
        assert_columns_close(last, full, [*NAMES, *SE_NAMES, "r2", "n_obs"], rtol=1e-9)


# --- real data: S&P 500 daily returns ------------------------------------------------

PRICES = DATA_DIR / "sp500_5yr" / "prices.parquet"
needs_data = pytest.mark.skipif(not PRICES.exists(), reason="../shared/data is not available")


def sp500_panel(tickers: list[str]) -> pl.DataFrame:
    """Daily simple returns of a few tickers with three real factors of the same panel.

    The factors are the equal-weighted return of all 505 stocks and two long-short
    spreads (tickers A-K minus L-Z; tickers of at most three letters minus longer
    ones): real, correlated daily series that are not collinear. (Normal equations
    square the condition number of the regressors; long-only halves of the market
    next to the market itself would be nearly collinear.)
    """
    prices = (
        pl.scan_parquet(PRICES)
        .select("date", pl.col("Name").alias("asset"), "close")
        .sort("asset", "date")
        .with_columns(ret=pl.col("close").pct_change().over("asset"))
    )
    half = pl.col("asset") < "L"
    short = pl.col("asset").str.len_chars() <= 3
    factors = (
        prices.group_by("date")
        .agg(
            mkt=pl.col("ret").mean(),
            smb=pl.col("ret").filter(half).mean() - pl.col("ret").filter(~half).mean(),
            hml=pl.col("ret").filter(short).mean() - pl.col("ret").filter(~short).mean(),
        )
        .sort("date")
    )
    panel = prices.filter(pl.col("asset").is_in(tickers)).select("date", "asset", "ret")
    return pf.join_factors(panel, factors).sort("date", "asset").collect()


@needs_data
def test_real_rolling_betas_match_statsmodels() -> None:
    # Six tickers with gaps or split jumps among them; windows with nulls included.
    panel = sp500_panel(["AAPL", "DISCA", "LNT", "NWL", "XOM", "BHF"])
    out = pf.betas(panel.lazy(), "ret", FACTORS, window=126, min_periods=60).collect(
        engine="streaming"
    )
    full = pf.betas(panel, "ret", FACTORS)
    for asset in panel["asset"].unique().to_list():
        d = panel.filter(pl.col("asset") == asset)
        x = sm.add_constant(d.select(FACTORS).to_pandas())
        y = d["ret"].to_pandas()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = RollingOLS(y, x, window=126, min_nobs=60).fit(method="pinv")
        want = pl.DataFrame(
            {
                **{n: res.params.iloc[:, j].to_numpy() for j, n in enumerate(NAMES)},
                **{n: res.bse.iloc[:, j].to_numpy() for j, n in enumerate(SE_NAMES)},
                "r2": res.rsquared.to_numpy(),
            }
        ).fill_nan(None)
        mine = out.filter(pl.col("asset") == asset)
        assert_columns_close(mine, want, [*NAMES, *SE_NAMES, "r2"], rtol=1e-8)
        ok = y.notna()
        ols = sm.OLS(y[ok], x[ok]).fit()
        row = full.filter(pl.col("asset") == asset).row(0, named=True)
        np.testing.assert_allclose([row[n] for n in NAMES], ols.params, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose([row[n] for n in SE_NAMES], ols.bse, rtol=1e-10)


@needs_data
def test_real_robust_betas_match_statsmodels() -> None:
    # Real daily returns are heteroskedastic and the robust errors differ from the
    # classical ones; each must still be statsmodels' on the same rows.
    panel = sp500_panel(["AAPL", "NWL", "XOM"])
    hc0 = pf.betas(panel.lazy(), "ret", FACTORS, window=126, cov_type="HC0").collect()
    hac = pf.betas(panel, "ret", FACTORS, window=126, cov_type="HAC", nw_lags=5)
    full = pf.betas(panel, "ret", FACTORS, cov_type="HAC", nw_lags=5)
    for asset in panel["asset"].unique().to_list():
        d = panel.filter(pl.col("asset") == asset)
        x = sm.add_constant(d.select(FACTORS).to_numpy())
        y = d["ret"].fill_null(np.nan).to_numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = RollingOLS(y, x, window=126).fit(method="pinv", cov_type="HCCM")
        want = pl.DataFrame({n: res.bse[:, j] for j, n in enumerate(SE_NAMES)}).fill_nan(None)
        assert_columns_close(hc0.filter(pl.col("asset") == asset), want, SE_NAMES, rtol=1e-8)
        # HAC: every 50th window without a missing return (lags count rows).
        mine = hac.filter(pl.col("asset") == asset)
        for end in range(125, len(y), 50):
            rows = slice(end - 125, end + 1)
            if np.isnan(y[rows]).any():
                continue
            fit = sm.OLS(y[rows], x[rows]).fit(cov_type="HAC", cov_kwds={"maxlags": 5})
            got = [mine.row(end, named=True)[n] for n in SE_NAMES]
            np.testing.assert_allclose(got, fit.bse, rtol=1e-8)
        # Full sample: statsmodels' HAC meat (S_hac_simple) on the scores of every row,
        # zero on the rows with a missing return (a lag step, no score).
        ok = np.isfinite(y) & np.isfinite(x).all(axis=1)
        fit = sm.OLS(y[ok], x[ok]).fit()
        scores = np.zeros_like(x)
        scores[ok] = fit.resid[:, None] * x[ok]
        bread = np.linalg.inv(x[ok].T @ x[ok])
        se = np.sqrt(np.diag(bread @ S_hac_simple(scores, nlags=5) @ bread))
        row = full.filter(pl.col("asset") == asset).row(0, named=True)
        np.testing.assert_allclose([row[n] for n in SE_NAMES], se, rtol=1e-8)
        assert (~ok).any()  # a missing return (the first) is among the rows
