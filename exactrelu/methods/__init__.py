"""Training methods, side by side, and the one table that describes them.

Every method is a function ``(problem, options, **method_options) -> Certificate``.
:data:`METHODS` says for each whether it is exact (its certificate carries a proven
bound), which architectures and losses it takes, and where it lives; ``exactrelu.solve``,
``exactrelu compare`` and the benchmark harness all go through :func:`run_method`.

* ``mip`` (:mod:`~exactrelu.methods.mip`): exact, every class; MILPs on HiGHS.
* ``bnb`` (:mod:`~exactrelu.methods.bnb`): exact branch and bound over activation
  patterns, squared loss (one-node and two-layer).
* ``enumerate``: exact enumeration of activation patterns, polynomial in ``n`` for fixed
  ``d`` (:mod:`~exactrelu.methods.enumerate`).
* ``approx`` (:mod:`~exactrelu.methods.approx`): the ``O(n^k)`` approximation algorithm
  with the proven ratio ``n/k``, one-node.
* ``gd`` (:mod:`~exactrelu.methods.gd`): projected (sub)gradient descent with restarts.
* ``scip``, ``gurobi``, ``highs-naive`` (:mod:`~exactrelu.methods.peers`): other solvers
  on the plain big-M model, as independent oracles and benchmark peers.

``auto`` (the default of ``exactrelu.solve``) picks one of them for the problem:
:func:`default_method`. See docs/algorithms.md for how they work and what they guarantee.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from exactrelu.certificate import Certificate
from exactrelu.errors import InvalidInputError
from exactrelu.methods.auto_box import solve_auto
from exactrelu.network.networks import Network
from exactrelu.options import SolveOptions
from exactrelu.problem import ARCHS, LOSSES, Problem

MethodFunction = Callable[..., Certificate]


@dataclass(frozen=True)
class Method:
    """One training method: what it guarantees, what it takes, where it lives.

    Attributes
    ----------
    name : str
        The name ``exactrelu.solve(method=...)`` and ``--method`` take.
    kind : {"exact", "heuristic", "peer"}
        ``exact`` and ``peer`` certificates carry a proven bound; ``peer`` methods run
        another solver (an optional dependency, ``extra``).
    archs, losses : tuple of str
        The problems it takes.
    entry : str
        ``"module:function"`` of the method function (imported when first used).
    summary : str
        One line for help texts.
    extra : str or None
        The pip extra that installs its optional dependency.
    max_width : int or None
        The widest two-layer network it takes (None: any).
    prepare : str or None
        ``"module:function"`` called with ``(problem, options)`` before the clock starts
        (work that is not part of a solve, such as compiling).
    """

    name: str
    kind: str
    archs: tuple[str, ...]
    losses: tuple[str, ...]
    entry: str
    summary: str
    extra: str | None = None
    max_width: int | None = None
    prepare: str | None = None

    @property
    def exact(self) -> bool:
        """True when its certificates carry a proven lower bound."""
        return self.kind in ("exact", "peer")

    def function(self) -> MethodFunction:
        return _load(self.entry)

    def refusal(self, problem: Problem) -> str | None:
        """Why this method does not take ``problem`` (None when it does)."""
        if problem.arch not in self.archs:
            return (
                f"method '{self.name}' trains {' and '.join(self.archs)} networks only, "
                f"not {problem.arch} (use method 'mip')"
            )
        if problem.loss not in self.losses:
            return (
                f"method '{self.name}' takes {' and '.join(self.losses)} loss only, "
                f"not {problem.loss} (use method 'mip')"
            )
        if self.max_width is not None and problem.width > self.max_width:
            return (
                f"method '{self.name}' takes networks of width at most {self.max_width}, "
                f"not {problem.width} (use method 'mip')"
            )
        return None


def _load(entry: str) -> Callable[..., Any]:
    """The function an entry ``"module:function"`` names (its module imported now)."""
    module, name = entry.split(":")
    return getattr(importlib.import_module(module), name)


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "mip",
            "exact",
            ARCHS,
            LOSSES,
            "exactrelu.methods.mip:solve_mip",
            "mixed-integer programming on HiGHS (every class)",
        ),
        Method(
            "bnb",
            "exact",
            ARCHS,
            ("squared",),
            "exactrelu.methods.bnb:solve_branch_and_bound",
            "branch and bound over activation patterns (squared loss, width <= 4)",
            max_width=4,
            prepare="exactrelu.methods.bnb:prepare",
        ),
        Method(
            "enumerate",
            "exact",
            ARCHS,
            LOSSES,
            "exactrelu.methods.enumerate:solve_enumerate",
            "enumeration of activation patterns (small d)",
        ),
        Method(
            "approx",
            "heuristic",
            ("one-node",),
            LOSSES,
            "exactrelu.methods.approx:solve_approx",
            "the O(n^k) approximation algorithm, ratio n/k (one-node)",
        ),
        Method(
            "gd",
            "heuristic",
            ARCHS,
            LOSSES,
            "exactrelu.methods.gd:solve_gd",
            "projected (sub)gradient descent with restarts",
        ),
        Method(
            "scip",
            "peer",
            ARCHS,
            LOSSES,
            "exactrelu.methods.peers.scip:solve_scip",
            "SCIP on the plain big-M model",
            extra="scip",
        ),
        Method(
            "gurobi",
            "peer",
            ARCHS,
            LOSSES,
            "exactrelu.methods.peers.gurobi:solve_gurobi",
            "Gurobi on the plain big-M model",
            extra="gurobi",
        ),
        Method(
            "highs-naive",
            "peer",
            ARCHS,
            LOSSES,
            "exactrelu.methods.peers.highs_naive:solve_highs_naive",
            "HiGHS on the plain big-M model, without exactrelu's tightening",
        ),
    )
}


# The method ``exactrelu.solve`` and ``exactrelu solve`` use unless told otherwise.
AUTO_METHOD = "auto"


def default_method(problem: Problem) -> str:
    """The method ``"auto"`` stands for: ``bnb`` for two-layer problems it takes (squared
    loss, width at most 4), else ``mip`` (which runs the one-node ``bnb`` as its presolve)."""
    if problem.arch == "two-layer" and METHODS["bnb"].refusal(problem) is None:
        return "bnb"
    return "mip"


def available_methods() -> list[str]:
    """exactrelu's own methods (``exactrelu.solve`` also takes the peers of :data:`METHODS`)."""
    return [name for name, method in METHODS.items() if method.kind != "peer"]


def method(name: str) -> Method:
    """The :class:`Method` called ``name``, or :class:`InvalidInputError` listing the names."""
    if name not in METHODS:
        raise InvalidInputError(
            f"method must be {AUTO_METHOD} or one of {', '.join(METHODS)}; got {name!r}"
        )
    return METHODS[name]


def run_method(
    name: str,
    problem: Problem,
    options: SolveOptions,
    *,
    hold: Sequence[Network] = (),
    **method_options: Any,
) -> Certificate:
    """Run method ``name`` on ``problem``: the one place methods are dispatched.

    A problem with the automatic box (``weight_bound="auto"``) is solved by
    :func:`~exactrelu.methods.auto_box.solve_auto`, which calls the method on standardised
    data with fixed boxes, its first box large enough for the networks ``hold``
    (validation compares them with the optimum; a fixed box is the caller's choice, so
    ``hold`` is not used there); the method functions themselves take fixed boxes only. Raises
    :class:`InvalidInputError` when the method does not take the problem or an option,
    before any work is done.
    """
    chosen_by = ""
    if name == AUTO_METHOD:
        name = default_method(problem)
        chosen_by = f" (chosen by method '{AUTO_METHOD}' for this problem)"
    chosen = method(name)
    refusal = chosen.refusal(problem)
    if refusal is not None:
        raise InvalidInputError(refusal)
    function = chosen.function()
    accepted = [
        p.name
        for p in inspect.signature(function).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    unknown = sorted(set(method_options) - set(accepted))
    if unknown:
        raise InvalidInputError(
            f"method '{name}'{chosen_by} takes no option {', '.join(map(repr, unknown))}; "
            f"its options: {', '.join(accepted) or 'none'}"
            + (" (name the method that takes them)" if chosen_by else "")
        )
    if chosen.prepare is not None:
        _load(chosen.prepare)(problem, options)
    if problem.auto_box:
        return solve_auto(function, problem, options, hold=hold, **method_options)
    return function(problem, options, **method_options)
