"""Properties of exact solves on random small instances (hypothesis, ``ci`` profile).

Instances are drawn from a seeded generator (the seed, sizes, box, bias, loss and
whether features are rounded so that ties and duplicate rows appear are chosen by
hypothesis); every comparison is against an independent computation: the loss of the
returned weights recomputed by ``tests/oracle.py``, random networks of the class, a
plain numpy gradient descent, the brute-force oracle.
"""

from __future__ import annotations

import numpy as np
from helpers import (
    assert_matches,
    brute_force_of,
    certificate_weights,
    gradient_descent,
    random_network,
    tolerance,
)
from hypothesis import given
from hypothesis import strategies as st

from exactrelu import Problem
from exactrelu.solve import solve


@st.composite
def problems(draw, max_n=7, two_layer_max_n=5):
    seed = draw(st.integers(0, 2**32 - 1))
    arch = draw(st.sampled_from(["one-node", "two-layer"]))
    loss = draw(st.sampled_from(["squared", "absolute", "hinge"]))
    n = draw(st.integers(1, max_n if arch == "one-node" else two_layer_max_n))
    d = draw(st.integers(1, 3))
    width = draw(st.integers(1, 2)) if arch == "two-layer" else None
    B = draw(st.sampled_from([0.25, 1.0, 2.0, 5.0]))
    bias = draw(st.booleans())
    decimals = draw(st.sampled_from([None, 0, 1]))  # rounding makes ties and duplicates
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if decimals is not None:
        X = np.round(X, decimals)
    if loss == "hinge":
        y = rng.choice([-1.0, 1.0], size=n)
    else:
        w = rng.uniform(-1.5, 1.5, size=d)
        y = np.maximum(0.0, X @ w + rng.uniform(-0.5, 0.5)) + 0.3 * rng.normal(size=n)
        if arch == "two-layer":
            y -= 0.5 * np.maximum(0.0, X @ rng.uniform(-1, 1, size=d))
    return Problem(X, y, arch=arch, width=width, loss=loss, weight_bound=B, bias=bias)


def _optimal(problem, **kwargs):
    cert = solve(problem, **kwargs)
    assert cert.status == "optimal", (cert.status, cert.details)
    return cert


@given(problems())
def test_objective_is_recomputed_and_above_bound(problem):
    cert = _optimal(problem)
    weights = certificate_weights(cert)
    recomputed = weights.loss(problem.X, problem.y, problem.loss)
    assert abs(cert.objective - recomputed) <= 1e-12 * max(1.0, recomputed)
    assert cert.bound is not None and cert.bound <= cert.objective
    assert cert.objective - cert.bound <= tolerance(cert.objective)
    B = problem.weight_bound
    assert np.all(np.abs(weights.W) <= B * (1 + 1e-9))
    assert np.all(np.abs(weights.b) <= B * (1 + 1e-9))
    np.testing.assert_array_equal(np.abs(weights.v), 1.0)


@given(problems(), st.integers(0, 1000))
def test_never_worse_than_random_or_gradient_descent(problem, seed):
    cert = _optimal(problem)
    rng = np.random.default_rng(seed)
    slack = tolerance(cert.objective)
    for _ in range(20):
        assert (
            cert.objective
            <= random_network(problem, rng).loss(problem.X, problem.y, problem.loss) + slack
        )
    gd = gradient_descent(problem, seed=seed, steps=200)
    assert cert.objective <= gd.loss(problem.X, problem.y, problem.loss) + slack


@given(problems(), st.integers(0, 1000))
def test_warm_start_never_changes_the_optimum(problem, seed):
    cold = _optimal(problem)
    starts = [
        gradient_descent(problem, seed=seed, steps=100),
        random_network(problem, np.random.default_rng(seed)),
        certificate_weights(cold),  # the optimum itself
    ]
    for start in starts:
        warm = _optimal(problem, warm_start=start.network())
        assert abs(warm.objective - cold.objective) <= (
            tolerance(cold.objective) + tolerance(warm.objective)
        ), (warm.objective, cold.objective)
        # and the warm start's own loss is an upper bound of what comes back
        assert warm.objective <= start.loss(problem.X, problem.y, problem.loss) + tolerance(
            warm.objective
        )


@given(problems(max_n=6, two_layer_max_n=4))
def test_matches_brute_force_on_random_instances(problem):
    cert = _optimal(problem)
    best = brute_force_of(problem)
    assert_matches(cert.objective, best)
    assert cert.bound <= best.loss + 1e-9 * max(1.0, best.loss)
