r"""Heteroskedasticity- and autocorrelation-robust meat of time-series betas, from sums.

A window's sandwich covariance needs the "meat"
:math:`\sum_t u_t u_t'` (HC0/HC1) and, for Newey-West (HAC), the weighted lag terms
:math:`\sum_l k_l \sum_t (u_t u_{t-l}' + u_{t-l} u_t')`, with the scores
:math:`u_t = w_t e_t z_t` (:math:`z_t` the regressors, intercept included,
:math:`w_t` the row's weight, :math:`e_t` its residual). The residuals depend on the
window's own coefficients, so a window's meat is not a sum of per-row values. Writing
:math:`e_t = \gamma' \zeta_t` with :math:`\zeta_t = (z_t, y_t)` and
:math:`\gamma = (-\theta, 1)` (the window's coefficients) makes it one:

.. math::

    \sum_t u_{t,i} u_{t,j} = \sum_{m,n} \gamma_m \gamma_n
        \sum_t w_t^2 z_{t,i} z_{t,j} \zeta_{t,m} \zeta_{t,n},

a quadratic form in :math:`\gamma` over window sums of fourth-order products of the
data, which the window machinery sums like any other product (a ``group_by``,
rolling, cumulative or exponentially weighted sum). The lag terms are the same with
products of two rows, :math:`a_t[P] \, a_{t-l}[Q]` where
:math:`a_t[P] = w_t \zeta_{t,P_1} \zeta_{t,P_2}`. Since the meat needs
:math:`\Gamma_l + \Gamma_l'`, the terms that ``gamma_m gamma_n`` multiplies are
symmetrized and deduplicated (210 sums for 4 factors instead of 400). A full-sample or
expanding fit (half-life or not) weights the lags into one column per pair first,
:math:`b_t[Q] = \sum_{l=1}^{L} k_l a_{t-l}[Q]`, so every lag is in one window sum
whatever ``L``; a rolling window of ``w`` rows sums each lag ``l`` over its last
``w - l`` rows (the pairs it holds), one set of sums per lag.

The sums are folded into the meat a dozen at a time (``batches``) and dropped, so the
frame holds the accumulators, not every sum. The count grows as the fourth power of
the parameters: for 1, 3 and 4 factors with an intercept, 12, 65 and 120 sums for
HC0/HC1, and 15, 105 and 210 more for HAC (per lag for a rolling window).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import polars as pl

from polars_factors.regression._ts_algebra import sum_of

__all__ = ["TS_COV_TYPES", "Meat"]

#: ``cov_type`` values of :func:`polars_factors.betas`.
TS_COV_TYPES = ("classical", "HC0", "HC1", "HAC")

#: Window sums computed per batch before they are folded into the meat and dropped.
BATCH = 12


def _product(terms: Sequence[pl.Expr]) -> pl.Expr:
    out = terms[0]
    for term in terms[1:]:
        out = out * term
    return out


def _scaled(count: int, e: pl.Expr) -> pl.Expr:
    return e if count == 1 else float(count) * e


@dataclass
class Meat:
    """The meat's window sums and how they fold into the accumulators.

    Indexes: ``0 .. p-1`` are the regressors (``None`` columns are the intercept's
    constant 1), ``p`` the response. ``shift(e, l)`` is ``e`` at the row ``l`` rows
    before in the same asset, and zero where that row is in another asset.
    """

    regressors: tuple[str | None, ...]
    response: str
    weight: str
    prefix: str
    lags: int  # 0 for HC0/HC1
    fir_decay: float  # the lag l's extra weight is fir_decay ** l (windowed half-life)
    shift: Callable[[pl.Expr, int], pl.Expr]
    fir: bool  # the lags are summed per row first (lag_columns), not per lag
    keys: list[tuple[object, ...]] = field(init=False)
    _coefs: dict[tuple[object, ...], dict[tuple[int, int], dict[tuple[int, int], int]]] = field(
        init=False
    )

    def __post_init__(self) -> None:
        p = len(self.regressors)
        coefs: dict[tuple[object, ...], dict[tuple[int, int], dict[tuple[int, int], int]]]
        coefs = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
        for i in range(p):
            for j in range(i, p):
                for m in range(p + 1):
                    for n in range(p + 1):
                        g = (min(m, n), max(m, n))
                        coefs[("hc", self._monomial(i, j, m, n))][(i, j)][g] += 1
                if not self.lags:
                    continue
                for m in range(p + 1):
                    for n in range(m, p + 1):
                        key, factor = self._lag_key(i, j, m, n)
                        coefs[key][(i, j)][(m, n)] += factor
        self._coefs = coefs
        self.keys = list(coefs)

    def _lag_key(self, i: int, j: int, m: int, n: int) -> tuple[tuple[object, ...], int]:
        """Return the lag sum that ``gamma_m gamma_n`` multiplies in meat ``(i, j)``.

        Summed over both orders of ``m, n`` and both of ``i, j`` (the meat is
        ``Gamma_l + Gamma_l'``), the term is the window sum of
        :math:`a_t[im] a_{t-l}[jn] + a_t[jm] a_{t-l}[in]` (+ the same with ``m, n``
        swapped when they differ). Different ``(i, j, m, n)`` often give the same
        terms (or a multiple of them): they share one sum, keyed by its terms
        divided by their common factor, which is returned.
        """
        terms = [(self._pair(i, m), self._pair(j, n)), (self._pair(j, m), self._pair(i, n))]
        if m != n:
            terms += [(self._pair(i, n), self._pair(j, m)), (self._pair(j, n), self._pair(i, m))]
        counts: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = defaultdict(int)
        for term in terms:
            counts[term] += 1
        factor = math.gcd(*counts.values())
        key = ("lag", tuple(sorted((a, b, c // factor) for (a, b), c in counts.items())))
        return key, factor

    def _terms(self, key: tuple[object, ...]) -> list[tuple[tuple[int, ...], tuple[int, ...], int]]:
        terms = key[1]
        assert isinstance(terms, tuple)
        return list(terms)

    # --- the data -------------------------------------------------------------------

    def _is_const(self, idx: int) -> bool:
        return idx < len(self.regressors) and self.regressors[idx] is None

    def _monomial(self, *idx: int) -> tuple[int, ...]:
        return tuple(sorted(i for i in idx if not self._is_const(i)))

    def _pair(self, a: int, b: int) -> tuple[int, ...]:
        return self._monomial(a, b)

    def _value(self, idx: int) -> pl.Expr:
        if idx == len(self.regressors):
            return pl.col(self.response)
        name = self.regressors[idx]
        assert name is not None
        return pl.col(name)

    def _row(self, idx: tuple[int, ...], weight_power: int) -> pl.Expr:
        w = pl.col(self.weight)
        terms = [w] * weight_power + [self._value(i) for i in idx]
        return _product(terms)

    def _lagged_name(self, pair: tuple[int, ...]) -> str:
        return f"{self.prefix}b{'_'.join(map(str, pair)) or 'c'}"

    def lag_columns(self) -> list[pl.Expr]:
        r"""Add per row :math:`b_t[Q] = \sum_l k_l d^l a_{t-l}[Q]`, one column per pair ``Q``."""
        if not self.lags:
            return []
        pairs = sorted({q for key in self.keys if key[0] == "lag" for _, q, _ in self._terms(key)})
        out = []
        for pair in pairs:
            a = self._row(pair, 1)
            terms = [
                self.kernel(lag) * self.fir_decay**lag * self.shift(a, lag)
                for lag in range(1, self.lags + 1)
            ]
            out.append(sum_of(terms).alias(self._lagged_name(pair)))
        return out

    def kernel(self, lag: int) -> float:
        """Return the Bartlett weight of lag ``lag``."""
        return 1.0 - lag / (self.lags + 1)

    def name(self, key: tuple[object, ...]) -> str:
        return f"{self.prefix}S{self.keys.index(key)}"

    def product(self, key: tuple[object, ...]) -> pl.Expr:
        """Return the per-row value whose window sum is ``key``'s sum."""
        if key[0] == "hc":
            mono = key[1]
            assert isinstance(mono, tuple)
            return self._row(mono, 2)
        return sum_of(
            [
                _scaled(c, self._row(a, 1) * pl.col(self._lagged_name(b)))
                for a, b, c in self._terms(key)
            ]
        )

    def products(self, keys: Sequence[tuple[object, ...]]) -> dict[str, pl.Expr]:
        return {self.name(k): self.product(k) for k in keys}

    def _pair_name(self, pair: tuple[int, ...]) -> str:
        return f"{self.prefix}a{'_'.join(map(str, pair)) or 'c'}"

    def pair_columns(self) -> list[pl.Expr]:
        """Add :math:`a_t[P] = w_t z_{t,P_1} z_{t,P_2}` per pair, for :meth:`lag_products`."""
        pairs = {
            x
            for key in self.keys
            if key[0] == "lag"
            for a, b, _ in self._terms(key)
            for x in (a, b)
        }
        return [self._row(pair, 1).alias(self._pair_name(pair)) for pair in sorted(pairs)]

    def lag_name(self, key: tuple[object, ...], lag: int) -> str:
        return f"{self.name(key)}_l{lag}"

    def lag_products(self, keys: Sequence[tuple[object, ...]], lag: int) -> dict[str, pl.Expr]:
        """Return :math:`a_t[P] a_{t-l}[Q]` of each lag key, for windows of rows.

        A rolling window of ``w`` rows holds the pairs at lag ``l`` whose later row is
        among its last ``w - l`` rows: their sum is a rolling sum over ``w - l`` rows,
        one per lag. (Subtracting the pairs that reach before the window from a sum
        of :math:`a_t b_t` needs shifts by ``w - 1 - j`` rows, which the streaming
        engine of Polars 2.1 runs far slower than rolling sums.)
        """
        out = {}
        for key in keys:
            if key[0] != "lag":
                continue
            out[self.lag_name(key, lag)] = sum_of(
                [
                    _scaled(
                        c, pl.col(self._pair_name(a)) * self.shift(pl.col(self._pair_name(b)), lag)
                    )
                    for a, b, c in self._terms(key)
                ]
            )
        return out

    def per_lag_total(self, key: tuple[object, ...]) -> pl.Expr:
        """Return the lag key's sum from its per-lag window sums (:meth:`lag_products`)."""
        return sum_of(
            [
                self.kernel(lag) * self.fir_decay**lag * pl.col(self.lag_name(key, lag))
                for lag in range(1, self.lags + 1)
            ]
        )

    # --- the fold -------------------------------------------------------------------

    def batches(self, size: int = BATCH) -> Iterator[list[tuple[object, ...]]]:
        for start in range(0, len(self.keys), size):
            yield self.keys[start : start + size]

    def acc(self, i: int, j: int) -> str:
        return f"{self.prefix}M{i}_{j}"

    def init(self) -> list[pl.Expr]:
        p = len(self.regressors)
        return [pl.lit(0.0).alias(self.acc(i, j)) for i in range(p) for j in range(i, p)]

    def fold(
        self, keys: Sequence[tuple[object, ...]], gamma: Sequence[pl.Expr], *, per_lag: bool = False
    ) -> list[pl.Expr]:
        r"""Add the batch's sums (columns named by :meth:`name`) to the accumulators.

        ``gamma``: the window's coefficients on the regressors (:math:`e_t =
        \gamma' (z_t, y_t)`, the response's is 1), columns or cheap expressions.
        ``per_lag``: the lag keys' sums are per lag (:meth:`lag_products`).
        """
        terms: dict[tuple[int, int], list[pl.Expr]] = defaultdict(list)
        for key in keys:
            if per_lag and key[0] == "lag":
                total = self.per_lag_total(key)
            else:
                total = pl.col(self.name(key))
            for ij, gammas in self._coefs[key].items():
                constant = sum(c for (m, n), c in gammas.items() if m == n == self.y)
                parts = [
                    _scaled(c, self._gamma_product(gamma, m, n))
                    for (m, n), c in gammas.items()
                    if not m == n == self.y
                ]
                if constant:
                    parts.append(pl.lit(float(constant)))
                terms[ij].append(sum_of(parts) * total)
        return [(pl.col(self.acc(*ij)) + sum_of(t)).alias(self.acc(*ij)) for ij, t in terms.items()]

    @property
    def y(self) -> int:
        """Index of the response, whose coefficient in the residual is 1."""
        return len(self.regressors)

    def _gamma_product(self, gamma: Sequence[pl.Expr], m: int, n: int) -> pl.Expr:
        if m == self.y:
            return gamma[n]
        if n == self.y:
            return gamma[m]
        return gamma[m] * gamma[n]

    def inputs(self) -> list[str]:
        """Return the per-row columns the meat's sums read."""
        names = [n for n in self.regressors if n is not None]
        lagged = sorted({q for key in self.keys if key[0] == "lag" for _, q, _ in self._terms(key)})
        out = [*names, self.response, self.weight]
        return out + [self._lagged_name(q) for q in lagged] if self.fir else out

    def meat(self) -> dict[tuple[int, int], pl.Expr]:
        p = len(self.regressors)
        return {(i, j): pl.col(self.acc(i, j)) for i in range(p) for j in range(i, p)}
