"""Sample data shipped with the package, and simulated panels with known answers.

- :func:`load_sp500`: three years of daily prices of the 505 S&P 500 members (2018
  constituents) with GICS sectors and point-in-time fundamentals, as a LazyFrame panel.
- :func:`load_fama_french`: Kenneth French's 3 and 5 research factors, daily and
  monthly, in decimals.
- :func:`synthetic_panel`: a simulated panel whose true factor returns are known, for
  tests, examples and benchmarks.

The files live in ``polars_factors/datasets/data`` (about 5 MB); their sources and
licences are in ``polars_factors/datasets/data/README.md``. Nothing is downloaded.

Examples
--------
>>> import polars_factors as pf
>>> panel = pf.datasets.load_sp500()
>>> panel.collect_schema().names()[:7]
['date', 'asset', 'open', 'high', 'low', 'close', 'volume']
>>> ff = pf.datasets.load_fama_french("monthly")
>>> ff.columns
['date', 'Mkt-RF', 'SMB', 'HML', 'RF']
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Literal

import polars as pl

from polars_factors import _validate
from polars_factors.datasets._synthetic import SyntheticPanel, simulate
from polars_factors.io._point_in_time import point_in_time

__all__ = ["SyntheticPanel", "data_path", "load_fama_french", "load_sp500", "synthetic_panel"]

FUNDAMENTALS = ["shares_outstanding", "book_equity", "net_income", "sales"]


def data_path(name: str) -> Path:
    """Return the path of a bundled file (e.g. ``"sp500_prices.parquet"``).

    Parameters
    ----------
    name
        File name inside ``polars_factors/datasets/data``.

    Returns
    -------
    Path
        Its location on disk.

    Raises
    ------
    FileNotFoundError
        If no such file is bundled.

    Examples
    --------
    >>> from polars_factors.datasets import data_path
    >>> data_path("ff3_monthly.parquet").name
    'ff3_monthly.parquet'
    """
    path = Path(str(resources.files("polars_factors.datasets").joinpath("data").joinpath(name)))
    if not path.is_file():
        shipped = sorted(p.name for p in path.parent.glob("*.parquet"))
        msg = f"no bundled file {name!r}; the package ships {shipped}"
        raise FileNotFoundError(msg)
    return path


def load_sp500(*, reporting_lag_days: int = 90) -> pl.LazyFrame:
    """Load the bundled S&P 500 daily panel with sectors and point-in-time fundamentals.

    Three years of daily prices (2015-02-09 to 2018-02-07, 756 trading days) of the 505
    tickers that were S&P 500 members in February 2018, 375,980 rows. Each row carries
    the ticker's GICS sector and sub-industry and the annual fundamentals of the latest
    fiscal year already public on that date.

    Parameters
    ----------
    reporting_lag_days
        Days between a fiscal period end and the date its figures are taken to be
        public (US large caps file the 10-K within 60-75 days; 90 leaves a margin).
        A row gets the latest fiscal year whose ``period_end + reporting_lag_days`` is
        on or before its date, so nothing from the future leaks in (the join of
        :func:`polars_factors.io.point_in_time`).

    Returns
    -------
    pl.LazyFrame
        Sorted by ``(asset, date)``, columns:

        ========================  ========  ==============================================
        ``date``                  Date      trading day
        ``asset``                 String    ticker
        ``open`` .. ``close``     Float64   split-adjusted prices (not dividend-adjusted)
        ``volume``                Int64     shares traded
        ``sector``                String    GICS sector (11; null for 31 tickers)
        ``industry``              String    GICS sub-industry (null for the same 31)
        ``shares_outstanding``    Float64   net income / EPS of the fiscal year
        ``book_equity``           Float64   total equity (negative for a few firms)
        ``net_income``            Float64   net income
        ``sales``                 Float64   total revenue
        ========================  ========  ==============================================

        The fundamentals are null before a ticker's first public fiscal year (fiscal
        years 2012-2016 are covered) and where the source lacks them (the share count
        of about half of the fiscal-2016 rows, and the 4 non-positive ones).

    Raises
    ------
    ValueError
        If ``reporting_lag_days`` is negative.

    Notes
    -----
    Real data, with its quirks kept: a few null opens and one high below its low, a
    few unadjusted splits (DISCA/DISCK on 2014-08-07 fall before the sample; LNT on
    2016-05-19/20, NWL on 2017-09-14/15), gaps in six tickers and survivorship bias
    (all are 2018 members). Sources and licences: the Kaggle "S&P 500 stock data"
    (MIT) and "New York Stock Exchange" datasets; see
    ``polars_factors/datasets/data/README.md``.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> panel = pf.datasets.load_sp500()
    >>> panel.select(pl.len(), pl.col("date").n_unique(), pl.col("asset").n_unique()).collect()
    shape: (1, 3)
    ┌────────┬──────┬───────┐
    │ len    ┆ date ┆ asset │
    │ ---    ┆ ---  ┆ ---   │
    │ u32    ┆ u32  ┆ u32   │
    ╞════════╪══════╪═══════╡
    │ 375980 ┆ 756  ┆ 505   │
    └────────┴──────┴───────┘
    >>> aapl = panel.filter(pl.col("asset") == "AAPL", pl.col("date") == pl.date(2017, 6, 30))
    >>> aapl.select("close", "sector", "book_equity").collect().row(0)
    (144.02, 'Information Technology', 128000000000.0)
    """
    if isinstance(reporting_lag_days, bool) or not isinstance(reporting_lag_days, int):
        msg = f"reporting_lag_days must be an int, got {type(reporting_lag_days).__name__}"
        raise TypeError(msg)
    if reporting_lag_days < 0:
        msg = (
            "reporting_lag_days must be >= 0 (a negative lag looks ahead), "
            f"got {reporting_lag_days}"
        )
        raise ValueError(msg)
    prices = pl.scan_parquet(data_path("sp500_prices.parquet"))
    fundamentals = pl.scan_parquet(data_path("sp500_fundamentals.parquet"))
    securities = pl.scan_parquet(data_path("sp500_securities.parquet")).select(
        "asset", "sector", "industry"
    )
    return (
        # The bundled prices are sorted by (asset, date) (checked when they were built):
        # no check in the plan, so that a filter on the date still reaches the scan.
        point_in_time(prices, fundamentals, lag=f"{reporting_lag_days}d", check_keys=False)
        .join(securities, on="asset", how="left", maintain_order="left")
        .select(
            "date",
            "asset",
            "open",
            "high",
            "low",
            "close",
            "volume",
            "sector",
            "industry",
            *FUNDAMENTALS,
        )
    )


def load_fama_french(
    frequency: Literal["daily", "monthly"] = "daily",
    model: Literal["3", "5"] = "3",
) -> pl.DataFrame:
    """Load Kenneth French's research factors shipped with the package.

    Parameters
    ----------
    frequency
        ``"daily"`` (trading days from 2000-01-03) or ``"monthly"`` (the whole history,
        from 1926-07 for 3 factors and 1963-07 for 5; dates are month ends).
    model
        ``"3"``: ``Mkt-RF``, ``SMB``, ``HML``; ``"5"``: adds ``RMW`` and ``CMA`` (the
        2x3 sorts). ``RF`` (the one-month T-bill) is the last column of both.

    Returns
    -------
    pl.DataFrame
        Wide: ``date`` (Date) and one Float64 column per factor, in **decimals**
        (0.0125 is 1.25 %), sorted by date; the layout :func:`polars_factors.join_factors`
        and :func:`polars_factors.betas` take. From the CRSP 202408 build of the data
        library (through 2024-08).

    Raises
    ------
    ValueError
        For another ``frequency`` or ``model``.

    Examples
    --------
    >>> import polars_factors as pf
    >>> ff5 = pf.datasets.load_fama_french("monthly", model="5")
    >>> ff5.columns
    ['date', 'Mkt-RF', 'SMB', 'HML', 'RMW', 'CMA', 'RF']
    >>> ff5.row(0)
    (datetime.date(1963, 7, 31), -0.0039, -0.0041, -0.0097, 0.0068, -0.0118, 0.0027)
    """
    _validate.check_choice("frequency", frequency, ("daily", "monthly"))
    _validate.check_choice("model", model, ("3", "5"))
    return pl.read_parquet(data_path(f"ff{model}_{frequency}.parquet"))


def synthetic_panel(
    n_dates: int = 60,
    n_assets: int = 500,
    n_styles: int = 3,
    n_industries: int = 10,
    *,
    seed: int = 0,
    start: dt.date = dt.date(2020, 1, 1),
    interval: str = "1d",
    noise: float = 0.02,
    persistence: float = 0.9,
) -> SyntheticPanel:
    """Simulate a panel whose factor returns are known.

    On each date ``t`` and asset ``i``::

        returns[t, i] = country[t] + sum_k style_k[t, i] * f_k[t]
                        + f_industry(i)[t] + e[t, i]

    Styles are standardized per date (mean 0, std 1) and persistent in time (an AR(1)
    with coefficient ``persistence`` before standardizing); each asset belongs to one
    industry for the whole sample, and every industry has members; market caps are
    log-normal across assets with a slow random walk in time. Factor returns are
    normal: country 5 bp +- 1 %, styles +- 0.4 %, industries +- 0.6 %; the industry
    returns are then shifted so that their cap-weighted sum is 0 on each date (the
    Barra constraint), the shift moving into the country return. The specific
    returns ``e`` are normal with a volatility per asset uniform in
    ``[0.5, 1.5] * noise``.

    Parameters
    ----------
    n_dates, n_assets, n_styles, n_industries
        Panel size; ``n_industries`` may be 0 (no ``industry`` column) and must not
        exceed ``n_assets``.
    seed
        Seed of ``numpy.random.default_rng``: the same seed gives the same panel.
    start, interval
        First date and the Polars interval between dates (``"1d"``, ``"1mo"``, ...).
    noise
        Scale of the specific returns (``0`` gives an exact factor model).
    persistence
        AR(1) coefficient of the raw style exposures, in ``[0, 1)``.

    Returns
    -------
    SyntheticPanel
        ``.panel`` (LazyFrame: ``date``, ``asset``, ``style_1``.., ``industry``,
        ``mcap``, ``returns``), ``.factor_returns`` (long: ``date``, ``factor``,
        ``factor_return``) and ``.specific_returns``.

    Raises
    ------
    InsufficientDataError
        If there are more industries than assets.
    ValueError
        For non-positive sizes, ``noise < 0`` or ``persistence`` outside ``[0, 1)``.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> sim = pf.datasets.synthetic_panel(n_dates=12, n_assets=50, interval="1mo", seed=1)
    >>> sim.panel.collect().shape
    (600, 8)
    >>> sim.factor_returns["factor"].unique(maintain_order=True).to_list()[:5]
    ['country', 'style_1', 'style_2', 'style_3', 'ind_01']
    >>> exact = pf.datasets.synthetic_panel(n_dates=3, n_assets=100, noise=0.0)
    >>> res = exact.panel.factors.cross_section(
    ...     "returns",
    ...     ["style_1", "style_2", "style_3"],
    ...     industry="industry",
    ...     country=True,
    ...     constraint_weights="mcap",
    ... ).collect()
    >>> est = res.factor_returns.join(exact.factor_returns, on=["date", "factor"], suffix="_true")
    >>> error = pl.col("factor_return") - pl.col("factor_return_true")
    >>> est.select(error.abs().max()).item() < 1e-12
    True
    """
    return simulate(
        n_dates,
        n_assets,
        n_styles,
        n_industries,
        seed=seed,
        start=start,
        interval=interval,
        noise=noise,
        persistence=persistence,
    )
