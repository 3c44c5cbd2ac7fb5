r"""Readers of Kenneth R. French's data library CSV files.

:func:`read_french_csv` reads any table of a data library file
(``F-F_Research_Data_Factors.CSV``, ``F-F_Research_Data_5_Factors_2x3_daily.CSV``,
the portfolio files, ... or the ``.zip`` archives they are served in): the monthly
table, the annual table after it, or any other by title or position, into a wide
factor time series: a ``date`` column plus one Float64 column per factor, the layout
that :func:`polars_factors.join_factors` and :func:`polars_factors.betas` take.
:func:`read_fama_french` reads the first table; :func:`list_french_tables` lists them.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from polars_factors import _validate
from polars_factors._frame import temp_name
from polars_factors.exceptions import FileFormatError
from polars_factors.io import _french_text as _text
from polars_factors.io._french_text import MISSING_CODES, Source, Table

__all__ = ["MISSING_CODES", "list_french_tables", "read_fama_french", "read_french_csv"]


def read_fama_french(
    source: Source,
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
    from the first line that starts with a date up to the first blank line. Same as
    :func:`read_french_csv` with ``table=0``, which can also read the other tables.

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
    return read_french_csv(source, table=0, units=units, month_date=month_date, date=date)


def read_french_csv(
    source: Source,
    *,
    table: str | int = 0,
    units: Literal["decimal", "percent"] = "decimal",
    month_date: Literal["end", "start"] = "end",
    date: str = "date",
) -> pl.DataFrame:
    r"""Read one table of a Kenneth French data library CSV into a wide time series.

    A data library file holds one or more tables separated by blank lines, after a
    text preamble: the monthly factor files have the monthly table, then an annual
    table (``YYYY`` dates) titled `` Annual Factors: January-December ``; the
    portfolio files have value- and equal-weighted returns, monthly and annual, the
    number of firms, ... Each table is a title line, a header line
    (``,Mkt-RF,SMB,HML,RF``) and one row per period dated ``YYYYMMDD`` (daily),
    ``YYYYMM`` (monthly) or ``YYYY`` (annual), values in percent padded with
    spaces. :func:`list_french_tables` shows what a file holds.

    Parameters
    ----------
    source
        Path of the ``.csv`` file, or of a ``.zip`` archive holding exactly one
        (as downloaded from the data library), or an open file (text or binary).
    table
        Which table: its position (``0`` is the first, the default; ``-1`` the last),
        a frequency (``"daily"``, ``"monthly"`` or ``"annual"``: the first table with
        dates of that width), or its title (case and surrounding spaces ignored;
        a part of the title is enough if it matches a single table, e.g.
        ``"equal weighted returns -- monthly"``).
    units
        ``"decimal"`` (default) divides the values by 100: 1.25 % becomes 0.0125,
        the units of returns computed from prices. ``"percent"`` keeps the file's
        values.
    month_date
        Date of a monthly row: ``"end"`` (default), the month's last calendar day
        (1926-07 -> 1926-07-31); ``"start"``, its first day. Annual rows get the
        year's last day (1927 -> 1927-12-31) or first day. Daily rows keep theirs.
    date
        Name of the output date column.

    Returns
    -------
    DataFrame
        One row per period in file order (increasing dates): ``date`` (Date) and
        the columns as named in the table's header, Float64. Empty cells and the
        library's missing-value codes (-99.99 and -999) are null.

    Raises
    ------
    FileNotFoundError
        ``source`` is a path that does not exist.
    FileFormatError
        The file has no table, or not the one asked for (the message lists those it
        has); a row has the wrong number of fields, a value is not a number, a date
        is invalid, or dates do not increase.

    See Also
    --------
    read_fama_french : The first table (same as ``table=0``).
    list_french_tables : The tables of a file.

    Examples
    --------
    >>> import io
    >>> from polars_factors.io import read_french_csv
    >>> text = (
    ...     "This file was created by CMPT_ME_BEME_RETS using the 202408 CRSP database.\r\n"
    ...     "\r\n"
    ...     ",Mkt-RF,SMB,HML,RF\r\n"
    ...     "202312,    4.87,    6.34,   -2.38,    0.43\r\n"
    ...     "\r\n"
    ...     " Annual Factors: January-December \r\n"
    ...     ",Mkt-RF,SMB,HML,RF\r\n"
    ...     "  2022,  -21.58,   -6.85,   25.97,    1.43\r\n"
    ...     "  2023,   21.68,   -3.29,  -13.70,    4.95\r\n"
    ...     "\r\n"
    ...     "Copyright 2024 Eugene F. Fama and Kenneth R. French\r\n"
    ... )
    >>> read_french_csv(io.StringIO(text), table="annual", units="percent")
    shape: (2, 5)
    ┌────────────┬────────┬───────┬───────┬──────┐
    │ date       ┆ Mkt-RF ┆ SMB   ┆ HML   ┆ RF   │
    │ ---        ┆ ---    ┆ ---   ┆ ---   ┆ ---  │
    │ date       ┆ f64    ┆ f64   ┆ f64   ┆ f64  │
    ╞════════════╪════════╪═══════╪═══════╪══════╡
    │ 2022-12-31 ┆ -21.58 ┆ -6.85 ┆ 25.97 ┆ 1.43 │
    │ 2023-12-31 ┆ 21.68  ┆ -3.29 ┆ -13.7 ┆ 4.95 │
    └────────────┴────────┴───────┴───────┴──────┘
    >>> read_french_csv(io.StringIO(text), table=0)["Mkt-RF"].to_list()
    [0.0487]
    """
    _validate.check_choice("units", units, ("decimal", "percent"))
    _validate.check_choice("month_date", month_date, ("end", "start"))
    name, text = _text.read_text(source)
    lines = text.splitlines()
    found = _select(_text.find_tables(lines), table, name)
    header, rows = _text.rows(lines, found, name)
    if date in header[1:]:
        msg = (
            f"{name}: the output date column {date!r} is also a factor column; "
            f"pass another name with date=."
        )
        raise FileFormatError(msg)
    columns = [pl.Series(col, dtype=pl.String) for col in zip(*rows, strict=True)]
    line = found.first + 1  # 1-based line number of the first row
    out = pl.DataFrame(
        [
            _text.dates(columns[0], name, line, month_date=month_date).alias(date),
            *[
                _text.values(col, name, line, factor=factor, units=units).alias(factor)
                for factor, col in zip(header[1:], columns[1:], strict=True)
            ],
        ]
    )
    if not out[date].is_sorted() or out[date].n_unique() != out.height:
        row = temp_name(set(out.columns), "row")
        bad = out.with_row_index(row).filter(pl.col(date).diff() <= pl.duration(days=0))
        line = int(bad[row][0]) + found.first + 1
        msg = (
            f"{name}, line {line}: date {bad[date][0]} does not come after the previous "
            f"row's date; a table's dates must increase."
        )
        raise FileFormatError(msg)
    return out


def list_french_tables(source: Source) -> pl.DataFrame:
    r"""List the tables of a Kenneth French data library CSV.

    Parameters
    ----------
    source
        Path of the ``.csv`` file or ``.zip`` archive, or an open file.

    Returns
    -------
    DataFrame
        One row per table in file order: ``table`` (its position, for
        ``read_french_csv(table=...)``), ``title`` (the line above the header; may be
        empty), ``frequency`` (``"daily"``, ``"monthly"`` or ``"annual"``), ``rows``
        (the number of lines up to the next blank line), ``first_line`` (1-based line
        number of the first row) and ``columns`` (the header's column names).

    Raises
    ------
    FileNotFoundError
        ``source`` is a path that does not exist.
    FileFormatError
        The file holds no table.

    Examples
    --------
    >>> import io
    >>> from polars_factors.io import list_french_tables
    >>> text = (
    ...     "Some preamble\r\n\r\n"
    ...     ",Mkt-RF,RF\r\n199001, -7.85, 0.57\r\n199002, 1.11, 0.57\r\n\r\n"
    ...     " Annual Factors: January-December \r\n,Mkt-RF,RF\r\n1990, -13.92, 7.80\r\n"
    ... )
    >>> tables = list_french_tables(io.StringIO(text))
    >>> tables.drop("columns").rows()
    [(0, '', 'monthly', 2, 4), (1, 'Annual Factors: January-December', 'annual', 1, 9)]
    >>> tables["columns"][1].to_list()
    ['Mkt-RF', 'RF']
    """
    name, text = _text.read_text(source)
    lines = text.splitlines()
    tables = _text.find_tables(lines)
    if not tables:
        raise FileFormatError(_no_table_message(name))
    return pl.DataFrame(
        {
            "table": list(range(len(tables))),
            "title": [t.title for t in tables],
            "frequency": [t.frequency for t in tables],
            "rows": [t.end - t.first for t in tables],
            "first_line": [t.first + 1 for t in tables],
            "columns": [
                [] if t.header is None else _text.fields(lines[t.header])[1:] for t in tables
            ],
        },
        schema_overrides={"columns": pl.List(pl.String)},
    )


def _no_table_message(name: str) -> str:
    return (
        f"{name}: not a Fama-French data library CSV (no line starts with a date). "
        f"Expected a header line such as ',Mkt-RF,SMB,HML,RF' followed by rows starting "
        f"with a YYYYMMDD, YYYYMM or YYYY date."
    )


def _select(tables: list[Table], table: str | int, name: str) -> Table:
    """Find the table asked for by position, frequency or title."""
    if not tables:
        raise FileFormatError(_no_table_message(name))
    if isinstance(table, bool) or not isinstance(table, (int, str)):
        msg = f"table must be an int or a str; got {type(table).__name__}."
        raise TypeError(msg)
    if isinstance(table, int):
        if -len(tables) <= table < len(tables):
            return tables[table]
        matches: list[Table] = []
    elif table in _text.FREQUENCIES.values():
        matches = [t for t in tables if t.frequency == table][:1]
    else:
        key = table.strip().casefold()
        exact = [t for t in tables if key and t.title.casefold() == key]
        matches = exact or [t for t in tables if key and key in t.title.casefold()]
    if len(matches) == 1:
        return matches[0]
    shown = "; ".join(
        f"{i}: {t.frequency}{f' {t.title!r}' if t.title else ''} (line {t.first + 1})"
        for i, t in enumerate(tables)
    )
    what = f"{len(matches)} tables match" if matches else "no table matches"
    msg = (
        f"{name}: {what} table={table!r}. The file has {len(tables)} tables: {shown}. "
        f"Pass a position, 'daily', 'monthly', 'annual' or a title."
    )
    raise FileFormatError(msg)
