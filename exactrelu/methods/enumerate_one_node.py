"""Exact one-node training by enumerating activation patterns (method ``enumerate``).

The optimum's activation pattern is the sign vector of a chamber of the
arrangement of the samples' hyperplanes in weight space (see
:mod:`exactrelu.methods.arrangement`); there are ``O(n^d)`` of them with a bias
(``O(n^(d-1))`` without). For each, the convex problem with that pattern fixed
(:func:`~exactrelu.convex.fixed_pattern.fit_fixed_pattern`, box included) is solved
unless a lower bound shows that it cannot beat the incumbent:

* **squared loss** — every sample takes part in the patterns. A pattern with
  active set ``A`` costs at least ``Σ_i y_i² - h_Aᵀ G_A⁻¹ h_A`` (inactive samples pay
  ``y_i²``; the active ones at least their unconstrained least-squares residual),
  where ``G_A = Σ_A x̃x̃ᵀ`` and ``h_A = Σ_A x̃ y``. These sufficient statistics are
  accumulated with prefix sums along each angular sweep, so the bound of every
  pattern costs ``O(d³)`` and the ~``2n²`` patterns of ``d = 2`` take a few seconds.
  When the least-squares solution lies in the box and its true (ReLU) loss equals
  the bound, the pattern is solved in closed form; otherwise the exact residual
  is recomputed (``lstsq``) and, if it still does not prune, a HiGHS QP decides.
* **absolute and hinge loss** — samples whose loss never decreases with the
  activation (``y <= 0``; hinge ``y = -1``) are convex and left free, so only the
  other samples define the patterns. Bounds: absolute
  ``Σ_{inactive} |y_i| + Σ_{y<=0} |y_i| + sqrt(least-squares residual of A)`` (since
  ``‖r‖₁ >= ‖r‖₂``), hinge ``#inactive + #{y = -1}``. Surviving patterns are LPs.

Patterns are processed per batch in increasing order of their bound, after an
initial incumbent (the warm start, the zero network and the ``approx`` method with
``k = 1``); a pattern whose bound minus a floating-point safety margin reaches the
incumbent minus half the optimality tolerance is skipped. The certificate's bound
is the least of the incumbent, the skipped patterns' bounds and the values of the
solved patterns. Distinct patterns are counted with an additive 64-bit hash.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from exactrelu.convex.gram import augmented, one_node_from_theta
from exactrelu.methods.approx import approx_one_node
from exactrelu.methods.arrangement import (
    Arrangement,
    RayCollector,
    group_chambers,
    iter_sweeps,
    pivot_choice_bits,
)
from exactrelu.methods.search import PatternSearch
from exactrelu.network.losses import loss_monotone_in_activation, per_sample_loss
from exactrelu.network.networks import check_in_class
from exactrelu.options import Deadline, SolveOptions
from exactrelu.problem import Problem

_EPS = np.finfo(float).eps
_HASH_SEED = 0x5EED
_MAX_HASHES = 50_000_000  # beyond this many patterns, distinct ones are not counted
_WORK_BUDGET = 1 << 22  # doubles per batch of pattern statistics (~32 MB)


def _batched_cholesky(G: np.ndarray, h: np.ndarray):
    """Solve ``G θ = h`` for a stack of small SPD matrices.

    Parameters
    ----------
    G : ndarray of shape (K, D, D)
    h : ndarray of shape (K, D)

    Returns
    -------
    explained : ndarray (K,)
        ``hᵀ G⁻¹ h`` (0 where not ``ok``).
    theta : ndarray (K, D)
    ok : ndarray of bool (K,)
        False where a pivot fell below ``1e-10`` of its diagonal (singular or nearly).
    cond : ndarray (K,)
        Largest diagonal over smallest pivot, a cheap condition estimate.
    """
    K, D, _ = G.shape
    Lc = np.zeros_like(G)
    ok = np.ones(K, dtype=bool)
    diag = np.einsum("kii->ki", G)
    min_piv = np.full(K, np.inf)
    for j in range(D):
        s = G[:, j, j] - np.einsum("kp,kp->k", Lc[:, j, :j], Lc[:, j, :j])
        ok &= s > 1e-10 * np.maximum(diag[:, j], 1e-300)
        s = np.where(ok, s, 1.0)
        min_piv = np.minimum(min_piv, s)
        ljj = np.sqrt(s)
        Lc[:, j, j] = ljj
        if j + 1 < D:
            Lc[:, j + 1 :, j] = (
                G[:, j + 1 :, j] - np.einsum("kip,kp->ki", Lc[:, j + 1 :, :j], Lc[:, j, :j])
            ) / ljj[:, None]
    u = np.zeros_like(h)
    for j in range(D):
        u[:, j] = (h[:, j] - np.einsum("kp,kp->k", Lc[:, j, :j], u[:, :j])) / Lc[:, j, j]
    theta = np.zeros_like(h)
    for j in range(D - 1, -1, -1):
        rest = np.einsum("kp,kp->k", Lc[:, j + 1 :, j], theta[:, j + 1 :])
        theta[:, j] = (u[:, j] - rest) / Lc[:, j, j]
    explained = np.where(ok, np.einsum("kj,kj->k", u, u), 0.0)
    cond = diag.max(axis=1) / np.maximum(min_piv, 1e-300)
    return explained, theta, ok, cond


# ---------------------------------------------------------------------------
# one-node


class OneNodeEnumeration(PatternSearch):
    """The one-node search of method ``enumerate`` (module docstring)."""

    def __init__(self, problem: Problem, options: SolveOptions, deadline: Deadline) -> None:
        super().__init__(problem, options, deadline)
        self.Xt = augmented(problem)
        self.D = self.Xt.shape[1]
        y = problem.y
        self.y = y
        self.loss = problem.loss
        self.monotone = loss_monotone_in_activation(y, problem.loss)
        # Squared loss: every sample defines the patterns (tight bounds, closed forms);
        # absolute and hinge: only the samples whose loss is not monotone.
        self.rows = (
            np.arange(problem.n) if self.loss == "squared" else np.flatnonzero(~self.monotone)
        )
        self.arr = Arrangement.from_rows(self.Xt[self.rows])
        self._stats_setup()
        self.hashes: list[np.ndarray] = []
        self.n_hashes = 0
        self.solved: dict[int, set[bytes]] = {}

    # -- statistics -------------------------------------------------------
    def _stats_setup(self) -> None:
        D, Xt, y = self.D, self.Xt[self.rows], self.y[self.rows]
        iu = np.triu_indices(D)
        self.iu = iu
        q = iu[0].size
        if self.loss == "hinge":
            F = np.ones((self.rows.size, 1))
        else:
            outer = (Xt[:, :, None] * Xt[:, None, :])[:, iu[0], iu[1]]
            cols = [outer, Xt * y[:, None], (y**2)[:, None]]
            if self.loss == "absolute":
                cols.append(y[:, None])
            F = np.column_stack(cols)
        self.q = q
        m = self.arr.m
        grp, ori = self.arr.group[: self.rows.size], self.arr.orient[: self.rows.size]
        plus = np.zeros((m, F.shape[1]))
        minus = np.zeros((m, F.shape[1]))
        ok = grp >= 0
        np.add.at(plus, grp[ok & (ori > 0)], F[ok & (ori > 0)])
        np.add.at(minus, grp[ok & (ori < 0)], F[ok & (ori < 0)])
        # pattern stats = base + Σ_{positive groups} delta
        self.delta = plus - minus
        self.base = minus.sum(axis=0)
        self.F_abs_total = np.abs(F).sum(axis=0).max() if F.size else 0.0
        yall = self.problem.y
        if self.loss == "squared":
            self.total = float(np.sum(yall**2))
        elif self.loss == "absolute":
            pos = ~self.monotone
            self.total = float(np.sum(yall[pos]) + np.sum(np.abs(yall[~pos])))
        else:
            self.total = float(np.sum(~self.monotone) + np.sum(self.monotone))
        rng = np.random.default_rng(_HASH_SEED)
        self.keys = rng.integers(0, np.iinfo(np.uint64).max, size=m, dtype=np.uint64, endpoint=True)

    def _bounds(self, S: np.ndarray):
        """Lower bounds for patterns with statistics ``S`` (K, F).

        Returns ``(lb, margin, theta, theta_ok)``; ``theta`` is the unconstrained
        least-squares weight vector of the active set (squared and absolute loss).
        """
        K = S.shape[0]
        if self.loss == "hinge":
            lb = self.total - S[:, 0]
            return lb, np.full(K, 1e-9), None, np.zeros(K, bool)
        D, q, iu = self.D, self.q, self.iu
        G = np.empty((K, D, D))
        G[:, iu[0], iu[1]] = S[:, :q]
        G[:, iu[1], iu[0]] = S[:, :q]
        h = S[:, q : q + D]
        s2 = S[:, q + D]
        explained, theta, ok, cond = _batched_cholesky(G, h)
        residual = np.maximum(s2 - explained, 0.0)
        # Floating-point safety margin: cancellation in s2 - explained and the
        # rounding of the prefix sums, scaled by the condition estimate.
        scale = max(self.F_abs_total, 1.0)
        rounding = (1e-12 + 1e3 * D * _EPS * np.where(ok, cond, 1.0)) * scale
        if self.loss == "squared":
            lb = self.total - s2 + np.where(ok, residual, 0.0)
            margin = rounding
        else:
            lb = self.total - S[:, q + D + 1] + np.where(ok, np.sqrt(residual), 0.0)
            margin = np.where(ok, np.sqrt(rounding), 0.0) + 1e-12 * scale
        return lb, margin, theta, ok

    # -- main loop ----------------------------------------------------------
    def run(self, initial_approx: bool) -> None:
        problem, options = self.problem, self.options
        if options.warm_start is not None:
            self.offer(
                check_in_class(options.warm_start, "one-node", problem.d, 1, problem.box_radius)
            )
        if initial_approx:
            net, _ = approx_one_node(
                problem, k=1, polish=5, deadline=self.deadline, highs=self.highs
            )
            self.offer(net)
        arr = self.arr
        if arr.rank < 2:
            signs, _ = group_chambers(arr.H)
            self._process_explicit(signs)
            self.count("pivot_sets", 0)
            return
        p = arr.rank - 2
        bits = pivot_choice_bits(p)
        C = bits.shape[0]
        nF = self.delta.shape[1]
        batch_events = max(2 * arr.m, _WORK_BUDGET // (C * (nF + self.D * self.D)))
        rays = RayCollector(arr.H)
        for sw in iter_sweeps(arr.H, batch_events=batch_events):
            if self.deadline.expired():
                self.timed_out = True
                return
            self.count("pivot_sets", sw.pivots.shape[0])
            rays.add(sw.rays)
            self._process_sweep(sw, bits)
        self.count("degenerate_rays", len(rays))
        for block in rays.patterns():
            if self.deadline.expired():
                self.timed_out = True
                return
            self._process_explicit(block)

    def _process_sweep(self, sw, bits: np.ndarray) -> None:
        delta, keys = self.delta, self.keys
        live = sw.usable[:, None] & sw.valid  # (B, L)
        if not live.any():
            return
        dirn = sw.direction.astype(float)
        ev = dirn[..., None] * delta[sw.order]  # (B, L, F)
        init = self.base + sw.init.astype(float) @ delta  # (B, F)
        states = init[:, None, :] + np.cumsum(ev, axis=1)
        piv = np.einsum("cp,bpf->bcf", bits.astype(float), delta[sw.pivots])  # (B, C, F)
        bs, ks = np.nonzero(live)
        C = bits.shape[0]
        S = (states[bs, ks][:, None, :] + piv[bs]).reshape(-1, delta.shape[1])
        # additive hash of the positive groups (uint64 wrap-around arithmetic)
        k_ev = keys[sw.order]
        ev_h = np.where(sw.direction > 0, k_ev, np.where(sw.direction < 0, -k_ev, 0)).astype(
            np.uint64
        )
        h_init = (sw.init.astype(np.uint64) * keys[None, :]).sum(axis=1, dtype=np.uint64)
        h_states = h_init[:, None] + np.cumsum(ev_h, axis=1, dtype=np.uint64)
        h_piv = (bits.astype(np.uint64)[None, :, :] * keys[sw.pivots][:, None, :]).sum(
            axis=2, dtype=np.uint64
        )
        H = (h_states[bs, ks][:, None] + h_piv[bs]).reshape(-1)
        self._record_hashes(H)
        cb = np.tile(np.arange(C), bs.size)
        bb = np.repeat(bs, C)
        kk = np.repeat(ks, C)

        def materialise(idx: np.ndarray) -> np.ndarray:
            out = np.empty((idx.size, self.arr.m), dtype=bool)
            for t, j in enumerate(idx):
                st = sw.states(bb[j], np.array([kk[j]]))[0]
                st[sw.pivots[bb[j]]] = bits[cb[j]]
                out[t] = st
            return out

        self._process_stats(S, materialise, H)

    def _process_explicit(self, signs: np.ndarray) -> None:
        signs = np.atleast_2d(signs)
        S = self.base + signs.astype(float) @ self.delta
        H = (signs.astype(np.uint64) * self.keys[None, :]).sum(axis=1, dtype=np.uint64)
        self._record_hashes(H)
        self._process_stats(S, lambda idx: signs[idx], H)

    def _record_hashes(self, H: np.ndarray) -> None:
        self.count("dichotomies", H.size)
        self.n_hashes += H.size
        if self.n_hashes <= _MAX_HASHES:
            self.hashes.append(H)

    def _process_stats(self, S: np.ndarray, materialise, H: np.ndarray) -> None:
        lb, margin, theta, ok = self._bounds(S)
        cand = np.flatnonzero(lb - margin < self.best - self.tol())
        not_cand = np.ones(lb.size, dtype=bool)
        not_cand[cand] = False
        if not_cand.any():
            self.skipped_bound = min(self.skipped_bound, float(np.min((lb - margin)[not_cand])))
        if cand.size == 0:
            return
        cand = cand[np.argsort(lb[cand], kind="stable")]
        resolved = np.zeros(cand.size, dtype=bool)
        if theta is not None and self.loss == "squared":
            resolved = self._closed_form(cand, lb, margin, theta, ok)
        todo = cand[~resolved]
        for j in todo:
            if lb[j] - margin[j] >= self.best - self.tol():
                self.skipped_bound = min(self.skipped_bound, float(lb[j] - margin[j]))
                continue
            if self.deadline.expired():
                self.timed_out = True
                return
            signs = materialise(np.array([j]))[0]
            # the same chamber is met once per extreme ray and pivot: solve it once
            packed = np.packbits(signs).tobytes()
            if packed in self.solved.get(int(H[j]), ()):
                continue
            self.solved.setdefault(int(H[j]), set()).add(packed)
            self._solve_pattern(signs, float(lb[j] - margin[j]))

    def _closed_form(self, cand, lb, margin, theta, ok) -> np.ndarray:
        """Least-squares networks of candidate patterns: returns which ones are solved."""
        B = self.problem.box_radius
        resolved = np.zeros(cand.size, dtype=bool)
        in_box = ok[cand] & np.all(np.abs(theta[cand]) <= B * (1 + 1e-12), axis=1)
        idx = np.flatnonzero(in_box)
        y = self.problem.y
        for start in range(0, idx.size, 2048):
            part = idx[start : start + 2048]
            Z = self.Xt @ theta[cand[part]].T  # (n, c)
            L = per_sample_loss(y[:, None], np.maximum(Z, 0.0), self.loss).sum(axis=0)
            self.count("closed_form_checks", part.size)
            jbest = int(np.argmin(L))
            if L[jbest] < self.best:
                self.offer(one_node_from_theta(theta[cand[part[jbest]]], self.problem))
            # the pattern's minimum lies in [lb - margin, L]: solved when that is tight
            gap_ok = L - (lb[cand[part]] - margin[cand[part]]) <= self.tol()
            resolved[part[gap_ok]] = True
            if gap_ok.any():
                self.solved_bound = min(
                    self.solved_bound, float(np.min((lb - margin)[cand[part[gap_ok]]]))
                )
                self.count("closed_form", int(gap_ok.sum()))
        return resolved

    def _solve_pattern(self, signs: np.ndarray, lb: float) -> None:
        problem = self.problem
        y = problem.y
        active = np.zeros(problem.n, dtype=bool)
        active[self.rows] = self.arr.expand(signs[None, :])[0]
        if self.loss == "squared":
            # exact residual of the active set (the prefix-sum bound may be loose)
            Xa = self.Xt[active]
            if active.any():
                th, *_ = np.linalg.lstsq(Xa, y[active], rcond=None)
                res = float(np.sum((y[active] - Xa @ th) ** 2))
            else:
                th, res = np.zeros(self.D), 0.0
            exact = float(np.sum(y[~active] ** 2)) + res
            exact_lb = exact - 1e-12 * max(self.total, 1.0)
            self.count("exact_bounds")
            if np.all(np.abs(th) <= problem.box_radius * (1 + 1e-12)):
                value = self.offer(one_node_from_theta(th, problem))
                if value - exact_lb <= self.tol():
                    self.solved_bound = min(self.solved_bound, exact_lb)
                    return
            if exact_lb >= self.best - self.tol():
                self.skipped_bound = min(self.skipped_bound, exact_lb)
                return
            lb = max(lb, exact_lb)
        self.fit_pattern(active[:, None], None, self.monotone, lb)

    def details(self) -> dict[str, Any]:
        distinct = None
        if self.n_hashes <= _MAX_HASHES and self.hashes:
            allh = np.sort(np.concatenate(self.hashes))
            distinct = int(1 + np.count_nonzero(allh[1:] != allh[:-1]))
        c = self.counts
        return {
            "dichotomies": c.get("dichotomies", 0),
            "distinct_dichotomies": distinct,
            "theoretical_dichotomies": self.arr.theoretical_count(),
            "pattern_samples": int(self.rows.size),
            "hyperplane_groups": self.arr.m,
            "rank": self.arr.rank,
            "pivot_sets": c.get("pivot_sets", 0),
            "degenerate_rays": c.get("degenerate_rays", 0),
            "closed_form_checks": c.get("closed_form_checks", 0),
            "closed_form": c.get("closed_form", 0),
            "exact_bounds": c.get("exact_bounds", 0),
            "convex_solves": c.get("convex_solves", 0),
            "solver_failures": c.get("solver_failures", 0),
        }
