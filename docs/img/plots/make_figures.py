"""Make the figures of docs/plots.md by running the page's code blocks.

Run from the repository root (needs the ``plot`` extra)::

    python docs/img/plots/make_figures.py

The python blocks of ``docs/plots.md`` run in order in one namespace, as
``tests/test_docs.py`` runs them. After a block that leaves a new figure in ``fig``,
the figure is saved to the first image that the page embeds after that block
(``![...](img/plots/<name>.png)``), so the page and its pictures cannot drift apart.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2]
PAGE = DOCS / "plots.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)
IMAGE = re.compile(r"!\[[^\]]*\]\((img/plots/[\w-]+\.png)\)")


def main() -> int:
    """Run the page's blocks and save each new figure; return the exit code."""
    import polars_factors.plot  # noqa: F401, PLC0415  (also when not imported by the package)

    text = PAGE.read_text(encoding="utf-8")
    namespace: dict[str, object] = {"__name__": "docs_plots"}
    previous: object = None
    written: list[str] = []
    for match in BLOCK.finditer(text):
        with contextlib.redirect_stdout(io.StringIO()):  # the page shows what blocks print
            exec(compile(match.group(1), f"{PAGE.name}@{match.start()}", "exec"), namespace)
        fig = namespace.get("fig")
        if fig is None or fig is previous:
            continue
        previous = fig
        image = IMAGE.search(text, match.end())
        if image is None:
            print(f"no image after the block at offset {match.start()}", file=sys.stderr)
            return 1
        target = DOCS / image.group(1)
        fig.savefig(target, dpi=110)  # type: ignore[attr-defined]
        written.append(image.group(1))
    for name in written:
        print(f"wrote docs/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
