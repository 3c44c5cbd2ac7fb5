"""Factor exposures of one S&P 500 stock: market and engineered factors, full sample and rolling.

A Polars rewrite of the "Factor Exposure Analyzer" (yfinance + statsmodels OLS + a
Python loop for the rolling betas), on real data.

What it does
------------
1. Reads five years of daily closes of the 505 S&P 500 stocks
   (``sp500_5yr/prices.parquet``) and the daily Fama-French factors
   (``fama_french/F-F_Research_Data_Factors_daily.CSV``, read with
   :func:`polars_factors.io.read_fama_french`: decimals, one row per trading day).
2. The **market**, two ways:

   - ``mkt``: the log return of the equal-weighted S&P 500 (rebalanced daily),
     ``log(1 + mean of the stocks' simple returns)``. A stock's return is null
     across a gap in its dates (six tickers have some), so a multi-day move is never
     averaged in as one day. The stock itself is 1 of ~500 names in it;
   - ``Mkt-RF``: the Fama-French market excess return (all CRSP stocks, value
     weighted), joined by date with :func:`polars_factors.join_factors`.

3. The stock's (``--ticker``, default AAPL) daily log return and four engineered
   factors from :func:`polars_factors.ts_features` over ``WINDOW`` = 126 trading
   days (about six months): ``momentum`` (mean log return), ``volatility`` (std of
   the log returns), ``trend`` (slope of the returns over the window) and
   ``mean_reversion`` (z-score of the price in its window).
   **They are lagged one day** (``lag=1``): the row of day *t* holds the features
   computed from prices up to *t - 1*. Without the lag, the momentum, volatility and
   mean reversion of day *t* contain that day's return *r_t* itself; regressing
   *r_t* on them would partly explain the return with itself (a look-ahead that
   inflates the t-statistics and the R²). With the lag, the regression asks how
   yesterday's state of the stock relates to today's return.
   Each feature is z-scored with its full-sample mean and standard deviation, so that
   its beta reads as "return per one standard deviation of the feature" (printed in
   basis points) and alpha as the return on a day with average features. These are
   constants: the t-statistics of the betas and R² do not change (a backtest would
   z-score with past data only).
4. Two regressions with :func:`polars_factors.betas`, full sample and over rolling
   126-day windows (statsmodels ``RollingOLS`` semantics):

   - (A) the stock's log return on ``mkt`` and the four features (log on log);
   - (B) the stock's simple excess return (``exp(log return) - 1 - RF``) on
     ``Mkt-RF`` and the four features (simple excess returns on both sides, the
     Fama-French convention).

5. Prints alpha (in basis points per day), the betas (those of the features in basis
   points per standard deviation), their t-statistics and R² of
   the full-sample fits, then a summary of the rolling betas: 5%, 50% and 95%
   quantiles over the windows, and the latest window's values.

The rolling feature betas swing widely: a 126-day feature moves slowly inside a
126-day window, so it is nearly collinear with the intercept there (the wide rolling
alpha is the other side of it). The market beta is the stable, interpretable one.
The estimates match statsmodels ``OLS`` and ``RollingOLS`` on the same data.

Everything stays lazy until the results are collected (the Fama-French file is read
eagerly: it is small).

How to run
----------
From the repository root::

    python examples/factor_exposures.py                  # data in ../shared/data
    python examples/factor_exposures.py --ticker MSFT    # another stock
    python examples/factor_exposures.py --data-dir PATH  # or POLARS_FACTORS_DATA=PATH

It runs in a few seconds on two cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import polars as pl
from standardize_sp500 import example_parser, find_data, scan_prices  # the sibling example

import polars_factors as pf
from polars_factors.io import read_fama_french

WINDOW = 126  # trading days: about six months (the analyzer's window)
FEATURES = ["momentum", "volatility", "trend", "mean_reversion"]
QUANTILES = [0.05, 0.5, 0.95]
PRICES_FILE = Path("sp500_5yr") / "prices.parquet"
FF_DAILY_FILE = Path("fama_french") / "F-F_Research_Data_Factors_daily.CSV"
FILES = (PRICES_FILE, FF_DAILY_FILE)


def read_ff_daily(data_dir: Path) -> pl.DataFrame:
    """Daily Fama-French factors in decimals: date, Mkt-RF, SMB, HML, RF."""
    return read_fama_french(data_dir / FF_DAILY_FILE)


def daily_returns(prices: pl.LazyFrame) -> pl.LazyFrame:
    """Add the simple return ``ret`` of each stock, null across a gap in its dates.

    ``prices`` is sorted by date then asset (:func:`scan_prices`), so within an asset
    ``shift(1)`` is the previous row; the return is kept only when that row is the
    previous trading day of the file.
    """
    calendar = prices.select(pl.col("date").unique().sort()).with_columns(
        pl.col("date").shift(1).alias("prev_trading_date")
    )
    close = pl.col("close")
    prev_row = pl.col("date").shift(1).over("asset")
    ret = pl.when(prev_row == pl.col("prev_trading_date")).then(
        close / close.shift(1).over("asset") - 1.0
    )
    return (
        prices.join(calendar, on="date", how="left", maintain_order="left")
        .with_columns(ret.alias("ret"))
        .drop("prev_trading_date")
    )


def equal_weighted_market(prices: pl.LazyFrame) -> pl.LazyFrame:
    """Wide factor frame ``date, mkt``: log return of the equal-weighted index."""
    return (
        daily_returns(prices)
        .group_by("date")
        .agg(pl.col("ret").mean().log1p().alias("mkt"))
        .sort("date")
    )


def stock_panel(data_dir: Path, ticker: str) -> pl.LazyFrame:
    """One stock: log return, lagged features (z-scored over the sample) and both markets."""
    prices = scan_prices(data_dir)
    stock = prices.filter(pl.col("asset") == ticker)
    featured = pf.ts_features(stock, "close", window=WINDOW, lag=1)
    featured = featured.with_columns(
        (pl.col(f) - pl.col(f).mean()) / pl.col(f).std() for f in FEATURES
    )
    ff = read_ff_daily(data_dir).select("date", "Mkt-RF", "RF")
    panel = pf.join_factors(featured, equal_weighted_market(prices))
    panel = pf.join_factors(panel, ff)
    return panel.with_columns(
        (pl.col("log_return").exp() - 1.0 - pl.col("RF")).alias("excess_return")
    )


MODELS = {
    # name: (response, market factor)
    "A: log return on equal-weighted S&P 500 (mkt) + features": ("log_return", "mkt"),
    "B: excess return on Fama-French Mkt-RF + features": ("excess_return", "Mkt-RF"),
}


def _label(name: str) -> tuple[str, float]:
    """Display name and scale of an output column: alpha and feature betas in bp."""
    if name == "alpha":
        return "alpha (bp/day)", 1e4
    if name == "r2":
        return "R²", 1.0
    term = name.removeprefix("beta_")
    return (f"{term} (bp/std)", 1e4) if term in FEATURES else (term, 1.0)


def full_sample_table(fit: pl.DataFrame, terms: list[str]) -> pl.DataFrame:
    """One row per term: estimate, std error, t-stat (alpha and feature betas in bp)."""
    names = ["alpha", *(f"beta_{t}" for t in terms)]
    rows = []
    for name in names:
        label, scale = _label(name)
        rows.append(
            {
                "term": label,
                "estimate": fit[name][0] * scale,
                "std_error": fit[f"{name}_std_error"][0] * scale,
                "t_stat": fit[f"{name}_t_stat"][0],
            }
        )
    return pl.DataFrame(rows)


def rolling_summary(rolling: pl.DataFrame, terms: list[str]) -> pl.DataFrame:
    """Per term: quantiles of the rolling estimates over the windows, and the latest."""
    names = ["alpha", *(f"beta_{t}" for t in terms), "r2"]
    fitted = rolling.filter(pl.col("beta_" + terms[0]).is_not_null())
    last = fitted.row(-1, named=True)
    rows = []
    for name in names:
        label, scale = _label(name)
        values = fitted[name] * scale
        rows.append(
            {
                "term": label,
                **{f"q{round(q * 100):02d}": values.quantile(q) for q in QUANTILES},
                "last": last[name] * scale,
            }
        )
    return pl.DataFrame(rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = example_parser(__doc__, holds="sp500_5yr/ and fama_french/")
    parser.add_argument("--ticker", default="AAPL", help="the stock (default AAPL)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data_dir = find_data(args.data_dir, FILES)
    if data_dir is None:
        return 2

    start = time.perf_counter()
    panel = stock_panel(data_dir, args.ticker).collect()
    if panel.is_empty():
        print(f"ticker {args.ticker!r} not found in {data_dir / PRICES_FILE}", file=sys.stderr)
        return 2
    usable = panel.drop_nulls(["log_return", "mkt", *FEATURES]).height
    if usable < WINDOW:
        print(
            f"{args.ticker}: {usable} days with a return and all features; a "
            f"{WINDOW}-day rolling fit needs {WINDOW} (the features need {WINDOW + 1} "
            "prices first). Pick a stock with a longer history.",
            file=sys.stderr,
        )
        return 2
    fits = {}
    for model, (response, market) in MODELS.items():
        terms = [market, *FEATURES]
        full = pf.betas(panel, response, terms)
        rolling = pf.betas(panel, response, terms, window=WINDOW)
        fits[model] = (terms, full, rolling)
    elapsed = time.perf_counter() - start

    first, last = panel["date"].min(), panel["date"].max()
    print(f"Factor exposures of {args.ticker}, daily, {first} .. {last} ({data_dir}).")
    print(
        f"Features: ts_features(window={WINDOW}, lag=1), z-scored over the sample; "
        f"rolling window: {WINDOW} trading days."
    )
    missing_ff = panel.filter(pl.col("Mkt-RF").is_null()).height
    print(f"Trading days without a Fama-French row: {missing_ff}.")
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_hide_dataframe_shape=True, float_precision=4):
        for model, (terms, full, rolling) in fits.items():
            n_obs, r2 = full["n_obs"][0], full["r2"][0]
            print(f"\n{model}\nfull sample: {n_obs} days, R² = {r2:.4f}")
            print(full_sample_table(full, terms))
            n_windows = rolling["r2"].is_not_null().sum()
            last_date = rolling.filter(pl.col("r2").is_not_null())["date"].max()
            print(
                f"rolling {WINDOW}-day fits: {n_windows} windows; quantiles over the "
                f"windows and the last one (ending {last_date}):"
            )
            print(rolling_summary(rolling, terms))
    print(f"wall time: {elapsed:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
