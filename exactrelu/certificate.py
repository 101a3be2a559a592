"""Certificates: what an exact (or heuristic) solve proves, recomputed and self-checking.

A certificate never claims more than was proven. :func:`make_certificate` is the
only place a status is decided:

* the objective is recomputed in float64 from the returned weights (never the
  solver's own number);
* a reported bound above that objective is clipped to it (the optimum is at most
  the objective of any network in the class, so nothing is lost);
* ``status = "optimal"`` only when ``objective - bound <= max(rel_gap·|objective|, abs_gap)``
  (default ``rel_gap`` 1e-6, ``abs_gap`` 1e-9). A method that believed it had
  finished but whose recomputed gap is larger gets ``"not_proven"``.

Statuses (:class:`Status`): ``optimal``, ``time_limit``, ``interrupted`` (Ctrl-C,
SIGTERM), ``not_proven``, ``feasible`` (a network without a proof: gradient descent,
heuristics), ``error``. A method says why it stopped with a :class:`Stop`. Every status
but ``optimal`` comes with a ``reason``: what stopped the method and what to try (a
method may give its own, :func:`default_reason` otherwise).
"""

from __future__ import annotations

import json
import math
from dataclasses import MISSING, asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from exactrelu.errors import InvalidInputError, one_line
from exactrelu.network.networks import Network, network_from_dict
from exactrelu.problem import Problem

DEFAULT_REL_GAP = 1e-6
DEFAULT_ABS_GAP = 1e-9


class Status(StrEnum):
    """The status of a certificate (a ``str``: compares equal to its value)."""

    OPTIMAL = "optimal"
    TIME_LIMIT = "time_limit"
    INTERRUPTED = "interrupted"
    NOT_PROVEN = "not_proven"
    FEASIBLE = "feasible"
    ERROR = "error"


class Stop(StrEnum):
    """Why a method stopped; :func:`make_certificate` turns it into a :class:`Status`."""

    FINISHED = "finished"  # it believes it is done: optimal if the recomputed gap closes
    TIME_LIMIT = "time_limit"
    INTERRUPTED = "interrupted"  # Ctrl-C or SIGTERM
    FEASIBLE = "feasible"  # a heuristic: a network, no proof
    ERROR = "error"


@dataclass
class Certificate:
    """The result of a solve; ``to_json`` gives the documented JSON.

    ``weight_bound`` and ``box_active`` say which box the certificate covers and whether
    the returned network touches it; ``box`` how the box was chosen (``rule``: ``fixed``
    or ``auto``; ``units``: ``data`` or ``standardised``, with the standardisation and every
    box tried under ``auto``). ``is_global`` (JSON key ``global``) is True only when the
    optimum is proven over every network of the class, whatever its weights.
    """

    status: Status
    objective: float
    bound: float | None
    gap: float | None
    seconds: float
    arch: str
    width: int
    loss: str
    weight_bound: float
    bias: bool
    n: int
    d: int
    weights: dict[str, Any]
    box_active: bool
    method: str
    details: dict[str, Any] = field(default_factory=dict)
    box: dict[str, Any] = field(default_factory=dict)
    is_global: bool = False
    reason: str | None = None  # why the status is not optimal, and what to try

    @property
    def network(self) -> Network:
        """The returned network as an object."""
        return network_from_dict(self.arch, self.weights)

    @property
    def is_optimal(self) -> bool:
        return self.status == "optimal"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["global"] = data.pop("is_global")
        return data

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: Any, where: str = "the certificate") -> Certificate:
        """The certificate of its JSON form (:meth:`to_dict`); keys it does not know are
        ignored, keys added in later versions default. ``InvalidInputError`` names
        ``where`` when ``data`` is not a certificate."""
        if not isinstance(data, dict):
            raise InvalidInputError(f"{where}: not an exactrelu certificate (a JSON object)")
        known = {f.name: f for f in fields(cls)}
        required = {
            name
            for name, f in known.items()
            if f.default is MISSING and f.default_factory is MISSING
        }
        missing = sorted(required - set(data))
        if missing:
            raise InvalidInputError(
                f"{where}: not an exactrelu certificate, lacks {', '.join(missing)}"
            )
        values = {k: v for k, v in data.items() if k in known}
        values["is_global"] = bool(data.get("global", False))
        try:
            return cls(**{**values, "status": Status(values["status"])})
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"{where}: not a valid exactrelu certificate ({one_line(exc)})"
            ) from None

    def class_summary(self) -> str:
        """Which networks the certificate covers, in one or two sentences."""
        shape = f"{self.arch}" + (f" width-{self.width}" if self.arch == "two-layer" else "")
        standardised = self.box.get("units") == "standardised"
        box = f"[-{self.weight_bound:g}, {self.weight_bound:g}]" + (
            " (standardised units)" if standardised else ""
        )
        if self.is_global:
            return (
                f"optimal over every {shape} network, whatever its weights (proven without the box)"
            )
        covered = f"{shape} networks with weights in {box}"
        if self.status != Status.OPTIMAL:
            return f"best network found among {covered}"
        if not self.box_active:
            return f"optimal over all {covered}; the optimum is interior"
        fix = {
            "largest box": "the automatic box stopped growing at its largest size",
            "time limit": "the time limit stopped the automatic box growing: raise --time-limit",
        }.get(self.box.get("stopped"), "raise --weight-bound, or use --weight-bound auto")
        return f"optimal over all {covered}; the box binds: a larger box may do better ({fix})"

    def summary(self) -> str:
        """A short human-readable report (the CLI's default output)."""
        bound = "none" if self.bound is None else f"{self.bound:.10g}"
        gap = "n/a" if self.gap is None else f"{self.gap:.3g}"
        lines = [
            f"class      {self.class_summary()}",
            f"status     {self.status}",
            f"loss       {self.objective:.10g}   ({self.loss}, sum over {self.n} samples)",
            f"bound      {bound}",
            f"gap        {gap}",
            f"time       {self.seconds:.2f} s   (method {self.method})",
            f"network    {self.arch}"
            + (f", width {self.width}" if self.arch == "two-layer" else "")
            + f", weight bound {self.weight_bound:g}"
            + (" (standardised units)" if self.box.get("units") == "standardised" else ""),
        ]
        for key, value in self.weights.items():
            lines.append(f"  {key:<8} {_fmt(value)}")
        tried = self.box.get("tried", [])
        if len(tried) > 1:
            sizes = ", ".join(f"{t['weight_bound']:g}" for t in tried)
            lines.append(f"note       the box grew while the optimum touched it: {sizes}")
        if self.reason:
            lines.insert(2, f"reason     {self.reason}")
        return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return f"{value:.6g}"


def relative_gap(objective: float, bound: float | None) -> float | None:
    """``(objective - bound) / max(|objective|, 1e-9)``, or None without a bound."""
    if bound is None:
        return None
    return (objective - bound) / max(abs(objective), 1e-9)


def gap_closed(objective: float, bound: float | None, rel_gap: float, abs_gap: float) -> bool:
    """The optimality test: ``objective - bound <= max(rel_gap·|objective|, abs_gap)``."""
    if bound is None:
        return False
    return objective - bound <= max(rel_gap * abs(objective), abs_gap)


@dataclass(frozen=True)
class BoxReport:
    """The weight box a certificate covers, and how it was chosen.

    Attributes
    ----------
    weight_bound : float
        Its radius.
    active : bool
        The returned network touches it.
    rule : {"fixed", "auto"}
    units : {"data", "standardised"}
        ``standardised``: the box holds the weights of the network on standardised data
        (``standardisation`` says how the data were standardised).
    standardisation : dict, optional
    tried : tuple of dict
        Under ``auto``: every box solved, with its result.
    stopped : {"interior", "largest box", "time limit"}, optional
        Under ``auto``: why the box stopped growing.
    """

    weight_bound: float
    active: bool
    rule: str = "fixed"
    units: str = "data"
    standardisation: dict[str, Any] | None = None
    tried: tuple[dict[str, Any], ...] = ()
    stopped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "units": self.units}
        if self.standardisation is not None:
            out["standardisation"] = self.standardisation
        if self.tried:
            out["tried"] = list(self.tried)
        if self.stopped is not None:
            out["stopped"] = self.stopped
        return out


def make_certificate(
    problem: Problem,
    network: Network,
    *,
    bound: float | None,
    stop: Stop,
    seconds: float,
    method: str,
    rel_gap: float = DEFAULT_REL_GAP,
    abs_gap: float = DEFAULT_ABS_GAP,
    details: dict[str, Any] | None = None,
    box: BoxReport | None = None,
    proven_without_box: bool = False,
    reason: str | None = None,
) -> Certificate:
    """Build a certificate for ``network`` on ``problem``, deciding the status honestly.

    Parameters
    ----------
    bound : float or None
        A proven lower bound on the optimum of the class (None when nothing is proven).
    stop : Stop
        Why the method stopped.
    box : BoxReport, optional
        The box covered (default: ``problem``'s fixed box, in the units of the data).
    proven_without_box : bool, default False
        The method's proof of ``bound`` never used the box: an optimal certificate is then
        optimal over all weights (``is_global``).
    reason : str, optional
        The method's own account of a stop that is not an optimum (kept only when the
        status is not ``optimal``); default: :func:`default_reason`.
    """
    objective = network.loss(problem.X, problem.y, problem.loss)
    if bound is not None:
        if not math.isfinite(bound):
            bound = None
        else:
            bound = min(float(bound), objective)
    stop = Stop(stop)
    if gap_closed(objective, bound, rel_gap, abs_gap):
        status = Status.OPTIMAL
    elif stop is Stop.FINISHED:
        status = Status.NOT_PROVEN
    else:
        status = Status(stop.value)
    if box is None:
        radius = problem.box_radius
        box = BoxReport(radius, network.on_box(radius))
    if status is Status.OPTIMAL:
        reason = None
    elif status is Status.NOT_PROVEN:
        # decided here, after the method believed it had finished: only this function
        # can say why (the method's own account, if any, follows)
        general = default_reason(status, objective, bound, method, rel_gap, abs_gap)
        reason = general if reason is None else f"{general} ({reason})"
    elif reason is None:
        reason = default_reason(status, objective, bound, method, rel_gap, abs_gap)
    weights = network.to_dict()
    return Certificate(
        status=status,
        objective=objective,
        bound=bound,
        gap=relative_gap(objective, bound),
        seconds=float(seconds),
        arch=problem.arch,
        width=problem.width,
        loss=problem.loss,
        weight_bound=box.weight_bound,
        bias=problem.bias,
        n=problem.n,
        d=problem.d,
        weights=weights,
        box_active=box.active,
        method=method,
        details=dict(details or {}),
        box=box.as_dict(),
        is_global=status is Status.OPTIMAL and proven_without_box,
        reason=reason,
    )


def default_reason(
    status: Status,
    objective: float,
    bound: float | None,
    method: str,
    rel_gap: float = DEFAULT_REL_GAP,
    abs_gap: float = DEFAULT_ABS_GAP,
) -> str | None:
    """Why a certificate has ``status``, and what to try (None for ``optimal``)."""
    proven = "no bound was proven" if bound is None else f"the bound proven so far is {bound:.6g}"
    if status is Status.OPTIMAL:
        return None
    if status is Status.TIME_LIMIT:
        return (
            f"the time limit ran out before the proof was complete ({proven}); "
            "raise --time-limit (API time_limit) to go on"
        )
    if status is Status.INTERRUPTED:
        return (
            f"stopped by Ctrl-C or SIGTERM before the proof was complete ({proven}); "
            "run it again and let it finish"
        )
    if status is Status.FEASIBLE:
        return (
            f"method {method} is a heuristic: its network comes without a proof of "
            "optimality; use an exact method (mip, enumerate, bnb) for a certificate"
        )
    if status is Status.NOT_PROVEN:
        excess = "nothing" if bound is None else f"{objective - bound:.3g}"
        return (
            f"the method finished, but the loss recomputed in float64 is {excess} above the "
            f"proven bound, more than the tolerance max({rel_gap:g}·|loss|, {abs_gap:g}): "
            "the solver's tolerances did not resolve this instance; rescale the data "
            "(features and targets of magnitude about 1) or loosen --gap"
        )
    return (
        f"the solver failed before the proof was complete ({proven}); the network is the "
        "best one found; rescale the data (features and targets of magnitude about 1) or "
        "try another --method (enumerate, bnb)"
    )
