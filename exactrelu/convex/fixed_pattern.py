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

from exactrelu.convex.gram import fit_one_node_pattern, fit_two_layer_pattern
from exactrelu.convex.tangents import AffineResiduals, tangent_rows
from exactrelu.errors import SolverError
from exactrelu.highs.matrix import INF, SparseRows, add_rows, pass_model
from exactrelu.highs.quiet import quiet_highs
from exactrelu.network.networks import Network, OneNodeNetwork, TwoLayerNetwork
from exactrelu.problem import Problem


def loss_monotone_in_activation(y: np.ndarray, loss: str) -> np.ndarray:
    """Mask of samples whose loss never decreases as a one-node output ``a >= 0`` grows.

    Squared and absolute loss with ``y <= 0`` (the target lies left of every ``a >= 0``),
    hinge loss with ``y = -1`` (``max(0, 1 + a) = 1 + a``). For these samples the
    relaxation ``a >= max(0, z)`` is exact, so they need no binary variable (SPEC §3).
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
) -> tuple[Network, float]:
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

    Returns
    -------
    network : OneNodeNetwork or TwoLayerNetwork
    objective : float
        Its loss recomputed in float64.

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
            return fit_one_node_pattern(problem, pattern[:, 0], free_mask, highs)
        v = np.ones(problem.width) if signs is None else np.asarray(signs, float)
        return fit_two_layer_pattern(problem, pattern, v, highs)
    except SolverError:
        if highs is not None:
            highs.clearSolver()  # a failed solve can leave the reused instance in a bad state
        return _fit_residual_form(problem, pattern, signs, free)


def _fit_residual_form(
    problem: Problem, pattern: np.ndarray, signs: np.ndarray | None, free: np.ndarray | None
) -> tuple[Network, float]:
    """Residual form, on a fresh HiGHS: one residual variable and equality row per sample."""
    form = _ResidualForm(problem, pattern, signs, free)
    highs = quiet_highs()
    form.load(highs)
    return form.network(_solve(highs))


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
        network, _ = form.network(_solve(highs))
    except SolverError:
        return None
    n, r = problem.n, form.col_loss
    t = form.num_col  # epigraph columns t_i after the form's own columns
    cost = np.r_[np.zeros(form.num_col), np.ones(n)]
    lower, upper = np.r_[form.lower, np.zeros(n)], np.r_[form.upper, np.full(n, INF)]
    lower[r : r + n], upper[r : r + n] = -INF, INF  # residuals r_i = y_i - f_i, free
    lp = quiet_highs()
    pass_model(lp, cost=cost, col_lower=lower, col_upper=upper, block=form.block)
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
    """The fixed-pattern program in residual form, as HiGHS arrays (columns below)."""

    def __init__(
        self,
        problem: Problem,
        pattern: np.ndarray,
        signs: np.ndarray | None,
        free: np.ndarray | None,
    ) -> None:
        self.problem = problem
        X, y = problem.X, problem.y
        n, d = X.shape
        h = problem.width
        two_layer = problem.arch == "two-layer"
        S = np.asarray(pattern, bool).reshape(n, h)
        v = np.ones(h) if (signs is None or not two_layer) else np.asarray(signs, float)
        free = np.zeros(n, bool) if (free is None or two_layer) else np.asarray(free, bool)
        B = problem.weight_bound

        # columns: W (h*d) | b (h) | c (two-layer) | loss vars (n) | a for free samples
        n_theta = h * d + h + (1 if two_layer else 0)
        free_idx = np.flatnonzero(free)
        col_loss = n_theta
        col_a = col_loss + n
        num_col = col_a + free_idx.size
        lower = np.full(num_col, -INF)
        upper = np.full(num_col, INF)
        lower[: h * d + h] = -B
        upper[: h * d + h] = B
        if not problem.bias:
            lower[h * d : h * d + h] = 0.0
            upper[h * d : h * d + h] = 0.0
        if problem.loss != "squared":
            lower[col_loss : col_loss + n] = 0.0
        lower[col_a:] = 0.0
        cost = np.zeros(num_col)
        hess = None
        if problem.loss == "squared":
            hess = np.zeros(num_col)
            hess[col_loss : col_loss + n] = 2.0
        else:
            cost[col_loss : col_loss + n] = 1.0

        block = SparseRows()
        z_cols = np.concatenate([np.arange(d), [h * d]])  # W_0 then b_0; shifted per unit
        xb = np.column_stack([X, np.ones(n)])  # coefficients of (W_j, b_j) in z_ij
        # sign rows z_ij >= 0 (active) or <= 0 (inactive), skipping free samples
        fixed = np.flatnonzero(~free)
        for j in range(h):
            cols_j = z_cols + np.r_[np.full(d, j * d), j]
            m = fixed.size
            block.add(
                np.repeat(np.arange(m), d + 1),
                np.tile(cols_j, m),
                xb[fixed].ravel(),
                np.where(S[fixed, j], 0.0, -INF),
                np.where(S[fixed, j], INF, 0.0),
            )
        # free samples: a_i - z_i >= 0
        if free_idx.size:
            m = free_idx.size
            block.add(
                np.concatenate([np.repeat(np.arange(m), d + 1), np.arange(m)]),
                np.concatenate([np.tile(z_cols, m), col_a + np.arange(m)]),
                np.concatenate([-xb[free_idx].ravel(), np.ones(m)]),
                np.zeros(m),
                INF,
            )
        # prediction f_i as (cols, coefs) per sample, then the loss rows
        f_rows, f_cols, f_vals = [], [], []
        for j in range(h):
            active = np.flatnonzero(S[:, j] & ~free)
            cols_j = z_cols + np.r_[np.full(d, j * d), j]
            f_rows.append(np.repeat(active, d + 1))
            f_cols.append(np.tile(cols_j, active.size))
            f_vals.append(v[j] * xb[active].ravel())
        if two_layer:
            f_rows.append(np.arange(n))
            f_cols.append(np.full(n, h * d + h))
            f_vals.append(np.ones(n))
        if free_idx.size:
            f_rows.append(free_idx)
            f_cols.append(col_a + np.arange(free_idx.size))
            f_vals.append(np.ones(free_idx.size))
        f_rows, f_cols, f_vals = map(np.concatenate, (f_rows, f_cols, f_vals))
        loss_col = col_loss + np.arange(n)
        if problem.loss == "squared":  # r_i + f_i = y_i
            block.add(
                np.r_[f_rows, np.arange(n)],
                np.r_[f_cols, loss_col],
                np.r_[f_vals, np.ones(n)],
                y,
                y,
            )
        elif problem.loss == "absolute":  # e_i + f_i >= y_i and e_i - f_i >= -y_i
            block.add(
                np.r_[f_rows, np.arange(n)],
                np.r_[f_cols, loss_col],
                np.r_[f_vals, np.ones(n)],
                y,
                INF,
            )
            block.add(
                np.r_[f_rows, np.arange(n)],
                np.r_[f_cols, loss_col],
                np.r_[-f_vals, np.ones(n)],
                -y,
                INF,
            )
        else:  # hinge: e_i + y_i f_i >= 1
            block.add(
                np.r_[f_rows, np.arange(n)],
                np.r_[f_cols, loss_col],
                np.r_[y[f_rows] * f_vals, np.ones(n)],
                np.ones(n),
                INF,
            )

        self.cost, self.lower, self.upper, self.hess, self.block = cost, lower, upper, hess, block
        self.num_col, self.col_loss, self.n_theta, self.signs = num_col, col_loss, n_theta, v

    def load(self, highs: highspy.Highs) -> None:
        pass_model(
            highs,
            cost=self.cost,
            col_lower=self.lower,
            col_upper=self.upper,
            block=self.block,
            hessian_diag=self.hess,
        )

    def network(self, solution: np.ndarray) -> tuple[Network, float]:
        """The network of a solution vector, clipped into the box, and its loss."""
        problem = self.problem
        h, d, B = problem.width, problem.d, problem.weight_bound
        theta = solution[: self.n_theta]
        # The solver may leave weights a hair outside the box; clip into the class.
        W = np.clip(theta[: h * d].reshape(h, d), -B, B)
        b = np.clip(theta[h * d : h * d + h], -B, B)
        if problem.arch == "two-layer":
            network: Network = TwoLayerNetwork(W, b, self.signs, float(theta[-1]))
        else:
            network = OneNodeNetwork(W[0], float(b[0]))
        return network, network.loss(problem.X, problem.y, problem.loss)


def _solve(highs: highspy.Highs) -> np.ndarray:
    """Run a loaded ``highs``; its primal solution, or :class:`SolverError`."""
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise SolverError(
            "HiGHS did not solve a fixed-pattern problem: "
            + highs.modelStatusToString(highs.getModelStatus())
        )
    return np.asarray(highs.getSolution().col_value)
