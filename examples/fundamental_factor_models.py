"""Fundamental factor models on the bundled S&P 500 sample: SMB and HML by sorts, betas, z-scores.

The Quantopian lecture "Fundamental Factor Models" (pipeline, pandas groupby and
``MovingOLS``) rewritten with polars_factors, on the data bundled with the package.

What it does
------------
1. Loads the bundled daily panel (:func:`polars_factors.datasets.load_sp500`) and adds
   the daily return ``ret`` (null across a gap in a stock's dates), the market cap
   ``mcap`` = close x shares outstanding and the book-to-price ``bp`` = book equity /
   ``mcap`` (null for a negative book, as Fama and French leave those out). The
   bundled fundamentals are point in time (public 90 days after the fiscal year end);
   the source lacks the fiscal-2016 share count of about half of the stocks, so each
   stock keeps its last known share count (a stale count beats none).
2. **Factors by sorts.** :func:`polars_factors.portfolio.fama_french`: at the end of
   each June, size at the median and book-to-price at the 30th and 70th percentiles,
   six value-weighted portfolios held July to June; SMB and HML from them, daily.
   Then the lecture's simpler variant (each day, the bottom minus the top third by the
   previous close's market cap, the top minus the bottom third by book-to-price,
   equal weights; :func:`polars_factors.portfolio.long_short`). Both are compared with
   Kenneth French's daily factors, bundled too
   (:func:`polars_factors.datasets.load_fama_french`): correlation, annualized
   tracking error and mean. Every S&P 500 stock is big by Fama-French standards (their
   size breakpoint is the NYSE median), so our SMB is a mid-cap-minus-mega-cap spread
   and tracks theirs only loosely; HML holds up better.
3. **Betas of a portfolio.** The equal-weighted Information Technology portfolio (the
   GICS sector, about 60 stocks) in excess of the risk-free rate, regressed on
   French's ``Mkt-RF`` and our SMB and HML with :func:`polars_factors.betas`: over the
   whole sample, and over rolling 126-day windows (``MovingOLS``).
4. **Cross-sectional approach.** Each day, the size (log market cap) and value
   (book-to-price) of every stock are winsorized at the 5th and 95th percentiles
   (:func:`polars_factors.winsorize`) and z-scored (:func:`polars_factors.zscore`);
   the day's returns are regressed on the z-scores of the previous close and an
   intercept (:func:`polars_factors.cross_section`, one lazy plan for all days). The
   Fama-MacBeth table averages the daily factor returns; their correlation with SMB
   and HML shows the two approaches measure the same thing.
5. With ``--output DIR``, saves ``smb_hml_vs_french.png``
   (:func:`polars_factors.plot.cumulative_returns` of our SMB and HML and French's)
   and ``tech_rolling_betas.png`` (:func:`polars_factors.plot.rolling_betas`).

How to run
----------
From the repository root (bundled data, nothing to download)::

    python examples/fundamental_factor_models.py
    python examples/fundamental_factor_models.py --output docs/examples/img

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

WINDOW = 126  # trading days: the rolling betas' window
TECH = "Information Technology"
FACTORS = ["Mkt-RF", "SMB", "HML"]
ANNUAL = 252


def build_panel() -> pl.LazyFrame:
    """Daily panel: ret, mcap, bp, size (log mcap), sector; sorted by asset then date."""
    raw = pf.datasets.load_sp500().select(
        "date", "asset", "close", "sector", "shares_outstanding", "book_equity"
    )
    # The bundled panel is sorted by (asset, date): forward_fill over the asset carries
    # the last known share count forward in time.
    shares = pl.col("shares_outstanding").forward_fill().over("asset")
    mcap = pl.when(pl.col("close") > 0).then(pl.col("close") * shares)
    book = pl.when(pl.col("book_equity") > 0).then(pl.col("book_equity"))
    return (
        daily_returns(raw)
        .with_columns(mcap.alias("mcap"))
        .with_columns((book / pl.col("mcap")).alias("bp"), pl.col("mcap").log().alias("size"))
        .select("date", "asset", "sector", "ret", "mcap", "bp", "size")
    )


def sorted_factors(panel: pl.LazyFrame) -> pl.LazyFrame:
    """Fama-French SMB/HML and the lecture's daily tercile spreads, one row per date."""
    ff = pf.portfolio.fama_french(panel, size="mcap", book_to_market="bp", returns="ret")
    # The lecture: terciles on the previous close's values, equal weights, every day.
    previous = panel.with_columns(pl.col("mcap", "bp").shift(1).over("asset"))
    smb = previous.factors.long_short("mcap", "ret", n=3).select(
        "date", (-pl.col("long_short")).alias("SMB_lecture")
    )
    hml = previous.factors.long_short("bp", "ret", n=3).select(
        "date", pl.col("long_short").alias("HML_lecture")
    )
    return ff.join(smb, on="date", how="left").join(hml, on="date", how="left").sort("date")


def comparison(ours: pl.DataFrame, french: pl.DataFrame) -> pl.DataFrame:
    """Correlation, annualized tracking error and means of our factors against French's."""
    both = ours.join(french, on="date", how="inner", suffix="_french")
    rows = []
    for name in ("SMB", "HML", "SMB_lecture", "HML_lecture"):
        theirs = f"{name.split('_')[0]}_french"
        pair = both.select(name, theirs).drop_nulls()
        rows.append(
            {
                "factor": name,
                "days": pair.height,
                "corr_with_french": pair.select(pl.corr(name, theirs)).item(),
                "tracking_error_ann": float((pair[name] - pair[theirs]).std() or 0.0)
                * math.sqrt(ANNUAL),
                "mean_ann": float(pair[name].mean() or 0.0) * ANNUAL,
                "mean_french_ann": float(pair[theirs].mean() or 0.0) * ANNUAL,
            }
        )
    return pl.DataFrame(rows)


def tech_portfolio(
    panel: pl.LazyFrame, factors: pl.DataFrame, french: pl.DataFrame
) -> pl.DataFrame:
    """Equal-weighted tech excess return with Mkt-RF (French) and our SMB, HML; by date."""
    tech = (
        panel.filter(pl.col("sector") == TECH)
        .group_by("date")
        .agg(pl.col("ret").mean().alias("tech"), pl.col("ret").count().alias("n_stocks"))
        .collect()
    )
    return (
        tech.join(french.select("date", "Mkt-RF", "RF"), on="date", how="inner")
        .join(factors.select("date", "SMB", "HML"), on="date", how="inner")
        .drop_nulls(["SMB", "HML"])
        .sort("date")
        .with_columns((pl.col("tech") - pl.col("RF")).alias("tech_excess"), asset=pl.lit("tech"))
    )


def cross_sectional(panel: pl.LazyFrame) -> pf.CrossSectionResult[pl.DataFrame]:
    """Winsorized z-scores of size and value; each day's returns on the previous close's."""
    universe = panel.filter(pl.col("mcap").is_not_null() & pl.col("bp").is_not_null())
    scored = universe.factors.winsorize(["size", "bp"], lower=0.05, upper=0.95)
    scored = scored.factors.zscore(["size", "bp"], check_keys=False).rename({"bp": "value"})
    # Exposures known at the previous close: the universe is sorted by (asset, date).
    # Rows without a return or a previous close (a stock's first day) are not regressed.
    lagged = scored.with_columns(pl.col("size", "value").shift(1).over("asset")).drop_nulls(
        ["ret", "size", "value"]
    )
    res = lagged.factors.cross_section("ret", ["size", "value"], country=True, check_keys=False)
    return res.collect()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="folder for the PNG figures (default: none)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    panel = build_panel().collect().lazy()
    french = pf.datasets.load_fama_french("daily")
    factors = sorted_factors(panel).collect()
    start_date = factors.drop_nulls("SMB")["date"].min()
    factors = factors.filter(pl.col("date") >= start_date)
    table = comparison(factors, french.rename({"SMB": "SMB_french", "HML": "HML_french"}))
    tech = tech_portfolio(panel, factors, french)
    full = pf.betas(tech, "tech_excess", FACTORS)
    full_french = pf.betas(
        tech.drop("SMB", "HML").join(french.select("date", "SMB", "HML"), on="date"),
        "tech_excess",
        FACTORS,
    )
    rolling = pf.betas(tech, "tech_excess", FACTORS, window=WINDOW, min_periods=WINDOW)
    res = cross_sectional(panel)
    fm = res.summary()
    daily = res.factor_returns.pivot("factor", index="date", values="factor_return").join(
        factors.select("date", "SMB", "HML"), on="date", how="inner"
    )
    elapsed = time.perf_counter() - start

    last = factors["date"].max()
    config = pl.Config(
        tbl_rows=-1, tbl_cols=-1, tbl_hide_dataframe_shape=True, float_precision=3,
        tbl_hide_column_data_types=True, tbl_width_chars=120,
    )  # fmt: skip
    with config:
        print(f"Factors by sorts from the bundled S&P 500 panel, daily, {start_date} .. {last}")
        print("(annualized: tracking error and means x 252; French = Kenneth French's factors)")
        print(table)
        n_tech = tech["n_stocks"].median()
        print(
            f"\nEqual-weighted {TECH} portfolio (median {n_tech:.0f} stocks) minus RF, "
            f"{tech.height} days: full-sample betas (alpha in bp/day)"
        )
        cols = ["alpha", *(f"beta_{f}" for f in FACTORS)]
        fits = pl.concat(
            [
                fit.select(
                    pl.lit(name).alias("SMB and HML"),
                    (pl.col("alpha") * 1e4),
                    *cols[1:],
                    *(pl.col(f"{c}_t_stat").alias(f"t_{c.removeprefix('beta_')}") for c in cols),
                    "r2",
                )
                for name, fit in (("ours", full), ("French", full_french))
            ]
        )
        print(fits)
        betas = rolling.drop_nulls("beta_SMB")
        print(f"\nRolling {WINDOW}-day betas ({betas.height} windows), 5% / 50% / 95% quantiles:")
        print(
            pl.DataFrame(
                {
                    "quantile": ["q05", "q50", "q95"],
                    **{
                        f"beta_{f}": [betas[f"beta_{f}"].quantile(q) for q in (0.05, 0.5, 0.95)]
                        for f in FACTORS
                    },
                }
            )
        )
        n_days = res.stats.filter(pl.col("status") == "ok").height
        print(
            f"\nCross-sectional regressions of {n_days} days: returns on the previous close's "
            "winsorized z-scores of size and value and an intercept (country)."
        )
        print(
            "Fama-MacBeth (mean and std in bp per day; nw_t_stat: Newey-West), median R² "
            f"{res.stats['r2'].median():.3f}:"
        )
        print(
            fm.select(
                "factor",
                (pl.col("mean", "std") * 1e4),
                "t_stat",
                "nw_t_stat",
                "n_periods",
            )
        )
        corr_size = daily.select(pl.corr("size", "SMB")).item()
        corr_value = daily.select(pl.corr("value", "HML")).item()
        print(
            f"Daily correlation of the size return with SMB: {corr_size:.3f}; "
            f"of the value return with HML: {corr_value:.3f}."
        )

    if args.output is not None:
        args.output.mkdir(parents=True, exist_ok=True)
        curves = factors.select("date", "SMB", "HML").join(
            french.select("date", pl.col("SMB", "HML").name.suffix(" (French)")),
            on="date",
            how="inner",
        )
        figures = {
            "smb_hml_vs_french.png": plot.cumulative_returns(
                curves, title="SMB and HML from S&P 500 sorts against French's"
            ),
            "tech_rolling_betas.png": plot.rolling_betas(
                rolling, title=f"{TECH} portfolio: rolling {WINDOW}-day betas"
            ),
        }
        for name, fig in figures.items():
            fig.savefig(args.output / name, dpi=100)
        print(f"\nfigures: {', '.join(figures)} in {args.output}")
    print(f"wall time: {elapsed:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
