"""Benchmarks of the enumerate and approx methods.

Run from the repository root::

    python benchmarks/bench_algorithms.py            # everything (a few minutes on 2 cores)
    python benchmarks/bench_algorithms.py --quick    # smaller sizes
    python benchmarks/bench_algorithms.py --only speed|count|ratio

Three parts, each printed as a markdown table:

1. ``speed`` — ``enumerate`` on one-node, squared loss, d = 2, planted data
   (``exactrelu.generate``, noise 0.1), up to n = 1000: wall-clock seconds, status
   and the work done.
2. ``count`` — dichotomies examined by ``enumerate`` (with repetitions: each chamber
   is met once per extreme ray and pivot choice), distinct, and the theoretical count
   ``2 Σ_{j<=d} C(n-1, j)`` (Cover 1965) for several n and d.
3. ``ratio`` — ``approx`` against the optimum certified by ``enumerate`` on random
   instances: the measured ratio ``loss(approx) / OPT`` (max and median), with and
   without polishing, against the proven bound ``n/k``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys

import numpy as np

from exactrelu.generate import generate
from exactrelu.methods import solve_approx, solve_enumerate
from exactrelu.options import SolveOptions
from exactrelu.problem import Problem


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model}, "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )


def planted(n: int, d: int, seed: int, loss: str = "squared", noise: float = 0.1) -> Problem:
    X, y, _ = generate("planted-one-node", n, d, noise=noise, seed=seed)
    if loss == "hinge":
        y = np.where(y > np.median(y), 1.0, -1.0)
    return Problem(X, y, loss=loss, weight_bound=2.0)


def bench_speed(sizes: list[int], time_limit: float) -> None:
    print("\n### enumerate: one-node, squared loss, d = 2, planted data (noise 0.1)\n")
    print(
        "| n | seconds | status | gap | patterns examined | distinct | convex QPs "
        "| closed-form solved |"
    )
    print("|---:|---:|---|---:|---:|---:|---:|---:|")
    for n in sizes:
        problem = planted(n, 2, seed=n)
        cert = solve_enumerate(problem, SolveOptions(time_limit=time_limit))
        det = cert.details
        gap = "-" if cert.gap is None else f"{cert.gap:.1e}"
        print(
            f"| {n} | {cert.seconds:.1f} | {cert.status} | {gap} | {det['dichotomies']:,} "
            f"| {det['distinct_dichotomies']:,} | {det['convex_solves']} "
            f"| {det['closed_form']:,} |"
        )
        sys.stdout.flush()


def bench_count(cases: list[tuple[int, int, str]], time_limit: float) -> None:
    print("\n### enumerate: dichotomies examined vs the theoretical count\n")
    print(
        "Theoretical: chambers of the arrangement if its m hyperplanes were in general "
        "position, `2 Σ_{j<r} C(m-1, j)` with r = d + 1 (Cover 1965); m = n for squared "
        "loss, m = #{y > 0} for absolute loss (the other samples are convex).\n"
    )
    print(
        "| loss | n | d | m | theoretical | distinct | examined | examined / theoretical "
        "| seconds |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, d, loss in cases:
        problem = planted(n, d, seed=1000 + n + d, loss=loss, noise=0.3)
        cert = solve_enumerate(problem, SolveOptions(time_limit=time_limit))
        det = cert.details
        th = det["theoretical_dichotomies"]
        print(
            f"| {loss} | {n} | {d} | {det['pattern_samples']} | {th:,} "
            f"| {det['distinct_dichotomies']:,} | {det['dichotomies']:,} "
            f"| {det['dichotomies'] / th:.2f} | {cert.seconds:.1f} |"
        )
        sys.stdout.flush()


def bench_ratio(ns: list[int], seeds: int, ks: list[int]) -> None:
    print("\n### approx: measured ratio loss(approx) / OPT against the proven bound n/k\n")
    print(
        "OPT certified by `enumerate`. Instances: d = 2; 'planted' = planted one-node "
        "network with noise 0.3, 'random' = Gaussian features and targets; "
        f"{seeds} seeds per row. Ratios without polishing are the algorithm the "
        "guarantee is proved for; polishing only lowers the loss.\n"
    )
    print(
        "| data | loss | n | k | bound n/k | max ratio | median ratio "
        "| max ratio (no polish) | median (no polish) | programs (median) | seconds (median) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for data in ("planted", "random"):
        for loss in ("squared", "absolute", "hinge"):
            for n in ns:
                for k in ks:
                    r_pol, r_raw, progs, secs = [], [], [], []
                    for seed in range(seeds):
                        if data == "planted":
                            problem = planted(n, 2, seed=seed, loss=loss, noise=0.3)
                        else:
                            rng = np.random.default_rng(seed)
                            X, y = rng.standard_normal((n, 2)), rng.standard_normal(n)
                            if loss == "hinge":
                                y = np.where(y > 0, 1.0, -1.0)
                            problem = Problem(X, y, loss=loss, weight_bound=2.0)
                        opt = solve_enumerate(problem, SolveOptions())
                        assert opt.status == "optimal", opt.status
                        polished = solve_approx(problem, SolveOptions(), k=k)
                        raw = solve_approx(problem, SolveOptions(), k=k, polish=0)
                        assert raw.details["guarantee_holds"]
                        base = max(opt.objective, 1e-12)
                        r_pol.append(polished.objective / base)
                        r_raw.append(raw.objective / base)
                        progs.append(raw.details["programs"])
                        secs.append(raw.seconds)
                    print(
                        f"| {data} | {loss} | {n} | {k} | {n / k:g} | {max(r_pol):.4f} "
                        f"| {statistics.median(r_pol):.4f} | {max(r_raw):.4f} "
                        f"| {statistics.median(r_raw):.4f} | {statistics.median(progs):g} "
                        f"| {statistics.median(secs):.2f} |"
                    )
                    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--only", choices=("speed", "count", "ratio"))
    parser.add_argument("--time-limit", type=float, default=600.0)
    args = parser.parse_args(argv)
    print(f"Machine: {machine()}")
    if args.only in (None, "speed"):
        bench_speed([250, 500] if args.quick else [250, 500, 1000], args.time_limit)
    if args.only in (None, "count"):
        cases = [
            (50, 1, "squared"),
            (200, 1, "squared"),
            (50, 2, "squared"),
            (200, 2, "squared"),
            (30, 3, "squared"),
            (60, 3, "squared"),
            (20, 4, "squared"),
            (60, 2, "absolute"),
        ]
        if not args.quick:
            cases += [
                (1000, 1, "squared"),
                (400, 2, "squared"),
                (100, 3, "squared"),
                (40, 4, "squared"),
                (200, 2, "absolute"),
            ]
        bench_count(cases, args.time_limit)
    if args.only in (None, "ratio"):
        bench_ratio([12] if args.quick else [12, 30], 3 if args.quick else 10, [1, 2])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
