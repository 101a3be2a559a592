"""Convexity cuts: a hidden unit's activations at the samples are values of a convex function.

For every unit j the activation ``a_j(x) = max(0, W_j·x + b_j)`` is a convex function of
the input ``x`` (a maximum of two affine functions). So whenever a sample is a convex
combination of other samples, ``x_k = Σ_l λ_l x_l`` with ``λ >= 0`` and ``Σ λ = 1``,
Jensen's inequality gives, for every network of the class,

    a_kj <= Σ_l λ_l a_lj.

The big-M relaxation does not know this: with fractional binaries each ``a_ij`` may sit
anywhere under its own concave envelope, independently of the other samples, which is
how the relaxation fits noise it should not. The cuts couple the samples of one unit.
They hold with or without a bias (``b = 0`` is an affine function too) and for every
sign case, and they keep the model symmetric in the units (the same rows for each).

Which combinations: for each sample, the convex combination of the other samples that
minimises ``Σ_l λ_l ‖x_l - x_k‖²`` (an LP whose vertex solution uses at most ``d + 1``
nearby samples, the tightest kind of interpolation for a convex function), and
``copies - 1`` more with those costs randomly rescaled, for other nearby simplices.
Samples outside the convex hull of the others get none. The LP solution satisfies its
rows only to HiGHS's tolerance, so each cut carries the leftover error (see
:class:`Interpolation`).
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

from exactrelu.highs.matrix import INF, SparseRows, pass_model
from exactrelu.highs.quiet import quiet_highs


@dataclass(frozen=True)
class Interpolation:
    """``X[sample] ≈ Σ_t weights[t] · X[others[t]]`` with ``weights >= 0`` summing to ≈ 1.

    ``error`` bounds what floating point left over: ``‖Σ_t w_t x_t - x_k‖₁ + |Σ_t w_t - 1|``.
    A unit with weights in the box of radius B then satisfies the cut up to ``B·error``,
    which the model adds to its right-hand side so the cut stays valid.
    """

    sample: int
    others: np.ndarray
    weights: np.ndarray
    error: float


def interpolations(X: np.ndarray, copies: int = 4, seed: int = 0) -> list[Interpolation]:
    """Convex combinations of samples that equal another sample (module docstring).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    copies : int, default 4
        Combinations tried per sample (duplicates dropped).
    seed : int, default 0
        Seed of the cost rescaling of the extra copies.

    Returns
    -------
    list of Interpolation
    """
    n, d = X.shape
    rng = np.random.default_rng(seed)
    # One LP over all n samples, re-aimed at each sample in turn: its own column fixed at
    # 0, the rows' right-hand side x_k, the costs its distances. Changing bounds and costs
    # keeps HiGHS's basis, so each solve warm-starts from the last (several times faster
    # than a fresh model per solve, same solutions).
    block = SparseRows()
    block.add(
        np.tile(np.arange(d + 1), n),
        np.repeat(np.arange(n), d + 1),
        np.column_stack([X, np.ones(n)]).ravel(),
        np.zeros(d + 1),
        np.zeros(d + 1),
    )
    highs = quiet_highs()
    pass_model(highs, np.zeros(n), np.zeros(n), np.full(n, INF), block)
    rows = np.arange(d + 1, dtype=np.int32)
    columns = np.arange(n, dtype=np.int32)
    found = []
    for k in range(n):
        target = np.r_[X[k], 1.0]
        highs.changeRowsBounds(d + 1, rows, target, target)
        highs.changeColBounds(k, 0.0, 0.0)
        distances = np.sum((X - X[k]) ** 2, axis=1)
        others = np.delete(columns, k)
        seen = set()
        for copy in range(copies):
            cost = distances.copy()
            if copy:
                cost[others] *= rng.uniform(0.5, 1.5, n - 1)
            highs.changeColsCost(n, columns, cost)
            highs.run()
            if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                break  # x_k is outside the hull of the others
            weights = np.asarray(highs.getSolution().col_value)
            support = weights > 1e-9
            support[k] = False
            key = tuple(np.flatnonzero(support))
            if key in seen or not support.any():
                continue
            seen.add(key)
            weights = weights[support] / weights[support].sum()
            error = float(np.sum(np.abs(weights @ X[support] - X[k])) + abs(weights.sum() - 1.0))
            found.append(Interpolation(k, np.flatnonzero(support), weights, error + 1e-12))
        highs.changeColBounds(k, 0.0, INF)
    return found
