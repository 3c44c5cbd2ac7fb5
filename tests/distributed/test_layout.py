"""Laying out files, and the layout check that refuses files giving wrong answers.

Oracle: the rows themselves. A layout keeps every row exactly once, each key whole in
one file, in key order; the check names the first split key and its files.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import polars_factors as pf
from polars_factors.exceptions import ColumnNotFoundError, LayoutError
from tests.distributed.conftest import messy_panel

KEYS = ["date", "asset"]


@pytest.mark.parametrize("by", ["date", "asset"])
@pytest.mark.parametrize("source", ["frame", "lazy", "files"])
def test_layout_keeps_every_row_once(
    by: str, source: str, panel_df: pl.DataFrame, tmp_path: Path
) -> None:
    src: object = panel_df
    if source == "lazy":
        src = panel_df.lazy()
    elif source == "files":
        # Date-sorted source files, as a daily pipeline writes them.
        for i, part in enumerate(panel_df.sort(KEYS).iter_slices(120)):
            part.write_parquet(tmp_path / f"in-{i}.parquet")
        src = str(tmp_path / "in-*.parquet")
    ds = pf.distributed.layout(src, tmp_path / "out", by=by, rows=100)  # type: ignore[arg-type]
    assert ds.by == by
    assert ds.n_rows == panel_df.height
    back = pl.concat([pl.read_parquet(f) for f in ds.files])
    assert_frame_equal(back.sort(KEYS), panel_df.sort(KEYS))
    key = by
    seen: set[object] = set()
    for f in ds.files:
        keys = set(pl.read_parquet(f, columns=[key]).get_column(key).to_list())
        assert not keys & seen  # whole keys: none in two files
        seen |= keys
        assert (
            0
            < pl.read_parquet(f).height
            <= max(100, panel_df.filter(pl.col(key).is_in(list(keys))).height)
        )
    # Every asset's dates stay in order (the rolling functions need it).
    if by == "asset":
        for f in ds.files:
            part = pl.read_parquet(f)
            assert part.group_by("asset").agg(pl.col("date").is_sorted()).get_column("date").all()
    # Date files are in date order.
    if by == "date":
        assert [p.lo for p in ds.parts] == sorted(p.lo for p in ds.parts)


def test_dataset_reads_ranges_and_counts(
    by_date: pf.distributed.Dataset, panel_df: pl.DataFrame
) -> None:
    for part in by_date.parts:
        rows = pl.read_parquet(part.path)
        assert part.rows == rows.height
        assert (part.lo, part.hi) == (rows["date"].min(), rows["date"].max())
    assert by_date.n_rows == panel_df.height
    assert by_date.scan().select(pl.len()).collect().item() == panel_df.height


def test_split_date_is_refused_with_its_files(tmp_path: Path) -> None:
    day = dt.date(2024, 3, 1)
    pl.DataFrame({"date": [day, day], "asset": ["a", "b"]}).write_parquet(tmp_path / "one.parquet")
    pl.DataFrame({"date": [day, day + dt.timedelta(1)], "asset": ["c", "a"]}).write_parquet(
        tmp_path / "two.parquet"
    )
    with pytest.raises(
        LayoutError, match=r"date 2024-03-01 has rows in 2 files \(one.parquet, two.parquet\)"
    ) as err:
        pf.distributed.dataset(tmp_path, by="date")
    assert "1 dates are split" in str(err.value)
    assert "pf.distributed.layout(source, folder, by='date')" in str(err.value)
    with pytest.raises(LayoutError, match=r"asset 'a' has rows in 2 files"):
        pf.distributed.dataset(tmp_path, by="asset")
    # No promise asked: accepted (sums need none).
    assert pf.distributed.dataset(tmp_path).n_rows == 4


def test_null_keys_and_empty_files(tmp_path: Path) -> None:
    schema = {"date": pl.Int64, "asset": pl.String, "x": pl.Float64}
    pl.DataFrame(
        {"date": [1, None], "asset": ["a", "b"], "x": [1.0, 2.0]}, schema=schema
    ).write_parquet(tmp_path / "a.parquet")
    pl.DataFrame(
        {"date": [None, 2], "asset": ["c", "a"], "x": [1.0, 2.0]}, schema=schema
    ).write_parquet(tmp_path / "b.parquet")
    pl.DataFrame(schema=schema).write_parquet(tmp_path / "c.parquet")
    ds = pf.distributed.dataset(tmp_path, by="date")  # null dates belong to no date
    assert [(p.rows, p.lo, p.hi) for p in ds.parts] == [(2, 1, 1), (2, 2, 2), (0, None, None)]


def test_bad_sources(tmp_path: Path, by_date: pf.distributed.Dataset) -> None:
    with pytest.raises(FileNotFoundError, match="no parquet file"):
        pf.distributed.dataset(tmp_path / "nothing-*.parquet")
    with pytest.raises(FileNotFoundError, match="no file given"):
        pf.distributed.dataset([])
    with pytest.raises(ValueError, match="given twice"):
        pf.distributed.dataset([by_date.files[0], by_date.files[0]])
    with pytest.raises(ValueError, match="by"):
        pf.distributed.dataset(by_date.files, by="sector")  # type: ignore[arg-type]
    with pytest.raises(ColumnNotFoundError, match="'day'"):
        pf.distributed.dataset(by_date.files, date="day")


def test_groups_cut_files_into_tasks(by_date: pf.distributed.Dataset) -> None:
    assert by_date.groups() == [(p,) for p in by_date.parts]
    for rows in (1, 200, 10**9):
        groups = by_date.groups(rows)
        assert [p for g in groups for p in g] == list(by_date.parts)
        for g in groups:
            assert len(g) == 1 or sum(p.rows for p in g) <= rows
    assert len(by_date.groups(10**9)) == 1
    with pytest.raises(ValueError, match="rows"):
        by_date.groups(0)


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 1000),
    by=st.sampled_from(["date", "asset"]),
    rows=st.integers(1, 400),
)
def test_layout_property(
    seed: int, by: str, rows: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Property: any target size gives files of whole keys holding every row once."""
    panel = messy_panel(seed, n_dates=7, n_assets=25)
    ds = pf.distributed.layout(panel, tmp_path_factory.mktemp("prop"), by=by, rows=rows)  # type: ignore[arg-type]
    back = pl.concat([pl.read_parquet(f) for f in ds.files])
    assert_frame_equal(back.sort(KEYS), panel.sort(KEYS))
    owners = back.group_by(by).agg(pl.len())  # every key once per file it is in
    per_file = pl.concat(
        [
            pl.read_parquet(f, columns=[by]).unique().with_columns(pl.lit(i).alias("f"))
            for i, f in enumerate(ds.files)
        ]
    )
    assert per_file.group_by(by).agg(pl.len()).get_column("len").max() == 1
    assert owners.height == per_file.height
