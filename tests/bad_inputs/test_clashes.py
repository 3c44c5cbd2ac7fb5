"""Name clashes: refused with a precise error, never a silent overwrite.

- An industry value named like a style or like the country factor would give two
  factors one name: ``InvalidDataError`` (from the schema for an Enum industry, at call
  time; otherwise inside the plan, where the industry names are read).
- A function never overwrites a column of the frame, except the input columns a
  standardization replaces in place (``suffix=None``): ``ValueError`` naming the column.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

import polars_factors as pf


@pytest.fixture
def panel() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "date": [1] * 6 + [2] * 6,
            "asset": list("abcdef") * 2,
            "ret": [0.1, 0.2, 0.3, 0.1, 0.0, 0.2, 0.05, -0.1, 0.2, 0.0, 0.1, 0.3],
            "mom": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 2.0, 1.0, 4.0, 3.0, 6.0, 5.0],
            "size": [3.0, 1.0, 2.0, 6.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0],
            "mcap": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0] * 2,
            "industry": ["mom", "mom", "tech", "tech", "country", "country"] * 2,
        }
    )


# -- industry values named like another factor -----------------------------------------


@pytest.mark.parametrize("method", ["ols", "wls", "huber"])
@pytest.mark.parametrize("lazy", [False, True], ids=["eager", "lazy"])
def test_industry_named_like_a_style(panel: pl.DataFrame, method: str, *, lazy: bool) -> None:
    frame = panel.lazy() if lazy else panel
    weights = "mcap" if method == "wls" else None
    kw = {"industry": "industry", "method": method, "weights": weights}
    with pytest.raises(pf.InvalidDataError, match=r"industry value 'mom' of column 'industry'"):
        pf.cross_section(frame, "ret", ["mom", "size"], **kw).collect()


@pytest.mark.parametrize("lazy", [False, True], ids=["eager", "lazy"])
def test_industry_named_like_the_country(panel: pl.DataFrame, *, lazy: bool) -> None:
    frame = panel.with_columns(pl.col("industry").replace({"mom": "other"}))
    frame = frame.lazy() if lazy else frame
    with pytest.raises(pf.InvalidDataError, match=r"'country'.*country factor.*country='"):
        pf.cross_section(frame, "ret", "mom", industry="industry", country=True).collect()


def test_other_country_name_resolves_the_clash(panel: pl.DataFrame) -> None:
    frame = panel.with_columns(pl.col("industry").replace({"mom": "other"}))
    res = pf.cross_section(frame, "ret", "mom", industry="industry", country="market")
    assert {"market", "country", "mom"} <= set(res.factor_returns["factor"])


def test_enum_industry_is_refused_at_call_time(panel: pl.DataFrame, collects: list[str]) -> None:
    frame = panel.lazy().with_columns(pl.col("industry").cast(pl.Enum(["mom", "tech", "country"])))
    with pytest.raises(pf.InvalidDataError, match="rename the exposure column"):
        pf.cross_section(frame, "ret", "mom", industry="industry")
    assert collects == []  # the Enum's categories are in the schema: nothing was read


def test_lazy_cross_section_reads_nothing_at_call(panel: pl.DataFrame, collects: list[str]) -> None:
    pf.cross_section(panel.lazy(), "ret", "mom", industry="industry")
    assert collects == []  # the clash is found when the plan is collected


# -- outputs never overwrite a column ----------------------------------------------------

SUFFIXED: dict[str, Callable[..., Any]] = {
    "winsorize": lambda f, **kw: pf.winsorize(f, "mom", **kw),
    "zscore": lambda f, **kw: pf.zscore(f, "mom", **kw),
    "rank": lambda f, **kw: pf.rank(f, "mom", **kw),
    "fill_missing": lambda f, **kw: pf.fill_missing(f, "mom", **kw),
    "standardize": lambda f, **kw: pf.standardize(f, "mom", **kw),
    "neutralize": lambda f, **kw: pf.neutralize(f, "mom", against="size", **kw),
}


@pytest.mark.parametrize("lazy", [False, True], ids=["eager", "lazy"])
@pytest.mark.parametrize("name", list(SUFFIXED))
def test_suffix_output_that_exists_is_refused(
    panel: pl.DataFrame, name: str, *, lazy: bool
) -> None:
    frame = panel.with_columns(mom_z=pl.lit(0.0))
    frame = frame.lazy() if lazy else frame
    match = rf"{name} would write the column 'mom_z', which the frame already has.*suffix="
    with pytest.raises(ValueError, match=match):
        SUFFIXED[name](frame, suffix="_z")


@pytest.mark.parametrize("name", list(SUFFIXED))
def test_in_place_replacement_is_allowed(panel: pl.DataFrame, name: str) -> None:
    out = SUFFIXED[name](panel)
    assert out.columns == panel.columns


def test_suffix_onto_another_input_column_is_refused(panel: pl.DataFrame) -> None:
    frame = panel.rename({"size": "mom_x"})
    with pytest.raises(ValueError, match="column 'mom_x', which the frame already has"):
        pf.zscore(frame, ["mom", "mom_x"], suffix="_x")


def test_combine_style_named_like_a_column(panel: pl.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"combine would write the column 'size'.*Name the style"):
        pf.combine(panel, {"size": ["mom", "mcap"]})


def test_combine_new_style_name_is_added(panel: pl.DataFrame) -> None:
    out = pf.combine(panel, {"blend": ["mom", "size"]})
    assert out.columns == [*panel.columns, "blend"]


def test_assign_buckets_name_clash(panel: pl.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"assign_buckets would write the column 'size'.*name="):
        pf.assign_buckets(panel, "mom", n=2, name="size")


def test_ts_features_name_clash(panel: pl.DataFrame) -> None:
    frame = panel.sort("asset", "date").rename({"mom": "momentum"})
    with pytest.raises(ValueError, match=r"ts_features would write the column 'momentum'.*suffix="):
        pf.ts_features(frame, "size", window=2)
