"""A simulated panel with known factor returns (numpy, on small per-date arrays).

This module draws random numbers, which Polars cannot do, so it is one of the few
places numpy is allowed outside the solvers; nothing here runs on a user's panel.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import polars as pl

from polars_factors.exceptions import InsufficientDataError


@dataclass(frozen=True)
class SyntheticPanel:
    """A simulated panel and the true values it was generated from.

    Attributes
    ----------
    panel
        LazyFrame sorted by ``(date, asset)``: ``date``, ``asset``, ``style_1`` ..
        ``style_k`` (exposures, mean 0 and std 1 per date), ``industry``, ``mcap`` and
        ``returns``.
    factor_returns
        The true factor returns, long: ``date``, ``factor``, ``factor_return``, with
        factors ``country``, the styles and the industries, sorted by date then factor
        in that order. The industry returns satisfy the cap-weighted Barra constraint
        (their sum weighted by each industry's total ``mcap`` is 0 on every date), so a
        cross-sectional regression with ``country=True`` and ``constraint_weights="mcap"``
        estimates exactly these numbers, up to the specific noise.
    specific_returns
        ``date``, ``asset``, ``specific_return``: the part of ``returns`` that no factor
        explains.
    """

    panel: pl.LazyFrame
    factor_returns: pl.DataFrame
    specific_returns: pl.DataFrame


def _dates(start: dt.date, interval: str, n: int) -> pl.Series:
    """``n`` dates from ``start``, ``interval`` apart (``"1d"``, ``"1mo"``, ``"2w"``, ...)."""
    parts = re.fullmatch(r"(?:\d+[a-z]+)+", interval)
    if parts is None:
        msg = f"interval must be a Polars duration such as '1d' or '1mo', got {interval!r}"
        raise ValueError(msg)
    span = "".join(
        f"{int(k) * (n - 1)}{unit}" for k, unit in re.findall(r"(\d+)([a-z]+)", interval)
    )
    end = pl.select(pl.lit(start).dt.offset_by(span)).item() if n > 1 else start
    return pl.date_range(start, end, interval, eager=True).head(n)


def _check(
    n_dates: int,
    n_assets: int,
    n_styles: int,
    n_industries: int,
    *,
    noise: float,
    persistence: float,
) -> None:
    if n_dates < 1 or n_assets < 1 or n_styles < 0 or n_industries < 0:
        msg = (
            "synthetic_panel needs n_dates >= 1, n_assets >= 1, n_styles >= 0 and "
            f"n_industries >= 0; got {n_dates}, {n_assets}, {n_styles}, {n_industries}"
        )
        raise ValueError(msg)
    if n_industries > n_assets:
        msg = (
            f"synthetic_panel: {n_industries} industries need at least as many assets "
            f"(got n_assets={n_assets}), or some industries would be empty"
        )
        raise InsufficientDataError(msg)
    if not 0.0 <= persistence < 1.0:
        msg = f"persistence must be in [0, 1), got {persistence}"
        raise ValueError(msg)
    if noise < 0.0:
        msg = f"noise must be >= 0, got {noise}"
        raise ValueError(msg)


def simulate(
    n_dates: int,
    n_assets: int,
    n_styles: int,
    n_industries: int,
    *,
    seed: int,
    start: dt.date,
    interval: str,
    noise: float,
    persistence: float,
) -> SyntheticPanel:
    """Draw the panel; see :func:`polars_factors.datasets.synthetic_panel`."""
    _check(n_dates, n_assets, n_styles, n_industries, noise=noise, persistence=persistence)
    rng = np.random.default_rng(seed)
    dates = _dates(start, interval, n_dates)
    if dates.len() != n_dates:
        msg = f"interval {interval!r} gave {dates.len()} dates, not {n_dates}"
        raise ValueError(msg)
    width = len(str(n_assets))
    assets = [f"A{i:0{width}d}" for i in range(n_assets)]
    ind_width = max(2, len(str(n_industries)))
    industries = [f"ind_{j + 1:0{ind_width}d}" for j in range(n_industries)]
    styles = [f"style_{k + 1}" for k in range(n_styles)]

    # Exposures: AR(1) in time per asset, then standardized per date.
    raw = np.empty((n_dates, n_assets, n_styles))
    raw[0] = rng.standard_normal((n_assets, n_styles))
    innovation = np.sqrt(1.0 - persistence**2)
    for t in range(1, n_dates):
        raw[t] = persistence * raw[t - 1] + innovation * rng.standard_normal((n_assets, n_styles))
    if n_assets > 1:
        raw = (raw - raw.mean(axis=1, keepdims=True)) / raw.std(axis=1, keepdims=True)
    # Every industry has members: a shuffled round robin.
    member = rng.permutation(np.arange(n_assets) % max(n_industries, 1))
    # Market caps: log-normal across assets (median 10bn), a slow random walk in time.
    log_cap = np.log(1e10) + 1.5 * rng.standard_normal(n_assets)
    walk = 0.02 * rng.standard_normal((n_dates, n_assets))
    mcap = np.exp(log_cap + np.cumsum(walk, axis=0))

    country = 0.0005 + 0.01 * rng.standard_normal(n_dates)
    style_f = 0.004 * rng.standard_normal((n_dates, n_styles))
    ind_f = 0.006 * rng.standard_normal((n_dates, n_industries))
    if n_industries:
        # Move the cap-weighted mean of the industry returns into the country return:
        # the returns are unchanged and the industry returns meet the Barra constraint.
        ind_cap = np.stack([np.bincount(member, weights=m, minlength=n_industries) for m in mcap])
        shift = (ind_cap * ind_f).sum(axis=1) / ind_cap.sum(axis=1)
        ind_f -= shift[:, None]
        country += shift
    vol = noise * rng.uniform(0.5, 1.5, n_assets)
    specific = vol * rng.standard_normal((n_dates, n_assets))
    returns = country[:, None] + np.einsum("tak,tk->ta", raw, style_f) + specific
    if n_industries:
        returns += ind_f[:, member]

    date_col = pl.Series("date", dates).gather(np.repeat(np.arange(n_dates), n_assets))
    panel = pl.DataFrame(
        {
            "date": date_col,
            "asset": assets * n_dates,
            **{s: raw[:, :, k].ravel() for k, s in enumerate(styles)},
            **({"industry": [industries[j] for j in member] * n_dates} if n_industries else {}),
            "mcap": mcap.ravel(),
            "returns": returns.ravel(),
        }
    )
    names = ["country", *styles, *industries]
    values = np.column_stack([country, style_f, ind_f])
    factor_returns = pl.DataFrame(
        {
            "date": pl.Series(dates).gather(np.repeat(np.arange(n_dates), len(names))),
            "factor": names * n_dates,
            "factor_return": values.ravel(),
        }
    )
    specific_returns = panel.select("date", "asset").with_columns(
        pl.Series("specific_return", specific.ravel())
    )
    return SyntheticPanel(panel.lazy(), factor_returns, specific_returns)
