"""Standardization transforms: Hypothesis properties (per-date invariants, row preservation)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import polars_factors as pf

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
# Weights as market caps are: missing, zero, or of a sane size (negative weights raise:
# tests/bad_inputs/test_consistency.py).
# (A weight of 1e-15 next to weights of 1 makes the weighted moments ill-conditioned
# beyond any fixed tolerance.)
weight = st.one_of(
    st.none(),
    st.just(0.0),
    st.floats(min_value=1e-3, max_value=1e4, allow_nan=False),
)


@st.composite
def panels(draw: st.DrawFn) -> pl.DataFrame:
    n_dates = draw(st.integers(1, 4))
    dates, assets, xs, ws = [], [], [], []
    for d in range(n_dates):
        k = draw(st.integers(1, 12))
        for a in range(k):
            dates.append(d)
            assets.append(a)
            xs.append(draw(st.one_of(st.none(), st.just(float("nan")), finite)))
            ws.append(draw(weight))
    order = draw(st.permutations(range(len(dates))))
    df = pl.DataFrame(
        {"date": dates, "asset": assets, "x": xs, "w": ws},
        schema={"date": pl.Int64, "asset": pl.Int64, "x": pl.Float64, "w": pl.Float64},
    )
    return df[list(order)]


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _per_date(out: pl.DataFrame, col: str, w: str | None) -> pl.DataFrame:
    wexpr = (
        pl.when(pl.col(w).is_finite() & (pl.col(w) > 0) & pl.col(col).is_not_null())
        .then(pl.col(w))
        .otherwise(0.0)
        if w
        else pl.lit(1.0)
    )
    return (
        out.filter(pl.col(col).is_not_null())
        .with_columns(_w=wexpr)
        .group_by("date")
        .agg(
            ((pl.col(col) * pl.col("_w")).sum() / pl.col("_w").sum()).alias("wmean"),
            pl.col(col).std(ddof=0).alias("std"),
            ((pl.col(col).pow(2) * pl.col("_w")).sum() / pl.col("_w").sum()).alias("wvar_about_0"),
        )
    )


@SETTINGS
@pytest.mark.filterwarnings("ignore::polars_factors.DataLossWarning")
@given(df=panels(), weighted=st.booleans(), lazy=st.booleans())
def test_zscore_weighted_mean_zero_std_one(df, weighted, lazy):
    w = "w" if weighted else None
    frame = df.lazy() if lazy else df
    out = pf.zscore(frame, "x", weights=w, check_keys=True)
    out = out.collect(engine="streaming") if lazy else out
    assert out.height == df.height
    assert out.drop("x").equals(df.drop("x"))
    stats = _per_date(out, "x", w)
    np.testing.assert_allclose(stats["wmean"].to_numpy(), 0.0, atol=1e-9)
    np.testing.assert_allclose(stats["std"].to_numpy(), 1.0, rtol=1e-9)


@pytest.mark.filterwarnings(
    "ignore::polars_factors.exceptions.DataLossWarning"
)  # asserted in test_errors.py
@SETTINGS
@given(df=panels())
def test_zscore_weighted_std_is_one_in_the_weighted_norm(df):
    out = df.lazy().factors.zscore("x", weights="w", std_weights="weighted").collect()
    stats = _per_date(out, "x", "w")
    np.testing.assert_allclose(stats["wmean"].to_numpy(), 0.0, atol=1e-9)
    np.testing.assert_allclose(stats["wvar_about_0"].to_numpy(), 1.0, rtol=1e-9)


@SETTINGS
@given(
    df=panels(),
    bounds=st.tuples(st.floats(0.0, 0.5), st.floats(0.5, 1.0)).filter(lambda b: b[0] < b[1]),
)
def test_winsorized_values_within_quantile_bounds(df, bounds):
    lower, upper = bounds
    out = df.lazy().factors.winsorize("x", lower=lower, upper=upper).collect(engine="streaming")
    assert out.height == df.height
    joined = df.with_columns(out["x"].alias("clipped"), pl.col("x").fill_nan(None))
    for _, group in joined.group_by("date"):
        v = group["x"].drop_nulls().to_numpy()
        c = group["clipped"].drop_nulls().to_numpy()
        assert len(v) == len(c)
        if len(v):
            lo, hi = np.quantile(v, [lower, upper])
            assert (c >= lo - 1e-9 * (1 + abs(lo))).all()
            assert (c <= hi + 1e-9 * (1 + abs(hi))).all()


@SETTINGS
@pytest.mark.filterwarnings("ignore::polars_factors.DataLossWarning")
@given(df=panels(), gaussian=st.booleans())
def test_rank_in_open_unit_interval_and_monotone(df, gaussian):
    out = df.factors.rank("x", gaussian=gaussian, suffix="_r")
    assert out.height == df.height
    clean = out.filter(pl.col("x").is_finite())
    if not gaussian:
        assert clean.select(((pl.col("x_r") > 0) & (pl.col("x_r") < 1)).all()).item() in (
            True,
            None,
        )
    ordered = clean.sort("date", "x")
    diffs = ordered.select(pl.col("x_r").diff().over("date")).to_series().drop_nulls()
    assert (diffs >= 0).all()


@pytest.mark.filterwarnings(
    "ignore::polars_factors.exceptions.DataLossWarning"
)  # asserted in test_errors.py
@SETTINGS
@given(df=panels())
def test_standardize_preserves_rows_and_order(df):
    out = df.lazy().factors.standardize("x", weights="w", min_count=2).collect(engine="streaming")
    assert out.select("date", "asset", "w").equals(df.select("date", "asset", "w"))
    assert not out["x"].is_nan().any()
