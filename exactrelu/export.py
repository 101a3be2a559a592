"""Take networks and models out of exactrelu: numpy, scikit-learn, PyTorch, LP/MPS files.

* :func:`to_numpy`: a network's weights as numpy arrays (``W``, ``b``, ``v``, ``c``).
* :func:`to_sklearn_predictor`: a :class:`NetworkPredictor` with ``predict`` and
  ``score`` (scikit-learn's predictor interface, no scikit-learn needed).
* :func:`to_torch`: a ``torch.nn.Sequential(Linear, ReLU, Linear)`` in float64 with the
  same predictions (needs PyTorch).
* :func:`export_mip` and ``exactrelu export INSTANCE --format lp|mps``: write the
  training MIP so it can be taken to other solvers. Two-layer networks need one model
  per output-sign case (``width + 1`` of them), so one file per case is written,
  ``NAME.p{k}.lp`` with ``k`` the number of +1 output weights; the optimum of the class
  is the smallest optimum over the files. Squared loss is written as the exact MIQP
  (quadratic objective; Pyomo's LP writer and the MPS ``QUADOBJ`` section carry it) by
  default; ``squared="tangents"`` writes a MILP relaxation with tangent cuts at the
  initial residuals instead (a lower bound only) for solvers without MIQP.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import numpy as np

from exactrelu.data import ARCHS, LOSSES, Problem, load_instance
from exactrelu.errors import InvalidInputError, MissingDependencyError
from exactrelu.network import Network, OneNodeNetwork, TwoLayerNetwork

FORMATS = ("lp", "mps")
SQUARED_EXPORT = ("quadratic", "tangents")


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
    try:
        import torch
    except ImportError:
        raise MissingDependencyError("torch", "torch", "exporting to PyTorch") from None
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


def export_mip(
    problem: Problem, path: str | Path, *, format: str = "lp", squared: str = "quadratic"
) -> list[Path]:
    """Write the training MIP of ``problem`` for other solvers.

    Parameters
    ----------
    problem : Problem
    path : str or Path
        Output name; a suffix ``.lp``/``.mps`` is dropped. One-node: ``NAME.FORMAT``;
        two-layer: ``NAME.p{k}.FORMAT`` for ``k = width, ..., 0`` positive output weights.
    format : {"lp", "mps"}, default "lp"
    squared : {"quadratic", "tangents"}, default "quadratic"
        Squared loss only: the exact MIQP, or a MILP relaxation with tangent cuts at the
        initial residuals (its optimum is a lower bound).

    Returns
    -------
    list of Path
        The files written.
    """
    from exactrelu.formulation import build_formulations

    if format not in FORMATS:
        raise InvalidInputError(f"format must be one of {', '.join(FORMATS)}; got {format!r}")
    if squared not in SQUARED_EXPORT:
        raise InvalidInputError(
            f"squared must be one of {', '.join(SQUARED_EXPORT)}; got {squared!r}"
        )
    path = Path(path)
    if path.suffix.lower() in (".lp", ".mps"):
        path = path.with_suffix("")
    if not path.parent.is_dir():
        raise InvalidInputError(f"{path}: directory {path.parent} does not exist")
    formulations = build_formulations(problem, squared=squared)
    if problem.loss == "squared" and squared == "tangents":
        from exactrelu.solver.mip import initial_tangent_points

        for formulation in formulations:
            for point in initial_tangent_points(problem):
                formulation.add_tangents(point)
    written = []
    pyomo_log = logging.getLogger("pyomo.core")
    level = pyomo_log.level
    pyomo_log.setLevel(logging.ERROR)  # Pyomo warns about names like NAME.p2.lp
    try:
        for formulation in formulations:
            tag = "" if problem.arch == "one-node" else f".p{formulation.positive_units}"
            target = path.parent / f"{path.name}{tag}.{format}"
            try:
                formulation.model.write(
                    str(target), format=format, io_options={"symbolic_solver_labels": True}
                )
            except OSError as exc:
                raise InvalidInputError(f"{target}: cannot write ({exc.strerror or exc})") from None
            written.append(target)
    finally:
        pyomo_log.setLevel(level)
    return written


# ---------------------------------------------------------------------------------------
# command line: exactrelu export INSTANCE --format lp|mps
# ---------------------------------------------------------------------------------------


def add_export_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``exactrelu export`` on ``subparsers`` (handler in ``func`` and ``run``)."""
    p = subparsers.add_parser(
        "export",
        help="write the training MIP as LP or MPS files for other solvers",
        description="Write the big-M MIP of INSTANCE. One-node: one file; two-layer: one "
        "file per output-sign case, OUT.p{k}.FORMAT with k positive output weights (the "
        "optimum is the smallest over the files). Squared loss is an MIQP (quadratic "
        "objective) unless --squared tangents.",
    )
    p.add_argument("instance", metavar="INSTANCE", help="instance file (.npz or .csv)")
    p.add_argument("--format", choices=FORMATS, default="lp", help="file format (default lp)")
    p.add_argument(
        "--out",
        metavar="NAME",
        help="output name without suffix (default: the instance name, here)",
    )
    p.add_argument("--arch", choices=ARCHS, help="network class (default one-node)")
    p.add_argument("--width", type=int, metavar="H", help="hidden units of a two-layer network")
    p.add_argument("--loss", choices=LOSSES, help="per-sample loss (default squared)")
    p.add_argument("--weight-bound", type=float, metavar="B", help="box radius (default 2)")
    p.add_argument("--no-bias", action="store_true", help="hidden units without bias")
    p.add_argument(
        "--squared",
        choices=SQUARED_EXPORT,
        default="quadratic",
        help="squared loss as an MIQP (default) or a MILP with tangent cuts",
    )
    p.set_defaults(run=run_export)
    return p


def run_export(args: argparse.Namespace) -> int:
    """Handler of ``exactrelu export``; prints the files written, returns 0."""
    instance = load_instance(args.instance)
    problem = instance.problem(
        arch=args.arch,
        width=args.width,
        loss=args.loss,
        weight_bound=args.weight_bound,
        bias=False if args.no_bias else None,
    )
    for target in export_mip(
        problem, args.out or instance.name, format=args.format, squared=args.squared
    ):
        print(target)
    return 0
