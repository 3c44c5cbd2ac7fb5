"""The docs pages run: every python block, in page order, prints its ``text`` block.

A page's python blocks share one namespace (later blocks use the frames of earlier
ones). When a block prints and the next block is a ``text`` block, that block must be
exactly what was printed; warnings raised by the block are shown first, as
``Category: message`` lines, as the pages show them.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)
# The README's example is checked like a docs page.
PAGES = [*sorted(p.name for p in DOCS.glob("*.md")), "../README.md"]


def run_block(code: str, namespace: dict[str, object], name: str) -> str:
    out = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out):
        warnings.simplefilter("always")
        exec(compile(code, name, "exec"), namespace)
    shown = [f"{w.category.__name__}: {w.message}" for w in caught]
    return "\n".join([*shown, out.getvalue().rstrip("\n")]).strip()


@pytest.mark.parametrize("page", PAGES)
def test_page_blocks_run_and_print_what_the_page_shows(page: str) -> None:
    blocks = BLOCK.findall((DOCS / page).read_text(encoding="utf-8"))
    namespace: dict[str, object] = {"__name__": f"docs_{page}"}
    checked = 0
    for i, (lang, code) in enumerate(blocks):
        if lang != "python":
            continue
        printed = run_block(code, namespace, f"{page}[{i}]")
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        if printed and following is not None and following[0] == "text":
            assert printed == following[1].strip(), f"{page}: block {i} prints something else"
            checked += 1
    if any(lang == "text" for lang, _ in blocks):
        assert checked, f"{page}: no block's output was checked"
