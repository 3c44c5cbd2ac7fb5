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
