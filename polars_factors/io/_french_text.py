"""Text layer of the Ken French readers: decode a file, find its tables, parse cells.

A data library CSV is a sequence of blocks separated by blank lines. A block that
holds a line starting with a date (``YYYYMMDD``, ``YYYYMM`` or ``YYYY``) is a table:
the line before the first date line is its header, the line before that its title
(e.g. `` Annual Factors: January-December ``), and every later line of the block a
data row. Blocks without a date line (preambles, a copyright line) are skipped.
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import polars as pl

from polars_factors.exceptions import FileFormatError

__all__ = ["MISSING_CODES", "Table", "dates", "find_tables", "read_text", "rows", "values"]

#: Codes the data library writes for a missing value (in percent units).
MISSING_CODES = (-99.99, -999.0)

FREQUENCIES = {8: "daily", 6: "monthly", 4: "annual"}
_DATE_RE = re.compile(r"\d{4}(\d{2}(\d{2})?)?")
# Plain decimal notation that Decimal(38, 18) holds exactly: divided by 100 in decimal
# arithmetic, it gives the double nearest to the decimal value (0.009 % -> 9e-05, not
# 8.999999999999999e-05). Anything else (exponents, nan) is divided as a float.
_PLAIN_NUMBER = r"^[+-]?\d{1,18}(\.\d{0,16})?$"
_DECIMAL = pl.Decimal(38, 18)
_MAX_SHOWN = 60

Source = str | os.PathLike[str] | IO[str] | IO[bytes]


@dataclass(frozen=True)
class Table:
    """Where one table lies in the file's lines (0-based indices)."""

    title: str
    header: int | None  # index of the header line; None when the block has none
    first: int  # index of the first data line
    end: int  # one past the last line of the block
    width: int  # digits of the first row's date

    @property
    def frequency(self) -> str:
        """``"daily"``, ``"monthly"`` or ``"annual"`` (from the date width)."""
        return FREQUENCIES[self.width]


def read_text(source: Source) -> tuple[str, str]:
    """Return the file's name (for messages) and its text."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            msg = f"Fama-French file not found: {str(path)!r}."
            raise FileNotFoundError(msg)
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.namelist() if not m.endswith("/")]
                if len(members) != 1:
                    msg = (
                        f"{path.name}: expected a zip archive holding one CSV file; "
                        f"found {len(members)}: {members}. Extract the one to read."
                    )
                    raise FileFormatError(msg)
                return f"{path.name}/{members[0]}", _decode(archive.read(members[0]))
        return path.name, _decode(path.read_bytes())
    if hasattr(source, "read"):
        data = source.read()
        name = str(getattr(source, "name", "<file>"))
        return name, data.removeprefix("\ufeff") if isinstance(data, str) else _decode(data)
    msg = f"expected a path or an open file; got {type(source).__name__}."
    raise TypeError(msg)


def _decode(data: bytes) -> str:
    # The tables are ASCII; latin-1 never fails on an odd byte in the preamble.
    return data.removeprefix(b"\xef\xbb\xbf").decode("latin-1")


def fields(line: str) -> list[str]:
    """Comma-separated fields, stripped."""
    return [f.strip() for f in line.split(",")]


def _is_date_line(line: str) -> bool:
    return "," in line and _DATE_RE.fullmatch(line.split(",", 1)[0].strip()) is not None


def find_tables(lines: list[str]) -> list[Table]:
    """Every block of the file that holds a date line, in file order."""
    tables = []
    start, n = 0, len(lines)
    while start < n:
        if not lines[start].strip():
            start += 1
            continue
        end = next((i for i in range(start, n) if not lines[i].strip()), n)
        # The file's first line is never a data row (it would have no header).
        first = next((i for i in range(max(start, 1), end) if _is_date_line(lines[i])), None)
        if first is not None:
            header = first - 1 if first - 1 >= start else None
            title = lines[first - 2].strip() if first - 2 >= start else ""
            width = len(lines[first].split(",", 1)[0].strip())
            tables.append(Table(title, header, first, end, width))
        start = end
    return tables


def rows(lines: list[str], table: Table, name: str) -> tuple[list[str], list[list[str]]]:
    """Header fields and data rows of ``table``, each row checked against the first."""
    if table.header is None:
        msg = (
            f"{name}: not a Fama-French data library CSV (no header line). Expected a "
            f"header line such as ',Mkt-RF,SMB,HML,RF' followed by rows starting with a "
            f"YYYYMMDD, YYYYMM or YYYY date."
        )
        raise FileFormatError(msg)
    header = fields(lines[table.header])
    factors = header[1:]
    if not all(factors) or len(set(factors)) != len(factors):
        msg = (
            f"{name}, line {table.header + 1}: the header "
            f"{lines[table.header].strip()!r} must name every column once."
        )
        raise FileFormatError(msg)
    out = []
    for i in range(table.first, table.end):
        row = fields(lines[i])
        if len(row) != len(header) or len(row[0]) != table.width or not row[0].isdigit():
            msg = (
                f"{name}, line {i + 1}: expected a {table.frequency} row of "
                f"{len(header)} fields (a {table.width}-digit date and {len(factors)} "
                f"values, like line {table.first + 1}); found "
                f"{lines[i].strip()[:_MAX_SHOWN]!r}."
            )
            raise FileFormatError(msg)
        out.append(row)
    return header, out


def dates(
    text: pl.Series, name: str, line: int, *, month_date: Literal["end", "start"]
) -> pl.Series:
    """Parse the date column; ``line`` is the file line of its first row."""
    width = text.str.len_chars()[0]
    suffix = {8: "", 6: "01", 4: "0101"}[width]
    parsed: pl.Series = (text + suffix).str.to_date("%Y%m%d", strict=False)
    if parsed.null_count():
        i = int(parsed.is_null().arg_true()[0])
        msg = f"{name}, line {line + i}: invalid date {text[i]!r}."
        raise FileFormatError(msg)
    if month_date == "end":
        if width == 6:
            parsed = parsed.dt.month_end()
        elif width == 4:
            parsed = parsed.dt.offset_by("1y").dt.offset_by("-1d")
    return parsed


def values(
    text: pl.Series,
    name: str,
    line: int,
    *,
    factor: str,
    units: Literal["decimal", "percent"],
) -> pl.Series:
    """Parse one factor column: numbers, missing codes to null, percent to decimal."""
    as_float = text.cast(pl.Float64, strict=False)
    bad = (as_float.is_null() & (text != "")).arg_true()
    if bad.len():
        i = int(bad[0])
        msg = f"{name}, line {line + i}: value {text[i]!r} of column {factor!r} is not a number."
        raise FileFormatError(msg)
    # French's files mark missing values with -99.99 or -999, never with inf or NaN; a
    # non-finite value (also a number too large for a float, e.g. 1e400) is corruption.
    bad = (as_float.is_not_null() & ~as_float.is_finite()).arg_true()
    if bad.len():
        i = int(bad[0])
        msg = (
            f"{name}, line {line + i}: value {text[i]!r} of column {factor!r} is not a finite "
            f"number (missing values are -99.99 or -999 in these files); fix the file."
        )
        raise FileFormatError(msg)
    value = pl.col("f")
    if units == "decimal":
        # Plain decimals are divided in decimal arithmetic (see _PLAIN_NUMBER).
        exact = pl.col("t").cast(_DECIMAL, strict=False) / 100
        plain = pl.col("t").str.contains(_PLAIN_NUMBER)
        value = pl.when(plain).then(exact.cast(pl.Float64)).otherwise(value / 100)
    missing = pl.col("f").is_in(MISSING_CODES)
    frame = pl.DataFrame({"t": text, "f": as_float})
    return frame.select(pl.when(~missing).then(value)).to_series()
