"""The two-layer formulation's symmetry: left to the solver, or ordered on request."""

from __future__ import annotations

import highspy
import numpy as np
import pyomo.environ as pyo
import pytest
from helpers import assert_matches, planted_two_layer
from oracle import brute_force

from exactrelu import Problem
from exactrelu.formulation import build_formulations, build_two_layer
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


def milp_optimum(problem: Problem, order_units: bool) -> float:
    """Minimum over the sign cases of each case's MILP, solved by HiGHS directly."""
    values = []
    for formulation in build_formulations(problem, order_units=order_units):
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
