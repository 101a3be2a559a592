"""What every exact search shares: the incumbent, progress lines, Ctrl-C, a heuristic start."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from exactrelu.certificate import Certificate, make_certificate, relative_gap
from exactrelu.data import Problem
from exactrelu.errors import SolverError
from exactrelu.fixed_pattern import fit_fixed_pattern, loss_monotone_in_activation
from exactrelu.network import Network, TwoLayerNetwork
from exactrelu.options import Deadline, SolveOptions

# Gradient-descent start: at most this many seconds, and this share of a time limit.
HEURISTIC_SECONDS = 2.0
HEURISTIC_SHARE = 0.1
# Two-layer: gradient-descent restarts, how many distinct ones are polished and improved
# by flips, and how many pre-activations (closest to 0) each flip pass tries.
HEURISTIC_RESTARTS = 60
# Two-layer MIPs still running after LONG_START_AFTER seconds get a second, longer start
# (more restarts, another seed): width 3, n = 50, d = 3, the first start's 60 restarts
# reached loss 0.2722, 300 restarts 0.2372 in 2.7 s, where the MILPs had found 0.2386
# after 2,280 s (benchmarks/README.md, "Better incumbents for hard two-layer instances").
# Not at once: on the core width-2 instance it tripled the solve time (4.5 -> 12.3 s).
LONG_HEURISTIC_RESTARTS = 1000
LONG_HEURISTIC_SECONDS = 15.0
LONG_START_AFTER = 30.0
HEURISTIC_POLISHED = 8
FLIP_CANDIDATES = 40


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
        # Searches may offer networks from several threads (sign cases solved side by side).
        self.lock = threading.Lock()

    @property
    def loss(self) -> float:
        return self.best_loss

    def offer(self, network: Network) -> bool:
        """Keep ``network`` if its recomputed loss beats the incumbent."""
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
            polished, _ = fit_fixed_pattern(
                problem, network.activation_pattern(problem.X), signs, free
            )
        except SolverError:
            return None
        with self.lock:
            self.polished += 1
        self.offer(polished)
        return polished

    def certificate(self, bound: float, stop: str, method: str, details: dict) -> Certificate:
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


@contextlib.contextmanager
def trap_interrupts(incumbent: Incumbent) -> Iterator[None]:
    """Turn Ctrl-C (SIGINT) and SIGTERM into the ``interrupted`` flag that searches poll.

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


def heuristic_start(
    problem: Problem,
    options: SolveOptions,
    incumbent: Incumbent,
    *,
    restarts: int = HEURISTIC_RESTARTS,
    seconds: float = HEURISTIC_SECONDS,
    seed: int | None = None,
) -> None:
    """Offer the best network of a short gradient-descent start as the incumbent.

    A good incumbent early is worth much: its loss is the cutoff that lets a search
    prune (and, for two-layer MIPs, close most output-sign cases outright). The best
    restart is polished on its activation pattern (the convex program with the pattern
    fixed). Two-layer: ``restarts`` restarts in half the budget, then the best
    ``HEURISTIC_POLISHED`` distinct ones are polished and improved by :func:`flip_search`.
    The budget is ``seconds``, at most ``HEURISTIC_SHARE`` of the time limit, and ends
    early on Ctrl-C. ``seed`` defaults to ``options.seed``.
    """
    from exactrelu.algorithms.gd import gd_restarts

    budget = seconds
    if options.time_limit is not None:
        budget = min(budget, HEURISTIC_SHARE * options.time_limit)
    deadline = Budget(incumbent, budget)
    # (no time limit here: every gd_restarts call below gets its Budget instead)
    gd_options = SolveOptions(
        seed=options.seed if seed is None else seed, warm_start=options.warm_start
    )
    if problem.arch == "one-node":
        network = gd_restarts(problem, gd_options, deadline=deadline)[0]
        incumbent.offer(network)
        incumbent.polish(network, None, loss_monotone_in_activation(problem.y, problem.loss))
        return
    targets = [problem]
    if problem.loss != "squared":
        # Subgradient steps on absolute or hinge loss often stall; gradient descent on the
        # squared loss of the same targets is a better start (a network that fits the data
        # exactly is optimal for every loss), and polishing then uses the real loss.
        targets.append(replace(problem, loss="squared"))
    networks = []
    for target in targets:
        share = Budget(incumbent, budget / (2 * len(targets)))
        networks += gd_restarts(target, gd_options, restarts, deadline=share)
    losses = [net.loss(problem.X, problem.y, problem.loss) for net in networks]
    order = np.argsort(losses, kind="stable")
    incumbent.offer(networks[order[0]])
    seen: set[float] = set()
    for k in order:
        key = round(losses[k], 9)  # restarts that reached the same loss: polish one
        if key in seen:
            continue
        seen.add(key)
        network = networks[k]
        polished = incumbent.polish(network, network.v, None)
        if polished is not None:
            incumbent.offer(flip_search(problem, polished, deadline))
        if len(seen) >= HEURISTIC_POLISHED or deadline.expired():
            break


def flip_search(problem: Problem, network: TwoLayerNetwork, deadline: Deadline) -> TwoLayerNetwork:
    """Local search over activation patterns by single flips.

    Flip the activation of one unit on one sample, among the ``FLIP_CANDIDATES``
    pre-activations closest to 0 (the hyperplanes that could move across them),
    solve the convex program with that pattern fixed, and move to the first that
    improves; stop when none does or the deadline passes.
    """
    X, y = problem.X, problem.y
    best, best_loss = network, network.loss(X, y, problem.loss)
    improved = True
    while improved and not deadline.expired():
        improved = False
        Z = best.pre_activations(X)
        pattern = Z > 0
        for flat in np.argsort(np.abs(Z), axis=None)[:FLIP_CANDIDATES]:
            if deadline.expired():
                break
            i, j = np.unravel_index(flat, Z.shape)
            candidate = pattern.copy()
            candidate[i, j] = not candidate[i, j]
            try:
                moved, loss = fit_fixed_pattern(problem, candidate, best.v)
            except SolverError:
                continue
            if loss < best_loss - 1e-12 * max(1.0, best_loss):
                best, best_loss, improved = moved, loss, True
                break
    return best
