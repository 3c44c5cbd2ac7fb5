"""One stock's exposures to the market and four engineered factors, full sample and rolling.

The "Factor Exposure Analyzer" (yfinance prices, statsmodels OLS, a Python loop for the
rolling betas, a plotly radar chart) rewritten with polars_factors, on the S&P 500
sample bundled with the package.

What it does
------------
1. Loads the bundled daily panel (:func:`polars_factors.datasets.load_sp500`: 505
   stocks, 2015-02-09 .. 2018-02-07) and builds the **market**: the log return of the
   equal-weighted S&P 500 (rebalanced daily), ``log(1 + mean of the simple returns)``.
   A stock's return is null across a gap in its dates, so a multi-day move is never
   averaged in as one day.
2. For the stock (``--ticker``, default AAPL): its daily log return and the four
   engineered factors of :func:`polars_factors.ts_features` over 126 trading days:
   ``momentum`` (mean log return), ``volatility`` (std of the log returns), ``trend``
   (slope of the returns over the window) and ``mean_reversion`` (z-score of the price
   in its window). They are **lagged one day** (``lag=1``): the row of day *t* holds
   the features of the prices up to *t - 1*, so the regression does not explain a
   return with itself. Each feature is z-scored over the sample: its beta is the
   return per standard deviation of the feature.
3. Regresses the stock's log return on the market and the features with
   :func:`polars_factors.betas`, over the whole sample and over rolling 126-day windows
   (statsmodels ``OLS`` and ``RollingOLS`` semantics; only windows with 126
   observations, so the first one ends 252 trading days into the sample).
4. Prints the full-sample alpha and betas (alpha and the feature betas in basis points)
   with their t-statistics, the **standardized** betas (beta x std of the factor / std
   of the stock's return: comparable across factors, what the charts show) and R²,
   and the rolling betas' 5 %, 50 % and 95 % quantiles over the windows.
5. With ``--output DIR``, saves ``exposure_bar.png`` and ``exposure_radar.png``
   (:func:`polars_factors.plot.exposure_bar`, :func:`~polars_factors.plot.exposure_radar`,
   standardized full-sample betas, +-2 standard errors) and ``rolling_betas.png``
   (:func:`polars_factors.plot.rolling_betas`).

A 126-day feature moves slowly inside a 126-day window, so the rolling feature betas
swing widely (nearly collinear with the intercept there); the market beta is the
stable one.

How to run
----------
From the repository root (bundled data, nothing to download)::

    python examples/factor_exposure_analyzer.py
    python examples/factor_exposure_analyzer.py --ticker MSFT --output docs/examples/img

It runs in about two seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import polars as pl
from factor_exposures import (  # the sibling example on the full data
    FEATURES,
    WINDOW,
    equal_weighted_market,
    full_sample_table,
    rolling_summary,
)

import polars_factors as pf
from polars_factors import plot

TERMS = ["mkt", *FEATURES]


def stock_panel(prices: pl.LazyFrame, ticker: str) -> pl.LazyFrame:
    """One stock: log return, lagged features z-scored over the sample, the market."""
    stock = prices.filter(pl.col("asset") == ticker)
    featured = pf.ts_features(stock, "close", window=WINDOW, lag=1)
    featured = featured.with_columns(
        (pl.col(f) - pl.col(f).mean()) / pl.col(f).std() for f in FEATURES
    )
    return pf.join_factors(featured, equal_weighted_market(prices))


def scales(panel: pl.DataFrame) -> dict[str, float]:
    """std(factor) / std(return) over the fitted rows: turns a beta into a standardized one."""
    rows = panel.drop_nulls(["log_return", *TERMS])
    y = float(rows["log_return"].std() or 1.0)
    return {t: float(rows[t].std() or 0.0) / y for t in TERMS}


def standardized(betas: pl.DataFrame, scale: dict[str, float]) -> pl.DataFrame:
    """The betas and their standard errors times ``scale`` (t-statistics do not change)."""
    return betas.with_columns(
        (pl.col(f"beta_{t}", f"beta_{t}_std_error") * s).name.keep() for t, s in scale.items()
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticker", default="AAPL", help="the stock (default AAPL)")
    parser.add_argument("--output", type=Path, help="folder for the PNG figures (default: none)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    prices = pf.datasets.load_sp500().select("date", "asset", "close")
    panel = stock_panel(prices, args.ticker).collect()
    if panel.is_empty():
        print(f"ticker {args.ticker!r} is not in the bundled S&P 500 panel", file=sys.stderr)
        return 2
    usable = panel.drop_nulls(["log_return", *TERMS]).height
    if usable < WINDOW:
        print(
            f"{args.ticker}: {usable} days with a return and every feature; a {WINDOW}-day "
            "rolling fit needs more.",
            file=sys.stderr,
        )
        return 2
    full = pf.betas(panel, "log_return", TERMS)
    # Only full windows: the first rows of a window without features would leave a
    # handful of observations for six parameters.
    rolling = pf.betas(panel, "log_return", TERMS, window=WINDOW, min_periods=WINDOW)
    scale = scales(panel)
    full_std, rolling_std = standardized(full, scale), standardized(rolling, scale)
    elapsed = time.perf_counter() - start

    first, last = panel["date"].min(), panel["date"].max()
    print(f"Factor exposures of {args.ticker}, daily log returns, {first} .. {last}.")
    print(
        f"Market: equal-weighted S&P 500 of the bundled panel; features: "
        f"ts_features(window={WINDOW}, lag=1), z-scored over the sample."
    )
    table = full_sample_table(full, TERMS).with_columns(
        pl.Series("standardized", [None, *(full_std[f"beta_{t}"][0] for t in TERMS)])
    )
    config = pl.Config(
        tbl_rows=-1, tbl_cols=-1, tbl_hide_dataframe_shape=True, float_precision=3,
        tbl_hide_column_data_types=True,
    )  # fmt: skip
    with config:
        print(f"\nFull sample: {full['n_obs'][0]} days, R² = {full['r2'][0]:.3f}")
        print(table)
        n_windows = rolling["r2"].is_not_null().sum()
        print(f"\nRolling {WINDOW}-day fits ({n_windows} windows): quantiles and the last one")
        print(rolling_summary(rolling, TERMS))

    if args.output is not None:
        args.output.mkdir(parents=True, exist_ok=True)
        what = f"{args.ticker}, standardized betas"
        figures = {
            "exposure_bar.png": plot.exposure_bar(
                full_std, title=f"{what}, +-2 s.e.", figsize=(7.0, 4.0)
            ),
            "exposure_radar.png": plot.exposure_radar(full_std, title=what),
            "rolling_betas.png": plot.rolling_betas(
                rolling_std, std_errors=None, title=f"{what}, rolling {WINDOW} days"
            ),
        }
        for name, fig in figures.items():
            fig.savefig(args.output / name, dpi=100)
        print(f"\nfigures: {', '.join(figures)} in {args.output}")
    print(f"wall time: {elapsed:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
