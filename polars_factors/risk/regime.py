r"""Volatility regime adjustment and the bias statistic of risk forecasts (USE4).

- :func:`volatility_regime`: a multiplier per date that scales predicted volatilities
  (or variances, by its square) up in turbulent periods and down in calm ones, either
  from the realized bias of past forecasts (USE4's factor and specific volatility regime
  adjustments) or from the ratio of a short to a long exponentially weighted variance of
  a proxy series such as the market return;
- :func:`bias_statistic`: the backtest statistic of USE4: the standard deviation of
  returns standardized by their forecast volatility, which is 1 for unbiased forecasts.

Both standardize the return of date :math:`t` by the forecast made at the latest date
strictly before :math:`t` (an as-of join per series: no look-ahead). Everything is
Polars expressions (as-of joins, ``group_by`` per date, exponentially weighted means
over dates); results are sorted explicitly, so any engine gives the same frame.
"""

from __future__ import annotations

import math
from typing import Literal

import polars as pl

from polars_factors import _validate
from polars_factors._frame import temp_name
from polars_factors.exceptions import (
    ColumnNotFoundError,
    InvalidDataError,
    SchemaError,
)
from polars_factors.exprs._core import clean
from polars_factors.exprs._price import check_int
from polars_factors.risk._input import is_covariance_frame
from polars_factors.typing import EngineType

__all__ = ["RegimeMethod", "bias_statistic", "volatility_regime"]

#: How :func:`volatility_regime` measures the regime.
RegimeMethod = Literal["bias", "proxy"]

Frame = pl.DataFrame | pl.LazyFrame


# ---------------------------------------------------------------------------------
# Validation


def _check_frame(frame: object, name: str) -> None:
    if not isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
        msg = f"`{name}` must be a polars DataFrame or LazyFrame; got {type(frame).__name__}."
        raise TypeError(msg)


def _check_dates(frame: Frame, date: str, *, what: str, engine: EngineType) -> None:
    """Check that a single series has one row per date and no null date."""
    dates = frame.lazy().select(date).collect(engine=engine)
    nulls = dates.get_column(date).null_count()
    if nulls:
        msg = f"{what} has {nulls} rows with a null {date!r}; drop them first."
        raise InvalidDataError(msg)
    _validate.check_unique(
        dates,
        date,
        what=what,
        fix=f"Deduplicate it first, e.g. frame.unique({date!r}, keep='last').",
    )


def _check_keys(frame: Frame, date: str, key: str | None, *, what: str, engine: EngineType) -> None:
    if key is None:
        _check_dates(frame, date, what=what, engine=engine)
        return
    nulls = (
        frame.lazy()
        .select(pl.col(date).null_count() + pl.col(key).null_count())
        .collect(engine=engine)
        .item()
    )
    if nulls:
        msg = f"{what} has {nulls} null {date!r} or {key!r} values; drop those rows first."
        raise InvalidDataError(msg)
    _validate.check_unique_keys(frame, date=date, asset=key)


def _check_not_negative(frame: pl.LazyFrame, column: str, *, what: str, engine: EngineType) -> None:
    negative = frame.select((pl.col(column) < 0).sum()).collect(engine=engine).item()
    if negative:
        msg = (
            f"{what} has {negative} negative values; volatilities and variances must be >= 0 "
            "(a zero forecast leaves its return out)."
        )
        raise InvalidDataError(msg)


def _check_same_dtype(left: pl.Schema, right: pl.Schema, column: str, right_col: str) -> None:
    if left[column] != right[right_col]:
        msg = (
            f"the returns' {column!r} ({left[column]}) and the predictions' {right_col!r} "
            f"({right[right_col]}) must have the same dtype to be matched; cast one of them."
        )
        raise SchemaError(msg)


# ---------------------------------------------------------------------------------
# Exponentially weighted moments over the observations (rows) of a series


def _ew_mean(x: pl.Expr, half_life: float) -> pl.Expr:
    """EW mean of the non-null values up to each row (null where ``x`` is null)."""
    if math.isinf(half_life):
        return x.cum_sum() / x.cum_count()
    return x.ewm_mean(half_life=half_life, adjust=True, ignore_nulls=True)


def _ew_var(x: pl.Expr, half_life: float) -> pl.Expr:
    """EW variance (demeaned, normalized by the total weight) of a series without nulls."""
    if math.isinf(half_life):
        shifted = x - x.first()  # exact zero for a constant series
        mean = shifted.cum_sum() / shifted.cum_count()
        return ((shifted * shifted).cum_sum() / shifted.cum_count() - mean * mean).clip(0.0)
    return x.ewm_var(half_life=half_life, adjust=True, bias=True)


# ---------------------------------------------------------------------------------
# volatility_regime


def _proxy_regime(
    returns: Frame,
    *,
    half_life: float,
    long_half_life: float,
    key: str,
    value: str,
    date: str,
    engine: EngineType,
) -> pl.DataFrame:
    schema = returns.collect_schema()
    _validate.check_columns_exist(schema, [date], role="date column")
    if key in schema:
        msg = (
            f"method='proxy' takes a single return series ({date!r}, {value!r}), but the "
            f"frame has a key column {key!r}; select one series first, e.g. "
            f"frame.filter(pl.col({key!r}) == ...), or use method='bias'."
        )
        raise ValueError(msg)
    others = [c for c in schema.names() if c != date]
    if value not in schema and len(others) == 1:
        value = others[0]
    _validate.check_columns_exist(schema, [value], role="return column")
    _validate.check_numeric(schema, [value], role="return column")
    _check_dates(returns, date, what="the proxy return series", engine=engine)
    taken = set(schema.names())
    r, s, lng = (temp_name(taken, h) for h in ("r", "short", "long"))
    base = returns.lazy().select(pl.col(date), clean(value).alias(r)).sort(date)
    short, long = _ew_var(pl.col(r), half_life), _ew_var(pl.col(r), long_half_life)
    observed = (
        base.filter(pl.col(r).is_not_null())
        .with_columns(short.alias(s), long.alias(lng))
        .select(
            pl.col(date),
            pl.when(pl.col(lng) > 0).then((pl.col(s) / pl.col(lng)).sqrt()).alias("multiplier"),
        )
    )
    return (
        base.select(date)
        .join(observed, on=date, how="left", maintain_order="left")
        .sort(date)
        .select(
            pl.col(date),
            pl.lit(None, pl.Float64).alias("bias"),
            pl.col("multiplier").forward_fill(),
        )
        .collect(engine=engine)
    )


def _long_returns(
    returns: Frame,
    *,
    key: str,
    value: str,
    date: str,
    weights: str | None,
    names: dict[str, str],
    engine: EngineType,
) -> pl.LazyFrame:
    """Validate the returns; lay them out as ``date, k (String), r, w``."""
    schema = returns.collect_schema()
    _validate.check_columns_exist(schema, [date], role="date column")
    k, r, w = names["k"], names["r"], names["w"]
    if key in schema or value in schema:
        _validate.check_columns_exist(schema, [key], role="key column")
        _validate.check_columns_exist(schema, [value], role="return column")
        _validate.check_numeric(schema, [value], role="return column")
        if weights is not None:
            _validate.check_columns_exist(schema, [weights], role="weights column")
            _validate.check_numeric(schema, [weights], role="weights column")
            _validate.check_no_negative(
                returns,
                weights,
                rule=(
                    "cross-sectional weights must be >= 0 (rows with a zero or null weight "
                    f"are left out); fix them, e.g. pl.col({weights!r}).clip(lower_bound=0)."
                ),
                engine=engine,
            )
        _check_keys(returns, date, key, what="the returns", engine=engine)
        weight = clean(weights) if weights is not None else pl.lit(1.0)
        return returns.lazy().select(
            pl.col(date),
            pl.col(key).cast(pl.String).alias(k),
            clean(value).alias(r),
            weight.alias(w),
        )
    if weights is not None:
        msg = (
            f"`weights` needs long returns ({date!r}, {key!r}, {value!r}, {weights!r}); the "
            f"frame has neither {key!r} nor {value!r}, so it is read as wide (one column per "
            "factor), which has no weights."
        )
        raise ValueError(msg)
    factors = [c for c in schema.names() if c != date]
    if not factors:
        msg = (
            f"returns need a long layout ({date!r}, {key!r}, {value!r}) or a wide one "
            f"({date!r} plus one column per factor); found only {date!r}."
        )
        raise SchemaError(msg)
    _validate.check_numeric(schema, factors, role="factor return column")
    _check_keys(returns, date, None, what="wide returns", engine=engine)
    return (
        returns.lazy()
        .select(pl.col(date), *[clean(c).alias(c) for c in factors])
        .unpivot(index=date, on=factors, variable_name=k, value_name=r)
        .with_columns(pl.lit(1.0).alias(w))
    )


def _predicted_vols(
    predicted: Frame,
    *,
    key: str,
    date: str,
    returns_schema: pl.Schema,
    names: dict[str, str],
    engine: EngineType,
) -> pl.LazyFrame:
    """Validate the predictions; lay them out as ``date, k (String), s`` (a volatility)."""
    schema = predicted.collect_schema()
    k, s = names["k"], names["s"]
    _validate.check_columns_exist(schema, [date], role="date column of `predicted`")
    if date in returns_schema:
        _check_same_dtype(returns_schema, schema, date, date)
    lf = predicted.lazy()
    if is_covariance_frame(schema):
        _validate.check_numeric(schema, ["covariance"], role="covariance column")
        pred = lf.filter(pl.col("factor_1") == pl.col("factor_2")).select(
            pl.col(date), pl.col("factor_1").cast(pl.String), clean("covariance")
        )
        name, column, variance = "factor_1", "covariance", True
        what = "the predicted covariance diagonal"
    else:
        has_vol, has_var = "volatility" in schema, "specific_var" in schema
        if has_vol == has_var:
            found = "both" if has_vol else "none"
            msg = (
                "`predicted` must be a covariance frame (factor_1, factor_2, covariance), or "
                f"long ({date!r}, {key!r}, 'volatility') or ({date!r}, {key!r}, "
                f"'specific_var'); found {found} of 'volatility' and 'specific_var' in "
                f"{schema.names()}."
            )
            raise (ValueError(msg) if has_vol else ColumnNotFoundError(msg))
        column = "volatility" if has_vol else "specific_var"
        variance, what = has_var, f"the predicted {column!r}"
        _validate.check_columns_exist(schema, [key], role="key column of `predicted`")
        _validate.check_numeric(schema, [column], role=f"prediction column {column!r}")
        pred = lf.select(pl.col(date), pl.col(key).cast(pl.String), clean(column))
        name = key
    _check_keys(pred, date, name, what="`predicted`", engine=engine)
    _check_not_negative(pred, column, what=what, engine=engine)
    sigma = pl.col(column).sqrt() if variance else pl.col(column)
    return pred.select(pl.col(date), pl.col(name).alias(k), sigma.alias(s))


def _bias_regime(
    returns: Frame,
    predicted: Frame,
    *,
    half_life: float,
    weights: str | None,
    key: str,
    value: str,
    date: str,
    engine: EngineType,
) -> pl.DataFrame:
    _check_frame(predicted, "predicted")
    taken = set(returns.collect_schema().names()) | set(predicted.collect_schema().names())
    names = {n: temp_name(taken, n) for n in ("k", "r", "w", "s", "num", "den", "any")}
    r, w, s = (pl.col(names[n]) for n in ("r", "w", "s"))
    num, den, any_ = (names[n] for n in ("num", "den", "any"))
    rets = _long_returns(
        returns,
        key=key,
        value=value,
        date=date,
        weights=weights,
        names=names,
        engine=engine,
    )
    pred = _predicted_vols(
        predicted,
        key=key,
        date=date,
        returns_schema=returns.collect_schema(),
        names=names,
        engine=engine,
    )
    joined = rets.sort(date).join_asof(
        pred.sort(date),
        on=date,
        by=names["k"],
        strategy="backward",
        allow_exact_matches=False,
        check_sortedness=False,  # both sides are sorted by date here
    )
    z = pl.when(s > 0).then(r / s)
    valid = z.is_not_null() & (w > 0)
    per_date = (
        joined.group_by(date)
        .agg(
            (w * z * z).filter(valid).sum().alias(num),
            w.filter(valid).sum().alias(den),
            valid.any().alias(any_),
        )
        .sort(date)
        .select(
            pl.col(date),
            pl.when(pl.col(any_)).then((pl.col(num) / pl.col(den)).sqrt()).alias("bias"),
        )
    )
    multiplier = _ew_mean(pl.col("bias") ** 2, half_life).sqrt().forward_fill()
    return per_date.with_columns(multiplier.alias("multiplier")).collect(engine=engine)


def volatility_regime(
    realized: pl.DataFrame | pl.LazyFrame,
    predicted: pl.DataFrame | pl.LazyFrame | None = None,
    *,
    half_life: float = 42,
    method: RegimeMethod = "bias",
    long_half_life: float = 252,
    weights: str | None = None,
    key: str = "factor",
    value: str = "factor_return",
    date: str = "date",
    engine: EngineType = "auto",
) -> pl.DataFrame:
    r"""Volatility regime multiplier per date (USE4 volatility regime adjustment).

    Parameters
    ----------
    realized
        ``method="bias"``: realized returns, long (``date, key, value``, e.g. factor
        returns, or residuals with ``key="asset", value="residual"``) or wide (``date``
        plus one column per factor; read as wide when the frame has neither ``key`` nor
        ``value``). ``method="proxy"``: a single return series ``date, value`` (e.g. the
        market return; when ``value`` is absent and the frame has one other column, that
        column).
    predicted
        ``method="bias"`` only: the predicted risk of each series, as a covariance frame
        (``date, factor_1, factor_2, covariance``; the square roots of the diagonal are
        used), a long frame ``date, key, volatility``, or a long frame
        ``date, key, specific_var`` (a variance, e.g. the output of ``specific_risk``).
    half_life
        Half-life, in observations, of the weights over dates: of the bias statistic
        (``"bias"``) or of the short variance (``"proxy"``); ``math.inf`` gives equal
        weights.
    method
        ``"bias"``: the realized bias of past forecasts; ``"proxy"``: the ratio of a
        short to a long exponentially weighted variance of ``realized``.
    long_half_life
        ``method="proxy"`` only: half-life of the long variance.
    weights
        ``method="bias"`` only: a column of (long) ``realized`` with cross-sectional
        weights, e.g. market capitalization for specific returns; equal weights if None.
    key, value, date
        Column names: the cross-section key (``"asset"`` for residuals), the return and
        the date.
    engine
        Polars engine that runs the plans.

    Returns
    -------
    polars.DataFrame
        ``date, bias, multiplier`` (Float64), one row per date of ``realized``, sorted by
        date. ``bias`` is the cross-sectional bias statistic :math:`B_t` (null for
        ``method="proxy"`` and on dates without a standardized return); ``multiplier``
        is :math:`\lambda_t`. Scale a volatility forecast by ``multiplier`` and a
        variance (a covariance matrix, specific variances) by ``multiplier ** 2``.

        Eager even for LazyFrame inputs, by design: the key and date checks read the
        inputs at call time anyway, and the result is a small table of one row per
        date that scales the (eager) covariance and specific risk forecasts.

    Raises
    ------
    ColumnNotFoundError
        A named column is missing.
    SchemaError
        A non-numeric return, weight or prediction column; mismatched date dtypes.
    DuplicateKeyError
        A repeated ``(date, key)`` in ``realized`` or ``predicted`` (a repeated date for a
        wide or proxy series).
    WeightError
        Negative weights.
    ValueError
        A half-life that is not positive; ``predicted`` missing for ``"bias"`` or given
        for ``"proxy"``; ``weights`` with wide or proxy returns.
    InvalidDataError
        Negative predicted volatilities or variances; null dates or keys.

    Notes
    -----
    ``method="bias"`` (Menchero, Orr and Wang 2011, *The Barra US Equity Model (USE4)*,
    Methodology Notes, sections on the factor and specific volatility regime
    adjustments). The return :math:`r_{kt}` of series :math:`k` on date :math:`t` is
    standardized by the volatility predicted for it at the latest date strictly before
    :math:`t` (an as-of join per key: no look-ahead),
    :math:`z_{kt} = r_{kt} / \sigma_{k,\text{prev}}`. The cross-sectional bias
    statistic is

    .. math:: B_t = \sqrt{\frac{\sum_k w_k z_{kt}^2}{\sum_k w_k}},

    over the rows with a standardized return and a positive weight (rows with a null
    return, no earlier prediction, a zero prediction or a null/zero weight are left out).
    The multiplier is the exponentially weighted mean of :math:`B^2` over the dates
    :math:`s \le t` that have a :math:`B`,

    .. math:: \lambda_t = \sqrt{\frac{\sum_{s \le t} v_s B_s^2}{\sum_{s \le t} v_s}},
       \qquad v_s = 0.5^{a_s / h},

    where :math:`a_s` is the number of dates with a :math:`B` after :math:`s`. A date
    without :math:`B` keeps the previous multiplier (null before the first :math:`B`).
    If forecasts were unbiased, :math:`E[B_t^2] = 1`; :math:`\lambda > 1` says risk was
    underpredicted recently.

    ``method="proxy"``: with :math:`\sigma^2_h(t)` the exponentially weighted variance of
    ``realized`` with half-life :math:`h` over the observations up to :math:`t` (weights
    :math:`0.5^{a/h}` normalized to sum to 1, weighted mean subtracted, no bias
    correction), :math:`\lambda_t = \sqrt{\sigma^2_{h}(t) / \sigma^2_{h_\text{long}}(t)}`;
    null while the long variance is zero (e.g. on the first observation); a date with a
    null return keeps the previous multiplier.

    Examples
    --------
    >>> import polars as pl
    >>> from polars_factors.risk.regime import volatility_regime
    >>> returns = pl.DataFrame(
    ...     {"date": [1, 1, 2, 2, 3, 3], "factor": ["a", "b"] * 3,
    ...      "factor_return": [0.01, -0.02, 0.02, 0.01, -0.04, 0.02]}
    ... )
    >>> predicted = pl.DataFrame(
    ...     {"date": [1, 1, 2, 2], "factor": ["a", "b"] * 2,
    ...      "volatility": [0.01, 0.01, 0.02, 0.01]}
    ... )
    >>> volatility_regime(returns, predicted, half_life=1)
    shape: (3, 3)
    ┌──────┬──────────┬────────────┐
    │ date ┆ bias     ┆ multiplier │
    │ ---  ┆ ---      ┆ ---        │
    │ i64  ┆ f64      ┆ f64        │
    ╞══════╪══════════╪════════════╡
    │ 1    ┆ null     ┆ null       │
    │ 2    ┆ 1.581139 ┆ 1.581139   │
    │ 3    ┆ 2.0      ┆ 1.870829   │
    └──────┴──────────┴────────────┘

    On date 2, :math:`z = (2, 1)` and :math:`B = \sqrt{(4 + 1) / 2}`; on date 3,
    :math:`z = (-2, 2)`, :math:`B = 2` and
    :math:`\lambda = \sqrt{(0.5 \cdot 2.5 + 4) / 1.5}`.
    """
    _check_frame(realized, "realized")
    _validate.check_choice("method", method, ("bias", "proxy"))
    _validate.check_column_names(key=key, value=value, date=date, weights=weights)
    h = _validate.check_half_life("half_life", half_life)
    if method == "proxy":
        if predicted is not None:
            msg = (
                "method='proxy' uses only the return series; `predicted` must be None "
                "(use method='bias' to compare returns with predicted volatilities)."
            )
            raise ValueError(msg)
        if weights is not None:
            msg = "`weights` applies to method='bias' only (a proxy is a single series)."
            raise ValueError(msg)
        long_h = _validate.check_half_life("long_half_life", long_half_life)
        return _proxy_regime(
            realized,
            half_life=h,
            long_half_life=long_h,
            key=key,
            value=value,
            date=date,
            engine=engine,
        )
    if predicted is None:
        msg = (
            "method='bias' needs `predicted`: the predicted covariance, volatilities or "
            "specific variances to standardize the returns with (or use method='proxy')."
        )
        raise ValueError(msg)
    return _bias_regime(
        realized,
        predicted,
        half_life=h,
        weights=weights,
        key=key,
        value=value,
        date=date,
        engine=engine,
    )


# ---------------------------------------------------------------------------------
# bias_statistic


def _check_window(window: object, min_periods: object) -> tuple[int | None, int]:
    if window is not None:
        window = check_int("window", window, minimum=2, hint=" (or None for all observations)")
    if min_periods is None:
        return window, 2 if window is None else window
    periods = check_int("min_periods", min_periods, minimum=2, hint=" (or None)")
    if window is not None and periods > window:
        msg = f"`min_periods` ({periods}) must not exceed `window` ({window})."
        raise ValueError(msg)
    return window, periods


def bias_statistic(
    portfolio_returns: pl.DataFrame | pl.LazyFrame,
    predicted_vol: pl.DataFrame | pl.LazyFrame,
    *,
    window: int | None,
    portfolio: str | None = None,
    value: str = "return",
    volatility: str = "volatility",
    date: str = "date",
    min_periods: int | None = None,
    engine: EngineType = "auto",
) -> pl.DataFrame:
    r"""Bias statistic of volatility forecasts: the std of standardized returns (USE4).

    Parameters
    ----------
    portfolio_returns
        Realized returns ``date, [portfolio], value``.
    predicted_vol
        Volatility forecasts ``date, [portfolio], volatility``; the forecast at the latest
        date strictly before a return's date standardizes it.
    window
        Number of most recent standardized returns per portfolio in the rolling
        statistic; ``None`` for one statistic per portfolio over all observations.
    portfolio
        Key column of both frames when they hold several portfolios.
    value, volatility, date
        Column names.
    min_periods
        Fewest observations for a statistic (default: ``window``, or 2 when ``window``
        is None); fewer give a null ``bias``.
    engine
        Polars engine that runs the plans.

    Returns
    -------
    polars.DataFrame
        ``window=int``: ``date, [portfolio], z, bias, n_obs, lower, upper``, one row per
        standardized return, sorted by portfolio and date; ``window=None``:
        ``[portfolio], n_obs, bias, lower, upper``, one row per portfolio. ``z`` is the
        standardized return, ``n_obs`` the number of observations in the statistic and
        ``lower``, ``upper`` the approximate 95% band :math:`1 \mp \sqrt{2 / n}` of an
        unbiased forecast (null with ``bias``).

        Eager even for LazyFrame inputs, by design: the key checks read the inputs at
        call time anyway, and the result is small (at most one row per date and
        portfolio of a backtest).

    Raises
    ------
    ColumnNotFoundError
        A named column is missing.
    SchemaError
        Non-numeric returns or volatilities; mismatched date or portfolio dtypes.
    DuplicateKeyError
        A repeated ``(date, portfolio)`` (or date) in either frame.
    ValueError
        ``window`` or ``min_periods`` below 2, ``min_periods > window``.
    InvalidDataError
        Negative predicted volatilities; null dates or portfolios.

    Notes
    -----
    Menchero, Orr and Wang (2011), *The Barra US Equity Model (USE4)*, Methodology
    Notes, section on bias statistics. The standardized outcome is
    :math:`b_t = r_t / \sigma_{t^-}`, with :math:`\sigma_{t^-}` the forecast made at the
    latest date strictly before :math:`t` (as-of join per portfolio: no look-ahead). The
    bias statistic is the sample standard deviation

    .. math:: B = \sqrt{\frac{1}{n - 1} \sum_{t} (b_t - \bar b)^2}

    over the last ``window`` observations (or all). For a well-calibrated forecast
    :math:`B \approx 1`, within :math:`1 \pm \sqrt{2/n}` about 95% of the time (normal
    returns); :math:`B > 1` means risk was underpredicted. Returns without an earlier
    forecast, null returns and zero forecasts give no observation (a zero forecast is
    left out rather than dividing by zero); negative forecasts raise.

    Examples
    --------
    >>> import polars as pl
    >>> from polars_factors.risk.regime import bias_statistic
    >>> rets = pl.DataFrame({"date": [1, 2, 3, 4], "return": [0.5, 2.0, -1.0, 3.0]})
    >>> vols = pl.DataFrame({"date": [1, 2, 3], "volatility": [1.0, 2.0, 1.0]})
    >>> bias_statistic(rets, vols, window=None)
    shape: (1, 4)
    ┌───────┬──────────┬──────────┬──────────┐
    │ n_obs ┆ bias     ┆ lower    ┆ upper    │
    │ ---   ┆ ---      ┆ ---      ┆ ---      │
    │ u32   ┆ f64      ┆ f64      ┆ f64      │
    ╞═══════╪══════════╪══════════╪══════════╡
    │ 3     ┆ 1.802776 ┆ 0.183503 ┆ 1.816497 │
    └───────┴──────────┴──────────┴──────────┘

    The outcomes are :math:`b = (2/1, -1/2, 3/1)` (the first return has no earlier
    forecast), with standard deviation :math:`\sqrt{6.5 / 2} = 1.80`: outside the band,
    the risk of this portfolio was underpredicted.
    """
    _check_frame(portfolio_returns, "portfolio_returns")
    _check_frame(predicted_vol, "predicted_vol")
    _validate.check_column_names(portfolio=portfolio, value=value, volatility=volatility, date=date)
    win, periods = _check_window(window, min_periods)
    keys = [] if portfolio is None else [portfolio]
    r_schema = portfolio_returns.collect_schema()
    p_schema = predicted_vol.collect_schema()
    _validate.check_columns_exist(r_schema, [date, *keys, value], role="returns column")
    _validate.check_columns_exist(p_schema, [date, *keys, volatility], role="prediction column")
    _validate.check_numeric(r_schema, [value], role="return column")
    _validate.check_numeric(p_schema, [volatility], role="volatility column")
    for col in (date, *keys):
        _check_same_dtype(r_schema, p_schema, col, col)
    taken = set(r_schema.names()) | set(p_schema.names())
    r, s = temp_name(taken, "r"), temp_name(taken, "s")
    rets = portfolio_returns.lazy().select(pl.col(date, *keys), clean(value).alias(r))
    pred = predicted_vol.lazy().select(pl.col(date, *keys), clean(volatility).alias(s))
    _check_keys(rets, date, portfolio, what="the portfolio returns", engine=engine)
    _check_keys(pred, date, portfolio, what="the predicted volatilities", engine=engine)
    _check_not_negative(pred, s, what=f"the predicted {volatility!r}", engine=engine)
    obs = (
        rets.sort(date)
        .join_asof(
            pred.sort(date),
            on=date,
            by=keys or None,
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,  # both sides are sorted by date here
        )
        .select(
            pl.col(date, *keys),
            pl.when(pl.col(s) > 0).then(pl.col(r) / pl.col(s)).alias("z"),
        )
        .filter(pl.col("z").is_not_null())
        .sort(*keys, date)
    )

    def per_portfolio(expr: pl.Expr) -> pl.Expr:
        return expr.over(keys) if keys else expr

    if win is None:
        n = pl.len().alias("n_obs")
        bias = pl.when(pl.len() >= periods).then(pl.col("z").std(ddof=1)).alias("bias")
        stats = obs.group_by(keys).agg(n, bias).sort(keys) if keys else obs.select(n, bias)
    else:
        count = per_portfolio(pl.int_range(1, pl.len() + 1, dtype=pl.UInt32))
        std = pl.col("z").rolling_std(win, min_samples=periods, ddof=1)
        stats = obs.with_columns(
            per_portfolio(std).alias("bias"), count.clip(upper_bound=win).alias("n_obs")
        )
    band = (2.0 / pl.col("n_obs").cast(pl.Float64)).sqrt()
    present = pl.col("bias").is_not_null()
    return stats.with_columns(
        pl.when(present).then(1.0 - band).alias("lower"),
        pl.when(present).then(1.0 + band).alias("upper"),
    ).collect(engine=engine)
