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

import contextlib
import json
import math
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exactrelu.bench.peers import EXACT_METHODS, Skipped, run_method, versions
from exactrelu.bench.suite import Suite, Task
from exactrelu.errors import InvalidInputError
from exactrelu.table import text_table

# Two certificates, each within the default relative gap 1e-6 of the optimum, may differ
# by 2e-6 relative; the absolute part absorbs float64 noise near a zero optimum.
REL_TOL = 2e-6
ABS_TOL = 1e-8
FAILED = ("mismatch", "error")
DASK_CONNECT_TIMEOUT = "10s"  # how long to wait for a --scheduler before giving up


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
    exact = row["method"].split(":")[0] in EXACT_METHODS
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


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def run_task(task: Task) -> dict[str, Any]:
    """Run one task and return its result row (never raises: failures become rows).

    A top-level function so that worker processes and Dask workers can run it.
    """
    from exactrelu.data import load_instance

    row: dict[str, Any] = {
        "key": task.key,
        "instance": task.name,
        "method": task.method.label,
        "time_limit": task.time_limit,
        "threads": task.threads,
        "seed": task.seed,
        "gap_setting": task.gap,
    }
    start = time.perf_counter()
    meta: dict[str, Any] = {}
    try:
        instance = load_instance(task.instance)
        meta = instance.meta
        problem = instance.problem()
        row.update(
            n=problem.n,
            d=problem.d,
            arch=problem.arch,
            width=problem.width,
            loss_function=problem.loss,
            B=problem.weight_bound,
        )
        cert = run_method(
            task.method.name,
            problem,
            time_limit=task.time_limit,
            threads=task.threads,
            seed=task.seed,
            gap=task.gap,
            options=dict(task.method.options),
        )
        row.update(
            status=cert.status,
            loss=_finite(cert.objective),
            bound=_finite(cert.bound),
            gap=_finite(cert.gap),
            seconds=round(cert.seconds, 4),
            nodes=cert.details.get("nodes"),
            weights=cert.weights,
            note="box active" if cert.box_active else "",
        )
        if cert.status == "error":
            row["note"] = f"the solver reported an error ({cert.details})"

    except Skipped as exc:
        row.update(
            status="skipped",
            loss=None,
            bound=None,
            gap=None,
            nodes=None,
            seconds=round(time.perf_counter() - start, 4),
            note=str(exc),
        )
    except Exception as exc:  # a crash of one run must not end the sweep
        row.update(
            status="error",
            loss=None,
            bound=None,
            gap=None,
            nodes=None,
            seconds=round(time.perf_counter() - start, 4),
            note=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(limit=8),
        )
    reference = meta.get("optimum", meta.get("best_known"))
    row["reference"] = _finite(reference)
    row["check"], why = check_result(row, meta)
    if why:
        row["note"] = (row.get("note", "") + "; " + why).strip("; ")
    row["versions"] = versions()
    row["host"] = socket.gethostname()
    row["cpus"] = os.cpu_count()
    row["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    return row


# ----------------------------------------------------------------------------------------
# the results file
# ----------------------------------------------------------------------------------------


def read_results(path: Path, *, repair: bool = False) -> list[dict[str, Any]]:
    """Rows of a results file, first occurrence of each key only.

    A last line without its newline (the process was killed while writing it) is not
    a result; with ``repair=True`` it is cut off the file so that appending continues
    on a clean line.
    """
    if not path.exists():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if repair and end < len(data):
        with path.open("r+b") as handle:
            handle.truncate(end)
    rows, seen = [], set()
    for lineno, line in enumerate(data[:end].splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise InvalidInputError(f"{path}:{lineno}: not a JSON result row") from None
        if not isinstance(row, dict) or "key" not in row:
            raise InvalidInputError(f"{path}:{lineno}: a result row needs a 'key'")
        if row["key"] not in seen:
            seen.add(row["key"])
            rows.append(row)
    return rows


@contextlib.contextmanager
def _locked_append(path: Path) -> Iterator[Callable[[dict[str, Any]], None]]:
    """An append function for ``path`` that holds an exclusive lock while open."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InvalidInputError(f"{path}: another benchmark run is writing to it") from None

        def append(row: dict[str, Any]) -> None:
            # one write of one whole line, then fsync: a kill leaves whole rows only
            handle.write(json.dumps(row, allow_nan=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

        yield append


# ----------------------------------------------------------------------------------------
# executing tasks: in process, in worker processes, on Dask
# ----------------------------------------------------------------------------------------


def _serial(tasks: list[Task]) -> Iterator[dict[str, Any]]:
    for task in tasks:
        yield run_task(task)


def _processes(tasks: list[Task], workers: int) -> Iterator[dict[str, Any]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn, not fork: a forked child would inherit the parent's solver threads' state
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(run_task, task) for task in tasks]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()


def _dask(tasks: list[Task], scheduler: str) -> Iterator[dict[str, Any]]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        from exactrelu.errors import MissingDependencyError

        raise MissingDependencyError("distributed", "dask", "--scheduler (Dask sweeps)") from None
    try:
        client = Client(scheduler, timeout=DASK_CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise InvalidInputError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
    with client:
        # pure=False: two identical tasks are still two runs (timings differ)
        futures = client.map(run_task, tasks, pure=False)
        for future in as_completed(futures):
            yield future.result()


# ----------------------------------------------------------------------------------------
# the sweep
# ----------------------------------------------------------------------------------------


@dataclass
class Report:
    """What a sweep did: the suite's rows (old and new) and how many ran now."""

    rows: list[dict[str, Any]]
    ran: int
    skipped_done: int
    out: Path
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.mismatches or self.errors else 0


class _Progress:
    """A one-line progress bar on stderr (redrawn in place on a terminal)."""

    def __init__(self, total: int, done: int, enabled: bool, stream=None) -> None:
        self.total, self.done, self.enabled = total, done, enabled
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.start = time.perf_counter()

    def update(self, row: dict[str, Any]) -> None:
        self.done += 1
        if not self.enabled:
            return
        width = 24
        filled = int(width * self.done / max(self.total, 1))
        bar = "#" * filled + "-" * (width - filled)
        loss = "" if row.get("loss") is None else f" loss {row['loss']:.6g}"
        line = (
            f"[{bar}] {self.done}/{self.total} {time.perf_counter() - self.start:6.0f} s  "
            f"{row['instance']} {row['method']}: {row['status']}{loss} "
            f"({row.get('seconds', 0):.1f} s) {row.get('check', '')}"
        )
        if self.tty:
            self.stream.write("\r\033[K" + line)
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


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
    out = Path(out)
    tasks = suite.tasks()
    wanted = {task.key for task in tasks}
    done = {row["key"] for row in read_results(out, repair=True)} & wanted
    todo = [task for task in tasks if task.key not in done]
    bar = _Progress(len(tasks), len(done), progress, stream)
    if progress and done:
        print(f"resuming {out}: {len(done)} of {len(tasks)} runs already done", file=stream)
    ran = 0
    with _locked_append(out) as append:
        if scheduler:
            results: Iterable[dict[str, Any]] = _dask(todo, scheduler)
        elif workers > 1 and len(todo) > 1:
            results = _processes(todo, workers)
        else:
            results = _serial(todo)
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


# ----------------------------------------------------------------------------------------
# the summary
# ----------------------------------------------------------------------------------------


def _num(value: Any, spec: str = ".6g") -> str:
    return "-" if value is None else format(value, spec)


def summary(report: Report) -> str:
    """Results table, per-instance time ratios, skips, and the verdict."""
    rows = report.rows
    body = [
        [
            r["instance"],
            r["method"],
            _settings(r),
            r["status"],
            _num(r.get("loss"), ".8g"),
            _num(r.get("bound"), ".8g"),
            _num(r.get("gap"), ".1e"),
            _num(r.get("seconds"), ".2f"),
            _num(r.get("nodes"), "d"),
            r.get("check", ""),
        ]
        for r in rows
    ]
    parts = [
        text_table(
            [
                "instance",
                "method",
                "settings",
                "status",
                "loss",
                "bound",
                "gap",
                "seconds",
                "nodes",
                "check",
            ],
            body,
        )
    ]
    ratios = time_ratios(rows)
    if ratios:
        parts.append(
            "\nTime relative to exactrelu mip on the same instance and settings "
            "(> : the run hit its time limit, so the ratio is at least this):"
        )
        parts.append(text_table(["instance", "settings", "method", "seconds", "ratio"], ratios))
    skipped = [r for r in rows if r["status"] == "skipped"]
    if skipped:
        parts.append("\nSkipped:")
        parts += [f"  {r['instance']} {r['method']}: {r['note']}" for r in skipped]
    for r in report.errors:
        parts.append(f"ERROR {r['instance']} {r['method']}: {r['note']}")
    for r in report.mismatches:
        parts.append(f"MISMATCH {r['instance']} {r['method']}: {r['note']}")
    ok = sum(r.get("check") == "ok" for r in rows)
    parts.append(
        f"\n{len(rows)} runs ({report.ran} now, {report.skipped_done} from {report.out}): "
        f"{ok} agree with the reference, {len(report.mismatches)} mismatches, "
        f"{len(report.errors)} errors, {len(skipped)} skipped"
    )
    return "\n".join(parts)


def _settings(row: dict[str, Any]) -> str:
    parts = [f"t={_num(row.get('time_limit'), 'g')}"]
    if row.get("threads") is not None:
        parts.append(f"th={row['threads']}")
    parts.append(f"s={row.get('seed', 0)}")
    return ",".join(parts)


def time_ratios(rows: list[dict[str, Any]]) -> list[list[str]]:
    """Per instance and settings: each method's seconds divided by ``mip``'s."""
    base = {
        (r["instance"], _settings(r)): r
        for r in rows
        if r["method"] == "mip" and r["status"] == "optimal" and r.get("seconds")
    }
    out = []
    for r in rows:
        ref = base.get((r["instance"], _settings(r)))
        if ref is None or r["method"] == "mip" or r["status"] in ("skipped", "error"):
            continue
        ratio = r["seconds"] / max(ref["seconds"], 1e-9)
        prefix = ">" if r["status"] == "time_limit" else ""
        out.append(
            [
                r["instance"],
                _settings(r),
                r["method"],
                f"{r['seconds']:.2f}",
                f"{prefix}{ratio:.2f}x",
            ]
        )
    return out


# ----------------------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------------------


def add_bench_parser(subparsers) -> None:
    """Register ``exactrelu bench SUITE``."""
    p = subparsers.add_parser(
        "bench",
        help="run a benchmark suite (instances x methods x settings), resumable",
        description="Run every run of SUITE not already in the results file, writing each "
        "result as it finishes; check each against the instance's reference optimum "
        "(exit code 1 on a mismatch or a crashed run); print a summary table.",
    )
    p.add_argument("suite", metavar="SUITE", help="suite file (see benchmarks/README.md)")
    p.add_argument(
        "--out",
        metavar="FILE",
        help="JSON-lines results file, resumed when it exists "
        "(default: SUITE_NAME.jsonl in the current directory)",
    )
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--workers", type=int, default=1, metavar="N", help="local worker processes (default 1)"
    )
    how.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask distributed scheduler, e.g. tcp://127.0.0.1:8786",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_run_bench)


def _run_bench(args) -> int:
    from exactrelu.bench.suite import load_suite

    suite = load_suite(args.suite)
    out = Path(args.out) if args.out else Path(Path(args.suite).stem + ".jsonl")
    report = run_suite(
        suite, out, workers=args.workers, scheduler=args.scheduler, progress=not args.quiet
    )
    print(summary(report))
    return report.exit_code


def main(argv: list[str] | None = None) -> int:
    """``python -m exactrelu.bench.runner SUITE ...``: the bench command without the CLI.

    Same arguments and exit codes as ``exactrelu bench`` (used by the tests and usable
    before the subcommand is wired into :mod:`exactrelu.cli`).
    """
    import argparse

    from exactrelu.errors import MissingDependencyError

    parser = argparse.ArgumentParser(prog="python -m exactrelu.bench.runner")
    add_bench_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bench", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.run(args)
    except (InvalidInputError, MissingDependencyError) as exc:
        print(f"exactrelu: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
