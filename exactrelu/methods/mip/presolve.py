"""Presolves of method ``mip``: other exact methods that may settle an instance before any
MILP is built, or make the MILPs smaller.

* One-node squared loss: the activation branch and bound (:mod:`~exactrelu.methods.bnb`)
  runs first; when it finishes its bound is the result, otherwise its root's cutoff
  bounds fix activations and tighten the big-M values of the MILP.
* Two-layer with one feature: each unit has only about ``2n`` activation patterns, so
  the pattern enumeration of method ``enumerate`` replaces the MILPs when it is small
  enough (the big-M relaxation is no stronger in one dimension, and measured far slower).
"""

from __future__ import annotations

import math
from typing import Any

from exactrelu.certificate import Stop
from exactrelu.formulation.bounds import CutoffBounds
from exactrelu.methods.bnb.one_node import OneNodeBranchAndBound
from exactrelu.methods.enumerate_two_layer import TwoLayerEnumeration
from exactrelu.methods.mip.state import PRESOLVE_KEY, SearchState
from exactrelu.methods.search import Budget, StageEnd


def presolve_one_node(search: SearchState) -> tuple[StageEnd, CutoffBounds | None, dict[str, Any]]:
    """Run the activation branch and bound for a few seconds before the MILP.

    One-node squared loss only. When it finishes, its bound is the result and no MILP
    is built (``closed``); otherwise its root gives :class:`CutoffBounds` that fix
    activations and tighten the big-M values of the MILP. Returns how it ended, the
    bounds and what it did (for the certificate's details).
    """
    options, deadline, settings = search.options, search.deadline, search.settings
    tree = OneNodeBranchAndBound(search.problem, options, search)
    y = search.problem.y
    explained = 1.0 - search.best_loss / max(float(y @ y), 1e-300)
    if explained >= settings.presolve_good_fit:
        budget, share = settings.presolve_seconds_good_fit, settings.presolve_share_good_fit
    else:
        budget, share = settings.presolve_seconds, settings.presolve_share
    if options.time_limit is not None:
        budget = min(budget, share * options.time_limit)
    end = tree.run(
        deadline,
        lambda t: search.report(t.bound(), f"(presolve: {t.nodes} nodes, {len(t.heap)} open)"),
        cap=deadline.elapsed() + budget,
    )
    info: dict[str, Any] = {"nodes": tree.nodes, "seconds": round(deadline.elapsed(), 3)}
    search.log(
        f"presolve (activation branch and bound): {tree.nodes} nodes, {len(tree.heap)} open, "
        f"bound {tree.bound():.10g}, best loss {search.best_loss:.10g}, end {end}"
    )
    if end is not StageEnd.CAPPED:
        # finished (or stopped by the user or the clock): its bound is what is proven
        search.lower_bounds[PRESOLVE_KEY] = tree.bound()
        return end, None, {**info, "closed": True}
    bounds = tree.cutoff_bounds()
    if bounds is None:  # no network at all beats the threshold
        search.lower_bounds[PRESOLVE_KEY] = tree.threshold()
        return StageEnd.FINISHED, None, {**info, "closed": True}
    info.update(
        closed=False,
        fixed_active=int(bounds.active.sum()),
        fixed_inactive=int(bounds.inactive.sum()),
    )
    return StageEnd.CAPPED, bounds, info


def presolve_two_layer(search: SearchState) -> tuple[Stop | None, dict[str, Any]]:
    """Two-layer with d = 1: enumerate activation patterns instead of building MILPs.

    Runs :class:`~exactrelu.methods.enumerate_two_layer.TwoLayerEnumeration` from the
    incumbent when it has at most ``settings.enumeration_presolve_combinations`` pattern
    tuples to examine. When it finishes, its bound is the result (``closed``); stopped by
    the clock or the user, its best network stands with bound 0. Returns the search's
    reason to stop (None: none) and what it did (for the certificate's details; empty
    when it did not apply).
    """
    problem = search.problem
    if problem.d != 1:
        return None, {}

    def report(enumeration: TwoLayerEnumeration) -> None:
        search.report(0.0, "(presolve: enumerating activation patterns)")

    enumeration = TwoLayerEnumeration(
        problem, search.options, Budget(search), math.inf, on_progress=report, incumbent=search
    )
    if enumeration.n_combinations > search.settings.enumeration_presolve_combinations:
        return None, {}
    enumeration.run()
    info = {"method": "enumerate", **enumeration.details(), "closed": True}
    # its bound holds for every weight unless some pattern's program touched the box
    info["proven_without_box"] = enumeration.proven_without_box
    info["better_outside_box"] = enumeration.better_outside_box
    info["seconds"] = round(search.deadline.elapsed(), 3)
    search.log(
        f"presolve (pattern enumeration): {enumeration.n_combinations} combinations, "
        f"best loss {search.best_loss:.10g}, "
        f"{'stopped' if enumeration.timed_out else f'bound {enumeration.bound():.10g}'}"
    )
    search.lower_bounds[PRESOLVE_KEY] = 0.0 if enumeration.timed_out else enumeration.bound()
    return search.stop_reason(), info
