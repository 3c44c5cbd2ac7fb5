r"""The Newey-West long-run covariance of small ``T x K`` arrays (numpy only; no polars).

The package's one implementation of the kernel (HAC) estimator on small arrays:
:func:`newey_west`. The asset-pricing GMM covariances
(:mod:`polars_factors.regression._solve._asset_pricing`) call it. The other Newey-West
terms of the package are different computations and stay where they are:
:func:`~polars_factors.regression.fama_macbeth` (and the IC summary built on it) runs
the same unweighted Bartlett sum as Polars expressions over each factor's own periods;
the risk model's factor covariance (:mod:`polars_factors.risk._linalg._ewm`) and
specific risk (:mod:`polars_factors.risk.specific`) are exponentially weighted
recursions for every date at once.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from polars_factors.regression._solve._types import FloatArray

__all__ = ["KernelName", "kernel_weights", "newey_west"]

#: Kernels of :func:`newey_west`: Bartlett (Newey and West, 1987) or Parzen (Gallant, 1987).
KernelName = Literal["bartlett", "parzen"]


def kernel_weights(lags: int, kernel: KernelName = "bartlett") -> FloatArray:
    r"""Weights :math:`w_0, \dots, w_L` of lags ``0 .. lags`` (both kernels vanish beyond).

    With :math:`x = l / (L + 1)`: Bartlett :math:`1 - x`; Parzen :math:`1 - 6x^2 + 6x^3`
    for :math:`x \le 1/2`, :math:`2 (1 - x)^3` above.
    """
    x = np.arange(lags + 1, dtype=np.float64) / (lags + 1)
    if kernel == "bartlett":
        return 1.0 - x
    return np.where(x <= 0.5, 1 - 6 * x**2 + 6 * x**3, 2 * (1 - x) ** 3)


def newey_west(
    x: FloatArray, lags: int, *, demean: bool, kernel: KernelName = "bartlett"
) -> FloatArray:
    r"""Long-run covariance :math:`S` (``K x K``) of the rows of a ``T x K`` array.

    .. math::

        S = \hat\Gamma_0 + \sum_{l=1}^{\min(L,\,T-1)} w_l\,(\hat\Gamma_l + \hat\Gamma_l'),
        \qquad \hat\Gamma_l = \frac1T \sum_{t=l+1}^{T} g_t\, g_{t-l}',

    with :math:`w_l = 1 - l/(L+1)` (Bartlett, the Newey-West estimator) or the Parzen
    weights (:func:`kernel_weights`), :math:`L` = ``lags``, and :math:`g_t = x_t - \bar x`
    if ``demean`` else :math:`x_t` (moment conditions are used uncentred). ``lags=0`` is
    the heteroskedasticity-robust (White) :math:`\hat\Gamma_0`. With ``demean=True`` and
    the Bartlett kernel, :math:`T S` is statsmodels' ``S_hac_simple`` of :math:`g`.

    Parameters
    ----------
    x
        ``T x K``, rows in time order, every value finite.
    lags
        The bandwidth :math:`L`, a non-negative int; lags at or beyond ``T`` add nothing.
    demean
        Subtract the column means first.
    kernel
        ``"bartlett"`` or ``"parzen"``.

    Returns
    -------
    FloatArray
        ``K x K``, symmetric (the average of the sum and its transpose).

    Examples
    --------
    >>> import numpy as np
    >>> from polars_factors.regression._solve import newey_west
    >>> g = np.array([[1.0], [-1.0], [1.0], [-1.0]])
    >>> newey_west(g, 0, demean=False)  # mean of g_t^2
    array([[1.]])
    >>> newey_west(g, 1, demean=False)  # 1 + 2 * (1/2) * (-3/4)
    array([[0.25]])
    """
    t = x.shape[0]
    g = x - x.mean(axis=0) if demean else x
    s = g.T @ g
    if lags:
        w = kernel_weights(lags, kernel)
        for lag in range(1, min(lags, t - 1) + 1):
            gamma = g[lag:].T @ g[: t - lag]
            s += w[lag] * (gamma + gamma.T)
    s = s / t
    out: FloatArray = (s + s.T) / 2
    return out
