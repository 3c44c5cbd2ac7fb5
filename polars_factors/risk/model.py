r"""One date's factor risk model and the analyses built on it.

A :class:`RiskModel` holds, for ``N`` assets and ``K`` factors at one date, the
exposures ``X`` (``N x K``), the factor covariance ``F`` (``K x K``) and the specific
variances ``S`` (``N``). The asset covariance it implies,

.. math::

    \Sigma = X F X^\top + \operatorname{diag}(S),

is never formed: every product goes through the factor space (``O(N K^2)``), so a
model of several thousand assets costs a few small matrix products. The frames are
Polars frames; the arithmetic runs in :mod:`polars_factors.risk._linalg._decompose`.

- :meth:`RiskModel.asset_risk`: total, factor and specific variance of every asset;
- :meth:`RiskModel.portfolio_risk`: a portfolio's variance split by factor and by
  asset (:class:`PortfolioRiskResult`);
- :meth:`RiskModel.hedge`: neutralize a portfolio's exposure to chosen factors with
  factor-mimicking portfolios or given instruments (:class:`HedgeResult`);
- :meth:`RiskModel.realized_vs_implied`: the model's predicted volatility of a
  portfolio against its realized volatility over the following dates.

References
----------
Grinold, R. C. and Kahn, R. N. (2000), *Active Portfolio Management*, 2nd ed.,
chapters 3 and 14. Menchero, J., Orr, D. J. and Wang, J. (2011), *The Barra US Equity
Model (USE4), Methodology Notes*, MSCI (risk attribution).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import polars as pl

from polars_factors._units import unchecked
from polars_factors.risk import _analysis, _fit, _parts
from polars_factors.risk._analysis import HedgeResult, ModelArrays, PortfolioRiskResult
from polars_factors.risk._linalg import _matrix

if TYPE_CHECKING:
    from polars_factors.regression.cross_sectional import CrossSectionResult
    from polars_factors.typing import ColumnNames, EngineType

__all__ = ["HedgeResult", "PortfolioRiskResult", "RiskModel", "Weights"]

#: Portfolio weights: a frame ``asset, weight`` (eager or lazy) or ``{asset: weight}``.
Weights = pl.DataFrame | pl.LazyFrame | Mapping[str, float]

#: Eigenvalues of ``F`` below ``-PSD_TOL * max eigenvalue`` make it not PSD.
PSD_TOL = _parts.PSD_TOL


# ---------------------------------------------------------------------------------
# Model


@dataclass(frozen=True, eq=False)
class RiskModel:
    r"""Exposures ``X`` (N x K), factor covariance ``F`` (K x K), specific variances ``S`` (N).

    One date's factor risk model. Build it with :meth:`from_parts` (which validates
    and aligns the three inputs); the attributes are plain Polars frames.

    Attributes
    ----------
    factors
        The factor names, in factor order (the order of the covariance frame).
    exposures
        The asset column plus one Float64 column per factor (in factor order), one
        row per asset, sorted by asset.
    covariance
        ``factor_1, factor_2, covariance``: the ``K * K`` entries of ``F`` (symmetric),
        in factor order.
    specific_var
        The asset column and ``specific_var``: the same assets in the same order as
        ``exposures``.
    at
        The model date (a day), when known.
    asset
        The name of the asset column.
    dropped_assets
        Assets left out by :meth:`from_parts` for incomplete data (named in the errors
        about weights that hold them).

    Notes
    -----
    The covariance of asset returns implied by the model is

    .. math::

        \Sigma = X F X^\top + \operatorname{diag}(S),

    factor risk plus uncorrelated specific risk (Grinold and Kahn, 2000, ch. 3).
    Every analysis computes products :math:`\Sigma w = X (F (X^\top w)) + S w`
    through the factor space and never forms the ``N x N`` matrix.

    Examples
    --------
    >>> import polars as pl
    >>> from polars_factors.risk.model import RiskModel
    >>> exposures = pl.DataFrame({"asset": ["a", "b", "c"], "market": [1.0, 1.0, 1.0],
    ...                           "size": [0.5, -0.5, 0.0]})
    >>> covariance = pl.DataFrame({"factor_1": ["market", "market", "size", "size"],
    ...                            "factor_2": ["market", "size", "market", "size"],
    ...                            "covariance": [0.04, 0.002, 0.002, 0.01]})
    >>> specific = pl.DataFrame({"asset": ["a", "b", "c"], "specific_var": [0.01, 0.02, 0.03]})
    >>> model = RiskModel.from_parts(exposures, covariance, specific)
    >>> model.factors
    ('market', 'size')
    >>> model.portfolio_risk({"a": 0.5, "b": 0.5}).summary()
    shape: (1, 5)
    ┌───────────┬────────────┬──────────────┬───────────┬──────────┐
    │ total_var ┆ factor_var ┆ specific_var ┆ total_vol ┆ r2       │
    │ ---       ┆ ---        ┆ ---          ┆ ---       ┆ ---      │
    │ f64       ┆ f64        ┆ f64          ┆ f64       ┆ f64      │
    ╞═══════════╪════════════╪══════════════╪═══════════╪══════════╡
    │ 0.0475    ┆ 0.04       ┆ 0.0075       ┆ 0.217945  ┆ 0.842105 │
    └───────────┴────────────┴──────────────┴───────────┴──────────┘
    """

    factors: tuple[str, ...]
    exposures: pl.DataFrame
    covariance: pl.DataFrame
    specific_var: pl.DataFrame
    at: object | None = None
    asset: str = "asset"
    dropped_assets: tuple[object, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        k = len(self.factors)
        if list(self.exposures.columns) != [self.asset, *self.factors]:
            msg = (
                f"RiskModel.exposures must have the columns {[self.asset, *self.factors]} "
                f"(the asset column, then one per factor in factor order); found "
                f"{self.exposures.columns}. Build the model with RiskModel.from_parts."
            )
            raise ValueError(msg)
        if self.covariance.columns[-3:] != ["factor_1", "factor_2", "covariance"] or (
            self.covariance.height != k * k
        ):
            msg = (
                f"RiskModel.covariance must have the columns factor_1, factor_2, covariance "
                f"and {k * k} rows; found {self.covariance.columns} with "
                f"{self.covariance.height} rows. Build the model with RiskModel.from_parts."
            )
            raise ValueError(msg)
        spec_assets = self.specific_var.get_column(self.asset, default=None)
        if spec_assets is None or not spec_assets.equals(
            self.exposures.get_column(self.asset), check_names=False
        ):
            msg = (
                "RiskModel.specific_var must have the same assets in the same order as "
                "RiskModel.exposures. Build the model with RiskModel.from_parts."
            )
            raise ValueError(msg)

    # -- construction --------------------------------------------------------------

    @classmethod
    def from_parts(
        cls,
        exposures: pl.DataFrame | pl.LazyFrame,
        covariance: pl.DataFrame | pl.LazyFrame,
        specific_var: pl.DataFrame | pl.LazyFrame,
        *,
        at: object | None = None,
        date: str = "date",
        asset: str = "asset",
    ) -> RiskModel:
        r"""Assemble a model from exposures, a factor covariance and specific variances.

        Parameters
        ----------
        exposures
            Wide (the asset column plus one numeric column per factor; columns that
            are not factors of the covariance are ignored) or long (``asset, factor,
            exposure``; rows of other factors are ignored, and a factor without a row
            for an asset is an exposure of 0, as in vendor files that list only the
            asset's own industry, but a factor without any row is an error). Wide is
            assumed when every factor of the covariance is a column.
        covariance
            The covariance layout: ``factor_1, factor_2, covariance`` with ``K * K``
            rows per date (the output of
            :func:`~polars_factors.risk.factor_covariance`); the factor order of the
            model is the order of this frame.
        specific_var
            ``asset, specific_var`` (the output of
            :func:`~polars_factors.risk.specific_risk`). Assets that are not in
            ``exposures`` are ignored.
        at
            The model date, taken from every frame that has the ``date`` column.
            Default: the latest date of the covariance frame (or, when it has no date
            column, of the first of ``exposures`` and ``specific_var`` that has one).
        date
            The date column of the frames (each frame may lack it, then all its rows
            are used).
        asset
            The asset column of ``exposures`` and ``specific_var``.

        Returns
        -------
        RiskModel
            The model over the assets with complete data, sorted by asset.

        Raises
        ------
        ColumnNotFoundError
            A required column is missing, e.g. the column of a covariance factor.
        SchemaError
            A value column is not numeric.
        DuplicateKeyError
            An asset appears twice (or an ``(asset, factor)`` pair, long layout).
        InsufficientDataError
            A frame has no rows for ``at``, the covariance at ``at`` is null (too
            short a history) or no asset has complete data.
        InvalidDataError
            The covariance is not symmetric (relative tolerance ``1e-10``) or not
            positive semi-definite (an eigenvalue below ``-1e-10`` times the largest),
            a specific variance is negative, an asset key is null, a
            ``(factor_1, factor_2)`` pair is missing or repeated, or a factor of the
            covariance has no row in long exposures (it would count as an exposure of 0
            for every asset, leaving its risk out).

        Warns
        -----
        DataLossWarning
            When assets are dropped because an exposure or the specific variance is
            null, NaN or infinite (or missing).

        Examples
        --------
        >>> import polars as pl
        >>> from polars_factors.risk.model import RiskModel
        >>> exposures = pl.DataFrame({"asset": ["b", "a", "c", "a", "b", "c"],
        ...                           "factor": ["market"] * 3 + ["size"] * 3,
        ...                           "exposure": [1.0, 1.0, 1.0, 0.5, -0.5, 0.0]})
        >>> covariance = pl.DataFrame({"date": [1] * 4 + [2] * 4,
        ...                            "factor_1": ["market", "market", "size", "size"] * 2,
        ...                            "factor_2": ["market", "size", "market", "size"] * 2,
        ...                            "covariance": [0.03, 0.0, 0.0, 0.01,
        ...                                           0.04, 0.002, 0.002, 0.01]})
        >>> specific = pl.DataFrame({"asset": ["a", "b", "c"],
        ...                          "specific_var": [0.01, 0.02, 0.03]})
        >>> model = RiskModel.from_parts(exposures, covariance, specific)
        >>> model.at
        2
        >>> model.exposures
        shape: (3, 3)
        ┌───────┬────────┬──────┐
        │ asset ┆ market ┆ size │
        │ ---   ┆ ---    ┆ ---  │
        │ str   ┆ f64    ┆ f64  │
        ╞═══════╪════════╪══════╡
        │ a     ┆ 1.0    ┆ 0.5  │
        │ b     ┆ 1.0    ┆ -0.5 │
        │ c     ┆ 1.0    ┆ 0.0  │
        └───────┴────────┴──────┘
        """
        parts = _parts.read_parts(
            exposures, covariance, specific_var, at=at, date=date, asset=asset
        )
        return cls(
            factors=parts.factors,
            exposures=parts.exposures,
            covariance=parts.covariance,
            specific_var=parts.specific_var,
            at=parts.at,
            asset=asset,
            dropped_assets=parts.dropped_assets,
        )

    @classmethod
    def fit(
        cls,
        panel: pl.DataFrame | pl.LazyFrame,
        result: CrossSectionResult[Any],
        *,
        exposures: ColumnNames = (),
        industry: str | None = None,
        country: bool | str = False,
        at: object | None = None,
        lag: int = 0,
        size: str | None = None,
        covariance: Mapping[str, Any] | None = None,
        specific: Mapping[str, Any] | None = None,
        date: str = "date",
        asset: str = "asset",
        engine: EngineType = "auto",
    ) -> RiskModel:
        r"""Build the model of one date from a panel and its cross-sectional regression.

        The factor covariance comes from ``result.factor_returns``
        (:func:`~polars_factors.risk.factor_covariance`), the specific variances from
        ``result.residuals`` (:func:`~polars_factors.risk.specific_risk`), both
        estimated with the data up to ``lag`` dates before the model date, and the
        exposures are the panel's rows on the model date, laid out as the regression's
        design: the style columns, 1 for the country factor, a 0/1 dummy per industry.

        Memory: the residuals are read over chunks of whole assets
        (:mod:`polars_factors.partition`), keeping each asset's variance on the
        estimation date only; the size shrinkage then runs on that one date. A lazy
        ``result`` over a ``scan_parquet`` of residuals larger than memory works.

        Parameters
        ----------
        panel
            The panel the regression ran on (the exposures, the industry column, and
            ``size`` when given).
        result
            The :func:`~polars_factors.cross_section` result (lazy or collected).
        exposures, industry, country
            As passed to :func:`~polars_factors.cross_section`.
        at
            The model date (the exposures' date). Default: the last date of the factor
            returns.
        lag
            How many factor-return dates before the model date the estimates end. 0 when
            the factor return dated *t* is realized by *t* (returns regressed on the
            previous date's exposures); 1 when it is dated by its formation date (a
            regression of *forward* returns on the exposures of *t*, as in the
            examples): the return dated *t - 1* is then the latest realized at *t*.
        size
            A market-cap column of the panel, for the Bayesian shrinkage of the specific
            risk by size group (``specific_risk(size=...)``).
        covariance, specific
            Further keywords of :func:`~polars_factors.risk.factor_covariance` (e.g.
            ``{"preset": "USE4S"}``) and :func:`~polars_factors.risk.specific_risk`
            (e.g. ``{"half_life": 84, "nw_lags": 5}``).
        date, asset
            Key columns of the panel and of the result's frames.
        engine
            Polars engine for the collects.

        Returns
        -------
        RiskModel
            With ``date`` the model date.

        Raises
        ------
        ColumnNotFoundError, SchemaError
            Missing or non-numeric panel columns.
        InsufficientDataError
            Too few factor-return dates for ``lag``, no panel row on the model date, a
            covariance still null at the estimation date (too short a history), and
            the errors of :meth:`from_parts`.
        InvalidDataError
            The options do not match the regression: a factor of the result that is
            neither one of ``exposures``, the country factor nor ever a value of the
            ``industry`` column (e.g. ``country=False`` after a regression with a
            country factor), or an exposure (a style, the country factor, ``industry``)
            without a factor return. Either would leave a factor's risk out of the
            model instead of failing.
        ValueError
            A negative ``lag``.

        Warns
        -----
        DataLossWarning
            For the assets of the model date left out for incomplete data (no
            specific variance yet, a null exposure, an unknown industry).

        Examples
        --------
        >>> import polars as pl
        >>> import polars_factors as pf
        >>> panel = pl.DataFrame({
        ...     "date": [d for d in range(1, 9) for _ in range(4)],
        ...     "asset": ["a", "b", "c", "d"] * 8,
        ...     "sector": ["x", "x", "y", "y"] * 8,
        ...     "size": [1.0, -1.0, 0.5, -0.5] * 8,
        ...     "ret": [0.01, -0.02, 0.03, 0.0, -0.01, 0.02, 0.01, -0.03, 0.02, 0.0,
        ...             -0.01, 0.01, 0.0, 0.01, 0.02, -0.02, 0.03, -0.01, 0.0, 0.01,
        ...             -0.02, 0.02, 0.01, 0.0, 0.01, 0.0, -0.01, 0.02, -0.01, 0.01,
        ...             0.02, -0.01]})
        >>> res = pf.cross_section(panel, "ret", "size", industry="sector", country=True)
        >>> model = pf.risk.RiskModel.fit(
        ...     panel, res, exposures="size", industry="sector", country=True,
        ...     covariance={"half_life_vol": 4, "half_life_corr": 8, "min_periods": 4},
        ...     specific={"half_life": 4})
        >>> model.at, model.factors
        (8, ('size', 'country', 'x', 'y'))
        >>> model.exposures.row(0)
        ('a', 1.0, 1.0, 1.0, 0.0)
        """
        with unchecked():  # the result's units were checked by cross_section
            parts = _fit.fit_parts(
                panel,
                result,
                exposures=exposures,
                industry=industry,
                country=country,
                at=at,
                lag=lag,
                size=size,
                covariance=covariance,
                specific=specific,
                date=date,
                asset=asset,
                engine=engine,
            )
        return cls.from_parts(
            parts.exposures,
            parts.covariance,
            parts.specific_var,
            at=parts.at,
            date=date,
            asset=asset,
        )

    # -- arrays ----------------------------------------------------------------------

    @cached_property
    def _arrays(self) -> ModelArrays:
        """The arrays and names the analyses read, built once (see :class:`ModelArrays`)."""
        k = len(self.factors)
        x = self.exposures.select(pl.col(self.factors).cast(pl.Float64)).to_numpy()
        cov = self.covariance.get_column("covariance").cast(pl.Float64).to_numpy()
        spec = self.specific_var.get_column("specific_var").cast(pl.Float64).to_numpy()
        return ModelArrays(
            x=x.reshape(-1, k),
            cov=_matrix.symmetrize(cov.reshape(k, k)),
            spec=spec,
            assets=self.exposures.get_column(self.asset),
            factors=self.factors,
            at=self.at,
            dropped_assets=self.dropped_assets,
        )

    # -- analyses --------------------------------------------------------------------

    def asset_risk(self) -> pl.DataFrame:
        r"""Total, factor and specific variance of every asset.

        Returns
        -------
        DataFrame
            One row per asset, in model order (sorted by asset): the asset column,
            ``total_var``, ``factor_var``, ``specific_var`` and ``r2``
            (``factor_var / total_var``, null when ``total_var`` is 0).

        Notes
        -----
        The variances are the diagonal of :math:`\Sigma = X F X^\top + \operatorname{
        diag}(S)`: the factor variance of asset ``n`` is :math:`x_n^\top F x_n` with
        :math:`x_n` its row of exposures, and the total adds :math:`S_n`.

        Examples
        --------
        >>> import polars as pl
        >>> from polars_factors.risk.model import RiskModel
        >>> model = RiskModel.from_parts(
        ...     pl.DataFrame({"asset": ["a", "b", "c"], "market": [1.0, 1.0, 1.0],
        ...                   "size": [0.5, -0.5, 0.0]}),
        ...     pl.DataFrame({"factor_1": ["market", "market", "size", "size"],
        ...                   "factor_2": ["market", "size", "market", "size"],
        ...                   "covariance": [0.04, 0.002, 0.002, 0.01]}),
        ...     pl.DataFrame({"asset": ["a", "b", "c"], "specific_var": [0.01, 0.02, 0.03]}),
        ... )
        >>> model.asset_risk()
        shape: (3, 5)
        ┌───────┬───────────┬────────────┬──────────────┬──────────┐
        │ asset ┆ total_var ┆ factor_var ┆ specific_var ┆ r2       │
        │ ---   ┆ ---       ┆ ---        ┆ ---          ┆ ---      │
        │ str   ┆ f64       ┆ f64        ┆ f64          ┆ f64      │
        ╞═══════╪═══════════╪════════════╪══════════════╪══════════╡
        │ a     ┆ 0.0545    ┆ 0.0445     ┆ 0.01         ┆ 0.816514 │
        │ b     ┆ 0.0605    ┆ 0.0405     ┆ 0.02         ┆ 0.669421 │
        │ c     ┆ 0.07      ┆ 0.04       ┆ 0.03         ┆ 0.571429 │
        └───────┴───────────┴────────────┴──────────────┴──────────┘
        """
        return _analysis.asset_risk(self._arrays)

    def portfolio_risk(self, holdings: Weights) -> PortfolioRiskResult:
        r"""Decompose a portfolio's variance into factor and specific parts.

        Parameters
        ----------
        holdings
            A frame with the asset column and ``weight`` (eager or lazy), or a mapping
            ``{asset: weight}``. Assets of the model that are not given have weight 0.

        Returns
        -------
        PortfolioRiskResult
            ``totals`` (one row, also :meth:`~PortfolioRiskResult.summary`), ``factors``
            (per factor) and ``assets`` (per asset).

        Raises
        ------
        UnknownAssetError
            The holdings name assets the model does not cover.
        DuplicateKeyError
            An asset appears twice in the holdings.
        InvalidDataError
            A weight is null, NaN or infinite, or an asset is null.

        Notes
        -----
        With exposures :math:`x = X^\top w` and :math:`\sigma^2 = w^\top \Sigma w`,

        .. math::

            \sigma^2 = \underbrace{x^\top F x}_{\text{factor}}
                     + \underbrace{\textstyle\sum_n w_n^2 S_n}_{\text{specific}}.

        The factor contributions :math:`x_k (F x)_k` add up to the factor variance and
        the asset contributions :math:`w_n (\Sigma w)_n` to :math:`\sigma^2` (Euler's
        theorem for the homogeneous :math:`\sigma`; see the x-sigma-rho attribution
        of the USE4 Methodology Notes and Grinold and Kahn, ch. 3). The marginals are
        the derivatives of :math:`\sigma`: :math:`\partial\sigma / \partial x_k =
        (F x)_k / \sigma` and :math:`\partial\sigma / \partial w_n = (\Sigma w)_n /
        \sigma`.

        Examples
        --------
        >>> import polars as pl
        >>> from polars_factors.risk.model import RiskModel
        >>> model = RiskModel.from_parts(
        ...     pl.DataFrame({"asset": ["a", "b", "c"], "market": [1.0, 1.0, 1.0],
        ...                   "size": [0.5, -0.5, 0.0]}),
        ...     pl.DataFrame({"factor_1": ["market", "market", "size", "size"],
        ...                   "factor_2": ["market", "size", "market", "size"],
        ...                   "covariance": [0.04, 0.002, 0.002, 0.01]}),
        ...     pl.DataFrame({"asset": ["a", "b", "c"], "specific_var": [0.01, 0.02, 0.03]}),
        ... )
        >>> risk = model.portfolio_risk(pl.DataFrame({"asset": ["a", "c"],
        ...                                           "weight": [0.6, 0.4]}))
        >>> risk.factors
        shape: (2, 5)
        ┌────────┬──────────┬──────────┬──────────────┬──────────┐
        │ factor ┆ exposure ┆ marginal ┆ contribution ┆ percent  │
        │ ---    ┆ ---      ┆ ---      ┆ ---          ┆ ---      │
        │ str    ┆ f64      ┆ f64      ┆ f64          ┆ f64      │
        ╞════════╪══════════╪══════════╪══════════════╪══════════╡
        │ market ┆ 1.0      ┆ 0.180668 ┆ 0.0406       ┆ 0.80396  │
        │ size   ┆ 0.3      ┆ 0.02225  ┆ 0.0015       ┆ 0.029703 │
        └────────┴──────────┴──────────┴──────────────┴──────────┘
        >>> risk.assets["contribution"].sum() == risk.summary()["total_var"].item()
        True
        """
        return _analysis.portfolio_risk(self._arrays, holdings)

    def hedge(
        self,
        holdings: Weights,
        *,
        factors: str | Sequence[str] | None = None,
        instruments: pl.DataFrame | pl.LazyFrame | None = None,
    ) -> HedgeResult:
        r"""Neutralize a portfolio's exposure to some factors.

        Parameters
        ----------
        holdings
            A frame with the asset column and ``weight``, or ``{asset: weight}``.
        factors
            The factors to neutralize (default: all of them).
        instruments
            Hedge instruments: the asset column plus one numeric column of portfolio
            weights per instrument (assets not listed have weight 0). Default: one
            factor-mimicking portfolio per hedged factor (see Notes), named after it.

        Returns
        -------
        HedgeResult
            The exposures before and after, the positions in the instruments, the
            original and hedged weights, the instruments and the volatility before and
            after.

        Raises
        ------
        ValueError
            ``factors`` names an unknown factor (or one twice, or none), or
            ``instruments`` has no instrument column.
        InvalidDataError
            A weight or instrument weight is null, NaN or infinite, or an asset is null.
        UnknownAssetError
            The holdings or the instruments name assets the model does not cover.
        DuplicateKeyError
            An asset appears twice in the holdings or the instruments.
        SingularMatrixError
            The hedged factors cannot all be neutralized: with the default instruments,
            their exposures are collinear (e.g. a country factor and every industry);
            with given instruments, :math:`X_H^\top H` does not have full row rank.

        Notes
        -----
        Let :math:`X_H` be the exposures to the hedged factors and :math:`H` the
        instruments (``N x M``). The positions :math:`h` solve

        .. math::

            X_H^\top (w + H h) = 0,

        with the minimum-norm solution :math:`h = (X_H^\top H)^{+} (-X_H^\top w)` when
        there are more instruments than hedged factors. The hedged weights are
        :math:`w + H h`; exposures to the other factors change by the instruments'
        exposures :math:`X^\top H h`.

        The default instruments are the factor-mimicking portfolios of the hedged
        factors: the portfolios of least specific variance with unit exposure to one
        hedged factor and zero exposure to the others (Grinold and Kahn, ch. 3),

        .. math::

            P = S^{-1} X_H (X_H^\top S^{-1} X_H)^{-1},

        so that :math:`X_H^\top P = I` and the positions are :math:`h = -X_H^\top w`.
        Assets with zero specific variance are left out of these portfolios (weight
        0). They exist only when :math:`X_H^\top S^{-1} X_H` is invertible, which fails
        for collinear hedged factors.

        Examples
        --------
        >>> import polars as pl
        >>> from polars_factors.risk.model import RiskModel
        >>> model = RiskModel.from_parts(
        ...     pl.DataFrame({"asset": ["a", "b", "c"], "market": [1.0, 1.0, 1.0],
        ...                   "size": [0.5, -0.5, 0.0]}),
        ...     pl.DataFrame({"factor_1": ["market", "market", "size", "size"],
        ...                   "factor_2": ["market", "size", "market", "size"],
        ...                   "covariance": [0.04, 0.002, 0.002, 0.01]}),
        ...     pl.DataFrame({"asset": ["a", "b", "c"], "specific_var": [0.01, 0.02, 0.03]}),
        ... )
        >>> hedge = model.hedge({"a": 1.0}, factors="size")
        >>> hedge.positions
        shape: (1, 2)
        ┌────────────┬──────────┐
        │ instrument ┆ position │
        │ ---        ┆ ---      │
        │ str        ┆ f64      │
        ╞════════════╪══════════╡
        │ size       ┆ -0.5     │
        └────────────┴──────────┘
        >>> hedge.exposures
        shape: (2, 4)
        ┌────────┬────────┬────────┬──────────┐
        │ factor ┆ hedged ┆ before ┆ after    │
        │ ---    ┆ ---    ┆ ---    ┆ ---      │
        │ str    ┆ bool   ┆ f64    ┆ f64      │
        ╞════════╪════════╪════════╪══════════╡
        │ market ┆ false  ┆ 1.0    ┆ 0.666667 │
        │ size   ┆ true   ┆ 0.5    ┆ 0.0      │
        └────────┴────────┴────────┴──────────┘

        Hedging with a given instrument (here: short asset ``b``):

        >>> hedge = model.hedge({"a": 1.0}, factors="size",
        ...                     instruments=pl.DataFrame({"asset": ["b"], "b_only": [1.0]}))
        >>> hedge.weights
        shape: (3, 3)
        ┌───────┬────────┬───────────────┐
        │ asset ┆ weight ┆ hedged_weight │
        │ ---   ┆ ---    ┆ ---           │
        │ str   ┆ f64    ┆ f64           │
        ╞═══════╪════════╪═══════════════╡
        │ a     ┆ 1.0    ┆ 1.0           │
        │ b     ┆ 0.0    ┆ 1.0           │
        │ c     ┆ 0.0    ┆ 0.0           │
        └───────┴────────┴───────────────┘
        """
        return _analysis.hedge(self._arrays, holdings, factors=factors, instruments=instruments)

    def realized_vs_implied(
        self,
        holdings: Weights,
        panel: pl.DataFrame | pl.LazyFrame,
        *,
        window: int,
        returns: str = "ret",
        date: str = "date",
    ) -> pl.DataFrame:
        r"""Compare the model's volatility of a portfolio with its realized volatility.

        Parameters
        ----------
        holdings
            The portfolio: a frame with the asset column and ``weight``, or
            ``{asset: weight}``.
        panel
            A panel ``date, asset, returns`` of asset returns (eager or lazy), one row
            per date and asset (the asset column is the model's).
        window
            The number of dates to use: the first ``window`` dates of the panel
            strictly after the model date (the first ``window`` dates when the model
            has no date). At least 2.
        returns
            The return column of ``panel``.
        date
            The date column of ``panel``.

        Returns
        -------
        DataFrame
            One row: ``date`` (the model date), ``window``, ``n_obs`` (the dates
            used), ``implied_vol`` (:math:`\sqrt{w^\top \Sigma w}`), ``realized_vol``
            (the standard deviation, ``ddof=1``, of the portfolio returns
            :math:`\sum_n w_n r_{n,t}` over the dates used) and ``ratio``
            (``realized_vol / implied_vol``, null when ``implied_vol`` is 0).

        Raises
        ------
        InsufficientDataError
            Fewer than 2 dates could be used.
        DuplicateKeyError
            The panel has two rows for a date and a held asset.
        ColumnNotFoundError, SchemaError
            A column is missing, or the return column is not numeric.
        ValueError
            ``window`` is below 2.
        InvalidDataError
            See :meth:`portfolio_risk` for the holdings.

        Warns
        -----
        DataLossWarning
            When dates are left out because a held asset (weight not 0) has a null,
            NaN or infinite return, or no row, on them.

        Notes
        -----
        The ratio is the bias statistic of one portfolio over one window (Grinold and
        Kahn, ch. 3; USE4 Methodology Notes): close to 1 when the model forecasts the
        volatility well, above 1 when it under-predicts risk. Its sampling error is
        about :math:`1 / \sqrt{2 n}` for ``n`` dates.

        Examples
        --------
        >>> import polars as pl
        >>> from polars_factors.risk.model import RiskModel
        >>> model = RiskModel.from_parts(
        ...     pl.DataFrame({"asset": ["a", "b", "c"], "market": [1.0, 1.0, 1.0],
        ...                   "size": [0.5, -0.5, 0.0]}),
        ...     pl.DataFrame({"factor_1": ["market", "market", "size", "size"],
        ...                   "factor_2": ["market", "size", "market", "size"],
        ...                   "covariance": [0.04, 0.002, 0.002, 0.01]}),
        ...     pl.DataFrame({"asset": ["a", "b", "c"], "specific_var": [0.01, 0.02, 0.03]}),
        ...     at=0,
        ... )
        >>> panel = pl.DataFrame({"date": [1, 1, 2, 2, 3, 3], "asset": ["a", "b"] * 3,
        ...                       "ret": [0.1, 0.2, -0.3, 0.1, 0.2, 0.0]})
        >>> model.realized_vs_implied({"a": 0.5, "b": 0.5}, panel, window=3)
        shape: (1, 6)
        ┌──────┬────────┬───────┬─────────────┬──────────────┬──────────┐
        │ date ┆ window ┆ n_obs ┆ implied_vol ┆ realized_vol ┆ ratio    │
        │ ---  ┆ ---    ┆ ---   ┆ ---         ┆ ---          ┆ ---      │
        │ i64  ┆ i64    ┆ u32   ┆ f64         ┆ f64          ┆ f64      │
        ╞══════╪════════╪═══════╪═════════════╪══════════════╪══════════╡
        │ 0    ┆ 3      ┆ 3     ┆ 0.217945    ┆ 0.132288     ┆ 0.606977 │
        └──────┴────────┴───────┴─────────────┴──────────────┴──────────┘
        """
        return _analysis.realized_vs_implied(
            self._arrays, holdings, panel, window=window, column=returns, date=date
        )
