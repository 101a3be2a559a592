"""Every method the benchmark harness can run: exactrelu's own and the peer solvers.

exactrelu's methods (``mip``, ``enumerate``, ``approx``, ``gd``) come from
:func:`exactrelu.solve.available_methods`; the peers are registered here:

* ``scip``: SCIP on the plain big-M model (MIQP for squared loss), extra ``scip``;
* ``gurobi``: Gurobi on the same model, extra ``gurobi`` (its size-limited licence
  refuses large models: those runs are skipped with a note);
* ``highs-naive``: HiGHS on the plain big-M model without any of exactrelu's
  tightening (no extra needed: the naive baseline).

A peer whose package is missing is not an error for a benchmark: :func:`run_method`
raises :class:`Skipped` with the reason, and the runner records a visible skip.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from exactrelu.certificate import Certificate
from exactrelu.data import Problem
from exactrelu.errors import ExactReLUError, MissingDependencyError
from exactrelu.options import SolveOptions

PEERS = ("scip", "gurobi", "highs-naive")
EXACT_METHODS = ("mip", "bnb", "enumerate", "scip", "gurobi", "highs-naive")
# The package whose version a result row records for each peer.
PEER_PACKAGES = {"scip": "pyscipopt", "gurobi": "gurobipy", "highs-naive": "highspy"}


class Skipped(ExactReLUError):
    """A run that cannot happen here (missing package, licence limit); not a failure."""


def method_names() -> list[str]:
    """Names a suite may use: exactrelu's methods, then the peers."""
    from exactrelu.solve import available_methods

    return [*available_methods(), *PEERS]


def _peer(name: str) -> Callable[[Problem, SolveOptions], Certificate]:
    if name == "scip":
        from exactrelu.peers.scip import solve_scip

        return solve_scip
    if name == "gurobi":
        from exactrelu.peers.gurobi import solve_gurobi

        return solve_gurobi
    from exactrelu.peers.highs_naive import solve_highs_naive

    return solve_highs_naive


def run_method(
    name: str,
    problem: Problem,
    *,
    time_limit: float | None,
    threads: int | None,
    seed: int,
    gap: float | None = None,
    options: dict[str, Any] | None = None,
) -> Certificate:
    """Run method ``name`` on ``problem`` and return its certificate.

    Raises
    ------
    Skipped
        The method's optional package is not installed, or (Gurobi) its licence
        refuses the model's size.
    """
    options = dict(options or {})
    if name not in PEERS:
        from exactrelu.solve import solve

        kwargs: dict[str, Any] = {"time_limit": time_limit, "threads": threads, "seed": seed}
        if gap is not None:
            kwargs["gap"] = gap
        return solve(problem, method=name, **kwargs, **options)
    solve_options = SolveOptions(
        time_limit=time_limit,
        threads=threads,
        seed=seed,
        **({"rel_gap": gap} if gap is not None else {}),
    )
    try:
        function = _peer(name)
        return function(problem, solve_options, **options)
    except MissingDependencyError as exc:
        raise Skipped(f"{name}: {exc}") from None
    except ExactReLUError as exc:
        from exactrelu.peers.gurobi import GurobiSizeLimitError

        if isinstance(exc, GurobiSizeLimitError):
            raise Skipped(f"{name}: {exc}") from None
        raise


def versions() -> dict[str, str]:
    """Versions of Python, exactrelu and every solver package that is installed."""
    import platform
    from importlib import metadata

    out = {"python": platform.python_version()}
    for package in ("exactrelu", "highspy", "pyomo", "pyscipopt", "gurobipy"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return out
