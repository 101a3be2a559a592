"""Small convex programs over the weights, built directly for HiGHS.

The algorithms solve many convex problems whose variables are the few weights of a
network: fixed-pattern fits, and the surrogate and capped programs of ``approx``.
Squared loss is passed in *Gram form*: ``Σ (y_i - M_i·β)² = βᵀ(MᵀM)β - 2(Mᵀy)·β + Σy²``
with a dense ``p × p`` Hessian on the ``p`` weights, instead of one residual variable
and one equality row per sample. Besides being smaller, this form avoids a failure of
HiGHS's QP solver seen with the residual form ("QP solver claims optimality, but
with ... primal infeasibilities", model status *Solve error*) on data with targets
close to zero.

Every program is feasible at ``β = 0`` (all pre-activations zero) when the caller's
constraints are of the kinds used here, so a non-optimal status is a solver failure
and raises :class:`~exactrelu.errors.SolverError`.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

from exactrelu.errors import SolverError
from exactrelu.highs.matrix import INF, SparseRows, pass_model
from exactrelu.highs.quiet import quiet_highs
from exactrelu.network.losses import loss_at_zero
from exactrelu.network.networks import OneNodeNetwork, TwoLayerNetwork
from exactrelu.problem import Problem


@dataclass
class Rows:
    """Linear rows ``lower <= A β <= upper`` on the weights (dense, ``A`` of shape (r, p))."""

    A: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def solve_convex(
    loss: str,
    *,
    p: int,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
    M: np.ndarray | None = None,
    y: np.ndarray | None = None,
    rows: list[Rows] = (),
    free_Z: np.ndarray | None = None,
    free_y: np.ndarray | None = None,
    cap_up: tuple[np.ndarray, np.ndarray] | None = None,
    cap_lo: tuple[np.ndarray, np.ndarray] | None = None,
    s_bounds: tuple[float, float] | None = None,
    s_weight: float = 0.0,
    offset: float = 0.0,
    highs: highspy.Highs | None = None,
) -> tuple[np.ndarray, float | None, float]:
    """Minimise a sum of convex per-sample losses over the weights ``β``.

    Objective: ``Σ_i ℓ(y_i, M_i·β)`` over the rows of ``M`` (no sign constraint),
    plus ``Σ_j ℓ(free_y_j, a_j)`` with ``a_j >= 0``, ``a_j >= free_Z_j·β`` (samples
    whose loss is non-decreasing in the activation), plus ``s_weight·s²`` (squared)
    or ``s_weight·s`` (absolute, hinge), plus ``offset``.

    Parameters
    ----------
    loss : {"squared", "absolute", "hinge"}
    p : int
        Number of weights.
    col_lower, col_upper : ndarray of shape (p,)
        Bounds of the weights (the box; ``±inf`` for a free output bias).
    M : ndarray of shape (k, p), optional
        Rows whose output ``M_i·β`` enters the loss against ``y``.
    y : ndarray of shape (k,), optional
    rows : list of Rows
        Linear constraints on ``β`` (sign constraints of a fixed pattern).
    free_Z, free_y : ndarrays of shape (f, p) and (f,), optional
    cap_up : (Z, u), optional
        Rows ``Z_i·β - s <= u_i``.
    cap_lo : (Z, l), optional
        Rows ``Z_i·β + s >= l_i``.
    s_bounds : (lo, hi), optional
        Adds the scalar variable ``s`` with these bounds (``hi`` may be ``inf``).
    s_weight : float
    offset : float
    highs : highspy.Highs, optional
        Reused instance.

    Returns
    -------
    beta : ndarray of shape (p,)
    s : float or None
    objective : float
        The solver's objective value (callers recompute the true loss).
    """
    k = 0 if M is None else M.shape[0]
    f = 0 if free_Z is None else free_Z.shape[0]
    use_s = s_bounds is not None
    n_e = k if loss != "squared" else 0  # epigraph variables of absolute / hinge terms
    col_a = p
    col_e = col_a + f
    col_s = col_e + n_e
    num_col = col_s + (1 if use_s else 0)
    lower = np.empty(num_col)
    upper = np.empty(num_col)
    lower[:p], upper[:p] = col_lower, col_upper
    lower[col_a:col_e], upper[col_a:col_e] = 0.0, INF
    lower[col_e:col_s], upper[col_e:col_s] = (0.0 if loss == "hinge" else -INF), INF
    cost = np.zeros(num_col)
    hess_dense = None
    hess_diag = np.zeros(num_col)
    block = SparseRows()
    dense_cols = np.arange(p)

    def add_dense(A: np.ndarray, lo, hi, extra_cols=None, extra_vals=None) -> None:
        r = A.shape[0]
        if r == 0:
            return
        rid = np.repeat(np.arange(r), p)
        cid = np.tile(dense_cols, r)
        val = A.ravel()
        if extra_cols is not None:
            rid = np.concatenate([rid, np.arange(r)])
            cid = np.concatenate([cid, extra_cols])
            val = np.concatenate([val, extra_vals])
        block.add(
            rid,
            cid,
            val,
            np.broadcast_to(np.asarray(lo, float), (r,)),
            np.broadcast_to(np.asarray(hi, float), (r,)),
        )

    for R in rows:
        add_dense(R.A, R.lower, R.upper)
    if k:
        if loss == "squared":
            hess_dense = 2.0 * (M.T @ M)
            cost[:p] -= 2.0 * (M.T @ y)
            offset += float(y @ y)
        elif loss == "absolute":  # e >= y - Mβ  and  e >= Mβ - y
            e_cols = col_e + np.arange(k)
            add_dense(M, y, INF, e_cols, np.ones(k))
            add_dense(-M, -y, INF, e_cols, np.ones(k))
            cost[col_e:col_s] = 1.0
        else:  # hinge: e >= 1 - y Mβ, e >= 0
            e_cols = col_e + np.arange(k)
            add_dense(y[:, None] * M, np.ones(k), INF, e_cols, np.ones(k))
            cost[col_e:col_s] = 1.0
    if f:
        a_cols = col_a + np.arange(f)
        add_dense(-free_Z, np.zeros(f), INF, a_cols, np.ones(f))  # a - zβ >= 0
        if loss == "squared":
            hess_diag[a_cols] = 2.0
            cost[a_cols] = -2.0 * free_y
            offset += float(free_y @ free_y)
        elif loss == "absolute":  # y <= 0 <= a: |y - a| = a - y
            cost[a_cols] = 1.0
            offset -= float(np.sum(free_y))
        else:  # hinge with y = -1: max(0, 1 + a) = 1 + a
            cost[a_cols] = 1.0
            offset += float(f)
    if use_s:
        lower[col_s], upper[col_s] = s_bounds
        if loss == "squared":
            hess_diag[col_s] = 2.0 * s_weight
        else:
            cost[col_s] = s_weight
        if cap_up is not None and cap_up[0].shape[0]:
            Z, u = cap_up
            add_dense(Z, -INF, u, np.full(Z.shape[0], col_s), -np.ones(Z.shape[0]))
        if cap_lo is not None and cap_lo[0].shape[0]:
            Z, lo = cap_lo
            add_dense(Z, lo, INF, np.full(Z.shape[0], col_s), np.ones(Z.shape[0]))

    highs = highs or quiet_highs()
    if hess_dense is None and not hess_diag.any():
        pass_model(highs, cost=cost, col_lower=lower, col_upper=upper, block=block, offset=offset)
    else:
        _pass_qp(highs, cost, lower, upper, block, hess_dense, hess_diag, offset)
    highs.run()
    status = highs.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise SolverError(
            f"HiGHS did not solve a convex subproblem: {highs.modelStatusToString(status)}"
        )
    x = np.asarray(highs.getSolution().col_value)
    objective = float(highs.getInfo().objective_function_value)
    return x[:p].copy(), (float(x[col_s]) if use_s else None), objective


def _pass_qp(highs, cost, lower, upper, block: SparseRows, dense, diag, offset) -> None:
    """Pass a QP whose Hessian is a dense leading block plus a diagonal."""
    num_col = cost.size
    # lower triangle, column-wise (HiGHS's triangular Hessian format)
    p = 0 if dense is None else dense.shape[0]
    h_start = [0]
    h_index: list[np.ndarray] = []
    h_value: list[np.ndarray] = []
    for j in range(num_col):
        if j < p:
            idx = np.arange(j, p)
            val = dense[j:, j].copy()
            if diag[j]:
                val[0] += diag[j]
        else:
            idx = np.array([j]) if diag[j] else np.zeros(0, int)
            val = np.array([diag[j]]) if diag[j] else np.zeros(0)
        keep = val != 0.0
        if j < p:
            keep[0] = True  # keep the diagonal entry so the structure is regular
        h_index.append(idx[keep])
        h_value.append(val[keep])
        h_start.append(h_start[-1] + int(keep.sum()))
    hessian = (
        np.asarray(h_start),
        np.concatenate(h_index) if h_index else np.zeros(0, int),
        np.concatenate(h_value) if h_value else np.zeros(0),
    )
    pass_model(
        highs,
        cost=cost,
        col_lower=lower,
        col_upper=upper,
        block=block,
        hessian=hessian,
        offset=offset,
    )


def augmented(problem: Problem) -> np.ndarray:
    """``x̃_i = (x_i, 1)`` with a bias, ``x_i`` without; shape (n, D)."""
    X = problem.X
    return np.column_stack([X, np.ones(X.shape[0])]) if problem.bias else X


def box(problem: Problem, units: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Column bounds of ``units`` stacked hidden-unit weight vectors ``(w, b)``."""
    D = problem.d + (1 if problem.bias else 0)
    B = problem.weight_bound
    return np.full(units * D, -B), np.full(units * D, B)


def one_node_from_theta(theta: np.ndarray, problem: Problem) -> OneNodeNetwork:
    """The one-node network with ``θ = (w, b)`` clipped into the box."""
    B = problem.weight_bound
    theta = np.clip(np.asarray(theta, float), -B, B)
    d = problem.d
    return OneNodeNetwork(theta[:d].copy(), float(theta[d]) if problem.bias else 0.0)


def fit_one_node_pattern(
    problem: Problem,
    active: np.ndarray,
    free: np.ndarray,
    highs: highspy.Highs | None = None,
) -> tuple[OneNodeNetwork, float]:
    """Best one-node network with samples ``active`` (z >= 0) and the others inactive.

    Samples in ``free`` (loss non-decreasing in the activation) are left free
    (``a >= max(0, z)``). Same problem as :func:`exactrelu.convex.fixed_pattern.fit_fixed_pattern`
    in Gram form. Returns the network (clipped into the box) and its true loss.
    """
    Xt = augmented(problem)
    y = problem.y
    act = active & ~free
    ina = ~active & ~free
    D = Xt.shape[1]
    lo, hi = box(problem)
    const = float(np.sum(loss_at_zero(y[ina], problem.loss)))
    rows = [
        Rows(Xt[act], np.zeros(act.sum()), np.full(act.sum(), INF)),
        Rows(Xt[ina], np.full(ina.sum(), -INF), np.zeros(ina.sum())),
    ]
    theta, _, _ = solve_convex(
        problem.loss,
        p=D,
        col_lower=lo,
        col_upper=hi,
        M=Xt[act],
        y=y[act],
        rows=rows,
        free_Z=Xt[free],
        free_y=y[free],
        offset=const,
        highs=highs,
    )
    net = one_node_from_theta(theta, problem)
    return net, net.loss(problem.X, y, problem.loss)


def fit_two_layer_pattern(
    problem: Problem,
    pattern: np.ndarray,
    signs: np.ndarray,
    highs: highspy.Highs | None = None,
) -> tuple[TwoLayerNetwork, float]:
    """Best two-layer network with activation ``pattern`` (n, h) and output ``signs`` (h,).

    Returns the network (clipped into the box) and its true loss.
    """
    Xt = augmented(problem)
    y = problem.y
    n, D = Xt.shape
    h = pattern.shape[1]
    M = np.hstack([signs[j] * pattern[:, j, None] * Xt for j in range(h)] + [np.ones((n, 1))])
    p = h * D + 1
    lo, hi = box(problem, h)
    lo = np.r_[lo, -INF]
    hi = np.r_[hi, INF]
    rows = []
    for j in range(h):
        A = np.zeros((n, p))
        A[:, j * D : (j + 1) * D] = Xt
        rows.append(Rows(A, np.where(pattern[:, j], 0.0, -INF), np.where(pattern[:, j], INF, 0.0)))
    beta, _, _ = solve_convex(
        problem.loss, p=p, col_lower=lo, col_upper=hi, M=M, y=y, rows=rows, highs=highs
    )
    net = two_layer_from_beta(beta, signs, problem)
    return net, net.loss(problem.X, y, problem.loss)


def two_layer_from_beta(beta: np.ndarray, signs: np.ndarray, problem: Problem) -> TwoLayerNetwork:
    """Network from stacked unit weights ``β = (θ_1, ..., θ_h, c)``, clipped into the box."""
    D = problem.d + (1 if problem.bias else 0)
    h = signs.size
    B = problem.weight_bound
    thetas = np.clip(beta[: h * D].reshape(h, D), -B, B)
    d = problem.d
    b = thetas[:, d].copy() if problem.bias else np.zeros(h)
    return TwoLayerNetwork(thetas[:, :d].copy(), b, np.asarray(signs, float), float(beta[-1]))
