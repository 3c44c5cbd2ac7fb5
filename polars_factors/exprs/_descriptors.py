r"""Expression builders for the Barra USE4 price descriptors.

Each builder returns one ``pl.Expr`` that works on **one asset's time series**, like
those in :mod:`polars_factors.exprs._price`: sort the rows by date within each asset and
wrap the expression in ``.over("asset")``. Windows count **rows** (the asset's rows, not
calendar days); rows before the asset's first row count as missing.

Conventions shared by every builder:

- Null, NaN and +-inf inputs are missing; so are returns of -1 or less where a log is
  taken, and non-positive prices, shares outstanding and negative volumes.
- ``risk_free`` (a column name or expression on the same rows, or ``None`` for 0) is
  subtracted from the returns; a row whose risk-free rate is missing is missing.
- Exponential weights are :math:`w = 2^{-\mathrm{age}/h}` with the age in rows (a row
  with a missing value still ages the older ones); ``half_life=None`` or ``math.inf``
  gives equal weights.
- ``min_periods`` counts the **present** observations in the window.
- The result is Float64, named after the first input, and null where there is not
  enough history (never NaN).

The moments are window sums of the values with missing ones set to 0, next to the
same sums of a presence indicator, so that every sum runs over the present rows only.
Equal weights use plain rolling sums. Exponential weights do not use weighted rolling
sums (O(window) work per row) but one recursive pass per sum, O(1) per row: with
:math:`d = 2^{-1/h}` and :math:`E_t(v) = \sum_{a \ge 0} d^a v_{t-a}` (an
exponentially weighted moving sum over the asset's whole history),

.. math::

    \sum_{a=0}^{W-1} d^a v_{t-a} = E_t(v) - d^W E_{t-W}(v)
                                 = E_t\bigl(v_{\cdot} - d^W v_{\cdot - W}\bigr),

computed as ``ewm_mean(adjust=True)`` of ``v`` minus ``d^W`` times ``v`` lagged by
``W`` rows (the mean's normalizer is the same for every sum of a row and cancels in the
moments). A row leaves the running sum exactly when it leaves the window, so no sum over
the whole history cancels; the round-off, which decays like the weights, is about
:math:`10^{-16} \min(k, 1.44 h)` times the size of the recent window sums (``k``: the
row's index within the asset), against :math:`10^{-16} W` for direct sums: no worse
for half-lives up to about ``0.7 W``, and :math:`\min(k, 1.44 h) / W` times that for
longer ones. Half-lives under one row (weights more than halving every row, where the
recursion's normalized update would lose digits on missing rows) use weighted rolling
sums.
"""

from __future__ import annotations

import math
import operator
from functools import reduce

import polars as pl

from polars_factors.exprs._core import clean, to_expr
from polars_factors.exprs._price import (
    EWM_VARIANCE_RTOL,
    _min_periods,
    check_int,
    high_low_range,
)
from polars_factors.typing import IntoExpr

__all__ = [
    "beta",
    "cmra",
    "dastd",
    "hilo",
    "hsigma",
    "lncap",
    "rstr",
    "share_turnover",
    "stoa",
    "stom",
    "stoq",
]


# --- helpers -----------------------------------------------------------------------------


def _half_life(value: object) -> float:
    """Check a half-life in rows; return ``math.inf`` (equal weights) for ``None`` or inf."""
    if value is None:
        return math.inf
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        msg = f"`half_life` must be a positive number of rows or None; got {value!r}."
        raise ValueError(msg)
    if value <= 0:
        msg = (
            f"`half_life` must be a positive number of rows (None or math.inf for equal "
            f"weights); got {value!r}."
        )
        raise ValueError(msg)
    return float(value)


def _excess(returns: IntoExpr, risk_free: IntoExpr | None) -> pl.Expr:
    r = clean(returns)
    return r if risk_free is None else r - clean(risk_free)


def _log_excess(returns: IntoExpr, risk_free: IntoExpr | None) -> pl.Expr:
    """``ln(1 + r) - ln(1 + r_f)``; missing where either return is missing or <= -1."""
    r = clean(returns)
    log_r = pl.when(r > -1).then(r.log1p())
    if risk_free is None:
        return log_r
    rf = clean(risk_free)
    return log_r - pl.when(rf > -1).then(rf.log1p())


def _count(present: pl.Expr, window: int) -> pl.Expr:
    """Count the present rows among the last ``window`` rows."""
    return present.cast(pl.Int64).rolling_sum(window_size=window, min_samples=1)


def _centered(x: pl.Expr) -> pl.Expr:
    """``x`` minus its first present value, missing values set to 0."""
    # Subtracting the first present value (a constant, known from that row on) leaves
    # every central moment unchanged and keeps E[x^2] - E[x]^2 from cancelling.
    return (x - x.drop_nulls().first()).fill_null(0.0)


def _product(names: tuple[str, ...], suffix: str = "") -> pl.Expr:
    return reduce(operator.mul, (pl.field(name + suffix) for name in names))


def _window_sums(
    sums: dict[str, tuple[str, ...]], *, window: int, half_life: float
) -> list[dict[str, pl.Expr]]:
    r"""Stages for :func:`_let` that sum products of earlier fields over ``window`` rows.

    The stages before them must have the field ``p`` (1.0 on a present row, else 0.0)
    and the fields that ``sums`` names, 0 on the missing rows. Each entry of ``sums``
    names the fields whose product is summed over the last ``window`` rows with the
    weights :math:`d^{\mathrm{age}}`, :math:`d = 2^{-1/h}`. The last stage has one field
    per entry and ``n``, the number of present rows in the window. Every sum of a row
    carries the same positive factor, so only their ratios are meaningful: 1 for equal
    weights, :math:`1 / \sum_{a=0}^{k} d^a` for exponential ones (``k``: the row's
    index within the asset).

    Equal weights are plain rolling sums; exponential ones are ``ewm_mean`` passes over
    each product minus ``d^W`` times its value ``W`` rows back (see the module notes
    for the identity behind it and its accuracy), the ``W``-row lags of the fields
    being a stage of their own; half-lives under one row use weighted rolling sums.
    """
    count = {"n": _count(pl.field("p"), window)}
    decay = 0.5 ** (1.0 / half_life)
    if decay == 1.0:  # equal weights: h = inf, or so long that every weight rounds to 1
        rolled = {k: _product(v).rolling_sum(window, min_samples=1) for k, v in sums.items()}
        return [rolled | count]
    if decay < 0.5:
        # Under one row of half-life, the update of `ewm_mean` on a missing row
        # (m - m / (1 + d * ...)) cancels by a factor of about 1/d: direct weighted sums.
        weights = [0.5 ** ((window - 1 - i) / half_life) for i in range(window)]
        rolled = {
            k: _product(v).rolling_sum(window, weights=weights, min_samples=1)
            for k, v in sums.items()
        }
        return [rolled | count]
    alpha = 1.0 - decay
    # The weight of the row `window` rows back, from the decay factor that `ewm_mean`
    # uses (1 - alpha, which can differ from 2^(-1/h) in the last bit).
    tail = (1.0 - alpha) ** window
    used = sorted({name for names in sums.values() for name in names})
    lagged = {f"{name}_lag": pl.field(name).shift(window, fill_value=0.0) for name in used}
    weighted = {
        k: (_product(v) - tail * _product(v, "_lag")).ewm_mean(alpha=alpha, adjust=True)
        for k, v in sums.items()
    }
    return [lagged, weighted | count]


def _let(result: pl.Expr, *stages: dict[str, pl.Expr], named_like: IntoExpr) -> pl.Expr:
    """Evaluate ``result``, written with ``pl.field(name)``, on ``stages`` computed once.

    Polars does not share common subexpressions inside ``.over``: a rolling sum used
    twice in an expression is computed twice. Here each field is computed once (as a
    struct field), and the fields of a stage and ``result`` refer to the fields of the
    stages before them by name (a field may be replaced by a later stage).
    """
    first, *rest = stages
    packed = pl.struct([e.alias(k) for k, e in first.items()])
    for stage in rest:
        packed = packed.struct.with_fields([e.alias(k) for k, e in stage.items()])
    out = packed.struct.with_fields(result.alias("_result")).struct.field("_result")
    name = to_expr(named_like).meta.output_name(raise_if_undetermined=False)
    return out.name.keep() if name is None else out.alias(name)


def _moments(
    returns: IntoExpr,
    market: IntoExpr,
    *,
    risk_free: IntoExpr | None,
    window: int,
    half_life: float | None,
    min_periods: int,
    residual: bool,
) -> tuple[list[dict[str, pl.Expr]], pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
    """Weighted sums of the regression and, in terms of them, what beta/hsigma need.

    Returns the stages for :func:`_let` and ``(ok, var_market, cov, var_asset)``, the
    weighted moments (divided by the weight sum) as ``pl.field`` expressions. The sum
    of squares of the asset's returns, which only ``var_asset`` needs, is computed only
    with ``residual=True``.
    """
    w = check_int("window", window, minimum=2)
    n = _min_periods(min_periods, window=w, minimum=2)
    h = _half_life(half_life)
    f = pl.field
    complete = f("x").is_not_null() & f("y").is_not_null()
    sums = {"w": ("p",), "sx": ("x",), "sy": ("y",), "xx": ("x", "x"), "xy": ("x", "y")}
    if residual:
        sums["yy"] = ("y", "y")
    stages = [
        {"x": _excess(market, risk_free), "y": _excess(returns, risk_free)},
        {
            "p": complete.cast(pl.Float64),
            "x": pl.when(complete).then(f("x")),
            "y": pl.when(complete).then(f("y")),
        },
        {"x": _centered(f("x")), "y": _centered(f("y"))},
        *_window_sums(sums, window=w, half_life=h),
    ]
    total = f("w")
    mean_x, mean_y, mean_xx = f("sx") / total, f("sy") / total, f("xx") / total
    var_x = mean_xx - mean_x * mean_x
    cov = f("xy") / total - mean_x * mean_y
    var_y = f("yy") / total - mean_y * mean_y
    ok = (f("n") >= n) & (total > 0) & (var_x > EWM_VARIANCE_RTOL * mean_xx)
    return stages, ok, var_x, cov, var_y


# --- beta, hsigma, dastd ---------------------------------------------------------------


def beta(
    returns: IntoExpr,
    market: IntoExpr,
    *,
    risk_free: IntoExpr | None = None,
    window: int = 252,
    half_life: float | None = 63,
    min_periods: int = 63,
) -> pl.Expr:
    r"""Compute the rolling weighted market beta (USE4 ``BETA``); use with ``.over(asset)``.

    The slope of a weighted least-squares regression, with intercept, of the asset's
    excess return on the market's excess return over the last ``window`` rows, with
    weights halving every ``half_life`` rows into the past.

    Parameters
    ----------
    returns
        The asset's returns (column name or expression), rows sorted by date within the
        asset.
    market
        The market's returns on the same rows (e.g. a cap-weighted index return joined
        on the date).
    risk_free
        Risk-free rate on the same rows, subtracted from both returns; ``None``: 0.
    window
        Number of rows in the window ending at (and including) the current row, >= 2.
    half_life
        Half-life of the weights in rows, positive; ``None`` or ``math.inf``: equal
        weights.
    min_periods
        Number of complete rows (both returns present) the window needs, between 2 and
        ``window``.

    Returns
    -------
    pl.Expr
        Float64, named after ``returns``. Null with fewer than ``min_periods`` complete
        rows in the window, and where the weighted variance of the market is at most
        ``1e-12`` times its weighted mean square (a constant market).

    Notes
    -----
    Let :math:`y_s = r_s - r_{f,s}` and :math:`x_s = m_s - r_{f,s}`, :math:`C_t` the rows
    :math:`t - \mathrm{window} < s \le t` where both are present, and
    :math:`w_s = 2^{-(t-s)/h}`. Then

    .. math::

        \beta_t = \frac{\sum_{C_t} w_s (y_s - \bar y)(x_s - \bar x)}
                       {\sum_{C_t} w_s (x_s - \bar x)^2}, \qquad
        \bar x = \frac{\sum_{C_t} w_s x_s}{\sum_{C_t} w_s},\quad
        \bar y = \frac{\sum_{C_t} w_s y_s}{\sum_{C_t} w_s}.

    Unlike :func:`ewm_beta` (all history), observations older than ``window`` rows are
    dropped. The sums (see the module notes) are of values shifted by the asset's first
    complete observation (which leaves the beta unchanged and keeps the products
    accurate).

    Examples
    --------
    An asset that moves twice as much as the market, plus a constant, has a beta of 2:

    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame(
    ...     {"asset": ["a"] * 5,
    ...      "mkt": [0.01, -0.02, 0.03, 0.0, 0.01],
    ...      "ret": [0.021, -0.039, 0.061, 0.001, 0.021]}
    ... )
    >>> b = pf.exprs.beta("ret", "mkt", window=3, half_life=2, min_periods=2)
    >>> df.with_columns(beta=b.over("asset"))["beta"].round(6).to_list()
    [None, 2.0, 2.0, 2.0, 2.0]
    """
    stages, ok, var_x, cov, _ = _moments(
        returns,
        market,
        risk_free=risk_free,
        window=window,
        half_life=half_life,
        min_periods=min_periods,
        residual=False,
    )
    return _let(pl.when(ok).then(cov / var_x), *stages, named_like=returns)


def hsigma(
    returns: IntoExpr,
    market: IntoExpr,
    *,
    risk_free: IntoExpr | None = None,
    window: int = 252,
    half_life: float | None = 63,
    min_periods: int = 63,
) -> pl.Expr:
    r"""Compute the residual volatility of :func:`beta` (``HSIGMA``); use with ``.over(asset)``.

    Parameters
    ----------
    returns, market, risk_free, window, half_life, min_periods
        As in :func:`beta`; the two use the same regression.

    Returns
    -------
    pl.Expr
        Float64, named after ``returns``; null where :func:`beta` is null. Not
        annualized.

    Notes
    -----
    With the notation of :func:`beta`, :math:`\alpha_t = \bar y - \beta_t \bar x` and
    residuals :math:`e_s = y_s - \alpha_t - \beta_t x_s` on the complete rows,

    .. math::

        \sigma_t = \sqrt{\frac{\sum_{C_t} w_s e_s^2}{\sum_{C_t} w_s}}
                 = \sqrt{V_y - \frac{\mathrm{Cov}_{xy}^2}{V_x}},

    the weighted (co)variances being those of :func:`beta` (normalized by
    :math:`\sum w_s`, no degrees-of-freedom correction). A residual variance of at most
    ``1e-12`` times :math:`V_y` (an exact fit, up to round-off) gives 0.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame(
    ...     {"mkt": [0.01, -0.02, 0.03, 0.0], "ret": [0.03, -0.03, 0.05, 0.0]}
    ... )
    >>> h = pf.exprs.hsigma("ret", "mkt", window=3, half_life=None, min_periods=3)
    >>> df.select(h)["ret"].round(6).to_list()
    [None, None, 0.00562, 0.000937]
    """
    stages, ok, var_x, cov, var_y = _moments(
        returns,
        market,
        risk_free=risk_free,
        window=window,
        half_life=half_life,
        min_periods=min_periods,
        residual=True,
    )
    resid = var_y - cov * cov / var_x
    # An exact fit leaves round-off of the order of eps * var_y, whose square root would
    # be a spurious ~1e-8 relative volatility.
    exact = resid <= EWM_VARIANCE_RTOL * var_y
    value = pl.when(ok).then(pl.when(~exact).then(resid).otherwise(0.0).sqrt())
    return _let(value, *stages, named_like=returns)


def dastd(
    returns: IntoExpr,
    *,
    risk_free: IntoExpr | None = None,
    window: int = 252,
    half_life: float | None = 42,
    min_periods: int = 42,
) -> pl.Expr:
    r"""Compute the weighted volatility of returns (USE4 ``DASTD``); use with ``.over(asset)``.

    Parameters
    ----------
    returns
        The asset's returns (column name or expression), rows sorted by date within the
        asset.
    risk_free
        Risk-free rate on the same rows, subtracted from the returns; ``None``: 0.
    window
        Number of rows in the window ending at (and including) the current row, >= 2.
    half_life
        Half-life of the weights in rows, positive; ``None`` or ``math.inf``: equal
        weights.
    min_periods
        Number of present excess returns the window needs, between 2 and ``window``.

    Returns
    -------
    pl.Expr
        Float64, named after ``returns``: null with fewer than ``min_periods`` present
        excess returns in the window. Not annualized.

    Notes
    -----
    With :math:`x_s = r_s - r_{f,s}`, :math:`P_t` the rows
    :math:`t - \mathrm{window} < s \le t` where it is present and
    :math:`w_s = 2^{-(t-s)/h}`,

    .. math::

        \mathrm{DASTD}_t = \sqrt{\frac{\sum_{P_t} w_s (x_s - \bar x)^2}{\sum_{P_t} w_s}},
        \qquad \bar x = \frac{\sum_{P_t} w_s x_s}{\sum_{P_t} w_s}

    (a population moment: no degrees-of-freedom correction).

    Examples
    --------
    With equal weights it is the population standard deviation of the window:

    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({"ret": [0.01, 0.03, None, -0.01]})
    >>> d = pf.exprs.dastd("ret", window=3, half_life=None, min_periods=2)
    >>> df.select(d)["ret"].round(6).to_list()
    [None, 0.01, 0.01, 0.02]
    """
    w = check_int("window", window, minimum=2)
    n = _min_periods(min_periods, window=w, minimum=2)
    x = pl.field("x")
    stages = [
        {"x": _excess(returns, risk_free)},
        {"p": x.is_not_null().cast(pl.Float64), "x": _centered(x)},
        *_window_sums(
            {"w": ("p",), "sx": ("x",), "xx": ("x", "x")},
            window=w,
            half_life=_half_life(half_life),
        ),
    ]
    total = pl.field("w")
    mean = pl.field("sx") / total
    var = pl.field("xx") / total - mean * mean
    ok = (pl.field("n") >= n) & (total > 0)
    value = pl.when(ok).then(var.clip(lower_bound=0.0).sqrt())
    return _let(value, *stages, named_like=returns)


# --- cmra, rstr -------------------------------------------------------------------------


def cmra(
    returns: IntoExpr,
    *,
    risk_free: IntoExpr | None = None,
    months: int = 12,
    days: int = 21,
    min_periods: int | None = None,
) -> pl.Expr:
    r"""Compute the cumulative range of log returns (USE4 ``CMRA``); use with ``.over(asset)``.

    Parameters
    ----------
    returns
        The asset's simple returns (column name or expression), rows sorted by date
        within the asset. A return of -1 or less (no log) is missing.
    risk_free
        Risk-free rate on the same rows; ``None``: 0.
    months
        Number of "months" :math:`K`, >= 1.
    days
        Rows per month, >= 1. The window is ``months * days`` rows (252 by default).
    min_periods
        Number of present log excess returns the ``months * days`` rows need, between 1
        and ``months * days``; default all of them. When fewer are required, a missing
        return counts as a log return of 0 (no move), and so do the rows before the
        asset's first.

    Returns
    -------
    pl.Expr
        Float64, named after ``returns``; null with fewer than ``min_periods`` present
        returns, or where the smallest :math:`Z_k` is -1 or less (no log).

    Notes
    -----
    With :math:`\ell_s = \ln(1 + r_s) - \ln(1 + r_{f,s})` (0 where missing) and
    :math:`D` = ``days``,

    .. math::

        Z_k(t) = \sum_{s = t - kD + 1}^{t} \ell_s \quad (k = 1..K), \qquad
        \mathrm{CMRA}_t = \ln\bigl(1 + \max_k Z_k(t)\bigr) - \ln\bigl(1 + \min_k Z_k(t)\bigr),

    the formula as the USE4 handbook writes it (:math:`\ln(1+Z)` of cumulative *log*
    returns; the maximum and minimum are over :math:`k = 1..K` only, 0 is not added).

    Examples
    --------
    Two months of two days each; the cumulative log returns are 0.1 (last month) and 0.4 (both):

    >>> import math
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> r = [math.expm1(v) for v in (0.2, 0.1, 0.0, 0.1)]
    >>> out = pl.DataFrame({"ret": r}).select(pf.exprs.cmra("ret", months=2, days=2))
    >>> out["ret"][:3].to_list()
    [None, None, None]
    >>> math.isclose(out["ret"][3], math.log(1.4) - math.log(1.1))
    True
    """
    k_max = check_int("months", months, minimum=1)
    d = check_int("days", days, minimum=1)
    total = k_max * d
    n = _min_periods(min_periods, window=total, minimum=1)
    x = pl.field("x")
    z = {f"z{k}": x.rolling_sum(window_size=k * d, min_samples=1) for k in range(1, k_max + 1)}
    stages = [
        {"x": _log_excess(returns, risk_free)},
        {"n": _count(x.is_not_null(), total), "x": x.fill_null(0.0)},
        z,
    ]
    top, bottom = pl.max_horizontal(*map(pl.field, z)), pl.min_horizontal(*map(pl.field, z))
    ok = (pl.field("n") >= n) & (bottom > -1)
    value = pl.when(ok).then(top.log1p() - bottom.log1p())
    return _let(value, *stages, named_like=returns)


def rstr(
    returns: IntoExpr,
    *,
    risk_free: IntoExpr | None = None,
    window: int = 504,
    lag: int = 21,
    half_life: float | None = 126,
    min_periods: int | None = None,
) -> pl.Expr:
    r"""Compute the lagged weighted mean log return (USE4 ``RSTR``); use with ``.over(asset)``.

    Parameters
    ----------
    returns
        The asset's simple returns (column name or expression), rows sorted by date
        within the asset. A return of -1 or less (no log) is missing.
    risk_free
        Risk-free rate on the same rows; ``None``: 0.
    window
        Number of rows averaged, >= 1.
    lag
        Number of most recent rows left out, >= 0: the window ends ``lag`` rows before
        the current row.
    half_life
        Half-life of the weights in rows, positive, counted from the window's last row;
        ``None`` or ``math.inf``: equal weights.
    min_periods
        Number of present log excess returns the window needs, between 1 and
        ``window``; default ``max(1, window // 4)`` (126 rows, half a year, for the
        default window of 504).

    Returns
    -------
    pl.Expr
        Float64, named after ``returns``; null with fewer than ``min_periods`` present
        returns in the window (so for at least the first ``lag`` rows of each asset).

    Notes
    -----
    With :math:`\ell_s = \ln(1 + r_s) - \ln(1 + r_{f,s})`, :math:`L` = ``lag``,
    :math:`P_t` the rows :math:`t - L - \mathrm{window} < s \le t - L` where
    :math:`\ell_s` is present and :math:`w_s = 2^{-(t - L - s)/h}`,

    .. math::

        \mathrm{RSTR}_t = \frac{\sum_{P_t} w_s \ell_s}{\sum_{P_t} w_s},

    a weighted **mean**: the weights are normalized to sum to one over the present rows
    (multiply by ``window`` times the mean weight for a weighted sum).

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({"ret": [0.1, 0.2, 0.3, 0.4]})
    >>> rs = pf.exprs.rstr("ret", window=2, lag=1, half_life=None, min_periods=2)
    >>> df.select(rs)["ret"].round(6).to_list()
    [None, None, 0.138816, 0.222343]
    """
    w = check_int("window", window, minimum=1)
    k = check_int("lag", lag, minimum=0)
    default = max(1, w // 4) if min_periods is None else min_periods
    n = _min_periods(default, window=w, minimum=1)
    x = pl.field("x")
    stages = [
        {"x": _log_excess(returns, risk_free)},
        {"p": x.is_not_null().cast(pl.Float64), "x": x.fill_null(0.0)},
        *_window_sums({"w": ("p",), "sx": ("x",)}, window=w, half_life=_half_life(half_life)),
    ]
    total = pl.field("w")
    value = pl.when((pl.field("n") >= n) & (total > 0)).then(pl.field("sx") / total)
    return _let(value, *stages, named_like=returns).shift(k)


# --- size, liquidity, hilo -------------------------------------------------------------


def lncap(close: IntoExpr, shares: IntoExpr) -> pl.Expr:
    r"""Compute the log market capitalization (USE4 ``LNCAP``): ``ln(close * shares)``.

    A row-wise expression; it needs no ``.over``.

    Parameters
    ----------
    close
        Price per share (column name or expression).
    shares
        Shares outstanding on the same rows.

    Returns
    -------
    pl.Expr
        Float64, named after ``close``: :math:`\ln P + \ln S` (which does not overflow
        for huge products); null unless both are positive finite numbers.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({"close": [10.0, 0.0, 5.0], "shares": [1e6, 1e6, None]})
    >>> df.select(pf.exprs.lncap("close", "shares"))["close"].round(6).to_list()
    [16.118096, None, None]
    """
    p, s = clean(close), clean(shares)
    return pl.when((p > 0) & (s > 0)).then(p.log() + s.log())


def share_turnover(
    volume: IntoExpr,
    shares: IntoExpr,
    *,
    months: int,
    days: int = 21,
    min_periods: int | None = None,
) -> pl.Expr:
    r"""Compute the log average monthly share turnover over ``months``; use with ``.over(asset)``.

    The USE4 liquidity descriptors: :func:`stom` (1 month), :func:`stoq` (3 months) and
    :func:`stoa` (12 months) are this function with a fixed ``months``.

    Parameters
    ----------
    volume
        Shares traded per row (column name or expression), rows sorted by date within
        the asset. Negative volumes are missing; a volume of 0 is a day without trades.
    shares
        Shares outstanding on the same rows; non-positive values are missing.
    months
        Number of months :math:`T`, >= 1.
    days
        Rows per month, >= 1; the window is ``months * days`` rows.
    min_periods
        Number of present daily turnovers (volume and shares both present) the window
        needs, between 1 and ``months * days``; default all of them.

    Returns
    -------
    pl.Expr
        Float64, named after ``volume``; null with fewer than ``min_periods`` present
        turnovers, and where the turnover is zero (no trades in the window: the log is
        :math:`-\infty`).

    Notes
    -----
    With daily turnover :math:`\tau_s = V_s / S_s`, :math:`P_t` the rows of the
    window :math:`t - TD < s \le t` where it is present and :math:`n = |P_t|`,

    .. math::

        \mathrm{STO}_t = \ln\Bigl(\frac{1}{T} \cdot \frac{TD}{n}
                         \sum_{P_t} \tau_s\Bigr),

    i.e. :math:`\ln(\frac{1}{T}\sum \tau_s)` over a full window (the USE4 formula) and,
    when ``min_periods`` lets rows be missing, each missing day counted at the window's
    mean turnover (not as a day without trades).

    Examples
    --------
    >>> import math
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({"volume": [10, 20, 30, 40], "shares": [100.0] * 4})
    >>> sto = pf.exprs.share_turnover("volume", "shares", months=2, days=1)
    >>> out = df.select(sto)["volume"]
    >>> out[0] is None and math.isclose(out[3], math.log(0.7 / 2))
    True
    """
    k = check_int("months", months, minimum=1)
    d = check_int("days", days, minimum=1)
    total = k * d
    n = _min_periods(min_periods, window=total, minimum=1)
    v, s = clean(volume), clean(shares)
    turnover = pl.when((v >= 0) & (s > 0)).then(v / s)
    present = pl.field("n")
    mean_month = pl.field("sum") * (total / present.cast(pl.Float64)) / k
    value = pl.when((present >= n) & (mean_month > 0)).then(mean_month.log())
    tau = pl.field("tau")
    sums = {
        "n": _count(tau.is_not_null(), total),
        "sum": tau.fill_null(0.0).rolling_sum(window_size=total, min_samples=1),
    }
    return _let(value, {"tau": turnover}, sums, named_like=volume)


def stom(volume: IntoExpr, shares: IntoExpr, *, min_periods: int | None = None) -> pl.Expr:
    r"""Compute the log share turnover over 21 rows (USE4 ``STOM``); use with ``.over(asset)``.

    :func:`share_turnover` with ``months=1, days=21``:
    :math:`\ln \sum_{s = t - 20}^{t} V_s / S_s`. See there for the parameters.

    Examples
    --------
    >>> import math
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({"volume": [5.0] * 21, "shares": [100.0] * 21})
    >>> math.isclose(df.select(pf.exprs.stom("volume", "shares"))["volume"][-1], math.log(1.05))
    True
    """
    return share_turnover(volume, shares, months=1, days=21, min_periods=min_periods)


def stoq(volume: IntoExpr, shares: IntoExpr, *, min_periods: int | None = None) -> pl.Expr:
    r"""Compute the log monthly turnover over 63 rows (USE4 ``STOQ``); use with ``.over(asset)``.

    :func:`share_turnover` with ``months=3, days=21``:
    :math:`\ln \bigl(\frac13 \sum_{s = t - 62}^{t} V_s / S_s\bigr)`. See there for the
    parameters.

    Examples
    --------
    5% of the shares traded each day: 21 x 5% = 105% a month.

    >>> import math
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({"volume": [5.0] * 63, "shares": [100.0] * 63})
    >>> math.isclose(df.select(pf.exprs.stoq("volume", "shares"))["volume"][-1], math.log(1.05))
    True
    """
    return share_turnover(volume, shares, months=3, days=21, min_periods=min_periods)


def stoa(volume: IntoExpr, shares: IntoExpr, *, min_periods: int | None = None) -> pl.Expr:
    r"""Compute the log monthly turnover over 252 rows (USE4 ``STOA``); use with ``.over(asset)``.

    :func:`share_turnover` with ``months=12, days=21``:
    :math:`\ln \bigl(\frac1{12} \sum_{s = t - 251}^{t} V_s / S_s\bigr)`. See there for
    the parameters.

    Examples
    --------
    >>> import math
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({"volume": [5.0] * 252, "shares": [100.0] * 252})
    >>> math.isclose(df.select(pf.exprs.stoa("volume", "shares"))["volume"][-1], math.log(1.05))
    True
    """
    return share_turnover(volume, shares, months=12, days=21, min_periods=min_periods)


def hilo(
    high: IntoExpr, low: IntoExpr, *, window: int = 21, min_periods: int | None = None
) -> pl.Expr:
    r"""Compute the log of the highest high over the lowest low (HILO); use with ``.over(asset)``.

    :func:`high_low_range` with a default window of 21 rows:
    :math:`\ln(\max_s H_s / \min_s L_s)` over rows :math:`t - \mathrm{window} < s \le t`,
    each extreme over its own present values (prices that are not positive finite
    numbers are missing).

    Parameters
    ----------
    high, low
        Daily high and low prices (column names or expressions), rows sorted by date
        within the asset.
    window
        Number of rows in the window ending at (and including) the current row, >= 1.
    min_periods
        Number of present values each of ``high`` and ``low`` needs in the window;
        default ``window``.

    Returns
    -------
    pl.Expr
        Float64, named after ``high``; null if either has fewer than ``min_periods``
        present values.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({"high": [11.0, 12.0, 10.5], "low": [10.0, 9.0, 10.0]})
    >>> df.select(pf.exprs.hilo("high", "low", window=2))["high"].round(6).to_list()
    [None, 0.287682, 0.287682]
    """
    return high_low_range(high, low, window=window, min_periods=min_periods)
