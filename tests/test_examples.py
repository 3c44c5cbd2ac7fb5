"""The examples run end to end on the real data (they are part of the documentation)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA_DIR

ROOT = Path(__file__).resolve().parents[1]


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
