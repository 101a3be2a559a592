"""The README's quick start and CI stay in step, and its shipped instance exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_quick_start_has_exactly_two_commands():
    assert len(quick_start_commands()) == 2


def test_ci_runs_the_readme_test_command():
    test_command = quick_start_commands()[1]
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines


def test_quick_start_instance_is_shipped_with_a_reference_optimum():
    solve_command = quick_start_commands()[0]
    path = re.search(r"instances/\S+", solve_command).group(0)
    assert (ROOT / path).is_file()
    assert (ROOT / path).with_suffix(".json").is_file()
