"""Exact training by mixed-integer programming on HiGHS.

One MILP per output-sign case (one for one-node, ``width + 1`` for two-layer; see
:func:`~exactrelu.formulation.model.build_formulations`). The proven lower bound of
the class is the smallest bound over the cases; the incumbent is the best network
seen anywhere (warm start, every improving MIP solution, polished solutions).

Squared loss goes by outer approximation (SPEC §3), because HiGHS has no MIQP and no
lazy-constraint callback: each round solves the MILP with tangent cuts
``t_i >= 2 r̄ (y_i - f_i) - r̄²`` (a valid lower bound, as the tangents underestimate
the square), takes the activation pattern of its solution, solves the convex QP with
that pattern fixed (an upper bound), and adds tangents at both solutions' residuals
(and at those of every solution the MILP found below the cutoff whose true loss is not).
Once a round's MILP picks a pattern whose QP optimum already carries its tangents,
the MILP value equals that QP value (first-order optimality of a convex program), so
the bounds meet; there are finitely many patterns, so the loop ends. Two-layer models
with d >= 3 also carry each square piecewise linearly across ±√(incumbent's loss)
(``RESIDUAL_SEGMENT_STEPS``), so that a round's relaxations cannot sit in the gaps
between scattered tangents, and each of their rounds starts with tangents at the
incumbent.

Levers around the MILPs. One-node squared loss: the activation branch and bound
(:mod:`~exactrelu.algorithms.branch_and_bound`) runs first as a presolve; when it finishes
its bound is the result, otherwise its root's cutoff bounds fix activations and tighten
the big-M values of the MILP. Two-layer with one feature: each unit has only about 2n
activation patterns, so the pattern enumeration of method ``enumerate`` runs instead of
the MILPs when it has at most ``ENUMERATION_PRESOLVE_COMBINATIONS`` pattern tuples (the
MILPs' big-M relaxation is no stronger in one dimension, and measured far slower).
Absolute and hinge loss: the MILPs carry convexity cuts
(:mod:`~exactrelu.formulation.convexity`). Two-layer: a sign case whose output weights
all agree holds only convex (or concave) networks, and is closed at once when the best
convex (concave) fit of the data loses more than the incumbent
(:mod:`~exactrelu.solver.shape_bound`).
After a short first visit to each, the open two-layer cases are solved side by side in
threads (HiGHS releases the GIL while it solves; ``threads`` caps them, 1 runs them in
turn). A better network found while a MILP runs reaches it at once: as a HiGHS user
solution when it has that case's output signs, else by restarting a young round with the
new cutoff (``RESTART_GAIN``, ``RESTART_WINDOW``); and a two-layer solve still running
after ``LONG_START_AFTER`` seconds pauses once for a longer heuristic start (search.py),
which on hard instances finds better networks than the MILPs do for a long time.

Ctrl-C, SIGTERM and the time limit interrupt HiGHS through its callbacks (its primal
heuristics are off: their sub-MIPs never call back, so a stop could wait half a minute);
the best network and the bound proven so far come back in the certificate with status
``interrupted`` or ``time_limit``. Nothing is lost, and no traceback is shown.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import highspy
import numpy as np

from exactrelu.algorithms.branch_and_bound import OneNodeBranchAndBound
from exactrelu.algorithms.enumerate import TwoLayerEnumeration
from exactrelu.certificate import Certificate, gap_closed
from exactrelu.data import Problem
from exactrelu.errors import InvalidInputError
from exactrelu.formulation.bounds import CutoffBounds
from exactrelu.formulation.model import Formulation, build_formulations
from exactrelu.network import Network, check_in_class, zero_network
from exactrelu.options import Deadline, SolveOptions
from exactrelu.solver.compile import CompiledModel
from exactrelu.solver.highs_util import quiet_highs
from exactrelu.solver.search import (
    LONG_HEURISTIC_RESTARTS,
    LONG_HEURISTIC_SECONDS,
    LONG_START_AFTER,
    Budget,
    Incumbent,
    below_cutoff,
    heuristic_start,
    trap_interrupts,
)
from exactrelu.solver.shape_bound import shape_constrained_bound

Status = highspy.HighsModelStatus
FEASIBILITY_TOLERANCE = 1e-9
# Outer-approximation rounds in a row that move neither bound before a case is given up
# on (numerical stalling; it does not happen on well-scaled data).
MAX_STALLED_ROUNDS = 5
# A running MILP is restarted when the incumbent beats its cutoff by this share and cannot
# be handed to it (a network of another sign case): a smaller tree pays for the restart.
# Only in the first RESTART_WINDOW seconds of a round: an older tree is kept (the cutoff
# then improves at the next round, as before), since its lost work may outweigh the gain.
RESTART_GAIN = 1e-2
RESTART_WINDOW = 120.0
# Seconds of the first visit to each sign case of a two-layer network.
WARMUP_SECONDS = 1.0
# Relative safety margin below the value of a convex-regression bound (shape_bound).
SHAPE_MARGIN = 1e-6
# One-node squared loss: the activation branch and bound runs first. Its propagation is
# strong when the incumbent explains most of sum(y²) (then it usually settles the instance
# alone, much faster than the MILP) and weak otherwise: seconds and share of the time
# limit it gets in either case.
PRESOLVE_GOOD_FIT = 0.75
PRESOLVE_SECONDS_GOOD_FIT = 120.0
PRESOLVE_SHARE_GOOD_FIT = 0.5
PRESOLVE_SECONDS = 3.0
PRESOLVE_SHARE = 0.1
# Two-layer with one feature: each unit has only about 2n activation patterns (thresholds
# on the line), so enumerating pattern tuples (method ``enumerate``) is polynomial and,
# measured, far faster than the MILPs (width 2, n = 50: 2-21 s where the MILPs did not
# certify in 300 s). Past this many (sign count, pattern tuple) pairs the MILPs run.
ENUMERATION_PRESOLVE_COMBINATIONS = 2_000_000
# Two-layer squared loss: each residual's square is also modelled piecewise linearly on
# 2 × this many segments across ±√(incumbent's loss), the range of every residual of a
# better network (Formulation.add_residual_segments). Below r² by at most
# loss / (4·steps²) anywhere there, so the relaxations of the mixed-sign cases cannot
# hide loss between the scattered tangents of the rounds (measured: MILP solutions
# whose true loss was 20% above their modelled loss), each of which cost one more MILP
# round from scratch. Only with at least RESIDUAL_SEGMENT_MIN_FEATURES
# features: side by side (threads 1) they certified or tightened every d = 3 instance
# tried and slowed every d = 2 one by 17-50% (the extra columns make each node dearer
# while the trees stay the same size there); benchmarks/README.md.
RESIDUAL_SEGMENT_STEPS = 20
RESIDUAL_SEGMENT_MIN_FEATURES = 3


class _Search(Incumbent):
    """The incumbent of one MIP solve, with the bounds of its output-sign cases."""

    def __init__(self, problem, options, deadline, start) -> None:
        super().__init__(problem, options, deadline, start)
        self.nodes = 0
        self.mip_solves = 0
        self.pruned = 0  # MILPs proved unable to beat the incumbent (infeasible under cutoff)
        self.spurious = 0  # squared loss: MILP solutions the tangents underestimated
        self.tangents = 0  # tangent cuts added (squared loss)
        self.shape_pruned = 0  # cases closed by the convexity bound
        self.lower_bounds: dict[int, float] = {}
        self.case_of: dict[int, _Case] = {}  # by key, for the progress line
        self.long_start_due = False  # see long_start

    def long_start(self) -> None:
        """Once ``LONG_START_AFTER`` seconds have passed: a longer heuristic start.

        Called from inside a running MILP (its interrupt callback), which pauses for it
        and then receives any better network as a user solution; so instances solved
        within the first seconds never pay for it. Two-layer only (one-node searches
        have their own branch and bound).
        """
        with self.lock:
            if not self.long_start_due or self.deadline.elapsed() < LONG_START_AFTER:
                return
            self.long_start_due = False
        # no progress lines while it runs: say so before and after
        self.progress(f"(longer heuristic start, up to {LONG_HEURISTIC_SECONDS:g} s)", force=True)
        heuristic_start(
            self.problem,
            self.options,
            self,
            restarts=LONG_HEURISTIC_RESTARTS,
            seconds=LONG_HEURISTIC_SECONDS,
            seed=self.options.seed + 1,
        )
        self.progress("(longer heuristic start done)", force=True)

    def bound(self, live: bool = False) -> float:
        """Proven lower bound: the smallest case bound (0 is always valid: losses are >= 0).

        ``live``: with what the running MILPs have proven so far (progress lines).
        """
        bounds = {key: self.case_bound(key, live) for key in self.lower_bounds}
        return max(0.0, min(bounds.values())) if bounds else 0.0

    def case_bound(self, key: int, live: bool = False) -> float:
        """One case's proven bound; ``live``: with its running MILP's dual bound so far."""
        bound = self.lower_bounds[key]
        case = self.case_of.get(key)
        if live and case is not None and case.running:
            # what its round proves so far: capped as in _Case.run
            bound = max(bound, min(case.live_dual, case.round_threshold))
        return bound

    def closed(self) -> bool:
        """The incumbent is proven optimal to the certificate's tolerance."""
        options = self.options
        return gap_closed(self.best_loss, self.bound(), options.rel_gap, options.abs_gap)

    def stop_reason(self) -> str:
        """``"interrupted"``, ``"time_limit"`` or ``"optimal"`` (keep going)."""
        if self.interrupted:
            return "interrupted"
        if self.deadline.expired():
            return "time_limit"
        return "optimal"

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


class _Case:
    """One MILP (one output-sign case) loaded into its own HiGHS instance."""

    def __init__(self, key: int, formulation: Formulation, search: _Search) -> None:
        self.key = key
        self.formulation = formulation
        self.search = search
        problem, model = formulation.problem, formulation.model
        self.compiled = CompiledModel(model)
        self.W_cols = self.compiled.columns(model.W[j, k] for j in model.J for k in model.K)
        self.b_cols = self.compiled.columns(model.b[j] for j in model.J)
        self.c_col = self.compiled.columns([model.c])[0] if problem.arch == "two-layer" else None
        loss_var = model.t if hasattr(model, "t") else model.e if hasattr(model, "e") else None
        self.loss_cols = (
            None if loss_var is None else self.compiled.columns(loss_var[i] for i in model.I)
        )
        self.residual_bound = np.inf
        self.shape_bound = -np.inf  # convexity bound of a same-sign case (prune_by_shape)
        self.closed_by: str | None = None  # "milp" or "convexity bound" once closed
        self.has_integers = len(model.s) > 0
        self.highs = quiet_highs(search.options.threads, search.options.seed)
        self._configure()
        self.compiled.load(self.highs)
        self.rounds = 0
        # Squared loss: solutions the MILP found below the cutoff whose true loss is not
        # (the tangents underestimate it there); tangents go there after the round.
        self.spurious: list[Network] = []
        self.round_threshold = -np.inf  # what a pruned round proves (see run)
        self.stalls = 0
        self.last_progress: tuple[float, float] | None = None
        # What the running MILP prunes with: the round's cutoff, or a better incumbent
        # handed to it as a user solution (or found by it).
        self.handed_over = np.inf
        self.columns_of: tuple[float, np.ndarray | None] = (np.nan, None)
        self.user_solutions = 0
        self.restart_requested = False
        self.round_started = 0.0
        self.restarts = 0
        self.nodes = 0
        self.seconds = 0.0  # in its MILPs
        self.running = False  # a MILP of this case is being solved
        self.live_dual = -np.inf  # its dual bound so far (progress line)
        search.lower_bounds[key] = 0.0

    def _configure(self) -> None:
        options, highs = self.search.options, self.highs
        # The MILP works to half the certificate's tolerance, leaving the other half
        # for the outer approximation and for recomputing the loss in float64.
        highs.setOptionValue("mip_rel_gap", options.rel_gap / 2)
        highs.setOptionValue("mip_abs_gap", options.abs_gap / 2)
        # Default feasibility tolerances (1e-6) let every big-M row bend by 1e-6, which
        # moves the MILP bound by about n·|r|·1e-6: more than the 1e-6 relative gap
        # users of an exact solver expect. Tighter tolerances keep the bound honest.
        for name in ("mip_feasibility_tolerance", "primal_feasibility_tolerance"):
            highs.setOptionValue(name, FEASIBILITY_TOLERANCE)
        # HiGHS's primal heuristics solve sub-MIPs that never call the interrupt callback:
        # with them, Ctrl-C waited up to 31 s (width 3, n = 50); without, at most 2 s. The
        # search has its own incumbents (heuristic start, polishing), and the solve times
        # measured without them were no worse (benchmarks/README.md).
        highs.setOptionValue("mip_heuristic_effort", 0.0)
        if self.formulation.problem.arch == "two-layer":
            # Cuts separated inside the tree cost more LP time than they save on these
            # big-M relaxations: measured 4-40% less time without them on all 13 two-layer
            # instances tried (node counts moved both ways); one-node instances were equal
            # either way, so they keep HiGHS's default (benchmarks/README.md).
            highs.setOptionValue("mip_allow_cut_separation_at_nodes", False)
        if options.log:
            highs.setOptionValue("output_flag", True)
            highs.setOptionValue("log_to_console", False)
            highs.cbLogging.subscribe(lambda e: print(e.message, end="", file=sys.stderr))
        highs.cbMipInterrupt.subscribe(self._on_interrupt_check)
        highs.cbSimplexInterrupt.subscribe(self._on_interrupt_check)
        highs.cbMipImprovingSolution.subscribe(self._on_improving_solution)
        highs.cbMipUserSolution.subscribe(self._on_user_solution)

    # -- callbacks (called from inside HiGHS; must never raise) ---------------------
    def _on_interrupt_check(self, event) -> None:
        search = self.search
        if search.interrupted:
            event.interrupt()
            return
        if not self.restart_requested:
            # HiGHS keeps the flag from an earlier run (a restarted round) and would stop
            # the next run at once: clear it.
            event.interrupt(False)
        if event.callback_type == highspy.cb.HighsCallbackType.kCallbackMipInterrupt:
            dual = event.data_out.mip_dual_bound
            if np.isfinite(dual):
                self.live_dual = dual
            search.progress(self.progress_note)
            with contextlib.suppress(Exception):  # a callback must not throw into HiGHS
                search.long_start()
                if self._restart_pays():
                    self.restart_requested = True
                    event.interrupt()

    def _incumbent_columns(self) -> tuple[float, np.ndarray | None]:
        """The incumbent's loss and its column values in this case (None: other signs)."""
        with self.search.lock:
            best, loss = self.search.best, self.search.best_loss
        if loss != self.columns_of[0]:
            self.columns_of = (loss, self.column_values(best))
        return self.columns_of

    def _on_user_solution(self, event) -> None:
        # A better incumbent found elsewhere (another case, polishing, the long start)
        # reaches the running tree at once instead of at the next round: HiGHS prunes
        # with its loss from here on. Its squared-loss epigraph values are the true
        # squares, so the objective HiGHS sees is the true loss (a valid cutoff).
        with contextlib.suppress(Exception):  # a callback must not throw into HiGHS
            loss, x = self._incumbent_columns()
            if loss < self.handed_over and x is not None:
                event.data_in.setSolution(x)
                self.handed_over = loss
                self.user_solutions += 1

    def _restart_pays(self) -> bool:
        """The incumbent beats the running tree's cutoff by ``RESTART_GAIN`` and cannot be
        handed to it (its output signs belong to another case), and the round is younger
        than ``RESTART_WINDOW`` seconds: restart it."""
        if self.search.deadline.elapsed() - self.round_started > RESTART_WINDOW:
            return False
        loss, x = self._incumbent_columns()
        return x is None and loss < self.handed_over - RESTART_GAIN * abs(self.handed_over)

    def _on_improving_solution(self, event) -> None:
        with contextlib.suppress(Exception):  # a callback must not throw into HiGHS
            network = self.network_from_columns(np.asarray(event.data_out.mip_solution))
            if self.search.offer(network):
                # the tree has it (at its modelled loss, never above the true one)
                self.handed_over = min(self.handed_over, self.search.best_loss)
                return
            if self.formulation.problem.loss != "squared":
                return
            # Not better than the incumbent, yet the MILP found it below the cutoff:
            # the tangents underestimate its loss by more than the MILP's tolerance.
            if event.data_out.objective_function_value < self.round_threshold:
                self.spurious.append(network)

    # -----------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self.closed_by is not None

    def summary(self) -> dict[str, Any]:
        """What this case did, for the certificate's details."""
        f = self.formulation
        return {
            "positive_units": f.positive_units if f.problem.arch == "two-layer" else None,
            "closed_by": self.closed_by,  # None: still open
            "bound": float(self.search.lower_bounds[self.key]),
            "rounds": self.rounds,
            "nodes": self.nodes,
            "seconds": round(self.seconds, 3),
        }

    def progress_note(self) -> str:
        if self.formulation.problem.arch == "two-layer":
            return self.search.cases_note()
        if self.running:
            return f"(round {self.rounds + 1})"
        return f"(round {self.rounds} done)"

    def network_from_columns(self, x: np.ndarray) -> Network:
        p = self.formulation.problem
        W = x[self.W_cols].reshape(p.width, p.d)
        b = x[self.b_cols]
        c = float(x[self.c_col]) if self.c_col is not None else 0.0
        return self.formulation.network(W, b, c)

    def column_values(self, network: Network) -> np.ndarray | None:
        """The model's column values that represent ``network`` (None: not in this case)."""
        values = self.formulation.variable_values(network)
        return None if values is None else self.compiled.column_vector(values)

    def warm_start(self, network: Network) -> bool:
        x = self.column_values(network)
        if x is None:
            return False
        solution = highspy.HighsSolution()
        solution.col_value = x
        solution.value_valid = True
        return self.highs.setSolution(solution) != highspy.HighsStatus.kError

    def restrict_to_improvements(self, cutoff: float) -> None:
        """Per-sample consequences of the cutoff: no sample may lose more than ``cutoff``.

        Every loss term is >= 0, so a network better than the incumbent has each
        ``t_i`` (``e_i``) at most ``cutoff``; for squared loss, tangents at
        ``r̄ = ±√cutoff`` turn that into ``|y_i - f_i| <= √cutoff``. These rows only
        remove networks worse than the incumbent, so the case's bound stays
        min(its optimum, cutoff), as with the cutoff itself; but presolve and node
        propagation can now fix activations (a one-node sample with
        ``y_i > √cutoff`` must be active).
        """
        if self.loss_cols is None or not np.isfinite(cutoff):
            return
        n = self.loss_cols.size
        self.highs.changeColsBounds(n, self.loss_cols, np.zeros(n), np.full(n, cutoff))
        problem = self.formulation.problem
        if problem.loss == "squared" and np.sqrt(cutoff) < 0.9 * self.residual_bound:
            self.residual_bound = float(np.sqrt(cutoff))
            for sign in (1.0, -1.0):
                new = self.formulation.add_tangents(np.full(n, sign * self.residual_bound))
                self.compiled.add_rows(self.highs, new)

    def prune_by_shape(self) -> bool:
        """Close a two-layer case whose output signs all agree, if convexity rules it out.

        Such a case only holds convex (all +1) or concave (all -1) networks; the best
        convex (concave) fit of the data bounds its loss from below
        (:mod:`~exactrelu.solver.shape_bound`). Returns True when that bound exceeds the
        incumbent's loss, so that the case needs no MILP.
        """
        problem = self.formulation.problem
        positive = self.formulation.positive_units
        if problem.arch != "two-layer" or positive not in (0, problem.width):
            return False
        sign = 1.0 if positive == problem.width else -1.0
        value = shape_constrained_bound(problem, sign, self.search.options.threads)
        # HiGHS solves it to its own tolerances: keep a safety margin below its value
        self.shape_bound = value * (1 - SHAPE_MARGIN) - SHAPE_MARGIN
        self.search.lower_bounds[self.key] = max(
            self.search.lower_bounds[self.key], self.shape_bound
        )
        return self.closed_by_shape()

    def closed_by_shape(self) -> bool:
        """Close the case if its convexity bound exceeds the incumbent (which may improve)."""
        if self.shape_bound > self.search.best_loss and not self.closed:
            self.closed_by = "convexity bound"
        return self.closed

    def polish(self, network: Network) -> Network | None:
        """:meth:`Incumbent.polish` with this case's output signs and free samples."""
        f = self.formulation
        free = f.monotone_samples if f.problem.arch == "one-node" else None
        return self.search.polish(network, f.signs, free)

    def add_tangents(self, residuals: np.ndarray) -> int:
        """Tangent cuts at ``residuals`` (counted in the search); returns how many were new."""
        new = self.formulation.add_tangents(residuals)
        self.compiled.add_rows(self.highs, new)
        with self.search.lock:
            self.search.tangents += len(new)
        return len(new)

    def tangents_at(self, network: Network) -> int:
        """Tangent cuts at the residuals of ``network`` and of its polished network."""
        p = self.formulation.problem
        added = self.add_tangents(p.y - network.predict(p.X))
        polished = self.polish(network)
        if polished is not None:
            added += self.add_tangents(p.y - polished.predict(p.X))
        return added

    def run(self, cap: float = np.inf) -> tuple[str, Network | None, np.ndarray | None]:
        """Solve the MILP once, for at most ``cap`` seconds.

        Returns the stop reason (``"capped"`` when ``cap`` ran out before the overall
        time limit), its best network and its column values.
        """
        search, highs = self.search, self.highs
        remaining = search.deadline.remaining()
        capped = cap < remaining
        highs.setOptionValue("time_limit", float(min(remaining, cap, 1e30)))
        # Objective cutoff at the incumbent's true loss: valid for the tangent model
        # too, whose objective never exceeds the true loss. HiGHS then prunes every
        # node that cannot beat the incumbent, and reports the pruned part as "done";
        # so what this case proves is min(reported bound, cutoff), less the MILP's own
        # gap tolerances, which HiGHS may also use to prune near the cutoff.
        cutoff = search.best_loss
        proven_by_cutoff = below_cutoff(cutoff, search.options)
        highs.setOptionValue("objective_bound", float(cutoff))
        self.restrict_to_improvements(cutoff)
        if self.formulation.segments is not None:
            # exact at the incumbent, so that a round cannot undercut it on its own
            # pattern (measured together with the segments, so only with them)
            problem = self.formulation.problem
            self.add_tangents(problem.y - search.best.predict(problem.X))
        self.warm_start(search.best) or self.warm_start(
            zero_network(search.problem.arch, search.problem.d, search.problem.width)
        )
        self.round_threshold = proven_by_cutoff
        self.handed_over = cutoff
        self.restart_requested = False
        self.round_started = search.deadline.elapsed()
        self.live_dual, self.running = -np.inf, True
        try:
            highs.run()
        finally:
            self.running = False
        self.rounds += 1
        status = highs.getModelStatus()
        info = highs.getInfo()
        pruned = status in (Status.kInfeasible, Status.kObjectiveBound)
        nodes = max(0, int(info.mip_node_count))
        self.nodes += nodes
        self.seconds += search.deadline.elapsed() - self.round_started
        with search.lock:
            search.mip_solves += 1
            search.pruned += int(pruned)
            search.nodes += nodes
        if pruned:
            # Without the cutoff restrictions (and the residual segments, which only
            # remove networks worse than an earlier incumbent) the zero network is always
            # feasible, so this proves that no network of this case beats the incumbent.
            status, dual = Status.kOptimal, proven_by_cutoff
        elif self.has_integers:
            dual = info.mip_dual_bound
        else:  # a pure LP: its optimum is its bound
            dual = info.objective_function_value if status == Status.kOptimal else -np.inf
        dual = min(dual, proven_by_cutoff)
        if np.isfinite(dual):
            search.lower_bounds[self.key] = max(search.lower_bounds[self.key], float(dual))
        network, x = None, None
        if info.primal_solution_status == 2:  # kSolutionStatusFeasible
            x = np.asarray(highs.getSolution().col_value)
            network = self.network_from_columns(x)
            search.offer(network)
        if status == Status.kOptimal:
            stop = "optimal"
        elif status == Status.kTimeLimit:
            stop = "capped" if capped and not search.deadline.expired() else "time_limit"
        elif status == Status.kInterrupt and search.interrupted:
            stop = "interrupted"
        elif status == Status.kInterrupt and self.restart_requested:
            stop = "capped"  # to be run again, with the better cutoff
            self.restarts += 1
        elif status == Status.kInterrupt:
            stop = "time_limit"
        else:
            stop = "error"
        return stop, network, x


def initial_tangent_points(problem: Problem) -> list[np.ndarray]:
    """Residuals for the first tangent cuts of squared loss.

    ``r̄ = y_i`` is exact for a network that predicts 0 on sample i (an inactive
    one-node sample); a symmetric grid scaled by the spread of ``y`` keeps the first
    MILP's bound from being trivially 0 where the fit is good.
    """
    y = problem.y
    scale = max(float(np.std(y)), 1e-3)
    points = [y.copy()]
    for fraction in (0.1, 0.3, 1.0):
        points.append(np.full_like(y, fraction * scale))
        points.append(np.full_like(y, -fraction * scale))
    return points


def _presolve_one_node(search: _Search) -> tuple[str, CutoffBounds | None, dict[str, Any]]:
    """Run the activation branch and bound for a few seconds before the MILP.

    One-node squared loss only. When it finishes, its bound is the result and no MILP
    is built (``closed``); otherwise its root gives :class:`CutoffBounds` that fix
    activations and tighten the big-M values of the MILP. Returns the stop reason,
    the bounds and what it did (for the certificate's details).
    """
    options, deadline = search.options, search.deadline
    tree = OneNodeBranchAndBound(search.problem, options, search)
    y = search.problem.y
    explained = 1.0 - search.best_loss / max(float(y @ y), 1e-300)
    if explained >= PRESOLVE_GOOD_FIT:
        budget, share = PRESOLVE_SECONDS_GOOD_FIT, PRESOLVE_SHARE_GOOD_FIT
    else:
        budget, share = PRESOLVE_SECONDS, PRESOLVE_SHARE
    if options.time_limit is not None:
        budget = min(budget, share * options.time_limit)
    stop = tree.run(
        deadline,
        lambda t: search.report(t.bound(), f"(presolve: {t.nodes} nodes, {len(t.heap)} open)"),
        cap=deadline.elapsed() + budget,
    )
    info: dict[str, Any] = {"nodes": tree.nodes, "seconds": round(deadline.elapsed(), 3)}
    search.log(
        f"presolve (activation branch and bound): {tree.nodes} nodes, {len(tree.heap)} open, "
        f"bound {tree.bound():.10g}, best loss {search.best_loss:.10g}, stop {stop}"
    )
    if stop != "capped":
        # finished (or stopped by the user or the clock): its bound is what is proven
        search.lower_bounds[-1] = tree.bound()
        return stop, None, {**info, "closed": True}
    bounds = tree.cutoff_bounds()
    if bounds is None:  # no network at all beats the threshold
        search.lower_bounds[-1] = tree.threshold()
        return "optimal", None, {**info, "closed": True}
    info.update(
        closed=False,
        fixed_active=int(bounds.active.sum()),
        fixed_inactive=int(bounds.inactive.sum()),
    )
    return "optimal", bounds, info


def _presolve_two_layer(search: _Search) -> tuple[str, dict[str, Any]]:
    """Two-layer with d = 1: enumerate activation patterns instead of building MILPs.

    Runs :class:`~exactrelu.algorithms.enumerate.TwoLayerEnumeration` from the
    incumbent when it has at most ``ENUMERATION_PRESOLVE_COMBINATIONS`` pattern tuples
    to examine. When it finishes, its bound is the result (``closed``); stopped by the
    clock or the user, its best network stands with bound 0. Returns the stop reason and
    what it did (for the certificate's details; empty when it did not apply).
    """
    problem = search.problem
    if problem.d != 1:
        return "optimal", {}
    options = dataclasses.replace(search.options, warm_start=search.best)
    offered = [search.best_loss]

    def report(enumeration: TwoLayerEnumeration) -> None:
        if enumeration.best < offered[0]:  # offer only improvements (a loss each)
            offered[0] = enumeration.best
            search.offer(enumeration.best_net)
        search.report(0.0, "(presolve: enumerating activation patterns)")

    enumeration = TwoLayerEnumeration(
        problem, options, Budget(search), math.inf, on_progress=report
    )
    if enumeration.n_combinations > ENUMERATION_PRESOLVE_COMBINATIONS:
        return "optimal", {}
    enumeration.run()
    search.offer(enumeration.best_net)
    info = {"method": "enumerate", **enumeration.details(), "closed": True}
    info["seconds"] = round(search.deadline.elapsed(), 3)
    search.log(
        f"presolve (pattern enumeration): {enumeration.n_combinations} combinations, "
        f"best loss {search.best_loss:.10g}, "
        f"{'stopped' if enumeration.timed_out else f'bound {enumeration.bound():.10g}'}"
    )
    search.lower_bounds[-1] = 0.0 if enumeration.timed_out else enumeration.bound()
    return search.stop_reason(), info


def _round(case: _Case, cap: float) -> str:
    """One MILP solve of ``case`` and what follows it; returns the stop reason.

    Squared loss: tangents at the round's solution, at its polished network and at every
    solution the MILP found below the cutoff whose true loss is not (the tangents
    underestimate it there). The case is closed when the MILP proved its bound, when no
    new tangent was added (the next round would repeat), when rounds stall, or when its
    bound meets the incumbent; ``"capped"`` rounds only polish.
    """
    search, options = case.search, case.search.options
    squared = case.formulation.problem.loss == "squared"
    stop, network, _ = case.run(cap)
    if stop in ("interrupted", "time_limit"):
        # No next round: return at once (a polishing QP here could overrun the limit).
        case.spurious.clear()
        return stop
    spurious_tangents = sum(case.tangents_at(spurious) for spurious in case.spurious)
    with search.lock:
        search.spurious += len(case.spurious)
    case.spurious.clear()
    if stop == "capped":
        if network is not None and squared:
            case.polish(network)
        return "optimal"  # keep going: this case is simply not finished
    if squared and network is not None:
        stuck = case.tangents_at(network) + spurious_tangents == 0
    else:
        stuck = True  # a MILP solved to optimality is final
    bound = search.lower_bounds[case.key]
    progress = (bound, search.best_loss)
    case.stalls = case.stalls + 1 if progress == case.last_progress else 0
    case.last_progress = progress
    if stop == "optimal" and (
        stuck
        or case.stalls >= MAX_STALLED_ROUNDS
        or gap_closed(search.best_loss, bound, options.rel_gap, options.abs_gap)
    ):
        # closed: it cannot beat the incumbent, or more rounds would not help
        # (the certificate then reports the gap that remains, honestly)
        case.closed_by = "milp"
    search.progress(case.progress_note())
    return stop


def _visit(cases: list[_Case], search: _Search, cap: float) -> str:
    """One round of each case in turn (each at most ``cap`` seconds); the stop reason."""
    for case in cases:
        if case.closed_by_shape():
            with search.lock:
                search.shape_pruned += 1  # the incumbent improved past its convexity bound
            continue
        stop = search.stop_reason()
        if stop == "optimal":
            stop = _round(case, cap)
        if stop != "optimal" or search.closed():
            return stop
    return "optimal"


def _solve_side_by_side(cases: list[_Case], search: _Search, workers: int) -> str:
    """Solve the open cases in ``workers`` threads, each case to its end.

    HiGHS releases the GIL while it solves, so cases run truly in parallel; they share
    the incumbent (whose cutoff each new round uses) and the interrupt flag. The main
    thread only waits, in short slices so that Ctrl-C reaches its handler.
    """

    def drive(case: _Case) -> str:
        stop = "optimal"
        while stop == "optimal" and not case.closed and not search.closed():
            stop = _visit([case], search, np.inf)
        return stop

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(drive, case) for case in cases]
        while not all(f.done() for f in futures):
            wait(futures, timeout=0.2)
        stops = [f.result() for f in futures]
    for reason in ("interrupted", "time_limit", "error"):
        if reason in stops:
            return reason
    return "optimal"


def solve_mip(
    problem: Problem, options: SolveOptions, *, heuristic: bool = True, presolve: bool = True
) -> Certificate:
    """Certify the optimum of ``problem`` by MIP on HiGHS (see the module docstring).

    Parameters
    ----------
    problem : Problem
    options : SolveOptions
    heuristic : bool, default True
        Start from a gradient-descent network (a few seconds at most) polished on its
        activation pattern; its loss becomes the first objective cutoff.
    presolve : bool, default True
        Before the MILPs: one-node squared loss runs the activation branch and bound,
        two-layer networks with one feature enumerate activation patterns (each may
        settle the instance alone). False: the MILPs only.

    Returns
    -------
    Certificate
        The best network found, with the proven bound; its status is ``optimal`` only
        when the recomputed gap is within tolerance.
    """
    for name, value in (("heuristic", heuristic), ("presolve", presolve)):
        if not isinstance(value, bool):
            raise InvalidInputError(f"{name} must be True or False, got {value!r}")
    deadline = Deadline(options.time_limit)
    start = zero_network(problem.arch, problem.d, problem.width)
    search = _Search(problem, options, deadline, start)
    if options.warm_start is not None:
        search.offer(
            check_in_class(
                options.warm_start, problem.arch, problem.d, problem.width, problem.weight_bound
            )
        )
    squared = problem.loss == "squared"
    stop = "optimal"
    with trap_interrupts(search):
        if heuristic:
            heuristic_start(problem, options, search)
            search.long_start_due = problem.arch == "two-layer"
        presolved: dict[str, Any] = {}
        segments_per_sample = 0  # residual segments per sample (squared loss, d >= 3)
        cutoff_bounds = None
        if presolve and problem.arch == "one-node" and problem.loss == "squared":
            stop, cutoff_bounds, presolved = _presolve_one_node(search)
        elif presolve and problem.arch == "two-layer":
            stop, presolved = _presolve_two_layer(search)
        if presolved.get("closed"):
            cases = []
        else:
            # Convexity cuts: measured up to 11x faster on absolute and hinge loss (one-node
            # and two-layer), but about 2x slower on squared loss (benchmarks/README.md).
            formulations = build_formulations(
                problem, cutoff_bounds=cutoff_bounds, convexity_cuts=problem.loss != "squared"
            )
            if (
                squared
                and problem.arch == "two-layer"
                and problem.d >= RESIDUAL_SEGMENT_MIN_FEATURES
                and search.best_loss > 0
            ):
                # (1 + 1e-9): the incumbent's own residuals, |r_i| <= √loss, stay inside
                radius = math.sqrt(search.best_loss) * (1 + 1e-9) + 1e-12
                for formulation in formulations:
                    formulation.add_residual_segments(radius, RESIDUAL_SEGMENT_STEPS)
                segments_per_sample = 2 * RESIDUAL_SEGMENT_STEPS
            cases = [_Case(k, f, search) for k, f in enumerate(formulations)]
            search.case_of = {case.key: case for case in cases}
        search.shape_pruned = sum(case.prune_by_shape() for case in cases)
        build_seconds = deadline.elapsed()
        if squared:
            points = initial_tangent_points(problem)
            for case in cases:
                for point in points:
                    case.add_tangents(point)
        # With several sign cases, a short first visit to each finds a good incumbent
        # early; its cutoff then prunes most of the other cases' trees.
        open_cases = [c for c in cases if not c.closed]
        if len(open_cases) > 1:
            stop = _visit(open_cases, search, WARMUP_SECONDS)
        open_cases = [c for c in cases if not c.closed]
        workers = min(len(open_cases), options.threads or os.cpu_count() or 1)
        side_by_side = workers if stop == "optimal" and workers > 1 else 0
        if side_by_side:
            stop = _solve_side_by_side(open_cases, search, workers)
        while stop == "optimal" and not search.closed() and any(not c.closed for c in cases):
            stop = _visit([c for c in cases if not c.closed], search, np.inf)
        search.report(search.bound(), "finished", force=True, only_if_started=True)
    details = {
        "cases": len(cases),
        "mip_solves": search.mip_solves,
        "nodes": search.nodes,
        "pruned_by_cutoff": search.pruned,
        "polished": search.polished,
        "binaries": int(sum(len(c.formulation.model.s) for c in cases)),
        "build_seconds": round(build_seconds, 3),
        "cases_pruned_by_shape": search.shape_pruned,
        "cases_side_by_side": side_by_side,
        "incumbents_handed_to_running_milps": sum(c.user_solutions for c in cases),
        "rounds_restarted_for_a_better_cutoff": sum(c.restarts for c in cases),
        # per output-sign case (one-node: one): which case holds a time-limited solve back
        "case_summary": [case.summary() for case in cases],
    }
    if squared:
        details["tangent_cuts"] = search.tangents
        details["residual_segments"] = segments_per_sample
        details["underestimated_solutions"] = search.spurious
    if presolved:
        details["presolve"] = presolved
    return search.certificate(search.bound(), stop, "mip", details)
