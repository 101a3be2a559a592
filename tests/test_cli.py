"""The command line (docs/problem.md): output formats, defaults, exit codes, one-line errors."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import certificate_weights, hinge_labels, planted_one_node

from exactrelu import Certificate, MissingDependencyError, Problem
from exactrelu.cli import main
from exactrelu.solve import solve

# the module (the package re-exports the function under the same name)
solve_module = importlib.import_module("exactrelu.solve")

CERTIFICATE_KEYS = {
    "status",
    "objective",
    "bound",
    "gap",
    "seconds",
    "arch",
    "width",
    "loss",
    "weight_bound",
    "n",
    "d",
    "weights",
    "box_active",
    "method",
    "reason",
}


@pytest.fixture
def instance(write_instance):
    X, y = planted_one_node(11, 8, 2)
    return write_instance("inst.csv", X, y), X, y


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, expected_code=2, pattern=None):
    assert code == expected_code
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("exactrelu: error: "), err
    assert "Traceback" not in err
    if pattern is not None:
        import re

        assert re.search(pattern, lines[0]), lines[0]


# ----------------------------------------------------------------------------------------
# output
# ----------------------------------------------------------------------------------------


def test_json_output_has_the_certificate_keys(instance, capsys):
    path, X, y = instance
    code, out, _ = run(["solve", path, "--json", "--quiet"], capsys)
    assert code == 0
    data = json.loads(out)
    assert CERTIFICATE_KEYS <= set(data)
    assert set(data["weights"]) == {"w", "b"}
    assert data["status"] == "optimal" and data["method"] == "mip"
    assert (data["n"], data["d"], data["arch"], data["loss"]) == (8, 2, "one-node", "squared")
    # the CLI reports what the API computes on the same data
    api = solve(Problem(X, y, weight_bound=2.0))
    assert abs(data["objective"] - api.objective) <= 1e-6 * api.objective + 1e-9
    # and its objective is the loss of its own weights
    cert = Certificate.from_dict(data)
    assert data["objective"] == pytest.approx(
        certificate_weights(cert).loss(X, y, "squared"), rel=1e-12
    )


def test_two_layer_json_weights(write_instance, capsys):
    X, y = planted_one_node(12, 6, 2)
    path = write_instance("two.npz", X, y)
    code, out, _ = run(
        [
            "solve",
            path,
            "--json",
            "--quiet",
            "--arch",
            "two-layer",
            "--width",
            "1",
            "--loss",
            "absolute",
        ],
        capsys,
    )
    assert code == 0
    data = json.loads(out)
    assert set(data["weights"]) == {"W", "b", "v", "c"}
    assert (data["arch"], data["width"], data["loss"]) == ("two-layer", 1, "absolute")


def test_summary_is_the_default(instance, capsys):
    path, _, _ = instance
    code, out, err = run(["solve", path, "--quiet"], capsys)
    assert code == 0
    assert err == ""  # --quiet: no progress lines
    # the summary leads with the class the certificate covers, then the status
    first = out.splitlines()[0]
    assert first.startswith("class      optimal over ") and "one-node network" in first
    assert out.splitlines()[1].split() == ["status", "optimal"]
    assert "loss" in out and "bound" in out
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


def test_out_writes_the_certificate(instance, tmp_path, capsys):
    path, _, _ = instance
    target = tmp_path / "cert.json"
    code, out, _ = run(["solve", path, "--out", target, "--quiet"], capsys)
    assert code == 0
    assert out.splitlines()[1].split() == ["status", "optimal"]  # summary still printed
    data = json.loads(target.read_text())
    assert CERTIFICATE_KEYS <= set(data)
    assert f"{data['objective']:.10g}" in out
    # with --json both carry the same certificate
    target2 = tmp_path / "cert2.json"
    code, out, _ = run(["solve", path, "--out", target2, "--json", "--quiet"], capsys)
    assert code == 0
    assert json.loads(out) == json.loads(target2.read_text())


def test_sidecar_defaults_and_flag_overrides(write_instance, capsys):
    X, y = hinge_labels(13, 7, 2)
    path = write_instance(
        "side.csv", X, y, meta={"arch": "two-layer", "width": 1, "loss": "hinge", "B": 0.5}
    )
    code, out, _ = run(["solve", path, "--json", "--quiet"], capsys)
    assert code == 0
    data = json.loads(out)
    assert (data["arch"], data["width"], data["loss"], data["weight_bound"]) == (
        "two-layer",
        1,
        "hinge",
        0.5,
    )
    code, out, _ = run(
        [
            "solve",
            path,
            "--json",
            "--quiet",
            "--arch",
            "one-node",
            "--loss",
            "absolute",
            "--weight-bound",
            "3",
            "--no-bias",
        ],
        capsys,
    )
    assert code == 0
    data = json.loads(out)
    assert (data["arch"], data["width"], data["loss"], data["weight_bound"], data["bias"]) == (
        "one-node",
        1,
        "absolute",
        3.0,
        False,
    )
    assert data["weights"]["b"] == 0.0


def test_progress_lines_go_to_stderr(instance, capsys):
    path, _, _ = instance
    code, out, err = run(["solve", path, "--progress", "0.001"], capsys)
    assert code == 0
    assert out.splitlines()[1].split() == ["status", "optimal"]
    assert len(err.splitlines()) >= 1


# ----------------------------------------------------------------------------------------
# what the CLI passes to the API
# ----------------------------------------------------------------------------------------


@pytest.fixture
def recorded(monkeypatch):
    """Replace solve_module.solve by a recorder returning a real certificate."""
    calls = []
    real = solve_module.solve

    def fake(problem, **kwargs):
        calls.append((problem, kwargs))
        return real(problem)  # a real certificate for the CLI to print

    monkeypatch.setattr(solve_module, "solve", fake)
    return calls


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (
            [],
            {
                "method": "auto",
                "time_limit": None,
                "threads": None,
                "seed": 0,
                "log": False,
                "progress": 5.0,
            },
        ),
        (["--quiet"], {"progress": None}),
        (["--progress", "0.5"], {"progress": 0.5}),
        (
            ["--time-limit", "7", "--gap", "1e-4", "--threads", "1", "--seed", "3", "--log"],
            {"time_limit": 7.0, "gap": 1e-4, "threads": 1, "seed": 3, "log": True},
        ),
        (["--method", "gd"], {"method": "gd"}),
    ],
)
def test_options_reach_the_api(instance, recorded, capsys, flags, expected):
    path, _, _ = instance
    code, _, _ = run(["solve", path, *flags], capsys)
    assert code == 0
    ((problem, kwargs),) = recorded
    for key, value in expected.items():
        assert kwargs[key] == value, key
    if "--gap" not in flags:
        assert "gap" not in kwargs  # the API's own default applies
    assert isinstance(problem, Problem)


def test_method_choices_come_from_the_api(capsys):
    code = main(["solve", "--help"])
    out = capsys.readouterr().out
    assert code == 0
    for method in solve_module.available_methods():
        assert method in out


# ----------------------------------------------------------------------------------------
# errors: exit 2, one line, no traceback
# ----------------------------------------------------------------------------------------


def _npz(tmp_path, name, **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


BAD_FILES = {
    "missing": (lambda t: t / "nope.csv", r"nope\.csv: no such file"),
    "suffix": (lambda t: _text(t, "d.txt", "x,y\n1,2\n"), r"unknown instance type '\.txt'"),
    "cell": (lambda t: _text(t, "c.csv", "a,y\n1,2\nx1,3\n"), r"row 2 \(line 3\), column 1 .*'x1'"),
    "ragged": (lambda t: _text(t, "r.csv", "a,b,y\n1,2,3\n1,2\n"), r"row 2 \(line 3\) has 2 cells"),
    "one column": (lambda t: _text(t, "o.csv", "y\n1\n"), r"at least two columns"),
    "no rows": (lambda t: _text(t, "e.csv", "a,y\n"), r"at least one data row"),
    "npz no X": (lambda t: _npz(t, "a.npz", y=np.ones(3)), r"missing array\(s\) X"),
    "npz 1-D X": (lambda t: _npz(t, "b.npz", X=np.ones(3), y=np.ones(3)), r"X must be 2-D"),
    "npz n=0": (lambda t: _npz(t, "c.npz", X=np.ones((0, 2)), y=np.ones(0)), r"no samples"),
    "npz d=0": (lambda t: _npz(t, "d.npz", X=np.ones((3, 0)), y=np.ones(3)), r"no features"),
    "npz length": (
        lambda t: _npz(t, "e.npz", X=np.ones((3, 2)), y=np.ones(2)),
        r"y has 2 entries but X has 3 rows",
    ),
    "npz nan X": (
        lambda t: _npz(t, "f.npz", X=np.array([[1.0], [np.nan]]), y=np.ones(2)),
        r"X has a non-finite value",
    ),
    "npz inf y": (
        lambda t: _npz(t, "g.npz", X=np.ones((2, 1)), y=np.array([1.0, np.inf])),
        r"y has a non-finite value",
    ),
    "not npz": (lambda t: _text(t, "h.npz", "hello"), r"not a readable \.npz"),
    "empty npz": (lambda t: _text(t, "e.npz", ""), r"e\.npz: empty file$"),
    "empty csv": (lambda t: _text(t, "e.csv", ""), r"e\.csv: empty file$"),
    "directory": (lambda t: _directory(t, "d.npz"), r"d\.npz: is a directory, not a file$"),
    "no header": (
        lambda t: _text(t, "n.csv", "".join(f"{i},{i + 1},{i % 3}\n" for i in range(20))),
        r"first line \(0, 1, 0\) is all numbers.*add a header row",
    ),
    "complex X": (
        lambda t: _npz(t, "x.npz", X=np.ones((3, 2)) + 1j, y=np.ones(3)),
        r"X has complex values \(at row 1, column 1: \(1\+1j\)\)",
    ),
    "bad sidecar": (lambda t: _with_sidecar(t, "{oops"), r"s\.json: not valid JSON"),
    "sidecar list": (lambda t: _with_sidecar(t, "[]"), r"s\.json: must hold a JSON object"),
    "sidecar arch": (
        lambda t: _with_sidecar(t, '{"arch": "deep"}'),
        r"s\.json: arch must be one of one-node, two-layer; got 'deep'",
    ),
}


def _text(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def _directory(tmp_path, name):
    path = tmp_path / name
    path.mkdir()
    return path


def _with_sidecar(tmp_path, text):
    path = _text(tmp_path, "s.csv", "a,y\n1,2\n3,4\n")
    (tmp_path / "s.json").write_text(text)
    return path


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_files(tmp_path, capsys, name):
    make, pattern = BAD_FILES[name]
    code, out, err = run(["solve", make(tmp_path), "--quiet"], capsys)
    assert out == ""
    assert_one_line_error(code, err, 2, pattern)


BAD_FLAGS = [
    (["--weight-bound", "0"], r"weight bound must be a positive"),
    (["--weight-bound", "-1"], r"weight bound must be a positive"),
    (["--weight-bound", "nan"], r"weight bound must be a positive"),
    (["--weight-bound", "big"], r"weight bound must be a positive number or 'auto', got 'big'"),
    (["--arch", "two-layer", "--width", "0"], r"width must be an integer >= 1"),
    (["--width", "2"], r"width applies to two-layer networks only"),
    (["--arch", "two-layer", "--width", "two"], r"argument --width: invalid int value"),
    (["--time-limit", "0"], r"time limit must be a positive"),
    (["--time-limit", "-3"], r"time limit must be a positive"),
    (["--gap", "-1"], r"gap must be a finite number >= 0"),
    (["--threads", "0"], r"threads must be an integer >= 1"),
    (["--seed", "-1"], r"seed must be an integer >= 0"),
    (["--progress", "0"], r"progress must be a positive"),
    (["--progress", "1", "--quiet"], r"not allowed with argument"),
    (["--arch", "deep"], r"argument --arch: invalid choice: 'deep'"),
    (["--loss", "huber"], r"argument --loss: invalid choice: 'huber'"),
    (["--method", "magic"], r"argument --method: invalid choice: 'magic'"),
    (["--frobnicate"], r"unrecognized arguments: --frobnicate"),
    (["--loss", "hinge"], r"hinge loss needs labels exactly -1 or \+1; row \d+ has y = "),
    (["--out", "/nonexistent-dir/c.json"], r"--out .*does not exist"),
]


@pytest.mark.parametrize(("flags", "pattern"), BAD_FLAGS)
def test_bad_flags(instance, capsys, flags, pattern):
    path, _, _ = instance
    code, out, err = run(["solve", path, *flags], capsys)
    assert out == ""
    assert_one_line_error(code, err, 2, pattern)


@pytest.mark.parametrize(
    ("argv", "pattern"),
    [
        ([], r"required: COMMAND"),
        (["solve"], r"required: PATH"),
        (["train", "x.csv"], r"invalid choice: 'train'"),
    ],
)
def test_usage_errors(capsys, argv, pattern):
    code, out, err = run(argv, capsys)
    assert out == ""
    assert_one_line_error(code, err, 2, pattern)


def test_help_and_version(capsys):
    code, out, _ = run(["--help"], capsys)
    assert code == 0 and "solve" in out
    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out.startswith("exactrelu ")


def test_missing_dependency_is_bad_input(instance, monkeypatch, capsys):
    def fake(problem, **kwargs):
        raise MissingDependencyError("torch", "torch", "importing a PyTorch model")

    monkeypatch.setattr(solve_module, "solve", fake)
    code, _, err = run(["solve", instance[0], "--quiet"], capsys)
    assert_one_line_error(code, err, 2, r"needs the optional package 'torch'")


def test_internal_error_is_one_line_unless_debugging(instance, monkeypatch, capsys):
    def fake(problem, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(solve_module, "solve", fake)
    monkeypatch.delenv("EXACTRELU_DEBUG", raising=False)
    code, _, err = run(["solve", instance[0], "--quiet"], capsys)
    assert_one_line_error(code, err, 1, r"internal error: RuntimeError: boom second line")
    monkeypatch.setenv("EXACTRELU_DEBUG", "1")
    code, _, err = run(["solve", instance[0], "--quiet"], capsys)
    assert code == 1
    assert "Traceback" in err and "RuntimeError: boom" in err
    assert err.splitlines()[-1].startswith("exactrelu: error: internal error")


# ----------------------------------------------------------------------------------------
# python -m exactrelu (a real process: stdout must hold nothing but the JSON)
# ----------------------------------------------------------------------------------------


def _python_m(*args):
    env = {k: v for k, v in os.environ.items() if k != "EXACTRELU_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "exactrelu", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_python_m_json(instance):
    path, X, y = instance
    proc = _python_m("solve", path, "--json", "--quiet")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert CERTIFICATE_KEYS <= set(data) and data["status"] == "optimal"
    assert data["objective"] == pytest.approx(
        certificate_weights(Certificate.from_dict(data)).loss(X, y, "squared"), rel=1e-12
    )


def test_python_m_json_with_solver_log(instance):
    # the solver's log must not leak into stdout
    proc = _python_m("solve", instance[0], "--json", "--log")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "optimal"
    assert proc.stderr != ""


def test_python_m_error(tmp_path):
    proc = _python_m("solve", tmp_path / "missing.npz")
    assert proc.returncode == 2
    assert proc.stdout == ""
    expected = f"exactrelu: error: {tmp_path / 'missing.npz'}: no such file"
    assert proc.stderr.splitlines() == [expected]


# ----------------------------------------------------------------------------------------
# help texts and option lists
# ----------------------------------------------------------------------------------------


def test_plot_help_lists_every_kind_after_kinds(capsys):
    from exactrelu.cli.plot import KINDS

    code, out, _ = run(["plot", "--help"], capsys)
    assert code == 0
    after = " ".join(out.split("Kinds:", 1)[1].split())
    for kind, text in KINDS.items():
        assert f"{kind}: {' '.join(text.split())}" in after


def test_method_lists_take_commas_in_compare_and_plot_fit(instance, monkeypatch, capsys):
    path, _, _ = instance
    code, out, _ = run(["compare", path, "--methods", "gd,approx", "--json"], capsys)
    assert code == 0
    assert [row["method"] for row in json.loads(out)] == ["gd", "approx"]
    from exactrelu.bench import plots

    seen = []
    monkeypatch.setattr(plots, "plot_fit", lambda inst, out, methods, limit: seen.append(methods))
    code, _, _ = run(
        ["plot", "fit", path, "--methods", "gd, approx", "--out", path.parent / "f.png"], capsys
    )
    assert code == 0 and seen == [["gd", "approx"]]


def test_enumeration_limit_message_says_how_to_raise_it():
    import re

    from helpers import brute_force_optimum, random_problem

    problem = random_problem(3, 6, 1, loss="squared", arch="two-layer", width=2)
    with pytest.raises(ValueError, match=r"max_combinations") as info:
        solve(problem, method="enumerate", max_combinations=5)
    advice = re.search(
        r"exactrelu\.solve\(problem, method='enumerate', max_combinations=(\d+)\)", str(info.value)
    )
    assert advice is not None, str(info.value)
    # following the advice works, and gives the optimum
    cert = solve(problem, method="enumerate", max_combinations=int(advice[1]))
    assert cert.status == "optimal"
    assert cert.objective == pytest.approx(brute_force_optimum(problem), rel=1e-6, abs=1e-9)
