"""Take networks out of exactrelu: numpy arrays, a scikit-learn predictor, PyTorch.

* :func:`to_numpy`: a network's weights as numpy arrays (``W``, ``b``, ``v``, ``c``).
* :func:`to_sklearn_predictor`: a :class:`NetworkPredictor` with ``predict`` and
  ``score`` (scikit-learn's predictor interface, no scikit-learn needed).
* :func:`to_torch`: a ``torch.nn.Sequential(Linear, ReLU, Linear)`` in float64 with the
  same predictions (needs PyTorch).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from exactrelu.errors import InvalidInputError, import_optional
from exactrelu.network.networks import Network, OneNodeNetwork, TwoLayerNetwork


def _two_layer(network: Network) -> TwoLayerNetwork:
    if isinstance(network, OneNodeNetwork):
        return network.as_two_layer()
    if isinstance(network, TwoLayerNetwork):
        return network
    raise InvalidInputError(f"expected an exactrelu network, got {type(network).__name__}")


def to_numpy(network: Network) -> dict[str, np.ndarray | float]:
    """The weights of ``network`` as float64 arrays, in the two-layer form.

    Returns
    -------
    dict
        ``W`` of shape (width, n_features), ``b`` (width,), ``v`` (width,) and ``c``
        (float), so that ``f(x) = max(0, x @ W.T + b) @ v + c``. A one-node network is
        the width-1 case with ``v = [1]``, ``c = 0``.
    """
    net = _two_layer(network)
    return {"W": net.W.copy(), "b": net.b.copy(), "v": net.v.copy(), "c": float(net.c)}


class NetworkPredictor:
    """A fitted predictor with scikit-learn's ``predict``/``score`` interface.

    Parameters
    ----------
    network : OneNodeNetwork or TwoLayerNetwork
    classes : array-like of shape (2,), optional
        For a classifier: ``predict`` returns ``classes[1]`` where the network output is
        positive, ``classes[0]`` elsewhere, and ``score`` is the accuracy. Without
        classes it is a regressor: ``predict`` is the network output, ``score`` is R².
    """

    def __init__(self, network: Network, classes: Any = None) -> None:
        self.network = network
        self.classes_ = None if classes is None else np.asarray(classes)
        if self.classes_ is not None and self.classes_.shape != (2,):
            raise InvalidInputError("classes must hold exactly two classes")
        self.n_features_in_ = network.d

    def decision_function(self, X: Any) -> np.ndarray:
        """Network output, shape (n_samples,)."""
        return self.network.predict(X)

    def predict(self, X: Any) -> np.ndarray:
        """Network output (regressor) or class (classifier), shape (n_samples,)."""
        f = self.network.predict(X)
        if self.classes_ is None:
            return f
        return np.where(f > 0.0, self.classes_[1], self.classes_[0])

    def score(self, X: Any, y: Any) -> float:
        """R² (regressor) or accuracy (classifier) on ``X``, ``y``."""
        y = np.asarray(y)
        pred = self.predict(X)
        if self.classes_ is not None:
            return float(np.mean(pred == y))
        residual = float(np.sum((y - pred) ** 2))
        total = float(np.sum((y - y.mean()) ** 2))
        return 1.0 - residual / total if total > 0 else float(residual == 0.0)


def to_sklearn_predictor(network: Network, classes: Any = None) -> NetworkPredictor:
    """Wrap ``network`` as a scikit-learn-compatible predictor (see :class:`NetworkPredictor`)."""
    _two_layer(network)  # type check
    return NetworkPredictor(network, classes)


def to_torch(network: Network, dtype: Any = None) -> Any:
    """The network as ``torch.nn.Sequential(Linear(d, h), ReLU(), Linear(h, 1))``.

    Parameters
    ----------
    network : OneNodeNetwork or TwoLayerNetwork
    dtype : torch.dtype, optional
        Default ``torch.float64``, so predictions equal :meth:`predict` up to the order
        of float operations.

    Returns
    -------
    torch.nn.Sequential
        Output of shape (n_samples, 1).
    """
    torch = import_optional("torch", "torch", "exporting to PyTorch")
    dtype = torch.float64 if dtype is None else dtype
    arrays = to_numpy(network)
    h, d = arrays["W"].shape
    module = torch.nn.Sequential(torch.nn.Linear(d, h), torch.nn.ReLU(), torch.nn.Linear(h, 1)).to(
        dtype
    )
    with torch.no_grad():
        module[0].weight.copy_(torch.as_tensor(arrays["W"], dtype=dtype))
        module[0].bias.copy_(torch.as_tensor(arrays["b"], dtype=dtype))
        module[2].weight.copy_(torch.as_tensor(arrays["v"][None, :], dtype=dtype))
        module[2].bias.fill_(arrays["c"])
    return module
