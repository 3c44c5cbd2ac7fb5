r"""The whole pipeline behind ``polars-factors demo`` and ``polars-factors run CONFIG.toml``.

From a panel of prices, fundamentals and sectors to descriptors, standardized
exposures, Fama-French factors, cross-sectional factor returns, time-series betas and
a risk model, written as parquet files with a Markdown report and PNG figures.

Examples
--------
Run the demo's configuration into a folder (about 7 s; what ``polars-factors demo``
does)::

    from polars_factors.pipeline import demo_config, run

    result = run(demo_config("demo_output"))
    print(result.summary())

A configuration is a frozen dataclass; ``polars-factors run`` builds it from TOML:

>>> from pathlib import Path
>>> from polars_factors.pipeline import parse_config
>>> document = {"data": {"panel": "prices.parquet"}, "model": {"styles": ["size"]}}
>>> cfg = parse_config(document, base=Path("/data"), source="mine.toml")
>>> cfg.model.styles
('size',)
"""

from __future__ import annotations

from polars_factors.pipeline._config import (
    CANONICAL_COLUMNS,
    STYLES,
    ClusterConfig,
    DataConfig,
    ModelConfig,
    PipelineConfig,
    load_config,
    parse_config,
)
from polars_factors.pipeline._run import (
    DEMO_OUTPUT,
    RunResult,
    demo_config,
    run,
    with_output,
    with_scheduler,
)
from polars_factors.pipeline._steps import Results

__all__ = [
    "CANONICAL_COLUMNS",
    "DEMO_OUTPUT",
    "STYLES",
    "ClusterConfig",
    "DataConfig",
    "ModelConfig",
    "PipelineConfig",
    "Results",
    "RunResult",
    "demo_config",
    "load_config",
    "parse_config",
    "run",
    "with_output",
    "with_scheduler",
]
