"""The one-node branch and bound (method ``bnb``, and the MIP's presolve) against oracles."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from helpers import assert_matches, planted_one_node
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import brute_force

from exactrelu import Problem
from exactrelu.errors import InvalidInputError
from exactrelu.methods.bnb.one_node import OneNodeBranchAndBound
from exactrelu.methods.mip import MipSettings
from exactrelu.methods.search import Incumbent
from exactrelu.network.networks import OneNodeNetwork
from exactrelu.options import Deadline, SolveOptions
from exactrelu.solve import solve


def data(seed: int, n: int, d: int, kind: str):
    """Planted one-node data, or random targets (most samples misfit, many y <= 0)."""
    X, y = planted_one_node(seed, n, d, noise=0.3)
    if kind == "random":
        y = np.random.default_rng(seed + 100).normal(size=n)
    return X, y


@functools.cache
def case(seed, n, d, kind, B=2.0, bias=True):
    X, y = data(seed, n, d, kind)
    problem = Problem(X, y, loss="squared", weight_bound=B, bias=bias)
    return problem, brute_force(X, y, loss="squared", B=B, bias=bias)


CASES = [
    (0, 8, 2, "planted", 2.0, True),
    (1, 8, 1, "random", 2.0, True),
    (2, 7, 3, "planted", 2.0, False),
    (3, 8, 2, "random", 0.3, True),  # a small box: the box binds, leaves need their QP
    (4, 8, 2, "random", 2.0, False),
]


@pytest.mark.parametrize(("seed", "n", "d", "kind", "B", "bias"), CASES)
def test_bnb_matches_brute_force(seed, n, d, kind, B, bias):
    problem, best = case(seed, n, d, kind, B, bias)
    cert = solve(problem, method="bnb")
    assert cert.status == "optimal", cert.details
    assert cert.method == "bnb"
    assert_matches(cert.objective, best)
    assert cert.bound <= best.loss + 1e-9 * max(1.0, best.loss)


@pytest.mark.parametrize(("seed", "n", "d", "kind", "B", "bias"), CASES)
def test_mip_on_cutoff_bounds_matches_brute_force(seed, n, d, kind, B, bias):
    # No presolve time: the MILP runs on the root's cutoff bounds (fixed activations,
    # tightened big-M) instead of the presolve closing the instance by itself.
    settings = MipSettings(presolve_seconds=0.0, presolve_seconds_good_fit=0.0)
    problem, best = case(seed, n, d, kind, B, bias)
    cert = solve(problem, method="mip", settings=settings)
    presolve = cert.details["presolve"]
    assert presolve["closed"] is False or cert.details["mip_solves"] == 0
    assert cert.status == "optimal", cert.details
    assert_matches(cert.objective, best)
    assert cert.bound <= best.loss + 1e-9 * max(1.0, best.loss)


def test_presolve_closes_a_planted_instance_without_a_milp():
    X, y = planted_one_node(5, 60, 2, noise=0.05)
    cert = solve(Problem(X, y, weight_bound=2.0), method="mip")
    assert cert.status == "optimal"
    assert cert.details["presolve"]["closed"] is True
    assert cert.details["mip_solves"] == 0
    assert cert.objective == pytest.approx(
        solve(Problem(X, y, weight_bound=2.0), method="enumerate").objective
    )


def network_loss(problem, theta):
    z = problem.X @ theta[:-1] + theta[-1]
    return float(np.sum((problem.y - np.maximum(z, 0.0)) ** 2))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), slack=st.floats(0.05, 2.0))
def test_cutoff_bounds_keep_every_network_below_the_threshold(seed, slack):
    """Every network with loss at most T satisfies the bounds, the optimum included."""
    rng = np.random.default_rng(seed)
    X, y = planted_one_node(seed, 30, 2, noise=0.2)
    problem = Problem(X, y, weight_bound=2.0)
    optimum = solve(problem, method="enumerate")
    w, b = np.asarray(optimum.weights["w"]), optimum.weights["b"]
    theta_opt = np.r_[w, b]
    # an incumbent worse than the optimum, so that T lies above it
    options = SolveOptions()
    incumbent = Incumbent(problem, options, Deadline(None), OneNodeNetwork(w * 0, 0.0))
    target = optimum.objective * (1 + slack) + 0.05
    for scale in np.linspace(0.0, 1.0, 200):
        candidate = OneNodeNetwork(w * (1 - scale), b * (1 - scale))
        if candidate.loss(X, y, "squared") >= target:
            incumbent.offer(candidate)
            break
    tree = OneNodeBranchAndBound(problem, options, incumbent)
    bounds = tree.cutoff_bounds()
    T = tree.threshold()
    assert bounds is not None and T > optimum.objective
    thetas = [theta_opt] + [
        np.clip(theta_opt + rng.normal(scale=s, size=3), -2, 2)
        for s in (0.01, 0.05, 0.2, 0.5)
        for _ in range(50)
    ]
    checked = 0
    for theta in thetas:
        if network_loss(problem, theta) <= T:
            z = X @ theta[:-1] + theta[-1]
            assert np.all(z >= bounds.lower - 1e-9) and np.all(z <= bounds.upper + 1e-9)
            checked += 1
    assert checked >= 1


def test_time_limit_returns_network_and_bound():
    X, y = data(6, 120, 3, "random")
    problem = Problem(X, y, weight_bound=2.0)
    cert = solve(problem, method="bnb", time_limit=0.5)
    assert cert.status in ("time_limit", "optimal")
    assert cert.bound is not None and 0 <= cert.bound <= cert.objective
    assert cert.objective == pytest.approx(
        OneNodeNetwork(np.asarray(cert.weights["w"]), cert.weights["b"]).loss(X, y, "squared")
    )


@pytest.mark.parametrize(("arch", "loss"), [("one-node", "absolute"), ("two-layer", "absolute")])
def test_bnb_refuses_other_problems(arch, loss):
    X, y = planted_one_node(0, 8, 2)
    problem = Problem(
        X, y, arch=arch, loss=loss, width=2 if arch == "two-layer" else None, weight_bound=2.0
    )
    with pytest.raises(InvalidInputError, match="method 'bnb'"):
        solve(problem, method="bnb")
