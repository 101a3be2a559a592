"""Tangent cuts of the squared loss, the linear outer approximation every HiGHS model uses.

HiGHS has no MIQP, so a square ``r²`` is replaced by an epigraph variable ``t`` with
tangent cuts at chosen points ``r̄``: ``t >= 2 r̄ (r - r̄) + r̄² = 2 r̄ r - r̄²``. Every cut
underestimates ``r²`` (a convex function lies above its tangents), so a model with cuts is
a relaxation and its optimum a valid lower bound; cuts at the residuals of its solution
tighten it where it is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from exactrelu.highs.matrix import INF, SparseRows


@dataclass(frozen=True)
class AffineResiduals:
    """Residuals ``r_i = offset_i - Σ_k M_ik x_k`` of a model, ``M`` as COO triplets.

    ``rows`` index the residuals (0..n-1), ``cols`` the model's columns.
    """

    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    offset: np.ndarray

    @classmethod
    def of_columns(cls, columns: np.ndarray, targets: np.ndarray) -> AffineResiduals:
        """``r_i = y_i - x[columns[i]]`` (the prediction of sample i is one column)."""
        n = len(columns)
        return cls(np.arange(n), np.asarray(columns), np.ones(n), np.asarray(targets, float))

    @classmethod
    def free_columns(cls, columns: np.ndarray) -> AffineResiduals:
        """``r_i = x[columns[i]]`` (the residual is a column of its own)."""
        n = len(columns)
        return cls(np.arange(n), np.asarray(columns), -np.ones(n), np.zeros(n))


def tangent_rows(
    points: np.ndarray, t_cols: np.ndarray, residuals: AffineResiduals, samples=None
) -> SparseRows:
    """Rows ``t_i >= 2 p_i r_i - p_i²`` at the points ``p`` (one per sample in ``samples``).

    Written as ``t_i + 2 p_i Σ_k M_ik x_k >= 2 p_i offset_i - p_i²``. ``samples`` (default
    all) selects the residuals that get a cut; ``points`` is indexed like the residuals.
    """
    n = residuals.offset.size
    samples = np.arange(n) if samples is None else np.asarray(samples)
    points = np.asarray(points, float)
    local = np.full(n, -1)
    local[samples] = np.arange(samples.size)
    keep = local[residuals.rows] >= 0
    p = points[samples]
    block = SparseRows()
    block.add(
        np.r_[np.arange(samples.size), local[residuals.rows[keep]]],
        np.r_[np.asarray(t_cols)[samples], residuals.cols[keep]],
        np.r_[np.ones(samples.size), 2.0 * points[residuals.rows[keep]] * residuals.vals[keep]],
        2.0 * p * residuals.offset[samples] - p * p,
        INF,
    )
    return block
