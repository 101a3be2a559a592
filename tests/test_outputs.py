"""Output files of every subcommand: checked before the work, never lost after it.

Each command with an output (``solve``, ``validate``, ``export``, ``plot``, ``bench``,
``generate``) must refuse an unwritable ``--out`` before doing its work (the work is
replaced here by a function that fails the test if called), and a write that fails
after the work must still hand over the result and say where it went.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import planted_one_node
from oracle import forward, loss_value

from exactrelu.cli import main

INSTANCES = Path(__file__).resolve().parent.parent / "instances"
TRIVIAL = "planted-one-node-n12-d2-noise0.1"
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _instance(tmp_path: Path) -> Path:
    for ext in (".npz", ".json"):
        shutil.copy(INSTANCES / f"{TRIVIAL}{ext}", tmp_path / f"{TRIVIAL}{ext}")
    return tmp_path / f"{TRIVIAL}.npz"


def _weights(tmp_path: Path) -> Path:
    path = tmp_path / "w.npz"
    np.savez(path, w=np.array([0.5, -0.2]), b=0.1)
    return path


def _results(tmp_path: Path) -> Path:
    path = tmp_path / "r.jsonl"
    path.write_text(
        json.dumps(
            {"key": "k", "method": "gd", "n": 12, "loss": 1.0, "seconds": 0.1, "status": "feasible"}
        )
        + "\n"
    )
    return path


def _suite(tmp_path: Path) -> Path:
    _instance(tmp_path)
    path = tmp_path / "suite.txt"
    path.write_text(f"instances {TRIVIAL}.npz\nmethods gd\n")
    return path


# command -> (argv before --out, the suffix of its output, (module, attribute) of its work)
COMMANDS = {
    "solve": (lambda t: ["solve", _instance(t), "--quiet"], ".json", ("exactrelu.solve", "solve")),
    "validate": (
        lambda t: ["validate", _instance(t), _weights(t), "--quiet"],
        ".json",
        ("exactrelu.validation", "validate_many"),
    ),
    "export": (
        lambda t: ["export", _instance(t)],
        "",
        ("exactrelu.formulation.export", "build_formulations"),
    ),
    "plot trace": (
        lambda t: ["plot", "trace", _instance(t)],
        ".png",
        ("exactrelu.solve", "solve"),
    ),
    "plot fit": (
        lambda t: ["plot", "fit", _instance(t), "--methods", "gd"],
        ".png",
        ("exactrelu.bench.executors", "run_method"),
    ),
    "plot time": (
        lambda t: ["plot", "time", _results(t)],
        ".png",
        ("exactrelu.bench.plots", "_rows"),
    ),
    "bench": (
        lambda t: ["bench", _suite(t), "--quiet"],
        ".jsonl",
        ("exactrelu.bench.executors", "serial"),
    ),
    "generate": (
        lambda t: ["generate", "xor", "--n", "9", "--d", "2"],
        ".csv",
        ("exactrelu.generate", "generate"),
    ),
}


def _bad_outs(tmp_path: Path, suffix: str) -> dict[str, tuple[Path, str]]:
    """Unwritable ``--out`` values and what the message must say."""
    directory = tmp_path / f"taken{suffix or '.lp'}"
    directory.mkdir()
    outs = {
        "directory": (tmp_path / "taken" if not suffix else directory, "is a directory"),
        "missing directory": (tmp_path / "nowhere" / f"out{suffix}", "does not exist"),
    }
    if Path("/proc").is_dir():  # a directory where no file can be created, even by root
        outs["unwritable"] = (Path(f"/proc/exactrelu-out{suffix}"), "cannot write in /proc")
    return outs


@pytest.mark.parametrize("command", list(COMMANDS))
def test_unwritable_out_fails_before_the_work(tmp_path, capsys, monkeypatch, command):
    if command.startswith("plot") and not HAS_MATPLOTLIB:
        pytest.skip("matplotlib not installed (pip install 'exactrelu[plot]')")
    argv_of, suffix, (module, attribute) = COMMANDS[command]
    argv = argv_of(tmp_path)

    def work(*args, **kwargs):
        raise AssertionError(f"{command} did its work before checking --out")

    monkeypatch.setattr(importlib.import_module(module), attribute, work)
    for kind, (out, message) in _bad_outs(tmp_path, suffix).items():
        code, stdout, err = run([*argv, "--out", out], capsys)
        assert code == 2, (kind, err)
        assert stdout == "", kind
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("exactrelu: error: "), err
        assert message in lines[0] and "Traceback" not in err, (kind, lines[0])


def _remove_after(monkeypatch, module: str, attribute: str, directory: Path) -> None:
    """Let the work run, then take its output directory away (a write failing late)."""
    target = importlib.import_module(module)
    real = getattr(target, attribute)

    def work(*args, **kwargs):
        result = real(*args, **kwargs)
        shutil.rmtree(directory)
        return result

    monkeypatch.setattr(target, attribute, work)


@pytest.mark.parametrize("as_json", [False, True])
def test_a_solve_whose_out_fails_afterwards_is_printed_and_kept(
    tmp_path, capsys, monkeypatch, as_json
):
    X, y = planted_one_node(3, 8, 2)
    np.savez(tmp_path / "inst.npz", X=X, y=y)
    gone = tmp_path / "gone"
    gone.mkdir()
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    _remove_after(monkeypatch, "exactrelu.solve", "solve", gone)
    flags = ["--json"] if as_json else []
    code, stdout, err = run(
        ["solve", tmp_path / "inst.npz", "--quiet", "--out", gone / "c.json", *flags], capsys
    )
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1 and "gone/c.json: cannot write" in lines[0], err
    kept = list(here.glob("c.*.json"))
    assert len(kept) == 1 and f"saved to {kept[0]}" in lines[0]
    certificate = json.loads(kept[0].read_text())
    # the kept certificate is the solve's: its loss recomputed independently
    w = certificate["weights"]
    loss = loss_value(y, forward(X, np.array([w["w"]]), [w["b"]], [1.0], 0.0), "squared")
    assert certificate["objective"] == pytest.approx(loss, rel=1e-12)
    if as_json:
        assert json.loads(stdout) == certificate
    else:
        assert stdout.startswith("class ") and f"{certificate['objective']:.10g}" in stdout


@pytest.mark.skipif(not HAS_MATPLOTLIB, reason="matplotlib not installed")
def test_a_figure_whose_out_fails_afterwards_is_kept(tmp_path, capsys, monkeypatch):
    results = _results(tmp_path)
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(tmp_path)
    _remove_after(monkeypatch, "exactrelu.bench.plots", "_rows", gone)
    code, _, err = run(["plot", "time", results, "--out", gone / "t.png"], capsys)
    assert code == 2 and len(err.splitlines()) == 1
    kept = list(tmp_path.glob("t.*.png"))
    assert len(kept) == 1 and str(kept[0]) in err
    assert kept[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_outputs_are_written_whole_or_not_at_all(tmp_path, monkeypatch):
    """A writer that fails halfway leaves neither the target nor a temporary file."""
    from exactrelu import save_instance

    X, y = planted_one_node(4, 6, 2)
    target = tmp_path / "inst.npz"

    def broken_savez(path, **arrays):
        Path(path).write_bytes(b"PK half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(ValueError, match=r"inst\.npz: cannot write \(No space left on device\)"):
        save_instance(target, X, y)
    assert list(tmp_path.iterdir()) == []
