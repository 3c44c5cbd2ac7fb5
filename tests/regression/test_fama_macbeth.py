"""fama_macbeth: linearmodels FamaMacBeth oracle, a numpy loop, hand values, properties, errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from linearmodels.panel import FamaMacBeth

from polars_factors import exceptions as exc
from polars_factors.regression.fama_macbeth import fama_macbeth

COLUMNS = [
    "factor",
    "mean",
    "std",
    "t_stat",
    "nw_t_stat",
    "n_periods",
    "std_error",
    "nw_std_error",
    "nw_lags",
]
FACTORS = ["const", "size", "value"]
N_DATES, N_ASSETS = 30, 25


def rule_of_thumb(n: int) -> int:
    return math.floor(4 * (n / 100) ** (2 / 9))


def reference(f: np.ndarray, lags: int | None, *, debiased: bool) -> dict[str, float]:
    """The documented formulas, written directly (NaN = missing, dropped first)."""
    f = f[np.isfinite(f)]
    n = f.size
    lag = rule_of_thumb(n) if lags is None else lags
    out = {"mean": f.mean() if n else np.nan, "n_periods": n, "nw_lags": lag if n else np.nan}
    if n < 2:
        return out | {"std": np.nan, "std_error": np.nan, "nw_std_error": np.nan}
    e = f - f.mean()
    d = int(debiased)
    out["std"] = f.std(ddof=1)
    out["std_error"] = math.sqrt(e @ e / n / (n - d))
    if lag >= n:
        out["nw_std_error"] = np.nan
    else:
        s = e @ e + 2 * sum((1 - k / (lag + 1)) * (e[k:] @ e[:-k]) for k in range(1, lag + 1))
        out["nw_std_error"] = math.sqrt(s / n / (n - d))
    return out


def get(res: pl.DataFrame, name: str, column: str) -> float:
    value = res.filter(pl.col("factor") == name)[column].item()
    return np.nan if value is None else float(value)


# --- the oracle: linearmodels FamaMacBeth on a random panel --------------------------


@pytest.fixture(scope="module")
def panel() -> dict[str, object]:
    """A balanced panel, its linearmodels model, and the per-period OLS estimates."""
    rng = np.random.default_rng(7)
    n = N_DATES * N_ASSETS
    x = np.column_stack([np.ones(n), rng.standard_normal(n), rng.standard_normal(n)])
    # Autocorrelated true factor returns, so that the Newey-West correction matters.
    beta = np.cumsum(rng.standard_normal((N_DATES, 3)) * 0.5, axis=0) + np.array([0.2, -0.1, 0.3])
    dates = np.repeat(np.arange(N_DATES), N_ASSETS)
    y = np.einsum("ik,ik->i", x, beta[dates]) + rng.standard_normal(n)
    index = pd.MultiIndex.from_arrays([np.tile(np.arange(N_ASSETS), N_DATES), dates])
    model = FamaMacBeth(pd.Series(y, index=index, name="y"), pd.DataFrame(x, index, FACTORS))
    per_date = np.array(
        [np.linalg.lstsq(x[dates == t], y[dates == t], rcond=None)[0] for t in range(N_DATES)]
    )
    wide = pl.DataFrame({"date": np.arange(N_DATES)}).with_columns(
        pl.Series(name, per_date[:, k]) for k, name in enumerate(FACTORS)
    )
    long = wide.unpivot(FACTORS, index="date", variable_name="factor", value_name="factor_return")
    # Shuffled rows: the estimator must sort by date itself.
    long = long.sample(fraction=1.0, shuffle=True, seed=3)
    return {"model": model, "wide": wide, "long": long, "per_date": per_date, "fits": {}}


def lm_fit(panel, **kwargs):
    """linearmodels results, cached per option set (the layouts share them)."""
    key = tuple(sorted(kwargs.items()))
    if key not in panel["fits"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas/linearmodels deprecations are not ours
            panel["fits"][key] = panel["model"].fit(**kwargs)
    return panel["fits"][key]


@pytest.mark.parametrize("layout", ["long", "wide"])
@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("debiased", [False, True])
@pytest.mark.parametrize("lags", [0, 1, 3, N_DATES - 1])
def test_matches_linearmodels(panel, layout, lazy, debiased, lags):
    frame = panel[layout]
    res = fama_macbeth(frame.lazy() if lazy else frame, nw_lags=lags, debiased=debiased)
    assert isinstance(res, pl.DataFrame)
    assert res.columns == COLUMNS
    assert res["factor"].to_list() == (FACTORS if layout == "wide" else ["value", "size", "const"])
    res = res.sort(pl.col("factor").replace_strict(FACTORS, range(3)))

    plain = lm_fit(panel, cov_type="unadjusted", debiased=debiased)
    kernel = lm_fit(panel, cov_type="kernel", kernel="bartlett", bandwidth=lags, debiased=debiased)
    np.testing.assert_allclose(res["mean"], plain.params[FACTORS], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res["std_error"], plain.std_errors[FACTORS], rtol=1e-10)
    np.testing.assert_allclose(res["t_stat"], plain.tstats[FACTORS], rtol=1e-10)
    np.testing.assert_allclose(res["nw_std_error"], kernel.std_errors[FACTORS], rtol=1e-10)
    np.testing.assert_allclose(res["nw_t_stat"], kernel.tstats[FACTORS], rtol=1e-10)
    np.testing.assert_allclose(res["std"], panel["per_date"].std(axis=0, ddof=1), rtol=1e-12)
    assert res["n_periods"].to_list() == [N_DATES] * 3
    assert res["nw_lags"].to_list() == [lags] * 3
    assert res.schema["n_periods"] == pl.UInt32


def test_rule_of_thumb_matches_linearmodels_bandwidth(panel):
    lags = rule_of_thumb(N_DATES)
    assert lags == 3
    res = fama_macbeth(panel["wide"])  # default debiased=True, as linearmodels' fit
    kernel = lm_fit(panel, cov_type="kernel", kernel="bartlett", bandwidth=lags, debiased=True)
    np.testing.assert_allclose(res["nw_std_error"], kernel.std_errors[FACTORS], rtol=1e-10)
    assert res["nw_lags"].to_list() == [lags] * 3


# --- per-factor missing values against a numpy loop ----------------------------------


@pytest.mark.parametrize("lags", [None, 0, 2, 9])
@pytest.mark.parametrize("debiased", [False, True])
def test_each_factor_drops_its_own_missing_periods(lags, debiased):
    rng = np.random.default_rng(11)
    n_dates = 60
    values = {name: rng.standard_normal(n_dates).cumsum() * 0.1 for name in ["a", "b", "c", "d"]}
    values["a"][rng.random(n_dates) < 0.3] = np.nan
    values["b"][:45] = np.nan  # T = 15: a smaller rule-of-thumb bandwidth than "c"
    values["b"][50] = np.inf
    values["d"][:] = np.nan
    values["d"][[3, 40]] = [1.0, 2.0]  # T = 2: lags 2 and 9 are too many
    wide = pl.DataFrame({"date": np.arange(n_dates)} | values).with_columns(
        pl.col("c").fill_nan(None)
    )
    wide = wide.with_columns(pl.when(pl.col("date") % 7 == 0).then(None).otherwise("c").alias("c"))
    long = wide.unpivot(index="date", variable_name="factor", value_name="factor_return")
    long = long.sample(fraction=1.0, shuffle=True, seed=5)
    for frame in (wide, long):
        res = fama_macbeth(frame, nw_lags=lags, debiased=debiased)
        for name in values:
            column = wide.sort("date")[name].to_numpy().astype(float)
            ref = reference(column, lags, debiased=debiased)
            for key, expected in ref.items():
                np.testing.assert_allclose(
                    get(res, name, key), expected, rtol=1e-10, err_msg=f"{name}.{key}"
                )
    res = fama_macbeth(wide, nw_lags=lags)
    assert res["n_periods"].to_list() == [n_dates - int(np.isnan(values["a"]).sum()), 14, 51, 2]


def test_factors_with_no_one_or_constant_periods():
    df = pl.DataFrame(
        {
            "date": [1, 2, 3, 1, 2, 3, 1, 2, 3],
            "factor": ["none"] * 3 + ["one"] * 3 + ["flat"] * 3,
            "factor_return": [None, None, None, None, 0.5, None, 0.1, 0.1, 0.1],
        }
    )
    res = fama_macbeth(df, nw_lags=0)
    assert res["factor"].to_list() == ["none", "one", "flat"]
    assert res["n_periods"].to_list() == [0, 1, 3]
    assert res.row(0, named=True) | {"factor": None, "n_periods": None} == dict.fromkeys(COLUMNS)
    one = res.row(1, named=True)
    assert one["mean"] == 0.5
    assert [one[k] for k in ["std", "t_stat", "nw_t_stat", "std_error", "nw_std_error"]] == [
        None
    ] * 5
    flat = res.row(2, named=True)
    assert flat["mean"] == pytest.approx(0.1)
    assert flat["std_error"] == pytest.approx(0.0, abs=1e-15)
    # A round-off standard error gives a null, not a huge, t-statistic.
    assert flat["t_stat"] is None
    assert flat["nw_t_stat"] is None


def test_bandwidth_not_below_periods_gives_null_newey_west():
    df = pl.DataFrame({"date": [1, 2, 3], "f": [0.1, -0.2, 0.4]})
    assert fama_macbeth(df, nw_lags=3)["nw_std_error"].to_list() == [None]
    assert fama_macbeth(df, nw_lags=2)["nw_std_error"].item() is not None
    # Rule of thumb: T = 3 gives L = floor(4 * 0.03^(2/9)) = 1.
    assert fama_macbeth(df)["nw_lags"].to_list() == [1]


# --- a case computed by hand ---------------------------------------------------------


def test_hand_computed():
    # f = 0.02, -0.01, 0.03, 0.00: mean 0.01, e = 0.01, -0.02, 0.02, -0.01
    # sum e^2 = 0.001 -> std = sqrt(0.001 / 3); se = sqrt(0.001 / 4 / 4) = 0.0079057
    # lag-1 products e_t e_{t-1}: -0.0002, -0.0004, -0.0002 -> sum -0.0008
    # L = 1: S = (0.001 + 2 * 0.5 * -0.0008) / 4 = 0.00005, nw_se = sqrt(0.00005 / 4)
    # debiased: divide by T - 1 = 3 instead of 4.
    df = pl.DataFrame({"date": [4, 2, 3, 1], "mkt": [0.00, -0.01, 0.03, 0.02]})
    res = fama_macbeth(df, nw_lags=1, debiased=False).row(0, named=True)
    assert res["mean"] == pytest.approx(0.01, rel=1e-12)
    assert res["std"] == pytest.approx(math.sqrt(0.001 / 3), rel=1e-12)
    assert res["std_error"] == pytest.approx(math.sqrt(0.001 / 16), rel=1e-12)
    assert res["t_stat"] == pytest.approx(0.01 / math.sqrt(0.001 / 16), rel=1e-12)
    assert res["nw_std_error"] == pytest.approx(math.sqrt(0.00005 / 4), rel=1e-10)
    assert res["nw_t_stat"] == pytest.approx(0.01 / math.sqrt(0.00005 / 4), rel=1e-10)
    deb = fama_macbeth(df, nw_lags=1).row(0, named=True)  # debiased=True is the default
    assert deb["std_error"] == pytest.approx(math.sqrt(0.001 / 12), rel=1e-12)
    assert deb["std_error"] == pytest.approx(deb["std"] / 2, rel=1e-12)
    assert deb["nw_std_error"] == pytest.approx(math.sqrt(0.00005 / 3), rel=1e-10)


def test_key_dtypes_and_names():
    df = pl.DataFrame(
        {
            "month": pl.date_range(pl.date(2020, 1, 1), pl.date(2020, 4, 1), "1mo", eager=True),
            "name": pl.Series(["b", "b", "b", "b"], dtype=pl.Categorical),
            "ret": [1, 2, 3, 5],
        }
    )
    res = fama_macbeth(df, date="month", factor="name", value="ret", nw_lags=1)
    assert res["factor"].to_list() == ["b"]
    assert res["mean"].item() == pytest.approx(2.75)
    codes = df.with_columns(pl.lit(7, dtype=pl.Int16).alias("name"))
    assert fama_macbeth(codes, date="month", factor="name", value="ret")["factor"].to_list() == [
        "7"
    ]


# --- properties ----------------------------------------------------------------------

finite = st.floats(min_value=-10.0, max_value=10.0, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), finite), min_size=1, max_size=40),
    lags=st.integers(0, 45),
    seed=st.integers(0, 2**16),
)
def test_matches_direct_lag_sum(values, lags, seed):
    """The O(T) cumulative-sum evaluation equals the direct sum over lags, for any L."""
    df = pl.DataFrame(
        {"date": range(len(values)), "factor": "f", "factor_return": values},
        schema_overrides={"factor_return": pl.Float64},
    )
    res = fama_macbeth(df.sample(fraction=1.0, shuffle=True, seed=seed), nw_lags=lags)
    ref = reference(np.array([np.nan if v is None else v for v in values]), lags, debiased=True)
    for key, expected in ref.items():
        np.testing.assert_allclose(get(res, "f", key), expected, rtol=1e-9, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    a=st.lists(finite, min_size=3, max_size=20),
    shift=st.floats(min_value=-5.0, max_value=5.0, allow_nan=False),
    seed=st.integers(0, 2**16),
)
def test_shift_changes_only_the_mean_and_order_does_not_matter(a, shift, seed):
    n = len(a)
    b = list(np.linspace(-1.0, 2.0, n) ** 2)
    wide = pl.DataFrame({"date": range(n), "a": a, "b": b})
    base = fama_macbeth(wide, nw_lags=1)
    shifted = fama_macbeth(wide.with_columns(pl.col("a") + shift), nw_lags=1)
    shuffled = fama_macbeth(wide.sample(fraction=1.0, shuffle=True, seed=seed), nw_lags=1)
    assert shuffled.equals(base)
    assert shifted.row(1) == base.row(1)
    assert get(shifted, "a", "mean") == pytest.approx(get(base, "a", "mean") + shift, abs=1e-9)
    for key in ["std", "std_error", "nw_std_error"]:
        assert get(shifted, "a", key) == pytest.approx(get(base, "a", key), rel=1e-6, abs=1e-9)


# --- errors --------------------------------------------------------------------------


@pytest.fixture(params=["eager", "lazy"])
def long(request) -> pl.DataFrame | pl.LazyFrame:
    df = pl.DataFrame(
        {"date": [1, 1, 2, 2], "factor": ["a", "b", "a", "b"], "factor_return": [0.1] * 4}
    )
    return df if request.param == "eager" else df.lazy()


def test_missing_columns(long):
    with pytest.raises(exc.ColumnNotFoundError, match=r"'factor_ret' not found.*'factor_return'"):
        fama_macbeth(long, value="factor_ret")
    with pytest.raises(exc.ColumnNotFoundError, match=r"'day' not found"):
        fama_macbeth(long, date="day")
    wide = pl.DataFrame({"day": [1], "a": [0.1]})
    with pytest.raises(exc.ColumnNotFoundError, match=r"date column 'date' not found"):
        fama_macbeth(wide)


def test_non_numeric(long):
    text = long.with_columns(pl.col("factor_return").cast(pl.String))
    with pytest.raises(exc.SchemaError, match=r"'factor_return' must be numeric.*String"):
        fama_macbeth(text)
    flags = long.with_columns(pl.col("factor_return") > 0)
    with pytest.raises(exc.SchemaError, match=r"Boolean"):
        fama_macbeth(flags)
    with pytest.raises(exc.SchemaError, match=r"'factor'.*factor names.*Float64"):
        fama_macbeth(long.with_columns(pl.col("factor_return").alias("factor")))
    # A long frame whose name column is not called "factor" is read as wide: say so.
    renamed = long.rename({"factor": "name"})
    with pytest.raises(exc.SchemaError, match=r"'name' must be numeric.*read as wide"):
        fama_macbeth(renamed)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_bad_nw_lags(long, bad):
    with pytest.raises(ValueError, match=r"nw_lags must be a non-negative int"):
        fama_macbeth(long, nw_lags=bad)


def test_bad_debiased(long):
    with pytest.raises(TypeError, match=r"debiased must be True or False"):
        fama_macbeth(long, debiased=1)  # type: ignore[arg-type]


def test_duplicate_keys(long):
    doubled = pl.concat([long, long.head(1)])
    with pytest.raises(exc.DuplicateKeyError, match=r"duplicate \('date', 'factor'\).*\(1, 'a'\)"):
        fama_macbeth(doubled)
    wide = pl.DataFrame({"date": [1, 2, 2], "a": [0.1, 0.2, 0.3]})
    with pytest.raises(exc.DuplicateKeyError, match=r"duplicate 'date' keys.*2 x2"):
        fama_macbeth(wide)


def test_empty_and_factorless(long):
    with pytest.raises(exc.InsufficientDataError, match=r"no rows"):
        fama_macbeth(long.clear())
    with pytest.raises(exc.InsufficientDataError, match=r"no rows"):
        fama_macbeth(
            pl.DataFrame({"date": [], "a": []}, schema={"date": pl.Int64, "a": pl.Float64})
        )
    with pytest.raises(exc.InsufficientDataError, match=r"no factor column"):
        fama_macbeth(pl.DataFrame({"date": [1, 2]}))


def test_null_keys(long):
    null_date = long.with_columns(pl.when(pl.col("factor") == "a").then(pl.col("date")))
    with pytest.raises(exc.InvalidDataError, match=r"2 rows have a null 'date'"):
        fama_macbeth(null_date)
    null_name = long.with_columns(pl.when(pl.col("date") == 1).then(pl.col("factor")))
    with pytest.raises(exc.InvalidDataError, match=r"null factor name"):
        fama_macbeth(null_name)
