"""assign_buckets and bucket_breakpoints: numpy quantiles, an explicit loop, ties, universes."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import polars as pl
import polars.testing
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import polars_factors as pf
from polars_factors.exceptions import (
    ColumnNotFoundError,
    DataLossWarning,
    DuplicateKeyError,
    SchemaError,
)
from polars_factors.portfolio._buckets import assign_buckets, bucket_breakpoints

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------------ oracles


def _usable(values: np.ndarray) -> np.ndarray:
    return values[np.isfinite(values)]


def _exact_quantile(sorted_values: np.ndarray, q: Fraction) -> float:
    """Linear-interpolation quantile with an exact rational position ``q (m - 1)``."""
    pos = q * (len(sorted_values) - 1)
    low = math.floor(pos)
    if pos == low:
        return float(sorted_values[low])
    a, b = float(sorted_values[low]), float(sorted_values[low + 1])
    t = float(pos - low)
    return a + (b - a) * t if t < 0.5 else b - (b - a) * (1 - t)


def _loop_buckets(
    df: pl.DataFrame, column: str, fractions: list[Fraction], universe: str | None = None
) -> list[int | None]:
    """Bucket of every row, from a per-date Python loop (None where undefined)."""
    x = df[column].cast(pl.Float64).fill_null(np.nan).to_numpy()
    dates = df["date"].to_list()
    selected = (
        np.ones(len(x), dtype=bool)
        if universe is None
        else df[universe].fill_null(value=False).to_numpy()
    )
    breakpoints: dict[object, list[float] | None] = {}
    for d in set(dates):
        mask = np.array([v == d for v in dates]) & selected
        values = np.sort(_usable(x[mask]))
        breakpoints[d] = [_exact_quantile(values, q) for q in fractions] if len(values) else None
    out: list[int | None] = []
    for value, d in zip(x, dates, strict=True):
        bps = breakpoints[d]
        if bps is None or not np.isfinite(value):
            out.append(None)
        else:
            out.append(1 + sum(b < value for b in bps))
    return out


def _with_universe(panel: pl.DataFrame) -> pl.DataFrame:
    # Sectors S0 and S1 are the breakpoint universe, with a few nulls (= not selected).
    flag = pl.col("sector").is_in(["S0", "S1"])
    return panel.with_columns(
        pl.when(pl.col("asset").str.ends_with("7")).then(None).otherwise(flag).alias("big")
    )


# ------------------------------------------------------------------ breakpoints


@pytest.mark.parametrize(
    ("n", "breakpoints"), [(5, None), (10, None), (None, [0.3, 0.7]), (None, [0.05, 0.5, 0.99])]
)
@pytest.mark.parametrize("universe", [None, "big"])
def test_breakpoints_match_numpy_per_date(panel, n, breakpoints, universe):
    df = _with_universe(panel)
    fractions = [j / n for j in range(1, n)] if n else breakpoints
    out = bucket_breakpoints(df, "x", n=n, breakpoints=breakpoints, breakpoint_universe=universe)
    names = [f"breakpoint_{i}" for i in range(1, len(fractions) + 1)]
    assert out.columns == ["date", *names, "n_universe"]
    assert out["date"].to_list() == sorted(df["date"].unique().to_list())
    for row in out.iter_rows(named=True):
        sub = df.filter(pl.col("date") == row["date"])
        if universe is not None:
            sub = sub.filter(pl.col(universe).fill_null(value=False))
        values = _usable(sub["x"].fill_null(np.nan).to_numpy())
        assert row["n_universe"] == len(values)
        got = [row[c] for c in names]
        if len(values) == 0:
            assert got == [None] * len(names)
        else:
            np.testing.assert_allclose(
                got, np.quantile(values, fractions, method="linear"), rtol=1e-13, atol=1e-15
            )


def test_breakpoints_lazy_and_by_groups(panel):
    lazy = bucket_breakpoints(panel.lazy(), "x", n=3, by=["date", "sector"])
    assert isinstance(lazy, pl.LazyFrame)
    out = lazy.collect(engine="streaming")
    assert out.equals(bucket_breakpoints(panel, "x", n=3, by=["date", "sector"]))
    assert out.height == panel.select("date", "sector").unique().height
    assert out.equals(out.sort("date", "sector"))


def test_breakpoint_at_an_observed_value_is_exact():
    # 0.7 * 90 is 62.99999999999999 in floating point; the 70th percentile of 0..90
    # is the value 63 itself, and 63 goes to the lower bucket.
    values = np.arange(91, dtype=float)
    assert np.quantile(values, 0.7) < 63.0
    df = pl.DataFrame({"date": [1] * 91, "asset": range(91), "x": values})
    assert bucket_breakpoints(df, "x", breakpoints=[0.7])["breakpoint_1"].item() == 63.0
    out = assign_buckets(df, "x", breakpoints=[0.7])
    assert out["x_bucket"].to_list() == [1] * 64 + [2] * 27
    deciles = assign_buckets(df, "x", n=10)["x_bucket"].value_counts().sort("x_bucket")
    assert deciles["count"].to_list() == [10] + [9] * 9  # 0..9 | 10..18 | ... | 82..90


# ------------------------------------------------------------------------ buckets


@pytest.mark.parametrize(("n", "breakpoints"), [(5, None), (3, None), (None, [0.3, 0.7])])
@pytest.mark.parametrize("universe", [None, "big"])
def test_buckets_match_explicit_loop(panel, run, n, breakpoints, universe):
    df = _with_universe(panel)
    fractions = (
        [Fraction(j, n) for j in range(1, n)] if n else [Fraction(str(q)) for q in breakpoints]
    )
    out = run(
        df,
        lambda f: assign_buckets(
            f, "x", n=n, breakpoints=breakpoints, breakpoint_universe=universe
        ),
    )
    assert out.columns == [*df.columns, "x_bucket"]
    assert out.drop("x_bucket").equals(df)
    assert out["x_bucket"].dtype == pl.Int32
    assert out["x_bucket"].to_list() == _loop_buckets(df, "x", fractions, universe)


def test_hand_ties_go_to_the_lower_bucket():
    df = pl.DataFrame(
        {"date": [1] * 6, "asset": list("abcdef"), "x": [2.0, 1.0, 2.0, 4.0, 2.0, 3.0]}
    )
    # median of 1, 2, 2, 2, 3, 4 is 2: every 2 is at the breakpoint, so in bucket 1
    assert assign_buckets(df, "x", n=2)["x_bucket"].to_list() == [1, 1, 1, 2, 1, 2]
    # terciles: positions 5/3 and 10/3 give breakpoints 2 and 2 + (3 - 2) / 3
    assert assign_buckets(df, "x", n=3)["x_bucket"].to_list() == [1, 1, 1, 3, 1, 3]


def test_hand_coinciding_breakpoints_leave_a_bucket_empty():
    df = pl.DataFrame({"date": [1] * 6, "asset": list("abcdef"), "x": [1, 1, 1, 1, 2, 3]})
    # terciles at positions 5/3 and 10/3: 1.0 and 1 + (2 - 1) / 3; bucket 2 is empty
    assert assign_buckets(df, "x", n=3)["x_bucket"].to_list() == [1, 1, 1, 1, 3, 3]


def test_hand_nyse_breakpoints():
    df = pl.DataFrame(
        {
            "date": [1] * 8 + [2] * 3,
            "asset": list("abcdefgh") + list("abc"),
            "exchange": ["NYSE"] * 4 + ["NASDAQ"] * 3 + [None] + ["NYSE", "NASDAQ", "NYSE"],
            "mcap": [10.0, 20.0, 30.0, 40.0, 1.0, 2.0, 100.0, 25.0, 5.0, 6.0, 7.0],
        }
    )
    nyse = pl.col("exchange") == "NYSE"
    # date 1: NYSE 10, 20, 30, 40 -> median 25; the null exchange row is not in the
    # universe but is bucketed; date 2: NYSE 5, 7 -> median 6
    out = assign_buckets(df, "mcap", n=2, breakpoint_universe=nyse, name="size")
    assert out["size"].to_list() == [1, 1, 2, 2, 1, 1, 2, 1, 1, 1, 2]
    # against all rows the median is 22.5 on date 1: 25 moves up
    out_all = assign_buckets(df, "mcap", n=2, name="size")
    assert out_all["size"].to_list() == [1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2]
    # a boolean column works like the expression
    flagged = df.with_columns(nyse.alias("is_nyse"))
    via_column = assign_buckets(flagged, "mcap", n=2, breakpoint_universe="is_nyse", name="size")
    assert via_column["size"].equals(out["size"])


def test_missing_signal_values_give_null_buckets_and_by_groups():
    df = pl.DataFrame(
        {
            "date": [1] * 6,
            "asset": list("abcdef"),
            "sector": ["s", "s", "s", "t", "t", "t"],
            "x": [1.0, None, 3.0, float("nan"), 5.0, 6.0],
        }
    )
    out = assign_buckets(df.lazy(), "x", n=2, by=["date", "sector"]).collect()
    assert out["x_bucket"].to_list() == [1, None, 2, None, 1, 2]


def test_empty_universe_gives_nulls_and_warns_on_eager_frames():
    df = pl.DataFrame(
        {
            "date": [1, 1, 1, 2, 2, 2, 3, 3],
            "asset": ["a", "b", "c"] * 2 + ["a", "b"],
            "nyse": [True, True, False, False, None, False, False, False],
            "x": [1.0, 2.0, 3.0, 4.0, 5.0, None, None, None],
        }
    )
    with pytest.warns(
        DataLossWarning, match="2 rows with a value got a null bucket: 1 group of date has"
    ):
        out = assign_buckets(df, "x", n=2, breakpoint_universe="nyse")
    assert out["x_bucket"].to_list() == [1, 2, 2, None, None, None, None, None]
    # lazy: the same nulls and no warning (pytest turns warnings into errors)
    lazy = assign_buckets(df.lazy(), "x", n=2, breakpoint_universe="nyse")
    assert lazy.collect(engine="streaming").equals(out)
    table = bucket_breakpoints(df, "x", n=2, breakpoint_universe="nyse")
    assert table["n_universe"].to_list() == [2, 0, 0]
    assert table["breakpoint_1"].to_list() == [1.5, None, None]


def test_infinite_signal_warns_on_eager_frames():
    df = pl.DataFrame({"date": [1] * 3, "asset": list("abc"), "x": [1.0, float("inf"), 2.0]})
    with pytest.warns(DataLossWarning, match="1 infinite values"):
        out = assign_buckets(df, "x", n=2)
    assert out["x_bucket"].to_list() == [1, None, 2]


def test_integer_signal(panel):
    df = panel.with_columns((pl.col("mcap").fill_nan(None) * 10).round().cast(pl.Int64).alias("k"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataLossWarning)
        out = assign_buckets(df, "k", n=4)
    expected = _loop_buckets(df, "k", [Fraction(j, 4) for j in range(1, 4)])
    assert out["k_bucket"].to_list() == expected


def test_lazy_eager_streaming_and_shuffled_rows_agree(panel):
    df = _with_universe(panel).with_row_index("row")
    with pytest.warns(DataLossWarning, match="1 group of date"):  # the one-asset date
        eager = assign_buckets(df, "y", n=5, breakpoint_universe="big")
    lf = assign_buckets(df.lazy(), "y", n=5, breakpoint_universe="big")
    assert lf.collect(engine="streaming").equals(eager)
    assert lf.collect(engine="in-memory").equals(eager)
    shuffled = df.sample(fraction=1.0, shuffle=True, seed=7)
    out = assign_buckets(shuffled.lazy(), "y", n=5, breakpoint_universe="big").collect(
        engine="streaming"
    )
    assert out.drop("y_bucket").equals(shuffled)  # same rows, same (shuffled) order
    assert out.sort("row").equals(eager)


# --------------------------------------------------------------------- properties

_VALUES = st.one_of(
    st.sampled_from([0.0, 1.0, 2.0, 2.5, -1.0]),  # ties
    # Subnormal values: the exact-fraction breakpoint of the check rounds differently
    # from the float interpolation (a 4.9e-324 step is below the precision of both).
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, allow_subnormal=False),
    st.none(),
)


@st.composite
def _cross_sections(draw: st.DrawFn) -> pl.DataFrame:
    n_dates = draw(st.integers(1, 4))
    dates, assets, values = [], [], []
    for d in range(n_dates):
        row = draw(st.lists(_VALUES, min_size=1, max_size=30))
        dates += [d] * len(row)
        assets += list(range(len(row)))
        values += row
    return pl.DataFrame({"date": dates, "asset": assets, "x": values}, strict=False).cast(
        {"x": pl.Float64}
    )


@SETTINGS
@given(df=_cross_sections(), n=st.integers(2, 8))
def test_property_every_value_in_one_bucket_monotone_and_balanced(df, n):
    out = assign_buckets(df.lazy(), "x", n=n).collect()
    for part in out.partition_by("date"):
        have = part.filter(pl.col("x").is_not_null())
        b = have["x_bucket"]
        missing = part.filter(pl.col("x").is_null())["x_bucket"]
        assert missing.null_count() == missing.len()
        assert b.null_count() == 0
        if have.is_empty():
            continue
        assert b.min() >= 1
        assert b.max() <= n
        # monotone: a larger value never has a lower bucket; equal values share one
        steps = have.sort("x")["x_bucket"].diff().drop_nulls()
        assert steps.is_empty() or steps.min() >= 0
        assert have.group_by("x").agg(pl.col("x_bucket").n_unique())["x_bucket"].max() == 1
        # balanced: the number of values in buckets <= j is the number of values at or
        # below the j-th breakpoint; with distinct values that is floor(j(m-1)/n) + 1
        m = have.height
        values = np.sort(have["x"].to_numpy())
        for j in range(1, n):
            below = int((b <= j).sum())
            bp = _exact_quantile(values, Fraction(j, n))
            assert below == int((values <= bp).sum())
            if len(np.unique(values)) == m:
                assert below == (j * (m - 1)) // n + 1


@SETTINGS
@given(df=_cross_sections(), k=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_property_engines_and_row_order_agree(df, k, seed):
    cuts = sorted({round(0.1 + 0.8 * i / k, 6) for i in range(k)})
    eager = assign_buckets(df, "x", breakpoints=cuts)
    shuffled = df.with_row_index("row").sample(fraction=1.0, shuffle=True, seed=seed)
    lazy = assign_buckets(shuffled.lazy(), "x", breakpoints=cuts)
    streamed = lazy.collect(engine="streaming")
    assert streamed.equals(lazy.collect(engine="in-memory"))
    assert streamed["row"].equals(shuffled["row"])
    assert streamed.sort("row").drop("row").equals(eager)


# ------------------------------------------------------------------------- errors

_DF = pl.DataFrame(
    {
        "date": [1, 1, 2],
        "asset": ["a", "b", "a"],
        "x": [1.0, 2.0, 3.0],
        "label": ["p", "q", "r"],
        "nyse": [True, False, True],
    }
)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n": 1}, ValueError, "at least 2"),
        ({"n": True}, TypeError, "integer"),
        ({"n": 2.5}, TypeError, "integer"),
        ({}, ValueError, "got neither"),
        ({"n": 3, "breakpoints": [0.5]}, ValueError, "got both"),
        ({"breakpoints": [0.7, 0.3]}, ValueError, "strictly increasing"),
        ({"breakpoints": [0.3, 0.3]}, ValueError, "strictly increasing"),
        ({"breakpoints": [0.0, 0.5]}, ValueError, r"between 0 and 1; got \[0.0\]"),
        ({"breakpoints": [30, 70]}, ValueError, "divide by 100"),
        ({"breakpoints": []}, ValueError, "empty"),
        ({"breakpoints": 0.5}, TypeError, "sequence"),
        ({"breakpoints": ["0.5"]}, TypeError, "numbers"),
        ({"n": 2, "name": "label"}, ValueError, "which the frame already has"),
        ({"n": 2, "name": "x"}, ValueError, "which the frame already has"),
        ({"n": 2, "by": "day"}, ColumnNotFoundError, "group key 'day'"),
        ({"n": 2, "breakpoint_universe": "nyse2"}, ColumnNotFoundError, "Did you mean 'nyse'"),
        (
            {"n": 2, "breakpoint_universe": pl.col("exch") == "NYSE"},
            ColumnNotFoundError,
            "'exch'",
        ),
        ({"n": 2, "breakpoint_universe": "x"}, SchemaError, "must be boolean"),
        ({"n": 2, "breakpoint_universe": pl.col("label")}, SchemaError, "is String"),
        ({"n": 2, "breakpoint_universe": 1}, TypeError, "boolean column name"),
        ({"n": 2, "asset": "ticker"}, ColumnNotFoundError, "panel key 'ticker'"),
    ],
)
def test_bad_arguments_raise_precise_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        assign_buckets(_DF.lazy(), "x", **kwargs)


def test_bad_columns_and_duplicate_keys():
    with pytest.raises(ColumnNotFoundError, match="signal column 'y'"):
        assign_buckets(_DF, "y", n=2)
    with pytest.raises(SchemaError, match="signal column 'label' must be numeric"):
        assign_buckets(_DF, "label", n=2)
    with pytest.raises(SchemaError, match="must be numeric"):
        assign_buckets(_DF, "nyse", n=2)
    with pytest.raises(TypeError, match="name of the signal column"):
        assign_buckets(_DF, pl.col("x"), n=2)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="DataFrame or LazyFrame"):
        assign_buckets(_DF.to_pandas(), "x", n=2)  # type: ignore[type-var]
    dup = pl.concat([_DF, _DF.head(1)])
    with pytest.raises(DuplicateKeyError, match="duplicate"):
        assign_buckets(dup, "x", n=2)
    with pytest.raises(DuplicateKeyError, match="duplicate"):
        assign_buckets(dup.lazy(), "x", n=2, check_keys=True)  # opt-in on a LazyFrame
    assign_buckets(dup.lazy(), "x", n=2)  # the default reads nothing at call time
    out = assign_buckets(dup, "x", n=2, check_keys=False)
    assert out["x_bucket"].to_list() == [1, 2, 1, 1]


def test_errors_derive_from_the_package_base():
    with pytest.raises(pf.FactorsError):
        assign_buckets(_DF, "x", n=2, breakpoint_universe="x")


@pytest.mark.parametrize("engine", ["in-memory", "streaming"])
def test_every_engine_gives_the_same_frame(engine):
    # An eager input is collected with `engine` (default "auto"): the same rows and order.
    rng = np.random.default_rng(7)
    df = pl.DataFrame(
        {
            "date": np.repeat(np.arange(30), 40),
            "asset": np.tile(np.arange(40), 30),
            "x": rng.standard_normal(1200),
        }
    ).with_columns(pl.when(pl.col("x") > 1.5).then(None).otherwise(pl.col("x")).alias("x"))
    df = df.with_columns((pl.col("date") * 7).cast(pl.Date))
    calls = [
        lambda f, **k: pf.portfolio.assign_buckets(f, "x", n=5, **k),
        lambda f, **k: pf.portfolio.bucket_breakpoints(f, "x", n=5, **k),
        lambda f, **k: pf.portfolio.rebalance(f, "x", every="1mo", **k),
    ]
    for call in calls:
        pl.testing.assert_frame_equal(call(df, engine=engine), call(df))
        assert isinstance(call(df.lazy(), engine=engine), pl.LazyFrame)
