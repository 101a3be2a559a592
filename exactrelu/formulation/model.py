"""Pyomo formulations of ReLU training with big-M activation constraints.

Two builders share one signature, ``build_*(problem, *, positive_units, squared)``,
and return a :class:`Formulation`: the Pyomo model plus the maps between its
variables and networks. The model is a plain ``pyomo.environ.ConcreteModel`` that
users may inspect, extend, write to a file or hand to another solver.

Variables (``j`` ranges over hidden units, one for one-node; ``i`` over samples):

* ``W[j, k] ∈ [-B, B]``, ``b[j] ∈ [-B, B]`` (fixed to 0 without bias), two-layer
  ``c`` free; output signs are data: units ``0..p-1`` have ``v = +1``, the rest -1.
* ``a[i, j] ∈ [0, U_i]``: the activation ``max(0, z_ij)`` with
  ``z_ij = Σ_k W[j, k] x_ik + b[j]`` (an expression) and ``U_i`` from
  :func:`~exactrelu.formulation.bounds.preactivation_bounds`.
* ``s[i, j] ∈ {0, 1}``: unit j active on sample i.

Constraints (``L_i = -U_i``):

* ``relu_lower[i, j]``:    ``a_ij >= z_ij``                     (with ``a_ij >= 0``: a >= max(0, z))
* ``relu_active[i, j]``:   ``a_ij <= z_ij - L_i (1 - s_ij)``    (s = 1 forces a = z)
* ``relu_inactive[i, j]``: ``a_ij <= U_i s_ij``                 (s = 0 forces a = 0)
* One-node with :class:`~exactrelu.formulation.bounds.CutoffBounds` (bounds that hold
  for every network better than a cutoff): ``L_i, U_i`` come from them; a sample with
  ``L_i >= 0`` is active, ``relu_fixed_active[i]``: ``a_i <= z_i`` and no binary; one
  with ``U_i <= 0`` is inactive, ``a_i = 0`` and no binary.
* One-node samples whose loss never decreases in ``a`` (squared or absolute loss with
  ``y_i <= 0``, hinge with ``y_i = -1``) get only ``relu_lower``: minimisation pushes
  ``a_i`` down to ``max(0, z_i)``, so no binary is needed (SPEC §3).
* ``convexity[q, j]`` (``convexity_cuts=True``): ``a_kj <= Σ_l λ_l a_lj + B·ε`` whenever
  ``x_k = Σ_l λ_l x_l`` is a convex combination of other samples (each unit's activation
  is a convex function of x; ``ε`` covers floating-point leftovers). See
  :mod:`~exactrelu.formulation.interpolation`. Binary-free one-node samples keep
  ``a_i >= max(0, z_i)`` only, but ``a = max(0, z)`` everywhere satisfies every row, so
  no network is cut off.
* ``convex_sum[k, l]`` (two-layer, ``shape_rows=True``, same-sign cases only): the sum of
  the activations ``A_i = Σ_j a_ij`` is a convex function of ``x`` (a sum of convex
  functions), so it lies above its tangent planes at the samples:
  ``A_l >= A_k + slope[k]·(x_l - x_k)`` for every ordered pair ``k != l``, with
  ``slope[k, :] ∈ [-hB, hB]`` a subgradient at ``x_k`` (for the network,
  ``Σ_{j active at x_k} W_j``). With all output signs equal, ``f = ±A + c``, so these
  are the constraints of convex regression (:mod:`~exactrelu.convex.convex_regression`): the
  LP bound of the case is at least the best convex (concave) fit, where the big-M rows
  alone give 0. ``n (n - 1)`` rows; mixed-sign cases do not get them (each sign group's
  sum is convex too, but the difference of two fits anything). The MIP solver does not
  add them: measured, they shrank one tree 7x in one run and gained nothing in others
  (benchmarks/README.md); the option is here for experiments and other solvers.
* Symmetry (two-layer): units of one output sign are exchangeable. By default the model
  is left symmetric, so that the solver's symmetry detection finds the permutations and
  breaks them itself (HiGHS reports the generators in presolve and applies orbital
  fixing in its tree; measured 1.3-2x fewer nodes than the ordering constraint below,
  see benchmarks/README.md). ``order_units=True`` adds, for solvers without symmetry
  handling, ``symmetry[j]``: ``Σ_i s_ij >= Σ_i s_i,j+1`` (order by activation count).

Loss, with the output ``f_i = a_i0`` (one-node) or ``Σ_j v_j a_ij + c`` (two-layer):

* absolute: ``e_i >= y_i - f_i``, ``e_i >= f_i - y_i``, minimise ``Σ e_i``;
* hinge:    ``e_i >= 0``, ``e_i >= 1 - y_i f_i``, minimise ``Σ e_i``;
* squared, ``squared="tangents"`` (HiGHS: no MIQP): ``t_i >= 0`` and tangent cuts
  ``t_i >= 2 r̄ (y_i - f_i) - r̄²`` (in the ``ConstraintList`` ``tangents``), minimise
  ``Σ t_i``, a valid lower bound on ``Σ (y_i - f_i)²`` tightened by adding cuts; with
  ``squared="quadratic"`` the objective is ``Σ (y_i - f_i)²`` itself (an MIQP for
  solvers that take one, such as SCIP). After building, ``add_residual_segments``
  models ``t_i`` piecewise linearly across a residual range in bounded columns
  (``delta``, ``segment_sum``, ``segment_loss``): the accuracy of many tangents at the
  simplex cost of two rows per sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo
from pyomo.common.collections import ComponentMap

from exactrelu.errors import InvalidInputError
from exactrelu.formulation.bounds import CutoffBounds, preactivation_bounds
from exactrelu.formulation.interpolation import Interpolation, interpolations
from exactrelu.network.losses import loss_monotone_in_activation
from exactrelu.network.networks import Network, OneNodeNetwork, TwoLayerNetwork
from exactrelu.problem import Problem

SQUARED_MODES = ("tangents", "quadratic")


@dataclass(eq=False)
class Formulation:
    """A Pyomo model of one training problem and the maps between its variables and networks.

    Attributes
    ----------
    problem : Problem
    model : pyomo.environ.ConcreteModel
    signs : ndarray of shape (width,)
        Output signs of the hidden units (+1 for one-node).
    binary_samples : ndarray of bool, shape (n_samples,)
        Samples that carry a binary per unit.
    monotone_samples : ndarray of bool, shape (n_samples,)
        One-node samples whose loss never decreases in the activation (no binary).
    upper : ndarray of shape (n_samples,)
        The big-M values ``U_i`` (upper bounds of the activations).
    lower : ndarray of shape (n_samples,)
        The lower pre-activation bounds ``L_i`` of the big-M rows.
    tangent_points : list of ndarray
        Residuals at which tangent cuts were added (squared loss, ``"tangents"`` mode).
    segments : tuple of (float, int) or None
        ``(radius, steps)`` of :meth:`add_residual_segments`, once added.
    """

    problem: Problem
    model: pyo.ConcreteModel
    signs: np.ndarray
    binary_samples: np.ndarray
    monotone_samples: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    tangent_points: list[np.ndarray] = field(default_factory=list)
    segments: tuple[float, int] | None = None  # (radius, steps) of add_residual_segments

    @property
    def positive_units(self) -> int:
        return int(np.sum(self.signs > 0))

    def network(self, W: np.ndarray, b: np.ndarray, c: float = 0.0) -> Network:
        """The network with these weights and this formulation's output signs."""
        B = self.problem.weight_bound
        W, b = np.clip(W, -B, B), np.clip(b, -B, B)
        if self.problem.arch == "one-node":
            return OneNodeNetwork(W[0], float(b[0]))
        return TwoLayerNetwork(W, b, self.signs.copy(), float(c))

    def network_from_model(self) -> Network:
        """The network held in the model's variable values (after a solve)."""
        m, p = self.model, self.problem
        W = np.array([[pyo.value(m.W[j, k]) for k in range(p.d)] for j in range(p.width)])
        b = np.array([pyo.value(m.b[j]) for j in range(p.width)])
        c = pyo.value(m.c) if p.arch == "two-layer" else 0.0
        return self.network(W, b, c)

    def align(self, network: Network) -> Network | None:
        """``network`` rewritten to fit this formulation (signs, unit order), or None.

        Units that are active on no sample contribute nothing, so their output sign
        may be flipped freely; the others must match this formulation's sign counts.
        Units of one sign are ordered by decreasing activation count (as ``order_units``
        requires).
        """
        p = self.problem
        if p.arch == "one-node":
            return network if isinstance(network, OneNodeNetwork) else None
        if isinstance(network, OneNodeNetwork):
            network = network.as_two_layer()
        if network.width != p.width:
            return None
        active = network.activation_pattern(p.X)
        counts = active.sum(axis=0)
        v = network.v.copy()
        need = self.positive_units - int(np.sum(v > 0))
        dead = np.flatnonzero(counts == 0)
        flippable = dead[v[dead] < 0] if need > 0 else dead[v[dead] > 0]
        if flippable.size < abs(need):
            return None
        v[flippable[: abs(need)]] *= -1.0
        # positive units first, each sign group by decreasing activation count
        order = np.lexsort((-counts, -v))
        return TwoLayerNetwork(network.W[order], network.b[order], v[order], network.c)

    def add_tangents(self, residuals: np.ndarray, min_violation: float = 1e-9) -> list:
        """Add cuts ``t_i >= 2 r̄_i (y_i - f_i) - r̄_i²`` at the residuals ``r̄``.

        A cut is added only where the cuts already present underestimate ``r̄_i²`` by
        more than ``min_violation · max(1, r̄_i²)``, so repeated points add nothing.
        Residuals of one-node samples whose loss is monotone in the activation (no binary)
        are clipped to ``r̄ <= 0``: the modelled loss must stay non-decreasing in their
        activation for the relaxation ``a_i >= max(0, z_i)`` to be exact, and their true
        residual ``y_i - a_i`` is never positive anyway. Returns the new constraint objects.
        """
        m = self.model
        if not hasattr(m, "tangents"):
            raise InvalidInputError("tangent cuts apply to squared loss in 'tangents' mode only")
        r = np.asarray(residuals, float).copy()
        r[self.monotone_samples] = np.minimum(r[self.monotone_samples], 0.0)
        modelled = np.zeros_like(r)  # t_i >= 0 is the tangent at 0
        if self.tangent_points:
            points = np.vstack(self.tangent_points)
            values = np.where(np.isnan(points), -np.inf, 2 * points * r - points**2)
            modelled = np.maximum(modelled, values.max(axis=0))
        keep = r**2 - modelled > min_violation * np.maximum(1.0, r**2)
        y = self.problem.y
        added = []
        for i in np.flatnonzero(keep):
            ri = float(r[i])
            added.append(m.tangents.add(m.t[i] >= 2.0 * ri * (float(y[i]) - m.f[i]) - ri * ri))
        if added:
            self.tangent_points.append(np.where(keep, r, np.nan))
        return added

    def add_residual_segments(self, radius: float, steps: int) -> None:
        """Squared loss as a piecewise-linear function of each residual, in columns.

        The residual ``r_i = y_i - f_i`` is split into ``2·steps`` segments of length
        ``h = radius / steps`` across ``[-radius, radius]``: ``δ_ik ∈ [0, h]`` with
        ``Σ_k δ_ik = r_i + radius``; then ``t_i >= radius² - h²/4 + Σ_k 2 p_k δ_ik``
        with ``p_k = -radius + (k + ½) h``. The slopes ``2 p_k`` increase, so the
        cheapest filling is in order and the row's projection is ``t_i >= g(r_i)``,
        ``g`` the maximum of the tangents at the ``p_k`` (they switch at the segment
        ends): below ``r_i²`` by at most ``h²/4``. The same accuracy as ``2·steps``
        tangent rows per sample, as bounded columns and two rows, which the simplex
        handles far more cheaply than rows.

        It also restricts every residual to ``[-radius, radius]``: only valid for
        solves that want networks better than a loss of ``radius²`` (an incumbent's).
        """
        m = self.model
        if not hasattr(m, "tangents") or self.segments is not None:
            raise InvalidInputError(
                "residual segments apply once, to squared loss in 'tangents' mode"
            )
        h = radius / steps
        points = -radius + (np.arange(2 * steps) + 0.5) * h
        m.segment_index = pyo.RangeSet(0, 2 * steps - 1)
        m.delta = pyo.Var(m.I, m.segment_index, bounds=(0.0, h), initialize=0.0)
        y = self.problem.y
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
        self.segments = (radius, steps)

    def variable_values(self, network: Network) -> ComponentMap | None:
        """A complete assignment of the model's variables that represents ``network``.

        Used as a warm start. Returns None when the network does not fit this
        formulation (output signs) or lies outside the box.
        """
        p = self.problem
        network = self.align(network)
        if network is None or network.max_abs_weight() > p.weight_bound * (1 + 1e-12):
            return None
        m = self.model
        W, b = network.hidden_weights
        z = network.pre_activations(p.X)
        a = np.maximum(z, 0.0)
        values = ComponentMap()
        for j in range(p.width):
            for k in range(p.d):
                values[m.W[j, k]] = W[j, k]
            values[m.b[j]] = b[j] if p.bias else 0.0
        for i, j in m.a:
            values[m.a[i, j]] = min(a[i, j], self.upper[i])
        for i, j in m.s:
            values[m.s[i, j]] = 1.0 if z[i, j] > 0 else 0.0
        f = network.predict(p.X)
        if p.arch == "two-layer":
            values[m.c] = network.c
        if hasattr(m, "slope"):
            # the subgradient of Σ_j max(0, z_ij) at x_i: the sum of the active units' W_j
            slopes = (z > 0).astype(float) @ W
            for i, k in m.slope:
                values[m.slope[i, k]] = slopes[i, k]
        if p.loss == "squared":
            if hasattr(m, "t"):
                for i in m.t:
                    values[m.t[i]] = (p.y[i] - f[i]) ** 2
            if self.segments is not None:
                radius, steps = self.segments
                h = radius / steps
                filled = np.clip(p.y - f + radius, 0.0, 2 * radius)
                delta = np.clip(filled[:, None] - h * np.arange(2 * steps), 0.0, h)
                for i, k in m.delta:
                    values[m.delta[i, k]] = delta[i, k]
        elif p.loss == "absolute":
            for i in m.e:
                values[m.e[i]] = abs(p.y[i] - f[i])
        else:
            for i in m.e:
                values[m.e[i]] = max(0.0, 1.0 - p.y[i] * f[i])
        return values


def initial_tangent_points(problem: Problem) -> list[np.ndarray]:
    """Residuals for the first tangent cuts of squared loss.

    ``r̄ = y_i`` is exact for a network that predicts 0 on sample i (an inactive
    one-node sample); a symmetric grid scaled by the spread of ``y`` keeps the first
    MILP's bound from being trivially 0 where the fit is good.
    """
    y = problem.y
    scale = max(float(np.std(y)), 1e-3)
    points = [y.copy()]
    for fraction in (0.1, 0.3, 1.0):
        points.append(np.full_like(y, fraction * scale))
        points.append(np.full_like(y, -fraction * scale))
    return points


def _build(
    problem: Problem,
    positive_units: int,
    squared: str,
    cutoff_bounds: CutoffBounds | None = None,
    order_units: bool = False,
    cuts: list[Interpolation] | None = None,
    shape_rows: bool = False,
) -> Formulation:
    if squared not in SQUARED_MODES:
        raise InvalidInputError(
            f"squared must be one of {', '.join(SQUARED_MODES)}; got {squared!r}"
        )
    X, y = problem.X, problem.y
    n, d, h = problem.n, problem.d, problem.width
    two_layer = problem.arch == "two-layer"
    if not 0 <= positive_units <= h:
        raise InvalidInputError(f"positive_units must be in 0..{h}, got {positive_units}")
    signs = np.where(np.arange(h) < positive_units, 1.0, -1.0)
    lower, upper = preactivation_bounds(problem)
    fixed_active = np.zeros(n, bool)
    if cutoff_bounds is not None:
        if two_layer:
            raise InvalidInputError("cutoff bounds apply to one-node formulations only")
        lower = np.maximum(lower, cutoff_bounds.lower)
        upper = np.minimum(upper, cutoff_bounds.upper)
        fixed_active = cutoff_bounds.active & (upper > 0)
    upper = np.maximum(upper, 0.0)  # upper = 0: a_i = 0 (inactive, or z_i = 0 always)
    lower = np.minimum(lower, 0.0)
    B = problem.weight_bound

    if two_layer:
        monotone_samples = np.zeros(n, bool)
    else:
        monotone_samples = loss_monotone_in_activation(y, problem.loss)
    binary_samples = ~monotone_samples & (upper > 0) & ~fixed_active

    m = pyo.ConcreteModel(name=f"exactrelu {problem.arch} {problem.loss}")
    m.I = pyo.RangeSet(0, n - 1)
    m.J = pyo.RangeSet(0, h - 1)
    m.K = pyo.RangeSet(0, d - 1)
    m.W = pyo.Var(m.J, m.K, bounds=(-B, B), initialize=0.0)
    m.b = pyo.Var(m.J, bounds=(-B, B), initialize=0.0)
    if not problem.bias:
        m.b.fix(0.0)
    if two_layer:
        m.c = pyo.Var(initialize=0.0)
    m.a = pyo.Var(m.I, m.J, bounds=lambda _, i, j: (0.0, float(upper[i])), initialize=0.0)
    binary_index = [(i, j) for i in np.flatnonzero(binary_samples) for j in range(h)]
    m.S = pyo.Set(initialize=[(int(i), j) for i, j in binary_index], dimen=2)
    m.s = pyo.Var(m.S, domain=pyo.Binary, initialize=0)

    def z(m, i, j):
        return sum(float(X[i, k]) * m.W[j, k] for k in range(d) if X[i, k] != 0.0) + m.b[j]

    m.z = pyo.Expression(m.I, m.J, rule=z)
    m.relu_lower = pyo.Constraint(m.I, m.J, rule=lambda m, i, j: m.a[i, j] >= m.z[i, j])
    m.relu_active = pyo.Constraint(
        m.S, rule=lambda m, i, j: m.a[i, j] <= m.z[i, j] - float(lower[i]) * (1 - m.s[i, j])
    )
    m.relu_fixed_active = pyo.Constraint(
        [int(i) for i in np.flatnonzero(fixed_active)], rule=lambda m, i: m.a[i, 0] <= m.z[i, 0]
    )
    m.relu_inactive = pyo.Constraint(
        m.S, rule=lambda m, i, j: m.a[i, j] <= float(upper[i]) * m.s[i, j]
    )
    if two_layer:
        m.f = pyo.Expression(
            m.I, rule=lambda m, i: sum(float(signs[j]) * m.a[i, j] for j in range(h)) + m.c
        )
        # (samples with x_i = 0 and no bias carry no binary; without any, nothing to order)
        ordered = order_units and len(m.S)
        pairs = [j for j in range(h - 1) if signs[j] == signs[j + 1]] if ordered else []
        active_samples = [int(i) for i in np.flatnonzero(binary_samples)]
        m.symmetry = pyo.Constraint(
            pairs,
            rule=lambda m, j: (
                sum(m.s[i, j] for i in active_samples) >= sum(m.s[i, j + 1] for i in active_samples)
            ),
        )
    else:
        m.f = pyo.Expression(m.I, rule=lambda m, i: m.a[i, 0])
    if cuts is not None:
        m.Q = pyo.RangeSet(0, len(cuts) - 1) if cuts else pyo.Set(initialize=[])
        m.convexity = pyo.Constraint(
            m.Q,
            m.J,
            rule=lambda m, q, j: (
                m.a[cuts[q].sample, j]
                - sum(
                    float(w) * m.a[int(other), j]
                    for other, w in zip(cuts[q].others, cuts[q].weights, strict=True)
                )
                <= B * cuts[q].error
            ),
        )

    if shape_rows and two_layer and positive_units in (0, h) and n > 1:
        m.slope = pyo.Var(m.I, m.K, bounds=(-h * B, h * B), initialize=0.0)
        pairs = [(k, other) for k in range(n) for other in range(n) if k != other]

        def convex_sum(m, k, other):
            rise = sum(m.a[other, j] - m.a[k, j] for j in range(h))
            step = X[other] - X[k]
            return rise >= sum(float(step[q]) * m.slope[k, q] for q in range(d))

        m.convex_sum = pyo.Constraint(pairs, rule=convex_sum)

    if problem.loss == "squared":
        if squared == "quadratic":
            m.loss = pyo.Objective(expr=sum((float(y[i]) - m.f[i]) ** 2 for i in range(n)))
        else:
            m.t = pyo.Var(m.I, bounds=(0.0, None), initialize=0.0)
            m.tangents = pyo.ConstraintList()
            m.loss = pyo.Objective(expr=sum(m.t[i] for i in range(n)))
    else:
        m.e = pyo.Var(m.I, bounds=(0.0, None), initialize=0.0)
        if problem.loss == "absolute":
            m.abs_above = pyo.Constraint(m.I, rule=lambda m, i: m.e[i] >= float(y[i]) - m.f[i])
            m.abs_below = pyo.Constraint(m.I, rule=lambda m, i: m.e[i] >= m.f[i] - float(y[i]))
        else:
            m.hinge = pyo.Constraint(m.I, rule=lambda m, i: m.e[i] >= 1 - float(y[i]) * m.f[i])
        m.loss = pyo.Objective(expr=sum(m.e[i] for i in range(n)))
    return Formulation(problem, m, signs, binary_samples, monotone_samples, upper, lower)


def build_one_node(
    problem: Problem,
    *,
    positive_units: int = 1,
    squared: str = "tangents",
    cutoff_bounds: CutoffBounds | None = None,
    convexity_cuts: bool = False,
) -> Formulation:
    """Big-M MIP of one-node training (``positive_units`` is 1; kept for the shared signature).

    ``cutoff_bounds`` tighten the big-M values and fix activations; the model then only
    keeps networks with a loss at most their threshold. ``convexity_cuts`` adds
    :mod:`~exactrelu.formulation.interpolation`'s cuts.
    """
    if problem.arch != "one-node":
        raise InvalidInputError(f"build_one_node needs a one-node problem, got {problem.arch}")
    if positive_units != 1:
        raise InvalidInputError("a one-node network has one unit with output sign +1")
    cuts = interpolations(problem.X) if convexity_cuts else None
    return _build(problem, 1, squared, cutoff_bounds, cuts=cuts)


def build_two_layer(
    problem: Problem,
    *,
    positive_units: int,
    squared: str = "tangents",
    order_units: bool = False,
    convexity_cuts: bool = False,
    shape_rows: bool = False,
) -> Formulation:
    """Big-M MIP of two-layer training with ``positive_units`` output weights +1, the rest -1.

    ``order_units`` adds the constraint ordering exchangeable units by activation count;
    by default they are left for the solver's symmetry detection (module docstring).
    ``convexity_cuts`` adds :mod:`~exactrelu.formulation.interpolation`'s cuts;
    ``shape_rows`` the convex-regression rows of a same-sign case (module docstring).
    """
    if problem.arch != "two-layer":
        raise InvalidInputError(f"build_two_layer needs a two-layer problem, got {problem.arch}")
    cuts = interpolations(problem.X) if convexity_cuts else None
    return _build(
        problem,
        positive_units,
        squared,
        order_units=order_units,
        cuts=cuts,
        shape_rows=shape_rows,
    )


def build_formulations(
    problem: Problem,
    *,
    squared: str = "tangents",
    cutoff_bounds: CutoffBounds | None = None,
    order_units: bool = False,
    convexity_cuts: bool = False,
    shape_rows: bool = False,
) -> list[Formulation]:
    """Every formulation needed to cover the class: one for one-node, ``width + 1`` sign cases
    (number of +1 output units 0..width) for two-layer. ``cutoff_bounds``: one-node only;
    ``order_units`` and ``shape_rows``: two-layer only (see :func:`build_two_layer`)."""
    if problem.arch == "one-node":
        return [
            build_one_node(
                problem,
                squared=squared,
                cutoff_bounds=cutoff_bounds,
                convexity_cuts=convexity_cuts,
            )
        ]
    # The sign cases share one set of cuts (they depend on the samples only).
    cuts = interpolations(problem.X) if convexity_cuts else None
    return [
        _build(problem, p, squared, order_units=order_units, cuts=cuts, shape_rows=shape_rows)
        for p in range(problem.width, -1, -1)
    ]
