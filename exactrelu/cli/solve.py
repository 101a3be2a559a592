"""``exactrelu solve PATH``: train a network and print its certificate."""

from __future__ import annotations

import argparse

from exactrelu.cli import common

NAME = "solve"
HELP = "train a network on an instance file and print its certificate"
DESCRIPTION = (
    "Train a ReLU network on PATH (.npz with X, y or .csv: header, features, "
    "target last) and print the certificate. Defaults for --arch, --width, --loss and "
    "--weight-bound come from the JSON sidecar PATH.json, then from the package defaults."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from exactrelu.methods import AUTO_METHOD, available_methods

    p.add_argument("path", metavar="PATH", help="instance file (.npz or .csv)")
    common.add_problem_arguments(p)
    how = common.add_solver_arguments(p)
    how.add_argument(
        "--method",
        choices=[AUTO_METHOD, *available_methods()],
        default=AUTO_METHOD,
        help="training method (default auto: bnb for two-layer squared loss up to width 4, "
        "else mip)",
    )
    out = common.add_output_arguments(p, "certificate")
    out.add_argument("--log", action="store_true", help="print the solver's log to stderr")
    chatter = out.add_mutually_exclusive_group()
    chatter.add_argument(
        "--progress",
        type=float,
        default=common.DEFAULT_PROGRESS,
        metavar="SECONDS",
        help=f"seconds between progress lines on stderr (default {common.DEFAULT_PROGRESS:g})",
    )
    chatter.add_argument("--quiet", action="store_true", help="no progress lines")


def run(args: argparse.Namespace) -> int:
    from exactrelu.solve import solve

    out = common.output_path(args)  # fail before a long solve, not after
    certificate = solve(
        common.problem_from_args(args),
        method=args.method,
        log=args.log,
        progress=None if args.quiet else args.progress,
        **common.solver_options_from_args(args),
    )
    common.emit(certificate.summary(), certificate.to_json(), as_json=args.json, out=out)
    return 0
