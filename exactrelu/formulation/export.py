"""Write the training MIP as LP or MPS files, so that it can be taken to other solvers.

Two-layer networks need one model per output-sign case (``width + 1`` of them), so one
file per case is written, ``NAME.p{k}.lp`` with ``k`` the number of +1 output weights;
the optimum of the class is the smallest optimum over the files. Squared loss is
written as the exact MIQP (quadratic objective; Pyomo's LP writer and the MPS
``QUADOBJ`` section carry it) by default; ``squared="tangents"`` writes a MILP
relaxation with tangent cuts at the initial residuals instead (a lower bound only) for
solvers without MIQP.
"""

from __future__ import annotations

import logging
from pathlib import Path

from exactrelu.errors import InvalidInputError
from exactrelu.files import check_output_path, replaced_atomically
from exactrelu.formulation.loss import initial_tangent_points
from exactrelu.formulation.model import build_formulations
from exactrelu.problem import Problem

FORMATS = ("lp", "mps")
SQUARED_EXPORT = ("quadratic", "tangents")


def export_mip(
    problem: Problem, path: str | Path, *, format: str = "lp", squared: str = "quadratic"
) -> list[Path]:
    """Write the training MIP of ``problem`` for other solvers.

    Parameters
    ----------
    problem : Problem
    path : str or Path
        Output name; a suffix ``.lp``/``.mps`` is dropped. One-node: ``NAME.FORMAT``;
        two-layer: ``NAME.p{k}.FORMAT`` for ``k = width, ..., 0`` positive output weights.
    format : {"lp", "mps"}, default "lp"
    squared : {"quadratic", "tangents"}, default "quadratic"
        Squared loss only: the exact MIQP, or a MILP relaxation with tangent cuts at the
        initial residuals (its optimum is a lower bound).

    Returns
    -------
    list of Path
        The files written.
    """
    if format not in FORMATS:
        raise InvalidInputError(f"format must be one of {', '.join(FORMATS)}; got {format!r}")
    if squared not in SQUARED_EXPORT:
        raise InvalidInputError(
            f"squared must be one of {', '.join(SQUARED_EXPORT)}; got {squared!r}"
        )
    path = Path(path)
    if path.suffix.lower() in (".lp", ".mps"):
        path = path.with_suffix("")
    tags = [""] if problem.arch == "one-node" else [f".p{k}" for k in range(problem.width, -1, -1)]
    # every target is checked before the models are built (which may take long)
    targets = {tag: check_output_path(path.parent / f"{path.name}{tag}.{format}") for tag in tags}
    formulations = build_formulations(problem, squared=squared)
    if problem.loss == "squared" and squared == "tangents":
        for formulation in formulations:
            for point in initial_tangent_points(problem):
                formulation.add_tangents(point)
    written = []
    pyomo_log = logging.getLogger("pyomo.core")
    level = pyomo_log.level
    pyomo_log.setLevel(logging.ERROR)  # Pyomo warns about names like NAME.p2.lp
    try:
        for formulation in formulations:
            tag = "" if problem.arch == "one-node" else f".p{formulation.positive_units}"
            target = targets[tag]
            with replaced_atomically(target) as temporary:
                formulation.model.write(
                    str(temporary), format=format, io_options={"symbolic_solver_labels": True}
                )
            written.append(target)
    finally:
        pyomo_log.setLevel(level)
    return written
