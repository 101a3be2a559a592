"""Several networks of one class validated together: one exact solve (or none, with a
certificate to reuse), one table, JSON lines.

Oracles: the brute force of :mod:`oracle` for the optimum over the batch's box, and the
networks' losses recomputed here from their raw weights.
"""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
from helpers import brute_force_in_auto_box
from oracle import brute_force

import exactrelu
from exactrelu.cli import main
from exactrelu.errors import InvalidInputError
from exactrelu.network.importers import raw_predict
from exactrelu.network.networks import TwoLayerNetwork
from exactrelu.validation import containing_weight_bound, validate, validate_many

validation_module = importlib.import_module("exactrelu.validation")


def data(seed=0, n=6, d=2):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, d))
    y = np.maximum(0.0, X @ [1.0, -0.5] + 0.2) - np.maximum(0.0, X @ [0.3, 1.0]) + 0.1
    return X, y + 0.05 * rng.standard_normal(n)


def networks(count=4, seed=1):
    """Two-layer width-2 networks with real output weights (as trained ones have)."""
    rng = np.random.default_rng(seed)
    return [
        {
            "W": rng.uniform(-1.2, 1.2, size=(2, 2)),
            "b": rng.uniform(-0.5, 0.5, size=2),
            "v": rng.uniform(-1.8, 1.8, size=2),
            "c": float(rng.normal(0, 0.2)),
        }
        for _ in range(count)
    ]


@pytest.fixture
def count_solves(monkeypatch):
    """The warm start of each exact solve validation runs (through ``run_method``, for a
    fixed box and the automatic one alike)."""
    calls = []
    real = validation_module.run_method

    def counted(name, problem, options, **kwargs):
        calls.append(options.warm_start)
        return real(name, problem, options, **kwargs)

    monkeypatch.setattr(validation_module, "run_method", counted)
    return calls


def test_one_solve_for_all_over_the_box_that_holds_them(count_solves):
    X, y = data()
    nets = networks()
    batch = validate_many(X, y, nets, weight_bound=1.0, time_limit=60)
    assert len(count_solves) == 1
    # the box holds every network: the largest of the boxes each would need
    normalised = [TwoLayerNetwork.from_real_output(**w) for w in nets]
    box = max(containing_weight_bound(net, 1.0)[0] for net in normalised)
    assert box > 1.0 and all(report.box_grown for report in batch.reports)
    assert all(report.weight_bound == box for report in batch.reports)
    # the optimum over that box, by the brute force
    best = brute_force(X, y, arch="two-layer", width=2, B=box)
    assert batch.certificate.status == "optimal"
    for raw, report in zip(nets, batch.reports, strict=True):
        loss = float(np.sum((y - raw_predict(raw, X)) ** 2))
        assert report.network_loss == pytest.approx(loss, rel=1e-10, abs=1e-12)
        assert report.optimum == pytest.approx(best.loss, rel=1e-6, abs=1e-9)
        assert report.bound <= best.loss + 1e-9
        assert report.optimum <= report.network_loss
        assert report.excess_lower == pytest.approx(loss - report.optimum, rel=1e-9, abs=1e-12)
    # warm-started from the best of the networks
    losses = [r.network_loss for r in batch.reports]
    assert count_solves[0].loss(X, y) == pytest.approx(min(losses), rel=1e-12)
    assert [r.label for r in batch.reports] == [f"network {k}" for k in range(1, 5)]


def test_under_the_automatic_box_one_solve_holds_them_all(count_solves):
    X, y = data(seed=15)
    nets = networks(seed=16)
    batch = validate_many(X, y, nets, time_limit=60)
    assert len(count_solves) == 1
    cert = batch.certificate
    assert cert.status == "optimal" and cert.box["units"] == "standardised"
    # every network's hidden weights, in the standardised units of the box, lie in it
    Xs_scale, sy = X.std(axis=0), y.std()
    for raw in nets:
        in_units = np.abs(np.asarray(raw["W"]) * np.asarray(raw["v"])[:, None] * Xs_scale / sy)
        assert in_units.max() <= cert.weight_bound
    best = brute_force_in_auto_box(X, y, cert, arch="two-layer", width=2)
    for raw, report in zip(nets, batch.reports, strict=True):
        loss = float(np.sum((y - raw_predict(raw, X)) ** 2))
        assert report.network_loss == pytest.approx(loss, rel=1e-10, abs=1e-12)
        assert report.optimum == pytest.approx(best.loss, rel=1e-6, abs=1e-9)
        assert report.optimum <= report.network_loss


def test_each_report_agrees_with_a_validation_of_its_own(count_solves):
    X, y = data(seed=2)
    nets = networks(3, seed=3)
    batch = validate_many(X, y, nets, weight_bound=2.0)
    box = batch.reports[0].weight_bound
    for raw, report in zip(nets, batch.reports, strict=True):
        alone = validate(X, y, raw, weight_bound=box)
        assert alone.network_loss == pytest.approx(report.network_loss, rel=1e-12)
        assert alone.optimum == pytest.approx(report.optimum, rel=1e-6, abs=1e-9)
        assert alone.dead_units["network"] == report.dead_units["network"]
    assert len(count_solves) == 1 + len(nets)


def test_a_certificate_is_reused_without_solving(monkeypatch, tmp_path):
    X, y = data(seed=4)
    nets = networks(3, seed=5)
    first = validate_many(X, y, nets)
    path = tmp_path / "cert.json"
    path.write_text(first.certificate.to_json())

    def no_solve(*args, **kwargs):
        raise AssertionError("solved again although a certificate was given")

    monkeypatch.setattr(validation_module, "run_method", no_solve)
    for given in (path, first.certificate, json.loads(first.reports[0].to_json())):
        again = validate_many(X, y, nets, certificate=given)
        assert not again.solved
        for a, b in zip(first.reports, again.reports, strict=True):
            assert (a.network_loss, a.optimum, a.bound) == (b.network_loss, b.optimum, b.bound)
        assert any("not solved again" in note for note in again.reports[0].notes)


def test_a_certificate_of_another_problem_is_refused(tmp_path):
    X, y = data(seed=6)
    nets = networks(2, seed=7)
    certificate = validate_many(X, y, nets).certificate
    with pytest.raises(InvalidInputError, match=r"solved on other data"):
        validate_many(X, y + 1.0, nets, certificate=certificate)
    with pytest.raises(InvalidInputError, match=r"loss = squared, but .* loss = absolute"):
        validate_many(X, y, nets, loss="absolute", certificate=certificate)
    big = dict(nets[0], W=nets[0]["W"] * 10)
    with pytest.raises(InvalidInputError, match=r"does not contain network 3"):
        validate_many(X, y, [*nets, big], certificate=certificate)
    (tmp_path / "junk.json").write_text('{"status": "optimal"}')
    with pytest.raises(InvalidInputError, match=r"junk\.json: not an exactrelu certificate"):
        validate_many(X, y, nets, certificate=tmp_path / "junk.json")


def test_networks_of_different_classes_are_refused():
    X, y = data()
    wide = {"W": np.ones((3, 2)), "b": np.zeros(3), "v": [1.0, -1.0, 1.0], "c": 0.0}
    with pytest.raises(InvalidInputError, match=r"network 2 is two-layer of width 3"):
        validate_many(X, y, [networks(1)[0], wide])
    with pytest.raises(InvalidInputError, match=r"validate_many"):
        validate(X, y, networks(2))


def _write_networks(tmp_path, nets):
    paths = []
    for k, raw in enumerate(nets):
        path = tmp_path / f"seed-{k}.npz"
        np.savez(path, **raw)
        paths.append(path)
    return paths


def test_cli_validates_a_glob_with_one_solve_and_prints_one_table(tmp_path, capsys, count_solves):
    X, y = data(seed=8)
    exactrelu.save_instance(tmp_path / "inst.npz", X, y)
    nets = networks(3, seed=9)
    _write_networks(tmp_path, nets)
    pattern = str(tmp_path / "seed-*.npz")  # quoted: the shell left it alone
    assert main(["validate", str(tmp_path / "inst.npz"), pattern, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert len(count_solves) == 1
    assert "networks       3, against one exact solve" in out
    header = next(line for line in out.splitlines() if line.startswith("network "))
    assert header.split() == "network loss gap to the optimum dead units patterns differ".split()
    for k, raw in enumerate(nets):
        loss = float(np.sum((y - raw_predict(raw, X)) ** 2))
        row = next(line for line in out.splitlines() if line.startswith(f"seed-{k}.npz"))
        assert f"{loss:.6g}" in row
    # --json: one line per network, in the order of the files
    assert main(["validate", str(tmp_path / "inst.npz"), pattern, "--quiet", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    reports = [json.loads(line) for line in lines]
    assert [r["label"] for r in reports] == ["seed-0.npz", "seed-1.npz", "seed-2.npz"]
    assert len({r["optimum"] for r in reports}) == 1


def test_cli_reuses_a_certificate(tmp_path, capsys, monkeypatch):
    X, y = data(seed=10)
    exactrelu.save_instance(tmp_path / "inst.npz", X, y)
    paths = _write_networks(tmp_path, networks(2, seed=11))
    out = tmp_path / "reports.jsonl"
    argv = ["validate", str(tmp_path / "inst.npz"), *map(str, paths), "--quiet"]
    assert main([*argv, "--out", str(out)]) == 0
    capsys.readouterr()
    monkeypatch.setattr(
        validation_module, "run_method", lambda *a, **k: pytest.fail("solved again")
    )
    # the JSON-lines file of the first run holds the certificate
    assert main([*argv, "--certificate", str(out), "--json"]) == 0
    again = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    first = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["optimum"] for r in again] == [r["optimum"] for r in first]
    code = main([*argv, "--certificate", str(tmp_path / "none.json")])
    err = capsys.readouterr().err
    assert code == 2 and "none.json: no such file" in err and len(err.splitlines()) == 1
    code = main(["validate", str(tmp_path / "inst.npz"), str(tmp_path / "nope-*.npz")])
    err = capsys.readouterr().err
    assert code == 2 and "nope-*.npz: no file matches" in err


def test_the_measured_use_ten_sklearn_seeds_one_solve(tmp_path, count_solves):
    """Ten MLPRegressor seeds on one small data set: one solve, reports for each."""
    pytest.importorskip("sklearn")
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    X, y = data(seed=12, n=6)
    mlps = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in range(10):
            mlps.append(MLPRegressor(hidden_layer_sizes=(2,), random_state=seed).fit(X, y))
    batch = validate_many(X, y, mlps, weight_bound=2.0, time_limit=60)
    assert len(count_solves) == 1 and len(batch.reports) == 10
    for mlp, report in zip(mlps, batch.reports, strict=True):
        assert report.network_loss == pytest.approx(np.sum((y - mlp.predict(X)) ** 2), rel=1e-9)
        assert report.optimum <= report.network_loss
    assert batch.certificate.status == "optimal"
    best = brute_force(X, y, arch="two-layer", width=2, B=batch.reports[0].weight_bound)
    assert batch.reports[0].optimum == pytest.approx(best.loss, rel=1e-6, abs=1e-9)


def test_a_reused_certificate_keeps_its_own_box():
    X, y = data(seed=13)
    nets = networks(2, seed=14)
    first = validate_many(X, y, nets)
    box = first.certificate.weight_bound
    with pytest.raises(InvalidInputError, match=rf"covers the box {box:g}, smaller than"):
        validate_many(X, y, nets, weight_bound=box * 2, certificate=first.certificate)
    again = validate_many(X, y, nets, weight_bound=box / 2, certificate=first.certificate)
    assert all(report.weight_bound == box for report in again.reports)
