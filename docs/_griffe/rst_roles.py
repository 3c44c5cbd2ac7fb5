r"""Griffe extension: render the Sphinx roles used in numpy docstrings with mkdocstrings.

The library's docstrings are numpy style, written so that they also read well in
Sphinx and in ``help()``: they use ``:func:`...```, ``:class:`...```, ``:mod:`...```,
``:math:`...``` and ``.. math::`` blocks. mkdocstrings does not interpret these, so
this extension rewrites them in each docstring before it is parsed:

- ``:math:`x``` becomes inline MathJax ``\(x\)`` (pymdownx.arithmatex, generic mode);
- a ``.. math::`` directive and its indented body become a ``$$ ... $$`` block;
- ``:func:`name```, ``:class:`~pkg.mod.Name``` and friends become *optional* autorefs
  cross-references: a link when the target is rendered somewhere in the site, plain
  code otherwise (optional references never produce a warning, so ``--strict`` holds);
- a grouped parameter entry such as ``by, date, asset`` (numpydoc allows it) is split
  into one entry per name, because griffe would otherwise show the first name's type
  and default for all of them.

Only the documentation build uses this file; the library code is unchanged.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

_ROLE = re.compile(
    r":(?:py:)?(?P<role>func|class|meth|attr|mod|exc|obj|data|const)"
    r":`(?P<target>[^`]+)`"
)
_MATH_ROLE = re.compile(r":math:`(?P<body>[^`]+)`", flags=re.DOTALL)
_MATH_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<arg>.*)$")
_PARAM_SECTIONS = {"Parameters", "Other Parameters"}
_GROUPED_NAMES = re.compile(r"^(?P<names>[A-Za-z_*]\w*(?:, *[A-Za-z_*]\w*)+)(?P<type> *:.*)?$")


def _is_header(lines: list[str], i: int) -> bool:
    return (
        i + 1 < len(lines)
        and bool(lines[i].strip())
        and not lines[i].startswith((" ", "\t"))
        and set(lines[i + 1].strip()) == {"-"}
    )


def _split_grouped_params(text: str) -> str:
    """Write ``a, b`` parameter entries as one entry per name (same description)."""
    lines = text.split("\n")
    out: list[str] = []
    section = ""
    i = 0
    while i < len(lines):
        if _is_header(lines, i):
            section = lines[i].strip()
            out.extend(lines[i : i + 2])
            i += 2
            continue
        match = _GROUPED_NAMES.match(lines[i]) if section in _PARAM_SECTIONS else None
        if not match:
            out.append(lines[i])
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j].startswith((" ", "\t")):
            j += 1
        for name in match["names"].split(","):
            out.append(name.strip() + (match["type"] or ""))
            out.extend(lines[i + 1 : j])
        i = j
    return "\n".join(out)


def _math_blocks(text: str) -> str:
    """Turn ``.. math::`` directives (with an indented body) into ``$$`` blocks."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _MATH_DIRECTIVE.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        indent = match["indent"]
        body: list[str] = [match["arg"]] if match["arg"].strip() else []
        i += 1
        while i < len(lines) and (
            not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > len(indent)
        ):
            body.append(lines[i])
            i += 1
        while body and not body[-1].strip():
            trailing_blank = body.pop()
            del trailing_blank
        content = [b.strip() for b in body if b.strip()]
        out.extend(["", f"{indent}$$", *(f"{indent}{c}" for c in content), f"{indent}$$", ""])
    return "\n".join(out)


def _inline_math(match: re.Match[str]) -> str:
    body = " ".join(match["body"].split())
    return f"\\({body}\\)"


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles and math directives in docstrings for mkdocstrings."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the docstring of every object once the tree is complete."""
        del kwargs
        if obj.docstring is None:
            return
        text = obj.docstring.value
        text = _split_grouped_params(text)
        text = _math_blocks(text)
        text = _MATH_ROLE.sub(_inline_math, text)
        text = _ROLE.sub(lambda m: self._crossref(obj, m), text)
        obj.docstring.value = text

    @staticmethod
    def _crossref(obj: griffe.Object, match: re.Match[str]) -> str:
        target = match["target"].strip()
        short = target.startswith("~")
        name = target.lstrip("~").lstrip(".")
        identifier = _resolve(obj, name)
        shown = name.rsplit(".", 1)[-1] if short else name
        if match["role"] in {"func", "meth"}:
            shown += "()"
        return (
            f'<autoref identifier="{html.escape(identifier)}" optional>'
            f"<code>{html.escape(shown)}</code></autoref>"
        )


def _resolve(obj: griffe.Object, name: str) -> str:
    """Full path of ``name`` seen from ``obj``: its module's members first, then absolute."""
    module = obj if obj.is_module else obj.module
    for scope in (module.path, module.package.path):
        candidate = f"{scope}.{name}"
        try:
            found = obj.modules_collection[candidate]
        except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
            continue
        return str(found.path)
    return name
