r"""Time-series regressions per asset: full-sample, rolling, expanding and weighted betas.

Each asset's returns are regressed on factor returns over time. Every fit needs only
weighted sums of cross-products of the regressors and the response over its window,
so the whole computation is Polars expressions: the sums are a ``group_by(asset)``
(full sample), rolling sums (rolling windows), cumulative sums (expanding windows) or
exponentially weighted sums, and the small systems are solved row by row by the
expression solver of :mod:`polars_factors.regression._ts_algebra`. No window is refit
and nothing loops over windows or assets in Python: the work is
:math:`O(N T K^2)` for :math:`N` assets, :math:`T` dates and :math:`K` factors.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import polars as pl

from polars_factors import _validate
from polars_factors._frame import report_lost, temp_name, user_stacklevel
from polars_factors._units import check_units
from polars_factors.exceptions import DataLossWarning, InsufficientDataError, SchemaError
from polars_factors.regression._ts_algebra import (
    SumNames,
    sandwich_inputs,
    sandwich_stages,
    solve_stages,
    sum_of,
)
from polars_factors.regression._ts_robust import BATCH, TS_COV_TYPES, Meat
from polars_factors.typing import ColumnNames, EngineType, FrameT

__all__ = ["betas", "join_factors"]

_DURATION = re.compile(r"(\d+(ns|us|ms|s|m|h|d|w|mo|q|y|i))+")

#: ``window`` values: None (full sample), a number of rows, ``"expanding"`` or a
#: Polars duration string such as ``"252d"`` or ``"12mo"``.
Window = int | str | None
#: ``cov_type`` values of :func:`betas`.
TsCovType = Literal["classical", "HC0", "HC1", "HAC"]


@dataclass(frozen=True)
class _Spec:
    returns: str
    factors: list[str]
    kind: Literal["full", "rows", "expanding", "duration"]
    window: int | str | None
    min_periods: int
    decay: float | None  # per-row weight factor 0.5 ** (1 / half_life)
    intercept: bool
    weights: str | None
    asset: str
    date: str
    tmp: str  # prefix of the temporary columns: no column of the frame starts with it
    # Check the time order inside the plan, after the sort by asset (a LazyFrame with
    # check_keys=None and a window or half-life).
    order_guard: bool = False
    cov_type: str = "classical"
    nw_lags: int = 0  # Newey-West lags (cov_type="HAC")

    @property
    def n_params(self) -> int:
        return len(self.factors) + int(self.intercept)


def join_factors(
    panel: FrameT, factors: pl.DataFrame | pl.LazyFrame, *, date: str = "date"
) -> FrameT:
    """Join a wide frame of factor returns onto a panel by date.

    Parameters
    ----------
    panel
        Long panel, one row per ``(date, asset)``, lazy or eager.
    factors
        Wide factor time series: a ``date`` column plus one column per factor (e.g.
        the Fama-French factors). Lazy or eager; with an eager ``panel`` it is
        collected.
    date
        Name of the date column in both frames.

    Returns
    -------
    DataFrame or LazyFrame
        ``panel`` (same kind, same rows, same order) with the factor columns added.
        A panel date that is not in ``factors`` gets nulls; no row is dropped. On a
        DataFrame, a :class:`~polars_factors.exceptions.DataLossWarning` gives the
        share of rows left without factor returns (e.g. monthly factors on a daily
        panel: use an as-of join, or factors of the panel's frequency).

    Raises
    ------
    ColumnNotFoundError
        ``date`` is missing from either frame.
    SchemaError
        The two date columns have different dtypes.
    DuplicateKeyError
        ``factors`` has a date more than once (the join would duplicate panel rows).
    ValueError
        A factor column name is already a panel column, or ``factors`` has no column
        besides ``date``.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> panel = pl.DataFrame({"date": [1, 1, 2, 2], "asset": ["a", "b", "a", "b"]})
    >>> ff = pl.DataFrame({"date": [1, 2, 3], "mkt": [0.01, -0.02, 0.03]})
    >>> pf.join_factors(panel, ff)["mkt"].to_list()
    [0.01, 0.01, -0.02, -0.02]
    """
    if not isinstance(panel, (pl.DataFrame, pl.LazyFrame)):
        msg = f"`panel` must be a polars DataFrame or LazyFrame; got {type(panel).__name__}."
        raise TypeError(msg)
    if not isinstance(factors, (pl.DataFrame, pl.LazyFrame)):
        msg = f"`factors` must be a polars DataFrame or LazyFrame; got {type(factors).__name__}."
        raise TypeError(msg)
    p_schema = panel.collect_schema()
    f_schema = factors.collect_schema()
    _validate.check_columns_exist(p_schema, [date], role="date column of the panel")
    _validate.check_columns_exist(f_schema, [date], role="date column of the factors")
    _validate.check_key_dtypes(p_schema, date=date)
    _validate.check_key_dtypes(f_schema, date=date)
    if p_schema[date] != f_schema[date]:
        msg = (
            f"the date column {date!r} is {p_schema[date]} in the panel but {f_schema[date]} "
            f"in the factors; cast one to the other first, e.g. pl.col({date!r}).cast(pl.Date)."
        )
        raise SchemaError(msg)
    names = [c for c in f_schema.names() if c != date]
    if not names:
        msg = f"`factors` has no factor column, only {date!r}."
        raise ValueError(msg)
    clash = [c for c in names if c in p_schema]
    if clash:
        msg = (
            f"factor columns {clash} are already panel columns; rename or drop them in one "
            f"of the frames first."
        )
        raise ValueError(msg)
    _validate.check_unique(
        factors,
        date,
        what="`factors`",
        fix=f"Deduplicate it, e.g. factors.unique({date!r}, keep='last').",
    )
    if isinstance(panel, pl.DataFrame):
        table = factors.collect() if isinstance(factors, pl.LazyFrame) else factors
        table = check_units(table, names, function="join_factors")
        _warn_unmatched_dates(panel, table, date=date)
        return panel.join(table, on=date, how="left", maintain_order="left")
    # A DataFrame of factors is in memory: checked now; a LazyFrame in the plan.
    checked = (
        check_units(factors, names, function="join_factors").lazy()
        if isinstance(factors, pl.DataFrame)
        else check_units(factors, names, function="join_factors")
    )
    return panel.join(checked, on=date, how="left", maintain_order="left")


def _warn_unmatched_dates(panel: pl.DataFrame, factors: pl.DataFrame, *, date: str) -> None:
    """Warn when panel rows have a date that ``factors`` lacks (they get null factors)."""
    unmatched = panel.height - panel.select(date).join(factors.select(date), on=date).height
    if not unmatched:
        return
    msg = (
        f"join_factors: {unmatched} of {panel.height} panel rows "
        f"({unmatched / panel.height:.0%}) have a {date!r} with no row in `factors`; their "
        f"factor columns are null. If the factors have another frequency (e.g. monthly "
        f"factors on a daily panel), use factors of the panel's frequency or an as-of join: "
        f"panel.sort({date!r}).join_asof(factors.sort({date!r}), on={date!r})."
    )
    warnings.warn(msg, DataLossWarning, stacklevel=user_stacklevel())


def betas(
    frame: FrameT,
    returns: str = "ret",
    factors: ColumnNames = ("mkt", "smb", "hml"),
    *,
    window: Window = None,
    min_periods: int | None = None,
    half_life: float | None = None,
    add_intercept: bool = True,
    weights: str | None = None,
    asset: str = "asset",
    date: str = "date",
    cov_type: TsCovType = "classical",
    nw_lags: int | None = None,
    check_keys: bool | None = None,
    engine: EngineType = "auto",
) -> FrameT:
    r"""Estimate time-series betas of each asset on factor returns.

    For each asset, regress ``returns`` on ``factors`` (and an intercept) by least
    squares over the whole sample, or over a window ending at every row.

    Parameters
    ----------
    frame
        Long panel, lazy or eager, one row per ``(date, asset)`` with the asset's
        returns and the factor returns of that date (join a wide factor frame with
        :func:`join_factors`). Except for ``window=None`` without ``half_life``,
        each asset's rows must be in increasing date order (``frame.sort(date)``);
        other assets' rows may be interleaved.
    returns
        Response column (typically excess returns).
    factors
        Regressor columns, one or more.
    window
        - ``None``: one fit per asset over all its rows;
        - ``int``: a rolling fit over the asset's last ``window`` rows (rows, not
          observations: a row with a missing value stays in the window but is not
          used), labelled at the window's last row. As in statsmodels
          ``RollingOLS`` (``expanding=False``), the first ``window - 1`` rows of an
          asset have no estimate;
        - ``"expanding"``: a fit over all of the asset's rows up to each row;
        - a Polars duration string such as ``"252d"`` or ``"12mo"``: a fit over the
          asset's rows whose date is in ``(t - window, t]``, for irregular or gappy
          dates (``date`` must be a date/datetime; use e.g. ``"60i"`` for an
          integer date). Early windows are used as soon as they have
          ``min_periods`` observations.
    min_periods
        Fewest observations (rows with the response, every factor and a positive
        weight present) a window needs for an estimate; fewer give nulls. Default
        and minimum: the number of parameters (factors plus intercept); at most
        ``window`` for an int window.
    half_life
        Exponential weighting: an observation ``a`` rows older than the last row of
        its window (or of the asset, for ``window=None``) has weight
        :math:`0.5^{a / h}`. The age counts rows, including rows with missing
        values. ``None`` (the default) or ``math.inf``: equal weights.
    add_intercept
        Fit an intercept (``alpha``). Without one, ``r2`` is uncentred (as in
        statsmodels).
    weights
        Optional column of observation weights (e.g. inverse variance), multiplied
        with the half-life weights. A zero or missing weight leaves the row out;
        a negative weight is an error.
    cov_type
        Covariance of the estimates behind ``*_std_error`` and ``*_t_stat``, as
        statsmodels ``OLS``/``WLS(...).fit(cov_type=...)`` defines it:
        ``"classical"`` (homoskedastic, the default), ``"HC0"`` (White),
        ``"HC1"`` (HC0 times :math:`n/(n-p)`) or ``"HAC"`` (Newey-West with
        Bartlett weights and ``nw_lags`` lags, no small-sample correction).
        Coefficients and :math:`R^2` do not change. See Notes for the cost.
    nw_lags
        Lags of ``cov_type="HAC"`` (statsmodels' ``maxlags``; required with it and
        only with it). Lags count the asset's rows: a row that is not used (a
        missing value, a zero weight) adds no score but is one step of lag. Not
        available with a duration window.
    asset, date
        Names of the key columns.
    check_keys
        Check the data: with a window or ``half_life``, that each asset's dates
        strictly increase (which rules out repeated and null keys); for a
        full-sample fit, that no ``(date, asset)`` key repeats; and that no weight is
        negative. ``None`` (default): on a DataFrame, all at call time; on a
        LazyFrame, the time order and the weights inside the plan (nothing is read
        now; ``collect`` raises) and the duplicate keys of a full-sample fit not at
        all (check a scan once with :func:`~polars_factors.check_panel`). ``True``:
        all at call time whatever the frame (on a LazyFrame that reads the key
        columns now). ``False``: no check.
    engine
        Polars engine used to collect an eager input (and the checks).

    Returns
    -------
    DataFrame or LazyFrame
        The kind of ``frame``, with columns ``asset``, ``date`` (except for
        ``window=None``), ``n_obs`` (UInt32: the observations used), ``alpha``,
        ``beta_<factor>`` for each factor, ``alpha_std_error``,
        ``beta_<factor>_std_error``, ``alpha_t_stat``, ``beta_<factor>_t_stat`` and
        ``r2`` (no ``alpha`` columns without an intercept). ``window=None`` gives one
        row per asset, sorted by asset; any other window gives one row per input
        row, sorted by asset and then date (the input's order within each asset).

        Estimates are null where a window has fewer than ``min_periods``
        observations, where the regressors are collinear in the window (a factor
        with no spread, or one whose :math:`R^2` on the others exceeds
        :math:`1 - 10^{-10}`), and standard errors where no degree of freedom is
        left. ``n_obs`` is null where an int window is not yet full.

    Raises
    ------
    ColumnNotFoundError
        A named column is missing.
    SchemaError
        A value column is not numeric, or a duration window is used with a date
        column that is not temporal.
    InsufficientDataError
        An int window is shorter than the number of parameters.
    DuplicateKeyError, UnsortedError
        A repeated ``(date, asset)`` key, or an asset's dates go back in time.
    InvalidDataError
        With ``check_keys``, a rolling window or ``half_life``: a null date or asset.
    WeightError
        A negative weight.
    ValueError
        An invalid option (``min_periods``, ``half_life``, ``window``, ``cov_type``,
        ``nw_lags``), or ``cov_type="HAC"`` with a duration window.

    Notes
    -----
    With window weights :math:`w_t` (observation weights times half-life weights;
    zero for missing rows) and :math:`x_t` the factor returns, the fit minimises
    :math:`\sum_t w_t (y_t - \alpha - x_t'\beta)^2`:

    .. math::

        \hat\beta = S_{xx}^{-1} S_{xy}, \quad
        \hat\alpha = \bar y - \bar x'\hat\beta, \quad
        \hat\sigma^2 = \frac{\sum_t w_t \hat e_t^2}{n - p},

    with :math:`\bar x, \bar y` the weighted means, :math:`S_{xx}, S_{xy}` the
    weighted centred cross-products, :math:`n` the observations and :math:`p` the
    parameters. Standard errors are by default the classical (WLS) ones,
    :math:`\hat\sigma^2 (X'WX)^{-1}`, and :math:`R^2 = 1 - SSR / TSS` with the
    weighted centred TSS. These equal statsmodels ``OLS``/``WLS`` per asset and
    ``RollingOLS`` per window. The sums are taken after subtracting each asset's
    mean (which changes no estimate) so that the centring loses no digits.

    With ``cov_type`` the covariance is the sandwich
    :math:`(X'WX)^{-1} S (X'WX)^{-1}` with the scores :math:`u_t = w_t e_t x_t`
    (:math:`x_t` including the constant): :math:`S = \sum_t u_t u_t'` for HC0
    (times :math:`n/(n-p)` for HC1) and, for HAC with :math:`L` lags,
    :math:`S = \Gamma_0 + \sum_{l=1}^{L} (1 - \tfrac{l}{L+1})
    (\Gamma_l + \Gamma_l')`, :math:`\Gamma_l = \sum_t u_t u_{t-l}'` over the
    pairs of rows both in the window. The residuals depend on each window's own
    coefficients, so :math:`S` is expanded into window sums of fourth-order
    products of the data (a quadratic form in the coefficients): HC0/HC1 add
    12 window sums for one factor, 65 for three, 120 for four; HAC adds 15, 105 and
    210 more, per lag for a rolling window of rows (which sums each lag over its
    last ``window - l`` rows; expanding and full-sample fits, half-life or not,
    fold the lags into one sum per pair first). The expansion loses about two more digits than the
    classical formula where the fit is nearly exact (:math:`R^2` above 0.999).
    Standard errors are null where the classical ones are (no degree of freedom
    left). ``cov_type="HAC"`` with ``window=None`` needs each asset's rows in
    time order, checked as for ``half_life``.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame(
    ...     {
    ...         "date": [1, 2, 3, 4, 5] * 2,
    ...         "asset": ["a"] * 5 + ["b"] * 5,
    ...         "mkt": [0.01, -0.02, 0.03, 0.0, 0.01] * 2,
    ...     }
    ... ).with_columns(
    ...     ret=pl.when(pl.col("asset") == "a")
    ...     .then(0.001 + 1.5 * pl.col("mkt"))
    ...     .otherwise(-0.5 * pl.col("mkt") + pl.col("date") * 0.001)
    ... )
    >>> out = pf.betas(df, "ret", "mkt")
    >>> out.select("asset", pl.col("alpha", "beta_mkt", "r2").round(4)).rows()
    [('a', 0.001, 1.5, 1.0), ('b', 0.0029, -0.4848, 0.9697)]
    >>> rolling = df.lazy().factors.betas("ret", "mkt", window=3).collect()
    >>> rolling.filter(pl.col("asset") == "a")["beta_mkt"].round(6).to_list()
    [None, None, 1.5, 1.5, 1.5]

    Newey-West standard errors with one lag (the coefficients are unchanged):

    >>> hac = pf.betas(df, "ret", "mkt", cov_type="HAC", nw_lags=1)
    >>> hac.filter(pl.col("asset") == "b").select(
    ...     pl.col("beta_mkt", "beta_mkt_std_error").round(4)
    ... ).rows()
    [(-0.4848, 0.0116)]
    """
    if not isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
        msg = f"expected a polars DataFrame or LazyFrame; got {type(frame).__name__}."
        raise TypeError(msg)
    schema = frame.collect_schema()
    spec: _Spec = _spec(
        schema,
        returns=returns,
        factors=factors,
        window=window,
        min_periods=min_periods,
        half_life=half_life,
        add_intercept=add_intercept,
        weights=weights,
        asset=asset,
        date=date,
    )
    spec = _with_cov_type(spec, cov_type, nw_lags)
    if spec.kind != "full" and _validate.checks_in_plan(frame, check_keys):
        spec = replace(spec, order_guard=True)
    checked = _check_data(frame, spec, check_keys=check_keys)
    # The response only: regressors on a scale of 1 may be z-scored features. Factor
    # returns are checked where they come in (join_factors, the readers).
    plan = _plan(check_units(checked, [returns], function="betas").lazy(), spec)
    # A fit with enough observations but no coefficients: a singular design.
    first = _coef_names(spec.factors, intercept=spec.intercept)[0]
    lost = {first: (pl.col("n_obs") >= spec.min_periods) & pl.col(first).is_null()}
    why = (
        "fits with enough observations but a singular design: a constant or all-zero "
        "factor, or collinear factors, in the window; or values too large or too small "
        "for float64 sums of squares (|values| above about 1e150 or below 1e-145: "
        "rescale them)"
    )
    return report_lost(frame, plan, lost, reason=why, what="fits", engine=engine)


def _spec(
    schema: pl.Schema,
    *,
    returns: str,
    factors: ColumnNames,
    window: Window,
    min_periods: int | None,
    half_life: float | None,
    add_intercept: bool,
    weights: str | None,
    asset: str,
    date: str,
) -> _Spec:
    if not isinstance(returns, str):
        msg = f"`returns` must be a column name; got {returns!r}."
        raise TypeError(msg)
    names = _validate.as_list(factors, name="factors")
    if not names:
        msg = "`factors` must name at least one column."
        raise ValueError(msg)
    if returns in names:
        msg = f"the response {returns!r} is also listed in `factors`."
        raise ValueError(msg)
    if not isinstance(add_intercept, bool):
        msg = f"`add_intercept` must be a bool; got {add_intercept!r}."
        raise TypeError(msg)
    _validate.check_columns_exist(schema, [asset, date], role="key column")
    _validate.check_key_dtypes(schema, date=date, asset=asset)
    _validate.check_columns_exist(schema, [returns], role="returns column")
    _validate.check_columns_exist(schema, names, role="factor column")
    _validate.check_numeric(schema, [returns], role="returns column")
    _validate.check_numeric(schema, names, role="factor column")
    if weights is not None:
        _validate.check_columns_exist(schema, [weights], role="weights column")
        _validate.check_numeric(schema, [weights], role="weights column")
    n_params = len(names) + int(add_intercept)
    kind = _window_kind(window, schema[date], date=date, n_params=n_params)
    min_obs = _min_periods(min_periods, n_params=n_params, window=window, kind=kind)
    decay = _decay(half_life)
    taken = {asset, date}
    for out in _output_names(names, intercept=add_intercept):
        if out in taken:
            msg = f"the key column {out!r} has the name of an output column; rename it first."
            raise ValueError(msg)
    return _Spec(
        returns=returns,
        factors=names,
        kind=kind,
        window=window,
        min_periods=min_obs,
        decay=decay,
        intercept=add_intercept,
        weights=weights,
        asset=asset,
        date=date,
        tmp=temp_name(set(schema.names()), "ts_", prefix=True),
    )


def _with_cov_type(spec: _Spec, cov_type: str, nw_lags: int | None) -> _Spec:
    _validate.check_choice("cov_type", cov_type, TS_COV_TYPES)
    if cov_type != "HAC":
        if nw_lags is not None:
            msg = f"nw_lags={nw_lags!r} is only used with cov_type='HAC' (got {cov_type!r})."
            raise ValueError(msg)
        return replace(spec, cov_type=cov_type)
    if nw_lags is None:
        msg = (
            "cov_type='HAC' needs nw_lags=<number of lags> (statsmodels' maxlags), e.g. "
            "nw_lags=5 for daily returns; the Newey-West (1994) rule of thumb is "
            "floor(4 * (n / 100) ** (2 / 9)) for n observations."
        )
        raise ValueError(msg)
    if isinstance(nw_lags, bool) or not isinstance(nw_lags, int) or nw_lags < 0:
        msg = f"`nw_lags` must be an int >= 0; got {nw_lags!r}."
        raise ValueError(msg)
    if spec.kind == "duration":
        msg = (
            f"cov_type='HAC' is not available with a duration window ({spec.window!r}): the "
            "lag pairs inside a window of dates are not a window sum. Use an int window "
            "(rows), 'expanding' or None, or cov_type='HC0'/'HC1'."
        )
        raise ValueError(msg)
    return replace(spec, cov_type=cov_type, nw_lags=nw_lags)


def _min_periods(min_periods: int | None, *, n_params: int, window: Window, kind: str) -> int:
    if min_periods is None:
        return n_params
    if isinstance(min_periods, bool) or not isinstance(min_periods, int):
        msg = f"`min_periods` must be an int or None; got {min_periods!r}."
        raise TypeError(msg)
    if min_periods < n_params:
        msg = (
            f"min_periods={min_periods} is below the number of parameters ({n_params}, "
            f"factors and intercept); a fit needs at least {n_params} observations."
        )
        raise ValueError(msg)
    if kind == "rows" and isinstance(window, int) and min_periods > window:
        msg = f"min_periods={min_periods} is larger than the window ({window} rows)."
        raise ValueError(msg)
    return min_periods


def _decay(half_life: float | None) -> float | None:
    """Per-row weight factor ``0.5 ** (1 / half_life)``; ``None`` for equal weights."""
    if half_life is None:
        return None
    if isinstance(half_life, bool) or not isinstance(half_life, (int, float)):
        msg = f"`half_life` must be a positive number of rows or None; got {half_life!r}."
        raise TypeError(msg)
    h = _validate.check_half_life("`half_life`", half_life)
    return None if math.isinf(h) else float(0.5 ** (1.0 / h))


def _window_kind(
    window: Window, dtype: pl.DataType, *, date: str, n_params: int
) -> Literal["full", "rows", "expanding", "duration"]:
    if window is None:
        return "full"
    if isinstance(window, bool):
        msg = f"`window` must be None, an int, 'expanding' or a duration string; got {window!r}."
        raise TypeError(msg)
    if isinstance(window, int):
        if window < n_params:
            msg = (
                f"window={window} rows is shorter than the number of parameters "
                f"({n_params}); a window must hold at least {n_params} observations."
            )
            raise InsufficientDataError(msg)
        return "rows"
    if not isinstance(window, str):
        msg = f"`window` must be None, an int, 'expanding' or a duration string; got {window!r}."
        raise TypeError(msg)
    if window == "expanding":
        return "expanding"
    if not _DURATION.fullmatch(window):
        msg = (
            f"window={window!r} is not 'expanding' nor a Polars duration string such as "
            f"'252d', '12mo' or '3y' (or '60i' for an integer date)."
        )
        raise ValueError(msg)
    if window.endswith("i") and not window.endswith("mi"):
        if not dtype.is_integer():
            msg = f"window={window!r} counts integer dates, but {date!r} is {dtype}."
            raise SchemaError(msg)
    elif not dtype.is_temporal():
        msg = (
            f"a duration window ({window!r}) needs a Date or Datetime column, but {date!r} "
            f"is {dtype}. Convert it, e.g. pl.col({date!r}).str.to_date(), or use an int window."
        )
        raise SchemaError(msg)
    return "duration"


def _coef_names(factors: Sequence[str], *, intercept: bool) -> list[str]:
    return [*(["alpha"] if intercept else []), *(f"beta_{f}" for f in factors)]


def _output_names(factors: Sequence[str], *, intercept: bool) -> list[str]:
    names = _coef_names(factors, intercept=intercept)
    return [
        "n_obs",
        *names,
        *(f"{n}_std_error" for n in names),
        *(f"{n}_t_stat" for n in names),
        "r2",
    ]


def _check_data(frame: FrameT, spec: _Spec, *, check_keys: bool | None) -> FrameT:
    """Check the data, at call time or in the plan (``_validate.checks_now``)."""
    if spec.kind == "full" and spec.decay is None and spec.cov_type != "HAC":
        _validate.unique_keys(frame, check_keys, date=spec.date, asset=spec.asset)
    elif not spec.order_guard:  # else checked inside the plan, after its sort (_plan)
        frame = _validate.time_order(frame, check_keys, date=spec.date, asset=spec.asset)
    return _validate.no_negative(
        frame,
        check_keys,
        spec.weights,
        rule="weights must be >= 0 (a zero weight leaves the row out).",
    )


def _plan(lf: pl.LazyFrame, spec: _Spec) -> pl.LazyFrame:
    c = pl.col
    k = len(spec.factors)
    # Windowed fits run on rows sorted by asset (stably, so that each asset's dates
    # stay in order). An int window then needs no per-asset grouping at all: a window
    # that reaches into the previous asset is not full and gets no estimate anyway.
    windowed = spec.kind != "full"
    contiguous = spec.kind == "rows"
    if windowed:
        lf = lf.sort(spec.asset, maintain_order=True)
    if spec.order_guard:
        # Each asset's rows are now contiguous and in input order: the check compares
        # each row with the one before, with no window over the asset.
        lf = _validate.guard_time_order(lf, date=spec.date, asset=spec.asset, grouped=True)
    model = _ModelExprs(spec)
    lf = model.with_shifts(lf).with_columns(model.cleaned())
    products = model.products()
    sums = model.sum_names()
    keys: list[str]
    has_window = pl.lit(value=True)
    meat = _meat(spec, model) if spec.cov_type != "classical" else None
    if meat is not None and windowed:
        # 1.0 where the row `lag` rows before is of the same asset (rows sorted by asset).
        asset = pl.col(spec.asset)
        lf = lf.with_columns(
            (asset.shift(lag) == asset)
            .fill_null(value=False)
            .cast(pl.Float64)
            .alias(f"{spec.tmp}same{lag}")
            for lag in range(1, spec.nw_lags + 1)
        )
    if meat is not None and meat.fir:
        lf = lf.with_columns(meat.lag_columns())
    if spec.kind == "full":
        aggs = [e.sum().alias(name) for name, e in products.items()]
        if meat is not None:
            aggs += [e.sum().alias(n) for n, e in meat.products(meat.keys).items()]
        aggs += [c(n).first() for n in [*model.shift_x, model.shift_y] if spec.intercept]
        lf = lf.group_by(spec.asset).agg(aggs)
        keys = [spec.asset]
    else:
        lf = _window_sums(lf, products, spec, count=sums.n_obs, contiguous=contiguous)
        if contiguous:
            assert isinstance(spec.window, int)
            has_window = c(spec.asset) == c(spec.asset).shift(spec.window - 1)
        keys = [spec.asset, spec.date]
    stages, est = solve_stages(
        sums,
        k=k,
        intercept=spec.intercept,
        shift_x=[c(n) for n in model.shift_x],
        shift_y=c(model.shift_y),
        valid=has_window & (c(sums.n_obs) >= spec.min_periods),
        prefix=f"{spec.tmp}s_",
    )
    stages[0].append(pl.when(has_window).then(c(sums.n_obs)).alias(f"{spec.tmp}nobs"))
    for stage in stages:
        lf = lf.with_columns(stage)
    if meat is not None:
        lf, est = _narrow(lf, spec, meat=meat, model=model, sums=sums, est=est, keys=keys)
        # Rolling HAC sums run per asset: with hundreds of whole-column rolling sums
        # the streaming engine held 4 GB for 750k rows (0.9 GB per asset).
        lf, robust = _robust(lf, spec, meat, sums, contiguous=contiguous and not spec.nw_lags)
        est = {**est, **robust}
    names = _coef_names(spec.factors, intercept=spec.intercept)
    coefs = [*([est["alpha"]] if spec.intercept else []), *(est[f"beta_{i}"] for i in range(k))]
    ses = [*([est["se_alpha"]] if spec.intercept else []), *(est[f"se_beta_{i}"] for i in range(k))]
    lf = lf.with_columns(
        [e.alias(n) for e, n in zip(coefs, names, strict=True)]
        + [e.alias(f"{n}_std_error") for e, n in zip(ses, names, strict=True)]
    )
    t_stats = [
        pl.when(c(f"{n}_std_error") > 0).then(c(n) / c(f"{n}_std_error")).alias(f"{n}_t_stat")
        for n in names
    ]
    out = lf.select(
        *keys,
        c(f"{spec.tmp}nobs").cast(pl.UInt32).alias("n_obs"),
        *names,
        *(f"{n}_std_error" for n in names),
        *t_stats,
        est["r2"].alias("r2"),
    )
    return out if windowed else out.sort(spec.asset)


def _narrow(
    lf: pl.LazyFrame,
    spec: _Spec,
    *,
    meat: Meat,
    model: _ModelExprs,
    sums: SumNames,
    est: dict[str, pl.Expr],
    keys: list[str],
) -> tuple[pl.LazyFrame, dict[str, pl.Expr]]:
    """Keep the classical outputs as columns, then only the columns the meat reads.

    The frame is narrower (by the solver's intermediates) while it holds the meat's
    sums. A full-sample fit has its sums already, one row per asset: it is left as is.
    """
    c = pl.col
    done = {n: f"{spec.tmp}o_{n}" for n in est if not n.startswith("se_")}
    lf = lf.with_columns(est[n].alias(name) for n, name in done.items())
    est = {**est, **{n: c(name) for n, name in done.items()}}
    if spec.kind == "full":
        return lf, est
    keep = [
        *keys,
        f"{spec.tmp}nobs",
        *done.values(),
        *meat.inputs(),
        *(f"{spec.tmp}same{lag}" for lag in range(1, spec.nw_lags + 1)),
        *sandwich_inputs(
            sums, k=len(spec.factors), intercept=spec.intercept, prefix=f"{spec.tmp}s_"
        ),
        *(model.shift_x if spec.intercept else []),
    ]
    return lf.select(list(dict.fromkeys(keep))), est


def _meat(spec: _Spec, model: _ModelExprs) -> Meat:
    """Return the robust meat over the cleaned (shifted, zeroed) columns of ``model``."""
    p, k = spec.tmp, len(spec.factors)
    windowed = spec.kind != "full"

    def shift(e: pl.Expr, lag: int) -> pl.Expr:
        if windowed:  # rows sorted by asset; the mask is a column (`same{lag}`, _plan)
            return e.shift(lag, fill_value=0.0) * pl.col(f"{p}same{lag}")
        return e.shift(lag, fill_value=0.0).over(spec.asset)

    return Meat(
        regressors=(*([None] if spec.intercept else []), *(f"{p}t{i}" for i in range(k))),
        response=f"{p}t{k}",
        weight=f"{p}v" if model.unit_weights else f"{p}wt",
        prefix=f"{p}r_",
        lags=spec.nw_lags,
        # Windowed half-lives decay in the window sums; a full fit's are in the weights.
        fir_decay=spec.decay if windowed and spec.decay is not None else 1.0,
        shift=shift,
        fir=spec.kind != "rows",
    )


def _robust(
    lf: pl.LazyFrame, spec: _Spec, meat: Meat, sums: SumNames, *, contiguous: bool
) -> tuple[pl.LazyFrame, dict[str, pl.Expr]]:
    """Fold the meat's sums and return the robust standard errors (after the solve)."""
    c = pl.col
    k, s = len(spec.factors), f"{spec.tmp}s_"
    gamma = [-c(f"{s}beta{i}") for i in range(k)]
    if spec.intercept:
        # In the summed (shifted) coordinates the intercept is my - mx'beta.
        a = c(f"{s}my") - sum_of([c(f"{s}mx{i}") * c(f"{s}beta{i}") for i in range(k)])
        lf = lf.with_columns((-a).alias(f"{s}g0"))
        gamma = [c(f"{s}g0"), *gamma]
    lf = lf.with_columns(meat.init())
    if spec.kind == "full":
        lf = lf.with_columns(meat.fold(meat.keys, gamma))
    else:
        lam = spec.decay
        squared = replace(spec, decay=None if lam is None else lam * lam)
        per_lag = spec.kind == "rows" and spec.nw_lags > 0
        size = max(1, BATCH // spec.nw_lags) if per_lag else BATCH
        if per_lag:
            lf = lf.with_columns(meat.pair_columns())
        for batch in meat.batches(size):
            added: list[str] = []
            if per_lag:
                # A window of w rows holds the lag-l pairs of its last w - l rows.
                assert isinstance(spec.window, int)
                for lag in range(1, spec.nw_lags + 1):
                    products = meat.lag_products(batch, lag)
                    if lag >= spec.window:  # no pair of rows this far apart in a window
                        lf = lf.with_columns(pl.lit(0.0).alias(n) for n in products)
                    elif products:
                        short = replace(squared, window=spec.window - lag)
                        lf = _window_sums(lf, products, short, count="", contiguous=contiguous)
                    added += products
                products = meat.products([key for key in batch if key[0] != "lag"])
            else:
                products = meat.products(batch)
            lf = _window_sums(lf, products, squared, count="", contiguous=contiguous)
            added += products
            lf = lf.with_columns(meat.fold(batch, gamma, per_lag=per_lag)).drop(added)
    n = c(sums.n_obs).cast(pl.Float64)
    n_params = spec.n_params
    scale = n / (n - n_params) if spec.cov_type == "HC1" else pl.lit(1.0)
    stages, est = sandwich_stages(
        sums,
        k=k,
        intercept=spec.intercept,
        shift_x=[c(f"{spec.tmp}cx{i}") for i in range(k)],
        meat=meat.meat(),
        scale=scale,
        prefix=s,
    )
    for stage in stages:
        lf = lf.with_columns(stage)
    return lf, est


class _ModelExprs:
    """The regression's per-row expressions: cleaned data, weights and products."""

    def __init__(self, spec: _Spec) -> None:
        self.spec = spec
        self.p = spec.tmp
        self.k = len(spec.factors)
        c = pl.col
        self.xs = [c(f).cast(pl.Float64) for f in spec.factors]
        self.y = c(spec.returns).cast(pl.Float64)
        valid = self.y.is_finite() & pl.all_horizontal([x.is_finite() for x in self.xs])
        w = pl.lit(1.0)
        if spec.weights is not None:
            w_col = c(spec.weights).cast(pl.Float64)
            valid = valid & w_col.is_finite() & (w_col > 0)
            w = w_col
        if spec.kind == "full" and spec.decay is not None:
            age = pl.len().over(spec.asset) - 1 - pl.int_range(pl.len()).over(spec.asset)
            w = w * pl.lit(spec.decay).pow(age.cast(pl.Float64))
        # A null value makes the test null, not false; a missing row is not used.
        self.valid = valid.fill_null(value=False)
        self.w = w
        self.shift_x = [f"{self.p}cx{i}" for i in range(self.k)]
        self.shift_y = f"{self.p}cy"

    def with_shifts(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        """Add per-asset constants, subtracted so that the sums stay accurate.

        Any constant per asset gives the same estimates; one close to the data (a
        typical value of the asset's series) keeps the window sums about a point near
        every window's mean, so centring them by the window mean loses no digits. On
        rows sorted by asset (windowed fits) the constant is the value on the asset's
        first row (if that row is used; else the constant carried over from the
        previous asset), which needs no per-asset grouping. For the full-sample fit it
        is the asset's mean over its used rows, from a ``group_by`` joined back (both
        stream).
        """
        if not self.spec.intercept:
            return lf
        pairs = [*zip(self.xs, self.shift_x, strict=True), (self.y, self.shift_y)]
        if self.spec.kind == "full":
            means = lf.group_by(self.spec.asset).agg(
                pl.when(self.valid).then(e).mean().fill_null(0.0).alias(n) for e, n in pairs
            )
            # Keep the row order: the half-life ages count rows within each asset.
            return lf.join(
                means, on=self.spec.asset, how="left", nulls_equal=True, maintain_order="left"
            )
        asset = pl.col(self.spec.asset)
        first = asset.ne_missing(asset.shift(1))
        return lf.with_columns(
            pl.when(first & self.valid).then(e).forward_fill().fill_null(0.0).alias(n)
            for e, n in pairs
        )

    def cleaned(self) -> list[pl.Expr]:
        """Shifted data and weights, zero on rows that are not used (a column each)."""
        c = pl.col
        if self.spec.intercept:
            xt = [x - c(n) for x, n in zip(self.xs, self.shift_x, strict=True)]
            yt = self.y - c(self.shift_y)
        else:
            xt, yt = self.xs, self.y
        zero = pl.lit(0.0)
        out = [self.valid.cast(pl.Float64).alias(f"{self.p}v")]
        if not self.unit_weights:
            out.append(pl.when(self.valid).then(self.w).otherwise(zero).alias(f"{self.p}wt"))
        out.extend(
            pl.when(self.valid).then(e).otherwise(zero).alias(f"{self.p}t{i}")
            for i, e in enumerate([*xt, yt])
        )
        return out

    @property
    def count_is_weight(self) -> bool:
        """Equal weights without decay: the sum of weights is the observation count."""
        return self.unit_weights and self.spec.decay is None

    @property
    def unit_weights(self) -> bool:
        return self.spec.weights is None and not (
            self.spec.kind == "full" and self.spec.decay is not None
        )

    def products(self) -> dict[str, pl.Expr]:
        """Weighted cross-products of the cleaned columns (zero on unused rows)."""
        k, c = self.k, pl.col
        t = [c(f"{self.p}t{i}") for i in range(k + 1)]  # the k regressors, then the response

        def weighted(e: pl.Expr) -> pl.Expr:
            return e if self.unit_weights else c(f"{self.p}wt") * e

        out: dict[str, pl.Expr] = {f"{self.p}n": c(f"{self.p}v")}
        if self.spec.intercept:
            if not self.count_is_weight:
                out[f"{self.p}w"] = c(f"{self.p}v") if self.unit_weights else c(f"{self.p}wt")
            out.update({f"{self.p}x{i}": weighted(t[i]) for i in range(k)})
            out[f"{self.p}y"] = weighted(t[k])
        out.update(
            {f"{self.p}xx{i}_{j}": weighted(t[i] * t[j]) for i in range(k) for j in range(i, k)}
        )
        out.update({f"{self.p}xy{i}": weighted(t[i] * t[k]) for i in range(k)})
        out[f"{self.p}yy"] = weighted(t[k] * t[k])
        return out

    def sum_names(self) -> SumNames:
        k, intercept = self.k, self.spec.intercept
        return SumNames(
            n_obs=f"{self.p}n",
            w=(f"{self.p}n" if self.count_is_weight else f"{self.p}w") if intercept else None,
            x=tuple(f"{self.p}x{i}" for i in range(k)) if intercept else (),
            y=f"{self.p}y" if intercept else None,
            xx={(i, j): f"{self.p}xx{i}_{j}" for i in range(k) for j in range(i, k)},
            xy=tuple(f"{self.p}xy{i}" for i in range(k)),
            yy=f"{self.p}yy",
        )


def _window_sums(
    lf: pl.LazyFrame,
    products: dict[str, pl.Expr],
    spec: _Spec,
    *,
    count: str,
    contiguous: bool,
) -> pl.LazyFrame:
    """Add a column per entry of ``products``: its sum over each row's window.

    The observation count ``count`` is never decayed; the other sums are
    exponentially decayed when ``spec.decay`` is set. ``contiguous``: the rows are
    sorted by asset and the window is a number of rows, so the sums run over the
    whole column (windows that cross into another asset are discarded later).
    """
    c = pl.col
    lam = spec.decay
    names = list(products)
    decayed = [n for n in names if n != count] if lam is not None else []

    def per_asset(e: pl.Expr) -> pl.Expr:
        return e if contiguous else e.over(spec.asset)

    def plain(e: pl.Expr) -> pl.Expr:
        if spec.kind == "expanding":
            return per_asset(e.cum_sum())
        if spec.kind == "rows":
            assert isinstance(spec.window, int)
            return per_asset(e.rolling_sum(spec.window, min_samples=1))
        assert isinstance(spec.window, str)
        return per_asset(e.rolling_sum_by(spec.date, window_size=spec.window, min_samples=1))

    lf = lf.with_columns(plain(products[n]).alias(n) for n in names if n not in decayed)
    if lam is None:
        return lf
    # E_t = sum_{j <= t} lam^(t - j) e_j: the adjusted EWM mean times its weight sum.
    row = per_asset(pl.int_range(pl.len())).cast(pl.Float64)
    weight_sum = (1.0 - pl.lit(lam).pow(row + 1.0)) / (1.0 - lam)
    lf = lf.with_columns(
        (
            per_asset(products[n].ewm_mean(alpha=1.0 - lam, adjust=True, ignore_nulls=False))
            * weight_sum
        ).alias(n)
        for n in decayed
    )
    if spec.kind == "expanding":
        return lf
    if spec.kind == "rows":
        # The window sum is E_t - lam^w E_{t-w}.
        assert isinstance(spec.window, int)
        w = spec.window
        return lf.with_columns(
            (c(n) - lam**w * per_asset(c(n).shift(w)).fill_null(0.0)).alias(n) for n in decayed
        )
    # Duration window of `size` rows: E_t - lam^size E_{t-size}.
    assert isinstance(spec.window, str)
    size, start = f"{spec.tmp}size", f"{spec.tmp}start"
    # Rows in each window (missing ones included): a rolling sum of ones.
    lf = lf.with_columns(
        pl.col(spec.date)
        .is_not_null()
        .cast(pl.Float64)
        .rolling_sum_by(spec.date, window_size=spec.window)
        .over(spec.asset)
        .alias(size),
    ).with_columns((pl.int_range(pl.len()).over(spec.asset) - c(size).cast(pl.Int64)).alias(start))
    return lf.with_columns(
        (
            c(n)
            - pl.when(c(start) >= 0)
            .then(
                pl.lit(lam).pow(c(size))
                * c(n).gather(c(start).clip(lower_bound=0)).over(spec.asset)
            )
            .otherwise(0.0)
        ).alias(n)
        for n in decayed
    )
