"""Start a Dask cluster on this machine with one Polars thread pool per worker sized right."""

from __future__ import annotations

import os
from typing import Any

from polars_factors.exceptions import MissingDependencyError

__all__ = ["connect", "local_cluster"]

_POLARS_THREADS = "POLARS_MAX_THREADS"


def _dask() -> Any:
    try:
        import dask  # noqa: PLC0415
        import dask.distributed  # noqa: PLC0415
    except ImportError as err:
        msg = (
            "polars_factors.distributed needs Dask for a cluster: pip install "
            "'polars_factors[dask]' (any object with map(fn, iterable), such as a "
            "concurrent.futures executor, works without it)."
        )
        raise MissingDependencyError(msg) from err
    return dask


def local_cluster(
    n_workers: int = 2,
    *,
    threads_per_worker: int = 1,
    polars_threads: int | None = None,
    **kwargs: Any,
) -> Any:
    """Start a ``dask.distributed.LocalCluster`` whose workers are processes.

    Each worker's Polars thread pool gets ``polars_threads`` threads (default:
    the machine's cores divided among the workers), set through
    ``POLARS_MAX_THREADS`` before the worker process starts (Polars reads it once,
    at import; Dask's ``env=`` comes too late when the script imports Polars).

    Parameters
    ----------
    n_workers
        Number of worker processes.
    threads_per_worker
        Dask threads per worker (tasks run at once in a worker); 1 suits Polars
        work, which is multi-threaded itself.
    polars_threads
        Polars threads per worker.
    **kwargs
        Passed on to ``LocalCluster`` (e.g. ``memory_limit="4GiB"``); the
        dashboard is off unless ``dashboard_address`` is given.

    Returns
    -------
    dask.distributed.LocalCluster
        Use it as a context manager, and connect with ``Client(cluster)``.

    Raises
    ------
    MissingDependencyError
        Dask is not installed (extra ``dask``).

    Notes
    -----
    Workers are spawned processes: a script that starts a cluster must do so under
    ``if __name__ == "__main__":``.

    Examples
    --------
    >>> from dask.distributed import Client
    >>> import polars_factors as pf
    >>> with pf.distributed.local_cluster(2, polars_threads=1) as cluster, Client(cluster) as c:
    ...     threads = c.run(lambda: __import__("polars").thread_pool_size())
    >>> sorted(threads.values())  # each worker's Polars thread pool
    [1, 1]
    """
    dask = _dask()
    if polars_threads is None:
        polars_threads = max(1, (os.cpu_count() or 1) // max(n_workers, 1))
    # A free port: the scheduler serves HTTP (health, metrics) even without a dashboard,
    # on 8787 by default, which another cluster may hold.
    kwargs.setdefault("dashboard_address", ":0")
    # Dask's nannies read pre-spawn variables from os.environ before its config, and
    # write them into os.environ when they spawn: a cluster started earlier in this
    # process would impose its value. Both are set while the workers start, and the
    # process's own value is put back after (its Polars pool is already sized).
    value = str(polars_threads)
    environ = {"distributed.nanny.pre-spawn-environ.POLARS_MAX_THREADS": value}
    before = os.environ.get(_POLARS_THREADS)
    os.environ[_POLARS_THREADS] = value
    try:
        with dask.config.set(environ):
            cluster = dask.distributed.LocalCluster(
                n_workers=n_workers,
                threads_per_worker=threads_per_worker,
                processes=True,
                **kwargs,
            )
            if n_workers:  # zero workers: a scheduler alone, to add workers to later
                cluster.wait_for_workers(n_workers)
    finally:
        if before is None:
            os.environ.pop(_POLARS_THREADS, None)
        else:
            os.environ[_POLARS_THREADS] = before
    return cluster


def connect(address: str, *, timeout: float = 30.0) -> Any:
    """Connect to a Dask scheduler and check its workers' versions.

    Parameters
    ----------
    address
        The scheduler, e.g. ``"tcp://10.0.0.5:8786"``.
    timeout
        Seconds to wait for the scheduler.

    Returns
    -------
    dask.distributed.Client

    Raises
    ------
    MissingDependencyError
        Dask is not installed.
    OSError
        No scheduler answers at ``address`` within ``timeout``.
    TimeoutError
        The scheduler has no worker within ``timeout``.
    WorkerVersionError
        A worker runs another polars_factors or Polars version than this process.

    Examples
    --------
    >>> import polars_factors as pf
    >>> with pf.distributed.local_cluster(1) as cluster:
    ...     client = pf.distributed.connect(cluster.scheduler_address)
    ...     print(len(client.scheduler_info()["workers"]))
    ...     client.close()
    1
    """
    from polars_factors.distributed._tasks import check_workers  # noqa: PLC0415

    dask = _dask()
    client = dask.distributed.Client(address, timeout=timeout, set_as_default=False)
    try:
        client.wait_for_workers(1, timeout=timeout)
        check_workers(client)
    except BaseException:
        client.close()
        raise
    return client
