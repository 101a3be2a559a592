"""``solve_mip``: the steps of method ``mip`` in order (see the package docstring)."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from exactrelu.certificate import Certificate, Stop
from exactrelu.errors import InvalidInputError
from exactrelu.formulation.bounds import CutoffBounds
from exactrelu.formulation.loss import initial_tangent_points
from exactrelu.formulation.model import iter_formulations
from exactrelu.methods.bnb.one_node import prove_without_box
from exactrelu.methods.heuristics import heuristic_start
from exactrelu.methods.mip.case import SignCase
from exactrelu.methods.mip.presolve import presolve_one_node, presolve_two_layer
from exactrelu.methods.mip.schedule import solve_side_by_side, visit
from exactrelu.methods.mip.settings import MipSettings
from exactrelu.methods.mip.state import SearchState
from exactrelu.methods.search import trap_interrupts
from exactrelu.options import SolveOptions
from exactrelu.problem import Problem


def solve_mip(
    problem: Problem,
    options: SolveOptions,
    *,
    heuristic: bool = True,
    presolve: bool = True,
    settings: MipSettings | None = None,
) -> Certificate:
    """Certify the optimum of ``problem`` by MIP on HiGHS (see :mod:`exactrelu.methods.mip`).

    Parameters
    ----------
    problem : Problem
    options : SolveOptions
    heuristic : bool, default True
        Start from a gradient-descent network (a few seconds at most) polished on its
        activation pattern; its loss becomes the first objective cutoff.
    presolve : bool, default True
        Before the MILPs: one-node squared loss runs the activation branch and bound,
        two-layer networks with one feature enumerate activation patterns (each may
        settle the instance alone). False: the MILPs only.
    settings : MipSettings, optional
        Tuning (default: the measured defaults of :class:`MipSettings`).

    Returns
    -------
    Certificate
        The best network found, with the proven bound; its status is ``optimal`` only
        when the recomputed gap is within tolerance.
    """
    for name, value in (("heuristic", heuristic), ("presolve", presolve)):
        if not isinstance(value, bool):
            raise InvalidInputError(f"{name} must be True or False, got {value!r}")
    if settings is not None and not isinstance(settings, MipSettings):
        raise InvalidInputError(f"settings must be a MipSettings, got {type(settings).__name__}")
    search = SearchState.start(problem, options, settings=settings or MipSettings())
    stop: Stop | None = None
    cases: list[SignCase] = []
    presolved: dict[str, Any] = {}
    side_by_side = 0
    with trap_interrupts(search):
        if heuristic:
            heuristic_start(problem, options, search)
            search.long_start_due = problem.arch == "two-layer"
        cutoff_bounds = None
        if presolve and problem.arch == "one-node" and problem.loss == "squared":
            end, cutoff_bounds, presolved = presolve_one_node(search)
            stop = end.stop()
        elif presolve and problem.arch == "two-layer":
            stop, presolved = presolve_two_layer(search)
        unbuilt = 0
        if not presolved.get("closed"):
            cases, stop = _build_cases(search, cutoff_bounds)
            unbuilt = (problem.width + 1 if problem.arch == "two-layer" else 1) - len(cases)
        build_seconds = search.deadline.elapsed()
        stop, side_by_side = _solve_cases(cases, search, stop)
        global_ = stop is None and _proven_without_box(search, presolved)
        search.report(search.bound(), "finished", force=True, only_if_started=True)
    if search.reason is None and stop in (Stop.TIME_LIMIT, Stop.INTERRUPTED):
        search.reason = _open_cases_reason(search, cases, stop)
    details = _details(search, cases, presolved, build_seconds, side_by_side)
    if unbuilt:
        details["cases_not_built"] = unbuilt  # stopped while building: they prove nothing
    return search.certificate(
        search.bound(), stop or Stop.FINISHED, "mip", details, proven_without_box=global_
    )


def _proven_without_box(search: SearchState, presolved: dict[str, Any]) -> bool:
    """Whether the solve's proof holds for every weight, not only the box's.

    Only a presolve that settled the instance can say so: the MILPs' big-M values come
    from the box. The one-node branch and bound is run again without the box (a short,
    bounded search); the two-layer enumeration says itself whether it used the box.
    """
    if not presolved.get("closed") or not search.closed():
        return False
    if search.problem.arch == "one-node":
        proven, outside = prove_without_box(search.problem, search.options, search)
        presolved["better_outside_box"] = outside
        return proven
    return bool(presolved.get("proven_without_box"))


def _build_cases(
    search: SearchState, cutoff_bounds: CutoffBounds | None
) -> tuple[list[SignCase], Stop | None]:
    """The sign cases' MILPs, loaded into HiGHS, with their first tangents.

    Built one case at a time, checking the time limit and Ctrl-C between cases (a wide
    network has many, each taking a while), with a progress line saying which case is
    being built. Returns the cases built and the reason to stop (None: all were built).
    A case not built proves nothing, so its bound stays 0 until it is.
    """
    problem, settings = search.problem, search.settings
    squared = problem.loss == "squared"
    total = problem.width + 1 if problem.arch == "two-layer" else 1
    for key in range(total):
        search.lower_bounds[key] = 0.0
    radius = None  # of the residual segments, when they are added
    if (
        squared
        and problem.arch == "two-layer"
        and problem.d >= settings.residual_segment_min_features
        and search.best_loss > 0
    ):
        # (1 + 1e-9): the incumbent's own residuals, |r_i| <= √loss, stay inside
        radius = math.sqrt(search.best_loss) * (1 + 1e-9) + 1e-12
    points = initial_tangent_points(problem) if squared else []
    cases: list[SignCase] = []
    stop = search.stop_reason()
    # Convexity cuts pay for absolute and hinge loss, not for squared loss.
    formulations = iter_formulations(
        problem, cutoff_bounds=cutoff_bounds, convexity_cuts=not squared
    )
    while stop is None and len(cases) < total:
        search.progress(lambda: _building_note(problem, len(cases), total))
        formulation = next(formulations)
        if radius is not None:
            formulation.add_residual_segments(radius, settings.residual_segment_steps)
        case = SignCase(len(cases), formulation, search)
        cases.append(case)
        search.case_of[case.key] = case
        search.shape_pruned += case.prune_by_shape()
        for point in points:
            case.add_tangents(point)
        stop = search.stop_reason()
    if stop is not None and len(cases) < total:
        what = "the time limit ran out" if stop is Stop.TIME_LIMIT else "interrupted"
        search.reason = (
            f"{what} while the MILPs were being built ({len(cases)} of {total} sign cases "
            "built, none solved), so the bound proves nothing yet; "
            + (
                "raise --time-limit, or choose a smaller --width (each unit adds a sign "
                "case and a binary per sample)"
                if stop is Stop.TIME_LIMIT
                else "run it again and let it finish"
            )
        )
    return cases, stop


def _building_note(problem: Problem, built: int, total: int) -> str:
    """The progress line's note while the MILPs are built."""
    if problem.arch == "one-node":
        return "(building the MILP)"
    positive = problem.width - built
    return (
        f"(building the MILPs: sign case {built + 1} of {total}, {positive} output weights "
        f"+1, {problem.width * problem.n} binaries at most)"
    )


def _open_cases_reason(search: SearchState, cases: list[SignCase], stop: Stop) -> str | None:
    """The certificate's reason for a two-layer solve stopped with sign cases still open."""
    if search.problem.arch != "two-layer" or not cases:
        return None
    open_cases = [c for c in cases if not c.closed]
    if not open_cases:
        return None
    what = "the time limit ran out" if stop is Stop.TIME_LIMIT else "stopped by Ctrl-C or SIGTERM"
    weakest = min(open_cases, key=lambda c: search.lower_bounds[c.key])
    listed = ", ".join(str(c.formulation.positive_units) for c in open_cases)
    advice = "raise --time-limit to go on" if stop is Stop.TIME_LIMIT else "run it again to go on"
    return (
        f"{what} with {len(open_cases)} of {len(cases)} sign cases open (by +1 output "
        f"weights: {listed}); the bound is the smallest case bound, here that of "
        f"{weakest.name()} (details.case_summary has each); {advice}"
    )


def _solve_cases(
    cases: list[SignCase], search: SearchState, stop: Stop | None
) -> tuple[Stop | None, int]:
    """Rounds until every case is closed or the search must stop; (reason, side by side)."""
    options, settings = search.options, search.settings
    # With several sign cases, a short first visit to each finds a good incumbent
    # early; its cutoff then prunes most of the other cases' trees.
    open_cases = [c for c in cases if not c.closed]
    if stop is None and len(open_cases) > 1:
        stop = visit(open_cases, search, settings.warmup_seconds)
    open_cases = [c for c in cases if not c.closed]
    workers = min(len(open_cases), options.threads or os.cpu_count() or 1)
    side_by_side = workers if stop is None and workers > 1 else 0
    if side_by_side:
        stop = solve_side_by_side(open_cases, search, workers)
    while stop is None and not search.closed() and any(not c.closed for c in cases):
        stop = visit([c for c in cases if not c.closed], search, np.inf)
    return stop, side_by_side


def _details(
    search: SearchState,
    cases: list[SignCase],
    presolved: dict[str, Any],
    build_seconds: float,
    side_by_side: int,
) -> dict[str, Any]:
    """What the solve did, for the certificate."""
    details: dict[str, Any] = {
        "cases": len(cases),
        "mip_solves": search.mip_solves,
        "nodes": search.nodes,
        "pruned_by_cutoff": search.pruned,
        "polished": search.polished,
        "binaries": int(sum(len(c.formulation.model.s) for c in cases)),
        "build_seconds": round(build_seconds, 3),
        "cases_pruned_by_shape": search.shape_pruned,
        "cases_side_by_side": side_by_side,
        "incumbents_handed_to_running_milps": sum(c.user_solutions for c in cases),
        "rounds_restarted_for_a_better_cutoff": sum(c.restarts for c in cases),
        # per output-sign case (one-node: one): which case holds a time-limited solve back
        "case_summary": [case.summary() for case in cases],
    }
    if search.problem.loss == "squared":
        segments = [c.formulation.segments for c in cases if c.formulation.segments]
        details["tangent_cuts"] = search.tangents
        details["residual_segments"] = 2 * segments[0][1] if segments else 0
        details["underestimated_solutions"] = search.spurious
    if presolved:
        details["presolve"] = presolved
        details["better_outside_box"] = bool(presolved.get("better_outside_box"))
    return details
