"""Run the partitioned capabilities as tasks on a cluster (Dask distributed) or a pool.

The design's promise for panels that outgrow one machine: the sufficient-statistics
plans split by date and asset, and an existing distributed engine runs the pieces.
Here a task is a group of parquet files plus a small frozen spec (a model, or a
``build`` function); it returns a small frame or writes its own output file. No
serialized plan travels (they do not load across Polars versions), and every task
first checks that its worker runs the client's polars_factors and Polars.

- :func:`dataset` describes the files and checks their layout: ``by="date"`` (every
  date whole in one file, for per-date work) or ``by="asset"`` (every asset's
  history in one file, for rolling work); :func:`layout` writes such files.
- :func:`cross_section`: OLS/WLS as map (cell sums per file group), reduce and
  solve here, then a map for the residuals; Huber with each task fitting its dates.
- :func:`sink_parquet` / :func:`collect`: any per-partition work (``build``), e.g.
  ``standardize`` on date files, rolling ``betas`` or ``specific_risk`` on asset
  files; ``lookback=`` reads the window's overlap from the previous date files.
- ``executor=``: ``None`` runs here; a Dask ``Client``, ``Client.get_executor()``, a
  ``concurrent.futures`` executor or anything with ``map(fn, iterable)`` runs the
  tasks. :func:`local_cluster` and :func:`connect` start or reach a Dask cluster
  (extra ``dask``); :func:`check_workers` lists its workers and their versions.

The core library imports no engine; see docs/distributed.md ("Running on a cluster").

Examples
--------
>>> import tempfile
>>> from concurrent.futures import ThreadPoolExecutor
>>> from functools import partial
>>> import polars as pl
>>> import polars_factors as pf
>>> panel = pf.datasets.synthetic_panel(n_dates=20, n_assets=50, seed=1).panel
>>> ds = pf.distributed.layout(panel, tempfile.mkdtemp(), by="date", rows=250)
>>> std = partial(pf.standardize, columns=["style_1", "style_2"], check_keys=False)
>>> with ThreadPoolExecutor(2) as pool:
...     out = pf.distributed.collect(ds, build=std, executor=pool)
>>> out.sort("date", "asset").equals(std(panel).collect().sort("date", "asset"))
True
"""

from __future__ import annotations

from polars_factors.distributed._cluster import connect, local_cluster
from polars_factors.distributed._cross_section import cross_section
from polars_factors.distributed._dataset import Dataset, FilePart, dataset
from polars_factors.distributed._run import Build, collect, layout, sink_parquet
from polars_factors.distributed._tasks import Mapper, Versions, check_workers

__all__ = [
    "Build",
    "Dataset",
    "FilePart",
    "Mapper",
    "Versions",
    "check_workers",
    "collect",
    "connect",
    "cross_section",
    "dataset",
    "layout",
    "local_cluster",
    "sink_parquet",
]
