"""eigenfactor_adjustment: plain-loop oracle, properties and errors."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from polars_factors.exceptions import ColumnNotFoundError, InvalidDataError, SingularMatrixError
from polars_factors.risk._linalg import _eigen
from polars_factors.risk.eigen import eigenfactor_adjustment

FACTORS = ["mkt", "size", "value", "mom", "vol"]


def eigen_oracle(f0, *, n_sims, window, scale, seed):
    """USE4 Appendix B, one simulation at a time."""
    rng = np.random.default_rng(seed)
    d0, u0 = np.linalg.eigh(f0)
    k = len(d0)
    ratios = np.zeros(k)
    for _ in range(n_sims):
        b = rng.standard_normal((window, k)) * np.sqrt(d0)
        f = b @ u0.T
        f = f - f.mean(axis=0)
        fm = f.T @ f / window
        dm, um = np.linalg.eigh(fm)
        dtilde = np.diag(um.T @ f0 @ um)
        ratios += dtilde / dm
    lam = np.sqrt(ratios / n_sims)
    gamma = lam if scale is None else scale * (lam - 1) + 1
    out = u0 @ np.diag(gamma**2 * d0) @ u0.T
    return (out + out.T) / 2, lam


def random_cov(rng, k=5):
    a = rng.standard_normal((3 * k, k)) * rng.uniform(0.5, 2.0, k)
    return a.T @ a / (3 * k)


def cov_frame(mats, factors=FACTORS, dates=None):
    rows = []
    for d, m in enumerate(mats):
        for i, fi in enumerate(factors):
            for j, fj in enumerate(factors):
                value = None if m is None else float(m[i, j])
                rows.append((d if dates is None else dates[d], fi, fj, value))
    return pl.DataFrame(
        rows,
        schema={
            "date": pl.Int64 if dates is None else pl.Date,
            "factor_1": pl.String,
            "factor_2": pl.String,
            "covariance": pl.Float64,
        },
        orient="row",
    )


def matrices(frame, k=5):
    return frame["covariance"].to_numpy().reshape(-1, k, k)


@pytest.mark.parametrize("scale", [1.4, None, 0.0])
def test_oracle(rng, scale):
    mats = [random_cov(rng) for _ in range(3)]
    out = eigenfactor_adjustment(cov_frame(mats), n_sims=60, window=12, scale=scale, seed=5)
    got = matrices(out)
    for i, m in enumerate(mats):
        expected, _ = eigen_oracle(m, n_sims=60, window=12, scale=scale, seed=5)
        np.testing.assert_allclose(got[i], expected, rtol=1e-10, atol=1e-13)
    if scale == 0.0:
        np.testing.assert_allclose(got, np.stack(mats), rtol=1e-12)


def test_chunked_stream_matches(rng):
    m = random_cov(rng)
    d0 = np.linalg.eigvalsh(m)
    one = _eigen.simulated_bias(d0, n_sims=37, window=11, seed=3, chunk_bytes=1)
    many = _eigen.simulated_bias(d0, n_sims=37, window=11, seed=3, chunk_bytes=10_000)
    _, lam = eigen_oracle(m, n_sims=37, window=11, scale=None, seed=3)
    np.testing.assert_allclose(one, lam, rtol=1e-12)
    np.testing.assert_allclose(many, lam, rtol=1e-12)


def test_layout_dates_and_null_matrices(rng):
    mats = [None, random_cov(rng), None, random_cov(rng)]
    dates = [dt.date(2024, 1, d) for d in (2, 3, 4, 5)]
    frame = cov_frame(mats, dates=dates)
    # dates in reverse order (each date's block keeps the factor order)
    backwards = frame.sort("date", descending=True, maintain_order=True)
    out = eigenfactor_adjustment(backwards, n_sims=20, window=15)
    assert out.columns == frame.columns
    assert out.schema == frame.schema
    assert_frame_equal(out.select("date", "factor_1", "factor_2"), frame.drop("covariance"))
    got = matrices(out)
    assert np.isnan(got[[0, 2]]).all()
    assert out.filter(pl.col("date") == dates[0])["covariance"].null_count() == 25
    # a date's result does not depend on the other dates
    alone = eigenfactor_adjustment(frame.filter(pl.col("date") == dates[3]), n_sims=20, window=15)
    np.testing.assert_array_equal(matrices(alone)[0], got[3])
    # a one-date frame without a date column
    plain = eigenfactor_adjustment(
        frame.filter(pl.col("date") == dates[3]).drop("date"), n_sims=20, window=15
    )
    assert plain.columns == ["factor_1", "factor_2", "covariance"]
    np.testing.assert_array_equal(matrices(plain)[0], got[3])


def test_factor_order_kept(rng):
    m = random_cov(rng)
    order = ["vol", "mkt", "mom", "size", "value"]
    perm = [FACTORS.index(f) for f in order]
    frame = cov_frame([m[np.ix_(perm, perm)]], factors=order)
    out = eigenfactor_adjustment(frame, n_sims=10, window=20)
    assert_frame_equal(out.drop("covariance"), frame.drop("covariance"))


def test_properties(rng):
    mats = [random_cov(rng) for _ in range(4)]
    frame = cov_frame(mats)
    out = matrices(eigenfactor_adjustment(frame, n_sims=100, window=10, seed=2))
    for m, a in zip(mats, out, strict=True):
        np.testing.assert_array_equal(a, a.T)  # exactly symmetric
        assert np.linalg.eigvalsh(a).min() > 0
        # same eigenvectors: the adjusted matrix commutes with the input
        np.testing.assert_allclose(a @ m, m @ a, atol=1e-10 * np.abs(m).max() ** 2)
        d0, u0 = np.linalg.eigh(m)
        gamma2 = np.diag(u0.T @ a @ u0) / d0
        assert np.sqrt(gamma2[0]) > 1.05  # the smallest eigenfactor is inflated
        assert gamma2[0] > gamma2[-1]
    unscaled = eigenfactor_adjustment(frame, n_sims=100, window=10, seed=2, scale=None)
    scale_one = eigenfactor_adjustment(frame, n_sims=100, window=10, seed=2, scale=1.0)
    assert_frame_equal(unscaled, scale_one)


def test_units_do_not_matter(rng):
    # c F has eigenvectors U0 and eigenvalues c D0: the same draws give the same bias.
    m = random_cov(rng)
    base = matrices(eigenfactor_adjustment(cov_frame([m]), n_sims=30, window=9))
    scaled = matrices(eigenfactor_adjustment(cov_frame([m * 1e-4]), n_sims=30, window=9))
    np.testing.assert_allclose(scaled * 1e4, base, rtol=1e-9)


def test_long_window_barely_adjusts(rng):
    m = random_cov(rng)
    out = matrices(eigenfactor_adjustment(cov_frame([m]), n_sims=20, window=20_000, scale=None))
    d0, u0 = np.linalg.eigh(m)
    gamma = np.sqrt(np.diag(u0.T @ out[0] @ u0) / d0)
    np.testing.assert_allclose(gamma, 1.0, atol=5e-3)  # Monte Carlo noise ~ 1e-3


def test_lazy_input(rng):
    frame = cov_frame([random_cov(rng), random_cov(rng)])
    eager = eigenfactor_adjustment(frame, n_sims=10, window=8)
    assert_frame_equal(eigenfactor_adjustment(frame.lazy(), n_sims=10, window=8), eager)


def test_errors(rng):
    frame = cov_frame([random_cov(rng)])
    with pytest.raises(ValueError, match="window"):
        eigenfactor_adjustment(frame, window=1)
    with pytest.raises(ValueError, match="exceed the number of factors"):
        eigenfactor_adjustment(frame, window=5)
    with pytest.raises(ValueError, match="n_sims"):
        eigenfactor_adjustment(frame, window=10, n_sims=0)
    with pytest.raises(ValueError, match="scale"):
        eigenfactor_adjustment(frame, window=10, scale=-0.1)
    with pytest.raises(TypeError, match="window"):
        eigenfactor_adjustment(frame, window=10.0)  # type: ignore[arg-type]
    with pytest.raises(ColumnNotFoundError):
        eigenfactor_adjustment(frame.drop("factor_2"), window=10)
    singular = np.ones((5, 5))
    with pytest.raises(SingularMatrixError, match="on 1"):
        eigenfactor_adjustment(
            cov_frame([random_cov(rng), singular, random_cov(rng)]), n_sims=5, window=10
        )
    with pytest.raises(TypeError, match="DataFrame"):
        eigenfactor_adjustment({"a": 1}, window=10)  # type: ignore[arg-type]


def test_malformed_covariance_errors(rng):
    partial = random_cov(rng)
    partial[0, 1] = partial[1, 0] = np.nan
    with pytest.raises(InvalidDataError, match=r"complete or entirely null.* on 1"):
        eigenfactor_adjustment(cov_frame([random_cov(rng), partial]), n_sims=5, window=10)
    asym = random_cov(rng)
    asym[0, 1] += 1.0
    with pytest.raises(InvalidDataError, match="must be symmetric"):
        eigenfactor_adjustment(cov_frame([asym]), n_sims=5, window=10)
    with pytest.raises(InvalidDataError, match="pair exactly once"):
        eigenfactor_adjustment(cov_frame([random_cov(rng)]).head(24), n_sims=5, window=10)
