"""``exactrelu plot KIND ...``: PNG figures from benchmark results (needs matplotlib)."""

from __future__ import annotations

import argparse

from exactrelu.errors import InvalidInputError

KINDS = {
    "time": "seconds against n per method (log-log; hollow: stopped by the time limit or "
    "the user; x: ended without a proof)",
    "gap": "excess loss of gd and approx over the certified optimum, against n",
    "trace": "best loss and proven bound against time during one mip solve",
    "fit": "each method's network on a 1-D or 2-D instance",
    "landscape": "final losses of gradient descent against the certified optimum and bound "
    "(exactrelu landscape --out FILE; --shares: a study's shares against n)",
}


NAME = "plot"
HELP = "write a PNG figure (needs matplotlib)"
DESCRIPTION = (
    "Write a PNG figure. Kinds: "
    + "; ".join(f"{kind}: {text}" for kind, text in KINDS.items())
    + "."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    for kind in ("time", "gap"):
        k = kinds.add_parser(kind, help=KINDS[kind])
        k.add_argument("results", metavar="RESULTS", help="results file of exactrelu bench")
        k.add_argument("--out", required=True, metavar="FILE.png")
    k = kinds.add_parser("trace", help=KINDS["trace"])
    k.add_argument("instance", metavar="INSTANCE")
    k.add_argument("--time-limit", type=float, default=60.0, metavar="S")
    k.add_argument("--out", required=True, metavar="FILE.png")
    k = kinds.add_parser("fit", help=KINDS["fit"])
    k.add_argument("instance", metavar="INSTANCE")
    k.add_argument(
        "--methods",
        default="mip,approx,gd",
        metavar="LIST",
        help="comma-separated methods (default mip,approx,gd)",
    )
    k.add_argument("--time-limit", type=float, default=60.0, metavar="S")
    k.add_argument("--out", required=True, metavar="FILE.png")
    k = kinds.add_parser("landscape", help=KINDS["landscape"])
    k.add_argument(
        "results",
        metavar="RESULTS",
        help="exactrelu landscape --out file (or --json output), or a study's results",
    )
    k.add_argument("--select", metavar="TEXT", help="only instances whose name contains TEXT")
    k.add_argument(
        "--shares",
        action="store_true",
        help="a study's share of runs within 1 %% of the optimum against n, by width and d",
    )
    k.add_argument("--out", required=True, metavar="FILE.png")


def run(args: argparse.Namespace) -> int:
    from exactrelu.bench import plots
    from exactrelu.methods import METHODS

    if args.kind == "time":
        path = plots.plot_time(args.results, args.out)
    elif args.kind == "gap":
        path = plots.plot_gap(args.results, args.out)
    elif args.kind == "landscape":
        if args.shares:
            path = plots.plot_landscape_shares(args.results, args.out)
        else:
            path = plots.plot_landscape(args.results, args.out, args.select)
    elif args.kind == "trace":
        path = plots.plot_trace(args.instance, args.out, args.time_limit)
    else:
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
        unknown = [m for m in methods if m not in METHODS]
        if unknown:
            raise InvalidInputError(
                f"unknown method(s) {', '.join(unknown)}; use {', '.join(METHODS)}"
            )
        path = plots.plot_fit(args.instance, args.out, methods, args.time_limit)
    print(f"wrote {path}")
    return 0
