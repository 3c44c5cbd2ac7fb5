"""Monthly factor returns by robust (Huber) regression on simulated data: true against estimated.

The vbase "factor regression demo" (``run_monthly_factor_returns``: a pandas loop that
calls statsmodels ``RLM(HuberT)`` once per month), rewritten with polars_factors.

What it does
------------
1. Simulates 12 months of 50 assets with 3 style factors, with
   :func:`polars_factors.datasets.synthetic_panel` (``n_industries=0``: no industries):
   each month ``returns = country + style_1 f_1 + style_2 f_2 + style_3 f_3 + e``, the
   styles z-scored per month, the specific returns ``e`` with a volatility of about
   0.5 % (the demo's ``noise``). The true factor returns are known.
2. Estimates the factor returns of every month with one call,
   ``pf.cross_section(panel, "returns", styles, country=True, method="huber")``:
   Huber's robust regression (statsmodels ``RLM(M=HuberT(t=1.345))``, the same IRLS
   algorithm), per month, with a ``country`` factor (an intercept: the simulated
   returns have a common market move). The demo's equal weights are the default;
   a ``weights=`` column would be honoured (``RLM`` ignores its ``weights``).
3. Prints, per factor, the correlation of the 12 estimated returns with the true
   ones and the root-mean-square error (in basis points), for Huber and for ordinary
   least squares, next to the standard deviation of the true returns; then the first
   months side by side (the demo's ``comparison.head()``).
4. Does it again after contaminating the returns: 2 of the 50 assets each month get a
   +-10 % jump (an earnings surprise, a bad print), which the normal specific returns
   of the simulation never have. This is what the robust regression is for: OLS
   estimates move with the jumps, Huber's down-weight them.
5. With ``--output DIR``, saves ``factor_regression_scatter.png`` (estimated against
   true, one panel per factor, with the 45-degree line; below, the run with jumps,
   Huber and OLS) and
   ``factor_regression_style_1.png`` (the demo's plot: true and estimated return of
   the first style month by month).

Coming from the pandas code: :func:`polars_factors.io.run_monthly_factor_returns` takes
the same arguments as vbase's (returns as an assets x periods frame, exposures and
weights with a ``(period, asset)`` MultiIndex) and returns the same frame, so the switch
is one import line. The example converts the simulated panel to those layouts
(:func:`polars_factors.io.to_pandas_returns`, :func:`~polars_factors.io.to_pandas_exposures`),
runs it, and checks that it gives the estimates of step 2 (skipped without pandas).

How to run
----------
From the repository root (bundled simulation, nothing to download)::

    python examples/factor_regression_demo.py
    python examples/factor_regression_demo.py --output docs/examples/img --seed 7

It runs in about two seconds (a fraction of a second without the imports).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

import polars_factors as pf

if TYPE_CHECKING:
    from matplotlib.figure import Figure

N_ASSETS, N_STYLES, N_MONTHS = 50, 3, 12
NOISE = 0.005  # volatility scale of the specific returns (the demo's 0.005)
N_JUMPS, JUMP = 2, 0.10  # contaminated run: 2 assets a month get a +-10% jump
STYLES = [f"style_{k}" for k in range(1, N_STYLES + 1)]
FACTORS = ["country", *STYLES]


def simulate(seed: int) -> pf.datasets.SyntheticPanel:
    """50 assets, 3 styles, 12 month-ends, no industries."""
    return pf.datasets.synthetic_panel(
        n_dates=N_MONTHS,
        n_assets=N_ASSETS,
        n_styles=N_STYLES,
        n_industries=0,
        interval="1mo",
        start=dt.date(2023, 1, 31),
        noise=NOISE,
        seed=seed,
    )


def contaminate(panel: pl.DataFrame, seed: int) -> pl.DataFrame:
    """Add a +-``JUMP`` return to ``N_JUMPS`` random assets of every month."""
    rng = np.random.default_rng(seed)
    n_dates = panel["date"].n_unique()
    picks = np.argsort(rng.random((n_dates, N_ASSETS)), axis=1)[:, :N_JUMPS]
    jumps = np.zeros((n_dates, N_ASSETS))
    np.put_along_axis(jumps, picks, rng.choice([-JUMP, JUMP], size=picks.shape), axis=1)
    # Sorted by date then asset, the rows are in the row-major order of `jumps`.
    return panel.sort("date", "asset").with_columns(pl.col("returns") + pl.Series(jumps.ravel()))


def estimate(panel: pl.LazyFrame, method: str) -> pl.DataFrame:
    """Per-month factor returns (long: date, factor, factor_return, std_error, t_stat)."""
    res = pf.cross_section(panel, "returns", STYLES, country=True, method=method)
    return res.collect().factor_returns


def compare(estimated: pl.DataFrame, true: pl.DataFrame) -> pl.DataFrame:
    """Estimated and true factor returns side by side: date, factor, estimated, true."""
    return estimated.select(
        "date", "factor", pl.col("factor_return").alias("estimated"), "t_stat"
    ).join(
        true.rename({"factor_return": "true"}),
        on=["date", "factor"],
        how="inner",
        maintain_order="left",
    )


def accuracy(both: pl.DataFrame, method: str) -> pl.DataFrame:
    """Per factor: correlation and RMSE (bp) of the estimates over the months."""
    error = pl.col("estimated") - pl.col("true")
    return (
        both.group_by("factor", maintain_order=True)
        .agg(
            pl.corr("estimated", "true").alias(f"corr_{method}"),
            ((error**2).mean().sqrt() * 1e4).alias(f"rmse_{method}"),
        )
        .sort(pl.col("factor").cast(pl.Enum(FACTORS)))
    )


def run(panel: pl.DataFrame, true: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Huber and OLS estimates against the truth, and their accuracy table."""
    huber = compare(estimate(panel.lazy(), "huber"), true)
    ols = compare(estimate(panel.lazy(), "ols"), true)
    table = accuracy(huber, "huber").join(accuracy(ols, "ols"), on="factor", maintain_order="left")
    spread = true.group_by("factor", maintain_order=True).agg(
        (pl.col("factor_return").std() * 1e4).alias("true_std")
    )
    return huber, ols, table.join(spread, on="factor", maintain_order="left")


def vbase_switch(panel: pl.DataFrame, huber: pl.DataFrame) -> str:
    """Run the vbase drop-in on the pandas layouts; how far it is from ``huber``.

    vbase's ``run_monthly_factor_returns`` takes returns as an assets x periods frame
    and exposures with a ``(period, asset)`` MultiIndex; its regression has no
    intercept, so the country factor is a column of ones.
    """
    if importlib.util.find_spec("pandas") is None:  # optional: the test extra has it
        return "pandas is not installed: skipped the pandas-layout run."
    returns_df = pf.io.to_pandas_returns(panel)  # assets x months
    exposures_df = pf.io.to_pandas_exposures(panel.with_columns(country=pl.lit(1.0)), FACTORS)
    # The one-line switch: `from vbase_py_utils.stats.cross_section_regression import
    # run_monthly_factor_returns` becomes:
    estimated = pf.io.run_monthly_factor_returns(returns_df, exposures_df, huber_t=1.345)
    ours = huber.pivot("factor", index="date", values="estimated").select(FACTORS)
    gap = max(
        abs(a - b)
        for col in FACTORS
        for a, b in zip(estimated[col].tolist(), ours[col].to_list(), strict=True)
    )
    return (
        f"pandas layout ({returns_df.shape[0]} assets x {returns_df.shape[1]} months): "
        f"pf.io.run_monthly_factor_returns gives the same Huber estimates "
        f"(largest difference {gap:.1e})."
    )


def scatter_figure(
    clean: pl.DataFrame, jumpy_huber: pl.DataFrame, jumpy_ols: pl.DataFrame
) -> Figure:
    """Estimated against true factor returns (%), one column per factor.

    Top row: the simulated returns, Huber. Bottom row: with jumps, Huber and OLS.
    """
    from matplotlib.figure import Figure  # noqa: PLC0415  (only needed with --output)

    fig = Figure(figsize=(10.0, 5.6), layout="constrained")
    axes = fig.subplots(2, len(FACTORS))
    rows = [
        [("Huber", clean, "o")],
        [("Huber", jumpy_huber, "o"), ("OLS", jumpy_ols, "x")],
    ]
    for row, (panels, label) in enumerate(zip(rows, ["simulated", "with jumps"], strict=True)):
        for col, factor in enumerate(FACTORS):
            ax = axes[row, col]
            values = []
            for name, both, marker in panels:
                pts = both.filter(pl.col("factor") == factor)
                true, est = (pts["true"] * 100).to_list(), (pts["estimated"] * 100).to_list()
                values += true + est
                ax.scatter(true, est, s=18, marker=marker, label=name)
            low, high = min(values), max(values)
            pad = 0.1 * (high - low)
            ax.plot([low - pad, high + pad], [low - pad, high + pad], color="0.6", linewidth=0.8)
            ax.set_title(f"{factor}, {label}", fontsize=10)
            ax.set_xlabel("true (%)")
        axes[row, 0].set_ylabel("estimated (%)")
    axes[1, 0].legend(frameon=False)
    fig.suptitle(f"Monthly factor returns, {N_ASSETS} assets, {N_MONTHS} months")
    return fig


def series_figure(both: pl.DataFrame, factor: str) -> Figure:
    """The demo's plot: true and estimated return of one factor, month by month."""
    rows = both.filter(pl.col("factor") == factor).sort("date")
    from matplotlib.figure import Figure  # noqa: PLC0415  (only needed with --output)

    fig = Figure(figsize=(8.0, 3.5), layout="constrained")
    ax = fig.subplots()
    dates = rows["date"].to_list()
    ax.plot(dates, (rows["true"] * 100).to_list(), marker="o", label=f"true {factor}")
    ax.plot(dates, (rows["estimated"] * 100).to_list(), marker="x", label=f"estimated {factor}")
    ax.axhline(0.0, color="0.6", linewidth=0.8)
    ax.set_ylabel("factor return (%)")
    ax.set_title(f"True against estimated {factor} (Huber)")
    ax.grid(visible=True, color="0.9")
    ax.legend(frameon=False)
    fig.autofmt_xdate()
    return fig


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="folder for the PNG figures (default: none)")
    parser.add_argument("--seed", type=int, default=42, help="simulation seed (default 42)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    sim = simulate(args.seed)
    panel = sim.panel.collect()
    huber, _, table = run(panel, sim.factor_returns)
    jumpy_huber, jumpy_ols, jumpy = run(contaminate(panel, args.seed), sim.factor_returns)
    switch = vbase_switch(panel, huber)
    elapsed = time.perf_counter() - start

    print(
        f"Simulated panel: {N_ASSETS} assets x {N_MONTHS} months, factors {', '.join(FACTORS)}; "
        f"specific volatility ~{NOISE:.1%} (seed {args.seed})."
    )
    overall = huber.select(pl.corr("estimated", "true")).item()
    print(f"Huber: correlation of estimated and true factor returns, all factors: {overall:.4f}")
    config = pl.Config(
        tbl_rows=-1, tbl_cols=-1, tbl_hide_dataframe_shape=True, float_precision=3,
        tbl_width_chars=120, tbl_hide_column_data_types=True,
    )  # fmt: skip
    with config:
        print("\nTrue against estimated, per factor over the 12 months (bp: basis points):")
        print(table)
        print(f"\nThe same with {N_JUMPS} assets a month given a +-{JUMP:.0%} jump:")
        print(jumpy)
        first = huber.filter(pl.col("factor") != "country").head(3 * N_STYLES)
        print("\nFirst months, true and Huber estimates (bp):")
        with pl.Config(float_precision=1):
            print(first.select("date", "factor", pl.col("true", "estimated") * 1e4, "t_stat"))
    print(f"\n{switch}")

    if args.output is not None:
        args.output.mkdir(parents=True, exist_ok=True)
        figures = {
            "factor_regression_scatter.png": scatter_figure(huber, jumpy_huber, jumpy_ols),
            "factor_regression_style_1.png": series_figure(huber, "style_1"),
        }
        for name, fig in figures.items():
            fig.savefig(args.output / name, dpi=100)
        print(f"\nfigures: {', '.join(figures)} in {args.output}")
    print(f"wall time: {elapsed:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
