"""exactrelu: train small ReLU networks to proven global optimality."""

from exactrelu.certificate import Certificate
from exactrelu.errors import (
    ExactReLUError,
    InstanceFileError,
    InvalidInputError,
    MissingDependencyError,
    SolverError,
)
from exactrelu.instances import Instance, load_instance, save_instance
from exactrelu.landscapes import LandscapeReport, landscape
from exactrelu.network.networks import OneNodeNetwork, TwoLayerNetwork
from exactrelu.problem import Problem
from exactrelu.solve import available_methods, solve
from exactrelu.validation import BatchValidation, ValidationReport, validate, validate_many

__version__ = "0.1.0"

__all__ = [
    "BatchValidation",
    "Certificate",
    "ExactReLUError",
    "Instance",
    "InstanceFileError",
    "InvalidInputError",
    "LandscapeReport",
    "MissingDependencyError",
    "OneNodeNetwork",
    "Problem",
    "SolverError",
    "TwoLayerNetwork",
    "ValidationReport",
    "available_methods",
    "landscape",
    "load_instance",
    "save_instance",
    "solve",
    "validate",
    "validate_many",
]
