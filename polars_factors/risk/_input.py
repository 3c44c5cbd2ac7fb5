"""Frames in, arrays out and back: the layouts shared by the risk functions.

Factor returns come long (``date, factor, factor_return``, as from
:func:`~polars_factors.cross_section`) or wide (``date`` plus a column per factor) and
become a ``T x K`` array; covariance frames (``date, factor_1, factor_2, covariance``,
``K * K`` rows per date) become a ``D x K x K`` stack and back. Factors keep the order
in which they first appear (model order: styles, country, industries), never sorted by
name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from polars_factors import _validate
from polars_factors._frame import temp_name
from polars_factors._units import check_units
from polars_factors.exceptions import (
    InsufficientDataError,
    InvalidDataError,
    SchemaError,
)
from polars_factors.risk._linalg import _matrix

if TYPE_CHECKING:
    from polars_factors.risk._linalg import FloatArray
    from polars_factors.typing import EngineType

__all__ = [
    "COVARIANCE_COLUMNS",
    "CovarianceStack",
    "FactorPanel",
    "covariance_frame",
    "covariance_stack",
    "factor_panel",
    "is_covariance_frame",
]

COVARIANCE_COLUMNS = ("factor_1", "factor_2", "covariance")

#: Relative asymmetry ``max|A - A'| / max|A|`` above which a covariance is refused.
SYMMETRY_TOL = 1e-10


@dataclass(frozen=True)
class FactorPanel:
    """Factor returns as a ``T x K`` array with their dates and names (NaN: missing)."""

    dates: pl.Series
    factors: list[str]
    values: FloatArray
    complete: bool


@dataclass(frozen=True)
class CovarianceStack:
    """Covariance matrices as a ``D x K x K`` array (NaN marks a null matrix)."""

    dates: pl.Series | None
    factors: list[str]
    values: FloatArray


def is_covariance_frame(schema: pl.Schema) -> bool:
    """Whether a frame has the covariance layout's columns."""
    return all(c in schema for c in COVARIANCE_COLUMNS)


def factor_panel(
    factor_returns: pl.DataFrame | pl.LazyFrame,
    *,
    date: str = "date",
    factor: str = "factor",
    value: str = "factor_return",
    engine: EngineType = "auto",
) -> FactorPanel:
    """Read factor returns (long or wide) into a ``T x K`` array, NaN where missing.

    Long when the frame has the ``factor`` and ``value`` columns, wide otherwise (every
    column but ``date`` is a factor). The rows are put in date order here (a small
    table); each date (wide) or ``(date, factor)`` (long) must appear once. A null or
    NaN return, or a ``(date, factor)`` row absent from a long frame, is missing; an
    infinite one is an error.
    """
    schema = factor_returns.collect_schema()
    _validate.check_columns_exist(schema, [date], role="date column")
    long = factor in schema and value in schema
    if long:
        _validate.check_numeric(schema, [value])
        df = factor_returns.lazy().select(date, factor, value).collect(engine=engine)
        wide = _long_to_wide(df, date=date, factor=factor, value=value)
    else:
        names = [c for c in schema.names() if c != date]
        if not names:
            msg = (
                f"factor returns need a long layout ({date!r}, {factor!r}, {value!r}) or a "
                f"wide one ({date!r} plus one column per factor); found only {date!r}"
            )
            raise SchemaError(msg)
        _validate.check_numeric(schema, names)
        wide = factor_returns.lazy().collect(engine=engine)
        _check_dates(wide, date=date)
        wide = wide.sort(date, maintain_order=True)  # one row per date: cheap to sort
    names = [c for c in wide.columns if c != date]
    _check_not_infinite(wide, names, date=date)
    _validate.check_magnitude(wide, names, function="factor_covariance")
    # Long: all factors' returns pooled in one column (one fix); wide: each column.
    check_units(df if long else wide, [value] if long else names, function="factor_covariance")
    if wide.height == 0:
        msg = "the factor returns are empty"
        raise InsufficientDataError(msg)
    floats = wide.select(pl.col(names).cast(pl.Float64).fill_nan(None))
    complete = not any(floats.null_count().row(0))
    values = floats.select(pl.all().fill_null(float("nan"))).to_numpy()
    return FactorPanel(wide.get_column(date), names, values, complete)


def _long_to_wide(df: pl.DataFrame, *, date: str, factor: str, value: str) -> pl.DataFrame:
    if df.get_column(date).null_count() or df.get_column(factor).null_count():
        msg = f"the factor returns have null {date!r} or {factor!r} values; drop those rows"
        raise InvalidDataError(msg)
    _validate.check_unique(df, [date, factor], what="the factor returns frame")
    if not df.get_column(date).is_sorted():
        # A T x K table costs nothing to sort (e.g. the factor-major frame that `unpivot`
        # of a wide table gives); stable, so each date keeps its factors' order.
        df = df.sort(date, maintain_order=True)
    factors = df.get_column(factor).cast(pl.String).unique(maintain_order=True).to_list()
    # A (date, factor) row that is absent becomes a null: a missing return.
    return (
        df.with_columns(pl.col(factor).cast(pl.String))
        .pivot(on=factor, index=date, values=value, on_columns=factors)
        .select(date, *factors)
    )


def _check_dates(wide: pl.DataFrame, *, date: str) -> None:
    if wide.get_column(date).null_count():
        msg = f"the factor returns have null {date!r} values; drop those rows"
        raise InvalidDataError(msg)
    _validate.check_unique(wide, date, what="the factor returns frame")


def _check_not_infinite(wide: pl.DataFrame, names: list[str], *, date: str) -> None:
    bad = wide.select([pl.col(n).cast(pl.Float64).is_infinite().sum() for n in names]).row(0)
    infinite = {n: b for n, b in zip(names, bad, strict=True) if b}
    if infinite:
        name = next(iter(infinite))
        first = wide.filter(pl.col(name).cast(pl.Float64).is_infinite()).item(0, date)
        msg = (
            f"factor returns must be finite or missing (null or NaN); {sum(infinite.values())} "
            f"values are infinite (factors {list(infinite)[:5]}; first: {name!r} on {first}). "
            "Replace them with null if they are missing"
        )
        raise InvalidDataError(msg)


def covariance_stack(
    cov: pl.DataFrame | pl.LazyFrame, *, date: str = "date", engine: EngineType = "auto"
) -> CovarianceStack:
    """Read a covariance frame into a ``D x K x K`` stack (validated)."""
    schema = cov.collect_schema()
    _validate.check_columns_exist(schema, COVARIANCE_COLUMNS, role="covariance column")
    _validate.check_numeric(schema, ["covariance"])
    has_date = date in schema
    keys = [date] if has_date else []
    df = cov.lazy().select(*keys, *COVARIANCE_COLUMNS).collect(engine=engine)
    if has_date:
        df = df.sort(date, maintain_order=True)
    if df.height == 0:
        msg = "the covariance frame is empty"
        raise InsufficientDataError(msg)
    factors = (
        pl.concat([df.get_column("factor_1"), df.get_column("factor_2")])
        .cast(pl.String)
        .unique(maintain_order=True)
        .to_list()
    )
    k = len(factors)
    taken = set(df.columns)
    i1, i2, pos_n = (temp_name(taken, h) for h in ("i1", "i2", "pos"))
    dates = df.get_column(date).unique(maintain_order=True) if has_date else None
    n_dates = 1 if dates is None else dates.len()
    df = df.with_columns(pl.col("factor_1", "factor_2").cast(pl.String))
    for col, idx in (("factor_1", i1), ("factor_2", i2)):
        index = pl.DataFrame({col: factors}).with_row_index(idx)
        df = df.join(index, on=col, how="left", maintain_order="left")
    d_idx = pl.col(date).rank("dense").cast(pl.Int64) - 1 if has_date else pl.lit(0, pl.Int64)
    pos = d_idx * (k * k) + pl.col(i1).cast(pl.Int64) * k + pl.col(i2).cast(pl.Int64)
    df = df.with_columns(pos.alias(pos_n))
    if df.height != n_dates * k * k or df.get_column(pos_n).n_unique() != df.height:
        msg = (
            f"a covariance frame needs each ({'date, ' if has_date else ''}factor_1, factor_2) "
            f"pair exactly once: {n_dates} dates x {k} x {k} factors = {n_dates * k * k} rows, "
            f"found {df.height} rows with {df.get_column(pos_n).n_unique()} distinct pairs"
        )
        raise InvalidDataError(msg)
    values = (
        df.sort(pos_n).get_column("covariance").cast(pl.Float64).fill_null(float("nan")).to_numpy()
    ).reshape(n_dates, k, k)
    _check_stack(values, dates, factors)
    return CovarianceStack(dates, factors, values)


def _check_stack(values: FloatArray, dates: pl.Series | None, factors: list[str]) -> None:
    partial, asymmetry = _matrix.check_stack(values)
    where = "" if dates is None else " on {}"
    if partial.any():
        first = int(partial.argmax())
        msg = (
            "a covariance matrix must be complete or entirely null (a date with too short a "
            f"history); one has null or non-finite entries among finite ones"
            f"{where.format(repr(dates[first])) if dates is not None else ''}. "
            "factor_covariance gives null rows for a factor with fewer than min_periods "
            "returns (and null entries for a pair with fewer common dates): use later "
            "dates, or drop the factor"
        )
        raise InvalidDataError(msg)
    if (asymmetry > SYMMETRY_TOL).any():
        first = int(asymmetry.argmax())
        msg = (
            f"covariance matrices must be symmetric; the relative asymmetry "
            f"{float(asymmetry[first]):.3g} exceeds {SYMMETRY_TOL:g}"
            f"{where.format(repr(dates[first])) if dates is not None else ''} (factors "
            f"{factors[:5]}...)"
        )
        raise InvalidDataError(msg)


def covariance_frame(stack: CovarianceStack, *, date: str = "date") -> pl.DataFrame:
    """Lay a ``D x K x K`` stack out as a covariance frame (NaN becomes null)."""
    k = len(stack.factors)
    n_dates = stack.values.shape[0]
    names = pl.Series("name", stack.factors, dtype=pl.String)
    pair = pl.int_range(k * k, dtype=pl.Int64, eager=True)
    # One date's K * K (factor_1, factor_2) pairs, tiled over the dates.
    pairs = pl.DataFrame({"factor_1": names.gather(pair // k), "factor_2": names.gather(pair % k)})
    frame = pl.concat([pairs] * n_dates, rechunk=True) if n_dates else pairs.clear()
    if stack.dates is not None:
        repeated = (
            stack.dates.alias(date).to_frame().select(pl.col(date).repeat_by(k * k).explode())
        )
        frame = pl.concat([repeated, frame], how="horizontal")
    values = pl.Series("covariance", stack.values.reshape(-1), dtype=pl.Float64)
    return frame.with_columns(values.fill_nan(None))
