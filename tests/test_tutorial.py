"""docs/tutorial.md runs: every ``python`` and ``bash`` code block, in order, in an empty
directory (Python blocks share one namespace; bash blocks hold ``exactrelu`` commands)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from exactrelu.cli import main

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"


def code_blocks(path: Path) -> list[tuple[str, str]]:
    """``(language, code)`` of every fenced block of a Markdown file, in order."""
    return re.findall(r"^```(\w*)\n(.*?)^```", path.read_text(), flags=re.S | re.M)


def commands(block: str) -> list[list[str]]:
    """The commands of a bash block: one per line, ``\\`` continues a line."""
    joined = block.replace("\\\n", " ")
    return [shlex.split(line) for line in joined.splitlines() if line.strip()]


def test_every_block_is_python_or_exactrelu_commands():
    blocks = code_blocks(TUTORIAL)
    assert blocks, "no code blocks found"
    for language, code in blocks:
        assert language in ("python", "bash"), f"a {language or 'plain'} block would not run"
        if language == "bash":
            assert all(cmd[0] == "exactrelu" for cmd in commands(code)), code


@pytest.mark.slow
def test_the_tutorial_runs(tmp_path, monkeypatch, capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "tutorial"}
    for language, code in code_blocks(TUTORIAL):
        if language == "python":
            exec(compile(code, str(TUTORIAL), "exec"), namespace)
        else:
            for command in commands(code):
                assert main(command[1:]) == 0, capsys.readouterr().err
    # what the tutorial says it makes
    assert (tmp_path / "diabetes.csv").is_file()
    assert (tmp_path / "certificate.json").is_file()
    assert (tmp_path / "landscape.png").read_bytes()[:4] == b"\x89PNG"
    assert [n for n, *_ in namespace["rows"]] == [8, 12, 16]
    # the validated MLP is never below the proven bound of its class
    report = namespace["report"]
    assert report.bound is None or report.network_loss >= report.bound - 1e-9
