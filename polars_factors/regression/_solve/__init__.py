"""Batched solvers for many small least-squares systems (numpy only; imports no polars).

The regressions of :mod:`polars_factors` reduce a panel to sufficient statistics with a
Polars ``group_by`` (one small system per date, or per ``by`` group) and solve all the
systems here at once. Arrays are small: ``G`` groups by ``K`` parameters, ``G x K x K``
for the normal matrices. Nothing here sees per-row data.

- :mod:`._normal`: normal equations with Jacobi scaling and a pseudo-inverse fallback,
  and regressions with absorbed cell effects (used by ``neutralize``).
- :mod:`._cross`: cross-sectional factor models: the per-date design assembled from
  ``(date, industry)`` cell sums, the Barra constraint by substitution, classical and
  Huber (H1) covariances, and the per-date IRLS bookkeeping.
- :mod:`._asset_pricing`: GRS, traded-factor and two-pass (GMM, Fama-MacBeth, Shanken)
  estimators on small ``T x N`` arrays of portfolio and factor returns.
"""

from __future__ import annotations

from polars_factors.regression._solve._normal import (
    BoolArray,
    FloatArray,
    IntArray,
    NormalSolution,
    group_sum,
    solve_absorbed,
    solve_normal_equations,
    symmetric_pairs,
    unpack_symmetric,
)

__all__ = [
    "BoolArray",
    "FloatArray",
    "IntArray",
    "NormalSolution",
    "group_sum",
    "solve_absorbed",
    "solve_normal_equations",
    "symmetric_pairs",
    "unpack_symmetric",
]
