"""information_coefficient and turnover against scipy, numpy, alphalens and set loops."""

from __future__ import annotations

import math
import warnings
from collections import defaultdict

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from scipy import stats

from polars_factors.exceptions import ColumnNotFoundError, DuplicateKeyError, SchemaError
from polars_factors.portfolio._diagnostics import ICResult, information_coefficient, turnover
from polars_factors.regression.fama_macbeth import fama_macbeth
from tests.conftest import DATA_DIR, make_panel

# The panels hold infinite values and dates without a rank correlation on purpose: the
# warnings (values treated as missing, dates whose IC is null) are tested in
# tests/bad_inputs/test_consistency.py and tests/test_null_results.py.
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:.*infinite values were treated as missing:polars_factors.DataLossWarning"
    ),
    pytest.mark.filterwarnings("ignore:.*dates became null:polars_factors.DataLossWarning"),
    # Unit-scale synthetic returns (N(0, 1) draws) look like percent to the units check.
    pytest.mark.filterwarnings("ignore::polars_factors.UnitsWarning"),
]

PRICES = DATA_DIR / "sp500_5yr" / "prices.parquet"
KINDS = ["eager", "lazy-in-memory", "lazy-streaming"]
FWD = ["f1", "f2"]


@pytest.fixture
def ic_panel(rng) -> pl.DataFrame:
    """make_panel (nulls, NaN, ties, outliers, a one-asset date, a constant date) + returns."""
    df = make_panel(rng, n_dates=10, n_assets=30)
    n = df.height
    noise = rng.normal(size=n)
    f1 = 0.3 * np.nan_to_num(df["x"].to_numpy().astype(float), nan=0.0) + noise
    f1[rng.random(n) < 0.1] = np.nan
    f2 = np.round(rng.normal(size=n), 1)  # many ties
    f2[rng.random(n) < 0.05] = np.inf
    return df.with_columns(
        pl.Series("f1", f1),
        pl.Series("f2", f2),
    ).with_columns(
        # A date where f2 is constant, and nulls in f1 as well as NaN.
        pl.when(pl.col("date") == 5).then(0.7).otherwise(pl.col("f2")).alias("f2"),
        pl.when(pl.col("asset").str.ends_with("7")).then(None).otherwise(pl.col("f1")).alias("f1"),
    )


def compute_ic(df: pl.DataFrame, kind: str, *args, **kwargs) -> ICResult:
    frame = df if kind == "eager" else df.lazy()
    res = information_coefficient(frame, *args, **kwargs)
    if kind == "eager":
        assert isinstance(res.ic, pl.DataFrame)
        return res
    assert isinstance(res.ic, pl.LazyFrame)
    engine = "streaming" if kind == "lazy-streaming" else "in-memory"
    return res.collect(engine=engine)


def scipy_ic(x: np.ndarray, y: np.ndarray, method: str, min_assets: int = 3) -> tuple[float, int]:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = len(x)
    if n < min_assets or np.all(x == x[0]) or np.all(y == y[0]):
        return math.nan, n
    fn = stats.spearmanr if method == "spearman" else stats.pearsonr
    return float(fn(x, y).statistic), n


def ic_oracle(
    df: pl.DataFrame,
    signal: str,
    fwd: list[str],
    by: list[str],
    method: str,
    *,
    min_assets: int = 3,
) -> pl.DataFrame:
    """One scipy call per group and column, in the documented output order."""
    rows = []
    for key, g in df.group_by(by):
        for j, col in enumerate(fwd):
            ic, n = scipy_ic(g[signal].to_numpy(), g[col].to_numpy(), method, min_assets)
            rows.append((*key, col, j, None if math.isnan(ic) else ic, n))
    schema = {**{k: df.schema[k] for k in by}, "forward_returns": pl.String, "_j": pl.Int64}
    schema |= {"ic": pl.Float64, "n_assets": pl.UInt32}
    out = pl.DataFrame(rows, schema=schema, orient="row")
    return out.sort([*by, "_j"], nulls_last=True).drop("_j")


def assert_ic_equal(got: pl.DataFrame, expected: pl.DataFrame, *, atol: float = 1e-12) -> None:
    assert got.columns == expected.columns
    assert got.schema == expected.schema
    keys = [c for c in got.columns if c != "ic"]
    assert got.select(keys).equals(expected.select(keys), null_equal=True)
    mine, ref = got["ic"], expected["ic"]
    assert (mine.is_null() == ref.is_null()).all(), "null ICs differ"
    assert not mine.is_nan().any()
    np.testing.assert_allclose(
        mine.drop_nulls().to_numpy(), ref.drop_nulls().to_numpy(), rtol=0, atol=atol
    )


# --- information_coefficient ---------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", ["spearman", "pearson"])
def test_ic_matches_scipy_per_date(ic_panel, kind, method):
    res = compute_ic(ic_panel, kind, "x", FWD, method=method)
    assert res.method == method
    assert res.by == ["date"]
    assert res.forward_returns == FWD
    expected = ic_oracle(ic_panel, "x", FWD, ["date"], method)
    assert_ic_equal(res.ic, expected)
    # The messy panel really has the cases the nulls are documented for.
    one_asset = res.ic.filter(pl.col("date") == 1)
    assert one_asset["ic"].is_null().all()
    assert one_asset["n_assets"].max() <= 1
    assert res.ic.filter(pl.col("date") == 2)["ic"].is_null().all()  # constant signal
    constant_f2 = res.ic.filter((pl.col("date") == 5) & (pl.col("forward_returns") == "f2"))
    assert constant_f2["ic"].is_null().all()
    assert constant_f2["n_assets"].item() > 3
    assert res.ic["ic"].is_not_null().sum() >= 14


@pytest.mark.parametrize("method", ["spearman", "pearson"])
def test_ic_by_date_and_sector(ic_panel, method):
    by = ["date", "sector"]
    res = compute_ic(ic_panel, "lazy-streaming", "x", FWD, method=method, by=by)
    assert_ic_equal(res.ic, ic_oracle(ic_panel, "x", FWD, by, method))


def test_ic_date_names_the_default_group_key(ic_panel):
    month = ic_panel.rename({"date": "month"})
    res = information_coefficient(month, "x", FWD, date="month")
    assert res.by == ["month"]
    want = information_coefficient(ic_panel, "x", FWD)
    assert_frame_equal(res.ic, want.ic.rename({"date": "month"}))
    assert_frame_equal(res.summary(), want.summary())
    with pytest.raises(ColumnNotFoundError, match="group key 'date'"):
        information_coefficient(month, "x", FWD)


def test_ic_null_group_key_is_its_own_group(ic_panel):
    df = ic_panel.with_columns(
        pl.when(pl.col("date") == 3).then(None).otherwise(pl.col("date")).alias("date")
    )
    res = compute_ic(df, "lazy-streaming", "x", FWD)
    assert res.ic["date"].tail(2).is_null().all()  # nulls sort last
    assert_ic_equal(res.ic, ic_oracle(df, "x", FWD, ["date"], "spearman"))


@pytest.mark.parametrize("min_assets", [3, 4, 12])
def test_ic_min_assets(ic_panel, min_assets):
    res = compute_ic(ic_panel, "eager", "x", "f1", method="pearson", min_assets=min_assets)
    assert_ic_equal(
        res.ic, ic_oracle(ic_panel, "x", ["f1"], ["date"], "pearson", min_assets=min_assets)
    )


def test_ic_hand_cases():
    df = pl.DataFrame(
        {
            "date": [1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4],
            "s": [1.0, 2.0, 1.0, 2.0, 3.0, 1.0, 1.0, 1.0, 2.0, 5.0, None, float("nan")],
            "r": [0.1, 0.2, 0.3, 0.1, 0.2, 0.0, 0.1, 0.2, 0.3, 0.1, 0.2, 0.3],
        }
    )
    out = information_coefficient(df, "s", "r").ic
    assert out["date"].to_list() == [1, 2, 3, 4]
    assert out["n_assets"].to_list() == [2, 3, 4, 1]
    ic = out["ic"].to_list()
    assert ic[0] is None  # two rows
    assert ic[1] == pytest.approx(-0.5)
    assert ic[2] == pytest.approx(stats.spearmanr([1, 1, 1, 2], [0, 0.1, 0.2, 0.3]).statistic)
    assert ic[3] is None
    pearson = information_coefficient(df, "s", "r", method="pearson").ic["ic"].to_list()
    assert pearson[1] == pytest.approx(stats.pearsonr([1, 2, 3], [0.3, 0.1, 0.2]).statistic)


def test_ic_every_group_appears_even_without_usable_rows():
    df = pl.DataFrame({"date": [1, 1, 2, 2], "s": [None, 1.0, 1.0, 2.0], "r": [0.1, None, 0, 1]})
    out = information_coefficient(df, "s", "r").ic
    assert out["date"].to_list() == [1, 2]
    assert out["n_assets"].to_list() == [0, 2]
    assert out["ic"].is_null().all()


@pytest.mark.parametrize(("offset", "scale"), [(1e6, 1.0), (1e3, 1e-6), (0.0, 1e-8)])
def test_ic_pearson_accurate_far_from_zero(rng, offset, scale):
    n = 5000
    d = rng.integers(0, 5, n)
    x = offset + scale * rng.normal(size=n)
    y = 0.2 * (x - offset) / scale + rng.normal(size=n) + 100.0
    df = pl.DataFrame({"date": d, "x": x, "y": y})
    res = compute_ic(df, "lazy-streaming", "x", "y", method="pearson")
    assert_ic_equal(res.ic, ic_oracle(df, "x", ["y"], ["date"], "pearson"), atol=1e-9)


@pytest.mark.parametrize("factor", [1e-170, 1e-300, 1e150, 1e300])
def test_ic_pearson_scale_free_without_underflow_or_overflow(rng, factor):
    # Squares of such values under- or overflow; the IC must not notice the scale.
    df = pl.DataFrame({"date": rng.integers(0, 3, 60), "x": rng.normal(size=60)})
    df = df.with_columns(y=pl.col("x") + pl.Series(rng.normal(size=60)))
    base = information_coefficient(df, "x", "y", method="pearson").ic
    scaled = df.with_columns(pl.col("x", "y") * factor)
    out = information_coefficient(scaled.lazy(), "x", "y", method="pearson").ic.collect()
    np.testing.assert_allclose(out["ic"].to_numpy(), base["ic"].to_numpy(), rtol=1e-12)


def test_ic_spearman_large_group_with_ties_exact(rng):
    n = 30000
    x = rng.integers(0, 500, n).astype(float)
    y = np.round(0.01 * x + rng.normal(size=n), 2)
    df = pl.DataFrame({"date": np.zeros(n, dtype=np.int64), "x": x, "y": y})
    res = compute_ic(df, "lazy-streaming", "x", "y")
    assert res.ic["ic"].item() == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-13)


def test_ic_matches_alphalens(rng):
    pd = pytest.importorskip("pandas")
    perf = pytest.importorskip("alphalens.performance")
    dates = pd.date_range("2024-01-01", periods=8, freq="B")
    df = pl.DataFrame(
        {
            "date": np.repeat(dates.to_numpy(), 25),
            "asset": [f"A{i}" for i in range(25)] * 8,
            "factor": rng.normal(size=200),
            "1D": np.round(rng.normal(size=200), 1),
            "5D": rng.normal(size=200),
        }
    )
    factor_data = df.to_pandas().set_index(["date", "asset"])
    factor_data["factor_quantile"] = 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = perf.factor_information_coefficient(factor_data)
    mine = information_coefficient(df, "factor", ["1D", "5D"]).ic
    for col in ("1D", "5D"):
        got = mine.filter(pl.col("forward_returns") == col)["ic"].to_numpy()
        np.testing.assert_allclose(got, ref[col].to_numpy(), rtol=0, atol=1e-12)


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
maybe = st.one_of(finite, st.none(), st.just(float("nan")))


@st.composite
def ic_frames(draw):
    n = draw(st.integers(0, 30))
    return pl.DataFrame(
        {
            "date": draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)),
            "s": draw(st.lists(maybe, min_size=n, max_size=n)),
            "r": draw(st.lists(maybe, min_size=n, max_size=n)),
        },
        schema={"date": pl.Int64, "s": pl.Float64, "r": pl.Float64},
    )


@settings(max_examples=60, deadline=None)
@given(df=ic_frames(), method=st.sampled_from(["spearman", "pearson"]))
def test_property_ic_bounded_and_matches_scipy(df, method):
    out = information_coefficient(df, "s", "r", method=method).ic
    ic = out["ic"].drop_nulls()
    assert ((ic >= -1) & (ic <= 1)).all()
    assert_ic_equal(out, ic_oracle(df, "s", ["r"], ["date"], method), atol=1e-8)


@settings(max_examples=60, deadline=None)
@given(df=ic_frames(), power=st.integers(-20, 20))
def test_property_rank_ic_invariant_to_monotone_transforms(df, power):
    base = information_coefficient(df, "s", "r").ic["ic"]
    # Strictly increasing maps that are exact in floating point (no new ties):
    # scaling by a power of two, and the cube of the rank.
    moved = df.with_columns(
        (pl.col("s") * 2.0**power).alias("s"),
        pl.when(pl.col("r").is_finite()).then(pl.col("r")).rank("average").pow(3).alias("r"),
    )
    same = information_coefficient(moved, "s", "r").ic["ic"]
    flipped = information_coefficient(df.with_columns(-pl.col("s")), "s", "r").ic["ic"]
    assert (base.is_null() == same.is_null()).all()
    np.testing.assert_allclose(same.drop_nulls(), base.drop_nulls(), atol=1e-12)
    np.testing.assert_allclose(flipped.drop_nulls(), -base.drop_nulls(), atol=1e-12)


# --- summary ---------------------------------------------------------------------------


def newey_west_t(ic: np.ndarray, lags: int) -> float:
    t = len(ic)
    e = ic - ic.mean()
    s = e @ e + 2 * sum((1 - k / (lags + 1)) * (e[k:] @ e[:-k]) for k in range(1, lags + 1))
    return ic.mean() / math.sqrt(s / t / (t - 1))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("nw_lags", [0, 2, None])
def test_summary_matches_numpy(ic_panel, kind, nw_lags):
    frame = ic_panel if kind == "eager" else ic_panel.lazy()
    engine = "streaming" if kind == "lazy-streaming" else "auto"
    res = information_coefficient(frame, "x", FWD, engine=engine)
    table = res.summary(nw_lags=nw_lags)
    assert table.columns == [
        "forward_returns", "mean", "std", "ir", "t_stat", "nw_t_stat", "share_positive",
        "n_periods", "nw_lags",
    ]  # fmt: skip
    assert table["forward_returns"].to_list() == FWD
    assert table["n_periods"].dtype == pl.UInt32
    ic = res.collect().ic
    for row in table.iter_rows(named=True):
        values = ic.filter(pl.col("forward_returns") == row["forward_returns"]).sort("date")["ic"]
        v = values.drop_nulls().to_numpy()
        t = len(v)
        lags = nw_lags if nw_lags is not None else int(4 * (t / 100) ** (2 / 9))
        assert row["n_periods"] == t
        assert row["nw_lags"] == lags
        assert row["mean"] == pytest.approx(v.mean(), abs=1e-14)
        assert row["std"] == pytest.approx(v.std(ddof=1), rel=1e-12)
        assert row["ir"] == pytest.approx(v.mean() / v.std(ddof=1), rel=1e-12)
        assert row["t_stat"] == pytest.approx(v.mean() / (v.std(ddof=1) / math.sqrt(t)), rel=1e-12)
        assert row["nw_t_stat"] == pytest.approx(newey_west_t(v, lags), rel=1e-10)
        assert row["share_positive"] == pytest.approx((v > 0).mean())


def test_summary_equals_fama_macbeth_of_the_ic_series(ic_panel):
    res = information_coefficient(ic_panel, "x", FWD, method="pearson")
    fm = fama_macbeth(res.ic, factor="forward_returns", value="ic", nw_lags=3)
    table = res.summary(nw_lags=3)
    for col in ("mean", "std", "t_stat", "nw_t_stat", "n_periods"):
        np.testing.assert_allclose(table[col].to_numpy(), fm[col].to_numpy(), rtol=1e-14)


def test_summary_by_extra_keys(ic_panel):
    res = information_coefficient(ic_panel, "x", FWD, by=["date", "sector"])
    table = res.summary(nw_lags=1)
    assert table.columns[:2] == ["sector", "forward_returns"]
    sectors = sorted(ic_panel["sector"].unique().to_list())
    assert table.select("sector", "forward_returns").rows() == [
        (s, c) for s in sectors for c in FWD
    ]
    for row in table.iter_rows(named=True):
        v = (
            res.ic.filter(
                (pl.col("sector") == row["sector"])
                & (pl.col("forward_returns") == row["forward_returns"])
            )
            .sort("date")["ic"]
            .drop_nulls()
            .to_numpy()
        )
        assert row["n_periods"] == len(v)
        assert row["mean"] == pytest.approx(v.mean(), abs=1e-14)
        assert row["nw_t_stat"] == pytest.approx(newey_west_t(v, 1), rel=1e-10)


def test_summary_hand_values():
    df = pl.DataFrame(
        {
            "date": [1] * 3 + [2] * 3 + [3] * 3 + [4] * 3,
            "x": [1.0, 2.0, 3.0] * 4,
            "fwd": [0.01, 0.02, 0.03, 0.02, 0.01, 0.03, 0.03, 0.02, 0.01, 0.0, 0.0, 0.0],
        }
    )
    table = information_coefficient(df, "x", "fwd").summary(nw_lags=0)
    row = table.row(0, named=True)
    v = np.array([1.0, 0.5, -1.0])
    assert row["n_periods"] == 3  # date 4 has a constant return: no IC
    assert row["mean"] == pytest.approx(v.mean())
    assert row["share_positive"] == pytest.approx(2 / 3)
    assert row["nw_t_stat"] == pytest.approx(row["t_stat"])


def test_summary_without_any_ic():
    df = pl.DataFrame({"date": [1, 1, 2], "x": [1.0, 2.0, 3.0], "fwd": [0.1, 0.2, 0.3]})
    table = information_coefficient(df, "x", ["fwd"]).summary()
    assert table.height == 1
    assert table["n_periods"].to_list() == [0]
    assert table.select(pl.exclude("forward_returns", "n_periods")).null_count().row(0) == (1,) * 7
    empty = information_coefficient(df.clear(), "x", "fwd").summary()
    assert empty.height == 0
    assert empty.columns == table.columns
    assert empty.schema == table.schema


def test_summary_single_period_and_constant_series():
    df = pl.DataFrame({"date": [1, 1, 1], "x": [1.0, 2.0, 3.0], "fwd": [0.1, 0.3, 0.2]})
    row = information_coefficient(df, "x", "fwd").summary().row(0, named=True)
    assert row["mean"] == pytest.approx(0.5)
    assert row["n_periods"] == 1
    assert row["std"] is None
    assert row["t_stat"] is None
    assert row["ir"] is None
    const = pl.concat([df, df.with_columns(pl.col("date") + 1)])
    row = information_coefficient(const, "x", "fwd").summary().row(0, named=True)
    assert row["std"] == 0.0
    assert row["t_stat"] is None
    assert row["ir"] is None


# --- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"signal": "xx"}, ColumnNotFoundError, "signal column 'xx' not found.*Did you mean 'x'"),
        ({"forward_returns": ["f1", "f3"]}, ColumnNotFoundError, "forward-return column 'f3'"),
        ({"by": "day"}, ColumnNotFoundError, "group key 'day' not found"),
        ({"signal": "sector"}, SchemaError, "signal column 'sector' must be numeric"),
        ({"forward_returns": "asset"}, SchemaError, "forward-return column 'asset' must be"),
        ({"method": "kendall"}, ValueError, "unknown method='kendall'; expected one of"),
        ({"min_assets": 2}, ValueError, "`min_assets` must be an integer >= 3; got 2"),
        ({"min_assets": 3.0}, ValueError, "`min_assets` must be an integer >= 3"),
        ({"forward_returns": []}, ValueError, "`forward_returns` must name at least one"),
        ({"forward_returns": ["f1", "f1"]}, ValueError, "names a column more than once"),
        ({"forward_returns": ["f1", "x"]}, ValueError, "signal 'x' is also listed"),
        ({"by": ["date", "f1"]}, ValueError, r"\['f1'\] are used both as group keys"),
        ({"by": []}, ValueError, "`by` must name at least one column"),
        ({"signal": pl.col("x")}, TypeError, "`signal` must be a column name"),
        ({"by": pl.col("date")}, TypeError, "`by` takes column names, not expressions"),
    ],
)
def test_ic_bad_input(ic_panel, kwargs, error, match):
    args = {"signal": "x", "forward_returns": FWD} | kwargs
    signal, fwd = args.pop("signal"), args.pop("forward_returns")
    with pytest.raises(error, match=match):
        information_coefficient(ic_panel.lazy(), signal, fwd, **args)


def test_ic_key_named_like_an_output():
    df = pl.DataFrame({"forward_returns": [1, 1, 1], "x": [1.0, 2, 3], "r": [1.0, 3, 2]})
    with pytest.raises(
        ValueError, match=r"group key\(s\) \['forward_returns'\] have the name of an output"
    ):
        information_coefficient(df, "x", "r", by="forward_returns")
    with pytest.raises(TypeError, match="expected a polars DataFrame or LazyFrame; got dict"):
        information_coefficient(df.to_dict(), "x", "r")  # type: ignore[arg-type]


# --- turnover ---------------------------------------------------------------------------


def turnover_oracle(df: pl.DataFrame, cols: list[str]) -> pl.DataFrame:
    """Explicit sets: members of each (date, bucket); previous date in the frame."""
    dates = sorted({d for d in df["date"].to_list() if d is not None})
    previous = {d: dates[i - 1] if i else None for i, d in enumerate(dates)}
    members: dict[tuple, set] = defaultdict(set)
    for row in df.iter_rows(named=True):
        key = (row["date"], *(row[c] for c in cols))
        if row["asset"] is not None and None not in key:
            members[key].add(row["asset"])
    rows = []
    for (d, *b), now in members.items():
        p = previous[d]
        if p is None:
            rows.append((d, *b, None, len(now), None))
            continue
        entered = len(now - members.get((p, *b), set()))
        rows.append((d, *b, entered / len(now), len(now), entered))
    schema = {"date": df.schema["date"], **{c: df.schema[c] for c in cols}}
    schema |= {"turnover": pl.Float64, "n_assets": pl.UInt32, "n_entered": pl.UInt32}
    return pl.DataFrame(rows, schema=schema, orient="row").sort(["date", *cols])


def bucket_panel(rng, *, n_dates=12, n_assets=25, n_buckets=3) -> pl.DataFrame:
    rows = []
    for d in range(n_dates):
        assets = rng.choice(
            n_assets, size=int(rng.integers(n_assets // 2, n_assets)), replace=False
        )
        for a in assets:
            b = int(rng.integers(1, n_buckets + 1)) if rng.random() > 0.1 else None
            rows.append((d, f"A{a:02d}", None if d == 4 else b, int(rng.integers(0, 2))))
    df = pl.DataFrame(rows, schema=["date", "asset", "bucket", "size"], orient="row")
    df = df.with_columns(pl.col("bucket").cast(pl.Int32))
    return df.sample(fraction=1.0, shuffle=True, seed=int(rng.integers(1 << 31)))


def test_turnover_matches_set_oracle(rng, run):
    df = bucket_panel(rng)
    out = run(df, lambda f: turnover(f, "bucket"))
    expected = turnover_oracle(df, ["bucket"])
    assert out.equals(expected, null_equal=True)
    # Date 4 has no bucket at all: every member on date 5 is new.
    assert out.filter(pl.col("date") == 5)["turnover"].to_list() == [1.0] * 3
    assert out.filter(pl.col("date") == 0)["turnover"].is_null().all()
    assert (out.filter(pl.col("date") > 0)["turnover"].is_not_null()).all()


def test_turnover_two_bucket_columns_and_strings(rng, run):
    df = bucket_panel(rng).with_columns(
        pl.col("bucket").cast(pl.String).alias("label"), pl.col("date").cast(pl.Int16)
    )
    out = run(df, lambda f: turnover(f, ["label", "size"]))
    assert out.equals(turnover_oracle(df, ["label", "size"]), null_equal=True)


def test_turnover_hand_case_entering_and_leaving():
    df = pl.DataFrame(
        {
            "date": [1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3],
            "asset": ["a", "b", "c", "d", "a", "b", "e", "a", "b", "d", "e"],
            "q": [1, 1, 2, 2, 2, 1, 1, 2, 1, 1, None],
        }
    )
    out = turnover(df, "q")
    assert out.rows() == [
        (1, 1, None, 2, None),
        (1, 2, None, 2, None),
        (2, 1, 0.5, 2, 1),  # b stayed, e entered (a left for 2)
        (2, 2, 1.0, 1, 1),  # a is new in 2 (c, d left the frame)
        (3, 1, 0.5, 2, 1),  # b stayed, d came back; e dropped to null
        (3, 2, 0.0, 1, 0),
    ]


def test_turnover_matches_alphalens_when_buckets_are_never_empty(rng):
    pd = pytest.importorskip("pandas")
    perf = pytest.importorskip("alphalens.performance")
    dates = pd.date_range("2024-01-01", periods=10, freq="B")
    n = 20
    buckets = np.concatenate([rng.permutation(np.arange(n) % 4 + 1) for _ in dates])
    df = pl.DataFrame(
        {
            "date": np.repeat(dates.to_numpy(), n),
            "asset": [f"A{i}" for i in range(n)] * len(dates),
            "q": buckets,
        }
    )
    series = df.to_pandas().set_index(["date", "asset"])["q"]
    out = turnover(df, "q")
    for q in range(1, 5):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = perf.quantile_turnover(series, q)
        mine = out.filter(pl.col("q") == q)["turnover"].to_numpy().astype(float)
        np.testing.assert_allclose(mine[1:], ref.to_numpy()[1:], rtol=0, atol=1e-15)
        assert np.isnan(mine[0])


@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 6), st.one_of(st.none(), st.integers(1, 3))),
        max_size=60,
        unique_by=lambda r: (r[0], r[1]),
    )
)
def test_property_turnover_in_unit_interval(data):
    schema = {"date": pl.Int64, "asset": pl.Int64, "b": pl.Int64}
    df = pl.DataFrame(data, schema=schema, orient="row")
    out = turnover(df.lazy(), "b").collect(engine="streaming")
    t = out["turnover"].drop_nulls()
    assert ((t >= 0) & (t <= 1)).all()
    assert (
        out["n_entered"].drop_nulls() <= out.filter(pl.col("n_entered").is_not_null())["n_assets"]
    ).all()
    assert out["n_assets"].sum() == df["b"].is_not_null().sum()
    assert out.equals(turnover_oracle(df, ["b"]), null_equal=True)


def test_turnover_bad_input(rng):
    df = bucket_panel(rng)
    with pytest.raises(ColumnNotFoundError, match="bucket column 'buckt' not found"):
        turnover(df, "buckt")
    with pytest.raises(ColumnNotFoundError, match="panel key 'ticker' not found"):
        turnover(df, "bucket", asset="ticker")
    with pytest.raises(ValueError, match=r"\['date'\] are used both as group keys and as values"):
        turnover(df, ["bucket", "date"])
    with pytest.raises(ValueError, match="have the name of an output column"):
        turnover(df.rename({"bucket": "turnover"}), "turnover")
    with pytest.raises(ValueError, match="`buckets` must name at least one column"):
        turnover(df, [])
    dup = pl.concat([df, df.head(2)])
    with pytest.raises(DuplicateKeyError, match="duplicate"):
        turnover(dup, "bucket")
    with pytest.raises(DuplicateKeyError, match="duplicate"):
        turnover(dup.lazy(), "bucket", check_keys=True)
    turnover(dup, "bucket", check_keys=False)  # unchecked: runs


@pytest.mark.skipif(not PRICES.exists(), reason=f"real data not found at {DATA_DIR}")
def test_real_data_momentum_ic_and_turnover():
    from polars_factors.exprs import forward_returns  # noqa: PLC0415

    lf = pl.scan_parquet(PRICES).rename({"Name": "asset"})
    last = lf.select(pl.col("date").unique().sort().tail(80)).collect()["date"]
    panel = (
        lf.filter(pl.col("date").is_in(last.implode()))
        .with_columns(
            (pl.col("close") / pl.col("close").shift(20) - 1)
            .over("asset", order_by="date")
            .alias("mom"),
            *forward_returns("close", (1, 5), asset="asset", date="date"),
        )
        .with_columns(
            (pl.col("mom").rank() * 5 / (pl.col("mom").count() + 1)).ceil().over("date").alias("q")
        )
        .collect()
    )
    res = information_coefficient(panel.lazy(), "mom", ["fwd_ret_1", "fwd_ret_5"]).collect(
        engine="streaming"
    )
    expected = ic_oracle(panel, "mom", ["fwd_ret_1", "fwd_ret_5"], ["date"], "spearman")
    assert_ic_equal(res.ic, expected)
    assert res.ic["ic"].is_not_null().sum() >= 2 * 50
    out = turnover(panel.lazy(), "q").collect(engine="streaming")
    assert out.equals(turnover_oracle(panel, ["q"]), null_equal=True)
