"""Exact training by mixed-integer programming on HiGHS.

One MILP per output-sign case (one for one-node, ``width + 1`` for two-layer; see
:func:`~exactrelu.formulation.model.build_formulations`). The proven lower bound of
the class is the smallest bound over the cases; the incumbent is the best network
seen anywhere (warm start, every improving MIP solution, polished solutions).

Squared loss goes by outer approximation (SPEC §3), because HiGHS has no MIQP and no
lazy-constraint callback: each round solves the MILP with tangent cuts
``t_i >= 2 r̄ (y_i - f_i) - r̄²`` (a valid lower bound, as the tangents underestimate
the square), takes the activation pattern of its solution, solves the convex QP with
that pattern fixed (an upper bound), and adds tangents at both solutions' residuals.
Once a round's MILP picks a pattern whose QP optimum already carries its tangents,
the MILP value equals that QP value (first-order optimality of a convex program), so
the bounds meet; there are finitely many patterns, so the loop ends.

Ctrl-C and the time limit interrupt HiGHS through its callbacks; the best network and
the bound proven so far come back in the certificate with status ``interrupted`` or
``time_limit``. Nothing is lost, and no traceback is shown.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import highspy
import numpy as np

from exactrelu.certificate import Certificate, gap_closed, make_certificate, relative_gap
from exactrelu.data import Problem
from exactrelu.errors import SolverError
from exactrelu.fixed_pattern import fit_fixed_pattern, loss_monotone_in_activation
from exactrelu.formulation.model import Formulation, build_formulations
from exactrelu.network import Network, check_in_class, zero_network
from exactrelu.options import Deadline, SolveOptions
from exactrelu.solver.compile import CompiledModel
from exactrelu.solver.highs_util import quiet_highs

Status = highspy.HighsModelStatus
FEASIBILITY_TOLERANCE = 1e-9
# Outer-approximation rounds in a row that move neither bound before a case is given up
# on (numerical stalling; it does not happen on well-scaled data).
MAX_STALLED_ROUNDS = 5
# Seconds of the first visit to each sign case of a two-layer network.
WARMUP_SECONDS = 1.0
# Gradient-descent start: at most this many seconds, and this share of a time limit.
HEURISTIC_SECONDS = 2.0
HEURISTIC_SHARE = 0.1


@dataclass
class _Search:
    """State shared by the cases of one solve: incumbent, clock, interrupt flag."""

    problem: Problem
    options: SolveOptions
    deadline: Deadline
    best: Network
    best_loss: float
    interrupted: bool = False
    last_progress: float = 0.0
    nodes: int = 0
    mip_solves: int = 0
    polished: int = 0
    pruned: int = 0  # MILPs proved unable to beat the incumbent (infeasible under the cutoff)
    lower_bounds: dict[int, float] = field(default_factory=dict)

    def offer(self, network: Network) -> bool:
        """Keep ``network`` if its recomputed loss beats the incumbent."""
        loss = network.loss(self.problem.X, self.problem.y, self.problem.loss)
        if loss < self.best_loss:
            self.best, self.best_loss = network, loss
            return True
        return False

    def bound(self, current: tuple[int, float] | None = None) -> float:
        """Proven lower bound: the smallest case bound (0 is always valid: losses are >= 0)."""
        bounds = dict(self.lower_bounds)
        if current is not None:
            key, value = current
            bounds[key] = max(bounds.get(key, 0.0), value)
        return max(0.0, min(bounds.values())) if bounds else 0.0

    def report(
        self, note: str, current: tuple[int, float] | None = None, force: bool = False
    ) -> None:
        """Print a progress line on stderr every ``options.progress`` seconds."""
        every = self.options.progress
        if every is None:
            return
        now = self.deadline.elapsed()
        if not force and now - self.last_progress < every:
            return
        self.last_progress = now
        bound = min(self.bound(current), self.best_loss)
        gap = relative_gap(self.best_loss, bound)
        print(
            f"[{now:8.1f} s] best loss {self.best_loss:.10g}  bound {bound:.10g}  "
            f"gap {gap:.2e}  {note}",
            file=sys.stderr,
            flush=True,
        )


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
        self.has_integers = len(model.s) > 0
        self.highs = quiet_highs(search.options.threads, search.options.seed)
        self._configure()
        self.compiled.load(self.highs)
        self.closed = False
        self.rounds = 0
        self.stalls = 0
        self.last_progress: tuple[float, float] | None = None
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
        if options.log:
            highs.setOptionValue("output_flag", True)
            highs.setOptionValue("log_to_console", False)
            highs.cbLogging.subscribe(lambda e: print(e.message, end="", file=sys.stderr))
        highs.cbMipInterrupt.subscribe(self._on_interrupt_check)
        highs.cbSimplexInterrupt.subscribe(self._on_interrupt_check)
        highs.cbMipImprovingSolution.subscribe(self._on_improving_solution)

    # -- callbacks (called from inside HiGHS; must never raise) ---------------------
    def _on_interrupt_check(self, event) -> None:
        search = self.search
        if search.interrupted:
            event.interrupt()
            return
        if event.callback_type == highspy.cb.HighsCallbackType.kCallbackMipInterrupt:
            dual = event.data_out.mip_dual_bound
            current = (self.key, dual) if np.isfinite(dual) else None
            search.report(f"(case {self.label}, round {self.rounds + 1})", current)

    def _on_improving_solution(self, event) -> None:
        with contextlib.suppress(Exception):  # a callback must not throw into HiGHS
            self.search.offer(self.network_from_columns(np.asarray(event.data_out.mip_solution)))

    # -----------------------------------------------------------------------------
    @property
    def label(self) -> str:
        f = self.formulation
        if f.problem.arch == "one-node":
            return "one-node"
        return f"{f.positive_units} positive unit(s)"

    def network_from_columns(self, x: np.ndarray) -> Network:
        p = self.formulation.problem
        W = x[self.W_cols].reshape(p.width, p.d)
        b = x[self.b_cols]
        c = float(x[self.c_col]) if self.c_col is not None else 0.0
        return self.formulation.network(W, b, c)

    def warm_start(self, network: Network) -> bool:
        values = self.formulation.variable_values(network)
        if values is None:
            return False
        x = np.zeros(len(self.compiled.variables))
        for var, value in values.items():
            x[self.compiled.column[id(var)]] = value
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

    def polish(self, network: Network) -> Network | None:
        """:func:`_polish` with this case's output signs and free samples."""
        f = self.formulation
        free = f.monotone_samples if f.problem.arch == "one-node" else None
        return _polish(self.search, network, f.signs, free)

    def add_tangents(self, network: Network) -> int:
        """Tangent cuts at the residuals of ``network``; returns how many were added."""
        p = self.formulation.problem
        residuals = p.y - network.predict(p.X)
        new = self.formulation.add_tangents(residuals)
        self.compiled.add_rows(self.highs, new)
        return len(new)

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
        options = search.options
        proven_by_cutoff = cutoff - (options.rel_gap / 2 * abs(cutoff) + options.abs_gap / 2)
        highs.setOptionValue("objective_bound", float(cutoff))
        self.restrict_to_improvements(cutoff)
        self.warm_start(search.best) or self.warm_start(
            zero_network(search.problem.arch, search.problem.d, search.problem.width)
        )
        highs.run()
        self.rounds += 1
        search.mip_solves += 1
        status = highs.getModelStatus()
        info = highs.getInfo()
        if status in (Status.kInfeasible, Status.kObjectiveBound):
            # Without the cutoff restrictions the zero network is always feasible, so
            # this proves that no network of this case beats the incumbent.
            status, dual = Status.kOptimal, proven_by_cutoff
            search.pruned += 1
        elif self.has_integers:
            dual = info.mip_dual_bound
        else:  # a pure LP: its optimum is its bound
            dual = info.objective_function_value if status == Status.kOptimal else -np.inf
        search.nodes += max(0, int(info.mip_node_count))
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
        elif status == Status.kInterrupt:
            stop = "interrupted" if search.interrupted else "time_limit"
        else:
            stop = "error"
        return stop, network, x


@contextlib.contextmanager
def _trap_sigint(search: _Search) -> Iterator[None]:
    """Turn Ctrl-C into a flag the HiGHS callbacks and the round loop read."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        search.interrupted = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


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


def _heuristic_start(problem: Problem, options: SolveOptions, search: _Search) -> None:
    """Offer a gradient-descent network, polished on its activation pattern, as incumbent.

    A good incumbent early is worth much: its loss is the objective cutoff that lets
    HiGHS prune, and with several sign cases most of them are pruned outright.
    """
    from exactrelu.algorithms.gd import solve_gd

    budget = HEURISTIC_SECONDS
    if options.time_limit is not None:
        budget = min(budget, HEURISTIC_SHARE * options.time_limit)
    gd = solve_gd(
        problem, SolveOptions(time_limit=budget, seed=options.seed, warm_start=options.warm_start)
    )
    network = gd.network
    search.offer(network)
    if problem.arch == "one-node":
        _polish(search, network, None, loss_monotone_in_activation(problem.y, problem.loss))
    else:
        _polish(search, network, network.v, None)


def solve_mip(problem: Problem, options: SolveOptions, *, heuristic: bool = True) -> Certificate:
    """Certify the optimum of ``problem`` by MIP on HiGHS (see the module docstring).

    Parameters
    ----------
    problem : Problem
    options : SolveOptions
    heuristic : bool, default True
        Start from a gradient-descent network (a few seconds at most) polished on its
        activation pattern; its loss becomes the first objective cutoff.

    Returns
    -------
    Certificate
        The best network found, with the proven bound; its status is ``optimal`` only
        when the recomputed gap is within tolerance.
    """
    deadline = Deadline(options.time_limit)
    start = zero_network(problem.arch, problem.d, problem.width)
    search = _Search(
        problem, options, deadline, start, start.loss(problem.X, problem.y, problem.loss)
    )
    if options.warm_start is not None:
        search.offer(
            check_in_class(
                options.warm_start, problem.arch, problem.d, problem.width, problem.weight_bound
            )
        )
    squared = problem.loss == "squared"
    stop = "optimal"
    tangents = 0
    with _trap_sigint(search):
        if heuristic:
            _heuristic_start(problem, options, search)
        cases = [_Case(k, f, search) for k, f in enumerate(build_formulations(problem))]
        build_seconds = deadline.elapsed()
        if squared:
            for case in cases:
                for point in initial_tangent_points(problem):
                    new = case.formulation.add_tangents(point)
                    case.compiled.add_rows(case.highs, new)
                    tangents += len(new)
        first_round = True
        while stop == "optimal":
            open_cases = [c for c in cases if not c.closed]
            if not open_cases:
                break
            # With several sign cases, a short first visit to each finds a good incumbent
            # early; its cutoff then prunes most of the other cases' trees.
            cap = WARMUP_SECONDS if first_round and len(open_cases) > 1 else np.inf
            first_round = False
            for case in open_cases:
                if search.interrupted:
                    stop = "interrupted"
                elif deadline.expired():
                    stop = "time_limit"
                if stop != "optimal":
                    break
                stop, network, _ = case.run(cap)
                if stop == "capped":
                    stop = "optimal"  # keep going: this case is simply not finished
                    if network is not None and squared:
                        case.polish(network)
                    continue
                if squared and network is not None:
                    added = case.add_tangents(network)
                    polished = case.polish(network)
                    if polished is not None:
                        added += case.add_tangents(polished)
                    tangents += added
                    stuck = added == 0
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
                    case.closed = True
                search.report(f"(case {case.label}, round {case.rounds} done)")
                if gap_closed(search.best_loss, search.bound(), options.rel_gap, options.abs_gap):
                    break
            if gap_closed(search.best_loss, search.bound(), options.rel_gap, options.abs_gap):
                break
        if search.last_progress > 0:  # close a progress report that was started
            search.report("finished", force=True)
    details = {
        "cases": len(cases),
        "mip_solves": search.mip_solves,
        "nodes": search.nodes,
        "pruned_by_cutoff": search.pruned,
        "polished": search.polished,
        "binaries": int(sum(len(c.formulation.model.s) for c in cases)),
        "build_seconds": round(build_seconds, 3),
    }
    if squared:
        details["tangent_cuts"] = tangents
    return make_certificate(
        problem,
        search.best,
        bound=search.bound(),
        stop=stop,
        seconds=deadline.elapsed(),
        method="mip",
        rel_gap=options.rel_gap,
        abs_gap=options.abs_gap,
        details=details,
    )


def _polish(
    search: _Search, network: Network, signs: np.ndarray | None, free: np.ndarray | None
) -> Network | None:
    """The convex program with ``network``'s activation pattern fixed (an upper bound).

    Offers the result as incumbent and returns it; None when HiGHS fails on it (the
    incumbent stays valid without polishing).
    """
    problem = search.problem
    try:
        polished, _ = fit_fixed_pattern(problem, network.activation_pattern(problem.X), signs, free)
    except SolverError:
        return None
    search.polished += 1
    search.offer(polished)
    return polished
