"""Tests of cross_section against per-date references.

Oracles (``tests/oracle_regression.py``): a plain numpy ``lstsq`` loop over the full
one-hot design with the Barra constraint imposed on a null-space basis of the explicit
constraint row, statsmodels ``WLS`` and statsmodels ``RLM(HuberT)``. Panels are ragged,
shuffled, with nulls, NaN and inf in every model column, zero weights, an industry
missing on one date, a date with too few assets and a date with no usable row.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import polars_factors as pf
from polars_factors.exceptions import DataLossWarning
from polars_factors.regression import _solution
from tests import oracle_regression as oracle
from tests.oracle_regression import Spec

# Unit-scale synthetic returns (N(0, 1) draws) look like percent returns to the
# units check (polars_factors._units); they are not what these tests are about.
pytestmark = pytest.mark.filterwarnings("ignore::polars_factors.UnitsWarning")

RTOL = 1e-8
ATOL = 1e-10

FitFn = Callable[..., Any]
DAY_3 = r"2024-01-26|2024, 1, 26"  # the all-null date of make_panel, str or repr


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20250307)


ENGINES = ["eager", "lazy-in-memory", "lazy-streaming"]


@pytest.fixture(params=ENGINES)
def fit(request: pytest.FixtureRequest) -> FitFn:
    """``cross_section`` on the panel as a DataFrame or LazyFrame; always collected.

    DataLossWarnings (expected on the messy panels) are recorded in ``fit.warnings``.
    """
    kind = request.param

    def _fit(df: pl.DataFrame, **kwargs: Any) -> Any:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataLossWarning)
            if kind == "eager":
                res = pf.cross_section(df, **kwargs)
                frames = (res.factor_returns, res.residuals, res.stats)
                assert all(isinstance(f, pl.DataFrame) for f in frames)
            else:
                engine = "streaming" if kind == "lazy-streaming" else "in-memory"
                res = pf.cross_section(df.lazy(), engine=engine, **kwargs)
                frames = (res.factor_returns, res.residuals, res.stats)
                assert all(isinstance(f, pl.LazyFrame) for f in frames)
                res = res.collect(engine=engine)
        _fit.warnings = [w.message for w in caught]  # type: ignore[attr-defined]
        assert all(isinstance(m, DataLossWarning) for m in _fit.warnings)  # type: ignore[attr-defined]
        return res

    _fit.kind = kind  # type: ignore[attr-defined]
    return _fit


def quiet(frame: Any, **kwargs: Any) -> Any:
    """``cross_section`` collected, DataLossWarnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataLossWarning)
        res = pf.cross_section(frame, **kwargs)
        return res.collect() if isinstance(res.stats, pl.LazyFrame) else res


# --------------------------------------------------------------------------- comparisons


def as_array(s: pl.Series) -> np.ndarray:
    return np.asarray(s.cast(pl.Float64).fill_null(np.nan).to_numpy())


def assert_close(
    got: pl.Series | np.ndarray, expected: pl.Series | np.ndarray, *, rtol: float = RTOL,
    atol: float = ATOL, what: str = "",
) -> None:  # fmt: skip
    g = as_array(got) if isinstance(got, pl.Series) else np.asarray(got, dtype=float)
    e = as_array(expected) if isinstance(expected, pl.Series) else np.asarray(expected, dtype=float)
    assert g.shape == e.shape, what
    np.testing.assert_array_equal(np.isnan(g), np.isnan(e), err_msg=f"null pattern of {what}")
    np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


def solved(stats: pl.DataFrame) -> pl.Series:
    return stats["status"].is_in(["ok", "ill_conditioned", "max_iter"])


def check_against(
    res: Any, df: pl.DataFrame, exp: oracle.Expected, *, spec: Spec, cond: bool = True,
    rtol: float = RTOL, atol: float = ATOL,
) -> None:  # fmt: skip
    fr, st = res.factor_returns, res.stats
    keys = exp.factor_returns.select("date", "factor")
    assert fr.select("date", "factor").equals(keys)
    for col in ["factor_return", "std_error", "t_stat"]:
        assert_close(fr[col], exp.factor_returns[col], rtol=rtol, atol=atol, what=col)
    # residuals: y - X f on used rows, null elsewhere, in input order
    assert res.residuals.select("date", "asset").equals(df.select(spec.date, spec.asset))
    assert_close(res.residuals["residual"], exp.residuals, rtol=rtol, atol=atol, what="residual")
    # stats
    assert st["date"].equals(exp.stats["date"])
    assert st["status"].to_list() == exp.stats["status"].to_list()
    for col in ["n_assets", "n_excluded", "n_factors"]:
        assert st[col].cast(pl.Int64).to_list() == exp.stats[col].to_list(), col
    ok = solved(exp.stats)
    assert st.filter(ok)["iterations"].to_list() == exp.stats.filter(ok)["iterations"].to_list()
    for col in ["r2", "adj_r2"] + (["condition_number"] if cond else []):
        tol = 1e-6 if col == "condition_number" else rtol
        assert_close(st.filter(ok)[col], exp.stats.filter(ok)[col], rtol=tol, atol=atol, what=col)
    for col in ["r2", "adj_r2"]:
        assert st.filter(~ok)[col].null_count() == int((~ok).sum()), col
    # diagnostics: the largest style VIF (statsmodels WLS of each style on the other
    # regressors) on the well-conditioned solved dates, null on unsolved ones; the
    # smallest industry's row count on every date
    well = exp.stats["status"].is_in(["ok", "max_iter"])
    assert_close(
        st.filter(well)["max_vif"],
        exp.stats.filter(well)["max_vif"],
        rtol=1e-8,
        atol=0.0,
        what="max_vif",
    )
    assert st.filter(~ok)["max_vif"].null_count() == int((~ok).sum())
    if spec.exposures and well.any():
        assert exp.stats.filter(well)["max_vif"].null_count() < int(well.sum())  # compared
    assert (
        st["min_industry_assets"].cast(pl.Int64).to_list()
        == exp.stats["min_industry_assets"].to_list()
    )


# --------------------------------------------------------------------------- hand cases


def test_three_assets_two_factors_fit_exactly() -> None:
    # y = 2 x1 - x2 exactly: f = (2, -1), residuals 0, one residual degree of freedom
    # with a zero sum of squares (so std_error ~ 0).
    df = pl.DataFrame(
        {"date": [1, 1, 1], "asset": ["a", "b", "c"], "x1": [1.0, 0.0, 1.0],
         "x2": [0.0, 1.0, 1.0], "y": [2.0, -1.0, 1.0]}
    )  # fmt: skip
    res = pf.cross_section(df, "y", ["x1", "x2"], method="ols")
    fr = res.factor_returns
    assert fr["factor"].to_list() == ["x1", "x2"]
    np.testing.assert_allclose(fr["factor_return"].to_numpy(), [2.0, -1.0], atol=1e-14)
    np.testing.assert_allclose(fr["std_error"].to_numpy(), [0.0, 0.0], atol=1e-7)
    np.testing.assert_allclose(res.residuals["residual"].to_numpy(), 0.0, atol=1e-14)
    st = res.stats.row(0, named=True)
    assert st["n_assets"] == 3
    assert st["n_excluded"] == 0
    assert st["n_factors"] == 2
    assert st["status"] == "ok"
    assert st["iterations"] == 1
    assert st["r2"] == pytest.approx(1.0, abs=1e-14)


def test_as_many_rows_as_factors_gives_returns_without_std_error() -> None:
    # Two rows, two factors: f solves the 2x2 system, no residual degree of freedom.
    # x1 = (1, 1), x2 = (1, 3), y = (3, 7): f1 + f2 = 3, f1 + 3 f2 = 7 -> f = (1, 2)
    df = pl.DataFrame(
        {"date": [5, 5], "asset": ["a", "b"], "x1": [1.0, 1.0], "x2": [1.0, 3.0],
         "y": [3.0, 7.0]}
    )  # fmt: skip
    res = pf.cross_section(df, "y", ["x1", "x2"])
    np.testing.assert_allclose(res.factor_returns["factor_return"].to_numpy(), [1.0, 2.0])
    assert res.factor_returns["std_error"].null_count() == 2
    assert res.factor_returns["t_stat"].null_count() == 2
    assert res.stats["status"].to_list() == ["ok"]
    np.testing.assert_allclose(res.residuals["residual"].to_numpy(), 0.0, atol=1e-14)


def test_country_and_one_style_by_hand() -> None:
    # ret = -0.01 + 0.04 beta exactly (the docstring example).
    lf = pl.LazyFrame(
        {"date": [1, 1, 1], "asset": ["a", "b", "c"], "ret": [0.01, 0.03, 0.05],
         "beta": [0.5, 1.0, 1.5]}
    )  # fmt: skip
    res = lf.factors.cross_section("ret", "beta", country=True).collect()
    assert res.factor_returns["factor"].to_list() == ["beta", "country"]
    np.testing.assert_allclose(
        res.factor_returns["factor_return"].to_numpy(), [0.04, -0.01], atol=1e-14
    )


def industry_frame() -> pl.DataFrame:
    # Industry means: A (1, 3) -> 2, B (6, 8) -> 7. Residuals -1, 1, -1, 1; SSR 4, n - p = 2.
    return pl.DataFrame(
        {"date": [1] * 4, "asset": list("abcd"), "ind": ["A", "A", "B", "B"],
         "ret": [1.0, 3.0, 6.0, 8.0], "mcap": [1.0, 2.0, 0.5, 0.5]}
    )  # fmt: skip


def test_constrained_equal_shares_by_hand() -> None:
    # f_c + f_A = 2, f_c + f_B = 7, (f_A + f_B) / 2 = 0 -> f_c = 4.5, f_A = -2.5, f_B = 2.5.
    # sigma^2 = 4 / 2 = 2; industry means have variance 1 each and are independent:
    # f_c = (m_A + m_B) / 2 and f_A = (m_A - m_B) / 2 both have variance 1/2.
    res = pf.cross_section(industry_frame(), "ret", [], industry="ind", country="market")
    fr = res.factor_returns
    assert fr["factor"].to_list() == ["market", "A", "B"]
    np.testing.assert_allclose(fr["factor_return"].to_numpy(), [4.5, -2.5, 2.5], rtol=1e-14)
    np.testing.assert_allclose(fr["std_error"].to_numpy(), np.sqrt([0.5, 0.5, 0.5]), rtol=1e-12)
    np.testing.assert_allclose(
        fr["t_stat"].to_numpy(), np.array([4.5, -2.5, 2.5]) / np.sqrt(0.5), rtol=1e-12
    )
    np.testing.assert_allclose(res.residuals["residual"].to_numpy(), [-1, 1, -1, 1], atol=1e-14)
    # centred R^2: TSS = 12.25 + 2.25 + 2.25 + 12.25 = 29; adj = 1 - 3/2 * 4/29 = 23/29
    st = res.stats.row(0, named=True)
    assert st["r2"] == pytest.approx(25 / 29, rel=1e-13)
    assert st["adj_r2"] == pytest.approx(23 / 29, rel=1e-13)
    assert st["n_factors"] == 3
    assert st["status"] == "ok"


def test_constrained_cap_shares_by_hand() -> None:
    # shares c_A = 3/4, c_B = 1/4: f_c = 3/4 m_A + 1/4 m_B = 3.25, f_A = -1.25, f_B = 3.75.
    # var f_c = (9/16 + 1/16) 1 = 0.625, f_A = (m_A - m_B)/4: 0.125, f_B = 3(m_B - m_A)/4: 1.125
    res = pf.cross_section(
        industry_frame(), "ret", [], industry="ind", country=True, constraint_weights="mcap"
    )
    fr = res.factor_returns
    assert fr["factor"].to_list() == ["country", "A", "B"]
    np.testing.assert_allclose(fr["factor_return"].to_numpy(), [3.25, -1.25, 3.75], rtol=1e-13)
    np.testing.assert_allclose(
        fr["std_error"].to_numpy(), np.sqrt([0.625, 0.125, 1.125]), rtol=1e-12
    )
    np.testing.assert_allclose(res.residuals["residual"].to_numpy(), [-1, 1, -1, 1], atol=1e-14)


def test_weighted_intercept_with_zero_weight_row() -> None:
    # weighted mean (1 + 2 + 12) / 4 = 3.75 over rows a-c; row d has weight 0.
    # sigma^2 = (2.75^2 + 1.75^2 + 2 * 2.25^2) / (3 - 1) = 10.375, var = sigma^2 / sum w
    df = pl.DataFrame(
        {"date": [1] * 4, "asset": list("abcd"), "ret": [1.0, 2.0, 6.0, 100.0],
         "w": [1.0, 1.0, 2.0, 0.0]}
    )  # fmt: skip
    res = pf.cross_section(df, "ret", [], country=True, weights="w")
    fr = res.factor_returns.row(0, named=True)
    assert fr["factor"] == "country"
    assert fr["factor_return"] == pytest.approx(3.75, rel=1e-14)
    assert fr["std_error"] == pytest.approx(np.sqrt(10.375 / 4), rel=1e-12)
    resid = res.residuals["residual"]
    np.testing.assert_allclose(resid.head(3).to_numpy(), [-2.75, -1.75, 2.25], atol=1e-14)
    assert resid[3] is None
    st = res.stats.row(0, named=True)
    assert (st["n_assets"], st["n_excluded"], st["n_factors"]) == (3, 1, 1)
    assert st["r2"] == pytest.approx(0.0, abs=1e-14)


# --------------------------------------------------------------------------- oracles


CONFIGS: dict[str, Spec] = {
    "ols styles": Spec(method="ols"),
    "wls styles": Spec(weights="w"),
    "wls country (intercept)": Spec(country=True, weights="w"),
    "wls industry only": Spec(industry="ind", weights="w"),
    "ols industry+country equal shares": Spec(industry="ind", country=True, method="ols"),
    "wls industry+country equal shares": Spec(industry="ind", country="market", weights="w"),
    "wls industry+country cap shares": Spec(
        industry="ind", country=True, weights="w", constraint_weights="mcap"
    ),
    "unweighted wls, cap shares": Spec(
        exposures=("value",), industry="ind", country=True, constraint_weights="mcap"
    ),
}


@pytest.mark.parametrize("case", list(CONFIGS), ids=list(CONFIGS))
def test_matches_numpy_oracle(rng: np.random.Generator, fit: FitFn, case: str) -> None:
    spec = CONFIGS[case]
    df = oracle.make_panel(rng)
    res = fit(df, **spec.kwargs())
    exp = oracle.cross_section(df, spec, "numpy")
    assert set(exp.stats["status"]) == {"ok", "no_data", "too_few_assets"}
    check_against(res, df, exp, spec=spec, cond=not spec.constrained)


@pytest.mark.parametrize(
    "case",
    ["ols styles", "wls country (intercept)", "wls industry only",
     "wls industry+country cap shares", "ols industry+country equal shares"],
)  # fmt: skip
def test_matches_statsmodels_wls(rng: np.random.Generator, case: str) -> None:
    spec = CONFIGS[case]
    df = oracle.make_panel(rng, n_dates=6)
    res = quiet(df, **spec.kwargs())
    exp = oracle.cross_section(df, spec, "statsmodels")
    check_against(res, df, exp, spec=spec, cond=False)


def test_industry_only_pure_dummies(rng: np.random.Generator, fit: FitFn) -> None:
    # No styles: each industry factor return is the industry's weighted mean.
    spec = Spec(exposures=(), industry="ind", weights="w")
    df = oracle.make_panel(rng, n_dates=5, tiny_date=False)
    res = fit(df, **spec.kwargs())
    check_against(res, df, oracle.cross_section(df, spec), spec=spec)
    spec = Spec(exposures=(), industry="ind", country=True, weights="w")
    res = fit(df, **spec.kwargs())
    check_against(res, df, oracle.cross_section(df, spec), spec=spec, cond=False)


HUBER: dict[str, Spec] = {
    "styles": Spec(method="huber"),
    "weighted country": Spec(method="huber", country=True, weights="w"),
    "weighted industry": Spec(method="huber", industry="ind", weights="w"),
    "weighted constrained cap": Spec(
        method="huber", industry="ind", country=True, weights="w", constraint_weights="mcap"
    ),
    "unweighted constrained, t=1": Spec(method="huber", industry="ind", country=True, huber_t=1.0),
    "tol 1e-4": Spec(method="huber", country=True, weights="w", tol=1e-4),
}


@pytest.mark.parametrize("case", list(HUBER), ids=list(HUBER))
def test_huber_matches_statsmodels_rlm(rng: np.random.Generator, case: str) -> None:
    spec = HUBER[case]
    df = oracle.make_panel(rng)
    res = quiet(df, **spec.kwargs())
    exp = oracle.cross_section(df, spec, "huber")
    assert {"ok", "no_data", "too_few_assets"} <= set(exp.stats["status"])
    assert exp.stats["iterations"].max() > 3  # really iterated
    check_against(res, df, exp, spec=spec, cond=False)


def test_huber_lazy_and_engines_agree(rng: np.random.Generator, fit: FitFn) -> None:
    spec = HUBER["weighted constrained cap"]
    df = oracle.make_panel(rng, n_dates=5)
    res = fit(df, **spec.kwargs())
    check_against(res, df, oracle.cross_section(df, spec, "huber"), spec=spec, cond=False)


@pytest.mark.parametrize("case", ["weighted industry", "weighted constrained cap"])
def test_huber_streaming_steps_match_statsmodels(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    # Panels from 200,000 rows run the IRLS passes on the streaming engine: force it here.
    from polars_factors.regression import _huber  # noqa: PLC0415

    monkeypatch.setattr(_huber, "_STREAMING_ROWS", 0)
    spec = HUBER[case]
    df = oracle.make_panel(rng)
    res = quiet(df, **spec.kwargs())
    exp = oracle.cross_section(df, spec, "huber")
    assert exp.stats["iterations"].max() > 3
    check_against(res, df, exp, spec=spec, cond=False)


def test_assemble_selected_dates_equals_take(rng: np.random.Generator) -> None:
    # Assembling the systems of some dates only (the Huber steps) equals assembling all
    # and selecting them, in the order asked for.
    from polars_factors.regression._solve import _cross  # noqa: PLC0415

    n_cells, p, n_dates, n_ind = 200, 3, 9, 4
    first = rng.normal(size=(n_cells, p + 1))
    args = {
        "group": rng.integers(0, n_dates, n_cells),
        "industry": np.where(rng.random(n_cells) < 0.1, -1, rng.integers(0, n_ind, n_cells)),
        "count": rng.integers(1, 5, n_cells).astype(float),
        "weight": rng.random(n_cells),
        "first": first,
        "second": rng.normal(size=(n_cells, (p + 1) * (p + 2) // 2)),
        "n_groups": n_dates,
        "n_industries": n_ind,
        "country": True,
    }
    dates = np.array([7, 2, 5])
    part = _cross.assemble(**args, dates=dates)
    whole = _cross.assemble(**args).take(dates)
    for name in ("xtx", "xty", "yty", "n_obs", "w_sum", "wy_sum", "industry_weight"):
        np.testing.assert_array_equal(getattr(part, name), getattr(whole, name), err_msg=name)


ROBUST: dict[str, Spec] = {
    "HC0 wls industry": Spec(industry="ind", weights="w", cov_type="HC0"),
    "HC1 ols styles": Spec(method="ols", cov_type="HC1"),
    "HC1 wls country": Spec(country=True, weights="w", cov_type="HC1"),
    "HC0 constrained cap": Spec(
        industry="ind", country=True, weights="w", constraint_weights="mcap", cov_type="HC0"
    ),
    "HC1 constrained equal": Spec(industry="ind", country=True, cov_type="HC1", method="ols"),
    "HC2 wls industry": Spec(industry="ind", weights="w", cov_type="HC2"),
    "HC3 ols styles": Spec(method="ols", cov_type="HC3"),
    "HC3 wls country": Spec(country=True, weights="w", cov_type="HC3"),
    "HC2 constrained cap": Spec(
        industry="ind", country=True, weights="w", constraint_weights="mcap", cov_type="HC2"
    ),
    "HC3 constrained equal": Spec(industry="ind", country=True, cov_type="HC3", method="ols"),
    "cluster wls industry": Spec(industry="ind", weights="w", cov_type="cluster", cluster="grp"),
    "cluster constrained": Spec(
        industry="ind",
        country=True,
        weights="w",
        constraint_weights="mcap",
        cov_type="cluster",
        cluster="grp",
    ),
    "cluster by industry": Spec(country=True, weights="w", cov_type="cluster", cluster="ind"),
}


def with_groups(df: pl.DataFrame) -> pl.DataFrame:
    """A cluster column: five groups of assets, null for every 13th row."""
    code = pl.col("asset").str.slice(1).cast(pl.Int64)
    return df.with_columns(
        pl.when(pl.int_range(pl.len()) % 13 != 5).then((code % 5).cast(pl.String)).alias("grp")
    )


@pytest.mark.parametrize("case", list(ROBUST), ids=list(ROBUST))
def test_robust_std_errors_match_statsmodels(rng: np.random.Generator, case: str) -> None:
    # HC0-HC3 / clustered standard errors against statsmodels WLS(...).fit(cov_type=...)
    # per date, on the messy panel (nulls, ragged dates, empty industries, a tiny date);
    # rows with a null cluster are left out of the fit, as statsmodels' missing="drop".
    spec = ROBUST[case]
    df = with_groups(oracle.make_panel(rng))
    res = quiet(df, **spec.kwargs())
    exp = oracle.cross_section(df, spec, "statsmodels")
    assert exp.factor_returns["std_error"].drop_nulls().len() > 0
    check_against(res, df, exp, spec=spec, cond=False)


def test_robust_std_errors_lazy_equals_eager(rng: np.random.Generator) -> None:
    spec = ROBUST["cluster constrained"]
    df = with_groups(oracle.make_panel(rng, n_dates=5))
    eager = quiet(df, **spec.kwargs())
    for engine in ("streaming", "in-memory"):
        lazy = quiet(df.lazy(), **spec.kwargs()).collect(engine=engine)
        assert_frame_equal(lazy.factor_returns, eager.factor_returns, rel_tol=1e-12)
        assert_frame_equal(lazy.stats, eager.stats, rel_tol=1e-12)
        assert_frame_equal(lazy.residuals, eager.residuals)
    # Without null clusters the fit is the classical one; only the standard errors change.
    full = df.with_columns(pl.col("grp").fill_null("other"))
    classical = quiet(full, **{**spec.kwargs(), "cov_type": "classical", "cluster": None})
    robust = quiet(full, **spec.kwargs())
    assert_frame_equal(
        classical.factor_returns.select("date", "factor", "factor_return"),
        robust.factor_returns.select("date", "factor", "factor_return"),
    )
    assert_frame_equal(classical.residuals, robust.residuals)


def test_robust_std_errors_near_classical_when_homoskedastic() -> None:
    # Homoskedastic errors independent of the regressors: every robust estimator
    # converges to the classical one; with 20,000 rows they agree within a few percent.
    r = np.random.default_rng(11)
    n = 20_000
    x = r.normal(size=(n, 2))
    df = pl.DataFrame(
        {"date": [1] * n, "asset": [f"a{i}" for i in range(n)], "x1": x[:, 0], "x2": x[:, 1],
         "ind": r.choice(list("ABCD"), n), "grp": (np.arange(n) % 400).astype(str),
         "y": 0.01 * x[:, 0] + 0.02 * r.normal(size=n)}
    )  # fmt: skip
    kw: dict[str, Any] = {"industry": "ind", "method": "ols"}
    classical = pf.cross_section(df, "y", ["x1", "x2"], **kw).factor_returns["std_error"]
    for cov_type, cluster in (
        ("HC0", None), ("HC1", None), ("HC2", None), ("HC3", None), ("cluster", "grp"),
    ):  # fmt: skip
        robust = pf.cross_section(
            df, "y", ["x1", "x2"], cov_type=cov_type, cluster=cluster, **kw
        ).factor_returns["std_error"]
        ratio = (robust / classical).to_numpy()
        assert np.all(np.abs(ratio - 1.0) < 0.1), (cov_type, ratio)


def test_robust_fit_warns_once() -> None:
    # The fit's solve is shared by the three frames: one warning per collect.
    df = pl.DataFrame(
        {"date": [1] * 6 + [2] * 6, "asset": list("abcdef") * 2,
         "x": [1.0, 2, 3, 4, 5, 6, 1, 2, None, None, None, None],
         "y": [0.01, 0.02, -0.01, 0.0, 0.01, 0.03, 0.0, 0.01, 0.02, 0.01, 0.0, -0.01]}
    )  # fmt: skip
    for cov_type in ("HC1", "HC3"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pf.cross_section(df.lazy(), "y", "x", cov_type=cov_type).collect()
        assert [type(w.message) for w in caught] == [DataLossWarning], cov_type


def test_robust_options_are_checked() -> None:
    df = pl.DataFrame({"date": [1, 1, 1], "asset": ["a", "b", "c"], "x": [1.0, 2.0, 0.5],
                       "y": [0.1, 0.2, 0.0], "s": ["u", "v", "u"]})  # fmt: skip
    with pytest.raises(ValueError, match="cov_type"):
        pf.cross_section(df, "y", "x", cov_type="HC9")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs cluster="):
        pf.cross_section(df, "y", "x", cov_type="cluster")
    with pytest.raises(ValueError, match="only used with cov_type='cluster'"):
        pf.cross_section(df, "y", "x", cluster="s")
    with pytest.raises(ValueError, match="H1"):
        pf.cross_section(df, "y", "x", method="huber", cov_type="HC0")
    with pytest.raises(pf.ColumnNotFoundError, match="nope"):
        pf.cross_section(df, "y", "x", cov_type="cluster", cluster="nope")


def test_vif_hand_cases() -> None:
    # Orthogonal centred styles with a country factor: no inflation, VIF 1 each.
    x1 = [1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0]
    x2 = [1.0, 1.0, -1.0, -1.0, 1.0, 1.0, -1.0, -1.0]
    noise = [1.0, 1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0]  # orthogonal to x1, x2 and 1
    y = [0.3, -0.1, 0.2, 0.5, -0.4, 0.1, 0.0, 0.2]
    df = pl.DataFrame(
        {"date": [1] * 8, "asset": list("abcdefgh"), "x1": x1, "x2": x2, "y": y,
         "x3": [a + 0.5 * e for a, e in zip(x1, noise, strict=True)]}
    )  # fmt: skip
    st = pf.cross_section(df, "y", ["x1", "x2"], country=True).stats
    assert st["max_vif"][0] == pytest.approx(1.0, rel=1e-12)
    # x3 = x1 + e/2, e orthogonal to x1, x2 and the constant. Regressing x1 on
    # (x2, x3, 1): x1 = b x3 + r with b = <x1,x3>/<x3,x3> = 8/10 = 0.8, r = 0.2 x1 - 0.4 e,
    # SSR = |r|^2 = 8 (0.04 + 0.16) = 1.6 and TSS = 8, so VIF(x1) = 5; VIF(x3) = 5 too
    # (with x2 orthogonal to both, R² is their squared correlation); VIF(x2) = 1.
    st = pf.cross_section(df, "y", ["x1", "x2", "x3"], country=True).stats
    assert st["max_vif"][0] == pytest.approx(5.0, rel=1e-12)
    assert st["max_vif_factor"][0] in {"x1", "x3"}
    assert st["min_industry_assets"][0] is None


def test_vif_and_industry_counts_with_industries() -> None:
    # Industries of sizes 3, 2 and 4: the smallest has 2 rows.
    df = pl.DataFrame(
        {"date": [1] * 9, "asset": list("abcdefghi"),
         "ind": ["A", "A", "A", "B", "B", "C", "C", "C", "C"],
         "x": [0.5, -1.0, 2.0, 1.5, -0.5, 0.1, 0.7, -0.3, 1.1],
         "y": [0.01, 0.02, -0.01, 0.03, 0.0, -0.02, 0.01, 0.02, 0.0]}
    )  # fmt: skip
    st = pf.cross_section(df, "y", "x", industry="ind").stats
    assert st["min_industry_assets"][0] == 2
    # One style: its VIF is that of the style on the industry dummies alone,
    # TSS / (within-industry sum of squares).
    x = df["x"].to_numpy()
    tss = float(((x - x.mean()) ** 2).sum())
    within = sum(float(((g - g.mean()) ** 2).sum()) for g in (x[:3], x[3:5], x[5:]))
    assert st["max_vif"][0] == pytest.approx(tss / within, rel=1e-12)
    assert st["max_vif_factor"][0] == "x"


def test_huber_max_iter_status(rng: np.random.Generator) -> None:
    spec = Spec(method="huber", country=True, weights="w", max_iter=3)
    df = oracle.make_panel(rng, n_dates=6)
    res = quiet(df, **spec.kwargs())
    exp = oracle.cross_section(df, spec, "huber")
    assert "max_iter" in exp.stats["status"].to_list()
    check_against(res, df, exp, spec=spec, cond=False)
    assert (
        res.factor_returns.filter(
            pl.col("date").is_in(res.stats.filter(pl.col("status") == "max_iter")["date"].implode())
        )["factor_return"].null_count()
        == 0
    )


def test_huber_without_outliers_close_to_wls() -> None:
    # Gaussian noise, large t: every scaled residual is inside the Huber corner -> WLS.
    r = np.random.default_rng(3)
    n = 40
    x = r.normal(size=n)
    df = pl.DataFrame(
        {"date": [1] * n, "asset": [f"a{i}" for i in range(n)], "x": x,
         "y": 1.0 + 2.0 * x + 0.1 * r.normal(size=n)}
    )  # fmt: skip
    hub = pf.cross_section(df, "y", "x", country=True, method="huber", huber_t=100.0)
    wls = pf.cross_section(df, "y", "x", country=True)
    assert_close(hub.factor_returns["factor_return"], wls.factor_returns["factor_return"])
    assert hub.stats["iterations"].to_list() == [2]


# --------------------------------------------------------------------------- constraint


@pytest.mark.parametrize("cap", [False, True], ids=["equal", "cap"])
@pytest.mark.parametrize("method", ["wls", "huber"])
def test_constraint_holds(rng: np.random.Generator, cap: bool, method: str) -> None:
    spec = Spec(
        industry="ind", country=True, weights="w", method=method,  # type: ignore[arg-type]
        constraint_weights="mcap" if cap else None,
    )  # fmt: skip
    df = oracle.make_panel(rng)
    res = quiet(df, **spec.kwargs())
    exp = oracle.cross_section(df, spec)  # shares only
    n_checked = 0
    for (d,), part in res.factor_returns.partition_by("date", as_dict=True).items():
        shares = exp.shares[d]
        if not shares or part["factor_return"].null_count() == part.height:
            continue
        f = dict(zip(part["factor"], part["factor_return"], strict=True))
        # absent industries have a null return; present ones enter with their share
        assert {j for j in oracle.INDUSTRIES if f[j] is not None} == set(shares)
        terms = np.array([shares[j] * f[j] for j in shares])
        assert abs(terms.sum()) <= 1e-12 * (1.0 + np.abs(terms).sum())
        n_checked += 1
    assert n_checked >= 5


# --------------------------------------------------------------------------- missing data


def test_no_data_date_is_null_and_warns(rng: np.random.Generator) -> None:
    df = oracle.make_panel(rng, n_dates=5, messy=False, tiny_date=False)
    day = date(2024, 1, 26)  # date index 3: all returns null
    with pytest.warns(DataLossWarning, match=DAY_3) as record:
        res = pf.cross_section(df, "ret", ["size", "value"], industry="ind", country=True)
    assert record[0].filename == __file__
    st = res.stats.filter(pl.col("date") == day).row(0, named=True)
    assert st["status"] == "no_data"
    assert st["n_assets"] == 0
    assert st["n_excluded"] == df.filter(pl.col("date") == day).height
    assert st["n_factors"] == 0
    fr = res.factor_returns.filter(pl.col("date") == day)
    assert fr.height == 2 + 1 + len(oracle.INDUSTRIES)
    assert fr.select("factor_return", "std_error", "t_stat").null_count().row(0) == (
        fr.height, fr.height, fr.height,
    )  # fmt: skip
    resid = res.residuals.filter(pl.col("date") == day)["residual"]
    assert resid.null_count() == resid.len()
    others = res.stats.filter(pl.col("date") != day)["status"]
    assert (others == "ok").all()


def test_no_data_date_warns_for_lazy_at_collect(rng: np.random.Generator) -> None:
    df = oracle.make_panel(rng, n_dates=5, messy=False, tiny_date=False)
    with pytest.warns(DataLossWarning, match=DAY_3):
        res = pf.cross_section(df.lazy(), "ret", ["size"], country=True).collect()
    assert res.stats["status"].to_list().count("no_data") == 1


def test_too_few_assets(rng: np.random.Generator) -> None:
    df = oracle.make_panel(rng, n_dates=6, messy=False, empty_date=False)
    spec = Spec(industry="ind", country=True, weights="w")
    with pytest.warns(DataLossWarning):
        res = pf.cross_section(df, **spec.kwargs())
    tiny = res.stats.filter(pl.col("n_assets") == 1)
    assert tiny["status"].to_list() == ["too_few_assets"]
    d = tiny["date"][0]
    fr = res.factor_returns.filter(pl.col("date") == d)
    assert fr["factor_return"].null_count() == fr.height
    assert res.residuals.filter(pl.col("date") == d)["residual"].null_count() == 3
    check_against(res, df, oracle.cross_section(df, spec), spec=spec, cond=False)


def test_zero_weights_exclude_rows(rng: np.random.Generator) -> None:
    df = oracle.make_panel(rng, n_dates=4, messy=False, tiny_date=False, empty_date=False)
    zero = pl.Series(rng.random(df.height) < 0.1)
    df = df.with_columns(pl.when(zero).then(0.0).otherwise(pl.col("w")).alias("w"))
    kwargs = {"returns": "ret", "exposures": ["size", "value"], "industry": "ind",
              "country": True, "weights": "w"}  # fmt: skip
    res = pf.cross_section(df, **kwargs)
    dropped = pf.cross_section(df.filter(~zero), **kwargs)
    assert_frame_equal(res.factor_returns, dropped.factor_returns, rel_tol=1e-10, abs_tol=1e-12)
    assert res.residuals.filter(zero)["residual"].null_count() == int(zero.sum())
    n_zero = df.filter(zero).group_by("date").len().sort("date")
    got = res.stats.join(n_zero, on="date", how="left").with_columns(pl.col("len").fill_null(0))
    assert (got["n_excluded"].cast(pl.Int64) == got["len"].cast(pl.Int64)).all()


def test_empty_industry_on_a_date(rng: np.random.Generator) -> None:
    df = oracle.make_panel(rng, n_dates=4, messy=False, tiny_date=False, empty_date=False)
    res = pf.cross_section(df, "ret", ["size", "value"], industry="ind", country=True)
    fr = res.factor_returns
    absent = fr.filter(pl.col("factor_return").is_null())
    # the last industry is empty on the second date, and only there
    assert absent.select("date", "factor").rows() == [(date(2024, 1, 12), oracle.INDUSTRIES[-1])]
    assert absent["std_error"].null_count() == 1
    assert res.stats["n_factors"].cast(pl.Int64).to_list() == [8, 7, 8, 8]
    assert res.stats["status"].to_list() == ["ok"] * 4


def test_singular_date(rng: np.random.Generator) -> None:
    df = oracle.make_panel(rng, n_dates=4, messy=False, tiny_date=False, empty_date=False)
    day = date(2024, 1, 19)
    df = df.with_columns(
        pl.when(pl.col("date") == day).then(2.0 * pl.col("size")).otherwise("value").alias("value")
    )
    with pytest.warns(DataLossWarning, match=r"1 of 4 dates .* null factor returns: 1 singular"):
        res = pf.cross_section(df, "ret", ["size", "value"], industry="ind", country=True)
    st = res.stats.filter(pl.col("date") == day).row(0, named=True)
    assert st["status"] == "singular"
    assert st["n_factors"] == 0
    assert res.factor_returns.filter(pl.col("date") == day)["factor_return"].null_count() == 8
    assert res.residuals.filter(pl.col("date") == day)["residual"].null_count() == st["n_assets"]
    assert (res.stats.filter(pl.col("date") != day)["status"] == "ok").all()


def test_ill_conditioned_date(rng: np.random.Generator) -> None:
    # value = size + 2e-5 noise on one date: Jacobi-scaled condition number ~ 1e10.
    df = oracle.make_panel(rng, n_dates=3, messy=False, tiny_date=False, empty_date=False)
    day = date(2024, 1, 12)
    noise = pl.Series(rng.normal(size=df.height) * 2e-5)
    df = df.with_columns(
        pl.when(pl.col("date") == day)
        .then(pl.col("size") + noise)
        .otherwise("value")
        .alias("value")
    )
    spec = Spec(weights="w")
    res = pf.cross_section(df, **spec.kwargs())
    exp = oracle.cross_section(df, spec)
    assert exp.stats["status"].to_list() == ["ok", "ill_conditioned", "ok"]
    assert res.stats["status"].to_list() == ["ok", "ill_conditioned", "ok"]
    cond = res.stats["condition_number"][1]
    assert 1e8 < cond <= 1e12
    assert cond == pytest.approx(exp.stats["condition_number"][1], rel=1e-3)
    # the fit (residuals) is well determined even if the two returns are not
    assert_close(res.residuals["residual"], exp.residuals, rtol=1e-6, atol=1e-8)
    assert_close(
        res.factor_returns["factor_return"], exp.factor_returns["factor_return"], rtol=1e-3
    )


def test_warn_excluded_threshold() -> None:
    # date 1 loses 2 of 5 rows (40 %), date 2 loses 3 of 5 (60 %)
    df = pl.DataFrame(
        {"date": [1] * 5 + [2] * 5, "asset": list("abcde") * 2,
         "ret": [1.0, 2.0, 3.0, None, None, 1.0, 4.0, None, None, None],
         "x": [0.0, 1.0, 3.0, 1.0, 1.0, 0.0, 2.0, 1.0, 1.0, 1.0]}
    )  # fmt: skip
    with pytest.warns(DataLossWarning) as record:
        pf.cross_section(df, "ret", "x")
    assert len(record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pf.cross_section(df, "ret", "x", warn_excluded=0.7)
    with pytest.warns(DataLossWarning):
        pf.cross_section(df, "ret", "x", warn_excluded=0.3)


# --------------------------------------------------------------------------- layout


def test_factor_order_and_date_sort() -> None:
    df = pl.DataFrame(
        {
            "day": [date(2024, 3, 1)] * 6 + [date(2024, 1, 1)] * 6,
            "id": list("abcdef") * 2,
            "sector": ["Tech", "Banks", "Energy", "Tech", "Banks", "Energy"] * 2,
            "value": [0.1, -0.3, 0.2, 0.5, -0.1, 0.0, 0.3, 0.2, -0.4, 0.1, 0.0, 0.2],
            "size": [1.0, 0.5, -0.2, 0.3, -1.0, 0.4, 0.2, -0.3, 0.5, 1.1, -0.6, 0.0],
            "r": [0.01, 0.02, -0.01, 0.03, 0.0, 0.01, -0.02, 0.01, 0.02, 0.0, 0.01, 0.03],
        }
    )
    res = pf.cross_section(
        df, "r", ["value", "size"], industry="sector", country="mkt", date="day", asset="id"
    )
    factors = ["value", "size", "mkt", "Banks", "Energy", "Tech"]
    fr = res.factor_returns
    assert fr.columns == ["day", "factor", "factor_return", "std_error", "t_stat"]
    assert fr["factor"].to_list() == factors * 2
    assert fr["day"].to_list() == [date(2024, 1, 1)] * 6 + [date(2024, 3, 1)] * 6
    assert res.stats["day"].to_list() == [date(2024, 1, 1), date(2024, 3, 1)]
    assert res.residuals.columns == ["day", "id", "residual"]
    assert res.residuals.select("day", "id").equals(df.select("day", "id"))


def test_schema(rng: np.random.Generator) -> None:
    df = oracle.make_panel(rng, n_dates=3, tiny_date=False, empty_date=False)
    res = quiet(df.lazy(), returns="ret", exposures=["size"], industry="ind", country=True)
    fr, rs, st = res.factor_returns.schema, res.residuals.schema, res.stats.schema
    assert dict(fr) == {"date": pl.Date, "factor": pl.String, "factor_return": pl.Float64,
                        "std_error": pl.Float64, "t_stat": pl.Float64}  # fmt: skip
    assert dict(rs) == {"date": pl.Date, "asset": pl.String, "residual": pl.Float64}
    assert st.names() == ["date", "n_assets", "n_excluded", "n_factors", "r2", "adj_r2",
                          "condition_number", "max_vif", "max_vif_factor",
                          "min_industry_assets", "iterations", "status"]  # fmt: skip
    for col in ["n_assets", "n_excluded", "n_factors"]:
        assert st[col] in (pl.UInt32, pl.Int64), col
    for col in ["r2", "adj_r2", "condition_number"]:
        assert st[col] == pl.Float64, col
    assert st["iterations"] == pl.Int64
    assert st["status"] == pl.String


@pytest.mark.parametrize(
    "dtype", [pl.Categorical(), pl.Enum(["Tech", "Retail", "Energy", "Banks", "Autos"])],
    ids=["categorical", "enum"],
)  # fmt: skip
def test_industry_dtypes(rng: np.random.Generator, dtype: pl.DataType) -> None:
    df = oracle.make_panel(rng, n_dates=4)
    spec = Spec(industry="ind", country=True, weights="w", constraint_weights="mcap")
    base = quiet(df, **spec.kwargs())
    res = quiet(df.with_columns(pl.col("ind").cast(dtype)), **spec.kwargs())
    # the same fit up to the order of the floating-point sums
    assert_frame_equal(res.factor_returns, base.factor_returns, rel_tol=1e-10, abs_tol=1e-12)
    assert_frame_equal(res.residuals, base.residuals, rel_tol=1e-10, abs_tol=1e-12)
    check_against(res, df, oracle.cross_section(df, spec), spec=spec, cond=False)


def test_integer_industry_codes_named_by_string_value(rng: np.random.Generator) -> None:
    df = oracle.make_panel(rng, n_dates=3, messy=False, tiny_date=False, empty_date=False)
    codes = {"Tech": 10, "Banks": 2, "Energy": 3, "Retail": 7, "Autos": 1}
    coded = df.with_columns(pl.col("ind").replace_strict(codes, return_dtype=pl.Int32))
    res = pf.cross_section(coded, "ret", ["size"], industry="ind", country=True)
    assert res.factor_returns["factor"].head(7).to_list() == [
        "size",
        "country",
        *["1", "10", "2", "3", "7"],
    ]
    named = pf.cross_section(
        coded.with_columns(pl.col("ind").cast(pl.String)), "ret", ["size"], industry="ind",
        country=True,
    )  # fmt: skip
    assert_frame_equal(res.factor_returns, named.factor_returns, rel_tol=1e-10, abs_tol=1e-12)


def test_exposures_as_string_and_namespace(rng: np.random.Generator) -> None:
    df = oracle.make_panel(rng, n_dates=3, messy=False, tiny_date=False, empty_date=False)
    a = pf.cross_section(df, "ret", "size", industry="ind", weights="w")
    b = df.factors.cross_section("ret", ["size"], industry="ind", weights="w")
    c = df.lazy().factors.cross_section("ret", ["size"], industry="ind", weights="w").collect()
    for other in (b, c):
        assert_frame_equal(a.factor_returns, other.factor_returns, rel_tol=1e-12)
        assert_frame_equal(a.residuals, other.residuals, rel_tol=1e-12, abs_tol=1e-12)
        assert_frame_equal(a.stats, other.stats, rel_tol=1e-12)


@pytest.mark.parametrize("method", ["wls", "huber"])
def test_lazy_collect_equals_eager(rng: np.random.Generator, method: str) -> None:
    df = oracle.make_panel(rng, n_dates=6)
    kwargs: dict[str, Any] = {
        "returns": "ret", "exposures": ["size", "value"], "industry": "ind", "country": True,
        "weights": "w", "constraint_weights": "mcap", "method": method,
    }  # fmt: skip
    eager = quiet(df, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataLossWarning)
        lazy = pf.cross_section(df.lazy(), **kwargs)
        together = lazy.collect()
        one_by_one = [lazy.factor_returns.collect(), lazy.residuals.collect(), lazy.stats.collect()]
    for name, single in zip(["factor_returns", "residuals", "stats"], one_by_one, strict=True):
        e = getattr(eager, name)
        assert_frame_equal(getattr(together, name), e, rel_tol=1e-10, abs_tol=1e-12)
        assert_frame_equal(single, e, rel_tol=1e-10, abs_tol=1e-12)


def test_streaming_in_memory_eager_agree(rng: np.random.Generator) -> None:
    df = oracle.make_panel(rng, n_dates=10, n_assets=80)
    spec = Spec(industry="ind", country=True, weights="w", constraint_weights="mcap")
    eager = quiet(df, **spec.kwargs())
    for engine in ["streaming", "in-memory"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataLossWarning)
            res = pf.cross_section(df.lazy(), engine=engine, **spec.kwargs()).collect(engine=engine)
        for name in ["factor_returns", "residuals", "stats"]:
            assert_frame_equal(
                getattr(res, name), getattr(eager, name), rel_tol=1e-10, abs_tol=1e-12
            )


def test_result_is_frozen_and_summary(rng: np.random.Generator) -> None:
    df = oracle.make_panel(rng, n_dates=6, messy=False, tiny_date=False, empty_date=False)
    res = pf.cross_section(df, "ret", ["size", "value"], industry="ind", country=True)
    assert isinstance(res, pf.CrossSectionResult)
    with pytest.raises(AttributeError):
        res.stats = res.stats  # type: ignore[misc]
    summary = res.summary()
    assert isinstance(summary, pl.DataFrame)
    assert summary.equals(pf.fama_macbeth(res.factor_returns))
    assert (
        summary["factor"].to_list()
        == res.factor_returns["factor"].unique(maintain_order=True).to_list()
    )


def test_all_zero_exposure_on_a_date() -> None:
    # x1 is 0 on every row of the date: the design is rank deficient. Either the date is
    # "singular" (all null), or x1 is left out like an empty industry; in both cases a
    # date reported as solved has a residual y - X f for every row it used.
    df = pl.DataFrame(
        {"date": [0] * 4, "asset": list("abcd"), "x1": [0.0] * 4,
         "x2": [1.0, 2.0, 0.5, -1.0], "y": [1.9, 1.0, 0.0, 2.0]}
    )  # fmt: skip
    res = pf.cross_section(df, "y", ["x1", "x2"], method="ols")
    st = res.stats.row(0, named=True)
    f = res.factor_returns["factor_return"]
    if st["status"] == "singular":
        assert f.null_count() == 2
        assert res.residuals["residual"].null_count() == 4
        return
    assert st["status"] == "ok"
    x2, y = df["x2"].to_numpy(), df["y"].to_numpy()
    b = float(x2 @ y / (x2 @ x2))
    assert f[0] is None
    assert f[1] == pytest.approx(b, rel=1e-12)
    assert st["n_factors"] == 1
    np.testing.assert_allclose(res.residuals["residual"].to_numpy(), y - b * x2, atol=1e-14)


@pytest.mark.parametrize(
    "robust", [{}, {"cov_type": "HC3"}, {"cov_type": "cluster", "cluster": "ind"}]
)
def test_lazy_input_runs_nothing_until_collected(
    rng: np.random.Generator, robust: dict[str, str]
) -> None:
    df = oracle.make_panel(rng, n_dates=4, messy=False, tiny_date=False, empty_date=False)
    calls: list[int] = []

    def spy(s: pl.Series) -> pl.Series:
        calls.append(s.len())
        return s

    kw: dict[str, Any] = {"industry": "ind", "country": True, "weights": "w", **robust}
    lf = df.lazy().with_columns(pl.col("ret").map_batches(spy, return_dtype=pl.Float64))
    res = pf.cross_section(lf, "ret", ["size"], **kw)
    assert calls == []  # only the key columns are read at call time
    got = res.collect()
    assert calls
    eager = pf.cross_section(df, "ret", ["size"], **kw)
    assert_frame_equal(got.factor_returns, eager.factor_returns, rel_tol=1e-10, abs_tol=1e-12)


@pytest.mark.parametrize(
    ("robust", "passes"),
    [({}, 1), ({"cov_type": "HC1"}, 2), ({"cov_type": "HC3"}, 2),
     ({"cov_type": "cluster", "cluster": "ind"}, 2)],
)  # fmt: skip
def test_robust_plan_reads_the_rows_twice_not_more(
    rng: np.random.Generator, robust: dict[str, str], passes: int
) -> None:
    # The fit's cell sums (one pass) and, for robust standard errors, the residuals
    # joined back (a second pass); the cell sums are not computed again for the
    # robust solve.
    df = oracle.make_panel(rng, n_dates=4, messy=False, tiny_date=False, empty_date=False)
    seen: list[int] = []

    def spy(s: pl.Series) -> pl.Series:
        seen.append(s.len())
        return s

    lf = df.lazy().with_columns(pl.col("ret").map_batches(spy, return_dtype=pl.Float64))
    kw: dict[str, Any] = {"industry": "ind", "country": True, "weights": "w", **robust}
    pf.cross_section(lf, "ret", ["size"], **kw).factor_returns.collect()
    assert sum(seen) == passes * df.height


@pytest.mark.parametrize("method", ["wls", "huber"])
def test_dates_solved_in_chunks_match_the_oracle(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    """Large panels are solved CHUNK_DATES dates at a time; the chunks change nothing."""
    spec = CONFIGS["wls industry+country cap shares"]
    kwargs = {**spec.kwargs(), "method": method}
    df = oracle.make_panel(rng)
    whole = quiet(df.lazy(), **kwargs)
    monkeypatch.setattr(_solution, "CHUNK_DATES", 2)
    chunked = quiet(df.lazy(), **kwargs)
    assert_frame_equal(chunked.factor_returns, whole.factor_returns, rel_tol=1e-12, abs_tol=1e-14)
    assert_frame_equal(chunked.stats, whole.stats, rel_tol=1e-9, abs_tol=1e-12)
    assert_frame_equal(chunked.residuals, whole.residuals, rel_tol=1e-12, abs_tol=1e-14)
    if method == "wls":
        exp = oracle.cross_section(df, spec, "numpy")
        check_against(chunked, df, exp, spec=spec, cond=False)
