"""Asset-pricing tests: GRS, traded-factor and two-pass models.

Oracles: a textbook GRS written with explicit loops, statsmodels OLS for the per-asset
inference, linearmodels ``TradedFactorModel`` / ``LinearFactorModel`` on the French data
for the GMM estimates and J statistics, and textbook Fama-MacBeth / Shanken (Cochrane
eq. 12.19) for the classical two-pass standard errors. Tolerances are relative, 1e-10
unless stated.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from polars_factors import asset_pricing as ap
from polars_factors.exceptions import (
    ColumnNotFoundError,
    DataLossWarning,
    DuplicateKeyError,
    InsufficientDataError,
    InvalidDataError,
    RankDeficientWarning,
    SchemaError,
)
from polars_factors.regression._solve import newey_west
from polars_factors.regression.fama_macbeth import fama_macbeth

linearmodels = pytest.importorskip("linearmodels")
from linearmodels.asset_pricing import LinearFactorModel, TradedFactorModel  # noqa: E402
from linearmodels.datasets import french as french_data  # noqa: E402

RTOL = 1e-10
SIZE_VALUE = ["S1V1", "S1V3", "S1V5", "S3V1", "S3V3", "S3V5", "S5V1", "S5V3", "S5V5"]
SIZE_MOM = ["S1M1", "S1M3", "S1M5", "S3M1", "S3M3", "S3M5", "S5M1", "S5M3", "S5M5"]
FACTORS = ["MktRF", "SMB", "HML", "Mom"]
SETS = {"size_value": SIZE_VALUE, "size_momentum": SIZE_MOM, "both": SIZE_VALUE + SIZE_MOM}


# ---------------------------------------------------------------------------- data


@dataclasses.dataclass(frozen=True)
class French:
    portfolios: pl.DataFrame  # date + excess returns
    factors: pl.DataFrame  # date + factors
    raw: object  # the pandas frame

    def arrays(self, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
        return self.portfolios.select(names).to_numpy(), self.factors.select(FACTORS).to_numpy()


@pytest.fixture(scope="module")
def french() -> French:
    data = french_data.load()
    # Returns are decimals (MktRF mean 0.0065 a month); test assets in excess of RF.
    assert data["MktRF"].abs().max() < 1
    excess = data[SIZE_VALUE + SIZE_MOM].sub(data["RF"], axis=0)
    dates = pl.Series("date", data["dates"].to_numpy()).cast(pl.Date)
    portfolios = pl.DataFrame(
        [dates, *(pl.Series(c, excess[c].to_numpy()) for c in SIZE_VALUE + SIZE_MOM)]
    )
    factors = pl.DataFrame([dates, *(pl.Series(c, data[c].to_numpy()) for c in FACTORS)])
    return French(portfolios=portfolios, factors=factors, raw=data)


def synthetic(
    rng: np.random.Generator, *, t: int = 60, n: int = 5, k: int = 2, alpha: float = 0.002
) -> tuple[pl.DataFrame, pl.DataFrame]:
    f = 0.005 + 0.04 * rng.standard_normal((t, k))
    beta = 0.5 + rng.random((k, n))
    r = alpha * rng.standard_normal(n) + f @ beta + 0.02 * rng.standard_normal((t, n))
    dates = pl.date_range(
        pl.date(2000, 1, 1), pl.date(2000, 1, 1) + pl.duration(days=t - 1), eager=True
    )
    portfolios = pl.DataFrame({"date": dates} | {f"p{i}": r[:, i] for i in range(n)})
    factors = pl.DataFrame({"date": dates} | {f"f{j}": f[:, j] for j in range(k)})
    return portfolios, factors


def close(actual: object, expected: object, rtol: float = RTOL, atol: float = 0.0) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol, atol=atol
    )


def wide(frame: pl.DataFrame, value: str) -> np.ndarray:
    """``(N, K)`` array from a long ``portfolio, factor, value`` frame (input order)."""
    n = frame["portfolio"].n_unique()
    return frame[value].to_numpy().reshape(n, -1)


# ---------------------------------------------------------------------------- oracles


def ols_loop(r: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-asset OLS on a constant and the factors: ``(K+1, N)`` coefficients, residuals."""
    t, n = r.shape
    x = np.column_stack([np.ones(t), f])
    coef = np.empty((x.shape[1], n))
    resid = np.empty((t, n))
    for i in range(n):
        coef[:, i] = np.linalg.lstsq(x, r[:, i], rcond=None)[0]
        resid[:, i] = r[:, i] - x @ coef[:, i]
    return coef, resid


def grs_textbook(r: np.ndarray, f: np.ndarray) -> tuple[float, float]:
    """GRS (1989) / Cochrane eq. 12.6 with MLE covariances, written out with loops."""
    t, n = r.shape
    k = f.shape[1]
    coef, resid = ols_loop(r, f)
    alpha = coef[0]
    sigma = np.zeros((n, n))
    for s in range(t):
        sigma += np.outer(resid[s], resid[s])
    sigma /= t
    mu = f.mean(axis=0)
    omega = np.zeros((k, k))
    for s in range(t):
        omega += np.outer(f[s] - mu, f[s] - mu)
    omega /= t
    stat = (
        (t - n - k)
        / n
        * (alpha @ np.linalg.inv(sigma) @ alpha)
        / (1 + mu @ np.linalg.inv(omega) @ mu)
    )
    return float(stat), float(stats.f.sf(stat, n, t - n - k))


def two_pass_textbook(
    r: np.ndarray, f: np.ndarray, *, risk_free: bool, ddof: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Risk premia, Fama-MacBeth and Shanken (Cochrane eq. 12.19) standard errors, c."""
    t, n = r.shape
    coef, resid = ols_loop(r, f)
    z = coef[1:].T
    if risk_free:
        z = np.column_stack([np.ones(n), z])
    lam_t = np.array([np.linalg.lstsq(z, r[s], rcond=None)[0] for s in range(t)])
    lam = lam_t.mean(axis=0)
    dev = lam_t - lam
    fmb_var = sum(np.outer(d, d) for d in dev) / (t - ddof) / t
    # Cochrane 12.19: (1/T)[(Z'Z)^-1 Z' Sigma Z (Z'Z)^-1 (1 + c) + Sigma_f].
    sigma = resid.T @ resid / (t - ddof)
    sigma_f = np.atleast_2d(np.cov(f, rowvar=False, ddof=ddof))
    lam_f = lam[1:] if risk_free else lam
    c = float(lam_f @ np.linalg.inv(sigma_f) @ lam_f)
    zz = np.linalg.inv(z.T @ z)
    border = np.zeros((z.shape[1], z.shape[1]))
    border[int(risk_free) :, int(risk_free) :] = sigma_f
    shanken = (zz @ z.T @ sigma @ z @ zz * (1 + c) + border) / t
    return lam, np.sqrt(np.diag(fmb_var)), np.sqrt(np.diag(shanken)), c


# ---------------------------------------------------------------------------- GRS


def test_grs_hand_case():
    # f = (1, 3, 1, 3): mean 2, MLE variance 1. e = (1, -1, -1, 1) is orthogonal to
    # (1, f), so r = 0.5 + f + e has alpha 0.5, beta 1 and MLE residual variance 1:
    # F = (4-1-1)/1 * 0.25 / (1 + 4) = 0.1, and F(1, 2) = t_2^2, whose tail is
    # P(|t_2| > s) = 1 - s / sqrt(2 + s^2) = 1 - 1/sqrt(21).
    frame = pl.DataFrame(
        {"date": [1, 2, 3, 4], "f": [1.0, 3.0, 1.0, 3.0], "r": [2.5, 2.5, 0.5, 4.5]}
    )
    res = ap.grs(frame, frame, portfolio_columns="r", factor_columns="f")
    assert (res.df_num, res.df_den, res.n_periods) == (1, 2, 4)
    close(res.statistic, 0.1)
    close(res.pvalue, 1 - 1 / math.sqrt(21))
    # s^2 = 4 / 2, (X'X)^-1_00 = (1 + 4) / 4: se = sqrt(2.5), t = sqrt(0.1) (= sqrt(F)).
    row = res.alphas.row(0, named=True)
    assert row["portfolio"] == "r"
    close([row["alpha"], row["std_error"], row["t_stat"]], [0.5, math.sqrt(2.5), math.sqrt(0.1)])
    assert res.betas["beta"].to_list() == pytest.approx([1.0], rel=1e-12)


@pytest.mark.parametrize("which", list(SETS))
def test_grs_matches_textbook(french, which):
    r, f = french.arrays(SETS[which])
    res = ap.grs(french.portfolios.select("date", *SETS[which]), french.factors)
    stat, pvalue = grs_textbook(r, f)
    close(res.statistic, stat)
    close(res.pvalue, pvalue)
    assert (res.df_num, res.df_den, res.n_periods) == (
        len(SETS[which]),
        819 - len(SETS[which]) - 4,
        819,
    )
    summary = res.summary()
    assert summary.columns == [
        "test",
        "statistic",
        "pvalue",
        "df_num",
        "df_den",
        "n_periods",
        "n_portfolios",
        "n_factors",
    ]
    assert summary.row(0)[5:] == (819, len(SETS[which]), 4)


def test_grs_per_asset_inference_matches_statsmodels(french):
    sm = pytest.importorskip("statsmodels.api")
    r, f = french.arrays(SIZE_VALUE)
    res = ap.grs(french.portfolios.select("date", *SIZE_VALUE), french.factors)
    x = sm.add_constant(f)
    fits = [sm.OLS(r[:, i], x).fit() for i in range(r.shape[1])]
    for col, attr in [
        ("alpha", "params"),
        ("std_error", "bse"),
        ("t_stat", "tvalues"),
        ("pvalue", "pvalues"),
    ]:
        close(res.alphas[col], [getattr(fit, attr)[0] for fit in fits])
        value = "beta" if col == "alpha" else col
        close(wide(res.betas, value), [getattr(fit, attr)[1:] for fit in fits])
    assert res.betas["factor"].to_list()[:4] == FACTORS
    assert res.betas["portfolio"].to_list()[:5] == ["S1V1"] * 4 + ["S1V3"]


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(1e-3, 1e3))
def test_grs_invariant_to_asset_order_and_scale(seed, scale):
    rng = np.random.default_rng(seed)
    portfolios, factors = synthetic(rng, t=40, n=6, k=2)
    base = ap.grs(portfolios, factors)
    order = ["date", *rng.permutation(portfolios.columns[1:]).tolist()]
    scaled = pl.col(pl.Float64) * scale
    other = ap.grs(portfolios.select(order).with_columns(scaled), factors.with_columns(scaled))
    close(other.statistic, base.statistic, rtol=1e-8)
    close(other.pvalue, base.pvalue, rtol=1e-8, atol=1e-14)
    # The per-asset t-statistics follow the assets.
    by_name = dict(zip(other.alphas["portfolio"], other.alphas["t_stat"], strict=True))
    close([by_name[p] for p in base.alphas["portfolio"]], base.alphas["t_stat"], rtol=1e-8)


# ---------------------------------------------------------------------------- traded


ROBUST = {"cov_type": "robust"}
BARTLETT = {"cov_type": "kernel"}  # bandwidth chosen from the data
# Each portfolio set with the default options; every option on all 18 portfolios.
TRADED_CASES = [
    pytest.param("size_value", ROBUST, id="size_value-robust"),
    pytest.param("size_momentum", BARTLETT, id="size_momentum-bartlett-auto"),
    pytest.param("both", ROBUST, id="both-robust"),
    pytest.param("both", BARTLETT, id="both-bartlett-auto"),
    pytest.param("both", {"cov_type": "kernel", "bandwidth": 6}, id="both-bartlett-6"),
    pytest.param("both", {"cov_type": "kernel", "kernel": "parzen"}, id="both-parzen-auto"),
    pytest.param("both", {"cov_type": "robust", "debiased": False}, id="both-robust-biased"),
    pytest.param(
        "both",
        {"cov_type": "kernel", "bandwidth": 3, "debiased": False},
        id="both-bartlett-3-biased",
    ),
]


def lm_options(options: dict[str, object]) -> dict[str, object]:
    out = dict(options)
    if out["cov_type"] == "kernel":
        out.setdefault("kernel", "bartlett")
    return out


@pytest.mark.parametrize(("which", "options"), TRADED_CASES)
def test_traded_matches_linearmodels(french, which, options):
    r, f = french.arrays(SETS[which])
    ref = TradedFactorModel(r, f).fit(**lm_options(options))
    res = ap.traded_factor_model(
        french.portfolios.select("date", *SETS[which]), french.factors, **options
    )
    close(res.alphas["alpha"], ref.params.iloc[:, 0])
    close(res.alphas["std_error"], ref.std_errors.iloc[:, 0])
    close(res.alphas["t_stat"], ref.tstats.iloc[:, 0])
    close(res.alphas["pvalue"], ref.pvalues.iloc[:, 0])
    close(wide(res.betas, "beta"), ref.params.iloc[:, 1:])
    close(wide(res.betas, "std_error"), ref.std_errors.iloc[:, 1:])
    close(res.risk_premia["risk_premium"], ref.risk_premia)
    close(res.risk_premia["std_error"], ref.risk_premia_se)
    close(res.risk_premia["t_stat"], ref.risk_premia_tstats)
    close(res.j_statistic, ref.j_statistic.stat)
    close(res.j_pvalue, ref.j_statistic.pval, atol=1e-15)
    assert res.j_df == ref.j_statistic.df == len(SETS[which])
    if options["cov_type"] == "kernel":
        assert res.bandwidth == ref._cov_est.bandwidth
    else:
        assert res.bandwidth is None
    assert res.risk_premia["factor"].to_list() == FACTORS
    assert res.summary().equals(res.risk_premia)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(1e-2, 1e2))
def test_traded_j_invariant_to_scale(seed, scale):
    portfolios, factors = synthetic(np.random.default_rng(seed), t=50, n=4, k=2)
    scaled = pl.col(pl.Float64) * scale
    for options in ({"cov_type": "robust"}, {"cov_type": "kernel", "bandwidth": 3}):
        base = ap.traded_factor_model(portfolios, factors, **options)
        other = ap.traded_factor_model(
            portfolios.with_columns(scaled), factors.with_columns(scaled), **options
        )
        close(other.j_statistic, base.j_statistic, rtol=1e-8)
        close(other.alphas["t_stat"], base.alphas["t_stat"], rtol=1e-8)
        close(
            other.risk_premia["risk_premium"], scale * base.risk_premia["risk_premium"], rtol=1e-10
        )


# ---------------------------------------------------------------------------- two-pass


LINEAR_CASES = [
    pytest.param("size_value", ROBUST, id="size_value-robust"),
    pytest.param("size_momentum", BARTLETT, id="size_momentum-bartlett-auto"),
    pytest.param("both", ROBUST, id="both-robust"),
    pytest.param("both", BARTLETT, id="both-bartlett-auto"),
    pytest.param("both", {"cov_type": "kernel", "bandwidth": 6}, id="both-bartlett-6"),
    pytest.param(
        "both",
        {"cov_type": "kernel", "kernel": "parzen", "debiased": False},
        id="both-parzen-biased",
    ),
]


@pytest.mark.parametrize("risk_free", [False, True])
@pytest.mark.parametrize(("which", "options"), LINEAR_CASES)
def test_linear_matches_linearmodels(french, which, options, risk_free):
    r, f = french.arrays(SETS[which])
    ref = LinearFactorModel(r, f, risk_free=risk_free).fit(**lm_options(options))
    res = ap.linear_factor_model(
        french.portfolios.select("date", *SETS[which]),
        french.factors,
        risk_free=risk_free,
        **options,
    )
    premia = res.risk_premia
    assert premia["factor"].to_list() == (["risk_free"] if risk_free else []) + FACTORS
    close(premia["risk_premium"], ref.risk_premia)
    close(premia["std_error"], ref.risk_premia_se)
    close(premia["t_stat"], ref.risk_premia_tstats)
    close(premia["pvalue"], 2 * stats.norm.sf(np.abs(ref.risk_premia_tstats)))
    close(res.alphas["alpha"], ref.params.iloc[:, 0], atol=1e-17)
    close(res.alphas["std_error"], ref.std_errors.iloc[:, 0])
    close(wide(res.betas, "beta"), ref.params.iloc[:, 1:])
    close(wide(res.betas, "std_error"), ref.std_errors.iloc[:, 1:])
    close(res.j_statistic, ref.j_statistic.stat)
    close(res.j_pvalue, ref.j_statistic.pval, atol=1e-15)
    assert res.j_df == ref.j_statistic.df == len(SETS[which]) - 4 - int(risk_free)
    if options["cov_type"] == "kernel":
        assert res.bandwidth == ref._cov_est.bandwidth
    assert res.risk_free is risk_free
    assert res.summary().equals(premia)


@pytest.mark.parametrize(
    ("which", "risk_free", "debiased"),
    [
        ("size_value", False, True),
        ("both", False, False),
        ("both", True, True),
        ("both", True, False),
    ],
)
def test_fama_macbeth_and_shanken_match_textbook(french, which, risk_free, debiased):
    r, f = french.arrays(SETS[which])
    lam, fmb_se, shanken_se, c = two_pass_textbook(r, f, risk_free=risk_free, ddof=int(debiased))
    res = ap.linear_factor_model(
        french.portfolios.select("date", *SETS[which]),
        french.factors,
        risk_free=risk_free,
        debiased=debiased,
    )
    premia = res.risk_premia
    close(premia["risk_premium"], lam)
    close(premia["fmb_std_error"], fmb_se)
    close(premia["fmb_t_stat"], lam / fmb_se)
    close(premia["shanken_std_error"], shanken_se)
    close(premia["shanken_t_stat"], lam / shanken_se)
    close(res.shanken_c, c)
    # The correction only inflates: c >= 0 and the errors-in-variables part is PSD.
    assert (premia["shanken_std_error"] >= premia["fmb_std_error"]).all()


def test_fama_macbeth_matches_package_fama_macbeth(french):
    # The per-date slopes averaged by pf.fama_macbeth give the same mean and std error.
    r, f = french.arrays(SIZE_VALUE)
    coef, _ = ols_loop(r, f)
    lam_t = np.linalg.lstsq(coef[1:].T, r.T, rcond=None)[0].T
    slopes = pl.DataFrame(
        {"date": french.factors["date"]} | {c: lam_t[:, j] for j, c in enumerate(FACTORS)}
    )
    fm = fama_macbeth(slopes, nw_lags=0)
    res = ap.linear_factor_model(french.portfolios.select("date", *SIZE_VALUE), french.factors)
    close(res.risk_premia["risk_premium"], fm["mean"])
    close(res.risk_premia["fmb_std_error"], fm["std_error"])


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(1e-2, 1e2))
def test_linear_t_stats_invariant_to_scale(seed, scale):
    portfolios, factors = synthetic(np.random.default_rng(seed), t=50, n=6, k=2)
    scaled = pl.col(pl.Float64) * scale
    base = ap.linear_factor_model(portfolios, factors, risk_free=True)
    other = ap.linear_factor_model(
        portfolios.with_columns(scaled), factors.with_columns(scaled), risk_free=True
    )
    close(other.risk_premia["risk_premium"], scale * base.risk_premia["risk_premium"], rtol=1e-8)
    for col in ("t_stat", "fmb_t_stat", "shanken_t_stat"):
        close(other.risk_premia[col], base.risk_premia[col], rtol=1e-8)
    close(other.j_statistic, base.j_statistic, rtol=1e-7)


def test_linear_just_identified(rng):
    portfolios, factors = synthetic(rng, t=40, n=3, k=2)
    res = ap.linear_factor_model(portfolios, factors, risk_free=True)
    assert res.j_df == 0
    assert res.j_statistic == 0.0
    assert res.j_pvalue is None
    assert res.alphas["alpha"].abs().max() < 1e-14
    # Pricing errors that are zero by construction have no t-statistic.
    assert res.alphas["t_stat"].null_count() == 3


# ---------------------------------------------------------------------------- frames


@pytest.mark.parametrize("fn", [ap.grs, ap.traded_factor_model, ap.linear_factor_model])
def test_lazy_streaming_and_row_order_agree(rng, fn):
    portfolios, factors = synthetic(rng, t=48, n=5, k=2)
    base = fn(portfolios, factors)
    shuffled = portfolios.sample(fraction=1.0, shuffle=True, seed=3)
    for kwargs in (
        {"portfolios": portfolios.lazy(), "factors": factors.lazy()},
        {"portfolios": portfolios.lazy(), "factors": factors.lazy(), "engine": "streaming"},
        {"portfolios": portfolios.lazy(), "factors": factors, "engine": "in-memory"},
        {"portfolios": shuffled, "factors": factors.reverse()},
    ):
        other = fn(**kwargs)
        for field in dataclasses.fields(base):
            a, b = getattr(base, field.name), getattr(other, field.name)
            if isinstance(a, pl.DataFrame):
                assert a.equals(b), field.name
            else:
                assert a == b, field.name


def test_one_frame_with_both_kinds_of_columns(rng):
    portfolios, factors = synthetic(rng, t=30, n=4, k=2)
    both = portfolios.join(factors, on="date")
    res = ap.grs(both, both, portfolio_columns=portfolios.columns[1:], factor_columns=["f0", "f1"])
    assert res.statistic == ap.grs(portfolios, factors).statistic


def test_inner_join_on_dates(rng):
    portfolios, factors = synthetic(rng, t=50, n=4, k=2)
    # Factors cover more dates than the portfolios: only the common ones are used,
    # without a warning (filterwarnings = error).
    res = ap.traded_factor_model(portfolios.slice(10), factors)
    assert res.n_periods == 40
    assert res.risk_premia["risk_premium"].to_list() == pytest.approx(
        factors.slice(10).select(pl.col("f0", "f1").mean()).row(0), rel=1e-12
    )


def test_incomplete_dates_are_dropped_with_a_warning(rng):
    portfolios, factors = synthetic(rng, t=50, n=4, k=2)
    dirty = portfolios.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(None).otherwise(pl.col("p0")).alias("p0"),
        pl.when(pl.int_range(pl.len()) == 7).then(float("nan")).otherwise(pl.col("p1")).alias("p1"),
    )
    dirty_f = factors.with_columns(
        pl.when(pl.int_range(pl.len()) == 7).then(float("inf")).otherwise(pl.col("f0")).alias("f0")
    )
    keep = ~pl.int_range(pl.len()).is_in([3, 7])
    for fn in (ap.grs, ap.traded_factor_model, ap.linear_factor_model):
        with pytest.warns(DataLossWarning, match=r"dropped 2 of 50 dates") as caught:
            res = fn(dirty, dirty_f)
        assert "'p0' (1)" in str(caught[0].message)
        assert res.n_periods == 48
        clean = fn(portfolios.filter(keep), factors.filter(keep))
        assert res.alphas.equals(clean.alphas)


def test_results_are_frozen_and_plain(french):
    results = [
        ap.grs(french.portfolios, french.factors),
        ap.traded_factor_model(french.portfolios, french.factors, cov_type="kernel"),
        ap.linear_factor_model(french.portfolios, french.factors, risk_free=True),
    ]
    for res in results:
        with pytest.raises(dataclasses.FrozenInstanceError):
            res.n_periods = 1  # type: ignore[misc]
        for field in dataclasses.fields(res):
            value = getattr(res, field.name)
            assert isinstance(value, (pl.DataFrame, float, int, str, bool, type(None))), field.name
            assert not isinstance(value, np.generic), field.name
        assert isinstance(res.summary(), pl.DataFrame)
        assert res.alphas.schema == pl.Schema(
            {
                "portfolio": pl.String,
                "alpha": pl.Float64,
                "std_error": pl.Float64,
                "t_stat": pl.Float64,
                "pvalue": pl.Float64,
            }
        )
        assert res.betas.columns == ["portfolio", "factor", "beta", "std_error", "t_stat", "pvalue"]
        assert res.betas.height == 18 * 4
    assert results[2].risk_premia.columns == [
        "factor", "risk_premium", "std_error", "t_stat", "pvalue",
        "fmb_std_error", "fmb_t_stat", "shanken_std_error", "shanken_t_stat",
    ]  # fmt: skip
    assert isinstance(results[1].bandwidth, int)


def test_singular_alpha_covariance_gives_no_j(rng):
    # 12 assets, 8 dates: the robust covariance of the alphas has rank <= 8.
    portfolios, factors = synthetic(rng, t=8, n=12, k=1)
    with pytest.warns(RankDeficientWarning, match="J statistic is not defined"):
        res = ap.traded_factor_model(portfolios, factors)
    assert res.j_statistic is None
    assert res.j_pvalue is None
    assert res.alphas["std_error"].null_count() == 0


# ---------------------------------------------------------------------------- errors


def test_missing_and_non_numeric_columns(rng):
    portfolios, factors = synthetic(rng)
    with pytest.raises(ColumnNotFoundError, match="factor column 'f9' not found"):
        ap.grs(portfolios, factors, factor_columns=["f0", "f9"])
    with pytest.raises(ColumnNotFoundError, match="date column"):
        ap.grs(portfolios.rename({"date": "month"}), factors)
    with pytest.raises(SchemaError, match="'p1' must be numeric"):
        ap.grs(portfolios.with_columns(pl.col("p1").cast(pl.String)), factors)
    with pytest.raises(SchemaError, match=r"Date in the portfolios and String.*\(pl.String\)"):
        ap.grs(portfolios, factors.with_columns(pl.col("date").cast(pl.String)))


def test_duplicate_and_null_dates(rng):
    portfolios, factors = synthetic(rng)
    with pytest.raises(
        DuplicateKeyError, match=r"factors frame has 2 rows for repeated \('date'\) keys"
    ):
        ap.traded_factor_model(portfolios, pl.concat([factors, factors.head(1)]))
    null_first = pl.when(pl.int_range(pl.len()) == 0).then(None).otherwise(pl.col("date"))
    with pytest.raises(InvalidDataError, match="1 rows with a null 'date'"):
        ap.grs(portfolios.with_columns(null_first.alias("date")), factors)


def test_too_few_periods(rng):
    portfolios, factors = synthetic(rng, t=8, n=6, k=2)
    with pytest.raises(
        InsufficientDataError, match=r"at least 9 are needed \(the GRS test needs T > N \+ K"
    ):
        ap.grs(portfolios, factors)
    with pytest.raises(InsufficientDataError, match="at least 4 are needed"):
        ap.traded_factor_model(portfolios.head(3), factors)
    with pytest.raises(InsufficientDataError, match="automatic parzen bandwidth needs 5"):
        ap.linear_factor_model(portfolios.head(4), factors, cov_type="kernel", kernel="parzen")
    with pytest.raises(InsufficientDataError, match="no 'date' in common"):
        ap.grs(portfolios.head(3), factors.tail(3))


def test_collinear_factors_and_spanned_assets(rng):
    portfolios, factors = synthetic(rng)
    twice = factors.with_columns((2 * pl.col("f0") - pl.col("f1") + 0.1).alias("f2"))
    for fn in (ap.grs, ap.traded_factor_model, ap.linear_factor_model):
        with pytest.raises(
            InsufficientDataError, match=r"collinear: factor 'f2' is a linear combination"
        ):
            fn(portfolios, twice)
    with pytest.raises(InsufficientDataError, match="factor 'c' is constant"):
        ap.grs(portfolios, factors.with_columns(c=pl.lit(0.01)))
    spanned = portfolios.with_columns(factors["f1"].alias("p2"))
    with pytest.raises(
        InsufficientDataError, match=r"test assets \['p2'\] are linear combinations"
    ):
        ap.traded_factor_model(spanned, factors)
    combo = portfolios.with_columns((pl.col("p0") + pl.col("p1")).alias("p4"))
    with pytest.raises(InsufficientDataError, match="residuals of portfolio 'p4'"):
        ap.grs(combo, factors)


def test_two_pass_identification(rng):
    portfolios, factors = synthetic(rng, t=40, n=2, k=2)
    with pytest.raises(
        InsufficientDataError, match="2 portfolios for 2 factors plus the zero-beta rate"
    ):
        ap.linear_factor_model(portfolios, factors, risk_free=True)
    # Every asset has a beta of exactly 1 on f0 (noise orthogonal to (1, f0) in
    # sample): the betas are collinear with the zero-beta constant.
    _, f = synthetic(rng, t=40, n=4, k=1)
    x = np.column_stack([np.ones(40), f["f0"].to_numpy()])
    noise = 0.01 * rng.standard_normal((40, 4))
    noise -= x @ np.linalg.lstsq(x, noise, rcond=None)[0]
    r = x[:, [1]] + 0.001 * np.arange(4) + noise
    same = pl.DataFrame({"date": f["date"]} | {f"p{i}": r[:, i] for i in range(4)})
    with pytest.raises(
        InsufficientDataError,
        match=r"betas on 'f0' are a linear combination of the columns before it \(\['risk_f",
    ):
        ap.linear_factor_model(same, f, risk_free=True)
    ap.linear_factor_model(same, f)  # without the constant, one factor is identified
    with pytest.raises(ValueError, match="named 'risk_free'"):
        ap.linear_factor_model(portfolios, factors.rename({"f1": "risk_free"}), risk_free=True)


def test_bad_options(rng):
    portfolios, factors = synthetic(rng)
    with pytest.raises(ValueError, match="unknown cov_type='hac'"):
        ap.traded_factor_model(portfolios, factors, cov_type="hac")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown kernel='qs'"):
        ap.linear_factor_model(portfolios, factors, cov_type="kernel", kernel="qs")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-negative int"):
        ap.traded_factor_model(portfolios, factors, cov_type="kernel", bandwidth=-1)
    with pytest.raises(ValueError, match="non-negative int"):
        ap.traded_factor_model(portfolios, factors, cov_type="kernel", bandwidth=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cov_type='kernel' only"):
        ap.traded_factor_model(portfolios, factors, bandwidth=3)
    with pytest.raises(ValueError, match="below the number of dates"):
        ap.traded_factor_model(portfolios, factors, cov_type="kernel", bandwidth=60)
    with pytest.raises(TypeError, match="debiased"):
        ap.linear_factor_model(portfolios, factors, debiased=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="risk_free"):
        ap.linear_factor_model(portfolios, factors, risk_free=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="polars DataFrame or LazyFrame"):
        ap.grs(portfolios.to_pandas(), factors)  # type: ignore[arg-type]
    both = portfolios.join(factors, on="date")
    with pytest.raises(ValueError, match="both portfolio and factor columns"):
        ap.grs(both, both, factor_columns=["f0"])
    with pytest.raises(InsufficientDataError, match="no factor columns"):
        ap.grs(portfolios, factors.select("date"))


def test_kernel_bandwidth_zero_is_robust(rng):
    portfolios, factors = synthetic(rng)
    robust = ap.linear_factor_model(portfolios, factors)
    kernel = ap.linear_factor_model(portfolios, factors, cov_type="kernel", bandwidth=0)
    close(kernel.risk_premia["std_error"], robust.risk_premia["std_error"], rtol=1e-13)
    assert kernel.bandwidth == 0


def test_no_warning_on_clean_data(french):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ap.linear_factor_model(french.portfolios, french.factors, cov_type="kernel")


# --- the long-run covariance behind the kernel GMM covariances -----------------------


def parzen_oracle(x: np.ndarray, lags: int) -> np.ndarray:
    """Kernel sum over lags with Parzen weights, written directly (uncentred, / T)."""
    t = x.shape[0]
    s = x.T @ x
    for lag in range(1, min(lags, t - 1) + 1):
        z = lag / (lags + 1)
        w = 1 - 6 * z**2 + 6 * z**3 if z <= 0.5 else 2 * (1 - z) ** 3
        g = x[lag:].T @ x[:-lag]
        s = s + w * (g + g.T)
    return s / t


@pytest.mark.parametrize("lags", [0, 1, 4, 59, 75])
@pytest.mark.parametrize("demean", [False, True])
def test_newey_west_matches_statsmodels_s_hac_simple(rng, lags, demean):
    sandwich = pytest.importorskip("statsmodels.stats.sandwich_covariance")
    t = 60
    x = rng.standard_normal((t, 3)) + 0.4
    x[1:] += 0.5 * x[:-1]  # serially correlated
    g = x - x.mean(axis=0) if demean else x
    expected = sandwich.S_hac_simple(g, nlags=lags) / t
    got = newey_west(x, lags, demean=demean)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(got, got.T)
    parzen = newey_west(x, lags, demean=demean, kernel="parzen")
    np.testing.assert_allclose(parzen, parzen_oracle(g, lags), rtol=1e-12, atol=1e-15)


def test_newey_west_is_the_fama_macbeth_newey_west_variance(rng):
    """The numpy kernel and the Polars evaluation in fama_macbeth agree (demeaned)."""
    t = 50
    f = 0.01 * rng.standard_normal((t, 2)) + 0.002
    frame = pl.DataFrame({"date": range(t), "a": f[:, 0], "b": f[:, 1]})
    for lags in (0, 3, 12):
        res = fama_macbeth(frame, nw_lags=lags, debiased=True)
        var = np.diag(newey_west(f, lags, demean=True)) / (t - 1)
        np.testing.assert_allclose(res["nw_std_error"].to_numpy() ** 2, var, rtol=1e-10)
