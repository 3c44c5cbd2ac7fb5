r"""Cross-sectional standardization of descriptors on a panel.

Every function takes a long panel (one row per ``(date, asset)``), lazy or eager,
and returns the same kind of frame with **the same rows in the same order** and the
named columns replaced (or added, with ``suffix=``). Statistics are computed per
``by`` group, the date by default, from pure Polars expressions, so the plans run on
``engine="streaming"``. Missing values (null, NaN, +-inf) are excluded from the
statistics and give null outputs; no row is ever dropped.

The functions are also available as ``frame.factors.<name>(...)`` and, as
expression builders, in :mod:`polars_factors.exprs`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import polars as pl

from polars_factors import _frame, _validate
from polars_factors._neutralize import neutralize
from polars_factors._validate import check_choice, no_negative
from polars_factors.exprs._core import clean
from polars_factors.exprs._standardize import (
    check_fractions,
    check_min_count,
    check_n_sigma,
    check_winsorize_options,
    fill_core,
    quantile_clip,
    rank_core,
    sigma_clip,
    support_count,
    winsorize_core,
    zscore_core,
)
from polars_factors.typing import (
    ColumnNames,
    EngineType,
    FillStrategy,
    FrameT,
    StdWeights,
    StyleSpec,
    WinsorizeMethod,
)

__all__ = [
    "combine",
    "fill_missing",
    "neutralize",
    "rank",
    "standardize",
    "winsorize",
    "zscore",
]

_ZERO_SPREAD = (
    "their group has zero spread, a single value or no positive weight, or values beyond "
    "the magnitudes float64 can square (|x| above 1e145 or below 1e-140)"
)

#: The rule of negative weights, as in the regressions: an error, opt-out check_keys=False.
NEGATIVE_WEIGHTS = (
    "weights must be >= 0 (null, NaN, infinite and zero weights count as zero). Fix or "
    "filter them, e.g. pl.col(w).clip(lower_bound=0), or pass check_keys=False to skip the "
    "check (negative weights then count as zero)."
)


def winsorize(
    frame: FrameT,
    columns: ColumnNames,
    *,
    method: WinsorizeMethod = "quantile",
    lower: float = 0.01,
    upper: float = 0.99,
    n_sigma: float = 3.0,
    weights: str | None = None,
    std_weights: StdWeights = "equal",
    by: ColumnNames | None = None,
    date: str = "date",
    asset: str = "asset",
    suffix: str | None = None,
    check_keys: bool | None = None,
    engine: EngineType = "auto",
) -> FrameT:
    r"""Clip outliers of each column at per-date bounds.

    Parameters
    ----------
    frame
        Panel, one row per ``(date, asset)``; a LazyFrame gives a LazyFrame.
    columns
        Column name(s) to winsorize (numeric).
    method
        ``"quantile"`` clips at the per-group ``lower``/``upper`` quantiles with
        linear interpolation (numpy's default). ``"sigma"`` clips at
        :math:`\bar x \pm n_\sigma s` with the population std :math:`s` (weighted mean
        when ``weights`` are given; weighted std with ``std_weights="weighted"``).
        ``"mad"`` clips at :math:`m \pm n_\sigma \cdot 1.4826 \cdot
        \operatorname{median}|x - m|` with :math:`m` the median.
    lower, upper
        Quantile fractions for ``"quantile"``; ``0 <= lower < upper <= 1``.
    n_sigma
        Band half-width for ``"sigma"`` and ``"mad"``.
    weights
        Column of weights for the ``"sigma"`` mean (e.g. market cap); null, NaN and
        infinite weights count as zero. A negative weight raises
        :class:`~polars_factors.exceptions.WeightError` (checked as ``check_keys``
        says; with ``check_keys=False`` it counts as zero).
    std_weights
        ``"equal"`` or ``"weighted"`` std for ``"sigma"``.
    by
        Group keys; default the date column. E.g. ``["date", "sector"]``.
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
        Polars engine that collects a DataFrame input: ``"auto"`` (default) is
        Polars' default, the streaming engine; ``"in-memory"``, ``"gpu"`` (with
        cudf-polars). A LazyFrame is returned as a plan, whatever ``engine``.

    Returns
    -------
    DataFrame or LazyFrame
        Same rows and order; the winsorized columns as Float64. A group with zero
        spread is left unclipped.

    Raises
    ------
    ColumnNotFoundError, SchemaError, DuplicateKeyError, WeightError, ValueError

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame(
    ...     {"date": [1] * 5, "asset": list("abcde"), "x": [1.0, 2.0, 3.0, 4.0, 100.0]}
    ... )
    >>> df.factors.winsorize("x", method="mad", n_sigma=1.0)["x"].to_list()
    [1.5174, 2.0, 3.0, 4.0, 4.4826]
    """
    check_winsorize_options(
        method, lower=lower, upper=upper, n_sigma=n_sigma, weights=weights, std_weights=std_weights
    )
    prep = _frame.prepare(
        frame, columns, by=by, date=date, asset=asset, weights=weights,
        suffix=suffix, check_keys=check_keys, function="winsorize",
    )  # fmt: skip
    frame = no_negative(frame, check_keys, weights, rule=NEGATIVE_WEIGHTS)
    return _frame.transform(
        frame,
        prep,
        lambda x, w: winsorize_core(
            x,
            w,
            method=method,
            lower=lower,
            upper=upper,
            n_sigma=n_sigma,
            std_weights=std_weights,
        ),
        weights=weights,
        reason="method='sigma': values beyond the magnitudes float64 can square "
        "(|x| above 1e145 or below 1e-140)",
        engine=engine,
    )


def zscore(
    frame: FrameT,
    columns: ColumnNames,
    *,
    weights: str | None = None,
    std_weights: StdWeights = "equal",
    by: ColumnNames | None = None,
    date: str = "date",
    asset: str = "asset",
    suffix: str | None = None,
    check_keys: bool | None = None,
    engine: EngineType = "auto",
) -> FrameT:
    r"""Cross-sectional z-scores: weighted mean 0, (equal- or weighted) std 1 per date.

    Parameters
    ----------
    frame
        Panel, one row per ``(date, asset)``.
    columns
        Column name(s) to standardize.
    weights
        Column of mean weights, e.g. market cap (Barra USE4: cap-weighted mean 0).
        Null, NaN and infinite weights count as zero weight; such rows still get a
        z-score. Negative weights raise, as in :func:`winsorize`.
    std_weights
        ``"equal"``: divide by the equal-weighted population std (USE4);
        ``"weighted"``: by the weighted population std around the weighted mean.
    by, date, asset, suffix, check_keys, engine
        As in :func:`winsorize`.

    Returns
    -------
    DataFrame or LazyFrame
        Same rows and order. Null where the input is missing, and for every row of a
        group with zero spread or no positive weight (on a DataFrame a
        :class:`~polars_factors.exceptions.DataLossWarning` says how many).

    Notes
    -----
    .. math::

        z_i = \frac{x_i - \sum_j w_j x_j / \sum_j w_j}{s},

    with :math:`s = \sqrt{\tfrac1n\sum_j (x_j - \bar x)^2}` (``"equal"``) or
    :math:`s = \sqrt{\sum_j w_j (x_j - \bar x_w)^2 / \sum_j w_j}` (``"weighted"``),
    sums over the non-missing rows of the group. Population std (ddof=0).

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame(
    ...     {"date": [1, 1, 1], "asset": ["a", "b", "c"], "x": [1.0, 2.0, 6.0],
    ...      "mcap": [1.0, 1.0, 2.0]}
    ... )
    >>> df.factors.zscore("x", weights="mcap")["x"].round(4).to_list()
    [-1.273, -0.8101, 1.0415]
    """
    check_choice("std_weights", std_weights, ("equal", "weighted"))
    prep = _frame.prepare(
        frame, columns, by=by, date=date, asset=asset, weights=weights,
        suffix=suffix, check_keys=check_keys, function="zscore",
    )  # fmt: skip
    frame = no_negative(frame, check_keys, weights, rule=NEGATIVE_WEIGHTS)
    return _frame.transform(
        frame,
        prep,
        lambda x, w: zscore_core(x, w, std_weights),
        weights=weights,
        reason=_ZERO_SPREAD,
        engine=engine,
    )


def rank(
    frame: FrameT,
    columns: ColumnNames,
    *,
    gaussian: bool = False,
    by: ColumnNames | None = None,
    date: str = "date",
    asset: str = "asset",
    suffix: str | None = None,
    check_keys: bool | None = None,
    engine: EngineType = "auto",
) -> FrameT:
    r"""Cross-sectional percentile ranks in (0, 1), optionally mapped to normal scores.

    Parameters
    ----------
    frame
        Panel, one row per ``(date, asset)``.
    columns
        Column name(s) to rank.
    gaussian
        Map each percentile :math:`p` to :math:`\Phi^{-1}(p)` (van der Waerden
        scores), computed in Polars with Wichura's AS 241 (relative error ~1e-16).
    by, date, asset, suffix, check_keys, engine
        As in :func:`winsorize`.

    Returns
    -------
    DataFrame or LazyFrame
        :math:`p_i = r_i / (n + 1)` with :math:`r_i` the average rank of ties
        (1 = smallest) and :math:`n` the number of non-missing values in the group.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({"date": [1, 1, 1], "asset": ["a", "b", "c"], "x": [5.0, 1.0, 3.0]})
    >>> df.factors.rank("x", gaussian=True)["x"].round(6).to_list()
    [0.67449, -0.67449, 0.0]
    """
    prep = _frame.prepare(
        frame, columns, by=by, date=date, asset=asset, suffix=suffix,
        check_keys=check_keys, function="rank",
    )  # fmt: skip
    return _frame.transform(
        frame,
        prep,
        lambda x, _: rank_core(x, gaussian=gaussian),
        weights=None,
        reason="unexpected",
        engine=engine,
    )


def fill_missing(
    frame: FrameT,
    columns: ColumnNames,
    *,
    strategy: FillStrategy = "median",
    by: ColumnNames | None = None,
    date: str = "date",
    asset: str = "asset",
    suffix: str | None = None,
    check_keys: bool | None = None,
    engine: EngineType = "auto",
) -> FrameT:
    """Fill missing values with the group's median, mean or zero.

    Parameters
    ----------
    frame
        Panel, one row per ``(date, asset)``.
    columns
        Column name(s) to fill. Null, NaN and +-inf count as missing.
    strategy
        ``"median"``, ``"mean"`` or ``"zero"``. A group with no value stays null.
    by
        Group keys, e.g. ``["date", "sector"]`` fills with that day's sector median.
        Rows whose group key is null form a group of their own (Polars semantics).
    date, asset, suffix, check_keys, engine
        As in :func:`winsorize`.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame(
    ...     {"date": [1, 1, 1, 1], "asset": list("abcd"), "sector": ["x", "x", "x", "y"],
    ...      "bm": [1.0, 2.0, None, None]}
    ... )
    >>> df.factors.fill_missing("bm", by=["date", "sector"])["bm"].to_list()
    [1.0, 2.0, 1.5, None]
    """
    check_choice("strategy", strategy, ("median", "mean", "zero"))
    prep = _frame.prepare(
        frame, columns, by=by, date=date, asset=asset, suffix=suffix,
        check_keys=check_keys, function="fill_missing",
    )  # fmt: skip
    return _frame.transform(
        frame,
        prep,
        lambda x, _: fill_core(x, strategy),
        weights=None,
        reason="unexpected",
        engine=engine,
    )


def standardize(
    frame: FrameT,
    columns: ColumnNames,
    *,
    weights: str | None = None,
    lower: float = 0.001,
    upper: float = 0.999,
    n_sigma: float = 3.0,
    std_weights: StdWeights = "equal",
    min_count: int = 1,
    by: ColumnNames | None = None,
    date: str = "date",
    asset: str = "asset",
    suffix: str | None = None,
    check_keys: bool | None = None,
    engine: EngineType = "auto",
) -> FrameT:
    r"""Risk-model descriptor standardization in one call (winsorize twice, then z-score).

    Per group (date by default), for each column:

    1. clip at the equal-weighted ``lower``/``upper`` quantiles (linear interpolation);
    2. clip at :math:`\bar x_w \pm n_\sigma s` (weighted mean, ``std_weights`` std;
       unclipped when the spread is zero);
    3. z-score: :math:`(x - \bar x_w) / s` recomputed on the clipped values;
    4. a group with fewer than ``min_count`` rows having both a value and a
       weight (not null, not NaN) gives null for all its rows.

    Parameters
    ----------
    frame
        Panel, one row per ``(date, asset)``.
    columns
        Descriptor column(s).
    weights
        Column of weights (market cap); null, NaN and infinite weights count as zero
        in the means and stds; negative weights raise, as in :func:`winsorize`.
    lower, upper
        Quantiles of the first clip.
    n_sigma
        Half-width of the second clip, in stds.
    std_weights
        ``"equal"`` (USE4: cap-weighted mean 0, equal-weighted std 1) or
        ``"weighted"`` (cap-weighted mean 0 and cap-weighted std 1).
    min_count
        Minimum rows per group with a value and a weight (every row when no weights).
    by, date, asset, suffix, check_keys, engine
        As in :func:`winsorize`.

    Notes
    -----
    With ``weights=<market cap>, std_weights="weighted", lower=0.001, upper=0.999,
    n_sigma=3, min_count=25`` this reproduces the hsr risk-model notebook's
    ``winsorize_and_standardize_descriptor`` (tested to 1e-12 against a pandas
    transcription of it).

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame(
    ...     {"date": [1] * 4, "asset": list("abcd"), "x": [1.0, 2.0, 3.0, 40.0],
    ...      "mcap": [4.0, 3.0, 2.0, 1.0]}
    ... )
    >>> out = df.factors.standardize("x", weights="mcap", lower=0.0, upper=1.0, n_sigma=1.5)
    >>> out["x"].round(4).to_list()
    [-0.2957, -0.2143, -0.1328, 2.0913]
    """
    check_fractions(lower, upper)
    check_n_sigma(n_sigma)
    check_min_count(min_count)
    check_choice("std_weights", std_weights, ("equal", "weighted"))
    prep = _frame.prepare(
        frame, columns, by=by, date=date, asset=asset, weights=weights,
        suffix=suffix, check_keys=check_keys, function="standardize",
    )  # fmt: skip
    frame = no_negative(frame, check_keys, weights, rule=NEGATIVE_WEIGHTS)

    def final(x: pl.Expr, w: pl.Expr | None) -> pl.Expr:
        # Clipping keeps every present value, so the support count is the input's.
        return pl.when(support_count(x, weights) >= min_count).then(zscore_core(x, w, std_weights))

    reason = _ZERO_SPREAD + (f", or fewer than min_count={min_count} rows" if min_count > 1 else "")
    return _frame.transform(
        frame,
        prep,
        lambda x, _: quantile_clip(x, lower, upper),
        lambda x, w: sigma_clip(x, w, n_sigma, std_weights),
        final,
        weights=weights,
        reason=reason,
        engine=engine,
    )


def _style_weights(styles: StyleSpec) -> dict[str, dict[str, float]]:
    if not isinstance(styles, Mapping) or not styles:
        msg = "`styles` must be a non-empty mapping {style: [descriptors] or {descriptor: weight}}."
        raise TypeError(msg)
    out: dict[str, dict[str, float]] = {}
    for style, spec in styles.items():
        if isinstance(spec, Mapping):
            pairs = {str(k): float(v) for k, v in spec.items()}
        elif isinstance(spec, Sequence) and not isinstance(spec, str):
            pairs = dict.fromkeys((str(c) for c in spec), 1.0)
        else:
            msg = (
                f"style {style!r}: expected a list of columns or a {{column: weight}} "
                f"mapping; got {spec!r}."
            )
            raise TypeError(msg)
        if not pairs:
            msg = f"style {style!r} has no descriptors."
            raise ValueError(msg)
        bad = {k: v for k, v in pairs.items() if not v > 0 or v == float("inf")}
        if bad:
            msg = f"style {style!r}: descriptor weights must be positive and finite; got {bad}."
            raise ValueError(msg)
        out[str(style)] = pairs
    return out


def combine(
    frame: FrameT,
    styles: StyleSpec,
    *,
    weights: str | None = None,
    std_weights: StdWeights = "equal",
    by: ColumnNames | None = None,
    date: str = "date",
    asset: str = "asset",
    check_keys: bool | None = None,
    engine: EngineType = "auto",
) -> FrameT:
    r"""Average descriptors into styles, then re-standardize each style.

    Parameters
    ----------
    frame
        Panel, one row per ``(date, asset)``, holding standardized descriptors.
    styles
        ``{"value": ["bp", "ey"]}`` (equal descriptor weights) or
        ``{"value": {"bp": 0.7, "ey": 0.3}}``. One column per style is added (or
        replaced).
    weights
        Column of z-score mean weights (market cap), as in :func:`zscore`.
    std_weights
        As in :func:`zscore`.
    by, date, asset, check_keys, engine
        As in :func:`winsorize`.

    Returns
    -------
    DataFrame or LazyFrame
        Same rows and order, plus one Float64 column per style: the weighted average
        of the row's available descriptors (missing ones are skipped and the
        descriptor weights renormalized), z-scored per group. Null where a row has
        no descriptor.

    Notes
    -----
    .. math::

        s_i = \operatorname{zscore}\Big(\frac{\sum_{d \in A_i} a_d x_{id}}
        {\sum_{d \in A_i} a_d}\Big)

    where :math:`A_i` are the descriptors present for row :math:`i` and :math:`a_d`
    the descriptor weights.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame(
    ...     {"date": [1, 1, 1], "asset": list("abc"), "bp": [1.0, -1.0, 0.0],
    ...      "ey": [1.0, None, -1.0]}
    ... )
    >>> df.factors.combine({"value": ["bp", "ey"]})["value"].round(4).to_list()
    [1.3728, -0.9806, -0.3922]
    """
    spec = _style_weights(styles)
    check_choice("std_weights", std_weights, ("equal", "weighted"))
    descriptors = sorted({c for pairs in spec.values() for c in pairs})
    prep = _frame.prepare(
        frame, descriptors, by=by, date=date, asset=asset, weights=weights,
        check_keys=check_keys,
    )  # fmt: skip
    _validate.check_new_columns(
        prep.schema, spec, function="combine",
        fix="Name the style differently, or drop the old column first (frame.drop(...)).",
    )  # fmt: skip
    frame = no_negative(frame, check_keys, weights, rule=NEGATIVE_WEIGHTS)
    raw = {style: _weighted_average(pairs) for style, pairs in spec.items()}
    step = dataclasses.replace(prep, outputs=list(raw))
    return _frame.transform(
        frame,
        step,
        lambda x, w: zscore_core(x, w, std_weights),
        weights=weights,
        reason=_ZERO_SPREAD,
        inputs=list(raw.values()),
        engine=engine,
    )


def _weighted_average(pairs: Mapping[str, float]) -> pl.Expr:
    """Row-wise weighted mean of the available descriptors (null if none)."""
    num = pl.sum_horizontal([clean(c) * a for c, a in pairs.items()])
    den = pl.sum_horizontal(
        [pl.when(clean(c).is_not_null()).then(pl.lit(a)) for c, a in pairs.items()]
    )
    return pl.when(den > 0).then(num / den)
