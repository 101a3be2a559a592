"""Regenerate the shipped instances and their reference optima.

    python instances/make_instances.py            # exactrelu MIP (+ SCIP when installed)

Each instance is written with a JSON sidecar holding its defaults (arch, width, loss, B)
and the reference optimum, the proven bound and which methods agreed on it.
"""

from __future__ import annotations

import json
from pathlib import Path

from exactrelu import Problem, save_instance
from exactrelu.errors import MissingDependencyError
from exactrelu.generate import generate
from exactrelu.options import SolveOptions
from exactrelu.solve import solve

HERE = Path(__file__).parent
# name, family, n, d, noise, seed, arch, width, loss, suffix
SHIPPED = [
    ("planted-one-node-n40-d2", "planted-one-node", 40, 2, 0.1, 1, "one-node", None, "squared", ".npz"),
    ("misspecified-n30-d2", "misspecified", 30, 2, 0.05, 2, "one-node", None, "absolute", ".csv"),
    ("planted-two-layer-n20-d2", "planted-two-layer", 20, 2, 0.1, 3, "two-layer", 2, "squared", ".csv"),
    ("xor-n24-d2", "xor", 24, 2, 0.1, 4, "two-layer", 2, "hinge", ".npz"),
]
WEIGHT_BOUND = 2.0


def main() -> None:
    for name, family, n, d, noise, seed, arch, width, loss, suffix in SHIPPED:
        X, y, meta = generate(family, n, d, noise=noise, seed=seed, width=width or 2)
        problem = Problem(X, y, arch=arch, width=width, loss=loss, weight_bound=WEIGHT_BOUND)
        cert = solve(problem, time_limit=600)
        record = {"arch": arch, "loss": loss, "B": WEIGHT_BOUND, "generator": meta}
        if width:
            record["width"] = width
        agreed = [f"exactrelu mip ({cert.status}, {cert.seconds:.1f} s)"]
        try:
            from exactrelu.peers.scip import solve_scip

            peer = solve_scip(problem, SolveOptions(time_limit=300))
            if peer.bound is not None and peer.bound <= cert.objective * (1 + 1e-6) + 1e-9 \
                    and abs(peer.objective - cert.objective) <= 1e-5 * max(1.0, abs(cert.objective)):
                agreed.append(f"scip ({peer.status}, {peer.seconds:.1f} s)")
        except MissingDependencyError:
            pass
        if cert.status == "optimal":
            record.update(optimum=cert.objective, bound=cert.bound, solved_by=agreed)
        save_instance(HERE / f"{name}{suffix}", X, y)
        (HERE / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
        print(name, cert.status, cert.objective, agreed)


if __name__ == "__main__":
    main()
