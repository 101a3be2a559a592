"""Reference optima for tiny instances, written independently of exactrelu's solvers.

This module deliberately imports nothing from ``exactrelu``: it must be able to
catch a bug anywhere in the package's formulation, fixed-pattern fits or solver
glue. Two oracles:

* :func:`brute_force` enumerates activation patterns. With the pattern of every
  hidden unit on every sample fixed (and, for two layers, the output signs), the
  network output is affine in the weights and the sign constraints are linear, so
  each pattern is a convex problem (squared loss: a QP; absolute and hinge: an LP),
  solved here with HiGHS through a model built by hand. Every network of the class
  is feasible for the pattern of its own strictly positive pre-activations, and
  every feasible point of a pattern's problem is a network of the class whose
  output the problem computes exactly (``z >= 0`` where active, ``z <= 0`` where
  inactive). Hence the minimum over patterns is the class optimum.

  Two reductions keep two-layer runs short, each an elementary argument checked
  against the plain enumeration in the test suite:

  - hidden units with the same output sign are interchangeable, so their patterns
    are enumerated as multisets (non-decreasing pattern index);
  - with ``realizable_only=True`` a unit's pattern must be the strictly positive
    set ``{i : w·x_i + b > 0}`` of some affine function (checked by an LP); the
    pattern of the optimum's own strict activations is of this kind.

* :func:`scip_optimum` solves the plain big-M model (an MIQP for squared loss)
  with SCIP through ``pyscipopt``, when it is installed, and polishes SCIP's point
  with the convex problem of its activation pattern.

Both return the loss recomputed in float64 from the returned weights (clipped into
the box), so the reported loss is always that of an actual network of the class.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import highspy
import numpy as np
from scipy.optimize import linprog

INF = highspy.kHighsInf


@dataclass
class OracleResult:
    """Best network found: ``f(x) = Σ_j v_j max(0, W_j·x + b_j) + c`` (one-node: v = [1], c = 0)."""

    loss: float
    W: np.ndarray
    b: np.ndarray
    v: np.ndarray
    c: float
    solves: int = 0
    lower: float | None = None  # a lower bound on the optimum (== loss when all solved exactly)


def forward(X, W, b, v, c) -> np.ndarray:
    """Network output, computed independently of :mod:`exactrelu.network`."""
    X = np.asarray(X, float)
    out = np.full(X.shape[0], float(c))
    for j in range(len(v)):
        out += v[j] * np.maximum(0.0, X @ W[j] + b[j])
    return out


def loss_value(y, f, loss: str) -> float:
    """Sum over samples of the per-sample loss."""
    y = np.asarray(y, float)
    if loss == "squared":
        return float(np.sum((y - f) ** 2))
    if loss == "absolute":
        return float(np.sum(np.abs(y - f)))
    if loss == "hinge":
        return float(np.sum(np.maximum(0.0, 1.0 - y * f)))
    raise ValueError(loss)


# ----------------------------------------------------------------------------------------
# the convex problem of one pattern, built by hand for HiGHS
# ----------------------------------------------------------------------------------------


def _new_highs() -> highspy.Highs:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    # No "threads" option: HiGHS has one thread scheduler per process, and a Highs
    # asking for another thread count than the one it was started with fails to run.
    # HiGHS 1.16's active-set QP can cycle for minutes on these semidefinite QPs with its
    # default Hessian regularization (1e-7); without regularization it does not. It can
    # also stop with "QP solver claims optimality, but with ... primal infeasibilities"
    # (model status Solve error), here seen when box bounds are active. A cycle is cut
    # short by the iteration limit; a failed QP is retried in another form, then solved by
    # cutting planes on LPs (fit_pattern, _least_squares_by_cuts).
    h.setOptionValue("qp_iteration_limit", 20000)
    h.setOptionValue("qp_regularization_value", 0.0)
    return h


def _dense_to_csc(A: np.ndarray):
    cols, rows = np.nonzero(A.T)  # column-major order of the nonzeros
    start = np.zeros(A.shape[1] + 1, dtype=np.int32)
    np.cumsum(np.bincount(cols, minlength=A.shape[1]), out=start[1:])
    return start, rows.astype(np.int32), A[rows, cols].astype(float)


def _solve(highs, cost, col_lo, col_hi, A, row_lo, row_hi, Q=None):
    """min ½ xᵀQx + cost·x s.t. row_lo <= A x <= row_hi, col_lo <= x <= col_hi.

    Returns the solution, or None when HiGHS does not report it optimal.
    """
    num_col = cost.size
    lp = highspy.HighsLp()
    lp.num_col_ = num_col
    lp.num_row_ = A.shape[0]
    lp.col_cost_ = cost
    lp.col_lower_ = col_lo
    lp.col_upper_ = col_hi
    lp.row_lower_ = row_lo
    lp.row_upper_ = row_hi
    start, index, value = _dense_to_csc(A)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = num_col
    lp.a_matrix_.num_row_ = A.shape[0]
    lp.a_matrix_.start_ = start
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    if Q is None:
        status = highs.passModel(lp)
    else:
        model = highspy.HighsModel()
        model.lp_ = lp
        hess = highspy.HighsHessian()
        hess.dim_ = num_col
        hess.format_ = highspy.HessianFormat.kTriangular
        hstart, hindex, hvalue = _dense_to_csc(np.tril(Q))  # lower triangle, column-wise
        hess.start_ = hstart
        hess.index_ = hindex
        hess.value_ = hvalue
        model.hessian_ = hess
        status = highs.passModel(model)
    assert status != highspy.HighsStatus.kError, "HiGHS rejected the oracle model"
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return np.asarray(highs.getSolution().col_value)


def _least_squares_by_cuts(highs, F, y, G, g_lo, g_hi, theta_lo, theta_hi, rtol=1e-9, rounds=500):
    """min Σ (y_i - F_i θ)² s.t. g_lo <= Gθ <= g_hi and the box, by Kelley's cutting planes.

    Each round solves the LP  min Σ t_i  s.t. the tangent cuts
    ``t_i >= 2 r̄ (y_i - F_i θ) - r̄²`` collected so far (which underestimate the squares,
    so the LP value is a lower bound), and adds the tangents at the new residuals. Stops
    when the true value of the best θ is within ``rtol`` of the lower bound, or after
    ``rounds`` rounds. Returns ``(θ, lower bound)``.
    """
    n, p = F.shape
    m = G.shape[0]
    cut_rows, cut_lo = [], []

    def add_cuts(r):  # t_i + 2 r_i F_i θ >= 2 r_i y_i - r_i²
        for i in range(n):
            row = np.zeros(p + n)
            row[:p] = 2.0 * r[i] * F[i]
            row[p + i] = 1.0
            cut_rows.append(row)
            cut_lo.append(2.0 * r[i] * y[i] - r[i] ** 2)

    add_cuts(y)  # residuals at θ = 0 (feasible)
    best_theta, best_value = np.zeros(p), float(y @ y)
    lower = 0.0
    for _ in range(rounds):
        A = np.vstack([np.hstack([G, np.zeros((m, n))]), np.array(cut_rows)])
        x = _solve(
            highs,
            np.r_[np.zeros(p), np.ones(n)],
            np.r_[theta_lo, np.zeros(n)],
            np.r_[theta_hi, np.full(n, INF)],
            A,
            np.r_[g_lo, cut_lo],
            np.r_[g_hi, np.full(len(cut_lo), INF)],
        )
        assert x is not None, "HiGHS failed on a cutting-plane LP"
        theta, lower = x[:p], float(np.sum(x[p:]))
        r = y - F @ theta
        value = float(r @ r)
        if value < best_value:
            best_theta, best_value = theta, value
        if best_value - lower <= rtol * max(1.0, best_value):
            break
        add_cuts(r)
    return best_theta, lower


def fit_pattern(X, y, loss, B, bias, S, v, two_layer, highs=None):
    """Best weights whose activation pattern is ``S`` (n × h, bool) with output signs ``v``.

    Variables ``θ = (W (h·d, row-major), b (h), c (two-layer))``. The sign rows are
    ``z_ij >= 0`` where ``S_ij`` and ``<= 0`` elsewhere; the output ``f = F θ`` is affine.
    Returns ``(loss, W, b, c, lower)``: the loss recomputed from the (box-clipped)
    weights, and a lower bound on the pattern's optimum: the loss itself when HiGHS
    solved the problem, the cutting-plane bound when it had to be used.
    """
    X = np.asarray(X, float)
    y = np.asarray(y, float)
    n, d = X.shape
    h = len(v)
    p = h * d + h + (1 if two_layer else 0)
    G, g_lo, g_hi = [], [], []
    F = np.zeros((n, p))
    for j in range(h):
        Z = np.zeros((n, p))  # z_ij = W_j·x_i + b_j
        Z[:, j * d : (j + 1) * d] = X
        Z[:, h * d + j] = 1.0
        G.append(Z)
        g_lo.append(np.where(S[:, j], 0.0, -INF))
        g_hi.append(np.where(S[:, j], INF, 0.0))
        F += v[j] * S[:, j, None] * Z
    if two_layer:
        F[:, p - 1] = 1.0
    G, g_lo, g_hi = np.vstack(G), np.concatenate(g_lo), np.concatenate(g_hi)
    theta_lo = np.full(p, -INF)
    theta_hi = np.full(p, INF)
    theta_lo[: h * d + h] = -B
    theta_hi[: h * d + h] = B
    if not bias:
        theta_lo[h * d : h * d + h] = 0.0
        theta_hi[h * d : h * d + h] = 0.0
    highs = highs or _new_highs()
    Zn = np.zeros((G.shape[0], n))
    eye = np.eye(n)
    x = None
    lower = None
    if loss == "squared":
        # Two exact forms of the same QP, tried in turn (HiGHS 1.16's QP solver fails on
        # some instances of both, see _new_highs), then cutting planes on LPs:
        #   residuals: r = y - Fθ (n extra columns), minimise Σ r²;
        #   Gram:      minimise θᵀFᵀFθ - 2 yᵀFθ (+ yᵀy) over θ alone.
        residual = (
            np.r_[np.zeros(p), np.zeros(n)],
            np.r_[theta_lo, np.full(n, -INF)],
            np.r_[theta_hi, np.full(n, INF)],
            np.block([[G, Zn], [F, eye]]),
            np.r_[g_lo, y],
            np.r_[g_hi, y],
            np.diag(np.r_[np.zeros(p), np.full(n, 2.0)]),
        )
        gram = (-2.0 * F.T @ y, theta_lo, theta_hi, G, g_lo, g_hi, 2.0 * F.T @ F)
        for form in (residual, gram):
            x = _solve(highs, *form)
            if x is not None:
                break
        if x is None:
            x, lower = _least_squares_by_cuts(highs, F, y, G, g_lo, g_hi, theta_lo, theta_hi)
    else:
        if loss == "absolute":  # e >= y - Fθ and e >= Fθ - y
            A = np.block([[G, Zn], [F, eye], [-F, eye]])
            row_lo, row_hi = np.r_[g_lo, y, -y], np.r_[g_hi, np.full(2 * n, INF)]
        elif loss == "hinge":  # e >= 1 - y Fθ (and e >= 0 below)
            A = np.block([[G, Zn], [y[:, None] * F, eye]])
            row_lo, row_hi = np.r_[g_lo, np.ones(n)], np.r_[g_hi, np.full(n, INF)]
        else:
            raise ValueError(loss)
        x = _solve(
            highs,
            np.r_[np.zeros(p), np.ones(n)],
            np.r_[theta_lo, np.zeros(n)],
            np.r_[theta_hi, np.full(n, INF)],
            A,
            row_lo,
            row_hi,
        )
    assert x is not None, f"HiGHS failed on a fixed-pattern {loss} problem"
    W = np.clip(x[: h * d].reshape(h, d), -B, B)
    b = np.clip(x[h * d : h * d + h], -B, B)
    c = float(x[p - 1]) if two_layer else 0.0
    value = loss_value(y, forward(X, W, b, v, c), loss)
    return value, W, b, c, value if lower is None else min(lower, value)


# ----------------------------------------------------------------------------------------
# enumeration
# ----------------------------------------------------------------------------------------


def unit_patterns(X, bias: bool, realizable_only: bool) -> list[np.ndarray]:
    """Candidate patterns of one hidden unit (bool arrays of length n)."""
    X = np.asarray(X, float)
    n = X.shape[0]
    every = [np.array(bits, dtype=bool) for bits in itertools.product([False, True], repeat=n)]
    if not realizable_only:
        return every
    keep = []
    A = np.column_stack([X, np.ones(n)]) if bias else X
    for P in every:
        # exists (w, b): w·x_i + b >= 1 on P and <= 0 off P (scale any strict solution)
        A_ub = np.where(P[:, None], -A, A)
        b_ub = np.where(P, -1.0, 0.0)
        res = linprog(
            np.zeros(A.shape[1]), A_ub=A_ub, b_ub=b_ub, bounds=(None, None), method="highs"
        )
        if res.status == 0:
            keep.append(P)
        else:
            assert res.status == 2, res.message  # infeasible, nothing else
    return keep


def brute_force(
    X,
    y,
    *,
    arch="one-node",
    width=1,
    loss="squared",
    B=2.0,
    bias=True,
    realizable_only=None,
    positive_units=None,
) -> OracleResult:
    """The class optimum by enumerating activation patterns (tiny instances only).

    ``realizable_only`` defaults to False for one-node (plain 2^n enumeration) and True
    for two-layer. ``positive_units`` (two-layer) restricts the enumeration to the
    networks with that many output weights +1 (units ``0..p-1``), the rest -1.
    """
    X = np.asarray(X, float)
    y = np.asarray(y, float)
    n = X.shape[0]
    two_layer = arch == "two-layer"
    h = width if two_layer else 1
    if realizable_only is None:
        realizable_only = two_layer
    assert n <= (8 if not two_layer else 6), "brute force is for tiny instances"
    patterns = unit_patterns(X, bias, realizable_only)
    highs = _new_highs()
    best = None
    solves = 0
    lower = np.inf
    sign_counts = range(h + 1) if two_layer else [1]
    if positive_units is not None:
        sign_counts = [positive_units]
    for p in sign_counts:
        v = np.array([1.0] * p + [-1.0] * (h - p))
        # units of one sign are interchangeable: enumerate their patterns as multisets
        groups = [
            itertools.combinations_with_replacement(range(len(patterns)), p),
            itertools.combinations_with_replacement(range(len(patterns)), h - p),
        ]
        for pos, neg in itertools.product(*(list(g) for g in groups)):
            S = np.column_stack([patterns[k] for k in pos + neg])
            value, W, b, c, pattern_lower = fit_pattern(X, y, loss, B, bias, S, v, two_layer, highs)
            solves += 1
            lower = min(lower, pattern_lower)
            if best is None or value < best.loss:
                best = OracleResult(value, W, b, v, c)
    best.solves = solves
    best.lower = float(lower)
    return best


# ----------------------------------------------------------------------------------------
# SCIP (optional)
# ----------------------------------------------------------------------------------------


def scip_optimum(
    X,
    y,
    *,
    arch="one-node",
    width=1,
    loss="squared",
    B=2.0,
    bias=True,
    time_limit=60.0,
) -> OracleResult:
    """The class optimum from SCIP on the naive big-M model (MIQP for squared loss).

    ``loss`` is the loss of SCIP's weights recomputed in float64, ``lower`` SCIP's dual
    bound. Raises ImportError without ``pyscipopt``.
    """
    import pyscipopt

    X = np.asarray(X, float)
    y = np.asarray(y, float)
    n, d = X.shape
    two_layer = arch == "two-layer"
    h = width if two_layer else 1
    M = B * (np.abs(X).sum(axis=1) + (1.0 if bias else 0.0))
    best = None
    lower = np.inf
    for p in range(h + 1) if two_layer else [1]:
        v = [1.0] * p + [-1.0] * (h - p)
        m = pyscipopt.Model()
        m.hideOutput()
        m.setParam("limits/time", time_limit)
        m.setParam("limits/gap", 1e-9)
        m.setParam("limits/absgap", 1e-11)
        m.setParam("randomization/randomseedshift", 0)
        W = [[m.addVar(lb=-B, ub=B) for _ in range(d)] for _ in range(h)]
        b = [m.addVar(lb=-B if bias else 0.0, ub=B if bias else 0.0) for _ in range(h)]
        c = m.addVar(lb=None, ub=None) if two_layer else 0.0
        terms = []
        for i in range(n):
            f = c
            for j in range(h):
                z = pyscipopt.quicksum(W[j][k] * X[i, k] for k in range(d)) + b[j]
                a = m.addVar(lb=0.0, ub=M[i])
                s = m.addVar(vtype="B")
                m.addCons(a >= z)
                m.addCons(a <= z + M[i] * (1 - s))
                m.addCons(a <= M[i] * s)
                f = f + v[j] * a
            if loss == "squared":
                r = m.addVar(lb=None, ub=None)
                m.addCons(r == y[i] - f)
                terms.append(r)
            else:
                e = m.addVar(lb=0.0)
                if loss == "absolute":
                    m.addCons(e >= y[i] - f)
                    m.addCons(e >= f - y[i])
                else:
                    m.addCons(e >= 1 - y[i] * f)
                terms.append(e)
        if loss == "squared":
            t = m.addVar(lb=0.0)
            m.addCons(pyscipopt.quicksum(r * r for r in terms) <= t)
            m.setObjective(t, "minimize")
        else:
            m.setObjective(pyscipopt.quicksum(terms), "minimize")
        m.optimize()
        lower = min(lower, m.getDualbound())
        if m.getNSols() == 0:
            continue
        sol = m.getBestSol()
        Wv = np.clip([[sol[W[j][k]] for k in range(d)] for j in range(h)], -B, B)
        bv = np.clip([sol[b[j]] for j in range(h)], -B, B)
        cv = float(sol[c]) if two_layer else 0.0
        vv = np.array(v)
        value = loss_value(y, forward(X, Wv, bv, vv, cv), loss)
        if best is None or value < best.loss:
            best = OracleResult(value, Wv, bv, vv, cv)
        # SCIP's point is accurate to its feasibility tolerance (1e-6) only: polish it by
        # solving the convex problem of its activation pattern.
        S = (X @ Wv.T + bv) > 0
        value, Wp, bp, cp, _ = fit_pattern(X, y, loss, B, bias, S, vv, two_layer)
        if value < best.loss:
            best = OracleResult(value, Wp, bp, vv, cp)
    best.lower = float(lower)
    return best
