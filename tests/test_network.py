"""Networks and losses against hand computations."""

from __future__ import annotations

import numpy as np
import pytest

from exactrelu import InvalidInputError, OneNodeNetwork, TwoLayerNetwork
from exactrelu.network.losses import per_sample_loss, total_loss
from exactrelu.network.networks import check_in_class, network_from_dict, zero_network

# f(x) = max(0, x1 - 2 x2 + 0.5) on three points:
#   (1, 1): 1 - 2 + 0.5 = -0.5 -> 0;  (2, 0): 2.5 -> 2.5;  (0, 0): 0.5 -> 0.5
ONE = OneNodeNetwork(np.array([1.0, -2.0]), 0.5)
X_ONE = np.array([[1.0, 1.0], [2.0, 0.0], [0.0, 0.0]])
F_ONE = np.array([0.0, 2.5, 0.5])


def test_one_node_predictions_by_hand():
    np.testing.assert_array_equal(ONE.predict(X_ONE), F_ONE)
    np.testing.assert_array_equal(ONE.pre_activations(X_ONE)[:, 0], [-0.5, 2.5, 0.5])
    np.testing.assert_array_equal(ONE.activation_pattern(X_ONE)[:, 0], [False, True, True])
    assert ONE.predict([2.0, 0.0]).tolist() == [2.5]  # a single sample as a 1-D array
    assert (ONE.width, ONE.d) == (1, 2)


@pytest.mark.parametrize(
    ("loss", "y", "expected"),
    [
        # (1-0)^2 + (2-2.5)^2 + (0-0.5)^2
        ("squared", [1.0, 2.0, 0.0], 1.0 + 0.25 + 0.25),
        # |1-0| + |2-2.5| + |0-0.5|
        ("absolute", [1.0, 2.0, 0.0], 1.0 + 0.5 + 0.5),
        # max(0, 1-1*0) + max(0, 1+2.5) + max(0, 1-0.5)
        ("hinge", [1.0, -1.0, 1.0], 1.0 + 3.5 + 0.5),
        # correct side with margin: every term 0 but the first
        ("hinge", [1.0, 1.0, -1.0], 1.0 + 0.0 + 1.5),
    ],
)
def test_each_loss_by_hand(loss, y, expected):
    assert ONE.loss(X_ONE, y, loss) == pytest.approx(expected, rel=1e-15)
    assert total_loss(np.array(y), F_ONE, loss) == pytest.approx(expected, rel=1e-15)
    assert per_sample_loss(np.array(y), F_ONE, loss).sum() == pytest.approx(expected, rel=1e-15)


def test_unknown_loss_is_rejected():
    with pytest.raises(InvalidInputError, match="loss must be one of"):
        per_sample_loss(np.ones(2), np.ones(2), "huber")


# f(x) = max(0, x1) - max(0, x2 - 1) + 0.5 on two points:
#   (2, 3):     relu(2) - relu(2)    + 0.5 = 0.5
#   (-1, 0.5):  relu(-1) - relu(-0.5) + 0.5 = 0.5
#   (1, 0):     relu(1) - relu(-1)   + 0.5 = 1.5
TWO = TwoLayerNetwork(np.eye(2), np.array([0.0, -1.0]), np.array([1.0, -1.0]), 0.5)
X_TWO = np.array([[2.0, 3.0], [-1.0, 0.5], [1.0, 0.0]])


def test_two_layer_predictions_by_hand():
    np.testing.assert_array_equal(TWO.predict(X_TWO), [0.5, 0.5, 1.5])
    np.testing.assert_array_equal(
        TWO.activation_pattern(X_TWO), [[True, True], [False, False], [True, False]]
    )
    # squared loss against y = (0, 1, 1): 0.25 + 0.25 + 0.25
    assert TWO.loss(X_TWO, [0.0, 1.0, 1.0], "squared") == pytest.approx(0.75, rel=1e-15)
    assert (TWO.width, TWO.d) == (2, 2)


def test_dead_units():
    # unit 0 never fires (b = -1, W = 0), unit 1 fires on x1 > 0, unit 2 has z = 0 exactly:
    # a zero pre-activation is inactive (max(0, 0) = 0 either way).
    net = TwoLayerNetwork(
        np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]]),
        np.array([-1.0, 0.0, 0.0]),
        np.array([1.0, -1.0, 1.0]),
        0.0,
    )
    X = np.array([[1.0, 5.0], [-2.0, 3.0]])
    assert net.dead_units(X) == [0, 2]
    np.testing.assert_array_equal(net.predict(X), [-1.0, 0.0])
    assert OneNodeNetwork(np.array([-1.0, -1.0]), -0.1).dead_units(np.abs(X)) == [0]
    assert ONE.dead_units(X_ONE) == []


def _real_output_predict(W, b, v, c, X):
    return np.maximum(0.0, X @ W.T + b) @ v + c


@pytest.mark.parametrize("seed", range(5))
def test_from_real_output_preserves_predictions(seed):
    rng = np.random.default_rng(seed)
    h, d = 4, 3
    W, b = rng.normal(size=(h, d)), rng.normal(size=h)
    v = rng.normal(scale=3.0, size=h)
    v[0] = 0.0  # a unit with zero output weight
    v[1] = -abs(v[1])  # a negative one
    X = rng.normal(size=(50, d))
    net = TwoLayerNetwork.from_real_output(W, b, v, 0.7)
    expected = _real_output_predict(W, b, v, 0.7, X)
    np.testing.assert_allclose(net.predict(X), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(np.abs(net.v), 1.0)
    assert net.v[1] == -1.0
    # the zero unit becomes W = 0, b = 0 (and contributes nothing)
    np.testing.assert_array_equal(net.W[0], 0.0)
    assert net.b[0] == 0.0
    # each unit is rescaled by |v_j|
    np.testing.assert_allclose(net.W[2], W[2] * abs(v[2]), rtol=1e-15)


def test_two_layer_rejects_bad_weights():
    with pytest.raises(InvalidInputError, match=r"exactly -1 or \+1.*from_real_output"):
        TwoLayerNetwork(np.eye(2), np.zeros(2), np.array([1.0, 0.5]))
    with pytest.raises(InvalidInputError, match="W has 2 rows, b has 3 entries"):
        TwoLayerNetwork(np.eye(2), np.zeros(3), np.ones(2))
    with pytest.raises(InvalidInputError, match="finite"):
        TwoLayerNetwork(np.eye(2), np.array([0.0, np.nan]), np.ones(2))
    with pytest.raises(InvalidInputError, match="finite"):
        OneNodeNetwork(np.array([np.inf, 0.0]), 0.0)
    with pytest.raises(InvalidInputError, match="W has 2 rows, b has 2 entries, v has 1"):
        TwoLayerNetwork.from_real_output(np.eye(2), np.zeros(2), np.ones(1))


def test_feature_mismatch():
    with pytest.raises(InvalidInputError, match="expects 2 features, X has 3"):
        ONE.predict(np.ones((4, 3)))


def test_dict_round_trip_and_as_two_layer():
    for net in (ONE, TWO):
        back = network_from_dict(net.arch, net.to_dict())
        np.testing.assert_array_equal(back.predict(X_TWO), net.predict(X_TWO))
    np.testing.assert_array_equal(ONE.as_two_layer().predict(X_ONE), F_ONE)
    with pytest.raises(InvalidInputError, match="lack the entry 'v'"):
        network_from_dict("two-layer", {"W": [[1.0]], "b": [0.0]})


def test_box_membership():
    assert ONE.max_abs_weight() == 2.0
    assert ONE.on_box(2.0) and not ONE.on_box(2.5)
    assert check_in_class(ONE, "one-node", 2, 1, 2.0) is ONE
    with pytest.raises(InvalidInputError, match="outside the box of radius 1"):
        check_in_class(ONE, "one-node", 2, 1, 1.0)
    with pytest.raises(InvalidInputError, match="width 2, the problem 3"):
        check_in_class(TWO, "two-layer", 2, 3, 5.0)
    with pytest.raises(InvalidInputError, match="expected a TwoLayerNetwork"):
        check_in_class(ONE, "two-layer", 2, 2, 5.0)
    # the output bias c is free: a huge c is still in the class
    big_c = TwoLayerNetwork(np.eye(2), np.zeros(2), np.ones(2), 1e6)
    assert check_in_class(big_c, "two-layer", 2, 2, 1.0) is big_c
    zero = zero_network("two-layer", 3, 2)
    np.testing.assert_array_equal(zero.predict(np.ones((2, 3))), 0.0)
