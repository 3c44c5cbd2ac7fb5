"""betas: statsmodels OLS/WLS/RollingOLS, an explicit per-window lstsq oracle, hand cases."""

from __future__ import annotations

import datetime as dt
import math
import warnings
from typing import Any

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from polars.testing import assert_frame_equal
from statsmodels.regression.rolling import RollingOLS

import polars_factors as pf
from tests.oracle_ts import rolling_oracle

FACTORS = ["mkt", "smb", "hml"]
NAMES = ["alpha", *(f"beta_{f}" for f in FACTORS)]
SE_NAMES = [f"{n}_std_error" for n in NAMES]


def make_ts_panel(
    rng: np.random.Generator,
    *,
    n_dates: int = 160,
    n_assets: int = 6,
    missing: float = 0.06,
    gappy: bool = False,
) -> pl.DataFrame:
    """Date-major panel (assets interleaved), ragged asset histories, nulls, NaN, inf.

    Factor returns are shared across assets per date; each asset starts and ends at
    its own date; with ``gappy`` some dates are skipped per asset.
    """
    start = dt.date(2015, 1, 2)
    calendar = [start + dt.timedelta(days=int(d)) for d in np.cumsum(rng.integers(1, 4, n_dates))]
    f = rng.normal(0.0004, 0.01, (n_dates, 3))
    f[:, 1] += 0.3 * f[:, 0]  # correlated factors
    rows = []
    for a in range(n_assets):
        first = int(rng.integers(0, n_dates // 5))
        last = n_dates - int(rng.integers(0, n_dates // 5))
        beta = rng.normal([1.0, 0.3, -0.2], 0.4)
        alpha = rng.normal(0.0002, 0.0005)
        for d in range(first, last):
            if gappy and rng.random() < 0.2:
                continue
            y = alpha + f[d] @ beta + rng.normal(0, 0.015)
            rows.append((calendar[d], d, f"A{a}", y, *f[d], float(rng.uniform(0.5, 2.0))))
    df = pl.DataFrame(
        rows, schema=["date", "day", "asset", "ret", *FACTORS, "w"], orient="row"
    ).sort("date", "asset")
    n = df.height
    u = rng.random((n, 4))
    return df.with_columns(
        ret=pl.when(pl.Series(u[:, 0] < missing)).then(None).otherwise(pl.col("ret")),
        mkt=pl.when(pl.Series(u[:, 1] < missing / 2)).then(float("nan")).otherwise(pl.col("mkt")),
        hml=pl.when(pl.Series(u[:, 2] < missing / 3)).then(float("inf")).otherwise(pl.col("hml")),
        smb=pl.when(pl.Series(u[:, 3] < missing / 3)).then(None).otherwise(pl.col("smb")),
    )


def assert_columns_close(
    got: pl.DataFrame, want: pl.DataFrame, columns: list[str], *, rtol: float
) -> None:
    """Equal nulls; values within ``rtol`` of each column's largest magnitude."""
    for col in columns:
        a = got[col].cast(pl.Float64).to_numpy()
        b = want[col].cast(pl.Float64).to_numpy()
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"nulls of {col}")
        scale = np.nanmax(np.abs(b)) if np.isfinite(b).any() else 1.0
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale, err_msg=col)


@pytest.fixture
def panel(rng: np.random.Generator) -> pl.DataFrame:
    return make_ts_panel(rng)


# --- full sample -------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
def test_full_sample_matches_statsmodels(panel: pl.DataFrame, weighted: bool) -> None:
    out = pf.betas(panel, "ret", FACTORS, weights="w" if weighted else None)
    assert out["asset"].to_list() == sorted(panel["asset"].unique().to_list())
    for row in out.iter_rows(named=True):
        d = panel.filter(pl.col("asset") == row["asset"]).to_pandas()
        d = d[np.isfinite(d[["ret", *FACTORS]]).all(axis=1)]
        x = sm.add_constant(d[FACTORS])
        model = sm.WLS(d["ret"], x, weights=d["w"]) if weighted else sm.OLS(d["ret"], x)
        res = model.fit()
        got = np.array([row[n] for n in NAMES])
        np.testing.assert_allclose(got, res.params.to_numpy(), rtol=1e-10, atol=1e-14)
        got_se = np.array([row[n] for n in SE_NAMES])
        np.testing.assert_allclose(got_se, res.bse.to_numpy(), rtol=1e-10)
        got_t = np.array([row[f"{n}_t_stat"] for n in NAMES])
        np.testing.assert_allclose(got_t, res.tvalues.to_numpy(), rtol=1e-9, atol=1e-9)
        assert row["r2"] == pytest.approx(res.rsquared, rel=1e-10)
        assert row["n_obs"] == int(res.nobs)


def test_full_sample_without_intercept_uses_uncentred_r2(panel: pl.DataFrame) -> None:
    out = pf.betas(panel, "ret", FACTORS, add_intercept=False)
    assert "alpha" not in out.columns
    for row in out.iter_rows(named=True):
        d = panel.filter(pl.col("asset") == row["asset"]).to_pandas()
        d = d[np.isfinite(d[["ret", *FACTORS]]).all(axis=1)]
        res = sm.OLS(d["ret"], d[FACTORS]).fit()
        got = np.array([row[f"beta_{f}"] for f in FACTORS])
        np.testing.assert_allclose(got, res.params.to_numpy(), rtol=1e-10)
        got_se = np.array([row[f"beta_{f}_std_error"] for f in FACTORS])
        np.testing.assert_allclose(got_se, res.bse.to_numpy(), rtol=1e-10)
        assert row["r2"] == pytest.approx(res.rsquared, rel=1e-10)


# --- rolling, against statsmodels RollingOLS ----------------------------------------


@pytest.mark.parametrize(("window", "min_periods"), [(30, None), (30, 20), (8, 4), (60, 60)])
def test_rolling_matches_statsmodels_rolling_ols(
    panel: pl.DataFrame, window: int, min_periods: int | None
) -> None:
    out = pf.betas(panel.lazy(), "ret", FACTORS, window=window, min_periods=min_periods).collect()
    # One row per input row, sorted by asset (then date, the order within an asset).
    by_asset = panel.sort("asset", maintain_order=True)
    assert out.select("asset", "date").equals(by_asset.select("asset", "date"))
    for asset in panel["asset"].unique().to_list():
        d = panel.filter(pl.col("asset") == asset)
        mine = out.filter(pl.col("asset") == asset)
        x = d.select(FACTORS).to_pandas()
        x = x.where(np.isfinite(x))  # statsmodels treats NaN (not inf) as missing
        # method="pinv" refits each window from its rows (no moving inner products).
        # With as many observations as parameters statsmodels divides by zero df.
        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = RollingOLS(
                d["ret"].to_pandas(), sm.add_constant(x), window=window, min_nobs=min_periods
            ).fit(method="pinv")
        want = (
            pl.DataFrame(
                {
                    **{n: res.params.iloc[:, j].to_numpy() for j, n in enumerate(NAMES)},
                    **{n: res.bse.iloc[:, j].to_numpy() for j, n in enumerate(SE_NAMES)},
                    "r2": res.rsquared.to_numpy(),
                }
            )
            .with_columns(
                # No residual degree of freedom: statsmodels gives inf/NaN, we give null.
                pl.when(pl.Series(res.nobs > len(NAMES))).then(pl.col(SE_NAMES))
            )
            .fill_nan(None)
        )
        assert_columns_close(mine, want, [*NAMES, *SE_NAMES, "r2"], rtol=1e-8)
        # statsmodels reports nobs 0 where it does not fit; ours counts the window.
        fitted = mine["alpha"].is_not_null().to_numpy()
        np.testing.assert_array_equal(mine["n_obs"].to_numpy()[fitted], res.nobs[fitted])


def test_expanding_matches_statsmodels_expanding(panel: pl.DataFrame) -> None:
    out = pf.betas(panel, "ret", FACTORS, window="expanding", min_periods=10)
    for asset in ["A0", "A3"]:
        d = panel.filter(pl.col("asset") == asset)
        mine = out.filter(pl.col("asset") == asset)
        x = d.select(FACTORS).to_pandas()
        x = x.where(np.isfinite(x))
        res = RollingOLS(
            d["ret"].to_pandas(), sm.add_constant(x), window=d.height, min_nobs=10, expanding=True
        ).fit(method="pinv")
        want = pl.DataFrame(
            {
                **{n: res.params.iloc[:, j].to_numpy() for j, n in enumerate(NAMES)},
                **{n: res.bse.iloc[:, j].to_numpy() for j, n in enumerate(SE_NAMES)},
                "r2": res.rsquared.to_numpy(),
            }
        ).fill_nan(None)
        assert_columns_close(mine, want, [*NAMES, *SE_NAMES, "r2"], rtol=1e-8)


# --- time-based and exponentially weighted windows, against an explicit lstsq --------

CASES = [
    pytest.param({"window": "30d"}, id="30d"),
    pytest.param({"window": "1mo", "min_periods": 6}, id="1mo"),
    pytest.param({"window": None, "half_life": 40.0}, id="full-hl"),
    pytest.param({"window": 25, "half_life": 10.0}, id="rows-hl"),
    pytest.param({"window": "expanding", "half_life": 15.0}, id="expanding-hl"),
    pytest.param({"window": "45d", "half_life": 7.5}, id="duration-hl"),
    pytest.param({"window": 20, "weights": "w"}, id="rows-weights"),
    pytest.param({"window": "40d", "half_life": 12.0, "weights": "w"}, id="duration-hl-w"),
    pytest.param({"window": 20, "intercept": False}, id="rows-no-intercept"),
]


@pytest.mark.parametrize("case", CASES)
def test_windows_match_explicit_weighted_lstsq(rng: np.random.Generator, case: dict) -> None:
    panel = make_ts_panel(rng, n_dates=90, n_assets=4, gappy=True)
    intercept = case.pop("intercept", True)
    window = case["window"]
    out = pf.betas(panel, "ret", FACTORS, add_intercept=intercept, **case)
    want = rolling_oracle(panel, "ret", FACTORS, intercept=intercept, **case)
    names = (["alpha"] if intercept else []) + [f"beta_{f}" for f in FACTORS]
    columns = [*names, *(f"{n}_std_error" for n in names), "r2"]
    # The oracle keeps input order (``_i``); ours is sorted by asset, then date.
    want = want.sort("asset", "_i")
    if window is not None:
        assert out.height == panel.height
    assert_columns_close(out, want, columns, rtol=1e-9)
    got_n = out["n_obs"].to_list()
    assert got_n == want["n_obs"].to_list()


def test_integer_dates_with_integer_duration(rng: np.random.Generator) -> None:
    panel = make_ts_panel(rng, n_dates=80, n_assets=3, gappy=True).with_columns(
        pl.col("day").alias("date")
    )
    out = pf.betas(panel, "ret", FACTORS, window="20i", min_periods=6)
    want = rolling_oracle(panel, "ret", FACTORS, window="20i", min_periods=6, integer_dates=True)
    want = want.sort("asset", "_i")
    assert_columns_close(out, want, [*NAMES, *SE_NAMES, "r2"], rtol=1e-9)


# --- engines, hand cases, degenerate windows -----------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"window": None},
        {"window": 25},
        {"window": "expanding", "half_life": 10.0},
        {"window": "30d", "half_life": 5.0},
        {"window": None, "half_life": 30.0},
    ],
)
def test_eager_lazy_streaming_agree(panel: pl.DataFrame, kwargs: dict) -> None:
    eager = pf.betas(panel, "ret", FACTORS, **kwargs)
    lazy = panel.lazy().factors.betas("ret", FACTORS, **kwargs)
    assert isinstance(lazy, pl.LazyFrame)
    for engine in ["in-memory", "streaming"]:
        got = lazy.collect(engine=engine)
        assert got.columns == eager.columns
        assert got.select("asset", *(["date"] if kwargs["window"] else [])).equals(
            eager.select("asset", *(["date"] if kwargs["window"] else []))
        )
        assert_columns_close(got, eager, [*NAMES, *SE_NAMES, "r2"], rtol=1e-12)


def test_hand_exact_fit() -> None:
    # y = 0.5 + 2 x exactly: alpha 0.5, beta 2, R^2 1, zero standard errors.
    x = [1.0, 2.0, 4.0, 7.0]
    df = pl.DataFrame({"date": [1, 2, 3, 4], "asset": "a", "x": x, "y": [0.5 + 2 * v for v in x]})
    row = pf.betas(df, "y", "x").row(0, named=True)
    assert row["alpha"] == pytest.approx(0.5, abs=1e-12)
    assert row["beta_x"] == pytest.approx(2.0, abs=1e-12)
    assert row["r2"] == pytest.approx(1.0, abs=1e-12)
    assert row["beta_x_std_error"] == pytest.approx(0.0, abs=1e-7)
    assert row["n_obs"] == 4


def test_hand_two_point_window_and_degrees_of_freedom() -> None:
    # Window of 2 rows with 2 parameters: an exact line through two points, no df.
    df = pl.DataFrame({"date": [1, 2, 3], "asset": "a", "x": [0.0, 1.0, 3.0], "y": [1.0, 3.0, 4.0]})
    out = pf.betas(df, "y", "x", window=2)
    assert out["beta_x"].to_list() == [None, pytest.approx(2.0), pytest.approx(0.5)]
    assert out["alpha"].to_list() == [None, pytest.approx(1.0), pytest.approx(2.5)]
    assert out["beta_x_std_error"].to_list() == [None, None, None]
    assert out["n_obs"].to_list() == [None, 2, 2]


def test_degenerate_windows_give_nulls_not_garbage() -> None:
    n = 12
    x = [0.01 * ((i * 7) % 5 - 2) for i in range(n)]
    df = pl.DataFrame(
        {
            "date": list(range(n)),
            "asset": "a",
            "x": x,
            # Constant for the first 6 rows: no spread there.
            "z": [0.02] * 6 + [0.01 * (i % 3) for i in range(6)],
            "twice": [2.0 * v for v in x],
            "y": [0.001 * i for i in range(n)],
        }
    )
    # Windows 3..5 (full, within the first 6 rows) have a constant z, collinear with
    # the intercept: 3 fits with enough observations and no coefficients.
    with pytest.warns(pf.DataLossWarning, match=r"'alpha': 3 fits became null \(fits with"):
        out = pf.betas(df, "y", ["x", "z"], window=4)
    assert out["beta_z"][:6].is_null().all()
    assert out["beta_z"][9:].is_not_null().all()
    with pytest.warns(pf.DataLossWarning, match=r"'alpha': 1 fits became null .*collinear"):
        collinear = pf.betas(df, "y", ["x", "twice"])
    assert collinear.select(pl.all().exclude("asset", "n_obs")).null_count().row(0) == tuple(
        [1] * (collinear.width - 2)
    )
    assert collinear["n_obs"].item() == n


def test_missing_rows_stay_in_the_window_and_are_counted_out() -> None:
    df = pl.DataFrame(
        {
            "date": list(range(8)),
            "asset": "a",
            "x": [0.0, 1.0, 2.0, None, 4.0, 5.0, 3.0, 1.0],
            "y": [1.0, 2.1, 2.9, 4.0, float("nan"), 6.2, 3.9, 2.0],
        }
    )
    out = pf.betas(df, "y", "x", window=4, min_periods=3)
    assert out["n_obs"].to_list() == [None, None, None, 3, 2, 2, 2, 3]
    assert out["beta_x"].is_not_null().to_list() == [False] * 3 + [True] + [False] * 3 + [True]


def test_factor_frame_join_and_rolling_on_real_layout(panel: pl.DataFrame) -> None:
    factors = panel.select("date", *FACTORS).unique("date", keep="first").sort("date")
    returns = panel.select("date", "asset", "ret")
    joined = pf.join_factors(returns.lazy(), factors.lazy())
    out = pf.betas(joined, "ret", FACTORS, window=30).collect()
    eager = returns.join(factors, on="date", how="left", maintain_order="left")
    direct = pf.betas(eager, "ret", FACTORS, window=30)
    assert_columns_close(out, direct, [*NAMES, "r2"], rtol=1e-12)


# --- join_factors ----------------------------------------------------------------------


def test_join_factors_keeps_rows_and_order() -> None:
    panel = pl.DataFrame({"date": [3, 1, 2, 1, 9], "asset": ["a", "a", "b", "b", "c"]})
    factors = pl.DataFrame({"date": [1, 2, 3], "mkt": [0.1, 0.2, 0.3], "smb": [1.0, 2.0, 3.0]})
    with pytest.warns(pf.DataLossWarning, match=r"1 of 5 panel rows \(20%\)"):
        out = pf.join_factors(panel, factors)
    assert out.select("date", "asset").equals(panel)
    assert out["mkt"].to_list() == [0.3, 0.1, 0.2, 0.1, None]
    lazy = panel.lazy().factors.join_factors(factors)
    assert lazy.collect(engine="streaming").equals(out)


def test_join_factors_errors() -> None:
    panel = pl.DataFrame({"date": [1, 2], "asset": ["a", "a"], "mkt": [0.0, 0.0]})
    with pytest.raises(
        pf.DuplicateKeyError, match=r"`factors` has 2 rows for repeated \('date'\) keys"
    ):
        pf.join_factors(panel.drop("mkt"), pl.DataFrame({"date": [1, 1], "f": [0.1, 0.2]}))
    with pytest.raises(ValueError, match=r"\['mkt'\] are already panel columns"):
        pf.join_factors(panel, pl.DataFrame({"date": [1], "mkt": [0.1]}))
    with pytest.raises(pf.SchemaError, match="cast one to the other"):
        pf.join_factors(panel, pl.DataFrame({"date": [1.0], "f": [0.1]}))
    with pytest.raises(pf.ColumnNotFoundError, match="date column of the factors"):
        pf.join_factors(panel, pl.DataFrame({"day": [1], "f": [0.1]}))
    with pytest.raises(ValueError, match="no factor column"):
        pf.join_factors(panel, pl.DataFrame({"date": [1]}))
    with pytest.raises(TypeError, match="`factors` must be"):
        pf.join_factors(panel, {"date": [1]})  # type: ignore[arg-type]


# --- bad input -------------------------------------------------------------------------


def test_errors(panel: pl.DataFrame) -> None:
    with pytest.raises(pf.ColumnNotFoundError, match="Did you mean 'hml'"):
        pf.betas(panel, "ret", ["mkt", "hlm"])
    with pytest.raises(pf.InsufficientDataError, match="shorter than the number of parameters"):
        pf.betas(panel, "ret", FACTORS, window=3)
    with pytest.raises(ValueError, match="below the number of parameters"):
        pf.betas(panel, "ret", FACTORS, window=10, min_periods=2)
    with pytest.raises(ValueError, match="larger than the window"):
        pf.betas(panel, "ret", FACTORS, window=10, min_periods=11)
    with pytest.raises(pf.UnsortedError, match="increasing 'date' order"):
        pf.betas(panel.reverse(), "ret", FACTORS, window=10)
    with pytest.raises(pf.DuplicateKeyError, match="duplicate"):
        pf.betas(pl.concat([panel, panel.head(3)]), "ret", FACTORS)
    with pytest.raises(pf.WeightError, match="negative"):
        pf.betas(panel.with_columns(w=pl.col("w") - 1.0), "ret", FACTORS, weights="w")
    with pytest.raises(pf.SchemaError, match="must be numeric"):
        pf.betas(panel.with_columns(pl.col("mkt").cast(pl.String)), "ret", FACTORS)
    with pytest.raises(pf.SchemaError, match="needs a Date or Datetime"):
        pf.betas(panel, "ret", FACTORS, window="30d", date="day")
    with pytest.raises(ValueError, match="not 'expanding' nor a Polars duration"):
        pf.betas(panel, "ret", FACTORS, window="30 days")
    with pytest.raises(ValueError, match="must be positive"):
        pf.betas(panel, "ret", FACTORS, half_life=0)
    with pytest.raises(ValueError, match="also listed in `factors`"):
        pf.betas(panel, "ret", ["ret", "mkt"])
    with pytest.raises(ValueError, match="at least one column"):
        pf.betas(panel, "ret", [])
    with pytest.raises(pf.InvalidDataError, match="null 'date'"):
        pf.betas(panel.with_columns(date=pl.lit(None, pl.Date)), "ret", FACTORS, window=10)
    with pytest.raises(TypeError, match="`window` must be"):
        pf.betas(panel, "ret", FACTORS, window=2.5)  # type: ignore[arg-type]


def test_full_sample_does_not_need_sorted_rows(panel: pl.DataFrame) -> None:
    # Without a window or decay the row order cannot matter, so it is not required.
    shuffled = panel.sample(fraction=1.0, shuffle=True, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = pf.betas(shuffled, "ret", FACTORS)
    assert_columns_close(got, pf.betas(panel, "ret", FACTORS), [*NAMES, "r2"], rtol=1e-12)


@pytest.mark.parametrize("window", [None, 30, "expanding"])
def test_columns_named_like_temporaries(panel: pl.DataFrame, window: int | str | None) -> None:
    # `_pf_ts_cx0` was the fixed name of the first regressor's per-asset shift (a user
    # factor of that name was overwritten by it: silently wrong betas), `_row` the fixed
    # row number of the time-order check (an asset column of that name failed), and
    # `__pf_ts_x0` starts like today's temporary columns: all are ordinary names now.
    names = {"mkt": "_pf_ts_cx0", "smb": "__pf_ts_x0", "asset": "_row"}
    renamed = panel.rename(names)
    got = pf.betas(renamed, "ret", [names.get(f, f) for f in FACTORS], window=window, asset="_row")
    expected = pf.betas(panel, "ret", FACTORS, window=window)
    back = {"_row": "asset"}
    for old, new in names.items():
        if old in FACTORS:
            back |= {f"beta_{new}{s}": f"beta_{old}{s}" for s in ("", "_std_error", "_t_stat")}
    assert_frame_equal(got.rename(back), expected)


@pytest.mark.parametrize("window", [None, 10, "expanding"])
def test_infinite_half_life_means_equal_weights(panel: pl.DataFrame, window: Any) -> None:
    # One meaning across the package: math.inf is no decay, the same as the default.
    equal = pf.betas(panel, "ret", FACTORS, window=window)
    inf = pf.betas(panel, "ret", FACTORS, window=window, half_life=math.inf)
    assert_frame_equal(inf, equal)
