"""Benchmark: quintile buckets, value-weighted quintile returns and daily rank IC.

Spec: a synthetic panel of 5,000 assets x 5,000 days (25M rows, sorted by date then
asset): a signal with a cross-sectional relation to next-day returns, a lognormal,
slowly varying market cap, the day's return and the next day's return, a few nulls,
read from parquet. In the same run, on the same file, compare

- ours: from ``pl.scan_parquet(path)``, ``assign_buckets("signal", n=5)`` then
  ``portfolio_returns("signal_bucket", "fwd_ret_1", weights="mcap")`` (value-weighted
  quintile returns per date) and ``information_coefficient("signal", "fwd_ret_1",
  method="spearman")`` (daily rank IC), both collected, on the default engine. Also
  timed with ``check_keys=False``, ``engine="streaming"``, ``engine="in-memory"``
  and each half alone;
- (a) the IO floor: a streaming scan that only sums the columns the work reads;
- (b) pandas, the fastest version found: ``read_parquet``, per-date breakpoints from
  ``groupby("date").quantile([.2, .4, .6, .8])`` (linear interpolation: the bins of
  ``pd.qcut``), value-weighted returns from ``groupby(["date", "bucket"])`` sums, and
  the Spearman IC from ``groupby("date").apply(lambda g: g["signal"].corr(
  g["fwd_ret_1"], method="spearman"))`` (faster than ``groupby.rank`` in pandas 3.1);
- (b') the same with the textbook buckets: ``groupby("date")["signal"].transform(
  lambda s: pd.qcut(s, 5, labels=False) + 1)``;
- (c) alphalens-reloaded: ``get_clean_factor`` (its quintiles: ``pd.qcut`` per date)
  with the precomputed next-day return as the ``1D`` forward return, then
  ``factor_information_coefficient`` and ``mean_return_by_quantile(by_date=True,
  demeaned=False)``. alphalens has no value weighting: its quantile returns are
  equal-weighted means (the table says so).

(c) is timed on the first ``--sub-dates`` dates (default 250) and scaled linearly to
all dates (alphalens loops over dates in Python); the table says so.

Goal: at least 20x faster than (b) and (c); report peak memory.

Before any timing, ours is compared with pandas on every row and date (buckets
identical to both pandas versions, value-weighted returns, number of assets and weight
sums, IC from ``groupby.apply`` and from ``groupby.rank`` + per-date sums), the engines
with each other, and with alphalens on the subset of dates (buckets, equal-weighted
quintile returns and IC on its universe: rows with a finite signal and a forward
return). The run stops if any check fails.

Each measurement runs in a fresh subprocess (so peak RSS, ``ru_maxrss`` of that
process, is per variant), ``--repeats`` times (default 3), interleaving the
variants; the table shows the best wall time, all the runs, the user and system CPU
time of the fastest run and the largest peak RSS. Wall and CPU times cover the work
only (reading the file included, the results collected in memory), not the
interpreter start, the imports or the checksum computed afterwards.

Usage (from the repository root)::

    python benchmarks/portfolios.py           # full run, writes RESULTS.md
    python benchmarks/portfolios.py --small   # smoke run (300 days x 500 assets), prints only

The panel is generated once (seeded) under ``benchmarks/data/`` (git-ignored).
Needs ``pandas`` and ``alphalens-reloaded`` besides the package.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import _harness as bench  # benchmarks/_harness.py
import numpy as np
import polars as pl

from polars_factors.portfolio._buckets import assign_buckets
from polars_factors.portfolio._diagnostics import information_coefficient
from polars_factors.portfolio._returns import portfolio_returns

SEED = 20261123
N_BUCKETS = 5
RHO = 0.98  # daily persistence of the latent signal
IC_LOAD = 0.05  # loading of the next-day idiosyncratic return on the signal
NULL_SIGNAL, NULL_RET, NULL_MCAP = 0.005, 0.002, 0.001  # shares of null values
FULL_SHAPE, FULL_SUB = (5_000, 5_000), 250  # (dates, assets); dates alphalens is timed on
SMALL_SHAPE, SMALL_SUB = (300, 500), 100
Engine = Literal["auto", "streaming", "in-memory"]
VERSIONS = ("polars", "pandas", "alphalens-reloaded", "scipy", "numpy")
COLUMNS = ["date", "asset", "signal", "mcap", "fwd_ret_1"]  # what the work reads
BUCKET = "signal_bucket"
PROBS = [k / N_BUCKETS for k in range(1, N_BUCKETS)]


# --------------------------------------------------------------------------- data


def panel_path(n_dates: int, n_assets: int) -> Path:
    return bench.DATA_DIR / f"portfolios_{n_dates}x{n_assets}_seed{SEED}.parquet"


def panel_dates(n_dates: int) -> pl.Series:
    """The trading dates of the panel: weekdays from 2000-01-03."""
    return bench.weekdays(dt.date(2000, 1, 3), n_dates)


class _Panel:
    """The panel's state carried from one chunk of dates to the next.

    Per asset: a latent signal (AR(1) with persistence :data:`RHO`), the log market
    cap (compounded with the asset's returns) and the last forward return (the next
    chunk's first ``ret``). Chunks are written in order, so a longer panel starts
    with the same rows as a shorter one (except the last date's forward return,
    which is null: the next day is not in the panel).
    """

    def __init__(self, n_dates: int, n_assets: int) -> None:
        rng = np.random.default_rng([SEED, n_assets])
        self.n_dates, self.n_assets = n_dates, n_assets
        self.vol = rng.lognormal(np.log(0.02), 0.4, n_assets)  # daily idiosyncratic vol
        self.latent = rng.standard_normal(n_assets)
        self.log_mcap = rng.normal(np.log(2_000.0), 1.5, n_assets)  # $M, lognormal
        self.last_fwd = np.full(n_assets, np.nan)  # no return into the first date

    def chunk(self, i: int, dates: pl.Series) -> pl.DataFrame:
        rng = np.random.default_rng([SEED, self.n_assets, i])
        m, n = len(dates), self.n_assets
        signal = np.empty((m, n))
        shocks = rng.standard_normal((m, n)) * np.sqrt(1 - RHO**2)
        s = self.latent
        for t in range(m):
            s = RHO * s + shocks[t]
            signal[t] = s
        self.latent = s
        # Return from the close of date t to the close of t + 1: a market move shared by
        # all assets, plus an idiosyncratic part that loads on date t's signal.
        mkt = rng.normal(3e-4, 0.01, m)
        noise = rng.standard_normal((m, n))
        fwd = mkt[:, None] + self.vol * (IC_LOAD * signal + np.sqrt(1 - IC_LOAD**2) * noise)
        growth = np.log1p(fwd)
        cum = np.cumsum(growth, axis=0)
        log_mcap = self.log_mcap + np.vstack([np.zeros(n), cum[:-1]])
        self.log_mcap = self.log_mcap + cum[-1]
        fwd[rng.random((m, n)) < NULL_RET] = np.nan  # missing prices
        if i * bench.CHUNK_DATES + m == self.n_dates:
            fwd[-1] = np.nan  # the last date of the panel has no next day
        ret = np.vstack([self.last_fwd, fwd[:-1]])
        self.last_fwd = fwd[-1]
        signal[rng.random((m, n)) < NULL_SIGNAL] = np.nan
        mcap = np.exp(log_mcap)
        mcap[rng.random((m, n)) < NULL_MCAP] = np.nan
        day = np.repeat(np.arange(m), n)
        return pl.DataFrame(
            {
                "date": dates.gather(day),
                "asset": np.tile(np.arange(n, dtype=np.int32), m),
                "signal": signal.ravel(),
                "mcap": mcap.ravel(),
                "ret": ret.ravel(),
                "fwd_ret_1": fwd.ravel(),
            }
        ).with_columns(pl.col("signal", "mcap", "ret", "fwd_ret_1").fill_nan(None))


def generate_panel(path: Path, n_dates: int, n_assets: int) -> None:
    """Write the panel chunk by chunk, then stream the chunks into one parquet file."""
    bench.write_chunked(path, panel_dates(n_dates), _Panel(n_dates, n_assets).chunk)


def _scan(path: Path, before: dt.date | None = None) -> pl.LazyFrame:
    lf = pl.scan_parquet(path)
    return lf if before is None else lf.filter(pl.col("date") < before)


# ----------------------------------------------------------------------- ours


@dataclass(frozen=True)
class Result:
    """Per (date, bucket) returns and per-date IC, as Polars frames."""

    returns: pl.DataFrame | None
    ic: pl.DataFrame | None


def _ours_plans(
    lf: pl.LazyFrame, *, check_keys: bool | None = None, weights: str | None = "mcap"
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    buckets = assign_buckets(lf, "signal", n=N_BUCKETS, check_keys=check_keys)
    rets = portfolio_returns(
        buckets, BUCKET, "fwd_ret_1", weights=weights, check_weights=check_keys is not False
    )
    ic = information_coefficient(lf, "signal", "fwd_ret_1", method="spearman")
    return rets, ic.ic


def ours(
    path: Path,
    *,
    engine: Engine = "auto",
    check_keys: bool | None = None,
    parts: Sequence[str] = ("returns", "ic"),
) -> Result:
    """Collect the quintile returns and the IC in one ``collect_all``."""
    rets, ic = _ours_plans(pl.scan_parquet(path), check_keys=check_keys)
    plans = {"returns": rets, "ic": ic}
    out = pl.collect_all([plans[p] for p in parts], engine=engine)
    got = dict(zip(parts, out, strict=True))
    return Result(got.get("returns"), got.get("ic"))


def run_io_floor(path: Path, _: dt.date | None) -> pl.DataFrame:
    """Read every column the work reads and reduce it."""
    return (
        pl.scan_parquet(path)
        .select(
            pl.col("date").to_physical().sum(), pl.col("asset", "signal", "mcap", "fwd_ret_1").sum()
        )
        .collect(engine="streaming")
    )


def run_ours(path: Path, _: dt.date | None) -> Result:
    return ours(path)


def run_ours_no_check(path: Path, _: dt.date | None) -> Result:
    return ours(path, check_keys=False)


def run_ours_check_now(path: Path, _: dt.date | None) -> Result:
    return ours(path, check_keys=True)


def run_ours_streaming(path: Path, _: dt.date | None) -> Result:
    return ours(path, engine="streaming")


def run_ours_in_memory(path: Path, _: dt.date | None) -> Result:
    return ours(path, engine="in-memory")


def run_ours_returns(path: Path, _: dt.date | None) -> Result:
    return ours(path, parts=("returns",))


def run_ours_ic(path: Path, _: dt.date | None) -> Result:
    return ours(path, parts=("ic",))


# ----------------------------------------------------------------------- pandas


def read_pandas(path: Path, before: dt.date | None, columns: Sequence[str] = COLUMNS) -> Any:
    """The panel as a pandas frame (dates as datetime64, not Python objects)."""
    import pandas as pd  # noqa: PLC0415

    filters = None if before is None else [("date", "<", before)]
    return pd.read_parquet(
        path,
        columns=list(columns),
        filters=filters,
        to_pandas_kwargs={"date_as_object": False},
    )


def pandas_buckets(df: Any) -> np.ndarray:
    """Quintiles per date from ``groupby.quantile`` breakpoints (those of ``pd.qcut``).

    A row's bucket is 1 + the number of breakpoints strictly below its signal (the
    right-closed bins of ``qcut``); NaN where the signal is missing.
    """
    import pandas as pd  # noqa: PLC0415

    codes, _ = pd.factorize(df["date"])
    bp = df["signal"].groupby(codes).quantile(PROBS).unstack().to_numpy()  # dates x 4
    sig = df["signal"].to_numpy()
    bucket = np.ones(len(sig))
    for k in range(len(PROBS)):
        bucket += sig > bp[codes, k]
    bucket[np.isnan(sig)] = np.nan
    return bucket


def pandas_qcut_buckets(df: Any) -> np.ndarray:
    """The textbook version: ``pd.qcut`` per date in a ``groupby.transform``."""
    import pandas as pd  # noqa: PLC0415

    out = df.groupby("date")["signal"].transform(lambda s: pd.qcut(s, N_BUCKETS, labels=False) + 1)
    return np.asarray(out.to_numpy(dtype=float, na_value=np.nan))


def pandas_returns(df: Any, bucket: np.ndarray, *, weights: str | None = "mcap") -> Any:
    """Value-weighted (or equal-weighted) return per (date, bucket) from group sums.

    Rows with a missing bucket, forward return or weight (or a zero weight) are left
    out, as in ``portfolio_returns``.
    """
    import pandas as pd  # noqa: PLC0415

    fwd = df["fwd_ret_1"].to_numpy()
    w = np.ones(len(df)) if weights is None else df[weights].to_numpy()
    ok = ~np.isnan(bucket) & ~np.isnan(fwd) & ~np.isnan(w) & (w != 0)
    d = pd.DataFrame(
        {
            "date": df["date"].to_numpy()[ok],
            "bucket": bucket[ok].astype(np.int32),
            "wr": w[ok] * fwd[ok],
            "w": w[ok],
        }
    )
    g = d.groupby(["date", "bucket"], sort=True).agg(
        wr=("wr", "sum"), weight_sum=("w", "sum"), n_assets=("w", "size")
    )
    g["ret"] = g["wr"] / g["weight_sum"]
    return g[["ret", "n_assets", "weight_sum"]]


def _complete(df: Any) -> Any:
    """The rows an IC uses: signal and forward return both present."""
    return df.loc[df["signal"].notna() & df["fwd_ret_1"].notna(), ["date", "signal", "fwd_ret_1"]]


def pandas_ic(df: Any) -> Any:
    """Spearman IC per date: ``Series.corr(method="spearman")`` in ``groupby.apply``.

    The fastest pandas version found: each date ranks its two columns with numpy.
    """
    return (
        _complete(df)
        .groupby("date")[["signal", "fwd_ret_1"]]
        .apply(lambda g: g["signal"].corr(g["fwd_ret_1"], method="spearman"))
    )


def pandas_rank_ic(df: Any) -> Any:
    """Spearman IC per date from ``groupby.rank`` and demeaned per-date sums.

    A second oracle for the check, not timed: ``groupby.rank`` is several times
    slower than :func:`pandas_ic` in pandas 3.1.
    """
    d = _complete(df)
    ranks = d.groupby("date")[["signal", "fwd_ret_1"]].rank()  # average ranks, as scipy
    centered = ranks - ranks.groupby(d["date"]).transform("mean")
    x, y = centered["signal"], centered["fwd_ret_1"]
    sums = (
        (x * y).groupby(d["date"]).sum(),
        (x * x).groupby(d["date"]).sum(),
        (y * y).groupby(d["date"]).sum(),
    )
    return sums[0] / np.sqrt(sums[1] * sums[2])


def run_pandas(path: Path, before: dt.date | None) -> tuple[Any, Any]:
    df = read_pandas(path, before)
    return pandas_returns(df, pandas_buckets(df)), pandas_ic(df)


def run_pandas_qcut(path: Path, before: dt.date | None) -> tuple[Any, Any]:
    df = read_pandas(path, before)
    return pandas_returns(df, pandas_qcut_buckets(df)), pandas_ic(df)


# -------------------------------------------------------------------- alphalens


def alphalens_run(path: Path, before: dt.date | None) -> tuple[Any, Any, Any]:
    """alphalens' clean factor (with quintiles), daily IC and per-date quintile means.

    The next-day return goes in as alphalens' ``1D`` forward return (its layout: a
    frame indexed by (date, asset)); ``get_clean_factor`` drops the rows without a
    finite factor or a forward return, then quantizes per date with ``pd.qcut``.
    ``max_loss=1`` keeps it from raising on the dropped rows; its progress message
    goes to a buffer.
    """
    from alphalens.performance import (  # noqa: PLC0415
        factor_information_coefficient,
        mean_return_by_quantile,
    )
    from alphalens.utils import get_clean_factor  # noqa: PLC0415

    df = read_pandas(path, before, ["date", "asset", "signal", "fwd_ret_1"])
    df = df.set_index(["date", "asset"])
    forward = df[["fwd_ret_1"]].rename(columns={"fwd_ret_1": "1D"})
    with contextlib.redirect_stdout(io.StringIO()):
        factor_data = get_clean_factor(df["signal"], forward, quantiles=N_BUCKETS, max_loss=1.0)
    ic = factor_information_coefficient(factor_data)
    mean_ret, _ = mean_return_by_quantile(factor_data, by_date=True, demeaned=False)
    return factor_data, ic, mean_ret


def run_alphalens(path: Path, before: dt.date | None) -> tuple[Any, Any, Any]:
    return alphalens_run(path, before)


def run_baseline(path: Path, _: dt.date | None) -> None:
    """Nothing: the peak RSS of the interpreter and the imports (polars, numpy, package)."""


# --------------------------------------------------------------------- checksums


def checksum(name: str, out: Any) -> tuple[float | None, int | None]:
    """Sum of the quintile returns plus the sum of the ICs; the number of dates covered."""
    if out is None or name == "io_floor":
        return None, None
    if name == "alphalens":
        _, ic, mean_ret = out
        return float(mean_ret["1D"].sum() + ic["1D"].sum()), len(ic)
    if name.startswith("pandas"):
        rets, ic = out
        n = len(set(rets.index.get_level_values("date")) | set(ic.index))
        return float(rets["ret"].sum() + ic.sum()), n
    res: Result = out
    total, dates = 0.0, pl.Series("date", [], pl.Date)
    if res.returns is not None:
        total += float(res.returns["return"].sum())
        dates = res.returns["date"]
    if res.ic is not None:
        total += float(res.ic["ic"].sum())
        dates = pl.concat([dates, res.ic["date"]])
    return total, dates.n_unique()


VARIANTS = [
    bench.Variant(
        "io_floor", "(a) streaming scan + sum of date, asset, signal, mcap, fwd_ret_1", run_io_floor
    ),
    bench.Variant(
        "ours",
        '`assign_buckets(n=5)` + `portfolio_returns(weights="mcap")` + '
        '`information_coefficient(method="spearman")`, one `collect_all`, default engine',
        run_ours,
    ),
    bench.Variant(
        "ours_no_check",
        "same, `check_keys=False` and `check_weights=False` (no weights check in the plan)",
        run_ours_no_check,
    ),
    bench.Variant(
        "ours_check_now",
        "same, `check_keys=True` (the key check reads the keys at call time)",
        run_ours_check_now,
    ),
    bench.Variant("ours_streaming", 'same, engine="streaming"', run_ours_streaming),
    bench.Variant("ours_in_memory", 'same, engine="in-memory"', run_ours_in_memory),
    bench.Variant(
        "ours_returns", "buckets + value-weighted quintile returns alone", run_ours_returns
    ),
    bench.Variant("ours_ic", "daily rank IC alone", run_ours_ic),
    bench.Variant(
        "pandas",
        "(b) pandas: `groupby.quantile` breakpoints (those of `qcut`), value-weighted returns "
        'from `groupby` sums, IC from `groupby.apply(corr(method="spearman"))`',
        run_pandas,
        ref="ours",
    ),
    bench.Variant(
        "pandas_qcut",
        "(b') same, buckets from `groupby.transform(lambda s: pd.qcut(s, 5, labels=False) + 1)`",
        run_pandas_qcut,
        ref="ours",
    ),
    bench.Variant(
        "alphalens",
        "(c) alphalens-reloaded: `get_clean_factor(quantiles=5)` + "
        "`factor_information_coefficient` + `mean_return_by_quantile(by_date=True)`; "
        "**equal-weighted** quintile returns (no value weighting)",
        run_alphalens,
        subset=True,
        ref="ours",
    ),
    bench.Variant("baseline", "imports only (peak RSS floor)", run_baseline),
]
HARNESS = bench.Harness(__file__, VARIANTS, generate_panel)
SAME_RESULT = ("ours", "ours_no_check", "ours_streaming", "ours_in_memory", "pandas")


# ------------------------------------------------------------------- verification


def _max_abs(a: Any, b: Any, what: str) -> float:
    """Max abs difference; the two must be missing at the same places."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        msg = f"{what}: shapes differ ({x.shape} vs {y.shape})"
        raise AssertionError(msg)
    if not np.array_equal(np.isnan(x), np.isnan(y)):
        msg = f"{what}: missing at different places ({np.isnan(x).sum()} vs {np.isnan(y).sum()})"
        raise AssertionError(msg)
    diff = np.abs(x - y)
    return float(np.nanmax(diff)) if diff.size and not np.isnan(diff).all() else 0.0


def _mismatches(a: Any, b: Any, what: str) -> float:
    """Number of rows whose buckets differ (missing in one and not the other counts)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        msg = f"{what}: {x.shape[0]} rows vs {y.shape[0]}"
        raise AssertionError(msg)
    same = (x == y) | (np.isnan(x) & np.isnan(y))
    return float((~same).sum())


def _returns_frame(pandas_rets: Any) -> pl.DataFrame:
    """pandas' (date, bucket)-indexed returns as a Polars frame keyed like ours."""
    flat = pandas_rets.reset_index()
    return pl.DataFrame(
        {
            "date": pl.Series(flat["date"].to_numpy()).cast(pl.Date),
            BUCKET: flat["bucket"].to_numpy().astype(np.int32),
            "ret": flat["ret"].to_numpy(),
            "n_assets": flat["n_assets"].to_numpy(),
            "weight_sum": flat["weight_sum"].to_numpy(),
        }
    )


def _ic_frame(series: Any, name: str = "ic") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "date": pl.Series(series.index.to_numpy()).cast(pl.Date),
            name: series.to_numpy(dtype=float),
        }
    )


def _compare_returns(mine: pl.DataFrame, theirs: pl.DataFrame, what: str) -> dict[str, float]:
    """Ours and a reference on the same (date, bucket) keys: returns, counts, weights."""
    keys = ["date", BUCKET]
    mine = mine.filter(pl.col("n_assets") > 0).sort(keys)
    theirs = theirs.sort(keys)
    if not mine.select(keys).equals(theirs.select(keys)):
        msg = f"{what}: (date, bucket) keys differ ({mine.height} vs {theirs.height} rows)"
        raise AssertionError(msg)
    return {
        f"{what}: quintile returns": _max_abs(mine["return"], theirs["ret"], f"{what} ret"),
        f"{what}: n_assets": _max_abs(mine["n_assets"], theirs["n_assets"], f"{what} n"),
        f"{what}: weight_sum (relative)": _max_abs(
            mine["weight_sum"] / theirs["weight_sum"], np.ones(theirs.height), f"{what} w"
        ),
    }


def _compare_ic(
    mine: pl.DataFrame, theirs: pl.DataFrame, what: str, *, every_date: bool = True
) -> float:
    """IC on the reference's dates; with ``every_date``, ours must be null on the others."""
    extra = mine.join(theirs, on="date", how="anti")
    if every_date and extra["ic"].null_count() != extra.height:
        msg = f"{what}: ours has an IC on {extra.height} dates the reference has none for"
        raise AssertionError(msg)
    joined = theirs.join(mine.select("date", pl.col("ic").alias("ours")), on="date", how="left")
    return _max_abs(joined["ours"], joined["ic"], what)


def verify(path: Path, tolerance: float, before: dt.date) -> dict[str, Any]:
    """Compare ours with pandas (every row and date) and alphalens (dates < ``before``)."""
    checks: dict[str, float] = {}
    lf = pl.scan_parquet(path)
    mine = ours(path)
    assert mine.returns is not None
    assert mine.ic is not None
    keys = ["date", BUCKET]
    engines: tuple[Engine, ...] = ("streaming", "in-memory")
    for engine in engines:
        other = ours(path, engine=engine)
        assert other.returns is not None
        assert other.ic is not None
        a, b = other.returns.sort(keys), mine.returns.sort(keys)
        if not (a.select(keys).equals(b.select(keys)) and other.ic["date"].equals(mine.ic["date"])):
            msg = f"engine={engine}: the output keys differ from the default engine's"
            raise AssertionError(msg)
        checks[f"engine={engine} vs default: returns and IC"] = max(
            _max_abs(a["return"], b["return"], f"{engine} returns"),
            _max_abs(other.ic["ic"], mine.ic["ic"], f"{engine} IC"),
        )

    # Buckets, row by row (the transform keeps the rows and their order).
    bucketed = assign_buckets(lf, "signal", n=N_BUCKETS).collect()
    if not bucketed.select(COLUMNS).equals(lf.select(COLUMNS).collect()):
        msg = "ours: assign_buckets changed the rows or their order"
        raise AssertionError(msg)
    df = read_pandas(path, None)
    ours_b = bucketed[BUCKET].cast(pl.Float64).fill_null(np.nan).to_numpy()
    vec_b = pandas_buckets(df)
    checks["buckets: rows differing from pandas groupby.quantile breakpoints"] = _mismatches(
        ours_b, vec_b, "pandas buckets"
    )
    checks["buckets: rows differing from pandas groupby.transform(qcut)"] = _mismatches(
        ours_b, pandas_qcut_buckets(df), "qcut buckets"
    )
    checks |= _compare_returns(mine.returns, _returns_frame(pandas_returns(df, vec_b)), "pandas")
    checks["pandas: IC (groupby.apply corr spearman)"] = _compare_ic(
        mine.ic, _ic_frame(pandas_ic(df)), "pandas IC"
    )
    checks["pandas: IC (groupby.rank + demeaned sums)"] = _compare_ic(
        mine.ic, _ic_frame(pandas_rank_ic(df)), "pandas rank IC"
    )
    del df

    # alphalens on the first dates, on its universe (finite signal and forward return).
    factor_data, al_ic, al_mean = alphalens_run(path, before)
    universe = _scan(path, before).filter(
        pl.col("signal").is_not_null() & pl.col("fwd_ret_1").is_not_null()
    )
    sub = assign_buckets(universe, "signal", n=N_BUCKETS).collect()
    al_q = factor_data["factor_quantile"].to_numpy(dtype=float)
    n_dates = factor_data.index.get_level_values("date").nunique()
    label = f"alphalens ({n_dates} dates)"
    checks[f"{label}: rows with a different quintile"] = _mismatches(
        sub[BUCKET].cast(pl.Float64).to_numpy(), al_q, "alphalens buckets"
    )
    ew = (
        portfolio_returns(sub, BUCKET, "fwd_ret_1")
        .filter(pl.col("n_assets") > 0)
        .sort("date", BUCKET)
    )
    al = al_mean.reset_index()
    al_ret = pl.DataFrame(
        {
            "date": pl.Series(al["date"].to_numpy()).cast(pl.Date),
            BUCKET: al["factor_quantile"].to_numpy().astype(np.int32),
            "al": al["1D"].to_numpy(dtype=float),
        }
    ).sort("date", BUCKET)
    if not ew.select("date", BUCKET).equals(al_ret.select("date", BUCKET)):
        msg = f"alphalens: (date, quintile) keys differ ({ew.height} vs {al_ret.height})"
        raise AssertionError(msg)
    checks[f"{label}: equal-weighted quintile returns"] = _max_abs(
        ew["return"], al_ret["al"], "alphalens returns"
    )
    checks[f"{label}: IC"] = _compare_ic(
        mine.ic, _ic_frame(al_ic["1D"]), "alphalens IC", every_date=False
    )
    bench.check_tolerance(checks, tolerance)

    ic = mine.ic["ic"].drop_nulls()
    stats = {
        "mean_ic": float(ic.mean()),  # type: ignore[arg-type]
        "ic_t": float(ic.mean() / ic.std() * np.sqrt(ic.len())),  # type: ignore[operator]
        "null_buckets": float(bucketed[BUCKET].null_count() / bucketed.height),
    }
    return {"checks": checks, "stats": stats}


# ------------------------------------------------------------------ subprocesses


def child(args: argparse.Namespace) -> int:
    """The work of a child process: generate, verify, or run one variant once.

    The checksum of a variant's result is computed after the clock stops.
    """
    before = dt.date.fromisoformat(args.before) if args.before else None
    return HARNESS.child(
        args,
        verify=lambda: verify(args.path, args.tolerance, before),  # type: ignore[arg-type]
        run=lambda v: bench.timed(
            lambda: v.fn(args.path, before), lambda out: checksum(v.name, out)
        ),
    )


def cross_check(path: Path, tolerance: float, before: dt.date) -> dict[str, Any]:
    print("cross-checking polars_factors against pandas and alphalens ...", flush=True)
    out = HARNESS.spawn(
        "--child",
        "verify",
        "--path",
        str(path),
        "--tolerance",
        str(tolerance),
        "--before",
        before.isoformat(),
    )
    for k, v in out["checks"].items():
        print(f"  {k}: {v:.1e}", flush=True)
    print("  " + ", ".join(f"{k} {v:.4f}" for k, v in out["stats"].items()), flush=True)
    return out


# -------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Setup:
    shape: tuple[int, int]
    sub_dates: int
    mb: float
    repeats: int
    stats: dict[str, float]


def render(
    results: dict[str, list[bench.Run]],
    *,
    setup: Setup,
    checks: dict[str, float],
    info: dict[str, str],
    conditions: str,
) -> str:
    n_dates, n_assets = setup.shape
    scale = n_dates / setup.sub_dates
    full_s = HARNESS.scaled_best(results, scale)
    peak = bench.peaks(results)
    st = setup.stats
    lines = [
        (
            f"Panel: {n_dates:,} dates x {n_assets:,} assets = {n_dates * n_assets:,} rows, "
            "sorted by date then asset; date, asset (Int32), signal (per-asset AR(1), "
            f"persistence {RHO}), mcap (lognormal, compounded with the returns), ret, "
            f"fwd_ret_1 = market + vol x ({IC_LOAD} x signal + noise) (next day's return); "
            f"null shares: signal {NULL_SIGNAL:.1%}, returns {NULL_RET:.1%}, mcap "
            f"{NULL_MCAP:.1%}; the last date has no forward return. Mean daily rank IC "
            f"{st['mean_ic']:.4f} (t = {st['ic_t']:.1f}). Parquet {setup.mb:,.0f} MB."
        ),
        "",
        "Checked first (max abs difference unless stated; row counts must be 0):",
        "",
        *bench.check_lines(checks),
        "",
        (
            f"Best of {setup.repeats} fresh processes (variants interleaved); wall and CPU "
            "time cover reading the file and computing the results in memory, not the "
            "imports. CPU = user + system time of the fastest run. Peak RSS = max over the "
            "runs of the process's ru_maxrss, imports included (see `baseline`). **Rows "
            f"marked * were timed on the first {setup.sub_dates:,} dates only**; their "
            f"full-panel time is the measured time x {scale:g} (alphalens loops over dates "
            "in Python: linear in the number of dates) and their peak RSS is that of the "
            "subset. alphalens computes equal-weighted quintile returns (it has no value "
            "weighting), ours and pandas value-weighted ones."
        ),
        "",
        (
            "| variant | what | dates timed | best wall (s) | all runs (s) | CPU user + sys (s) "
            "| full-panel wall (s) | x IO floor (a) | x slower than ours | peak RSS (MB) |"
        ),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += HARNESS.scaled_rows(results, n_all=n_dates, n_subset=setup.sub_dates)

    mine = full_s["ours"]
    vs_pd = full_s["pandas"] / mine
    vs_qcut = full_s["pandas_qcut"] / mine
    vs_al = full_s["alphalens"] / mine
    lines += [
        "",
        "Goals:",
        "",
        bench.goal("pandas / ours", round(vs_pd, 1), ">= 20x", met=vs_pd >= 20),
        f"- pandas with `qcut` buckets / ours: **{vs_qcut:.1f}**",
        bench.goal("alphalens (scaled) / ours", round(vs_al, 1), ">= 20x", met=vs_al >= 20),
        (
            f"- peak RSS of ours: **{peak['ours']:,.0f} MB** (pandas "
            f"{peak['pandas']:,.0f} MB; IO floor {peak['io_floor']:,.0f} MB; imports "
            f"alone {peak['baseline']:,.0f} MB)"
        ),
    ]
    return bench.report(lines, info, conditions)


# ---------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench.parser(__doc__, tolerance=1e-10, blas=True, shape=True)
    parser.add_argument(
        "--small",
        action="store_true",
        help="smoke run: 300 days x 500 assets, alphalens on 100 dates; prints only",
    )
    parser.add_argument(
        "--shape",
        type=int,
        nargs=2,
        metavar=("DATES", "ASSETS"),
        default=None,
        help="panel size (default 5000 5000; another size prints only unless --output)",
    )
    parser.add_argument(
        "--sub-dates", type=int, default=None, help="dates alphalens is timed on (scaled)"
    )
    parser.add_argument(
        "--variants", nargs="+", default=None, help="time only these (default: all)"
    )
    parser.add_argument("--before", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child(args)

    default_shape, default_sub = (SMALL_SHAPE, SMALL_SUB) if args.small else (FULL_SHAPE, FULL_SUB)
    shape: tuple[int, int] = (args.shape[0], args.shape[1]) if args.shape else default_shape
    sub_dates = min(args.sub_dates or default_sub, shape[0] - 1)
    names = args.variants or [v.name for v in VARIANTS]
    unknown = sorted(set(names) - set(HARNESS.by_name))
    if unknown:
        msg = f"unknown variants {unknown}; choose from {list(HARNESS.by_name)}"
        raise SystemExit(msg)
    partial = set(names) != set(HARNESS.by_name)
    official = not args.small and shape == FULL_SHAPE and not partial
    output = args.output if args.output is not None else (bench.RESULTS if official else None)
    if partial:
        output = None  # a partial table never replaces the full one
    blas = bench.set_blas_threads(args.blas_threads)  # inherited by every child
    path = HARNESS.ensure_panel(panel_path(*shape), shape, regenerate=args.regenerate)
    before = panel_dates(sub_dates + 1)[-1]  # the subset: dates before this one

    verified = cross_check(path, args.tolerance, before)

    conditions = bench.Conditions()
    subset_args = ["--before", before.isoformat()]
    results = HARNESS.measure(names, path, args.repeats, subset_args=subset_args, width=18)
    if "ours" in results:
        bench.check_checksums(
            results, SAME_RESULT, 1e-9 * shape[0], "sum of quintile returns and ICs"
        )
    subset = [n for n in names if HARNESS.by_name[n].subset]
    bench.check_counts(results, subset, sub_dates, "dates")
    during = f"{conditions.describe()}; BLAS threads in every child: {blas}"
    if partial:
        for name, runs in results.items():
            best = min(runs, key=lambda r: r.seconds)
            print(f"{name:18s} best {best.seconds:.3f} s, peak {best.peak_mb:,.0f} MB")
        return 0

    setup = Setup(
        shape=shape,
        sub_dates=sub_dates,
        mb=path.stat().st_size / 1024**2,
        repeats=args.repeats,
        stats=verified["stats"],
    )
    info = bench.machine_info(VERSIONS, gpu=True)
    table = render(results, setup=setup, checks=verified["checks"], info=info, conditions=during)
    header = (
        "## `portfolios.py`: quintile buckets, value-weighted quintile returns, daily rank IC\n\n"
    )
    bench.publish(table, output, "portfolios", header)
    return 0


if __name__ == "__main__":
    sys.exit(main())
