"""Shared by the benchmark scripts: write one script's section of ``RESULTS.md``.

Each script owns the part of the file between ``<!-- NAME:begin -->`` and
``<!-- NAME:end -->`` and rewrites only that; everything outside the markers
(hand-written notes, the other scripts' sections) is kept as it is.
"""

from __future__ import annotations

from pathlib import Path

TITLE = "# Benchmark results\n"


def write_section(output: Path, name: str, body: str) -> None:
    """Replace the section ``name`` of ``output`` with ``body``; append it if absent."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{body.strip()}\n{end}"
    old = output.read_text() if output.exists() else TITLE
    start, stop = old.find(begin), old.find(end)
    if start >= 0 and stop > start:
        new = old[:start] + block + old[stop + len(end) :]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    output.write_text(new)
