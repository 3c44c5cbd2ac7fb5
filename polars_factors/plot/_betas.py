"""Read factor exposures out of :func:`polars_factors.betas` results and long frames."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from polars_factors import _validate
from polars_factors.exceptions import ColumnNotFoundError, DuplicateKeyError
from polars_factors.plot import _common

__all__ = ["Exposures", "beta_columns", "exposures", "select_factors"]

_SE = "_std_error"
_T = "_t_stat"


@dataclass(frozen=True)
class Exposures:
    """One asset's exposures: factor names, values and standard errors (NaN if unknown)."""

    asset: str | None
    factors: list[str]
    values: list[float]
    std_errors: list[float]


def beta_columns(columns: Sequence[str]) -> dict[str, str]:
    """Map factor names to the ``beta_<factor>`` columns of a :func:`betas` result."""
    names = set(columns)
    out: dict[str, str] = {}
    for col in columns:
        if not col.startswith("beta_"):
            continue
        derived = (col.endswith(_SE) and col[: -len(_SE)] in names) or (
            col.endswith(_T) and col[: -len(_T)] in names
        )
        if not derived:
            out[col[len("beta_") :]] = col
    return out


def select_factors(
    available: Sequence[str],
    factors: str | Sequence[str] | None,
    *,
    option: str = "factors",
    what: str = "factor",
) -> list[str]:
    """Return the series to draw: all of ``available``, or those named in ``option``."""
    if factors is None:
        return list(available)
    wanted: list[str] = _validate.as_list(factors, name=option)
    if not wanted:
        msg = f"`{option}` must name at least one {what} (or be None for all)."
        raise ValueError(msg)
    for name in wanted:
        if name not in available:
            shown = ", ".join(repr(f) for f in available)
            msg = f"{what} {name!r} is not in the frame; it holds {shown}."
            raise ColumnNotFoundError(msg)
    return wanted


def _no_betas(columns: Sequence[str]) -> ColumnNotFoundError:
    shown = ", ".join(repr(c) for c in columns[:12])
    msg = (
        "`betas` has no beta_<factor> column (the output of pf.betas) and no `factor` and "
        f"`exposure` columns (the long layout); its columns are {shown}."
    )
    return ColumnNotFoundError(msg)


def exposures(
    betas: object,
    *,
    select: str | None,
    factors: str | Sequence[str] | None,
    asset: str,
) -> Exposures:
    """One asset's exposures from a full-sample :func:`betas` frame or a long frame."""
    frame = _common.as_frame(betas, "betas")
    rows, label = _common.pick_asset(frame, select, asset)
    where = f" for asset {label!r}" if label is not None else ""
    if "factor" in frame.columns and "exposure" in frame.columns:
        _validate.check_numeric(frame.schema, ["exposure"], role="exposure column")
        _validate.check_unique(rows, "factor", what=f"the long frame{where}")
        names = rows.get_column("factor").cast(pl.String).to_list()
        chosen = select_factors(names, factors)
        table = dict(zip(names, _common.values(rows.get_column("exposure")), strict=True))
        errors = dict.fromkeys(names, math.nan)
        if "std_error" in frame.columns:
            errors = dict(zip(names, _common.values(rows.get_column("std_error")), strict=True))
        return Exposures(label, chosen, [table[f] for f in chosen], [errors[f] for f in chosen])
    cols = beta_columns(frame.columns)
    if not cols:
        raise _no_betas(frame.columns)
    chosen = select_factors(list(cols), factors)
    if rows.height != 1:
        msg = (
            f"`betas` has {rows.height} rows{where}, and the plot shows one set of "
            "exposures: pass full-sample betas (pf.betas with window=None), or one row "
            "of a rolling fit, e.g. betas.filter(pl.col('date') == day)."
        )
        raise DuplicateKeyError(msg)
    _validate.check_numeric(frame.schema, [cols[f] for f in chosen], role="beta column")
    vals = [_common.values(rows.get_column(cols[f]))[0] for f in chosen]
    errs = [
        _common.values(rows.get_column(cols[f] + _SE))[0]
        if cols[f] + _SE in frame.columns
        else math.nan
        for f in chosen
    ]
    return Exposures(label, chosen, vals, errs)
