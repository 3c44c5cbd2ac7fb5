"""Property tests of cross_section (Hypothesis).

Per solved date: the weighted residuals are orthogonal to every exposure, to the
country column and to every industry dummy (with the Barra constraint too: the
country column is the sum of the dummies, so the constraint's multiplier is 0), the
constraint ``sum_j c_j f_j = 0`` holds, and the residuals are ``y - X f``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import polars_factors as pf
from polars_factors.exceptions import FactorsWarning, InsufficientDataError

SOLVED = ("ok", "ill_conditioned")


def draw_panel(draw: Any) -> pl.DataFrame:
    """1-3 dates of 3-16 rows: float exposures, industries p/q/r, weights with zeros."""
    sizes = draw(st.lists(st.integers(3, 16), min_size=1, max_size=3))
    rows = sum(sizes)

    def column(elements: st.SearchStrategy[Any]) -> list[Any]:
        return list(draw(st.lists(elements, min_size=rows, max_size=rows)))

    # Exposures on a 1e-6 grid: a column that is zero but for a value like 7e-89 on one
    # row is an indicator of that row once Jacobi-scaled, and its coefficient is the
    # row's round-off residual divided by 7e-89 (1e72), which no invariance survives.
    x = st.floats(-3, 3, allow_nan=False).map(lambda v: round(v, 6))
    return pl.DataFrame(
        {
            "date": [d for d, n in enumerate(sizes) for _ in range(n)],
            "asset": [f"a{i}" for n in sizes for i in range(n)],
            "ind": column(st.sampled_from("pqr")),
            "x1": column(x),
            "x2": column(x),
            # nonzero magnitudes below 1e-150 are refused (their squares underflow)
            "y": column(
                st.one_of(st.floats(-10, 10).filter(lambda v: v == 0 or abs(v) > 1e-140), st.none())
            ),
            "w": column(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0])),
            "cap": column(st.floats(0.1, 5.0)),
        },
        schema_overrides={"y": pl.Float64},
    )


def draw_options(draw: Any) -> dict[str, Any]:
    industry = draw(st.booleans())
    country = draw(st.booleans())
    method = draw(st.sampled_from(["ols", "wls"]))
    opts: dict[str, Any] = {
        "returns": "y",
        "exposures": draw(st.sampled_from([["x1", "x2"], ["x2"], ["x1"]])),
        "industry": "ind" if industry else None,
        "country": country,
        "method": method,
        "weights": "w" if method == "wls" and draw(st.booleans()) else None,
    }
    if industry and country and draw(st.booleans()):
        opts["constraint_weights"] = "cap"
    return opts


def fit(df: pl.DataFrame | pl.LazyFrame, opts: dict[str, Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FactorsWarning)
        try:
            res = pf.cross_section(df, **opts)
            return res.collect() if isinstance(res.stats, pl.LazyFrame) else res
        except InsufficientDataError:
            return None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_residuals_orthogonal_and_constraint(data: st.DataObject) -> None:
    df = draw_panel(data.draw)
    opts = draw_options(data.draw)
    res = fit(df, opts)
    if res is None:
        return
    weighted = opts["weights"] is not None
    frame = df.with_columns(
        e=res.residuals["residual"],
        w=pl.col("w") if weighted else pl.lit(1.0),
    )
    status = dict(zip(res.stats["date"], res.stats["status"], strict=True))
    n_assets = dict(zip(res.stats["date"], res.stats["n_assets"], strict=True))
    for (d,), part in frame.partition_by("date", as_dict=True).items():
        fr = res.factor_returns.filter(pl.col("date") == d)
        f = dict(zip(fr["factor"], fr["factor_return"], strict=True))
        if status[d] not in SOLVED:
            assert part["e"].null_count() == part.height
            assert fr["factor_return"].null_count() == fr.height
            continue
        # a solved date has a residual for every row it used
        used = part.filter(pl.col("e").is_not_null())
        assert used.height == n_assets[d] > 0
        w, e, y = (used[c].to_numpy() for c in ("w", "e", "y"))
        assert (w > 0).all()
        X = used.select(opts["exposures"]).to_numpy()
        # a style whose weighted sum of squares is 0 on the date (all zero, or so small
        # that x**2 underflows) is absent: null return, no contribution
        for x in opts["exposures"]:
            xv = used[x].to_numpy()
            assert (f[x] is None) == bool(np.sum(w * xv * xv) == 0)
        fitted = X * np.array([0.0 if f[x] is None else f[x] for x in opts["exposures"]])
        # the design's columns: the present styles (an absent one is not a regressor)
        columns = [used[x].to_numpy() for x in opts["exposures"] if f[x] is not None]
        if opts["country"]:
            fitted = np.column_stack([fitted, np.full(used.height, f["country"])])
            columns.append(np.ones(used.height))
        if opts["industry"]:
            inds = used["ind"].to_numpy()
            fitted = np.column_stack([fitted, [f[j] for j in inds]])
            columns += [(inds == j).astype(float) for j in sorted(set(inds))]
        # residuals are y - X f
        size = np.abs(y) + np.abs(fitted).sum(axis=1)
        np.testing.assert_allclose(e, y - fitted.sum(axis=1), rtol=0, atol=1e-9 * size.max())
        # weighted residuals orthogonal to every column of the design
        for col in columns:
            # rounding in f is relative to the date's largest terms, not to each row's
            scale = float(np.sum(w * np.abs(col))) * float(size.max())
            assert abs(float(np.sum(w * e * col))) <= 1e-9 * scale
        # the Barra constraint over the industries present on the date
        if opts["industry"] and opts["country"]:
            present = sorted(set(used["ind"]))
            assert all(f[j] is not None for j in present)
            assert all(f[j] is None for j in "pqr" if j in f and j not in present)
            if opts.get("constraint_weights"):
                raw = np.array([used.filter(pl.col("ind") == j)["cap"].sum() for j in present])
            else:
                raw = np.ones(len(present))
            terms = raw / raw.sum() * np.array([f[j] for j in present])
            assert abs(terms.sum()) <= 1e-12 * (1.0 + np.abs(terms).sum())


def same_returns(res: Any, base: Any) -> None:
    """Equal factor returns; equal standard errors and t-stats unless the fit is near-exact.

    The residual variance comes from the cell sums (``y'Wy - f'X'Wy``); when a date's
    fit is nearly exact that difference keeps only the digits the two terms do not
    share, so its standard errors are compared only where R² < 1 - 1e-6.
    """
    cols = ["date", "factor", "factor_return"]
    assert_frame_equal(res.factor_returns.select(cols), base.factor_returns.select(cols),
                       rel_tol=1e-7, abs_tol=1e-9)  # fmt: skip
    loose = base.stats.filter(pl.col("r2") < 1 - 1e-6).select("date")
    pick = ["date", "factor", "std_error", "t_stat"]
    assert_frame_equal(
        res.factor_returns.join(loose, on="date", maintain_order="left").select(pick),
        base.factor_returns.join(loose, on="date", maintain_order="left").select(pick),
        rel_tol=1e-7,
        abs_tol=1e-9,
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from([0.25, 3.0, 1e3]))
def test_invariances(data: st.DataObject, factor: float) -> None:
    """Scaling the weights changes nothing; shuffling rows only permutes the residuals."""
    df = draw_panel(data.draw)
    opts = {**draw_options(data.draw), "method": "wls", "weights": "w"}
    base = fit(df, opts)
    if base is None:
        return
    ok = base.stats["status"].is_in(SOLVED)
    scaled = fit(df.with_columns(pl.col("w") * factor), opts)
    same_returns(scaled, base)
    assert_frame_equal(scaled.residuals, base.residuals, rel_tol=1e-7, abs_tol=1e-9)
    assert scaled.stats.filter(ok)["status"].equals(base.stats.filter(ok)["status"])
    shuffled = df.with_row_index("_row").sample(fraction=1.0, shuffle=True, seed=1)
    res = fit(shuffled.drop("_row"), opts)
    same_returns(res, base)
    back = res.residuals.with_columns(shuffled["_row"]).sort("_row").drop("_row")
    assert_frame_equal(back, base.residuals, rel_tol=1e-7, abs_tol=1e-9)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from([0.25, 3.0, 1e3]), st.sampled_from([-2.0, 0.5, 10.0]))
def test_vif_at_least_one_and_invariant(data: st.DataObject, factor: float, c: float) -> None:
    """A VIF is at least 1; scaling the weights or a style (and shifting it, with an
    intercept) leaves it unchanged; the smallest industry count ignores both."""
    df = draw_panel(data.draw)
    opts = {**draw_options(data.draw), "method": "wls", "weights": "w"}
    base = fit(df, opts)
    if base is None:
        return
    ok = base.stats["status"] == "ok"
    vif = base.stats.filter(ok)["max_vif"].drop_nulls()
    assert (vif >= 1.0 - 1e-9).all()
    style = opts["exposures"][0]
    # a shift is absorbed by the intercept (country or industries) only
    shift = 1.5 if opts["country"] or opts["industry"] else 0.0
    for changed in (
        df.with_columns(pl.col("w") * factor),
        df.with_columns(pl.col(style) * c + shift),
    ):
        res = fit(changed, opts)
        assert res is not None
        both = ok & (res.stats["status"] == "ok")
        assert_frame_equal(
            res.stats.filter(both).select("max_vif", "min_industry_assets"),
            base.stats.filter(both).select("max_vif", "min_industry_assets"),
            rel_tol=1e-6,
            abs_tol=1e-9,
        )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.data(),
    st.sampled_from([0.25, 3.0, 1e3]),
    st.sampled_from(["HC0", "HC1", "HC2", "HC3", "cluster"]),
)
def test_robust_std_errors_invariant_to_weight_scale(
    data: st.DataObject, factor: float, cov_type: str
) -> None:
    """Scaling the weights leaves the robust and clustered standard errors unchanged."""
    df = draw_panel(data.draw).with_columns(
        (pl.int_range(pl.len()) % 3).cast(pl.String).alias("grp")
    )
    opts = {**draw_options(data.draw), "method": "wls", "weights": "w", "cov_type": cov_type}
    if cov_type == "cluster":
        opts["cluster"] = "grp"
    base = fit(df, opts)
    if base is None:
        return
    scaled = fit(df.with_columns(pl.col("w") * factor), opts)
    ok = base.stats["status"] == "ok"
    pick = ["date", "factor", "std_error"]
    loose = base.stats.filter(ok).select("date")
    assert_frame_equal(
        scaled.factor_returns.join(loose, on="date", maintain_order="left").select(pick),
        base.factor_returns.join(loose, on="date", maintain_order="left").select(pick),
        rel_tol=1e-6,
        abs_tol=1e-9,
    )
