"""Heuristic starts for the exact searches: gradient descent, polishing, flips.

A good incumbent early is worth much: its loss is the cutoff that lets a search prune
(and, for two-layer MIPs, close most output-sign cases outright).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from exactrelu.convex.fixed_pattern import fit_fixed_pattern
from exactrelu.errors import SolverError
from exactrelu.methods.gd import gd_restarts
from exactrelu.methods.search import Budget, Incumbent
from exactrelu.network.losses import loss_monotone_in_activation
from exactrelu.network.networks import TwoLayerNetwork
from exactrelu.options import Deadline, SolveOptions
from exactrelu.problem import Problem

# Gradient-descent start: at most this many seconds, and this share of a time limit.
HEURISTIC_SECONDS = 2.0
HEURISTIC_SHARE = 0.1
# Two-layer: gradient-descent restarts, how many distinct ones are polished and improved
# by flips, and how many pre-activations (closest to 0) each flip pass tries. (The MIP's
# longer start, with more restarts, is tuned by MipSettings; docs/decisions.md.)
HEURISTIC_RESTARTS = 60
HEURISTIC_POLISHED = 8
FLIP_CANDIDATES = 40


def heuristic_start(
    problem: Problem,
    options: SolveOptions,
    incumbent: Incumbent,
    *,
    restarts: int = HEURISTIC_RESTARTS,
    seconds: float = HEURISTIC_SECONDS,
    seed: int | None = None,
) -> None:
    """Offer the best network of a short gradient-descent start as the incumbent.

    A good incumbent early is worth much: its loss is the cutoff that lets a search
    prune (and, for two-layer MIPs, close most output-sign cases outright). The best
    restart is polished on its activation pattern (the convex program with the pattern
    fixed). Two-layer: ``restarts`` restarts in half the budget, then the best
    ``HEURISTIC_POLISHED`` distinct ones are polished and improved by :func:`flip_search`.
    The budget is ``seconds``, at most ``HEURISTIC_SHARE`` of the time limit, and ends
    early on Ctrl-C. ``seed`` defaults to ``options.seed``.
    """
    budget = seconds
    if options.time_limit is not None:
        budget = min(budget, HEURISTIC_SHARE * options.time_limit)
    deadline = Budget(incumbent, budget)
    # (no time limit here: every gd_restarts call below gets its Budget instead)
    gd_options = SolveOptions(
        seed=options.seed if seed is None else seed, warm_start=options.warm_start
    )
    if problem.arch == "one-node":
        network = gd_restarts(problem, gd_options, deadline=deadline)[0]
        incumbent.offer(network)
        incumbent.polish(network, None, loss_monotone_in_activation(problem.y, problem.loss))
        return
    targets = [problem]
    if problem.loss != "squared":
        # Subgradient steps on absolute or hinge loss often stall; gradient descent on the
        # squared loss of the same targets is a better start (a network that fits the data
        # exactly is optimal for every loss), and polishing then uses the real loss.
        targets.append(replace(problem, loss="squared"))
    networks = []
    for target in targets:
        share = Budget(incumbent, budget / (2 * len(targets)))
        networks += gd_restarts(target, gd_options, restarts, deadline=share)
    losses = [net.loss(problem.X, problem.y, problem.loss) for net in networks]
    order = np.argsort(losses, kind="stable")
    incumbent.offer(networks[order[0]])
    seen: set[float] = set()
    for k in order:
        key = round(losses[k], 9)  # restarts that reached the same loss: polish one
        if key in seen:
            continue
        seen.add(key)
        network = networks[k]
        polished = incumbent.polish(network, network.v, None)
        if polished is not None:
            incumbent.offer(flip_search(problem, polished, deadline))
        if len(seen) >= HEURISTIC_POLISHED or deadline.expired():
            break


def flip_search(problem: Problem, network: TwoLayerNetwork, deadline: Deadline) -> TwoLayerNetwork:
    """Local search over activation patterns by single flips.

    Flip the activation of one unit on one sample, among the ``FLIP_CANDIDATES``
    pre-activations closest to 0 (the hyperplanes that could move across them),
    solve the convex program with that pattern fixed, and move to the first that
    improves; stop when none does or the deadline passes.
    """
    X, y = problem.X, problem.y
    best, best_loss = network, network.loss(X, y, problem.loss)
    improved = True
    while improved and not deadline.expired():
        improved = False
        Z = best.pre_activations(X)
        pattern = Z > 0
        for flat in np.argsort(np.abs(Z), axis=None)[:FLIP_CANDIDATES]:
            if deadline.expired():
                break
            i, j = np.unravel_index(flat, Z.shape)
            candidate = pattern.copy()
            candidate[i, j] = not candidate[i, j]
            try:
                moved, loss, _ = fit_fixed_pattern(problem, candidate, best.v)
            except SolverError:
                continue
            if loss < best_loss - 1e-12 * max(1.0, best_loss):
                best, best_loss, improved = moved, loss, True
                break
    return best
