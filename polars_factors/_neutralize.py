"""Placeholder: neutralize is being written (see polars_factors.standardize)."""

from __future__ import annotations

from typing import Any


def neutralize(frame: Any, columns: Any, **kwargs: Any) -> Any:
    """Not implemented yet."""
    raise NotImplementedError
