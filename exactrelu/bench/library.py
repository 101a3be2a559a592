"""The instance library: reference optima cross-checked by independent methods, and its index.

A reference is computed by running several exact methods on the same problem:
exactrelu's ``mip``; ``enumerate`` (an independent exact algorithm: one-node, or
two-layer when tiny); and the peers ``scip`` / ``gurobi`` on the plain big-M model
(independent code and solvers) when installed. Methods that finish with status
``optimal`` *agree* when their losses are within :func:`~exactrelu.bench.runner.tolerance`
of each other. The sidecar then records:

* ``status``: ``certified`` (two or more methods proved the same optimum),
  ``certified-single`` (one method proved it; the others did not finish) or
  ``open`` (nobody closed the gap: ``best_known`` and the best proven ``bound``);
* ``optimum`` and ``bound`` (certified) or ``best_known`` and ``bound`` (open);
* ``agreed``: the methods whose optimal certificates agree; ``solved_by``: every run,
  with its status, time and solver version.

Methods that disagree raise :class:`ReferenceDisagreement`: a library must not ship a
wrong optimum.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from exactrelu.bench.executors import Skipped, run_method, versions
from exactrelu.errors import ExactReLUError
from exactrelu.methods import default_method
from exactrelu.problem import Problem

INDEX_COLUMNS = (
    "name",
    "file",
    "family",
    "source",
    "n",
    "d",
    "arch",
    "width",
    "loss",
    "B",
    "noise",
    "seed",
    "tier",
    "status",
    "optimum",
    "bound",
    "agreed",
    "solved_by",
    "licence",
)
TIERS = ("trivial", "easy", "medium", "frontier")


class ReferenceDisagreement(ExactReLUError):
    """Two exact methods proved different optima for the same problem (a bug somewhere)."""


def reference_methods(problem: Problem) -> list[str]:
    """The exact methods worth running on ``problem`` to cross-check its optimum."""
    methods = ["mip"]
    if problem.arch == "two-layer" and default_method(problem) == "bnb":
        methods.append("bnb")  # its own tree and bounds: independent of the MIP
    if problem.arch == "one-node" and problem.d <= 3:
        methods.append("enumerate")  # O(n^d) chambers: fine for d <= 3 at library sizes
    elif problem.arch == "two-layer" and problem.n <= 10:
        methods.append("enumerate")
    # the plain big-M peers: independent code; Gurobi's free licence caps the size
    methods.append("gurobi")
    # SCIP 10 (pyscipopt 6.3) aborts the whole process ("free(): invalid size", inside
    # optimize) on planted-one-node-n1000-d10; keep it to models it has been seen to run.
    if problem.n * problem.d * problem.width <= SCIP_MAX_SIZE:
        methods.append("scip")
    return methods


SCIP_MAX_SIZE = 2000  # n·d·width


def compute_reference(
    problem: Problem,
    *,
    methods: list[str] | None = None,
    time_limit: float = 60.0,
    threads: int | None = 1,
    log=print,
) -> dict[str, Any]:
    """Solve ``problem`` with several exact methods and return the sidecar's reference keys."""
    from exactrelu.bench.checks import tolerance

    runs = []
    for method in methods or reference_methods(problem):
        try:
            cert = run_method(method, problem, time_limit=time_limit, threads=threads, seed=0)
        except Skipped as exc:
            log(f"  {method}: skipped ({exc})")
            continue
        log(
            f"  {method}: {cert.status} loss {cert.objective:.10g} bound {cert.bound} "
            f"({cert.seconds:.1f} s)"
        )
        runs.append((method, cert))
    vers = versions()
    solver = {"mip": "highspy", "enumerate": "highspy", "scip": "pyscipopt", "gurobi": "gurobipy"}
    solved_by = [
        f"{m} ({c.status}, {c.seconds:.1f} s, exactrelu {vers.get('exactrelu')}, "
        f"{solver.get(m, 'highspy')} {vers.get(solver.get(m, 'highspy'), '?')})"
        for m, c in runs
    ]
    optimal = [(m, c) for m, c in runs if c.status == "optimal"]
    best = min((c.objective for _, c in runs), default=None)
    bound = max((c.bound for _, c in runs if c.bound is not None), default=None)
    if optimal:
        opt = min(c.objective for _, c in optimal)
        agreed = [m for m, c in optimal if abs(c.objective - opt) <= tolerance(opt)]
        wrong = [m for m, c in optimal if m not in agreed]
        if (
            wrong
            or (bound is not None and bound > opt + tolerance(opt))
            or best < opt - tolerance(opt)
        ):
            raise ReferenceDisagreement(
                "exact methods disagree: "
                + "; ".join(f"{m}: {c.status} {c.objective!r} bound {c.bound!r}" for m, c in runs)
            )
        return {
            "status": "certified" if len(agreed) >= 2 else "certified-single",
            "optimum": opt,
            "bound": bound,
            "agreed": agreed,
            "solved_by": solved_by,
        }
    return {
        "status": "open",
        "best_known": best,
        "bound": bound,
        "agreed": [],
        "solved_by": solved_by,
    }


def index_row(path: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """One row of the index for the instance at ``path`` with sidecar ``meta``."""
    from exactrelu.instances import load_instance

    instance = load_instance(path)
    gen = meta.get("generator", {})
    status = meta.get("status") or ("certified-single" if "optimum" in meta else "open")
    return {
        "name": path.stem,
        "file": path.name,
        "family": gen.get("family", meta.get("family", "")),
        "source": meta.get("source", "synthetic (exactrelu.generate)"),
        "n": instance.X.shape[0],
        "d": instance.X.shape[1],
        "arch": meta.get("arch", "one-node"),
        "width": meta.get("width", 1 if meta.get("arch", "one-node") == "one-node" else 2),
        "loss": meta.get("loss", "squared"),
        "B": meta.get("B", 2.0),
        "noise": gen.get("noise", ""),
        "seed": gen.get("seed", ""),
        "tier": meta.get("tier", ""),
        "status": status,
        "optimum": meta.get("optimum", meta.get("best_known", "")),
        "bound": meta.get("bound", ""),
        "agreed": ";".join(meta.get("agreed", [])),
        "solved_by": ";".join(meta.get("solved_by", [])),
        "licence": meta.get("licence", "BSD-3-Clause (generated by exactrelu)"),
    }


def write_index(directory: str | Path) -> Path:
    """Write ``index.csv`` for every instance with a sidecar in ``directory``."""
    directory = Path(directory)
    rows = []
    for sidecar in sorted(directory.glob("*.json")):
        meta = json.loads(sidecar.read_text())
        data = [p for p in (sidecar.with_suffix(".npz"), sidecar.with_suffix(".csv")) if p.exists()]
        if data:
            rows.append(index_row(data[0], meta))
    order = {tier: i for i, tier in enumerate(TIERS)}
    rows.sort(key=lambda r: (order.get(r["tier"], len(TIERS)), r["n"] * r["d"], r["name"]))
    out = directory / "index.csv"
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=INDEX_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return out


def read_index(directory: str | Path) -> list[dict[str, str]]:
    """Rows of ``index.csv`` as dictionaries of strings."""
    with (Path(directory) / "index.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))
