"""Expression builders for cross-sectional regressions."""

from __future__ import annotations

import polars as pl

from polars_factors.exprs._core import clean
from polars_factors.typing import IntoExpr

__all__ = ["regression_weights"]


def regression_weights(market_cap: IntoExpr, *, cap_quantile: float | None = None) -> pl.Expr:
    r"""Square root of market cap, optionally capped at a cross-sectional quantile.

    The usual weights of a fundamental factor model's cross-sectional regression
    (Barra USE4): the variance of specific returns falls roughly like the inverse
    square root of size, so ``weights = sqrt(cap)`` are inverse-variance weights in
    the statsmodels ``WLS`` sense. Capping stops a few mega caps from dominating a
    date's fit. With ``cap_quantile`` use it with ``.over(date)``.

    Parameters
    ----------
    market_cap
        Column name or expression of market capitalization.
    cap_quantile
        Cap the market cap at this quantile of the group (linear interpolation,
        numpy's definition) before the square root, e.g. ``0.95``. None: no cap.

    Returns
    -------
    pl.Expr
        Float64; null where the cap is null, NaN, infinite or not positive (such rows
        are left out of :func:`polars_factors.cross_section`).

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({"date": [1] * 6, "cap": [1.0, 4.0, 9.0, 16.0, 25.0, -1.0]})
    >>> w = pf.exprs.regression_weights("cap", cap_quantile=0.5).over("date")
    >>> df.select(w)["cap"].to_list()
    [1.0, 2.0, 3.0, 3.0, 3.0, None]
    """
    cap = clean(market_cap)
    cap = pl.when(cap > 0).then(cap)
    if cap_quantile is not None:
        if not (isinstance(cap_quantile, (int, float)) and 0 < cap_quantile <= 1):
            msg = f"cap_quantile must be in (0, 1]; got {cap_quantile!r}."
            raise ValueError(msg)
        cap = cap.clip(upper_bound=cap.quantile(cap_quantile, interpolation="linear"))
    return cap.sqrt()
