"""Cross-sectional regressions on a dataset: cell sums mapped, reduced and solved here."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import polars as pl

from polars_factors import _validate
from polars_factors._units import check_units
from polars_factors.distributed._dataset import Dataset, FilePart, Paths, dataset, scan
from polars_factors.distributed._tasks import (
    Mapper,
    Task,
    Versions,
    resolve_executor,
    run_tasks,
)
from polars_factors.exceptions import InsufficientDataError, LayoutError
from polars_factors.partition._chunks import key_literal
from polars_factors.partition._run import _remove, _replace
from polars_factors.regression import _huber, _solution
from polars_factors.regression._model import CrossSectionMethod, Model, build_model
from polars_factors.regression.cross_sectional import (
    _STATS,
    CrossSectionResult,
    _residuals,
)
from polars_factors.typing import ColumnNames, EngineType

__all__ = ["cross_section"]


def _checked(parts: tuple[FilePart, ...], model: Model) -> pl.LazyFrame:
    """Return the scan of a task's files, with the call's in-plan checks (magnitudes, units)."""
    lf = _validate.check_magnitude(
        scan(parts), [model.returns, *model.exposures], function="cross_section"
    )
    return check_units(lf, [model.returns], function="cross_section")


@dataclass(frozen=True)
class _CellSums:
    """Map: the ``(date, industry)`` cell sums of a group of files."""

    parts: tuple[FilePart, ...]
    model: Model
    engine: EngineType

    def __call__(self) -> pl.DataFrame:
        model = self.model
        return (
            _checked(self.parts, model)
            .select(model.row_columns())
            .group_by(model.cell)
            .agg(model.cell_sums(pl.col(model.col("w"))))
            .collect(engine=self.engine)
            .sort(model.cell, nulls_last=True)  # the client adds equal cells column-wise
        )


@dataclass(frozen=True)
class _Residuals:
    """Map: the residuals of a group of files, from the solution of its dates.

    ``solution`` is the slim solution (:func:`_slim`) of the task's dates, or the path
    of a parquet file holding it for every date (written once next to the outputs,
    rather than sent with every task).
    """

    parts: tuple[FilePart, ...]
    model: Model
    solution: pl.DataFrame | str
    engine: EngineType
    out: str | None

    def __call__(self) -> pl.DataFrame | int:
        solution = (
            pl.scan_parquet(self.solution)
            if isinstance(self.solution, str)
            else self.solution.lazy()
        )
        frame = _residuals(scan(self.parts), solution, self.model).collect(engine=self.engine)
        return _write(frame, self.out)


def _slim(solution: pl.DataFrame, model: Model) -> pl.DataFrame:
    """Return the columns of the solution that the residuals need."""
    return solution.select(model.date, "factor", "factor_return", model.col("kind"), "status")


@dataclass(frozen=True)
class _Huber:
    """Map: the Huber fit of a group of files holding whole dates, and its residuals."""

    parts: tuple[FilePart, ...]
    model: Model
    industries: list[str]
    engine: EngineType
    out: str | None

    def __call__(self) -> tuple[pl.DataFrame, pl.DataFrame | int]:
        lf = _checked(self.parts, self.model)
        solution = _huber.solve(
            lf, self.model, engine=self.engine, industries=self.industries, warn=False
        )
        frame = _residuals(scan(self.parts), solution.lazy(), self.model).collect(
            engine=self.engine
        )
        return solution, _write(frame, self.out)


def _write(frame: pl.DataFrame, out: str | None) -> pl.DataFrame | int:
    if out is None:
        return frame
    frame.write_parquet(out)
    return frame.height


def _reduce(parts: Iterable[pl.DataFrame], model: Model) -> pl.DataFrame:
    """Add up the cell sums of the tasks as they arrive.

    The tables waiting are added to the running total once they hold as many rows as
    it: tables of asset files (each covering every cell) are folded in one by one
    (two tables in memory), tables of date files (disjoint cells) are merged a
    logarithmic number of times instead of at every task (the total doubles). A
    table with exactly the total's cells (both sorted by cell, as the tasks return
    them) is added column by column, without a ``group_by``.
    """

    def add(frames: list[pl.DataFrame]) -> pl.DataFrame:
        both = pl.concat(frames, how="vertical")
        return both.group_by(model.cell).agg(pl.all().sum()).sort(model.cell, nulls_last=True)

    def same_cells(a: pl.DataFrame, b: pl.DataFrame) -> bool:
        return a.height == b.height and a.select(model.cell).equals(b.select(model.cell))

    total: pl.DataFrame | None = None
    waiting: list[pl.DataFrame] = []
    for part in parts:
        if total is not None and not waiting and same_cells(total, part):
            sums = [c for c in total.columns if c not in model.cell]
            total = total.with_columns(pl.col(c) + part.get_column(c) for c in sums)
            continue
        waiting.append(part)
        if total is None or sum(w.height for w in waiting) >= total.height:
            total = add(waiting if total is None else [total, *waiting])
            waiting = []
    if total is None:  # pragma: no cover - a dataset has at least one file
        msg = "the dataset has no file."
        raise InsufficientDataError(msg)
    if waiting:
        total = add([total, *waiting])
    return total.sort(model.cell, nulls_last=True)


@overload
def cross_section(
    source: Dataset | Paths,
    returns: str,
    exposures: ColumnNames = ...,
    *,
    industry: str | None = ...,
    country: bool | str = ...,
    weights: str | None = ...,
    method: CrossSectionMethod = ...,
    huber_t: float = ...,
    constraint_weights: str | None = ...,
    date: str = ...,
    asset: str = ...,
    max_iter: int = ...,
    tol: float = ...,
    warn_excluded: float = ...,
    rows: int | None = ...,
    residuals_path: None = ...,
    executor: object = ...,
    engine: EngineType = ...,
) -> CrossSectionResult[pl.DataFrame]: ...


@overload
def cross_section(
    source: Dataset | Paths,
    returns: str,
    exposures: ColumnNames = ...,
    *,
    industry: str | None = ...,
    country: bool | str = ...,
    weights: str | None = ...,
    method: CrossSectionMethod = ...,
    huber_t: float = ...,
    constraint_weights: str | None = ...,
    date: str = ...,
    asset: str = ...,
    max_iter: int = ...,
    tol: float = ...,
    warn_excluded: float = ...,
    rows: int | None = ...,
    residuals_path: str | os.PathLike[str],
    executor: object = ...,
    engine: EngineType = ...,
) -> CrossSectionResult[pl.LazyFrame]: ...


def cross_section(
    source: Dataset | Paths,
    returns: str,
    exposures: ColumnNames = (),
    *,
    industry: str | None = None,
    country: bool | str = False,
    weights: str | None = None,
    method: CrossSectionMethod = "wls",
    huber_t: float = 1.345,
    constraint_weights: str | None = None,
    date: str = "date",
    asset: str = "asset",
    max_iter: int = 50,
    tol: float = 1e-8,
    warn_excluded: float = 0.5,
    rows: int | None = None,
    residuals_path: str | os.PathLike[str] | None = None,
    executor: object = None,
    engine: EngineType = "auto",
) -> CrossSectionResult[pl.DataFrame] | CrossSectionResult[pl.LazyFrame]:
    r"""Cross-sectional regressions of a dataset's files, run as tasks (map, reduce, solve).

    The same model and results as :func:`polars_factors.cross_section`, computed
    from parquet files by tasks that an executor (a Dask cluster) runs:

    - ``"ols"``/``"wls"``: each task sums its files' ``(date, industry)`` cells
      (:math:`w`, :math:`wz`, :math:`wzz'`); the client adds the tables up as they
      arrive and solves every date in one batch; a second map computes each task's
      residuals. Sums add up across any files, so any layout works.
    - ``"huber"``: every date's IRLS fit is independent of the others', so each
      task runs the whole fit of its dates (its iterations, the per-date median
      scale) and returns its factor returns and residuals; the tasks need whole
      dates (a dataset checked with ``by="date"``). A first map of cell sums checks
      the whole panel (negative weights, no usable row) and fixes the industry list.

    Parameters
    ----------
    source
        A :class:`Dataset`, or parquet files (glob, folder, list; checked with
        ``by="date"`` for Huber).
    returns, exposures, industry, country, weights, method, huber_t, constraint_weights
        As in :func:`polars_factors.cross_section`.
    date, asset, max_iter, tol, warn_excluded
        As in :func:`polars_factors.cross_section`.
    rows
        Target number of rows per task (consecutive files grouped; default: a task
        per file). Fewer, larger tasks mean fewer partial cell tables to add up.
    residuals_path
        A folder: each task writes its residuals there as ``part-NNNNN.parquet``
        (atomically, like :func:`sink_parquet`) and the result's ``residuals`` is a
        scan of it; the result is then a ``CrossSectionResult`` of LazyFrames (the
        factor returns and statistics in memory). Default: the residuals are
        returned to the client and concatenated (DataFrames throughout).
    executor
        Runs the tasks (see :func:`sink_parquet`); ``None``: here.
    engine
        Polars engine of each task.

    Returns
    -------
    CrossSectionResult
        ``factor_returns`` and ``stats`` sorted by date, ``residuals`` in file order
        (within a file, in row order), equal to the in-process result to rounding
        (the sums are added in another order: about 1e-15 relative).

    Raises
    ------
    LayoutError
        ``method="huber"`` on a dataset not split by date.
    ColumnNotFoundError, SchemaError, ValueError, WeightError, InsufficientDataError
        As :func:`polars_factors.cross_section`. The duplicate-key check is not run
        (check a dataset once with :func:`polars_factors.check_panel`).
    WorkerVersionError
        A worker runs another polars_factors or Polars version than the client.

    Examples
    --------
    >>> import tempfile
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> panel = pf.datasets.synthetic_panel(n_dates=12, n_assets=60, seed=3).panel
    >>> ds = pf.distributed.layout(panel, tempfile.mkdtemp(), by="asset", rows=240)
    >>> res = pf.distributed.cross_section(
    ...     ds, "returns", ["style_1", "style_2"], industry="industry", country=True)
    >>> ref = pf.cross_section(panel, "returns", ["style_1", "style_2"],
    ...                        industry="industry", country=True).collect()
    >>> a, b = res.factor_returns["factor_return"], ref.factor_returns["factor_return"]
    >>> bool(((a - b).abs() < 1e-12).all())
    True
    """
    huber = method == "huber"
    if isinstance(source, Dataset):
        ds = source
        if huber and ds.by != "date":
            raise LayoutError(_HUBER_LAYOUT)
    else:
        ds = dataset(source, by="date" if huber else None, date=date, asset=asset)
    schema = pl.scan_parquet(ds.files[0]).collect_schema()
    model = build_model(
        schema, returns=returns, exposures=exposures, industry=industry, country=country,
        weights=weights, constraint_weights=constraint_weights, method=method,
        huber_t=huber_t, max_iter=max_iter, tol=tol, warn_excluded=warn_excluded,
        date=date, asset=asset,
    )  # fmt: skip
    run = _Run(ds, model, ds.groups(rows), Versions.here(), resolve_executor(executor), engine)
    # The cell tables are added up as they arrive, while the workers compute the rest.
    cells = _reduce(run.results([_CellSums(g, model, engine) for g in run.groups]), model)
    temp = None
    if residuals_path is not None:
        target = Path(residuals_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.partial-{uuid.uuid4().hex[:8]}")
        temp.mkdir()
    try:
        fit = _huber_fit if model.method == "huber" else _linear_fit
        solution, residuals = fit(run, cells, temp)
        if temp is not None:
            _replace(temp, Path(residuals_path))  # type: ignore[arg-type]
    except BaseException:
        if temp is not None:
            _remove(temp)
        raise
    factor_returns = solution.select(model.date, "factor", "factor_return", "std_error", "t_stat")
    stats = solution.filter(pl.col(model.col("first"))).select(model.date, *_STATS)
    if residuals_path is None:
        frames = [r for r in residuals if isinstance(r, pl.DataFrame)]
        return CrossSectionResult(factor_returns, pl.concat(frames), stats, model.method)
    resid = pl.scan_parquet(Path(residuals_path) / "*.parquet")
    return CrossSectionResult(factor_returns.lazy(), resid, stats.lazy(), model.method)


@dataclass(frozen=True)
class _Run:
    """One distributed fit: the dataset, the model, the tasks' file groups, the executor."""

    ds: Dataset
    model: Model
    groups: list[tuple[FilePart, ...]]
    versions: Versions
    mapper: Mapper | None
    engine: EngineType

    def results(self, works: list[Any]) -> Iterator[Any]:
        """Run one task per work item; yield their values in order, as they come."""
        return run_tasks(self.mapper, [Task(w, self.versions) for w in works])

    def map(self, works: list[Any]) -> list[Any]:
        """Run one task per work item; return their values in order."""
        return list(self.results(works))

    def outs(self, temp: Path | None) -> list[str | None]:
        """Return each task's output file (``None``: return the residuals instead)."""
        return [
            None if temp is None else str(temp / f"part-{i:05d}.parquet")
            for i in range(len(self.groups))
        ]


Fit = tuple[pl.DataFrame, list[Any]]


def _linear_fit(run: _Run, cells: pl.DataFrame, temp: Path | None) -> Fit:
    """OLS/WLS: solve the summed cells here, then a map for the residuals."""
    model = run.model
    solution = _solution.solve_batch(cells, model)
    slim = _slim(solution, model)
    shared: str | None = None
    if temp is not None and run.ds.by != "date":
        # Every task needs every date: one file on the shared file system.
        shared = str(temp / ".solution.parquet")
        slim.write_parquet(shared)
    works = [
        _Residuals(g, model, shared or _dates_of(slim, g, run.ds, model), run.engine, out)
        for g, out in zip(run.groups, run.outs(temp), strict=True)
    ]
    residuals = run.map(works)
    if shared is not None:
        Path(shared).unlink()
    return solution, residuals


def _huber_fit(run: _Run, cells: pl.DataFrame, temp: Path | None) -> Fit:
    """Huber: the whole panel checked from its cells, then each task fits its dates."""
    model = run.model
    _solution.check_cells(cells, model)
    industries = _solution.industries_of(cells, model)
    works = [
        _Huber(g, model, industries, run.engine, out)
        for g, out in zip(run.groups, run.outs(temp), strict=True)
    ]
    pieces = run.map(works)
    solution = pl.concat([s for s, _ in pieces], how="vertical").sort(
        model.date, maintain_order=True, nulls_last=True
    )
    per_date = solution.filter(pl.col(model.col("first")))
    _solution.warn_excluded(model, per_date)
    _solution.warn_unsolved(model, per_date)
    return solution, [r for _, r in pieces]


_HUBER_LAYOUT = (
    "method='huber' runs each date's IRLS fit (its median scale) inside one task, so "
    "every date must be whole in one file: pass a dataset built with by='date' (or "
    "lay the files out with pf.distributed.layout(source, folder, by='date'))."
)


def _dates_of(
    solution: pl.DataFrame, group: tuple[FilePart, ...], ds: Dataset, model: Model
) -> pl.DataFrame:
    """Return the part of the solution a task needs: its dates when the files are date ranges."""
    keyed = [p for p in group if p.lo is not None]
    if ds.by != "date" or not keyed:
        return solution
    dtype = solution.schema[model.date]
    lo = key_literal(min(p.lo for p in keyed), dtype)
    hi = key_literal(max(p.hi for p in keyed), dtype)
    return solution.filter(pl.col(model.date).is_between(lo, hi))
