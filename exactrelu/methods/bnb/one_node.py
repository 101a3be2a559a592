"""Exact one-node training with squared loss by branch and bound over activation patterns.

Write ``x̃_i = (x_i, 1)`` (``x_i`` without bias), ``θ = (w, b)`` and ``z_i = x̃_i·θ``.
A node of the tree fixes some samples *active* (set ``A``: ``z_i >= 0``, loss
``(y_i - z_i)²``), some *inactive* (``N``: ``z_i <= 0``, loss ``y_i²``) and leaves the
rest *open* (``O``). Only samples with ``y_i > 0`` are branched on: the loss of the
others is non-decreasing in the activation, so at a leaf they stay free.

**Bound.** Every open sample loses at least ``m_i`` (``y_i²`` if ``y_i <= 0``, else 0),
so every network of the node has loss ``>= const + Q_A(θ)`` with
``const = Σ_N y_i² + Σ_O m_i`` and ``Q_A(θ) = Σ_A (y_i - x̃_i·θ)²``. Dropping the sign
constraints and the box, ``min_θ Q_A`` is a least-squares fit: the node bound.

**Propagation (bound tightening with the cutoff).** Only networks with loss at most the
threshold ``T`` (the incumbent's loss less the gap tolerance) are of interest, so
``(θ - θ̂)ᵀ M (θ - θ̂) <= ρ`` with ``M = Σ_A x̃_i x̃_iᵀ``, ``θ̂`` the fit and
``ρ = T - const - RSS``: an ellipsoid. For an open sample with ``ẑ = x̃_i·θ̂`` and
``h = x̃_iᵀ M⁻¹ x̃_i`` the least extra cost of each choice is closed-form:

* inactive: ``max(0, ẑ)²/h`` (the fit must cross ``z_i <= 0``) ``+ y_i² - m_i``;
* active: the fit with sample i added, ``(y_i - ẑ)²/(1 + h) - m_i``, when its
  ``z_i >= 0``; otherwise ``z_i = 0`` binds: ``ẑ²/h + y_i² - m_i``.

A choice whose cost exceeds ``ρ`` is impossible below ``T``: the sample is fixed the
other way (both impossible: the node is pruned), and this repeats until nothing moves.
With a good incumbent most samples are fixed at the root or a few levels below it.
When ``M`` is singular (too few active samples) the box gives the missing curvature:
``‖θ‖² <= p·B²`` on the box, so ``Q_A(θ) + λ(‖θ‖² - p B²) <= T - const`` is valid for
any ``λ >= 0``, and the same formulas hold with ``M + λI``.

**Leaves** (no open sample with ``y_i > 0``): the convex QP with the pattern fixed
(:func:`~exactrelu.convex.fixed_pattern.fit_fixed_pattern`), skipped when the fit ``θ̂``
already satisfies the pattern and the box (then the bound is attained).

The tree is explored best-first. A pruned node holds no network with loss below ``T``,
so when the tree is empty the optimum is at least ``T``; the certificate's bound is the
smaller of ``T`` and the open nodes' bounds, also when the time limit or Ctrl-C stops
the search.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

import numpy as np

from exactrelu.certificate import Certificate, Stop
from exactrelu.convex.fixed_pattern import fit_fixed_pattern
from exactrelu.errors import SolverError
from exactrelu.formulation.bounds import CutoffBounds
from exactrelu.methods.heuristics import heuristic_start
from exactrelu.methods.search import (
    Budget,
    Incumbent,
    StageEnd,
    below_cutoff,
    explore,
    loss_without_box,
    trap_interrupts,
)
from exactrelu.network.networks import OneNodeNetwork
from exactrelu.options import Deadline, SolveOptions
from exactrelu.problem import Problem

ACTIVE, INACTIVE, OPEN = 1, 0, -1
# M is regularised by the box when its reciprocal condition number is below this.
SINGULAR_RCOND = 1e-10
# Sign-constraint penalty of the node bound: constraints and coordinate-ascent sweeps.
PENALTY_CONSTRAINTS = 12
PENALTY_SWEEPS = 5
# Branching score floor, relative to the threshold.
SCORE_FLOOR = 1e-6
# Nodes between two lines of the solver log (options.log).
LOG_EVERY = 1000
# Fixings must clear the radius by this relative margin (float64 round-off).
MARGIN = 1e-9


@dataclass
class _Node:
    bound: float
    status: np.ndarray = field(compare=False)


@dataclass
class _Evaluation:
    """A node after propagation: its bound, fixings, fit and branching scores."""

    bound: float
    status: np.ndarray
    theta: np.ndarray
    exact_fit: bool  # the fit used no box regularisation
    M: np.ndarray  # curvature of the ellipsoid (θ - θ̂)ᵀ M (θ - θ̂) <= rho
    rho: float
    cost_active: np.ndarray  # per sample (inf where not open)
    cost_inactive: np.ndarray


def _leverage(M: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``h_i = x_iᵀ M⁻¹ x_i`` for every row ``x_i`` of ``rows``."""
    return np.einsum("ij,ji->i", rows, np.linalg.solve(M, rows.T))


def lagrangian_sign_penalty(
    G: np.ndarray, v: np.ndarray, M: np.ndarray
) -> tuple[float, np.ndarray]:
    """Raise a least-squares bound by a Lagrangian of violated constraints ``g_jᵀθ <= 0``.

    The fit ``θ̂`` of ``Q(θ) = RSS + (θ - θ̂)ᵀ M (θ - θ̂)`` violates them by ``v_j = g_jᵀθ̂ > 0``
    (``G``: the ``g_j`` as columns). For ``μ >= 0`` the Lagrangian ``Q(θ) + μᵀGᵀθ`` is at
    most ``Q`` wherever the constraints hold; it equals
    ``RSS + μᵀv - ¼ μᵀHμ + (θ - θ_μ)ᵀ M (θ - θ_μ)`` with ``H = Gᵀ M⁻¹ G`` and centre
    ``θ_μ = θ̂ - ½ M⁻¹ G μ``. So any ``μ >= 0`` raises the bound by ``μᵀv - ¼ μᵀHμ`` (for
    one constraint, at best ``v²/H``) and moves the ellipsoid's centre. ``μ`` comes from a
    few sweeps of coordinate ascent over the most violated constraints: any iterate is
    valid.

    Returns the increase and the shift ``θ̂ - θ_μ``.
    """
    MinvG = np.linalg.solve(M, G)
    diag = np.einsum("ij,ij->j", G, MinvG)
    keep = np.argsort(-(v**2) / diag)[:PENALTY_CONSTRAINTS]
    G, MinvG, v = G[:, keep], MinvG[:, keep], v[keep]
    H = G.T @ MinvG
    mu = np.zeros(v.size)
    for _ in range(PENALTY_SWEEPS):
        for j in range(v.size):
            # maximise over mu_j alone: d/dmu_j = v_j - ½ (H mu)_j = 0
            mu[j] = max(0.0, mu[j] + 2.0 * (v[j] - 0.5 * H[j] @ mu) / H[j, j])
    return float(mu @ v - 0.25 * mu @ H @ mu), 0.5 * (MinvG @ mu)


class OneNodeBranchAndBound:
    """The search state of :func:`solve_branch_and_bound`.

    Parameters
    ----------
    problem : Problem
        One-node, squared loss.
    options : SolveOptions
    incumbent : Incumbent
        Best network so far (shared with the heuristics that ran before).
    box_free : bool, default False
        Search every weight vector, not only the box: nodes whose fit is singular get
        the bound ``const`` (no box regularisation, no fixings) and are branched. The
        search then proves its bound over all weights, unless a leaf whose program the
        box limited does better outside it (:attr:`best_outside`).
    """

    def __init__(
        self,
        problem: Problem,
        options: SolveOptions,
        incumbent: Incumbent,
        *,
        box_free: bool = False,
    ) -> None:
        self.problem = problem
        self.box_free = box_free
        # box_free: the least loss of a network outside the box found for a leaf whose fit
        # the box limited, and whether some such leaf's optimum over all weights is
        # unknown (then nothing is proven beyond the box).
        self.best_outside = np.inf
        self.outside_unknown = False
        self.options = options
        self.incumbent = incumbent
        X, y = problem.X, problem.y
        self.Xt = np.column_stack([X, np.ones(problem.n)]) if problem.bias else X.copy()
        self.y = y
        self.ysq = y**2
        self.min_loss = np.where(y <= 0, self.ysq, 0.0)  # m_i: least loss of an open sample
        self.extra_inactive = self.ysq - self.min_loss  # y_i² - m_i
        self.branchable = y > 0
        p = self.Xt.shape[1]
        self.box_radius_sq = p * problem.box_radius**2
        self.nodes = 0
        self.leaves = 0
        self.qps = 0
        self.max_open = 0
        self.heap: list[tuple[float, int, np.ndarray]] = []
        self.counter = itertools.count()

    # -- thresholds ------------------------------------------------------------
    def threshold(self) -> float:
        """``T``: networks with a loss at least this are not worth finding."""
        return below_cutoff(self.incumbent.loss, self.options)

    def bound(self) -> float:
        """Proven lower bound: ``T`` or the best open node, whichever is smaller."""
        best_open = self.heap[0][0] if self.heap else np.inf
        return max(0.0, min(self.threshold(), best_open))

    # -- one node --------------------------------------------------------------
    def evaluate(self, status: np.ndarray, inherited: float = 0.0) -> _Evaluation | None:
        """Propagate fixings to a fixpoint; None when the node cannot beat ``T``.

        ``inherited``: a lower bound known from the parent (its bound plus the cost of
        the branching choice, which counts the choice's sign constraint that the
        node's own least-squares bound ignores); the node's bound is the larger.
        """
        Xt, y = self.Xt, self.y
        p = Xt.shape[1]
        status = status.copy()
        while True:
            threshold = self.threshold()
            active = status == ACTIVE
            open_ = status == OPEN
            const = self.ysq[status == INACTIVE].sum() + self.min_loss[open_].sum()
            XA = Xt[active]
            M = XA.T @ XA
            lam = 0.0
            scale = max(np.trace(M) / p, 1.0)
            eig = np.linalg.eigvalsh(M)
            if eig[0] < SINGULAR_RCOND * max(eig[-1], 1.0):
                if self.box_free:
                    return self._branch_singular(status, const, inherited, threshold)
                lam = 1e-6 * scale
                M = M + lam * np.eye(p)
            theta = np.linalg.solve(M, XA.T @ y[active])
            residual = y[active] - XA @ theta
            rss = residual @ residual + lam * (theta @ theta) - lam * self.box_radius_sq
            # The sign constraints of the fixed samples, through a Lagrangian: the fit's
            # centre moves and its value rises (see sign_penalty); the ellipsoid below is
            # that of the Lagrangian, a valid underestimate of Q_A on the node.
            penalty, shift = self.sign_penalty(status, theta, M)
            theta = theta - shift
            exact_fit = lam == 0.0 and penalty == 0.0
            rss += penalty
            bound = max(const + max(rss, 0.0), inherited)
            if bound > threshold:
                return None
            rho = threshold - const - rss
            tol = MARGIN * max(1.0, abs(threshold))
            idx = np.flatnonzero(open_)
            cost_a = np.full(self.problem.n, np.inf)
            cost_i = np.full(self.problem.n, np.inf)
            if idx.size == 0:
                return _Evaluation(bound, status, theta, exact_fit, M, rho, cost_a, cost_i)
            Xo = Xt[idx]
            z_hat = Xo @ theta
            h = np.maximum(_leverage(M, Xo), 1e-300)
            yo = y[idx]
            inactive_cost = np.maximum(z_hat, 0.0) ** 2 / h + self.extra_inactive[idx]
            z_star = (z_hat + h * yo) / (1.0 + h)
            active_cost = np.where(
                z_star >= 0.0,
                (yo - z_hat) ** 2 / (1.0 + h) - self.min_loss[idx],
                z_hat**2 / h + self.extra_inactive[idx],
            )
            no_active = active_cost > rho + tol
            no_inactive = inactive_cost > rho + tol
            if np.any(no_active & no_inactive):
                return None
            if not (np.any(no_active) or np.any(no_inactive)):
                cost_a[idx], cost_i[idx] = active_cost, inactive_cost
                return _Evaluation(bound, status, theta, exact_fit, M, rho, cost_a, cost_i)
            status[idx[no_inactive]] = ACTIVE
            status[idx[no_active]] = INACTIVE

    def _branch_singular(
        self, status: np.ndarray, const: float, inherited: float, threshold: float
    ) -> _Evaluation | None:
        """A node whose active samples do not determine the weights, without the box.

        Every network of the node loses at least ``const`` (``Q_A >= 0``); nothing is
        fixed. Branching costs: making an open sample inactive costs at least
        ``y_i² - m_i``, active nothing, so the samples whose inactivity costs most are
        branched first (their inactive children are pruned soonest).
        """
        bound = max(const, inherited)
        if bound > threshold:
            return None
        open_ = status == OPEN
        p = self.Xt.shape[1]
        cost_active = np.where(open_, 0.0, np.inf)
        cost_inactive = np.where(open_, self.extra_inactive, np.inf)
        return _Evaluation(
            bound,
            status,
            np.zeros(p),
            False,
            np.zeros((p, p)),
            threshold - const,
            cost_active,
            cost_inactive,
        )

    def sign_penalty(
        self, status: np.ndarray, theta: np.ndarray, M: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Lagrangian relaxation of the fixed samples' sign constraints
        (``g_j = x̃_j`` inactive, ``-x̃_j`` active); see :func:`lagrangian_sign_penalty`."""
        fixed = np.flatnonzero(status != OPEN)
        signs = np.where(status[fixed] == ACTIVE, -1.0, 1.0)
        v = signs * (self.Xt[fixed] @ theta)
        violated = np.flatnonzero(v > 0)
        if violated.size == 0:
            return 0.0, np.zeros_like(theta)
        G = (signs[violated, None] * self.Xt[fixed[violated]]).T  # p × k
        return lagrangian_sign_penalty(G, v[violated], M)

    def cutoff_bounds(self) -> CutoffBounds | None:
        """Pre-activation bounds that every network with loss at most ``T`` satisfies.

        From the root's fixpoint: ``z_i`` lies within ``ẑ_i ± sqrt(ρ h_i)`` (the
        ellipsoid), at least 0 on fixed-active and at most 0 on fixed-inactive samples.
        None when no network beats ``T`` at all (the incumbent is optimal).
        """
        threshold = self.threshold()
        ev = self.evaluate(np.full(self.problem.n, OPEN, dtype=np.int8))
        if ev is None:
            return None
        Xt = self.Xt
        z_hat = Xt @ ev.theta
        h = _leverage(ev.M, Xt)
        radius = np.sqrt(max(ev.rho, 0.0) * np.maximum(h, 0.0))
        # widen by the round-off margin so that no network below T is cut off
        radius = radius * (1 + MARGIN) + MARGIN * (1.0 + np.abs(z_hat))
        lower, upper = z_hat - radius, z_hat + radius
        lower[ev.status == ACTIVE] = np.maximum(lower[ev.status == ACTIVE], 0.0)
        upper[ev.status == INACTIVE] = np.minimum(upper[ev.status == INACTIVE], 0.0)
        return CutoffBounds(lower, upper, threshold)

    def network_of(self, theta: np.ndarray) -> OneNodeNetwork:
        B = self.problem.box_radius
        theta = np.clip(theta, -B, B)
        if self.problem.bias:
            return OneNodeNetwork(theta[:-1], float(theta[-1]))
        return OneNodeNetwork(theta, 0.0)

    def solve_leaf(self, ev: _Evaluation) -> None:
        """Exact value of a node whose every positive-target sample is fixed."""
        self.leaves += 1
        z = self.Xt @ ev.theta
        active = ev.status == ACTIVE
        inactive = ev.status == INACTIVE
        free = ev.status == OPEN
        in_box = np.all(np.abs(ev.theta) <= self.problem.box_radius)
        fits = ev.exact_fit and np.all(z[active] >= 0) and np.all(z[inactive | free] <= 0)
        if fits and in_box:
            self.incumbent.offer(self.network_of(ev.theta))
            return
        if fits and self.box_free:
            # the pattern's optimum over all weights lies outside the box: its value is
            # the node's bound (an exact fit)
            self.best_outside = min(self.best_outside, ev.bound)
            return
        self.qps += 1
        try:
            fit = fit_fixed_pattern(self.problem, active[:, None], None, free)
        except SolverError:
            # The QP failed: the node stays unresolved, so keep it as an open node
            # with its bound rather than claim anything about it.
            self.push(ev.bound, ev.status, force=True)
            return
        if fit.box_binds and self.box_free:
            # the box limited this leaf: its best network over all weights may be better
            outside, exact = loss_without_box(self.problem, active[:, None], None, free)
            self.best_outside = min(self.best_outside, outside)
            self.outside_unknown |= not exact
        self.incumbent.offer(fit.network, fit.loss)

    # -- the tree --------------------------------------------------------------
    def push(self, bound: float, status: np.ndarray, force: bool = False) -> None:
        if force or bound <= self.threshold():
            heapq.heappush(self.heap, (bound, next(self.counter), status))

    def run(self, deadline: Deadline, report, cap: float = np.inf) -> StageEnd:
        """Explore until the tree is empty (``FINISHED``) or time/Ctrl-C stops it.

        ``cap``: seconds (of ``deadline``'s clock) after which to stop with ``CAPPED``.
        """
        self.push(0.0, np.full(self.problem.n, OPEN, dtype=np.int8))
        unresolved: list[tuple[float, int, np.ndarray]] = []
        while self.heap:
            if self.incumbent.interrupted:
                return StageEnd.INTERRUPTED
            if deadline.expired():
                return StageEnd.TIME_LIMIT
            if deadline.elapsed() > cap:
                return StageEnd.CAPPED
            bound, _, status = heapq.heappop(self.heap)
            if bound > self.threshold():
                continue
            self.nodes += 1
            ev = self.evaluate(status, bound)
            report(self)
            if self.nodes % LOG_EVERY == 0:
                self.incumbent.log(
                    f"bnb: {self.nodes} nodes, {len(self.heap)} open, bound {self.bound():.10g}, "
                    f"best loss {self.incumbent.loss:.10g}"
                )
            if ev is None:
                continue
            self.incumbent.offer(self.network_of(ev.theta))
            open_ = (ev.status == OPEN) & self.branchable
            self.max_open = max(self.max_open, int(open_.sum()))
            if not np.any(open_):
                before = len(self.heap)
                self.solve_leaf(ev)
                if len(self.heap) > before:  # the leaf QP failed: set it aside
                    unresolved.append(heapq.heappop(self.heap))
                continue
            # Branch where both children gain most: the product rule of strong branching
            # on the closed-form costs of either choice (the floor keeps it informative
            # near the root, where every active choice costs about 0).
            floor = SCORE_FLOOR * max(1.0, self.threshold())
            score = np.maximum(ev.cost_active, floor) * np.maximum(ev.cost_inactive, floor)
            score = np.where(open_, score, -np.inf)
            i = int(np.argmax(score))
            for value, cost in ((ACTIVE, ev.cost_active[i]), (INACTIVE, ev.cost_inactive[i])):
                child = ev.status.copy()
                child[i] = value
                self.push(ev.bound + max(cost, 0.0), child)
        for item in unresolved:
            heapq.heappush(self.heap, item)
        return StageEnd.FINISHED if not self.heap else StageEnd.ERROR


# The search over all weights gets at least this many seconds and this multiple of the
# time the solve took so far (it is a second, weaker tree: near the root nothing is fixed).
VERIFY_SECONDS = 1.0
VERIFY_SHARE = 1.0


def prove_without_box(
    problem: Problem, options: SolveOptions, incumbent: Incumbent
) -> tuple[bool, bool]:
    """Search every weight vector for a network better than the incumbent (``box_free``).

    Returns ``(proven, better_outside)``. ``proven``: the search finished and no leaf did
    better outside the box, so no network of the class, whatever its weights, loses less
    than the incumbent (within half the certificate's tolerance). ``better_outside``: a
    network outside the box was found to do better (a larger box would help). It runs at
    most ``max(VERIFY_SECONDS, VERIFY_SHARE × elapsed)`` seconds (and never past the time
    limit or Ctrl-C); ``proven`` is False when it does not finish.
    """
    seconds = max(VERIFY_SECONDS, VERIFY_SHARE * incumbent.deadline.elapsed())
    tree = OneNodeBranchAndBound(problem, options, incumbent, box_free=True)
    end = tree.run(Budget(incumbent, seconds), lambda t: None)
    threshold = tree.threshold()
    proven = end is StageEnd.FINISHED and not tree.outside_unknown
    return proven and tree.best_outside >= threshold, tree.best_outside < threshold


def solve_one_node(problem: Problem, options: SolveOptions) -> Certificate:
    """Certify the optimum of a one-node, squared-loss problem by branch and bound.

    See the module docstring for the bound, the propagation and why they are valid.

    Parameters
    ----------
    problem : Problem
        ``arch = "one-node"``, ``loss = "squared"``.
    options : SolveOptions
        ``time_limit``, ``rel_gap``, ``abs_gap``, ``warm_start``, ``progress`` and
        ``seed`` (of the gradient-descent start) apply.

    Returns
    -------
    Certificate
        ``method = "bnb"``; when stopped early, the best network and the proven bound.
    """
    incumbent = Incumbent.start(problem, options)
    search = OneNodeBranchAndBound(problem, options, incumbent)
    with trap_interrupts(incumbent):
        heuristic_start(problem, options, incumbent)
        end = explore(search, incumbent)
        bound = search.bound()
        global_, outside = False, False
        if end is StageEnd.FINISHED:
            global_, outside = prove_without_box(problem, options, incumbent)
        incumbent.report(bound, "finished", force=True, only_if_started=True)
    details = {
        "nodes": search.nodes,
        "leaves": search.leaves,
        "leaf_qps": search.qps,
        "max_open_samples": search.max_open,
        "better_outside_box": outside,
    }
    return incumbent.certificate(
        bound, end.stop() or Stop.FINISHED, "bnb", details, proven_without_box=global_
    )
