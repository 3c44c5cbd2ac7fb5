r"""The analyses of a :class:`~polars_factors.risk.model.RiskModel` and their results.

The methods :meth:`RiskModel.asset_risk <polars_factors.risk.model.RiskModel.asset_risk>`,
``portfolio_risk``, ``hedge`` and ``realized_vs_implied`` delegate to the functions of
this module, which take a :class:`ModelArrays` as their first argument: the arrays and
names of the model, which :class:`~polars_factors.risk.model.RiskModel` builds once and
which is all this module reads of it. The weights and instruments are parsed and aligned
with the model's assets here too. The arithmetic runs in
:mod:`polars_factors.risk._linalg._decompose`.
"""

from __future__ import annotations

import difflib
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from polars_factors import _validate
from polars_factors._frame import user_stacklevel
from polars_factors.exceptions import (
    DataLossWarning,
    DuplicateKeyError,
    InsufficientDataError,
    InvalidDataError,
    SchemaError,
    SingularMatrixError,
    UnknownAssetError,
)
from polars_factors.risk import _parts
from polars_factors.risk._linalg import _decompose

if TYPE_CHECKING:
    from polars_factors.regression._solve._types import FloatArray
    from polars_factors.risk.model import Weights

__all__ = [
    "HedgeResult",
    "ModelArrays",
    "PortfolioRiskResult",
    "asset_risk",
    "hedge",
    "portfolio_risk",
    "realized_vs_implied",
]


def _safe_div(num: pl.Expr, denom: float) -> pl.Expr:
    return num / denom if denom > 0 else pl.lit(None, dtype=pl.Float64)


# ---------------------------------------------------------------------------------
# The model's arrays


@dataclass(frozen=True, eq=False)
class ModelArrays:
    """What the analyses read of a :class:`~polars_factors.risk.model.RiskModel`.

    The model builds it once (on first use) from its frames; the functions of this
    module take it instead of the model, so they depend on no attribute of
    :class:`~polars_factors.risk.model.RiskModel`.

    Attributes
    ----------
    x
        The exposures ``X``, ``N x K``, assets in model order, factors in factor order.
    cov
        The factor covariance ``F``, ``K x K`` (symmetrized).
    spec
        The specific variances ``S``, ``N``.
    assets
        The model's assets in model order: its asset column, named after it.
    factors
        The factor names, in factor order.
    at
        The model date (a day), when known.
    dropped_assets
        The assets left out of the model for incomplete data (named in errors).
    """

    x: FloatArray
    cov: FloatArray
    spec: FloatArray
    assets: pl.Series
    factors: tuple[str, ...]
    at: object | None = None
    dropped_assets: tuple[object, ...] = ()

    @property
    def asset(self) -> str:
        """The name of the asset column."""
        return self.assets.name


# ---------------------------------------------------------------------------------
# Result classes


@dataclass(frozen=True, eq=False)
class PortfolioRiskResult:
    r"""Risk decomposition of one portfolio (:meth:`RiskModel.portfolio_risk`).

    Attributes
    ----------
    totals
        One row: ``total_var`` (:math:`w^\top \Sigma w`), ``factor_var``
        (:math:`x^\top F x` with :math:`x = X^\top w`), ``specific_var``
        (:math:`\sum_n w_n^2 S_n`), ``total_vol`` (:math:`\sqrt{\text{total\_var}}`) and
        ``r2`` (``factor_var / total_var``; null when ``total_var`` is 0).
    factors
        One row per factor, in factor order: ``factor``, ``exposure`` (:math:`x_k`),
        ``marginal`` (:math:`(F x)_k / \sigma`, the derivative of the volatility with
        respect to :math:`x_k`), ``contribution`` (:math:`x_k (F x)_k`; they add up to
        ``factor_var``) and ``percent`` (``contribution / total_var``, a fraction).
    assets
        One row per asset of the model, in model order (sorted by asset): the asset
        column, ``weight`` (0 for assets not in the weights), ``marginal``
        (:math:`(\Sigma w)_n / \sigma`), ``contribution`` (:math:`w_n (\Sigma w)_n`;
        they add up to ``total_var``) and ``percent`` (``contribution / total_var``).

    ``marginal`` and ``percent`` are null for a portfolio with zero variance.
    :meth:`summary` returns :attr:`totals`.
    """

    totals: pl.DataFrame
    factors: pl.DataFrame
    assets: pl.DataFrame

    def summary(self) -> pl.DataFrame:
        """Return the one-row totals ``total_var, factor_var, specific_var, total_vol, r2``."""
        return self.totals


@dataclass(frozen=True, eq=False)
class HedgeResult:
    r"""A portfolio hedged against some factors (:meth:`RiskModel.hedge`).

    Attributes
    ----------
    exposures
        One row per factor of the model, in factor order: ``factor``, ``hedged``
        (Boolean: whether it was neutralized), ``before`` and ``after`` (the
        portfolio's exposure :math:`X^\top w` before and after the hedge).
    positions
        ``instrument, position``: the amount :math:`h_j` held in each instrument.
    weights
        One row per asset of the model, in model order: the asset column, ``weight``
        (the original weights, 0 where not given) and ``hedged_weight``
        (:math:`w + H h`).
    instruments
        The instruments :math:`H` as used: the asset column plus one column of
        weights per instrument, over the model's assets (the factor-mimicking
        portfolios by default, named after their factors).
    risk
        One row: ``total_vol_before`` and ``total_vol_after``.
    """

    exposures: pl.DataFrame
    positions: pl.DataFrame
    weights: pl.DataFrame
    instruments: pl.DataFrame
    risk: pl.DataFrame


# ---------------------------------------------------------------------------------
# Analyses


def asset_risk(arrays: ModelArrays) -> pl.DataFrame:
    """Total, factor and specific variance of every asset (:meth:`RiskModel.asset_risk`)."""
    factor_var = _decompose.asset_variances(arrays.x, arrays.cov)
    total = pl.col("factor_var") + pl.col("specific_var")
    return (
        pl.DataFrame(
            {
                arrays.asset: arrays.assets,
                "factor_var": pl.Series(factor_var, dtype=pl.Float64),
                "specific_var": pl.Series(arrays.spec, dtype=pl.Float64),
            }
        )
        .with_columns(total.alias("total_var"))
        .with_columns(
            pl.when(pl.col("total_var") > 0)
            .then(pl.col("factor_var") / pl.col("total_var"))
            .alias("r2")
        )
        .select(arrays.asset, "total_var", "factor_var", "specific_var", "r2")
    )


def portfolio_risk(arrays: ModelArrays, weights: Weights) -> PortfolioRiskResult:
    """Decompose a portfolio's variance (:meth:`RiskModel.portfolio_risk`)."""
    w = _weight_vector(arrays, weights, role="weights")
    dec = _decompose.portfolio_decomposition(arrays.x, arrays.cov, arrays.spec, w)
    total = dec.factor_var + dec.specific_var
    vol = math.sqrt(max(total, 0.0))
    summary = pl.DataFrame(
        {
            "total_var": [total],
            "factor_var": [dec.factor_var],
            "specific_var": [dec.specific_var],
            "total_vol": [vol],
            "r2": [dec.factor_var / total if total > 0 else None],
        },
        schema=dict.fromkeys(
            ["total_var", "factor_var", "specific_var", "total_vol", "r2"], pl.Float64
        ),
    )
    factors = pl.DataFrame(
        {
            "factor": pl.Series(arrays.factors, dtype=pl.String),
            "exposure": pl.Series(dec.exposures, dtype=pl.Float64),
            "_fx": pl.Series(dec.factor_times, dtype=pl.Float64),
        }
    ).select(
        "factor",
        "exposure",
        _safe_div(pl.col("_fx"), vol).alias("marginal"),
        (pl.col("exposure") * pl.col("_fx")).alias("contribution"),
        _safe_div(pl.col("exposure") * pl.col("_fx"), total).alias("percent"),
    )
    assets = pl.DataFrame(
        {
            arrays.asset: arrays.assets,
            "weight": pl.Series(w, dtype=pl.Float64),
            "_sw": pl.Series(dec.sigma_w, dtype=pl.Float64),
        }
    ).select(
        arrays.asset,
        "weight",
        _safe_div(pl.col("_sw"), vol).alias("marginal"),
        (pl.col("weight") * pl.col("_sw")).alias("contribution"),
        _safe_div(pl.col("weight") * pl.col("_sw"), total).alias("percent"),
    )
    return PortfolioRiskResult(totals=summary, factors=factors, assets=assets)


def hedge(
    arrays: ModelArrays,
    weights: Weights,
    *,
    factors: str | Sequence[str] | None = None,
    instruments: pl.DataFrame | pl.LazyFrame | None = None,
) -> HedgeResult:
    """Neutralize a portfolio's exposure to some factors (:meth:`RiskModel.hedge`)."""
    w = _weight_vector(arrays, weights, role="weights")
    hedged = _hedged_factors(arrays, factors)
    cols = [arrays.factors.index(f) for f in hedged]
    x_h = arrays.x[:, cols]
    if instruments is None:
        inst = _decompose.mimicking_portfolios(x_h, arrays.spec)
        if inst is None:
            raise SingularMatrixError(_collinear_message(arrays, x_h, hedged))
        names = list(hedged)
    else:
        inst, names = _instrument_matrix(arrays, instruments)
    sol = _decompose.hedge_positions(x_h, inst, w)
    if sol is None:
        msg = (
            f"the {len(names)} instruments cannot neutralize the {len(hedged)} hedged "
            f"factors {_parts.examples(hedged)}: their exposures to them (X_H' H, "
            f"{len(hedged)} x {len(names)}) do not have full row rank. Give at least "
            "one instrument per hedged factor, with independent exposures, or hedge "
            "fewer factors."
        )
        raise SingularMatrixError(msg)
    return _hedge_result(arrays, w, hedged, inst=inst, names=names, sol=sol)


def _hedge_result(
    arrays: ModelArrays,
    w: FloatArray,
    hedged: list[str],
    *,
    inst: FloatArray,
    names: list[str],
    sol: _decompose.HedgeSolution,
) -> HedgeResult:
    """Build the frames of a :class:`HedgeResult` from the solved positions."""
    dec_before = _decompose.portfolio_decomposition(arrays.x, arrays.cov, arrays.spec, w)
    dec_after = _decompose.portfolio_decomposition(arrays.x, arrays.cov, arrays.spec, sol.hedged)
    exposures = pl.DataFrame(
        {
            "factor": pl.Series(arrays.factors, dtype=pl.String),
            "hedged": pl.Series([f in hedged for f in arrays.factors], dtype=pl.Boolean),
            "before": pl.Series(dec_before.exposures, dtype=pl.Float64),
            "after": pl.Series(dec_after.exposures, dtype=pl.Float64),
        }
    )
    positions = pl.DataFrame(
        {
            "instrument": pl.Series(names, dtype=pl.String),
            "position": pl.Series(sol.positions, dtype=pl.Float64),
        }
    )
    hedged_weights = pl.DataFrame(
        {
            arrays.asset: arrays.assets,
            "weight": pl.Series(w, dtype=pl.Float64),
            "hedged_weight": pl.Series(sol.hedged, dtype=pl.Float64),
        }
    )
    inst_frame = pl.DataFrame(
        [arrays.assets]
        + [pl.Series(name, inst[:, j], dtype=pl.Float64) for j, name in enumerate(names)]
    )
    risk = pl.DataFrame(
        {
            "total_vol_before": [
                math.sqrt(max(dec_before.factor_var + dec_before.specific_var, 0.0))
            ],
            "total_vol_after": [math.sqrt(max(dec_after.factor_var + dec_after.specific_var, 0.0))],
        },
        schema={"total_vol_before": pl.Float64, "total_vol_after": pl.Float64},
    )
    return HedgeResult(
        exposures=exposures,
        positions=positions,
        weights=hedged_weights,
        instruments=inst_frame,
        risk=risk,
    )


def realized_vs_implied(
    arrays: ModelArrays,
    weights: Weights,
    returns: pl.DataFrame | pl.LazyFrame,
    *,
    window: int,
    column: str = "ret",
    date: str = "date",
) -> pl.DataFrame:
    """Model against realized volatility of a portfolio (:meth:`RiskModel.realized_vs_implied`)."""
    if isinstance(window, bool) or not isinstance(window, int) or window < 2:
        msg = f"`window` must be an integer >= 2 (dates); got {window!r}."
        raise ValueError(msg)
    lf = _parts.check_lazy(returns, "returns")
    schema = lf.collect_schema()
    _validate.check_columns_exist(schema, [date], role="date column")
    _validate.check_columns_exist(schema, [arrays.asset], role="asset column")
    _validate.check_columns_exist(schema, [column], role="return column")
    _validate.check_numeric(schema, [column], role="return column")
    w = _weight_vector(arrays, weights, role="weights")
    dec = _decompose.portfolio_decomposition(arrays.x, arrays.cov, arrays.spec, w)
    implied = math.sqrt(max(dec.factor_var + dec.specific_var, 0.0))
    held = pl.DataFrame({arrays.asset: arrays.assets, "_w": pl.Series(w, dtype=pl.Float64)}).filter(
        pl.col("_w") != 0
    )
    table = _per_date_returns(arrays, lf, held, window=window, column=column, date=date)
    usable = pl.col("_ok") == held.height
    left_out = table.filter(~usable).get_column(date)
    if left_out.len():
        warnings.warn(
            f"{left_out.len()} of {table.height} dates were left out of the realized "
            f"volatility because a held asset has a null, NaN or infinite (or no) "
            f"return on them: {_parts.examples(left_out.to_list())}.",
            DataLossWarning,
            stacklevel=user_stacklevel(),
        )
    port = table.filter(usable).get_column("_ret")
    if port.len() < 2:
        msg = (
            f"the realized volatility needs at least 2 dates with returns for every held "
            f"asset; found {port.len()} among the {table.height} dates after the model "
            f"date {arrays.at!r} (window={window})."
        )
        raise InsufficientDataError(msg)
    realized = port.std(ddof=1)
    return pl.DataFrame(
        [
            pl.Series(date, [arrays.at], dtype=schema[date]),
            pl.Series("window", [window], dtype=pl.Int64),
            pl.Series("n_obs", [port.len()], dtype=pl.UInt32),
            pl.Series("implied_vol", [implied], dtype=pl.Float64),
            pl.Series("realized_vol", [realized], dtype=pl.Float64),
        ]
    ).with_columns(_safe_div(pl.col("realized_vol"), implied).alias("ratio"))


def _per_date_returns(
    arrays: ModelArrays,
    lf: pl.LazyFrame,
    held: pl.DataFrame,
    *,
    window: int,
    column: str,
    date: str,
) -> pl.DataFrame:
    """Per date of the window: ``_ret`` (portfolio return) and ``_ok`` (held assets with one)."""
    base = lf.select(
        pl.col(date),
        pl.col(arrays.asset).cast(arrays.assets.dtype),
        pl.col(column).cast(pl.Float64).alias("_r"),
    ).filter(pl.col(date).is_not_null())
    if arrays.at is not None:
        base = base.filter(pl.col(date) > pl.lit(arrays.at))
    dates_lf = base.select(date).unique().sort(date).head(window)
    rows_lf = base.join(dates_lf, on=date, how="semi").join(
        held.lazy(), on=arrays.asset, how="inner"
    )
    dates, rows = pl.collect_all([dates_lf, rows_lf])
    dup = rows.filter(pl.struct(date, arrays.asset).is_duplicated())
    if dup.height:
        first = dup.row(0, named=True)
        msg = (
            f"the returns have {dup.height} rows for repeated ({date!r}, "
            f"{arrays.asset!r}) keys, e.g. ({first[date]!r}, {first[arrays.asset]!r});"
            " keep one row per date and asset."
        )
        raise DuplicateKeyError(msg)
    per_date = rows.group_by(date).agg(
        (pl.col("_w") * pl.col("_r")).sum().alias("_ret"),
        pl.col("_r").is_finite().fill_null(value=False).sum().alias("_ok"),
    )
    return (
        dates.join(per_date, on=date, how="left", maintain_order="left")
        .with_columns(pl.col("_ok").fill_null(0), pl.col("_ret").fill_null(0.0))
        .sort(date)
    )


# ---------------------------------------------------------------------------------
# Weights and instruments


def _unknown_message(arrays: ModelArrays, unknown: pl.Series, role: str) -> str:
    names = unknown.to_list()
    dropped = [a for a in names if a in set(arrays.dropped_assets)]
    why = (
        f" {len(dropped)} of them ({_parts.examples(dropped)}) were left out of the model for "
        "incomplete data (null, NaN or infinite exposures or specific variance)."
        if dropped
        else ""
    )
    return (
        f"{role} name {len(names)} assets the risk model does not cover: "
        f"{_parts.examples(names)}.{why} The model covers {arrays.assets.len()} assets; remove "
        f"the others, e.g. frame.filter(pl.col({arrays.asset!r}).is_in(model.exposures"
        f"[{arrays.asset!r}]))."
    )


def _keyed_frame(arrays: ModelArrays, frame: pl.DataFrame, role: str) -> pl.DataFrame:
    """Cast the asset column to the model's dtype; refuse null and repeated assets."""
    try:
        frame = frame.with_columns(pl.col(arrays.asset).cast(arrays.assets.dtype))
    except pl.exceptions.PolarsError as err:
        msg = (
            f"the {role}' asset column {arrays.asset!r} ({frame.schema[arrays.asset]}) cannot "
            f"be matched with the model's assets ({arrays.assets.dtype}): {err}"
        )
        raise SchemaError(msg) from err
    keys = frame.get_column(arrays.asset)
    if keys.null_count():
        msg = f"the {role} have {keys.null_count()} rows with a null asset; drop them."
        raise InvalidDataError(msg)
    dup = keys.filter(keys.is_duplicated()).unique(maintain_order=True)
    if dup.len():
        msg = (
            f"the {role} list {dup.len()} assets more than once: "
            f"{_parts.examples(dup.to_list())}; give each asset once."
        )
        raise DuplicateKeyError(msg)
    unknown = frame.join(arrays.assets.to_frame(), on=arrays.asset, how="anti")
    if unknown.height:
        raise UnknownAssetError(_unknown_message(arrays, unknown.get_column(arrays.asset), role))
    return frame


def _aligned(arrays: ModelArrays, frame: pl.DataFrame, columns: list[str], role: str) -> FloatArray:
    """Values of ``columns`` over the model's assets (0 where the asset is absent)."""
    bad = [c for c in columns if frame.select(_parts.missing(c).any()).item()]
    if bad:
        msg = (
            f"the {role} have null, NaN or infinite values (in {_parts.examples(bad)}); give a "
            f"finite value for every listed asset (or leave the asset out for 0), e.g. "
            f"pl.col({bad[0]!r}).fill_null(0.0)."
        )
        raise InvalidDataError(msg)
    aligned = (
        arrays.assets.to_frame()
        .join(frame, on=arrays.asset, how="left", maintain_order="left")
        .select(pl.col(columns).cast(pl.Float64).fill_null(0.0))
    )
    return aligned.to_numpy().reshape(-1, len(columns))


def _weight_vector(arrays: ModelArrays, weights: Weights, *, role: str) -> FloatArray:
    if isinstance(weights, (pl.DataFrame, pl.LazyFrame)):
        schema = weights.collect_schema()
        _validate.check_columns_exist(schema, [arrays.asset], role="weights asset column")
        _validate.check_columns_exist(schema, ["weight"], role="weights column")
        _validate.check_numeric(schema, ["weight"], role="weights column")
        frame = _parts.collect(weights.lazy().select(arrays.asset, "weight"), role)
    elif isinstance(weights, Mapping):
        frame = pl.DataFrame(
            {
                arrays.asset: pl.Series(list(weights.keys())),
                "weight": pl.Series(list(weights.values()), dtype=pl.Float64),
            }
        )
    else:
        msg = (
            "`weights` must be a frame with the asset column and 'weight', or a mapping "
            f"{{asset: weight}}; got {type(weights).__name__}."
        )
        raise TypeError(msg)
    frame = _keyed_frame(arrays, frame, role)
    return _aligned(arrays, frame, ["weight"], role)[:, 0]


def _instrument_matrix(
    arrays: ModelArrays, instruments: pl.DataFrame | pl.LazyFrame
) -> tuple[FloatArray, list[str]]:
    if not isinstance(instruments, (pl.DataFrame, pl.LazyFrame)):
        msg = (
            "`instruments` must be a frame with the asset column and one column of "
            f"weights per instrument; got {type(instruments).__name__}."
        )
        raise TypeError(msg)
    schema = instruments.collect_schema()
    _validate.check_columns_exist(schema, [arrays.asset], role="instruments asset column")
    names = [c for c in schema.names() if c != arrays.asset]
    if not names:
        msg = (
            f"`instruments` has only the asset column {arrays.asset!r}; add one column of "
            "portfolio weights per instrument."
        )
        raise ValueError(msg)
    _validate.check_numeric(schema, names, role="instrument column")
    frame = _keyed_frame(arrays, _parts.collect(instruments, "instruments"), "instruments")
    return _aligned(arrays, frame, names, "instruments"), names


def _hedged_factors(arrays: ModelArrays, factors: str | Sequence[str] | None) -> list[str]:
    if factors is None:
        return list(arrays.factors)
    names = [factors] if isinstance(factors, str) else list(factors)
    if not names:
        msg = "`factors` must name at least one factor to hedge (default: all of them)."
        raise ValueError(msg)
    for name in names:
        if name not in arrays.factors:
            close = difflib.get_close_matches(str(name), arrays.factors, n=1, cutoff=0.6)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            msg = (
                f"unknown factor {name!r} in `factors`.{hint} The model's factors are "
                f"{list(arrays.factors)}."
            )
            raise ValueError(msg)
    if len(set(names)) != len(names):
        msg = f"`factors` names a factor more than once: {names}."
        raise ValueError(msg)
    return names


def _collinear_message(arrays: ModelArrays, x_h: FloatArray, hedged: list[str]) -> str:
    spec = arrays.spec
    n_pos = int((spec > 0).sum())
    if n_pos < len(hedged):
        return (
            f"cannot build factor-mimicking portfolios for {len(hedged)} hedged factors "
            f"from {n_pos} assets with a positive specific variance (assets with zero "
            "specific variance are left out of them); hedge fewer factors or pass "
            "`instruments`."
        )
    used = spec > 0
    scaled = x_h[used] / (spec[used] ** 0.5)[:, None]
    culprits = [hedged[i] for i in _decompose.collinear_factors(scaled)]
    return (
        f"cannot build factor-mimicking portfolios: the exposures to the hedged factors "
        f"are collinear over the model's assets (X_H' S^-1 X_H is singular); "
        f"{_parts.examples(culprits)} combine to (almost) zero, e.g. a country factor and "
        f"every industry. Drop one of them from `factors` (e.g. {culprits[-1]!r}) or "
        "pass `instruments`."
    )
