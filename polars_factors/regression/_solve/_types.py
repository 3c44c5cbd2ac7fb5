"""The numpy array aliases of the package, defined once (numpy only; imports no polars).

Every module that annotates numpy arrays (the solvers here, the risk kernels in
:mod:`polars_factors.risk._linalg`, and the Polars glue around both, under
``TYPE_CHECKING``) imports them from this module. They live in a numpy package because
the lint allows numpy only in ``regression/_solve/`` and ``risk/_linalg/``; the public
aliases in :mod:`polars_factors.typing` stay numpy-free so that
``import polars_factors`` does not load numpy.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["BoolArray", "FloatArray", "IntArray"]

#: An array of float64 (the values of every solver and kernel).
FloatArray = npt.NDArray[np.float64]
#: An array of int64 (row indices, counts).
IntArray = npt.NDArray[np.int64]
#: An array of bools (masks).
BoolArray = npt.NDArray[np.bool_]
