"""How far from the optimum is a trained network? ``exactrelu.validate`` and ``exactrelu validate``.

Given data and a trained network (exactrelu's own, a scikit-learn MLP, a PyTorch
``Linear-ReLU-Linear``; see :mod:`exactrelu.network.importers`), :func:`validate`

1. normalises the network into the class (output weights ±1, docs/problem.md),
2. picks the box: the one asked for, grown when it does not contain the network
   (:func:`containing_weight_bound`), so that the network is a point of the class,
3. computes its loss, then runs the exact MIP warm-started from it (so the best loss
   found is never worse than the network's),
4. reports the certified optimum (or best loss and bound at the time limit), the gap of
   the given network relative to the optimum, dead units of both networks and how
   their activation patterns differ.

Gaps are relative to the optimum ``L*`` (not to the network's loss as the certificate's
``gap`` is): with the network's loss ``L``, the best loss found ``U >= L*`` and the
proven bound ``LB <= L*``,

    gap_lower = (L - U) / U  <=  (L - L*) / L*  <=  (L - LB) / LB = gap_upper,

so the network is "at most gap_upper and at least gap_lower above the optimum". A ratio
with a zero denominator is undefined (None, ``null`` in JSON) unless its numerator is 0
too; the absolute excesses ``excess_upper = L - LB`` and ``excess_lower = L - U`` are
always given.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from exactrelu.errors import InvalidInputError, show
from exactrelu.network.importers import LoadedNetwork, as_network
from exactrelu.network.networks import Network, OneNodeNetwork, TwoLayerNetwork
from exactrelu.problem import (
    ARCHS,
    DEFAULT_WEIGHT_BOUND,
    LOSSES,
    Problem,
    check_positive,
    validate_arrays,
)

DEFAULT_TIME_LIMIT = 60.0  # seconds; validation is a diagnostic, so it is bounded by default
BOX_MARGIN = 1e-3  # a grown box leaves the network this far (relative) inside the boundary
MAX_PERMUTATION_WIDTH = 7  # exact unit matching up to 7! = 5040 permutations, greedy beyond


def containing_weight_bound(
    network: Network, requested: float | None = None, default: float = DEFAULT_WEIGHT_BOUND
) -> tuple[float, bool]:
    """The box radius to validate ``network`` in, and whether a requested box had to grow.

    The one place where the box is chosen. The network must lie in the box, otherwise
    the optimum of the class says nothing about it. The box is ``requested`` (or
    ``default`` when nothing is requested) when that contains the network; otherwise it
    is the network's largest boxed weight rounded up to two significant digits, with a
    margin of ``BOX_MARGIN`` so the network does not sit exactly on the boundary.

    Parameters
    ----------
    network : OneNodeNetwork or TwoLayerNetwork
    requested : float, optional
        A box asked for by the user (``--weight-bound``).
    default : float, default 2.0
        The box used when none is requested and it contains the network.

    Returns
    -------
    weight_bound : float
    grown : bool
        True when ``requested`` was given and did not contain the network.
    """
    base = check_positive("weight bound", default if requested is None else requested)
    largest = network.max_abs_weight()
    if largest <= base:
        return base, False
    target = largest * (1.0 + BOX_MARGIN)
    step = 10.0 ** (math.floor(math.log10(target)) - 1)  # two significant digits
    # printed to 12 digits so that the box reads 3.3, not 3.3000000000000003
    return float(f"{math.ceil(target / step) * step:.12g}"), requested is not None


def _relative(excess: float, reference: float) -> float | None:
    """``excess / reference``; 0 when both are 0, None when only the reference is."""
    if reference > 0.0:
        return max(0.0, excess) / reference
    return 0.0 if excess <= 0.0 else None


def match_units(given: np.ndarray, other: np.ndarray) -> list[tuple[int, int]]:
    """Pair the hidden units of two activation patterns to minimise the Hamming distance.

    Hidden units are exchangeable, so patterns are compared unit by unit only after
    matching. Exact over all permutations up to width ``MAX_PERMUTATION_WIDTH``, greedy
    beyond.

    Parameters
    ----------
    given, other : ndarray of bool, shape (n_samples, width)

    Returns
    -------
    list of (int, int)
        ``(unit of given, unit of other)`` pairs, in the order of ``given``'s units.
    """
    h = given.shape[1]
    cost = (given[:, :, None] != other[:, None, :]).sum(axis=0)  # (h, h)
    if h <= MAX_PERMUTATION_WIDTH:
        best = min(
            itertools.permutations(range(h)),
            key=lambda perm: sum(cost[j, perm[j]] for j in range(h)),
        )
        return [(j, int(best[j])) for j in range(h)]
    pairs, used = [], set()
    for j in range(h):
        k = min((k for k in range(h) if k not in used), key=lambda k: cost[j, k])
        used.add(k)
        pairs.append((j, k))
    return pairs


def pattern_difference(X: np.ndarray, given: Network, other: Network) -> dict[str, Any]:
    """How the activation patterns of two networks of the same width differ on ``X``.

    Returns
    -------
    dict
        ``unit_matching`` (pairs from :func:`match_units`), ``differing_samples_per_unit``
        (per pair, samples where exactly one of the two units is active),
        ``samples_with_any_difference`` and its ``fraction`` of the samples.
    """
    a, b = given.activation_pattern(X), other.activation_pattern(X)
    pairs = match_units(a, b)
    differ = np.column_stack([a[:, j] != b[:, k] for j, k in pairs])
    rows = int(differ.any(axis=1).sum())
    return {
        "unit_matching": [[j, k] for j, k in pairs],
        "differing_samples_per_unit": [int(s) for s in differ.sum(axis=0)],
        "samples_with_any_difference": rows,
        "fraction": rows / X.shape[0],
    }


@dataclass
class ValidationReport:
    """The result of :func:`validate`; ``to_json`` gives the documented JSON.

    Attributes
    ----------
    status : str
        The exact solve's status; ``optimum`` is certified only when it is ``"optimal"``.
    network_loss : float
        Loss of the given network (normalised; the same function), in float64.
    optimum : float
        Best loss found (never above ``network_loss``).
    bound : float or None
        Proven lower bound on the optimum of the class.
    gap_upper, gap_lower : float or None
        The network's relative excess over ``bound`` and over ``optimum`` (module docstring).
    excess_upper, excess_lower : float or None
        The same as absolute differences.
    weight_bound : float
        The box the class was taken in.
    weight_bound_requested : float or None
    box_grown : bool
        The requested box did not contain the network and was grown.
    dead_units : dict
        ``{"network": [...], "optimum": [...]}``: hidden units active on no sample.
    pattern_difference : dict
        See :func:`pattern_difference`.
    """

    status: str
    network_loss: float
    optimum: float
    bound: float | None
    gap_upper: float | None
    gap_lower: float | None
    excess_upper: float | None
    excess_lower: float
    weight_bound: float
    weight_bound_requested: float | None
    box_grown: bool
    arch: str
    width: int
    loss: str
    n: int
    d: int
    dead_units: dict[str, list[int]]
    pattern_difference: dict[str, Any]
    network_on_box: bool
    optimum_on_box: bool
    source: str
    notes: list[str] = field(default_factory=list)
    network: dict[str, Any] = field(default_factory=dict)
    optimum_weights: dict[str, Any] = field(default_factory=dict)
    certificate: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def summary(self) -> str:
        """A short human-readable report (the CLI's default output)."""
        certified = self.status == "optimal"

        def pct(value: float | None) -> str:
            return "undefined" if value is None else f"{100 * value:.4g} %"

        shape = self.arch + (f", width {self.width}" if self.arch == "two-layer" else "")
        lines = [
            f"class          {shape}, {self.loss} loss, weight bound {self.weight_bound:g}"
            f" (n = {self.n}, d = {self.d})",
            f"network loss   {self.network_loss:.10g}",
            ("optimum        " if certified else "best loss      ")
            + f"{self.optimum:.10g}"
            + ("   (certified)" if certified else ""),
            "bound          "
            + ("none" if self.bound is None else f"{self.bound:.10g}")
            + f"   (status {self.status})",
        ]
        if (
            certified
            and self.gap_lower is not None
            and self.gap_upper is not None
            and (self.gap_upper - self.gap_lower <= 1e-6 * max(1.0, self.gap_upper))
        ):
            lines.append(f"gap            the network is {pct(self.gap_lower)} above the optimum")
        else:
            lines.append(
                f"gap            the network is at most {pct(self.gap_upper)} and at "
                f"least {pct(self.gap_lower)} above the optimum"
            )
        lines.append(
            f"dead units     network {self.dead_units['network'] or 'none'}, "
            f"optimum {self.dead_units['optimum'] or 'none'}"
        )
        diff = self.pattern_difference
        lines.append(
            f"patterns       differ on {diff['samples_with_any_difference']} of {self.n} samples"
            f" (per matched unit: {diff['differing_samples_per_unit']}, matching "
            f"network→optimum {[tuple(p) for p in diff['unit_matching']]})"
        )
        if self.box_grown:
            lines.append(
                f"note           the requested box {self.weight_bound_requested:g} does not "
                f"contain the network; grown to {self.weight_bound:g}"
            )
        if self.optimum_on_box:
            lines.append(
                "note           the best network sits on the box: a larger box may "
                "give a lower loss (raise --weight-bound)"
            )
        for note in self.notes:
            lines.append(f"note           {note}")
        return "\n".join(lines)


def _resolve_class(network: Network, arch: str | None, width: int | None) -> Network:
    """``network`` in the requested class (arch, width), or an error if it is not in it."""
    if arch is None:
        arch = network.arch
    if arch not in ARCHS:
        raise InvalidInputError(f"arch must be one of {', '.join(ARCHS)}; got {arch!r}")
    if arch == "one-node":
        if isinstance(network, TwoLayerNetwork):
            if not (network.width == 1 and network.v[0] > 0 and network.c == 0.0):
                raise InvalidInputError(
                    f"the network (two-layer, width {network.width}) is not a one-node network; "
                    "validate it with --arch two-layer"
                )
            network = OneNodeNetwork(network.W[0], float(network.b[0]))
        if width not in (None, 1):
            raise InvalidInputError("a one-node network has width 1")
        return network
    if isinstance(network, OneNodeNetwork):
        network = network.as_two_layer()
    if width is not None and width != network.width:
        raise InvalidInputError(
            f"the network has width {network.width}, not {width}; the class must contain it"
        )
    return network


def _labels(y: np.ndarray, loaded: LoadedNetwork, loss: str) -> np.ndarray:
    """Targets for the loss: a classifier's classes become -1/+1 for hinge loss."""
    if loaded.classes is None or loss != "hinge":
        return y
    classes = loaded.classes
    known = np.isin(y, classes)
    if not known.all():
        i = int(np.flatnonzero(~known)[0])
        raise InvalidInputError(
            f"row {i + 1} has y = {show(y[i])}, not a class of the classifier ({show(classes)})"
        )
    return np.where(y == classes[1], 1.0, -1.0)


def validate(
    X: Any,
    y: Any,
    network: Any,
    *,
    arch: str | None = None,
    width: int | None = None,
    loss: str | None = None,
    weight_bound: float | None = None,
    default_weight_bound: float = DEFAULT_WEIGHT_BOUND,
    bias: bool = True,
    time_limit: float | None = DEFAULT_TIME_LIMIT,
    gap: float | None = None,
    threads: int | None = None,
    seed: int = 0,
    progress: float | None = None,
    name: str = "",
) -> ValidationReport:
    """Certify how far a trained network is from the optimum of its class.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Targets; for hinge loss ±1 labels, or the classes of a scikit-learn classifier.
    network : object
        An exactrelu network, a weights dict, a fitted scikit-learn ``MLPRegressor`` or
        ``MLPClassifier`` (one ReLU hidden layer), a PyTorch ``Linear-ReLU-Linear``
        module or state dict, or a path (see :func:`exactrelu.network.importers.load_weights`).
    arch : {"one-node", "two-layer"}, optional
        Default: the network's own (a width-1 network with output weight > 0 and
        output bias 0 is one-node).
    width : int, optional
        Must equal the network's width when given.
    loss : {"squared", "absolute", "hinge"}, optional
        Default ``"hinge"`` for a classifier, else ``"squared"``.
    weight_bound : float, optional
        The box; grown (and reported) when it does not contain the network.
    default_weight_bound : float, default 2.0
        The box when ``weight_bound`` is None, grown silently to contain the network.
    bias : bool, default True
        Hidden biases in the class; ``False`` needs a network whose hidden biases are 0.
    time_limit : float or None, default 60.0
        Seconds for the exact solve; None for no limit.
    gap : float, optional
        Relative optimality tolerance (default 1e-6).
    threads, seed, progress
        As for :func:`exactrelu.solve`.
    name : str, default ""
        Label of the data in messages.

    Returns
    -------
    ValidationReport
    """
    from exactrelu.solve import solve

    loaded = as_network(network)
    if loss is None:
        loss = "hinge" if loaded.classes is not None else "squared"
    if loss not in LOSSES:
        raise InvalidInputError(f"loss must be one of {', '.join(LOSSES)}; got {loss!r}")
    # a classifier's classes (maybe strings) become ±1 before the numeric checks
    X, y = validate_arrays(X, _labels(np.asarray(y), loaded, loss), source=name)
    net = _resolve_class(loaded.network, arch, width)
    if net.d != X.shape[1]:
        raise InvalidInputError(
            f"the network has {net.d} inputs but the data has {X.shape[1]} features"
        )
    if not bias and np.any(net.hidden_weights[1] != 0.0):
        raise InvalidInputError(
            "the network has hidden biases, so it is not in the class without bias (drop --no-bias)"
        )
    box, grown = containing_weight_bound(net, weight_bound, default_weight_bound)
    problem = Problem(
        X, y, arch=net.arch, width=net.width, loss=loss, weight_bound=box, bias=bias, name=name
    )
    network_loss = net.loss(problem.X, problem.y, loss)
    options: dict[str, Any] = {
        "time_limit": time_limit,
        "threads": threads,
        "seed": seed,
        "progress": progress,
    }
    if gap is not None:
        options["gap"] = gap
    certificate = solve(problem, method="mip", warm_start=net, **options)
    best = certificate.network
    optimum = certificate.objective
    bound = certificate.bound
    excess_lower = max(0.0, network_loss - optimum)
    excess_upper = None if bound is None else max(0.0, network_loss - bound)
    return ValidationReport(
        status=certificate.status,
        network_loss=network_loss,
        optimum=optimum,
        bound=bound,
        gap_upper=None if bound is None else _relative(excess_upper, bound),
        gap_lower=_relative(excess_lower, optimum),
        excess_upper=excess_upper,
        excess_lower=excess_lower,
        weight_bound=box,
        weight_bound_requested=weight_bound,
        box_grown=grown,
        arch=problem.arch,
        width=problem.width,
        loss=loss,
        n=problem.n,
        d=problem.d,
        dead_units={"network": net.dead_units(X), "optimum": best.dead_units(X)},
        pattern_difference=pattern_difference(X, net, best),
        network_on_box=net.on_box(box),
        optimum_on_box=certificate.box_active,
        source=loaded.source,
        notes=list(loaded.notes),
        network=net.to_dict(),
        optimum_weights=best.to_dict(),
        certificate=certificate.to_dict(),
    )
