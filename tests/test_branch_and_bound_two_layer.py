"""The two-layer branch and bound (method ``bnb``, squared loss) against oracles."""

from __future__ import annotations

import functools
import inspect
import itertools

import numpy as np
import pytest
from helpers import assert_matches, planted_two_layer
from oracle import brute_force

from exactrelu import Problem
from exactrelu.errors import InvalidInputError
from exactrelu.methods import default_method
from exactrelu.methods.bnb import kernels, two_layer
from exactrelu.methods.bnb.two_layer import PatternTables, SignCase, TwoLayerBranchAndBound
from exactrelu.methods.search import Incumbent, StageEnd
from exactrelu.network.networks import TwoLayerNetwork
from exactrelu.options import SolveOptions
from exactrelu.solve import solve


def data(seed: int, n: int, d: int, width: int, kind: str):
    """Planted two-layer data, or random targets (no network fits them)."""
    X, y = planted_two_layer(seed, n, d, width=width, noise=0.2)
    if kind == "random":
        y = np.random.default_rng(seed + 100).normal(size=n)
    return X, y


@functools.cache
def case(seed, n, d, width, kind, B, bias):
    X, y = data(seed, n, d, width, kind)
    problem = Problem(X, y, arch="two-layer", width=width, weight_bound=B, bias=bias)
    return problem, brute_force(X, y, arch="two-layer", width=width, B=B, bias=bias)


# (seed, n, d, width, kind, B, bias)
CASES = [
    (0, 6, 2, 2, "planted", 2.0, True),
    (1, 6, 1, 2, "random", 2.0, True),
    (2, 6, 2, 2, "random", 2.0, True),
    (3, 6, 2, 2, "random", 0.3, True),  # a small box: the box binds, leaves need their QP
    (4, 6, 2, 2, "random", 2.0, False),  # no hidden biases
    (5, 6, 3, 2, "planted", 0.5, True),
    (6, 5, 1, 3, "random", 2.0, True),  # width 3: four sign cases, orbital fixing
    (7, 5, 2, 3, "planted", 1.0, False),
]


@pytest.mark.parametrize(("seed", "n", "d", "width", "kind", "B", "bias"), CASES)
def test_bnb_matches_brute_force(seed, n, d, width, kind, B, bias):
    problem, best = case(seed, n, d, width, kind, B, bias)
    cert = solve(problem, method="bnb")
    assert cert.status == "optimal", cert.details
    assert cert.method == "bnb"
    assert_matches(cert.objective, best)
    assert cert.bound <= best.loss + 1e-9 * max(1.0, best.loss)
    # every sign case was searched; the network is in the box and its loss recomputed
    assert set(cert.details["nodes_by_sign_case"]) == {str(p) for p in range(width + 1)}
    assert sum(cert.details["nodes_by_sign_case"].values()) == cert.details["nodes"]
    W = np.asarray(cert.weights["W"])
    b = np.asarray(cert.weights["b"])
    assert np.abs(W).max() <= B + 1e-12 and np.abs(b).max() <= B + 1e-12
    network = TwoLayerNetwork(W, b, np.asarray(cert.weights["v"]), cert.weights["c"])
    assert cert.objective == pytest.approx(network.loss(problem.X, problem.y, "squared"))


@pytest.mark.parametrize(("seed", "width", "kind"), [(10, 2, "planted"), (11, 2, "random")])
def test_bnb_agrees_with_the_mip(seed, width, kind):
    # beyond brute force: two exact methods with different bounds reach one optimum
    X, y = data(seed, 16, 2, width, kind)
    problem = Problem(X, y, arch="two-layer", width=width, weight_bound=2.0)
    bnb = solve(problem, method="bnb")
    mip = solve(problem, method="mip")
    assert bnb.status == mip.status == "optimal"
    tol = 2e-4 * max(1.0, mip.objective)
    assert abs(bnb.objective - mip.objective) <= tol
    assert bnb.bound <= mip.objective + tol and mip.bound <= bnb.objective + tol


def test_optimum_does_not_depend_on_sample_order():
    X, y = data(12, 14, 2, 2, "random")
    order = np.random.default_rng(0).permutation(len(y))
    first = solve(Problem(X, y, arch="two-layer", weight_bound=2.0), method="bnb")
    second = solve(Problem(X[order], y[order], arch="two-layer", weight_bound=2.0), method="bnb")
    assert first.status == second.status == "optimal"
    assert first.objective == pytest.approx(second.objective, rel=2e-4, abs=1e-9)


@pytest.mark.parametrize("kind", ["planted", "random"])
def test_optimum_does_not_depend_on_the_strong_branching_candidates(monkeypatch, kind):
    # the number of candidate units (3 below 50 samples, 6 from 50) shapes the tree only
    X, y = data(14, 16, 2, 2, kind)
    problem = Problem(X, y, arch="two-layer", width=2, weight_bound=2.0)
    certs = []
    for candidates in (1, 3, 6):
        monkeypatch.setattr(two_layer, "strong_units", lambda n, k=candidates: k)
        certs.append(solve(problem, method="bnb"))
    certs.append(solve(problem, method="mip"))  # an independent method, the same optimum
    assert all(c.status == "optimal" for c in certs)
    tol = 2e-4 * max(1.0, certs[0].objective)
    for a, b in itertools.combinations(certs, 2):
        assert abs(a.objective - b.objective) <= tol
        assert a.bound <= b.objective + tol and b.bound <= a.objective + tol


def test_time_limit_returns_network_and_bound():
    X, y = data(13, 80, 3, 3, "random")
    problem = Problem(X, y, arch="two-layer", width=3, weight_bound=2.0)
    cert = solve(problem, method="bnb", time_limit=1.0)
    assert cert.status == "time_limit"
    assert cert.bound is not None and 0 <= cert.bound <= cert.objective
    network = TwoLayerNetwork(
        np.asarray(cert.weights["W"]),
        np.asarray(cert.weights["b"]),
        np.asarray(cert.weights["v"]),
        cert.weights["c"],
    )
    assert cert.objective == pytest.approx(network.loss(X, y, "squared"))


@pytest.mark.parametrize("h", [1, 2, 3])
def test_pattern_tables_agree_with_their_definitions(h):
    t = PatternTables.of(h)
    K = 1 << h
    for mask in range(1, 1 << K):
        members = [k for k in range(K) if mask >> k & 1]
        rows = t.patterns[members]
        assert t.count[mask] == len(members)
        assert t.single[mask] == (members[0] if len(members) == 1 else -1)
        assert np.array_equal(t.on[mask], rows.all(axis=0))
        assert np.array_equal(t.off[mask], (~rows).all(axis=0))
        assert np.array_equal(t.open[mask], ~t.on[mask] & ~t.off[mask])
    for j in range(h):
        for jj in range(j + 1, h):
            swapped = t.swap(j, jj)[1]
            for k in range(K):
                image = t.patterns[k].copy()
                image[[j, jj]] = image[[jj, j]]
                target = int((image * (1 << np.arange(h))).sum())
                assert swapped[1 << k] == 1 << target


@pytest.mark.parametrize("h", [2, 3])
def test_orbital_fixing_drops_exactly_the_unordered_patterns(h):
    # All units of sign +1 and every sample open: every pair of units is interchangeable,
    # so a branched sample keeps exactly the patterns with π_0 >= π_1 >= ... (one of each
    # orbit under swaps).
    t = PatternTables.of(h)
    case = SignCase.of(h, np.ones((4, 2)), t)
    masks = np.full(4, (1 << (1 << h)) - 1, np.int64)
    keep = kernels.orbital_keep(masks, case.swaps, t.patterns)
    for k in range(1 << h):
        ordered = all(t.patterns[k, j] >= t.patterns[k, j + 1] for j in range(h - 1))
        assert bool(keep >> k & 1) == ordered
    # A sample fixed to "unit 0 alone active" tells unit 0 from the others: only pairs
    # among units 1.. stay interchangeable.
    masks[0] = 1 << 1
    keep = kernels.orbital_keep(masks, case.swaps, t.patterns)
    for k in range(1 << h):
        ordered = all(t.patterns[k, j] >= t.patterns[k, j + 1] for j in range(1, h - 1))
        assert bool(keep >> k & 1) == ordered


def test_width_two_mixed_case_branches_on_one_unit_of_one_sample():
    # Record the mixed-sign case's branchings: at most two children, each a subset of the
    # parent (propagation only removes patterns), split on a unit open in the parent at
    # some sample, one child on each side of it.
    X, y = data(14, 12, 2, 2, "random")
    problem = Problem(X, y, arch="two-layer", width=2, weight_bound=2.0)
    options = SolveOptions(rel_gap=1e-4)
    tree = TwoLayerBranchAndBound(problem, options, Incumbent.start(problem, options))
    splits = []
    names = list(inspect.signature(kernels.node.py_func).parameters)
    at_v, at_masks = names.index("v"), names.index("masks_in")

    class Recorder:
        def __getattr__(self, name):
            return getattr(kernels, name)

        def node(self, *args):
            out = kernels.node(*args)
            v, masks, child_masks = args[at_v], args[at_masks], out[12]
            if v[0] != v[1] and len(child_masks):
                splits.append((masks.copy(), child_masks.copy()))
            return out

    tree.kernels = Recorder()
    assert tree.run(tree.incumbent.deadline, lambda _: None) == StageEnd.FINISHED
    assert len(splits) > 10
    t = tree.tables

    def unit_splits(parent, children):
        for i, j in itertools.product(range(len(parent)), range(2)):
            if not t.open[parent[i], j]:
                continue
            sides = [1 if t.on[c[i], j] else 0 if t.off[c[i], j] else -1 for c in children]
            if -1 not in sides and len(set(sides)) == len(sides):
                yield i, j

    for parent, children in splits:
        assert len(children) <= 2
        assert np.all(children & ~parent == 0)
        assert next(unit_splits(parent, children), None) is not None


@pytest.mark.parametrize(
    ("arch", "width", "loss", "expected"),
    [
        ("two-layer", 2, "squared", "bnb"),
        ("two-layer", 4, "squared", "bnb"),
        ("two-layer", 5, "squared", "mip"),  # the pattern tables would need 2^32 entries
        ("two-layer", 2, "absolute", "mip"),
        ("one-node", None, "squared", "mip"),  # the MIP runs the one-node bnb as presolve
    ],
)
def test_auto_picks_bnb_where_it_applies(arch, width, loss, expected):
    X, y = data(20, 8, 2, 2, "random")
    problem = Problem(X, y, arch=arch, width=width, loss=loss, weight_bound=2.0)
    assert default_method(problem) == expected


def test_bnb_refuses_widths_beyond_four():
    X, y = data(21, 8, 2, 2, "random")
    problem = Problem(X, y, arch="two-layer", width=5, weight_bound=2.0)
    with pytest.raises(InvalidInputError, match="width at most 4"):
        solve(problem, method="bnb")


def test_auto_names_itself_when_an_option_belongs_to_another_method():
    X, y = data(22, 8, 2, 2, "random")
    problem = Problem(X, y, arch="two-layer", weight_bound=2.0)
    with pytest.raises(InvalidInputError, match=r"chosen by method 'auto'.*presolve"):
        solve(problem, presolve=False)
    assert solve(problem, method="mip", presolve=False).method == "mip"


def test_an_exactly_fittable_instance_is_certified_at_zero():
    # Regression: pattern costs were once measured from the node's bound (clipped at 0)
    # instead of the dual quadratic's minimum (below 0 here, from the box regularisation),
    # and a leaf's value came from HiGHS's QP alone: the certificate claimed a bound of
    # 3e-8 where a network of loss 0 exists.
    X, y = planted_two_layer(110, 6, 2, width=2, noise=0.3)
    problem = Problem(X, y, arch="two-layer", width=2, weight_bound=5.0)
    best = brute_force(X, y, arch="two-layer", width=2, B=5.0)
    assert best.loss < 1e-20
    cert = solve(problem, method="bnb")
    assert cert.status == "optimal"
    assert cert.bound <= best.loss + 1e-12
    assert cert.objective <= 1e-12
