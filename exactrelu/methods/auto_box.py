"""The automatic weight box (``weight_bound="auto"``, the default).

Users mean "optimal over all weights"; the box is a computational device (it bounds the
MIP's big-M values). The unconstrained optimum is attained: with the activation pattern
fixed, training is a convex program over a closed polyhedron that is bounded below, so it
attains its minimum, and there are finitely many patterns. So the automatic box is chosen
from the data's scale and grown while the optimum touches it:

1. **Standardise** (:class:`Standardisation`): each feature is divided by its standard
   deviation and, when the hidden units have a bias, centred (a translation of the
   inputs is absorbed by the biases); the target is divided by its scale (the root mean
   square for one-node networks, whose output cannot shift; the standard deviation for
   two-layer networks, whose free output bias absorbs the mean; 1 for hinge loss, whose
   labels are ±1). Scaling a feature or the target by a positive factor, or shifting a
   feature, gives the same standardised data, hence the same certified network up to
   that scaling and the same status.
2. **Solve** the standardised problem in the box of radius :data:`FIRST_BOX` (or the
   smallest box, rounded up, that holds a warm start), then **grow** it by
   :data:`GROWTH` and solve again, starting from the previous optimum (still in the
   box), while the optimum touches the box, up to :data:`LARGEST_BOX`. The time limit
   covers all the solves.
3. **Report in the units of the data**: the network is mapped back exactly (a linear
   change of the weights), the loss recomputed on the data, the bound multiplied by the
   loss's scale (squared: ``σ_y²``, absolute: ``σ_y``), and so is the absolute gap
   tolerance (it is meant in standardised units, so that a realizable instance is
   certified whatever the units of its target). The certificate says the box is in
   standardised units, lists every box tried with its result, and whether the last one
   binds.

An optimum strictly inside the box is not a proof of optimality over all weights (the
loss is not convex in the weights): ``global`` in the certificate comes only from a
method whose proof does not use the box (docs/problem.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from exactrelu.certificate import BoxReport, Certificate, Status, Stop, make_certificate
from exactrelu.network.networks import Network, OneNodeNetwork, TwoLayerNetwork
from exactrelu.options import Deadline, SolveOptions
from exactrelu.problem import Problem

FIRST_BOX = 2.0
GROWTH = 4.0
LARGEST_BOX = 512.0
BOX_MARGIN = 1e-3  # a box grown to hold a given network leaves it this far inside


@dataclass(frozen=True)
class Standardisation:
    """Features ``(x - offset) / scale`` and targets ``y / target_scale``.

    Attributes
    ----------
    offset : ndarray of shape (n_features,)
        Feature means with a bias, zeros without.
    scale : ndarray of shape (n_features,)
        Feature standard deviations (root mean squares without a bias), 1 for a constant
        feature.
    target_scale : float
    """

    offset: np.ndarray
    scale: np.ndarray
    target_scale: float

    @classmethod
    def of(cls, problem: Problem) -> Standardisation:
        X, y = problem.X, problem.y
        if problem.bias:
            offset = X.mean(axis=0)
            scale = X.std(axis=0)
        else:
            offset = np.zeros(problem.d)
            scale = np.sqrt(np.mean(X**2, axis=0))
        scale = np.where(scale > 0, scale, 1.0)
        if problem.loss == "hinge":
            target_scale = 1.0
        elif problem.arch == "two-layer":
            target_scale = float(np.std(y)) or float(np.sqrt(np.mean(y**2)))
        else:
            target_scale = float(np.sqrt(np.mean(y**2)))
        return cls(offset, scale, target_scale if target_scale > 0 else 1.0)

    def problem(self, problem: Problem, weight_bound: float) -> Problem:
        """The standardised problem with a box of radius ``weight_bound``."""
        return replace(
            problem,
            X=(problem.X - self.offset) / self.scale,
            y=problem.y / self.target_scale,
            weight_bound=weight_bound,
        )

    def loss_scale(self, loss: str) -> float:
        """Loss on the data = this factor × loss on the standardised data."""
        if loss == "squared":
            return self.target_scale**2
        return self.target_scale  # absolute; hinge has target_scale 1

    def to_data_units(self, network: Network) -> Network:
        """The network on the data that computes ``target_scale ×`` ``network`` on the
        standardised data: ``W = σ_y W' / σ_x``, ``b = σ_y (b' - W'·(μ / σ_x))``, ``c = σ_y c'``."""
        W, b = network.hidden_weights
        W_raw = self.target_scale * W / self.scale
        b_raw = self.target_scale * b - W_raw @ self.offset
        if isinstance(network, OneNodeNetwork):
            return OneNodeNetwork(W_raw[0], float(b_raw[0]))
        return TwoLayerNetwork(W_raw, b_raw, network.v, self.target_scale * network.c)

    def to_standard_units(self, network: Network) -> Network:
        """The inverse of :meth:`to_data_units`."""
        W, b = network.hidden_weights
        W_std = W * self.scale / self.target_scale
        b_std = (b + W @ self.offset) / self.target_scale
        if isinstance(network, OneNodeNetwork):
            return OneNodeNetwork(W_std[0], float(b_std[0]))
        return TwoLayerNetwork(W_std, b_std, network.v, network.c / self.target_scale)

    def as_dict(self) -> dict[str, Any]:
        return {
            "feature_offset": self.offset.tolist(),
            "feature_scale": self.scale.tolist(),
            "target_scale": self.target_scale,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Standardisation:
        """The standardisation recorded in a certificate's ``box``."""
        return cls(
            np.asarray(data["feature_offset"], float),
            np.asarray(data["feature_scale"], float),
            float(data["target_scale"]),
        )


def box_holding(network: Network | None, smallest: float) -> float:
    """The box to start from: ``smallest``, or the smallest box that holds ``network``
    with a margin, rounded up to two significant digits."""
    if network is None or network.max_abs_weight() <= smallest:
        return smallest
    target = network.max_abs_weight() * (1.0 + BOX_MARGIN)
    step = 10.0 ** (math.floor(math.log10(target)) - 1)  # two significant digits
    # printed to 12 digits so that the box reads 3.3, not 3.3000000000000003
    return float(f"{math.ceil(target / step) * step:.12g}")


_STOPS = {
    Status.OPTIMAL: Stop.FINISHED,
    Status.NOT_PROVEN: Stop.FINISHED,
    Status.TIME_LIMIT: Stop.TIME_LIMIT,
    Status.INTERRUPTED: Stop.INTERRUPTED,
    Status.FEASIBLE: Stop.FEASIBLE,
    Status.ERROR: Stop.ERROR,
}


def solve_auto(
    function,
    problem: Problem,
    options: SolveOptions,
    *,
    hold: Sequence[Network] = (),
    **method_options: Any,
) -> Certificate:
    """Run method ``function`` on ``problem`` with the automatic box (module docstring).

    Parameters
    ----------
    function : callable
        A method ``(problem, options, **method_options) -> Certificate``.
    problem : Problem
        With ``weight_bound="auto"``.
    options : SolveOptions
        Its ``time_limit`` covers every solve; its ``warm_start`` (a network on the data)
        is the first start, and the first box is large enough to hold it.
    hold : sequence of networks, optional
        Networks on the data that the first box must hold too (validation compares them
        with the optimum, so they must be points of the class).
    """
    standard = Standardisation.of(problem)
    deadline = Deadline(options.time_limit)
    start = None
    if options.warm_start is not None:
        start = standard.to_standard_units(options.warm_start)
    box = box_holding(start, FIRST_BOX)
    for network in hold:
        box = max(box, box_holding(standard.to_standard_units(network), FIRST_BOX))
    factor = standard.loss_scale(problem.loss)
    tried: list[dict[str, Any]] = []
    while True:
        remaining = deadline.remaining()
        attempt = replace(
            options,
            time_limit=None if math.isinf(remaining) else max(remaining, 1e-3),
            warm_start=start,
        )
        result = function(standard.problem(problem, box), attempt, **method_options)
        tried.append(
            {
                "weight_bound": box,
                "status": str(result.status),
                "objective": result.objective * factor,
                "bound": None if result.bound is None else result.bound * factor,
                "box_active": result.box_active,
                "better_outside_box": bool(result.details.get("better_outside_box")),
                "seconds": round(result.seconds, 3),
            }
        )
        start = result.network
        finished = result.status in (Status.OPTIMAL, Status.NOT_PROVEN, Status.FEASIBLE)
        # grow while the optimum touches the box, or a method saw a better network
        # outside it (the enumerations and the branch and bound can tell)
        binds = result.box_active or bool(result.details.get("better_outside_box"))
        if not binds:
            stopped = "interior"
        elif box >= LARGEST_BOX:
            stopped = "largest box"
        elif not finished or deadline.expired():
            stopped = "time limit"
        else:
            box = min(box * GROWTH, LARGEST_BOX)
            continue
        break
    return make_certificate(
        problem,
        standard.to_data_units(result.network),
        bound=None if result.bound is None else result.bound * factor,
        stop=_STOPS[result.status],
        seconds=deadline.elapsed(),
        method=result.method,
        rel_gap=options.rel_gap,
        abs_gap=options.abs_gap * factor,  # the absolute gap is in standardised units
        details=result.details,
        box=BoxReport(
            weight_bound=box,
            active=result.box_active,
            rule="auto",
            units="standardised",
            standardisation=standard.as_dict(),
            tried=tuple(tried),
            stopped=stopped,
        ),
        proven_without_box=result.is_global,
        reason=result.reason,
    )
