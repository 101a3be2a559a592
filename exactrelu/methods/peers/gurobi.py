"""Gurobi (gurobipy) on the plain big-M model: squared loss as an MIQP, others as a MILP.

A thin adapter: it writes each sign case's
:class:`~exactrelu.methods.peers.big_m.BigMModel` into Gurobi (columns with
``addMVar``, one linear row each, squared loss as ``Σ r_i²`` in the activations and
``c``, with no residual columns) and :func:`~exactrelu.methods.peers.driver.solve_by_cases`
runs the cases, handing the best loss so far to later cases as Gurobi's ``Cutoff``.
The ``gurobipy`` wheel on PyPI carries a size-limited licence (200 variables with a
quadratic objective, 2000 variables and constraints otherwise); larger models are
refused with :class:`GurobiSizeLimitError`, which the benchmark harness reports as a
skip with a note rather than a failure.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np

from exactrelu.certificate import Certificate, Stop
from exactrelu.errors import ExactReLUError, MissingDependencyError, import_optional
from exactrelu.methods.peers.big_m import BigMModel
from exactrelu.methods.peers.driver import CaseResult, solve_by_cases
from exactrelu.options import Deadline, SolveOptions
from exactrelu.problem import Problem

# Gurobi's error code for "Model too large for size-limited license".
SIZE_LIMIT_ERRNO = 10010


class GurobiSizeLimitError(ExactReLUError):
    """Gurobi's licence refuses a model of this size (not a bug, not bad input)."""


def solve_gurobi(problem: Problem, options: SolveOptions) -> Certificate:
    """Solve ``problem`` with Gurobi on the plain big-M model; returns a certificate.

    Raises
    ------
    GurobiSizeLimitError
        The licence found by gurobipy does not allow a model this large.
    """
    gp = import_optional("gurobipy", "gurobi", "the Gurobi peer solver")
    deadline = Deadline(options.time_limit)
    env = _start_env(gp, options.log)
    try:
        return solve_by_cases(
            problem,
            options,
            method="gurobi",
            solve_case=partial(_solve_case, gp, env),
            takes_cutoff=True,
            deadline=deadline,
        )
    finally:
        env.dispose()


def _start_env(gp, log: bool):
    """A Gurobi environment (one licence check for all cases)."""
    try:
        env = gp.Env(empty=True)
        env.setParam("OutputFlag", 1 if log else 0)
        env.start()
    except gp.GurobiError as exc:  # no licence at all is a missing dependency too
        raise MissingDependencyError(
            "gurobipy (with a licence)", "gurobi", f"the Gurobi peer solver ({exc})"
        ) from None
    return env


def _solve_case(
    gp, env, model: BigMModel, options: SolveOptions, time_limit: float | None, cutoff: float | None
) -> CaseResult:
    """One sign case in Gurobi (a :data:`~exactrelu.methods.peers.driver.CaseSolver`)."""
    m = gp.Model(env=env)
    try:
        _configure(m, options, time_limit, cutoff)
        x = _write(gp, m, model)
        _optimize(gp, m)
        return _result(gp, m, model, x)
    finally:
        m.dispose()


def _configure(m, options: SolveOptions, time_limit: float | None, cutoff: float | None) -> None:
    if time_limit is not None:
        m.Params.TimeLimit = max(time_limit, 1e-3)
    # half the certificate's tolerance: the other half is for the float64 recomputation
    m.Params.MIPGap = options.rel_gap / 2
    m.Params.MIPGapAbs = options.abs_gap / 2
    m.Params.Seed = options.seed
    if options.threads is not None:
        m.Params.Threads = options.threads
    if cutoff is not None:
        m.Params.Cutoff = cutoff


def _write(gp, m, model: BigMModel):
    """Columns, rows and objective of ``model`` in ``m``; returns the column vector (MVar)."""
    vtype = np.where(model.integer, gp.GRB.BINARY, gp.GRB.CONTINUOUS)
    x = m.addMVar(
        model.num_col,
        lb=np.maximum(model.col_lower, -gp.GRB.INFINITY),
        ub=np.minimum(model.col_upper, gp.GRB.INFINITY),
        vtype=vtype,
    )
    columns = x.tolist()
    start, index, value, lower, upper = model.row_matrix()
    for r in range(lower.size):
        span = slice(start[r], start[r + 1])
        expr = gp.LinExpr(value[span].tolist(), [columns[k] for k in index[span]])
        for sense, rhs in _sides(gp, lower[r], upper[r]):
            m.addLConstr(expr, sense, rhs)
    m.setObjective(_objective(gp, model, columns), gp.GRB.MINIMIZE)
    return x


def _sides(gp, lower: float, upper: float) -> list[tuple[str, float]]:
    """The finite sides of ``lower <= row <= upper`` as (sense, right-hand side)."""
    if lower == upper:
        return [(gp.GRB.EQUAL, float(lower))]
    sides = []
    if math.isfinite(lower):
        sides.append((gp.GRB.GREATER_EQUAL, float(lower)))
    if math.isfinite(upper):
        sides.append((gp.GRB.LESS_EQUAL, float(upper)))
    return sides


def _objective(gp, model: BigMModel, columns: list) -> Any:
    """``cost·x`` plus, for squared loss, ``Σ_i r_i²`` with ``r_i`` a linear expression."""
    used = np.flatnonzero(model.cost)
    objective = gp.QuadExpr(gp.LinExpr(model.cost[used].tolist(), [columns[k] for k in used]))
    if model.residuals is not None:
        start, index, value = model.residual_matrix()
        for i, offset in enumerate(model.residuals.offset):
            span = slice(start[i], start[i + 1])
            r = float(offset) - gp.LinExpr(value[span].tolist(), [columns[k] for k in index[span]])
            objective += r * r
    return objective


def _optimize(gp, m) -> None:
    try:
        m.optimize()
    except gp.GurobiError as exc:
        if getattr(exc, "errno", None) == SIZE_LIMIT_ERRNO:
            raise GurobiSizeLimitError(
                f"Gurobi's licence refuses this model ({m.NumVars} variables, "
                f"{m.NumConstrs} constraints, objective "
                f"{'quadratic' if m.IsQP else 'linear'}): {exc}"
            ) from None
        raise


def _result(gp, m, model: BigMModel, x) -> CaseResult:
    code = m.Status
    stop, status = _statuses(gp).get(code, (Stop.ERROR, f"status {code}"))
    if code == gp.GRB.CUTOFF:
        bound = math.inf  # proven: nothing in this case beats the cutoff
    else:
        try:
            bound = float(m.ObjBound)
        except gp.GurobiError:  # not available (no tree search, say)
            bound = None
    network = model.network(x.X) if m.SolCount > 0 else None
    return CaseResult(bound, network, stop, status, int(m.NodeCount))


def _statuses(gp) -> dict[int, tuple[Stop, str]]:
    """Gurobi's status codes: why the solver stopped, and a name for the details."""
    GRB = gp.GRB
    return {
        GRB.OPTIMAL: (Stop.FINISHED, "optimal"),
        GRB.CUTOFF: (Stop.FINISHED, "cutoff"),
        GRB.TIME_LIMIT: (Stop.TIME_LIMIT, "time_limit"),
        GRB.INTERRUPTED: (Stop.INTERRUPTED, "interrupted"),
    }
