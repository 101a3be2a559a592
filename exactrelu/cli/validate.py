"""``exactrelu validate INSTANCE WEIGHTS...``: how far trained networks are from the optimum."""

from __future__ import annotations

import argparse
import glob
from pathlib import Path

from exactrelu.cli import common
from exactrelu.errors import InvalidInputError

NAME = "validate"
HELP = "certify how far trained networks are from the optimum"
DESCRIPTION = (
    "Normalise each network in WEIGHTS into the class, compute its loss on "
    "INSTANCE, run the exact solve warm-started from the best of them and report the "
    "certified optimum, each network's gap to it, dead units and activation patterns. "
    "WEIGHTS: exactrelu .json (certificate) or .npz, PyTorch .pt state dict, or a pickled "
    "scikit-learn MLP (.pkl/.joblib, with --trust-pickle); several files (or a quoted glob "
    "such as 'runs/seed-*.pkl') of one class share one exact solve, over the box that "
    "holds them all, and print one table (--json: one JSON line per network). "
    "--certificate FILE reuses the optimum of an earlier solve instead. --loss and "
    "--weight-bound default to the instance's JSON sidecar (--loss: to the loss of a "
    "certificate given as WEIGHTS first); the class (arch, width) is the networks'."
)

GLOB_CHARACTERS = "*?["


def add_arguments(p: argparse.ArgumentParser) -> None:
    from exactrelu.validation import DEFAULT_TIME_LIMIT

    p.add_argument("instance", metavar="INSTANCE", help="instance file (.npz or .csv)")
    p.add_argument(
        "weights",
        metavar="WEIGHTS",
        nargs="+",
        help="network file(s) or quoted glob(s); several are validated with one solve",
    )
    common.add_problem_arguments(
        p,
        arch="network class (default: the networks')",
        width="must equal the networks' width",
        loss="default: the certificate's, else hinge for a classifier, else the sidecar's, "
        "else squared",
        weight_bound="box radius B or 'auto' (default: sidecar B, else auto); a number is "
        "grown to contain the networks",
        bias="class without hidden biases",
    )
    p.add_argument(
        "--certificate",
        metavar="FILE",
        help="reuse this certificate's optimum and bound instead of solving (JSON of "
        "exactrelu solve --json/--out, or of a validate report); it must be of the class, "
        "on INSTANCE, over a box holding every network",
    )
    p.add_argument(
        "--trust-pickle",
        action="store_true",
        help="allow reading a pickle (runs code from the file: your own files only)",
    )
    common.add_solver_arguments(p, time_limit=DEFAULT_TIME_LIMIT)
    common.add_output_arguments(p, "report (JSON lines for several networks)", quiet=True)


def expand(patterns: list[str]) -> list[Path]:
    """The files named by ``patterns``: paths as given, globs (quoted, so that the shell
    left them alone) sorted; a glob without a match is an error."""
    paths: list[Path] = []
    for pattern in patterns:
        if any(ch in pattern for ch in GLOB_CHARACTERS) and not Path(pattern).exists():
            matches = sorted(glob.glob(pattern))
            if not matches:
                raise InvalidInputError(f"{pattern}: no file matches")
            paths.extend(Path(m) for m in matches)
        else:
            paths.append(Path(pattern))
    return paths


def labels_of(paths: list[Path]) -> list[str]:
    """File names, or whole paths when two files share a name."""
    names = [path.name for path in paths]
    return names if len(set(names)) == len(names) else [str(path) for path in paths]


def run(args: argparse.Namespace) -> int:
    from exactrelu.instances import load_instance
    from exactrelu.network.importers import load_weights
    from exactrelu.problem import DEFAULT_WEIGHT_BOUND
    from exactrelu.validation import validate_many

    out = common.output_path(args)
    instance = load_instance(args.instance)
    paths = expand(args.weights)
    loaded = [load_weights(path, trust_pickle=args.trust_pickle) for path in paths]
    # The loss: --loss, else a certificate's own or a classifier's hinge (decided by
    # validate_many), else the sidecar's, which describes the data.
    own_loss = any(item.loss is not None or item.classes is not None for item in loaded)
    sidecar_bound = instance.sidecar("B")
    batch = validate_many(
        instance.X,
        instance.y,
        loaded,
        arch=args.arch,
        width=args.width,
        loss=args.loss or (None if own_loss else instance.sidecar("loss")),
        weight_bound=args.weight_bound,
        default_weight_bound=DEFAULT_WEIGHT_BOUND if sidecar_bound is None else sidecar_bound,
        bias=not args.no_bias,
        time_limit=args.time_limit,
        gap=args.gap,
        threads=args.threads,
        seed=args.seed,
        progress=None if args.quiet else common.DEFAULT_PROGRESS,
        name=str(instance.path),
        labels=labels_of(paths),
        certificate=args.certificate,
    )
    if len(batch.reports) == 1:
        report = batch.reports[0]
        common.emit(report.summary(), report.to_json(), as_json=args.json, out=out)
    else:
        common.emit(batch.summary(), batch.to_json_lines(), as_json=args.json, out=out)
    return 0
