"""pandas layouts <-> long panels: loops over the pandas frames as oracles, round trips.

The vbase drop-in is checked against vbase's own algorithm: a per-period loop of
statsmodels ``RLM(HuberT)`` on sqrt(w)-scaled data, after vbase's alignment.
"""

from __future__ import annotations

import datetime as dt
import math
import sys

import numpy as np
import pandas as pd
import polars as pl
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from polars_factors.exceptions import (
    ColumnNotFoundError,
    DataLossWarning,
    DuplicateKeyError,
    FileFormatError,
    MissingDependencyError,
    SchemaError,
)
from polars_factors.io import (
    from_pandas_exposures,
    from_pandas_panel,
    from_pandas_returns,
    from_pandas_weights,
    run_monthly_factor_returns,
    to_pandas_exposures,
    to_pandas_factor_returns,
    to_pandas_returns,
    to_pandas_weights,
)


def loop_long(df: pd.DataFrame, *, assets_by_dates: bool = True) -> list[tuple]:
    """Oracle: (date, asset, value) of every non-NaN cell, date-major, in frame order."""
    wide = df if assets_by_dates else df.T
    return [
        (d, a, float(v))
        for d in wide.columns
        for a, v in wide[d].items()
        if not (isinstance(v, float) and math.isnan(v))
    ]


@pytest.fixture
def vbase_inputs():
    """The inputs of vbase's factor regression demo (50 assets, 3 factors, 12 months)."""
    rng = np.random.default_rng(42)
    assets = [f"Asset_{i}" for i in range(50)]
    factors = [f"Factor_{j}" for j in range(3)]
    periods = [f"2023-{m:02d}" for m in range(1, 13)]
    idx = pd.MultiIndex.from_product([periods, assets], names=["period", "asset"])
    exposures = pd.DataFrame(rng.standard_normal((len(idx), 3)), index=idx, columns=factors)
    true = rng.standard_normal((12, 3)) * 0.02
    returns, weights = {}, {}
    for t, period in enumerate(periods):
        x = exposures.loc[period].to_numpy()
        returns[period] = pd.Series(x @ true[t] + rng.standard_normal(50) * 0.005, index=assets)
        weights[period] = pd.Series(rng.uniform(0.5, 2.0, 50), index=assets)
    returns_df = pd.DataFrame(returns)
    weights_df = pd.concat(weights, names=["period", "asset"]).to_frame("weight")
    return returns_df, exposures, weights_df


# ------------------------------------------------------------------------ returns


def test_returns_assets_by_dates_against_loop(vbase_inputs):
    returns_df = vbase_inputs[0].copy()
    returns_df.iloc[3, 2] = np.nan
    returns_df.iloc[0, 0] = np.nan
    out = from_pandas_returns(returns_df)
    assert out.schema == pl.Schema({"date": pl.String, "asset": pl.String, "returns": pl.Float64})
    assert out.rows() == loop_long(returns_df)
    assert out.height == 50 * 12 - 2


def test_returns_dates_by_assets_and_names():
    idx = pd.DatetimeIndex(["2024-01-31", "2024-02-29"])
    wide = pd.DataFrame({"AAPL": [0.01, np.nan], "MSFT": [0.02, 0.03]}, index=idx)
    out = from_pandas_returns(wide, layout="dates_by_assets", date="d", asset="a", returns="r")
    assert out.columns == ["d", "a", "r"]
    assert out.schema["d"] == pl.Datetime("us")
    assert out.rows() == [
        (dt.datetime(2024, 1, 31), "AAPL", 0.01),
        (dt.datetime(2024, 1, 31), "MSFT", 0.02),
        (dt.datetime(2024, 2, 29), "MSFT", 0.03),
    ]
    kept = from_pandas_returns(wide, layout="dates_by_assets", drop_missing=False)
    assert kept.height == 4
    assert kept["returns"].null_count() == 1


def test_returns_int_values_and_labels():
    wide = pd.DataFrame({1: [1, 2], 2: [3, 4]}, index=[10, 20])
    out = from_pandas_returns(wide)
    assert out.rows() == [(1, 10, 1.0), (1, 20, 2.0), (2, 10, 3.0), (2, 20, 4.0)]
    assert out.schema["returns"] == pl.Float64


def test_to_pandas_returns_against_pivot(vbase_inputs):
    returns_df = vbase_inputs[0]
    long = from_pandas_returns(returns_df).sample(fraction=1.0, shuffle=True, seed=1)
    wide = to_pandas_returns(long.lazy())
    expected = long.to_pandas().pivot(index="asset", columns="date", values="returns")
    pd.testing.assert_frame_equal(wide.sort_index().sort_index(axis=1), expected)
    transposed = to_pandas_returns(long, layout="dates_by_assets")
    pd.testing.assert_frame_equal(transposed, wide.T)


def test_returns_round_trip_vbase(vbase_inputs):
    returns_df = vbase_inputs[0]
    back = to_pandas_returns(from_pandas_returns(returns_df))
    pd.testing.assert_frame_equal(back, returns_df, check_names=False, check_index_type=False)
    assert back.index.name == "asset"
    assert back.columns.name == "date"


@settings(max_examples=40, deadline=None)
@given(
    n_assets=st.integers(1, 6),
    n_dates=st.integers(1, 5),
    data=st.data(),
    layout=st.sampled_from(["assets_by_dates", "dates_by_assets"]),
)
def test_property_wide_round_trip_is_identity(n_assets, n_dates, data, layout):
    values = data.draw(
        st.lists(
            st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)),
            min_size=n_assets * n_dates,
            max_size=n_assets * n_dates,
        )
    )
    assets = data.draw(st.permutations([f"A{i}" for i in range(n_assets)]))
    dates = [dt.datetime(2020, 1, 1) + dt.timedelta(days=7 * i) for i in range(n_dates)]
    grid = np.array([np.nan if v is None else v for v in values]).reshape(n_assets, n_dates)
    wide = pd.DataFrame(grid, index=pd.Index(assets), columns=pd.DatetimeIndex(dates))
    if layout == "dates_by_assets":
        wide = wide.T
    long = from_pandas_returns(wide, layout=layout, drop_missing=False)
    back = to_pandas_returns(long, layout=layout)
    pd.testing.assert_frame_equal(
        back, wide, check_names=False, check_index_type=False, check_column_type=False
    )
    assert back.to_numpy().tobytes() == wide.to_numpy().tobytes()  # bit for bit
    # Dropping the missing cells loses nothing that the wide frame can show.
    dropped = from_pandas_returns(wide, layout=layout)
    assert dropped.rows() == [r for r in long.rows() if r[2] is not None]


@settings(max_examples=40, deadline=None)
@given(
    cells=st.dictionaries(
        st.tuples(st.integers(0, 4), st.sampled_from(["x", "y", "z"])),
        st.floats(-10, 10, allow_nan=False),
        min_size=1,
    )
)
def test_property_long_round_trip_is_identity(cells):
    long = pl.DataFrame(
        [(f"d{d}", a, v) for (d, a), v in cells.items()],
        schema=["date", "asset", "returns"],
        orient="row",
    )
    back = from_pandas_returns(to_pandas_returns(long))
    assert_frame_equal(back.sort("date", "asset"), long.sort("date", "asset"))


# ---------------------------------------------------------------------- exposures


def test_exposures_against_loop(vbase_inputs):
    exposures = vbase_inputs[1]
    out = from_pandas_exposures(exposures)
    assert out.columns == ["date", "asset", "Factor_0", "Factor_1", "Factor_2"]
    expected = [
        (p, a, *map(float, row))
        for (p, a), row in zip(exposures.index, exposures.values, strict=True)
    ]
    assert out.rows() == expected


def test_exposures_levels_nan_and_non_numeric():
    idx = pd.MultiIndex.from_tuples([("A", 2), ("B", 2), ("A", 1)], names=["ticker", "month"])
    df = pd.DataFrame({"size": [1.0, np.nan, 3.0], "sector": ["tech", "energy", "tech"]}, idx)
    df.columns = ["size", 7]  # a non-string label becomes its str
    df[7] = ["tech", "energy", "tech"]
    out = from_pandas_exposures(df, levels=("month", "ticker"), date="m", asset="t")
    assert out.columns == ["m", "t", "size", "7"]
    assert out.rows() == [(2, "A", 1.0, "tech"), (2, "B", None, "energy"), (1, "A", 3.0, "tech")]
    assert_frame_equal(from_pandas_exposures(df, levels=(-1, 0), date="m", asset="t"), out)


def test_exposures_round_trips(vbase_inputs):
    exposures = vbase_inputs[1]
    back = to_pandas_exposures(from_pandas_exposures(exposures))
    pd.testing.assert_frame_equal(back, exposures, check_names=False, check_index_type=False)
    assert back.index.names == ["date", "asset"]
    panel = pl.DataFrame(
        {"date": [2, 1, 2], "asset": ["b", "a", "a"], "x": [1.0, None, 3.0], "ind": list("uvw")}
    )
    assert_frame_equal(from_pandas_exposures(to_pandas_exposures(panel)), panel)
    sub = to_pandas_exposures(panel.lazy(), ["ind"])
    assert list(sub.columns) == ["ind"]


# ------------------------------------------------------------------------ weights


def test_weights_frame_series_and_column(vbase_inputs):
    weights_df = vbase_inputs[2]
    out = from_pandas_weights(weights_df)
    assert out.columns == ["date", "asset", "weights"]
    assert out["weights"].to_list() == weights_df["weight"].tolist()
    assert_frame_equal(from_pandas_weights(weights_df["weight"]), out)
    two = weights_df.assign(other=1)
    assert_frame_equal(from_pandas_weights(two, column="weight"), out)
    back = to_pandas_weights(out, name="weight")
    pd.testing.assert_frame_equal(back, weights_df, check_names=False, check_index_type=False)
    ints = pd.Series([1, 2], index=pd.MultiIndex.from_tuples([(1, "a"), (1, "b")]))
    assert from_pandas_weights(ints, name="w").schema["w"] == pl.Float64


# ----------------------------------------------------------------- factor returns


def test_to_pandas_factor_returns_order_and_gaps():
    long = pl.DataFrame(
        {
            "date": [2, 2, 1, 1, 3],
            "factor": ["b", "a", "b", "a", "a"],
            "factor_return": [0.1, 0.2, 0.3, 0.4, 0.5],
        }
    )
    wide = to_pandas_factor_returns(long)
    assert list(wide.index) == [2, 1, 3]
    assert list(wide.columns) == ["b", "a"]
    assert wide.loc[3].isna().tolist() == [True, False]
    assert wide.loc[1, "a"] == 0.4
    renamed = long.rename({"date": "d", "factor": "f", "factor_return": "v"})
    other = to_pandas_factor_returns(renamed, date="d", factor="f", factor_return="v")
    assert other.to_numpy().tobytes() == wide.to_numpy().tobytes()


# ------------------------------------------------------------------------- errors


def wide_frame():
    return pd.DataFrame({"2023-01": [0.1, 0.2]}, index=["A", "B"])


def test_missing_pandas(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'polars_factors\[pandas\]'"):
        from_pandas_returns(object())
    with pytest.raises(ImportError, match="to_pandas_returns needs pandas"):
        to_pandas_returns(pl.DataFrame())


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: [[0.1]], SchemaError, "expected a pandas DataFrame; got builtins.list"),
        (
            lambda: wide_frame().set_axis(pd.MultiIndex.from_tuples([(1, "A"), (1, "B")])),
            FileFormatError,
            r"the rows have a MultiIndex of 2 levels .* labelled by one asset",
        ),
        (
            lambda: wide_frame().set_axis(["A", "A"]),
            DuplicateKeyError,
            r"the returns frame has 2 rows for repeated \('asset'\) keys, e\.g\. \('A'\)",
        ),
        (
            lambda: pd.concat([wide_frame(), wide_frame()], axis=1),
            DuplicateKeyError,
            r"has 2 columns for repeated \('date'\) keys, e\.g\. \('2023-01'\)",
        ),
        (
            lambda: wide_frame().set_axis(["A", None]),
            FileFormatError,
            "one of the rows has a missing asset label",
        ),
        (
            lambda: wide_frame().assign(x=["a", "b"]),
            SchemaError,
            r"column 'x' has dtype (str|object); a returns frame holds numbers only",
        ),
        (lambda: wide_frame().assign(x=True), SchemaError, "column 'x' has dtype bool"),
    ],
)
def test_returns_errors(make, error, match):
    with pytest.raises(error, match=match):
        from_pandas_returns(make())


def test_returns_option_errors():
    with pytest.raises(ValueError, match="unknown layout='wide'"):
        from_pandas_returns(wide_frame(), layout="wide")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="given both as `date` and as `returns`"):
        from_pandas_returns(wide_frame(), returns="date")


def multi_frame():
    idx = pd.MultiIndex.from_tuples([("2023-01", "A"), ("2023-01", "B")], names=["p", "a"])
    return pd.DataFrame({"x": [1.0, 2.0]}, index=idx)


@pytest.mark.parametrize(
    ("make", "kwargs", "error", "match"),
    [
        (
            lambda: multi_frame().reset_index(level=1),
            {},
            FileFormatError,
            r"expected a \(date, asset\) MultiIndex of 2 levels; found a flat Index named 'p'",
        ),
        (
            lambda: multi_frame().assign(z=0).set_index("z", append=True),
            {},
            FileFormatError,
            r"found a MultiIndex of 3 levels \['p', 'a', 'z'\]",
        ),
        (multi_frame, {"levels": ("p", "asset")}, FileFormatError, "no index level"),
        (multi_frame, {"levels": (0, 2)}, FileFormatError, "no index level 2"),
        (multi_frame, {"levels": (1, -1)}, FileFormatError, "same index level twice"),
        (
            lambda: multi_frame().set_axis(pd.MultiIndex.from_tuples([("p", "A"), ("p", "A")])),
            {},
            DuplicateKeyError,
            r"2 rows for repeated \('date', 'asset'\) keys, e\.g\. \('p', 'A'\)",
        ),
        (
            lambda: multi_frame().set_axis(pd.MultiIndex.from_tuples([("p", "A"), (None, "B")])),
            {},
            FileFormatError,
            "1 rows have a missing date",
        ),
        (
            lambda: multi_frame().rename(columns={"x": "asset"}),
            {},
            FileFormatError,
            r"column names \['asset'\] are repeated or clash with the key columns",
        ),
        (
            lambda: multi_frame().set_axis(pd.MultiIndex.from_tuples([("x", "y")]), axis=1),
            {},
            FileFormatError,
            "the columns form a MultiIndex",
        ),
    ],
)
def test_exposures_errors(make, kwargs, error, match):
    with pytest.raises(error, match=match):
        from_pandas_exposures(make(), **kwargs)


def test_weights_errors():
    two = multi_frame().assign(y=1.0)
    with pytest.raises(FileFormatError, match=r"found 2 columns \['x', 'y'\]. Pick one"):
        from_pandas_weights(two)
    with pytest.raises(ColumnNotFoundError, match="'w' not found in the frame"):
        from_pandas_weights(two, column="w")
    with pytest.raises(SchemaError, match=r"the weights have dtype (str|object)"):
        from_pandas_weights(multi_frame().assign(x=["a", "b"]))
    with pytest.raises(SchemaError, match=r"DataFrame or Series; got builtins\.dict"):
        from_pandas_weights({"a": 1})


def test_to_pandas_errors():
    panel = pl.DataFrame({"date": [1, 1], "asset": ["a", "a"], "returns": [0.1, 0.2]})
    with pytest.raises(DuplicateKeyError, match=r"duplicate \('date', 'asset'\) keys"):
        to_pandas_returns(panel)
    with pytest.raises(DuplicateKeyError):
        to_pandas_exposures(panel)
    with pytest.raises(ColumnNotFoundError, match="'ret' not found"):
        to_pandas_returns(panel, returns="ret")
    with pytest.raises(SchemaError, match="'asset' must be numeric"):
        to_pandas_weights(panel, "asset", asset="returns")
    nulls = pl.DataFrame({"date": [1, None], "asset": ["a", "b"], "returns": [0.1, 0.2]})
    with pytest.raises(FileFormatError, match="1 rows have a null date"):
        to_pandas_returns(nulls)
    with pytest.raises(ColumnNotFoundError, match="'factor' not found"):
        to_pandas_factor_returns(panel)
    with pytest.raises(ValueError, match="names a column more than once"):
        to_pandas_exposures(panel.unique("asset"), ["returns", "returns"])
    with pytest.raises(ValueError, match=r"columns \['date'\] are repeated or are also the keys"):
        to_pandas_exposures(panel.unique("asset"), ["date"])


# -------------------------------------------------------------- panel and drop-in


def vbase_loop(returns_df, exposures_df, weights_df, huber_t=1.345):
    """Oracle: vbase's per-period loop (alignment, then RLM on sqrt(w)-scaled data)."""
    out = pd.DataFrame(index=returns_df.columns, columns=exposures_df.columns, dtype=float)
    for period in returns_df.columns:
        r = returns_df[period].dropna()
        e = exposures_df.xs(period, level=0).reindex(r.index).dropna(how="any")
        if weights_df is None:
            w = pd.Series(1.0, index=r.index)
        else:
            w = weights_df.xs(period, level=0).iloc[:, 0].reindex(r.index).dropna()
        common = [a for a in r.index if a in e.index and a in w.index]
        sw = np.sqrt(w.loc[common])
        model = sm.RLM(
            r.loc[common] * sw, e.loc[common].mul(sw, axis=0), M=sm.robust.norms.HuberT(t=huber_t)
        )
        out.loc[period] = model.fit().params.to_numpy()
    return out


def test_drop_in_matches_vbase_algorithm(vbase_inputs):
    returns_df, exposures_df, weights_df = vbase_inputs
    returns_df = returns_df.copy()
    returns_df.iloc[:5, 3] = np.nan  # assets without a return in a period
    exposures_df = exposures_df.drop(index=("2023-05", "Asset_7"))  # nor exposures
    exposures_df.loc[("2023-06", "Asset_9"), "Factor_1"] = np.nan
    weights_df = weights_df.drop(index=("2023-02", "Asset_3"))
    with pytest.warns(DataLossWarning, match="1 rows of the returns .* have no exposures"):
        out = run_monthly_factor_returns(
            returns_df=returns_df, exposures_df=exposures_df, weights_df=weights_df, huber_t=1.5
        )
    expected = vbase_loop(returns_df, exposures_df, weights_df, huber_t=1.5)
    pd.testing.assert_frame_equal(out, expected, rtol=1e-7, atol=1e-10)
    assert out.index.name is None
    assert list(out.index) == list(returns_df.columns)


def test_drop_in_without_weights_and_transposed(vbase_inputs):
    returns_df, exposures_df, _ = vbase_inputs
    out = run_monthly_factor_returns(returns_df.T, exposures_df, layout="dates_by_assets")
    pd.testing.assert_frame_equal(
        out, vbase_loop(returns_df, exposures_df, None), rtol=1e-7, atol=1e-10
    )


def test_drop_in_ols_against_lstsq(vbase_inputs):
    returns_df, exposures_df, _ = vbase_inputs
    out = run_monthly_factor_returns(returns_df, exposures_df, method="ols")
    for period in returns_df.columns:
        x = exposures_df.xs(period, level=0).to_numpy()
        coef = np.linalg.lstsq(x, returns_df[period].to_numpy(), rcond=None)[0]
        np.testing.assert_allclose(out.loc[period].to_numpy(), coef, rtol=1e-9, atol=1e-12)


def test_panel_join_and_errors(vbase_inputs):
    returns_df, exposures_df, weights_df = vbase_inputs
    with pytest.warns(DataLossWarning, match="500 rows of the exposures have no return"):
        panel = from_pandas_panel(returns_df.iloc[:, :2], exposures_df, weights_df)
    assert panel.columns == [
        "date",
        "asset",
        "returns",
        "Factor_0",
        "Factor_1",
        "Factor_2",
        "weights",
    ]
    assert panel.height == 100  # the two periods of the returns
    row = panel.row(1, named=True)
    assert row["returns"] == returns_df.loc["Asset_1", "2023-01"]
    assert row["Factor_2"] == exposures_df.loc[("2023-01", "Asset_1"), "Factor_2"]
    assert row["weights"] == weights_df.loc[("2023-01", "Asset_1"), "weight"]
    timestamps = exposures_df.set_axis(
        exposures_df.index.set_levels(pd.to_datetime(exposures_df.index.levels[0]), level=0)
    )
    with pytest.raises(SchemaError, match="the date labels of the returns are String but those"):
        from_pandas_panel(returns_df, timestamps)
    with pytest.raises(ValueError, match=r"exposures: columns \['returns'\] have the name"):
        from_pandas_panel(returns_df, exposures_df.rename(columns={"Factor_0": "returns"}))
