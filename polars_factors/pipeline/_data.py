"""Read the panel (bundled or the user's files) into the canonical columns, lazily."""

from __future__ import annotations

import glob
from pathlib import Path

import polars as pl

from polars_factors import datasets
from polars_factors.exceptions import ColumnNotFoundError, ConfigError, SchemaError
from polars_factors.io import read_fama_french
from polars_factors.pipeline._checks import closest
from polars_factors.pipeline._config import (
    CANONICAL_COLUMNS,
    REQUIRED_COLUMNS,
    DataConfig,
)

__all__ = ["load_fama_french", "load_panel"]

_STRINGS = ("asset", "sector", "industry")


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
    return files


def _scan(files: list[str], fmt: str, source: str) -> pl.LazyFrame:
    frames = []
    for file in files:
        kind = fmt
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
            frames.append(pl.scan_parquet(file))
        else:
            frames.append(pl.scan_csv(file, infer_schema_length=10_000))
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")


def _date_expr(dtype: pl.DataType, date_format: str | None) -> pl.Expr:
    col = pl.col("date")
    if dtype == pl.Date:
        return col
    if isinstance(dtype, pl.Datetime):
        return col.dt.date()
    if dtype == pl.String:
        return col.str.to_date(date_format) if date_format else col.str.to_date()
    if dtype.is_integer():  # 20160104
        return col.cast(pl.String).str.to_date("%Y%m%d")
    msg = f"the date column must be a date, datetime, text or YYYYMMDD integer; it is {dtype}"
    raise SchemaError(msg)


def _canonical(lf: pl.LazyFrame, data: DataConfig, source: str) -> pl.LazyFrame:
    schema = lf.collect_schema()
    names = schema.names()
    for canonical, column in data.columns.items():  # the mapping first: it is the config
        if column not in schema:
            hint = closest(column, names) or f"columns: {', '.join(names[:20])}"
            msg = f"{source}: column {column!r} ([columns] {canonical}) is not in the data; {hint}"
            raise ConfigError(msg)
    for canonical in REQUIRED_COLUMNS:
        if canonical not in data.columns and canonical not in schema:
            hint = closest(canonical, names)
            example = (
                f'{canonical} = "{hint.split(chr(39))[1]}"' if hint else f'{canonical} = "..."'
            )
            msg = (
                f"{source}: required column {canonical!r} is not in the data; name yours in "
                f"[columns], e.g. {example}"
            )
            raise ConfigError(msg)
    selected = [
        pl.col(data.columns.get(c, c)).alias(c)
        for c in CANONICAL_COLUMNS
        if data.columns.get(c, c) in schema
    ]
    lf = lf.select(selected)
    schema = lf.collect_schema()
    casts = [_date_expr(schema["date"], data.date_format)]
    for name in schema.names():
        if name == "date":
            continue
        dtype = schema[name]
        if name in _STRINGS:
            casts.append(pl.col(name).cast(pl.String))
        elif dtype.is_numeric():
            casts.append(pl.col(name).cast(pl.Float64))
        else:
            msg = f"{source}: column {data.columns.get(name, name)!r} ({name}) must be numeric"
            raise SchemaError(msg + f"; it is {dtype}")
    return lf.with_columns(casts)


def load_panel(data: DataConfig, *, source: str) -> pl.LazyFrame:
    """Return the panel with canonical column names and types, filtered, lazily.

    The bundled S&P 500 sample when ``data.panel`` is empty, else the files (globs
    expanded; parquet and CSV by extension or ``data.format``) with the columns of
    ``data.columns`` renamed. Dates are ``Date``, ``asset``/``sector``/``industry``
    strings and the other columns ``Float64``.

    Raises
    ------
    ConfigError
        No file matches, an unknown format, a mapped column not in the files.
    ColumnNotFoundError
        An unmapped required column (date, asset, close) not in the files.
    SchemaError
        A column of the wrong type.
    """
    if data.panel:
        lf = _canonical(_scan(_files(data.panel, source), data.format, source), data, source)
    else:
        lf = datasets.load_sp500()
        lf = lf.select(c for c in lf.collect_schema().names() if c in CANONICAL_COLUMNS)
        lf = lf.with_columns(pl.col(pl.Int64).cast(pl.Float64))
    if data.start is not None:
        lf = lf.filter(pl.col("date") >= data.start)
    if data.end is not None:
        lf = lf.filter(pl.col("date") <= data.end)
    if data.assets is not None:
        lf = lf.filter(pl.col("asset").is_in(list(data.assets)))
    return lf.filter(pl.col("date").is_not_null() & pl.col("asset").is_not_null())


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
