"""Shared plumbing of the plots: the lazy matplotlib import, input checks and styling.

matplotlib is imported when a figure is made, not when :mod:`polars_factors.plot` is
imported, so the package imports without the ``plot`` extra. Figures are built with
:class:`matplotlib.figure.Figure` directly (no pyplot), so nothing touches global
state or opens a window.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from polars_factors import _validate
from polars_factors.exceptions import (
    ColumnNotFoundError,
    DuplicateKeyError,
    MissingDependencyError,
    UnknownAssetError,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "COLORS",
    "MISSING",
    "as_frame",
    "check_int",
    "color",
    "compound",
    "finish",
    "new_figure",
    "percent_axis",
    "pick",
    "pick_asset",
    "require_matplotlib",
    "style",
    "values",
]

#: Colours of successive series (matplotlib's ``tab10``, as hex strings).
COLORS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
NEUTRAL = "#4d4d4d"
_INSTALL = "pip install 'polars_factors[plot]'"
MISSING = f"polars_factors.plot needs matplotlib, which is not installed: {_INSTALL}"


def require_matplotlib() -> None:
    """Raise :class:`MissingDependencyError` when matplotlib cannot be imported.

    The first call of every public plot function, before it checks its inputs or
    imports anything from matplotlib (``find_spec`` looks for it without importing
    it; a module blocked in ``sys.modules`` counts as absent).
    """
    try:
        found = importlib.util.find_spec("matplotlib") is not None
    except (ImportError, ValueError):  # a broken or half-imported package
        found = False
    if not found:
        raise MissingDependencyError(MISSING)


def color(i: int) -> str:
    """Colour of the ``i``-th series (cycling)."""
    return COLORS[i % len(COLORS)]


def new_figure(
    figsize: tuple[float, float] | None, default: tuple[float, float], **subplots: Any
) -> tuple[Figure, list[Axes]]:
    """Make a constrained-layout figure and its axes (a flat list).

    ``subplots`` are passed to :meth:`Figure.subplots` (``nrows``, ``ncols``,
    ``sharex``, ``subplot_kw``).
    """
    try:
        from matplotlib.figure import Figure  # noqa: PLC0415
    except ImportError as err:
        raise MissingDependencyError(MISSING) from err
    fig = Figure(figsize=figsize or default, layout="constrained")
    axes = fig.subplots(squeeze=False, **subplots)
    return fig, [ax for row in axes for ax in row]


def style(ax: Axes, *, grid: Literal["x", "y", "both"] = "y") -> None:
    """Light grid, no top and right spines."""
    ax.grid(visible=True, axis=grid, color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def finish(fig: Figure, title: str | None, default: str, *, dates: bool = False) -> Figure:
    """Set the title (``None``: ``default``; ``""``: none) and rotate date labels."""
    text = default if title is None else title
    if text:
        fig.suptitle(text)
    if dates:
        for ax in fig.axes:
            for label in ax.get_xticklabels():
                label.set_rotation(30)
                label.set_horizontalalignment("right")
    return fig


def percent_axis(ax: Axes, axis: Literal["x", "y"] = "y") -> None:
    """Show the values of one axis as percentages (the data are fractions)."""
    try:
        from matplotlib.ticker import PercentFormatter  # noqa: PLC0415
    except ImportError as err:
        raise MissingDependencyError(MISSING) from err
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(PercentFormatter(xmax=1.0))


def as_frame(obj: object, name: str) -> pl.DataFrame:
    """Collect a LazyFrame; reject anything that is not a Polars frame."""
    if isinstance(obj, pl.LazyFrame):
        return obj.collect()
    if isinstance(obj, pl.DataFrame):
        return obj
    msg = f"`{name}` must be a polars DataFrame or LazyFrame; got {type(obj).__name__}."
    raise TypeError(msg)


def check_int(name: str, value: object, minimum: int) -> int:
    """Return ``value`` if it is an int >= ``minimum``; raise ``TypeError``/``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"`{name}` must be an int; got {value!r}."
        raise TypeError(msg)
    if value < minimum:
        msg = f"`{name}` must be at least {minimum}; got {value}."
        raise ValueError(msg)
    return value


def pick(
    frame: pl.DataFrame,
    column: str,
    value: object | None,
    *,
    option: str,
    what: str,
    unknown: type[KeyError] = ColumnNotFoundError,
) -> tuple[pl.DataFrame, object | None]:
    """Keep the rows where ``column == value``, or require a single value when ``None``.

    Returns the rows and the value they hold (``None`` when ``column`` is absent and
    no value was asked for). A ``value`` not in the column raises ``unknown``.
    """
    if column not in frame.columns:
        if value is not None:
            _validate.check_columns_exist(frame.schema, [column], role=f"{what} column")
        return frame, None
    present = frame.get_column(column).unique(maintain_order=True)
    if value is None:
        if present.len() > 1:
            shown = ", ".join(repr(v) for v in present.head(5).to_list())
            more = f", ... ({present.len()} in all)" if present.len() > 5 else ""
            msg = (
                f"the frame holds {present.len()} {what}s ({shown}{more}) and the plot shows "
                f"one; pass {option}= to choose it, e.g. {option}={present[0]!r}."
            )
            raise DuplicateKeyError(msg)
        return frame, present[0] if present.len() else None
    if value not in present.to_list():
        shown = ", ".join(repr(v) for v in present.head(12).to_list())
        msg = f"{what} {value!r} is not in the frame; it holds {shown}"
        msg += " ..." if present.len() > 12 else "."
        raise unknown(msg)
    return frame.filter(pl.col(column) == value), value


def pick_asset(
    frame: pl.DataFrame, select: str | None, asset: str
) -> tuple[pl.DataFrame, str | None]:
    """:func:`pick` for the asset column ``asset``: the rows of the asset ``select``."""
    rows, value = pick(
        frame, asset, select, option="select", what="asset", unknown=UnknownAssetError
    )
    return rows, None if value is None else str(value)


def values(series: pl.Series) -> list[float]:
    """Float values with nulls as NaN (matplotlib leaves NaN points out)."""
    return [math.nan if v is None else float(v) for v in series.to_list()]


def compound(frame: pl.DataFrame, columns: Sequence[str], *, geometric: bool) -> pl.DataFrame:
    r"""Cumulative returns of ``columns`` in row order; a null return counts as 0.

    ``geometric``: :math:`\prod (1 + r) - 1`; otherwise the running sum.
    """
    if geometric:
        exprs = [(pl.col(c).fill_null(0.0) + 1.0).cum_prod() - 1.0 for c in columns]
    else:
        exprs = [pl.col(c).fill_null(0.0).cum_sum() for c in columns]
    return frame.with_columns(exprs)
