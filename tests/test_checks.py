"""Where the data checks run: at call time, inside the plan, or once with check_panel.

On a DataFrame every check runs at call time. On a LazyFrame the time-order check of
the per-asset functions and the negative-value checks are inside the plan (they
raise when it is collected, with either engine), and the duplicate-key check of the
per-date functions is opt-in (``check_keys=True``, or :func:`pf.check_panel` once).
Each case below runs eager, lazy with the in-memory engine and lazy with the
streaming engine (the ``run`` fixture of conftest.py) and must raise the same error in
all three.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import hypothesis.strategies as st
import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings

import polars_factors as pf
from polars_factors import _validate
from polars_factors.exceptions import (
    DuplicateKeyError,
    InvalidDataError,
    UnsortedError,
    WeightError,
)


def _panel(n_dates: int = 40, n_assets: int = 6) -> pl.DataFrame:
    """Rows sorted by (date, asset); each asset's dates increase."""
    rng = np.random.default_rng(7)
    n = n_dates * n_assets
    df = pl.DataFrame(
        {
            "date": np.repeat(np.arange(1, n_dates + 1), n_assets),
            "asset": np.tile([f"a{i}" for i in range(n_assets)], n_dates),
            "ret": rng.normal(0, 0.02, n),
            "mkt": np.repeat(rng.normal(0, 0.01, n_dates), n_assets),
            "w": rng.uniform(0.5, 2.0, n),
            "size": rng.uniform(1.0, 10.0, n),
            "signal": rng.normal(size=n),
        }
    )
    return df.with_columns(
        close=(100 * (1 + pl.col("ret")).cum_prod()).over("asset"),
        date=pl.date(2020, 1, 1) + pl.duration(days=pl.col("date") * 30),
    )


#: Per-asset functions: their time order is checked in the plan of a LazyFrame.
TIME_SERIES: dict[str, Callable[[Any], Any]] = {
    "betas_rolling": lambda f: pf.betas(f, "ret", ["mkt"], window=10),
    "betas_half_life": lambda f: pf.betas(f, "ret", ["mkt"], half_life=10),
    "ts_features": lambda f: pf.ts_features(f, "close", window=5),
    "specific_risk": lambda f: pf.specific_risk(f, residual="ret", half_life=10),
    "fama_french": lambda f: pf.fama_french(f, size="size", returns="ret", book_to_market="signal"),
}

#: Functions with a negative-value check, and the column it reads.
NEGATIVE: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "betas": ("w", lambda f: pf.betas(f, "ret", ["mkt"], window=10, weights="w")),
    "specific_risk": ("size", lambda f: pf.specific_risk(f, residual="ret", size="size")),
    "shrink_specific_risk": (
        "size",
        lambda f: pf.shrink_specific_risk(f.with_columns(specific_var=pl.col("w")), size="size"),
    ),
    "fama_french": (
        "size",
        lambda f: pf.fama_french(f, size="size", returns="ret", book_to_market="signal"),
    ),
    "portfolio_returns": (
        "w",
        lambda f: pf.portfolio_returns(
            f.with_columns(b=(pl.col("signal") > 0).cast(pl.Int8)), "b", "ret", weights="w"
        ),
    ),
    "long_short": ("w", lambda f: pf.long_short(f, "signal", "ret", weights="w", n=2)),
    "quantile_returns": (
        "w",
        lambda f: pf.quantile_returns(f, "signal", "ret", weights="w", n=2).by_date,
    ),
}


def _collect(out: Any) -> None:
    """Collect whatever a function returned (a frame or a result with frames)."""
    if isinstance(out, pl.LazyFrame):
        out.collect()


@pytest.mark.parametrize("name", list(TIME_SERIES))
def test_time_order_checked_in_every_mode(run: Any, name: str) -> None:
    df = _panel()
    fn = TIME_SERIES[name]
    run(df, fn)  # sorted by date: fine
    run(df.sort("asset", "date"), fn)  # sorted by asset: fine
    backward = pl.concat([df.slice(60), df.slice(0, 60)])
    with pytest.raises(UnsortedError, match="go back in time"):
        run(backward, fn)
    repeated = pl.concat([df, df.filter(pl.col("asset") == "a1").tail(1)])
    with pytest.raises(DuplicateKeyError, match=r"duplicate \('date', 'asset'\)"):
        run(repeated, fn)
    null_key = df.with_columns(
        asset=pl.when(pl.int_range(pl.len()) == 3).then(None).otherwise(pl.col("asset"))
    )
    with pytest.raises(InvalidDataError, match="1 with a null 'asset'"):
        run(null_key, fn)


@pytest.mark.parametrize("name", list(NEGATIVE))
def test_negative_values_checked_in_every_mode(run: Any, name: str) -> None:
    column, fn = NEGATIVE[name]
    df = _panel()
    run(df, fn)
    bad = df.with_columns(
        pl.when(pl.int_range(pl.len()) == 17).then(-1.0).otherwise(pl.col(column)).alias(column)
    )
    with pytest.raises(WeightError, match=f"{column!r} has 1 negative values"):
        run(bad, fn)


@pytest.mark.parametrize("name", list(TIME_SERIES))
def test_lazy_time_series_read_nothing_until_collected(name: str) -> None:
    # A column that fails if it is ever computed: the call must not compute anything.
    backward = pl.concat([_panel().slice(60), _panel().slice(0, 60)]).lazy()
    plan = TIME_SERIES[name](backward)  # no error yet: nothing was read
    frame = plan if isinstance(plan, pl.LazyFrame) else plan.factor_returns
    with pytest.raises(UnsortedError):
        frame.collect()


def test_check_keys_false_checks_nothing() -> None:
    backward = pl.concat([_panel().slice(60), _panel().slice(0, 60)])
    out = pf.betas(backward.lazy(), "ret", ["mkt"], window=10, check_keys=False).collect()
    assert out.height == backward.height


def test_negative_check_sees_rows_that_a_later_filter_drops() -> None:
    # The weighted sums keep rows with w > 0 only; that filter must not reach below
    # the check (it would hide the negative weight from it).
    df = pl.DataFrame(
        {"date": [1, 1, 1], "b": [1, 1, 1], "ret": [0.1, 0.2, 0.3], "w": [1.0, -1, 2]}
    )
    plan = pf.portfolio_returns(df.lazy(), "b", "ret", weights="w")
    for engine in ("in-memory", "streaming"):
        with pytest.raises(WeightError):
            plan.collect(engine=engine)


def test_time_order_guard_lets_asset_filters_reach_the_scan() -> None:
    plan = _validate.guard_time_order(_panel().lazy(), date="date", asset="asset")
    text = plan.filter(pl.col("asset") == "a1").explain()
    assert "SELECTION" in text or 'DF ["date"' in text.split("FILTER")[-1]
    lines = [ln.strip() for ln in text.splitlines()]
    # the asset filter is not left above the window of the check
    assert not any(ln.startswith('FILTER [(col("asset")') for ln in lines)


# --------------------------------------------------------------------------- check_panel


def test_check_panel_returns_the_frame_and_reads_now() -> None:
    df = _panel()
    assert pf.check_panel(df) is df
    lf = df.lazy()
    assert pf.check_panel(lf, time_order=True) is lf
    assert lf.factors.check_panel() is lf
    dup = pl.concat([df, df.head(2)])
    for frame in (dup, dup.lazy()):
        with pytest.raises(DuplicateKeyError, match="2 extra rows on 1 dates"):
            pf.check_panel(frame)
    backward = pl.concat([df.slice(60), df.slice(0, 60)]).lazy()
    pf.check_panel(backward)  # unique keys: fine
    with pytest.raises(UnsortedError, match="first at row"):
        pf.check_panel(backward, time_order=True)


def test_check_panel_bad_arguments() -> None:
    df = _panel()
    with pytest.raises(pf.ColumnNotFoundError, match="panel key 'ticker'"):
        pf.check_panel(df, asset="ticker")
    with pytest.raises(ValueError, match="both as `date` and as `asset`"):
        pf.check_panel(df, date="asset")
    with pytest.raises(TypeError, match="DataFrame or LazyFrame"):
        pf.check_panel(df.to_dicts())  # type: ignore[type-var]


def test_check_keys_must_be_a_bool_or_none() -> None:
    with pytest.raises(TypeError, match="`check_keys` must be True, False or None"):
        pf.zscore(_panel(), "signal", check_keys="yes")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- properties


@st.composite
def _key_rows(draw: st.DrawFn) -> list[tuple[int | None, str | None]]:
    n = draw(st.integers(0, 12))
    dates = st.one_of(st.none(), st.integers(1, 5)) if draw(st.booleans()) else st.integers(1, 5)
    return draw(
        st.lists(st.tuples(dates, st.sampled_from(["a", "b", "c"])), min_size=n, max_size=n)
    )


def _error(fn: Callable[[], object]) -> type[Exception] | None:
    try:
        fn()
    except (UnsortedError, DuplicateKeyError, InvalidDataError) as err:
        return type(err)
    return None


@hyp_settings(max_examples=60, deadline=None)
@given(rows=_key_rows())
def test_plan_check_agrees_with_call_time_check(rows: list[tuple[int | None, str]]) -> None:
    df = pl.DataFrame(rows, schema={"date": pl.Int64, "asset": pl.String}, orient="row")
    now = _error(lambda: _validate.check_time_order(df, date="date", asset="asset"))
    plan = _validate.guard_time_order(df.lazy(), date="date", asset="asset")
    assert _error(lambda: plan.collect(engine="in-memory")) is now
    # The streaming engine checks batch by batch: where the keys have several problems
    # (a null key, a repeated key, a date that goes back), the first batch with one of
    # them reports it. It raises exactly when the call-time check does.
    streamed = _error(lambda: plan.collect(engine="streaming"))
    assert (streamed is None) == (now is None)
    if now is None:
        assert plan.collect().equals(df)


@hyp_settings(max_examples=60, deadline=None)
@given(rows=_key_rows())
def test_grouped_plan_check_agrees_after_a_stable_sort(rows: list[tuple[int | None, str]]) -> None:
    # The windowed betas sort by asset (stably) and then compare each row with the
    # one before: the same verdict as the check of the unsorted rows.
    df = pl.DataFrame(rows, schema={"date": pl.Int64, "asset": pl.String}, orient="row")
    now = _error(lambda: _validate.check_time_order(df, date="date", asset="asset"))
    grouped = df.lazy().sort("asset", maintain_order=True)
    plan = _validate.guard_time_order(grouped, date="date", asset="asset", grouped=True)
    assert _error(lambda: plan.collect(engine="in-memory")) is now


def test_plans_with_checks_and_loss_warnings_pickle() -> None:
    # A plan goes to another process (pf.partition executors, Dask) pickled; its
    # checks and its loss warning go with it (cloudpickle, a dependency).
    import pickle  # noqa: PLC0415

    backward = pl.concat([_panel().slice(60), _panel().slice(0, 60)]).lazy()
    plan = pickle.loads(pickle.dumps(pf.betas(backward, "ret", ["mkt"], window=10)))
    with pytest.raises(UnsortedError):
        plan.collect()
    flat = pl.LazyFrame({"date": [1, 1], "asset": ["a", "b"], "x": [2.0, 2.0]})
    zs = pickle.loads(pickle.dumps(pf.zscore(flat, "x")))
    with pytest.warns(pf.DataLossWarning, match="'x': 2 values became null"):
        assert zs.collect(engine="in-memory")["x"].null_count() == 2
