r"""Huber IRLS per date, in the statsmodels ``RLM`` order, over a collected panel.

Each step is Polars work on the rows (residuals, the per-date MAD, Huber weights, the
cell sums) and one batched numpy solve. Dates stop independently, exactly when
statsmodels would stop them; a stopped date drops out of the row work.

statsmodels' loop, per date, on :math:`u = \sqrt{w}(y - Xf)`:

1. fit OLS/WLS; ``scale`` = median :math:`|u|` / 0.6745; deviance
   :math:`D_1 = \sum \rho(u_i / s^2)` with :math:`s^2 = \sum h_i u_i^2/(n-p)` the fit's
   residual variance (:math:`h = 1` here); ``iteration = 1``;
2. stop if ``scale == 0``; Huber weights :math:`h_i = \min(1, t\,s/|u_i|)`; refit with
   weights :math:`w h`; new ``scale`` and deviance; ``iteration += 1``;
3. repeat 2 while :math:`|D_{it} - D_{it-1}| > tol` and ``iteration < max_iter``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from polars_factors.regression import _solution
from polars_factors.regression._solve import _cross

if TYPE_CHECKING:
    from polars_factors.regression._model import Model
    from polars_factors.regression._solve import FloatArray
    from polars_factors.typing import EngineType

__all__ = ["solve"]

# The passes of an IRLS step run on collected rows whose order does not matter (every
# result is keyed by date or cell). From this many rows they run on the streaming engine,
# on every core (about twice as fast as the in-memory engine on 6M rows); below, the
# in-memory engine's smaller fixed cost per query wins.
_STREAMING_ROWS = 200_000


def solve(
    lf: pl.LazyFrame,
    model: Model,
    *,
    engine: EngineType,
    industries: list[str] | None = None,
    warn: bool = True,
) -> pl.DataFrame:
    """Huber fit of every date; the long solution frame (see ``_solution``).

    ``industries``: the factor list of the whole panel when ``lf`` holds whole dates
    of a part of it (checked by the caller); ``warn=False`` leaves the per-date
    warnings to the caller.
    """
    rows = lf.select(model.row_columns()).collect(engine=engine)
    cells = rows.group_by(model.cell).agg(model.cell_sums(pl.col(model.col("w"))))
    if industries is None:
        _solution.check_cells(cells, model)
        industries = _solution.industries_of(cells, model)
    elif cells.height == 0 or int(cells.get_column(model.col("n_used")).sum()) == 0:
        # A part of the panel with no usable row: its dates have no data.
        return _solution.solve_batch(cells, model, industries=industries, warn=False)
    ctx = _solution.prepare(cells, model, industries)
    fit0 = _cross.solve_design(ctx.design, ctx.transform, constraint_ok=ctx.constraint_ok)
    data = _used_rows(rows, ctx, model)
    irls = _Irls(model, ctx, data)
    state = irls.run(fit0)
    factor_returns = state.factor_returns
    cov = _cross.scaled_cov(
        _cross.huber_h1_factor(
            n_obs=ctx.design.n_obs,
            n_free=fit0.n_free,
            scale=state.scale,
            sum_dpsi=state.sum_dpsi,
            sum_psi2=state.sum_psi2,
        ),
        fit0,
        ctx.transform,
    )
    out = _solution.solution_frame(
        model,
        ctx,
        factor_returns=factor_returns,
        cov=cov,
        ssr=_cross.ssr_at(ctx.design, factor_returns),
        n_free=fit0.n_free,
        cond=fit0.cond,
        vif=_solution.style_vif(ctx, fit0, model),
        status=state.status,
        iterations=state.iteration,
    )
    if warn:
        per_date = out.filter(pl.col(model.col("first")))
        _solution.warn_excluded(model, per_date)
        _solution.warn_unsolved(model, per_date)
    return out


def _used_rows(rows: pl.DataFrame, ctx: _solution.Context, model: Model) -> pl.DataFrame:
    """Keep the rows in the fit, with their date index ``gid`` and industry index ``jid``."""
    data = rows.filter(pl.col(model.col("used"))).join(
        ctx.date_index, on=model.date, how="left", nulls_equal=True
    )
    if model.industry is not None:
        data = data.join(ctx.industry_index, on=model.ind, how="left")
    # Sorted by date index: the per-date group_bys of the IRLS steps take the sorted fast path.
    return data.with_columns(pl.col(model.col("w")).sqrt().alias(model.col("sw_half"))).sort(
        model.col("gid")
    )


class _Irls:
    """The IRLS loop over the rows of the solved dates."""

    def __init__(self, model: Model, ctx: _solution.Context, data: pl.DataFrame) -> None:
        self.model = model
        self.ctx = ctx
        self.data = data
        self.t = model.huber_t
        self.engine: EngineType = "streaming" if data.height >= _STREAMING_ROWS else "in-memory"
        self.keys = [model.col("gid")] + ([model.col("jid")] if ctx.industries else [])
        # The aggregations are the same at every step: built once.
        t = self.t
        u, r, z, v = (self.col(c) for c in ("u", "r", "z", "v"))
        inside = r.abs() <= t
        self.scale_aggs = [
            (u.abs().median() / _cross.GAUSSIAN_3_4).alias("scale"),
            (self.col("h") * u * u).sum().alias("ssr"),
        ]
        self.moment_aggs = [
            self.rho(z).sum().alias("deviance"),
            inside.sum().cast(pl.Float64).alias("dpsi"),
            pl.when(inside).then(r * r).otherwise(t * t).sum().alias("psi2"),
        ]
        self.cell_aggs = model.cell_sums(v)

    def col(self, name: str) -> pl.Expr:
        return pl.col(self.model.col(name))

    def per_date(self, values: FloatArray) -> pl.Expr:
        """Broadcast a per-date array to the rows (gathered by date index)."""
        return pl.lit(pl.Series(values, dtype=pl.Float64)).gather(self.col("gid"))

    def fitted(self, f: FloatArray) -> pl.Expr:
        """:math:`X f` per row, from the ``(G, K)`` factor returns."""
        model = self.model
        out = pl.lit(0.0)
        for k in range(model.n_styles):
            out = out + self.per_date(f[:, k]) * pl.col(model.z_names[k])
        if model.country is not None:
            out = out + self.per_date(f[:, model.n_styles])
        if model.industry is not None and self.ctx.industries:
            j = len(self.ctx.industries)
            flat = pl.Series(f[:, len(model.fixed_factors) :].reshape(-1), dtype=pl.Float64)
            index = self.col("gid").cast(pl.Int64) * j + self.col("jid").cast(pl.Int64)
            out = out + pl.lit(flat).gather(index)
        return out

    def residual(self, f: FloatArray) -> pl.Expr:
        r""":math:`u = \sqrt{w}(y - Xf)`."""
        y = pl.col(self.model.z_names[-1])
        return (self.col("sw_half") * (y - self.fitted(f))).alias(self.model.col("u"))

    def rho(self, z: pl.Expr) -> pl.Expr:
        t = self.t
        return pl.when(z.abs() <= t).then(0.5 * z * z).otherwise(z.abs() * t - 0.5 * t * t)

    def weights(self, scale: FloatArray) -> pl.Expr:
        r"""Huber weights :math:`h = \min(1, t / z)`, :math:`z = |u| / s`, at per-date ``scale``."""
        z = self.col("u").abs() / self.per_date(scale)
        return pl.when(z <= self.t).then(1.0).otherwise(self.t / z)

    def refit(self, data: pl.DataFrame, f: FloatArray, h: pl.Expr) -> pl.DataFrame:
        """Set the fit's Huber weights ``h`` and the residuals at ``f`` (one pass)."""
        return (
            data.lazy()
            .with_columns(h.alias(self.model.col("h")), self.residual(f))
            .collect(engine=self.engine)
        )

    def scales(self, data: pl.DataFrame, dof: FloatArray) -> tuple[FloatArray, FloatArray]:
        r"""Per date: the MAD scale and the fit's residual variance :math:`\sum h u^2 / dof`.

        Arrays over all dates; dates without rows in ``data`` get 1 (never read).
        """
        gid = self.model.col("gid")
        out = data.lazy().group_by(gid).agg(self.scale_aggs).collect(engine=self.engine)
        idx = out.get_column(gid).to_numpy()
        n = self.ctx.n_dates
        scale = _cross.scatter(n, idx, out.get_column("scale").to_numpy())
        s2 = _cross.scatter(n, idx, out.get_column("ssr").to_numpy() / dof[idx])
        return scale, s2

    def moments(
        self, data: pl.DataFrame, scale: FloatArray, s2: FloatArray
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Per date: deviance and psi sums at ``scale``; per cell: the next step's outlier sums.

        The next fit's Huber weights :math:`h` come from the same :math:`r = u / s`: only
        rows with :math:`h < 1` change the sums, by their share :math:`w (1 - h)`,
        subtracted from the full weighted sums of the first fit.
        """
        model = self.model
        t = self.t
        u, r = self.col("u"), self.col("r")
        # Per-row values first: a per-date gather inside an aggregation runs per group.
        # |u / s| is |u| / s exactly, so h is the weight the next refit computes.
        lf = (
            data.lazy()
            .with_columns(
                (u / self.per_date(scale)).alias(model.col("r")),
                (u / self.per_date(s2)).alias(model.col("z")),
            )
            .with_columns(
                pl.when(r.abs() <= t)
                .then(0.0)
                .otherwise(self.col("w") * (1.0 - t / r.abs()))
                .alias(model.col("v"))
            )
        )
        per_date = lf.group_by(model.col("gid")).agg(self.moment_aggs)
        outliers = lf.filter(self.col("v") > 0.0).group_by(self.keys).agg(self.cell_aggs)
        moments, cells = pl.collect_all([per_date, outliers], engine=self.engine)
        return moments, cells

    def run(self, fit0: _cross.LinearFit) -> _cross.IrlsState:
        """Iterate every solved date until statsmodels would stop it.

        Each step is three passes over the rows of the active dates: the refit (the
        Huber weights of the fit and the new residuals), the per-date MAD and residual
        variance, then the deviance, the psi sums and the next step's outlier sums.
        """
        state = _cross.IrlsState(fit0)
        model = self.model
        design0 = self.ctx.design
        dof = design0.n_obs - fit0.n_free
        data = self.data.filter(self.per_date(state.active.astype(float)) > 0)
        data = self.refit(data, state.factor_returns, pl.lit(1.0))
        outliers = self._record(state, data, dof)
        n_active = int(state.active.sum())
        while True:
            # statsmodels stops a date whose scale is 0 (an exact fit) before reweighting.
            state.active &= state.scale > 0
            idx = state.active.nonzero()[0]
            if not idx.size:
                break
            if idx.size < n_active:
                data = data.filter(self.per_date(state.active.astype(float)) > 0)
                n_active = int(idx.size)
            design = design0.take(idx).minus(
                _solution.assemble(
                    outliers,
                    model,
                    n_dates=self.ctx.n_dates,
                    n_industries=len(self.ctx.industries),
                    dates=idx,
                )
            )
            state.factor_returns[idx] = _cross.resolve(
                design, self.ctx.transform[idx], fit0.status[idx]
            )
            data = self.refit(data, state.factor_returns, self.weights(state.scale))
            previous = state.deviance.copy()
            outliers = self._record(state, data, dof)
            state.iteration[idx] += 1
            done, exhausted = _cross.irls_converged(
                state.deviance, previous, state.iteration, tol=model.tol, max_iter=model.max_iter
            )
            state.status[state.active & exhausted] = _cross.MAX_ITER
            state.active &= ~done
        return state

    def _record(self, state: _cross.IrlsState, data: pl.DataFrame, dof: FloatArray) -> pl.DataFrame:
        """Store the moments of the dates in ``data``; return the next step's outlier sums."""
        scale, s2 = self.scales(data, dof)
        moments, outliers = self.moments(data, scale, s2)
        gid = moments.get_column(self.model.col("gid")).to_numpy()
        state.scale[gid] = scale[gid]
        state.deviance[gid] = moments.get_column("deviance").to_numpy()
        state.sum_dpsi[gid] = moments.get_column("dpsi").to_numpy()
        state.sum_psi2[gid] = moments.get_column("psi2").to_numpy()
        return outliers
