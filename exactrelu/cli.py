"""The command line: ``exactrelu solve PATH ...`` (also ``python -m exactrelu``).

A thin shell over the API: every subcommand reads its arguments, calls one public
function and prints the result. Errors map to exit codes (SPEC §4):

* 0: the command ran (whatever the certificate's status);
* 2: bad input (:class:`~exactrelu.errors.InvalidInputError`, a missing optional
  dependency, or a command-line error) — one line ``exactrelu: error: ...`` on stderr;
* 1: an internal error — one line too; set ``EXACTRELU_DEBUG=1`` for the traceback;
* 130: interrupted (Ctrl-C) outside a solve.

Adding a subcommand is one function: write ``_add_NAME(subparsers)`` that registers
its parser with ``set_defaults(run=...)`` and append it to :data:`SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from exactrelu.data import ARCHS, LOSSES
from exactrelu.errors import InvalidInputError, MissingDependencyError

PROG = "exactrelu"
DEBUG_ENV = "EXACTRELU_DEBUG"
DEFAULT_PROGRESS = 5.0  # seconds between progress lines on stderr


class UsageError(Exception):
    """A command-line error found by argparse (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become one line on stderr, not usage + error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _fail(message: str) -> None:
    print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr)


# ----------------------------------------------------------------------------------------
# solve
# ----------------------------------------------------------------------------------------


def _add_problem_arguments(p: argparse.ArgumentParser) -> None:
    """PATH and the problem flags shared by ``solve`` and ``compare``."""
    p.add_argument("path", metavar="PATH", help="instance file (.npz or .csv)")
    model = p.add_argument_group("problem")
    model.add_argument("--arch", choices=ARCHS, help="network class (default one-node)")
    model.add_argument(
        "--width", type=int, metavar="H", help="hidden units of a two-layer network (default 2)"
    )
    model.add_argument("--loss", choices=LOSSES, help="per-sample loss (default squared)")
    model.add_argument(
        "--weight-bound", type=float, metavar="B", help="box radius: |w|, |b| <= B (default 2)"
    )
    model.add_argument("--no-bias", action="store_true", help="hidden units without bias")


def _add_solver_arguments(p: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    how = p.add_argument_group("solver")
    how.add_argument("--time-limit", type=float, metavar="S", help="wall-clock seconds")
    how.add_argument(
        "--gap", type=float, metavar="G", help="relative optimality tolerance (default 1e-6)"
    )
    how.add_argument(
        "--threads",
        type=int,
        metavar="T",
        help="solver threads (two-layer MIP: also sign cases side by side; default all cores)",
    )
    how.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    return how


def _problem(args: argparse.Namespace):
    from exactrelu.data import load_instance

    return load_instance(args.path).problem(
        arch=args.arch,
        width=args.width,
        loss=args.loss,
        weight_bound=args.weight_bound,
        bias=False if args.no_bias else None,
    )


def _solver_options(args: argparse.Namespace) -> dict:
    options = {"time_limit": args.time_limit, "threads": args.threads, "seed": args.seed}
    if args.gap is not None:
        options["gap"] = args.gap
    return options


def _add_solve(subparsers: argparse._SubParsersAction) -> None:
    from exactrelu.solve import available_methods

    p = subparsers.add_parser(
        "solve",
        help="train a network on an instance file and print its certificate",
        description="Train a ReLU network on PATH (.npz with X, y or .csv: header, features, "
        "target last) and print the certificate. Defaults for --arch, --width, --loss and "
        "--weight-bound come from the JSON sidecar PATH.json, then from the package defaults.",
    )
    _add_problem_arguments(p)
    how = _add_solver_arguments(p)
    how.add_argument(
        "--method", choices=available_methods(), default="mip", help="training method (default mip)"
    )
    out = p.add_argument_group("output")
    out.add_argument(
        "--json", action="store_true", help="print the certificate as JSON instead of the summary"
    )
    out.add_argument("--out", metavar="FILE", help="also write the JSON certificate to FILE")
    out.add_argument("--log", action="store_true", help="print the solver's log to stderr")
    chatter = out.add_mutually_exclusive_group()
    chatter.add_argument(
        "--progress",
        type=float,
        default=DEFAULT_PROGRESS,
        metavar="SECONDS",
        help=f"seconds between progress lines on stderr (default {DEFAULT_PROGRESS:g})",
    )
    chatter.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(run=_run_solve)


def _run_solve(args: argparse.Namespace) -> int:
    from exactrelu.solve import solve

    out = Path(args.out) if args.out else None
    if out is not None and not out.parent.is_dir():  # fail before a long solve, not after
        raise InvalidInputError(f"--out {out}: directory {out.parent} does not exist")
    problem = _problem(args)
    certificate = solve(
        problem,
        method=args.method,
        log=args.log,
        progress=None if args.quiet else args.progress,
        **_solver_options(args),
    )
    if out is not None:
        try:
            out.write_text(certificate.to_json() + "\n")
        except OSError as exc:
            raise InvalidInputError(f"--out {out}: cannot write ({exc.strerror or exc})") from None
    print(certificate.to_json() if args.json else certificate.summary())
    return 0


# ----------------------------------------------------------------------------------------
# compare
# ----------------------------------------------------------------------------------------


def _add_compare(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "compare",
        help="run every method on one instance and print one table",
        description="Run every training method (mip, enumerate, approx, gd) on PATH and print "
        "one table: method, status, loss, proven bound, gap to the best bound, time, dead units.",
    )
    _add_problem_arguments(p)
    _add_solver_arguments(p)
    p.add_argument(
        "--methods", metavar="LIST", help="comma-separated methods to run (default: all that apply)"
    )
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.set_defaults(run=_run_compare)


def _run_compare(args: argparse.Namespace) -> int:
    import json

    from exactrelu.compare import compare, format_table
    from exactrelu.options import SolveOptions

    options = _solver_options(args)
    if "gap" in options:
        options["rel_gap"] = options.pop("gap")
    methods = None
    if args.methods:
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    rows = compare(_problem(args), SolveOptions(**options), methods)
    print(json.dumps(rows, indent=2, allow_nan=False) if args.json else format_table(rows))
    return 0


# ----------------------------------------------------------------------------------------
# the parser and main
# ----------------------------------------------------------------------------------------


def _add_validate(subparsers: argparse._SubParsersAction) -> None:
    from exactrelu.validation import add_validate_parser

    add_validate_parser(subparsers)


def _add_export(subparsers: argparse._SubParsersAction) -> None:
    from exactrelu.export import add_export_parser

    add_export_parser(subparsers)


def _add_generate(subparsers: argparse._SubParsersAction) -> None:
    from exactrelu.bench.generate_cli import add_generate_parser

    add_generate_parser(subparsers)


def _add_bench(subparsers: argparse._SubParsersAction) -> None:
    from exactrelu.bench.runner import add_bench_parser

    add_bench_parser(subparsers)


def _add_plot(subparsers: argparse._SubParsersAction) -> None:
    from exactrelu.bench.plots import add_plot_parser

    add_plot_parser(subparsers)


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_solve,
    _add_compare,
    _add_validate,
    _add_export,
    _add_generate,
    _add_bench,
    _add_plot,
]


def build_parser() -> argparse.ArgumentParser:
    """The full parser: one subparser per entry of :data:`SUBCOMMANDS`."""
    from exactrelu import __version__

    parser = _Parser(
        prog=PROG,
        description="Train small ReLU networks to proven global optimality.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    except (UsageError, InvalidInputError, MissingDependencyError) as exc:
        _fail(str(exc))
        return 2
    except KeyboardInterrupt:
        _fail("interrupted")
        return 130
    except BrokenPipeError:  # e.g. `exactrelu solve ... | head -1`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:
        if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
            traceback.print_exc()
        _fail(
            f"internal error: {type(exc).__name__}: {exc} "
            f"(this is a bug in exactrelu; set {DEBUG_ENV}=1 for the traceback)"
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
