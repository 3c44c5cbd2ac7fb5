r"""Cross-sectional factor returns per date: OLS, WLS, Huber and the Barra constraint.

The per-row work is one Polars ``group_by`` over ``(date, industry)`` cells that sums
:math:`w`, :math:`wz` and :math:`wzz'` (:math:`z` = exposures and the return); the
small per-date systems are solved together in numpy
(:mod:`polars_factors.regression._solve`), inside the same lazy plan.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Generic, Literal

import polars as pl

from polars_factors import _validate
from polars_factors._units import check_units
from polars_factors.regression import _huber, _solution
from polars_factors.regression._model import (
    COUNTRY,
    INDUSTRY,
    STYLE,
    CovType,
    Model,
    build_model,
)
from polars_factors.typing import FrameT

if TYPE_CHECKING:
    from polars_factors.regression._model import CrossSectionMethod
    from polars_factors.typing import ColumnNames, EngineType

__all__ = ["CrossSectionResult", "cross_section"]

_SOLVED = ("ok", "ill_conditioned", "max_iter")
_STATS = (
    "n_assets", "n_excluded", "n_factors", "r2", "adj_r2", "condition_number", "max_vif",
    "max_vif_factor", "min_industry_assets", "iterations", "status",
)  # fmt: skip


@dataclass(frozen=True)
class CrossSectionResult(Generic[FrameT]):
    """Factor returns, residuals and per-date statistics of :func:`cross_section`.

    The three frames are LazyFrames when the panel was lazy (one plan: collecting them
    together with :meth:`collect` runs the cell sums and the solve once) and
    DataFrames when it was eager.

    Attributes
    ----------
    factor_returns
        ``date, factor, factor_return, std_error, t_stat``: one row per date and
        factor, sorted by date, factors in model order (exposures as given, the
        country factor, industries sorted by name). Null where the factor has no data
        on the date or the date could not be solved (see ``stats["status"]``);
        ``t_stat`` is also null where ``std_error`` is 0 (an exact fit).
    residuals
        ``date, asset, residual``: one row per input row, in input order; null for
        rows left out of the fit and on dates without a solution.
    stats
        ``date, n_assets, n_excluded, n_factors, r2, adj_r2, condition_number,
        max_vif, max_vif_factor, min_industry_assets, iterations, status``, sorted by
        date. ``max_vif`` is the largest variance inflation factor of the styles (and
        ``max_vif_factor`` its style), ``min_industry_assets`` the rows of the smallest
        industry with members (docs: "Diagnostics").
    method
        ``"ols"``, ``"wls"`` or ``"huber"``.
    """

    factor_returns: FrameT
    residuals: FrameT
    stats: FrameT
    method: str

    def collect(self, *, engine: EngineType = "auto") -> CrossSectionResult[pl.DataFrame]:
        """Collect the three frames in one ``pl.collect_all`` (eager results pass through).

        Examples
        --------
        >>> import polars as pl
        >>> import polars_factors as pf
        >>> lf = pl.LazyFrame({"date": [1, 1, 1], "asset": ["a", "b", "c"],
        ...                    "ret": [0.01, 0.03, 0.05], "beta": [0.5, 1.0, 1.5]})
        >>> res = lf.factors.cross_section("ret", "beta", country=True).collect()
        >>> res.factor_returns["factor_return"].round(6).to_list()
        [0.04, -0.01]
        """
        frames = (self.factor_returns, self.residuals, self.stats)
        if all(isinstance(f, pl.DataFrame) for f in frames):
            return self  # type: ignore[return-value]
        fr, resid, stats = pl.collect_all([f.lazy() for f in frames], engine=engine)
        return CrossSectionResult(fr, resid, stats, self.method)

    def summary(self, *, nw_lags: int | None = None) -> pl.DataFrame:
        """Fama-MacBeth table of the factor returns (:func:`polars_factors.fama_macbeth`)."""
        from polars_factors.regression.fama_macbeth import fama_macbeth  # noqa: PLC0415

        return fama_macbeth(self.factor_returns, nw_lags=nw_lags)


def cross_section(
    frame: FrameT,
    returns: str,
    exposures: ColumnNames = (),
    *,
    industry: str | None = None,
    country: bool | str = False,
    weights: str | None = None,
    method: CrossSectionMethod = "wls",
    huber_t: float = 1.345,
    constraint_weights: str | None = None,
    cov_type: CovType = "classical",
    cluster: str | None = None,
    date: str = "date",
    asset: str = "asset",
    max_iter: int = 50,
    tol: float = 1e-8,
    warn_excluded: float = 0.5,
    check_keys: bool | None = None,
    engine: EngineType = "auto",
) -> CrossSectionResult[FrameT]:
    r"""Regress each date's returns on exposures, industries and a country factor.

    Parameters
    ----------
    frame
        Panel, one row per ``(date, asset)``. A LazyFrame gives lazy results.
    returns
        Column of the returns to explain (numeric).
    exposures
        Style exposure column(s) (numeric), e.g. standardized size and value. May be
        empty when the model has industries or a country factor.
    industry
        Classification column (string, categorical, enum or integer codes); one factor
        per category, named by its value (as a string). Never one-hot encoded.
    country
        ``True`` adds a country (market) factor named ``"country"``; a string adds it
        under that name. Without ``industry`` it is an intercept.
    weights
        Regression weights, as in statsmodels ``WLS``: proportional to the inverse
        variance of the returns, e.g. the square root of market cap
        (:func:`regression_weights`). Rows with zero, null or non-finite weight are
        left out; negative weights raise. Default: equal weights.
    method
        ``"ols"`` (no weights), ``"wls"`` or ``"huber"`` (robust IRLS, see Notes).
    huber_t
        Tuning constant of Huber's norm.
    constraint_weights
        With ``industry`` and ``country``: the weights whose industry shares
        :math:`c_j` enter the constraint :math:`\sum_j c_j f_j = 0` (e.g. market cap).
        Default: equal shares of the industries present on the date.
    cov_type
        Standard errors of ``method="ols"`` / ``"wls"``, as statsmodels
        ``WLS(...).fit(cov_type=...)``: ``"classical"`` (homoskedastic, the default),
        ``"HC0"`` (White), ``"HC1"`` (HC0 times :math:`n/(n-p)`), ``"HC2"`` /
        ``"HC3"`` (squared residuals over :math:`1 - h` / :math:`(1 - h)^2`, :math:`h`
        the row's leverage), or ``"cluster"``
        (errors correlated within the groups of ``cluster`` on a date, with
        statsmodels' small-sample correction). The robust ones take a second pass
        over the rows (their residuals); the factor returns do not change.
    cluster
        With ``cov_type="cluster"``: the column of the groups (e.g. the sector).
        Rows with a null group are left out of the fit, like a null model column.
    date, asset
        Names of the panel keys.
    max_iter, tol
        Huber IRLS: at most ``max_iter`` fits (the first one OLS/WLS), stopping when
        the deviance changes by at most ``tol`` (statsmodels ``RLM.fit`` defaults).
    warn_excluded
        Warn (:class:`~polars_factors.exceptions.DataLossWarning`) when a date leaves
        out more than this share of its rows, or all of them.
    check_keys
        Check that ``(date, asset)`` is unique. ``None`` (default): on a
        DataFrame at call time; on a LazyFrame not at all, so that the call reads
        nothing (pass ``True`` to read the key columns now, or check a scan once with
        :func:`~polars_factors.check_panel`). ``True``: at call time whatever the
        frame. ``False``: no check.
    engine
        Polars engine for the collects (``"auto"``: Polars' choice, the streaming
        engine for lazy plans).

    Returns
    -------
    CrossSectionResult
        ``factor_returns``, ``residuals``, ``stats`` (lazy for a lazy panel, see
        :class:`CrossSectionResult`).

    Raises
    ------
    ColumnNotFoundError, SchemaError, DuplicateKeyError
        Missing or non-numeric columns, an industry column of another dtype,
        duplicate keys (call time).
    ValueError
        Unknown ``method``, ``weights`` with ``method="ols"``, a country name equal
        to an exposure, ``constraint_weights`` without industry and country, bad
        ``huber_t`` / ``max_iter`` / ``tol``; an unknown ``cov_type``, a robust one
        with ``method="huber"``, ``cov_type="cluster"`` without ``cluster`` or
        ``cluster`` without it.
    WeightError
        Negative ``weights`` or ``constraint_weights`` (when the data is read).
    InsufficientDataError
        No usable row in the whole panel (when the data is read).

    Warns
    -----
    DataLossWarning
        When a date leaves out more than ``warn_excluded`` of its rows.

    Notes
    -----
    Per date, over the rows with every model column present and a positive weight,

    .. math::

        y_i = \sum_k x_{ik} b_k + f_c + f_{j(i)} + e_i, \qquad \min \sum_i w_i e_i^2

    (:math:`f_c` with ``country``, :math:`f_j` with ``industry``). The normal
    equations come from the cell sums; with industries and a country factor, the
    constraint :math:`\sum_j c_j f_j = 0` is substituted out (the largest-share
    industry is written in terms of the others), the reduced system solved, and the
    returns and covariance mapped back. The standard errors are classical by default:
    :math:`\hat\sigma^2 (X'WX)^{-1}` with :math:`\hat\sigma^2 = \sum w e^2/(n-p)`
    (statsmodels ``WLS(...).bse``), :math:`p` the number of free parameters; with
    ``cov_type`` the sandwich :math:`(X'WX)^{-1} B (X'WX)^{-1}`, with
    :math:`B = \sum w^2 e^2 x x'` (HC0/HC1; the squares divided by :math:`1-h` or
    :math:`(1-h)^2` for HC2/HC3) or :math:`\sum_c s_c s_c'`,
    :math:`s_c = \sum_{i \in c} w e x` (clusters), computed from per-cell sums of a
    second pass.

    ``method="huber"`` runs statsmodels' ``RLM(M=HuberT(t=huber_t))`` algorithm on the
    :math:`\sqrt{w}`-scaled problem: OLS/WLS start, MAD scale of the residuals
    (about 0), Huber weights, refit, until the deviance settles; its standard errors
    are statsmodels' H1. It collects the model columns at call time (each step needs
    the previous one), also for a LazyFrame.

    Per date, ``stats["status"]`` is ``"ok"``; ``"ill_conditioned"`` (Jacobi-scaled
    condition number above 1e8: solved by SVD least squares); ``"singular"`` (above
    1e12, or non-finite sums: null returns); ``"too_few_assets"`` (fewer rows than
    free parameters: null returns; with exactly as many, returns without standard
    errors); ``"no_data"``; ``"no_constraint_weight"`` (the present industries have
    zero constraint weight); ``"max_iter"`` (Huber did not converge; returns given).

    Where the work happens: for a LazyFrame nothing runs until the result is
    collected; the frames share one plan (cell sums, then the batched solve as a
    ``map_batches`` node on the small cell table, then joins for the residuals), and
    :meth:`CrossSectionResult.collect` runs it once. Errors that need the data
    (negative weights, no usable row) are raised then.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({
    ...     "date": [1, 1, 1, 1], "asset": ["a", "b", "c", "d"],
    ...     "ret": [0.02, 0.04, -0.01, 0.01], "size": [1.0, -1.0, 1.0, -1.0],
    ...     "sector": ["x", "x", "y", "y"]})
    >>> res = pf.cross_section(df, "ret", "size", industry="sector", method="ols")
    >>> res.factor_returns.select("factor", pl.col("factor_return").round(4))
    shape: (3, 2)
    ┌────────┬───────────────┐
    │ factor ┆ factor_return │
    │ ---    ┆ ---           │
    │ str    ┆ f64           │
    ╞════════╪═══════════════╡
    │ size   ┆ -0.01         │
    │ x      ┆ 0.03          │
    │ y      ┆ 0.0           │
    └────────┴───────────────┘
    """
    schema = frame.collect_schema()
    model: Model = build_model(
        schema,
        returns=returns,
        exposures=exposures,
        industry=industry,
        country=country,
        weights=weights,
        constraint_weights=constraint_weights,
        method=method,
        huber_t=huber_t,
        cov_type=cov_type,
        cluster=cluster,
        max_iter=max_iter,
        tol=tol,
        warn_excluded=warn_excluded,
        date=date,
        asset=asset,
    )
    _validate.unique_keys(frame, check_keys, date=date, asset=asset)
    # Returns and exposures whose squares do not fit in float64 give an r2 of 0 (and
    # wrong Huber fits) that look right: refused, at call time or in the plan.
    squared: list[str] = [model.returns, *model.exposures]
    checked = _validate.check_magnitude(frame, squared, function="cross_section")
    lf = check_units(checked, [model.returns], function="cross_section").lazy()
    if model.method == "huber":
        solution = _huber.solve(lf, model, engine=engine).lazy()
    else:
        cells = (
            lf.select(model.row_columns())
            .group_by(model.cell)
            .agg(model.cell_sums(pl.col(model.col("w"))))
        )
        schema = _solution.solution_schema(model)
        if model.cov_type != "classical":
            # The cell sums feed the fit and the robust solve below: cached (a small
            # table), or the plan would sum the panel twice (common-subplan
            # elimination does not look below the fit's Python node).
            cells = cells.cache()
        # The fit itself (the same rows: a cluster column's nulls leave rows out too).
        classical = replace(model, cov_type="classical")
        fit = cells.map_batches(partial(_solution.solve_batch, model=classical), schema=schema)
        solution = fit
        if model.cov_type != "classical":
            # A second pass: the residuals of the fit give the sandwich's middle sums;
            # the dates are solved again (numpy on the cell sums) with them.
            part = model.col("part")
            leverage = None
            if model.cov_type in ("HC2", "HC3"):
                leverage = cells.map_batches(
                    partial(_solution.leverage_table, model=classical),
                    schema=_solution.leverage_schema(model),
                )
            solution = pl.concat(
                [
                    cells.with_columns(pl.lit(0, dtype=pl.Int8).alias(part)),
                    _meat_cells(lf, fit, model, leverage).with_columns(
                        pl.lit(1, dtype=pl.Int8).alias(part)
                    ),
                ],
                how="diagonal_relaxed",
            ).map_batches(
                # The fit's own solve, upstream in the same plan, warns (once).
                partial(_solution.solve_batch, model=model, warn=False),
                schema=schema,
            )
    result: CrossSectionResult[pl.LazyFrame] = CrossSectionResult(
        factor_returns=solution.select(
            model.date, "factor", "factor_return", "std_error", "t_stat"
        ),
        # From the final solution (the same factor returns), so that the three frames
        # share one plan: collected together, the fit runs once.
        residuals=_residuals(lf, solution, model),
        stats=solution.filter(pl.col(model.col("first"))).select(model.date, *_STATS),
        method=model.method,
    )
    if isinstance(frame, pl.LazyFrame):
        return result
    return result.collect(engine=engine)


def _meat_cells(
    lf: pl.LazyFrame, solution: pl.LazyFrame, model: Model, leverage: pl.LazyFrame | None = None
) -> pl.LazyFrame:
    r"""Sum the robust covariance's middle term from the rows and their residuals.

    HC0/HC1: the cell sums with weight :math:`(w e)^2` (over :math:`1-h` or
    :math:`(1-h)^2` for HC2/HC3, ``leverage`` the :func:`_solution.leverage_table`
    plan); clusters: per (date, cluster, industry) the scores :math:`\sum w e` and
    :math:`\sum w e x`. Rows without a residual (left out, or their date unsolved) add
    nothing.
    """
    rows = _residual_rows(lf, solution, model, ordered=False)
    rows = rows.filter(pl.col("residual").is_not_null())
    score = pl.col(model.col("w")) * pl.col("residual")
    if model.cov_type in ("HC0", "HC1"):
        return rows.group_by(model.cell).agg(model.cell_sums(score * score))
    if model.cov_type in ("HC2", "HC3"):
        assert leverage is not None
        rows = rows.join(leverage, on=model.cell, how="left", nulls_equal=True)
        room = (1.0 - _leverage(model)).alias(model.col("room"))
        rows = rows.with_columns(room)
        room_col = pl.col(model.col("room"))
        scale = room_col if model.cov_type == "HC2" else room_col * room_col
        # A row of leverage 1 is fitted exactly (its own industry): its residual is 0
        # and it adds nothing (rather than 0 / 0).
        weight = pl.when(room_col > _LEVERAGE_ONE).then(score * score / scale).otherwise(0.0)
        return rows.group_by(model.cell).agg(model.cell_sums(weight))
    return rows.group_by([*model.cell, model.col("cl")]).agg(
        pl.len().alias(model.col("n_rows")),
        score.sum().alias(model.col("sw")),
        *(
            (score * pl.col(z)).sum().alias(name)
            for z, name in zip(model.z_names[:-1], model.first_names[: model.n_styles], strict=True)
        ),
    )


#: ``1 - h`` at or below this is a leverage of 1 up to rounding.
_LEVERAGE_ONE = 1e-10


def _leverage(model: Model) -> pl.Expr:
    r""":math:`h = w (z' a z + 2 b' z + c)` from the joined :func:`leverage_table` columns."""
    names_a, names_b, name_c = _solution.leverage_names(model)
    z = [pl.col(c) for c in model.z_names[:-1]]
    p = model.n_styles
    pairs = [(k, m) for k in range(p) for m in range(k, p)]
    quad = [
        pl.col(name) * z[k] * z[m] * (1.0 if k == m else 2.0)
        for name, (k, m) in zip(names_a, pairs, strict=True)
    ]
    lin = [2.0 * pl.col(name) * z[k] for k, name in enumerate(names_b)]
    return pl.col(model.col("w")) * pl.sum_horizontal(*quad, *lin, pl.col(name_c))


def _residuals(lf: pl.LazyFrame, solution: pl.LazyFrame, model: Model) -> pl.LazyFrame:
    """``date, asset, residual`` for every row, in input order."""
    rows = _residual_rows(lf, solution, model, ordered=True)
    return rows.select(pl.col(model.date), pl.col(model.asset), pl.col("residual"))


def _residual_rows(
    lf: pl.LazyFrame, solution: pl.LazyFrame, model: Model, *, ordered: bool
) -> pl.LazyFrame:
    """Return every row's model columns and ``residual`` (``ordered``: in input order)."""
    order: Literal["left", "none"] = "left" if ordered else "none"
    kind = pl.col(model.col("kind"))
    fixed = model.fixed_factors
    coef = [model.col(f"b{i}") for i in range(len(fixed))]
    rows = lf.select(pl.col(model.asset), *model.row_columns())
    fitted = pl.lit(0.0)
    solved = pl.lit(value=True)
    if fixed:
        # A style with sum w x^2 = 0 on a date (all zero) is absent there (null return,
        # like an empty industry) and contributes nothing; a date without a solution
        # has no residuals at all.
        wide = (
            solution.filter(kind != INDUSTRY)
            .group_by(model.date)
            .agg(
                pl.col("status").first().is_in(_SOLVED).alias(model.col("solved")),
                *(
                    pl.col("factor_return")
                    .filter((pl.col("factor") == name) & kind.is_in([STYLE, COUNTRY]))
                    .first()
                    .fill_null(0.0)
                    .alias(b)
                    for name, b in zip(fixed, coef, strict=True)
                ),
            )
        )
        rows = rows.join(wide, on=model.date, how="left", nulls_equal=True, maintain_order=order)
        solved = pl.col(model.col("solved"))
        for i, b in enumerate(coef):
            x = pl.col(model.z_names[i]) if i < model.n_styles else pl.lit(1.0)
            fitted = fitted + pl.col(b) * x
    if model.industry is not None:
        industries = solution.filter(kind == INDUSTRY).select(
            pl.col(model.date),
            pl.col("factor").alias(model.ind),
            pl.col("factor_return").alias(model.col("bind")),
        )
        rows = rows.join(
            industries, on=[model.date, model.ind], how="left", nulls_equal=True,
            maintain_order=order,
        )  # fmt: skip
        fitted = fitted + pl.col(model.col("bind"))
    # The industry return of a used row is null only when its date has no solution.
    residual = pl.when(pl.col(model.col("used")) & solved).then(pl.col(model.z_names[-1]) - fitted)
    return rows.with_columns(residual.alias("residual"))
