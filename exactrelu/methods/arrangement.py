"""Activation patterns of one hidden unit: the chambers of a hyperplane arrangement.

A hidden unit computes ``z_i = θ·x̃_i`` with ``θ = (w, b)`` and ``x̃_i = (x_i, 1)``
(``x̃_i = x_i`` without bias). In the space of ``θ`` every sample is a hyperplane
``{θ : θ·x̃_i = 0}`` through the origin, and the activation pattern of ``θ`` is its
sign vector with respect to these hyperplanes. The patterns that matter are those of
the *chambers* (the open full-dimensional cells): every ``θ`` lies in the closure of
a chamber, so the chamber's pattern, used with the closed constraints ``z_i >= 0`` /
``z_i <= 0`` of the fixed-pattern convex problem, admits ``θ``. Enumerating the
chamber patterns and solving one convex problem per pattern is therefore exact.

How the chambers are listed (``r`` = rank of the arrangement, after dropping the
directions of ``θ`` that no sample sees):

1. Parallel hyperplanes (duplicate samples, or ``x̃_j = c·x̃_i``) always take the same
   (``c > 0``) or opposite (``c < 0``) sign, so they are merged into *groups*.
2. Every chamber is a pointed cone and has an extreme ray ``u``, the intersection of
   ``r - 1`` independent hyperplanes. Fix ``r - 2`` of them (the *pivots*); their
   common null space is a plane in which the remaining hyperplanes are lines through
   the origin. Sweeping a direction once around that plane crosses each line twice
   (an *event*: the group enters or leaves the positive side), and between two
   events the signs of all non-pivot groups are constant: an *arc*. Each arc, with
   each of the ``2^(r-2)`` sign choices of the pivots, is a chamber, and every chamber
   whose extreme ray is in general position arises this way.
3. *Degenerate* rays, where more than ``r - 1`` hyperplanes meet (three collinear
   points in the plane), show up as two events at the same angle or as a group
   that lies in the span of the pivots. They are collected, deduplicated, and each
   contributes every sign vector that agrees with the ray off its zero set ``Z``
   and is *any* combination on ``Z`` (all ``2^|Z|`` when ``|Z|`` is small, otherwise
   the chambers of the smaller arrangement of ``Z``, computed recursively). This
   over-approximates, which is safe: every pattern gives a feasible convex problem
   (``θ = 0``) whose solution is a network of the class.

The number of arcs is ``C(m, r - 2) · 2(m - r + 2) · 2^(r-2)`` for ``m`` groups;
every chamber appears several times (once per extreme ray and pivot choice), so
counts of *distinct* patterns are kept separately. For ``m`` hyperplanes in general
position the number of chambers is ``2 Σ_{j<r} C(m-1, j)`` (Cover 1965), which is
also the largest possible number for any arrangement of that size and rank.

The sweep is vectorised over batches of pivot sets; consumers either materialise
sign vectors (:func:`group_chambers`, small problems) or accumulate sufficient
statistics along the sweep with prefix sums (exact enumeration of large one-node
problems, :mod:`exactrelu.methods.enumerate_one_node`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

# Tolerances on unit vectors (rows of ``H`` and ray directions have norm 1).
RANK_TOL = 1e-10  # relative singular value below which a direction counts as absent
INDEP_TOL = 1e-9  # smallest singular value of a pivot set that counts as independent
ZERO_TOL = 1e-9  # |h·u| at or below this: the ray u lies on hyperplane h
TIE_TOL = 1e-9  # events closer than this (radians) are one degenerate ray
FULL_SUBSETS_MAX = 10  # a degenerate ray with |Z| <= this gets all 2^|Z| sign choices


@dataclass
class Arrangement:
    """Central hyperplane arrangement of a set of sample rows, with parallel rows merged.

    Attributes
    ----------
    H : ndarray of shape (m, r)
        One unit normal per group of parallel rows, in the ``r`` essential coordinates.
    group : ndarray of int, shape (n_rows,)
        Group of each row; ``-1`` for rows that are zero (``z_i = 0`` for every ``θ``).
    orient : ndarray of int8, shape (n_rows,)
        ``+1`` when the row points like its group's normal, ``-1`` when opposite.
    basis : ndarray of shape (D, r)
        Orthonormal basis of the row space: ``H`` lives in ``θ``-coordinates ``basis @ φ``.
    """

    H: np.ndarray
    group: np.ndarray
    orient: np.ndarray
    basis: np.ndarray
    members: list[np.ndarray] = field(default_factory=list)

    @property
    def m(self) -> int:
        return self.H.shape[0]

    @property
    def rank(self) -> int:
        return self.H.shape[1]

    @classmethod
    def from_rows(cls, V: np.ndarray) -> Arrangement:
        """Build the arrangement of the hyperplanes ``{θ : θ·V_i = 0}``.

        Parameters
        ----------
        V : ndarray of shape (n_rows, D)
        """
        V = np.asarray(V, dtype=np.float64)
        n_rows, D = V.shape
        group = np.full(n_rows, -1, dtype=np.int64)
        orient = np.ones(n_rows, dtype=np.int8)
        if n_rows == 0 or not np.any(V):
            return cls(np.zeros((0, 0)), group, orient, np.zeros((D, 0)), [])
        _, S, Wt = np.linalg.svd(V, full_matrices=False)
        r = int(np.sum(S > RANK_TOL * S[0]))
        basis = Wt[:r].T  # (D, r)
        Xh = V @ basis
        norms = np.linalg.norm(Xh, axis=1)
        nonzero = norms > RANK_TOL * norms.max()
        U = np.zeros_like(Xh)
        U[nonzero] = Xh[nonzero] / norms[nonzero, None]
        # Canonical orientation: first clearly non-zero coordinate positive.
        lead = np.argmax(np.abs(U) > 1e-6, axis=1)
        sign = np.sign(U[np.arange(n_rows), lead])
        sign[~nonzero] = 1.0
        sign[sign == 0] = 1.0
        U = U * sign[:, None]
        orient = sign.astype(np.int8)
        idx = np.flatnonzero(nonzero)
        # Merge rows that are parallel to ~1e-11 (in practice: duplicate samples).
        keys = np.round(U[idx], 11)
        _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        inverse = np.asarray(inverse).reshape(-1)
        group[idx] = inverse
        H = U[idx[first]]
        members = [idx[inverse == g] for g in range(H.shape[0])]
        return cls(H, group, orient, basis, members)

    def expand(self, group_signs: np.ndarray) -> np.ndarray:
        """Row patterns from group sign vectors.

        Parameters
        ----------
        group_signs : ndarray of bool, shape (K, m)

        Returns
        -------
        ndarray of bool, shape (K, n_rows)
            Row ``i`` is active when its group is positive and it points like the
            group's normal, or the group is negative and it points the other way;
            zero rows are never active.
        """
        group_signs = np.atleast_2d(np.asarray(group_signs, bool))
        out = np.zeros((group_signs.shape[0], self.group.size), dtype=bool)
        ok = self.group >= 0
        gs = group_signs[:, self.group[ok]]
        out[:, ok] = np.where(self.orient[ok] > 0, gs, ~gs)
        return out

    def theoretical_count(self) -> int:
        """Chambers of ``m`` hyperplanes of rank ``r`` in general position (an upper bound)."""
        return general_position_count(self.m, self.rank)


def general_position_count(m: int, r: int) -> int:
    """``2 Σ_{j<r} C(m-1, j)``: chambers of ``m`` central hyperplanes in general position in ℝ^r.

    Equals Cover's (1965) count of the dichotomies of ``m`` points in general position
    realisable by hyperplanes through the origin of ℝ^r (by affine hyperplanes in
    ℝ^(r-1) with the bias column). ``1`` for ``m = 0``.
    """
    if m == 0:
        return 1
    return 2 * sum(math.comb(m - 1, j) for j in range(min(r, m)))


@dataclass
class SweepBatch:
    """The sweeps of a batch of ``B`` pivot sets (see the module docstring).

    Events are sorted by angle, starting just after a direction inside the largest
    gap; invalid events (pivots, unusable rows) are padded at the end.

    Attributes
    ----------
    pivots : ndarray of int, shape (B, p)
    usable : ndarray of bool, shape (B,)
        Independent pivots and no group in their span: the arcs are chambers.
    order : ndarray of int, shape (B, 2m)
        Group index of each sorted event.
    direction : ndarray of int8, shape (B, 2m)
        ``+1`` (enters the positive side), ``-1`` (leaves) or ``0`` (padding).
    init : ndarray of bool, shape (B, m)
        Group signs before the first event (pivots False).
    pos_enter, pos_exit : ndarray of int, shape (B, m)
        Sorted position of each group's two events (``2m`` when it has none).
    rays : list of ndarray of shape (r,)
        Degenerate ray directions found in this batch.
    """

    pivots: np.ndarray
    usable: np.ndarray
    order: np.ndarray
    direction: np.ndarray
    init: np.ndarray
    pos_enter: np.ndarray
    pos_exit: np.ndarray
    rays: list[np.ndarray]

    @property
    def valid(self) -> np.ndarray:
        """``(B, 2m)`` mask of real events (one arc per real event)."""
        return self.direction != 0

    def states(self, b: int, ks: np.ndarray) -> np.ndarray:
        """Group signs on the arcs after sorted events ``ks`` of sweep ``b``, shape (len(ks), m)."""
        ks = np.asarray(ks)[:, None]
        flips = (self.pos_enter[b][None, :] <= ks) ^ (self.pos_exit[b][None, :] <= ks)
        return self.init[b][None, :] ^ flips


def pivot_sets(m: int, p: int) -> Iterator[tuple[int, ...]]:
    """All ``p``-subsets of ``range(m)`` in lexicographic order."""
    return itertools.combinations(range(m), p)


def sweep_batch(H: np.ndarray, pivots: np.ndarray) -> SweepBatch:
    """Sweep the plane left free by each pivot set of a batch (vectorised over the batch).

    Parameters
    ----------
    H : ndarray of shape (m, r), r >= 2
        Unit group normals.
    pivots : ndarray of int, shape (B, r - 2)
    """
    r = H.shape[1]
    pivots = np.asarray(pivots, dtype=np.int64)
    if pivots.ndim != 2 or pivots.shape[1] != r - 2:
        raise ValueError(f"pivots must have shape (B, {r - 2}), got {pivots.shape}")
    B, p = pivots.shape
    if p == 0:
        Q = np.broadcast_to(np.eye(2), (B, 2, 2))
        indep = np.ones(B, bool)
    else:
        _, S, Vt = np.linalg.svd(H[pivots], full_matrices=True)  # (B, p, r) -> Vt (B, r, r)
        indep = S[:, -1] > INDEP_TOL
        Q = np.swapaxes(Vt[:, p:, :], 1, 2)  # (B, r, 2): basis of the pivots' null space
    with np.errstate(invalid="ignore"):  # padding events sit at +inf
        return _sweep(H, pivots, Q, indep)


def _sweep(H: np.ndarray, pivots: np.ndarray, Q: np.ndarray, indep: np.ndarray) -> SweepBatch:
    m, _ = H.shape
    B, p = pivots.shape
    rho = np.einsum("gr,brk->bgk", H, Q)  # (B, m, 2): each group's line in that plane
    rnorm = np.hypot(rho[..., 0], rho[..., 1])
    is_pivot = np.zeros((B, m), dtype=bool)
    if p:
        np.put_along_axis(is_pivot, pivots, True, axis=1)
    in_span = (rnorm <= ZERO_TOL) & ~is_pivot
    spanning = in_span.any(axis=1)
    live = ~is_pivot & ~in_span
    beta = np.arctan2(rho[..., 1], rho[..., 0])
    two_pi = 2.0 * np.pi
    # Group g is positive for directions within ±π/2 of beta_g: it enters at
    # beta - π/2 and leaves at beta + π/2.
    angles = np.concatenate([np.mod(beta - np.pi / 2, two_pi), np.mod(beta + np.pi / 2, two_pi)], 1)
    valid = np.concatenate([live, live], axis=1)
    angles = np.where(valid, angles, np.inf)
    srt = np.sort(angles, axis=1)
    n_valid = valid.sum(axis=1)
    # Start inside the largest circular gap, far from every event, so the initial
    # signs are read off robustly.
    L = 2 * m
    col = np.arange(L)
    nxt = np.where(col[None, 1:] < n_valid[:, None], srt[:, 1:], np.inf)
    gaps = np.where(np.isfinite(nxt), nxt - srt[:, :-1], -np.inf)
    last = np.take_along_axis(srt, np.maximum(n_valid - 1, 0)[:, None], axis=1)[:, 0]
    wrap_gap = srt[:, 0] + two_pi - last
    if L > 1:
        best = np.argmax(gaps, axis=1)
        best_gap = gaps[np.arange(B), best]
    else:
        best = np.zeros(B, dtype=np.int64)
        best_gap = np.full(B, -np.inf)
    use_wrap = wrap_gap >= best_gap
    start = np.where(
        use_wrap,
        last + wrap_gap / 2,
        srt[np.arange(B), best] + np.where(np.isfinite(best_gap), best_gap, 0) / 2,
    )
    start = np.where(n_valid > 0, start, 0.0)
    shifted = np.where(valid, np.mod(angles - start[:, None], two_pi), np.inf)
    order_ev = np.argsort(shifted, axis=1, kind="stable")
    sh_sorted = np.take_along_axis(shifted, order_ev, axis=1)
    direction = np.where(order_ev < m, 1, -1).astype(np.int8)
    valid_sorted = np.isfinite(sh_sorted)
    direction[~valid_sorted] = 0
    order = np.mod(order_ev, m)
    phi = np.stack([np.cos(start), np.sin(start)], axis=1)  # (B, 2)
    init = (np.einsum("bgk,bk->bg", rho, phi) > 0) & live
    inv = np.empty_like(order_ev)
    np.put_along_axis(inv, order_ev, np.broadcast_to(col, (B, L)), axis=1)
    pos_enter = np.where(live, inv[:, :m], L)
    pos_exit = np.where(live, inv[:, m:], L)
    # Degenerate rays: ties between consecutive events, and every event of a sweep
    # whose pivots span another group (all its rays lie on more than r - 1 hyperplanes).
    rays: list[np.ndarray] = []
    tie = np.zeros((B, L), dtype=bool)
    if L > 1:
        tie[:, :-1] = valid_sorted[:, 1:] & (
            np.diff(np.where(valid_sorted, sh_sorted, 0), axis=1) <= TIE_TOL
        )
    tie |= spanning[:, None] & valid_sorted
    tie &= indep[:, None]
    if tie.any():
        bs, ks = np.nonzero(tie)
        ang = sh_sorted[bs, ks] + start[bs]
        u = np.einsum("nrk,nk->nr", Q[bs], np.stack([np.cos(ang), np.sin(ang)], axis=1))
        rays = list(u)
    usable = indep & ~spanning
    return SweepBatch(pivots, usable, order, direction, init, pos_enter, pos_exit, rays)


def iter_sweeps(H: np.ndarray, batch_events: int = 1 << 16) -> Iterator[SweepBatch]:
    """Sweep every pivot set of ``H`` (rank ``r >= 2``), ``batch_events`` events per batch."""
    m, r = H.shape
    p = r - 2
    B = max(1, batch_events // max(1, 2 * m))
    it = pivot_sets(m, p)
    while True:
        chunk = list(itertools.islice(it, B))
        if not chunk:
            return
        yield sweep_batch(H, np.array(chunk, dtype=np.int64).reshape(len(chunk), p))


def pivot_choice_bits(p: int) -> np.ndarray:
    """``(2^p, p)`` bool: every sign choice for ``p`` pivots."""
    if p == 0:
        return np.zeros((1, 0), dtype=bool)
    return ((np.arange(1 << p)[:, None] >> np.arange(p)[None, :]) & 1).astype(bool)


class RayCollector:
    """Degenerate rays, deduplicated by their sign vector (zeros included)."""

    def __init__(self, H: np.ndarray) -> None:
        self.H = H
        self.seen: dict[bytes, np.ndarray] = {}

    def add(self, rays: list[np.ndarray]) -> None:
        if not rays:
            return
        U = np.asarray(rays)
        S = self.H @ U.T  # (m, R)
        sgn = np.where(np.abs(S) <= ZERO_TOL * 10, 0, np.sign(S)).astype(np.int8).T
        for s in sgn:
            key = s.tobytes()
            if key not in self.seen:
                self.seen[key] = s

    def __len__(self) -> int:
        return len(self.seen)

    def patterns(self) -> Iterator[np.ndarray]:
        """Group sign vectors around each degenerate ray, one ``(K, m)`` bool block per ray."""
        for s in self.seen.values():
            zero = np.flatnonzero(s == 0)
            base = s > 0
            if zero.size <= FULL_SUBSETS_MAX:
                local = pivot_choice_bits(zero.size)
            else:
                local = sign_vectors(self.H[zero])
            block = np.repeat(base[None, :], local.shape[0], axis=0)
            block[:, zero] = local
            yield block


def group_chambers(H: np.ndarray) -> tuple[np.ndarray, int]:
    """Sign vectors of all chambers of the arrangement with unit normals ``H`` (m, r).

    Returns
    -------
    signs : ndarray of bool, shape (K, m)
        Distinct group sign vectors, a superset of the chamber patterns (equal to
        them when the rows are in general position).
    examined : int
        Patterns generated before deduplication.
    """
    m, r = H.shape
    if m == 0:
        return np.zeros((1, 0), dtype=bool), 1
    if r == 1:
        return np.array([[True] * m, [False] * m]), 2
    p = r - 2
    bits = pivot_choice_bits(p)
    blocks = []
    rays = RayCollector(H)
    for sw in iter_sweeps(H):
        rays.add(sw.rays)
        for b in np.flatnonzero(sw.usable):
            ks = np.flatnonzero(sw.valid[b])
            st = sw.states(b, ks)  # (k, m)
            full = np.repeat(st, bits.shape[0], axis=0)
            full[:, sw.pivots[b]] = np.tile(bits, (st.shape[0], 1))
            blocks.append(full)
    blocks.extend(rays.patterns())
    allp = np.concatenate(blocks, axis=0) if blocks else np.zeros((0, m), bool)
    return np.unique(allp, axis=0), allp.shape[0]


def sign_vectors(V: np.ndarray) -> np.ndarray:
    """Distinct activation patterns (chamber sign vectors) of the rows of ``V`` (n_rows, D).

    A superset of the patterns ``θ·V_i > 0`` over open chambers; zero rows are
    inactive. Exhaustive: every ``θ`` satisfies the closed constraints of one of them.

    Returns
    -------
    ndarray of bool, shape (K, n_rows)
    """
    arr = Arrangement.from_rows(V)
    signs, _ = group_chambers(arr.H)
    return np.unique(arr.expand(signs), axis=0)
