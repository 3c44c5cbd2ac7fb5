"""portfolio_returns, long_short, quantile_returns: pandas/numpy oracles, alphalens, hand
cases, Hypothesis properties, engines and bad input."""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import polars_factors as pf
from polars_factors.portfolio import (
    assign_buckets,
    long_short,
    portfolio_returns,
    quantile_returns,
)
from tests.conftest import DATA_DIR

# The panels hold infinite values on purpose: the warning that they are treated as
# missing is tested in tests/bad_inputs/test_consistency.py.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*infinite values were treated as missing:polars_factors.DataLossWarning"
)

PRICES = DATA_DIR / "sp500_5yr" / "prices.parquet"
ENGINES = ["eager", "in-memory", "streaming"]
TOL = {"rel_tol": 1e-10, "abs_tol": 1e-13}


def make_data(rng: np.random.Generator, *, n_dates: int = 9, n_assets: int = 40) -> pl.DataFrame:
    """Ragged panel with missing/NaN/inf returns and weights, zero weights, tied signals,
    integer and string buckets with nulls, and a date whose returns are all missing."""
    rows = []
    for d in range(n_dates):
        k = 1 if d == 1 else int(rng.integers(n_assets // 2, n_assets + 1))
        rows += [(d, int(a)) for a in np.sort(rng.choice(n_assets, size=k, replace=False))]
    n = len(rows)

    def messy(values: np.ndarray, *, zero: float = 0.0) -> np.ndarray:
        u = rng.random(n)
        values = values.copy()
        values[u < 0.03] = np.nan
        values[(u >= 0.03) & (u < 0.04)] = np.inf
        values[(u >= 0.04) & (u < 0.04 + zero)] = 0.0
        return values

    def nulls(frac: float) -> pl.Series:
        return pl.Series(rng.random(n) < frac)

    signal = rng.normal(size=n)
    signal[rng.random(n) < 0.1] = 0.25  # ties
    dates = np.array([r[0] for r in rows])
    df = (
        pl.DataFrame(
            {
                "date": dates,
                "asset": [f"A{r[1]:03d}" for r in rows],
                "sector": [f"S{r[1] % 3}" for r in rows],
                "signal": signal,
                "ret": messy(rng.normal(0.0, 0.05, n)),
                "fwd_1": messy(rng.normal(0.0, 0.02, n)),
                "fwd_5": messy(rng.normal(0.0, 0.05, n)),
                "mcap": messy(rng.lognormal(1.0, 1.2, n), zero=0.03),
                "b1": rng.integers(1, 4, n),
                "b2": rng.choice(["L", "H"], n),
            }
        )
        .with_columns(
            pl.col("b1").cast(pl.Int32),
            pl.when(pl.col("date") == 3).then(None).otherwise(pl.col("ret")).alias("ret"),
        )
        .with_columns(
            *(
                pl.when(nulls(0.05)).then(None).otherwise(pl.col(c)).alias(c)
                for c in ("signal", "ret", "fwd_1", "fwd_5", "mcap", "b1", "b2")
            ),
        )
    )
    return df.sample(fraction=1.0, shuffle=True, seed=int(rng.integers(1 << 31)))


@pytest.fixture
def data(rng: np.random.Generator) -> pl.DataFrame:
    return make_data(rng)


def collect(fn, df: pl.DataFrame, engine: str):
    """Run ``fn`` on the eager frame, or on a LazyFrame collected with ``engine``."""
    if engine == "eager":
        out = fn(df)
        assert isinstance(out, pl.DataFrame)
        return out
    out = fn(df.lazy())
    assert isinstance(out, pl.LazyFrame)
    return out.collect(engine=engine)


# ------------------------------------------------------------------------- oracles


def approx_rows(rows: list) -> list:
    """Rows (tuples) or values: floats compared to 1e-12, anything else exactly."""

    def approx(v):
        if isinstance(v, tuple):
            return tuple(approx(x) for x in v)
        return pytest.approx(v, rel=1e-12, abs=1e-15) if isinstance(v, float) else v

    return [approx(v) for v in rows]


def finite(values) -> np.ndarray:
    return np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)


def weight_ok(pdf: pd.DataFrame, weights: str | None) -> tuple[np.ndarray, np.ndarray]:
    if weights is None:
        return np.ones(len(pdf), bool), np.ones(len(pdf))
    w = finite(pdf[weights])
    return np.isfinite(w) & (w > 0), w


def np_buckets(values: np.ndarray, fractions: Sequence[float]) -> np.ndarray:
    """The contract rule: linear quantile breakpoints, 1 + #(breakpoints < value)."""
    out = np.full(len(values), np.nan)
    ok = np.isfinite(values)
    if not ok.any():
        return out
    v = np.sort(values[ok])
    bps = []
    for q in fractions:
        h = q * (len(v) - 1)
        if abs(h - round(h)) <= 1e-12 * max(1.0, h):  # snap round-off positions
            h = float(round(h))
        lo, hi = math.floor(h), math.ceil(h)
        bps.append(v[lo] + (h - lo) * (v[hi] - v[lo]))
    out[ok] = 1 + (np.array(bps)[None, :] < values[ok][:, None]).sum(axis=1)
    return out


def wmean(r: np.ndarray, w: np.ndarray) -> float | None:
    return float((w * r).sum() / w.sum()) if len(r) else None


def oracle_portfolio(
    df: pl.DataFrame, buckets: list[str], weights: str | None, by: list[str]
) -> pl.DataFrame:
    pdf = df.to_pandas()
    r = finite(pdf["ret"])
    ok, w = weight_ok(pdf, weights)
    ok &= np.isfinite(r) & pdf[buckets].notna().all(axis=1).to_numpy()
    sub = pdf.loc[ok, [*by, *buckets]].assign(r=r[ok], w=w[ok], wr=w[ok] * r[ok])
    g = sub.groupby([*by, *buckets], sort=True)
    res = pd.DataFrame(
        {
            "return": g["r"].mean() if weights is None else g["wr"].sum() / g["w"].sum(),
            "n_assets": g.size(),
            "weight_sum": g["w"].sum(),
        }
    ).reset_index()
    return pl.from_pandas(res).with_columns(
        *(pl.col(c).cast(df.schema[c]) for c in [*by, *buckets]),
        pl.col("n_assets").cast(pl.UInt32),
        pl.col("return", "weight_sum").cast(pl.Float64),
    )


def oracle_long_short(
    df: pl.DataFrame,
    *,
    method: str,
    weights: str | None,
    by: list[str],
    fractions: Sequence[float] = (0.2, 0.4, 0.6, 0.8),
    returns: str = "ret",
) -> pl.DataFrame:
    pdf = df.to_pandas()
    out = []
    for key, g in pdf.groupby(by, sort=True, dropna=False):
        s, r = finite(g["signal"]), finite(g[returns])
        w_ok, w = weight_ok(g, weights)
        use = np.isfinite(r) & w_ok
        if method == "spread":
            b = np_buckets(s, fractions)
            k = len(fractions) + 1
            top, bot = use & (b == k), use & (b == 1)
            long, short = wmean(r[top], w[top]), wmean(r[bot], w[bot])
            ls = None if long is None or short is None else long - short
        else:
            use &= np.isfinite(s)
            m, s, r = w[use], s[use], r[use]
            mean = (m * s).sum() / m.sum() if use.any() else 0.0
            d = m * (s - mean)
            gross = np.abs(d).sum()
            if use.any() and s.max() > s.min():  # a constant signal has no portfolio
                pos, neg = d > 0, d < 0
                long = float((d[pos] * r[pos]).sum() / d[pos].sum())
                short = float((d[neg] * r[neg]).sum() / d[neg].sum())
                ls = float((d * r).sum() / gross)
            else:
                long = short = ls = None
        out.append((*np.atleast_1d(key), long, short, ls))
    schema = {**{c: df.schema[c] for c in by}, "long": pl.Float64, "short": pl.Float64}
    return pl.DataFrame(out, schema={**schema, "long_short": pl.Float64}, orient="row")


def oracle_quantiles(
    df: pl.DataFrame, cols: list[str], *, n: int, weights: str | None, by: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    pdf = df.to_pandas()
    fractions = [i / n for i in range(1, n)]
    rows, spreads = [], []
    for key, g in pdf.groupby(by, sort=True, dropna=False):
        b = np_buckets(finite(g["signal"]), fractions)
        w_ok, w = weight_ok(g, weights)
        for c in cols:
            r = finite(g[c])
            means = {}
            for q in range(1, n + 1):
                use = (b == q) & np.isfinite(r) & w_ok
                if use.any():
                    means[q] = wmean(r[use], w[use])
                    rows.append((*np.atleast_1d(key), c, q, means[q], int(use.sum())))
            if means:
                top, bot = means.get(n), means.get(1)
                spread = None if top is None or bot is None else top - bot
                spreads.append((*np.atleast_1d(key), c, top, bot, spread))
    keys = {c: df.schema[c] for c in by}
    by_date = pl.DataFrame(
        rows,
        schema={
            **keys,
            "forward_returns": pl.String,
            "quantile": pl.Int32,
            "mean_return": pl.Float64,
            "n_assets": pl.UInt32,
        },
        orient="row",
    )
    spread = pl.DataFrame(
        spreads,
        schema={
            **keys,
            "forward_returns": pl.String,
            "top": pl.Float64,
            "bottom": pl.Float64,
            "spread": pl.Float64,
        },
        orient="row",
    )
    return by_date, spread


# --------------------------------------------------------------- portfolio_returns


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("weights", [None, "mcap"])
@pytest.mark.parametrize("buckets", [["b1"], ["b1", "b2"]], ids=["single", "double"])
def test_portfolio_returns_match_pandas(data, engine, weights, buckets):
    out = collect(lambda f: portfolio_returns(f, buckets, weights=weights), data, engine)
    expected = oracle_portfolio(data, buckets, weights, ["date"])
    assert out.columns == ["date", *buckets, "return", "n_assets", "weight_sum"]
    assert_frame_equal(out, expected, **TOL)


def test_portfolio_returns_by_several_keys(data):
    clean = data.filter(pl.col("mcap") >= 0)
    out = portfolio_returns(clean, "b2", weights="mcap", by=["date", "sector"])
    assert_frame_equal(out, oracle_portfolio(clean, ["b2"], "mcap", ["date", "sector"]), **TOL)


def test_portfolio_returns_hand_double_sort():
    df = pl.DataFrame(
        {
            "date": [1] * 9 + [2, 2],
            "size": ["S", "S", "B", "B", "B", "S", "S", "B", "S", "S", "B"],
            "bm": ["L", "H", "L", "H", "H", "L", None, "L", "H", "L", "H"],
            "ret": [0.01, 0.02, -0.01, 0.03, 0.05, 0.05, 0.5, float("nan"), 0.1, None, None],
            "mcap": [1.0, 3.0, 10.0, 10.0, 30.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0],
        }
    )
    ew = portfolio_returns(df, ["size", "bm"])
    assert ew.rows() == approx_rows(
        [
            (1, "B", "H", 0.04, 2, 2.0),
            (1, "B", "L", -0.01, 1, 1.0),
            (1, "S", "H", 0.06, 2, 2.0),
            (1, "S", "L", 0.03, 2, 2.0),
        ]
    )
    vw = portfolio_returns(df, ["size", "bm"], weights="mcap")
    assert vw.rows() == approx_rows(
        [
            (1, "B", "H", 0.045, 2, 40.0),
            (1, "B", "L", -0.01, 1, 10.0),
            (1, "S", "H", 0.02, 1, 3.0),  # the zero-weight row is left out
            (1, "S", "L", 0.03, 2, 2.0),
        ]
    )
    assert ew.schema == pl.Schema(
        {
            "date": pl.Int64,
            "size": pl.String,
            "bm": pl.String,
            "return": pl.Float64,
            "n_assets": pl.UInt32,
            "weight_sum": pl.Float64,
        }
    )


def test_portfolio_returns_excludes_missing_and_keeps_empty_schema():
    df = pl.DataFrame(
        {
            "date": [1, 1, 1, 1, 1, 1],
            "b": [1.0, 1.0, 1.0, float("nan"), None, 1.0],
            "ret": [0.01, float("inf"), 0.03, 0.5, 0.5, 0.02],
            "w": [1.0, 1.0, float("nan"), 1.0, 1.0, float("inf")],
        }
    )
    assert portfolio_returns(df, "b").rows() == [(1, 1.0, 0.02, 3, 3.0)]
    assert portfolio_returns(df, "b", weights="w").rows() == [(1, 1.0, 0.01, 1, 1.0)]
    empty = portfolio_returns(df.filter(pl.col("ret") > 1), "b")
    assert empty.height == 0
    assert empty.columns == ["date", "b", "return", "n_assets", "weight_sum"]


def test_negative_weights():
    df = pl.DataFrame(
        {"date": [1, 1, 1], "b": [1, 1, 1], "ret": [0.01, 0.02, 0.04], "w": [1.0, -2.0, 1.0]}
    )
    with pytest.raises(pf.WeightError, match=r"'w' has 1 negative values"):
        portfolio_returns(df, "b", weights="w")
    plan = portfolio_returns(df.lazy(), "b", weights="w")  # checked inside the plan
    for engine in ("in-memory", "streaming"):
        with pytest.raises(pf.WeightError, match=r"'w' has 1 negative values"):
            plan.collect(engine=engine)
    with pytest.raises(pf.WeightError):
        long_short(df.with_columns(s=pl.col("ret")), "s", weights="w", n=2)
    with pytest.raises(pf.WeightError):
        quantile_returns(df.with_columns(s=pl.col("ret")), "s", "ret", weights="w", n=2)
    # check_weights=False: negative weights are left out like zero weights.
    out = portfolio_returns(df, "b", weights="w", check_weights=False)
    assert out.rows() == [(1, 1, pytest.approx(0.025), 2, 2.0)]


def test_weight_check_reads_only_the_weights_column():
    lf = pl.LazyFrame(
        {"date": [1, 1], "b": [1, 1], "ret": [0.01, 0.03], "w": [1.0, 3.0], "raw": ["x", "y"]}
    ).with_columns(boom=pl.col("raw").str.to_integer())  # fails if ever computed
    out = portfolio_returns(lf, "b", weights="w")
    assert out.collect().rows() == [(1, 1, pytest.approx(0.025), 2, 4.0)]


# ---------------------------------------------------------------------- long_short


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("weights", [None, "mcap"])
@pytest.mark.parametrize("method", ["spread", "signal_weighted"])
def test_long_short_match_oracle(data, engine, weights, method):
    out = collect(lambda f: long_short(f, "signal", weights=weights, method=method), data, engine)
    expected = oracle_long_short(data, method=method, weights=weights, by=["date"])
    assert out.columns == ["date", "long", "short", "long_short"]
    assert_frame_equal(out, expected, **TOL)
    assert out.filter(pl.col("date") == 3)["long_short"].to_list() == [None]  # no returns


def test_long_short_breakpoints_and_by(data):
    out = long_short(data, "signal", breakpoints=[0.3, 0.7], by=["date", "sector"])
    expected = oracle_long_short(
        data, method="spread", weights=None, by=["date", "sector"], fractions=[0.3, 0.7]
    )
    assert_frame_equal(out, expected, **TOL)


def test_spread_is_top_minus_bottom_portfolio(data):
    ls = long_short(data, "signal", n=3, weights="mcap")
    sorted_ = assign_buckets(data, "signal", n=3, name="q", check_keys=False)
    ports = portfolio_returns(sorted_, "q", weights="mcap")
    legs = ports.group_by("date").agg(
        pl.col("return").filter(pl.col("q") == 3).first().alias("long"),
        pl.col("return").filter(pl.col("q") == 1).first().alias("short"),
    )
    joined = ls.join(legs, on="date", how="left", suffix="_p")
    assert_frame_equal(
        joined.select("long", "short"),
        joined.select(pl.col("long_p").alias("long"), pl.col("short_p").alias("short")),
        **TOL,
    )
    assert_frame_equal(
        ls.select("long_short"), ls.select((pl.col("long") - pl.col("short")).alias("long_short"))
    )


def test_long_short_hand():
    df = pl.DataFrame(
        {
            "date": [1] * 4 + [2] * 3,
            "s": [1.0, 1.0, 1.0, 2.0, 5.0, 5.0, 5.0],
            "ret": [0.01, 0.02, 0.03, 0.10, 0.01, 0.02, 0.03],
        }
    )
    # Ties at the median go to the lower bucket: three rows short, one long.
    spread = long_short(df, "s", n=2)
    assert spread.rows() == [
        (1, 0.10, pytest.approx(0.02), pytest.approx(0.08)),
        (2, None, 0.02, None),
    ]
    # Demeaned signal (-0.25, -0.25, -0.25, 0.75) / 1.5: the legs hold 1/2 each.
    sw = long_short(df, "s", method="signal_weighted")
    assert sw.rows() == [
        (1, pytest.approx(0.10), pytest.approx(0.02), pytest.approx(0.04)),
        (2, None, None, None),  # a constant signal has no portfolio
    ]


def test_signal_weighted_nets_to_zero_around_a_large_level():
    # The mean of these signals is rounded to ~1e-13, next to deviations of 1e-6: a
    # naive demeaning leaves a net exposure of ~1e-7.
    s = [1000.0, 1000.0, 1000.000001, 1000.0, 999.999999, 1000.0, 1000.000001]
    df = pl.DataFrame({"date": [1] * 7, "s": s, "one": [1.0] * 7})
    long, short, net = long_short(df, "s", "one", method="signal_weighted").row(0)[1:]
    assert [long, short] == approx_rows([1.0, 1.0])
    assert abs(net) < 1e-15


def test_signal_weighted_value_weights_hand():
    df = pl.DataFrame(
        {"date": [1, 1, 1], "s": [0.0, 1.0, 2.0], "ret": [0.01, 0.02, 0.06], "w": [1.0, 1.0, 2.0]}
    )
    # Weighted mean 1.25; d = w (s - 1.25) = (-1.25, -0.25, 1.5); gross 3.
    out = long_short(df, "s", method="signal_weighted", weights="w")
    expected = (
        0.06,
        (1.25 * 0.01 + 0.25 * 0.02) / 1.5,
        (-1.25 * 0.01 - 0.25 * 0.02 + 1.5 * 0.06) / 3,
    )
    assert out.row(0)[1:] == pytest.approx(expected)


# ----------------------------------------------------------------- quantile_returns


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("weights", [None, "mcap"])
def test_quantile_returns_match_oracle(data, engine, weights):
    def fn(f):
        return quantile_returns(f, "signal", ["fwd_1", "fwd_5"], n=4, weights=weights)

    if engine == "eager":
        res = fn(data)
        assert isinstance(res.by_date, pl.DataFrame)
    else:
        lazy = fn(data.lazy())
        assert isinstance(lazy.by_date, pl.LazyFrame)
        res = lazy.collect(engine=engine)
    by_date, spread = oracle_quantiles(data, ["fwd_1", "fwd_5"], n=4, weights=weights, by=["date"])
    assert_frame_equal(res.by_date, by_date, **TOL)
    assert_frame_equal(res.spread, spread, **TOL)

    summary = res.summary()
    pdf = by_date.to_pandas()
    stats = pdf.groupby(["forward_returns", "quantile"], sort=False)["mean_return"].agg(
        ["mean", "std", "count"]
    )
    got = summary.to_pandas().set_index(["forward_returns", "quantile"])
    np.testing.assert_allclose(got["mean_return"], stats.loc[got.index, "mean"], rtol=1e-12)
    np.testing.assert_allclose(
        got["std_error"], stats.loc[got.index, "std"] / np.sqrt(stats.loc[got.index, "count"])
    )
    assert summary["forward_returns"].to_list()[:4] == ["fwd_1"] * 4  # given order
    spread_summary = res.spread_summary()
    assert spread_summary.columns == [
        "forward_returns", "mean_spread", "std_error", "t_stat", "n_periods",
    ]  # fmt: skip
    expected_mean = spread.group_by("forward_returns").agg(pl.col("spread").mean())
    assert dict(spread_summary.select("forward_returns", "mean_spread").rows()) == pytest.approx(
        dict(expected_mean.rows())
    )


def test_quantile_returns_by_sector(data):
    res = quantile_returns(data, "signal", "fwd_1", n=3, by=["date", "sector"])
    by_date, _ = oracle_quantiles(data, ["fwd_1"], n=3, weights=None, by=["date", "sector"])
    assert_frame_equal(res.by_date, by_date, **TOL)
    summary = res.summary()
    assert summary.columns[:3] == ["sector", "forward_returns", "quantile"]
    assert summary.height == 3 * 3
    expected = by_date.group_by("sector", "quantile").agg(pl.col("mean_return").mean())
    got = summary.select("sector", "quantile", "mean_return")
    assert_frame_equal(got, expected.sort("sector", "quantile"), **TOL)


def test_date_names_the_default_group_key(data):
    # a panel keyed by "month": date="month" gives the results of the "date" panel
    month = data.rename({"date": "month"})
    for got, want in [
        (
            portfolio_returns(month, "b1", weights="mcap", date="month"),
            portfolio_returns(data, "b1", weights="mcap"),
        ),
        (long_short(month, "signal", date="month"), long_short(data, "signal")),
        (
            long_short(month, "signal", method="signal_weighted", date="month"),
            long_short(data, "signal", method="signal_weighted"),
        ),
        (
            quantile_returns(month, "signal", "fwd_1", n=3, date="month").by_date,
            quantile_returns(data, "signal", "fwd_1", n=3).by_date,
        ),
    ]:
        assert_frame_equal(got, want.rename({"date": "month"}))
    res = quantile_returns(month, "signal", "fwd_1", n=3, date="month")
    assert res.by == ["month"]
    # by= still wins over date=
    by_sector = portfolio_returns(data, "b1", by=["date", "sector"], date="month")
    assert_frame_equal(by_sector, portfolio_returns(data, "b1", by=["date", "sector"]))
    with pytest.raises(pf.ColumnNotFoundError, match="group key 'date'"):
        portfolio_returns(month, "b1")
    with pytest.raises(TypeError, match="`date` must be a column name"):
        long_short(data, "signal", date=1)  # type: ignore[arg-type]


def test_quantile_returns_hand():
    df = pl.DataFrame(
        {
            "date": [1] * 4 + [2] * 4,
            "s": [1.0, 2.0, 3.0, 4.0, 4.0, 3.0, None, 1.0],
            "f1": [0.01, 0.02, 0.03, 0.04, 0.02, 0.01, 0.5, -0.01],
            "f5": [0.10, None, 0.30, 0.40, 0.0, 0.0, 0.0, 0.0],
        }
    )
    res = quantile_returns(df, "s", ["f5", "f1"], n=2)
    assert res.by_date.rows() == approx_rows(
        [
            (1, "f5", 1, 0.10, 1),
            (1, "f5", 2, 0.35, 2),
            (1, "f1", 1, 0.015, 2),
            (1, "f1", 2, 0.035, 2),
            (2, "f5", 1, 0.0, 2),  # median of (1, 3, 4) is 3: the tie goes low
            (2, "f5", 2, 0.0, 1),
            (2, "f1", 1, 0.0, 2),
            (2, "f1", 2, 0.02, 1),
        ]
    )
    assert res.spread.rows() == approx_rows(
        [
            (1, "f5", 0.35, 0.10, 0.25),
            (1, "f1", 0.035, 0.015, 0.02),
            (2, "f5", 0.0, 0.0, 0.0),
            (2, "f1", 0.02, 0.0, 0.02),
        ]
    )
    summary = res.spread_summary()
    assert summary.rows() == approx_rows([("f5", 0.125, 0.125, 1.0, 2), ("f1", 0.02, 0.0, None, 2)])


def _alphalens_factor_data(al, prices: pd.DataFrame, factor: pd.Series, periods=(1, 5)):
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return al.utils.get_clean_factor_and_forward_returns(
            factor, prices, quantiles=5, periods=periods
        )


def _compare_with_alphalens(al, fd: pd.DataFrame) -> None:
    cols = [c for c in fd.columns if c.endswith("D")]
    panel = pl.from_pandas(fd.reset_index())
    res = quantile_returns(panel, "factor", cols, n=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        by_date, _ = al.performance.mean_return_by_quantile(fd, by_date=True, demeaned=False)
        mean, std_err = al.performance.mean_return_by_quantile(fd, demeaned=False)
        factor_returns = al.performance.factor_returns(fd)

    buckets = assign_buckets(panel, "factor", n=5, check_keys=False)["factor_bucket"]
    assert buckets.to_list() == panel["factor_quantile"].to_list()

    al_by_date = (
        by_date.rename_axis(columns="forward_returns")
        .stack()
        .rename("al")
        .reset_index()
        .rename(columns={"factor_quantile": "quantile"})
    )
    merged = res.by_date.to_pandas().merge(
        al_by_date, on=["date", "quantile", "forward_returns"], how="outer"
    )
    assert len(merged) == len(al_by_date) == res.by_date.height
    np.testing.assert_allclose(merged["mean_return"], merged["al"], rtol=1e-12, atol=1e-15)

    summary = res.summary().to_pandas().set_index(["quantile", "forward_returns"])
    al_mean = mean.rename_axis(columns="forward_returns").stack()
    al_se = std_err.rename_axis(columns="forward_returns").stack()
    np.testing.assert_allclose(summary["mean_return"], al_mean.loc[summary.index], rtol=1e-12)
    np.testing.assert_allclose(summary["std_error"], al_se.loc[summary.index], rtol=1e-10)

    for col in cols:
        ls = long_short(panel, "factor", col, method="signal_weighted")
        np.testing.assert_allclose(
            ls["long_short"].to_numpy(), factor_returns[col].to_numpy(), rtol=1e-10, atol=1e-15
        )


def test_quantile_returns_match_alphalens(rng):
    al = pytest.importorskip("alphalens")
    dates = pd.bdate_range("2021-01-04", periods=45)
    assets = [f"A{i:02d}" for i in range(30)]
    steps = rng.normal(0.0005, 0.02, (len(dates), len(assets)))
    prices = pd.DataFrame(100 * np.exp(np.cumsum(steps, axis=0)), index=dates, columns=assets)
    factor = pd.DataFrame(rng.normal(size=prices.shape), index=dates, columns=assets).stack()
    factor.index.names = ["date", "asset"]
    _compare_with_alphalens(al, _alphalens_factor_data(al, prices, factor))


@pytest.mark.skipif(not PRICES.exists(), reason=f"real data not found at {DATA_DIR}")
def test_quantile_returns_match_alphalens_real_data():
    al = pytest.importorskip("alphalens")
    raw = pl.read_parquet(PRICES).select("date", pl.col("Name").alias("asset"), "close")
    last = raw["date"].unique().sort()[-80:]
    prices = (
        raw.filter(pl.col("date").is_in(last.implode()))
        .pivot("asset", index="date", values="close")
        .sort("date")
        .to_pandas()
        .set_index("date")
    )
    prices.index = pd.DatetimeIndex(prices.index)
    momentum = (prices / prices.shift(20) - 1).iloc[20:].stack()
    momentum.index.names = ["date", "asset"]
    _compare_with_alphalens(al, _alphalens_factor_data(al, prices, momentum))


# -------------------------------------------------------------------- Hypothesis

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
signal_value = st.one_of(
    st.none(),
    st.just(float("nan")),
    st.sampled_from([0.0, 1.0, 2.5]),  # ties
    st.sampled_from([1000.0, 1000.000001, 999.999999]),  # small spread, large level
    st.floats(-1e3, 1e3, allow_nan=False).map(lambda x: round(x, 6)),
)


@st.composite
def signal_panels(draw: st.DrawFn) -> pl.DataFrame:
    dates, signals, weights = [], [], []
    for d in range(draw(st.integers(1, 4))):
        for _ in range(draw(st.integers(1, 15))):
            dates.append(d)
            signals.append(draw(signal_value))
            weights.append(draw(st.one_of(st.none(), st.floats(0.01, 1e3))))
    return pl.DataFrame(
        {"date": dates, "s": signals, "w": weights},
        schema={"date": pl.Int64, "s": pl.Float64, "w": pl.Float64},
    )


@SETTINGS
@given(df=signal_panels(), weighted=st.booleans(), lazy=st.booleans())
def test_signal_weights_net_zero_gross_one(df, weighted, lazy):
    weights = "w" if weighted else None
    # Returns of sign(d_i) give the gross exposure, returns of 1 the net exposure.
    pdf = df.to_pandas()
    sign = np.zeros(len(pdf))
    constant = {}
    for d, g in pdf.groupby("date"):
        use = np.isfinite(g["s"]) & (np.isfinite(g["w"]) if weighted else True)
        m = g["w"][use] if weighted else np.ones(use.sum())
        s = g["s"][use]
        constant[d] = s.nunique() <= 1
        if not constant[d]:
            sign[g.index[use]] = np.sign(m * (s - (m * s).sum() / m.sum()))
    frame = df.with_columns(one=pl.lit(1.0), sign=pl.Series(sign))
    frame = frame.lazy() if lazy else frame

    def run(returns: str) -> pl.DataFrame:
        out = long_short(frame, "s", returns, weights=weights, method="signal_weighted")
        return out.collect(engine="streaming") if lazy else out

    net, gross = run("one"), run("sign")
    assert net["date"].to_list() == sorted(constant)
    for (d, long, short, ls), (_, _, _, g) in zip(net.rows(), gross.rows(), strict=True):
        if constant[d]:
            assert (long, short, ls, g) == (None, None, None, None)
        else:
            # Weights 1e4 apart put the weighted mean next to the heavy rows' values:
            # the net is then ~1e-12 of the gross, not ~1e-16.
            assert ls == pytest.approx(0.0, abs=1e-10)
            assert (long, short) == pytest.approx((1.0, 1.0))
            assert g == pytest.approx(1.0, abs=1e-9)


# Unit-scale generated returns: the units check would warn.
@pytest.mark.filterwarnings("ignore::polars_factors.UnitsWarning")
@SETTINGS
@given(df=signal_panels(), n=st.integers(2, 5), seed=st.integers(0, 2**16))
def test_spread_equals_top_minus_bottom(df, n, seed):
    ret = np.random.default_rng(seed).normal(size=df.height)
    frame = df.with_columns(ret=pl.Series(ret))
    out = long_short(frame.lazy(), "s", n=n, weights="w").collect(engine="streaming")
    assert_frame_equal(out, long_short(frame, "s", n=n, weights="w"), **TOL)
    assert_frame_equal(
        out.select("long_short"),
        out.select((pl.col("long") - pl.col("short")).alias("long_short")),
    )
    ports = portfolio_returns(
        assign_buckets(frame, "s", n=n, name="q", check_keys=False), "q", weights="w"
    )
    for d, long, short, _ in out.rows():
        day = dict(ports.filter(pl.col("date") == d).select("q", "return").rows())
        assert [long, short] == approx_rows([day.get(n), day.get(1)])


# ------------------------------------------------------------------- bad input


PR, LS, QR = portfolio_returns, long_short, quantile_returns
NOT_FOUND, SCHEMA = pf.ColumnNotFoundError, pf.SchemaError


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda df: PR(df, "nope"), NOT_FOUND, "bucket column 'nope'"),
        (lambda df: PR(df, "b1", "rett"), NOT_FOUND, "Did you mean 'ret'"),
        (lambda df: PR(df, "b1", "b2"), SCHEMA, "returns column 'b2' must be numeric"),
        (lambda df: PR(df, "b1", weights="b2"), SCHEMA, "weights column 'b2'"),
        (lambda df: PR(df, "b1", weights="mkt"), NOT_FOUND, "weights column"),
        (lambda df: PR(df, "b1", by="day"), NOT_FOUND, "group key 'day'"),
        (lambda df: PR(df, []), ValueError, "at least one bucket"),
        (lambda df: PR(df, ["b1", "b1"]), ValueError, "more than once"),
        (lambda df: PR(df, "date"), ValueError, "both as group key"),
        (lambda df: PR(df, "b1", "mcap", weights="mcap"), ValueError, "both as"),
        (lambda df: PR(df, "b1", pl.col("ret")), TypeError, "column name"),
        (lambda df: PR(df.rename({"b2": "return"}), "return"), ValueError, "clash"),
        (lambda df: PR(df.to_pandas(), "b1"), TypeError, "polars DataFrame"),
        (lambda df: LS(df, "signal", method="ranked"), ValueError, "unknown method"),
        (lambda df: LS(df, "b2"), SCHEMA, "signal column 'b2'"),
        (lambda df: LS(df, "sig"), NOT_FOUND, "Did you mean 'signal'"),
        (lambda df: LS(df, "signal", n=1), ValueError, "at least 2"),
        (lambda df: LS(df, "signal", n=2.5), TypeError, "`n`"),
        (lambda df: LS(df, "signal", breakpoints=[0.7, 0.3]), ValueError, "increasing"),
        (lambda df: LS(df, "signal", breakpoints=0.5), TypeError, "sequence"),
        (
            lambda df: LS(df, "signal", breakpoints=[0.5], method="signal_weighted"),
            ValueError,
            "only applies to method='spread'",
        ),
        (lambda df: LS(df.rename({"date": "long"}), "signal", by="long"), ValueError, "clash"),
        (lambda df: LS(df, "signal", "signal"), ValueError, "both as signal column"),
        (lambda df: QR(df, "signal", []), ValueError, "at least one column"),
        (lambda df: QR(df, "signal", "fwd_2"), NOT_FOUND, "forward-return column 'fwd_2'"),
        (lambda df: QR(df, "signal", "b2"), SCHEMA, "must be numeric"),
        (lambda df: QR(df, "signal", "fwd_1", n=1), ValueError, "at least 2"),
        (lambda df: QR(df, "signal", "fwd_1", n=True), TypeError, "`n`"),
        (lambda df: QR(df, "signal", "fwd_1", by="signal"), ValueError, "both as"),
        (
            lambda df: QR(df.rename({"sector": "n_assets"}), "s", "fwd_1", by=["date", "n_assets"]),
            ValueError,
            "clash",
        ),
    ],
)
def test_bad_input(data, call, error, match):
    with pytest.raises(error, match=match):
        call(data.with_columns(s=pl.col("signal")))


def test_nested_bucket_column_is_rejected():
    df = pl.DataFrame({"date": [1], "b": [[1, 2]], "ret": [0.1]})
    with pytest.raises(pf.SchemaError, match="must hold labels"):
        portfolio_returns(df, "b")
