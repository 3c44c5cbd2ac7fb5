"""The ``.factors`` namespace on ``pl.LazyFrame`` and ``pl.DataFrame``.

Each method is a one-line delegation to the module-level function of the same name,
which carries the full docstring and types. Lazy in, lazy out; eager in, eager out.
"""

from __future__ import annotations

from typing import Any, Generic

import polars as pl

from polars_factors import features as _features
from polars_factors import standardize as _std
from polars_factors.portfolio import _buckets as _pb
from polars_factors.portfolio import _diagnostics as _pd
from polars_factors.portfolio import _quantiles as _pq
from polars_factors.portfolio import _returns as _pr
from polars_factors.regression import cross_sectional as _cs
from polars_factors.regression import time_series as _ts
from polars_factors.risk import specific as _sr
from polars_factors.typing import FrameT

__all__ = ["FactorsNamespace"]


class FactorsNamespace(Generic[FrameT]):
    """``frame.factors``: factor-model operations on a panel (see :mod:`polars_factors`)."""

    def __init__(self, frame: FrameT) -> None:
        self._frame: FrameT = frame

    def winsorize(self, columns: Any, **kwargs: Any) -> FrameT:
        """See :func:`polars_factors.standardize.winsorize`."""
        return _std.winsorize(self._frame, columns, **kwargs)

    def zscore(self, columns: Any, **kwargs: Any) -> FrameT:
        """See :func:`polars_factors.standardize.zscore`."""
        return _std.zscore(self._frame, columns, **kwargs)

    def rank(self, columns: Any, **kwargs: Any) -> FrameT:
        """See :func:`polars_factors.standardize.rank`."""
        return _std.rank(self._frame, columns, **kwargs)

    def fill_missing(self, columns: Any, **kwargs: Any) -> FrameT:
        """See :func:`polars_factors.standardize.fill_missing`."""
        return _std.fill_missing(self._frame, columns, **kwargs)

    def neutralize(self, columns: Any, **kwargs: Any) -> FrameT:
        """See :func:`polars_factors.standardize.neutralize`."""
        return _std.neutralize(self._frame, columns, **kwargs)

    def combine(self, styles: Any, **kwargs: Any) -> FrameT:
        """See :func:`polars_factors.standardize.combine`."""
        return _std.combine(self._frame, styles, **kwargs)

    def standardize(self, columns: Any, **kwargs: Any) -> FrameT:
        """See :func:`polars_factors.standardize.standardize`."""
        return _std.standardize(self._frame, columns, **kwargs)

    def cross_section(
        self, returns: str, exposures: Any = (), **kwargs: Any
    ) -> _cs.CrossSectionResult[FrameT]:
        """See :func:`polars_factors.regression.cross_sectional.cross_section`."""
        return _cs.cross_section(self._frame, returns, exposures, **kwargs)

    def betas(
        self, returns: str = "ret", factors: Any = ("mkt", "smb", "hml"), **kwargs: Any
    ) -> FrameT:
        """See :func:`polars_factors.regression.time_series.betas`."""
        return _ts.betas(self._frame, returns, factors, **kwargs)

    def ts_features(self, price: str = "close", **kwargs: Any) -> FrameT:
        """See :func:`polars_factors.features.ts_features`."""
        return _features.ts_features(self._frame, price, **kwargs)

    def assign_buckets(self, column: str, **kwargs: Any) -> FrameT:
        """See :func:`polars_factors.portfolio.assign_buckets`."""
        return _pb.assign_buckets(self._frame, column, **kwargs)

    def bucket_breakpoints(self, column: str, **kwargs: Any) -> FrameT:
        """See :func:`polars_factors.portfolio.bucket_breakpoints`."""
        return _pb.bucket_breakpoints(self._frame, column, **kwargs)

    def rebalance(self, columns: Any, **kwargs: Any) -> FrameT:
        """See :func:`polars_factors.portfolio.rebalance`."""
        return _pb.rebalance(self._frame, columns, **kwargs)

    def information_coefficient(
        self, signal: str, forward_returns: Any, **kwargs: Any
    ) -> _pd.ICResult[FrameT]:
        """See :func:`polars_factors.portfolio.information_coefficient`."""
        return _pd.information_coefficient(self._frame, signal, forward_returns, **kwargs)

    def turnover(self, buckets: Any, **kwargs: Any) -> FrameT:
        """See :func:`polars_factors.portfolio.turnover`."""
        return _pd.turnover(self._frame, buckets, **kwargs)

    def portfolio_returns(self, buckets: Any, returns: str = "ret", **kwargs: Any) -> FrameT:
        """See :func:`polars_factors.portfolio.portfolio_returns`."""
        return _pr.portfolio_returns(self._frame, buckets, returns, **kwargs)

    def long_short(self, signal: str, returns: str = "ret", **kwargs: Any) -> FrameT:
        """See :func:`polars_factors.portfolio.long_short`."""
        return _pr.long_short(self._frame, signal, returns, **kwargs)

    def quantile_returns(
        self, signal: str, forward_returns: Any, **kwargs: Any
    ) -> _pq.QuantileReturns[FrameT]:
        """See :func:`polars_factors.portfolio.quantile_returns`."""
        return _pq.quantile_returns(self._frame, signal, forward_returns, **kwargs)

    def join_factors(self, factors: Any, **kwargs: Any) -> FrameT:
        """See :func:`polars_factors.regression.time_series.join_factors`."""
        return _ts.join_factors(self._frame, factors, **kwargs)

    def specific_risk(self, **kwargs: Any) -> FrameT:
        """See :func:`polars_factors.risk.specific_risk`."""
        return _sr.specific_risk(self._frame, **kwargs)

    def shrink_specific_risk(self, **kwargs: Any) -> FrameT:
        """See :func:`polars_factors.risk.shrink_specific_risk`."""
        return _sr.shrink_specific_risk(self._frame, **kwargs)


pl.api.register_lazyframe_namespace("factors")(FactorsNamespace)
pl.api.register_dataframe_namespace("factors")(FactorsNamespace)
