"""Barra-style risk model: factor covariance, specific risk and risk decomposition.

The pieces follow the USE4 methodology (Menchero, Orr & Wang 2011):

- :func:`factor_covariance`: exponentially weighted factor volatilities and
  correlations with their own half-lives and Newey-West lags (presets ``USE4S``,
  ``USE4L``, ``hsr``);
- :func:`eigenfactor_adjustment`: the simulated eigenfactor bias correction;
- :func:`volatility_regime`: the volatility regime multiplier, and
  :func:`bias_statistic` to backtest forecasts;
- :func:`specific_risk`: exponentially weighted specific variances with Newey-West and
  Bayesian shrinkage toward size groups (:func:`shrink_specific_risk`: the
  shrinkage step alone);
- :class:`RiskModel`: one date's model, decomposing the risk of assets and portfolios
  and hedging factor exposures.
"""

from __future__ import annotations

from polars_factors.risk._analysis import HedgeResult, PortfolioRiskResult
from polars_factors.risk.covariance import PRESETS, CovariancePreset, factor_covariance
from polars_factors.risk.eigen import eigenfactor_adjustment
from polars_factors.risk.model import RiskModel
from polars_factors.risk.regime import bias_statistic, volatility_regime
from polars_factors.risk.specific import shrink_specific_risk, specific_risk

__all__ = [
    "PRESETS",
    "CovariancePreset",
    "HedgeResult",
    "PortfolioRiskResult",
    "RiskModel",
    "bias_statistic",
    "eigenfactor_adjustment",
    "factor_covariance",
    "shrink_specific_risk",
    "specific_risk",
    "volatility_regime",
]
