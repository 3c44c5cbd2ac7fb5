"""How tasks run on Dask: a bounded number ahead, each once, results released when read."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import polars_factors as pf
from polars_factors.distributed import _tasks
from polars_factors.exceptions import DataLossWarning, PartitionError


def _block(i: int) -> pl.DataFrame:
    return pl.DataFrame({"i": [i] * 1000})


def test_results_leave_the_cluster_once_read(dask_client: Any) -> None:
    mapper = _tasks.resolve_executor(dask_client)
    assert isinstance(mapper, _tasks.DaskMapper)
    assert mapper.ahead == 4  # 2 workers, 2 tasks each
    results = mapper.map(_block, range(12))
    held = []
    for k, frame in enumerate(results):
        assert frame["i"][0] == k
        time.sleep(0.05)  # let the tasks ahead finish
        held.append(sum(len(v) for v in dask_client.has_what().values()))
    # Dask's ClientExecutor would hold all 12 results until the end; here at most the
    # tasks ahead are on the cluster at any time.
    assert max(held) <= mapper.ahead
    assert held[-1] == 0


def _touch(path: str) -> int:
    with Path(path).open("a") as f:
        f.write("x")
    return 1


def test_equal_tasks_each_run(dask_client: Any, tmp_path: Path) -> None:
    """Tasks are submitted with pure=False: two equal tasks (writing a file) both run."""
    target = str(tmp_path / "count.txt")
    out = list(_tasks.resolve_executor(dask_client).map(_touch, [target, target, target]))  # type: ignore[union-attr]
    assert out == [1, 1, 1]
    assert Path(target).read_text() == "xxx"


def test_a_failing_task_cancels_the_rest(dask_client: Any) -> None:
    mapper = _tasks.resolve_executor(dask_client)
    with pytest.raises(ZeroDivisionError):
        list(mapper.map(lambda i: 1 / (i - 2), range(10)))  # type: ignore[union-attr]


def test_partition_chunks_relay_their_warnings(
    dask_client: Any, by_date: pf.distributed.Dataset
) -> None:
    """pf.partition with an executor: each chunk is a task (versions, warnings)."""
    plan = by_date.scan().factors.zscore("x", check_keys=False)
    with pytest.warns(DataLossWarning, match="'x'"):
        out = pf.partition.collect(plan, size=4, executor=dask_client)
    with pytest.warns(DataLossWarning):
        ref = plan.collect()
    assert out.sort("date", "asset").equals(ref.sort("date", "asset"))


def test_missing_scratch_file_is_an_error(tmp_path: Path, panel_df: pl.DataFrame) -> None:
    """A shuffled chunk whose scratch file a worker cannot see is refused, not empty."""
    from polars_factors.partition._run import chunked, shuffle_chunks  # noqa: PLC0415

    path = tmp_path / "panel.parquet"
    panel_df.sort("date").write_parquet(path)
    task = chunked(pl.scan_parquet(path), by="asset", size=10)
    shuffled = shuffle_chunks(task, key="asset", via="date", rows=200, scratch=tmp_path / "s")
    assert shuffled.parts is not None
    assert set(shuffled.parts) == {c.index for c in task.chunks}
    first = task.chunks[0]
    shuffled.parts[first.index].unlink()
    with pytest.raises(PartitionError, match="not visible here"):
        shuffled(first)
