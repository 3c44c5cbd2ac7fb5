"""The partition layer: run a plan over chunks of dates or groups of assets.

Polars keeps the whole input of a window (``.over(date)``), a per-date quantile, a
rank or a sort in memory, so such plans need memory that grows with the number of
dates. The functions here run any plan one chunk at a time instead: per-date work
over chunks of whole dates, per-asset work (rolling windows) over chunks of whole
assets. Each chunk is ``plan.filter(key in [lo, hi])``; Polars pushes that filter
down to the scan, so a chunk reads and holds only its own rows, and the results
are exactly those of the whole plan.

- :func:`plan_chunks` reads the key column once and cuts it into :class:`Chunk`
  ranges (about ``rows`` rows, or ``size`` keys, each);
- :func:`sink_parquet` writes the result to one parquet file (a row group per
  chunk) or a directory of part files, atomically;
- :func:`collect` concatenates the chunks' results in memory;
- ``build=`` builds each chunk's plan from the chunk's rows of the source, and
  ``lookback=`` adds the history a per-date output needs (e.g. ``"25mo"``).

A :class:`Chunk` is two key values and a column name: small and frozen, so a task
"run this spec on these files for this chunk" can be shipped to another process.
``executor=`` takes anything with ``map`` (``concurrent.futures``, Dask's
``Client.get_executor()``): that is where distributed execution plugs in.

Examples
--------
>>> import polars as pl
>>> import polars_factors as pf
>>> lf = pl.LazyFrame({"date": [1, 1, 2, 3], "asset": list("abab"), "x": [1.0, 2.0, 3.0, 4.0]})
>>> [(c.lo, c.hi) for c in pf.partition.plan_chunks(lf, size=2)]
[(1, 2), (3, 3)]
"""

from __future__ import annotations

import polars as pl

from polars_factors.partition._chunks import Chunk, SplitKey, plan_by_rows
from polars_factors.partition._run import (
    ChunkCallback,
    Lookback,
    Mapper,
    SinkReport,
    collect,
    sink_parquet,
    split_key,
)
from polars_factors.typing import EngineType

__all__ = [
    "Chunk",
    "ChunkCallback",
    "Lookback",
    "Mapper",
    "SinkReport",
    "SplitKey",
    "collect",
    "plan_chunks",
    "sink_parquet",
]


def plan_chunks(
    source: pl.LazyFrame | pl.DataFrame,
    *,
    by: SplitKey = "date",
    date: str = "date",
    asset: str = "asset",
    rows: int | None = None,
    size: int | None = None,
    engine: EngineType = "auto",
) -> list[Chunk]:
    """Cut the distinct dates (or assets) of a panel into chunks.

    Reads only the key column, in one streaming ``group_by`` whose memory is one
    row per distinct key. Chunks hold whole keys, in key order; nulls are left out
    (a row with a null key belongs to no chunk).

    Parameters
    ----------
    source
        The panel (or any plan with the key column).
    by
        ``"date"`` or ``"asset"``.
    date, asset
        Names of the key columns.
    rows
        Target number of rows per chunk (default 1,000,000): keys are added to a
        chunk while it stays under the target; a key with more rows than the target
        gets a chunk of its own.
    size
        Number of distinct keys per chunk, instead of ``rows``.
    engine
        Polars engine for the pass.

    Returns
    -------
    list of Chunk
        In key order; empty when the source has no non-null key.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> lf = pl.LazyFrame({"date": [3, 1, 2, 2], "asset": list("abab")})
    >>> [(c.lo, c.hi, c.n_keys) for c in pf.partition.plan_chunks(lf, rows=2)]
    [(1, 1, 1), (2, 2, 1), (3, 3, 1)]
    """
    lf, column, _ = split_key(source, by=by, date=date, asset=asset)
    return plan_by_rows(lf, column=column, rows=rows, size=size, engine=engine)
