"""Two-layer networks with one feature: the MIP method enumerates activation patterns first.

Checked against the brute-force oracle (which shares no code with the package) and
against the MILPs alone; and the rescue of a fixed-pattern QP that HiGHS fails on.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_matches, planted_two_layer
from oracle import brute_force

import exactrelu
from exactrelu.convex.fixed_pattern import fit_fixed_pattern, rescue_squared_pattern
from exactrelu.errors import InvalidInputError
from exactrelu.generate import generate


def one_feature(loss: str, seed: int, n: int = 6, width: int = 2) -> exactrelu.Problem:
    X, y = planted_two_layer(seed, n, 1, width=width)
    if loss == "hinge":
        y = np.where(y > np.median(y), 1.0, -1.0)
    return exactrelu.Problem(X, y, arch="two-layer", width=width, loss=loss, weight_bound=2.0)


@pytest.mark.parametrize("loss", ["squared", "absolute", "hinge"])
@pytest.mark.parametrize("seed", [0, 1])
def test_one_feature_presolve_matches_brute_force_and_the_milps(loss, seed):
    problem = one_feature(loss, seed)
    cert = exactrelu.solve(problem, method="mip")
    assert cert.status == "optimal"
    assert cert.details["presolve"]["method"] == "enumerate"
    assert cert.details["mip_solves"] == 0  # the enumeration settled it alone
    best = brute_force(problem.X, problem.y, arch="two-layer", width=2, loss=loss)
    assert_matches(cert.objective, best)
    milps = exactrelu.solve(problem, method="mip", presolve=False)
    assert "presolve" not in milps.details and milps.status == "optimal"
    assert_matches(milps.objective, best)
    assert cert.bound <= milps.objective + 1e-9 and milps.bound <= cert.objective + 1e-9


def test_more_features_go_to_the_milps():
    X, y = planted_two_layer(0, 6, 2)
    cert = exactrelu.solve(
        exactrelu.Problem(X, y, arch="two-layer", width=2, weight_bound=2.0), method="mip"
    )
    assert "presolve" not in cert.details and cert.details["mip_solves"] >= 1


def test_stopped_enumeration_keeps_its_network():
    # Width 3, n = 50, d = 1: about 1.4 million pattern tuples, far beyond 2 seconds.
    X, y, _ = generate("planted-two-layer", 50, 1, noise=0.1, seed=3, width=3)
    problem = exactrelu.Problem(X, y, arch="two-layer", width=3, weight_bound=2.0)
    cert = exactrelu.solve(problem, method="mip", time_limit=2.0)
    assert cert.status == "time_limit"
    assert cert.details["presolve"]["method"] == "enumerate"
    assert cert.bound == 0.0
    assert cert.objective == pytest.approx(cert.network.loss(X, y, "squared"), rel=1e-12)
    assert cert.objective < float(np.sum((y - y.mean()) ** 2))  # better than a constant


@pytest.mark.parametrize("option", ["presolve", "heuristic"])
def test_mip_switches_must_be_booleans(option):
    with pytest.raises(InvalidInputError, match=option):
        exactrelu.solve(one_feature("squared", 0), method="mip", **{option: "no"})


@pytest.mark.parametrize("width", [1, 2])
def test_rescued_pattern_brackets_the_fixed_pattern_optimum(width):
    # On patterns HiGHS solves directly, the rescue's network and LP bound must bracket
    # the QP's optimum tightly: bound <= optimum <= the rescue network's loss.
    X, y, _ = generate("planted-two-layer", 30, 2, noise=0.1, seed=4, width=width)
    problem = exactrelu.Problem(X, y, arch="two-layer", width=width, weight_bound=2.0)
    rng = np.random.default_rng(0)
    signs = np.where(np.arange(width) == 0, 1.0, -1.0)
    for _ in range(3):
        W, b = rng.uniform(-1, 1, (width, 2)), rng.uniform(-0.5, 0.5, width)
        pattern = X @ W.T + b > 0
        optimum = fit_fixed_pattern(problem, pattern, signs).loss
        network, bound = rescue_squared_pattern(problem, pattern, signs)
        assert bound <= optimum * (1 + 1e-9) + 1e-12
        assert network.loss(X, y, "squared") >= optimum * (1 - 1e-9)
        assert optimum - bound <= 1e-6 * optimum + 1e-9
