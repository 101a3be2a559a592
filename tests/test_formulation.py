"""The two-layer formulation: its symmetry (left to the solver, or ordered on request), its
convexity cuts and its convex-regression rows (valid for every network, and the optimum
unchanged)."""

from __future__ import annotations

import highspy
import numpy as np
import pyomo.environ as pyo
import pytest
from helpers import assert_matches, planted_two_layer
from oracle import brute_force

from exactrelu import Problem
from exactrelu.convex.convex_regression import shape_constrained_bound
from exactrelu.formulation import build_formulations, build_two_layer
from exactrelu.formulation.interpolation import interpolations
from exactrelu.formulation.loss import initial_tangent_points
from exactrelu.generate import generate
from exactrelu.highs.compile import CompiledModel
from exactrelu.network.networks import TwoLayerNetwork


def row_set(compiled: CompiledModel, permutation: np.ndarray) -> set:
    """The model's rows, columns renamed by ``permutation``, as a set of hashable rows."""
    constraints = compiled.model.component_data_objects(pyo.Constraint, active=True)
    rows, cols, vals, lower, upper = compiled.rows(constraints).arrays()
    entries: dict[int, list] = {r: [] for r in range(lower.size)}
    for r, c, v in zip(rows, permutation[cols], vals, strict=True):
        entries[int(r)].append((int(c), round(float(v), 12)))
    return {
        (tuple(sorted(entries[r])), float(lower[r]), float(upper[r])) for r in range(lower.size)
    }


def swap_units(compiled: CompiledModel, first: int, second: int) -> np.ndarray:
    """Column permutation exchanging every variable of hidden unit ``first`` and ``second``."""
    m = compiled.model
    permutation = np.arange(len(compiled.variables))
    for var in (m.W, m.b, m.a, m.s):
        for index in var:
            key = index if isinstance(index, tuple) else (index,)
            unit_position = 0 if var in (m.W, m.b) else 1
            if key[unit_position] not in (first, second):
                continue
            other = list(key)
            other[unit_position] = second if key[unit_position] == first else first
            other = tuple(other) if len(other) > 1 else other[0]
            permutation[compiled.column[id(var[index])]] = compiled.column[id(var[other])]
    return permutation


@pytest.mark.parametrize("loss", ["squared", "absolute", "hinge"])
def test_units_of_one_sign_are_exchangeable_in_the_model(loss):
    # What lets HiGHS detect the symmetry: exchanging two units of one sign maps the
    # constraint rows onto themselves; the ordering constraint breaks exactly that.
    X, y = planted_two_layer(3, 7, 2, width=3)
    if loss == "hinge":
        y = np.where(y > np.median(y), 1.0, -1.0)
    problem = Problem(X, y, arch="two-layer", width=3, loss=loss, weight_bound=2.0)
    for order_units in (False, True):
        formulation = build_two_layer(problem, positive_units=2, order_units=order_units)
        for residuals in initial_tangent_points(problem) if loss == "squared" else []:
            formulation.add_tangents(residuals)  # the rows that hold the output signs
        compiled = CompiledModel(formulation.model)
        identity = np.arange(len(compiled.variables))
        same_sign = row_set(compiled, swap_units(compiled, 0, 1)) == row_set(compiled, identity)
        other_sign = row_set(compiled, swap_units(compiled, 1, 2)) == row_set(compiled, identity)
        assert same_sign is not order_units
        assert not other_sign


def milp_optimum(
    problem: Problem, order_units: bool, convexity_cuts: bool = False, shape_rows: bool = False
) -> float:
    """Minimum over the sign cases of each case's MILP, solved by HiGHS directly."""
    values = []
    formulations = build_formulations(
        problem, order_units=order_units, convexity_cuts=convexity_cuts, shape_rows=shape_rows
    )
    for formulation in formulations:
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("mip_rel_gap", 1e-9)
        highs.setOptionValue("mip_feasibility_tolerance", 1e-9)
        CompiledModel(formulation.model).load(highs)
        highs.run()
        assert highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
        values.append(highs.getInfo().objective_function_value)
    return min(values)


@pytest.mark.parametrize("loss", ["absolute", "hinge"])
@pytest.mark.parametrize("seed", [5, 7])
def test_ordered_symmetric_and_shape_row_models_reach_the_brute_force_optimum(loss, seed):
    X, y = planted_two_layer(seed, 6, 2, width=2)
    if loss == "hinge":
        y = np.where(y > np.median(y), 1.0, -1.0)
    problem = Problem(X, y, arch="two-layer", width=2, loss=loss, weight_bound=2.0)
    best = brute_force(X, y, arch="two-layer", width=2, loss=loss)
    for order_units, shape_rows in ((False, False), (True, False), (False, True)):
        assert_matches(milp_optimum(problem, order_units, shape_rows=shape_rows), best)


@pytest.mark.parametrize("loss", ["absolute", "hinge"])
@pytest.mark.parametrize(("arch", "width", "n"), [("two-layer", 2, 5), ("one-node", 1, 7)])
def test_convexity_cuts_keep_the_brute_force_optimum(loss, arch, width, n):
    X, y = planted_two_layer(6, n, 2, width=2)
    X = np.vstack([X, X[:3].mean(axis=0)])  # a sample inside the hull of three others
    y = np.r_[y, 0.3]
    if loss == "hinge":
        y = np.where(y > np.median(y), 1.0, -1.0)
    problem = Problem(
        X, y, arch=arch, width=width if arch == "two-layer" else None, loss=loss, weight_bound=2.0
    )
    (model, *_) = (f.model for f in build_formulations(problem, convexity_cuts=True))
    assert len(model.convexity) >= width  # the inner sample got its cut per unit
    best = brute_force(X, y, arch=arch, width=width, loss=loss)
    assert_matches(milp_optimum(problem, order_units=False, convexity_cuts=True), best)


@pytest.mark.parametrize(("n", "d"), [(30, 1), (40, 2), (50, 3)])
def test_interpolations_are_convex_combinations_every_relu_satisfies(n, d):
    X, _, _ = generate("planted-one-node", n, d, seed=n)
    cuts = interpolations(X)
    assert cuts  # uniform samples: many lie inside the hull of the others
    rng = np.random.default_rng(0)
    B = 2.0
    W, b = rng.uniform(-B, B, (200, d)), rng.uniform(-B, B, 200)
    A = np.maximum(0.0, X @ W.T + b)  # (n, units): activations of 200 random units
    for cut in cuts:
        assert np.all(cut.weights >= 0) and cut.sample not in cut.others
        assert abs(cut.weights.sum() - 1) <= 1e-12
        assert np.abs(cut.weights @ X[cut.others] - X[cut.sample]).sum() <= cut.error
        assert cut.error < 1e-6
        # Jensen: the cut holds for every unit in the box, with its slack B·error
        assert np.all(A[cut.sample] <= cut.weights @ A[cut.others] + B * cut.error + 1e-12)


def row_violation(compiled: CompiledModel, values) -> float:
    """The largest violation of the model's rows by the variable values ``values``."""
    x = compiled.column_vector(values)
    constraints = compiled.model.component_data_objects(pyo.Constraint, active=True)
    rows, cols, vals, lower, upper = compiled.rows(constraints).arrays()
    activity = np.zeros(lower.size)
    np.add.at(activity, rows, vals * x[cols])
    return float(max(np.max(lower - activity), np.max(activity - upper), 0.0))


@pytest.mark.parametrize("positive_units", [3, 0])
def test_shape_rows_hold_for_every_network_of_a_same_sign_case(positive_units):
    X, y = planted_two_layer(4, 12, 2, width=3)
    problem = Problem(X, y, arch="two-layer", width=3, loss="absolute", weight_bound=2.0)
    formulation = build_two_layer(problem, positive_units=positive_units, shape_rows=True)
    assert len(formulation.model.convex_sum) == 12 * 11
    compiled = CompiledModel(formulation.model)
    rng = np.random.default_rng(1)
    sign = 1.0 if positive_units == 3 else -1.0
    for _ in range(100):
        W, b = rng.uniform(-2, 2, size=(3, 2)), rng.uniform(-2, 2, size=3)
        network = TwoLayerNetwork(W, b, np.full(3, sign), float(rng.normal()))
        assert row_violation(compiled, formulation.variable_values(network)) <= 1e-9
    # mixed signs: the rows would not hold (nor bound anything), so they are not added
    mixed = build_two_layer(problem, positive_units=2, shape_rows=True)
    assert not hasattr(mixed.model, "convex_sum")


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_shape_rows_lift_the_root_bound_to_the_convex_regression_bound(sign):
    # The LP relaxation of a same-sign case (binaries relaxed) with the rows is at least the
    # best convex (concave) fit, computed independently by shape_bound; without them the
    # big-M relaxation fits the noise and bounds nothing.
    X, y = planted_two_layer(2, 20, 2, width=3)
    problem = Problem(X, y, arch="two-layer", width=3, loss="absolute", weight_bound=2.0)
    positive_units = 3 if sign > 0 else 0
    fit = shape_constrained_bound(problem, sign)
    assert fit > 0.1

    def root_bound(shape_rows: bool) -> float:
        formulation = build_two_layer(problem, positive_units=positive_units, shape_rows=shape_rows)
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("solve_relaxation", True)
        CompiledModel(formulation.model).load(highs)
        highs.run()
        return highs.getInfo().objective_function_value

    assert root_bound(True) >= fit * (1 - 1e-6)
    assert root_bound(False) <= 1e-6 * fit


@pytest.mark.parametrize("positive_units", [0, 1, 2])
def test_residual_segments_model_each_square_within_a_quarter_step_squared(positive_units):
    # With the network fixed, minimising Σ t over the segment columns leaves each t_i at
    # the largest tangent at the segment midpoints (t_i >= 0 too): between r_i² - h²/4
    # and r_i². Checked against that maximum computed here, sample by sample.
    X, y = planted_two_layer(4, 9, 2, width=2)
    problem = Problem(X, y, arch="two-layer", width=2, weight_bound=2.0)
    rng = np.random.default_rng(positive_units)
    formulation = build_two_layer(problem, positive_units=positive_units)
    network = formulation.network(rng.uniform(-1, 1, (2, 2)), rng.uniform(-1, 1, 2), 0.3)
    residuals = y - network.predict(X)
    radius, steps = 1.2 * np.abs(residuals).max(), 3
    formulation.add_residual_segments(radius, steps)
    values = formulation.variable_values(network)
    m = formulation.model
    compiled = CompiledModel(m)
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    compiled.load(highs)
    free = {id(v) for v in list(m.delta.values()) + list(m.t.values())}
    for var, value in values.items():
        if id(var) not in free:
            col = compiled.column[id(var)]
            highs.changeColBounds(col, value, value)
    highs.run()
    assert highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
    t = np.asarray(highs.getSolution().col_value)[compiled.columns(m.t.values())]
    h = radius / steps
    midpoints = -radius + (np.arange(2 * steps) + 0.5) * h
    tangents = np.maximum(0.0, (2 * np.outer(residuals, midpoints) - midpoints**2).max(axis=1))
    np.testing.assert_allclose(t, tangents, atol=1e-9)
    assert np.all(t <= residuals**2 + 1e-9)
    assert np.all(t >= residuals**2 - h**2 / 4 - 1e-9)
