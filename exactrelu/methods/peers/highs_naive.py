"""The naive baseline: HiGHS on the plain big-M model, with none of exactrelu's tightening.

This is the model a newcomer would write: the shared
:class:`~exactrelu.methods.peers.big_m.BigMModel` of each sign case (every sample and
unit a binary, the box big-M), solved case after case by
:func:`~exactrelu.methods.peers.driver.solve_by_cases`. Nothing of exactrelu's
formulation is reused: no binary-free samples, no warm start, no heuristic incumbent,
no objective cutoff (not even between cases), no convexity cuts. It exists to measure
what those are worth.

HiGHS has no MIQP, so squared loss goes by the plainest outer approximation: epigraph
columns ``t_i >= 0`` with tangent cuts ``t_i >= 2 r̄ r_i - r̄²``
(:func:`~exactrelu.convex.tangents.tangent_rows`), first at ``r̄ = y_i``; each round's
MILP value is a proven lower bound for the case; the textbook OA step (Duran &
Grossmann) solves the convex QP with the MILP's activation pattern fixed for an upper
bound, and tangents at both solutions' residuals are added until the bounds meet
(finite: finitely many patterns, and a pattern whose QP optimum already carries its
tangents has MILP value equal to its true loss).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import highspy
import numpy as np

from exactrelu.certificate import Certificate, Stop, gap_closed
from exactrelu.convex.tangents import tangent_rows
from exactrelu.highs.matrix import INF, SparseRows, add_rows, pass_model
from exactrelu.highs.mip import configure_exact_mip, log_to_stderr
from exactrelu.highs.quiet import FEASIBLE_SOLUTION, quiet_highs
from exactrelu.methods.peers.big_m import BigMModel
from exactrelu.methods.peers.driver import CaseResult, solve_by_cases
from exactrelu.network.networks import Network
from exactrelu.options import Deadline, SolveOptions
from exactrelu.problem import Problem

# Rounds of the squared-loss loop in which no new tangent is violated by more than this
# are final (the MILP's residual model agrees with the true loss to this precision).
TANGENT_VIOLATION = 1e-9

_STOPS = {
    highspy.HighsModelStatus.kOptimal: Stop.FINISHED,
    highspy.HighsModelStatus.kTimeLimit: Stop.TIME_LIMIT,
    highspy.HighsModelStatus.kInterrupt: Stop.INTERRUPTED,
}


def solve_highs_naive(problem: Problem, options: SolveOptions) -> Certificate:
    """Solve ``problem`` with HiGHS on the plain big-M model; returns a certificate.

    Parameters
    ----------
    problem : Problem
    options : SolveOptions
        ``time_limit``, ``rel_gap``, ``abs_gap``, ``threads``, ``seed`` and ``log`` are
        used; ``warm_start`` is ignored on purpose (the baseline is naive).
    """
    return solve_by_cases(
        problem,
        options,
        method="highs-naive",
        solve_case=_solve_case,
        takes_cutoff=False,
        deadline=Deadline(options.time_limit),
    )


@dataclass
class _Case:
    """One sign case's MILP loaded in HiGHS, with the best network it has led to."""

    model: BigMModel
    highs: highspy.Highs
    t: np.ndarray | None  # epigraph columns of the squares (squared loss)
    best: Network | None = None
    best_loss: float = math.inf
    bound: float | None = None
    nodes: int = 0
    rounds: int = 0
    stop: Stop = Stop.FINISHED
    status: str = ""

    def offer(self, network: Network | None) -> None:
        if network is None:
            return
        problem = self.model.problem
        loss = network.loss(problem.X, problem.y, problem.loss)
        if loss < self.best_loss:
            self.best, self.best_loss = network, loss


def _solve_case(
    model: BigMModel, options: SolveOptions, time_limit: float | None, cutoff: float | None
) -> CaseResult:
    """One sign case in HiGHS (a :data:`~exactrelu.methods.peers.driver.CaseSolver`).

    ``cutoff`` is always None: the naive baseline takes none.
    """
    case = _load(model, options)
    deadline = Deadline(time_limit)
    while _round(case, options, deadline):
        pass
    return CaseResult(
        case.bound, case.best, case.stop, case.status, case.nodes, {"rounds": case.rounds}
    )


def _load(model: BigMModel, options: SolveOptions) -> _Case:
    """The case's MILP in a fresh HiGHS; squared loss with ``t_i`` and tangents at ``r̄ = y_i``."""
    highs = quiet_highs(options.threads, options.seed)
    if options.log:
        log_to_stderr(highs)
    # Not tightening but honesty: with HiGHS's default 1e-6 feasibility tolerances every
    # big-M row may bend by 1e-6 and the bound drifts by about n·|r|·1e-6, more than the
    # certificate's 1e-6 relative gap; the squared-loss loop then never closes.
    configure_exact_mip(highs, rel_gap=options.rel_gap, abs_gap=options.abs_gap)
    block = SparseRows()
    block.extend(model.rows)
    cost, lower, upper = model.cost, model.col_lower, model.col_upper
    t = None
    if model.residuals is not None:
        n = model.residuals.offset.size
        t = np.arange(model.num_col, model.num_col + n)
        block.extend(tangent_rows(model.residuals.offset, t, model.residuals))
        cost = np.r_[cost, np.ones(n)]
        lower, upper = np.r_[lower, np.zeros(n)], np.r_[upper, np.full(n, INF)]
    integrality = np.r_[model.integer, np.zeros(cost.size - model.num_col, bool)].astype(int)
    pass_model(highs, cost, lower, upper, block, integrality=integrality)
    return _Case(model, highs, t)


def _round(case: _Case, options: SolveOptions, deadline: Deadline) -> bool:
    """Solve the MILP once; True when another outer-approximation round is due."""
    highs = case.highs
    if deadline.limit is not None:
        if deadline.expired():
            case.stop = Stop.TIME_LIMIT
            return False
        highs.setOptionValue("time_limit", max(deadline.remaining(), 1e-3))
    highs.run()
    case.rounds += 1
    info = highs.getInfo()
    status = highs.getModelStatus()
    case.status = highs.modelStatusToString(status)
    case.nodes += int(info.mip_node_count)
    if np.isfinite(info.mip_dual_bound):
        case.bound = max(case.bound or 0.0, float(info.mip_dual_bound))
    x = None
    if info.primal_solution_status == FEASIBLE_SOLUTION:
        x = np.asarray(highs.getSolution().col_value)
        case.offer(case.model.network(x[: case.model.num_col]))
    case.stop = _STOPS.get(status, Stop.ERROR)
    if case.stop is not Stop.FINISHED or case.t is None or x is None:
        return False
    return not _closed(case, options) and _add_tangents(case, x, options)


def _closed(case: _Case, options: SolveOptions) -> bool:
    return gap_closed(case.best_loss, case.bound, options.rel_gap, options.abs_gap)


def _add_tangents(case: _Case, x: np.ndarray, options: SolveOptions) -> bool:
    """Textbook outer approximation (Duran & Grossmann): tangents at the residuals of the
    MILP's network and of the convex QP with its activation pattern fixed (an upper bound;
    Kelley cuts at the MILP point alone converge only asymptotically). False when the
    case is closed or no tangent is violated (the MILP's model of the loss is exact)."""
    problem = case.model.problem
    mip_network = case.model.network(x[: case.model.num_col])
    polished = _fixed_pattern_fit(problem, mip_network)
    case.offer(polished)
    if _closed(case, options):
        return False
    t_values = x[case.t]
    added = 0
    for candidate in (mip_network, polished):
        if candidate is None:
            continue
        residuals = problem.y - candidate.predict(problem.X)
        violated = np.flatnonzero(residuals**2 - t_values > TANGENT_VIOLATION)
        if violated.size:
            add_rows(case.highs, tangent_rows(residuals, case.t, case.model.residuals, violated))
        added += violated.size
    return added > 0


def _fixed_pattern_fit(problem: Problem, network: Network) -> Network | None:
    """The convex QP with ``network``'s activation pattern and output signs fixed."""
    from exactrelu.convex.fixed_pattern import fit_fixed_pattern

    try:
        fitted, _, _ = fit_fixed_pattern(
            problem, network.activation_pattern(problem.X), getattr(network, "v", None)
        )
    except Exception:  # an upper bound is a bonus: the MILP bounds stay valid without it
        return None
    return fitted
