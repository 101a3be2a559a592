"""Output files: one check before the work starts, and writes that never leave half a file.

Every command that writes a file checks its path with :func:`check_output_path` before
the work starts, and writes through :func:`replaced_atomically` (a temporary file in the
same directory, renamed over the target once complete). When a write still fails after
the work (a full disk, a directory removed meanwhile), :func:`save_elsewhere` keeps the
result in another place so that a finished computation is never lost.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
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


@contextlib.contextmanager
def replaced_atomically(path: str | Path, *, what: str = "--out") -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; it replaces ``path`` once complete.

    The temporary file has ``path``'s suffix (writers such as ``np.savez`` or Pyomo pick
    the format by it). On any failure it is removed, so ``path`` is either the old file
    or the whole new one, never half a file. ``OSError`` becomes
    :class:`InvalidInputError` naming ``path``.
    """
    path = Path(path)
    try:
        handle, name = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix
        )
        os.close(handle)
    except OSError as exc:
        raise InvalidInputError(f"{what} {path}: cannot write ({exc.strerror or exc})") from None
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise InvalidInputError(f"{what} {path}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_atomically(path: str | Path, data: str | bytes, *, what: str = "--out") -> Path:
    """Write ``data`` (text or bytes) to ``path`` through :func:`replaced_atomically`.

    Raises :class:`InvalidInputError` naming the path when it cannot be written.
    """
    path = Path(path)
    with replaced_atomically(path, what=what) as temporary:
        if isinstance(data, bytes):
            temporary.write_bytes(data)
        else:
            temporary.write_text(data)
    return path


def write_text_atomically(path: str | Path, text: str, *, what: str = "--out") -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same directory.

    The file appears whole or not at all (a crash or a full disk leaves no half-written
    file). Raises :class:`InvalidInputError` naming the path when it cannot be written.
    """
    return write_atomically(path, text, what=what)


def save_elsewhere(path: str | Path, data: str | bytes) -> Path | None:
    """Keep a result that could not be written to ``path``: a new file in the current
    directory, else in the temporary directory; its path, or None if both fail.

    The file gets a fresh name (``STEM.XXXX.SUFFIX``), so nothing is overwritten.
    """
    path = Path(path)
    for directory in (Path.cwd(), Path(tempfile.gettempdir())):
        try:
            handle, name = tempfile.mkstemp(
                dir=directory, prefix=f"{path.stem or 'exactrelu'}.", suffix=path.suffix
            )
            with os.fdopen(handle, "wb" if isinstance(data, bytes) else "w") as stream:
                stream.write(data)
        except OSError:
            continue
        return Path(name)
    return None


def write_or_keep(path: str | Path, data: str | bytes, *, what: str = "--out") -> Path:
    """Write ``data`` to ``path``; when that fails, keep it with :func:`save_elsewhere` and
    raise :class:`InvalidInputError` saying where it went.

    For results computed before the write (a solve, a figure): the error must not lose them.
    """
    try:
        return write_atomically(path, data, what=what)
    except InvalidInputError as exc:
        kept = save_elsewhere(path, data)
        where = f"saved to {kept} instead" if kept else "could not be saved anywhere else"
        raise InvalidInputError(f"{exc}; the result was {where}") from None
