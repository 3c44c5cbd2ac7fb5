r"""Forward returns from prices, aligned for signal evaluation.

A signal observed at the close of date :math:`t` is judged by the return that starts
after it: :math:`P_{t+h} / P_t - 1`, the return from the close of :math:`t` to the
close :math:`h` rows later. :func:`forward_returns` builds one such column per
horizon.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from polars_factors.exprs._core import clean
from polars_factors.exprs._price import check_int
from polars_factors.typing import IntoExpr

__all__ = ["forward_returns"]


def forward_returns(
    price: IntoExpr,
    periods: int | Sequence[int] = (1, 5, 21),
    *,
    asset: str | None = None,
    date: str | None = None,
    prefix: str = "fwd_ret_",
) -> list[pl.Expr]:
    r"""Build forward returns over one or more horizons, one expression per horizon.

    Parameters
    ----------
    price
        Prices (column name or expression), e.g. adjusted closes. Null, NaN, +-inf,
        zero and negative prices are missing.
    periods
        Horizon(s) in rows, positive ints, e.g. ``(1, 5, 21)`` for a day, a week and
        a month of trading days. Each gives one expression.
    asset
        Asset column. Given, each expression is wrapped in ``.over(asset)``, so the
        returns never cross from one asset to the next. ``None`` (default): the
        expressions run down the whole column, as one series; apply
        ``.over(asset)`` yourself, as with the other builders.
    date
        Date column, with ``asset``: the rows of each asset are taken in ``date``
        order (``.over(asset, order_by=date)``), whatever the row order of the frame.
        Without it, each asset's rows must already be in date order.
    prefix
        The expression for horizon ``h`` is named ``f"{prefix}{h}"``.

    Returns
    -------
    list of pl.Expr
        One Float64 expression per horizon, in the order of ``periods``: at row
        :math:`t`,

        .. math::

            r^{(h)}_t = \frac{P_{t+h}}{P_t} - 1,

        where :math:`t+h` is the row :math:`h` rows further down the asset's series.
        Null where either price is missing and for an asset's last :math:`h` rows.

    Raises
    ------
    ValueError
        A horizon is not a positive int or repeats, ``periods`` is empty, or ``date``
        is given without ``asset``.
    TypeError
        ``asset``, ``date`` or ``prefix`` is not a string.

    Notes
    -----
    Horizons count rows, not calendar days: on a daily panel, ``h=21`` is 21 trading
    days when every asset has a row on every trading day. A gap in an asset's dates is
    not filled in, so ``h`` rows may span more time; reindex the panel to a full
    calendar first if that matters.

    The return at :math:`t` starts at the close of :math:`t`, so a signal known at the
    close of :math:`t` can be compared with it without look-ahead (this is alphalens'
    ``compute_forward_returns``). A signal computed from the close of :math:`t` itself
    and traded at the next open needs a one-row lag more.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame(
    ...     {"date": [1, 1, 2, 2, 3, 3, 4, 4],
    ...      "asset": ["a", "b"] * 4,
    ...      "close": [10.0, 20.0, 11.0, 19.0, 12.1, None, 9.9, 22.0]}
    ... )
    >>> fwd = pf.exprs.forward_returns("close", periods=(1, 2), asset="asset", date="date")
    >>> df.with_columns(fwd).with_columns(pl.col("^fwd_ret_.*$").round(4))
    shape: (8, 5)
    ┌──────┬───────┬───────┬───────────┬───────────┐
    │ date ┆ asset ┆ close ┆ fwd_ret_1 ┆ fwd_ret_2 │
    │ ---  ┆ ---   ┆ ---   ┆ ---       ┆ ---       │
    │ i64  ┆ str   ┆ f64   ┆ f64       ┆ f64       │
    ╞══════╪═══════╪═══════╪═══════════╪═══════════╡
    │ 1    ┆ a     ┆ 10.0  ┆ 0.1       ┆ 0.21      │
    │ 1    ┆ b     ┆ 20.0  ┆ -0.05     ┆ null      │
    │ 2    ┆ a     ┆ 11.0  ┆ 0.1       ┆ -0.1      │
    │ 2    ┆ b     ┆ 19.0  ┆ null      ┆ 0.1579    │
    │ 3    ┆ a     ┆ 12.1  ┆ -0.1818   ┆ null      │
    │ 3    ┆ b     ┆ null  ┆ null      ┆ null      │
    │ 4    ┆ a     ┆ 9.9   ┆ null      ┆ null      │
    │ 4    ┆ b     ┆ 22.0  ┆ null      ┆ null      │
    └──────┴───────┴───────┴───────────┴───────────┘

    Without ``asset=``, apply the window yourself (rows sorted by date per asset):

    >>> exprs = pf.exprs.forward_returns("close", periods=1)
    >>> df.with_columns(e.over("asset") for e in exprs)["fwd_ret_1"].round(4).to_list()
    [0.1, -0.05, 0.1, None, -0.1818, None, None, None]
    """
    horizons = _check_periods(periods)
    for name, value in (("asset", asset), ("date", date)):
        if value is not None and not isinstance(value, str):
            msg = f"`{name}` must be a column name or None; got {value!r}."
            raise TypeError(msg)
    if not isinstance(prefix, str):
        msg = f"`prefix` must be a string; got {prefix!r}."
        raise TypeError(msg)
    if date is not None and asset is None:
        msg = (
            "`date` orders the rows within each asset, so it needs `asset` too; pass "
            "asset=<asset column>, or sort the frame by date and leave both out."
        )
        raise ValueError(msg)
    p = clean(price)
    p = pl.when(p > 0).then(p)
    out = []
    for h in horizons:
        expr = p.shift(-h) / p - 1.0
        if asset is not None:
            expr = expr.over(asset, order_by=date)
        out.append(expr.alias(f"{prefix}{h}"))
    return out


def _check_periods(periods: object) -> list[int]:
    if isinstance(periods, Sequence) and not isinstance(periods, str):
        values: list[object] = list(periods)
    else:
        values = [periods]
    if not values:
        msg = "`periods` must name at least one horizon, e.g. periods=(1, 5, 21)."
        raise ValueError(msg)
    horizons = [check_int("periods", h, minimum=1, hint=" (a horizon in rows)") for h in values]
    if len(set(horizons)) != len(horizons):
        msg = f"`periods` repeats a horizon: {horizons}; each gives one column."
        raise ValueError(msg)
    return horizons
