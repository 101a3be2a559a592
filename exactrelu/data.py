"""Training data and problem definitions: read instance files, validate once.

Everything that enters exactrelu from outside (arrays, files, options) is checked
here and nowhere else, so every later stage may assume clean input:

* ``X`` is a finite float64 array of shape ``(n, d)`` with ``n >= 1`` and ``d >= 1``;
* ``y`` is a finite float64 array of shape ``(n,)``;
* hinge loss has labels exactly in ``{-1, +1}``;
* the weight bound ``B`` is positive and finite, the width a positive integer.

Each violation raises :class:`~exactrelu.errors.InvalidInputError` (a ``ValueError``)
whose message names the offending file, row or column.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from exactrelu.errors import InstanceFileError, InvalidInputError

ARCHS = ("one-node", "two-layer")
LOSSES = ("squared", "absolute", "hinge")
DEFAULT_WEIGHT_BOUND = 2.0
DEFAULT_ARCH = "one-node"
DEFAULT_LOSS = "squared"
DEFAULT_WIDTH = 2  # width of a two-layer network when none is given


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
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{where}X is not numeric ({exc})") from None
    try:
        y = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{where}y is not numeric ({exc})") from None
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
    bad = np.argwhere(~np.isfinite(X))
    if bad.size:
        row, col = bad[0]
        raise InvalidInputError(
            f"{where}X has a non-finite value ({X[row, col]}) at row {row}, column {col}"
        )
    bad_y = np.flatnonzero(~np.isfinite(y))
    if bad_y.size:
        raise InvalidInputError(
            f"{where}y has a non-finite value ({y[bad_y[0]]}) at row {bad_y[0]}"
        )
    return np.ascontiguousarray(X), np.ascontiguousarray(y)


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``InvalidInputError``."""
    if value not in choices:
        raise InvalidInputError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def check_positive(name: str, value: Any, *, integer: bool = False) -> Any:
    """Return ``value`` if it is a positive finite number (an int when ``integer``)."""
    if isinstance(value, bool):
        raise InvalidInputError(f"{name} must be a positive number, got {value!r}")
    if integer:
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise InvalidInputError(f"{name} must be an integer >= 1, got {value!r}")
        return int(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be a positive number, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise InvalidInputError(f"{name} must be a positive finite number, got {value!r}")
    return number


@dataclass(frozen=True, eq=False)
class Problem:
    """One training problem: data, architecture, loss and weight box.

    The network class is fixed by ``arch`` (``"one-node"`` or ``"two-layer"``),
    ``width`` (hidden units of a two-layer network; 1 for one-node) and ``bias``;
    the weights range over the box of radius ``weight_bound`` (the two-layer output
    bias ``c`` is free and the output weights are ±1, see SPEC §1). The objective is
    the **sum** over samples of the per-sample ``loss``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    arch : {"one-node", "two-layer"}, default "one-node"
    width : int, default 1 for one-node, 2 for two-layer
    loss : {"squared", "absolute", "hinge"}, default "squared"
    weight_bound : float, default 2.0
        Radius ``B`` of the box ``|w_j| <= B``, ``|b| <= B``.
    bias : bool, default True
        Whether hidden units have a bias ``b``.
    name : str, default ""
        A label used in reports.
    """

    X: np.ndarray
    y: np.ndarray
    arch: str = DEFAULT_ARCH
    width: int | None = None
    loss: str = DEFAULT_LOSS
    weight_bound: float = DEFAULT_WEIGHT_BOUND
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
                    f"got width={self.width!r}"
                )
            width = 1
        else:
            width = check_positive(
                "width", DEFAULT_WIDTH if self.width is None else self.width, integer=True
            )
        bound = check_positive("weight bound", self.weight_bound)
        if loss == "hinge":
            labels = np.flatnonzero((y != 1.0) & (y != -1.0))
            if labels.size:
                i = labels[0]
                raise InvalidInputError(
                    f"hinge loss needs labels exactly -1 or +1; y[{i}] = {y[i]:g}"
                    + (f" in {self.name}" if self.name else "")
                )
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
    def n(self) -> int:
        """Number of samples."""
        return self.X.shape[0]

    @property
    def d(self) -> int:
        """Number of features."""
        return self.X.shape[1]


@dataclass
class Instance:
    """Data read from an instance file, with the defaults of its JSON sidecar.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    name : str
        File name without suffix.
    path : Path or None
    meta : dict
        The sidecar ``NAME.json`` (keys such as ``arch``, ``width``, ``loss``, ``B``,
        ``optimum``), empty when there is none.
    """

    X: np.ndarray
    y: np.ndarray
    name: str = ""
    path: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def problem(
        self,
        *,
        arch: str | None = None,
        width: int | None = None,
        loss: str | None = None,
        weight_bound: float | None = None,
        bias: bool | None = None,
    ) -> Problem:
        """Build a :class:`Problem`; ``None`` arguments fall back to the sidecar, then defaults."""
        meta = self.meta
        arch = arch or meta.get("arch", DEFAULT_ARCH)
        if width is None and arch == "two-layer":
            width = meta.get("width", DEFAULT_WIDTH)
        return Problem(
            self.X,
            self.y,
            arch=arch,
            width=width,
            loss=loss or meta.get("loss", DEFAULT_LOSS),
            weight_bound=weight_bound
            if weight_bound is not None
            else meta.get("B", DEFAULT_WEIGHT_BOUND),
            bias=meta.get("bias", True) if bias is None else bias,
            name=self.name,
        )


def _read_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with path.open(newline="") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError:
        raise InstanceFileError(f"{path}: not a text CSV file") from None
    except OSError as exc:
        raise InstanceFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if len(rows) < 2:
        raise InstanceFileError(f"{path}: needs a header row and at least one data row")
    header = rows[0]
    if len(header) < 2:
        raise InstanceFileError(
            f"{path}: needs at least two columns (features first, target last), got {len(header)}"
        )
    values = np.empty((len(rows) - 1, len(header)))
    for r, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise InstanceFileError(
                f"{path}: line {r} has {len(row)} cells but the header has {len(header)}"
            )
        for c, cell in enumerate(row):
            try:
                values[r - 2, c] = float(cell)
            except ValueError:
                raise InstanceFileError(
                    f"{path}: line {r}, column {c + 1} ({header[c].strip()!r}) "
                    f"is not a number: {cell!r}"
                ) from None
    return values[:, :-1], values[:, -1]


def read_npz_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file (no pickles), or ``InstanceFileError``."""
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):  # e.g. an np.save file renamed
            raise InstanceFileError(f"{path}: holds a single array, not an .npz archive")
        with archive:
            return {key: archive[key] for key in archive.files}
    except InstanceFileError:
        raise
    except (OSError, ValueError) as exc:
        raise InstanceFileError(f"{path}: not a readable .npz file ({exc})") from None


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON file holding one object, or ``InstanceFileError``."""
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InstanceFileError(f"{path}: not valid JSON ({exc})") from None
    except OSError as exc:
        raise InstanceFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not isinstance(data, dict):
        raise InstanceFileError(f"{path}: must hold a JSON object")
    return data


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    arrays = read_npz_arrays(path)
    missing = [key for key in ("X", "y") if key not in arrays]
    if missing:
        raise InstanceFileError(
            f"{path}: missing array(s) {', '.join(missing)}; an .npz instance holds X and y"
        )
    return arrays["X"], arrays["y"]


def load_instance(path: str | Path) -> Instance:
    """Read an instance from ``.npz`` (arrays ``X``, ``y``) or ``.csv`` (header, features, target).

    A JSON sidecar ``NAME.json`` next to the file, if present, is read into
    :attr:`Instance.meta`.

    Raises
    ------
    InstanceFileError
        The file is missing, unreadable, of an unknown type, or holds non-numeric cells.
    InvalidInputError
        The arrays are not valid training data.
    """
    path = Path(path)
    if not path.is_file():
        raise InstanceFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        X, y = _read_csv(path)
    elif suffix == ".npz":
        X, y = _read_npz(path)
    else:
        raise InstanceFileError(f"{path}: unknown instance type {suffix!r}; use .npz or .csv")
    X, y = validate_arrays(X, y, source=str(path))
    sidecar = path.with_suffix(".json")
    meta = read_json_object(sidecar) if sidecar.is_file() else {}
    return Instance(X=X, y=y, name=path.stem, path=path, meta=meta)


def save_instance(path: str | Path, X: Any, y: Any, meta: dict[str, Any] | None = None) -> Path:
    """Write an instance as ``.npz`` or ``.csv`` (by suffix), with an optional JSON sidecar."""
    path = Path(path)
    X, y = validate_arrays(X, y)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        np.savez(path, X=X, y=y)
    elif suffix == ".csv":
        header = ",".join([f"x{j + 1}" for j in range(X.shape[1])] + ["y"])
        np.savetxt(
            path, np.column_stack([X, y]), delimiter=",", header=header, comments="", fmt="%.17g"
        )
    else:
        raise InvalidInputError(f"{path}: unknown instance type {suffix!r}; use .npz or .csv")
    if meta:
        path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    return path
