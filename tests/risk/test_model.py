"""RiskModel: decomposition against a full N x N numpy oracle, hedges, realized vs implied."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from polars_factors.exceptions import (
    ColumnNotFoundError,
    DataLossWarning,
    DuplicateKeyError,
    InsufficientDataError,
    InvalidDataError,
    SingularMatrixError,
    UnknownAssetError,
)
from polars_factors.risk import _analysis
from polars_factors.risk._analysis import ModelArrays
from polars_factors.risk.model import HedgeResult, PortfolioRiskResult, RiskModel

TOL = 1e-12
STYLES = ("beta", "size", "value")
INDUSTRIES = ("ind_a", "ind_b", "ind_c", "ind_d", "ind_e")


# ---------------------------------------------------------------------------------
# Builders and oracle


def rel_err(actual: np.ndarray, expected: np.ndarray) -> float:
    """Max absolute error relative to the largest expected magnitude."""
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    scale = max(float(np.abs(expected).max()), 1e-300)
    return float(np.abs(actual - expected).max()) / scale


def assert_close(actual: object, expected: object, tol: float = TOL) -> None:
    err = rel_err(np.asarray(actual), np.asarray(expected))
    assert err <= tol, f"relative error {err:.3g} > {tol:g}"


def cov_frame(names: list[str], cov: np.ndarray, dates: list[object] | None = None) -> pl.DataFrame:
    k = len(names)
    f1 = [a for a in names for _ in range(k)]
    f2 = [b for _ in range(k) for b in names]
    if dates is None:
        return pl.DataFrame({"factor_1": f1, "factor_2": f2, "covariance": cov.reshape(-1)})
    covs = cov if cov.ndim == 3 else np.broadcast_to(cov, (len(dates), k, k))
    return pl.DataFrame(
        {
            "date": [d for d in dates for _ in range(k * k)],
            "factor_1": f1 * len(dates),
            "factor_2": f2 * len(dates),
            "covariance": covs.reshape(-1),
        }
    )


def random_arrays(
    rng: np.random.Generator, n: int = 50, n_styles: int = 3, n_ind: int = 5
) -> tuple[list[str], list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Styles (normal) plus an industry-dummy block; random PSD F; positive S."""
    styles = rng.standard_normal((n, n_styles))
    industry = rng.integers(0, n_ind, size=n)
    industry[:n_ind] = np.arange(n_ind)  # every industry has members
    dummies = np.eye(n_ind)[industry]
    x = np.hstack([styles, dummies])
    k = x.shape[1]
    a = rng.standard_normal((k, k)) * 0.05
    cov = a @ a.T + np.diag(rng.uniform(1e-4, 1e-3, size=k))
    cov = (cov + cov.T) / 2
    spec = rng.uniform(0.001, 0.02, size=n)
    assets = [f"A{i:03d}" for i in range(n)]
    factors = [f"s{j}" for j in range(n_styles)] + [f"ind{j}" for j in range(n_ind)]
    return assets, factors, x, cov, spec


def build(
    assets: list[str], factors: list[str], x: np.ndarray, cov: np.ndarray, spec: np.ndarray
) -> RiskModel:
    exposures = pl.DataFrame({"asset": assets, **{f: x[:, j] for j, f in enumerate(factors)}})
    specific = pl.DataFrame({"asset": assets, "specific_var": spec})
    return RiskModel.from_parts(exposures, cov_frame(factors, cov), specific)


def sigma(x: np.ndarray, cov: np.ndarray, spec: np.ndarray) -> np.ndarray:
    return x @ cov @ x.T + np.diag(spec)


@pytest.fixture
def parts(
    rng: np.random.Generator,
) -> tuple[list[str], list[str], np.ndarray, np.ndarray, np.ndarray]:
    return random_arrays(rng)


@pytest.fixture
def tiny() -> RiskModel:
    return RiskModel.from_parts(
        pl.DataFrame(
            {"asset": ["a", "b", "c"], "market": [1.0, 1.0, 1.0], "size": [0.5, -0.5, 0.0]}
        ),
        cov_frame(["market", "size"], np.array([[0.04, 0.002], [0.002, 0.01]])),
        pl.DataFrame({"asset": ["a", "b", "c"], "specific_var": [0.01, 0.02, 0.03]}),
        at=0,
    )


# ---------------------------------------------------------------------------------
# Oracle


def test_asset_risk_oracle(parts):
    assets, factors, x, cov, spec = parts
    # Shuffle the input rows: the model sorts by asset.
    order = np.random.default_rng(1).permutation(len(assets))
    model = build([assets[i] for i in order], factors, x[order], cov, spec[order])
    out = model.asset_risk()
    assert out.columns == ["asset", "total_var", "factor_var", "specific_var", "r2"]
    assert out["asset"].to_list() == assets
    full = sigma(x, cov, spec)
    assert_close(out["total_var"].to_numpy(), np.diag(full))
    assert_close(out["factor_var"].to_numpy(), np.diag(x @ cov @ x.T))
    assert_close(out["specific_var"].to_numpy(), spec)
    assert_close(out["r2"].to_numpy(), np.diag(x @ cov @ x.T) / np.diag(full))


def test_portfolio_risk_oracle(parts, rng):
    assets, factors, x, cov, spec = parts
    model = build(assets, factors, x, cov, spec)
    w = rng.standard_normal(len(assets))
    w[rng.random(len(assets)) < 0.3] = 0.0
    weights = pl.DataFrame({"asset": assets, "weight": w}).filter(pl.col("weight") != 0)
    res = model.portfolio_risk(weights)
    assert isinstance(res, PortfolioRiskResult)
    full = sigma(x, cov, spec)
    total = w @ full @ w
    vol = math.sqrt(total)
    fx = cov @ (x.T @ w)
    s = res.summary().row(0, named=True)
    assert_close(s["total_var"], total)
    assert_close(s["factor_var"], w @ x @ cov @ x.T @ w)
    assert_close(s["specific_var"], np.sum(w**2 * spec))
    assert_close(s["total_vol"], vol)
    assert_close(s["r2"], (w @ x @ cov @ x.T @ w) / total)
    assert res.factors["factor"].to_list() == factors
    assert_close(res.factors["exposure"].to_numpy(), x.T @ w)
    assert_close(res.factors["marginal"].to_numpy(), fx / vol)
    assert_close(res.factors["contribution"].to_numpy(), (x.T @ w) * fx)
    assert_close(res.factors["percent"].to_numpy(), (x.T @ w) * fx / total)
    assert res.assets["asset"].to_list() == assets
    assert_close(res.assets["weight"].to_numpy(), w)
    assert_close(res.assets["marginal"].to_numpy(), full @ w / vol)
    assert_close(res.assets["contribution"].to_numpy(), w * (full @ w))
    assert_close(res.assets["percent"].to_numpy(), w * (full @ w) / total)


def test_marginal_is_derivative_of_vol(parts, rng):
    assets, factors, x, cov, spec = parts
    model = build(assets, factors, x, cov, spec)
    w = rng.standard_normal(len(assets))
    res = model.portfolio_risk(dict(zip(assets, w, strict=True)))
    full = sigma(x, cov, spec)
    h = 1e-6
    i = 7
    up, down = w.copy(), w.copy()
    up[i] += h
    down[i] -= h
    numeric = (math.sqrt(up @ full @ up) - math.sqrt(down @ full @ down)) / (2 * h)
    assert res.assets["marginal"][i] == pytest.approx(numeric, rel=1e-6)


def test_hand_two_assets_one_factor():
    # X = [1, 2]', F = 0.04, S = (0.01, 0.02), w = (0.5, 0.5).
    model = RiskModel.from_parts(
        pl.DataFrame({"asset": ["a", "b"], "mkt": [1.0, 2.0]}),
        pl.DataFrame({"factor_1": ["mkt"], "factor_2": ["mkt"], "covariance": [0.04]}),
        pl.DataFrame({"asset": ["b", "a"], "specific_var": [0.02, 0.01]}),
    )
    # Sigma = [[0.04 + 0.01, 0.08], [0.08, 0.16 + 0.02]]
    ar = model.asset_risk()
    assert ar["total_var"].to_list() == pytest.approx([0.05, 0.18])
    assert ar["factor_var"].to_list() == pytest.approx([0.04, 0.16])
    assert ar["r2"].to_list() == pytest.approx([0.8, 0.16 / 0.18])
    res = model.portfolio_risk({"a": 0.5, "b": 0.5})
    # x = 1.5; factor var = 2.25 * 0.04 = 0.09; specific = 0.25 * (0.01 + 0.02) = 0.0075
    s = res.summary().row(0, named=True)
    assert s["factor_var"] == pytest.approx(0.09)
    assert s["specific_var"] == pytest.approx(0.0075)
    assert s["total_var"] == pytest.approx(0.0975)
    assert s["total_vol"] == pytest.approx(math.sqrt(0.0975))
    # Sigma w = (0.5 * 0.05 + 0.5 * 0.08, 0.5 * 0.08 + 0.5 * 0.18) = (0.065, 0.13)
    assert res.assets["contribution"].to_list() == pytest.approx([0.0325, 0.065])
    assert res.assets["marginal"].to_list() == pytest.approx(
        [0.065 / math.sqrt(0.0975), 0.13 / math.sqrt(0.0975)]
    )
    # F x = 0.06; marginal = 0.06 / vol; contribution = 1.5 * 0.06 = 0.09
    assert res.factors.row(0) == pytest.approx(
        ("mkt", 1.5, 0.06 / math.sqrt(0.0975), 0.09, 0.09 / 0.0975)
    )


def test_zero_portfolio_has_null_ratios(tiny):
    res = tiny.portfolio_risk({})
    assert res.summary().row(0) == (0.0, 0.0, 0.0, 0.0, None)
    assert res.factors["marginal"].null_count() == 2
    assert res.assets["percent"].null_count() == 3


def test_analyses_read_only_the_model_arrays(parts, rng):
    """The analyses take a ModelArrays value, built by hand here without a RiskModel."""
    assets, factors, x, cov, spec = parts
    model = build(assets, factors, x, cov, spec)
    arrays = ModelArrays(
        x=x, cov=cov, spec=spec, assets=pl.Series("asset", assets), factors=tuple(factors)
    )
    assert arrays.asset == "asset"
    weights = {a: float(v) for a, v in zip(assets, rng.standard_normal(len(assets)), strict=True)}
    assert_frame_equal(_analysis.asset_risk(arrays), model.asset_risk())
    by_hand, by_model = _analysis.portfolio_risk(arrays, weights), model.portfolio_risk(weights)
    assert_frame_equal(by_hand.summary(), by_model.summary())
    for name in ("totals", "factors", "assets"):
        assert_frame_equal(getattr(by_hand, name), getattr(by_model, name))
    hedged = _analysis.hedge(arrays, weights, factors=factors[:2])
    assert_frame_equal(hedged.weights, model.hedge(weights, factors=factors[:2]).weights)


# ---------------------------------------------------------------------------------
# Properties


@st.composite
def models_and_weights(draw: st.DrawFn) -> tuple[RiskModel, dict[str, float]]:
    n = draw(st.integers(2, 12))
    k = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, k)) * draw(st.sampled_from([0.01, 1.0, 100.0]))
    rank = draw(st.integers(1, k))  # singular F allowed (PSD)
    a = rng.standard_normal((k, rank))
    cov = a @ a.T
    spec = rng.uniform(0, 1, size=n) * (rng.random(n) < 0.8)  # some zero specific vars
    assets = [f"a{i}" for i in range(n)]
    model = build(assets, [f"f{j}" for j in range(k)], x, cov, spec)
    w = rng.standard_normal(n) * (rng.random(n) < 0.7)
    return model, {a: float(v) for a, v in zip(assets, w, strict=True)}


@settings(max_examples=30, deadline=None)
@given(models_and_weights())
def test_identities(case):
    model, weights = case
    res = model.portfolio_risk(weights)
    total, factor, specific, vol, r2 = res.summary().row(0)
    scale = max(total, 1e-300)
    assert abs(factor + specific - total) <= 1e-12 * scale
    assert abs(res.factors["contribution"].sum() - factor) <= 1e-10 * scale
    assert abs(res.assets["contribution"].sum() - total) <= 1e-10 * scale
    assert factor >= -1e-12 * scale
    assert specific >= 0
    assert vol == pytest.approx(math.sqrt(total))
    if r2 is not None:
        assert -1e-12 <= r2 <= 1 + 1e-12
    ar = model.asset_risk()
    assert (
        (ar["total_var"] - ar["factor_var"] - ar["specific_var"]).abs()
        <= 1e-12 * ar["total_var"].abs().max()
    ).all()
    r2s = ar["r2"].drop_nulls()
    assert ((r2s >= -1e-12) & (r2s <= 1 + 1e-12)).all()


# ---------------------------------------------------------------------------------
# Hedge


def fmp(x_h: np.ndarray, spec: np.ndarray) -> np.ndarray:
    inv = 1.0 / spec
    return (inv[:, None] * x_h) @ np.linalg.inv(x_h.T @ (inv[:, None] * x_h))


def test_hedge_default_fmp(parts, rng):
    assets, factors, x, cov, spec = parts
    model = build(assets, factors, x, cov, spec)
    w = rng.uniform(0, 1, len(assets))
    w /= w.sum()
    hedged = ["s0", "s2", "ind1"]
    cols = [factors.index(f) for f in hedged]
    out = model.hedge(pl.DataFrame({"asset": assets, "weight": w}), factors=hedged)
    assert isinstance(out, HedgeResult)
    p = fmp(x[:, cols], spec)
    assert out.instruments.columns == ["asset", *hedged]
    assert_close(out.instruments.select(hedged).to_numpy(), p)
    assert out.positions["instrument"].to_list() == hedged
    assert_close(out.positions["position"].to_numpy(), -(x[:, cols].T @ w))
    new = w + p @ out.positions["position"].to_numpy()
    assert_close(out.weights["hedged_weight"].to_numpy(), new)
    expo = out.exposures
    assert expo["factor"].to_list() == factors
    assert expo["hedged"].to_list() == [f in hedged for f in factors]
    after = expo["after"].to_numpy()
    before = expo["before"].to_numpy()
    assert_close(before, x.T @ w)
    assert np.abs(after[cols]).max() <= 1e-12 * np.abs(before).max()
    # Unhedged exposures change by the instruments' exposures only.
    assert_close(after, before + x.T @ p @ out.positions["position"].to_numpy())
    vol_before, vol_after = out.risk.row(0)
    full = sigma(x, cov, spec)
    assert vol_before == pytest.approx(math.sqrt(w @ full @ w), rel=1e-12)
    assert vol_after == pytest.approx(math.sqrt(new @ full @ new), rel=1e-12)


def test_hedge_all_factors_default(parts, rng):
    assets, factors, x, cov, spec = parts
    model = build(assets, factors, x, cov, spec)
    w = rng.standard_normal(len(assets))
    out = model.hedge(dict(zip(assets, w, strict=True)))
    assert np.abs(out.exposures["after"].to_numpy()).max() <= 1e-12 * np.abs(x.T @ w).max()
    assert out.exposures["hedged"].all()
    # Fully hedged: only specific risk is left.
    h = out.weights["hedged_weight"].to_numpy()
    assert out.risk["total_vol_after"].item() == pytest.approx(math.sqrt(np.sum(h**2 * spec)))


def test_hedge_with_fmp_instruments_matches_default(parts, rng):
    assets, factors, x, cov, spec = parts
    model = build(assets, factors, x, cov, spec)
    w = rng.standard_normal(len(assets))
    hedged = ["s1", "ind0", "ind4"]
    cols = [factors.index(f) for f in hedged]
    p = fmp(x[:, cols], spec)
    inst = pl.DataFrame({"asset": assets, "p1": p[:, 0], "p2": p[:, 1], "p3": p[:, 2]})
    out = model.hedge(dict(zip(assets, w, strict=True)), factors=hedged, instruments=inst.lazy())
    assert out.positions["instrument"].to_list() == ["p1", "p2", "p3"]
    assert_close(out.positions["position"].to_numpy(), -(x[:, cols].T @ w))
    assert np.abs(out.exposures["after"].to_numpy()[cols]).max() <= 1e-12 * np.abs(x.T @ w).max()


def test_hedge_min_norm_with_extra_instruments(parts, rng):
    assets, factors, x, cov, spec = parts
    model = build(assets, factors, x, cov, spec)
    w = rng.standard_normal(len(assets))
    hedged = ["s0", "s1"]
    cols = [factors.index(f) for f in hedged]
    # Five sparse instruments over a subset of assets (the others have weight 0).
    members = rng.choice(len(assets), size=20, replace=False)
    h_mat = np.zeros((len(assets), 5))
    h_mat[members] = rng.standard_normal((20, 5))
    inst = pl.DataFrame(
        {"asset": [assets[i] for i in members], **{f"h{j}": h_mat[members, j] for j in range(5)}}
    )
    out = model.hedge(dict(zip(assets, w, strict=True)), factors=hedged, instruments=inst)
    b = x[:, cols].T @ h_mat
    expected = np.linalg.pinv(b) @ (-(x[:, cols].T @ w))
    assert_close(out.positions["position"].to_numpy(), expected, tol=1e-10)
    after = out.exposures["after"].to_numpy()
    assert np.abs(after[cols]).max() <= 1e-12 * np.abs(x.T @ w).max()
    assert_close(out.weights["hedged_weight"].to_numpy(), w + h_mat @ expected, tol=1e-10)
    assert_close(out.instruments.select(pl.exclude("asset")).to_numpy(), h_mat)


def test_hedge_collinear_country_and_industries(rng):
    assets, factors, x, cov, spec = random_arrays(rng, n=30, n_styles=2, n_ind=4)
    # A country factor (all ones) is the sum of the industry dummies.
    x = np.hstack([x, np.ones((30, 1))])
    factors = [*factors, "country"]
    a = rng.standard_normal((len(factors), len(factors))) * 0.05
    cov = a @ a.T
    model = build(assets, factors, x, cov, spec)
    weights = {assets[0]: 1.0}
    with pytest.raises(SingularMatrixError, match="collinear") as info:
        model.hedge(weights)
    assert "country" in str(info.value)
    assert "s0" not in str(info.value)
    # Dropping one of them works.
    out = model.hedge(weights, factors=[f for f in factors if f != "ind3"])
    assert np.abs(out.exposures.filter("hedged")["after"].to_numpy()).max() <= 1e-12


def test_hedge_instruments_not_full_rank(tiny):
    inst = pl.DataFrame({"asset": ["a", "b"], "one": [1.0, 1.0]})
    with pytest.raises(SingularMatrixError, match="full row rank"):
        tiny.hedge({"a": 1.0}, instruments=inst)
    # Two instruments with the same exposures to the hedged factors.
    inst = pl.DataFrame({"asset": ["a", "b", "c"], "i1": [1.0, 0.0, 0.0], "i2": [2.0, 0.0, 0.0]})
    with pytest.raises(SingularMatrixError):
        tiny.hedge({"a": 1.0}, instruments=inst)


def test_hedge_zero_specific_variance_assets_left_out_of_fmp(rng):
    assets, factors, x, cov, spec = random_arrays(rng, n=20, n_styles=2, n_ind=2)
    spec[:3] = 0.0
    model = build(assets, factors, x, cov, spec)
    out = model.hedge({assets[5]: 1.0}, factors=["s0", "s1"])
    inst = out.instruments.select("s0", "s1").to_numpy()
    assert (inst[:3] == 0).all()
    cols = [0, 1]
    used = slice(3, None)
    assert_close(inst[used], fmp(x[used][:, cols], spec[used]))
    assert np.abs(out.exposures["after"].to_numpy()[:2]).max() <= 1e-12


def test_hedge_bad_factor_names(tiny):
    with pytest.raises(ValueError, match="Did you mean 'size'"):
        tiny.hedge({"a": 1.0}, factors=["sise"])
    with pytest.raises(ValueError, match="more than once"):
        tiny.hedge({"a": 1.0}, factors=["size", "size"])
    with pytest.raises(ValueError, match="at least one"):
        tiny.hedge({"a": 1.0}, factors=[])


def test_hedge_instrument_errors(tiny):
    with pytest.raises(UnknownAssetError, match="'zz'"):
        tiny.hedge({"a": 1.0}, instruments=pl.DataFrame({"asset": ["a", "zz"], "i": [1.0, 1.0]}))
    with pytest.raises(DuplicateKeyError):
        tiny.hedge({"a": 1.0}, instruments=pl.DataFrame({"asset": ["a", "a"], "i": [1.0, 1.0]}))
    with pytest.raises(InvalidDataError, match="the instruments have null, NaN or infinite"):
        tiny.hedge({"a": 1.0}, instruments=pl.DataFrame({"asset": ["a", "b"], "i": [1.0, None]}))
    with pytest.raises(ValueError, match="only the asset column"):
        tiny.hedge({"a": 1.0}, instruments=pl.DataFrame({"asset": ["a"]}))


# ---------------------------------------------------------------------------------
# Realized vs implied


def returns_panel(
    rng: np.random.Generator, assets: list[str], n_dates: int
) -> tuple[pl.DataFrame, np.ndarray]:
    r = rng.standard_normal((n_dates, len(assets))) * 0.02
    df = pl.DataFrame(
        {
            "date": np.repeat(np.arange(n_dates), len(assets)),
            "asset": assets * n_dates,
            "ret": r.reshape(-1),
        }
    ).sample(fraction=1.0, shuffle=True, seed=3)
    return df, r


@pytest.mark.parametrize("kind", ["eager", "lazy"])
def test_realized_vs_implied_oracle(parts, rng, kind):
    assets, factors, x, cov, spec = parts
    exposures = pl.DataFrame({"asset": assets, **{f: x[:, j] for j, f in enumerate(factors)}})
    model = RiskModel.from_parts(
        exposures,
        cov_frame(factors, cov),
        pl.DataFrame({"asset": assets, "specific_var": spec}),
        at=5,
    )
    w = rng.standard_normal(len(assets))
    w[:10] = 0.0
    df, r = returns_panel(rng, assets, 30)
    # Nulls on assets that are not held do not matter.
    df = df.with_columns(
        pl.when(pl.col("asset") == assets[0]).then(None).otherwise(pl.col("ret")).alias("ret")
    )
    returns = df.lazy() if kind == "lazy" else df
    out = model.realized_vs_implied(dict(zip(assets, w, strict=True)), returns, window=12)
    port = r[6:18] @ w
    implied = math.sqrt(w @ sigma(x, cov, spec) @ w)
    row = out.row(0, named=True)
    assert out.columns == ["date", "window", "n_obs", "implied_vol", "realized_vol", "ratio"]
    assert row["date"] == 5
    assert row["window"] == 12
    assert row["n_obs"] == 12
    assert row["implied_vol"] == pytest.approx(implied, rel=1e-12)
    assert row["realized_vol"] == pytest.approx(np.std(port, ddof=1), rel=1e-12)
    assert row["ratio"] == pytest.approx(np.std(port, ddof=1) / implied, rel=1e-12)


def test_realized_vs_implied_lazy_eager_streaming_agree(parts, rng):
    assets, factors, x, cov, spec = parts
    model = build(assets, factors, x, cov, spec)  # no date: the first dates
    w = {a: 1.0 / len(assets) for a in assets}
    df, r = returns_panel(rng, assets, 15)
    eager = model.realized_vs_implied(w, df, window=10)
    lazy = model.realized_vs_implied(w, df.lazy(), window=10)
    # The streaming engine adds in batches of its own choosing (not bitwise
    # reproducible under load): equal to round-off.
    assert_frame_equal(eager, lazy, check_exact=False, rel_tol=1e-12, abs_tol=0.0)
    assert eager["n_obs"].item() == 10
    assert eager["date"].item() is None
    port = r[:10] @ np.full(len(assets), 1.0 / len(assets))
    assert eager["realized_vol"].item() == pytest.approx(np.std(port, ddof=1), rel=1e-12)
    with pl.Config() as cfg:
        cfg.set_engine_affinity("streaming")
        streaming = model.realized_vs_implied(w, df.lazy(), window=10)
    assert_frame_equal(streaming, eager, check_exact=False, rel_tol=1e-12, abs_tol=0.0)


def test_realized_vs_implied_null_return_drops_date(tiny):
    returns = pl.DataFrame(
        {
            "date": [1, 1, 2, 2, 3, 3, 4, 4, 5],
            "asset": ["a", "b", "a", "b", "a", "b", "a", "b", "a"],
            "ret": [0.1, 0.2, None, 0.1, 0.2, float("nan"), 0.0, 0.5, 0.05],
        }
    )
    w = {"a": 0.5, "b": 0.5}
    with pytest.warns(DataLossWarning, match="3 of 5 dates") as rec:
        out = tiny.realized_vs_implied(w, returns, window=5)
    assert "2, 3, 5" in str(rec[0].message)
    port = np.array([0.15, 0.25])
    assert out["n_obs"].item() == 2
    assert out["realized_vol"].item() == pytest.approx(np.std(port, ddof=1))
    # Only asset a held: b's missing values do not matter.
    out = tiny.realized_vs_implied({"a": 1.0}, returns.filter(pl.col("date") != 2), window=3)
    assert out["n_obs"].item() == 3
    assert out["realized_vol"].item() == pytest.approx(np.std([0.1, 0.2, 0.0], ddof=1))


def test_realized_vs_implied_errors(tiny):
    returns = pl.DataFrame({"date": [0, 1, 1], "asset": ["a", "a", "b"], "ret": [0.1, 0.2, 0.1]})
    with pytest.raises(InsufficientDataError, match="at least 2 dates"):
        tiny.realized_vs_implied({"a": 1.0}, returns, window=5)  # date 0 is not after
    with pytest.raises(ValueError, match="window"):
        tiny.realized_vs_implied({"a": 1.0}, returns, window=1)
    with pytest.raises(ColumnNotFoundError):
        tiny.realized_vs_implied({"a": 1.0}, returns, window=2, returns="r")
    dup = pl.DataFrame({"date": [1, 1, 2], "asset": ["a", "a", "a"], "ret": [0.1, 0.2, 0.1]})
    with pytest.raises(DuplicateKeyError):
        tiny.realized_vs_implied({"a": 1.0}, dup, window=2)


# ---------------------------------------------------------------------------------
# from_parts


def dated_parts() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    exposures = pl.DataFrame(
        {
            "date": [1, 1, 2, 2, 2],
            "asset": ["a", "b", "c", "a", "b"],
            "mkt": [1.0, 1.0, 1.0, 1.0, 1.0],
            "size": [0.1, 0.2, 0.3, 0.4, 0.5],
            "sector": ["x", "y", "x", "x", "y"],  # non-numeric columns are ignored
            "other": [9.0, 9.0, 9.0, 9.0, 9.0],
        }
    )
    cov = pl.concat(
        [
            cov_frame(["mkt", "size"], np.array([[0.04, 0.0], [0.0, 0.01]]), dates=[1]),
            cov_frame(["mkt", "size"], np.array([[0.05, 0.001], [0.001, 0.02]]), dates=[2]),
        ]
    )
    spec = pl.DataFrame(
        {
            "date": [1, 1, 2, 2, 2],
            "asset": ["a", "b", "a", "b", "c"],
            "specific_var": [0.01, 0.02, 0.03, 0.04, 0.05],
        }
    )
    return exposures, cov, spec


@pytest.mark.parametrize("kind", ["eager", "lazy"])
def test_from_parts_dates(kind):
    frames = dated_parts()
    if kind == "lazy":
        frames = tuple(f.lazy() for f in frames)  # type: ignore[assignment]
    model = RiskModel.from_parts(*frames)
    assert model.at == 2
    assert model.factors == ("mkt", "size")
    assert model.exposures.columns == ["asset", "mkt", "size"]
    assert model.exposures["asset"].to_list() == ["a", "b", "c"]
    assert model.exposures["size"].to_list() == [0.4, 0.5, 0.3]
    assert model.specific_var["specific_var"].to_list() == [0.03, 0.04, 0.05]
    assert model.covariance.columns == ["factor_1", "factor_2", "covariance"]
    assert model.covariance["covariance"].to_list() == [0.05, 0.001, 0.001, 0.02]
    old = RiskModel.from_parts(*frames, at=1)
    assert old.exposures["asset"].to_list() == ["a", "b"]
    assert old.covariance["covariance"].to_list() == [0.04, 0.0, 0.0, 0.01]


def test_from_parts_and_realized_vs_implied_with_other_key_names():
    # date= and asset= name the key columns; at= is the model date (a value)
    keys = {"date": "day", "asset": "ticker"}
    frames = tuple(f.rename(keys, strict=False) for f in dated_parts())
    want = RiskModel.from_parts(*dated_parts(), at=1)
    model = RiskModel.from_parts(*frames, at=1, date="day", asset="ticker")
    assert (model.at, model.asset) == (1, "ticker")
    assert_frame_equal(model.exposures, want.exposures.rename(keys, strict=False))
    assert_frame_equal(model.covariance, want.covariance)
    returns = pl.DataFrame(
        {"date": [2, 2, 3, 3], "asset": ["a", "b"] * 2, "ret": [0.01, 0.02, -0.01, 0.03]}
    )
    got = model.realized_vs_implied({"a": 1.0}, returns.rename(keys), window=2, date="day")
    expected = want.realized_vs_implied({"a": 1.0}, returns, window=2)
    assert_frame_equal(got, expected.rename(keys, strict=False))
    with pytest.raises(TypeError, match="`date` must be a column name"):
        RiskModel.from_parts(*frames, date=1)  # type: ignore[arg-type]


def test_from_parts_default_date_is_latest_covariance_date():
    exposures, cov, spec = dated_parts()
    later = exposures.filter(pl.col("date") == 2).with_columns(
        pl.lit(3, dtype=pl.Int64).alias("date")
    )
    model = RiskModel.from_parts(pl.concat([exposures, later]), cov.lazy(), spec)
    assert model.at == 2
    # Without a date column in the covariance, the exposures' latest date.
    one = cov.filter(pl.col("date") == 1).drop("date")
    spec3 = spec.filter(pl.col("date") == 2).with_columns(pl.lit(3, dtype=pl.Int64).alias("date"))
    model = RiskModel.from_parts(pl.concat([exposures, later]), one, pl.concat([spec, spec3]))
    assert model.at == 3
    assert model.covariance["covariance"].to_list() == [0.04, 0.0, 0.0, 0.01]


def test_from_parts_date_missing():
    exposures, cov, spec = dated_parts()
    with pytest.raises(InsufficientDataError, match="no rows for date 3"):
        RiskModel.from_parts(exposures, cov, spec, at=3)
    with pytest.raises(InsufficientDataError, match="specific_var"):
        RiskModel.from_parts(exposures, cov, spec.filter(pl.col("date") == 1))


def test_from_parts_long_exposures_equal_wide(parts):
    assets, factors, x, cov, spec = parts
    wide = build(assets, factors, x, cov, spec)
    long = pl.DataFrame(
        {
            "asset": [a for a in assets for _ in factors],
            "factor": factors * len(assets),
            "exposure": x.reshape(-1),
        }
    ).filter(pl.col("exposure") != 0)  # absent (asset, factor) rows are 0
    long = pl.concat(
        [long, pl.DataFrame({"asset": ["A000"], "factor": ["extra"], "exposure": [5.0]})]
    )
    model = RiskModel.from_parts(
        long.lazy(), cov_frame(factors, cov), pl.DataFrame({"asset": assets, "specific_var": spec})
    )
    assert model.exposures.equals(wide.exposures)


def test_from_parts_factor_order_from_covariance(rng):
    names = ["zeta", "alpha", "mid"]
    cov = np.diag([0.1, 0.2, 0.3])
    model = RiskModel.from_parts(
        pl.DataFrame({"asset": ["a"], "alpha": [1.0], "mid": [2.0], "zeta": [3.0]}),
        cov_frame(names, cov),
        pl.DataFrame({"asset": ["a"], "specific_var": [0.0]}),
    )
    assert model.factors == ("zeta", "alpha", "mid")
    assert model.exposures.columns == ["asset", "zeta", "alpha", "mid"]
    # 9 * 0.1 + 0.2 + 4 * 0.3 = 2.3, specific 0 -> r2 = 1
    assert model.asset_risk().row(0) == pytest.approx(("a", 2.3, 2.3, 0.0, 1.0))


def test_from_parts_incomplete_assets_warn(tiny):
    exposures = pl.DataFrame(
        {
            "asset": ["a", "b", "c", "d"],
            "market": [1.0, None, 1.0, 1.0],
            "size": [0.5, 0.1, float("nan"), 0.0],
        }
    )
    spec = pl.DataFrame({"asset": ["a", "b", "c"], "specific_var": [0.01, 0.02, 0.03]})
    cov = tiny.covariance
    with pytest.warns(DataLossWarning, match="3 of 4 assets") as rec:
        model = RiskModel.from_parts(exposures, cov, spec)
    assert "'b', 'c', 'd'" in str(rec[0].message)
    assert model.exposures["asset"].to_list() == ["a"]
    assert model.dropped_assets == ("b", "c", "d")
    with pytest.raises(UnknownAssetError, match="left out of the model"):
        model.portfolio_risk({"a": 0.5, "c": 0.5})
    with pytest.warns(DataLossWarning), pytest.raises(InsufficientDataError, match="no asset"):
        RiskModel.from_parts(exposures.filter(pl.col("asset") != "a"), cov, spec)


def test_from_parts_errors(tiny):
    cov = tiny.covariance
    exp = tiny.exposures
    spec = tiny.specific_var
    with pytest.raises(ColumnNotFoundError, match="'size'"):
        RiskModel.from_parts(exp.drop("size"), cov, spec)
    with pytest.raises(DuplicateKeyError):
        RiskModel.from_parts(pl.concat([exp, exp.head(1)]), cov, spec)
    with pytest.raises(DuplicateKeyError):
        RiskModel.from_parts(exp, cov, pl.concat([spec, spec.head(1)]))
    with pytest.raises(InvalidDataError, match="specific variances must be >= 0"):
        RiskModel.from_parts(
            exp, cov, spec.with_columns(pl.Series("specific_var", [0.1, -0.1, 0.1]))
        )
    null_asset = pl.Series("asset", ["a", None, "c"])
    with pytest.raises(InvalidDataError, match="the exposures frame has rows with a null 'asset'"):
        RiskModel.from_parts(exp.with_columns(null_asset), cov, spec)
    null_cov = cov.with_columns(pl.lit(None, dtype=pl.Float64).alias("covariance"))
    with pytest.raises(InsufficientDataError, match="too short"):
        RiskModel.from_parts(exp, null_cov, spec)
    asym = cov.with_columns(pl.Series("covariance", [0.04, 0.002, 0.003, 0.01]))
    with pytest.raises(InvalidDataError, match="symmetric"):
        RiskModel.from_parts(exp, asym, spec)
    not_psd = cov.with_columns(pl.Series("covariance", [0.01, 0.02, 0.02, 0.01]))
    with pytest.raises(InvalidDataError, match="positive semi-definite"):
        RiskModel.from_parts(exp, not_psd, spec)
    with pytest.raises(InvalidDataError, match="pair exactly once"):
        RiskModel.from_parts(exp, cov.head(3), spec)


def test_from_parts_dated_null_covariance():
    exposures, cov, spec = dated_parts()
    cov = cov.with_columns(
        pl.when(pl.col("date") == 2).then(None).otherwise(pl.col("covariance")).alias("covariance")
    )
    with pytest.raises(InsufficientDataError, match=r"on 2 .*too short"):
        RiskModel.from_parts(exposures, cov, spec)
    assert RiskModel.from_parts(exposures, cov, spec, at=1).at == 1


# ---------------------------------------------------------------------------------
# Weights


def test_weights_errors(tiny):
    with pytest.raises(UnknownAssetError, match="'x', 'y'"):
        tiny.portfolio_risk({"a": 1.0, "x": 1.0, "y": 0.0})
    with pytest.raises(DuplicateKeyError, match="'a'"):
        tiny.portfolio_risk(pl.DataFrame({"asset": ["a", "a"], "weight": [1.0, 2.0]}))
    with pytest.raises(InvalidDataError, match="null, NaN"):
        tiny.portfolio_risk(pl.DataFrame({"asset": ["a", "b"], "weight": [1.0, None]}))
    with pytest.raises(InvalidDataError, match="null, NaN"):
        tiny.portfolio_risk({"a": float("nan")})
    with pytest.raises(InvalidDataError, match="the weights have 1 rows with a null asset"):
        tiny.portfolio_risk(pl.DataFrame({"asset": ["a", None], "weight": [1.0, 0.0]}))
    with pytest.raises(ColumnNotFoundError, match="'weight'"):
        tiny.portfolio_risk(pl.DataFrame({"asset": ["a"], "w": [1.0]}))
    with pytest.raises(TypeError):
        tiny.portfolio_risk([("a", 1.0)])  # type: ignore[arg-type]


def test_weights_frame_lazy_and_mapping_agree(tiny):
    frame = pl.DataFrame({"asset": ["c", "a"], "weight": [0.4, 0.6], "extra": [1, 2]})
    eager = tiny.portfolio_risk(frame)
    lazy = tiny.portfolio_risk(frame.lazy())
    mapping = tiny.portfolio_risk({"a": 0.6, "c": 0.4})
    for res in (lazy, mapping):
        assert res.summary().equals(eager.summary())
        assert res.factors.equals(eager.factors)
        assert res.assets.equals(eager.assets)
    assert eager.assets["weight"].to_list() == [0.6, 0.0, 0.4]


def test_constructor_checks_structure(tiny):
    with pytest.raises(ValueError, match="exposures must have the columns"):
        RiskModel(
            factors=("size", "market"),
            exposures=tiny.exposures,
            covariance=tiny.covariance,
            specific_var=tiny.specific_var,
        )
    with pytest.raises(ValueError, match="same assets"):
        RiskModel(
            factors=tiny.factors,
            exposures=tiny.exposures,
            covariance=tiny.covariance,
            specific_var=tiny.specific_var.reverse(),
        )
