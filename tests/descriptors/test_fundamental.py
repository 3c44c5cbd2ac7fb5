"""Fundamental descriptors: ratios by hand; fiscal growth and variability against numpy.

Oracles: ``np.polyfit`` (slope) and ``np.std(ddof=1)`` over each asset's last fiscal
years in a plain loop, on the real Kaggle fundamentals (``nyse_kaggle/fundamentals.csv``).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from polars_factors.descriptors._fundamental import (
    blev,
    btop,
    cetop,
    dtoa,
    dyld,
    etop,
    fiscal_descriptors,
    growth,
    mlev,
    sp,
    variability,
)
from polars_factors.exceptions import ColumnNotFoundError, DuplicateKeyError, SchemaError
from tests.conftest import DATA_DIR

CSV = DATA_DIR / "nyse_kaggle" / "fundamentals.csv"
INF, NAN = math.inf, math.nan

# --- ratios --------------------------------------------------------------------

RATIO_INPUTS = pl.DataFrame(
    {
        "x": [50.0, -10.0, 5.0, 5.0, None, NAN, 3.0, 7.0],
        "y": [100.0, 100.0, 0.0, -20.0, 10.0, 10.0, INF, None],
    }
)


@pytest.mark.parametrize(
    ("fn", "name"),
    [(btop, "btop"), (etop, "etop"), (cetop, "cetop"), (sp, "sp"), (dyld, "dyld"),
     (dtoa, "dtoa")],
)  # fmt: skip
def test_price_ratios(fn, name):
    """x / y, null where y is not positive or either input is missing (NaN, inf)."""
    out = RATIO_INPUTS.select(fn("x", "y"))
    assert out.columns == [name]
    assert out[name].to_list() == [0.5, -0.1, None, None, None, None, None, None]


def test_leverage():
    df = pl.DataFrame(
        {
            "mcap": [100.0, 100.0, 0.0, -5.0, 100.0, 80.0],
            "be": [40.0, -40.0, 10.0, 10.0, 0.0, 80.0],
            "ltd": [20.0, 20.0, 20.0, 20.0, None, 0.0],
        }
    )
    out = df.select(mlev("mcap", "ltd"), blev("be", "ltd"))
    assert out["mlev"].to_list() == [1.2, 1.2, None, None, None, 1.0]
    # negative or zero book equity: no book leverage
    assert out["blev"].to_list() == [1.5, None, 3.0, 3.0, None, 1.0]
    exprs = df.select(mlev(pl.col("mcap") * 2, pl.col("ltd")))["mlev"].to_list()
    assert exprs[:2] == [1.1, 1.1]


# --- growth and variability by hand --------------------------------------------


def test_growth_and_variability_by_hand():
    df = pl.DataFrame({"asset": ["a"] * 5 + ["b"] * 2, "y": [1.0, 2.0, None, 4.0, 5.0, 3, 3]})
    g = df.select(growth("y", years=3, min_periods=2).over("asset"))["y"].to_list()
    # windows of a: [1], [1, 2], [1, 2, -], [2, -, 4], [-, 4, 5]
    assert g[0] is None
    assert g[1:3] == [pytest.approx(1.0 / 1.5)] * 2  # slope 1 at positions 0, 1
    assert g[3] == pytest.approx(1.0 / 3.0)  # slope 1 at positions 0, 2
    assert g[4] == pytest.approx(1.0 / 4.5)
    assert g[5:] == [None, 0.0]  # b: constant
    v = df.select(variability("y", years=3, min_periods=2).over("asset"))["y"].to_list()
    assert v[3] == pytest.approx(np.std([2.0, 4.0], ddof=1) / 3.0)
    assert v[6] == 0.0
    strict = df.select(growth("y", years=3).over("asset"))["y"].to_list()
    assert strict == [None, None, None, None, None, None, None]  # a missing year in each
    pop = df.select(variability("y", years=2, ddof=0).over("asset"))["y"].to_list()
    assert pop[1] == pytest.approx(0.5 / 1.5)


def test_zero_level_and_per_share():
    df = pl.DataFrame({"y": [-1.0, 0.0, 1.0, 6.0], "shares": [1.0, 1.0, 0.0, 2.0]})
    assert df.select(growth("y", years=2, min_periods=2))["y"].to_list()[1] == pytest.approx(2.0)
    zero = pl.DataFrame({"y": [0.0, 0.0]}).select(
        growth("y", years=2).alias("g"), variability("y", years=2).alias("v")
    )
    assert zero.row(0) == (None, None)
    assert zero.row(1) == (None, None)  # mean absolute value 0
    per = df.select(growth("y", shares="shares", years=2)).to_series().to_list()
    assert per == [None, pytest.approx(2.0), None, None]  # 0 shares: missing


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"years": 1}, "`years` must be an integer >= 2"),
        ({"years": 3, "min_periods": 4}, "at most `years`"),
        ({"years": 3, "min_periods": 1}, "`min_periods` must be an integer >= 2"),
        ({"years": 2.5}, "`years`"),
    ],
)
def test_bad_windows(kwargs, match):
    with pytest.raises(ValueError, match=match):
        growth("y", **kwargs)
    with pytest.raises(ValueError, match=match):
        variability("y", **kwargs)
    with pytest.raises(ValueError, match="`ddof` must be below"):
        variability("y", years=3, min_periods=2, ddof=2)


# --- against numpy on the real fundamentals ------------------------------------


@pytest.fixture(scope="module")
def kaggle() -> pl.DataFrame:
    if not CSV.exists():
        pytest.skip(f"real data not found at {CSV}")
    return (
        pl.read_csv(CSV, infer_schema_length=0)
        .select(
            pl.col("Ticker Symbol").alias("asset"),
            pl.col("Period Ending").str.to_date("%d-%b-%y").alias("period_end"),
            pl.col("Net Income").cast(pl.Float64).alias("net_income"),
            pl.col("Total Revenue").cast(pl.Float64).alias("sales"),
            pl.col("Total Assets").cast(pl.Float64).alias("total_assets"),
            pl.col("Net Cash Flow-Operating").cast(pl.Float64).alias("ocf"),
            pl.col("Estimated Shares Outstanding").cast(pl.Float64).alias("shares"),
        )
        .sample(fraction=1.0, shuffle=True, seed=7)  # the function sorts
    )


@pytest.fixture(scope="module")
def oracles() -> dict[tuple[str, int, int, bool], dict]:
    return {}


def numpy_oracle(
    table: pl.DataFrame, column: str, *, years: int, min_periods: int, shares: bool
) -> dict[tuple[str, dt.date], tuple[float | None, float | None]]:
    """(growth, variability) per (asset, period_end), by a loop over each asset's years."""
    out = {}
    for (asset,), group in table.sort("period_end").group_by("asset", maintain_order=True):
        y = group[column].to_numpy().astype(float)
        if shares:
            s = group["shares"].to_numpy().astype(float)
            y = np.where(s > 0, y / np.where(s > 0, s, 1.0), np.nan)
        for i, end in enumerate(group["period_end"]):
            lo = i - years + 1
            t = np.arange(lo, i + 1)
            w = np.array([y[j] if j >= 0 else np.nan for j in t])
            ok = np.isfinite(w)
            g = v = None
            scale = np.abs(w[ok]).mean() if ok.any() else 0.0
            if ok.sum() >= min_periods and scale > 0:
                g = np.polyfit((t - lo)[ok], w[ok], 1)[0] / scale
                v = np.std(w[ok], ddof=1) / scale
            out[asset, end] = (g, v)
    return out


@pytest.mark.parametrize(
    "window",  # (years, min_periods, per share)
    [(4, None, False), (5, 3, True), (3, 2, False), (2, None, True)],
)
def test_fiscal_descriptors_against_numpy(kaggle, oracles, run, window):
    years, min_periods, per_share = window
    roles = {
        "net_income": "net_income",
        "sales": "sales",
        "total_assets": "total_assets",
        "operating_cash_flow": "ocf",
    }
    if per_share:
        roles["shares"] = "shares"
    out = run(
        kaggle,
        lambda f: fiscal_descriptors(f, roles, years=years, min_periods=min_periods),
    )
    assert_frame_equal(out.select(kaggle.columns), kaggle)  # same rows, same order
    keys = list(zip(out["asset"], out["period_end"], strict=True))
    n = min_periods or years
    checks = [
        ("net_income", "egro", 0, per_share),
        ("net_income", "vern", 1, per_share),
        ("sales", "sgro", 0, per_share),
        ("sales", "vsales", 1, per_share),
        ("total_assets", "agro", 0, False),
        ("ocf", "vcfs", 1, per_share),
    ]
    for column, name, which, shares in checks:
        key = (column, years, n, shares)
        if key not in oracles:  # the same for the three engines
            oracles[key] = numpy_oracle(kaggle, column, years=years, min_periods=n, shares=shares)
        expected = oracles[key]
        want = np.array([np.nan if (e := expected[k][which]) is None else e for k in keys])
        got = out[name].to_numpy().astype(float)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=name)
        assert (~np.isnan(got)).sum() > 100, name
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=name)


# --- fiscal_descriptors: layout and errors ---------------------------------------


@pytest.fixture
def table() -> pl.DataFrame:
    ends = [dt.date(y, 12, 31) for y in (2012, 2013, 2014, 2015)]
    return pl.DataFrame(
        {
            "ticker": ["A"] * 4 + ["B"] * 3 + [None],
            "fy": [*ends[::-1], ends[0], None, ends[1], ends[2]],
            "ni": [4.0, 3.0, 2.0, 1.0, 5.0, 99.0, 7.0, 1.0],
        }
    )


def test_fiscal_descriptors_keys_and_nulls(table):
    out = fiscal_descriptors(table, {"net_income": "ni"}, period_end="fy", asset="ticker", years=2)
    assert out.columns == ["ticker", "fy", "ni", "egro", "vern"]
    # A's rows are newest first: each takes the year before it; B's null year is left
    # out of its windows (2012 then 2013); the null asset gets nulls
    assert out["egro"].to_list()[:4] == [pytest.approx(1 / 3.5), pytest.approx(1 / 2.5),
                                         pytest.approx(1 / 1.5), None]  # fmt: skip
    assert out["egro"].to_list()[4:] == [None, None, pytest.approx(2 / 6), None]
    lazy = fiscal_descriptors(
        table.lazy(), {"net_income": "ni"}, period_end="fy", asset="ticker", years=2
    )
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(engine="streaming"), out)


def test_fiscal_descriptors_errors(table):
    kw = {"period_end": "fy", "asset": "ticker"}
    with pytest.raises(ValueError, match=r"unknown roles \['earnings'\]"):
        fiscal_descriptors(table, {"earnings": "ni"}, **kw)
    with pytest.raises(ValueError, match="at least one of"):
        fiscal_descriptors(table, {"shares": "ni"}, **kw)
    with pytest.raises(ColumnNotFoundError, match="net_income column 'income'"):
        fiscal_descriptors(table, {"net_income": "income"}, **kw)
    with pytest.raises(ColumnNotFoundError, match="fundamentals key 'period_end'"):
        fiscal_descriptors(table, {"net_income": "ni"}, asset="ticker")
    with pytest.raises(SchemaError, match="must be numeric"):
        fiscal_descriptors(table.with_columns(pl.col("ni").cast(pl.String)),
                           {"net_income": "ni"}, **kw)  # fmt: skip
    with pytest.raises(DuplicateKeyError, match="the fundamentals frame"):
        fiscal_descriptors(pl.concat([table, table.head(1)]), {"net_income": "ni"}, **kw)
    with pytest.raises(ValueError, match="would write the column 'egro'"):
        fiscal_descriptors(table.with_columns(egro=0.0), {"net_income": "ni"}, **kw)
    with pytest.raises(TypeError, match="must be a column name"):
        fiscal_descriptors(table, {"net_income": pl.col("ni")}, **kw)  # type: ignore[dict-item]
