"""The heuristic start and the tangents at underestimated MILP solutions.

Local search and surrogate starts only change how fast a solve goes, never its answer:
each test checks the property that makes them safe (never worse, a local optimum,
still the brute-force optimum), not a fixed number.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_certifies, planted_two_layer
from oracle import brute_force, forward, loss_value

import exactrelu
from exactrelu.convex.fixed_pattern import fit_fixed_pattern
from exactrelu.methods.heuristics import flip_search, heuristic_start
from exactrelu.methods.mip import MipSettings
from exactrelu.methods.mip.case import SignCase
from exactrelu.methods.mip.state import SearchState
from exactrelu.methods.search import Incumbent
from exactrelu.network.networks import zero_network
from exactrelu.options import Deadline, SolveOptions


def network_loss(X, y, network, loss: str) -> float:
    """Loss recomputed by the oracle's own forward pass."""
    return loss_value(y, forward(X, network.W, network.b, network.v, network.c), loss)


@pytest.mark.parametrize("loss", ["squared", "absolute"])
def test_flip_search_ends_in_a_local_optimum_never_worse(loss):
    X, y = planted_two_layer(3, 6, 2, noise=0.3)
    problem = exactrelu.Problem(X, y, arch="two-layer", width=2, loss=loss, weight_bound=2.0)
    rng = np.random.default_rng(0)
    start, start_loss, _ = fit_fixed_pattern(
        problem, rng.random((6, 2)) < 0.5, np.array([1.0, -1.0])
    )
    found = flip_search(problem, start, Deadline(30.0))
    found_loss = network_loss(X, y, found, loss)
    assert found_loss <= start_loss * (1 + 1e-12) + 1e-12
    # no single flip of its pattern (6 x 2 = 12 <= FLIP_CANDIDATES entries) improves it
    pattern = found.activation_pattern(X)
    for i in range(6):
        for j in range(2):
            flipped = pattern.copy()
            flipped[i, j] = not flipped[i, j]
            neighbour = fit_fixed_pattern(problem, flipped, found.v).loss
            assert neighbour >= found_loss - 1e-9 * max(1.0, found_loss)
    assert found_loss >= brute_force(X, y, arch="two-layer", width=2, loss=loss).loss - 1e-9


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_absolute_loss_start_finds_an_exact_fit(seed):
    # Noise-free planted data: subgradient descent on absolute loss alone often stalls
    # above 0; the squared-loss surrogate finds the zero-loss network.
    X, y = planted_two_layer(seed, 30, 2, noise=0.0)
    problem = exactrelu.Problem(X, y, arch="two-layer", width=2, loss="absolute", weight_bound=2.0)
    options = SolveOptions()
    incumbent = Incumbent(problem, options, Deadline(None), zero_network("two-layer", 2, 2))
    heuristic_start(problem, options, incumbent)
    assert network_loss(X, y, incumbent.best, "absolute") <= 1e-7


@pytest.mark.parametrize("seed", [6, 7])
def test_tangents_at_underestimated_solutions_keep_the_optimum(seed):
    # On these instances the MILP finds solutions below the cutoff whose true loss is
    # not: the tangents added there must not cut off the optimum.
    X, y = planted_two_layer(seed, 6, 2, noise=0.3)
    cert = exactrelu.solve(
        exactrelu.Problem(X, y, arch="two-layer", width=2, weight_bound=2.0), method="mip"
    )
    oracle = brute_force(X, y, arch="two-layer", width=2, loss="squared")
    assert cert.details["underestimated_solutions"] >= 1
    assert_certifies(cert, oracle)


class _ImprovingSolutionEvent:
    """Stands in for HiGHS's improving-solution callback event."""

    def __init__(self, x, objective: float) -> None:
        self.data_out = self
        self.mip_solution = x
        self.objective_function_value = objective


@pytest.mark.parametrize(("arch", "width"), [("one-node", 1), ("two-layer", 2)])
def test_underestimated_solutions_are_collected_for_two_layer_only(arch, width):
    # A MILP solution below the round's threshold that does not beat the incumbent: a
    # two-layer case keeps it for tangents after the round; a one-node case does not
    # (its tree reports many such solutions, and tangents at all of them only made the
    # next round's LP larger).
    from exactrelu.formulation.model import build_formulations

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 2)), rng.normal(size=8)
    problem = exactrelu.Problem(X, y, arch=arch, width=width, weight_bound=2.0)
    search = SearchState.start(problem, SolveOptions(), settings=MipSettings())
    kept = []
    for key, formulation in enumerate(build_formulations(problem)):
        case = SignCase(key, formulation, search)
        x = case.column_values(search.best)
        if x is None:
            continue
        case.round_threshold = search.best_loss  # as run() sets it: below_cutoff(...)
        case.on_improving_solution(_ImprovingSolutionEvent(x, -1.0))
        kept.append(len(case.spurious))
    assert kept
    assert kept == [1 if arch == "two-layer" else 0] * len(kept)


class _UserSolutionEvent:
    """Stands in for HiGHS's user-solution callback event: records the solution set."""

    def __init__(self) -> None:
        self.solution = None
        self.data_in = self

    def setSolution(self, x):  # HiGHS spells it so
        self.solution = np.asarray(x, float)


def _cases_and_search(problem):
    from exactrelu.formulation.model import build_formulations

    search = SearchState.start(problem, SolveOptions(), settings=MipSettings())
    cases = {
        f.positive_units: SignCase(k, f, search) for k, f in enumerate(build_formulations(problem))
    }
    return search, cases


@pytest.mark.parametrize("loss", ["squared", "absolute"])
def test_better_incumbent_reaches_the_running_milp_of_its_sign_case(loss):
    # A network found elsewhere is handed to a running MILP as a user solution: its
    # column values must represent that network (same predictions) and, for squared
    # loss, carry its true loss as the objective (a valid cutoff, not an underestimate).
    X, y = planted_two_layer(4, 6, 2, noise=0.3)
    problem = exactrelu.Problem(X, y, arch="two-layer", width=2, loss=loss, weight_bound=2.0)
    oracle = brute_force(X, y, arch="two-layer", width=2, loss=loss)
    search, cases = _cases_and_search(problem)
    network = exactrelu.TwoLayerNetwork(oracle.W, oracle.b, oracle.v, oracle.c)
    own = cases[int(np.sum(network.v > 0))]
    for case in cases.values():
        case.handed_over = search.best_loss  # what a round started from the zero network knows
    assert search.offer(network)
    event = _UserSolutionEvent()
    own.on_user_solution(event)
    assert event.solution is not None
    handed = own.network_from_columns(event.solution)
    np.testing.assert_allclose(handed.predict(X), network.predict(X), atol=1e-9)
    objective = event.solution[own.loss_cols].sum()
    assert objective == pytest.approx(search.best_loss, rel=1e-12, abs=1e-12)
    assert own.handed_over == search.best_loss and not own.restart_pays()
    # handed over once only
    again = _UserSolutionEvent()
    own.on_user_solution(again)
    assert again.solution is None
    # a case of other output signs cannot hold it (no unit of the optimum is dead): it
    # restarts its round instead when the gain is large enough
    if np.all(network.activation_pattern(X).any(axis=0)):
        other = next(c for c in cases.values() if c is not own)
        event = _UserSolutionEvent()
        other.on_user_solution(event)
        assert event.solution is None
        assert other.restart_pays()
        # ... but not a round that has run for long: its tree is kept
        other.round_started = search.deadline.elapsed() - 2 * search.settings.restart_window
        assert not other.restart_pays()


def test_heuristic_start_stops_with_the_search():
    # Ctrl-C (the interrupted flag) ends even a long start at once: nothing is polished.
    X, y = planted_two_layer(5, 30, 2, noise=0.1)
    problem = exactrelu.Problem(X, y, arch="two-layer", width=2, weight_bound=2.0)
    options = SolveOptions()
    incumbent = Incumbent(problem, options, Deadline(None), zero_network("two-layer", 2, 2))
    incumbent.interrupted = True
    heuristic_start(problem, options, incumbent, restarts=5000, seconds=600.0)
    assert incumbent.polished <= 1


@pytest.mark.parametrize("seed", [0, 3])
def test_long_start_and_round_restarts_keep_the_optimum(monkeypatch, seed):
    # The longer start at once (inside the first MILP's callback) and a restart for every
    # improvement: the answer is still the brute-force optimum.
    settings = MipSettings(long_start_after=0.0, restart_gain=0.0, long_heuristic_restarts=200)
    X, y = planted_two_layer(seed, 6, 2, noise=0.3)
    for loss in ("squared", "absolute"):
        problem = exactrelu.Problem(X, y, arch="two-layer", width=2, loss=loss, weight_bound=2.0)
        cert = exactrelu.solve(problem, method="mip", settings=settings)
        oracle = brute_force(X, y, arch="two-layer", width=2, loss=loss)
        assert_certifies(cert, oracle)


@pytest.mark.parametrize("loss", ["squared", "hinge"])
def test_restarted_rounds_run_again_to_the_optimum(monkeypatch, loss):
    # Every case restarts its first real round once (as when a better network of other
    # output signs turns up): the next round must run (HiGHS keeps the interrupt flag
    # between runs unless it is cleared) and the answer is still the brute-force optimum.
    restarted = set()

    def restart_once(case):
        if case.key in restarted:
            return False
        restarted.add(case.key)
        return True

    monkeypatch.setattr(SignCase, "restart_pays", restart_once)
    X, y = planted_two_layer(6, 6, 2, noise=0.3)
    if loss == "hinge":
        y = np.where(y > np.median(y), 1.0, -1.0)
    problem = exactrelu.Problem(X, y, arch="two-layer", width=2, loss=loss, weight_bound=2.0)
    cert = exactrelu.solve(problem, method="mip", settings=MipSettings(convexity_bound=False))
    oracle = brute_force(X, y, arch="two-layer", width=2, loss=loss)
    assert cert.details["rounds_restarted_for_a_better_cutoff"] >= 1
    assert_certifies(cert, oracle)
