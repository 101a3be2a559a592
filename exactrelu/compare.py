"""Run every training method on one instance and tabulate the results (``exactrelu compare``).

Each method gets the same :class:`~exactrelu.options.SolveOptions` (so the time
limit applies to each method separately). A method that does not apply to the
problem (``approx`` on a two-layer network, ``enumerate`` past its size limit) is
listed with status ``skipped`` and the reason; one whose optional dependency is
missing with status ``unavailable``.

Columns: ``method``, ``status``, ``loss`` (recomputed from the weights), ``bound``
(the proven lower bound, exact methods only), ``gap_to_best_bound``
(``(loss - B*) / max(|loss|, 1e-9)`` where ``B*`` is the largest proven bound of
any method: how far each network is from the best *proven* optimum, 0 for a
certified optimum), ``seconds`` and ``dead_units`` (hidden units active on no
sample).
"""

from __future__ import annotations

from typing import Any

from exactrelu.errors import ExactReLUError, InvalidInputError, MissingDependencyError
from exactrelu.methods import METHODS, run_method
from exactrelu.options import SolveOptions
from exactrelu.problem import Problem
from exactrelu.table import text_table

DEFAULT_METHODS = ("mip", "enumerate", "approx", "gd")
COLUMNS = ("method", "status", "loss", "bound", "gap_to_best_bound", "seconds", "dead_units")


def compare(
    problem: Problem,
    options: SolveOptions,
    methods: list[str] | tuple[str, ...] | None = None,
    method_options: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Run ``methods`` (default: mip, enumerate, approx, gd) on ``problem``.

    Parameters
    ----------
    problem : Problem
    options : SolveOptions
        Shared by every method.
    methods : sequence of str, optional
        Names of :data:`exactrelu.methods.METHODS`.
    method_options : dict, optional
        Per-method keyword options, e.g. ``{"approx": {"k": 2}}``.

    Returns
    -------
    list of dict
        One row per method with the keys of :data:`COLUMNS` (``bound`` and
        ``gap_to_best_bound`` may be None) plus ``note`` (why a method was skipped, or
        why an exact method stopped short).
    """
    methods = list(DEFAULT_METHODS if methods is None else methods)
    method_options = method_options or {}
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise InvalidInputError(
            f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}"
        )
    rows: list[dict[str, Any]] = []
    for name in methods:
        row: dict[str, Any] = dict.fromkeys(COLUMNS)
        row.update(method=name, note="")
        try:
            cert = run_method(name, problem, options, **method_options.get(name, {}))
        except InvalidInputError as exc:
            row.update(status="skipped", note=str(exc))
        except MissingDependencyError as exc:
            row.update(status="unavailable", note=str(exc))
        except ExactReLUError as exc:
            row.update(status="error", note=str(exc))
        else:
            row.update(
                status=cert.status,
                loss=cert.objective,
                bound=cert.bound,
                seconds=cert.seconds,
                dead_units=len(cert.network.dead_units(problem.X)),
            )
            if cert.status not in ("optimal", "feasible"):
                # an exact method that stopped short says why (heuristics are known to
                # prove nothing: the table would repeat it for every one)
                row["note"] = cert.reason or ""
        rows.append(row)
    bounds = [r["bound"] for r in rows if r["bound"] is not None]
    best_bound = max(bounds) if bounds else None
    for r in rows:
        if best_bound is not None and r["loss"] is not None:
            r["gap_to_best_bound"] = (r["loss"] - best_bound) / max(abs(r["loss"]), 1e-9)
    return rows


def _cell(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "loss":
        return f"{value:.10g}"
    if kind == "gap":
        return f"{value:.2e}"
    if kind == "seconds":
        return f"{value:.2f}"
    return str(value)


def format_table(rows: list[dict[str, Any]]) -> str:
    """Plain-text table of :func:`compare` rows, one line per method, notes underneath."""
    header = ("method", "status", "loss", "bound", "gap to best bound", "time (s)", "dead units")
    kinds = ("str", "str", "loss", "loss", "gap", "seconds", "str")
    body = [
        [_cell(r.get(col), kind) for col, kind in zip(COLUMNS, kinds, strict=True)] for r in rows
    ]
    lines = [text_table(header, body, right={2, 3, 4, 5, 6})]
    notes = [f"{r['method']}: {r['note']}" for r in rows if r.get("note")]
    if notes:
        lines.append("")
        lines += notes
    return "\n".join(lines)
