"""The pipeline's ``[model] cov_type`` and ``cluster``: robust standard errors end to end.

The configuration checks are quick. The run (slow) uses a year of the bundled S&P 500
sample with sector-clustered standard errors and checks the written factor returns
against :func:`polars_factors.cross_section` on the written exposures (the seam
between the command line and the library).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import polars_factors as pf
from polars_factors.exceptions import ConfigError
from polars_factors.pipeline import (
    DataConfig,
    ModelConfig,
    PipelineConfig,
    RunResult,
    parse_config,
    run,
)

MODEL = {"min_count": 10, "rolling_window": 60, "realized_window": 40, "quantiles": 3}
STYLES = ("size", "value", "volatility")


def parse(model: dict[str, object]) -> ModelConfig:
    document: dict[str, object] = {"data": {"panel": "p.parquet"}, "model": model}
    return parse_config(document, base=Path("/x"), source="t.toml").model


def test_cov_type_options() -> None:
    assert parse({}).cov_type == "classical"
    assert parse({"cov_type": "HC3"}).cov_type == "HC3"
    model = parse({"cov_type": "cluster", "cluster": "industry"})
    assert (model.cov_type, model.cluster) == ("cluster", "industry")
    assert parse({"cluster": "none"}).cluster is None


@pytest.mark.parametrize(
    ("model", "match"),
    [
        ({"cov_type": "HC9"}, "cov_type"),
        ({"cov_type": "HC1", "method": "huber"}, "applies to method = 'wls'"),
        ({"cov_type": "cluster"}, "needs cluster = 'sector' or 'industry'"),
        ({"cluster": "sector"}, "only used with cov_type = 'cluster'"),
        ({"cov_type": "cluster", "cluster": "country"}, "cluster"),
    ],
)
def test_cov_type_contradictions_are_config_errors(model: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse(model)


@pytest.fixture(scope="module")
def clustered(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    model = ModelConfig(styles=STYLES, cov_type="cluster", cluster="sector", **MODEL)
    data = DataConfig(start=dt.date(2016, 1, 1), end=dt.date(2016, 12, 31))
    out = tmp_path_factory.mktemp("cov") / "out"
    return run(PipelineConfig(data=data, model=model, output=out, figures=False))


@pytest.mark.slow
def test_clustered_standard_errors_equal_the_library(clustered: RunResult) -> None:
    exposures = pl.read_parquet(clustered.output / "exposures.parquet")
    written = pl.read_parquet(clustered.output / "factor_returns.parquet")
    kwargs = {
        "industry": "sector", "country": True, "weights": "w", "constraint_weights": "mcap",
        "check_keys": False,
    }  # fmt: skip
    library = pf.cross_section(
        exposures, "fwd_ret", list(STYLES), cov_type="cluster", cluster="sector", **kwargs
    ).factor_returns
    key = ["date", "factor"]
    assert_frame_equal(
        written.sort(key).select(*key, "factor_return", "std_error"),
        library.sort(key).select(*key, "factor_return", "std_error"),
        rel_tol=1e-9,
        abs_tol=1e-12,
    )
    # The option took effect: the classical standard errors differ.
    classical = pf.cross_section(exposures, "fwd_ret", list(STYLES), **kwargs).factor_returns
    ratio = written.sort(key)["std_error"] / classical.sort(key)["std_error"]
    assert (ratio - 1.0).abs().drop_nulls().max() > 0.05  # type: ignore[operator]


# ------------------------------------------------------------------ betas_cov_type


def test_betas_cov_type_options() -> None:
    assert (parse({}).betas_cov_type, parse({}).betas_nw_lags) == ("classical", None)
    model = parse({"betas_cov_type": "HAC", "betas_nw_lags": 5})
    assert (model.betas_cov_type, model.betas_nw_lags) == ("HAC", 5)
    assert parse({"betas_cov_type": "HC1"}).betas_cov_type == "HC1"


@pytest.mark.parametrize(
    ("model", "match"),
    [
        ({"betas_cov_type": "HC3"}, "betas_cov_type"),
        ({"betas_cov_type": "HAC"}, "needs betas_nw_lags"),
        ({"betas_nw_lags": 5}, "only used with betas_cov_type = 'HAC'"),
        ({"betas_cov_type": "HC0", "betas_nw_lags": 2}, "only used with betas_cov_type"),
        ({"betas_cov_type": "HAC", "betas_nw_lags": -1}, "betas_nw_lags"),
    ],
)
def test_betas_cov_type_contradictions_are_config_errors(
    model: dict[str, object], match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        parse(model)


@pytest.mark.parametrize(("cov_type", "nw_lags"), [("HC1", None), ("HAC", 3)], ids=["HC1", "HAC3"])
def test_betas_step_passes_the_standard_errors_to_the_library(
    tmp_path: Path, cov_type: str, nw_lags: int | None
) -> None:
    """The pipeline's betas step (full sample and rolling) equals pf.betas with the option."""
    from polars_factors.pipeline import _models, _steps  # noqa: PLC0415

    n = 90
    dates = [dt.date(2020, 1, 1) + dt.timedelta(days=d) for d in range(n)]
    ff = pl.DataFrame(
        {
            "date": dates,
            "mkt": [0.01 * (((7 * d) % 13) - 6) / 6 for d in range(n)],
            "smb": [0.005 * (((5 * d) % 11) - 5) / 5 for d in range(n)],
            "hml": [0.004 * (((3 * d) % 7) - 3) / 3 for d in range(n)],
            "rf": [0.0001] * n,
        }
    )
    desc = (
        pl.DataFrame({"date": dates * 3, "asset": [a for a in "abc" for _ in range(n)]})
        .join(ff, on="date", maintain_order="left")
        .with_row_index("i")
        .with_columns(
            ret=0.0002
            + 1.2 * pl.col("mkt")
            - 0.3 * pl.col("smb")
            + 0.01
            * ((pl.col("i") * 17 % 29).cast(pl.Float64) / 29 - 0.5)
            * (1 + (pl.col("i") % 5).cast(pl.Float64))
        )
        .select("date", "asset", "ret")
        .sort("date", "asset")
    )
    model = ModelConfig(rolling_window=40, betas_cov_type=cov_type, betas_nw_lags=nw_lags)
    res = _steps.Results(summary={"first": dates[0], "last": dates[-1]})
    _models.betas(desc.lazy(), ff, model, res, _steps.Sink(tmp_path, rows=1000))

    panel = desc.join(ff, on="date").with_columns(excess=pl.col("ret") - pl.col("rf"))
    factors = ["mkt", "smb", "hml"]
    opts = {"cov_type": cov_type, "nw_lags": nw_lags}
    full = pf.betas(panel, "excess", factors, **opts)  # type: ignore[arg-type]
    assert_frame_equal(res.tables["betas"], full.sort("asset"), rel_tol=1e-10, abs_tol=1e-13)
    rolling = pf.betas(panel, "excess", factors, window=40, **opts)  # type: ignore[arg-type]
    written = pl.read_parquet(tmp_path / "rolling_betas.parquet").sort("asset", "date")
    expected = rolling.filter(pl.col("beta_mkt").is_not_null()).sort("asset", "date")
    assert_frame_equal(written, expected, rel_tol=1e-10, abs_tol=1e-13)
    # The option took effect: the classical standard errors differ.
    classical = pf.betas(panel, "excess", factors, window=40)
    ratio = (
        expected["beta_mkt_std_error"]
        / classical.filter(pl.col("beta_mkt").is_not_null()).sort("asset", "date")[
            "beta_mkt_std_error"
        ]
    )
    assert (ratio - 1.0).abs().max() > 0.01  # type: ignore[operator]
