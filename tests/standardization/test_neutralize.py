"""Tests of neutralize and of the batched solvers behind it.

Oracle: a plain per-group numpy loop that builds the full design matrix (against
columns plus one-hot industries, or an intercept) and solves weighted least squares
with ``np.linalg.lstsq`` on sqrt(w)-scaled rows.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import polars_factors as pf
from polars_factors.exceptions import (
    ColumnNotFoundError,
    DataLossWarning,
    DuplicateKeyError,
    RankDeficientWarning,
    SchemaError,
)
from polars_factors.regression import _solve

TOL = 1e-10


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)


# --------------------------------------------------------------------------- helpers

# The panels miss regressors on purpose: the values that a lazy plan turns null are
# reported when it is collected (asserted in test_missing_regressor_or_industry_...).
pytestmark = pytest.mark.filterwarnings("ignore:.*of a lazy plan:polars_factors.DataLossWarning")


def make_panel(rng: np.random.Generator, n_dates: int = 6, n_assets: int = 40) -> pl.DataFrame:
    """Ragged panel with nulls, NaN, unusable weights and an industry missing on a date."""
    rows = []
    for d in range(n_dates):
        present = np.sort(rng.choice(n_assets, size=rng.integers(n_assets // 2, n_assets)))
        rows += [(d, f"A{a:03d}") for a in np.unique(present)]
    n = len(rows)
    df = pl.DataFrame(
        {
            "date": [r[0] for r in rows],
            "asset": [r[1] for r in rows],
            "sector": rng.choice(["s1", "s2"], size=n).tolist(),
            "ind": rng.choice(["a", "b", "c", "d"], size=n, p=[0.4, 0.3, 0.2, 0.1]).tolist(),
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n) + 0.5,
            "y1": rng.normal(size=n),
            "y2": rng.normal(size=n) * 3.0,
            "w": rng.uniform(0.5, 2.0, size=n),
        }
    )
    holes = {c: rng.random(n) < 0.07 for c in ["x1", "x2", "y1", "y2", "w", "ind"]}
    nan_y = rng.random(n) < 0.03
    neg_w = rng.random(n) < 0.05
    zero_w = rng.random(n) < 0.05
    return (
        df.with_columns(
            pl.when(pl.Series(nan_y)).then(float("nan")).otherwise(pl.col("y1")).alias("y1"),
            # zero weights (negative ones raise: tests/bad_inputs/test_consistency.py)
            pl.when(pl.Series(neg_w)).then(0.0).otherwise(pl.col("w")).alias("w"),
        )
        .with_columns(
            *[pl.when(pl.Series(holes[c])).then(None).otherwise(pl.col(c)).alias(c) for c in holes],
        )
        .with_columns(
            pl.when(pl.Series(zero_w)).then(0.0).otherwise(pl.col("w")).alias("w"),
            # industry "d" is absent on date 1
            pl.when((pl.col("date") == 1) & (pl.col("ind") == "d"))
            .then(pl.lit("a"))
            .otherwise(pl.col("ind"))
            .alias("ind"),
        )
    )


def oracle(
    df: pl.DataFrame,
    y: str,
    *,
    against: list[str],
    industry: str | None,
    weights: str | None,
    by: list[str],
) -> np.ndarray:
    """Residuals by a per-group loop over the full one-hot design (NaN = null)."""
    df = df.with_row_index("_row")
    if industry is not None:
        df = df.with_columns(pl.col(industry).cast(pl.String))
    out = np.full(df.height, np.nan)
    for part in df.partition_by(by, maintain_order=True):
        yv = part[y].cast(pl.Float64).fill_null(np.nan).to_numpy()
        X = np.column_stack(
            [part[x].cast(pl.Float64).fill_null(np.nan).to_numpy() for x in against]
            + [np.zeros(part.height)]
        )[:, :-1]
        ind = part[industry].to_list() if industry is not None else ["all"] * part.height
        w = (
            part[weights].cast(pl.Float64).fill_null(np.nan).to_numpy()
            if weights is not None
            else np.ones(part.height)
        )
        w = np.where(np.isfinite(w) & (w > 0), w, 0.0)
        sample = (
            np.isfinite(yv) & np.isfinite(X).all(axis=1) & np.array([i is not None for i in ind])
        )
        fit = sample & (w > 0)
        cats = sorted({i for i, f in zip(ind, fit, strict=True) if f})
        if not cats:
            continue
        D = np.array([[float(i == c) for c in cats] for i in ind]).reshape(part.height, -1)
        design = np.column_stack([np.where(sample[:, None], X, 0.0), D])
        sw = np.sqrt(w[fit])
        beta = np.linalg.lstsq(design[fit] * sw[:, None], np.nan_to_num(yv[fit]) * sw, rcond=1e-10)[
            0
        ]
        resid = yv - design @ beta
        ok = sample & np.array([i in cats for i in ind])
        rows = part["_row"].to_numpy()
        out[rows[ok]] = resid[ok]
    return out


def as_array(s: pl.Series) -> np.ndarray:
    return np.asarray(s.cast(pl.Float64).fill_null(np.nan).to_numpy())


def assert_close(got: pl.Series, expected: np.ndarray) -> None:
    g = as_array(got)
    assert got.null_count() == int(np.isnan(expected).sum())
    np.testing.assert_array_equal(np.isnan(g), np.isnan(expected))
    np.testing.assert_allclose(g, expected, rtol=0, atol=TOL, equal_nan=True)


def run(frame: Any, columns: Any, **kwargs: Any) -> pl.DataFrame:
    """neutralize, collected; DataLossWarning (expected on these panels) silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataLossWarning)
        out = pf.neutralize(frame, columns, **kwargs)
        return out.collect() if isinstance(out, pl.LazyFrame) else out


# --------------------------------------------------------------------------- hand case


def test_hand_computed_with_zero_weight_row() -> None:
    # Fit rows a-d (e has weight 0): x = 0,1,2,3, y = 1,2,4,3.
    # xbar = 1.5, ybar = 2.5; centred x = -1.5,-.5,.5,1.5, centred y = -1.5,-.5,1.5,.5
    # b = sum xc*yc / sum xc^2 = 4 / 5 = 0.8, a = 2.5 - 0.8 * 1.5 = 1.3
    # residuals y - 1.3 - 0.8 x = -0.3, -0.1, 1.1, -0.7; row e (x=4, y=10): 10 - 4.5 = 5.5
    df = pl.DataFrame(
        {
            "date": [1] * 5,
            "asset": list("abcde"),
            "x": [0.0, 1.0, 2.0, 3.0, 4.0],
            "y": [1.0, 2.0, 4.0, 3.0, 10.0],
            "w": [1.0, 1.0, 1.0, 1.0, 0.0],
        }
    )
    out = pf.neutralize(df, "y", against="x", weights="w")
    np.testing.assert_allclose(out["y"].to_numpy(), [-0.3, -0.1, 1.1, -0.7, 5.5], atol=1e-14)
    assert out.columns == df.columns
    assert out["x"].equals(df["x"])


def test_demean_without_regressors() -> None:
    df = pl.DataFrame(
        {"date": [1, 1, 1, 2, 2], "asset": list("abcab"), "y": [1.0, 2.0, 6.0, 5.0, 7.0],
         "w": [1.0, 1.0, 2.0, 1.0, 3.0]}
    )  # fmt: skip
    out = pf.neutralize(df, "y", weights="w")
    # date 1: weighted mean (1 + 2 + 12) / 4 = 3.75; date 2: (5 + 21) / 4 = 6.5
    np.testing.assert_allclose(out["y"].to_numpy(), [-2.75, -1.75, 2.25, -1.5, 0.5])


# --------------------------------------------------------------------------- oracle


CASES: dict[str, dict[str, Any]] = {
    "against+industry+weights": {"against": ["x1", "x2"], "industry": "ind", "weights": "w"},
    "against+intercept": {"against": ["x1"], "industry": None, "weights": "w"},
    "industry demeaning": {"against": [], "industry": "ind", "weights": None},
    "weighted demeaning": {"against": [], "industry": None, "weights": "w"},
    "unweighted": {"against": ["x1", "x2"], "industry": "ind", "weights": None},
    "by date and sector": {
        "against": ["x1", "x2"], "industry": "ind", "weights": "w", "by": ["date", "sector"],
    },
}  # fmt: skip


@pytest.mark.parametrize("lazy", [False, True], ids=["eager", "lazy"])
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_matches_oracle(rng: np.random.Generator, case: str, lazy: bool) -> None:
    spec = CASES[case]
    df = make_panel(rng, n_assets=80)  # >= 20 rows per (date, sector): full rank
    if lazy:
        out = pf.neutralize(df.lazy(), ["y1", "y2"], **spec)
        assert isinstance(out, pl.LazyFrame)
        got = out.collect()
    else:
        got = run(df, ["y1", "y2"], **spec)
    by = spec.get("by", ["date"])
    for y in ["y1", "y2"]:
        expected = oracle(
            df, y, against=spec["against"], industry=spec["industry"],
            weights=spec["weights"], by=by,
        )  # fmt: skip
        assert_close(got[y], expected)
    assert got.drop("y1", "y2").equals(df.drop("y1", "y2"))


def test_null_group_key_is_a_group(rng: np.random.Generator) -> None:
    # As in Polars' group_by/over, rows with a null `by` key form a group of their own.
    df = make_panel(rng, n_dates=3, n_assets=80)
    df = df.with_columns(
        pl.when(pl.col("asset") < "A020").then(None).otherwise(pl.col("sector")).alias("sector")
    )
    by = ["date", "sector"]
    got = run(df.lazy(), "y1", against=["x1"], industry="ind", weights="w", by=by)
    expected = oracle(df, "y1", against=["x1"], industry="ind", weights="w", by=by)
    assert_close(got["y1"], expected)
    assert got.filter(pl.col("sector").is_null())["y1"].drop_nulls().len() > 10


@pytest.mark.parametrize(
    "dtype",
    [pl.Categorical(), pl.Enum(["a", "b", "c", "d"]), pl.Int32],
    ids=["categorical", "enum", "integer"],
)
def test_industry_dtypes(rng: np.random.Generator, dtype: pl.DataType) -> None:
    df = make_panel(rng, n_dates=3)
    if dtype == pl.Int32:
        df = df.with_columns(pl.col("ind").replace_strict({"a": 1, "b": 2, "c": 3, "d": 4}))
    df = df.with_columns(pl.col("ind").cast(dtype))
    got = run(df, "y1", against=["x1"], industry="ind", weights="w")
    expected = oracle(df, "y1", against=["x1"], industry="ind", weights="w", by=["date"])
    assert_close(got["y1"], expected)


@pytest.mark.parametrize("engine", ["streaming", "in-memory"])
def test_row_order_kept_on_shuffled_input(
    rng: np.random.Generator, engine: Literal["streaming", "in-memory"]
) -> None:
    df = make_panel(rng, n_dates=8, n_assets=60)
    shuffled = df.sample(fraction=1.0, shuffle=True, seed=7)
    lf = pf.neutralize(
        shuffled.lazy(), ["y1", "y2"], against=["x1", "x2"], industry="ind", weights="w",
        engine=engine,
    )  # fmt: skip
    got = lf.collect(engine=engine)
    assert got.select("date", "asset").equals(shuffled.select("date", "asset"))
    for y in ["y1", "y2"]:
        expected = oracle(
            shuffled, y, against=["x1", "x2"], industry="ind", weights="w", by=["date"]
        )
        assert_close(got[y], expected)


def test_suffix_adds_columns(rng: np.random.Generator) -> None:
    df = make_panel(rng, n_dates=2)
    got = run(df.lazy(), ["y1", "y2"], against="x1", industry="ind", suffix="_n")
    assert got.columns == [*df.columns, "y1_n", "y2_n"]
    assert got.select(df.columns).equals(df)
    expected = oracle(df, "y2", against=["x1"], industry="ind", weights=None, by=["date"])
    assert_close(got["y2_n"], expected)


def test_namespace_and_integer_columns() -> None:
    df = pl.DataFrame(
        {"date": [1] * 4, "asset": list("abcd"), "x": [0, 1, 2, 3], "y": [1, 2, 4, 3]}
    )
    out = df.factors.neutralize("y", against="x")
    assert out.schema["y"] == pl.Float64
    np.testing.assert_allclose(out["y"].to_numpy(), [-0.3, -0.1, 1.1, -0.7], atol=1e-14)


def test_empty_frame() -> None:
    df = pl.DataFrame(
        {"date": [], "asset": [], "ind": [], "x": [], "y": []},
        schema={"date": pl.Int64, "asset": pl.String, "ind": pl.String, "x": pl.Float64,
                "y": pl.Float64},
    )  # fmt: skip
    out = pf.neutralize(df, "y", against="x", industry="ind")
    assert out.height == 0
    assert out.schema == df.schema


# --------------------------------------------------------------------------- missing data


def test_missing_regressor_or_industry_gives_null_and_warns() -> None:
    df = pl.DataFrame(
        {
            "date": [1] * 6,
            "asset": list("abcdef"),
            "ind": ["a", "a", "a", "b", "b", None],
            "x": [0.0, 1.0, None, 2.0, 3.0, 1.0],
            "y": [1.0, 2.0, 3.0, 4.0, 6.0, 1.0],
        }
    )
    with pytest.warns(DataLossWarning, match="'y': 2 values became null"):
        out = pf.neutralize(df, "y", against="x", industry="ind")
    assert out["y"].is_null().to_list() == [False, False, True, False, False, True]
    plan = pf.neutralize(df.lazy(), "y", against="x", industry="ind")
    with pytest.warns(DataLossWarning, match=r"'y': 2 values became null .* of a lazy plan"):
        lazy = plan.collect(engine="in-memory")
    assert lazy.equals(out)


def test_industry_without_positive_weight_gives_null() -> None:
    df = pl.DataFrame(
        {
            "date": [1] * 5,
            "asset": list("abcde"),
            "ind": ["a", "a", "a", "b", "b"],
            "y": [1.0, 2.0, 6.0, 4.0, 5.0],
            "w": [1.0, 1.0, 2.0, 0.0, None],
        }
    )
    with pytest.warns(DataLossWarning, match="2 values became null"):
        out = pf.neutralize(df, "y", industry="ind", weights="w")
    np.testing.assert_allclose(out["y"].to_numpy()[:3], [-2.75, -1.75, 2.25])
    assert out["y"].is_null().to_list() == [False, False, False, True, True]


# --------------------------------------------------------------------------- rank deficiency


def test_identical_regressors_warn_and_match_lstsq(rng: np.random.Generator) -> None:
    df = make_panel(rng, n_dates=3).with_columns(pl.col("x1").alias("x1b"))
    with pytest.warns(
        RankDeficientWarning, match=r"'y1' in 3 of 3 groups \(e.g. \{'date': 0\}"
    ) as record:
        got = pf.neutralize(
            df.lazy(), "y1", against=["x1", "x1b"], industry="ind", weights="w"
        ).collect()
    assert record[0].filename == __file__  # stacklevel points at the caller
    expected = oracle(df, "y1", against=["x1", "x1b"], industry="ind", weights="w", by=["date"])
    assert_close(got["y1"], expected)
    single = run(df, "y1", against=["x1"], industry="ind", weights="w")
    assert_close(got["y1"], as_array(single["y1"]))


def test_regressor_constant_within_industries_on_one_date(rng: np.random.Generator) -> None:
    df = make_panel(rng, n_dates=3)
    level = pl.col("ind").replace_strict({"a": 0.3, "b": -1.1, "c": 2.0, "d": 0.7}, default=0.0)
    df = df.with_columns(pl.when(pl.col("date") == 2).then(level).otherwise("x2").alias("x2"))
    with pytest.warns(RankDeficientWarning, match=r"1 of 3 groups \(e.g. \{'date': 2\}"):
        got = pf.neutralize(
            df.lazy(), "y1", against=["x1", "x2"], industry="ind", weights="w"
        ).collect()
    expected = oracle(df, "y1", against=["x1", "x2"], industry="ind", weights="w", by=["date"])
    assert np.isfinite(as_array(got["y1"]).compress(~np.isnan(expected))).all()
    assert_close(got["y1"], expected)


def test_fewer_rows_than_parameters() -> None:
    df = pl.DataFrame(
        {"date": [1, 1, 2, 2, 2, 2], "asset": list("ababcd"),
         "x1": [1.0, 2.0, 0.0, 1.0, 2.0, 5.0], "x2": [3.0, -1.0, 1.0, 0.0, 4.0, 2.0],
         "y": [1.0, 5.0, 1.0, 2.0, 2.0, 7.0]}
    )  # fmt: skip
    with pytest.warns(RankDeficientWarning, match=r"1 of 2 groups \(e.g. \{'date': 1\}"):
        got = pf.neutralize(df.lazy(), "y", against=["x1", "x2"]).collect()
    expected = oracle(df, "y", against=["x1", "x2"], industry=None, weights=None, by=["date"])
    assert_close(got["y"], expected)
    np.testing.assert_allclose(got["y"].to_numpy()[:2], 0.0, atol=1e-14)


def test_large_offset_keeps_precision(rng: np.random.Generator) -> None:
    # Centring on sums loses ~log10(1 + mean^2 / var) = 6 digits here: still ~1e-10.
    df = make_panel(rng, n_dates=3).with_columns(pl.col("x1") + 1000.0)
    got = run(df, "y1", against=["x1", "x2"], industry="ind", weights="w")
    expected = oracle(df, "y1", against=["x1", "x2"], industry="ind", weights="w", by=["date"])
    g = as_array(got["y1"])
    np.testing.assert_allclose(g, expected, rtol=0, atol=1e-9, equal_nan=True)


# --------------------------------------------------------------------------- property


def draw_panel(draw: Any) -> pl.DataFrame:
    """Small panel: integer regressors and weights (singular or well-conditioned fits)."""
    n_dates = draw(st.integers(1, 3))
    rows = n_dates * draw(st.integers(3, 14))
    n = rows // n_dates

    def column(elements: st.SearchStrategy[Any]) -> list[Any]:
        return list(draw(st.lists(elements, min_size=rows, max_size=rows)))

    return pl.DataFrame(
        {
            "date": [d for d in range(n_dates) for _ in range(n)],
            "asset": [f"a{i}" for _ in range(n_dates) for i in range(n)],
            "ind": column(st.sampled_from("pq")),
            "x1": column(st.integers(-3, 3)),
            "x2": column(st.integers(-3, 3)),
            # nonzero magnitudes below 1e-150 are refused (their squares underflow)
            "y": column(
                st.floats(-10, 10, allow_nan=False).filter(lambda v: v == 0 or abs(v) > 1e-140)
            ),
            "w": column(st.integers(0, 3)),
        }
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_residuals_weighted_orthogonal(data: st.DataObject) -> None:
    df = draw_panel(data.draw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RankDeficientWarning)
        warnings.simplefilter("ignore", DataLossWarning)
        out = pf.neutralize(df, "y", against=["x1", "x2"], industry="ind", weights="w")
    frame = df.with_columns(r=out["y"], w=pl.col("w").cast(pl.Float64))
    for part in frame.partition_by("date"):
        fit = part.filter(pl.col("r").is_not_null())
        r, w = fit["r"].to_numpy(), fit["w"].to_numpy()
        scale = 1.0 + float((w * np.abs(fit["y"].to_numpy())).sum()) * 10
        for x in ["x1", "x2"]:
            assert abs(float((w * r * fit[x].to_numpy()).sum())) <= 1e-9 * scale
        for ind in ["p", "q"]:
            mask = (fit["ind"] == ind).to_numpy()
            assert abs(float((w * r)[mask].sum())) <= 1e-9 * scale


# --------------------------------------------------------------------------- errors


@pytest.fixture
def small() -> pl.DataFrame:
    return pl.DataFrame(
        {"date": [1, 1, 1], "asset": list("abc"), "y": [1.0, 2.0, 3.0],
         "x": [0.0, 1.0, 3.0], "ind": ["a", "a", "b"], "name": ["p", "q", "r"],
         "f": [0.5, 0.5, 1.5]}
    )  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"columns": "yy"}, ColumnNotFoundError, "Did you mean 'y'"),
        ({"columns": "y", "against": "xx"}, ColumnNotFoundError, "against column 'xx'"),
        ({"columns": "y", "industry": "sector"}, ColumnNotFoundError, "industry column"),
        ({"columns": "y", "against": "name"}, SchemaError, "must be numeric"),
        ({"columns": "y", "weights": "name"}, SchemaError, "weights column"),
        ({"columns": "y", "industry": "f"}, SchemaError, "string, categorical"),
        ({"columns": ["y", "x"], "against": "x"}, ValueError, "both in `columns`"),
        ({"columns": "y", "against": ["x", "x"]}, ValueError, "more than once"),
    ],
)
def test_errors(small: pl.DataFrame, kwargs: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        pf.neutralize(small, **kwargs)
    with pytest.raises(error, match=match):
        pf.neutralize(small.lazy(), **kwargs)


def test_duplicate_keys(small: pl.DataFrame) -> None:
    dup = pl.concat([small, small.head(1)])
    with pytest.raises(DuplicateKeyError):
        pf.neutralize(dup, "y", against="x")
    with pytest.raises(DuplicateKeyError):
        pf.neutralize(dup.lazy(), "y", against="x", check_keys=True)
    out = run(dup, "y", check_keys=False)
    assert out.height == 4


# --------------------------------------------------------------------------- solver


def test_solver_batches_and_scales(rng: np.random.Generator) -> None:
    # Parameters on wildly different scales, xtx = D A D with A well conditioned:
    # Jacobi scaling undoes D, so the solve is as accurate as for A.
    X = rng.normal(size=(5, 30, 3))
    A = np.swapaxes(X, 1, 2) @ X
    d = np.array([1e6, 1.0, 1e-6])
    z = rng.normal(size=(5, 3, 2))
    xtx = A * d[:, None] * d[None, :]
    xty = d[:, None] * (A @ z)
    sol = _solve.solve_normal_equations(xtx, xty)
    np.testing.assert_allclose(sol.beta * d[:, None], z, rtol=1e-12)
    assert sol.beta.shape == (5, 3, 2)
    assert sol.rank.tolist() == [3] * 5
    assert (sol.cond < 100).all()
    vec = _solve.solve_normal_equations(xtx.reshape(5, 1, 3, 3), xty[None, ..., 0])
    assert vec.beta.shape == (5, 1, 3)
    np.testing.assert_allclose(vec.beta[:, 0] * d, z[..., 0], rtol=1e-12)


def test_solver_singular_and_non_finite() -> None:
    xtx = np.array(
        [[[1.0, 1.0], [1.0, 1.0]], [[4.0, 0.0], [0.0, 0.0]], [[np.inf, 0.0], [0.0, 1.0]]]
    )
    xty = np.array([[2.0, 2.0], [2.0, 0.0], [1.0, 1.0]])
    sol = _solve.solve_normal_equations(xtx, xty)
    np.testing.assert_allclose(sol.beta[:2], [[1.0, 1.0], [0.5, 0.0]])
    assert np.isnan(sol.beta[2]).all()
    assert sol.rank.tolist() == [1, 1, 0]
    assert sol.rank_deficient.tolist() == [True, True, True]
    assert np.isinf(sol.cond[0]) or sol.cond[0] > 1e12
    empty = _solve.solve_normal_equations(np.zeros((2, 0, 0)), np.zeros((2, 0)))
    assert empty.beta.shape == (2, 0)


def test_unpack_symmetric_matches_pairs() -> None:
    pairs = _solve.symmetric_pairs(3)
    packed = np.arange(len(pairs), dtype=float)
    full = _solve.unpack_symmetric(packed, 3)
    for value, (i, j) in enumerate(pairs):
        assert full[i, j] == full[j, i] == value
