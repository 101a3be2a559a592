"""Translate a linear Pyomo model into HiGHS matrices (and new constraints into rows).

exactrelu drives highspy directly rather than through a Pyomo solver plugin because
the solve loop needs what the plugins do not expose together: warm starts, MIP
callbacks (progress, improving solutions, Ctrl-C) and rows added between rounds of
the outer approximation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.repn import generate_standard_repn

from exactrelu.errors import SolverError
from exactrelu.highs.matrix import INF, SparseRows, add_rows, pass_model


class CompiledModel:
    """Column map of a Pyomo model: one HiGHS column per (unfixed or fixed) variable."""

    def __init__(self, model: pyo.ConcreteModel) -> None:
        self.model = model
        self.variables = list(model.component_data_objects(pyo.Var, descend_into=True))
        self.column = {id(v): k for k, v in enumerate(self.variables)}

    def columns(self, variables: Iterable) -> np.ndarray:
        return np.array([self.column[id(v)] for v in variables], dtype=np.int64)

    def column_vector(self, values: Mapping) -> np.ndarray:
        """The HiGHS column vector of a variable assignment (variables not in it: 0)."""
        x = np.zeros(len(self.variables))
        for var, value in values.items():
            x[self.column[id(var)]] = value
        return x

    def rows(self, constraints: Iterable) -> SparseRows:
        """The rows ``lower <= a·x <= upper`` of linear Pyomo constraints."""
        block = SparseRows()
        r_ids, c_ids, vals, lower, upper = [], [], [], [], []
        for r, con in enumerate(constraints):
            repn = generate_standard_repn(con.body, compute_values=True, quadratic=False)
            if not repn.is_linear():
                raise SolverError(f"constraint {con.name} is not linear")
            const = float(repn.constant)
            r_ids.extend([r] * len(repn.linear_vars))
            c_ids.extend(self.column[id(v)] for v in repn.linear_vars)
            vals.extend(float(c) for c in repn.linear_coefs)
            lo, up = con.lower, con.upper
            lower.append(-INF if lo is None else pyo.value(lo) - const)
            upper.append(INF if up is None else pyo.value(up) - const)
        if lower:
            block.add(r_ids, c_ids, vals, lower, upper)
        return block

    def load(self, highs: highspy.Highs) -> None:
        """Pass the whole model (objective, bounds, integrality, constraints) to ``highs``."""
        model = self.model
        objectives = list(model.component_data_objects(pyo.Objective, active=True))
        if len(objectives) != 1:
            raise SolverError(
                f"the model needs exactly one active objective, has {len(objectives)}"
            )
        objective = objectives[0]
        repn = generate_standard_repn(objective.expr, compute_values=True, quadratic=False)
        if not repn.is_linear():
            raise SolverError("HiGHS needs a linear objective here (use squared='tangents')")
        sense = 1.0 if objective.sense == pyo.minimize else -1.0
        cost = np.zeros(len(self.variables))
        for v, coef in zip(repn.linear_vars, repn.linear_coefs, strict=True):
            cost[self.column[id(v)]] += sense * float(coef)
        lower = np.empty(len(self.variables))
        upper = np.empty(len(self.variables))
        integrality = np.zeros(len(self.variables), dtype=np.int64)
        for k, v in enumerate(self.variables):
            if v.fixed:
                lower[k] = upper[k] = float(v.value)
                continue
            lower[k] = -INF if v.lb is None else float(v.lb)
            upper[k] = INF if v.ub is None else float(v.ub)
            if v.is_integer() or v.is_binary():
                integrality[k] = int(highspy.HighsVarType.kInteger)
        constraints = model.component_data_objects(pyo.Constraint, active=True, descend_into=True)
        block, offset = self.rows(constraints), sense * float(repn.constant)
        pass_model(highs, cost, lower, upper, block, integrality=integrality, offset=offset)

    def add_rows(self, highs: highspy.Highs, constraints: Iterable) -> None:
        """Append linear constraints to a loaded ``highs`` model."""
        add_rows(highs, self.rows(constraints))

    def load_values(self, values: np.ndarray) -> None:
        """Write a HiGHS column vector back into the Pyomo variables."""
        for v, x in zip(self.variables, values, strict=True):
            if not v.fixed:
                v.set_value(float(x), skip_validation=True)
