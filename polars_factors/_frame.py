"""Glue shared by the panel-level transforms: validation, output names, loss warnings."""

from __future__ import annotations

import inspect
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from polars_factors import _validate
from polars_factors.exceptions import DataLossWarning
from polars_factors.exprs._core import clean, clean_weights
from polars_factors.typing import ColumnNames, EngineType, FrameT

__all__ = [
    "TEMP_PREFIX",
    "Prepared",
    "WarnOncePerPlan",
    "finish_staged",
    "like_input",
    "prepare",
    "report_lost",
    "temp_name",
    "transform",
    "user_stacklevel",
    "warn_all_null",
    "warn_lost",
    "warn_lost_in_plan",
]


@dataclass(frozen=True)
class Prepared:
    """Validated arguments of a per-group column transform."""

    columns: list[str]
    by: list[str]
    outputs: list[str]
    schema: pl.Schema


def prepare(
    frame: pl.DataFrame | pl.LazyFrame,
    columns: ColumnNames,
    *,
    by: ColumnNames | None,
    date: str,
    asset: str,
    weights: str | None = None,
    suffix: str | None = None,
    check_keys: bool | None = None,
    function: str = "this function",
) -> Prepared:
    """Check names and dtypes (and keys, per ``check_keys``); return the validated pieces.

    ``function`` names the caller in the message of an output-name clash.
    """
    if not isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
        msg = f"expected a polars DataFrame or LazyFrame; got {type(frame).__name__}."
        raise TypeError(msg)
    cols = _validate.as_list(columns)
    if not cols:
        msg = "`columns` must name at least one column."
        raise ValueError(msg)
    keys = _validate.resolve_by(by, date)
    schema = frame.collect_schema()
    _validate.check_columns_exist(schema, cols)
    _validate.check_numeric(schema, cols)
    _validate.check_columns_exist(schema, keys, role="group key")
    _validate.check_key_dtypes(schema, date=date, asset=asset, by=keys)
    if weights is not None:
        if not isinstance(weights, str):
            msg = f"`weights` must be a column name; got {weights!r}."
            raise TypeError(msg)
        _validate.check_columns_exist(schema, [weights], role="weights column")
        _validate.check_numeric(schema, [weights], role="weights column")
    if suffix is not None and not isinstance(suffix, str):
        msg = f"`suffix` must be a string or None; got {suffix!r}."
        raise TypeError(msg)
    outputs = [c if not suffix else f"{c}{suffix}" for c in cols]
    _validate.check_new_columns(
        schema, outputs, replaced=() if suffix else cols, function=function,
        fix="Pass another suffix=, or drop the old columns first (frame.drop(...)).",
    )  # fmt: skip
    _validate.unique_keys(frame, check_keys, date=date, asset=asset)
    return Prepared(columns=cols, by=keys, outputs=outputs, schema=schema)


#: Builds one output from a cleaned input column and its cleaned, masked weights.
Core = Callable[[pl.Expr, pl.Expr | None], pl.Expr]


def transform(
    frame: FrameT,
    prep: Prepared,
    *steps: Core,
    weights: str | None,
    reason: str,
    inputs: Sequence[pl.Expr] | None = None,
    engine: EngineType = "auto",
) -> FrameT:
    """Apply ``step(x, w).over(prep.by)`` to each input, one window per step.

    The inputs (the prepared columns unless ``inputs`` is given) are first written,
    cleaned, to temporary columns, with one column of masked weights each; each step
    then reads the previous step's temporary column and the last one writes the
    output. Windows on plain columns matter: an expression nested inside a window is
    re-evaluated at every reference to it.
    """
    sources = inputs if inputs is not None else [pl.col(c) for c in prep.columns]
    taken = set(prep.schema.names())
    current = [temp_name(taken, f"x{i}") for i in range(len(sources))]
    temps = list(current)
    lazy = frame.lazy().with_columns(
        clean(e).alias(t) for e, t in zip(sources, current, strict=True)
    )
    w_cols: list[pl.Expr | None] = [None] * len(sources)
    if weights is not None:
        ws = [temp_name(taken, f"w{i}") for i in range(len(sources))]
        lazy = lazy.with_columns(
            clean_weights(weights, pl.col(x)).alias(w) for x, w in zip(current, ws, strict=True)
        )
        temps += ws
        w_cols = [pl.col(w) for w in ws]
    for k, step in enumerate(steps):
        last = k == len(steps) - 1
        names = (
            prep.outputs if last else [temp_name(taken, f"s{k}_{i}") for i in range(len(sources))]
        )
        lazy = lazy.with_columns(
            step(pl.col(x), w).over(prep.by).alias(name)
            for x, w, name in zip(current, w_cols, names, strict=True)
        )
        if not last:
            temps += names
            current = names
    if isinstance(frame, pl.LazyFrame):
        lost = {
            out: pl.col(x).is_not_null() & pl.col(out).is_null()
            for out, x in zip(prep.outputs, temps, strict=False)
        }
        lazy = warn_lost_in_plan(lazy, lost, reason=reason)
    return finish_staged(
        frame, lazy.drop(temps), inputs=sources, outputs=prep.outputs, reason=reason,
        engine=engine,
    )  # fmt: skip


def report_lost(
    frame: FrameT,
    plan: pl.LazyFrame,
    lost: Mapping[str, pl.Expr],
    *,
    reason: str,
    what: str = "values",
    engine: EngineType = "auto",
) -> FrameT:
    """Return ``plan`` like :func:`like_input`, warning about results that came out null.

    ``lost`` maps an output name to a Boolean expression on ``plan``'s columns, true
    where the input had data and the result is null. A DataFrame input is collected
    and the exact counts are reported at once; a LazyFrame gets the check inside its
    plan (:func:`warn_lost_in_plan`), reported when it is collected.
    """
    if isinstance(frame, pl.LazyFrame):
        return warn_lost_in_plan(plan, lost, reason=reason, what=what)
    out = plan.collect(engine=engine)
    counts = out.select(e.sum().alias(name) for name, e in lost.items()).row(0)
    parts = [_lost(name, n, what, reason) for name, n in zip(lost, counts, strict=True) if n]
    if parts:
        warnings.warn("; ".join(parts) + ".", DataLossWarning, stacklevel=user_stacklevel())
    return out


def warn_all_null(
    frame: FrameT,
    plan: pl.LazyFrame,
    columns: Sequence[str],
    *,
    function: str,
    reason: str,
    engine: EngineType = "auto",
) -> FrameT:
    """Return ``plan`` like :func:`like_input`, warning when a column is null everywhere.

    For small results (one row per date) whose nulls are partly by design (e.g. the
    dates before a first formation date), where only a column that is null on every
    row is a sure loss. A DataFrame input is checked at once; a LazyFrame's plan checks
    its whole result when collected (a step over the small result, not per batch).
    """

    def check(result: pl.DataFrame) -> pl.DataFrame:
        n = result.height
        nulls = [c for c in columns if n and result.get_column(c).null_count() == n]
        if nulls:
            msg = f"{function}: {', '.join(map(repr, nulls))} null on all {n} rows ({reason})."
            warnings.warn(msg, DataLossWarning, stacklevel=user_stacklevel())
        return result

    if isinstance(frame, pl.DataFrame):
        return check(plan.collect(engine=engine))
    return plan.map_batches(check, schema=plan.collect_schema())


class WarnOncePerPlan:
    """Base of the batch functions of in-plan checks that warn once, at the first finding.

    A subclass gives :meth:`message` (the warning for a batch, or ``None``) and
    ``category``. Polars may run batches on several threads at once (hence the lock),
    and pickles plans with their functions (for a cluster): the lock is rebuilt on
    unpickling. Once it has warned, the statistics are skipped.
    """

    category: type[Warning] = DataLossWarning

    def __init__(self) -> None:
        self.warned = False
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def message(self, batch: pl.Series) -> str | None:
        """Return the warning for this batch (a struct of the checked columns), if any."""
        raise NotImplementedError

    def __call__(self, batch: pl.Series) -> pl.Series:
        if not self.warned:
            msg = self.message(batch)
            with self._lock:
                if msg is not None and not self.warned:
                    self.warned = True
                    warnings.warn(msg, self.category, stacklevel=user_stacklevel())
        return self.result(batch)

    def result(self, batch: pl.Series) -> pl.Series:
        """Return what the check puts in the plan: a true column (a gate) by default."""
        return pl.repeat(value=True, n=batch.len(), dtype=pl.Boolean, eager=True)


def _lost(name: str, n: int, what: str, reason: str) -> str:
    return f"{name!r}: {n} {what} became null ({reason})"


class _LossWarner(WarnOncePerPlan):
    """The batch function of :func:`warn_lost_in_plan`: passes one output through."""

    def __init__(self, name: str, *, reason: str, what: str) -> None:
        super().__init__()
        self.name, self.reason, self.what = name, reason, what

    def message(self, batch: pl.Series) -> str | None:
        n = int(batch.struct.field("lost").sum())
        if not n:
            return None
        return _lost(self.name, n, self.what, self.reason) + (
            f" (in one batch of {batch.len()} rows of a lazy plan; at least that many in "
            "all: collect a DataFrame for exact counts)."
        )

    def result(self, batch: pl.Series) -> pl.Series:
        return batch.struct.field("value")


def warn_lost_in_plan(
    lf: pl.LazyFrame, lost: Mapping[str, pl.Expr], *, reason: str, what: str = "values"
) -> pl.LazyFrame:
    """Warn, when the plan is collected, about results that came out null.

    The lazy counterpart of :func:`warn_lost`, shared by the functions that return a
    plan: ``lost`` maps an output name to a Boolean expression, true on a row where the
    input had data and the output is null. Each output passes through an elementwise
    check of its own rows (filters on the keys still reach the scan, and a query that
    does not read the output does not compute it, nor its check), which emits one
    :class:`DataLossWarning` per output and plan, at the first batch that has such
    rows: the count it names is that batch's (at least that many in all). Collect a
    DataFrame (or call the function on one) for exact totals.
    """
    schema = lf.collect_schema()
    checks = []
    for name, flag in lost.items():
        warner = _LossWarner(name, reason=reason, what=what)
        both = pl.struct(pl.col(name).alias("value"), flag.alias("lost"))
        checks.append(
            both.map_batches(warner, return_dtype=schema[name], is_elementwise=True).alias(name)
        )
    return lf.with_columns(checks)


def like_input(frame: FrameT, plan: pl.LazyFrame, *, engine: EngineType = "auto") -> FrameT:
    """Return ``plan`` as the kind of ``frame``: lazy in, lazy out; eager in, collected.

    The one rule of the panel functions for what they return: a LazyFrame input gives
    the plan, untouched; a DataFrame input gives the plan collected with ``engine``.
    """
    if isinstance(frame, pl.LazyFrame):
        return plan
    return plan.collect(engine=engine)


#: The prefix of every temporary column of the package (see :func:`temp_name`).
TEMP_PREFIX = "__pf_"


def temp_name(taken: set[str], hint: str, *, prefix: bool = False) -> str:
    """Return a temporary column name not in ``taken``, and add it there.

    Every temporary column of the package is named here: ``"__pf_" + hint``, with
    underscores appended until it clashes with no name in ``taken`` (start ``taken``
    with the frame's columns). With ``prefix=True`` the result is a prefix for a family
    of names (``prefix + "x0"``, ...): it clashes with a name of ``taken`` that starts
    with it, so no column of the frame starts with it. Allocate a family's prefix from
    a set of its own (a copy of the columns), not one shared with single names.

    Examples
    --------
    >>> from polars_factors._frame import temp_name
    >>> taken = {"date", "__pf_r"}
    >>> temp_name(taken, "r"), temp_name(taken, "r")
    ('__pf_r_', '__pf_r__')
    >>> temp_name({"__pf_ts_x0"}, "ts_", prefix=True)
    '__pf_ts__'
    """
    name = f"{TEMP_PREFIX}{hint}"
    if prefix:
        while any(t.startswith(name) for t in taken):
            name += "_"
    else:
        while name in taken:
            name += "_"
    taken.add(name)
    return name


def finish_staged(
    frame: FrameT,
    staged: pl.LazyFrame,
    *,
    inputs: Sequence[str | pl.Expr],
    outputs: Sequence[str],
    reason: str,
    engine: EngineType = "auto",
) -> FrameT:
    """Return ``staged`` as the kind of ``frame``; on eager frames, warn about lost values.

    A DataFrame is collected with ``engine`` (``"auto"``: Polars' default, streaming).
    """
    if isinstance(frame, pl.LazyFrame):
        return staged
    before = frame.select(
        [
            (pl.col(c) if isinstance(c, str) else c).cast(pl.Float64).alias(f"in{i}")
            for i, c in enumerate(inputs)
        ]
    )
    out = staged.collect(engine=engine)
    warn_lost(before, out.select(outputs), reason=reason)
    return out


def warn_lost(before: pl.DataFrame, after: pl.DataFrame, *, reason: str) -> None:
    """Warn when a present input value gives a null output (infinite values included)."""
    messages = []
    for old, new in zip(before.iter_columns(), after.iter_columns(), strict=True):
        name = new.name
        lost_inf = int((old.is_infinite() & new.is_null()).sum())
        lost = int((old.is_finite() & new.is_null()).sum())
        parts = []
        if lost:
            parts.append(f"{lost} values became null ({reason})")
        if lost_inf:
            parts.append(f"{lost_inf} infinite values were treated as missing")
        if parts:
            messages.append(f"{name!r}: " + "; ".join(parts))
    if messages:
        warnings.warn("; ".join(messages) + ".", DataLossWarning, stacklevel=user_stacklevel())


def user_stacklevel() -> int:
    """Stack level of the first frame outside polars_factors (for ``warnings.warn``).

    Polars' own frames are skipped too: a warning raised inside a ``map_batches``
    function while a plan is collected points at the user's ``collect`` call.
    """
    skip = (str(Path(__file__).parent), str(Path(pl.__file__).parent))
    frame = inspect.currentframe()
    level = 0
    while frame is not None and frame.f_code.co_filename.startswith(skip):
        frame = frame.f_back
        level += 1
    return max(level, 1)
