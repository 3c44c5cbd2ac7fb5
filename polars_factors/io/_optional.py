"""Import optional dependencies when a function needs them, with an install hint."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, TypeAlias

from polars_factors.exceptions import MissingDependencyError

__all__ = ["PandasFrame", "import_optional"]

#: A ``pandas.DataFrame`` (pandas is optional, so not named in the signatures' types).
PandasFrame: TypeAlias = Any


def import_optional(module: str, *, extra: str, purpose: str) -> ModuleType:
    """Import ``module``, or raise :class:`MissingDependencyError` saying how to install it.

    Parameters
    ----------
    module
        Module to import, e.g. ``"pandas"``.
    extra
        The polars_factors extra that installs it, e.g. ``"yfinance"``.
    purpose
        What needs it, for the message, e.g. ``"read_yfinance"``.

    Returns
    -------
    ModuleType
        The imported module.

    Raises
    ------
    MissingDependencyError
        The module is not installed (also an ``ImportError``).

    Examples
    --------
    >>> from polars_factors.io._optional import import_optional
    >>> import_optional("json", extra="none", purpose="this example").__name__
    'json'
    >>> import_optional("no_such_module", extra="demo", purpose="this example")
    Traceback (most recent call last):
    ...
    polars_factors.exceptions.MissingDependencyError: this example needs no_such_module, ...
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        msg = (
            f"{purpose} needs {module}, which is not installed. Install it with "
            f"pip install 'polars_factors[{extra}]' (or pip install {module})."
        )
        raise MissingDependencyError(msg, name=module) from err
