r"""Expression builders for price-based risk-model descriptors.

Each builder returns one ``pl.Expr`` that works on **one asset's time series**: its
rolling windows, exponential weights and shifts run down the rows in the order they
appear. On a panel, sort the rows by date within each asset (e.g.
``frame.sort("asset", "date")``, or any order in which each asset's dates increase)
and wrap the expression in ``.over("asset")``; without ``.over`` the whole column is
treated as one series. Windows count **rows**, not calendar days: a gap in an asset's
dates is not filled in.

Null, NaN and +-inf inputs are missing. Every builder returns a Float64 expression,
null where too few observations are available.
"""

from __future__ import annotations

import math

import polars as pl

from polars_factors.exprs._core import clean
from polars_factors.typing import IntoExpr

__all__ = [
    "EWM_VARIANCE_RTOL",
    "check_int",
    "ewm_beta",
    "high_low_range",
    "relative_strength",
    "volatility",
]

#: :func:`ewm_beta` is null where the weighted variance of the market return is at most
#: this multiple of its weighted mean square (a constant market, up to round-off).
EWM_VARIANCE_RTOL = 1e-12


def check_int(name: str, value: object, *, minimum: int, hint: str = "") -> int:
    """Return ``value`` if it is an int (not a bool) of at least ``minimum``, else raise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        msg = f"`{name}` must be an integer >= {minimum}{hint}; got {value!r}."
        raise ValueError(msg)
    return value


def _min_periods(min_periods: object, *, window: int, minimum: int) -> int:
    if min_periods is None:
        return window
    n = check_int("min_periods", min_periods, minimum=minimum)
    if n > window:
        msg = f"`min_periods` must be at most the window ({window}); got {n}."
        raise ValueError(msg)
    return n


def ewm_beta(
    returns: IntoExpr,
    market: IntoExpr,
    *,
    half_life: float = 63,
    min_periods: int = 60,
) -> pl.Expr:
    r"""Exponentially weighted beta of ``returns`` to ``market``; use with ``.over(asset)``.

    The risk-model beta (Barra USE4 ``BETA`` with a 63-day half-life): the weighted
    covariance of the asset's and the market's returns over the weighted variance of
    the market's, with weights halving every ``half_life`` rows into the past.

    Parameters
    ----------
    returns
        The asset's returns (column name or expression), one row per date, rows sorted
        by date within the asset.
    market
        The market's returns on the same rows (e.g. a cap-weighted index return joined
        on the date).
    half_life
        Half-life of the weights in rows, positive. ``math.inf``: equal weights (the
        expanding-window OLS beta).
    min_periods
        Number of complete observations (rows where both returns are present) needed
        before a beta is given, an int >= 1.

    Returns
    -------
    pl.Expr
        Float64, named after ``returns``. Null before ``min_periods`` complete
        observations, and where the weighted variance of the market is at most
        ``1e-12`` times its weighted mean square (a constant market).

    Notes
    -----
    Let :math:`C_t` be the rows :math:`s \le t` where both :math:`r_s` and
    :math:`m_s` are present (null, NaN and +-inf are missing). With weights
    :math:`w_s = 2^{-(t - s)/h}`, where :math:`t - s` is the age **in rows** (a row with
    a missing return still ages the older observations),

    .. math::

        \beta_t = \frac{\sum_{s \in C_t} w_s (r_s - \bar r_t)(m_s - \bar m_t)}
                       {\sum_{s \in C_t} w_s (m_s - \bar m_t)^2}, \qquad
        \bar r_t = \frac{\sum_{s \in C_t} w_s r_s}{\sum_{s \in C_t} w_s},

        \bar m_t = \frac{\sum_{s \in C_t} w_s m_s}{\sum_{s \in C_t} w_s},

    given once :math:`|C_t| \ge` ``min_periods``. A row whose own returns are missing
    still gets the beta of the observations before it. This is pandas'
    ``r.ewm(halflife=h, min_periods=n).cov(m) / m.where(r.notna()).ewm(halflife=h,
    min_periods=n).var()`` (``adjust=True``, ``ignore_na=False``; the bias corrections
    of the two moments cancel), and it is tested against it. The weighted moments are
    exponentially weighted means of products (Polars ``ewm_mean``), taken after
    subtracting the first complete observation, which leaves the beta unchanged and
    keeps the subtraction :math:`E[rm] - E[r]E[m]` accurate.

    Examples
    --------
    An asset that moves twice as much as the market has a beta of 2:

    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame(
    ...     {"asset": ["a"] * 4 + ["b"] * 4,
    ...      "date": [1, 2, 3, 4] * 2,
    ...      "mkt": [0.01, -0.02, 0.03, 0.0] * 2,
    ...      "ret": [0.02, -0.04, 0.06, 0.0, 0.0, 0.01, None, 0.01]}
    ... )
    >>> beta = pf.exprs.ewm_beta("ret", "mkt", half_life=2, min_periods=2)
    >>> df.with_columns(beta=beta.over("asset"))["beta"].round(4).to_list()
    [None, 2.0, 2.0, 2.0, None, -0.3333, -0.3333, -0.2241]
    """
    if isinstance(half_life, bool) or not isinstance(half_life, (int, float)):
        msg = f"`half_life` must be a positive number of rows; got {half_life!r}."
        raise ValueError(msg)
    if math.isnan(half_life) or half_life <= 0:
        msg = (
            f"`half_life` must be a positive number of rows (math.inf for equal weights); "
            f"got {half_life!r}."
        )
        raise ValueError(msg)
    check_int("min_periods", min_periods, minimum=1)
    r, m = clean(returns), clean(market)
    complete = r.is_not_null() & m.is_not_null()
    x_raw: pl.Expr = pl.when(complete).then(r)
    y_raw: pl.Expr = pl.when(complete).then(m)
    # Shifting both series by their first complete observation leaves the moments
    # unchanged (and is causal); it keeps E[xy] - E[x]E[y] from cancelling for inputs
    # far from zero.
    x = x_raw - x_raw.drop_nulls().first()
    y = y_raw - y_raw.drop_nulls().first()

    def ewm(e: pl.Expr) -> pl.Expr:
        if math.isinf(half_life):  # equal weights: the expanding mean
            return (e.cum_sum() / e.is_not_null().cum_sum()).forward_fill()
        # ignore_nulls=False: weights decay with the row position, missing rows included;
        # the mean is null on a missing row, where the last estimate still holds.
        return e.ewm_mean(
            half_life=half_life, adjust=True, min_samples=1, ignore_nulls=False
        ).forward_fill()

    mean_x, mean_y = ewm(x), ewm(y)
    mean_yy = ewm(y * y)
    cov = ewm(x * y) - mean_x * mean_y
    var = mean_yy - mean_y * mean_y
    enough = complete.cum_sum() >= min_periods
    return pl.when(enough & (var > EWM_VARIANCE_RTOL * mean_yy)).then(cov / var)


def volatility(returns: IntoExpr, *, window: int = 252, min_periods: int | None = None) -> pl.Expr:
    r"""Compute the rolling standard deviation of returns (``ddof=1``); use with ``.over(asset)``.

    Parameters
    ----------
    returns
        Returns (column name or expression), rows sorted by date within the asset.
    window
        Number of rows in the window ending at (and including) the current row, >= 2.
    min_periods
        Number of present returns the window needs; default ``window`` (a window with a
        missing return gives null, like pandas ``rolling(window).std()``). Between 2
        and ``window``.

    Returns
    -------
    pl.Expr
        Float64, named after ``returns``: the sample standard deviation
        :math:`\sqrt{\frac{1}{n-1}\sum_{s}(r_s - \bar r)^2}` of the :math:`n` present
        returns among rows :math:`t - \mathrm{window} + 1 .. t`; null when
        :math:`n <` ``min_periods``. Not annualized (multiply by :math:`\sqrt{252}`
        for daily returns).

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame(
    ...     {"asset": ["a"] * 4 + ["b"] * 3,
    ...      "ret": [0.01, 0.03, None, 0.02, 0.0, 0.02, 0.04]}
    ... )
    >>> vol = pf.exprs.volatility("ret", window=2).over("asset")
    >>> df.with_columns(vol=vol)["vol"].round(6).to_list()
    [None, 0.014142, None, None, None, 0.014142, 0.014142]
    """
    w = check_int("window", window, minimum=2)
    n = _min_periods(min_periods, window=w, minimum=2)
    return clean(returns).rolling_std(window_size=w, min_samples=n, ddof=1)


def high_low_range(
    high: IntoExpr, low: IntoExpr, *, window: int = 21, min_periods: int | None = None
) -> pl.Expr:
    r"""Log of the highest high over the lowest low in a window; use with ``.over(asset)``.

    Parameters
    ----------
    high, low
        Daily high and low prices (column names or expressions), rows sorted by date
        within the asset. Prices that are not positive finite numbers are missing.
    window
        Number of rows in the window ending at (and including) the current row, >= 1.
    min_periods
        Number of present values each of ``high`` and ``low`` needs in the window;
        default ``window``. Between 1 and ``window``.

    Returns
    -------
    pl.Expr
        Float64, named after ``high``:

        .. math::

            \log \frac{\max_{t-\mathrm{window} < s \le t} H_s}
                      {\min_{t-\mathrm{window} < s \le t} L_s},

        each extreme taken over its own present values; null if either has fewer than
        ``min_periods``.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame(
    ...     {"asset": ["a"] * 3,
    ...      "high": [11.0, 12.0, 10.5],
    ...      "low": [10.0, 9.0, 10.0]}
    ... )
    >>> hl = pf.exprs.high_low_range("high", "low", window=2).over("asset")
    >>> df.with_columns(hl=hl)["hl"].round(6).to_list()
    [None, 0.287682, 0.287682]
    """
    w = check_int("window", window, minimum=1)
    n = _min_periods(min_periods, window=w, minimum=1)
    h, lo = clean(high), clean(low)
    h = pl.when(h > 0).then(h)
    lo = pl.when(lo > 0).then(lo)
    top = h.rolling_max(window_size=w, min_samples=n)
    bottom = lo.rolling_min(window_size=w, min_samples=n)
    return top.log() - bottom.log()


def relative_strength(
    returns: IntoExpr, *, window: int = 252, skip: int = 21, min_periods: int | None = None
) -> pl.Expr:
    r"""Sum of log returns over a window that skips the most recent rows; use with ``.over(asset)``.

    The 12-1 momentum (relative strength) descriptor: with the defaults, the log return
    of the last 252 trading days excluding the most recent 21 (about one month, which
    carries the short-term reversal).

    Parameters
    ----------
    returns
        Simple returns :math:`r` (column name or expression), rows sorted by date
        within the asset. A return of -1 or less (no log) is missing.
    window
        Number of rows looked back, including the skipped ones, >= 1.
    skip
        Number of most recent rows left out, ``0 <= skip < window``.
    min_periods
        Number of present returns needed among the ``window - skip`` summed rows;
        default all of them. Missing returns count as zero when fewer are required.

    Returns
    -------
    pl.Expr
        Float64, named after ``returns``:

        .. math::

            \mathrm{RS}_t = \sum_{s = t - \mathrm{window} + 1}^{t - \mathrm{skip}}
                            \log(1 + r_s),

        i.e. ``window - skip`` rows ending ``skip`` rows before the current one (rows
        before the asset's first count as missing); null when fewer than
        ``min_periods`` of the summed returns are present, hence, by default, for the
        first ``window - 1`` rows of each asset.

    Examples
    --------
    >>> import math
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({"asset": ["a"] * 5, "ret": [0.1, 0.2, -0.1, 0.05, 0.3]})
    >>> rs = pf.exprs.relative_strength("ret", window=4, skip=1).over("asset")
    >>> out = df.with_columns(rs=rs)["rs"].to_list()
    >>> out[:3]
    [None, None, None]
    >>> math.isclose(out[3], math.log(1.1 * 1.2 * 0.9))
    True
    >>> math.isclose(out[4], math.log(1.2 * 0.9 * 1.05))
    True
    """
    w = check_int("window", window, minimum=1)
    k = check_int("skip", skip, minimum=0)
    if k >= w:
        msg = f"`skip` must be smaller than the window ({w}); got skip={k}."
        raise ValueError(msg)
    n = _min_periods(min_periods, window=w - k, minimum=1)
    r = clean(returns)
    log_r = pl.when(r > -1).then(r.log1p())
    return log_r.rolling_sum(window_size=w - k, min_samples=n).shift(k)
