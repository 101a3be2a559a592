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
from typing import NamedTuple

import highspy
import numpy as np

from exactrelu.highs.matrix import INF, SparseRows, pass_model, solve_to_optimum
from exactrelu.highs.quiet import quiet_highs
from exactrelu.network.losses import loss_at_zero
from exactrelu.network.networks import Network, OneNodeNetwork, TwoLayerNetwork
from exactrelu.problem import Problem


class ConvexSolution(NamedTuple):
    """The solution of :func:`solve_convex`.

    ``box_binds``: some weight sits on a finite bound with a nonzero multiplier, so the
    program without those bounds might do better. When False, the solution satisfies the
    optimality conditions of the program without the bounds too (a convex program): its
    value is also the optimum over all weights.
    """

    beta: np.ndarray
    s: float | None
    objective: float
    box_binds: bool


class PatternFit(NamedTuple):
    """The best network of a fixed activation pattern, its loss in float64, and whether
    the box limited it (see :class:`ConvexSolution`)."""

    network: Network
    loss: float
    box_binds: bool


def box_binds(
    x: np.ndarray, duals: np.ndarray, lower: np.ndarray, upper: np.ndarray, objective: float
) -> bool:
    """Some column sits on a finite bound with a nonzero reduced cost (KKT multiplier)."""
    scale = np.maximum(1.0, np.maximum(np.abs(lower), np.abs(upper)))
    finite = np.isfinite(lower) | np.isfinite(upper)
    at_bound = (np.abs(x - lower) <= 1e-9 * scale) | (np.abs(x - upper) <= 1e-9 * scale)
    pushing = np.abs(duals) > 1e-7 * max(1.0, abs(objective))
    return bool(np.any(finite & at_bound & pushing))


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
    ConvexSolution
        ``beta`` of shape (p,), ``s`` (or None), the solver's ``objective`` (callers
        recompute the true loss) and whether the weights' bounds bind.
    """
    model = _ConvexProgram(
        loss,
        p=p,
        n_terms=0 if M is None else M.shape[0],
        n_free=0 if free_Z is None else free_Z.shape[0],
        scalar=s_bounds is not None,
        offset=offset,
    )
    model.set_weight_bounds(col_lower, col_upper)
    for R in rows:
        model.add_dense(R.A, R.lower, R.upper)
    if M is not None and M.shape[0]:
        model.add_loss_terms(M, y)
    if free_Z is not None and free_Z.shape[0]:
        model.add_free_samples(free_Z, free_y)
    if s_bounds is not None:
        model.add_scalar(s_bounds, s_weight, cap_up, cap_lo)
    highs = highs or quiet_highs()
    x, objective = model.solve(highs)
    duals = np.asarray(highs.getSolution().col_dual)[:p]
    return ConvexSolution(
        x[:p].copy(),
        float(x[model.col_s]) if s_bounds is not None else None,
        objective,
        box_binds(x[:p], duals, model.lower[:p], model.upper[:p], objective),
    )


class _ConvexProgram:
    """The program of :func:`solve_convex`, built term by term for HiGHS.

    Columns: the weights ``β`` (``p``) | activations ``a`` of free samples | epigraph
    ``e`` of absolute / hinge terms | the scalar ``s``. Squared terms go into the Hessian
    (Gram form), the others into rows.
    """

    def __init__(
        self, loss: str, *, p: int, n_terms: int, n_free: int, scalar: bool, offset: float
    ) -> None:
        self.loss, self.p = loss, p
        n_e = n_terms if loss != "squared" else 0
        self.col_a = p
        self.col_e = self.col_a + n_free
        self.col_s = self.col_e + n_e
        num_col = self.col_s + (1 if scalar else 0)
        self.lower = np.empty(num_col)
        self.upper = np.empty(num_col)
        self.lower[self.col_a : self.col_e], self.upper[self.col_a : self.col_e] = 0.0, INF
        self.lower[self.col_e : self.col_s] = 0.0 if loss == "hinge" else -INF
        self.upper[self.col_e : self.col_s] = INF
        self.cost = np.zeros(num_col)
        self.hess_dense: np.ndarray | None = None
        self.hess_diag = np.zeros(num_col)
        self.block = SparseRows()
        self.offset = offset

    def set_weight_bounds(self, lower: np.ndarray, upper: np.ndarray) -> None:
        self.lower[: self.p], self.upper[: self.p] = lower, upper

    def add_dense(self, A: np.ndarray, lo, hi, extra_cols=None, extra_vals=None) -> None:
        """Rows ``lo <= A β (+ extra) <= hi``; ``extra``: one more column per row."""
        r = A.shape[0]
        if r == 0:
            return
        rid = np.repeat(np.arange(r), self.p)
        cid = np.tile(np.arange(self.p), r)
        val = A.ravel()
        if extra_cols is not None:
            rid = np.concatenate([rid, np.arange(r)])
            cid = np.concatenate([cid, extra_cols])
            val = np.concatenate([val, extra_vals])
        self.block.add(
            rid,
            cid,
            val,
            np.broadcast_to(np.asarray(lo, float), (r,)),
            np.broadcast_to(np.asarray(hi, float), (r,)),
        )

    def add_loss_terms(self, M: np.ndarray, y: np.ndarray) -> None:
        """``Σ_i ℓ(y_i, M_i·β)``: squared in Gram form, absolute and hinge by epigraphs."""
        k, p = M.shape[0], self.p
        if self.loss == "squared":
            # Σ (y_i - M_i·β)² = βᵀ(MᵀM)β - 2(Mᵀy)·β + Σ y²
            self.hess_dense = 2.0 * (M.T @ M)
            self.cost[:p] -= 2.0 * (M.T @ y)
            self.offset += float(y @ y)
            return
        e_cols = self.col_e + np.arange(k)
        if self.loss == "absolute":  # e >= y - Mβ  and  e >= Mβ - y
            self.add_dense(M, y, INF, e_cols, np.ones(k))
            self.add_dense(-M, -y, INF, e_cols, np.ones(k))
        else:  # hinge: e >= 1 - y Mβ, e >= 0
            self.add_dense(y[:, None] * M, np.ones(k), INF, e_cols, np.ones(k))
        self.cost[self.col_e : self.col_s] = 1.0

    def add_free_samples(self, Z: np.ndarray, y: np.ndarray) -> None:
        """``Σ_j ℓ(y_j, a_j)`` with ``a_j >= 0``, ``a_j >= Z_j·β`` (loss monotone in ``a``)."""
        f = Z.shape[0]
        a_cols = self.col_a + np.arange(f)
        self.add_dense(-Z, np.zeros(f), INF, a_cols, np.ones(f))  # a - zβ >= 0
        if self.loss == "squared":
            self.hess_diag[a_cols] = 2.0
            self.cost[a_cols] = -2.0 * y
            self.offset += float(y @ y)
        elif self.loss == "absolute":  # y <= 0 <= a: |y - a| = a - y
            self.cost[a_cols] = 1.0
            self.offset -= float(np.sum(y))
        else:  # hinge with y = -1: max(0, 1 + a) = 1 + a
            self.cost[a_cols] = 1.0
            self.offset += float(f)

    def add_scalar(self, bounds, weight: float, cap_up, cap_lo) -> None:
        """The scalar ``s`` (weight ``s²`` or ``s``) and its rows ``Z β - s <= u``,
        ``Z β + s >= l``."""
        s = self.col_s
        self.lower[s], self.upper[s] = bounds
        if self.loss == "squared":
            self.hess_diag[s] = 2.0 * weight
        else:
            self.cost[s] = weight
        if cap_up is not None and cap_up[0].shape[0]:
            Z, u = cap_up
            self.add_dense(Z, -INF, u, np.full(Z.shape[0], s), -np.ones(Z.shape[0]))
        if cap_lo is not None and cap_lo[0].shape[0]:
            Z, lo = cap_lo
            self.add_dense(Z, lo, INF, np.full(Z.shape[0], s), np.ones(Z.shape[0]))

    def solve(self, highs: highspy.Highs) -> tuple[np.ndarray, float]:
        """Pass, run; the solution vector and HiGHS's objective, or :class:`SolverError`."""
        if self.hess_dense is None and not self.hess_diag.any():
            pass_model(highs, self.cost, self.lower, self.upper, self.block, offset=self.offset)
        else:
            _pass_qp(
                highs,
                self.cost,
                self.lower,
                self.upper,
                self.block,
                self.hess_dense,
                self.hess_diag,
                self.offset,
            )
        x = solve_to_optimum(highs, "a convex subproblem")
        return x, float(highs.getInfo().objective_function_value)


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
    pass_model(highs, cost, lower, upper, block, hessian=hessian, offset=offset)


def augmented(problem: Problem) -> np.ndarray:
    """``x̃_i = (x_i, 1)`` with a bias, ``x_i`` without; shape (n, D)."""
    X = problem.X
    return np.column_stack([X, np.ones(X.shape[0])]) if problem.bias else X


def box(
    problem: Problem, units: int = 1, radius: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Column bounds of ``units`` stacked hidden-unit weight vectors ``(w, b)``.

    ``radius``: the box's (default the problem's; ``inf`` for no box).
    """
    D = problem.d + (1 if problem.bias else 0)
    B = problem.box_radius if radius is None else radius
    return np.full(units * D, -B), np.full(units * D, B)


def one_node_from_theta(
    theta: np.ndarray, problem: Problem, radius: float | None = None
) -> OneNodeNetwork:
    """The one-node network with ``θ = (w, b)`` clipped into the box (``radius`` as in
    :func:`box`)."""
    B = problem.box_radius if radius is None else radius
    theta = np.clip(np.asarray(theta, float), -B, B)
    d = problem.d
    return OneNodeNetwork(theta[:d].copy(), float(theta[d]) if problem.bias else 0.0)


def fit_one_node_pattern(
    problem: Problem,
    active: np.ndarray,
    free: np.ndarray,
    highs: highspy.Highs | None = None,
    radius: float | None = None,
) -> PatternFit:
    """Best one-node network with samples ``active`` (z >= 0) and the others inactive.

    Samples in ``free`` (loss non-decreasing in the activation) are left free
    (``a >= max(0, z)``). Same problem as :func:`exactrelu.convex.fixed_pattern.fit_fixed_pattern`
    in Gram form. Returns the network (clipped into the box), its true loss, and whether
    the box binds.
    """
    Xt = augmented(problem)
    y = problem.y
    act = active & ~free
    ina = ~active & ~free
    D = Xt.shape[1]
    lo, hi = box(problem, radius=radius)
    const = float(np.sum(loss_at_zero(y[ina], problem.loss)))
    rows = [
        Rows(Xt[act], np.zeros(act.sum()), np.full(act.sum(), INF)),
        Rows(Xt[ina], np.full(ina.sum(), -INF), np.zeros(ina.sum())),
    ]
    solution = solve_convex(
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
    net = one_node_from_theta(solution.beta, problem, radius)
    return PatternFit(net, net.loss(problem.X, y, problem.loss), solution.box_binds)


def fit_two_layer_pattern(
    problem: Problem,
    pattern: np.ndarray,
    signs: np.ndarray,
    highs: highspy.Highs | None = None,
    radius: float | None = None,
) -> PatternFit:
    """Best two-layer network with activation ``pattern`` (n, h) and output ``signs`` (h,).

    Returns the network (clipped into the box), its true loss, and whether the box binds.
    """
    Xt = augmented(problem)
    y = problem.y
    n, D = Xt.shape
    h = pattern.shape[1]
    M = np.hstack([signs[j] * pattern[:, j, None] * Xt for j in range(h)] + [np.ones((n, 1))])
    p = h * D + 1
    lo, hi = box(problem, h, radius)
    lo = np.r_[lo, -INF]
    hi = np.r_[hi, INF]
    rows = []
    for j in range(h):
        A = np.zeros((n, p))
        A[:, j * D : (j + 1) * D] = Xt
        rows.append(Rows(A, np.where(pattern[:, j], 0.0, -INF), np.where(pattern[:, j], INF, 0.0)))
    solution = solve_convex(
        problem.loss, p=p, col_lower=lo, col_upper=hi, M=M, y=y, rows=rows, highs=highs
    )
    net = two_layer_from_beta(solution.beta, signs, problem, radius)
    return PatternFit(net, net.loss(problem.X, y, problem.loss), solution.box_binds)


def two_layer_from_beta(
    beta: np.ndarray, signs: np.ndarray, problem: Problem, radius: float | None = None
) -> TwoLayerNetwork:
    """Network from stacked unit weights ``β = (θ_1, ..., θ_h, c)``, clipped into the box
    (``radius`` as in :func:`box`)."""
    D = problem.d + (1 if problem.bias else 0)
    h = signs.size
    B = problem.box_radius if radius is None else radius
    thetas = np.clip(beta[: h * D].reshape(h, D), -B, B)
    d = problem.d
    b = thetas[:, d].copy() if problem.bias else np.zeros(h)
    return TwoLayerNetwork(thetas[:, :d].copy(), b, np.asarray(signs, float), float(beta[-1]))
