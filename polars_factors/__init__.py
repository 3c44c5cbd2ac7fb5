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

from importlib import metadata as _metadata

from polars_factors import (
    _namespace,
    asset_pricing,
    datasets,
    exceptions,
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
from polars_factors.exceptions import (
    ColumnNotFoundError,
    ConfigError,
    DataLossWarning,
    DuplicateKeyError,
    FactorsError,
    FactorsWarning,
    FileFormatError,
    InsufficientDataError,
    MissingDependencyError,
    PartitionError,
    RankDeficientWarning,
    SchemaError,
    SingularMatrixError,
    UnknownAssetError,
    UnsortedError,
    WeightError,
)
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
from polars_factors.regression import (
    CrossSectionResult,
    betas,
    cross_section,
    fama_macbeth,
    join_factors,
)
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

#: The installed distribution's version (one source: ``pyproject.toml``).
__version__ = _metadata.version("polars_factors")

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
    "MissingDependencyError",
    "PartitionError",
    "RankDeficientWarning",
    "SchemaError",
    "SingularMatrixError",
    "UnknownAssetError",
    "UnsortedError",
    "WeightError",
    "__version__",
    "asset_pricing",
    "assign_buckets",
    "betas",
    "bucket_breakpoints",
    "combine",
    "cross_section",
    "datasets",
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
