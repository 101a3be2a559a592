"""The loss blocks: one epigraph variable per sample and the objective ``loss``.

With the output ``f_i`` of :func:`~exactrelu.formulation.relu.add_output`:

* absolute: ``e_i >= |y_i - f_i|`` (:func:`add_absolute_loss`);
* hinge: ``e_i >= max(0, 1 - y_i f_i)``, and for one-node models ``e_i >= 1 - s_i``
  (:func:`add_hinge_loss`);
* squared: ``t_i >= (y_i - f_i)²`` from below by tangent cuts, or the quadratic objective
  itself (:func:`add_squared_loss`); after building, :func:`add_tangent_cuts` and
  :func:`add_residual_segments` tighten the tangent model.

Minimising the sum makes each epigraph variable equal to its sample's loss (squared loss
with tangents: to the largest cut there, a lower bound).
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
from pyomo.common.collections import ComponentMap

from exactrelu.formulation.layout import Layout
from exactrelu.problem import Problem


def add_loss(m: pyo.ConcreteModel, layout: Layout) -> None:
    """The loss block of ``layout.problem.loss`` (module docstring)."""
    loss = layout.problem.loss
    if loss == "squared":
        add_squared_loss(m, layout)
    elif loss == "absolute":
        add_absolute_loss(m, layout)
    else:
        add_hinge_loss(m, layout)


def add_absolute_loss(m: pyo.ConcreteModel, layout: Layout) -> None:
    """``e[i] >= 0`` with the rows ``abs_above[i]``: ``e_i >= y_i - f_i`` and
    ``abs_below[i]``: ``e_i >= f_i - y_i``; objective ``loss``: minimise ``Σ_i e_i``."""
    y = layout.problem.y
    m.e = pyo.Var(m.I, bounds=(0.0, None), initialize=0.0)
    m.abs_above = pyo.Constraint(m.I, rule=lambda m, i: m.e[i] >= float(y[i]) - m.f[i])
    m.abs_below = pyo.Constraint(m.I, rule=lambda m, i: m.e[i] >= m.f[i] - float(y[i]))
    m.loss = pyo.Objective(expr=sum(m.e[i] for i in range(layout.problem.n)))


def add_hinge_loss(m: pyo.ConcreteModel, layout: Layout) -> None:
    """``e[i] >= 0`` with the rows ``hinge[i]``: ``e_i >= 1 - y_i f_i`` (labels ``y_i = ±1``);
    objective ``loss``: minimise ``Σ_i e_i``.

    One-node models also get ``hinge_off[i]``, one per sample with a binary:

        ``e_i >= 1 - s_i``

    valid because ``f_i = a_i``: a unit that is off at the sample (``s_i = 0``) outputs 0
    there, whose hinge loss is 1. The big-M rows alone imply only ``e_i >= 1 - U_i s_i``
    (``a_i <= U_i s_i``), so in the relaxation a fractional ``s_i`` of ``1 / U_i`` earns a
    sample its whole margin; with the row it pays ``1 - s_i``. (Two-layer outputs mix
    several units and the output bias, so a unit being off says nothing about the loss.)
    """
    y = layout.problem.y
    m.e = pyo.Var(m.I, bounds=(0.0, None), initialize=0.0)
    m.hinge = pyo.Constraint(m.I, rule=lambda m, i: m.e[i] >= 1 - float(y[i]) * m.f[i])
    if not layout.two_layer:
        m.hinge_off = pyo.Constraint(m.S, rule=lambda m, i, j: m.e[i] >= 1 - m.s[i, j])
    m.loss = pyo.Objective(expr=sum(m.e[i] for i in range(layout.problem.n)))


def add_squared_loss(m: pyo.ConcreteModel, layout: Layout) -> None:
    """Squared loss, ``Σ_i (y_i - f_i)²``, in one of two forms (``layout.squared``).

    * ``"tangents"`` (for MILP solvers such as HiGHS, which has no MIQP): ``t[i] >= 0``,
      an empty ``ConstraintList`` ``tangents`` for the cuts of :func:`add_tangent_cuts`,
      and the objective ``loss``: minimise ``Σ_i t_i``. The square is convex, so it lies
      above each of its tangents: ``t_i >= 0`` is the tangent at ``r̄ = 0`` and the model
      is a relaxation whose optimum is a valid lower bound, tightened by adding cuts.
    * ``"quadratic"``: the objective ``loss`` is ``Σ_i (y_i - f_i)²`` itself (an MIQP, for
      solvers that take one, such as SCIP); no ``t`` columns.
    """
    y, n = layout.problem.y, layout.problem.n
    if layout.squared == "quadratic":
        m.loss = pyo.Objective(expr=sum((float(y[i]) - m.f[i]) ** 2 for i in range(n)))
        return
    m.t = pyo.Var(m.I, bounds=(0.0, None), initialize=0.0)
    m.tangents = pyo.ConstraintList()
    m.loss = pyo.Objective(expr=sum(m.t[i] for i in range(n)))


def add_tangent_cuts(
    m: pyo.ConcreteModel, y: np.ndarray, residuals: np.ndarray, samples: np.ndarray
) -> list:
    """Tangent cuts ``t_i >= 2 r̄_i (y_i - f_i) - r̄_i²`` in ``tangents``, for ``i`` in ``samples``.

    The tangent of ``r ↦ r²`` at ``r̄``, evaluated at the residual ``r_i = y_i - f_i``:
    below the square everywhere (``r² - 2 r̄ r + r̄² = (r - r̄)² >= 0``), equal at ``r̄``.

    Parameters
    ----------
    m : pyomo.environ.ConcreteModel
        A model with :func:`add_squared_loss`'s ``"tangents"`` components.
    y : ndarray of shape (n_samples,)
    residuals : ndarray of shape (n_samples,)
        The points ``r̄``.
    samples : ndarray of int
        The samples that get a cut.

    Returns
    -------
    list
        The new constraint objects (to be added to a loaded solver as rows).
    """
    added = []
    for i in samples:
        ri = float(residuals[i])
        added.append(m.tangents.add(m.t[i] >= 2.0 * ri * (float(y[i]) - m.f[i]) - ri * ri))
    return added


def add_residual_segments(m: pyo.ConcreteModel, y: np.ndarray, radius: float, steps: int) -> None:
    """Squared loss as a piecewise-linear function of each residual, in bounded columns.

    The residual ``r_i = y_i - f_i`` is split into ``2·steps`` segments of length
    ``h = radius / steps`` across ``[-radius, radius]`` (index set ``segment_index``):

    * ``delta[i, k] ∈ [0, h]`` and ``segment_sum[i]``: ``Σ_k δ_ik = r_i + radius``;
    * ``segment_loss[i]``: ``t_i >= radius² - h²/4 + Σ_k 2 p_k δ_ik`` with the segment
      midpoints ``p_k = -radius + (k + ½) h``.

    The slopes ``2 p_k`` increase, so the cheapest filling is in order and the row's
    projection is ``t_i >= g(r_i)``, ``g`` the maximum of the tangents at the ``p_k``
    (they switch at the segment ends): below ``r_i²`` by at most ``h²/4``. The same
    accuracy as ``2·steps`` tangent rows per sample, as bounded columns and two rows,
    which the simplex handles far more cheaply than rows.

    The columns also restrict every residual to ``[-radius, radius]``: only valid for
    solves that want networks better than a loss of ``radius²`` (an incumbent's).
    """
    h = radius / steps
    points = -radius + (np.arange(2 * steps) + 0.5) * h
    m.segment_index = pyo.RangeSet(0, 2 * steps - 1)
    m.delta = pyo.Var(m.I, m.segment_index, bounds=(0.0, h), initialize=0.0)
    m.segment_sum = pyo.Constraint(
        m.I,
        rule=lambda m, i: (
            sum(m.delta[i, k] for k in m.segment_index) == float(y[i]) - m.f[i] + radius
        ),
    )
    m.segment_loss = pyo.Constraint(
        m.I,
        rule=lambda m, i: (
            m.t[i]
            >= radius**2
            - h**2 / 4
            + sum(2 * float(points[k]) * m.delta[i, k] for k in m.segment_index)
        ),
    )


def initial_tangent_points(problem: Problem) -> list[np.ndarray]:
    """Residuals for the first tangent cuts of squared loss.

    ``r̄ = y_i`` is exact for a network that predicts 0 on sample i (an inactive
    one-node sample); a symmetric grid scaled by the spread of ``y`` keeps the first
    MILP's bound from being trivially 0 where the fit is good.

    Returns
    -------
    list of ndarray of shape (n_samples,)
    """
    y = problem.y
    scale = max(float(np.std(y)), 1e-3)
    points = [y.copy()]
    for fraction in (0.1, 0.3, 1.0):
        points.append(np.full_like(y, fraction * scale))
        points.append(np.full_like(y, -fraction * scale))
    return points


def loss_values(
    m: pyo.ConcreteModel,
    problem: Problem,
    f: np.ndarray,
    segments: tuple[float, int] | None,
) -> ComponentMap:
    """Values of the loss block's columns for a network with outputs ``f`` (a warm start).

    Each epigraph variable gets its sample's true loss (``t_i = r_i²``, not a tangent's
    value), so that the objective a solver sees is the network's true loss; the segment
    columns are filled in order up to ``r_i + radius`` (clipped to the range).

    Parameters
    ----------
    m : pyomo.environ.ConcreteModel
    problem : Problem
    f : ndarray of shape (n_samples,)
        The network's outputs.
    segments : tuple of (float, int) or None
        ``(radius, steps)`` of :func:`add_residual_segments`, if added.

    Returns
    -------
    ComponentMap
    """
    values = ComponentMap()
    y = problem.y
    if problem.loss == "squared":
        if hasattr(m, "t"):
            for i in m.t:
                values[m.t[i]] = (y[i] - f[i]) ** 2
        if segments is not None:
            radius, steps = segments
            h = radius / steps
            filled = np.clip(y - f + radius, 0.0, 2 * radius)
            delta = np.clip(filled[:, None] - h * np.arange(2 * steps), 0.0, h)
            for i, k in m.delta:
                values[m.delta[i, k]] = delta[i, k]
    elif problem.loss == "absolute":
        for i in m.e:
            values[m.e[i]] = abs(y[i] - f[i])
    else:
        for i in m.e:
            values[m.e[i]] = max(0.0, 1.0 - y[i] * f[i])
    return values
