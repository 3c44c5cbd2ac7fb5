r"""Asset-pricing tests on small ``T x N`` return arrays (numpy and scipy; imports no polars).

``r`` is the ``(T, N)`` array of test-asset excess returns, ``f`` the ``(T, K)`` array of
factor returns, rows in time order, every value finite (the glue in
:mod:`polars_factors.asset_pricing` drops the rest and checks the ranks first).

- :func:`grs`: the Gibbons-Ross-Shanken (1989) F test of the time-series alphas.
- :func:`traded_factor_model`: the time-series estimator of linearmodels'
  ``TradedFactorModel``, with its robust or kernel (HAC) covariance and J statistic.
- :func:`linear_factor_model`: the two-pass estimator of linearmodels'
  ``LinearFactorModel`` (GMM covariance, J statistic on the pricing errors), plus the
  classical Fama-MacBeth and Shanken (1992) standard errors of the risk premia.

The estimators are written from the formulas in the docstrings, not from linearmodels'
code: the covariance of the two-pass estimates is the sandwich :math:`G^{-1} S
G^{-\prime}` of its exactly identified moment conditions, with the Jacobian :math:`G`
derived here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from polars_factors.regression._solve._hac import KernelName, newey_west
from polars_factors.regression._solve._types import FloatArray

__all__ = [
    "Estimates",
    "FloatArray",
    "GRSFit",
    "KernelName",
    "LinearFit",
    "TradedFit",
    "constant_columns",
    "dependent_column",
    "grs",
    "linear_factor_model",
    "min_periods_for_bandwidth",
    "residual_dependent_column",
    "second_pass_dependent_column",
    "spanned_columns",
    "traded_factor_model",
]

#: A column whose distance from the span of the columns before it, relative to its own
#: norm, is below this is a linear combination of them up to round-off.
DEPENDENT_RTOL = 1e-10

#: A variance that is negative by at most this fraction of the largest variance is a
#: zero variance up to round-off (linearmodels' rule, so that the standard errors agree).
VARIANCE_RTOL = 1e-10

#: Newey-West (1994) bandwidth rule: ``(q, c, a)``, characteristic exponent ``q``,
#: constant ``c`` and exponent ``a`` of the pilot lag ``ceil(4 (T/100)^a)``.
_BANDWIDTH_RULE: dict[str, tuple[int, float, float]] = {
    "bartlett": (1, 1.1447, 2 / 9),
    "parzen": (2, 2.6614, 4 / 25),
}


@dataclass(frozen=True)
class Estimates:
    """Estimates with standard errors, t-statistics and two-sided p-values.

    ``t`` and ``p`` are NaN where the standard error is 0 or NaN (no test).
    """

    est: FloatArray
    se: FloatArray
    t: FloatArray
    p: FloatArray

    @classmethod
    def of(cls, est: FloatArray, se: FloatArray, *, df: int | None = None) -> Estimates:
        """Complete ``est`` and ``se``; p-values from Student's t(df), normal if ``None``."""
        from scipy import stats  # type: ignore[import-untyped]  # noqa: PLC0415

        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(se > 0, est / se, np.nan)
        dist = stats.norm if df is None else stats.t(df)
        return cls(est=est, se=se, t=t, p=2 * dist.sf(np.abs(t)))


# ---------------------------------------------------------------------------- checks


def constant_columns(x: FloatArray) -> list[int]:
    """Columns of ``x`` that are constant up to round-off."""
    spread = np.sqrt(((x - x.mean(axis=0)) ** 2).sum(axis=0))
    scale = np.sqrt((x * x).sum(axis=0))
    return [int(j) for j in np.flatnonzero(spread <= DEPENDENT_RTOL * scale)]


def dependent_column(x: FloatArray, *, center: bool) -> int | None:
    """Index of the first column of ``x`` that is a linear combination of earlier ones.

    With ``center=True`` the columns are first centred, i.e. a constant is implicitly
    the first column (a constant column is then dependent). ``None`` if there is none.
    """
    z = x - x.mean(axis=0) if center else x.copy()
    norms = np.sqrt((z * z).sum(axis=0))
    scale = np.sqrt((x * x).sum(axis=0))
    flat = np.flatnonzero(norms <= DEPENDENT_RTOL * scale)
    if flat.size:
        return int(flat[0])
    z /= norms
    # |R_jj| of the QR factorization of unit columns is the distance of column j from
    # the span of the columns before it.
    diag = np.abs(np.diag(np.linalg.qr(z, mode="r")))
    bad = np.flatnonzero(diag <= DEPENDENT_RTOL)
    return int(bad[0]) if bad.size else None


def residual_dependent_column(r: FloatArray, f: FloatArray) -> int | None:
    """First column of ``r`` whose residual on a constant and ``f`` depends on earlier ones.

    ``None`` when the residual covariance matrix is non-singular (the GRS test needs it).
    """
    fit = _ols(r, f)
    return dependent_column(r - _with_constant(f) @ fit.coef, center=False)


def spanned_columns(r: FloatArray, f: FloatArray) -> list[int]:
    """Columns of ``r`` that are linear combinations of a constant and ``f`` (R^2 = 1)."""
    fc = _with_constant(f)
    coef = np.linalg.lstsq(fc, r, rcond=None)[0]
    resid = r - fc @ coef
    centred = r - r.mean(axis=0)
    ss_res = np.sqrt((resid * resid).sum(axis=0))
    ss_tot = np.sqrt((centred * centred).sum(axis=0))
    return [int(j) for j in np.flatnonzero(ss_res <= DEPENDENT_RTOL * ss_tot)]


def second_pass_dependent_column(r: FloatArray, f: FloatArray, *, risk_free: bool) -> int | None:
    """First column of the second-pass design ``[1, B]`` / ``B`` that depends on earlier ones."""
    beta = _ols(r, f).coef[1:].T
    z = np.concatenate([np.ones((beta.shape[0], 1)), beta], axis=1) if risk_free else beta
    return dependent_column(z, center=False)


def min_periods_for_bandwidth(kernel: KernelName) -> int:
    """Fewest periods for which the automatic bandwidth exists (pilot lag below T - 1)."""
    n = 1
    while _pilot_lag(n, kernel) >= n - 1:
        n += 1
    return n


# ---------------------------------------------------------------------------- GRS


@dataclass(frozen=True)
class GRSFit:
    """The GRS statistic and the per-asset time-series regressions behind it."""

    statistic: float
    pvalue: float
    df_num: int
    df_den: int
    quadratic_alpha: float  # alpha' Sigma^-1 alpha
    quadratic_mean: float  # mu' Omega^-1 mu
    coef: Estimates  # (K + 1, N): alphas, then betas; classical OLS, Student-t p-values


def grs(r: FloatArray, f: FloatArray) -> GRSFit:
    r"""Gibbons-Ross-Shanken test of ``alpha = 0`` in ``r_t = alpha + B f_t + e_t``.

    .. math::

        F = \frac{T - N - K}{N}\,
            \frac{\hat\alpha'\hat\Sigma^{-1}\hat\alpha}{1 + \bar f'\hat\Omega^{-1}\bar f}
            \sim F_{N,\,T-N-K},
        \quad \hat\Sigma = \tfrac1T \hat E'\hat E,
        \quad \hat\Omega = \tfrac1T \textstyle\sum_t (f_t - \bar f)(f_t - \bar f)'.

    Needs ``T > N + K`` and a non-singular :math:`\hat\Sigma` (the caller checks).
    """
    from scipy import stats  # noqa: PLC0415

    t, n = r.shape
    k = f.shape[1]
    fit = _ols(r, f)
    resid = r - _with_constant(f) @ fit.coef
    # alpha' Sigma^-1 alpha with Sigma = E'E / T: with E = QR, T |R^-T alpha|^2.
    quad_alpha = t * _inverse_quadratic(resid, fit.coef[0])
    quad_mean = t * _inverse_quadratic(f - f.mean(axis=0), f.mean(axis=0))
    df_den = t - n - k
    stat = df_den / n * quad_alpha / (1.0 + quad_mean)
    s2 = (resid * resid).sum(axis=0) / (t - k - 1)
    se = np.sqrt(np.outer(np.diag(fit.xtx_inv), s2))
    return GRSFit(
        statistic=float(stat),
        pvalue=float(stats.f.sf(stat, n, df_den)),
        df_num=n,
        df_den=df_den,
        quadratic_alpha=float(quad_alpha),
        quadratic_mean=float(quad_mean),
        coef=Estimates.of(fit.coef, se, df=t - k - 1),
    )


# ---------------------------------------------------------------------------- traded


@dataclass(frozen=True)
class TradedFit:
    """Time-series estimates with a GMM covariance (linearmodels ``TradedFactorModel``)."""

    coef: Estimates  # (K + 1, N): alphas, then betas
    risk_premia: Estimates  # (K,): factor means
    j_statistic: float  # NaN when the covariance of the alphas is singular
    j_pvalue: float
    j_df: int
    bandwidth: int | None


def traded_factor_model(
    r: FloatArray,
    f: FloatArray,
    *,
    cov_type: Literal["robust", "kernel"],
    kernel: KernelName,
    bandwidth: int | None,
    debiased: bool,
) -> TradedFit:
    r"""Alphas, betas and risk premia of traded factors with a GMM covariance.

    The moment conditions are the OLS scores :math:`x_t \varepsilon_{it}` (with
    :math:`x_t = (1, f_t')'`) of every asset and :math:`f_t - \mu`. Each block is
    exactly identified, so the covariance of the regression coefficients is
    :math:`(I_N \otimes A^{-1})\, S\, (I_N \otimes A^{-1})' / (T - d(K+1))` with
    :math:`A = \tfrac1T\sum_t x_t x_t'`, and that of the factor means is
    :math:`S_{ff} / (T - d)`, where :math:`S` is the (uncentred) robust or kernel
    covariance of the moments and :math:`d` is 1 if ``debiased``. The automatic
    bandwidth is chosen on all the moments (see :func:`_auto_bandwidth`) and used for
    both blocks. :math:`J = \hat\alpha' \hat V_\alpha^{-1} \hat\alpha \sim \chi^2_N`.
    """
    t, n = r.shape
    k = f.shape[1]
    fc = _with_constant(f)
    fit = _ols(r, f)
    resid = r - fc @ fit.coef
    demeaned = f - f.mean(axis=0)
    # Scores, asset-major: asset i owns columns i(K+1) .. i(K+1)+K.
    scores = (resid[:, :, None] * fc[:, None, :]).reshape(t, n * (k + 1))
    moments = np.concatenate([scores, demeaned], axis=1)
    bw = _choose_bandwidth(moments, cov_type=cov_type, kernel=kernel, bandwidth=bandwidth)
    s = newey_west(moments, bw or 0, demean=False, kernel=kernel)
    a_inv = t * fit.xtx_inv  # (x'x / T)^-1
    m = n * (k + 1)
    s_bb = s[:m, :m].reshape(n, k + 1, n, k + 1)
    # (I (x) A^-1) S (I (x) A^-1)', block by block.
    vcv_b = np.einsum("ab,ibjc,dc->iajd", a_inv, s_bb, a_inv).reshape(m, m)
    vcv_b = _symmetric(vcv_b) / (t - int(debiased) * (k + 1))
    rp_vcv = _symmetric(s[m:, m:]) / (t - int(debiased))
    alpha_idx = np.arange(n) * (k + 1)
    alpha_vcv = vcv_b[np.ix_(alpha_idx, alpha_idx)]
    j_stat = _wald(fit.coef[0], alpha_vcv)
    return TradedFit(
        coef=Estimates.of(fit.coef, _std_errors(vcv_b).reshape(n, k + 1).T),
        risk_premia=Estimates.of(f.mean(axis=0), _std_errors(rp_vcv)),
        j_statistic=j_stat,
        j_pvalue=_chi2_pvalue(j_stat, n),
        j_df=n,
        bandwidth=bw,
    )


# ---------------------------------------------------------------------------- two-pass


@dataclass(frozen=True)
class LinearFit:
    """Two-pass estimates (linearmodels ``LinearFactorModel``) and classical errors."""

    betas: Estimates  # (K, N)
    alphas: Estimates  # (N,): average pricing errors
    risk_premia: Estimates  # (K + nrf,), GMM; the zero-beta rate first if risk_free
    fmb: Estimates  # the same risk premia, Fama-MacBeth standard errors
    shanken: Estimates  # Fama-MacBeth with Shanken's correction
    shanken_c: float  # lambda' Sigma_f^-1 lambda
    j_statistic: float  # NaN when the covariance of the pricing errors is singular
    j_pvalue: float
    j_df: int
    bandwidth: int | None


def linear_factor_model(
    r: FloatArray,
    f: FloatArray,
    *,
    risk_free: bool,
    cov_type: Literal["robust", "kernel"],
    kernel: KernelName,
    bandwidth: int | None,
    debiased: bool,
) -> LinearFit:
    r"""Two-pass risk premia with the GMM covariance of the exactly identified moments.

    First pass: :math:`r_{it} = c_i + \beta_i' f_t + \varepsilon_{it}` by OLS. Second
    pass: :math:`\bar r = Z\lambda + \alpha` by OLS, :math:`Z = B` or :math:`[1, B]`
    (``risk_free``). The moments, per period,

    .. math::

        g_t = \big(x_t \varepsilon_{1t};\ \dots;\ x_t \varepsilon_{Nt};\
              Z'(r_t - Z\lambda);\ r_t - Z\lambda - \alpha\big)

    are exactly identified, so :math:`\widehat{\mathrm{Var}}(\hat\theta) = G^{-1} S
    G^{-\prime} / (T - d(K+1))` with :math:`G = \partial \bar g / \partial\theta'`
    (derived in :func:`_two_pass_jacobian`). The J statistic is the Wald statistic of
    :math:`\hat\alpha` in the :math:`N - K - n_{rf}` dimensional space orthogonal to
    the columns of :math:`Z`, where the pricing errors lie.

    Fama-MacBeth: :math:`\lambda_t = (Z'Z)^{-1}Z' r_t`, :math:`W = \widehat{\mathrm{Cov}}
    (\lambda_t) / T` (``ddof = d``); Shanken: :math:`(1 + c)(W - \Sigma_f^*/T) +
    \Sigma_f^*/T`, :math:`c = \lambda_f'\Sigma_f^{-1}\lambda_f`, :math:`\Sigma_f^*` the
    factor covariance (``ddof = d``) bordered by zeros for the zero-beta rate.
    """
    t, n = r.shape
    k = f.shape[1]
    nrf = int(risk_free)
    p = k + nrf
    fc = _with_constant(f)
    fit = _ols(r, f)
    resid = r - fc @ fit.coef
    beta = fit.coef[1:].T  # (N, K)
    z = np.concatenate([np.ones((n, 1)), beta], axis=1) if risk_free else beta
    mean_r = r.mean(axis=0)
    lam = np.linalg.lstsq(z, mean_r, rcond=None)[0]
    pricing = r - z @ lam  # (T, N)
    alphas = pricing.mean(axis=0)

    scores = (resid[:, :, None] * fc[:, None, :]).reshape(t, n * (k + 1))
    moments = np.concatenate([scores, pricing @ z, pricing - alphas], axis=1)
    bw = _choose_bandwidth(moments, cov_type=cov_type, kernel=kernel, bandwidth=bandwidth)
    s = newey_west(moments, bw or 0, demean=False, kernel=kernel)
    jac = _two_pass_jacobian(fc, z, lam[nrf:], alphas, nrf=nrf)
    g_inv_s = np.linalg.solve(jac, s)
    vcv = _symmetric(np.linalg.solve(jac, g_inv_s.T)) / (t - int(debiased) * (k + 1))
    m = n * (k + 1)
    se = _std_errors(vcv)
    alpha_vcv = vcv[m + p :, m + p :]

    # Fama-MacBeth and Shanken.
    ddof = int(debiased)
    lam_t = np.linalg.lstsq(z, r.T, rcond=None)[0].T  # (T, p)
    w = np.atleast_2d(np.cov(lam_t, rowvar=False, ddof=ddof)) / t
    sigma_f = np.atleast_2d(np.cov(f, rowvar=False, ddof=ddof))
    lam_f = lam[nrf:]
    c = float(lam_f @ np.linalg.solve(sigma_f, lam_f))
    border = np.zeros((p, p))
    border[nrf:, nrf:] = sigma_f / t
    shanken = (1.0 + c) * (w - border) + border

    j_stat = _wald_projected(alphas, alpha_vcv, z)
    alphas_se = se[m + p :]
    if n == p:
        # Exactly identified: the pricing errors are 0 by construction, their variance
        # is round-off.
        alphas_se = np.zeros(n)
    return LinearFit(
        betas=Estimates.of(beta.T, se[:m].reshape(n, k + 1)[:, 1:].T),
        alphas=Estimates.of(alphas, alphas_se),
        risk_premia=Estimates.of(lam, se[m : m + p]),
        fmb=Estimates.of(lam, _std_errors(w)),
        shanken=Estimates.of(lam, _std_errors(_symmetric(shanken))),
        shanken_c=c,
        j_statistic=j_stat,
        j_pvalue=_chi2_pvalue(j_stat, n - p),
        j_df=n - p,
        bandwidth=bw,
    )


def _two_pass_jacobian(
    fc: FloatArray, z: FloatArray, lam_f: FloatArray, alphas: FloatArray, *, nrf: int
) -> FloatArray:
    r"""``G = d mean(g) / d theta'`` for ``theta = (b_1, ..., b_N, lambda, alpha)``.

    With :math:`b_i = (c_i, \beta_i')'`, :math:`u_t = r_t - Z\lambda` and
    :math:`\partial Z_i / \partial \beta_i = [0; I_K]'` (row ``i`` of ``Z``):

    - scores: :math:`\partial/\partial b_i = -A`, :math:`A = \tfrac1T \sum x_t x_t'`;
    - :math:`Z'\bar u`: :math:`\partial/\partial\beta_i = E\bar u_i - Z_i'\lambda_f'`
      (:math:`E = [0; I_K]`, the rows of the loadings), :math:`\partial/\partial\lambda =
      -Z'Z`, where :math:`\bar u = \hat\alpha`;
    - :math:`\bar u - \alpha`: :math:`\partial/\partial\beta_i = -e_i\lambda_f'`,
      :math:`\partial/\partial\lambda = -Z`, :math:`\partial/\partial\alpha = -I_N`.
    """
    t, k1 = fc.shape
    k = k1 - 1
    n, p = z.shape
    m = n * k1
    jac = np.zeros((m + p + n, m + p + n))
    a = fc.T @ fc / t
    for i in range(n):
        cols = slice(i * k1 + 1, (i + 1) * k1)  # the loadings beta_i inside b_i
        jac[i * k1 : (i + 1) * k1, i * k1 : (i + 1) * k1] = -a
        block = -np.outer(z[i], lam_f)
        block[nrf:] += alphas[i] * np.eye(k)
        jac[m : m + p, cols] = block
        jac[m + p + i, cols] = -lam_f
    jac[m : m + p, m : m + p] = -z.T @ z
    jac[m + p :, m : m + p] = -z
    jac[m + p :, m + p :] = -np.eye(n)
    return jac


# ---------------------------------------------------------------------------- HAC
# The bandwidth rule; the long-run covariance itself is _hac.newey_west.


def _choose_bandwidth(
    moments: FloatArray,
    *,
    cov_type: Literal["robust", "kernel"],
    kernel: KernelName,
    bandwidth: int | None,
) -> int | None:
    if cov_type == "robust":
        return None
    if bandwidth is not None:
        return bandwidth
    return _auto_bandwidth(moments, kernel)


def _pilot_lag(t: int, kernel: KernelName) -> int:
    return math.ceil(4 * float((t / 100) ** _BANDWIDTH_RULE[kernel][2]))


def _auto_bandwidth(moments: FloatArray, kernel: KernelName) -> int:
    r"""Newey-West (1994) automatic bandwidth, as linearmodels chooses it.

    The moments are scaled to unit standard deviation (``ddof=0``) and summed into
    one series :math:`x_t`. With :math:`\hat\sigma_j = \tfrac1T\sum_{t>j} x_t x_{t-j}`
    for :math:`j \le n = \lceil 4 (T/100)^a \rceil`, :math:`s_0 = \hat\sigma_0 +
    2\sum_{j\ge1}\hat\sigma_j`, :math:`s_q = 2\sum_{j\ge1} j^q\hat\sigma_j`, the bandwidth
    is :math:`\min(\lceil c\,(s_q/s_0)^{2/(2q+1)}\,T^{1/(2q+1)}\rceil,\ T - 1)`.
    """
    t = moments.shape[0]
    q, const, _ = _BANDWIDTH_RULE[kernel]
    n = _pilot_lag(t, kernel)
    sd = moments.std(axis=0)
    x = (moments[:, sd > 0] / sd[sd > 0]).sum(axis=1)
    sigma = np.array([x[j:] @ x[: t - j] for j in range(n + 1)]) / t
    lags = np.arange(1, n + 1, dtype=np.float64)
    s0 = sigma[0] + 2 * sigma[1:].sum()
    sq = 2 * (lags**q * sigma[1:]).sum()
    rate = 1 / (2 * q + 1)
    m = float(const * ((sq / s0) ** 2) ** rate * t**rate)
    if not math.isfinite(m):
        msg = (
            "the automatic kernel bandwidth is not finite (the long-run variance of the "
            "moments is 0); pass bandwidth= explicitly."
        )
        raise ValueError(msg)
    return min(math.ceil(m), int(t) - 1)


# ---------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class _OLS:
    coef: FloatArray  # (K + 1, N)
    xtx_inv: FloatArray  # (K + 1, K + 1)


def _with_constant(f: FloatArray) -> FloatArray:
    return np.concatenate([np.ones((f.shape[0], 1)), f], axis=1)


def _ols(r: FloatArray, f: FloatArray) -> _OLS:
    """OLS of every column of ``r`` on a constant and ``f``, by QR."""
    from scipy import linalg  # noqa: PLC0415

    q, rr = np.linalg.qr(_with_constant(f))
    coef = linalg.solve_triangular(rr, q.T @ r)
    r_inv = linalg.solve_triangular(rr, np.eye(rr.shape[0]))
    return _OLS(coef=coef, xtx_inv=r_inv @ r_inv.T)


def _inverse_quadratic(e: FloatArray, v: FloatArray) -> float:
    """``v' (E'E)^-1 v`` through the QR factorization of ``E``."""
    from scipy import linalg  # noqa: PLC0415

    rr = np.linalg.qr(e, mode="r")
    y = linalg.solve_triangular(rr, v, trans="T")
    return float(y @ y)


def _symmetric(a: FloatArray) -> FloatArray:
    out: FloatArray = (a + a.T) / 2
    return out


def _std_errors(vcv: FloatArray) -> FloatArray:
    """Square roots of the diagonal; round-off negatives are 0, real negatives NaN."""
    var = np.diag(vcv).copy()
    tol = VARIANCE_RTOL * np.max(np.abs(var)) if var.size else 0.0
    var[(var < 0) & (var >= -tol)] = 0.0
    with np.errstate(invalid="ignore"):
        out: FloatArray = np.sqrt(var)
    return out


def _wald(x: FloatArray, vcv: FloatArray) -> float:
    """``x' V^-1 x``; NaN when ``V`` is singular up to round-off."""
    vals, vecs = np.linalg.eigh(vcv)
    if not vals[0] > len(x) * np.finfo(np.float64).eps * vals[-1]:
        return math.nan
    coords = vecs.T @ x
    return float((coords**2 / vals).sum())


def _chi2_pvalue(stat: float, df: int) -> float:
    from scipy import stats  # noqa: PLC0415

    if df == 0 or math.isnan(stat):
        return math.nan
    return float(stats.chi2.sf(stat, df))


def _wald_projected(alphas: FloatArray, alpha_vcv: FloatArray, z: FloatArray) -> float:
    """Wald statistic of ``alphas`` in the space orthogonal to the columns of ``z``."""
    n, p = z.shape
    if n == p:
        return 0.0
    q = np.linalg.qr(z, mode="complete")[0][:, p:]
    return _wald(q.T @ alphas, q.T @ alpha_vcv @ q)
