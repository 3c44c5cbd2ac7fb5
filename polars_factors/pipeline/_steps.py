"""Pipeline steps 1-3: descriptors, USE4 standardization, Fama-French factors.

Each step reads the frames of the previous ones, adds its tables to a
:class:`Results` and notes what it skipped. Library calls only; per-row work is Polars
expressions.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

import polars_factors as pf
from polars_factors.descriptors._registry import DESCRIPTORS, FUNDAMENTAL_ROLES
from polars_factors.exceptions import ConfigError, InsufficientDataError
from polars_factors.partition._run import write_frames
from polars_factors.pipeline._config import ModelConfig

__all__ = ["ANNUAL", "Results", "Sink", "descriptors", "fama_french", "standardize"]

#: Daily data: annualize volatilities by sqrt(252).
ANNUAL = math.sqrt(252)
_VALUE_INPUTS = {"bp": "book_equity", "ey": "net_income", "sp": "sales"}
#: The canonical column of each role of :func:`polars_factors.descriptors.compute`;
#: the market return (``mkt + rf``) and ``rf`` come from the Fama-French file.
_PRICE_ROLES = {
    "returns": "ret", "market": "market_ret", "close": "close", "high": "high", "low": "low",
    "volume": "volume", "shares": "shares_outstanding",
}  # fmt: skip


@dataclass
class Results:
    """What the steps computed: tables (written as parquet), objects for the figures.

    Attributes
    ----------
    tables
        Output name -> small frame (per date, asset or factor); each is written as
        ``<name>.parquet`` when its step finishes.
    files
        Output name -> scan of a per-row table (descriptors, exposures, residuals,
        rolling betas), written chunk by chunk by its step.
    notes
        Skipped steps and warnings, for the report.
    skipped
        Step (or part of a step) -> why it was skipped; each also has a note.
    styles
        The styles of the model (those that could be built).
    descriptors
        With a style preset: the descriptor weights of each style of ``styles``, over
        the descriptors that could be computed (empty without a preset).
    industry
        The industry column of the model, or ``None``.
    has_mcap
        Whether there is a market cap (cap weights) or equal weights are used
        (:attr:`weights` says which, in words).
    objects
        Result objects of the library for the figures (``cross_section``,
        ``ic_<style>``, ``quantiles_<style>``, ``portfolio``).
    summary
        Headline numbers for the printed summary.
    """

    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    files: dict[str, pl.LazyFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    styles: list[str] = field(default_factory=list)
    descriptors: dict[str, dict[str, float]] = field(default_factory=dict)
    industry: str | None = None
    has_mcap: bool = False
    focus_asset: str | None = None
    objects: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    #: Rows and columns of the tables already written, in the order written.
    written: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def weights(self) -> str:
        """Weights of the portfolio and the means: ``"cap-weighted"`` or ``"equal-weighted"``."""
        return "cap-weighted" if self.has_mcap else "equal-weighted"

    def skip(self, step: str, reason: str) -> None:
        """Record that ``step`` was skipped, and why, with a note for the report."""
        reason = reason.strip().rstrip(".")
        self.skipped[step] = reason
        self.notes.append(f"{step} skipped: {reason}.")


@dataclass(frozen=True)
class Sink:
    """Writes a step's per-row tables into the output folder as the step runs.

    Through :mod:`polars_factors.partition`: chunks of about ``rows`` rows of whole
    dates (or assets), so the memory of a step is that of one chunk. ``executor``
    runs the chunks (``None``: here, one after another); every partitioned call of
    the steps passes it on.
    """

    output: Path
    rows: int
    on_chunk: Callable[[pf.partition.Chunk, int], None] | None = None
    executor: pf.partition.Mapper | None = None

    def write(
        self,
        source: pl.LazyFrame,
        name: str,
        res: Results,
        *,
        by: pf.partition.SplitKey = "date",
        build: Callable[[pl.LazyFrame], pl.LazyFrame] | None = None,
        shuffle: bool = False,
    ) -> pl.LazyFrame:
        """Write ``<name>.parquet`` (or ``build`` of each chunk); return a scan of it."""
        path = self.output / f"{name}.parquet"
        report = pf.partition.sink_parquet(
            source, path, by=by, rows=self.rows, build=build, on_chunk=self.on_chunk,
            shuffle=shuffle, executor=self.executor,
        )  # fmt: skip
        out = pl.scan_parquet(path)
        res.files[name] = out
        res.written[name] = (report.n_rows, len(out.collect_schema()))
        return out

    def write_frames(self, name: str, frames: Iterable[pl.DataFrame], res: Results) -> None:
        """Write ``<name>.parquet`` from frames of one schema, a row group each, atomically."""
        path, temp = self.output / f"{name}.parquet", self.temp(name)
        try:
            rows = write_frames(frames, temp, compression="zstd")
            if rows is None:
                return
            temp.replace(path)
        except BaseException:
            self.clean(name)
            raise
        res.files[name] = out = pl.scan_parquet(path)
        res.written[name] = (rows, len(out.collect_schema()))

    def temp(self, name: str) -> Path:
        """Return a scratch path in the output folder (removed by :meth:`clean`)."""
        return self.output / f".{name}.tmp"

    def clean(self, name: str) -> None:
        """Remove the scratch path ``name``."""
        path = self.temp(name)
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


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


@dataclass(frozen=True)
class _PresetPlan:
    """The Barra descriptors of a run with a style preset.

    ``per_asset``: computed down each asset's rows (every one but ``nlsize``);
    ``nlsize``: whether nonlinear size is computed (per date, in step 2);
    ``fundamentals`` and ``parameters``: the keywords of
    :func:`polars_factors.descriptors.compute`.
    """

    per_asset: tuple[str, ...]
    nlsize: bool
    fundamentals: dict[str, str]
    parameters: dict[str, dict[str, Any]]

    @property
    def computed(self) -> set[str]:
        return {*self.per_asset, *(["nlsize"] if self.nlsize else [])}


def _preset_plan(columns: set[str], model: ModelConfig, res: Results) -> _PresetPlan | None:
    """Return the descriptors of the preset's styles the columns allow (``None``: no preset).

    A descriptor whose column is missing is noted and left out.
    """
    if model.preset is None:
        return None
    have = columns | {"ret", "market_ret"}
    roles = {**_PRICE_ROLES, **{r: r for r in FUNDAMENTAL_ROLES}}
    wanted = dict.fromkeys(d for parts in model.style_descriptors.values() for d in parts)
    computable, lacking = [], {}
    for name in wanted:
        missing = [roles[r] for r in DESCRIPTORS[name].needs if roles[r] not in have]
        if missing:
            lacking[name] = missing[0]
        else:
            computable.append(name)
    if lacking:
        res.notes.append(
            "descriptors not computed, for want of a column: "
            + ", ".join(f"{d} (no {c})" for d, c in lacking.items())
            + "."
        )
    return _PresetPlan(
        per_asset=tuple(d for d in computable if d != "nlsize"),
        nlsize="nlsize" in computable,
        fundamentals={r: r for r in FUNDAMENTAL_ROLES if r in columns},
        parameters={d: dict(o) for d, o in model.descriptors.items() if d in computable},
    )


def _with_market(ff: pl.DataFrame, calendar: pl.DataFrame, res: Results) -> pl.DataFrame:
    """Add the market return (``mkt + rf``) and ``rf`` of each date (Fama-French file)."""
    market = ff.select("date", (pl.col("mkt") + pl.col("rf")).alias("market_ret"), "rf")
    out = calendar.join(market, on="date", how="left", maintain_order="left")
    outside = out.get_column("rf").null_count()
    if outside:
        res.notes.append(
            f"descriptors: {outside} of the panel's {calendar.height} dates are not in the "
            "Fama-French file (the market and risk-free returns): the descriptors of "
            "returns have no observation on those dates."
        )
    return out


def descriptors(
    panel: pl.LazyFrame,
    model: ModelConfig,
    res: Results,
    sink: Sink,
    ff: pl.DataFrame | None = None,
) -> pl.LazyFrame:
    """Step 1: daily returns, market cap and the raw descriptors of every row.

    Market cap = close x shares outstanding, the last known share count of the asset
    carried forward (a stale count beats none). ``size`` = log cap, ``bp``/``ey``/``sp``
    = book equity / net income / sales over cap, ``momentum`` = 12-1 return,
    ``volatility`` = std of the last ``volatility_window`` daily returns,
    ``liquidity`` = log mean dollar volume. Sorted by date then asset.

    With a style preset, also the Barra descriptors of the preset's styles that the
    columns allow (:func:`polars_factors.descriptors.compute`, with the options of
    ``model.descriptors``): the market return is the Fama-French ``mkt + rf`` of
    ``ff``, the risk-free rate its ``rf``, the share count the one carried forward;
    of the pipeline's own value descriptors only ``bp`` (for the Fama-French HML
    sort) is kept.

    The per-asset work runs over chunks of whole assets into a scratch folder, which
    is then rewritten by chunks of dates (shuffled: one pass over the asset files, so
    that each date chunk reads only its own rows), sorted by date then asset, as
    ``descriptors.parquet``.
    """
    columns = set(panel.collect_schema().names())
    calendar = (
        panel.select(pl.col("date").unique())
        .collect()
        .sort("date")
        .with_columns(pl.col("date").shift(1).alias("prev_date"))
    )
    if calendar.height == 0:
        msg = "the panel has no rows (check [data] start, end and assets)"
        raise InsufficientDataError(msg)
    res.has_mcap = "shares_outstanding" in columns
    if not res.has_mcap:
        res.notes.append(
            "no shares_outstanding column: no market cap; equal weights instead of cap "
            "weights (standardization means, regressions, the portfolio)."
        )
    own_value = ("bp",) if model.preset is not None else model.value
    value = [d for d in own_value if _VALUE_INPUTS[d] in columns] if res.has_mcap else []
    plan = _preset_plan(columns, model, res)
    if plan is not None and plan.per_asset:
        if ff is None:
            msg = "the descriptors of a style preset need the Fama-French factors (ff)"
            raise ValueError(msg)
        # One join of the rows with the dates: the previous date and the market's.
        calendar = _with_market(ff, calendar, res)

    def build(rows: pl.LazyFrame) -> pl.LazyFrame:
        return _descriptor_plan(rows, calendar.lazy(), columns, model, value=value, preset=plan)

    scratch = sink.temp("descriptors_by_asset")
    pf.partition.sink_parquet(
        panel, scratch, by="asset", rows=sink.rows, build=build, layout="directory",
        on_chunk=sink.on_chunk, shuffle=True, executor=sink.executor,
    )  # fmt: skip
    try:
        by_asset = pl.scan_parquet(scratch / "*.parquet")
        out = sink.write(
            by_asset, "descriptors", res, build=lambda r: r.sort("date", "asset"), shuffle=True
        )
    finally:
        sink.clean("descriptors_by_asset")
    # Per-key counts stream (one row per date or asset is kept); n_unique over the
    # whole table would hold both key columns in memory.
    per_date, per_asset = pl.collect_all(
        [out.group_by("date").agg(pl.len().alias("n")), out.group_by("asset").agg()]
    )
    stats = pl.DataFrame(
        {
            "rows": [per_date.get_column("n").sum()],
            "dates": [per_date.height],
            "assets": [per_asset.height],
            "first": [per_date.get_column("date").min()],
            "last": [per_date.get_column("date").max()],
        },
        schema_overrides={"first": per_date.schema["date"], "last": per_date.schema["date"]},
    )
    if stats.item(0, "rows") == 0:
        msg = "the panel has no rows (check [data] start, end and assets)"
        raise InsufficientDataError(msg)
    res.styles = _buildable(out.collect_schema().names(), model, res, plan)
    res.summary |= stats.row(0, named=True)
    return out


def _descriptor_plan(
    rows: pl.LazyFrame,
    calendar: pl.LazyFrame,
    columns: set[str],
    model: ModelConfig,
    *,
    value: list[str],
    preset: _PresetPlan | None = None,
) -> pl.LazyFrame:
    """Build the descriptors of a chunk of whole assets (each asset's rows by date).

    ``calendar``: each date's previous date and, for a preset's descriptors, the
    market's return and the risk-free rate.
    """
    lf = rows.sort("asset", "date").join(calendar, on="date", how="left", maintain_order="left")
    if "shares_outstanding" in columns:  # the last known share count, carried forward
        lf = lf.with_columns(pl.col("shares_outstanding").forward_fill().over("asset"))
    lf = lf.with_columns(**_returns(columns, model)).with_columns(
        pl.col("ret").shift(-1).over("asset").alias("fwd_ret"),
        pl.col("ret").rolling_std(model.volatility_window).over("asset").alias("volatility"),
    )
    keep = ["date", "asset", *(c for c in ("sector", "industry") if c in columns)]
    keep += ["close", "ret", "fwd_ret"]
    if "shares_outstanding" in columns:
        shares = pl.col("shares_outstanding")
        mcap = pl.when((pl.col("close") > 0) & (shares > 0)).then(pl.col("close") * shares)
        lf = lf.with_columns(mcap.alias("mcap")).with_columns(pl.col("mcap").log().alias("size"))
        lf = lf.with_columns((pl.col(_VALUE_INPUTS[d]) / pl.col("mcap")).alias(d) for d in value)
        keep += ["mcap", "size", *value]
    keep += [c for c in ("momentum", "volatility", "liquidity") if c in lf.collect_schema()]
    if preset is None:
        return lf.select(keep)
    if preset.per_asset:
        lf = pf.descriptors.compute(
            lf, list(preset.per_asset), returns="ret", market="market_ret", risk_free="rf",
            fundamentals=preset.fundamentals, parameters=preset.parameters, check_keys=False,
        )  # fmt: skip
    # nlsize is per date (step 2), from close x shares.
    return lf.select(*keep, *(["shares_outstanding"] if preset.nlsize else []), *preset.per_asset)


def _preset_styles(model: ModelConfig, res: Results, plan: _PresetPlan) -> list[str]:
    """Record the descriptor weights of each preset style that has a descriptor."""
    styles = []
    for style, parts in model.style_descriptors.items():
        present = {d: w for d, w in parts.items() if d in plan.computed}
        absent = [d for d in parts if d not in present]
        if not present:
            res.notes.append(
                f"style {style!r} skipped: none of its descriptors ({', '.join(parts)}) "
                "could be computed."
            )
            continue
        if absent:
            res.notes.append(
                f"style {style!r} from {', '.join(present)} only ({', '.join(absent)} "
                "not computed; the weights are renormalised over the others)."
            )
        res.descriptors[style] = present
        styles.append(style)
    return styles


def _buildable(
    columns: list[str], model: ModelConfig, res: Results, plan: _PresetPlan | None = None
) -> list[str]:
    if plan is not None:
        return _preset_styles(model, res, plan)
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


def standardize(desc: pl.LazyFrame, model: ModelConfig, res: Results, sink: Sink) -> pl.LazyFrame:
    """Step 2: USE4 standardization of the estimation universe; ``value`` combined.

    The universe is the rows with a market cap and an industry (when used). The
    styles are cap-weighted mean 0, equal-weighted std 1, winsorized
    (:func:`polars_factors.standardize`); ``value`` is the re-standardized average of
    ``bp``, ``ey`` and ``sp`` (:func:`polars_factors.combine`). Only the dates where
    every style and the next-day return have a value are kept (the regression's).
    Runs over chunks of dates into a scratch file, then ``exposures.parquet``.
    """
    columns = desc.collect_schema().names()
    res.industry = model.industry if model.industry in columns else None
    if model.industry is not None and res.industry is None:
        res.notes.append(f"no {model.industry} column: no industry factors.")
    lf = desc
    if res.has_mcap:
        lf = lf.filter(pl.col("mcap").is_not_null())
    if res.industry is not None:
        lf = lf.filter(pl.col(res.industry).is_not_null())
    weights = "mcap" if res.has_mcap else None
    keep = ["date", "asset", *([res.industry] if res.industry else [])]
    if model.cluster is not None:
        if model.cluster not in columns:
            msg = (
                f"[model] cluster = {model.cluster!r}: the data has no {model.cluster} "
                "column (map one in [columns], or choose another cov_type)"
            )
            raise ConfigError(msg)
        # The groups of the clustered standard errors (a row without one is left out
        # of the regression, not of the standardization).
        keep += [model.cluster] if model.cluster not in keep else []
    if res.descriptors:  # a style preset
        lf = _preset_exposures(lf, keep, weights, model, res)
    else:
        value = [d for d in model.value if d in columns] if "value" in res.styles else []
        raw = [s for s in res.styles if s != "value"] + value
        if raw:
            # check_keys=True: the duplicate-key check of the descriptors runs now, over
            # ranges of keys (bounded memory); on a LazyFrame it is otherwise opt-in.
            lf = pf.standardize(
                lf, raw, weights=weights, min_count=model.min_count, check_keys=True
            )
        if value:
            lf = pf.combine(lf, {"value": value}, weights=weights, check_keys=False)
    keep += ["mcap", "w"] if res.has_mcap else []
    if res.has_mcap:  # sqrt(cap): the USE4 regression weights
        lf = lf.with_columns(pf.exprs.regression_weights("mcap").alias("w"))
    scratch = sink.temp("exposures")
    pf.partition.sink_parquet(
        lf.select(*keep, "ret", "fwd_ret", *res.styles), scratch, rows=sink.rows,
        on_chunk=sink.on_chunk, executor=sink.executor,
    )  # fmt: skip
    try:
        return _usable_exposures(pl.scan_parquet(scratch), keep, res, sink, model.min_count)
    finally:
        sink.clean("exposures")


def _preset_exposures(
    lf: pl.LazyFrame, keys: list[str], weights: str | None, model: ModelConfig, res: Results
) -> pl.LazyFrame:
    """Build the preset styles from the descriptors (:func:`polars_factors.descriptors.styles`).

    ``nlsize`` first, on the estimation universe of each date; then each descriptor
    winsorized and standardized, the styles combined, the USE4 orthogonalisations,
    and the styles standardized again; with ``model.fill_missing``, a missing
    exposure is the median of the date's industry, else of the date.
    """
    names = sorted({d for parts in res.descriptors.values() for d in parts})
    if "nlsize" in names:
        lf = pf.descriptors.compute(
            lf, ["nlsize"], close="close", shares="shares_outstanding", check_keys=False
        )
    lf = lf.select(*keys, *([weights] if weights else []), "ret", "fwd_ret", *names)
    # check_keys=True: the duplicate-key check of the descriptors runs now, over ranges
    # of keys (bounded memory); on a LazyFrame it is otherwise opt-in.
    lf = pf.descriptors.styles(
        lf, res.descriptors, weights=weights, min_count=model.min_count, check_keys=True
    )
    if model.fill_missing:
        styles = list(res.descriptors)
        if len(keys) > 2:  # the date's industry, then (an industry without a value) the date
            lf = pf.fill_missing(lf, styles, by=["date", *keys[2:]], check_keys=False)
        lf = pf.fill_missing(lf, styles, by=["date"], check_keys=False)
    return lf


def _usable_exposures(
    staged: pl.LazyFrame, keep: list[str], res: Results, sink: Sink, min_count: int
) -> pl.LazyFrame:
    """Drop the styles no stock has and the dates missing a style or the return.

    Raises ``InsufficientDataError`` when no style or no date is left (the steps that
    need exposures are then skipped).
    """
    # One pass: the per-date counts give both the styles' totals and the usable dates.
    counts = staged.group_by("date").agg(pl.col("fwd_ret", *res.styles).count()).collect()
    for style in list(res.styles):
        if counts.get_column(style).sum() == 0:
            res.notes.append(
                f"style {style!r} dropped: no stock has it on any date (fewer than "
                f"min_count = {min_count} stocks a date, or too short a history)."
            )
            res.styles.remove(style)
    if not res.styles:
        msg = (
            f"no style has an exposure on any date (fewer than min_count = {min_count} "
            "stocks a date, or too short a history)"
        )
        raise InsufficientDataError(msg)
    usable = pl.all_horizontal(pl.col("fwd_ret", *res.styles) > 0)
    dates = counts.filter(usable).select("date")
    if dates.height == 0:
        msg = "no date has every style and a next-day return"
        raise InsufficientDataError(msg)
    # A semi join on a small table of dates streams and keeps the order (date, asset).
    kept = staged.join(dates.lazy(), on="date", how="semi", maintain_order="left")
    return sink.write(kept.select(*keep, "ret", "fwd_ret", *res.styles), "exposures", res)


def fama_french(desc: pl.LazyFrame, ff: pl.DataFrame, res: Results, sink: Sink) -> None:
    """Step 3: daily SMB, HML (and UMD) from 2x3 sorts, compared with French's.

    :func:`polars_factors.portfolio.fama_french` on the daily panel: size and
    book-to-price buckets set at the end of each June, momentum buckets each month,
    value-weighted by the previous day's cap; over chunks of dates.
    """
    if not res.has_mcap:
        res.skip("Fama-French factors", "no market cap (no shares_outstanding column).")
        return
    columns = desc.collect_schema().names()
    value = "bp" if "bp" in columns else None
    has_momentum = desc.select(pl.col("momentum").is_not_null().any()).collect().item()
    momentum = "momentum" if has_momentum else None
    if value is None and momentum is None:
        res.skip("Fama-French factors", "no book-to-price and no momentum.")
        return
    panel = desc.select("date", "asset", "mcap", "ret", *(c for c in (value, momentum) if c))
    # Per date, with 25 months of history before each chunk of dates: the June
    # formation of the year before and the lagged caps (exact, bounded memory).
    ours = pf.partition.collect(
        panel,
        rows=sink.rows,
        lookback="25mo",
        build=lambda rows: pf.portfolio.fama_french(
            rows, size="mcap", book_to_market=value, momentum=momentum
        ),
        on_chunk=sink.on_chunk,
        executor=sink.executor,
    )
    factors = [c for c in ("SMB", "HML", "UMD") if c in ours.columns]
    ours = ours.filter(pl.any_horizontal(pl.col(factors).is_not_null()))
    if ours.height == 0:
        res.skip("Fama-French factors", "no formation date in the sample.")
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
