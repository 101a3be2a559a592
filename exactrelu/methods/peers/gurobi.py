"""Gurobi (gurobipy) on the plain big-M model: squared loss as an MIQP, others as a MILP.

The same model as the SCIP peer (:mod:`exactrelu.methods.peers.scip`): a binary and the box
big-M ``B(‖x_i‖₁ + 1)`` per sample and unit, output signs as binaries. The ``gurobipy``
wheel on PyPI carries a size-limited licence (2000 variables and 2000 constraints);
larger models are refused with :class:`GurobiSizeLimitError`, which the benchmark
harness reports as a skip with a note rather than a failure.
"""

from __future__ import annotations

import time

import numpy as np

from exactrelu.certificate import Certificate, Stop, make_certificate
from exactrelu.errors import ExactReLUError, MissingDependencyError
from exactrelu.network.networks import Network, OneNodeNetwork, TwoLayerNetwork, zero_network
from exactrelu.options import SolveOptions
from exactrelu.problem import Problem

# Gurobi's error code for "Model too large for size-limited license".
SIZE_LIMIT_ERRNO = 10010


class GurobiSizeLimitError(ExactReLUError):
    """Gurobi's licence refuses a model of this size (not a bug, not bad input)."""


def _import_gurobi():
    try:
        import gurobipy
    except ImportError:
        raise MissingDependencyError("gurobipy", "gurobi", "the Gurobi peer solver") from None
    return gurobipy


def solve_gurobi(problem: Problem, options: SolveOptions) -> Certificate:
    """Solve ``problem`` with Gurobi on the plain big-M model; returns a certificate.

    Raises
    ------
    GurobiSizeLimitError
        The licence found by gurobipy does not allow a model this large.
    """
    gp = _import_gurobi()
    start = time.perf_counter()
    X, y = problem.X, problem.y
    n, d, h, B = problem.n, problem.d, problem.width, problem.weight_bound
    two_layer = problem.arch == "two-layer"
    U = B * (np.abs(X).sum(axis=1) + (1.0 if problem.bias else 0.0))
    try:
        env = gp.Env(empty=True)
        env.setParam("OutputFlag", 1 if options.log else 0)
        env.start()
    except gp.GurobiError as exc:  # no licence at all is a missing dependency too
        raise MissingDependencyError(
            "gurobipy (with a licence)", "gurobi", f"the Gurobi peer solver ({exc})"
        ) from None
    m = gp.Model(env=env)
    if options.time_limit is not None:
        m.Params.TimeLimit = options.time_limit
    m.Params.MIPGap = options.rel_gap / 2
    m.Params.MIPGapAbs = options.abs_gap / 2
    m.Params.Seed = options.seed
    if options.threads is not None:
        m.Params.Threads = options.threads
    bias_bound = B if problem.bias else 0.0
    W = m.addVars(h, d, lb=-B, ub=B)
    bb = m.addVars(h, lb=-bias_bound, ub=bias_bound)
    a = m.addVars(n, h, lb=0.0, ub={(i, j): float(U[i]) for i in range(n) for j in range(h)})
    s = m.addVars(n, h, vtype=gp.GRB.BINARY)
    f = []
    if two_layer:
        c = m.addVar(lb=-gp.GRB.INFINITY)
        sigma = m.addVars(h, vtype=gp.GRB.BINARY)
        q = m.addVars(n, h, lb=0.0)
    for i in range(n):
        for j in range(h):
            z = gp.quicksum(float(X[i, k]) * W[j, k] for k in range(d)) + bb[j]
            m.addConstr(a[i, j] >= z)
            m.addConstr(a[i, j] <= z + float(U[i]) * (1 - s[i, j]))
            m.addConstr(a[i, j] <= float(U[i]) * s[i, j])
        if two_layer:
            for j in range(h):  # q = σ a, so v a = 2q - a
                m.addConstr(q[i, j] <= a[i, j])
                m.addConstr(q[i, j] <= float(U[i]) * sigma[j])
                m.addConstr(q[i, j] >= a[i, j] - float(U[i]) * (1 - sigma[j]))
            f.append(gp.quicksum(2 * q[i, j] - a[i, j] for j in range(h)) + c)
        else:
            f.append(a[i, 0])
    if problem.loss == "squared":
        m.setObjective(gp.quicksum((float(y[i]) - f[i]) * (float(y[i]) - f[i]) for i in range(n)))
    else:
        e = m.addVars(n, lb=0.0)
        for i in range(n):
            if problem.loss == "absolute":
                m.addConstr(e[i] >= float(y[i]) - f[i])
                m.addConstr(e[i] >= f[i] - float(y[i]))
            else:
                m.addConstr(e[i] >= 1 - float(y[i]) * f[i])
        m.setObjective(e.sum())
    try:
        m.optimize()
    except gp.GurobiError as exc:
        if getattr(exc, "errno", None) == SIZE_LIMIT_ERRNO:
            raise GurobiSizeLimitError(
                f"Gurobi's licence refuses this model ({m.NumVars} variables, "
                f"{m.NumConstrs} constraints): {exc}"
            ) from None
        raise
    code = m.Status
    stop = {
        gp.GRB.OPTIMAL: Stop.FINISHED,
        gp.GRB.TIME_LIMIT: Stop.TIME_LIMIT,
        gp.GRB.INTERRUPTED: Stop.INTERRUPTED,
    }.get(code, Stop.ERROR)
    network: Network = zero_network(problem.arch, d, h)
    if m.SolCount > 0:
        Wv = np.clip([[W[j, k].X for k in range(d)] for j in range(h)], -B, B)
        bv = np.clip([bb[j].X for j in range(h)], -B, B)
        if two_layer:
            v = np.array([1.0 if sigma[j].X > 0.5 else -1.0 for j in range(h)])
            network = TwoLayerNetwork(Wv, bv, v, float(c.X))
        else:
            network = OneNodeNetwork(Wv[0], float(bv[0]))
    bound = float(m.ObjBound) if m.SolCount > 0 or code == gp.GRB.OPTIMAL else None
    details = {"nodes": int(m.NodeCount), "gurobi_status": int(code)}
    m.dispose()
    env.dispose()
    return make_certificate(
        problem,
        network,
        bound=bound,
        stop=stop,
        seconds=time.perf_counter() - start,
        method="gurobi",
        rel_gap=options.rel_gap,
        abs_gap=options.abs_gap,
        details=details,
    )
