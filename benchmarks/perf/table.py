"""Print the perf suite's results as a Markdown table with ratios and geometric means.

    python benchmarks/perf/table.py benchmarks/results/perf.jsonl [more.jsonl ...]

Per instance: exactrelu (``mip``, the default method), SCIP and Gurobi on the plain big-M
model; time to a certified optimum (gap 1e-4) or the time limit; ratio exactrelu / peer.
A run that hit its time limit counts with the limit (so a ratio against a peer that timed
out is an upper bound, written ``<=``). Geometric means are over the instances where both
ran.
"""

from __future__ import annotations

import math
import sys
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


def main(paths: list[str]) -> None:
    rows = load(paths)
    instances = sorted({key[0] for key in rows})
    header = ["instance", "exactrelu (s)", "SCIP (s)", "Gurobi (s)", "/ SCIP", "/ Gurobi"]
    print("| " + " | ".join(header) + " |")
    print("|---|---:|---:|---:|---:|---:|")
    logs: dict[str, list[float]] = {"scip": [], "gurobi": []}
    for name in instances:
        ours = rows.get((name, "mip"))
        ratios = []
        for peer in ("scip", "gurobi"):
            other = rows.get((name, peer))
            if ours is None or other is None or other["status"] == "skipped":
                ratios.append("–")
                continue
            ratio = ours["seconds"] / other["seconds"]
            bounded = other["status"] != "optimal" and ours["status"] == "optimal"
            ratios.append(("<= " if bounded else "") + f"{ratio:.3f}")
            logs[peer].append(math.log(ratio))
        cells = [cell(ours), cell(rows.get((name, "scip"))), cell(rows.get((name, "gurobi")))]
        print(f"| {name} | " + " | ".join(cells + ratios) + " |")
    for peer, values in logs.items():
        if values:
            mean = math.exp(sum(values) / len(values))
            print(f"\nGeometric mean exactrelu / {peer}: {mean:.3f} over {len(values)} instances")


if __name__ == "__main__":
    main(sys.argv[1:])
