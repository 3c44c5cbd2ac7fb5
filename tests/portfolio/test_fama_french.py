"""fama_french: an explicit Python oracle of the 2x3 rules, a hand case, engines, errors."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

import polars_factors as pf
from polars_factors.portfolio import fama_french


def month_ends(start: dt.date, n: int) -> list[dt.date]:
    out = []
    year, month = start.year, start.month
    for _ in range(n):
        nxt = dt.date(year + month // 12, month % 12 + 1, 1)
        out.append(nxt - dt.timedelta(days=1))
        year, month = nxt.year, nxt.month
    return out


def make_panel(rng: np.random.Generator, *, n_assets: int = 40, n_months: int = 30) -> pl.DataFrame:
    """Monthly panel from 2019-05 with assets entering and leaving, nulls, a universe flag."""
    dates = month_ends(dt.date(2019, 5, 1), n_months)
    rows = []
    for a in range(n_assets):
        first = int(rng.integers(0, n_months // 3)) if a % 4 == 0 else 0
        last = n_months - (int(rng.integers(0, n_months // 3)) if a % 5 == 0 else 0)
        cap = float(rng.lognormal(3.0, 1.0))
        for t in range(first, last):
            cap *= float(np.exp(rng.normal(0.01, 0.08)))
            rows.append(
                {
                    "date": dates[t],
                    "asset": f"A{a:02d}",
                    "mcap": cap,
                    "bm": float(rng.lognormal(-0.5, 0.6)),
                    "mom": float(rng.normal(0.1, 0.3)),
                    "ret": float(rng.normal(0.01, 0.08)),
                    "nyse": a % 3 != 0,
                }
            )
    df = pl.DataFrame(rows).sort("date", "asset")
    u = rng.random(df.height)
    return df.with_columns(
        bm=pl.when(pl.Series(u < 0.04)).then(None).otherwise(pl.col("bm")),
        ret=pl.when(pl.Series((u > 0.5) & (u < 0.53))).then(None).otherwise(pl.col("ret")),
    )


def oracle(
    df: pl.DataFrame, signal: str, *, month: int | None, universe: str | None
) -> dict[dt.date, dict[str, float]]:
    """2x3 portfolio returns per date, computed row by row in plain Python."""
    rows = df.to_dicts()
    by_asset: dict[str, list[dict]] = {}
    for r in rows:
        by_asset.setdefault(r["asset"], []).append(r)
    dates = sorted({r["date"] for r in rows})

    def quantile(values: list[float], q: float) -> float:
        return float(np.quantile(np.array(values), q))

    def buckets_on(day: dt.date) -> dict[str, tuple[int, int]]:
        cross = [r for r in rows if r["date"] == day]
        usable = [r for r in cross if universe is None or r[universe]]
        sizes = [r["mcap"] for r in usable if r["mcap"] is not None]
        sigs = [r[signal] for r in usable if r[signal] is not None]
        out = {}
        if not sizes or not sigs:
            return out
        size_bp = quantile(sizes, 0.5)
        lo, hi = quantile(sigs, 0.3), quantile(sigs, 0.7)
        for r in cross:
            if r["mcap"] is None or r[signal] is None:
                continue
            s = 1 if r["mcap"] <= size_bp else 2
            v = 1 if r[signal] <= lo else (2 if r[signal] <= hi else 3)
            out[r["asset"]] = (s, v)
        return out

    def period(day: dt.date) -> tuple[int, int]:
        if month is None:
            return (day.year, day.month)
        # Yearly periods ending in `month`: the year in which the period ends.
        return (day.year + (1 if day.month > month else 0), 0)

    last_of_period: dict[tuple[int, int], dt.date] = {}
    for d in dates:
        last_of_period[period(d)] = max(d, last_of_period.get(period(d), d))
    formations = {p: buckets_on(d) for p, d in last_of_period.items()}

    result: dict[dt.date, dict[str, float]] = {}
    for d in dates:
        p = period(d)
        prev = (p[0], p[1] - 1) if month is None else (p[0] - 1, 0)
        if month is None and p[1] == 1:
            prev = (p[0] - 1, 12)
        formed = formations.get(prev, {})
        sums: dict[tuple[int, int], list[float]] = {}
        for a, hist in by_asset.items():
            idx = [i for i, r in enumerate(hist) if r["date"] == d]
            if not idx or a not in formed:
                continue
            i = idx[0]
            r = hist[i]
            # The bucket is the asset's own at the formation date (its last row there).
            last_rows = [h for h in hist if period(h["date"]) == prev]
            if not last_rows or last_rows[-1]["date"] != last_of_period[prev]:
                continue
            w = hist[i - 1]["mcap"] if i > 0 else None
            if r["ret"] is None or w is None:
                continue
            acc = sums.setdefault(formed[a], [0.0, 0.0])
            acc[0] += w * r["ret"]
            acc[1] += w
        result[d] = {f"{s}{v}": num / den for (s, v), (num, den) in sums.items() if den > 0}
    return result


def factor_from(ports: dict[str, float], kind: str) -> float | None:
    needed = [f"{s}{v}" for s in (1, 2) for v in (1, 2, 3)]
    if any(k not in ports for k in needed):
        return None
    p = ports
    if kind == "SMB":
        return (p["11"] + p["12"] + p["13"]) / 3 - (p["21"] + p["22"] + p["23"]) / 3
    return (p["13"] + p["23"]) / 2 - (p["11"] + p["21"]) / 2


@pytest.mark.parametrize("universe", [None, "nyse"])
def test_matches_explicit_oracle(rng: np.random.Generator, universe: str | None) -> None:
    panel = make_panel(rng)
    out = fama_french(panel, momentum="mom", breakpoint_universe=universe)
    assert out["date"].to_list() == sorted(panel["date"].unique().to_list())
    annual = oracle(panel, "bm", month=6, universe=universe)
    monthly = oracle(panel, "mom", month=None, universe=universe)
    for row in out.iter_rows(named=True):
        d = row["date"]
        for name, ports, kind in [
            ("SMB", annual[d], "SMB"),
            ("HML", annual[d], "HML"),
            ("UMD", monthly[d], "HML"),
        ]:
            want = factor_from(ports, kind)
            if want is None:
                assert row[name] is None, (d, name)
            else:
                assert row[name] == pytest.approx(want, abs=1e-12), (d, name)
    # The first year has no June formation yet; later dates do.
    assert out.filter(pl.col("date") < dt.date(2019, 7, 1))["SMB"].is_null().all()
    assert out.filter(pl.col("date") > dt.date(2019, 7, 1))["SMB"].is_not_null().any()


def test_hand_case_two_by_three() -> None:
    # Formation on 2020-06-30; July returns weighted by June caps; two stocks per cell.
    june, july = dt.date(2020, 6, 30), dt.date(2020, 7, 31)
    caps = [1.0, 3.0, 2.0, 2.0, 1.0, 1.0, 10.0, 30.0, 20.0, 20.0, 10.0, 10.0]
    bms = [0.1, 0.1, 0.5, 0.5, 0.9, 0.9] * 2
    rets = [0.04, 0.00, 0.02, 0.04, 0.01, 0.03, 0.01, 0.03, 0.00, 0.02, 0.05, 0.01]
    names = [f"s{i}" for i in range(12)]
    panel = pl.DataFrame(
        {
            "date": [june] * 12 + [july] * 12,
            "asset": names * 2,
            "mcap": caps * 2,
            "bm": bms * 2,
            "ret": [0.0] * 12 + rets,
        }
    )
    out = fama_french(panel).filter(pl.col("date") == july).row(0, named=True)
    # Small: s0..s5 (caps <= median 6.5); L: bm 0.1, M: 0.5, H: 0.9 (breaks 0.3, 0.7).
    sl = (1 * 0.04 + 3 * 0.00) / 4
    sm = (2 * 0.02 + 2 * 0.04) / 4
    sh = (1 * 0.01 + 1 * 0.03) / 2
    bl = (10 * 0.01 + 30 * 0.03) / 40
    bm_ = (20 * 0.00 + 20 * 0.02) / 40
    bh = (10 * 0.05 + 10 * 0.01) / 20
    assert out["SMB"] == pytest.approx((sl + sm + sh) / 3 - (bl + bm_ + bh) / 3, abs=1e-15)
    assert out["HML"] == pytest.approx((sh + bh) / 2 - (sl + bl) / 2, abs=1e-15)


def test_engines_agree_and_lazy_stays_lazy(rng: np.random.Generator) -> None:
    panel = make_panel(rng, n_assets=25, n_months=20)
    eager = fama_french(panel, momentum="mom")
    lazy = pf.portfolio.fama_french(panel.lazy(), momentum="mom")
    assert isinstance(lazy, pl.LazyFrame)
    for engine in ["in-memory", "streaming"]:
        got = lazy.collect(engine=engine)
        assert got.columns == ["date", "SMB", "HML", "UMD"]
        for col in ["SMB", "HML", "UMD"]:
            np.testing.assert_allclose(
                got[col].to_numpy().astype(float), eager[col].to_numpy().astype(float), atol=1e-14
            )


def test_errors(rng: np.random.Generator) -> None:
    panel = make_panel(rng, n_assets=10, n_months=8)
    with pytest.raises(ValueError, match="`book_to_market`"):
        fama_french(panel, book_to_market=None)
    with pytest.raises(ValueError, match="1-12"):
        fama_french(panel, formation_month=13)
    with pytest.raises(pf.ColumnNotFoundError, match="'size'"):
        fama_french(panel, size="size")
    with pytest.raises(pf.SchemaError, match="numeric"):
        fama_french(panel.with_columns(pl.col("bm").cast(pl.String)))
    with pytest.raises(pf.UnsortedError):
        fama_french(panel.reverse())
    with pytest.raises(pf.WeightError, match="negative"):
        fama_french(panel.with_columns(mcap=-pl.col("mcap")))
