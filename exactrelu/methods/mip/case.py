"""One output-sign case of a MIP solve: its MILP in its own HiGHS instance, and its rounds.

A case holds the Pyomo formulation of one sign case compiled into HiGHS, runs its MILP
with the incumbent's loss as the objective cutoff, and talks to the running tree through
HiGHS's callbacks: progress lines, Ctrl-C, improving solutions (offered to the shared
incumbent), better incumbents found elsewhere (handed to the tree as user solutions),
and a restart when a much better cutoff cannot be handed over.
"""

from __future__ import annotations

import contextlib
from typing import Any

import highspy
import numpy as np

from exactrelu.convex.convex_regression import shape_constrained_bound
from exactrelu.formulation.model import Formulation
from exactrelu.highs.compile import CompiledModel
from exactrelu.highs.mip import (
    configure_exact_mip,
    is_mip_check,
    log_to_stderr,
    set_solution,
    subscribe,
)
from exactrelu.highs.quiet import FEASIBLE_SOLUTION, quiet_highs
from exactrelu.methods.mip.state import SearchState
from exactrelu.methods.search import StageEnd, below_cutoff
from exactrelu.network.networks import Network, zero_network

Status = highspy.HighsModelStatus
CLOSED_BY_MILP = "milp"
CLOSED_BY_SHAPE = "convexity bound"
# HiGHS's primal heuristics that run at the root even with heuristic effort 0.
ROOT_HEURISTICS = (
    "mip_heuristic_run_rins",
    "mip_heuristic_run_rens",
    "mip_heuristic_run_root_reduced_cost",
    "mip_heuristic_run_feasibility_jump",
)


class SignCase:
    """One MILP (one output-sign case) loaded into its own HiGHS instance."""

    def __init__(self, key: int, formulation: Formulation, search: SearchState) -> None:
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
        self.closed_by: str | None = None  # CLOSED_BY_MILP or CLOSED_BY_SHAPE once closed
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
        configure_exact_mip(highs, rel_gap=options.rel_gap, abs_gap=options.abs_gap)
        # HiGHS's primal heuristics solve sub-MIPs that never call the interrupt callback:
        # with them a stop could wait half a minute; the search has its own incumbents
        # (heuristic start, polishing) and was measured no slower without them.
        highs.setOptionValue("mip_heuristic_effort", 0.0)
        if self.formulation.problem.arch == "one-node":
            # Effort 0 leaves the root's heuristics on; on one-node problems they took up
            # to half the time (sub-MIPs finding nothing better than the start): off, the
            # same trees in 0.45-0.85x the time. On two-layer ones the effect was mixed
            # (0.74x to 1.2x), and they keep them.
            for heuristic in ROOT_HEURISTICS:
                highs.setOptionValue(heuristic, False)
        if self.formulation.problem.arch == "two-layer":
            # Cuts separated inside the tree cost more LP time than they save on these
            # big-M relaxations (measured on two-layer instances; one-node ones are equal
            # either way and keep HiGHS's default).
            highs.setOptionValue("mip_allow_cut_separation_at_nodes", False)
        if options.log:
            log_to_stderr(highs)
        subscribe(
            highs,
            check=self.on_interrupt_check,
            improving_solution=self.on_improving_solution,
            user_solution=self.on_user_solution,
        )

    # -- callbacks (called from inside HiGHS; must never raise) ---------------------
    def on_interrupt_check(self, event) -> None:
        search = self.search
        if search.interrupted:
            event.interrupt()
            return
        if not self.restart_requested:
            # HiGHS keeps the flag from an earlier run (a restarted round) and would stop
            # the next run at once: clear it.
            event.interrupt(False)
        if is_mip_check(event):
            dual = event.data_out.mip_dual_bound
            if np.isfinite(dual):
                self.live_dual = dual
            search.progress(self.progress_note)
            with contextlib.suppress(Exception):  # a callback must not throw into HiGHS
                search.long_start()
                if self.restart_pays():
                    self.restart_requested = True
                    event.interrupt()

    def _incumbent_columns(self) -> tuple[float, np.ndarray | None]:
        """The incumbent's loss and its column values in this case (None: other signs)."""
        with self.search.lock:
            best, loss = self.search.best, self.search.best_loss
        if loss != self.columns_of[0]:
            self.columns_of = (loss, self.column_values(best))
        return self.columns_of

    def on_user_solution(self, event) -> None:
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

    def restart_pays(self) -> bool:
        """The incumbent beats the running tree's cutoff by ``settings.restart_gain`` and
        cannot be handed to it (its output signs belong to another case), and the round
        is younger than ``settings.restart_window`` seconds: restart it."""
        settings = self.search.settings
        if self.search.deadline.elapsed() - self.round_started > settings.restart_window:
            return False
        loss, x = self._incumbent_columns()
        gain = settings.restart_gain
        return x is None and loss < self.handed_over - gain * abs(self.handed_over)

    def on_improving_solution(self, event) -> None:
        with contextlib.suppress(Exception):  # a callback must not throw into HiGHS
            network = self.network_from_columns(np.asarray(event.data_out.mip_solution))
            if self.search.offer(network):
                # the tree has it (at its modelled loss, never above the true one)
                self.handed_over = min(self.handed_over, self.search.best_loss)
                return
            problem = self.formulation.problem
            if problem.loss != "squared" or problem.arch != "two-layer":
                # Two-layer only: a one-node MILP starts from the presolve's incumbent,
                # often optimal already, and its tree (HiGHS's heuristics off) reports a
                # run of small improvements, all "underestimated"; tangents at each made
                # the next round's LP 2.4x larger for nothing (docs/decisions.md).
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
        return x is not None and set_solution(self.highs, x)

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
        (:mod:`~exactrelu.convex.convex_regression`). Returns True when that bound exceeds the
        incumbent's loss, so that the case needs no MILP.
        """
        problem = self.formulation.problem
        positive = self.formulation.positive_units
        if not self.search.settings.convexity_bound:
            return False
        if problem.arch != "two-layer" or positive not in (0, problem.width):
            return False
        sign = 1.0 if positive == problem.width else -1.0
        search = self.search
        value = shape_constrained_bound(
            problem,
            sign,
            search.options.threads,
            time_limit=search.deadline.remaining(),
            interrupted=lambda: search.interrupted,
        )
        # HiGHS solves it to its own tolerances: keep a safety margin below its value
        margin = self.search.settings.shape_margin
        self.shape_bound = value * (1 - margin) - margin
        self.search.lower_bounds[self.key] = max(
            self.search.lower_bounds[self.key], self.shape_bound
        )
        return self.closed_by_shape()

    def closed_by_shape(self) -> bool:
        """Close the case if its convexity bound exceeds the incumbent (which may improve)."""
        if self.shape_bound > self.search.best_loss and not self.closed:
            self.closed_by = CLOSED_BY_SHAPE
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

    def run(self, cap: float = np.inf) -> tuple[StageEnd, Network | None]:
        """Solve the MILP once, for at most ``cap`` seconds.

        Returns how it ended (``CAPPED`` when ``cap`` ran out before the overall time
        limit, or when it stopped to restart with a better cutoff) and its best network.
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
        network = None
        if info.primal_solution_status == FEASIBLE_SOLUTION:
            network = self.network_from_columns(np.asarray(highs.getSolution().col_value))
            search.offer(network)
        if status == Status.kOptimal:
            end = StageEnd.FINISHED
        elif status == Status.kTimeLimit:
            expired = search.deadline.expired()
            end = StageEnd.CAPPED if capped and not expired else StageEnd.TIME_LIMIT
        elif status == Status.kInterrupt and search.interrupted:
            end = StageEnd.INTERRUPTED
        elif status == Status.kInterrupt and self.restart_requested:
            end = StageEnd.CAPPED  # to be run again, with the better cutoff
            self.restarts += 1
        elif status == Status.kInterrupt:
            end = StageEnd.TIME_LIMIT
        else:
            end = StageEnd.ERROR
            search.reason = (
                f"HiGHS ended the MILP of {self.name()} with model status "
                f"'{highs.modelStatusToString(status)}'; the network is the best one found "
                "and the bound what was proven before; this is usually numerical: rescale "
                "the data (features and targets of magnitude about 1) or try --method enumerate"
            )
        return end, network

    def name(self) -> str:
        """How messages name this case."""
        f = self.formulation
        if f.problem.arch == "one-node":
            return "the one-node model"
        return f"the sign case with {f.positive_units} output weights +1"
