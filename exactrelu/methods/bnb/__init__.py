"""Exact branch and bound over activation patterns, for squared loss.

* one-node networks: :mod:`.one_node` (least-squares node bounds in closed form);
* two-layer networks: :mod:`.two_layer` (Lagrangian node bounds of the big-M relaxation,
  per-node work compiled with numba in :mod:`.kernels`).
"""

from __future__ import annotations

import functools
import sys
from types import SimpleNamespace

from exactrelu.certificate import Certificate
from exactrelu.methods.search import trap_interrupts
from exactrelu.options import SolveOptions
from exactrelu.problem import Problem


def prepare(problem: Problem, options: SolveOptions) -> None:
    """Before the clock starts: compile or load the two-layer kernels (numba).

    Compiling cannot be stopped half-way (numba would carry on without the interrupt), so
    Ctrl-C or SIGTERM while it runs is held until it ends and then raised as
    :class:`KeyboardInterrupt`: no solve has started, so there is nothing to return.
    """
    if problem.arch != "two-layer":
        return
    from exactrelu.methods.bnb.two_layer import load_kernels

    say = None
    if options.progress is not None:
        say = functools.partial(print, file=sys.stderr, flush=True)
    stop = SimpleNamespace(interrupted=False)
    with trap_interrupts(stop):
        load_kernels(say)
    if stop.interrupted:
        raise KeyboardInterrupt


def solve_branch_and_bound(problem: Problem, options: SolveOptions) -> Certificate:
    """Certify the optimum of a squared-loss problem (a fixed box) by branch and bound:
    :func:`.one_node.solve_one_node` or :func:`.two_layer.solve_two_layer`, whose
    docstrings list the options that apply; ``method = "bnb"`` in the certificate."""
    if problem.arch == "one-node":
        from exactrelu.methods.bnb.one_node import solve_one_node

        return solve_one_node(problem, options)
    # imported here: it loads numba, which the rest of exactrelu does not need
    from exactrelu.methods.bnb.two_layer import solve_two_layer

    return solve_two_layer(problem, options)
