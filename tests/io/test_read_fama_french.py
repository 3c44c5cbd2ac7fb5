"""read_fama_french: hand-checked synthetic files with every quirk, errors, the real files."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from polars_factors.exceptions import FactorsError
from polars_factors.io import FileFormatError, read_fama_french
from tests.conftest import DATA_DIR

FF_DIR = DATA_DIR / "fama_french"

# A monthly file with all the quirks of the library's CSVs: preamble, CRLF, blank line
# before the header, leading spaces, a missing-value code of each kind, an empty cell,
# a leap-year February, a second (annual) table after a blank line and a copyright.
MONTHLY = (
    "This file was created by CMPT_ME_BEME_RETS using the 202408 CRSP database.\r\n"
    "The 1-month TBill rate data until 202405 are from Ibbotson Associates.\r\n"
    "\r\n"
    ",Mkt-RF,SMB,HML,RF\r\n"
    "202312,    4.87,    6.34,   -2.38,    0.43\r\n"
    "202401,    0.70,   -5.09,   -2.38,    0.47\r\n"
    "202402,    5.06,   -0.21,  -99.99,    0.42\r\n"
    "202403,    2.83,   -2.49,    4.19,  -999\r\n"
    "202404,   -4.67,   -2.39,     ,    0.47\r\n"
    "\r\n"
    " Annual Factors: January-December \r\n"
    ",Mkt-RF,SMB,HML,RF\r\n"
    "  2022,  -21.58,   -6.85,   25.97,    1.43\r\n"
    "  2023,   21.68,   -3.29,  -13.70,    4.95\r\n"
    "\r\n"
    "Copyright 2024 Eugene F. Fama and Kenneth R. French\r\n"
)
MONTHLY_EXPECTED = pl.DataFrame(
    {
        "date": [
            dt.date(2023, 12, 31),
            dt.date(2024, 1, 31),
            dt.date(2024, 2, 29),
            dt.date(2024, 3, 31),
            dt.date(2024, 4, 30),
        ],
        "Mkt-RF": [0.0487, 0.0070, 0.0506, 0.0283, -0.0467],
        "SMB": [0.0634, -0.0509, -0.0021, -0.0249, -0.0239],
        "HML": [-0.0238, -0.0238, None, 0.0419, None],
        "RF": [0.0043, 0.0047, 0.0042, None, 0.0047],
    }
)

# A daily file: no blank line between preamble and header, LF only, no trailing lines.
DAILY = (
    "This file was created by CMPT_ME_BEME_OP_INV_RETS_DAILY using the 202408 CRSP database.\n"
    ",Mkt-RF,SMB,HML,RMW,CMA,RF\n"
    "19630701,   -0.67,    0.02,   -0.35,    0.03,    0.13,   0.012\n"
    "19630702,    0.79,   -0.28,    0.28,   -0.08,   -0.21,   0.009\n"
    "19630703,    0.63,   -0.18,   -0.10,    0.13,   -0.25,   0.012"
)


def write(tmp_path: Path, text: str, name: str = "ff.CSV") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("ascii"))
    return path


# ------------------------------------------------------------------- hand-checked


def test_monthly_file_with_all_quirks(tmp_path):
    out = read_fama_french(write(tmp_path, MONTHLY))
    # Values are the nearest doubles to the decimal numbers: exact equality.
    assert_frame_equal(out, MONTHLY_EXPECTED, check_exact=True)


def test_daily_file(tmp_path):
    out = read_fama_french(str(write(tmp_path, DAILY)))
    assert out.columns == ["date", "Mkt-RF", "SMB", "HML", "RMW", "CMA", "RF"]
    assert out["date"].to_list() == [dt.date(1963, 7, d) for d in (1, 2, 3)]
    assert out.schema["date"] == pl.Date
    assert all(dtype == pl.Float64 for dtype in out.schema.dtypes()[1:])
    assert out["Mkt-RF"].to_list() == [-0.0067, 0.0079, 0.0063]
    # 0.009 % is exactly the double 9e-05, not 0.009 / 100 = 8.999999999999999e-05.
    assert out["RF"].to_list() == [0.00012, 0.00009, 0.00012]
    assert out["RF"][1] == float("0.00009") != 0.009 / 100


def test_percent_units_and_month_start(tmp_path):
    out = read_fama_french(write(tmp_path, MONTHLY), units="percent", month_date="start")
    assert out["date"].to_list() == [dt.date(2023, 12, 1)] + [
        dt.date(2024, m, 1) for m in range(1, 5)
    ]
    assert out["Mkt-RF"].to_list() == [4.87, 0.70, 5.06, 2.83, -4.67]
    assert out["HML"].to_list() == [-2.38, -2.38, None, 4.19, None]
    assert out["RF"].to_list() == [0.43, 0.47, 0.42, None, 0.47]


def test_month_date_does_not_move_daily_dates(tmp_path):
    path = write(tmp_path, DAILY)
    assert_frame_equal(read_fama_french(path, month_date="start"), read_fama_french(path))


def test_date_column_name(tmp_path):
    out = read_fama_french(write(tmp_path, DAILY), date="day")
    assert out.columns[0] == "day"


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_line_endings(tmp_path, newline):
    text = MONTHLY.replace("\r\n", newline)
    assert_frame_equal(read_fama_french(write(tmp_path, text)), MONTHLY_EXPECTED)


def test_header_on_first_line(tmp_path):
    # F-F_Research_Data_Factors.CSV starts with "Date,Mkt-RF,..." (no preamble).
    text = "Date" + MONTHLY[MONTHLY.index(",Mkt-RF") :]
    assert_frame_equal(read_fama_french(write(tmp_path, text)), MONTHLY_EXPECTED)


def test_utf8_bom_and_non_ascii_preamble(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "Données © 2024\r\n".encode() + MONTHLY.encode())
    assert_frame_equal(read_fama_french(path), MONTHLY_EXPECTED)


def test_open_files(tmp_path):
    assert_frame_equal(read_fama_french(io.StringIO(MONTHLY)), MONTHLY_EXPECTED)
    assert_frame_equal(read_fama_french(io.BytesIO(MONTHLY.encode())), MONTHLY_EXPECTED)
    with write(tmp_path, MONTHLY).open("rb") as fh:
        assert_frame_equal(read_fama_french(fh), MONTHLY_EXPECTED)


def test_zip_archive(tmp_path):
    # The data library serves each CSV inside a zip archive.
    path = tmp_path / "F-F_Research_Data_Factors_CSV.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("F-F_Research_Data_Factors.CSV", MONTHLY)
    assert_frame_equal(read_fama_french(path), MONTHLY_EXPECTED)


def test_portfolio_file_header_with_spaces(tmp_path):
    # Portfolio files: column names with spaces, many -99.99 codes, several tables.
    text = (
        "  Average Value Weighted Returns -- Monthly\r\n"
        ",SMALL LoBM,ME1 BM2,BIG HiBM\r\n"
        "192607,   5.7720,  -99.99,  -1.2000\r\n"
        "192608,  -99.99,   2.5000,   3.1250\r\n"
        "\r\n"
        "  Average Equal Weighted Returns -- Monthly\r\n"
        ",SMALL LoBM,ME1 BM2,BIG HiBM\r\n"
        "192607,   1.0,   2.0,   3.0\r\n"
    )
    out = read_fama_french(write(tmp_path, text))
    assert out.columns == ["date", "SMALL LoBM", "ME1 BM2", "BIG HiBM"]
    assert out["SMALL LoBM"].to_list() == [0.05772, None]
    assert out["ME1 BM2"].to_list() == [None, 0.025]
    assert out["BIG HiBM"].to_list() == [-0.012, 0.03125]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.decimals(min_value=-500, max_value=500, places=4, allow_nan=False),
        min_size=1,
        max_size=8,
    )
)
def test_decimal_units_are_the_nearest_double(values):
    # Property: the decimal value is float(Decimal(text) / 100) exactly, for any
    # plain decimal text (the missing codes excepted).
    texts = [f"{v:.4f}" for v in values]
    body = "".join(f"{19900101 + i},{t:>10}\r\n" for i, t in enumerate(texts))
    out = read_fama_french(io.StringIO(f"preamble\r\n,X\r\n{body}"))
    expected = [
        None if Decimal(t) in (Decimal("-99.99"), Decimal("-999")) else float(Decimal(t) / 100)
        for t in texts
    ]
    assert out["X"].to_list() == expected


# ------------------------------------------------------------------------- errors


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        read_fama_french(tmp_path / "nope.CSV")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("just some text\r\nno table here\r\n", "no line starts with a date"),
        ("", "no line starts with a date"),
        ("preamble\r\n\r\n192607, 1.0, 2.0\r\n", "no header line"),
        (",A,B\r\n192607, 1.0\r\n", "line 2: expected a monthly row of 3 fields"),
        (",A,B\r\n192607, 1.0, 2.0\r\n1926-08, 1.0, 2.0\r\n", "line 3: expected a monthly row"),
        (",A,B\r\n192607, 1.0, 2.0\r\n19260801, 1.0, 2.0\r\n", "line 3: expected a monthly row"),
        (",A,B\r\n19260701, 1.0, 2.0\r\nCopyright\r\n", "line 3: expected a daily row"),
        (",A,B\r\n192607, 1.0, abc\r\n", "line 2: value 'abc' of column 'B' is not a number"),
        (",A,B\r\n192607, 1.0, 2.0\r\n192613, 1.0, 2.0\r\n", "line 3: invalid date '192613'"),
        (",A,B\r\n19230229, 1.0, 2.0\r\n", "line 2: invalid date '19230229'"),
        (",A,B\r\n192608, 1.0, 2.0\r\n192607, 1.0, 2.0\r\n", "line 3: date 1926-07-31 does"),
        (",A,B\r\n192608, 1.0, 2.0\r\n192608, 1.0, 2.0\r\n", "line 3: date 1926-08-31 does"),
        (",A,A\r\n192607, 1.0, 2.0\r\n", "must name every column once"),
        (",A,\r\n192607, 1.0, 2.0\r\n", "must name every column once"),
        (",date,B\r\n192607, 1.0, 2.0\r\n", "pass another name with date="),
    ],
)
def test_format_errors(text, match):
    with pytest.raises(FileFormatError, match=match) as info:
        read_fama_french(io.StringIO(text))
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, FactorsError)


def test_error_names_the_file(tmp_path):
    with pytest.raises(FileFormatError, match=r"^bad\.csv: not a Fama-French"):
        read_fama_french(write(tmp_path, "hello\r\n", "bad.csv"))


def test_zip_with_several_files(tmp_path):
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.CSV", MONTHLY)
        archive.writestr("b.CSV", DAILY)
    with pytest.raises(FileFormatError, match="holding one CSV file; found 2"):
        read_fama_french(path)


def test_bad_options_and_source(tmp_path):
    path = write(tmp_path, MONTHLY)
    with pytest.raises(ValueError, match="unknown units='percentage'"):
        read_fama_french(path, units="percentage")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown month_date='last'"):
        read_fama_french(path, month_date="last")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected a path or an open file; got int"):
        read_fama_french(3)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- real files


def raw_table(path: Path) -> list[list[str]]:
    """Oracle: the first table's rows, read with the csv module, first blank line ends it."""
    with path.open(newline="", encoding="latin-1") as fh:
        rows = [[c.strip() for c in r] for r in csv.reader(fh)]
    start = next(i for i, r in enumerate(rows) if r and r[0].isdigit())
    end = next((i for i in range(start, len(rows)) if not any(rows[i])), len(rows))
    return [rows[start - 1], *rows[start:end]]


REAL = [
    # file, rows, first date, last date, factor columns
    (
        "F-F_Research_Data_Factors.CSV",
        1178,
        dt.date(1926, 7, 31),
        dt.date(2024, 8, 31),
        ["Mkt-RF", "SMB", "HML", "RF"],
    ),
    (
        "F-F_Research_Data_Factors_daily.CSV",
        25817,
        dt.date(1926, 7, 1),
        dt.date(2024, 8, 30),
        ["Mkt-RF", "SMB", "HML", "RF"],
    ),
    (
        "F-F_Research_Data_5_Factors_2x3.csv",
        734,
        dt.date(1963, 7, 31),
        dt.date(2024, 8, 31),
        ["Mkt-RF", "SMB", "HML", "RMW", "CMA", "RF"],
    ),
    (
        "F-F_Research_Data_5_Factors_2x3_daily.CSV",
        15397,
        dt.date(1963, 7, 1),
        dt.date(2024, 8, 30),
        ["Mkt-RF", "SMB", "HML", "RMW", "CMA", "RF"],
    ),
]


@pytest.mark.skipif(not FF_DIR.exists(), reason=f"real data not found at {FF_DIR}")
@pytest.mark.parametrize(("name", "n_rows", "first", "last", "factors"), REAL)
def test_real_file(name, n_rows, first, last, factors):
    path = FF_DIR / name
    out = read_fama_french(path)
    assert out.columns == ["date", *factors]
    assert out.height == n_rows
    assert (out["date"][0], out["date"][-1]) == (first, last)
    assert out["date"].is_sorted()
    assert out["date"].n_unique() == n_rows
    assert out.null_count().sum_horizontal().item() == 0  # no missing codes in these files

    # Every value against the csv module's reading of the raw text.
    header, *rows = raw_table(path)
    assert header[1:] == factors
    assert len(rows) == n_rows
    for j, factor in enumerate(factors, start=1):
        expected = [float(Decimal(r[j]) / 100) for r in rows]
        assert out[factor].to_list() == expected, factor
    width = len(rows[0][0])
    dates = [
        dt.datetime.strptime(r[0] + ("" if width == 8 else "01"), "%Y%m%d").date() for r in rows
    ]
    if width == 6:  # month end
        dates = [(d.replace(day=28) + dt.timedelta(days=4)).replace(day=1) for d in dates]
        dates = [d - dt.timedelta(days=1) for d in dates]
    assert out["date"].to_list() == dates


@pytest.mark.skipif(not FF_DIR.exists(), reason=f"real data not found at {FF_DIR}")
def test_real_values_spot_checks():
    # Values copied by hand from the files.
    daily = read_fama_french(FF_DIR / "F-F_Research_Data_Factors_daily.CSV")
    row = daily.filter(pl.col("date") == dt.date(1987, 10, 19))  # Black Monday
    assert row["Mkt-RF"].item() == -0.1744
    last = daily.row(-1, named=True)
    assert last == {
        "date": dt.date(2024, 8, 30),
        "Mkt-RF": 0.0098,
        "SMB": -0.0055,
        "HML": 0.0004,
        "RF": 0.00022,
    }
    monthly = read_fama_french(FF_DIR / "F-F_Research_Data_Factors.CSV", units="percent")
    assert monthly.row(0) == (dt.date(1926, 7, 31), 2.96, -2.56, -2.43, 0.22)
    five = read_fama_french(FF_DIR / "F-F_Research_Data_5_Factors_2x3.csv")
    assert five.row(-1) == (dt.date(2024, 8, 31), 0.0161, -0.0365, -0.0112, 0.0085, 0.0086, 0.0048)
