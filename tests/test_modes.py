"""Every public panel function gives the same result eager, lazy and streaming.

Each function's own tests check its numbers against an oracle; this one runs every
function of the table (``polars_factors._api.PANEL_FUNCTIONS``) through the ``run``
fixture (eager, lazy with the in-memory engine, lazy with the streaming engine) on one
panel and holds the three results equal, up to row order where the function does not
promise one. A function added to the table without a call here fails
``test_every_panel_function_is_run``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from polars_factors._api import PANEL_FUNCTIONS
from polars_factors.exceptions import DataLossWarning
from tests.test_laziness import CALLS, _panel

#: The frame of a result object that stands for it (functions returning a frame: None).
FRAME_OF: dict[str, str] = {
    "cross_section": "factor_returns",
    "information_coefficient": "ic",
    "quantile_returns": "by_date",
}

#: Functions whose output order is part of their contract (sorted or input order).
ORDERED = {
    "winsorize", "zscore", "rank", "fill_missing", "neutralize", "combine", "standardize",
    "assign_buckets", "check_panel", "betas", "ts_features", "specific_risk",
    "shrink_specific_risk", "join_factors",
}  # fmt: skip


def _frame_fn(name: str) -> Callable[[Any], Any]:
    def fn(frame: Any) -> Any:
        out = CALLS[name](frame)
        return getattr(out, FRAME_OF[name]) if name in FRAME_OF else out

    return fn


def test_every_panel_function_is_run() -> None:
    assert set(CALLS) == {name for _, name in PANEL_FUNCTIONS}


@pytest.fixture(scope="module")
def panel() -> pl.DataFrame:
    return _panel()


@pytest.fixture(scope="module")
def eager_results(panel: pl.DataFrame) -> dict[str, pl.DataFrame]:
    out = {}
    # The 30 dates hold no formation date: fama_french's factors are null everywhere,
    # which it reports (tests/test_null_results.py); the other functions lose nothing.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataLossWarning)
        for name in CALLS:
            res = _frame_fn(name)(panel)
            out[name] = res if isinstance(res, pl.DataFrame) else res.collect()
    assert [str(w.message).split(":")[0] for w in caught] == ["fama_french"]
    return out


@pytest.mark.parametrize("name", [n for _, n in PANEL_FUNCTIONS if n != "fama_macbeth"])
def test_same_result_in_every_mode(
    run: Any, name: str, panel: pl.DataFrame, eager_results: dict[str, pl.DataFrame]
) -> None:
    got = run(panel, _frame_fn(name))
    want = eager_results[name]
    assert got.height > 0
    if name not in ORDERED:
        got, want = got.sort(got.columns, nulls_last=True), want.sort(want.columns, nulls_last=True)
    assert_frame_equal(got, want, check_exact=False, rel_tol=1e-12, abs_tol=1e-14)


def test_fama_macbeth_is_eager_by_design(panel: pl.DataFrame) -> None:
    # It reads the T x K factor returns and returns a DataFrame whatever the input.
    lazy = CALLS["fama_macbeth"](panel.lazy())
    eager = CALLS["fama_macbeth"](panel)
    assert isinstance(lazy, pl.DataFrame)
    assert_frame_equal(lazy, eager)
    assert all(math.isfinite(v) for v in lazy.select(pl.selectors.float()).row(0))
