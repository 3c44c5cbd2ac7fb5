"""``styles``: descriptors standardized, combined by a preset, orthogonalised: exposures."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from polars_factors import _frame, _validate
from polars_factors.descriptors._orthogonal import residual
from polars_factors.descriptors._presets import ORTHOGONAL, STYLES, Preset
from polars_factors.exceptions import ColumnNotFoundError
from polars_factors.exprs._core import clean
from polars_factors.exprs._standardize import zscore
from polars_factors.typing import FrameT

__all__ = ["styles"]


def styles(
    frame: FrameT,
    preset: Preset | Mapping[str, Mapping[str, float]] = "use4",
    *,
    weights: str | None = "mcap",
    min_count: int = 1,
    date: str = "date",
    asset: str = "asset",
    check_keys: bool | None = None,
) -> FrameT:
    r"""Turn descriptors into style exposures: standardize, combine, orthogonalise.

    The USE4 recipe (Menchero, Orr and Wang 2011, section 4), per date:

    1. each descriptor of the preset that the frame has is winsorized and
       standardized (:func:`polars_factors.standardize`: cap-weighted mean 0,
       equal-weighted standard deviation 1);
    2. each style is the weighted average of its standardized descriptors, the weights
       renormalised over the descriptors present on the row, standardized again
       (:func:`polars_factors.combine`);
    3. residual volatility (or hsr's volatility) is replaced by its residual from a
       regression on beta and size, liquidity by its residual on size (per date, with
       an intercept, weights :math:`\sqrt{\text{cap}}`), then standardized again.

    Parameters
    ----------
    frame
        Panel with descriptor columns (:func:`compute`) and ``weights``.
    preset
        ``"use4"``, ``"hsr"`` (see :data:`STYLES`) or a mapping style -> {descriptor:
        weight}. A style none of whose descriptors is in the frame is left out.
    weights
        Market cap column: the weights of the means (and, as its square root, of the
        orthogonalising regressions). ``None``: equal weights.
    min_count
        A descriptor with fewer values than this on a date is null on that date
        (:func:`polars_factors.standardize`): the first dates of a long window have
        values for a few stocks only, whose z-scores mean little.
    date, asset
        Names of the panel keys.
    check_keys
        As :func:`polars_factors.standardize`.

    Returns
    -------
    DataFrame or LazyFrame
        The frame with one column per style (after the frame's columns), same rows in
        the same order; a style named like one of its descriptors (``beta``) replaces
        that descriptor's column. Lazy for a LazyFrame: nothing is read at call time.

    Raises
    ------
    ValueError
        An unknown preset, a style named like a column of the frame.
    ColumnNotFoundError
        No descriptor of the preset is in the frame, or ``weights`` is missing.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_factors as pf
    >>> df = pl.DataFrame({
    ...     "date": [1] * 4, "asset": list("abcd"), "mcap": [1.0, 2.0, 3.0, 4.0],
    ...     "stom": [-3.0, -2.0, -2.5, -1.0], "stoq": [-2.9, -2.1, -2.4, -1.2]})
    >>> out = pf.descriptors.styles(df, {"liquidity": {"stom": 0.5, "stoq": 0.5}})
    >>> out["liquidity"].round(3).to_list()
    [-1.579, -0.254, -0.837, 1.149]
    """
    spec = _spec(preset)
    schema = frame.collect_schema()
    _validate.check_columns_exist(schema, [date, asset], role="panel key")
    if weights is not None:
        _validate.check_columns_exist(schema, [weights], role="weights column")
    present = {
        style: {d: w for d, w in parts.items() if d in schema} for style, parts in spec.items()
    }
    present = {s: p for s, p in present.items() if p}
    if not present:
        wanted = sorted({d for parts in spec.values() for d in parts})
        msg = (
            f"no descriptor of the preset is in the frame (looked for {', '.join(wanted)}); "
            "compute them first with pf.descriptors.compute(...)."
        )
        raise ColumnNotFoundError(msg)
    # A style named like one of its own descriptors (beta) replaces that column.
    replaced = [s for s, parts in present.items() if s in parts]
    _validate.check_new_columns(
        schema, list(present), replaced=replaced, function="descriptors.styles",
        fix="drop or rename those columns first.",
    )  # fmt: skip
    descriptors = sorted({d for parts in present.values() for d in parts})
    taken = set(schema.names()) | set(present)
    # The descriptors are standardized in place, their raw values kept aside, and each
    # style built under its own name (a temporary one where it replaces a descriptor):
    # the warnings of too few values on a date name the user's columns.
    raw = {d: _frame.temp_name(taken, f"raw_{d}") for d in descriptors}
    tmp = {s: _frame.temp_name(taken, f"style_{s}") if s in replaced else s for s in present}
    from polars_factors.standardization import combine, standardize  # noqa: PLC0415

    lf = frame.lazy().with_columns(pl.col(d).alias(raw[d]) for d in descriptors)
    lf = standardize(
        lf, descriptors, weights=weights, min_count=min_count, date=date, asset=asset,
        check_keys=check_keys,
    )  # fmt: skip
    lf = combine(
        lf,
        {tmp[s]: dict(parts) for s, parts in present.items()},
        weights=weights,
        date=date,
        asset=asset,
        check_keys=False,
    )
    cap = None if weights is None else clean(weights)
    w = pl.lit(1.0) if cap is None else pl.when(cap > 0).then(cap.sqrt())
    orthogonal = {
        style: [tmp[x] for x in against if x in present]
        for style, against in ORTHOGONAL.items()
        if style in present and any(x in present for x in against)
    }
    for s, xs in orthogonal.items():
        e = _frame.temp_name(taken, "e")
        lf = residual(lf, tmp[s], xs, w, by=date, name=e, taken=taken)
        lf = lf.with_columns(zscore(pl.col(e), weights=cap).over(date).alias(tmp[s])).drop(e)
    kept = [pl.col(raw[c]).alias(c) if c in raw else c for c in schema.names() if c not in replaced]
    out = lf.select(*kept, *(pl.col(tmp[s]).alias(s) for s in present))
    return _frame.like_input(frame, out)


def _spec(preset: object) -> dict[str, dict[str, float]]:
    if isinstance(preset, str):
        if preset not in STYLES:
            msg = f"unknown preset {preset!r}; the presets are {', '.join(STYLES)}."
            raise ValueError(msg)
        return {s: dict(p) for s, p in STYLES[preset].items()}
    if not isinstance(preset, Mapping) or not preset:
        msg = (
            "`preset` must be a preset name or a mapping style -> {descriptor: weight}; "
            f"got {preset!r}."
        )
        raise TypeError(msg)
    out: dict[str, dict[str, float]] = {}
    for style, parts in preset.items():
        if not isinstance(parts, Mapping) or not parts:
            msg = f"style {style!r}: expected a mapping descriptor -> weight; got {parts!r}."
            raise TypeError(msg)
        out[str(style)] = {str(d): float(w) for d, w in parts.items()}
    return out
