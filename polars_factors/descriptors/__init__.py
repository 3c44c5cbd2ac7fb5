"""Barra USE4 and hsr style descriptors, and the presets that turn them into styles.

From a daily panel of prices, volumes, shares outstanding and point-in-time
fundamentals to the descriptor columns (:func:`compute`), and from descriptors to
style exposures ready for :func:`polars_factors.cross_section` (:func:`styles`, with
the ``"use4"`` and ``"hsr"`` presets of :data:`STYLES`). Every descriptor is a Polars
expression: per asset down its rows in date order, per row, over its last fiscal
years, or per date across assets; lazy in, lazy out. See docs/descriptors.md for each
formula and its source.

Examples
--------
>>> import polars_factors as pf
>>> sorted(pf.descriptors.STYLES["use4"]["residual_volatility"].items())
[('cmra', 0.16), ('dastd', 0.74), ('hsigma', 0.1)]
>>> pf.descriptors.DESCRIPTORS["stom"].needs
('volume', 'shares')
"""

from __future__ import annotations

from polars_factors.descriptors._compute import compute
from polars_factors.descriptors._fundamental import (
    FISCAL_ROLES,
    blev,
    btop,
    cetop,
    dtoa,
    dyld,
    etop,
    fiscal_descriptors,
    growth,
    mlev,
    sp,
    variability,
)
from polars_factors.descriptors._presets import ORTHOGONAL, STYLES, Preset
from polars_factors.descriptors._registry import DESCRIPTORS, FUNDAMENTAL_ROLES, Descriptor
from polars_factors.descriptors._styles import styles

__all__ = [
    "DESCRIPTORS",
    "FISCAL_ROLES",
    "FUNDAMENTAL_ROLES",
    "ORTHOGONAL",
    "STYLES",
    "Descriptor",
    "Preset",
    "blev",
    "btop",
    "cetop",
    "compute",
    "dtoa",
    "dyld",
    "etop",
    "fiscal_descriptors",
    "growth",
    "mlev",
    "sp",
    "styles",
    "variability",
]
