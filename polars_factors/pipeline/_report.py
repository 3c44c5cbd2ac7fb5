"""The run's report: PNG figures (``polars_factors.plot``) and a Markdown page."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from polars_factors.exceptions import FactorsError
from polars_factors.pipeline._config import PipelineConfig
from polars_factors.pipeline._steps import Results

__all__ = ["figures", "markdown"]


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "x"


def _call(name: str, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
    """``plot -> plot.<name>(*args, **kwargs)``."""

    def draw(plot: Any) -> Any:
        return getattr(plot, name)(*args, **kwargs)

    return draw


def _plans(res: Results) -> list[tuple[str, str, Callable[[Any], Any]]]:
    """(file stem, caption, plot module -> Figure) of every figure the results allow."""
    plans: list[tuple[str, str, Callable[[Any], Any]]] = []
    fit = res.objects.get("cross_section")
    if fit is not None:
        styles = [*res.styles, "country"] if "country" in fit.factor_returns["factor"] else []
        styles = styles or res.styles
        plans.append(
            (
                "factor_returns",
                "Cumulative style and country factor returns (cross-sectional regression)",
                lambda p: p.cumulative_returns(
                    fit.factor_returns, factors=styles, title="Cumulative factor returns"
                ),
            )
        )
    if "fama_french" in res.tables:
        ff = res.tables["fama_french"]
        cols = [c for c in ("SMB", "SMB_french", "HML", "HML_french") if c in ff.columns]
        both = ff.select("date", *cols).drop_nulls()
        if both.height > 1:
            plans.append(
                (
                    "fama_french",
                    "SMB and HML built from the panel against Kenneth French's",
                    lambda p: p.cumulative_returns(both, title="SMB and HML: ours vs French"),
                )
            )
    for style in res.styles:
        if f"ic_{style}" in res.objects:
            ic, q = res.objects[f"ic_{style}"], res.objects[f"quantiles_{style}"]
            plans.append(
                (
                    f"ic_{style}",
                    f"Rank IC of {style} with the next-day return",
                    _call("ic_by_date", ic, title=f"Rank IC: {style}"),
                )
            )
            plans.append(
                (
                    f"quantiles_{style}",
                    f"Next-day returns by {style} quantile",
                    _call("quantile_returns", q, title=f"Quantile returns: {style}"),
                )
            )
    asset = res.focus_asset
    if asset is not None and "betas" in res.tables:
        full = res.tables["betas"]
        plans.append(
            (
                f"betas_{_slug(asset)}",
                f"Fama-French three-factor betas of {asset} (full sample, +-2 std errors)",
                lambda p: p.exposure_bar(full, select=asset, title=f"FF3 betas: {asset}"),
            )
        )
    if asset is not None and "rolling_betas" in res.files:
        rolling = res.files["rolling_betas"].filter(pl.col("asset") == asset).collect()
        plans.append(
            (
                f"rolling_betas_{_slug(asset)}",
                f"Rolling Fama-French betas of {asset}",
                lambda p: p.rolling_betas(rolling, select=asset, title=f"Rolling betas: {asset}"),
            )
        )
    if "portfolio" in res.objects:
        portfolio = res.objects["portfolio"]
        plans.append(
            (
                "risk_decomposition",
                "Risk decomposition of the cap-weighted portfolio at the last date",
                lambda p: p.risk_decomposition(portfolio, title="Cap-weighted portfolio risk"),
            )
        )
    return plans


def figures(res: Results, folder: Path) -> dict[str, tuple[str, str]]:
    """Draw the figures into ``folder``; return stem -> (relative path, caption).

    A missing ``polars_factors.plot`` (matplotlib not installed) or a figure that
    cannot be drawn is a note, not an error.
    """
    try:
        from polars_factors import plot  # noqa: PLC0415  (optional: needs matplotlib)
    except ImportError as exc:  # MissingDependencyError is an ImportError
        res.notes.append(f"no figures: {exc}")
        return {}
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, tuple[str, str]] = {}
    for stem, caption, draw in _plans(res):
        try:
            fig = draw(plot)
        except (FactorsError, ValueError, KeyError) as exc:
            res.notes.append(f"figure {stem} not drawn: {exc}")
            continue
        fig.savefig(folder / f"{stem}.png", dpi=100, bbox_inches="tight")
        out[stem] = (f"{folder.name}/{stem}.png", caption)
    return out


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def table(frame: pl.DataFrame, *, max_rows: int = 25) -> str:
    """Render a frame as a Markdown pipe table (the first ``max_rows`` rows).

    Examples
    --------
    >>> print(table(pl.DataFrame({"a": [1, 2], "b": [0.123456, None]})))
    | a | b |
    |---|---|
    | 1 | 0.1235 |
    | 2 |  |
    """
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * frame.width
    rows = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.head(max_rows).rows()]
    more = [f"\n({frame.height - max_rows} more rows)"] if frame.height > max_rows else []
    return "\n".join([head, rule, *rows, *more])


def _quantiles(series: pl.Series, name: str) -> pl.DataFrame:
    qs = (0.05, 0.25, 0.5, 0.75, 0.95)
    return pl.DataFrame(
        {"": [name], **{f"q{round(q * 100):02d}": [series.quantile(q)] for q in qs}}
    )


def _figure_lines(figs: dict[str, tuple[str, str]], prefix: str) -> list[str]:
    return [f"![{cap}]({path})\n" for stem, (path, cap) in figs.items() if stem.startswith(prefix)]


def _sections(res: Results, figs: dict[str, tuple[str, str]]) -> list[str]:
    t, out = res.tables, []
    out += ["## 3. Fama-French factors\n"]
    if "fama_french_comparison" in t:
        out += [
            (
                "Daily SMB/HML(/UMD) from 2x3 sorts of the panel (size at the median, "
                "book-to-price at 30/70%, formed each June, value-weighted), against the "
                "Fama-French research factors.\n"
            ),
            table(t["fama_french_comparison"]) + "\n",
            *_figure_lines(figs, "fama_french"),
        ]
    out += ["## 4. Cross-sectional regression\n"]
    if "fama_macbeth" in t:
        r2 = t["regression_stats"].get_column("r2").drop_nulls()
        out += [
            (
                "Next-day returns on the exposures of each date (WLS, sqrt-cap weights, "
                "cap-weighted industry constraint). Fama-MacBeth summary of the daily "
                "factor returns:\n"
            ),
            table(t["fama_macbeth"], max_rows=60) + "\n",
            "Per-date R²:\n",
            table(_quantiles(r2, "r2")) + "\n",
            *_figure_lines(figs, "factor_returns"),
        ]
    if "ic_summary" in t:
        out += ["Rank information coefficient of each style with the next-day return:\n"]
        out += [table(t["ic_summary"]) + "\n", *_figure_lines(figs, "ic_")]
        wide = (
            t["quantile_summary"]
            .with_columns(pl.col("mean_return") * 1e4)
            .pivot("quantile", index="style", values="mean_return")
        )
        out += ["Mean next-day return by quantile (bp per day):\n", table(wide) + "\n"]
        out += _figure_lines(figs, "quantiles_")
    out += ["## 5. Time-series betas\n"]
    if "betas" in t:
        full = t["betas"]
        dist = pl.concat(
            [_quantiles(full.get_column(c).drop_nulls(), c) for c in full.columns if _is_stat(c)]
        )
        out += [
            (
                f"Daily excess returns on the Fama-French three factors, {full.height} stocks, "
                "distribution across stocks:\n"
            ),
            table(dist) + "\n",
            *_figure_lines(figs, "betas_"),
            *_figure_lines(figs, "rolling_betas_"),
        ]
    out += ["## 6. Risk model\n"]
    if "portfolio_risk" in t:
        out += [
            "Cap-weighted portfolio at the model date (daily variances; annual_vol annualized):\n",
            table(t["portfolio_risk"]) + "\n",
            "Largest factor contributions:\n",
            table(
                t["portfolio_factor_risk"].sort(pl.col("contribution").abs(), descending=True),
                max_rows=10,
            )
            + "\n",
            "Share of each stock's variance explained by the factors:\n",
            table(_quantiles(t["asset_risk"].get_column("r2").drop_nulls(), "r2")) + "\n",
        ]
        if "implied_vs_realized" in t:
            out += ["Implied against realized volatility:\n"]
            out += [table(t["implied_vs_realized"]) + "\n"]
        out += _figure_lines(figs, "risk_")
    return out


def _is_stat(column: str) -> bool:
    return column in {"alpha", "r2"} or (
        column.startswith("beta_") and not column.endswith(("_std_error", "_t_stat"))
    )


def markdown(
    cfg: PipelineConfig,
    res: Results,
    figs: dict[str, tuple[str, str]],
    timings: list[tuple[str, float]],
) -> str:
    """Return the Markdown report of a run."""
    s = res.summary
    lines = [
        "# polars-factors report\n",
        f"Generated {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} from {cfg.source}.\n",
        "## 1. Data and descriptors\n",
        (
            f"{s['rows']:,} rows, {s['dates']} dates ({s['first']} .. {s['last']}), "
            f"{s['assets']} assets. Styles: {', '.join(res.styles) or 'none'}; industry "
            f"factors: {res.industry or 'none'}; country factor: {cfg.model.country}.\n"
        ),
    ]
    if "exposures" in res.files:
        exp = res.files["exposures"]
        last_date = exp.select(pl.col("date").max()).collect().item()
        last = exp.filter(pl.col("date") == last_date).collect()
        w = pl.col("mcap") if res.has_mcap else pl.lit(1.0)
        stats = pl.concat(
            [
                last.select(
                    pl.lit(c).alias("style"),
                    pl.col(c).count().alias("n"),
                    ((pl.col(c) * w).sum() / w.filter(pl.col(c).is_not_null()).sum()).alias(
                        "cap_weighted_mean"
                    ),
                    pl.col(c).std(ddof=0).alias("std"),
                )
                for c in res.styles
            ]
        )
        lines += [
            "## 2. Standardized exposures\n",
            (
                "USE4 standardization (cap-weighted mean 0, equal-weighted std 1, "
                f"winsorized) on the last date of the regression, {last.item(0, 'date')}:\n"
            ),
            table(stats) + "\n",
        ]
    lines += _sections(res, figs)
    if res.notes:
        lines += ["## Notes\n", *(f"- {n}" for n in res.notes), ""]
    lines += ["## Files\n", "| file | rows | columns |", "|---|---|---|"]
    lines += [f"| {k}.parquet | {n:,} | {w} |" for k, (n, w) in res.written.items()]
    lines += ["", "## Timings\n", *(f"- {name}: {sec:.2f} s" for name, sec in timings), ""]
    return "\n".join(lines)
