"""RiskModel.fit: the parts it assembles, checked against the functions called by hand."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import polars_factors as pf
from polars_factors.exceptions import (
    ColumnNotFoundError,
    DataLossWarning,
    InsufficientDataError,
)

SECTORS = ["energy", "tech", "utilities"]
COV = {"half_life_vol": 10, "half_life_corr": 20, "min_periods": 6}
SPEC = {"half_life": 10, "nw_lags": 1}


@pytest.fixture
def panel(rng) -> pl.DataFrame:
    n_dates, n_assets = 30, 15
    rows = []
    for d in range(n_dates):
        for a in range(n_assets):
            if a == 14 and d < n_dates - 1:
                continue  # a new listing: on the last date only
            rows.append((d, f"A{a:02d}", SECTORS[a % 3]))
    n = len(rows)
    return pl.DataFrame(
        {
            "date": [r[0] for r in rows],
            "asset": [r[1] for r in rows],
            "sector": [r[2] for r in rows],
            "size": rng.normal(size=n),
            "value": rng.normal(size=n),
            "mcap": rng.lognormal(size=n),
            "ret": rng.normal(scale=0.02, size=n),
        }
    )


def regress(panel: pl.DataFrame) -> pf.CrossSectionResult:
    return pf.cross_section(
        panel, "ret", ["size", "value"], industry="sector", country=True, weights="mcap"
    )


@pytest.mark.parametrize("lag", [0, 1, 3])
def test_fit_assembles_the_parts(panel, lag):
    res = regress(panel)
    with pytest.warns(DataLossWarning, match="A14"):
        model = pf.risk.RiskModel.fit(
            panel, res, exposures=["size", "value"], industry="sector", country=True,
            lag=lag, size="mcap", covariance=COV, specific=SPEC,
        )  # fmt: skip
    est = 29 - lag
    assert model.at == 29
    # covariance: factor_covariance on the factor returns up to the estimation date
    cov = pf.risk.factor_covariance(res.factor_returns, dates=[est], **COV).drop("date")
    assert model.covariance.equals(cov)
    assert model.factors == ("size", "value", "country", *SECTORS)
    # specific variances: specific_risk on the residuals with the panel's market caps
    resid = res.residuals.join(panel.select("date", "asset", "mcap"), on=["date", "asset"])
    spec = (
        pf.risk.specific_risk(resid.filter(pl.col("date") <= est), size="mcap", **SPEC)
        .filter(pl.col("date") == est)
        .drop("date")
        .filter(pl.col("asset") != "A14")  # no history: left out of the model
        .sort("asset")
    )
    assert model.specific_var.equals(spec)
    # exposures: the panel's last date, one-hot sectors built here with numpy
    rows = panel.filter(pl.col("date") == 29, pl.col("asset") != "A14").sort("asset")
    labels = rows.get_column("sector").to_numpy()
    onehot = (labels[:, None] == np.array(SECTORS)[None, :]).astype(float)
    want = np.column_stack([rows.select("size", "value").to_numpy(), np.ones(len(rows)), onehot])
    got = model.exposures.drop("asset").to_numpy()
    np.testing.assert_array_equal(got, want)
    assert model.dropped_assets == ("A14",)


def test_fit_on_a_lazy_panel_and_an_earlier_date(panel):
    res = regress(panel.lazy())
    model = pf.risk.RiskModel.fit(
        panel.lazy(), res, exposures=["size", "value"], industry="sector", country=True,
        at=20, lag=1, covariance=COV, specific=SPEC,
    )  # fmt: skip
    assert model.at == 20
    # a lazy result is collected anew here: the streaming engine's sums may differ in
    # the last bits from those fit() collected
    cov = pf.risk.factor_covariance(res.collect().factor_returns, dates=[19], **COV)
    assert_frame_equal(model.covariance, cov.drop("date"), rel_tol=1e-10, abs_tol=1e-15)
    assert model.exposures.height == 14


def test_fit_with_other_key_names(panel):
    # date= and asset= name the key columns (of the panel and the result); at= is the day
    keys = {"date": "day", "asset": "ticker"}
    kw = {"exposures": ["size", "value"], "industry": "sector", "country": True,
          "at": 20, "lag": 1, "size": "mcap", "covariance": COV, "specific": SPEC}  # fmt: skip
    want = pf.risk.RiskModel.fit(panel, regress(panel), **kw)
    renamed = panel.rename(keys)
    res = pf.cross_section(
        renamed, "ret", ["size", "value"], industry="sector", country=True, weights="mcap",
        date="day", asset="ticker",
    )  # fmt: skip
    model = pf.risk.RiskModel.fit(renamed, res, date="day", asset="ticker", **kw)
    assert (model.at, model.asset) == (20, "ticker")
    assert_frame_equal(model.exposures, want.exposures.rename({"asset": "ticker"}))
    assert_frame_equal(model.covariance, want.covariance)
    assert_frame_equal(model.specific_var, want.specific_var.rename({"asset": "ticker"}))


def test_fit_errors(panel):
    res = regress(panel)
    kw = {"exposures": ["size", "value"], "industry": "sector", "country": True,
          "covariance": COV, "specific": SPEC}  # fmt: skip
    with pytest.raises(ValueError, match="lag must be a non-negative integer"):
        pf.risk.RiskModel.fit(panel, res, lag=-1, **kw)
    with pytest.raises(InsufficientDataError, match="more than 40 dates"):
        pf.risk.RiskModel.fit(panel, res, lag=40, **kw)
    with pytest.raises(ColumnNotFoundError, match="cap"):
        pf.risk.RiskModel.fit(panel, res, size="cap", **kw)
    with pytest.raises(ValueError, match="industry="):
        pf.risk.RiskModel.fit(panel, res, exposures=["size", "value"], country=True, covariance=COV)
    with pytest.raises(InsufficientDataError, match="no rows on the model date"):
        pf.risk.RiskModel.fit(panel.filter(pl.col("date") < 29), res, **kw)
    with pytest.raises(InsufficientDataError, match="null"):
        # the default min_periods (K + 1 = 7 dates) is not reached on date 3
        pf.risk.RiskModel.fit(panel, res, at=3, **{**kw, "covariance": {}})
