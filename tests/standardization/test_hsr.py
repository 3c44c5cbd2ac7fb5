"""standardize() reproduces the hsr risk-model notebook's descriptor standardization.

The reference below restates, in wide pandas (dates x tickers), the steps of the
notebook's ``winsorize_and_standardize_descriptor``: rows with fewer than 25 names
having both a value and a cap are blanked; equal-weighted 0.1%/99.9% quantile clip
(linear); cap weights (negatives clipped to 0) normalized over valid values; clip at
the cap-weighted mean +- 3 cap-weighted population stds (a zero std disables the
clip); cap-weighted mean and std recomputed; z-score; a zero std gives NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest


def _cap_weights(caps: pd.DataFrame, valid: pd.DataFrame) -> pd.DataFrame:
    w = caps.where(valid).clip(lower=0.0)
    return w.div(w.sum(axis=1).replace(0.0, np.nan), axis=0)


def _cap_mean_std(x: pd.DataFrame, w: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    mean = (x * w).sum(axis=1)
    var = (w * x.sub(mean, axis=0) ** 2).sum(axis=1)
    return mean, np.sqrt(var)


def hsr_reference(x: pd.DataFrame, caps: pd.DataFrame, min_valid: int = 25) -> pd.DataFrame:
    x = x.astype(float).copy()
    support = (x.notna() & caps.notna()).sum(axis=1)
    x.loc[support < min_valid, :] = np.nan
    lo = x.quantile(0.001, axis=1, interpolation="linear")
    hi = x.quantile(0.999, axis=1, interpolation="linear")
    x = x.clip(lower=lo, upper=hi, axis=0)
    mean, std = _cap_mean_std(x, _cap_weights(caps, x.notna()))
    std = std.replace(0.0, np.nan)
    x = x.clip(lower=mean - 3 * std, upper=mean + 3 * std, axis=0)
    mean, std = _cap_mean_std(x, _cap_weights(caps, x.notna()))
    z = x.sub(mean, axis=0).div(std.replace(0.0, np.nan), axis=0)
    z.loc[support < min_valid, :] = np.nan
    return z


@pytest.mark.filterwarnings(
    "ignore::polars_factors.exceptions.DataLossWarning"
)  # asserted in test_errors.py
def test_standardize_reproduces_hsr(rng):
    n_dates, n_assets = 30, 60
    x = rng.standard_t(df=3, size=(n_dates, n_assets))
    x[rng.random(x.shape) < 0.1] = np.nan
    x[rng.random(x.shape) < 0.02] *= 40.0
    caps = rng.lognormal(2.0, 1.2, size=(n_dates, n_assets))
    caps[rng.random(caps.shape) < 0.05] = np.nan
    caps[rng.random(caps.shape) < 0.02] *= -1.0
    x[3, 20:] = np.nan  # date 3 has fewer than 25 valid names
    caps[5, : n_assets - 20] = np.nan
    dates = pd.RangeIndex(n_dates, name="date")
    tickers = pd.Index([f"T{i:02d}" for i in range(n_assets)], name="asset")
    wide_x = pd.DataFrame(x, index=dates, columns=tickers)
    wide_caps = pd.DataFrame(caps, index=dates, columns=tickers)
    expected = hsr_reference(wide_x, wide_caps)

    long = pl.DataFrame(
        {
            "date": np.repeat(np.arange(n_dates), n_assets),
            "asset": np.tile(tickers.to_numpy(), n_dates),
            "x": x.ravel(),
            "mcap": caps.ravel(),
        }
    ).with_columns(pl.col("x").fill_nan(None), pl.col("mcap").fill_nan(None))
    out = (
        long.lazy()
        .factors.standardize(
            "x",
            weights="mcap",
            std_weights="weighted",
            lower=0.001,
            upper=0.999,
            n_sigma=3.0,
            min_count=25,
            # the notebook counts negative caps as zero: skip the check that refuses them
            check_keys=False,
        )
        .collect(engine="streaming")
    )
    got = out["x"].to_numpy().astype(float).reshape(n_dates, n_assets)
    assert np.isnan(got[3]).all()
    assert np.isnan(expected.to_numpy()[3]).all()
    np.testing.assert_allclose(got, expected.to_numpy(), rtol=1e-12, atol=1e-12)
