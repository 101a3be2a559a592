"""exactrelu.estimators: the scikit-learn contract, and exact fits against enumeration."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator

import exactrelu
from exactrelu.estimators import ExactReLUClassifier, ExactReLURegressor


def data(n=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 2))
    y = np.maximum(0.0, X @ [1.0, -0.5] + 0.2) + 0.1 * rng.standard_normal(n)
    return X, y


@pytest.mark.parametrize(
    "estimator",
    # method="gd": the contract checks fit ~100 models on up to 200 x 10 data, which takes
    # ~50 s with the MIP (it passes too: see docs/validate.md); the fit path is the same.
    [ExactReLURegressor(method="gd", time_limit=5), ExactReLUClassifier(method="gd", time_limit=5)],
    ids=["regressor", "classifier"],
)
def test_check_estimator(estimator):
    results = check_estimator(estimator, on_fail=None)
    failed = [
        (r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"
    ]
    assert failed == []


def test_regressor_fit_is_the_enumerated_optimum():
    X, y = data()
    model = ExactReLURegressor(loss="absolute", weight_bound=2.0).fit(X, y)
    assert model.certificate_.status == "optimal"
    optimum = exactrelu.solve(
        exactrelu.Problem(X, y, loss="absolute", weight_bound=2.0), method="enumerate"
    )
    assert model.certificate_.objective == pytest.approx(optimum.objective, rel=1e-6)
    assert np.sum(np.abs(y - model.predict(X))) == pytest.approx(optimum.objective, rel=1e-6)
    assert model.n_features_in_ == 2
    params = model.get_params()
    assert params["loss"] == "absolute" and clone(model).get_params() == params
    assert model.set_params(weight_bound=1.0).weight_bound == 1.0


def test_classifier_keeps_classes_and_is_optimal_for_hinge():
    X, _ = data(seed=1)
    labels = np.where(X[:, 0] + 0.2 * X[:, 1] > 0.05, "b", "a")
    labels[0] = "b" if labels[0] == "a" else "a"  # not separable: a positive hinge optimum
    model = ExactReLUClassifier(weight_bound=2.0).fit(X, labels)
    assert list(model.classes_) == ["a", "b"]
    assert set(model.predict(X)) <= {"a", "b"}
    signs = np.where(labels == "b", 1.0, -1.0)
    optimum = exactrelu.solve(
        exactrelu.Problem(X, signs, loss="hinge", weight_bound=2.0), method="enumerate"
    )
    assert model.certificate_.status == "optimal"
    assert model.certificate_.objective == pytest.approx(optimum.objective, rel=1e-6, abs=1e-9)
    f = model.decision_function(X)
    assert np.maximum(0, 1 - signs * f).sum() == pytest.approx(optimum.objective, abs=1e-6)


def test_classifier_refuses_more_than_two_classes():
    X, _ = data()
    with pytest.raises(ValueError, match="two classes"):
        ExactReLUClassifier().fit(X, np.arange(len(X)) % 3)


def test_regressor_refuses_hinge():
    X, y = data()
    with pytest.raises(ValueError, match="ExactReLUClassifier"):
        ExactReLURegressor(loss="hinge").fit(X, y)
