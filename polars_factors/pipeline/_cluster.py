"""Where a run's per-chunk work goes: this process, a Dask cluster, or a given executor.

The per-chunk steps of the pipeline go through :mod:`polars_factors.partition`, whose
``executor=`` takes anything with ``map(fn, iterable)``. :func:`open_cluster` finds that
executor: the one passed to :func:`~polars_factors.pipeline.run`, or the Dask cluster
of ``[cluster] scheduler`` (``--scheduler``), a running scheduler
(:func:`polars_factors.distributed.connect`) or a ``LocalCluster`` started for the run
(:func:`polars_factors.distributed.local_cluster`) and closed at its end.

Each chunk then runs as a task of :mod:`polars_factors.distributed` (through
:func:`polars_factors.partition._run.map_chunks`): its worker's versions of
polars_factors and Polars are checked first, and its warnings are issued again here
(a warning on a Dask worker would otherwise only reach that worker's log), so that
the notes of a run are those of a run in one process.

Dask is imported only when a cluster is asked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from polars_factors.exceptions import ConfigError, MissingDependencyError
from polars_factors.partition import Mapper
from polars_factors.pipeline._config import LOCAL, ClusterConfig

__all__ = ["Cluster", "open_cluster"]


@dataclass(frozen=True)
class Cluster:
    """The executor of a run, and what the manifest and the summary say about it.

    Attributes
    ----------
    mapper
        What the per-chunk steps get as ``executor=``.
    scheduler
        The Dask scheduler's address (``None``: not a Dask executor).
    workers
        Number of Dask workers when the run started (``None``: not a Dask executor).
    local
        Whether the cluster was started for the run (``scheduler = "local"``).
    executor
        The executor's kind, e.g. ``"dask"`` or ``"ThreadPoolExecutor"``.
    """

    mapper: Mapper
    scheduler: str | None = None
    workers: int | None = None
    local: bool = False
    executor: str = "dask"

    def manifest(self) -> dict[str, object]:
        """Return the ``cluster`` entry of ``manifest.json``."""
        return {
            "executor": self.executor,
            "scheduler": self.scheduler,
            "workers": self.workers,
            "local": self.local,
        }

    def line(self) -> str:
        """Return the line of the run's summary."""
        if self.scheduler is None:
            return f"executor: {self.executor}"
        where = f"{self.scheduler} (local)" if self.local else self.scheduler
        plural = "" if self.workers == 1 else "s"
        return f"cluster: {where}, {self.workers} worker{plural}"


@contextmanager
def open_cluster(cfg: ClusterConfig, executor: object = None) -> Iterator[Cluster | None]:
    """Yield the executor of a run (``None``: this process), closing what it started.

    Parameters
    ----------
    cfg
        ``[cluster]`` of the configuration; used when ``executor`` is ``None``.
    executor
        A Dask ``Client``, ``Client.get_executor()``, a ``ThreadPoolExecutor`` or
        anything with ``map(fn, iterable)``; the caller closes it.

    Raises
    ------
    ConfigError
        No scheduler answers at ``cfg.scheduler`` within ``cfg.timeout``, or it has
        no worker by then.
    MissingDependencyError
        A cluster is asked for and Dask is not installed.
    WorkerVersionError
        A worker runs another polars_factors or Polars version than this process.
    TypeError
        ``executor`` has no ``map``, or is a ``ProcessPoolExecutor``.
    """
    if executor is not None:
        yield _given(executor)
    elif cfg.scheduler is None:
        yield None
    else:
        from polars_factors.distributed._tasks import resolve_executor  # noqa: PLC0415

        with _dask_client(cfg) as client:
            mapper = resolve_executor(client)  # submits with pure=False, a few tasks ahead
            yield _dask(client, mapper, local=cfg.scheduler == LOCAL)  # type: ignore[arg-type]


def _given(executor: object) -> Cluster | None:
    """Describe an executor passed to ``run`` (checking a Dask client's workers)."""
    from polars_factors.distributed._tasks import resolve_executor  # noqa: PLC0415

    if isinstance(executor, ProcessPoolExecutor):
        msg = (
            "a ProcessPoolExecutor cannot run the pipeline: it pickles with pickle, and "
            "the per-chunk tasks hold local functions, which only cloudpickle ships; use "
            "a Dask client (polars_factors.distributed.local_cluster) instead."
        )
        raise TypeError(msg)
    mapper = resolve_executor(executor)
    if mapper is None:
        return None
    client = getattr(mapper, "client", None)  # distributed._tasks.DaskMapper
    if client is not None and hasattr(client, "scheduler"):
        return _dask(client, mapper, local=False)
    return Cluster(mapper, executor=type(executor).__name__)


def _dask(client: Any, mapper: Mapper, *, local: bool) -> Cluster:
    return Cluster(
        mapper,
        scheduler=str(client.scheduler.address),
        workers=len(client.nthreads()),
        local=local,
    )


@contextmanager
def _dask_client(cfg: ClusterConfig) -> Iterator[Any]:
    """Yield a Dask client of ``cfg.scheduler`` (starting a local cluster), then close."""
    from polars_factors import distributed  # noqa: PLC0415

    try:
        import dask.distributed  # noqa: F401, PLC0415
    except ImportError as err:
        msg = (
            f"a Dask cluster (scheduler = {cfg.scheduler!r}, --scheduler or [cluster]) needs "
            "Dask: pip install 'polars_factors[dask]'"
        )
        raise MissingDependencyError(msg) from err
    with ExitStack() as stack:
        if cfg.scheduler == LOCAL:
            cluster = distributed.local_cluster(cfg.workers)
            stack.callback(cluster.close)
            address = str(cluster.scheduler_address)
        else:
            address = str(cfg.scheduler)
        try:
            client = distributed.connect(address, timeout=cfg.timeout)
        except TimeoutError as exc:  # wait_for_workers (an unreachable address is OSError)
            msg = (
                f"the Dask scheduler at {address} has no worker after {cfg.timeout:g} s (or "
                f"did not answer): start workers (dask worker {address}) or raise "
                "[cluster] timeout"
            )
            raise ConfigError(msg) from exc
        except OSError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            msg = (
                f"cannot reach the Dask scheduler at {address} (--scheduler or [cluster] "
                f"scheduler): {reason}; start it (dask scheduler) or check the address"
            )
            raise ConfigError(msg) from exc
        stack.callback(client.close)
        yield client
