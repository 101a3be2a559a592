"""A landscape study: :func:`exactrelu.landscape` over a grid of instances and widths.

One task is one instance and one certified width ``H``: the optimum is certified once,
then a landscape is run for each trained width (``H`` and, to measure
over-parameterisation, wider), all against that certificate. Its result is one row of a
JSON-lines results file, written (flushed and fsynced) the moment the task finishes by
the store of ``exactrelu bench`` (:mod:`exactrelu.bench.store`): a study that is killed
and restarted skips every finished task and ends with every row exactly once. Tasks run
in this process, in worker processes (``workers``) or on a Dask cluster (``scheduler``),
through the executors of the harness (:mod:`exactrelu.bench.executors`).

``benchmarks/studies/landscape/`` holds a study, its grid and its results.
"""

from __future__ import annotations

import os
import socket
import statistics
import sys
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exactrelu.bench import executors
from exactrelu.bench.store import locked_append, read_results
from exactrelu.bench.suite import InstanceTask
from exactrelu.errors import InvalidInputError


@dataclass(frozen=True)
class LandscapeTask(InstanceTask):
    """One instance and one certified width, trained at each of ``train_widths``.

    Attributes
    ----------
    instance : str
        Instance file (its sidecar gives the box and the loss; the class is two-layer
        of width ``width``).
    family : str
        A label for tables and figures (``planted``, ``diabetes``, ...).
    width : int
        Width ``H`` of the certified class.
    train_widths : tuple of int
        Widths ``H' >= H`` to train (one landscape each).
    restarts, epochs, trainer, seed
        As for :func:`exactrelu.landscape`.
    time_limit : float or None
        Seconds for the certification.
    threads : int or None
        HiGHS threads of the certification.
    """

    family: str
    width: int
    train_widths: tuple[int, ...]
    restarts: int
    time_limit: float | None
    threads: int | None = None
    seed: int = 0
    epochs: int | None = None  # the trainer's default
    trainer: str = "numpy"

    def settings(self) -> list[str]:
        return [
            f"w={self.width}",
            "train=" + ",".join(map(str, self.train_widths)),
            f"restarts={self.restarts}",
            f"t={self.time_limit}",
            f"threads={self.threads}",
            f"seed={self.seed}",
            f"epochs={self.epochs}",
            self.trainer,
        ]


def run_landscape_task(task: LandscapeTask) -> dict[str, Any]:
    """Certify once, run a landscape per trained width; the task's row (never raises).

    A module-level function so that worker processes and Dask workers can run it. A
    crash becomes a row with status ``error`` (and the traceback); Ctrl-C or SIGTERM
    stops the task (nothing is written for it).
    """
    from exactrelu.bench.executors import versions
    from exactrelu.instances import load_instance
    from exactrelu.landscapes import landscape

    row: dict[str, Any] = {
        "key": task.key,
        "instance": task.name,
        "family": task.family,
        "width": task.width,
        "train_widths": list(task.train_widths),
        "restarts": task.restarts,
        "time_limit": task.time_limit,
        "seed": task.seed,
    }
    start = time.perf_counter()
    try:
        problem = load_instance(task.instance).problem(arch="two-layer", width=task.width)
        row.update(n=problem.n, d=problem.d, loss=problem.loss, B=problem.weight_bound)
        certificate = None
        landscapes = []
        for train_width in task.train_widths:
            report = landscape(
                problem,
                restarts=task.restarts,
                trainer=task.trainer,
                train_width=train_width,
                epochs=task.epochs,
                certificate=certificate,
                time_limit=task.time_limit,
                threads=task.threads,
                seed=task.seed,
            )
            certificate = report.certificate  # certified once, for every width
            report.settings["family"] = task.family
            landscapes.append(report.to_dict(include_weights=False))
        cert = certificate
        row.update(
            status=str(cert.status),
            objective=cert.objective,
            bound=cert.bound,
            certificate_gap=cert.gap,
            certificate_seconds=round(cert.seconds, 3),
            landscapes=landscapes,
        )
    except Exception as exc:  # one task's crash must not end the study
        row.update(
            status="error",
            note=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(limit=8),
        )
    row.update(
        seconds=round(time.perf_counter() - start, 3),
        versions=versions(),
        host=socket.gethostname(),
        cpus=os.cpu_count(),
        finished=time.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    return row


def run_study(
    tasks: list[LandscapeTask],
    out: str | Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = True,
    stream: Any = None,
) -> list[dict[str, Any]]:
    """Run every task not yet in ``out``; write each row as it finishes; all rows, in task order.

    Parameters
    ----------
    tasks : list of LandscapeTask
    out : path
        JSON-lines results file (created, or resumed when it exists).
    workers : int, default 1
        Local worker processes (1: in this process).
    scheduler : str, optional
        Address of a Dask distributed scheduler; overrides ``workers``.
    progress : bool, default True
        A line per finished task on ``stream`` (default stderr).
    """
    if workers < 1:
        raise InvalidInputError(f"--workers must be >= 1, got {workers}")
    keys = [task.key for task in tasks]
    if len(set(keys)) != len(keys):
        raise InvalidInputError("the study lists a task twice")
    stream = stream or sys.stderr
    out = Path(out)
    done = {row["key"] for row in read_results(out, repair=True)} & set(keys)
    todo = [task for task in tasks if task.key not in done]
    if progress and done:
        print(f"resuming {out}: {len(done)} of {len(tasks)} landscapes done", file=stream)
    with locked_append(out) as append:
        if scheduler:
            results: Iterable[dict[str, Any]] = executors.dask(todo, scheduler, run_landscape_task)
        elif workers > 1 and len(todo) > 1:
            results = executors.processes(todo, workers, run_landscape_task)
        else:
            results = executors.serial(todo, run_landscape_task)
        for count, row in enumerate(results, start=len(done) + 1):
            append(row)
            if progress:
                print(
                    f"[{count}/{len(tasks)}] {row['instance']} width {row['width']}: "
                    f"{row['status']} in {row['seconds']:.0f} s",
                    file=stream,
                    flush=True,
                )
    order = {key: i for i, key in enumerate(keys)}
    rows = [row for row in read_results(out) if row["key"] in order]
    return sorted(rows, key=lambda row: order[row["key"]])


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f} %"


def _gap(value: float | None) -> str:
    if value is None:
        return "n/a"
    percent = 100 * value
    return f"{percent:.0f} %" if abs(percent) >= 100 else f"{percent:.2g} %"


def study_table(rows: list[dict[str, Any]]) -> str:
    """The study as a Markdown table, one line per instance and certified width.

    Columns: the data; the certificate (status, and its gap when it did not close); for
    the certified width ``H``: the share of runs within 1 % and 10 % of the optimum
    (against the best loss known when the certificate did not close, with the share
    proven against the bound after a slash), on the optimum's activation pattern, with
    a dead unit, the median gap; for the wider runs: the share at least as good as the
    best width-``H`` network and within 1 % of it.
    """
    from exactrelu.landscapes import LandscapeReport

    header = (
        "| data | n | d | H | certificate | optimum or best loss | within 1 % | within 10 % "
        "| pattern | dead unit | median gap | H' | H' reaches | H' within 1 % |"
    )
    lines = [header, "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        if row.get("status") == "error" or not row.get("landscapes"):
            lines.append(
                f"| {row['instance']} | | | {row['width']} | error: {row.get('note', '')} "
                "| | | | | | | | | |"
            )
            continue
        reports = [
            LandscapeReport.from_rows([item["settings"], item["certificate"], *item["runs"]])
            for item in row["landscapes"]
        ]
        own = next(r for r in reports if not r.wider)
        wide = [r for r in reports if r.wider]
        s = own.summary_dict()
        cert = own.certificate
        if own.certified:
            status = f"optimal, {cert.seconds:.0f} s"
        else:
            status = f"{cert.status}, gap {_gap(cert.gap)}"

        def both(key: str, summary: dict[str, Any], certified: bool) -> str:
            text = _share(summary[key])
            if not certified:
                text += f" / {_share(summary[key + '_proven'])}"
            return text

        cells = [
            row["instance"],
            str(row["n"]),
            str(row["d"]),
            str(row["width"]),
            status,
            f"{own.best_loss:.4g}",
            both("within_1pct", s, own.certified),
            both("within_10pct", s, own.certified),
            _share(s["pattern_match"]),
            _share(s["dead_unit_runs"]),
            _gap(s["median_gap"]),
        ]
        if wide:
            w = wide[0].summary_dict()
            cells += [
                str(wide[0].settings["train_width"]),
                both("reached", w, wide[0].certified),
                both("within_1pct", w, wide[0].certified),
            ]
        else:
            cells += ["", "", ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def study_overview(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Headline numbers: mean shares by certified width and by family, certificates closed."""
    from exactrelu.landscapes import LandscapeReport

    by: dict[tuple[str, Any], list[float]] = {}
    closed = 0
    for row in rows:
        for item in row.get("landscapes") or []:
            report = LandscapeReport.from_rows(
                [item["settings"], item["certificate"], *item["runs"]]
            )
            share = report.summary_dict()["within_1pct"]
            kind = "wider" if report.wider else "same"
            by.setdefault((kind, f"width {report.settings['width']}"), []).append(share)
            by.setdefault((kind, row["family"]), []).append(share)
            by.setdefault((kind, f"n = {row['n']}"), []).append(share)
            by.setdefault((kind, f"d = {row['d']}"), []).append(share)
            by.setdefault((kind, "all"), []).append(share)
        closed += row.get("status") == "optimal"
    return {
        "landscapes": len(rows),
        "certified": closed,
        "mean_within_1pct": {
            f"{kind}: {group}": round(statistics.mean(values), 3)
            for (kind, group), values in sorted(by.items())
        },
    }
