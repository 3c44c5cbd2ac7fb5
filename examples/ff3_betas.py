"""Fama-French three-factor betas of every S&P 500 stock, full sample and rolling, from real data.

What it does
------------
1. Reads five years of daily closes of the 505 S&P 500 stocks
   (``sp500_5yr/prices.parquet``) and the daily Fama-French factors
   (``fama_french/F-F_Research_Data_Factors_daily.CSV``) with
   :func:`polars_factors.io.read_fama_french` (decimals, one row per trading day),
   renamed to ``mkt`` (Mkt-RF), ``smb``, ``hml`` and ``rf``: the default factor names
   of :func:`polars_factors.betas`.
2. Computes each stock's daily simple return, null across a gap in its dates (so a
   multi-day move is never read as a one-day return), and its **excess return**
   ``ret - rf``, the left-hand side of the Fama-French model; the factors are joined by
   date with :func:`polars_factors.join_factors` (same rows, same order).
3. Regresses every stock's excess return on ``mkt``, ``smb`` and ``hml`` with an
   intercept with :func:`polars_factors.betas`, once over the full sample (one row per
   stock) and once over rolling 252-day windows (one row per stock and day; the first
   251 rows of a stock have no estimate, as in statsmodels ``RollingOLS``).
4. Prints the cross-sectional distribution of the full-sample betas and R², the
   betas of a few well-known stocks (with their last rolling beta), how many rolling
   windows were fitted, and the cross-section of the rolling market beta at each
   year end (and on the last day of the data).

The data's few unadjusted splits (e.g. DISCA/DISCK -51% on 2014-08-07) are single
large returns: they stay in (this is an illustration, not a cleaned study) and mostly
lower those stocks' R². Survivorship bias: all stocks are 2018 index members.

How to run
----------
From the repository root::

    python examples/ff3_betas.py                  # data in ../shared/data
    python examples/ff3_betas.py --data-dir PATH  # or POLARS_FACTORS_DATA=PATH

It runs in a few seconds on two cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import polars as pl
from factor_exposures import FILES, daily_returns, read_ff_daily  # sibling example
from standardize_sp500 import example_parser, find_data, scan_prices

import polars_factors as pf

WINDOW = 252  # trading days: one year
FACTORS = ["mkt", "smb", "hml"]
RENAME = {"Mkt-RF": "mkt", "SMB": "smb", "HML": "hml", "RF": "rf"}
TICKERS = ["AAPL", "MSFT", "AMZN", "GOOGL", "JPM", "BRK.B", "XOM", "JNJ", "KO", "NVDA", "NFLX"]
QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95]


def excess_returns(data_dir: Path) -> pl.LazyFrame:
    """Daily excess returns of every stock with the three factors joined; lazy."""
    ff = read_ff_daily(data_dir).rename(RENAME)
    panel = daily_returns(scan_prices(data_dir))
    panel = pf.join_factors(panel, ff)
    return panel.select("date", "asset", (pl.col("ret") - pl.col("rf")).alias("excess"), *FACTORS)


def distribution(full: pl.DataFrame) -> pl.DataFrame:
    """Quantiles and mean across stocks of the full-sample betas, alpha and R²."""
    columns = {
        "alpha (bp/day)": pl.col("alpha") * 1e4,
        **{f"beta_{f}": pl.col(f"beta_{f}") for f in FACTORS},
        "r2": pl.col("r2"),
    }
    rows = []
    for name, expr in columns.items():
        values = full.select(expr).to_series().drop_nulls()
        rows.append(
            {
                "": name,
                **{f"q{round(q * 100):02d}": values.quantile(q) for q in QUANTILES},
                "mean": values.mean(),
            }
        )
    return pl.DataFrame(rows)


def well_known(full: pl.DataFrame, rolling: pl.DataFrame) -> pl.DataFrame:
    """The full-sample fit of a few tickers, with their last rolling market beta."""
    last = (
        rolling.filter(pl.col("beta_mkt").is_not_null())
        .group_by("asset")
        .agg(pl.col("beta_mkt").sort_by("date").last().alias("beta_mkt_last_252d"))
    )
    order = pl.DataFrame({"asset": TICKERS})
    return (
        order.join(full, on="asset", how="inner", maintain_order="left")
        .join(last, on="asset", how="left", maintain_order="left")
        .select(
            "asset",
            "n_obs",
            (pl.col("alpha") * 1e4).alias("alpha_bp"),
            pl.col("alpha_t_stat").alias("t_alpha"),
            *(pl.col(f"beta_{f}").alias(f"b_{f}") for f in FACTORS),
            pl.col("beta_mkt_t_stat").alias("t_mkt"),
            "r2",
            pl.col("beta_mkt_last_252d").alias("b_mkt_last"),
        )
    )


def year_ends(rolling: pl.DataFrame) -> pl.DataFrame:
    """Cross-section of the rolling market beta on the last fitted day of each year."""
    fitted = rolling.filter(pl.col("beta_mkt").is_not_null())
    ends = fitted.group_by(pl.col("date").dt.year().alias("year")).agg(pl.col("date").max())
    beta = pl.col("beta_mkt")
    return (
        fitted.filter(pl.col("date").is_in(ends["date"].implode()))
        .group_by("date")
        .agg(
            pl.len().alias("stocks"),
            *[beta.quantile(q).alias(f"q{round(q * 100):02d}") for q in (0.1, 0.5, 0.9)],
            pl.col("r2").median().alias("median_r2"),
        )
        .sort("date")
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = example_parser(__doc__, holds="sp500_5yr/ and fama_french/")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data_dir = find_data(args.data_dir, FILES)
    if data_dir is None:
        return 2

    start = time.perf_counter()
    panel = excess_returns(data_dir).collect()
    full = pf.betas(panel, "excess", FACTORS)
    rolling = pf.betas(panel, "excess", FACTORS, window=WINDOW)
    elapsed = time.perf_counter() - start

    first, last = panel["date"].min(), panel["date"].max()
    n_stocks = panel["asset"].n_unique()
    print(
        f"Fama-French 3-factor betas of {n_stocks} S&P 500 stocks, daily excess returns, "
        f"{first} .. {last} ({data_dir})."
    )
    print(
        f"{panel.height:,} stock-days; {panel['excess'].null_count():,} without a return "
        "(first day, gaps); alpha in bp per day."
    )
    fitted = full.filter(pl.col("beta_mkt").is_not_null()).height
    print(f"\nFull sample: {fitted} stocks fitted; distribution across stocks:")
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_hide_dataframe_shape=True, float_precision=3):
        print(distribution(full))
        print(
            "\nA few well-known stocks, full sample (b_ = beta, t_ = t-statistic; "
            f"b_mkt_last: the latest {WINDOW}-day window):"
        )
        print(well_known(full, rolling))
        n_windows = rolling["beta_mkt"].is_not_null().sum()
        n_rolled = rolling.filter(pl.col("beta_mkt").is_not_null())["asset"].n_unique()
        print(
            f"\nRolling {WINDOW}-day fits: {n_windows:,} windows of {n_rolled} stocks "
            f"(out of {rolling.height:,} stock-days; the first {WINDOW - 1} days of each "
            "stock have none)."
        )
        print("Cross-section of the rolling market beta at each year end (and the last day):")
        print(year_ends(rolling))
    print(f"wall time: {elapsed:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
