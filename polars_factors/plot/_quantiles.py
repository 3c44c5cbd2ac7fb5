"""Quantile returns: mean return per signal quantile and their cumulative returns."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from polars_factors import _validate
from polars_factors.exceptions import MissingDependencyError
from polars_factors.plot import _common
from polars_factors.portfolio import QuantileReturnsResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["quantile_returns"]

_SPREAD = "spread"


def _by_date(result: object, date: str) -> tuple[pl.DataFrame, str]:
    if isinstance(result, QuantileReturnsResult):
        return result.collect().by_date, result.by[0]
    return _common.as_frame(result, "result"), date


def _quantile_colors(n: int) -> list[tuple[float, float, float, float]]:
    try:
        from matplotlib import colormaps  # noqa: PLC0415
    except ImportError as err:
        raise MissingDependencyError(_common.MISSING) from err

    cmap = colormaps["viridis"]
    return [cmap(0.9 * i / max(n - 1, 1)) for i in range(n)]


def quantile_returns(
    result: QuantileReturnsResult[pl.DataFrame]
    | QuantileReturnsResult[pl.LazyFrame]
    | pl.DataFrame
    | pl.LazyFrame,
    *,
    forward_returns: str | None = None,
    compound: bool = True,
    date: str = "date",
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Draw the mean return of each signal quantile and its cumulative return over time.

    Parameters
    ----------
    result
        The result of :func:`polars_factors.portfolio.quantile_returns`, or its
        ``by_date`` frame (``date``, ``quantile``, ``mean_return`` and optionally
        ``forward_returns``), lazy or eager. One row per date and quantile: filter a
        result computed by date and group (``by=["date", "sector"]``) first.
    forward_returns
        The forward-return column to draw; needed when the result holds several.
    compound
        Compound the per-date quantile returns (``False``: add them up). A forward
        return over ``h`` periods observed every period overlaps its neighbours; its
        cumulative line is then only indicative; use one-period forward returns
        for it.
    date
        Name of the date column of a frame (a ``QuantileReturnsResult`` knows its own).
    title, figsize
        Figure title (``None``: a default; ``""``: none) and size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: left, a bar per quantile with the mean over dates of its per-date
        mean return (as ``QuantileReturnsResult.summary()``); right, one line per quantile
        with its cumulative return, and a dashed line for the top-minus-bottom spread.

    Raises
    ------
    MissingDependencyError
        matplotlib is not installed.
    ColumnNotFoundError
        A missing column, or an unknown ``forward_returns``.
    DuplicateKeyError
        Several forward-return columns and no ``forward_returns``, or several rows per
        date and quantile.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({"date": [1, 1, 2, 2], "s": [1.0, 2.0, 1.0, 2.0],
    ...                    "fwd": [0.01, 0.03, 0.03, 0.01]})
    >>> res = pf.portfolio.quantile_returns(df, "s", "fwd", n=2)
    >>> fig = pf.plot.quantile_returns(res)
    >>> [round(float(bar.get_height()), 4) for bar in fig.axes[0].patches]
    [0.02, 0.02]
    """
    _common.require_matplotlib()
    frame, date = _by_date(result, date)
    needed = [date, "quantile", "mean_return"]
    _validate.check_columns_exist(frame.schema, needed, role="quantile-returns column")
    _validate.check_numeric(frame.schema, ["quantile", "mean_return"], role="column")
    rows, horizon = _common.pick(
        frame, "forward_returns", forward_returns, option="forward_returns",
        what="forward-return column",
    )  # fmt: skip
    _validate.check_unique(
        rows,
        [date, "quantile"],
        what="the quantile returns frame",
        fix="Computed by date and group (e.g. by=['date', 'sector'])? Filter one group first.",
    )
    quantiles = rows.get_column("quantile").drop_nulls().unique().sort().to_list()
    means = rows.group_by("quantile").agg(pl.col("mean_return").mean()).sort("quantile")
    labels = [f"Q{q}" for q in quantiles]
    wide = rows.pivot("quantile", index=date, values="mean_return", on_columns=quantiles).sort(date)
    names = [str(q) for q in quantiles]
    if len(names) >= 2:
        wide = wide.with_columns((pl.col(names[-1]) - pl.col(names[0])).alias(_SPREAD))
    series = [*names, _SPREAD] if len(names) >= 2 else names
    cum = _common.compound(wide, series, geometric=compound)
    dates = cum.get_column(date).to_list()

    colors = _quantile_colors(len(quantiles))
    fig, (bars, lines) = _common.new_figure(figsize, (11.0, 4.2), ncols=2)
    bars.bar(
        labels,
        _common.values(means.filter(pl.col("quantile").is_not_null())["mean_return"]),
        color=colors,
    )
    bars.axhline(0.0, color=_common.NEUTRAL, linewidth=0.8)
    bars.set_ylabel("mean return per date")
    bars.set_xlabel("signal quantile (1 = lowest)")
    _common.percent_axis(bars)
    _common.style(bars)
    for label, name, col in zip(labels, names, colors, strict=True):
        lines.plot(dates, _common.values(cum[name]), color=col, linewidth=1.5, label=label)
    if _SPREAD in cum.columns:
        lines.plot(
            dates, _common.values(cum[_SPREAD]), color="black", linestyle="--", linewidth=1.5,
            label=f"{labels[-1]} \u2212 {labels[0]}",
        )  # fmt: skip
    lines.axhline(0.0, color=_common.NEUTRAL, linewidth=0.8)
    lines.set_ylabel("cumulative return" if compound else "cumulative sum of returns")
    _common.percent_axis(lines)
    lines.legend(loc="upper left", frameon=False, ncols=2)
    _common.style(lines)
    dated = frame.schema[date].is_temporal()
    default = "Returns by signal quantile" + (f" ({horizon})" if horizon is not None else "")
    return _common.finish(fig, title, default, dates=dated)
