"""One rule per kind of input (docs/errors.md, "One rule per kind of input").

- Negative weights: ``WeightError`` in every function that takes weights (at call time
  on a DataFrame, when the plan is collected on a LazyFrame); ``check_keys=False``
  skips the check and they count as zero.
- Non-finite values: treated as missing, with a ``DataLossWarning`` on a DataFrame.
- French files: inf, NaN and out-of-range numbers are ``FileFormatError`` naming the line.
- Joins that leave rows without a match warn with counts (``from_pandas_panel``,
  ``join_factors``).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

import polars_factors as pf
from polars_factors.io import read_fama_french


@pytest.fixture
def panel() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "date": [1] * 6 + [2] * 6,
            "asset": list("abcdef") * 2,
            "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 2.0, 1.0, 4.0, 3.0, 6.0, 5.0],
            "y": [3.0, 1.0, 2.0, 6.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0],
            "ret": [0.1, 0.2, 0.3, 0.1, 0.0, 0.2, 0.05, -0.1, 0.2, 0.0, 0.1, 0.3],
            "w": [1.0, 2.0, -3.0, 4.0, 5.0, 6.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )


# -- negative weights: an error, like the regressions -----------------------------------

WEIGHTED: dict[str, Callable[..., Any]] = {
    "winsorize": lambda f, **kw: pf.winsorize(f, "x", method="sigma", weights="w", **kw),
    "zscore": lambda f, **kw: pf.zscore(f, "x", weights="w", **kw),
    "standardize": lambda f, **kw: pf.standardize(f, "x", weights="w", **kw),
    "combine": lambda f, **kw: pf.combine(f, {"s": ["x", "y"]}, weights="w", **kw),
    "neutralize": lambda f, **kw: pf.neutralize(f, "x", weights="w", **kw),
    "cross_section": lambda f, **kw: pf.cross_section(
        f, "ret", "x", method="wls", weights="w", **kw
    ),
}


def _collect(out: Any) -> Any:
    return out.collect() if hasattr(out, "collect") else out


@pytest.mark.parametrize("name", list(WEIGHTED))
def test_negative_weights_raise_on_a_dataframe(panel: pl.DataFrame, name: str) -> None:
    with pytest.raises(pf.WeightError, match=r"1 rows? .*negative|'w' has 1 negative values"):
        _collect(WEIGHTED[name](panel))


@pytest.mark.parametrize("name", list(WEIGHTED))
def test_negative_weights_raise_when_a_plan_is_collected(panel: pl.DataFrame, name: str) -> None:
    with pytest.raises(pf.WeightError, match="negative"):
        _collect(WEIGHTED[name](panel.lazy()))


@pytest.mark.parametrize("name", ["winsorize", "zscore", "standardize", "combine", "neutralize"])
def test_check_keys_false_counts_negative_weights_as_zero(panel: pl.DataFrame, name: str) -> None:
    zero = panel.with_columns(pl.col("w").clip(lower_bound=0))
    got = WEIGHTED[name](panel, check_keys=False)
    want = WEIGHTED[name](zero, check_keys=False)
    assert got.drop("w").equals(want.drop("w"))


def test_negative_weight_message_says_how_to_fix(panel: pl.DataFrame) -> None:
    with pytest.raises(pf.WeightError, match=r"clip\(lower_bound=0\).*check_keys=False"):
        pf.zscore(panel, "x", weights="w")


# -- non-finite values: missing, with a DataLossWarning on a DataFrame ----------------------

INF_CALLS: dict[str, Callable[[pl.DataFrame], Any]] = {
    "information_coefficient": lambda f: pf.information_coefficient(f, "x", "ret", min_assets=3),
    "quantile_returns": lambda f: pf.quantile_returns(f, "x", "ret", n=2),
    "long_short": lambda f: pf.long_short(f, "x", "ret", n=2),
    "portfolio_returns": lambda f: pf.portfolio_returns(
        f.with_columns(b=(pl.col("y") > 3).cast(pl.Int32)), "b", "ret"
    ),
    "assign_buckets": lambda f: pf.assign_buckets(f, "x", n=2),
    "zscore": lambda f: pf.zscore(f, "x"),
}


@pytest.mark.parametrize("name", list(INF_CALLS))
def test_infinite_values_warn_on_a_dataframe(panel: pl.DataFrame, name: str) -> None:
    column = "ret" if name == "portfolio_returns" else "x"
    bad = panel.with_columns(
        pl.when(pl.int_range(pl.len()) == 1)
        .then(float("inf"))
        .otherwise(pl.col(column))
        .alias(column)
    )
    with pytest.warns(pf.DataLossWarning, match="infinite values were treated as missing"):
        INF_CALLS[name](bad)


@pytest.mark.parametrize("name", ["information_coefficient", "quantile_returns", "long_short"])
def test_infinite_values_are_missing(panel: pl.DataFrame, name: str) -> None:
    # An infinite signal gives the same result as a null one.
    inf = panel.with_columns(
        pl.when(pl.col("asset") == "b").then(float("inf")).otherwise("x").alias("x")
    )
    null = panel.with_columns(pl.when(pl.col("asset") == "b").then(None).otherwise("x").alias("x"))
    with pytest.warns(pf.DataLossWarning):
        got = INF_CALLS[name](inf)
    want = INF_CALLS[name](null)
    if isinstance(got, pl.DataFrame):
        assert got.equals(want)
    else:
        frame = next(a for a in ("ic", "by_date") if hasattr(got, a))
        assert getattr(got, frame).equals(getattr(want, frame))


@pytest.mark.parametrize("name", list(INF_CALLS))
def test_finite_inputs_do_not_warn(panel: pl.DataFrame, name: str) -> None:
    INF_CALLS[name](panel)  # filterwarnings = error: any warning fails


def test_lazy_frames_do_not_warn_at_call_time(panel: pl.DataFrame) -> None:
    bad = panel.with_columns(x=pl.lit(float("inf")))
    pf.information_coefficient(bad.lazy(), "x", "ret", min_assets=3)


# -- the French readers refuse non-finite numbers ---------------------------------------


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "NaN", "1e400"])
def test_french_reader_refuses_non_finite(value: str) -> None:
    text = f"preamble\r\n,Mkt-RF,SMB\r\n202301,  1.0,  1.0\r\n202302,  {value},  1.0\r\n"
    match = rf"line 4: value '{value}' of column 'Mkt-RF' is not a finite number"
    with pytest.raises(pf.FileFormatError, match=match):
        read_fama_french(io.StringIO(text))


def test_french_missing_codes_are_still_missing() -> None:
    out = read_fama_french(io.StringIO("preamble\r\n,Mkt-RF,SMB\r\n202301,  -99.99,  1.0\r\n"))
    assert out["Mkt-RF"].to_list() == [None]


# -- joins that leave rows without a match warn with counts --------------------------------


def test_from_pandas_panel_warns_with_counts() -> None:
    pd = pytest.importorskip("pandas")
    returns_df = pd.DataFrame({"2023-01": [0.02, -0.01, 0.03]}, index=["A", "B", "C"])
    idx = pd.MultiIndex.from_product([["2023-01"], ["A", "B", "D"]])
    exposures_df = pd.DataFrame({"value": [1.0, -1.0, 0.5]}, index=idx)
    match = r"1 rows of the returns .* have no exposures and 1 rows of the exposures have no return"
    with pytest.warns(pf.DataLossWarning, match=match):
        out = pf.io.from_pandas_panel(returns_df, exposures_df)
    assert out["asset"].to_list() == ["A", "B"]


def test_from_pandas_panel_matching_inputs_do_not_warn() -> None:
    pd = pytest.importorskip("pandas")
    returns_df = pd.DataFrame({"2023-01": [0.02, -0.01]}, index=["A", "B"])
    idx = pd.MultiIndex.from_product([["2023-01"], ["A", "B"]])
    out = pf.io.from_pandas_panel(returns_df, pd.DataFrame({"value": [1.0, -1.0]}, index=idx))
    assert out.height == 2


def test_monthly_factors_on_a_daily_panel_warn() -> None:
    days = pl.date_range(dt.date(2024, 1, 1), dt.date(2024, 3, 31), eager=True)
    panel = pl.DataFrame({"date": days, "asset": "A"})
    months = pl.date_range(dt.date(2024, 1, 31), dt.date(2024, 3, 31), "1mo", eager=True)
    factors = pl.DataFrame({"date": months.dt.month_end(), "mkt": [0.01, 0.02, 0.03]})
    with pytest.warns(pf.DataLossWarning, match=r"88 of 91 panel rows \(97%\).*join_asof"):
        out = pf.join_factors(panel, factors)
    assert out["mkt"].null_count() == 88


def test_join_factors_every_date_matched_does_not_warn() -> None:
    panel = pl.DataFrame({"date": [1, 2], "asset": ["a", "a"]})
    out = pf.join_factors(panel, pl.DataFrame({"date": [1, 2, 3], "mkt": [0.1, 0.2, 0.3]}))
    assert out["mkt"].to_list() == [0.1, 0.2]
