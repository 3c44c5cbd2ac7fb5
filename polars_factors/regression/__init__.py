"""Regressions on a panel: sufficient statistics in Polars, small batched solves in numpy.

The numerical kernels live in :mod:`polars_factors.regression._solve` (numpy only, no
Polars); the modules that build the per-date systems from a panel use Polars only.
"""

from __future__ import annotations

from polars_factors.regression.cross_sectional import CrossSectionResult, cross_section
from polars_factors.regression.fama_macbeth import fama_macbeth
from polars_factors.regression.time_series import betas, join_factors

__all__ = ["CrossSectionResult", "betas", "cross_section", "fama_macbeth", "join_factors"]
