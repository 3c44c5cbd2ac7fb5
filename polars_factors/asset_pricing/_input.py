"""Input handling of the asset-pricing tests: validation, alignment, result frames.

The public functions of :mod:`polars_factors.asset_pricing` collect the two wide frames,
check and align them here, hand numpy arrays to
:mod:`polars_factors.regression._solve._asset_pricing` and build their result frames
with the helpers at the end of this module.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import polars as pl

from polars_factors import _validate
from polars_factors._frame import temp_name, user_stacklevel
from polars_factors.exceptions import (
    DataLossWarning,
    InsufficientDataError,
    InvalidDataError,
    RankDeficientWarning,
    SchemaError,
)
from polars_factors.regression._solve import _asset_pricing as _ap

if TYPE_CHECKING:
    from polars_factors.regression._solve._asset_pricing import Estimates, FloatArray
    from polars_factors.typing import ColumnNames, EngineType

__all__ = [
    "AssetPricingCovType",
    "Data",
    "KernelType",
    "alphas_frame",
    "betas_frame",
    "check_gmm_data",
    "check_gmm_options",
    "check_ranks",
    "j_test",
    "premia_frame",
    "prepare",
    "require_periods",
    "row",
    "rows",
    "series",
]

_MAX_SHOWN = 3

#: Covariance of the GMM estimators: heteroskedasticity-robust, or kernel (HAC).
AssetPricingCovType = Literal["robust", "kernel"]
#: Kernel of the HAC covariance (``cov_type="kernel"``).
KernelType = Literal["bartlett", "parzen"]


@dataclass(frozen=True)
class Data:
    """Complete, date-sorted returns ready for the solvers."""

    portfolios: list[str]
    factors: list[str]
    r: FloatArray  # (T, N)
    f: FloatArray  # (T, K)

    @property
    def n_periods(self) -> int:
        return int(self.r.shape[0])


def prepare(
    portfolios: pl.DataFrame | pl.LazyFrame,
    factors: pl.DataFrame | pl.LazyFrame,
    *,
    portfolio_columns: ColumnNames | None,
    factor_columns: ColumnNames | None,
    date: str,
    engine: EngineType,
) -> Data:
    """Validate, join on the date, drop incomplete dates (with a warning), to arrays."""
    pcols, fcols = _columns(
        portfolios,
        factors,
        portfolio_columns=portfolio_columns,
        factor_columns=factor_columns,
        date=date,
    )
    p_df, f_df = pl.collect_all(
        [
            frame.lazy().select(pl.col(date), *(pl.col(c).cast(pl.Float64) for c in cols))
            for frame, cols in ((portfolios, pcols), (factors, fcols))
        ],
        engine=engine,
    )
    for df, what in ((p_df, "portfolios"), (f_df, "factors")):
        _check_dates(df, date=date, what=what)
    joined = p_df.join(f_df, on=date, how="inner").sort(date)
    if joined.height == 0:
        msg = (
            f"the portfolios ({p_df.height} dates) and the factors ({f_df.height} dates) "
            f"have no {date!r} in common; check that both use the same dates and dtype."
        )
        raise InsufficientDataError(msg)
    joined = _drop_incomplete(joined, [*pcols, *fcols])
    return Data(
        portfolios=pcols,
        factors=fcols,
        r=joined.select(pcols).to_numpy(),
        f=joined.select(fcols).to_numpy(),
    )


def _columns(
    portfolios: pl.DataFrame | pl.LazyFrame,
    factors: pl.DataFrame | pl.LazyFrame,
    *,
    portfolio_columns: ColumnNames | None,
    factor_columns: ColumnNames | None,
    date: str,
) -> tuple[list[str], list[str]]:
    for frame, what in ((portfolios, "portfolios"), (factors, "factors")):
        if not isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
            msg = f"`{what}` must be a polars DataFrame or LazyFrame; got {type(frame).__name__}."
            raise TypeError(msg)
    if not isinstance(date, str):
        msg = f"`date` must be a column name; got {date!r}."
        raise TypeError(msg)
    p_schema, f_schema = portfolios.collect_schema(), factors.collect_schema()
    lists = []
    for schema, given, what in (
        (p_schema, portfolio_columns, "portfolio"),
        (f_schema, factor_columns, "factor"),
    ):
        _validate.check_columns_exist(schema, [date], role=f"date column of the {what}s frame")
        cols = (
            [c for c in schema.names() if c != date]
            if given is None
            else _validate.as_list(given, name=f"{what}_columns")
        )
        if not cols:
            msg = (
                f"there are no {what} columns: pass {what}_columns= or a frame with a "
                f"{date!r} column and at least one {what} column."
            )
            raise InsufficientDataError(msg)
        if date in cols:
            msg = f"{what}_columns names the date column {date!r}."
            raise ValueError(msg)
        _validate.check_columns_exist(schema, cols, role=f"{what} column")
        _validate.check_numeric(schema, cols, role=f"{what} column")
        lists.append(cols)
    pcols, fcols = lists
    both = [c for c in pcols if c in fcols]
    if both:
        msg = (
            f"columns {both} are both portfolio and factor columns; pass "
            f"portfolio_columns= and factor_columns= that do not overlap."
        )
        raise ValueError(msg)
    if p_schema[date] != f_schema[date]:
        msg = (
            f"the date column {date!r} is {p_schema[date]} in the portfolios and "
            f"{f_schema[date]} in the factors; cast one, e.g. pl.col({date!r}).cast("
            f"pl.{f_schema[date]!r})."
        )
        raise SchemaError(msg)
    return pcols, fcols


def _check_dates(df: pl.DataFrame, *, date: str, what: str) -> None:
    n_null = df[date].null_count()
    if n_null:
        msg = (
            f"the {what} frame has {n_null} rows with a null {date!r}; every return needs "
            f"a date. Drop them first, e.g. frame.drop_nulls({date!r})."
        )
        raise InvalidDataError(msg)
    _validate.check_unique(
        df,
        date,
        what=f"the {what} frame",
        fix=f"Deduplicate it first, e.g. frame.unique({date!r}, keep='last').",
    )


def _drop_incomplete(joined: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    bad = {c: ~pl.col(c).is_finite().fill_null(value=False) for c in columns}
    any_bad = temp_name(set(columns), "any")
    counts = joined.select(
        pl.any_horizontal(bad.values()).sum().alias(any_bad),
        *(e.sum().alias(c) for c, e in bad.items()),
    ).row(0, named=True)
    n_bad = counts.pop(any_bad)
    if not n_bad:
        return joined
    worst = sorted(((n, c) for c, n in counts.items() if n), reverse=True)[:_MAX_SHOWN]
    shown = ", ".join(f"{c!r} ({n})" for n, c in worst)
    warnings.warn(
        f"dropped {n_bad} of {joined.height} dates with a missing, NaN or infinite value "
        f"(most in {shown}); every test asset and factor must be observed on the same "
        f"dates.",
        DataLossWarning,
        stacklevel=user_stacklevel(),
    )
    return joined.filter(~pl.any_horizontal(bad.values()))


# ---------------------------------------------------------------------------- checks


def check_gmm_options(
    cov_type: object, kernel: object, bandwidth: object, debiased: object
) -> None:
    _validate.check_choice("cov_type", cov_type, ("robust", "kernel"))
    _validate.check_choice("kernel", kernel, ("bartlett", "parzen"))
    if bandwidth is not None:
        if isinstance(bandwidth, bool) or not isinstance(bandwidth, int) or bandwidth < 0:
            msg = (
                f"bandwidth must be a non-negative int (the number of lags of the kernel) "
                f"or None to choose it from the data; got {bandwidth!r}."
            )
            raise ValueError(msg)
        if cov_type != "kernel":
            msg = f"bandwidth applies to cov_type='kernel' only; got cov_type={cov_type!r}."
            raise ValueError(msg)
    if not isinstance(debiased, bool):
        msg = f"debiased must be True or False; got {debiased!r}."
        raise TypeError(msg)


def check_gmm_data(
    data: Data, *, cov_type: AssetPricingCovType, kernel: KernelType, bandwidth: int | None
) -> None:
    k = len(data.factors)
    require_periods(data, k + 2, why=f"each time-series regression has {k + 1} parameters")
    if cov_type == "kernel":
        if bandwidth is None:
            need = _ap.min_periods_for_bandwidth(kernel)
            require_periods(
                data, need, why=f"the automatic {kernel} bandwidth needs {need} (or pass one)"
            )
        elif bandwidth >= data.n_periods:
            msg = f"bandwidth={bandwidth} must be below the number of dates ({data.n_periods})."
            raise ValueError(msg)
    check_ranks(data)


def require_periods(data: Data, need: int, *, why: str) -> None:
    if data.n_periods < need:
        msg = (
            f"{data.n_periods} complete dates for {len(data.portfolios)} portfolios and "
            f"{len(data.factors)} factors; at least {need} are needed ({why})."
        )
        raise InsufficientDataError(msg)


def check_ranks(data: Data) -> None:
    bad = _ap.dependent_column(data.f, center=True)
    if bad is not None:
        name = data.factors[bad]
        if bad in _ap.constant_columns(data.f):
            why = f"factor {name!r} is constant over the {data.n_periods} dates"
        else:
            why = (
                f"factor {name!r} is a linear combination of a constant and the factors "
                f"before it ({data.factors[:bad]})"
            )
        msg = f"the factors are collinear: {why}. Drop it."
        raise InsufficientDataError(msg)
    spanned = _ap.spanned_columns(data.r, data.f)
    if spanned:
        names = [data.portfolios[j] for j in spanned]
        msg = (
            f"test assets {names} are linear combinations of a constant and the factors "
            f"(R² = 1): their alphas are 0 by construction and have no standard error. "
            f"Drop them from the test assets (e.g. a traded factor itself)."
        )
        raise InsufficientDataError(msg)


# ---------------------------------------------------------------------------- output


def j_test(stat: float, pvalue: float, *, what: str) -> tuple[float | None, float | None]:
    if math.isnan(stat):
        warnings.warn(
            f"the estimated covariance of the {what} is singular (e.g. more test assets than "
            f"dates), so the J statistic is not defined: j_statistic is None.",
            RankDeficientWarning,
            stacklevel=user_stacklevel(),
        )
        return None, None
    return stat, None if math.isnan(pvalue) else pvalue


def series(name: str, values: FloatArray) -> pl.Series:
    return pl.Series(name, values, dtype=pl.Float64, nan_to_null=True)


def row(est: Estimates, i: int) -> Estimates:
    return type(est)(est=est.est[i], se=est.se[i], t=est.t[i], p=est.p[i])


def rows(est: Estimates, start: int) -> Estimates:
    return type(est)(est=est.est[start:], se=est.se[start:], t=est.t[start:], p=est.p[start:])


def _inference(est: Estimates, value: str, *, flat: bool = False) -> list[pl.Series]:
    def get(a: FloatArray) -> FloatArray:
        # (K, N) arrays become asset-major rows: asset 1's factors, asset 2's, ...
        return a.T.ravel() if flat else a

    return [
        series(value, get(est.est)),
        series("std_error", get(est.se)),
        series("t_stat", get(est.t)),
        series("pvalue", get(est.p)),
    ]


def alphas_frame(portfolios: list[str], est: Estimates) -> pl.DataFrame:
    return pl.DataFrame(
        [pl.Series("portfolio", portfolios, dtype=pl.String), *_inference(est, "alpha")]
    )


def betas_frame(portfolios: list[str], factors: list[str], est: Estimates) -> pl.DataFrame:
    k = len(factors)
    return pl.DataFrame(
        [
            pl.Series("portfolio", [p for p in portfolios for _ in range(k)], dtype=pl.String),
            pl.Series("factor", factors * len(portfolios), dtype=pl.String),
            *_inference(est, "beta", flat=True),
        ]
    )


def premia_frame(names: list[str], est: Estimates) -> pl.DataFrame:
    return pl.DataFrame(
        [pl.Series("factor", names, dtype=pl.String), *_inference(est, "risk_premium")]
    )
