"""Shared fixtures: tiny seeded instances, instance files, the hypothesis profiles.

Hypothesis runs under the ``ci`` profile by default: few examples, no deadline (solve
times vary on a shared machine), derandomized so that every run tries the same
examples, no example database, no shrinking. ``HYPOTHESIS_PROFILE=dev`` explores more.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from helpers import hinge_labels, planted_one_node, planted_two_layer
from hypothesis import HealthCheck, Phase, settings

settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "dev",
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def one_node_data():
    """Planted one-node data with noise: n = 8, d = 2."""
    return planted_one_node(seed=0, n=8, d=2)


@pytest.fixture
def two_layer_data():
    """Planted two-layer (width 2) data with noise: n = 6, d = 2."""
    return planted_two_layer(seed=0, n=6, d=2)


@pytest.fixture
def hinge_data():
    """±1 labels (one flipped): n = 8, d = 2."""
    return hinge_labels(seed=0, n=8, d=2)


@pytest.fixture
def write_instance(tmp_path):
    """Factory: ``write_instance(name, X, y, meta=None)`` writes ``tmp_path/name`` (.csv/.npz)."""
    import json

    def write(name, X, y, meta=None):
        path = tmp_path / name
        X, y = np.asarray(X, float), np.asarray(y, float)
        if path.suffix == ".npz":
            np.savez(path, X=X, y=y)
        else:
            header = ",".join([f"x{j + 1}" for j in range(X.shape[1])] + ["y"])
            rows = [
                ",".join(repr(float(v)) for v in (*row, t)) for row, t in zip(X, y, strict=True)
            ]
            path.write_text("\n".join([header, *rows]) + "\n")
        if meta is not None:
            path.with_suffix(".json").write_text(json.dumps(meta))
        return path

    return write
