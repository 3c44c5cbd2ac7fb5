"""Chunks: contiguous ranges of one key column (dates or assets) that a plan is split on."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from polars_factors._frame import user_stacklevel
from polars_factors.exceptions import DataLossWarning
from polars_factors.typing import EngineType

__all__ = ["DEFAULT_ROWS", "Chunk", "SplitKey", "plan_by_rows"]

#: Which key a plan is split on: per-date work by ``"date"``, per-asset work by ``"asset"``.
SplitKey = Literal["date", "asset"]


@dataclass(frozen=True)
class Chunk:
    """A closed range ``[lo, hi]`` of one key column: one unit of partitioned work.

    A chunk is small and frozen (a column name and two key values), so it can be
    shipped to another process with a list of files: the seam where a distributed
    executor plugs in.

    Attributes
    ----------
    column
        The key column the range applies to (the date or the asset column).
    lo, hi
        First and last key value in the chunk (inclusive).
    index, count
        Position of this chunk among ``count`` chunks, in key order.
    n_keys
        Number of distinct key values (dates or assets) in the chunk.
    """

    column: str
    lo: Any
    hi: Any
    index: int
    count: int
    n_keys: int

    def predicate(self, dtype: pl.DataType | None = None) -> pl.Expr:
        """Return the filter expression that selects this chunk's rows.

        ``dtype`` is the key column's dtype (the literals are cast to it, so a string
        key is never read as a column name).
        """
        lo, hi = (key_literal(v, dtype) for v in (self.lo, self.hi))
        return pl.col(self.column).is_between(lo, hi, closed="both")


def key_literal(value: Any, dtype: pl.DataType | None) -> pl.Expr:
    # Nanosecond keys travel as their physical integers (see ``exact_keys``).
    if dtype is not None and dtype.is_temporal() and isinstance(value, int):
        return pl.lit(value, dtype=pl.Int64).cast(dtype)
    return pl.lit(value, dtype=dtype)


def exact_keys(keys: pl.Series) -> pl.Series:
    """Return key values that convert to Python without loss.

    Python's ``datetime``, ``timedelta`` and ``time`` hold microseconds, so keys of
    nanosecond precision become their physical integers (nanoseconds); the chunk's
    predicate casts them back.
    """
    dtype = keys.dtype
    nanos = isinstance(dtype, pl.Time) or (
        isinstance(dtype, (pl.Datetime, pl.Duration)) and dtype.time_unit == "ns"
    )
    return keys.to_physical() if nanos else keys


#: Default target of rows per chunk (about 100-400 MB of working memory for the
#: window-heavy transforms; see docs/big_data.md).
DEFAULT_ROWS = 1_000_000


def plan_by_rows(
    lf: pl.LazyFrame,
    *,
    column: str,
    rows: int | None,
    size: int | None,
    engine: EngineType,
    warn_nulls: bool = False,
) -> list[Chunk]:
    """Return chunks of whole key values holding about ``rows`` rows (or ``size`` keys) each.

    Reads the key column once (a streaming ``group_by`` that keeps one row per key).
    ``warn_nulls``: warn (``DataLossWarning``) when rows with a null key are left out.
    """
    if rows is not None and size is not None:
        msg = "pass `rows` or `size`, not both."
        raise ValueError(msg)
    if size is not None:
        check_size(size)
    target = DEFAULT_ROWS if rows is None else rows
    if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 1):
        msg = f"`rows` must be a positive number of rows per chunk; got {rows!r}."
        raise ValueError(msg)
    counts = lf.group_by(column).agg(pl.len().alias("n")).collect(engine=engine)
    nulls = counts.filter(pl.col(column).is_null())
    if warn_nulls and nulls.height:
        msg = (
            f"{int(nulls.item(0, 'n'))} rows have a null {column!r}: they belong to no chunk "
            "and are left out of the result (drop or fix them first to silence this)."
        )
        warnings.warn(msg, DataLossWarning, stacklevel=user_stacklevel())
    counts = counts.filter(pl.col(column).is_not_null()).sort(column)
    keys = exact_keys(counts[column])
    if size is not None:
        starts = list(range(0, len(keys), size))
    else:
        starts, acc = [], 0
        for i, n in enumerate(counts["n"]):
            if i == 0 or acc + n > target:
                starts.append(i)
                acc = 0
            acc += n
    bounds = [*starts, len(keys)]
    count = len(starts)
    return [
        Chunk(
            column=column,
            lo=keys[a],
            hi=keys[b - 1],
            index=i,
            count=count,
            n_keys=b - a,
        )
        for i, (a, b) in enumerate(itertools.pairwise(bounds))
    ]


def check_size(size: object) -> None:
    """Raise ``ValueError`` unless ``size`` is a positive integer."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        msg = f"`size` must be a positive number of keys per chunk; got {size!r}."
        raise ValueError(msg)


def check_chunks(chunks: Sequence[Chunk], column: str) -> list[Chunk]:
    """Check user-given chunks: all on ``column``, in key order, not overlapping."""
    out = list(chunks)
    for c in out:
        if not isinstance(c, Chunk):
            msg = f"`chunks` must contain Chunk objects; got {type(c).__name__}."
            raise TypeError(msg)
        if c.column != column:
            msg = (
                f"chunk {c.index} splits column {c.column!r}, but the plan is split on {column!r}."
            )
            raise ValueError(msg)
    for a, b in itertools.pairwise(out):
        if not a.hi < b.lo:
            msg = (
                f"chunks overlap or are out of order: chunk {a.index} ends at {a.hi!r} and "
                f"chunk {b.index} starts at {b.lo!r}; a row would be written twice."
            )
            raise ValueError(msg)
    return out
