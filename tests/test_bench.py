"""The benchmark harness: suite files, checks against references, resume after a kill,
worker processes, Dask, peers (skipped visibly when not installed), generate and plots."""

from __future__ import annotations

import importlib.util
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from exactrelu.bench.checks import check_result
from exactrelu.bench.report import summary
from exactrelu.bench.runner import run_suite
from exactrelu.bench.store import read_results
from exactrelu.bench.suite import load_suite, parse_suite
from exactrelu.cli import main
from exactrelu.errors import InvalidInputError
from exactrelu.generate import write_generated

INSTANCES = Path(__file__).resolve().parent.parent / "instances"
TRIVIAL = "planted-one-node-n12-d2-noise0.1"  # certified by 4 methods, each in < 0.2 s


def _copy(tmp_path: Path, name: str = TRIVIAL, suffix: str = ".npz") -> Path:
    for ext in (suffix, ".json"):
        shutil.copy(INSTANCES / f"{name}{ext}", tmp_path / f"{name}{ext}")
    return tmp_path / f"{name}{suffix}"


def _suite(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "suite.txt"
    path.write_text(body)
    return path


# ----------------------------------------------------------------------------------------
# suite files
# ----------------------------------------------------------------------------------------


def test_suite_is_the_product_of_instances_methods_and_settings(tmp_path):
    _copy(tmp_path)
    suite = load_suite(
        _suite(
            tmp_path,
            f"""
        # comment
        instances {TRIVIAL}.npz      # relative to the suite file
        methods   mip approx:k=2 gd
        time_limit 5 10
        threads   1
        seeds     0 1
    """.replace("\n        ", "\n"),
        )
    )
    tasks = suite.tasks()
    assert len(tasks) == 1 * 3 * 2 * 1 * 2
    assert len({t.key for t in tasks}) == len(tasks)  # keys identify runs
    assert {t.method.label for t in tasks} == {"mip", "approx:k=2", "gd"}
    assert dict(tasks[2 * 2 * 1].method.options) == {"k": 2}


@pytest.mark.parametrize(
    "body, message",
    [
        ("instances x.npz\nmethods mip", "no .npz or .csv instance matches"),
        ("instances {inst}\nmethods nosuch", "unknown method 'nosuch'"),
        ("instances {inst}\nmethods mip\nfoo 1", "unknown key 'foo'"),
        ("instances {inst}\nmethods mip\ntime_limit -1", "time_limit must be > 0"),
        ("instances {inst}\nmethods mip\nthreads two", "threads must be int values"),
        ("instances {inst}", "no methods"),
        ("methods mip", "no instances"),
        ("instances {inst}\nmethods approx:k", "must be key=value"),
    ],
)
def test_bad_suites_are_rejected_with_the_line(tmp_path, body, message):
    inst = _copy(tmp_path).name
    with pytest.raises(InvalidInputError, match=message):
        parse_suite(body.format(inst=inst), base=tmp_path)


# ----------------------------------------------------------------------------------------
# checks against the reference
# ----------------------------------------------------------------------------------------


def _row(method="mip", status="optimal", loss=1.0, bound=1.0):
    return {"method": method, "status": status, "loss": loss, "bound": bound}


@pytest.mark.parametrize(
    "row, meta, expected",
    [
        (_row(), {"optimum": 1.0}, "ok"),
        (_row(loss=1.0 + 1e-7, bound=1.0), {"optimum": 1.0}, "ok"),  # within 2e-6 relative
        (_row(loss=0.99, bound=0.9), {"optimum": 1.0}, "mismatch"),  # better than the optimum
        (_row(loss=1.2, bound=1.1), {"optimum": 1.0}, "mismatch"),  # bound above the optimum
        (_row(loss=1.2, bound=1.2), {"optimum": 1.0}, "mismatch"),  # "optimal" but worse
        (_row("gd", "feasible", 1.2, None), {"optimum": 1.0}, "ok"),  # heuristics may be worse
        (_row("mip", "time_limit", 1.2, 0.5), {"optimum": 1.0}, "ok"),
        (_row("gd", "feasible", 0.5, None), {"best_known": 1.0, "bound": 0.8}, "mismatch"),
        (_row("mip", "time_limit", 0.9, 0.85), {"best_known": 1.0, "bound": 0.8}, "ok"),
        (_row(), {}, "no-reference"),
        (_row(status="skipped", loss=None, bound=None), {"optimum": 1.0}, "-"),
    ],
)
def test_check_result(row, meta, expected):
    assert check_result(row, meta)[0] == expected


# ----------------------------------------------------------------------------------------
# running suites
# ----------------------------------------------------------------------------------------


def test_sweep_runs_every_method_and_peer_and_agrees_with_the_reference(tmp_path):
    _copy(tmp_path)
    suite = load_suite(
        _suite(
            tmp_path,
            f"instances {TRIVIAL}.npz\n"
            "methods mip bnb enumerate approx gd scip gurobi highs-naive\n"
            "time_limit 30\nthreads 1\n",
        )
    )
    out = tmp_path / "results.jsonl"
    report = run_suite(suite, out, progress=False)
    rows = {r["method"]: r for r in report.rows}
    assert set(rows) == {"mip", "bnb", "enumerate", "approx", "gd", "scip", "gurobi", "highs-naive"}
    for method in ("scip", "gurobi"):  # optional peers: a visible skip when not installed
        package = {"scip": "pyscipopt", "gurobi": "gurobipy"}[method]
        if importlib.util.find_spec(package) is None:
            assert rows[method]["status"] == "skipped"
            assert package in rows[method]["note"]
    finished = [r for r in report.rows if r["status"] != "skipped"]
    assert all(r["check"] == "ok" for r in finished), [(r["method"], r["note"]) for r in finished]
    for method in ("mip", "bnb", "enumerate", "highs-naive"):
        assert rows[method]["status"] == "optimal"
    row = rows["mip"]
    for key in (
        "instance",
        "method",
        "status",
        "loss",
        "bound",
        "gap",
        "seconds",
        "nodes",
        "versions",
        "n",
        "d",
        "arch",
        "loss_function",
        "reference",
        "weights",
    ):
        assert key in row
    assert row["versions"]["highspy"]
    assert report.exit_code == 0
    text = summary(report)
    assert "Time relative to exactrelu mip" in text and "8 runs" in text


def test_peers_side_by_side_visible_skip():
    """Runs only with both peers installed; the skip reason names what is missing."""
    missing = [p for p in ("pyscipopt", "gurobipy") if importlib.util.find_spec(p) is None]
    if missing:
        pytest.skip(f"peer solver package(s) not installed: {', '.join(missing)}")
    from exactrelu.bench.executors import run_method
    from exactrelu.instances import load_instance

    instance = load_instance(INSTANCES / "misspecified-n12-d2-abs.npz")
    losses = [
        run_method(m, instance.problem(), time_limit=30, threads=1, seed=0).objective
        for m in ("scip", "gurobi", "highs-naive", "mip")
    ]
    assert np.allclose(losses, instance.meta["optimum"], rtol=2e-6)


def test_gurobi_size_limit_is_a_skip_with_a_note():
    if importlib.util.find_spec("gurobipy") is None:
        pytest.skip("gurobipy not installed")
    from exactrelu import Problem
    from exactrelu.bench.executors import Skipped, run_method

    X = np.random.default_rng(0).uniform(-1, 1, size=(1100, 2))
    problem = Problem(X, np.maximum(0, X @ [1.0, -1.0]), weight_bound=2.0)
    try:
        run_method("gurobi", problem, time_limit=5, threads=1, seed=0)
    except Skipped as exc:
        assert "licence" in str(exc)
    else:
        pytest.skip("this Gurobi licence is not size-limited")


def test_mismatch_is_loud_and_exit_code_1(tmp_path, capsys):
    path = _copy(tmp_path)
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["optimum"] *= 1.5  # a wrong reference: every method finds a better loss
    path.with_suffix(".json").write_text(json.dumps(meta))
    suite = load_suite(_suite(tmp_path, f"instances {path.name}\nmethods enumerate\n"))
    report = run_suite(suite, tmp_path / "r.jsonl")
    assert report.exit_code == 1
    assert report.mismatches and "below the reference optimum" in report.mismatches[0]["note"]
    assert "MISMATCH" in capsys.readouterr().err
    assert "MISMATCH" in summary(report)


def test_crashing_run_is_an_error_row_and_the_sweep_goes_on(tmp_path, monkeypatch):
    _copy(tmp_path)
    suite = load_suite(_suite(tmp_path, f"instances {TRIVIAL}.npz\nmethods approx gd\n"))
    import exactrelu.bench.executors as executors

    real = executors.run_method

    def flaky(name, *args, **kwargs):
        if name == "approx":
            raise RuntimeError("boom")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(executors, "run_method", flaky)
    report = run_suite(suite, tmp_path / "r.jsonl", progress=False)
    statuses = {r["method"]: r["status"] for r in report.rows}
    assert statuses == {"approx": "error", "gd": "feasible"}
    assert "RuntimeError: boom" in report.errors[0]["note"]
    assert report.exit_code == 1


def test_rerun_skips_finished_rows_and_repairs_a_torn_line(tmp_path):
    _copy(tmp_path)
    suite = load_suite(_suite(tmp_path, f"instances {TRIVIAL}.npz\nmethods approx gd\n"))
    out = tmp_path / "r.jsonl"
    first = run_suite(suite, out, progress=False)
    assert first.ran == 2
    with out.open("a") as handle:
        handle.write('{"key": "torn')  # what a kill in the middle of a write leaves
    second = run_suite(suite, out, progress=False)
    assert second.ran == 0 and second.skipped_done == 2
    assert out.read_text().endswith("\n")  # the torn line was cut off
    assert len(read_results(out)) == 2


def test_sweep_killed_halfway_and_restarted_has_every_row_once(tmp_path):
    """Run in a subprocess, SIGKILL it after the first row, rerun: every row exactly once."""
    path = _copy(tmp_path, "planted-one-node-n40-d2")
    # highs-naive on squared loss runs to its 1 s time limit here: 6 runs take ~6 s
    suite = _suite(
        tmp_path,
        f"instances {path.name}\nmethods highs-naive\ntime_limit 1\nthreads 1\nseeds 0 1 2 3 4 5\n",
    )
    out = tmp_path / "r.jsonl"
    command = [
        sys.executable,
        "-m",
        "exactrelu",
        "bench",
        str(suite),
        "--out",
        str(out),
        "--quiet",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= 1:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_rows = len(read_results(out))
    assert 1 <= killed_rows < 6, "the kill should land in the middle of the sweep"
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    keys = [json.loads(line)["key"] for line in out.read_text().splitlines()]
    assert len(keys) == 6 and len(set(keys)) == 6
    assert "6 runs" in rerun.stdout and f"{killed_rows} from" in rerun.stdout


def test_worker_processes(tmp_path):
    _copy(tmp_path)
    _copy(tmp_path, "misspecified-n12-d2-abs")
    suite = load_suite(_suite(tmp_path, "instances *.npz\nmethods enumerate approx\nthreads 1\n"))
    report = run_suite(suite, tmp_path / "r.jsonl", workers=2, progress=False)
    assert len(report.rows) == 4 and report.exit_code == 0
    assert all(r["check"] == "ok" for r in report.rows)


def test_dask_local_cluster_on_loopback(tmp_path):
    if importlib.util.find_spec("distributed") is None:
        pytest.skip("dask distributed not installed (pip install 'exactrelu[dask]')")
    from distributed import LocalCluster

    _copy(tmp_path)
    suite = load_suite(
        _suite(tmp_path, f"instances {TRIVIAL}.npz\nmethods enumerate gd\nthreads 1\n")
    )
    # tcp on loopback (processes=False would default to the in-process transport)
    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        host="127.0.0.1",
        protocol="tcp://",
        dashboard_address=None,
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        report = run_suite(
            suite, tmp_path / "r.jsonl", scheduler=cluster.scheduler_address, progress=False
        )
    assert sorted(r["method"] for r in report.rows) == ["enumerate", "gd"]
    assert report.exit_code == 0
    assert len(read_results(tmp_path / "r.jsonl")) == 2


def test_bad_scheduler_address_is_bad_input(tmp_path, monkeypatch):
    if importlib.util.find_spec("distributed") is None:
        pytest.skip("dask distributed not installed (pip install 'exactrelu[dask]')")
    import exactrelu.bench.executors as executors

    monkeypatch.setattr(executors, "DASK_CONNECT_TIMEOUT", "1s")
    _copy(tmp_path)
    suite = load_suite(_suite(tmp_path, f"instances {TRIVIAL}.npz\nmethods gd\n"))
    with pytest.raises(InvalidInputError, match="cannot connect"):
        run_suite(suite, tmp_path / "r.jsonl", scheduler="tcp://127.0.0.1:9", progress=False)


# ----------------------------------------------------------------------------------------
# command-line registration, generate, plots
# ----------------------------------------------------------------------------------------


def test_bench_subcommand_exit_codes(tmp_path, capsys):
    _copy(tmp_path)
    suite = _suite(tmp_path, f"instances {TRIVIAL}.npz\nmethods gd\n")
    assert main(["bench", str(suite), "--out", str(tmp_path / "r.jsonl"), "--quiet"]) == 0
    assert "1 runs" in capsys.readouterr().out


def test_generate_is_reproducible_and_refuses_to_overwrite(tmp_path):
    a = write_generated("planted-one-node", 15, 2, tmp_path / "a.npz", noise=0.2, seed=7)
    b = write_generated("planted-one-node", 15, 2, tmp_path / "b.npz", noise=0.2, seed=7)
    with np.load(a) as fa, np.load(b) as fb:
        assert np.array_equal(fa["X"], fb["X"]) and np.array_equal(fa["y"], fb["y"])
    meta = json.loads((tmp_path / "a.json").read_text())
    assert meta["generator"] == {**meta["generator"], "family": "planted-one-node", "seed": 7}
    with pytest.raises(InvalidInputError, match="exists"):
        write_generated("planted-one-node", 15, 2, a)
    with pytest.raises(InvalidInputError, match=r"\.npz or \.csv"):
        write_generated("xor", 15, 2, tmp_path / "c.txt")
    assert main(["generate", "xor", "--n", "9", "--d", "2", "--out", str(tmp_path / "x.csv")]) == 0
    assert json.loads((tmp_path / "x.json").read_text())["loss"] == "hinge"


def test_plots_write_png(tmp_path):
    if importlib.util.find_spec("matplotlib") is None:
        pytest.skip("matplotlib not installed (pip install 'exactrelu[plot]')")
    from exactrelu.bench.plots import plot_fit, plot_gap, plot_time

    _copy(tmp_path)
    suite = load_suite(_suite(tmp_path, f"instances {TRIVIAL}.npz\nmethods enumerate approx gd\n"))
    out = tmp_path / "r.jsonl"
    run_suite(suite, out, progress=False)
    for path in (
        plot_time(out, tmp_path / "time.png"),
        plot_gap(out, tmp_path / "gap.png"),
        plot_fit(
            INSTANCES / "planted-one-node-n10-d1-noise0.npz",
            tmp_path / "fit.png",
            ["enumerate", "gd"],
        ),
    ):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(InvalidInputError, match=r"\.png"):
        plot_time(out, tmp_path / "time.pdf")


def test_plot_time_draws_a_fast_unproven_run_apart_from_a_stopped_one(tmp_path, monkeypatch):
    if importlib.util.find_spec("matplotlib") is None:
        pytest.skip("matplotlib not installed (pip install 'exactrelu[plot]')")
    from exactrelu.bench import plots

    rows = [
        {"key": "a", "method": "mip", "n": 10, "loss": 1.0, "seconds": 0.5, "status": "optimal"},
        {"key": "b", "method": "mip", "n": 20, "loss": 1.0, "seconds": 0.4, "status": "not_proven"},
        {"key": "c", "method": "mip", "n": 30, "loss": 1.0, "seconds": 60, "status": "time_limit"},
    ]
    results = tmp_path / "r.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in rows))
    figures = []
    monkeypatch.setattr(plots, "_save", lambda fig, out: figures.append(fig) or out)
    plots.plot_time(results, tmp_path / "t.png")
    lines = figures[0].axes[0].get_lines()
    hollow = [ln for ln in lines if ln.get_markerfacecolor() == "none" and len(ln.get_xdata())]
    crosses = [ln for ln in lines if ln.get_marker() == "x" and len(ln.get_xdata())]
    assert [list(ln.get_xdata()) for ln in hollow] == [[30.0]]
    assert [list(ln.get_xdata()) for ln in crosses] == [[20.0]]
    assert "hollow: stopped by the clock or the user" in figures[0].axes[0].get_title()
