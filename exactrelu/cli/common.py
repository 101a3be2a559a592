"""What the subcommands share: the parser class, flag groups and the output writer."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from exactrelu.errors import InvalidInputError
from exactrelu.files import check_output_path, write_or_keep
from exactrelu.problem import ARCHS, LOSSES

PROG = "exactrelu"
DEFAULT_PROGRESS = 5.0  # seconds between progress lines on stderr


class UsageError(Exception):
    """A command-line error found by argparse (exit code 2)."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become one line on stderr, not usage + error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def one_line(text: Any) -> str:
    return " ".join(str(text).split())


def fail(message: str) -> None:
    """The one line on stderr of a failed command."""
    print(f"{PROG}: error: {one_line(message)}", file=sys.stderr)


PROBLEM_FLAG_HELP = {
    "arch": "network class (default one-node)",
    "width": "hidden units of a two-layer network (default 2)",
    "loss": "per-sample loss (default squared)",
    "weight_bound": "box radius B (|w|, |b| <= B in the data's units) or 'auto' (default: "
    "the sidecar's B, else auto: a box in standardised units, grown while the optimum "
    "touches it)",
    "bias": "hidden units without bias",
}


def add_problem_arguments(
    p: argparse.ArgumentParser, **help_overrides: str
) -> argparse._ArgumentGroup:
    """The problem flags (``--arch``, ``--width``, ``--loss``, ``--weight-bound``, ``--no-bias``).

    ``help_overrides`` replaces the help of a flag (keys of :data:`PROBLEM_FLAG_HELP`).
    """
    helps = {**PROBLEM_FLAG_HELP, **help_overrides}
    model = p.add_argument_group("problem")
    model.add_argument("--arch", choices=ARCHS, help=helps["arch"])
    model.add_argument("--width", type=int, metavar="H", help=helps["width"])
    model.add_argument("--loss", choices=LOSSES, help=helps["loss"])
    model.add_argument("--weight-bound", metavar="B", help=helps["weight_bound"])
    model.add_argument("--no-bias", action="store_true", help=helps["bias"])
    return model


def add_solver_arguments(
    p: argparse.ArgumentParser, *, time_limit: float | None = None
) -> argparse._ArgumentGroup:
    """The solver flags (``--time-limit``, ``--gap``, ``--threads``, ``--seed``)."""
    how = p.add_argument_group("solver")
    limit_help = "wall-clock seconds" + (
        "" if time_limit is None else f" for the exact solve (default {time_limit:g})"
    )
    how.add_argument("--time-limit", type=float, default=time_limit, metavar="S", help=limit_help)
    how.add_argument(
        "--gap", type=float, metavar="G", help="relative optimality tolerance (default 1e-6)"
    )
    how.add_argument(
        "--threads",
        type=int,
        metavar="T",
        help="solver threads (two-layer MIP: also sign cases side by side; default all cores)",
    )
    how.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    return how


def add_output_arguments(
    p: argparse.ArgumentParser,
    what: str,
    *,
    out_metavar: str = "FILE",
    out_help: str | None = None,
    quiet: bool = False,
) -> argparse._ArgumentGroup:
    """``--json`` and ``--out FILE`` for a command whose result has a JSON form, and
    ``--quiet`` (no progress lines) when asked for."""
    out = p.add_argument_group("output")
    out.add_argument(
        "--json", action="store_true", help=f"print the {what} as JSON instead of the summary"
    )
    out.add_argument(
        "--out", metavar=out_metavar, help=out_help or f"also write the JSON {what} to FILE"
    )
    if quiet:
        out.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return out


def problem_from_args(args: argparse.Namespace, instance: Any = None):
    """The :class:`~exactrelu.Problem` of ``instance`` (default: read ``args.path``) and the
    problem flags."""
    from exactrelu.instances import load_instance

    instance = load_instance(args.path) if instance is None else instance
    return instance.problem(
        arch=args.arch,
        width=args.width,
        loss=args.loss,
        weight_bound=args.weight_bound,
        bias=False if args.no_bias else None,
    )


def solver_options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of :func:`exactrelu.solve` from the solver flags."""
    options = {"time_limit": args.time_limit, "threads": args.threads, "seed": args.seed}
    if args.gap is not None:
        options["gap"] = args.gap
    return options


def output_path(args: argparse.Namespace) -> Path | None:
    """``--out``, checked before any work is done (None when not given)."""
    return check_output_path(args.out) if getattr(args, "out", None) else None


def emit(summary: str, json_text: str, *, as_json: bool, out: Path | None) -> None:
    """Print the summary or the JSON, then write the JSON result to ``out`` (if any).

    The result is printed first: when ``out`` cannot be written after all (it was
    checked before the work), the JSON goes to another file and the error says where
    (:func:`~exactrelu.files.write_or_keep`), so a finished solve is never lost.
    """
    print(json_text if as_json else summary, flush=True)
    if out is not None:
        try:
            write_or_keep(out, json_text + "\n")
        except InvalidInputError as exc:
            shown = "the JSON" if as_json else "the summary"
            raise InvalidInputError(f"{exc} ({shown} is printed above)") from None
