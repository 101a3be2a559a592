"""The big-M rows that make ``a_ij = max(0, z_ij)``, and the network's output ``f_i``."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from exactrelu.formulation.layout import Layout


def add_relu_rows(m: pyo.ConcreteModel, layout: Layout) -> None:
    """The pre-activation ``z`` and the rows ``relu_lower``, ``relu_active``,
    ``relu_fixed_active``, ``relu_inactive``.

    ``z[i, j] = Σ_k W[j, k] x_ik + b[j]`` is an expression (zero features left out), and
    with the layout's big-M bounds ``L_i <= z_ij <= U_i``:

    * ``relu_lower[i, j]``: ``a_ij >= z_ij``, for every sample and unit. With
      ``a_ij >= 0`` (its bound) this is ``a_ij >= max(0, z_ij)``, which is all that a
      monotone one-node sample gets: its loss never decreases in ``a``, so an optimum
      keeps ``a_i = max(0, z_i)``.
    * ``relu_active[i, j]``: ``a_ij <= z_ij - L_i (1 - s_ij)`` on ``S``: ``s = 1`` forces
      ``a = z``; with ``s = 0`` the row is ``a <= z - L_i``, slack since ``z >= L_i``.
    * ``relu_inactive[i, j]``: ``a_ij <= U_i s_ij`` on ``S``: ``s = 0`` forces ``a = 0``;
      with ``s = 1`` it repeats the bound ``a <= U_i``.
    * ``relu_fixed_active[i]`` (one-node, samples fixed active by cutoff bounds, no
      binary): ``a_i <= z_i``, so ``a_i = z_i``. A sample with ``U_i = 0`` gets no row
      beyond ``relu_lower``: its bound ``a_i <= 0`` already makes it inactive.

    Together, for ``s ∈ {0, 1}`` and ``z`` within its bounds, the rows hold exactly
    when ``a = max(0, z)`` and ``s = 1`` where ``z > 0`` (either ``s`` where ``z = 0``).
    """
    X, d = layout.problem.X, layout.problem.d
    lower, upper = layout.lower, layout.upper

    def z(m, i, j):
        return sum(float(X[i, k]) * m.W[j, k] for k in range(d) if X[i, k] != 0.0) + m.b[j]

    m.z = pyo.Expression(m.I, m.J, rule=z)
    m.relu_lower = pyo.Constraint(m.I, m.J, rule=lambda m, i, j: m.a[i, j] >= m.z[i, j])
    m.relu_active = pyo.Constraint(
        m.S, rule=lambda m, i, j: m.a[i, j] <= m.z[i, j] - float(lower[i]) * (1 - m.s[i, j])
    )
    m.relu_fixed_active = pyo.Constraint(
        [int(i) for i in np.flatnonzero(layout.fixed_active)],
        rule=lambda m, i: m.a[i, 0] <= m.z[i, 0],
    )
    m.relu_inactive = pyo.Constraint(
        m.S, rule=lambda m, i, j: m.a[i, j] <= float(upper[i]) * m.s[i, j]
    )


def add_output(m: pyo.ConcreteModel, layout: Layout) -> None:
    """The output expression ``f[i]``: ``a_i0`` (one-node) or ``Σ_j v_j a_ij + c`` (two-layer).

    The output signs ``v_j`` are the layout's data, so ``f`` is linear in the variables.
    """
    if layout.two_layer:
        signs, h = layout.signs, layout.problem.width
        m.f = pyo.Expression(
            m.I, rule=lambda m, i: sum(float(signs[j]) * m.a[i, j] for j in range(h)) + m.c
        )
    else:
        m.f = pyo.Expression(m.I, rule=lambda m, i: m.a[i, 0])
