"""read_yfinance / from_yfinance offline: a fake ``yfinance`` module serves recorded frames.

The fixtures in tests/data mirror what ``yfinance.download`` returns (see
tests/data/make_yfinance_fixtures.py); the oracle is the csv module's reading of
their raw text. No test touches the network: ``yfinance`` in ``sys.modules`` is
always the fake (or None, for the missing-dependency test).
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
import types
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from polars_factors.exceptions import (
    DataLossWarning,
    FileFormatError,
    InsufficientDataError,
    MissingDependencyError,
)
from polars_factors.io import from_yfinance, read_yfinance
from tests.conftest import DATA_DIR

HERE = Path(__file__).resolve().parents[1] / "data"
TICKERS = ["AAPL", "AMZN", "JPM"]
COLUMNS = ["date", "asset", "open", "high", "low", "close", "adj_close", "volume"]


def multi() -> pd.DataFrame:
    return pd.read_csv(HERE / "yfinance_multi.csv", header=[0, 1], index_col=0, parse_dates=True)


def single() -> pd.DataFrame:
    return pd.read_csv(HERE / "yfinance_single.csv", index_col=0, parse_dates=True)


def raw_rows() -> list[tuple]:
    """Oracle: (date, ticker, open, high, low, close, adj close, volume) from the raw CSV."""
    with (HERE / "yfinance_multi.csv").open(newline="") as fh:
        fields, tickers, _, *rows = list(csv.reader(fh))
    out = []
    for ticker in TICKERS:
        for row in rows:
            cell = {
                f: row[j]
                for j, (f, t) in enumerate(zip(fields, tickers, strict=True))
                if t == ticker
            }
            day = dt.date.fromisoformat(row[0])
            prices = [float(cell[f]) for f in ("Open", "High", "Low", "Close", "Adj Close")]
            out.append((day, ticker, *prices, int(cell["Volume"])))
    return out


@pytest.fixture
def fake_yfinance(monkeypatch):
    """A fake yfinance whose download returns ``fake.result`` and records its calls."""
    fake = types.ModuleType("yfinance")
    fake.calls = []
    fake.result = multi()

    def download(tickers, **kwargs):
        fake.calls.append((tickers, kwargs))
        return fake.result

    fake.download = download
    monkeypatch.setitem(sys.modules, "yfinance", fake)
    return fake


# --------------------------------------------------------------------- layouts


def test_multi_ticker_against_raw_text(fake_yfinance):
    with pytest.warns(DataLossWarning, match=r"no prices for \['XYZQ'\]"):
        out = read_yfinance([*TICKERS, "XYZQ"], start="2018-01-25", end="2018-02-08")
    assert out.columns == COLUMNS
    assert out.schema["date"] == pl.Date
    assert out.schema["volume"] == pl.Int64
    assert out.rows() == raw_rows()
    assert out.height == 30


def test_download_arguments(fake_yfinance):
    fake_yfinance.result = multi().drop(columns="XYZQ", level=1)
    read_yfinance(TICKERS, start=dt.date(2018, 1, 25), end="2018-02-08", auto_adjust=False)
    read_yfinance(
        "AAPL", start="2018-01-25", interval="1wk", download_options={"progress": True, "x": 1}
    )
    (t1, kw1), (t2, kw2) = fake_yfinance.calls
    assert t1 == TICKERS
    assert kw1 == {
        "start": dt.date(2018, 1, 25),
        "end": "2018-02-08",
        "interval": "1d",
        "auto_adjust": False,
        "progress": False,
    }
    assert t2 == "AAPL"
    assert kw2["progress"] is True
    assert kw2["x"] == 1
    assert kw2["interval"] == "1wk"
    assert kw2["auto_adjust"] is True
    assert kw2["end"] is None


def test_group_by_ticker_layout_is_the_same():
    frame = multi().drop(columns="XYZQ", level=1)
    swapped = frame.swaplevel(axis=1).sort_index(axis=1)
    swapped.columns.names = ["Ticker", "Price"]
    assert_frame_equal(from_yfinance(swapped), from_yfinance(frame))


def test_single_ticker_layouts():
    expected = pl.DataFrame([r for r in raw_rows() if r[1] == "AAPL"], schema=COLUMNS, orient="row")
    # Old yfinance (or multi_level_index=False): flat columns.
    assert_frame_equal(from_yfinance(single(), tickers="AAPL"), expected)
    # New yfinance: (Price, Ticker) columns even for one ticker.
    one = multi().xs("AAPL", axis=1, level=1, drop_level=False)
    assert_frame_equal(from_yfinance(one), expected)
    assert_frame_equal(from_yfinance(one, tickers=["AAPL"]), expected)


def test_auto_adjust_has_no_adj_close():
    frame = multi().drop(columns="Adj Close", level=0).drop(columns="XYZQ", level=1)
    out = from_yfinance(frame)
    assert out.columns == ["date", "asset", "open", "high", "low", "close", "volume"]
    assert out.rows() == [r[:6] + r[7:] for r in raw_rows()]


def test_gaps_actions_and_intraday():
    frame = multi().drop(columns="XYZQ", level=1)
    frame.loc[frame.index[:2], pd.IndexSlice[:, "JPM"]] = float("nan")  # listed later
    for ticker in TICKERS:
        frame[("Dividends", ticker)] = 0.0
        frame[("Stock Splits", ticker)] = 0.0
    frame.loc[frame.index[3], ("Dividends", "AAPL")] = 0.63
    out = from_yfinance(frame)
    assert out.columns == [*COLUMNS, "dividends", "stock_splits"]
    assert out.filter(pl.col("asset") == "JPM")["date"][0] == dt.date(2018, 1, 29)
    assert out.height == 28
    assert out["dividends"].sum() == 0.63
    hourly = frame.set_axis(frame.index.tz_localize("America/New_York") + pd.Timedelta("9h30min"))
    timed = from_yfinance(hourly, daily=False)
    assert timed.schema["date"] == pl.Datetime("us", "America/New_York")
    first = timed["date"][0]
    assert (first.date(), first.hour, first.minute) == (dt.date(2018, 1, 25), 9, 30)
    assert timed.drop("date").equals(out.drop("date"))


@pytest.mark.skipif(not DATA_DIR.exists(), reason=f"real data not found at {DATA_DIR}")
def test_fixture_matches_the_real_prices():
    prices = (
        pl.read_parquet(DATA_DIR / "sp500_5yr" / "prices.parquet")
        .filter(pl.col("Name").is_in(TICKERS))
        .filter(pl.col("date").is_between(dt.date(2018, 1, 25), dt.date(2018, 2, 7)))
        .select("date", pl.col("Name").alias("asset"), "open", "high", "low", "close", "volume")
        .sort("asset", "date")
    )
    out = from_yfinance(multi().drop(columns="XYZQ", level=1)).drop("adj_close")
    assert_frame_equal(out, prices, check_dtypes=False)


# ---------------------------------------------------------------------- errors


def test_missing_yfinance(monkeypatch):
    monkeypatch.setitem(sys.modules, "yfinance", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'polars_factors\[yfinance\]'"):
        read_yfinance("AAPL", start="2024-01-01")


@pytest.mark.parametrize("tickers", [[], "", ["AAPL", ""], [3]])
def test_bad_tickers(fake_yfinance, tickers):
    with pytest.raises(ValueError, match="tickers must be a ticker or a non-empty list"):
        read_yfinance(tickers, start="2024-01-01")
    assert not fake_yfinance.calls


def test_nothing_downloaded(fake_yfinance):
    fake_yfinance.result = pd.DataFrame()
    with pytest.raises(InsufficientDataError, match=r"no prices for \['NOPE'\]"):
        read_yfinance("NOPE", start="2024-01-01")
    fake_yfinance.result = multi().xs("XYZQ", axis=1, level=1, drop_level=False)
    with pytest.raises(InsufficientDataError, match=r"no prices for \['XYZQ'\]"):
        read_yfinance("XYZQ", start="2024-01-01")


def test_layout_errors():
    with pytest.raises(FileFormatError, match=r"flat columns .* pass tickers=<that ticker>"):
        from_yfinance(single())
    with pytest.raises(FileFormatError, match="flat columns"):
        from_yfinance(single(), tickers=["AAPL", "MSFT"])
    with pytest.raises(FileFormatError, match=r"columns \['Price'\] are not yfinance fields"):
        from_yfinance(single().rename(columns={"Close": "Price"}), tickers="AAPL")
    odd = multi().set_axis(pd.MultiIndex.from_product([["a", "b"], ["c"] * 12]), axis=1)
    with pytest.raises(FileFormatError, match="neither column level holds yfinance fields"):
        from_yfinance(odd)
    with pytest.raises(FileFormatError, match="expected the pandas DataFrame"):
        from_yfinance({"Close": [1.0]})
