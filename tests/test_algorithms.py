"""Tests of the enumerate, approx and gd methods and of ``compare``.

Each test checks a mathematical property against an independent method: brute force
over all activation patterns, the MIP, Cover's count of dichotomies, random sampling
of weight vectors, or the proven approximation ratio.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from helpers import brute_force_optimum, close, planted_one_node_problem, random_problem

from exactrelu.compare import COLUMNS, compare, format_table
from exactrelu.errors import InvalidInputError
from exactrelu.methods import METHODS, run_method
from exactrelu.methods.approx import solve_approx
from exactrelu.methods.arrangement import general_position_count, sign_vectors
from exactrelu.methods.enumerate import solve_enumerate
from exactrelu.methods.gd import solve_gd
from exactrelu.network.networks import OneNodeNetwork
from exactrelu.options import SolveOptions
from exactrelu.problem import Problem

LOSSES = ("squared", "absolute", "hinge")
OPTS = SolveOptions()


def _rows(X: np.ndarray, bias: bool) -> np.ndarray:
    return np.column_stack([X, np.ones(len(X))]) if bias else X


def _mip(problem: Problem, time_limit: float = 60.0, **method_options):
    try:
        from exactrelu.solve import solve

        return solve(problem, method="mip", time_limit=time_limit, **method_options)
    except ImportError as exc:  # the MIP module is optional while it is being built
        pytest.skip(f"MIP not available: {exc}")


# ---------------------------------------------------------------------------
# the arrangement: which activation patterns are enumerated


@pytest.mark.parametrize(
    ("n", "d", "bias"),
    [(9, 1, True), (10, 2, True), (9, 2, False), (11, 3, True), (8, 3, False), (12, 4, True)],
)
def test_chambers_equal_covers_count_in_general_position(n, d, bias):
    """Random points are in general position: the distinct patterns are exactly the
    C(n, r) dichotomies of Cover (1965), r = d + 1 with a bias."""
    X = np.random.default_rng(n * 10 + d).standard_normal((n, d))
    patterns = sign_vectors(_rows(X, bias))
    r = d + 1 if bias else d
    assert len(patterns) == general_position_count(n, r)
    assert len(np.unique(patterns, axis=0)) == len(patterns)


def _sampled_patterns(V: np.ndarray, seed: int, count: int = 100_000) -> np.ndarray:
    theta = np.random.default_rng(seed).standard_normal((count, V.shape[1]))
    return np.unique((theta @ V.T) > 0, axis=0)


@pytest.mark.parametrize(
    "name",
    ["grid", "binary", "duplicates", "collinear", "no-bias-antiparallel", "zero-row"],
)
def test_every_sampled_weight_vector_is_covered_on_degenerate_data(name):
    """For weight vectors drawn at random, the pattern of strictly positive
    pre-activations must be admitted (closed constraints) by an enumerated pattern;
    on general data the strict pattern itself is enumerated."""
    rng = np.random.default_rng(7)
    bias = True
    if name == "grid":
        X = np.array(list(itertools.product(range(4), range(3))), float)
    elif name == "binary":
        X = np.array(list(itertools.product((0.0, 1.0), repeat=3)))
    elif name == "duplicates":
        base = rng.standard_normal((5, 2))
        X = np.vstack([base, base[:3], base[:1]])
    elif name == "collinear":
        t = np.arange(6.0)
        X = np.vstack([np.column_stack([t, 2 * t - 1]), rng.standard_normal((3, 2))])
    elif name == "no-bias-antiparallel":
        X, bias = np.array([[1.0, 2], [-1, -2], [2, 4], [1, 0], [3, 1], [-2, 1]]), False
    else:
        X, bias = np.array([[0.0, 0], [1, 2], [2, -1], [-1, 1], [1, 1]]), False
    V = _rows(X, bias)
    enumerated = {row.tobytes() for row in sign_vectors(V)}
    for row in _sampled_patterns(V, seed=1):
        assert row.tobytes() in enumerated


# ---------------------------------------------------------------------------
# enumerate: exact


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize(
    ("seed", "d", "bias", "B"),
    [(0, 1, True, 2.0), (1, 2, True, 2.0), (2, 2, False, 2.0), (3, 3, True, 0.3)],
)
def test_enumerate_equals_brute_force_one_node(loss, seed, d, bias, B):
    """Same optimum as trying all 2^n patterns (B = 0.3 makes the box bind)."""
    problem = random_problem(seed, 7, d, loss=loss, bias=bias, weight_bound=B)
    cert = solve_enumerate(problem, OPTS)
    brute = brute_force_optimum(problem)
    assert cert.status == "optimal"
    assert close(cert.objective, brute)
    assert cert.bound <= brute + 1e-7


@pytest.mark.parametrize("loss", ["squared", "absolute"])
def test_enumerate_equals_brute_force_on_degenerate_data(loss):
    """Duplicated and collinear samples exercise the degenerate-ray fallback."""
    X = np.array([[0.0, 0], [1, 1], [2, 2], [3, 3], [1, 1], [0, 1], [2, 0], [1, 0]])
    y = np.array([0.1, 1.2, 2.1, 2.9, 0.8, -0.5, 1.5, 0.4])
    problem = Problem(X, y, loss=loss, weight_bound=2.0)
    cert = solve_enumerate(problem, OPTS)
    assert cert.status == "optimal"
    assert close(cert.objective, brute_force_optimum(problem))


@pytest.mark.parametrize("loss", LOSSES)
def test_enumerate_equals_brute_force_two_layer(loss):
    problem = random_problem(11, 4, 1, loss=loss, arch="two-layer", width=2, weight_bound=1.0)
    cert = solve_enumerate(problem, OPTS)
    assert cert.status == "optimal"
    assert close(cert.objective, brute_force_optimum(problem))


@pytest.mark.parametrize("loss", LOSSES)
def test_enumerate_equals_mip_one_node(loss):
    problem = planted_one_node_problem(5, 14, 2, noise=0.3, loss=loss)
    cert = solve_enumerate(problem, OPTS)
    mip = _mip(problem)
    assert cert.status == "optimal" and mip.status == "optimal"
    assert close(cert.objective, mip.objective)
    # each exact method's bound is below the other's network
    assert cert.bound <= mip.objective + 1e-7 and mip.bound <= cert.objective + 1e-7


def test_enumerate_equals_mip_two_layer():
    problem = random_problem(3, 5, 1, loss="squared", arch="two-layer", width=2)
    cert = solve_enumerate(problem, OPTS)
    mip = _mip(problem, presolve=False)  # d = 1 would otherwise run this very enumeration
    assert cert.status == "optimal" and mip.status == "optimal"
    assert close(cert.objective, mip.objective)


def test_enumerate_counts_dichotomies_against_covers_formula():
    problem = planted_one_node_problem(2, 60, 2, noise=0.1)
    details = solve_enumerate(problem, OPTS).details
    assert details["theoretical_dichotomies"] == general_position_count(60, 3)
    assert details["distinct_dichotomies"] == details["theoretical_dichotomies"]
    # every chamber is met from several (ray, pivot) pairs
    assert details["dichotomies"] >= details["distinct_dichotomies"]


def test_enumerate_time_limit_returns_a_network_without_bound():
    problem = planted_one_node_problem(4, 300, 3, noise=0.1)
    cert = solve_enumerate(problem, SolveOptions(time_limit=0.05), initial_approx=False)
    assert cert.status == "time_limit"
    assert cert.bound is None
    assert math.isfinite(cert.objective)


def test_enumerate_honours_warm_start():
    """A warm start that is already optimal is returned unchanged in loss."""
    problem = random_problem(9, 7, 2, loss="absolute")
    first = solve_enumerate(problem, OPTS)
    again = solve_enumerate(problem, SolveOptions(warm_start=first.network), initial_approx=False)
    assert again.objective <= first.objective + 1e-12


# ---------------------------------------------------------------------------
# approx


@pytest.mark.parametrize("loss", ["squared", "absolute", "hinge"])
@pytest.mark.parametrize("d", [1, 2, 4])
@pytest.mark.parametrize("polish", [0, 5])
def test_approx_is_exact_on_realizable_data(loss, d, polish):
    """Zero loss on noise-free planted data, also without polishing (the guarantee
    itself). For hinge, a one-node output is >= 0, so only all-+1 labels are realizable."""
    problem = planted_one_node_problem(d, 40, d, loss=loss)
    if loss == "hinge":
        problem = Problem(problem.X, np.ones(problem.n), loss="hinge", weight_bound=2.0)
    cert = solve_approx(problem, OPTS, polish=polish)
    assert cert.objective <= 1e-9


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("k", [1, 2])
def test_approx_ratio_within_proven_bound(loss, k):
    """loss(approx) <= (n/k)·OPT on random instances, with and without polishing,
    and never below the optimum."""
    for seed in range(3):
        problem = random_problem(100 + seed, 12, 2, loss=loss)
        opt = solve_enumerate(problem, OPTS)
        assert opt.status == "optimal"
        for polish in (0, 5):
            cert = solve_approx(problem, OPTS, k=k, polish=polish)
            assert cert.details["guarantee_holds"]
            assert cert.objective >= opt.bound - 1e-7
            assert cert.objective <= problem.n / k * opt.objective + 1e-9


def test_approx_with_k_at_least_n_is_exact():
    """The ratio n/min(k, n) is 1 for k >= n."""
    for loss in LOSSES:
        problem = random_problem(21, 4, 2, loss=loss)
        cert = solve_approx(problem, OPTS, k=4, polish=0)
        assert close(cert.objective, brute_force_optimum(problem))


def test_approx_beats_the_surrogate_alone_on_an_adversarial_instance():
    """Two far samples with tiny positive targets must both be inactive at the optimum.
    The guarantee (here k = 1: ratio n) must hold although no single guess sets both
    inactive."""
    t = np.linspace(1.0, 2.0, 8)
    X = np.concatenate([t, [-50.0, -60.0]])[:, None]
    y = np.concatenate([t, [1e-3, 1e-3]])
    problem = Problem(X, y, weight_bound=2.0)
    opt = solve_enumerate(problem, OPTS)
    cert = solve_approx(problem, OPTS, k=1, polish=0)
    assert cert.objective <= problem.n * opt.objective + 1e-12


# ---------------------------------------------------------------------------
# gd


@pytest.mark.parametrize("loss", LOSSES)
def test_gd_never_beats_a_certified_optimum_one_node(loss):
    problem = planted_one_node_problem(8, 30, 2, noise=0.3, loss=loss)
    opt = solve_enumerate(problem, OPTS)
    assert opt.status == "optimal"
    for init in ("random", "approx"):
        cert = solve_gd(problem, SolveOptions(seed=3), init=init)
        assert cert.status == "feasible" and cert.bound is None
        assert cert.objective >= opt.bound - 1e-7 * max(1.0, opt.bound)


@pytest.mark.parametrize("loss", LOSSES)
def test_gd_never_beats_a_certified_optimum_two_layer(loss):
    problem = random_problem(13, 5, 1, loss=loss, arch="two-layer", width=2)
    opt = solve_enumerate(problem, OPTS)
    assert opt.status == "optimal"
    cert = solve_gd(problem, SolveOptions(seed=0), restarts=6)
    assert cert.objective >= opt.bound - 1e-7 * max(1.0, opt.bound)


def test_approx_initialised_gd_is_no_worse_in_the_median():
    """On planted instances, over seeds, the median loss of gd started from approx is
    at most that of gd from a random start (one start each, so the start decides)."""
    for inst in range(3):
        problem = planted_one_node_problem(30 + inst, 80, 3, noise=0.2)
        from_approx, from_random = [], []
        for seed in range(5):
            options = SolveOptions(seed=seed)
            from_approx.append(solve_gd(problem, options, restarts=1, init="approx").objective)
            from_random.append(solve_gd(problem, options, restarts=1, init="random").objective)
        assert np.median(from_approx) <= np.median(from_random) * (1 + 1e-9)


def test_gd_reports_dead_units():
    """A start whose unit is active on no sample gets no gradient and stays dead."""
    problem = planted_one_node_problem(1, 20, 2, noise=0.1)
    dead = OneNodeNetwork(np.zeros(2), -1.0)
    cert = solve_gd(problem, SolveOptions(warm_start=dead), restarts=1)
    assert cert.details["dead_units"] == cert.network.dead_units(problem.X) == [0]
    assert cert.details["dead_restarts"] == 1
    assert cert.objective == pytest.approx(float(np.sum(problem.y**2)))


def test_gd_is_deterministic_for_a_seed():
    problem = planted_one_node_problem(2, 30, 2, noise=0.3, arch="one-node")
    a = solve_gd(problem, SolveOptions(seed=4), restarts=3)
    b = solve_gd(problem, SolveOptions(seed=4), restarts=3)
    assert a.weights == b.weights


# ---------------------------------------------------------------------------
# options, registry, compare


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("approx", {"k": 0}),
        ("approx", {"k": 1.5}),
        ("approx", {"polish": -1}),
        ("gd", {"restarts": 0}),
        ("gd", {"init": "zeros"}),
        ("gd", {"step": -1.0}),
        ("gd", {"max_iter": True}),
        ("enumerate", {"max_combinations": 0}),
        ("gd", {"no_such_option": 1}),
    ],
)
def test_invalid_method_options_are_rejected(method, kwargs):
    problem = planted_one_node_problem(0, 5, 1)
    with pytest.raises(InvalidInputError):
        run_method(method, problem, OPTS, **kwargs)


def test_methods_refuse_what_they_cannot_do():
    two = random_problem(0, 30, 2, loss="squared", arch="two-layer", width=2)
    with pytest.raises(InvalidInputError, match="one-node"):
        run_method("approx", two, OPTS)
    with pytest.raises(InvalidInputError, match="max_combinations"):
        run_method("enumerate", two, OPTS)


def test_registry_and_dispatch_through_solve():
    from exactrelu.solve import available_methods, solve

    assert available_methods() == ["mip", "bnb", "enumerate", "approx", "gd"]
    assert {name for name, m in METHODS.items() if m.kind == "peer"} == {
        "scip",
        "gurobi",
        "highs-naive",
    }
    problem = planted_one_node_problem(6, 15, 2, noise=0.2)
    for method in ("bnb", "enumerate", "approx", "gd"):
        cert = solve(problem, method=method)
        assert cert.method == method
        assert (cert.bound is not None) == METHODS[method].exact


def test_compare_rows_and_table():
    problem = planted_one_node_problem(12, 25, 2, noise=0.2)
    rows = compare(problem, SolveOptions(seed=0), methods=["enumerate", "approx", "gd"])
    assert [r["method"] for r in rows] == ["enumerate", "approx", "gd"]
    best = rows[0]["bound"]
    for r in rows:
        assert set(COLUMNS) <= set(r)
        # nothing beats the certified bound; the gap is measured against it
        assert r["loss"] >= best - 1e-7
        assert r["gap_to_best_bound"] == pytest.approx(
            (r["loss"] - best) / max(abs(r["loss"]), 1e-9)
        )
    table = format_table(rows)
    for name in ("enumerate", "approx", "gd", "gap to best bound", "dead units"):
        assert name in table
