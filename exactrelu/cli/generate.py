"""``exactrelu generate FAMILY --n N --d D --out PATH``: a reproducible synthetic instance."""

from __future__ import annotations

import argparse

from exactrelu.errors import InvalidInputError
from exactrelu.generate import FAMILIES, write_generated

NAME = "generate"
HELP = "make a reproducible synthetic instance (planted networks, misspecified, xor)"
DESCRIPTION = (
    "Generate a synthetic instance: features uniform on [-1, 1]^d, targets "
    "from FAMILY with the given noise and seed (the same arguments give the same file). "
    "Writes OUT (.npz or .csv) and a JSON sidecar with the problem class."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "family", choices=FAMILIES, metavar="FAMILY", help=f"one of {', '.join(FAMILIES)}"
    )
    p.add_argument("--n", type=int, required=True, help="samples")
    p.add_argument("--d", type=int, required=True, help="features")
    p.add_argument(
        "--noise",
        type=float,
        default=0.1,
        help="Gaussian noise std (xor: label flip probability); default 0.1",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--width", type=int, default=2, help="hidden units of planted-two-layer (default 2)"
    )
    p.add_argument("--loss", help="loss recorded in the sidecar (default: family's natural one)")
    p.add_argument("--out", required=True, metavar="PATH", help="output file (.npz or .csv)")
    p.add_argument("--force", action="store_true", help="overwrite existing files")


def run(args: argparse.Namespace) -> int:
    if args.seed < 0:
        raise InvalidInputError(f"--seed must be >= 0, got {args.seed}")
    path = write_generated(
        args.family,
        args.n,
        args.d,
        args.out,
        noise=args.noise,
        seed=args.seed,
        width=args.width,
        loss=args.loss,
        force=args.force,
    )
    print(f"wrote {path} and {path.with_suffix('.json')}")
    return 0
