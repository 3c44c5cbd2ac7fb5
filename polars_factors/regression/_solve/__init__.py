"""numpy kernels of the estimators: batched solves, GMM, Newey-West (imports no polars).

One of the two numpy packages, split by the layer each serves: this one holds the
estimation kernels (of :mod:`polars_factors.regression`, :mod:`polars_factors.asset_pricing`
and ``neutralize``) and the numpy array aliases of both packages (``_types``), while
:mod:`polars_factors.risk._linalg` holds the risk model's kernels (exponentially weighted
covariances, eigenfactor simulations, risk decompositions); they stay apart because each
serves its own Polars glue and the two share nothing but those aliases.

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
- :mod:`._hac`: the one Newey-West (kernel) long-run covariance of a small ``T x K``
  array, :func:`newey_west`.
- :mod:`._types`: ``FloatArray``, ``IntArray``, ``BoolArray``, the package's only
  definitions of the numpy array aliases.
"""

from __future__ import annotations

from polars_factors.regression._solve._hac import newey_west
from polars_factors.regression._solve._normal import (
    NormalSolution,
    group_sum,
    solve_absorbed,
    solve_normal_equations,
    symmetric_pairs,
    unpack_symmetric,
)
from polars_factors.regression._solve._types import BoolArray, FloatArray, IntArray

__all__ = [
    "BoolArray",
    "FloatArray",
    "IntArray",
    "NormalSolution",
    "group_sum",
    "newey_west",
    "solve_absorbed",
    "solve_normal_equations",
    "symmetric_pairs",
    "unpack_symmetric",
]
