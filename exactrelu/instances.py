"""Instance files: ``.npz`` (arrays ``X``, ``y``) and ``.csv`` (header, features, target last).

A JSON sidecar ``NAME.json`` next to an instance may hold defaults for the problem
(``arch``, ``width``, ``loss``, ``B``) and a reference optimum (``optimum``). Reading
errors raise :class:`~exactrelu.errors.InstanceFileError` naming the file.
"""

from __future__ import annotations

import csv
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from exactrelu.errors import InstanceFileError, InvalidInputError, one_line, show
from exactrelu.files import replaced_atomically, write_text_atomically
from exactrelu.problem import (
    ARCHS,
    DEFAULT_ARCH,
    DEFAULT_LOSS,
    DEFAULT_WEIGHT_BOUND,
    DEFAULT_WIDTH,
    LOSSES,
    Problem,
    check_choice,
    check_positive,
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

    @property
    def sidecar_path(self) -> Path | None:
        """The JSON sidecar's path (whether or not it exists); None without a file."""
        return None if self.path is None else self.path.with_suffix(".json")

    def sidecar(self, key: str, default: Any = None) -> Any:
        """The sidecar's value of a problem key (``arch``, ``width``, ``loss``, ``B``,
        ``bias``), checked, or ``default`` when the sidecar does not set it.

        Raises
        ------
        InstanceFileError
            The value is invalid; the message names the sidecar, since the user may not
            have given that option at all.
        """
        if key not in self.meta:
            return default
        value = self.meta[key]
        try:
            if key == "arch":
                return check_choice("arch", value, ARCHS)
            if key == "loss":
                return check_choice("loss", value, LOSSES)
            if key == "width":
                return check_positive("width", value, integer=True)
            if key == "B":
                return check_positive("weight bound B", value)
            if key == "bias":
                if not isinstance(value, bool):
                    raise InvalidInputError(f"bias must be true or false, got {show(value)}")
                return value
        except InvalidInputError as exc:
            where = self.sidecar_path or "the sidecar"
            raise InstanceFileError(
                f"{where}: {exc} (the sidecar sets the problem's defaults; fix it, or give "
                "the option on the command line)"
            ) from None
        raise KeyError(key)

    def problem(
        self,
        *,
        arch: str | None = None,
        width: int | None = None,
        loss: str | None = None,
        weight_bound: float | None = None,
        bias: bool | None = None,
    ) -> Problem:
        """Build a :class:`Problem`; ``None`` arguments fall back to the sidecar, then defaults.

        Only the sidecar values that are used are checked (a flag overrides a bad one).
        """
        arch = arch or self.sidecar("arch", DEFAULT_ARCH)
        if width is None and arch == "two-layer":
            width = self.sidecar("width", DEFAULT_WIDTH)
        return Problem(
            self.X,
            self.y,
            arch=arch,
            width=width,
            loss=loss or self.sidecar("loss", DEFAULT_LOSS),
            weight_bound=weight_bound
            if weight_bound is not None
            else self.sidecar("B", DEFAULT_WEIGHT_BOUND),
            bias=self.sidecar("bias", True) if bias is None else bias,
            name=str(self.path) if self.path is not None else self.name,
        )


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _read_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Header row, then one row per sample: features first, the target last.

    Messages count data rows from 1 (``row 1`` is the first row after the header) and
    give the file's own line number too, blank lines included.
    """
    try:
        with path.open(newline="") as handle:
            reader = csv.reader(handle)
            # (line number in the file, cells) of the non-blank lines
            rows = [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except UnicodeDecodeError:
        raise InstanceFileError(f"{path}: not a text CSV file") from None
    except csv.Error as exc:
        raise InstanceFileError(f"{path}: not a readable CSV file ({exc})") from None
    except OSError as exc:
        raise InstanceFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not rows:
        raise InstanceFileError(f"{path}: no rows (a header row and data rows are needed)")
    header = rows[0][1]
    if all(_is_number(cell) for cell in header):
        # A file without a header would otherwise lose its first sample silently.
        shown = ", ".join(cell.strip() for cell in header[:4]) + (
            ", ..." if len(header) > 4 else ""
        )
        raise InstanceFileError(
            f"{path}: the first line ({shown}) is all numbers, so it is data, not a header; "
            "add a header row naming the columns (features first, the target last), e.g. "
            + ",".join([f"x{j + 1}" for j in range(len(header) - 1)] + ["y"])
        )
    if len(rows) < 2:
        raise InstanceFileError(f"{path}: needs a header row and at least one data row")
    if len(header) < 2:
        raise InstanceFileError(
            f"{path}: needs at least two columns (features first, target last), got {len(header)}"
        )
    values = np.empty((len(rows) - 1, len(header)))
    for r, (line, row) in enumerate(rows[1:], start=1):
        if len(row) != len(header):
            raise InstanceFileError(
                f"{path}: row {r} (line {line}) has {len(row)} cells but the header has "
                f"{len(header)}"
            )
        for c, cell in enumerate(row):
            try:
                values[r - 1, c] = float(cell)
            except ValueError:
                raise InstanceFileError(
                    f"{path}: row {r} (line {line}), column {c + 1} ({header[c].strip()!r}) "
                    f"is not a number: {cell!r}"
                ) from None
    return values[:, :-1], values[:, -1]


def check_input_file(path: str | Path) -> Path:
    """``path`` as a Path if it is a non-empty regular file, else ``InstanceFileError``.

    The one check every reader runs first, so that a missing file, a directory and an
    empty file each get their own message.
    """
    path = Path(path)
    if path.is_dir():
        raise InstanceFileError(f"{path}: is a directory, not a file")
    if not path.is_file():
        raise InstanceFileError(f"{path}: no such file")
    try:
        empty = path.stat().st_size == 0
    except OSError as exc:
        raise InstanceFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if empty:
        raise InstanceFileError(f"{path}: empty file")
    return path


def read_npz_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file (no pickles), or ``InstanceFileError``."""
    path = check_input_file(path)
    try:
        # opened here, so that it is closed even when np.load fails half-way
        with path.open("rb") as handle:
            archive = np.load(handle, allow_pickle=False)
            if not isinstance(archive, np.lib.npyio.NpzFile):  # an np.save file renamed
                raise InstanceFileError(f"{path}: holds a single array, not an .npz archive")
            with archive:
                return {key: archive[key] for key in archive.files}
    except InstanceFileError:
        raise
    # np.load raises EOFError on a truncated file, BadZipFile on a damaged archive and
    # zlib.error on damaged members: each means the same thing to the user
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise InstanceFileError(f"{path}: not a readable .npz file ({one_line(exc)})") from None


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON file holding one object, or ``InstanceFileError``."""
    path = check_input_file(path)
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
    path = check_input_file(path)
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
    if suffix not in (".npz", ".csv"):
        raise InvalidInputError(f"{path}: unknown instance type {suffix!r}; use .npz or .csv")
    # through a temporary file: an interrupted write leaves no half-written instance
    with replaced_atomically(path, what="instance") as temporary:
        if suffix == ".npz":
            np.savez(temporary, X=X, y=y)
        else:
            header = ",".join([f"x{j + 1}" for j in range(X.shape[1])] + ["y"])
            np.savetxt(
                temporary,
                np.column_stack([X, y]),
                delimiter=",",
                header=header,
                comments="",
                fmt="%.17g",
            )
    if meta:
        write_text_atomically(path.with_suffix(".json"), json.dumps(meta, indent=2) + "\n")
    return path
