"""Write the yfinance.download fixtures from the real prices in ../shared/data.

Run once from the repository root: ``python tests/data/make_yfinance_fixtures.py``.
The files mirror what ``yfinance.download`` returns for AAPL, AMZN and JPM from
2018-01-25 to 2018-02-07 (its ``end`` is exclusive, so end="2018-02-08"):

- ``yfinance_multi.csv``: ``auto_adjust=False`` with several tickers: MultiIndex
  columns ``(Price, Ticker)`` named ``["Price", "Ticker"]``, fields in yfinance's order
  (Adj Close, Close, High, Low, Open, Volume), tickers sorted; plus ``XYZQ``, a ticker
  that failed to download, whose columns are all NaN (what yfinance does).
- ``yfinance_single.csv``: one ticker (AAPL) with flat columns Open, High, Low,
  Close, Adj Close, Volume (yfinance < 0.2.48, or ``multi_level_index=False``).

Open/high/low/close/volume come from the Kaggle S&P 500 panel, the adjusted close
from PyPortfolioOpt's adjusted prices. Read them back with
``pd.read_csv(path, header=[0, 1], index_col=0, parse_dates=True)`` (multi) or
``pd.read_csv(path, index_col=0, parse_dates=True)`` (single).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1].parent / "shared" / "data"
TICKERS = ["AAPL", "AMZN", "JPM"]
START, END = "2018-01-25", "2018-02-07"
FIELDS = {"open": "Open", "high": "High", "low": "Low", "close": "Close", "volume": "Volume"}


def main() -> None:
    prices = pd.read_parquet(DATA / "sp500_5yr" / "prices.parquet")
    prices = prices[prices["Name"].isin(TICKERS)]
    prices["date"] = pd.to_datetime(prices["date"])
    prices = prices[(prices["date"] >= START) & (prices["date"] <= END)]
    adj = pd.read_csv(DATA / "pyportfolioopt" / "stock_prices.csv", index_col=0, parse_dates=True)
    frames = {}
    for field, name in FIELDS.items():
        frames[name] = prices.pivot(index="date", columns="Name", values=field)[TICKERS]
    frames["Adj Close"] = adj.loc[frames["Close"].index, TICKERS].round(6)
    order = ["Adj Close", "Close", "High", "Low", "Open", "Volume"]
    multi = pd.concat({f: frames[f] for f in order}, axis=1, names=["Price", "Ticker"])
    for f in order:
        multi[(f, "XYZQ")] = float("nan")
    multi = multi[[(f, t) for f in order for t in [*TICKERS, "XYZQ"]]]
    multi.index.name = "Date"
    multi.to_csv(HERE / "yfinance_multi.csv")
    single = pd.DataFrame(
        {f: multi[(f, "AAPL")] for f in ["Open", "High", "Low", "Close", "Adj Close", "Volume"]}
    )
    single.index.name = "Date"
    single.to_csv(HERE / "yfinance_single.csv")


if __name__ == "__main__":
    main()
