"""``exactrelu generate FAMILY --n N --d D --noise S --seed K --out PATH``: new instances.

The data come from :func:`exactrelu.generate.generate`, so the same arguments always
give the same file. A JSON sidecar next to ``PATH`` records the family's natural problem
class (arch, width, loss, box) and how the data were made; it has no reference
optimum (``exactrelu solve`` or ``instances/make_instances.py`` computes one).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from exactrelu.data import DEFAULT_WEIGHT_BOUND
from exactrelu.errors import InvalidInputError
from exactrelu.generate import FAMILIES, generate


def write_generated(
    family: str,
    n: int,
    d: int,
    out: str | Path,
    *,
    noise: float = 0.1,
    seed: int = 0,
    width: int = 2,
    loss: str | None = None,
    force: bool = False,
) -> Path:
    """Generate an instance and write it to ``out`` (``.npz`` or ``.csv``) with its sidecar.

    Parameters
    ----------
    family, n, d, noise, seed, width
        As for :func:`exactrelu.generate.generate`.
    out : path
        Instance file; its suffix picks the format. The sidecar is ``out`` with ``.json``.
    loss : str, optional
        Loss recorded in the sidecar (default: ``hinge`` for ``xor``, else ``squared``).
    force : bool, default False
        Overwrite existing files (otherwise refuse: a library file is not clobbered).

    Raises
    ------
    InvalidInputError
        Bad arguments, an unknown suffix, a missing directory or an existing file.
    """
    from exactrelu.data import LOSSES, check_choice, save_instance

    out = Path(out)
    if out.suffix.lower() not in (".npz", ".csv"):
        raise InvalidInputError(f"--out {out}: use a .npz or .csv file name")
    if not out.parent.is_dir():
        raise InvalidInputError(f"--out {out}: directory {out.parent} does not exist")
    sidecar = out.with_suffix(".json")
    if not force:
        for path in (out, sidecar):
            if path.exists():
                raise InvalidInputError(f"{path} exists (use --force to overwrite)")
    X, y, meta = generate(family, n, d, noise=noise, seed=seed, width=width)
    loss = check_choice("loss", loss, LOSSES) if loss else meta.get("loss", "squared")
    record = {"arch": meta["arch"], "loss": loss, "B": DEFAULT_WEIGHT_BOUND, "generator": meta}
    if meta["arch"] == "two-layer":
        record["width"] = meta.get("width", width)
    save_instance(out, X, y)
    sidecar.write_text(json.dumps(record, indent=2) + "\n")
    return out


def add_generate_parser(subparsers) -> None:
    """Register ``exactrelu generate FAMILY ...``."""
    p = subparsers.add_parser(
        "generate",
        help="make a reproducible synthetic instance (planted networks, misspecified, xor)",
        description="Generate a synthetic instance: features uniform on [-1, 1]^d, targets "
        "from FAMILY with the given noise and seed (the same arguments give the same file). "
        "Writes OUT (.npz or .csv) and a JSON sidecar with the problem class.",
    )
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
    p.set_defaults(run=_run_generate)


def _run_generate(args: argparse.Namespace) -> int:
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
