"""The plain big-M model of ReLU training, described once for every peer solver.

A :class:`BigMModel` is plain data (columns, rows, objective), apart from any solver:
each peer's adapter writes it into its own solver (SCIP, Gurobi, HiGHS). It is the
model a strong user would write without exactrelu's tightening: one model per
output-sign case, a binary and the box big-M for every sample and unit, and a
symmetry row between exchangeable units. No binary-free samples, no bounds tightened
by a cutoff, no convexity cuts.

Columns (``i`` ranges over samples, ``j`` over hidden units, ``k`` over features):

* ``W[j, k] ∈ [-B, B]``, ``b[j] ∈ [-B, B]`` (``[0, 0]`` without bias);
* two-layer: ``c`` free. Output signs are data, not columns: one model per sign case
  (:func:`sign_cases`), units ``0..p-1`` with ``v = +1``, the rest ``v = -1``. A
  two-layer network is optimal in the case of its own signs (units of one sign can be
  reordered), so the class optimum is the smallest case optimum;
* ``a[i, j] ∈ [0, U_i]``: the activation ``max(0, z_ij)``, ``z_ij = Σ_k x_ik W[j, k] + b[j]``;
* ``s[i, j] ∈ {0, 1}``: unit ``j`` active on sample ``i``;
* absolute and hinge loss: ``e[i] >= 0``, the sample's loss.

``U_i = B (‖x_i‖₁ + 1)`` (without bias ``B ‖x_i‖₁``) bounds ``|z_ij|`` over the box.
The output is ``f_i = Σ_j v_j a_ij + c`` (one-node: ``f_i = a_i0``).

Rows (each next to the code that builds it):

* ``a_ij - z_ij >= 0``                    with ``a_ij >= 0``: ``a_ij >= max(0, z_ij)``;
* ``a_ij - z_ij + U_i s_ij <= U_i``       ``s_ij = 1`` forces ``a_ij <= z_ij``, so ``a = z``;
* ``a_ij - U_i s_ij <= 0``                ``s_ij = 0`` forces ``a_ij = 0``;
* ``Σ_i s_ij - Σ_i s_i,j+1 >= 0``          for consecutive units ``j, j+1`` of one sign;
* absolute: ``e_i + f_i >= y_i`` and ``e_i - f_i >= -y_i``; hinge: ``e_i + y_i f_i >= 1``.

The symmetry row is what a strong user adds by hand: units of one output sign are
exchangeable, so ordering them by activation count (``s_ij = 1`` exactly where
``z_ij > 0``, free where ``z_ij = 0``) loses no network and removes the permuted copies
of every solution from the search.

Objective: absolute and hinge loss minimise ``Σ_i e_i`` (the linear ``cost``). Squared
loss minimises ``Σ_i r_i²`` with the residuals ``r_i = y_i - f_i`` kept as an affine map
of the columns (:class:`~exactrelu.convex.tangents.AffineResiduals`): a solver with a
quadratic objective writes ``Σ r_i²`` in the activations and ``c`` directly (no
residual columns), one without (HiGHS) adds epigraph columns ``t_i`` with tangent cuts
(:func:`~exactrelu.convex.tangents.tangent_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from exactrelu.convex.tangents import AffineResiduals
from exactrelu.highs.matrix import INF, SparseRows, to_csc
from exactrelu.network.networks import Network, OneNodeNetwork, TwoLayerNetwork
from exactrelu.problem import Problem


def sign_cases(problem: Problem) -> list[int]:
    """The sign cases: numbers ``p`` of +1 output units, ``[1]`` (one-node) or ``h..0``."""
    if problem.arch == "one-node":
        return [1]
    return list(range(problem.width, -1, -1))


def big_m_values(problem: Problem) -> np.ndarray:
    """``U_i = B (‖x_i‖₁ + 1)`` (without bias ``B ‖x_i‖₁``), shape (n,): ``|z_ij| <= U_i``."""
    return problem.box_radius * (np.abs(problem.X).sum(axis=1) + (1.0 if problem.bias else 0.0))


@dataclass(frozen=True, eq=False)
class BigMModel:
    """One sign case of the plain big-M model: ``min cost·x + Σ r_i(x)²`` over the rows.

    Attributes
    ----------
    problem : Problem
    signs : ndarray of shape (h,)
        Output signs of the case (``[+1]`` for one-node).
    col_lower, col_upper : ndarray of shape (num_col,)
        Column bounds (``±inf`` where free).
    integer : ndarray of shape (num_col,), bool
        Binary columns (``s``; their bounds are ``[0, 1]``).
    rows : SparseRows
        ``lower <= A x <= upper`` as COO triplets.
    cost : ndarray of shape (num_col,)
        Linear objective (ones on ``e``; zero for squared loss).
    residuals : AffineResiduals or None
        Squared loss: ``r_i = y_i - f_i`` in the columns; the objective adds ``Σ r_i²``.
    W : ndarray of shape (h, d), int
    b : ndarray of shape (h,), int
    a, s : ndarray of shape (n, h), int
    c : int or None
        Two-layer only.
    e : ndarray of shape (n,), int, or None
        Absolute and hinge loss only.
    big_m : ndarray of shape (n,)
        ``U_i``.
    """

    problem: Problem
    signs: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray
    rows: SparseRows
    cost: np.ndarray
    residuals: AffineResiduals | None
    W: np.ndarray
    b: np.ndarray
    a: np.ndarray
    s: np.ndarray
    c: int | None
    e: np.ndarray | None
    big_m: np.ndarray

    @property
    def num_col(self) -> int:
        return self.cost.size

    @property
    def positive_units(self) -> int:
        return int(np.sum(self.signs > 0))

    def network(self, x: np.ndarray) -> Network:
        """The network of the column values ``x`` (shape (num_col,)), clipped into the box.

        Clipping only undoes the solver's rounding: ``W`` and ``b`` are columns with
        these bounds.
        """
        x = np.asarray(x, float)
        W = np.clip(x[self.W], self.col_lower[self.W], self.col_upper[self.W])
        b = np.clip(x[self.b], self.col_lower[self.b], self.col_upper[self.b])
        if self.c is None:
            return OneNodeNetwork(W[0], float(b[0]))
        return TwoLayerNetwork(W, b, self.signs.copy(), float(x[self.c]))

    def objective(self, x: np.ndarray) -> float:
        """``cost·x + Σ r_i(x)²``: the model's objective at ``x``."""
        value = float(self.cost @ x)
        if self.residuals is not None:
            value += float(np.sum(residual_values(self.residuals, x) ** 2))
        return value

    def row_matrix(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The rows compressed by row: ``(start, index, value, lower, upper)``.

        Row ``r`` is ``lower[r] <= Σ value[q] x[index[q]] <= upper[r]`` over
        ``q in start[r]:start[r+1]``; ``start`` has ``num_rows + 1`` entries.
        """
        rows, cols, vals, lower, upper = self.rows.arrays()
        # to_csc compresses by its second argument: swap rows and columns to compress by row
        start, index, value = to_csc(cols, rows, vals, lower.size)
        return start, index, value, lower, upper

    def residual_matrix(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Squared loss: ``(start, index, value)`` with
        ``r_i = offset_i - Σ value[q] x[index[q]]`` over ``q in start[i]:start[i+1]``."""
        res = self.residuals
        if res is None:
            raise ValueError("only squared-loss models have residuals")
        return to_csc(res.cols, res.rows, res.vals, res.offset.size)


def residual_values(residuals: AffineResiduals, x: np.ndarray) -> np.ndarray:
    """``r_i = offset_i - Σ_k M_ik x_k`` at the column values ``x``, shape (n,)."""
    values = np.asarray(residuals.offset, float).copy()
    np.subtract.at(values, residuals.rows, residuals.vals * np.asarray(x, float)[residuals.cols])
    return values


@dataclass
class _Columns:
    """Allocates consecutive column indices with their bounds and integrality."""

    lower: list[np.ndarray] = field(default_factory=list)
    upper: list[np.ndarray] = field(default_factory=list)
    integer: list[np.ndarray] = field(default_factory=list)
    count: int = 0

    def add(self, shape, lower, upper, integer: bool = False) -> np.ndarray:
        """Indices of ``prod(shape)`` new columns, reshaped to ``shape``."""
        size = int(np.prod(shape))
        self.lower.append(np.broadcast_to(np.asarray(lower, float), (size,)).copy())
        self.upper.append(np.broadcast_to(np.asarray(upper, float), (size,)).copy())
        self.integer.append(np.full(size, integer))
        index = np.arange(self.count, self.count + size).reshape(shape)
        self.count += size
        return index

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.concatenate(self.lower), np.concatenate(self.upper), np.concatenate(self.integer)


def build_big_m(problem: Problem, positive_units: int) -> BigMModel:
    """The plain big-M model of ``problem``'s sign case with ``positive_units`` units ``v = +1``.

    Parameters
    ----------
    problem : Problem
    positive_units : int
        One of :func:`sign_cases` (``1`` for one-node).
    """
    if positive_units not in sign_cases(problem):
        raise ValueError(f"no sign case with {positive_units} positive units for this problem")
    n, d, h, B = problem.n, problem.d, problem.width, problem.box_radius
    two_layer = problem.arch == "two-layer"
    signs = np.where(np.arange(h) < positive_units, 1.0, -1.0)
    U = big_m_values(problem)
    bias = B if problem.bias else 0.0
    columns = _Columns()
    W = columns.add((h, d), -B, B)
    b = columns.add((h,), -bias, bias)
    c = int(columns.add((1,), -INF, INF)[0]) if two_layer else None
    a = columns.add((n, h), 0.0, np.repeat(U, h))
    s = columns.add((n, h), 0.0, 1.0, integer=True)
    e = columns.add((n,), 0.0, INF) if problem.loss != "squared" else None
    rows = _relu_rows(problem, W, b, a, s, U)
    rows.extend(_symmetry_rows(s, signs))
    output = _output_map(a, c, signs)
    cost = np.zeros(columns.count)
    residuals = None
    if e is None:
        residuals = AffineResiduals(*output, offset=np.asarray(problem.y, float))
    else:
        rows.extend(_loss_rows(problem, e, output))
        cost[e] = 1.0
    lower, upper, integer = columns.arrays()
    return BigMModel(
        problem, signs, lower, upper, integer, rows, cost, residuals, W, b, a, s, c, e, U
    )


def _relu_rows(problem: Problem, W, b, a, s, U: np.ndarray) -> SparseRows:
    """The three big-M rows of every sample and unit, together (rows ``3p, 3p+1, 3p+2`` of
    the pair ``p = i h + j``), as a user writing a loop over samples and units would."""
    n, d, h = problem.n, problem.d, problem.width
    i, j = (g.ravel() for g in np.meshgrid(np.arange(n), np.arange(h), indexing="ij"))
    first = 3 * np.arange(n * h)
    ones = np.ones(n * h)
    # -z_ij = -Σ_k x_ik W[j, k] - b[j] as triplets (pair, column, value)
    z_pair = np.r_[np.repeat(np.arange(n * h), d), np.arange(n * h)]
    z_cols = np.r_[W[j].ravel(), b[j]]
    z_vals = np.r_[-problem.X[i].ravel(), -ones]
    lower = np.full((n * h, 3), -INF)
    upper = np.zeros((n * h, 3))
    lower[:, 0], upper[:, 0] = 0.0, INF  # a_ij - z_ij >= 0
    upper[:, 1] = U[i]  # a_ij - z_ij + U_i s_ij <= U_i
    # a_ij - U_i s_ij <= 0 (bounds set above)
    rows = SparseRows()
    rows.add(
        np.r_[first, 3 * z_pair, first + 1, 3 * z_pair + 1, first + 1, first + 2, first + 2],
        np.r_[a.ravel(), z_cols, a.ravel(), z_cols, s.ravel(), a.ravel(), s.ravel()],
        np.r_[ones, z_vals, ones, z_vals, U[i], ones, -U[i]],
        lower.ravel(),
        upper.ravel(),
    )
    return rows


def _symmetry_rows(s: np.ndarray, signs: np.ndarray) -> SparseRows:
    """``Σ_i s_ij - Σ_i s_i,j+1 >= 0`` for consecutive units of one sign."""
    n = s.shape[0]
    pairs = [j for j in range(signs.size - 1) if signs[j] == signs[j + 1]]
    rows = SparseRows()
    for j in pairs:
        rows.add(
            np.zeros(2 * n, np.int64),
            np.r_[s[:, j], s[:, j + 1]],
            np.r_[np.ones(n), -np.ones(n)],
            0.0,
            INF,
        )
    return rows


def _output_map(
    a: np.ndarray, c: int | None, signs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``f_i = Σ_j v_j a_ij + c`` as triplets ``(rows, cols, vals)`` over the samples."""
    n, h = a.shape
    rows = np.repeat(np.arange(n), h)
    cols = a.ravel()
    vals = np.tile(signs, n)
    if c is not None:
        rows, cols, vals = (
            np.r_[rows, np.arange(n)],
            np.r_[cols, np.full(n, c)],
            np.r_[vals, np.ones(n)],
        )
    return rows, cols, vals


def _loss_rows(problem: Problem, e: np.ndarray, output) -> SparseRows:
    """Absolute: ``e_i + f_i >= y_i``, ``e_i - f_i >= -y_i``; hinge: ``e_i + y_i f_i >= 1``."""
    f_rows, f_cols, f_vals = output
    y = np.asarray(problem.y, float)
    n = y.size
    rows = SparseRows()
    if problem.loss == "absolute":  # the two rows of sample i are rows 2i and 2i + 1
        rows.add(
            np.r_[2 * np.arange(n), 2 * f_rows, 2 * np.arange(n) + 1, 2 * f_rows + 1],
            np.r_[e, f_cols, e, f_cols],
            np.r_[np.ones(n), f_vals, np.ones(n), -f_vals],
            np.column_stack([y, -y]).ravel(),
            INF,
        )
    else:
        rows.add(
            np.r_[np.arange(n), f_rows],
            np.r_[e, f_cols],
            np.r_[np.ones(n), y[f_rows] * f_vals],
            np.ones(n),
            INF,
        )
    return rows
