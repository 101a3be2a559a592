"""One entry point for every training method: ``exactrelu.solve``."""

from __future__ import annotations

from typing import Any

from exactrelu.certificate import Certificate
from exactrelu.errors import InvalidInputError
from exactrelu.methods import available_methods, run_method
from exactrelu.options import SolveOptions
from exactrelu.problem import Problem

__all__ = ["available_methods", "solve"]


def solve(
    problem: Problem,
    *,
    method: str = "auto",
    time_limit: float | None = None,
    gap: float = SolveOptions.rel_gap,
    abs_gap: float = SolveOptions.abs_gap,
    threads: int | None = None,
    seed: int = 0,
    warm_start: Any = None,
    log: bool = False,
    progress: float | None = None,
    **method_options: Any,
) -> Certificate:
    """Train ``problem`` with ``method`` and return its :class:`~exactrelu.Certificate`.

    Parameters
    ----------
    problem : Problem
        Data, architecture, loss and weight box.
    method : str, default "auto"
        A name of :data:`exactrelu.methods.METHODS`: ``mip``, ``bnb`` and ``enumerate``
        are exact; ``approx`` and ``gd`` are heuristics; ``scip``, ``gurobi`` and
        ``highs-naive`` run other solvers on the plain big-M model (optional extras).
        ``auto`` (:func:`~exactrelu.methods.default_method`) is ``bnb`` for two-layer
        squared loss up to width 4 and ``mip`` otherwise.
    time_limit : float, optional
        Seconds of wall clock. When it runs out the best network so far is returned
        with the proven bound and status ``time_limit``.
    gap : float, default 1e-6
        Relative optimality tolerance of the certificate.
    abs_gap : float, default 1e-9
        Absolute optimality tolerance.
    threads, seed, warm_start, log, progress
        See :class:`~exactrelu.options.SolveOptions`.
    **method_options
        Passed to the method (for instance ``k`` for ``approx``).
    """
    if not isinstance(problem, Problem):
        raise InvalidInputError(
            f"solve() takes a Problem, got {type(problem).__name__}; "
            "build one with exactrelu.Problem(X, y, ...)"
        )
    options = SolveOptions(
        time_limit=time_limit,
        rel_gap=gap,
        abs_gap=abs_gap,
        threads=threads,
        seed=seed,
        warm_start=warm_start,
        log=log,
        progress=progress,
    )
    return run_method(method, problem, options, **method_options)
