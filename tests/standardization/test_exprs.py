"""Expression builders: used with .over(), equal to the frame functions; norm_ppf accuracy."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import special

import polars_factors as pf
from tests import oracle


def test_norm_ppf_matches_scipy_across_the_range():
    p = np.concatenate(
        [
            np.logspace(-300, -1, 400),
            np.linspace(0.0001, 0.9999, 2001),
            1.0 - np.logspace(-16, -1, 200),
            [0.075, 0.925, 0.5, 0.5 - 0.425, 0.5 + 0.425],
        ]
    )
    got = pl.select(pf.exprs.norm_ppf(pl.lit(pl.Series(p)))).to_series().to_numpy()
    expected = special.ndtri(p)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    # Central and moderate tails are much better than the promised 1e-9.
    central = (p > 1e-10) & (p < 1 - 1e-10)
    np.testing.assert_allclose(got[central], expected[central], rtol=1e-14, atol=1e-15)


def test_norm_ppf_edges():
    s = pl.Series([0.0, 1.0, -0.1, 1.5, None, 0.5])
    got = pl.select(pf.exprs.norm_ppf(pl.lit(s))).to_series().to_list()
    assert got == [float("-inf"), float("inf"), None, None, None, 0.0]


@pytest.mark.filterwarnings(
    "ignore::polars_factors.exceptions.DataLossWarning"
)  # asserted in test_errors.py
def test_builders_with_over_match_frame_functions(panel):
    lf = panel.lazy()
    builders = {
        "winsorize": (
            pf.exprs.winsorize("x", method="sigma", weights="mcap"),
            lambda f: f.factors.winsorize("x", method="sigma", weights="mcap"),
        ),
        "zscore": (
            pf.exprs.zscore("x", weights="mcap"),
            lambda f: f.factors.zscore("x", weights="mcap"),
        ),
        "rank": (pf.exprs.rank("x", gaussian=True), lambda f: f.factors.rank("x", gaussian=True)),
        "fill": (pf.exprs.fill_missing("x"), lambda f: f.factors.fill_missing("x")),
        "standardize": (
            pf.exprs.standardize("x", weights="mcap", std_weights="weighted", min_count=5),
            lambda f: f.factors.standardize(
                "x", weights="mcap", std_weights="weighted", min_count=5
            ),
        ),
    }
    for name, (expr, frame_fn) in builders.items():
        via_expr = lf.with_columns(expr.over("date")).collect()["x"]
        via_frame = frame_fn(lf).collect()["x"]
        np.testing.assert_allclose(
            via_expr.to_numpy().astype(float),
            via_frame.to_numpy().astype(float),
            rtol=1e-13,
            err_msg=name,
        )


def test_builders_in_group_by_agg_and_whole_column(panel):
    # Without .over() the statistics are over the whole column.
    whole = panel.select(pf.exprs.zscore("y"))["y"].to_numpy().astype(float)
    np.testing.assert_allclose(whole, oracle.zscore(oracle.column(panel, "y"), None), rtol=1e-12)
    # In a group_by context they are per group.
    agg = (
        panel.group_by("date")
        .agg(pf.exprs.zscore("y").abs().max().alias("max_abs"))
        .sort("date")["max_abs"]
        .to_numpy()
        .astype(float)
    )
    ref = []
    for d in sorted(panel["date"].unique().to_list()):
        z = oracle.zscore(oracle.column(panel.filter(pl.col("date") == d), "y"), None)
        ref.append(np.nanmax(np.abs(z)) if np.isfinite(z).any() else np.nan)
    np.testing.assert_allclose(agg, np.array(ref), rtol=1e-12)


@pytest.mark.parametrize(
    ("builder", "kwargs", "match"),
    [
        (pf.exprs.winsorize, {"method": "median"}, "unknown method"),
        (pf.exprs.winsorize, {"lower": 0.9, "upper": 0.1}, "smaller than"),
        (pf.exprs.winsorize, {"lower": -0.1}, r"fraction in \[0, 1\]"),
        (pf.exprs.winsorize, {"method": "sigma", "n_sigma": 0.0}, "positive"),
        (pf.exprs.winsorize, {"weights": "w"}, "only by method='sigma'"),
        (pf.exprs.zscore, {"std_weights": "cap"}, "unknown std_weights"),
        (pf.exprs.fill_missing, {"strategy": "ffill"}, "unknown strategy"),
        (pf.exprs.standardize, {"min_count": -1}, "non-negative integer"),
    ],
)
def test_builder_option_errors(builder, kwargs, match):
    with pytest.raises(ValueError, match=match):
        builder("x", **kwargs)
