r"""Fundamental descriptors: the fiscal growth and variability of a fundamentals table.

:func:`fiscal_descriptors` adds the USE4 set ``egro``, ``sgro``, ``agro``, ``vern``,
``vsales``, ``vcfs`` to a table of one row per asset and fiscal year; compute them
there, then join them point in time like any other fiscal figure. The expression
builders (the ratios :func:`btop`, :func:`etop`, :func:`cetop`, :func:`sp`,
:func:`mlev`, :func:`dtoa`, :func:`blev`, :func:`dyld`, and :func:`growth`,
:func:`variability`) live in :mod:`polars_factors.exprs` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from polars_factors import _validate
from polars_factors._frame import like_input, temp_name
from polars_factors.exprs._fundamental import (
    blev,
    btop,
    cetop,
    check_window,
    dtoa,
    dyld,
    etop,
    growth,
    mlev,
    sp,
    variability,
)
from polars_factors.typing import FrameT

__all__ = [
    "FISCAL_ROLES",
    "blev",
    "btop",
    "cetop",
    "dtoa",
    "dyld",
    "etop",
    "fiscal_descriptors",
    "growth",
    "mlev",
    "sp",
    "variability",
]


#: The roles :func:`fiscal_descriptors` reads, and the outputs each one gives.
FISCAL_ROLES: dict[str, tuple[str, ...]] = {
    "net_income": ("egro", "vern"),
    "sales": ("sgro", "vsales"),
    "total_assets": ("agro",),
    "operating_cash_flow": ("vcfs",),
    "shares": (),
}


def fiscal_descriptors(
    fundamentals: FrameT,
    roles: Mapping[str, str],
    *,
    period_end: str = "period_end",
    asset: str = "asset",
    years: int = 5,
    min_periods: int | None = None,
) -> FrameT:
    """Add the fiscal growth and variability descriptors to a fundamentals table.

    Parameters
    ----------
    fundamentals
        One row per asset and fiscal year, in any order (sorted here by ``period_end``
        within each asset, and returned in the input's order).
    roles
        Which column plays which role: ``{"net_income": ..., "sales": ...,
        "total_assets": ..., "operating_cash_flow": ..., "shares": ...}``; give the
        ones you have (at least one but ``shares``). Outputs, for the roles present:

        =======================  ==========================================================
        ``net_income``           ``egro`` (:func:`growth`), ``vern`` (:func:`variability`)
        ``sales``                ``sgro``, ``vsales``
        ``total_assets``         ``agro`` (growth of total assets; CNE6's investment
                                 quality uses its negative)
        ``operating_cash_flow``  ``vcfs``
        =======================  ==========================================================

        With ``shares``, earnings, sales and cash flows are taken per share (as USE4
        and CNE6 do); total assets never are.
    period_end, asset
        Key columns of the table.
    years, min_periods
        The window (rows, one per fiscal year) and the present values it needs
        (default ``years``); see :func:`growth`. Variabilities use ``ddof=1``.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        Same kind as ``fundamentals``, same rows in the same order, the output columns
        (Float64) appended. Rows with a null ``asset`` or ``period_end`` get nulls and
        take no place in any window. Join it onto a daily panel with
        :func:`polars_factors.io.point_in_time`.

    Raises
    ------
    ColumnNotFoundError
        If a key or role column is missing.
    SchemaError
        If a role column is not numeric, or a key has a dtype that cannot be a key.
    DuplicateKeyError
        If a DataFrame has more than one row for some ``(asset, period_end)`` (a
        LazyFrame is not checked: pass it collected).
    ValueError
        For an unknown role, no role to compute, an output that would overwrite a
        column, or a bad window.

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> from polars_factors.descriptors._fundamental import fiscal_descriptors
    >>> fund = pl.DataFrame(
    ...     {"asset": ["a"] * 3,
    ...      "period_end": [dt.date(2014, 12, 31), dt.date(2015, 12, 31), dt.date(2016, 12, 31)],
    ...      "ni": [10.0, 12.0, 17.0]}
    ... )
    >>> out = fiscal_descriptors(fund, {"net_income": "ni"}, years=3)
    >>> out.columns
    ['asset', 'period_end', 'ni', 'egro', 'vern']
    >>> out.row(2)  # slope 3.5 / mean 13; std sqrt(13) / mean 13
    ('a', datetime.date(2016, 12, 31), 17.0, 0.269230..., 0.277350...)
    """
    if not isinstance(fundamentals, (pl.DataFrame, pl.LazyFrame)):
        msg = f"expected a polars DataFrame or LazyFrame; got {type(fundamentals).__name__}."
        raise TypeError(msg)
    _validate.check_column_names(period_end=period_end, asset=asset)
    unknown = sorted(set(roles) - set(FISCAL_ROLES))
    if unknown:
        msg = f"unknown roles {unknown}; expected some of {list(FISCAL_ROLES)}."
        raise ValueError(msg)
    for role, col in roles.items():
        if not isinstance(col, str):
            msg = f"roles[{role!r}] must be a column name (str); got {col!r}."
            raise TypeError(msg)
    if not any(FISCAL_ROLES[role] for role in roles):
        msg = f"`roles` must name at least one of {[r for r in FISCAL_ROLES if r != 'shares']}."
        raise ValueError(msg)
    k, n = check_window(years, min_periods)
    schema = fundamentals.collect_schema()
    _validate.check_columns_exist(schema, [asset, period_end], role="fundamentals key")
    _validate.check_key_dtypes(schema, date=period_end, asset=asset)
    for role, col in roles.items():
        _validate.check_columns_exist(schema, [col], role=f"{role} column")
        _validate.check_numeric(schema, [col], role=f"{role} column")
    shares = roles.get("shares")
    exprs = _fiscal_exprs(roles, shares, years=k, min_periods=n)
    _validate.check_new_columns(
        schema,
        list(exprs),
        function="fiscal_descriptors",
        fix="Rename or drop the existing columns first.",
    )
    known = pl.col(asset).is_not_null() & pl.col(period_end).is_not_null()
    if isinstance(fundamentals, pl.DataFrame):
        _validate.check_unique(
            fundamentals.filter(known),
            [asset, period_end],
            what="the fundamentals frame",
            fix="A restated period must replace the original row, e.g. "
            f"frame.unique([{asset!r}, {period_end!r}], keep='last').",
        )
    row = temp_name(set(schema.names()), "row")
    # Rows with a null period end sort after their asset's real years, so that they sit
    # in no real row's (backward-looking) window; their own outputs are masked.
    plan = (
        fundamentals.lazy()
        .with_row_index(row)
        .sort(asset, period_end, nulls_last=True)
        .with_columns(pl.when(known).then(e.over(asset)).alias(name) for name, e in exprs.items())
        .sort(row)
        .drop(row)
    )
    return like_input(fundamentals, plan)


def _fiscal_exprs(
    roles: Mapping[str, str], shares: str | None, *, years: int, min_periods: int
) -> dict[str, pl.Expr]:
    def g(col: str, by_share: str | None) -> pl.Expr:
        return growth(col, shares=by_share, years=years, min_periods=min_periods)

    def v(col: str) -> pl.Expr:
        return variability(col, shares=shares, years=years, min_periods=min_periods)

    out: dict[str, pl.Expr] = {}
    if "net_income" in roles:
        out["egro"] = g(roles["net_income"], shares)
        out["vern"] = v(roles["net_income"])
    if "sales" in roles:
        out["sgro"] = g(roles["sales"], shares)
        out["vsales"] = v(roles["sales"])
    if "total_assets" in roles:
        out["agro"] = g(roles["total_assets"], None)
    if "operating_cash_flow" in roles:
        out["vcfs"] = v(roles["operating_cash_flow"])
    return out
