"""The ``polars-factors`` command line: ``demo`` and ``run CONFIG.toml``.

Progress goes to stderr, the short summary to stdout. Errors are one line on stderr,
``polars-factors: error: ...``, with exit code 2 for usage and configuration errors
(an output folder that is a file, not writable, or not empty without ``--overwrite``
included, and a Dask scheduler that does not answer, a worker of another version, or
Dask missing with ``--scheduler``) and 1 for data errors; never a traceback (unless
``--traceback``). A step that cannot run on the data is skipped with a note, and the
run still exits 0.

``--scheduler ADDRESS`` (or ``[cluster] scheduler``) runs the per-chunk work on a Dask
cluster; ``--scheduler local`` starts one on this machine for the run. Without it,
Dask is not imported.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import polars as pl

from polars_factors import __version__
from polars_factors.exceptions import (
    ConfigError,
    FactorsError,
    MissingDependencyError,
    WorkerVersionError,
)

__all__ = ["main"]

PROG = "polars-factors"
EXIT_DATA, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130

_DESCRIPTION = """\
Equity factor models on Polars, from the command line. Both commands run the whole
pipeline: daily returns and descriptors, Barra USE4 standardization, Fama-French
SMB/HML/UMD, the cross-sectional regression with industries and a country factor
(Fama-MacBeth, rank IC, quantile returns), Fama-French time-series betas, and a risk
model; they write every result as parquet plus report.md and PNG figures."""

_DEMO = """\
Run the pipeline on the bundled S&P 500 sample (505 stocks, 2015-02 .. 2018-02) and
the bundled Fama-French daily factors."""

_RUN = """\
Run the pipeline on your parquet or CSV files, described by a TOML file: the files
(globs allowed), the mapping of your column names to date, asset, close, volume,
sector, industry, shares_outstanding, book_equity, net_income, sales, and options.
See docs/cli.md and examples/config.toml."""


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``polars-factors``.

    Examples
    --------
    >>> build_parser().parse_args(["demo", "--output", "out"]).output
    'out'
    """
    parser = argparse.ArgumentParser(prog=PROG, description=_DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    common.add_argument(
        "--traceback", action="store_true", help="show the full traceback of an error"
    )
    common.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help=(
            "run the per-chunk work on a Dask cluster: a scheduler's address "
            "(tcp://host:8786), whose workers see the input and output folders at the "
            "same paths, or 'local' (a cluster of [cluster] workers processes, default 2, "
            "on this machine for the run); overrides [cluster] scheduler; needs "
            "pip install 'polars_factors[dask]'"
        ),
    )
    common.add_argument(
        "--overwrite",
        action="store_true",
        help=(
            "write into a folder that is not empty: remove the previous run's outputs "
            "(those its manifest.json lists) first; other files are left alone"
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo = sub.add_parser(
        "demo", parents=[common], help="run the pipeline on the bundled data", description=_DEMO
    )
    demo.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        default="polars_factors_demo",
        help="output folder (default: ./polars_factors_demo)",
    )
    run = sub.add_parser(
        "run", parents=[common], help="run the pipeline on your files", description=_RUN
    )
    run.add_argument("config", metavar="CONFIG.toml", help="the TOML configuration file")
    run.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        default=None,
        help="output folder (default: [output] dir of the config, else ./polars_factors_output)",
    )
    return parser


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, KeyError) and text.startswith(("'", '"')) and len(exc.args) == 1:
        text = str(exc.args[0])  # KeyError quotes its message
    return text.splitlines()[0] if text else type(exc).__name__


def _fail(exc: BaseException, code: int) -> int:
    print(f"{PROG}: error: {_first_line(exc)}", file=sys.stderr)
    return code


def _execute(args: argparse.Namespace, argv: Sequence[str]) -> int:
    # Imported here: `polars-factors --help` does not load the pipeline.
    from polars_factors.pipeline import (  # noqa: PLC0415
        demo_config,
        load_config,
        run,
        with_output,
        with_scheduler,
    )

    if args.command == "demo":
        cfg = demo_config(args.output)
    else:
        cfg = with_output(load_config(args.config), args.output)
    cfg = with_scheduler(cfg, args.scheduler)
    try:
        result = run(
            cfg,
            progress=None if args.quiet else sys.stderr,
            overwrite=args.overwrite,
            command=[PROG, *argv],
        )
    except KeyboardInterrupt:
        where = cfg.output / "manifest.json"
        incomplete = f"; {cfg.output} is incomplete ({where.name}: finished false)"
        print(f"{PROG}: interrupted{incomplete if where.is_file() else ''}", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(result.summary())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``polars-factors`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    Examples
    --------
    >>> main(["run", "no-such-config.toml"])
    2
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        return _execute(args, argv)
    except (
        ConfigError,
        FileNotFoundError,
        IsADirectoryError,
        MissingDependencyError,
        WorkerVersionError,
    ) as exc:
        if args.traceback:
            raise
        return _fail(exc, EXIT_USAGE)
    except (FactorsError, pl.exceptions.PolarsError, OSError) as exc:
        if args.traceback:
            raise
        return _fail(exc, EXIT_DATA)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: still one line, with the way to see more
        if args.traceback:
            raise
        name = type(exc).__name__
        print(
            f"{PROG}: error: unexpected {name}: {_first_line(exc)} (rerun with --traceback)",
            file=sys.stderr,
        )
        return EXIT_DATA


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
