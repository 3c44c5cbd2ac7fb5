"""Style presets: the descriptors of each style, their weights, and the orthogonalisations."""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal

__all__ = ["ORTHOGONAL", "STYLES", "Preset"]

Preset = Literal["use4", "hsr"]

#: Descriptor weights per style. ``"use4"``: Barra USE4 (Menchero, Orr and Wang,
#: *The Barra US Equity Model (USE4)*, 2011, Table 4.1), less the descriptors that need
#: analyst forecasts (EPFWD, EGRLF, EGRSF): weights are renormalised over the
#: descriptors available on each row. ``"hsr"``: the 12 styles of the hsr risk-model
#: notebook, each the equal-weighted average of its descriptors (those it builds from
#: data this package does not have, payout, capex and debt growth, are left out).
STYLES: MappingProxyType[str, MappingProxyType[str, MappingProxyType[str, float]]] = (
    MappingProxyType(
        {
            "use4": MappingProxyType(
                {
                    "beta": MappingProxyType({"beta": 1.0}),
                    "momentum": MappingProxyType({"rstr": 1.0}),
                    "size": MappingProxyType({"lncap": 1.0}),
                    "residual_volatility": MappingProxyType(
                        {"dastd": 0.74, "cmra": 0.16, "hsigma": 0.10}
                    ),
                    "nonlinear_size": MappingProxyType({"nlsize": 1.0}),
                    "book_to_price": MappingProxyType({"btop": 1.0}),
                    "liquidity": MappingProxyType({"stom": 0.35, "stoq": 0.35, "stoa": 0.30}),
                    "earnings_yield": MappingProxyType({"cetop": 0.21, "etop": 0.11}),
                    "growth": MappingProxyType({"egro": 0.24, "sgro": 0.47}),
                    "leverage": MappingProxyType({"mlev": 0.38, "dtoa": 0.35, "blev": 0.27}),
                }
            ),
            "hsr": MappingProxyType(
                {
                    "beta": MappingProxyType({"beta": 1.0}),
                    "momentum": MappingProxyType({"rstr": 1.0}),
                    "size": MappingProxyType({"lncap": 1.0}),
                    "nonlinear_size": MappingProxyType({"nlsize": 1.0}),
                    "volatility": MappingProxyType({"dastd": 1.0, "hilo": 1.0}),
                    "liquidity": MappingProxyType({"stom": 1.0, "stoq": 1.0, "stoa": 1.0}),
                    "growth": MappingProxyType({"agro": 1.0, "egro": 1.0, "sgro": 1.0}),
                    "value": MappingProxyType({"btop": 1.0, "sp": 1.0, "cetop": 1.0}),
                    "earnings_yield": MappingProxyType({"etop": 1.0}),
                    "earnings_variability": MappingProxyType(
                        {"vern": 1.0, "vsales": 1.0, "vcfs": 1.0}
                    ),
                    "leverage": MappingProxyType({"mlev": 1.0, "dtoa": 1.0, "blev": 1.0}),
                    "dividend_yield": MappingProxyType({"dyld": 1.0}),
                }
            ),
        }
    )
)

#: The USE4 orthogonalisations (section 4.2 of the USE4 methodology): a style is
#: replaced by its residual from a per-date, regression-weighted fit on these styles,
#: then standardized again. Applied by both presets where the styles exist.
ORTHOGONAL: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "residual_volatility": ("beta", "size"),
        "volatility": ("beta", "size"),
        "liquidity": ("size",),
    }
)
