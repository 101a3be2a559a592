"""The command line: ``exactrelu COMMAND ...`` (also ``python -m exactrelu``).

A thin shell over the API: every subcommand reads its arguments, calls one public
function and prints the result. Errors map to exit codes:

* 0: the command ran (whatever the certificate's status);
* 2: bad input (:class:`~exactrelu.errors.InvalidInputError`, a missing optional
  dependency, or a command-line error) — one line ``exactrelu: error: ...`` on stderr;
* 1: an internal error — one line too; set ``EXACTRELU_DEBUG=1`` for the traceback;
* 130: interrupted (Ctrl-C) outside a solve.

Each subcommand is a module of this package with ``NAME``, ``HELP``, ``DESCRIPTION``,
``add_arguments(parser)`` and ``run(args) -> exit code``; :data:`SUBCOMMANDS` lists them.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

from exactrelu.cli import bench, compare, export, generate, landscape, plot, solve, validate
from exactrelu.cli.common import PROG, Parser, UsageError, fail
from exactrelu.errors import InvalidInputError, MissingDependencyError

DEBUG_ENV = "EXACTRELU_DEBUG"
SUBCOMMANDS = (solve, compare, validate, landscape, export, generate, bench, plot)


def build_parser() -> argparse.ArgumentParser:
    """The full parser: one subparser per module of :data:`SUBCOMMANDS`."""
    from exactrelu import __version__

    parser = Parser(prog=PROG, description="Train small ReLU networks to proven global optimality.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in SUBCOMMANDS:
        p = subparsers.add_parser(command.NAME, help=command.HELP, description=command.DESCRIPTION)
        command.add_arguments(p)
        p.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    except (UsageError, InvalidInputError, MissingDependencyError) as exc:
        fail(str(exc))
        return 2
    except KeyboardInterrupt:
        fail("interrupted")
        return 130
    except BrokenPipeError:  # e.g. `exactrelu solve ... | head -1`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:
        if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
            traceback.print_exc()
        fail(
            f"internal error: {type(exc).__name__}: {exc} "
            f"(this is a bug in exactrelu; set {DEBUG_ENV}=1 for the traceback)"
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
