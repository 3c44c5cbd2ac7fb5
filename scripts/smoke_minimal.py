"""Smoke test of an install without the optional extras, on the newest Polars.

Run by ``.ci/run`` in a fresh virtual environment that has only the package's runtime
dependencies (``pip install . polars --upgrade``: no matplotlib, pandas, statsmodels).
Checks that the package imports and works, that what needs an extra says so with
``MissingDependencyError``, and prints the Polars version it ran on.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

import polars as pl

import polars_factors as pf


def main() -> int:
    for extra in ("matplotlib", "pandas", "statsmodels", "dask"):
        if importlib.util.find_spec(extra) is not None:
            print(f"smoke: {extra} is installed; this check needs an environment without it")
            return 1
    sim = pf.datasets.synthetic_panel(n_dates=30, n_assets=40, seed=1)
    styles = ["style_1", "style_2"]
    std = sim.panel.factors.standardize(styles, weights="mcap").collect()
    assert std.height == 30 * 40
    fit = pf.cross_section(sim.panel, "returns", styles, industry="industry", weights="mcap")
    fr = fit.factor_returns.collect()
    assert fr.height > 0
    chunked = pf.partition.collect(
        sim.panel,
        rows=400,
        build=lambda rows: (
            pf.cross_section(
                rows, "returns", styles, industry="industry", weights="mcap"
            ).factor_returns
        ),
    )
    assert chunked.height == fr.height
    # The distributed layer without Dask: files, tasks and a concurrent.futures pool.
    ds = pf.distributed.layout(sim.panel, tempfile.mkdtemp(), by="date", rows=400)
    with ThreadPoolExecutor(2) as pool:
        spread = pf.distributed.cross_section(
            ds, "returns", styles, industry="industry", weights="mcap", executor=pool
        )
    assert (spread.factor_returns["factor_return"] - fr["factor_return"]).abs().max() < 1e-12
    assert "dask" not in sys.modules, "polars_factors.distributed imported Dask"
    try:
        pf.distributed.local_cluster(2)
    except pf.MissingDependencyError as err:
        if "polars_factors[dask]" not in str(err):
            print(f"smoke: the error does not name the dask extra: {err}")
            return 1
    else:
        print("smoke: local_cluster without Dask did not raise MissingDependencyError")
        return 1
    cov = pf.risk.factor_covariance(fr, half_life_vol=10, half_life_corr=20, dates="last")
    assert cov.height > 0
    try:
        pf.plot.exposure_bar(pl.DataFrame({"asset": ["a"], "beta_mkt": [1.0]}))
    except pf.MissingDependencyError as err:
        if "matplotlib" not in str(err):
            print(f"smoke: the error does not name matplotlib: {err}")
            return 1
    else:
        print("smoke: a plot without matplotlib did not raise MissingDependencyError")
        return 1
    print(f"smoke: ok on Polars {pl.__version__}, Python {sys.version.split()[0]}, no extras")
    return 0


if __name__ == "__main__":
    sys.exit(main())
