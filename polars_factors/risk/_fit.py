"""Assemble one date's risk model from a panel and a cross-sectional regression result.

:meth:`RiskModel.fit <polars_factors.risk.RiskModel.fit>` delegates here: the factor
covariance from the regression's factor returns, the specific variances from its
residuals, and the exposures of the model date, rebuilt from the panel the same way
:func:`~polars_factors.cross_section` built its design (styles as given, 1 for the
country factor, a dummy per industry).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from polars_factors import _validate
from polars_factors.exceptions import DataLossWarning, InsufficientDataError, InvalidDataError
from polars_factors.risk._parts import examples
from polars_factors.risk.covariance import factor_covariance
from polars_factors.risk.specific import _check_options, _shrink, specific_risk

if TYPE_CHECKING:
    from polars_factors.regression.cross_sectional import CrossSectionResult
    from polars_factors.typing import ColumnNames, EngineType

__all__ = ["FitParts", "fit_parts"]


@dataclass(frozen=True)
class FitParts:
    """The three inputs of ``RiskModel.from_parts`` (no date column) and the model date."""

    exposures: pl.DataFrame
    covariance: pl.DataFrame
    specific_var: pl.DataFrame
    at: object


def fit_parts(
    panel: pl.DataFrame | pl.LazyFrame,
    result: CrossSectionResult[Any],
    *,
    exposures: ColumnNames,
    industry: str | None,
    country: bool | str,
    at: object | None,
    lag: int,
    size: str | None,
    covariance: Mapping[str, Any] | None,
    specific: Mapping[str, Any] | None,
    date: str,
    asset: str,
    engine: EngineType,
) -> FitParts:
    """Compute the exposures, covariance and specific variances of one model date."""
    if isinstance(lag, bool) or not isinstance(lag, int) or lag < 0:
        msg = f"lag must be a non-negative integer (dates), got {lag!r}"
        raise ValueError(msg)
    styles = _validate.as_list(exposures, name="exposures")
    schema = panel.collect_schema()
    needed = [date, asset, *styles, *([industry] if industry else [])]
    _validate.check_columns_exist(schema, [*needed, *([size] if size else [])])
    _validate.check_numeric(schema, styles)
    fr = result.factor_returns
    fr = fr.collect(engine=engine) if isinstance(fr, pl.LazyFrame) else fr
    model_date, est_date = _dates(fr.get_column(date), at=at, lag=lag)
    with warnings.catch_warnings():
        # A null covariance on the estimation date is an error of the fit below (with
        # its own message), not a warning first.
        warnings.filterwarnings("ignore", "factor_covariance: ", DataLossWarning)
        cov = factor_covariance(
            fr.filter(pl.col(date) <= pl.lit(est_date)),
            dates="last",
            date=date,
            engine=engine,
            **dict(covariance or {}),
        )
    factors = cov.get_column("factor_1").unique(maintain_order=True).to_list()
    country_name = None if country is False else ("country" if country is True else country)
    industries = _check_returns(factors, styles, industry, country_name)
    # One read of the panel: the model date's rows, and the caps of the estimation date.
    lf = panel.lazy()
    wanted = [lf.filter(pl.col(date) == pl.lit(model_date)).select(needed)]
    if size is not None:
        wanted.append(lf.filter(pl.col(date) == pl.lit(est_date)).select(asset, size))
    rows, *sizes = pl.collect_all(wanted, engine=engine)
    if rows.height == 0:
        msg = f"the panel has no rows on the model date {model_date}"
        raise InsufficientDataError(msg)
    if industry is not None:
        _check_industries(
            industries, rows, lf, industry=industry, country=country_name, at=model_date,
            date=date, engine=engine,
        )  # fmt: skip
    spec = _specific_at(
        result.residuals.lazy().filter(pl.col(date) <= pl.lit(est_date)),
        est_date,
        sizes[0] if sizes else None,
        size=size,
        specific=specific,
        date=date,
        asset=asset,
        engine=engine,
    )
    return FitParts(
        exposures=_exposures(rows, factors, styles, industry, country_name, asset=asset),
        covariance=cov.drop(date),
        specific_var=spec.drop(date),
        at=model_date,
    )


def _specific_at(
    residuals: pl.LazyFrame,
    at: object,
    sizes: pl.DataFrame | None,
    *,
    size: str | None,
    specific: Mapping[str, Any] | None,
    date: str,
    asset: str,
    engine: EngineType,
) -> pl.DataFrame:
    """Specific variances of one date, in memory bounded by a chunk of assets.

    The time-series part (each asset's decayed variance up to ``at``) runs over
    chunks of whole assets and keeps the rows of ``at`` only; the size shrinkage,
    which works across the assets of one date, then runs on that date alone. The
    result equals ``specific_risk`` over the whole history filtered to ``at``.
    """
    from polars_factors import partition  # noqa: PLC0415  (import cycle)
    from polars_factors.partition import _run  # noqa: PLC0415

    options = {**inspect_defaults(specific_risk), **dict(specific or {})}
    per_asset = {**options, "size": None, "date": date, "asset": asset}

    def build(rows: pl.LazyFrame) -> pl.LazyFrame:
        out = specific_risk(rows, **per_asset)
        return out.filter(pl.col(date) == pl.lit(at))

    # Residuals read from date-sorted files: one pass lays each asset chunk out in a
    # scratch file (else every chunk reads the whole history).
    shuffle = _run.worth_shuffling(residuals, via=date)
    raw = partition.collect(
        residuals, by="asset", date=date, asset=asset, build=build, engine=engine,
        shuffle=shuffle,
    )  # fmt: skip
    if size is None or sizes is None:
        return raw
    _, _, q, groups, _ = _check_options(
        options["half_life"],
        options["nw_lags"],
        options["shrinkage"],
        options["n_groups"],
        options["min_periods"],
    )
    if q == 0:
        return raw
    with_size = raw.join(sizes, on=asset, how="left", maintain_order="left")
    taken = {date, asset, size, "specific_var"}
    shrunk = _shrink(
        with_size.lazy(),
        "specific_var",
        size,
        date=date,
        asset=asset,
        shrinkage=q,
        n_groups=groups,
        taken=taken,
    )
    return shrunk.select(date, asset, "specific_var").collect(engine="in-memory")


def inspect_defaults(func: Any) -> dict[str, Any]:
    """Keyword defaults of ``func`` (the options a caller may override)."""
    import inspect  # noqa: PLC0415

    return {
        name: p.default
        for name, p in inspect.signature(func).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def _dates(dates: pl.Series, *, at: object | None, lag: int) -> tuple[object, object]:
    """Return the model date and the date the covariance and specific risk are estimated at."""
    history = dates.unique().sort()
    if at is not None:
        history = history.to_frame().filter(pl.col(history.name) <= pl.lit(at)).to_series()
    if history.len() <= lag:
        msg = (
            f"with lag={lag}, the factor returns need more than {lag} dates up to the model "
            f"date; they have {history.len()}"
        )
        raise InsufficientDataError(msg)
    model_date = dates.max() if at is None else at
    return model_date, history[-1 - lag]


def _check_returns(
    factors: list[str], styles: list[str], industry: str | None, country: str | None
) -> list[str]:
    """Refuse exposures without a factor return; return the factors left for industries.

    Every style and the country factor must be a factor of the regression, and any
    other factor must be an industry (the industry column must then be given). An
    exposure without a factor return would drop that factor's risk; a factor without
    an exposure would be an all-zero column that drops it too.
    """
    fix = "Pass the exposures, industry and country that cross_section was given."
    no_return = [s for s in styles if s not in factors]
    if country is not None and country not in factors:
        no_return.append(country)
    if no_return:
        hint = (
            f" The regression has no country factor {country!r}: pass country=False, or "
            "country= the name of its country factor."
            if country in no_return
            else ""
        )
        msg = (
            f"the exposures {examples(no_return)} have no factor return in the regression "
            f"result (its factors: {examples(factors)}); the risk model cannot price them.{hint} "
            + fix
        )
        raise InvalidDataError(msg)
    known = {*styles, *([country] if country else [])}
    industries = [f for f in factors if f not in known]
    if industries and industry is None:
        msg = (
            f"the factors {examples(industries)} of the regression result are neither "
            f"exposures ({examples(styles) or 'none given'}) nor the country factor "
            f"({'country=False' if country is None else repr(country)}), and no industry "
            "column was given: each would get an exposure of 0 and its risk would be left "
            "out. Pass industry= (the column used in the regression)"
            + (" or country=True" if "country" in industries else "")
            + ". "
            + fix
        )
        raise InvalidDataError(msg)
    if industry is not None and not industries:
        msg = (
            f"industry={industry!r} was given but the regression result has no industry "
            f"factors (its factors: {examples(factors)}): the industry exposures would have "
            "no factor return. Pass industry=None, or the options of a regression with "
            f"industry factors. {fix}"
        )
        raise InvalidDataError(msg)
    return industries


def _check_industries(
    industries: list[str],
    rows: pl.DataFrame,
    panel: pl.LazyFrame,
    *,
    industry: str,
    country: str | None,
    at: object,
    date: str,
    engine: EngineType,
) -> None:
    """Refuse industry factors that are never a value of the industry column.

    An industry without members on the model date is a legitimate zero exposure; one
    that is never a label of the column up to the model date (e.g. the regression's
    country factor when ``country=False``) is a factor without an exposure. The panel
    is read again only for the factors absent on the model date.
    """
    on_date = set(rows.get_column(industry).cast(pl.String).drop_nulls().unique().to_list())
    absent = [f for f in industries if f not in on_date]
    if not absent:
        return
    label = pl.col(industry).cast(pl.String)
    seen = (
        panel.filter(pl.col(date) <= pl.lit(at), label.is_in(absent))
        .select(label.unique())
        .collect(engine=engine)
        .to_series()
        .to_list()
    )
    never = [f for f in absent if f not in set(seen)]
    if never:
        hint = (
            " The regression had a country factor: pass country=True."
            if country is None and "country" in never
            else ""
        )
        msg = (
            f"the factors {examples(never)} of the regression result match no exposure: "
            "they are not exposures, not the country factor "
            f"({'country=False' if country is None else repr(country)}) and never a value "
            f"of the industry column {industry!r} up to {at!r}. Each would get an exposure "
            f"of 0 and its risk would be left out.{hint} Pass the exposures, industry and "
            "country that cross_section was given."
        )
        raise InvalidDataError(msg)


def _exposures(
    rows: pl.DataFrame,
    factors: list[str],
    styles: list[str],
    industry: str | None,
    country: str | None,
    *,
    asset: str,
) -> pl.DataFrame:
    """Wide exposures of the model date: styles, the country factor, industry dummies.

    An asset whose industry is null, or not one of the model's industries, gets null
    industry exposures (``from_parts`` then leaves it out, with a warning). The
    factors were matched to the options by :func:`_check_returns`.
    """
    known = {*styles, *([country] if country else [])}
    industries = [f for f in factors if f not in known]
    columns: list[pl.Expr] = [pl.col(asset), *(pl.col(s).cast(pl.Float64) for s in styles)]
    if country is not None:
        columns.append(pl.lit(1.0).alias(country))
    if industry is not None:
        label = pl.col(industry).cast(pl.String)
        member = label.is_in(industries)
        columns.extend(
            pl.when(member).then((label == name).cast(pl.Float64)).alias(name)
            for name in industries
        )
    return rows.select(columns)
