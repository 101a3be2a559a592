"""An approximation algorithm for one-node training with a proven ratio ``n/k`` (method ``approx``).

Notation: ``ℓ_i(θ) = ℓ(y_i, max(0, x̃_i·θ))`` is the loss of sample ``i``, ``OPT`` the
optimum over the box, ``θ*`` an optimal network, ``ℓ*_i = ℓ_i(θ*)``. The parameter is
an integer ``k >= 1`` (default 1).

The algorithm returns the best (by true loss) of the networks produced by two
families of convex programs, after polishing:

**Family A (the guarantee).** Each per-sample loss is *quasiconvex* in ``θ``: it is a
unimodal function of the pre-activation ``z``, which is linear in ``θ``. For a
threshold ``τ`` the set ``{θ : ℓ_i(θ) <= τ}`` is therefore convex, and for the
squared and absolute loss it is given by linear constraints once it is known
which targets exceed the threshold: with ``s = √τ`` (squared) or ``s = τ``
(absolute), ``ℓ_i <= τ`` iff ``z_i <= y_i + s`` (and ``s >= -y_i``) and, when
``y_i > s``, ``z_i >= y_i - s``. (Hinge: ``s = τ``; a ``+1`` sample needs
``z_i >= 1 - s`` while ``s < 1``; a ``-1`` sample needs ``s >= 1`` and
``z_i <= s - 1``.) For every set ``K`` of at most ``k - 1`` samples, every sign
pattern ``σ`` on the samples of ``K`` whose loss is not monotone, and every interval
between consecutive breakpoints (the positive targets; ``1`` for hinge), solve

    minimise   Σ_{i∈K} ℓ_i^σ(θ)  +  (n - |K|) · φ(s)          (φ(s) = s² squared, s otherwise)
    subject to ℓ_i(θ) <= φ(s) for i ∉ K (linear in that interval), the pattern σ on K,
               the box, s in the interval.

The first feasible interval is found by bisection (feasibility is monotone in
``s``) and the scan upward stops once ``(n - |K|)·φ(s_lo)`` reaches the best loss
found.

**Family B (practical quality).** For every set ``T`` of at most ``k - 1``
samples with non-monotone loss, treat ``T`` as inactive (``z_i <= 0``, loss
``ℓ(y_i, 0)``), every other such sample as active *without* a sign constraint
(loss ``ℓ(y_i, z_i)``, which is at least the true loss), and the monotone samples
with their exact convex loss. One convex program each.

**Polish.** The best few networks are refitted with their own activation pattern
fixed (the network is feasible for it, so the loss never increases), repeatedly;
samples on the boundary ``z = 0`` are first tried as active, then as inactive (both
keep the network feasible), which lets the boundary move from round to round.

Guarantee (proved in docs/algorithms.md): with ``k' = min(k, n)``,
``loss(approx) <= (n / k') · OPT``; hence exact when ``OPT = 0`` (realizable) and
exact for ``k >= n``. Family B adds: exact whenever the optimum leaves at most
``k - 1`` non-monotone samples inactive. Running time: at most
``Σ_{j<k} C(n, j) 2^j (log₂ n + n)`` programs of size ``O(n·d)`` for family A
(``O(n^k)``; in practice ``~log₂ n`` per ``(K, σ)``) plus ``Σ_{j<k} C(n, j)`` for B.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np

from exactrelu.certificate import Certificate, Stop, make_certificate
from exactrelu.convex.gram import (
    INF,
    Rows,
    augmented,
    box,
    fit_one_node_pattern,
    one_node_from_theta,
    solve_convex,
)
from exactrelu.errors import SolverError
from exactrelu.highs.quiet import quiet_highs
from exactrelu.network.losses import loss_at_zero, loss_monotone_in_activation
from exactrelu.network.networks import OneNodeNetwork, check_in_class, zero_network
from exactrelu.options import Deadline, SolveOptions
from exactrelu.problem import Problem, check_int

DEFAULT_K = 1
"""Default ``k``: ratio ``n``; one surrogate program, at most ~log₂ n capped ones, polishing."""
DEFAULT_POLISH = 20
"""Default rounds of fixed-pattern refits per polished network (each stops at a fixed point)."""
_POLISHED = 3  # how many of the best distinct networks are polished


def solve_approx(
    problem: Problem,
    options: SolveOptions,
    *,
    k: int = DEFAULT_K,
    polish: int = DEFAULT_POLISH,
) -> Certificate:
    """Approximate one-node training with the proven ratio ``n / min(k, n)``.

    Parameters
    ----------
    problem : Problem
        One-node only (``InvalidInputError`` otherwise).
    options : SolveOptions
        ``time_limit`` (if it cuts the run short the ratio is not guaranteed:
        ``details["guarantee_holds"]`` is False), ``warm_start`` (also offered as a
        candidate), ``threads``, ``seed``.
    k : int, default 1
        Guess sets of up to ``k - 1`` samples: ratio ``n/k``, ``O(n^k)`` convex programs.
    polish : int, default 20
        Rounds of fixed-pattern refits of the best networks (0 disables); a network's
        rounds stop early once a refit no longer lowers the loss.

    Returns
    -------
    Certificate
        Status ``feasible``, no bound. ``details``: ``k``, ``ratio_bound`` (``n/k'``),
        ``guarantee_holds``, ``implied_lower_bound`` (``loss · k'/n``, a lower bound on
        the optimum when the guarantee holds), ``programs``, ``source``.
    """
    k = check_int("k", k, minimum=1)
    polish = check_int("polish", polish, minimum=0)
    deadline = Deadline(options.time_limit)
    highs = quiet_highs(threads=options.threads, seed=options.seed)
    extra = []
    if options.warm_start is not None:
        extra.append(
            check_in_class(options.warm_start, "one-node", problem.d, 1, problem.box_radius)
        )
    net, info = approx_one_node(
        problem, k=k, polish=polish, deadline=deadline, highs=highs, extra=extra
    )
    kk = min(k, problem.n)
    loss = net.loss(problem.X, problem.y, problem.loss)
    details = {
        "k": k,
        "ratio_bound": problem.n / kk,
        "guarantee_holds": info.complete and info.failures == 0,
        "implied_lower_bound": loss * kk / problem.n if info.complete else None,
        "programs": info.programs,
        "source": info.source,
        "solver_failures": info.failures,
        "dead_units": net.dead_units(problem.X),
    }
    return make_certificate(
        problem,
        net,
        bound=None,
        stop=Stop.FEASIBLE if info.complete else Stop.TIME_LIMIT,
        seconds=deadline.elapsed(),
        method="approx",
        rel_gap=options.rel_gap,
        abs_gap=options.abs_gap,
        details=details,
    )


@dataclass
class ApproxInfo:
    """What one run of :func:`approx_one_node` did."""

    programs: int = 0
    failures: int = 0
    complete: bool = True
    source: str = "zero"
    candidates: list[tuple[float, OneNodeNetwork, str]] = field(default_factory=list)


class _Run:
    def __init__(self, problem: Problem, deadline: Deadline, highs: highspy.Highs) -> None:
        self.problem = problem
        self.deadline = deadline
        self.highs = highs
        self.Xt = augmented(problem)
        self.y = problem.y
        self.n = problem.n
        self.D = self.Xt.shape[1]
        self.loss = problem.loss
        self.monotone = loss_monotone_in_activation(self.y, self.loss)
        self.lo, self.hi = box(problem)
        self.info = ApproxInfo()
        self.best = math.inf
        self.best_net: OneNodeNetwork = zero_network("one-node", problem.d)  # type: ignore

    def offer(self, net: OneNodeNetwork, source: str) -> float:
        value = net.loss(self.problem.X, self.y, self.loss)
        self.info.candidates.append((value, net, source))
        if value < self.best:
            self.best, self.best_net, self.info.source = value, net, source
        return value

    def solve(self, **kw) -> tuple[np.ndarray, float | None, float] | None:
        """One convex program; ``None`` when infeasible or the solver failed."""
        self.info.programs += 1
        try:
            return solve_convex(
                self.loss, p=self.D, col_lower=self.lo, col_upper=self.hi, highs=self.highs, **kw
            )
        except SolverError as exc:
            if "nfeasible" not in str(exc):
                self.info.failures += 1
                self.highs = quiet_highs()
            return None

    # -- family A -----------------------------------------------------------
    def family_a(self, k: int) -> None:
        n = self.n
        for size in range(min(k - 1, n) + 1):
            for K in itertools.combinations(range(n), size):
                K = np.array(K, dtype=np.int64)
                choose = K[~self.monotone[K]]
                for sigma in itertools.product((True, False), repeat=choose.size):
                    if self.deadline.expired():
                        self.info.complete = False
                        return
                    self._capped(K, choose, np.array(sigma, dtype=bool))

    def _capped(self, K: np.ndarray, choose: np.ndarray, sigma: np.ndarray) -> None:
        """Programs of family A for one (K, σ): bisection for the first feasible
        interval, then an upward scan until the threshold term alone reaches the best."""
        n, y, Xt, loss = self.n, self.y, self.Xt, self.loss
        inK = np.zeros(n, dtype=bool)
        inK[K] = True
        R = ~inK
        weight = float(n - K.size)
        act = np.zeros(n, dtype=bool)
        act[choose[sigma]] = True
        ina = np.zeros(n, dtype=bool)
        ina[choose[~sigma]] = True
        free = inK & self.monotone
        base: dict[str, Any] = {
            "M": Xt[act],
            "y": y[act],
            "rows": [
                Rows(Xt[act], np.zeros(act.sum()), np.full(act.sum(), INF)),
                Rows(Xt[ina], np.full(ina.sum(), -INF), np.zeros(ina.sum())),
            ],
            "free_Z": Xt[free],
            "free_y": y[free],
            "offset": float(np.sum(loss_at_zero(y[ina], loss))),
            "s_weight": weight,
        }
        if weight == 0:  # every sample guessed: a plain fixed-pattern program
            out = self.solve(**base)
            if out is not None:
                self.offer(one_node_from_theta(out[0], self.problem), "ratio")
            return
        if loss == "hinge":
            pos, neg = R & (y > 0), R & (y < 0)
            s_min = 1.0 if neg.any() else 0.0
            edges = [0.0, 1.0, INF]
        else:
            pos, neg = R & (y > 0), R & (y <= 0)
            s_min = float(np.max(-y[neg], initial=0.0))
            edges = [0.0, *np.unique(y[pos]).tolist(), INF]
        phi = (lambda s: s * s) if loss == "squared" else (lambda s: s)
        intervals = [(max(a, s_min), b) for a, b in itertools.pairwise(edges) if b > s_min]

        def program(j: int):
            lo_s, hi_s = intervals[j]
            if loss == "hinge":
                lower_rows = pos if hi_s <= 1.0 else np.zeros(n, bool)
                up = (Xt[neg], np.full(neg.sum(), -1.0))
                lo = (Xt[lower_rows], np.ones(lower_rows.sum()))
            else:
                lower_rows = pos & (y >= hi_s)
                up = (Xt[R], y[R])
                lo = (Xt[lower_rows], y[lower_rows])
            out = self.solve(**base, cap_up=up, cap_lo=lo, s_bounds=(lo_s, hi_s))
            if out is not None:
                self.offer(one_node_from_theta(out[0], self.problem), "ratio")
            return out

        # Intervals whose threshold term alone reaches the best loss cannot win; they
        # form a suffix because φ(s_lo) grows with the interval.
        J = sum(weight * phi(lo_s) < self.best for lo_s, _ in intervals)
        if J == 0:
            return
        results: dict[int, Any] = {J - 1: program(J - 1)}
        if results[J - 1] is None:
            return  # feasibility is monotone in s: nothing below is feasible either
        # bisection for the first feasible interval
        lo_j, hi_j = 0, J - 1
        while lo_j < hi_j:
            mid = (lo_j + hi_j) // 2
            if mid not in results:
                results[mid] = program(mid)
            if results[mid] is None:
                lo_j = mid + 1
            else:
                hi_j = mid
        for j in range(lo_j, J):
            if self.deadline.expired():
                self.info.complete = False
                return
            if weight * phi(intervals[j][0]) >= self.best:
                break  # every later interval costs at least the best loss found
            if j not in results:
                results[j] = program(j)

    # -- family B -----------------------------------------------------------
    def family_b(self, k: int) -> None:
        y, Xt = self.y, self.Xt
        cand = np.flatnonzero(~self.monotone)
        free = self.monotone
        for size in range(min(k - 1, cand.size) + 1):
            for T in itertools.combinations(cand.tolist(), size):
                if self.deadline.expired():
                    self.info.complete = False
                    return
                ina = np.zeros(self.n, dtype=bool)
                ina[list(T)] = True
                lin = ~self.monotone & ~ina
                out = self.solve(
                    M=Xt[lin],
                    y=y[lin],
                    rows=[Rows(Xt[ina], np.full(ina.sum(), -INF), np.zeros(ina.sum()))],
                    free_Z=Xt[free],
                    free_y=y[free],
                    offset=float(np.sum(loss_at_zero(y[ina], self.loss))),
                )
                if out is not None:
                    self.offer(one_node_from_theta(out[0], self.problem), "surrogate")

    # -- polish ---------------------------------------------------------------
    def polish(self, rounds: int) -> None:
        if rounds == 0:
            return
        seen: set[bytes] = set()
        picked = []
        for value, net, source in sorted(self.info.candidates, key=lambda t: t[0]):
            key = (net.pre_activations(self.problem.X)[:, 0] > 0).tobytes()
            if key in seen:
                continue
            seen.add(key)
            picked.append((value, net, source))
            if len(picked) == _POLISHED:
                break
        for value, net, source in picked:
            for _ in range(rounds):
                if self.deadline.expired():
                    return
                improved = False
                # Samples on the boundary z = 0 satisfy both sign constraints, so the
                # network is feasible for either assignment: first let them be active
                # (an inactive sample held at z = 0 by its constraint wants to move up),
                # then inactive.
                z = net.pre_activations(self.problem.X)[:, 0]
                tol = 1e-7 * max(1.0, float(np.max(np.abs(z))))
                for active in (z > -tol, z > tol):
                    self.info.programs += 1
                    try:
                        new, new_value, _ = fit_one_node_pattern(
                            self.problem, active, self.monotone, self.highs
                        )
                    except SolverError:
                        self.info.failures += 1
                        self.highs = quiet_highs()
                        continue
                    if new_value < value * (1 - 1e-12) - 1e-15:
                        self.offer(new, source + "+polish")
                        net, value, improved = new, new_value, True
                        break
                if not improved:
                    break


def approx_one_node(
    problem: Problem,
    *,
    k: int = DEFAULT_K,
    polish: int = DEFAULT_POLISH,
    deadline: Deadline | None = None,
    highs: highspy.Highs | None = None,
    extra: list[OneNodeNetwork] = (),
) -> tuple[OneNodeNetwork, ApproxInfo]:
    """Run the approximation algorithm; return the best network and what was done.

    ``extra`` networks (a warm start) are offered as candidates before polishing.
    """
    run = _Run(problem, deadline or Deadline(None), highs or quiet_highs())
    run.offer(run.best_net, "zero")
    for net in extra:
        run.offer(net, "warm_start")
    run.family_b(k)
    run.family_a(k)
    run.polish(polish)
    return run.best_net, run.info
