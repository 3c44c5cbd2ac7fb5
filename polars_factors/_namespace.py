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

from polars_factors._api import PANEL_FUNCTIONS, load
from polars_factors.typing import FrameT

__all__ = ["FactorsNamespace"]


class _Method:
    """A namespace method: ``frame.factors.<name>(...)`` calls ``fn(frame, ...)``.

    A descriptor rather than a function: the function's module is imported on first
    access (``import polars_factors`` stays light), and the method is built with the
    function's metadata (doctest does not collect its examples a second time here).
    """

    def __init__(self, module: str, name: str) -> None:
        self.module, self.__name__ = module, name

    @functools.cached_property
    def fn(self) -> Callable[..., Any]:
        """The function, imported on first use."""
        return load(self.module, self.__name__)

    @functools.cached_property
    def signature(self) -> inspect.Signature:
        """The function's signature less its first parameter (the frame)."""
        sig = inspect.signature(self.fn)
        return sig.replace(parameters=list(sig.parameters.values())[1:])

    def __get__(self, owner: FactorsNamespace[Any] | None, cls: type | None = None) -> Any:
        if owner is None:
            return self
        fn, frame = self.fn, owner._frame

        @functools.wraps(fn)
        def method(*args: Any, **kwargs: Any) -> Any:
            return fn(frame, *args, **kwargs)

        method.__signature__ = self.signature  # type: ignore[attr-defined]
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


for _module, _name in PANEL_FUNCTIONS:
    setattr(FactorsNamespace, _name, _Method(_module, _name))
del _module, _name

pl.api.register_lazyframe_namespace("factors")(FactorsNamespace)
pl.api.register_dataframe_namespace("factors")(FactorsNamespace)
