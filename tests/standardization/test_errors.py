"""Bad input to the standardization transforms gives a precise exception; lost values give a
DataLossWarning on eager frames.
"""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import polars_factors as pf

FUNCS = ["winsorize", "zscore", "rank", "fill_missing", "standardize"]


@pytest.fixture(params=["eager", "lazy"])
def frame(request):
    df = pl.DataFrame(
        {
            "date": [1, 1, 2, 2],
            "asset": ["a", "b", "a", "b"],
            "book_to_price": [0.5, 0.7, 0.6, 0.4],
            "mcap": [1.0, 2.0, 1.0, 2.0],
            "sector": ["x", "y", "x", "y"],
            "flag": [True, False, True, False],
        }
    )
    return df if request.param == "eager" else df.lazy()


@pytest.mark.parametrize("func", FUNCS)
def test_missing_column_suggests_closest(frame, func):
    with pytest.raises(
        pf.ColumnNotFoundError, match=r"'book_to_prce' not found.*Did you mean 'book_to_price'\?"
    ) as info:
        getattr(frame.factors, func)("book_to_prce")
    assert "The frame has 6 columns" in str(info.value)
    assert isinstance(info.value, KeyError)


@pytest.mark.parametrize("func", FUNCS)
def test_non_numeric_column(frame, func):
    with pytest.raises(pf.SchemaError, match=r"'sector' must be numeric.*String"):
        getattr(frame.factors, func)("sector")
    with pytest.raises(pf.SchemaError, match=r"'flag' must be numeric.*Boolean"):
        getattr(frame.factors, func)("flag")


def test_bad_weights_and_keys(frame):
    with pytest.raises(pf.SchemaError, match="weights column 'sector'"):
        frame.factors.zscore("mcap", weights="sector")
    with pytest.raises(pf.ColumnNotFoundError, match="weights column 'cap'"):
        frame.factors.zscore("mcap", weights="cap")
    with pytest.raises(pf.ColumnNotFoundError, match="group key 'industry'"):
        frame.factors.zscore("mcap", by=["date", "industry"])
    with pytest.raises(pf.ColumnNotFoundError, match="group key 'dt'"):
        frame.factors.zscore("mcap", date="dt")
    with pytest.raises(pf.ColumnNotFoundError, match="panel key 'ticker'"):
        frame.factors.zscore("mcap", asset="ticker")
    # without the key check, no asset column is needed
    frame.factors.zscore("mcap", asset="ticker", check_keys=False)


@pytest.mark.parametrize("func", FUNCS)
def test_duplicate_keys(frame, func):
    dup = pl.concat(
        [
            frame,
            frame.lazy().head(1).collect() if isinstance(frame, pl.DataFrame) else frame.head(1),
        ]
    )
    # On a LazyFrame the check reads the keys at call time only when asked.
    check = None if isinstance(dup, pl.DataFrame) else True
    with pytest.raises(
        pf.DuplicateKeyError, match=r"1 extra rows on 1 dates, e\.g\. \(1, 'a'\) x2"
    ):
        getattr(dup.factors, func)("mcap", check_keys=check)


def test_option_errors(frame):
    with pytest.raises(ValueError, match="unknown method='winsor'"):
        frame.factors.winsorize("mcap", method="winsor")
    with pytest.raises(ValueError, match="`lower` must be smaller than `upper`"):
        frame.factors.winsorize("mcap", lower=0.5, upper=0.5)
    with pytest.raises(ValueError, match="`lower` must be smaller than `upper`"):
        frame.factors.standardize("mcap", lower=0.9, upper=0.1)
    with pytest.raises(ValueError, match="unknown std_weights"):
        frame.factors.standardize("mcap", std_weights="cap")
    with pytest.raises(ValueError, match="names a column more than once"):
        frame.factors.zscore(["mcap", "mcap"])
    with pytest.raises(ValueError, match="at least one column"):
        frame.factors.zscore([])
    with pytest.raises(TypeError, match="column names, not expressions"):
        frame.factors.zscore(pl.col("mcap"))
    with pytest.raises(TypeError, match="DataFrame or LazyFrame"):
        pf.zscore({"mcap": [1.0]}, "mcap")


def test_combine_spec_errors(frame):
    with pytest.raises(TypeError, match="non-empty mapping"):
        frame.factors.combine({})
    with pytest.raises(ValueError, match="positive and finite"):
        frame.factors.combine({"v": {"mcap": -1.0}})
    with pytest.raises(pf.ColumnNotFoundError, match="'bp' not found"):
        frame.factors.combine({"v": ["bp"]})
    with pytest.raises(TypeError, match="list of columns"):
        frame.factors.combine({"v": "mcap"})


def test_zero_spread_warns_on_eager_and_gives_null():
    df = pl.DataFrame({"date": [1, 1, 2, 2], "asset": list("abab"), "x": [0.1, 0.1, 1.0, 3.0]})
    with pytest.warns(
        pf.DataLossWarning, match=r"'x': 2 values became null \(their group has zero spread"
    ) as rec:
        out = df.factors.zscore("x")
    assert rec[0].filename == __file__  # points at the caller
    assert out["x"].to_list() == [None, None, -1.0, 1.0]
    # lazy: nothing runs at call time; the collect warns (once per plan) with the
    # count of the batch where it happened (here the whole frame: in-memory engine)
    plan = df.lazy().factors.zscore("x")
    with pytest.warns(
        pf.DataLossWarning, match=r"'x': 2 values became null \(their group has zero spread"
    ):
        out = plan.collect(engine="in-memory")
    assert out["x"].to_list() == [None, None, -1.0, 1.0]
    assert plan.collect(engine="streaming")["x"].to_list() == [None, None, -1.0, 1.0]


def test_infinite_values_warn_and_are_missing():
    df = pl.DataFrame(
        {"date": [1] * 4, "asset": list("abcd"), "x": [1.0, float("inf"), 3.0, float("-inf")]}
    )
    with pytest.warns(pf.DataLossWarning, match="2 infinite values were treated as missing"):
        out = df.factors.zscore("x")
    assert out["x"].to_list() == [-1.0, None, 1.0, None]


def test_no_positive_weight_gives_null():
    df = pl.DataFrame({"date": [1, 1], "asset": list("ab"), "x": [1.0, 2.0], "w": [0.0, -1.0]})
    with pytest.warns(pf.DataLossWarning, match="no positive weight"):
        # check_keys=False: the negative weight is not refused and counts as zero.
        out = df.factors.zscore("x", weights="w", check_keys=False)
    assert out["x"].to_list() == [None, None]


def test_key_columns_named_like_old_temporaries():
    # The key checks used fixed names: `_extra` (per-date count of extra rows) and
    # `rows` (per-key count); key columns of those names made them fail.
    df = pl.DataFrame(
        {"_extra": [1, 1, 2, 2], "rows": ["a", "b", "a", "b"], "x": [1.0, 2.0, 3.0, 5.0]}
    )
    out = df.factors.zscore("x", date="_extra", asset="rows")
    plain = df.rename({"_extra": "date", "rows": "asset"}).factors.zscore("x")
    assert_frame_equal(out, plain.rename({"date": "_extra", "asset": "rows"}))
    dup = pl.concat([df, df.head(1)])
    for frame in (dup, dup.lazy()):
        with pytest.raises(
            pf.DuplicateKeyError, match=r"1 extra rows on 1 dates, e\.g\. \(1, 'a'\) x2"
        ):
            frame.factors.zscore("x", date="_extra", asset="rows", check_keys=True)
