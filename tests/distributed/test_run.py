"""Per-partition work on file groups equals the in-process call on the whole panel.

Oracle: the library function on the whole panel (each tested against its own
oracle elsewhere), to 1e-12. Per-date transforms on date files, rolling and
per-asset work on asset files, Fama-French sorts with a lookback, for every
executor; atomic output folders; the layout each kind of work needs.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import polars_factors as pf
from polars_factors.exceptions import DataLossWarning, LayoutError
from tests.distributed.conftest import recorded

TOL = {"check_exact": False, "rel_tol": 1e-12, "abs_tol": 1e-12}
#: Rolling windows slide their sums along the column (add the new row, take off the
#: old one), so their rounding depends on the rows before in the column, which differ
#: between one file and the whole panel: standard errors of 4-row windows (2 degrees
#: of freedom, a difference of sums) move by up to 1e-10.
ROLLING_TOL = {"check_exact": False, "rel_tol": 1e-9, "abs_tol": 1e-12}
KEYS = ["date", "asset"]


def terciles(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Cap-weighted tercile portfolios of ``x`` (a per-date aggregate)."""
    lf = pf.assign_buckets(lf, "x", n=3, check_keys=False)
    return pf.portfolio_returns(lf, "x_bucket", "ret", weights="mcap")


def ic(lf: pl.LazyFrame) -> pl.LazyFrame:
    return pf.information_coefficient(lf, "x", "ret").ic


PER_DATE: dict[str, Any] = {
    "standardize": partial(pf.standardize, columns=["x", "y"], weights="mcap", check_keys=False),
    "winsorize": partial(
        pf.winsorize,
        columns=["x", "y"],
        method="quantile",
        lower=0.05,
        upper=0.95,
        check_keys=False,
    ),
    "rank": partial(pf.rank, columns=["x"], check_keys=False),
    "neutralize": partial(
        pf.neutralize, columns="y", against="x", industry="sector", check_keys=False
    ),
    "buckets": partial(pf.assign_buckets, column="x", n=4, check_keys=False),
    "portfolios": terciles,
    "ic": ic,
}

PER_ASSET: dict[str, Any] = {
    "betas": partial(pf.betas, returns="ret", factors=["mkt"], window=5, min_periods=3),
    "ewm_betas": partial(pf.betas, returns="ret", factors=["mkt"], half_life=4.0),
    "ts_features": partial(pf.ts_features, price="mcap", window=4),
}


def sort_like(frame: pl.DataFrame) -> pl.DataFrame:
    keys = [c for c in (*KEYS, "x_bucket") if c in frame.columns]
    return frame.sort(keys)


def whole(fn: Any, panel: pl.DataFrame) -> tuple[pl.DataFrame, list[Any]]:
    out, caught = recorded(lambda: fn(panel.lazy()).collect())
    return sort_like(out), caught


@pytest.mark.parametrize("name", sorted(PER_DATE))
def test_per_date_work_on_date_files(
    name: str, by_date: pf.distributed.Dataset, panel_df: pl.DataFrame, executor: Any
) -> None:
    fn = PER_DATE[name]
    ref, ref_warnings = whole(fn, panel_df)
    ours, our_warnings = recorded(pf.distributed.collect, by_date, build=fn, executor=executor)
    assert_frame_equal(sort_like(ours), ref, **TOL)
    # Every warning of the whole-panel call also reaches the client (the tasks may
    # count its rows per file).
    assert {c for c, _ in ref_warnings} <= {c for c, _ in our_warnings}


@pytest.mark.parametrize("name", sorted(PER_ASSET))
def test_per_asset_work_on_asset_files(
    name: str,
    by_asset: pf.distributed.Dataset,
    panel_df: pl.DataFrame,
    executor: Any,
    tmp_path: Path,
) -> None:
    fn = PER_ASSET[name]
    ref, _ = whole(fn, panel_df)
    report, _ = recorded(
        pf.distributed.sink_parquet, by_asset, tmp_path / "out", build=fn, executor=executor
    )
    assert report.n_chunks == len(by_asset.parts)
    assert report.n_rows == ref.height
    assert_frame_equal(sort_like(pl.read_parquet(tmp_path / "out")), ref, **ROLLING_TOL)


def test_specific_risk_on_asset_files(
    by_asset: pf.distributed.Dataset, panel_df: pl.DataFrame, dask_client: Any
) -> None:
    fn = partial(pf.specific_risk, residual="ret", half_life=5.0, min_periods=3, check_keys=False)
    ref, _ = whole(fn, panel_df)
    ours, _ = recorded(pf.distributed.collect, by_asset, build=fn, executor=dask_client)
    assert_frame_equal(sort_like(ours), ref, **TOL)


def test_lookback_reads_the_previous_files(
    panel_df: pl.DataFrame, tmp_path: Path, dask_client: Any
) -> None:
    """Per-date outputs that need history: each task reads the window before its dates."""
    fn = partial(pf.betas, returns="ret", factors=["mkt"], window=4, min_periods=2)
    ds = pf.distributed.layout(panel_df.sort("date", "asset"), tmp_path / "d", by="date", rows=120)
    assert len(ds.parts) >= 4
    ref, _ = whole(fn, panel_df)
    # Dates are calendar days here, so a 4-row window needs at most 4 days (no gaps
    # longer than that for an asset within 6 days would change it: take 10d).
    ours, _ = recorded(pf.distributed.collect, ds, build=fn, lookback="10d", executor=dask_client)
    assert_frame_equal(sort_like(ours), ref, **ROLLING_TOL)
    # Without the lookback the first dates of every file lack their history.
    short, _ = recorded(pf.distributed.collect, ds, build=fn)
    assert not sort_like(short).equals(ref)


def test_fama_french_with_lookback(tmp_path: Path) -> None:
    """Sorts formed each June and held a year, on monthly files (25 months of lookback)."""
    panel = pf.datasets.synthetic_panel(n_dates=40, n_assets=60, interval="1mo", seed=2).panel
    panel = panel.with_columns(
        (pl.col("style_1").abs() + 0.1).alias("bm"), pl.col("returns").alias("ret")
    )
    ds = pf.distributed.layout(panel, tmp_path, by="date", rows=400)
    fn = partial(pf.fama_french, size="mcap", book_to_market="bm", check_keys=False)
    ref, _ = whole(fn, panel.collect())
    ours, _ = recorded(pf.distributed.collect, ds, build=fn, lookback="25mo")
    assert ref.height > 12
    assert_frame_equal(ours.sort("date"), ref.sort("date"), **TOL)


def test_warnings_of_workers_reach_the_client(
    by_date: pf.distributed.Dataset, dask_client: Any
) -> None:
    # Date 2 has a constant x: its z-scores are null and reported.
    fn = partial(pf.zscore, columns=["x"], check_keys=False)
    with pytest.warns(DataLossWarning, match="zero|constant|variance"):
        pf.distributed.collect(by_date, build=fn, executor=dask_client)


def test_sink_is_atomic(by_date: pf.distributed.Dataset, tmp_path: Path, dask_client: Any) -> None:
    out = tmp_path / "out"
    pf.distributed.sink_parquet(by_date, out, build=PER_DATE["rank"])
    before = sorted(p.name for p in out.iterdir())

    def fails_late(lf: pl.LazyFrame) -> pl.LazyFrame:
        return lf.with_columns(
            (pl.col("date").dt.day() == 15).cast(pl.Int8).alias("z")
        ).with_columns(
            pl.when(pl.col("z") == 1).then(pl.lit("x")).otherwise(pl.lit("1")).cast(pl.Int64)
        )

    with pytest.raises(pl.exceptions.InvalidOperationError, match=r"conversion|cast|strict"):
        pf.distributed.sink_parquet(by_date, out, build=fails_late, executor=dask_client)
    # The previous output is untouched and no partial folder is left beside it.
    assert sorted(p.name for p in out.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_failed_sink_waits_for_the_tasks_in_flight(
    by_date: pf.distributed.Dataset, tmp_path: Path, thread_pool: Any
) -> None:
    # The first task fails at once while the others are still running: the error is
    # raised only after they have ended, so none writes after the clean-up (a late
    # write could leave a partial folder beside the output).
    started: list[int] = []
    ended: list[int] = []
    first = by_date.files[0]

    def slow_or_failing(lf: pl.LazyFrame) -> pl.LazyFrame:
        def work(dates: pl.Series) -> pl.Series:
            started.append(dates.len())
            if dates.min() == pl.read_parquet(first)["date"].min():
                msg = "the first part fails"
                raise ValueError(msg)
            time.sleep(0.3)
            ended.append(dates.len())
            return dates

        return lf.with_columns(pl.col("date").map_batches(work, return_dtype=pl.Date))

    out = tmp_path / "out"
    with pytest.raises(Exception, match="the first part fails"):
        pf.distributed.sink_parquet(by_date, out, build=slow_or_failing, executor=thread_pool)
    assert len(ended) == len(started) - 1  # every other task that started has ended
    seen = (len(started), len(ended))
    time.sleep(0.8)  # nothing still in flight starts or ends later
    assert (len(started), len(ended)) == seen
    assert list(tmp_path.iterdir()) == []


def test_per_partition_work_needs_a_layout(
    by_date: pf.distributed.Dataset, by_asset: pf.distributed.Dataset
) -> None:
    loose = pf.distributed.dataset(by_date.files)
    with pytest.raises(LayoutError, match="whole in one file"):
        pf.distributed.collect(loose, build=PER_DATE["rank"])
    with pytest.raises(LayoutError, match="checked for by='date', not by='asset'"):
        pf.distributed.collect(by_date, by="asset", build=PER_DATE["rank"])
    with pytest.raises(ValueError, match="lookback"):
        pf.distributed.collect(by_asset, build=PER_DATE["rank"], lookback="3d")
    with pytest.raises(TypeError, match="build"):
        pf.distributed.collect(by_date, build="rank")  # type: ignore[arg-type]


def test_files_given_by_name(by_date: pf.distributed.Dataset, panel_df: pl.DataFrame) -> None:
    folder = Path(by_date.files[0]).parent
    fn = PER_DATE["standardize"]
    ref, _ = whole(fn, panel_df)
    for source in (folder, str(folder / "*.parquet"), by_date.files):
        ours, _ = recorded(pf.distributed.collect, source, by="date", build=fn)
        assert_frame_equal(sort_like(ours), ref, **TOL)


def test_rows_groups_files(
    by_date: pf.distributed.Dataset, panel_df: pl.DataFrame, tmp_path: Path
) -> None:
    fn = PER_DATE["standardize"]
    report, _ = recorded(pf.distributed.sink_parquet, by_date, tmp_path / "o", build=fn, rows=400)
    assert report.n_chunks == len(by_date.groups(400)) < len(by_date.parts)
    ref, _ = whole(fn, panel_df)
    assert_frame_equal(sort_like(pl.read_parquet(tmp_path / "o")), ref, **TOL)


@pytest.mark.parametrize("engine", ["in-memory", "streaming"])
def test_each_engine(
    engine: str,
    by_date: pf.distributed.Dataset,
    by_asset: pf.distributed.Dataset,
    panel_df: pl.DataFrame,
) -> None:
    fn = PER_DATE["standardize"]
    ref, _ = whole(fn, panel_df)
    ours, _ = recorded(pf.distributed.collect, by_date, build=fn, engine=engine)
    assert_frame_equal(sort_like(ours), ref, **TOL)
    kw: dict[str, Any] = {"industry": "sector", "country": True, "weights": "mcap"}
    ref_cs, _ = recorded(pf.cross_section, panel_df, "ret", ["x", "y"], check_keys=False, **kw)
    ours_cs, _ = recorded(
        pf.distributed.cross_section, by_asset, "ret", ["x", "y"], engine=engine, **kw
    )
    assert_frame_equal(ours_cs.factor_returns, ref_cs.factor_returns, **TOL)


def test_lookback_refuses_null_dates(panel_df: pl.DataFrame, tmp_path: Path) -> None:
    """With a lookback each task keeps its own dates: a null date would be lost, so it raises."""
    holes = panel_df.with_columns(
        pl.when(pl.col("asset") == "A001").then(None).otherwise(pl.col("date")).alias("date")
    ).sort("date", "asset", nulls_last=True)
    with pytest.raises(pf.InvalidDataError, match="rows have a null 'date'"):
        pf.distributed.layout(holes, tmp_path / "refused", by="date")
    assert not (tmp_path / "refused").exists()
    holes.filter(pl.col("date").is_not_null()).write_parquet(tmp_path / "dated.parquet")
    holes.filter(pl.col("date").is_null()).write_parquet(tmp_path / "undated.parquet")
    ds = pf.distributed.dataset(tmp_path, by="date")
    n_null = holes.get_column("date").null_count()
    assert sum(p.null_keys for p in ds.parts) == n_null > 0
    fn = PER_DATE["rank"]
    with pytest.raises(pf.InvalidDataError, match=rf"{n_null} rows have a null 'date'"):
        pf.distributed.collect(ds, build=fn, lookback="3d")
