"""Run the pipeline: the steps in order, with progress, then parquet, report and summary."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

import polars as pl

import polars_factors as pf
from polars_factors.exceptions import (
    ConfigError,
    InsufficientDataError,
    InvalidDataError,
    SingularMatrixError,
    WeightError,
)
from polars_factors.pipeline import _models, _output, _report, _steps
from polars_factors.pipeline._checks import BadValueError, describe, scheduler
from polars_factors.pipeline._cluster import Cluster, open_cluster
from polars_factors.pipeline._config import ModelConfig, PipelineConfig
from polars_factors.pipeline._data import load_fama_french, load_panel
from polars_factors.pipeline._steps import Results

__all__ = ["DEMO_OUTPUT", "RunResult", "demo_config", "run", "with_output", "with_scheduler"]

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
#: What a step may meet on small or sparse data (too few stocks or dates, an empty
#: industry, a singular system): that step is skipped with a note and the run goes
#: on. Anything else (a bad file, duplicate keys, a bug) ends the run.
SKIPPABLE = (InsufficientDataError, InvalidDataError, SingularMatrixError, WeightError)


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
        self.done: list[str] = []  # the steps that ran to their end (or were skipped)

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
            self.done.append(name)
        for message in dict.fromkeys(str(w.message).splitlines()[0] for w in caught):
            self.res.notes.append(f"{name}: warning: {message}")


@contextmanager
def _skippable(res: Results, step: str) -> Iterator[None]:
    """Skip ``step`` with a note when the data cannot carry it (:data:`SKIPPABLE`)."""
    try:
        yield
    except SKIPPABLE as exc:
        text = str(exc).strip().splitlines()
        res.skip(step, text[0] if text else type(exc).__name__)


def _write_small(res: Results, output: Path) -> None:
    """Write the in-memory tables not written yet (the per-row ones are, by their step)."""
    for name, frame in res.tables.items():
        if isinstance(frame, pl.DataFrame) and name not in res.written:
            _output.atomic_write(output / f"{name}.parquet", frame.write_parquet)
            res.written[name] = frame.shape


class _Record:
    """The manifest of the run, rewritten after each step (unfinished until the end)."""

    def __init__(self, manifest: _output.Manifest, res: Results, prog: _Progress) -> None:
        self.manifest, self.res, self.prog = manifest, res, prog
        self.figures: dict[str, tuple[str, str]] = {}
        self.report = False

    def __call__(self, *, finished: bool = False, error: str | None = None) -> None:
        res = self.res
        files: dict[str, int | None] = {f"{k}.parquet": n for k, (n, _) in res.written.items()}
        files |= {path: None for path, _ in self.figures.values()}
        if self.report:
            files["report.md"] = None
        ran = [name for name in self.prog.done if name not in res.skipped]
        self.manifest.write(
            files=files,
            steps=ran,
            skipped=res.skipped,
            notes=res.notes,
            weights=res.weights if "descriptors" in res.written else None,
            finished=finished,
            error=error,
        )


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


def _summary(cfg: PipelineConfig, res: Results, output: Path, cluster: Cluster | None) -> list[str]:
    s = res.summary

    def fmt(values: dict[str, float], spec: str) -> str:
        return ", ".join(f"{k} {v:{spec}}" for k, v in values.items() if v is not None)

    lines = [
        f"data: {cfg.source}",
        *([cluster.line()] if cluster is not None else []),
        (
            f"panel: {s['rows']:,} rows, {s['dates']} dates ({s['first']} .. {s['last']}), "
            f"{s['assets']} assets"
        ),
        (
            f"model: styles{f' ({cfg.model.preset} preset)' if cfg.model.preset else ''} "
            f"{', '.join(res.styles) or 'none'}; industries: {res.industry or 'none'}"
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
            f"risk model ({cfg.model.risk_preset}) at {s['risk_date']}: {res.weights} portfolio "
            f"vol {s['portfolio_vol']:.1%} a year, {s['portfolio_r2']:.0%} from factors; "
            f"median stock R² {s['median_asset_r2']:.2f}"
        )
    if "vol_ratio" in s:
        lines.append(
            f"realized / implied vol over {s['vol_ratio_window']} dates after "
            f"{s['vol_ratio_date']}: {s['vol_ratio']:.2f}"
        )
    if not res.has_mcap:
        lines.append("weights: equal (no shares_outstanding, so no market cap)")
    lines += [f"skipped: {step}: {reason}" for step, reason in res.skipped.items()]
    if res.notes:
        lines.append(f"notes: {len(res.notes)} (see the report)")
    lines.append(
        f"output: {output / 'report.md'}, {len(res.written)} parquet files and "
        f"{output / _output.MANIFEST}"
    )
    return lines


def run(
    cfg: PipelineConfig,
    *,
    progress: TextIO | None = None,
    on_step: Callable[[str], None] | None = None,
    overwrite: bool = False,
    command: Sequence[str] | None = None,
    executor: object = None,
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
    overwrite
        Write into an output folder that is not empty: the files of the previous
        run (those its ``manifest.json`` lists) are removed first, any other file is
        left alone. Without it such a folder is refused (``--overwrite``).
    command
        The command line, recorded in ``manifest.json`` (``polars-factors`` passes it).
    executor
        Runs the per-chunk work of the steps (descriptors, standardization,
        Fama-French sorts, cross-section, betas): a Dask ``Client`` (its workers'
        versions are checked first), ``Client.get_executor()``, a
        ``ThreadPoolExecutor``, or anything with ``map(fn, iterable)`` that yields
        results in order; the caller closes it. ``None`` (default): the cluster of
        ``cfg.cluster`` (``[cluster]``, ``--scheduler``), or this process when it
        names none. The tasks hold local functions, so the executor must ship them
        with cloudpickle, as Dask does: a ``ProcessPoolExecutor`` is refused. Its
        workers must see the input files and the output folder at the same paths.

    Returns
    -------
    RunResult

    Raises
    ------
    FactorsError
        A configuration or data error (e.g. ``ConfigError``, ``ColumnNotFoundError``,
        ``DuplicateKeyError``); ``ConfigError`` for an output folder that is a file,
        is not writable, or is not empty (without ``overwrite``), before any work.
        Steps 2 to 7 that cannot run on the data (:data:`SKIPPABLE`) are skipped
        with a note instead, and the steps that need them too. ``ConfigError`` also
        for a scheduler that does not answer within ``cfg.cluster.timeout``.
    MissingDependencyError
        ``cfg.cluster`` names a scheduler and Dask is not installed
        (``pip install 'polars_factors[dask]'``).
    WorkerVersionError
        A worker of the cluster runs another polars_factors or Polars version.

    Notes
    -----
    With a cluster, the chunks of the per-row steps run on the workers, which read
    their rows and write or return their results; the cross-sectional aggregates,
    the Fama-MacBeth summary, the risk model and the report stay here. The run's
    outputs are those of a run in this process.

    Every file is written under a temporary name and renamed when complete.
    ``manifest.json`` is written first with ``"finished": false``, rewritten after each
    step, and written last with ``"finished": true``: a folder whose manifest is not
    finished holds an interrupted run.
    """
    start = time.perf_counter()
    res = Results()
    prog = _Progress(progress, res, on_step)
    # Lazy scans and schema checks first: a bad path or column fails before any step,
    # then the cluster and the output folder, before any computation.
    panel = load_panel(cfg.data, source=cfg.source, notes=res.notes)
    ff = load_fama_french(cfg.data)
    # The cluster before the output folder: a scheduler that does not answer leaves
    # the folder (and a previous run's outputs, with overwrite) as it was.
    with open_cluster(cfg.cluster, executor) as cluster:
        output = _output.prepare(cfg.output, overwrite=overwrite)
        manifest = _output.Manifest(
            output, cfg, command, cluster=None if cluster is None else cluster.manifest()
        )
        record = _Record(manifest, res, prog)
        record()
        try:
            mapper = None if cluster is None else cluster.mapper
            figs = _steps_and_figures(cfg, panel, ff, res, prog, record, mapper)
            text = _report.markdown(cfg, res, figs, prog.timings)
            _output.atomic_write(output / "report.md", lambda p: p.write_text(text, "utf-8"))
            record.report = True
        except BaseException as exc:
            with suppress(OSError):  # the error itself is what the caller must see
                message = str(exc).strip().splitlines()
                record(error=": ".join([type(exc).__name__, *message[:1]]))
            raise
    seconds = time.perf_counter() - start
    summary = [*_summary(cfg, res, output, cluster), f"wall time: {seconds:.1f} s"]
    record(finished=True)
    return RunResult(output=output, results=res, lines=summary, seconds=seconds)


def _steps_and_figures(  # noqa: PLR0917  (run's state, passed on)
    cfg: PipelineConfig,
    panel: pl.LazyFrame,
    ff: pl.DataFrame,
    res: Results,
    prog: _Progress,
    record: _Record,
    executor: pf.partition.Mapper | None,
) -> dict[str, tuple[str, str]]:
    """Run steps 1 to 7, recording the manifest after each; return the figures drawn."""
    model, output = cfg.model, cfg.output
    # The per-row tables are written by their step, chunk by chunk; the small ones
    # (per date, per asset, per factor) are written as each step finishes. The
    # chunks' plans name files of the output folder: absolute paths, which a worker
    # of a cluster (another working directory) reads as they are.
    sink = _steps.Sink(
        output.absolute(), rows=cfg.chunk_rows, on_chunk=prog.chunk, executor=executor
    )
    with prog.step(0):
        desc = _steps.descriptors(panel, model, res, sink, ff)
    record()
    exposures: pl.LazyFrame | None = None
    with prog.step(1), _skippable(res, STEPS[1]):
        exposures = _steps.standardize(desc, model, res, sink)
    record()
    with prog.step(2), _skippable(res, STEPS[2]):
        _steps.fama_french(desc, ff, res, sink)
    _write_small(res, output)
    record()
    with prog.step(3), _skippable(res, STEPS[3]):
        if exposures is None:
            res.skip(STEPS[3], f"no exposures ({STEPS[1]} skipped).")
        else:
            _models.cross_section(exposures, model, res, sink)
    _write_small(res, output)
    record()
    with prog.step(4), _skippable(res, STEPS[4]):
        _models.betas(desc, ff, model, res, sink)
    _write_small(res, output)
    record()
    with prog.step(5), _skippable(res, STEPS[5]):
        if exposures is None or "cross_section" not in res.objects:
            res.skip(STEPS[5], f"no cross-sectional regression ({STEPS[3]} skipped).")
        else:
            _models.risk_model(exposures, desc, model, res, sink)
    _write_small(res, output)
    record()
    with prog.step(6):
        res.focus_asset = _focus(desc, cfg, res)
        if cfg.figures:
            record.figures = _report.figures(res, output / "figures")
    record()
    return record.figures


def with_output(cfg: PipelineConfig, output: str | Path | None) -> PipelineConfig:
    """Return ``cfg`` with its output folder replaced when ``output`` is given."""
    return cfg if output is None else replace(cfg, output=Path(output))


def with_scheduler(cfg: PipelineConfig, scheduler_address: str | None) -> PipelineConfig:
    """Return ``cfg`` with its Dask scheduler replaced when one is given (``--scheduler``).

    Parameters
    ----------
    cfg
        The settings.
    scheduler_address
        ``"local"`` (a local cluster of ``cfg.cluster.workers`` processes for the
        run) or the address of a running scheduler, ``"tcp://10.0.0.5:8786"``;
        ``None``: ``cfg`` as it is.

    Raises
    ------
    ConfigError
        ``scheduler_address`` is neither ``"local"`` nor an address.

    Examples
    --------
    >>> cfg = with_scheduler(demo_config("out"), "tcp://10.0.0.5:8786")
    >>> cfg.cluster.scheduler
    'tcp://10.0.0.5:8786'
    """
    if scheduler_address is None:
        return cfg
    try:
        scheduler(scheduler_address)
    except BadValueError as bad:
        msg = f"--scheduler must be {bad.expected}, got {describe(scheduler_address)}"
        raise ConfigError(msg + (f"; {bad.hint}" if bad.hint else "")) from None
    return replace(cfg, cluster=replace(cfg.cluster, scheduler=scheduler_address))
