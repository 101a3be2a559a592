"""The convex problem left when the activation pattern is fixed.

With the pattern ``S`` (which unit is active on which sample) and the output signs
``v`` fixed, the network output is affine in the weights,

    f_i = Σ_j v_j S_ij (W_j·x_i + b_j) + c        (c = 0 for one-node),

subject to the linear sign constraints ``W_j·x_i + b_j >= 0`` where ``S_ij`` is true
and ``<= 0`` where it is false, and the box ``|W|, |b| <= B``. Squared loss gives a
convex QP, absolute and hinge loss an LP; both go to HiGHS. This is the workhorse of
the outer approximation's upper bound, of exact enumeration and of the approximation
algorithm.

The all-zero network satisfies every pattern's constraints (all ``z = 0``), so the
problem is always feasible.

One-node samples whose loss is non-decreasing in the activation ``a = max(0, z)``
(see :func:`loss_monotone_in_activation`) may be left *free*: they get
``a_i >= 0, a_i >= z_i`` and the loss of ``a_i`` instead of a sign constraint, which
is exact at the optimum because a smaller ``a_i`` never costs more.
"""

from __future__ import annotations

import highspy
import numpy as np

from exactrelu.convex.gram import PatternFit, box_binds, fit_one_node_pattern, fit_two_layer_pattern
from exactrelu.convex.tangents import AffineResiduals, tangent_rows
from exactrelu.errors import SolverError
from exactrelu.highs.matrix import INF, SparseRows, add_rows, pass_model, solve_to_optimum
from exactrelu.highs.quiet import quiet_highs
from exactrelu.network.networks import Network, OneNodeNetwork, TwoLayerNetwork
from exactrelu.problem import Problem


def loss_monotone_in_activation(y: np.ndarray, loss: str) -> np.ndarray:
    """Mask of samples whose loss never decreases as a one-node output ``a >= 0`` grows.

    Squared and absolute loss with ``y <= 0`` (the target lies left of every ``a >= 0``),
    hinge loss with ``y = -1`` (``max(0, 1 + a) = 1 + a``). For these samples the
    relaxation ``a >= max(0, z)`` is exact, so they need no binary variable.
    """
    if loss == "hinge":
        return y < 0
    return y <= 0


def fit_fixed_pattern(
    problem: Problem,
    pattern: np.ndarray,
    signs: np.ndarray | None = None,
    free: np.ndarray | None = None,
    *,
    highs: highspy.Highs | None = None,
    radius: float | None = None,
) -> PatternFit:
    """Best network of the class whose activation pattern is ``pattern``.

    Parameters
    ----------
    problem : Problem
    pattern : ndarray of bool, shape (n_samples, width)
        ``pattern[i, j]``: unit j is active (``z_ij >= 0``) on sample i, else ``z_ij <= 0``.
    signs : ndarray of shape (width,), optional
        Output signs of a two-layer network (default all +1); ignored for one-node.
    free : ndarray of bool, shape (n_samples,), optional
        One-node only: samples left free (their sign row in ``pattern`` is ignored).
        Each must satisfy :func:`loss_monotone_in_activation`.
    highs : highspy.Highs, optional
        A HiGHS instance to reuse (its model is replaced).
    radius : float, optional
        The box of the weights (default the problem's); ``inf``: no box (the network
        may then lie outside the class's box).

    Returns
    -------
    PatternFit
        ``network`` (clipped into the box), its ``loss`` recomputed in float64, and
        ``box_binds``: whether the box limited it (when False, the network is also the
        best of the pattern over all weights).

    Notes
    -----
    The program goes to HiGHS in Gram form first (:mod:`exactrelu.convex`: a dense
    Hessian on the few weights). HiGHS's QP solver has been seen to end in "Solve
    error" on either form for some data, so on failure the residual form is tried on
    a fresh HiGHS instance; :class:`~exactrelu.errors.SolverError` only if both fail.
    """
    pattern = np.asarray(pattern, bool).reshape(problem.n, problem.width)
    try:
        if problem.arch == "one-node":
            free_mask = np.zeros(problem.n, bool) if free is None else np.asarray(free, bool)
            return fit_one_node_pattern(problem, pattern[:, 0], free_mask, highs, radius)
        v = np.ones(problem.width) if signs is None else np.asarray(signs, float)
        return fit_two_layer_pattern(problem, pattern, v, highs, radius)
    except SolverError:
        if highs is not None:
            highs.clearSolver()  # a failed solve can leave the reused instance in a bad state
        return _fit_residual_form(problem, pattern, signs, free, radius)


def _fit_residual_form(
    problem: Problem,
    pattern: np.ndarray,
    signs: np.ndarray | None,
    free: np.ndarray | None,
    radius: float | None = None,
) -> PatternFit:
    """Residual form, on a fresh HiGHS: one residual variable and equality row per sample."""
    form = _ResidualForm(problem, pattern, signs, free, radius)
    highs = quiet_highs()
    form.load(highs)
    x = solve_to_optimum(highs, "a fixed-pattern problem")
    network, loss = form.network(x)
    theta = slice(0, form.n_theta)
    duals = np.asarray(highs.getSolution().col_dual)[theta]
    binds = box_binds(x[theta], duals, form.lower[theta], form.upper[theta], loss)
    return PatternFit(network, loss, binds)


def rescue_squared_pattern(
    problem: Problem,
    pattern: np.ndarray,
    signs: np.ndarray | None,
    free: np.ndarray | None = None,
    rounds: int = 5,
) -> tuple[Network, float] | None:
    """A network and a proven lower bound for a squared-loss pattern HiGHS's QP failed on.

    HiGHS's QP solver runs without regularisation here (it hurts degenerate patterns)
    and a few patterns then hit the iteration limit on both forms. With its default
    regularisation they solve, but a regularised optimum is only near-optimal, so it
    is used as an upper bound (its network) and as the place for tangents: the LP
    ``min Σ t_i`` with ``t_i >= 2 r̄ r_i - r̄²`` at its residuals (and then at each LP's)
    underestimates ``Σ r_i²`` over the same constraints, so its value is a proven lower
    bound for the pattern (LPs do not suffer the QP's trouble). ``pattern``, ``signs``
    and ``free`` as in :func:`fit_fixed_pattern`. Returns ``(network, bound)``, or None
    when HiGHS fails again.
    """
    form = _ResidualForm(problem, pattern, signs, free)
    highs = quiet_highs()
    highs.setOptionValue("qp_regularization_value", 1e-7)  # HiGHS's default
    form.load(highs)
    try:
        network, _ = form.network(solve_to_optimum(highs, "a fixed-pattern problem"))
    except SolverError:
        return None
    n, r = problem.n, form.col_loss
    t = form.num_col  # epigraph columns t_i after the form's own columns
    cost = np.r_[np.zeros(form.num_col), np.ones(n)]
    lower, upper = np.r_[form.lower, np.zeros(n)], np.r_[form.upper, np.full(n, INF)]
    lower[r : r + n], upper[r : r + n] = -INF, INF  # residuals r_i = y_i - f_i, free
    lp = quiet_highs()
    pass_model(lp, cost, lower, upper, form.block)
    residuals = problem.y - network.predict(problem.X)
    samples = np.arange(n)
    bound = 0.0
    residual_columns = AffineResiduals.free_columns(r + samples)
    for _ in range(rounds):
        add_rows(lp, tangent_rows(residuals, t + samples, residual_columns))
        lp.run()
        if lp.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        bound = max(bound, lp.getInfo().objective_function_value)
        residuals = np.asarray(lp.getSolution().col_value)[r : r + n]
    return network, bound


class _ResidualForm:
    """The fixed-pattern program in residual form, as HiGHS arrays.

    Columns: ``W`` (h·d) | ``b`` (h) | ``c`` (two-layer) | one loss variable per sample
    (the residual for squared loss, the epigraph for absolute and hinge) | the activation
    ``a_i`` of each free sample. Rows: the pattern's sign rows, ``a_i >= z_i`` for free
    samples, then the loss rows (squared: ``r_i + f_i = y_i``).
    """

    def __init__(
        self,
        problem: Problem,
        pattern: np.ndarray,
        signs: np.ndarray | None,
        free: np.ndarray | None,
        radius: float | None = None,
    ) -> None:
        self.problem = problem
        self.radius = problem.box_radius if radius is None else radius
        n, h = problem.n, problem.width
        two_layer = problem.arch == "two-layer"
        self.pattern = np.asarray(pattern, bool).reshape(n, h)
        self.signs = np.ones(h) if (signs is None or not two_layer) else np.asarray(signs, float)
        self.free = np.zeros(n, bool) if (free is None or two_layer) else np.asarray(free, bool)
        self.xb = np.column_stack([problem.X, np.ones(n)])  # coefficients of (W_j, b_j) in z_ij
        self._columns()
        self.block = SparseRows()
        self._sign_rows()
        self._free_rows()
        self._loss_rows(*self._prediction())

    def _columns(self) -> None:
        problem = self.problem
        n, d, h, B = problem.n, problem.d, problem.width, self.radius
        self.n_theta = h * d + h + (1 if problem.arch == "two-layer" else 0)
        self.col_loss = self.n_theta
        self.col_a = self.col_loss + n
        self.num_col = self.col_a + int(self.free.sum())
        lower = np.full(self.num_col, -INF)
        upper = np.full(self.num_col, INF)
        lower[: h * d + h] = -B
        upper[: h * d + h] = B
        if not problem.bias:
            lower[h * d : h * d + h] = 0.0
            upper[h * d : h * d + h] = 0.0
        if problem.loss != "squared":
            lower[self.col_loss : self.col_loss + n] = 0.0
        lower[self.col_a :] = 0.0
        self.cost = np.zeros(self.num_col)
        self.hess = None
        if problem.loss == "squared":
            self.hess = np.zeros(self.num_col)
            self.hess[self.col_loss : self.col_loss + n] = 2.0
        else:
            self.cost[self.col_loss : self.col_loss + n] = 1.0
        self.lower, self.upper = lower, upper

    def _unit_columns(self, j: int) -> np.ndarray:
        """The columns of ``(W_j, b_j)``."""
        d = self.problem.d
        return np.r_[j * d + np.arange(d), self.problem.width * d + j]

    def _sign_rows(self) -> None:
        """``z_ij >= 0`` where unit j is active on sample i, ``<= 0`` where inactive
        (free samples have none)."""
        d = self.problem.d
        fixed = np.flatnonzero(~self.free)
        S = self.pattern
        for j in range(self.problem.width):
            m = fixed.size
            self.block.add(
                np.repeat(np.arange(m), d + 1),
                np.tile(self._unit_columns(j), m),
                self.xb[fixed].ravel(),
                np.where(S[fixed, j], 0.0, -INF),
                np.where(S[fixed, j], INF, 0.0),
            )

    def _free_rows(self) -> None:
        """``a_i - z_i >= 0`` for every free sample (with ``a_i >= 0`` from its bounds)."""
        free_idx = np.flatnonzero(self.free)
        if not free_idx.size:
            return
        d, m = self.problem.d, free_idx.size
        self.block.add(
            np.concatenate([np.repeat(np.arange(m), d + 1), np.arange(m)]),
            np.concatenate([np.tile(self._unit_columns(0), m), self.col_a + np.arange(m)]),
            np.concatenate([-self.xb[free_idx].ravel(), np.ones(m)]),
            np.zeros(m),
            INF,
        )

    def _prediction(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The prediction ``f_i`` of each sample as COO triplets (sample, column, value)."""
        problem = self.problem
        n, d, h = problem.n, problem.d, problem.width
        rows, cols, vals = [], [], []
        for j in range(h):
            active = np.flatnonzero(self.pattern[:, j] & ~self.free)
            rows.append(np.repeat(active, d + 1))
            cols.append(np.tile(self._unit_columns(j), active.size))
            vals.append(self.signs[j] * self.xb[active].ravel())
        if problem.arch == "two-layer":
            rows.append(np.arange(n))
            cols.append(np.full(n, h * d + h))
            vals.append(np.ones(n))
        free_idx = np.flatnonzero(self.free)
        if free_idx.size:
            rows.append(free_idx)
            cols.append(self.col_a + np.arange(free_idx.size))
            vals.append(np.ones(free_idx.size))
        return tuple(map(np.concatenate, (rows, cols, vals)))

    def _loss_rows(self, f_rows: np.ndarray, f_cols: np.ndarray, f_vals: np.ndarray) -> None:
        """Squared: ``r_i + f_i = y_i``; absolute: ``e_i >= ±(y_i - f_i)``; hinge:
        ``e_i + y_i f_i >= 1``."""
        y, n, loss = self.problem.y, self.problem.n, self.problem.loss
        samples = np.arange(n)
        rows = np.r_[f_rows, samples]
        cols = np.r_[f_cols, self.col_loss + samples]
        if loss == "squared":
            self.block.add(rows, cols, np.r_[f_vals, np.ones(n)], y, y)
        elif loss == "absolute":
            self.block.add(rows, cols, np.r_[f_vals, np.ones(n)], y, INF)
            self.block.add(rows, cols, np.r_[-f_vals, np.ones(n)], -y, INF)
        else:
            self.block.add(rows, cols, np.r_[y[f_rows] * f_vals, np.ones(n)], np.ones(n), INF)

    def load(self, highs: highspy.Highs) -> None:
        pass_model(highs, self.cost, self.lower, self.upper, self.block, hessian_diag=self.hess)

    def network(self, solution: np.ndarray) -> tuple[Network, float]:
        """The network of a solution vector, clipped into the box, and its loss."""
        problem = self.problem
        h, d, B = problem.width, problem.d, self.radius
        theta = solution[: self.n_theta]
        # The solver may leave weights a hair outside the box; clip into the class.
        W = np.clip(theta[: h * d].reshape(h, d), -B, B)
        b = np.clip(theta[h * d : h * d + h], -B, B)
        if problem.arch == "two-layer":
            network: Network = TwoLayerNetwork(W, b, self.signs, float(theta[-1]))
        else:
            network = OneNodeNetwork(W[0], float(b[0]))
        return network, network.loss(problem.X, problem.y, problem.loss)
