r"""Engineered time-series features of each asset's price.

:func:`ts_features` adds the engineered factors of the Factor Exposure Analyzer
(log return, momentum, volatility, trend and mean reversion) to a panel, per asset,
as one lazy Polars plan. The price descriptors of risk models (exponentially weighted
beta, volatility, high-low range, relative strength) are expression builders in
:mod:`polars_factors.exprs`.
"""

from __future__ import annotations

import warnings

import polars as pl

from polars_factors import _frame, _validate
from polars_factors.exceptions import DataLossWarning
from polars_factors.exprs._core import ZERO_SPREAD_RTOL
from polars_factors.exprs._price import check_int, volatility
from polars_factors.typing import FrameT

__all__ = ["FEATURES", "ts_features"]

#: Names of the columns added by :func:`ts_features`, in order (before ``suffix``).
FEATURES = ("log_return", "momentum", "volatility", "trend", "mean_reversion")


def ts_features(
    frame: FrameT,
    price: str = "close",
    *,
    window: int = 126,
    lag: int = 0,
    asset: str = "asset",
    date: str = "date",
    suffix: str | None = None,
    check_keys: bool | None = None,
) -> FrameT:
    r"""Add log returns and rolling momentum, volatility, trend and mean-reversion features.

    The engineered factors of the Factor Exposure Analyzer, computed per asset down its
    rows in date order, with the analyzer's definitions (pandas ``rolling(window)``
    semantics) when ``lag=0``.

    Parameters
    ----------
    frame
        Panel, one row per ``(date, asset)``, lazy or eager; a LazyFrame gives a
        LazyFrame. Each asset's rows must be in increasing date order (the panel's row
        order across assets does not matter): windows count **rows**, not calendar
        days, so a gap in an asset's dates is not filled in.
    price
        Numeric price column, e.g. the (split-adjusted) close. A price that is null,
        NaN, +-inf, zero or negative is missing.
    window
        Number of rows of each rolling window, an int >= 2 (126: about six months of
        trading days).
    lag
        Shift every feature (not ``log_return``) down by ``lag`` rows within the
        asset, an int >= 0. With ``lag=1`` the features of row :math:`t` use prices up
        to row :math:`t-1` only, so they can explain the return of row :math:`t`
        without look-ahead (see Notes).
    asset, date
        Names of the panel keys. ``date`` is only read by the key check.
    suffix
        Append this to the output names, e.g. ``suffix="_21"`` writes ``momentum_21``
        (and ``log_return_21``, which is the same for every window and lag); use it to
        compute the features for several windows or lags side by side.
    check_keys
        Check that each asset's dates strictly increase, which also rules out
        repeated and null keys. ``None`` (default): at call time on a
        DataFrame, inside the plan on a LazyFrame (nothing is read now; ``collect``
        raises). ``True``: at call time whatever the frame (on a LazyFrame it reads
        the key columns now). ``False``: no check.

    Returns
    -------
    DataFrame or LazyFrame
        The same rows in the same order with five Float64 columns added:
        ``log_return``, ``momentum``, ``volatility``, ``trend``, ``mean_reversion``
        (each with ``suffix``). A feature is null until its window is full and
        wherever its window contains a missing price or return (``min_periods =
        window``, as in pandas).

    Raises
    ------
    ColumnNotFoundError
        ``price``, ``asset`` or (with ``check_keys``) ``date`` is not in the frame.
    SchemaError
        ``price`` is not numeric.
    DuplicateKeyError
        With ``check_keys``: a ``(date, asset)`` key appears more than once.
    UnsortedError
        With ``check_keys``: an asset's dates go backwards somewhere.
    ValueError
        ``window`` or ``lag`` is out of range, or an output column already exists.
    InvalidDataError
        With ``check_keys``: a date or asset is null.

    Warns
    -----
    DataLossWarning
        On an eager frame, when some prices are NaN, infinite, zero or negative (they
        are treated as missing). Lazy calls never warn.

    Notes
    -----
    For one asset with prices :math:`p_t` (rows :math:`t = 0, 1, \dots`) and window
    :math:`w`, before the lag:

    .. math::

        r_t = \log p_t - \log p_{t-1}, \qquad
        \mathrm{momentum}_t = \frac1w \sum_{s=t-w+1}^{t} r_s, \qquad
        \mathrm{volatility}_t = \sqrt{\frac{1}{w-1}\sum_{s=t-w+1}^{t}
            (r_s - \mathrm{momentum}_t)^2},

        \mathrm{trend}_t = \frac{\sum_{i=0}^{w-1} (i - \bar\imath)\, r_{t-w+i}}
            {\sum_{i=0}^{w-1} (i - \bar\imath)^2}, \qquad \bar\imath = \frac{w-1}{2},
            \qquad \sum_{i=0}^{w-1} (i - \bar\imath)^2 = \frac{w(w^2-1)}{12},

        \mathrm{mean\_reversion}_t = \frac{p_t - \bar p_t}{s_t},

    where the trend is the OLS slope of the returns on :math:`0, \dots, w-1` over the
    window ending at the **previous** row, and :math:`\bar p_t`, :math:`s_t` are the
    mean and standard deviation (``ddof=1``) of :math:`p_{t-w+1}, \dots, p_t`. The
    log return of an asset's first row is null, and so is :math:`r_t` when
    :math:`p_t` or :math:`p_{t-1}` is missing (no forward filling). ``mean_reversion``
    is null when :math:`s_t` is at most ``1e-13`` times :math:`\bar p_t` (a flat
    price). With ``lag`` :math:`= k`, the row-:math:`t` value of every feature is the
    one above at row :math:`t - k` of the same asset.

    **Look-ahead.** With ``lag=0`` the momentum, volatility and mean reversion of row
    :math:`t` contain :math:`r_t` (through :math:`p_t`): regressing :math:`r_t` on them
    explains the return with itself, which inflates the fit. Only the trend (window
    ending at :math:`t-1`) is free of it. Use ``lag=1`` to explain :math:`r_t` with
    what was known at :math:`t-1`.

    The trend is computed from sums, not from a fit per window. Summing by parts, with
    :math:`R_t = \sum_{s \le t} r_s` the running sum of the returns (missing ones
    count as 0; windows that contain one are null anyway), the numerator of the slope
    of the window :math:`r_{u-w+1}, \dots, r_u` is

    .. math::

        \sum_{i=0}^{w-1} (i - \bar\imath)\, r_{u-w+1+i}
        = \frac{w-1}{2}\,(R_u + R_{u-w}) - \sum_{s=u-w+1}^{u-1} R_s,

    one rolling sum of :math:`R`. Here :math:`R_t = \log(p_t / p_0)` is bounded by the
    price's range, whereas the terms of the textbook form
    :math:`\sum_j j\,r_j - \bar\jmath \sum_j r_j` (row numbers :math:`j`) grow with
    the length of the series and cancel more and more. The trend matches
    ``numpy.polyfit`` per window to about ``1e-12`` of the slope's scale
    :math:`\sigma_r / w^{3/2}`.

    Examples
    --------
    >>> import polars as pl
    >>> from polars_factors.features import ts_features
    >>> panel = pl.DataFrame(
    ...     {"date": [1, 2, 3, 4, 5, 1, 2, 3, 4, 5],
    ...      "asset": ["a"] * 5 + ["b"] * 5,
    ...      "close": [10.0, 11.0, 12.1, 13.31, 12.0, 50.0, 49.0, 51.0, 50.0, 52.0]}
    ... )
    >>> out = ts_features(panel, window=2)
    >>> out.filter(pl.col("asset") == "a").drop("date", "asset").with_columns(
    ...     pl.all().round(4)
    ... )
    shape: (5, 6)
    ┌───────┬────────────┬──────────┬────────────┬───────┬────────────────┐
    │ close ┆ log_return ┆ momentum ┆ volatility ┆ trend ┆ mean_reversion │
    │ ---   ┆ ---        ┆ ---      ┆ ---        ┆ ---   ┆ ---            │
    │ f64   ┆ f64        ┆ f64      ┆ f64        ┆ f64   ┆ f64            │
    ╞═══════╪════════════╪══════════╪════════════╪═══════╪════════════════╡
    │ 10.0  ┆ null       ┆ null     ┆ null       ┆ null  ┆ null           │
    │ 11.0  ┆ 0.0953     ┆ null     ┆ null       ┆ null  ┆ 0.7071         │
    │ 12.1  ┆ 0.0953     ┆ 0.0953   ┆ 0.0        ┆ null  ┆ 0.7071         │
    │ 13.31 ┆ 0.0953     ┆ 0.0953   ┆ 0.0        ┆ 0.0   ┆ 0.7071         │
    │ 12.0  ┆ -0.1036    ┆ -0.0041  ┆ 0.1407     ┆ 0.0   ┆ -0.7071        │
    └───────┴────────────┴──────────┴────────────┴───────┴────────────────┘

    A steady 10% growth has a constant momentum, no volatility and no trend. With
    ``lag=1`` each feature moves down one row, so the features on a row only use the
    prices before it:

    >>> lagged = ts_features(panel.lazy(), window=2, lag=1, suffix="_lag1")
    >>> lagged.collect()["momentum_lag1"].round(4).to_list()[:5]
    [None, None, None, 0.0953, 0.0953]
    """
    if not isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
        msg = f"expected a polars DataFrame or LazyFrame; got {type(frame).__name__}."
        raise TypeError(msg)
    w = check_int("window", window, minimum=2, hint=" (rows per rolling window)")
    k = check_int("lag", lag, minimum=0, hint=" (rows to shift the features by)")
    for name, value in (("price", price), ("asset", asset), ("date", date)):
        if not isinstance(value, str):
            msg = f"`{name}` must be a column name (str); got {value!r}."
            raise TypeError(msg)
    if suffix is not None and not isinstance(suffix, str):
        msg = f"`suffix` must be a string or None; got {suffix!r}."
        raise TypeError(msg)
    if price == asset or (check_keys and price == date):
        msg = f"the price column {price!r} is also a panel key (asset={asset!r}, date={date!r})."
        raise ValueError(msg)
    schema = frame.collect_schema()
    _validate.check_columns_exist(schema, [price], role="price column")
    _validate.check_numeric(schema, [price], role="price column")
    _validate.check_columns_exist(schema, [asset], role="panel key")
    _validate.check_key_dtypes(schema, date=date, asset=asset)
    outputs = dict(zip(FEATURES, (f"{f}{suffix or ''}" for f in FEATURES), strict=True))
    _check_outputs(schema, list(outputs.values()))
    frame = _validate.time_order(frame, check_keys, date=date, asset=asset)

    taken = set(schema.names()) | set(outputs.values())
    p_col = _frame.temp_name(taken, "price")
    p = pl.col(price).cast(pl.Float64)
    lf = (
        frame.lazy()
        .with_columns(pl.when(p.is_finite() & (p > 0)).then(p).alias(p_col))
        .with_columns(pl.col(p_col).log().diff().over(asset).alias(outputs["log_return"]))
    )
    r, prices = pl.col(outputs["log_return"]), pl.col(p_col)
    features = {
        "momentum": r.rolling_mean(w),
        "volatility": volatility(r, window=w),
        "trend": _rolling_slope(r, w).shift(1),
        "mean_reversion": _mean_reversion(prices, w),
    }
    lf = lf.with_columns(
        (e.shift(k) if k else e).over(asset).alias(outputs[name]) for name, e in features.items()
    ).drop(p_col)
    if isinstance(frame, pl.LazyFrame):
        # The lazy counterpart of _warn_bad_prices: reported when the plan is collected.
        q = pl.col(price).cast(pl.Float64)
        bad = q.is_not_null() & ~(q.is_finite() & (q > 0))
        return _frame.warn_lost_in_plan(
            lf,
            {price: bad},
            reason="not positive finite numbers; they are treated as missing, which nulls "
            "their log return, the next row's, and every window containing them",
            what="prices",
        )
    _warn_bad_prices(frame, price)
    return lf.collect(engine="in-memory")


def _rolling_slope(y: pl.Expr, window: int) -> pl.Expr:
    r"""OLS slope of ``y`` on ``0, ..., window-1`` over the window ending at each row.

    ``y`` must be clean (no NaN). Null unless the window has ``window`` present values.
    Computed from the running sum of ``y`` and one rolling sum (see :func:`ts_features`,
    Notes), not from a fit per window.
    """
    w = window
    running = y.fill_null(0.0).cum_sum()
    before = running.shift(w, fill_value=0.0)
    inner = running.shift(1).rolling_sum(window_size=w - 1)
    numerator = (w - 1) / 2 * (running + before) - inner
    full = y.rolling_sum(window_size=w).is_not_null()
    return pl.when(full).then(numerator / (w * (w * w - 1) / 12))


def _mean_reversion(p: pl.Expr, window: int) -> pl.Expr:
    mean = p.rolling_mean(window_size=window)
    std = p.rolling_std(window_size=window, ddof=1)
    return pl.when(std > ZERO_SPREAD_RTOL * mean).then((p - mean) / std)


def _check_outputs(schema: pl.Schema, outputs: list[str]) -> None:
    _validate.check_new_columns(
        schema, outputs, function="ts_features",
        fix="Pass suffix= (e.g. suffix='_126') to write them under other names, or drop "
        "the old columns first.",
    )  # fmt: skip


def _warn_bad_prices(frame: pl.DataFrame, price: str) -> None:
    p = pl.col(price).cast(pl.Float64)
    n_nan, n_inf, n_nonpos = frame.select(
        p.is_nan().sum().alias("nan"),
        p.is_infinite().sum().alias("inf"),
        (p.is_finite() & (p <= 0)).sum().alias("nonpos"),
    ).row(0)
    total = n_nan + n_inf + n_nonpos
    if not total:
        return
    msg = (
        f"{total} values of the price column {price!r} are not positive finite numbers "
        f"({n_nonpos} zero or negative, {n_nan} NaN, {n_inf} infinite); they are treated as "
        f"missing, which nulls their log return, the next row's, and every window "
        f"containing them."
    )
    warnings.warn(msg, DataLossWarning, stacklevel=_frame.user_stacklevel())
