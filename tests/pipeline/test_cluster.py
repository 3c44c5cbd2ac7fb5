"""The pipeline on a Dask cluster: `--scheduler`, `[cluster]`, and the same outputs as here.

One ``LocalCluster`` of two worker processes serves the module. The pipeline runs on a
small slice of the bundled sample (chunks of a few thousand rows, so that every step
has several tasks) once in this process and once with the cluster's client as the
executor; the parquet files must agree to 1e-12.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import polars_factors as pf
from polars_factors import cli
from polars_factors.exceptions import ConfigError, DataLossWarning, WorkerVersionError
from polars_factors.partition import Chunk
from polars_factors.partition._run import map_chunks
from polars_factors.pipeline import (
    ClusterConfig,
    RunResult,
    demo_config,
    load_config,
    parse_config,
    run,
    with_scheduler,
)
from polars_factors.pipeline._cluster import open_cluster

START, END = "2016-06-01", "2017-06-30"
CONFIG = """\
[data]
panel = "{panel}"

[model]
styles = ["size", "value", "momentum", "volatility"]
min_count = 10
momentum_lookback = 60
volatility_window = 20
rolling_window = 60
realized_window = 40
quantiles = 3

[output]
figures = false
chunk_rows = 6000
"""
#: A closed port: nothing answers there.
NOWHERE = "tcp://127.0.0.1:1"


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("polars-factors: error: "), err
    assert "Traceback" not in err
    return lines[0]


# ---------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TOML file: 50 stocks of the bundled sample over 13 months, chunks of 6,000 rows.

    30 stocks miss their close on one day, so that the regressions of some dates
    leave out most rows: a warning of the tasks, which becomes a note of the run.
    """
    folder = tmp_path_factory.mktemp("cluster_inputs")
    lf = pf.datasets.load_sp500()
    dates = pl.col("date").is_between(pl.lit(START).str.to_date(), pl.lit(END).str.to_date())
    panel = lf.filter(dates).collect()
    assets = panel["asset"].unique().sort().head(50)
    panel = panel.filter(pl.col("asset").is_in(assets.implode()))
    day = panel["date"].unique().sort()[200]
    hit = pl.col("asset").is_in(assets.head(30).implode()) & (pl.col("date") == day)
    panel = panel.with_columns(pl.when(~hit).then(pl.col("close")))
    panel.write_parquet(folder / "panel.parquet")
    path = folder / "config.toml"
    path.write_text(CONFIG.format(panel=(folder / "panel.parquet").as_posix()))
    return path


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """A client of a LocalCluster of two worker processes (closed after the module)."""
    distributed = pytest.importorskip("distributed")
    with (
        pf.distributed.local_cluster(2) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        yield client


def cfg_at(config: Path, output: Path) -> Any:
    return replace(load_config(config), output=output)


@pytest.fixture(scope="module")
def here(config: Path, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run(cfg_at(config, tmp_path_factory.mktemp("here") / "out"))


@pytest.fixture(scope="module")
def on_cluster(
    config: Path, client: Any, tmp_path_factory: pytest.TempPathFactory
) -> tuple[RunResult, list[dict[str, Any]]]:
    """The same run with the client as the executor, and the tasks its workers ran."""
    from distributed import get_task_stream  # noqa: PLC0415

    with get_task_stream(client) as stream:
        result = run(cfg_at(config, tmp_path_factory.mktemp("cluster") / "out"), executor=client)
    return result, stream.data


# ---------------------------------------------------------------------------------
# the same outputs


def test_same_files_and_values(here: RunResult, on_cluster: tuple[RunResult, Any]) -> None:
    there = on_cluster[0]
    names = sorted(p.name for p in here.output.iterdir())
    assert names == sorted(p.name for p in there.output.iterdir())
    parquet = [n for n in names if n.endswith(".parquet")]
    assert len(parquet) > 15
    for name in parquet:
        ours, theirs = pl.read_parquet(here.output / name), pl.read_parquet(there.output / name)
        assert_frame_equal(ours, theirs, check_exact=False, rel_tol=1e-12, abs_tol=1e-12)
    assert here.results.skipped == there.results.skipped
    # the warnings of the tasks on the workers are issued again here, into the notes
    assert any("more than 50% of the rows are left out" in n for n in there.results.notes)
    assert here.results.notes == there.results.notes


def test_chunks_ran_on_the_workers(client: Any, on_cluster: tuple[RunResult, Any]) -> None:
    tasks = on_cluster[1]
    # every step has several chunks: descriptors (twice), standardization (twice),
    # Fama-French, cross-section, betas (twice)
    assert len(tasks) >= 15
    assert {t["worker"] for t in tasks} <= set(client.nthreads())


def test_manifest_and_summary_name_the_cluster(
    client: Any, on_cluster: tuple[RunResult, Any]
) -> None:
    result = on_cluster[0]
    address = client.scheduler.address
    assert f"cluster: {address}, 2 workers" in result.lines
    manifest = json.loads((result.output / "manifest.json").read_text())
    assert manifest["finished"] is True
    assert manifest["cluster"] == {
        "executor": "dask",
        "scheduler": address,
        "workers": 2,
        "local": False,
    }


def test_no_cluster_line_without_one(here: RunResult) -> None:
    assert not [line for line in here.lines if line.startswith(("cluster:", "executor:"))]
    manifest = json.loads((here.output / "manifest.json").read_text())
    assert manifest["cluster"] is None
    assert manifest["config"]["cluster"] == {"scheduler": None, "workers": 2, "timeout": 30.0}


def test_warnings_of_the_workers_are_issued_here(client: Any) -> None:
    """The chunks of every step go through map_chunks, which relays their warnings."""

    def warn(chunk: Chunk) -> int:
        warnings.warn(f"odd value {chunk.lo % 2}", DataLossWarning, stacklevel=1)
        return chunk.lo * 2

    chunks = [Chunk("date", i, i, i - 1, 3, 1) for i in (1, 2, 3)]
    with open_cluster(ClusterConfig(), client) as cluster:
        assert cluster is not None
        with pytest.warns(DataLossWarning, match="odd value") as caught:
            assert list(map_chunks(cluster.mapper, warn, chunks)) == [2, 4, 6]
    assert sorted(str(w.message) for w in caught) == ["odd value 0", "odd value 1"]


def test_thread_pool_runs_here(config: Path, here: RunResult, tmp_path: Path) -> None:
    with ThreadPoolExecutor(2) as pool:
        result = run(cfg_at(config, tmp_path / "out"), executor=pool)
    assert "executor: ThreadPoolExecutor" in result.lines
    for name in ("exposures.parquet", "residuals.parquet", "rolling_betas.parquet"):
        assert_frame_equal(
            pl.read_parquet(here.output / name), pl.read_parquet(result.output / name)
        )


def test_executors_that_cannot_run_it(config: Path, tmp_path: Path) -> None:
    cfg = cfg_at(config, tmp_path / "out")
    with (
        ProcessPoolExecutor(1) as pool,
        pytest.raises(TypeError, match="ProcessPoolExecutor cannot run the pipeline"),
    ):
        run(cfg, executor=pool)  # it pickles with pickle, not cloudpickle
    with pytest.raises(TypeError, match="`executor` must have a `map"):
        run(cfg, executor=object())
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------
# the command line


def test_cli_scheduler_local(
    config: Path, here: RunResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    code = cli.main(["run", str(config), "-q", "--output", str(out), "--scheduler", "local"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err == ""
    line = next(s for s in captured.out.splitlines() if s.startswith("cluster: "))
    assert line.startswith("cluster: tcp://127.0.0.1:")
    assert line.endswith(" (local), 2 workers")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["cluster"]["local"] is True
    assert manifest["config"]["cluster"]["scheduler"] == "local"
    assert_frame_equal(
        pl.read_parquet(here.output / "factor_returns.parquet"),
        pl.read_parquet(out / "factor_returns.parquet"),
        check_exact=False,
        rel_tol=1e-12,
        abs_tol=1e-12,
    )


def test_cli_unreachable_scheduler(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("distributed")
    body = config.read_text() + f'\n[cluster]\nscheduler = "{NOWHERE}"\ntimeout = 0.3\n'
    path = tmp_path / "config.toml"
    path.write_text(body)
    out = tmp_path / "out"
    code = cli.main(["run", str(path), "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    line = one_error_line(err)
    assert f"cannot reach the Dask scheduler at {NOWHERE}" in line
    assert not out.exists()  # the cluster is reached before the output folder is made
    # --scheduler overrides [cluster] scheduler (the timeout stays)
    code = cli.main(["run", str(path), "--output", str(out), "--scheduler", "127.0.0.1:2"])
    assert code == 2
    assert "at 127.0.0.1:2" in one_error_line(capsys.readouterr().err)


def test_scheduler_without_a_worker() -> None:
    pytest.importorskip("distributed")
    with pf.distributed.local_cluster(0) as empty:
        address = empty.scheduler_address
        cfg = ClusterConfig(address, timeout=0.3)
        with pytest.raises(ConfigError, match=r"has no worker after 0\.3 s"), open_cluster(cfg):
            pass


def test_cli_worker_of_another_version(
    config: Path,
    client: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pf, "__version__", "0.0.0+other", raising=False)
    out = tmp_path / "out"
    code = cli.main(["run", str(config), "-o", str(out), "--scheduler", client.scheduler.address])
    assert code == 2
    line = one_error_line(capsys.readouterr().err)
    assert "but the client runs polars_factors 0.0.0+other" in line
    with pytest.raises(WorkerVersionError):
        run(cfg_at(config, out), executor=client)


def test_cli_without_dask(
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("dask", "dask.distributed", "distributed"):
        monkeypatch.setitem(sys.modules, name, None)
    code = cli.main(["run", str(config), "-o", str(tmp_path / "out"), "--scheduler", "local"])
    assert code == 2
    line = one_error_line(capsys.readouterr().err)
    assert "needs Dask: pip install 'polars_factors[dask]'" in line


def test_cli_bad_scheduler(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["run", str(config), "--scheduler", "locl"])
    assert code == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.endswith(
        '--scheduler must be "local" or a Dask scheduler address such as '
        "\"tcp://10.0.0.5:8786\", got 'locl' (str); did you mean 'local'?"
    )


@pytest.mark.parametrize("command", [["run", "config.toml"], ["demo"]])
def test_cli_parses_scheduler(command: list[str]) -> None:
    parser = cli.build_parser()
    assert parser.parse_args(command).scheduler is None
    args = parser.parse_args([*command, "--scheduler", "tcp://10.0.0.5:8786"])
    assert args.scheduler == "tcp://10.0.0.5:8786"


def test_cli_help_names_the_scheduler(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    assert "--scheduler ADDRESS" in capsys.readouterr().out


def test_no_dask_without_a_scheduler(config: Path, tmp_path: Path) -> None:
    """``--help`` and a run without a scheduler import neither dask nor distributed."""
    script = f"""
import sys
from polars_factors import cli

def loaded():
    return sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed"))

try:
    cli.main(["run", "--help"])
except SystemExit:
    pass
print("help:", loaded())
code = cli.main(["run", {str(config)!r}, "-q", "-o", {str(tmp_path / "out")!r}])
print("run:", code, loaded())
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "help: []" in lines
    assert lines[-1] == "run: 0 []"


# ---------------------------------------------------------------------------------
# [cluster]


def parse(cluster: object) -> ClusterConfig:
    document = {"data": {"panel": "prices.parquet"}, "cluster": cluster}
    return parse_config(document, base=Path("/data"), source="c.toml").cluster


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({}, ClusterConfig()),
        ({"scheduler": "tcp://10.0.0.5:8786"}, ClusterConfig("tcp://10.0.0.5:8786")),
        ({"scheduler": "10.0.0.5:8786"}, ClusterConfig("10.0.0.5:8786")),
        ({"scheduler": "tls://[::1]:8786"}, ClusterConfig("tls://[::1]:8786")),
        ({"scheduler": "local", "workers": 4}, ClusterConfig("local", workers=4)),
        ({"workers": 3}, ClusterConfig(workers=3)),
        ({"scheduler": "local", "timeout": 5}, ClusterConfig("local", timeout=5.0)),
    ],
)
def test_cluster_table(table: dict[str, object], expected: ClusterConfig) -> None:
    assert parse(table) == expected


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("local", "c.toml: [cluster] must be a table, got 'local' (str)"),
        ({"schedular": "local"}, "unknown key 'schedular' in [cluster]; did you mean 'scheduler'?"),
        ({"scheduler": "locl"}, "got 'locl' (str); did you mean 'local'?"),
        ({"scheduler": 8786}, '[cluster] scheduler must be "local" or a Dask scheduler address'),
        ({"scheduler": "tcp://host"}, "an address is scheme://host:port or host:port"),
        ({"scheduler": "htp://host:8786"}, "the scheme must be one of tcp, tls, ucx, ws, wss"),
        ({"scheduler": "local", "workers": 0}, "[cluster] workers must be an integer >= 1, got 0"),
        ({"workers": "2"}, "[cluster] workers must be an integer >= 1, got '2' (str)"),
        ({"timeout": 0}, "[cluster] timeout must be a number > 0, got 0 (int)"),
        ({"timeout": True}, "[cluster] timeout must be a number > 0, got True (bool)"),
        (
            {"scheduler": "tcp://10.0.0.5:8786", "workers": 4},
            "[cluster] workers is the size of scheduler = 'local'; a running scheduler",
        ),
    ],
)
def test_cluster_table_errors(table: object, expected: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse(table)
    assert expected in str(exc.value)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"scheduler": "nowhere"}, "[cluster] scheduler must be"),
        ({"workers": 0}, "[cluster] workers must be an integer >= 1"),
        ({"timeout": float("inf")}, "[cluster] timeout must be a number > 0"),
    ],
)
def test_cluster_config_checks_itself(kwargs: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        ClusterConfig(**kwargs)


def test_with_scheduler() -> None:
    cfg = replace(demo_config("out"), cluster=ClusterConfig("tcp://a:1", timeout=2.0))
    assert with_scheduler(cfg, None) is cfg
    assert with_scheduler(cfg, "local").cluster == ClusterConfig("local", timeout=2.0)
    with pytest.raises(ConfigError, match="--scheduler must be"):
        with_scheduler(cfg, "tcp://a")


def test_example_config_cluster_table_parses(tmp_path: Path) -> None:
    """The commented-out [cluster] of examples/config.toml, uncommented, is valid."""
    example = Path(__file__).resolve().parents[2] / "examples" / "config.toml"
    lines = example.read_text().splitlines()
    start = lines.index("# [cluster]")
    table = [lines[start][2:]]
    table += [line[2:] for line in lines[start + 1 :] if line.startswith("# timeout = ")]
    table += [next(line[2:] for line in lines[start:] if line.startswith("# scheduler = "))]
    path = tmp_path / "config.toml"
    path.write_text("\n".join([*lines, *table]) + "\n")
    assert load_config(path).cluster == ClusterConfig("tcp://10.0.0.5:8786", timeout=30.0)
