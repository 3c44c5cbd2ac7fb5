"""Standardization transforms: tiny cases computed by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import math

import polars as pl
import pytest

import polars_factors as pf


def _one_date(**cols):
    n = len(next(iter(cols.values())))
    return pl.DataFrame({"date": [1] * n, "asset": [f"a{i}" for i in range(n)], **cols})


def test_quantile_clip_linear_interpolation():
    # values 1..5 and 100: 10% quantile at position 0.1*5 = 0.5 -> 1.5;
    # 90% at position 4.5 -> 5 + 0.5*(100-5) = 52.5.
    df = _one_date(x=[1.0, 2.0, 3.0, 4.0, 5.0, 100.0])
    out = df.factors.winsorize("x", lower=0.1, upper=0.9)
    assert out["x"].to_list() == [1.5, 2.0, 3.0, 4.0, 5.0, 52.5]


def test_sigma_clip_weighted_mean():
    # x = [0, 0, 0, 10], w = [1, 1, 1, 7]: weighted mean 7; equal population std:
    # mean 2.5, deviations -2.5 x3, 7.5 -> var = (3*6.25 + 56.25)/4 = 18.75, std 4.3301.
    # Bounds 7 +- 1*4.3301 = [2.6699, 11.3301]: zeros clip up to 2.6699.
    df = _one_date(x=[0.0, 0.0, 0.0, 10.0], w=[1.0, 1.0, 1.0, 7.0])
    out = df.factors.winsorize("x", method="sigma", n_sigma=1.0, weights="w")
    lo = 7 - math.sqrt(18.75)
    assert out["x"].to_list() == pytest.approx([lo, lo, lo, 10.0], abs=1e-14)


def test_mad_clip():
    # x = [1, 2, 3, 4, 100]: median 3, |x-3| = [2,1,0,1,97] -> MAD 1;
    # n_sigma=1: bounds 3 +- 1.4826 -> [1.5174, 4.4826].
    df = _one_date(x=[1.0, 2.0, 3.0, 4.0, 100.0])
    out = df.factors.winsorize("x", method="mad", n_sigma=1.0)
    assert out["x"].to_list() == pytest.approx([1.5174, 2.0, 3.0, 4.0, 4.4826], abs=1e-14)


def test_zscore_cap_weighted_mean_equal_std():
    # x = [1, 2, 6], w = [1, 1, 2]: weighted mean (1 + 2 + 12)/4 = 3.75;
    # equal std: mean 3, squared deviations 4, 1, 9 -> sqrt(14/3).
    df = _one_date(x=[1.0, 2.0, 6.0], w=[1.0, 1.0, 2.0])
    out = df.factors.zscore("x", weights="w")
    s = math.sqrt(14 / 3)
    assert out["x"].to_list() == pytest.approx([-2.75 / s, -1.75 / s, 2.25 / s], abs=1e-14)


def test_zscore_weighted_std():
    # Same data, weighted std: sum w (x - 3.75)^2 / 4 = (7.5625 + 3.0625 + 2*5.0625)/4 = 5.1875.
    df = _one_date(x=[1.0, 2.0, 6.0], w=[1.0, 1.0, 2.0])
    out = df.factors.zscore("x", weights="w", std_weights="weighted")
    s = math.sqrt(5.1875)
    assert out["x"].to_list() == pytest.approx([-2.75 / s, -1.75 / s, 2.25 / s], abs=1e-14)


def test_negative_and_null_weights_count_as_zero():
    # w = [-5, None, 1, 1] -> effective [0, 0, 1, 1]: mean of x over the last two = 3.5.
    df = _one_date(x=[10.0, 20.0, 3.0, 4.0], w=[-5.0, None, 1.0, 1.0])
    # check_keys=False skips the check that refuses negative weights: they count as zero.
    out = df.factors.zscore("x", weights="w", std_weights="weighted", check_keys=False)
    # weighted std around 3.5 over the last two rows: 0.5
    assert out["x"].to_list() == pytest.approx([13.0, 33.0, -1.0, 1.0], abs=1e-14)


def test_rank_ties_average():
    # sorted 1, 2, 2, 4: ranks 1, 2.5, 2.5, 4; divided by n+1 = 5.
    df = _one_date(x=[2.0, 4.0, 1.0, 2.0, None])
    out = df.factors.rank("x")
    assert out["x"].to_list() == [0.5, 0.8, 0.2, 0.5, None]


def test_fill_missing_median_even_count():
    # median of 1, 2, 4, 10 is (2 + 4)/2 = 3
    df = _one_date(x=[1.0, 2.0, None, 4.0, 10.0, float("nan")])
    assert df.factors.fill_missing("x")["x"].to_list() == [1.0, 2.0, 3.0, 4.0, 10.0, 3.0]


def test_nan_is_missing_and_null_out():
    df = _one_date(x=[1.0, float("nan"), 3.0, None])
    out = df.factors.zscore("x")
    assert out["x"].to_list() == [-1.0, None, 1.0, None]


def test_standardize_min_count_nulls_whole_date():
    # Date 1 has 3 rows with value and weight, date 2 has 2 (one weight is null).
    df = pl.DataFrame(
        {
            "date": [1, 1, 1, 2, 2, 2],
            "asset": list("abcabc"),
            "x": [1.0, 2.0, 3.0, 1.0, 2.0, 3.0],
            "w": [1.0, 1.0, 1.0, 1.0, None, 1.0],
        }
    )
    with pytest.warns(pf.DataLossWarning, match="min_count=3"):
        out = df.factors.standardize("x", weights="w", min_count=3, lower=0.0, upper=1.0)
    s = math.sqrt(2 / 3)
    assert out["x"].to_list()[:3] == pytest.approx([-1 / s, 0.0, 1 / s], abs=1e-14)
    assert out["x"].to_list()[3:] == [None, None, None]
