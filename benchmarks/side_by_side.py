"""Time two checkouts (or two settings) of exactrelu on the same instances, side by side.

    python benchmarks/side_by_side.py OLD_DIR NEW_DIR INSTANCE... [--threads T] [--gap 1e-4]
        [--time-limit 300] [--repeat 1] [--out results.jsonl]
        [--old-flags "..."] [--new-flags "..."]

OLD_DIR and NEW_DIR are source checkouts (``git worktree add /tmp/old <commit>``), or the
same checkout twice with different ``--old-flags``/``--new-flags`` (extra ``solve``
flags, e.g. ``--weight-bound 2`` against ``--weight-bound auto``). For
each instance the two are run one after the other, in alternating order from one
instance to the next, each in a fresh process with ``PYTHONPATH`` pointing at its
checkout, so that the load of a shared machine hits both alike. Each run is
``exactrelu solve INSTANCE --json`` with the instance's sidecar defaults and the side's
flags. Prints one Markdown table (seconds, status, nodes, boxes tried, ratio new / old)
and, with ``--out``, writes every run as a JSON line as it finishes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path


def run(checkout: Path, instance: str, args: argparse.Namespace, flags: str = "") -> dict:
    command = [
        sys.executable,
        "-m",
        "exactrelu",
        "solve",
        instance,
        "--json",
        "--quiet",
        "--gap",
        str(args.gap),
        "--time-limit",
        str(args.time_limit),
    ]
    if args.threads is not None:
        command += ["--threads", str(args.threads)]
    command += shlex.split(flags)
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    start = time.perf_counter()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=checkout)
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter() - start
    # CPU seconds of the solve's process: far less sensitive to a loaded machine than wall
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    if done.returncode != 0:
        return {"status": "error", "seconds": wall, "cpu": cpu, "error": done.stderr.strip()[-300:]}
    cert = json.loads(done.stdout)
    details = cert.get("details", {})
    return {
        "status": cert["status"],
        "seconds": cert["seconds"],
        "cpu": round(cpu, 3),
        "objective": cert["objective"],
        "nodes": details.get("nodes"),
        "tangent_cuts": details.get("tangent_cuts"),
        "weight_bound": cert["weight_bound"],
        "boxes": len(cert.get("box", {}).get("tried", [])) or 1,
        "box_active": cert["box_active"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("instances", nargs="+")
    parser.add_argument("--threads", type=int, help="solver threads (default: exactrelu's)")
    parser.add_argument("--gap", type=float, default=1e-4)
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--old-flags", default="", help="extra solve flags of the old side")
    parser.add_argument("--new-flags", default="", help="extra solve flags of the new side")
    args = parser.parse_args()
    flags = {"old": args.old_flags, "new": args.new_flags}
    old, new = args.old.resolve(), args.new.resolve()
    rows = []
    for index, instance in enumerate(args.instances):
        instance = str(Path(instance).resolve())
        for repeat in range(args.repeat):
            order = [("old", old), ("new", new)]
            if (index + repeat) % 2:
                order.reverse()
            results = {}
            for label, checkout in order:
                results[label] = run(checkout, instance, args, flags[label])
                if args.out:
                    with args.out.open("a") as stream:
                        row = {"instance": Path(instance).stem, "code": label, **results[label]}
                        stream.write(json.dumps(row) + "\n")
            rows.append((Path(instance).stem, results["old"], results["new"]))
            print(
                f"{rows[-1][0]}: old {results['old']['cpu']:.2f} CPU s, "
                f"new {results['new']['cpu']:.2f} CPU s",
                file=sys.stderr,
                flush=True,
            )
    by_instance: dict[str, list] = {}
    for name, a, b in rows:
        by_instance.setdefault(name, []).append((a, b))
    print(
        "| instance | old CPU (s) | new CPU (s) | new / old | old solve (s) | new solve (s) "
        "| old nodes | new nodes | boxes tried | statuses |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    logs = []
    for name, pairs in by_instance.items():
        # medians over the repeats
        old_cpu, new_cpu = (statistics.median(r[k]["cpu"] for r in pairs) for k in (0, 1))
        old_s, new_s = (statistics.median(r[k]["seconds"] for r in pairs) for k in (0, 1))
        a, b = pairs[0]
        ratio = new_cpu / max(old_cpu, 1e-9)
        logs.append(math.log(max(ratio, 1e-9)))
        print(
            f"| {name} | {old_cpu:.2f} | {new_cpu:.2f} | {ratio:.2f} | {old_s:.2f} | "
            f"{new_s:.2f} | {a.get('nodes')} | {b.get('nodes')} | "
            f"{a.get('boxes')} / {b.get('boxes')} | {a['status']} / {b['status']} |"
        )
    mean = math.exp(sum(logs) / len(logs))
    print(f"\nGeometric mean of CPU new / old: {mean:.3f} over {len(logs)} instances")


if __name__ == "__main__":
    main()
