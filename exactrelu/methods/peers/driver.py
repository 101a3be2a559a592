"""One driver for every peer: solve the sign cases of the plain big-M model one by one.

Each peer's adapter solves one :class:`~exactrelu.methods.peers.big_m.BigMModel` and
says what it proved (:class:`CaseResult`); :func:`solve_by_cases` runs the cases
(:func:`~exactrelu.methods.peers.big_m.sign_cases`) under one shared time limit and
combines them:

* the bound of the class is the smallest case bound (every network lies in the case of
  its own output signs); a case not run proves nothing beyond 0 (every loss is >= 0);
* the network is the best over the cases, its loss recomputed in float64;
* a peer whose solver takes an objective cutoff gets the best loss so far for every
  later case. A solver with a cutoff proves only that the case holds nothing better
  than the cutoff, so such a case counts at most at the cutoff less the solver's gap
  tolerance (a solver may prune within its gap), whatever bound the solver reports.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from exactrelu.certificate import Certificate, Stop, make_certificate
from exactrelu.methods.peers.big_m import BigMModel, build_big_m, sign_cases
from exactrelu.network.networks import Network, zero_network
from exactrelu.options import Deadline, SolveOptions
from exactrelu.problem import Problem


@dataclass
class CaseResult:
    """What one solver run on one sign case proved and found.

    Attributes
    ----------
    bound : float or None
        A proven lower bound on the case's optimum; ``inf`` when the solver proved that
        the case holds nothing better than the cutoff; None when nothing is proven.
    network : Network or None
        The best network the solver found in the case.
    stop : Stop
        Why the solver stopped.
    status : str
        The solver's own status.
    nodes : int
        Branch-and-bound nodes.
    extra : dict
        Anything else worth reporting (``rounds`` of an outer approximation).
    """

    bound: float | None
    network: Network | None
    stop: Stop
    status: str
    nodes: int
    extra: dict[str, Any] = field(default_factory=dict)


# (model, options, time limit or None, cutoff or None) -> what the case proved
CaseSolver = Callable[[BigMModel, SolveOptions, float | None, float | None], CaseResult]


def solve_by_cases(
    problem: Problem,
    options: SolveOptions,
    *,
    method: str,
    solve_case: CaseSolver,
    takes_cutoff: bool,
    deadline: Deadline,
) -> Certificate:
    """Solve every sign case with ``solve_case``; one certificate for the class.

    Parameters
    ----------
    method : str
        The certificate's ``method``.
    solve_case : callable
        The peer's adapter (:data:`CaseSolver`).
    takes_cutoff : bool
        Pass the best loss so far to later cases as an objective cutoff.
    deadline : Deadline
        Started when the solve started; its limit is shared by all cases.
    """
    best: Network = zero_network(problem.arch, problem.d, problem.width)
    best_loss = best.loss(problem.X, problem.y, problem.loss)
    found = False  # the cutoff is the loss of a network a case found
    cases: list[dict[str, Any]] = []
    for p in sign_cases(problem):
        if cases and (_halted(cases) or deadline.expired()):
            cases.append(_not_run(p, "interrupted" if _halted(cases) else "time_limit"))
            continue
        cutoff = best_loss if takes_cutoff and found else None
        time_limit = None if options.time_limit is None else deadline.remaining()
        started = time.perf_counter()
        result = solve_case(build_big_m(problem, p), options, time_limit, cutoff)
        if result.network is not None:
            loss = result.network.loss(problem.X, problem.y, problem.loss)
            found = True
            if loss < best_loss:
                best, best_loss = result.network, loss
        cases.append(_summary(p, result, cutoff, options, time.perf_counter() - started))
    return make_certificate(
        problem,
        best,
        bound=min(case["bound"] for case in cases),
        stop=_overall_stop(cases),
        seconds=deadline.elapsed(),
        method=method,
        rel_gap=options.rel_gap,
        abs_gap=options.abs_gap,
        details={"nodes": sum(case["nodes"] for case in cases), "cases": cases},
    )


def case_bound(result: CaseResult, cutoff: float | None, options: SolveOptions) -> float:
    """The lower bound a case's result proves for the networks of the case.

    Every loss is >= 0, so 0 when nothing is proven. With a cutoff, the solver proved
    nothing about networks worse than it (and may prune within its gap tolerance,
    ``rel_gap/2`` and ``abs_gap/2``): the case counts at most at the cutoff less that
    tolerance. ``inf`` without a cutoff would claim an infeasible case, which the plain
    model never is: it proves nothing.
    """
    bound = result.bound
    if bound is None or math.isnan(bound) or (math.isinf(bound) and cutoff is None):
        return 0.0
    if cutoff is not None:
        slack = max(options.rel_gap / 2 * abs(cutoff), options.abs_gap / 2)
        bound = min(bound, cutoff - slack)
    return max(float(bound), 0.0)


def _summary(
    p: int, result: CaseResult, cutoff: float | None, options: SolveOptions, seconds: float
) -> dict[str, Any]:
    return {
        "positive_units": p,
        "status": result.status,
        "stop": Stop(result.stop).value,
        "nodes": int(result.nodes),
        "bound": case_bound(result, cutoff, options),
        "cutoff": cutoff,
        "seconds": seconds,
        **result.extra,
    }


def _not_run(p: int, stop: str) -> dict[str, Any]:
    return {
        "positive_units": p,
        "status": "not run",
        "stop": stop,
        "nodes": 0,
        "bound": 0.0,
        "cutoff": None,
        "seconds": 0.0,
    }


def _halted(cases: list[dict[str, Any]]) -> bool:
    """Ctrl-C or SIGTERM stopped a case: run no more."""
    return any(case["stop"] == Stop.INTERRUPTED.value for case in cases)


def _overall_stop(cases: list[dict[str, Any]]) -> Stop:
    """The most telling reason any case stopped (finished only when every case did)."""
    stops = {case["stop"] for case in cases}
    for stop in (Stop.INTERRUPTED, Stop.TIME_LIMIT, Stop.ERROR):
        if stop.value in stops:
            return stop
    return Stop.FINISHED
