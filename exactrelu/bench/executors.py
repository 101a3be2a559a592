"""Running benchmark tasks: one run to one result row, in this process, in worker
processes or on a Dask cluster.

A run never raises: a crash becomes a row with status ``error``, and a peer that cannot
run here (package missing, licence too small) a row with status ``skipped`` with the
reason. Each row is checked against the instance's reference (:mod:`.checks`).
"""

from __future__ import annotations

import math
import os
import socket
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from exactrelu.bench.checks import check_result
from exactrelu.bench.suite import Task
from exactrelu.errors import ExactReLUError, InvalidInputError, MissingDependencyError
from exactrelu.instances import load_instance
from exactrelu.methods import run_method as run_registered_method
from exactrelu.options import SolveOptions
from exactrelu.problem import Problem

DASK_CONNECT_TIMEOUT = "10s"  # how long to wait for a --scheduler before giving up


class Skipped(ExactReLUError):
    """A run that cannot happen here (missing package, licence limit); not a failure."""


def run_method(
    name: str,
    problem: Problem,
    *,
    time_limit: float | None,
    threads: int | None,
    seed: int,
    gap: float | None = None,
    options: dict[str, Any] | None = None,
) -> Any:
    """Run method ``name`` on ``problem`` with a benchmark's settings; its certificate.

    Raises
    ------
    Skipped
        The method's optional package is not installed, or (Gurobi) its licence
        refuses the model's size.
    """
    from exactrelu.methods.peers.gurobi import GurobiSizeLimitError

    solve_options = SolveOptions(
        time_limit=time_limit,
        threads=threads,
        seed=seed,
        **({"rel_gap": gap} if gap is not None else {}),
    )
    try:
        return run_registered_method(name, problem, solve_options, **(options or {}))
    except (MissingDependencyError, GurobiSizeLimitError) as exc:
        raise Skipped(f"{name}: {exc}") from None


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


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _no_result(start: float) -> dict[str, Any]:
    """The fields of a row whose run produced no certificate."""
    seconds = round(time.perf_counter() - start, 4)
    return dict(loss=None, bound=None, gap=None, nodes=None, seconds=seconds)


def run_task(task: Task) -> dict[str, Any]:
    """Run one task and return its result row (never raises: failures become rows).

    A top-level function so that worker processes and Dask workers can run it.
    """
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
        row.update(n=problem.n, d=problem.d, arch=problem.arch, width=problem.width)
        row.update(loss_function=problem.loss, B=problem.weight_bound)
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
        row.update(_no_result(start), status="skipped", note=str(exc))
    except Exception as exc:  # a crash of one run must not end the sweep
        row.update(_no_result(start), status="error", note=f"{type(exc).__name__}: {exc}")
        row["traceback"] = traceback.format_exc(limit=8)
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


def serial(
    tasks: list[Any], run: Callable[[Any], dict[str, Any]] = run_task
) -> Iterator[dict[str, Any]]:
    """``run`` (default :func:`run_task`) on each task in this process, rows in order."""
    for task in tasks:
        yield run(task)


def processes(
    tasks: list[Any], workers: int, run: Callable[[Any], dict[str, Any]] = run_task
) -> Iterator[dict[str, Any]]:
    """``run`` on each task in ``workers`` spawned processes, rows as they finish.

    ``run`` must be a module-level function (it travels to the workers by name).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn, not fork: a forked child would inherit the parent's solver threads' state
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(run, task) for task in tasks]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()


def dask(
    tasks: list[Any], scheduler: str, run: Callable[[Any], dict[str, Any]] = run_task
) -> Iterator[dict[str, Any]]:
    """``run`` on each task on the Dask cluster at ``scheduler``, rows as they finish."""
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
        futures = client.map(run, tasks, pure=False)
        for future in as_completed(futures):
            yield future.result()
