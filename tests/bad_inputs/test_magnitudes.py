"""Values of any magnitude: scale-invariant results stay right, overflow is reported.

Rule (docs/errors.md, "One rule per kind of input"): a statistic that the math makes
scale invariant (z-scores, winsorized values up to the scale, weighted means,
regression coefficients up to the scales of y and x, R²) gives the same answer for
values near 1e-160 or 1e300 as for ordinary ones; where float64 cannot hold the sums
(products of values near 1e154 or more), the result is null with a precise
DataLossWarning (status ``"overflow"`` in ``cross_section``), never a number that looks
right.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import polars_factors as pf

pytestmark = pytest.mark.filterwarnings("ignore::polars_factors.exceptions.UnitsWarning")

Run = Callable[..., pl.DataFrame]


def _panel(seed: int = 7, n_dates: int = 4, n_assets: int = 30) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_dates * n_assets
    x1 = rng.standard_normal(n)
    x2 = rng.standard_normal(n)
    return pl.DataFrame(
        {
            "date": np.repeat(np.arange(n_dates), n_assets),
            "asset": np.tile([f"a{i:02d}" for i in range(n_assets)], n_dates),
            "x": rng.standard_t(4, n),
            "w": rng.uniform(0.5, 3.0, n),
            "x1": x1,
            "x2": x2,
            "ind": np.tile(["i1", "i2", "i3"], n // 3),
            "ret": 0.02 * x1 - 0.01 * x2 + 0.01 * rng.standard_normal(n),
        }
    )


def _factor(panel: pl.DataFrame, c: float | str, column: str = "x") -> float:
    if c == "max":
        return 1e300 / float(panel[column].abs().max())  # type: ignore[arg-type]
    assert isinstance(c, float)
    return c


def _close(got: pl.Series, want: pl.Series, *, rtol: float = 0.0, atol: float = 0.0) -> None:
    assert got.is_null().to_list() == want.is_null().to_list()
    a, b = got.drop_nulls().to_numpy(), want.drop_nulls().to_numpy()
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


# -- standardization: scale invariant in range, null and reported beyond ---------------
#
# The statistics are taken as they are (no rescaling pass, which cost 40-70% of the
# z-score's time): values whose group maximum |x| is within [1e-140, 1e145] (and
# weights within the same range) give the z-scores of ordinary values; beyond, the
# group is null, with a DataLossWarning, never z-scores of 0 from an overflowed std.

IN_RANGE = [1e-120, 1e-60, 1e60, 1e120]
BEYOND = [1e-160, 1e160, "max"]  # "max": the largest value becomes 1e300
FLOAT_LIMIT = "magnitudes float64 can square"


@pytest.mark.parametrize("c", IN_RANGE)
def test_zscore_is_scale_invariant(run: Run, c: float) -> None:
    panel = _panel()
    base = run(panel, lambda f: f.factors.zscore("x"))
    scaled = run(panel.with_columns(pl.col("x") * c), lambda f: f.factors.zscore("x"))
    assert run.warnings == []  # type: ignore[attr-defined]
    _close(scaled["x"], base["x"], atol=1e-12)


@pytest.mark.parametrize("c", BEYOND)
def test_zscore_beyond_float_range_is_null_and_reported(run: Run, c: float | str) -> None:
    panel = _panel()
    k = _factor(panel, c)
    out = run(panel.with_columns(pl.col("x") * k), lambda f: f.factors.zscore("x"))
    assert out["x"].null_count() == out.height
    assert any(FLOAT_LIMIT in str(m) for m in run.warnings)  # type: ignore[attr-defined]


@pytest.mark.parametrize("std_weights", ["equal", "weighted"])
@pytest.mark.parametrize("c", IN_RANGE)
def test_weighted_zscore_with_large_weights(run: Run, c: float, std_weights: str) -> None:
    panel = _panel()

    def fn(f: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
        return f.factors.zscore("x", weights="w", std_weights=std_weights)  # type: ignore[arg-type]

    base = run(panel, fn)
    big = panel.with_columns(pl.col("x") * c, pl.col("w") * 1e20)
    _close(run(big, fn)["x"], base["x"], atol=1e-12)


@pytest.mark.parametrize("std_weights", ["equal", "weighted"])
def test_weights_near_1e300_are_null_and_reported(run: Run, std_weights: str) -> None:
    # Before: NaN z-scores (the weighted sums overflowed).
    panel = _panel().with_columns(pl.col("w") * 1e300)
    out = run(panel, lambda f: f.factors.zscore("x", weights="w", std_weights=std_weights))
    assert out["x"].null_count() == out.height
    assert not out["x"].is_nan().any()
    assert any(FLOAT_LIMIT in str(m) for m in run.warnings)  # type: ignore[attr-defined]


@pytest.mark.parametrize("c", IN_RANGE)
def test_standardize_is_scale_invariant(run: Run, c: float) -> None:
    panel = _panel()

    def fn(f: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
        return f.factors.standardize("x", weights="w")

    base = run(panel, fn)
    scaled = run(panel.with_columns(pl.col("x") * c, pl.col("w") * 1e20), fn)
    _close(scaled["x"], base["x"], atol=1e-12)


@pytest.mark.parametrize("method", ["sigma", "mad"])
@pytest.mark.parametrize("c", IN_RANGE)
def test_winsorize_scales_with_the_values(run: Run, c: float, method: str) -> None:
    panel = _panel()

    def fn(f: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
        return f.factors.winsorize("x", method=method, n_sigma=1.5)  # type: ignore[arg-type]

    base = run(panel, fn)
    scaled = run(panel.with_columns(pl.col("x") * c), fn)
    clipped = (base["x"] != panel["x"]).sum()
    assert clipped > 0  # the bounds do bite
    _close(scaled["x"] / c, base["x"], rtol=1e-12)


@pytest.mark.parametrize("c", BEYOND)
def test_sigma_winsorize_beyond_float_range_is_null_not_unclipped(run: Run, c: float | str) -> None:
    # Before the check, an inf std left every value unclipped: values that look right.
    panel = _panel()
    k = _factor(panel, c)
    out = run(
        panel.with_columns(pl.col("x") * k),
        lambda f: f.factors.winsorize("x", method="sigma", n_sigma=1.5),
    )
    assert out["x"].null_count() == out.height
    assert any(FLOAT_LIMIT in str(m) for m in run.warnings)  # type: ignore[attr-defined]


def test_zscore_of_values_near_1e154_is_null_not_zero() -> None:
    # Before: the std overflowed to inf and every z-score came out 0.
    df = pl.DataFrame({"date": [1] * 3, "asset": list("abc"), "x": [1e154, 2e154, 3e154]})
    with pytest.warns(pf.DataLossWarning, match="'x': 3 values became null .*float64"):
        z = df.factors.zscore("x")["x"]
    assert z.null_count() == 3


def test_zscore_near_the_limits_is_exact() -> None:
    for top in (1e144, 1e-139):
        df = pl.DataFrame({"date": [1] * 3, "asset": list("abc"), "x": [top / 3, 2 * top / 3, top]})
        z = df.factors.zscore("x")["x"].to_list()
        np.testing.assert_allclose(z, [-1.224744871391589, 0.0, 1.224744871391589], atol=1e-12)


def test_zscore_expression_is_bit_for_bit_on_ordinary_data() -> None:
    panel = _panel(seed=3, n_dates=1, n_assets=201)
    x = panel["x"].to_numpy()
    got = panel.select(pf.exprs.zscore("x").over("date"))["x"].to_numpy()
    want = panel.select((pl.col("x") - pl.col("x").mean()) / pl.col("x").std(ddof=0))
    np.testing.assert_array_equal(got, want["x"].to_numpy())
    assert np.isfinite(x).all()


@settings(max_examples=40, deadline=None)
@given(exponent=st.floats(-120.0, 120.0), seed=st.integers(0, 2**16))
def test_zscore_scale_invariance_property(exponent: float, seed: int) -> None:
    panel = _panel(seed=seed, n_dates=2, n_assets=12)
    c = 10.0**exponent
    base = panel.factors.zscore("x", weights="w")["x"]
    scaled = panel.with_columns(pl.col("x") * c).factors.zscore("x", weights="w")["x"]
    _close(scaled, base, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(exponent=st.floats(-120.0, 120.0), seed=st.integers(0, 2**16))
def test_sigma_winsorize_scale_property(exponent: float, seed: int) -> None:
    panel = _panel(seed=seed, n_dates=2, n_assets=12)
    c = 10.0**exponent
    base = panel.factors.winsorize("x", method="sigma", n_sigma=1.0)["x"]
    scaled = panel.with_columns(pl.col("x") * c).factors.winsorize(
        "x", method="sigma", n_sigma=1.0
    )["x"]
    _close(scaled / c, base, rtol=1e-12)


# -- cross_section ------------------------------------------------------------------------


def _cs(**kwargs: object) -> Callable[[pl.DataFrame | pl.LazyFrame], pl.DataFrame | pl.LazyFrame]:
    def fn(f: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
        res = pf.cross_section(f, "ret", ["x1", "x2"], weights="w", **kwargs)  # type: ignore[arg-type]
        stats = res.stats.select("date", "r2", "status")
        return res.factor_returns.join(stats, on="date").sort("date", "factor")

    return fn


@pytest.mark.parametrize("industry", [None, "ind"])
def test_cross_section_weights_near_1e300(run: Run, industry: str | None) -> None:
    # Before (with industries): r2 = 1 with status "ok" (the square of sum w y overflowed).
    panel = _panel()
    fn = _cs(industry=industry)
    base = run(panel, fn)
    big = run(panel.with_columns(pl.col("w") * 1e300), fn)
    assert big["status"].unique().to_list() == ["ok"]
    _close(big["factor_return"], base["factor_return"], rtol=1e-12)
    _close(big["r2"], base["r2"], rtol=1e-12)
    assert big["r2"].max() < 1.0  # type: ignore[operator]


@pytest.mark.parametrize("c", [1e-100, 1e100])
def test_cross_section_returns_scale_the_factor_returns(run: Run, c: float) -> None:
    panel = _panel()
    fn = _cs(industry="ind")
    base = run(panel, fn)
    scaled = run(panel.with_columns(pl.col("ret") * c), fn)
    _close(scaled["factor_return"] / c, base["factor_return"], rtol=1e-10, atol=1e-12)
    _close(scaled["r2"], base["r2"], rtol=1e-10)


@pytest.mark.parametrize("column", ["ret", "x1"])
def test_cross_section_refuses_returns_and_exposures_beyond_float_range(
    run: Run, column: str
) -> None:
    # Returns or exposures whose squares do not fit: refused (before: status "singular",
    # and at 1e-160 an r2 of 0 and wrong Huber fits that looked right).
    for scale in (1e160, 1e-160):
        panel = _panel().with_columns(pl.col(column) * scale)
        with pytest.raises(pf.InvalidDataError, match=f"cross_section: column '{column}'"):
            run(panel, _cs())


@pytest.mark.parametrize("method", ["wls", "huber"])
def test_cross_section_tiny_returns_refused_not_r2_of_zero(method: str) -> None:
    panel = _panel().with_columns(pl.col("ret") * 1e-160)
    with pytest.raises(pf.InvalidDataError, match="squares overflow or underflow"):
        pf.cross_section(panel, "ret", ["x1", "x2"], method=method)  # type: ignore[arg-type]


# -- betas ------------------------------------------------------------------------------------


def _ts_panel() -> pl.DataFrame:
    rng = np.random.default_rng(11)
    n_dates, n_assets = 40, 4
    mkt = rng.standard_normal(n_dates) * 0.01
    return pl.DataFrame(
        {
            "date": np.tile(np.arange(n_dates), n_assets),
            "asset": np.repeat([f"a{i}" for i in range(n_assets)], n_dates),
            "mkt": np.tile(mkt, n_assets),
            "ret": np.tile(mkt, n_assets) * 1.2 + 0.01 * rng.standard_normal(n_dates * n_assets),
        }
    )


@pytest.mark.parametrize("window", [None, 10])
def test_betas_scale_with_the_returns(run: Run, window: int | None) -> None:
    panel = _ts_panel()

    def fn(f: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
        return pf.betas(f, "ret", "mkt", window=window).sort("asset", *(["date"] * bool(window)))

    base = run(panel, fn)
    c = 1e100
    scaled = run(panel.with_columns(pl.col("ret") * c), fn)
    _close(scaled["beta_mkt"] / c, base["beta_mkt"], rtol=1e-9)
    _close(scaled["alpha"] / c, base["alpha"], rtol=1e-8, atol=1e-14)
    _close(scaled["r2"], base["r2"], rtol=1e-9)


@pytest.mark.parametrize("c", [1e160, 1e-160])
@pytest.mark.parametrize("window", [None, 10])
def test_betas_out_of_range_sums_are_null_and_reported(
    run: Run, c: float, window: int | None
) -> None:
    # Before: 1e160 gave nulls blamed on a singular design (or NaN standard errors);
    # 1e-160 gave wrong betas with infinite standard errors.
    panel = _ts_panel().with_columns(pl.col("ret") * c, pl.col("mkt") * c)
    out = run(panel, lambda f: pf.betas(f, "ret", "mkt", window=window))
    fitted = out.filter(pl.col("n_obs") >= 3)
    assert fitted.height > 0
    assert fitted["beta_mkt"].null_count() == fitted.height
    assert fitted["beta_mkt_std_error"].null_count() == fitted.height
    assert any("too large or too small" in str(m) for m in run.warnings)  # type: ignore[attr-defined]


# -- portfolios --------------------------------------------------------------------------------


def test_portfolio_returns_with_weights_near_1e300(run: Run) -> None:
    panel = _panel().with_columns(bucket=pl.col("x1") > 0)

    def fn(f: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
        return pf.portfolio_returns(f, "bucket", "ret", weights="w").sort("date", "bucket")

    base = run(panel, fn)
    big = run(panel.with_columns(pl.col("w") * 1e300), fn)
    _close(big["return"], base["return"], rtol=1e-12)


def test_long_short_with_weights_near_1e300(run: Run) -> None:
    panel = _panel()

    def fn(f: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
        return pf.long_short(f, "x1", "ret", n=3, weights="w").sort("date")

    base = run(panel, fn)
    big = run(panel.with_columns(pl.col("w") * 1e300), fn)
    _close(big["long_short"], base["long_short"], rtol=1e-12)


# --------------------------------------------------------------------------- refused


@pytest.mark.parametrize("scale", [1e-160, 1e160])
def test_factor_covariance_refuses_values_whose_squares_do_not_fit(scale: float) -> None:
    # 1e-160 squared underflows to 0: a zero covariance that looks right but is not.
    rng = np.random.default_rng(11)
    fr = pl.DataFrame(
        {
            "date": np.arange(30),
            "a": rng.normal(size=30) * 0.01 * scale,
            "b": rng.normal(size=30) * 0.01,
        }
    )
    with pytest.raises(pf.InvalidDataError, match=r"column 'a' has .*Rescale the column"):
        pf.risk.factor_covariance(fr, half_life_vol=10, half_life_corr=20)


@pytest.mark.parametrize("scale", [1e-160, 1e160])
@pytest.mark.parametrize("lazy", [False, True])
def test_specific_risk_refuses_values_whose_squares_do_not_fit(scale: float, lazy: bool) -> None:
    rng = np.random.default_rng(12)
    df = pl.DataFrame(
        {
            "date": np.repeat(np.arange(20), 3),
            "asset": np.tile(["a", "b", "c"], 20),
            "residual": rng.normal(size=60) * 0.01 * scale,
        }
    )
    if lazy:
        plan = pf.risk.specific_risk(df.lazy(), half_life=10)  # the check is in the plan
        with pytest.raises(pf.InvalidDataError, match="specific_risk: column 'residual'"):
            plan.collect()
    else:
        with pytest.raises(pf.InvalidDataError, match="specific_risk: column 'residual'"):
            pf.risk.specific_risk(df, half_life=10)


@pytest.mark.parametrize("lazy", [False, True])
def test_neutralize_refuses_values_whose_squares_do_not_fit(lazy: bool) -> None:
    df = pl.DataFrame(
        {
            "date": [1] * 4,
            "asset": list("abcd"),
            "x": [1.0, 2.0, 3.0, 4.0],
            "y": [1e-170, 2e-170, 0.0, 1e-170],
        }
    )
    # the fit's sums are read at call time, and the check with them: it raises there
    with pytest.raises(
        pf.InvalidDataError, match=r"neutralize: column 'y' has 0 values .* nonzero ones below"
    ):
        pf.neutralize(df.lazy() if lazy else df, "y", against="x")


def test_values_in_range_are_not_refused() -> None:
    fr = pl.DataFrame(
        {
            "date": np.arange(30),
            "a": np.linspace(-1e140, 1e140, 30),
            "b": np.linspace(1e-140, 1, 30),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pf.UnitsWarning)  # values this large look like percent
        out = pf.risk.factor_covariance(fr, half_life_vol=10, half_life_corr=20, dates="last")
    assert out["covariance"].is_finite().all()
