"""Exposure plots: bar and radar charts of one asset's betas, and rolling betas."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import polars as pl

from polars_factors import _validate
from polars_factors.exceptions import ColumnNotFoundError
from polars_factors.plot import _betas, _common

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.projections.polar import PolarAxes

__all__ = ["exposure_bar", "exposure_radar", "rolling_betas"]


def _check_multiplier(std_errors: float | None) -> float:
    if std_errors is None:
        return 0.0
    if isinstance(std_errors, bool) or not isinstance(std_errors, (int, float)):
        msg = f"`std_errors` must be a number or None; got {std_errors!r}."
        raise TypeError(msg)
    if not std_errors >= 0:
        msg = f"`std_errors` must be >= 0; got {std_errors}."
        raise ValueError(msg)
    return float(std_errors)


def _suffix(label: str | None) -> str:
    return f": {label}" if label is not None else ""


def exposure_bar(
    betas: pl.DataFrame | pl.LazyFrame,
    *,
    select: str | None = None,
    factors: str | Sequence[str] | None = None,
    std_errors: float | None = 2.0,
    asset: str = "asset",
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Draw one asset's factor exposures as a bar chart with standard-error whiskers.

    Parameters
    ----------
    betas
        Full-sample :func:`polars_factors.betas` output (``asset``, ``beta_<factor>``,
        ``beta_<factor>_std_error``, ...), or a long frame with ``factor`` and
        ``exposure`` columns (optionally ``std_error`` and the asset column). Lazy or
        eager.
    select
        The asset to draw (a value of the asset column); needed when the frame holds
        several.
    factors
        The factors to draw, in this order. Default: all, in the frame's order.
    std_errors
        Whiskers of ``std_errors`` standard errors either side of each bar (where the
        frame has them); ``None`` or 0 for none.
    asset
        Name of the asset column.
    title
        Figure title; ``None`` for a default, ``""`` for none.
    figsize
        Figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        One bar per factor.

    Raises
    ------
    MissingDependencyError
        matplotlib is not installed.
    ColumnNotFoundError
        No ``beta_<factor>`` (or ``factor``/``exposure``) columns, or an unknown factor.
    UnknownAssetError
        ``select`` is not in the frame.
    DuplicateKeyError
        Several assets and no ``select``, or several rows for the asset (a rolling fit).

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> betas = pl.DataFrame({"asset": ["a"], "beta_mkt": [1.1], "beta_smb": [-0.3]})
    >>> fig = pf.plot.exposure_bar(betas)
    >>> [round(float(bar.get_height()), 2) for bar in fig.axes[0].patches]
    [1.1, -0.3]
    """
    _common.require_matplotlib()
    k = _check_multiplier(std_errors)
    exp = _betas.exposures(betas, select=select, factors=factors, asset=asset)
    width = max(4.0, 1.0 + 0.7 * len(exp.factors))
    fig, (ax,) = _common.new_figure(figsize, (width, 4.0))
    colors = [_common.color(0) if v >= 0 else _common.color(3) for v in exp.values]
    has_errors = k > 0 and any(not math.isnan(e) for e in exp.std_errors)
    ax.bar(
        exp.factors,
        exp.values,
        color=colors,
        yerr=[k * e for e in exp.std_errors] if has_errors else None,
        capsize=4 if has_errors else 0,
        error_kw={"elinewidth": 1.2, "ecolor": _common.NEUTRAL},
    )
    ax.axhline(0.0, color=_common.NEUTRAL, linewidth=0.8)
    ax.set_ylabel("exposure (beta)")
    if has_errors:
        ax.set_xlabel(f"whiskers: \u00b1{k:g} standard errors")
    _common.style(ax)
    return _common.finish(fig, title, f"Factor exposures{_suffix(exp.asset)}")


def exposure_radar(
    betas: pl.DataFrame | pl.LazyFrame,
    *,
    select: str | None = None,
    factors: str | Sequence[str] | None = None,
    asset: str = "asset",
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Draw one asset's factor exposures on a radar (polar) chart.

    Each factor is a spoke; the radius is the exposure. The radial axis starts below
    the smallest exposure, so negative exposures lie inside the dashed zero circle.
    A radar chart reads best with three factors or more.

    Parameters
    ----------
    betas
        As in :func:`exposure_bar`.
    select, factors, asset, title, figsize
        As in :func:`exposure_bar`.

    Returns
    -------
    matplotlib.figure.Figure
        One polar axes; its first line is the exposure polygon (closed: the first
        factor repeated at the end).

    Raises
    ------
    MissingDependencyError, ColumnNotFoundError, UnknownAssetError, DuplicateKeyError
        As in :func:`exposure_bar`.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> betas = pl.DataFrame(
    ...     {"factor": ["mkt", "mom", "vol"], "exposure": [1.0, 0.2, -0.4]}
    ... )
    >>> fig = pf.plot.exposure_radar(betas)
    >>> fig.axes[0].name, fig.axes[0].lines[0].get_ydata().tolist()
    ('polar', [1.0, 0.2, -0.4, 1.0])
    """
    _common.require_matplotlib()
    exp = _betas.exposures(betas, select=select, factors=factors, asset=asset)
    n = len(exp.factors)
    angles = [2.0 * math.pi * i / n for i in range(n)]
    fig, (axes,) = _common.new_figure(figsize, (5.0, 5.0), subplot_kw={"projection": "polar"})
    ax = cast("PolarAxes", axes)
    finite = [v for v in exp.values if not math.isnan(v)] or [0.0]
    low, high = min(*finite, 0.0), max(*finite, 0.0)
    pad = 0.15 * (high - low) or 0.5
    ax.plot(
        [*angles, angles[0]],
        [*exp.values, exp.values[0]],
        color=_common.color(0),
        linewidth=2,
        marker="o",
    )
    ax.fill([*angles, angles[0]], [*exp.values, exp.values[0]], color=_common.color(0), alpha=0.2)
    full = [2.0 * math.pi * i / 180 for i in range(181)]
    ax.plot(full, [0.0] * len(full), color=_common.NEUTRAL, linewidth=0.8, linestyle="--")
    ax.set_ylim(low - pad, high + pad)
    ax.set_xticks(angles, exp.factors)
    ax.set_rlabel_position(90.0 / n)  # radial labels between the first two spokes
    ax.grid(visible=True, color="#dddddd")
    return _common.finish(fig, title, f"Factor exposures{_suffix(exp.asset)}")


def rolling_betas(
    betas: pl.DataFrame | pl.LazyFrame,
    *,
    select: str | None = None,
    factors: str | Sequence[str] | None = None,
    std_errors: float | None = 2.0,
    date: str = "date",
    asset: str = "asset",
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Draw an asset's rolling (or expanding) betas over time, one line per factor.

    Parameters
    ----------
    betas
        Rolling :func:`polars_factors.betas` output (``window=`` an int, a duration or
        ``"expanding"``): ``asset``, ``date``, ``beta_<factor>`` and, for the bands,
        ``beta_<factor>_std_error``. Lazy or eager. Windows without an estimate
        (null betas) leave gaps.
    select
        The asset to draw (a value of the asset column); needed when the frame holds
        several.
    factors
        The factors to draw. Default: all.
    std_errors
        Shade ``std_errors`` standard errors either side of each line (where the
        frame has them); ``None`` or 0 for no bands.
    date, asset
        Names of the key columns.
    title, figsize
        As in :func:`exposure_bar`.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, one line per factor, in factor order, over the dates in order.

    Raises
    ------
    MissingDependencyError
        matplotlib is not installed.
    ColumnNotFoundError
        No ``date`` or ``beta_<factor>`` columns, or an unknown factor.
    UnknownAssetError
        ``select`` is not in the frame.
    DuplicateKeyError
        Several assets and no ``select``, or a date more than once for the asset.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> betas = pl.DataFrame({"asset": ["a"] * 3, "date": [1, 2, 3],
    ...                       "beta_mkt": [None, 1.0, 1.2], "beta_smb": [None, 0.1, 0.0]})
    >>> fig = pf.plot.rolling_betas(betas)
    >>> [line.get_label() for line in fig.axes[0].lines if not line.get_label().startswith("_")]
    ['mkt', 'smb']
    """
    _common.require_matplotlib()
    k = _check_multiplier(std_errors)
    frame = _common.as_frame(betas, "betas")
    _validate.check_columns_exist(frame.schema, [date], role="date column")
    cols = _betas.beta_columns(frame.columns)
    if not cols:
        msg = (
            "`betas` has no beta_<factor> column; pass the output of pf.betas with a "
            f"window. Its columns are {frame.columns[:12]}."
        )
        raise ColumnNotFoundError(msg)
    chosen = _betas.select_factors(list(cols), factors)
    _validate.check_numeric(frame.schema, [cols[f] for f in chosen], role="beta column")
    rows, label = _common.pick_asset(frame, select, asset)
    rows = rows.sort(date, maintain_order=True)
    _validate.check_unique(
        rows, date, what=f"`betas`{' for ' + repr(label) if label is not None else ''}"
    )
    dates = rows.get_column(date).to_list()
    fig, (ax,) = _common.new_figure(figsize, (8.0, 4.0))
    for i, factor in enumerate(chosen):
        beta = _common.values(rows.get_column(cols[factor]))
        ax.plot(dates, beta, color=_common.color(i), linewidth=1.5, label=factor)
        se_col = cols[factor] + "_std_error"
        if k > 0 and se_col in rows.columns:
            se = _common.values(rows.get_column(se_col))
            lower = [b - k * s for b, s in zip(beta, se, strict=True)]
            upper = [b + k * s for b, s in zip(beta, se, strict=True)]
            ax.fill_between(dates, lower, upper, color=_common.color(i), alpha=0.15, linewidth=0)
    ax.axhline(0.0, color=_common.NEUTRAL, linewidth=0.8)
    ax.set_ylabel("beta")
    ax.legend(loc="best", frameon=False, ncols=min(len(chosen), 4))
    _common.style(ax)
    dated = rows.schema[date].is_temporal()
    return _common.finish(fig, title, f"Rolling betas{_suffix(label)}", dates=dated)
