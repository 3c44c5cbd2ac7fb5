"""Barra-style risk model: factor covariance, specific risk and risk decomposition.

The pieces follow the USE4 methodology (Menchero, Orr & Wang 2011): exponentially
weighted factor volatilities and correlations with their own half-lives and Newey-West
lags (:func:`factor_covariance`), the eigenfactor adjustment, the volatility regime
adjustment, specific risk with Bayesian shrinkage, and a one-date :class:`RiskModel`
that decomposes the risk of assets and portfolios.
"""

from __future__ import annotations

from polars_factors.risk.covariance import PRESETS, CovariancePreset, factor_covariance

__all__ = ["PRESETS", "CovariancePreset", "factor_covariance"]
