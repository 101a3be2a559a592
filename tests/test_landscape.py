"""The gradient-descent landscape (docs/landscape.md): gaps against the certificate and the
brute-force oracle, activation patterns, summaries against the rows, wider networks,
resuming after a kill, the trainers, bad input, the plot and the study runner."""

from __future__ import annotations

import importlib.util
import itertools
import json
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import planted_one_node, planted_two_layer
from oracle import brute_force, forward, loss_value

import exactrelu
from exactrelu import InvalidInputError, MissingDependencyError, Problem, TwoLayerNetwork
from exactrelu.bench.landscape_study import (
    LandscapeTask,
    run_study,
    study_overview,
    study_table,
)
from exactrelu.bench.store import read_results
from exactrelu.cli import main
from exactrelu.landscapes import (
    SHARE_LEVELS,
    LandscapeReport,
    differing_samples,
    read_landscape,
    same_pattern,
)

INSTANCES = Path(__file__).resolve().parent.parent / "instances"
ONE_NODE = "planted-one-node-n40-d2"  # certified in under a second; runs land in two basins


def _copy(tmp_path: Path, name: str = ONE_NODE) -> Path:
    for ext in (".npz", ".json"):
        shutil.copy(INSTANCES / f"{name}{ext}", tmp_path / f"{name}{ext}")
    return tmp_path / f"{name}.npz"


def _oracle_loss(X, y, weights: dict, loss: str) -> float:
    """A run's loss from its weights, by the oracle's own forward pass."""
    if "w" in weights:
        W, b, v, c = np.array([weights["w"]]), np.array([weights["b"]]), np.ones(1), 0.0
    else:
        W, b, v, c = (np.array(weights[k], float) for k in ("W", "b", "v", "c"))
    return loss_value(y, forward(X, W, b, v, float(c)), loss)


# ----------------------------------------------------------------------------------------
# gaps against the certificate and the oracle
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arch", "width", "data"),
    [
        ("one-node", None, lambda: planted_one_node(3, 8, 2, noise=0.0)),
        ("two-layer", 2, lambda: planted_two_layer(4, 6, 2, noise=0.0)),
    ],
    ids=["one-node", "two-layer"],
)
def test_realisable_instance_no_run_below_the_proven_optimum(arch, width, data):
    X, y = data()
    problem = Problem(X, y, arch=arch, width=width)
    oracle = brute_force(X, y, arch=arch, width=width or 1, loss="squared")
    assert oracle.loss < 1e-9  # realisable: the planted network fits exactly
    report = exactrelu.landscape(problem, restarts=24, time_limit=60, epochs=20000)
    cert = report.certificate
    assert cert.status == "optimal"
    assert cert.bound <= oracle.loss + 1e-9
    assert report.near_zero  # gaps relative to the floor, not to a zero optimum
    rows = report.rows()
    runs = [r for r in rows if r["kind"] == "run"]
    assert len(runs) == 24
    for row in runs:
        # the run's loss, recomputed by the oracle, is what the report says, and no
        # network of the class beats the brute-force optimum
        assert row["loss"] == pytest.approx(
            _oracle_loss(X, y, row["weights"], "squared"), rel=1e-9, abs=1e-12
        )
        assert row["in_class"]
        assert row["loss"] >= oracle.loss - 1e-9
        assert row["gap_upper"] >= 0.0 and row["gap"] >= 0.0 and row["excess"] >= 0.0
        if row["pattern_match"]:
            # the optimum's pattern and signs: a convex problem, so its minimum
            assert row["gap"] <= 1e-3 and row["loss"] <= 1e-9 * report.settings["zero_loss"]
    assert any(r["pattern_match"] for r in runs)  # the property is not vacuous
    assert not report.below_bound()


@pytest.mark.parametrize(
    ("arch", "width", "data"),
    [
        ("one-node", None, lambda: planted_one_node(5, 8, 2, noise=0.3)),
        # d = 1: 5 parameters for 6 samples, so the noise cannot be fitted exactly
        ("two-layer", 2, lambda: planted_two_layer(4, 6, 1, noise=0.1)),
    ],
    ids=["one-node", "two-layer"],
)
def test_noisy_instance_gaps_against_the_oracle_optimum(arch, width, data):
    X, y = data()
    problem = Problem(X, y, arch=arch, width=width)
    optimum = brute_force(X, y, arch=arch, width=width or 1, loss="squared").loss
    assert optimum > 1e-3
    report = exactrelu.landscape(problem, restarts=20, time_limit=60)
    assert report.certified and not report.near_zero
    assert report.best_loss == pytest.approx(optimum, rel=1e-6)
    for run in report.runs:
        assert run.loss >= optimum * (1 - 1e-6)
        assert report.gap(run) == pytest.approx((run.loss - optimum) / optimum, abs=1e-5)
        assert report.gap(run) <= report.gap_upper(run) + 1e-12
        if run.pattern_match and run.converged:
            # a local minimum on the optimum's pattern is the minimum of that pattern's
            # convex problem, which is the optimum
            assert report.gap(run) <= 1e-3
    assert any(run.pattern_match and run.converged for run in report.runs)


def test_summary_shares_agree_with_the_rows(tmp_path):
    path = _copy(tmp_path)
    problem = exactrelu.load_instance(path).problem()
    report = exactrelu.landscape(problem, restarts=30, time_limit=60)
    rows = report.rows()
    runs = [r for r in rows if r["kind"] == "run"]
    summary = rows[-1]
    assert summary["kind"] == "summary" and summary["runs"] == len(runs) == 30
    for level in SHARE_LEVELS:
        key = f"within_{100 * level:g}pct"
        # recomputed from the losses, not from the rows' flags
        expected = np.mean(
            [(r["loss"] - report.best_loss) / report.best_loss <= level for r in runs]
        )
        assert summary[key] == pytest.approx(expected)
        assert summary[key] == pytest.approx(np.mean([r[key] for r in runs]))
    assert summary["pattern_match"] == pytest.approx(np.mean([r["pattern_match"] for r in runs]))
    assert summary["dead_unit_runs"] == pytest.approx(
        np.mean([bool(r["dead_units"]) for r in runs])
    )
    assert summary["converged"] == pytest.approx(np.mean([r["converged"] for r in runs]))
    gaps = [r["gap"] for r in runs]
    assert summary["median_gap"] == pytest.approx(statistics.median(gaps))
    assert summary["worst_gap"] == max(gaps) and summary["best_gap"] == min(gaps)
    # this instance has a spurious basin (the dead unit), so the shares are not trivial
    assert 0 < summary["within_1pct"] < 1
    # runs on the optimum's pattern have found it; every dead run has not
    assert all(r["gap"] < 1e-6 for r in runs if r["pattern_match"])
    assert all(r["gap"] > 1 for r in runs if r["dead_units"])


@pytest.mark.parametrize("loss", ["squared", "absolute"])
def test_free_output_descent_stays_in_the_class(loss):
    from exactrelu.methods.gd import descend_free_output

    X, y = planted_two_layer(3, 20, 2, noise=0.1)
    problem = Problem(X, y, arch="two-layer", width=2, loss=loss, weight_bound=2.0)
    rng = np.random.default_rng(0)
    Theta, a, c = rng.normal(0, 3, size=(6, 2, 3)), rng.normal(0, 3, size=(6, 2)), np.zeros(6)
    result = descend_free_output(problem, Theta, a, c, max_iter=300)
    for k, net in enumerate(result.networks):
        assert net.max_abs_weight() <= 2.0  # big starts were shrunk onto the box
        assert net.loss(X, y, loss) == pytest.approx(result.losses[k], rel=1e-9)
        W, b = Theta[k, :, :2], Theta[k, :, 2]
        if loss == "squared":  # the loss never rises: the result is no worse than the start
            m = np.abs(a[k]) * np.abs(Theta[k]).max(axis=1)
            shrink = np.where(m > 2.0, np.sqrt(2.0 / m), 1.0)
            start = loss_value(
                y, forward(X, W * shrink[:, None], b * shrink, a[k] * shrink, 0), loss
            )
            assert result.losses[k] <= start + 1e-12


def test_free_output_descent_started_at_the_optimum_stays_there():
    from exactrelu.methods.gd import descend_free_output

    X, y = planted_two_layer(4, 6, 1, noise=0.1)
    problem = Problem(X, y, arch="two-layer", width=2, weight_bound=2.0)
    best = brute_force(X, y, arch="two-layer", width=2, loss="squared")
    Theta = np.concatenate([best.W, best.b[:, None]], axis=1)[None]
    result = descend_free_output(problem, Theta, best.v[None], np.array([best.c]), max_iter=500)
    assert result.losses[0] == pytest.approx(best.loss, rel=1e-7)


# ----------------------------------------------------------------------------------------
# activation patterns
# ----------------------------------------------------------------------------------------


def _same_by_permutations(X, run: TwoLayerNetwork, optimum: TwoLayerNetwork) -> bool:
    """Reference: some permutation of the optimum's units gives the run's pattern and
    signs; a sample where the optimum's unit is exactly 0 matches either way, and signs
    count where the optimum's unit is active somewhere."""
    za, zb = run.pre_activations(X), optimum.pre_activations(X)
    for perm in itertools.permutations(range(run.width)):
        if all(
            all(zb[i, k] == 0 or (za[i, j] > 0) == (zb[i, k] > 0) for i in range(len(X)))
            and (not (zb[:, k] > 0).any() or run.v[j] == optimum.v[k])
            for j, k in enumerate(perm)
        ):
            return True
    return False


def test_same_pattern_agrees_with_every_permutation():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 2))
    checked = 0
    for _ in range(300):
        h = int(rng.integers(1, 4))
        nets = [
            TwoLayerNetwork(
                np.round(rng.normal(size=(h, 2))),  # coarse weights: patterns often coincide
                np.round(rng.normal(size=h)) - 2.0 * (rng.random(h) < 0.3),
                rng.choice([-1.0, 1.0], size=h),
                0.0,
            )
            for _ in range(2)
        ]
        expected = _same_by_permutations(X, *nets)
        assert same_pattern(X, *nets) == expected
        checked += expected
    assert checked > 10  # some pairs do match


def test_a_sample_on_the_optimums_boundary_matches_either_way():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    optimum = TwoLayerNetwork([[1.0, 0.0]], [0.0], [1.0], 0.0)  # z = (1, 0, -1)
    above = TwoLayerNetwork([[1.0, 0.1]], [0.0], [1.0], 0.0)  # sample 1 active
    below = TwoLayerNetwork([[1.0, -0.1]], [0.0], [1.0], 0.0)  # sample 1 inactive
    other = TwoLayerNetwork([[-1.0, 0.0]], [0.0], [1.0], 0.0)
    assert same_pattern(X, above, optimum) and same_pattern(X, below, optimum)
    assert not same_pattern(X, other, optimum)
    assert differing_samples(X, above, optimum) == differing_samples(X, below, optimum) == 0
    assert differing_samples(X, other, optimum) == 2


def test_same_pattern_ignores_unit_order_and_dead_signs_but_not_live_signs():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    net = TwoLayerNetwork([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], [0.0, 0.0, -1.0], [1, -1, 1], 0.0)
    swapped = TwoLayerNetwork(net.W[[1, 0, 2]], net.b[[1, 0, 2]], net.v[[1, 0, 2]], 0.0)
    dead_flipped = TwoLayerNetwork(net.W, net.b, [1, -1, -1], 0.0)
    live_flipped = TwoLayerNetwork(net.W, net.b, [-1, -1, 1], 0.0)
    assert same_pattern(X, net, swapped) and same_pattern(X, net, dead_flipped)
    assert not same_pattern(X, net, live_flipped)


# ----------------------------------------------------------------------------------------
# wider networks, seeds, resuming
# ----------------------------------------------------------------------------------------


def test_wider_runs_are_compared_with_the_narrower_optimum(tmp_path):
    path = _copy(tmp_path)
    problem = exactrelu.load_instance(path).problem()
    narrow = exactrelu.landscape(problem, restarts=10, time_limit=60)
    wide = exactrelu.landscape(problem, restarts=10, train_width=3, certificate=narrow.certificate)
    assert wide.certificate.objective == narrow.certificate.objective
    assert wide.wider and all(r.width == 3 and not r.in_class for r in wide.runs)
    assert all(r.pattern_match is None for r in wide.runs)
    # the narrower optimum, padded with zero units, is a width-3 network of the same loss:
    # an upper bound on the width-3 optimum
    opt = narrow.certificate.network.as_two_layer()
    padded = TwoLayerNetwork(
        np.vstack([opt.W, np.zeros((2, 2))]), np.r_[opt.b, 0, 0], np.r_[opt.v, 1, 1], opt.c
    )
    assert padded.loss(problem.X, problem.y) == pytest.approx(narrow.best_loss)
    # a wider run may beat the class optimum: a negative gap, not a contradiction
    assert min(wide.gap(r) for r in wide.runs) < 0
    assert not wide.below_bound()
    assert wide.best_loss == wide.certificate.objective  # wider runs never lower it
    summary = wide.summary_dict()
    assert summary["reached"] == pytest.approx(np.mean([wide.gap(r) <= 1e-4 for r in wide.runs]))
    assert any("at least as good as the best width-1 network" in n for n in wide.notes())
    assert "at least as good as the best width-1 network" in wide.summary()


def test_runs_depend_on_their_seed_only(tmp_path):
    path = _copy(tmp_path)
    problem = exactrelu.load_instance(path).problem(arch="two-layer", width=2)
    cert = exactrelu.solve(problem, method="gd", restarts=5)  # any certificate will do
    few = exactrelu.landscape(problem, restarts=4, certificate=cert, epochs=300)
    many = exactrelu.landscape(problem, restarts=13, certificate=cert, epochs=300)
    assert [r.weights for r in few.runs] == [r.weights for r in many.runs[:4]]
    other = exactrelu.landscape(problem, restarts=4, certificate=cert, epochs=300, seed=1)
    assert [r.weights for r in other.runs] != [r.weights for r in few.runs]
    # resumed in two steps through a file: the same runs as in one go
    out = tmp_path / "runs.jsonl"
    exactrelu.landscape(problem, restarts=6, certificate=cert, epochs=300, out=out)
    resumed = exactrelu.landscape(problem, restarts=13, certificate=cert, epochs=300, out=out)
    assert [r.weights for r in resumed.runs] == [r.weights for r in many.runs]
    keys = [row["key"] for row in read_results(out)]
    assert len(keys) == len(set(keys)) == 2 + 13


@pytest.mark.slow
def test_landscape_killed_midway_resumes_without_repeating_runs(tmp_path):
    """SIGKILL the command after its first runs are written, rerun: every row once."""
    path = _copy(tmp_path)
    out = tmp_path / "runs.jsonl"
    # wide networks converge slowly: the runs stop one by one over seconds
    command = [
        sys.executable,
        "-m",
        "exactrelu",
        "landscape",
        str(path),
        "--restarts",
        "20",
        "--train-width",
        "3",
        "--epochs",
        "20000",
        "--out",
        str(out),
        "--quiet",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and b'"kind": "run"' in out.read_bytes():
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = read_results(out)
    runs_before = [r for r in before if r["kind"] == "run"]
    assert 1 <= len(runs_before) < 20, "the kill should land in the middle of the runs"
    cert_before = next(r for r in before if r["kind"] == "certificate")
    rerun = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    keys = [r["key"] for r in rows]
    assert len(keys) == len(set(keys)) == 2 + 20  # settings, certificate, 20 runs
    # the finished runs were not repeated: their rows are the ones written before the kill
    assert rows[: len(before)] == before
    # nor was the certificate solved again
    assert next(r for r in rows if r["kind"] == "certificate") == cert_before
    printed = [json.loads(line) for line in rerun.stdout.splitlines()]
    assert [r["kind"] for r in printed].count("run") == 20 and printed[-1]["runs"] == 20


def test_a_resumed_file_must_hold_the_same_landscape(tmp_path):
    path = _copy(tmp_path)
    problem = exactrelu.load_instance(path).problem()
    out = tmp_path / "runs.jsonl"
    exactrelu.landscape(problem, restarts=2, out=out, epochs=50)
    with pytest.raises(InvalidInputError, match=r"other settings.*epochs"):
        exactrelu.landscape(problem, restarts=2, out=out, epochs=60)
    other = Problem(problem.X, problem.y[::-1], arch="one-node")
    with pytest.raises(InvalidInputError, match=r"other settings.*data"):
        exactrelu.landscape(other, restarts=2, out=out, epochs=50)


# ----------------------------------------------------------------------------------------
# certificates given by the caller
# ----------------------------------------------------------------------------------------


def test_certificate_file_is_reused_and_checked(tmp_path, capsys):
    path = _copy(tmp_path)
    cert_path = tmp_path / "cert.json"
    assert main(["solve", str(path), "--out", str(cert_path), "--quiet"]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "landscape",
                str(path),
                "--certificate",
                str(cert_path),
                "--restarts",
                "3",
                "--json",
                "--quiet",
            ]
        )
        == 0
    )
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[1]["source"] == str(cert_path)
    assert rows[1]["certificate"]["objective"] == json.loads(cert_path.read_text())["objective"]
    # another class, or a tampered loss: one line, exit 2
    assert (
        main(
            [
                "landscape",
                str(path),
                "--certificate",
                str(cert_path),
                "--arch",
                "two-layer",
                "--quiet",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "certificate of another problem" in err and "arch" in err
    tampered = json.loads(cert_path.read_text())
    tampered["objective"] *= 0.5
    cert_path.write_text(json.dumps(tampered))
    assert main(["landscape", str(path), "--certificate", str(cert_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not the certificate's" in err


def test_a_wrong_bound_is_reported_not_hidden(tmp_path):
    path = _copy(tmp_path)
    problem = exactrelu.load_instance(path).problem()
    cert = exactrelu.solve(problem)
    wrong = exactrelu.Certificate.from_dict({**cert.to_dict(), "bound": cert.objective})
    wrong.bound = cert.objective  # claims the certificate's own loss as a bound...
    wrong.weights = exactrelu.solve(problem, method="gd", restarts=1, seed=3).weights
    wrong.objective = exactrelu.OneNodeNetwork(**wrong.weights).loss(problem.X, problem.y)
    wrong.bound = wrong.objective  # ... for a network that is not optimal
    report = exactrelu.landscape(problem, restarts=10, certificate=wrong)
    if report.best_loss < wrong.bound * (1 - 1e-6):
        assert report.below_bound()
        assert any("below the certificate's proven bound" in n for n in report.notes())
    assert report.bound <= report.best_loss


# ----------------------------------------------------------------------------------------
# trainers
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("trainer", ["torch", "sklearn"])
def test_foreign_trainers_are_normalised_and_compared(trainer, tmp_path):
    if importlib.util.find_spec(trainer) is None:
        pytest.skip(f"{trainer} not installed")
    X, y = planted_two_layer(2, 20, 2, noise=0.1)
    problem = Problem(X, y, arch="two-layer", width=2)
    cert = exactrelu.solve(problem, method="gd", restarts=10)
    if trainer == "torch":
        import torch

        state = torch.random.get_rng_state()
    report = exactrelu.landscape(problem, restarts=3, trainer=trainer, epochs=150, certificate=cert)
    if trainer == "torch":
        assert torch.equal(state, torch.random.get_rng_state())  # the caller's RNG untouched
    for run in report.runs:
        assert run.width == 2 and run.epochs <= 150
        assert run.loss == pytest.approx(_oracle_loss(X, y, run.weights, "squared"), rel=1e-9)
        assert run.in_class == (run.network.max_abs_weight() <= 2.0 * (1 + 1e-9))
    again = exactrelu.landscape(problem, restarts=3, trainer=trainer, epochs=150, certificate=cert)
    assert [r.loss for r in again.runs] == [r.loss for r in report.runs]  # seeded


def test_missing_trainer_package_names_the_extra(monkeypatch, tmp_path, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    path = _copy(tmp_path)
    problem = exactrelu.load_instance(path).problem()
    with pytest.raises(MissingDependencyError, match=r"exactrelu\[torch\]"):
        exactrelu.landscape(problem, trainer="torch")
    assert main(["landscape", str(path), "--trainer", "torch", "--quiet"]) == 2
    assert "exactrelu[torch]" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"restarts": 0}, "restarts must be an integer >= 1"),
        ({"epochs": 0}, "epochs must be an integer >= 1"),
        ({"lr": -1.0}, "learning rate must be a positive"),
        ({"trainer": "jax"}, "trainer must be one of numpy, torch, sklearn"),
        ({"train_width": 1, "_width": 2}, "below the certified width 2"),
        ({"trainer": "sklearn", "_loss": "absolute"}, "MLPRegressor, which minimises squared"),
        ({"trainer": "sklearn", "_bias": False}, "MLPRegressor, whose hidden units always"),
        ({"out": "runs.csv"}, "use a .jsonl file name"),
        ({"certificate": 3}, "certificate must be a Certificate"),
    ],
)
def test_bad_input_is_one_clear_error(kwargs, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    X, y = planted_one_node(0, 8, 2)
    width = kwargs.pop("_width", None)
    loss = kwargs.pop("_loss", "squared")
    bias = kwargs.pop("_bias", True)
    arch = "two-layer" if width else "one-node"
    problem = Problem(X, y, arch=arch, width=width, loss=loss, bias=bias)
    with pytest.raises(InvalidInputError, match=message):
        exactrelu.landscape(problem, **kwargs)


def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys):
    path = _copy(tmp_path)
    for argv in (
        ["landscape", str(path), "--restarts", "0"],
        ["landscape", str(path), "--arch", "two-layer", "--width", "2", "--train-width", "1"],
        ["landscape", str(tmp_path / "missing.npz")],
        ["landscape", str(path), "--out", str(tmp_path / "no" / "such.jsonl")],
    ):
        assert main([*argv, "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("exactrelu: error: ") and err.count("\n") == 1


# ----------------------------------------------------------------------------------------
# output: the text summary, the plot, reading back
# ----------------------------------------------------------------------------------------


def test_cli_summary_json_lines_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = _copy(tmp_path)
    out = tmp_path / "runs.jsonl"
    assert main(["landscape", str(path), "--restarts", "8", "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "optimum      0.318851048" in text and "within 1 %" in text and "run" in text
    report = read_landscape(out)
    assert len(report.runs) == 8 and report.certified
    png = tmp_path / "landscape.png"
    assert main(["plot", "landscape", str(out), "--out", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert capsys.readouterr().out == f"wrote {png}\n"
    # the --json output reads back to the same report
    assert (
        main(["landscape", str(path), "--restarts", "8", "--out", str(out), "--json", "--quiet"])
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    again = LandscapeReport.from_rows(json.loads(line) for line in lines)
    assert [r.loss for r in again.runs] == [r.loss for r in report.runs]
    assert json.loads(lines[-1])["within_1pct"] == report.summary_dict()["within_1pct"]


# ----------------------------------------------------------------------------------------
# the study runner
# ----------------------------------------------------------------------------------------


def test_study_rows_are_written_once_and_resumed(tmp_path):
    pytest.importorskip("matplotlib")
    from exactrelu.bench.plots import plot_landscape, plot_landscape_shares

    paths = [_copy(tmp_path), _copy(tmp_path, "planted-one-node-n12-d2-noise0.1")]
    # width 1: certified in a second (the study's widths 2 and 3 take minutes)
    tasks = [LandscapeTask(str(path), "planted", 1, (1, 2), 4, 30.0, epochs=200) for path in paths]
    out = tmp_path / "study.jsonl"
    first = run_study(tasks[:1], out, progress=False)
    assert len(first) == 1 and first[0]["status"] in ("optimal", "time_limit")
    rows = run_study(tasks, out, progress=False)
    assert [r["key"] for r in rows] == [t.key for t in tasks]
    assert rows[0] == first[0]  # not run again
    assert len(read_results(out)) == 2
    for row in rows:
        assert [item["settings"]["train_width"] for item in row["landscapes"]] == [
            row["width"],
            row["width"] + 1,
        ]
        # one certificate for both widths
        certs = {json.dumps(item["certificate"]["certificate"]) for item in row["landscapes"]}
        assert len(certs) == 1
    table = study_table(rows)
    assert table.count("\n") == 1 + len(rows) and ONE_NODE in table
    overview = study_overview(rows)
    assert overview["landscapes"] == 2 and "same: width 1" in overview["mean_within_1pct"]
    assert overview["mean_within_1pct"]["same: all"] == pytest.approx(
        np.mean([item["summary"]["within_1pct"] for r in rows for item in r["landscapes"][:1]])
    )
    plot_landscape_shares(out, tmp_path / "shares.png")
    plot_landscape(out, tmp_path / "losses.png", select=ONE_NODE)
    with pytest.raises(InvalidInputError, match="no landscape of an instance"):
        plot_landscape(out, tmp_path / "none.png", select="nothing")


def test_study_task_crash_is_an_error_row(tmp_path):
    task = LandscapeTask(str(tmp_path / "missing.npz"), "x", 1, (1,), 2, 10.0)
    rows = run_study([task], tmp_path / "study.jsonl", progress=False)
    assert rows[0]["status"] == "error" and "missing.npz" in rows[0]["note"]
    assert "error" in study_table(rows)
