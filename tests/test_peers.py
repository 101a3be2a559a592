"""The peer solvers on the shared plain big-M model, against the brute-force oracle.

Every peer (SCIP, Gurobi, naive HiGHS) on every architecture and loss must certify the
optimum that tests/oracle.py enumerates; each sign case's bound must stay below that
case's own optimum (the cases pruned by a cutoff included); and the model description
must represent every network exactly. Peers whose package is missing are skipped.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from helpers import assert_certifies, hinge_labels, planted_one_node, planted_two_layer, tolerance
from oracle import brute_force

from exactrelu import OneNodeNetwork, Problem, TwoLayerNetwork
from exactrelu.certificate import Stop
from exactrelu.methods.peers.big_m import build_big_m, sign_cases
from exactrelu.methods.peers.driver import CaseResult, case_bound, solve_by_cases
from exactrelu.options import Deadline, SolveOptions
from exactrelu.solve import solve

LOSSES = ("squared", "absolute", "hinge")
PEERS = {"scip": "pyscipopt", "gurobi": "gurobipy", "highs-naive": None}


def _needs(method: str) -> None:
    if PEERS[method] is not None:
        pytest.importorskip(PEERS[method])


def _data(arch: str, loss: str, n: int, d: int, seed: int = 1):
    if loss == "hinge":
        return hinge_labels(seed + 1, n, d)
    if arch == "one-node":
        return planted_one_node(seed, n, d)
    return planted_two_layer(seed, n, d, noise=0.3)


def _problem(arch: str, loss: str, bias: bool = True) -> Problem:
    """Tiny instances whose optimum is not 0: two-layer networks interpolate six points
    in the plane, and a solver's feasibility tolerance then decides a loss of 1e-9."""
    n, d = (8, 2) if arch == "one-node" else (6, 1)
    X, y = _data(arch, loss, n, d)
    width = 2 if arch == "two-layer" else None
    return Problem(X, y, arch=arch, width=width, loss=loss, bias=bias, weight_bound=2.0)


@functools.cache
def _optimum(arch: str, loss: str, bias: bool = True, positive_units: int | None = None):
    problem = _problem(arch, loss, bias)
    return brute_force(
        problem.X,
        problem.y,
        arch=arch,
        width=problem.width,
        loss=loss,
        bias=bias,
        positive_units=positive_units,
    )


# ----------------------------------------------------------------------------------------
# the peers against the oracle
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("arch", ["one-node", "two-layer"])
@pytest.mark.parametrize("method", list(PEERS))
def test_peer_certifies_the_oracle_optimum(method, arch, loss):
    _needs(method)
    cert = solve(_problem(arch, loss), method=method, threads=1)
    assert cert.method == method
    assert_certifies(cert, _optimum(arch, loss))
    cases = cert.details["cases"]
    assert [case["positive_units"] for case in cases] == sign_cases(_problem(arch, loss))
    assert cert.details["nodes"] == sum(case["nodes"] for case in cases)


@pytest.mark.parametrize("method", list(PEERS))
def test_peer_without_bias(method):
    _needs(method)
    cert = solve(_problem("one-node", "absolute", bias=False), method=method, threads=1)
    assert_certifies(cert, _optimum("one-node", "absolute", bias=False))
    assert cert.weights["b"] == 0.0


@pytest.mark.parametrize("loss", ["squared", "absolute"])
@pytest.mark.parametrize("method", list(PEERS))
def test_two_layer_case_bounds_never_exceed_the_case_optimum(method, loss):
    """Each case's bound (also one pruned by a cutoff) is at most the optimum of its signs."""
    _needs(method)
    cert = solve(_problem("two-layer", loss), method=method, threads=1)
    for case in cert.details["cases"]:
        optimum = _optimum("two-layer", loss, positive_units=case["positive_units"]).loss
        assert case["bound"] <= optimum + tolerance(optimum)
    assert cert.bound <= _optimum("two-layer", loss).loss + tolerance(cert.bound)


@pytest.mark.parametrize("method", list(PEERS))
def test_time_limit_returns_a_valid_certificate(method):
    _needs(method)
    X, y = planted_two_layer(3, 40, 2, noise=0.3)
    problem = Problem(X, y, arch="two-layer", width=2, loss="absolute", weight_bound=2.0)
    cert = solve(problem, method=method, threads=1, time_limit=0.5)
    assert cert.seconds < 5.0
    assert cert.status in ("time_limit", "optimal")
    assert 0.0 <= cert.bound <= cert.objective


# ----------------------------------------------------------------------------------------
# the model description
# ----------------------------------------------------------------------------------------


def _network_in_case(problem: Problem, p: int, rng):
    """A random network of the box with the case's output signs, units of one sign
    ordered by decreasing activation count (as the symmetry rows ask)."""
    h, d, B = problem.width, problem.d, problem.weight_bound
    W = rng.uniform(-B, B, size=(h, d))
    b = rng.uniform(-B, B, size=h) if problem.bias else np.zeros(h)
    if problem.arch == "one-node":
        return OneNodeNetwork(W[0], float(b[0]))
    counts = (problem.X @ W.T + b > 0).sum(axis=0)
    order = np.r_[np.argsort(-counts[:p], kind="stable"), p + np.argsort(-counts[p:])]
    signs = np.where(np.arange(h) < p, 1.0, -1.0)
    return TwoLayerNetwork(W[order], b[order], signs, float(rng.normal()))


def _point(model, network, problem: Problem) -> np.ndarray:
    """The column values that represent ``network`` in ``model``."""
    W, b = network.hidden_weights
    Z = problem.X @ W.T + b
    x = np.zeros(model.num_col)
    x[model.W], x[model.b] = W, b
    x[model.a], x[model.s] = np.maximum(Z, 0.0), Z > 0
    f = network.predict(problem.X)
    if model.c is not None:
        x[model.c] = network.c
    if problem.loss == "absolute":
        x[model.e] = np.abs(problem.y - f)
    elif problem.loss == "hinge":
        x[model.e] = np.maximum(0.0, 1.0 - problem.y * f)
    return x


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("arch", ["one-node", "two-layer"])
def test_description_represents_every_network(arch, loss, bias):
    rng = np.random.default_rng(7)
    X, y = _data(arch, loss, 12, 3)
    width = 3 if arch == "two-layer" else None
    problem = Problem(X, y, arch=arch, width=width, loss=loss, bias=bias, weight_bound=2.0)
    for p in sign_cases(problem):
        model = build_big_m(problem, p)
        network = _network_in_case(problem, p, rng)
        x = _point(model, network, problem)
        rows, cols, vals, lower, upper = model.rows.arrays()
        Ax = np.zeros(lower.size)
        np.add.at(Ax, rows, vals * x[cols])
        assert np.all(Ax >= lower - 1e-9) and np.all(Ax <= upper + 1e-9)
        assert np.all(x >= model.col_lower) and np.all(x <= model.col_upper)
        assert np.all(x[model.integer] == np.round(x[model.integer]))
        back = model.network(x)
        assert np.allclose(back.pre_activations(X), network.pre_activations(X), atol=1e-12)
        assert np.allclose(back.predict(X), network.predict(X), atol=1e-12)
        assert model.objective(x) == pytest.approx(network.loss(X, y, loss), rel=1e-12)


def test_description_has_no_residual_columns():
    """Squared loss: ``Σ r_i²`` is a quadratic in the activations and ``c`` (no ``r_i``)."""
    X, y = planted_two_layer(0, 30, 2)
    problem = Problem(X, y, arch="two-layer", width=2, weight_bound=2.0)
    model = build_big_m(problem, 1)
    n, d, h = 30, 2, 2
    assert model.num_col == h * d + h + 1 + 2 * n * h
    assert model.e is None and model.residuals is not None
    assert not np.any(model.cost)
    assert model.integer.sum() == n * h


def test_sign_cases_and_symmetry_rows():
    X, y = planted_two_layer(0, 5, 2, width=3)
    problem = Problem(X, y, arch="two-layer", width=3, weight_bound=2.0)
    assert sign_cases(problem) == [3, 2, 1, 0]
    assert sign_cases(Problem(X, y, weight_bound=2.0)) == [1]
    base = 3 * 5 * 3  # three big-M rows per sample and unit
    # units of one sign are ordered: pairs (0,1),(1,2) | (0,1) | (1,2) | (0,1),(1,2)
    assert [build_big_m(problem, p).rows.count - base for p in (3, 2, 1, 0)] == [2, 1, 1, 2]


def test_network_is_clipped_into_the_box():
    X, y = planted_one_node(0, 4, 2)
    model = build_big_m(Problem(X, y, weight_bound=1.0), 1)
    x = np.zeros(model.num_col)
    x[model.W] = [[1.0 + 1e-9, -1.0 - 1e-9]]
    network = model.network(x)
    assert np.all(np.abs(network.w) <= 1.0)


# ----------------------------------------------------------------------------------------
# the driver: bounds over cases, cutoffs, one time limit
# ----------------------------------------------------------------------------------------

OPTIONS = SolveOptions(rel_gap=1e-6, abs_gap=1e-9)


def _result(bound, stop=Stop.FINISHED):
    return CaseResult(bound, None, stop, "test", 3)


def test_case_bound_counts_a_pruned_case_below_the_cutoff():
    assert case_bound(_result(None), None, OPTIONS) == 0.0
    assert case_bound(_result(-np.inf), None, OPTIONS) == 0.0
    assert case_bound(_result(np.inf), None, OPTIONS) == 0.0  # no cutoff: nothing proven
    assert case_bound(_result(2.5), None, OPTIONS) == 2.5
    # a cutoff proves only "nothing better than the cutoff", less the solver's tolerance
    assert case_bound(_result(np.inf), 2.0, OPTIONS) == pytest.approx(2.0 * (1 - 5e-7))
    assert case_bound(_result(9.0), 2.0, OPTIONS) < 2.0
    assert case_bound(_result(1.0), 2.0, OPTIONS) == 1.0


def test_driver_combines_cases_and_shares_one_time_limit():
    X, y = planted_two_layer(0, 6, 2)
    problem = Problem(X, y, arch="two-layer", width=2, weight_bound=2.0)
    calls = []
    good = TwoLayerNetwork(np.zeros((2, 2)), np.zeros(2), np.array([1.0, -1.0]), float(y.mean()))

    def fake(model, options, time_limit, cutoff):
        calls.append((model.positive_units, time_limit, cutoff))
        if model.positive_units == 2:
            return CaseResult(0.05, None, Stop.FINISHED, "optimal", 5)
        return CaseResult(0.02, good, Stop.TIME_LIMIT, "time_limit", 7)

    options = SolveOptions(time_limit=100.0)
    cert = solve_by_cases(
        problem,
        options,
        method="gurobi",
        solve_case=fake,
        takes_cutoff=True,
        deadline=Deadline(options.time_limit),
    )
    assert [c[0] for c in calls] == [2, 1, 0]
    assert all(0 < c[1] <= 100.0 for c in calls)
    # no network from case 2: no cutoff for case 1; case 1's network is the cutoff of case 0
    assert calls[0][2] is None and calls[1][2] is None
    assert calls[2][2] == pytest.approx(good.loss(X, y))
    assert good.loss(X, y) > 0.05  # so the cutoff does not lower case 0's bound
    assert cert.bound == 0.02 and cert.status == "time_limit"
    assert cert.details["nodes"] == 19
    assert cert.objective == pytest.approx(good.loss(X, y))


def test_driver_stops_running_cases_when_time_is_up():
    X, y = planted_two_layer(0, 6, 2)
    problem = Problem(X, y, arch="two-layer", width=2, weight_bound=2.0)
    calls = []

    def slow(model, options, time_limit, cutoff):
        calls.append(model.positive_units)
        deadline.start -= 10.0  # as if this case used up the limit
        return CaseResult(0.7, None, Stop.TIME_LIMIT, "time_limit", 1)

    deadline = Deadline(1.0)
    cert = solve_by_cases(
        problem,
        SolveOptions(time_limit=1.0),
        method="scip",
        solve_case=slow,
        takes_cutoff=False,
        deadline=deadline,
    )
    assert calls == [2]
    assert [c["status"] for c in cert.details["cases"]] == ["time_limit", "not run", "not run"]
    assert cert.bound == 0.0 and cert.status == "time_limit"
