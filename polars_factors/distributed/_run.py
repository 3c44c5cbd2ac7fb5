"""Per-partition work on a dataset: each task builds its plan from its own files."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from polars_factors import _validate
from polars_factors.distributed._dataset import (
    Dataset,
    FilePart,
    Paths,
    dataset,
    expand_paths,
)
from polars_factors.distributed._tasks import Task, Versions, resolve_executor, run_tasks
from polars_factors.exceptions import InvalidDataError, LayoutError
from polars_factors.partition._chunks import SplitKey, key_literal
from polars_factors.partition._run import (
    Lookback,
    SinkReport,
    _remove,
    _replace,
    before,
    check_lookback,
)
from polars_factors.typing import EngineType

__all__ = ["Build", "collect", "layout", "sink_parquet"]

#: Builds a task's plan from the scan of its files.
Build = Callable[[pl.LazyFrame], pl.LazyFrame]


@dataclass(frozen=True)
class _Part:
    """One task of per-partition work: its files, the plan builder, where to write."""

    files: tuple[str, ...]
    build: Build | None
    engine: EngineType
    #: With a lookback: the files before this task's that its plan also reads, the
    #: date column, its dtype, the task's first and last date and the lookback.
    context: tuple[str, ...] = ()
    window: tuple[str, pl.DataType, Any, Any, Lookback] | None = None
    out: str | None = None
    compression: str = "zstd"

    def __call__(self) -> pl.DataFrame | int:
        lf = pl.scan_parquet([*self.context, *self.files])
        if self.window is None:
            out = lf if self.build is None else self.build(lf)
        else:
            column, dtype, lo, hi, lookback = self.window
            first, last = key_literal(lo, dtype), key_literal(hi, dtype)
            lf = lf.filter(pl.col(column) >= before(first, dtype, lookback))
            out = lf if self.build is None else self.build(lf)
            out = out.filter(pl.col(column).is_between(first, last))
        frame = out.collect(engine=self.engine)
        if self.out is None:
            return frame
        frame.write_parquet(self.out, compression=self.compression)  # type: ignore[arg-type]
        return frame.height


def _as_dataset(source: Dataset | Paths, by: SplitKey | None, *, date: str, asset: str) -> Dataset:
    if isinstance(source, Dataset):
        if by is not None and by != source.by:
            msg = f"the dataset was checked for by={source.by!r}, not by={by!r}."
            raise LayoutError(msg)
        return source
    return dataset(source, by=by, date=date, asset=asset)


def _parts(
    ds: Dataset,
    *,
    build: Build | None,
    rows: int | None,
    engine: EngineType,
    lookback: Lookback | None,
    folder: Path | None = None,
    compression: str = "zstd",
) -> list[_Part]:
    """One task per group of files; refuse a dataset whose layout was not checked."""
    if ds.by is None:
        msg = (
            "per-partition work needs every date (or asset) whole in one file, but the "
            "dataset makes no such promise: build it with pf.distributed.dataset(files, "
            "by='date') for per-date work, or by='asset' for rolling, per-asset work."
        )
        raise LayoutError(msg)
    if build is not None and not callable(build):
        msg = f"`build` must be a function from a LazyFrame to a LazyFrame; got {build!r}."
        raise TypeError(msg)
    if lookback is not None:
        if ds.by != "date":
            msg = "`lookback` needs a dataset split by date (by='date')."
            raise ValueError(msg)
        check_lookback(lookback)
        nulls = [p for p in ds.parts if p.null_keys]
        if nulls:
            msg = (
                f"{sum(p.null_keys for p in nulls)} rows have a null {ds.date!r} (first in "
                f"{Path(nulls[0].path).name}): with `lookback` each task keeps the rows of "
                "its own dates, so they would be in no output. Drop or fix them first."
            )
            raise InvalidDataError(msg)
    dtype = pl.scan_parquet(ds.files[0]).collect_schema()[ds.date]
    groups = [g for g in ds.groups(rows) if any(p.rows for p in g)] or ds.groups(rows)[:1]
    tasks = []
    for i, group in enumerate(groups):
        out = None if folder is None else str(folder / f"part-{i:05d}.parquet")
        files = tuple(p.path for p in group)
        window = context = None
        keyed = [p for p in group if p.lo is not None]
        if lookback is not None and keyed:
            lo, hi = min(p.lo for p in keyed), max(p.hi for p in keyed)
            context = _context(ds, group, lo, dtype, lookback)
            window = (ds.date, dtype, lo, hi, lookback)
        tasks.append(_Part(files, build, engine, context or (), window, out, compression))
    return tasks


def _context(
    ds: Dataset, group: tuple[FilePart, ...], lo: Any, dtype: pl.DataType, lookback: Lookback
) -> tuple[str, ...]:
    """Return the files outside ``group`` with dates in ``[lo - lookback, lo)``."""
    start = pl.select(before(key_literal(lo, dtype), dtype, lookback)).item()
    lo_value = pl.select(key_literal(lo, dtype)).item()
    mine = {p.path for p in group}
    out = []
    for p in ds.parts:
        if p.path in mine or p.lo is None:
            continue
        first, last = (pl.select(key_literal(v, dtype)).item() for v in (p.lo, p.hi))
        if last >= start and first < lo_value:
            out.append(p.path)
    return tuple(out)


def collect(
    source: Dataset | Paths,
    *,
    build: Build | None = None,
    by: SplitKey | None = None,
    date: str = "date",
    asset: str = "asset",
    rows: int | None = None,
    lookback: Lookback | None = None,
    executor: object = None,
    engine: EngineType = "auto",
) -> pl.DataFrame:
    """Run ``build`` on each group of files and concatenate the results in file order.

    For per-partition work whose result is small: an IC or portfolio returns per
    date on date-split files, betas per asset on asset-split files. Parameters as
    in :func:`sink_parquet`.

    Examples
    --------
    >>> import tempfile
    >>> from functools import partial
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> panel = pf.datasets.synthetic_panel(n_dates=6, n_assets=40, seed=1).panel
    >>> ds = pf.distributed.layout(panel, tempfile.mkdtemp(), by="date", rows=80)
    >>> def terciles(lf):
    ...     lf = pf.assign_buckets(lf, "style_1", n=3, check_keys=False)
    ...     return pf.portfolio_returns(lf, "style_1_bucket", "returns", weights="mcap")
    >>> out = pf.distributed.collect(ds, build=terciles)
    >>> ref = terciles(panel).collect().sort("date", "style_1_bucket")
    >>> out.height, float((out["return"] - ref["return"]).abs().max()) < 1e-15
    (18, True)
    """
    ds = _as_dataset(source, by, date=date, asset=asset)
    tasks = _parts(ds, build=build, rows=rows, engine=engine, lookback=lookback)
    versions = Versions.here()
    mapper = resolve_executor(executor)
    frames = list(run_tasks(mapper, [Task(t, versions) for t in tasks]))
    return pl.concat([f for f in frames if isinstance(f, pl.DataFrame)], how="vertical")


def sink_parquet(
    source: Dataset | Paths,
    path: str | os.PathLike[str],
    *,
    build: Build | None = None,
    by: SplitKey | None = None,
    date: str = "date",
    asset: str = "asset",
    rows: int | None = None,
    lookback: Lookback | None = None,
    compression: str = "zstd",
    executor: object = None,
    engine: EngineType = "auto",
) -> SinkReport:
    """Run ``build`` on each group of files; each task writes its own part file.

    The distributed form of :func:`polars_factors.partition.sink_parquet`: the tasks
    are groups of whole files of a checked layout instead of key ranges of one plan,
    and each carries only its file names and ``build`` (no serialized plan), so that
    it runs on any worker that sees the files.

    Parameters
    ----------
    source
        A :class:`Dataset`, or files (glob, folder, list) checked with ``by``.
    path
        Output folder: ``part-NNNNN.parquet`` per task, in file order. It appears
        only when every task has written its part (a temporary folder next to it is
        renamed); an existing folder of that name is replaced. Workers write into it:
        it must be on a file system they share with the client.
    build
        The work of a task, from the scan of its files, e.g.
        ``functools.partial(pf.standardize, columns=["size", "value"])`` on date-split
        files, ``functools.partial(pf.betas, returns="ret", factors=["mkt"],
        window=252)`` on asset-split files. It must pickle (a module-level function or
        a ``functools.partial``; a lambda only for a Dask executor, which uses
        cloudpickle). ``None``: the rows as they are.
    by
        With files: the layout to check (see :func:`dataset`). Required, because
        each task must hold whole dates (``"date"``) or whole assets (``"asset"``).
    date, asset
        Names of the key columns.
    rows
        Target number of rows per task: consecutive files are grouped up to it
        (default: one file per task).
    lookback
        With ``by="date"``: each task also reads the files of the ``lookback`` before
        its first date (a Polars duration such as ``"25mo"``, a ``timedelta``, or a
        count for integer dates) and keeps only its own dates in the result (the
        window's overlap; e.g. Fama-French sorts formed each June).
    compression
        Parquet codec of the parts.
    executor
        Runs the tasks: ``None`` here, one after another; a Dask ``Client`` (its
        workers' versions are checked first), ``Client.get_executor()``, a
        ``concurrent.futures`` executor, or anything with ``map(fn, iterable)``.
    engine
        Polars engine of each task.

    Returns
    -------
    polars_factors.partition.SinkReport
        The folder, its files, the number of tasks and rows, the wall time.

    Raises
    ------
    LayoutError
        The dataset makes no layout promise, or keeps another one than ``by``.
    InvalidDataError
        With ``lookback``: rows with a null date (they would be in no task's dates).
    WorkerVersionError
        A worker runs another polars_factors or Polars version than the client.

    Warns
    -----
    FactorsWarning
        The warnings of the tasks, issued again here (identical ones once).

    Examples
    --------
    >>> import tempfile
    >>> from functools import partial
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> panel = pf.datasets.synthetic_panel(n_dates=20, n_assets=50, seed=1).panel
    >>> ds = pf.distributed.layout(panel, tempfile.mkdtemp(), by="date", rows=250)
    >>> z = partial(pf.zscore, columns=["style_1"], check_keys=False)
    >>> out = tempfile.mkdtemp() + "/z"
    >>> report = pf.distributed.sink_parquet(ds, out, build=z)
    >>> report.n_chunks, report.n_rows
    (4, 1000)
    >>> pl.read_parquet(out).sort("date", "asset").equals(z(panel).collect().sort("date", "asset"))
    True
    """
    start = time.perf_counter()
    ds = _as_dataset(source, by, date=date, asset=asset)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.partial-{uuid.uuid4().hex[:8]}")
    tasks = _parts(
        ds, build=build, rows=rows, engine=engine, lookback=lookback, folder=temp,
        compression=compression,
    )  # fmt: skip
    versions = Versions.here()
    mapper = resolve_executor(executor)
    temp.mkdir()
    try:
        counts = run_tasks(mapper, [Task(t, versions) for t in tasks])
        n_rows = sum(n for n in counts if isinstance(n, int))
        _replace(temp, target)
    except BaseException:
        _remove(temp)
        raise
    files = tuple(target / Path(t.out).name for t in tasks if t.out is not None)
    return SinkReport(target, files, len(tasks), n_rows, time.perf_counter() - start)


def layout(
    source: pl.LazyFrame | pl.DataFrame | Dataset | Paths,
    path: str | os.PathLike[str],
    *,
    by: SplitKey,
    date: str = "date",
    asset: str = "asset",
    rows: int | None = None,
    compression: str = "zstd",
    engine: EngineType = "auto",
) -> Dataset:
    """Re-partition a panel into files of whole dates or whole assets, in bounded memory.

    ``by="date"``: files of consecutive dates (a date range each); ``by="asset"``:
    files of consecutive assets (an asset range each: every asset's whole history in
    one file). Each file holds about ``rows`` rows. Runs on the partition layer
    (:func:`polars_factors.partition.sink_parquet` with ``layout="directory"``):
    one chunk of keys at a time. Asset ranges of parquet files are cut in one pass
    over them by chunks of dates (``shuffle=True``), so that an asset range does not
    re-read date-sorted files; date ranges are read directly (fast when the files
    are sorted, or split, by date).

    Parameters
    ----------
    source
        A LazyFrame or DataFrame, a :class:`Dataset` (e.g. date files to lay out
        again by asset), or parquet files (glob, folder, list).
    path
        Output folder (``part-NNNNN.parquet``, in key order), written atomically.
    by
        ``"date"`` or ``"asset"``.
    date, asset
        Names of the key columns.
    rows
        Target rows per file (default 1,000,000); keys are never split.
    compression
        Parquet codec.
    engine
        Polars engine.

    Returns
    -------
    Dataset
        The files written, checked for ``by`` (see :func:`dataset`).

    Raises
    ------
    InvalidDataError
        Rows with a null split key (they would belong to no file).
    ColumnNotFoundError
        A key column is missing.

    Notes
    -----
    Reads the split key column once more first (the null check).

    Asset *ranges* sized by row count rather than a hash of the asset: as balanced,
    stable across Polars versions (Polars' hash is not), and each file's key
    statistics then describe it. Rows keep their source order within a file, so an
    asset's dates stay in order when they were in order in the source.

    Examples
    --------
    >>> import tempfile
    >>> import polars_factors as pf
    >>> panel = pf.datasets.synthetic_panel(n_dates=10, n_assets=30, seed=1).panel
    >>> ds = pf.distributed.layout(panel, tempfile.mkdtemp(), by="asset", rows=100)
    >>> len(ds.parts), ds.n_rows
    (3, 300)
    """
    from polars_factors.partition import sink_parquet as chunked_sink  # noqa: PLC0415
    from polars_factors.partition._run import worth_shuffling  # noqa: PLC0415

    _validate.check_choice("by", by, ("date", "asset"))
    if isinstance(source, (pl.LazyFrame, pl.DataFrame)):
        lf = source.lazy()
    elif isinstance(source, Dataset):
        lf = source.scan()
    else:
        lf = pl.scan_parquet(expand_paths(source))
    key = date if by == "date" else asset
    _validate.check_columns_exist(lf.collect_schema(), [date, asset], role="panel key")
    n_null = lf.select(pl.col(key).is_null().sum()).collect(engine=engine).item()
    if n_null:
        msg = (
            f"{n_null} rows have a null {key!r}: a layout by {by} puts every row in the file "
            f"of its {by}, and these have none. Drop or fix them first, e.g. "
            f"lf.filter(pl.col({key!r}).is_not_null())."
        )
        raise InvalidDataError(msg)
    # Asset ranges of date-sorted files: one pass over the files by chunks of dates
    # (which skip row groups) instead of one pass per asset range. Date ranges read
    # date-sorted files directly.
    shuffle = by == "asset" and worth_shuffling(lf, via=date)
    chunked_sink(
        lf, path, by=by, date=date, asset=asset, rows=rows, layout="directory",
        compression=compression, engine=engine, shuffle=shuffle,
    )  # fmt: skip
    return dataset(path, by=by, date=date, asset=asset, engine=engine)
