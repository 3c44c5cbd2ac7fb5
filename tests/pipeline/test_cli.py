"""The polars-factors command line: help, config errors, and `run` on the user's files."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import polars_factors as pf
from polars_factors import cli
from polars_factors.pipeline import DataConfig, ModelConfig, demo_config, run

RENAME = {
    "date": "Date",
    "asset": "Ticker",
    "close": "Close",
    "sector": "GICS Sector",
    "shares_outstanding": "Shares",
    "book_equity": "Book Equity",
    "net_income": "NetIncome",
    "sales": "Revenue",
}
START, END = "2016-09-01", "2017-06-30"
MODEL = """
[model]
styles = ["size", "value", "volatility"]
rolling_window = 60
realized_window = 40
quantiles = 3
"""


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("polars-factors: error: "), err
    assert "Traceback" not in err
    return lines[0]


# ---------------------------------------------------------------------------------
# help and version


@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"], ["run", "--help"]])
def test_help(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: polars-factors")
    assert "--output" in out or "COMMAND" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("polars-factors 0.")


def test_module_runs_as_script() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "polars_factors.cli", "run", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0
    assert "CONFIG.toml" in proc.stdout


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main([])
    assert exc.value.code == 2
    assert "required" in capsys.readouterr().err


# ---------------------------------------------------------------------------------
# configuration errors: exit code 2, one line


@pytest.fixture(scope="module")
def small_panel() -> pl.DataFrame:
    panel = pf.datasets.load_sp500().collect()
    assets = panel["asset"].unique().sort().head(120)
    return panel.filter(pl.col("asset").is_in(assets.implode()))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, small_panel: pl.DataFrame) -> Path:
    """The small panel renamed, as one CSV and as two parquet files (split by asset)."""
    folder = tmp_path_factory.mktemp("files")
    renamed = small_panel.select(list(RENAME)).rename(RENAME)
    renamed.write_csv(folder / "prices.csv")
    tickers = renamed["Ticker"].unique().sort()
    halves = (tickers.head(60), tickers.tail(tickers.len() - 60))
    for i, half in enumerate(halves):
        renamed.filter(pl.col("Ticker").is_in(half.implode())).write_parquet(
            folder / f"prices_{i}.parquet"
        )
    return folder


def write_config(folder: Path, body: str, name: str = "config.toml") -> Path:
    path = folder / name
    path.write_text(body)
    return path


def columns_table() -> str:
    return "[columns]\n" + "".join(f'{k} = "{v}"\n' for k, v in RENAME.items())


def data_table(panel: str) -> str:
    return f'[data]\npanel = "{panel}"\nstart = {START}\nend = {END}\n'


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("[data\n", "invalid TOML"),
        ('[model]\nstyles = ["size"]\n', "[data] panel is required"),
        ('[data]\npanel = "prices.csv"\n[modle]\n', "unknown table [modle]; did you mean 'model'"),
        (
            '[data]\npanel = "prices.csv"\n[model]\nrolling_windw = 3\n',
            "unknown key 'rolling_windw' in [model]; did you mean 'rolling_window'?",
        ),
        (
            '[data]\npanel = "prices.csv"\n[model]\nrolling_window = "long"\n',
            "[model] rolling_window must be an integer >= 2, got 'long' (str)",
        ),
        (
            '[data]\npanel = "prices.csv"\n[model]\nrisk_preset = "use4s"\n',
            "did you mean 'USE4S'?",
        ),
        (
            '[data]\npanel = "prices.csv"\n[model]\nstyles = ["size", "valeu"]\n',
            "did you mean 'value'?",
        ),
        ('[data]\npanel = "prices.csv"\n[model]\ncountry = "yes"\n', "must be true or false"),
        ('[data]\npanel = "prices.csv"\nstart = "2017-13-01"\n', "[data] start must be a date"),
        ('[data]\npanel = "prices.csv"\n[columns]\nticker = "Ticker"\n', "unknown key 'ticker'"),
        ('[data]\npanel = "nothing_*.csv"\n', "no file matches"),
        ('[data]\npanel = "missing.csv"\n', "file not found"),
        (
            '[data]\npanel = "prices.csv"\nfama_french = "nope.CSV"\n' + columns_table(),
            "fama_french: file not found",
        ),
        (
            '[data]\npanel = "prices.csv"\n[columns]\nasset = "Tickr"\n',
            "column 'Tickr' ([columns] asset) is not in the data; did you mean 'Ticker'?",
        ),
        (
            '[data]\npanel = "prices.csv"\n',
            (
                "required column 'date' is not in the data; name yours in [columns], "
                'e.g. date = "Date"'
            ),
        ),
    ],
)
def test_config_errors(
    capsys: pytest.CaptureFixture[str], files: Path, body: str, expected: str
) -> None:
    path = write_config(files, body, "bad.toml")
    code, out, err = run_main(capsys, "run", str(path), "--output", str(files / "never"))
    line = one_error_line(err)
    assert expected in line, line
    assert code == 2
    assert out == ""
    assert not (files / "never").exists()


def test_missing_config_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_main(capsys, "run", str(tmp_path / "nope.toml"))
    assert "config file not found" in one_error_line(err)
    assert code == 2


def test_data_error_exit_code_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, small_panel: pl.DataFrame
) -> None:
    doubled = small_panel.head(2000)
    pl.concat([doubled, doubled]).write_parquet(tmp_path / "dup.parquet")
    path = write_config(tmp_path, '[data]\npanel = "dup.parquet"\n')
    code, _, err = run_main(capsys, "run", str(path), "-q", "--output", str(tmp_path / "o"))
    assert "duplicate" in one_error_line(err).lower()
    assert code == 1


def test_text_in_numeric_column(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pl.DataFrame({"date": ["2017-01-03"], "asset": ["A"], "close": ["n/a"]}).write_csv(
        tmp_path / "p.csv"
    )
    path = write_config(tmp_path, '[data]\npanel = "p.csv"\n')
    code, _, err = run_main(capsys, "run", str(path), "-q")
    assert "'close' (close) must be numeric" in one_error_line(err)
    assert code == 1


# ---------------------------------------------------------------------------------
# run on the user's files = the demo pipeline restricted the same way


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, small_panel: pl.DataFrame) -> Path:
    demo = demo_config(tmp_path_factory.mktemp("reference"))
    cfg = dataclasses.replace(
        demo,
        data=DataConfig(
            start=pl.Series([START]).str.to_date()[0],
            end=pl.Series([END]).str.to_date()[0],
            assets=tuple(small_panel["asset"].unique().sort()),
        ),
        model=ModelConfig(
            styles=("size", "value", "volatility"),
            rolling_window=60,
            realized_window=40,
            quantiles=3,
            focus_asset=None,
        ),
        figures=False,
    )
    return run(cfg, progress=None).output


@pytest.mark.slow
@pytest.mark.parametrize("panel", ["prices.csv", "prices_*.parquet"])
def test_run_matches_demo_restricted(
    capsys: pytest.CaptureFixture[str], files: Path, reference: Path, panel: str
) -> None:
    body = data_table(panel) + columns_table() + MODEL + "[output]\nfigures = false\n"
    path = write_config(files, body, f"run_{panel[:6]}.toml")
    out_dir = files / f"out_{panel.replace('*', 'x')}"
    code, out, err = run_main(capsys, "run", str(path), "--output", str(out_dir))
    assert code == 0, err
    assert "[4/7] cross-sectional regression ..." in err
    assert "median R²" in out
    assert (out_dir / "report.md").is_file()
    for name in ("factor_returns", "betas", "fama_macbeth", "asset_risk"):
        ours = pl.read_parquet(out_dir / f"{name}.parquet")
        expected = pl.read_parquet(reference / f"{name}.parquet")
        assert_frame_equal(ours, expected, check_exact=False, rel_tol=1e-9, abs_tol=1e-12)


def test_quiet_and_missing_optional_columns(
    capsys: pytest.CaptureFixture[str], files: Path
) -> None:
    # Only date, asset, close: no market cap, no sector -> equal weights, price styles only;
    # Fama-French factors skipped with a note.
    body = (
        data_table("prices.csv")
        + '[columns]\ndate = "Date"\nasset = "Ticker"\nclose = "Close"\n'
        + '[model]\nstyles = ["size", "volatility"]\nindustry = "none"\nrolling_window = 60\n'
        + "[output]\nfigures = false\n"
    )
    path = write_config(files, body, "minimal.toml")
    code, out, err = run_main(capsys, "run", str(path), "-q", "-o", str(files / "minimal"))
    assert code == 0, err
    assert err == ""
    assert "styles volatility" in out
    report = (files / "minimal" / "report.md").read_text()
    assert "style 'size' skipped" in report
    assert "Fama-French factors skipped: no market cap" in report
