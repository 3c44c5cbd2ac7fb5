"""Return plots: cumulative factor returns and the information coefficient by date."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import polars as pl

from polars_factors import _validate
from polars_factors.exceptions import SchemaError
from polars_factors.plot import _betas, _common
from polars_factors.portfolio import ICResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["cumulative_returns", "ic_by_date"]


def _wide_returns(frame: pl.DataFrame, date: str) -> pl.DataFrame:
    """Wide ``date`` + one column per factor, from the long or the wide layout."""
    _validate.check_columns_exist(frame.schema, [date], role="date column")
    if "factor" in frame.columns and "factor_return" in frame.columns:
        _validate.check_numeric(frame.schema, ["factor_return"], role="factor_return column")
        long = frame.select(date, pl.col("factor").cast(pl.String), "factor_return").sort(
            date, maintain_order=True
        )
        _validate.check_unique(long, [date, "factor"], what="the long factor returns frame")
        return long.pivot("factor", index=date, values="factor_return", maintain_order=True)
    others = [c for c in frame.columns if c != date]
    bad = [c for c in others if not frame.schema[c].is_numeric()]
    if bad or not others:
        msg = (
            "`factor_returns` must be long (date, factor, factor_return, as in "
            "CrossSectionResult.factor_returns) or wide (date plus one numeric column per "
            f"factor); found the non-numeric columns {bad}."
            if bad
            else "no factor column."
        )
        raise SchemaError(msg)
    _validate.check_unique(frame, date, what="the wide factor returns frame")
    return frame


def cumulative_returns(
    factor_returns: pl.DataFrame | pl.LazyFrame,
    *,
    factors: str | Sequence[str] | None = None,
    compound: bool = True,
    date: str = "date",
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    r"""Draw the cumulative return of each factor over time.

    Parameters
    ----------
    factor_returns
        Long ``date, factor, factor_return`` (as in
        :attr:`CrossSectionResult.factor_returns
        <polars_factors.CrossSectionResult.factor_returns>`; other columns are
        ignored) or wide ``date`` plus one numeric column per factor (e.g. the
        Fama-French factors). Lazy or eager; rows in any order.
    factors
        The factors to draw. Default: all (for a Fama-French frame, leave out the
        risk-free rate: ``factors=["Mkt-RF", "SMB", "HML"]``).
    compound
        ``True``: :math:`\prod_{s \le t} (1 + r_s) - 1`; ``False``: the running sum
        :math:`\sum_{s \le t} r_s` (for log returns).
    date
        Name of the date column.
    title, figsize
        Figure title (``None``: a default; ``""``: none) and size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, one line per factor, in percent. A missing return counts as 0.

    Raises
    ------
    MissingDependencyError
        matplotlib is not installed.
    ColumnNotFoundError
        No date column, or an unknown factor.
    SchemaError
        A wide frame with a non-numeric column.
    DuplicateKeyError
        A date (or a date and factor) more than once.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> fr = pl.DataFrame({"date": [1, 1, 2, 2], "factor": ["mkt", "smb"] * 2,
    ...                    "factor_return": [0.10, 0.0, 0.10, -0.05]})
    >>> fig = pf.plot.cumulative_returns(fr)
    >>> [round(float(line.get_ydata()[-1]), 4) for line in fig.axes[0].get_lines()[:2]]
    [0.21, -0.05]
    """
    _common.require_matplotlib()
    frame = _common.as_frame(factor_returns, "factor_returns")
    wide = _wide_returns(frame, date).sort(date, maintain_order=True)
    chosen = _betas.select_factors([c for c in wide.columns if c != date], factors)
    wide = _common.compound(wide.select(date, *chosen), chosen, geometric=compound)
    dates = wide.get_column(date).to_list()
    fig, (ax,) = _common.new_figure(figsize, (8.0, 4.5))
    for i, factor in enumerate(chosen):
        ax.plot(
            dates,
            _common.values(wide.get_column(factor)),
            color=_common.color(i),
            linewidth=1.5,
            label=factor,
        )
    ax.axhline(0.0, color=_common.NEUTRAL, linewidth=0.8)
    ax.set_ylabel("cumulative return" if compound else "cumulative sum of returns")
    _common.percent_axis(ax)
    ax.legend(loc="upper left", frameon=False, ncols=min(len(chosen), 4))
    _common.style(ax)
    dated = wide.schema[date].is_temporal()
    return _common.finish(fig, title, "Cumulative factor returns", dates=dated)


def _ic_frame(ic: object, date: str) -> tuple[pl.DataFrame, str]:
    if isinstance(ic, ICResult):
        date = ic.by[0]
        frame = ic.collect().ic
    else:
        frame = _common.as_frame(ic, "ic")
    _validate.check_columns_exist(frame.schema, [date, "ic"], role="IC column")
    _validate.check_numeric(frame.schema, ["ic"], role="IC column")
    if "forward_returns" not in frame.columns:
        frame = frame.with_columns(forward_returns=pl.lit("ic"))
    _validate.check_unique(
        frame,
        [date, "forward_returns"],
        what="the IC frame",
        fix="An IC per date and group (e.g. by=['date', 'sector'])? Filter one group first, "
        "e.g. res.ic.filter(pl.col('sector') == 'Energy').",
    )
    return frame, date


def ic_by_date(
    ic: ICResult[pl.DataFrame] | ICResult[pl.LazyFrame] | pl.DataFrame | pl.LazyFrame,
    *,
    rolling: int | None = 21,
    forward_returns: str | Sequence[str] | None = None,
    date: str = "date",
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Draw the information coefficient of each date as bars, with a rolling mean.

    Parameters
    ----------
    ic
        The result of :func:`polars_factors.portfolio.information_coefficient`, or its
        ``ic`` frame (``date``, ``ic`` and optionally ``forward_returns``), lazy or
        eager. One IC per date and forward-return column: filter an IC computed by
        date and group (``by=["date", "sector"]``) to one group first.
    rolling
        Window (in dates) of the rolling mean line; ``None`` for no line.
    forward_returns
        The forward-return columns to draw, one axes each (stacked, sharing the date
        axis). Default: all.
    date
        Name of the date column of a frame (an ``ICResult`` knows its own).
    title, figsize
        Figure title (``None``: a default; ``""``: none) and size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per forward-return column: a bar per date (null ICs leave a gap), the
        rolling mean and a dashed line at the mean IC.

    Raises
    ------
    MissingDependencyError
        matplotlib is not installed.
    ColumnNotFoundError
        No date or ``ic`` column, or an unknown forward-return column.
    DuplicateKeyError
        Several rows per date and forward-return column.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> ic = pl.DataFrame({"date": [1, 2, 3, 4], "ic": [0.1, -0.05, 0.2, None]})
    >>> fig = pf.plot.ic_by_date(ic, rolling=2)
    >>> len(fig.axes), len(fig.axes[0].patches)
    (1, 4)
    """
    _common.require_matplotlib()
    if rolling is not None:
        _common.check_int("rolling", rolling, 1)
    frame, date = _ic_frame(ic, date)
    present = frame.get_column("forward_returns").unique(maintain_order=True).to_list()
    chosen = _betas.select_factors(
        present, forward_returns, option="forward_returns", what="forward-return column"
    )
    n = len(chosen)
    fig, axes = _common.new_figure(figsize, (8.0, 1.0 + 2.6 * n), nrows=n, sharex=True)
    for ax, horizon in zip(axes, chosen, strict=True):
        rows = frame.filter(pl.col("forward_returns") == horizon).sort(date)
        dates = rows.get_column(date).to_list()
        series = rows.get_column("ic").cast(pl.Float64)
        ax.bar(dates, _common.values(series), color=_common.color(0), alpha=0.5, label="IC")
        if rolling is not None:
            mean = series.rolling_mean(rolling, min_samples=1)
            ax.plot(
                dates, _common.values(mean), color=_common.color(1), label=f"{rolling}-date mean"
            )
        average = series.mean()
        if isinstance(average, float):
            ax.axhline(
                average, color=_common.NEUTRAL, linestyle="--", linewidth=1,
                label=f"mean {average:.3f}",
            )  # fmt: skip
        ax.axhline(0.0, color=_common.NEUTRAL, linewidth=0.8)
        ax.set_ylabel("IC" if n == 1 else f"IC, {horizon}")
        ax.legend(loc="upper left", frameon=False, ncols=3)
        _common.style(ax)
    dated = frame.schema[date].is_temporal()
    return _common.finish(fig, title, "Information coefficient by date", dates=dated)
