"""polars_factors: equity factor models as lazy, streaming Polars plans.

Importing the package registers the ``.factors`` namespace on ``pl.LazyFrame`` and
``pl.DataFrame``.

Examples
--------
>>> import polars as pl
>>> import polars_factors as pf
>>> lf = pl.LazyFrame(
...     {"date": [1, 1, 2, 2], "asset": ["a", "b", "a", "b"], "bm": [0.2, 0.6, 0.3, 0.1]}
... )
>>> lf.factors.zscore("bm").collect()["bm"].to_list()
[-1.0, 1.0, 1.0, -1.0]
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from polars_factors import _namespace  # registers the .factors namespace
from polars_factors._api import PANEL_FUNCTIONS
from polars_factors.exceptions import (
    ColumnNotFoundError,
    ConfigError,
    DataLossWarning,
    DuplicateKeyError,
    FactorsError,
    FactorsWarning,
    FileFormatError,
    InsufficientDataError,
    InvalidDataError,
    LayoutError,
    MissingDependencyError,
    PartitionError,
    RankDeficientWarning,
    SchemaError,
    SingularMatrixError,
    UnitsWarning,
    UnknownAssetError,
    UnsortedError,
    WeightError,
    WorkerVersionError,
)

if TYPE_CHECKING:
    from polars_factors import (
        asset_pricing,
        datasets,
        descriptors,
        distributed,
        exprs,
        features,
        io,
        partition,
        plot,
        portfolio,
        regression,
        risk,
        standardization,
    )
    from polars_factors._checks import check_panel
    from polars_factors.features import ts_features
    from polars_factors.io import read_fama_french, read_french_csv
    from polars_factors.portfolio import (
        assign_buckets,
        bucket_breakpoints,
        fama_french,
        information_coefficient,
        long_short,
        portfolio_returns,
        quantile_returns,
        rebalance,
        turnover,
    )
    from polars_factors.regression import CrossSectionResult, betas, cross_section, join_factors
    from polars_factors.regression.fama_macbeth import fama_macbeth
    from polars_factors.risk import shrink_specific_risk, specific_risk
    from polars_factors.standardization import (
        combine,
        fill_missing,
        neutralize,
        rank,
        standardize,
        winsorize,
        zscore,
    )

    __version__: str

# Everything else is imported on first access (PEP 562), so that ``import
# polars_factors`` costs little more than ``import polars``: the subpackages (and
# numpy, scipy) load when a function is first used.
_SUBMODULES = frozenset(
    {
        "asset_pricing", "datasets", "descriptors", "distributed", "exceptions", "exprs",
        "features", "io", "partition", "pipeline", "plot", "portfolio", "regression", "risk",
        "standardization",
    }
)  # fmt: skip
_NAMES = {name: module for module, name in PANEL_FUNCTIONS} | {
    "CrossSectionResult": "polars_factors.regression",
    "read_fama_french": "polars_factors.io",
    "read_french_csv": "polars_factors.io",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib import metadata  # noqa: PLC0415

        value: Any = metadata.version("polars_factors")  # one source: pyproject.toml
    elif name in _SUBMODULES:
        value = importlib.import_module(f"polars_factors.{name}")
    elif name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
    else:
        msg = f"module 'polars_factors' has no attribute {name!r}"
        raise AttributeError(msg)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "ColumnNotFoundError",
    "ConfigError",
    "CrossSectionResult",
    "DataLossWarning",
    "DuplicateKeyError",
    "FactorsError",
    "FactorsWarning",
    "FileFormatError",
    "InsufficientDataError",
    "InvalidDataError",
    "LayoutError",
    "MissingDependencyError",
    "PartitionError",
    "RankDeficientWarning",
    "SchemaError",
    "SingularMatrixError",
    "UnitsWarning",
    "UnknownAssetError",
    "UnsortedError",
    "WeightError",
    "WorkerVersionError",
    "__version__",
    "asset_pricing",
    "assign_buckets",
    "betas",
    "bucket_breakpoints",
    "check_panel",
    "combine",
    "cross_section",
    "datasets",
    "descriptors",
    "distributed",
    "exceptions",
    "exprs",
    "fama_french",
    "fama_macbeth",
    "features",
    "fill_missing",
    "information_coefficient",
    "io",
    "join_factors",
    "long_short",
    "neutralize",
    "partition",
    "plot",
    "portfolio",
    "portfolio_returns",
    "quantile_returns",
    "rank",
    "read_fama_french",
    "read_french_csv",
    "rebalance",
    "regression",
    "risk",
    "shrink_specific_risk",
    "specific_risk",
    "standardization",
    "standardize",
    "ts_features",
    "turnover",
    "winsorize",
    "zscore",
]

del _namespace
