"""Pyomo big-M formulations of ReLU training (see :mod:`exactrelu.formulation.model`)."""

from exactrelu.formulation.bounds import preactivation_bounds
from exactrelu.formulation.model import (
    Formulation,
    build_formulations,
    build_one_node,
    build_two_layer,
)

__all__ = [
    "Formulation",
    "build_formulations",
    "build_one_node",
    "build_two_layer",
    "preactivation_bounds",
]
