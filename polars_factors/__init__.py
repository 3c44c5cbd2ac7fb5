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
    risk,
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
from polars_factors.regression import (
    CrossSectionResult,
    betas,
    cross_section,
    fama_macbeth,
    join_factors,
)
from polars_factors.standardize import (
    combine,
    fill_missing,
    neutralize,
    rank,
    standardize,
    winsorize,
    zscore,
)

__version__ = "0.1.0"

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
    "betas",
    "combine",
    "cross_section",
    "datasets",
    "exceptions",
    "exprs",
    "fama_macbeth",
    "features",
    "fill_missing",
    "io",
    "join_factors",
    "neutralize",
    "partition",
    "plot",
    "portfolio",
    "rank",
    "read_fama_french",
    "read_french_csv",
    "risk",
    "standardize",
    "ts_features",
    "winsorize",
    "zscore",
]

del _namespace
