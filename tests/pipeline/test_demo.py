"""The demo pipeline end to end on the bundled data: outputs exist and hold sane values."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from polars_factors.pipeline import RunResult, demo_config, load_config, run

pytest.importorskip("matplotlib")


# One run of the demo pipeline (about 8 s) for the module: the tests on it are marked slow.
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    out = tmp_path_factory.mktemp("demo")
    return run(demo_config(out), progress=None)


@pytest.mark.slow
def test_demo_runs_fast(demo: RunResult) -> None:
    # Generous bound for slow CI machines; measured ~10 s on 2 cores.
    assert demo.seconds < 60
    assert (demo.output / "report.md").is_file()


@pytest.mark.slow
def test_every_parquet_non_empty_without_all_null_columns(demo: RunResult) -> None:
    files = sorted(demo.output.glob("*.parquet"))
    names = {f.stem for f in files}
    assert {
        "descriptors",
        "exposures",
        "fama_french",
        "fama_french_comparison",
        "factor_returns",
        "fama_macbeth",
        "regression_stats",
        "ic",
        "quantile_returns",
        "betas",
        "rolling_betas",
        "factor_covariance",
        "asset_risk",
        "portfolio_risk",
        "implied_vs_realized",
    } <= names
    for file in files:
        frame = pl.read_parquet(file)
        assert frame.height > 0, file.name
        all_null = [c for c in frame.columns if frame[c].null_count() == frame.height]
        assert not all_null, (file.name, all_null)


@pytest.mark.slow
def test_panel_and_exposures(demo: RunResult) -> None:
    desc = pl.read_parquet(demo.output / "descriptors.parquet")
    assert desc["asset"].n_unique() == 505
    assert desc.select(pl.struct("date", "asset").is_unique().all()).item()
    exp = pl.read_parquet(demo.output / "exposures.parquet")
    for style in ("size", "value", "momentum", "volatility"):
        # USE4: equal-weighted std 1 per date (cap-weighted mean 0, checked in the report)
        std = exp.group_by("date").agg(pl.col(style).std(ddof=0))[style]
        assert std.drop_nulls().is_between(0.99, 1.01).all(), style


@pytest.mark.slow
def test_regression_r2_in_unit_interval(demo: RunResult) -> None:
    stats = pl.read_parquet(demo.output / "regression_stats.parquet")
    r2 = stats["r2"].drop_nulls()
    assert r2.len() > 400
    assert r2.is_between(0.0, 1.0).all()
    fm = pl.read_parquet(demo.output / "fama_macbeth.parquet")
    assert {"size", "value", "momentum", "volatility", "country"} <= set(fm["factor"])
    assert fm["t_stat"].is_finite().all()


@pytest.mark.slow
def test_covariance_psd_every_date(demo: RunResult) -> None:
    cov = pl.read_parquet(demo.output / "factor_covariance.parquet").sort(
        "date", maintain_order=True
    )
    k = cov.filter(pl.col("date") == cov["date"][0]).height
    n = round(k**0.5)
    assert n * n == k
    stack = cov["covariance"].to_numpy().reshape(-1, n, n)
    assert stack.shape[0] == cov["date"].n_unique()
    np.testing.assert_allclose(stack, stack.transpose(0, 2, 1), rtol=0, atol=0)
    low = np.linalg.eigvalsh(stack)[:, 0]
    scale = np.abs(stack).max(axis=(1, 2))
    assert (low >= -1e-12 * scale).all()


@pytest.mark.slow
def test_betas_finite(demo: RunResult) -> None:
    full = pl.read_parquet(demo.output / "betas.parquet")
    assert full.height > 450
    for col in ("beta_mkt", "beta_smb", "beta_hml", "alpha"):
        assert full[col].is_finite().all(), col
    assert 0.8 < full["beta_mkt"].median() < 1.2
    assert full["r2"].is_between(0.0, 1.0).all()
    rolling = pl.read_parquet(demo.output / "rolling_betas.parquet")
    assert rolling["beta_mkt"].is_finite().all()


@pytest.mark.slow
def test_fama_french_tracks_french(demo: RunResult) -> None:
    table = pl.read_parquet(demo.output / "fama_french_comparison.parquet")
    corr = dict(zip(table["factor"], table["correlation"], strict=True))
    assert corr["HML"] > 0.5
    assert corr["SMB"] > 0.1


@pytest.mark.slow
def test_risk_outputs(demo: RunResult) -> None:
    assets = pl.read_parquet(demo.output / "asset_risk.parquet")
    assert assets["r2"].is_between(0.0, 1.0).all()
    assert (assets["total_var"] > 0).all()
    port = pl.read_parquet(demo.output / "portfolio_risk.parquet")
    assert 0.03 < port.item(0, "annual_vol") < 0.4
    rvi = pl.read_parquet(demo.output / "implied_vs_realized.parquet")
    assert 0.3 < rvi.item(0, "ratio") < 3


@pytest.mark.slow
def test_report_references_existing_figures(demo: RunResult) -> None:
    text = (demo.output / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(links) >= 8
    for link in links:
        path = demo.output / link
        assert path.is_file(), link
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for section in ("Fama-French", "Cross-sectional", "Time-series betas", "Risk model"):
        assert section in text


@pytest.mark.slow
def test_summary_lines(demo: RunResult) -> None:
    text = demo.summary()
    assert text == "\n".join(demo.lines)
    assert 8 <= len(demo.lines) <= 16
    for word in ("505 assets", "median R²", "Fama-MacBeth", "SMB", "HML", "vol"):
        assert word in text


def test_example_config_parses() -> None:
    path = Path(__file__).resolve().parents[2] / "examples" / "config.toml"
    cfg = load_config(path)
    assert cfg.data.panel == (str(path.parent / "data" / "prices_*.parquet"),)
    assert cfg.data.columns["asset"] == "ticker"
    assert cfg.model.risk_preset == "USE4S"


@pytest.mark.slow
def test_small_chunks_give_the_same_outputs(demo: RunResult, tmp_path: Path) -> None:
    # Every per-date and per-asset step split into many chunks (about 20 dates or 25
    # assets each): the same tables as one chunk, up to the order of streaming sums.
    cfg = replace(demo_config(tmp_path / "chunked"), chunk_rows=10_000, figures=False)
    progress = io.StringIO()
    chunked = run(cfg, progress=progress)
    assert " 2/" in progress.getvalue()  # chunk progress was printed
    for name in ("descriptors", "exposures", "residuals", "rolling_betas", "betas"):
        a = pl.read_parquet(demo.output / f"{name}.parquet")
        b = pl.read_parquet(chunked.output / f"{name}.parquet")
        assert_frame_equal(a, b, check_exact=False, rel_tol=1e-9, abs_tol=1e-12)
    small = ("factor_returns", "regression_stats", "ic", "quantile_returns", "asset_risk")
    for name in (*small, "fama_french", "fama_french_comparison", "factor_covariance"):
        a = pl.read_parquet(demo.output / f"{name}.parquet")
        b = pl.read_parquet(chunked.output / f"{name}.parquet")
        assert_frame_equal(a, b, check_exact=False, rel_tol=1e-9, abs_tol=1e-12)
    assert not list(chunked.output.glob(".*"))  # no scratch left behind


def test_chunk_rows_in_the_config(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[data]\npanel = "x.parquet"\n[output]\nchunk_rows = 50000\n')
    assert load_config(path).chunk_rows == 50_000
