"""Write the instances of the ``range`` suite into ``benchmarks/range/``.

    python benchmarks/range/make_range.py

Instances a new user could bring (one-node and two-layer, width <= 3,
n <= 50, d <= 3, all three losses, noisy data): one per row of ``RANGE``, chosen to spread
over widths, sizes and losses rather than to be easy. Box B = 2, noise 0.1 (for ``xor``:
10% of the labels flipped), a fixed seed per instance, so rerunning rewrites the same
bytes. No reference optimum is stored: most of these are beyond brute force, so the
sweep reports what the MIP certifies and how fast, not agreement with an oracle (the
tests do that on instances small enough to enumerate).
"""

from __future__ import annotations

from pathlib import Path

from exactrelu import save_instance
from exactrelu.generate import generate

HERE = Path(__file__).parent
WEIGHT_BOUND = 2.0
NOISE = 0.1

# family, arch, width, n, d, loss
RANGE = [
    ("planted-one-node", "one-node", 1, 50, 3, "squared"),
    ("planted-one-node", "one-node", 1, 50, 3, "absolute"),
    ("xor", "one-node", 1, 50, 3, "hinge"),
    ("planted-two-layer", "two-layer", 1, 50, 3, "squared"),
    ("planted-two-layer", "two-layer", 2, 50, 1, "absolute"),
    ("planted-two-layer", "two-layer", 2, 40, 2, "absolute"),
    ("planted-two-layer", "two-layer", 2, 50, 3, "absolute"),
    ("xor", "two-layer", 2, 50, 3, "hinge"),
    ("planted-two-layer", "two-layer", 3, 50, 1, "squared"),
    ("planted-two-layer", "two-layer", 3, 50, 2, "squared"),
    ("planted-two-layer", "two-layer", 3, 30, 3, "squared"),
    ("planted-two-layer", "two-layer", 3, 30, 3, "absolute"),
    ("xor", "two-layer", 3, 30, 2, "hinge"),
    ("planted-two-layer", "two-layer", 3, 40, 3, "squared"),
    ("xor", "two-layer", 3, 50, 3, "hinge"),
]


def main() -> None:
    for seed, (family, arch, width, n, d, loss) in enumerate(RANGE, start=700):
        X, y, meta = generate(family, n, d, noise=NOISE, seed=seed, width=max(width, 1))
        sidecar = {"arch": arch, "loss": loss, "B": WEIGHT_BOUND, "generator": meta}
        if arch == "two-layer":
            sidecar["width"] = width
        name = f"range-{arch}-w{width}-n{n}-d{d}-{loss}"
        save_instance(HERE / f"{name}.npz", X, y, sidecar)
    print(f"wrote {len(RANGE)} instances to {HERE}")


if __name__ == "__main__":
    main()
