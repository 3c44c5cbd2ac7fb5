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

    def moments(self, frame: pl.DataFrame, dof: FloatArray) -> pl.DataFrame:
        """Per date: MAD scale, deviance and the psi sums at the new scale, sorted by gid."""
        u = self.col("u")
        h = self.col("h")
        t = self.t
        s2 = (h * u * u).sum() / self.per_date(dof).first()
        scale = u.abs().median() / _cross.GAUSSIAN_3_4
        r = u / scale
        inside = r.abs() <= t
        return (
            frame.group_by(self.model.col("gid"))
            .agg(
                scale.alias("scale"),
                self.rho(u / s2).sum().alias("deviance"),
                inside.sum().cast(pl.Float64).alias("dpsi"),
                pl.when(inside).then(r * r).otherwise(t * t).sum().alias("psi2"),
            )
            .sort(self.model.col("gid"))
        )

    def run(self, fit0: _cross.LinearFit) -> _cross.IrlsState:
        """Iterate every solved date until statsmodels would stop it."""
        state = _cross.IrlsState(fit0)
        model = self.model
        design0 = self.ctx.design
        dof = design0.n_obs - fit0.n_free
        keys = [model.col("gid")] + ([model.col("jid")] if self.ctx.industries else [])
        data = self.data.filter(self.per_date(state.active.astype(float)) > 0)
        data = data.with_columns(
            self.residual(state.factor_returns), pl.lit(1.0).alias(model.col("h"))
        )
        self._record(state, self.moments(data, dof))
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
            z = self.col("u").abs() / self.per_date(state.scale)
            data = data.with_columns(
                pl.when(z <= self.t).then(1.0).otherwise(self.t / z).alias(model.col("h"))
            )
            # Only the rows with a Huber weight below 1 change the sums: subtract their
            # share w (1 - h) from the full weighted sums of the first fit.
            outliers = (
                data.filter(self.col("h") < 1.0)
                .group_by(keys)
                .agg(model.cell_sums(self.col("w") * (1.0 - self.col("h"))))
            )
            design = design0.minus(
                _solution.assemble(
                    outliers,
                    model,
                    n_dates=self.ctx.n_dates,
                    n_industries=len(self.ctx.industries),
                )
            ).take(idx)
            state.factor_returns[idx] = _cross.resolve(
                design, self.ctx.transform[idx], fit0.status[idx]
            )
            data = data.with_columns(self.residual(state.factor_returns))
            previous = state.deviance.copy()
            self._record(state, self.moments(data, dof))
            state.iteration[idx] += 1
            done, exhausted = _cross.irls_converged(
                state.deviance, previous, state.iteration, tol=model.tol, max_iter=model.max_iter
            )
            state.status[state.active & exhausted] = _cross.MAX_ITER
            state.active &= ~done
        return state

    def _record(self, state: _cross.IrlsState, moments: pl.DataFrame) -> None:
        """Store the moments of the dates in ``moments`` (all of them active)."""
        gid = moments.get_column(self.model.col("gid")).to_numpy()
        state.scale[gid] = moments.get_column("scale").to_numpy()
        state.deviance[gid] = moments.get_column("deviance").to_numpy()
        state.sum_dpsi[gid] = moments.get_column("dpsi").to_numpy()
        state.sum_psi2[gid] = moments.get_column("psi2").to_numpy()
