"""Run a benchmark suite: resumable, checked against reference optima, in parallel or on Dask.

Results go to a JSON-lines file, one row per run, written (flushed and fsynced) the
moment the run finishes. A rerun reads the file first and skips every run whose
:attr:`~exactrelu.bench.suite.Task.key` is already there, so a sweep that is killed and
restarted ends with every row exactly once: a row is either completely on disk (a
whole line) or not at all (a torn last line from a kill is cut off before appending).
Only the coordinating process writes, so worker processes and Dask workers never
race on the file; a lock keeps two coordinators off the same file.

Every row is checked against the instance's reference (its JSON sidecar):

* certified instances (``optimum``): no method may return a loss below the optimum or
  prove a bound above it, and an exact method that says ``optimal`` must reach it;
* open instances (``best_known`` and ``bound``): no loss below the proven bound.

A violation is a **mismatch**: printed at once on stderr, listed in the summary, and
the exit code is 1. Runs that crash are status ``error`` (also exit code 1); peers
that cannot run here (package missing, licence too small) are status ``skipped``
with the reason, shown in the summary.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from exactrelu.bench import executors
from exactrelu.bench.report import Progress, Report
from exactrelu.bench.store import locked_append, read_results
from exactrelu.bench.suite import Suite
from exactrelu.errors import InvalidInputError
from exactrelu.files import check_output_path


def run_suite(
    suite: Suite,
    out: str | Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = True,
    stream=None,
) -> Report:
    """Run every task of ``suite`` not yet in ``out``; write rows as they finish.

    Parameters
    ----------
    suite : Suite
    out : path
        JSON-lines results file (created, or resumed when it exists).
    workers : int, default 1
        Local worker processes (1: run in this process).
    scheduler : str, optional
        Address of a Dask distributed scheduler (``tcp://host:port``); overrides
        ``workers``. Each solve uses the suite's ``threads`` on its worker.
    progress : bool, default True
        Progress bar and mismatch messages on ``stream`` (default stderr).
    """
    if workers < 1:
        raise InvalidInputError(f"--workers must be >= 1, got {workers}")
    stream = stream or sys.stderr
    out = check_output_path(out)  # before any run: results are appended as they finish
    tasks = suite.tasks()
    wanted = {task.key for task in tasks}
    done = {row["key"] for row in read_results(out, repair=True)} & wanted
    todo = [task for task in tasks if task.key not in done]
    bar = Progress(len(tasks), len(done), progress, stream)
    if progress and done:
        print(f"resuming {out}: {len(done)} of {len(tasks)} runs already done", file=stream)
    ran = 0
    with locked_append(out) as append:
        if scheduler:
            results: Iterable[dict[str, Any]] = executors.dask(todo, scheduler)
        elif workers > 1 and len(todo) > 1:
            results = executors.processes(todo, workers)
        else:
            results = executors.serial(todo)
        for row in results:
            append(row)
            ran += 1
            bar.update(row)
            if row["check"] == "mismatch":
                print(
                    f"MISMATCH {row['instance']} {row['method']}: {row['note']}",
                    file=stream,
                    flush=True,
                )
    rows = [r for r in read_results(out) if r["key"] in wanted]
    order = {task.key: i for i, task in enumerate(tasks)}
    rows.sort(key=lambda r: order[r["key"]])
    return Report(
        rows=rows,
        ran=ran,
        skipped_done=len(done),
        out=out,
        mismatches=[r for r in rows if r.get("check") == "mismatch"],
        errors=[r for r in rows if r.get("status") == "error"],
    )
