"""Check that a chunk's filter reaches the data sources of a plan.

A chunk runs as ``plan.filter(chunk)``. Polars pushes that filter down to the scans
(or in-memory frames) through every step that works within one key value: windows
``.over(date)``, ``group_by(date)``, joins on the date, row-wise columns. A step that
works across key values (a window over the asset when splitting by date, a rolling
window, a sort by another column) stops it; the chunk's result is then still right,
but every chunk would compute the whole plan. That is refused instead.
"""

from __future__ import annotations

import re

import polars as pl

__all__ = ["blocked_filters"]

_LEAF = re.compile(r"^\s*(DF \[|[A-Za-z]+ SCAN|SCAN )")


def blocked_filters(filtered: pl.LazyFrame, column: str) -> list[str]:
    """Return the optimized plan's filters on ``column`` that did not reach a source.

    An empty list means every filter on the chunk column sits directly on a scan
    (``SELECTION``) or an in-memory frame.
    """
    lines = filtered.explain(optimized=True).splitlines()
    marker = f'col("{column}").is_between('
    blocked = []
    for i, line in enumerate(lines):
        text = line.strip()
        if not text.startswith("FILTER") or marker not in text:
            continue
        rest = [s for s in lines[i + 1 : i + 3] if s.strip() != "FROM"]
        if not (rest and _LEAF.match(rest[0])):
            blocked.append(text)
    return blocked
