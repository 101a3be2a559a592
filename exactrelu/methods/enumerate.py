"""Exact training by enumerating activation patterns (method ``enumerate``).

With the activation pattern of every hidden unit on every sample fixed (and the output
signs), training is a convex program; the optimum is the best over the patterns that
some network realises. :mod:`~exactrelu.methods.enumerate_one_node` walks the chambers
of the samples' hyperplane arrangement (polynomial in ``n`` for fixed ``d``), pruning with
closed-form bounds; :mod:`~exactrelu.methods.enumerate_two_layer` enumerates a pattern per
hidden unit (Arora et al., small ``n``). See docs/algorithms.md.
"""

from __future__ import annotations

from exactrelu.certificate import Certificate, Stop, make_certificate
from exactrelu.errors import InvalidInputError, show
from exactrelu.methods.enumerate_one_node import OneNodeEnumeration
from exactrelu.methods.enumerate_two_layer import DEFAULT_MAX_COMBINATIONS, TwoLayerEnumeration
from exactrelu.options import Deadline, SolveOptions
from exactrelu.problem import Problem


def solve_enumerate(
    problem: Problem,
    options: SolveOptions,
    *,
    max_combinations: int = DEFAULT_MAX_COMBINATIONS,
    initial_approx: bool = True,
) -> Certificate:
    """Exact training by activation-pattern enumeration.

    Parameters
    ----------
    problem : Problem
    options : SolveOptions
        ``time_limit`` stops the enumeration (status ``time_limit``, no bound);
        ``warm_start`` seeds the incumbent; ``rel_gap``/``abs_gap`` set the pruning
        tolerance.
    max_combinations : int, default 20000
        Two-layer only: refuse (``InvalidInputError``) when more (sign count, pattern
        tuple) pairs than this would have to be examined.
    initial_approx : bool, default True
        One-node only: start from the ``approx`` solution with ``k = 1`` and 5 polish
        rounds (a few convex programs), so that pruning is effective from the first batch.

    Returns
    -------
    Certificate
        ``details``: ``dichotomies`` (patterns whose bound was evaluated, with
        repetitions), ``distinct_dichotomies``, ``theoretical_dichotomies`` (chambers
        of the arrangement if it were in general position, Cover's count),
        ``convex_solves``, ``closed_form`` and more.
    """
    if (
        isinstance(max_combinations, bool)
        or not isinstance(max_combinations, int)
        or (max_combinations < 1)
    ):
        raise InvalidInputError(
            f"max_combinations must be an integer >= 1, got {show(max_combinations)}"
        )
    if not isinstance(initial_approx, bool):
        raise InvalidInputError(f"initial_approx must be True or False, got {initial_approx!r}")
    deadline = Deadline(options.time_limit)
    if problem.arch == "one-node":
        search = OneNodeEnumeration(problem, options, deadline)
        search.run(initial_approx)
    else:
        search = TwoLayerEnumeration(problem, options, deadline, max_combinations)
        search.run()
    stop = Stop.TIME_LIMIT if search.timed_out else Stop.FINISHED
    bound = None if search.timed_out else search.bound()
    return make_certificate(
        problem,
        search.best_net,
        bound=bound,
        stop=stop,
        seconds=deadline.elapsed(),
        method="enumerate",
        rel_gap=options.rel_gap,
        abs_gap=options.abs_gap,
        details={**search.details(), "better_outside_box": search.better_outside_box},
        proven_without_box=search.proven_without_box,
    )
