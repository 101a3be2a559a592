"""The two-layer formulation: its symmetry (left to the solver, or ordered on request) and
its convexity cuts (valid for every network, and the optimum unchanged)."""

from __future__ import annotations

import highspy
import numpy as np
import pyomo.environ as pyo
import pytest
from helpers import assert_matches, planted_two_layer
from oracle import brute_force

from exactrelu import Problem
from exactrelu.formulation import build_formulations, build_two_layer
from exactrelu.formulation.convexity import interpolations
from exactrelu.generate import generate
from exactrelu.solver.compile import CompiledModel
from exactrelu.solver.mip import initial_tangent_points


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
    problem = Problem(X, y, arch="two-layer", width=3, loss=loss)
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


def milp_optimum(problem: Problem, order_units: bool, convexity_cuts: bool = False) -> float:
    """Minimum over the sign cases of each case's MILP, solved by HiGHS directly."""
    values = []
    formulations = build_formulations(
        problem, order_units=order_units, convexity_cuts=convexity_cuts
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
def test_ordered_and_symmetric_models_reach_the_brute_force_optimum(loss):
    X, y = planted_two_layer(5, 6, 2, width=2)
    if loss == "hinge":
        y = np.where(y > np.median(y), 1.0, -1.0)
    problem = Problem(X, y, arch="two-layer", width=2, loss=loss)
    best = brute_force(X, y, arch="two-layer", width=2, loss=loss)
    for order_units in (False, True):
        assert_matches(milp_optimum(problem, order_units), best)


@pytest.mark.parametrize("loss", ["absolute", "hinge"])
@pytest.mark.parametrize(("arch", "width", "n"), [("two-layer", 2, 5), ("one-node", 1, 7)])
def test_convexity_cuts_keep_the_brute_force_optimum(loss, arch, width, n):
    X, y = planted_two_layer(6, n, 2, width=2)
    X = np.vstack([X, X[:3].mean(axis=0)])  # a sample inside the hull of three others
    y = np.r_[y, 0.3]
    if loss == "hinge":
        y = np.where(y > np.median(y), 1.0, -1.0)
    problem = Problem(X, y, arch=arch, width=width if arch == "two-layer" else None, loss=loss)
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
