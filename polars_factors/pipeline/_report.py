"""The run's report: PNG figures (``polars_factors.plot``) and a Markdown page."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

from polars_factors.exceptions import FactorsError, MissingDependencyError
from polars_factors.pipeline._config import PipelineConfig
from polars_factors.pipeline._output import atomic_write
from polars_factors.pipeline._steps import Results

__all__ = ["FIGURES", "figures", "markdown"]

#: The step of the figures, as named in the notes and ``Results.skipped``.
FIGURES = "figures"
_NO_MATPLOTLIB = "matplotlib is not installed; pip install 'polars_factors[plot]'."


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
        weights = res.weights
        plans.append(
            (
                "risk_decomposition",
                f"Risk decomposition of the {weights} portfolio at the last date",
                lambda p: p.risk_decomposition(
                    portfolio, title=f"{weights.capitalize()} portfolio risk"
                ),
            )
        )
    return plans


def _save_png(fig: Any, path: Path) -> None:
    fig.savefig(path, format="png", dpi=100, bbox_inches="tight")


def figures(res: Results, folder: Path) -> dict[str, tuple[str, str]]:
    """Draw the figures into ``folder``; return stem -> (relative path, caption).

    matplotlib not installed skips them all, a figure that cannot be drawn (an
    error of the data) skips that one: notes, not errors. Each PNG is written under a
    temporary name and renamed when complete.
    """
    from polars_factors import plot  # noqa: PLC0415  (imports without matplotlib)
    from polars_factors.plot._common import require_matplotlib  # noqa: PLC0415

    try:
        require_matplotlib()
    except MissingDependencyError:
        res.skip(FIGURES, _NO_MATPLOTLIB)
        return {}
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, tuple[str, str]] = {}
    for stem, caption, draw in _plans(res):
        try:
            fig = draw(plot)
        except MissingDependencyError:  # matplotlib found but broken (a missing part)
            res.skip(FIGURES, _NO_MATPLOTLIB)
            break
        except (FactorsError, ValueError, KeyError) as exc:
            res.notes.append(f"figure {stem} not drawn: {exc}")
            continue
        atomic_write(folder / f"{stem}.png", partial(_save_png, fig))
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


def _skipped(res: Results, *steps: str) -> list[str]:
    return [f"Skipped: {res.skipped[s]}\n" for s in steps if s in res.skipped]


def _sections(res: Results, figs: dict[str, tuple[str, str]]) -> list[str]:
    t, out = res.tables, []
    cap = res.has_mcap
    out += ["## 3. Fama-French factors\n", *_skipped(res, "Fama-French factors")]
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
    out += ["## 4. Cross-sectional regression\n", *_skipped(res, "cross-sectional regression")]
    if "fama_macbeth" in t:
        r2 = t["regression_stats"].get_column("r2").drop_nulls()
        how = (
            "WLS, sqrt-cap weights, cap-weighted industry constraint"
            if cap
            else "equal weights: no market cap"
        )
        out += [
            (
                f"Next-day returns on the exposures of each date ({how}). Fama-MacBeth "
                "summary of the daily factor returns:\n"
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
    out += ["## 5. Time-series betas\n", *_skipped(res, "time-series betas", "rolling betas")]
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
    out += ["## 6. Risk model\n", *_skipped(res, "risk model")]
    if "portfolio_risk" in t:
        n = t["portfolio_weights"].height
        out += [
            (
                f"{res.weights.capitalize()} portfolio of the {n:,} stocks of the model at the "
                "model date (weights summing to 1, in portfolio_weights.parquet; daily "
                "variances, annual_vol annualized):\n"
            ),
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
        out += _skipped(res, "implied vs realized volatility")
        if "implied_vs_realized" in t:
            out += ["Implied against realized volatility (the same weights):\n"]
            out += [table(t["implied_vs_realized"]) + "\n"]
        out += _figure_lines(figs, "risk_")
    return out


def _is_stat(column: str) -> bool:
    return column in {"alpha", "r2"} or (
        column.startswith("beta_") and not column.endswith(("_std_error", "_t_stat"))
    )


def _weights_line(res: Results) -> str:
    if res.has_mcap:
        return (
            "Weights: cap weights (market cap = close x shares outstanding): cap-weighted "
            "style means, sqrt-cap regression weights, a cap-weighted portfolio.\n"
        )
    return (
        "Weights: equal weights (no shares_outstanding, so no market cap): equal-weighted "
        "style means, equal regression weights, an equal-weighted portfolio.\n"
    )


def _exposure_lines(res: Results) -> list[str]:
    if "exposures" not in res.files:
        return _skipped(res, "USE4 standardization")
    exp = res.files["exposures"]
    last_date = exp.select(pl.col("date").max()).collect().item()
    last = exp.filter(pl.col("date") == last_date).collect()
    w = pl.col("mcap") if res.has_mcap else pl.lit(1.0)
    name = "cap_weighted_mean" if res.has_mcap else "mean"
    stats = pl.concat(
        [
            last.select(
                pl.lit(c).alias("style"),
                pl.col(c).count().alias("n"),
                ((pl.col(c) * w).sum() / w.filter(pl.col(c).is_not_null()).sum()).alias(name),
                pl.col(c).std(ddof=0).alias("std"),
            )
            for c in res.styles
        ]
    )
    mean = "cap-weighted" if res.has_mcap else "equal-weighted"
    return [
        (
            f"USE4 standardization ({mean} mean 0, equal-weighted std 1, winsorized) on the "
            f"last date of the regression, {last.item(0, 'date')}:\n"
        ),
        table(stats) + "\n",
    ]


def _preset_lines(cfg: PipelineConfig, res: Results) -> list[str]:
    """Return the report lines on the descriptors of each style of a preset."""
    if not res.descriptors:
        return []
    rows = [
        f"| {style} | {' + '.join(f'{w:g} {d}' for d, w in parts.items())} |"
        for style, parts in res.descriptors.items()
    ]
    return [
        (
            f"Styles of the {cfg.model.preset} preset (polars_factors.descriptors): each a "
            "weighted average of its standardized descriptors, the weights renormalised "
            "over those present on the row; residual volatility (or volatility) "
            "orthogonalised to beta and size, liquidity to size (those in the model), then "
            "standardized again."
            + (
                " A missing exposure is the median of the date's stocks"
                + (f" of its {res.industry} (of all, if none has one)" if res.industry else "")
                + " ([model] fill_missing)."
                if cfg.model.fill_missing
                else " A stock with a missing exposure is left out of that date's regression."
            )
            + "\n"
        ),
        "| style | descriptors |",
        "|---|---|",
        *rows,
        "",
    ]


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
        _weights_line(res),
        *_preset_lines(cfg, res),
    ]
    if res.skipped:
        lines.append(f"Skipped: {', '.join(res.skipped)} (see the notes).\n")
    lines += ["## 2. Standardized exposures\n", *_exposure_lines(res)]
    lines += _sections(res, figs)
    if res.notes:
        lines += ["## Notes\n", *(f"- {n}" for n in res.notes), ""]
    lines += ["## Files\n", "| file | rows | columns |", "|---|---|---|"]
    lines += [f"| {k}.parquet | {n:,} | {w} |" for k, (n, w) in res.written.items()]
    lines += ["", "## Timings\n", *(f"- {name}: {sec:.2f} s" for name, sec in timings), ""]
    return "\n".join(lines)
