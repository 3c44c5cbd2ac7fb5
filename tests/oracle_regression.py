"""Independent references for cross-sectional regressions: plain per-date loops.

Each date is fitted on the full design (styles, a column of ones for the country
factor, one-hot industries of the industries present on the date). The Barra
constraint ``sum_j c_j f_j = 0`` is written as an explicit constraint row ``C`` and
imposed through an orthonormal basis ``N`` of its null space (``f = N g``), not by
substituting one industry out as the library does; any basis gives the same ``f``
and the same covariance ``N Cov(g) N'``.

Three backends fit the reduced design ``X N``:

- ``"numpy"``: ``np.linalg.lstsq`` on sqrt(w)-scaled rows, classical covariance;
- ``"statsmodels"``: ``WLS(y, X N, weights=w)`` (params, bse, rsquared, rsquared_adj);
- ``"huber"``: ``RLM(sqrt(w) y, sqrt(w) X N, HuberT(t)).fit(scale_est="mad",
  conv="dev")`` (params, H1 bse, ``fit_history["iteration"]``).

Missing values are NaN here. Nothing in this module imports polars_factors.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
import polars as pl
import statsmodels.api as sm

COND_OK = 1e8
COND_SINGULAR = 1e12

Backend = Literal["numpy", "statsmodels", "huber"]


@dataclass(frozen=True)
class Spec:
    """The options of one ``cross_section`` call, as the oracle reads them."""

    returns: str = "ret"
    exposures: tuple[str, ...] = ("size", "value")
    industry: str | None = None
    country: bool | str = False
    weights: str | None = None
    method: Literal["ols", "wls", "huber"] = "wls"
    huber_t: float = 1.345
    constraint_weights: str | None = None
    max_iter: int = 50
    tol: float = 1e-8
    date: str = "date"
    asset: str = "asset"
    cov_type: str = "classical"
    cluster: str | None = None

    @property
    def country_name(self) -> str | None:
        if isinstance(self.country, str):
            return self.country
        return "country" if self.country else None

    @property
    def constrained(self) -> bool:
        return self.industry is not None and self.country_name is not None

    @property
    def centred(self) -> bool:
        return self.industry is not None or self.country_name is not None

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``pf.cross_section`` (after ``frame``)."""
        out: dict[str, Any] = {
            "returns": self.returns,
            "exposures": list(self.exposures),
            "industry": self.industry,
            "country": self.country,
            "weights": self.weights,
            "method": self.method,
            "constraint_weights": self.constraint_weights,
        }
        if self.method == "huber":
            out.update(huber_t=self.huber_t, max_iter=self.max_iter, tol=self.tol)
        if self.cov_type != "classical":
            out.update(cov_type=self.cov_type, cluster=self.cluster)
        if self.date != "date":
            out["date"] = self.date
        if self.asset != "asset":
            out["asset"] = self.asset
        return out


@dataclass
class Expected:
    """Oracle output: frames laid out like ``CrossSectionResult`` plus per-date extras."""

    factors: list[str]
    factor_returns: pl.DataFrame  # date, factor, factor_return, std_error, t_stat
    residuals: np.ndarray  # aligned with the input rows, NaN where null
    stats: pl.DataFrame  # date, n_assets, n_excluded, n_factors, r2, adj_r2, cond, ...
    shares: dict[Any, dict[str, float]] = field(default_factory=dict)  # date -> c_j


# --------------------------------------------------------------------------- columns


def values(df: pl.DataFrame, name: str) -> np.ndarray:
    """Float array, NaN for null (non-finite values kept)."""
    return df[name].cast(pl.Float64).fill_null(np.nan).to_numpy().astype(float, copy=True)


def used_rows(df: pl.DataFrame, spec: Spec) -> np.ndarray:
    """Rows with every model column non-null and finite and a positive weight."""
    ok = np.isfinite(values(df, spec.returns))
    for x in spec.exposures:
        ok &= np.isfinite(values(df, x))
    if spec.industry is not None:
        ok &= df[spec.industry].is_not_null().to_numpy()
    if spec.weights is not None:
        w = values(df, spec.weights)
        ok &= np.isfinite(w) & (w > 0)
    if spec.constraint_weights is not None:
        ok &= np.isfinite(values(df, spec.constraint_weights))
    if spec.cluster is not None:
        ok &= df[spec.cluster].is_not_null().to_numpy()
    return ok


def industry_labels(df: pl.DataFrame, spec: Spec) -> list[str | None]:
    if spec.industry is None:
        return [None] * df.height
    return df[spec.industry].cast(pl.String).to_list()


def factor_names(df: pl.DataFrame, spec: Spec) -> list[str]:
    """Model order: exposures as given, the country factor, industries sorted as strings."""
    names = list(spec.exposures)
    if spec.country_name is not None:
        names.append(spec.country_name)
    if spec.industry is not None:
        used = used_rows(df, spec)
        labels = industry_labels(df, spec)
        names += sorted({lab for lab, u in zip(labels, used, strict=True) if u and lab})
    return names


# --------------------------------------------------------------------------- per date


@dataclass
class DateFit:
    status: str
    f: np.ndarray  # (K,) NaN for absent factors and unsolved dates
    se: np.ndarray
    resid: np.ndarray  # rows of the date, NaN for unused rows
    n_used: int
    n_excluded: int
    r2: float = np.nan
    adj_r2: float = np.nan
    cond: float = np.nan
    iterations: int | None = None
    shares: dict[str, float] = field(default_factory=dict)
    max_vif: float = np.nan
    min_industry: int | None = None


def null_space_basis(c: np.ndarray) -> np.ndarray:
    """Orthonormal ``(K, K-1)`` basis of ``{f : c' f = 0}`` (from the SVD of the row)."""
    _, _, vt = np.linalg.svd(c[None, :])
    return vt[1:].T


def jacobi_cond(a: np.ndarray) -> float:
    d = np.sqrt(np.diag(a))
    if not (d > 0).all():
        return np.inf
    return float(np.linalg.cond(a / np.outer(d, d)))


def design(
    part: pl.DataFrame, spec: Spec, factors: list[str], used: np.ndarray
) -> tuple[np.ndarray, list[int], np.ndarray, dict[str, float]]:  # fmt: skip
    """Full design of the used rows, factor slot of each column, null-space basis, shares."""
    n = int(used.sum())
    labels = [lab for lab, u in zip(industry_labels(part, spec), used, strict=True) if u]
    cols = [values(part, x)[used] for x in spec.exposures]
    slots = [factors.index(x) for x in spec.exposures]
    if spec.country_name is not None:
        cols.append(np.ones(n))
        slots.append(factors.index(spec.country_name))
    present = sorted(set(labels)) if spec.industry is not None else []
    for lab in present:
        cols.append(np.array([float(v == lab) for v in labels]))
        slots.append(factors.index(lab))
    x = np.column_stack(cols) if cols else np.zeros((n, 0))
    k = x.shape[1]
    if not spec.constrained:
        return x, slots, np.eye(k), {}
    if spec.constraint_weights is not None:
        cw = values(part, spec.constraint_weights)[used]
        raw = np.array([cw[[v == lab for v in labels]].sum() for lab in present])
    else:
        raw = np.ones(len(present))
    share = raw / raw.sum()
    c = np.zeros(k)  # the explicit constraint row: sum_j c_j f_j = 0
    c[k - len(present) :] = share
    return x, slots, null_space_basis(c), dict(zip(present, share.tolist(), strict=True))


def fit_date(
    part: pl.DataFrame, spec: Spec, factors: list[str], backend: Backend
) -> DateFit:  # fmt: skip
    n_k = len(factors)
    used = used_rows(part, spec)
    n = int(used.sum())
    nan_k = np.full(n_k, np.nan)
    out = DateFit(
        status="no_data", f=nan_k.copy(), se=nan_k.copy(),
        resid=np.full(part.height, np.nan), n_used=n, n_excluded=part.height - n,
    )  # fmt: skip
    if spec.industry is not None:
        labels = [lab for lab, u in zip(industry_labels(part, spec), used, strict=True) if u]
        counts = [labels.count(lab) for lab in set(labels)]
        out.min_industry = min(counts) if counts else None
    if n == 0:
        return out
    y = values(part, spec.returns)[used]
    w = values(part, spec.weights)[used] if spec.weights is not None else np.ones(n)
    X, slots, N, out.shares = design(part, spec, factors, used)
    p = N.shape[1]
    if n < p:
        out.status = "too_few_assets"
        return out
    Z = X @ N
    out.cond = jacobi_cond(Z.T @ (w[:, None] * Z))
    if not out.cond <= COND_SINGULAR:
        out.status = "singular"
        return out
    out.status = "ill_conditioned" if out.cond > COND_OK else "ok"
    out.max_vif = max_vif(part, spec, used, w)
    r2 = adj = np.nan
    if backend == "numpy":
        g, cov_g = _lstsq(Z, y, w)
        out.iterations = 1
    elif backend == "statsmodels":
        groups = None
        if spec.cluster is not None:
            groups = part[spec.cluster].to_numpy()[used]
        g, cov_g, r2, adj = _statsmodels_wls(Z, y, w, cov_type=spec.cov_type, groups=groups)
        out.iterations = 1
    else:
        g, cov_g, out.iterations, converged = _statsmodels_rlm(Z, y, w, spec)
        if not converged:
            out.status = "max_iter"
    f_used = N @ g
    e = y - X @ f_used
    out.f[slots] = f_used
    out.se[slots] = np.sqrt(np.diag(N @ cov_g @ N.T))
    out.resid[np.flatnonzero(used)] = e
    if backend == "statsmodels":
        out.r2, out.adj_r2 = r2, adj
    else:
        out.r2, out.adj_r2 = r_squared(y, e, w, p=p, centred=spec.centred)
    return out


def max_vif(part: pl.DataFrame, spec: Spec, used: np.ndarray, w: np.ndarray) -> float:
    """Largest VIF of the styles: statsmodels WLS of each style on the other regressors.

    The other regressors: the other styles and the present industries' dummies (they
    span the country factor too), or a constant with a country and no industries.
    VIF = TSS / SSR of that regression, TSS centred when the model has an intercept.
    NaN when no style has one (absent, or constant with an intercept).
    """
    styles = [values(part, x)[used] for x in spec.exposures]
    n = int(used.sum())
    base: list[np.ndarray] = []
    if spec.industry is not None:
        labels = [lab for lab, u in zip(industry_labels(part, spec), used, strict=True) if u]
        base = [np.array([float(v == lab) for v in labels]) for lab in sorted(set(labels))]
    elif spec.country_name is not None:
        base = [np.ones(n)]
    vifs = []
    for k, xk in enumerate(styles):
        others = [x for i, x in enumerate(styles) if i != k] + base
        # A style alone (no intercept, no other style): regressed on nothing, SSR = TSS.
        exog = np.column_stack(others) if others else np.zeros((n, 1))
        res = sm.WLS(xk, exog, weights=w).fit()
        tss = res.centered_tss if spec.centred else res.uncentered_tss
        if np.sum(w * xk**2) > 0 and tss > 1e-12 * np.sum(w * xk**2):
            vifs.append(tss / res.ssr)
    return max(vifs) if vifs else np.nan


def r_squared(
    y: np.ndarray, e: np.ndarray, w: np.ndarray, *, p: int, centred: bool
) -> tuple[float, float]:  # fmt: skip
    """Weighted R² (centred on the weighted mean when the model has an intercept)."""
    n = len(y)
    ybar = np.average(y, weights=w) if centred else 0.0
    r2 = 1.0 - float(np.sum(w * e**2)) / float(np.sum(w * (y - ybar) ** 2))
    k0 = 1 if centred else 0
    adj = 1.0 - (n - k0) / (n - p) * (1.0 - r2) if n > p else np.nan
    return r2, adj


def _lstsq(z: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sw = np.sqrt(w)
    zs = z * sw[:, None]
    g = np.linalg.lstsq(zs, y * sw, rcond=None)[0]
    n, p = z.shape
    if n == p:
        return g, np.full((p, p), np.nan)
    ssr = float(np.sum(w * (y - z @ g) ** 2))
    return g, ssr / (n - p) * np.linalg.pinv(zs.T @ zs)


def _statsmodels_wls(
    z: np.ndarray, y: np.ndarray, w: np.ndarray, *, cov_type: str = "classical",
    groups: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, float, float]:  # fmt: skip
    """statsmodels WLS; ``cov_type`` "classical" (nonrobust), "HC0", "HC1" or "cluster"."""
    if cov_type == "classical":
        res = sm.WLS(y, z, weights=w).fit()
    elif cov_type == "cluster":
        _, codes = np.unique(groups, return_inverse=True)
        res = sm.WLS(y, z, weights=w).fit(cov_type="cluster", cov_kwds={"groups": codes})
    else:
        res = sm.WLS(y, z, weights=w).fit(cov_type=cov_type)
    n, p = z.shape
    if n == p:
        return np.asarray(res.params), np.full((p, p), np.nan), float(res.rsquared), np.nan
    cov = np.asarray(res.cov_params())
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), res.bse, rtol=1e-14)
    return np.asarray(res.params), cov, float(res.rsquared), float(res.rsquared_adj)


def _statsmodels_rlm(
    z: np.ndarray, y: np.ndarray, w: np.ndarray, spec: Spec
) -> tuple[np.ndarray, np.ndarray, int, bool]:  # fmt: skip
    sw = np.sqrt(w)
    model = sm.RLM(y * sw, z * sw[:, None], M=sm.robust.norms.HuberT(t=spec.huber_t))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' own ConvergenceWarning
        res = model.fit(scale_est="mad", conv="dev", maxiter=spec.max_iter, tol=spec.tol)
    history = res.fit_history
    dev = history["deviance"]
    converged = not (abs(dev[-1] - dev[-2]) > spec.tol)
    cov = np.asarray(res.cov_params())
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), res.bse, rtol=1e-14)
    return np.asarray(res.params), cov, int(history["iteration"]), converged


# --------------------------------------------------------------------------- panel


def cross_section(df: pl.DataFrame, spec: Spec, backend: Backend = "numpy") -> Expected:
    """Expected factor returns, residuals and stats of ``cross_section`` on ``df``."""
    factors = factor_names(df, spec)
    rows = df.with_row_index("_row")
    residuals = np.full(df.height, np.nan)
    fr: dict[str, list[Any]] = {k: [] for k in ["date", "factor", "factor_return", "std_error"]}
    st: dict[str, list[Any]] = {
        k: []
        for k in ["date", "n_assets", "n_excluded", "n_factors", "r2", "adj_r2",
                  "condition_number", "max_vif", "min_industry_assets", "iterations",
                  "status"]
    }  # fmt: skip
    shares = {}
    for part in rows.sort(spec.date, maintain_order=True).partition_by(
        spec.date, maintain_order=True
    ):
        d = part[spec.date][0]
        fit = fit_date(part, spec, factors, backend)
        residuals[part["_row"].to_numpy()] = fit.resid
        shares[d] = fit.shares
        fr["date"] += [d] * len(factors)
        fr["factor"] += factors
        fr["factor_return"] += fit.f.tolist()
        fr["std_error"] += fit.se.tolist()
        for key, value in [
            ("date", d), ("n_assets", fit.n_used), ("n_excluded", fit.n_excluded),
            ("n_factors", int(np.isfinite(fit.f).sum())), ("r2", fit.r2),
            ("adj_r2", fit.adj_r2), ("condition_number", fit.cond),
            ("max_vif", fit.max_vif), ("min_industry_assets", fit.min_industry),
            ("iterations", fit.iterations), ("status", fit.status),
        ]:  # fmt: skip
            st[key].append(value)
    dtype = df.schema[spec.date]
    factor_returns = pl.DataFrame(fr, schema_overrides={"date": dtype}).with_columns(
        pl.col("factor_return", "std_error").fill_nan(None)
    )
    factor_returns = factor_returns.with_columns(
        t_stat=pl.col("factor_return") / pl.col("std_error")
    )
    stats = pl.DataFrame(
        st,
        schema_overrides={
            "date": dtype, "iterations": pl.Int64, "max_vif": pl.Float64,
            "min_industry_assets": pl.Int64,
        },
    )  # fmt: skip
    stats = stats.with_columns(pl.col("r2", "adj_r2", "condition_number", "max_vif").fill_nan(None))
    return Expected(factors, factor_returns, residuals, stats, shares)


INDUSTRIES = ("Tech", "Banks", "Energy", "Retail", "Autos")


def make_panel(
    rng: np.random.Generator,
    *,
    n_dates: int = 8,
    n_assets: int = 60,
    industries: tuple[str, ...] = INDUSTRIES,
    messy: bool = True,
    tiny_date: bool = True,
    empty_date: bool = True,
) -> pl.DataFrame:
    """A shuffled panel of ``date (Date), asset, ind, size, value, ret, w, mcap``.

    Ragged dates; the last industry is empty on the second date. With ``messy``: nulls,
    NaN and inf in every model column, zero weights. ``tiny_date``: one date with three
    rows of which one is used (too few for any model with two parameters).
    ``empty_date``: one date whose returns are all null.
    """
    start = date(2024, 1, 5)
    sector_of = rng.integers(0, len(industries), size=n_assets)
    effect = rng.normal(scale=0.8, size=len(industries))
    parts = []
    for d in range(n_dates):
        day = start + timedelta(days=7 * d)
        if tiny_date and d == n_dates - 2:
            members = np.sort(rng.choice(n_assets, size=3, replace=False))
        else:
            k = int(rng.integers(int(0.7 * n_assets), n_assets + 1))
            members = np.sort(rng.choice(n_assets, size=k, replace=False))
        m = len(members)
        ind_idx = sector_of[members].copy()
        if d == 1:  # the last industry is empty on this date
            ind_idx[ind_idx == len(industries) - 1] = 0
        size = rng.normal(size=m)
        value = rng.normal(size=m) + 0.3
        noise = rng.standard_t(df=4, size=m) * 0.5
        ret = 0.2 + 0.5 * size - 0.3 * value + effect[ind_idx] + noise
        if empty_date and d == 3:
            ret[:] = np.nan
        parts.append(
            pl.DataFrame(
                {
                    "date": [day] * m,
                    "asset": [f"A{a:03d}" for a in members],
                    "ind": [industries[i] for i in ind_idx],
                    "size": size,
                    "value": value,
                    "ret": ret,
                    "w": rng.uniform(0.5, 2.0, size=m),
                    "mcap": rng.lognormal(1.0, 1.0, size=m),
                }
            )
        )
    df = pl.concat(parts)
    n = df.height

    def where(mask: np.ndarray, value: Any, col: str) -> pl.Expr:
        return pl.when(pl.Series(mask)).then(value).otherwise(pl.col(col)).alias(col)

    df = df.with_columns(pl.col("ret").fill_nan(None))  # the empty date: nulls
    tiny = (df["date"] == start + timedelta(days=7 * (n_dates - 2))).to_numpy() & tiny_date
    if tiny_date:
        first = np.flatnonzero(tiny)
        df = df.with_columns(where(np.isin(np.arange(n), first[1:]), None, "ret"))
    if messy:
        u = rng.random((8, n))
        u[:, tiny] = 1.0  # the tiny date keeps its one usable row
        df = df.with_columns(
            where(u[0] < 0.04, None, "ret"),
            where(u[1] < 0.03, float("nan"), "size"),
            where(u[2] < 0.015, float("inf"), "value"),
            where(u[3] < 0.03, None, "ind"),
            where(u[4] < 0.03, None, "w"),
            where(u[6] < 0.03, None, "mcap"),
        ).with_columns(
            where(u[5] < 0.04, 0.0, "w"),
            where(u[7] < 0.01, float("nan"), "ret"),
        )
    return df.sample(fraction=1.0, shuffle=True, seed=int(rng.integers(1 << 31)))
