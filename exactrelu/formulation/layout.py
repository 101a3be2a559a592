"""The plain data every block of a formulation reads: signs, big-M bounds, binaries, options.

A :class:`Layout` is to a formulation what a network definition is to an encoding of a
trained network: it says, once, everything that depends on the data and the options
(which output sign each unit has, the big-M value of each sample, which samples carry a
binary, which rows are asked for), and the blocks (:mod:`~exactrelu.formulation.variables`,
:mod:`~exactrelu.formulation.relu`, :mod:`~exactrelu.formulation.symmetry`,
:mod:`~exactrelu.formulation.convexity`, :mod:`~exactrelu.formulation.loss`) only turn it
into Pyomo components. Each block is a function ``add_*(m, layout)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from exactrelu.errors import InvalidInputError
from exactrelu.formulation.bounds import CutoffBounds, preactivation_bounds
from exactrelu.formulation.interpolation import Interpolation
from exactrelu.network.losses import loss_monotone_in_activation
from exactrelu.problem import Problem

SQUARED_MODES = ("tangents", "quadratic")


@dataclass(frozen=True, eq=False)
class Layout:
    """What the blocks of one sign case's model are built from.

    Attributes
    ----------
    problem : Problem
    signs : ndarray of shape (width,)
        Output signs ``v_j``: units ``0..p-1`` have +1, the rest -1 (+1 for one-node).
    lower, upper : ndarray of shape (n_samples,)
        Big-M bounds ``L_i <= 0 <= U_i`` of the pre-activations ``z_ij`` (see
        :func:`make_layout`).
    fixed_active : ndarray of bool, shape (n_samples,)
        One-node samples on which every network below the cutoff is active (``L_i >= 0``).
    monotone_samples : ndarray of bool, shape (n_samples,)
        One-node samples whose loss never decreases in the activation.
    binary_samples : ndarray of bool, shape (n_samples,)
        Samples that carry a binary ``s_ij`` per unit.
    squared : {"tangents", "quadratic"}
        How squared loss is modelled (:func:`~exactrelu.formulation.loss.add_squared_loss`).
    order_units : bool
        Add the ordering rows of :func:`~exactrelu.formulation.symmetry.add_symmetry_rows`.
    cuts : list of Interpolation or None
        The convexity cuts' combinations; None adds no ``convexity`` component.
    shape_rows : bool
        Add the convex-regression rows of :func:`~exactrelu.formulation.convexity.add_shape_rows`.
    """

    problem: Problem
    signs: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    fixed_active: np.ndarray
    monotone_samples: np.ndarray
    binary_samples: np.ndarray
    squared: str = "tangents"
    order_units: bool = False
    cuts: list[Interpolation] | None = None
    shape_rows: bool = False

    @property
    def two_layer(self) -> bool:
        return self.problem.arch == "two-layer"

    @property
    def positive_units(self) -> int:
        return int(np.sum(self.signs > 0))

    @property
    def same_sign(self) -> bool:
        """All output signs agree: the case holds only convex (or only concave) networks."""
        return self.positive_units in (0, self.problem.width)


def make_layout(
    problem: Problem,
    positive_units: int,
    *,
    squared: str = "tangents",
    cutoff_bounds: CutoffBounds | None = None,
    order_units: bool = False,
    cuts: list[Interpolation] | None = None,
    shape_rows: bool = False,
) -> Layout:
    """The layout of the sign case with ``positive_units`` output weights +1.

    Big-M bounds: ``U_i = B (‖x_i‖₁ + 1)`` (``B ‖x_i‖₁`` without bias) and ``L_i = -U_i``
    from :func:`~exactrelu.formulation.bounds.preactivation_bounds`, the exact range of
    ``z_ij`` over the box. One-node :class:`~exactrelu.formulation.bounds.CutoffBounds`
    (valid for every network better than a cutoff) narrow them:
    ``L_i = max(L_i, cutoff.lower_i)``, ``U_i = min(U_i, cutoff.upper_i)``; a sample with
    ``L_i >= 0`` and ``U_i > 0`` is then *fixed active*. Finally ``U_i = max(U_i, 0)``
    (``U_i = 0``: ``a_i = 0``, inactive or ``z_i = 0`` always) and ``L_i = min(L_i, 0)``.

    Binaries: a sample carries ``s_ij`` unless ``U_i = 0``, it is fixed active, or it is
    *monotone*: a one-node sample whose loss never decreases in ``a`` (squared or absolute
    loss with ``y_i <= 0``, hinge with ``y_i = -1``), where minimisation pushes ``a_i``
    down to ``max(0, z_i)`` by itself (docs/decisions.md, "No binaries for monotone
    one-node samples"). Two-layer units enter the output with either sign, so there every
    sample with ``U_i > 0`` carries binaries.

    Parameters
    ----------
    problem : Problem
    positive_units : int
        Number of +1 output weights, in ``0..width`` (1 for one-node).
    squared, cutoff_bounds, order_units, cuts, shape_rows
        See :class:`Layout`; ``cutoff_bounds`` apply to one-node problems only.

    Returns
    -------
    Layout

    Raises
    ------
    InvalidInputError
        For an unknown ``squared`` mode, ``positive_units`` out of range, cutoff
        bounds on a two-layer problem, or a problem without a fixed box (its big-M values
        come from the box).
    """
    if squared not in SQUARED_MODES:
        raise InvalidInputError(
            f"squared must be one of {', '.join(SQUARED_MODES)}; got {squared!r}"
        )
    n, h = problem.n, problem.width
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
    upper = np.maximum(upper, 0.0)
    lower = np.minimum(lower, 0.0)
    if two_layer:
        monotone_samples = np.zeros(n, bool)
    else:
        monotone_samples = loss_monotone_in_activation(problem.y, problem.loss)
    binary_samples = ~monotone_samples & (upper > 0) & ~fixed_active
    return Layout(
        problem,
        signs,
        lower,
        upper,
        fixed_active,
        monotone_samples,
        binary_samples,
        squared=squared,
        order_units=order_units,
        cuts=cuts,
        shape_rows=shape_rows,
    )
