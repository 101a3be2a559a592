"""The naive baseline: HiGHS on the plain big-M model, with none of exactrelu's tightening.

This is the model a newcomer would write (SPEC §3, "naive HiGHS"): every sample and
unit gets a binary and the box big-M ``B(‖x_i‖₁ + 1)``; two-layer output signs are
binaries with their products linearised by big-M, exactly as in the SCIP peer
(:mod:`exactrelu.methods.peers.scip`). Nothing of exactrelu's formulation is reused: no
binary-free samples, no sign cases (whose units of one sign HiGHS's symmetry detection
finds), no warm start, no heuristic incumbent, no objective cutoff, no polishing. It
exists to measure what those are worth.

HiGHS has no MIQP, so squared loss goes by the plainest outer approximation: epigraph
variables ``t_i >= 0`` with tangent cuts ``t_i >= 2 r̄ (y_i - f_i) - r̄²``, first at
``r̄ = y_i``; each round's MILP value is a proven lower bound; the textbook OA step
(Duran & Grossmann) solves the convex QP with the MILP's activation pattern fixed for
an upper bound, and tangents at both solutions' residuals are added until the bounds
meet (finite: finitely many patterns, and a pattern whose QP optimum already carries
its tangents has MILP value equal to its true loss).
"""

from __future__ import annotations

import time

import highspy
import numpy as np

from exactrelu.certificate import Certificate, Stop, gap_closed, make_certificate
from exactrelu.highs.quiet import FEASIBLE_SOLUTION, quiet_highs
from exactrelu.network.networks import Network, OneNodeNetwork, TwoLayerNetwork, zero_network
from exactrelu.options import SolveOptions
from exactrelu.problem import Problem

# Rounds of the squared-loss loop in which no new tangent is violated by more than this
# are final (the MILP's residual model agrees with the true loss to this precision).
TANGENT_VIOLATION = 1e-9
FEASIBILITY_TOLERANCE = 1e-9


def solve_highs_naive(problem: Problem, options: SolveOptions) -> Certificate:
    """Solve ``problem`` with HiGHS on the plain big-M model; returns a certificate.

    Parameters
    ----------
    problem : Problem
    options : SolveOptions
        ``time_limit``, ``rel_gap``, ``abs_gap``, ``threads``, ``seed`` and ``log`` are
        used; ``warm_start`` is ignored on purpose (the baseline is naive).
    """
    start = time.perf_counter()
    X, y = problem.X, problem.y
    n, d, h, B = problem.n, problem.d, problem.width, problem.weight_bound
    two_layer = problem.arch == "two-layer"
    U = B * (np.abs(X).sum(axis=1) + (1.0 if problem.bias else 0.0))
    hs = quiet_highs(options.threads, options.seed)
    if options.log:
        hs.setOptionValue("output_flag", True)
    # Half the certificate's tolerance for the MILP, as exactrelu does: the other half
    # is for the outer approximation and the float64 recomputation.
    hs.setOptionValue("mip_rel_gap", options.rel_gap / 2)
    hs.setOptionValue("mip_abs_gap", options.abs_gap / 2)
    # Not tightening but honesty: with HiGHS's default 1e-6 feasibility tolerances every
    # big-M row may bend by 1e-6 and the bound drifts by about n·|r|·1e-6, more than the
    # certificate's 1e-6 relative gap; the squared-loss loop then never closes.
    for name in ("mip_feasibility_tolerance", "primal_feasibility_tolerance"):
        hs.setOptionValue(name, FEASIBILITY_TOLERANCE)
    bias_bound = B if problem.bias else 0.0
    W = [[hs.addVariable(lb=-B, ub=B) for _ in range(d)] for _ in range(h)]
    bb = [hs.addVariable(lb=-bias_bound, ub=bias_bound) for _ in range(h)]
    sigma = []
    c = None
    if two_layer:
        c = hs.addVariable(lb=-highspy.kHighsInf, ub=highspy.kHighsInf)
        sigma = [hs.addBinary() for _ in range(h)]
    f = []
    for i in range(n):
        acts = []
        for j in range(h):
            z = sum(float(X[i, k]) * W[j][k] for k in range(d)) + bb[j]
            a = hs.addVariable(lb=0.0, ub=float(U[i]))
            s = hs.addBinary()
            hs.addConstr(a - z >= 0.0)
            hs.addConstr(a - z - float(U[i]) * (1 - s) <= 0.0)
            hs.addConstr(a - float(U[i]) * s <= 0.0)
            acts.append(a)
        if two_layer:
            terms = []
            for j in range(h):  # q = σ a, so v a = (2σ - 1) a = 2q - a
                q = hs.addVariable(lb=0.0, ub=float(U[i]))
                hs.addConstr(q - acts[j] <= 0.0)
                hs.addConstr(q - float(U[i]) * sigma[j] <= 0.0)
                hs.addConstr(q - acts[j] + float(U[i]) * (1 - sigma[j]) >= 0.0)
                terms.append(2 * q - acts[j])
            f.append(sum(terms) + c)
        else:
            f.append(1.0 * acts[0])
    e = [hs.addVariable(lb=0.0) for _ in range(n)]
    squared = problem.loss == "squared"
    for i in range(n):
        if squared:
            _tangent(hs, e[i], f[i], y[i], y[i])
        elif problem.loss == "absolute":
            hs.addConstr(e[i] + f[i] >= float(y[i]))
            hs.addConstr(e[i] - f[i] >= -float(y[i]))
        else:
            hs.addConstr(e[i] + float(y[i]) * f[i] >= 1.0)
    if options.time_limit is not None:
        remaining = options.time_limit - (time.perf_counter() - start)
        hs.setOptionValue("time_limit", max(float(remaining), 1e-3))
    hs.minimize(sum(e))  # first solve; later rounds call run()

    best: Network = zero_network(problem.arch, d, h)
    best_loss = best.loss(X, y, problem.loss)
    bound = 0.0
    nodes = 0
    rounds = 0
    stop = Stop.FINISHED
    while True:
        rounds += 1
        status = hs.getModelStatus()
        info = hs.getInfo()
        nodes += int(info.mip_node_count)
        if np.isfinite(info.mip_dual_bound):
            bound = max(bound, float(info.mip_dual_bound))
        network = None
        if info.primal_solution_status == FEASIBLE_SOLUTION:
            network = _network(hs, W, bb, sigma, c, problem)
            loss = network.loss(X, y, problem.loss)
            if loss < best_loss:
                best, best_loss = network, loss
        if status != highspy.HighsModelStatus.kOptimal:
            stop = (
                Stop.TIME_LIMIT
                if status
                in (highspy.HighsModelStatus.kTimeLimit, highspy.HighsModelStatus.kInterrupt)
                else Stop.ERROR
            )
            break
        if not squared or gap_closed(best_loss, bound, options.rel_gap, options.abs_gap):
            break
        # Textbook outer approximation (Duran & Grossmann): the NLP subproblem with the
        # integers fixed (here the convex QP of the MILP's activation pattern) gives an
        # upper bound, and cuts at its solution make the loop finite. Kelley cuts at the
        # MILP point alone converge only asymptotically.
        polished = _fixed_pattern_fit(problem, network)
        candidates = [network]
        if polished is not None:
            candidates.append(polished)
            loss = polished.loss(X, y, problem.loss)
            if loss < best_loss:
                best, best_loss = polished, loss
        if gap_closed(best_loss, bound, options.rel_gap, options.abs_gap):
            break
        e_values = np.array([hs.val(var) for var in e])
        added = 0
        for candidate in candidates:
            residuals = y - candidate.predict(X)
            violated = residuals**2 - e_values > TANGENT_VIOLATION
            for i in np.flatnonzero(violated):
                _tangent(hs, e[i], f[i], y[i], residuals[i])
            added += int(violated.sum())
        if not added:
            break  # the MILP's model of the loss is exact at its optimum: done
        if options.time_limit is not None:
            remaining = options.time_limit - (time.perf_counter() - start)
            if remaining <= 0:
                stop = Stop.TIME_LIMIT
                break
            hs.setOptionValue("time_limit", float(remaining))
        hs.run()
    return make_certificate(
        problem,
        best,
        bound=bound,
        stop=stop,
        seconds=time.perf_counter() - start,
        method="highs-naive",
        rel_gap=options.rel_gap,
        abs_gap=options.abs_gap,
        details={"nodes": nodes, "rounds": rounds},
    )


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


def _tangent(hs: highspy.Highs, e, f, y_i: float, r: float) -> None:
    """``e >= 2 r (y - f) - r²``: the tangent of ``(y - f)²`` at residual ``r``."""
    r = float(r)
    hs.addConstr(e + 2.0 * r * f >= 2.0 * r * float(y_i) - r * r)


def _network(hs: highspy.Highs, W, bb, sigma, c, problem: Problem) -> Network:
    """The weights of the current solution, clipped into the box (rounding only)."""
    B = problem.weight_bound
    Wv = np.clip([[hs.val(var) for var in row] for row in W], -B, B)
    bv = np.clip([hs.val(var) for var in bb], -B, B)
    if problem.arch == "two-layer":
        v = np.array([1.0 if hs.val(s) > 0.5 else -1.0 for s in sigma])
        return TwoLayerNetwork(Wv, bv, v, float(hs.val(c)))
    return OneNodeNetwork(Wv[0], float(bv[0]))
