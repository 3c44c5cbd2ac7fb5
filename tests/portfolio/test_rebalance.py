"""rebalance against an explicit as-of loop: calendar periods, June formation, gaps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import polars as pl
import pytest

from polars_factors.exceptions import ColumnNotFoundError, DuplicateKeyError, SchemaError
from polars_factors.portfolio._buckets import rebalance

# ------------------------------------------------------------------------ oracle

Label = Callable[[dt.date], int]


def _fiscal_year_june(d: dt.date) -> int:
    # July..June years, named by the June that ends them
    return d.year + (d.month > 6)


def _quarter_ending_feb(d: dt.date) -> int:
    # quarters Mar-May, Jun-Aug, Sep-Nov, Dec-Feb, numbered consecutively by end month
    ends = [2, 5, 8, 11]
    end = next((e for e in ends if e >= d.month), None)
    year, month = (d.year, end) if end is not None else (d.year + 1, 2)
    return (year * 12 + month - 2) // 3


def _two_weeks(d: dt.date) -> int:
    monday = d - dt.timedelta(days=d.weekday())
    return (monday - dt.date(1969, 12, 29)).days // 14


LABELS: dict[tuple[str, int | None], Label] = {
    ("1mo", None): lambda d: d.year * 12 + d.month,
    ("3mo", None): lambda d: d.year * 4 + (d.month - 1) // 3,
    ("1q", None): lambda d: d.year * 4 + (d.month - 1) // 3,
    ("1y", None): lambda d: d.year,
    ("12mo", None): lambda d: d.year,
    ("1y", 6): _fiscal_year_june,
    ("1y", 12): lambda d: d.year,
    ("3mo", 2): _quarter_ending_feb,
    ("1w", None): lambda d: (d - dt.timedelta(days=d.weekday())).toordinal() // 7,
    ("2w", None): _two_weeks,
    ("10d", None): lambda d: (d - dt.date(1970, 1, 1)).days // 10,
}


def _as_of(df: pl.DataFrame, columns: list[str], label: Label, lag: int) -> dict[str, list]:
    """For each row, the values on its asset's last row in period ``label - lag``."""
    last: dict[tuple[object, int], dict] = {}
    for row in df.iter_rows(named=True):
        key = (row["asset"], label(row["date"]))
        if key not in last or row["date"] > last[key]["date"]:
            last[key] = row
    out: dict[str, list] = {c: [] for c in columns}
    for row in df.iter_rows(named=True):
        source = last.get((row["asset"], label(row["date"]) - lag))
        for c in columns:
            out[c].append(None if source is None else source[c])
    return out


def _panel(rng: np.random.Generator, *, step_days: int = 6) -> pl.DataFrame:
    """Irregular dates 2017-2021, assets entering and leaving, gaps, nulls; shuffled."""
    start, end = dt.date(2017, 1, 2), dt.date(2021, 12, 31)
    dates = []
    d = start
    while d <= end:
        dates.append(d)
        d += dt.timedelta(days=int(rng.integers(1, 2 * step_days)))
    rows = []
    for a in range(8):
        first, last = sorted(rng.choice(len(dates), size=2, replace=False))
        if a < 2:  # two assets live throughout
            first, last = 0, len(dates) - 1
        for i in range(first, last + 1):
            in_gap = a % 3 == 0 and 100 <= i < 140  # a long gap for some assets
            if rng.random() < 0.8 and not in_gap:
                rows.append((dates[i], f"A{a}"))
    n = len(rows)
    signal = rng.normal(size=n)
    signal[rng.random(n) < 0.1] = np.nan
    df = pl.DataFrame(
        {
            "date": [r[0] for r in rows],
            "asset": [r[1] for r in rows],
            "signal": signal,
            "bucket": rng.integers(1, 6, size=n).astype(np.int32),
            "label": [f"L{k}" for k in rng.integers(0, 100, size=n)],
            "ret": rng.normal(size=n),
        }
    ).with_columns(pl.when(pl.Series(rng.random(n) < 0.05)).then(None).otherwise(pl.col("bucket")))
    return df.sample(fraction=1.0, shuffle=True, seed=int(rng.integers(1 << 31)))


# ------------------------------------------------------------------------- tests


@pytest.mark.parametrize(
    ("every", "month", "lag"),
    [
        ("1mo", None, 1),
        ("1mo", None, 2),
        ("3mo", None, 1),
        ("1q", None, 1),
        ("1y", None, 1),
        ("12mo", None, 1),
        ("1y", 6, 1),
        ("1y", 6, 2),
        ("1y", 12, 1),
        ("3mo", 2, 1),
        ("1w", None, 1),
        ("2w", None, 3),
        ("10d", None, 1),
    ],
)
def test_matches_explicit_as_of_loop(rng, run, every, month, lag):
    df = _panel(rng)
    columns = ["signal", "bucket", "label"]
    out = run(df, lambda f: rebalance(f, columns, every=every, month=month, lag=lag))
    assert out.columns == df.columns
    assert out.schema == df.schema
    assert out.select("date", "asset", "ret").equals(df.select("date", "asset", "ret"))
    expected = _as_of(df, columns, LABELS[every, month], lag)
    for c in columns:
        got = out[c].to_list()
        want = expected[c]
        if c == "signal":  # NaN == NaN for the comparison
            got = ["nan" if v is not None and np.isnan(v) else v for v in got]
            want = ["nan" if v is not None and np.isnan(v) else v for v in want]
        assert got == want, c
    # something is carried, and the first period of every asset is empty
    assert 0 < out["label"].null_count() < out.height


def test_fama_french_june_formation_by_hand():
    # month ends: an asset present throughout, one entering in March 2021, one that
    # misses June 2021 (its value is then the last one before, from May), one leaving
    dates = [dt.date(2020, 5, 31), dt.date(2020, 6, 30), dt.date(2020, 7, 31)]
    dates += [dt.date(2021, m, 28) for m in range(1, 13)]
    rows = [("a", d, float(i)) for i, d in enumerate(dates)]
    rows += [("b", d, 100.0 + i) for i, d in enumerate(dates) if d >= dt.date(2021, 3, 1)]
    rows += [("c", d, 200.0 + i) for i, d in enumerate(dates) if d.month != 6]
    rows += [("d", d, 300.0 + i) for i, d in enumerate(dates) if d <= dt.date(2020, 6, 30)]
    df = pl.DataFrame(rows, schema=["asset", "date", "mcap"], orient="row")
    out = rebalance(df, "mcap", every="1y", month=6)
    got = dict(zip(zip(out["asset"], out["date"], strict=True), out["mcap"], strict=True))
    june_2020, june_2021 = 1.0, 8.0  # a's values on 2020-06-30 and 2021-06-28
    for d in dates:
        if d <= dt.date(2020, 6, 30):
            expected_a = None  # formed in June 2019: no rows
        elif d <= dt.date(2021, 6, 30):
            expected_a = june_2020
        else:
            expected_a = june_2021
        assert got["a", d] == expected_a, d
    # b entered in March 2021: nothing until July 2021, then its June 2021 value
    assert [got["b", d] for d in dates if d >= dt.date(2021, 3, 1)] == [None] * 4 + [108.0] * 6
    # c has no June 2021 row: from July 2021 it holds its May 2021 value
    assert got["c", dt.date(2021, 7, 28)] == 207.0
    assert got["c", dt.date(2020, 7, 31)] == 200.0  # its May 2020 value
    # d left after June 2020: nothing is carried to a row it does not have
    assert [got["d", d] for d in dates[:2]] == [None, None]


def test_a_gap_is_not_bridged():
    df = pl.DataFrame(
        {
            "date": [dt.date(2020, 1, 31), dt.date(2020, 3, 31), dt.date(2020, 4, 30)],
            "asset": ["a"] * 3,
            "x": [1.0, 3.0, 4.0],
        }
    )
    # March's previous month (February) has no row: null, not January's value
    assert rebalance(df, "x")["x"].to_list() == [None, None, 3.0]
    assert rebalance(df, "x", lag=2)["x"].to_list() == [None, 1.0, None]


def test_rows_in_any_order_null_keys_and_datetimes(rng):
    df = _panel(rng, step_days=3)
    ordered = rebalance(df.sort("date", "asset"), ["signal", "bucket"], every="1mo")
    shuffled = rebalance(df.lazy(), ["signal", "bucket"], every="1mo").collect(engine="streaming")
    assert shuffled.select("date", "asset").equals(df.select("date", "asset"))
    assert shuffled.sort("date", "asset").equals(ordered)
    # Datetime with a time zone: periods follow the local calendar date
    tz = df.with_columns(
        pl.col("date")
        .cast(pl.Datetime("us"))
        .dt.offset_by("23h")
        .dt.replace_time_zone("America/New_York")
    )
    out_tz = rebalance(tz, ["signal", "bucket"], every="1mo")
    assert out_tz.select("signal", "bucket").equals(
        rebalance(df, ["signal", "bucket"], every="1mo").select("signal", "bucket")
    )
    # a null date or asset gets null values
    with_nulls = pl.DataFrame(
        {
            "date": [dt.date(2020, 1, 31), dt.date(2020, 2, 29), None, dt.date(2020, 2, 29)],
            "asset": ["a", "a", "a", None],
            "x": [1.0, 2.0, 3.0, 4.0],
        }
    )
    out = rebalance(with_nulls, "x", check_keys=False)
    assert out["x"].to_list() == [None, 1.0, None, None]


def test_lazy_output_plan_streams():
    df = pl.DataFrame(
        {"date": [dt.date(2020, 1, 31), dt.date(2020, 2, 29)], "asset": ["a", "a"], "x": [1, 2]}
    )
    lf = rebalance(df.lazy(), "x")
    assert isinstance(lf, pl.LazyFrame)
    assert lf.collect(engine="streaming")["x"].to_list() == [None, 1]


# ------------------------------------------------------------------------- errors

_DF = pl.DataFrame(
    {
        "date": [dt.date(2020, 1, 31), dt.date(2020, 2, 29)],
        "asset": ["a", "a"],
        "x": [1.0, 2.0],
        "day": [1, 2],
    }
)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"every": "1h"}, ValueError, "unsupported every='1h'"),
        ({"every": "1y6mo"}, ValueError, "one calendar duration"),
        ({"every": "0mo"}, ValueError, "unsupported"),
        ({"every": 3}, TypeError, "duration string"),
        ({"every": "1mo", "month": 6}, ValueError, "tile the year"),
        ({"every": "5mo", "month": 6}, ValueError, "tile the year"),
        ({"every": "1w", "month": 6}, ValueError, "months or years"),
        ({"every": "1y", "month": 13}, ValueError, "from 1 to 12"),
        ({"every": "1y", "month": 0}, ValueError, "from 1 to 12"),
        ({"lag": 0}, ValueError, "look-ahead"),
        ({"lag": -1}, ValueError, "at least 1"),
        ({"lag": 1.0}, TypeError, "integer"),
        ({"lag": True}, TypeError, "integer"),
        ({"date": "day"}, SchemaError, "Date or Datetime"),
        ({"date": "when"}, ColumnNotFoundError, "panel key 'when'"),
    ],
)
def test_bad_arguments_raise_precise_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        rebalance(_DF.lazy(), "x", **kwargs)


def test_bad_columns_and_keys():
    with pytest.raises(ColumnNotFoundError, match="'y' not found"):
        rebalance(_DF, "y")
    with pytest.raises(ValueError, match="panel keys"):
        rebalance(_DF, ["x", "asset"])
    with pytest.raises(ValueError, match="at least one"):
        rebalance(_DF, [])
    with pytest.raises(SchemaError, match=r"str\.to_date"):
        rebalance(_DF.with_columns(pl.col("date").cast(pl.String)), "x")
    dup = pl.concat([_DF, _DF.tail(1)])
    with pytest.raises(DuplicateKeyError):
        rebalance(dup, "x")
    with pytest.raises(DuplicateKeyError):
        rebalance(dup.lazy(), "x", check_keys=True)
