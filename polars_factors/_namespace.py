"""The ``.factors`` namespace on ``pl.LazyFrame`` and ``pl.DataFrame``.

One method per function of :data:`polars_factors._api.PANEL_FUNCTIONS`, generated:
``frame.factors.name(...)`` is ``name(frame, ...)``. Each method carries its
function's name, docstring and signature less the frame (``inspect.signature``,
Jupyter's ``?`` and ``help()`` show the real keyword-only parameters). Lazy in, lazy
out; eager in, eager out.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Generic

import polars as pl

from polars_factors._api import PANEL_FUNCTIONS
from polars_factors.typing import FrameT

__all__ = ["FactorsNamespace"]


class _Method:
    """A namespace method: ``frame.factors.<name>(...)`` calls ``fn(frame, ...)``.

    A descriptor rather than a function, so that the method is built with the
    function's metadata when accessed (and doctest does not collect the function's
    examples a second time from this module).
    """

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        sig = inspect.signature(fn)
        self.__signature__ = sig.replace(parameters=list(sig.parameters.values())[1:])
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__

    def __get__(self, owner: FactorsNamespace[Any] | None, cls: type | None = None) -> Any:
        if owner is None:
            return self
        fn, frame = self.fn, owner._frame

        @functools.wraps(fn)
        def method(*args: Any, **kwargs: Any) -> Any:
            return fn(frame, *args, **kwargs)

        method.__signature__ = self.__signature__  # type: ignore[attr-defined]
        method.__qualname__ = f"FactorsNamespace.{fn.__name__}"
        return method


class FactorsNamespace(Generic[FrameT]):
    """``frame.factors``: factor-model operations on a panel (see :mod:`polars_factors`).

    Examples
    --------
    >>> import inspect
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> lf = pl.LazyFrame({"date": [1, 1], "asset": ["a", "b"], "x": [1.0, 3.0]})
    >>> lf.factors.zscore("x").collect()["x"].to_list()
    [-1.0, 1.0]
    >>> list(inspect.signature(lf.factors.zscore).parameters)[:3]
    ['columns', 'weights', 'std_weights']
    """

    def __init__(self, frame: FrameT) -> None:
        self._frame: FrameT = frame


for _fn in PANEL_FUNCTIONS:
    setattr(FactorsNamespace, _fn.__name__, _Method(_fn))
del _fn

pl.api.register_lazyframe_namespace("factors")(FactorsNamespace)
pl.api.register_dataframe_namespace("factors")(FactorsNamespace)
