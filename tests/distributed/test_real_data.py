"""The distributed capabilities on the real S&P 500 daily panel (619,040 rows, 5 years).

Oracle: the in-process functions on the same panel. The panel is written to parquet
files the way a daily pipeline does (date-sorted), laid out by date and by asset
with :func:`pf.distributed.layout`, and run on the Dask cluster.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import polars_factors as pf
from tests.conftest import DATA_DIR
from tests.distributed.conftest import recorded

PRICES = DATA_DIR / "sp500_5yr" / "prices.parquet"
SECURITIES = DATA_DIR / "nyse_kaggle" / "securities.csv"
# 10 dollar-volume weights span 1e4..1e11: a factor return near 0 differs from the
# in-process one by 1e-13 absolute (1e-10 relative) when the sums are added in another order.
TOL = {"check_exact": False, "rel_tol": 1e-10, "abs_tol": 1e-11}
pytestmark = pytest.mark.skipif(not PRICES.exists(), reason=f"real data not found at {DATA_DIR}")


@pytest.fixture(scope="module")
def sp500(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, Path]:
    """Daily returns, two style descriptors, the market return and GICS sectors."""
    sectors = pl.read_csv(SECURITIES).select(
        pl.col("Ticker symbol").alias("asset"), pl.col("GICS Sector").alias("sector")
    )
    panel = (
        pl.scan_parquet(PRICES)
        .rename({"Name": "asset"})
        .sort("asset", "date")
        .with_columns((pl.col("close") / pl.col("close").shift(1).over("asset") - 1).alias("ret"))
        .with_columns(
            (pl.col("close") * pl.col("volume")).log().alias("liquidity"),
            pl.col("ret").rolling_std(21).over("asset").alias("volatility"),
            (pl.col("close") * pl.col("volume")).alias("dollar_volume"),
        )
        .join(sectors.lazy(), on="asset", how="left")
        .with_columns(pl.col("ret").mean().over("date").alias("mkt"))
        .select("date", "asset", "sector", "ret", "mkt", "liquidity", "volatility", "dollar_volume")
        .sort("date", "asset")
        .collect()
    )
    folder = tmp_path_factory.mktemp("sp500")
    for i, part in enumerate(panel.iter_slices(100_000)):  # date-sorted daily files
        part.write_parquet(folder / f"prices-{i:02d}.parquet")
    return panel, folder


def test_cross_section_on_asset_files(
    sp500: tuple[pl.DataFrame, Path], dask_client: Any, tmp_path: Path
) -> None:
    panel, folder = sp500
    ds = pf.distributed.layout(
        str(folder / "*.parquet"), tmp_path / "by_asset", by="asset", rows=120_000
    )
    assert len(ds.parts) >= 5
    kw: dict[str, Any] = {"industry": "sector", "country": True, "weights": "dollar_volume"}
    with pytest.warns(pf.DataLossWarning):  # the first date has no return
        ref = pf.cross_section(panel, "ret", ["liquidity", "volatility"], check_keys=False, **kw)
    ours, caught = recorded(
        pf.distributed.cross_section,
        ds,
        "ret",
        ["liquidity", "volatility"],
        executor=dask_client,
        **kw,
    )
    assert {c for c, _ in caught} == {pf.DataLossWarning}
    assert_frame_equal(ours.factor_returns, ref.factor_returns, **TOL)
    assert_frame_equal(ours.stats, ref.stats, **TOL)
    keys = ["date", "asset"]
    assert_frame_equal(ours.residuals.sort(keys), ref.residuals.sort(keys), **TOL)
    assert ref.stats.height == panel.get_column("date").n_unique() == 1259


def test_standardize_and_betas(
    sp500: tuple[pl.DataFrame, Path], dask_client: Any, tmp_path: Path
) -> None:
    panel, folder = sp500
    by_date = pf.distributed.layout(
        str(folder / "*.parquet"), tmp_path / "by_date", by="date", rows=100_000
    )
    std = partial(
        pf.standardize,
        columns=["liquidity", "volatility"],
        weights="dollar_volume",
        check_keys=False,
    )
    ours, _ = recorded(pf.distributed.collect, by_date, build=std, executor=dask_client)
    ref, _ = recorded(lambda: std(panel))
    keys = ["date", "asset"]
    assert_frame_equal(ours.sort(keys), ref.sort(keys), **TOL)

    by_asset = pf.distributed.layout(by_date, tmp_path / "by_asset", by="asset", rows=120_000)
    beta = partial(pf.betas, returns="ret", factors=["mkt"], window=126, check_keys=False)
    report, _ = recorded(
        pf.distributed.sink_parquet, by_asset, tmp_path / "betas", build=beta, executor=dask_client
    )
    assert report.n_rows == panel.height
    ref_b, _ = recorded(lambda: beta(panel.sort("asset", "date")))
    assert_frame_equal(pl.read_parquet(tmp_path / "betas").sort(keys), ref_b.sort(keys), **TOL)
