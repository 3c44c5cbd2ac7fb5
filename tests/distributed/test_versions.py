"""Workers with other versions are refused; executors are checked; tasks travel light."""

from __future__ import annotations

import pickle
from typing import Any

import polars as pl
import pytest

import polars_factors as pf
from polars_factors.distributed import _tasks
from polars_factors.exceptions import WorkerVersionError


def test_versions_here() -> None:
    mine = pf.distributed.Versions.here()
    assert mine == pf.distributed.Versions(pf.__version__, pl.__version__)
    mine.check()
    other = pf.distributed.Versions("0.0.1", pl.__version__)
    with pytest.raises(
        WorkerVersionError,
        match=r"this worker runs polars_factors .* but the client runs polars_factors 0.0.1",
    ):
        other.check()


def test_a_task_checks_its_worker_first(by_date: pf.distributed.Dataset) -> None:
    """A task built by a client of another version is refused before it runs."""
    ran: list[int] = []
    task = _tasks.Task(lambda: ran.append(1), pf.distributed.Versions(pf.__version__, "0.19.0"))
    with pytest.raises(WorkerVersionError, match=r"Polars 0\.19\.0"):
        task()
    assert ran == []


def test_check_workers_lists_them(dask_client: Any) -> None:
    info = pf.distributed.check_workers(dask_client)
    assert info.height == 2
    assert info["polars_factors"].to_list() == [pf.__version__] * 2
    assert info["polars"].to_list() == [pl.__version__] * 2
    assert info["polars_threads"].to_list() == [1, 1]  # POLARS_MAX_THREADS before spawn


def _set_version(value: str) -> str:
    import polars_factors  # noqa: PLC0415

    old = polars_factors.__version__
    polars_factors.__version__ = value
    return old


def test_worker_with_another_version_is_refused(
    dask_client: Any, by_date: pf.distributed.Dataset
) -> None:
    worker = sorted(dask_client.scheduler_info()["workers"])[0]
    old = dask_client.run(_set_version, "9.9.9", workers=[worker])[worker]
    try:
        with pytest.raises(WorkerVersionError, match=rf"worker {worker} runs polars_factors 9.9.9"):
            pf.distributed.check_workers(dask_client)
        # A Client given as executor is checked before any task is sent.
        with pytest.raises(WorkerVersionError, match=r"9\.9\.9"):
            pf.distributed.cross_section(by_date, "ret", ["x"], executor=dask_client)
        # Through its executor, every task checks its own worker: the one that lands
        # on the bad worker refuses (the executor's client is checked first, too).
        with pytest.raises(WorkerVersionError, match=r"9\.9\.9"):
            pf.distributed.cross_section(by_date, "ret", ["x"], executor=dask_client.get_executor())
        # Same for the partition layer.
        plan = by_date.scan().factors.rank("x", check_keys=False)
        with pytest.raises(WorkerVersionError, match=r"9\.9\.9"):
            pf.partition.collect(plan, size=3, executor=dask_client)
    finally:
        dask_client.run(_set_version, old, workers=[worker])
    pf.distributed.check_workers(dask_client)


def test_executor_must_map() -> None:
    with pytest.raises(TypeError, match="`executor` must have a `map"):
        _tasks.resolve_executor(object())
    assert _tasks.resolve_executor(None) is None


def test_tasks_carry_file_names_not_data(by_date: pf.distributed.Dataset) -> None:
    """A task pickles to a few kB: file names and a spec, no rows, no serialized plan."""
    from polars_factors.distributed._cross_section import _CellSums  # noqa: PLC0415
    from polars_factors.regression._model import build_model  # noqa: PLC0415

    schema = pl.scan_parquet(by_date.files[0]).collect_schema()
    model = build_model(
        schema, returns="ret", exposures=["x"], industry="sector", country=True, weights=None,
        constraint_weights=None, method="ols", huber_t=1.345, max_iter=50, tol=1e-8,
        warn_excluded=0.5, date="date", asset="asset",
    )  # fmt: skip
    task = _tasks.Task(_CellSums(by_date.parts[:2], model, "auto"), pf.distributed.Versions.here())
    blob = pickle.dumps(task)
    assert len(blob) < 4_000
    assert pickle.loads(blob)().value.height > 0


def test_each_local_cluster_sizes_its_own_workers() -> None:
    """A cluster started earlier in the process does not impose its Polars threads."""
    pytest.importorskip("distributed")
    import os  # noqa: PLC0415

    from dask.distributed import Client  # noqa: PLC0415

    before = os.environ.get("POLARS_MAX_THREADS")
    for threads in (2, 1):
        with (
            pf.distributed.local_cluster(1, polars_threads=threads) as cluster,
            Client(cluster) as client,
        ):
            assert pf.distributed.check_workers(client)["polars_threads"].to_list() == [threads]
    assert os.environ.get("POLARS_MAX_THREADS") == before
