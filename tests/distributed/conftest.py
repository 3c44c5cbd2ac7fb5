"""Fixtures of the distributed tests: messy multi-file panels in both layouts, executors.

The oracle of every test here is the in-process function on the same rows: a
distributed run must give its result to 1e-12 (sums are added in another order).
"""

from __future__ import annotations

import multiprocessing
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

import polars_factors as pf
from tests.conftest import make_panel

EXECUTORS = ["here", "threads", "processes", "dask"]


def messy_panel(seed: int = 7, *, n_dates: int = 18, n_assets: int = 45) -> pl.DataFrame:
    """A ragged panel with nulls, NaN, ties and zero weights; sorted by asset, then date."""
    rng = np.random.default_rng(seed)
    df = make_panel(rng, n_dates=n_dates, n_assets=n_assets, columns=("x", "y"))
    n = df.height
    ret = rng.normal(0.0, 0.02, size=n)
    ret[rng.random(n) < 0.05] = np.nan
    return df.with_columns(
        pl.Series("ret", ret).fill_nan(None),
        pl.Series("mkt", rng.normal(0.0, 0.01, size=n)),
        # Dates as real dates, for the lookback and the time-series functions.
        (pl.date(2021, 1, 1) + pl.duration(days=pl.col("date"))).alias("date"),
    ).sort("asset", "date")


@pytest.fixture(scope="session")
def panel_df() -> pl.DataFrame:
    return messy_panel()


@pytest.fixture(scope="session")
def by_date(
    panel_df: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> pf.distributed.Dataset:
    """The panel in files of whole dates (about 5 files)."""
    return pf.distributed.layout(panel_df, tmp_path_factory.mktemp("by_date"), by="date", rows=150)


@pytest.fixture(scope="session")
def by_asset(
    panel_df: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> pf.distributed.Dataset:
    """The panel in files of whole assets (about 5 files)."""
    return pf.distributed.layout(
        panel_df, tmp_path_factory.mktemp("by_asset"), by="asset", rows=150
    )


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Any]:
    """A LocalCluster of 2 worker processes, 1 thread each (skipped without the extra)."""
    pytest.importorskip("distributed")
    from dask.distributed import Client  # noqa: PLC0415

    with (
        pf.distributed.local_cluster(2, threads_per_worker=1, polars_threads=1) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        yield client


@pytest.fixture(scope="session")
def process_pool() -> Iterator[ProcessPoolExecutor]:
    # spawn: Polars is multi-threaded, and fork() of a threaded process can deadlock.
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


@pytest.fixture(scope="session")
def thread_pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2) as pool:
        yield pool


@pytest.fixture(params=EXECUTORS)
def executor(request: pytest.FixtureRequest) -> Any:
    """Each way to run the tasks: here, a thread pool, a process pool, a Dask cluster."""
    name = request.param
    if name == "here":
        return None
    fixture = {"threads": "thread_pool", "processes": "process_pool", "dask": "dask_client"}[name]
    return request.getfixturevalue(fixture)


def recorded(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, list[tuple[type[Warning], str]]]:
    """Call ``fn`` and return its result and the warnings it issued (category, message)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    return out, [(w.category, str(w.message)) for w in caught]


def files_of(ds: pf.distributed.Dataset) -> list[Path]:
    return [Path(p) for p in ds.files]
