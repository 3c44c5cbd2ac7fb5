"""polars_factors.plot: every figure renders to PNG and draws the data it was given.

The inputs are real results (pf.betas, cross_section, information_coefficient,
quantile_returns, RiskModel) on small simulated panels, so the tests also prove that
the plots accept the result types of the other modules.
"""

from __future__ import annotations

import io
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib as mpl
import numpy as np
import polars as pl
import pytest
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

import polars_factors as pf
import polars_factors.plot as pfplot
from polars_factors.exceptions import (
    ColumnNotFoundError,
    DuplicateKeyError,
    FactorsError,
    InsufficientDataError,
    MissingDependencyError,
    SchemaError,
    UnknownAssetError,
)

mpl.use("Agg")

ASSETS = ["AAA", "BBB", "CCC"]
SECTORS = ["energy", "tech", "utilities"]


@dataclass(frozen=True)
class Inputs:
    ts_panel: pl.DataFrame
    betas: pl.DataFrame
    rolling: pl.DataFrame
    cs: pf.CrossSectionResult[pl.DataFrame]
    ic: pf.portfolio.ICResult[pl.DataFrame]
    quantiles: pf.portfolio.QuantileReturnsResult[pl.DataFrame]
    model: pf.risk.RiskModel


def _ts_panel(rng: np.random.Generator) -> pl.DataFrame:
    n = 80
    dates = pl.date_range(
        pl.date(2024, 1, 1), pl.date(2024, 1, 1) + pl.duration(days=n - 1), eager=True
    )
    mkt, smb, hml = (rng.normal(scale=s, size=n) for s in (0.01, 0.005, 0.004))
    frames = []
    for i, asset in enumerate(ASSETS):
        loadings = (0.8 + 0.3 * i, 0.5 - 0.4 * i, -0.2 + 0.2 * i)
        ret = (
            loadings[0] * mkt
            + loadings[1] * smb
            + loadings[2] * hml
            + rng.normal(scale=0.004, size=n)
        )
        frames.append(
            pl.DataFrame(
                {"date": dates, "asset": asset, "mkt": mkt, "smb": smb, "hml": hml, "ret": ret}
            )
        )
    return pl.concat(frames)


def _cs_panel(rng: np.random.Generator) -> pl.DataFrame:
    n_dates, n_assets = 40, 30
    rows = [(d, f"A{a:02d}", SECTORS[a % 3]) for d in range(n_dates) for a in range(n_assets)]
    n = len(rows)
    size = rng.normal(size=n)
    ret = 0.004 * size + rng.normal(scale=0.02, size=n)
    return pl.DataFrame(
        {
            "date": [r[0] for r in rows],
            "asset": [r[1] for r in rows],
            "sector": [r[2] for r in rows],
            "size": size,
            "value": rng.normal(size=n),
            "mcap": rng.lognormal(size=n),
            "ret": ret,
        }
    ).with_columns(
        fwd_1=pl.col("ret").shift(-1).over("asset", order_by="date"),
        fwd_5=pl.col("ret").rolling_sum(5).shift(-5).over("asset", order_by="date"),
    )


@pytest.fixture(scope="module")
def inputs() -> Inputs:
    rng = np.random.default_rng(20261207)
    ts = _ts_panel(rng)
    factors = ["mkt", "smb", "hml"]
    cs_panel = _cs_panel(rng)
    cs = pf.cross_section(cs_panel, "ret", ["size", "value"], industry="sector", country=True)
    model = pf.risk.RiskModel.fit(
        cs_panel, cs, exposures=["size", "value"], industry="sector", country=True,
        covariance={"half_life_vol": 10, "half_life_corr": 20, "min_periods": 6},
        specific={"half_life": 10, "nw_lags": 1},
    )  # fmt: skip
    return Inputs(
        ts_panel=ts,
        betas=pf.betas(ts, "ret", factors),
        rolling=pf.betas(ts, "ret", factors, window=20),
        cs=cs,
        ic=pf.portfolio.information_coefficient(cs_panel, "size", ["fwd_1", "fwd_5"]),
        quantiles=pf.portfolio.quantile_returns(cs_panel, "size", "fwd_1", n=5),
        model=model,
    )


def png_bytes(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=60)
    return buffer.getvalue()


def visible_lines(ax) -> list:
    return [line for line in ax.get_lines() if not line.get_label().startswith("_")]


# --------------------------------------------------------------------------------------
# every plot renders

PLOTS: dict[str, Callable[[Inputs], Figure]] = {
    "exposure_bar": lambda d: pfplot.exposure_bar(d.betas, select="BBB"),
    "exposure_radar": lambda d: pfplot.exposure_radar(d.betas, select="BBB"),
    "rolling_betas": lambda d: pfplot.rolling_betas(d.rolling, select="CCC"),
    "cumulative_returns": lambda d: pfplot.cumulative_returns(d.cs.factor_returns),
    "ic_by_date": lambda d: pfplot.ic_by_date(d.ic),
    "quantile_returns": lambda d: pfplot.quantile_returns(d.quantiles),
    "risk_decomposition": lambda d: pfplot.risk_decomposition(
        d.model.portfolio_risk(
            pl.DataFrame({"asset": ["A00", "A01", "A02"], "weight": [0.5, 0.3, 0.2]})
        )
    ),
    "risk_by_asset": lambda d: pfplot.risk_decomposition(d.model.asset_risk(), top=8),
}


@pytest.mark.parametrize("name", list(PLOTS))
def test_renders_to_png(inputs, name):
    pyplot_before = "matplotlib.pyplot" in sys.modules
    fig = PLOTS[name](inputs)
    assert isinstance(fig, Figure)
    data = png_bytes(fig)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 5_000
    assert fig.axes
    # built without pyplot: no global figure manager is involved
    assert ("matplotlib.pyplot" in sys.modules) == pyplot_before


def test_titles(inputs):
    fig = pfplot.exposure_bar(inputs.betas, select="AAA")
    assert fig.get_suptitle() == "Factor exposures: AAA"
    fig = pfplot.exposure_bar(inputs.betas, select="AAA", title="mine", figsize=(3.0, 2.0))
    assert fig.get_suptitle() == "mine"
    assert tuple(fig.get_size_inches()) == (3.0, 2.0)
    assert pfplot.exposure_bar(inputs.betas, select="AAA", title="").get_suptitle() == ""


# --------------------------------------------------------------------------------------
# the drawn data are the input


def test_exposure_bar_heights_and_whiskers(inputs):
    row = inputs.betas.filter(pl.col("asset") == "BBB")
    fig = pfplot.exposure_bar(inputs.betas.lazy(), select="BBB")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["mkt", "smb", "hml"]
    heights = [bar.get_height() for bar in ax.patches]
    np.testing.assert_allclose(heights, row.select("beta_mkt", "beta_smb", "beta_hml").row(0))
    # whiskers: +-2 standard errors around each bar
    (container,) = [c for c in ax.containers if isinstance(c, BarContainer)]
    segments = container.errorbar.lines[2][0].get_segments()
    se = row.select("beta_mkt_std_error", "beta_smb_std_error", "beta_hml_std_error").row(0)
    for seg, h, s in zip(segments, heights, se, strict=True):
        np.testing.assert_allclose([seg[0][1], seg[1][1]], [h - 2 * s, h + 2 * s])
    # no whiskers on request; a factor subset in the given order
    fig = pfplot.exposure_bar(inputs.betas, select="BBB", factors=["hml", "mkt"], std_errors=None)
    ax = fig.axes[0]
    assert ax.containers[0].errorbar is None
    np.testing.assert_allclose(
        [b.get_height() for b in ax.patches], row.select("beta_hml", "beta_mkt").row(0)
    )


def test_exposure_bar_long_frame_and_single_asset():
    long = pl.DataFrame(
        {"factor": ["market", "momentum", "volatility"], "exposure": [1.2, 0.3, -0.5]}
    )
    ax = pfplot.exposure_bar(long).axes[0]
    assert [b.get_height() for b in ax.patches] == [1.2, 0.3, -0.5]
    # one asset: no select= needed
    one = pl.DataFrame({"asset": ["X"], "n_obs": [10], "alpha": [0.0], "beta_mkt": [0.9]})
    assert pfplot.exposure_bar(one).get_suptitle() == "Factor exposures: X"


def test_exposure_radar_draws_the_betas(inputs):
    row = inputs.betas.filter(pl.col("asset") == "AAA")
    fig = pfplot.exposure_radar(inputs.betas, select="AAA")
    ax = fig.axes[0]
    assert ax.name == "polar"
    polygon = ax.get_lines()[0]
    want = list(row.select("beta_mkt", "beta_smb", "beta_hml").row(0))
    np.testing.assert_allclose(polygon.get_ydata(), [*want, want[0]])
    np.testing.assert_allclose(polygon.get_xdata(), [0.0, 2 * math.pi / 3, 4 * math.pi / 3, 0.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["mkt", "smb", "hml"]
    low, _ = ax.get_ylim()
    assert low < min(want)


def test_rolling_betas_lines_and_bands(inputs):
    rows = inputs.rolling.filter(pl.col("asset") == "CCC").sort("date")
    fig = pfplot.rolling_betas(inputs.rolling.lazy(), select="CCC", factors=["mkt", "hml"])
    ax = fig.axes[0]
    lines = visible_lines(ax)
    assert [line.get_label() for line in lines] == ["mkt", "hml"]
    for line, factor in zip(lines, ["mkt", "hml"], strict=True):
        want = rows[f"beta_{factor}"].fill_null(float("nan")).to_numpy()
        np.testing.assert_array_equal(np.asarray(line.get_ydata(), dtype=float), want)
        assert len(line.get_xdata()) == rows.height
    assert len(ax.collections) == 2  # one +-2 s.e. band per factor
    no_bands = pfplot.rolling_betas(inputs.rolling, select="CCC", std_errors=0)
    assert len(no_bands.axes[0].collections) == 0
    assert len(visible_lines(no_bands.axes[0])) == 3


def test_other_key_names(inputs):
    # date= and asset= name the key columns; select= picks the asset to draw
    keys = {"date": "day", "asset": "ticker"}

    def ydata(fig: Figure) -> list[list[float]]:
        return [list(map(float, line.get_ydata())) for line in visible_lines(fig.axes[0])]

    def heights(fig: Figure) -> list[float]:
        return [float(patch.get_height()) for patch in fig.axes[0].patches]

    betas, rolling = inputs.betas.rename({"asset": "ticker"}), inputs.rolling.rename(keys)
    got = pfplot.exposure_bar(betas, select="BBB", asset="ticker")
    np.testing.assert_array_equal(
        heights(got), heights(pfplot.exposure_bar(inputs.betas, select="BBB"))
    )
    assert got.get_suptitle() == "Factor exposures: BBB"
    got = pfplot.exposure_radar(betas, select="BBB", asset="ticker")
    np.testing.assert_array_equal(
        ydata(got), ydata(pfplot.exposure_radar(inputs.betas, select="BBB"))
    )
    got = pfplot.rolling_betas(rolling, select="CCC", date="day", asset="ticker")
    np.testing.assert_array_equal(
        ydata(got), ydata(pfplot.rolling_betas(inputs.rolling, select="CCC"))
    )
    fr = inputs.cs.factor_returns
    got = pfplot.cumulative_returns(fr.rename({"date": "day"}), date="day")
    np.testing.assert_array_equal(ydata(got), ydata(pfplot.cumulative_returns(fr)))
    got = pfplot.ic_by_date(inputs.ic.ic.rename({"date": "day"}), date="day")
    np.testing.assert_array_equal(heights(got), heights(pfplot.ic_by_date(inputs.ic.ic)))
    by_date = inputs.quantiles.by_date
    got = pfplot.quantile_returns(by_date.rename({"date": "day"}), date="day")
    np.testing.assert_array_equal(heights(got), heights(pfplot.quantile_returns(by_date)))
    risk = inputs.model.asset_risk()
    got = pfplot.risk_decomposition(risk.rename({"asset": "ticker"}), asset="ticker")
    want = pfplot.risk_decomposition(risk)
    np.testing.assert_array_equal(heights(got), heights(want))
    labels = [t.get_text() for t in got.axes[0].get_yticklabels()]
    assert labels == [t.get_text() for t in want.axes[0].get_yticklabels()]


def test_cumulative_returns_compound_the_factor_returns(inputs):
    fr = inputs.cs.factor_returns
    factors = fr["factor"].unique(maintain_order=True).to_list()
    # dates in any order (factors in the order of their rows within a date)
    fig = pfplot.cumulative_returns(fr.lazy().sort("date", descending=True, maintain_order=True))
    lines = visible_lines(fig.axes[0])
    assert [line.get_label() for line in lines] == factors
    for line, factor in zip(lines, factors, strict=True):
        r = fr.filter(pl.col("factor") == factor).sort("date")["factor_return"].to_numpy()
        ydata = np.asarray(line.get_ydata(), dtype=float)
        np.testing.assert_allclose(ydata[-1], np.prod(1 + r) - 1, rtol=1e-12)
        np.testing.assert_allclose(ydata, np.cumprod(1 + r) - 1, rtol=1e-12)
    # wide layout, a subset, and the running sum
    wide = fr.pivot("factor", index="date", values="factor_return")
    fig = pfplot.cumulative_returns(wide, factors=["value", "size"], compound=False)
    lines = visible_lines(fig.axes[0])
    assert [line.get_label() for line in lines] == ["value", "size"]
    np.testing.assert_allclose(lines[1].get_ydata()[-1], wide["size"].sum(), rtol=1e-12)


def test_cumulative_returns_null_counts_as_zero():
    fr = pl.DataFrame({"date": [1, 2, 3], "mkt": [0.1, None, 0.1]})
    (line,) = visible_lines(pfplot.cumulative_returns(fr).axes[0])
    np.testing.assert_allclose(line.get_ydata(), [0.1, 0.1, 0.21])


def test_ic_by_date_bars_and_rolling_mean(inputs):
    ic = inputs.ic.ic
    fig = pfplot.ic_by_date(inputs.ic, rolling=5)
    assert len(fig.axes) == 2  # one per forward-return column
    for ax, horizon in zip(fig.axes, ["fwd_1", "fwd_5"], strict=True):
        series = ic.filter(pl.col("forward_returns") == horizon).sort("date")["ic"]
        heights = np.array([bar.get_height() for bar in ax.patches])
        np.testing.assert_array_equal(heights, series.fill_null(float("nan")).to_numpy())
        (rolling,) = [line for line in ax.get_lines() if line.get_label() == "5-date mean"]
        values = series.fill_null(float("nan")).to_numpy()
        assert np.isnan(values[-1])  # the last dates have no forward return: no IC
        windows = [values[max(0, i - 4) : i + 1] for i in range(len(values))]
        want = [w[~np.isnan(w)].mean() if (~np.isnan(w)).any() else np.nan for w in windows]
        np.testing.assert_allclose(rolling.get_ydata(), want, rtol=1e-12)
        mean = [line for line in ax.get_lines() if line.get_label().startswith("mean ")]
        np.testing.assert_allclose(mean[0].get_ydata()[0], series.mean())
    one = pfplot.ic_by_date(inputs.ic, forward_returns="fwd_5", rolling=None)
    assert len(one.axes) == 1
    assert not [line for line in one.axes[0].get_lines() if "date mean" in line.get_label()]
    # the bare frame, lazy, without a forward_returns column
    frame = ic.filter(pl.col("forward_returns") == "fwd_1").drop("forward_returns").lazy()
    assert len(pfplot.ic_by_date(frame).axes[0].patches) == ic.height // 2


# Unit-scale synthetic forward returns: the units check would warn.
@pytest.mark.filterwarnings("ignore::polars_factors.UnitsWarning")
def test_ic_by_date_on_a_lazy_result(inputs):
    rng = np.random.default_rng(3)
    lf = pl.LazyFrame(
        {"date": np.repeat(np.arange(6), 10), "x": rng.normal(size=60), "f": rng.normal(size=60)}
    )
    res = pf.portfolio.information_coefficient(lf, "x", "f")
    fig = pfplot.ic_by_date(res, rolling=3)
    np.testing.assert_allclose(
        [b.get_height() for b in fig.axes[0].patches], res.collect().ic["ic"].to_numpy()
    )


def test_quantile_returns_bars_and_lines(inputs):
    res = inputs.quantiles
    fig = pfplot.quantile_returns(res)
    bars, lines_ax = fig.axes
    summary = res.summary()
    np.testing.assert_allclose(
        [b.get_height() for b in bars.patches], summary["mean_return"].to_numpy(), rtol=1e-12
    )
    assert [t.get_text() for t in bars.get_xticklabels()] == ["Q1", "Q2", "Q3", "Q4", "Q5"]
    lines = visible_lines(lines_ax)
    assert [line.get_label() for line in lines] == ["Q1", "Q2", "Q3", "Q4", "Q5", "Q5 \u2212 Q1"]
    by_date = res.by_date.sort("date")
    for q in (1, 5):
        r = by_date.filter(pl.col("quantile") == q)["mean_return"].to_numpy()
        np.testing.assert_allclose(lines[q - 1].get_ydata()[-1], np.prod(1 + r) - 1, rtol=1e-12)
    spread = res.spread.sort("date")["spread"].fill_null(0.0).to_numpy()
    np.testing.assert_allclose(lines[-1].get_ydata()[-1], np.prod(1 + spread) - 1, rtol=1e-12)


def test_quantile_returns_several_horizons(inputs):
    panel = _cs_panel(np.random.default_rng(5))
    res = pf.portfolio.quantile_returns(panel.lazy(), "size", ["fwd_1", "fwd_5"], n=3)
    with pytest.raises(DuplicateKeyError, match="forward_returns="):
        pfplot.quantile_returns(res)
    fig = pfplot.quantile_returns(res, forward_returns="fwd_5")
    assert fig.get_suptitle() == "Returns by signal quantile (fwd_5)"
    want = res.summary().filter(pl.col("forward_returns") == "fwd_5")["mean_return"].to_numpy()
    np.testing.assert_allclose([b.get_height() for b in fig.axes[0].patches], want, rtol=1e-12)
    with pytest.raises(ColumnNotFoundError, match="fwd_21"):
        pfplot.quantile_returns(res, forward_returns="fwd_21")


def test_risk_decomposition_shares(inputs):
    weights = {"A00": 0.4, "A03": 0.3, "A07": 0.3}
    risk = inputs.model.portfolio_risk(weights)
    total = risk.summary()["total_var"][0]
    fig = pfplot.risk_decomposition(risk)
    ax = fig.axes[0]
    widths = [bar.get_width() for bar in ax.patches]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] == "specific"
    assert sorted(labels[:-1]) == sorted(inputs.model.factors)
    np.testing.assert_allclose(sum(widths), 1.0, rtol=1e-10)
    np.testing.assert_allclose(widths[-1], risk.summary()["specific_var"][0] / total)
    percent = dict(risk.factors.select("factor", "percent").iter_rows())
    np.testing.assert_allclose(widths[:-1], [percent[f] for f in labels[:-1]], rtol=1e-12)
    assert [abs(w) for w in widths[:-1]] == sorted((abs(w) for w in widths[:-1]), reverse=True)
    # top=2: the rest in one bar
    ax = pfplot.risk_decomposition(risk, top=2).axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[2:] == [f"{len(inputs.model.factors) - 2} other factors", "specific"]
    np.testing.assert_allclose(sum(b.get_width() for b in ax.patches), 1.0, rtol=1e-10)


def test_risk_decomposition_by_asset(inputs):
    table = inputs.model.asset_risk()
    ax = pfplot.risk_decomposition(table.lazy(), top=5).axes[0]
    top5 = table.sort("total_var", descending=True).head(5)
    assert [t.get_text() for t in ax.get_yticklabels()] == top5["asset"].to_list()
    widths = [bar.get_width() for bar in ax.patches]
    np.testing.assert_allclose(widths[:5], top5["factor_var"].to_numpy())
    np.testing.assert_allclose(widths[5:], top5["specific_var"].to_numpy())


# --------------------------------------------------------------------------------------
# errors


def test_several_assets_need_select(inputs):
    for fn in (pfplot.exposure_bar, pfplot.exposure_radar):
        with pytest.raises(DuplicateKeyError, match=r"3 assets .*pass select="):
            fn(inputs.betas)
    with pytest.raises(ValueError, match="select="):
        pfplot.rolling_betas(inputs.rolling)


def test_unknown_asset_and_factor(inputs):
    with pytest.raises(UnknownAssetError, match="'ZZZ' is not in the frame"):
        pfplot.exposure_bar(inputs.betas, select="ZZZ")
    with pytest.raises(UnknownAssetError, match="ZZZ"):
        pfplot.rolling_betas(inputs.rolling, select="ZZZ")
    with pytest.raises(ColumnNotFoundError, match="factor 'umd'"):
        pfplot.exposure_radar(inputs.betas, select="AAA", factors=["mkt", "umd"])
    with pytest.raises(ColumnNotFoundError, match="factor 'umd'"):
        pfplot.cumulative_returns(inputs.cs.factor_returns, factors="umd")


def test_missing_columns(inputs):
    with pytest.raises(ColumnNotFoundError, match="beta_<factor>"):
        pfplot.exposure_bar(inputs.betas.select("asset", "alpha"), select="AAA")
    with pytest.raises(ColumnNotFoundError, match="date"):
        pfplot.rolling_betas(inputs.betas, select="AAA")
    with pytest.raises(ColumnNotFoundError, match="'date'"):
        pfplot.cumulative_returns(inputs.cs.factor_returns.rename({"date": "day"}))
    with pytest.raises(ColumnNotFoundError, match="'ic'"):
        pfplot.ic_by_date(inputs.ic.ic.rename({"ic": "value"}))
    with pytest.raises(ColumnNotFoundError, match="'mean_return'"):
        pfplot.quantile_returns(inputs.quantiles.by_date.drop("mean_return"))
    with pytest.raises(ColumnNotFoundError, match="'specific_var'"):
        pfplot.risk_decomposition(inputs.model.asset_risk().drop("specific_var"))
    with pytest.raises(ColumnNotFoundError, match="asset"):
        pfplot.exposure_bar(inputs.betas.drop("asset"), select="AAA")


def test_bad_inputs(inputs):
    with pytest.raises(DuplicateKeyError, match="window=None"):
        pfplot.exposure_bar(inputs.rolling, select="AAA")  # a rolling fit has many rows
    with pytest.raises(TypeError, match="polars DataFrame"):
        pfplot.exposure_bar({"beta_mkt": [1.0]})  # type: ignore[arg-type]
    with pytest.raises(SchemaError, match="non-numeric"):
        pfplot.cumulative_returns(pl.DataFrame({"date": [1], "mkt": ["x"]}))
    with pytest.raises(DuplicateKeyError):
        pfplot.cumulative_returns(pl.DataFrame({"date": [1, 1], "mkt": [0.1, 0.2]}))
    with pytest.raises(ValueError, match="rolling"):
        pfplot.ic_by_date(inputs.ic, rolling=0)
    with pytest.raises(ValueError, match="top"):
        pfplot.risk_decomposition(inputs.model.asset_risk(), top=0)
    with pytest.raises(ValueError, match="std_errors"):
        pfplot.exposure_bar(inputs.betas, select="AAA", std_errors=-1.0)
    with pytest.raises(InsufficientDataError, match="zero variance"):
        pfplot.risk_decomposition(inputs.model.portfolio_risk({"A00": 0.0}))
    by_group = pl.DataFrame({"date": [1, 1], "sector": ["a", "b"], "ic": [0.1, 0.2]})
    with pytest.raises(
        DuplicateKeyError, match=r"repeated \('date', 'forward_returns'\).*Filter one group"
    ):
        pfplot.ic_by_date(by_group)
    assert issubclass(DuplicateKeyError, FactorsError)


def test_missing_matplotlib_names_the_extra(monkeypatch, inputs):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'polars_factors\[plot\]'"):
        pfplot.exposure_bar(inputs.betas, select="AAA")
    with pytest.raises(ImportError):  # also an ImportError
        pfplot.cumulative_returns(inputs.cs.factor_returns)
