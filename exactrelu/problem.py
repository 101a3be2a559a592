"""The training problem: data, network class, loss and weight box, validated once.

:class:`Problem` is the one entry point for input checks: every method, the command
line and the estimators build one, so every later stage may assume clean input:

* ``X`` is a finite float64 array of shape ``(n, d)`` with ``n >= 1`` and ``d >= 1``;
* ``y`` is a finite float64 array of shape ``(n,)``;
* hinge loss has labels exactly in ``{-1, +1}``;
* the weight bound ``B`` is positive and finite, the width a positive integer.

Each violation raises :class:`~exactrelu.errors.InvalidInputError` (a ``ValueError``)
whose message names the offending row or column. The small ``check_*`` functions here
are the shared checks of options elsewhere (solver options, method options, files).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from exactrelu.errors import InvalidInputError, one_line, show

ARCHS = ("one-node", "two-layer")
LOSSES = ("squared", "absolute", "hinge")
AUTO = "auto"
DEFAULT_WEIGHT_BOUND = AUTO
DEFAULT_ARCH = "one-node"
DEFAULT_LOSS = "squared"
DEFAULT_WIDTH = 2  # width of a two-layer network when none is given
# The largest target and big-M value B·(‖x_i‖₁ + 1) accepted. The solvers work to
# absolute tolerances near 1e-9 in double precision; beyond this magnitude HiGHS was
# measured to end in errors, to prove nothing (bound 0) or to reject the model (targets
# or features scaled by 1e8 to 1e12), while 1e6 still certified every instance tried.
MAX_MAGNITUDE = 1e6


def validate_arrays(X: Any, y: Any, *, source: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Return ``X`` and ``y`` as clean float64 arrays or raise ``InvalidInputError``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    source : str, default ""
        Where the data came from (a file name), used in error messages.
    """
    where = f"{source}: " if source else ""
    X = real_array("X", X, where)
    y = real_array("y", y, where)
    if X.ndim != 2:
        raise InvalidInputError(
            f"{where}X must be 2-D (n_samples, n_features), got shape {X.shape}"
        )
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise InvalidInputError(f"{where}y must be 1-D (n_samples,), got shape {y.shape}")
    n, d = X.shape
    if n < 1:
        raise InvalidInputError(f"{where}no samples: X has 0 rows")
    if d < 1:
        raise InvalidInputError(f"{where}no features: X has 0 columns")
    if y.shape[0] != n:
        raise InvalidInputError(f"{where}y has {y.shape[0]} entries but X has {n} rows")
    # rows and columns are counted from 1 in every message (row 1 is the first sample)
    bad = np.argwhere(~np.isfinite(X))
    if bad.size:
        row, col = bad[0]
        raise InvalidInputError(
            f"{where}X has a non-finite value ({show(X[row, col])}) at row {row + 1}, "
            f"column {col + 1}"
        )
    bad_y = np.flatnonzero(~np.isfinite(y))
    if bad_y.size:
        raise InvalidInputError(
            f"{where}y has a non-finite value ({show(y[bad_y[0]])}) at row {bad_y[0] + 1}"
        )
    return np.ascontiguousarray(X), np.ascontiguousarray(y)


def real_array(name: str, value: Any, where: str = "") -> np.ndarray:
    """``value`` as a float64 array; complex values are refused unless they are real.

    numpy would drop an imaginary part with only a warning, training on other data than
    the user's.
    """
    try:
        array = np.asarray(value)
        if np.iscomplexobj(array):
            imaginary = np.argwhere(array.imag != 0)
            if imaginary.size:
                index = [int(i) + 1 for i in imaginary[0]]
                axes = ("row", "column", "slice")
                place = ", ".join(f"{a} {i}" for a, i in zip(axes, index, strict=False))
                first = show(array[tuple(imaginary[0])])
                raise InvalidInputError(
                    f"{where}{name} has complex values (at {place}: {first}); "
                    "exactrelu trains on real numbers"
                )
            array = array.real
        return np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, InvalidInputError):
            raise
        raise InvalidInputError(
            f"{where}{name} is not numeric ({_not_numeric(value, exc)})"
        ) from None


def _not_numeric(value: Any, exc: Exception) -> str:
    """What makes ``value`` not an array of numbers, for the message (numpy's own message
    shows numpy reprs and counts from 0)."""
    if "inhomogeneous" in str(exc) or "sequence" in str(exc):
        return "rows of unequal length"
    try:
        cells = np.asarray(value, dtype=object)
    except (TypeError, ValueError):
        return one_line(exc)
    for index, cell in np.ndenumerate(cells):
        try:
            float(cell)
        except (TypeError, ValueError):
            axes = ("row", "column", "slice")
            at = ", ".join(f"{a} {i + 1}" for a, i in zip(axes, index, strict=False))
            return f"{show(cell)}" + (f" at {at}" if at else "")
    return one_line(exc)


def check_magnitudes(
    X: np.ndarray, y: np.ndarray, weight_bound: float, *, source: str = ""
) -> None:
    """Refuse data too large for the solvers' tolerances (:data:`MAX_MAGNITUDE`).

    Two magnitudes matter: the targets ``|y_i|`` (the losses and the output bias scale
    with them) and the big-M values ``B·(‖x_i‖₁ + 1)``, the largest pre-activation a
    network of the box reaches on sample ``i``, which are the MIP's coefficients.
    """
    where = f"{source}: " if source else ""
    advice = (
        f"exactrelu certifies optima to absolute tolerances near 1e-9, which holds for "
        f"magnitudes up to {MAX_MAGNITUDE:g}"
    )
    row = int(np.argmax(np.abs(y)))
    if abs(y[row]) > MAX_MAGNITUDE:
        raise InvalidInputError(
            f"{where}y reaches {abs(y[row]):.3g} (row {row + 1}): {advice}; rescale y "
            "(divide it, and the weight bound with it, by a power of ten)"
        )
    big_m = weight_bound * (np.abs(X).sum(axis=1) + 1.0)
    row = int(np.argmax(big_m))
    if big_m[row] > MAX_MAGNITUDE:
        raise InvalidInputError(
            f"{where}the big-M values B·(‖x_i‖₁ + 1) reach {big_m[row]:.3g} (row {row + 1}, "
            f"B = {weight_bound:g}): {advice}; rescale X (standardise the features) or "
            "lower the weight bound"
        )


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``InvalidInputError``."""
    if value not in choices:
        raise InvalidInputError(f"{name} must be one of {', '.join(choices)}; got {show(value)}")
    return value


def check_int(name: str, value: Any, *, minimum: int) -> int:
    """Return ``value`` as an int if it is an integer ``>= minimum`` (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidInputError(f"{name} must be an integer >= {minimum}, got {show(value)}")
    return int(value)


def check_positive(name: str, value: Any, *, integer: bool = False) -> Any:
    """Return ``value`` if it is a positive finite number (an int when ``integer``)."""
    if isinstance(value, bool):
        raise InvalidInputError(f"{name} must be a positive number, got {show(value)}")
    if integer:
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise InvalidInputError(f"{name} must be an integer >= 1, got {show(value)}")
        return int(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be a positive number, got {show(value)}") from None
    if not math.isfinite(number) or number <= 0:
        raise InvalidInputError(f"{name} must be a positive finite number, got {show(value)}")
    return number


def check_weight_bound(value: Any) -> float | str:
    """``"auto"`` or a positive finite number (also given as text, as on the command line)."""
    if isinstance(value, str):
        if value.strip().lower() == AUTO:
            return AUTO
        try:
            value = float(value)
        except ValueError:
            raise InvalidInputError(
                f"weight bound must be a positive number or 'auto', got {value!r}"
            ) from None
    return check_positive("weight bound", value)


@dataclass(frozen=True, eq=False)
class Problem:
    """One training problem: data, architecture, loss and weight box.

    The network class is fixed by ``arch`` (``"one-node"`` or ``"two-layer"``),
    ``width`` (hidden units of a two-layer network; 1 for one-node) and ``bias``;
    the weights range over a box (the two-layer output bias ``c`` is free and the output
    weights are ±1, see docs/problem.md). The objective is the **sum** over samples of
    the per-sample ``loss``.

    The box is either a number ``B`` (``|w_j| <= B``, ``|b| <= B`` in the units of the
    data) or ``"auto"``: the box is taken in standardised units, chosen from the data's
    scale and grown while the optimum touches it (:mod:`exactrelu.methods.auto_box`).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    arch : {"one-node", "two-layer"}, default "one-node"
    width : int, default 1 for one-node, 2 for two-layer
    loss : {"squared", "absolute", "hinge"}, default "squared"
    weight_bound : float or "auto", default "auto"
        Radius ``B`` of the box ``|w_j| <= B``, ``|b| <= B``, or ``"auto"``.
    bias : bool, default True
        Whether hidden units have a bias ``b``.
    name : str, default ""
        Where the data came from (a file name), used in messages.
    """

    X: np.ndarray
    y: np.ndarray
    arch: str = DEFAULT_ARCH
    width: int | None = None
    loss: str = DEFAULT_LOSS
    weight_bound: float | str = DEFAULT_WEIGHT_BOUND
    bias: bool = True
    name: str = ""

    def __post_init__(self) -> None:
        X, y = validate_arrays(self.X, self.y, source=self.name)
        arch = check_choice("arch", self.arch, ARCHS)
        loss = check_choice("loss", self.loss, LOSSES)
        if arch == "one-node":
            if self.width not in (None, 1):
                raise InvalidInputError(
                    f"width applies to two-layer networks only; a one-node network has width 1, "
                    f"got width={show(self.width)}"
                )
            width = 1
        else:
            width = check_positive(
                "width", DEFAULT_WIDTH if self.width is None else self.width, integer=True
            )
        bound = check_weight_bound(self.weight_bound)
        if loss == "hinge":
            labels = np.flatnonzero((y != 1.0) & (y != -1.0))
            if labels.size:
                i = labels[0]
                where = f"{self.name}: " if self.name else ""
                raise InvalidInputError(
                    f"{where}hinge loss needs labels exactly -1 or +1; row {i + 1} has y = {y[i]:g}"
                )
        if bound != AUTO:  # the automatic box solves standardised data, whatever its units
            check_magnitudes(X, y, bound, source=self.name)
        X.setflags(write=False)
        y.setflags(write=False)
        for key, value in (
            ("X", X),
            ("y", y),
            ("arch", arch),
            ("loss", loss),
            ("width", width),
            ("weight_bound", bound),
            ("bias", bool(self.bias)),
        ):
            object.__setattr__(self, key, value)

    @property
    def auto_box(self) -> bool:
        """The box is chosen and grown automatically (``weight_bound == "auto"``)."""
        return self.weight_bound == AUTO

    @property
    def box_radius(self) -> float:
        """The fixed box's radius; :class:`InvalidInputError` under the automatic box,
        which ``exactrelu.solve`` resolves into fixed boxes before any method runs."""
        if self.auto_box:
            raise InvalidInputError(
                "this needs a fixed weight box (a number); the automatic box is chosen by "
                "exactrelu.solve (method functions take fixed boxes)"
            )
        return float(self.weight_bound)

    def with_box(self, weight_bound: float) -> Problem:
        """The same problem with a fixed box of radius ``weight_bound``."""
        return replace(self, weight_bound=weight_bound)

    @property
    def n(self) -> int:
        """Number of samples."""
        return self.X.shape[0]

    @property
    def d(self) -> int:
        """Number of features."""
        return self.X.shape[1]
