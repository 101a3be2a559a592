"""Write the instances of the ``perf`` suite into ``benchmarks/perf/``.

    python benchmarks/perf/make_perf.py

One-node: planted and misspecified data, n in {100, 200, 400}, d in {3, 5}, squared and
absolute loss; two-layer: planted, width 2 and 3, n in {30, 60}, d = 2, squared and
absolute loss; and the two-layer squared set (``perf-squared-*``, squared loss only):
planted, width 2 with n in {30, 40, 45} and d in {2, 3}, width 3 with n in {20, 25, 30}
and d = 2, sizes whose compact model Gurobi's size-limited licence accepts. Box B = 2,
noise 0.1, a fixed seed per instance (the data files are deterministic: rerunning rewrites
the same bytes). The instances carry no reference optimum: the suite compares methods with
each other, side by side in one run.
"""

from __future__ import annotations

from pathlib import Path

from exactrelu import save_instance
from exactrelu.generate import generate

HERE = Path(__file__).parent
WEIGHT_BOUND = 2.0
NOISE = 0.1
LOSSES = ("squared", "absolute")


def perf_instances() -> list[tuple[str, str, int, int, int, int]]:
    """(name, family, n, d, width, seed) of every instance of the suite, loss excluded."""
    rows = []
    seed = 600
    for family in ("planted-one-node", "misspecified"):
        short = "planted" if family == "planted-one-node" else "misspecified"
        for d in (3, 5):
            for n in (100, 200, 400):
                seed += 1
                rows.append((f"perf-{short}-n{n}-d{d}", family, n, d, 1, seed))
    for width in (2, 3):
        for n in (30, 60):
            seed += 1
            name = f"perf-two-layer-w{width}-n{n}-d2"
            rows.append((name, "planted-two-layer", n, 2, width, seed))
    return rows


SQUARED_SET = [(2, 30, 3), (2, 40, 2), (2, 40, 3), (2, 45, 2), (2, 45, 3), (3, 20, 2), (3, 25, 2)]
SQUARED_SET += [(3, 30, 2)]


def squared_instances() -> list[tuple[str, str, int, int, int, int]]:
    """(name, family, n, d, width, seed) of the two-layer squared set."""
    return [
        (f"perf-squared-w{width}-n{n}-d{d}", "planted-two-layer", n, d, width, 700 + k)
        for k, (width, n, d) in enumerate(SQUARED_SET)
    ]


def main() -> None:
    for name, family, n, d, width, seed in perf_instances():
        X, y, meta = generate(family, n, d, noise=NOISE, seed=seed, width=width)
        for loss in LOSSES:
            sidecar = {"arch": meta["arch"], "loss": loss, "B": WEIGHT_BOUND, "generator": meta}
            if meta["arch"] == "two-layer":
                sidecar["width"] = width
            save_instance(HERE / f"{name}-{loss}.npz", X, y, sidecar)
    for name, family, n, d, width, seed in squared_instances():
        X, y, meta = generate(family, n, d, noise=NOISE, seed=seed, width=width)
        sidecar = {"arch": "two-layer", "width": width, "loss": "squared", "B": WEIGHT_BOUND}
        save_instance(HERE / f"{name}.npz", X, y, {**sidecar, "generator": meta})
    count = 2 * len(perf_instances()) + len(squared_instances())
    print(f"wrote {count} instances to {HERE}")


if __name__ == "__main__":
    main()
