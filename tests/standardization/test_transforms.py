"""Each standardization against a per-date numpy loop, on eager, lazy and streaming frames."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import polars.testing
import pytest

from polars_factors.exceptions import DataLossWarning
from tests import oracle

TOL = {"rtol": 1e-12, "atol": 1e-12}


def _values(out: pl.DataFrame, col: str) -> np.ndarray:
    s = out[col]
    assert s.dtype == pl.Float64
    assert not s.is_nan().any(), "outputs must use null, never NaN"
    return s.to_numpy().astype(float)


def _assert_same_rows(df: pl.DataFrame, out: pl.DataFrame, changed: set[str]) -> None:
    assert out.height == df.height
    for col in df.columns:
        if col not in changed:
            assert out[col].equals(df[col]), col


@pytest.mark.parametrize(("lower", "upper"), [(0.01, 0.99), (0.1, 0.75), (0.0, 1.0)])
def test_winsorize_quantile(panel, run, lower, upper):
    out = run(panel, lambda f: f.factors.winsorize(["x", "y"], lower=lower, upper=upper))
    _assert_same_rows(panel, out, {"x", "y"})
    for col in ("x", "y"):
        x = oracle.column(panel, col)
        expected = oracle.per_group(
            panel, ["date"], [x], lambda v: oracle.winsorize_quantile(v, lower, upper)
        )
        np.testing.assert_allclose(_values(out, col), expected, **TOL)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("std_weights", ["equal", "weighted"])
def test_winsorize_sigma(panel, run, weighted, std_weights):
    weights = "mcap" if weighted else None
    out = run(
        panel,
        lambda f: f.factors.winsorize(
            "x", method="sigma", n_sigma=1.5, weights=weights, std_weights=std_weights
        ),
    )
    x, w = oracle.column(panel, "x"), oracle.raw_column(panel, "mcap")
    expected = oracle.per_group(
        panel,
        ["date"],
        [x, w],
        lambda v, wv: oracle.winsorize_sigma(v, wv if weighted else None, 1.5, std_weights),
    )
    np.testing.assert_allclose(_values(out, "x"), expected, **TOL)


def test_winsorize_mad(panel, run):
    out = run(panel, lambda f: f.factors.winsorize("y", method="mad", n_sigma=2.0))
    expected = oracle.per_group(
        panel, ["date"], [oracle.column(panel, "y")], lambda v: oracle.winsorize_mad(v, 2.0)
    )
    np.testing.assert_allclose(_values(out, "y"), expected, **TOL)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("std_weights", ["equal", "weighted"])
def test_zscore(panel, run, weighted, std_weights):
    weights = "mcap" if weighted else None
    out = run(
        panel, lambda f: f.factors.zscore(["x", "y"], weights=weights, std_weights=std_weights)
    )
    _assert_same_rows(panel, out, {"x", "y"})
    w = oracle.raw_column(panel, "mcap")
    for col in ("x", "y"):
        expected = oracle.per_group(
            panel,
            ["date"],
            [oracle.column(panel, col), w],
            lambda v, wv: oracle.zscore(v, wv if weighted else None, std_weights),
        )
        np.testing.assert_allclose(_values(out, col), expected, **TOL)


def test_zscore_by_date_and_sector(panel, run):
    out = run(panel, lambda f: f.factors.zscore("x", weights="mcap", by=["date", "sector"]))
    expected = oracle.per_group(
        panel,
        ["date", "sector"],
        [oracle.column(panel, "x"), oracle.raw_column(panel, "mcap")],
        lambda v, wv: oracle.zscore(v, wv, "equal"),
    )
    np.testing.assert_allclose(_values(out, "x"), expected, **TOL)


@pytest.mark.parametrize("gaussian", [False, True])
def test_rank(panel, run, gaussian):
    out = run(panel, lambda f: f.factors.rank(["x", "y"], gaussian=gaussian))
    for col in ("x", "y"):
        expected = oracle.per_group(
            panel,
            ["date"],
            [oracle.column(panel, col)],
            lambda v: oracle.rank(v, gaussian=gaussian),
        )
        np.testing.assert_allclose(_values(out, col), expected, **TOL)


@pytest.mark.parametrize("strategy", ["median", "mean", "zero"])
def test_fill_missing(panel, run, strategy):
    out = run(
        panel, lambda f: f.factors.fill_missing("x", strategy=strategy, by=["date", "sector"])
    )
    expected = oracle.per_group(
        panel, ["date", "sector"], [oracle.column(panel, "x")], lambda v: oracle.fill(v, strategy)
    )
    np.testing.assert_allclose(_values(out, "x"), expected, **TOL)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("std_weights", ["equal", "weighted"])
@pytest.mark.parametrize("min_count", [1, 25])
def test_standardize(panel, run, weighted, std_weights, min_count):
    weights = "mcap" if weighted else None
    kwargs = {"lower": 0.05, "upper": 0.95, "n_sigma": 2.0, "std_weights": std_weights}
    out = run(
        panel,
        lambda f: f.factors.standardize(["x", "y"], weights=weights, min_count=min_count, **kwargs),
    )
    _assert_same_rows(panel, out, {"x", "y"})
    w = oracle.raw_column(panel, "mcap")
    for col in ("x", "y"):
        expected = oracle.per_group(
            panel,
            ["date"],
            [oracle.column(panel, col), w],
            lambda v, wv: oracle.standardize(
                v,
                wv if weighted else None,
                wv if weighted else None,
                min_count=min_count,
                **kwargs,
            ),
        )
        np.testing.assert_allclose(_values(out, col), expected, **TOL)


def test_combine(panel, run):
    styles = {"value": {"x": 2.0, "y": 1.0}, "just_x": ["x"]}
    out = run(panel, lambda f: f.factors.combine(styles, weights="mcap"))
    _assert_same_rows(panel, out, {"value", "just_x"})
    x, y = oracle.column(panel, "x"), oracle.column(panel, "y")
    num = np.where(np.isnan(x), 0.0, 2.0 * x) + np.where(np.isnan(y), 0.0, y)
    den = np.where(np.isnan(x), 0.0, 2.0) + np.where(np.isnan(y), 0.0, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.where(den > 0, num / den, np.nan)
    w = oracle.raw_column(panel, "mcap")
    expected = oracle.per_group(panel, ["date"], [raw, w], oracle.zscore)
    np.testing.assert_allclose(_values(out, "value"), expected, **TOL)
    expected_x = oracle.per_group(panel, ["date"], [x, w], oracle.zscore)
    np.testing.assert_allclose(_values(out, "just_x"), expected_x, **TOL)


def test_suffix_adds_columns(panel, run):
    out = run(panel, lambda f: f.factors.zscore(["x", "y"], suffix="_z"))
    assert out.columns == [*panel.columns, "x_z", "y_z"]
    _assert_same_rows(panel, out, {"x_z", "y_z"})


def test_custom_key_names(rng, run):
    df = oracle_panel = pl.DataFrame(
        {"dt": [1, 1, 1, 2, 2], "ticker": list("abcab"), "v": [1.0, 2.0, 4.0, 3.0, 5.0]}
    )
    out = run(df, lambda f: f.factors.zscore("v", date="dt", asset="ticker"))
    expected = oracle.per_group(
        oracle_panel, ["dt"], [oracle.column(df, "v")], lambda v: oracle.zscore(v, None)
    )
    np.testing.assert_allclose(_values(out, "v"), expected, **TOL)


def test_integer_and_float32_columns(run):
    df = pl.DataFrame(
        {
            "date": [1, 1, 1],
            "asset": ["a", "b", "c"],
            "i": pl.Series([1, 2, 3], dtype=pl.Int32),
            "f": pl.Series([1.0, 2.0, 3.0], dtype=pl.Float32),
        }
    )
    out = run(df, lambda f: f.factors.zscore(["i", "f"]))
    z = np.sqrt(1.5)
    assert out["i"].to_list() == pytest.approx([-z, 0.0, z], abs=1e-15)
    assert out["f"].to_list() == pytest.approx([-z, 0.0, z], abs=1e-15)


def test_empty_frame(run):
    df = pl.DataFrame(
        {"date": [], "asset": [], "x": []},
        schema={"date": pl.Date, "asset": pl.String, "x": pl.Float64},
    )
    out = run(df, lambda f: f.factors.standardize("x"))
    assert out.height == 0
    assert out.schema == df.schema


@pytest.mark.parametrize(
    "call",
    [
        lambda f, **k: f.factors.winsorize(["x", "y"], **k),
        lambda f, **k: f.factors.winsorize("x", method="sigma", weights="mcap", **k),
        lambda f, **k: f.factors.zscore(["x", "y"], weights="mcap", **k),
        lambda f, **k: f.factors.rank("x", gaussian=True, **k),
        lambda f, **k: f.factors.fill_missing("x", by=["date", "sector"], **k),
        lambda f, **k: f.factors.standardize("x", weights="mcap", min_count=3, **k),
        lambda f, **k: f.factors.combine({"v": {"x": 0.5, "y": 0.5}}, weights="mcap", **k),
    ],
)
def test_every_engine_gives_the_same_frame(panel, call):
    # An eager input is collected with `engine` (default "auto", Polars' streaming
    # engine): the same rows, in the same order, as the in-memory engine.
    df = panel
    with warnings.catch_warnings():  # the panel's NaN and zero spreads: checked elsewhere
        warnings.simplefilter("ignore", DataLossWarning)
        default = call(df)
        for engine in ("in-memory", "streaming"):
            pl.testing.assert_frame_equal(call(df, engine=engine), default)
        lazy = call(df.lazy(), engine="in-memory")  # a plan, whatever the engine
        assert isinstance(lazy, pl.LazyFrame)
        pl.testing.assert_frame_equal(lazy.collect(), default)
