"""The shared state of one MIP solve: the incumbent and the bounds of its sign cases."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from exactrelu.certificate import Stop, gap_closed
from exactrelu.methods.heuristics import heuristic_start
from exactrelu.methods.mip.settings import MipSettings
from exactrelu.methods.search import Incumbent

if TYPE_CHECKING:
    from exactrelu.methods.mip.case import SignCase

# The key of the bound a presolve proves for the whole class (sign cases count from 0).
PRESOLVE_KEY = -1


class SearchState(Incumbent):
    """The incumbent of one MIP solve, with the proven bound of each output-sign case.

    Shared by the cases' threads: counters are updated under :attr:`lock`.
    """

    def __init__(self, problem, options, deadline, start, settings: MipSettings) -> None:
        super().__init__(problem, options, deadline, start)
        self.settings = settings
        self.nodes = 0
        self.mip_solves = 0
        self.pruned = 0  # MILPs proved unable to beat the incumbent (infeasible under cutoff)
        self.spurious = 0  # squared loss: MILP solutions the tangents underestimated
        self.tangents = 0  # tangent cuts added (squared loss)
        self.shape_pruned = 0  # cases closed by the convexity bound
        self.lower_bounds: dict[int, float] = {}
        self.case_of: dict[int, SignCase] = {}  # by key, for the progress line
        self.long_start_due = False  # see long_start

    def long_start(self) -> None:
        """Once ``settings.long_start_after`` seconds have passed: a longer heuristic start.

        Called from inside a running MILP (its interrupt callback), which pauses for it
        and then receives any better network as a user solution; so instances solved
        within the first seconds never pay for it. Two-layer only (one-node searches
        have their own branch and bound).
        """
        settings = self.settings
        with self.lock:
            if not self.long_start_due or self.deadline.elapsed() < settings.long_start_after:
                return
            self.long_start_due = False
        # no progress lines while it runs: say so before and after
        self.progress(
            f"(longer heuristic start, up to {settings.long_heuristic_seconds:g} s)", force=True
        )
        heuristic_start(
            self.problem,
            self.options,
            self,
            restarts=settings.long_heuristic_restarts,
            seconds=settings.long_heuristic_seconds,
            seed=self.options.seed + 1,
        )
        self.progress("(longer heuristic start done)", force=True)

    def bound(self, live: bool = False) -> float:
        """Proven lower bound: the smallest case bound (0 is always valid: losses are >= 0).

        ``live``: with what the running MILPs have proven so far (progress lines).
        """
        bounds = [self.case_bound(key, live) for key in self.lower_bounds]
        return max(0.0, min(bounds)) if bounds else 0.0

    def case_bound(self, key: int, live: bool = False) -> float:
        """One case's proven bound; ``live``: with its running MILP's dual bound so far."""
        bound = self.lower_bounds[key]
        case = self.case_of.get(key)
        if live and case is not None and case.running:
            # what its round proves so far: capped as in SignCase.run
            bound = max(bound, min(case.live_dual, case.round_threshold))
        return bound

    def closed(self) -> bool:
        """The incumbent is proven optimal to the certificate's tolerance."""
        options = self.options
        return gap_closed(self.best_loss, self.bound(), options.rel_gap, options.abs_gap)

    def stop_reason(self) -> Stop | None:
        """Ctrl-C or the time limit; None while the search may go on."""
        if self.interrupted:
            return Stop.INTERRUPTED
        if self.deadline.expired():
            return Stop.TIME_LIMIT
        return None

    def progress(self, note: str | Callable[[], str], force: bool = False) -> None:
        """A progress line if one is due; ``note`` may be built only then (a callable):
        this runs in HiGHS's node callback."""
        if force or self.progress_due():
            self.report(self.bound(live=True), note() if callable(note) else note, force=True)

    def cases_note(self) -> str:
        """Where each sign case of a two-layer solve stands, for the progress line.

        The overall bound is the smallest case bound, so it stays 0 on hard instances
        until the last case has proven something; the cases' own bounds show progress.
        """
        states = []
        cases = sorted(self.case_of.values(), key=lambda case: case.formulation.positive_units)
        for case in cases:
            bound = self.case_bound(case.key, live=True)
            if case.closed:
                state = "closed"
            elif case.running:
                state = f"round {case.rounds + 1}, bound {bound:.4g}"
            else:
                state = f"queued, bound {bound:.4g}"
            states.append(f"{case.formulation.positive_units}: {state}")
        return "(sign cases by +1 units: " + "; ".join(states) + ")"
