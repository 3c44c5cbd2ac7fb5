"""The one table of public panel functions.

Every function here takes a panel (a ``pl.DataFrame`` or ``pl.LazyFrame``) as its
first argument and returns the same kind of frame (or a result object of it). The
``.factors`` namespace is generated from this table (:mod:`polars_factors._namespace`),
and each function is exported from :mod:`polars_factors` under its own name; a test
checks that the table, the namespace and the top-level exports agree.

The table names modules rather than holding functions, so that ``import
polars_factors`` imports none of them: a function's module (and numpy, scipy) is
imported the first time the function or its method is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["PANEL_FUNCTIONS", "load"]

#: Public panel functions as ``(module, name)``, in the order of the docs:
#: the key check, standardization, regression, features, portfolio sorts and diagnostics, risk.
PANEL_FUNCTIONS: tuple[tuple[str, str], ...] = (
    ("polars_factors._checks", "check_panel"),
    ("polars_factors.standardization", "winsorize"),
    ("polars_factors.standardization", "zscore"),
    ("polars_factors.standardization", "rank"),
    ("polars_factors.standardization", "fill_missing"),
    ("polars_factors.standardization", "neutralize"),
    ("polars_factors.standardization", "combine"),
    ("polars_factors.standardization", "standardize"),
    ("polars_factors.regression.cross_sectional", "cross_section"),
    ("polars_factors.regression.fama_macbeth", "fama_macbeth"),
    ("polars_factors.regression.time_series", "betas"),
    ("polars_factors.regression.time_series", "join_factors"),
    ("polars_factors.features", "ts_features"),
    ("polars_factors.portfolio._buckets", "assign_buckets"),
    ("polars_factors.portfolio._buckets", "bucket_breakpoints"),
    ("polars_factors.portfolio._buckets", "rebalance"),
    ("polars_factors.portfolio._returns", "portfolio_returns"),
    ("polars_factors.portfolio._returns", "long_short"),
    ("polars_factors.portfolio._fama_french", "fama_french"),
    ("polars_factors.portfolio._diagnostics", "information_coefficient"),
    ("polars_factors.portfolio._diagnostics", "turnover"),
    ("polars_factors.portfolio._quantiles", "quantile_returns"),
    ("polars_factors.risk.specific", "specific_risk"),
    ("polars_factors.risk.specific", "shrink_specific_risk"),
)


def load(module: str, name: str) -> Callable[..., Any]:
    """Import ``module`` and return its attribute ``name``."""
    fn: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return fn
