"""read_french_csv and list_french_tables: every table of a data library file.

Oracles: the csv module's reading of the raw text (blocks split at blank lines), hand
checked values, and read_fama_french (the first table) on the same files.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from polars_factors.exceptions import FactorsError
from polars_factors.io import (
    FileFormatError,
    list_french_tables,
    read_fama_french,
    read_french_csv,
)
from tests.conftest import DATA_DIR
from tests.io.test_read_fama_french import DAILY, MONTHLY, MONTHLY_EXPECTED

FF_DIR = DATA_DIR / "fama_french"
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "french_portfolios_sample.CSV"
PORTFOLIO_COLUMNS = ["Lo 20", "Qnt 2", "Qnt 4", "Hi 20"]


def raw_tables(text: str) -> list[tuple[str, list[str], list[list[str]]]]:
    """Oracle: (title, header, rows) of each table, with the csv module."""
    rows = [[c.strip() for c in r] for r in csv.reader(io.StringIO(text, newline=""))]
    tables, block = [], []
    for row in [*rows, []]:
        if any(row):
            block.append(row)
            continue
        dated = [i for i, r in enumerate(block) if i > 0 and r[0].isdigit()]
        if dated:
            i = dated[0]
            title = ",".join(block[i - 2]) if i >= 2 else ""
            tables.append((title, block[i - 1], block[i:]))
        block = []
    return tables


def expected_dates(texts: list[str]) -> list[dt.date]:
    out = []
    for t in texts:
        if len(t) == 8:
            out.append(dt.date(int(t[:4]), int(t[4:6]), int(t[6:])))
        elif len(t) == 6:
            first = dt.date(int(t[:4]), int(t[4:]), 1)
            out.append((first.replace(day=28) + dt.timedelta(days=4)).replace(day=1))
            out[-1] -= dt.timedelta(days=1)
        else:
            out.append(dt.date(int(t), 12, 31))
    return out


def check_against_raw(out: pl.DataFrame, header: list[str], rows: list[list[str]]) -> None:
    assert out.columns == ["date", *header[1:]]
    assert out["date"].to_list() == expected_dates([r[0] for r in rows])
    for j, col in enumerate(header[1:], start=1):
        expected = [
            None if r[j] in ("", "-99.99", "-999") else float(Decimal(r[j]) / 100) for r in rows
        ]
        assert out[col].to_list() == expected, col


# ------------------------------------------------------------------- hand-written


def test_first_table_is_read_fama_french():
    for text in (MONTHLY, DAILY):
        out = read_french_csv(io.StringIO(text))
        assert_frame_equal(out, read_fama_french(io.StringIO(text)))
    assert_frame_equal(read_french_csv(io.StringIO(MONTHLY)), MONTHLY_EXPECTED)
    assert_frame_equal(read_french_csv(io.StringIO(MONTHLY), table="monthly"), MONTHLY_EXPECTED)


@pytest.mark.parametrize(
    "table", ["annual", 1, -1, "Annual Factors: January-December", " annual factors"]
)
def test_annual_block(table):
    out = read_french_csv(io.StringIO(MONTHLY), table=table)
    expected = pl.DataFrame(
        {
            "date": [dt.date(2022, 12, 31), dt.date(2023, 12, 31)],
            "Mkt-RF": [-0.2158, 0.2168],
            "SMB": [-0.0685, -0.0329],
            "HML": [0.2597, -0.1370],
            "RF": [0.0143, 0.0495],
        }
    )
    assert_frame_equal(out, expected, check_exact=True)


def test_annual_units_and_year_start():
    out = read_french_csv(
        io.StringIO(MONTHLY), table="annual", units="percent", month_date="start", date="year"
    )
    assert out["year"].to_list() == [dt.date(2022, 1, 1), dt.date(2023, 1, 1)]
    assert out["HML"].to_list() == [25.97, -13.70]


def test_daily_file_tables():
    assert read_french_csv(io.StringIO(DAILY), table="daily").height == 3
    tables = list_french_tables(io.StringIO(DAILY))
    assert tables["frequency"].to_list() == ["daily"]
    assert tables["columns"].to_list() == [["Mkt-RF", "SMB", "HML", "RMW", "CMA", "RF"]]


def test_sample_portfolio_file_every_table():
    # The csv module's reading of each block against the reader, cell by cell.
    raw = raw_tables(SAMPLE.read_bytes().decode("ascii"))
    tables = list_french_tables(SAMPLE)
    assert tables.rows() == [
        (0, "Average Value Weighted Returns -- Monthly", "monthly", 3, 7, PORTFOLIO_COLUMNS),
        (1, "Average Equal Weighted Returns -- Monthly", "monthly", 3, 13, PORTFOLIO_COLUMNS),
        (2, "Average Value Weighted Returns -- Annual", "annual", 2, 19, PORTFOLIO_COLUMNS),
        (3, "Average Equal Weighted Returns -- Annual", "annual", 2, 24, PORTFOLIO_COLUMNS),
        (4, "Number of Firms in Portfolios", "monthly", 3, 29, PORTFOLIO_COLUMNS),
    ]
    assert [t[0] for t in raw] == tables["title"].to_list()
    for i, (title, header, rows) in enumerate(raw):
        check_against_raw(read_french_csv(SAMPLE, table=i), header, rows)
        check_against_raw(read_french_csv(SAMPLE, table=title.lower()), header, rows)


def test_sample_portfolio_values_by_hand():
    ew = read_french_csv(SAMPLE, table="Equal Weighted Returns -- Monthly", units="percent")
    assert ew.row(0) == (dt.date(2023, 1, 31), 11.02, 8.47, 6.31, 5.14)
    vw = read_french_csv(SAMPLE, table="value weighted returns -- annual")
    assert vw.row(1) == (dt.date(2022, 12, 31), -0.2386, -0.1711, -0.1864, None)
    firms = read_french_csv(SAMPLE, table="number of firms", units="percent")
    assert firms["Lo 20"].to_list() == [2049.0, 2043.0, 2036.0]
    assert read_french_csv(SAMPLE, table="annual").equals(vw)  # first annual table


def test_zip_and_open_file_tables(tmp_path):
    path = tmp_path / "F-F_Research_Data_Factors_CSV.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("F-F_Research_Data_Factors.CSV", MONTHLY)
    assert read_french_csv(path, table="annual").height == 2
    assert list_french_tables(path).height == 2
    with path.open("rb") as fh:
        assert list_french_tables(fh)["frequency"].to_list() == ["monthly", "annual"]


# ------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ("daily", r"no table matches table='daily'\. The file has 2 tables: 0: monthly"),
        (2, r"no table matches table=2\. .*1: annual 'Annual Factors: January-December'"),
        (-3, "no table matches table=-3"),
        ("quarterly", "no table matches table='quarterly'"),
        ("", "no table matches table=''"),
    ],
)
def test_unknown_table(table, match):
    with pytest.raises(FileFormatError, match=match) as info:
        read_french_csv(io.StringIO(MONTHLY), table=table)
    assert isinstance(info.value, FactorsError)


def test_ambiguous_title():
    with pytest.raises(FileFormatError, match=r"2 tables match table='equal weighted'"):
        read_french_csv(SAMPLE, table="equal weighted")


def test_bad_table_type():
    with pytest.raises(TypeError, match="table must be an int or a str; got float"):
        read_french_csv(io.StringIO(MONTHLY), table=1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got bool"):
        read_french_csv(io.StringIO(MONTHLY), table=True)


@pytest.mark.parametrize(
    ("text", "table", "match"),
    [
        # A broken later table does not stop the first one from being read ...
        (",A\r\n192607, 1.0\r\n\r\n,A\r\n1927, x\r\n", 0, None),
        # ... but it is reported when asked for.
        (",A\r\n192607, 1.0\r\n\r\n,A\r\n1927, x\r\n", 1, "line 5: value 'x' of column 'A'"),
        (",A\r\n192607, 1.0\r\n\r\n,A\r\n1927, 1\r\n192801, 2\r\n", 1, "line 6: expected an?"),
        (",A\r\n192607, 1.0\r\n\r\n1927, 1.0\r\n", "annual", "no header line"),
        (",A\r\n192607, 1.0\r\n\r\n,A\r\n1928, 1\r\n1927, 2\r\n", 1, "line 6: date 1927-12-31"),
    ],
)
def test_later_table_errors(text, table, match):
    if match is None:
        assert read_french_csv(io.StringIO(text), table=table).height == 1
        return
    with pytest.raises(FileFormatError, match=match):
        read_french_csv(io.StringIO(text), table=table)


def test_list_tables_errors(tmp_path):
    with pytest.raises(FileFormatError, match="no line starts with a date"):
        list_french_tables(io.StringIO("just text\r\n"))
    with pytest.raises(FileNotFoundError, match="not found"):
        list_french_tables(tmp_path / "nope.csv")
    with pytest.raises(ValueError, match="unknown units='pct'"):
        read_french_csv(io.StringIO(MONTHLY), units="pct")  # type: ignore[arg-type]


# ---------------------------------------------------------------------- real files

REAL_TABLES = [
    # file, [(frequency, rows, first date, last date)] of each table
    (
        "F-F_Research_Data_Factors.CSV",
        [
            ("monthly", 1178, dt.date(1926, 7, 31), dt.date(2024, 8, 31)),
            ("annual", 97, dt.date(1927, 12, 31), dt.date(2023, 12, 31)),
        ],
    ),
    (
        "F-F_Research_Data_5_Factors_2x3.csv",
        [
            ("monthly", 734, dt.date(1963, 7, 31), dt.date(2024, 8, 31)),
            ("annual", 60, dt.date(1964, 12, 31), dt.date(2023, 12, 31)),
        ],
    ),
    ("F-F_Research_Data_Factors_daily.CSV", [("daily", 25817, None, dt.date(2024, 8, 30))]),
    ("F-F_Research_Data_5_Factors_2x3_daily.CSV", [("daily", 15397, None, dt.date(2024, 8, 30))]),
]


@pytest.mark.skipif(not FF_DIR.exists(), reason=f"real data not found at {FF_DIR}")
@pytest.mark.parametrize(("name", "expected"), REAL_TABLES)
def test_real_file_every_table(name, expected):
    path = FF_DIR / name
    raw = raw_tables(path.read_bytes().decode("latin-1"))
    tables = list_french_tables(path)
    assert tables["frequency"].to_list() == [e[0] for e in expected]
    assert tables["rows"].to_list() == [e[1] for e in expected]
    assert len(raw) == len(expected)
    for i, ((freq, n_rows, first, last), (_, header, rows)) in enumerate(
        zip(expected, raw, strict=True)
    ):
        out = read_french_csv(path, table=i)
        assert out.height == n_rows
        assert out["date"][-1] == last
        if first is not None:
            assert out["date"][0] == first
        check_against_raw(out, header, rows)
        assert_frame_equal(read_french_csv(path, table=freq), out)
    assert_frame_equal(read_french_csv(path), read_fama_french(path))


@pytest.mark.skipif(not FF_DIR.exists(), reason=f"real data not found at {FF_DIR}")
def test_real_annual_values_by_hand():
    annual = read_french_csv(FF_DIR / "F-F_Research_Data_Factors.CSV", table="annual")
    assert annual["date"].dt.year().diff().drop_nulls().unique().to_list() == [1]
    # "  1927,   29.47,   -2.04,   -4.54,    3.12" in the file (line 1183).
    assert annual.row(0) == (dt.date(1927, 12, 31), 0.2947, -0.0204, -0.0454, 0.0312)
    five = read_french_csv(FF_DIR / "F-F_Research_Data_5_Factors_2x3.csv", table=-1)
    # "  1964,   12.54,    0.47,    9.72,   -3.34,    6.87,    3.54" (line 742).
    assert five.row(0) == (dt.date(1964, 12, 31), 0.1254, 0.0047, 0.0972, -0.0334, 0.0687, 0.0354)
    titles = list_french_tables(FF_DIR / "F-F_Research_Data_Factors.CSV")["title"].to_list()
    assert titles == ["", "Annual Factors: January-December"]
