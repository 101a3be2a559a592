"""Scheduling the sign cases of a MIP solve: rounds, visits, cases side by side.

Squared loss goes by outer approximation in rounds (a MILP with tangent cuts, then
tangents where its solutions are underestimated); absolute and hinge loss need one
round. With several sign cases, each first gets a short visit so that a good incumbent
prunes the others; then the open cases are solved side by side in threads (HiGHS
releases the GIL while it solves), sharing the incumbent and the interrupt flag.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from exactrelu.certificate import Stop, gap_closed
from exactrelu.methods.mip.case import CLOSED_BY_MILP, SignCase
from exactrelu.methods.mip.state import SearchState
from exactrelu.methods.search import StageEnd


def play_round(case: SignCase, cap: float) -> Stop | None:
    """One MILP solve of ``case`` and what follows it; the search's reason to stop (or None).

    Squared loss: tangents at the round's solution, at its polished network and (two-layer)
    at every solution the MILP found below the cutoff whose true loss is not (the tangents
    underestimate it there). The case is closed when the MILP proved its bound, when no
    new tangent was added (the next round would repeat), when rounds stall, or when its
    bound meets the incumbent; capped rounds only polish.
    """
    search, options = case.search, case.search.options
    squared = case.formulation.problem.loss == "squared"
    end, network = case.run(cap)
    if end in (StageEnd.INTERRUPTED, StageEnd.TIME_LIMIT):
        # No next round: return at once (a polishing QP here could overrun the limit).
        case.spurious.clear()
        return end.stop()
    spurious_tangents = sum(case.tangents_at(spurious) for spurious in case.spurious)
    with search.lock:
        search.spurious += len(case.spurious)
    case.spurious.clear()
    if end is StageEnd.CAPPED:
        if network is not None and squared:
            case.polish(network)
        return None  # keep going: this case is simply not finished
    if squared and network is not None:
        stuck = case.tangents_at(network) + spurious_tangents == 0
    else:
        stuck = True  # a MILP solved to optimality is final
    bound = search.lower_bounds[case.key]
    progress = (bound, search.best_loss)
    case.stalls = case.stalls + 1 if progress == case.last_progress else 0
    case.last_progress = progress
    if end is StageEnd.FINISHED and (
        stuck
        or case.stalls >= search.settings.max_stalled_rounds
        or gap_closed(search.best_loss, bound, options.rel_gap, options.abs_gap)
    ):
        # closed: it cannot beat the incumbent, or more rounds would not help
        # (the certificate then reports the gap that remains, honestly)
        case.closed_by = CLOSED_BY_MILP
    search.progress(case.progress_note())
    return end.stop()


def visit(cases: list[SignCase], search: SearchState, cap: float) -> Stop | None:
    """One round of each case in turn (each at most ``cap`` seconds); the reason to stop."""
    for case in cases:
        if case.closed_by_shape():
            with search.lock:
                search.shape_pruned += 1  # the incumbent improved past its convexity bound
            continue
        stop = search.stop_reason() or play_round(case, cap)
        if stop is not None or search.closed():
            return stop
    return None


def solve_side_by_side(cases: list[SignCase], search: SearchState, workers: int) -> Stop | None:
    """Solve the open cases in ``workers`` threads, each case to its end.

    HiGHS releases the GIL while it solves, so cases run truly in parallel; they share
    the incumbent (whose cutoff each new round uses) and the interrupt flag. The main
    thread only waits, in short slices so that Ctrl-C reaches its handler.
    """

    def drive(case: SignCase) -> Stop | None:
        stop = None
        while stop is None and not case.closed and not search.closed():
            stop = visit([case], search, np.inf)
        return stop

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(drive, case) for case in cases]
        while not all(f.done() for f in futures):
            wait(futures, timeout=0.2)
        stops = [f.result() for f in futures]
    for reason in (Stop.INTERRUPTED, Stop.TIME_LIMIT, Stop.ERROR):
        if reason in stops:
            return reason
    return None
