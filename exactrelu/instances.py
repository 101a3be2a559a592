"""Instance files: ``.npz`` (arrays ``X``, ``y``) and ``.csv`` (header, features, target last).

A JSON sidecar ``NAME.json`` next to an instance may hold defaults for the problem
(``arch``, ``width``, ``loss``, ``B``) and a reference optimum (``optimum``). Reading
errors raise :class:`~exactrelu.errors.InstanceFileError` naming the file.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from exactrelu.errors import InstanceFileError, InvalidInputError
from exactrelu.problem import (
    DEFAULT_ARCH,
    DEFAULT_LOSS,
    DEFAULT_WEIGHT_BOUND,
    DEFAULT_WIDTH,
    Problem,
    validate_arrays,
)


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
