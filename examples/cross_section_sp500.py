"""Daily Barra-style factor returns of the S&P 500 by WLS and Huber, from real data.

What it does
------------
1. Builds the panel of ``standardize_sp500.py`` (daily closes, GICS sectors, annual
   fundamentals joined point in time, 12-1 momentum), with one change: each
   (date, asset) row takes the latest fiscal year *that has a share count* (the file
   lacks it for half of the fiscal-2016 rows), so a stale but known share count is
   used rather than none. That keeps about 400 stocks in 2015-2018 instead of 306.
2. Adds daily close-to-close returns ``ret`` (null across an asset's gaps in the
   calendar, so a multi-day move is never read as a one-day return), the next day's
   return ``fwd_ret`` and ``vol`` = the standard deviation of the last
   ``VOL_WINDOW`` (63) daily returns.
3. Restricts the panel to the **estimation universe** (rows with a market cap and a
   sector) and standardizes ``size``, ``bp``, ``ey``, ``mom`` and ``vol`` there with
   :func:`polars_factors.standardize` (cap-weighted mean 0, equal-weighted std 1,
   winsorized); ``value`` is the re-standardized average of ``bp`` and ``ey``.
4. Regresses, for every date *t*, the return from the close of *t* to the close of the
   next trading day, r(t+1), on the exposures known at the close of *t*: the styles
   ``size``, ``value``, ``mom``, ``vol``, a ``country`` (market) factor and the 11 GICS
   sectors, with sqrt(market cap) regression weights and the Barra constraint
   (cap-weighted sector returns sum to zero). Exposures known at the start of the
   period, returns over the period: the factor returns are what a portfolio formed at
   the close of *t* earned, with no look-ahead. ``factor_returns["date"]`` is *t*,
   the formation date, not the day the return is realized.
   Once by weighted least squares, once by Huber's robust regression (IRLS), which
   down-weights the outliers that daily returns are full of (earnings days, the
   data's few unadjusted splits, e.g. DISCA -51% on 2014-08-07).
5. Prints, for both methods, the Fama-MacBeth table of the daily factor returns
   (mean and std in basis points per day, plain and Newey-West t-statistics), the
   status counts of the per-date fits, the distribution of the per-date R², and the
   wall time.

Stocks without a sector: the 31 tickers missing from ``securities.csv`` keep a null
sector and stay out of the universe (they would be counted in ``stats["n_excluded"]``
if they reached the regression). Labelling them "Unknown" would make an "industry"
factor of unrelated companies whose return is noise, and would bias the other sector
returns through the constraint. In this data it changes nothing anyway: none of those
tickers has fundamentals, hence no market cap, size or regression weight.

The panel stays a ``LazyFrame`` into :func:`polars_factors.cross_section`; the WLS
result is one lazy plan collected once (``res.collect()``), the Huber fit collects its
model columns at call time (each IRLS step needs the previous one).

How to run
----------
From the repository root::

    python examples/cross_section_sp500.py                  # data in ../shared/data
    python examples/cross_section_sp500.py --data-dir PATH  # or POLARS_FACTORS_DATA=PATH

It runs in a few seconds on two cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import polars as pl
from standardize_sp500 import (  # the sibling example (its folder is on sys.path)
    MIN_COUNT,
    build_panel,
    example_parser,
    find_data,
    reporting_losses,
    scan_fundamentals,
)

import polars_factors as pf

VOL_WINDOW = 63  # trading days: about three months
STYLES = ["size", "value", "mom", "vol"]
DESCRIPTORS = ["size", "bp", "ey", "mom", "vol"]
R2_QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95]


def build_universe(data_dir: Path) -> pl.LazyFrame:
    """Returns, forward returns, raw descriptors of the estimation universe; lazy."""
    # The latest fiscal year with a share count (a stale count beats no count).
    fundamentals = scan_fundamentals(data_dir).filter(pl.col("shares").is_not_null())
    panel = build_panel(data_dir, fundamentals)
    # Trading calendar: the previous trading date of every date of the file.
    calendar = panel.select(pl.col("date").unique().sort()).with_columns(
        pl.col("date").shift(1).alias("prev_trading_date")
    )
    close = pl.col("close")
    # The panel is sorted by date, so within an asset shift(1) is the previous row.
    prev_row = pl.col("date").shift(1).over("asset")
    ret = pl.when(prev_row == pl.col("prev_trading_date")).then(
        close / close.shift(1).over("asset") - 1.0
    )
    return (
        panel.join(calendar, on="date", how="left", maintain_order="left")
        .with_columns(ret.alias("ret"))
        .with_columns(
            # r(t+1): null when the next row is not the next trading day (ret is null then).
            pl.col("ret").shift(-1).over("asset").alias("fwd_ret"),
            pl.col("ret").rolling_std(VOL_WINDOW).over("asset").alias("vol"),
        )
        .filter(pl.col("mcap").is_not_null() & pl.col("sector").is_not_null())
        .with_columns(pl.col("mcap").sqrt().alias("sqrt_mcap"))
    )


def standardize_universe(universe: pl.LazyFrame) -> pl.LazyFrame:
    """USE4 standardization and the value style, on the dates that can be regressed."""
    # check_keys=True: on a LazyFrame the duplicate-key check runs only when asked.
    exposures = universe.factors.standardize(
        DESCRIPTORS, weights="mcap", std_weights="equal", min_count=MIN_COUNT, check_keys=True
    )
    exposures = exposures.factors.combine({"value": ["bp", "ey"]}, weights="mcap", check_keys=False)
    # A date can be regressed when it has momentum (a year of history) and a next day.
    regressable = pl.col("mom").is_not_null().any() & pl.col("fwd_ret").is_not_null().any()
    return exposures.filter(regressable.over("date")).select(
        "date", "asset", "sector", "mcap", "sqrt_mcap", "fwd_ret", *STYLES
    )


def fit(panel: pl.LazyFrame, method: str) -> tuple[pf.CrossSectionResult, float]:
    """Cross-sectional regressions of every date, collected, and their wall time."""
    start = time.perf_counter()
    with reporting_losses():  # the collect runs the standardization plan too
        res = panel.factors.cross_section(
            "fwd_ret",
            STYLES,
            industry="sector",
            country=True,
            weights="sqrt_mcap",
            constraint_weights="mcap",
            method=method,
            check_keys=False,  # standardize() already checked that (date, asset) is unique
        ).collect()
    return res, time.perf_counter() - start


def fama_macbeth_table(res: pf.CrossSectionResult) -> pl.DataFrame:
    """Fama-MacBeth table, mean and std in basis points per day."""
    return pf.fama_macbeth(res.factor_returns).select(
        "factor",
        (pl.col("mean") * 1e4).alias("mean_bp"),
        (pl.col("std") * 1e4).alias("std_bp"),
        "t_stat",
        "nw_t_stat",
        "n_periods",
    )


def per_date_stats(results: dict[str, pf.CrossSectionResult]) -> pl.DataFrame:
    """The per-date statistics of all methods, with a ``method`` column."""
    return pl.concat(
        [res.stats.select(pl.lit(m).alias("method"), pl.all()) for m, res in results.items()]
    )


def status_table(stats: pl.DataFrame) -> pl.DataFrame:
    """Per method: dates per status, median stocks per fit and mean IRLS iterations."""
    counts = (
        stats.group_by("method", "status", maintain_order=True)
        .len()
        .pivot("status", index="method", values="len")
        .fill_null(0)
    )
    sizes = stats.group_by("method", maintain_order=True).agg(
        pl.len().alias("dates"),
        pl.col("n_assets").median().cast(pl.Int64).alias("median_assets"),
        pl.col("n_excluded").sum().alias("rows_excluded"),
        pl.col("iterations").mean().alias("mean_iterations"),
    )
    return sizes.join(counts, on="method", maintain_order="left")


def r2_table(stats: pl.DataFrame) -> pl.DataFrame:
    """Per method: quantiles and mean of the per-date (weighted) R²."""
    r2 = pl.col("r2")
    return stats.group_by("method", maintain_order=True).agg(
        *[r2.quantile(q).alias(f"q{round(q * 100):02d}") for q in R2_QUANTILES],
        r2.mean().alias("mean"),
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = example_parser(__doc__, holds="sp500_5yr/ and nyse_kaggle/")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data_dir = find_data(args.data_dir)
    if data_dir is None:
        return 2

    start = time.perf_counter()
    panel = standardize_universe(build_universe(data_dir))
    results: dict[str, pf.CrossSectionResult] = {}
    times: dict[str, float] = {}
    for method in ("wls", "huber"):
        results[method], times[method] = fit(panel, method)
    elapsed = time.perf_counter() - start

    first, last = results["wls"].stats["date"].min(), results["wls"].stats["date"].max()
    print(f"Daily cross-sectional regressions of S&P 500 stocks ({data_dir}), {first} .. {last}:")
    print(
        "r(t+1) on exposures at t: size, value, mom, vol (standardized), country, 11 GICS sectors;"
    )
    print("weights sqrt(cap), cap-weighted sector constraint.")
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_hide_dataframe_shape=True, float_precision=3):
        for method, res in results.items():
            print(f"\nFama-MacBeth, {method} (mean and std in bp per day):")
            print(fama_macbeth_table(res))
        stats = per_date_stats(results)
        print("\nPer-date fits: dates by status (max_iter: Huber IRLS not converged, values kept):")
        print(status_table(stats))
        print("\nPer-date R² (weighted), quantiles over dates:")
        print(r2_table(stats))
    print(f"wall time: {elapsed:.2f} s (wls {times['wls']:.2f} s, huber {times['huber']:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
