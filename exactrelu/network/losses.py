"""The per-sample losses and the facts about them that the methods share.

Every loss here is a function of the target ``y`` and the prediction ``f``:

* ``squared``  ``(y - f)²``
* ``absolute`` ``|y - f|``
* ``hinge``    ``max(0, 1 - y·f)`` (labels ``y ∈ {-1, +1}``)

The objective of a training problem is the **sum** over samples (not the mean).
"""

from __future__ import annotations

import numpy as np

from exactrelu.problem import LOSSES, check_choice


def per_sample_loss(y: np.ndarray, f: np.ndarray, loss: str) -> np.ndarray:
    """Per-sample loss of predictions ``f`` against targets ``y`` (broadcast elementwise)."""
    if loss == "squared":
        return (y - f) ** 2
    if loss == "absolute":
        return np.abs(y - f)
    if loss == "hinge":
        return np.maximum(0.0, 1.0 - y * f)
    check_choice("loss", loss, LOSSES)
    raise AssertionError("unreachable")


def total_loss(y: np.ndarray, f: np.ndarray, loss: str) -> float:
    """Sum over samples of :func:`per_sample_loss`, computed in float64."""
    return float(np.sum(per_sample_loss(np.asarray(y, float), np.asarray(f, float), loss)))


def loss_at_zero(y: np.ndarray, loss: str) -> np.ndarray:
    """Per-sample loss of the prediction 0 (an inactive one-node sample), shape of ``y``."""
    return per_sample_loss(y, np.zeros_like(y, dtype=float), loss)


def loss_gradient(y: np.ndarray, f: np.ndarray, loss: str) -> np.ndarray:
    """A (sub)gradient of the per-sample loss with respect to the prediction ``f``.

    Squared: ``2 (f - y)``; absolute: ``sign(f - y)``; hinge: ``-y`` where ``y·f < 1``,
    else 0 (at a kink the subgradient with the value 0 term is chosen).
    """
    if loss == "squared":
        return 2.0 * (f - y)
    if loss == "absolute":
        return np.sign(f - y)
    if loss == "hinge":
        return np.where(1.0 - y * f > 0, -y, 0.0)
    check_choice("loss", loss, LOSSES)
    raise AssertionError("unreachable")


def best_constant(y: np.ndarray, loss: str) -> float:
    """The constant prediction ``c`` of least total loss.

    Squared: the mean; absolute: the median; hinge: the loss is piecewise linear in
    ``c`` with kinks at ``±1`` and convex, so its minimum is at -1, 0 or +1.
    """
    if loss == "squared":
        return float(np.mean(y))
    if loss == "absolute":
        return float(np.median(y))
    candidates = np.array([-1.0, 0.0, 1.0])
    values = [np.sum(np.maximum(0.0, 1.0 - y * c)) for c in candidates]
    return float(candidates[int(np.argmin(values))])


def loss_monotone_in_activation(y: np.ndarray, loss: str) -> np.ndarray:
    """Mask of samples whose loss never decreases as a one-node output ``a >= 0`` grows.

    Squared and absolute loss with ``y <= 0`` (the target lies left of every ``a >= 0``),
    hinge loss with ``y = -1`` (``max(0, 1 + a) = 1 + a``). For these samples the
    relaxation ``a >= max(0, z)`` is exact at an optimum, so they need no binary variable
    and a fixed activation pattern may leave them free.
    """
    if loss == "hinge":
        return y < 0
    return y <= 0
