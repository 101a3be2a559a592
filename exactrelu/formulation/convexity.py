"""Rows from convexity: each activation, and a same-sign case's sum of them, is convex in x.

Both blocks are valid for every network of the class (``a = max(0, z)`` satisfies them),
so they change the relaxation, never the optimum.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
from pyomo.common.collections import ComponentMap

from exactrelu.formulation.layout import Layout
from exactrelu.network.networks import Network


def add_convexity_cuts(m: pyo.ConcreteModel, layout: Layout) -> None:
    """The rows ``convexity[q, j]``, one per combination ``q`` of ``layout.cuts`` and unit j.

    For an :class:`~exactrelu.formulation.interpolation.Interpolation`
    ``x_k ≈ Σ_l λ_l x_l`` (``λ >= 0``, ``Σ λ ≈ 1``, leftover ``ε`` = its ``error``):

        ``a_kj - Σ_l λ_l a_lj <= B ε``

    Each unit's activation ``max(0, W_j·x + b_j)`` is a convex function of ``x``, so
    Jensen's inequality gives ``a_kj <= Σ_l λ_l a_lj`` at an exact combination; a unit in
    the box changes by at most ``B ε`` over the leftover, which the right-hand side covers
    (see :mod:`~exactrelu.formulation.interpolation`). Binary-free one-node samples keep
    only ``a_i >= max(0, z_i)``, but ``a = max(0, z)`` everywhere satisfies every row, so
    no network is cut off. No ``convexity`` component when ``layout.cuts`` is None; an
    empty one when it is an empty list.
    """
    cuts = layout.cuts
    if cuts is None:
        return
    B = layout.problem.box_radius
    m.Q = pyo.RangeSet(0, len(cuts) - 1) if cuts else pyo.Set(initialize=[])

    def convexity(m, q, j):
        cut = cuts[q]
        combination = sum(
            float(w) * m.a[int(other), j] for other, w in zip(cut.others, cut.weights, strict=True)
        )
        return m.a[cut.sample, j] - combination <= B * cut.error

    m.convexity = pyo.Constraint(m.Q, m.J, rule=convexity)


def add_shape_rows(m: pyo.ConcreteModel, layout: Layout) -> None:
    """Convex-regression rows ``convex_sum[k, l]`` and their columns ``slope[k, :]``.

    Added only with ``layout.shape_rows``, to a two-layer case whose output signs all
    agree, with more than one sample. The sum of the activations ``A_i = Σ_j a_ij`` is a
    convex function of ``x`` (a sum of convex functions), so it lies above its tangent
    planes at the samples: for every ordered pair ``k != l``,

        ``A_l - A_k >= slope[k]·(x_l - x_k)``,   ``slope[k, :] ∈ [-hB, hB]``

    with ``slope[k]`` a subgradient at ``x_k`` (for the network, the sum of the ``W_j``
    of the units active at ``x_k``). With all output signs equal, ``f = ±A + c``, so
    these are the constraints of convex regression
    (:mod:`~exactrelu.convex.convex_regression`): the LP bound of the case is at least
    the best convex (concave) fit, where the big-M rows alone give 0. ``n (n - 1)`` rows.
    Mixed-sign cases do not get them: each sign group's sum is convex too, but the
    difference of two convex fits fits anything. The MIP method does not ask for them
    (docs/decisions.md, "Convex-regression rows in the MILP"); the option is there for
    experiments and other solvers.
    """
    problem = layout.problem
    n, d, h, X = problem.n, problem.d, problem.width, problem.X
    if not (layout.shape_rows and layout.two_layer and layout.same_sign and n > 1):
        return
    B = problem.box_radius
    m.slope = pyo.Var(m.I, m.K, bounds=(-h * B, h * B), initialize=0.0)
    pairs = [(k, other) for k in range(n) for other in range(n) if k != other]

    def convex_sum(m, k, other):
        rise = sum(m.a[other, j] - m.a[k, j] for j in range(h))
        step = X[other] - X[k]
        return rise >= sum(float(step[q]) * m.slope[k, q] for q in range(d))

    m.convex_sum = pyo.Constraint(pairs, rule=convex_sum)


def slope_values(m: pyo.ConcreteModel, X: np.ndarray, network: Network) -> ComponentMap:
    """Values of ``slope`` for ``network``: at each sample, the sum of its active units' ``W_j``.

    That sum is a subgradient of ``Σ_j max(0, W_j·x + b_j)`` at ``x_i``, so the
    ``convex_sum`` rows hold. Empty when the model has no ``slope`` columns.

    Parameters
    ----------
    m : pyomo.environ.ConcreteModel
    X : ndarray of shape (n_samples, n_features)
    network : Network
        Two-layer (or one-node) network of the model's class.

    Returns
    -------
    ComponentMap
    """
    values = ComponentMap()
    if not hasattr(m, "slope"):
        return values
    W, _ = network.hidden_weights
    z = network.pre_activations(X)
    slopes = (z > 0).astype(float) @ W  # (n_samples, n_features)
    for i, k in m.slope:
        values[m.slope[i, k]] = slopes[i, k]
    return values
