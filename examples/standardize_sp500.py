"""Barra-style standardized exposures for the S&P 500, from real data, as one lazy plan.

What it does
------------
1. Reads five years of daily S&P 500 prices (``sp500_5yr/prices.parquet``), the GICS
   sector of each ticker (``nyse_kaggle/securities.csv``; the 31 tickers without a row
   keep a null sector) and annual fundamentals (``nyse_kaggle/fundamentals.csv``).
2. Joins the fundamentals **point in time**: a fiscal year is assumed public
   ``REPORTING_LAG_DAYS`` (90) days after its period end, and each (date, asset) row
   gets the latest fiscal year already public on that date (``join_asof``, backward).
   Nothing from the future leaks in.
3. Builds four descriptors per (date, asset):

   - ``size`` = log(close x shares outstanding of the last public fiscal year);
   - ``bp``   = total equity / market cap (book-to-price);
   - ``ey``   = net income / market cap (earnings yield);
   - ``mom``  = close 21 trading days ago / close 252 trading days ago - 1 (12-1 momentum).

   Non-positive or missing share counts give a null market cap (hence null size, bp,
   ey). The file lacks the share count of about half of the fiscal-2016 rows (it is
   Net Income / EPS, and EPS is missing), so in late 2017 only about 300 of the 505
   stocks have size and value exposures; momentum needs prices only.
4. Standardizes them the Barra USE4 way (cap-weighted mean 0, equal-weighted std 1,
   winsorized, null on dates with fewer than 25 usable stocks), averages ``bp`` and
   ``ey`` into a re-standardized ``value`` style, and fills missing ``value`` exposures
   with the same day's sector median (``value_filled``; not re-standardized, so its
   std is below 1). Tickers without a sector form a group of their own.
5. Prints, for the last five month-ends, how many stocks have each exposure, their
   cap-weighted mean (about 0) and equal-weighted std (about 1), then the wall time.

Everything stays a ``LazyFrame`` until the single ``collect(engine="streaming")``.
The data's known quirks (null opens, a few unadjusted splits, missing sectors,
negative book equity, non-positive share counts) pass through without errors.

How to run
----------
From the repository root::

    python examples/standardize_sp500.py                  # data in ../shared/data
    python examples/standardize_sp500.py --data-dir PATH  # or POLARS_FACTORS_DATA=PATH

The data directory must contain ``sp500_5yr/`` and ``nyse_kaggle/`` as described in
the data README. It runs in a few seconds on two cores.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import polars as pl

import polars_factors as pf  # registers the `.factors` namespace

#: Days between a fiscal period end and the date its figures are assumed public.
#: US large caps file their 10-K within 60-75 days; 90 leaves a margin.
REPORTING_LAG_DAYS = 90
MOMENTUM_SKIP = 21  # trading days: skip the most recent month (short-term reversal)
MOMENTUM_LOOKBACK = 252  # trading days: one year
MIN_COUNT = 25  # USE4: no exposure on a date with fewer usable stocks

DESCRIPTORS = ["size", "bp", "ey", "mom"]
REPORTED = [*DESCRIPTORS, "value", "value_filled"]


def default_data_dir() -> Path:
    """``$POLARS_FACTORS_DATA`` if set, else ``<repo root>/../shared/data``."""
    env = os.environ.get("POLARS_FACTORS_DATA")
    if env:
        return Path(env)
    repo_root = Path(__file__).resolve().parent.parent
    return repo_root.parent / "shared" / "data"


#: The input files of this example (others pass their own list to :func:`data_found`).
SP500_FILES = (
    Path("sp500_5yr") / "prices.parquet",
    Path("nyse_kaggle") / "securities.csv",
    Path("nyse_kaggle") / "fundamentals.csv",
)


def data_found(data_dir: Path, files: Sequence[Path] = SP500_FILES) -> bool:
    """Whether the input files are there; if not, say so on stderr."""
    missing = [str(data_dir / f) for f in files if not (data_dir / f).is_file()]
    if missing:
        print(f"data files not found: {', '.join(missing)}", file=sys.stderr)
        print("pass --data-dir PATH or set POLARS_FACTORS_DATA", file=sys.stderr)
    return not missing


def example_parser(doc: str, *, holds: str) -> argparse.ArgumentParser:
    """The examples' command line: ``--data-dir`` (each example adds its own options)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"folder holding {holds} (default: $POLARS_FACTORS_DATA, else <repo>/../shared/data)",
    )
    return parser


def find_data(data_dir: Path | None, files: Sequence[Path] = SP500_FILES) -> Path | None:
    """The data folder (``--data-dir`` or the default) if it has ``files``, else None."""
    folder = data_dir or default_data_dir()
    return folder if data_found(folder, files) else None


def scan_prices(data_dir: Path) -> pl.LazyFrame:
    """Daily closes, one row per (date, asset), sorted by date then asset."""
    return (
        pl.scan_parquet(data_dir / "sp500_5yr" / "prices.parquet")
        .select("date", pl.col("Name").alias("asset"), "close")
        .sort("date", "asset")
    )


def scan_sectors(data_dir: Path) -> pl.LazyFrame:
    """GICS sector and sub-industry per ticker."""
    return pl.scan_csv(data_dir / "nyse_kaggle" / "securities.csv").select(
        pl.col("Ticker symbol").alias("asset"),
        pl.col("GICS Sector").alias("sector"),
        pl.col("GICS Sub Industry").alias("industry"),
    )


def scan_fundamentals(data_dir: Path) -> pl.LazyFrame:
    """Annual fundamentals keyed by the date they become public, sorted by that date.

    ``Period Ending`` is written like ``31-Dec-12`` or ``3-Jan-15`` (day not
    zero-padded, two-digit year); ``%d`` parses both.
    """
    shares = pl.col("Estimated Shares Outstanding").cast(pl.Float64)
    return (
        pl.scan_csv(data_dir / "nyse_kaggle" / "fundamentals.csv")
        .select(
            pl.col("Ticker Symbol").alias("asset"),
            pl.col("Period Ending").str.to_date("%d-%b-%y").alias("period_end"),
            # Estimated shares = net income / EPS: null or <= 0 in a few rows.
            pl.when(shares > 0).then(shares).alias("shares"),
            pl.col("Total Equity").cast(pl.Float64).alias("equity"),
            pl.col("Net Income").cast(pl.Float64).alias("net_income"),
        )
        .with_columns(
            (pl.col("period_end") + pl.duration(days=REPORTING_LAG_DAYS)).alias("available")
        )
        .sort("available")
    )


def build_panel(data_dir: Path, fundamentals: pl.LazyFrame | None = None) -> pl.LazyFrame:
    """Raw descriptors and market cap per (date, asset), with sector; lazy.

    ``fundamentals`` defaults to :func:`scan_fundamentals` (another example passes a
    filtered version of it).
    """
    if fundamentals is None:
        fundamentals = scan_fundamentals(data_dir)
    close = pl.col("close")
    prices = scan_prices(data_dir).with_columns(
        # The frame is sorted by date, so within each asset the shift goes back in time.
        (
            close.shift(MOMENTUM_SKIP).over("asset") / close.shift(MOMENTUM_LOOKBACK).over("asset")
            - 1.0
        ).alias("mom")
    )
    # join_asof needs both sides sorted by the asof key (date / available): prices are
    # sorted by date and fundamentals by availability. Polars cannot verify sortedness
    # when `by` groups are given (and would print a warning), so we vouch for it.
    panel = prices.join_asof(
        fundamentals,
        left_on="date",
        right_on="available",
        by="asset",
        strategy="backward",
        check_sortedness=False,
    ).join(scan_sectors(data_dir), on="asset", how="left", maintain_order="left")
    mcap = pl.when(close > 0).then(close * pl.col("shares"))
    return panel.with_columns(mcap.alias("mcap")).with_columns(
        pl.col("mcap").log().alias("size"),
        (pl.col("equity") / pl.col("mcap")).alias("bp"),
        (pl.col("net_income") / pl.col("mcap")).alias("ey"),
    )


def standardize_panel(panel: pl.LazyFrame) -> pl.LazyFrame:
    """USE4 standardization, the value style and a sector-median fill; lazy."""
    exposures = panel.factors.standardize(
        DESCRIPTORS, weights="mcap", std_weights="equal", min_count=MIN_COUNT
    )
    # The call above checked that (date, asset) is unique; the next steps keep the
    # rows, so they skip the check (each check is a small query run at call time).
    exposures = exposures.factors.combine({"value": ["bp", "ey"]}, weights="mcap", check_keys=False)
    return exposures.factors.fill_missing(
        "value", by=["date", "sector"], suffix="_filled", check_keys=False
    )


def last_month_ends(data_dir: Path, n: int) -> pl.LazyFrame:
    """The last trading day of each of the last ``n`` complete months of the price file."""
    dates = scan_prices(data_dir).select(pl.col("date").unique())
    month = pl.col("date").dt.truncate("1mo")
    return (
        dates.group_by(month.alias("month"))
        .agg(pl.col("date").max())
        .filter(pl.col("month") < pl.col("month").max())  # the last month is partial
        .sort("date")
        .tail(n)
        .select("date")
    )


def summary(exposures: pl.LazyFrame, dates: pl.LazyFrame) -> pl.LazyFrame:
    """Per date and exposure: count, cap-weighted mean and equal-weighted std."""
    z = pl.col("z")
    w = pl.when(z.is_not_null() & (pl.col("mcap") > 0)).then(pl.col("mcap"))
    return (
        exposures.join(dates, on="date", how="semi")
        .unpivot(REPORTED, index=["date", "mcap"], variable_name="exposure", value_name="z")
        .with_columns(pl.col("exposure").cast(pl.Enum(REPORTED)))
        .group_by("date", "exposure")
        .agg(
            z.count().alias("n"),
            ((z * w).sum() / w.sum()).alias("cap_weighted_mean"),
            z.std(ddof=0).alias("equal_weighted_std"),
        )
        .sort("date", "exposure")
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = example_parser(__doc__, holds="sp500_5yr/ and nyse_kaggle/")
    parser.add_argument("--month-ends", type=int, default=5, help="how many month-ends to show")
    return parser.parse_args(argv)


@contextlib.contextmanager
def reporting_losses() -> Iterator[None]:
    """Print the values the library turned null (its DataLossWarnings) as notes on stderr.

    A lazy plan reports them when it is collected: here, the dates with fewer stocks
    than ``min_count`` (their values are null by design).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pf.DataLossWarning)
        yield
    for w in caught:
        print(f"note: {w.message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data_dir = find_data(args.data_dir)
    if data_dir is None:
        return 2

    start = time.perf_counter()
    exposures = standardize_panel(build_panel(data_dir))
    with reporting_losses():
        table = summary(exposures, last_month_ends(data_dir, args.month_ends)).collect(
            engine="streaming"
        )
    elapsed = time.perf_counter() - start

    print(
        f"USE4 exposures of S&P 500 stocks ({data_dir}); fundamentals public "
        f"{REPORTING_LAG_DAYS} days after fiscal year end; min_count={MIN_COUNT}."
    )
    print("n = stocks with the exposure; mean is cap-weighted (~0), std equal-weighted (~1).")
    with pl.Config(tbl_rows=len(table), tbl_hide_dataframe_shape=True, float_precision=4):
        print(table)
    print(f"wall time: {elapsed:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
