"""exactrelu.network.exporters: numpy / scikit-learn / PyTorch conversions and LP/MPS files.

Oracles: the network formula written out here, scikit-learn's own ``r2_score``, PyTorch's
forward pass, and HiGHS solving the written file (not exactrelu's model in memory)
compared with the optimum found by enumeration.
"""

from __future__ import annotations

import sys

import highspy
import numpy as np
import pytest

import exactrelu
from exactrelu.cli import main
from exactrelu.errors import MissingDependencyError
from exactrelu.formulation.export import export_mip
from exactrelu.network.exporters import to_numpy, to_sklearn_predictor, to_torch
from exactrelu.network.networks import OneNodeNetwork, TwoLayerNetwork


def net_and_data():
    rng = np.random.default_rng(0)
    net = TwoLayerNetwork.from_real_output(
        rng.normal(size=(3, 4)), rng.normal(size=3), [1.5, -0.7, 2.0], 0.3
    )
    return net, rng.normal(size=(40, 4))


def small_problem(loss, arch="one-node", width=None, n=8):
    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, size=(n, 2))
    y = np.maximum(0.0, X @ [1.0, -0.5] + 0.2) + 0.1 * rng.standard_normal(n)
    return exactrelu.Problem(X, y, arch=arch, width=width, loss=loss, weight_bound=2.0)


def highs_optimum(path):
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 1e-9)
    assert h.readModel(str(path)) == highspy.HighsStatus.kOk
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return h.getInfo().objective_function_value


def test_to_numpy_gives_the_formula():
    net, X = net_and_data()
    a = to_numpy(net)
    np.testing.assert_allclose(
        np.maximum(0, X @ a["W"].T + a["b"]) @ a["v"] + a["c"],
        net.predict(X),
        rtol=1e-13,
        atol=1e-13,
    )
    one = to_numpy(OneNodeNetwork(np.array([1.0, -2.0]), 0.5))
    assert one["W"].shape == (1, 2) and one["v"].tolist() == [1.0] and one["c"] == 0.0


def test_sklearn_predictor_predicts_and_scores_like_sklearn():
    pytest.importorskip("sklearn")
    from sklearn.metrics import accuracy_score, r2_score

    net, X = net_and_data()
    y = net.predict(X) + np.random.default_rng(1).normal(size=40)
    predictor = to_sklearn_predictor(net)
    np.testing.assert_array_equal(predictor.predict(X), net.predict(X))
    assert predictor.score(X, y) == pytest.approx(r2_score(y, net.predict(X)), rel=1e-12)
    classifier = to_sklearn_predictor(net, classes=["no", "yes"])
    labels = np.where(y > 0, "yes", "no")
    assert classifier.score(X, labels) == pytest.approx(
        accuracy_score(labels, np.where(net.predict(X) > 0, "yes", "no"))
    )


def test_torch_module_predicts_identically():
    torch = pytest.importorskip("torch")
    net, X = net_and_data()
    module = to_torch(net)
    with torch.no_grad():
        out = module(torch.tensor(X))[:, 0].numpy()
    np.testing.assert_allclose(out, net.predict(X), rtol=1e-12, atol=1e-12)


def test_torch_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(MissingDependencyError, match=r"exactrelu\[torch\]"):
        to_torch(OneNodeNetwork(np.ones(2), 0.0))


@pytest.mark.parametrize("fmt", ["lp", "mps"])
def test_written_milp_solves_to_the_enumerated_optimum(tmp_path, fmt):
    problem = small_problem("absolute")
    (path,) = export_mip(problem, tmp_path / "model", format=fmt)
    assert path.name == f"model.{fmt}"
    optimum = exactrelu.solve(problem, method="enumerate").objective
    assert highs_optimum(path) == pytest.approx(optimum, rel=1e-6, abs=1e-8)


def test_two_layer_writes_one_file_per_sign_case(tmp_path):
    problem = small_problem("absolute", arch="two-layer", width=1, n=8)
    paths = export_mip(problem, tmp_path / "m.lp")
    assert sorted(p.name for p in paths) == ["m.p0.lp", "m.p1.lp"]
    optimum = exactrelu.solve(problem, method="enumerate").objective
    assert min(highs_optimum(p) for p in paths) == pytest.approx(optimum, rel=1e-6, abs=1e-8)


def test_squared_loss_is_an_miqp_or_a_tangent_relaxation(tmp_path):
    problem = small_problem("squared")
    (quadratic,) = export_mip(problem, tmp_path / "q", format="mps")
    assert "QUADOBJ" in quadratic.read_text()
    (tangents,) = export_mip(problem, tmp_path / "t", format="lp", squared="tangents")
    assert "^ 2" not in tangents.read_text()
    optimum = exactrelu.solve(problem, method="enumerate").objective
    assert highs_optimum(tangents) <= optimum + 1e-8  # a relaxation: a lower bound


def test_cli_export(tmp_path, capsys):
    problem = small_problem("absolute")
    exactrelu.save_instance(tmp_path / "inst.npz", problem.X, problem.y)
    assert (
        main(
            [
                "export",
                str(tmp_path / "inst.npz"),
                "--format",
                "mps",
                "--loss",
                "absolute",
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.strip() == str(tmp_path / "out.mps")
    optimum = exactrelu.solve(problem, method="enumerate").objective
    assert highs_optimum(tmp_path / "out.mps") == pytest.approx(optimum, rel=1e-6, abs=1e-8)
