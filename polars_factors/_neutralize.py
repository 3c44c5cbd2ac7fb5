r"""Neutralization: residuals of a per-date weighted regression on exposures and industries.

The glue here is Polars only. One ``group_by`` over ``(by..., industry)`` cells collects
the sufficient statistics; :func:`polars_factors.regression._solve.solve_absorbed`
solves every group's small system at once; the coefficients and cell means are joined
back onto the panel and the residuals are Polars expressions.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from polars_factors import _frame, _validate
from polars_factors.exceptions import RankDeficientWarning
from polars_factors.exprs._core import clean
from polars_factors.regression import _solve

if TYPE_CHECKING:
    from polars_factors.typing import ColumnNames, EngineType, FrameT

__all__ = ["neutralize"]

_LOST = (
    "a regressor or the industry is missing, or the row's industry has no positive "
    "weight in its group"
)
_NEGATIVE = (
    "regression weights must be >= 0 (rows with a zero, null, NaN or infinite weight are "
    "left out). Fix or filter them, e.g. pl.col(w).clip(lower_bound=0), or pass "
    "check_keys=False to skip the check (negative weights then count as zero)."
)


def neutralize(
    frame: FrameT,
    columns: ColumnNames,
    *,
    against: ColumnNames = (),
    industry: str | None = None,
    weights: str | None = None,
    by: ColumnNames | None = None,
    date: str = "date",
    asset: str = "asset",
    suffix: str | None = None,
    check_keys: bool | None = None,
    engine: EngineType = "auto",
) -> FrameT:
    r"""Replace each column by its residual from a per-date regression on exposures and industries.

    Per group (the date by default), each column :math:`y` is regressed by weighted
    least squares on the ``against`` columns plus one intercept per ``industry``
    (a single intercept without ``industry``); the output is the residual. With no
    ``against`` and no ``industry`` this is weighted demeaning.

    Parameters
    ----------
    frame
        Panel, one row per ``(date, asset)``; a LazyFrame gives a LazyFrame.
    columns
        Column name(s) to neutralize (numeric).
    against
        Numeric regressor column(s), e.g. ``["size", "beta"]``.
    industry
        Classification column (string, categorical, enum or integer codes); its
        categories enter as dummies. A category absent on a date is simply not in
        that date's fit.
    weights
        Regression weights (e.g. square root of market cap). Null, NaN and infinite
        weights count as zero; negative weights raise
        :class:`~polars_factors.exceptions.WeightError`, as in the regressions (not
        checked with ``check_keys=False``: they then count as zero). Default: equal
        weights.
    by
        Group keys of the fits; default the date column. E.g. ``["date", "region"]``.
    date, asset
        Names of the panel keys.
    suffix
        Write ``<column><suffix>`` instead of replacing the column.
    check_keys
        Check that ``(date, asset)`` is unique. ``None`` (default): on a
        DataFrame at call time; on a LazyFrame not at all, so that the call reads
        nothing (pass ``True`` to read the key columns now, or check a scan once with
        :func:`~polars_factors.check_panel`). ``True``: at call time whatever the
        frame. ``False``: no check.
    engine
        Polars engine for the collects this function runs (see Notes).

    Returns
    -------
    DataFrame or LazyFrame
        Same rows and order; the residuals as Float64.

        - A row missing :math:`y`, an ``against`` value or its industry is left out of
          the fit and gets null (a residual needs all the regressors).
        - A row with complete data but zero weight is left out of the fit and still
          gets its residual :math:`y_i - \hat y_i`.
        - An industry with no positive weight in a group has no intercept: its rows
          get null. On a DataFrame a
          :class:`~polars_factors.exceptions.DataLossWarning` counts the present
          values that became null.

    Raises
    ------
    ColumnNotFoundError, SchemaError, DuplicateKeyError, ValueError
        ``ValueError`` when a column is both in ``columns`` and in ``against``.

    Warns
    -----
    RankDeficientWarning
        When a group's regressors are collinear (with each other or with the
        industries) or outnumber its rows. The residuals stay well defined: they
        come from the minimum-norm least-squares fit.

    Notes
    -----
    Per group :math:`g`, with :math:`c(i)` the industry of row :math:`i`:

    .. math::

        y_i = a_{c(i)} + \sum_k b_k x_{ik} + e_i, \qquad
        \min_{a, b} \sum_i w_i e_i^2 .

    The industry intercepts are absorbed (Frisch-Waugh-Lovell): :math:`b` solves the
    normal equations of the data centred on their weighted industry means
    :math:`\bar x_c, \bar y_c`, pooled over the industries of the group,

    .. math::

        \Big(\sum_c \sum_{i \in c} w_i \tilde x_i \tilde x_i'\Big) b
        = \sum_c \sum_{i \in c} w_i \tilde x_i \tilde y_i, \qquad
        \tilde x_i = x_i - \bar x_{c(i)},

    and :math:`e_i = (y_i - \bar y_{c(i)}) - b'(x_i - \bar x_{c(i)})`. The sums come
    from one Polars ``group_by`` over ``(group, industry)`` cells (industry dummies are
    never built); all groups are solved in one batched call. The centring is done on
    the sums, which costs about :math:`\log_{10}(1 + \bar x_c^2 / s_c^2)` digits for a
    regressor whose industry mean is large against its spread; a regressor whose
    within-industry variance in a group is below ``1e-12`` of its mean square counts
    as constant there (rank deficient).

    The coefficients must be known before the residuals, so this function collects
    the sufficient statistics at call time, also for a LazyFrame: the plan runs twice,
    once for the sums (now, with ``engine``) and once for the residuals (when the
    result is collected).

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame(
    ...     {"date": [1] * 6, "asset": list("abcdef"),
    ...      "sector": ["x", "x", "x", "y", "y", "y"],
    ...      "size": [1.0, 2.0, 3.0, 1.0, 2.0, 3.0],
    ...      "mom": [1.0, 3.0, 4.0, 0.0, 1.0, 5.0]}
    ... )
    >>> out = df.factors.neutralize("mom", against="size", industry="sector")
    >>> out["mom"].round(4).to_list()
    [0.3333, 0.3333, -0.6667, 0.0, -1.0, 1.0]
    """
    prep = _frame.prepare(
        frame, columns, by=by, date=date, asset=asset, weights=weights,
        suffix=suffix, check_keys=False, function="neutralize",
    )  # fmt: skip
    schema: pl.Schema = prep.schema
    columns_in: list[str] = prep.columns
    regressors: list[str] = _check_against(schema, prep.columns, against)
    model = _Model(
        ys=prep.columns,
        xs=regressors,
        industry=_validate.check_industry(
            schema, industry, [*columns_in, *_validate.as_list(against, name="against")]
        ),
        weights=weights,
        by=prep.by,
        tmp=_frame.temp_name(set(schema.names()), "nz_", prefix=True),
    )
    _validate.unique_keys(frame, check_keys, date=date, asset=asset)
    frame = _validate.no_negative(frame, check_keys, weights, rule=_NEGATIVE)
    frame = _validate.check_magnitude(frame, [*columns_in, *regressors], function="neutralize")
    lf = frame.lazy()
    stats = lf.group_by(model.cell).agg(_sums(model)).collect(engine=engine)
    if isinstance(frame, pl.LazyFrame):
        # The plan reports the values it turns null when collected (the eager call
        # below reports them at once): flag the present inputs before they are replaced.
        outputs: list[str] = prep.outputs
        taken = {*schema.names(), *outputs}
        had = {o: _frame.temp_name(taken, f"had{i}") for i, o in enumerate(outputs)}
        flagged = lf.with_columns(
            pl.col(c).cast(pl.Float64).is_finite().alias(had[o])
            for c, o in zip(columns_in, outputs, strict=True)
        )
        out = _residuals(flagged, _cell_table(stats, model), model, outputs)
        lost = {o: pl.col(h) & pl.col(o).is_null() for o, h in had.items()}
        return _frame.warn_lost_in_plan(out, lost, reason=_LOST).drop(had.values())
    out = _residuals(lf, _cell_table(stats, model), model, prep.outputs)
    result = out.collect(engine=engine)
    before = frame.select(pl.col(c).cast(pl.Float64) for c in prep.columns)
    _frame.warn_lost(before, result.select(prep.outputs), reason=_LOST)
    return result


@dataclass(frozen=True)
class _Model:
    """Validated names of one neutralization and the temporary column names it uses."""

    ys: list[str]
    xs: list[str]
    industry: str | None
    weights: str | None
    by: list[str]
    tmp: str

    @property
    def cell(self) -> list[str]:
        """Keys of the cells whose means are absorbed: the group, and the industry."""
        if self.industry is None or self.industry in self.by:
            return self.by
        return [*self.by, self.industry]

    @property
    def gid(self) -> str:
        return f"{self.tmp}g"

    def name(self, kind: str, m: int, *idx: int) -> str:
        """Temporary column ``kind`` of response ``m`` (``w`` weight, ``s`` sums, ...)."""
        return f"{self.tmp}{kind}{m}" + "".join(f"_{i}" for i in idx)

    def sample(self, y: str) -> pl.Expr:
        """Rows whose residual of ``y`` is defined: the response and all regressors present."""
        present = [clean(c).is_not_null() for c in [y, *self.xs]]
        if self.industry is not None:
            present.append(pl.col(self.industry).is_not_null())
        return pl.all_horizontal(present)

    def weight(self, y: str) -> pl.Expr:
        """Fit weight of each row for ``y``: 0 outside the sample or for unusable weights."""
        if self.weights is None:
            return pl.when(self.sample(y)).then(pl.lit(1.0)).otherwise(pl.lit(0.0))
        w = pl.col(self.weights).cast(pl.Float64)
        usable = self.sample(y) & w.is_finite() & (w > 0)
        return pl.when(usable).then(w).otherwise(pl.lit(0.0))


def _check_against(schema: pl.Schema, ys: list[str], against: ColumnNames | None) -> list[str]:
    xs = _validate.as_list(against, name="against")
    _validate.check_columns_exist(schema, xs, role="against column")
    _validate.check_numeric(schema, xs, role="against column")
    both = [c for c in xs if c in ys]
    if both:
        msg = (
            f"{both} are both in `columns` and in `against`; a column regressed on "
            f"itself has a zero residual. Remove them from one of the two."
        )
        raise ValueError(msg)
    return xs


def _sums(model: _Model) -> list[pl.Expr]:
    """Per-cell sums of w, w z and w z z' with z = (x..., y), for each response."""
    exprs = []
    p = len(model.xs) + 1
    for m, y in enumerate(model.ys):
        w = model.weight(y)
        z = [clean(c) for c in [*model.xs, y]]
        exprs.append(w.sum().alias(model.name("w", m)))
        exprs += [(w * z[i]).sum().alias(model.name("s", m, i)) for i in range(p)]
        exprs += [
            (w * z[i] * z[j]).sum().alias(model.name("q", m, i, j))
            for i, j in _solve.symmetric_pairs(p)
        ]
    return exprs


def _cell_table(stats: pl.DataFrame, model: _Model) -> pl.DataFrame:
    """Cell keys, weighted cell means ``a{m}_{i}`` and group coefficients ``b{m}_{k}``."""
    groups = (
        stats.group_by(model.by, maintain_order=True)
        .agg(pl.col(model.name("w", m)).sum() for m in range(len(model.ys)))
        .with_row_index(model.gid)
    )
    stats = stats.join(
        groups.select(*model.by, model.gid), on=model.by, nulls_equal=True,
        maintain_order="left",
    )  # fmt: skip
    means = [
        pl.when(pl.col(model.name("w", m)) > 0)
        .then(pl.col(model.name("s", m, i)) / pl.col(model.name("w", m)))
        .alias(model.name("a", m, i))
        for m in range(len(model.ys))
        for i in range(len(model.xs) + 1)
    ]
    table = stats.select(*model.cell, model.gid, *means)
    if model.xs:
        table = table.join(_fit(stats, groups, model), on=model.gid, maintain_order="left")
    return table.drop(model.gid)


def _fit(stats: pl.DataFrame, groups: pl.DataFrame, model: _Model) -> pl.DataFrame:
    """Coefficients ``b{m}_{k}`` per group id; warns about rank-deficient groups."""
    k, p = len(model.xs), len(model.xs) + 1
    gid = stats[model.gid].to_numpy()
    frames = [groups.select(model.gid)]
    deficient = []
    for m, y in enumerate(model.ys):
        sol = _solve.solve_absorbed(
            stats[model.name("w", m)].to_numpy(),
            stats.select(model.name("s", m, i) for i in range(p)).to_numpy(),
            stats.select(model.name("q", m, i, j) for i, j in _solve.symmetric_pairs(p)).to_numpy(),
            gid,
            n_groups=groups.height,
            n_regressors=k,
        )
        names = [model.name("b", m, i) for i in range(k)]
        frames.append(pl.DataFrame(sol.beta[:, :, 0], schema=names, orient="row").fill_nan(None))
        bad = pl.Series(sol.rank_deficient) & (groups[model.name("w", m)] > 0)
        if bad.any():
            deficient.append((y, groups.filter(bad).select(model.by)))
    _warn_deficient(deficient, model, groups.height)
    return pl.concat(frames, how="horizontal")


def _warn_deficient(
    deficient: list[tuple[str, pl.DataFrame]], model: _Model, n_groups: int
) -> None:
    if not deficient:
        return
    parts = [
        f"{y!r} in {keys.height} of {n_groups} groups (e.g. {keys.row(0, named=True)})"
        for y, keys in deficient
    ]
    what = f"{model.xs}" + (f" and the {model.industry!r} dummies" if model.industry else "")
    msg = (
        f"neutralize: the regression on {what} is rank deficient for "
        + "; ".join(parts)
        + ": regressors are collinear, constant within industries, or outnumber the rows."
        " Residuals use the minimum-norm least-squares fit."
    )
    warnings.warn(msg, RankDeficientWarning, stacklevel=_frame.user_stacklevel())


def _residuals(
    lf: pl.LazyFrame, table: pl.DataFrame, model: _Model, outputs: list[str]
) -> pl.LazyFrame:
    """Join the cell table onto the panel (keeping row order) and compute residuals."""
    k = len(model.xs)
    built = []
    for m, (y, out) in enumerate(zip(model.ys, outputs, strict=True)):
        resid = clean(y) - pl.col(model.name("a", m, k))
        for i, x in enumerate(model.xs):
            # Chained `+`/`-` (not sum_horizontal, which skips nulls) keeps nulls null.
            resid = resid - pl.col(model.name("b", m, i)) * (
                clean(x) - pl.col(model.name("a", m, i))
            )
        built.append(resid.alias(out))
    temporary = [c for c in table.columns if c not in model.cell]
    joined = lf.join(
        table.lazy(), on=model.cell, how="left", nulls_equal=True, maintain_order="left"
    )
    return joined.with_columns(built).drop(temporary)
