"""What every distributed task shares: the version check, the warnings relay, the executor.

A task is a small frozen dataclass (a spec and a list of files) whose call runs on a
worker. It first compares the worker's versions of polars_factors and Polars with the
client's (:class:`Versions`): a frame pickled by one Polars may not load in another,
and a plan built by another polars_factors may compute something else. It then runs
with every warning recorded, and returns an :class:`Outcome`: its value and the
warnings, which the client issues again (a warning issued on a Dask worker would
otherwise only reach the worker's log).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
import os
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import polars as pl

from polars_factors._frame import user_stacklevel
from polars_factors.exceptions import WorkerVersionError

__all__ = [
    "DaskMapper",
    "FuturesMapper",
    "Mapper",
    "Outcome",
    "Task",
    "Versions",
    "check_workers",
    "resolve_executor",
    "run_tasks",
]

T = TypeVar("T")


class Mapper(Protocol):
    """Anything with ``map(fn, iterable)`` that yields results in order."""

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> Iterator[Any]:
        """Apply ``fn`` to every item, yielding the results in order."""
        ...


@dataclass(frozen=True)
class Versions:
    """The versions of polars_factors and Polars of one process."""

    polars_factors: str
    polars: str

    @classmethod
    def here(cls) -> Versions:
        """Return the versions of this process."""
        import polars_factors  # noqa: PLC0415  (the package itself, for its version)

        return cls(polars_factors.__version__, pl.__version__)

    def check(self, where: str = "this worker") -> None:
        """Raise :class:`WorkerVersionError` unless this process has these versions."""
        refuse(client=self, worker=Versions.here(), where=where)


def refuse(*, client: Versions, worker: Versions, where: str) -> None:
    """Raise :class:`WorkerVersionError` when a worker's versions differ from the client's."""
    if worker == client:
        return
    msg = (
        f"{where} runs polars_factors {worker.polars_factors} with Polars {worker.polars}, "
        f"but the client runs polars_factors {client.polars_factors} with Polars "
        f"{client.polars}: frames and plans do not travel between versions. Install the "
        "client's versions on every worker (the same environment or image), then restart "
        "the workers."
    )
    raise WorkerVersionError(msg)


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """A task's value and the warnings it issued (category, message)."""

    value: T
    warnings: tuple[tuple[type[Warning], str], ...]


#: Python's warning filters are global to a process (``catch_warnings`` is not
#: thread-safe before 3.14): the tasks of one process run one at a time, so that each
#: records its own warnings. Polars work is multi-threaded itself; parallelism comes
#: from worker processes (one Dask thread per worker).
_RECORDING = threading.RLock()


@dataclass(frozen=True)
class Task(Generic[T]):
    """Run ``work`` on a worker: check versions, record warnings, return an :class:`Outcome`."""

    work: Callable[[], T]
    versions: Versions

    def __call__(self) -> Outcome[T]:
        self.versions.check()
        with _RECORDING, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = self.work()
        return Outcome(value, tuple((w.category, str(w.message)) for w in caught))


def _call(task: Task[T]) -> Outcome[T]:
    return task()


@dataclass(frozen=True)
class DaskMapper:
    """Run tasks on a Dask client, a bounded number ahead, releasing each result once read.

    ``Client.get_executor().map`` keeps every future (and its result, on a worker)
    until the whole map is read, and hashes each task to merge equal ones
    (``pure=True``): at scale the workers would hold every task's result at once,
    and two equal tasks writing files would run once. Here at most ``ahead`` tasks
    are submitted and not yet read, each with ``pure=False``, and a result leaves the
    cluster when the client has it.
    """

    client: Any
    ahead: int

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> Iterator[Any]:
        """Apply ``fn`` to every item on the cluster, yielding the results in order."""
        # No cancel on failure: Dask's forgets a running task, which keeps running.
        return _windowed(
            lambda args: self.client.submit(fn, *args, pure=False),
            zip(*iterables, strict=True),
            self.ahead,
            cancel=False,
        )


def _windowed(
    submit: Callable[[tuple[Any, ...]], Any],
    items: Iterable[tuple[Any, ...]],
    ahead: int,
    *,
    cancel: bool,
) -> Iterator[Any]:
    """Submit ``items`` at most ``ahead`` in flight; yield their results in order.

    A result is released once read (Dask futures). When one raises, the tasks in
    flight are cancelled if ``cancel`` (only those not started are stopped) and then
    settled (:func:`_settle`) before the error propagates.
    """
    pending = iter(items)
    window = [submit(args) for args in itertools.islice(pending, ahead)]
    while window:
        future = window.pop(0)
        try:
            result = future.result()
        except BaseException:
            if cancel:
                for waiting in window:
                    waiting.cancel()
            _settle(window)
            raise
        _release(future)
        yield result
        window.extend(submit(args) for args in itertools.islice(pending, 1))


def _release(future: Any) -> None:
    release = getattr(future, "release", None)
    if callable(release):
        release()


def _settle(futures: list[Any]) -> None:
    """Wait for the tasks in flight to end, ignoring their results and errors.

    After a task failed, the caller removes what the tasks wrote (a partial output
    folder). A task already running cannot be stopped (Dask's ``cancel`` only
    forgets it; so does ``Future.cancel`` of a started ``concurrent.futures`` task),
    and one still writing after that clean-up would leave a partial file behind. The
    window is a few tasks: waiting for them costs at most one task's time.
    """
    for future in futures:
        with contextlib.suppress(BaseException):
            future.result()
        _release(future)


@dataclass(frozen=True)
class FuturesMapper:
    """Run tasks on a ``concurrent.futures`` executor, a bounded number ahead, in order.

    ``Executor.map`` submits every task at once and, when a result raises, leaves the
    started ones running while the caller cleans up; here at most ``ahead`` tasks are
    in flight, and after a failure they end before the error is raised.
    """

    executor: Any
    ahead: int

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> Iterator[Any]:
        """Apply ``fn`` to every item on the executor, yielding the results in order."""
        return _windowed(
            lambda args: self.executor.submit(fn, *args),
            zip(*iterables, strict=True),
            self.ahead,
            cancel=True,
        )


def _is_client(obj: object) -> bool:
    return callable(getattr(obj, "submit", None)) and callable(getattr(obj, "run", None))


def resolve_executor(executor: object) -> Mapper | None:
    """Return the mapper to run tasks with (``None``: in this process).

    A Dask ``Client`` (or its ``get_executor()``) becomes a :class:`DaskMapper` after
    :func:`check_workers`; a ``concurrent.futures`` executor a :class:`FuturesMapper`;
    anything else must have ``map``.
    """
    if executor is None or isinstance(executor, DaskMapper):
        return executor
    client = executor if _is_client(executor) else getattr(executor, "_client", None)
    if client is not None and _is_client(client):
        n_workers = len(check_workers(client))
        return DaskMapper(client, ahead=max(2 * n_workers, 4))
    if isinstance(executor, concurrent.futures.Executor):
        workers = getattr(executor, "_max_workers", None) or os.cpu_count() or 1
        return FuturesMapper(executor, ahead=max(2 * int(workers), 4))
    if not callable(getattr(executor, "map", None)):
        msg = (
            "`executor` must have a `map(fn, iterable)` method (a concurrent.futures "
            "executor, a Dask Client or Client.get_executor()); got "
            f"{type(executor).__name__}."
        )
        raise TypeError(msg)
    return executor  # type: ignore[return-value]


def _worker_info() -> dict[str, Any]:
    info = Versions.here()
    return {
        "polars_factors": info.polars_factors,
        "polars": info.polars,
        "polars_threads": pl.thread_pool_size(),
        "pid": os.getpid(),
    }


def check_workers(client: Any) -> pl.DataFrame:
    """Check that every worker of a Dask client runs the client's versions.

    Runs a tiny function on every worker (``client.run``).

    Parameters
    ----------
    client
        A ``dask.distributed.Client``.

    Returns
    -------
    pl.DataFrame
        ``worker, polars_factors, polars, polars_threads, pid``: one row per worker
        (``polars_threads`` is each worker's Polars thread pool: set
        ``POLARS_MAX_THREADS`` so that the workers of a machine do not oversubscribe
        its cores, see :func:`local_cluster`).

    Raises
    ------
    WorkerVersionError
        A worker runs another polars_factors or Polars version (the first one found
        is named).
    InsufficientDataError
        The client has no worker.

    Examples
    --------
    >>> from dask.distributed import Client
    >>> import polars_factors as pf
    >>> with pf.distributed.local_cluster(2, polars_threads=1) as cluster, Client(cluster) as c:
    ...     workers = pf.distributed.check_workers(c)
    >>> workers["polars_threads"].to_list(), workers["polars_factors"].n_unique()
    ([1, 1], 1)
    """
    from polars_factors.exceptions import InsufficientDataError  # noqa: PLC0415

    info: dict[str, dict[str, Any]] = client.run(_worker_info)
    if not info:
        msg = (
            "the Dask client has no worker; start workers or wait for them "
            "(client.wait_for_workers(n))."
        )
        raise InsufficientDataError(msg)
    mine = Versions.here()
    for address, row in sorted(info.items()):
        worker = Versions(row["polars_factors"], row["polars"])
        refuse(client=mine, worker=worker, where=f"worker {address}")
    return pl.DataFrame(
        [{"worker": address, **row} for address, row in sorted(info.items())],
        schema={
            "worker": pl.String,
            "polars_factors": pl.String,
            "polars": pl.String,
            "polars_threads": pl.Int64,
            "pid": pl.Int64,
        },
    )


def run_tasks(executor: Mapper | None, tasks: Sequence[Task[T]]) -> Iterator[T]:
    """Run tasks in order (through ``executor`` or here), re-issuing their warnings here.

    The warnings are issued once every task has run (or one failed): a task running
    in a thread of this process records every warning of the process while it runs,
    so one issued here meanwhile would be taken for the task's. Identical warnings
    of several tasks are issued once.
    """
    results = map(_call, tasks) if executor is None else executor.map(_call, tasks)
    pending: dict[tuple[type[Warning], str], None] = {}
    try:
        for outcome in results:
            pending.update(dict.fromkeys(outcome.warnings))
            yield outcome.value
    finally:
        for category, message in pending:
            warnings.warn(message, category, stacklevel=user_stacklevel())
