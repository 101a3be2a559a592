"""What every exact search shares: the incumbent, its clock and progress lines, Ctrl-C."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from enum import StrEnum
from types import SimpleNamespace

import numpy as np

from exactrelu.certificate import Certificate, Stop, make_certificate, relative_gap
from exactrelu.convex.fixed_pattern import fit_fixed_pattern, rescue_squared_pattern
from exactrelu.errors import SolverError
from exactrelu.highs.quiet import quiet_highs
from exactrelu.network.networks import Network, check_in_class, zero_network
from exactrelu.options import Deadline, SolveOptions
from exactrelu.problem import Problem


class StageEnd(StrEnum):
    """How one stage of a search ended (a MILP solve, a presolve, a tree run)."""

    FINISHED = "finished"  # its work is done
    CAPPED = "capped"  # its own budget ran out: the search goes on without it
    TIME_LIMIT = "time_limit"
    INTERRUPTED = "interrupted"
    ERROR = "error"

    def stop(self) -> Stop | None:
        """The search's reason to stop after this stage (None: it may go on)."""
        if self in (StageEnd.FINISHED, StageEnd.CAPPED):
            return None
        return Stop(self.value)


def below_cutoff(cutoff: float, options: SolveOptions) -> float:
    """What a search proves when nothing beats ``cutoff`` within its own tolerance.

    Searches prune up to half the certificate's tolerance below the incumbent's loss
    (the other half is left for recomputing the loss in float64).
    """
    return cutoff - (options.rel_gap / 2 * abs(cutoff) + options.abs_gap / 2)


class Incumbent:
    """The best network seen by a search, its clock, its interrupt flag, its progress lines."""

    def __init__(
        self, problem: Problem, options: SolveOptions, deadline: Deadline, start: Network
    ) -> None:
        self.problem = problem
        self.options = options
        self.deadline = deadline
        self.best = start
        self.best_loss = start.loss(problem.X, problem.y, problem.loss)
        self.interrupted = False
        self.last_progress = 0.0
        self.polished = 0
        # why the search stopped short, when it knows better than the status alone
        # (the certificate's reason; see make_certificate)
        self.reason: str | None = None
        # Searches may offer networks from several threads (sign cases solved side by side).
        self.lock = threading.Lock()

    @classmethod
    def start(cls, problem: Problem, options: SolveOptions, **kwargs):
        """A search of ``problem`` starting now: the clock runs, the incumbent is the zero
        network of the class or ``options.warm_start`` when that is better."""
        deadline = Deadline(options.time_limit)
        incumbent = cls(
            problem,
            options,
            deadline,
            zero_network(problem.arch, problem.d, problem.width),
            **kwargs,
        )
        if options.warm_start is not None:
            incumbent.offer(
                check_in_class(
                    options.warm_start,
                    problem.arch,
                    problem.d,
                    problem.width,
                    problem.box_radius,
                )
            )
        return incumbent

    @property
    def loss(self) -> float:
        return self.best_loss

    def offer(self, network: Network, loss: float | None = None) -> bool:
        """Keep ``network`` if its loss beats the incumbent.

        ``loss``: the network's loss recomputed in float64, when the caller has it.
        """
        if loss is None:
            loss = network.loss(self.problem.X, self.problem.y, self.problem.loss)
        with self.lock:
            if loss < self.best_loss:
                self.best, self.best_loss = network, loss
                return True
            return False

    def polish(
        self, network: Network, signs: np.ndarray | None, free: np.ndarray | None
    ) -> Network | None:
        """The convex program with ``network``'s activation pattern fixed (an upper bound).

        Offers the result and returns it; None when HiGHS fails on it (the incumbent
        stays valid without polishing).
        """
        problem = self.problem
        try:
            polished = fit_fixed_pattern(
                problem, network.activation_pattern(problem.X), signs, free
            ).network
        except SolverError:
            return None
        with self.lock:
            self.polished += 1
        self.offer(polished)
        return polished

    def certificate(
        self,
        bound: float,
        stop: Stop,
        method: str,
        details: dict,
        *,
        proven_without_box: bool = False,
    ) -> Certificate:
        """The certificate of the incumbent with this proven ``bound`` (status decided there)."""
        return make_certificate(
            self.problem,
            self.best,
            bound=bound,
            stop=stop,
            seconds=self.deadline.elapsed(),
            method=method,
            rel_gap=self.options.rel_gap,
            abs_gap=self.options.abs_gap,
            details=details,
            proven_without_box=proven_without_box,
            reason=self.reason,
        )

    def log(self, message: str) -> None:
        """A line of the solver log (stderr), printed when ``options.log`` is set."""
        if self.options.log:
            print(message, file=sys.stderr, flush=True)

    def progress_due(self) -> bool:
        """Time for the next progress line (``options.progress`` seconds since the last)."""
        every = self.options.progress
        return every is not None and self.deadline.elapsed() - self.last_progress >= every

    def report(
        self, bound: float, note: str, force: bool = False, only_if_started: bool = False
    ) -> None:
        """Print a progress line on stderr every ``options.progress`` seconds.

        ``only_if_started``: print only if an earlier line was printed (a closing line).
        """
        if self.options.progress is None or (only_if_started and self.last_progress == 0):
            return
        if not force and not self.progress_due():
            return
        now = self.deadline.elapsed()
        self.last_progress = now
        bound = min(bound, self.best_loss)
        gap = relative_gap(self.best_loss, bound)
        print(
            f"[{now:8.1f} s] best loss {self.best_loss:.10g}  bound {bound:.10g}  "
            f"gap {gap:.2e}  {note}",
            file=sys.stderr,
            flush=True,
        )


def explore(tree, incumbent: Incumbent) -> StageEnd:
    """Run a branch-and-bound ``tree`` on the incumbent's clock, with progress lines and
    the solver log's closing line. ``tree`` has ``run(deadline, report)``, ``nodes``,
    ``heap`` and ``bound()``."""
    end = tree.run(
        incumbent.deadline,
        lambda t: incumbent.report(t.bound(), f"({t.nodes} nodes, {len(t.heap)} open)"),
    )
    incumbent.log(
        f"bnb: {end} after {tree.nodes} nodes, bound {tree.bound():.10g}, "
        f"best loss {incumbent.loss:.10g}"
    )
    return end


@contextlib.contextmanager
def trap_interrupts(incumbent: Incumbent | SimpleNamespace) -> Iterator[None]:
    """Turn Ctrl-C (SIGINT) and SIGTERM into the ``interrupted`` flag that searches poll
    (``incumbent``: anything with that attribute).

    Either way the search stops at its next check and returns its best network with the
    bound proven so far (status ``interrupted``): a solve ended by ``kill`` or by a job
    scheduler's time limit loses nothing either.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        incumbent.interrupted = True

    signals = [signal.SIGINT] + ([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])
    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class Budget(Deadline):
    """A deadline of ``seconds`` (None: none of its own) that also expires when
    ``incumbent``'s search must stop (Ctrl-C, SIGTERM or its time limit), so that
    heuristics run inside a search stop with it."""

    def __init__(self, incumbent: Incumbent, seconds: float | None = None) -> None:
        super().__init__(seconds)
        self.incumbent = incumbent

    def remaining(self) -> float:
        if self.incumbent.interrupted:
            return 0.0
        return min(super().remaining(), self.incumbent.deadline.remaining())


# Where HiGHS cannot solve a pattern's program without a box (a recession direction of
# zero cost can make its QP solver fail), it is solved in this many times the box.
LARGE_BOX_FACTOR = 1e3


def loss_without_box(problem: Problem, pattern, signs, free) -> tuple[float, bool]:
    """The least loss of the pattern over all weights (no box), for a pattern whose fit
    the box limited.

    Returns ``(loss, exact)``: ``loss`` is that of an actual network outside the box (an
    upper bound on the pattern's optimum over all weights), ``exact`` whether it is the
    optimum itself. ``(inf, False)`` when HiGHS cannot say.
    """
    try:
        return fit_fixed_pattern(problem, pattern, signs, free, radius=np.inf).loss, True
    except SolverError:
        pass
    try:
        radius = LARGE_BOX_FACTOR * problem.box_radius
        fit = fit_fixed_pattern(problem, pattern, signs, free, radius=radius)
    except SolverError:
        return np.inf, False
    return fit.loss, not fit.box_binds


class PatternSearch:
    """What a search over activation patterns has proven, pattern by pattern.

    Each pattern's convex program (the network with that activation pattern fixed) either
    is solved (its optimum bounds every network of the pattern) or skipped because a lower
    bound already shows it cannot beat the incumbent. The optimum is at least the
    smallest of the incumbent's loss, the solved values and the skipped bounds, when
    every pattern has been examined.

    Parameters
    ----------
    problem : Problem
    options : SolveOptions
    deadline : Deadline
        Any object with ``expired()``.
    incumbent : Incumbent, optional
        Shared with an enclosing search; default: a new one from the zero network.
    """

    def __init__(
        self,
        problem: Problem,
        options: SolveOptions,
        deadline: Deadline,
        incumbent: Incumbent | None = None,
    ) -> None:
        self.problem = problem
        self.options = options
        self.deadline = deadline
        if incumbent is None:
            start = zero_network(problem.arch, problem.d, problem.width)
            incumbent = Incumbent(problem, options, deadline, start)
        self.incumbent = incumbent
        self.skipped_bound = np.inf  # least (bound - margin) of a skipped pattern
        self.solved_bound = np.inf  # least proven value of a processed pattern
        self.timed_out = False
        # The least loss of a network outside the box found for a pattern whose fit the
        # box limited; and whether some such pattern's optimum over all weights is
        # unknown (then nothing is claimed beyond the box).
        self.best_outside = np.inf
        self.outside_unknown = False
        self.counts: dict[str, int] = {}
        self.highs = quiet_highs(threads=options.threads, seed=options.seed)

    @property
    def best(self) -> float:
        """The incumbent's loss."""
        return self.incumbent.best_loss

    @property
    def best_net(self) -> Network:
        return self.incumbent.best

    def offer(self, net: Network, value: float | None = None) -> float:
        """Offer ``net`` to the incumbent; its loss."""
        if value is None:
            value = net.loss(self.problem.X, self.problem.y, self.problem.loss)
        self.incumbent.offer(net, value)
        return value

    def tol(self) -> float:
        """Half the optimality tolerance at the incumbent: prune against ``best - tol``."""
        return 0.5 * max(self.options.rel_gap * abs(self.best), self.options.abs_gap)

    def count(self, key: str, k: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + k

    @property
    def proven_without_box(self) -> bool:
        """Every pattern was examined and none beats the incumbent outside the box: the
        bound holds for all weights."""
        return (
            not self.timed_out
            and not self.outside_unknown
            and self.best_outside >= self.best - self.tol()
        )

    @property
    def better_outside_box(self) -> bool:
        """A pattern's best network over all weights, outside the box, beats the incumbent
        (a larger box would do better)."""
        return self.best_outside < self.best - self.tol()

    def bound(self) -> float:
        """What is proven once every pattern has been examined."""
        return min(self.best, self.skipped_bound, self.solved_bound)

    def fit_pattern(self, pattern, signs, free, lb: float) -> None:
        """Solve one fixed-pattern program, offer its network, and record what it proves.

        ``lb`` is a bound already known for the pattern. With free samples the program is
        a relaxation of the pattern, so its optimum (= the loss of its network, up to the
        solver's tolerance) bounds the pattern too. If HiGHS fails on it (after
        :func:`~exactrelu.convex.fixed_pattern.fit_fixed_pattern`'s own fallback), the
        reused HiGHS instance is replaced and only ``lb`` is kept, or for squared loss the
        better of ``lb`` and the bound of
        :func:`~exactrelu.convex.fixed_pattern.rescue_squared_pattern`, whose network is
        offered.
        """
        try:
            fit = fit_fixed_pattern(self.problem, pattern, signs, free, highs=self.highs)
        except SolverError:
            self.highs = quiet_highs(threads=self.options.threads, seed=self.options.seed)
            self.count("solver_failures")
            rescued = None
            if self.problem.loss == "squared":
                rescued = rescue_squared_pattern(self.problem, pattern, signs, free)
            if rescued is not None:
                self.count("rescued")
                self.offer(rescued[0])
                lb = max(lb, rescued[1])
            self.solved_bound = min(self.solved_bound, lb)
            self.outside_unknown = True
            return
        if fit.box_binds and (self.best_outside > lb or not self.outside_unknown):
            outside, exact = loss_without_box(self.problem, pattern, signs, free)
            self.best_outside = min(self.best_outside, outside)
            self.outside_unknown |= not exact
        self.count("convex_solves")
        self.offer(fit.network, fit.loss)
        self.solved_bound = min(self.solved_bound, max(fit.loss, lb))
