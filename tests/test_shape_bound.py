"""The convex-regression bound of the two-layer sign cases whose output signs all agree."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import planted_two_layer

from exactrelu import Problem
from exactrelu.convex.convex_regression import shape_constrained_bound
from exactrelu.network.networks import TwoLayerNetwork


@pytest.mark.parametrize("loss", ["squared", "absolute"])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_bound_never_exceeds_a_network_of_the_case(loss, sign):
    """Every network whose output signs are all ``sign`` loses at least the bound."""
    X, y = planted_two_layer(3, 25, 2, width=3)
    problem = Problem(X, y, arch="two-layer", width=3, loss=loss, weight_bound=2.0)
    bound = shape_constrained_bound(problem, sign)
    rng = np.random.default_rng(0)
    for _ in range(200):
        W = rng.uniform(-2, 2, size=(3, 2))
        b = rng.uniform(-2, 2, size=3)
        net = TwoLayerNetwork(W, b, np.full(3, sign), 0.0)
        # the best output bias for these hidden weights (mean residual for squared loss,
        # median for absolute): the network of the case closest to the data
        r = y - net.predict(X)
        net = TwoLayerNetwork(
            W, b, np.full(3, sign), float(np.mean(r) if loss == "squared" else np.median(r))
        )
        assert bound <= net.loss(X, y, loss) * (1 + 1e-7) + 1e-9


def test_convex_data_fit_by_convex_functions_only():
    """Noise-free data from an all-positive network: convex fit exact, concave fit not."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 2))
    net = TwoLayerNetwork(
        np.array([[1.0, 0.5], [-1.0, 0.2]]), np.array([0.1, 0.0]), np.ones(2), 0.3
    )
    y = net.predict(X)
    problem = Problem(X, y, arch="two-layer", width=2, weight_bound=2.0)
    assert shape_constrained_bound(problem, 1.0) == pytest.approx(0.0, abs=1e-6)
    concave = shape_constrained_bound(problem, -1.0)
    assert concave > 0.1
    # the concave bound is the best concave fit: a constant (concave) fit loses more
    assert concave <= float(np.sum((y - y.mean()) ** 2)) + 1e-9


def test_hinge_bound_is_a_lower_bound():
    X, y = planted_two_layer(4, 20, 2)
    labels = np.where(y > np.median(y), 1.0, -1.0)
    problem = Problem(X, labels, arch="two-layer", width=2, loss="hinge", weight_bound=2.0)
    bound = shape_constrained_bound(problem, 1.0)
    assert 0.0 <= bound <= problem.n  # the zero network loses exactly n
