"""The one table of public panel functions.

Every function here takes a panel (a ``pl.DataFrame`` or ``pl.LazyFrame``) as its
first argument and returns the same kind of frame (or a result object of it). The
``.factors`` namespace is generated from this table (:mod:`polars_factors._namespace`),
and each function is exported from :mod:`polars_factors` under its own name; a test
checks that the table, the namespace and the top-level exports agree. The top-level
imports are written out in ``polars_factors/__init__.py`` rather than generated, so
that type checkers and editors see them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from polars_factors import features, standardization
from polars_factors.portfolio import _buckets, _diagnostics, _fama_french, _quantiles, _returns
from polars_factors.regression import cross_sectional, time_series
from polars_factors.regression.fama_macbeth import fama_macbeth
from polars_factors.risk import specific

__all__ = ["PANEL_FUNCTIONS"]

#: Public panel functions, in the order of the docs: standardization, regression,
#: features, portfolio sorts and diagnostics, risk.
PANEL_FUNCTIONS: tuple[Callable[..., Any], ...] = (
    standardization.winsorize,
    standardization.zscore,
    standardization.rank,
    standardization.fill_missing,
    standardization.neutralize,
    standardization.combine,
    standardization.standardize,
    cross_sectional.cross_section,
    fama_macbeth,
    time_series.betas,
    time_series.join_factors,
    features.ts_features,
    _buckets.assign_buckets,
    _buckets.bucket_breakpoints,
    _buckets.rebalance,
    _returns.portfolio_returns,
    _returns.long_short,
    _fama_french.fama_french,
    _diagnostics.information_coefficient,
    _diagnostics.turnover,
    _quantiles.quantile_returns,
    specific.specific_risk,
    specific.shrink_specific_risk,
)
