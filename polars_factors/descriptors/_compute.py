"""``compute``: the descriptors of a panel, one column each, lazy in, lazy out."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from polars_factors import _frame, _validate
from polars_factors.descriptors._orthogonal import residual
from polars_factors.descriptors._registry import (
    DESCRIPTORS,
    FUNDAMENTAL_ROLES,
    Descriptor,
)
from polars_factors.exceptions import ColumnNotFoundError
from polars_factors.exprs._core import clean
from polars_factors.exprs._standardize import zscore
from polars_factors.typing import FrameT

__all__ = ["compute"]


def compute(
    frame: FrameT,
    names: Sequence[str] | None = None,
    *,
    returns: str = "ret",
    market: str = "market_ret",
    risk_free: str | None = None,
    close: str = "close",
    high: str = "high",
    low: str = "low",
    volume: str = "volume",
    shares: str = "shares_outstanding",
    fundamentals: Mapping[str, str] | None = None,
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
    date: str = "date",
    asset: str = "asset",
    check_keys: bool | None = None,
) -> FrameT:
    r"""Add the Barra USE4 / hsr style descriptors of a panel, one column each.

    Parameters
    ----------
    frame
        Daily panel, one row per ``(date, asset)``, each asset's rows in increasing
        date order (the time-series descriptors count the asset's rows). A LazyFrame
        gives a LazyFrame; nothing is read until it is collected.
    names
        Descriptors to compute (see :data:`DESCRIPTORS`). ``None``: every descriptor
        whose columns the frame has (the others are left out; naming one whose column
        is missing raises).
    returns, market, risk_free
        Daily simple returns of the asset and of the market (e.g. a cap-weighted index
        return joined on the date), and the risk-free rate of the day (``None``: 0).
    close, high, low, volume, shares
        Prices, volume and shares outstanding (market cap = close x shares).
    fundamentals
        Role -> column of the fundamentals already joined point in time (e.g. by
        :func:`polars_factors.io.point_in_time`): ``book_equity``, ``net_income``,
        ``sales``, ``operating_cash_flow``, ``total_assets``, ``total_liabilities``,
        ``long_term_debt``, ``dividends``, and ``period_end`` (the fiscal period of
        each row's figures, needed by the five-year descriptors, which are computed
        on the fiscal periods found in the panel's rows; for the periods published
        before its first date too, compute them on the fundamentals table with
        :func:`fiscal_descriptors` and join them with the other figures).
    parameters
        Options per descriptor, e.g. ``{"beta": {"half_life": 90}}`` (the keywords of
        its builder in :mod:`polars_factors.exprs` or
        :mod:`polars_factors.descriptors`).
    date, asset
        Names of the panel keys.
    check_keys
        Check that each asset's dates strictly increase (as :func:`polars_factors.betas`):
        ``None`` at call time on a DataFrame, inside the plan on a LazyFrame.

    Returns
    -------
    DataFrame or LazyFrame
        The frame with one Float64 column per descriptor, same rows in the same order.

    Raises
    ------
    ValueError
        An unknown descriptor or role, or an output name already in the frame.
    ColumnNotFoundError
        A named descriptor needs a column the frame lacks (the message names the
        descriptors that need it).

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({
    ...     "date": [1, 2, 3, 1, 2, 3], "asset": list("aaabbb"),
    ...     "close": [10.0, 11.0, 12.0, 5.0, 5.0, 4.0],
    ...     "shares_outstanding": [1e6] * 3 + [4e6] * 3,
    ...     "book_equity": [5e6] * 3 + [1e7] * 3})
    >>> out = pf.descriptors.compute(df, ["lncap", "btop"],
    ...                              fundamentals={"book_equity": "book_equity"})
    >>> out.select("asset", pl.col("lncap", "btop").round(4)).head(2)
    shape: (2, 3)
    ┌───────┬─────────┬────────┐
    │ asset ┆ lncap   ┆ btop   │
    │ ---   ┆ ---     ┆ ---    │
    │ str   ┆ f64     ┆ f64    │
    ╞═══════╪═════════╪════════╡
    │ a     ┆ 16.1181 ┆ 0.5    │
    │ a     ┆ 16.2134 ┆ 0.4545 │
    └───────┴─────────┴────────┘
    """
    schema = frame.collect_schema()
    _validate.check_columns_exist(schema, [date, asset], role="panel key")
    _validate.check_key_dtypes(schema, date=date, asset=asset)
    columns = _roles(
        returns=returns, market=market, close=close, high=high, low=low, volume=volume,
        shares=shares, fundamentals=fundamentals,
    )  # fmt: skip
    chosen = _choose(names, columns, schema)
    options = _options(parameters, chosen)
    _validate.check_new_columns(
        schema, [d.name for d in chosen], function="descriptors.compute",
        fix="drop or rename the old columns first, or leave those names out of `names`.",
    )  # fmt: skip
    kinds = {d.kind for d in chosen}
    if "asset" in kinds:
        frame = _validate.time_order(frame, check_keys, date=date, asset=asset)
    elif check_keys:
        _validate.unique_keys(frame, check_keys, date=date, asset=asset)
    taken = set(schema.names()) | {d.name for d in chosen}
    mcap_col = _frame.temp_name(taken, "mcap")
    c: dict[str, pl.Expr] = {role: clean(col) for role, col in columns.items() if col in schema}
    if risk_free is not None:
        _validate.check_columns_exist(schema, [risk_free], role="risk-free rate column")
        c["risk_free"] = clean(risk_free)
    if "close" in c and "shares" in c:
        cap = pl.when((c["close"] > 0) & (c["shares"] > 0)).then(c["close"] * c["shares"])
        c["mcap"] = pl.col(mcap_col)
        c["lncap"] = pl.col(mcap_col).log()
    lf = frame.lazy()
    if "mcap" in c:
        lf = lf.with_columns(cap.alias(mcap_col))
    simple = [d for d in chosen if d.kind in ("row", "asset") and d.build is not None]
    lf = lf.with_columns(
        (_built(d, c, options) if d.kind == "row" else _built(d, c, options).over(asset)).alias(
            d.name
        )
        for d in simple
    )
    fiscal = [d for d in chosen if d.kind == "fiscal"]
    if fiscal:
        lf = _fiscal(lf, fiscal, columns, options, asset=asset)
    if any(d.name == "nlsize" for d in chosen):
        lf = _nlsize(lf, c["lncap"], c["mcap"], date=date, taken=taken)
    out = lf.select(*schema.names(), *(d.name for d in chosen))
    return _frame.like_input(frame, out)


def _roles(
    *,
    returns: str,
    market: str,
    close: str,
    high: str,
    low: str,
    volume: str,
    shares: str,
    fundamentals: Mapping[str, str] | None,
) -> dict[str, str]:
    """Return role -> column, the fundamentals' roles checked."""
    out = {
        "returns": returns, "market": market, "close": close, "high": high, "low": low,
        "volume": volume, "shares": shares,
    }  # fmt: skip
    for role, column in (fundamentals or {}).items():
        if role not in FUNDAMENTAL_ROLES:
            hint = difflib.get_close_matches(role, FUNDAMENTAL_ROLES, n=1)
            msg = (
                f"unknown fundamentals role {role!r}"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
                + f"; the roles are {', '.join(FUNDAMENTAL_ROLES)}."
            )
            raise ValueError(msg)
        if not isinstance(column, str):
            msg = f"fundamentals[{role!r}] must be a column name; got {column!r}."
            raise TypeError(msg)
        out[role] = column
    return out


def _choose(
    names: Sequence[str] | None, columns: Mapping[str, str], schema: pl.Schema
) -> list[Descriptor]:
    """Return the descriptors to compute, or raise for a missing column or unknown name."""
    if names is None:
        return [
            d for d in DESCRIPTORS.values()
            if all(r in columns and columns[r] in schema for r in d.needs)
        ]  # fmt: skip
    wanted = [names] if isinstance(names, str) else list(names)
    for name in wanted:
        if name not in DESCRIPTORS:
            hint = difflib.get_close_matches(name, DESCRIPTORS, n=1)
            msg = (
                f"unknown descriptor {name!r}"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
                + f"; the descriptors are {', '.join(DESCRIPTORS)}."
            )
            raise ValueError(msg)
    chosen = [DESCRIPTORS[n] for n in dict.fromkeys(wanted)]
    missing: dict[str, list[str]] = {}
    for d in chosen:
        for role in d.needs:
            if role not in columns or columns[role] not in schema:
                missing.setdefault(role, []).append(d.name)
    if missing:
        role, needing = next(iter(missing.items()))
        where = (
            f"pass fundamentals={{{role!r}: '<column>'}}"
            if role in FUNDAMENTAL_ROLES
            else f"pass {role}='<column>'"
        )
        found = f" (column {columns[role]!r} is not in the frame)" if role in columns else ""
        msg = (
            f"descriptor{'s' if len(needing) > 1 else ''} {', '.join(map(repr, needing))} "
            f"need{'' if len(needing) > 1 else 's'} the {role!r} column{found}: {where}, or "
            f"leave {'them' if len(needing) > 1 else 'it'} out of `names`."
        )
        raise ColumnNotFoundError(msg)
    for d in chosen:
        cols = [columns[r] for r in d.needs if r != "period_end"]
        _validate.check_numeric(schema, cols, role=f"{d.name} input")
    return chosen


def _options(
    parameters: Mapping[str, Mapping[str, Any]] | None, chosen: list[Descriptor]
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    names = {d.name for d in chosen}
    for name, opts in (parameters or {}).items():
        if name not in names:
            msg = (
                f"parameters for {name!r}, which is not computed here "
                f"(computed: {', '.join(sorted(names)) or 'none'})."
            )
            raise ValueError(msg)
        if opts and not DESCRIPTORS[name].takes_options:
            msg = f"{name!r} takes no options; got {', '.join(map(repr, opts))}."
            raise ValueError(msg)
        out[name] = dict(opts)
    return out


def _built(
    d: Descriptor, c: Mapping[str, pl.Expr], options: Mapping[str, Mapping[str, Any]]
) -> pl.Expr:
    assert d.build is not None
    return d.build(c, options.get(d.name, {})).cast(pl.Float64)


def _nlsize(
    lf: pl.LazyFrame, lncap: pl.Expr, mcap: pl.Expr, *, date: str, taken: set[str]
) -> pl.LazyFrame:
    r"""Add USE4 nonlinear size: :math:`z^3` orthogonal to :math:`z` per date, standardized.

    :math:`z` is ``lncap`` standardized per date (cap-weighted mean 0, equal-weighted
    std 1); the cube is regressed on :math:`z` with an intercept and regression
    weights :math:`\sqrt{\text{cap}}`, and its residual standardized the same way.
    Each step is a column of its own: nested windows would copy the expressions
    below them into every window above.
    """
    z, e = _frame.temp_name(taken, "z"), _frame.temp_name(taken, "e")
    lf = lf.with_columns(zscore(lncap, weights=mcap).over(date).alias(z))
    cube = _frame.temp_name(taken, "cube")
    lf = lf.with_columns(pl.col(z).pow(3).alias(cube))
    lf = residual(lf, cube, [z], mcap.sqrt(), by=date, name=e, taken=taken)
    lf = lf.with_columns(zscore(pl.col(e), weights=mcap).over(date).alias("nlsize"))
    return lf.drop(z, e, cube)


def _fiscal(
    lf: pl.LazyFrame,
    fiscal: list[Descriptor],
    columns: Mapping[str, str],
    options: Mapping[str, Mapping[str, Any]],
    *,
    asset: str,
) -> pl.LazyFrame:
    """Join the five-year descriptors, computed on each asset's fiscal periods.

    The fiscal history is rebuilt from the panel's rows (one per asset and
    ``period_end``): periods published before the panel's first date are not in it.
    For the whole history, compute them on the fundamentals table with
    :func:`fiscal_descriptors` before the point-in-time join.
    """
    from polars_factors.descriptors._fundamental import fiscal_descriptors  # noqa: PLC0415

    period = columns["period_end"]
    roles = sorted({r for d in fiscal for r in d.needs if r != "period_end"})
    if "shares" in columns and columns["shares"] in lf.collect_schema():
        roles.append("shares")  # earnings, sales and cash flow per share, as USE4
    table = (
        lf.select(asset, period, *dict.fromkeys(columns[r] for r in roles))
        .filter(pl.col(period).is_not_null())
        .unique(subset=[asset, period], keep="first", maintain_order=False)
        .sort(asset, period)
    )
    params: dict[str, Any] = {}
    for d in fiscal:
        params.update(options.get(d.name, {}))
    done = fiscal_descriptors(
        table, {r: columns[r] for r in roles}, period_end=period, asset=asset, **params
    )
    names = [d.name for d in fiscal]
    return lf.join(
        done.lazy().select(asset, period, *names),
        on=[asset, period],
        how="left",
        nulls_equal=False,
        maintain_order="left",
    )
