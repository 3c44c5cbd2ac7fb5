"""numpy kernels of the risk model, on small ``T x K`` / ``K x K`` arrays.

The only place in :mod:`polars_factors.risk` where numpy is imported (DESIGN.md):
exponentially weighted covariance recursions and Newey-West terms (``_ewm``),
eigenfactor simulations (``_eigen``) and risk decompositions (``_decompose``). The glue
modules hand these functions arrays taken from Polars frames and lay the results out as
frames again.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["BoolArray", "FloatArray"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
