"""The pipeline on bad or small inputs, the run/output side: a missing matplotlib, the
weights without a market cap, steps skipped on small or sparse data, atomic output with
a manifest, ``--overwrite`` and interrupted runs.

Many cases run the installed ``polars-factors`` console script in a subprocess and check
its exit code, its one line on stderr (never a traceback) and what is left on disk.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import polars_factors as pf
from polars_factors import cli
from polars_factors.exceptions import (
    ConfigError,
    InsufficientDataError,
    MissingDependencyError,
    SingularMatrixError,
)
from polars_factors.pipeline import (
    DataConfig,
    ModelConfig,
    PipelineConfig,
    RunResult,
    _models,
    _steps,
    run,
)
from polars_factors.pipeline._output import MANIFEST, atomic_write, is_scratch, prepare

PROG = Path(sys.executable).with_name("polars-factors")
START, END = "2016-01-01", "2017-06-30"
MODEL = """
[model]
styles = ["size", "value", "volatility"]
min_count = 10
volatility_window = 20
rolling_window = 60
realized_window = 40
quantiles = 3
"""
#: A sitecustomize that makes matplotlib unimportable in the child process.
BLOCK_MATPLOTLIB = "import sys\nsys.modules['matplotlib'] = None\n"


# ---------------------------------------------------------------------------------
# helpers


def command() -> list[str]:
    """The console script when installed next to this Python, else ``-m``."""
    return [str(PROG)] if PROG.is_file() else [sys.executable, "-m", "polars_factors.cli"]


def cli_run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command(), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def one_error_line(err: str, prefix: str = "polars-factors: error: ") -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(prefix), err
    assert "Traceback" not in err
    return lines[0]


def manifest(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / MANIFEST).read_text())
    return data


def listed(folder: Path) -> dict[str, int | None]:
    return {f["path"]: f["rows"] for f in manifest(folder)["files"]}


def assert_complete(folder: Path) -> None:
    """Every parquet file under its final name reads; the listed ones have their rows."""
    rows = listed(folder)
    for path in folder.glob("*.parquet"):
        frame = pl.read_parquet(path)  # a partial file has no footer: this raises
        if path.name in rows:
            assert frame.height == rows[path.name], path.name
    for name in rows:
        assert (folder / name).is_file(), name


def write_config(folder: Path, panel: Path, *, extra: str = "", figures: bool = False) -> Path:
    body = f'[data]\npanel = "{panel.as_posix()}"\n' + MODEL + extra
    body += f"[output]\nfigures = {'true' if figures else 'false'}\n"
    path = folder / f"config_{panel.stem}.toml"
    path.write_text(body)
    return path


def small_cfg(panel: Path, output: Path, *, figures: bool = False, **model: Any) -> PipelineConfig:
    settings = {
        "styles": ("size", "value", "volatility"),
        "min_count": 10,
        "volatility_window": 20,
        "rolling_window": 60,
        "realized_window": 40,
        "quantiles": 3,
        **model,
    }
    return PipelineConfig(
        data=DataConfig(panel=(str(panel),)),
        model=ModelConfig(**settings),
        output=output,
        figures=figures,
        source=panel.name,
    )


# ---------------------------------------------------------------------------------
# data


@pytest.fixture(scope="module")
def sp500() -> pl.DataFrame:
    lf = pf.datasets.load_sp500()
    dates = pl.col("date").is_between(pl.lit(START).str.to_date(), pl.lit(END).str.to_date())
    return lf.filter(dates).collect()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("inputs")


def _assets(frame: pl.DataFrame, n: int) -> pl.Expr:
    return pl.col("asset").is_in(frame["asset"].unique().sort().head(n).implode())


@pytest.fixture(scope="module")
def small(sp500: pl.DataFrame, folder: Path) -> Path:
    """40 stocks, 18 months, every column."""
    path = folder / "small.parquet"
    sp500.filter(_assets(sp500, 40)).write_parquet(path)
    return path


@pytest.fixture(scope="module")
def no_shares(sp500: pl.DataFrame, folder: Path) -> Path:
    path = folder / "no_shares.parquet"
    sp500.filter(_assets(sp500, 40)).drop("shares_outstanding").write_parquet(path)
    return path


@pytest.fixture(scope="module")
def few(sp500: pl.DataFrame, folder: Path) -> Path:
    """Six stocks: fewer than min_count."""
    path = folder / "few.parquet"
    sp500.filter(_assets(sp500, 6)).write_parquet(path)
    return path


def _three_stock_sector(sp500: pl.DataFrame, how: str) -> pl.DataFrame:
    """30 stocks of other sectors and a sector of three, which misses one day."""
    sector = "Telecommunications Services"
    three = sp500.filter(pl.col("sector") == sector)["asset"].unique().sort().head(3)
    others = sp500.filter(pl.col("sector") != sector)
    frame = pl.concat(
        [others.filter(_assets(others, 30)), sp500.filter(pl.col("asset").is_in(three.implode()))]
    )
    day = frame["date"].unique().sort()[200]
    hit = pl.col("asset").is_in(three.implode()) & (pl.col("date") == day)
    if how == "missing day":
        return frame.filter(~hit)
    return frame.with_columns(pl.when(hit).then(None).otherwise(pl.col("close")).alias("close"))


@pytest.fixture(scope="module", params=["missing day", "null close"])
def sparse_sector(request: pytest.FixtureRequest, sp500: pl.DataFrame, folder: Path) -> Path:
    path = folder / f"sector_{request.param.replace(' ', '_')}.parquet"
    _three_stock_sector(sp500, request.param).write_parquet(path)
    return path


@pytest.fixture(scope="module")
def small_run(small: Path, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run(small_cfg(small, tmp_path_factory.mktemp("small") / "out"))


@pytest.fixture(scope="module")
def no_shares_run(no_shares: Path, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run(small_cfg(no_shares, tmp_path_factory.mktemp("no_shares") / "out"))


# ---------------------------------------------------------------------------------
# 1. matplotlib missing


@pytest.fixture
def no_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)


PLOTS = [
    "cumulative_returns",
    "exposure_bar",
    "exposure_radar",
    "ic_by_date",
    "quantile_returns",
    "risk_decomposition",
    "rolling_betas",
]


def test_every_plot_function_is_listed() -> None:
    assert sorted(pf.plot.__all__) == PLOTS


@pytest.mark.usefixtures("no_matplotlib")
@pytest.mark.parametrize("name", PLOTS)
def test_plot_without_matplotlib_raises_first(name: str) -> None:
    # A wrong input would be a TypeError; the missing dependency is reported first.
    with pytest.raises(MissingDependencyError, match=r"pip install 'polars_factors\[plot\]'"):
        getattr(pf.plot, name)(object())


def test_plot_with_a_missing_matplotlib_part(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    betas = pl.DataFrame({"asset": ["a"], "beta_mkt": [1.1]})
    with pytest.raises(MissingDependencyError):
        pf.plot.exposure_bar(betas)


@pytest.mark.usefixtures("no_matplotlib")
def test_pipeline_without_matplotlib_writes_everything_else(small: Path, tmp_path: Path) -> None:
    result = run(small_cfg(small, tmp_path / "out", figures=True))
    note = "figures skipped: matplotlib is not installed; pip install 'polars_factors[plot]'."
    assert note in result.results.notes
    assert "skipped: figures: matplotlib is not installed" in result.summary()
    report = (tmp_path / "out" / "report.md").read_text()
    assert note in report
    assert not list((tmp_path / "out").glob("figures/*.png"))
    data = manifest(tmp_path / "out")
    assert data["finished"] is True
    assert "figures" in data["steps"]["skipped"]
    assert {"factor_returns.parquet", "asset_risk.parquet", "report.md"} <= set(
        listed(tmp_path / "out")
    )


def test_cli_without_matplotlib(small: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCK_MATPLOTLIB)
    config = write_config(tmp_path, small, figures=True)
    out = tmp_path / "out"
    proc = cli_run("run", str(config), "-q", "-o", str(out), env={"PYTHONPATH": str(site)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "skipped: figures: matplotlib is not installed" in proc.stdout
    assert (out / "report.md").is_file()
    assert not (out / "figures").exists()
    assert manifest(out)["finished"] is True
    assert_complete(out)


@pytest.mark.slow
def test_demo_without_matplotlib(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCK_MATPLOTLIB)
    out = tmp_path / "demo"
    proc = cli_run("demo", "-q", "-o", str(out), env={"PYTHONPATH": str(site)})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "matplotlib is not installed" in (out / "report.md").read_text()
    assert len(list(out.glob("*.parquet"))) >= 20


# ---------------------------------------------------------------------------------
# 2. weights without a market cap


def test_equal_weights_sum_to_one(no_shares_run: RunResult) -> None:
    weights = pl.read_parquet(no_shares_run.output / "portfolio_weights.parquet")
    assert weights.height > 10
    assert math.isclose(weights["weight"].sum(), 1.0, rel_tol=1e-12)
    assert weights["weight"].n_unique() == 1


def test_equal_weighted_vol_matches_a_hand_computation(no_shares_run: RunResult) -> None:
    out = no_shares_run.output
    port = pl.read_parquet(out / "portfolio_risk.parquet")
    weights = pl.read_parquet(out / "portfolio_weights.parquet")
    assets = pl.read_parquet(out / "asset_risk.parquet").join(weights, on=["date", "asset"])
    assert assets.height == weights.height
    # The specific part is sum w^2 s^2, and the vol is at most the average vol.
    specific = (assets["weight"] ** 2 * assets["specific_var"]).sum()
    assert math.isclose(port.item(0, "specific_var"), specific, rel_tol=1e-9)
    bound = (assets["weight"] * assets["total_var"].sqrt()).sum()
    assert port.item(0, "total_vol") <= bound * (1 + 1e-9)
    # Realized vol of the same equal-weighted portfolio over the sample: same order.
    realized = (
        pl.read_parquet(out / "descriptors.parquet")
        .filter(pl.col("asset").is_in(weights["asset"].implode()))
        .group_by("date")
        .agg(pl.col("ret").mean())
        .get_column("ret")
        .std()
    )
    annual = port.item(0, "annual_vol")
    assert 0.03 < annual < 0.6
    assert 1 / 3 < annual / (float(realized) * math.sqrt(252)) < 3
    assert math.isclose(no_shares_run.results.summary["portfolio_vol"], annual)


def test_weights_are_reported(no_shares_run: RunResult) -> None:
    text = no_shares_run.summary()
    assert "equal-weighted portfolio vol" in text
    assert "weights: equal (no shares_outstanding" in text
    report = (no_shares_run.output / "report.md").read_text()
    assert "Weights: equal weights" in report
    assert "Equal-weighted portfolio" in report
    assert "Cap-weighted" not in report
    assert manifest(no_shares_run.output)["weights"] == "equal-weighted"
    port = pl.read_parquet(no_shares_run.output / "portfolio_risk.parquet")
    assert port.item(0, "weights") == "equal-weighted"


def test_cap_weights_with_shares(small_run: RunResult) -> None:
    out = small_run.output
    weights = pl.read_parquet(out / "portfolio_weights.parquet")
    assert math.isclose(weights["weight"].sum(), 1.0, rel_tol=1e-12)
    caps = pl.read_parquet(out / "exposures.parquet").join(weights, on=["date", "asset"])
    expected = caps["mcap"] / caps["mcap"].sum()
    assert (caps["weight"] - expected).abs().max() < 1e-12  # type: ignore[operator]
    assert "cap-weighted portfolio vol" in small_run.summary()
    assert manifest(out)["weights"] == "cap-weighted"


# ---------------------------------------------------------------------------------
# 3. small or sparse data: the step is skipped with a note, the rest runs


def test_fewer_assets_than_min_count(few: Path, tmp_path: Path) -> None:
    result = run(small_cfg(few, tmp_path / "out"))
    skipped = result.results.skipped
    assert "min_count = 10" in skipped["USE4 standardization"]
    assert {"cross-sectional regression", "risk model"} <= set(skipped)
    assert (tmp_path / "out" / "betas.parquet").is_file()
    report = (tmp_path / "out" / "report.md").read_text()
    assert "Skipped: no style has an exposure" in report
    assert manifest(tmp_path / "out")["finished"] is True


def test_cli_fewer_assets_than_min_count(few: Path, tmp_path: Path) -> None:
    proc = cli_run("run", str(write_config(tmp_path, few)), "-q", "-o", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "skipped: USE4 standardization: no style has an exposure" in proc.stdout
    assert "skipped: risk model" in proc.stdout
    assert (tmp_path / "o" / "report.md").is_file()
    assert_complete(tmp_path / "o")


def test_empty_industry_on_some_dates(sparse_sector: Path, tmp_path: Path) -> None:
    result = run(small_cfg(sparse_sector, tmp_path / "out"))
    assert "risk model" not in result.results.skipped
    note = next(n for n in result.results.notes if "factor returns are missing" in n)
    assert "Telecommunications Services" in note
    port = pl.read_parquet(tmp_path / "out" / "portfolio_risk.parquet")
    assert 0.03 < port.item(0, "annual_vol") < 0.6
    # The written factor returns keep their nulls: only the risk model counts them as 0.
    fr = pl.read_parquet(tmp_path / "out" / "factor_returns.parquet")
    assert fr["factor_return"].null_count() > 0


def test_cli_empty_industry(sp500: pl.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "sector.parquet"
    _three_stock_sector(sp500, "missing day").write_parquet(path)
    proc = cli_run("run", str(write_config(tmp_path, path)), "-q", "-o", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "risk model (USE4S)" in proc.stdout
    assert_complete(tmp_path / "o")


def test_cli_one_date(sp500: pl.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "one_date.parquet"
    sp500.filter(pl.col("date") == pl.col("date").min()).write_parquet(path)
    proc = cli_run("run", str(write_config(tmp_path, path)), "-q", "-o", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    for step in ("USE4 standardization", "cross-sectional regression", "risk model"):
        assert f"skipped: {step}" in proc.stdout
    assert "time-series betas" in manifest(tmp_path / "o")["steps"]["skipped"] or (
        "betas.parquet" in listed(tmp_path / "o")
    )
    assert (tmp_path / "o" / "report.md").is_file()


def test_cli_no_rows_is_a_data_error(small: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path, small)
    text = config.read_text().replace("[model]", "start = 2030-01-01\n[model]", 1)
    config.write_text(text)
    proc = cli_run("run", str(config), "-q", "-o", str(tmp_path / "o"))
    assert proc.returncode == 1
    assert "no rows" in one_error_line(proc.stderr)
    data = manifest(tmp_path / "o")
    assert data["finished"] is False
    assert data["error"].startswith("InsufficientDataError")


STEP_FUNCTIONS = [
    (_steps, "fama_french", "Fama-French factors"),
    (_models, "cross_section", "cross-sectional regression"),
    (_models, "betas", "time-series betas"),
    (_models, "risk_model", "risk model"),
]


@pytest.mark.parametrize(("module", "name", "step"), STEP_FUNCTIONS)
@pytest.mark.parametrize("error", [InsufficientDataError, SingularMatrixError])
def test_a_step_that_cannot_run_is_skipped(  # noqa: PLR0917  (fixtures and parameters)
    monkeypatch: pytest.MonkeyPatch,
    small: Path,
    tmp_path: Path,
    module: Any,
    name: str,
    step: str,
    error: type[Exception],
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise error("not enough of something\nsecond line")

    monkeypatch.setattr(module, name, fail)
    result = run(small_cfg(small, tmp_path / "out"))
    assert result.results.skipped[step] == "not enough of something"
    assert f"{step} skipped: not enough of something." in result.results.notes
    assert f"skipped: {step}: not enough of something" in result.summary()
    data = manifest(tmp_path / "out")
    assert data["finished"] is True
    assert step not in data["steps"]["run"]
    assert "returns and descriptors" in data["steps"]["run"]


@pytest.mark.parametrize("error", [KeyError("oops"), RuntimeError("a bug")])
def test_a_bug_in_a_step_is_not_hidden(
    monkeypatch: pytest.MonkeyPatch, small: Path, tmp_path: Path, error: Exception
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(_models, "betas", fail)
    with pytest.raises(type(error)):
        run(small_cfg(small, tmp_path / "out"))
    data = manifest(tmp_path / "out")
    assert data["finished"] is False
    assert data["error"].startswith(type(error).__name__)
    assert_complete(tmp_path / "out")


def test_cli_bug_is_one_line_and_unfinished(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    small: Path,
    tmp_path: Path,
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(_models, "risk_model", fail)
    code = cli.main(["run", str(write_config(tmp_path, small)), "-q", "-o", str(tmp_path / "o")])
    line = one_error_line(capsys.readouterr().err)
    assert "unexpected RuntimeError: a bug" in line
    assert code == 1
    assert manifest(tmp_path / "o")["finished"] is False


# ---------------------------------------------------------------------------------
# 4. atomic output, manifest, --overwrite


def test_manifest_of_a_cli_run(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    config = write_config(tmp_path, small)
    proc = cli_run("run", str(config), "-q", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    data = manifest(out)
    assert data["finished"] is True
    assert data["version"] == pf.__version__
    assert data["command"][1:] == ["run", str(config), "-q", "-o", str(out)]
    assert data["started"] <= data["ended"]
    assert data["config"]["model"]["min_count"] == 10
    assert data["config"]["output"] == out.as_posix()
    assert "cross-sectional regression" in data["steps"]["run"]
    assert isinstance(data["notes"], list)
    rows = listed(out)
    assert "report.md" in rows
    assert (
        rows["descriptors.parquet"]
        == pl.scan_parquet(out / "descriptors.parquet").select(pl.len()).collect().item()
    )
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert on_disk == {*rows, MANIFEST}  # nothing else, no scratch file
    assert_complete(out)
    assert f"{out / MANIFEST}" in proc.stdout


def test_refuses_a_folder_with_other_files(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    out.mkdir()
    (out / "my_notes.txt").write_text("mine")
    proc = cli_run("run", str(write_config(tmp_path, small)), "-q", "-o", str(out))
    assert proc.returncode == 2
    line = one_error_line(proc.stderr)
    assert f"output folder {out} is not empty" in line
    assert "my_notes.txt" in line
    assert "--overwrite" in line
    assert sorted(p.name for p in out.iterdir()) == ["my_notes.txt"]


def test_refuses_a_previous_run(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    config = write_config(tmp_path, small)
    run(small_cfg(small, out))
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    proc = cli_run("run", str(config), "-q", "-o", str(out))
    assert proc.returncode == 2
    assert "the outputs of a previous run" in one_error_line(proc.stderr)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_overwrite_clears_only_our_files(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    out.mkdir()
    # A previous run that wrote a file this run will not write, and a user's file.
    (out / "old_only.parquet").write_bytes(b"x")
    (out / ".descriptors.parquet.partial-0123abcd").write_bytes(b"")  # killed mid-write
    (out / "user.csv").write_text("a,b\n")
    document = {
        "tool": "polars-factors",
        "finished": False,
        "files": [{"path": "old_only.parquet", "rows": 1}],
    }
    (out / MANIFEST).write_text(json.dumps(document))
    proc = cli_run("run", str(write_config(tmp_path, small)), "-q", "--overwrite", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert not (out / "old_only.parquet").exists()
    assert not (out / ".descriptors.parquet.partial-0123abcd").exists()
    assert (out / "user.csv").read_text() == "a,b\n"
    assert manifest(out)["finished"] is True
    assert_complete(out)


def test_overwrite_next_to_user_files(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    out.mkdir()
    (out / "readme.txt").write_text("keep")
    run(small_cfg(small, out), overwrite=True)
    assert (out / "readme.txt").read_text() == "keep"
    assert "readme.txt" not in listed(out)


def test_overwrite_never_leaves_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "o"
    out.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("mine")
    (out / "sub").mkdir()
    files = [{"path": "../outside.txt"}, {"path": str(outside)}, {"path": "sub"}, {"path": 3}]
    (out / MANIFEST).write_text(json.dumps({"tool": "polars-factors", "files": files}))
    prepare(out, overwrite=True)
    assert outside.read_text() == "mine"
    assert (out / "sub").is_dir()
    assert not (out / MANIFEST).exists()


def test_a_foreign_manifest_is_not_ours(tmp_path: Path) -> None:
    out = tmp_path / "o"
    out.mkdir()
    (out / MANIFEST).write_text(json.dumps({"files": [{"path": "data.csv"}]}))
    (out / "data.csv").write_text("1")
    with pytest.raises(ConfigError, match="not from a run of polars-factors"):
        prepare(out, overwrite=False)
    prepare(out, overwrite=True)
    assert (out / "data.csv").read_text() == "1"


def test_output_is_a_file(small: Path, tmp_path: Path) -> None:
    target = tmp_path / "results"
    target.write_text("not a folder")
    start = time.perf_counter()
    proc = cli_run("run", str(write_config(tmp_path, small)), "-q", "-o", str(target))
    assert proc.returncode == 2
    line = one_error_line(proc.stderr)
    assert f"output folder {target} is a file" in line
    assert target.read_text() == "not a folder"
    assert time.perf_counter() - start < 30


def test_output_under_a_file(small: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    target = tmp_path / "file" / "out"
    proc = cli_run("run", str(write_config(tmp_path, small)), "-q", "-o", str(target))
    assert proc.returncode == 2
    assert f"output folder {target} is not writable" in one_error_line(proc.stderr)


def test_output_checked_before_any_step(small: Path, tmp_path: Path) -> None:
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "x").write_text("")
    steps: list[str] = []
    with pytest.raises(ConfigError, match="is not empty"):
        run(small_cfg(small, tmp_path / "o"), on_step=steps.append)
    assert steps == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_output(tmp_path: Path) -> None:
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o500)
    try:
        with pytest.raises(ConfigError, match="is not writable"):
            prepare(out, overwrite=False)
    finally:
        out.chmod(0o700)


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    path.write_bytes(b"old")

    def broken(temp: Path) -> None:
        temp.write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, broken)
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.parquet"]


def test_atomic_write_error_names_the_file(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    target.mkdir()
    (target / "x").write_text("")  # a non-empty folder cannot be replaced by a file
    with pytest.raises(OSError, match=r"cannot write .*report\.md"):
        atomic_write(target, lambda p: p.write_text("text"))
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_sink_interrupted_leaves_no_file(tmp_path: Path) -> None:
    sink = _steps.Sink(tmp_path, rows=1000)
    res = _steps.Results()

    def frames() -> Iterator[pl.DataFrame]:
        yield pl.DataFrame({"a": [1.0]})
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sink.write_frames("cov", frames(), res)
    assert list(tmp_path.iterdir()) == []
    assert "cov" not in res.written


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (".descriptors.parquet.partial-0123abcd", True),
        (".residuals.parquet.shuffle-89abcdef", True),
        (".rolling_betas.parquet.old-00000000", True),
        (".exposures.tmp", True),
        (".polars-factors-probe-12345678", True),
        ("descriptors.parquet", False),
        (".gitignore", False),
        (".partial-0123abcd", False),
    ],
)
def test_scratch_names(name: str, expected: bool) -> None:
    assert is_scratch(name) is expected


def test_help_documents_overwrite(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    assert "--overwrite" in capsys.readouterr().out


def _interrupt(out: Path, sig: signal.Signals, delay: float) -> subprocess.CompletedProcess[str]:
    """Start the demo, wait for its first file, then send ``sig`` after ``delay``."""
    proc = subprocess.Popen(
        [*command(), "demo", "-q", "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A child started in the background may inherit an ignored SIGINT.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    deadline = time.monotonic() + 90
    while not (out / "descriptors.parquet").exists() and time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    time.sleep(delay)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def test_interrupted_run(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = _interrupt(out, signal.SIGINT, 0.3)
    assert proc.returncode == 130, proc.stderr
    line = one_error_line(proc.stderr, prefix="polars-factors: interrupted")
    assert f"{out} is incomplete" in line
    data = manifest(out)
    assert data["finished"] is False
    assert data["error"] == "KeyboardInterrupt"
    assert data["ended"] is None
    assert_complete(out)
    assert not list(out.rglob(".*"))  # the interrupted write was removed
    # The folder is recognisable and refused; --overwrite clears it.
    with pytest.raises(ConfigError, match="previous run"):
        prepare(out, overwrite=False)
    prepare(out, overwrite=True)
    assert list(out.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 1.5])
def test_killed_run(tmp_path: Path, delay: float) -> None:
    out = tmp_path / "demo"
    proc = _interrupt(out, signal.SIGKILL, delay)
    assert proc.returncode == -signal.SIGKILL
    assert manifest(out)["finished"] is False
    assert_complete(out)  # files under their final names are whole
    prepare(out, overwrite=True)
    assert not [p for p in out.rglob("*") if is_scratch(p.name)]
    assert not set(listed_or_empty(out)) & {p.name for p in out.iterdir()}


def listed_or_empty(folder: Path) -> dict[str, int | None]:
    return listed(folder) if (folder / MANIFEST).is_file() else {}


def test_results_skip_records_a_note() -> None:
    res = _steps.Results()
    res.skip("risk model", "too few dates.")
    assert res.skipped == {"risk model": "too few dates"}
    assert res.notes == ["risk model skipped: too few dates."]
    assert res.weights == "equal-weighted"
