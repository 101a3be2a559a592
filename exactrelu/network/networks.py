"""ReLU networks of the two classes exactrelu trains, and their losses.

* :class:`OneNodeNetwork`: ``f(x) = max(0, w·x + b)``.
* :class:`TwoLayerNetwork`: ``f(x) = Σ_j v_j · max(0, W_j·x + b_j) + c`` with
  ``v_j ∈ {-1, +1}`` (docs/problem.md). :meth:`TwoLayerNetwork.from_real_output` maps a
  network with real output weights into the class by positive homogeneity.

Both expose the same interface (``pre_activations``, ``predict``, ``loss``,
``activation_pattern``, ``dead_units``, ``to_dict``), so every algorithm and the
certificate treat them alike; a one-node network has one hidden unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from exactrelu.errors import InvalidInputError
from exactrelu.network.losses import total_loss
from exactrelu.problem import real_array


def weights_array(name: str, value: Any, ndim: int) -> np.ndarray:
    """Network weights ``name`` as a finite float64 array of ``ndim`` dimensions.

    Weights come from files as often as from code: text, lists of unequal length,
    complex or non-finite values each get a message naming the weights, not numpy's.
    """
    array = real_array(f"weight array {name}", value)
    if ndim == 0:
        if array.size != 1:
            raise InvalidInputError(
                f"weight array {name} must be one number, got shape {array.shape}"
            )
        array = array.reshape(())
    elif ndim == 1:
        if array.ndim > 1 and array.size != max(array.shape):
            raise InvalidInputError(
                f"weight array {name} must be a vector, got shape {array.shape}"
            )
        array = array.reshape(-1)
    else:
        array = np.atleast_2d(array)
        if array.ndim != 2:
            raise InvalidInputError(
                f"weight array {name} must be a matrix, got shape {array.shape}"
            )
    if not np.all(np.isfinite(array)):
        raise InvalidInputError(f"weight array {name} must be finite")
    return array


def _as_matrix(X: Any) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[None, :]
    return X


class _Network:
    """Shared behaviour; subclasses define ``hidden_weights`` and ``predict``."""

    arch: ClassVar[str]

    @property
    def width(self) -> int:
        return self.hidden_weights[0].shape[0]

    @property
    def d(self) -> int:
        return self.hidden_weights[0].shape[1]

    @property
    def hidden_weights(self) -> tuple[np.ndarray, np.ndarray]:  # (W (h, d), b (h,))
        raise NotImplementedError

    def pre_activations(self, X: Any) -> np.ndarray:
        """Hidden pre-activations ``z = X W^T + b``, shape (n_samples, width)."""
        W, b = self.hidden_weights
        X = _as_matrix(X)
        if X.shape[1] != W.shape[1]:
            raise InvalidInputError(
                f"the network expects {W.shape[1]} features, X has {X.shape[1]}"
            )
        return X @ W.T + b

    def activation_pattern(self, X: Any) -> np.ndarray:
        """Boolean array of shape (n_samples, width): unit j is active (z > 0) on sample i."""
        return self.pre_activations(X) > 0.0

    def dead_units(self, X: Any) -> list[int]:
        """Indices of hidden units that are active on no sample of ``X``."""
        return [int(j) for j in np.flatnonzero(~self.activation_pattern(X).any(axis=0))]

    def loss(self, X: Any, y: Any, loss: str = "squared") -> float:
        """Sum over samples of the per-sample loss, in float64."""
        return total_loss(np.asarray(y, float), self.predict(X), loss)

    def max_abs_weight(self) -> float:
        """Largest absolute entry among the boxed weights (hidden weights and biases)."""
        W, b = self.hidden_weights
        return float(max(np.max(np.abs(W), initial=0.0), np.max(np.abs(b), initial=0.0)))

    def on_box(self, weight_bound: float, rtol: float = 1e-6) -> bool:
        """True when some boxed weight sits on the box boundary (within ``rtol``)."""
        return self.max_abs_weight() >= weight_bound * (1.0 - rtol)

    def predict(self, X: Any) -> np.ndarray:
        raise NotImplementedError


@dataclass(eq=False)
class OneNodeNetwork(_Network):
    """``f(x) = max(0, w·x + b)``.

    Parameters
    ----------
    w : ndarray of shape (n_features,)
    b : float, default 0.0
    """

    w: np.ndarray
    b: float = 0.0
    arch: ClassVar[str] = "one-node"

    def __post_init__(self) -> None:
        self.w = weights_array("w", self.w, 1)
        self.b = float(weights_array("b", self.b, 0))

    @property
    def hidden_weights(self) -> tuple[np.ndarray, np.ndarray]:
        return self.w[None, :], np.array([self.b])

    def predict(self, X: Any) -> np.ndarray:
        """Network output, shape (n_samples,)."""
        return np.maximum(0.0, self.pre_activations(X)[:, 0])

    def to_dict(self) -> dict[str, Any]:
        return {"w": self.w.tolist(), "b": self.b}

    def as_two_layer(self) -> TwoLayerNetwork:
        """The same function as a width-1 two-layer network (v = +1, c = 0)."""
        return TwoLayerNetwork(self.w[None, :].copy(), np.array([self.b]), np.ones(1), 0.0)


@dataclass(eq=False)
class TwoLayerNetwork(_Network):
    """``f(x) = Σ_j v_j · max(0, W_j·x + b_j) + c`` with ``v_j ∈ {-1, +1}``.

    Parameters
    ----------
    W : ndarray of shape (width, n_features)
    b : ndarray of shape (width,)
    v : ndarray of shape (width,)
        Output signs, each exactly -1 or +1. Use :meth:`from_real_output` for real
        output weights.
    c : float, default 0.0
        Output bias (free, not boxed).
    """

    W: np.ndarray
    b: np.ndarray
    v: np.ndarray
    c: float = 0.0
    arch: ClassVar[str] = "two-layer"

    def __post_init__(self) -> None:
        self.W = weights_array("W", self.W, 2)
        h = self.W.shape[0]
        self.b = weights_array("b", self.b, 1)
        self.v = weights_array("v", self.v, 1)
        self.c = float(weights_array("c", self.c, 0))
        if self.b.shape != (h,) or self.v.shape != (h,):
            raise InvalidInputError(
                f"two-layer weights disagree: W has {h} rows, b has {self.b.size} entries, "
                f"v has {self.v.size}"
            )
        if np.any(np.abs(self.v) != 1.0):
            raise InvalidInputError(
                "output weights v must be exactly -1 or +1; "
                "use TwoLayerNetwork.from_real_output for real output weights"
            )

    @classmethod
    def from_real_output(cls, W: Any, b: Any, v: Any, c: float = 0.0) -> TwoLayerNetwork:
        """Map a network with real output weights into the class (positive homogeneity).

        ReLU is positively homogeneous: ``v·max(0, u·x + t) = sign(v)·max(0, |v|u·x + |v|t)``,
        so unit j is rescaled by ``|v_j|`` and keeps the sign of ``v_j``. A unit with
        ``v_j = 0`` contributes nothing and becomes ``W_j = 0, b_j = 0, v_j = +1``.
        Predictions are preserved up to float rounding.
        """
        W, b = weights_array("W", W, 2), weights_array("b", b, 1)
        v, c = weights_array("v", v, 1), float(weights_array("c", c, 0))
        if b.shape[0] != W.shape[0] or v.shape[0] != W.shape[0]:
            raise InvalidInputError(
                f"two-layer weights disagree: W has {W.shape[0]} rows, b has {b.size} entries, "
                f"v has {v.size}"
            )
        scale = np.abs(v)
        return cls(W * scale[:, None], b * scale, np.where(v < 0, -1.0, 1.0), c)

    @property
    def hidden_weights(self) -> tuple[np.ndarray, np.ndarray]:
        return self.W, self.b

    def predict(self, X: Any) -> np.ndarray:
        """Network output, shape (n_samples,)."""
        return np.maximum(0.0, self.pre_activations(X)) @ self.v + self.c

    def to_dict(self) -> dict[str, Any]:
        return {"W": self.W.tolist(), "b": self.b.tolist(), "v": self.v.tolist(), "c": self.c}


Network = OneNodeNetwork | TwoLayerNetwork


def network_from_dict(arch: str, weights: dict[str, Any]) -> Network:
    """Rebuild a network from the ``weights`` of a certificate (see ``to_dict``)."""
    try:
        if arch == "one-node":
            return OneNodeNetwork(weights["w"], weights.get("b", 0.0))
        if arch == "two-layer":
            return TwoLayerNetwork(weights["W"], weights["b"], weights["v"], weights.get("c", 0.0))
    except KeyError as exc:
        raise InvalidInputError(f"{arch} weights lack the entry {exc.args[0]!r}") from None
    raise InvalidInputError(f"arch must be one-node or two-layer, got {arch!r}")


def check_in_class(network: Any, arch: str, d: int, width: int, weight_bound: float) -> Network:
    """Return ``network`` if it belongs to the class, else raise ``InvalidInputError``.

    A one-node network is accepted for a width-1 two-layer class (as ``v = +1, c = 0``).
    """
    if isinstance(network, OneNodeNetwork) and arch == "two-layer" and width == 1:
        network = network.as_two_layer()
    expected = OneNodeNetwork if arch == "one-node" else TwoLayerNetwork
    if not isinstance(network, expected):
        raise InvalidInputError(
            f"expected a {expected.__name__} for arch {arch}, got {type(network).__name__}"
        )
    if network.d != d:
        raise InvalidInputError(f"the network has {network.d} inputs but the data has {d} features")
    if network.width != width:
        raise InvalidInputError(f"the network has width {network.width}, the problem {width}")
    if network.max_abs_weight() > weight_bound * (1 + 1e-9):
        raise InvalidInputError(
            f"the network has a weight of size {network.max_abs_weight():.6g} outside the box "
            f"of radius {weight_bound:g}; raise the weight bound"
        )
    return network


def zero_network(arch: str, d: int, width: int = 1) -> Network:
    """The all-zero network of the class (a feasible point of every formulation)."""
    if arch == "one-node":
        return OneNodeNetwork(np.zeros(d), 0.0)
    return TwoLayerNetwork(np.zeros((width, d)), np.zeros(width), np.ones(width), 0.0)
