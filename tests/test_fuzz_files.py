"""Malformed files through ``exactrelu solve`` and ``exactrelu validate``.

Every malformed instance or weights file (empty, header only, one line, text cells,
NaN/inf, complex values, wrong shapes, wrong extension, a directory, random bytes) must
end with exit code 2 and one line on stderr, no traceback, no warning, and no file left
behind where ``--out`` pointed (not even half of one).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers import planted_one_node
from hypothesis import given
from hypothesis import strategies as st

from exactrelu.cli import main

X_GOOD, Y_GOOD = planted_one_node(0, 6, 2)


def _writer(suffix: str, write):
    """A maker of a file ``PATH{suffix}`` written by ``write(target)``."""

    def make(path):
        target = path.with_suffix(suffix)
        write(target)
        return target

    return make


def _text(text: str, suffix: str = ".csv"):
    return _writer(suffix, lambda target: target.write_text(text))


def _npz(sidecar=None, **arrays):
    def make(path):
        target = path.with_suffix(".npz")
        np.savez(target, **arrays)
        if sidecar is not None:
            target.with_suffix(".json").write_text(json.dumps(sidecar))
        return target

    return make


def _bytes(data: bytes, suffix: str):
    return _writer(suffix, lambda target: target.write_bytes(data))


def _directory(suffix: str):
    def make(path):
        target = path.with_suffix(suffix)
        target.mkdir()
        return target

    return make


def _json(obj, suffix: str = ".json"):
    return _text(json.dumps(obj), suffix)


BAD_INSTANCES = {
    "empty csv": _text(""),
    "empty npz": _text("", ".npz"),
    "header only": _text("x1,x2,y\n"),
    "one line": _text("1,2,3\n"),
    "no header": _text("1,2,3\n4,5,6\n7,8,9\n"),
    "text cell": _text("x1,y\n1,2\nabc,3\n"),
    "blank cell": _text("x1,y\n1,2\n,3\n"),
    "nan cell": _text("x1,y\n1,2\nnan,3\n"),
    "inf target": _text("x1,y\n1,2\n2,inf\n"),
    "ragged": _text("x1,x2,y\n1,2,3\n4,5\n"),
    "one column": _text("y\n1\n2\n"),
    "binary csv": _bytes(b"\xff\xfe\x00\x01garbage", ".csv"),
    "npz junk": _bytes(b"PK\x03\x04 not really a zip", ".npz"),
    "npz truncated": lambda p: _truncated_npz(p),
    "npz complex X": _npz(X=X_GOOD + 1j, y=Y_GOOD),
    "npz complex y": _npz(X=X_GOOD, y=Y_GOOD + 2j),
    "npz nan X": _npz(X=np.where(X_GOOD > 0.5, np.nan, X_GOOD), y=Y_GOOD),
    "npz inf y": _npz(X=X_GOOD, y=np.r_[Y_GOOD[:-1], -np.inf]),
    "npz 1-D X": _npz(X=X_GOOD[:, 0], y=Y_GOOD),
    "npz 3-D X": _npz(X=X_GOOD[:, :, None], y=Y_GOOD),
    "npz 2-D y": _npz(X=X_GOOD, y=np.c_[Y_GOOD, Y_GOOD]),
    "npz short y": _npz(X=X_GOOD, y=Y_GOOD[:-1]),
    "npz no y": _npz(X=X_GOOD),
    "npz text": _npz(X=np.array([["a", "b"]] * 6), y=Y_GOOD),
    "npz object": lambda p: _object_npz(p),
    "npz empty": _npz(X=np.zeros((0, 2)), y=np.zeros(0)),
    # a fixed box in the data's units: the MIP's coefficients would be far too large
    "npz huge, fixed box": _npz(sidecar={"B": 2.0}, X=X_GOOD, y=Y_GOOD * 1e12),
    "wrong extension": _text("x1,y\n1,2\n", ".txt"),
    "no extension": _text("x1,y\n1,2\n", ""),
    "directory npz": _directory(".npz"),
    "directory csv": _directory(".csv"),
    "missing": lambda p: p.with_suffix(".npz"),
}

BAD_WEIGHTS = {
    "empty json": _text("", ".json"),
    "empty npz": _text("", ".npz"),
    "json list": _json([1, 2, 3]),
    "json not json": _text("{w: [1, 2]", ".json"),
    "json no weights": _json({"a": 1}),
    "json text weights": _json({"w": ["a", "b"], "b": 0.0}),
    "json nan weights": _text('{"w": [NaN, 1.0], "b": 0.0}', ".json"),
    "json list bias": _json({"w": [1.0, 2.0], "b": [1, 2]}),
    "json wrong width": _json({"w": [1.0, 2.0, 3.0], "b": 0.0}),
    "json ragged W": _json({"W": [[1.0, 2.0], [1.0]], "b": [0, 0], "v": [1, -1]}),
    "json short b": _json({"W": [[1.0, 2.0], [1.0, 0.5]], "b": [0], "v": [1, -1]}),
    "json 3-D W": _json({"W": [[[1.0, 2.0]]], "b": [0], "v": [1]}),
    "json bad arch": _json({"arch": "deep", "weights": {"w": [1.0, 2.0], "b": 0}}),
    "npz complex": _npz(w=np.array([1.0 + 1j, 2.0]), b=0.0),
    "npz text": _npz(w=np.array(["a", "b"]), b=0.0),
    "npz inf": _npz(W=np.ones((2, 2)), b=np.zeros(2), v=np.array([1.0, np.inf]), c=0.0),
    "pt junk": _bytes(b"not a torch file", ".pt"),
    "pickle untrusted": _bytes(b"\x80\x04K\x01.", ".pkl"),
    "wrong extension": _text("w = 1, 2", ".txt"),
    "directory": _directory(".json"),
    "missing": lambda p: p.with_suffix(".json"),
}


def _truncated_npz(path):
    target = path.with_suffix(".npz")
    np.savez(target, X=X_GOOD, y=Y_GOOD)
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


def _object_npz(path):
    target = path.with_suffix(".npz")
    np.savez(target, X=np.array([{"a": 1}] * 6, dtype=object), y=Y_GOOD)
    return target


def _good_instance(tmp_path: Path) -> Path:
    path = tmp_path / "good.npz"
    np.savez(path, X=X_GOOD, y=Y_GOOD)
    return path


def _good_weights(tmp_path: Path) -> Path:
    path = tmp_path / "good-weights.json"
    path.write_text(json.dumps({"w": [0.5, -0.2], "b": 0.1}))
    return path


def check_refused(argv, out_dir: Path, capsys) -> str:
    """Run the command: exit 2, one line on stderr, no traceback, no warning, nothing in
    ``out_dir`` (where ``--out`` pointed)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 2, (argv, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("exactrelu: error: "), err
    assert "Traceback" not in err and "internal error" not in err
    assert out == ""
    assert [str(w.message) for w in caught] == []
    assert list(out_dir.iterdir()) == [], "a file was left where --out pointed"
    return lines[0]


@pytest.fixture
def out_dir(tmp_path):
    path = tmp_path / "out"
    path.mkdir()
    return path


@pytest.mark.parametrize("name", list(BAD_INSTANCES))
def test_solve_refuses_a_malformed_instance(tmp_path, out_dir, capsys, name):
    path = BAD_INSTANCES[name](tmp_path / "bad")
    argv = ["solve", path, "--quiet", "--time-limit", "5", "--out", out_dir / "c.json"]
    line = check_refused(argv, out_dir, capsys)
    assert path.name in line  # the message names the file


def test_huge_values_are_solved_in_standardised_units(tmp_path, capsys):
    # The automatic box (the default) solves standardised data: values near 1e12 are as
    # good as any, and the certified loss scales with the target's units.
    losses = {}
    for scale in (1.0, 1e12):
        path = _npz(X=X_GOOD, y=Y_GOOD * scale)(tmp_path / f"scale{scale:g}")
        code = main(["solve", str(path), "--quiet", "--json"])
        cert = json.loads(capsys.readouterr().out)
        assert code == 0 and cert["status"] == "optimal", cert.get("reason")
        losses[scale] = cert["objective"] / scale**2
    assert losses[1e12] == pytest.approx(losses[1.0], rel=1e-6, abs=1e-12)


@pytest.mark.parametrize("name", list(BAD_INSTANCES))
def test_validate_refuses_a_malformed_instance(tmp_path, out_dir, capsys, name):
    path = BAD_INSTANCES[name](tmp_path / "bad")
    weights = _good_weights(tmp_path)
    argv = ["validate", path, weights, "--quiet", "--time-limit", "5", "--out", out_dir / "r.json"]
    check_refused(argv, out_dir, capsys)


@pytest.mark.parametrize("name", list(BAD_WEIGHTS))
def test_validate_refuses_a_malformed_network(tmp_path, out_dir, capsys, name):
    path = BAD_WEIGHTS[name](tmp_path / "bad")
    instance = _good_instance(tmp_path)
    argv = ["validate", instance, path, "--quiet", "--time-limit", "5", "--out", out_dir / "r.json"]
    line = check_refused(argv, out_dir, capsys)
    assert path.name in line or "network" in line or "weights" in line, line


CELLS = st.sampled_from(
    ["1", "-2.5", "0", "1e3", "", " ", "nan", "inf", "-inf", "abc", "1+2j", '"']
)


@given(
    header=st.sampled_from(["x1,y", "x1,x2,y", "1,2", "", "a"]),
    rows=st.lists(st.lists(CELLS, min_size=0, max_size=4), min_size=0, max_size=4),
)
def test_random_csv_is_solved_or_refused_in_one_line(tmp_path_factory, header, rows):
    """Whatever the CSV holds: a certificate (exit 0) or one line of error (exit 2)."""
    directory = tmp_path_factory.mktemp("csv")
    path = directory / "r.csv"
    path.write_text("\n".join([header, *(",".join(row) for row in rows)]) + "\n")
    out = directory / "out"
    out.mkdir()
    argv = ["solve", str(path), "--method", "gd", "--quiet", "--out", str(out / "c.json")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = _run_quietly(argv)
    assert code in (0, 2)
    if code == 2:
        assert list(out.iterdir()) == []
    else:
        assert json.loads((out / "c.json").read_text())["status"] == "feasible"
    assert [str(w.message) for w in caught] == []


@given(data=st.binary(max_size=300), suffix=st.sampled_from([".npz", ".csv", ".json"]))
def test_random_bytes_are_refused_in_one_line(tmp_path_factory, data, suffix):
    directory = tmp_path_factory.mktemp("bytes")
    path = directory / f"r{suffix}"
    path.write_bytes(data)
    good = _good_instance(directory)
    argv = (
        ["validate", str(good), str(path), "--quiet"]
        if suffix == ".json"
        else ["solve", str(path), "--method", "gd", "--quiet"]
    )
    assert _run_quietly(argv) in (0, 2)


def _run_quietly(argv) -> int:
    """``main(argv)``; an error must be one line on stderr (checked here)."""
    import contextlib
    import io

    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(argv)
    if code != 0:
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith("exactrelu: error: "), err.getvalue()
        assert "internal error" not in lines[0], lines[0]
    return code


@pytest.mark.parametrize("name", ["empty npz", "npz complex X", "directory csv", "no header"])
def test_a_real_process_prints_one_line_and_no_warning(tmp_path, name):
    path = BAD_INSTANCES[name](tmp_path / "bad")
    env = {k: v for k, v in os.environ.items() if k != "EXACTRELU_DEBUG"}
    proc = subprocess.run(
        [sys.executable, "-m", "exactrelu", "solve", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("exactrelu: error: ")
