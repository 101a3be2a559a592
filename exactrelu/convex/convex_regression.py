"""Lower bounds for the two-layer sign cases whose output weights all share one sign.

With every ``v_j = +1`` the network ``f(x) = Σ_j max(0, W_j·x + b_j) + c`` is a sum of
convex functions, so it is convex; with every ``v_j = -1`` it is concave. The best fit
of the data by *any* convex (concave) function is therefore a lower bound on the loss of
every network of that sign case. That fit is a convex program in the fitted values
``f_i`` and subgradients ``g_i`` at the samples (convex regression, Boyd & Vandenberghe,
*Convex Optimization*, §6.5.5)::

    minimise   Σ_i loss(y_i, f_i)
    subject to s·(f_j - f_i - g_i·(x_j - x_i)) >= 0     for every pair i != j
               |g_ik| <= width·B

with ``s = +1`` (convex) or ``-1`` (concave). The last line holds for the networks too:
their subgradients are ``Σ_j t_j W_j`` with ``t_j ∈ [0, 1]`` and ``|W_jk| <= B``.

Squared loss goes by outer approximation, as in the MIP (HiGHS's QP solver fails on
this program): ``t_i >= 2 r̄ (y_i - f_i) - r̄²`` at chosen residuals ``r̄``; every LP
value is a valid lower bound, and a few rounds of tangents at the LP's own residuals
bring it close to the QP's value.

When this bound exceeds the incumbent's loss, no network of the case can beat the
incumbent and the case needs no MILP at all. On data that are neither convex nor
concave (a planted network with both signs, say) that is the usual outcome.
"""

from __future__ import annotations

from collections.abc import Callable

import highspy
import numpy as np

from exactrelu.convex.tangents import AffineResiduals, tangent_rows
from exactrelu.highs.matrix import INF, SparseRows, add_rows, pass_model
from exactrelu.highs.quiet import quiet_highs
from exactrelu.options import Deadline
from exactrelu.problem import Problem

# Squared loss: LP rounds of the outer approximation, and when a tangent counts as tight.
OA_ROUNDS = 20
OA_TOLERANCE = 1e-7


def shape_constrained_bound(
    problem: Problem,
    sign: float,
    threads: int | None = None,
    stop_above: float = np.inf,
    rounds: int = OA_ROUNDS,
    time_limit: float | None = None,
    interrupted: Callable[[], bool] | None = None,
) -> float:
    """A lower bound on the loss of any convex (``sign = +1``) or concave (``-1``) function.

    Parameters
    ----------
    problem : Problem
        A two-layer problem (its loss, weight bound and width are used).
    sign : {+1, -1}
    threads : int, optional
        HiGHS threads.
    stop_above : float, default inf
        Squared loss: stop adding tangents once the bound exceeds this value.
    rounds : int, default 20
        Squared loss: at most this many LP solves.
    time_limit : float, optional
        Seconds for all the LP solves together; when they run out, the value proven so
        far is returned (an LP stopped early proves nothing of its own).
    interrupted : callable, optional
        Polled by HiGHS's simplex; when it returns True the LP stops, as with the time
        limit (Ctrl-C during a solve).

    Returns
    -------
    float
        The LP's optimal value (absolute, hinge: the exact best fit; squared: a lower
        bound on it), or ``0.0`` (always valid) when HiGHS does not report an optimum.
    """
    X, y = problem.X, problem.y
    n, d = X.shape
    slope = problem.width * problem.box_radius
    # columns: f (n) | g (n*d, sample-major) | e (n): the loss of each sample
    col_g = n
    col_e = n + n * d
    num_col = col_e + n
    lower = np.full(num_col, -INF)
    upper = np.full(num_col, INF)
    lower[col_g:col_e], upper[col_g:col_e] = -slope, slope
    lower[col_e:] = 0.0
    cost = np.zeros(num_col)
    cost[col_e:] = 1.0

    block = SparseRows()
    i, j = np.nonzero(~np.eye(n, dtype=bool))  # every ordered pair i != j
    m = i.size
    rows = np.arange(m)
    diff = X[j] - X[i]  # (m, d)
    block.add(
        np.concatenate([rows, rows, np.repeat(rows, d)]),
        np.concatenate([j, i, (col_g + i[:, None] * d + np.arange(d)).ravel()]),
        np.concatenate([np.full(m, sign), np.full(m, -sign), (-sign * diff).ravel()]),
        np.zeros(m),
        np.full(m, INF),
    )
    samples = np.arange(n)
    residuals = AffineResiduals.of_columns(samples, y)  # r_i = y_i - f_i
    squared = problem.loss == "squared"
    if squared:
        scale = max(float(np.std(y)), 1e-3)
        points = [np.zeros(n)] + [np.full(n, f * scale) for f in (-1, -0.3, -0.1, 0.1, 0.3, 1)]
        for r in points:
            block.extend(tangent_rows(r, col_e + samples, residuals))
    elif problem.loss == "absolute":  # e_i >= |y_i - f_i|
        for s in (1.0, -1.0):
            block.add(
                np.r_[samples, samples],
                np.r_[samples, col_e + samples],
                np.r_[np.full(n, s), np.ones(n)],
                s * y,
                INF,
            )
    else:  # hinge: e_i >= 1 - y_i f_i
        block.add(
            np.r_[samples, samples],
            np.r_[samples, col_e + samples],
            np.r_[y, np.ones(n)],
            np.ones(n),
            INF,
        )
    highs = quiet_highs(threads)
    pass_model(highs, cost, lower, upper, block)
    deadline = Deadline(time_limit)
    if interrupted is not None:

        def check(event) -> None:
            if interrupted():
                event.interrupt()

        highs.cbSimplexInterrupt.subscribe(check)
    value = 0.0
    for _ in range(rounds if squared else 1):
        if deadline.expired() or (interrupted is not None and interrupted()):
            break
        if time_limit is not None:
            highs.setOptionValue("time_limit", float(min(max(deadline.remaining(), 1e-3), 1e30)))
        highs.run()
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return value  # the last value proven (0 at first)
        value = max(value, float(highs.getInfo().objective_function_value))
        if not squared or value > stop_above:
            break
        f = np.asarray(highs.getSolution().col_value[:n])
        r = y - f
        t = np.asarray(highs.getSolution().col_value[col_e:])
        if np.all(r**2 - t <= OA_TOLERANCE * np.maximum(1.0, r**2)):
            break  # the tangents are tight at the LP's solution: it is the QP's optimum
        add_rows(highs, tangent_rows(r, col_e + samples, residuals))
    return max(0.0, value)
