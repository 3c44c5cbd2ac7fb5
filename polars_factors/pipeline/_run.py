"""Run the pipeline: the steps in order, with progress, then parquet, report and summary."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

import polars as pl

import polars_factors as pf
from polars_factors.pipeline import _models, _report, _steps
from polars_factors.pipeline._config import ModelConfig, PipelineConfig
from polars_factors.pipeline._data import load_fama_french, load_panel
from polars_factors.pipeline._steps import Results

__all__ = ["DEMO_OUTPUT", "RunResult", "demo_config", "run"]

DEMO_OUTPUT = Path("polars_factors_demo")
STEPS = (
    "returns and descriptors",
    "USE4 standardization",
    "Fama-French factors",
    "cross-sectional regression",
    "time-series betas",
    "risk model",
    "parquet, figures and report",
)


@dataclass(frozen=True)
class RunResult:
    """What :func:`run` produced.

    Attributes
    ----------
    output
        The output folder (parquet files, ``report.md``, ``figures/``).
    results
        The tables, notes and headline numbers of the steps.
    lines
        The short summary printed by the command line, one string per line
        (:meth:`summary` joins them).
    seconds
        Wall time of the whole run.
    """

    output: Path
    results: Results
    lines: list[str]
    seconds: float

    def summary(self) -> str:
        """Return the short summary printed by the command line, as one string."""
        return "\n".join(self.lines)


def demo_config(output: str | Path = DEMO_OUTPUT) -> PipelineConfig:
    """Return the configuration of ``polars-factors demo`` (bundled S&P 500 sample).

    Examples
    --------
    >>> cfg = demo_config("out")
    >>> cfg.data.panel, cfg.model.styles, cfg.model.risk_preset
    ((), ('size', 'value', 'momentum', 'volatility'), 'USE4S')
    """
    return PipelineConfig(
        model=ModelConfig(focus_asset="AAPL"),
        output=Path(output),
        source="the bundled S&P 500 sample (polars_factors.datasets)",
    )


class _Progress:
    def __init__(
        self, stream: TextIO | None, res: Results, on_step: Callable[[str], None] | None
    ) -> None:
        self.stream, self.res, self.on_step = stream, res, on_step
        self.timings: list[tuple[str, float]] = []

    def chunk(self, chunk: pf.partition.Chunk, rows: int) -> None:  # noqa: ARG002
        """Progress within a step: ``k/n`` after each chunk when a step has several."""
        if self.stream is not None and chunk.count > 1:
            print(f" {chunk.index + 1}/{chunk.count}", end="", file=self.stream, flush=True)

    @contextmanager
    def step(self, index: int) -> Iterator[None]:
        name = STEPS[index]
        if self.on_step is not None:
            self.on_step(name)
        if self.stream is not None:
            print(f"[{index + 1}/{len(STEPS)}] {name} ...", end="", file=self.stream, flush=True)
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield
            finally:
                seconds = time.perf_counter() - start
                self.timings.append((name, seconds))
                if self.stream is not None:
                    print(f" {seconds:.1f} s", file=self.stream, flush=True)
        for message in dict.fromkeys(str(w.message).splitlines()[0] for w in caught):
            self.res.notes.append(f"{name}: warning: {message}")


def _write_small(res: Results, output: Path) -> None:
    """Write the in-memory tables not written yet (the per-row ones are, by their step)."""
    for name, frame in res.tables.items():
        if isinstance(frame, pl.DataFrame) and name not in res.written:
            frame.write_parquet(output / f"{name}.parquet")
            res.written[name] = frame.shape


def _focus(desc: pl.LazyFrame, cfg: PipelineConfig, res: Results) -> str | None:
    wanted = cfg.model.focus_asset
    if wanted is not None:
        found = desc.filter(pl.col("asset") == wanted).select(pl.len()).collect().item()
        if found:
            return wanted
        res.notes.append(f"focus_asset {wanted!r} is not in the panel; using the largest stock.")
    order = "mcap" if "mcap" in desc.collect_schema().names() else "close"
    last = (
        desc.filter(pl.col("date") == res.summary["last"])
        .select("asset", order)
        .drop_nulls(order)
        .collect()
        .sort(order, "asset", descending=[True, False])
    )
    return str(last.item(0, "asset")) if last.height else None


def _summary(cfg: PipelineConfig, res: Results, output: Path) -> list[str]:
    s = res.summary

    def fmt(values: dict[str, float], spec: str) -> str:
        return ", ".join(f"{k} {v:{spec}}" for k, v in values.items() if v is not None)

    lines = [
        f"data: {cfg.source}",
        (
            f"panel: {s['rows']:,} rows, {s['dates']} dates ({s['first']} .. {s['last']}), "
            f"{s['assets']} assets"
        ),
        (
            f"model: styles {', '.join(res.styles) or 'none'}; industries: {res.industry or 'none'}"
            f"; country factor: {'yes' if cfg.model.country else 'no'}"
        ),
    ]
    if "median_r2" in s:
        lines += [
            f"cross-section: {s['regression_dates']} dates, median R² {s['median_r2']:.3f}",
            f"Fama-MacBeth t-stats: {fmt(s['fm_t'], '.2f')}",
        ]
    if "ic" in s:
        lines.append(f"mean rank IC (next day): {fmt(s['ic'], '.3f')}")
    if "ff_corr" in s:
        lines.append(f"correlation with French (daily): {fmt(s['ff_corr'], '.2f')}")
    if "median_beta_mkt" in s:
        lines.append(
            f"FF3 betas: median market beta {s['median_beta_mkt']:.2f}, "
            f"median R² {s['median_ts_r2']:.2f}"
        )
    if "portfolio_vol" in s:
        lines.append(
            f"risk model ({cfg.model.risk_preset}) at {s['risk_date']}: cap-weighted portfolio "
            f"vol {s['portfolio_vol']:.1%} a year, {s['portfolio_r2']:.0%} from factors; "
            f"median stock R² {s['median_asset_r2']:.2f}"
        )
    if "vol_ratio" in s:
        lines.append(
            f"realized / implied vol over {s['vol_ratio_window']} dates after "
            f"{s['vol_ratio_date']}: {s['vol_ratio']:.2f}"
        )
    if res.notes:
        lines.append(f"notes: {len(res.notes)} (see the report)")
    lines.append(f"output: {output / 'report.md'} and {len(res.tables)} parquet files")
    return lines


def run(
    cfg: PipelineConfig,
    *,
    progress: TextIO | None = None,
    on_step: Callable[[str], None] | None = None,
) -> RunResult:
    """Run the whole pipeline and write its outputs into ``cfg.output``.

    Parameters
    ----------
    cfg
        The settings (:func:`demo_config`, or :func:`load_config` of a TOML file).
    progress
        Stream for the per-step progress lines (``None``, the default: silent;
        ``polars-factors`` passes ``sys.stderr``).
    on_step
        Called with each step's name before it runs (for tests and embedding).

    Returns
    -------
    RunResult

    Raises
    ------
    FactorsError
        A configuration or data error (e.g. ``ConfigError``, ``ColumnNotFoundError``,
        ``InsufficientDataError``). Steps 3, 5 and 6 that cannot run on the data are
        skipped with a note instead.
    """
    start = time.perf_counter()
    res = Results()
    prog = _Progress(progress, res, on_step)
    model = cfg.model

    # Lazy scans and schema checks first: a bad path or column fails before any step.
    panel = load_panel(cfg.data, source=cfg.source)
    ff = load_fama_french(cfg.data)
    output = cfg.output
    output.mkdir(parents=True, exist_ok=True)
    # The per-row tables are written by their step, chunk by chunk; the small ones
    # (per date, per asset, per factor) are written as each step finishes.
    sink = _steps.Sink(output, rows=cfg.chunk_rows, on_chunk=prog.chunk)
    with prog.step(0):
        desc = _steps.descriptors(panel, model, res, sink)
    with prog.step(1):
        exposures = _steps.standardize(desc, model, res, sink)
    with prog.step(2):
        _steps.fama_french(desc, ff, res, sink)
        _write_small(res, output)
    with prog.step(3):
        _models.cross_section(exposures, model, res, sink)
        _write_small(res, output)
    with prog.step(4):
        _models.betas(desc, ff, model, res, sink)
        _write_small(res, output)
    with prog.step(5):
        _models.risk_model(exposures, desc, model, res, sink)
        _write_small(res, output)
    with prog.step(6):
        res.focus_asset = _focus(desc, cfg, res)
        figs = _report.figures(res, output / "figures") if cfg.figures else {}
    text = _report.markdown(cfg, res, figs, prog.timings)
    (output / "report.md").write_text(text, encoding="utf-8")
    seconds = time.perf_counter() - start
    summary = [*_summary(cfg, res, output), f"wall time: {seconds:.1f} s"]
    return RunResult(output=output, results=res, lines=summary, seconds=seconds)


def with_output(cfg: PipelineConfig, output: str | Path | None) -> PipelineConfig:
    """Return ``cfg`` with its output folder replaced when ``output`` is given."""
    return cfg if output is None else replace(cfg, output=Path(output))
