"""Pipeline steps 4-6: cross-sectional regression, time-series betas, risk model."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

import polars as pl

import polars_factors as pf
from polars_factors.exceptions import FactorsError, InsufficientDataError
from polars_factors.partition._run import map_chunks
from polars_factors.pipeline._config import ModelConfig
from polars_factors.pipeline._steps import ANNUAL, Results, Sink
from polars_factors.risk.covariance import covariance_frames

if TYPE_CHECKING:
    from polars_factors.regression.time_series import TsCovType

__all__ = ["betas", "cross_section", "portfolio_weights", "risk_model"]

FF3 = ["mkt", "smb", "hml"]


def _regression_keywords(res: Results, model: ModelConfig) -> dict[str, object]:
    return {
        "industry": res.industry,
        "country": model.country,
        "weights": "w" if res.has_mcap else None,
        "constraint_weights": "mcap" if res.has_mcap and res.industry else None,
        "cov_type": model.cov_type,
        "cluster": model.cluster,
    }


@dataclass(frozen=True)
class _ChunkFit:
    """The cross-section step's results on one chunk of dates."""

    residuals: pl.DataFrame
    factor_returns: pl.DataFrame
    stats: pl.DataFrame
    ic: dict[str, pf.portfolio.ICResult[pl.DataFrame]]
    quantiles: dict[str, pf.portfolio.QuantileReturnsResult[pl.DataFrame]]


@dataclass(frozen=True)
class _FitChunk:
    """The cross-section step on one chunk of dates: a task, run here or on a worker.

    It returns everything it computes (no side effect), so that an executor may run
    it in another process.
    """

    exposures: pl.LazyFrame
    dtype: pl.DataType
    styles: tuple[str, ...]
    method: str
    quantiles: int
    keywords: dict[str, object]

    def __call__(self, chunk: pf.partition.Chunk) -> _ChunkFit:
        frame = self.exposures.filter(chunk.predicate(self.dtype)).collect()
        fit = pf.cross_section(
            frame,
            "fwd_ret",
            list(self.styles),
            method=self.method,  # type: ignore[arg-type]
            check_keys=False,  # standardize() checked that (date, asset) is unique
            **self.keywords,  # type: ignore[arg-type]
        )
        ic = {s: pf.portfolio.information_coefficient(frame, s, "fwd_ret") for s in self.styles}
        q = {
            s: pf.portfolio.quantile_returns(frame, s, "fwd_ret", n=self.quantiles)
            for s in self.styles
        }
        return _ChunkFit(fit.residuals, fit.factor_returns, fit.stats, ic, q)


def cross_section(exposures: pl.LazyFrame, model: ModelConfig, res: Results, sink: Sink) -> None:
    """Step 4: next-day returns on the exposures per date, Fama-MacBeth, IC, quantiles.

    The return from the close of *t* to the next close regressed on the exposures of
    *t*: styles, industries, a country factor, sqrt-cap weights and the cap-weighted
    industry constraint (:func:`polars_factors.cross_section`); factor returns are
    dated by the formation date *t*. Rank IC and quantile returns of every style
    against the same next-day return. Everything here is per date: it runs over
    chunks of dates, each read once (through ``sink.executor``), and the residuals
    are written chunk by chunk; the small per-date frames are gathered here.
    """
    chunks = pf.partition.plan_chunks(exposures, rows=sink.rows)
    task = _FitChunk(
        exposures,
        exposures.collect_schema()["date"],
        tuple(res.styles),
        model.method,
        model.quantiles,
        _regression_keywords(res, model),
    )
    fits: list[_ChunkFit] = []

    def residuals() -> Iterator[pl.DataFrame]:
        done = map_chunks(sink.executor, task, chunks)
        for chunk, part in zip(chunks, done, strict=True):
            fits.append(part)
            yield part.residuals
            if sink.on_chunk is not None:
                sink.on_chunk(chunk, part.residuals.height)

    sink.write_frames("residuals", residuals(), res)
    if not fits:
        msg = "the exposures have no date to regress"
        raise InsufficientDataError(msg)
    # Mixed frames: the residuals are a scan of their file, the small frames in memory.
    fit: pf.CrossSectionResult[Any] = pf.CrossSectionResult(
        factor_returns=pl.concat([f.factor_returns for f in fits]),
        residuals=res.files["residuals"],
        stats=pl.concat([f.stats for f in fits]),
        method=model.method,
    )
    res.objects["cross_section"] = fit
    res.tables["factor_returns"] = fit.factor_returns
    res.tables["regression_stats"] = fit.stats
    fm = fit.summary()
    res.tables["fama_macbeth"] = fm
    res.summary["median_r2"] = fit.stats.get_column("r2").median()
    res.summary["regression_dates"] = fit.stats.height
    res.summary["fm_t"] = {
        f: t for f, t in fm.select("factor", "t_stat").iter_rows() if f in res.styles
    }
    ics, ic_summaries, quantiles, quantile_summaries = [], [], [], []
    for style in res.styles:
        ic_parts, q_parts = [f.ic[style] for f in fits], [f.quantiles[style] for f in fits]
        ic = replace(ic_parts[0], ic=pl.concat([p.ic for p in ic_parts]))
        q = replace(
            q_parts[0],
            by_date=pl.concat([p.by_date for p in q_parts]),
            spread=pl.concat([p.spread for p in q_parts]),
        )
        res.objects[f"ic_{style}"], res.objects[f"quantiles_{style}"] = ic, q
        tag = pl.lit(style).alias("style")
        ics.append(ic.ic.select(tag, pl.all()))
        ic_summaries.append(ic.summary().select(tag, pl.all()))
        quantiles.append(q.by_date.select(tag, pl.all()))
        quantile_summaries.append(q.summary().select(tag, pl.all()))
    if ics:
        res.tables["ic"] = pl.concat(ics)
        res.tables["ic_summary"] = summary = pl.concat(ic_summaries)
        res.tables["quantile_returns"] = pl.concat(quantiles)
        res.tables["quantile_summary"] = pl.concat(quantile_summaries)
        res.summary["ic"] = dict(zip(summary["style"], summary["mean"], strict=True))


def betas(
    desc: pl.LazyFrame, ff: pl.DataFrame, model: ModelConfig, res: Results, sink: Sink
) -> None:
    """Step 5: Fama-French three-factor betas of every stock, full sample and rolling.

    Daily excess returns (``ret - rf``) on ``mkt``, ``smb``, ``hml`` with an intercept
    (:func:`polars_factors.betas`), over the whole sample and over rolling
    ``rolling_window``-day windows; both over chunks of whole assets.
    """
    first, last = res.summary["first"], res.summary["last"]
    ff = ff.filter(pl.col("date").is_between(first, last))
    if ff.height < 2 * len(FF3):
        res.skip(
            "time-series betas",
            f"the Fama-French file has fewer than {2 * len(FF3)} dates in {first!s}..{last!s}",
        )
        return
    panel = pf.join_factors(desc.select("date", "asset", "ret"), ff)
    panel = panel.select(
        "date", "asset", (pl.col("ret") - pl.col("rf")).alias("excess"), *FF3
    ).filter(pl.col("excess").is_not_null() & pl.col("mkt").is_not_null())

    def fit(rows: pl.LazyFrame, window: int | None) -> pl.LazyFrame:
        if model.betas_cov_type == "HAC":  # pairs rows with earlier ones: time order
            rows = rows.sort("asset", "date")  # (one chunk of whole assets)
        return pf.betas(
            rows,
            "excess",
            FF3,
            window=window,
            cov_type=cast("TsCovType", model.betas_cov_type),
            nw_lags=model.betas_nw_lags,
            check_keys=False,
        )

    # Through a scratch file of the output folder rather than pf.partition.collect:
    # its shuffle files would sit in this machine's temporary folder, which the
    # workers of a cluster do not see.
    scratch = sink.temp("betas")
    try:
        pf.partition.sink_parquet(
            panel, scratch, by="asset", rows=sink.rows,
            build=lambda rows: fit(rows, None),
            shuffle=True, executor=sink.executor,
        )  # fmt: skip
        full = pl.read_parquet(scratch)
    finally:
        sink.clean("betas")
    res.tables["betas"] = full.filter(pl.col("beta_mkt").is_not_null()).sort("asset")

    def rolling(rows: pl.LazyFrame) -> pl.LazyFrame:
        out = fit(rows, model.rolling_window)
        return out.filter(pl.col("beta_mkt").is_not_null())

    sink.write(panel, "rolling_betas", res, by="asset", build=rolling, shuffle=True)
    if res.written["rolling_betas"][0] == 0:
        del res.files["rolling_betas"]
        (sink.output / "rolling_betas.parquet").unlink()
        res.written.pop("rolling_betas")
        res.skip(
            "rolling betas",
            f"no asset has {model.rolling_window} dates ([model] rolling_window).",
        )
    res.summary["median_beta_mkt"] = full.get_column("beta_mkt").median()
    res.summary["median_ts_r2"] = full.get_column("r2").median()


def portfolio_weights(exposures: pl.LazyFrame, model: pf.risk.RiskModel) -> pl.DataFrame:
    """Return the portfolio of the risk step: the model's stocks, weights summing to 1.

    Cap weights when the exposures have a market cap (``mcap``), else equal weights
    (:attr:`Results.weights` says which).
    """
    held = (
        exposures.filter(pl.col("date") == model.at)
        .join(model.exposures.select("asset").lazy(), on="asset", how="semi", maintain_order="left")
        .collect()
    )
    if held.height == 0:
        msg = f"no stock of the risk model has exposures on {model.at}"
        raise InsufficientDataError(msg)
    if "mcap" in held.columns:
        return held.select("asset", (pl.col("mcap") / pl.col("mcap").sum()).alias("weight"))
    return held.select("asset", pl.repeat(1.0 / held.height, held.height).alias("weight"))


def _complete_returns(factor_returns: pl.DataFrame, res: Results) -> pl.DataFrame:
    """Return the factor returns the risk model can use: every factor on every date.

    A date on which the regression has no solution at all is left out; a factor
    without a return on a date where the others have one (an industry with no stock
    that day, a style that is zero for every stock) counts as 0.0, the convention of
    the Barra models. Both are noted.
    """
    fr = factor_returns.with_columns(pl.col("factor_return").fill_nan(None))
    solved = (
        fr.group_by("date")
        .agg(pl.col("factor_return").is_not_null().any().alias("solved"))
        .filter(pl.col("solved"))
        .select("date")
    )
    unsolved = fr.get_column("date").n_unique() - solved.height
    if unsolved:
        res.notes.append(
            f"risk model: {unsolved} dates without any factor return (no solution of the "
            "regression) are left out of the covariance."
        )
        fr = fr.join(solved, on="date", how="semi", maintain_order="left")
    missing = fr.filter(pl.col("factor_return").is_null())
    if missing.height:
        factors = missing.get_column("factor").unique(maintain_order=True).to_list()
        shown = ", ".join(repr(f) for f in factors[:3]) + (" ..." if len(factors) > 3 else "")
        res.notes.append(
            f"risk model: {missing.height} factor returns are missing ({shown}, first on "
            f"{missing.item(0, 'date')}: no stock with that factor on the date) and count as 0."
        )
        fr = fr.with_columns(pl.col("factor_return").fill_null(0.0))
    return fr


def _covariances(factor_returns: pl.DataFrame, model: ModelConfig) -> Iterator[pl.DataFrame]:
    """Yield the factor covariance of every date, a chunk of dates at a time (one pass)."""
    for cov in covariance_frames(
        factor_returns,
        preset=model.risk_preset,  # type: ignore[arg-type]  # checked by the config
    ):
        yield cov.drop_nulls("covariance")


def risk_model(
    exposures: pl.LazyFrame, desc: pl.LazyFrame, model: ModelConfig, res: Results, sink: Sink
) -> None:
    """Step 6: factor covariance, specific risk, the model of the last date, a portfolio.

    :class:`polars_factors.risk.RiskModel` fitted on the regression (``lag=1``: the
    factor return dated *t* is realized at *t + 1*), the preset's covariance and
    specific risk shrunk by size; each asset's risk at the last date; the risk
    decomposition of the portfolio of :func:`portfolio_weights` (cap weights, or
    equal weights without a market cap); and the model of
    ``realized_window`` dates before the end against the volatility the portfolio
    then realized.
    """
    fit = res.objects.get("cross_section")
    if fit is None:
        res.skip("risk model", "no cross-sectional regression.")
        return
    fit = replace(fit, factor_returns=_complete_returns(fit.factor_returns, res))
    if fit.factor_returns.height == 0:
        msg = "the regression has no date with factor returns"
        raise InsufficientDataError(msg)
    sink.write_frames("factor_covariance", _covariances(fit.factor_returns, model), res)
    keywords: dict[str, Any] = {
        "exposures": res.styles,
        "industry": res.industry,
        "country": model.country,
        "lag": 1,
        "size": "mcap" if res.has_mcap else None,
        "covariance": {"preset": model.risk_preset},
        "specific": {
            "half_life": model.specific_half_life,
            "nw_lags": model.specific_nw_lags,
            "n_groups": 10,
        },
    }
    rm = pf.risk.RiskModel.fit(exposures, fit, **keywords)
    res.tables["asset_risk"] = rm.asset_risk().select(pl.lit(rm.at).alias("date"), pl.all())
    weights = portfolio_weights(exposures, rm)
    portfolio = rm.portfolio_risk(weights)
    res.objects["portfolio"] = portfolio
    res.tables["portfolio_risk"] = portfolio.summary().select(
        pl.lit(rm.at).alias("date"),
        pl.lit(res.weights).alias("weights"),
        pl.all(),
        (pl.col("total_vol") * ANNUAL).alias("annual_vol"),
    )
    res.tables["portfolio_weights"] = weights.select(pl.lit(rm.at).alias("date"), pl.all())
    res.tables["portfolio_factor_risk"] = portfolio.factors
    res.tables["portfolio_asset_risk"] = portfolio.assets.join(
        weights.select("asset"), on="asset", how="semi", maintain_order="left"
    )
    res.summary["risk_date"] = rm.at
    res.summary["median_asset_r2"] = res.tables["asset_risk"].get_column("r2").median()
    res.summary["portfolio_vol"] = portfolio.summary().item(0, "total_vol") * ANNUAL
    res.summary["portfolio_r2"] = portfolio.summary().item(0, "r2")
    _implied_vs_realized(exposures, desc, fit, model, res, keywords)


def _implied_vs_realized(  # noqa: PLR0917  (the risk step's frames, passed on)
    exposures: pl.LazyFrame,
    desc: pl.LazyFrame,
    fit: Any,
    model: ModelConfig,
    res: Results,
    keywords: dict[str, Any],
) -> None:
    dates = fit.stats.get_column("date")
    window = min(model.realized_window, dates.len() // 2)
    if window < 20:
        res.skip("implied vs realized volatility", "fewer than 40 dates.")
        return
    day = dates[dates.len() - 1 - window]
    try:
        past = pf.risk.RiskModel.fit(exposures, fit, at=day, **keywords)
    except FactorsError as exc:
        res.skip("implied vs realized volatility", str(exc))
        return
    returns = desc.select("date", "asset", "ret")
    rvi = past.realized_vs_implied(portfolio_weights(exposures, past), returns, window=window)
    rvi = rvi.with_columns(
        (pl.col("implied_vol", "realized_vol") * ANNUAL).name.suffix("_ann"),
    )
    res.tables["implied_vs_realized"] = rvi
    res.summary["vol_ratio"] = rvi.item(0, "ratio")
    res.summary["vol_ratio_date"] = day
    res.summary["vol_ratio_window"] = window
