"""``exactrelu landscape PATH``: where gradient descent lands, against the certified optimum."""

from __future__ import annotations

import argparse

from exactrelu.cli import common

NAME = "landscape"
HELP = "train N networks by gradient descent and compare each with the certified optimum"
DESCRIPTION = (
    "Certify the optimum of the class on PATH once (or read --certificate), train "
    "--restarts networks by gradient descent from random initialisations and report, "
    "per run, the final loss, its gap to the optimum, dead units and whether its "
    "activation pattern is the optimum's; then the share of runs within 1 % and 10 % "
    "of the optimum, the median and the worst gap. --train-width H' trains wider "
    "networks: reaching the width-H optimum is then 'at least as good as the best "
    "width-H network'. --out FILE.jsonl keeps every run as it finishes and resumes."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from exactrelu.landscapes import (
        DEFAULT_EPOCHS,
        DEFAULT_RESTARTS,
        DEFAULT_TIME_LIMIT,
        LANDSCAPE_BOX,
        TRAINERS,
    )

    p.add_argument("path", metavar="PATH", help="instance file (.npz or .csv)")
    common.add_problem_arguments(
        p,
        weight_bound="box radius B, fixed: the runs are kept in it (default: the sidecar's B, "
        f"else {LANDSCAPE_BOX:g}; auto means {LANDSCAPE_BOX:g} too)",
    )
    train = p.add_argument_group("training")
    train.add_argument(
        "--restarts",
        type=int,
        default=DEFAULT_RESTARTS,
        metavar="N",
        help=f"trainings from random initialisations (default {DEFAULT_RESTARTS})",
    )
    train.add_argument(
        "--train-width",
        type=int,
        metavar="H'",
        help="width of the trained networks, at least the class's (default: the class's)",
    )
    train.add_argument(
        "--trainer",
        choices=TRAINERS,
        default="numpy",
        help="numpy: gradient descent kept in the class (default); torch: PyTorch "
        "Adam; sklearn: MLPRegressor (squared loss)",
    )
    train.add_argument(
        "--epochs",
        type=int,
        metavar="E",
        help="full-batch steps per run at most (default: numpy "
        f"{DEFAULT_EPOCHS['numpy']}, torch and sklearn {DEFAULT_EPOCHS['torch']})",
    )
    train.add_argument(
        "--lr",
        type=float,
        metavar="LR",
        help="first step size (default: numpy 1/L for squared loss, adapted; torch and "
        "sklearn 1e-2, Adam)",
    )
    train.add_argument(
        "--certificate",
        metavar="FILE",
        help="a certificate of this problem (exactrelu solve --out) instead of solving",
    )
    common.add_solver_arguments(p, time_limit=DEFAULT_TIME_LIMIT)
    common.add_output_arguments(
        p,
        "landscape (JSON lines: settings, certificate, one per run, summary)",
        out_metavar="FILE.jsonl",
        out_help="results file: every run written as it finishes; resumed when it exists",
        quiet=True,
    )


def run(args: argparse.Namespace) -> int:
    from exactrelu.landscapes import landscape

    report = landscape(
        common.problem_from_args(args),
        restarts=args.restarts,
        trainer=args.trainer,
        train_width=args.train_width,
        epochs=args.epochs,
        lr=args.lr,
        certificate=args.certificate,
        out=args.out,
        time_limit=args.time_limit,
        gap=args.gap,
        threads=args.threads,
        seed=args.seed,
        progress=None if args.quiet else common.DEFAULT_PROGRESS,
    )
    print(report.json_lines() if args.json else report.summary())
    return 0
