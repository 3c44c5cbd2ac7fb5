"""The examples run end to end on the real data (they are part of the documentation)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA_DIR

ROOT = Path(__file__).resolve().parents[1]

# Each test runs an example script in a subprocess (about 1 to 5 s each).
pytestmark = pytest.mark.slow


def run_example(name: str) -> str:
    """Run ``examples/<name>`` with warnings as errors; return its stdout."""
    result = subprocess.run(
        [sys.executable, "-W", "error", str(ROOT / "examples" / name)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


@pytest.mark.skipif(not DATA_DIR.exists(), reason=f"real data not found at {DATA_DIR}")
def test_standardize_sp500_example_runs():
    out = run_example("standardize_sp500.py")
    # The summary reports standardized descriptors with cap-weighted mean ~0, std ~1.
    for name in ("size", "bp", "ey", "mom", "value"):
        assert name in out


@pytest.mark.skipif(not DATA_DIR.exists(), reason=f"real data not found at {DATA_DIR}")
def test_cross_section_sp500_example_runs():
    out = run_example("cross_section_sp500.py")
    # Fama-MacBeth tables of both methods: styles, the country factor and GICS sectors.
    for name in ("size", "value", "mom", "vol", "country", "Information Technology", "Utilities"):
        assert name in out
    for section in ("Fama-MacBeth, wls", "Fama-MacBeth, huber", "R²", "wall time"):
        assert section in out


@pytest.mark.skipif(not DATA_DIR.exists(), reason=f"real data not found at {DATA_DIR}")
def test_factor_exposures_example_runs():
    out = run_example("factor_exposures.py")
    # Both models, full sample and rolling, with the four lagged engineered factors.
    for model in ("equal-weighted S&P 500 (mkt)", "Fama-French Mkt-RF"):
        assert model in out
    for name in ("alpha (bp/day)", "momentum", "volatility", "trend", "mean_reversion", "R²"):
        assert name in out
    assert "rolling 126-day fits" in out
    assert "Trading days without a Fama-French row: 0." in out


@pytest.mark.skipif(not DATA_DIR.exists(), reason=f"real data not found at {DATA_DIR}")
def test_ff3_betas_example_runs():
    out = run_example("ff3_betas.py")
    assert "Fama-French 3-factor betas of 505 S&P 500 stocks" in out
    assert "Full sample: 505 stocks fitted" in out
    for name in ("beta_mkt", "beta_smb", "beta_hml", "AAPL", "JPM", "Rolling 252-day fits"):
        assert name in out


@pytest.mark.skipif(not DATA_DIR.exists(), reason=f"real data not found at {DATA_DIR}")
def test_fama_french_sp500_example_runs():
    out = run_example("fama_french_sp500.py")
    assert "Fama-French style factors from the S&P 500, monthly, 2014-2017" in out
    for name in ("SMB", "HML", "SMB_lecture", "HML_lecture", "corr_with_ff", "beta_Mkt-RF"):
        assert name in out
    # 48 months compared, and HML tracks French's closely even in a large-cap universe.
    assert "48" in out


@pytest.mark.skipif(not DATA_DIR.exists(), reason=f"real data not found at {DATA_DIR}")
def test_risk_model_sp500_example_runs():
    out = run_example("risk_model_sp500.py")
    assert "16 factors (size, value, mom, vol, country, 11 sectors); USE4S covariance" in out
    assert "Share of each stock's variance explained by the factors" in out
    assert "implied_vol" in out
    assert "realized_vol" in out
    # the whole-period bias statistic, plain and with the volatility regime adjustment
    assert "│ plain    ┆" in out
    assert "│ VRA      ┆" in out


@pytest.mark.skipif(not DATA_DIR.exists(), reason=f"real data not found at {DATA_DIR}")
def test_barra_style_model_example_runs():
    out = run_example("barra_style_model.py")
    assert "24 descriptors" in out
    # All ten USE4 styles, and every one covers most of the universe's stock-days.
    assert "USE4 styles with coverage above 50%: 10 of 10" in out
    for style in ("growth", "leverage", "earnings_variability"):
        assert style in out
    assert "dividend_yield" not in out  # the data has no dividends
    assert "Fama-MacBeth table of the style returns" in out
    for model in ("USE4 (10 styles)", "hsr (11 styles)", "risk_model.py (size, value, mom, vol)"):
        assert model in out
    assert "Bias statistic, whole period:" in out
