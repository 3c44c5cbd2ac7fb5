"""A dataset: parquet files, how they are split (by date or by asset), and its checked layout."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from polars_factors import _validate
from polars_factors._frame import temp_name
from polars_factors.exceptions import LayoutError
from polars_factors.partition._chunks import SplitKey, exact_keys
from polars_factors.typing import EngineType

__all__ = ["Dataset", "FilePart", "dataset", "expand_paths"]

Paths = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


@dataclass(frozen=True)
class FilePart:
    """One parquet file of a dataset.

    Attributes
    ----------
    path
        The file (as given, made absolute: the workers open it by that name).
    rows
        Its number of rows (from the parquet footer).
    lo, hi
        Its first and last value of the split key (``None`` without a split key, or
        for a file without a non-null key).
    null_keys
        Its rows with a null split key (counted with a split key only).
    """

    path: str
    rows: int
    lo: Any = None
    hi: Any = None
    null_keys: int = 0


@dataclass(frozen=True)
class Dataset:
    """Parquet files whose layout has been checked for a kind of work.

    Built by :func:`dataset`. Small and frozen: tasks carry their files' names, never
    the data or a serialized plan.

    Attributes
    ----------
    parts
        The files, in key order for ``by="date"`` (else as given, sorted by name).
    by
        ``"date"``: every date is whole in one file (per-date work);
        ``"asset"``: every asset is whole in one file (rolling, per-asset work);
        ``None``: no promise (sums only, e.g. OLS/WLS ``cross_section``).
    date, asset
        Names of the key columns.
    """

    parts: tuple[FilePart, ...]
    by: SplitKey | None
    date: str
    asset: str

    @property
    def files(self) -> list[str]:
        """The paths of the files, in dataset order."""
        return [p.path for p in self.parts]

    @property
    def n_rows(self) -> int:
        """Total number of rows."""
        return sum(p.rows for p in self.parts)

    def scan(self) -> pl.LazyFrame:
        """Return one ``pl.scan_parquet`` over all the files."""
        return scan(self.parts)

    def groups(self, rows: int | None = None) -> list[tuple[FilePart, ...]]:
        """Cut the files into tasks: consecutive files holding about ``rows`` rows each.

        ``None``: one file per task. A file with more rows than ``rows`` is a task of
        its own; files are never split (a file holds whole keys).
        """
        if rows is None:
            return [(p,) for p in self.parts]
        if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
            msg = f"`rows` must be a positive number of rows per task; got {rows!r}."
            raise ValueError(msg)
        out: list[tuple[FilePart, ...]] = []
        current: list[FilePart] = []
        acc = 0
        for part in self.parts:
            if current and acc + part.rows > rows:
                out.append(tuple(current))
                current, acc = [], 0
            current.append(part)
            acc += part.rows
        if current:
            out.append(tuple(current))
        return out


def scan(parts: Sequence[FilePart]) -> pl.LazyFrame:
    """Return a scan of some files of a dataset."""
    return pl.scan_parquet([p.path for p in parts])


def expand_paths(source: Paths) -> list[str]:
    """Return the absolute parquet paths of a glob, a folder, a file or a list of them."""
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    if not items:
        msg = "no file given: pass a glob, a folder or a list of parquet files."
        raise FileNotFoundError(msg)
    out: list[str] = []
    for item in items:
        text = os.fspath(item)
        path = Path(text)
        if path.is_dir():
            found = sorted(str(p) for p in path.glob("*.parquet"))
        elif glob.has_magic(text):
            found = sorted(glob.glob(text))  # noqa: PTH207  (an absolute or relative pattern)
        else:
            found = [text] if path.is_file() else []
        if not found:
            msg = f"no parquet file at {text!r} (a glob, a folder of *.parquet, or a file)."
            raise FileNotFoundError(msg)
        out += [str(Path(f).resolve()) for f in found]
    if len(set(out)) != len(out):
        dup = next(p for p in out if out.count(p) > 1)
        msg = f"file {dup!r} is given twice: its rows would count twice."
        raise ValueError(msg)
    return out


def dataset(
    source: Paths,
    *,
    by: SplitKey | None = None,
    date: str = "date",
    asset: str = "asset",
    engine: EngineType = "auto",
) -> Dataset:
    """Describe parquet files for distributed work and check their layout.

    Parameters
    ----------
    source
        A glob (``"panel/*.parquet"``), a folder of parquet files, a file, or a list
        of them. The paths are made absolute: the workers must see the same files
        (a shared file system).
    by
        The promise the work needs. ``"date"``: every date is whole in one file
        (per-date transforms, buckets, IC, Huber); ``"asset"``: every asset's whole
        history is in one file (rolling betas, ``specific_risk``, time-series
        features); ``None`` (default): none (cross-sectional OLS/WLS, whose sums add
        up across any files). :func:`layout` writes files that keep either promise.
    date, asset
        Names of the key columns.
    engine
        Polars engine of the layout check.

    Returns
    -------
    Dataset

    Raises
    ------
    LayoutError
        With ``by``: a date (or asset) has rows in more than one file. Per-date work
        on such files would see part of a date in each task (wrong z-scores,
        quantiles, Huber scales); rolling work part of an asset's history.
    FileNotFoundError
        Nothing matches ``source``.
    ColumnNotFoundError
        A key column is missing.

    Notes
    -----
    Reads the parquet footers (row counts) and, with ``by``, the split key column
    once: one streaming ``group_by`` whose memory is one row per (file, key).

    Examples
    --------
    >>> import tempfile
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> folder = tempfile.mkdtemp()
    >>> for i in range(2):
    ...     pl.DataFrame({"date": [i, i], "asset": ["a", "b"], "x": [1.0, 2.0]}).write_parquet(
    ...         f"{folder}/part-{i}.parquet")
    >>> ds = pf.distributed.dataset(folder, by="date")
    >>> [(p.rows, p.lo, p.hi) for p in ds.parts]
    [(2, 0, 0), (2, 1, 1)]
    >>> pf.distributed.dataset(folder, by="asset")
    Traceback (most recent call last):
    ...
    polars_factors.exceptions.LayoutError: asset 'a' has rows in 2 files (...
    """
    if by is not None:
        _validate.check_choice("by", by, ("date", "asset"))
    _validate.check_column_names(date=date, asset=asset, distinct=True)
    paths = expand_paths(source)
    schema = pl.scan_parquet(paths[0]).collect_schema()
    _validate.check_columns_exist(schema, [date, asset], role="panel key")
    if by is None:
        rows = [pl.scan_parquet(p).select(pl.len()).collect().item() for p in paths]
        parts = tuple(FilePart(p, int(n)) for p, n in zip(paths, rows, strict=True))
        return Dataset(parts, None, date, asset)
    key = date if by == "date" else asset
    parts = _check_keys(paths, key=key, by=by, schema=schema, engine=engine)
    if by == "date":
        parts = tuple(sorted(parts, key=lambda p: (p.lo is None, p.lo if p.lo is not None else 0)))
    return Dataset(parts, by, date, asset)


def _check_keys(
    paths: list[str], *, key: str, by: SplitKey, schema: pl.Schema, engine: EngineType
) -> tuple[FilePart, ...]:
    """Read the key column once: per-file rows and key range; refuse a key in two files."""
    path = temp_name(set(schema.names()), "file")
    per_file_key = (
        pl.scan_parquet(paths, include_file_paths=path)
        .select(key, path)
        .group_by(path, key)
        .agg(pl.len().alias("n"))
        .collect(engine=engine)
    )
    keyed = per_file_key.filter(pl.col(key).is_not_null())
    shared = (
        keyed.group_by(key)
        .agg(pl.col(path).sort().alias("files"))
        .filter(pl.col("files").list.len() > 1)
        .sort(key)
    )
    if shared.height:
        value, files = shared.row(0)
        shown = repr(value) if isinstance(value, str) else str(value)
        names = ", ".join(Path(f).name for f in files[:3]) + (", ..." if len(files) > 3 else "")
        what = "per-date work (by='date') needs every date whole in one file"
        if by == "asset":
            what = "rolling work (by='asset') needs every asset's whole history in one file"
        msg = (
            f"{by} {shown} has rows in {len(files)} files ({names}); {what} "
            f"({shared.height} {by}s are split). Lay the data out with "
            f"pf.distributed.layout(source, folder, by={by!r})."
        )
        raise LayoutError(msg)
    per_file = per_file_key.group_by(path).agg(
        pl.col("n").sum().alias("rows"),
        pl.col(key).min().alias("lo"),
        pl.col(key).max().alias("hi"),
        pl.col("n").filter(pl.col(key).is_null()).sum().alias("nulls"),
    )
    los, his = (exact_keys(per_file.get_column(c)).to_list() for c in ("lo", "hi"))
    found = {
        p: FilePart(p, int(n), lo, hi, int(nulls))
        for p, n, lo, hi, nulls in zip(
            per_file.get_column(path), per_file["rows"], los, his, per_file["nulls"], strict=True
        )
    }
    # A file with no row at all does not appear in the scan.
    return tuple(found.get(p, FilePart(p, 0)) for p in paths)
