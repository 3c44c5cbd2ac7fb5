"""Risk model assembly from inconsistent inputs: exact exception types, no silent zeros.

A factor of the factor returns (or of the covariance) without an exposure, or an
exposure without a factor return, used to become an all-zero column and leave that
factor's risk out; these tests pin the errors that replace it.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import polars_factors as pf
from polars_factors.exceptions import (
    ColumnNotFoundError,
    FactorsError,
    InsufficientDataError,
    InvalidDataError,
)
from polars_factors.risk import _input
from polars_factors.risk.model import RiskModel

SECTORS = ["energy", "tech", "utilities"]
COV = {"half_life_vol": 10, "half_life_corr": 20, "min_periods": 6}
SPEC = {"half_life": 10}


@pytest.fixture
def market_panel(rng) -> pl.DataFrame:
    """Returns driven by a strong market factor, sectors and one style."""
    n_dates, n_assets = 40, 30
    market = rng.normal(scale=0.02, size=n_dates)
    sector_ret = rng.normal(scale=0.004, size=(n_dates, 3))
    rows = [(d, a) for d in range(n_dates) for a in range(n_assets)]
    size = rng.normal(size=len(rows))
    ret = [
        market[d] + sector_ret[d, a % 3] + 0.002 * size[i] + rng.normal(scale=0.004)
        for i, (d, a) in enumerate(rows)
    ]
    return pl.DataFrame(
        {
            "date": [d for d, _ in rows],
            "asset": [f"A{a:02d}" for _, a in rows],
            "sector": [SECTORS[a % 3] for _, a in rows],
            "size": size,
            "ret": ret,
        }
    )


@pytest.fixture
def with_country(market_panel) -> pf.CrossSectionResult:
    return pf.cross_section(market_panel, "ret", "size", industry="sector", country=True)


def fit(panel, res, **kw):
    opts = {"exposures": "size", "industry": "sector", "country": True,
            "covariance": COV, "specific": SPEC} | kw  # fmt: skip
    return RiskModel.fit(panel, res, **opts)


# ------------------------------------------------------------- RiskModel.fit


def test_country_false_after_a_country_regression_raises(market_panel, with_country):
    # the old behaviour, rebuilt by hand: the 'country' factor as an all-zero column
    right = fit(market_panel, with_country)
    zeroed = RiskModel.from_parts(
        right.exposures.with_columns(pl.lit(0.0).alias("country")),
        right.covariance,
        right.specific_var,
    )
    weights = dict.fromkeys(right.exposures.get_column("asset"), 1 / 30)
    true_var = right.portfolio_risk(weights).summary().item(0, "total_var")
    silent_var = zeroed.portfolio_risk(weights).summary().item(0, "total_var")
    assert silent_var < true_var / 3  # the understatement the error now prevents
    with pytest.raises(InvalidDataError, match=r"'country'.*pass country=True"):
        fit(market_panel, with_country, country=False)


def test_the_error_is_a_value_error_and_a_factors_error(market_panel, with_country):
    with pytest.raises(ValueError, match="match no exposure") as info:
        fit(market_panel, with_country, country=False)
    assert isinstance(info.value, FactorsError)


def test_industry_not_given_raises(market_panel, with_country):
    with pytest.raises(InvalidDataError, match=r"'energy', 'tech', 'utilities'.*industry="):
        fit(market_panel, with_country, industry=None)


def test_industry_given_without_industry_factors_raises(market_panel):
    res = pf.cross_section(market_panel, "ret", "size", country=True)
    with pytest.raises(InvalidDataError, match="no industry factors"):
        fit(market_panel, res)


def test_style_without_a_factor_return_raises(market_panel, with_country):
    panel = market_panel.with_columns(value=pl.col("size") * 2)
    with pytest.raises(InvalidDataError, match=r"exposures 'value' have no factor return"):
        fit(panel, with_country, exposures=["size", "value"])


def test_style_left_out_raises(market_panel, with_country):
    # 'size' is a factor of the regression but not an exposure here, and no sector
    with pytest.raises(InvalidDataError, match=r"'size'.*match no exposure"):
        fit(market_panel, with_country, exposures=[])


def test_country_without_a_country_factor_raises(market_panel):
    res = pf.cross_section(market_panel, "ret", "size", industry="sector")
    with pytest.raises(InvalidDataError, match=r"no country factor 'country'.*country=False"):
        fit(market_panel, res)
    with pytest.raises(InvalidDataError, match="no country factor 'market'"):
        fit(market_panel, res, country="market")


def test_wrong_industry_column_raises(market_panel, with_country):
    panel = market_panel.with_columns(
        pl.col("sector").replace({"energy": "oil", "tech": "software"}).alias("gics")
    )
    with pytest.raises(InvalidDataError, match=r"'energy', 'tech'.*industry column 'gics'"):
        fit(panel, with_country, industry="gics")


def test_missing_industry_column_raises(market_panel, with_country):
    with pytest.raises(ColumnNotFoundError, match="gics"):
        fit(market_panel, with_country, industry="gics")


def test_empty_industry_on_the_model_date_is_a_zero_exposure(market_panel, with_country):
    # 'utilities' has no stock on the last date but had before: a real 0, no error
    panel = market_panel.filter(~((pl.col("date") == 39) & (pl.col("sector") == "utilities")))
    res = pf.cross_section(panel, "ret", "size", industry="sector", country=True)
    model = fit(panel, res, lag=1)  # estimated up to date 38: every sector has returns
    assert "utilities" in model.factors
    assert model.exposures.get_column("utilities").to_list() == [0.0] * model.exposures.height


def test_categorical_industry_is_matched(market_panel):
    panel = market_panel.with_columns(pl.col("sector").cast(pl.Categorical))
    res = pf.cross_section(panel, "ret", "size", industry="sector", country=True)
    model = fit(panel, res)
    assert model.factors == ("size", "country", *SECTORS)


# ------------------------------------------------------- RiskModel.from_parts


@pytest.fixture
def parts(market_panel, with_country):
    model = fit(market_panel, with_country)
    return model.exposures, model.covariance, model.specific_var


def long_exposures(exposures: pl.DataFrame) -> pl.DataFrame:
    return exposures.unpivot(index="asset", variable_name="factor", value_name="exposure")


def test_long_exposures_without_a_factor_raise(parts):
    exposures, cov, spec = parts
    long = long_exposures(exposures).filter(pl.col("factor") != "country")
    with pytest.raises(InvalidDataError, match=r"no row for the factors 'country'"):
        RiskModel.from_parts(long, cov, spec)


def test_long_exposures_with_explicit_zero_rows_pass(parts):
    exposures, cov, spec = parts
    long = long_exposures(exposures)
    # absent (asset, factor) rows are 0 as long as the factor has some row
    sparse = long.filter((pl.col("exposure") != 0) | (pl.col("asset") == "A00"))
    model = RiskModel.from_parts(sparse, cov, spec)
    assert model.exposures.equals(exposures)


def test_wide_exposures_without_a_factor_column_raise(parts):
    exposures, cov, spec = parts
    with pytest.raises(ColumnNotFoundError, match="country"):
        RiskModel.from_parts(exposures.drop("country"), cov, spec)


def test_covariance_with_a_null_factor_raises(parts):
    exposures, cov, spec = parts
    short = cov.with_columns(
        pl.when((pl.col("factor_1") == "tech") | (pl.col("factor_2") == "tech"))
        .then(None)
        .otherwise(pl.col("covariance"))
        .alias("covariance")
    )
    with pytest.raises(InsufficientDataError, match="null or NaN entries"):
        RiskModel.from_parts(exposures, short, spec)


# ------------------------------------------------------ factor_covariance inputs


def wide_returns(x: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame({"date": list(range(x.shape[0])), "a": x[:, 0], "b": x[:, 1]})


def test_infinite_factor_return_raises(rng):
    x = rng.normal(size=(10, 2))
    x[4, 1] = -np.inf
    with pytest.raises(InvalidDataError, match=r"infinite.*'b' on 4"):
        pf.risk.factor_covariance(wide_returns(x))


def test_null_date_still_raises(rng):
    fr = wide_returns(rng.normal(size=(10, 2))).with_columns(
        pl.when(pl.col("date") == 3).then(None).otherwise(pl.col("date")).alias("date")
    )
    with pytest.raises(InvalidDataError, match="null 'date'"):
        pf.risk.factor_covariance(fr)


def test_all_missing_returns_give_null_matrices(rng):
    x = np.full((6, 2), np.nan)
    with pytest.warns(pf.DataLossWarning, match="every covariance is null"):
        out = pf.risk.factor_covariance(wide_returns(x).fill_nan(None), min_periods=1)
    assert out.height == 24
    assert out.get_column("covariance").null_count() == 24


# Unit-scale random factor returns: the units check would warn.
@pytest.mark.filterwarnings("ignore::polars_factors.UnitsWarning")
def test_partial_covariance_matrix_is_refused_with_a_hint(rng):
    x = rng.normal(size=(20, 2))
    x[:15, 1] = np.nan  # 'b' starts late: null row and column on the early dates
    cov = pf.risk.factor_covariance(wide_returns(x).fill_nan(None), min_periods=3)
    early = cov.filter(pl.col("date") == 10)
    assert early.get_column("covariance").null_count() == 3
    with pytest.raises(InvalidDataError, match="fewer than min_periods"):
        _input.covariance_stack(early)
