"""The exception tree owned by exactrelu.

Every error the package raises on purpose derives from :class:`ExactReLUError`.
Bad input raises an :class:`InvalidInputError`, which is also a ``ValueError`` so
that callers who already catch ``ValueError`` keep working. Messages name the
problem and, where there is one, the fix.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType
from typing import Any

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


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


def one_line(exc: BaseException | str, limit: int = 200) -> str:
    """A message on one line, without terminal escape codes, at most ``limit`` characters.

    For quoting another library's exception inside exactrelu's own message: some print
    pages of advice in colour.
    """
    text = " ".join(ANSI_ESCAPE.sub("", str(exc)).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def show(value: Any) -> str:
    """``repr`` of a value for a message, numpy scalars shown as plain Python numbers.

    ``repr(np.float64(1.0))`` is ``np.float64(1.0)`` since numpy 2: users should read
    ``1.0``. Arrays and lists are shown element by element the same way.
    """
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:
        value = item()
    elif hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return repr(value)
