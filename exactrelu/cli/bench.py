"""``exactrelu bench SUITE``: run a benchmark suite, resumable, checked against references."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "bench"
HELP = "run a benchmark suite (instances x methods x settings), resumable"
DESCRIPTION = (
    "Run every run of SUITE not already in the results file, writing each "
    "result as it finishes; check each against the instance's reference optimum "
    "(exit code 1 on a mismatch or a crashed run); print a summary table."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("suite", metavar="SUITE", help="suite file (see benchmarks/README.md)")
    p.add_argument(
        "--out",
        metavar="FILE",
        help="JSON-lines results file, resumed when it exists "
        "(default: SUITE_NAME.jsonl in the current directory)",
    )
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--workers", type=int, default=1, metavar="N", help="local worker processes (default 1)"
    )
    how.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask distributed scheduler, e.g. tcp://127.0.0.1:8786",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from exactrelu.bench.report import summary
    from exactrelu.bench.runner import run_suite
    from exactrelu.bench.suite import load_suite

    suite = load_suite(args.suite)
    out = Path(args.out) if args.out else Path(Path(args.suite).stem + ".jsonl")
    report = run_suite(
        suite, out, workers=args.workers, scheduler=args.scheduler, progress=not args.quiet
    )
    print(summary(report))
    return report.exit_code
