"""Pipeline settings: frozen dataclasses, and the TOML file of ``polars-factors run``.

Every value is checked with a message that names the file, the table and the key, says
what was expected and what was found, and suggests the closest name for a misspelt key.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polars_factors.descriptors._presets import STYLES as PRESET_STYLES
from polars_factors.descriptors._registry import DESCRIPTORS, FUNDAMENTAL_ROLES
from polars_factors.exceptions import ConfigError
from polars_factors.pipeline._checks import (
    BadValueError,
    Check,
    boolean,
    choice,
    choices,
    closest,
    date,
    date_format,
    describe,
    integer,
    paths,
    positive_number,
    scheduler,
    string,
    strings,
)

__all__ = [
    "CANONICAL_COLUMNS",
    "LOCAL",
    "OPTIONAL_COLUMNS",
    "PRESETS",
    "REQUIRED_COLUMNS",
    "STYLES",
    "ClusterConfig",
    "DataConfig",
    "ModelConfig",
    "PipelineConfig",
    "load_config",
    "parse_config",
]

#: Columns the pipeline needs.
REQUIRED_COLUMNS = ("date", "asset", "close")
#: Columns it uses when present (the steps that need a missing one are skipped).
OPTIONAL_COLUMNS = (
    "volume",
    "sector",
    "industry",
    "shares_outstanding",
    # book_equity, net_income, sales (the pipeline's value); the others, period_end,
    # high and low are used by the descriptors of the style presets only.
    *FUNDAMENTAL_ROLES,
    "high",
    "low",
)
CANONICAL_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
#: Styles the pipeline builds itself (without a preset), and the descriptors of ``value``.
STYLES = ("size", "value", "momentum", "volatility", "liquidity")
DEFAULT_STYLES = ("size", "value", "momentum", "volatility")
VALUE_DESCRIPTORS = ("bp", "ey", "sp")
#: Style presets of :mod:`polars_factors.descriptors` (``[model] preset``).
PRESETS = tuple(PRESET_STYLES)
#: Every style name ``[model] styles`` accepts: the pipeline's own and the presets'.
ALL_STYLES = tuple(dict.fromkeys([*STYLES, *(s for p in PRESETS for s in PRESET_STYLES[p])]))
RISK_PRESETS = ("USE4S", "USE4L", "hsr")
METHODS = ("wls", "huber")
COV_TYPES = ("classical", "HC0", "HC1", "HC2", "HC3", "cluster")
CLUSTERS = ("sector", "industry")
#: ``[model] betas_cov_type``: the standard errors of the time-series betas.
BETAS_COV_TYPES = ("classical", "HC0", "HC1", "HAC")
FORMATS = ("auto", "parquet", "csv")
#: Parameters of the rolling time-series betas: alpha, mkt, smb, hml.
BETA_PARAMETERS = 4
#: ``[cluster] scheduler`` (and ``--scheduler``) of a Dask cluster started for the run.
LOCAL = "local"


@dataclass(frozen=True)
class DataConfig:
    """Where the panel comes from and which of its rows are used.

    Attributes
    ----------
    panel
        Parquet or CSV files (paths or globs, absolute); empty: the bundled S&P 500
        sample (``polars_factors.datasets.load_sp500``).
    format
        ``"parquet"``, ``"csv"`` or ``"auto"`` (from each file's extension).
    columns
        Canonical name -> the file's column name, for the columns named differently.
    fama_french
        A Ken French daily factors file (CSV or zip); ``None``: the bundled one.
    start, end
        Rows outside ``[start, end]`` are dropped when read (``None``: no bound).
    assets
        Keep only these assets (``None``: all).
    date_format
        ``strptime`` format of a date column read as text (``None``: ISO dates,
        ``YYYY-MM-DD`` or ``YYYYMMDD``, with or without a time of day).

    Raises
    ------
    ConfigError
        ``start`` after ``end``; two canonical columns mapped to one column; a
        ``date_format`` that does not read a whole date.
    """

    panel: tuple[str, ...] = ()
    format: str = "auto"
    columns: Mapping[str, str] = field(default_factory=dict)
    fama_french: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    assets: tuple[str, ...] | None = None
    date_format: str | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.start > self.end:
            msg = f"[data] start {self.start} is after end {self.end}"
            raise ConfigError(msg)
        seen: dict[str, str] = {}
        for canonical, column in self.columns.items():
            if column in seen:
                msg = (
                    f"[columns] {seen[column]} and {canonical} both name the column {column!r}; "
                    "each canonical column needs a column of its own"
                )
                raise ConfigError(msg)
            seen[column] = canonical
        if self.date_format is not None:
            try:
                date_format(self.date_format)
            except BadValueError as bad:
                msg = (
                    f"[data] date_format {self.date_format!r} does not read a whole date "
                    f"(a year, a month and a day); {bad.hint}"
                )
                raise ConfigError(msg) from None


@dataclass(frozen=True)
class ModelConfig:
    """The model: styles, classification and estimation settings.

    Attributes
    ----------
    styles
        Styles to build. Without a preset: a subset of the pipeline's own ``size``,
        ``value``, ``momentum``, ``volatility``, ``liquidity`` (default: the first
        four). With a preset: styles of that preset (default: all of them). A style
        whose inputs are missing is skipped with a note.
    preset
        ``"use4"`` or ``"hsr"``: the styles are those of
        :data:`polars_factors.descriptors.STYLES`, built from the Barra descriptors
        (:func:`polars_factors.descriptors.compute` and
        :func:`~polars_factors.descriptors.styles`) instead of the pipeline's own
        four. ``None`` (``"none"`` in a file): the pipeline's own styles, unless
        ``styles`` names a style only the presets have (``beta``,
        ``residual_volatility``, ...): then the first preset that has every listed
        style (``use4``, else ``hsr``).
    descriptors
        Options of the preset's descriptors, descriptor -> keyword -> value, e.g.
        ``{"beta": {"half_life": 90}}`` (the keywords of its builder; the options
        of one five-year descriptor apply to all of them).
    fill_missing
        With a preset: a stock's missing style exposure (too short a history, a
        fundamental not yet published) is the median of that date's stocks of its
        industry (of all stocks, where none of the industry has one, or without
        industry factors), so that the stock stays in
        the regression (:func:`polars_factors.fill_missing`); ``False``: such a
        stock is left out of that date's regression. Without a preset: no effect.
    value
        Descriptors averaged into ``value`` without a preset: ``bp``, ``ey``, ``sp``
        (with one, they feed the Fama-French HML sort only).
    industry
        Classification column of the industry factors (``"sector"``, ``"industry"``)
        or ``None`` for none.
    country
        Whether the regression has a country (market) factor.
    method
        ``"wls"`` or ``"huber"`` cross-sectional regressions.
    cov_type, cluster
        Standard errors of the ``wls`` factor returns
        (:func:`polars_factors.cross_section`): ``"classical"`` (default), ``"HC0"`` to
        ``"HC3"``, or ``"cluster"`` with ``cluster`` the classification whose groups
        share errors on a date (``"sector"`` or ``"industry"``, a column of the data).
    min_count
        Fewest stocks with a descriptor for it to be standardized on a date.
    momentum_lookback, momentum_skip
        12-1 momentum: close ``skip`` rows ago over close ``lookback`` rows ago.
    volatility_window, liquidity_window
        Rows of the volatility (std of daily returns) and liquidity (log mean dollar
        volume) windows.
    quantiles
        Number of quantile portfolios per style.
    rolling_window
        Rows of the rolling time-series betas.
    betas_cov_type, betas_nw_lags
        Standard errors of the full-sample and rolling betas
        (:func:`polars_factors.betas`): ``"classical"`` (default), ``"HC0"``,
        ``"HC1"``, or ``"HAC"`` with ``betas_nw_lags`` Newey-West lags (required
        with it, refused without it).
    risk_preset
        Factor covariance preset (``USE4S``, ``USE4L``, ``hsr``).
    specific_half_life, specific_nw_lags
        Specific-risk half-life (dates) and Newey-West lags.
    realized_window
        Dates over which the realized volatility of the cap-weighted portfolio is
        compared with the model's forecast.
    focus_asset
        The stock of the single-stock figures (``None``: the largest at the end).

    Raises
    ------
    ConfigError
        Settings that contradict each other: ``momentum_lookback`` not above
        ``momentum_skip``, a ``rolling_window`` shorter than the 4 parameters of the
        betas, the ``value`` style without descriptors, no factor at all; a style
        not in the preset (or in none); descriptor options without a preset, for a
        descriptor the styles do not use, or that its builder refuses.
    """

    styles: tuple[str, ...] = DEFAULT_STYLES
    preset: str | None = None
    descriptors: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    fill_missing: bool = True
    value: tuple[str, ...] = VALUE_DESCRIPTORS
    industry: str | None = "sector"
    country: bool = True
    method: str = "wls"
    cov_type: str = "classical"
    cluster: str | None = None
    min_count: int = 25
    momentum_lookback: int = 252
    momentum_skip: int = 21
    volatility_window: int = 63
    liquidity_window: int = 21
    quantiles: int = 5
    rolling_window: int = 252
    betas_cov_type: str = "classical"
    betas_nw_lags: int | None = None
    risk_preset: str = "USE4S"
    specific_half_life: int = 84
    specific_nw_lags: int = 5
    realized_window: int = 252
    focus_asset: str | None = None

    def __post_init__(self) -> None:
        self._resolve_preset()
        problem = self._cov_type_problem()
        if not problem and self.momentum_lookback <= self.momentum_skip:
            problem = (
                f"[model] momentum_lookback ({self.momentum_lookback}) must be larger than "
                f"momentum_skip ({self.momentum_skip}): momentum is the return from "
                "momentum_lookback rows ago to momentum_skip rows ago"
            )
        elif self.rolling_window < BETA_PARAMETERS:
            problem = (
                f"[model] rolling_window ({self.rolling_window}) must be at least "
                f"{BETA_PARAMETERS}: the rolling betas fit {BETA_PARAMETERS} parameters "
                "(alpha, mkt, smb, hml)"
            )
        elif "value" in self.styles and not self.value and self.preset is None:
            problem = '[model] value is empty but styles has "value"; list its descriptors'
        elif not self.styles and self.industry is None and not self.country:
            problem = (
                '[model] no factor: styles is empty, industry is "none" and country is '
                "false; the regression needs at least one"
            )
        if problem:
            raise ConfigError(problem)
        if self.descriptors:
            self._check_descriptors()

    @property
    def style_descriptors(self) -> dict[str, dict[str, float]]:
        """The preset's descriptor weights of each style of ``styles`` (empty without one)."""
        if self.preset is None:
            return {}
        return {s: dict(PRESET_STYLES[self.preset][s]) for s in self.styles}

    def _cov_type_problem(self) -> str:
        """Return the contradiction of the standard-error options ("" if none).

        ``cov_type``, ``cluster`` and ``method`` of the regression; ``betas_cov_type``
        and ``betas_nw_lags`` of the betas.
        """
        if self.cov_type != "classical" and self.method == "huber":
            return (
                f"[model] cov_type = {self.cov_type!r} applies to method = 'wls'; a Huber "
                "regression reports statsmodels' H1 standard errors: remove cov_type"
            )
        if self.cov_type == "cluster" and self.cluster is None:
            return (
                "[model] cov_type = 'cluster' needs cluster = 'sector' or 'industry' (the "
                "classification whose stocks share errors on a date)"
            )
        if self.cluster is not None and self.cov_type != "cluster":
            return (
                f"[model] cluster = {self.cluster!r} is only used with cov_type = 'cluster' "
                f"(got {self.cov_type!r})"
            )
        if self.betas_cov_type == "HAC" and self.betas_nw_lags is None:
            return (
                "[model] betas_cov_type = 'HAC' needs betas_nw_lags = <lags> (Newey-West; "
                "e.g. 5 for daily returns)"
            )
        if self.betas_nw_lags is not None and self.betas_cov_type != "HAC":
            return (
                f"[model] betas_nw_lags = {self.betas_nw_lags} is only used with "
                f"betas_cov_type = 'HAC' (got {self.betas_cov_type!r})"
            )
        return ""

    def _resolve_preset(self) -> None:
        """Set the preset's default styles, infer a preset from ``styles``, check both."""
        preset, styles = self.preset, self.styles
        if preset is not None and preset not in PRESETS:
            hint = closest(str(preset), PRESETS)
            msg = f"[model] preset must be one of {', '.join(map(repr, PRESETS))} or 'none'" + (
                f"; {hint}" if hint else ""
            )
            raise ConfigError(msg)
        if preset is None:
            own = [s for s in styles if s not in STYLES]
            if not own:
                return
            fits = [p for p in PRESETS if all(s in PRESET_STYLES[p] for s in styles)]
            if not fits:
                unknown = [s for s in own if not any(s in PRESET_STYLES[p] for p in PRESETS)]
                if unknown:
                    hint = closest(unknown[0], ALL_STYLES)
                    msg = f"[model] unknown style {unknown[0]!r}" + (f"; {hint}" if hint else "")
                else:
                    msg = (
                        f"[model] styles {', '.join(map(repr, styles))} mix the presets: no "
                        "preset has them all; set preset and list the styles of that preset"
                    )
                raise ConfigError(msg)
            object.__setattr__(self, "preset", fits[0])
            return
        if styles is DEFAULT_STYLES:  # not given: every style of the preset
            object.__setattr__(self, "styles", tuple(PRESET_STYLES[preset]))
            return
        outside = [s for s in styles if s not in PRESET_STYLES[preset]]
        if outside:
            hint = closest(outside[0], list(PRESET_STYLES[preset]))
            msg = (
                f"[model] style {outside[0]!r} is not a style of the {preset} preset (its "
                f"styles: {', '.join(PRESET_STYLES[preset])})" + (f"; {hint}" if hint else "")
            )
            raise ConfigError(msg)

    def _check_descriptors(self) -> None:
        """Check the descriptor options: a preset, used descriptors, accepted keywords."""
        if self.preset is None:
            msg = (
                "[descriptors] sets options of the preset styles' descriptors, but there "
                'is no preset: set [model] preset = "use4" (or "hsr")'
            )
            raise ConfigError(msg)
        used = {d for parts in self.style_descriptors.values() for d in parts}
        if "lncap" in used:
            used.add("nlsize")
        for name, options in self.descriptors.items():
            if name not in DESCRIPTORS:
                hint = closest(name, list(DESCRIPTORS))
                msg = f"[descriptors] unknown descriptor {name!r}" + (f"; {hint}" if hint else "")
                raise ConfigError(msg)
            if name not in used:
                msg = (
                    f"[descriptors] {name}: no style of [model] styles uses it (they use "
                    f"{', '.join(sorted(used))})"
                )
                raise ConfigError(msg)
            try:
                _dry_run(name, options)
            except (TypeError, ValueError) as exc:
                msg = f"[descriptors] {name}: {exc}"
                raise ConfigError(msg) from None


_FUNDAMENTALS = tuple(r for r in FUNDAMENTAL_ROLES if r != "period_end")


def _dry_run(name: str, options: Mapping[str, Any]) -> None:
    """Build the plan of descriptor ``name`` with ``options`` on an empty frame."""
    import polars as pl  # noqa: PLC0415

    from polars_factors.descriptors import compute  # noqa: PLC0415

    schema: dict[str, Any] = {"date": pl.Date, "asset": pl.String, "period_end": pl.Date}
    fundamentals = {"period_end": "period_end"}
    for column in ("ret", "market_ret", "close", "high", "low", "volume", "shares_outstanding"):
        schema[column] = pl.Float64
    for role in _FUNDAMENTALS:
        schema[role], fundamentals[role] = pl.Float64, role
    compute(
        pl.DataFrame(schema=schema).lazy(), [name], market="market_ret",
        fundamentals=fundamentals, parameters={name: options}, check_keys=False,
    )  # fmt: skip


@dataclass(frozen=True)
class ClusterConfig:
    """Where the per-chunk work of a run goes: this process, or a Dask cluster.

    Attributes
    ----------
    scheduler
        ``None``: every step runs in this process. ``"local"``: a Dask
        ``LocalCluster`` of ``workers`` processes on this machine, started for the
        run and closed at its end. Else the address of a running Dask scheduler,
        ``"tcp://10.0.0.5:8786"`` (or ``"10.0.0.5:8786"``), whose workers must see
        the output folder and the input files at the same paths (a shared
        filesystem) and run the same versions of polars_factors and Polars.
    workers
        Worker processes of ``scheduler = "local"`` (a running scheduler has its own).
    timeout
        Seconds to wait for the scheduler to answer and for its first worker.

    Raises
    ------
    ConfigError
        ``scheduler`` is neither ``"local"`` nor an address (``host:port`` with an
        optional ``tcp://``, ``tls://``, ...), ``workers`` is under 1, ``timeout``
        is not a positive number.
    """

    scheduler: str | None = None
    workers: int = 2
    timeout: float = 30.0

    def __post_init__(self) -> None:
        problem = ""
        if self.scheduler is not None:
            try:
                scheduler(self.scheduler)
            except BadValueError as bad:
                problem = (
                    f"[cluster] scheduler must be {bad.expected}, got {describe(self.scheduler)}"
                    + (f"; {bad.hint}" if bad.hint else "")
                )
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            problem = f"[cluster] workers must be an integer >= 1, got {describe(self.workers)}"
        try:
            positive_number(self.timeout)
        except BadValueError:
            problem = f"[cluster] timeout must be a number > 0, got {describe(self.timeout)}"
        if problem:
            raise ConfigError(problem)


@dataclass(frozen=True)
class PipelineConfig:
    """Everything ``polars-factors`` needs for one run.

    Attributes
    ----------
    data, model
        See :class:`DataConfig` and :class:`ModelConfig`.
    output
        Output folder.
    figures
        Whether to draw PNG figures (needs matplotlib).
    source
        Where the settings come from, for messages and the report.
    chunk_rows
        Rows per chunk of the per-date and per-asset steps (memory: about a few
        hundred bytes per row of a chunk).
    cluster
        Where the per-chunk work runs (:class:`ClusterConfig`; default: here).

    Raises
    ------
    ConfigError
        ``[data] assets`` and ``[model]`` settings that contradict each other: fewer
        assets than ``min_count`` or ``quantiles``, a ``focus_asset`` not among them.
    """

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    output: Path = Path("polars_factors_output")
    figures: bool = True
    source: str = "defaults"
    chunk_rows: int = 1_000_000
    cluster: ClusterConfig = field(default_factory=ClusterConfig)

    def __post_init__(self) -> None:
        assets, model = self.data.assets, self.model
        if assets is None:
            return
        n = len(set(assets))
        problem = ""
        if model.min_count > n:
            problem = (
                f"[model] min_count ({model.min_count}) is more than the {n} [data] assets: "
                "no descriptor would be standardized; lower min_count or list more assets"
            )
        elif model.quantiles > n:
            problem = (
                f"[model] quantiles ({model.quantiles}) is more than the {n} [data] assets; "
                "lower quantiles or list more assets"
            )
        elif model.focus_asset is not None and model.focus_asset not in assets:
            problem = f"[model] focus_asset {model.focus_asset!r} is not in [data] assets"
        if problem:
            raise ConfigError(problem)


# ---------------------------------------------------------------------------------
# Tables

_DATA_KEYS: dict[str, Check] = {
    "panel": paths,
    "format": choice(FORMATS),
    "fama_french": string,
    "start": date,
    "end": date,
    "assets": strings,
    "date_format": date_format,
}
_MODEL_KEYS: dict[str, Check] = {
    "styles": choices(ALL_STYLES),
    "preset": choice(PRESETS, none="none"),
    "fill_missing": boolean,
    "value": choices(VALUE_DESCRIPTORS),
    "industry": choice(("sector", "industry"), none="none"),
    "country": boolean,
    "method": choice(METHODS),
    "cov_type": choice(COV_TYPES),
    "cluster": choice(CLUSTERS, none="none"),
    "min_count": integer(1),
    "momentum_lookback": integer(2),
    "momentum_skip": integer(0),
    "volatility_window": integer(2),
    "liquidity_window": integer(1),
    "quantiles": integer(2),
    "rolling_window": integer(2),
    "betas_cov_type": choice(BETAS_COV_TYPES),
    "betas_nw_lags": integer(0),
    "risk_preset": choice(RISK_PRESETS),
    "specific_half_life": integer(1),
    "specific_nw_lags": integer(0),
    "realized_window": integer(2),
    "focus_asset": string,
}
_OUTPUT_KEYS: dict[str, Check] = {"dir": string, "figures": boolean, "chunk_rows": integer(1)}
_CLUSTER_KEYS: dict[str, Check] = {
    "scheduler": scheduler,
    "workers": integer(1),
    "timeout": positive_number,
}
_TABLES: dict[str, dict[str, Check] | None] = {
    "data": _DATA_KEYS,
    "columns": None,  # canonical name -> the file's column
    "model": _MODEL_KEYS,
    "descriptors": None,  # descriptor -> its options (a table)
    "output": _OUTPUT_KEYS,
    "cluster": _CLUSTER_KEYS,
}


def _checked(where: str, table: Any, keys: Mapping[str, Check], source: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        msg = f"{source}: [{where}] must be a table, got {describe(table)}"
        raise ConfigError(msg)
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in keys:
            hint = closest(key, list(keys))
            msg = f"{source}: unknown key {key!r} in [{where}]; " + (
                hint or "expected one of " + ", ".join(keys)
            )
            raise ConfigError(msg)
        try:
            out[key] = keys[key](value)
        except BadValueError as bad:
            msg = f"{source}: [{where}] {key} must be {bad.expected}, got {describe(value)}"
            raise ConfigError(msg + (f"; {bad.hint}" if bad.hint else "")) from None
    return out


def _columns(table: Any, source: str) -> dict[str, str]:
    keys = dict.fromkeys(CANONICAL_COLUMNS, string)
    return _checked("columns", table, keys, source)


def _descriptor_options(table: Any, source: str) -> dict[str, dict[str, Any]]:
    if not isinstance(table, dict):
        msg = f"{source}: [descriptors] must be a table, got {describe(table)}"
        raise ConfigError(msg)
    out: dict[str, dict[str, Any]] = {}
    for name, options in table.items():
        if not isinstance(options, dict):
            msg = (
                f"{source}: [descriptors] {name} must be a table of options, e.g. "
                f"{name} = {{ half_life = 90 }}; got {describe(options)}"
            )
            raise ConfigError(msg)
        out[name] = dict(options)
    return out


def parse_config(document: Mapping[str, Any], *, base: Path, source: str) -> PipelineConfig:
    """Check a parsed TOML document and build the :class:`PipelineConfig`.

    Parameters
    ----------
    document
        The TOML document as a mapping (``tomllib.loads``).
    base
        Folder that relative paths are relative to (the config file's folder).
    source
        Name of the configuration in error messages (the file name).

    Returns
    -------
    PipelineConfig
        With absolute paths.

    Raises
    ------
    ConfigError
        An unknown table or key, a value of the wrong type, a bad choice, a missing
        ``[data] panel``, ``[cluster] workers`` with a running scheduler, or
        settings that contradict each other (``start`` after ``end``,
        ``momentum_lookback`` not above ``momentum_skip``, two canonical
        columns mapped to one column, ...; see :class:`DataConfig`,
        :class:`ModelConfig` and :class:`PipelineConfig`).

    Examples
    --------
    >>> from pathlib import Path
    >>> cfg = parse_config(
    ...     {"data": {"panel": "prices.csv"}, "columns": {"asset": "ticker"},
    ...      "model": {"styles": ["momentum"]}},
    ...     base=Path("/data"), source="demo.toml",
    ... )
    >>> cfg.data.panel, dict(cfg.data.columns), cfg.model.styles
    (('/data/prices.csv',), {'asset': 'ticker'}, ('momentum',))
    >>> parse_config({"modle": {}}, base=Path("."), source="demo.toml")
    Traceback (most recent call last):
    ...
    polars_factors.exceptions.ConfigError: demo.toml: unknown table [modle]; did you mean 'model'?
    """
    for name in document:
        if name not in _TABLES:
            hint = closest(name, list(_TABLES)) or "expected " + ", ".join(_TABLES)
            msg = f"{source}: unknown table [{name}]; {hint}"
            raise ConfigError(msg)
    data = _checked("data", document.get("data", {}), _DATA_KEYS, source)
    columns = _columns(document.get("columns", {}), source)
    model = _checked("model", document.get("model", {}), _MODEL_KEYS, source)
    model["descriptors"] = _descriptor_options(document.get("descriptors", {}), source)
    output = _checked("output", document.get("output", {}), _OUTPUT_KEYS, source)
    cluster = _checked("cluster", document.get("cluster", {}), _CLUSTER_KEYS, source)
    if "panel" not in data:
        msg = f"{source}: [data] panel is required (a parquet or CSV path or glob)"
        raise ConfigError(msg)
    if "workers" in cluster and cluster.get("scheduler", LOCAL) != LOCAL:
        msg = (
            f"{source}: [cluster] workers is the size of scheduler = {LOCAL!r}; a running "
            f"scheduler ({cluster['scheduler']}) has its own workers: remove workers"
        )
        raise ConfigError(msg)

    def resolve(path: str) -> str:
        return str(Path(path) if Path(path).is_absolute() else base / Path(path).expanduser())

    data["panel"] = tuple(resolve(p) for p in data["panel"])
    if "fama_french" in data:
        data["fama_french"] = resolve(data["fama_french"])
    try:
        return PipelineConfig(
            data=DataConfig(columns=columns, **data),
            model=ModelConfig(**model),
            cluster=ClusterConfig(**cluster),
            output=Path(resolve(output.get("dir", "polars_factors_output"))),
            figures=output.get("figures", True),
            source=source,
            chunk_rows=output.get("chunk_rows", 1_000_000),
        )
    except ConfigError as err:  # settings that contradict each other
        msg = f"{source}: {err}"
        raise ConfigError(msg) from None


def load_config(path: str | Path) -> PipelineConfig:
    """Read and check a ``polars-factors run`` TOML file.

    Parameters
    ----------
    path
        The TOML file; relative paths inside it are relative to its folder.

    Returns
    -------
    PipelineConfig

    Raises
    ------
    FileNotFoundError
        No such file.
    ConfigError
        Invalid TOML (with line and column), or an invalid setting
        (:func:`parse_config`).
    """
    path = Path(path)
    if not path.is_file():
        msg = f"config file not found: {path}"
        raise FileNotFoundError(msg)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: invalid TOML: {exc}"
        raise ConfigError(msg) from None
    except UnicodeDecodeError:
        msg = f"{path}: not a UTF-8 text file"
        raise ConfigError(msg) from None
    return parse_config(document, base=path.resolve().parent, source=str(path))
