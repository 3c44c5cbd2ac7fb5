"""A Barra USE4-style model of the S&P 500 from raw data: descriptors, styles, risk.

What it does
------------
1. Reads daily OHLCV prices, the GICS sector of each ticker and the fiscal-year
   fundamentals (book equity, net income, sales, operating cash flow, total assets,
   total liabilities, long-term debt, the share count): the full data in
   ``../shared/data`` or, with ``--bundled``, the sample bundled with the package
   (three years of prices; book equity, net income, sales and shares only).
2. The five-year descriptors (``egro``, ``sgro``, ``agro``, ``vern``, ``vsales``,
   ``vcfs``: :func:`polars_factors.descriptors.fiscal_descriptors`) on the fiscal table,
   per share where USE4 takes them so, **over 3 fiscal years instead of 5**: the data
   has at most 4 fiscal years (2012-2016) per ticker. Where the file lacks the share
   count of a year (half of fiscal 2016), the previous year's is used.
3. Joins the fiscal table point in time (:func:`polars_factors.io.point_in_time`, 90
   days after the period end) onto the daily prices, adds the daily return (null
   across a gap), the market cap and the cap-weighted market return (previous day's
   caps), and computes every descriptor the data supports
   (:func:`polars_factors.descriptors.compute`): beta, hsigma, dastd, cmra, rstr,
   lncap, nlsize, stom/stoq/stoa, hilo, btop, etop, sp and, from the full data,
   cetop, mlev, dtoa, blev. There is no dividend in the data: no ``dyld``.
4. On the estimation universe (rows with a market cap and a sector) turns them into
   styles with the ``"use4"`` preset (10 styles on the full data, 9 on the bundled
   one: no leverage) and, for comparison of coverage, the ``"hsr"`` preset.
5. Every date *t* on which each USE4 style covers at least half of the universe,
   regresses the return from the close of *t* to the next close on the exposures of
   *t* (:func:`polars_factors.cross_section`: the styles, the 11 GICS sectors and a
   country factor; weights sqrt(cap), cap-weighted sector constraint). A stock's
   missing style exposures are filled with the day's median of its sector
   (:func:`polars_factors.fill_missing`) so that it stays in the regression.
   The four-style model of ``risk_model.py`` (size, value, mom, vol) is fitted on the
   same universe and dates, to compare the explained variance.
6. The risk model of each date, as ``risk_model_sp500.py``: USE4S factor covariance,
   specific variances (84-day half-life, Newey-West, Bayesian shrinkage), the
   exposures of *t* with the risk estimated up to the date before; the bias statistic
   of the cap-weighted portfolio (1 = calibrated), without and with the volatility
   regime adjustment.
7. Prints the coverage of each style (share of the universe's stock-days with an
   exposure), the Fama-MacBeth table of the style returns, the median per-date R² of
   both models, the bias statistics and the wall time.

The descriptor and style steps are lazy plans, collected once on the streaming engine.

How to run
----------
From the repository root::

    python examples/barra_style_model.py                  # data in ../shared/data
    python examples/barra_style_model.py --data-dir PATH  # or POLARS_FACTORS_DATA=PATH
    python examples/barra_style_model.py --bundled        # the bundled sample

It runs in about 11 seconds on two cores (8 on the bundled sample).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from factor_exposures import daily_returns  # the sibling examples (their folder is on sys.path)
from risk_model import DESCRIPTORS as FOUR_DESCRIPTORS
from risk_model import STYLES as FOUR_STYLES
from risk_model import VOL_WINDOW, loadings
from risk_model_sp500 import bias_tables, previous_date, regime_multipliers, with_regime
from standardize_sp500 import example_parser, find_data

import polars_factors as pf

#: Fiscal years in the growth and variability windows (USE4: 5; the data has at most 4).
FISCAL_YEARS = 3
REPORTING_LAG = "90d"  # the latest 10-K deadline
MIN_STOCKS = 25  # USE4's min_count: no market return or exposures on a date with fewer
MIN_COVERAGE = 0.5  # a date is regressed when every style covers this share of its stocks
PRESET = "USE4S"
SPECIFIC = {"half_life": 84, "nw_lags": 5, "shrinkage": 0.1, "n_groups": 10}

#: Fundamental role -> column of the full data's fundamentals.csv.
CSV_COLUMNS = {
    "shares_outstanding": "Estimated Shares Outstanding",
    "book_equity": "Total Equity",
    "net_income": "Net Income",
    "sales": "Total Revenue",
    "operating_cash_flow": "Net Cash Flow-Operating",
    "total_assets": "Total Assets",
    "total_liabilities": "Total Liabilities",
    "long_term_debt": "Long-Term Debt",
}


@dataclass(frozen=True)
class Inputs:
    """Daily OHLCV (lazy), sector per ticker (lazy), fiscal table (one row per year)."""

    prices: pl.LazyFrame
    sectors: pl.LazyFrame
    fiscal: pl.DataFrame
    source: str


def read_full(data_dir: Path) -> Inputs:
    """The full data: five years of prices, every fundamental the CSV has."""
    prices = pl.scan_parquet(data_dir / "sp500_5yr" / "prices.parquet").select(
        "date", pl.col("Name").alias("asset"), "open", "high", "low", "close", "volume"
    )
    sectors = pl.scan_csv(data_dir / "nyse_kaggle" / "securities.csv").select(
        pl.col("Ticker symbol").alias("asset"), pl.col("GICS Sector").alias("sector")
    )
    # "Period Ending" was re-saved by a spreadsheet: 31-Dec-12, 3-Jan-15.
    fiscal = pl.read_csv(
        data_dir / "nyse_kaggle" / "fundamentals.csv",
        columns=["Ticker Symbol", "Period Ending", *CSV_COLUMNS.values()],
        schema_overrides=dict.fromkeys(CSV_COLUMNS.values(), pl.Float64),
    ).select(
        pl.col("Ticker Symbol").alias("asset"),
        pl.col("Period Ending").str.to_date("%d-%b-%y").alias("period_end"),
        *(pl.col(column).alias(role) for role, column in CSV_COLUMNS.items()),
    )
    return Inputs(prices, sectors, fiscal, str(data_dir))


def read_bundled() -> Inputs:
    """The sample bundled with the package (the files behind ``pf.datasets.load_sp500``)."""
    path = pf.datasets.data_path
    return Inputs(
        pl.scan_parquet(path("sp500_prices.parquet")),
        pl.scan_parquet(path("sp500_securities.parquet")).select("asset", "sector"),
        pl.read_parquet(path("sp500_fundamentals.parquet")),
        "bundled sample",
    )


def fiscal_table(fiscal: pl.DataFrame) -> pl.DataFrame:
    """The fiscal table with the growth and variability descriptors of each year."""
    shares = pl.col("shares_outstanding")
    fiscal = fiscal.sort("asset", "period_end").with_columns(
        # Net income / EPS: missing for half of fiscal 2016, and <= 0 in 4 rows.
        pl.when(shares > 0)
        .then(shares)
        .forward_fill()
        .over("asset")
        .alias(shares.meta.output_name())
    )
    roles = {
        r: r
        for r in ("net_income", "sales", "total_assets", "operating_cash_flow")
        if r in fiscal.columns
    }
    return pf.descriptors.fiscal_descriptors(
        fiscal, {**roles, "shares": "shares_outstanding"}, years=FISCAL_YEARS
    )


def daily_panel(inputs: Inputs, fiscal: pl.DataFrame) -> pl.LazyFrame:
    """Prices with the point-in-time fundamentals, sector, returns, caps, market return."""
    prices = inputs.prices.sort("asset", "date")
    panel = pf.io.point_in_time(prices, fiscal, lag=REPORTING_LAG).join(
        inputs.sectors, on="asset", how="left", maintain_order="left"
    )
    close, shares = pl.col("close"), pl.col("shares_outstanding")
    panel = daily_returns(panel).with_columns(
        pl.when((close > 0) & (shares > 0)).then(close * shares).alias("mcap")
    )
    ret = pl.col("ret")
    panel = panel.with_columns(
        pl.col("mcap").shift(1).over("asset").alias("mcap_prev"),
        ret.shift(-1).over("asset").alias("fwd_ret"),
        # The four-style model's momentum (12-1) and volatility (as risk_model.py).
        (close.shift(21) / close.shift(252) - 1.0).over("asset").alias("mom"),
        ret.rolling_std(VOL_WINDOW).over("asset").alias("vol"),
    )
    # The previous day's caps as a column: a window inside the per-date one would
    # run within each date.
    w = pl.when(ret.is_not_null()).then(pl.col("mcap_prev"))
    market = pl.when(w.count() >= MIN_STOCKS).then((ret * w).sum() / w.sum())
    return panel.with_columns(market.over("date").alias("market_ret"))


def descriptors(panel: pl.LazyFrame, fundamentals: Sequence[str]) -> pl.LazyFrame:
    """Every descriptor the panel supports, on the estimation universe."""
    desc = pf.descriptors.compute(panel, fundamentals={r: r for r in fundamentals}, check_keys=True)
    universe = desc.filter(pl.col("mcap").is_not_null() & pl.col("sector").is_not_null())
    # Before the first fiscal years are public (spring 2013) only a few stocks have a
    # cap; and a descriptor with a long window starts with the few stocks whose share
    # count came first. USE4's min_count: no value on a date with fewer stocks.
    names = [d for d in pf.descriptors.DESCRIPTORS if d in desc.collect_schema()]
    enough = [pl.when(pl.col(d).count().over("date") >= MIN_STOCKS).then(d).alias(d) for d in names]
    return universe.filter(pl.len().over("date") >= MIN_STOCKS).with_columns(enough)


def coverage(exposures: dict[str, pl.DataFrame], names: dict[str, list[str]]) -> pl.DataFrame:
    """Share of the universe's stock-days with an exposure, per style (rows) and preset."""
    tables = [
        exposures[preset]
        .select(pl.col(s).is_not_null().mean() for s in styles)
        .unpivot(variable_name="style", value_name=preset)
        for preset, styles in names.items()
    ]
    out = tables[0]
    for table in tables[1:]:
        out = out.join(table, on="style", how="full", coalesce=True, maintain_order="left_right")
    return out


def regression_panel(exposures: pl.DataFrame, styles: list[str]) -> pl.DataFrame:
    """The dates every style covers well, missing exposures filled, rows with a next return.

    A stock without a style exposure (e.g. no growth: fewer than three fiscal years)
    takes the day's median of its sector rather than leaving the regression.
    """
    covered = pl.all_horizontal(
        pl.col(s).is_not_null().mean().over("date") >= MIN_COVERAGE for s in styles
    )
    kept = exposures.filter(covered & pl.col("fwd_ret").is_not_null().any().over("date"))
    filled = pf.fill_missing(kept, styles, by=["date", "sector"], check_keys=False)
    return filled.drop_nulls(["fwd_ret", *styles]).with_columns(
        pl.col("mcap").sqrt().alias("sqrt_mcap")
    )


def four_style_panel(desc: pl.DataFrame, dates: pl.Series) -> pl.DataFrame:
    """The loadings of ``risk_model.py`` (size, value, mom, vol) on the same dates."""
    raw = desc.filter(pl.col("date").is_in(dates)).with_columns(
        pl.col("lncap").alias("size"),
        pl.col("btop").alias("bp"),
        pl.col("etop").alias("ey"),
        pl.col("mcap").sqrt().alias("sqrt_mcap"),
    )
    return loadings(raw.lazy().select("date", "asset", "sector", "mcap", "sqrt_mcap",
                                      "fwd_ret", *FOUR_DESCRIPTORS)).collect()  # fmt: skip


def fit(panel: pl.DataFrame, styles: list[str]) -> pf.CrossSectionResult:
    """Every date: r(t+1) on the exposures of t, sectors and country; sqrt-cap WLS."""
    return pf.cross_section(
        panel,
        "fwd_ret",
        styles,
        industry="sector",
        country=True,
        weights="sqrt_mcap",
        constraint_weights="mcap",
        check_keys=False,  # the descriptors' plan checked that (date, asset) is unique
    )


def exposure_matrix(panel: pl.DataFrame, styles: list[str], factors: list[str]) -> pl.DataFrame:
    """Wide exposures: the styles, 1 for the country factor, sector dummies."""
    sectors = [f for f in factors if f not in {*styles, "country"}]
    return panel.select(
        "date",
        "asset",
        *styles,
        pl.lit(1.0).alias("country"),
        *[(pl.col("sector") == s).cast(pl.Float64).alias(s) for s in sectors],
    )


def portfolio_forecasts(
    panel: pl.DataFrame,
    risk: dict[str, pl.DataFrame],
    calendar: pl.DataFrame,
    styles: list[str],
    factors: list[str],
) -> pl.DataFrame:
    """Per date: the cap-weighted portfolio's predicted variances and its next return.

    The portfolio holds the stocks with a specific variance of the previous date; the
    forecast of *t* uses the covariance and specific variances of the date before.
    """
    prev_spec = risk["specific"].rename({"date": "prev"}).drop_nulls("specific_var")
    held = (
        panel.join(calendar, on="date", how="left", maintain_order="left")
        .join(prev_spec, on=["prev", "asset"], how="inner", maintain_order="left")
        .with_columns((pl.col("mcap") / pl.col("mcap").sum().over("date")).alias("weight"))
    )
    x = (
        exposure_matrix(held, styles, factors)
        .with_columns(held.get_column("weight"))
        .group_by("date")
        .agg((pl.col(f) * pl.col("weight")).sum() for f in factors)
        .unpivot(index="date", variable_name="factor", value_name="x")
    )
    prev_cov = (
        risk["cov"]
        .drop_nulls("covariance")
        .join(calendar.rename({"date": "t", "prev": "date"}), on="date")
        .drop("date")
        .rename({"t": "date"})
    )
    factor_var = (
        prev_cov.join(x.rename({"factor": "factor_1", "x": "x1"}), on=["date", "factor_1"])
        .join(x.rename({"factor": "factor_2", "x": "x2"}), on=["date", "factor_2"])
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


def bias(
    res: pf.CrossSectionResult, panel: pl.DataFrame, styles: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The bias statistics of the cap-weighted portfolio (rolling by year, whole period)."""
    cov = pf.risk.factor_covariance(res.factor_returns, preset=PRESET)
    # The residuals have the panel's rows in the panel's order: its caps line up.
    residuals = res.residuals.with_columns(panel.get_column("mcap"))
    specific = pf.risk.specific_risk(residuals, size="mcap", check_keys=False, **SPECIFIC)
    factors = res.factor_returns.get_column("factor").unique(maintain_order=True).to_list()
    calendar = previous_date(res.stats.get_column("date"))
    risk = {"cov": cov, "specific": specific}
    forecasts = portfolio_forecasts(panel, risk, calendar, styles, factors)
    lambdas = regime_multipliers(res, cov, residuals, specific)
    return bias_tables(with_regime(forecasts, lambdas, calendar), calendar)


def fama_macbeth_table(res: pf.CrossSectionResult, styles: list[str]) -> pl.DataFrame:
    """Fama-MacBeth table of the style returns, mean and std in basis points per day."""
    styles_only = res.factor_returns.filter(pl.col("factor").is_in(styles))
    return pf.fama_macbeth(styles_only).select(
        "factor",
        (pl.col("mean") * 1e4).alias("mean_bp"),
        (pl.col("std") * 1e4).alias("std_bp"),
        "t_stat",
        "nw_t_stat",
        "n_periods",
    )


def style_exposures(
    inputs: Inputs,
) -> tuple[pl.DataFrame, dict[str, list[str]], dict[str, pl.DataFrame]]:
    """The descriptors of the universe, and the styles of each preset the data supports."""
    fiscal = fiscal_table(inputs.fiscal)
    fundamentals = [
        r for r in pf.descriptors.FUNDAMENTAL_ROLES if r in fiscal.columns and r != "period_end"
    ]
    # Collected once: each style plan reads the descriptors several times (standardize,
    # combine, orthogonalise); on a lazy input each read would compute them again.
    desc = descriptors(daily_panel(inputs, fiscal), fundamentals).collect(engine="streaming")
    names = {
        preset: [s for s, parts in spec.items() if any(d in desc.columns for d in parts)]
        for preset, spec in pf.descriptors.STYLES.items()
    }
    plans = [
        pf.descriptors.styles(desc.lazy(), preset, weights="mcap", check_keys=False).select(
            "date", "asset", "sector", "mcap", "fwd_ret", *names[preset]
        )
        for preset in names
    ]
    exposures = dict(zip(names, pl.collect_all(plans, engine="streaming"), strict=True))
    return desc, names, exposures


def median_r2(fits: dict[str, pf.CrossSectionResult]) -> tuple[pl.Series, dict[str, Any]]:
    """The dates every model was fitted on, and each model's median R² over them."""
    stats = {name: res.stats.drop_nulls("r2") for name, res in fits.items()}
    dates = pl.concat([st.select("date") for st in stats.values()]).group_by("date").len()
    common = dates.filter(pl.col("len") == len(stats)).get_column("date").sort()
    medians = {
        name: st.filter(pl.col("date").is_in(common.implode())).get_column("r2").median()
        for name, st in stats.items()
    }
    return common, medians


def report(
    source: str,
    *,
    desc: pl.DataFrame,
    cover: pl.DataFrame,
    res: pf.CrossSectionResult,
    r2: tuple[pl.Series, dict[str, Any]],
    bias_stats: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    styles = cover.filter(pl.col("use4").is_not_null()).get_column("style").to_list()
    found = [d for d in pf.descriptors.DESCRIPTORS if d in desc.columns]
    well = cover.filter(pl.col("use4") > MIN_COVERAGE).height
    dates, medians = r2
    by_year, overall = bias_stats
    config = pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_hide_dataframe_shape=True, float_precision=3)
    with config:
        print(f"Barra-style model of the S&P 500 ({source}): {len(found)} descriptors "
              f"({', '.join(found)}); growth and variability over {FISCAL_YEARS} fiscal "
              "years.")  # fmt: skip
        print(f"\nStyle coverage: share of the universe's {desc.height} stock-days with an "
              "exposure (null: not in the preset):")  # fmt: skip
        print(cover)
        print(f"USE4 styles with coverage above {MIN_COVERAGE:.0%}: {well} of {len(styles)}")
        fitted = res.stats.get_column("date")
        print(f"\nDaily regressions, {fitted.len()} dates {fitted.min()} .. {fitted.max()}: "
              f"r(t+1) on the {len(styles)} USE4 styles, country and the GICS sectors "
              "(sqrt-cap WLS, cap-weighted sector constraint).")  # fmt: skip
        print("Fama-MacBeth table of the style returns (mean and std in bp per day):")
        print(fama_macbeth_table(res, styles))
        print(f"\nMedian per-date R² over the same {dates.len()} dates:")
        for name, value in medians.items():
            print(f"  {name}: {value:.3f}")
        print(f"\nRisk model ({PRESET} covariance, specific risk with shrinkage): bias "
              "statistic of the cap-weighted portfolio (daily return over the previous "
              "day's forecast; 1 = calibrated), rolling 252 days at each year's end:")  # fmt: skip
        print(by_year)
        print("Whole period (95% band: lower .. upper):")
        print(overall)
        print(f"Bias statistic, whole period: {overall.item(0, 'bias'):.3f} "
              f"(with the volatility regime adjustment {overall.item(1, 'bias'):.3f})")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = example_parser(__doc__, holds="sp500_5yr/ and nyse_kaggle/")
    parser.add_argument(
        "--bundled", action="store_true", help="use the sample bundled with the package"
    )
    args = parser.parse_args(argv)
    if args.bundled:
        inputs = read_bundled()
    else:
        data_dir = find_data(args.data_dir)
        if data_dir is None:
            return 2
        inputs = read_full(data_dir)

    start = time.perf_counter()
    desc, names, exposures = style_exposures(inputs)
    styles = names["use4"]
    panel = regression_panel(exposures["use4"], styles)
    dates = panel.get_column("date").unique().implode()
    # The hsr styles and the four styles of risk_model.py on the same dates.
    hsr = regression_panel(exposures["hsr"].filter(pl.col("date").is_in(dates)), names["hsr"])
    fits = {
        f"USE4 ({len(styles)} styles)": fit(panel, styles),
        f"hsr ({len(names['hsr'])} styles)": fit(hsr, names["hsr"]),
        f"risk_model.py ({', '.join(FOUR_STYLES)})": fit(
            four_style_panel(desc, dates), FOUR_STYLES
        ),
    }
    res = next(iter(fits.values()))
    bias_stats = bias(res, panel, styles)
    elapsed = time.perf_counter() - start
    cover = coverage(exposures, names)
    report(
        inputs.source, desc=desc, cover=cover, res=res, r2=median_r2(fits), bias_stats=bias_stats
    )
    print(f"wall time: {elapsed:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
