"""Readers and validators of the parts of a risk model (:meth:`RiskModel.from_parts`).

:func:`read_parts` takes the exposures, factor covariance and specific variances as
given by the user (eager or lazy, wide or long exposures, one or many dates), selects
the model date, checks keys and values, and returns the aligned :class:`Parts` from
which :class:`~polars_factors.risk.model.RiskModel` is built. The small helpers at the
top are shared with :mod:`polars_factors.risk._analysis`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from polars_factors import _validate
from polars_factors._frame import temp_name, user_stacklevel
from polars_factors.exceptions import (
    DataLossWarning,
    InsufficientDataError,
    InvalidDataError,
)
from polars_factors.risk._input import CovarianceStack, covariance_frame, covariance_stack
from polars_factors.risk._linalg import _decompose, _matrix

if TYPE_CHECKING:
    from polars_factors.risk._linalg import FloatArray

#: Eigenvalues of ``F`` below ``-PSD_TOL * max eigenvalue`` make it not PSD.
PSD_TOL = 1e-10

_SHOWN = 5


def examples(values: Sequence[object]) -> str:
    """Show the first few values, for messages (``'a', 'b', ...``)."""
    shown = ", ".join(repr(v) for v in values[:_SHOWN])
    return shown + (", ..." if len(values) > _SHOWN else "")


def collect(frame: object, name: str) -> pl.DataFrame:
    """Collect a DataFrame or LazyFrame; refuse anything else."""
    if isinstance(frame, pl.LazyFrame):
        return frame.collect()
    if isinstance(frame, pl.DataFrame):
        return frame
    msg = f"`{name}` must be a polars DataFrame or LazyFrame; got {type(frame).__name__}."
    raise TypeError(msg)


def check_lazy(frame: object, name: str) -> pl.LazyFrame:
    """Return a DataFrame or LazyFrame as a LazyFrame; refuse anything else."""
    if isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
        return frame.lazy()
    msg = f"`{name}` must be a polars DataFrame or LazyFrame; got {type(frame).__name__}."
    raise TypeError(msg)


def missing(col: str) -> pl.Expr:
    """Null, NaN or infinite (a value the model cannot use)."""
    return ~pl.col(col).cast(pl.Float64).is_finite().fill_null(value=False)


# ---------------------------------------------------------------------------------
# Parts


@dataclass(frozen=True)
class Parts:
    """The validated, aligned fields of a :class:`~polars_factors.risk.model.RiskModel`."""

    factors: tuple[str, ...]
    exposures: pl.DataFrame
    covariance: pl.DataFrame
    specific_var: pl.DataFrame
    at: object | None
    dropped_assets: tuple[object, ...]


def read_parts(
    exposures: pl.DataFrame | pl.LazyFrame,
    covariance: pl.DataFrame | pl.LazyFrame,
    specific_var: pl.DataFrame | pl.LazyFrame,
    *,
    at: object | None,
    date: str,
    asset: str,
) -> Parts:
    """Read, check and align the three parts at one date (see ``RiskModel.from_parts``)."""
    for value, name in ((date, "date"), (asset, "asset")):
        if not isinstance(value, str):
            msg = f"`{name}` must be a column name (str); got {value!r}."
            raise TypeError(msg)
    frames = {
        "exposures": check_lazy(exposures, "exposures"),
        "covariance": check_lazy(covariance, "covariance"),
        "specific_var": check_lazy(specific_var, "specific_var"),
    }
    if at is None:
        # The covariance frame decides; then the exposures, then the specific variances.
        order = ("covariance", "exposures", "specific_var")
        at = _default_date({k: frames[k] for k in order}, date)
    at_date = {name: _at_date(lf, name, at, date) for name, lf in frames.items()}
    factors, cov = _read_covariance(at_date["covariance"], at)
    exp = _read_exposures(at_date["exposures"], factors, asset=asset)
    spec = _read_specific(at_date["specific_var"], asset=asset)
    kept, dropped = _complete_assets(exp, spec, factors, at=at, asset=asset)
    stack = CovarianceStack(None, list(factors), cov.reshape(1, len(factors), -1))
    return Parts(
        factors=tuple(factors),
        exposures=kept.select(asset, *factors),
        covariance=covariance_frame(stack),
        specific_var=kept.select(asset, "specific_var"),
        at=at,
        dropped_assets=tuple(dropped.to_list()),
    )


def _complete_assets(
    exp: pl.DataFrame, spec: pl.DataFrame, factors: list[str], *, at: object | None, asset: str
) -> tuple[pl.DataFrame, pl.Series]:
    """Join exposures and specific variances; drop (and warn about) incomplete assets."""
    joined = exp.join(spec, on=asset, how="left", maintain_order="left")
    negative = joined.filter(pl.col("specific_var") < 0).get_column(asset)
    if negative.len():
        msg = (
            f"specific variances must be >= 0; {negative.len()} assets have a negative "
            f"one (e.g. {examples(negative.to_list())}). Fix the specific risk "
            "estimates, e.g. clip them at 0."
        )
        raise InvalidDataError(msg)
    incomplete = pl.any_horizontal(missing(c) for c in [*factors, "specific_var"])
    dropped = joined.filter(incomplete).get_column(asset).sort()
    kept = joined.filter(~incomplete).sort(asset)
    if dropped.len():
        warnings.warn(
            f"{dropped.len()} of {joined.height} assets were left out of the risk model "
            f"for incomplete data (a null, NaN or infinite exposure or specific variance, "
            f"or no specific variance): {examples(dropped.to_list())}.",
            DataLossWarning,
            stacklevel=user_stacklevel(),
        )
    if kept.height == 0:
        where = "" if at is None else f" on {at!r}"
        msg = (
            f"no asset has complete exposures and specific variance{where} "
            f"({joined.height} assets in the exposures); the risk model needs at least one."
        )
        raise InsufficientDataError(msg)
    return kept, dropped


# ---------------------------------------------------------------------------------
# Readers


def _default_date(frames: dict[str, pl.LazyFrame], date: str) -> object | None:
    for name, lf in frames.items():
        if date not in lf.collect_schema():
            continue
        latest: object | None = lf.select(pl.col(date).max()).collect().item()
        if latest is None:
            msg = f"the {name} frame has no {date!r} values; pass at= explicitly."
            raise InsufficientDataError(msg)
        return latest
    return None


def _at_date(lf: pl.LazyFrame, name: str, at: object | None, date: str) -> pl.DataFrame:
    """Collect the frame's rows at ``at`` (all rows when it has no date column)."""
    if at is None or date not in lf.collect_schema():
        return lf.collect()
    out = lf.filter(pl.col(date) == pl.lit(at)).drop(date).collect()
    if out.height == 0:
        span = lf.select(
            pl.col(date).min().alias("first"), pl.col(date).max().alias("last")
        ).collect()
        first, last = span.row(0)
        msg = (
            f"the {name} frame has no rows for {date} {at!r} (its dates run from "
            f"{first!r} to {last!r}); pass at= a date that all the frames have."
        )
        raise InsufficientDataError(msg)
    return out


def _read_covariance(df: pl.DataFrame, at: object | None) -> tuple[list[str], FloatArray]:
    schema = df.schema
    _validate.check_columns_exist(
        schema, ["factor_1", "factor_2", "covariance"], role="covariance column"
    )
    _validate.check_numeric(schema, ["covariance"], role="covariance column")
    where = "" if at is None else f" on {at!r}"
    values = df.get_column("covariance").cast(pl.Float64)
    n_null = int(values.is_null().sum()) + int(values.is_nan().sum())
    if n_null:
        msg = (
            f"the factor covariance{where} has {n_null} null or NaN entries out of "
            f"{df.height}: its history is too short (or incomplete) to estimate it. Use a "
            "later date, or a shorter half-life / min_periods when estimating the covariance."
        )
        raise InsufficientDataError(msg)
    stack = covariance_stack(df.select("factor_1", "factor_2", "covariance"))
    cov = stack.values[0]
    low, high = _decompose.eigenvalue_range(cov)
    if low < -PSD_TOL * max(abs(high), abs(low)):
        msg = (
            f"the factor covariance{where} is not positive semi-definite: its smallest "
            f"eigenvalue is {low:.3g} (largest {high:.3g}). "
            "Estimate it with one consistent sample for all factors, or project it onto the "
            "PSD cone (clip negative eigenvalues at 0)."
        )
        raise InvalidDataError(msg)
    return stack.factors, _matrix.symmetrize(cov)


def _check_keys(df: pl.DataFrame, keys: list[str], name: str) -> None:
    nulls = df.select(pl.col(keys).null_count()).row(0)
    if any(nulls):
        msg = f"the {name} frame has rows with a null {keys[0]!r}; drop them."
        raise InvalidDataError(msg)
    _validate.check_unique(
        df, keys, what=f"the {name} frame", fix="Deduplicate it, or filter one date."
    )


def _read_exposures(df: pl.DataFrame, factors: list[str], *, asset: str) -> pl.DataFrame:
    schema = df.schema
    _validate.check_columns_exist(schema, [asset], role="exposures asset column")
    wide = all(f in schema for f in factors)
    if not wide and "factor" in schema and "exposure" in schema:
        _validate.check_numeric(schema, ["exposure"], role="exposures column")
        long = df.select(
            asset, pl.col("factor").cast(pl.String), pl.col("exposure").cast(pl.Float64)
        )
        _check_keys(long, [asset, "factor"], "exposures")
        return _long_exposures(long, factors, asset=asset)
    _validate.check_columns_exist(schema, factors, role="factor column")
    _validate.check_numeric(schema, factors, role="factor column")
    out = df.select(asset, *(pl.col(f).cast(pl.Float64) for f in factors))
    _check_keys(out, [asset], "exposures")
    return out


def _long_exposures(long: pl.DataFrame, factors: list[str], *, asset: str) -> pl.DataFrame:
    """Long exposures to wide: absent ``(asset, factor)`` rows are 0, explicit nulls stay.

    A factor of the covariance without any row is refused: it would be an exposure of
    0 for every asset (e.g. a country factor that a vendor file leaves implicit), and
    its risk would be left out.
    """
    listed = set(long.get_column("factor").unique().to_list())
    absent = [f for f in factors if f not in listed]
    if absent:
        msg = (
            f"the long exposures have no row for the factors {examples(absent)} of the "
            "covariance: every asset would get an exposure of 0 to them and their risk "
            "would be left out. Add their rows (an implicit country or market factor is "
            "an exposure of 1 for every asset; an industry without members needs at least "
            "one row with exposure 0), or drop them from the covariance."
        )
        raise InvalidDataError(msg)
    assets = long.select(asset).unique(maintain_order=True)
    grid = assets.join(pl.DataFrame({"factor": factors}), how="cross")
    present = temp_name(set(long.columns), "present")
    marked = grid.join(
        long.with_columns(pl.lit(value=True).alias(present)),
        on=[asset, "factor"],
        how="left",
        maintain_order="left",
    ).with_columns(
        pl.when(pl.col(present)).then(pl.col("exposure")).otherwise(0.0).alias("exposure")
    )
    return marked.pivot(on="factor", index=asset, values="exposure", on_columns=factors).select(
        asset, *factors
    )


def _read_specific(df: pl.DataFrame, *, asset: str) -> pl.DataFrame:
    schema = df.schema
    _validate.check_columns_exist(schema, [asset], role="specific_var asset column")
    _validate.check_columns_exist(schema, ["specific_var"], role="specific variance column")
    _validate.check_numeric(schema, ["specific_var"], role="specific variance column")
    out = df.select(asset, pl.col("specific_var").cast(pl.Float64))
    _check_keys(out, [asset], "specific_var")
    return out
