"""Run a lazy plan chunk by chunk: collect it, or write it to parquet."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import polars as pl

from polars_factors import _validate
from polars_factors._frame import temp_name
from polars_factors.exceptions import PartitionError
from polars_factors.partition._chunks import (
    DEFAULT_ROWS,
    Chunk,
    SplitKey,
    check_chunks,
    key_literal,
    plan_by_rows,
)
from polars_factors.partition._pushdown import blocked_filters
from polars_factors.typing import EngineType

__all__ = [
    "ChunkCallback",
    "Mapper",
    "SinkReport",
    "chunked",
    "collect",
    "map_chunks",
    "sink_parquet",
    "split_key",
    "worth_shuffling",
    "write_frames",
]

_SCAN = re.compile(r"^\s*([A-Za-z]+ SCAN|SCAN )")

#: Builds the plan of one chunk from the chunk's rows of the source.
Build = Callable[[pl.LazyFrame], pl.LazyFrame]

#: How far before a chunk's first date its plan needs rows: a Polars duration string
#: (``"13mo"``, ``"30d"``), a ``timedelta``, or an integer for integer dates.
Lookback = str | dt.timedelta | int

#: Called after each chunk with the chunk and the number of rows it produced.
ChunkCallback = Callable[[Chunk, int], None]

Layout = Literal["file", "directory"]


class Mapper(Protocol):
    """Anything with ``map(fn, iterable)`` that yields results in order.

    ``builtins.map`` (the default), a ``concurrent.futures`` executor, or
    ``dask.distributed.Client.get_executor()``.
    """

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> Iterator[Any]:
        """Apply ``fn`` to every item, yielding the results in order."""
        ...


@dataclass(frozen=True)
class SinkReport:
    """What :func:`sink_parquet` wrote.

    Attributes
    ----------
    path
        The file or directory written.
    files
        The parquet files written (one for ``layout="file"``).
    n_chunks, n_rows
        Number of chunks run and rows written.
    seconds
        Wall time of the run.
    """

    path: Path
    files: tuple[Path, ...]
    n_chunks: int
    n_rows: int
    seconds: float


def chunked(
    plan: pl.LazyFrame | pl.DataFrame,
    *,
    by: SplitKey = "date",
    date: str = "date",
    asset: str = "asset",
    rows: int | None = None,
    size: int | None = None,
    chunks: Sequence[Chunk] | None = None,
    engine: EngineType = "auto",
    build: Build | None = None,
    lookback: Lookback | None = None,
) -> _Task:
    """Validate a split and plan its chunks; return the task that runs one chunk."""
    if lookback is not None and (build is None or by != "date"):
        msg = (
            "`lookback` needs `build` and by='date': each chunk's plan is built from its "
            "rows and the rows of the lookback before it, then cut to the chunk's dates."
        )
        raise ValueError(msg)
    if lookback is not None:
        check_lookback(lookback)
    lf, column, schema = split_key(plan, by=by, date=date, asset=asset)
    if chunks is not None:
        if rows is not None or size is not None:
            msg = "pass `chunks` or `rows`/`size`, not both."
            raise ValueError(msg)
        planned = check_chunks(chunks, column)
    else:
        planned = plan_by_rows(
            lf, column=column, rows=rows, size=size, engine=engine, warn_nulls=True
        )
    dtype = schema[column]
    if planned:
        probe = lf.filter(planned[0].predicate(dtype))
        blocked = blocked_filters(probe, column)
        if blocked:
            other = "asset" if by == "date" else "date"
            msg = (
                f"this plan cannot be split by {by} ({column!r}): a step works across "
                f"{by}s, so the chunk filter does not reach the data ({blocked[0][:120]}). "
                f"Split it by={other!r} if that step works within one {other}, or collect "
                f"it whole."
            )
            raise PartitionError(msg)
    if build is not None and not callable(build):
        msg = f"`build` must be a function from a LazyFrame to a LazyFrame; got {build!r}."
        raise TypeError(msg)
    return _Task(lf, planned, dtype, engine, build, lookback)


def split_key(
    plan: pl.LazyFrame | pl.DataFrame, *, by: SplitKey, date: str, asset: str
) -> tuple[pl.LazyFrame, str, pl.Schema]:
    """Check a split's options; return the plan as a LazyFrame, its key column, its schema."""
    _validate.check_choice("by", by, ("date", "asset"))
    _validate.check_column_names(date=date, asset=asset, distinct=True)
    if not isinstance(plan, (pl.LazyFrame, pl.DataFrame)):
        msg = f"expected a polars LazyFrame or DataFrame; got {type(plan).__name__}."
        raise TypeError(msg)
    lf = plan.lazy()
    column = date if by == "date" else asset
    schema = lf.collect_schema()
    _validate.check_columns_exist(schema, [column], role="partition key")
    return lf, column, schema


def collect(
    plan: pl.LazyFrame | pl.DataFrame,
    *,
    by: SplitKey = "date",
    date: str = "date",
    asset: str = "asset",
    rows: int | None = None,
    size: int | None = None,
    chunks: Sequence[Chunk] | None = None,
    engine: EngineType = "auto",
    on_chunk: ChunkCallback | None = None,
    executor: Mapper | None = None,
    build: Build | None = None,
    lookback: Lookback | None = None,
    shuffle: bool = False,
) -> pl.DataFrame:
    """Collect a plan chunk by chunk and concatenate the results in key order.

    The working memory of the plan is that of one chunk; the result itself is held
    in memory (use :func:`sink_parquet` when the result is as large as the input).
    Parameters as in :func:`sink_parquet`.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> lf = pl.LazyFrame(
    ...     {"date": [1, 1, 2, 2, 3, 3], "asset": list("ababab"),
    ...      "x": [1.0, 3.0, 2.0, 2.5, 0.0, 9.0]}
    ... )
    >>> plan = lf.factors.rank("x", check_keys=False)
    >>> pf.partition.collect(plan, size=1)["x"].to_list()
    [0.333333, 0.666667, 0.333333, 0.666667, 0.333333, 0.666667]
    """
    task = chunked(
        plan, by=by, date=date, asset=asset, rows=rows, size=size, chunks=chunks,
        engine=engine, build=build, lookback=lookback,
    )  # fmt: skip
    if not task.chunks:
        return task.empty()
    executor = _resolve(executor)
    scratch = Path(tempfile.gettempdir()) / f"polars_factors-shuffle-{uuid.uuid4().hex[:8]}"
    parts: list[pl.DataFrame] = []
    with _shuffled(task, scratch, shuffle=shuffle, by=by, date=date, asset=asset, rows=rows) as run:
        for chunk, part in zip(run.chunks, map_chunks(executor, run, run.chunks), strict=True):
            parts.append(part)
            if on_chunk is not None:
                on_chunk(chunk, part.height)
    return pl.concat(parts, how="vertical")


@dataclass(frozen=True)
class _Task:
    """A planned split: the source, its chunks, and how one chunk is run (picklable)."""

    source: pl.LazyFrame
    chunks: list[Chunk]
    dtype: pl.DataType
    engine: EngineType
    build: Build | None
    lookback: Lookback | None = None
    #: One file per chunk holding its rows (see :func:`shuffle_chunks`), or None.
    parts: dict[int, Path] | None = None

    def plan(self, chunk: Chunk | None) -> pl.LazyFrame:
        """Return the plan of one chunk (``None``: an empty plan with the output's schema)."""
        if chunk is None:
            rows = self.source.head(0)
        elif self.parts is not None:
            part = self.parts.get(chunk.index)
            if part is None:  # a chunk without rows
                rows = self.source.head(0)
            elif part.exists():
                rows = pl.scan_parquet(part)
            else:
                msg = (
                    f"chunk {chunk.index}'s scratch file {str(part)!r} (shuffle=True) is not "
                    "visible here: the workers must share the client's file system (for "
                    "collect(), the scratch folder is the client's temporary folder; use "
                    "sink_parquet to a shared path, or shuffle=False)."
                )
                raise PartitionError(msg)
        elif self.lookback is None:
            rows = self.source.filter(chunk.predicate(self.dtype))
        else:
            start = lookback_start(chunk, self.dtype, self.lookback)
            hi = key_literal(chunk.hi, self.dtype)
            rows = self.source.filter(pl.col(chunk.column).is_between(start, hi))
        if self.build is None:
            return rows
        out = self.build(rows)
        if self.lookback is not None and chunk is not None:
            out = out.filter(chunk.predicate(self.dtype))
        return out

    def __call__(self, chunk: Chunk) -> pl.DataFrame:
        return self.plan(chunk).collect(engine=self.engine)

    def empty(self) -> pl.DataFrame:
        """Return the result of a split with no chunk: no rows, the output's columns."""
        return self.plan(None).collect(engine="in-memory")


@dataclass(frozen=True)
class _WritePart:
    """One chunk's task for ``layout="directory"``: write the chunk to its own file."""

    task: _Task
    directory: Path
    compression: str

    def __call__(self, chunk: Chunk) -> int:
        frame = self.task(chunk)
        frame.write_parquet(self.directory / part_name(chunk), compression=self.compression)  # type: ignore[arg-type]
        return frame.height


def lookback_start(chunk: Chunk, dtype: pl.DataType, lookback: Lookback) -> pl.Expr:
    """Return the first date a chunk's plan reads: ``lookback`` before its first date."""
    return before(key_literal(chunk.lo, dtype), dtype, lookback)


def before(lo: pl.Expr, dtype: pl.DataType, lookback: Lookback) -> pl.Expr:
    """Return the date ``lookback`` before ``lo`` (a key of dtype ``dtype``)."""
    if isinstance(lookback, str):
        return lo.dt.offset_by(f"-{lookback}")
    if isinstance(lookback, dt.timedelta):
        return (lo - pl.lit(lookback)).cast(dtype)
    return lo - lookback


def check_lookback(lookback: object) -> None:
    """Raise unless ``lookback`` is a duration string, a timedelta or a count >= 0."""
    if isinstance(lookback, str):
        try:
            pl.select(pl.lit(dt.date(2000, 1, 1)).dt.offset_by(f"-{lookback}")).item()
        except pl.exceptions.PolarsError as err:
            msg = f'`lookback` must be a Polars duration such as "13mo" or "30d"; got {lookback!r}.'
            raise ValueError(msg) from err
        return
    if isinstance(lookback, dt.timedelta) and lookback >= dt.timedelta(0):
        return
    if isinstance(lookback, int) and not isinstance(lookback, bool) and lookback >= 0:
        return
    msg = (
        f"`lookback` must be a duration string, a timedelta or a non-negative integer; "
        f"got {lookback!r}."
    )
    raise ValueError(msg)


def shuffle_chunks(task: _Task, *, key: str, via: str, rows: int, scratch: Path) -> _Task:
    """Write each chunk's rows to a file of its own, in one pass over the source.

    ``key`` is the split key, ``via`` the other key. Files sorted by date cannot skip
    row groups for a range of assets (nor files of asset chunks for a range of
    dates), so without this every chunk would read the whole source. Here the
    source is read once, a chunk of ``via`` at a time (those filters skip row
    groups), and each piece is appended to its chunk's file; the chunks then read
    only their file. Rows keep their order within a chunk and a pass. Memory: one
    chunk of ``via``.
    """
    import pyarrow.parquet as pq  # noqa: PLC0415  (pyarrow is only needed here)

    src, chunks, dtype = task.source, task.chunks, task.dtype
    schema = src.collect_schema()
    via_type = schema[via]
    slot = temp_name(set(schema.names()), "chunk")  # the chunk index of each row
    by_via = plan_by_rows(src, column=via, rows=rows, size=None, engine=task.engine)
    passes = [src.filter(c.predicate(via_type)) for c in by_via]
    passes.append(src.filter(pl.col(via).is_null()))
    los = pl.Series([c.lo for c in chunks]).cast(dtype)
    his = pl.Series([c.hi for c in chunks]).cast(dtype)
    index = (pl.lit(los).search_sorted(pl.col(key), side="right") - 1).alias(slot)
    k = pl.col(slot)
    inside = (k >= 0) & (pl.col(key) <= pl.lit(his).gather(k.clip(lower_bound=0)))
    scratch.mkdir(parents=True, exist_ok=True)
    paths = {c.index: scratch / f"chunk-{c.index:05d}.parquet" for c in chunks}
    writers: dict[int, Any] = {}
    try:
        for rows_of in passes:
            frame = rows_of.collect(engine=task.engine).filter(pl.col(key).is_not_null())
            frame = frame.with_columns(index).filter(inside)
            for (i,), part in frame.partition_by(
                slot, as_dict=True, include_key=False, maintain_order=True
            ).items():
                table = part.to_arrow()
                if i not in writers:
                    path = paths[chunks[i].index]
                    writers[i] = pq.ParquetWriter(path, table.schema, compression="lz4")
                writers[i].write_table(table.cast(writers[i].schema))
    finally:
        for writer in writers.values():
            writer.close()
    written = {chunks[i].index: paths[chunks[i].index] for i in writers}
    return dataclasses.replace(task, parts=written)


def _via_probe(source: pl.LazyFrame, via: str) -> pl.LazyFrame | None:
    """``source`` filtered on an empty range of ``via`` (None if it has no such column).

    Its optimized plan shows whether a filter on ``via`` reaches the data.
    """
    schema = source.collect_schema()
    if via not in schema:
        return None
    nothing = pl.lit(None, dtype=schema[via])
    return source.filter(pl.col(via).is_between(nothing, nothing))


def worth_shuffling(source: pl.LazyFrame, *, via: str) -> bool:
    """Whether a split of ``source`` would gain from ``shuffle=True``.

    True when the plan reads files (a scan: chunks of the other key cannot skip
    its row groups) and a filter on ``via`` reaches them, so that the shuffle is
    accepted. An in-memory source gains nothing from scratch files.
    """
    probe = _via_probe(source, via)
    if probe is None:
        return False
    leaves = [s for s in probe.explain(optimized=True).splitlines() if _SCAN.match(s)]
    return bool(leaves) and not blocked_filters(probe, via)


def _may_shuffle(task: _Task, *, via: str, shuffle: bool) -> bool:
    """Whether a split first lays its chunks out in files of their own."""
    if not shuffle or len(task.chunks) < 2:
        return False
    probe = _via_probe(task.source, via)
    if probe is None:
        msg = f"shuffle=True reads the source by chunks of {via!r}, but it has no such column."
        raise ValueError(msg)
    if blocked_filters(probe, via):
        msg = (
            f"shuffle=True reads the source by chunks of {via!r}, but a step of the source "
            f"works across them, so that filter does not reach the data; pass the "
            "scan itself as the source (and the chunk's steps in `build`)."
        )
        raise PartitionError(msg)
    return True


def map_chunks(
    executor: Mapper | None, fn: Callable[[Chunk], Any], chunks: list[Chunk]
) -> Iterator[Any]:
    """Run ``fn`` on every chunk, in order: through ``executor``, or here one by one.

    Through an executor each chunk is a task of :mod:`polars_factors.distributed`: its
    worker's versions are checked first and its warnings are issued again here.
    """
    if executor is None:
        return map(fn, chunks)
    from polars_factors.distributed._tasks import Task, Versions, run_tasks  # noqa: PLC0415

    versions = Versions.here()
    return run_tasks(executor, [Task(functools.partial(fn, chunk), versions) for chunk in chunks])


def _resolve(executor: Mapper | None) -> Mapper | None:
    """Check an executor (a Dask ``Client`` becomes its executor after a version check)."""
    if executor is None:
        return None
    from polars_factors.distributed._tasks import resolve_executor  # noqa: PLC0415

    return resolve_executor(executor)


@contextlib.contextmanager
def _shuffled(
    task: _Task,
    scratch: Path,
    *,
    shuffle: bool,
    by: str,
    date: str,
    asset: str,
    rows: int | None,
) -> Iterator[_Task]:
    """Yield the task, reading its chunks from files in ``scratch`` when shuffled."""
    key, via = (asset, date) if by == "asset" else (date, asset)
    if not _may_shuffle(task, via=via, shuffle=shuffle):
        yield task
        return
    try:
        yield shuffle_chunks(task, key=key, via=via, rows=rows or DEFAULT_ROWS, scratch=scratch)
    finally:
        _remove(scratch)


def part_name(chunk: Chunk) -> str:
    """File name of a chunk's part (sorts in key order)."""
    return f"part-{chunk.index:05d}.parquet"


def sink_parquet(
    plan: pl.LazyFrame | pl.DataFrame,
    path: str | os.PathLike[str],
    *,
    by: SplitKey = "date",
    date: str = "date",
    asset: str = "asset",
    rows: int | None = None,
    size: int | None = None,
    chunks: Sequence[Chunk] | None = None,
    layout: Layout = "file",
    compression: str = "zstd",
    engine: EngineType = "auto",
    on_chunk: ChunkCallback | None = None,
    executor: Mapper | None = None,
    build: Build | None = None,
    lookback: Lookback | None = None,
    shuffle: bool = False,
) -> SinkReport:
    """Run a lazy plan one chunk of dates (or assets) at a time and write it to parquet.

    The big-data replacement for ``plan.sink_parquet(path)``: Polars runs every
    window ``.over(date)``, per-date quantile and rank on its whole input at once,
    so the memory of such a plan grows with the number of dates. Here the plan runs
    as ``plan.filter(date in chunk)`` for one chunk after another; Polars pushes that
    filter down to the scan, so each run reads and holds one chunk. Results are
    exact (every date is whole in its chunk) and rows come out in chunk order, and
    within a chunk in the plan's order: the input order when the input is sorted by
    the split key.

    Parameters
    ----------
    plan
        A LazyFrame (or DataFrame) whose per-row work is partitioned by the split
        key (or, with ``build``, the source panel). Plans of the per-date transforms
        (``standardize``, ``zscore``, ``winsorize``, ``rank``, ``neutralize``,
        ``assign_buckets``...) split by date; per-asset work (``ts_features``,
        ``specific_risk``) by asset.
    path
        Output file (``layout="file"``) or directory (``layout="directory"``, one
        ``part-NNNNN.parquet`` per chunk). It appears only when every chunk has
        been written (written under a temporary name, then renamed); an existing
        file or directory of that name is replaced.
    by
        ``"date"`` or ``"asset"``: the key the plan is split on.
    date, asset
        Names of the key columns.
    rows
        Target number of rows per chunk (default 1,000,000); chunks hold whole
        key values. Finding the chunks reads the key column once. The rows counted
        are those of ``plan``: for an aggregate (one row per date, e.g. a rank IC)
        pass the panel and ``build`` instead, so that the panel's rows are counted.
    size
        Number of distinct key values (dates or assets) per chunk, instead of
        ``rows``.
    chunks
        Chunks to run, e.g. from :func:`plan_chunks`; nothing is read to plan them.
    layout
        ``"file"``: one parquet file, a row group per chunk; ``"directory"``: a
        part file per chunk (read back with ``pl.scan_parquet(f"{path}/*.parquet")``).
    compression
        Parquet compression codec.
    engine
        Polars engine for each chunk (``"auto"``: Polars' choice, the streaming engine
        for lazy plans).
    on_chunk
        Called after each chunk as ``on_chunk(chunk, n_rows)`` (progress).
    executor
        Runs the chunks: anything with ``map(fn, iterable)`` yielding results in
        order (e.g. a ``concurrent.futures`` executor, Dask's
        ``Client.get_executor()``), or a Dask ``Client`` (its workers' versions are
        checked first, :func:`polars_factors.distributed.check_workers`). Default:
        one after another in this process. The chunk's task carries the plan
        pickled, so the workers must run the client's Polars; for file-based
        tasks that carry no plan see :mod:`polars_factors.distributed`. With
        ``layout="file"`` finished chunks wait in memory until they are written in
        order; prefer ``layout="directory"``.
    build
        Build each chunk's plan from the chunk's rows of ``plan`` (then the source):
        ``build(source.filter(key in chunk))``. For work whose plan Polars cannot
        filter from the top, such as rolling ``betas`` (sorted by asset), for
        aggregates (one row per date: the chunks are then sized on the source's
        rows), or to run the key checks per chunk, e.g.
        ``build=lambda rows: pf.betas(rows, "returns", ["mkt"], window=252)``.
    lookback
        With ``build`` and ``by="date"``: each chunk's plan is built from its rows
        *and* the rows of ``lookback`` before its first date (a Polars duration
        such as ``"13mo"``, a ``timedelta``, or a count for integer dates); its
        result is then cut to the chunk's dates. For per-date outputs that need
        history, e.g. portfolios formed each June and held a year
        (``pf.portfolio.fama_french``: ``lookback="25mo"``). Exact when no output
        date needs a row older than the lookback.
    shuffle
        First write each chunk's rows to a scratch file of its own, in one pass over
        the source by chunks of the other key. A range of assets cannot skip the row
        groups of date-sorted files (nor a range of dates those of asset-sorted
        files), so without it every chunk reads the needed columns of the whole
        source (time quadratic in the panel's length); with it the source is read
        once and written once. It pays off for a source narrowed to the columns the
        chunks need and split into many chunks (see docs/big_data.md). The scratch
        files sit next to ``path`` (a temporary folder for :func:`collect`) and are
        removed at the end.

    Returns
    -------
    SinkReport
        The path, the files, the number of chunks and rows, and the wall time.

    Raises
    ------
    PartitionError
        A step of the plan works across the split key (e.g. a window over assets
        when splitting by date), so the chunk filter cannot reach the data.
    ColumnNotFoundError
        The split key is not a column of the plan.

    Warns
    -----
    DataLossWarning
        Rows with a null split key: they belong to no chunk and are not written.

    Examples
    --------
    >>> import tempfile
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> panel = pf.datasets.synthetic_panel(n_dates=20, n_assets=50, seed=1).panel
    >>> plan = panel.factors.standardize(["style_1", "style_2"], check_keys=False)
    >>> out = tempfile.mkdtemp() + "/std.parquet"
    >>> report = pf.partition.sink_parquet(plan, out, size=5)
    >>> report.n_chunks, report.n_rows
    (4, 1000)
    >>> pl.read_parquet(out).equals(plan.collect())
    True
    """
    _validate.check_choice("layout", layout, ("file", "directory"))
    start = time.perf_counter()
    target = Path(path)
    task = chunked(
        plan, by=by, date=date, asset=asset, rows=rows, size=size, chunks=chunks,
        engine=engine, build=build, lookback=lookback,
    )  # fmt: skip
    executor = _resolve(executor)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.partial-{uuid.uuid4().hex[:8]}")
    scratch = target.with_name(f".{target.name}.shuffle-{uuid.uuid4().hex[:8]}")
    try:
        with _shuffled(
            task, scratch, shuffle=shuffle, by=by, date=date, asset=asset, rows=rows
        ) as run:
            if layout == "file":
                n_rows = _write_file(
                    run, temp=temp, compression=compression, on_chunk=on_chunk, executor=executor
                )
                files: tuple[Path, ...] = (target,)
            else:
                temp.mkdir(parents=True)
                n_rows = 0
                writer = _WritePart(run, temp, compression)
                for chunk, n in zip(
                    run.chunks, map_chunks(executor, writer, run.chunks), strict=True
                ):
                    n_rows += n
                    if on_chunk is not None:
                        on_chunk(chunk, n)
                if not run.chunks:
                    run.empty().write_parquet(temp / "part-00000.parquet")
                files = tuple(target / p.name for p in sorted(temp.glob("*.parquet")))
        _replace(temp, target)
    except BaseException:
        _remove(temp)
        raise
    seconds = time.perf_counter() - start
    return SinkReport(target, files, len(task.chunks), n_rows, seconds)


def _write_file(
    task: _Task,
    *,
    temp: Path,
    compression: str,
    on_chunk: ChunkCallback | None,
    executor: Mapper | None,
) -> int:
    def parts() -> Iterator[pl.DataFrame]:
        for chunk, part in zip(task.chunks, map_chunks(executor, task, task.chunks), strict=True):
            yield part
            if on_chunk is not None:
                on_chunk(chunk, part.height)

    n_rows = write_frames(parts(), temp, compression=compression)
    if n_rows is None:
        task.empty().write_parquet(temp, compression=compression)  # type: ignore[arg-type]
        return 0
    return n_rows


def write_frames(frames: Iterable[pl.DataFrame], path: Path, *, compression: str) -> int | None:
    """Write frames of one schema to one parquet file, a row group each (pyarrow).

    Returns the number of rows written, or ``None`` (and no file) for no frame.
    """
    import pyarrow.parquet as pq  # noqa: PLC0415  (pyarrow is only needed here)

    n_rows, writer = 0, None
    try:
        for frame in frames:
            table = frame.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression=compression)
            if frame.height:
                writer.write_table(table.cast(writer.schema))
            n_rows += frame.height
    finally:
        if writer is not None:
            writer.close()
    return None if writer is None else n_rows


def _replace(temp: Path, target: Path) -> None:
    """Move ``temp`` to ``target``, replacing what was there only once ``temp`` is complete."""
    if target.exists() or target.is_symlink():
        old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        target.rename(old)
        temp.rename(target)
        _remove(old)
    else:
        temp.rename(target)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
