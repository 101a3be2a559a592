"""exactrelu.validate: trained networks (numpy, scikit-learn, PyTorch) vs the certified optimum.

Oracles: the exact optimum by enumeration (``method="enumerate"``, a different algorithm
from the MIP), losses and predictions recomputed here from the raw foreign weights.
"""

from __future__ import annotations

import json
import pickle
import warnings

import numpy as np
import pytest

import exactrelu
from exactrelu.cli import main
from exactrelu.errors import InstanceFileError, InvalidInputError
from exactrelu.network.importers import as_network, load_weights, normalise, raw_predict
from exactrelu.network.networks import OneNodeNetwork, TwoLayerNetwork
from exactrelu.validation import containing_weight_bound, validate

REQUIRED_KEYS = {
    "status",
    "network_loss",
    "optimum",
    "bound",
    "gap_upper",
    "gap_lower",
    "weight_bound",
    "dead_units",
}


def data(seed=1, n=12, d=2, noise=0.1):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, d))
    y = np.maximum(0.0, X @ np.linspace(1.0, -0.5, d) + 0.2) + noise * rng.standard_normal(n)
    return X, y


def enumerated_optimum(X, y, arch, width, loss, weight_bound):
    problem = exactrelu.Problem(X, y, arch=arch, width=width, loss=loss, weight_bound=weight_bound)
    certificate = exactrelu.solve(problem, method="enumerate")
    assert certificate.status == "optimal"
    return certificate.objective


def check_report(report, X, y):
    """Properties every report must have, whatever the network."""
    assert report.bound <= report.optimum + 1e-9 * max(1.0, report.optimum)
    assert report.optimum <= report.network_loss  # the warm start is never worse
    if report.optimum <= 1e-9:  # 0 to the tolerance: a relative gap is undefined
        assert report.gap_lower == 0.0 if report.excess_lower <= 1e-9 else report.gap_lower is None
    else:
        assert report.gap_lower is not None and report.gap_lower >= 0.0
    if report.gap_upper is not None:
        assert report.gap_upper >= report.gap_lower - 1e-12
    assert report.excess_lower >= 0.0
    assert REQUIRED_KEYS <= set(json.loads(report.to_json()))


def test_containing_weight_bound_keeps_grows_and_picks():
    net = OneNodeNetwork(np.array([0.5, -3.2]), 1.0)
    assert containing_weight_bound(net, 4.0) == (4.0, False)
    grown, was_grown = containing_weight_bound(net, 1.0)
    assert was_grown and 3.2 < grown <= 3.3
    picked, was_grown = containing_weight_bound(net, None, default=2.0)
    assert not was_grown and 3.2 < picked <= 3.3
    assert containing_weight_bound(OneNodeNetwork(np.array([0.1]), 0.0)) == (2.0, False)


def test_normalisation_predicts_as_the_original():
    rng = np.random.default_rng(0)
    W, b = rng.normal(size=(4, 3)), rng.normal(size=4)
    v, c = np.array([2.5, -0.3, 0.0, -4.0]), 0.7
    X = rng.normal(size=(50, 3))
    loaded = normalise(W, b, v, c, source="arrays")
    expected = np.maximum(0.0, X @ W.T + b) @ v + c  # the original, computed here
    np.testing.assert_allclose(loaded.network.predict(X), expected, rtol=1e-12, atol=1e-12)
    assert set(np.abs(loaded.network.v)) == {1.0}
    assert any("rescaled" in note for note in loaded.notes)
    one = normalise(W[:1], b[:1], [3.0], 0.0, source="arrays")
    assert isinstance(one.network, OneNodeNetwork)


def test_validate_own_network_matches_enumeration():
    X, y = data()
    net = OneNodeNetwork(np.array([0.4, 0.3]), -0.1)  # a poor network
    report = validate(X, y, net, weight_bound=2.0)
    check_report(report, X, y)
    assert report.status == "optimal"
    optimum = enumerated_optimum(X, y, "one-node", None, "squared", 2.0)
    assert report.optimum == pytest.approx(optimum, rel=1e-6)
    assert report.gap_lower > 0.1  # it is a poor network, and the report says so
    assert report.gap_upper == pytest.approx(report.gap_lower, rel=1e-4)


def test_too_small_box_grows_and_says_so():
    X, y = data()
    net = OneNodeNetwork(np.array([2.6, -0.5]), 0.1)
    report = validate(X, y, net, weight_bound=1.0, time_limit=20)
    check_report(report, X, y)
    assert report.box_grown and report.weight_bound >= 2.6
    assert "grown" in report.summary()


def test_sklearn_mlp_regressor_is_validated_against_enumeration():
    sklearn = pytest.importorskip("sklearn")
    from sklearn.neural_network import MLPRegressor

    assert sklearn
    X, y = data(seed=3)
    mlp = MLPRegressor(hidden_layer_sizes=(1,), solver="lbfgs", max_iter=500, random_state=0)
    mlp.fit(X, y)
    loaded = as_network(mlp)
    np.testing.assert_allclose(loaded.network.predict(X), mlp.predict(X), rtol=1e-10, atol=1e-12)
    report = validate(X, y, mlp)
    check_report(report, X, y)
    assert report.network_loss == pytest.approx(float(np.sum((y - mlp.predict(X)) ** 2)), rel=1e-10)
    optimum = enumerated_optimum(X, y, report.arch, report.width, "squared", report.weight_bound)
    assert report.status == "optimal"
    assert report.optimum == pytest.approx(optimum, rel=1e-6)


def test_sklearn_classifier_maps_classes_to_hinge_labels():
    pytest.importorskip("sklearn")
    from sklearn.neural_network import MLPClassifier

    X, _ = data(seed=4)
    labels = np.where(X[:, 0] - 0.3 * X[:, 1] > 0.1, "yes", "no")
    mlp = MLPClassifier(hidden_layer_sizes=(1,), solver="lbfgs", max_iter=500, random_state=0)
    mlp.fit(X, labels)
    logit = np.maximum(0.0, X @ mlp.coefs_[0] + mlp.intercepts_[0]) @ mlp.coefs_[1][:, 0]
    logit += mlp.intercepts_[1][0]
    signs = np.where(labels == mlp.classes_[1], 1.0, -1.0)
    report = validate(X, labels, mlp, time_limit=20)
    assert report.loss == "hinge"
    check_report(report, X, signs)
    assert report.network_loss == pytest.approx(np.maximum(0, 1 - signs * logit).sum(), abs=1e-9)


def test_torch_network_from_a_state_dict_file(tmp_path):
    torch = pytest.importorskip("torch")
    X, y = data(seed=5, n=6)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    model = model.double()
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    for _ in range(300):  # real gradient descent on the summed squared loss
        optimiser.zero_grad()
        loss = ((model(Xt)[:, 0] - yt) ** 2).sum()
        loss.backward()
        optimiser.step()
    path = tmp_path / "net.pt"
    torch.save(model.state_dict(), path)
    loaded = load_weights(path)
    with torch.no_grad():
        original = model(Xt)[:, 0].numpy()
    np.testing.assert_allclose(loaded.network.predict(X), original, rtol=1e-10, atol=1e-12)
    report = validate(X, y, loaded, time_limit=30)
    check_report(report, X, y)
    assert report.network_loss == pytest.approx(np.sum((y - original) ** 2), rel=1e-10, abs=1e-12)
    assert (report.arch, report.width, report.status) == ("two-layer", 2, "optimal")
    optimum = enumerated_optimum(X, y, "two-layer", 2, "squared", report.weight_bound)
    assert report.optimum == pytest.approx(optimum, rel=1e-6, abs=1e-9)


def test_time_limit_still_reports_a_warm_start_no_worse():
    X, y = data(seed=6, n=10)
    net = TwoLayerNetwork.from_real_output([[1.0, 0.2], [0.3, -1.0]], [0.1, 0.0], [1.5, -0.5], 0.1)
    report = validate(X, y, net, time_limit=0.5)
    check_report(report, X, y)


def run_cli(argv):
    return main(argv)


def test_cli_reports_json(tmp_path, capsys):
    X, y = data(seed=7)
    exactrelu.save_instance(tmp_path / "inst.npz", X, y)
    np.savez(tmp_path / "w.npz", w=np.array([0.5, -0.2]), b=0.1)
    assert (
        run_cli(
            ["validate", str(tmp_path / "inst.npz"), str(tmp_path / "w.npz"), "--json", "--quiet"]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert REQUIRED_KEYS <= set(out)
    assert out["status"] == "optimal"
    assert out["optimum"] == pytest.approx(
        enumerated_optimum(X, y, "one-node", None, "squared", out["weight_bound"]), rel=1e-6
    )
    direct = np.sum((y - np.maximum(0, X @ [0.5, -0.2] + 0.1)) ** 2)
    assert out["network_loss"] == pytest.approx(direct, rel=1e-12)


def test_cli_reads_a_certificate_and_refuses_untrusted_pickles(tmp_path, capsys):
    X, y = data(seed=8)
    exactrelu.save_instance(tmp_path / "inst.npz", X, y)
    problem = exactrelu.Problem(X, y, weight_bound=2.0)
    certificate = exactrelu.solve(problem, method="enumerate")
    (tmp_path / "cert.json").write_text(certificate.to_json())
    assert (
        run_cli(
            [
                "validate",
                str(tmp_path / "inst.npz"),
                str(tmp_path / "cert.json"),
                "--json",
                "--quiet",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["gap_lower"] == pytest.approx(0.0, abs=1e-6)  # an optimum is at 0 % gap
    with open(tmp_path / "w.pkl", "wb") as handle:
        pickle.dump({"w": [1.0, 0.0], "b": 0.0}, handle)
    with pytest.raises(InstanceFileError, match="trust-pickle"):
        load_weights(tmp_path / "w.pkl")
    assert isinstance(load_weights(tmp_path / "w.pkl", trust_pickle=True).network, OneNodeNetwork)


def test_bad_input_is_a_clear_error():
    X, y = data()
    with pytest.raises(InvalidInputError, match="features"):
        validate(X, y, OneNodeNetwork(np.ones(3), 0.0))
    with pytest.raises(InvalidInputError, match="one-node"):
        validate(X, y, TwoLayerNetwork(np.ones((2, 2)), np.zeros(2), [1, -1]), arch="one-node")


def test_raw_predict_is_the_unnormalised_network():
    loaded = normalise([[2.0, -1.0]], [0.5], [-3.0], 1.0, source="arrays")
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(raw_predict(loaded.raw, X), [-3.0 * 2.5 + 1.0, 1.0])
    np.testing.assert_allclose(loaded.network.predict(X), [-6.5, 1.0])


# ----------------------------------------------------------------------------------------
# messages
# ----------------------------------------------------------------------------------------


def test_a_zero_optimum_gets_an_absolute_gap():
    # data a network of the class fits exactly: the optimum is 0 up to rounding
    X, _ = data(seed=11, n=8)
    planted = OneNodeNetwork(np.array([0.8, -0.4]), 0.1)
    y = planted.predict(X)
    net = OneNodeNetwork(np.array([0.7, -0.4]), 0.1)
    report = validate(X, y, net)
    assert report.status == "optimal" and report.optimum <= 1e-9
    direct = float(np.sum((y - np.maximum(0.0, X @ [0.7, -0.4] + 0.1)) ** 2))
    assert report.network_loss == pytest.approx(direct, rel=1e-12)
    assert report.gap_lower is None and report.gap_upper is None  # undefined, not 1e33 %
    assert report.excess_lower == pytest.approx(direct - report.optimum, rel=1e-9)
    line = next(ln for ln in report.summary().splitlines() if ln.startswith("gap"))
    assert f"{report.excess_upper:.4g} above the optimum in loss (absolute" in line
    assert "%" not in line and "undefined and" not in line


def test_a_certificate_is_scored_with_its_own_loss(tmp_path, capsys):
    X, y = data(seed=12)
    exactrelu.save_instance(tmp_path / "inst.npz", X, y)
    problem = exactrelu.Problem(X, y, loss="absolute")
    certificate = exactrelu.solve(problem, method="enumerate")
    (tmp_path / "cert.json").write_text(certificate.to_json())
    argv = ["validate", str(tmp_path / "inst.npz"), str(tmp_path / "cert.json"), "--quiet"]
    assert run_cli([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["loss"] == "absolute"
    assert out["network_loss"] == pytest.approx(certificate.objective, rel=1e-12)
    assert any("loss its certificate was solved for" in note for note in out["notes"])
    # asked for another loss, the report says the certificate was solved for absolute
    assert run_cli([*argv, "--json", "--loss", "squared"]) == 0
    out = json.loads(capsys.readouterr().out)
    w = certificate.weights
    direct = float(np.sum((y - np.maximum(0.0, X @ np.array(w["w"]) + w["b"])) ** 2))
    assert out["loss"] == "squared" and out["network_loss"] == pytest.approx(direct, rel=1e-12)
    assert any(
        "solved for absolute loss; this report scores it with squared" in n for n in out["notes"]
    )


def test_a_whole_torch_module_file_says_save_the_state_dict(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    torch.save(model, tmp_path / "module.pt")
    with pytest.raises(InstanceFileError, match=r"torch\.save\(model\.state_dict\(\)") as info:
        load_weights(tmp_path / "module.pt")
    message = str(info.value)
    assert "\x1b" not in message and "\n" not in message and len(message) < 300
    X, y = data()
    exactrelu.save_instance(tmp_path / "inst.npz", X, y)
    code = run_cli(["validate", str(tmp_path / "inst.npz"), str(tmp_path / "module.pt")])
    err = capsys.readouterr().err
    assert code == 2 and err.splitlines() == [f"exactrelu: error: {message}"]


def test_classifier_notes_show_plain_class_values():
    pytest.importorskip("sklearn")
    from sklearn.neural_network import MLPClassifier

    X, _ = data(seed=4)
    labels = np.where(X[:, 0] > 0, 1.0, 0.0)  # numeric classes: numpy scalars in classes_
    mlp = MLPClassifier(hidden_layer_sizes=(1,), solver="lbfgs", max_iter=500, random_state=0)
    mlp.fit(X, labels)
    notes = " ".join(as_network(mlp).notes)
    assert "class 1.0 is label +1, class 0.0 is -1" in notes
    assert "np." not in notes


def test_summary_counts_units_from_one():
    X, y = data(seed=13)
    # unit 1 (index 0) is active on no sample: dead
    net = TwoLayerNetwork(np.array([[0.0, 0.0], [0.5, -0.3]]), np.array([-1.0, 0.1]), [1, 1], 0.0)
    report = validate(X, y, net, time_limit=20)
    assert report.dead_units["network"] == [0]  # the JSON: positions in the arrays
    assert "dead units     network unit 1," in report.summary()


def test_the_automatic_box_is_stated_and_holds_the_network():
    """Under the default box, the report names its units and why it starts where it does;
    the box holds the network in standardised units (recomputed here with numpy)."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(8, 2))
    y = np.maximum(0, X @ [1.0, -0.5] + 0.2) + 0.05 * rng.standard_normal(8)
    W, b = np.array([[30.0, -15.0]]), np.array([6.0])
    report = validate(X, y, {"W": W, "b": b, "v": [1.0], "c": 0.0}, arch="two-layer", width=1)
    lines = report.summary().splitlines()
    assert "(standardised units, automatic)" in lines[0]
    assert "note           the box is in standardised units" in report.summary()
    assert "(the smallest holding the networks)" in report.summary()
    # in standardised units: x = mean + std·z, y = std_y·ỹ
    W_std = W * X.std(axis=0) / y.std()
    b_std = (b + W @ X.mean(axis=0)) / y.std()
    largest = max(np.abs(W_std).max(), np.abs(b_std).max())
    assert largest <= report.weight_bound < 2 * largest


def test_a_classifier_box_growth_is_reported():
    pytest.importorskip("sklearn")
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(0)
    X = 50 * rng.uniform(-1, 1, size=(8, 2))
    labels = np.where(X[:, 0] > 0, 1, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier(hidden_layer_sizes=(1,), random_state=0, max_iter=3000).fit(X, labels)
    fixed = validate(X, labels, clf, weight_bound=1e-3)
    assert fixed.box_grown and fixed.weight_bound > 1e-3
    assert "the requested box 0.001 does not contain the network; grown to" in fixed.summary()
    automatic = validate(X, labels, clf)
    assert "the box is in standardised units" in automatic.summary()
    assert "binary classifier" in automatic.summary()
