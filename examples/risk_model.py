"""A Barra-like risk model of the bundled S&P 500 sample: loadings, factor returns, risk.

The hsr risk-model notebook (per-date pandas and numpy loops, dicts of matrices)
rewritten with polars_factors, on the data bundled with the package.

What it does
------------
1. **Loadings.** From the bundled daily panel (:func:`polars_factors.datasets.load_sp500`):
   market cap (close x the last known share count), four styles and their
   descriptors: ``size`` (log cap), ``value`` (book-to-price and earnings yield,
   averaged), ``mom`` (12-1 momentum: close 21 trading days ago over close 252 days
   ago) and ``vol`` (std of the last 63 daily returns); the 11 GICS sectors; a
   ``country`` factor (1 for every stock). The descriptors are standardized per date
   the hsr way (:func:`polars_factors.standardize`: winsorized, cap-weighted mean 0,
   cap-weighted std 1, null on a date with fewer than 25 stocks) and ``value`` is the
   re-standardized average of its two (:func:`polars_factors.combine`).
2. **Factor returns.** Every date *t*, the return from the close of *t* to the next
   close is regressed on the loadings of *t* (:func:`polars_factors.cross_section`:
   WLS with sqrt-cap weights, the Barra constraint that the cap-weighted sector
   returns sum to 0 so that ``country`` is the cap-weighted market). One lazy plan for
   all dates.
3. **Risk.** :meth:`polars_factors.risk.RiskModel.fit` on the last date: the factor
   covariance (:func:`polars_factors.risk.factor_covariance`, preset ``"hsr"``: 42-day
   volatility and 200-day correlation half-lives) and the specific variances
   (:func:`polars_factors.risk.specific_risk`: 42-day half-life, Bayesian shrinkage
   toward the size decile), both from the returns realized by that date (``lag=1``).
4. Prints the factors' annualized volatilities, the share of each stock's variance the
   factors explain (R², from ``asset_risk``; the hsr notebook reports a median of
   0.92), the risk decomposition of the cap-weighted portfolio (``portfolio_risk``),
   and, for the model of the date a year before the end, the cap-weighted portfolio's
   implied volatility against the one realized over the next 252 days
   (``realized_vs_implied``).
5. With ``--output DIR``, saves ``risk_decomposition.png``
   (:func:`polars_factors.plot.risk_decomposition` of the cap-weighted portfolio),
   ``asset_risk.png`` (factor and specific variance of the 15 riskiest stocks) and
   ``style_factor_returns.png`` (:func:`polars_factors.plot.cumulative_returns` of the
   style factor returns).

``examples/risk_model_sp500.py`` does the same on the full data in ``../shared/data``,
with the USE4S covariance, the volatility regime adjustment and the bias statistic of
every date.

How to run
----------
From the repository root (bundled data, nothing to download)::

    python examples/risk_model.py
    python examples/risk_model.py --output docs/examples/img

It runs in a few seconds.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import polars as pl
from factor_exposures import daily_returns  # the sibling example on the full data

import polars_factors as pf
from polars_factors import plot

STYLES = ["size", "value", "mom", "vol"]
DESCRIPTORS = ["size", "bp", "ey", "mom", "vol"]
PRESET = "hsr"
SPECIFIC = {"half_life": 42, "shrinkage": 0.1, "n_groups": 10}
MIN_COUNT = 25  # no exposure on a date with fewer usable stocks
VOL_WINDOW = 63  # trading days: the volatility descriptor
WINDOW = 252  # trading days: the realized-volatility horizon
ANNUAL = math.sqrt(252)
R2_QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95]


def build_universe() -> pl.LazyFrame:
    """Returns, next-day returns and raw descriptors of the stocks with a cap and a sector."""
    raw = pf.datasets.load_sp500().select(
        "date", "asset", "close", "sector", "shares_outstanding", "book_equity", "net_income"
    )
    close = pl.col("close")
    # The bundled panel is sorted by (asset, date): `over("asset")` runs down each
    # stock's dates; the last known share count is carried forward.
    shares = pl.col("shares_outstanding").forward_fill().over("asset")
    mom = close.shift(21).over("asset") / close.shift(252).over("asset") - 1.0
    return (
        daily_returns(raw)
        .with_columns(
            pl.when(close > 0).then(close * shares).alias("mcap"),
            mom.alias("mom"),
            pl.col("ret").rolling_std(VOL_WINDOW).over("asset").alias("vol"),
            pl.col("ret").shift(-1).over("asset").alias("fwd_ret"),
        )
        .with_columns(
            pl.col("mcap").log().alias("size"),
            (pl.col("book_equity") / pl.col("mcap")).alias("bp"),
            (pl.col("net_income") / pl.col("mcap")).alias("ey"),
            pl.col("mcap").sqrt().alias("sqrt_mcap"),
        )
        .filter(pl.col("mcap").is_not_null() & pl.col("sector").is_not_null())
    )


def loadings(universe: pl.LazyFrame) -> pl.LazyFrame:
    """hsr standardization, the value style; the dates and rows that can be regressed."""
    # check_keys=True: on a LazyFrame the duplicate-key check runs only when asked.
    exposures = universe.factors.standardize(
        DESCRIPTORS, weights="mcap", std_weights="weighted", min_count=MIN_COUNT, check_keys=True
    )
    exposures = exposures.factors.combine(
        {"value": ["bp", "ey"]}, weights="mcap", std_weights="weighted", check_keys=False
    )
    # A row is regressed when it has every loading and a next-day return.
    return exposures.select(
        "date", "asset", "sector", "mcap", "sqrt_mcap", "fwd_ret", *STYLES
    ).drop_nulls()


def factor_vols(model: pf.risk.RiskModel) -> pl.DataFrame:
    """Annualized volatility of each style, the country factor and the sectors' range."""
    cov = model.covariance
    var = cov.filter(pl.col("factor_1") == pl.col("factor_2")).select(
        pl.col("factor_1").alias("factor"), (pl.col("covariance").sqrt() * ANNUAL).alias("vol")
    )
    head = var.filter(pl.col("factor").is_in([*STYLES, "country"]))
    sectors = var.filter(~pl.col("factor").is_in([*STYLES, "country"]))
    return pl.concat(
        [
            head,
            pl.DataFrame(
                {
                    "factor": ["sectors (min)", "sectors (max)"],
                    "vol": [sectors["vol"].min(), sectors["vol"].max()],
                }
            ),
        ]
    )


def cap_weights(panel: pl.DataFrame, model: pf.risk.RiskModel) -> pl.DataFrame:
    """Cap weights of the stocks the model covers on its date."""
    held = panel.filter(pl.col("date") == model.at).join(
        model.exposures.select("asset"), on="asset", how="semi"
    )
    return held.select("asset", (pl.col("mcap") / pl.col("mcap").sum()).alias("weight"))


def fit(panel: pl.DataFrame, res: pf.CrossSectionResult, day: object) -> pf.risk.RiskModel:
    """The risk model of formation date ``day`` (risk estimated up to the date before)."""
    return pf.risk.RiskModel.fit(
        panel,
        res,
        exposures=STYLES,
        industry="sector",
        country=True,
        at=day,
        lag=1,  # factor returns are dated by formation: the one of t - 1 is realized at t
        size="mcap",
        covariance={"preset": PRESET},
        specific=SPECIFIC,
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="folder for the PNG figures (default: none)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    universe = build_universe()
    panel, returns = pl.collect_all(
        [loadings(universe), universe.select("date", "asset", "ret").drop_nulls()]
    )
    res = pf.cross_section(
        panel.lazy(),
        "fwd_ret",
        STYLES,
        industry="sector",
        country=True,
        weights="sqrt_mcap",
        constraint_weights="mcap",
        check_keys=False,  # standardize() checked that (date, asset) is unique
    ).collect()
    dates = res.stats["date"]
    model = fit(panel, res, dates[-1])
    weights = cap_weights(panel, model)
    risk = model.portfolio_risk(weights)
    past = fit(panel, res, dates[-1 - WINDOW])
    rvi = past.realized_vs_implied(cap_weights(panel, past), returns, window=WINDOW)
    elapsed = time.perf_counter() - start

    n_sectors = len(model.factors) - len(STYLES) - 1
    r2 = model.asset_risk()["r2"]
    summary = risk.summary().row(0, named=True)
    config = pl.Config(
        tbl_rows=-1, tbl_cols=-1, tbl_hide_dataframe_shape=True, float_precision=3,
        tbl_hide_column_data_types=True,
    )  # fmt: skip
    with config:
        print(
            f"Risk model of the bundled S&P 500 panel: {len(model.factors)} factors "
            f"({', '.join(STYLES)}, country, {n_sectors} sectors); {dates.len()} daily "
            f"cross-sections {dates[0]} .. {dates[-1]}; {PRESET} covariance."
        )
        print(f"Median R² of the daily regressions: {res.stats['r2'].median():.3f}")
        print(f"\nModel of {model.at}: annualized factor volatilities")
        print(factor_vols(model))
        print(f"\nShare of each stock's variance explained by the factors (R²), {r2.len()} stocks:")
        print(
            pl.DataFrame(
                {f"q{round(q * 100):02d}": [r2.quantile(q, "linear")] for q in R2_QUANTILES}
            )
        )
        print(
            f"\nCap-weighted portfolio of {weights.height} stocks: annualized volatility "
            f"{summary['total_vol'] * ANNUAL:.1%}, R² {summary['r2']:.3f}; largest "
            "contributions (share of the variance):"
        )
        top = risk.factors.sort(pl.col("contribution").abs(), descending=True).head(5)
        print(top.select("factor", "exposure", "percent"))
        print(
            f"\nModel of {past.at}, cap-weighted portfolio: implied against realized "
            f"volatility over the next {WINDOW} days (annualized):"
        )
        print(rvi.select("n_obs", pl.col("implied_vol", "realized_vol") * ANNUAL, "ratio"))

    if args.output is not None:
        args.output.mkdir(parents=True, exist_ok=True)
        figures = {
            "risk_decomposition.png": plot.risk_decomposition(
                risk, top=8, title=f"Cap-weighted S&P 500 portfolio, {model.at}"
            ),
            "asset_risk.png": plot.risk_decomposition(
                model.asset_risk(), top=15, title=f"The 15 riskiest stocks, {model.at}"
            ),
            "style_factor_returns.png": plot.cumulative_returns(
                res.factor_returns, factors=STYLES, title="Cumulative style factor returns"
            ),
        }
        for name, fig in figures.items():
            fig.savefig(args.output / name, dpi=100)
        print(f"\nfigures: {', '.join(figures)} in {args.output}")
    print(f"wall time: {elapsed:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
