"""Build the sample data shipped in ``polars_factors/datasets/data`` from ``../shared/data``.

Run from the repository root (``python scripts/make_datasets.py [--data-dir PATH]``).
The output is deterministic: the same input files give byte-identical parquet files.

What is kept
------------
- ``sp500_prices.parquet``: the daily OHLCV rows of the 505 tickers of
  ``sp500_5yr/prices.parquet`` from 2015-02-09 to 2018-02-07 (the last three years),
  values unchanged, sorted by (asset, date).
- ``sp500_securities.parquet``: ticker, company, GICS sector and sub-industry from
  ``nyse_kaggle/securities.csv`` (31 tickers of the price panel have no row there).
- ``sp500_fundamentals.parquet``: from ``nyse_kaggle/fundamentals.csv``, per ticker and
  fiscal period end: shares outstanding ("Estimated Shares Outstanding", non-positive
  values set to null), book equity ("Total Equity"), net income and sales ("Total
  Revenue"), for the tickers of the price panel.
- ``ff{3,5}_{daily,monthly}.parquet``: the first table of the Fama-French research
  factor files (3 factors, 5 factors 2x3), in decimals, daily rows from 2000 on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

from polars_factors.io import read_fama_french

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "polars_factors" / "datasets" / "data"
START = pl.date(2015, 2, 9)
DAILY_FROM = pl.date(2000, 1, 1)

FF_FILES = {
    "ff3_daily": "F-F_Research_Data_Factors_daily.CSV",
    "ff3_monthly": "F-F_Research_Data_Factors.CSV",
    "ff5_daily": "F-F_Research_Data_5_Factors_2x3_daily.CSV",
    "ff5_monthly": "F-F_Research_Data_5_Factors_2x3.csv",
}


def write(frame: pl.DataFrame, name: str) -> None:
    path = OUT / f"{name}.parquet"
    frame.write_parquet(path, compression="zstd", compression_level=22, statistics=False)
    print(f"{path.relative_to(ROOT)}: {frame.height:,} rows, {path.stat().st_size / 1e6:.2f} MB")


def find(folder: Path, name: str) -> Path:
    """A file of ``folder`` by case-insensitive name (the FF files mix .CSV and .csv)."""
    for path in folder.iterdir():
        if path.name.lower() == name.lower():
            return path
    msg = f"{name} not found in {folder}"
    raise FileNotFoundError(msg)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    data = parser.parse_args(argv).data_dir
    OUT.mkdir(parents=True, exist_ok=True)

    prices = (
        pl.read_parquet(data / "sp500_5yr" / "prices.parquet")
        .rename({"Name": "asset"})
        .filter(pl.col("date") >= START)
        .select("asset", "date", "open", "high", "low", "close", "volume")
        .sort("asset", "date")
    )
    write(prices, "sp500_prices")
    tickers = prices.select(pl.col("asset").unique())

    securities = (
        pl.read_csv(data / "nyse_kaggle" / "securities.csv")
        .select(
            pl.col("Ticker symbol").alias("asset"),
            pl.col("Security").alias("company"),
            pl.col("GICS Sector").alias("sector"),
            pl.col("GICS Sub Industry").alias("industry"),
        )
        .join(tickers, on="asset", how="semi")
        .sort("asset")
    )
    write(securities, "sp500_securities")

    shares = pl.col("Estimated Shares Outstanding").cast(pl.Float64)
    fundamentals = (
        pl.read_csv(data / "nyse_kaggle" / "fundamentals.csv", infer_schema_length=0)
        .select(
            pl.col("Ticker Symbol").alias("asset"),
            pl.col("Period Ending").str.to_date("%d-%b-%y").alias("period_end"),
            pl.when(shares > 0).then(shares).alias("shares_outstanding"),
            pl.col("Total Equity").cast(pl.Float64).alias("book_equity"),
            pl.col("Net Income").cast(pl.Float64).alias("net_income"),
            pl.col("Total Revenue").cast(pl.Float64).alias("sales"),
        )
        .join(tickers, on="asset", how="semi")
        .sort("asset", "period_end")
    )
    write(fundamentals, "sp500_fundamentals")

    for name, file in FF_FILES.items():
        factors = read_fama_french(find(data / "fama_french", file))
        if name.endswith("daily"):
            factors = factors.filter(pl.col("date") >= DAILY_FROM)
        write(factors, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
