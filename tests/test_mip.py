"""The MIP against independent oracles (tests/oracle.py), hand-computed optima and time limits."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import (
    assert_matches,
    certificate_weights,
    gradient_descent,
    hinge_labels,
    planted_one_node,
    planted_two_layer,
    random_network,
    tolerance,
)
from oracle import brute_force, forward, loss_value

from exactrelu import Problem, load_instance
from exactrelu.solve import solve

LOSSES = ("squared", "absolute", "hinge")


def make_data(arch, loss, seed, n, d, width=2):
    if loss == "hinge":
        return hinge_labels(seed, n, d)
    if arch == "one-node":
        return planted_one_node(seed, n, d)
    return planted_two_layer(seed, n, d, width)


@functools.cache
def case(arch, loss, seed, n, d, B=2.0, bias=True):
    """(problem, oracle result) for one tiny instance, computed once per test run."""
    X, y = make_data(arch, loss, seed, n, d)
    width = 2 if arch == "two-layer" else 1
    problem = Problem(
        X,
        y,
        arch=arch,
        width=width if arch == "two-layer" else None,
        loss=loss,
        weight_bound=B,
        bias=bias,
    )
    best = brute_force(X, y, arch=arch, width=width, loss=loss, B=B, bias=bias)
    return problem, best


def check_certificate(cert, problem):
    """What every exact certificate must satisfy, checked without exactrelu's own code."""
    weights = certificate_weights(cert)
    recomputed = weights.loss(problem.X, problem.y, problem.loss)
    assert cert.objective == pytest.approx(recomputed, rel=1e-12, abs=1e-14)
    assert cert.bound is not None and cert.bound <= cert.objective
    assert cert.gap == pytest.approx(
        (cert.objective - cert.bound) / max(abs(cert.objective), 1e-9), rel=1e-9, abs=1e-15
    )
    B = problem.weight_bound
    assert np.all(np.abs(weights.W) <= B * (1 + 1e-9))
    assert np.all(np.abs(weights.b) <= B * (1 + 1e-9))
    if not problem.bias:
        np.testing.assert_array_equal(weights.b, 0.0)
    np.testing.assert_array_equal(np.abs(weights.v), 1.0)
    on_box = max(np.abs(weights.W).max(), np.abs(weights.b).max()) >= B * (1 - 1e-6)
    assert cert.box_active == on_box
    assert (cert.arch, cert.width, cert.loss, cert.weight_bound, cert.bias) == (
        problem.arch,
        problem.width,
        problem.loss,
        problem.weight_bound,
        problem.bias,
    )
    assert (cert.n, cert.d) == (problem.n, problem.d)
    assert cert.method == "mip"
    # one summary per output-sign case; together they account for the whole search
    cases = cert.details["case_summary"]
    assert len(cases) == cert.details["cases"]
    assert sum(case["nodes"] for case in cases) == cert.details["nodes"]
    assert all(cert.bound <= case["bound"] + 1e-12 for case in cases)
    if cases and "presolve" not in cert.details:  # then the cases' bounds are all there is
        bounds = [case["bound"] for case in cases]
        if cert.details.get("cases_not_built"):
            bounds.append(0.0)  # stopped while building: a case never built proves nothing
        assert cert.bound == max(0.0, min(bounds))
    return weights


def check_matches_oracle(cert, problem, best):
    check_certificate(cert, problem)
    assert cert.status == "optimal", cert.details
    assert_matches(cert.objective, best)
    # the bound is proven: it may not exceed the value of any network, the oracle's included
    assert cert.bound <= best.loss + 1e-9 * max(1.0, abs(best.loss))


ONE_NODE_CASES = [(loss, seed, 8, 2) for loss in LOSSES for seed in (0, 1)] + [
    ("squared", 2, 7, 3),
    ("absolute", 2, 7, 1),
]


@pytest.mark.parametrize(("loss", "seed", "n", "d"), ONE_NODE_CASES)
def test_one_node_matches_brute_force(loss, seed, n, d):
    problem, best = case("one-node", loss, seed, n, d)
    check_matches_oracle(solve(problem, method="mip"), problem, best)


@pytest.mark.parametrize("loss", LOSSES)
def test_one_node_without_bias_matches_brute_force(loss):
    problem, best = case("one-node", loss, 3, 8, 2, bias=False)
    check_matches_oracle(solve(problem, method="mip"), problem, best)


@pytest.mark.parametrize("loss", LOSSES)
def test_one_node_small_box_matches_brute_force(loss):
    problem, best = case("one-node", loss, 4, 8, 2, B=0.3)
    check_matches_oracle(solve(problem, method="mip"), problem, best)


@pytest.mark.parametrize(
    ("loss", "seed", "n", "d"), [(loss, 0, 6, 2) for loss in LOSSES] + [("squared", 1, 6, 1)]
)
def test_two_layer_matches_brute_force(loss, seed, n, d):
    problem, best = case("two-layer", loss, seed, n, d)
    check_matches_oracle(solve(problem, method="mip"), problem, best)


def test_box_binding_optimum_by_hand():
    # y = 3x on x = 1..4 with B = 0.5: every f_i = max(0, w x_i + b) <= 0.5 x_i + 0.5 < y_i,
    # with equality only at w = b = 0.5, and the loss decreases in every f_i, so the unique
    # optimum is w = b = 0.5 with residuals 2.5 x - 0.5 = 2, 4.5, 7, 9.5.
    X = np.arange(1.0, 5.0)[:, None]
    y = 3.0 * X[:, 0]
    for loss, expected in (("squared", 4 + 20.25 + 49 + 90.25), ("absolute", 2 + 4.5 + 7 + 9.5)):
        cert = solve(Problem(X, y, loss=loss, weight_bound=0.5), method="mip")
        check_certificate(cert, Problem(X, y, loss=loss, weight_bound=0.5))
        assert cert.status == "optimal"
        assert abs(cert.objective - expected) <= tolerance(expected)
        assert cert.weights["w"] == pytest.approx([0.5], abs=1e-6)
        assert cert.weights["b"] == pytest.approx(0.5, abs=1e-6)
        assert cert.box_active


@pytest.mark.parametrize("arch", ["one-node", "two-layer"])
def test_realizable_instance_is_certified_at_zero(arch):
    # noise-free planted data: the planted network (inside the box) has loss 0
    X, y = (
        planted_one_node(5, 12, 2, noise=0.0)
        if arch == "one-node"
        else planted_two_layer(5, 10, 2, noise=0.0)
    )
    problem = Problem(X, y, arch=arch, weight_bound=2.0)
    cert = solve(problem, method="mip")
    check_certificate(cert, problem)
    assert cert.status == "optimal"
    assert cert.objective <= 1e-8


def test_csv_and_npz_copies_give_the_same_certificate(write_instance):
    X, y = planted_one_node(6, 8, 2)
    certs = [
        solve(load_instance(write_instance(f"same{suffix}", X, y)).problem(), method="mip")
        for suffix in (".csv", ".npz")
    ]
    assert certs[0].status == certs[1].status == "optimal"
    assert certs[0].objective == certs[1].objective
    assert certs[0].weights == certs[1].weights


def test_time_limit_returns_network_and_bound():
    X, y = planted_two_layer(7, 80, 3, width=3, noise=0.5)
    problem = Problem(X, y, arch="two-layer", width=3, weight_bound=2.0)
    start = time.perf_counter()
    cert = solve(problem, method="mip", time_limit=2.0)
    wall = time.perf_counter() - start
    assert cert.status == "time_limit"
    weights = check_certificate(cert, problem)
    assert weights.W.shape == (3, 3)
    assert cert.gap > 0
    # the certificate shows which sign cases were still open
    assert any(case_["closed_by"] is None for case_ in cert.details["case_summary"])
    # the network returned is at least as good as doing nothing (all-zero weights, c = 0)
    assert cert.objective <= loss_value(y, np.zeros_like(y), "squared") + 1e-9
    assert wall <= 2.0 + 3.0, f"a 2 s limit took {wall:.1f} s"


def test_progress_lines_show_every_sign_case(capsys):
    # The overall bound is the smallest case bound (0 on hard instances until the last
    # case proves something): the progress line also shows each case's own state.
    X, y = planted_two_layer(7, 40, 3, width=3, noise=0.5)  # built in well under 3 s
    problem = Problem(X, y, arch="two-layer", width=3, weight_bound=2.0)
    cert = solve(problem, method="mip", time_limit=3.0, progress=1e-6)
    lines = [
        line for line in capsys.readouterr().err.splitlines() if "sign cases by +1 units" in line
    ]
    assert lines
    for line in lines:
        states = line.split("sign cases by +1 units: ")[1].rstrip(")").split("; ")
        assert [state.split(":")[0] for state in states] == ["0", "1", "2", "3"]
        shown = {
            int(state.split(":")[0]): float(state.rsplit("bound ", 1)[1])
            for state in states
            if "bound" in state
        }
        # the open cases' bounds (4 digits) are at least the line's overall bound
        line_bound = float(line.split("bound ")[1].split()[0])
        assert min(shown.values()) >= line_bound * (1 - 1e-3) - 1e-9
        # and bounds only grow: no case shows more than it proved in the end
        final = {case_["positive_units"]: case_["bound"] for case_ in cert.details["case_summary"]}
        assert all(bound <= final[units] * (1 + 1e-3) + 1e-9 for units, bound in shown.items())


def test_threads_option_after_a_default_solve():
    # HiGHS keeps one thread scheduler per process: a solve asking for a thread count
    # other than the one a previous HiGHS run started with must still work.
    problem, best = case("one-node", "absolute", 0, 8, 2)
    check_matches_oracle(solve(problem, method="mip"), problem, best)
    check_matches_oracle(solve(problem, method="mip", threads=1), problem, best)


def test_degenerate_instance_finishes_within_its_time_limit(tmp_path):
    # A two-sample instance on which HiGHS's active-set QP (fixed-pattern fits) cycled
    # for ever with its default regularization, ignoring the time limit. Run in a child
    # process so that a hang fails this test instead of stalling the suite.
    code = (
        "import numpy as np\n"
        "from exactrelu import Problem\n"
        "from exactrelu.solve import solve\n"
        "X = np.array([[0.0, 1.0], [0.0, -1.0]])\n"
        "y = np.array([0.01850426332226807, 0.6670949657585376])\n"
        "p = Problem(X, y, arch='two-layer', width=2, weight_bound=5.0, bias=False)\n"
        "print(solve(p, time_limit=5.0).to_json())\n"
    )
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, cwd=tmp_path
        )
    except subprocess.TimeoutExpired:
        pytest.fail("solve(..., time_limit=5) still running after 30 s")
    assert proc.returncode == 0, proc.stderr
    cert = json.loads(proc.stdout)
    # c = y_0 and one +1 unit with W = (0, -(y_1 - y_0)) (inside the box) fit both samples
    # exactly, so the optimum is 0.
    assert cert["status"] == "optimal"
    assert cert["objective"] <= 1e-9


# ----------------------------------------------------------------------------------------
# the oracles themselves
# ----------------------------------------------------------------------------------------


def test_oracle_reductions_agree_with_plain_enumeration():
    # Two-layer: the symmetry and realizability reductions against every pattern.
    X, y = planted_two_layer(8, 4, 2)
    for loss in ("squared", "absolute"):
        reduced = brute_force(X, y, arch="two-layer", width=2, loss=loss)
        full = brute_force(X, y, arch="two-layer", width=2, loss=loss, realizable_only=False)
        assert reduced.solves < full.solves
        assert_matches(reduced.loss, full)
        assert_matches(full.loss, reduced)
    # One-node: realizable patterns only, against the plain 2^n default.
    X, y = planted_one_node(8, 7, 2)
    assert_matches(brute_force(X, y, realizable_only=True).loss, brute_force(X, y))


@pytest.mark.parametrize("arch", ["one-node", "two-layer"])
def test_oracle_beats_random_and_gradient_descent(arch):
    problem, best = case(arch, "squared", 0, 8 if arch == "one-node" else 6, 2)
    X, y = problem.X, problem.y
    assert best.loss == pytest.approx(
        loss_value(y, forward(X, best.W, best.b, best.v, best.c), "squared"), rel=1e-15
    )
    rng = np.random.default_rng(0)
    for _ in range(50):
        assert best.loss <= random_network(problem, rng).loss(X, y, "squared") + 1e-12
    for seed in range(3):
        assert best.loss <= gradient_descent(problem, seed).loss(X, y, "squared") + 1e-12


@pytest.mark.parametrize(
    ("arch", "loss", "seed", "n", "d"),
    [
        ("one-node", "squared", 0, 8, 2),
        ("one-node", "hinge", 1, 8, 2),
        ("two-layer", "absolute", 0, 6, 2),
    ],
)
def test_scip_agrees_with_brute_force(arch, loss, seed, n, d):
    pytest.importorskip("pyscipopt")
    from oracle import scip_optimum

    problem, best = case(arch, loss, seed, n, d)
    scip = scip_optimum(problem.X, problem.y, arch=arch, width=problem.width, loss=loss)
    assert_matches(scip.loss, best)
    assert scip.lower <= best.loss + 1e-6 * max(1.0, best.loss)


@pytest.mark.parametrize("loss", LOSSES)
def test_mip_matches_scip_beyond_brute_force(loss):
    # n = 14: too many patterns to enumerate quickly, easy for SCIP's MIQP/MILP
    pytest.importorskip("pyscipopt")
    from oracle import scip_optimum

    X, y = make_data("one-node", loss, 9, 14, 2)
    problem = Problem(X, y, loss=loss, weight_bound=2.0)
    scip = scip_optimum(X, y, loss=loss)
    cert = solve(problem, method="mip")
    check_certificate(cert, problem)
    assert cert.status == "optimal"
    assert_matches(cert.objective, scip)
    assert cert.bound <= scip.loss + 1e-9 * max(1.0, scip.loss)
    assert cert.objective >= scip.lower - tolerance(scip.lower)


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_two_layer_squared_with_residual_segments_matches_brute_force(seed):
    # With d >= 3 the squares are also modelled by residual segments; they restrict the
    # residuals to ±√(first incumbent's loss), which must never cut off the optimum.
    problem, best = case("two-layer", "squared", seed, 6, 3)
    cert = solve(problem, method="mip")
    assert cert.details["residual_segments"] > 0
    check_matches_oracle(cert, problem, best)
