"""``exactrelu validate INSTANCE WEIGHTS``: how far a trained network is from the optimum."""

from __future__ import annotations

import argparse

from exactrelu.cli import common

NAME = "validate"
HELP = "certify how far a trained network is from the optimum"
DESCRIPTION = (
    "Normalise the network in WEIGHTS into the class, compute its loss on "
    "INSTANCE, run the exact solve warm-started from it and report the certified "
    "optimum, the network's gap to it, dead units and activation patterns. WEIGHTS: "
    "exactrelu .json (certificate) or .npz, PyTorch .pt state dict, or a pickled "
    "scikit-learn MLP (.pkl/.joblib, with --trust-pickle). --loss and --weight-bound "
    "default to the instance's JSON sidecar; the class (arch, width) is the network's."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from exactrelu.validation import DEFAULT_TIME_LIMIT

    p.add_argument("instance", metavar="INSTANCE", help="instance file (.npz or .csv)")
    p.add_argument("weights", metavar="WEIGHTS", help="network file")
    common.add_problem_arguments(
        p,
        arch="network class (default: the network's)",
        width="must equal the network's width",
        loss="default: sidecar, else hinge for a classifier, else squared",
        weight_bound="box radius (default: sidecar B, else 2); grown to contain the network",
        bias="class without hidden biases",
    )
    p.add_argument(
        "--trust-pickle",
        action="store_true",
        help="allow reading a pickle (runs code from the file: your own files only)",
    )
    common.add_solver_arguments(p, time_limit=DEFAULT_TIME_LIMIT)
    out = common.add_output_arguments(p, "report")
    out.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def run(args: argparse.Namespace) -> int:
    from exactrelu.instances import load_instance
    from exactrelu.network.importers import load_weights
    from exactrelu.problem import DEFAULT_WEIGHT_BOUND
    from exactrelu.validation import validate

    out = common.output_path(args)
    instance = load_instance(args.instance)
    loaded = load_weights(args.weights, trust_pickle=args.trust_pickle)
    sidecar_bound = instance.sidecar("B")
    report = validate(
        instance.X,
        instance.y,
        loaded,
        arch=args.arch,
        width=args.width,
        # a classifier's loss is hinge unless asked otherwise: the sidecar describes the data
        loss=args.loss or (None if loaded.classes is not None else instance.sidecar("loss")),
        weight_bound=args.weight_bound,
        default_weight_bound=DEFAULT_WEIGHT_BOUND if sidecar_bound is None else sidecar_bound,
        bias=not args.no_bias,
        time_limit=args.time_limit,
        gap=args.gap,
        threads=args.threads,
        seed=args.seed,
        progress=None if args.quiet else common.DEFAULT_PROGRESS,
        name=instance.name,
    )
    common.emit(report.summary(), report.to_json(), as_json=args.json, out=out)
    return 0
