r"""Readers and converters: Ken French CSVs, pandas layouts, Yahoo Finance prices.

- :func:`read_french_csv` reads any table of a Kenneth R. French data library CSV
  (the monthly factors, the annual block after them, portfolio tables) into a wide
  factor time series; :func:`read_fama_french` reads the first table and
  :func:`list_french_tables` lists them.
- :func:`from_pandas_returns`, :func:`from_pandas_exposures`,
  :func:`from_pandas_weights` and :func:`from_pandas_panel` turn the pandas layouts
  of pandas factor code (vbase's ``run_monthly_factor_returns``: returns as assets x
  periods, exposures and weights with a ``(period, asset)`` MultiIndex) into long
  panels; :func:`to_pandas_returns`, :func:`to_pandas_exposures`,
  :func:`to_pandas_weights` and :func:`to_pandas_factor_returns` go back.
  :func:`run_monthly_factor_returns` is a drop-in for vbase's function.
- :func:`read_yfinance` downloads prices with ``yfinance`` (extra ``yfinance``) and
  :func:`from_yfinance` reshapes a ``yfinance.download`` frame into a long panel.
- :func:`point_in_time` joins fiscal-period data (fundamentals) onto a daily panel as
  of each date, after a reporting lag, without look-ahead.

pandas and yfinance are optional: they are imported when a function needs them, and
a :class:`~polars_factors.exceptions.MissingDependencyError` says how to install
them when they are missing.
"""

from polars_factors.exceptions import FileFormatError
from polars_factors.io._french import list_french_tables, read_fama_french, read_french_csv
from polars_factors.io._pandas import (
    WideLayout,
    from_pandas_exposures,
    from_pandas_returns,
    from_pandas_weights,
)
from polars_factors.io._point_in_time import point_in_time
from polars_factors.io._to_pandas import (
    to_pandas_exposures,
    to_pandas_factor_returns,
    to_pandas_returns,
    to_pandas_weights,
)
from polars_factors.io._vbase import from_pandas_panel, run_monthly_factor_returns
from polars_factors.io._yfinance import from_yfinance, read_yfinance

__all__ = [
    "FileFormatError",
    "WideLayout",
    "from_pandas_exposures",
    "from_pandas_panel",
    "from_pandas_returns",
    "from_pandas_weights",
    "from_yfinance",
    "list_french_tables",
    "point_in_time",
    "read_fama_french",
    "read_french_csv",
    "read_yfinance",
    "run_monthly_factor_returns",
    "to_pandas_exposures",
    "to_pandas_factor_returns",
    "to_pandas_returns",
    "to_pandas_weights",
]
