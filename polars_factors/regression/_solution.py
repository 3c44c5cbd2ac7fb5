"""From collected cell sums to the long solution frame (Polars glue around ``_solve``).

:func:`prepare` turns the ``(date, industry)`` cell sums into numpy systems (one per
date), :func:`solve_linear` solves them (OLS/WLS), and :func:`solution_frame` lays the
results out as one long frame: ``K`` rows per date, the factor columns, and the
per-date statistics repeated on each row (``first`` marks one row per date).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from polars_factors._frame import user_stacklevel
from polars_factors.exceptions import (
    DataLossWarning,
    InsufficientDataError,
    WeightError,
)
from polars_factors.regression._model import (
    COUNTRY,
    INDUSTRY,
    STYLE,
    Model,
    check_industry_names,
)
from polars_factors.regression._solve import _cross

if TYPE_CHECKING:
    from polars_factors.regression._solve import BoolArray, FloatArray, IntArray

__all__ = ["Context", "assemble", "prepare", "solution_frame", "solution_schema", "solve_linear"]


@dataclass(frozen=True)
class Context:
    """The per-date systems of one panel, ready to solve."""

    dates: pl.Series
    industries: list[str]
    design: _cross.Design
    transform: FloatArray
    constraint_ok: BoolArray | None
    n_rows: pl.Series
    #: ``(date, industry)`` -> ``gid``, ``jid`` lookup tables (for the Huber rows).
    date_index: pl.DataFrame
    industry_index: pl.DataFrame

    @property
    def n_dates(self) -> int:
        return self.dates.len()


def solution_schema(model: Model) -> pl.Schema:
    """Return the schema of :func:`solution_frame` (known before the data is read)."""
    return pl.Schema(
        {  # type: ignore[arg-type]
            model.date: model.date_dtype,
            "factor": pl.String,
            "factor_return": pl.Float64,
            "std_error": pl.Float64,
            "t_stat": pl.Float64,
            model.col("kind"): pl.Int8,
            model.col("first"): pl.Boolean,
            "n_assets": pl.UInt32,
            "n_excluded": pl.UInt32,
            "n_factors": pl.UInt32,
            "r2": pl.Float64,
            "adj_r2": pl.Float64,
            "condition_number": pl.Float64,
            "max_vif": pl.Float64,
            "max_vif_factor": pl.String,
            "min_industry_assets": pl.UInt32,
            "iterations": pl.Int64,
            "status": pl.String,
        }
    )


#: Dates solved together: bounds the numpy work arrays (``K x K`` per date, a few
#: copies) whatever the length of the panel.
CHUNK_DATES = 500


def industries_of(cells: pl.DataFrame, model: Model) -> list[str]:
    """List the industries with a used row somewhere in the panel, sorted."""
    if model.industry is None:
        return []
    used = cells.filter(pl.col(model.col("n_used")) > 0)
    names: list[str] = used.get_column(model.ind).drop_nulls().unique().sort().to_list()
    check_industry_names(model.fixed_factors, names, industry=model.industry, country=model.country)
    return names


def prepare(cells: pl.DataFrame, model: Model, industries: list[str]) -> Context:
    """Index the cells by date and industry and assemble every date's normal equations.

    ``cells`` must have passed :func:`check_cells`; ``industries`` (from
    :func:`industries_of` on the whole panel) fixes the factor list.
    """
    dates = cells.get_column(model.date).unique().sort(nulls_last=True)
    date_index = pl.DataFrame({model.date: dates}).with_row_index(model.col("gid"))
    cells = cells.join(date_index, on=model.date, how="left", nulls_equal=True)
    industry_index = pl.DataFrame()
    if model.industry is not None:
        industry_index = pl.DataFrame(
            {model.ind: industries}, schema={model.ind: pl.String}
        ).with_row_index(model.col("jid"))
        cells = cells.join(industry_index, on=model.ind, how="left")
    design = assemble(cells, model, n_dates=dates.len(), n_industries=len(industries))
    k = model.n_styles + int(model.country is not None) + len(industries)
    constraint_ok = None
    if model.constrained:
        transform, constraint_ok = _cross.constraint_transform(
            design.industry_weight,
            _constraint_shares(cells, model, dates.len(), len(industries)),
            offset=len(model.fixed_factors),
            n_params=k,
        )
    else:
        transform = _cross.identity_transforms(dates.len(), k)
    n_rows = (
        cells.group_by(model.col("gid"))
        .agg(pl.col(model.col("n_rows")).sum())
        .sort(model.col("gid"))
        .get_column(model.col("n_rows"))
    )
    return Context(
        dates=dates,
        industries=industries,
        design=design,
        transform=transform,
        constraint_ok=constraint_ok,
        n_rows=n_rows,
        date_index=date_index,
        industry_index=industry_index,
    )


def assemble(
    cells: pl.DataFrame,
    model: Model,
    *,
    n_dates: int,
    n_industries: int,
    dates: IntArray | None = None,
) -> _cross.Design:
    """Assemble the normal equations per date from cells with ``gid`` (and ``jid``) indexes.

    ``dates``: only the systems of these date indexes, in this order.
    """
    jid = None
    if n_industries:
        jid = cells.get_column(model.col("jid")).fill_null(-1).to_numpy()
    return _cross.assemble(
        group=cells.get_column(model.col("gid")).to_numpy(),
        industry=jid,
        count=cells.get_column(model.col("n_used")).to_numpy(),
        weight=cells.get_column(model.col("sw")).to_numpy(),
        first=cells.select(model.first_names).to_numpy(),
        second=cells.select(model.second_names).to_numpy(),
        n_groups=n_dates,
        n_industries=n_industries,
        country=model.country is not None,
        dates=dates,
    )


def _diagnostics(model: Model, ctx: Context, vif: FloatArray) -> dict[str, pl.Series]:
    """Per date: the largest style VIF and its style; the smallest industry's row count."""
    g = ctx.n_dates
    if model.n_styles:
        vifs = pl.DataFrame(
            {name: pl.Series(vif[:, i], dtype=pl.Float64) for i, name in enumerate(model.exposures)}
        ).with_columns(pl.all().fill_nan(None))
        largest = vifs.select(pl.max_horizontal(pl.all())).to_series()
        # The first style (in model order) whose VIF is the largest, up to rounding:
        # two styles with an intercept have equal VIFs, whose last bits decide nothing.
        top = largest * (1.0 - 1e-9)
        which = vifs.select(
            pl.coalesce(pl.when(pl.col(c) >= top).then(pl.lit(c)) for c in model.exposures)
        ).to_series()
    else:
        largest = pl.repeat(None, g, dtype=pl.Float64, eager=True)
        which = pl.repeat(None, g, dtype=pl.String, eager=True)
    if ctx.industries:
        # The smallest of the industries with rows on the date (empty ones are absent).
        counts = pl.DataFrame(ctx.design.industry_n, orient="row")
        smallest = counts.select(
            pl.min_horizontal(pl.all().replace(0.0, None)).cast(pl.UInt32)
        ).to_series()
    else:
        smallest = pl.repeat(None, g, dtype=pl.UInt32, eager=True)
    return {
        "max_vif": largest.alias("max_vif"),
        "max_vif_factor": which.cast(pl.String).alias("max_vif_factor"),
        "min_industry_assets": smallest.alias("min_industry_assets"),
    }


def _constraint_shares(
    cells: pl.DataFrame, model: Model, n_dates: int, n_industries: int
) -> FloatArray | None:
    """``(G, J)`` summed constraint weights of each date's industries (None: equal)."""
    if model.constraint_weights is None or not n_industries:
        return None
    grid = (
        cells.filter(pl.col(model.col("jid")).is_not_null())
        .group_by(model.col("gid"), model.col("jid"))
        .agg(pl.col(model.col("scw")).sum())
    )
    flat = (
        pl.DataFrame({"i": pl.int_range(0, n_dates * n_industries, eager=True)})
        .join(
            grid.select(
                (
                    pl.col(model.col("gid")).cast(pl.Int64) * n_industries
                    + pl.col(model.col("jid")).cast(pl.Int64)
                ).alias("i"),
                pl.col(model.col("scw")),
            ),
            on="i",
            how="left",
        )
        .sort("i")
        .get_column(model.col("scw"))
        .fill_null(0.0)
        .to_numpy()
    )
    return flat.reshape(n_dates, n_industries)


def check_cells(cells: pl.DataFrame, model: Model) -> None:
    """Raise on negative weights (``WeightError``) or no usable row (``InsufficientDataError``)."""
    neg = model.col("n_neg")
    if neg in cells.columns:
        bad = cells.filter(pl.col(neg) > 0)
        if bad.height:
            n_bad = int(bad.get_column(neg).sum())
            first = bad.get_column(model.date).min()
            which = " or ".join(
                repr(c) for c in (model.weights, model.constraint_weights) if c is not None
            )
            msg = (
                f"{n_bad} rows have a negative {which} (first on {first!r}); regression and "
                "constraint weights must be >= 0 (rows with weight 0 are left out of the fit). "
                "Fix or filter them, e.g. pl.col(w).clip(lower_bound=0)."
            )
            raise WeightError(msg)
    if cells.height == 0 or int(cells.get_column(model.col("n_used")).sum()) == 0:
        msg = (
            "no row of the panel can be used: every row misses the returns, an exposure, "
            "the industry or a positive weight (or the panel is empty)."
        )
        raise InsufficientDataError(msg)


def solve_linear(ctx: Context) -> tuple[_cross.LinearFit, FloatArray]:
    """OLS/WLS fit of every date and the classical covariance of its factor returns."""
    fit = _cross.solve_design(ctx.design, ctx.transform, constraint_ok=ctx.constraint_ok)
    return fit, _cross.classical_cov(fit, ctx.design, ctx.transform)


def style_vif(ctx: Context, fit: _cross.LinearFit, model: Model) -> FloatArray:
    """``(G, P)`` variance inflation factors of the styles (see ``_cross.style_vif``)."""
    return _cross.style_vif(ctx.design, fit, model.n_styles, centred=model.has_intercept)


def factor_names(model: Model, ctx: Context) -> tuple[list[str], list[int]]:
    """Factor names and kinds in model order: styles, country, industries."""
    names = [*model.fixed_factors, *ctx.industries]
    kinds = [STYLE] * model.n_styles + [COUNTRY] * int(model.country is not None)
    return names, kinds + [INDUSTRY] * len(ctx.industries)


def solution_frame(
    model: Model,
    ctx: Context,
    *,
    factor_returns: FloatArray,
    cov: FloatArray,
    ssr: FloatArray,
    n_free: IntArray,
    cond: FloatArray,
    vif: FloatArray,
    status: IntArray,
    iterations: IntArray | None = None,
) -> pl.DataFrame:
    """Lay out the solution as one long frame (see :func:`solution_schema`).

    ``vif``: ``(G, P)`` variance inflation factors of the styles (NaN: undefined).
    """
    names, kinds = factor_names(model, ctx)
    g, k = ctx.n_dates, len(names)
    solved = (status == _cross.OK) | (status == _cross.ILL) | (status == _cross.MAX_ITER)
    r2, adj = _cross.r_squared(ctx.design, ssr, n_free, centred=model.has_intercept, solved=solved)
    se = _cross.std_errors(cov)
    per_date = pl.DataFrame(
        {
            "n_assets": pl.Series(ctx.design.n_obs).cast(pl.UInt32),
            "n_excluded": (
                ctx.n_rows.cast(pl.Int64) - pl.Series(ctx.design.n_obs).cast(pl.Int64)
            ).cast(pl.UInt32),
            "r2": pl.Series(r2, dtype=pl.Float64),
            "adj_r2": pl.Series(adj, dtype=pl.Float64),
            "condition_number": pl.Series(cond, dtype=pl.Float64),
            **_diagnostics(model, ctx, vif),
            "iterations": (
                pl.repeat(1, g, eager=True, dtype=pl.Int64)
                if iterations is None
                else pl.Series(iterations, dtype=pl.Int64)
            ),
            "status": pl.Series([_cross.STATUS[s] for s in status.tolist()], dtype=pl.String),
        }
    ).with_columns(pl.col(pl.Float64).fill_nan(None))
    idx = pl.int_range(0, g * k, eager=True)
    gid = idx // k
    out = pl.DataFrame(
        {
            model.date: ctx.dates.gather(gid),
            "factor": pl.Series(names * g, dtype=pl.String),
            "factor_return": pl.Series(factor_returns.reshape(-1), dtype=pl.Float64),
            "std_error": pl.Series(se.reshape(-1), dtype=pl.Float64),
            model.col("kind"): pl.Series(kinds * g, dtype=pl.Int8),
            model.col("first"): idx % k == 0,
        }
    ).with_columns(pl.col(pl.Float64).fill_nan(None))
    out = out.with_columns(
        pl.when(pl.col("factor_return").is_not_null()).then(pl.col("std_error")).alias("std_error")
    ).with_columns(
        # An exact fit has std_error 0: its t-statistic is undefined (null), not +-inf
        # with the sign of the round-off in the factor return.
        pl.when(pl.col("std_error") > 0)
        .then(pl.col("factor_return") / pl.col("std_error"))
        .alias("t_stat"),
        pl.col("factor_return").is_not_null().sum().over(pl.col(model.date)).alias("n_factors"),
    )
    out = pl.concat([out, per_date.gather(gid)], how="horizontal")
    schema = solution_schema(model)
    return out.select(schema.names()).cast(schema)


def warn_excluded(model: Model, stats: pl.DataFrame) -> None:
    total = pl.col("n_assets").cast(pl.Int64) + pl.col("n_excluded").cast(pl.Int64)
    share = pl.col("n_excluded").cast(pl.Float64) / total
    lossy = stats.filter((share > model.warn_excluded) | (pl.col("n_assets") == 0))
    if lossy.height == 0:
        return
    examples = ", ".join(str(d) for d in lossy.get_column(model.date).head(3).to_list())
    n_lost = int(lossy.get_column("n_excluded").sum())
    msg = (
        f"cross_section: on {lossy.height} of {stats.height} dates (e.g. {examples}) more "
        f"than {model.warn_excluded:.0%} of the rows are left out of the fit ({n_lost} rows: "
        "a missing or non-finite return, exposure, industry or weight, or a zero weight); "
        "dates without a usable row get null factor returns (status 'no_data'). "
        "See stats['n_excluded']; set warn_excluded=1.0 to silence this."
    )
    warnings.warn(msg, DataLossWarning, stacklevel=user_stacklevel())


#: Statuses of a date that had rows but got no factor returns, and why (the warning).
_UNSOLVED = {
    "singular": "singular (collinear or constant exposures, or an industry equal to another)",
    "too_few_assets": "fewer usable assets than factors",
    "no_constraint_weight": "no weight for the industry constraint",
    "overflow": (
        "values too large: sums of squares of the returns, exposures or weights overflow "
        "float64 (values near 1e154 or more; rescale them, e.g. divide by a power of ten)"
    ),
}


def warn_unsolved(model: Model, stats: pl.DataFrame) -> None:
    """Warn when dates with usable rows get null factor returns (a DataLossWarning).

    ``stats`` has one row per date (``n_assets``, ``status``). Dates without a usable
    row are :func:`warn_excluded`'s. When most dates hold a single asset and the date
    column is a Datetime, the message says why: its values carry times of day, so every
    row is a date of its own.
    """
    unsolved = stats.filter(pl.col("status").is_in(list(_UNSOLVED)) & (pl.col("n_assets") > 0))
    if unsolved.height == 0:
        return
    counts = unsolved.group_by("status").len().sort("len", "status", descending=[True, False])
    reasons = "; ".join(f"{n} {_UNSOLVED[s]}" for s, n in counts.iter_rows())
    examples = ", ".join(str(d) for d in unsolved.get_column(model.date).head(3).to_list())
    msg = (
        f"cross_section: {unsolved.height} of {stats.height} dates with usable rows have null "
        f"factor returns: {reasons} (e.g. {examples}). See stats['status'] and "
        "stats['condition_number']."
    )
    dtype = stats.schema[model.date]
    single = stats.filter(pl.col("n_assets") <= 1).height
    if isinstance(dtype, pl.Datetime) and single > stats.height / 2:
        msg += (
            f" {single} of {stats.height} dates hold at most one asset: the {model.date!r} "
            f"column carries times of day, so every row is a date of its own; use "
            f"pl.col({model.date!r}).dt.date() (or .dt.truncate('1d'))."
        )
    warnings.warn(msg, DataLossWarning, stacklevel=user_stacklevel())


def robust_cov(
    ctx: Context, fit: _cross.LinearFit, model: Model, meat_cells: pl.DataFrame
) -> FloatArray:
    """``(G, K, K)`` HC0/HC1/cluster covariance of the dates of ``ctx`` (``model.cov_type``).

    ``meat_cells``: for HC0/HC1 the cell sums of the rows with weight
    :math:`(w e)^2`; for clusters, per (date, cluster, industry) the sums of
    :math:`w e` and :math:`w e x` (see ``cross_sectional._meat_cells``).
    """
    cells = meat_cells.join(ctx.date_index, on=model.date, how="inner", nulls_equal=True)
    if model.industry is not None:
        cells = cells.join(ctx.industry_index, on=model.ind, how="left")
    if model.cov_type in ("HC0", "HC1", "HC2", "HC3"):
        meat = assemble(cells, model, n_dates=ctx.n_dates, n_industries=len(ctx.industries)).xtx
        hc1 = model.cov_type == "HC1"
        factor = _cross.hc_factor(ctx.design.n_obs, fit.n_free, small_sample=hc1)
    else:
        cl = model.col("cl")
        ids = cells.select(cl).unique().with_row_index(model.col("cid"))
        cells = cells.join(ids, on=cl, how="left", nulls_equal=True)
        jid = None
        if ctx.industries:
            jid = cells.get_column(model.col("jid")).fill_null(-1).to_numpy()
        meat, n_clusters = _cross.cluster_meat(
            group=cells.get_column(model.col("gid")).to_numpy(),
            cluster=cells.get_column(model.col("cid")).to_numpy(),
            industry=jid,
            score=cells.select(model.first_names[: model.n_styles]).to_numpy(),
            score_one=cells.get_column(model.col("sw")).to_numpy(),
            n_groups=ctx.n_dates,
            n_industries=len(ctx.industries),
            country=model.country is not None,
        )
        factor = _cross.cluster_factor(n_clusters, ctx.design.n_obs, fit.n_free)
    return _cross.sandwich_cov(fit, meat, ctx.transform, factor)


def contexts(cells: pl.DataFrame, model: Model, industries: list[str]) -> Iterator[Context]:
    """Prepare the dates of ``cells`` :data:`CHUNK_DATES` at a time, in date order.

    One chunk at a time (a filter copies only that chunk's cells), so that the numpy
    work arrays stay bounded whatever the length of the panel.
    """
    chunk = ((pl.col(model.date).rank("dense") - 1) // CHUNK_DATES).alias(model.col("chunk"))
    chunks = cells.select(chunk).get_column(model.col("chunk"))
    for i in chunks.unique().sort(nulls_last=True):
        part = cells.filter(chunks.is_null() if i is None else chunks == i)
        yield prepare(part, model, industries)


def leverage_names(model: Model) -> tuple[list[str], list[str], str]:
    """Columns of :func:`leverage_table`: ``a`` (``k <= l``), ``b`` per style, ``c``."""
    p = model.n_styles
    a = [model.col(f"la{k}_{m}") for k in range(p) for m in range(k, p)]
    return a, [model.col(f"lb{k}") for k in range(p)], model.col("lc")


def leverage_schema(model: Model) -> pl.Schema:
    """Return the schema of :func:`leverage_table` (known before the data is read)."""
    a, b, c = leverage_names(model)
    keys: dict[str, pl.DataType] = {model.date: model.date_dtype}
    if model.industry is not None:
        keys[model.ind] = pl.String()
    return pl.Schema({**keys, **dict.fromkeys([*a, *b, c], pl.Float64())})


def leverage_table(cells: pl.DataFrame, model: Model) -> pl.DataFrame:
    r"""Per (date, industry): the coefficients of a row's leverage (HC2/HC3).

    A used row's leverage is :math:`h = w (z' a z + 2 b' z + c)` with the columns of
    :func:`leverage_names` (the ``map_batches`` step that feeds the HC2/HC3 pass).
    """
    industries = industries_of(cells, model)
    names_a, names_b, name_c = leverage_names(model)
    p = model.n_styles
    frames = []
    for ctx in contexts(cells, model, industries):
        fit, _ = solve_linear(ctx)
        a, b, c = _cross.leverage_coefficients(
            fit, ctx.transform, n_styles=p, country=model.country is not None,
            n_industries=len(industries),
        )  # fmt: skip
        j = b.shape[1]
        gid = pl.int_range(0, ctx.n_dates * j, eager=True) // j
        columns: dict[str, pl.Series] = {model.date: ctx.dates.gather(gid)}
        if model.industry is not None:
            columns[model.ind] = pl.Series(industries * ctx.n_dates, dtype=pl.String)
        pairs = [(k, m) for k in range(p) for m in range(k, p)]
        for name, (k, m) in zip(names_a, pairs, strict=True):
            columns[name] = pl.Series(a[:, k, m], dtype=pl.Float64).gather(gid)
        for k, name in enumerate(names_b):
            columns[name] = pl.Series(b[:, :, k].reshape(-1), dtype=pl.Float64)
        columns[name_c] = pl.Series(c.reshape(-1), dtype=pl.Float64)
        frames.append(pl.DataFrame(columns))
    if not frames:
        return pl.DataFrame(schema=leverage_schema(model))
    return pl.concat(frames).cast(leverage_schema(model))


def solve_batch(
    cells: pl.DataFrame, model: Model, *, industries: list[str] | None = None, warn: bool = True
) -> pl.DataFrame:
    """Turn cell sums into the solution frame (the ``map_batches`` step of the plan).

    The dates are solved in chunks of :data:`CHUNK_DATES`, so that memory does not
    grow with the length of the panel beyond the cell table and the result.
    ``industries``: the factor list of the whole panel, when ``cells`` hold only some
    of its dates (checked by the caller); ``warn=False`` leaves the per-date warnings
    to the caller.
    """
    meat_cells = None
    if model.cov_type != "classical":
        # The cells of the fit and those of the robust covariance's second pass, tagged.
        part = pl.col(model.col("part"))
        meat_cells = cells.filter(part == 1).drop(model.col("part"))
        cells = cells.filter(part == 0).drop(model.col("part"), model.col("cl"), strict=False)
    if industries is None:
        check_cells(cells, model)
        industries = industries_of(cells, model)
    frames = []
    for ctx in contexts(cells, model, industries):
        fit, cov = solve_linear(ctx)
        if meat_cells is not None:
            cov = robust_cov(ctx, fit, model, meat_cells)
        frames.append(
            solution_frame(
                model, ctx, factor_returns=fit.factor_returns, cov=cov, ssr=fit.ssr,
                n_free=fit.n_free, cond=fit.cond, vif=style_vif(ctx, fit, model),
                status=fit.status,
            )
        )  # fmt: skip
    if not frames:  # no date (only possible for a part of a panel)
        return pl.DataFrame(schema=solution_schema(model))
    out = pl.concat(frames).sort(model.date, maintain_order=True, nulls_last=True)
    if warn:
        per_date = out.filter(pl.col(model.col("first")))
        warn_excluded(model, per_date)
        warn_unsolved(model, per_date)
    return out
