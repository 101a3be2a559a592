"""Symmetry of a two-layer sign case: units of one output sign are exchangeable.

Permuting the units of one sign (their ``W_j, b_j`` and their ``a, s`` columns) maps
every network of the case onto one with the same output, and the model's rows onto
themselves. By default the model is left symmetric, so that the solver's symmetry
detection finds the permutations and handles them itself (HiGHS reports the generators
in presolve and applies orbital fixing in its tree; measured faster than the ordering
rows, docs/decisions.md, "Symmetry left to HiGHS instead of ordering rows").
``order_units=True`` adds ordering rows instead, for solvers without symmetry handling.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from exactrelu.formulation.layout import Layout


def add_symmetry_rows(m: pyo.ConcreteModel, layout: Layout) -> None:
    """The rows ``symmetry[j]`` (two-layer; empty unless ``layout.order_units``).

    For each pair of neighbouring units of one output sign (``v_j = v_{j+1}``):

        ``Σ_i s_ij >= Σ_i s_i,j+1``   (sums over the samples that carry binaries)

    orders the units of one sign by decreasing activation count. Any network can be
    permuted to satisfy them (:meth:`~exactrelu.formulation.model.Formulation.align`
    does), so the optimum is unchanged. Samples with ``x_i = 0`` and no bias carry no
    binary; when no sample does, there is nothing to order and no row is added.
    One-node models get no ``symmetry`` component.
    """
    if not layout.two_layer:
        return
    signs, h = layout.signs, layout.problem.width
    ordered = layout.order_units and len(m.S)
    pairs = [j for j in range(h - 1) if signs[j] == signs[j + 1]] if ordered else []
    samples = [int(i) for i in np.flatnonzero(layout.binary_samples)]
    m.symmetry = pyo.Constraint(
        pairs,
        rule=lambda m, j: sum(m.s[i, j] for i in samples) >= sum(m.s[i, j + 1] for i in samples),
    )
