"""Exceptions and warnings raised by polars_factors.

Every error class derives from :class:`FactorsError` and from the matching built-in
exception, so ``except KeyError`` and ``except pf.exceptions.FactorsError`` both
catch a missing column. Invalid arguments (an unknown option, an out-of-range
parameter) raise a plain ``ValueError`` or ``TypeError`` instead.

Examples
--------
>>> import polars as pl
>>> import polars_factors as pf
>>> lf = pl.LazyFrame({"date": [1, 1], "asset": ["a", "b"], "bm": [0.5, 0.7]})
>>> try:
...     lf.factors.zscore("b2m")
... except pf.exceptions.ColumnNotFoundError as err:
...     print(type(err).__mro__[2].__name__)
KeyError
"""

from __future__ import annotations

__all__ = [
    "ColumnNotFoundError",
    "ConfigError",
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
]


class FactorsError(Exception):
    """Base class of every error raised by polars_factors."""


class ColumnNotFoundError(FactorsError, KeyError):
    """A column named in the call is not in the frame."""

    def __str__(self) -> str:
        # KeyError.__str__ quotes its message; show it as written.
        return str(self.args[0]) if self.args else ""


class SchemaError(FactorsError, TypeError):
    """A column exists but has the wrong dtype (e.g. a string where a number is needed)."""


class DuplicateKeyError(FactorsError, ValueError):
    """The panel has more than one row for some ``(date, asset)`` key."""


class UnsortedError(FactorsError, ValueError):
    """An asset's rows are not in increasing date order (time-series operations need it)."""


class InsufficientDataError(FactorsError, ValueError):
    """There are too few rows (or dates, or assets) to compute what was asked."""


class InvalidDataError(FactorsError, ValueError):
    """The data itself is invalid (null keys, negative variances, incomplete matrices).

    Raised where a value must be complete, finite or non-negative and is not; invalid
    arguments and options raise a plain ``ValueError`` or ``TypeError`` instead.
    """


class WeightError(FactorsError, ValueError):
    """Regression or constraint weights are invalid (e.g. negative)."""


class SingularMatrixError(FactorsError, ValueError):
    """A matrix that must be invertible is singular (e.g. collinear hedged factors)."""


class UnknownAssetError(FactorsError, KeyError):
    """Weights or instruments name assets that the risk model does not cover."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class FileFormatError(FactorsError, ValueError):
    """A file does not have the layout its reader expects."""


class ConfigError(FactorsError, ValueError):
    """A pipeline configuration (``polars-factors run CONFIG.toml``) is invalid."""


class MissingDependencyError(FactorsError, ImportError):
    """An optional dependency is not installed (e.g. matplotlib for :mod:`polars_factors.plot`)."""


class PartitionError(FactorsError, ValueError):
    """A plan cannot be split as asked (a step works across the chunks' key)."""


class LayoutError(PartitionError):
    """Files are laid out so that a partitioned task would give wrong answers.

    E.g. a date split across two files for per-date work, or an asset split across
    files for rolling work (:mod:`polars_factors.distributed`).
    """


class WorkerVersionError(FactorsError, RuntimeError):
    """A worker runs another version of polars_factors or Polars than the client."""


class FactorsWarning(UserWarning):
    """Base class of every warning issued by polars_factors."""


class DataLossWarning(FactorsWarning):
    """Some values could not be used and give null results (e.g. a zero-variance date)."""


class RankDeficientWarning(FactorsWarning):
    """A regression system is singular or badly conditioned on some dates."""


class UnitsWarning(FactorsWarning):
    """A return column looks like percent where decimals are expected (``5.0`` for 5%).

    The rule: at least 10 finite values, their median absolute value above 0.2, and at
    least 1% of them below -1 (a loss of more than 100%, which a simple return in
    decimals cannot have). Divide the column by 100.
    """
