"""Every benchmark result is checked against the instance's reference (its JSON sidecar).

* certified instances (``optimum``): no method may return a loss below the optimum or
  prove a bound above it, and an exact method that says ``optimal`` must reach it;
* open instances (``best_known`` and ``bound``): no loss below the proven bound.

A violation is a **mismatch**.
"""

from __future__ import annotations

from typing import Any

from exactrelu.methods import METHODS

# Two certificates, each within the default relative gap 1e-6 of the optimum, may differ
# by 2e-6 relative; the absolute part absorbs float64 noise near a zero optimum.
REL_TOL = 2e-6
ABS_TOL = 1e-8


def tolerance(reference: float) -> float:
    """How far two values may be apart and still agree on ``reference``."""
    return max(REL_TOL * abs(reference), ABS_TOL)


def check_result(row: dict[str, Any], meta: dict[str, Any]) -> tuple[str, str]:
    """Compare a result row with the sidecar's reference; return ``(check, why)``.

    ``check`` is ``ok``, ``mismatch``, ``no-reference`` or ``-`` (nothing to check:
    the run was skipped or crashed).
    """
    if row["status"] in ("skipped", "error") or row.get("loss") is None:
        return "-", ""
    loss, bound = row["loss"], row.get("bound")
    method = METHODS.get(row["method"].split(":")[0])
    exact = method is not None and method.exact
    if "optimum" in meta:
        opt = float(meta["optimum"])
        tol = tolerance(opt)
        if loss < opt - tol:
            return "mismatch", f"loss {loss:.10g} is below the reference optimum {opt:.10g}"
        if bound is not None and bound > opt + tol:
            return "mismatch", f"bound {bound:.10g} is above the reference optimum {opt:.10g}"
        if exact and row["status"] == "optimal" and loss > opt + tol:
            return "mismatch", (
                f"certified optimal at {loss:.10g} but the reference optimum is {opt:.10g}"
            )
        return "ok", ""
    if meta.get("bound") is not None:
        ref_bound = float(meta["bound"])
        if loss < ref_bound - tolerance(ref_bound):
            return "mismatch", (
                f"loss {loss:.10g} is below the proven bound {ref_bound:.10g} of this open instance"
            )
        best = meta.get("best_known")
        if bound is not None and best is not None and bound > float(best) + tolerance(best):
            return "mismatch", (
                f"bound {bound:.10g} is above the best known loss {float(best):.10g}"
            )
        return "ok", "open instance: checked against its proven bound"
    return "no-reference", ""
