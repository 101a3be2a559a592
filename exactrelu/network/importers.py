"""Read trained networks from files and foreign objects, and normalise them into the class.

Sources (see docs/validate.md):

* exactrelu's own files: a certificate JSON (``exactrelu solve --json``/``--out``: keys
  ``arch`` and ``weights``), a JSON object of weights, or an ``.npz`` with ``w``, ``b``
  (one-node) or ``W``, ``b``, ``v``, ``c`` (two-layer, ``v`` may be real);
* a scikit-learn ``MLPRegressor`` / ``MLPClassifier`` with one ReLU hidden layer and one
  output (as an object; from a pickle file only with ``trust_pickle=True``, because
  unpickling runs arbitrary code);
* a PyTorch ``Linear -> ReLU -> Linear`` state dict (``.pt``/``.pth``, read with
  ``torch.load(..., weights_only=True)``) or such a module as an object.

Every network is normalised into the class (docs/problem.md): real output weights are moved
into the hidden layer by positive homogeneity (``TwoLayerNetwork.from_real_output``), and
a width-1 network with a positive output weight and output bias 0 is a one-node network.
:class:`LoadedNetwork` records what was done, so reports can say so.
"""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from exactrelu.errors import (
    InstanceFileError,
    InvalidInputError,
    MissingDependencyError,
    one_line,
    show,
)
from exactrelu.instances import check_input_file, read_json_object, read_npz_arrays
from exactrelu.network.networks import (
    Network,
    OneNodeNetwork,
    TwoLayerNetwork,
    network_from_dict,
    weights_array,
)
from exactrelu.problem import ARCHS, LOSSES

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
TORCH_SUFFIXES = (".pt", ".pth")


@dataclass
class LoadedNetwork:
    """A network normalised into the class, with where it came from.

    Attributes
    ----------
    network : OneNodeNetwork or TwoLayerNetwork
        The network in the class (output weights ±1).
    source : str
        ``"exactrelu"``, ``"sklearn"``, ``"torch"`` or ``"arrays"``.
    notes : list of str
        What the normalisation did (for instance the rescaling of output weights).
    classes : ndarray or None
        For a classifier, its two classes (``classes[0]`` ↔ label -1, ``classes[1]`` ↔ +1).
    loss : str or None
        The loss the network was trained for, when the file says so (a certificate).
    raw : dict
        The weights as found, with real output weights (``W``, ``b``, ``v``, ``c``), so that
        callers can check the normalised network against the original.
    """

    network: Network
    source: str
    notes: list[str] = field(default_factory=list)
    classes: np.ndarray | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    loss: str | None = None


def normalise(
    W: Any, b: Any, v: Any, c: float, *, source: str, one_node_ok: bool = True
) -> LoadedNetwork:
    """Map a one-hidden-layer ReLU network with real output weights into the class.

    Parameters
    ----------
    W : array-like of shape (width, n_features)
        Hidden weights.
    b : array-like of shape (width,)
        Hidden biases.
    v : array-like of shape (width,)
        Real output weights.
    c : float
        Output bias.
    source : str
        Recorded in the result.
    one_node_ok : bool, default True
        Return a :class:`OneNodeNetwork` when the network is one (width 1, ``v > 0``,
        ``c = 0``).

    Returns
    -------
    LoadedNetwork
    """
    W, b = weights_array("W", W, 2), weights_array("b", b, 1)
    v, c = weights_array("v", v, 1), float(weights_array("c", c, 0))
    raw = {"W": W, "b": b, "v": v, "c": c}
    notes: list[str] = []
    if np.any(np.abs(v) != 1.0):
        notes.append(
            "output weights rescaled to ±1 by positive homogeneity of ReLU: "
            "hidden unit j multiplied by |v_j|"
        )
    if np.any(v == 0.0):
        notes.append("units with output weight 0 set to W_j = 0, b_j = 0, v_j = +1")
    network = TwoLayerNetwork.from_real_output(W, b, v, c)
    if one_node_ok and network.width == 1 and network.v[0] > 0 and c == 0.0:
        notes.append("width 1, positive output weight, output bias 0: a one-node network")
        return LoadedNetwork(
            OneNodeNetwork(network.W[0], float(network.b[0])), source, notes, raw=raw
        )
    return LoadedNetwork(network, source, notes, raw=raw)


def raw_predict(raw: dict[str, Any], X: Any) -> np.ndarray:
    """Output of the un-normalised network ``raw`` (``W``, ``b``, ``v``, ``c``), shape (n,)."""
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    return np.maximum(0.0, X @ raw["W"].T + raw["b"]) @ raw["v"] + raw["c"]


# ---------------------------------------------------------------------------------------
# foreign objects
# ---------------------------------------------------------------------------------------


def from_sklearn(mlp: Any) -> LoadedNetwork:
    """Normalise a fitted scikit-learn ``MLPRegressor`` or ``MLPClassifier``.

    The model must have one hidden layer with ``activation="relu"`` and a single output
    (a regressor with one target, or a binary classifier, whose output is the logit
    before the logistic function). For a classifier the class ``classes_[1]`` is the
    label +1 (positive logit) and ``classes_[0]`` is -1.

    Raises
    ------
    InvalidInputError
        Not fitted, not ReLU, not one hidden layer, or more than one output.
    """
    name = type(mlp).__name__
    coefs = getattr(mlp, "coefs_", None)
    intercepts = getattr(mlp, "intercepts_", None)
    if coefs is None or intercepts is None:
        raise InvalidInputError(f"{name} is not a fitted scikit-learn MLP (no coefs_)")
    if getattr(mlp, "activation", None) != "relu":
        raise InvalidInputError(
            f"{name} uses activation={getattr(mlp, 'activation', None)!r}; only 'relu' networks "
            "belong to exactrelu's classes"
        )
    if len(coefs) != 2:
        raise InvalidInputError(
            f"{name} has {len(coefs) - 1} hidden layers; exactrelu handles exactly one"
        )
    if coefs[1].shape[1] != 1:
        raise InvalidInputError(
            f"{name} has {coefs[1].shape[1]} outputs; exactrelu handles one output "
            "(a single regression target or a binary classifier)"
        )
    out = getattr(mlp, "out_activation_", "identity")
    if out not in ("identity", "logistic"):
        raise InvalidInputError(
            f"{name} has output activation {out!r}; expected identity or "
            "logistic (binary classifier)"
        )
    # sklearn stores coefs_[0] as (d, h); the class uses W of shape (h, d)
    loaded = normalise(
        coefs[0].T, intercepts[0], coefs[1][:, 0], float(intercepts[1][0]), source="sklearn"
    )
    if out == "logistic":
        loaded.classes = np.asarray(mlp.classes_)
        loaded.notes.append(
            f"binary classifier: the network is its logit; class {show(loaded.classes[1])} is "
            f"label +1, class {show(loaded.classes[0])} is -1"
        )
    return loaded


def _torch_layers(state: dict[str, Any]) -> tuple[np.ndarray, ...]:
    """(W1, b1, W2, b2) from a ``Linear-ReLU-Linear`` state dict, in insertion order."""
    arrays = {}
    for key, value in state.items():
        to_numpy = getattr(value, "detach", None)
        arrays[key] = np.asarray(
            value.detach().cpu().double().numpy() if to_numpy else value, dtype=np.float64
        )
    weights = [k for k, a in arrays.items() if k.endswith("weight") and a.ndim == 2]
    if len(weights) != 2:
        raise InvalidInputError(
            f"expected a Linear-ReLU-Linear state dict with 2 weight matrices, found "
            f"{len(weights)} ({', '.join(arrays) or 'no entries'})"
        )
    W1, W2 = arrays[weights[0]], arrays[weights[1]]
    b1 = arrays.get(weights[0][: -len("weight")] + "bias", np.zeros(W1.shape[0]))
    b2 = arrays.get(weights[1][: -len("weight")] + "bias", np.zeros(W2.shape[0]))
    if W2.shape != (1, W1.shape[0]):
        raise InvalidInputError(
            f"the second Linear layer has shape {W2.shape}; expected (1, {W1.shape[0]}) "
            "(one output fed by the hidden layer)"
        )
    return W1, b1.reshape(-1), W2[0], b2.reshape(-1)


def from_torch(module_or_state: Any) -> LoadedNetwork:
    """Normalise a PyTorch ``Linear -> ReLU -> Linear`` module or its state dict.

    A module must be an ``nn.Sequential`` of exactly ``Linear, ReLU, Linear`` (anything
    else may compute a different function, so it is refused); a state dict is taken to
    describe one (two weight matrices, first ``(h, d)``, then ``(1, h)``).
    """
    state = module_or_state
    if hasattr(module_or_state, "state_dict"):
        import torch  # the object is a torch module, so torch is installed

        kinds = [type(m) for m in module_or_state.children()]
        if kinds != [torch.nn.Linear, torch.nn.ReLU, torch.nn.Linear]:
            raise InvalidInputError(
                "expected a torch.nn.Sequential(Linear, ReLU, Linear), got "
                f"{type(module_or_state).__name__} of {[k.__name__ for k in kinds]}"
            )
        state = module_or_state.state_dict()
    if not isinstance(state, dict):
        raise InvalidInputError(f"expected a torch state dict, got {type(state).__name__}")
    W1, b1, v, c = _torch_layers(state)
    return normalise(W1, b1, v, float(c[0]), source="torch")


def as_network(obj: Any) -> LoadedNetwork:
    """Normalise any supported network object (see the module docstring).

    Accepts exactrelu networks, a dict of weights (``w``/``b`` or ``W``/``b``/``v``/``c``,
    or a certificate dict with ``arch`` and ``weights``), scikit-learn MLPs and PyTorch
    modules or state dicts. A path is read with :func:`load_weights` (no pickles).
    """
    if isinstance(obj, LoadedNetwork):
        return obj
    if isinstance(obj, OneNodeNetwork):
        return LoadedNetwork(obj, "exactrelu", raw=_raw_of(obj.as_two_layer()))
    if isinstance(obj, TwoLayerNetwork):
        return LoadedNetwork(obj, "exactrelu", raw=_raw_of(obj))
    if isinstance(obj, (str, Path)):
        return load_weights(obj)
    if hasattr(obj, "coefs_") or type(obj).__module__.startswith("sklearn"):
        return from_sklearn(obj)
    if hasattr(obj, "state_dict"):
        return from_torch(obj)
    if isinstance(obj, dict):
        return _from_dict(obj, "dict")
    raise InvalidInputError(
        f"cannot read a network from a {type(obj).__name__}; pass an exactrelu network, a "
        "weights dict, a scikit-learn MLP, a PyTorch Linear-ReLU-Linear, or a file path"
    )


def _raw_of(network: TwoLayerNetwork) -> dict[str, Any]:
    return {"W": network.W, "b": network.b, "v": network.v, "c": network.c}


def _from_dict(data: dict[str, Any], where: str) -> LoadedNetwork:
    loaded = _weights_from_dict(data, where)
    if "weights" in data and data.get("loss") in LOSSES:
        loaded.loss = data["loss"]  # a certificate: the loss it was solved for
    return loaded


def _weights_from_dict(data: dict[str, Any], where: str) -> LoadedNetwork:
    if "weights" in data and isinstance(data["weights"], dict):
        arch = data.get("arch")
        if arch is None:
            arch = "two-layer" if "W" in data["weights"] else "one-node"
        if arch not in ARCHS:
            raise InvalidInputError(
                f"{where}: arch must be one of {', '.join(ARCHS)}; got {show(arch)}"
            )
        weights = data["weights"]
    else:
        weights = data
        arch = "two-layer" if "W" in weights else "one-node"
    if any(hasattr(value, "state_dict") or hasattr(value, "detach") for value in weights.values()):
        return from_torch(weights)
    if arch == "one-node":
        if "w" not in weights:
            raise InvalidInputError(
                f"{where}: no weights found; expected w, b (one-node) or W, b, v, c (two-layer)"
            )
        network = network_from_dict("one-node", weights)
        return LoadedNetwork(network, "exactrelu", raw=_raw_of(network.as_two_layer()))
    missing = [key for key in ("W", "b", "v") if key not in weights]
    if missing:
        raise InvalidInputError(f"{where}: two-layer weights lack {', '.join(missing)}")
    loaded = normalise(
        weights["W"],
        weights["b"],
        weights["v"],
        weights.get("c", 0.0),
        source="exactrelu",
        one_node_ok=False,
    )
    return loaded


def _torch_load_message(path: Path, exc: Exception) -> str:
    """One line for a ``.pt`` file that ``torch.load(..., weights_only=True)`` refused.

    torch explains a refusal in a page of advice with terminal escape codes; the user
    needs to know what the file holds and what to save instead.
    """
    text = str(exc)
    unsafe = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if unsafe and unsafe[1].startswith("torch.nn."):
        return (
            f"{path}: holds a whole pickled PyTorch module ({unsafe[1].rsplit('.', 1)[-1]}), "
            "which cannot be read without running code stored in the file; save its weights "
            "instead, torch.save(model.state_dict(), PATH), and pass that file"
        )
    if unsafe:
        return (
            f"{path}: holds a pickled {unsafe[1]}, not a state dict of tensors; save the "
            "network's weights with torch.save(model.state_dict(), PATH)"
        )
    detail = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\n\n|$)", text, re.S)
    return (
        f"{path}: not a PyTorch state dict readable with weights_only=True "
        f"({one_line(detail[1] if detail else exc)})"
    )


def load_weights(path: str | Path, *, trust_pickle: bool = False) -> LoadedNetwork:
    """Read a network from a file and normalise it into the class.

    Parameters
    ----------
    path : str or Path
        ``.json`` (certificate or weights object), ``.npz`` (``w``, ``b`` or ``W``, ``b``,
        ``v``, ``c``), ``.pt``/``.pth`` (PyTorch state dict, needs torch) or
        ``.pkl``/``.pickle``/``.joblib`` (a pickled scikit-learn MLP).
    trust_pickle : bool, default False
        Allow reading a pickle. Unpickling runs code stored in the file: only do it for
        files you made yourself.

    Raises
    ------
    InstanceFileError
        Missing or unreadable file, unknown type, a pickle without ``trust_pickle``.
    MissingDependencyError
        A ``.pt`` file without PyTorch installed.
    """
    path = check_input_file(path)
    try:
        return _load_weights(path, trust_pickle)
    except InstanceFileError:
        raise
    except InvalidInputError as exc:
        if str(exc).startswith(str(path)):
            raise
        raise InvalidInputError(f"{path}: {exc}") from None  # name the file


def _load_weights(path: Path, trust_pickle: bool) -> LoadedNetwork:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _from_dict(read_json_object(path), str(path))
    if suffix == ".npz":
        data = read_npz_arrays(path)
        return _from_dict({k: (v.item() if v.ndim == 0 else v) for k, v in data.items()}, str(path))
    if suffix in TORCH_SUFFIXES:
        try:
            import torch
        except ImportError:
            raise MissingDependencyError("torch", "torch", f"reading {path.name}") from None
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises many types for bad or unsafe files
            raise InstanceFileError(_torch_load_message(path, exc)) from None
        return from_torch(state)
    if suffix in PICKLE_SUFFIXES:
        if not trust_pickle:
            raise InstanceFileError(
                f"{path}: reading a pickle runs code stored in the file; pass --trust-pickle "
                "(trust_pickle=True) only for files you made yourself"
            )
        try:
            if suffix == ".joblib":
                import joblib  # installed with scikit-learn

                obj = joblib.load(path)
            else:
                with path.open("rb") as handle:
                    obj = pickle.load(handle)  # the user passed trust_pickle
        except Exception as exc:
            raise InstanceFileError(f"{path}: cannot unpickle ({one_line(exc)})") from None
        return as_network(obj)
    raise InstanceFileError(
        f"{path}: unknown weights file type {suffix!r}; use .json, .npz, .pt/.pth or "
        ".pkl (with --trust-pickle)"
    )
