"""Validating ten networks of one class: one exact solve against ten (docs/validate.md).

    python benchmarks/validate_many.py [--time-limit 120] [--separate-time-limit S]
                                       [--separate K] [--workdir DIR] [--no-batch]

Fits ``MLPRegressor(hidden_layer_sizes=(2,), random_state=seed)`` for seeds 0 to 9 on 40
rows of scikit-learn's diabetes data (features ``bmi`` and ``s5``, all columns
standardised), pickles them, then times the command line as a user runs it: once as
``exactrelu validate DATA 'mlp-*.pkl'`` (one solve for all ten), then as ``K`` separate
``exactrelu validate DATA mlp-SEED.pkl`` runs (default all ten; ``--separate-time-limit``
shortens them when the machine is busy: each separate run that hits its limit takes that
limit plus the start-up, so ten full runs can be extrapolated). Prints one line per run:
wall seconds, the solve's own seconds, status.
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def make_data(workdir: Path) -> Path:
    from sklearn.datasets import load_diabetes
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    X, y = load_diabetes(return_X_y=True)
    X, y = X[:40, [2, 8]], y[:40]  # bmi, s5: the two strongest features
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    y = (y - y.mean()) / y.std()
    data = workdir / "diabetes40.npz"
    np.savez(data, X=X, y=y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # default max_iter, as users do
        for seed in range(10):
            mlp = MLPRegressor(hidden_layer_sizes=(2,), random_state=seed).fit(X, y)
            with open(workdir / f"mlp-{seed}.pkl", "wb") as handle:
                pickle.dump(mlp, handle)
    return data


def run(argv: list[str]) -> tuple[float, list[dict]]:
    """Wall seconds of ``exactrelu validate ... --json`` and its JSON reports."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "exactrelu", "validate", *argv, "--json", "--quiet"],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - start
    try:  # one network: one (indented) JSON report
        return seconds, [json.loads(proc.stdout)]
    except json.JSONDecodeError:  # several: JSON lines
        return seconds, [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--separate-time-limit", type=float, default=None)
    parser.add_argument("--separate", type=int, default=10)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--no-batch", action="store_true", help="the separate runs only")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="validate-many-"))
    workdir.mkdir(parents=True, exist_ok=True)
    data = make_data(workdir)
    limit = str(args.time_limit)
    common = ["--trust-pickle", "--time-limit", limit]
    if not args.no_batch:
        wall, reports = run([str(data), str(workdir / "mlp-*.pkl"), *common])
        cert = reports[0]["certificate"]
        print(
            f"one solve for ten networks: {wall:.1f} s wall, solve {cert['seconds']:.1f} s, "
            f"status {cert['status']}, best loss {cert['objective']:.6g}, "
            f"bound {cert['bound']:.6g}",
            flush=True,
        )
    separate = str(args.separate_time_limit or args.time_limit)
    total = 0.0
    for seed in range(args.separate):
        argv = [str(data), str(workdir / f"mlp-{seed}.pkl"), "--trust-pickle"]
        wall, (report,) = run([*argv, "--time-limit", separate])
        total += wall
        cert = report["certificate"]
        print(
            f"seed {seed} alone: {wall:.1f} s wall, solve {cert['seconds']:.1f} s, "
            f"status {cert['status']}",
            flush=True,
        )
    print(f"{args.separate} separate runs (--time-limit {separate}): {total:.1f} s wall")


if __name__ == "__main__":
    main()
