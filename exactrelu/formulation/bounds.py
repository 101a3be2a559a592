"""Big-M values: bounds on the pre-activations ``z_ij = W_j·x_i + b_j`` over the box."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from exactrelu.problem import Problem


def preactivation_bounds(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Interval bounds ``L_i <= z_ij <= U_i`` valid for every unit j and network in the box.

    Over ``|W_jk| <= B, |b_j| <= B`` the extremes of ``W_j·x_i + b_j`` are attained at
    ``W_jk = ±B·sign(x_ik)``: ``U_i = B (‖x_i‖₁ + 1)`` with a bias, ``B ‖x_i‖₁``
    without, and ``L_i = -U_i``. These are exact over the box (interval arithmetic is
    tight for a single affine function of box-bounded variables), so no smaller big-M
    is valid without further information such as an objective cutoff.

    Returns
    -------
    lower, upper : ndarray of shape (n_samples,)
    """
    upper = problem.box_radius * (np.abs(problem.X).sum(axis=1) + (1.0 if problem.bias else 0.0))
    return -upper, upper


@dataclass(frozen=True)
class CutoffBounds:
    """Pre-activation bounds of a one-node problem that hold below a loss threshold.

    Every network of the class whose loss is at most ``threshold`` has
    ``lower_i <= z_i <= upper_i`` (bound tightening with an objective cutoff, see
    :mod:`exactrelu.methods.bnb`). A model built with them keeps every
    such network and may lose the others, so what it proves is
    ``min(its optimum, threshold)``.

    Attributes
    ----------
    lower, upper : ndarray of shape (n_samples,)
    threshold : float
    """

    lower: np.ndarray
    upper: np.ndarray
    threshold: float

    @property
    def active(self) -> np.ndarray:
        """Samples on which the unit is active (``z_i >= 0``) below the threshold."""
        return self.lower >= 0

    @property
    def inactive(self) -> np.ndarray:
        """Samples on which the unit is inactive (``z_i <= 0``) below the threshold."""
        return self.upper <= 0
