"""The automatic weight box and the global claim, against brute force and by invariance.

The standardisation is recomputed here with plain numpy (not the package's), and every
optimum is the brute-force oracle's (tests/oracle.py) on the standardised data in the
certificate's final box, or without any box worth the name (B = 1000).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_certifies, brute_force_in_auto_box, standardised
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import brute_force

from exactrelu import Problem, solve

INSTANCES = Path(__file__).resolve().parent.parent / "instances"

UNBOXED = 1e3  # a box no optimum of these tiny instances comes near


def _instance(seed, n, d, loss, arch="one-node", steep=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if loss == "hinge":
        y = np.where(X @ rng.normal(size=d) + 0.3 * rng.normal(size=n) > 0, 1.0, -1.0)
    else:
        y = np.maximum(0.0, steep * (X @ rng.uniform(-1, 1, size=d) + 0.2)) + 0.1 * rng.normal(
            size=n
        )
        if arch == "two-layer":
            y -= np.maximum(0.0, X @ rng.uniform(-1, 1, size=d))
    return X, y


@pytest.mark.parametrize("loss", ["squared", "absolute", "hinge"])
@pytest.mark.parametrize(("arch", "width", "n"), [("one-node", 1, 7), ("two-layer", 2, 5)])
def test_auto_box_is_the_optimum_of_its_final_box(loss, arch, width, n):
    X, y = _instance(3, n, 2, loss, arch)
    cert = solve(Problem(X, y, arch=arch, width=width, loss=loss))
    assert cert.box["rule"] == "auto" and cert.box["units"] == "standardised"
    oracle = brute_force_in_auto_box(X, y, cert, arch=arch, width=width, loss=loss)
    assert_certifies(cert, oracle)
    # the boxes tried grow by a constant factor, the last one is the certificate's
    sizes = [t["weight_bound"] for t in cert.box["tried"]]
    assert sizes[-1] == cert.weight_bound
    assert all(b / a == pytest.approx(4.0) for a, b in itertools.pairwise(sizes))


def test_the_box_grows_while_the_optimum_touches_it():
    # One sample far above its close neighbours: the fit needs a slope far outside the
    # first box (in standardised units).
    X = np.array([[-1.0], [-0.5], [0.0], [0.2], [0.4], [0.45], [0.5]])
    y = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.02, 1.0])
    cert = solve(Problem(X, y))
    tried = cert.box["tried"]
    assert len(tried) > 1
    assert all(t["box_active"] or t["better_outside_box"] for t in tried[:-1])
    assert not cert.box_active and cert.box["stopped"] == "interior"
    # each larger box does at least as well (it holds the smaller box's optimum)
    losses = [t["objective"] for t in tried]
    assert all(b <= a * (1 + 1e-6) + 1e-9 for a, b in itertools.pairwise(losses))
    Xs, ys, sy = standardised(X, y, "one-node", "squared")
    unboxed = brute_force(Xs, ys, B=UNBOXED)
    assert cert.objective == pytest.approx(unboxed.loss * sy**2, rel=1e-6, abs=1e-9)
    assert "grew" in cert.summary()


def test_a_box_still_binding_at_the_largest_size_says_so(monkeypatch):
    # the instance above needs a box of 32; with the largest box 8 the growth stops short
    from exactrelu.methods import auto_box

    monkeypatch.setattr(auto_box, "LARGEST_BOX", 8.0)
    X = np.array([[-1.0], [-0.5], [0.0], [0.2], [0.4], [0.45], [0.5]])
    y = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.02, 1.0])
    cert = solve(Problem(X, y))
    assert [t["weight_bound"] for t in cert.box["tried"]] == [2.0, 8.0]
    assert cert.status == "optimal" and cert.box_active and not cert.is_global
    assert cert.box["stopped"] == "largest box"
    # the optimum of its last box all the same, by the oracle
    assert_certifies(cert, brute_force_in_auto_box(X, y, cert))
    assert "the box binds" in cert.summary().splitlines()[0]
    assert "stopped growing at its largest size" in cert.summary().splitlines()[0]


@pytest.mark.parametrize("method", ["bnb", "mip", "enumerate"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_global_certificate_is_optimal_without_the_box(method, seed):
    X, y = _instance(seed, 7, 2, "squared")
    cert = solve(Problem(X, y), method=method)
    unboxed = brute_force(X, y, B=UNBOXED)
    assert cert.status == "optimal"
    if cert.is_global:
        assert cert.objective == pytest.approx(unboxed.loss, rel=1e-6, abs=1e-9)
    assert cert.to_dict()["global"] is cert.is_global


@pytest.mark.parametrize("method", ["bnb", "enumerate"])
def test_no_global_claim_when_a_larger_box_does_better(method):
    # A fixed box far too small for the data: its optimum is not the optimum over all
    # weights, and the certificate must not say it is.
    X, y = _instance(1, 7, 2, "squared", steep=5.0)
    cert = solve(Problem(X, y, weight_bound=0.2), method=method)
    unboxed = brute_force(X, y, B=UNBOXED)
    assert cert.status == "optimal"
    assert cert.objective > unboxed.loss * (1 + 1e-3)
    assert not cert.is_global


def test_a_planted_instance_is_proven_global():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(40, 2))
    y = np.maximum(0.0, X @ [1.0, -0.5] + 0.1) + 0.05 * rng.normal(size=40)
    for method in ("bnb", "enumerate", "mip"):
        cert = solve(Problem(X, y), method=method)
        assert cert.status == "optimal" and cert.is_global, method
        assert "whatever its weights" in cert.summary().splitlines()[0]


@settings(max_examples=12)
@given(
    seed=st.integers(0, 2**32 - 1),
    arch=st.sampled_from(["one-node", "two-layer"]),
    loss=st.sampled_from(["squared", "absolute", "hinge"]),
    target_factor=st.sampled_from([1e-3, 0.37, 25.0, 1e4]),
    feature_factor=st.sampled_from([1e-2, 3.0, 800.0]),
    shift=st.sampled_from([0.0, 5.0, -300.0]),
)
def test_scaling_the_data_scales_the_certified_network(
    seed, arch, loss, target_factor, feature_factor, shift
):
    """Multiplying y (not ±1 labels) or a feature by a positive factor, or shifting a
    feature, leaves the status unchanged and the network scaled accordingly."""
    n = 6 if arch == "one-node" else 5
    X, y = _instance(seed % 1000, n, 2, loss, arch)
    width = 2 if arch == "two-layer" else None
    base = solve(Problem(X, y, arch=arch, width=width, loss=loss))
    s = 1.0 if loss == "hinge" else target_factor
    X2 = X.copy()
    X2[:, 1] = X2[:, 1] * feature_factor + shift
    scaled = solve(Problem(X2, y * s, arch=arch, width=width, loss=loss))
    assert scaled.status == base.status
    factor = s**2 if loss == "squared" else s
    assert scaled.objective == pytest.approx(base.objective * factor, rel=1e-5, abs=1e-9 * factor)
    # the same function of the data, up to the target's scale
    spread = max(float(np.max(np.abs(y))), 1.0)
    np.testing.assert_allclose(
        scaled.network.predict(X2) / s, base.network.predict(X), rtol=1e-4, atol=1e-5 * spread
    )


REAL = ["diabetes-n30-d2", "wine-alcohol-n30-d2"]


@pytest.mark.parametrize("name", REAL)
@pytest.mark.parametrize(("loss", "peer"), [("squared", "scip"), ("absolute", "gurobi")])
def test_real_data_default_solve_is_the_optimum_of_a_larger_box(name, loss, peer):
    """On the shipped standardised real data, the default solve returns an interior optimum
    equal to an independent solver's (the peer on the plain big-M model) over a fixed box
    four times larger; standardising these files again changes nothing, so the boxes
    are in the same units."""
    pytest.importorskip({"scip": "pyscipopt", "gurobi": "gurobipy"}[peer])
    from exactrelu.bench.executors import run_method
    from exactrelu.instances import load_instance

    problem = load_instance(INSTANCES / f"{name}.csv").problem(
        arch="one-node", loss=loss, weight_bound="auto"
    )
    Xs, _, sy = standardised(problem.X, problem.y, "one-node", loss)
    assert np.allclose(Xs, problem.X, atol=1e-12) and sy == pytest.approx(1.0, rel=1e-9)
    cert = solve(problem)
    assert cert.status == "optimal" and not cert.box_active
    larger = problem.with_box(4 * cert.weight_bound)
    larger = run_method(peer, larger, time_limit=120, threads=1, seed=0)
    assert larger.status == "optimal"
    assert cert.objective == pytest.approx(larger.objective, rel=1e-6, abs=1e-9)
