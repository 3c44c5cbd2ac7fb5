"""Pipeline steps 1-3: descriptors, USE4 standardization, Fama-French factors.

Each step reads the frames of the previous ones, adds its tables to a
:class:`Results` and notes what it skipped. Library calls only; per-row work is Polars
expressions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import polars as pl

import polars_factors as pf
from polars_factors.exceptions import InsufficientDataError
from polars_factors.pipeline._config import ModelConfig

__all__ = ["ANNUAL", "Results", "descriptors", "fama_french", "standardize"]

#: Daily data: annualize volatilities by sqrt(252).
ANNUAL = math.sqrt(252)
_VALUE_INPUTS = {"bp": "book_equity", "ey": "net_income", "sp": "sales"}


@dataclass
class Results:
    """What the steps computed: tables (written as parquet), objects for the figures.

    Attributes
    ----------
    tables
        Output name -> frame; each is written as ``<name>.parquet``.
    notes
        Skipped steps and warnings, for the report.
    styles
        The styles of the model (those that could be built).
    industry
        The industry column of the model, or ``None``.
    has_mcap
        Whether there is a market cap (cap weights) or equal weights are used.
    objects
        Result objects of the library for the figures (``cross_section``,
        ``ic_<style>``, ``quantiles_<style>``, ``portfolio``).
    summary
        Headline numbers for the printed summary.
    """

    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    industry: str | None = None
    has_mcap: bool = False
    focus_asset: str | None = None
    objects: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


def _returns(columns: set[str], model: ModelConfig) -> dict[str, pl.Expr]:
    """Daily return (null across a gap in the asset's dates), next-day return, descriptors."""
    close = pl.col("close")
    prev_close = close.shift(1).over("asset")
    consecutive = pl.col("date").shift(1).over("asset") == pl.col("prev_date")
    out: dict[str, pl.Expr] = {
        "ret": pl.when(consecutive & (prev_close > 0)).then(close / prev_close - 1.0)
    }
    skip, back = model.momentum_skip, model.momentum_lookback
    out["momentum"] = close.shift(skip).over("asset") / close.shift(back).over("asset") - 1.0
    if "volume" in columns:
        dollar = (close * pl.col("volume")).rolling_mean(model.liquidity_window).over("asset")
        out["liquidity"] = pl.when(dollar > 0).then(dollar.log())
    return out


def descriptors(panel: pl.LazyFrame, model: ModelConfig, res: Results) -> pl.DataFrame:
    """Step 1: daily returns, market cap and the raw descriptors of every row.

    Market cap = close x shares outstanding, the last known share count of the asset
    carried forward (a stale count beats none). ``size`` = log cap, ``bp``/``ey``/``sp``
    = book equity / net income / sales over cap, ``momentum`` = 12-1 return,
    ``volatility`` = std of the last ``volatility_window`` daily returns,
    ``liquidity`` = log mean dollar volume. Sorted by date then asset.
    """
    columns = set(panel.collect_schema().names())
    calendar = (
        panel.select(pl.col("date").unique())
        .sort("date")
        .with_columns(pl.col("date").shift(1).alias("prev_date"))
    )
    lf = panel.sort("asset", "date").join(calendar, on="date", how="left", maintain_order="left")
    lf = lf.with_columns(**_returns(columns, model)).with_columns(
        pl.col("ret").shift(-1).over("asset").alias("fwd_ret"),
        pl.col("ret").rolling_std(model.volatility_window).over("asset").alias("volatility"),
    )
    keep = ["date", "asset", *(c for c in ("sector", "industry") if c in columns)]
    keep += ["close", "ret", "fwd_ret"]
    res.has_mcap = "shares_outstanding" in columns
    if res.has_mcap:
        shares = pl.col("shares_outstanding").forward_fill().over("asset")
        mcap = pl.when((pl.col("close") > 0) & (shares > 0)).then(pl.col("close") * shares)
        lf = lf.with_columns(mcap.alias("mcap")).with_columns(pl.col("mcap").log().alias("size"))
        value = [d for d in model.value if _VALUE_INPUTS[d] in columns]
        lf = lf.with_columns((pl.col(_VALUE_INPUTS[d]) / pl.col("mcap")).alias(d) for d in value)
        keep += ["mcap", "size", *value]
    else:
        res.notes.append("no shares_outstanding column: no market cap, equal weights.")
    keep += [c for c in ("momentum", "volatility", "liquidity") if c in lf.collect_schema()]
    out = lf.select(keep).sort("date", "asset").collect()
    if out.height == 0:
        msg = "the panel has no rows (check [data] start, end and assets)"
        raise InsufficientDataError(msg)
    res.styles = _buildable(out.columns, model, res)
    res.summary |= {
        "rows": out.height,
        "dates": out.get_column("date").n_unique(),
        "assets": out.get_column("asset").n_unique(),
        "first": out.get_column("date").min(),
        "last": out.get_column("date").max(),
    }
    return out


def _buildable(columns: list[str], model: ModelConfig, res: Results) -> list[str]:
    needs = {
        "size": ["size"],
        "value": [d for d in model.value if d in columns] or ["bp|ey|sp"],
        "momentum": ["momentum"],
        "volatility": ["volatility"],
        "liquidity": ["liquidity"],
    }
    styles = []
    for style in model.styles:
        missing = [c for c in needs[style] if c not in columns]
        if missing:
            res.notes.append(f"style {style!r} skipped: its inputs are missing ({missing[0]}).")
        else:
            styles.append(style)
    return styles


def standardize(desc: pl.DataFrame, model: ModelConfig, res: Results) -> pl.DataFrame:
    """Step 2: USE4 standardization of the estimation universe; ``value`` combined.

    The universe is the rows with a market cap and an industry (when used). The
    styles are cap-weighted mean 0, equal-weighted std 1, winsorized
    (:func:`polars_factors.standardize`); ``value`` is the re-standardized average of
    ``bp``, ``ey`` and ``sp`` (:func:`polars_factors.combine`). Only the dates where
    every style and the next-day return have a value are kept (the regression's).
    """
    res.industry = model.industry if model.industry in desc.columns else None
    if model.industry is not None and res.industry is None:
        res.notes.append(f"no {model.industry} column: no industry factors.")
    lf = desc.lazy()
    if res.has_mcap:
        lf = lf.filter(pl.col("mcap").is_not_null())
    if res.industry is not None:
        lf = lf.filter(pl.col(res.industry).is_not_null())
    value = [d for d in model.value if d in desc.columns] if "value" in res.styles else []
    raw = [s for s in res.styles if s != "value"] + value
    weights = "mcap" if res.has_mcap else None
    if raw:
        lf = pf.standardize(lf, raw, weights=weights, min_count=model.min_count)
    if value:
        lf = pf.combine(lf, {"value": value}, weights=weights, check_keys=False)
    keep = ["date", "asset", *([res.industry] if res.industry else [])]
    keep += ["mcap", "w"] if res.has_mcap else []
    if res.has_mcap:  # sqrt(cap): the USE4 regression weights
        lf = lf.with_columns(pf.exprs.regression_weights("mcap").alias("w"))
    exposures = lf.select(*keep, "ret", "fwd_ret", *res.styles).collect()
    counts = exposures.select(pl.col(res.styles).count()).row(0) if res.styles else ()
    for style, count in zip(list(res.styles), counts, strict=True):
        if count == 0:
            res.notes.append(f"style {style!r} dropped: no stock has it (too short a history?).")
            res.styles.remove(style)
    usable = pl.col("fwd_ret").is_not_null().any()
    for style in res.styles:
        usable &= pl.col(style).is_not_null().any()
    exposures = exposures.select(*keep, "ret", "fwd_ret", *res.styles)
    exposures = exposures.filter(usable.over("date")).sort("date", "asset")
    if exposures.height == 0:
        msg = "no date has every style and a next-day return: nothing to regress"
        raise InsufficientDataError(msg)
    return exposures


def fama_french(desc: pl.DataFrame, ff: pl.DataFrame, res: Results) -> None:
    """Step 3: daily SMB, HML (and UMD) from 2x3 sorts, compared with French's.

    :func:`polars_factors.portfolio.fama_french` on the daily panel: size and
    book-to-price buckets set at the end of each June, momentum buckets each month,
    value-weighted by the previous day's cap.
    """
    if not res.has_mcap:
        res.notes.append("Fama-French factors skipped: no market cap.")
        return
    value = "bp" if "bp" in desc.columns else None
    momentum = "momentum" if desc.get_column("momentum").is_not_null().any() else None
    if value is None and momentum is None:
        res.notes.append("Fama-French factors skipped: no book-to-price and no momentum.")
        return
    panel = desc.select("date", "asset", "mcap", "ret", *(c for c in (value, momentum) if c))
    ours = pf.portfolio.fama_french(panel, size="mcap", value=value, momentum=momentum)
    factors = [c for c in ("SMB", "HML", "UMD") if c in ours.columns]
    ours = ours.filter(pl.any_horizontal(pl.col(factors).is_not_null()))
    if ours.height == 0:
        res.notes.append("Fama-French factors skipped: no formation date in the sample.")
        return
    both = ours.join(
        ff.select("date", pl.col("smb").alias("SMB_french"), pl.col("hml").alias("HML_french")),
        on="date",
        how="left",
    ).sort("date")
    res.tables["fama_french"] = both
    rows = []
    for ours_col in ("SMB", "HML"):
        if ours_col not in both.columns:
            continue
        pair = both.select(ours_col, f"{ours_col}_french").drop_nulls()
        a, b = pair.get_column(ours_col), pair.get_column(f"{ours_col}_french")
        rows.append(
            {
                "factor": ours_col,
                "n_days": pair.height,
                "correlation": pair.select(pl.corr(ours_col, f"{ours_col}_french")).item(),
                "mean_ann": _num(a.mean()) * 252,
                "french_mean_ann": _num(b.mean()) * 252,
                "vol_ann": _num(a.std()) * ANNUAL,
                "french_vol_ann": _num(b.std()) * ANNUAL,
                "tracking_error_ann": _num((a - b).std()) * ANNUAL,
            }
        )
    if rows:
        table = pl.DataFrame(rows)
        res.tables["fama_french_comparison"] = table
        res.summary["ff_corr"] = dict(zip(table["factor"], table["correlation"], strict=True))
    else:
        res.notes.append("no SMB/HML: no book-to-price column; only UMD was built.")


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else math.nan
