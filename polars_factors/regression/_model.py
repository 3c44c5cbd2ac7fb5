"""The validated specification of a cross-sectional regression and its Polars expressions.

Shared by the one-pass plan (``ols``/``wls``) in :mod:`.cross_section` and the Huber
IRLS driver in :mod:`._huber`. Temporary columns carry a prefix that no column of the
panel starts with (:func:`polars_factors._frame.temp_name`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

from polars_factors import _validate
from polars_factors._frame import temp_name
from polars_factors.exceptions import InvalidDataError
from polars_factors.exprs._core import clean
from polars_factors.regression import _solve
from polars_factors.typing import ColumnNames

__all__ = ["CovType", "CrossSectionMethod", "Model", "build_model", "check_industry_names"]

CrossSectionMethod = Literal["ols", "wls", "huber"]
_METHODS = ("ols", "wls", "huber")
CovType = Literal["classical", "HC0", "HC1", "HC2", "HC3", "cluster"]
COV_TYPES = ("classical", "HC0", "HC1", "HC2", "HC3", "cluster")

#: Kinds of factor, in model order.
STYLE, COUNTRY, INDUSTRY = 0, 1, 2


@dataclass(frozen=True)
class Model:
    """Validated column names and options of one cross-sectional regression."""

    returns: str
    exposures: list[str]
    industry: str | None
    country: str | None
    weights: str | None
    constraint_weights: str | None
    method: CrossSectionMethod
    huber_t: float
    max_iter: int
    tol: float
    warn_excluded: float
    date: str
    asset: str
    date_dtype: pl.DataType
    tmp: str
    cov_type: CovType = "classical"
    cluster: str | None = None

    # -- names -------------------------------------------------------------------
    def col(self, name: str) -> str:
        """Temporary column ``name``."""
        return f"{self.tmp}{name}"

    @property
    def n_styles(self) -> int:
        return len(self.exposures)

    @property
    def constrained(self) -> bool:
        """Industries and a country factor: the Barra constraint applies."""
        return self.industry is not None and self.country is not None

    @property
    def has_intercept(self) -> bool:
        """Whether the fitted values include a constant (centred R²)."""
        return self.industry is not None or self.country is not None

    @property
    def fixed_factors(self) -> list[str]:
        """Factor names known before the data is read: styles, then the country."""
        return [*self.exposures, *([self.country] if self.country else [])]

    @property
    def z_names(self) -> list[str]:
        """Temporary columns of the cleaned regressors followed by the response."""
        return [self.col(f"z{i}") for i in range(self.n_styles + 1)]

    @property
    def ind(self) -> str:
        """Temporary column: the industry as a string."""
        return self.col("ind")

    @property
    def cell(self) -> list[str]:
        """Keys of the cells whose sums are collected."""
        return [self.date, self.ind] if self.industry is not None else [self.date]

    # -- expressions ---------------------------------------------------------------
    def used(self) -> pl.Expr:
        """Rows in the fit: every model column present and finite, weights positive."""
        present = [clean(c).is_not_null() for c in [self.returns, *self.exposures]]
        if self.industry is not None:
            present.append(pl.col(self.industry).is_not_null())
        if self.weights is not None:
            present.append(clean(self.weights) > 0)
        if self.constraint_weights is not None:
            present.append(clean(self.constraint_weights).is_not_null())
        if self.cluster is not None:
            present.append(pl.col(self.cluster).is_not_null())
        return pl.all_horizontal(present).fill_null(value=False)

    def row_columns(self) -> list[pl.Expr]:
        """Per-row model columns (nulls outside the fit), before the cell sums."""
        used = self.used()
        weight = pl.lit(1.0) if self.weights is None else clean(self.weights)
        exprs = [pl.col(self.date), used.alias(self.col("used"))]
        if self.industry is not None:
            exprs.append(pl.col(self.industry).cast(pl.String).alias(self.ind))
        exprs.append(pl.when(used).then(weight).alias(self.col("w")))
        exprs += [
            pl.when(used).then(clean(c)).alias(z)
            for c, z in zip([*self.exposures, self.returns], self.z_names, strict=True)
        ]
        negative = [
            pl.col(c).cast(pl.Float64) < 0
            for c in (self.weights, self.constraint_weights)
            if c is not None
        ]
        if negative:
            exprs.append(pl.any_horizontal(negative).fill_null(value=False).alias(self.col("neg")))
        if self.constraint_weights is not None:
            exprs.append(pl.when(used).then(clean(self.constraint_weights)).alias(self.col("cw")))
        if self.cluster is not None:
            exprs.append(pl.col(self.cluster).alias(self.col("cl")))
        return exprs

    def cell_sums(self, weight: pl.Expr) -> list[pl.Expr]:
        """Aggregate per cell: counts and the sums of ``w``, ``w z``, ``w z z'``.

        ``weight`` is the per-row regression weight (null outside the fit).
        """
        z = [pl.col(c) for c in self.z_names]
        wz = [weight * zi for zi in z]
        aggs = [
            pl.len().alias(self.col("n_rows")),
            pl.col(self.col("used")).sum().alias(self.col("n_used")),
            weight.sum().alias(self.col("sw")),
        ]
        aggs += [wz[i].sum().alias(self.col(f"s{i}")) for i in range(len(z))]
        aggs += [
            (wz[i] * z[j]).sum().alias(self.col(f"q{i}_{j}"))
            for i, j in _solve.symmetric_pairs(len(z))
        ]
        if self.constraint_weights is not None:
            aggs.append(pl.col(self.col("cw")).sum().alias(self.col("scw")))
        if self.weights is not None or self.constraint_weights is not None:
            aggs.append(pl.col(self.col("neg")).sum().alias(self.col("n_neg")))
        return aggs

    @property
    def first_names(self) -> list[str]:
        return [self.col(f"s{i}") for i in range(self.n_styles + 1)]

    @property
    def second_names(self) -> list[str]:
        return [self.col(f"q{i}_{j}") for i, j in _solve.symmetric_pairs(self.n_styles + 1)]


def build_model(
    schema: pl.Schema,
    *,
    returns: str,
    exposures: ColumnNames,
    industry: str | None,
    country: bool | str,
    weights: str | None,
    constraint_weights: str | None,
    method: str,
    huber_t: float,
    cov_type: str = "classical",
    cluster: str | None = None,
    max_iter: int,
    tol: float,
    warn_excluded: float,
    date: str,
    asset: str,
) -> Model:
    """Check every argument against the schema; raise the precise error."""
    _validate.check_choice("method", method, _METHODS)
    _check_cov_type(schema, cov_type, cluster, method)
    if not isinstance(returns, str):
        msg = f"`returns` must be one column name; got {returns!r}."
        raise TypeError(msg)
    xs = _validate.as_list(exposures, name="exposures")
    _validate.check_columns_exist(schema, [date, asset], role="panel key")
    _validate.check_key_dtypes(schema, date=date, asset=asset)
    _validate.check_columns_exist(schema, [returns], role="returns column")
    _validate.check_columns_exist(schema, xs, role="exposure column")
    _validate.check_numeric(schema, [returns], role="returns column")
    _validate.check_numeric(schema, xs, role="exposure column")
    for name, role in ((weights, "weights"), (constraint_weights, "constraint_weights")):
        if name is not None:
            _validate.check_columns_exist(schema, [name], role=f"{role} column")
            _validate.check_numeric(schema, [name], role=f"{role} column")
    if method == "ols" and weights is not None:
        msg = (
            f"method='ols' takes no weights, but weights={weights!r} was given; "
            "use method='wls' for a weighted fit."
        )
        raise ValueError(msg)
    _validate.check_industry(schema, industry, [returns, *xs])
    country_name = _country_name(country)
    _check_options(method, huber_t=huber_t, max_iter=max_iter, tol=tol, warn=warn_excluded)
    if len(set(xs)) != len(xs) or returns in xs:
        msg = f"`exposures` must be distinct columns other than `returns`; got {xs!r}."
        raise ValueError(msg)
    if country_name is not None and country_name in xs:
        msg = (
            f"the country factor is named {country_name!r}, like an exposure column; "
            "pass country='<another name>'."
        )
        raise ValueError(msg)
    dtype = schema[industry] if industry is not None else None
    if isinstance(dtype, pl.Enum):  # the industry names are in the schema: check them now
        check_industry_names(
            [*xs, *([country_name] if country_name else [])], dtype.categories.to_list(),
            industry=str(industry), country=country_name,
        )  # fmt: skip
    if constraint_weights is not None and not (industry is not None and country_name):
        msg = (
            "constraint_weights only apply with both an industry and a country factor "
            "(the Barra constraint); pass industry=... and country=True, or drop it."
        )
        raise ValueError(msg)
    return Model(
        returns=returns,
        exposures=xs,
        industry=industry,
        country=country_name,
        weights=weights,
        constraint_weights=constraint_weights,
        method=method,  # type: ignore[arg-type]
        huber_t=float(huber_t),
        max_iter=int(max_iter),
        tol=float(tol),
        warn_excluded=float(warn_excluded),
        date=date,
        asset=asset,
        date_dtype=schema[date],
        tmp=temp_name(set(schema.names()), "cs_", prefix=True),
        cov_type=cov_type,  # type: ignore[arg-type]
        cluster=cluster,
    )


def _check_cov_type(schema: pl.Schema, cov_type: str, cluster: str | None, method: str) -> None:
    _validate.check_choice("cov_type", cov_type, COV_TYPES)
    if method == "huber" and cov_type != "classical":
        msg = (
            f"cov_type={cov_type!r} applies to method='ols' or 'wls'; a Huber fit reports "
            "statsmodels' H1 standard errors (already robust to outliers)."
        )
        raise ValueError(msg)
    if cov_type == "cluster":
        if cluster is None:
            msg = "cov_type='cluster' needs cluster=<column> (e.g. the sector column)."
            raise ValueError(msg)
        _validate.check_columns_exist(schema, [cluster], role="cluster column")
    elif cluster is not None:
        msg = f"cluster={cluster!r} is only used with cov_type='cluster' (got {cov_type!r})."
        raise ValueError(msg)


def check_industry_names(
    fixed: list[str], industries: list[str], *, industry: str, country: str | None
) -> None:
    """Raise :class:`InvalidDataError` if an industry is named like a style or the country.

    Each industry value becomes a factor of that name, so it must differ from the
    factors named before the data is read (``fixed``: the styles, then the country).
    """
    clash = sorted(set(fixed).intersection(industries))
    if not clash:
        return
    name = clash[0]
    kind = "the country factor" if name == country else "a style (exposure) column"
    fix = (
        "pass country='<another name>'"
        if name == country
        else f"rename the exposure column, e.g. frame.rename({{{name!r}: {name + '_style'!r}}})"
    )
    msg = (
        f"industry value {name!r} of column {industry!r} is also the name of {kind}, so two "
        f"factors would share one name (industry values clashing: {clash}). Rename the "
        f"industry, e.g. pl.col({industry!r}).replace({{{name!r}: {name + '_industry'!r}}}), "
        f"or {fix}."
    )
    raise InvalidDataError(msg)


def _country_name(country: object) -> str | None:
    if country is True:
        return "country"
    if country is False or country is None:
        return None
    if isinstance(country, str) and country:
        return country
    msg = f"`country` must be True, False or a factor name; got {country!r}."
    raise TypeError(msg)


def _check_options(method: str, *, huber_t: float, max_iter: int, tol: float, warn: float) -> None:
    if method == "huber" and not (isinstance(huber_t, (int, float)) and huber_t > 0):
        msg = f"huber_t must be a positive number (statsmodels' default is 1.345); got {huber_t!r}."
        raise ValueError(msg)
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        msg = f"max_iter must be a positive integer; got {max_iter!r}."
        raise ValueError(msg)
    if not (isinstance(tol, (int, float)) and tol > 0):
        msg = f"tol must be a positive number; got {tol!r}."
        raise ValueError(msg)
    if not (isinstance(warn, (int, float)) and 0 <= warn <= 1):
        msg = f"warn_excluded must be a share between 0 and 1; got {warn!r}."
        raise ValueError(msg)
