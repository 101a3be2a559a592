"""The formulation's blocks one at a time, on fixtures small enough to check by hand.

Each test builds a model from a layout and only the blocks it is about, fixes what the
block does not decide, and compares what HiGHS can still do with the rows against an
independent computation: the box's vertices, :mod:`oracle`'s forward pass and losses,
a direct count, numpy's linear solve.
"""

from __future__ import annotations

import itertools

import highspy
import numpy as np
import pyomo.environ as pyo
import pytest
from helpers import planted_two_layer
from oracle import forward, loss_value

from exactrelu import Problem
from exactrelu.formulation import build_formulations
from exactrelu.formulation.bounds import CutoffBounds
from exactrelu.formulation.convexity import add_convexity_cuts
from exactrelu.formulation.interpolation import Interpolation, interpolations
from exactrelu.formulation.layout import make_layout
from exactrelu.formulation.relu import add_relu_rows
from exactrelu.formulation.symmetry import add_symmetry_rows
from exactrelu.formulation.variables import add_variables
from exactrelu.highs.compile import CompiledModel

Status = highspy.HighsModelStatus


def model_of(layout, *blocks) -> pyo.ConcreteModel:
    """A model with only ``blocks`` of ``layout`` (in the builders' order)."""
    m = pyo.ConcreteModel()
    for add_block in blocks:
        add_block(m, layout)
    return m


def optimize(m: pyo.ConcreteModel, expr, sense=pyo.minimize) -> tuple[Status, float | None]:
    """Optimise ``expr`` over the model's rows with HiGHS; its optimal value, or None."""
    m.probe = pyo.Objective(expr=expr, sense=sense)
    try:
        compiled = CompiledModel(m)
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("mip_feasibility_tolerance", 1e-9)
        highs.setOptionValue("primal_feasibility_tolerance", 1e-9)
        highs.setOptionValue("mip_rel_gap", 1e-9)
        compiled.load(highs)
        highs.run()
        status = highs.getModelStatus()
        if status != Status.kOptimal:
            return status, None
        compiled.load_values(np.asarray(highs.getSolution().col_value))
        return status, float(pyo.value(expr))
    finally:
        m.del_component(m.probe)


def fix_weights(m: pyo.ConcreteModel, W: np.ndarray, b: np.ndarray) -> None:
    for j, k in m.W:
        m.W[j, k].fix(float(W[j, k]))
    for j in m.b:
        m.b[j].fix(float(b[j]))


def box_vertices(d: int, B: float, bias: bool) -> np.ndarray:
    """Every vertex ``(w, b)`` of the weight box, shape (2^(d+1) or 2^d, d + 1)."""
    corners = np.array(list(itertools.product((-B, B), repeat=d + int(bias))))
    return corners if bias else np.column_stack([corners, np.zeros(len(corners))])


@pytest.mark.parametrize("bias", [True, False])
def test_big_m_rows_of_one_sample_force_the_activation_to_a_relu(bias):
    # Three samples: a binary one, x = 0 (binary with a bias; without, z = 0 always) and
    # one with y < 0, whose squared loss never decreases in a (no binary: only a >= z).
    X = np.array([[0.5, -1.5], [0.0, 0.0], [2.0, 1.0]])
    y = np.array([1.0, 0.7, -0.3])
    B = 2.0
    problem = Problem(X, y, arch="one-node", loss="squared", weight_bound=B, bias=bias)
    layout = make_layout(problem, 1)
    # big-M values: the range of z = w·x + b over the box, attained at a vertex
    vertices = box_vertices(2, B, bias)
    z_vertices = X @ vertices[:, :2].T + vertices[:, 2]  # (samples, vertices)
    np.testing.assert_allclose(layout.upper, z_vertices.max(axis=1), rtol=1e-15)
    np.testing.assert_allclose(layout.lower, z_vertices.min(axis=1), rtol=1e-15)
    assert layout.binary_samples.tolist() == [True, bias, False]

    m = model_of(layout, add_variables, add_relu_rows)
    rng = np.random.default_rng(3)
    candidates = [*vertices[:4], *rng.uniform(-B, B, (4, 3))]
    for theta in candidates:
        w, b = theta[:2], theta[2] if bias else 0.0
        fix_weights(m, w[None, :], np.array([b]))
        relu = forward(X, w[None, :], [b], [1.0], 0.0)  # max(0, z_i), independently
        for i in range(3):
            _, lowest = optimize(m, m.a[i, 0], pyo.minimize)
            _, highest = optimize(m, m.a[i, 0], pyo.maximize)
            assert lowest == pytest.approx(relu[i], abs=1e-9)
            if layout.binary_samples[i] or layout.upper[i] == 0:
                assert highest == pytest.approx(relu[i], abs=1e-9)
            else:  # the monotone sample: only a >= max(0, z), up to its big-M value
                assert highest == pytest.approx(z_vertices[i].max(), abs=1e-9)


def test_cutoff_bounds_fix_a_sample_active_or_inactive_without_a_binary():
    X = np.array([[1.0, 0.5], [-0.5, 1.0], [1.5, -1.0]])
    y = np.array([1.0, 0.4, 0.8])  # y > 0: every sample would need a binary
    problem = Problem(X, y, arch="one-node", loss="squared", weight_bound=2.0)
    # below the (made-up) cutoff, z_0 ∈ [0.2, 1.0] (active) and z_1 ∈ [-3, -0.1] (inactive)
    bounds = CutoffBounds(np.array([0.2, -3.0, -4.0]), np.array([1.0, -0.1, 4.0]), 1.0)
    layout = make_layout(problem, 1, cutoff_bounds=bounds)
    assert layout.fixed_active.tolist() == [True, False, False]
    assert layout.binary_samples.tolist() == [False, False, True]
    m = model_of(layout, add_variables, add_relu_rows)
    w, b = np.array([0.6, 0.2]), -0.3  # z = (0.4, -0.4, 0.4): within the bounds
    fix_weights(m, w[None, :], np.array([b]))
    relu = forward(X, w[None, :], [b], [1.0], 0.0)
    for i in range(3):
        assert optimize(m, m.a[i, 0], pyo.minimize)[1] == pytest.approx(relu[i], abs=1e-9)
        assert optimize(m, m.a[i, 0], pyo.maximize)[1] == pytest.approx(relu[i], abs=1e-9)
    # a network inactive on the fixed-active sample is outside the model
    fix_weights(m, np.array([[-0.5, 0.0]]), np.array([0.0]))
    assert optimize(m, m.a[0, 0])[0] == Status.kInfeasible


@pytest.mark.parametrize("order_units", [True, False])
def test_symmetry_rows_order_the_units_of_one_sign_by_activation_count(order_units):
    # Width 3 with signs (+1, +1, -1): only units 0 and 1 are exchangeable. Every binary
    # assignment of two samples is checked against the counts computed here.
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    problem = Problem(
        X, np.array([0.5, -0.5]), arch="two-layer", width=3, loss="absolute", weight_bound=2.0
    )
    layout = make_layout(problem, 2, order_units=order_units)
    m = model_of(layout, add_variables, add_symmetry_rows)
    assert len(m.symmetry) == (1 if order_units else 0)
    compiled = CompiledModel(m)
    rows, cols, vals, lower, upper = compiled.rows(m.symmetry.values()).arrays()
    columns = compiled.columns(m.s[i, j] for i in range(2) for j in range(3))
    feasible = 0
    for bits in itertools.product((0.0, 1.0), repeat=6):
        s = np.reshape(bits, (2, 3))
        x = np.zeros(len(compiled.variables))
        x[columns] = bits
        activity = np.zeros(lower.size)
        np.add.at(activity, rows, vals * x[cols])
        satisfied = bool(np.all((lower <= activity) & (activity <= upper)))
        ordered = s[:, 0].sum() >= s[:, 1].sum()
        assert satisfied == (ordered or not order_units)
        feasible += satisfied
    assert (feasible < 2**6) == order_units  # the ordering excludes some assignments


def row_coefficients(compiled: CompiledModel, constraint) -> tuple[dict, float, float]:
    """One row as ``{variable name: coefficient}`` with its bounds."""
    _, cols, vals, lower, upper = compiled.rows([constraint]).arrays()
    names = {int(c): compiled.variables[int(c)].name for c in cols}
    return {names[int(c)]: float(v) for c, v in zip(cols, vals, strict=True)}, lower[0], upper[0]


def test_convexity_cut_of_a_sample_between_two_others():
    # On a line, x_1 = 1 lies between x_0 = 0 and x_2 = 3: x_1 = λ_0 x_0 + λ_2 x_2 with λ
    # from the 2×2 system below; the end samples lie outside the others' hull (no cut).
    X = np.array([[0.0], [1.0], [3.0]])
    lam = np.linalg.solve(np.array([[0.0, 3.0], [1.0, 1.0]]), np.array([1.0, 1.0]))
    (found,) = interpolations(X)
    assert found.sample == 1 and found.others.tolist() == [0, 2]
    np.testing.assert_allclose(found.weights, lam, atol=1e-12)

    B = 2.0
    problem = Problem(
        X, np.array([0.1, 0.5, 1.0]), arch="two-layer", width=2, loss="absolute", weight_bound=2.0
    )
    # the found cut, and a hand-made one whose leftover error widens the row by B·error
    hand_made = Interpolation(1, np.array([0, 2]), lam, error=1e-3)
    layout = make_layout(problem, 1, cuts=[found, hand_made])
    m = model_of(layout, add_variables, add_convexity_cuts)
    assert len(m.convexity) == 2 * 2  # per cut and unit
    compiled = CompiledModel(m)
    for q, cut in enumerate((found, hand_made)):
        for j in range(2):
            coefficients, lower, upper = row_coefficients(compiled, m.convexity[q, j])
            expected = {f"a[1,{j}]": 1.0, f"a[0,{j}]": -lam[0], f"a[2,{j}]": -lam[1]}
            assert coefficients.keys() == expected.keys()
            for name, value in expected.items():
                assert coefficients[name] == pytest.approx(value, abs=1e-12)
            assert lower == -highspy.kHighsInf and upper == pytest.approx(B * cut.error)

    # Jensen: every ReLU in the box satisfies the row; a bump at x_1 does not
    rng = np.random.default_rng(0)
    W, b = rng.uniform(-B, B, (500, 1)), rng.uniform(-B, B, 500)
    for w, bias in zip(W, b, strict=True):
        a = forward(X, w[None, :], [bias], [1.0], 0.0)
        assert a[1] - lam @ a[[0, 2]] <= B * found.error
    bump = np.array([0.0, 1.0, 0.0])
    assert bump[1] - lam @ bump[[0, 2]] > B * found.error


@pytest.mark.parametrize("loss", ["absolute", "hinge"])
@pytest.mark.parametrize(("arch", "width"), [("one-node", 1), ("two-layer", 2)])
def test_with_the_weights_fixed_the_model_optimum_is_the_networks_loss(loss, arch, width):
    # Variables, big-M rows, output and loss blocks together: with (W, b, c) fixed the
    # binaries and epigraph variables are forced, so the optimum is the network's loss
    # (every sign case, one-node samples without binaries included).
    X, y = planted_two_layer(8, 6, 2, width=2)
    if loss == "hinge":
        y = np.where(y > np.median(y), 1.0, -1.0)
    problem = Problem(
        X, y, arch=arch, width=width if arch == "two-layer" else None, loss=loss, weight_bound=2.0
    )
    rng = np.random.default_rng(1)
    for formulation in build_formulations(problem, convexity_cuts=True):
        m = formulation.model
        for _ in range(3):
            W, b = rng.uniform(-2, 2, (width, 2)), rng.uniform(-2, 2, width)
            c = float(rng.normal()) if arch == "two-layer" else 0.0
            fix_weights(m, W, b)
            if arch == "two-layer":
                m.c.fix(c)
            m.loss.deactivate()
            _, value = optimize(m, m.loss.expr)
            m.loss.activate()
            expected = loss_value(y, forward(X, W, b, formulation.signs, c), loss)
            assert value == pytest.approx(expected, rel=1e-9, abs=1e-8)


@pytest.mark.parametrize(("arch", "width"), [("one-node", 1), ("two-layer", 2)])
def test_a_tangent_cut_is_exact_at_its_residual(arch, width):
    # t_i >= 2 r̄ (y_i - f_i) - r̄² touches r² at r = r̄: with the network whose residuals
    # the cuts were placed at fixed, each t_i is its squared residual; the same residuals
    # again add no cut.
    X, y = planted_two_layer(9, 6, 2, width=2)
    problem = Problem(
        X, y, arch=arch, width=width if arch == "two-layer" else None, weight_bound=2.0
    )
    rng = np.random.default_rng(2)
    formulation = build_formulations(problem)[0]
    W, b = rng.uniform(-1, 1, (width, 2)), rng.uniform(-1, 1, width)
    c = 0.3 if arch == "two-layer" else 0.0
    residuals = y - forward(X, W, b, formulation.signs, c)
    # monotone one-node samples take their cut at r̄ <= 0 only (Formulation.add_tangents)
    placed = np.where(formulation.monotone_samples, np.minimum(residuals, 0.0), residuals)
    assert formulation.add_tangents(residuals)
    assert formulation.add_tangents(residuals) == []
    m = formulation.model
    fix_weights(m, W, b)
    if arch == "two-layer":
        m.c.fix(c)
    m.loss.deactivate()
    for i in range(problem.n):
        _, t = optimize(m, m.t[i])
        expected = residuals[i] ** 2 if placed[i] == residuals[i] else 0.0
        assert t == pytest.approx(expected, rel=1e-9, abs=1e-9)


def largest_row_violation(compiled: CompiledModel, x: np.ndarray) -> float:
    constraints = compiled.model.component_data_objects(pyo.Constraint, active=True)
    rows, cols, vals, lower, upper = compiled.rows(constraints).arrays()
    activity = np.zeros(lower.size)
    np.add.at(activity, rows, vals * x[cols])
    return float(max(np.max(lower - activity), np.max(activity - upper), 0.0))


@pytest.mark.parametrize("loss", ["squared", "absolute", "hinge"])
def test_warm_start_of_every_block_is_feasible_and_carries_the_true_loss(loss):
    # variable_values is assembled block by block (weights and activations, slopes, loss
    # columns); with every optional block on, the assignment satisfies every row, keeps
    # the column bounds and its objective is the network's loss computed by the oracle.
    X, y = planted_two_layer(5, 6, 2, width=3)
    if loss == "hinge":
        y = np.where(y > np.median(y), 1.0, -1.0)
    problem = Problem(X, y, arch="two-layer", width=3, loss=loss, weight_bound=2.0)
    formulations = build_formulations(
        problem, order_units=True, convexity_cuts=True, shape_rows=True
    )
    rng = np.random.default_rng(4)
    for formulation in formulations:
        if loss == "squared":
            # wide enough for every network below: |f_i| <= Σ_j U_i + |c|
            widest = 3 * formulation.upper.max() + 1.0 + np.abs(y).max()
            formulation.add_residual_segments(float(widest), 4)
        compiled = CompiledModel(formulation.model)
        for _ in range(5):
            W, b = rng.uniform(-2, 2, (3, 2)), rng.uniform(-2, 2, 3)
            network = formulation.network(W, b, float(rng.uniform(-1, 1)))
            x = compiled.column_vector(formulation.variable_values(network))
            assert largest_row_violation(compiled, x) <= 1e-9
            for var, value in zip(compiled.variables, x, strict=True):
                assert var.lb is None or value >= var.lb - 1e-12
                assert var.ub is None or value <= var.ub + 1e-12
            compiled.load_values(x)
            expected = loss_value(y, forward(X, network.W, network.b, network.v, network.c), loss)
            assert pyo.value(formulation.model.loss) == pytest.approx(expected, rel=1e-12)


def test_one_node_hinge_off_rows_hold_for_every_network_and_raise_the_lp_bound():
    # hinge_off: e_i >= 1 - s_i, because a unit that is off at a sample outputs 0 there,
    # whose hinge loss is 1. Every network's assignment satisfies the rows; in the
    # relaxation (binaries in [0, 1]) they can only raise the bound, and here they do:
    # without them a fractional s_i = 1 / U_i earns a sample its whole margin.
    X, y = planted_two_layer(3, 12, 2, width=2)
    y = np.where(y > np.median(y), 1.0, -1.0)
    problem = Problem(X, y, arch="one-node", loss="hinge", weight_bound=2.0)
    (formulation,) = build_formulations(problem)
    m = formulation.model
    assert len(m.hinge_off) == len(m.S) > 0
    compiled = CompiledModel(m)
    rng = np.random.default_rng(5)
    for _ in range(20):
        network = formulation.network(rng.uniform(-2, 2, (1, 2)), rng.uniform(-2, 2, 1))
        x = compiled.column_vector(formulation.variable_values(network))
        assert largest_row_violation(compiled, x) <= 1e-9
    for s in m.s.values():
        s.domain = pyo.UnitInterval
    m.loss.deactivate()
    _, with_rows = optimize(m, m.loss.expr)
    m.hinge_off.deactivate()
    _, without = optimize(m, m.loss.expr)
    assert with_rows > without + 1e-3
