r"""Asset-pricing tests of factor models: GRS, traded-factor J tests, two-pass risk premia.

Three estimators of a linear factor model for the excess returns :math:`r_t`
(:math:`N` test assets, e.g. 25 size/value portfolios) and factors :math:`f_t`
(:math:`K` columns, e.g. MktRF, SMB, HML), from two **wide** frames: a date column plus
one numeric column per portfolio or factor.

- :func:`grs`: the Gibbons-Ross-Shanken (1989) F test that all time-series alphas are
  zero (traded factors, finite-sample, normal errors).
- :func:`traded_factor_model`: the time-series estimator of traded factors (alphas,
  betas, risk premia as factor means) with robust or kernel (HAC) GMM standard errors
  and the J statistic of the alphas, as linearmodels ``TradedFactorModel``.
- :func:`linear_factor_model`: two-pass (cross-sectional) risk premia for traded or
  non-traded factors, with the GMM standard errors and J statistic of linearmodels
  ``LinearFactorModel``, and the classical Fama-MacBeth standard errors with and
  without Shanken's (1992) errors-in-variables correction.

The two frames are joined on the date (inner join, sorted by date); dates with a
missing, NaN or infinite value in any column used are dropped with a
:class:`~polars_factors.exceptions.DataLossWarning`. The data of such a test are small
(:math:`T \times (N + K)`), so the estimators collect them and solve in numpy
(:mod:`polars_factors.regression._solve._asset_pricing`); the results are frozen
dataclasses of small eager Polars frames and Python numbers.

Examples
--------
>>> import math
>>> import polars as pl
>>> from polars_factors import asset_pricing
>>> dates = list(range(120))
>>> mkt = [0.005 + 0.04 * math.sin(1.7 * t) for t in dates]
>>> smb = [0.002 + 0.03 * math.cos(2.3 * t + 1.0) for t in dates]
>>> factors = pl.DataFrame({"date": dates, "mkt": mkt, "smb": smb})
>>> portfolios = pl.DataFrame(
...     {"date": dates}
...     | {
...         f"p{i}": [
...             0.0004 * i + (0.8 + 0.2 * i) * m + (0.5 - 0.3 * i) * s
...             + 0.01 * math.sin((3.1 + 0.7 * i) * t)
...             for t, m, s in zip(dates, mkt, smb)
...         ]
...         for i in range(4)
...     }
... )
>>> res = asset_pricing.grs(portfolios, factors)
>>> res.df_num, res.df_den, round(res.statistic, 3), round(res.pvalue, 4)
(4, 114, 0.992, 0.4152)
>>> lfm = asset_pricing.linear_factor_model(portfolios, factors)
>>> lfm.risk_premia.select("factor", pl.col("risk_premium", "t_stat").round(4))
shape: (2, 3)
┌────────┬──────────────┬────────┐
│ factor ┆ risk_premium ┆ t_stat │
│ ---    ┆ ---          ┆ ---    │
│ str    ┆ f64          ┆ f64    │
╞════════╪══════════════╪════════╡
│ mkt    ┆ 0.0058       ┆ 2.1986 │
│ smb    ┆ 0.0011       ┆ 0.5062 │
└────────┴──────────────┴────────┘
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from polars_factors.asset_pricing._input import (
    AssetPricingCovType,
    KernelType,
    alphas_frame,
    betas_frame,
    check_gmm_data,
    check_gmm_options,
    check_ranks,
    j_test,
    premia_frame,
    prepare,
    require_periods,
    row,
    rows,
    series,
)
from polars_factors.exceptions import InsufficientDataError
from polars_factors.regression._solve import _asset_pricing as _ap

if TYPE_CHECKING:
    from polars_factors.typing import ColumnNames, EngineType

__all__ = [
    "AssetPricingCovType",
    "GRSResult",
    "KernelType",
    "LinearFactorResult",
    "TradedFactorResult",
    "grs",
    "linear_factor_model",
    "traded_factor_model",
]


#: Name of the zero-beta rate's row in the risk premia (linearmodels' name).
RISK_FREE = "risk_free"

_MAX_SHOWN = 3


# ---------------------------------------------------------------------------- results


@dataclass(frozen=True)
class GRSResult:
    r"""The Gibbons-Ross-Shanken test and the time-series regressions behind it.

    Attributes
    ----------
    statistic
        The GRS F statistic.
    pvalue
        Its p-value under :math:`F_{N,\,T-N-K}`.
    df_num, df_den
        Degrees of freedom :math:`N` and :math:`T - N - K`.
    n_periods
        :math:`T`, the dates used.
    alphas
        ``portfolio, alpha, std_error, t_stat, pvalue``: one row per test asset, the
        intercepts of the time-series OLS regressions with classical standard errors
        (residual variance divided by :math:`T - K - 1`) and Student-t p-values
        (:math:`T - K - 1` degrees of freedom), as ``statsmodels.OLS``.
    betas
        ``portfolio, factor, beta, std_error, t_stat, pvalue``: one row per test asset
        and factor (assets in input order, factors within), same inference.
    """

    statistic: float
    pvalue: float
    df_num: int
    df_den: int
    n_periods: int
    alphas: pl.DataFrame
    betas: pl.DataFrame

    def summary(self) -> pl.DataFrame:
        """Return the test as a one-row frame.

        Columns ``test, statistic, pvalue, df_num, df_den, n_periods, n_portfolios,
        n_factors``.
        """
        return pl.DataFrame(
            {
                "test": ["GRS"],
                "statistic": [self.statistic],
                "pvalue": [self.pvalue],
                "df_num": [self.df_num],
                "df_den": [self.df_den],
                "n_periods": [self.n_periods],
                "n_portfolios": [self.alphas.height],
                "n_factors": [self.betas.height // max(self.alphas.height, 1)],
            }
        )


@dataclass(frozen=True)
class TradedFactorResult:
    r"""Time-series estimates of a traded-factor model (:func:`traded_factor_model`).

    Attributes
    ----------
    alphas
        ``portfolio, alpha, std_error, t_stat, pvalue`` (normal p-values).
    betas
        ``portfolio, factor, beta, std_error, t_stat, pvalue``.
    risk_premia
        ``factor, risk_premium, std_error, t_stat, pvalue``: the factor means.
    j_statistic
        Wald statistic of all alphas, :math:`\chi^2_N` under the null; ``None`` when
        the covariance of the alphas is singular (with a
        :class:`~polars_factors.exceptions.RankDeficientWarning`).
    j_pvalue
        Its p-value (``None`` with it).
    j_df
        :math:`N`.
    n_periods
        :math:`T`.
    cov_type
        ``"robust"`` or ``"kernel"``.
    bandwidth
        The kernel bandwidth used (given or chosen from the data); ``None`` when robust.
    """

    alphas: pl.DataFrame
    betas: pl.DataFrame
    risk_premia: pl.DataFrame
    j_statistic: float | None
    j_pvalue: float | None
    j_df: int
    n_periods: int
    cov_type: AssetPricingCovType
    bandwidth: int | None

    def summary(self) -> pl.DataFrame:
        """Return the risk premia (the table of linearmodels' ``summary``).

        The J test is in :attr:`j_statistic` / :attr:`j_pvalue`.
        """
        return self.risk_premia


@dataclass(frozen=True)
class LinearFactorResult:
    r"""Two-pass estimates of a linear factor model (:func:`linear_factor_model`).

    Attributes
    ----------
    risk_premia
        One row per risk premium (with ``risk_free=True``, first the zero-beta rate,
        named ``"risk_free"`` as in linearmodels): ``factor, risk_premium``, the GMM
        inference of linearmodels ``std_error, t_stat, pvalue`` (normal p-value), the
        Fama-MacBeth ``fmb_std_error, fmb_t_stat`` and the Shanken-corrected
        ``shanken_std_error, shanken_t_stat``.
    alphas
        ``portfolio, alpha, std_error, t_stat, pvalue``: the average pricing errors
        :math:`\bar r_i - \hat z_i'\hat\lambda` and their GMM inference.
    betas
        ``portfolio, factor, beta, std_error, t_stat, pvalue``: first-pass loadings.
    j_statistic
        Wald statistic of the pricing errors, :math:`\chi^2_{N-K-n_{rf}}` under the
        null; ``0.0`` when :math:`N = K + n_{rf}`; ``None`` when their covariance is
        singular (with a :class:`~polars_factors.exceptions.RankDeficientWarning`).
    j_pvalue
        Its p-value; ``None`` when ``j_statistic`` is ``None`` or ``j_df`` is 0.
    j_df
        :math:`N - K - n_{rf}`.
    shanken_c
        :math:`c = \lambda_f'\hat\Sigma_f^{-1}\lambda_f`; the errors-in-variables part
        of the Fama-MacBeth variance is multiplied by :math:`1 + c`.
    n_periods
        :math:`T`.
    risk_free
        Whether the zero-beta rate was estimated.
    cov_type
        ``"robust"`` or ``"kernel"``.
    bandwidth
        The kernel bandwidth used (given or chosen from the data); ``None`` when robust.
    """

    risk_premia: pl.DataFrame
    alphas: pl.DataFrame
    betas: pl.DataFrame
    j_statistic: float | None
    j_pvalue: float | None
    j_df: int
    shanken_c: float
    n_periods: int
    risk_free: bool
    cov_type: AssetPricingCovType
    bandwidth: int | None

    def summary(self) -> pl.DataFrame:
        """Return the risk premia (the table of linearmodels' ``summary``).

        The J test is in :attr:`j_statistic` / :attr:`j_pvalue`.
        """
        return self.risk_premia


# ---------------------------------------------------------------------------- estimators


def grs(
    portfolios: pl.DataFrame | pl.LazyFrame,
    factors: pl.DataFrame | pl.LazyFrame,
    *,
    portfolio_columns: ColumnNames | None = None,
    factor_columns: ColumnNames | None = None,
    date: str = "date",
    engine: EngineType = "auto",
) -> GRSResult:
    r"""Test that the alphas of many assets on traded factors are jointly zero (GRS).

    Parameters
    ----------
    portfolios
        Wide frame of the test assets' **excess** returns: a ``date`` column and one
        numeric column per asset. A LazyFrame is collected with ``engine``.
    factors
        Wide frame of **traded** factor (excess) returns: ``date`` and one column per
        factor. It may be the same frame as ``portfolios`` when the column lists are
        given.
    portfolio_columns, factor_columns
        The columns to use; default all columns but ``date`` of the frame.
    date
        Name of the date column in both frames (any dtype that joins and sorts).
    engine
        Polars engine that collects lazy inputs.

    Returns
    -------
    GRSResult
        The statistic, its p-value and degrees of freedom, and per-asset alphas and
        betas with classical OLS inference. An eager result (Python numbers and eager
        frames), also for LazyFrame inputs, by design: the test runs in numpy on the
        small ``T x (N + K)`` table, which is collected whole with ``engine`` at call
        time.

    Raises
    ------
    ColumnNotFoundError
        A named column or ``date`` is missing.
    SchemaError
        A column is not numeric, or the two date columns have different dtypes.
    DuplicateKeyError
        A date appears twice in one frame.
    InsufficientDataError
        Fewer than :math:`N + K + 1` complete dates; a factor is constant or a linear
        combination of the others; a test asset is a combination of a constant and the
        factors; or the residual covariance is singular (an asset is a combination of
        the factors and other assets).
    ValueError
        A column is named as both a portfolio and a factor.
    InvalidDataError
        A date is null.

    Warns
    -----
    DataLossWarning
        When dates with a missing, NaN or infinite value are dropped.

    Notes
    -----
    Each asset is regressed on a constant and the factors by OLS over the same
    :math:`T` dates, :math:`r_{it} = \alpha_i + \beta_i' f_t + \varepsilon_{it}`. With
    the maximum-likelihood (divisor :math:`T`) covariance matrices of the residuals and
    of the factors,

    .. math::

        \hat\Sigma = \frac1T\sum_t \hat\varepsilon_t\hat\varepsilon_t', \qquad
        \hat\Omega = \frac1T\sum_t (f_t - \bar f)(f_t - \bar f)',

    the statistic of Gibbons, Ross and Shanken (1989, eq. 7; Cochrane, *Asset
    Pricing*, eq. 12.6) is

    .. math::

        F = \frac{T - N - K}{N}\,
            \frac{\hat\alpha'\hat\Sigma^{-1}\hat\alpha}{1 + \bar f'\hat\Omega^{-1}\bar f}
            \sim F_{N,\;T-N-K}

    exactly under the null :math:`\alpha = 0` with i.i.d. normal errors. It is
    invariant to the order of the assets and to rescaling all returns and factors
    by the same constant. The test needs :math:`T > N + K`.

    Examples
    --------
    >>> import polars as pl
    >>> from polars_factors.asset_pricing import grs
    >>> frame = pl.DataFrame(
    ...     {
    ...         "date": [1, 2, 3, 4, 5, 6],
    ...         "mkt": [0.01, -0.02, 0.03, 0.00, 0.02, -0.01],
    ...         "a": [0.012, -0.018, 0.035, 0.002, 0.019, -0.013],
    ...         "b": [0.008, -0.025, 0.028, 0.001, 0.024, -0.006],
    ...     }
    ... )
    >>> res = grs(frame, frame, portfolio_columns=["a", "b"], factor_columns="mkt")
    >>> res.summary().select("statistic", "pvalue", "df_num", "df_den").with_columns(
    ...     pl.col(pl.Float64).round(4)
    ... )
    shape: (1, 4)
    ┌───────────┬────────┬────────┬────────┐
    │ statistic ┆ pvalue ┆ df_num ┆ df_den │
    │ ---       ┆ ---    ┆ ---    ┆ ---    │
    │ f64       ┆ f64    ┆ i64    ┆ i64    │
    ╞═══════════╪════════╪════════╪════════╡
    │ 0.8681    ┆ 0.5041 ┆ 2      ┆ 3      │
    └───────────┴────────┴────────┴────────┘
    """
    data = prepare(
        portfolios,
        factors,
        portfolio_columns=portfolio_columns,
        factor_columns=factor_columns,
        date=date,
        engine=engine,
    )
    n, k = len(data.portfolios), len(data.factors)
    require_periods(data, n + k + 1, why=f"the GRS test needs T > N + K = {n} + {k}")
    check_ranks(data)
    bad = _ap.residual_dependent_column(data.r, data.f)
    if bad is not None:
        msg = (
            f"the residual covariance matrix of the test assets is singular: the residuals "
            f"of portfolio {data.portfolios[bad]!r} are a linear combination of those of "
            f"the portfolios before it (it is a combination of other test assets and the "
            f"factors). The GRS test needs a non-singular residual covariance; drop it."
        )
        raise InsufficientDataError(msg)
    fit = _ap.grs(data.r, data.f)
    return GRSResult(
        statistic=fit.statistic,
        pvalue=fit.pvalue,
        df_num=fit.df_num,
        df_den=fit.df_den,
        n_periods=data.n_periods,
        alphas=alphas_frame(data.portfolios, row(fit.coef, 0)),
        betas=betas_frame(data.portfolios, data.factors, rows(fit.coef, 1)),
    )


def traded_factor_model(
    portfolios: pl.DataFrame | pl.LazyFrame,
    factors: pl.DataFrame | pl.LazyFrame,
    *,
    cov_type: AssetPricingCovType = "robust",
    kernel: KernelType = "bartlett",
    bandwidth: int | None = None,
    debiased: bool = True,
    portfolio_columns: ColumnNames | None = None,
    factor_columns: ColumnNames | None = None,
    date: str = "date",
    engine: EngineType = "auto",
) -> TradedFactorResult:
    r"""Estimate alphas, betas and risk premia of traded factors, with the J test.

    The same estimates, standard errors and J statistic as
    ``linearmodels.asset_pricing.TradedFactorModel(portfolios, factors).fit(cov_type,
    debiased=debiased, kernel=kernel, bandwidth=bandwidth)`` (tested to 1e-10).

    Parameters
    ----------
    portfolios, factors
        Wide frames of excess returns and traded factor returns; see :func:`grs`.
    cov_type
        ``"robust"`` (heteroskedasticity-robust, White) or ``"kernel"`` (HAC).
    kernel
        Kernel of the HAC covariance, ``"bartlett"`` (Newey-West) or ``"parzen"``;
        ignored when ``cov_type="robust"``.
    bandwidth
        Non-negative int, below the number of dates: lags :math:`l \le L` get weight
        :math:`1 - l/(L+1)` (Bartlett). ``None`` chooses it from the data with the
        Newey-West (1994) rule, as linearmodels does (see Notes); it needs 4 dates
        (Bartlett) or 5 (Parzen). Only with ``cov_type="kernel"``.
    debiased
        Divide the covariance of the alphas and betas by :math:`T - K - 1` and that of
        the risk premia by :math:`T - 1` instead of :math:`T` (linearmodels' default).
    portfolio_columns, factor_columns, date, engine
        See :func:`grs`.

    Returns
    -------
    TradedFactorResult
        Alphas, betas, risk premia (factor means), the J statistic and the bandwidth.
        Eager also for LazyFrame inputs, as :func:`grs` (numpy on the small
        ``T x (N + K)`` table, collected whole at call time).

    Raises
    ------
    ColumnNotFoundError, SchemaError, DuplicateKeyError
        See :func:`grs`.
    InsufficientDataError
        Fewer than :math:`K + 2` complete dates (or than the automatic bandwidth
        needs), a factor that is constant or a combination of the others, or a test
        asset that is a combination of a constant and the factors.
    ValueError
        An unknown option, a negative bandwidth or one of at least :math:`T`, a
        ``bandwidth`` with ``cov_type="robust"``, a column used twice.
    InvalidDataError
        A date is null.

    Warns
    -----
    DataLossWarning
        When dates with a missing, NaN or infinite value are dropped.
    RankDeficientWarning
        When the covariance of the alphas is singular (e.g. more assets than dates):
        the J statistic is then ``None``.

    Notes
    -----
    Each asset is regressed on :math:`x_t = (1, f_t')'` by OLS; the risk premia are the
    factor means :math:`\hat\mu`. The moment conditions are the regression scores
    :math:`x_t\hat\varepsilon_{it}` of all assets and :math:`f_t - \hat\mu`, with
    long-run covariance (uncentred)

    .. math::

        \hat S = \hat\Gamma_0 + \sum_{l=1}^{L} w_l\,(\hat\Gamma_l + \hat\Gamma_l'),
        \qquad \hat\Gamma_l = \frac1T \sum_{t=l+1}^{T} g_t g_{t-l}',

    with :math:`L = 0` for ``"robust"``, :math:`w_l = 1 - l/(L+1)` (Bartlett) or the
    Parzen weights. The covariance of the regression coefficients is
    :math:`(I_N\otimes A^{-1})\hat S_{bb}(I_N\otimes A^{-1})/(T - d(K+1))` with
    :math:`A = \frac1T\sum_t x_t x_t'`, that of the risk premia
    :math:`\hat S_{ff}/(T - d)`, :math:`d = 1` if ``debiased`` else 0, and

    .. math::

        J = \hat\alpha'\,\hat V_\alpha^{-1}\,\hat\alpha \;\sim\; \chi^2_N.

    The automatic bandwidth (linearmodels' rule) standardizes each moment to unit
    standard deviation, sums them into one series :math:`x_t` with autocovariances
    :math:`\hat\sigma_j`, and takes, with :math:`n = \lceil 4(T/100)^{2/9}\rceil`
    (Bartlett; :math:`4/25` Parzen),
    :math:`L = \min(\lceil 1.1447\,(s_1/s_0)^{2/3}\,T^{1/3}\rceil, T - 1)`,
    :math:`s_0 = \hat\sigma_0 + 2\sum_{j=1}^n\hat\sigma_j`,
    :math:`s_1 = 2\sum_{j=1}^n j\hat\sigma_j` (Parzen: :math:`q = 2`, constant 2.6614,
    exponents :math:`1/5`). The same bandwidth is used for all the moments.

    Unlike :func:`grs` this is an asymptotic test that allows heteroskedastic and
    (with the kernel) autocorrelated errors.

    Examples
    --------
    >>> import polars as pl
    >>> from polars_factors.asset_pricing import traded_factor_model
    >>> frame = pl.DataFrame(
    ...     {
    ...         "date": [1, 2, 3, 4, 5, 6, 7, 8],
    ...         "mkt": [0.01, -0.02, 0.03, 0.00, 0.02, -0.01, 0.015, -0.005],
    ...         "a": [0.012, -0.018, 0.035, 0.002, 0.019, -0.013, 0.016, -0.001],
    ...         "b": [0.008, -0.025, 0.028, 0.001, 0.024, -0.006, 0.012, -0.009],
    ...     }
    ... )
    >>> res = traded_factor_model(frame, frame, portfolio_columns=["a", "b"],
    ...                           factor_columns=["mkt"], cov_type="kernel", bandwidth=1)
    >>> res.alphas.select("portfolio", pl.col("alpha", "t_stat").round(4))
    shape: (2, 3)
    ┌───────────┬─────────┬─────────┐
    │ portfolio ┆ alpha   ┆ t_stat  │
    │ ---       ┆ ---     ┆ ---     │
    │ str       ┆ f64     ┆ f64     │
    ╞═══════════╪═════════╪═════════╡
    │ a         ┆ 0.0013  ┆ 1.1215  │
    │ b         ┆ -0.0011 ┆ -0.6302 │
    └───────────┴─────────┴─────────┘
    >>> round(res.j_statistic, 3), res.j_df
    (2.076, 2)
    """
    check_gmm_options(cov_type, kernel, bandwidth, debiased)
    data = prepare(
        portfolios,
        factors,
        portfolio_columns=portfolio_columns,
        factor_columns=factor_columns,
        date=date,
        engine=engine,
    )
    check_gmm_data(data, cov_type=cov_type, kernel=kernel, bandwidth=bandwidth)
    fit = _ap.traded_factor_model(
        data.r, data.f, cov_type=cov_type, kernel=kernel, bandwidth=bandwidth, debiased=debiased
    )
    j_stat, j_pvalue = j_test(fit.j_statistic, fit.j_pvalue, what="alphas")
    return TradedFactorResult(
        alphas=alphas_frame(data.portfolios, row(fit.coef, 0)),
        betas=betas_frame(data.portfolios, data.factors, rows(fit.coef, 1)),
        risk_premia=premia_frame(data.factors, fit.risk_premia),
        j_statistic=j_stat,
        j_pvalue=j_pvalue,
        j_df=fit.j_df,
        n_periods=data.n_periods,
        cov_type=cov_type,
        bandwidth=fit.bandwidth,
    )


def linear_factor_model(
    portfolios: pl.DataFrame | pl.LazyFrame,
    factors: pl.DataFrame | pl.LazyFrame,
    *,
    risk_free: bool = False,
    cov_type: AssetPricingCovType = "robust",
    kernel: KernelType = "bartlett",
    bandwidth: int | None = None,
    debiased: bool = True,
    portfolio_columns: ColumnNames | None = None,
    factor_columns: ColumnNames | None = None,
    date: str = "date",
    engine: EngineType = "auto",
) -> LinearFactorResult:
    r"""Estimate two-pass (cross-sectional) risk premia with GMM, Fama-MacBeth and Shanken errors.

    The risk premia, their standard errors, the pricing errors, the betas and the J
    statistic are those of ``linearmodels.asset_pricing.LinearFactorModel(portfolios,
    factors, risk_free=risk_free).fit(cov_type, debiased=debiased, kernel=kernel,
    bandwidth=bandwidth)`` (tested to 1e-10). The same frame also gives the classical
    Fama-MacBeth standard errors and Shanken's (1992) errors-in-variables correction of
    them, so the three can be compared side by side.

    Parameters
    ----------
    portfolios
        Wide frame of the test assets' returns: excess returns, or total returns with
        ``risk_free=True``. See :func:`grs`.
    factors
        Wide frame of factor values; traded or not (e.g. consumption growth).
    risk_free
        Estimate a zero-beta rate: a constant in the second pass (the row
        ``"risk_free"`` of :attr:`LinearFactorResult.risk_premia`, linearmodels' name).
    cov_type, kernel, bandwidth
        Covariance of the GMM standard errors; see :func:`traded_factor_model`. The
        Fama-MacBeth and Shanken standard errors do not use them.
    debiased
        GMM: divide by :math:`T - K - 1` instead of :math:`T` (linearmodels' default).
        Fama-MacBeth and Shanken: sample covariances with divisor :math:`T - 1`
        instead of :math:`T`.
    portfolio_columns, factor_columns, date, engine
        See :func:`grs`.

    Returns
    -------
    LinearFactorResult
        Risk premia with three kinds of standard errors, pricing errors, betas and the
        J statistic. Eager also for LazyFrame inputs, as :func:`grs` (numpy on the
        small ``T x (N + K)`` table, collected whole at call time).

    Raises
    ------
    ColumnNotFoundError, SchemaError, DuplicateKeyError
        See :func:`grs`.
    InsufficientDataError
        As :func:`traded_factor_model`; also fewer test assets than risk premia, or
        betas that are collinear across the assets (the second pass cannot separate
        the premia).
    ValueError
        As :func:`traded_factor_model`; also a factor named ``"risk_free"`` with
        ``risk_free=True``.
    InvalidDataError
        A date is null.

    Warns
    -----
    DataLossWarning
        When dates with a missing, NaN or infinite value are dropped.
    RankDeficientWarning
        When the covariance of the pricing errors is singular: the J statistic is then
        ``None``.

    Notes
    -----
    **First pass**: :math:`r_{it} = c_i + \beta_i' f_t + \varepsilon_{it}` by OLS.
    **Second pass**: :math:`\bar r = Z\lambda + \alpha` by OLS, with :math:`Z = \hat B`
    (:math:`N \times K`), or :math:`Z = [1, \hat B]` and :math:`\lambda = (\lambda_0,
    \lambda_f')'` with ``risk_free=True``; :math:`n_{rf}` = 1 then, else 0. The pricing
    errors :math:`\hat\alpha = \bar r - Z\hat\lambda` are orthogonal to the columns of
    :math:`Z`.

    **GMM (linearmodels).** The estimates solve the exactly identified moment conditions

    .. math::

        \frac1T\sum_t \big(x_t\varepsilon_{1t};\ \dots;\ x_t\varepsilon_{Nt};\
        Z'(r_t - Z\lambda);\ r_t - Z\lambda - \alpha\big) = 0,

    so :math:`\widehat{\mathrm{Var}}(\hat\theta) = G^{-1}\hat S G^{-\prime}/(T - d(K+1))`
    with the Jacobian :math:`G` of the average moments and :math:`\hat S` as in
    :func:`traded_factor_model` (the bandwidth chosen on these moments). The moments
    include the first pass, so these standard errors already account for the
    estimated betas (and for heteroskedasticity and, with the kernel,
    autocorrelation). The J statistic is the Wald statistic of :math:`\hat\alpha` in
    the :math:`N - K - n_{rf}` dimensional space orthogonal to the columns of
    :math:`Z`, where the pricing errors lie: with :math:`Q` an orthonormal basis of
    it, :math:`J = (Q'\hat\alpha)'(Q'\hat V_\alpha Q)^{-1}Q'\hat\alpha \sim
    \chi^2_{N-K-n_{rf}}`.

    **Fama-MacBeth.** The cross-sectional regression of each date,
    :math:`\hat\lambda_t = (Z'Z)^{-1}Z'r_t`, averages to :math:`\hat\lambda`; its
    covariance is estimated by :math:`W = \frac1{T}\widehat{\mathrm{Cov}}(\hat\lambda_t)`
    (divisor :math:`T - 1` if ``debiased``, else :math:`T`). This treats the betas as
    known.

    **Shanken (1992).** With :math:`\hat\Sigma_f` the factor covariance (same divisor),
    :math:`\Sigma_f^*` that matrix bordered by a zero row and column for :math:`\lambda_0`
    when ``risk_free``, and :math:`c = \hat\lambda_f'\hat\Sigma_f^{-1}\hat\lambda_f`,

    .. math::

        \widehat{\mathrm{Var}}_{\text{Shanken}}(\hat\lambda)
        = (1 + c)\Big(W - \frac{\Sigma_f^*}{T}\Big) + \frac{\Sigma_f^*}{T}.

    Because the first-pass residuals are orthogonal to the factors in sample,
    :math:`W - \Sigma_f^*/T` equals :math:`(Z'Z)^{-1}Z'\hat\Sigma Z(Z'Z)^{-1}/T`
    exactly (:math:`\hat\Sigma` the residual covariance, same divisor), so this is
    Shanken's Theorem 1 and Cochrane's (*Asset Pricing*, eq. 12.19) formula
    :math:`\frac1T[(Z'Z)^{-1}Z'\hat\Sigma Z(Z'Z)^{-1}(1 + c) + \Sigma_f^*]`: only the
    errors-in-variables part is scaled by :math:`1 + c`. (Multiplying the whole of
    :math:`W` by :math:`1 + c` and adding :math:`\Sigma_f/T` would count the factor
    variance twice.) The correction assumes homoskedastic, serially uncorrelated
    errors; the GMM standard errors make neither assumption and already include the
    sampling error of the betas, and are usually close to the Shanken ones in
    i.i.d. data.

    Examples
    --------
    >>> import math
    >>> import polars as pl
    >>> from polars_factors.asset_pricing import linear_factor_model
    >>> dates = list(range(100))
    >>> f = pl.DataFrame({"date": dates, "mkt": [0.006 + 0.04 * math.sin(2.1 * t)
    ...                                           for t in dates]})
    >>> p = pl.DataFrame(
    ...     {"date": dates}
    ...     | {f"p{i}": [0.002 + (0.6 + 0.3 * i) * m + 0.01 * math.cos((1.3 + i) * t)
    ...                  for t, m in zip(dates, f["mkt"])] for i in range(5)}
    ... )
    >>> res = linear_factor_model(p, f, risk_free=True)
    >>> res.risk_premia.select(
    ...     "factor", "risk_premium", "t_stat", "fmb_t_stat", "shanken_t_stat"
    ... ).with_columns(pl.col(pl.Float64).round(3))
    shape: (2, 5)
    ┌───────────┬──────────────┬────────┬────────────┬────────────────┐
    │ factor    ┆ risk_premium ┆ t_stat ┆ fmb_t_stat ┆ shanken_t_stat │
    │ ---       ┆ ---          ┆ ---    ┆ ---        ┆ ---            │
    │ str       ┆ f64          ┆ f64    ┆ f64        ┆ f64            │
    ╞═══════════╪══════════════╪════════╪════════════╪════════════════╡
    │ risk_free ┆ 0.002        ┆ 2.134  ┆ 2.188      ┆ 2.14           │
    │ mkt       ┆ 0.006        ┆ 2.068  ┆ 2.08       ┆ 2.076          │
    └───────────┴──────────────┴────────┴────────────┴────────────────┘
    """
    check_gmm_options(cov_type, kernel, bandwidth, debiased)
    if not isinstance(risk_free, bool):
        msg = f"risk_free must be True or False; got {risk_free!r}."
        raise TypeError(msg)
    data = prepare(
        portfolios,
        factors,
        portfolio_columns=portfolio_columns,
        factor_columns=factor_columns,
        date=date,
        engine=engine,
    )
    if risk_free and RISK_FREE in data.factors:
        msg = (
            f"a factor is named {RISK_FREE!r}, the name of the zero-beta rate's row when "
            f"risk_free=True; rename the factor."
        )
        raise ValueError(msg)
    n, k = len(data.portfolios), len(data.factors)
    if n < k + int(risk_free):
        what = f"{k} factors" + (" plus the zero-beta rate" if risk_free else "")
        msg = (
            f"the second pass needs at least as many test assets as risk premia, but there "
            f"are {n} portfolios for {what}. Add test assets or remove factors."
        )
        raise InsufficientDataError(msg)
    check_gmm_data(data, cov_type=cov_type, kernel=kernel, bandwidth=bandwidth)
    bad = _ap.second_pass_dependent_column(data.r, data.f, risk_free=risk_free)
    if bad is not None:
        names = ([RISK_FREE] if risk_free else []) + data.factors
        what = "the constant" if names[bad] == RISK_FREE and risk_free else f"{names[bad]!r}"
        msg = (
            f"the second-pass design is singular: the betas on {what} are a linear "
            f"combination of the columns before it ({names[:bad]}) across the {n} test "
            f"assets, so its risk premium is not identified. Use test assets whose betas "
            f"differ more, or drop the factor."
        )
        raise InsufficientDataError(msg)
    fit = _ap.linear_factor_model(
        data.r,
        data.f,
        risk_free=risk_free,
        cov_type=cov_type,
        kernel=kernel,
        bandwidth=bandwidth,
        debiased=debiased,
    )
    j_stat, j_pvalue = j_test(fit.j_statistic, fit.j_pvalue, what="pricing errors")
    if fit.j_df == 0:
        j_pvalue = None
    names = ([RISK_FREE] if risk_free else []) + data.factors
    premia = premia_frame(names, fit.risk_premia).with_columns(
        series("fmb_std_error", fit.fmb.se),
        series("fmb_t_stat", fit.fmb.t),
        series("shanken_std_error", fit.shanken.se),
        series("shanken_t_stat", fit.shanken.t),
    )
    return LinearFactorResult(
        risk_premia=premia,
        alphas=alphas_frame(data.portfolios, fit.alphas),
        betas=betas_frame(data.portfolios, data.factors, fit.betas),
        j_statistic=j_stat,
        j_pvalue=j_pvalue,
        j_df=fit.j_df,
        shanken_c=fit.shanken_c,
        n_periods=data.n_periods,
        risk_free=risk_free,
        cov_type=cov_type,
        bandwidth=fit.bandwidth,
    )
