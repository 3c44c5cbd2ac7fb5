"""numpy kernels of the risk model, on small ``T x K`` / ``K x K`` arrays.

One of the two numpy packages, split by the layer each serves: this one holds the risk
model's kernels (exponentially weighted covariance recursions with their Newey-West terms
in ``_ewm``, eigenfactor simulations in ``_eigen``, risk decompositions in
``_decompose``), while :mod:`polars_factors.regression._solve` holds the estimation
kernels (batched solves, asset-pricing GMM, the Newey-West long-run covariance of a small
array) and the numpy array aliases; they stay apart because each serves its own Polars
glue and the two share nothing but those aliases (imported, for type checkers only, from
:mod:`polars_factors.regression._solve._types`).

The only place in :mod:`polars_factors.risk` where numpy is imported (DESIGN.md). The
glue modules hand these functions arrays taken from Polars frames and lay the results
out as frames again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Re-exported for type checkers only (the risk glue annotates with them): at run time
    # the import would load the whole regression package. New code imports them from
    # polars_factors.regression._solve._types.
    from polars_factors.regression._solve._types import BoolArray as BoolArray
    from polars_factors.regression._solve._types import FloatArray as FloatArray
