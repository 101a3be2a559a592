"""Two-layer instances inside the supported range (width <= 3, n <= 50, d <= 3).

    python benchmarks/two_layer_range.py [--time-limit 300] [--threads 1] [--only K]

Prints one line per instance: family, loss, n, d, width, seed, noise, status, loss,
bound, seconds, MILP solves, nodes. Instances come from ``exactrelu.generate`` with fixed
seeds. To compare two versions of the code side by side (the machine is shared, so run
them at the same time, one instance each), check the older one out with
``git worktree add ../old <commit>`` and run this script from both trees with ``--only K``.
"""

from __future__ import annotations

import argparse
import platform

import exactrelu
from exactrelu.generate import generate

CASES = [
    # family, loss, n, d, width, seed, noise
    ("planted-two-layer", "squared", 50, 3, 2, 1, 0.1),
    ("planted-two-layer", "squared", 20, 2, 3, 1, 0.1),
    ("planted-two-layer", "squared", 24, 2, 2, 0, 0.1),
    ("planted-two-layer", "squared", 30, 2, 2, 5, 0.1),
    ("planted-two-layer", "squared", 40, 3, 2, 2, 0.1),
    ("planted-two-layer", "absolute", 30, 2, 2, 5, 0.1),
    ("planted-two-layer", "absolute", 20, 2, 3, 1, 0.1),
    ("xor", "hinge", 30, 2, 2, 1, 0.1),
    ("planted-two-layer", "squared", 50, 3, 3, 1, 0.0),
    ("planted-two-layer", "absolute", 50, 3, 3, 2, 0.0),
    ("planted-two-layer", "squared", 50, 3, 3, 0, 0.1),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", type=int, default=None, help="run only case K (0-based)")
    args = parser.parse_args()
    print(f"# {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print("family loss n d width seed noise status loss bound seconds mip_solves nodes")
    for k, (family, loss, n, d, width, seed, noise) in enumerate(CASES):
        if args.only is not None and k != args.only:
            continue
        X, y, _ = generate(family, n, d, noise=noise, seed=seed, width=width)
        problem = exactrelu.Problem(X, y, arch="two-layer", width=width, loss=loss)
        cert = exactrelu.solve(problem, time_limit=args.time_limit, threads=args.threads)
        print(
            f"{family} {loss} {n} {d} {width} {seed} {noise} {cert.status} "
            f"{cert.objective:.8g} {cert.bound:.8g} {cert.seconds:.1f} "
            f"{cert.details.get('mip_solves')} {cert.details.get('nodes')}",
            flush=True,
        )


if __name__ == "__main__":
    main()
