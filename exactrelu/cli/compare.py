"""``exactrelu compare PATH``: every method on one instance, one table."""

from __future__ import annotations

import argparse
import json

from exactrelu.cli import common

NAME = "compare"
HELP = "run every method on one instance and print one table"
DESCRIPTION = (
    "Run every training method (mip, enumerate, approx, gd) on PATH and print "
    "one table: method, status, loss, proven bound, gap to the best bound, time, dead units."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", metavar="PATH", help="instance file (.npz or .csv)")
    common.add_problem_arguments(p)
    common.add_solver_arguments(p)
    p.add_argument(
        "--methods", metavar="LIST", help="comma-separated methods to run (default: all that apply)"
    )
    p.add_argument("--json", action="store_true", help="print the rows as JSON")


def run(args: argparse.Namespace) -> int:
    from exactrelu.compare import compare, format_table
    from exactrelu.options import SolveOptions

    options = common.solver_options_from_args(args)
    if "gap" in options:
        options["rel_gap"] = options.pop("gap")
    methods = None
    if args.methods:
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    rows = compare(common.problem_from_args(args), SolveOptions(**options), methods)
    print(json.dumps(rows, indent=2, allow_nan=False) if args.json else format_table(rows))
    return 0
