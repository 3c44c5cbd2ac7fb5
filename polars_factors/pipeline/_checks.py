"""Checks of configuration values: each returns the converted value or raises."""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Callable
from typing import Any

import polars as pl

__all__ = [
    "BadValueError",
    "Check",
    "boolean",
    "choice",
    "choices",
    "closest",
    "date",
    "date_format",
    "describe",
    "integer",
    "paths",
    "positive_number",
    "scheduler",
    "string",
    "strings",
]


class BadValueError(Exception):
    def __init__(self, expected: str, hint: str = "") -> None:
        super().__init__(expected)
        self.expected = expected
        self.hint = hint


Check = Callable[[Any], Any]


def string(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise BadValueError("a non-empty string")
    return value


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadValueError("true or false")
    return value


def integer(minimum: int) -> Check:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise BadValueError(f"an integer >= {minimum}")
        return value

    return check


def positive_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadValueError("a number > 0")
    if not math.isfinite(value) or value <= 0:
        raise BadValueError("a number > 0")
    return float(value)


#: Schemes of Dask's network communication layers.
SCHEMES = ("tcp", "tls", "ucx", "ws", "wss")
_ADDRESS = re.compile(
    r"^(?:(?P<scheme>[A-Za-z]+)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)"
    r":(?P<port>[0-9]{1,5})$"
)


def scheduler(value: Any) -> str:
    """Return ``value`` if it is ``"local"`` or a Dask scheduler address.

    An address is ``scheme://host:port`` (``tcp``, ``tls``, ...) or ``host:port``.
    """
    expected = '"local" or a Dask scheduler address such as "tcp://10.0.0.5:8786"'
    if not isinstance(value, str):
        raise BadValueError(expected)
    if value == "local":
        return value
    match = _ADDRESS.match(value)
    if match is None:
        hint = closest(value, ["local"]) or "an address is scheme://host:port or host:port"
        raise BadValueError(expected, hint)
    scheme = match.group("scheme")
    if scheme is not None and scheme.lower() not in SCHEMES:
        raise BadValueError(expected, f"the scheme must be one of {', '.join(SCHEMES)}")
    return value


def date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise BadValueError('a date (2016-01-04 or "2016-01-04")')


#: A date and time whose day, month and year all differ: a format must read it back.
_PROBE = dt.datetime(2016, 11, 23, 16, 30, 15, tzinfo=dt.UTC)


def date_format(value: Any) -> str:
    """Return ``value`` if it is a ``strptime`` format that reads a whole date back."""
    text = string(value)
    probe = pl.Series([_PROBE])
    try:
        back = probe.dt.strftime(text).str.to_date(text, strict=False).item()
    except pl.exceptions.PolarsError:
        back = None
    if back != _PROBE.date():
        raise BadValueError(
            "a strptime format with a year, a month and a day",
            'e.g. "%d/%m/%Y" (day first) or "%m/%d/%Y" (month first)',
        )
    return text


def choice(choices: tuple[str, ...], *, none: str | None = None) -> Check:
    def check(value: Any) -> str | None:
        if none is not None and value == none:
            return None
        allowed = (*choices, none) if none is not None else choices
        if isinstance(value, str) and value in allowed:
            return value
        expected = "one of " + ", ".join(repr(c) for c in allowed)
        hint = closest(str(value), allowed) if isinstance(value, str) else ""
        raise BadValueError(expected, hint)

    return check


def choices(choices: tuple[str, ...]) -> Check:
    one = choice(choices)

    def check(value: Any) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise BadValueError("a list of " + ", ".join(repr(c) for c in choices))
        items = tuple(one(v) for v in value)
        if len(set(items)) != len(items):
            raise BadValueError("a list without repeats")
        return items

    return check


def paths(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) and v for v in items):
        raise BadValueError("a path or glob, or a non-empty list of them")
    return tuple(items)


def strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise BadValueError("a non-empty list of strings")
    return tuple(value)


def closest(name: str, candidates: tuple[str, ...] | list[str]) -> str:
    folded = {c.lower(): c for c in candidates}
    if name.lower() in folded:
        return f"did you mean {folded[name.lower()]!r}?"
    match = difflib.get_close_matches(name.lower(), list(folded), n=1, cutoff=0.6)
    return f"did you mean {folded[match[0]]!r}?" if match else ""


def describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{text} ({type(value).__name__})"
