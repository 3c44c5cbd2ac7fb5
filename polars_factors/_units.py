"""The units check: a return column in percent where decimals are expected.

Percent returns next to decimal factors give betas of 50-150, and factor returns,
residuals and portfolio returns 100 times too large, without any error. Every function
that takes a return column runs :func:`check_units` on it, in its validation section.

The rule (one for every function and every kind of return): a column **looks like
percent** when, over its finite values (nulls, NaN and +-inf left out),

- there are at least :data:`MIN_VALUES` (10) of them,
- the median of their absolute values is above :data:`MEDIAN_ABS` (0.2), and
- at least :data:`SHARE_BELOW` (1%) of them are below -1.

Returns in decimals have a median absolute value of about 0.01 a day and 0.05 a month
(0.17 over a year for S&P 500 stocks), and a simple return cannot be below -1 (a loss of
more than 100%). In percent the same returns have medians of 0.3-3 and many values
below -1 (every loss of more than 1%). The second condition keeps long-horizon returns
and non-return regressors (book-to-market, a dummy) from firing; the first keeps a few
crashes from firing. Log returns below -1 (a loss of 63%) are rare enough.

A DataFrame is checked at call time (one aggregate over the columns, in memory). A
LazyFrame gets the check inside its plan, like the loss warnings of
:func:`polars_factors._frame.warn_lost_in_plan`: an elementwise step that computes the
statistics of each batch and warns once per plan, at the first batch that looks like
percent (the statistics it names are that batch's).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import polars as pl

from polars_factors._frame import WarnOncePerPlan, temp_name, user_stacklevel
from polars_factors.exceptions import UnitsWarning
from polars_factors.typing import FrameT

__all__ = ["MEDIAN_ABS", "MIN_VALUES", "SHARE_BELOW", "check_units", "percent_like", "unchecked"]

#: The median absolute value above which a column may be in percent.
MEDIAN_ABS = 0.2
#: The share of values below -1 from which a column may be in percent.
SHARE_BELOW = 0.01
#: The fewest finite values the rule looks at (fewer: no warning).
MIN_VALUES = 10

_SKIP: ContextVar[bool] = ContextVar("polars_factors_units_unchecked", default=False)


@dataclass(frozen=True)
class Suspect:
    """A column that looks like percent, with the statistics of the rule."""

    column: str
    n: int
    median_abs: float
    share_below: float


def percent_like(values: pl.DataFrame) -> list[Suspect]:
    """Return the columns of ``values`` that look like percent (the module's rule).

    Examples
    --------
    >>> import polars as pl
    >>> from polars_factors._units import percent_like
    >>> df = pl.DataFrame({"pct": [1.2, -0.8, 2.5, -1.6, 0.4] * 2, "dec": [0.012] * 10})
    >>> [(s.column, s.median_abs, s.share_below) for s in percent_like(df)]
    [('pct', 1.2, 0.2)]
    """
    if values.width == 0 or values.height == 0:
        return []
    exprs = []
    for i, name in enumerate(values.columns):
        x = pl.col(name).cast(pl.Float64)
        x = x.filter(x.is_finite())
        exprs += [
            x.len().alias(f"n{i}"),
            x.abs().median().alias(f"m{i}"),
            (x < -1).mean().alias(f"b{i}"),
        ]
    row = values.select(exprs).row(0)
    found = []
    for i, name in enumerate(values.columns):
        n, median, below = row[3 * i : 3 * i + 3]
        if n >= MIN_VALUES and median > MEDIAN_ABS and below >= SHARE_BELOW:
            found.append(Suspect(name, n, median, below))
    return found


def _message(function: str, found: Sequence[Suspect], *, batch: int | None = None) -> str:
    stats = "; ".join(
        f"{s.column!r}: median |value| {s.median_abs:.3g}, {s.share_below:.0%} of its "
        f"{s.n} values below -1"
        for s in found
    )
    cols = ", ".join(repr(s.column) for s in found)
    where = f" (in one batch of {batch} rows of a lazy plan)" if batch is not None else ""
    return (
        f"{function}: {cols} look{'s' if len(found) == 1 else ''} like percent returns "
        f"({stats}){where}. Returns in decimals have a median |value| of about 0.01 (daily) "
        f"to 0.05 (monthly) and none below -1 (a loss of more than 100%); mixing units "
        f"scales betas and factor returns by 100. Divide by 100: "
        f"frame.with_columns(pl.col({cols}) / 100). If the values are right, silence "
        f"this with warnings.filterwarnings('ignore', category=pf.UnitsWarning)."
    )


def check_units(frame: FrameT, columns: Sequence[str], *, function: str) -> FrameT:
    """Warn (:class:`UnitsWarning`) if a return column of ``frame`` looks like percent.

    Call it in the validation section of a function, after the schema checks, with the
    return columns (``columns``, numeric) and the function's name. A DataFrame is
    checked now and returned as is; a LazyFrame is returned with the check inside its
    plan (nothing is read now; the warning comes, once, when the plan is collected).
    Inside :func:`unchecked` nothing is checked.
    """
    names = list(dict.fromkeys(columns))
    if _SKIP.get() or not names:
        return frame
    if isinstance(frame, pl.DataFrame):
        found = percent_like(frame.select(names))
        if found:
            warnings.warn(_message(function, found), UnitsWarning, stacklevel=user_stacklevel())
        return frame
    taken = set(frame.collect_schema().names())
    ok = temp_name(taken, "units")
    check = _UnitsWarner(names, function=function)
    expr = pl.struct(names).map_batches(check, return_dtype=pl.Boolean, is_elementwise=True)
    return frame.with_columns(expr.alias(ok)).filter(pl.col(ok)).drop(ok)


@contextmanager
def unchecked() -> Iterator[None]:
    """Skip :func:`check_units` in the calls made inside (already checked by the caller).

    For a function that checks its returns and then calls another public function on
    them (``fama_french`` calls ``portfolio_returns``): one warning per call.
    """
    token = _SKIP.set(True)
    try:
        yield
    finally:
        _SKIP.reset(token)


class _UnitsWarner(WarnOncePerPlan):
    """The batch function of the in-plan check (see ``_frame.WarnOncePerPlan``)."""

    category = UnitsWarning

    def __init__(self, names: list[str], *, function: str) -> None:
        super().__init__()
        self.names, self.function = names, function

    def message(self, batch: pl.Series) -> str | None:
        found = percent_like(batch.struct.unnest())
        return _message(self.function, found, batch=batch.len()) if found else None
