"""Independent oracle for time-series betas: one explicit weighted lstsq per window.

Nothing here shares code with polars_factors: each window's rows are gathered in a
Python loop, missing rows dropped, and the weighted problem solved by
``np.linalg.lstsq`` on ``sqrt(w)``-scaled data (an SVD, not normal equations).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

STATS = ("params", "bse", "r2", "nobs")


def fit(
    y: np.ndarray, x: np.ndarray, w: np.ndarray, *, intercept: bool
) -> dict[str, np.ndarray | float]:
    """Weighted least squares with classical standard errors (statsmodels WLS)."""
    n = len(y)
    design = np.column_stack([np.ones(n), x]) if intercept else x
    sw = np.sqrt(w)
    params, *_ = np.linalg.lstsq(design * sw[:, None], y * sw, rcond=None)
    resid = y - design @ params
    ssr = float(np.sum(w * resid**2))
    p = design.shape[1]
    xtwx = design.T @ (design * w[:, None])
    cov = np.linalg.inv(xtwx) * (ssr / (n - p)) if n > p else np.full((p, p), np.nan)
    if intercept:
        mean = np.sum(w * y) / np.sum(w)
        tss = float(np.sum(w * (y - mean) ** 2))
    else:
        tss = float(np.sum(w * y**2))
    return {"params": params, "bse": np.sqrt(np.diag(cov)), "r2": 1 - ssr / tss, "nobs": n}


def window_rows(
    dates: list[object], t: int, window: int | str | None, *, integer_dates: bool = False
) -> np.ndarray:
    """Row positions (within one asset) of the window that ends at row ``t``."""
    if window is None or window == "expanding":
        return np.arange(t + 1)
    if isinstance(window, int):
        return np.arange(t - window + 1, t + 1) if t >= window - 1 else np.array([], dtype=int)
    end = dates[t]
    if window.endswith("mo"):
        start = months_before(end, int(window[:-2]))  # type: ignore[arg-type]
    else:
        days = int(window.rstrip("di"))
        start = end - (days if integer_dates else dt.timedelta(days=days))  # type: ignore[operator]
    return np.array([j for j in range(t + 1) if start < dates[j]], dtype=int)


def months_before(day: dt.date, months: int) -> dt.date:
    """``day`` minus whole calendar months, the day clipped to the month's length."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    next_first = dt.date(year + month // 12, month % 12 + 1, 1)
    last_day = (next_first - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last_day))


def rolling_oracle(
    df: pl.DataFrame,
    returns: str,
    factors: list[str],
    *,
    window: int | str | None,
    min_periods: int | None = None,
    half_life: float | None = None,
    intercept: bool = True,
    weights: str | None = None,
    integer_dates: bool = False,
) -> pl.DataFrame:
    """Per input row (per asset for window=None): params, bse, r2, n_obs; nulls if no fit.

    Rows of each asset are taken in input order (dates increasing).
    """
    p = len(factors) + int(intercept)
    min_obs = p if min_periods is None else min_periods
    out_rows: dict[int, dict[str, object]] = {}
    indexed = df.with_row_index("_i")
    for (name,), group in indexed.group_by(["asset"], maintain_order=True):
        y = group[returns].cast(pl.Float64).to_numpy()
        x = group.select(factors).cast(pl.Float64).to_numpy()
        w_all = np.ones(len(y)) if weights is None else group[weights].cast(pl.Float64).to_numpy()
        ok_all = np.isfinite(y) & np.all(np.isfinite(x), axis=1) & np.isfinite(w_all)
        ok_all &= np.where(np.isfinite(w_all), w_all, 0) > 0
        dates = group["date"].to_list()
        ends = [len(y) - 1] if window is None else range(len(y))
        for t in ends:
            rows = window_rows(dates, t, window, integer_dates=integer_dates)
            label = int(group["_i"][t]) if window is not None else int(group["_i"][0])
            record: dict[str, object] = {
                "asset": name,
                "n_obs": None,
                "params": None,
                "bse": None,
                "r2": None,
            }
            if isinstance(window, int) and t < window - 1:
                out_rows[label] = record
                continue
            used = rows[ok_all[rows]] if len(rows) else rows
            record["n_obs"] = len(used)
            if len(used) >= min_obs:
                ww = w_all[used].copy()
                if half_life is not None:
                    ww = ww * 0.5 ** ((t - used) / half_life)
                res = fit(y[used], x[used], ww, intercept=intercept)
                record.update(params=res["params"], bse=res["bse"], r2=res["r2"])
            out_rows[label] = record
    return _to_frame(out_rows, factors, intercept=intercept)


def _to_frame(
    out_rows: dict[int, dict[str, object]], factors: list[str], *, intercept: bool
) -> pl.DataFrame:
    names = (["alpha"] if intercept else []) + [f"beta_{f}" for f in factors]
    data: dict[str, list[object]] = {"_i": [], "asset": [], "n_obs": [], "r2": []}
    for n in names:
        data[n] = []
        data[f"{n}_std_error"] = []
    for label in sorted(out_rows):
        rec = out_rows[label]
        data["_i"].append(label)
        data["asset"].append(rec["asset"])
        data["n_obs"].append(rec["n_obs"])
        data["r2"].append(rec["r2"])
        for j, n in enumerate(names):
            params, bse = rec["params"], rec["bse"]
            data[n].append(None if params is None else float(params[j]))  # type: ignore[index]
            se = None if bse is None else float(bse[j])  # type: ignore[index]
            data[f"{n}_std_error"].append(None if se is None or np.isnan(se) else se)
    return pl.DataFrame(data, schema_overrides={"n_obs": pl.Int64}, strict=False)
