"""The exception tree owned by exactrelu.

Every error the package raises on purpose derives from :class:`ExactReLUError`.
Bad input raises an :class:`InvalidInputError`, which is also a ``ValueError`` so
that callers who already catch ``ValueError`` keep working. Messages name the
problem and, where there is one, the fix.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class ExactReLUError(Exception):
    """Base class of every error raised by exactrelu."""


class InvalidInputError(ExactReLUError, ValueError):
    """Data, options or a file that exactrelu cannot accept (the message says why)."""


class InstanceFileError(InvalidInputError):
    """An instance or weights file that cannot be read or parsed."""


class MissingDependencyError(ExactReLUError, ImportError):
    """An optional dependency is needed for the requested feature."""

    def __init__(self, package: str, extra: str, feature: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{feature} needs the optional package '{package}': pip install 'exactrelu[{extra}]'"
        )


class SolverError(ExactReLUError, RuntimeError):
    """The backend solver failed in a way exactrelu cannot recover from."""


def import_optional(
    module: str, extra: str, feature: str, package: str | None = None
) -> ModuleType:
    """Import an optional dependency, or raise :class:`MissingDependencyError` naming the
    extra that installs it (``package``: its name on PyPI when it differs from ``module``)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(package or module, extra, feature) from None
