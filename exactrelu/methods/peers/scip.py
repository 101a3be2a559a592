"""SCIP (pyscipopt) on the plain big-M model: squared loss as an MIQP, others as a MILP.

This is the baseline of SPEC §3 and an independent oracle: it shares no code with
exactrelu's formulation or HiGHS backend, only the problem definition. Every sample
and unit gets a binary and the big-M ``B(‖x_i‖₁ + 1)``; two-layer output signs are
binary variables ``v_j = 2σ_j - 1`` with products linearised by big-M.
"""

from __future__ import annotations

import time

import numpy as np

from exactrelu.certificate import Certificate, Stop, make_certificate
from exactrelu.errors import MissingDependencyError
from exactrelu.network.networks import OneNodeNetwork, TwoLayerNetwork
from exactrelu.options import SolveOptions
from exactrelu.problem import Problem


def _import_scip():
    try:
        import pyscipopt
    except ImportError:
        raise MissingDependencyError("pyscipopt", "scip", "the SCIP peer solver") from None
    return pyscipopt


def solve_scip(problem: Problem, options: SolveOptions) -> Certificate:
    """Solve ``problem`` with SCIP on the plain big-M model; returns a certificate."""
    scip = _import_scip()
    start = time.perf_counter()
    X, y = problem.X, problem.y
    n, d, h, B = problem.n, problem.d, problem.width, problem.weight_bound
    two_layer = problem.arch == "two-layer"
    U = B * (np.abs(X).sum(axis=1) + (1.0 if problem.bias else 0.0))
    m = scip.Model()
    m.hideOutput(not options.log)
    if options.time_limit is not None:
        m.setParam("limits/time", options.time_limit)
    m.setParam("limits/gap", options.rel_gap / 2)
    m.setParam("limits/absgap", options.abs_gap / 2)
    m.setParam("randomization/randomseedshift", options.seed)
    W = [[m.addVar(lb=-B, ub=B) for _ in range(d)] for _ in range(h)]
    bb = [m.addVar(lb=-B if problem.bias else 0.0, ub=B if problem.bias else 0.0) for _ in range(h)]
    a = [[m.addVar(lb=0.0, ub=U[i]) for _ in range(h)] for i in range(n)]
    f = []
    if two_layer:
        c = m.addVar(lb=None, ub=None)
        sigma = [m.addVar(vtype="B") for _ in range(h)]
        for j in range(h - 1):  # units are exchangeable: order their signs
            m.addCons(sigma[j] >= sigma[j + 1])
    for i in range(n):
        for j in range(h):
            z = scip.quicksum(X[i, k] * W[j][k] for k in range(d)) + bb[j]
            s = m.addVar(vtype="B")
            m.addCons(a[i][j] >= z)
            m.addCons(a[i][j] <= z + U[i] * (1 - s))
            m.addCons(a[i][j] <= U[i] * s)
        if two_layer:
            terms = []
            for j in range(h):  # q = σ a, so v a = 2q - a
                q = m.addVar(lb=0.0, ub=U[i])
                m.addCons(q <= a[i][j])
                m.addCons(q <= U[i] * sigma[j])
                m.addCons(q >= a[i][j] - U[i] * (1 - sigma[j]))
                terms.append(2 * q - a[i][j])
            f.append(scip.quicksum(terms) + c)
        else:
            f.append(a[i][0])
    if problem.loss == "squared":
        # one small convex quadratic constraint per sample (t_i >= r_i²) rather than one
        # constraint over all samples: pyscipopt aborts ("free(): invalid size") on the
        # single large quadratic of n = 1000, d = 10.
        t = [m.addVar(lb=0.0) for _ in range(n)]
        for i in range(n):
            r = m.addVar(lb=None, ub=None)
            m.addCons(r == y[i] - f[i])
            m.addCons(r * r <= t[i])
        m.setObjective(scip.quicksum(t), "minimize")
    else:
        e = [m.addVar(lb=0.0) for _ in range(n)]
        for i in range(n):
            if problem.loss == "absolute":
                m.addCons(e[i] >= y[i] - f[i])
                m.addCons(e[i] >= f[i] - y[i])
            else:
                m.addCons(e[i] >= 1 - y[i] * f[i])
        m.setObjective(scip.quicksum(e), "minimize")
    m.optimize()
    status = m.getStatus()
    stop = {
        "optimal": Stop.FINISHED,
        "timelimit": Stop.TIME_LIMIT,
        "userinterrupt": Stop.INTERRUPTED,
    }.get(status, Stop.ERROR)
    if m.getNSols() == 0:
        network = (
            TwoLayerNetwork(np.zeros((h, d)), np.zeros(h), np.ones(h))
            if two_layer
            else OneNodeNetwork(np.zeros(d))
        )
    else:
        sol = m.getBestSol()
        Wv = np.clip([[sol[W[j][k]] for k in range(d)] for j in range(h)], -B, B)
        bv = np.clip([sol[bb[j]] for j in range(h)], -B, B)
        if two_layer:
            v = np.array([1.0 if sol[sigma[j]] > 0.5 else -1.0 for j in range(h)])
            network = TwoLayerNetwork(Wv, bv, v, sol[c])
        else:
            network = OneNodeNetwork(Wv[0], bv[0])
    return make_certificate(
        problem,
        network,
        bound=m.getDualbound(),
        stop=stop,
        seconds=time.perf_counter() - start,
        method="scip",
        rel_gap=options.rel_gap,
        abs_gap=options.abs_gap,
        details={"nodes": int(m.getNNodes()), "scip_status": status},
    )
