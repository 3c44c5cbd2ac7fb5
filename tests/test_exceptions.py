"""The exception hierarchy: every error is a FactorsError and its builtin counterpart."""

from __future__ import annotations

from polars_factors import exceptions as exc


def test_hierarchy():
    for cls, builtin in [
        (exc.ColumnNotFoundError, KeyError),
        (exc.SchemaError, TypeError),
        (exc.DuplicateKeyError, ValueError),
        (exc.InsufficientDataError, ValueError),
    ]:
        assert issubclass(cls, exc.FactorsError)
        assert issubclass(cls, builtin)
    assert issubclass(exc.DataLossWarning, exc.FactorsWarning)
    assert issubclass(exc.RankDeficientWarning, UserWarning)
