"""Time to a certified optimum of the MIP on planted instances (benchmarks/README.md, core times).

    python benchmarks/core_times.py [--time-limit 600]

Prints one line per instance: family, n, d, width, loss, status, loss, bound, gap, seconds,
MIP solves, nodes. Instances come from ``exactrelu.generate`` with fixed seeds.
"""

from __future__ import annotations

import argparse
import platform

import exactrelu
from exactrelu.generate import generate

CASES = [
    # family, n, d, arch, width, loss, seed
    ("planted-one-node", 100, 3, "one-node", None, "squared", 0),
    ("planted-one-node", 100, 3, "one-node", None, "absolute", 0),
    ("planted-two-layer", 24, 2, "two-layer", 2, "squared", 0),
    ("planted-two-layer", 24, 2, "two-layer", 2, "absolute", 0),
    ("xor", 24, 2, "two-layer", 2, "hinge", 0),
    ("planted-two-layer", 50, 3, "two-layer", 3, "squared", 0),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=600.0)
    args = parser.parse_args()
    print(f"# {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print("family n d width loss status loss bound gap seconds mip_solves nodes")
    for family, n, d, arch, width, loss, seed in CASES:
        X, y, _ = generate(family, n, d, noise=0.1, seed=seed, width=width or 2)
        problem = exactrelu.Problem(X, y, arch=arch, width=width, loss=loss, weight_bound=2.0)
        cert = exactrelu.solve(problem, time_limit=args.time_limit)
        print(
            f"{family} {n} {d} {width or 1} {loss} {cert.status} {cert.objective:.8g} "
            f"{cert.bound:.8g} {cert.gap:.1e} {cert.seconds:.1f} "
            f"{cert.details.get('mip_solves')} {cert.details.get('nodes')}",
            flush=True,
        )


if __name__ == "__main__":
    main()
