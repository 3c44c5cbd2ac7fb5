"""Type aliases shared by the public API.

Options are ``Literal`` strings so that type checkers catch a misspelled method,
and every function also validates them at run time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, TypeVar

import polars as pl

# No numpy here (`import polars_factors` stays light, tests/test_api.py): the numpy array
# aliases of the internals (FloatArray, IntArray, BoolArray) live in
# polars_factors/regression/_solve/_types.py.

__all__ = [
    "ColumnNames",
    "EngineType",
    "FillStrategy",
    "FrameT",
    "IntoExpr",
    "StdWeights",
    "StyleSpec",
    "WinsorizeMethod",
]

#: A panel, lazy or eager; functions return the same kind they are given.
FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

#: One column name or several.
ColumnNames = str | Sequence[str]

#: A column name or a Polars expression.
IntoExpr = str | pl.Expr

#: Polars engines accepted by ``collect(engine=...)``.
EngineType = Literal["auto", "in-memory", "streaming", "gpu"]

WinsorizeMethod = Literal["quantile", "sigma", "mad"]
StdWeights = Literal["equal", "weighted"]
FillStrategy = Literal["median", "mean", "zero"]

#: ``{"value": ["bp", "ey"]}`` or ``{"value": {"bp": 0.5, "ey": 0.5}}``.
StyleSpec = Mapping[str, Sequence[str] | Mapping[str, float]]
