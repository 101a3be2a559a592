"""Where does gradient descent land? ``exactrelu.landscape`` and ``exactrelu landscape``.

A landscape study against a certified optimum (docs/landscape.md):

1. the optimum of the class is certified once by the exact MIP (with a time limit), or
   taken from a certificate given by the caller;
2. ``restarts`` gradient-descent trainings run from random initialisations (run ``i``
   is seeded by ``(seed, i)`` alone, so a run does not depend on the others, on the
   batch it ran in or on an interruption);
3. each run is compared with the certificate: its final loss, its gap to the optimum,
   its dead units (active on no sample), whether its activation pattern is the
   optimum's (hidden units matched, same output signs);
4. a summary: the share of runs within 1 % and 10 % of the optimum, the median and
   the worst gap.

**Gaps.** With the certificate's loss ``U`` and proven bound ``LB <= L* <= U``, the
reference is the best loss known in the class, ``U* = min(U, losses of the runs that
are networks of the class)``, and the bound is clipped to it (no network of the class
is below the optimum, the rule of :func:`exactrelu.certificate.make_certificate`).
A run with loss ``L`` has

    gap = (L - U*) / U*        at least this far above the optimum,
    gap_upper = (L - LB) / LB  at most this far above it (proven),

equal (to the certificate's tolerance) when the certificate is ``optimal``;
``gap_upper`` is undefined (None) when the bound is 0 but the best loss is not (a
time-limited two-layer solve often proves nothing yet). When the optimum is near 0
(below ``NEAR_ZERO`` times the loss of the zero network, a realisable instance) the
relative gaps are measured against that floor instead of ``U*``, and the absolute
``excess = L - U*`` says the rest.

**Wider networks.** ``train_width`` ``H' > H`` trains wider networks than the certified
class. A width-``H`` network is a width-``H'`` network with ``H' - H`` zero units, so the
width-``H`` optimum is an upper bound on the width-``H'`` optimum: reaching it means "at
least as good as the best width-``H`` network", and a wider run may be below it
(negative gap).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from exactrelu.bench.store import locked_append, read_results
from exactrelu.certificate import Certificate
from exactrelu.errors import InvalidInputError, MissingDependencyError
from exactrelu.files import check_output_path
from exactrelu.instances import read_json_object
from exactrelu.network.losses import best_constant, loss_at_zero
from exactrelu.network.networks import Network, OneNodeNetwork, TwoLayerNetwork, network_from_dict
from exactrelu.problem import Problem, check_choice, check_int, check_positive
from exactrelu.validation import match_units

TRAINERS = ("numpy", "torch", "sklearn")
DEFAULT_RESTARTS = 50
# The landscape's box when the problem asks for the automatic one: the automatic box's
# first box, the natural scale of standardised data.
LANDSCAPE_BOX = 2.0
DEFAULT_EPOCHS = {"numpy": 20000, "torch": 5000, "sklearn": 5000}  # per trainer
DEFAULT_PATIENCE = 200  # epochs without a relative improvement of 1e-10: the run has stalled
DEFAULT_ADAM_LR = 1e-2  # torch and sklearn (Adam); numpy's step is 1/L unless given
DEFAULT_TIME_LIMIT = 120.0  # seconds for the certification
PROGRESS_EVERY = 10  # a progress line per this many finished runs
NEAR_ZERO = 1e-6  # an optimum below this times the zero network's loss is "near 0"
REACH_TOL = 1e-4  # a run within 0.01 % of the optimum has reached it
SHARE_LEVELS = (0.01, 0.10)  # the summary's "within 1 %" and "within 10 %"
CLASS_TOL = 1e-9  # relative slack of the box when deciding whether a run is in the class
PATTERN_TOL = 1e-8  # an optimum's pre-activation this close to 0 (relative) is on a boundary


# ---------------------------------------------------------------------------------------
# one run, the report
# ---------------------------------------------------------------------------------------


@dataclass
class LandscapeRun:
    """One gradient-descent training, compared with the certified optimum.

    Attributes
    ----------
    run : int
        Index of the run; its initialisation is seeded by ``(seed, run)``.
    loss : float
        Final loss (sum over samples), recomputed in float64 from the trained network.
    arch, width : str, int
        The trained network's class (``width`` is the training width ``H'``).
    dead_units : list of int
        Hidden units active on no sample.
    pattern_match : bool or None
        The activation pattern on the data and the output signs equal the optimum's,
        up to a permutation of the hidden units (units active nowhere match whatever
        their sign); None when the widths differ.
    differing_samples : int or None
        Samples on which some unit differs from the optimum's, units matched to
        minimise the Hamming distance (:func:`exactrelu.validation.pattern_difference`).
    in_class : bool
        The trained network belongs to the certified class (same architecture and
        width, weights inside the box), so its loss is at least the optimum.
    converged : bool
        Training stopped because the loss stopped improving, not because the epochs
        ran out.
    epochs : int
        Epochs (full-batch gradient steps) taken.
    seconds : float
        Training time.
    weights : dict
        The trained network, normalised into the class (output weights ±1).
    """

    run: int
    loss: float
    arch: str
    width: int
    dead_units: list[int]
    pattern_match: bool | None
    differing_samples: int | None
    in_class: bool
    converged: bool
    epochs: int
    seconds: float
    weights: dict[str, Any] = field(default_factory=dict)

    @property
    def network(self) -> Network:
        return network_from_dict(self.arch, self.weights)

    def to_row(self, include_weights: bool = True) -> dict[str, Any]:
        row = {"key": f"run:{self.run}", "kind": "run", **dataclasses.asdict(self)}
        if not include_weights:
            row.pop("weights")
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> LandscapeRun:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in row.items() if k in names})


@dataclass
class LandscapeReport:
    """The result of :func:`landscape`.

    Attributes
    ----------
    settings : dict
        The problem (``name``, ``arch``, ``width``, ``loss``, ``weight_bound``,
        ``bias``, ``n``, ``d``, ``data`` (a hash of X and y), ``zero_loss``) and the
        training (``trainer``, ``train_width``, ``epochs``, ``lr``, ``patience``, ``seed``).
    certificate : Certificate
        The certified optimum (or the best network and bound at its time limit).
    certificate_source : str
        ``"solved"`` or the file it was read from.
    runs : list of LandscapeRun
        In the order of their index.
    """

    settings: dict[str, Any]
    certificate: Certificate
    certificate_source: str
    runs: list[LandscapeRun]

    # -- the reference -------------------------------------------------------------------

    @property
    def certified(self) -> bool:
        """The certificate is ``optimal``: its loss is the optimum (to its tolerance)."""
        return self.certificate.status == "optimal"

    @property
    def wider(self) -> bool:
        """The runs train wider networks than the certified class."""
        return self.settings["train_width"] > self.settings["width"]

    @property
    def best_loss(self) -> float:
        """``U*``: the least loss known in the class (certificate and in-class runs)."""
        in_class = [r.loss for r in self.runs if r.in_class]
        return min([self.certificate.objective, *in_class])

    @property
    def bound(self) -> float | None:
        """The certificate's proven bound, clipped to :attr:`best_loss`; None without one."""
        if self.certificate.bound is None:
            return None
        return min(self.certificate.bound, self.best_loss)

    @property
    def floor(self) -> float:
        """Denominators of relative gaps are at least this (``NEAR_ZERO`` × zero loss)."""
        return max(NEAR_ZERO * self.settings["zero_loss"], 1e-12)

    @property
    def near_zero(self) -> bool:
        """The optimum is near 0: relative gaps are relative to :attr:`floor`."""
        return self.best_loss < self.floor

    def _relative(self, excess: float, reference: float) -> float:
        return excess / max(reference, self.floor)

    def gap(self, run: LandscapeRun) -> float:
        """``(L - U*) / U*``: the run is at least this far above the optimum."""
        return self._relative(run.loss - self.best_loss, self.best_loss)

    def gap_upper(self, run: LandscapeRun) -> float | None:
        """``(L - LB) / LB``: the run is at most this far above the optimum (proven).

        None without a bound, and when the bound is below :attr:`floor` while the best
        loss is not (a bound of 0 proves no relative gap; a time-limited two-layer solve
        often has one).
        """
        bound = self.bound
        if bound is None or (bound < self.floor and not self.near_zero):
            return None
        return self._relative(run.loss - bound, bound)

    def below_bound(self) -> list[LandscapeRun]:
        """In-class runs below the certificate's bound beyond its tolerance (a contradiction)."""
        cert = self.certificate
        if cert.bound is None:
            return []
        tol = max(1e-6 * abs(cert.bound), 1e-9)
        return [r for r in self.runs if r.in_class and r.loss < cert.bound - tol]

    # -- per run and summary -------------------------------------------------------------

    def run_row(self, run: LandscapeRun, include_weights: bool = True) -> dict[str, Any]:
        """A run's row with its gaps (see the module docstring)."""
        gap, upper = self.gap(run), self.gap_upper(run)
        row = run.to_row(include_weights)
        row.update(
            excess=run.loss - self.best_loss,
            gap=gap,
            gap_upper=upper,
            reached=gap <= REACH_TOL,
            reached_proven=None if upper is None else upper <= REACH_TOL,
        )
        for level in SHARE_LEVELS:
            row[f"within_{_pct(level)}"] = gap <= level
            row[f"within_{_pct(level)}_proven"] = None if upper is None else upper <= level
        return row

    def summary_dict(self) -> dict[str, Any]:
        """The summary's numbers (shares are fractions of all runs).

        ``within_1pct`` and ``within_10pct`` judge each run against the best loss known
        (``gap``); the ``_proven`` variants against the proven bound (``gap_upper``,
        None without a bound). ``reached``: within ``REACH_TOL`` (0.01 %).
        ``pattern_match``: among runs of the certified width (None when none is).
        """
        runs = self.runs
        rows = [self.run_row(r, include_weights=False) for r in runs]
        gaps = [row["gap"] for row in rows]
        excess = [row["excess"] for row in rows]

        def share(key: str) -> float | None:
            values = [row[key] for row in rows if row[key] is not None]
            if not rows or len(values) < len(rows):
                return None
            return sum(values) / len(rows)

        comparable = [r.pattern_match for r in runs if r.pattern_match is not None]
        out: dict[str, Any] = {
            "runs": len(runs),
            "certified": self.certified,
            "status": str(self.certificate.status),
            "best_loss": self.best_loss,
            "bound": self.bound,
            "certificate_gap": self.certificate.gap,
            "optimum_near_zero": self.near_zero,
            "in_class": sum(r.in_class for r in runs),
            "converged": _mean([r.converged for r in runs]),
        }
        for level in SHARE_LEVELS:
            out[f"within_{_pct(level)}"] = share(f"within_{_pct(level)}")
            out[f"within_{_pct(level)}_proven"] = share(f"within_{_pct(level)}_proven")
        out.update(
            reached=share("reached"),
            reached_proven=share("reached_proven"),
            pattern_match=_mean(comparable) if comparable else None,
            dead_unit_runs=_mean([bool(r.dead_units) for r in runs]),
            median_gap=statistics.median(gaps) if gaps else None,
            worst_gap=max(gaps, default=None),
            best_gap=min(gaps, default=None),
            median_excess=statistics.median(excess) if excess else None,
            worst_excess=max(excess, default=None),
        )
        return out

    def notes(self) -> list[str]:
        """What a reader must know to read the numbers right."""
        s = self.settings
        notes = []
        if not self.certified:
            cert = self.certificate
            notes.append(
                f"the certificate did not close ({cert.status}, gap "
                + ("unknown" if cert.gap is None else f"{100 * cert.gap:.3g} %")
                + "): 'within' is judged against the best loss known (the optimum may be "
                "lower), '_proven' against the proven bound (the optimum may be higher)"
            )
        if self.wider:
            certified = "one-node (width 1)" if s["arch"] == "one-node" else f"width {s['width']}"
            notes.append(
                f"the runs train width {s['train_width']} networks; the certified class is "
                f"{certified}. A width-{s['width']} optimum is an upper "
                f"bound on the width-{s['train_width']} optimum, so reaching it is 'at least "
                f"as good as the best width-{s['width']} network'; a negative gap is better "
                "than it"
            )
        outside = [r.run for r in self.runs if not r.in_class and r.width == s["width"]]
        if outside and not self.wider:
            notes.append(
                f"{len(outside)} run(s) left the box or the class ({_short(outside)}): their "
                "loss is compared with the best network in the box and may be below it"
            )
        wrong = self.below_bound()
        if wrong:
            notes.append(
                f"run(s) {_short([r.run for r in wrong])} of the class reached a loss below the "
                f"certificate's proven bound {self.certificate.bound:.10g}: the certificate "
                "is wrong or was made for other data"
            )
        if self.near_zero:
            notes.append(
                f"the optimum is near 0 (below {NEAR_ZERO:g} × the zero network's loss "
                f"{s['zero_loss']:.4g}): relative gaps are relative to {self.floor:.3g}; "
                "'excess' is the absolute gap"
            )
        return notes

    # -- output --------------------------------------------------------------------------

    def rows(self, include_weights: bool = True) -> list[dict[str, Any]]:
        """JSON lines: settings, certificate, one row per run (with gaps), the summary."""
        return [
            {"key": "settings", "kind": "settings", **self.settings},
            _certificate_row(self.certificate, self.certificate_source),
            *[self.run_row(r, include_weights) for r in self.runs],
            {"key": "summary", "kind": "summary", **self.summary_dict(), "notes": self.notes()},
        ]

    def to_dict(self, include_weights: bool = True) -> dict[str, Any]:
        """One JSON object: settings, certificate, runs and summary."""
        rows = self.rows(include_weights)
        return {
            "settings": rows[0],
            "certificate": rows[1],
            "runs": rows[2:-1],
            "summary": rows[-1],
        }

    def json_lines(self) -> str:
        return "\n".join(json.dumps(row, allow_nan=False) for row in self.rows())

    @classmethod
    def from_rows(cls, rows: Iterable[dict[str, Any]]) -> LandscapeReport:
        """Rebuild a report from its rows (a ``--out`` file or ``--json`` output)."""
        settings = certificate = None
        source = "solved"
        runs: dict[int, LandscapeRun] = {}
        for row in rows:
            kind = row.get("kind")
            if kind == "settings":
                settings = {k: v for k, v in row.items() if k not in ("key", "kind")}
            elif kind == "certificate":
                certificate = Certificate.from_dict(row["certificate"], "the landscape file")
                source = row.get("source", source)
            elif kind == "run":
                runs.setdefault(int(row["run"]), LandscapeRun.from_row(row))
        if settings is None or certificate is None:
            raise InvalidInputError(
                "not a landscape: the settings or the certificate row is missing"
            )
        return cls(settings, certificate, source, [runs[k] for k in sorted(runs)])

    def summary(self) -> str:
        """A short human-readable report (the CLI's default output)."""
        s, sm, cert = self.settings, self.summary_dict(), self.certificate
        shape = s["arch"] + (f", width {s['width']}" if s["arch"] == "two-layer" else "")
        lines = [
            f"class        {shape}, {s['loss']} loss, weight bound {s['weight_bound']:g}"
            f" (n = {s['n']}, d = {s['d']}){'  ' + s['name'] if s['name'] else ''}",
        ]
        if self.certified:
            lines.append(
                f"optimum      {self.best_loss:.10g}   (certified: {cert.status}, "
                f"{cert.seconds:.1f} s, {self.certificate_source})"
            )
        else:
            lines.append(
                f"best loss    {self.best_loss:.10g}   bound "
                + ("none" if self.bound is None else f"{self.bound:.10g}")
                + f"   ({cert.status} after {cert.seconds:.1f} s, {self.certificate_source})"
            )
        trainer = TRAINER_TEXT[s["trainer"]].format(lr=_lr_text(s))
        lines.append(
            f"training     {len(self.runs)} runs, width {s['train_width']}, {trainer}, "
            f"up to {s['epochs']} epochs, seed {s['seed']}"
        )
        n = len(self.runs)

        def count(share: float | None, total: int = n) -> str:
            if share is None:
                return "n/a"
            return f"{round(share * total)} of {total} runs ({100 * share:.0f} %)"

        against = "the optimum" if self.certified else "the best loss"
        if self.wider:
            lines.append(
                f"reached      {count(sm['reached'])} at least as good as the best "
                f"width-{s['width']} network (within {100 * REACH_TOL:g} %)"
            )
        for level in SHARE_LEVELS:
            key = f"within_{_pct(level)}"
            text = count(sm[key])
            if not self.certified:
                text += " of the best loss; provably (against the bound) " + (
                    "n/a" if sm[key + "_proven"] is None else count(sm[key + "_proven"])
                )
            lines.append(f"{'within ' + format(100 * level, 'g') + ' %':<13}{text}")
        if sm["median_gap"] is not None:
            lines.append(
                f"gap          median {_pct_text(sm['median_gap'])}, worst "
                f"{_pct_text(sm['worst_gap'])}, best {_pct_text(sm['best_gap'])}"
                f" (relative to {against})"
            )
        comparable = sum(r.pattern_match is not None for r in self.runs)
        if sm["pattern_match"] is not None:
            lines.append(
                f"pattern      {count(sm['pattern_match'], comparable)} end on the optimum's "
                "activation pattern and output signs (units matched)"
            )
        lines.append(f"dead units   {count(sm['dead_unit_runs'])} end with a unit active nowhere")
        lines.append(
            f"converged    {count(sm['converged'])} stopped improving before the last epoch"
        )
        lines.append("")
        lines.append(self.table())
        for note in self.notes():
            lines.append(f"note: {note}")
        return "\n".join(lines)

    def table(self) -> str:
        """One line per run: loss, gap, dead units, pattern, epochs."""
        from exactrelu.table import text_table

        body = []
        for run in self.runs:
            upper = self.gap_upper(run)
            body.append(
                [
                    str(run.run),
                    f"{run.loss:.8g}",
                    _pct_text(self.gap(run)),
                    "n/a" if upper is None else _pct_text(upper),
                    ",".join(map(str, run.dead_units)) or "-",
                    {True: "same", False: "differs", None: "n/a"}[run.pattern_match],
                    f"{run.epochs}{'' if run.converged else '+'}",
                ]
            )
        return text_table(
            ["run", "loss", "gap", "gap (proven)", "dead", "pattern", "epochs"],
            body,
            right={0, 1, 2, 3, 6},
        )


TRAINER_TEXT = {
    "numpy": "gradient descent in the class (numpy, full batch, first step {lr})",
    "torch": "PyTorch Adam (full batch, lr {lr})",
    "sklearn": "scikit-learn MLPRegressor (adam, full batch, lr {lr}, alpha 0)",
}


def _lr_text(settings: dict[str, Any]) -> str:
    lr = settings.get("lr")
    if lr is not None:
        return f"{lr:g}"
    if settings["trainer"] != "numpy":
        return f"{DEFAULT_ADAM_LR:g}"
    return "1/L" if settings["loss"] == "squared" else f"{0.5 * settings['weight_bound']:g}/√t"


def _pct(level: float) -> str:
    return f"{100 * level:g}pct"


def _pct_text(value: float) -> str:
    return f"{100 * value:.3g} %"


def _mean(values: list[bool]) -> float | None:
    return sum(values) / len(values) if values else None


def _short(indices: list[int], most: int = 8) -> str:
    text = ", ".join(map(str, indices[:most]))
    return text + (f" and {len(indices) - most} more" if len(indices) > most else "")


# ---------------------------------------------------------------------------------------
# certificates
# ---------------------------------------------------------------------------------------


def _certificate_row(certificate: Certificate, source: str) -> dict[str, Any]:
    return {
        "key": "certificate",
        "kind": "certificate",
        "source": source,
        "certificate": certificate.to_dict(),
    }


def _class_of(problem: Problem) -> dict[str, Any]:
    """What a certificate of ``problem`` must match: the class and the data's shape."""
    keys = ("arch", "width", "loss", "weight_bound", "bias", "n", "d")
    return {key: getattr(problem, key) for key in keys}


def _check_certificate(certificate: Certificate, problem: Problem, where: str) -> Certificate:
    """``certificate`` if it is a certificate of ``problem``, its loss recomputed on the data.

    The bound cannot be checked (it is what the solve proved); the network can: it must
    be of the class and its loss on these data must be the certificate's objective.
    """
    cert = certificate
    expected = _class_of(problem)
    differ = [
        f"{k} {getattr(cert, k)!r} (here {v!r})"
        for k, v in expected.items()
        if getattr(cert, k) != v
    ]
    if differ:
        raise InvalidInputError(
            f"{where} is a certificate of another problem: " + ", ".join(differ)
        )
    network = cert.network
    if network.max_abs_weight() > problem.weight_bound * (1 + CLASS_TOL):
        raise InvalidInputError(
            f"{where}: its network lies outside the box {problem.weight_bound:g}"
        )
    objective = network.loss(problem.X, problem.y, problem.loss)
    if abs(objective - cert.objective) > 1e-9 * max(1.0, abs(objective)):
        raise InvalidInputError(
            f"{where}: its network has loss {objective:.10g} on these data, not the "
            f"certificate's {cert.objective:.10g} (a certificate of other data?)"
        )
    bound = None if cert.bound is None else min(float(cert.bound), objective)
    return dataclasses.replace(cert, objective=objective, bound=bound)


def _load_certificate(certificate: Any, problem: Problem) -> tuple[Certificate, str]:
    if isinstance(certificate, Certificate):
        return _check_certificate(certificate, problem, "the certificate"), "given"
    if isinstance(certificate, dict):
        cert = Certificate.from_dict(certificate, "the certificate")
        return _check_certificate(cert, problem, "the certificate"), "given"
    if isinstance(certificate, (str, Path)):
        path = Path(certificate)
        if path.suffix.lower() != ".json":
            raise InvalidInputError(f"--certificate {path}: expected a .json certificate")
        if not path.is_file():
            raise InvalidInputError(f"--certificate {path}: no such file")
        cert = Certificate.from_dict(read_json_object(path), str(path))
        return _check_certificate(cert, problem, str(path)), str(path)
    raise InvalidInputError(
        f"certificate must be a Certificate, its dict or a .json path, got "
        f"{type(certificate).__name__}"
    )


# ---------------------------------------------------------------------------------------
# trainers: each returns, per run, the network normalised into the class
# ---------------------------------------------------------------------------------------


@dataclass
class _Trained:
    network: Network
    epochs: int
    converged: bool
    seconds: float


def _seed_sequence(seed: int, run: int) -> np.random.SeedSequence:
    """Run ``run``'s seed: a function of ``(seed, run)`` only."""
    return np.random.SeedSequence([seed, run])


def _train_problem(problem: Problem, train_width: int, trainer: str) -> Problem:
    """The class the runs train: the certified one, or two-layer of width ``train_width``.

    torch and sklearn always train two-layer networks (real output weight, output
    bias), so on a one-node problem they train a wider class even at width 1.
    """
    if train_width == problem.width and (problem.arch == "two-layer" or trainer == "numpy"):
        return problem
    return dataclasses.replace(problem, arch="two-layer", width=train_width)


@dataclass(frozen=True)
class _Training:
    """What every trainer is given: the class to train (``target``), the runs to do, the
    landscape's seed, at most ``epochs`` full-batch steps, the learning rate (None: the
    trainer's default), the patience, and ``record(run, trained)`` to call per run."""

    target: Problem
    runs: list[int]
    seed: int
    epochs: int
    lr: float | None
    patience: int
    record: Callable[[int, _Trained], None]


def _train_numpy(job: _Training) -> None:
    """Full-batch gradient descent in numpy, inside the class, every run side by side.

    Two-layer networks are trained as everyone trains them, with real output weights
    (:func:`exactrelu.methods.gd.descend_free_output`: a unit leaving the box is shrunk
    onto it; each run is recorded the moment it stops); a one-node network has no output
    weight (:func:`exactrelu.methods.gd.descend`, projected; recorded at the end).

    Initialisation of run ``i`` (generator seeded by ``(seed, i)``): hidden weights and
    biases i.i.d. N(0, 2/D), ``D`` the inputs of a unit with the bias counted (He),
    clipped into the box; output weights i.i.d. N(0, 1/H') (LeCun, the output layer is
    linear); output bias the best constant (the mean of y for squared loss).
    """
    from exactrelu.methods.gd import descend, descend_free_output

    target, runs, record = job.target, job.runs, job.record
    h = target.width
    D = target.d + (1 if target.bias else 0)
    two = target.arch == "two-layer"
    B = target.weight_bound
    Theta = np.empty((len(runs), h, D))
    a = np.ones((len(runs), h))
    for k, run in enumerate(runs):
        rng = np.random.default_rng(_seed_sequence(job.seed, run))
        Theta[k] = np.clip(rng.normal(0.0, math.sqrt(2.0 / D), size=(h, D)), -B, B)
        if two:
            a[k] = rng.normal(0.0, math.sqrt(1.0 / h), size=h)
    start = time.perf_counter()
    if two:
        # a run's seconds: the wall clock until it stopped, all runs side by side
        def finished(k: int, network: Network, iterations: int, stalled: bool) -> None:
            record(runs[k], _Trained(network, iterations, stalled, time.perf_counter() - start))

        c = np.full(len(runs), best_constant(target.y, target.loss))
        descend_free_output(
            target,
            Theta,
            a,
            c,
            max_iter=job.epochs,
            patience=job.patience,
            lr=job.lr,
            on_finish=finished,
        )
        return
    result = descend(
        target,
        Theta,
        a,
        np.zeros(len(runs)),
        max_iter=job.epochs,
        patience=job.patience,
        lr=job.lr,
    )
    seconds = time.perf_counter() - start
    for k, net in enumerate(result.networks):
        record(runs[k], _Trained(net, int(result.iterations[k]), bool(result.stalled[k]), seconds))


def _torch_loss(torch: Any, f: Any, y: Any, loss: str) -> Any:
    if loss == "squared":
        return ((f - y) ** 2).mean()
    if loss == "absolute":
        return (f - y).abs().mean()
    return torch.clamp(1.0 - y * f, min=0.0).mean()


def _train_torch(job: _Training) -> None:
    """PyTorch ``Sequential(Linear(d, H'), ReLU(), Linear(H', 1))`` in float64.

    PyTorch's default initialisation (weights and biases uniform on ±1/√fan_in), full
    batch Adam (``lr`` default 1e-2) on the mean loss, unconstrained (a trained network
    may leave the box: the run is then not in the class), the final iterate.
    """
    try:
        import torch
    except ImportError:
        raise MissingDependencyError("torch", "torch", "--trainer torch") from None
    # copies: the problem's arrays are read-only, which torch tensors cannot share
    X = torch.tensor(np.array(job.target.X), dtype=torch.float64)
    y = torch.tensor(np.array(job.target.y), dtype=torch.float64)
    threads = torch.get_num_threads()
    # one thread: these tensors are tiny, and more threads only contend (measured 7x
    # slower with 2 threads on 2 busy cores)
    torch.set_num_threads(1)
    try:
        for run in job.runs:
            job.record(run, _torch_run(torch, job, X, y, run))
    finally:
        torch.set_num_threads(threads)


def _torch_run(torch: Any, job: _Training, X: Any, y: Any, run: int) -> _Trained:
    from exactrelu.network.importers import from_torch

    target, epochs, patience = job.target, job.epochs, job.patience
    start = time.perf_counter()
    # fork_rng: seeding must not change the caller's global torch generator
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(_seed_sequence(job.seed, run).generate_state(1, np.uint64)[0] >> 1))
        model = torch.nn.Sequential(
            torch.nn.Linear(target.d, target.width, bias=target.bias, dtype=torch.float64),
            torch.nn.ReLU(),
            torch.nn.Linear(target.width, 1, dtype=torch.float64),
        )
    optimiser = torch.optim.Adam(model.parameters(), lr=job.lr or DEFAULT_ADAM_LR)
    best, since, taken, converged = math.inf, 0, 0, False
    while taken < epochs:
        taken += 1
        optimiser.zero_grad()
        value = _torch_loss(torch, model(X)[:, 0], y, target.loss)
        value.backward()
        optimiser.step()
        current = float(value.detach())
        if current < best * (1 - 1e-10):
            best, since = current, 0
        else:
            since += 1
        if since >= patience:
            converged = True
            break
    network = _as_trained_class(from_torch(model).network, target)
    return _Trained(network, taken, converged, time.perf_counter() - start)


def _train_sklearn(job: _Training) -> None:
    """scikit-learn ``MLPRegressor(hidden_layer_sizes=(H',), activation="relu")``.

    scikit-learn's initialisation (Glorot uniform), solver ``adam`` with full batches
    (``learning_rate_init`` default 1e-2), ``alpha=0`` (no L2 penalty: the objective is
    the class's loss), ``max_iter`` = epochs, ``n_iter_no_change`` = patience; squared
    loss only (what ``MLPRegressor`` minimises).
    """
    try:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPRegressor
    except ImportError:
        raise MissingDependencyError("scikit-learn", "sklearn", "--trainer sklearn") from None
    from exactrelu.network.importers import from_sklearn

    target, epochs = job.target, job.epochs
    for run in job.runs:
        start = time.perf_counter()
        mlp = MLPRegressor(
            hidden_layer_sizes=(target.width,),
            activation="relu",
            solver="adam",
            alpha=0.0,
            batch_size=target.n,
            learning_rate_init=job.lr or DEFAULT_ADAM_LR,
            max_iter=epochs,
            tol=1e-10,
            n_iter_no_change=job.patience,
            shuffle=False,
            random_state=int(_seed_sequence(job.seed, run).generate_state(1)[0]),
        )
        with warnings.catch_warnings():
            # running out of epochs is recorded per run (converged), not warned about
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp.fit(target.X, target.y)
        network = _as_trained_class(from_sklearn(mlp).network, target)
        job.record(
            run,
            _Trained(network, int(mlp.n_iter_), mlp.n_iter_ < epochs, time.perf_counter() - start),
        )


def _as_trained_class(network: Network, target: Problem) -> Network:
    """A foreign network as a two-layer network (the class torch and sklearn train)."""
    if isinstance(network, OneNodeNetwork):
        network = network.as_two_layer()
    if not target.bias and np.any(network.b != 0.0):
        raise AssertionError("a network trained without bias has biases")
    return network


TRAIN = {"numpy": _train_numpy, "torch": _train_torch, "sklearn": _train_sklearn}


def _check_trainer(trainer: str, problem: Problem) -> None:
    """Fail before the certification when the trainer cannot run."""
    import importlib.util

    check_choice("trainer", trainer, TRAINERS)
    if trainer == "torch" and importlib.util.find_spec("torch") is None:
        raise MissingDependencyError("torch", "torch", "--trainer torch")
    if trainer == "sklearn":
        if importlib.util.find_spec("sklearn") is None:
            raise MissingDependencyError("scikit-learn", "sklearn", "--trainer sklearn")
        if problem.loss != "squared":
            raise InvalidInputError(
                f"--trainer sklearn trains MLPRegressor, which minimises squared loss; "
                f"the problem has {problem.loss} loss (use --trainer numpy or torch)"
            )
        if not problem.bias:
            raise InvalidInputError(
                "--trainer sklearn trains MLPRegressor, whose hidden units always have a "
                "bias; the class has none (use --trainer numpy or torch)"
            )


# ---------------------------------------------------------------------------------------
# comparing a run with the optimum
# ---------------------------------------------------------------------------------------


def _signs(network: Network) -> np.ndarray:
    return network.v if isinstance(network, TwoLayerNetwork) else np.ones(1)


def boundary_tolerance(X: np.ndarray, weight_bound: float) -> np.ndarray:
    """Per sample, how close to 0 a pre-activation counts as on the unit's boundary.

    ``PATTERN_TOL · B · (1 + |x_i|₁)``: relative to the largest pre-activation a network
    of the box can have on sample ``i`` (the big-M of the formulation).

    Returns
    -------
    ndarray of shape (n_samples, 1)
    """
    return PATTERN_TOL * weight_bound * (1.0 + np.abs(X).sum(axis=1, keepdims=True))


def _compatible(X: np.ndarray, network: Network, optimum: Network, tol: np.ndarray) -> np.ndarray:
    """``ok[j, k]``: unit ``j`` of ``network`` has the pattern and sign of ``optimum``'s ``k``.

    A sample on unit ``k``'s boundary (``|z*| <= tol``) matches either activity; the
    signs must agree when unit ``k`` is active somewhere (otherwise it adds nothing).
    """
    active = network.pre_activations(X) > 0.0  # (n, h)
    z = optimum.pre_activations(X)  # (n, h)
    on, ambiguous = z > tol, np.abs(z) <= tol
    agree = (active[:, :, None] == on[:, None, :]) | ambiguous[:, None, :]  # (n, h, h)
    signs = (_signs(network)[:, None] == _signs(optimum)[None, :]) | ~on.any(axis=0)[None, :]
    return agree.all(axis=0) & signs


def _perfect_matching(ok: np.ndarray) -> list[int] | None:
    """A perfect matching of a bipartite graph (augmenting paths), or None.

    ``ok[j, k]``: ``j`` may be matched with ``k``; returns ``match[j] = k``.
    """
    h = ok.shape[0]
    owner = [-1] * h  # owner[k] = j

    def augment(j: int, seen: set[int]) -> bool:
        for k in np.flatnonzero(ok[j]):
            if k in seen:
                continue
            seen.add(int(k))
            if owner[k] < 0 or augment(owner[k], seen):
                owner[k] = j
                return True
        return False

    if not all(augment(j, set()) for j in range(h)):
        return None
    match = [0] * h
    for k, j in enumerate(owner):
        match[j] = k
    return match


def same_pattern(
    X: np.ndarray, network: Network, optimum: Network, weight_bound: float = 2.0
) -> bool:
    """Whether ``network`` has the optimum's activation pattern and output signs.

    Hidden units are exchangeable: the units must pair up (a perfect matching, exact at
    every width) so that paired units are active on the same samples and have the same
    output sign where the optimum's unit is active somewhere. A sample on which the
    optimum's pre-activation is 0 (to :func:`boundary_tolerance`) matches either way:
    the optimum lies on that boundary, so it belongs to the closure of both patterns,
    and so the convex problem of the run's pattern (signs fixed) has the optimum's
    loss as its minimum. Hence a run on the optimum's pattern that has converged has
    found the optimum.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    network, optimum : OneNodeNetwork or TwoLayerNetwork
        Of the same width.
    weight_bound : float, default 2.0
        The box, which scales the boundary tolerance.
    """
    ok = _compatible(X, network, optimum, boundary_tolerance(X, weight_bound))
    return _perfect_matching(ok) is not None


def differing_samples(
    X: np.ndarray, network: Network, optimum: Network, weight_bound: float = 2.0
) -> int:
    """Samples on which some hidden unit differs from its partner in ``optimum``.

    Units are paired to minimise the Hamming distance of the patterns
    (:func:`exactrelu.validation.match_units`); samples on the optimum's boundary (see
    :func:`same_pattern`) do not count.
    """
    active = network.activation_pattern(X)
    z = optimum.pre_activations(X)
    tol = boundary_tolerance(X, weight_bound)
    pairs = match_units(active, z > 0.0)
    differ = np.column_stack(
        [(active[:, j] != (z[:, k] > tol[:, 0])) & (np.abs(z[:, k]) > tol[:, 0]) for j, k in pairs]
    )
    return int(differ.any(axis=1).sum())


def _comparable(network: Network, optimum: Network) -> bool:
    return network.arch == optimum.arch and network.width == optimum.width


def _evaluate(run: int, trained: _Trained, problem: Problem, optimum: Network) -> LandscapeRun:
    net = trained.network
    X, B = problem.X, problem.weight_bound
    comparable = _comparable(net, optimum)
    in_box = net.max_abs_weight() <= problem.weight_bound * (1 + CLASS_TOL)
    return LandscapeRun(
        run=run,
        loss=net.loss(X, problem.y, problem.loss),
        arch=net.arch,
        width=net.width,
        dead_units=net.dead_units(X),
        pattern_match=same_pattern(X, net, optimum, B) if comparable else None,
        differing_samples=differing_samples(X, net, optimum, B) if comparable else None,
        in_class=comparable and in_box,
        converged=trained.converged,
        epochs=trained.epochs,
        seconds=round(trained.seconds, 4),
        weights=net.to_dict(),
    )


# ---------------------------------------------------------------------------------------
# the study
# ---------------------------------------------------------------------------------------


def data_hash(problem: Problem) -> str:
    """A short hash of ``X`` and ``y``: a resumed file must hold the same data."""
    digest = hashlib.sha256(problem.X.tobytes() + problem.y.tobytes())
    return digest.hexdigest()[:16]


def _settings(
    problem: Problem, trainer: str, train_width: int, epochs: int, lr: float | None, seed: int
) -> dict[str, Any]:
    return {
        "name": problem.name,
        **_class_of(problem),
        "data": data_hash(problem),
        "zero_loss": float(loss_at_zero(problem.y, problem.loss).sum()),
        "trainer": trainer,
        "train_width": train_width,
        "epochs": epochs,
        "lr": lr,
        "patience": DEFAULT_PATIENCE,
        "seed": seed,
    }


def _resume(out: Path, settings: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows already in ``out``, after checking they belong to this landscape."""
    rows = read_results(out, repair=True)
    stored = next((r for r in rows if r.get("kind") == "settings"), None)
    if rows and stored is None:
        raise InvalidInputError(f"--out {out}: holds rows but no landscape settings")
    if stored is not None:
        differ = [k for k, v in settings.items() if k != "name" and stored.get(k) != v]
        if differ:
            raise InvalidInputError(
                f"--out {out} holds a landscape with other settings ("
                + ", ".join(f"{k}: {stored.get(k)!r} there, {settings[k]!r} here" for k in differ)
                + "); use another --out"
            )
    return rows


def landscape(
    problem: Problem,
    *,
    restarts: int = DEFAULT_RESTARTS,
    trainer: str = "numpy",
    train_width: int | None = None,
    epochs: int | None = None,
    lr: float | None = None,
    certificate: Any = None,
    time_limit: float | None = DEFAULT_TIME_LIMIT,
    gap: float | None = None,
    threads: int | None = None,
    seed: int = 0,
    out: str | Path | None = None,
    progress: float | None = None,
    stream: Any = None,
) -> LandscapeReport:
    """Train ``restarts`` networks by gradient descent and compare each with the certified optimum.

    Parameters
    ----------
    problem : Problem
        Data and the certified class (architecture, width ``H``, loss, box, bias). The box
        is fixed, since the trainers keep every run inside it: under the automatic box
        (the default) it is :data:`LANDSCAPE_BOX`, in the units of the data (standardise
        them first).
    restarts : int, default 50
        Trainings from random initialisations; run ``i`` is seeded by ``(seed, i)``.
    trainer : {"numpy", "torch", "sklearn"}, default "numpy"
        ``numpy``: full-batch gradient descent on the mean loss, kept in the class:
        two-layer networks with real output weights (He and LeCun initialisation, a unit
        leaving the box shrunk onto it, a squared-loss step halved when it would raise the
        loss by half), one-node networks projected (``--method gd``'s steps); ``torch``:
        PyTorch ``Linear-ReLU-Linear``, default initialisation, full-batch Adam;
        ``sklearn``: ``MLPRegressor`` with adam (squared loss only). The last two train
        unconstrained networks (normalised into the class afterwards; one that leaves
        the box is not in the class). docs/landscape.md has the details.
    train_width : int, optional
        Width ``H' >= H`` of the trained networks (default ``H``; one-node: 1). Wider
        networks are two-layer; see the module docstring.
    epochs : int, optional
        Full-batch gradient steps per run at most (default 20000 for numpy, 5000 for
        torch and sklearn); a run stops earlier when its loss has not improved by a
        relative 1e-10 for 200 epochs (it has converged).
    lr : float, optional
        numpy: the step for squared loss (default ``1/(2(H' λ_max(X̃ᵀX̃/n) + 1))``,
        halved whenever a step would raise the loss by more than half), the first of the
        normalised subgradient steps ``lr/√t`` otherwise (default ``0.5·B``); torch and
        sklearn: Adam's, default 1e-2.
    certificate : Certificate, dict or path, optional
        A certificate of this problem (``exactrelu solve --out``) instead of solving;
        its network's loss is recomputed on the data and must match.
    time_limit : float or None, default 120
        Seconds for the certification (exact MIP); the landscape then compares with the
        best network and the bound proven so far, and says so.
    gap, threads
        As for :func:`exactrelu.solve` (the certification).
    seed : int, default 0
        Seeds the runs and the solver.
    out : path, optional
        A JSON-lines results file: the settings, the certificate as soon as it is known,
        each run the moment it finishes (a one-node numpy landscape: at the end, its
        runs descend together). When it exists it is resumed:
        its certificate is reused and finished runs are not repeated (more restarts
        add runs). It must hold a landscape with the same settings.
    progress : float, optional
        Seconds between the certification's progress lines on ``stream`` (default
        stderr); when set, a line per 10 finished runs too.
    stream : file, optional
        Where progress goes (default ``sys.stderr``).

    Returns
    -------
    LandscapeReport
    """
    from exactrelu.solve import solve

    if not isinstance(problem, Problem):
        raise InvalidInputError(
            f"landscape() takes a Problem, got {type(problem).__name__}; "
            "build one with exactrelu.Problem(X, y, ...)"
        )
    if problem.auto_box:  # the trainers keep every run in one fixed box
        problem = problem.with_box(LANDSCAPE_BOX)
    restarts = check_int("restarts", restarts, minimum=1)
    _check_trainer(trainer, problem)
    epochs = check_int("epochs", DEFAULT_EPOCHS[trainer] if epochs is None else epochs, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    if lr is not None:
        lr = check_positive("learning rate", lr)
    if train_width is None:
        train_width = problem.width
    train_width = check_int("train width", train_width, minimum=1)
    if train_width < problem.width:
        raise InvalidInputError(
            f"train width {train_width} is below the certified width {problem.width}: "
            "the landscape compares networks at least as wide as the class"
        )
    target = _train_problem(problem, train_width, trainer)
    stream = stream or sys.stderr
    settings = _settings(problem, trainer, train_width, epochs, lr, seed)
    rows: list[dict[str, Any]] = []
    if out is not None:
        out = check_output_path(out, suffixes=(".jsonl",))
        rows = _resume(out, settings)
    given = next((r for r in rows if r.get("kind") == "certificate"), None)
    with _appender(out) as append:
        if not any(r.get("kind") == "settings" for r in rows):
            append({"key": "settings", "kind": "settings", **settings})
        if given is not None:
            cert = Certificate.from_dict(given["certificate"], str(out))
            cert, source = _check_certificate(cert, problem, str(out)), given.get("source", "")
        elif certificate is not None:
            cert, source = _load_certificate(certificate, problem)
            append(_certificate_row(cert, source))
        else:
            options: dict[str, Any] = {"time_limit": time_limit, "threads": threads, "seed": seed}
            if gap is not None:
                options["gap"] = gap
            cert = solve(problem, method="mip", progress=progress, **options)
            if cert.status == "interrupted":
                # the user stopped the study: a half-proven certificate is not kept
                raise KeyboardInterrupt
            source = "solved"
            append(_certificate_row(cert, source))
        optimum = cert.network
        done = {int(r["run"]): LandscapeRun.from_row(r) for r in rows if r.get("kind") == "run"}
        todo = [i for i in range(restarts) if i not in done]

        def record(run: int, trained: _Trained) -> None:
            # written the moment the run finishes: a kill loses no finished run
            result = _evaluate(run, trained, problem, optimum)
            done[run] = result
            append(result.to_row())
            finished = sum(1 for i in done if i < restarts)
            if progress is not None and (finished % PROGRESS_EVERY == 0 or finished == restarts):
                best = min(r.loss for r in done.values())
                print(
                    f"landscape: {finished} of {restarts} runs, best loss {best:.6g} "
                    f"(certificate {cert.objective:.6g})",
                    file=stream,
                    flush=True,
                )

        if todo:
            TRAIN[trainer](_Training(target, todo, seed, epochs, lr, DEFAULT_PATIENCE, record))
    runs = [done[i] for i in range(restarts)]
    return LandscapeReport(settings, cert, source, runs)


def _appender(out: Path | None) -> Any:
    """``locked_append`` on ``out``, or a function that drops rows when there is no file."""
    if out is None:
        return contextlib.nullcontext(lambda row: None)
    return locked_append(out)


def read_landscape(path: str | Path) -> LandscapeReport:
    """A landscape from its ``--out`` file or its ``--json`` output."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such landscape file")
    return LandscapeReport.from_rows(read_results(path))
