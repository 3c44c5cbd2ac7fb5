"""The descriptors: what each needs (roles), how it is computed (kind), its expression."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

__all__ = ["DESCRIPTORS", "FUNDAMENTAL_ROLES", "PRICE_ROLES", "Descriptor", "Kind"]

#: ``"row"``: a ratio of the row's own values; ``"asset"``: down each asset's rows in
#: date order (``.over(asset)``); ``"fiscal"``: over each asset's last fiscal years;
#: ``"date"``: across the assets of each date (``.over(date)``).
Kind = Literal["row", "asset", "fiscal", "date"]

#: Roles of the price panel, with the keyword of :func:`compute` that names each.
PRICE_ROLES = ("returns", "market", "close", "high", "low", "volume", "shares")

#: Roles of ``fundamentals=`` (columns already joined point in time, e.g. by
#: :func:`polars_factors.io.point_in_time`, which also adds ``period_end``).
FUNDAMENTAL_ROLES = (
    "book_equity",
    "net_income",
    "sales",
    "operating_cash_flow",
    "total_assets",
    "total_liabilities",
    "long_term_debt",
    "dividends",
    "period_end",
)

#: Builds a descriptor from the role expressions (``"mcap"`` and ``"lncap"`` included)
#: and its options.
Builder = Callable[[Mapping[str, pl.Expr], Mapping[str, Any]], pl.Expr]


@dataclass(frozen=True)
class Descriptor:
    """One descriptor: its roles, its kind and its builder (or fiscal column)."""

    name: str
    needs: tuple[str, ...]
    kind: Kind
    build: Builder | None
    summary: str
    #: Whether ``compute(parameters=...)`` may pass it options (a log or the per-date
    #: cube takes none).
    takes_options: bool = True


def _exprs() -> Any:
    from polars_factors import exprs  # noqa: PLC0415  (loaded when first computed)

    return exprs


def _fund() -> Any:
    from polars_factors.descriptors import _fundamental  # noqa: PLC0415

    return _fundamental


def _price(fn: str, *roles: str) -> Builder:
    def build(c: Mapping[str, pl.Expr], p: Mapping[str, Any]) -> pl.Expr:
        kw = dict(p)
        if "risk_free" in c and fn in _EXCESS:
            kw.setdefault("risk_free", c["risk_free"])
        out: pl.Expr = getattr(_exprs(), fn)(*(c[r] for r in roles), **kw)
        return out

    return build


def _ratio(fn: str, *roles: str) -> Builder:
    def build(c: Mapping[str, pl.Expr], p: Mapping[str, Any]) -> pl.Expr:
        out: pl.Expr = getattr(_fund(), fn)(*(c[r] for r in roles), **p)
        return out

    return build


#: The price builders that take ``risk_free`` (excess returns).
_EXCESS = frozenset({"beta", "hsigma", "dastd", "cmra", "rstr"})


DESCRIPTORS: dict[str, Descriptor] = {
    d.name: d
    for d in (
        Descriptor("beta", ("returns", "market"), "asset", _price("beta", "returns", "market"),
           "slope of the 252-day WLS of excess returns on the market's (half-life 63)"),
        Descriptor("hsigma", ("returns", "market"), "asset", _price("hsigma", "returns", "market"),
           "weighted std of the residuals of that regression"),
        Descriptor("dastd", ("returns",), "asset", _price("dastd", "returns"),
           "weighted std of 252 daily excess returns (half-life 42)"),
        Descriptor("cmra", ("returns",), "asset", _price("cmra", "returns"),
           "range of the 12 cumulative monthly log excess returns"),
        Descriptor("rstr", ("returns",), "asset", _price("rstr", "returns"),
           "weighted sum of 504 log excess returns, lagged 21 days (half-life 126)"),
        Descriptor("lncap", ("close", "shares"), "row", lambda c, _: c["lncap"],
           "log market cap (close x shares)", takes_options=False),
        Descriptor("nlsize", ("close", "shares"), "date", None,
           "cube of standardized lncap, orthogonal to it per date, standardized",
           takes_options=False),
        Descriptor("stom", ("volume", "shares"), "asset", _price("stom", "volume", "shares"),
           "log of the last 21 days' share turnover"),
        Descriptor("stoq", ("volume", "shares"), "asset", _price("stoq", "volume", "shares"),
           "log of the mean monthly turnover over 63 days"),
        Descriptor("stoa", ("volume", "shares"), "asset", _price("stoa", "volume", "shares"),
           "log of the mean monthly turnover over 252 days"),
        Descriptor("hilo", ("high", "low"), "asset", _price("hilo", "high", "low"),
           "log of the 21-day highest high over the lowest low"),
        Descriptor("btop", ("book_equity", "close", "shares"), "row",
           _ratio("btop", "book_equity", "mcap"),
           "book equity / market cap"),
        Descriptor("etop", ("net_income", "close", "shares"), "row",
           _ratio("etop", "net_income", "mcap"),
           "trailing earnings / market cap"),
        Descriptor("cetop", ("operating_cash_flow", "close", "shares"), "row",
           _ratio("cetop", "operating_cash_flow", "mcap"), "operating cash flow / market cap"),
        Descriptor("sp", ("sales", "close", "shares"), "row", _ratio("sp", "sales", "mcap"),
           "sales / market cap"),
        Descriptor("mlev", ("long_term_debt", "close", "shares"), "row",
           _ratio("mlev", "mcap", "long_term_debt"), "(market cap + long-term debt) / market cap"),
        Descriptor("dtoa", ("total_liabilities", "total_assets"), "row",
           _ratio("dtoa", "total_liabilities", "total_assets"), "total liabilities / total assets"),
        Descriptor("blev", ("book_equity", "long_term_debt"), "row",
           _ratio("blev", "book_equity", "long_term_debt"),
           "(book equity + long-term debt) / book equity"),
        Descriptor("dyld", ("dividends", "close", "shares"), "row",
           _ratio("dyld", "dividends", "mcap"),
           "trailing dividends / market cap"),
        Descriptor("egro", ("net_income", "period_end"), "fiscal", None,
           "5-year earnings trend / mean absolute earnings"),
        Descriptor("sgro", ("sales", "period_end"), "fiscal", None,
           "5-year sales trend / mean absolute sales"),
        Descriptor("agro", ("total_assets", "period_end"), "fiscal", None,
           "5-year total-assets trend / mean absolute total assets"),
        Descriptor("vern", ("net_income", "period_end"), "fiscal", None,
           "std / mean absolute of 5 years of earnings"),
        Descriptor("vsales", ("sales", "period_end"), "fiscal", None,
           "std / mean absolute of 5 years of sales"),
        Descriptor("vcfs", ("operating_cash_flow", "period_end"), "fiscal", None,
           "std / mean absolute of 5 years of operating cash flow"),
    )
}  # fmt: skip
