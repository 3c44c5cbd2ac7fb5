"""The shared key check of small frames (check_unique): one message for every caller."""

from __future__ import annotations

import polars as pl
import pytest

import polars_factors as pf
from polars_factors._validate import check_unique


def test_check_unique_message():
    df = pl.DataFrame({"date": [1, 2, 2, None, None], "f": ["a", "b", "b", "c", "c"]})
    check_unique(df.head(2), "date", what="the frame")  # unique: no error
    with pytest.raises(
        pf.DuplicateKeyError,
        match=r"^the frame has 4 rows for repeated \('date', 'f'\) keys, e\.g\. \(2, 'b'\); "
        r"keep one row per key\. Drop one\.$",
    ):
        check_unique(df.lazy(), ["date", "f"], what="the frame", fix="Drop one.")
    with pytest.raises(pf.DuplicateKeyError, match=r"2 columns for .*keep one column per key\.$"):
        check_unique(df.slice(3), "date", what="the frame", unit="column")
