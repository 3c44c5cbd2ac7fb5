"""Fama-French SMB and HML on the S&P 500, compared with the Fama-French data library.

What it does
------------
1. Builds a **monthly** panel from five years of daily S&P 500 prices
   (``sp500_5yr/prices.parquet``) and annual fundamentals
   (``nyse_kaggle/fundamentals.csv``), reusing the point-in-time join of
   ``standardize_sp500.py``: each month-end row has the stock's close, its market
   cap ``mcap`` = close x shares outstanding of the last fiscal year already public
   (90 days after the fiscal year end), its book-to-market ``bm`` = total equity /
   market cap, and the month's return ``ret`` (close over the previous month-end's
   close; null after a missing month).
2. Forms the Fama-French portfolios with :func:`polars_factors.portfolio.fama_french`:
   at the end of each June, size at the median and book-to-market at the 30th and
   70th percentiles (of all the S&P 500 stocks here: there is no exchange column for
   NYSE breakpoints), six portfolios held July to June, value-weighted by the previous
   month's market cap; SMB and HML from them. One difference from Fama and French:
   book-to-market uses the current market cap, not December's.
3. Compares the monthly SMB and HML of 2014-2017 with the Fama-French research
   factors (``fama_french/F-F_Research_Data_Factors.CSV``): correlation, annualized
   tracking error, mean returns. **A large-cap universe makes SMB weak**: every S&P 500
   stock is "big" by Fama-French standards (their size breakpoint is the NYSE median,
   a few billion dollars), so our small-minus-big is a mid-cap-minus-mega-cap spread
   and tracks the real SMB only loosely. HML, a spread within both size groups, holds
   up better.
4. Reproduces the Quantopian lecture's simpler variant: each month, the top and bottom
   thirds by market cap and by book-to-price (the previous month-end's values),
   equal-weighted; SMB = bottom - top third by cap, HML = top - bottom third by
   book-to-price.
5. Regresses an equal-weighted tech portfolio (AAPL, MSFT, GOOGL, FB, ...) in excess of
   the risk-free rate on the Fama-French market factor and our SMB and HML
   (:func:`polars_factors.betas`), 2014-2017.

How to run
----------
From the repository root::

    python examples/fama_french_sp500.py                  # data in ../shared/data
    python examples/fama_french_sp500.py --data-dir PATH  # or POLARS_FACTORS_DATA=PATH

It runs in a few seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import polars as pl
from standardize_sp500 import build_panel, example_parser, find_data  # the sibling example

import polars_factors as pf
from polars_factors.io import read_fama_french

FF_MONTHLY = Path("fama_french") / "F-F_Research_Data_Factors.CSV"
NEEDED = [
    Path("sp500_5yr") / "prices.parquet",
    Path("nyse_kaggle") / "fundamentals.csv",
    Path("nyse_kaggle") / "securities.csv",
    FF_MONTHLY,
]
TECH = ["AAPL", "MSFT", "GOOGL", "FB", "INTC", "CSCO", "ORCL", "IBM", "NVDA", "ADBE"]
START, END = 2014, 2017


def monthly_panel(data_dir: Path) -> pl.LazyFrame:
    """One row per (month-end, asset): close, mcap, bm and the month's return."""
    month = pl.col("date").dt.truncate("1mo")
    monthly = (
        build_panel(data_dir)
        .select("date", "asset", "close", "mcap", pl.col("bp").alias("bm"))
        .with_columns(month.alias("month"))
        .group_by("asset", "month")
        .agg(pl.all().sort_by("date").last())
        .sort("asset", "month")
    )
    consecutive = pl.col("month").dt.offset_by("-1mo") == pl.col("month").shift(1).over("asset")
    ret = pl.col("close") / pl.col("close").shift(1).over("asset") - 1.0
    return (
        monthly.with_columns(pl.when(consecutive).then(ret).alias("ret"))
        .drop("month")
        .sort("date", "asset")
    )


def lecture_factors(panel: pl.LazyFrame) -> pl.LazyFrame:
    """Top and bottom thirds by cap and by book-to-price, last month's values, equal weights."""
    formed = panel.factors.rebalance(["mcap", "bm"], every="1mo", lag=1)
    size = formed.factors.long_short("mcap", n=3).select(
        "date", (pl.col("short") - pl.col("long")).alias("SMB_lecture")
    )
    value = formed.factors.long_short("bm", n=3).select(
        "date", pl.col("long_short").alias("HML_lecture")
    )
    return size.join(value, on="date", how="full", coalesce=True)


def month_key(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Key monthly rows by calendar month (our last trading day vs French's month end)."""
    return frame.with_columns(pl.col("date").dt.month_end())


def comparison(ours: pl.DataFrame, theirs: pl.DataFrame) -> pl.DataFrame:
    """Correlation, tracking error and means of our factors against French's."""
    both = ours.join(theirs, on="date", how="inner", suffix="_ff")
    rows = []
    for ours_col, ff_col in [
        ("SMB", "SMB_ff"),
        ("HML", "HML_ff"),
        ("SMB_lecture", "SMB_ff"),
        ("HML_lecture", "HML_ff"),
    ]:
        pair = both.select(ours_col, ff_col).drop_nulls()
        diff = pair[ours_col] - pair[ff_col]
        rows.append(
            {
                "factor": ours_col,
                "months": pair.height,
                "corr_with_ff": pair.select(pl.corr(ours_col, ff_col)).item(),
                "tracking_error_ann": float(diff.std() or 0.0) * 12**0.5,
                "mean_ours_ann": float(pair[ours_col].mean() or 0.0) * 12,
                "mean_ff_ann": float(pair[ff_col].mean() or 0.0) * 12,
            }
        )
    return pl.DataFrame(rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = example_parser(__doc__, holds="sp500_5yr/, nyse_kaggle/ and fama_french/")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data_dir = find_data(args.data_dir, NEEDED)
    if data_dir is None:
        return 2

    start = time.perf_counter()
    panel = monthly_panel(data_dir).collect().lazy()
    ff_style = pf.portfolio.fama_french(panel, size="mcap", book_to_market="bm", returns="ret")
    factors = (
        month_key(ff_style.join(lecture_factors(panel), on="date", how="left"))
        .filter(pl.col("date").dt.year().is_between(START, END))
        .collect()
    )
    french = read_fama_french(data_dir / FF_MONTHLY).filter(
        pl.col("date").dt.year().is_between(START, END)
    )
    table = comparison(factors, french)

    tech = (
        panel.filter(pl.col("asset").is_in(TECH))
        .group_by("date")
        .agg(pl.col("ret").mean().alias("tech"))
        .pipe(month_key)
        .join(factors.lazy(), on="date", how="inner")
        .join(french.lazy().select("date", "Mkt-RF", "RF"), on="date", how="inner")
        .with_columns((pl.col("tech") - pl.col("RF")).alias("tech_excess"), asset=pl.lit("tech"))
        .sort("date")
    )
    fit = tech.factors.betas("tech_excess", ["Mkt-RF", "SMB", "HML"]).collect()
    elapsed = time.perf_counter() - start

    with pl.Config(tbl_rows=20, tbl_cols=12, float_precision=4, tbl_width_chars=140):
        print(f"Fama-French style factors from the S&P 500, monthly, {START}-{END}")
        print(table)
        print(
            "\nSMB is weak here: all S&P 500 stocks are big by Fama-French standards, so "
            "our 'small' half is mid caps."
        )
        print(f"\nEqual-weighted tech portfolio ({', '.join(TECH)}) minus RF:")
        print(
            fit.select(
                "n_obs",
                "alpha",
                "beta_Mkt-RF",
                "beta_SMB",
                "beta_HML",
                "beta_Mkt-RF_t_stat",
                "beta_SMB_t_stat",
                "beta_HML_t_stat",
                "r2",
            )
        )
    print(f"\n{elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
