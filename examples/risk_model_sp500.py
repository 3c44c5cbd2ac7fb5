"""A Barra-style risk model of the S&P 500, from real data, without look-ahead.

What it does
------------
1. Builds the estimation universe and the standardized styles of
   ``cross_section_sp500.py`` (size, value, momentum, volatility; 11 GICS sectors; a
   country factor) and regresses, every date *t*, the return from the close of *t* to
   the next close on the exposures known at *t* (WLS, sqrt-cap weights, cap-weighted
   sector constraint). ``factor_returns["date"]`` and ``residuals["date"]`` are the
   formation date *t*; the return is realized at *t + 1*.
2. Factor covariance (:func:`polars_factors.risk.factor_covariance`, USE4S settings:
   84-day volatility and 504-day correlation half-lives, Newey-West lags 5 and 2) and
   specific variances (:func:`polars_factors.risk.specific_risk`: 84-day half-life,
   Newey-West lags 5, Bayesian shrinkage toward the cap-weighted mean of the size
   decile), for every date.
3. The risk model of a formation date *t* uses the exposures of *t* and the
   covariance and specific variances estimated up to the **previous** date: those use
   returns realized by the close of *t*, nothing later.
4. Prints
   - the distribution over stocks of the share of variance the factors explain (R²)
     at the last date (the hsr notebook reports a median of 0.92);
   - the predicted volatility of the cap-weighted portfolio one year before the end
     and its realized volatility over the following 252 days;
   - the USE4 bias statistic of the cap-weighted portfolio's daily returns,
     standardized by the previous day's forecast, over rolling 252-day windows and
     over the whole period, without and with the volatility regime adjustment
     (:func:`polars_factors.risk.volatility_regime`).

The portfolio forecasts of every date are Polars joins (exposures x covariance), the
same computation that :meth:`polars_factors.risk.RiskModel.portfolio_risk` does for one
date; the script checks that the two agree.

How to run
----------
From the repository root::

    python examples/risk_model_sp500.py                  # data in ../shared/data
    python examples/risk_model_sp500.py --data-dir PATH  # or POLARS_FACTORS_DATA=PATH

It runs in about two seconds on two cores.
"""

from __future__ import annotations

import math
import sys
import time

import polars as pl
from cross_section_sp500 import STYLES, build_universe, standardize_universe
from standardize_sp500 import example_parser, find_data, reporting_losses

import polars_factors as pf

PRESET = "USE4S"
SPECIFIC = {"half_life": 84, "nw_lags": 5, "shrinkage": 0.1, "n_groups": 10}
WINDOW = 252  # trading days: the bias statistic's rolling window and the realized-vol horizon
ANNUAL = math.sqrt(252)
R2_QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95]


def estimate(
    panel: pl.DataFrame,
) -> tuple[pf.CrossSectionResult, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Factor returns, covariances, specific variances and residuals (with caps)."""
    res = panel.factors.cross_section(
        "fwd_ret",
        STYLES,
        industry="sector",
        country=True,
        weights="sqrt_mcap",
        constraint_weights="mcap",
        check_keys=False,  # standardize() already checked that (date, asset) is unique
    )
    cov = pf.risk.factor_covariance(res.factor_returns, preset=PRESET)
    # The residuals have the panel's rows in the panel's order: its caps line up.
    residuals = res.residuals.with_columns(panel.get_column("mcap"))
    specific = pf.risk.specific_risk(residuals, size="mcap", check_keys=False, **SPECIFIC)
    return res, cov, specific, residuals


def previous_date(dates: pl.Series) -> pl.DataFrame:
    """``date, prev``: each date of the factor returns with the one before it."""
    return pl.DataFrame({"date": dates}).with_columns(pl.col("date").shift(1).alias("prev"))


def exposures_at(panel: pl.DataFrame, factors: list[str]) -> pl.DataFrame:
    """Wide exposures: the styles, 1 for the country factor, sector dummies."""
    sectors = [f for f in factors if f not in {*STYLES, "country"}]
    return panel.select(
        "date",
        "asset",
        *STYLES,
        pl.lit(1.0).alias("country"),
        *[(pl.col("sector") == s).cast(pl.Float64).alias(s) for s in sectors],
    )


def cap_weights(
    panel: pl.DataFrame, specific: pl.DataFrame, calendar: pl.DataFrame
) -> pl.DataFrame:
    """Cap weights of the stocks the model covers at each date (exposures, specific risk).

    The specific variance of date *t* comes from the previous date; stocks without one
    (their first days) or without a next-day return are left out of the portfolio.
    """
    prev_spec = specific.rename({"date": "prev"}).drop_nulls("specific_var")
    held = (
        panel.join(calendar, on="date", how="left", maintain_order="left")
        .join(prev_spec, on=["prev", "asset"], how="inner", maintain_order="left")
        .filter(pl.all_horizontal(pl.col(*STYLES, "fwd_ret").is_not_null()))
    )
    return held.with_columns((pl.col("mcap") / pl.col("mcap").sum().over("date")).alias("weight"))


def portfolio_forecasts(
    held: pl.DataFrame, cov: pl.DataFrame, calendar: pl.DataFrame, factors: list[str]
) -> pl.DataFrame:
    """Per date: the portfolio's factor, specific and total predicted variance, return."""
    exposures = (
        exposures_at(held, factors)
        .join(held.select("date", "asset", "weight"), on=["date", "asset"], maintain_order="left")
        .group_by("date")
        .agg([(pl.col(f) * pl.col("weight")).sum() for f in factors])
        .unpivot(index="date", variable_name="factor", value_name="x")
    )
    # The covariance of the previous date (null matrices: too short a history, no forecast)
    prev_cov = (
        cov.drop_nulls("covariance")
        .join(calendar.rename({"date": "t", "prev": "date"}), on="date")
        .drop("date")
    )
    factor_var = (
        prev_cov.rename({"t": "date"})
        .join(exposures.rename({"factor": "factor_1", "x": "x1"}), on=["date", "factor_1"])
        .join(exposures.rename({"factor": "factor_2", "x": "x2"}), on=["date", "factor_2"])
        .group_by("date")
        .agg((pl.col("x1") * pl.col("x2") * pl.col("covariance")).sum().alias("factor_var"))
    )
    per_date = held.group_by("date").agg(
        (pl.col("weight") ** 2 * pl.col("specific_var")).sum().alias("specific_var"),
        (pl.col("weight") * pl.col("fwd_ret")).sum().alias("return"),
    )
    return (
        factor_var.join(per_date, on="date")
        .with_columns((pl.col("factor_var") + pl.col("specific_var")).alias("total_var"))
        .sort("date")
    )


def regime_multipliers(
    res: pf.CrossSectionResult, cov: pl.DataFrame, residuals: pl.DataFrame, specific: pl.DataFrame
) -> pl.DataFrame:
    """USE4 volatility regime multipliers of the factor and of the specific variances."""
    factor = pf.risk.volatility_regime(res.factor_returns, cov)
    spec = pf.risk.volatility_regime(
        residuals, specific, key="asset", value="residual", weights="mcap"
    )
    return factor.select("date", pl.col("multiplier").alias("lambda_f")).join(
        spec.select("date", pl.col("multiplier").alias("lambda_s")), on="date", how="left"
    )


def with_regime(
    forecasts: pl.DataFrame, lambdas: pl.DataFrame, calendar: pl.DataFrame
) -> pl.DataFrame:
    """Forecasts scaled by the previous date's regime multipliers (squared: variances)."""
    prev = lambdas.rename({"date": "prev"}).join(calendar, on="prev")
    return forecasts.join(prev.drop("prev"), on="date", how="left").with_columns(
        (
            pl.col("factor_var") * pl.col("lambda_f") ** 2
            + pl.col("specific_var") * pl.col("lambda_s") ** 2
        ).alias("total_var_vra")
    )


def bias_tables(
    forecasts: pl.DataFrame, calendar: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rolling (by year) and whole-period bias statistics, without and with the VRA.

    The return of formation date *t* is realized at the next date, where it is
    standardized by the forecast made at *t* (the latest one strictly before it).
    """
    nxt = calendar.with_columns(pl.col("date").shift(-1).alias("next"))
    realized = (
        forecasts.join(nxt.select("date", "next"), on="date")
        .select(pl.col("next").alias("date"), "return")
        .drop_nulls()
    )
    rolling, overall = [], []
    for name, var in (("plain", "total_var"), ("VRA", "total_var_vra")):
        vol = forecasts.select("date", pl.col(var).sqrt().alias("volatility")).drop_nulls()
        roll = pf.risk.bias_statistic(realized, vol, window=WINDOW)
        rolling.append(
            roll.drop_nulls("bias")
            .group_by(pl.col("date").dt.year().alias("year"))
            .agg(pl.col("bias").last().alias(name))
        )
        whole = pf.risk.bias_statistic(realized, vol, window=None)
        overall.append(whole.select(pl.lit(name).alias("forecast"), pl.all()))
    by_year = rolling[0].join(rolling[1], on="year").sort("year")
    return by_year, pl.concat(overall)


def model_at(day: object, frames: dict[str, pl.DataFrame], factors: list[str]) -> pf.risk.RiskModel:
    """The model of formation date ``day``: its exposures, the previous date's risk.

    Stocks without a specific variance yet (new in the universe) or with a missing
    exposure are left out here; ``from_parts`` would leave them out too, with a warning.
    """
    prev = frames["calendar"].filter(pl.col("date") == day).item(0, "prev")
    known = {k: frames[k].filter(pl.col("date") == prev).drop("date") for k in ("cov", "specific")}
    specific = known["specific"].drop_nulls("specific_var")
    exposures = (
        exposures_at(frames["panel"].filter(pl.col("date") == day), factors)
        .drop("date")
        .drop_nulls()
        .join(specific, on="asset", how="semi", maintain_order="left")
    )
    return pf.risk.RiskModel.from_parts(exposures, known["cov"], specific, at=day)


def main(argv: list[str] | None = None) -> int:
    args = example_parser(__doc__, holds="sp500_5yr/ and nyse_kaggle/").parse_args(argv)
    data_dir = find_data(args.data_dir)
    if data_dir is None:
        return 2
    start = time.perf_counter()
    universe = build_universe(data_dir)
    # One collect for the standardized panel and the daily returns (shared subplans)
    with reporting_losses():
        panel, returns = pl.collect_all(
            [standardize_universe(universe), universe.select("date", "asset", "ret")]
        )
    res, cov, specific, residuals = estimate(panel)
    factors = res.factor_returns.get_column("factor").unique(maintain_order=True).to_list()
    calendar = previous_date(res.stats.get_column("date"))
    held = cap_weights(panel, specific, calendar)
    lambdas = regime_multipliers(res, cov, residuals, specific)
    forecasts = with_regime(portfolio_forecasts(held, cov, calendar, factors), lambdas, calendar)
    by_year, overall = bias_tables(forecasts, calendar)

    # One-date models: the last date (R² of every stock), and a year before the end
    # (the cap-weighted portfolio's forecast against the next year's realized volatility).
    frames = {"panel": panel, "cov": cov, "specific": specific, "calendar": calendar}
    dates = forecasts.get_column("date")
    last, year_ago = dates[-1], dates[-1 - WINDOW]
    model = model_at(last, frames, factors)
    past = model_at(year_ago, frames, factors)
    weights = held.filter(pl.col("date") == year_ago).select("asset", "weight")
    check = past.portfolio_risk(weights).summary().item(0, "total_var")
    joined = forecasts.filter(pl.col("date") == year_ago).item(0, "total_var")
    assert abs(check - joined) <= 1e-10 * joined, (check, joined)
    rvi = past.realized_vs_implied(weights, returns, window=WINDOW, returns="ret")
    elapsed = time.perf_counter() - start

    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_hide_dataframe_shape=True, float_precision=3):
        print(f"S&P 500 risk model ({data_dir}): {len(factors)} factors "
              f"({', '.join(STYLES)}, country, {len(factors) - len(STYLES) - 1} sectors); "
              f"{PRESET} covariance.")  # fmt: skip
        r2 = model.asset_risk().get_column("r2")
        print(f"\nShare of each stock's variance explained by the factors, {last}, "
              f"{r2.len()} stocks:")  # fmt: skip
        print(pl.DataFrame({f"q{round(q * 100):02d}": [r2.quantile(q, "linear")]
                            for q in R2_QUANTILES}))  # fmt: skip
        print(f"\nCap-weighted portfolio of {weights.height} stocks on {year_ago} "
              f"(annualized volatility, next {WINDOW} days):")  # fmt: skip
        print(rvi.select(
            "n_obs", (pl.col("implied_vol", "realized_vol") * ANNUAL), "ratio"
        ))  # fmt: skip
        print(f"\nBias statistic of the cap-weighted portfolio (daily returns over the "
              f"previous day's forecast; 1 = calibrated), rolling {WINDOW} days, at each "
              "year's end, without and with the volatility regime adjustment:")  # fmt: skip
        print(by_year)
        print("\nWhole period (95% band: lower .. upper):")
        print(overall)
    print(f"wall time: {elapsed:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
