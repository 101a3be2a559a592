"""The network's variables: weights in the box, activations with their big-M bounds, binaries.

``j`` ranges over hidden units (one for one-node), ``i`` over samples, ``k`` over features.
The declaration order here is the column order of the compiled model
(:class:`~exactrelu.highs.compile.CompiledModel` numbers the variables as Pyomo lists
them): ``W, b, (c), a, s``, before any column of the later blocks.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
from pyomo.common.collections import ComponentMap

from exactrelu.formulation.layout import Layout
from exactrelu.network.networks import Network
from exactrelu.problem import Problem


def add_variables(m: pyo.ConcreteModel, layout: Layout) -> None:
    """Index sets ``I, J, K`` and the variables ``W, b, c, a, s``.

    * ``W[j, k] ∈ [-B, B]``, ``b[j] ∈ [-B, B]`` (fixed to 0 without bias): the hidden
      layer, in the box of radius ``B`` that defines the class.
    * ``c`` free (two-layer only): the output bias. The output weights are data, the
      layout's signs ``v_j``, not variables.
    * ``a[i, j] ∈ [0, U_i]``: the activation ``max(0, z_ij)``, bounded by its big-M value
      (:func:`~exactrelu.formulation.layout.make_layout`).
    * ``s[i, j] ∈ {0, 1}`` on the index set ``S`` (samples of ``layout.binary_samples``
      times all units): unit j active on sample i.
    """
    problem = layout.problem
    n, d, h, B = problem.n, problem.d, problem.width, problem.box_radius
    upper = layout.upper
    m.I = pyo.RangeSet(0, n - 1)
    m.J = pyo.RangeSet(0, h - 1)
    m.K = pyo.RangeSet(0, d - 1)
    m.W = pyo.Var(m.J, m.K, bounds=(-B, B), initialize=0.0)
    m.b = pyo.Var(m.J, bounds=(-B, B), initialize=0.0)
    if not problem.bias:
        m.b.fix(0.0)
    if layout.two_layer:
        m.c = pyo.Var(initialize=0.0)
    m.a = pyo.Var(m.I, m.J, bounds=lambda _, i, j: (0.0, float(upper[i])), initialize=0.0)
    binary_index = [(int(i), j) for i in np.flatnonzero(layout.binary_samples) for j in range(h)]
    m.S = pyo.Set(initialize=binary_index, dimen=2)
    m.s = pyo.Var(m.S, domain=pyo.Binary, initialize=0)


def network_values(
    m: pyo.ConcreteModel, problem: Problem, network: Network, upper: np.ndarray
) -> ComponentMap:
    """Values of ``W, b, c, a, s`` that represent ``network`` (a warm start's first part).

    Parameters
    ----------
    m : pyomo.environ.ConcreteModel
        A model with :func:`add_variables`'s components.
    problem : Problem
    network : Network
        Fits the model: its output signs match and it lies in the box.
    upper : ndarray of shape (n_samples,)
        The big-M values ``U_i``; activations are clipped to them (round-off).

    Returns
    -------
    ComponentMap
        ``a = max(0, z)``, ``s = [z > 0]`` on ``S``.
    """
    W, b = network.hidden_weights
    z = network.pre_activations(problem.X)
    a = np.maximum(z, 0.0)
    values = ComponentMap()
    for j in range(problem.width):
        for k in range(problem.d):
            values[m.W[j, k]] = W[j, k]
        values[m.b[j]] = b[j] if problem.bias else 0.0
    for i, j in m.a:
        values[m.a[i, j]] = min(a[i, j], upper[i])
    for i, j in m.s:
        values[m.s[i, j]] = 1.0 if z[i, j] > 0 else 0.0
    if problem.arch == "two-layer":
        values[m.c] = network.c
    return values
