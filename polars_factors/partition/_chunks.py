"""Chunks: contiguous ranges of one key column (dates or assets) that a plan is split on."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from polars_factors import _validate
from polars_factors.typing import EngineType

__all__ = ["Chunk", "SplitKey", "chunks_of", "plan_chunks"]

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


def chunks_of(keys: pl.Series, *, column: str, size: int) -> list[Chunk]:
    """Cut sorted distinct key values into consecutive chunks of ``size`` values."""
    check_size(size)
    values = exact_keys(keys.drop_nulls().unique().sort())
    count = -(-len(values) // size)
    out = []
    for i in range(count):
        part = values.slice(i * size, size)
        out.append(
            Chunk(column=column, lo=part[0], hi=part[-1], index=i, count=count, n_keys=len(part))
        )
    return out


def plan_chunks(
    source: pl.DataFrame | pl.LazyFrame,
    *,
    column: str,
    size: int,
    engine: EngineType = "streaming",
) -> list[Chunk]:
    """Read the distinct values of ``column`` (one streaming pass over that column only).

    The pass keeps one row per distinct value (a date or an asset), so its memory is
    bounded by the number of dates or assets, not by the number of rows.
    """
    check_size(size)
    schema = source.collect_schema()
    _validate.check_columns_exist(schema, [column], role="partition key")
    keys = source.lazy().select(pl.col(column).unique()).collect(engine=engine).to_series()
    return chunks_of(keys, column=column, size=size)


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
