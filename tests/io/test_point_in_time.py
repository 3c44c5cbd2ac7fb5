"""pf.io.point_in_time: the as-of join of fiscal periods onto a panel.

Oracle: a plain Python loop over the panel rows, scanning the fiscal table for the
latest period public on each row's date.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import polars_factors as pf
from polars_factors.datasets import data_path
from polars_factors.exceptions import ColumnNotFoundError, DuplicateKeyError, SchemaError

BASE = dt.date(2015, 1, 1)


def oracle(panel: pl.DataFrame, fundamentals: pl.DataFrame, lag: dt.timedelta) -> pl.DataFrame:
    """For each panel row, the fiscal row with the latest period_end + lag <= date."""
    values = [c for c in fundamentals.columns if c != "asset"]
    periods = [r for r in fundamentals.iter_rows(named=True) if r["asset"] is not None]
    out: dict[str, list[object]] = {c: [] for c in values}
    for row in panel.iter_rows(named=True):
        best = None
        if row["date"] is not None and row["asset"] is not None:
            for f in periods:
                if f["asset"] != row["asset"] or f["period_end"] is None:
                    continue
                if f["period_end"] + lag <= row["date"] and (
                    best is None or f["period_end"] > best["period_end"]
                ):
                    best = f
        for c in values:
            out[c].append(None if best is None else best[c])
    return panel.with_columns(pl.Series(c, out[c], dtype=fundamentals.schema[c]) for c in values)


def messy(
    rng: np.random.Generator, *, null_keys: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Panel with assets interleaved in a random order on each date (each asset's dates
    increasing, as the join needs) and an asset without fundamentals (with
    ``null_keys``: two rows with a null key too); fiscal table with unsorted rows, a
    null period end, a null asset, null values, and a fiscal year end that moves."""
    assets = ["A", "B", "C", "D"]  # D has no fundamentals
    days = sorted(rng.choice(1500, size=60, replace=False).tolist())
    rows = [(BASE + dt.timedelta(days=int(d)), a) for d in days for a in assets]
    if null_keys:
        rows += [(None, "A"), (BASE + dt.timedelta(days=400), None)]
    panel = pl.DataFrame(
        {
            "date": [r[0] for r in rows],
            "asset": [r[1] for r in rows],
            "close": rng.normal(100, 10, size=len(rows)),
        },
        schema={"date": pl.Date, "asset": pl.String, "close": pl.Float64},
    ).sample(fraction=1.0, shuffle=True, seed=int(rng.integers(1 << 31)))
    # A stable sort by date keeps the random order of the assets within each date.
    panel = panel.sort("date", maintain_order=True, nulls_last=True)
    ends = [
        ("A", dt.date(2014, 12, 31)),
        ("A", dt.date(2015, 12, 31)),
        ("A", dt.date(2016, 12, 31)),
        ("A", dt.date(2017, 12, 31)),
        ("B", dt.date(2014, 9, 30)),
        ("B", dt.date(2015, 9, 30)),
        ("B", dt.date(2016, 12, 31)),  # fiscal year end moved
        ("B", None),
        ("C", dt.date(2016, 3, 31)),
        (None, dt.date(2015, 3, 31)),
    ]
    n = len(ends)
    book = rng.normal(50, 20, size=n).tolist()
    book[2] = None
    fundamentals = pl.DataFrame(
        {
            "asset": [e[0] for e in ends],
            "period_end": [e[1] for e in ends],
            "book_equity": book,
            "year": list(range(n)),
        },
        schema={
            "asset": pl.String,
            "period_end": pl.Date,
            "book_equity": pl.Float64,
            "year": pl.Int64,
        },
    ).sample(fraction=1.0, shuffle=True, seed=int(rng.integers(1 << 31)))
    return panel, fundamentals


@pytest.mark.parametrize(
    ("lag", "days"), [("0d", 0), ("90d", 90), (dt.timedelta(days=90), 90), ("3d", 3)]
)
def test_against_a_loop_on_messy_inputs(rng, run, lag, days):
    panel, fundamentals = messy(rng)
    out = run(panel, lambda p: pf.io.point_in_time(p, fundamentals, lag=lag))
    expected = oracle(panel, fundamentals, dt.timedelta(days=days))
    assert_frame_equal(out, expected)
    assert out.columns == [*panel.columns, "period_end", "book_equity", "year"]
    assert out.filter(pl.col("asset") == "D")["year"].null_count() == 60


def test_unsorted_panels_and_null_keys_are_refused(rng, run):
    """Each asset's dates must increase; null keys have no place in an asset's history."""
    panel, fundamentals = messy(rng)
    shuffled = panel.sample(fraction=1.0, shuffle=True, seed=3)
    with pytest.raises(pf.UnsortedError):
        run(shuffled, lambda p: pf.io.point_in_time(p, fundamentals))
    holes, _ = messy(rng, null_keys=True)
    with pytest.raises(pf.InvalidDataError, match="null 'date'"):
        run(holes, lambda p: pf.io.point_in_time(p, fundamentals))
    # Without the check, rows with a null key get no fundamentals.
    out = pf.io.point_in_time(holes, fundamentals, check_keys=False)
    unkeyed = out.filter(pl.col("date").is_null() | pl.col("asset").is_null())
    assert unkeyed.height == 2
    assert unkeyed["year"].null_count() == 2


def test_lazy_fundamentals_and_suffix(rng):
    panel, fundamentals = messy(rng)
    out = pf.io.point_in_time(panel.lazy(), fundamentals.lazy(), suffix="_fy")
    assert isinstance(out, pl.LazyFrame)
    expected = oracle(panel, fundamentals, dt.timedelta(days=90)).rename(
        {"period_end": "period_end_fy", "book_equity": "book_equity_fy", "year": "year_fy"}
    )
    assert_frame_equal(out.collect(), expected)


def test_key_names_and_datetime_panel(rng):
    """Other key names; a Datetime panel dated by a Date period end and a sub-day lag."""
    panel = pl.DataFrame(
        {
            "ts": [dt.datetime(2016, 3, 30, 11), dt.datetime(2016, 3, 30, 12)],
            "ticker": ["A", "A"],
        }
    )
    fundamentals = pl.DataFrame(
        {"ticker": ["A", "A"], "fy_end": [dt.date(2014, 12, 31), dt.date(2015, 12, 31)],
         "ni": [1.0, 2.0]}
    )  # fmt: skip
    out = pf.io.point_in_time(
        panel, fundamentals, period_end="fy_end", lag="90d12h", date="ts", asset="ticker"
    )
    assert out["ni"].to_list() == [1.0, 2.0]  # public at 2016-03-30 12:00
    assert out.schema["fy_end"] == pl.Date


def test_calendar_lag_ties_go_to_the_later_period():
    """Jan 30 and Jan 31 + 1mo are both Feb 29: the later period end wins."""
    panel = pl.DataFrame({"date": [dt.date(2016, 2, 28), dt.date(2016, 2, 29)], "asset": "A"})
    fundamentals = pl.DataFrame(
        {"asset": "A", "period_end": [dt.date(2016, 1, 31), dt.date(2016, 1, 30)], "v": [2, 1]}
    )
    out = pf.io.point_in_time(panel, fundamentals, lag="1mo")
    assert out["v"].to_list() == [None, 2]


def test_real_sample_against_the_loop():
    """The bundled S&P 500 fundamentals onto 12 tickers' prices, lag 90 days."""
    tickers = ["AAPL", "MSFT", "XOM", "GE", "JPM", "AMZN", "KO", "PFE", "T", "WMT", "ZTS", "A"]
    prices = (
        pl.read_parquet(data_path("sp500_prices.parquet"), columns=["date", "asset", "close"])
        .filter(pl.col("asset").is_in(tickers))
        .sort("date", "asset")
    )
    fundamentals = pl.read_parquet(data_path("sp500_fundamentals.parquet")).filter(
        pl.col("asset").is_in(tickers)
    )
    out = pf.io.point_in_time(prices, fundamentals)
    assert_frame_equal(out, oracle(prices, fundamentals, dt.timedelta(days=90)))
    assert out["period_end"].null_count() < out.height


@settings(max_examples=40, deadline=None)
@given(
    ends=st.lists(st.integers(0, 1000), min_size=1, max_size=6, unique=True),
    dates=st.lists(st.integers(0, 1200), min_size=1, max_size=8, unique=True),
    lag=st.integers(0, 200),
    at=st.integers(0, 7),
    change=st.tuples(st.floats(-1e6, 1e6, allow_nan=False), st.integers(0, 1200)),
)
def test_no_look_ahead(ends, dates, lag, at, change):
    """Changing, adding or removing periods not yet public at row t leaves row t alone."""
    shift, extra = change
    panel = pl.DataFrame(
        {"date": [BASE + dt.timedelta(days=d) for d in sorted(dates)], "asset": "A"}
    ).with_row_index("i")
    t = panel["date"][at % panel.height]
    fundamentals = pl.DataFrame(
        {
            "asset": "A",
            "period_end": [BASE + dt.timedelta(days=e) for e in ends],
            "v": [float(e) for e in ends],
        }
    )
    before = pf.io.point_in_time(panel, fundamentals, lag=f"{lag}d")
    future = pl.col("period_end") + pl.duration(days=lag) > pl.lit(t)
    altered = fundamentals.with_columns(
        pl.when(future).then(pl.col("v") + shift).otherwise(pl.col("v"))
    )
    added = pl.DataFrame({"asset": "A", "period_end": BASE + dt.timedelta(days=extra), "v": -1.0})
    if added.select(future).item() and extra not in ends:
        altered = pl.concat([altered, added])
    altered = altered.filter(~(future & (pl.col("v") > 500)))  # drop some future periods
    after = pf.io.point_in_time(panel, altered, lag=f"{lag}d")
    on_t = pl.col("date") == t
    assert_frame_equal(before.filter(on_t), after.filter(on_t))


def test_load_sp500_uses_it():
    panel = pf.datasets.load_sp500(reporting_lag_days=30).collect()
    prices = pl.scan_parquet(data_path("sp500_prices.parquet"))
    raw = pl.scan_parquet(data_path("sp500_fundamentals.parquet"))
    joined = pf.io.point_in_time(prices, raw, lag="30d").collect()
    assert_frame_equal(panel.select("net_income"), joined.select("net_income"))


# --- errors ------------------------------------------------------------------


@pytest.fixture
def frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    panel = pl.DataFrame({"date": [dt.date(2016, 6, 30)], "asset": ["A"]})
    fundamentals = pl.DataFrame(
        {"asset": ["A", "A"], "period_end": [dt.date(2014, 12, 31), dt.date(2015, 12, 31)],
         "book_equity": [1.0, 2.0]}
    )  # fmt: skip
    return panel, fundamentals


def test_missing_columns(frames):
    panel, fundamentals = frames
    with pytest.raises(ColumnNotFoundError, match="'fy_end' not found"):
        pf.io.point_in_time(panel, fundamentals, period_end="fy_end")
    with pytest.raises(ColumnNotFoundError, match="panel key 'day'"):
        pf.io.point_in_time(panel, fundamentals, date="day")
    with pytest.raises(KeyError, match="fundamentals key 'asset'"):
        pf.io.point_in_time(panel, fundamentals.rename({"asset": "ticker"}))


def test_duplicate_periods(frames):
    panel, fundamentals = frames
    twice = pl.concat([fundamentals, fundamentals.head(1)])
    with pytest.raises(DuplicateKeyError, match=r"the fundamentals frame has 2 rows .*'A'"):
        pf.io.point_in_time(panel, twice)
    # a lazy table is not read at call time (documented): the last repeated row wins
    out = pf.io.point_in_time(panel, pl.concat([fundamentals, fundamentals.tail(1)]).lazy())
    assert out["book_equity"].to_list() == [2.0]
    # rows with a null period end are left out, so they never repeat a key
    nulls = pl.concat([fundamentals, fundamentals.with_columns(pl.lit(None).alias("period_end"))])
    assert pf.io.point_in_time(panel, nulls)["book_equity"].to_list() == [2.0]


def test_clashing_columns(frames):
    panel, fundamentals = frames
    with pytest.raises(ValueError, match=r"would write the column 'book_equity'.*suffix="):
        pf.io.point_in_time(panel.with_columns(book_equity=0.0), fundamentals)
    with pytest.raises(ValueError, match="would write the column 'period_end'"):
        pf.io.point_in_time(panel.with_columns(period_end=pl.col("date")), fundamentals)
    out = pf.io.point_in_time(panel.with_columns(book_equity=0.0), fundamentals, suffix="_fy")
    assert out.columns == ["date", "asset", "book_equity", "period_end_fy", "book_equity_fy"]


@pytest.mark.parametrize(
    ("lag", "error", "match"),
    [
        ("-1d", ValueError, "at least 0"),
        (dt.timedelta(days=-1), ValueError, "at least 0"),
        ("ninety days", ValueError, "not a valid Polars duration"),
        ("12h", ValueError, "whole number of days"),
        (90, TypeError, "duration string"),
    ],
)
def test_bad_lag(frames, lag, error, match):
    panel, fundamentals = frames
    with pytest.raises(error, match=match):
        pf.io.point_in_time(panel, fundamentals, lag=lag)


def test_bad_dtypes(frames):
    panel, fundamentals = frames
    with pytest.raises(SchemaError, match="'date' must be a Date or Datetime"):
        pf.io.point_in_time(panel.with_columns(pl.col("date").cast(pl.String)), fundamentals)
    with pytest.raises(SchemaError, match="String in the panel but Categorical"):
        pf.io.point_in_time(panel, fundamentals.with_columns(pl.col("asset").cast(pl.Categorical)))
    utc = panel.with_columns(pl.col("date").cast(pl.Datetime("us", "UTC")))
    local = fundamentals.with_columns(pl.col("period_end").cast(pl.Datetime("us")))
    with pytest.raises(SchemaError, match="different time zones"):
        pf.io.point_in_time(utc, local)
    with pytest.raises(TypeError, match="`fundamentals` must be a polars"):
        pf.io.point_in_time(panel, fundamentals.to_pandas())
