"""The results file of a sweep: JSON lines, one row per run, whole rows only.

Rows are written (flushed and fsynced) the moment a run finishes, by one process holding
an exclusive lock, so a sweep that is killed and restarted ends with every row exactly
once: a row is either completely on disk (a whole line) or not at all (a torn last line
from a kill is cut off before appending).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from exactrelu.errors import InvalidInputError


def read_results(path: Path, *, repair: bool = False) -> list[dict[str, Any]]:
    """Rows of a results file, first occurrence of each key only.

    A last line without its newline (the process was killed while writing it) is not
    a result; with ``repair=True`` it is cut off the file so that appending continues
    on a clean line.
    """
    if not path.exists():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if repair and end < len(data):
        with path.open("r+b") as handle:
            handle.truncate(end)
    rows, seen = [], set()
    for lineno, line in enumerate(data[:end].splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise InvalidInputError(f"{path}:{lineno}: not a JSON result row") from None
        if not isinstance(row, dict) or "key" not in row:
            raise InvalidInputError(f"{path}:{lineno}: a result row needs a 'key'")
        if row["key"] not in seen:
            seen.add(row["key"])
            rows.append(row)
    return rows


@contextlib.contextmanager
def locked_append(path: Path) -> Iterator[Callable[[dict[str, Any]], None]]:
    """An append function for ``path`` that holds an exclusive lock while open."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InvalidInputError(f"{path}: another benchmark run is writing to it") from None

        def append(row: dict[str, Any]) -> None:
            # one write of one whole line, then fsync: a kill leaves whole rows only
            handle.write(json.dumps(row, allow_nan=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

        yield append
