"""Exact two-layer training by enumerating activation patterns (method ``enumerate``).

Arora, Basu, Mianjy and Mukherjee (ICLR 2018): for each count ``p`` of ``+1`` output
signs and each choice of one chamber pattern per hidden unit (units of equal sign
are exchangeable, so multisets), solve the convex problem with the patterns and
signs fixed. Squared and absolute loss prune with the unconstrained least-squares
fit of the chosen patterns (independent of the signs). The number of pattern
tuples grows like ``n^(d·width)``; past ``max_combinations`` the method refuses.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from exactrelu.convex.gram import augmented, two_layer_from_beta
from exactrelu.errors import InvalidInputError
from exactrelu.methods.arrangement import Arrangement, group_chambers
from exactrelu.methods.search import Incumbent, PatternSearch
from exactrelu.network.losses import best_constant
from exactrelu.network.networks import TwoLayerNetwork, check_in_class
from exactrelu.options import Deadline, SolveOptions
from exactrelu.problem import Problem

DEFAULT_MAX_COMBINATIONS = 20_000
"""Most (output-sign count, pattern tuple) pairs the method accepts."""


def two_layer_combinations(patterns_per_unit: int, width: int) -> int:
    """(sign count, pattern multiset per sign) pairs the two-layer enumeration examines."""
    K, h = patterns_per_unit, width
    return sum(math.comb(K + p - 1, p) * math.comb(K + h - p - 1, h - p) for p in range(h + 1))


class TwoLayerEnumeration(PatternSearch):
    """The two-layer search of :func:`solve_enumerate` (also the MIP's presolve for d = 1).

    ``on_progress`` is called with the search whenever the deadline is checked (every
    256 pattern multisets and before each convex solve); the MIP uses it for its
    progress line. ``deadline`` may be any object with ``expired()``; ``incumbent`` may
    be shared with an enclosing search.
    """

    def __init__(
        self,
        problem: Problem,
        options: SolveOptions,
        deadline: Deadline,
        max_combinations: float,
        on_progress: Callable[[TwoLayerEnumeration], None] | None = None,
        incumbent: Incumbent | None = None,
    ) -> None:
        super().__init__(problem, options, deadline, incumbent)
        self.on_progress = on_progress
        self.Xt = augmented(problem)
        arr = Arrangement.from_rows(self.Xt)
        signs, self.examined = group_chambers(arr.H)
        self.patterns = np.unique(arr.expand(signs), axis=0)  # (K, n)
        self.arr = arr
        K, h = self.patterns.shape[0], problem.width
        self.n_combinations = two_layer_combinations(K, h)
        if self.n_combinations > max_combinations:
            raise InvalidInputError(
                f"two-layer enumeration would examine {self.n_combinations} (sign count, "
                f"activation pattern) combinations ({K} patterns per unit, width {h}), more "
                f"than max_combinations={max_combinations:g}; use method 'mip', fewer samples, "
                "or raise the limit, an option of method enumerate in the Python API: "
                f"exactrelu.solve(problem, method='enumerate', "
                f"max_combinations={self.n_combinations})"
            )
        # the all-zero network with the best output bias c is also in the class
        c = best_constant(problem.y, problem.loss)
        self.offer(TwoLayerNetwork(np.zeros((h, problem.d)), np.zeros(h), np.ones(h), c))

    def run(self) -> None:
        problem, options = self.problem, self.options
        h = problem.width
        if options.warm_start is not None:
            self.offer(
                check_in_class(options.warm_start, "two-layer", problem.d, h, problem.box_radius)
            )
        K = self.patterns.shape[0]
        # Lower bound per multiset of patterns (independent of the output signs).
        multisets = list(itertools.combinations_with_replacement(range(K), h))
        lbs = {}
        sols = {}
        for t, ms in enumerate(multisets):
            if t % 256 == 0 and self._out_of_time():
                return
            lbs[ms], sols[ms] = self._ls_bound(ms)
        jobs = []
        for p in range(h + 1):
            for pos in itertools.combinations_with_replacement(range(K), p):
                for neg in itertools.combinations_with_replacement(range(K), h - p):
                    ms = tuple(sorted(pos + neg))
                    jobs.append((lbs[ms][0], lbs[ms][1], pos, neg, ms))
        jobs.sort(key=lambda t: t[0])
        for lb, margin, pos, neg, ms in jobs:
            if lb - margin >= self.best - self.tol():
                self.skipped_bound = min(self.skipped_bound, lb - margin)
                continue
            if self._out_of_time():
                return
            self._solve(pos, neg, lb - margin, sols[ms])

    def _out_of_time(self) -> bool:
        if self.on_progress is not None:
            self.on_progress(self)
        self.timed_out = self.deadline.expired()
        return self.timed_out

    def _ls_bound(self, ms: tuple[int, ...]) -> tuple[tuple[float, float], np.ndarray | None]:
        """Unconstrained least-squares fit of the patterns in ``ms`` (plus the output bias)."""
        y, loss = self.problem.y, self.problem.loss
        if loss == "hinge":
            return (0.0, 0.0), None
        cols = [self.patterns[j][:, None] * self.Xt for j in ms] + [np.ones((y.size, 1))]
        M = np.hstack(cols)
        beta, *_ = np.linalg.lstsq(M, y, rcond=None)
        res = float(np.sum((y - M @ beta) ** 2))
        margin = 1e-12 * max(float(np.sum(y**2)), 1.0)
        if loss == "squared":
            return (res, margin), beta
        return (math.sqrt(res), math.sqrt(margin)), beta

    def _solve(self, pos, neg, lb: float, beta: np.ndarray | None) -> None:
        problem = self.problem
        h, D = problem.width, self.Xt.shape[1]
        order = list(pos) + list(neg)
        signs = np.array([1.0] * len(pos) + [-1.0] * len(neg))
        pattern = self.patterns[order].T  # (n, h)
        if beta is not None and problem.loss == "squared":
            # the unconstrained fit, if it respects the signs, patterns and box, is optimal
            ms = sorted(order)
            unit_of = {}
            for slot, j in enumerate(ms):
                unit_of.setdefault(j, []).append(slot)
            thetas = np.empty((h, D))
            for u, j in enumerate(order):
                slot = unit_of[j].pop(0)
                thetas[u] = signs[u] * beta[slot * D : (slot + 1) * D]
            Z = self.Xt @ thetas.T
            feasible = np.all(np.where(pattern, Z >= -1e-12, Z <= 1e-12)) and np.all(
                np.abs(thetas) <= problem.box_radius * (1 + 1e-12)
            )
            if feasible:
                net = two_layer_from_beta(np.r_[thetas.ravel(), beta[-1]], signs, problem)
                value = self.offer(net)
                self.count("closed_form")
                if value - lb <= self.tol():
                    self.solved_bound = min(self.solved_bound, lb)
                    return
        self.fit_pattern(pattern, signs, None, lb)

    def details(self) -> dict[str, Any]:
        return {
            "dichotomies": int(self.examined),
            "distinct_dichotomies": int(self.patterns.shape[0]),
            "theoretical_dichotomies": self.arr.theoretical_count(),
            "combinations": int(self.n_combinations),
            "closed_form": self.counts.get("closed_form", 0),
            "convex_solves": self.counts.get("convex_solves", 0),
            "solver_failures": self.counts.get("solver_failures", 0),
            "rescued": self.counts.get("rescued", 0),
        }
