"""betas with robust standard errors (cov_type HC0, HC1, HAC) against statsmodels.

Oracles, none sharing code with polars_factors:

- statsmodels ``OLS``/``WLS(...).fit(cov_type=...)`` per asset and per window, on
  windows where every row is used (HAC lags then count the same rows);
- statsmodels ``RollingOLS(...).fit(cov_type="HCCM")`` (HC0) for rolling windows;
- an explicit sandwich per window (``sandwich`` below): the bread from
  ``np.linalg.inv`` of the used rows' weighted cross-products, the scores
  :math:`u_t = w_t e_t x_t` laid out on every row of the window (zero where a row is
  not used, so that such a row still counts as a lag step) and the meat from
  statsmodels' ``S_hac_simple`` (its raw sum, no division by ``n``);
- numpy formulas written out by hand for a tiny series.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.regression.rolling import RollingOLS
from statsmodels.stats.sandwich_covariance import S_hac_simple

import polars_factors as pf
from tests.oracle_ts import window_rows
from tests.regression.test_betas import (
    FACTORS,
    NAMES,
    SE_NAMES,
    assert_columns_close,
    make_ts_panel,
)

#: Relative tolerance of every comparison with statsmodels or numpy (of each column's
#: largest magnitude, see ``assert_columns_close``).
RTOL = 1e-9
#: Eager against lazy, in-memory against streaming: the same sums, other orders.
RTOL_ENGINES = 1e-12

T_NAMES = [f"{n}_t_stat" for n in NAMES]
#: (cov_type, nw_lags) pairs tested against the oracles.
COVS = [
    pytest.param("HC0", None, id="HC0"),
    pytest.param("HC1", None, id="HC1"),
    pytest.param("HAC", 0, id="HAC0"),
    pytest.param("HAC", 1, id="HAC1"),
    pytest.param("HAC", 5, id="HAC5"),
]
SETTINGS = settings(max_examples=8, deadline=None)


def names_of(factors: list[str], *, intercept: bool = True) -> list[str]:
    return (["alpha"] if intercept else []) + [f"beta_{f}" for f in factors]


def stat_columns(names: list[str]) -> list[str]:
    return [*names, *(f"{n}_std_error" for n in names), *(f"{n}_t_stat" for n in names)]


def engine_for(window: object, cov_type: str) -> Any:
    """The engine of an eager call in the oracle tests.

    An int window with HAC sums many lagged products per row, which the streaming
    engine runs several times slower than the in-memory one; the oracle tests use the
    latter there to stay fast, and ``test_eager_lazy_and_engines_agree`` checks that
    both engines give the same numbers.
    """
    return "in-memory" if isinstance(window, int) and cov_type == "HAC" else "auto"


def messy_panel(rng: np.random.Generator, *, n_dates: int = 70, n_assets: int = 3) -> pl.DataFrame:
    """``make_ts_panel`` (nulls, NaN, inf, ragged, gappy) plus zero and null weights."""
    panel = make_ts_panel(rng, n_dates=n_dates, n_assets=n_assets, gappy=True)
    u = pl.Series(rng.random(panel.height))
    return panel.with_columns(
        w=pl.when(u < 0.05).then(0.0).when(u < 0.08).then(None).otherwise(pl.col("w"))
    )


def clean_panel(rng: np.random.Generator, *, n_dates: int = 60, n_assets: int = 3) -> pl.DataFrame:
    """Every row used (gappy dates are absent rows, not unused ones)."""
    return make_ts_panel(rng, n_dates=n_dates, n_assets=n_assets, missing=0.0, gappy=True)


# --- oracles ---------------------------------------------------------------------------


def sandwich(
    y: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    used: np.ndarray,
    *,
    intercept: bool,
    cov_type: str,
    nw_lags: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and robust standard errors of one window (rows in time order).

    ``used`` marks the rows in the fit; the others get a zero score but keep their
    place, so a HAC lag pairs rows ``l`` rows apart in the window, used or not.
    """
    m = len(y)
    design = np.column_stack([np.ones(m), x]) if intercept else x
    p = design.shape[1]
    xu, yu, wu = design[used], y[used], w[used]
    n = len(yu)
    sw = np.sqrt(wu)
    params = np.linalg.lstsq(xu * sw[:, None], yu * sw, rcond=None)[0]
    bread = np.linalg.inv(xu.T @ (xu * wu[:, None]))
    scores = np.zeros((m, p))
    scores[used] = (wu * (yu - xu @ params))[:, None] * xu
    meat = S_hac_simple(scores, nlags=nw_lags) if cov_type == "HAC" else scores.T @ scores
    if n <= p:  # no residual degree of freedom: no standard error
        return params, np.full(p, np.nan)
    cov = bread @ meat @ bread
    if cov_type == "HC1":
        cov = cov * n / (n - p)
    return params, np.sqrt(np.diag(cov))


def sandwich_oracle(
    df: pl.DataFrame,
    factors: list[str],
    *,
    window: int | str | None,
    cov_type: str,
    nw_lags: int | None = None,
    min_periods: int | None = None,
    half_life: float | None = None,
    intercept: bool = True,
    weights: str | None = None,
) -> pl.DataFrame:
    """One row per input row (per asset for ``window=None``), in the output's order."""
    names = names_of(factors, intercept=intercept)
    p = len(names)
    min_obs = p if min_periods is None else min_periods
    records: list[dict[str, object]] = []
    for (asset,), group in df.group_by(["asset"], maintain_order=True):
        y = group["ret"].cast(pl.Float64).to_numpy()
        x = group.select(factors).cast(pl.Float64).to_numpy()
        w = np.ones(len(y)) if weights is None else group[weights].cast(pl.Float64).to_numpy()
        ok = np.isfinite(y) & np.isfinite(x).all(axis=1) & np.isfinite(w)
        ok &= np.where(ok, w, 0.0) > 0
        dates = group["date"].to_list()
        ends = [len(y) - 1] if window is None else range(len(y))
        for t in ends:
            rec: dict[str, object] = {"asset": asset, "date": dates[t], "n_obs": None}
            rec |= dict.fromkeys(stat_columns(names))
            records.append(rec)
            if isinstance(window, int) and t < window - 1:
                continue
            rows = window_rows(dates, t, window)
            used = ok[rows]
            rec["n_obs"] = int(used.sum())
            if used.sum() < min_obs:
                continue
            ww = np.where(ok[rows], w[rows], 0.0)
            if half_life is not None:
                ww = ww * 0.5 ** ((t - rows) / half_life)
            params, se = sandwich(
                y[rows],
                x[rows],
                ww,
                used,
                intercept=intercept,
                cov_type=cov_type,
                nw_lags=nw_lags,
            )
            for j, name in enumerate(names):
                rec[name] = float(params[j])
                if np.isfinite(se[j]):
                    rec[f"{name}_std_error"] = float(se[j])
                    rec[f"{name}_t_stat"] = float(params[j] / se[j])
    schema = dict.fromkeys(stat_columns(names), pl.Float64)
    out = pl.DataFrame(
        records, schema={"asset": pl.String, "date": pl.Date, "n_obs": pl.Int64, **schema}
    )
    return out.sort("asset", maintain_order=True)


def sm_fit(
    y: np.ndarray, x: np.ndarray, w: np.ndarray | None, cov_type: str, nw_lags: int | None
) -> Any:
    model = sm.OLS(y, x) if w is None else sm.WLS(y, x, weights=w)
    if cov_type == "HAC":
        return model.fit(cov_type="HAC", cov_kwds={"maxlags": nw_lags})
    return model.fit(cov_type=cov_type)


def assert_row_matches(row: dict[str, Any], res: Any, names: list[str]) -> float:
    """Our output row against a statsmodels result; returns the largest relative error."""
    worst = 0.0
    for attr, suffix in [("params", ""), ("bse", "_std_error"), ("tvalues", "_t_stat")]:
        want = np.asarray(getattr(res, attr), dtype=float)
        got = np.array([row[f"{n}{suffix}"] for n in names], dtype=float)
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=RTOL * np.abs(want).max())
        worst = max(worst, float(np.max(np.abs(got - want) / np.abs(want).max())))
    return worst


# --- full sample against statsmodels OLS / WLS ------------------------------------------

VARIANTS = [
    pytest.param({}, id="ols"),
    pytest.param({"weights": "w"}, id="wls"),
    pytest.param({"half_life": 15.0}, id="half-life"),
    pytest.param({"half_life": 15.0, "weights": "w"}, id="half-life-wls"),
    pytest.param({"add_intercept": False}, id="no-intercept"),
]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(("cov_type", "nw_lags"), COVS)
def test_full_sample_matches_statsmodels(
    rng: np.random.Generator, variant: dict, cov_type: str, nw_lags: int | None
) -> None:
    panel = clean_panel(rng)
    out = pf.betas(panel, "ret", FACTORS, cov_type=cov_type, nw_lags=nw_lags, **variant)
    intercept = variant.get("add_intercept", True)
    names = names_of(FACTORS, intercept=intercept)
    assert out["asset"].to_list() == sorted(panel["asset"].unique().to_list())
    for row in out.iter_rows(named=True):
        d = panel.filter(pl.col("asset") == row["asset"])  # in date order
        x = d.select(FACTORS).to_numpy()
        x = sm.add_constant(x, prepend=True) if intercept else x
        w = d["w"].to_numpy() if "weights" in variant else np.ones(d.height)
        if "half_life" in variant:
            w = w * 0.5 ** (np.arange(d.height)[::-1] / variant["half_life"])
        weighted = "weights" in variant or "half_life" in variant
        res = sm_fit(d["ret"].to_numpy(), x, w if weighted else None, cov_type, nw_lags)
        assert_row_matches(row, res, names)
        assert row["n_obs"] == d.height


# --- rolling and expanding windows, each window against statsmodels -------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"window": 20}, id="rows"),
        pytest.param({"window": 20, "half_life": 10.0, "weights": "w"}, id="rows-hl-wls"),
        pytest.param({"window": "expanding", "min_periods": 8}, id="expanding"),
        pytest.param({"window": "expanding", "half_life": 10.0, "min_periods": 8}, id="exp-hl"),
    ],
)
@pytest.mark.parametrize(("cov_type", "nw_lags"), COVS)
def test_windows_match_statsmodels_per_window(
    rng: np.random.Generator, kwargs: dict, cov_type: str, nw_lags: int | None
) -> None:
    # Every row is used, so statsmodels on a window's rows is the exact reference,
    # lags included. Every window with an estimate is checked, the first one included.
    panel = clean_panel(rng, n_dates=50)
    window = kwargs["window"]
    out = pf.betas(
        panel,
        "ret",
        FACTORS,
        cov_type=cov_type,
        nw_lags=nw_lags,
        engine=engine_for(window, cov_type),
        **kwargs,
    )
    min_obs = kwargs.get("min_periods", len(NAMES))
    half_life = kwargs.get("half_life")
    checked = 0
    for asset in panel["asset"].unique(maintain_order=True).to_list():
        d = panel.filter(pl.col("asset") == asset)
        mine = out.filter(pl.col("asset") == asset)
        y, x = d["ret"].to_numpy(), sm.add_constant(d.select(FACTORS).to_numpy(), prepend=True)
        w_obs = d["w"].to_numpy() if "weights" in kwargs else np.ones(d.height)
        first = window - 1 if isinstance(window, int) else min_obs - 1
        assert mine["alpha"][:first].is_null().all()
        for t in range(first, d.height):
            rows = np.arange(max(0, t - window + 1) if isinstance(window, int) else 0, t + 1)
            w = w_obs[rows]
            if half_life is not None:
                w = w * 0.5 ** ((t - rows) / half_life)
            weighted = half_life is not None or "weights" in kwargs
            res = sm_fit(y[rows], x[rows], w if weighted else None, cov_type, nw_lags)
            assert_row_matches(mine.row(t, named=True), res, NAMES)
            checked += 1
    assert checked > 30


@pytest.mark.parametrize("window", [12, 30])
def test_rolling_hc0_matches_rolling_ols_hccm(rng: np.random.Generator, window: int) -> None:
    # statsmodels RollingOLS drops missing rows inside each window (they stay in it), as
    # we do; its HCCM is HC0. On a messy panel, every full window with a residual
    # degree of freedom is compared.
    panel = make_ts_panel(rng, n_dates=90, n_assets=4, gappy=True)
    out = pf.betas(panel, "ret", FACTORS, window=window, cov_type="HC0")
    compared = 0
    for asset in panel["asset"].unique().to_list():
        d = panel.filter(pl.col("asset") == asset)
        mine = out.filter(pl.col("asset") == asset)
        x = d.select(FACTORS).to_pandas()
        x = x.where(np.isfinite(x))  # statsmodels treats NaN (not inf) as missing
        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = RollingOLS(d["ret"].to_pandas(), sm.add_constant(x), window=window).fit(
                method="pinv", cov_type="HCCM"
            )
        # statsmodels divides by no degree of freedom for HC0: with n = p observations
        # it gives a finite HCCM, we give null (as for the classical errors).
        dof = pl.Series(res.nobs > len(NAMES))
        want = (
            pl.DataFrame(
                {
                    **{n: res.params.iloc[:, j].to_numpy() for j, n in enumerate(NAMES)},
                    **{n: res.bse.iloc[:, j].to_numpy() for j, n in enumerate(SE_NAMES)},
                }
            )
            .fill_nan(None)
            .with_columns(pl.when(dof).then(pl.col(SE_NAMES)))
            .with_columns(
                (pl.col(n) / pl.col(f"{n}_std_error")).alias(f"{n}_t_stat") for n in NAMES
            )
        )
        assert_columns_close(mine, want, [*NAMES, *SE_NAMES, *T_NAMES], rtol=RTOL)
        compared += int(want["alpha_std_error"].is_not_null().sum())
    assert compared > 100


# --- messy panels against the explicit sandwich -----------------------------------------

CASES = [
    pytest.param({"window": None}, id="full"),
    pytest.param({"window": None, "half_life": 20.0, "weights": "w"}, id="full-hl-w"),
    pytest.param({"window": None, "intercept": False}, id="full-no-intercept"),
    pytest.param({"window": 25}, id="rows"),
    pytest.param({"window": 25, "half_life": 10.0, "weights": "w"}, id="rows-hl-w"),
    pytest.param({"window": 20, "intercept": False, "min_periods": 10}, id="rows-no-intercept"),
    pytest.param({"window": "expanding", "min_periods": 8}, id="expanding"),
    pytest.param({"window": "expanding", "half_life": 12.0, "weights": "w"}, id="expanding-hl-w"),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(("cov_type", "nw_lags"), COVS)
def test_messy_panels_match_sandwich_oracle(
    rng: np.random.Generator, case: dict, cov_type: str, nw_lags: int | None
) -> None:
    # Nulls, NaN, inf, zero and null weights, ragged and gappy histories: unused rows
    # have a zero score but are still lag steps (and window rows).
    panel = messy_panel(rng)
    case = dict(case)
    intercept = case.pop("intercept", True)
    window = case["window"]
    out = pf.betas(
        panel,
        "ret",
        FACTORS,
        add_intercept=intercept,
        cov_type=cov_type,
        nw_lags=nw_lags,
        engine=engine_for(window, cov_type),
        **case,
    )
    want = sandwich_oracle(
        panel, FACTORS, intercept=intercept, cov_type=cov_type, nw_lags=nw_lags, **case
    )
    names = names_of(FACTORS, intercept=intercept)
    if window is not None:
        assert out.select("asset", "date").equals(want.select("asset", "date"))
    assert_columns_close(out, want, stat_columns(names), rtol=RTOL)
    assert out["n_obs"].to_list() == want["n_obs"].to_list()
    # The panel does exercise unused rows inside estimated windows.
    assert want.filter(pl.col(f"{names[0]}_std_error").is_not_null()).height > 0


@pytest.mark.parametrize("nw_lags", [1, 3])
def test_hac_lag_pairs_skip_unused_rows_but_count_them(
    rng: np.random.Generator, nw_lags: int
) -> None:
    # The HAC meat of a series with unused rows differs from statsmodels on the used
    # rows only (which would pair rows across the gap as adjacent): ours matches the
    # full-length scores with zeros, and not the compressed series.
    panel = clean_panel(rng, n_dates=80, n_assets=1)
    y = panel["ret"].to_numpy().copy()
    y[[5, 6, 20, 41]] = np.nan
    panel = panel.with_columns(ret=pl.Series(y)).fill_nan(None)
    row = pf.betas(panel, "ret", FACTORS, cov_type="HAC", nw_lags=nw_lags).row(0, named=True)
    got = np.array([row[n] for n in SE_NAMES])
    want = sandwich_oracle(panel, FACTORS, window=None, cov_type="HAC", nw_lags=nw_lags)
    np.testing.assert_allclose(got, want.select(SE_NAMES).row(0), rtol=RTOL)
    ok = np.isfinite(y)
    x = sm.add_constant(panel.select(FACTORS).to_numpy(), prepend=True)
    compressed = sm_fit(y[ok], x[ok], None, "HAC", nw_lags)
    np.testing.assert_allclose([row[n] for n in NAMES], compressed.params, rtol=RTOL)
    assert np.max(np.abs(got / compressed.bse - 1)) > 1e-6


@pytest.mark.parametrize(
    ("window", "nw_lags"),
    [(6, 5), (6, 10), ("expanding", 30), (None, 100)],
)
def test_more_lags_than_window_rows(
    rng: np.random.Generator, window: int | str | None, nw_lags: int
) -> None:
    # Lags that reach past the window's first row (or the asset's first row) add
    # nothing: S_hac_simple's sum over the pairs that exist.
    panel = messy_panel(rng, n_dates=40)
    out = pf.betas(
        panel, "ret", "mkt", window=window, cov_type="HAC", nw_lags=nw_lags, engine="in-memory"
    )
    want = sandwich_oracle(panel, ["mkt"], window=window, cov_type="HAC", nw_lags=nw_lags)
    assert_columns_close(out, want, stat_columns(names_of(["mkt"])), rtol=RTOL)
    assert out["alpha_std_error"].is_not_null().sum() > 0


# --- duration windows (HC0/HC1) ----------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"window": "30d"}, id="30d"),
        pytest.param({"window": "30d", "half_life": 8.0, "weights": "w"}, id="30d-hl-w"),
    ],
)
@pytest.mark.parametrize("cov_type", ["HC0", "HC1"])
def test_duration_window_matches_sandwich_oracle(
    rng: np.random.Generator, kwargs: dict, cov_type: str
) -> None:
    # The window ending at a row holds the asset's rows dated in (t - 30 days, t].
    panel = messy_panel(rng, n_dates=90)
    out = pf.betas(panel, "ret", FACTORS, cov_type=cov_type, **kwargs)
    want = sandwich_oracle(panel, FACTORS, cov_type=cov_type, **kwargs)
    assert out.select("asset", "date").equals(want.select("asset", "date"))
    assert_columns_close(out, want, stat_columns(NAMES), rtol=RTOL)
    assert out["n_obs"].to_list() == want["n_obs"].to_list()
    assert out["alpha_std_error"].is_not_null().sum() > 50


def test_duration_window_on_clean_windows_matches_statsmodels(rng: np.random.Generator) -> None:
    # The same, directly against statsmodels on each window's rows.
    panel = clean_panel(rng, n_dates=50, n_assets=2)
    for cov_type in ["HC0", "HC1"]:
        out = pf.betas(panel, "ret", FACTORS, window="30d", cov_type=cov_type, min_periods=6)
        checked = 0
        for asset in panel["asset"].unique().to_list():
            d = panel.filter(pl.col("asset") == asset)
            mine = out.filter(pl.col("asset") == asset)
            dates = d["date"].to_list()
            x = sm.add_constant(d.select(FACTORS).to_numpy(), prepend=True)
            for t in range(d.height):
                rows = [j for j in range(t + 1) if dates[j] > dates[t] - dt.timedelta(days=30)]
                if len(rows) < 6:
                    assert mine["alpha"][t] is None
                    continue
                res = sm_fit(d["ret"].to_numpy()[rows], x[rows], None, cov_type, None)
                assert_row_matches(mine.row(t, named=True), res, NAMES)
                checked += 1
        assert checked > 40


# --- engines and laziness ----------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"window": None, "half_life": 15.0, "weights": "w"}, id="full-hl-w"),
        pytest.param({"window": 20, "weights": "w"}, id="rows-w"),
        pytest.param({"window": "expanding", "half_life": 10.0}, id="expanding-hl"),
    ],
)
@pytest.mark.parametrize(("cov_type", "nw_lags"), COVS)
def test_eager_lazy_and_engines_agree(
    rng: np.random.Generator, kwargs: dict, cov_type: str, nw_lags: int | None
) -> None:
    panel = messy_panel(rng, n_dates=50)
    # Streaming an int window with HAC is slow (see engine_for): one factor there.
    factors = ["mkt"] if isinstance(kwargs["window"], int) and cov_type == "HAC" else FACTORS
    opts = {"cov_type": cov_type, "nw_lags": nw_lags, **kwargs}
    eager = pf.betas(panel, "ret", factors, engine=engine_for(kwargs["window"], cov_type), **opts)
    columns = [c for c in eager.columns if c not in ("asset", "date")]
    keys = ["asset", *(["date"] if kwargs["window"] is not None else [])]
    plans = {
        "namespace": panel.lazy().factors.betas("ret", factors, **opts),
        "function": pf.betas(panel.lazy(), "ret", factors, **opts),
    }
    for how, plan in plans.items():
        assert isinstance(plan, pl.LazyFrame), how
        for engine in ["in-memory", "streaming"]:
            got = plan.collect(engine=engine)  # type: ignore[call-overload]
            assert got.columns == eager.columns, (how, engine)
            assert got.select(keys).equals(eager.select(keys)), (how, engine)
            assert_columns_close(got, eager, columns, rtol=RTOL_ENGINES)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"window": None, "cov_type": "HAC", "nw_lags": 2},
        {"window": None, "cov_type": "HC1", "half_life": 10.0},
        {"window": 15, "cov_type": "HAC", "nw_lags": 1, "weights": "w"},
        {"window": "expanding", "cov_type": "HC0"},
        {"window": "30d", "cov_type": "HC1"},
    ],
)
@pytest.mark.parametrize("check_keys", [None, False])
def test_lazy_call_reads_nothing(
    rng: np.random.Generator, collects: list[str], kwargs: dict, check_keys: bool | None
) -> None:
    lf = messy_panel(rng, n_dates=30).lazy()
    before = len(collects)
    out = pf.betas(lf, "ret", ["mkt"], check_keys=check_keys, **kwargs)
    assert isinstance(out, pl.LazyFrame)
    assert len(collects) == before, f"{len(collects) - before} collects at call time"


# --- hand-computed cases -------------------------------------------------------------


def _hand_case() -> tuple[np.ndarray, np.ndarray]:
    x = np.array([0.010, -0.020, 0.015, 0.005, -0.010, 0.030])
    y = np.array([0.012, -0.015, 0.020, 0.001, -0.006, 0.027])
    return x, y


def test_hand_computed_hc0_and_hac1() -> None:
    x, y = _hand_case()
    df = pl.DataFrame({"date": range(6), "asset": "a", "x": x, "y": y})
    # OLS by the normal equations written out.
    n = 6
    xbar, ybar = x.mean(), y.mean()
    beta = np.sum((x - xbar) * (y - ybar)) / np.sum((x - xbar) ** 2)
    alpha = ybar - beta * xbar
    e = y - alpha - beta * x
    z = np.column_stack([np.ones(n), x])
    bread = np.linalg.inv(z.T @ z)
    # HC0: sum_t e_t^2 z_t z_t'.
    meat_hc0 = np.zeros((2, 2))
    for t in range(n):
        meat_hc0 += e[t] ** 2 * np.outer(z[t], z[t])
    # HAC(1): plus (1 - 1/2) * sum_t (u_t u_{t-1}' + u_{t-1} u_t'), u_t = e_t z_t.
    meat_hac1 = meat_hc0.copy()
    for t in range(1, n):
        u_t, u_s = e[t] * z[t], e[t - 1] * z[t - 1]
        meat_hac1 += 0.5 * (np.outer(u_t, u_s) + np.outer(u_s, u_t))
    for cov_type, nw_lags, meat in [("HC0", None, meat_hc0), ("HAC", 1, meat_hac1)]:
        se = np.sqrt(np.diag(bread @ meat @ bread))
        row = pf.betas(df, "y", "x", cov_type=cov_type, nw_lags=nw_lags).row(0, named=True)
        assert row["alpha"] == pytest.approx(alpha, rel=RTOL)
        assert row["beta_x"] == pytest.approx(beta, rel=RTOL)
        assert row["alpha_std_error"] == pytest.approx(se[0], rel=RTOL)
        assert row["beta_x_std_error"] == pytest.approx(se[1], rel=RTOL)
        assert row["beta_x_t_stat"] == pytest.approx(beta / se[1], rel=RTOL)
        assert row["alpha_t_stat"] == pytest.approx(alpha / se[0], rel=RTOL)
    # HC1 = HC0 * n / (n - p), p = 2.
    row = pf.betas(df, "y", "x", cov_type="HC1").row(0, named=True)
    hc0 = np.sqrt(np.diag(bread @ meat_hc0 @ bread))
    assert row["beta_x_std_error"] == pytest.approx(hc0[1] * np.sqrt(6 / 4), rel=RTOL)


def test_hand_computed_weighted_hac1_with_a_missing_row() -> None:
    # Row 3 is missing: it is a lag step, so HAC(1) pairs (0,1), (1,2) and (4,5) only
    # (not (2,4)); weights w_t enter the scores as u_t = w_t e_t z_t.
    x, y = _hand_case()
    x = np.concatenate([x, [0.002, -0.004]])
    y = np.concatenate([y, [0.004, -0.001]])
    w = np.array([1.0, 2.0, 0.5, 1.5, 1.0, 3.0, 1.0, 2.0])
    y_in = y.copy()
    y_in[3] = np.nan
    df = pl.DataFrame({"date": range(8), "asset": "a", "x": x, "y": y_in, "w": w})
    used = [0, 1, 2, 4, 5, 6, 7]
    z = np.column_stack([np.ones(8), x])
    zw = z[used] * w[used][:, None]
    xtwx = z[used].T @ zw
    coef = np.linalg.solve(xtwx, zw.T @ y[used])
    bread = np.linalg.inv(xtwx)
    u = {t: w[t] * (y[t] - z[t] @ coef) * z[t] for t in used}
    meat = sum(np.outer(u[t], u[t]) for t in used)
    for t, s in [(1, 0), (2, 1), (5, 4), (6, 5), (7, 6)]:
        meat = meat + 0.5 * (np.outer(u[t], u[s]) + np.outer(u[s], u[t]))
    se = np.sqrt(np.diag(bread @ meat @ bread))
    row = pf.betas(df, "y", "x", weights="w", cov_type="HAC", nw_lags=1).row(0, named=True)
    assert row["n_obs"] == 7
    assert row["beta_x"] == pytest.approx(coef[1], rel=RTOL)
    assert row["alpha_std_error"] == pytest.approx(se[0], rel=RTOL)
    assert row["beta_x_std_error"] == pytest.approx(se[1], rel=RTOL)
    # The same on the last rows of an int window of 6 rows (rows 2..7): pairs (5,4),
    # (6,5), (7,6), and row 2 with no partner inside the window.
    rolled = pf.betas(
        df, "y", "x", weights="w", cov_type="HAC", nw_lags=1, window=6, engine="in-memory"
    )
    last = rolled.row(7, named=True)
    win = [2, 4, 5, 6, 7]
    zw = z[win] * w[win][:, None]
    xtwx = z[win].T @ zw
    coef = np.linalg.solve(xtwx, zw.T @ y[win])
    bread = np.linalg.inv(xtwx)
    u = {t: w[t] * (y[t] - z[t] @ coef) * z[t] for t in win}
    meat = sum(np.outer(u[t], u[t]) for t in win)
    for t, s in [(5, 4), (6, 5), (7, 6)]:
        meat = meat + 0.5 * (np.outer(u[t], u[s]) + np.outer(u[s], u[t]))
    se = np.sqrt(np.diag(bread @ meat @ bread))
    assert last["n_obs"] == 5
    assert last["beta_x_std_error"] == pytest.approx(se[1], rel=RTOL)
    assert last["alpha_std_error"] == pytest.approx(se[0], rel=RTOL)


# --- null cases --------------------------------------------------------------------------


@pytest.mark.parametrize(("cov_type", "nw_lags"), COVS)
def test_no_degree_of_freedom_gives_null_robust_errors(cov_type: str, nw_lags: int | None) -> None:
    # A window of exactly p = 2 observations: an exact line, coefficients but no df.
    df = pl.DataFrame(
        {
            "date": range(5),
            "asset": "a",
            "x": [0.0, 0.01, 0.03, None, 0.02],
            "y": [0.01, 0.03, 0.04, 0.02, 0.01],
        }
    )
    out = pf.betas(df, "y", "x", window=3, cov_type=cov_type, nw_lags=nw_lags, engine="in-memory")
    # Windows ending at rows 2, 3, 4 hold 3, 2, 2 observations.
    assert out["n_obs"].to_list() == [None, None, 3, 2, 2]
    # Row 3's window is rows 1..3 (observations 1, 2): the line through them.
    assert out["beta_x"][3] == pytest.approx((0.04 - 0.03) / 0.02, rel=RTOL)
    # Row 4's window is rows 2..4 (observations 2, 4): slope 3, intercept -0.05.
    assert out["beta_x"][4] == pytest.approx(3.0, rel=RTOL)
    assert out["alpha"][4] == pytest.approx(-0.05, rel=RTOL)
    assert out["beta_x"].is_not_null().to_list() == [False, False, True, True, True]
    has_df = [False, False, True, False, False]
    for name in ["alpha", "beta_x"]:
        assert out[f"{name}_std_error"].is_not_null().to_list() == has_df
        assert out[f"{name}_t_stat"].is_not_null().to_list() == has_df
    full = pf.betas(df.head(2), "y", "x", cov_type=cov_type, nw_lags=nw_lags)
    assert full["beta_x"].item() == pytest.approx(2.0, rel=RTOL)
    assert full["beta_x_std_error"].item() is None
    assert full["alpha_std_error"].item() is None


# --- errors ------------------------------------------------------------------------------


def test_errors(rng: np.random.Generator) -> None:
    panel = messy_panel(rng, n_dates=30)

    def betas(**kwargs: Any) -> pl.DataFrame:
        return pf.betas(panel, "ret", FACTORS, **kwargs)

    with pytest.raises(ValueError, match=r"unknown cov_type='HC3'; expected one of 'classical'"):
        betas(cov_type="HC3")
    with pytest.raises(ValueError, match=r"'HC0', 'HC1', 'HAC'"):
        betas(cov_type="hac", nw_lags=1)
    with pytest.raises(ValueError, match=r"nw_lags=3 is only used with cov_type='HAC'"):
        betas(cov_type="HC0", nw_lags=3)
    with pytest.raises(ValueError, match=r"nw_lags=0 is only used with cov_type='HAC' \(got 'cl"):
        betas(nw_lags=0)
    with pytest.raises(ValueError, match=r"cov_type='HAC' needs nw_lags="):
        betas(cov_type="HAC")
    for bad in [-1, True, False, 2.0, "2"]:
        with pytest.raises(ValueError, match=r"`nw_lags` must be an int >= 0; got"):
            betas(cov_type="HAC", nw_lags=bad)
    with pytest.raises(ValueError, match=r"not available with a duration window \('40d'\)"):
        betas(cov_type="HAC", nw_lags=2, window="40d")
    integer_dates = panel.with_columns(pl.col("day").alias("date"))
    with pytest.raises(ValueError, match=r"not available with a duration window \('40i'\)"):
        pf.betas(integer_dates, "ret", FACTORS, cov_type="HAC", nw_lags=1, window="40i")
    # HC0/HC1 are fine with a duration window.
    assert pf.betas(panel, "ret", FACTORS, window="40d", cov_type="HC1").height == panel.height


def test_full_sample_hac_needs_time_order(rng: np.random.Generator) -> None:
    # Lags count rows: a full-sample HAC fit, unlike HC0/HC1, depends on the row order.
    panel = messy_panel(rng, n_dates=40)
    shuffled = panel.sample(fraction=1.0, shuffle=True, seed=5)
    with pytest.raises(pf.UnsortedError, match="increasing 'date' order"):
        pf.betas(shuffled, "ret", FACTORS, cov_type="HAC", nw_lags=1)
    plan = pf.betas(shuffled.lazy(), "ret", FACTORS, cov_type="HAC", nw_lags=1)
    with pytest.raises(pf.UnsortedError, match="increasing 'date' order"):
        plan.collect()
    # Without the check the result is that of the shuffled order, not the sorted one.
    unchecked = pf.betas(shuffled, "ret", FACTORS, cov_type="HAC", nw_lags=1, check_keys=False)
    want = sandwich_oracle(shuffled, FACTORS, window=None, cov_type="HAC", nw_lags=1)
    assert_columns_close(unchecked, want, SE_NAMES, rtol=RTOL)
    # HC0 does not need the order.
    hc0 = pf.betas(shuffled, "ret", FACTORS, cov_type="HC0")
    want = sandwich_oracle(panel, FACTORS, window=None, cov_type="HC0")
    assert_columns_close(hc0, want, SE_NAMES, rtol=RTOL)


# --- properties -----------------------------------------------------------------------------

PROPERTY_WINDOWS = st.sampled_from(
    [
        {"window": None},
        {"window": 12, "min_periods": 8},
        {"window": "expanding", "min_periods": 8},
        {"window": 15, "half_life": 6.0, "min_periods": 8},
        {"window": None, "half_life": 20.0},
    ]
)
PROPERTY_COVS = st.sampled_from([("HC0", None), ("HC1", None), ("HAC", 2)])


def property_panel(seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return messy_panel(rng, n_dates=int(rng.integers(25, 50)), n_assets=2)


def run(panel: pl.DataFrame, cov: tuple[str, int | None], **kwargs: Any) -> pl.DataFrame:
    cov_type, nw_lags = cov
    return pf.betas(
        panel, "ret", FACTORS, cov_type=cov_type, nw_lags=nw_lags, engine="in-memory", **kwargs
    )


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    kwargs=PROPERTY_WINDOWS,
    cov=PROPERTY_COVS,
    scale=st.floats(1e-3, 1e3),
)
def test_scaling_the_weights_changes_no_robust_error(
    seed: int, kwargs: dict, cov: tuple[str, int | None], scale: float
) -> None:
    panel = property_panel(seed)
    base = run(panel, cov, weights="w", **kwargs)
    scaled = run(panel.with_columns(pl.col("w") * scale), cov, weights="w", **kwargs)
    assert_columns_close(scaled, base, stat_columns(NAMES), rtol=1e-8)


# Returns scaled up to 1000x look like percent to the units check.
@pytest.mark.filterwarnings("ignore::polars_factors.UnitsWarning")
@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    kwargs=PROPERTY_WINDOWS,
    cov=PROPERTY_COVS,
    scale=st.floats(1e-3, 1e3),
)
def test_robust_errors_scale_with_the_response_and_t_stats_do_not(
    seed: int, kwargs: dict, cov: tuple[str, int | None], scale: float
) -> None:
    panel = property_panel(seed)
    base = run(panel, cov, **kwargs)
    scaled = run(panel.with_columns(pl.col("ret") * scale), cov, **kwargs)
    expected = base.with_columns(pl.col(*NAMES, *SE_NAMES) * scale)
    assert_columns_close(scaled, expected, [*NAMES, *SE_NAMES], rtol=1e-9)
    assert_columns_close(scaled, base, T_NAMES, rtol=1e-7)


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), nw_lags=st.integers(1, 4))
def test_robust_errors_approach_classical_ones_under_homoskedasticity(
    seed: int, nw_lags: int
) -> None:
    # iid normal errors, independent of the regressors, no autocorrelation: HC0 and
    # HAC estimate the same variance as the classical formula, with sampling error of
    # order 1/sqrt(n) (about 2% at n = 4000).
    rng = np.random.default_rng(seed)
    n = 4000
    x = rng.normal(0.0, 0.01, (n, 2))
    y = 0.0002 + x @ np.array([1.1, -0.4]) + rng.normal(0.0, 0.01, n)
    df = pl.DataFrame({"date": np.arange(n), "asset": "a", "ret": y, "f1": x[:, 0], "f2": x[:, 1]})
    classical = pf.betas(df, "ret", ["f1", "f2"]).row(0, named=True)
    names = names_of(["f1", "f2"])
    for cov_type, lags in [("HC0", None), ("HC1", None), ("HAC", nw_lags)]:
        robust = pf.betas(df, "ret", ["f1", "f2"], cov_type=cov_type, nw_lags=lags).row(
            0, named=True
        )
        for name in names:
            ratio = robust[f"{name}_std_error"] / classical[f"{name}_std_error"]
            assert abs(ratio - 1) < 0.1, (cov_type, name, ratio)
    # The classical errors are those of statsmodels (so the limit is the right one).
    res = sm.OLS(y, sm.add_constant(x, prepend=True)).fit()
    np.testing.assert_allclose([classical[f"{n}_std_error"] for n in names], res.bse, rtol=RTOL)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), kwargs=PROPERTY_WINDOWS)
def test_hac_with_no_lags_is_hc0(seed: int, kwargs: dict) -> None:
    panel = property_panel(seed)
    hc0 = run(panel, ("HC0", None), **kwargs)
    hac0 = run(panel, ("HAC", 0), **kwargs)
    assert_columns_close(hac0, hc0, stat_columns(NAMES), rtol=1e-12)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), kwargs=PROPERTY_WINDOWS)
def test_hc1_is_hc0_with_the_degrees_of_freedom_correction(seed: int, kwargs: dict) -> None:
    panel = property_panel(seed)
    hc0 = run(panel, ("HC0", None), **kwargs)
    hc1 = run(panel, ("HC1", None), **kwargs)
    n = hc0["n_obs"].cast(pl.Float64)
    factor = (n / (n - len(NAMES))).sqrt()
    expected = hc0.with_columns(pl.col(SE_NAMES) * factor, pl.col(T_NAMES) / factor)
    assert_columns_close(hc1, expected, [*NAMES, *SE_NAMES, *T_NAMES], rtol=1e-12)
