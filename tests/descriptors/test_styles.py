"""Styles from descriptors, nonlinear size and the per-date orthogonalisation.

Oracles: a per-date numpy weighted least squares (``np.linalg.lstsq`` on
``sqrt(w)``-scaled rows) for the residuals; numpy z-scores (cap-weighted mean,
equal-weighted population std); for the standardize-and-combine step the library's
``standardize`` and ``combine`` (each tested against its own oracle), so that what is
checked here is the composition, the preset weights and the orthogonalisations.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import polars_factors as pf
from polars_factors.descriptors._orthogonal import residual

TOL = {"rtol": 1e-10, "atol": 1e-12}


def wls_residual(y: np.ndarray, xs: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Residual of y on [1, xs] with weights w over the complete rows (nan elsewhere)."""
    ok = np.isfinite(y) & np.all(np.isfinite(xs), axis=1) & np.isfinite(w) & (w > 0)
    out = np.full(y.shape, np.nan)
    if ok.sum() <= xs.shape[1] + 1:
        return out
    design = np.column_stack([np.ones(ok.sum()), xs[ok]])
    sw = np.sqrt(w[ok])
    coef, *_ = np.linalg.lstsq(design * sw[:, None], y[ok] * sw, rcond=None)
    out[ok] = y[ok] - design @ coef
    return out


def zscore_np(x: np.ndarray, cap: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x)
    wc = np.where(np.isfinite(cap) & (cap > 0) & ok, cap, 0.0)
    mean = np.sum(np.where(ok, x, 0.0) * wc) / wc.sum()
    std = np.std(x[ok])
    return (x - mean) / std


def panel(seed: int, n_dates: int = 5, n_assets: int = 40) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_dates * n_assets
    df = pl.DataFrame(
        {
            "date": np.repeat(np.arange(n_dates), n_assets),
            "asset": np.tile([f"A{i:02d}" for i in range(n_assets)], n_dates),
            "mcap": rng.lognormal(2.0, 1.0, n),
            "beta": rng.normal(1.0, 0.3, n),
            "dastd": rng.lognormal(-4.0, 0.4, n),
            "cmra": rng.normal(0.5, 0.2, n),
            "hsigma": rng.lognormal(-4.2, 0.3, n),
            "stom": rng.normal(-3.0, 0.7, n),
            "stoq": rng.normal(-3.0, 0.6, n),
            "stoa": rng.normal(-3.0, 0.5, n),
            "btop": rng.lognormal(-1.0, 0.6, n),
        }
    )
    df = df.with_columns(pl.col("mcap").log().alias("lncap"))
    holes = pl.Series(rng.random(n) < 0.08)
    return df.with_columns(pl.when(holes).then(None).otherwise(pl.col("cmra")).alias("cmra"))


@pytest.mark.parametrize("k", [1, 2])
def test_residual_equals_lstsq_per_date(k: int) -> None:
    df = panel(3)
    rng = np.random.default_rng(1)
    df = df.with_columns(
        pl.when(pl.Series(rng.random(df.height) < 0.1))
        .then(None)
        .otherwise(pl.col("beta"))
        .alias("beta"),
        pl.when(pl.Series(rng.random(df.height) < 0.05))
        .then(0.0)
        .otherwise(pl.col("mcap"))
        .alias("mcap"),
    )
    xs = ["beta", "lncap"][:k]
    out = residual(
        df.lazy(), "dastd", xs, pl.col("mcap").sqrt(), by="date", name="e", taken=set(df.columns)
    ).collect()
    assert out.columns == [*df.columns, "e"]
    for _, part in out.group_by("date"):
        expected = wls_residual(
            part["dastd"].to_numpy(),
            part.select(xs).to_numpy().astype(float),
            part["mcap"].sqrt().fill_null(np.nan).to_numpy(),
        )
        np.testing.assert_allclose(part["e"].fill_null(np.nan).to_numpy(), expected, **TOL)


def test_residual_of_a_singular_date_is_null() -> None:
    df = pl.DataFrame(
        {
            "date": [1, 1, 1, 2, 2, 2],
            "y": [1.0, 2.0, 4.0, 1.0, 2.0, 4.0],
            "x": [3.0, 3.0, 3.0, 0.0, 1.0, 2.0],
        }
    )
    out = residual(
        df.lazy(), "y", ["x"], pl.lit(1.0), by="date", name="e", taken={"y", "x"}
    ).collect()["e"]
    assert out[:3].null_count() == 3
    np.testing.assert_allclose(
        out[3:].to_numpy(),
        wls_residual(np.array([1.0, 2.0, 4.0]), np.array([[0.0], [1.0], [2.0]]), np.ones(3)),
        **TOL,
    )


@pytest.mark.parametrize("preset", ["use4", "hsr"])
def test_styles_against_composition_oracle(preset: str) -> None:
    df = panel(5)
    out = pf.descriptors.styles(df, preset)
    spec = pf.descriptors.STYLES[preset]
    have = {s: {d: w for d, w in parts.items() if d in df.columns} for s, parts in spec.items()}
    have = {s: p for s, p in have.items() if p}
    assert [c for c in out.columns if c not in df.columns or c in have] == list(have)
    assert out.columns[: df.width - 1] == [c for c in df.columns if c != "beta"]
    descriptors = sorted({d for p in have.values() for d in p})
    std = pf.standardize(df, descriptors, weights="mcap", suffix="_s")
    combined = pf.combine(
        std,
        {f"{s}_c": {f"{d}_s": w for d, w in p.items()} for s, p in have.items()},
        weights="mcap",
    )
    for (date,), unsorted in out.group_by("date"):
        ref = combined.filter(pl.col("date") == date).sort("asset")
        part = unsorted.sort("asset")
        cap = part["mcap"].to_numpy()
        for style in have:
            expected = ref[f"{style}_c"].fill_null(np.nan).to_numpy()
            against = [x for x in pf.descriptors.ORTHOGONAL.get(style, ()) if x in have]
            if against:
                xs = ref.select(f"{x}_c" for x in against).fill_null(np.nan).to_numpy()
                expected = zscore_np(wls_residual(expected, xs, np.sqrt(cap)), cap)
            np.testing.assert_allclose(
                part[style].fill_null(np.nan).to_numpy(), expected, **TOL, err_msg=style
            )
    # The orthogonalised styles are orthogonal to what they were regressed on.
    w = (
        pl.col("mcap").sqrt()
        * pl.col("residual_volatility" if preset == "use4" else "volatility").is_not_null()
    )
    style = "residual_volatility" if preset == "use4" else "volatility"
    demeaned = out.with_columns(
        (pl.col(style) - (pl.col(style) * w).sum().over("date") / w.sum().over("date")).alias("d")
    )
    dots = demeaned.group_by("date").agg(
        (pl.col("d") * pl.col("size") * w).sum().alias("dot"),
        (pl.col("d").abs() * w).sum().alias("scale"),
    )
    assert (dots["dot"].abs() < 1e-10 * dots["scale"]).all()


def test_nlsize_against_numpy() -> None:
    df = panel(7).with_columns((pl.col("mcap") / 1e3).alias("price"), pl.lit(1e3).alias("shares"))
    out = pf.descriptors.compute(
        df.drop("lncap"), ["lncap", "nlsize"], close="price", shares="shares"
    )
    for _, part in out.group_by("date"):
        cap = part["mcap"].to_numpy()
        z = zscore_np(np.log(cap), cap)
        expected = zscore_np(wls_residual(z**3, z[:, None], np.sqrt(cap)), cap)
        np.testing.assert_allclose(part["nlsize"].to_numpy(), expected, **TOL)
        np.testing.assert_allclose(part["lncap"].to_numpy(), np.log(cap), **TOL)


def test_styles_and_compute_are_lazy(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    panel(2).rename({"mcap": "close"}).with_columns(
        pl.lit(1.0).alias("shares_outstanding"), pl.col("close").alias("mcap")
    ).write_parquet(path)
    lf = pl.scan_parquet(path)
    plan = pf.descriptors.styles(
        pf.descriptors.compute(lf.drop("lncap"), ["lncap", "nlsize"]), "use4"
    )
    path.unlink()  # a call that read the data would have read it already
    assert isinstance(plan, pl.LazyFrame)
    assert {"size", "nonlinear_size", "beta"} <= set(plan.collect_schema().names())


def test_modes_agree() -> None:
    df = panel(4)
    eager = pf.descriptors.styles(df, "use4")
    lazy = pf.descriptors.styles(df.lazy(), "use4")
    assert_frame_equal(lazy.collect(engine="in-memory"), eager)
    assert_frame_equal(lazy.collect(engine="streaming"), eager)


def test_styles_errors() -> None:
    df = panel(1)
    with pytest.raises(ValueError, match="unknown preset 'usa4'"):
        pf.descriptors.styles(df, "usa4")  # type: ignore[arg-type]
    with pytest.raises(pf.ColumnNotFoundError, match="no descriptor of the preset"):
        pf.descriptors.styles(df.select("date", "asset", "mcap"), "use4")
    with pytest.raises(pf.ColumnNotFoundError, match="'cap'"):
        pf.descriptors.styles(df, "use4", weights="cap")
    with pytest.raises(ValueError, match="'book_to_price', which the frame already has"):
        pf.descriptors.styles(df.with_columns(pl.col("btop").alias("book_to_price")), "use4")


def test_compute_errors() -> None:
    df = panel(1).with_columns(
        pl.col("mcap").alias("close"), pl.lit(1.0).alias("shares_outstanding")
    )
    with pytest.raises(
        ValueError, match="unknown descriptor 'lncaps' \\(did you mean 'lncap'\\?\\)"
    ):
        pf.descriptors.compute(df, ["lncaps"])
    with pytest.raises(
        pf.ColumnNotFoundError, match="descriptors 'stom', 'stoq' need the 'volume' column"
    ):
        pf.descriptors.compute(df, ["stom", "stoq"])
    with pytest.raises(pf.ColumnNotFoundError, match="pass fundamentals=\\{'sales'"):
        pf.descriptors.compute(df, ["sp"])
    with pytest.raises(ValueError, match="unknown fundamentals role 'book'"):
        pf.descriptors.compute(df, ["btop"], fundamentals={"book": "btop"})
    with pytest.raises(ValueError, match="not computed here"):
        pf.descriptors.compute(df.drop("lncap"), ["lncap"], parameters={"beta": {"half_life": 10}})
    with pytest.raises(ValueError, match="lncap"):
        pf.descriptors.compute(df, ["lncap"])  # the output exists already
    with pytest.raises(ValueError, match="'lncap' takes no options; got 'scale'"):
        pf.descriptors.compute(df.drop("lncap"), ["lncap"], parameters={"lncap": {"scale": 2}})


def test_styles_warnings_name_the_descriptor() -> None:
    # A descriptor with fewer than min_count values on a date: the warning names it
    # (not a temporary column), and its raw values are returned unchanged.
    df = panel(1)
    lf = df.lazy().with_columns(pl.when(pl.col("asset") == "A00").then(pl.col("stoq")))
    out = pf.descriptors.styles(lf, {"liquidity": {"stom": 0.5, "stoq": 0.5}}, min_count=3)
    with pytest.warns(pf.DataLossWarning, match="^'stoq': "):
        got = out.collect()
    assert_frame_equal(got.select(df.columns), lf.collect().select(df.columns))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), weights=st.lists(st.floats(0.05, 1.0), min_size=3, max_size=3))
def test_custom_preset_weights_are_renormalised(seed: int, weights: list[float]) -> None:
    """Property: scaling a style's descriptor weights together leaves the style unchanged."""
    df = panel(seed, n_dates=2, n_assets=25)
    spec = {"liquidity": dict(zip(["stom", "stoq", "stoa"], weights, strict=True))}
    scaled = {"liquidity": {d: 3.7 * w for d, w in spec["liquidity"].items()}}
    a = pf.descriptors.styles(df, spec)["liquidity"]
    b = pf.descriptors.styles(df, scaled)["liquidity"]
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-12, atol=1e-12)
