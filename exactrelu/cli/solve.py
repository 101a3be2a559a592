"""``exactrelu solve PATH``: train a network and print its certificate."""

from __future__ import annotations

import argparse

from exactrelu.cli.common import (
    DEFAULT_PROGRESS,
    add_output_arguments,
    add_problem_arguments,
    add_solver_arguments,
    emit,
    output_path,
    problem_from_args,
    solver_options_from_args,
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from exactrelu.methods import available_methods

    p = subparsers.add_parser(
        "solve",
        help="train a network on an instance file and print its certificate",
        description="Train a ReLU network on PATH (.npz with X, y or .csv: header, features, "
        "target last) and print the certificate. Defaults for --arch, --width, --loss and "
        "--weight-bound come from the JSON sidecar PATH.json, then from the package defaults.",
    )
    p.add_argument("path", metavar="PATH", help="instance file (.npz or .csv)")
    add_problem_arguments(p)
    how = add_solver_arguments(p)
    how.add_argument(
        "--method", choices=available_methods(), default="mip", help="training method (default mip)"
    )
    out = add_output_arguments(p, "certificate")
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
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from exactrelu.solve import solve

    out = output_path(args)  # fail before a long solve, not after
    certificate = solve(
        problem_from_args(args),
        method=args.method,
        log=args.log,
        progress=None if args.quiet else args.progress,
        **solver_options_from_args(args),
    )
    emit(certificate.summary(), certificate.to_json(), as_json=args.json, out=out)
    return 0
