"""Read the panel (bundled or the user's files) into the canonical columns, lazily.

The rules (docs/cli.md): every file of ``[data] panel`` has the same canonical columns
under the same names, and each is converted to the canonical types before the files
are stacked; text dates are ISO (``YYYY-MM-DD``, ``YYYYMMDD``, with or without a time
of day) unless ``date_format`` says otherwise; impossible values (a close or share
count <= 0, a negative volume, NaN or infinity) are read as missing.
"""

from __future__ import annotations

import glob
import re
from pathlib import Path

import polars as pl

from polars_factors import datasets
from polars_factors.exceptions import ColumnNotFoundError, ConfigError, FileFormatError, SchemaError
from polars_factors.io import read_fama_french
from polars_factors.pipeline._checks import closest
from polars_factors.pipeline._config import (
    CANONICAL_COLUMNS,
    REQUIRED_COLUMNS,
    DataConfig,
)

__all__ = ["load_fama_french", "load_panel"]

_STRINGS = ("asset", "sector", "industry")
#: Impossible values, read as missing (besides NaN and infinity in every number column).
_POSITIVE = ("close", "shares_outstanding", "high", "low")
#: Date columns: the panel's key and the fiscal period of the fundamentals.
_DATES = ("date", "period_end")
_NON_NEGATIVE = ("volume",)
#: Rows of each file's date column read to tell its format; impossible closes shown.
SAMPLE_ROWS, EXAMPLES = 1000, 3
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
_ISO_TIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)?$"
_COMPACT = r"^\d{8}$"


# ---------------------------------------------------------------------------------
# Files


def _files(patterns: tuple[str, ...], source: str) -> list[str]:
    files: list[str] = []
    for pattern in patterns:
        if glob.has_magic(pattern):
            # glob.glob: absolute patterns with ** (Path.glob takes relative ones only)
            matched = sorted(glob.glob(pattern, recursive=True))  # noqa: PTH207
            if not matched:
                msg = f"{source}: [data] panel: no file matches {pattern}"
                raise ConfigError(msg)
            files.extend(matched)
        elif not Path(pattern).is_file():
            msg = f"{source}: [data] panel: file not found: {pattern}"
            raise ConfigError(msg)
        else:
            files.append(pattern)
    seen: set[Path] = set()
    for file in files:
        if Path(file).resolve() in seen:  # its rows would all be duplicates
            msg = f"{source}: [data] panel: {file} is listed more than once"
            raise ConfigError(msg)
        seen.add(Path(file).resolve())
    # Absolute: the scans travel to the workers of a cluster, whose working directory
    # is not this one.
    return [str(Path(file).absolute()) for file in files]


def _scan_file(file: str, data: DataConfig, source: str) -> tuple[pl.LazyFrame, pl.Schema]:
    kind = data.format
    if kind == "auto":
        suffix = Path(file).suffix.lower()
        kind = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".txt": "csv"}.get(
            suffix, ""
        )
        if not kind:
            msg = (
                f"{source}: cannot tell the format of {file} from its extension; "
                'set [data] format = "parquet" or "csv"'
            )
            raise ConfigError(msg)
    if kind == "parquet":
        lf = pl.scan_parquet(file)
    else:
        # Keys and classifications as written (a ticker "0050" keeps its zero); the
        # dates as text, read by the rules of _date_expr.
        text = [data.columns.get(c, c) for c in (*_DATES, *_STRINGS)]
        lf = pl.scan_csv(
            file, infer_schema_length=10_000, schema_overrides=dict.fromkeys(text, pl.String)
        )
    try:
        return lf, lf.collect_schema()
    except pl.exceptions.PolarsError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        msg = f"{source}: cannot read {file} as {kind}: {first}"
        raise FileFormatError(msg) from None


def _names(
    files: list[str], schemas: list[pl.Schema], data: DataConfig, source: str
) -> dict[str, str]:
    """Canonical name -> the files' column, checked to be in every file or none."""
    names: dict[str, str] = {}
    # The mapping first: it is the config.
    for canonical in [*data.columns, *(c for c in CANONICAL_COLUMNS if c not in data.columns)]:
        column = data.columns.get(canonical, canonical)
        mapped = f"[columns] {canonical}" if canonical in data.columns else canonical
        has = [column in schema for schema in schemas]
        if all(has):
            names[canonical] = column
        elif any(has):
            lacking = has.index(False)
            hint = closest(column, schemas[lacking].names())
            msg = (
                f"{source}: {files[lacking]} has no column {column!r} ({mapped}) but "
                f"{files[has.index(True)]} has; {hint + ' ' if hint else ''}every file of "
                "[data] panel must name its columns the same way"
            )
            raise ConfigError(msg)
        elif canonical in data.columns:
            found = schemas[0].names()
            hint = closest(column, found) or f"columns: {', '.join(found[:20])}"
            msg = f"{source}: column {column!r} ([columns] {canonical}) is not in the data; {hint}"
            raise ConfigError(msg)
        elif canonical in REQUIRED_COLUMNS:
            hint = closest(canonical, schemas[0].names())
            example = (
                f'{canonical} = "{hint.split(chr(39))[1]}"' if hint else f'{canonical} = "..."'
            )
            msg = (
                f"{source}: required column {canonical!r} is not in the data; name yours in "
                f"[columns], e.g. {example}"
            )
            raise ConfigError(msg)
    owner: dict[str, str] = {}
    for canonical, column in names.items():
        if column in owner:  # one mapped onto another's own name
            msg = (
                f"{source}: column {column!r} is both {owner[column]} ([columns] {owner[column]}) "
                f"and, by its name, {canonical}; map {canonical} in [columns] too"
            )
            raise ConfigError(msg)
        owner[column] = canonical
    return names


# ---------------------------------------------------------------------------------
# Dates


def _format_hint(value: str) -> str:
    day_first = re.fullmatch(r"\d{1,2}([/.\-])\d{1,2}\1\d{2}(\d{2})?", value)
    if day_first:
        sep, year = day_first.group(1), "%Y" if day_first.group(2) else "%y"
        return (
            f'date_format = "%d{sep}%m{sep}{year}" (day first) or '
            f'"%m{sep}%d{sep}{year}" (month first)'
        )
    year_first = re.fullmatch(r"\d{4}([/.])\d{1,2}\1\d{1,2}", value)
    if year_first:
        sep = year_first.group(1)
        return f'date_format = "%Y{sep}%m{sep}%d"'
    return 'date_format, e.g. "%d/%m/%Y" (day first) or "%m/%d/%Y" (month first)'


def _date_expr(
    frame: pl.LazyFrame, column: str, dtype: pl.DataType, data: DataConfig, where: str
) -> pl.Expr:
    """Return the expression of one file's ``date`` column, its format told from a sample."""
    col = pl.col(column)
    if dtype == pl.Date:
        return col
    if isinstance(dtype, pl.Datetime):
        return col.dt.date()  # the date in its own time zone (naive: as written)
    if dtype != pl.String and not dtype.is_integer():
        msg = (
            f"{where}: the date column {column!r} must be a date, datetime, text or YYYYMMDD "
            f"integer; it is {dtype}"
        )
        raise SchemaError(msg)
    text = col.cast(pl.String)
    sample = frame.select(text).head(SAMPLE_ROWS).collect()
    values = sample.to_series().drop_nulls()
    iso = values.str.contains(_ISO_DATE)
    fmt, as_written = "%Y-%m-%d", False
    if data.date_format is not None:
        fmt = data.date_format
    elif dtype.is_integer() or (values.len() and values.str.contains(_COMPACT).all()):
        fmt = "%Y%m%d"
    elif not iso.all():
        timed = iso | values.str.contains(_ISO_TIME)
        if not timed.all():
            value = values.filter(~timed)[0]
            msg = (
                f"{where}: the date column {column!r} holds {value!r}, not an ISO date "
                f"(YYYY-MM-DD); set [data] {_format_hint(value)}"
            )
            raise ConfigError(msg)
        as_written = True  # a time of day (and offset) is dropped: the date as written

    def parse(*, strict: bool) -> pl.Expr:
        return (text.str.slice(0, 10) if as_written else text).str.to_date(fmt, strict=strict)

    raw = sample.to_series()
    parsed = sample.select(parse(strict=False)).to_series()
    unread = parsed.is_null() | (parsed.dt.year() < 1000)
    if fmt == "%Y%m%d" and data.date_format is None:  # 2092015 would be 2092-01-05
        unread |= ~raw.str.contains(_COMPACT)
    wrong = raw.filter(raw.is_not_null() & unread)
    if wrong.len():
        given = f"[data] date_format {fmt!r}" if data.date_format else f"the format {fmt!r}"
        msg = f"{where}: the date column {column!r} holds {wrong[0]!r}, which {given} does not read"
        if fmt == "%Y%m%d" and data.date_format is None:
            msg += f"; set [data] {_format_hint(wrong[0])}"
        raise ConfigError(msg)
    return parse(strict=True)


# ---------------------------------------------------------------------------------
# Columns


def _canonical(
    frame: pl.LazyFrame, schema: pl.Schema, names: dict[str, str], data: DataConfig, where: str
) -> pl.LazyFrame:
    """Return one file with the canonical names and types (in CANONICAL_COLUMNS order)."""
    exprs = []
    for canonical in CANONICAL_COLUMNS:
        if canonical not in names:
            continue
        column = names[canonical]
        dtype = schema[column]
        if canonical in _DATES:
            expr = _date_expr(frame, column, dtype, data, where)
        elif canonical in _STRINGS:
            expr = pl.col(column).cast(pl.String)
        elif dtype.is_numeric() or dtype == pl.Null:
            expr = pl.col(column).cast(pl.Float64)
        else:
            msg = f"{where}: column {column!r} ({canonical}) must be numeric; it is {dtype}"
            raise SchemaError(msg)
        exprs.append(expr.alias(canonical))
    return frame.select(exprs)


def _read(data: DataConfig, source: str) -> pl.LazyFrame:
    files = _files(data.panel, source)
    scans = [_scan_file(file, data, source) for file in files]
    names = _names(files, [schema for _, schema in scans], data, source)
    parts = [
        _canonical(frame, schema, names, data, f"{source}: {file}")
        for file, (frame, schema) in zip(files, scans, strict=True)
    ]
    # Same columns, order and types by now: a strict stack.
    return parts[0] if len(parts) == 1 else pl.concat(parts, how="vertical")


def _valid(name: str) -> pl.Expr:
    """``name`` with its impossible values null."""
    col = pl.col(name)
    bad = ~col.is_finite()
    if name in _POSITIVE:
        bad |= col <= 0
    elif name in _NON_NEGATIVE:
        bad |= col < 0
    return pl.when(bad).then(None).otherwise(col).alias(name)


def _value_notes(lf: pl.LazyFrame, keys: pl.Expr, kept: pl.Expr) -> list[str]:
    """Count the rows without a key and the impossible closes (one streaming pass)."""
    close = pl.col("close")
    bad = kept & (~close.is_finite() | (close <= 0))
    counts = lf.select((~keys).sum().alias("keys"), bad.sum().alias("close")).collect()
    n_keys, n_close = counts.row(0)
    notes = []
    if n_keys:
        notes.append(f"{n_keys:,} rows of the files have no date or no asset: left out.")
    if n_close:
        first = lf.filter(bad).select("asset", "date").bottom_k(EXAMPLES, by=["date", "asset"])
        examples = first.collect().sort("date", "asset").iter_rows()
        shown = ", ".join(f"{asset} on {date}" for asset, date in examples)
        notes.append(
            f"close: {n_close:,} values <= 0, NaN or infinite read as missing (first: "
            f"{shown}{', ...' if n_close > EXAMPLES else ''}); the returns to and from "
            "those rows are null."
        )
    return notes


def load_panel(data: DataConfig, *, source: str, notes: list[str] | None = None) -> pl.LazyFrame:
    """Return the panel with canonical column names and types, filtered, lazily.

    The bundled S&P 500 sample when ``data.panel`` is empty, else the files (globs
    expanded; parquet and CSV by extension or ``data.format``) with the columns of
    ``data.columns`` renamed. ``date`` and ``period_end`` are ``Date``,
    ``asset``/``sector``/``industry`` strings and the other columns ``Float64``;
    each file is converted before the files are stacked. Reads each file's schema,
    and the first 1,000 rows of a date column that is text or integers, to tell its
    format.

    Impossible values are null: a close, high, low or share count <= 0, a negative
    volume, NaN or infinity in any number column. Rows without a date or an asset
    are left out.

    Parameters
    ----------
    data
        Where the panel comes from and which rows are used.
    source
        Name of the configuration in error messages.
    notes
        When a list, one streaming pass over the ``date``, ``asset`` and ``close``
        columns (and a second for the examples, only when there are impossible
        closes) counts the rows left out for want of a key and the impossible closes;
        a note on each is appended to it. ``None``: nothing is read.

    Raises
    ------
    ConfigError
        No file matches, a file listed twice, an unknown format, a mapped column not
        in the files, a column in some files but not all, one column for two canonical
        ones, a date that is not ISO without ``date_format``, or that
        ``date_format`` does not read.
    FileFormatError
        A file that cannot be read as its format.
    SchemaError
        A column of the wrong type.
    """
    if data.panel:
        lf = _read(data, source)
    else:
        lf = datasets.load_sp500()
        lf = lf.select(c for c in lf.collect_schema().names() if c in CANONICAL_COLUMNS)
        lf = lf.with_columns(pl.col(pl.Int64).cast(pl.Float64))
    keys = pl.col("date").is_not_null() & pl.col("asset").is_not_null()
    kept = keys
    if data.start is not None:
        kept &= pl.col("date") >= data.start
    if data.end is not None:
        kept &= pl.col("date") <= data.end
    if data.assets is not None:
        kept &= pl.col("asset").is_in(list(data.assets))
    if notes is not None:
        notes.extend(_value_notes(lf, keys, kept))
    numbers = [n for n, t in lf.collect_schema().items() if t == pl.Float64]
    return lf.filter(kept).with_columns(_valid(n) for n in numbers)


def load_fama_french(data: DataConfig) -> pl.DataFrame:
    """Return the daily Fama-French factors renamed ``mkt, smb, hml, rf`` (decimals).

    From ``data.fama_french`` (:func:`polars_factors.io.read_fama_french`) or the
    bundled file.
    """
    if data.fama_french is not None:
        if not Path(data.fama_french).is_file():
            msg = f"[data] fama_french: file not found: {data.fama_french}"
            raise ConfigError(msg)
        ff = read_fama_french(data.fama_french)
    else:
        ff = datasets.load_fama_french("daily", "3")
    rename = {"Mkt-RF": "mkt", "SMB": "smb", "HML": "hml", "RF": "rf"}
    missing = [c for c in rename if c not in ff.columns]
    if missing:
        msg = f"the Fama-French file has no {', '.join(missing)} column (columns: {ff.columns})"
        raise ColumnNotFoundError(msg)
    return ff.select("date", *(pl.col(k).alias(v) for k, v in rename.items())).sort("date")
