"""Pyomo formulations of ReLU training with big-M activation constraints: the builders.

Two builders share one signature, ``build_*(problem, *, positive_units, squared, ...)``,
and return a :class:`Formulation`: the Pyomo model plus the maps between its variables
and networks. The model is a plain ``pyomo.environ.ConcreteModel`` that users may
inspect, extend, write to a file or hand to another solver. A two-layer network of width
h needs ``h + 1`` models, one per *sign case* (the number of +1 output weights; units of
one sign are exchangeable, so only the count matters): :func:`build_formulations`.

Notation: ``i`` ranges over samples, ``j`` over hidden units (one for one-node), ``k``
over features; ``B`` is the weight bound, ``v_j`` the output signs, ``a_ij`` the
activations, ``f_i`` the network's output.

A model is built block by block. :func:`~exactrelu.formulation.layout.make_layout`
settles everything that depends on the data and the options (output signs, big-M
values, which samples carry binaries, which rows are asked for) in a plain
:class:`~exactrelu.formulation.layout.Layout`; then each block ``add_*(m, layout)`` adds
its components, with the math of its rows in its docstring. In order (the order of the
compiled model's columns and rows):

* :func:`~exactrelu.formulation.variables.add_variables`: ``W``, ``b``, ``c``
  (two-layer), ``a``, and the binaries ``s`` on ``S``;
* :func:`~exactrelu.formulation.relu.add_relu_rows`: ``z``, ``relu_lower``,
  ``relu_active``, ``relu_fixed_active``, ``relu_inactive``;
* :func:`~exactrelu.formulation.relu.add_output`: ``f``;
* :func:`~exactrelu.formulation.symmetry.add_symmetry_rows`: ``symmetry`` (two-layer;
  rows only with ``order_units``);
* :func:`~exactrelu.formulation.convexity.add_convexity_cuts`: ``convexity``
  (``convexity_cuts=True``);
* :func:`~exactrelu.formulation.convexity.add_shape_rows`: ``slope``, ``convex_sum``
  (``shape_rows=True``, same-sign two-layer cases);
* :func:`~exactrelu.formulation.loss.add_loss`: ``e`` with ``abs_above`` and
  ``abs_below`` or ``hinge`` (one-node: and ``hinge_off``), or ``t`` with ``tangents``
  (squared loss); the objective ``loss``.

After building, :meth:`Formulation.add_tangents` and
:meth:`Formulation.add_residual_segments` tighten a squared-loss model
(:mod:`~exactrelu.formulation.loss`), and :meth:`Formulation.variable_values` turns a
network into a complete assignment of the variables (a warm start), block by block.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyomo.environ as pyo
from pyomo.common.collections import ComponentMap

from exactrelu.errors import InvalidInputError
from exactrelu.formulation.bounds import CutoffBounds
from exactrelu.formulation.convexity import add_convexity_cuts, add_shape_rows, slope_values
from exactrelu.formulation.interpolation import Interpolation, interpolations
from exactrelu.formulation.layout import make_layout
from exactrelu.formulation.loss import (
    add_loss,
    add_residual_segments,
    add_tangent_cuts,
    loss_values,
)
from exactrelu.formulation.relu import add_output, add_relu_rows
from exactrelu.formulation.symmetry import add_symmetry_rows
from exactrelu.formulation.variables import add_variables, network_values
from exactrelu.network.networks import Network, OneNodeNetwork, TwoLayerNetwork
from exactrelu.problem import Problem

# The blocks in the order they are added: the compiled model's columns and rows follow it.
BLOCKS = (
    add_variables,
    add_relu_rows,
    add_output,
    add_symmetry_rows,
    add_convexity_cuts,
    add_shape_rows,
    add_loss,
)


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
        B = self.problem.box_radius
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
        added = add_tangent_cuts(m, self.problem.y, r, np.flatnonzero(keep))
        if added:
            self.tangent_points.append(np.where(keep, r, np.nan))
        return added

    def add_residual_segments(self, radius: float, steps: int) -> None:
        """Model each square piecewise linearly on ``2·steps`` segments across ``±radius``.

        See :func:`~exactrelu.formulation.loss.add_residual_segments`: ``t_i`` is then
        below ``r_i²`` by at most ``(radius / steps)² / 4``, and every residual is
        restricted to ``[-radius, radius]`` (valid only for solves that want networks
        better than a loss of ``radius²``). Once per model, squared loss in
        ``"tangents"`` mode only.
        """
        m = self.model
        if not hasattr(m, "tangents") or self.segments is not None:
            raise InvalidInputError(
                "residual segments apply once, to squared loss in 'tangents' mode"
            )
        add_residual_segments(m, self.problem.y, radius, steps)
        self.segments = (radius, steps)

    def variable_values(self, network: Network) -> ComponentMap | None:
        """A complete assignment of the model's variables that represents ``network``.

        Used as a warm start. Returns None when the network does not fit this
        formulation (output signs) or lies outside the box.
        """
        p = self.problem
        network = self.align(network)
        if network is None or network.max_abs_weight() > p.box_radius * (1 + 1e-12):
            return None
        m = self.model
        values = network_values(m, p, network, self.upper)
        values.update(slope_values(m, p.X, network))
        values.update(loss_values(m, p, network.predict(p.X), self.segments))
        return values


def _build(
    problem: Problem,
    positive_units: int,
    squared: str,
    cutoff_bounds: CutoffBounds | None = None,
    order_units: bool = False,
    cuts: list[Interpolation] | None = None,
    shape_rows: bool = False,
) -> Formulation:
    """The model of one sign case: its layout, then each block of :data:`BLOCKS` in turn."""
    layout = make_layout(
        problem,
        positive_units,
        squared=squared,
        cutoff_bounds=cutoff_bounds,
        order_units=order_units,
        cuts=cuts,
        shape_rows=shape_rows,
    )
    m = pyo.ConcreteModel(name=f"exactrelu {problem.arch} {problem.loss}")
    for add_block in BLOCKS:
        add_block(m, layout)
    return Formulation(
        problem,
        m,
        layout.signs,
        layout.binary_samples,
        layout.monotone_samples,
        layout.upper,
        layout.lower,
    )


def build_one_node(
    problem: Problem,
    *,
    positive_units: int = 1,
    squared: str = "tangents",
    cutoff_bounds: CutoffBounds | None = None,
    convexity_cuts: bool = False,
) -> Formulation:
    """Big-M MIP of one-node training (``positive_units`` is 1; kept for the shared signature).

    ``cutoff_bounds`` tighten the big-M values and fix activations
    (:func:`~exactrelu.formulation.layout.make_layout`); the model then only keeps
    networks with a loss at most their threshold. ``convexity_cuts`` adds
    :func:`~exactrelu.formulation.convexity.add_convexity_cuts`' rows at
    :mod:`~exactrelu.formulation.interpolation`'s combinations.
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

    ``order_units`` adds the rows ordering exchangeable units by activation count; by
    default they are left for the solver's symmetry detection
    (:mod:`~exactrelu.formulation.symmetry`). ``convexity_cuts`` adds
    :func:`~exactrelu.formulation.convexity.add_convexity_cuts`' rows; ``shape_rows`` the
    convex-regression rows of a same-sign case
    (:func:`~exactrelu.formulation.convexity.add_shape_rows`).
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


def iter_formulations(
    problem: Problem,
    *,
    squared: str = "tangents",
    cutoff_bounds: CutoffBounds | None = None,
    order_units: bool = False,
    convexity_cuts: bool = False,
    shape_rows: bool = False,
) -> Iterator[Formulation]:
    """The formulations of :func:`build_formulations`, built one at a time.

    Each is built only when the next one is asked for, so that a caller may stop
    between sign cases (a time limit, Ctrl-C): a wide network has many, and each takes
    a while to build.
    """
    if problem.arch == "one-node":
        yield build_one_node(
            problem,
            squared=squared,
            cutoff_bounds=cutoff_bounds,
            convexity_cuts=convexity_cuts,
        )
        return
    # The sign cases share one set of cuts (they depend on the samples only).
    cuts = interpolations(problem.X) if convexity_cuts else None
    for p in range(problem.width, -1, -1):
        yield _build(problem, p, squared, order_units=order_units, cuts=cuts, shape_rows=shape_rows)


def build_formulations(problem: Problem, **options: Any) -> list[Formulation]:
    """Every formulation needed to cover the class: one for one-node, ``width + 1`` sign cases
    (number of +1 output units 0..width) for two-layer; the options of
    :func:`iter_formulations` (``cutoff_bounds``: one-node only; ``order_units`` and
    ``shape_rows``: two-layer only, see :func:`build_two_layer`)."""
    return list(iter_formulations(problem, **options))
