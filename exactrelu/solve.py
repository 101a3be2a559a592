"""One entry point for every training method: ``exactrelu.solve``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from exactrelu.certificate import Certificate
from exactrelu.data import Problem
from exactrelu.errors import InvalidInputError
from exactrelu.options import SolveOptions

MethodFunction = Callable[..., Certificate]


def _methods() -> dict[str, MethodFunction]:
    # Imported here so that `import exactrelu` stays light and free of cycles.
    from exactrelu.solver.mip import solve_mip

    methods: dict[str, MethodFunction] = {"mip": solve_mip}
    try:
        from exactrelu.algorithms import ALGORITHMS
    except ImportError:  # the algorithms module is optional only while it is being built
        ALGORITHMS = {}
    methods.update(ALGORITHMS)
    return methods


def available_methods() -> list[str]:
    """Names accepted by ``solve(..., method=...)``."""
    return list(_methods())


def solve(
    problem: Problem,
    *,
    method: str = "mip",
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
    method : {"mip", "bnb", "enumerate", "approx", "gd"}, default "mip"
        ``mip`` and ``enumerate`` are exact; ``approx`` and ``gd`` are heuristics.
    time_limit : float, optional
        Seconds of wall clock. When it runs out the best network so far is returned
        with the proven bound and status ``time_limit``.
    gap : float, default 1e-6
        Relative optimality tolerance (SPEC §2).
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
    methods = _methods()
    if method not in methods:
        raise InvalidInputError(f"method must be one of {', '.join(methods)}; got {method!r}")
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
    return methods[method](problem, options, **method_options)
