"""What a sweep did: its rows, a progress bar while it runs, and the summary table."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exactrelu.table import text_table


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


class Progress:
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
