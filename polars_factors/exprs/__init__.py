"""Pure Polars expression builders, to be used with ``.over(by)``.

Examples
--------
>>> import polars as pl
>>> import polars_factors as pf
>>> df = pl.DataFrame({"date": [1, 1, 2, 2], "x": [1.0, 3.0, 5.0, 9.0]})
>>> df.with_columns(z=pf.exprs.zscore("x").over("date"))["z"].to_list()
[-1.0, 1.0, -1.0, 1.0]
"""

from polars_factors.exprs._descriptors import (
    beta,
    cmra,
    dastd,
    hilo,
    hsigma,
    lncap,
    rstr,
    share_turnover,
    stoa,
    stom,
    stoq,
)
from polars_factors.exprs._forward import forward_returns
from polars_factors.exprs._fundamental import (
    blev,
    btop,
    cetop,
    dtoa,
    dyld,
    etop,
    growth,
    mlev,
    sp,
    variability,
)
from polars_factors.exprs._price import (
    ewm_beta,
    high_low_range,
    relative_strength,
    volatility,
)
from polars_factors.exprs._regression import regression_weights
from polars_factors.exprs._standardize import (
    fill_missing,
    norm_ppf,
    rank,
    standardize,
    winsorize,
    zscore,
)

__all__ = [
    "beta",
    "blev",
    "btop",
    "cetop",
    "cmra",
    "dastd",
    "dtoa",
    "dyld",
    "etop",
    "ewm_beta",
    "fill_missing",
    "forward_returns",
    "growth",
    "high_low_range",
    "hilo",
    "hsigma",
    "lncap",
    "mlev",
    "norm_ppf",
    "rank",
    "regression_weights",
    "relative_strength",
    "rstr",
    "share_turnover",
    "sp",
    "standardize",
    "stoa",
    "stom",
    "stoq",
    "variability",
    "volatility",
    "winsorize",
    "zscore",
]
