"""Bad inputs to cross_section: every error, for eager and lazy panels."""

from __future__ import annotations

import warnings
from typing import Any

import polars as pl
import pytest

import polars_factors as pf
from polars_factors.exceptions import (
    ColumnNotFoundError,
    DataLossWarning,
    DuplicateKeyError,
    FactorsError,
    InsufficientDataError,
    SchemaError,
    WeightError,
)


@pytest.fixture
def small() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "date": [1, 1, 1, 1, 2, 2, 2, 2],
            "asset": list("abcd") * 2,
            "ret": [0.1, 0.2, -0.1, 0.0, 0.3, -0.2, 0.1, 0.05],
            "size": [0.5, -1.0, 0.3, 1.2, 0.0, 0.7, -0.4, 1.0],
            "value": [1.0, 0.2, -0.3, 0.1, 0.4, -0.8, 0.6, 0.2],
            "ind": ["A", "A", "B", "B", "A", "B", "A", "B"],
            "w": [1.0, 2.0, 1.5, 0.5, 1.0, 1.0, 2.0, 0.3],
            "mcap": [3.0, 1.0, 2.0, 4.0, 1.0, 2.0, 3.0, 5.0],
            "name": list("pqrspqrs"),
            "flag": [True, False] * 4,
            "level": [0.5, 1.5] * 4,
        }
    )


def both(frame: pl.DataFrame, **kwargs: Any) -> None:
    """Call on the eager and the lazy panel (errors expected at call time for both)."""
    for f in (frame, frame.lazy()):
        pf.cross_section(f, **kwargs)


def collect(frame: pl.DataFrame | pl.LazyFrame, **kwargs: Any) -> Any:
    res = pf.cross_section(frame, **kwargs)
    return res.collect() if isinstance(res.stats, pl.LazyFrame) else res


BASE: dict[str, Any] = {"returns": "ret", "exposures": ["size", "value"]}


# --------------------------------------------------------------------------- columns


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"returns": "rett"}, "rett"),
        ({"exposures": ["size", "valeu"]}, "valeu"),
        ({"exposures": "sise"}, "sise"),
        ({"industry": "sector"}, "sector"),
        ({"weights": "weight"}, "weight"),
        ({"industry": "ind", "country": True, "constraint_weights": "cap"}, "cap"),
        ({"date": "day"}, "day"),
        ({"asset": "id"}, "id"),
    ],
)
def test_missing_column(small: pl.DataFrame, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ColumnNotFoundError, match=match):
        both(small, **{**BASE, **kwargs})


def test_missing_column_is_a_key_error(small: pl.DataFrame) -> None:
    with pytest.raises(KeyError):
        pf.cross_section(small, "nope", ["size"])
    with pytest.raises(FactorsError):
        pf.cross_section(small.lazy(), "ret", ["nope"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"returns": "name"}, "name"),
        ({"exposures": ["size", "name"]}, "name"),
        ({"exposures": ["flag"]}, "flag"),
        ({"weights": "name"}, "name"),
        ({"industry": "ind", "country": True, "constraint_weights": "name"}, "name"),
        ({"industry": "level"}, "level"),
    ],
)
def test_wrong_dtype(small: pl.DataFrame, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(SchemaError, match=match):
        both(small, **{**BASE, **kwargs})


def test_schema_error_is_a_type_error(small: pl.DataFrame) -> None:
    with pytest.raises(TypeError):
        pf.cross_section(small, "name", ["size"])


# --------------------------------------------------------------------------- keys


def test_duplicate_keys(small: pl.DataFrame) -> None:
    dup = pl.concat([small, small.head(1)])
    with pytest.raises(DuplicateKeyError):
        pf.cross_section(dup, **BASE)
    with pytest.raises(DuplicateKeyError):
        pf.cross_section(dup.lazy(), check_keys=True, **BASE)  # opt-in on a LazyFrame
    with pytest.raises(ValueError, match=r"date|asset"):
        pf.cross_section(dup, **BASE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataLossWarning)
        res = collect(dup, check_keys=False, **BASE)
    assert res.residuals.height == dup.height


# --------------------------------------------------------------------------- weights


@pytest.mark.parametrize("column", ["w", "mcap"])
def test_negative_weights(small: pl.DataFrame, column: str) -> None:
    bad = small.with_columns(
        pl.when(pl.col("asset") == "c").then(-1.0).otherwise(pl.col(column)).alias(column)
    )
    kwargs = {**BASE, "weights": "w", "industry": "ind", "country": True,
              "constraint_weights": "mcap"}  # fmt: skip
    with pytest.raises(WeightError, match=column):
        collect(bad, **kwargs)
    with pytest.raises(WeightError, match=column):
        collect(bad.lazy(), **kwargs)  # at the latest when collected
    assert issubclass(WeightError, FactorsError)
    assert issubclass(WeightError, ValueError)


def test_negative_weight_on_an_excluded_row_still_raises(small: pl.DataFrame) -> None:
    # The check is on the column, not only on the rows used in the fit.
    bad = small.with_columns(
        pl.when(pl.col("asset") == "c").then(-1.0).otherwise(pl.col("w")).alias("w"),
        pl.when(pl.col("asset") == "c").then(None).otherwise(pl.col("ret")).alias("ret"),
    )
    with pytest.raises(WeightError):
        collect(bad, **BASE, weights="w")


def test_weights_with_ols(small: pl.DataFrame) -> None:
    with pytest.raises(ValueError, match="ols"):
        both(small, **BASE, weights="w", method="ols")


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize("method", ["OLS", "robust", "", "gls"])
def test_unknown_method(small: pl.DataFrame, method: str) -> None:
    with pytest.raises(ValueError, match="method"):
        both(small, **BASE, method=method)


@pytest.mark.parametrize("huber_t", [0.0, -1.0, float("nan")])
def test_bad_huber_t(small: pl.DataFrame, huber_t: float) -> None:
    with pytest.raises(ValueError, match="huber_t"):
        both(small, **BASE, method="huber", huber_t=huber_t)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_iter": 0}, "max_iter"),
        ({"max_iter": -3}, "max_iter"),
        ({"tol": 0.0}, "tol"),
        ({"tol": -1e-8}, "tol"),
        ({"tol": float("nan")}, "tol"),
    ],
)
def test_bad_irls_options(small: pl.DataFrame, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        both(small, **BASE, method="huber", **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"exposures": ["size", "value"], "country": "size"},
        {"exposures": ["country", "value"], "country": True},
        {"exposures": ["size", "size"]},
    ],
    ids=["country-named-like-exposure", "default-country-name", "repeated-exposure"],
)
def test_factor_name_collision(small: pl.DataFrame, kwargs: dict[str, Any]) -> None:
    frame = small.with_columns(country=pl.col("size") * 2.0)
    with pytest.raises(ValueError):  # noqa: PT011  (the message is the implementer's)
        both(frame, **{"returns": "ret", **kwargs})


def test_constraint_weights_without_constraint(small: pl.DataFrame) -> None:
    # constraint_weights only has a meaning with both industry and country
    with pytest.raises(ValueError, match="constraint_weights"):
        both(small, **BASE, industry="ind", constraint_weights="mcap")


def test_no_model(small: pl.DataFrame) -> None:
    # no exposures, no industry, no country: nothing to estimate
    with pytest.raises(ValueError):  # noqa: PT011
        both(small, returns="ret", exposures=[])


# --------------------------------------------------------------------------- data


def test_no_usable_row(small: pl.DataFrame) -> None:
    empty = small.with_columns(pl.lit(None, dtype=pl.Float64).alias("ret"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataLossWarning)
        with pytest.raises(InsufficientDataError):
            collect(empty, **BASE)
        with pytest.raises(InsufficientDataError):
            collect(empty.lazy(), **BASE)
        with pytest.raises(InsufficientDataError):
            collect(small.with_columns(w=pl.lit(0.0)), **BASE, weights="w")
