"""The tuning of method ``mip``, in one place (the measurements behind the defaults are in
docs/decisions.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MipSettings:
    """Tuning of :func:`~exactrelu.methods.mip.solve_mip`; the defaults are the measured choices.

    Attributes
    ----------
    max_stalled_rounds : int, default 5
        Outer-approximation rounds in a row that move neither bound before a case is
        given up on (numerical stalling; its remaining gap is reported honestly).
    restart_gain : float, default 0.01
        A running MILP is restarted when the incumbent beats its cutoff by this share and
        cannot be handed to it (a network of another sign case): a smaller tree pays for
        the restart...
    restart_window : float, default 120
        ...but only in the first seconds of a round: an older tree has too much work to
        lose; its cutoff improves at the next round instead.
    warmup_seconds : float, default 1
        The first visit to each sign case of a two-layer network: a good incumbent found
        early prunes the other cases' trees.
    convexity_bound : bool, default True
        Close a two-layer sign case whose output weights all agree when the best convex
        (concave) fit of the data loses more than the incumbent (no MILP for it).
    shape_margin : float, default 1e-6
        Relative safety margin below a convex-regression bound (HiGHS solves its LP to
        its own tolerances).
    presolve_good_fit : float, default 0.75
        One-node squared loss: the activation branch and bound runs first. Its propagation
        is strong when the incumbent explains at least this share of ``Σ y²`` (then it
        usually settles the instance alone, far faster than the MILP), weak otherwise...
    presolve_seconds_good_fit, presolve_share_good_fit : float, default 120 and 0.5
        ...so it gets this many seconds (at most this share of the time limit) then...
    presolve_seconds, presolve_share : float, default 3 and 0.1
        ...and this otherwise.
    enumeration_presolve_combinations : int, default 2,000,000
        Two-layer with one feature: each unit has only about ``2n`` activation patterns,
        so enumerating pattern tuples (method ``enumerate``) replaces the MILPs when there
        are at most this many (sign count, pattern tuple) pairs.
    residual_segment_steps : int, default 20
        Two-layer squared loss: each residual's square is also modelled piecewise
        linearly on ``2 × steps`` segments across ±√(incumbent's loss), so that the
        relaxations cannot hide loss between scattered tangents...
    residual_segment_min_features : int, default 3
        ...with at least this many features (with fewer the extra columns cost more
        than they save).
    long_start_after : float, default 30
        A two-layer solve still running after this many seconds pauses once for a longer
        heuristic start...
    long_heuristic_restarts : int, default 1000
    long_heuristic_seconds : float, default 15
        ...of this many gradient-descent restarts within this many seconds.
    """

    max_stalled_rounds: int = 5
    restart_gain: float = 1e-2
    restart_window: float = 120.0
    warmup_seconds: float = 1.0
    convexity_bound: bool = True
    shape_margin: float = 1e-6
    presolve_good_fit: float = 0.75
    presolve_seconds_good_fit: float = 120.0
    presolve_share_good_fit: float = 0.5
    presolve_seconds: float = 3.0
    presolve_share: float = 0.1
    enumeration_presolve_combinations: int = 2_000_000
    residual_segment_steps: int = 20
    residual_segment_min_features: int = 3
    long_start_after: float = 30.0
    long_heuristic_restarts: int = 1000
    long_heuristic_seconds: float = 15.0
