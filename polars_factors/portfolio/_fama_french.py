r"""Fama-French style factors (SMB, HML, UMD) from independent 2x3 sorts.

Built from the sorting blocks of this package: per-date buckets
(:func:`~polars_factors.portfolio._buckets.assign_buckets`), carried from the
formation date over the holding period
(:func:`~polars_factors.portfolio._buckets.rebalance`), and value-weighted portfolio
returns (:func:`~polars_factors.portfolio._returns.portfolio_returns`).
"""

from __future__ import annotations

import polars as pl

from polars_factors import _frame, _validate
from polars_factors._frame import temp_name
from polars_factors._units import check_units, unchecked
from polars_factors.portfolio._buckets import assign_buckets, rebalance
from polars_factors.portfolio._returns import portfolio_returns
from polars_factors.typing import FrameT

__all__ = ["fama_french"]


def fama_french(
    panel: FrameT,
    *,
    size: str = "mcap",
    book_to_market: str | None = "bm",
    momentum: str | None = None,
    returns: str = "ret",
    breakpoint_universe: str | pl.Expr | None = None,
    formation_month: int = 6,
    date: str = "date",
    asset: str = "asset",
    check_keys: bool | None = None,
) -> FrameT:
    r"""Compute Fama-French SMB and HML (and UMD) factor returns per date.

    Independent 2x3 sorts: size at the median, and value (or momentum) at the 30th and
    70th percentiles, breakpoints computed on the ``breakpoint_universe`` rows (the
    NYSE stocks in Fama and French); six value-weighted portfolios; long-short
    averages of them.

    Parameters
    ----------
    panel
        Long panel, lazy or eager, one row per ``(date, asset)``, each asset's rows in
        increasing date order (any frequency: daily or month-end rows).
    size
        Market capitalisation: the size sort at formation, and the portfolio weights,
        lagged one row (each asset's previous row), so that a period's return is
        weighted by the size at its start.
    book_to_market
        Value signal (book-to-market), as known at each date: its value on the
        formation date is used. ``None`` skips SMB and HML.
    momentum
        Momentum signal (e.g. the return from 12 to 2 months before, known at each
        date); gives UMD when set.
    returns
        Return of each row's period (the row's date closes it).
    breakpoint_universe
        Boolean column or expression selecting the rows whose values set the
        breakpoints (all rows if None); every row is then sorted with them.
    formation_month
        Month (1-12) at whose last date the size/value portfolios are formed each
        year; they are held from the next month for a year (June: July to June).
    date, asset
        Key columns.
    check_keys
        Check that each asset's dates strictly increase, which also rules out
        repeated and null keys, and that no size is negative. ``None`` (default): at call time on a
        DataFrame, inside the plan on a LazyFrame (nothing is read now; ``collect``
        raises). ``True``: at call time whatever the frame (on a LazyFrame it reads
        the key columns now). ``False``: no check.

    Returns
    -------
    DataFrame or LazyFrame
        The kind of ``panel``: one row per date, sorted, with ``SMB`` and ``HML`` (if
        ``book_to_market``) and ``UMD`` (if ``momentum``). A factor is null on a date where one
        of its six portfolios is empty (e.g. before the first formation date).

    Raises
    ------
    ColumnNotFoundError, SchemaError
        A named column is missing or not numeric.
    ValueError
        Neither ``book_to_market`` nor ``momentum`` given, or ``formation_month`` outside 1-12.
    DuplicateKeyError, UnsortedError
        With ``check_keys``: repeated keys, or an asset's dates go back in time.
    InvalidDataError
        With ``check_keys``: a date or asset is null.
    WeightError
        With ``check_keys``: a negative size.

    Notes
    -----
    With size buckets S (small), B (big) and value buckets L, M, H (30% / 40% / 30%
    of the breakpoint universe):

    .. math::

        SMB = \tfrac13(SL + SM + SH) - \tfrac13(BL + BM + BH), \qquad
        HML = \tfrac12(SH + BH) - \tfrac12(SL + BL).

    The size and value buckets are set on the last date of ``formation_month`` from
    that date's cross-section and carried over the next twelve months (an asset that
    was not in the panel on the formation date has no bucket until the next
    formation). UMD uses size and momentum buckets set on the last date of every month
    and held the next month: :math:`UMD = \tfrac12(SU + BU) - \tfrac12(SD + BD)` with
    U the top and D the bottom 30% by momentum. The library's own rule differs from
    Fama and French's in one respect: their book-to-market divides book equity by the
    December market equity; here ``book_to_market`` is used as given, so compute it that way
    if you need it.

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> dates = [dt.date(2020, 6, 30), dt.date(2020, 7, 31)]
    >>> panel = pl.DataFrame(
    ...     {
    ...         "date": [d for d in dates for _ in range(6)],
    ...         "asset": list("abcdef") * 2,
    ...         "mcap": [1.0, 2.0, 3.0, 10.0, 20.0, 30.0] * 2,
    ...         "bm": [0.1, 0.5, 0.9, 0.1, 0.5, 0.9] * 2,
    ...         "ret": [0.0] * 6 + [0.03, 0.02, 0.04, 0.01, 0.0, 0.02],
    ...     }
    ... )
    >>> out = pf.portfolio.fama_french(panel)
    >>> out.select("date", pl.col("SMB", "HML").round(6)).rows()
    [(datetime.date(2020, 6, 30), None, None), (datetime.date(2020, 7, 31), 0.02, 0.01)]
    """
    if book_to_market is None and momentum is None:
        msg = "give `book_to_market` (for SMB and HML) and/or `momentum` (for UMD)."
        raise ValueError(msg)
    if isinstance(formation_month, bool) or formation_month not in range(1, 13):
        msg = f"`formation_month` must be a month number 1-12; got {formation_month!r}."
        raise ValueError(msg)
    schema = panel.collect_schema()
    signals: list[str] = [s for s in (book_to_market, momentum) if s is not None]
    _validate.check_columns_exist(schema, [date, asset], role="key column")
    _validate.check_key_dtypes(schema, date=date, asset=asset)
    _validate.check_columns_exist(schema, [size, returns, *signals])
    _validate.check_numeric(schema, [size, returns, *signals])
    panel = _validate.time_order(panel, check_keys, date=date, asset=asset)
    # The weights are the lagged sizes: check the size column itself, once, here
    # (the portfolio step below would otherwise run the whole plan to check them).
    panel = _validate.no_negative(
        panel, check_keys, size, rule="sizes weight the portfolios and must be >= 0."
    )
    panel = check_units(panel, [returns], function="fama_french")

    # Temporary columns: the lagged sizes, the buckets, the six portfolio returns.
    tmp = temp_name(set(schema.names()), "ff_", prefix=True)
    # Lagged sizes weight the portfolios; the size buckets serve every factor.
    lf = assign_buckets(
        panel.lazy().with_columns(pl.col(size).shift(1).over(asset).alias(f"{tmp}w")),
        size,
        breakpoints=[0.5],
        breakpoint_universe=breakpoint_universe,
        name=f"{tmp}size_b",
        by=date,
        date=date,
        asset=asset,
        check_keys=False,
    )

    def port(size_bucket: int, sort_bucket: int) -> pl.Expr:
        return pl.col(f"{tmp}p{size_bucket}{sort_bucket}")

    high_minus_low = (port(1, 3) + port(2, 3)) / 2.0 - (port(1, 1) + port(2, 1)) / 2.0
    parts = []
    if book_to_market is not None:
        parts.append(
            _factor_returns(
                lf,
                book_to_market,
                returns=returns,
                universe=breakpoint_universe,
                every="1y",
                month=formation_month,
                date=date,
                asset=asset,
                tmp=tmp,
            ).select(
                date,
                (
                    (port(1, 1) + port(1, 2) + port(1, 3)) / 3.0
                    - (port(2, 1) + port(2, 2) + port(2, 3)) / 3.0
                ).alias("SMB"),
                high_minus_low.alias("HML"),
            )
        )
    if momentum is not None:
        parts.append(
            _factor_returns(
                lf,
                momentum,
                returns=returns,
                universe=breakpoint_universe,
                every="1mo",
                month=None,
                date=date,
                asset=asset,
                tmp=tmp,
            ).select(date, high_minus_low.alias("UMD"))
        )
    # One row per panel date: a date without the six portfolios gets nulls.
    out = lf.select(date).unique()
    for part in parts:
        out = out.join(part, on=date, how="left")
    out = out.sort(date)
    factors = [c for c in ("SMB", "HML", "UMD") if c in out.collect_schema().names()]
    why = (
        "no formation date gave the six portfolios: an empty breakpoint universe, too few "
        "stocks with a size and a signal, or a history shorter than the first formation"
    )
    return _frame.warn_all_null(panel, out, factors, function="fama_french", reason=why)


def _factor_returns(
    lf: pl.LazyFrame,
    signal: str,
    *,
    returns: str,
    universe: str | pl.Expr | None,
    every: str,
    month: int | None,
    date: str,
    asset: str,
    tmp: str,
) -> pl.LazyFrame:
    """Six value-weighted 2x3 portfolio returns per date, one column each.

    ``lf`` has the size buckets already; ``signal`` is sorted here. ``tmp`` is the
    prefix of the temporary columns (lagged sizes ``w``, buckets ``size_b``,
    ``sort_b``); the outputs are ``p{size bucket}{sort bucket}``.
    """
    size_b, sort_b, w = f"{tmp}size_b", f"{tmp}sort_b", f"{tmp}w"
    sorted_ = assign_buckets(
        lf,
        signal,
        breakpoints=[0.3, 0.7],
        breakpoint_universe=universe,
        name=sort_b,
        by=date,
        date=date,
        asset=asset,
        check_keys=False,
    )
    held = rebalance(
        sorted_,
        [size_b, sort_b],
        every=every,
        month=month,
        lag=1,
        date=date,
        asset=asset,
        check_keys=False,
    )
    with unchecked():  # fama_french checked the returns' units
        ports = portfolio_returns(
            held, [size_b, sort_b], returns, weights=w, date=date, check_weights=False
        )
    b_size, b_sort = pl.col(size_b), pl.col(sort_b)
    return ports.group_by(date).agg(
        pl.col("return").filter((b_size == s) & (b_sort == v)).first().alias(f"{tmp}p{s}{v}")
        for s in (1, 2)
        for v in (1, 2, 3)
    )
