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
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from exactrelu.certificate import DEFAULT_ABS_GAP, Certificate
from exactrelu.errors import InvalidInputError, show
from exactrelu.methods import AUTO_METHOD, run_method
from exactrelu.methods.auto_box import FIRST_BOX, Standardisation, box_holding
from exactrelu.network.importers import LoadedNetwork, as_network
from exactrelu.network.networks import Network, OneNodeNetwork, TwoLayerNetwork
from exactrelu.options import SolveOptions
from exactrelu.problem import (
    ARCHS,
    AUTO,
    DEFAULT_WEIGHT_BOUND,
    LOSSES,
    Problem,
    check_positive,
    validate_arrays,
)
from exactrelu.table import text_table

DEFAULT_TIME_LIMIT = 60.0  # seconds; validation is a diagnostic, so it is bounded by default
FIXED_BOX = 2.0  # the box of containing_weight_bound when none is asked for
MAX_PERMUTATION_WIDTH = 7  # exact unit matching up to 7! = 5040 permutations, greedy beyond
# A loss at most this is 0 to the certificate's absolute tolerance: relative gaps to it
# are undefined (a 1e-32 optimum would make any network "1e33 % above" it), so the
# reports give absolute ones.
ZERO_LOSS = DEFAULT_ABS_GAP


def containing_weight_bound(
    network: Network, requested: float | None = None, default: float = FIXED_BOX
) -> tuple[float, bool]:
    """The box radius to validate ``network`` in, and whether a requested box had to grow.

    The one place where the box is chosen. The network must lie in the box, otherwise
    the optimum of the class says nothing about it. The box is ``requested`` (or
    ``default`` when nothing is requested) when that contains the network; otherwise it
    is the network's largest boxed weight rounded up to two significant digits, with a
    margin (``auto_box.BOX_MARGIN``) so the network does not sit exactly on the boundary.

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
    box = box_holding(network, base)
    return box, requested is not None and box > base


def _relative(excess: float, reference: float) -> float | None:
    """``excess / reference``, or for a reference that is 0 up to :data:`ZERO_LOSS`: 0 when
    the excess is that small too, else None (a ratio to 0 means nothing)."""
    if reference > ZERO_LOSS:
        return max(0.0, excess) / reference
    return 0.0 if excess <= ZERO_LOSS else None


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
        The box the class was taken in (in ``box_units``).
    weight_bound_requested : float, "auto" or None
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
    label: str = ""  # which network: its file name, or "network k"
    box_units: str = "data"  # "standardised" under the automatic box
    box_story: str = ""  # how the automatic box was chosen (first box, growth)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def summary(self) -> str:
        """A short human-readable report (the CLI's default output).

        Hidden units are counted from 1 here (the JSON's lists are 0-based positions in
        the weight arrays).
        """
        certified = self.status == "optimal"
        shape = self.arch + (f", width {self.width}" if self.arch == "two-layer" else "")
        lines = [
            f"class          {shape}, {self.loss} loss, weight bound {_box_text(self)}"
            f" (n = {self.n}, d = {self.d})",
            f"network loss   {self.network_loss:.10g}",
            ("optimum        " if certified else "best loss      ")
            + f"{self.optimum:.10g}"
            + ("   (certified)" if certified else ""),
            "bound          "
            + ("none" if self.bound is None else f"{self.bound:.10g}")
            + f"   (status {self.status})",
            f"gap            the network is {self.gap_text()}",
            f"dead units     network {_units(self.dead_units['network'])}, "
            f"optimum {_units(self.dead_units['optimum'])}",
        ]
        diff = self.pattern_difference
        matching = ", ".join(f"{j + 1}→{k + 1}" for j, k in diff["unit_matching"])
        lines.append(
            f"patterns       differ on {diff['samples_with_any_difference']} of {self.n} samples"
            f" (per matched unit: {diff['differing_samples_per_unit']}, units matched "
            f"network→optimum {matching})"
        )
        lines += _box_notes(self, "the network")
        reason = self.certificate.get("reason")
        if reason:
            lines.append(f"note           {reason}")
        for note in self.notes:
            lines.append(f"note           {note}")
        return "\n".join(lines)

    def gap_text(self) -> str:
        """How far above the optimum the network is, in words (the summary's gap line).

        Relative to the optimum when it is clearly above 0; absolute when it is 0 up to
        :data:`ZERO_LOSS` (a relative gap would be undefined or absurd).
        """
        certified = self.status == "optimal"
        if self.optimum <= ZERO_LOSS:
            if certified and self.excess_upper is not None:
                return (
                    f"{self.excess_upper:.4g} above the optimum in loss (absolute: the "
                    f"optimum is 0 up to {ZERO_LOSS:g}, so a relative gap is undefined)"
                )
            upper = "?" if self.excess_upper is None else f"{self.excess_upper:.4g}"
            return (
                f"at most {upper} and at least {self.excess_lower:.4g} above the optimum "
                f"in loss (absolute: the best loss found is 0 up to {ZERO_LOSS:g})"
            )

        def pct(value: float) -> str:
            return f"{100 * value:.4g} %"

        lower, upper = self.gap_lower, self.gap_upper
        if lower is None:  # unreachable: the optimum is above ZERO_LOSS here
            lower = 0.0
        if certified and upper is not None and upper - lower <= 1e-6 * max(1.0, upper):
            return f"{pct(lower)} above the optimum"
        if upper is None:
            return (
                f"at least {pct(lower)} above the optimum (no upper limit: the proven bound is 0)"
            )
        return f"at most {pct(upper)} and at least {pct(lower)} above the optimum"


def _units(units: list[int]) -> str:
    """Hidden units for the text output, counted from 1."""
    if not units:
        return "none"
    return ("unit " if len(units) == 1 else "units ") + ", ".join(str(j + 1) for j in units)


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


def _class_of_all(networks: list[Network], labels: Sequence[str]) -> list[Network]:
    """The networks in one class: a one-node network joins width-1 two-layer ones."""
    if len({(net.arch, net.width) for net in networks}) == 1:
        return networks
    if all(net.width == 1 for net in networks):
        return [n.as_two_layer() if isinstance(n, OneNodeNetwork) else n for n in networks]
    first = networks[0]
    for label, net in zip(labels[1:], networks[1:], strict=True):
        if (net.arch, net.width) != (first.arch, first.width):
            raise InvalidInputError(
                f"{label} is {_shape(net)} but {labels[0]} is {_shape(first)}: the networks "
                "validated together must be of one class (validate them separately)"
            )
    return networks


def _shape(net: Network) -> str:
    return net.arch + (f" of width {net.width}" if net.arch == "two-layer" else "")


def _choose_loss(loaded: list[LoadedNetwork], loss: str | None) -> str:
    """The loss to score the networks with: ``loss``, else the one their certificates were
    solved for, else hinge for classifiers, else squared."""
    if loss is not None:
        if loss not in LOSSES:
            raise InvalidInputError(f"loss must be one of {', '.join(LOSSES)}; got {loss!r}")
        return loss
    trained = {item.loss for item in loaded if item.loss is not None}
    if len(trained) > 1:
        raise InvalidInputError(
            f"the certificates were solved for different losses ({', '.join(sorted(trained))}); "
            "choose one with --loss"
        )
    if trained:
        return trained.pop()
    return "hinge" if any(item.classes is not None for item in loaded) else "squared"


def _loss_notes(item: LoadedNetwork, loss: str, explicit: bool) -> list[str]:
    """What the report says about the loss a network is scored with."""
    if item.loss is None:
        return []
    if item.loss != loss:
        return [
            f"the certificate was solved for {item.loss} loss; this report scores it with "
            f"{loss} loss" + (" (--loss)" if explicit else "")
        ]
    return [f"scored with {loss} loss, the loss its certificate was solved for"]


def _targets(y: np.ndarray, loaded: list[LoadedNetwork], loss: str) -> np.ndarray:
    """The targets for ``loss``: classifiers' classes become ±1 (all must agree)."""
    classifiers = [item for item in loaded if item.classes is not None]
    for k, item in enumerate(classifiers[1:], start=2):
        if not np.array_equal(item.classes, classifiers[0].classes):
            raise InvalidInputError(
                f"classifier {k} has classes {show(item.classes)} but classifier 1 has "
                f"{show(classifiers[0].classes)}"
            )
    return _labels(y, classifiers[0], loss) if classifiers else y


def read_certificate(certificate: Any) -> Certificate:
    """A certificate to reuse: a :class:`~exactrelu.Certificate`, its dict, or a JSON file
    (``exactrelu solve --out``, or a ``validate`` report holding one under ``certificate``;
    a JSON-lines file of reports: its first line)."""
    from exactrelu.instances import check_input_file, read_json_object

    if isinstance(certificate, Certificate):
        return certificate
    where = "the certificate"
    if isinstance(certificate, (str, Path)):
        path = check_input_file(certificate)
        where = str(path)
        try:
            data = read_json_object(path)
        except InvalidInputError:
            first = path.read_text(errors="replace").strip().splitlines()[:1]
            try:
                data = json.loads(first[0]) if first else None
            except json.JSONDecodeError:
                data = None
            if not isinstance(data, dict):
                raise
    else:
        data = certificate
    if not isinstance(data, dict):
        raise InvalidInputError(f"{where}: expected a certificate, got {type(data).__name__}")
    if isinstance(data.get("certificate"), dict):  # a validate report
        data = data["certificate"]
    try:
        return Certificate.from_dict(data, where)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{exc}; give the JSON of exactrelu solve --json/--out") from None


def _check_reuse(
    certificate: Certificate,
    problem: Problem,
    networks: list[Network],
    labels: Sequence[str],
    where: str,
) -> None:
    """The certificate is of ``problem``'s class, on its data, and its box holds the networks."""
    asked = {"arch": problem.arch, "width": problem.width, "loss": problem.loss}
    asked.update(bias=problem.bias, n=problem.n, d=problem.d)
    for key, value in asked.items():
        if getattr(certificate, key) != value:
            raise InvalidInputError(
                f"{where} is for {key} = {getattr(certificate, key)}, but the validation needs "
                f"{key} = {value}; solve again without --certificate"
            )
    recomputed = certificate.network.loss(problem.X, problem.y, problem.loss)
    if abs(recomputed - certificate.objective) > 1e-9 * max(1.0, abs(certificate.objective)):
        raise InvalidInputError(
            f"{where}: its network loses {recomputed:.10g} on these data, not the "
            f"{certificate.objective:.10g} it records: it was solved on other data"
        )
    standardised = certificate.box.get("units") == "standardised"
    if standardised:
        standard = Standardisation.from_dict(certificate.box["standardisation"])
    for label, net in zip(labels, networks, strict=True):
        in_units = standard.to_standard_units(net) if standardised else net
        if in_units.max_abs_weight() > certificate.weight_bound * (1 + 1e-12):
            raise InvalidInputError(
                f"{where} covers the box {certificate.weight_bound:g}"
                + (" (standardised units)" if standardised else "")
                + f", which does not contain {label} (largest hidden weight "
                f"{in_units.max_abs_weight():.4g}); "
                "solve again without --certificate, or with --weight-bound large enough"
            )


@dataclass
class BatchValidation:
    """The result of :func:`validate_many`: one report per network, one exact solve.

    Attributes
    ----------
    reports : list of ValidationReport
        In the order of the networks; each has the same optimum, bound and box.
    certificate : Certificate
        The exact solve's (or the reused) certificate.
    solved : bool
        False when the certificate was reused instead of solved.
    seconds : float
        Wall-clock time of the whole validation.
    """

    reports: list[ValidationReport]
    certificate: Certificate
    solved: bool
    seconds: float

    def to_json_lines(self) -> str:
        """One JSON report per line, in the order of the networks."""
        return "\n".join(report.to_json(indent=None) for report in self.reports)

    def table(self) -> str:
        """The networks side by side: loss, gap to the optimum, dead units."""
        header = ["network", "loss", "gap to the optimum", "dead units", "patterns differ"]
        rows = [
            [
                report.label,
                f"{report.network_loss:.6g}",
                _gap_cell(report),
                _units(report.dead_units["network"]),
                f"{report.pattern_difference['fraction']:.0%}",
            ]
            for report in self.reports
        ]
        return text_table(header, rows, right=(1, 2, 4))

    def summary(self) -> str:
        """The shared optimum and bound, then the table (the CLI's output for a batch)."""
        first = self.reports[0]
        cert = self.certificate
        certified = cert.status == "optimal"
        shape = first.arch + (f", width {first.width}" if first.arch == "two-layer" else "")
        how = "one exact solve" if self.solved else "the optimum of the given certificate"
        lines = [
            f"class          {shape}, {first.loss} loss, weight bound {_box_text(first)}"
            f" (n = {first.n}, d = {first.d})",
            ("optimum        " if certified else "best loss      ")
            + f"{first.optimum:.10g}"
            + ("   (certified)" if certified else ""),
            "bound          "
            + ("none" if first.bound is None else f"{first.bound:.10g}")
            + f"   (status {cert.status})",
            f"networks       {len(self.reports)}, against {how} ({self.seconds:.1f} s in all)",
        ]
        if cert.reason:
            lines.append(f"note           {cert.reason}")
        grown = any(report.box_grown for report in self.reports)
        lines += _box_notes(first, "every network", grown=grown)
        return "\n".join(lines) + "\n\n" + self.table()


def _box_text(report: ValidationReport) -> str:
    if report.box_units == "standardised":
        return f"{report.weight_bound:g} (standardised units, automatic)"
    return f"{report.weight_bound:g}"


def _box_notes(report: ValidationReport, what: str, grown: bool | None = None) -> list[str]:
    """Why the box is what it is, and whether it binds."""
    notes = []
    if report.box_story:
        notes.append(f"note           {report.box_story}")
    if report.box_grown if grown is None else grown:
        notes.append(
            f"note           the requested box {report.weight_bound_requested:g} does not "
            f"contain {what}; grown to {report.weight_bound:g} (a network must be a point of "
            "the class to be compared with its optimum)"
        )
    if report.optimum_on_box:
        fix = (
            "it stopped growing at its largest size"
            if report.box_units == "standardised"
            else "raise --weight-bound, or use --weight-bound auto"
        )
        notes.append(
            "note           the best network sits on the box: a larger box may give a "
            f"lower loss ({fix})"
        )
    return notes


def _gap_cell(report: ValidationReport) -> str:
    """The gap column of the batch table: relative, or absolute near a zero optimum."""
    if report.optimum <= ZERO_LOSS:
        return f"+{report.excess_lower:.3g} (absolute)"
    lower, upper = report.gap_lower or 0.0, report.gap_upper
    if report.status == "optimal" and upper is not None and upper - lower <= 1e-6 * max(1, upper):
        return f"{100 * lower:.3g} %"
    return f"{100 * lower:.3g} % to " + ("?" if upper is None else f"{100 * upper:.3g} %")


def _on_box_test(cert: Certificate):
    """Whether a network on the data touches the certificate's box (in its units)."""
    if cert.box.get("units") != "standardised":
        return lambda network: network.on_box(cert.weight_bound)
    standard = Standardisation.from_dict(cert.box["standardisation"])
    return lambda network: standard.to_standard_units(network).on_box(cert.weight_bound)


def _box_story(cert: Certificate) -> str:
    """How an automatic box was chosen: its first size and its growth."""
    tried = cert.box.get("tried", [])
    if cert.box.get("rule") != "auto" or not tried:
        return ""
    first, last = tried[0]["weight_bound"], tried[-1]["weight_bound"]
    story = f"the box is in standardised units: {first:g} at first"
    if first > FIRST_BOX:
        story += " (the smallest holding the networks)"
    if last > first:
        story += f", grown to {last:g} while the optimum touched it"
    return story


def validate_many(
    X: Any,
    y: Any,
    networks: Sequence[Any],
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
    labels: Sequence[str] | None = None,
    certificate: Any = None,
) -> BatchValidation:
    """Certify how far each of several networks of one class is from the optimum, with one
    exact solve for them all.

    The research use: many seeds of one network class trained on one data set. The class
    (arch, width, loss, bias) must be the same for every network; the box is the
    smallest that contains them all (:func:`containing_weight_bound` for each, then the
    largest), and the exact solve, warm-started from the best of the networks, runs
    once for that box. With ``certificate`` no solve runs at all: its optimum and bound
    are reused, once checked to be of this class, on these data, over a box that holds
    every network.

    Parameters
    ----------
    X, y
        The data, as for :func:`validate`.
    networks : sequence
        Networks in any form :func:`validate` takes (objects, dicts, file paths).
    arch, width, loss, weight_bound, default_weight_bound, bias, time_limit, gap, threads,
    seed, progress, name
        As for :func:`validate`. ``loss`` defaults to the loss the networks' certificates
        were solved for, then hinge for classifiers, then squared.
    labels : sequence of str, optional
        A name per network for the reports (default: ``network 1``, ``network 2``, ...;
        file names for paths).
    certificate : Certificate, dict or path, optional
        Reuse this certificate's optimum and bound instead of solving (see
        :func:`read_certificate`).

    Returns
    -------
    BatchValidation
    """
    started = time.perf_counter()
    networks = list(networks)
    if not networks:
        raise InvalidInputError("no networks to validate")
    if labels is None:
        labels = [
            Path(net).name if isinstance(net, (str, Path)) else f"network {k}"
            for k, net in enumerate(networks, start=1)
        ]
    if len(labels) != len(networks):
        raise InvalidInputError(f"{len(labels)} labels for {len(networks)} networks")
    loaded = [as_network(net) for net in networks]
    explicit_loss = loss is not None
    loss = _choose_loss(loaded, loss)
    # a classifier's classes (maybe strings) become ±1 before the numeric checks
    X, y = validate_arrays(X, _targets(np.asarray(y), loaded, loss), source=name)
    nets = _class_of_all([_resolve_class(item.network, arch, width) for item in loaded], labels)
    for label, net in zip(labels, nets, strict=True):
        which = "the network" if label == "network 1" and len(nets) == 1 else label
        if net.d != X.shape[1]:
            raise InvalidInputError(
                f"{which} has {net.d} inputs but the data have {X.shape[1]} features"
            )
        if not bias and np.any(net.hidden_weights[1] != 0.0):
            raise InvalidInputError(
                f"{which} has hidden biases, so it is not in the class without bias "
                "(drop --no-bias)"
            )
    auto = (default_weight_bound if weight_bound is None else weight_bound) == AUTO
    if auto:  # the automatic box starts large enough to hold every network
        box, grown = AUTO, False
    else:
        boxes = [containing_weight_bound(net, weight_bound, default_weight_bound) for net in nets]
        box = max(b for b, _ in boxes)
        grown = any(g for _, g in boxes)
    reused = None
    if certificate is not None:
        where = (
            f"the certificate {certificate}"
            if isinstance(certificate, (str, Path))
            else "the certificate"
        )
        reused = read_certificate(certificate)
        if not auto and weight_bound is not None and weight_bound > reused.weight_bound:
            raise InvalidInputError(
                f"{where} covers the box {reused.weight_bound:g}, smaller than the requested "
                f"weight bound {weight_bound:g}; solve again without --certificate"
            )
        # its proof is over its own box, which must hold every network (checked below)
        box = AUTO if reused.box.get("units") == "standardised" else reused.weight_bound
    first = nets[0]
    problem = Problem(
        X, y, arch=first.arch, width=first.width, loss=loss, weight_bound=box, bias=bias, name=name
    )
    losses = [net.loss(problem.X, problem.y, loss) for net in nets]
    best_given = int(np.argmin(losses))
    if reused is None:
        options = SolveOptions(
            time_limit=time_limit,
            threads=threads,
            seed=seed,
            progress=progress,
            warm_start=nets[best_given],
            **({} if gap is None else {"rel_gap": gap}),
        )
        cert = run_method(AUTO_METHOD, problem, options, hold=nets)
    else:
        _check_reuse(reused, problem, nets, labels, where)
        cert = reused
    best, optimum = cert.network, cert.objective
    if losses[best_given] < optimum:  # a reused certificate that one of the networks beats
        best, optimum = nets[best_given], losses[best_given]
    bound = cert.bound
    on_box = _on_box_test(cert)
    story = _box_story(cert)
    reports = []
    for item, net, network_loss, label in zip(loaded, nets, losses, labels, strict=True):
        excess_lower = max(0.0, network_loss - optimum)
        excess_upper = None if bound is None else max(0.0, network_loss - bound)
        notes = list(item.notes) + _loss_notes(item, loss, explicit_loss)
        if reused is not None:
            notes.append(f"optimum and bound from {where} (not solved again)")
        reports.append(
            ValidationReport(
                status=cert.status,
                network_loss=network_loss,
                optimum=optimum,
                bound=bound,
                gap_upper=None if bound is None else _relative(excess_upper, bound),
                gap_lower=_relative(excess_lower, optimum),
                excess_upper=excess_upper,
                excess_lower=excess_lower,
                weight_bound=cert.weight_bound,
                weight_bound_requested=weight_bound,
                box_grown=grown,
                arch=problem.arch,
                width=problem.width,
                loss=loss,
                n=problem.n,
                d=problem.d,
                dead_units={"network": net.dead_units(X), "optimum": best.dead_units(X)},
                pattern_difference=pattern_difference(X, net, best),
                network_on_box=on_box(net),
                optimum_on_box=on_box(best),
                source=item.source,
                notes=notes,
                network=net.to_dict(),
                optimum_weights=best.to_dict(),
                certificate=cert.to_dict(),
                label=label,
                box_units=cert.box.get("units", "data"),
                box_story=story,
            )
        )
    return BatchValidation(reports, cert, reused is None, time.perf_counter() - started)


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
    certificate: Any = None,
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
        For several networks of one class use :func:`validate_many` (one solve for all).
    arch : {"one-node", "two-layer"}, optional
        Default: the network's own (a width-1 network with output weight > 0 and
        output bias 0 is one-node).
    width : int, optional
        Must equal the network's width when given.
    loss : {"squared", "absolute", "hinge"}, optional
        Default: the loss of the network's certificate (when it is one), else ``"hinge"``
        for a classifier, else ``"squared"``.
    weight_bound : float, optional
        The box; grown (and reported) when it does not contain the network.
    default_weight_bound : float or "auto", default "auto"
        The box when ``weight_bound`` is None: a number is grown silently to contain the
        network; ``"auto"`` starts at the smallest standardised box that holds it.
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
    certificate : Certificate, dict or path, optional
        Reuse this certificate's optimum and bound instead of solving (it must be of the
        network's class, on these data, over a box that contains the network).

    Returns
    -------
    ValidationReport
    """
    if isinstance(network, (list, tuple)):
        raise InvalidInputError(
            "validate() takes one network; for several, use validate_many() (one solve for all)"
        )
    return validate_many(
        X,
        y,
        [network],
        arch=arch,
        width=width,
        loss=loss,
        weight_bound=weight_bound,
        default_weight_bound=default_weight_bound,
        bias=bias,
        time_limit=time_limit,
        gap=gap,
        threads=threads,
        seed=seed,
        progress=progress,
        name=name,
        certificate=certificate,
    ).reports[0]
