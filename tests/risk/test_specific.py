"""Tests of ``polars_factors.risk.specific.specific_risk``."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.sandwich_covariance import S_hac_simple

from polars_factors.exceptions import (
    ColumnNotFoundError,
    DuplicateKeyError,
    SchemaError,
    UnsortedError,
    WeightError,
)
from polars_factors.risk.specific import shrink_specific_risk, specific_risk
from tests.oracle_risk_specific import shrink, ts_variance, ts_variance_last, ts_variance_one

Runner = Callable[[pl.DataFrame, Callable[..., object]], pl.DataFrame]


def messy_panel(
    rng: np.random.Generator,
    *,
    n_assets: int = 7,
    n_dates: int = 40,
    offset: float = 0.0,
) -> pl.DataFrame:
    """Ragged assets with gaps, null / NaN / inf residuals, rows interleaved at random.

    Each asset's dates increase, but the panel is not sorted by date.
    """
    queues: list[list[tuple[int, str, float | None, float | None]]] = []
    for a in range(n_assets):
        start = int(rng.integers(0, n_dates // 3))
        end = int(rng.integers(start + 1, n_dates + 1)) if a else n_dates  # one full history
        dates = [d for d in range(start, end) if rng.random() > 0.15]  # gaps
        u = offset + rng.standard_t(df=4, size=len(dates)) * rng.uniform(0.005, 0.05)
        rows: list[tuple[int, str, float | None, float | None]] = []
        for d, x in zip(dates, u, strict=True):
            r = rng.random()
            value: float | None = float(x)
            if r < 0.08:
                value = None
            elif r < 0.12:
                value = math.nan
            elif r < 0.13:
                value = math.inf if rng.random() < 0.5 else -math.inf
            size = float(rng.lognormal(2.0, 1.0)) if rng.random() > 0.1 else None
            rows.append((d, f"A{a}", value, size))
        queues.append(rows)
    out = []
    while any(queues):
        live = [q for q in queues if q]
        out.append(live[int(rng.integers(len(live)))].pop(0))
    return pl.DataFrame(
        out,
        schema={"date": pl.Int64, "asset": pl.String, "residual": pl.Float64, "mcap": pl.Float64},
        orient="row",
    )


def _max_rel_err(got: np.ndarray, want: np.ndarray, scale: float) -> float:
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    if not ok.any():
        return 0.0
    return float(np.max(np.abs(got[ok] - want[ok]) / np.maximum(np.abs(want[ok]), scale)))


def _values(out: pl.DataFrame) -> np.ndarray:
    return out["specific_var"].fill_null(np.nan).to_numpy()


# ---------------------------------------------------------------------------------
# Time series against the oracle


@pytest.mark.parametrize("half_life", [84.0, 3.0, 1.0, math.inf])
@pytest.mark.parametrize("nw_lags", [0, 1, 2, 5])
@pytest.mark.parametrize("demean", [True, False])
def test_time_series_matches_oracle(
    rng: np.random.Generator, half_life: float | None, nw_lags: int, demean: bool
) -> None:
    df = messy_panel(rng)
    for min_periods in (None, 1, 4):
        out = specific_risk(
            df,
            half_life=half_life,
            nw_lags=nw_lags,
            demean=demean,
            min_periods=min_periods,
            shrinkage=0.0,
        )
        assert out.columns == ["date", "asset", "specific_var"]
        assert out.schema["specific_var"] == pl.Float64
        assert out.select("date", "asset").equals(df.select("date", "asset"))
        want = ts_variance(
            df,
            half_life=half_life,
            nw_lags=nw_lags,
            min_periods=nw_lags + 2 if min_periods is None else min_periods,
            demean=demean,
        )
        # Relative error, floored at a tiny fraction of the typical variance.
        assert _max_rel_err(_values(out), want, scale=1e-8) < 1e-12


@pytest.mark.parametrize(
    ("half_life", "nw_lags", "offset"), [(84.0, 0, 0.0), (84.0, 2, 5.0), (math.inf, 2, 5.0)]
)
def test_long_history_is_accurate(
    rng: np.random.Generator, half_life: float | None, nw_lags: int, offset: float
) -> None:
    """3,000 rows, residuals far from zero: the shift by the first residual keeps precision."""
    n = 3000
    u = offset + 0.01 * rng.standard_normal(n)
    u[rng.random(n) < 0.05] = np.nan
    df = pl.DataFrame({"date": np.arange(n), "asset": ["a"] * n, "residual": u}).with_columns(
        pl.col("residual").fill_nan(None)
    )
    got = _values(specific_risk(df, half_life=half_life, nw_lags=nw_lags, shrinkage=0.0))
    for t in (10, 500, 1999, n - 1):
        want = ts_variance_last(u[: t + 1], half_life=half_life, nw_lags=nw_lags, demean=True)
        assert got[t] == pytest.approx(want, rel=1e-11)


@pytest.mark.parametrize("nw_lags", [1, 2, 5])
def test_equal_weights_newey_west_matches_statsmodels(
    rng: np.random.Generator, nw_lags: int
) -> None:
    n = 250
    u = np.cumsum(rng.standard_normal(n)) * 0.001 + rng.standard_normal(n) * 0.02
    df = pl.DataFrame({"date": np.arange(n), "asset": ["x"] * n, "residual": u})
    out = specific_risk(df, half_life=math.inf, nw_lags=nw_lags, shrinkage=0.0)
    # S_hac_simple returns the sum; cov_hac_simple divides it by the number of periods.
    want = float(np.asarray(S_hac_simple(u - u.mean(), nlags=nw_lags)).squeeze()) / n
    assert out["specific_var"][-1] == pytest.approx(want, rel=1e-12)


def test_hand_computed_newey_west() -> None:
    """u = 1, 3, -1 (equal weights, demeaned, one lag), worked out by hand."""
    df = pl.DataFrame({"date": [1, 2, 3], "asset": ["a"] * 3, "residual": [1.0, 3.0, -1.0]})
    out = specific_risk(df, half_life=math.inf, nw_lags=1, shrinkage=0.0, min_periods=1)
    # m = 1, deviations 0, 2, -2: G0 = 8/3, G1 = (2*0 + (-2)*2) / 3 = -4/3,
    # V = 8/3 + 2 * (1/2) * (-4/3) = 4/3. Row 2: m = 2, dev -1, 1: G0 = 1, G1 = -1/2, V = 1/2.
    assert out["specific_var"].to_list() == pytest.approx([0.0, 0.5, 4 / 3], rel=1e-14)


def test_vectorized_oracle_agrees_with_loop_oracle(rng: np.random.Generator) -> None:
    u = rng.standard_normal(60)
    u[rng.random(60) < 0.2] = np.nan
    for half_life, nw_lags, demean in ((5.0, 0, True), (None, 3, True), (2.0, 2, False)):
        loop = ts_variance_one(
            u, half_life=half_life, nw_lags=nw_lags, min_periods=1, demean=demean
        )
        last = ts_variance_last(u, half_life=half_life, nw_lags=nw_lags, demean=demean)
        assert last == pytest.approx(loop[-1], rel=1e-13)


def test_missing_residual_rows_keep_the_previous_estimate() -> None:
    df = pl.DataFrame(
        {"date": [1, 2, 3, 4], "asset": ["a"] * 4, "residual": [1.0, -1.0, None, math.nan]}
    )
    out = specific_risk(df, half_life=math.inf, shrinkage=0.0)
    assert out["specific_var"].to_list() == [None, 1.0, 1.0, 1.0]


# ---------------------------------------------------------------------------------
# Shrinkage


def _cross_section(sigma: list[float | None], size: list[float | None]) -> pl.DataFrame:
    """One row per asset whose variance (demean=False, one observation) is sigma**2."""
    return pl.DataFrame(
        {
            "date": [1] * len(sigma),
            "asset": [f"a{i}" for i in range(len(sigma))],
            "residual": sigma,
            "mcap": size,
        },
        schema={"date": pl.Int64, "asset": pl.String, "residual": pl.Float64, "mcap": pl.Float64},
    )


def test_shrinkage_hand_computed() -> None:
    sigma = [0.10, 0.20, 0.30, 0.40, 0.10, 0.60]
    size = [1.0, 2.0, 3.0, 4.0, 6.0, 5.0]
    q = 0.5
    df = _cross_section(sigma, size)
    out = specific_risk(
        df, half_life=math.inf, demean=False, min_periods=1, size="mcap", shrinkage=q, n_groups=2
    )
    # Size ranks: a0..a3 -> 1..4, a5 -> 5, a4 -> 6; 6 rows, 2 groups of 3.
    # Group 0 = a0, a1, a2; group 1 = a3, a5, a4.
    bar0 = (1 * 0.1 + 2 * 0.2 + 3 * 0.3) / 6  # 0.2333...
    delta0 = math.sqrt(((0.1 - bar0) ** 2 + (0.2 - bar0) ** 2 + (0.3 - bar0) ** 2) / 3)
    bar1 = (4 * 0.4 + 5 * 0.6 + 6 * 0.1) / 15  # 0.3466...
    delta1 = math.sqrt(((0.4 - bar1) ** 2 + (0.6 - bar1) ** 2 + (0.1 - bar1) ** 2) / 3)

    def sh(s: float, bar: float, delta: float) -> float:
        v = q * abs(s - bar) / (delta + q * abs(s - bar))
        return (v * bar + (1 - v) * s) ** 2

    want = [
        sh(0.1, bar0, delta0),
        sh(0.2, bar0, delta0),
        sh(0.3, bar0, delta0),
        sh(0.4, bar1, delta1),
        sh(0.1, bar1, delta1),
        sh(0.6, bar1, delta1),
    ]
    assert out["specific_var"].to_list() == pytest.approx(want, rel=1e-13)
    # Shrinkage moves every volatility toward its group mean.
    for s, v, bar in zip(sigma, out["specific_var"], [bar0] * 3 + [bar1] * 3, strict=True):
        assert abs(math.sqrt(v) - bar) <= abs(s - bar) + 1e-15


def test_shrinkage_skips_rows_without_size_or_variance() -> None:
    sigma = [0.1, 0.2, 0.3, 0.4, None, 0.5, 0.7]
    size = [1.0, 2.0, None, 0.0, 3.0, math.nan, 4.0]
    df = _cross_section(sigma, size)
    out = specific_risk(
        df, half_life=math.inf, demean=False, min_periods=1, size="mcap", shrinkage=0.2, n_groups=1
    )
    got = out["specific_var"].to_list()
    # Not shrunk: null / zero / NaN size; no variance (null residual).
    assert got[2] == pytest.approx(0.09, rel=1e-15)
    assert got[3] == pytest.approx(0.16, rel=1e-15)
    assert got[4] is None
    assert got[5] == pytest.approx(0.25, rel=1e-15)
    # One group of a0, a1, a6 (sizes 1, 2, 4).
    bar = (0.1 + 0.4 + 2.8) / 7
    delta = math.sqrt(((0.1 - bar) ** 2 + (0.2 - bar) ** 2 + (0.7 - bar) ** 2) / 3)
    for i, s in ((0, 0.1), (1, 0.2), (6, 0.7)):
        v = 0.2 * abs(s - bar) / (delta + 0.2 * abs(s - bar))
        assert got[i] == pytest.approx((v * bar + (1 - v) * s) ** 2, rel=1e-13)


def test_shrinkage_ties_and_groups_match_oracle(rng: np.random.Generator) -> None:
    """Several dates, unequal group sizes, tied sizes (broken by asset name)."""
    rows = []
    for d in range(4):
        n = int(rng.integers(5, 30))
        names = [f"z{i:02d}" for i in rng.permutation(40)[:n]]
        sizes = rng.choice([1.0, 2.0, 3.0, 7.5, 10.0], size=n)
        rows.extend(
            (d, a, float(s), float(c))
            for a, s, c in zip(names, rng.uniform(0.01, 0.1, n), sizes, strict=True)
        )
    df = pl.DataFrame(
        rows,
        schema={"date": pl.Int64, "asset": pl.String, "residual": pl.Float64, "mcap": pl.Float64},
        orient="row",
    )
    for n_groups in (1, 3, 10):
        out = specific_risk(
            df,
            half_life=math.inf,
            demean=False,
            min_periods=1,
            size="mcap",
            shrinkage=0.1,
            n_groups=n_groups,
            check_keys=False,  # an asset's dates need not be consecutive here
        )
        for d in range(4):
            mask = (df["date"] == d).to_numpy()
            part = df.filter(pl.Series(mask))
            # Each asset appears once per date but can repeat across dates: with
            # demean=False its variance averages its squared residuals so far.
            sig = np.sqrt(
                df.with_columns(
                    v=(pl.col("residual") ** 2).cum_sum().over("asset")
                    / pl.int_range(1, pl.len() + 1).over("asset")
                )
                .filter(pl.Series(mask))["v"]
                .to_numpy()
            )
            want = shrink(
                list(sig),
                part["mcap"].to_list(),
                part["asset"].to_list(),
                q=0.1,
                n_groups=n_groups,
            )
            got = out.filter(pl.Series(mask))["specific_var"].to_list()
            assert got == pytest.approx(want, rel=1e-12)


def test_shrinkage_off_when_zero_or_without_size(rng: np.random.Generator) -> None:
    df = messy_panel(rng)
    plain = specific_risk(df, shrinkage=0.5, n_groups=2)
    assert specific_risk(df, size="mcap", shrinkage=0.0, n_groups=2).equals(plain)
    assert not specific_risk(df, size="mcap", shrinkage=0.5, n_groups=2).equals(plain)
    # One asset per group (at most 7 assets a date, 10 groups): nothing moves, exactly.
    assert specific_risk(df, size="mcap", shrinkage=0.5, n_groups=10).equals(plain)


# ---------------------------------------------------------------------------------
# No look-ahead, engines


@pytest.mark.parametrize("size", [None, "mcap"])
def test_no_look_ahead(rng: np.random.Generator, size: str | None) -> None:
    df = messy_panel(rng)
    cut = 20
    changed = df.with_columns(
        pl.when(pl.col("date") > cut)
        .then(pl.col("residual") * 3.0 + 0.5)
        .otherwise(pl.col("residual"))
        .alias("residual"),
        pl.when(pl.col("date") > cut).then(pl.col("mcap") * 2).otherwise("mcap").alias("mcap"),
    )
    a = specific_risk(df, size=size, nw_lags=2, half_life=10)
    b = specific_risk(changed, size=size, nw_lags=2, half_life=10)
    early = (df["date"] <= cut).to_numpy()
    assert a.filter(pl.Series(early)).equals(b.filter(pl.Series(early)))
    assert not a.equals(b)


@pytest.mark.parametrize("size", [None, "mcap"])
def test_engines_agree(rng: np.random.Generator, run: Runner, size: str | None) -> None:
    df = messy_panel(rng, n_assets=12, n_dates=60)

    def fn(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
        return specific_risk(frame, size=size, nw_lags=2, half_life=20, n_groups=3)

    got = run(df, fn)
    want = specific_risk(df, size=size, nw_lags=2, half_life=20, n_groups=3)
    assert got.select("date", "asset").equals(df.select("date", "asset"))
    np.testing.assert_allclose(_values(got), _values(want), rtol=1e-14, atol=0)


def test_lazy_in_lazy_out_and_custom_names(rng: np.random.Generator) -> None:
    df = messy_panel(rng).rename({"date": "d", "asset": "id", "residual": "e", "mcap": "cap"})
    out = specific_risk(df.lazy(), residual="e", date="d", asset="id", size="cap")
    assert isinstance(out, pl.LazyFrame)
    assert out.collect_schema().names() == ["d", "id", "specific_var"]
    assert out.collect().height == df.height


def test_empty_frame() -> None:
    df = pl.DataFrame(
        schema={"date": pl.Date, "asset": pl.String, "residual": pl.Float64, "mcap": pl.Float64}
    )
    out = specific_risk(df, size="mcap", nw_lags=1)
    assert out.height == 0
    assert out.schema == pl.Schema(
        {"date": pl.Date, "asset": pl.String, "specific_var": pl.Float64}
    )


def test_integer_residuals() -> None:
    df = pl.DataFrame({"date": [1, 2, 3], "asset": ["a"] * 3, "residual": [1, 3, 2]})
    out = specific_risk(df, half_life=math.inf)
    assert out["specific_var"].to_list() == pytest.approx([None, 1.0, 2 / 3])


# ---------------------------------------------------------------------------------
# Properties

_panels = st.lists(
    st.lists(
        st.one_of(
            st.none(),
            # nonzero magnitudes below 1e-150 are refused (their squares underflow)
            st.floats(-1.0, 1.0, allow_nan=False).filter(lambda v: v == 0 or abs(v) >= 1e-140),
        ),
        min_size=1,
        max_size=12,
    ),
    min_size=1,
    max_size=5,
)


def _panel_frame(histories: list[list[float | None]], sizes: list[float]) -> pl.DataFrame:
    rows = [
        (t, f"a{i}", u, sizes[i % len(sizes)])
        for i, hist in enumerate(histories)
        for t, u in enumerate(hist)
    ]
    return pl.DataFrame(
        rows,
        schema={"date": pl.Int64, "asset": pl.String, "residual": pl.Float64, "mcap": pl.Float64},
        orient="row",
    )


# Residuals scaled by c look like percent to the units check.
@pytest.mark.filterwarnings("ignore::polars_factors.UnitsWarning")
@settings(max_examples=30, deadline=None)
@given(
    histories=_panels,
    sizes=st.lists(st.floats(0.0, 100.0), min_size=1, max_size=5),
    c=st.floats(1e-3, 1e3),
    nw_lags=st.integers(0, 3),
    half_life=st.one_of(st.just(math.inf), st.floats(0.5, 50.0)),
    shrinkage=st.sampled_from([0.0, 0.1, 1.0]),
)
def test_nonnegative_and_scales_with_c_squared(
    *,
    histories: list[list[float | None]],
    sizes: list[float],
    c: float,
    nw_lags: int,
    half_life: float | None,
    shrinkage: float,
) -> None:
    df = _panel_frame(histories, sizes)
    opts = {"nw_lags": nw_lags, "half_life": half_life, "shrinkage": shrinkage, "size": "mcap"}
    base = _values(specific_risk(df, min_periods=1, n_groups=2, **opts))  # type: ignore[arg-type]
    scaled = _values(
        specific_risk(
            df.with_columns(pl.col("residual") * c),
            min_periods=1,
            n_groups=2,
            **opts,  # type: ignore[arg-type]
        )
    )
    assert np.array_equal(np.isnan(base), np.isnan(scaled))
    ok = ~np.isnan(base)
    assert (base[ok] >= 0).all()
    # A variance of nearly equal residuals u loses digits to cancellation: its rounding
    # error is about eps * max(u^2), whatever the variance itself.
    u = df["residual"].to_numpy()
    scale = float(np.nanmax(np.where(np.isfinite(u), u * u, 0.0), initial=0.0))
    tol = 1e-9 * np.max(base[ok], initial=0.0) + 1e-12 * scale + 1e-300
    np.testing.assert_allclose(scaled[ok], c * c * base[ok], rtol=1e-9, atol=c * c * tol)


# ---------------------------------------------------------------------------------
# Errors


@pytest.fixture
def small() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "date": [1, 1, 2, 2],
            "asset": ["a", "b", "a", "b"],
            "residual": [0.1, 0.2, -0.1, 0.0],
            "mcap": [1.0, 2.0, 3.0, 4.0],
            "name": ["x", "y", "z", "w"],
        }
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"half_life": -1.0}, "half_life must be (a )?positive"),
        ({"half_life": 0}, "half_life must be (a )?positive"),
        ({"half_life": math.nan}, "half_life must be (a )?positive"),
        ({"half_life": "84"}, "half_life must be (a )?positive"),
        ({"nw_lags": -1}, "`nw_lags` must be an integer >= 0"),
        ({"nw_lags": 1.5}, "`nw_lags` must be an integer >= 0"),
        ({"n_groups": 0}, "`n_groups` must be an integer >= 1"),
        ({"shrinkage": 1.5}, r"`shrinkage` must be a number in \[0, 1\]"),
        ({"shrinkage": -0.1}, r"`shrinkage` must be a number in \[0, 1\]"),
        ({"min_periods": 0}, "`min_periods` must be an integer >= 1"),
        ({"residual": "date"}, "given both as `date` and as `residual`"),
    ],
)
def test_bad_options(small: pl.DataFrame, kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        specific_risk(small, **kwargs)  # type: ignore[arg-type]


def test_missing_columns(small: pl.DataFrame) -> None:
    with pytest.raises(ColumnNotFoundError, match="residual column 'resid' not found"):
        specific_risk(small, residual="resid")
    with pytest.raises(ColumnNotFoundError, match="size column 'cap' not found"):
        specific_risk(small, size="cap")
    with pytest.raises(ColumnNotFoundError, match="panel key 'day' not found"):
        specific_risk(small, date="day")


def test_non_numeric_columns(small: pl.DataFrame) -> None:
    with pytest.raises(SchemaError, match="residual column 'name' must be numeric"):
        specific_risk(small, residual="name")
    with pytest.raises(SchemaError, match="size column 'name' must be numeric"):
        specific_risk(small, size="name")


def test_negative_size(small: pl.DataFrame) -> None:
    bad = small.with_columns(mcap=pl.Series([1.0, -2.0, 3.0, 4.0]))
    with pytest.raises(WeightError, match="'mcap' has 1 negative values"):
        specific_risk(bad, size="mcap")


def test_duplicate_and_unsorted_keys(small: pl.DataFrame) -> None:
    with pytest.raises(DuplicateKeyError, match="duplicate"):
        specific_risk(pl.concat([small, small.head(1)]))
    with pytest.raises(UnsortedError, match="increasing 'date' order"):
        specific_risk(small.reverse())
    # check_keys=False skips the check (the caller vouches for the order).
    specific_risk(small.reverse(), check_keys=False)


def test_not_a_frame() -> None:
    with pytest.raises(TypeError, match="expected a polars DataFrame or LazyFrame"):
        specific_risk({"residual": [1.0]})  # type: ignore[type-var]


def test_namespace_delegates():
    df = pl.DataFrame(
        {"date": [1, 2, 3, 1, 2, 3], "asset": list("aaabbb"),
         "residual": [0.01, -0.02, 0.03, 0.0, 0.01, -0.01]}
    )  # fmt: skip
    direct = specific_risk(df, half_life=2, min_periods=2)
    assert df.factors.specific_risk(half_life=2, min_periods=2).equals(direct)
    lazy = df.lazy().factors.specific_risk(half_life=2, min_periods=2)
    assert isinstance(lazy, pl.LazyFrame)
    assert lazy.collect().equals(direct)


# ---------------------------------------------------------------------------------
# The shrinkage step alone: shrink_specific_risk


def _raw_with_size(df: pl.DataFrame, **opts: object) -> pl.DataFrame:
    """``specific_risk`` without shrinkage, with the input's size column beside it."""
    return specific_risk(df, **opts).with_columns(df["mcap"])  # type: ignore[arg-type]


@pytest.mark.parametrize("n_groups", [1, 2, 3, 10])
def test_shrink_alone_equals_the_one_plan(rng: np.random.Generator, n_groups: int) -> None:
    df = messy_panel(rng, n_assets=15, n_dates=50)
    opts: dict[str, object] = {"half_life": 20, "nw_lags": 1}
    one_plan = specific_risk(df, size="mcap", shrinkage=0.3, n_groups=n_groups, **opts)
    two_steps = shrink_specific_risk(
        _raw_with_size(df, **opts), size="mcap", shrinkage=0.3, n_groups=n_groups
    )
    assert two_steps.columns == ["date", "asset", "specific_var", "mcap"]
    assert two_steps.drop("specific_var", "mcap").equals(one_plan.drop("specific_var"))
    # the same sums; Polars' window sums are not bitwise reproducible run to run
    np.testing.assert_allclose(
        two_steps["specific_var"].to_numpy(), one_plan["specific_var"].to_numpy(), rtol=1e-14
    )


def test_shrink_alone_matches_oracle(rng: np.random.Generator) -> None:
    # Any variances, ties in size (broken by asset name), null and zero sizes.
    rows = []
    for d in range(3):
        n = int(rng.integers(6, 25))
        for i in rng.permutation(30)[:n]:
            size = float(rng.choice([1.0, 2.0, 5.0, 0.0])) if rng.random() > 0.1 else None
            var = float(rng.uniform(1e-4, 1e-2)) if rng.random() > 0.1 else None
            rows.append((d, f"z{i:02d}", var, size, float(i)))
    schema = {
        "date": pl.Int64, "asset": pl.String, "v": pl.Float64, "cap": pl.Float64,
        "other": pl.Float64,
    }  # fmt: skip
    df = pl.DataFrame(rows, schema=schema, orient="row")
    out = shrink_specific_risk(df, size="cap", variance="v", shrinkage=0.2, n_groups=3)
    assert out.select("date", "asset", "cap", "other").equals(df.drop("v"))
    for d in range(3):
        part = df.filter(pl.col("date") == d)
        sigma = [None if v is None else math.sqrt(v) for v in part["v"].to_list()]
        want = shrink(sigma, part["cap"].to_list(), part["asset"].to_list(), q=0.2, n_groups=3)
        got = out.filter(pl.col("date") == d)["v"].to_list()
        assert [g is None for g in got] == [w is None for w in want]
        assert [g for g in got if g is not None] == pytest.approx(
            [w for w in want if w is not None], rel=1e-12
        )


def test_shrink_alone_engines_and_namespace(rng: np.random.Generator, run: Runner) -> None:
    df = _raw_with_size(messy_panel(rng, n_assets=12, n_dates=40), half_life=10)

    def fn(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
        return shrink_specific_risk(frame, size="mcap", n_groups=3)

    want = shrink_specific_risk(df, size="mcap", n_groups=3)
    got = run(df, fn)
    assert got.select("date", "asset").equals(df.select("date", "asset"))
    np.testing.assert_allclose(
        got["specific_var"].to_numpy(), want["specific_var"].to_numpy(), rtol=1e-14
    )
    assert isinstance(shrink_specific_risk(df.lazy(), size="mcap"), pl.LazyFrame)
    via = df.factors.shrink_specific_risk(size="mcap", n_groups=3)
    assert via.drop("specific_var").equals(want.drop("specific_var"))
    np.testing.assert_allclose(
        via["specific_var"].to_numpy(), want["specific_var"].to_numpy(), rtol=1e-14
    )


def test_shrink_alone_zero_shrinkage_and_integer_variance() -> None:
    df = pl.DataFrame(
        {"date": [1, 1, 1], "asset": ["a", "b", "c"], "specific_var": [1, 4, 9], "mcap": [1.0] * 3}
    )
    out = shrink_specific_risk(df, size="mcap", shrinkage=0.0)
    assert out.schema["specific_var"] == pl.Float64
    assert out["specific_var"].to_list() == [1.0, 4.0, 9.0]
    # one group, equal caps: sigma 1, 2, 3 move toward 2 with v = q|s-2| / (Δ + q|s-2|)
    one = shrink_specific_risk(df, size="mcap", shrinkage=0.5, n_groups=1)
    delta = math.sqrt(2 / 3)
    v = 0.5 / (delta + 0.5)
    expected = [(v * 2 + (1 - v) * 1) ** 2, 4.0, (v * 2 + (1 - v) * 3) ** 2]
    assert one["specific_var"].to_list() == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"size": "nope"}, ColumnNotFoundError, "nope"),
        ({"size": "mcap", "variance": "nope"}, ColumnNotFoundError, "nope"),
        ({"size": "name"}, SchemaError, "name"),
        ({"size": "mcap", "shrinkage": 1.5}, ValueError, "shrinkage"),
        ({"size": "mcap", "n_groups": 0}, ValueError, "n_groups"),
        ({"size": "mcap", "variance": "mcap"}, ValueError, "mcap"),
    ],
)
def test_shrink_alone_bad_input(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    df = pl.DataFrame(
        {"date": [1, 1], "asset": ["a", "b"], "specific_var": [1.0, 2.0], "mcap": [1.0, 2.0],
         "name": ["x", "y"]}
    )  # fmt: skip
    with pytest.raises(error, match=match):
        shrink_specific_risk(df, **kwargs)  # type: ignore[arg-type]


def test_shrink_alone_checks_keys_and_sizes() -> None:
    df = pl.DataFrame(
        {"date": [1, 1], "asset": ["a", "a"], "specific_var": [1.0, 2.0], "mcap": [1.0, 2.0]}
    )
    with pytest.raises(DuplicateKeyError):
        shrink_specific_risk(df, size="mcap")
    shrink_specific_risk(df, size="mcap", check_keys=False)  # the caller's call
    negative = df.with_columns(asset=pl.Series(["a", "b"]), mcap=pl.Series([1.0, -2.0]))
    with pytest.raises(WeightError, match="market capitalizations"):
        shrink_specific_risk(negative, size="mcap")
    with pytest.raises(TypeError, match="DataFrame or LazyFrame"):
        shrink_specific_risk({"a": 1}, size="mcap")  # type: ignore[type-var]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(1e-6, 1.0), st.floats(0.1, 1e3)), min_size=1, max_size=30),
    st.floats(0.0, 1.0),
    st.integers(1, 5),
)
def test_shrink_alone_moves_each_volatility_toward_its_group(
    rows: list[tuple[float, float]], q: float, n_groups: int
) -> None:
    df = pl.DataFrame(
        {
            "date": [0] * len(rows),
            "asset": [f"a{i:02d}" for i in range(len(rows))],
            "specific_var": [v for v, _ in rows],
            "mcap": [c for _, c in rows],
        }
    )
    out = shrink_specific_risk(df, size="mcap", shrinkage=q, n_groups=n_groups)
    before = np.sqrt(df["specific_var"].to_numpy())
    after = np.sqrt(out["specific_var"].to_numpy())
    # each group's cap-weighted mean volatility
    order = np.lexsort((df["asset"].to_numpy(), df["mcap"].to_numpy()))
    group = np.empty(len(rows), dtype=int)
    group[order] = np.arange(len(rows)) * n_groups // len(rows)
    caps = df["mcap"].to_numpy()
    for g in np.unique(group):
        m = group == g
        bar = np.sum(caps[m] * before[m]) / np.sum(caps[m])
        # never past the group mean, never further from it than before
        assert np.all(np.abs(after[m] - bar) <= np.abs(before[m] - bar) * (1 + 1e-12) + 1e-15)
        assert np.all((after[m] - bar) * (before[m] - bar) >= -1e-24)


def test_half_life_none_is_refused_and_inf_means_equal_weights() -> None:
    # Across polars_factors None means "the default" and math.inf equal weights; an
    # explicit None here once meant equal weights, so it is refused, not reinterpreted.
    df = _cross_section([0.1, 0.2, 0.3], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"half_life=None is not a half-life.*math\.inf"):
        specific_risk(df, half_life=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be positive"):
        specific_risk(df, half_life=0)
