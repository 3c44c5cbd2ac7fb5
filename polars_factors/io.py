r"""Readers for factor data published in other layouts.

:func:`read_fama_french` reads the CSV files of Kenneth R. French's data library
(``F-F_Research_Data_Factors_daily.CSV``, ``F-F_Research_Data_5_Factors_2x3.csv``,
the portfolio files, ... or the ``.zip`` archives they are served in) into a wide
factor time series: a ``date`` column plus one Float64 column per factor, the layout
that :func:`polars_factors.join_factors` and :func:`polars_factors.betas` take.
"""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path
from typing import IO, Literal

import polars as pl

from polars_factors import _validate
from polars_factors.exceptions import FileFormatError

__all__ = ["FileFormatError", "read_fama_french"]

#: Codes the data library writes for a missing value (in percent units).
MISSING_CODES = (-99.99, -999.0)

_DATE_WIDTHS = {8: "daily", 6: "monthly"}
_DATE_RE = re.compile(r"\d{6}(\d{2})?")
# Plain decimal notation that Decimal(38, 18) holds exactly: divided by 100 in decimal
# arithmetic, it gives the double nearest to the decimal value (0.009 % -> 9e-05, not
# 8.999999999999999e-05). Anything else (exponents, nan) is divided as a float.
_PLAIN_NUMBER = r"^[+-]?\d{1,18}(\.\d{0,16})?$"
_DECIMAL = pl.Decimal(38, 18)
_MAX_SHOWN = 60


def read_fama_french(
    source: str | os.PathLike[str] | IO[str] | IO[bytes],
    *,
    units: Literal["decimal", "percent"] = "decimal",
    month_date: Literal["end", "start"] = "end",
    date: str = "date",
) -> pl.DataFrame:
    r"""Read a Kenneth French data library CSV into a wide factor time series.

    The files have a text preamble, a header line (``,Mkt-RF,SMB,HML,RF``), one row
    per period with the date as ``YYYYMMDD`` (daily) or ``YYYYMM`` (monthly), values
    in percent padded with spaces, CRLF line endings, and, after a blank line,
    further tables (the annual factors of the monthly files, the equal-weighted
    returns of the portfolio files, a copyright line). The **first table** is read:
    from the first line that starts with a date up to the first blank line.

    Parameters
    ----------
    source
        Path of the ``.csv`` file, or of a ``.zip`` archive holding exactly one
        (as downloaded from the data library), or an open file (text or binary).
    units
        ``"decimal"`` (default) divides the values by 100: 1.25 % becomes 0.0125,
        the units of returns computed from prices. ``"percent"`` keeps the file's
        values.
    month_date
        Date of a monthly row: ``"end"`` (default), the month's last **calendar**
        day (1926-07 -> 1926-07-31), the day the month's return is known;
        ``"start"``, its first day. Daily files are not affected. To join with a
        panel dated on the last *trading* day of each month, map both sides to the
        same key first, e.g. ``pl.col("date").dt.month_end()``.
    date
        Name of the output date column.

    Returns
    -------
    DataFrame
        One row per period in file order (increasing dates): ``date`` (Date) and
        the factor columns as named in the header (e.g. ``Mkt-RF``, ``SMB``,
        ``HML``, ``RF``), Float64. Empty cells and the library's missing-value
        codes (-99.99 and -999) are null.

    Raises
    ------
    FileNotFoundError
        ``source`` is a path that does not exist.
    FileFormatError
        No header and date rows were found, a row has the wrong number of fields,
        a value is not a number, a date is invalid, or dates do not increase. Also
        a ``ValueError`` (and a :class:`~polars_factors.exceptions.FactorsError`).

    Notes
    -----
    In decimal units a value is divided by 100 in decimal arithmetic, so the result
    is the double nearest to the decimal number (``0.009`` % gives exactly
    ``9e-05``, the same as ``float("0.00009")``).

    Examples
    --------
    >>> import io
    >>> from polars_factors.io import read_fama_french
    >>> text = (
    ...     "This file was created by CMPT_ME_BEME_RETS using the 202408 CRSP database.\r\n"
    ...     "\r\n"
    ...     ",Mkt-RF,SMB,HML,RF\r\n"
    ...     "192607,    2.96,   -2.56,   -2.43,    0.22\r\n"
    ...     "192608,    2.64,   -1.17,    3.82,    0.25\r\n"
    ...     "\r\n"
    ...     " Annual Factors: January-December \r\n"
    ...     ",Mkt-RF,SMB,HML,RF\r\n"
    ...     "  1927,   29.47,   -2.46,   -3.75,    3.12\r\n"
    ... )
    >>> read_fama_french(io.StringIO(text))
    shape: (2, 5)
    ┌────────────┬────────┬─────────┬─────────┬────────┐
    │ date       ┆ Mkt-RF ┆ SMB     ┆ HML     ┆ RF     │
    │ ---        ┆ ---    ┆ ---     ┆ ---     ┆ ---    │
    │ date       ┆ f64    ┆ f64     ┆ f64     ┆ f64    │
    ╞════════════╪════════╪═════════╪═════════╪════════╡
    │ 1926-07-31 ┆ 0.0296 ┆ -0.0256 ┆ -0.0243 ┆ 0.0022 │
    │ 1926-08-31 ┆ 0.0264 ┆ -0.0117 ┆ 0.0382  ┆ 0.0025 │
    └────────────┴────────┴─────────┴─────────┴────────┘
    """
    _validate.check_choice("units", units, ("decimal", "percent"))
    _validate.check_choice("month_date", month_date, ("end", "start"))
    name, text = _read_text(source)
    header, first, rows = _first_table(text.splitlines(), name)
    if date in header[1:]:
        msg = (
            f"{name}: the output date column {date!r} is also a factor column; "
            f"pass another name with date=."
        )
        raise FileFormatError(msg)
    columns = [pl.Series(col, dtype=pl.String) for col in zip(*rows, strict=True)]
    line = first + 1  # 1-based line number of the first row
    out = pl.DataFrame(
        [
            _dates(columns[0], name, line, month_date=month_date).alias(date),
            *[
                _values(col, name, line, factor=factor, units=units).alias(factor)
                for factor, col in zip(header[1:], columns[1:], strict=True)
            ],
        ]
    )
    if not out[date].is_sorted() or out[date].n_unique() != out.height:
        bad = out.with_row_index().filter(pl.col(date).diff() <= pl.duration(days=0))
        line = int(bad["index"][0]) + first + 1
        msg = (
            f"{name}, line {line}: date {bad[date][0]} does not come after the previous "
            f"row's date; the first table's dates must increase."
        )
        raise FileFormatError(msg)
    return out


def _read_text(source: str | os.PathLike[str] | IO[str] | IO[bytes]) -> tuple[str, str]:
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


def _fields(line: str) -> list[str]:
    return [f.strip() for f in line.split(",")]


def _first_table(lines: list[str], name: str) -> tuple[list[str], int, list[list[str]]]:
    """Header fields, index of the first data line and the data rows' fields."""
    first = next(
        (
            i
            for i, line in enumerate(lines)
            if i > 0 and "," in line and _DATE_RE.fullmatch(line.split(",", 1)[0].strip())
        ),
        None,
    )
    if first is None or not lines[first - 1].strip():
        found = "no line starts with a date" if first is None else "no header line"
        msg = (
            f"{name}: not a Fama-French data library CSV ({found}). Expected a header "
            f"line such as ',Mkt-RF,SMB,HML,RF' followed by rows starting with a "
            f"YYYYMMDD or YYYYMM date."
        )
        raise FileFormatError(msg)
    header = _fields(lines[first - 1])
    factors = header[1:]
    if not all(factors) or len(set(factors)) != len(factors):
        msg = (
            f"{name}, line {first}: the header {lines[first - 1].strip()!r} must name "
            f"every column once."
        )
        raise FileFormatError(msg)
    width = len(lines[first].split(",", 1)[0].strip())
    rows = []
    for i in range(first, len(lines)):
        if not lines[i].strip():
            break
        row = _fields(lines[i])
        if len(row) != len(header) or len(row[0]) != width or not row[0].isdigit():
            msg = (
                f"{name}, line {i + 1}: expected a {_DATE_WIDTHS[width]} row of "
                f"{len(header)} fields (a {width}-digit date and {len(factors)} values, "
                f"like line {first + 1}); found {lines[i].strip()[:_MAX_SHOWN]!r}."
            )
            raise FileFormatError(msg)
        rows.append(row)
    return header, first, rows


def _dates(
    text: pl.Series, name: str, line: int, *, month_date: Literal["end", "start"]
) -> pl.Series:
    """Parse the date column; ``line`` is the file line of its first row."""
    daily = text.str.len_chars()[0] == 8
    parsed = (text if daily else text + "01").str.to_date("%Y%m%d", strict=False)
    if parsed.null_count():
        i = int(parsed.is_null().arg_true()[0])
        msg = f"{name}, line {line + i}: invalid date {text[i]!r}."
        raise FileFormatError(msg)
    if not daily and month_date == "end":
        parsed = parsed.dt.month_end()
    return parsed


def _values(
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
    value = pl.col("f")
    if units == "decimal":
        # Plain decimals are divided in decimal arithmetic (see _PLAIN_NUMBER).
        exact = pl.col("t").cast(_DECIMAL, strict=False) / 100
        plain = pl.col("t").str.contains(_PLAIN_NUMBER)
        value = pl.when(plain).then(exact.cast(pl.Float64)).otherwise(value / 100)
    missing = pl.col("f").is_in(MISSING_CODES) | pl.col("f").is_nan()
    frame = pl.DataFrame({"t": text, "f": as_float})
    return frame.select(pl.when(~missing).then(value)).to_series()
