"""Output files: one check before the work starts, and writes that never leave half a file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from exactrelu.errors import InvalidInputError


def check_output_path(
    path: str | Path, *, suffixes: Iterable[str] = (), what: str = "--out"
) -> Path:
    """``path`` as a Path if a file can be written there, else :class:`InvalidInputError`.

    Called before a long computation, so that a bad path fails at once instead of
    losing the result. ``suffixes``: the accepted file name endings (any if empty).
    """
    path = Path(path)
    suffixes = tuple(suffixes)
    if suffixes and path.suffix.lower() not in suffixes:
        raise InvalidInputError(f"{what} {path}: use a {' or '.join(suffixes)} file name")
    if path.is_dir():
        raise InvalidInputError(f"{what} {path}: is a directory, not a file name")
    if not path.parent.is_dir():
        raise InvalidInputError(f"{what} {path}: directory {path.parent} does not exist")
    if path.exists() and not os.access(path, os.W_OK):
        raise InvalidInputError(f"{what} {path}: not writable")
    try:  # the only sure test: create a file there (os.access says yes to root everywhere)
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        raise InvalidInputError(
            f"{what} {path}: cannot write in {path.parent} ({exc.strerror or exc})"
        ) from None
    return path


def write_text_atomically(path: str | Path, text: str, *, what: str = "--out") -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same directory.

    The file appears whole or not at all (a crash or a full disk leaves no half-written
    file). Raises :class:`InvalidInputError` naming the path when it cannot be written.
    """
    path = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", text=True)
        try:
            with os.fdopen(handle, "w") as stream:
                stream.write(text)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise InvalidInputError(f"{what} {path}: cannot write ({exc.strerror or exc})") from None
    return path
