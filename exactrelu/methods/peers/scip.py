"""SCIP (pyscipopt) on the plain big-M model: squared loss as an MIQP, others as a MILP.

An independent oracle and a baseline: a thin adapter that writes each sign case's
:class:`~exactrelu.methods.peers.big_m.BigMModel` into SCIP;
:func:`~exactrelu.methods.peers.driver.solve_by_cases` runs the cases and hands the
best loss so far to later cases as SCIP's objective limit (``setObjlimit``: nodes
whose bound reaches it are pruned; ``limits/objstop`` would instead stop at the first
solution below it). Squared loss minimises ``Σ_i t_i`` with one small convex quadratic
constraint ``t_i >= r_i²`` per sample, ``r_i`` an expression in the activations and
``c``: pyscipopt aborts ("free(): invalid size") on the single large quadratic of
n = 1000, d = 10, and SCIP takes no quadratic objective.
"""

from __future__ import annotations

import math
from functools import partial

from exactrelu.certificate import Certificate, Stop
from exactrelu.errors import import_optional
from exactrelu.highs.mip import EXACT_FEASIBILITY_TOLERANCE
from exactrelu.methods.peers.big_m import BigMModel
from exactrelu.methods.peers.driver import CaseResult, solve_by_cases
from exactrelu.options import Deadline, SolveOptions
from exactrelu.problem import Problem


def solve_scip(problem: Problem, options: SolveOptions) -> Certificate:
    """Solve ``problem`` with SCIP on the plain big-M model; returns a certificate."""
    scip = import_optional("pyscipopt", "scip", "the SCIP peer solver")
    return solve_by_cases(
        problem,
        options,
        method="scip",
        solve_case=partial(_solve_case, scip),
        takes_cutoff=True,
        deadline=Deadline(options.time_limit),
    )


def _solve_case(
    scip, model: BigMModel, options: SolveOptions, time_limit: float | None, cutoff: float | None
) -> CaseResult:
    """One sign case in SCIP (a :data:`~exactrelu.methods.peers.driver.CaseSolver`)."""
    m = scip.Model()
    _configure(m, options, time_limit)
    if model.residuals is not None:
        # SCIP enforces t_i >= r_i² by cuts and accepts a point once the violation is
        # below its tolerance (1e-6): each t_i then sits up to 1e-6 below r_i², and the
        # bound drifts by about n·1e-6, more than the certificate's 1e-6 relative gap.
        # Linear rows hold at LP vertices; tightening them too only costs (measured:
        # 437 -> 490 nodes on misspecified n = 200, d = 5, absolute loss).
        m.setParam("numerics/feastol", EXACT_FEASIBILITY_TOLERANCE)
    x = _write(scip, m, model)
    if cutoff is not None:
        m.setObjlimit(cutoff)
    m.optimize()
    return _result(m, model, x, cutoff)


def _configure(m, options: SolveOptions, time_limit: float | None) -> None:
    m.hideOutput(not options.log)
    if time_limit is not None:
        m.setParam("limits/time", max(time_limit, 1e-3))
    # half the certificate's tolerance: the other half is for the float64 recomputation
    m.setParam("limits/gap", options.rel_gap / 2)
    m.setParam("limits/absgap", options.abs_gap / 2)
    m.setParam("randomization/randomseedshift", options.seed)


def _write(scip, m, model: BigMModel) -> list:
    """Columns, rows and objective of ``model`` in ``m``; returns the column variables."""
    x = [
        m.addVar(
            lb=lower if math.isfinite(lower) else None,
            ub=upper if math.isfinite(upper) else None,
            vtype="B" if integer else "C",
        )
        for lower, upper, integer in zip(
            model.col_lower.tolist(), model.col_upper.tolist(), model.integer.tolist(), strict=True
        )
    ]
    start, index, value, lower, upper = model.row_matrix()
    for r in range(lower.size):
        expr = _linear(scip, x, index[start[r] : start[r + 1]], value[start[r] : start[r + 1]])
        if lower[r] == upper[r]:
            m.addCons(expr == float(lower[r]))
            continue
        if math.isfinite(lower[r]):
            m.addCons(expr >= float(lower[r]))
        if math.isfinite(upper[r]):
            m.addCons(expr <= float(upper[r]))
    m.setObjective(_objective(scip, m, model, x), "minimize")
    return x


def _linear(scip, x: list, index, value):
    return scip.quicksum(v * x[k] for k, v in zip(index.tolist(), value.tolist(), strict=True))


def _objective(scip, m, model: BigMModel, x: list):
    """``cost·x``, plus ``Σ_i t_i`` with ``t_i >= r_i²`` for squared loss."""
    used = [k for k, v in enumerate(model.cost.tolist()) if v]
    objective = scip.quicksum(float(model.cost[k]) * x[k] for k in used)
    if model.residuals is None:
        return objective
    start, index, value = model.residual_matrix()
    for i, offset in enumerate(model.residuals.offset.tolist()):
        t = m.addVar(lb=0.0)
        r = offset - _linear(
            scip, x, index[start[i] : start[i + 1]], value[start[i] : start[i + 1]]
        )
        m.addCons(r * r <= t)
        objective += t
    return objective


_STOPS = {
    "optimal": Stop.FINISHED,
    "gaplimit": Stop.FINISHED,
    "timelimit": Stop.TIME_LIMIT,
    "userinterrupt": Stop.INTERRUPTED,
}


def _result(m, model: BigMModel, x: list, cutoff: float | None) -> CaseResult:
    status = m.getStatus()
    stop = _STOPS.get(status, Stop.ERROR)
    bound = m.getDualbound()
    if status == "infeasible" and cutoff is not None:
        # the plain model always holds the zero network: nothing beats the objective limit
        stop, bound = Stop.FINISHED, math.inf
    elif abs(bound) >= m.infinity():
        bound = None
    network = None
    if m.getNSols() > 0:
        solution = m.getBestSol()
        network = model.network([solution[var] for var in x])
    return CaseResult(bound, network, stop, status, int(m.getNNodes()))
