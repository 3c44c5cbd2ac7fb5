"""The pipeline with a style preset: ``[model] preset``, ``styles`` and ``[descriptors]``.

The configuration checks are quick. The runs (marked slow, one per module fixture) use
a year and a half of the bundled S&P 500 sample with its fundamentals joined point in
time, plus synthetic cash flow, assets, liabilities, debt and dividends, so that every
descriptor of the presets can be computed, and check:

- the raw descriptors against the per-asset numpy loops of the descriptor tests
  (beta and hsigma with a configured half-life, on the pipeline's own returns and the
  Fama-French market) to 1e-10;
- the exposures against the library chain :func:`polars_factors.descriptors.styles`
  on the pipeline's descriptors (the seam between the two) to 1e-10;
- USE4 standardization of every style on every date (cap-weighted mean 0,
  equal-weighted std 1) and residual volatility orthogonal (sqrt-cap weights) to beta
  and size, before the missing exposures are filled with the sector's median;
- every stock of the universe in the regression (no row left out for a missing style);
- the notes on the descriptors and styles that the columns do not allow;
- a thread-pool executor gives the same files.
"""

from __future__ import annotations

import datetime as dt
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import polars_factors as pf
from polars_factors import cli
from polars_factors.datasets import data_path
from polars_factors.descriptors import STYLES
from polars_factors.exceptions import ConfigError, DataLossWarning
from polars_factors.pipeline import (
    DataConfig,
    ModelConfig,
    PipelineConfig,
    RunResult,
    load_config,
    parse_config,
    run,
)
from tests.features.test_descriptors_price import regression_loop

START, END = dt.date(2016, 1, 1), dt.date(2017, 6, 30)
MODEL = {"min_count": 10, "rolling_window": 60, "realized_window": 40, "quantiles": 3}


def parse(model: dict[str, object], descriptors: dict[str, object] | None = None) -> ModelConfig:
    document: dict[str, object] = {"data": {"panel": "p.parquet"}, "model": model}
    if descriptors is not None:
        document["descriptors"] = descriptors
    return parse_config(document, base=Path("/x"), source="t.toml").model


# ---------------------------------------------------------------------------------
# configuration


def test_preset_defaults_to_all_its_styles() -> None:
    for preset in ("use4", "hsr"):
        model = parse({"preset": preset})
        assert model.preset == preset
        assert model.styles == tuple(STYLES[preset])
        assert model.style_descriptors == {s: dict(p) for s, p in STYLES[preset].items()}


def test_preset_with_a_subset_of_its_styles() -> None:
    model = parse({"preset": "hsr", "styles": ["value", "beta"]})
    assert model.styles == ("value", "beta")
    assert model.style_descriptors == {
        "value": {"btop": 1.0, "sp": 1.0, "cetop": 1.0},
        "beta": {"beta": 1.0},
    }


def test_no_preset_keeps_the_pipeline_styles() -> None:
    model = parse({"styles": ["size", "value"]})
    assert model.preset is None
    assert model.style_descriptors == {}
    assert parse({"preset": "none"}).styles == ("size", "value", "momentum", "volatility")


def test_preset_inferred_from_styles() -> None:
    # beta is no style of the pipeline's own: the first preset with every listed style.
    assert parse({"styles": ["beta", "residual_volatility", "size"]}).preset == "use4"
    assert parse({"styles": ["beta", "dividend_yield"]}).preset == "hsr"
    # A name of both (size, momentum) takes the preset's definition.
    assert parse({"styles": ["size", "beta"]}).style_descriptors["size"] == {"lncap": 1.0}


@pytest.mark.parametrize(
    ("model", "descriptors", "message"),
    [
        ({"preset": "use5"}, None, "[model] preset must be one of 'use4', 'hsr', 'none'"),
        ({"preset": "use4", "styles": ["value"]}, None, "not a style of the use4 preset"),
        (
            {"preset": "use4", "styles": ["book_to_prce"]},
            None,
            "did you mean 'book_to_price'?",
        ),
        ({"styles": ["residual_volatility", "dividend_yield"]}, None, "mix the presets"),
        ({"styles": ["betta"]}, None, "did you mean 'beta'?"),
        ({}, {"beta": {"half_life": 30}}, "there is no preset"),
        ({"preset": "use4"}, {"bta": {}}, "unknown descriptor 'bta'; did you mean 'beta'?"),
        ({"preset": "use4", "styles": ["size"]}, {"beta": {}}, "no style of [model] styles"),
        ({"preset": "use4"}, {"beta": {"half_lif": 30}}, "unexpected keyword argument"),
        ({"preset": "use4"}, {"beta": {"half_life": -1}}, "`half_life` must be a positive"),
        ({"preset": "use4"}, {"lncap": {"x": 1}}, "'lncap' takes no options"),
        ({"preset": "use4"}, {"egro": {"yrs": 3}}, "unexpected keyword argument 'yrs'"),
        ({"preset": "use4"}, {"beta": 30}, "[descriptors] beta must be a table of options"),
        ({"preset": "use4"}, [], "[descriptors] must be a table"),
    ],
)
def test_bad_preset_settings(model: dict[str, object], descriptors: object, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse(model, descriptors)  # type: ignore[arg-type]
    assert message in str(err.value)
    assert str(err.value).startswith("t.toml: ")


def test_model_config_checks_descriptor_options_directly() -> None:
    ok = ModelConfig(preset="use4", descriptors={"egro": {"years": 3}, "nlsize": {}})
    assert ok.descriptors["egro"] == {"years": 3}
    with pytest.raises(ConfigError, match="rstr: `lag` must be an integer"):
        ModelConfig(preset="use4", descriptors={"rstr": {"lag": "x"}})


def test_fill_missing_setting() -> None:
    assert parse({"preset": "use4"}).fill_missing is True
    assert parse({"preset": "use4", "fill_missing": False}).fill_missing is False
    with pytest.raises(ConfigError, match="fill_missing must be true or false"):
        parse({"preset": "use4", "fill_missing": "no"})


def test_value_without_descriptors_is_fine_with_a_preset() -> None:
    # [model] value is the pipeline's own value style; hsr's value has its own.
    assert parse({"preset": "hsr", "styles": ["value"], "value": []}).styles == ("value",)


# ---------------------------------------------------------------------------------
# runs


def full_panel(path: Path) -> Path:
    """Bundled prices and fundamentals, with synthetic figures for every other role."""
    fundamentals = pl.scan_parquet(data_path("sp500_fundamentals.parquet")).with_columns(
        operating_cash_flow=1.3 * pl.col("net_income") + 0.02 * pl.col("sales"),
        total_assets=2.5 * pl.col("book_equity").abs() + 0.5 * pl.col("sales"),
        dividends=pl.when(pl.col("net_income") > 0).then(0.3 * pl.col("net_income")),
    )
    fundamentals = fundamentals.with_columns(
        total_liabilities=pl.col("total_assets") - pl.col("book_equity"),
        long_term_debt=0.4 * (pl.col("total_assets") - pl.col("book_equity")),
    )
    prices = pl.scan_parquet(data_path("sp500_prices.parquet")).drop("open")
    sectors = pl.scan_parquet(data_path("sp500_securities.parquet")).select("asset", "sector")
    panel = (
        pf.io.point_in_time(prices, fundamentals, period_end="period_end", lag="90d")
        .join(sectors, on="asset", how="left", maintain_order="left")
        .filter(pl.col("date").is_between(START, END))
        .collect()
    )
    file = path / "panel.parquet"
    panel.write_parquet(file)
    return file


CONFIG = """
[data]
panel = "panel.parquet"
[model]
preset = "use4"
min_count = 10
rolling_window = 60
realized_window = 40
quantiles = 3
[descriptors]
beta = {{ half_life = 30 }}
egro = {{ years = 3 }}
[output]
dir = "{out}"
figures = false
"""


@pytest.fixture(scope="module")
def use4(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """The use4 preset from a TOML file, every descriptor's column present."""
    folder = tmp_path_factory.mktemp("use4")
    full_panel(folder)
    (folder / "config.toml").write_text(CONFIG.format(out=folder / "out"))
    return run(load_config(folder / "config.toml"))


def hsr_config(out: Path) -> PipelineConfig:
    model = ModelConfig(
        preset="hsr", styles=("volatility", "value", "leverage", "size", "beta"), **MODEL
    )
    data = DataConfig(start=START, end=END)
    return PipelineConfig(data=data, model=model, output=out, figures=False)


@pytest.fixture(scope="module")
def hsr(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """A subset of the hsr styles on the bundled sample (no cash flow, no debt)."""
    return run(hsr_config(tmp_path_factory.mktemp("hsr") / "out"))


def _read(result: RunResult, name: str) -> pl.DataFrame:
    return pl.read_parquet(result.output / f"{name}.parquet")


@pytest.mark.slow
def test_use4_every_style_and_descriptor(use4: RunResult) -> None:
    res = use4.results
    assert res.styles == list(STYLES["use4"])
    assert res.descriptors == {s: dict(p) for s, p in STYLES["use4"].items()}
    assert not [n for n in res.notes if "descriptor" in n or "style" in n]
    desc = _read(use4, "descriptors")
    names = {d for parts in STYLES["use4"].values() for d in parts} - {"nlsize"}
    assert names <= set(desc.columns)
    for name in names:  # every descriptor has values (the growth ones from 2017-04)
        assert desc.get_column(name).is_not_null().sum() > 1000, name
    exposures = _read(use4, "exposures")
    assert set(STYLES["use4"]) <= set(exposures.columns)
    assert "model: styles (use4 preset) beta, momentum, size" in "\n".join(use4.lines)
    report = (use4.output / "report.md").read_text()
    assert "| residual_volatility | 0.74 dastd + 0.16 cmra + 0.1 hsigma |" in report
    assert "median of the date's stocks of its sector (of all, if none has one)" in report
    # Missing exposures filled: only rows without a next-day return leave the fit.
    stats = _read(use4, "regression_stats")
    assert stats["n_excluded"].sum() == exposures["fwd_ret"].null_count()
    assert exposures.select(pl.col(*STYLES["use4"]).null_count()).sum_horizontal().item() == 0


@pytest.mark.slow
def test_use4_beta_hsigma_match_the_loop(use4: RunResult) -> None:
    # The configured half-life of beta (30; hsigma keeps its 63), the pipeline's
    # returns and the Fama-French market (mkt + rf, in excess of rf): against the
    # per-asset numpy WLS loop.
    ff = pf.datasets.load_fama_french("daily", "3").select(
        "date", (pl.col("Mkt-RF") + pl.col("RF")).alias("m"), pl.col("RF").alias("rf")
    )
    desc = _read(use4, "descriptors").select("date", "asset", "ret", "beta", "hsigma")
    for asset in ("AAPL", "XOM", "MSFT", "LNT"):
        rows = (
            desc.filter(pl.col("asset") == asset)
            .sort("date")
            .join(ff, on="date", how="left", maintain_order="left")
        )
        y = (rows["ret"] - rows["rf"]).fill_null(np.nan).to_numpy()
        x = (rows["m"] - rows["rf"]).fill_null(np.nan).to_numpy()
        slope, _ = regression_loop(y, x, window=252, half_life=30, min_periods=63)
        _, resid = regression_loop(y, x, window=252, half_life=63, min_periods=63)
        for got, want in ((rows["beta"], slope), (rows["hsigma"], resid)):
            values = got.fill_null(np.nan).to_numpy()
            np.testing.assert_array_equal(np.isnan(values), np.isnan(want))
            np.testing.assert_allclose(values, want, rtol=1e-10, atol=1e-12)


def _chain(result: RunResult, min_count: int, *, fill: bool = True) -> pl.DataFrame:
    """The library chain on the pipeline's descriptors and estimation universe.

    Its warnings (descriptors with too few stocks on a date) are the run's notes.
    ``fill``: missing exposures are the date's sector median, else the date's median.
    """
    res = result.results
    names = sorted({d for parts in res.descriptors.values() for d in parts})
    universe = _read(result, "descriptors").filter(
        pl.col("mcap").is_not_null() & pl.col("sector").is_not_null()
    )
    if "nlsize" in names:
        universe = pf.descriptors.compute(
            universe, ["nlsize"], close="close", shares="shares_outstanding"
        )
    lf = universe.select("date", "asset", "sector", "mcap", *names)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = pf.descriptors.styles(lf, res.descriptors, weights="mcap", min_count=min_count)
    notes = "\n".join(res.notes)
    for warning in caught:
        assert issubclass(warning.category, DataLossWarning)
        column = str(warning.message).split("'")[1]
        assert f"warning: '{column}': " in notes, (column, notes)
    if fill:
        styles = list(res.descriptors)
        out = pf.fill_missing(out, styles, by=["date", "sector"])
        out = pf.fill_missing(out, styles, by=["date"])
    return out


@pytest.mark.slow
@pytest.mark.parametrize("which", ["use4", "hsr"])
def test_exposures_are_the_library_chain(which: str, request: pytest.FixtureRequest) -> None:
    result: RunResult = request.getfixturevalue(which)
    styles = result.results.styles
    exposures = _read(result, "exposures")
    expected = _chain(result, MODEL["min_count"]).join(
        exposures.select("date", "asset"), on=["date", "asset"], how="semi"
    )
    got = exposures.select("date", "asset", *styles).sort("date", "asset")
    assert got.height == expected.height > 0
    assert_frame_equal(
        got,
        expected.select("date", "asset", *styles).sort("date", "asset"),
        check_exact=False,
        rel_tol=1e-10,
        abs_tol=1e-10,
    )


@pytest.mark.slow
@pytest.mark.parametrize("which", ["use4", "hsr"])
def test_styles_standardized_every_date(which: str, request: pytest.FixtureRequest) -> None:
    # Before the missing exposures are filled with sector medians.
    result: RunResult = request.getfixturevalue(which)
    exposures = _chain(result, MODEL["min_count"], fill=False)
    for style in result.results.styles:
        x, cap = pl.col(style), pl.col("mcap").filter(pl.col(style).is_not_null())
        stats = (
            exposures.group_by("date")
            .agg(
                ((x * pl.col("mcap")).sum() / cap.sum()).alias("mean"),
                x.std(ddof=0).alias("std"),
                x.count().alias("n"),
            )
            .filter(pl.col("n") >= MODEL["min_count"])
        )
        assert stats.height > 50, style
        np.testing.assert_allclose(stats["mean"].to_numpy(), 0.0, atol=1e-9, err_msg=style)
        np.testing.assert_allclose(stats["std"].to_numpy(), 1.0, rtol=1e-9, err_msg=style)


@pytest.mark.slow
def test_residual_volatility_orthogonal_to_beta_and_size(use4: RunResult) -> None:
    # Residual volatility = (e - m) / s, e the residual of its regression on (1, beta,
    # size) with weights sqrt(cap), m and s the mean and std of its z-score. So the
    # same weighted regression of the exposure gives beta and size coefficients of 0
    # (and an intercept of -m / s), on every date.
    exposures = _chain(use4, MODEL["min_count"], fill=False)
    exposures = exposures.drop_nulls(["residual_volatility", "beta", "size"])
    worst, dates = 0.0, 0
    for _, day in exposures.group_by("date"):
        root_w = day["mcap"].to_numpy() ** 0.25  # rows scaled by sqrt(weight)
        design = np.column_stack([np.ones(day.height), day["beta"], day["size"]])
        y = day["residual_volatility"].to_numpy()
        coef, *_ = np.linalg.lstsq(design * root_w[:, None], y * root_w, rcond=None)
        worst, dates = max(worst, float(np.abs(coef[1:]).max())), dates + 1
    assert dates > 50
    assert worst < 1e-9


@pytest.mark.slow
def test_hsr_notes_what_the_columns_do_not_allow(hsr: RunResult) -> None:
    res = hsr.results
    assert res.styles == ["volatility", "value", "size", "beta"]
    assert res.descriptors["value"] == {"btop": 1.0, "sp": 1.0}
    notes = "\n".join(res.notes)
    assert "descriptors not computed, for want of a column: cetop (no operating_cash_flow)" in notes
    assert "mlev (no long_term_debt)" in notes
    assert "style 'leverage' skipped: none of its descriptors (mlev, dtoa, blev)" in notes
    assert "style 'value' from btop, sp only (cetop not computed" in notes


@pytest.mark.slow
def test_thread_pool_gives_the_same_files(hsr: RunResult, tmp_path: Path) -> None:
    cfg = replace(hsr_config(tmp_path / "out"), chunk_rows=50_000)
    with ThreadPoolExecutor(2) as pool:
        pooled = run(cfg, executor=pool)
    for name in ("descriptors", "exposures", "factor_returns", "regression_stats"):
        a, b = _read(hsr, name), _read(pooled, name)
        assert_frame_equal(a, b, check_exact=False, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.slow
def test_cli_runs_styles_of_a_preset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # styles alone (no preset key): beta is a preset style, so the use4 preset.
    panel = pf.datasets.load_sp500().filter(pl.col("date") >= dt.date(2016, 1, 1))
    panel.collect().write_parquet(tmp_path / "panel.parquet")
    config = tmp_path / "c.toml"
    config.write_text(
        '[data]\npanel = "panel.parquet"\nstart = "2017-01-01"\n'
        '[model]\nstyles = ["beta", "size", "liquidity"]\nmin_count = 10\n'
        "rolling_window = 60\nrealized_window = 40\nquantiles = 3\n"
        f'[output]\ndir = "{tmp_path / "out"}"\nfigures = false\n'
    )
    assert cli.main(["run", str(config)]) == 0
    assert "model: styles (use4 preset) beta, size, liquidity;" in capsys.readouterr().out
    exposures = pl.read_parquet(tmp_path / "out" / "exposures.parquet")
    assert {"beta", "size", "liquidity"} <= set(exposures.columns)
    # 2017 only, but the descriptors start from 2016: [data] start filters the rows read.
    assert exposures["date"].min() >= dt.date(2017, 1, 1)
