"""Benchmark suites: a small text file naming instances × methods × settings.

Format (one key per line, ``#`` starts a comment, values separated by blanks)::

    # benchmarks/suites/smoke.txt
    instances   ../../instances/planted-one-node-n40-d2.npz ../../instances/xor-*.npz
    methods     mip enumerate approx:k=2 gd scip gurobi highs-naive
    time_limit  60
    threads     1
    seeds       0 1

* ``instances``: files or glob patterns, relative to the suite file's directory
  (so a suite runs the same from any working directory); may repeat.
* ``methods``: ``NAME`` or ``NAME:key=value,key=value`` (method options, e.g. ``k`` of
  ``approx``; values are parsed as int, float, true/false or kept as text); may repeat.
* ``time_limit`` (seconds), ``threads``, ``seeds``: one or more values each; every
  combination is run. ``gap``: the relative optimality tolerance (one value).

The runs are the product instances × methods × time_limit × threads × seeds, in that
order. Each run has a stable :attr:`Task.key`, which the runner uses to resume.
"""

from __future__ import annotations

import glob
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exactrelu.errors import InvalidInputError, show

KEYS = ("instances", "methods", "time_limit", "threads", "seeds", "gap")
DEFAULT_TIME_LIMIT = 60.0


@dataclass(frozen=True)
class MethodSpec:
    """A method name with its options, e.g. ``approx:k=2``."""

    name: str
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        """The spelling used in suite files and result rows."""
        if not self.options:
            return self.name
        return self.name + ":" + ",".join(f"{k}={_fmt(v)}" for k, v in self.options)


@dataclass(frozen=True)
class InstanceTask:
    """Work on one instance file, identified across reruns by :attr:`key` (the instance
    name and :meth:`settings`), so that a killed sweep resumes where it stopped."""

    instance: str  # path as a string (tasks travel to worker processes and Dask)

    @property
    def name(self) -> str:
        return Path(self.instance).stem

    def settings(self) -> list[str]:
        raise NotImplementedError

    @property
    def key(self) -> str:
        return "|".join([self.name, *self.settings()])


@dataclass(frozen=True)
class Task(InstanceTask):
    """One run: an instance file, a method and the settings to run it with."""

    method: MethodSpec
    time_limit: float | None
    threads: int | None
    seed: int
    gap: float | None = None

    def settings(self) -> list[str]:
        return [
            self.method.label,
            f"t={_fmt(self.time_limit)}",
            f"threads={_fmt(self.threads)}",
            f"seed={self.seed}",
            f"gap={_fmt(self.gap)}",
        ]


@dataclass
class Suite:
    """A parsed suite file."""

    path: Path | None
    instances: list[Path] = field(default_factory=list)
    methods: list[MethodSpec] = field(default_factory=list)
    time_limits: list[float | None] = field(default_factory=lambda: [DEFAULT_TIME_LIMIT])
    threads: list[int | None] = field(default_factory=lambda: [None])
    seeds: list[int] = field(default_factory=lambda: [0])
    gap: float | None = None

    def tasks(self) -> list[Task]:
        """Every run of the suite, in a fixed order."""
        return [
            Task(str(inst), method, t, th, seed, self.gap)
            for inst, method, t, th, seed in itertools.product(
                self.instances, self.methods, self.time_limits, self.threads, self.seeds
            )
        ]


def _fmt(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _parse_value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_method(text: str, where: str = "") -> MethodSpec:
    """``NAME`` or ``NAME:key=value,...`` as a :class:`MethodSpec`."""
    name, _, rest = text.partition(":")
    options = []
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise InvalidInputError(f"{where}method option {item!r} must be key=value")
        options.append((key, _parse_value(value)))
    return MethodSpec(name, tuple(sorted(options)))


def _numbers(values: list[str], kind: type, name: str, where: str) -> list:
    out = []
    for value in values:
        if value.lower() == "none":
            out.append(None)
            continue
        try:
            number = kind(value)
        except ValueError:
            raise InvalidInputError(
                f"{where}{name} must be {kind.__name__} values, got {show(value)}"
            ) from None
        if number is not None and number <= 0 and name != "seeds":
            raise InvalidInputError(f"{where}{name} must be > 0, got {show(value)}")
        if name == "seeds" and number < 0:
            raise InvalidInputError(f"{where}seeds must be >= 0, got {show(value)}")
        out.append(number)
    return out


def parse_suite(text: str, base: Path | None = None, path: Path | None = None) -> Suite:
    """Parse a suite from ``text``; relative instance paths are taken from ``base``.

    Raises
    ------
    InvalidInputError
        Unknown keys, missing instances or methods, patterns that match no file,
        unknown methods, or bad numbers; the message names the line.
    """
    from exactrelu.methods import METHODS

    base = base or Path.cwd()
    suite = Suite(path)
    seen: set[str] = set()
    label = str(path) if path else "suite"
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{label}:{lineno}: "
        key, *values = line.split()
        if key not in KEYS:
            raise InvalidInputError(f"{where}unknown key {key!r}; use one of {', '.join(KEYS)}")
        if not values:
            raise InvalidInputError(f"{where}{key} needs at least one value")
        if key in seen and key not in ("instances", "methods"):
            raise InvalidInputError(f"{where}{key} is given twice")
        seen.add(key)
        if key == "instances":
            for pattern in values:
                full = pattern if Path(pattern).is_absolute() else str(base / pattern)
                matches = sorted(glob.glob(full))
                matches = [m for m in matches if m.endswith((".npz", ".csv"))]
                if not matches:
                    raise InvalidInputError(f"{where}no .npz or .csv instance matches {pattern!r}")
                suite.instances.extend(Path(m) for m in matches)
        elif key == "methods":
            known = list(METHODS)
            for value in values:
                spec = parse_method(value, where)
                if spec.name not in known:
                    raise InvalidInputError(
                        f"{where}unknown method {spec.name!r}; use one of {', '.join(known)}"
                    )
                suite.methods.append(spec)
        elif key == "time_limit":
            suite.time_limits = _numbers(values, float, "time_limit", where)
        elif key == "threads":
            suite.threads = _numbers(values, int, "threads", where)
        elif key == "seeds":
            suite.seeds = _numbers(values, int, "seeds", where)
        elif key == "gap":
            if len(values) != 1:
                raise InvalidInputError(f"{where}gap takes one value")
            suite.gap = _numbers(values, float, "gap", where)[0]
    if not suite.instances:
        raise InvalidInputError(f"{label}: no instances (add a line 'instances PATH ...')")
    if not suite.methods:
        raise InvalidInputError(f"{label}: no methods (add a line 'methods mip ...')")
    # the same file twice (overlapping globs) would be the same rows twice
    suite.instances = list(dict.fromkeys(p.resolve() for p in suite.instances))
    names = [p.stem for p in suite.instances]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidInputError(
            f"{label}: instance names must be unique, repeated: {', '.join(dupes)}"
        )
    return suite


def load_suite(path: str | Path) -> Suite:
    """Read and parse a suite file (relative instance paths are from its directory)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such suite file")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path}: cannot read suite file ({exc})") from None
    return parse_suite(text, base=path.parent, path=path)
