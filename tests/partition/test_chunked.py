"""The partition layer: chunked plans give the unchunked results, atomically written.

Oracle: the same plan collected whole. Every chunked run (``size=1``, ``size=3``,
``rows=7``; ``collect`` and both layouts of ``sink_parquet``) must give the same rows,
in the same order when the input is sorted by date, to 1e-12. Also: chunk planning,
empty inputs, the pushdown refusal (``PartitionError``), atomic writes, progress
callbacks and executors, and the key checks that run over key ranges on LazyFrames.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import itertools
import pickle
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import polars_factors as pf
from polars_factors import _validate
from polars_factors.exceptions import (
    ColumnNotFoundError,
    DataLossWarning,
    DuplicateKeyError,
    PartitionError,
    RankDeficientWarning,
    UnsortedError,
)
from polars_factors.partition import Chunk, _run
from polars_factors.partition._run import chunked
from tests.conftest import make_panel

TOL = {"check_exact": False, "rel_tol": 1e-12, "abs_tol": 1e-12}

Plan = Callable[[Any], Any]

# One plan per per-date transform; each works within a date, so it splits by date.
PLANS: dict[str, Plan] = {
    "standardize": lambda f: pf.standardize(f, ["x", "y"], weights="mcap"),
    "zscore": lambda f: pf.zscore(f, ["x", "y"], suffix="_z"),
    "winsorize": lambda f: pf.winsorize(f, ["x", "y"], method="quantile", lower=0.1, upper=0.8),
    "rank": lambda f: pf.rank(f, ["x", "y"]),
    "fill_missing": lambda f: pf.fill_missing(f, ["x", "y"], strategy="median"),
    "neutralize": lambda f: pf.neutralize(f, "y", against="x", industry="sector", weights="mcap"),
    "combine": lambda f: pf.combine(f, {"style": {"x": 0.7, "y": 0.3}}, weights="mcap"),
    "assign_buckets": lambda f: pf.portfolio.assign_buckets(f, "x", n=3),
}

# (chunking, output): every chunking with every output.
SPLITS: list[dict[str, int]] = [{"size": 1}, {"size": 3}, {"rows": 7}]
OUTPUTS = ["collect", "file", "directory"]

# The panels here have zero-spread groups on purpose; a lazy plan reports the values
# it turns null with a DataLossWarning when collected (tests/standardization asserts
# on it). Here only the numbers matter.
pytestmark = pytest.mark.filterwarnings("ignore::polars_factors.exceptions.DataLossWarning")


def _quiet(fn: Plan, frame: Any) -> Any:
    """Build a plan; its data-loss and rank warnings are tested elsewhere."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataLossWarning)
        warnings.simplefilter("ignore", RankDeficientWarning)
        return fn(frame)


def _run_split(plan: Any, output: str, path: Path, **kwargs: Any) -> pl.DataFrame:
    """Run ``plan`` chunk by chunk into ``output`` and read the result back."""
    if output == "collect":
        return pf.partition.collect(plan, **kwargs)
    report = pf.partition.sink_parquet(plan, path, layout=output, **kwargs)
    assert report.path == path
    if output == "file":
        assert report.files == (path,)
        assert path.is_file()
        back = pl.read_parquet(path)
    else:
        assert path.is_dir()
        names = sorted(p.name for p in path.iterdir())
        assert [p.name for p in report.files] == names
        assert names == [f"part-{i:05d}.parquet" for i in range(max(report.n_chunks, 1))]
        back = pl.read_parquet(path / "*.parquet")
    assert report.n_rows == back.height
    assert report.seconds >= 0
    return back


def _write_files(df: pl.DataFrame, directory: Path, cuts: list[int]) -> list[Path]:
    """Write ``df`` into consecutive parquet files cut at the given row offsets."""
    directory.mkdir()
    bounds = [0, *cuts, df.height]
    paths = []
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        paths.append(directory / f"f{i}.parquet")
        df.slice(a, b - a).write_parquet(paths[-1])
    return paths


@pytest.fixture
def sorted_panel(rng: np.random.Generator) -> pl.DataFrame:
    """A ragged panel (a one-asset date, nulls, NaN) sorted by date, assets shuffled."""
    return make_panel(rng, n_dates=9, n_assets=12).sort("date", maintain_order=True)


@pytest.fixture
def panel_files(sorted_panel: pl.DataFrame, tmp_path: Path) -> list[Path]:
    """The sorted panel in four parquet files whose boundaries cut through dates."""
    n = sorted_panel.height
    cuts = [n // 5, n // 2 - 1, (4 * n) // 5]
    dates = sorted_panel["date"]
    # each cut falls inside a date (the date continues in the next file)
    assert all(dates[c - 1] == dates[c] for c in cuts)
    return _write_files(sorted_panel, tmp_path / "in", cuts)


def _source(kind: str, df: pl.DataFrame, files: list[Path]) -> Any:
    if kind == "eager":
        return df
    if kind == "lazy":
        return df.lazy()
    return pl.scan_parquet(files)


# --- 1. chunked == unchunked ------------------------------------------------------


@pytest.mark.parametrize("kind", ["eager", "lazy", "parquet"])
@pytest.mark.parametrize("name", list(PLANS))
def test_chunked_equals_whole(
    sorted_panel: pl.DataFrame, panel_files: list[Path], tmp_path: Path, name: str, kind: str
) -> None:
    fn = PLANS[name]
    expected = _quiet(fn, sorted_panel.lazy()).collect()
    plan = _quiet(fn, _source(kind, sorted_panel, panel_files))
    assert isinstance(plan, pl.DataFrame if kind == "eager" else pl.LazyFrame)
    for i, split in enumerate(SPLITS):
        for output in OUTPUTS:
            out = _run_split(plan, output, tmp_path / f"out{i}_{output}", **split)
            assert_frame_equal(out, expected, **TOL)


def test_splits_cut_across_files(sorted_panel: pl.DataFrame, panel_files: list[Path]) -> None:
    # some chunks of rows=7 (and size=3) hold rows of two files
    starts = np.cumsum([pl.read_parquet(p).height for p in panel_files])[:-1]
    rows = sorted_panel.with_row_index()
    for split in SPLITS[1:]:
        chunks = pf.partition.plan_chunks(pl.scan_parquet(panel_files), **split)
        spans = [
            rows.filter(pl.col("date").is_between(c.lo, c.hi))["index"].to_list() for c in chunks
        ]
        assert sum(len(s) for s in spans) == rows.height
        assert any(s[0] < start <= s[-1] for s in spans for start in starts)


@pytest.mark.parametrize("name", ["standardize", "rank", "neutralize", "assign_buckets"])
def test_unsorted_input_same_rows(rng: np.random.Generator, tmp_path: Path, name: str) -> None:
    """Shuffled input: chunks come out in date order, with the same rows and values."""
    df = make_panel(rng, n_dates=7, n_assets=10)
    assert not df["date"].is_sorted()
    plan = _quiet(PLANS[name], df.lazy())
    expected = plan.collect().sort("date", "asset")
    for output in OUTPUTS:
        out = _run_split(plan, output, tmp_path / output, size=2)
        assert (out["date"] // 2).is_sorted()  # chunks (0, 1), (2, 3)... in order
        assert_frame_equal(out.sort("date", "asset"), expected, **TOL)


def test_null_dates_are_left_out(sorted_panel: pl.DataFrame) -> None:
    df = sorted_panel.with_columns(
        pl.when(pl.col("date") == 4).then(None).otherwise(pl.col("date")).alias("date")
    )
    assert df["date"].null_count() > 0
    plan = pf.zscore(df.lazy(), ["x", "y"])
    n_null = df["date"].null_count()
    with pytest.warns(
        DataLossWarning, match=rf"{n_null} rows have a null 'date': they belong to no"
    ):
        out = pf.partition.collect(plan, size=2)
    # a date's z-scores do not depend on the null-date rows, which belong to no chunk
    assert_frame_equal(out, plan.collect().filter(pl.col("date").is_not_null()), **TOL)


# --- 2. per-asset work: build= -------------------------------------------------------


def _ts_panel(rng: np.random.Generator, n_dates: int = 60, n_assets: int = 7) -> pl.DataFrame:
    """Date-major panel: ragged asset histories (one shorter than the window), missing returns."""
    start = dt.date(2020, 1, 1)
    mkt = rng.normal(0.0, 0.01, n_dates)
    smb = rng.normal(0.0, 0.01, n_dates) + 0.3 * mkt
    rows = []
    for a in range(n_assets):
        first, last = int(rng.integers(0, 15)), n_dates - int(rng.integers(0, 15))
        if a == 2:
            first, last = 20, 30  # shorter than the window
        beta = rng.normal([1.0, 0.3], 0.4)
        for d in range(first, last):
            y = 2e-4 + beta[0] * mkt[d] + beta[1] * smb[d] + rng.normal(0.0, 0.01)
            rows.append((start + dt.timedelta(days=d), f"A{a:02d}", y, mkt[d], smb[d]))
    df = pl.DataFrame(rows, schema=["date", "asset", "ret", "mkt", "smb"], orient="row")
    n = df.height
    missing = rng.random(n)
    ret = pl.when(pl.Series(missing < 0.05)).then(None)
    ret = ret.when(pl.Series(missing > 0.97)).then(float("nan")).otherwise(pl.col("ret"))
    return df.with_columns(ret.alias("ret")).sort("date", "asset")


def _rolling_betas(rows: pl.LazyFrame) -> pl.LazyFrame:
    return pf.betas(rows, "ret", ["mkt", "smb"], window=20)


@pytest.mark.parametrize("kind", ["eager", "lazy", "parquet"])
def test_rolling_betas_by_asset_with_build(
    rng: np.random.Generator, tmp_path: Path, kind: str
) -> None:
    df = _ts_panel(rng)
    files = _write_files(df, tmp_path / "in", [df.height // 3, (2 * df.height) // 3])
    expected = _rolling_betas(df.lazy()).collect().sort("asset", "date")
    assert expected["beta_mkt"].drop_nulls().len() > 100
    source = _source(kind, df, files)
    for i, split in enumerate([{"size": 1}, {"size": 3}, {"rows": 50}]):
        for output in OUTPUTS:
            out = _run_split(
                source,
                output,
                tmp_path / f"b{i}{output}",
                by="asset",
                build=_rolling_betas,
                **split,
            )
            assert_frame_equal(out.sort("asset", "date"), expected, **TOL)


def test_full_sample_betas_split_by_asset(rng: np.random.Generator) -> None:
    # a per-asset group_by needs no build=: the asset filter reaches the data
    lf = _ts_panel(rng).lazy()
    plan = pf.betas(lf, "ret", ["mkt", "smb"])
    assert_frame_equal(pf.partition.collect(plan, by="asset", size=2), plan.collect(), **TOL)


def test_rolling_betas_plan_cannot_split_by_asset(rng: np.random.Generator, tmp_path: Path) -> None:
    plan = _rolling_betas(_ts_panel(rng).lazy())
    target = tmp_path / "betas.parquet"
    with pytest.raises(PartitionError, match=r"cannot be split by asset"):
        pf.partition.sink_parquet(plan, target, by="asset", size=2)
    with pytest.raises(PartitionError):
        pf.partition.collect(plan, by="asset", rows=100)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "step",
    [
        lambda key: pl.col("x").rolling_mean(2).over(key),
        lambda key: pl.col("x").shift(1).over(key),
        lambda key: pl.col("x").cum_sum().over(key),
    ],
    ids=["rolling_mean", "shift", "cum_sum"],
)
def test_window_over_asset_cannot_split_by_date(
    sorted_panel: pl.DataFrame, tmp_path: Path, step: Callable[[str], pl.Expr]
) -> None:
    plan = sorted_panel.lazy().with_columns(step("asset").alias("w"))
    with pytest.raises(PartitionError, match=r"cannot be split by date.*by='asset'"):
        pf.partition.collect(plan, size=3)
    chunks = pf.partition.plan_chunks(sorted_panel, size=1)
    with pytest.raises(PartitionError):
        pf.partition.sink_parquet(plan, tmp_path / "w.parquet", chunks=chunks)
    assert list(tmp_path.iterdir()) == []
    # the same step per date splits fine by date
    per_date = sorted_panel.lazy().with_columns(step("date").alias("w"))
    assert_frame_equal(pf.partition.collect(per_date, size=3), per_date.collect(), **TOL)


# --- 3. empty inputs -----------------------------------------------------------------


def test_empty_input(tmp_path: Path) -> None:
    empty = pl.DataFrame(
        schema={"date": pl.Date, "asset": pl.String, "x": pl.Float64, "mcap": pl.Float64}
    )
    plan = pf.standardize(empty.lazy(), "x", weights="mcap", suffix="_std")
    schema = plan.collect_schema()
    assert "x_std" in schema
    assert pf.partition.plan_chunks(plan) == []
    out = pf.partition.collect(plan, size=1)
    assert out.height == 0
    assert out.schema == schema
    for layout in ("file", "directory"):
        path = tmp_path / layout
        report = pf.partition.sink_parquet(plan, path, layout=layout)
        assert (report.n_chunks, report.n_rows) == (0, 0)
        back = pl.read_parquet(path if layout == "file" else path / "*.parquet")
        assert back.height == 0
        assert back.schema == schema


def test_all_null_dates_give_no_chunk(tmp_path: Path) -> None:
    df = pl.DataFrame(
        {"date": pl.Series([None, None, None], dtype=pl.Date), "asset": list("abc")}
    ).with_columns(x=pl.Series([1.0, 2.0, None]))
    plan = pf.zscore(df.lazy(), "x")
    assert pf.partition.plan_chunks(df) == []
    assert pf.partition.plan_chunks(df, rows=1) == []
    seen: list[tuple[Chunk, int]] = []
    out = pf.partition.collect(plan, on_chunk=lambda c, n: seen.append((c, n)))
    assert seen == []
    assert out.height == 0
    assert out.schema == plan.collect_schema()
    report = pf.partition.sink_parquet(plan, tmp_path / "z.parquet")
    assert report.n_chunks == 0
    assert pl.read_parquet(tmp_path / "z.parquet").schema == plan.collect_schema()


def test_empty_input_with_build(tmp_path: Path) -> None:
    empty = pl.DataFrame(
        schema={"date": pl.Date, "asset": pl.String, "ret": pl.Float64, "mkt": pl.Float64}
    )
    columns = pf.betas(empty.lazy(), "ret", "mkt", window=5).collect_schema().names()
    assert "beta_mkt" in columns

    def build(rows: pl.LazyFrame) -> pl.LazyFrame:
        return pf.betas(rows, "ret", "mkt", window=5)

    assert pf.partition.collect(empty, by="asset", build=build).columns == columns
    pf.partition.sink_parquet(empty, tmp_path / "b", by="asset", build=build, layout="directory")
    assert pl.read_parquet(tmp_path / "b" / "*.parquet").columns == columns


# --- 4. atomic writes ----------------------------------------------------------------


class _FailOn:
    """A ``build`` that raises on its ``n``-th call."""

    def __init__(self, n: int) -> None:
        self.n, self.calls = n, 0

    def __call__(self, rows: pl.LazyFrame) -> pl.LazyFrame:
        self.calls += 1
        if self.calls == self.n:
            msg = "chunk failed"
            raise RuntimeError(msg)
        return rows


def _snapshot(path: Path) -> dict[str, bytes]:
    if path.is_file():
        return {"": path.read_bytes()}
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


@pytest.mark.parametrize("layout", ["file", "directory"])
@pytest.mark.parametrize("existing", [False, True])
def test_failed_chunk_leaves_nothing(
    sorted_panel: pl.DataFrame, tmp_path: Path, layout: str, existing: bool
) -> None:
    target = tmp_path / "out" / "result"
    target.parent.mkdir()
    if existing:
        old = sorted_panel.head(3)
        if layout == "file":
            old.write_parquet(target)
        else:
            target.mkdir()
            old.write_parquet(target / "part-00000.parquet")
            (target / "notes.txt").write_text("keep me")
        before = _snapshot(target)
    build = _FailOn(2)
    with pytest.raises(RuntimeError, match="chunk failed"):
        pf.partition.sink_parquet(sorted_panel, target, size=2, layout=layout, build=build)
    assert build.calls == 2
    assert [p.name for p in target.parent.iterdir()] == (["result"] if existing else [])
    if existing:
        assert _snapshot(target) == before


@pytest.mark.parametrize("layout", ["file", "directory"])
def test_failed_callback_leaves_nothing(
    sorted_panel: pl.DataFrame, tmp_path: Path, layout: str
) -> None:
    def on_chunk(chunk: Chunk, n_rows: int) -> None:
        if chunk.index == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pf.partition.sink_parquet(
            sorted_panel, tmp_path / "r", size=2, layout=layout, on_chunk=on_chunk
        )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("old_layout", "layout"), [("file", "file"), ("directory", "directory"), ("directory", "file")]
)
def test_success_replaces_existing(
    sorted_panel: pl.DataFrame, tmp_path: Path, old_layout: str, layout: str
) -> None:
    target = tmp_path / "result"
    stale = pl.DataFrame({"stale": [1, 2]})
    if old_layout == "file":
        stale.write_parquet(target)
    else:
        target.mkdir()
        for i in range(12):  # more parts than the new run writes
            stale.write_parquet(target / f"part-{i:05d}.parquet")
    out = _run_split(sorted_panel, layout, target, size=3)
    assert_frame_equal(out, sorted_panel)
    assert [p.name for p in tmp_path.iterdir()] == ["result"]


def test_directory_replaces_existing_file(sorted_panel: pl.DataFrame, tmp_path: Path) -> None:
    target = tmp_path / "result"
    target.write_text("old")
    out = _run_split(sorted_panel, "directory", target, size=3)
    assert_frame_equal(out, sorted_panel)


# --- 5. plan_chunks ------------------------------------------------------------------


@pytest.fixture
def counted() -> pl.DataFrame:
    """Dates 10..50 with 3, 1, 5, 2, 2 rows (shuffled), and two null-date rows."""
    counts = {10: 3, 20: 1, 30: 5, 40: 2, 50: 2}
    dates = [d for d, n in counts.items() for _ in range(n)] + [None, None]
    df = pl.DataFrame({"date": dates}, schema={"date": pl.Int64}).with_row_index("i")
    df = df.with_columns(asset=pl.format("a{}", pl.col("i")), x=pl.col("i").cast(pl.Float64))
    return df.drop("i").sample(fraction=1.0, shuffle=True, seed=7)


def _ranges(chunks: list[Chunk]) -> list[tuple[Any, Any, int]]:
    return [(c.lo, c.hi, c.n_keys) for c in chunks]


def test_plan_chunks_rows(counted: pl.DataFrame) -> None:
    chunks = pf.partition.plan_chunks(counted.lazy(), rows=4)
    # 3+1 fit in 4; 5 is over the target and gets a chunk of its own; then 2+2
    assert _ranges(chunks) == [(10, 20, 2), (30, 30, 1), (40, 50, 2)]
    assert [(c.index, c.count, c.column) for c in chunks] == [(i, 3, "date") for i in range(3)]
    assert _ranges(pf.partition.plan_chunks(counted, rows=1)) == [
        (d, d, 1) for d in (10, 20, 30, 40, 50)
    ]
    assert _ranges(pf.partition.plan_chunks(counted, rows=6)) == [
        (10, 20, 2),
        (30, 30, 1),
        (40, 50, 2),
    ]
    assert _ranges(pf.partition.plan_chunks(counted, rows=9)) == [(10, 30, 3), (40, 50, 2)]
    assert _ranges(pf.partition.plan_chunks(counted)) == [(10, 50, 5)]


def test_plan_chunks_size(counted: pl.DataFrame) -> None:
    chunks = pf.partition.plan_chunks(counted, size=2)
    assert _ranges(chunks) == [(10, 20, 2), (30, 40, 2), (50, 50, 1)]
    assert [c.index for c in chunks] == [0, 1, 2]
    assert {c.count for c in chunks} == {3}
    assert _ranges(pf.partition.plan_chunks(counted, size=5)) == [(10, 50, 5)]
    assert _ranges(pf.partition.plan_chunks(counted, size=100)) == [(10, 50, 5)]


def test_plan_chunks_by_asset_string_keys() -> None:
    df = pl.DataFrame({"date": [1, 1, 1, 2, 2], "asset": ["b", "a", "c", "a", "b"]})
    chunks = pf.partition.plan_chunks(df, by="asset", size=2)
    assert _ranges(chunks) == [("a", "b", 2), ("c", "c", 1)]
    assert {c.column for c in chunks} == {"asset"}
    # chunks by rows: a and b have 2 rows each
    assert _ranges(pf.partition.plan_chunks(df, by="asset", rows=3)) == [
        ("a", "a", 1),
        ("b", "c", 2),
    ]
    # a string key is a value, never read as a column name
    named = df.with_columns(a=pl.lit(0.0), b=pl.lit(1.0))
    out = pf.partition.collect(named, by="asset", size=1)
    assert_frame_equal(out, named.sort("asset", maintain_order=True))


@pytest.mark.parametrize(
    "dates",
    [
        pl.date_range(dt.date(2024, 1, 1), dt.date(2024, 1, 5), "1d", eager=True),
        pl.datetime_range(dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 3), "12h", eager=True),
        pl.datetime_range(
            dt.datetime(2024, 1, 1),
            dt.datetime(2024, 1, 5),
            "1d",
            time_zone="Asia/Tokyo",
            eager=True,
        ),
        pl.datetime_range(
            dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 5), "1d", time_unit="ms", eager=True
        ),
    ],
    ids=["date", "datetime", "datetime-tz", "datetime-ms"],
)
def test_temporal_keys(dates: pl.Series, tmp_path: Path) -> None:
    df = pl.DataFrame({"date": dates.gather([4, 0, 2, 1, 3, 0, 4, 2])}).with_columns(
        asset=pl.Series(list("abcdefgh")), x=pl.int_range(8).cast(pl.Float64)
    )
    chunks = pf.partition.plan_chunks(df, size=2)
    lows = dates.gather([0, 2, 4]).to_list()
    assert [c.lo for c in chunks] == lows
    assert [c.hi for c in chunks] == dates.gather([1, 3, 4]).to_list()
    plan = df.lazy().with_columns(x=pl.col("x") - pl.col("x").mean().over("date"))
    expected = plan.collect().sort("date", "asset")
    for output in OUTPUTS:
        out = _run_split(plan, output, tmp_path / output, size=2)
        assert out.height == df.height
        assert_frame_equal(out.sort("date", "asset"), expected, **TOL)


def test_nanosecond_keys() -> None:
    ns = pl.Series("date", [0, 500, 1000, 1500, 2500]).cast(pl.Datetime("ns"))
    df = pl.DataFrame({"date": ns, "asset": list("abcde"), "x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    chunks = pf.partition.plan_chunks(df, size=1)
    assert all(a.hi < b.lo for a, b in itertools.pairwise(chunks))
    assert_frame_equal(pf.partition.collect(df, size=2), df)


def test_explicit_chunks(sorted_panel: pl.DataFrame, tmp_path: Path) -> None:
    plan = pf.zscore(sorted_panel.lazy(), "x")
    chunks = pf.partition.plan_chunks(sorted_panel, size=4)
    expected = pf.partition.collect(plan, size=4)
    assert_frame_equal(pf.partition.collect(plan, chunks=chunks), expected)
    out = _run_split(plan, "directory", tmp_path / "d", chunks=chunks)
    assert_frame_equal(out, expected)
    # a subset of the chunks runs only those dates
    some = pf.partition.collect(plan, chunks=chunks[1:2])
    assert some["date"].unique().sort().to_list() == list(range(chunks[1].lo, chunks[1].hi + 1))
    assert pf.partition.collect(plan, chunks=[]).height == 0


def test_explicit_chunks_rejected(sorted_panel: pl.DataFrame, tmp_path: Path) -> None:
    plan = sorted_panel.lazy()
    one, two = pf.partition.plan_chunks(sorted_panel, size=3)[:2]
    overlap = Chunk(column="date", lo=one.lo, hi=two.lo, index=0, count=2, n_keys=4)
    with pytest.raises(ValueError, match="overlap"):
        pf.partition.collect(plan, chunks=[overlap, two])
    with pytest.raises(ValueError, match="overlap or are out of order"):
        pf.partition.collect(plan, chunks=[two, one])
    with pytest.raises(ValueError, match="overlap"):
        pf.partition.sink_parquet(plan, tmp_path / "x.parquet", chunks=[one, one])
    by_asset = pf.partition.plan_chunks(sorted_panel, by="asset", size=3)
    with pytest.raises(ValueError, match=r"splits column 'asset'.*split on 'date'"):
        pf.partition.collect(plan, chunks=by_asset)
    with pytest.raises(ValueError, match=r"splits column 'date'.*split on 'asset'"):
        pf.partition.collect(plan, by="asset", chunks=[one])
    with pytest.raises(ValueError, match="not both"):
        pf.partition.collect(plan, chunks=[one], size=1)
    with pytest.raises(TypeError, match="Chunk objects"):
        pf.partition.collect(plan, chunks=[(one.lo, one.hi)])  # type: ignore[list-item]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3"])
def test_bad_rows_and_size(counted: pl.DataFrame, tmp_path: Path, bad: object) -> None:
    for key in ("rows", "size"):
        with pytest.raises(ValueError, match=f"`{key}` must be a positive"):
            pf.partition.plan_chunks(counted, **{key: bad})  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=f"`{key}` must be a positive"):
            pf.partition.collect(counted, **{key: bad})  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=f"`{key}` must be a positive"):
            pf.partition.sink_parquet(counted, tmp_path / "x", **{key: bad})  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_bad_options(counted: pl.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not both"):
        pf.partition.plan_chunks(counted, rows=2, size=2)
    with pytest.raises(ValueError, match="unknown by='dates'"):
        pf.partition.plan_chunks(counted, by="dates")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown layout"):
        pf.partition.sink_parquet(counted, tmp_path / "x", layout="dir")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="LazyFrame or DataFrame"):
        pf.partition.collect(counted.to_dict())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`build` must be a function"):
        pf.partition.collect(counted, build="betas")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="both as `date` and as `asset`"):
        pf.partition.collect(counted, asset="date")
    assert list(tmp_path.iterdir()) == []


def test_missing_key_column(counted: pl.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(ColumnNotFoundError, match="partition key 'day' not found"):
        pf.partition.plan_chunks(counted, date="day")
    with pytest.raises(ColumnNotFoundError, match="partition key 'ticker'"):
        pf.partition.plan_chunks(counted, by="asset", asset="ticker")
    with pytest.raises(KeyError, match="partition key 'asset'"):
        pf.partition.collect(counted.drop("asset").lazy(), by="asset")
    with pytest.raises(ColumnNotFoundError, match="Did you mean 'date'"):
        pf.partition.sink_parquet(counted, tmp_path / "x", date="dates")
    assert list(tmp_path.iterdir()) == []


# --- 6. progress and executors -------------------------------------------------------


def test_on_chunk_and_executor(sorted_panel: pl.DataFrame, tmp_path: Path) -> None:
    plan = pf.rank(sorted_panel.lazy(), ["x", "y"])
    chunks = pf.partition.plan_chunks(sorted_panel, rows=15)
    assert len(chunks) > 3
    counts = sorted_panel.group_by("date").len()
    expected_rows = [
        counts.filter(pl.col("date").is_between(c.lo, c.hi))["len"].sum() for c in chunks
    ]
    whole = plan.collect()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for executor in (None, pool):
            for i, output in enumerate(OUTPUTS):
                seen: list[tuple[Chunk, int]] = []
                out = _run_split(
                    plan,
                    output,
                    tmp_path / f"{i}{executor is None}",
                    rows=15,
                    executor=executor,
                    on_chunk=lambda c, n, seen=seen: seen.append((c, n)),
                )
                assert [c for c, _ in seen] == chunks
                assert [n for _, n in seen] == expected_rows
                assert_frame_equal(out, whole, **TOL)


def test_executor_with_build(rng: np.random.Generator) -> None:
    df = _ts_panel(rng)
    expected = _rolling_betas(df.lazy()).collect()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        out = pf.partition.collect(df, by="asset", size=2, build=_rolling_betas, executor=pool)
    assert_frame_equal(out, expected, **TOL)


# --- 7. key checks over key ranges ---------------------------------------------------


def _outcome(check: Callable[..., None], frame: Any) -> tuple[type, str] | None:
    try:
        check(frame, date="date", asset="asset")
    except (DuplicateKeyError, UnsortedError, ValueError) as err:
        return type(err), str(err)
    return None


def _grid(n_dates: int, assets: str) -> list[tuple[int | None, str]]:
    return [(d, a) for d in range(1, n_dates + 1) for a in assets]


def _keys(rows: list[tuple[int | None, str]]) -> pl.LazyFrame:
    return pl.LazyFrame(rows, schema={"date": pl.Int64, "asset": pl.String}, orient="row")


@pytest.fixture
def tiny_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_validate, "KEY_CHECK_ROWS", 5)
    monkeypatch.setattr(_validate, "TIME_ORDER_ROWS", 5)


def test_key_ranges_are_used(tiny_ranges: None) -> None:
    lf = _keys(_grid(6, "abc"))
    # 6 dates of 3 rows: one date per range, plus the null-date range
    assert len(_validate._key_ranges(lf, "date", _validate.KEY_CHECK_ROWS)) == 7
    assert len(_validate._key_ranges(lf, "asset", _validate.TIME_ORDER_ROWS)) == 4


@pytest.mark.usefixtures("tiny_ranges")
def test_unique_keys_chunked() -> None:
    clean = _grid(8, "abcd")
    assert _outcome(_validate.check_unique_keys, _keys(clean)) is None
    # duplicates on dates 1 (x2) and 7 (x3), far apart
    lf = _keys([*clean, (1, "a"), (7, "c"), (7, "c")])
    kind, msg = _outcome(_validate.check_unique_keys, lf) or (None, "")
    assert kind is DuplicateKeyError
    assert "3 extra rows on 2 dates" in msg
    # the null-date rows are a range of their own
    lf = _keys([*clean, (None, "a"), (None, "a"), (None, "b"), (3, "b")])
    kind, msg = _outcome(_validate.check_unique_keys, lf) or (None, "")
    assert kind is DuplicateKeyError
    assert "2 extra rows on 2 dates" in msg
    lf = _keys([*clean, (None, "a"), (None, "b")])
    assert _outcome(_validate.check_unique_keys, lf) is None
    lf = _keys([*clean, (None, "a"), (None, "a")])
    with pytest.raises(DuplicateKeyError, match=r"1 extra rows on 1 dates, e.g. \(None, 'a'\) x2"):
        _validate.check_unique_keys(lf, date="date", asset="asset")


def test_unique_keys_chunked_through_a_transform(monkeypatch: pytest.MonkeyPatch) -> None:
    lf = _keys([*_grid(8, "abcd"), (6, "d")]).with_columns(x=pl.lit(1.0))
    monkeypatch.setattr(_validate, "KEY_CHECK_ROWS", 5)
    monkeypatch.setattr(_validate, "TIME_ORDER_ROWS", 5)
    with pytest.raises(DuplicateKeyError, match=r"1 extra rows on 1 dates, e.g. \(6, 'd'\) x2"):
        pf.zscore(lf, "x", check_keys=True)
    pf.zscore(lf.unique(["date", "asset"]), "x", check_keys=True)


def test_time_order_chunked(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _grid(6, "abcdef")
    rows[20], rows[25] = rows[25], rows[20]  # two assets trade places: still in order
    rows[30], rows[2] = rows[2], rows[30]  # (6, 'a') at row 2, (1, 'c') at row 30
    rows[8], rows[14] = rows[14], rows[8]  # (3, 'c') at row 8, (2, 'c') at row 14
    lf = _keys(rows)
    whole = _outcome(_validate.check_time_order, lf)
    monkeypatch.setattr(_validate, "KEY_CHECK_ROWS", 5)
    monkeypatch.setattr(_validate, "TIME_ORDER_ROWS", 5)
    assert len(_validate._key_ranges(lf, "asset", _validate.TIME_ORDER_ROWS)) > 2
    chunked_ = _outcome(_validate.check_time_order, lf)
    assert whole == chunked_
    kind, msg = chunked_ or (None, "")
    assert kind is UnsortedError
    assert "3 rows go back in time (first at row 6: asset 'a', date 2)" in msg
    assert _outcome(_validate.check_time_order, _keys(_grid(6, "abcdef"))) is None
    by_asset = _keys(sorted(_grid(6, "abcdef"), key=lambda r: (r[1], r[0])))
    assert _outcome(_validate.check_time_order, by_asset) is None
    # a repeated key is a duplicate, not a step back (next to its twin or not)
    for repeated in ([*rows[:3], rows[0]], [rows[0], *rows]):
        kind, msg = _outcome(_validate.check_time_order, _keys(repeated)) or (None, "")
        assert kind is DuplicateKeyError
        assert "1 extra rows on 1 dates, e.g. (1, 'a') x2" in msg


def test_time_order_chunked_through_betas(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    df = _ts_panel(rng)
    monkeypatch.setattr(_validate, "KEY_CHECK_ROWS", 30)
    monkeypatch.setattr(_validate, "TIME_ORDER_ROWS", 30)
    _rolling_betas(df.lazy())
    backward = pl.concat([df.slice(40), df.slice(0, 40)])
    with pytest.raises(UnsortedError, match="first at row"):
        pf.betas(backward.lazy(), "ret", ["mkt", "smb"], window=20, check_keys=True)
    # By default the check is inside the plan; it holds over chunks of assets too.
    with pytest.raises(UnsortedError, match="go back in time"):
        pf.partition.collect(backward.lazy(), by="asset", rows=30, build=_rolling_betas)


def test_unique_keys_message_independent_of_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    lf = _keys([*_grid(6, "abc"), (1, "a"), (6, "c"), (6, "c")])
    whole = _outcome(_validate.check_unique_keys, lf)
    monkeypatch.setattr(_validate, "KEY_CHECK_ROWS", 5)
    monkeypatch.setattr(_validate, "TIME_ORDER_ROWS", 5)
    assert _outcome(_validate.check_unique_keys, lf) == whole


@st.composite
def key_panels(draw: st.DrawFn) -> list[tuple[int | None, str]]:
    n_dates = draw(st.integers(1, 5))
    rows: list[tuple[int | None, str]] = []
    for d in range(1, n_dates + 1):
        members = draw(st.sets(st.sampled_from("abcde"), min_size=1))
        rows.extend((d, a) for a in sorted(members))
    rows.extend((None, a) for a in draw(st.lists(st.sampled_from("abcde"), max_size=2)))
    extra = draw(st.lists(st.integers(0, len(rows) - 1), max_size=3))
    rows.extend(rows[i] for i in extra)
    if draw(st.booleans()):
        rows = [rows[i] for i in draw(st.permutations(range(len(rows))))]
    return rows


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=key_panels(), tiny=st.integers(1, 6))
def test_chunked_key_checks_agree(rows: list[tuple[int | None, str]], tiny: int) -> None:
    lf = _keys(rows)
    checks = (_validate.check_unique_keys, _validate.check_time_order)
    whole = [_outcome(check, lf) for check in checks]
    # the eager path never splits
    assert [_outcome(check, lf.collect()) for check in checks] == whole
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_validate, "KEY_CHECK_ROWS", tiny)
        mp.setattr(_validate, "TIME_ORDER_ROWS", tiny)
        parts = [_outcome(check, lf) for check in checks]
    assert parts == whole


# --- 8. the distributed seam ---------------------------------------------------------


def test_chunk_pickles(sorted_panel: pl.DataFrame) -> None:
    dated = sorted_panel.with_columns(pl.date(2024, 1, 1) + pl.duration(days=pl.col("date")))
    for frame, by in [(sorted_panel, "date"), (dated, "date"), (sorted_panel, "asset")]:
        dtype = frame.schema[by]
        for chunk in pf.partition.plan_chunks(frame, by=by, size=4):  # type: ignore[arg-type]
            back = pickle.loads(pickle.dumps(chunk))
            assert back == chunk
            assert type(back.lo) is type(chunk.lo)
            assert frame.filter(back.predicate(dtype)).equals(frame.filter(chunk.predicate(dtype)))
    with pytest.raises(AttributeError):
        chunk.lo = 0  # type: ignore[misc]


def test_task_pickles(sorted_panel: pl.DataFrame) -> None:
    """The task a worker runs (plan and chunks) ships to another process as it is."""
    task = chunked(pf.zscore(sorted_panel.lazy(), "x"), size=3)
    copy = pickle.loads(pickle.dumps(task))
    for chunk in task.chunks:
        assert copy(pickle.loads(pickle.dumps(chunk))).equals(task(chunk))


# --------------------------------------------------------------------------- lookback


def _ff_panel() -> pl.LazyFrame:
    lf = pf.datasets.load_sp500().with_columns(
        mcap=pl.col("close") * pl.col("shares_outstanding"),
    )
    lf = lf.with_columns(
        bm=pl.col("book_equity") / pl.col("mcap"),
        ret=pl.col("close").pct_change().over("asset"),
        mom=pl.col("close").pct_change(120).over("asset"),
    )
    return lf.select("date", "asset", "mcap", "bm", "ret", "mom").collect().lazy()


def test_lookback_fama_french_equals_whole() -> None:
    # Real data (bundled S&P 500 sample, 756 dates): June formation held a year and
    # monthly momentum need history before each chunk; 25 months of it make every
    # chunk's dates exact.
    panel = _ff_panel()

    def build(rows: pl.LazyFrame) -> pl.LazyFrame:
        return pf.portfolio.fama_french(rows, book_to_market="bm", momentum="mom")

    whole = build(panel).collect()
    calls: list[int] = []
    chunked = pf.partition.collect(
        panel, rows=60_000, lookback="25mo", build=build, on_chunk=lambda c, n: calls.append(n)
    )
    assert len(calls) > 4
    assert sum(calls) == whole.height
    assert_frame_equal(chunked, whole, check_exact=False, rel_tol=1e-12, abs_tol=1e-15)
    # Without the lookback the first months of each chunk have no formation: wrong.
    short = pf.partition.collect(panel, rows=60_000, build=build)
    assert short["HML"].null_count() > whole["HML"].null_count()


def test_lookback_timedelta_and_integer_dates() -> None:
    df = pl.DataFrame({"date": [1, 1, 2, 2, 3, 3, 4, 4], "asset": list("abababab"), "x": [1.0] * 8})

    def build(rows: pl.LazyFrame) -> pl.LazyFrame:
        # rows per asset seen by the chunk (history included), kept for the chunk's dates
        return rows.with_columns(pl.len().over("asset").alias("seen"))

    out = pf.partition.collect(df, size=1, lookback=1, build=build)
    assert out["date"].to_list() == [1, 1, 2, 2, 3, 3, 4, 4]
    assert out["seen"].to_list() == [1, 1, 2, 2, 2, 2, 2, 2]
    dates = df.with_columns(pl.date(2020, 1, pl.col("date")).alias("date"))
    out = pf.partition.collect(dates, size=2, lookback=dt.timedelta(days=1), build=build)
    assert out["seen"].to_list() == [2, 2, 2, 2, 3, 3, 3, 3]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lookback": "3mo"}, "needs `build`"),
        ({"lookback": "3mo", "by": "asset", "build": lambda r: r}, "needs `build`"),
        ({"lookback": "three", "build": lambda r: r}, "Polars duration"),
        ({"lookback": -1, "build": lambda r: r}, "non-negative"),
        ({"lookback": True, "build": lambda r: r}, "non-negative"),
    ],
)
def test_lookback_errors(kwargs: dict[str, object], match: str) -> None:
    df = pl.DataFrame({"date": [1, 2], "asset": ["a", "a"], "x": [1.0, 2.0]})
    with pytest.raises(ValueError, match=match):
        pf.partition.collect(df, size=1, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options",
    [
        {"window": "expanding"},
        {"window": 15, "half_life": 5.0},
        {"window": None, "half_life": 10.0},
        {"window": "10d"},
    ],
)
def test_other_betas_by_asset_with_build(rng: np.random.Generator, options: dict) -> None:
    # expanding, exponentially weighted and time-based windows: per asset, so chunks of
    # whole assets give the unchunked fits
    df = _ts_panel(rng)

    def build(rows: pl.LazyFrame) -> pl.LazyFrame:
        return pf.betas(rows, "ret", ["mkt", "smb"], **options)

    keys = ["asset", "date"] if options["window"] is not None else ["asset"]
    expected = build(df.lazy()).collect().sort(keys)
    assert expected["beta_mkt"].drop_nulls().len() > 3
    out = pf.partition.collect(df.lazy(), by="asset", size=2, build=build)
    assert_frame_equal(out.sort(keys), expected, **TOL)


def test_lookback_turnover_equals_whole() -> None:
    # Turnover compares each date's buckets with the previous date's: a lookback of a
    # few calendar days (weekends, holidays) gives every chunk's first date its past.
    panel = pf.datasets.load_sp500().select("date", "asset", "close").collect()
    lf = panel.with_columns(mom=pl.col("close").pct_change(20).over("asset")).lazy()

    def build(rows: pl.LazyFrame) -> pl.LazyFrame:
        buckets = pf.portfolio.assign_buckets(rows, "mom", n=5)
        return pf.portfolio.turnover(buckets, "mom_bucket")

    whole = build(lf).collect().sort("date", "mom_bucket")
    chunked = pf.partition.collect(lf, rows=30_000, lookback="10d", build=build)
    assert_frame_equal(chunked.sort("date", "mom_bucket"), whole, **TOL)
    # without it, the first date of every chunk has no previous date: no turnover
    short = pf.partition.collect(lf, rows=30_000, build=build)
    assert short["turnover"].null_count() > whole["turnover"].null_count()


# --------------------------------------------------------------------------- shuffle


@pytest.mark.parametrize("shuffle", [True, False])
def test_asset_shuffle_gives_the_same_betas(
    rng: np.random.Generator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shuffle: bool
) -> None:
    df = _ts_panel(rng)
    # a row with a null date: it belongs to its asset's chunk, shuffled or not
    df = pl.concat([df, df.head(1).with_columns(pl.lit(None, dtype=pl.Date).alias("date"))])
    files = _write_files(df, tmp_path / "in", [df.height // 3, (2 * df.height) // 3])
    calls: list[int] = []
    real = _run.shuffle_chunks
    monkeypatch.setattr(
        _run, "shuffle_chunks", lambda task, **kw: calls.append(1) or real(task, **kw)
    )

    def keep(rows: pl.LazyFrame) -> pl.LazyFrame:
        return rows.with_columns(pl.len().over("asset").alias("n"))

    whole = keep(df.lazy()).collect().sort("asset", "date", nulls_last=True)
    expected = _rolling_betas(df.lazy().drop_nulls("date")).collect().sort("asset", "date")
    src = pl.scan_parquet(files)
    out = pf.partition.collect(src, by="asset", size=2, build=keep, shuffle=shuffle)
    assert_frame_equal(out.sort("asset", "date", nulls_last=True), whole)
    target = tmp_path / "betas.parquet"
    pf.partition.sink_parquet(
        src.drop_nulls("date"), target, by="asset", rows=60, build=_rolling_betas,
        shuffle=shuffle,
    )  # fmt: skip
    got = pl.read_parquet(target)
    assert_frame_equal(got.sort("asset", "date"), expected, **TOL)
    assert got.equals(got.sort("asset", "date"))  # chunks in asset order, each asset by date
    assert bool(calls) == shuffle
    assert sorted(p.name for p in tmp_path.iterdir()) == ["betas.parquet", "in"]


def test_asset_shuffle_respects_given_chunks(rng: np.random.Generator, tmp_path: Path) -> None:
    # assets between the given chunks are left out, as without the shuffle
    df = _ts_panel(rng)
    files = _write_files(df, tmp_path / "in", [df.height // 2])
    src = pl.scan_parquet(files)
    chunks = [c for c in pf.partition.plan_chunks(src, by="asset", size=1) if c.index % 2 == 0]
    a = pf.partition.collect(src, by="asset", chunks=chunks, build=lambda r: r, shuffle=True)
    b = pf.partition.collect(src, by="asset", chunks=chunks, build=lambda r: r, shuffle=False)
    assert_frame_equal(a, b)
    assert a["asset"].n_unique() == len(chunks)


@pytest.mark.parametrize("shuffle", [True, False])
def test_date_shuffle_of_asset_sorted_files(
    rng: np.random.Generator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shuffle: bool
) -> None:
    # Files of asset chunks (each sorted by date), read by chunks of dates: the
    # pipeline's descriptors are laid out this way before they are rewritten by date.
    df = _ts_panel(rng).sort("asset", "date")
    # a row with a null asset belongs to its date's chunk, shuffled or not
    df = pl.concat([df, df.head(1).with_columns(pl.lit(None, dtype=pl.String).alias("asset"))])
    files = _write_files(df, tmp_path / "in", [df.height // 4, df.height // 2, df.height - 30])
    calls: list[int] = []
    real = _run.shuffle_chunks
    monkeypatch.setattr(
        _run, "shuffle_chunks", lambda task, **kw: calls.append(1) or real(task, **kw)
    )

    def by_date(rows: pl.LazyFrame) -> pl.LazyFrame:
        ranked = pl.col("ret").rank().over("date").alias("rank")
        return rows.with_columns(ranked).sort("date", "asset")

    expected = by_date(df.lazy().drop_nulls("date")).collect().sort("date", "asset")
    src = pl.scan_parquet(files)
    target = tmp_path / "by_date.parquet"
    report = pf.partition.sink_parquet(
        src, target, by="date", rows=70, build=by_date, shuffle=shuffle
    )
    assert report.n_chunks > 3
    got = pl.read_parquet(target)
    assert got["asset"].null_count() == 1
    assert_frame_equal(got, expected)
    out = pf.partition.collect(src, by="date", size=7, build=by_date, shuffle=shuffle)
    assert_frame_equal(out, got)
    assert len(calls) == (2 if shuffle else 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["by_date.parquet", "in"]


def test_shuffle_needs_a_date_filter_that_reaches_the_data(rng: np.random.Generator) -> None:
    lf = _ts_panel(rng).lazy()
    across = lf.with_columns(pl.col("ret").cum_sum().over("asset").alias("cum"))
    with pytest.raises(PartitionError, match="shuffle=True"):
        pf.partition.collect(across, by="asset", size=2, build=lambda r: r, shuffle=True)
    with pytest.raises(ValueError, match="no such column"):
        pf.partition.collect(lf.drop("date"), by="asset", size=2, shuffle=True)
    by_asset = lf.with_columns(pl.col("ret").rank().over("date").alias("r"))
    with pytest.raises(PartitionError, match="chunks of 'asset'"):
        pf.partition.collect(by_asset, by="date", size=5, build=lambda r: r, shuffle=True)


# ------------------------------------------------------------ specific risk, two splits


@pytest.mark.parametrize("shuffle", [True, False])
def test_specific_risk_with_shrinkage_in_two_splits(
    rng: np.random.Generator, tmp_path: Path, shuffle: bool
) -> None:
    # The one plan splits neither way; its time series by asset, then the shrinkage
    # by date, equals it (docs/big_data.md).
    df = _ts_panel(rng, n_assets=12).rename({"ret": "residual"})
    df = df.with_columns(mcap=pl.Series(rng.lognormal(2.0, 1.0, df.height)))
    files = _write_files(df, tmp_path / "in", [df.height // 3, df.height // 2])
    src = pl.scan_parquet(files)
    opts: dict[str, Any] = {"half_life": 10, "nw_lags": 1}
    whole = pf.risk.specific_risk(df, size="mcap", n_groups=3, **opts)
    with pytest.raises(PartitionError):
        pf.partition.collect(
            pf.risk.specific_risk(src, size="mcap", check_keys=False, **opts), by="asset", size=2
        )

    def variances(rows: pl.LazyFrame) -> pl.LazyFrame:
        raw = pf.risk.specific_risk(rows, **opts)
        caps = rows.select("date", "asset", "mcap")
        return raw.join(caps, on=["date", "asset"], maintain_order="left")

    raw = tmp_path / "raw.parquet"
    pf.partition.sink_parquet(src, raw, by="asset", size=5, build=variances, shuffle=shuffle)
    shrunk = pf.partition.collect(
        pl.scan_parquet(raw),
        size=7,
        build=lambda rows: pf.risk.shrink_specific_risk(rows, size="mcap", n_groups=3),
        shuffle=shuffle,
    )
    keys = ["date", "asset"]
    # equal up to the order of the per-date sums (the rows of a date come in another order)
    assert_frame_equal(shrunk.drop("mcap").sort(keys), whole.sort(keys), **TOL)


def test_worth_shuffling(rng: np.random.Generator, tmp_path: Path) -> None:
    df = _ts_panel(rng)
    files = _write_files(df, tmp_path / "in", [df.height // 2])
    scan = pl.scan_parquet(files)
    assert _run.worth_shuffling(scan, via="date")
    assert _run.worth_shuffling(scan.filter(pl.col("ret") > 0), via="date")
    assert not _run.worth_shuffling(df.lazy(), via="date")  # in memory: nothing to skip
    assert not _run.worth_shuffling(scan, via="nope")
    across = scan.with_columns(pl.col("ret").cum_sum().over("asset").alias("cum"))
    assert not _run.worth_shuffling(across, via="date")  # the date filter cannot pass


def test_shuffle_keeps_a_column_named_like_its_temporary(
    rng: np.random.Generator, tmp_path: Path
) -> None:
    # the shuffle's chunk index column is a temporary name: a user column of the old
    # fixed name "__pf_chunk" comes through untouched
    df = _ts_panel(rng).with_columns(pl.lit(7).alias("__pf_chunk"))
    files = _write_files(df, tmp_path / "in", [df.height // 2])
    src = pl.scan_parquet(files)
    a = pf.partition.collect(src, by="asset", size=2, build=lambda r: r, shuffle=True)
    b = pf.partition.collect(src, by="asset", size=2, build=lambda r: r, shuffle=False)
    assert_frame_equal(a, b)
    assert a["__pf_chunk"].unique().to_list() == [7]
