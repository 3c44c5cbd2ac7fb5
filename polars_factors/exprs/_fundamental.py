r"""Fundamental descriptors as expression builders: ratios, fiscal growth and variability.

Two kinds, used on two tables:

- **Ratios** (:func:`btop`, :func:`etop`, :func:`cetop`, :func:`sp`, :func:`mlev`,
  :func:`dtoa`, :func:`blev`, :func:`dyld`) are per-row ``pl.Expr`` (no window): use
  them on a daily panel after :func:`polars_factors.io.point_in_time` has joined the
  latest public fundamentals onto it, next to the market cap of the day.
- **Fiscal history** (:func:`growth`, :func:`variability`) runs down the
  **fundamentals table**, one row per asset and fiscal year, with ``.over(asset)``
  (:func:`polars_factors.descriptors.fiscal_descriptors` computes the USE4 set
  ``egro``, ``sgro``, ``agro``, ``vern``, ``vsales``, ``vcfs`` with them): compute them
  there, then join them point in time like any other fiscal figure.

Null, NaN and +-inf inputs are missing. Every builder returns a Float64 expression.
"""

from __future__ import annotations

import polars as pl

from polars_factors.exprs._core import clean
from polars_factors.exprs._price import check_int
from polars_factors.typing import IntoExpr

__all__ = [
    "blev",
    "btop",
    "cetop",
    "dtoa",
    "dyld",
    "etop",
    "growth",
    "mlev",
    "sp",
    "variability",
]


def _positive(x: IntoExpr) -> pl.Expr:
    """``x`` cleaned, null where it is not positive."""
    c = clean(x)
    return pl.when(c > 0).then(c)


def _ratio(numerator: IntoExpr, denominator: IntoExpr, name: str) -> pl.Expr:
    return (clean(numerator) / _positive(denominator)).alias(name)


def btop(book_equity: IntoExpr, mcap: IntoExpr) -> pl.Expr:
    """Book-to-price: book equity over market capitalization (USE4 BTOP).

    Parameters
    ----------
    book_equity, mcap
        Column names or expressions, in the same currency units.

    Returns
    -------
    pl.Expr
        Float64 named ``"btop"``: ``book_equity / mcap``; null where ``mcap`` is not
        positive or either input is missing. A negative book equity gives a negative
        ratio (kept: it is the cheapest of the expensive, not missing data).

    Examples
    --------
    >>> import polars as pl
    >>> from polars_factors.exprs import btop
    >>> df = pl.DataFrame({"be": [50.0, -10.0, 5.0], "mcap": [100.0, 100.0, 0.0]})
    >>> df.select(btop("be", "mcap"))["btop"].to_list()
    [0.5, -0.1, None]
    """
    return _ratio(book_equity, mcap, "btop")


def etop(net_income: IntoExpr, mcap: IntoExpr) -> pl.Expr:
    """Earnings-to-price: trailing net income over market capitalization (USE4 ETOP).

    Returns ``"etop"``: ``net_income / mcap``, null where ``mcap`` is not positive or
    an input is missing; losses give negative values (kept).

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({"net_income": [5.0, -2.0], "mcap": [100.0, 0.0]})
    >>> df.select(pf.exprs.etop("net_income", "mcap"))["etop"].to_list()
    [0.05, None]
    """
    return _ratio(net_income, mcap, "etop")


def cetop(operating_cash_flow: IntoExpr, mcap: IntoExpr) -> pl.Expr:
    """Cash earnings-to-price: operating cash flow over market capitalization (USE4 CETOP).

    Returns ``"cetop"``: ``operating_cash_flow / mcap``, null where ``mcap`` is not
    positive or an input is missing; negative cash flows give negative values (kept).

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({"operating_cash_flow": [5.0, -2.0], "mcap": [100.0, 0.0]})
    >>> df.select(pf.exprs.cetop("operating_cash_flow", "mcap"))["cetop"].to_list()
    [0.05, None]
    """
    return _ratio(operating_cash_flow, mcap, "cetop")


def sp(sales: IntoExpr, mcap: IntoExpr) -> pl.Expr:
    """Sales-to-price: total revenue over market capitalization.

    Returns ``"sp"``: ``sales / mcap``, null where ``mcap`` is not positive or an input
    is missing.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({"sales": [5.0, -2.0], "mcap": [100.0, 0.0]})
    >>> df.select(pf.exprs.sp("sales", "mcap"))["sp"].to_list()
    [0.05, None]
    """
    return _ratio(sales, mcap, "sp")


def dyld(dividends: IntoExpr, mcap: IntoExpr) -> pl.Expr:
    """Dividend yield: trailing dividends paid over market capitalization.

    Returns ``"dyld"``: ``dividends / mcap``, null where ``mcap`` is not positive or an
    input is missing. (Per share, dividends per share over price is the same number.)

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({"dividends": [5.0, -2.0], "mcap": [100.0, 0.0]})
    >>> df.select(pf.exprs.dyld("dividends", "mcap"))["dyld"].to_list()
    [0.05, None]
    """
    return _ratio(dividends, mcap, "dyld")


def mlev(mcap: IntoExpr, long_term_debt: IntoExpr) -> pl.Expr:
    """Market leverage: ``(mcap + long_term_debt) / mcap`` (USE4 MLEV, without preferred).

    Returns ``"mlev"``, at least 1 for a non-negative debt; null where ``mcap`` is not
    positive or an input is missing. A missing debt is not taken as zero: where the
    source leaves debt out for firms without any, fill it first
    (``pl.col("long_term_debt").fill_null(0)``).

    Examples
    --------
    >>> import polars as pl
    >>> from polars_factors.exprs import mlev
    >>> df = pl.DataFrame({"mcap": [100.0, -1.0, 50.0], "ltd": [50.0, 10.0, None]})
    >>> df.select(mlev("mcap", "ltd"))["mlev"].to_list()
    [1.5, None, None]
    """
    m = _positive(mcap)
    return ((m + clean(long_term_debt)) / m).alias("mlev")


def dtoa(total_liabilities: IntoExpr, total_assets: IntoExpr) -> pl.Expr:
    """Debt-to-assets: total liabilities over total assets (USE4 DTOA).

    Returns ``"dtoa"``: ``total_liabilities / total_assets``, null where total assets
    are not positive or an input is missing.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({"tl": [60.0, 10.0], "ta": [100.0, None]})
    >>> df.select(pf.exprs.dtoa("tl", "ta"))["dtoa"].to_list()
    [0.6, None]
    """
    return _ratio(total_liabilities, total_assets, "dtoa")


def blev(book_equity: IntoExpr, long_term_debt: IntoExpr) -> pl.Expr:
    """Book leverage: ``(book_equity + long_term_debt) / book_equity`` (USE4 BLEV).

    Returns ``"blev"``; null where book equity is not positive (a firm with negative
    book equity has no meaningful book leverage: the ratio would change sign) or an
    input is missing. Fill a missing debt with 0 first where it means none.

    Examples
    --------
    >>> import polars as pl
    >>> from polars_factors.exprs import blev
    >>> df = pl.DataFrame({"be": [40.0, -5.0, 0.0], "ltd": [20.0, 30.0, 1.0]})
    >>> df.select(blev("be", "ltd"))["blev"].to_list()
    [1.5, None, None]
    """
    be = _positive(book_equity)
    return ((be + clean(long_term_debt)) / be).alias("blev")


def check_window(years: object, min_periods: object) -> tuple[int, int]:
    k = check_int("years", years, minimum=2)
    if min_periods is None:
        return k, k
    n = check_int("min_periods", min_periods, minimum=2)
    if n > k:
        msg = f"`min_periods` must be at most `years` ({k}); got {n}."
        raise ValueError(msg)
    return k, n


def _per_share(values: IntoExpr, shares: IntoExpr | None) -> pl.Expr:
    x = clean(values)
    return x if shares is None else x / _positive(shares)


def _named(result: pl.Expr, values: IntoExpr) -> pl.Expr:
    """Name ``result`` after ``values`` (its output name, when it has one)."""
    name = (
        values if isinstance(values, str) else values.meta.output_name(raise_if_undetermined=False)
    )
    return result if name is None else result.alias(name)


class _Window:
    """The last ``years`` values as ``years`` shifted expressions, oldest first.

    ``t`` are their positions 0 .. years-1 (a fiscal year each), ``n`` the count of
    present values, ``mean`` and ``scale`` the mean and the mean absolute value of those.
    """

    def __init__(self, x: pl.Expr, years: int) -> None:
        self.values = [x.shift(years - 1 - t) for t in range(years)]
        self.t = [
            pl.when(v.is_not_null()).then(pl.lit(float(t))) for t, v in enumerate(self.values)
        ]
        self.n = pl.sum_horizontal(v.is_not_null().cast(pl.Int32) for v in self.values)
        self.mean = pl.sum_horizontal(self.values) / self.n
        self.scale = pl.sum_horizontal(v.abs() for v in self.values) / self.n

    def slope(self) -> pl.Expr:
        """OLS slope of the present values on their positions (two-pass sums)."""
        t_mean = pl.sum_horizontal(self.t) / self.n
        sxy = pl.sum_horizontal(
            (t - t_mean) * (v - self.mean) for t, v in zip(self.t, self.values, strict=True)
        )
        sxx = pl.sum_horizontal((t - t_mean).pow(2) for t in self.t)
        return sxy / sxx

    def std(self, ddof: int) -> pl.Expr:
        ss = pl.sum_horizontal((v - self.mean).pow(2) for v in self.values)
        return (ss / (self.n - ddof)).sqrt()


def growth(
    values: IntoExpr,
    *,
    shares: IntoExpr | None = None,
    years: int = 5,
    min_periods: int | None = None,
) -> pl.Expr:
    r"""Compute the fiscal growth rate: trend slope over mean absolute level (USE4 EGRO, SGRO).

    Works on **one asset's fiscal history**: rows are fiscal years, sorted by period
    end. On a fundamentals table of many assets, sort by ``(asset, period_end)`` and use
    ``growth(...).over("asset")`` (or :func:`fiscal_descriptors`, which sorts for you).

    Parameters
    ----------
    values
        The fiscal figure (column name or expression): net income, sales, total assets.
    shares
        Shares outstanding of each fiscal year: when given, the regression runs on
        ``values / shares`` (per share, as USE4 does for earnings and sales growth: it
        leaves out growth by share issuance); a non-positive share count is missing.
        ``None`` (the default) uses ``values`` as given (pass per-share values, or total
        assets, directly).
    years
        Rows in the window ending at (and including) the current row, one per fiscal
        year; at least 2.
    min_periods
        Present values the window needs; default ``years`` (a missing year gives
        null). Between 2 and ``years``.

    Returns
    -------
    pl.Expr
        Float64, named after ``values``:

        .. math:: g = \frac{b}{\frac{1}{n}\sum_s |y_s|}, \qquad
                  b = \frac{\sum_s (t_s - \bar t)(y_s - \bar y)}{\sum_s (t_s - \bar t)^2}

        over the :math:`n` present values :math:`y_s` of the window, at positions
        :math:`t_s \in \{0, .., \mathrm{years} - 1\}` (a missing year keeps its place:
        the slope is per fiscal year). Null when :math:`n <` ``min_periods`` or the
        mean absolute value is 0.

    Notes
    -----
    Windows count **rows**: a fiscal year absent from the table is not filled in, and
    the window then spans more than ``years`` years. Keep one row per fiscal year (a
    row of nulls for a year without figures). A change of fiscal year end is counted
    as one year.

    Examples
    --------
    >>> import polars as pl
    >>> from polars_factors.exprs import growth
    >>> df = pl.DataFrame({"asset": ["a"] * 4, "sales": [100.0, 110.0, 120.0, 130.0]})
    >>> df.select(growth("sales", years=3).over("asset"))["sales"].to_list()
    [None, None, 0.090909..., 0.083333...]
    """
    k, n = check_window(years, min_periods)
    w = _Window(_per_share(values, shares), k)
    return _named(pl.when((w.n >= n) & (w.scale > 0)).then(w.slope() / w.scale), values)


def variability(
    values: IntoExpr,
    *,
    shares: IntoExpr | None = None,
    years: int = 5,
    min_periods: int | None = None,
    ddof: int = 1,
) -> pl.Expr:
    r"""Compute the fiscal variability: standard deviation over mean absolute level.

    USE4 / CNE6 VERN, VSALES (VSAL), VCFS (VFLO) from earnings, sales and cash flows.
    Works on one asset's fiscal history like :func:`growth` (rows are fiscal years
    sorted by period end; use ``.over("asset")`` on a table of many assets).

    Parameters
    ----------
    values
        The fiscal figure (column name or expression).
    shares
        Shares outstanding of each fiscal year: when given, the statistic is that of
        ``values / shares`` (per share, as CNE6 defines them); ``None`` (the default)
        uses ``values`` as given.
    years, min_periods
        As in :func:`growth`: the window's rows (at least 2) and the present values it
        needs (default ``years``, at least 2).
    ddof
        Delta degrees of freedom of the standard deviation: 1 (the default) is the
        sample standard deviation, ``np.std(ddof=1)``; 0 the population one. Must be
        below ``min_periods``.

    Returns
    -------
    pl.Expr
        Float64, named after ``values``:
        :math:`\sqrt{\frac{1}{n - \mathrm{ddof}}\sum_s (y_s - \bar y)^2} \big/
        \frac{1}{n}\sum_s |y_s|` over the :math:`n` present values of the window;
        null when :math:`n <` ``min_periods`` or the mean absolute value is 0.

    Examples
    --------
    >>> import polars as pl
    >>> from polars_factors.exprs import variability
    >>> df = pl.DataFrame({"asset": ["a"] * 3, "ni": [10.0, 14.0, 12.0]})
    >>> df.select(variability("ni", years=3).over("asset"))["ni"].to_list()
    [None, None, 0.166666...]
    """
    k, n = check_window(years, min_periods)
    d = check_int("ddof", ddof, minimum=0)
    if d >= n:
        msg = f"`ddof` must be below `min_periods` ({n}); got {d}."
        raise ValueError(msg)
    w = _Window(_per_share(values, shares), k)
    return _named(pl.when((w.n >= n) & (w.scale > 0)).then(w.std(d) / w.scale), values)
