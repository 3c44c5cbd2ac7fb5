"""The public surface: one table of panel functions, the namespace and the exports agree."""

from __future__ import annotations

import inspect
import subprocess
import sys

import polars as pl
import pytest

import polars_factors as pf
from polars_factors._api import PANEL_FUNCTIONS, load

FUNCTIONS = [load(module, name) for module, name in PANEL_FUNCTIONS]
NAMES = [name for _, name in PANEL_FUNCTIONS]
FRAMES = [pl.DataFrame({"date": [1], "asset": ["a"]}), pl.LazyFrame({"date": [1], "asset": ["a"]})]


def test_the_table_has_no_repeats() -> None:
    assert len(set(NAMES)) == len(NAMES)


@pytest.mark.parametrize("fn", FUNCTIONS, ids=NAMES)
def test_every_panel_function_is_exported_at_the_top(fn: object) -> None:
    name = fn.__name__  # type: ignore[attr-defined]
    assert getattr(pf, name) is fn
    assert name in pf.__all__
    first = next(iter(inspect.signature(fn).parameters.values()))  # type: ignore[arg-type]
    assert first.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD  # the frame


@pytest.mark.parametrize("frame", FRAMES, ids=["eager", "lazy"])
@pytest.mark.parametrize("fn", FUNCTIONS, ids=NAMES)
def test_method_signature_is_the_function_minus_the_frame(
    fn: object, frame: pl.DataFrame | pl.LazyFrame
) -> None:
    method = getattr(frame.factors, fn.__name__)  # type: ignore[attr-defined]
    want = inspect.signature(fn)  # type: ignore[arg-type]
    params = list(want.parameters.values())[1:]
    assert inspect.signature(method) == want.replace(parameters=params)
    assert method.__doc__ == fn.__doc__
    assert method.__name__ == fn.__name__  # type: ignore[attr-defined]


def _keyed(fn: object) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(fn).parameters)  # type: ignore[arg-type]


@pytest.mark.parametrize("fn", FUNCTIONS, ids=NAMES)
def test_every_panel_function_takes_the_key_columns(fn: object) -> None:
    # one vocabulary: date= and asset= name the key columns, keyword-only
    params = _keyed(fn)
    assert params["date"].default == "date"
    assert params["date"].kind is inspect.Parameter.KEYWORD_ONLY
    if "asset" in params:
        assert params["asset"].default == "asset"
        assert params["asset"].kind is inspect.Parameter.KEYWORD_ONLY
    assert not [p for p in params if p.endswith("_column")]


KEYED = {
    "RiskModel.fit": pf.risk.RiskModel.fit,
    "RiskModel.from_parts": pf.risk.RiskModel.from_parts,
    "RiskModel.realized_vs_implied": pf.risk.RiskModel.realized_vs_implied,
    **{f"plot.{name}": getattr(pf.plot, name) for name in pf.plot.__all__},
}


@pytest.mark.parametrize("fn", list(KEYED.values()), ids=list(KEYED))
def test_date_and_asset_are_column_names_elsewhere_too(fn: object) -> None:
    # a date or an asset value has another name (at=, select=); no *_column keywords
    params = _keyed(fn)
    for key in ("date", "asset"):
        if key in params:
            assert params[key].default == key
    assert not [p for p in params if p.endswith("_column")]


def test_the_namespace_has_exactly_the_table() -> None:
    public = {n for n in dir(pl.DataFrame({}).factors) if not n.startswith("_")}
    assert public == set(NAMES)


def test_a_method_calls_its_function_with_the_frame() -> None:
    df = pl.DataFrame({"date": [1, 1, 2, 2], "asset": list("abab"), "x": [1.0, 3.0, 2.0, 0.0]})
    assert df.factors.zscore("x").equals(pf.zscore(df, "x"))
    lazy = df.lazy().factors.rank(["x"], suffix="_r")
    assert isinstance(lazy, pl.LazyFrame)
    assert lazy.collect().equals(pf.rank(df, "x", suffix="_r"))
    with pytest.raises(TypeError, match="unexpected keyword"):
        df.factors.zscore("x", nope=1)


def test_modules_are_not_shadowed_by_functions() -> None:
    # the module of the standardization transforms is reachable as a module
    assert pf.standardization.zscore is pf.zscore
    assert callable(pf.standardize)
    assert pf.regression.cross_section is pf.cross_section


def test_import_loads_only_the_front_door() -> None:
    # numpy, scipy and the subpackages load when a function is first used
    code = (
        "import sys, polars_factors; "
        "print(sorted(m for m in ('numpy', 'scipy', 'matplotlib', 'pandas', 'statsmodels', "
        "'polars_factors.regression', 'polars_factors.risk', 'polars_factors.pipeline') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_lazy_attributes() -> None:
    import polars_factors.exceptions as exceptions_module  # noqa: PLC0415

    assert pf.exceptions is exceptions_module
    assert isinstance(pf.__version__, str)
    assert pf.__version__ == __import__("importlib.metadata").metadata.version("polars_factors")
    assert set(pf.__all__) <= set(dir(pf))
    for name in pf.__all__:
        assert getattr(pf, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = pf.nope  # type: ignore[attr-defined]
    from polars_factors import fama_french, regression  # noqa: PLC0415  (resolved lazily)

    assert fama_french is pf.portfolio.fama_french
    assert regression.fama_macbeth is pf.fama_macbeth
