"""Options shared by every solve method, validated once."""

from __future__ import annotations

import time
from dataclasses import dataclass

from exactrelu.certificate import DEFAULT_ABS_GAP, DEFAULT_REL_GAP
from exactrelu.errors import InvalidInputError, show
from exactrelu.network.networks import Network
from exactrelu.problem import check_positive


@dataclass(frozen=True)
class SolveOptions:
    """How to solve (independent of what is solved).

    Parameters
    ----------
    time_limit : float or None, default None
        Wall-clock seconds; None means no limit. Must be > 0.
    rel_gap : float, default 1e-6
        Relative optimality tolerance of the certificate.
    abs_gap : float, default 1e-9
        Absolute optimality tolerance (lets a zero-loss instance be certified).
    threads : int or None, default None
        Threads for HiGHS (None: HiGHS's default). The two-layer MIP also solves up to
        this many output-sign cases side by side (None: one per CPU core); 1 solves them
        one after the other.
    seed : int, default 0
        Random seed (HiGHS's ``random_seed``; restarts of randomized methods).
    warm_start : OneNodeNetwork or TwoLayerNetwork, optional
        A network of the class to start from.
    log : bool, default False
        Print the backend solver's log to stderr.
    progress : float or None, default None
        Seconds between progress lines (elapsed, best loss, bound, gap) on stderr;
        None prints none.
    """

    time_limit: float | None = None
    rel_gap: float = DEFAULT_REL_GAP
    abs_gap: float = DEFAULT_ABS_GAP
    threads: int | None = None
    seed: int = 0
    warm_start: Network | None = None
    log: bool = False
    progress: float | None = None

    def __post_init__(self) -> None:
        if self.time_limit is not None:
            object.__setattr__(self, "time_limit", check_positive("time limit", self.time_limit))
        for name in ("rel_gap", "abs_gap"):
            value = getattr(self, name)
            try:
                ok = float(value) >= 0 and float(value) < float("inf")
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise InvalidInputError(
                    f"{name.replace('_', ' ')} must be a finite number >= 0, got {show(value)}"
                )
            object.__setattr__(self, name, float(value))
        if self.threads is not None:
            object.__setattr__(
                self, "threads", check_positive("threads", self.threads, integer=True)
            )
        if self.progress is not None:
            object.__setattr__(self, "progress", check_positive("progress", self.progress))
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InvalidInputError(f"seed must be an integer >= 0, got {show(self.seed)}")


class Deadline:
    """Wall-clock budget shared by the stages of one solve."""

    def __init__(self, time_limit: float | None) -> None:
        self.start = time.perf_counter()
        self.limit = time_limit

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def remaining(self) -> float:
        """Seconds left (``inf`` without a limit, never below 0)."""
        if self.limit is None:
            return float("inf")
        return max(0.0, self.limit - self.elapsed())

    def expired(self) -> bool:
        return self.remaining() <= 0.0
