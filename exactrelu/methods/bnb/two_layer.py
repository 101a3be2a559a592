"""Exact two-layer training with squared loss by branch and bound over activation patterns.

Write ``x̃_i = (x_i, 1)`` (``x_i`` without hidden biases), ``θ_j = (W_j, b_j)`` and
``z_ij = x̃_i·θ_j``. The output signs are fixed per *sign case* (units ``0..p-1`` have
``v_j = +1``, the rest ``-1``; every network of the class lies in one case, and units of
one sign are interchangeable), and the parameters of a case are
``β = (θ_1, …, θ_h, c)``, ``|θ| <= B``, ``c`` free. For an activation pattern
``π ∈ {0, 1}^h`` of sample ``i`` the output is linear, ``f_i = φ_i(π)·β`` with
``φ_i(π) = (v_1 π_1 x̃_i, …, v_h π_h x̃_i, 1)``, valid where the pattern's *sign rows*
hold (``z_ij >= 0`` where ``π_j = 1``, ``<= 0`` where ``π_j = 0``).

**Tree.** A node keeps, per sample, the set of patterns still allowed (a bit mask over
the ``2^h`` patterns); one pattern left: the sample is *fixed*; a unit is *on* (*off*) for
the sample when every allowed pattern has it active (inactive). Children partition their
parent's patterns, so no network is lost by branching. All sign cases share one
best-first heap and one incumbent.

**Node bound** (:func:`~exactrelu.methods.bnb.kernels.dual_bound`). Every network of the
node has ``lo_i(β) <= f_i <= hi_i(β)`` on an open sample, where ``lo``/``hi`` take the on
units exactly, an open ``+1`` unit between ``max(0, z)`` and its upper envelope on the
box's range ``[-U_i, U_i]`` (``U_i = B(‖x_i‖₁ + 1)``), an open ``-1`` unit the same way
round. So the node's loss is at least

    R(β) = Σ_fixed (y_i - φ_i(π_i)·β)² + Σ_open dist(y_i, [lo_i(β), hi_i(β)])²

subject to the on/off sign rows and the box: the big-M relaxation an MIQP solver would
solve at the node. It is bounded below through one Lagrangian dual: any multipliers
``ν >= 0`` give a valid bound, evaluated exactly at the ``ν`` found (rows are generated
from the violated ones, at most ``DUAL_ROUNDS`` rounds). Where fewer than ``h(d+1) + 1``
samples are fixed the least-squares part is made invertible by ``λ‖θ‖²`` and paid for by
``-λ h(d+1) B²`` (``‖θ‖² <= h(d+1)B²`` on the box), so the bound stays valid.

**Propagation with the cutoff** (:func:`~exactrelu.methods.bnb.kernels.pattern_costs`).
Only networks with loss at most ``T`` (the incumbent's loss less half the tolerance)
matter. The dual at ``ν`` is a quadratic underestimator ``q(β)`` of the node's loss; the
least increase of ``q`` when an open sample is fixed to a pattern (its square replacing
its share of ``q``, over the pattern's one or two violated half-spaces) is closed form.
A pattern whose increase exceeds ``T - bound`` is removed; a sample left with one pattern
is fixed and the node re-evaluated; an empty set prunes the node.

**Branching** (:func:`~exactrelu.methods.bnb.kernels.strong_branch`,
:func:`~exactrelu.methods.bnb.kernels.branch_sample`). The network at the node's centre is
evaluated with true ReLUs; the open samples with the largest squared residual (where the
relaxation is most optimistic) are the candidates. Width 2 with one unit of each sign:
strong branching over single units (:func:`strong_units` open units of the top samples,
two children each: the unit active or inactive at the sample; the largest product of the
two bound gains wins; a unit whose output sign cannot move its sample's output towards
``y_i`` ranks lower, as only units of the residual's sign use their chord's slack).
Wider cases with units of both signs: the top sample's patterns, each a child, evaluated
lightly before they are queued. One-sign cases: the top sample's patterns, a sample
whose residual the units' sign cannot close ranking lower (the same key). Units of one
sign that are interchangeable at the node are reduced by orbital fixing (patterns with
``π_j < π_j'`` are dropped at the branched sample).

**Leaves and incumbents.** Every node's centre network (clipped to the box, output bias
refitted, loss recomputed) is offered as an incumbent. A node with every sample fixed is
closed when its centre network is within half the tolerance of its bound, else by the
convex QP of its pattern (:func:`~exactrelu.convex.fixed_pattern.fit_fixed_pattern`).
The proven bound is the smallest of ``T``, the open nodes' bounds and the closed leaves'
values; the time limit or Ctrl-C stop the search with that bound.

The per-node work runs in compiled code (numba, :mod:`.kernels`); the first solve in a
fresh installation compiles it (cached on disk afterwards).
"""

from __future__ import annotations

import heapq
import itertools
import threading
from dataclasses import dataclass

import numpy as np

from exactrelu.certificate import Certificate, Stop
from exactrelu.convex.fixed_pattern import fit_fixed_pattern
from exactrelu.convex.gram import augmented, two_layer_from_beta
from exactrelu.errors import SolverError
from exactrelu.methods.heuristics import heuristic_start
from exactrelu.methods.search import (
    Incumbent,
    StageEnd,
    below_cutoff,
    explore,
    trap_interrupts,
)
from exactrelu.options import Deadline, SolveOptions
from exactrelu.problem import Problem

# Propagation: node evaluations per node (re-evaluated once samples were fixed).
MAX_PASSES = 2
# The dual's row generation: rounds, and rows added beyond the violated ones (sign and
# box rows; open-sample rows).
DUAL_ROUNDS = 4
EXTRA_ROWS = 10
EXTRA_OPEN_ROWS = 4
# Strong branching in mixed-sign cases: candidate samples, and the dual rounds of each
# child's light evaluation (its bound, without propagation).
STRONG_CANDIDATES = 1
STRONG_ROUNDS = 1
# Width 2 (one unit of each sign): strong branching over single units instead, with this
# many dual rounds per child, on STRONG_UNITS candidate units, or FEW_STRONG_UNITS below
# MANY_SAMPLES samples (strong_units; docs/decisions.md).
STRONG_UNIT_ROUNDS = 2
STRONG_UNITS = 6
FEW_STRONG_UNITS = 3
MANY_SAMPLES = 50
# Gradient-descent start: seconds and restarts (the tree finds good networks by itself;
# the start only saves it the first few hundred nodes).
HEURISTIC_SECONDS = 0.1
HEURISTIC_RESTARTS = 12
# Nodes between two checks of the clock, the interrupt flag and the progress line.
CHECK_EVERY = 16
# Nodes between two lines of the solver log (options.log).
LOG_EVERY = 5000


def strong_units(n: int) -> int:
    """Candidate units of the single-unit strong branching for ``n`` samples.

    Measured, not derived: on the benchmark instances with 30 to 45 samples three
    candidates made the fastest searches (the trees grow less than the nodes get
    cheaper), on those with 50 and 60 samples six (the trees grow more; docs/decisions.md).
    """
    return FEW_STRONG_UNITS if n < MANY_SAMPLES else STRONG_UNITS


@dataclass(frozen=True)
class PatternTables:
    """Bit-mask look-up tables over the ``K = 2^h`` activation patterns of ``h`` units.

    A mask ``m`` (``0 <= m < 2^K``) is a set of patterns; pattern ``k`` has unit ``j``
    active when bit ``j`` of ``k`` is set.
    """

    patterns: np.ndarray  # (K, h) bool
    count: np.ndarray  # (2^K,) patterns in the mask
    single: np.ndarray  # (2^K,) the pattern of a one-pattern mask, else -1
    on: np.ndarray  # (2^K, h) unit active in every pattern of the mask
    off: np.ndarray  # (2^K, h) unit inactive in every pattern of the mask
    open: np.ndarray  # (2^K, h) neither
    on_pattern: np.ndarray  # (2^K,) the pattern whose active units are the mask's on units
    allowed: np.ndarray  # (2^K, K) pattern in the mask
    unit_half: np.ndarray  # (h, 2) masks of the patterns with unit j inactive / active

    @classmethod
    def of(cls, h: int) -> PatternTables:
        K = 1 << h
        patterns = ((np.arange(K)[:, None] >> np.arange(h)) & 1).astype(bool)
        masks = np.arange(1 << K)
        allowed = ((masks[:, None] >> np.arange(K)) & 1).astype(bool)
        # on: no allowed pattern has the unit off (and the mask is not empty)
        on = ~(allowed[:, :, None] & ~patterns[None]).any(axis=1)
        off = ~(allowed[:, :, None] & patterns[None]).any(axis=1)
        on[0] = off[0] = False
        single = np.full(1 << K, -1, np.int64)
        single[1 << np.arange(K)] = np.arange(K)
        unit_half = np.zeros((h, 2), np.int64)
        for k in range(K):
            for j in range(h):
                unit_half[j, int(patterns[k, j])] |= 1 << k
        return cls(
            patterns=patterns,
            count=allowed.sum(axis=1).astype(np.int64),
            single=single,
            on=on,
            off=off,
            open=~on & ~off,
            on_pattern=(on * (1 << np.arange(h))).sum(axis=1).astype(np.int64),
            allowed=allowed,
            unit_half=unit_half,
        )

    def swap(self, j: int, jj: int) -> np.ndarray:
        """(2, 2^K) int64: row 0 starts with ``(j, jj)``; row 1 maps each mask to its image
        when units ``j`` and ``jj`` swap roles."""
        K = self.patterns.shape[0]
        image = self.patterns.copy()
        image[:, [j, jj]] = image[:, [jj, j]]
        perm = (image * (1 << np.arange(image.shape[1]))).sum(axis=1)
        masks = np.arange(1 << K)
        swapped = np.zeros(1 << K, np.int64)
        for k in range(K):
            swapped |= ((masks >> k) & 1) << perm[k]
        out = np.full((2, 1 << K), -1, np.int64)
        out[0, :2] = (j, jj)
        out[1] = swapped
        return out


@dataclass(frozen=True)
class SignCase:
    """Output signs ``v`` (``positive`` units of ``+1`` first) and the sample features
    ``phi[i, k] = φ_i(pattern k)`` of shape (n, K, h·D + 1)."""

    positive: int
    v: np.ndarray
    phi: np.ndarray
    swaps: np.ndarray  # (pairs, 2, 2^K): same-sign unit pairs (row -1 when there are none)

    @classmethod
    def of(cls, positive: int, Xt: np.ndarray, tables: PatternTables) -> SignCase:
        n, D = Xt.shape
        K, h = tables.patterns.shape
        v = np.where(np.arange(h) < positive, 1.0, -1.0)
        phi = np.zeros((n, K, h * D + 1))
        for k in range(K):
            for j in np.flatnonzero(tables.patterns[k]):
                phi[:, k, j * D : (j + 1) * D] = v[j] * Xt
        phi[:, :, -1] = 1.0
        pairs = [(j, jj) for j in range(h) for jj in range(j + 1, h) if v[j] == v[jj]]
        swaps = np.full((max(len(pairs), 1), 2, 1 << K), -1, np.int64)
        for t, (j, jj) in enumerate(pairs):
            swaps[t] = tables.swap(j, jj)
        return cls(positive, v, phi, swaps)


class TwoLayerBranchAndBound:
    """The tree of one solve: every sign case of ``problem`` in one best-first heap.

    Parameters
    ----------
    problem : Problem
        ``arch = "two-layer"``, ``loss = "squared"``, a fixed box.
    options : SolveOptions
        ``rel_gap`` and ``abs_gap`` decide the cutoff.
    incumbent : Incumbent
        Shared best network (offered every node's centre network and every leaf's fit).
    """

    def __init__(self, problem: Problem, options: SolveOptions, incumbent: Incumbent) -> None:
        from exactrelu.methods.bnb import kernels  # compiled on first use (numba)

        self.kernels = kernels
        self.problem = problem
        self.options = options
        self.incumbent = incumbent
        h = problem.width
        self.h = h
        self.B = float(problem.box_radius)
        self.Xt = np.ascontiguousarray(augmented(problem), dtype=float)
        self.D = self.Xt.shape[1]
        self.y = np.ascontiguousarray(problem.y, float)
        # |z_ij| <= U_i on the box
        self.U = self.B * np.abs(self.Xt).sum(axis=1)
        # ‖θ‖² <= R2 on the box; regularised coordinates E: θ, not c
        self.R2 = h * self.D * self.B**2
        self.E = np.r_[np.ones(h * self.D), 0.0]
        self.tables = PatternTables.of(h)
        self.cases = [SignCase.of(p, self.Xt, self.tables) for p in range(h + 1)]
        self.full_mask = (1 << (1 << h)) - 1
        self.strong_units = strong_units(problem.n)
        # Open nodes keep their masks as bytes, one or two a sample (2^h <= 16 patterns):
        # long searches hold millions of them.
        self.mask_dtype = np.dtype(np.uint8 if h <= 3 else np.uint16)
        self.heap: list[tuple[float, int, int, bytes, np.ndarray | None]] = []
        self.counter = itertools.count()
        self.leaf_floor = np.inf  # least value of a closed leaf
        self.nodes = 0
        self.case_nodes = [0] * len(self.cases)
        self.leaves = 0
        self.leaf_qps = 0
        self.fixings = 0
        self.strong_branchings = 0

    def threshold(self) -> float:
        return below_cutoff(self.incumbent.loss, self.options)

    def bound(self) -> float:
        """Proven lower bound on the optimum of the class in the box."""
        best_open = self.heap[0][0] if self.heap else np.inf
        return max(0.0, min(self.threshold(), best_open, self.leaf_floor))

    def solve_leaf(
        self, case: SignCase, bound: float, beta: np.ndarray, fixed: np.ndarray, pidx: np.ndarray
    ) -> None:
        """Close a node whose every sample is fixed (its value is its pattern's QP)."""
        self.leaves += 1
        network = two_layer_from_beta(beta, case.v, self.problem)
        loss = network.loss(self.problem.X, self.problem.y, "squared")
        self.incumbent.offer(network, loss)
        tolerance = self.incumbent.loss - self.threshold()
        if loss - bound <= 0.5 * tolerance:
            # the centre network attains the bound within the tolerance: nothing to gain
            self.leaf_floor = min(self.leaf_floor, bound)
            return
        # The pattern's least-squares fit without its sign rows and box bounds the leaf
        # (a relaxation, solved accurately); when it satisfies them it is the leaf's
        # optimum, exact where the QP solver's tolerances are not (a fit of loss ~0).
        phi = case.phi[fixed, pidx]
        fit_beta = np.linalg.lstsq(phi, self.y[fixed], rcond=None)[0]
        relaxed = float(np.sum((self.y[fixed] - phi @ fit_beta) ** 2))
        theta = fit_beta[:-1].reshape(self.h, self.D)
        z = self.Xt[fixed] @ theta.T
        on = self.tables.patterns[pidx]
        if np.all(np.abs(theta) <= self.B) and np.all(np.where(on, z >= 0, z <= 0)):
            exact = two_layer_from_beta(fit_beta, case.v, self.problem)
            self.incumbent.offer(exact)
            self.leaf_floor = min(self.leaf_floor, max(bound, relaxed))
            return
        self.leaf_qps += 1
        pattern = np.zeros((self.problem.n, self.h), bool)
        pattern[fixed] = on
        try:
            fit = fit_fixed_pattern(self.problem, pattern, case.v)
        except SolverError:
            # unresolved: only the node's bound is proven for it
            self.leaf_floor = min(self.leaf_floor, bound)
            return
        self.incumbent.offer(fit.network, fit.loss)
        self.leaf_floor = min(self.leaf_floor, fit.loss)

    def run(self, deadline: Deadline, report) -> StageEnd:
        """Explore until the tree is empty (``FINISHED``) or time/Ctrl-C stops it."""
        t, k = self.tables, self.kernels
        for index in range(len(self.cases)):
            self.push(0.0, index, np.full(self.problem.n, self.full_mask, np.int64), None)
        empty_hint = np.zeros(0, np.int64)
        rel_gap, abs_gap = float(self.options.rel_gap), float(self.options.abs_gap)
        while self.heap:
            if self.nodes % CHECK_EVERY == 0:
                if self.incumbent.interrupted:
                    return StageEnd.INTERRUPTED
                if deadline.expired():
                    return StageEnd.TIME_LIMIT
                report(self)
            bound, _, index, packed, hint = heapq.heappop(self.heap)
            if bound > self.threshold():
                continue
            case = self.cases[index]
            self.nodes += 1
            self.case_nodes[index] += 1
            mixed = 0 < case.positive < self.h
            # one +1 and one -1 unit: the sample-wide split fixes both units where one
            # decides; the single-unit split chosen by strong branching makes far
            # smaller trees (docs/algorithms.md)
            units = mixed and self.h == 2
            (state, bound, beta, active_rows, has_rows, fixed, pidx, n_open, fixings,
             centre_rss, theta, c, child_masks, child_bounds, strong) = k.node(
                self.Xt, self.y, self.U, case.phi, case.v, self.E, self.R2, self.B,
                t.count, t.single, t.on, t.off, t.open, t.on_pattern, t.allowed, t.patterns,
                t.unit_half, case.swaps, True, self.unpack(packed), float(bound),
                empty_hint if hint is None else hint, hint is not None,
                float(self.incumbent.loss), rel_gap, abs_gap, self.h, self.D, MAX_PASSES,
                DUAL_ROUNDS, EXTRA_ROWS, EXTRA_OPEN_ROWS,
                (self.strong_units if units else STRONG_CANDIDATES) if mixed else 0,
                STRONG_UNIT_ROUNDS if units else STRONG_ROUNDS, units,
            )  # fmt: skip
            self.fixings += fixings
            if state == 0:  # pruned
                continue
            self.strong_branchings += int(strong)
            if centre_rss < self.incumbent.loss:
                self.incumbent.offer(two_layer_from_beta(np.r_[theta, c], case.v, self.problem))
            if n_open == 0:
                self.solve_leaf(case, bound, beta, fixed, pidx)
                continue
            # children start their dual from the rows active at this node
            child_hint = active_rows if (has_rows and fixed.size) else None
            for mask, child_bound in zip(child_masks, child_bounds, strict=True):
                self.push(float(child_bound), index, mask, child_hint)
            if self.nodes % LOG_EVERY == 0:
                self.incumbent.log(
                    f"bnb: {self.nodes} nodes, {len(self.heap)} open, bound {self.bound():.10g}, "
                    f"best loss {self.incumbent.loss:.10g}"
                )
        return StageEnd.FINISHED

    def push(self, bound: float, index: int, masks: np.ndarray, hint: np.ndarray | None) -> None:
        if bound <= self.threshold():
            packed = masks.astype(self.mask_dtype).tobytes()
            heapq.heappush(self.heap, (bound, next(self.counter), index, packed, hint))

    def unpack(self, packed: bytes) -> np.ndarray:
        return np.frombuffer(packed, self.mask_dtype).astype(np.int64)

    def details(self) -> dict:
        return {
            "nodes": self.nodes,
            "nodes_by_sign_case": {
                str(case.positive): count
                for case, count in zip(self.cases, self.case_nodes, strict=True)
            },
            "leaves": self.leaves,
            "leaf_qps": self.leaf_qps,
            "fixings": self.fixings,
            "strong_branchings": self.strong_branchings,
            "better_outside_box": False,
        }


# Seconds of loading after which the kernels are being compiled, not loaded from the cache:
# time to say why nothing happens.
COMPILE_NOTICE_SECONDS = 3.0


def load_kernels(say=None) -> None:
    """Compile the kernels (once after installing; cached on disk) or load them (about a
    second) by solving a tiny fixed problem, so that no solve's clock pays for it.

    ``say``: called with one line when loading takes more than ``COMPILE_NOTICE_SECONDS``.
    """
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 2))
    problem = Problem(X, rng.standard_normal(6), arch="two-layer", width=2, weight_bound=2.0)
    options = SolveOptions()
    notice = None
    if say is not None:
        notice = threading.Timer(
            COMPILE_NOTICE_SECONDS,
            say,
            ["compiling the two-layer branch and bound (once after installing, about 30 s)"],
        )
        notice.start()
    try:
        incumbent = Incumbent.start(problem, options)
        TwoLayerBranchAndBound(problem, options, incumbent).run(incumbent.deadline, lambda s: None)
    finally:
        if notice is not None:
            notice.cancel()


def solve_two_layer(problem: Problem, options: SolveOptions) -> Certificate:
    """Certify the optimum of a two-layer, squared-loss problem by branch and bound.

    See the module docstring for the bound, the propagation and why they are valid.

    Parameters
    ----------
    problem : Problem
        ``arch = "two-layer"``, ``loss = "squared"``, a fixed box.
    options : SolveOptions
        ``time_limit``, ``rel_gap``, ``abs_gap``, ``warm_start``, ``progress``, ``log``
        and ``seed`` (of the gradient-descent start) apply.

    Returns
    -------
    Certificate
        ``method = "bnb"``; when stopped early, the best network and the proven bound.
    """
    incumbent = Incumbent.start(problem, options)
    tree = TwoLayerBranchAndBound(problem, options, incumbent)
    with trap_interrupts(incumbent):
        heuristic_start(
            problem, options, incumbent, restarts=HEURISTIC_RESTARTS, seconds=HEURISTIC_SECONDS
        )
        end = explore(tree, incumbent)
        bound = tree.bound()
        incumbent.report(bound, "finished", force=True, only_if_started=True)
    return incumbent.certificate(bound, end.stop() or Stop.FINISHED, "bnb", tree.details())
