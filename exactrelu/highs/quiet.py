"""HiGHS instances that print nothing and agree on one thread scheduler."""

from __future__ import annotations

import os
import sys

import highspy

# What HiGHS's info reports in primal_solution_status when it holds a feasible point.
FEASIBLE_SOLUTION = int(highspy.SolutionStatus.kSolutionStatusFeasible)

_banner_printed = False


def _new_highs() -> highspy.Highs:
    """``highspy.Highs()``, keeping the banner HiGHS prints once per process off stdout.

    The banner would corrupt ``--json`` output, so the first construction runs with
    file descriptor 1 pointed at /dev/null.
    """
    global _banner_printed
    if _banner_printed:
        return highspy.Highs()
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        highs = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    _banner_printed = True
    return highs


QP_ITERATION_LIMIT = 100_000

# HiGHS sizes one thread scheduler per process at its first solve and refuses a later
# solve that asks for another thread count; this is the count exactrelu last asked for.
_scheduler_threads: int | None = None


def quiet_highs(threads: int | None = None, seed: int | None = None) -> highspy.Highs:
    """A HiGHS instance that prints nothing.

    ``threads`` resizes HiGHS's process-wide scheduler when it differs from the last
    request; instances created later without ``threads`` use the same count, so every
    solve of a run agrees with the scheduler.
    """
    global _scheduler_threads
    highs = _new_highs()
    highs.setOptionValue("output_flag", False)
    # HiGHS 1.16's QP solver can cycle for ever with its default regularization (1e-7)
    # on degenerate fixed-pattern problems; without it they solve in a few iterations.
    # The iteration cap turns any other cycling into a failure the callers handle.
    highs.setOptionValue("qp_regularization_value", 0.0)
    highs.setOptionValue("qp_iteration_limit", QP_ITERATION_LIMIT)
    if threads is not None and int(threads) != _scheduler_threads:
        highspy.Highs.resetGlobalScheduler(True)
        _scheduler_threads = int(threads)
    if _scheduler_threads is not None:
        highs.setOptionValue("threads", _scheduler_threads)
    if seed is not None:
        highs.setOptionValue("random_seed", int(seed))
    return highs
