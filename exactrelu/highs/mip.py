"""HiGHS as the MIP engine of an exact solve: tolerances, warm starts, callbacks."""

from __future__ import annotations

import sys
from collections.abc import Callable

import highspy
import numpy as np

# Default feasibility tolerances (1e-6) let every big-M row bend by 1e-6, which moves the
# MILP bound by about n·|r|·1e-6: more than the 1e-6 relative gap users of an exact
# solver expect. Tighter tolerances keep the bound honest.
EXACT_FEASIBILITY_TOLERANCE = 1e-9

Callback = Callable[[object], None]


def configure_exact_mip(
    highs: highspy.Highs,
    *,
    rel_gap: float,
    abs_gap: float,
    feasibility_tolerance: float = EXACT_FEASIBILITY_TOLERANCE,
) -> None:
    """Tolerances for a MILP whose bound goes into a certificate with these gaps.

    The MILP works to half the certificate's tolerance, leaving the other half for the
    outer approximation and for recomputing the loss in float64.
    """
    highs.setOptionValue("mip_rel_gap", rel_gap / 2)
    highs.setOptionValue("mip_abs_gap", abs_gap / 2)
    for name in ("mip_feasibility_tolerance", "primal_feasibility_tolerance"):
        highs.setOptionValue(name, feasibility_tolerance)


def log_to_stderr(highs: highspy.Highs) -> None:
    """Send HiGHS's log to stderr (stdout may carry JSON)."""
    highs.setOptionValue("output_flag", True)
    highs.setOptionValue("log_to_console", False)
    highs.cbLogging.subscribe(lambda e: print(e.message, end="", file=sys.stderr))


def subscribe(
    highs: highspy.Highs,
    *,
    check: Callback,
    improving_solution: Callback,
    user_solution: Callback,
) -> None:
    """Python callbacks for a MIP solve.

    ``check`` runs at HiGHS's interrupt checks (in the MIP tree and the simplex), where
    ``event.interrupt()`` stops the solve; ``improving_solution`` for each new incumbent
    of HiGHS; ``user_solution`` where HiGHS accepts a solution from outside
    (``event.data_in.setSolution``). A callback must never raise into HiGHS.
    """
    highs.cbMipInterrupt.subscribe(check)
    highs.cbSimplexInterrupt.subscribe(check)
    highs.cbMipImprovingSolution.subscribe(improving_solution)
    highs.cbMipUserSolution.subscribe(user_solution)


def is_mip_check(event) -> bool:
    """The callback event is a MIP tree check (where the dual bound is known)."""
    return event.callback_type == highspy.cb.HighsCallbackType.kCallbackMipInterrupt


def set_solution(highs: highspy.Highs, x: np.ndarray) -> bool:
    """Offer the column vector ``x`` as a starting solution; False when HiGHS refuses it."""
    solution = highspy.HighsSolution()
    solution.col_value = x
    solution.value_valid = True
    return highs.setSolution(solution) != highspy.HighsStatus.kError
