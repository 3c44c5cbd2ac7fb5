"""Distributed cross-sectional regressions equal the in-process ones, for every executor.

Oracle: :func:`polars_factors.cross_section` on the same rows (itself tested against
statsmodels and linearmodels), to 1e-12: factor returns, standard errors, the
per-date statistics and every residual. Both layouts, four executors, OLS, WLS with
the Barra constraint, Huber; the errors a distributed run adds (layouts) and keeps
(negative weights, no usable row).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import polars_factors as pf
from polars_factors.exceptions import (
    InsufficientDataError,
    LayoutError,
    UnitsWarning,
    WeightError,
)
from tests.distributed.conftest import messy_panel, recorded

TOL = {"check_exact": False, "rel_tol": 1e-12, "abs_tol": 1e-12}
#: Standard errors, t-stats and R² come from the residual sum of squares, a difference
#: of sums (y'Wy - f'X'Wy) whose rounding grows like 1 / (1 - R²): on a date with R² =
#: 0.9995 a different order of the sums moves the t-stats by 1e-12 relative.
#: A condition number is computed from the eigenvalues of the (scaled) normal equations:
#: its rounding grows with itself (1.6e-11 relative at 1.2e5); so does a VIF's (an
#: element of the inverse of the normal equations).
SSR_TOL = {"check_exact": False, "rel_tol": 1e-9, "abs_tol": 1e-12}
FROM_SSR = ["std_error", "t_stat", "r2", "adj_r2", "condition_number", "max_vif"]

MODELS: dict[str, dict[str, Any]] = {
    "ols": {"exposures": ["x", "y"], "method": "ols", "country": True},
    "wls-barra": {
        "exposures": ["x", "y"],
        "industry": "sector",
        "country": True,
        "weights": "mcap",
        "constraint_weights": "mcap",
    },
    "wls-industry": {"exposures": ["x"], "industry": "sector", "weights": "mcap"},
}


def reference(
    panel: pl.DataFrame, **kw: Any
) -> tuple[pf.CrossSectionResult[pl.DataFrame], list[Any]]:
    exposures = kw.pop("exposures", ())
    return recorded(pf.cross_section, panel, "ret", exposures, check_keys=False, **kw)


def distributed(source: Any, **kw: Any) -> tuple[Any, list[Any]]:
    exposures = kw.pop("exposures", ())
    return recorded(pf.distributed.cross_section, source, "ret", exposures, **kw)


def assert_same(ours: pf.CrossSectionResult[Any], ref: pf.CrossSectionResult[pl.DataFrame]) -> None:
    got = ours.collect() if isinstance(ours.stats, pl.LazyFrame) else ours
    for frame in ("factor_returns", "stats"):
        a, b = getattr(got, frame), getattr(ref, frame)
        if frame == "stats":
            # A singular date's condition number (1e16 or inf) depends on the sums' order.
            singular = pl.col("status") == "singular"
            mask = pl.when(~singular).then(pl.col("condition_number")).alias("condition_number")
            a, b = a.with_columns(mask), b.with_columns(mask)
        assert_frame_equal(a.drop(FROM_SSR, strict=False), b.drop(FROM_SSR, strict=False), **TOL)
        assert_frame_equal(
            a.select(c for c in FROM_SSR if c in a.columns),
            b.select(c for c in FROM_SSR if c in b.columns),
            **SSR_TOL,
        )
    keys = ["date", "asset"]
    assert_frame_equal(got.residuals.sort(keys), ref.residuals.sort(keys), **TOL)
    assert got.method == ref.method


@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("layout", ["by_date", "by_asset"])
def test_linear_equals_in_process(
    model: str, layout: str, executor: Any, panel_df: pl.DataFrame, request: pytest.FixtureRequest
) -> None:
    ds = request.getfixturevalue(layout)
    ref, ref_warnings = reference(panel_df, **MODELS[model])
    ours, our_warnings = distributed(ds, executor=executor, **MODELS[model])
    assert_same(ours, ref)
    # The per-date warnings come from the one solve on the client: the same messages.
    assert sorted(our_warnings, key=str) == sorted(ref_warnings, key=str)


def test_residuals_written_per_task(
    by_asset: pf.distributed.Dataset, panel_df: pl.DataFrame, tmp_path: Path, dask_client: Any
) -> None:
    kw = MODELS["wls-barra"]
    ref, _ = reference(panel_df, **kw)
    out = tmp_path / "resid"
    ours, _ = distributed(by_asset, residuals_path=out, executor=dask_client, **kw)
    assert isinstance(ours.residuals, pl.LazyFrame)
    assert sorted(p.name for p in out.iterdir()) == [
        f"part-{i:05d}.parquet" for i in range(len(by_asset.parts))
    ]
    assert_same(ours, ref)
    # Each part holds the residuals of its file, in the file's row order.
    first = pl.read_parquet(by_asset.files[0]).select("date", "asset")
    assert pl.read_parquet(out / "part-00000.parquet").select("date", "asset").equals(first)
    # A second run replaces the folder whole.
    distributed(by_asset, residuals_path=out, **kw)
    assert len(list(out.iterdir())) == len(by_asset.parts)


def test_tasks_of_several_files(by_date: pf.distributed.Dataset, panel_df: pl.DataFrame) -> None:
    kw = MODELS["wls-barra"]
    ref, _ = reference(panel_df, **kw)
    groups = by_date.groups(rows=300)
    assert 1 < len(groups) < len(by_date.parts)
    ours, _ = distributed(by_date, rows=300, **kw)
    assert_same(ours, ref)


def test_any_files_for_sums(panel_df: pl.DataFrame, tmp_path: Path) -> None:
    """OLS/WLS need no layout: files cutting dates and assets anyhow give the same fit."""
    shuffled = panel_df.sample(fraction=1.0, shuffle=True, seed=3)
    for i, part in enumerate(shuffled.iter_slices(97)):
        part.write_parquet(tmp_path / f"f{i}.parquet")
    with pytest.raises(LayoutError, match="has rows in"):
        pf.distributed.dataset(tmp_path, by="date")
    kw = MODELS["wls-barra"]
    ref, _ = reference(panel_df, **kw)
    ours, _ = distributed(str(tmp_path / "*.parquet"), **kw)
    assert_same(ours, ref)


@pytest.mark.parametrize("executor_name", ["here", "dask"])
def test_huber_equals_in_process(
    by_date: pf.distributed.Dataset,
    panel_df: pl.DataFrame,
    executor_name: str,
    request: pytest.FixtureRequest,
) -> None:
    executor = None if executor_name == "here" else request.getfixturevalue("dask_client")
    kw = {
        "exposures": ["x", "y"],
        "industry": "sector",
        "country": True,
        "weights": "mcap",
        "method": "huber",
    }
    ref, ref_warnings = reference(panel_df, **kw)
    ours, our_warnings = distributed(by_date, executor=executor, **kw)
    assert_same(ours, ref)
    assert (ours.stats["iterations"] > 1).any()
    assert sorted(our_warnings, key=str) == sorted(ref_warnings, key=str)


def test_huber_part_without_usable_rows(panel_df: pl.DataFrame, tmp_path: Path) -> None:
    """A file whose dates have no usable row: its dates are 'no_data', as in-process."""
    dates = panel_df.get_column("date").unique().sort()
    late = pl.col("date") >= dates[12]
    panel = panel_df.with_columns(pl.when(late).then(None).otherwise(pl.col("ret")).alias("ret"))
    ds = pf.distributed.layout(panel, tmp_path, by="date", rows=150)
    assert any(
        pl.read_parquet(f).get_column("ret").null_count() == pl.read_parquet(f).height
        for f in ds.files
    )
    kw = {"exposures": ["x"], "industry": "sector", "method": "huber"}
    ref, _ = reference(panel, **kw)
    ours, _ = distributed(ds, **kw)
    assert_same(ours, ref)
    assert "no_data" in ours.stats["status"].to_list()


def test_huber_needs_whole_dates(
    by_asset: pf.distributed.Dataset, tmp_path: Path, panel_df: pl.DataFrame
) -> None:
    with pytest.raises(LayoutError, match="whole in one file"):
        pf.distributed.cross_section(by_asset, "ret", ["x"], method="huber")
    # Files given by name are checked for by='date' (here: dates split across files).
    for i, part in enumerate(panel_df.iter_slices(200)):
        part.write_parquet(tmp_path / f"f{i}.parquet")
    with pytest.raises(LayoutError, match=r"date 2021-01-01 has rows in \d+ files"):
        pf.distributed.cross_section(tmp_path, "ret", ["x"], method="huber")


def test_errors_from_workers_reach_the_client(
    panel_df: pl.DataFrame, tmp_path: Path, dask_client: Any
) -> None:
    bad = panel_df.with_columns(
        pl.when(pl.col("asset") == "A007").then(-1.0).otherwise(pl.col("mcap")).alias("mcap")
    )
    ds = pf.distributed.layout(bad, tmp_path / "neg", by="asset", rows=150)
    with pytest.raises(WeightError, match="negative 'mcap'"):
        pf.distributed.cross_section(ds, "ret", ["x"], weights="mcap", executor=dask_client)
    empty = panel_df.with_columns(pl.lit(None, dtype=pl.Float64).alias("ret"))
    ds = pf.distributed.layout(empty, tmp_path / "empty", by="date", rows=150)
    for method in ("wls", "huber"):
        with pytest.raises(InsufficientDataError, match="no row of the panel can be used"):
            pf.distributed.cross_section(ds, "ret", ["x"], method=method)  # type: ignore[arg-type]


def test_units_warning_from_a_worker(
    panel_df: pl.DataFrame, tmp_path: Path, dask_client: Any
) -> None:
    """An in-plan warning issued on a worker is issued again on the client."""
    percent = panel_df.with_columns(pl.col("ret") * 100)
    ds = pf.distributed.layout(percent, tmp_path, by="date", rows=10_000)
    _, caught = recorded(pf.distributed.cross_section, ds, "ret", ["x"], executor=dask_client)
    assert any(c is UnitsWarning and "percent" in m for c, m in caught), caught


def test_schema_errors_before_any_task(by_date: pf.distributed.Dataset) -> None:
    with pytest.raises(pf.ColumnNotFoundError, match="'rett'"):
        pf.distributed.cross_section(by_date, "rett", ["x"])
    with pytest.raises(ValueError, match="method"):
        pf.distributed.cross_section(by_date, "ret", ["x"], method="lad")  # type: ignore[arg-type]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 10_000),
    cuts=st.lists(st.integers(1, 600), min_size=1, max_size=6),
)
def test_any_cut_of_the_rows_gives_the_same_fit(
    seed: int, cuts: list[int], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Property: however the rows are cut into files, the WLS fit is the in-process one."""
    panel = messy_panel(seed, n_dates=8, n_assets=30).sample(fraction=1.0, shuffle=True, seed=seed)
    folder = tmp_path_factory.mktemp("cuts")
    bounds = sorted({0, *(c % panel.height for c in cuts), panel.height})
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        panel.slice(a, b - a).write_parquet(folder / f"f{i:02d}.parquet")
    kw = MODELS["wls-barra"]
    ref, _ = reference(panel, **kw)
    ours, _ = distributed(folder, **kw)
    assert_same(ours, ref)


@settings(max_examples=25, deadline=None)
@given(
    shapes=st.lists(st.tuples(st.integers(0, 4), st.booleans()), min_size=1, max_size=8),
    seed=st.integers(0, 1000),
)
def test_reduce_equals_one_group_by(shapes: list[tuple[int, bool]], seed: int) -> None:
    """Property: the incremental reduce (column-wise adds, waiting merges) is one group_by.

    Each drawn table covers either the same cells as the first (the column-wise path)
    or a shifted range of dates (the merge path).
    """
    from polars_factors.distributed._cross_section import _reduce  # noqa: PLC0415
    from polars_factors.regression._model import build_model  # noqa: PLC0415

    schema = pl.Schema(
        {
            "date": pl.Int64,
            "asset": pl.String,
            "ret": pl.Float64,
            "x": pl.Float64,
            "sector": pl.String,
        }
    )
    model = build_model(
        schema, returns="ret", exposures=["x"], industry="sector", country=True, weights=None,
        constraint_weights=None, method="ols", huber_t=1.345, max_iter=50, tol=1e-8,
        warn_excluded=0.5, date="date", asset="asset",
    )  # fmt: skip
    rng = np.random.default_rng(seed)
    tables = []
    for shift, same in shapes:
        dates = np.repeat(np.arange(5) + (0 if same else shift), 2)
        frame = pl.DataFrame(
            {
                "date": dates,
                "asset": [f"a{i}" for i in range(dates.size)],
                "ret": rng.normal(size=dates.size),
                "x": rng.normal(size=dates.size),
                "sector": ["s0", "s1"] * 5,
            }
        )
        tables.append(
            frame.lazy().select(model.row_columns()).group_by(model.cell)
            .agg(model.cell_sums(pl.col(model.col("w")))).collect().sort(model.cell)
        )  # fmt: skip
    ours = _reduce(iter(tables), model)
    oracle = pl.concat(tables).group_by(model.cell).agg(pl.all().sum()).sort(model.cell)
    assert_frame_equal(ours, oracle, check_dtypes=False, **TOL)
