"""Print the perf suite's results as a Markdown table with ratios and geometric means.

    python benchmarks/perf/table.py benchmarks/results/perf.jsonl [more.jsonl ...]
    python benchmarks/perf/table.py --ours bnb --peers mip,gurobi RESULTS.jsonl

Per instance: exactrelu (``--ours``, default ``mip``) and the peers (``--peers``, default
SCIP and Gurobi on the plain big-M model); time to a certified optimum (gap 1e-4) or the
time limit; ratio exactrelu / peer.
A run that hit its time limit counts with the limit (so a ratio against a peer that timed
out is an upper bound, written ``<=``). Geometric means are over the instances where both
ran.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from exactrelu.bench.store import read_results


def load(paths: list[str]) -> dict[tuple[str, str], dict]:
    """Rows by (instance, method); a later file's row replaces an earlier one's."""
    rows = {}
    for path in paths:
        for row in read_results(Path(path)):
            rows[(row["instance"], row["method"])] = row
    return rows


def cell(row: dict | None) -> str:
    if row is None or row["status"] == "skipped":
        return "–"
    if row["status"] == "optimal":
        return f"{row['seconds']:.2f}"
    return f"{row['status']} {row['seconds']:.0f} (gap {row['gap']:.1e})"


def main(paths: list[str], ours: str = "mip", peers: tuple[str, ...] = ("scip", "gurobi")) -> None:
    rows = load(paths)
    instances = sorted({key[0] for key in rows})
    names = {"mip": "MIP", "bnb": "bnb", "scip": "SCIP", "gurobi": "Gurobi"}
    header = [
        "instance",
        f"exactrelu {ours} (s)",
        *(f"{names.get(p, p)} (s)" for p in peers),
        *(f"/ {names.get(p, p)}" for p in peers),
    ]
    print("| " + " | ".join(header) + " |")
    print("|---|" + "---:|" * (len(header) - 1))
    logs: dict[str, list[float]] = {peer: [] for peer in peers}
    for name in instances:
        mine = rows.get((name, ours))
        ratios = []
        for peer in peers:
            other = rows.get((name, peer))
            if mine is None or other is None or other["status"] == "skipped":
                ratios.append("–")
                continue
            ratio = mine["seconds"] / other["seconds"]
            bounded = other["status"] != "optimal" and mine["status"] == "optimal"
            ratios.append(("<= " if bounded else "") + f"{ratio:.3f}")
            logs[peer].append(math.log(ratio))
        cells = [cell(mine), *(cell(rows.get((name, peer))) for peer in peers)]
        print(f"| {name} | " + " | ".join(cells + ratios) + " |")
    for peer, values in logs.items():
        if values:
            mean = math.exp(sum(values) / len(values))
            count = len(values)
            print(f"\nGeometric mean exactrelu {ours} / {peer}: {mean:.3f} over {count} instances")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", help="JSON-lines results files")
    parser.add_argument("--ours", default="mip", help="exactrelu's method (default mip)")
    parser.add_argument("--peers", default="scip,gurobi", help="comma-separated methods")
    args = parser.parse_args()
    main(args.results, args.ours, tuple(args.peers.split(",")))
