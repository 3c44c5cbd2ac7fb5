"""Shared fixtures: seeded random panels and a runner over eager / lazy / streaming."""

from __future__ import annotations

import os

# Many small matrix products (the asset-pricing tests' GMM covariances): a threaded BLAS
# only adds contention with Polars' own threads on a 2-core machine. Set before numpy
# is imported; an explicit setting by the user wins.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import settings

# CI runs the property tests with a fixed seed sequence (HYPOTHESIS_PROFILE=ci, set by
# .ci/run), so that a landing does not depend on the draw; locally they explore new
# examples on every run (and developers run extra seeds before committing).
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

from polars_factors.exceptions import DataLossWarning

# The real data lives beside the repository (../shared/data); POLARS_FACTORS_DATA
# points elsewhere, e.g. for a clone in another directory.
DATA_DIR = Path(
    os.environ.get(
        "POLARS_FACTORS_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
)

FrameFn = Callable[[pl.DataFrame | pl.LazyFrame], pl.DataFrame | pl.LazyFrame]


@pytest.fixture
def collects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every LazyFrame collect (and ``pl.collect_all``) made while active."""
    seen: list[str] = []
    real_collect, real_all = pl.LazyFrame.collect, pl.collect_all

    def collect(self: pl.LazyFrame, *args: Any, **kwargs: Any) -> Any:
        seen.append("collect")
        return real_collect(self, *args, **kwargs)

    def collect_all(frames: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append("collect_all")
        return real_all(frames, *args, **kwargs)

    monkeypatch.setattr(pl.LazyFrame, "collect", collect)
    monkeypatch.setattr(pl, "collect_all", collect_all)
    return seen


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261120)


def make_panel(
    rng: np.random.Generator,
    *,
    n_dates: int = 12,
    n_assets: int = 40,
    columns: tuple[str, ...] = ("x", "y"),
    null_frac: float = 0.08,
    nan_frac: float = 0.03,
    ties: bool = True,
    ragged: bool = True,
    n_sectors: int = 4,
) -> pl.DataFrame:
    """A messy panel: ragged dates (incl. a one-asset date), nulls, NaN, ties, outliers.

    Rows are shuffled so that tests also check that the output keeps input order.
    """
    rows = []
    for d in range(n_dates):
        if ragged and d == 1:
            members = np.array([3])  # a one-asset date
        elif ragged:
            k = int(rng.integers(n_assets // 2, n_assets + 1))
            members = np.sort(rng.choice(n_assets, size=k, replace=False))
        else:
            members = np.arange(n_assets)
        rows.extend((d, int(a)) for a in members)
    n = len(rows)
    data: dict[str, object] = {
        "date": [r[0] for r in rows],
        "asset": [f"A{r[1]:03d}" for r in rows],
        "sector": [f"S{r[1] % n_sectors}" for r in rows],
        "mcap": rng.lognormal(mean=1.0, sigma=1.5, size=n),
    }
    for col in columns:
        values = rng.standard_t(df=3, size=n)
        if ties:
            values[rng.random(n) < 0.15] = 0.5
        values[rng.random(n) < 0.01] = 50.0  # outliers
        values[rng.random(n) < nan_frac] = np.nan
        data[col] = values
    df = pl.DataFrame(data)
    df = df.with_columns(
        [
            pl.when(pl.Series(rng.random(n) < null_frac)).then(None).otherwise(pl.col(c)).alias(c)
            for c in columns
        ]
        + [
            pl.when(pl.Series(rng.random(n) < 0.05))
            .then(None)
            .otherwise(pl.col("mcap"))
            .alias("mcap")
        ]
    )
    # a constant column on one date, and zero weights (negative weights raise:
    # tests/bad_inputs/test_consistency.py)
    df = df.with_columns(
        pl.when(pl.col("date") == 2)
        .then(pl.lit(1.25))
        .otherwise(pl.col(columns[0]))
        .alias(columns[0]),
        pl.when(pl.Series(rng.random(n) < 0.03))
        .then(pl.lit(0.0))
        .otherwise(pl.col("mcap"))
        .alias("mcap"),
    )
    return df.sample(fraction=1.0, shuffle=True, seed=int(rng.integers(1 << 31)))


@pytest.fixture
def panel(rng: np.random.Generator) -> pl.DataFrame:
    return make_panel(rng)


ENGINES = ["eager", "lazy-in-memory", "lazy-streaming"]


@pytest.fixture(params=ENGINES)
def run(request: pytest.FixtureRequest) -> Callable[[pl.DataFrame, FrameFn], pl.DataFrame]:
    """Apply ``fn`` to the panel as a DataFrame or LazyFrame and return a DataFrame."""
    kind = request.param

    def _run(df: pl.DataFrame, fn: FrameFn) -> pl.DataFrame:
        # Values turned null are reported with a DataLossWarning: by the call on an
        # eager frame, by the collect of a lazy plan. Record them here; dedicated tests
        # assert on them.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataLossWarning)
            if kind == "eager":
                out = fn(df)
                assert isinstance(out, pl.DataFrame)
            else:
                plan = fn(df.lazy())
                assert isinstance(plan, pl.LazyFrame)
                engine = "streaming" if kind == "lazy-streaming" else "in-memory"
                out = plan.collect(engine=engine)
        _run.warnings = [w.message for w in caught]  # type: ignore[attr-defined]
        assert all(isinstance(m, DataLossWarning) for m in _run.warnings)  # type: ignore[attr-defined]
        return out

    _run.kind = kind  # type: ignore[attr-defined]
    return _run
