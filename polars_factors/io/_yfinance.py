"""Daily prices from Yahoo Finance (``yfinance``, optional) as a long price panel."""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Mapping, Sequence

import polars as pl

from polars_factors.exceptions import DataLossWarning, FileFormatError, InsufficientDataError
from polars_factors.io._optional import PandasFrame, import_optional
from polars_factors.io._pandas import pandas

__all__ = ["from_yfinance", "read_yfinance"]

#: The price fields ``yfinance.download`` returns (with actions and repair).
FIELDS = (
    "Open",
    "High",
    "Low",
    "Close",
    "Adj Close",
    "Volume",
    "Dividends",
    "Stock Splits",
    "Capital Gains",
    "Repaired?",
)
_PRICES = ("open", "high", "low", "close", "adj_close")
_DAILY = ("1d", "5d", "1wk", "1mo", "3mo")


def read_yfinance(
    tickers: str | Sequence[str],
    *,
    start: str | dt.date,
    end: str | dt.date | None = None,
    interval: str = "1d",
    auto_adjust: bool = True,
    download_options: Mapping[str, object] | None = None,
) -> pl.DataFrame:
    """Download prices with ``yfinance.download`` into a long price panel.

    Needs the optional dependency ``yfinance`` (``pip install
    'polars_factors[yfinance]'``) and a network connection.

    Parameters
    ----------
    tickers
        One ticker or several, e.g. ``["AAPL", "MSFT"]``.
    start, end
        First day, and the day after the last (yfinance's ``end`` is exclusive);
        default ``end``: today.
    interval
        Bar length, as yfinance takes it: ``"1d"`` (default), ``"1wk"``, ``"1mo"``,
        ``"1h"``, ...
    auto_adjust
        ``True`` (default, yfinance's default): prices adjusted for splits and
        dividends, no ``adj_close``. ``False``: raw prices plus ``adj_close``.
    download_options
        Further keyword arguments of ``yfinance.download`` (e.g. ``{"actions":
        True}``, ``{"repair": True}``). ``progress`` is off unless set here.

    Returns
    -------
    DataFrame
        See :func:`from_yfinance`.

    Raises
    ------
    MissingDependencyError
        yfinance (or pandas) is not installed.
    InsufficientDataError
        yfinance returned no prices (unknown tickers, no trading in the range).

    Warns
    -----
    DataLossWarning
        Some tickers have no price at all (yfinance prints why, e.g. delisted).

    Examples
    --------
    >>> from polars_factors.io import read_yfinance
    >>> panel = read_yfinance(["AAPL", "MSFT"], start="2024-01-01")  # doctest: +SKIP
    >>> panel.columns  # doctest: +SKIP
    ['date', 'asset', 'open', 'high', 'low', 'close', 'volume']
    """
    yf = import_optional("yfinance", extra="yfinance", purpose="read_yfinance")
    names = [tickers] if isinstance(tickers, str) else list(tickers)
    if not names or not all(isinstance(t, str) and t for t in names):
        msg = f"tickers must be a ticker or a non-empty list of tickers; got {tickers!r}."
        raise ValueError(msg)
    options: dict[str, object] = {"progress": False, **(download_options or {})}
    raw = yf.download(
        names if len(names) > 1 else names[0],
        start=start,
        end=end,
        interval=interval,
        auto_adjust=auto_adjust,
        **options,
    )
    return from_yfinance(raw, tickers=names, daily=interval in _DAILY)


def from_yfinance(
    df: PandasFrame,
    *,
    tickers: str | Sequence[str] | None = None,
    daily: bool = True,
) -> pl.DataFrame:
    """Reshape a frame returned by ``yfinance.download`` into a long price panel.

    Handles every column layout of ``yfinance.download``: ``(Price, Ticker)``
    columns (``group_by="column"``, the default), ``(Ticker, Price)``
    (``group_by="ticker"``), and flat columns for one ticker (older versions, or
    ``multi_level_index=False``).

    Parameters
    ----------
    df
        The ``pandas.DataFrame`` of ``yfinance.download``: a DatetimeIndex, one
        column per (field, ticker).
    tickers
        The tickers asked for: needed with flat columns (one ticker), and used to
        warn about tickers with no data.
    daily
        Dates as ``Date`` (default, for daily or longer bars); ``False`` keeps the
        timestamps (``Datetime``, with their time zone) for intraday bars.

    Returns
    -------
    DataFrame
        ``date``, ``asset``, then ``open``, ``high``, ``low``, ``close``,
        ``adj_close`` (only with ``auto_adjust=False``), ``volume`` (Int64) and any
        other field in snake case (``dividends``, ``stock_splits``, ...), one row per
        ticker and date that has a price, sorted by ``(asset, date)``: the layout of
        :func:`polars_factors.datasets.load_sp500`.

    Raises
    ------
    FileFormatError
        Columns that are not yfinance fields, or flat columns without exactly one
        ticker in ``tickers``.
    InsufficientDataError
        No prices at all.

    Warns
    -----
    DataLossWarning
        Some of ``tickers`` have no price.

    Examples
    --------
    >>> import pandas as pd
    >>> from polars_factors.io import from_yfinance
    >>> columns = pd.MultiIndex.from_product(
    ...     [["Close", "Volume"], ["AAPL", "MSFT"]], names=["Price", "Ticker"]
    ... )
    >>> raw = pd.DataFrame(
    ...     [[185.6, 370.9, 82488700, 25258600], [184.3, 370.6, 58414500, 23083500]],
    ...     index=pd.DatetimeIndex(["2024-01-02", "2024-01-03"], name="Date"),
    ...     columns=columns,
    ... )
    >>> from_yfinance(raw)
    shape: (4, 4)
    ┌────────────┬───────┬───────┬──────────┐
    │ date       ┆ asset ┆ close ┆ volume   │
    │ ---        ┆ ---   ┆ ---   ┆ ---      │
    │ date       ┆ str   ┆ f64   ┆ i64      │
    ╞════════════╪═══════╪═══════╪══════════╡
    │ 2024-01-02 ┆ AAPL  ┆ 185.6 ┆ 82488700 │
    │ 2024-01-03 ┆ AAPL  ┆ 184.3 ┆ 58414500 │
    │ 2024-01-02 ┆ MSFT  ┆ 370.9 ┆ 25258600 │
    │ 2024-01-03 ┆ MSFT  ┆ 370.6 ┆ 23083500 │
    └────────────┴───────┴───────┴──────────┘
    """
    pd = pandas("from_yfinance")
    names = [tickers] if isinstance(tickers, str) else list(tickers or [])
    if not isinstance(df, pd.DataFrame):
        msg = f"expected the pandas DataFrame of yfinance.download; got {type(df).__name__}."
        raise FileFormatError(msg)
    if df.empty:
        msg = (
            f"yfinance returned no prices for {names or 'the tickers'}; check the "
            f"tickers and dates."
        )
        raise InsufficientDataError(msg)
    pairs = _field_ticker_pairs(df, names)
    fields = [f for f in FIELDS if any(p[0] == f for p in pairs)]
    assets = list(dict.fromkeys(t for _, t in pairs))
    index = pl.Series("date", df.index)
    if daily:
        index = index.dt.replace_time_zone(None) if index.dtype == pl.Datetime else index
        index = index.cast(pl.Date)
    parts = []
    for ticker in assets:
        cols = {
            _snake(f): df.iloc[:, pairs.index((f, ticker))] for f in fields if (f, ticker) in pairs
        }
        part = pl.from_pandas(pd.DataFrame(cols).reset_index(drop=True))
        parts.append(part.with_columns(index, pl.lit(ticker, pl.String).alias("asset")))
    values = [_snake(f) for f in fields]
    prices = [c for c in values if c in _PRICES] or values
    out = (
        pl.concat(parts, how="diagonal_relaxed")
        .with_columns(pl.col(pl.Float64).fill_nan(None))
        .filter(~pl.all_horizontal(pl.col(c).is_null() for c in prices))
    )
    if "volume" in out.columns:
        out = out.with_columns(pl.col("volume").round().cast(pl.Int64))
    out = out.select("date", "asset", *values).sort("asset", "date")
    missing = [t for t in (names or assets) if t not in set(out["asset"].unique())]
    if missing == (names or assets):
        msg = f"yfinance returned no prices for {missing}; check the tickers and dates."
        raise InsufficientDataError(msg)
    if missing:
        msg = f"yfinance returned no prices for {missing}; they are not in the panel."
        warnings.warn(msg, DataLossWarning, stacklevel=2)
    return out


def _field_ticker_pairs(df: PandasFrame, names: list[str]) -> list[tuple[str, str]]:
    """``(field, ticker)`` of each column, in column order."""
    columns = df.columns
    if columns.nlevels == 1:
        if len(names) != 1:
            msg = (
                f"the frame has flat columns {list(columns)[:6]}, the layout of one "
                f"ticker; pass tickers=<that ticker> (got {names or None})."
            )
            raise FileFormatError(msg)
        pairs = [(str(c), names[0]) for c in columns]
    elif columns.nlevels == 2:
        level = next((i for i in (0, 1) if set(columns.get_level_values(i)) <= set(FIELDS)), None)
        if level is None:
            msg = (
                f"neither column level holds yfinance fields ({', '.join(FIELDS[:6])}, ...); "
                f"found {list(columns)[:4]}."
            )
            raise FileFormatError(msg)
        pairs = [(str(c[level]), str(c[1 - level])) for c in columns]
    else:
        msg = f"expected one or two column levels; found {columns.nlevels}."
        raise FileFormatError(msg)
    unknown = sorted({f for f, _ in pairs} - set(FIELDS))
    if unknown:
        msg = f"columns {unknown} are not yfinance fields ({', '.join(FIELDS)})."
        raise FileFormatError(msg)
    return pairs


def _snake(field: str) -> str:
    return re.sub(r"\W+", "_", field.strip().lower()).strip("_")
