"""The four reference-workflow examples run on the bundled data and print sane numbers.

Each example runs in a subprocess with warnings as errors and ``--output`` a temporary
folder (when matplotlib is installed); the test reads the key figures back from the
printed tables and checks that every figure was written as a PNG.
"""

from __future__ import annotations

import importlib.util
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")

# Each test runs an example script in a subprocess (about 0.5 to 3 s each).
pytestmark = pytest.mark.slow


def run_example(name: str, out: Path, *args: str) -> str:
    """Run ``examples/<name>`` with ``-W error`` (and ``--output out``); return stdout."""
    command = [sys.executable, "-W", "error", str(ROOT / "examples" / name), *args]
    if HAS_MATPLOTLIB:
        command += ["--output", str(out)]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=300, check=False, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def row(out: str, label: str, nth: int = 0) -> list[float]:
    """The numbers of the ``nth`` table row whose first cell is ``label``."""
    lines = [line for line in out.splitlines() if re.match(rf"│ {re.escape(label)}\s+┆", line)]
    assert len(lines) > nth, f"no table row {label!r} (#{nth}) in:\n{out}"
    cells = [c.strip() for c in lines[nth].strip("│").split("┆")[1:]]
    return [float(c) if NUMBER.fullmatch(c) else float("nan") for c in cells]


def number_after(out: str, text: str) -> float:
    """The first number printed after ``text``."""
    match = re.search(re.escape(text) + r"\D*?(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)", out)
    assert match, f"{text!r} not in:\n{out}"
    return float(match.group(1))


def first_row_after(out: str, text: str) -> list[float]:
    """The numbers of the first table row printed after ``text`` (a single-row table)."""
    assert text in out, f"{text!r} not in:\n{out}"
    for line in out.split(text, 1)[1].splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("┆")]
        if line.startswith("│") and all(NUMBER.fullmatch(c) for c in cells):
            return [float(c) for c in cells]
    raise AssertionError(f"no numeric row after {text!r} in:\n{out}")


def check_figures(out: Path, names: list[str]) -> None:
    if not HAS_MATPLOTLIB:
        return
    for name in names:
        path = out / name
        assert path.is_file(), f"{name} was not written"
        assert path.read_bytes()[:8] == PNG_MAGIC, f"{name} is not a PNG"
        assert path.stat().st_size > 5_000


def test_factor_regression_demo(tmp_path: Path) -> None:
    out = run_example("factor_regression_demo.py", tmp_path)
    assert "50 assets x 12 months" in out
    assert number_after(out, "correlation of estimated and true factor returns, all factors") > 0.9
    for factor in ("country", "style_1", "style_2", "style_3"):
        corr_huber, rmse_huber, corr_ols, rmse_ols, true_std = row(out, factor, 0)
        assert corr_huber > 0.9
        assert corr_ols > 0.9
        assert 0 < rmse_huber < true_std / 2
        # With the +-10% jumps, Huber stays accurate and beats OLS.
        corr_huber, rmse_huber, _, rmse_ols, _ = row(out, factor, 1)
        assert corr_huber > 0.9
        assert rmse_huber < rmse_ols
    if importlib.util.find_spec("pandas") is not None:
        assert number_after(out, "largest difference") < 1e-10
    check_figures(tmp_path, ["factor_regression_scatter.png", "factor_regression_style_1.png"])


def test_factor_exposure_analyzer(tmp_path: Path) -> None:
    out = run_example("factor_exposure_analyzer.py", tmp_path)
    assert "Factor exposures of AAPL" in out
    r2 = number_after(out, "R² =")
    assert 0.0 <= r2 <= 1.0
    beta, std_error, t_stat, standardized = row(out, "mkt")
    assert 0.5 < beta < 1.5
    assert std_error > 0
    assert t_stat == pytest.approx(beta / std_error, rel=1e-2)
    assert 0 < standardized < 1
    for feature in ("momentum", "volatility", "trend", "mean_reversion"):
        row(out, f"{feature} (bp/std)")
    q05, q50, q95, _ = row(out, "mkt", 1)  # rolling market beta
    assert 0 < q05 <= q50 <= q95 < 2
    r2_rolling = row(out, "R²")
    assert all(0.0 <= v <= 1.0 for v in r2_rolling)
    check_figures(tmp_path, ["exposure_bar.png", "exposure_radar.png", "rolling_betas.png"])


def test_factor_exposure_analyzer_unknown_ticker() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "factor_exposure_analyzer.py"),
            "--ticker",
            "NOPE",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 2
    assert "'NOPE' is not in the bundled S&P 500 panel" in result.stderr
    assert "Traceback" not in result.stderr


def test_fundamental_factor_models(tmp_path: Path) -> None:
    out = run_example("fundamental_factor_models.py", tmp_path)
    # SMB and HML by sorts against French's: HML tracks closely, SMB loosely.
    days, corr_hml, *_ = row(out, "HML")
    assert days > 500
    assert corr_hml > 0.6
    assert row(out, "SMB")[1] > 0.2
    assert row(out, "HML_lecture")[1] > 0.5
    # The tech portfolio: a market beta above 1, R² in [0, 1], with both factor sets.
    for name in ("ours", "French"):
        alpha, b_mkt, _, _, _, t_mkt, _, _, r2 = row(out, name)
        assert 0.8 < b_mkt < 1.6
        assert t_mkt > 10
        assert 0.0 <= r2 <= 1.0
        assert abs(alpha) < 20  # bp per day
    assert 0.8 < row(out, "q50")[0] < 1.6
    # Cross-sectional size and value returns move with SMB (inversely) and HML.
    assert 0.0 <= number_after(out, "median R²") <= 1.0
    for factor in ("size", "value", "country"):
        assert row(out, factor)[-1] > 500  # n_periods
    assert number_after(out, "size return with SMB:") < -0.5
    assert number_after(out, "value return with HML:") > 0.5
    check_figures(tmp_path, ["smb_hml_vs_french.png", "tech_rolling_betas.png"])


def test_risk_model(tmp_path: Path) -> None:
    out = run_example("risk_model.py", tmp_path)
    assert "16 factors (size, value, mom, vol, country, 11 sectors)" in out
    assert 0.0 <= number_after(out, "Median R² of the daily regressions:") <= 1.0
    vols = [row(out, f)[0] for f in ("size", "value", "mom", "vol", "country")]
    assert all(0.0 < v < 1.0 for v in vols)  # annualized
    # R² of the stocks: quantiles in [0, 1], in order.
    r2 = first_row_after(out, "explained by the factors (R²)")
    assert len(r2) == 5
    assert all(0.0 <= v <= 1.0 for v in r2)
    assert r2 == sorted(r2)
    # The cap-weighted portfolio: mostly market risk.
    match = re.search(r"annualized volatility (\d+\.\d)%, R² (\d\.\d+)", out)
    assert match, out
    assert 5.0 < float(match.group(1)) < 40.0
    assert 0.0 <= float(match.group(2)) <= 1.0
    assert row(out, "country", 1)[1] > 0.5  # its share of the portfolio's variance
    # Implied against realized volatility a year before the end: within a factor 2.
    n_obs, implied, realized, ratio = first_row_after(out, "implied against realized")
    assert n_obs == 252
    assert 0.5 * realized < implied < 2.0 * realized
    assert ratio == pytest.approx(realized / implied, abs=0.02)  # printed to 3 decimals
    check_figures(
        tmp_path, ["risk_decomposition.png", "asset_risk.png", "style_factor_returns.png"]
    )


def test_barra_style_model_bundled() -> None:
    # The Barra-style model reads ../shared/data by default; --bundled uses the sample.
    result = subprocess.run(
        [sys.executable, "-W", "error", str(ROOT / "examples" / "barra_style_model.py"),
         "--bundled"],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout
    # Nine USE4 styles (no leverage: the sample has no debt or assets), all well covered.
    covered = [row(out, style)[0] for style in ("beta", "momentum", "size", "growth")]
    assert all(0.5 < c <= 1.0 for c in covered)
    assert number_after(out, "USE4 styles with coverage above 50%:") >= 8
    # Fama-MacBeth t-statistics of the style returns: finite, about 600 dates.
    *_, t_stat, nw_t_stat, n_periods = row(out, "nonlinear_size", 1)
    assert math.isfinite(t_stat)
    assert math.isfinite(nw_t_stat)
    assert n_periods > 500
    # The nine styles explain more of the daily returns than the four of risk_model.py.
    use4 = number_after(out, "USE4 (9 styles):")
    four = number_after(out, "risk_model.py (size, value, mom, vol):")
    assert 0.0 < four < use4 < 1.0
    # The bias statistic of the cap-weighted portfolio: finite, near 1.
    plain = number_after(out, "Bias statistic, whole period:")
    assert math.isfinite(plain)
    assert 0.7 < plain < 1.3
