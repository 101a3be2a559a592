"""``exactrelu export INSTANCE --format lp|mps``: the training MIP for other solvers."""

from __future__ import annotations

import argparse

from exactrelu.cli import common

NAME = "export"
EXPORT_BOX = 2.0
HELP = "write the training MIP as LP or MPS files for other solvers"
DESCRIPTION = (
    "Write the big-M MIP of INSTANCE. One-node: one file; two-layer: one "
    "file per output-sign case, OUT.p{k}.FORMAT with k positive output weights (the "
    "optimum is the smallest over the files). Squared loss is an MIQP (quadratic "
    "objective) unless --squared tangents."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from exactrelu.formulation.export import FORMATS, SQUARED_EXPORT

    p.add_argument("instance", metavar="INSTANCE", help="instance file (.npz or .csv)")
    p.add_argument("--format", choices=FORMATS, default="lp", help="file format (default lp)")
    p.add_argument(
        "--out",
        metavar="NAME",
        help="output name without suffix (default: the instance name, here)",
    )
    common.add_problem_arguments(
        p, weight_bound=f"box radius B (default: the sidecar's B, else {EXPORT_BOX:g})"
    )
    p.add_argument(
        "--squared",
        choices=SQUARED_EXPORT,
        default="quadratic",
        help="squared loss as an MIQP (default) or a MILP with tangent cuts",
    )


def run(args: argparse.Namespace) -> int:
    """Print the files written; returns 0."""
    from exactrelu.formulation.export import export_mip
    from exactrelu.instances import load_instance

    instance = load_instance(args.instance)
    if args.weight_bound is None and "B" not in instance.meta:
        args.weight_bound = EXPORT_BOX  # a model needs a fixed box; "auto" is chosen in solves
    problem = common.problem_from_args(args, instance)
    for target in export_mip(
        problem, args.out or instance.name, format=args.format, squared=args.squared
    ):
        print(target)
    return 0
