"""Bad input to `polars-factors run`: impossible prices, contradicting settings,
files that do not line up, and dates. Each case gives a config error, a data error or
a documented null with a note; never a silently wrong result.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import polars_factors as pf
from polars_factors.exceptions import ConfigError, FileFormatError, SchemaError
from polars_factors.pipeline import DataConfig, ModelConfig, PipelineConfig, parse_config
from polars_factors.pipeline._data import load_panel
from tests.pipeline.test_cli import one_error_line, write_config

D = dt.date
SOURCE = "t.toml"


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text)
    return str(path)


def load(*files: str, notes: list[str] | None = None, **options: object) -> pl.DataFrame:
    data = DataConfig(panel=files, **options)  # type: ignore[arg-type]
    return load_panel(data, source=SOURCE, notes=notes).collect().sort("date", "asset")


def parse(text: dict[str, dict[str, object]]) -> object:
    return parse_config(text, base=Path("/data"), source=SOURCE)


# ---------------------------------------------------------------------------------
# 1. impossible prices: null, with a note giving the count and the first rows


PRICES = """date,asset,close
2016-01-04,A,10
2016-01-04,B,20
2016-01-05,A,0
2016-01-05,B,21
2016-01-06,A,11
2016-01-06,B,-3
2016-01-07,A,NaN
2016-01-07,B,inf
"""


def test_impossible_closes_are_null(tmp_path: Path) -> None:
    out = load(write(tmp_path, "p.csv", PRICES))
    assert out["close"].to_list() == [10.0, 20.0, None, 21.0, 11.0, None, None, None]


def test_impossible_closes_note_counts_and_first_rows(tmp_path: Path) -> None:
    notes: list[str] = []
    load(write(tmp_path, "p.csv", PRICES), notes=notes)
    assert notes == [
        (
            "close: 4 values <= 0, NaN or infinite read as missing (first: A on 2016-01-05, "
            "B on 2016-01-06, A on 2016-01-07, ...); the returns to and from those rows are null."
        )
    ]


def test_no_note_without_impossible_closes(tmp_path: Path) -> None:
    notes: list[str] = []
    text = "date,asset,close\n2016-01-04,A,10\n2016-01-05,A,0.01\n"
    out = load(write(tmp_path, "p.csv", text), notes=notes)
    assert notes == []
    assert out["close"].to_list() == [10.0, 0.01]


def test_notes_none_reads_nothing_but_still_nulls(tmp_path: Path) -> None:
    out = load(write(tmp_path, "p.csv", PRICES), notes=None)
    assert out["close"].null_count() == 4


def test_count_only_rows_in_start_end_and_assets(tmp_path: Path) -> None:
    notes: list[str] = []
    load(write(tmp_path, "p.csv", PRICES), notes=notes, start=D(2016, 1, 6), assets=("B",))
    assert notes == [
        (
            "close: 2 values <= 0, NaN or infinite read as missing (first: B on 2016-01-06, "
            "B on 2016-01-07); the returns to and from those rows are null."
        )
    ]


def test_impossible_values_of_other_columns(tmp_path: Path) -> None:
    text = (
        "date,asset,close,volume,shares_outstanding,book_equity,net_income\n"
        "2016-01-04,A,10,0,100,-5,1\n"
        "2016-01-05,A,10,-1,0,5,NaN\n"
        "2016-01-06,A,10,7,-2,inf,-4\n"
    )
    out = load(write(tmp_path, "p.csv", text))
    assert out["volume"].to_list() == [0.0, None, 7.0]  # a zero volume is possible
    assert out["shares_outstanding"].to_list() == [100.0, None, None]
    assert out["book_equity"].to_list() == [-5.0, 5.0, None]  # negative book is possible
    assert out["net_income"].to_list() == [1.0, None, -4.0]


def test_rows_without_a_key_are_left_out_with_a_note(tmp_path: Path) -> None:
    text = "date,asset,close\n2016-01-04,A,10\n,A,11\n2016-01-05,,12\n2016-01-05,A,13\n"
    notes: list[str] = []
    out = load(write(tmp_path, "p.csv", text), notes=notes)
    assert out["close"].to_list() == [10.0, 13.0]
    assert notes == ["2 rows of the files have no date or no asset: left out."]


def test_bundled_sample_has_no_impossible_close() -> None:
    notes: list[str] = []
    load_panel(DataConfig(), source=SOURCE, notes=notes)
    assert notes == []


# ---------------------------------------------------------------------------------
# 2. settings that contradict each other: ConfigError


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"model": {"momentum_lookback": 21, "momentum_skip": 21}},
            "t.toml: [model] momentum_lookback (21) must be larger than momentum_skip (21)",
        ),
        (
            {"model": {"momentum_lookback": 10, "momentum_skip": 21}},
            "momentum_lookback (10) must be larger than momentum_skip (21)",
        ),
        (  # against the default lookback of 252
            {"model": {"momentum_skip": 300}},
            "momentum_lookback (252) must be larger than momentum_skip (300)",
        ),
        (
            {"model": {"rolling_window": 3}},
            "[model] rolling_window (3) must be at least 4: the rolling betas fit 4 parameters",
        ),
        (
            {"model": {"styles": ["value"], "value": []}},
            '[model] value is empty but styles has "value"',
        ),
        (
            {"model": {"styles": [], "industry": "none", "country": False}},
            "[model] no factor: styles is empty",
        ),
        (
            {"columns": {"close": "px", "volume": "px"}},
            "t.toml: [columns] close and volume both name the column 'px'",
        ),
        (
            {"data": {"start": "2017-02-01", "end": "2017-01-31"}},
            "[data] start 2017-02-01 is after end 2017-01-31",
        ),
        (
            {"data": {"assets": ["A", "B", "C"]}},
            "[model] min_count (25) is more than the 3 [data] assets",
        ),
        (
            {"data": {"assets": ["A", "B", "A"]}, "model": {"min_count": 2, "quantiles": 3}},
            "[model] quantiles (3) is more than the 2 [data] assets",
        ),
        (
            {
                "data": {"assets": ["A", "B"]},
                "model": {"min_count": 2, "quantiles": 2, "focus_asset": "C"},
            },
            "[model] focus_asset 'C' is not in [data] assets",
        ),
        (
            {"data": {"date_format": "%Y"}},
            "[data] date_format must be a strptime format with a year, a month and a day",
        ),
        ({"data": {"date_format": "%H:%M"}}, "got '%H:%M' (str); e.g. \"%d/%m/%Y\""),
        ({"data": {"date_format": "%d/%m"}}, "date_format must be a strptime format"),
    ],
)
def test_contradicting_settings(document: dict[str, dict[str, object]], expected: str) -> None:
    document = {**document, "data": {"panel": "p.csv", **document.get("data", {})}}
    with pytest.raises(ConfigError) as err:
        parse(document)
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "document",
    [
        {"model": {"momentum_lookback": 22, "momentum_skip": 21}},
        {"model": {"rolling_window": 4}},
        {"data": {"start": "2017-01-31", "end": "2017-01-31"}},
        {"data": {"date_format": "%d.%m.%y %H:%M"}},
        {"model": {"styles": [], "industry": "none", "country": True}},
    ],
)
def test_settings_at_the_limit_are_accepted(document: dict[str, dict[str, object]]) -> None:
    data = {"panel": "p.csv", **document.get("data", {})}
    parse({**document, "data": data})


def test_dataclasses_check_themselves() -> None:
    # From Python, the same rules: ConfigError, also a ValueError.
    with pytest.raises(ValueError, match=r"momentum_lookback \(5\) must be larger"):
        ModelConfig(momentum_lookback=5, momentum_skip=5)
    with pytest.raises(ConfigError, match="both name the column 'px'"):
        DataConfig(columns={"close": "px", "sales": "px"})
    model = ModelConfig(min_count=2, quantiles=2)
    cfg = PipelineConfig(data=DataConfig(assets=("A", "B")), model=model)
    with pytest.raises(ConfigError, match="focus_asset 'Z' is not in"):
        dataclasses.replace(cfg, model=dataclasses.replace(model, focus_asset="Z"))


def test_column_mapped_onto_another_canonical_name(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "date,asset,price,volume\n2016-01-04,A,1,2\n")
    with pytest.raises(ConfigError) as err:
        load(path, columns={"close": "volume"})
    assert str(err.value) == (
        "t.toml: column 'volume' is both close ([columns] close) and, by its name, volume; "
        "map volume in [columns] too"
    )


# ---------------------------------------------------------------------------------
# 3. files that do not line up


def test_file_naming_a_column_differently(tmp_path: Path) -> None:
    a = write(tmp_path, "a.csv", "date,asset,close\n2016-01-04,A,10\n")
    b = write(tmp_path, "b.csv", "date,asset,Close\n2016-01-04,B,20\n")
    with pytest.raises(ConfigError) as err:
        load(a, b)
    assert str(err.value) == (
        f"t.toml: {b} has no column 'close' (close) but {a} has; did you mean 'Close'? "
        "every file of [data] panel must name its columns the same way"
    )


def test_mapped_column_missing_from_one_file(tmp_path: Path) -> None:
    a = write(tmp_path, "a.csv", "Date,asset,px\n2016-01-04,A,10\n")
    b = write(tmp_path, "b.csv", "Date,asset,price\n2016-01-04,B,20\n")
    with pytest.raises(ConfigError, match=r"b\.csv has no column 'px' \(\[columns\] close\)"):
        load(a, b, columns={"date": "Date", "close": "px"})


def test_optional_column_in_some_files_only(tmp_path: Path) -> None:
    a = write(tmp_path, "a.csv", "date,asset,close,volume\n2016-01-04,A,10,5\n")
    b = write(tmp_path, "b.csv", "date,asset,close\n2016-01-04,B,20\n")
    with pytest.raises(ConfigError, match=r"b\.csv has no column 'volume' \(volume\) but"):
        load(a, b)


def test_extra_columns_may_differ(tmp_path: Path) -> None:
    a = write(tmp_path, "a.csv", "date,asset,close,note\n2016-01-04,A,10,x\n")
    b = write(tmp_path, "b.csv", "date,asset,close,other\n2016-01-04,B,20,1\n")
    out = load(a, b)
    assert out.columns == ["date", "asset", "close"]
    assert out["close"].to_list() == [10.0, 20.0]


def test_text_close_in_one_file(tmp_path: Path) -> None:
    a = write(tmp_path, "a.csv", "date,asset,close\n2016-01-04,A,10\n")
    b = write(tmp_path, "b.csv", "date,asset,close\n2016-01-04,B,n/a\n")
    with pytest.raises(SchemaError) as err:
        load(a, b)
    assert str(err.value) == f"t.toml: {b}: column 'close' (close) must be numeric; it is String"


def test_numbers_of_any_type_are_cast_to_float(tmp_path: Path) -> None:
    pl.DataFrame({"date": [D(2016, 1, 4)], "asset": ["A"], "close": [10]}).write_parquet(
        tmp_path / "a.parquet"
    )
    b = write(tmp_path, "b.csv", "date,asset,close\n2016-01-05,A,10.5\n")
    out = load(str(tmp_path / "a.parquet"), b)
    assert out.schema["close"] == pl.Float64
    assert out["close"].to_list() == [10.0, 10.5]


def test_date_types_may_differ_between_files(tmp_path: Path) -> None:
    pl.DataFrame({"date": [D(2016, 1, 4)], "asset": ["A"], "close": [1.0]}).write_parquet(
        tmp_path / "a.parquet"
    )
    pl.DataFrame({"date": [20160105], "asset": ["A"], "close": [2.0]}).write_parquet(
        tmp_path / "b.parquet"
    )
    c = write(tmp_path, "c.csv", "date,asset,close\n2016-01-06,A,3\n")
    out = load(str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet"), c)
    assert out["date"].to_list() == [D(2016, 1, 4), D(2016, 1, 5), D(2016, 1, 6)]


def test_csv_asset_codes_keep_their_zeros(tmp_path: Path) -> None:
    a = write(tmp_path, "a.csv", "date,asset,close,sector\n2016-01-04,0050,10,45\n")
    pl.DataFrame(
        {"date": [D(2016, 1, 4)], "asset": ["2330"], "close": [1.0], "sector": ["45"]}
    ).write_parquet(tmp_path / "b.parquet")
    out = load(a, str(tmp_path / "b.parquet"))
    assert out["asset"].to_list() == ["0050", "2330"]
    assert out["sector"].to_list() == ["45", "45"]


def test_file_listed_twice(tmp_path: Path) -> None:
    a = write(tmp_path, "a.csv", "date,asset,close\n2016-01-04,A,10\n")
    with pytest.raises(ConfigError, match=r"\[data\] panel: .*a\.csv is listed more than once"):
        load(str(tmp_path / "*.csv"), a)


def test_file_not_readable_as_its_format(tmp_path: Path) -> None:
    a = write(tmp_path, "a.csv", "date,asset,close\n2016-01-04,A,10\n")
    with pytest.raises(FileFormatError, match=r"cannot read .*a\.csv as parquet"):
        load(a, format="parquet")


# ---------------------------------------------------------------------------------
# 4. dates


def dates_csv(tmp_path: Path, *dates: str) -> str:
    rows = "".join(f"{d},A{i},1\n" for i, d in enumerate(dates))
    return write(tmp_path, "d.csv", "date,asset,close\n" + rows)


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("02/09/2015", 'date_format = "%d/%m/%Y" (day first) or "%m/%d/%Y" (month first)'),
        ("9.2.2015", 'date_format = "%d.%m.%Y" (day first) or "%m.%d.%Y" (month first)'),
        ("02-09-15", 'date_format = "%d-%m-%y" (day first) or "%m-%d-%y" (month first)'),
        ("2015/02/09", 'date_format = "%Y/%m/%d"'),
        ("Feb 9 2015", 'date_format, e.g. "%d/%m/%Y" (day first) or "%m/%d/%Y" (month first)'),
    ],
)
def test_non_iso_text_dates_need_a_format(tmp_path: Path, value: str, hint: str) -> None:
    path = dates_csv(tmp_path, "2015-02-06", value)
    with pytest.raises(ConfigError) as err:
        load(path)
    assert str(err.value) == (
        f"t.toml: {path}: the date column 'date' holds {value!r}, not an ISO date "
        f"(YYYY-MM-DD); set [data] {hint}"
    )


@pytest.mark.parametrize(
    ("fmt", "expected"), [("%d/%m/%Y", D(2015, 9, 2)), ("%m/%d/%Y", D(2015, 2, 9))]
)
def test_date_format_decides(tmp_path: Path, fmt: str, expected: dt.date) -> None:
    out = load(dates_csv(tmp_path, "02/09/2015"), date_format=fmt)
    assert out["date"].to_list() == [expected]


def test_date_format_that_does_not_match(tmp_path: Path) -> None:
    path = dates_csv(tmp_path, "2015-02-09")
    with pytest.raises(ConfigError) as err:
        load(path, date_format="%d/%m/%Y")
    assert str(err.value) == (
        f"t.toml: {path}: the date column 'date' holds '2015-02-09', which "
        "[data] date_format '%d/%m/%Y' does not read"
    )


def test_iso_text_that_is_no_date(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="holds '2015-13-45', which the format '%Y-%m-%d'"):
        load(dates_csv(tmp_path, "2015-02-09", "2015-13-45"))


@pytest.mark.parametrize(
    "values",
    [
        ["2015-02-09 16:00:00", "2015-02-10 16:00:00"],
        ["2015-02-09T16:00", "2015-02-10T09:30:00.250"],
        ["2015-02-09T20:00:00-05:00", "2015-02-10T23:30:00Z"],  # not the next day in UTC
        ["2015-02-09", "2015-02-10 00:00:00+0100"],
    ],
)
def test_text_with_a_time_of_day_is_its_date_as_written(tmp_path: Path, values: list[str]) -> None:
    out = load(dates_csv(tmp_path, *values))
    assert out["date"].to_list() == [D(2015, 2, 9), D(2015, 2, 10)]


def test_yyyymmdd_text_and_integers(tmp_path: Path) -> None:
    out = load(dates_csv(tmp_path, "20150209", "20150210"))
    assert out["date"].to_list() == [D(2015, 2, 9), D(2015, 2, 10)]
    pl.DataFrame({"date": [20150209], "asset": ["A"], "close": [1.0]}).write_parquet(
        tmp_path / "i.parquet"
    )
    assert load(str(tmp_path / "i.parquet"))["date"].to_list() == [D(2015, 2, 9)]


def test_integer_that_is_not_yyyymmdd(tmp_path: Path) -> None:
    pl.DataFrame({"date": [2092015], "asset": ["A"], "close": [1.0]}).write_parquet(
        tmp_path / "i.parquet"
    )
    with pytest.raises(ConfigError, match=r"holds '2092015', which the format '%Y%m%d' does not"):
        load(str(tmp_path / "i.parquet"))


def test_datetime_is_the_date_in_its_own_time_zone(tmp_path: Path) -> None:
    # 20:00 in New York on 9 February is 01:00 UTC on the 10th: the date is the 9th.
    stamps = pl.Series([dt.datetime(2015, 2, 9, 20), dt.datetime(2015, 2, 10, 9, 30)])
    pl.DataFrame(
        {"date": stamps.dt.replace_time_zone("America/New_York"), "asset": "A", "close": 1.0}
    ).write_parquet(tmp_path / "tz.parquet")
    pl.DataFrame({"date": stamps, "asset": "B", "close": 1.0}).write_parquet(
        tmp_path / "naive.parquet"
    )
    out = load(str(tmp_path / "tz.parquet"), str(tmp_path / "naive.parquet"))
    assert out.schema["date"] == pl.Date
    assert out["date"].to_list() == [D(2015, 2, 9)] * 2 + [D(2015, 2, 10)] * 2


def test_float_dates_are_refused(tmp_path: Path) -> None:
    pl.DataFrame({"date": [20150209.0], "asset": ["A"], "close": [1.0]}).write_parquet(
        tmp_path / "f.parquet"
    )
    with pytest.raises(SchemaError, match="must be a date, datetime, text or YYYYMMDD integer"):
        load(str(tmp_path / "f.parquet"))


def test_a_bad_date_after_the_sample_fails_when_read(tmp_path: Path) -> None:
    # The format is told from the first 1,000 rows; a later date it does not read
    # stops the run when the rows are read, never a silently wrong date.
    path = dates_csv(tmp_path, *["2015-02-09"] * 1000, "02/09/2015")
    with pytest.raises(pl.exceptions.InvalidOperationError, match="02/09/2015"):
        load(path)


# ---------------------------------------------------------------------------------
# the command line, in a subprocess: exit code, one line on stderr, what is on disk


def cli(config: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "polars_factors.cli", "run", str(config), "-q", "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


GOOD = "date,asset,close\n2016-01-04,A,10\n2016-01-05,A,11\n"


@pytest.mark.parametrize(
    ("files", "body", "code", "expected"),
    [
        (
            {"p.csv": GOOD},
            '[data]\npanel = "p.csv"\n[model]\nmomentum_lookback = 20\nmomentum_skip = 20\n',
            2,
            "cfg.toml: [model] momentum_lookback (20) must be larger than momentum_skip (20)",
        ),
        (
            {"p.csv": GOOD},
            '[data]\npanel = "p.csv"\n[columns]\nclose = "close"\nvolume = "close"\n',
            2,
            "[columns] close and volume both name the column 'close'",
        ),
        (
            {"p.csv": GOOD},
            '[data]\npanel = "p.csv"\n[model]\nrolling_window = 2\n',
            2,
            "[model] rolling_window (2) must be at least 4",
        ),
        (
            {"a.csv": GOOD, "b.csv": "date,asset,Close\n2016-01-04,B,20\n"},
            '[data]\npanel = "*.csv"\n',
            2,
            "b.csv has no column 'close' (close) but",
        ),
        (
            {"p.csv": "date,asset,close\n02/09/2015,A,10\n"},
            '[data]\npanel = "p.csv"\n',
            2,
            "holds '02/09/2015', not an ISO date (YYYY-MM-DD); set [data] date_format = ",
        ),
        (
            {"p.csv": GOOD},
            '[data]\npanel = "p.csv"\ndate_format = "%m/%d/%Y"\n',
            2,
            "holds '2016-01-04', which [data] date_format '%m/%d/%Y' does not read",
        ),
        (
            {"p.csv": GOOD},
            '[data]\npanel = ["p.csv", "*.csv"]\n',
            2,
            "p.csv is listed more than once",
        ),
        (
            {"a.csv": GOOD, "b.csv": "date,asset,close\n2016-01-04,B,n/a\n"},
            '[data]\npanel = "*.csv"\n',
            1,
            "b.csv: column 'close' (close) must be numeric; it is String",
        ),
    ],
)
def test_cli_refuses_bad_input(
    tmp_path: Path, files: dict[str, str], body: str, code: int, expected: str
) -> None:
    for name, text in files.items():
        write(tmp_path, name, text)
    config = write_config(tmp_path, body, "cfg.toml")
    proc = cli(config, tmp_path / "out")
    line = one_error_line(proc.stderr)
    assert expected in line, line
    assert proc.returncode == code
    assert proc.stdout == ""
    assert not (tmp_path / "out").exists()  # refused before anything is written


@pytest.fixture(scope="module")
def sample() -> pl.DataFrame:
    """60 stocks of the bundled sample over 7 months: enough for a whole run."""
    panel = pf.datasets.load_sp500().collect()
    assets = panel["asset"].unique().sort().head(60)
    return panel.filter(
        pl.col("asset").is_in(assets.implode()),
        pl.col("date").is_between(D(2016, 9, 1), D(2017, 3, 31)),
    ).select("date", "asset", "close", "sector", "shares_outstanding")


MODEL = """[model]
styles = ["size", "volatility"]
rolling_window = 40
realized_window = 20
quantiles = 3
[output]
figures = false
"""


def test_cli_impossible_closes_become_null_with_a_note(
    tmp_path: Path, sample: pl.DataFrame
) -> None:
    a_dates = sample.filter(pl.col("asset") == "A")["date"].sort()
    zero, negative = a_dates[10], a_dates[20]
    bad = {zero: 0.0, negative: -2.5}
    sample.with_columns(
        pl.when(pl.col("asset") == "A")
        .then(pl.col("date").replace_strict(bad, default=pl.col("close"), return_dtype=pl.Float64))
        .otherwise("close")
        .alias("close")
    ).write_csv(tmp_path / "p.csv")
    config = write_config(tmp_path, '[data]\npanel = "p.csv"\n' + MODEL, "cfg.toml")
    proc = cli(config, tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "notes: " in proc.stdout
    report = (tmp_path / "out" / "report.md").read_text()
    assert (
        f"close: 2 values <= 0, NaN or infinite read as missing (first: A on {zero}, "
        f"A on {negative}); the returns to and from those rows are null."
    ) in report
    desc = pl.read_parquet(tmp_path / "out" / "descriptors.parquet")
    assert desc["ret"].min() > -1.0  # type: ignore[operator]
    a = desc.filter(pl.col("asset") == "A").sort("date")
    i, j = a_dates.index_of(zero), a_dates.index_of(negative)
    assert a["close"][i] is None
    assert a["close"][j] is None
    assert a["ret"][i] is None  # to the impossible close
    assert a["ret"][i + 1] is None  # and from it
    assert a["ret"][j] is None
    assert a["ret"][j + 1] is None
    closes = sample.filter(pl.col("asset") == "A").sort("date")["close"]
    assert a["ret"][i + 2] == pytest.approx(closes[i + 2] / closes[i + 1] - 1.0, rel=1e-12)


def test_cli_two_rows_of_one_day_are_duplicates(tmp_path: Path, sample: pl.DataFrame) -> None:
    # Times of day are dropped: two intraday rows of a stock are one date twice.
    text = sample.with_columns(pl.col("date").dt.strftime("%Y-%m-%d 16:00:00"))
    extra = (
        text.filter(pl.col("shares_outstanding").is_not_null())  # in the estimation universe
        .head(1)
        .with_columns(pl.col("date").str.replace("16:00", "10:00"))
    )
    pl.concat([text, extra]).write_csv(tmp_path / "p.csv")
    config = write_config(tmp_path, '[data]\npanel = "p.csv"\n' + MODEL, "cfg.toml")
    proc = cli(config, tmp_path / "out")
    line = one_error_line(proc.stderr)
    assert "duplicate" in line.lower(), line
    assert proc.returncode == 1
