"""Key columns of a dtype that cannot be a key raise SchemaError, never a Rust panic.

An Object date column (e.g. from a numpy array of ``datetime.date``) made the streaming
engine panic (``PanicException`` is not an ``Exception``). Every public panel function
checks its key dtypes from the schema, at call time, on eager and lazy frames.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

import polars_factors as pf
from polars_factors._api import PANEL_FUNCTIONS
from polars_factors._validate import check_key_dtypes
from tests.test_laziness import CALLS, _panel

NAMES = [name for _, name in PANEL_FUNCTIONS]


@pytest.fixture(scope="module")
def object_dates() -> pl.DataFrame:
    df = _panel()
    values = np.array(df["date"].to_list(), dtype=object)
    return df.with_columns(pl.Series("date", values, dtype=pl.Object))


def test_object_date_column_is_what_numpy_gives() -> None:
    df = pl.DataFrame({"date": np.array([dt.date(2024, 1, 31)], dtype=object)})
    assert df.schema["date"] == pl.Object


@pytest.mark.parametrize("lazy", [False, True], ids=["eager", "lazy"])
@pytest.mark.parametrize("name", NAMES)
def test_every_panel_function_refuses_an_object_date(
    object_dates: pl.DataFrame, name: str, *, lazy: bool
) -> None:
    frame = object_dates.lazy() if lazy else object_dates
    with pytest.raises(pf.SchemaError, match=r"date column 'date' has dtype Object") as info:
        CALLS[name](frame)
    assert "dtype=pl.Date" in str(info.value)


@pytest.mark.parametrize(
    ("dtype", "fix"),
    [
        (pl.List(pl.Int64), "list.first"),
        (pl.Struct({"a": pl.Int64}), "struct.field"),
        (pl.Array(pl.Int64, 2), "explode"),
        (pl.Null, "cast"),
        (pl.Object, "pl.Series"),
    ],
    ids=["list", "struct", "array", "null", "object"],
)
def test_helper_refuses_each_unusable_dtype(dtype: pl.DataType, fix: str) -> None:
    schema = pl.Schema({"date": pl.Date, "asset": dtype})
    with pytest.raises(pf.SchemaError, match=rf"asset column 'asset' has dtype .*{fix}"):
        check_key_dtypes(schema, date="date", asset="asset")


def test_helper_checks_group_keys_and_skips_missing_columns() -> None:
    schema = pl.Schema({"date": pl.Date, "sector": pl.List(pl.String)})
    check_key_dtypes(schema, date="date", asset="not_there")
    with pytest.raises(pf.SchemaError, match="group key 'sector'"):
        check_key_dtypes(schema, date="date", by=["date", "sector"])


def test_null_asset_column_in_cross_section() -> None:
    df = pl.DataFrame(
        {"date": [1, 1, 1], "asset": [None, None, None], "ret": [0.1, 0.2, 0.3], "x": [1.0, 2, 3]}
    )
    assert df.schema["asset"] == pl.Null
    with pytest.raises(pf.SchemaError, match="asset column 'asset' has dtype Null"):
        pf.cross_section(df.lazy(), "ret", "x")


def test_list_group_key_in_zscore() -> None:
    df = pl.DataFrame({"date": [1, 1], "asset": ["a", "b"], "g": [[1], [2]], "x": [1.0, 2.0]})
    with pytest.raises(pf.SchemaError, match="group key 'g' has dtype List"):
        pf.zscore(df.lazy(), "x", by=["date", "g"])


def test_struct_group_key_in_information_coefficient() -> None:
    df = pl.DataFrame(
        {"date": [1] * 4, "s": [{"a": 1}] * 4, "x": [1.0, 2, 3, 4], "f": [0.1, 0.2, 0.3, 0.4]}
    )
    with pytest.raises(pf.SchemaError, match="group key 's' has dtype Struct"):
        pf.information_coefficient(df, "x", "f", by=["date", "s"])


def test_object_bucket_column_in_portfolio_returns() -> None:
    df = pl.DataFrame({"date": [1, 1], "b": np.array([1, 2], dtype=object), "ret": [0.1, 0.2]})
    assert df.schema["b"] == pl.Object
    with pytest.raises(pf.SchemaError, match="bucket column 'b' must hold labels"):
        pf.portfolio_returns(df, "b", "ret")


def test_object_date_in_the_factors_of_join_factors() -> None:
    panel = pl.DataFrame({"date": [1, 2], "asset": ["a", "a"]})
    factors = pl.DataFrame({"date": np.array([1, 2], dtype=object), "mkt": [0.1, 0.2]})
    with pytest.raises(pf.SchemaError, match="date column 'date' has dtype Object"):
        pf.join_factors(panel, factors)
