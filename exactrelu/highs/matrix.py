"""Models as matrices for highspy: the one place exactrelu builds a HiGHS model by hand."""

from __future__ import annotations

from dataclasses import dataclass, field

import highspy
import numpy as np

from exactrelu.errors import SolverError

INF = highspy.kHighsInf


@dataclass
class SparseRows:
    """A growing list of rows ``lower <= A x <= upper`` kept as COO triplets."""

    rows: list[np.ndarray] = field(default_factory=list)
    cols: list[np.ndarray] = field(default_factory=list)
    vals: list[np.ndarray] = field(default_factory=list)
    lower: list[np.ndarray] = field(default_factory=list)
    upper: list[np.ndarray] = field(default_factory=list)
    count: int = 0

    def add(self, row_ids, cols, vals, lower, upper) -> None:
        """Add ``len(lower)`` rows; ``row_ids`` are indices local to this block (0-based)."""
        lower = np.atleast_1d(np.asarray(lower, float))
        self.rows.append(np.asarray(row_ids, np.int64) + self.count)
        self.cols.append(np.asarray(cols, np.int64))
        self.vals.append(np.asarray(vals, float))
        self.lower.append(lower)
        self.upper.append(np.broadcast_to(np.asarray(upper, float), lower.shape).copy())
        self.count += lower.size

    def extend(self, other: SparseRows) -> None:
        """Append the rows of ``other`` after this block's rows."""
        if other.count:
            self.add(*other.arrays())

    def arrays(self):
        if not self.rows:
            empty = np.zeros(0)
            return np.zeros(0, np.int64), np.zeros(0, np.int64), empty, empty, empty
        return (
            np.concatenate(self.rows),
            np.concatenate(self.cols),
            np.concatenate(self.vals),
            np.concatenate(self.lower),
            np.concatenate(self.upper),
        )


def to_csc(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, num_col: int):
    """COO triplets to compressed-column arrays ``(start, index, value)`` (duplicates summed)."""
    keep = vals != 0.0
    rows, cols, vals = rows[keep], cols[keep], vals[keep]
    order = np.lexsort((rows, cols))
    rows, cols, vals = rows[order], cols[order], vals[order]
    if rows.size:
        new = np.ones(rows.size, bool)
        new[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        ids = np.cumsum(new) - 1
        vals = np.bincount(ids, weights=vals)
        rows, cols = rows[new], cols[new]
    start = np.zeros(num_col + 1, np.int32)
    np.cumsum(np.bincount(cols, minlength=num_col), out=start[1:])
    return start, rows.astype(np.int32), vals


def add_rows(highs: highspy.Highs, block: SparseRows) -> None:
    """Append the rows of ``block`` to a loaded ``highs`` model (nothing if it is empty)."""
    rows, cols, vals, lower, upper = block.arrays()
    if lower.size == 0:
        return
    # addRows takes compressed rows: transpose by swapping the roles of rows and columns.
    start, index, value = to_csc(cols, rows, vals, lower.size)
    highs.addRows(lower.size, lower, upper, index.size, start[:-1], index, value)


def pass_model(
    highs: highspy.Highs,
    cost: np.ndarray,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
    block: SparseRows,
    *,
    integrality: np.ndarray | None = None,
    hessian_diag: np.ndarray | None = None,
    hessian: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    offset: float = 0.0,
) -> None:
    """Load ``min cost·x + offset + ½ xᵀQx`` subject to ``block`` into ``highs``.

    ``Q`` is given either as its diagonal (``hessian_diag``) or as its lower triangle in
    compressed-column form ``(start, index, value)`` (``hessian``); neither: an LP/MILP.
    """
    num_col = cost.size
    rows, cols, vals, lower, upper = block.arrays()
    lp = highspy.HighsLp()
    lp.num_col_ = num_col
    lp.num_row_ = lower.size
    lp.col_cost_ = np.asarray(cost, float)
    lp.col_lower_ = np.asarray(col_lower, float)
    lp.col_upper_ = np.asarray(col_upper, float)
    lp.row_lower_ = lower
    lp.row_upper_ = upper
    lp.offset_ = float(offset)
    start, index, value = to_csc(rows, cols, vals, num_col)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = num_col
    lp.a_matrix_.num_row_ = lower.size
    lp.a_matrix_.start_ = start
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    if integrality is not None:
        lp.integrality_ = [highspy.HighsVarType(int(t)) for t in integrality]
    if hessian_diag is not None:
        nz = np.flatnonzero(hessian_diag)
        counts = np.zeros(num_col, np.int32)
        counts[nz] = 1
        h_start = np.zeros(num_col + 1, np.int32)
        np.cumsum(counts, out=h_start[1:])
        hessian = (h_start, nz, np.asarray(hessian_diag, float)[nz])
    if hessian is None:
        status = highs.passModel(lp)
    else:
        model = highspy.HighsModel()
        model.lp_ = lp
        hess = highspy.HighsHessian()
        hess.dim_ = num_col
        hess.format_ = highspy.HessianFormat.kTriangular
        hess.start_ = np.asarray(hessian[0], np.int32)
        hess.index_ = np.asarray(hessian[1], np.int32)
        hess.value_ = np.asarray(hessian[2], float)
        model.hessian_ = hess
        status = highs.passModel(model)
    if status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the model")


def solve_to_optimum(highs: highspy.Highs, what: str) -> np.ndarray:
    """Run a loaded ``highs``; its primal solution, or :class:`SolverError` naming ``what``."""
    highs.run()
    status = highs.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise SolverError(f"HiGHS did not solve {what}: {highs.modelStatusToString(status)}")
    return np.asarray(highs.getSolution().col_value)
