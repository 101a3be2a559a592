"""The gradient-descent landscape study: how often does gradient descent find the certified
optimum, as n, d and the width grow, and with one extra hidden unit?

    python benchmarks/studies/landscape/study.py make       # the planted instances
    python benchmarks/studies/landscape/study.py run [--workers N | --scheduler ADDRESS]
    python benchmarks/studies/landscape/study.py report     # table into README.md, figures

``run`` is resumable: every finished landscape is a row of ``results.jsonl`` (written as
it finishes); a rerun skips them. The grid (:func:`tasks`): planted two-layer data whose
teacher has the certified width H, and standardised subsamples of the diabetes and wine
data (``instances/``, provenance in their sidecars) at every width; H = 1, 2, 3;
n = 30, 100; d = 2, 3; squared loss; box B = 2; 50 restarts of projected gradient
descent (``exactrelu landscape``'s numpy trainer, up to 20,000 epochs) at the width H and at
H + 1; each certification limited to 120 s.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
from pathlib import Path

from exactrelu.bench.landscape_study import (
    LandscapeTask,
    run_study,
    study_overview,
    study_table,
)
from exactrelu.bench.plots import plot_landscape, plot_landscape_shares
from exactrelu.bench.store import read_results
from exactrelu.generate import write_generated

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
INSTANCES = HERE / "instances"
RESULTS = HERE / "results.jsonl"
WIDTHS = (1, 2, 3)
SIZES = (30, 100)
DIMENSIONS = (2, 3)
RESTARTS = 50
TIME_LIMIT = 120.0
NOISE = 0.1
REAL = ("diabetes", "wine-alcohol")  # instances/{name}-n{n}-d{d}.csv


def planted_path(width: int, n: int, d: int) -> Path:
    return INSTANCES / f"planted-w{width}-n{n}-d{d}.npz"


def planted_seed(width: int, n: int, d: int) -> int:
    """A fixed seed per planted instance (written into its sidecar by generate)."""
    return 1000 * width + 10 * n + d


def make() -> None:
    INSTANCES.mkdir(exist_ok=True)
    for width in WIDTHS:
        for n in SIZES:
            for d in DIMENSIONS:
                path = planted_path(width, n, d)
                if not path.exists():
                    write_generated(
                        "planted-two-layer",
                        n,
                        d,
                        path,
                        noise=NOISE,
                        seed=planted_seed(width, n, d),
                        width=width,
                    )
                    print("wrote", path.relative_to(ROOT))


def tasks() -> list[LandscapeTask]:
    """Width 1 first, then 2, then 3 (cheap certificates first); small n before large."""
    out = []
    for width in WIDTHS:
        for n in SIZES:
            for d in DIMENSIONS:
                paths = [("planted", planted_path(width, n, d))]
                paths += [
                    (name.split("-")[0], ROOT / "instances" / f"{name}-n{n}-d{d}.csv")
                    for name in REAL
                ]
                for family, path in paths:
                    out.append(
                        LandscapeTask(
                            instance=str(path),
                            family=family,
                            width=width,
                            train_widths=(width, width + 1),
                            restarts=RESTARTS,
                            time_limit=TIME_LIMIT,
                        )
                    )
    return out


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){memory}, Python {platform.python_version()}"


def report() -> None:
    rows = read_results(RESULTS)
    table = study_table(rows)
    overview = study_overview(rows)
    (HERE / "table.md").write_text(table + "\n")
    (HERE / "overview.json").write_text(json.dumps(overview, indent=2) + "\n")
    plot_landscape_shares(RESULTS, HERE / "shares.png")
    plot_landscape(RESULTS, HERE / "losses-diabetes.png", select="diabetes-n100-d2")
    plot_landscape(RESULTS, HERE / "losses-planted.png", select="planted-w2-n30-d2")
    readme = HERE / "README.md"
    if readme.exists():
        text = readme.read_text()
        start, end = "<!-- table -->\n", "<!-- /table -->"
        if start in text and end in text:
            head, rest = text.split(start, 1)
            text = head + start + table + "\n" + end + rest.split(end, 1)[1]
            readme.write_text(text)
    print(table)
    print(json.dumps(overview, indent=2))
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    first = min((r["finished"] for r in rows), default="?")
    last = max((r["finished"] for r in rows), default="?")
    total = sum(r.get("seconds", 0) for r in rows)
    print(
        f"machine: {machine()}; finished {first} to {last}; {total / 60:.0f} min of landscapes; "
        f"checkout {commit}; versions {rows[0]['versions'] if rows else {}}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("make", help="write the planted instances")
    run = sub.add_parser("run", help="run the study (resumable)")
    how = run.add_mutually_exclusive_group()
    how.add_argument("--workers", type=int, default=1, help="local worker processes")
    how.add_argument("--scheduler", help="Dask distributed scheduler address")
    run.add_argument("--out", default=str(RESULTS), help="results file (default results.jsonl)")
    sub.add_parser("report", help="table into README.md, figures")
    args = parser.parse_args(argv)
    if args.command == "make":
        make()
    elif args.command == "run":
        make()
        run_study(tasks(), args.out, workers=args.workers, scheduler=args.scheduler)
    else:
        report()


if __name__ == "__main__":
    main()
