"""Portfolio sorts, long-short factor returns and factor diagnostics.

Buckets from per-date breakpoints, portfolio returns (equal or value weighted, single
or multiple sorts), formation and holding periods, long-short spreads, Fama-French
style factors, information coefficients, quantile returns and turnover, as lazy
Polars plans that run on the streaming engine.
"""

from __future__ import annotations

from polars_factors.portfolio._buckets import assign_buckets, bucket_breakpoints, rebalance
from polars_factors.portfolio._diagnostics import (
    ICMethod,
    ICResult,
    information_coefficient,
    turnover,
)
from polars_factors.portfolio._fama_french import fama_french
from polars_factors.portfolio._quantiles import QuantileReturnsResult, quantile_returns
from polars_factors.portfolio._returns import LongShortMethod, long_short, portfolio_returns

__all__ = [
    "ICMethod",
    "ICResult",
    "LongShortMethod",
    "QuantileReturnsResult",
    "assign_buckets",
    "bucket_breakpoints",
    "fama_french",
    "information_coefficient",
    "long_short",
    "portfolio_returns",
    "quantile_returns",
    "rebalance",
    "turnover",
]
