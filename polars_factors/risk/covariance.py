"""Factor covariance: exponentially weighted volatilities and correlations, Newey-West."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Literal, TypedDict

import polars as pl

from polars_factors._frame import user_stacklevel
from polars_factors._validate import check_choice, check_half_life
from polars_factors.exceptions import DataLossWarning, InsufficientDataError, InvalidDataError
from polars_factors.risk import _input
from polars_factors.risk._linalg import _ewm, _pairwise

if TYPE_CHECKING:
    from polars_factors.typing import EngineType

__all__ = ["PRESETS", "CovariancePreset", "Preset", "covariance_frames", "factor_covariance"]

Preset = Literal["USE4S", "USE4L", "hsr"]


class CovariancePreset(TypedDict):
    """Half-lives (in dates) and Newey-West lags of a named methodology."""

    half_life_vol: float
    half_life_corr: float
    nw_lags_vol: int
    nw_lags_corr: int


#: USE4S / USE4L: the daily half-lives and Newey-West lags of Menchero, Orr & Wang
#: (2011), *The Barra US Equity Model (USE4)*; hsr: the notebook's 42 / 200 days.
PRESETS: dict[str, CovariancePreset] = {
    "USE4S": {"half_life_vol": 84, "half_life_corr": 504, "nw_lags_vol": 5, "nw_lags_corr": 2},
    "USE4L": {"half_life_vol": 252, "half_life_corr": 504, "nw_lags_vol": 5, "nw_lags_corr": 2},
    "hsr": {"half_life_vol": 42, "half_life_corr": 200, "nw_lags_vol": 0, "nw_lags_corr": 0},
}

_DEFAULT: CovariancePreset = {
    "half_life_vol": 84,
    "half_life_corr": 504,
    "nw_lags_vol": 0,
    "nw_lags_corr": 0,
}


def factor_covariance(
    factor_returns: pl.DataFrame | pl.LazyFrame,
    *,
    half_life_vol: float | None = None,
    half_life_corr: float | None = None,
    nw_lags_vol: int | None = None,
    nw_lags_corr: int | None = None,
    preset: Preset | None = None,
    min_periods: int | None = None,
    dates: Literal["all", "last"] | Sequence[object] = "all",
    demean: bool = True,
    date: str = "date",
    factor: str = "factor",
    value: str = "factor_return",
    engine: EngineType = "auto",
) -> pl.DataFrame:
    r"""Exponentially weighted factor covariance matrices, one per date, without look-ahead.

    Parameters
    ----------
    factor_returns
        Long (``date, factor, factor_return``, e.g.
        ``cross_section(...).factor_returns``) or wide (``date`` plus one numeric column
        per factor). A null or NaN return (e.g. an industry without stocks on that
        date), or a ``(date, factor)`` row absent from a long frame, is missing: see
        Notes.
    half_life_vol, half_life_corr
        Half-lives, in dates, of the weights of the volatilities and of the
        correlations (``math.inf`` for equal weights). Default 84 and 504 (USE4S), or
        the preset's.
    nw_lags_vol, nw_lags_corr
        Newey-West lags (Bartlett weights) of the variances and of the correlation
        matrix. Default 0, or the preset's.
    preset
        ``"USE4S"`` (84 / 504, lags 5 / 2), ``"USE4L"`` (252 / 504, lags 5 / 2) or
        ``"hsr"`` (42 / 200, no lags). Settings given explicitly take precedence.
    min_periods
        Dates with fewer observations (this date included) get a null matrix. Default
        ``K + 1`` (the fewest that can give a non-singular ``K x K`` matrix), and at
        least ``max(nw_lags) + 2``. With missing returns the count is per pair: an
        entry is null while the two factors have fewer than ``min_periods`` dates with
        both returns (a factor with fewer returns has null rows and columns).
    dates
        ``"all"`` (every date), ``"last"`` or a list of dates of the frame.
    demean
        Subtract the weighted mean (default); False treats the mean as zero.
    date, factor, value
        Column names of the factor returns.
    engine
        Polars engine used to read a LazyFrame.

    Returns
    -------
    pl.DataFrame
        ``date, factor_1, factor_2, covariance``: ``K * K`` rows per requested date
        (the full symmetric matrix), sorted by date, factors in the order of the input
        (first appearance when long, column order when wide). Units are those of the
        returns squared, per period (daily returns give daily covariances: multiply by
        252 to annualize).

        Eager even for a LazyFrame input, by design: the estimation runs in numpy on
        the whole ``T x K`` table of factor returns, which is read (collected with
        ``engine``) at call time, and the ``T x K^2`` result is small.

    Raises
    ------
    ColumnNotFoundError, SchemaError
        Missing or non-numeric columns.
    DuplicateKeyError
        A repeated date (or ``(date, factor)``). Rows in any order are sorted by date
        first (a long frame keeps each date's factors in their order).
    InsufficientDataError
        Empty returns.
    ValueError
        Unknown preset, a half-life that is not positive, negative lags or
        ``min_periods``.
    InvalidDataError
        Requested dates that are not in the frame; a null date (or factor name, long
        layout); an infinite return.

    Warns
    -----
    DataLossWarning
        When the Newey-West terms or the pairwise estimates of missing returns made
        correlation matrices indefinite and they were projected (negative eigenvalues
        set to 0).

    Notes
    -----
    For each requested date :math:`t`, only the returns :math:`f_s, s \le t` are used,
    with weights :math:`w_s = 0.5^{(t-s)/h}` normalized to sum to one over
    :math:`s \le t` (no zero start: the first dates are not shrunk toward zero) and the
    weighted mean :math:`\bar f` subtracted:

    .. math::

        \Gamma_l = \sum_{s \ge l} w_s (f_s - \bar f)(f_{s-l} - \bar f)', \qquad
        V = \Gamma_0 + \sum_{l=1}^{L} \Bigl(1 - \frac{l}{L+1}\Bigr)
            (\Gamma_l + \Gamma_l')

    (Newey & West 1987; with equal weights this is statsmodels' ``S_hac_simple`` of
    the demeaned returns, which divides the lagged sums by the full count). The
    volatilities :math:`\sigma_k = \sqrt{V_{kk}}` come from :math:`V` with
    ``half_life_vol`` and ``nw_lags_vol``, the correlations :math:`\rho` from
    :math:`V` with ``half_life_corr`` and ``nw_lags_corr``, and
    :math:`F_{kl} = \sigma_k \rho_{kl} \sigma_l` (USE4 Methodology Notes, factor covariance).
    Without Newey-West terms every matrix is positive semi-definite by construction;
    with them the correlation matrix can become indefinite, and is then projected
    (eigenvalues clipped at zero) with a warning; a negative Newey-West variance is
    clipped at zero.

    **Missing returns** are estimated pairwise, as pandas' ``ewm().cov()`` does: entry
    :math:`(k, l)` uses only the dates :math:`P_{kl} = \{s \le t: f_{sk}, f_{sl}
    \text{ present}\}`, with the weights renormalized over them,
    :math:`w_s = 0.5^{(t-s)/h} / \sum_{u \in P_{kl}} 0.5^{(t-u)/h}`, and the means
    :math:`\bar f_k, \bar f_l` taken over them. The lag-:math:`j` term of the pair
    sums :math:`w_s (f_{sk} - \bar f_k)(f_{s-j,l} - \bar f_l)` over the dates where
    :math:`f_{sk}` and :math:`f_{s-j,l}` are both present (still divided by the
    weight of :math:`P_{kl}`: a missing lag product counts as 0, as the first dates do
    in the complete case). The variance of a factor uses its own dates, so the
    volatilities ignore the other factors' gaps. Such a matrix need not be positive
    semi-definite: where it is not, the covariance of the correlation half-life is
    projected (eigenvalues clipped at 0, over the factors that have a covariance)
    with the warning above. Without missing returns the result is exactly that of the
    complete-data formulas.

    The weighted sums are linear recursions in time, computed for all dates in one
    pass (time linear in the number of dates, memory bounded by chunks of dates); the
    numpy kernels are in ``polars_factors/risk/_linalg/_ewm.py`` (complete returns)
    and ``_pairwise.py`` (missing returns: ``K x K`` sums of weights and means per
    pair, about four times the work).

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> fr = pl.DataFrame({
    ...     "date": [1, 2, 3, 4],
    ...     "mkt": [0.01, -0.02, 0.015, 0.005],
    ...     "smb": [0.002, 0.001, -0.003, 0.004]})
    >>> cov = pf.risk.factor_covariance(fr, half_life_vol=2, half_life_corr=4, dates="last")
    >>> cov.with_columns((pl.col("covariance") * 1e4).round(6))
    shape: (4, 4)
    ┌──────┬──────────┬──────────┬────────────┐
    │ date ┆ factor_1 ┆ factor_2 ┆ covariance │
    │ ---  ┆ ---      ┆ ---      ┆ ---        │
    │ i64  ┆ str      ┆ str      ┆ f64        │
    ╞══════╪══════════╪══════════╪════════════╡
    │ 4    ┆ mkt      ┆ mkt      ┆ 1.510606   │
    │ 4    ┆ mkt      ┆ smb      ┆ -0.095349  │
    │ 4    ┆ smb      ┆ mkt      ┆ -0.095349  │
    │ 4    ┆ smb      ┆ smb      ┆ 0.08029    │
    └──────┴──────────┴──────────┴────────────┘
    """
    frames = list(
        covariance_frames(
            factor_returns, half_life_vol=half_life_vol, half_life_corr=half_life_corr,
            nw_lags_vol=nw_lags_vol, nw_lags_corr=nw_lags_corr, preset=preset,
            min_periods=min_periods, dates=dates, demean=demean, date=date, factor=factor,
            value=value, engine=engine,
        )
    )  # fmt: skip
    return pl.concat(frames, how="vertical")


def covariance_frames(
    factor_returns: pl.DataFrame | pl.LazyFrame,
    *,
    half_life_vol: float | None = None,
    half_life_corr: float | None = None,
    nw_lags_vol: int | None = None,
    nw_lags_corr: int | None = None,
    preset: Preset | None = None,
    min_periods: int | None = None,
    dates: Literal["all", "last"] | Sequence[object] = "all",
    demean: bool = True,
    date: str = "date",
    factor: str = "factor",
    value: str = "factor_return",
    engine: EngineType = "auto",
) -> Iterator[pl.DataFrame]:
    """:func:`factor_covariance` as frames of consecutive dates, from one pass.

    For writing the matrices of many dates (``T x K^2`` rows) without holding them
    all: the recursions run once over the history, a chunk of dates at a time. Same
    options, and the same handling of missing returns; the frames, concatenated, are
    ``factor_covariance``'s result. The warning about projected matrices comes once
    the last frame is done.

    Examples
    --------
    >>> import polars as pl
    >>> from polars_factors.risk.covariance import covariance_frames, factor_covariance
    >>> fr = pl.DataFrame({"date": [1, 2, 3, 4], "mkt": [0.01, -0.02, 0.015, 0.0],
    ...                    "smb": [0.002, 0.004, -0.003, 0.001]})
    >>> opts = {"half_life_vol": 2, "half_life_corr": 4, "nw_lags_vol": 0, "nw_lags_corr": 0}
    >>> frames = covariance_frames(fr, **opts)  # a generator: nothing computed yet
    >>> pl.concat(list(frames)).equals(factor_covariance(fr, **opts))
    True
    """
    settings = _settings(preset, half_life_vol, half_life_corr, nw_lags_vol, nw_lags_corr)
    panel = _input.factor_panel(
        factor_returns, date=date, factor=factor, value=value, engine=engine
    )
    k = len(panel.factors)
    max_lag = max(settings["nw_lags_vol"], settings["nw_lags_corr"])
    if min_periods is None:
        min_periods = max(k + 1, max_lag + 2)
    elif min_periods < 1:
        msg = f"min_periods must be at least 1, got {min_periods}"
        raise ValueError(msg)
    keep = _keep(panel.dates, dates, date=date)
    n_projected = 0
    any_value, last = False, None
    # Missing returns need the pairwise sums; complete ones keep the cheaper kernel.
    kernel = _ewm if panel.complete else _pairwise
    for start, block, projected in kernel.factor_covariance_blocks(
        panel.values,
        keep.to_numpy(),
        half_life_vol=settings["half_life_vol"],
        half_life_corr=settings["half_life_corr"],
        lags_vol=settings["nw_lags_vol"],
        lags_corr=settings["nw_lags_corr"],
        demean=demean,
        min_periods=min_periods,
    ):
        n_projected += projected
        on = panel.dates.gather(keep.slice(start, block.shape[0]))
        out = _input.covariance_frame(_input.CovarianceStack(on, panel.factors, block), date=date)
        any_value = any_value or out.get_column("covariance").null_count() < out.height
        last = out
        yield out
    _warn_null_covariances(
        last, any_value=any_value, n_dates=panel.dates.len(), min_periods=min_periods, date=date
    )
    if n_projected:
        cause = "the Newey-West terms" if panel.complete else "pairwise estimates"
        msg = (
            f"{cause} made {n_projected} correlation matrices indefinite; they were "
            "projected to the nearest positive semi-definite matrices (negative "
            "eigenvalues set to 0). "
            + (
                "Fewer nw_lags_corr or a longer half_life_corr avoid it."
                if panel.complete
                else "The factor returns have missing values (estimated pair by pair); "
                "fewer nw_lags_corr, a longer half_life_corr or dropping sparse factors "
                "avoid it."
            )
        )
        warnings.warn(msg, DataLossWarning, stacklevel=user_stacklevel())


def _warn_null_covariances(
    last: pl.DataFrame | None, *, any_value: bool, n_dates: int, min_periods: int, date: str
) -> None:
    """Warn when the covariances asked for come out null although there were returns.

    The first dates of a history are null by design (fewer than ``min_periods`` dates
    so far) and do not warn; a result that is null everywhere, or null for some factors
    on its last date, does.
    """
    if last is None or last.height == 0:
        return
    if not any_value:
        msg = (
            f"factor_covariance: every covariance is null: no factor pair has "
            f"min_periods={min_periods} dates of returns in common by the dates asked for "
            f"(the factor returns have {n_dates} dates). Pass a longer history or a "
            f"smaller min_periods."
        )
        warnings.warn(msg, DataLossWarning, stacklevel=user_stacklevel())
        return
    on_last = last.filter(pl.col(date) == last.get_column(date).item(-1))
    nulls = on_last.filter(pl.col("covariance").is_null())
    if nulls.height:
        no_var = nulls.filter(pl.col("factor_1") == pl.col("factor_2")).get_column("factor_1")
        shown = ", ".join(repr(f) for f in no_var.head(5).to_list()) + (
            " ..." if no_var.len() > 5 else ""
        )
        msg = (
            f"factor_covariance: on the last date, {nulls.height} of {on_last.height} "
            f"covariances are null (fewer than min_periods={min_periods} dates of returns "
            f"in common: a short or sparse history)"
            + (f"; {no_var.len()} factors have no variance: {shown}." if no_var.len() else ".")
        )
        warnings.warn(msg, DataLossWarning, stacklevel=user_stacklevel())


def _settings(
    preset: Preset | None,
    half_life_vol: float | None,
    half_life_corr: float | None,
    nw_lags_vol: int | None,
    nw_lags_corr: int | None,
) -> CovariancePreset:
    if preset is not None:
        check_choice("preset", preset, list(PRESETS))
    base = PRESETS[preset] if preset is not None else _DEFAULT
    out: CovariancePreset = {
        "half_life_vol": base["half_life_vol"] if half_life_vol is None else half_life_vol,
        "half_life_corr": base["half_life_corr"] if half_life_corr is None else half_life_corr,
        "nw_lags_vol": base["nw_lags_vol"] if nw_lags_vol is None else nw_lags_vol,
        "nw_lags_corr": base["nw_lags_corr"] if nw_lags_corr is None else nw_lags_corr,
    }
    for name in ("half_life_vol", "half_life_corr"):
        check_half_life(name, out[name])
    for name in ("nw_lags_vol", "nw_lags_corr"):
        lags = out[name]  # type: ignore[literal-required]
        if not isinstance(lags, int) or isinstance(lags, bool) or lags < 0:
            msg = f"{name} must be a non-negative integer, got {lags!r}"
            raise ValueError(msg)
    return out


def _keep(
    all_dates: pl.Series, dates: Literal["all", "last"] | Sequence[object], *, date: str
) -> pl.Series:
    """Row indices of the requested dates, increasing."""
    n = all_dates.len()
    if isinstance(dates, str):
        check_choice("dates", dates, ["all", "last"])
        start = 0 if dates == "all" else n - 1
        return pl.int_range(start, n, dtype=pl.Int64, eager=True)
    wanted = pl.Series(date, list(dates)).cast(all_dates.dtype, strict=False)
    index = pl.DataFrame({date: all_dates}).with_row_index("i")
    found = pl.DataFrame({date: wanted}).join(index, on=date, how="left", maintain_order="left")
    if found.get_column("i").null_count():
        missing = found.filter(pl.col("i").is_null()).get_column(date).to_list()
        msg = f"requested dates are not in the factor returns: {missing[:5]}"
        raise InvalidDataError(msg)
    if found.height == 0:
        msg = "dates is an empty list; pass 'all', 'last' or some dates of the frame"
        raise InsufficientDataError(msg)
    indices: pl.Series = found.get_column("i").cast(pl.Int64).unique().sort()
    return indices
