"""Helpers for tests/test_algorithms.py: instance makers and brute-force optima.

The brute force is independent of the enumeration code: it tries *every* activation
pattern (``2^n`` for one node, multisets of them per output sign for two layers) with
:func:`exactrelu.convex.fixed_pattern.fit_fixed_pattern`, so it needs no hyperplane geometry
(and no pruning, bounds or closed forms).
"""

from __future__ import annotations

import itertools

import numpy as np

from exactrelu.convex.fixed_pattern import fit_fixed_pattern
from exactrelu.highs.quiet import quiet_highs
from exactrelu.problem import Problem


def _fit(problem: Problem, pattern: np.ndarray, signs: np.ndarray | None, highs) -> float:
    """Fixed-pattern optimum."""
    return fit_fixed_pattern(problem, pattern, signs, highs=highs)[1]


def planted_one_node(
    n: int, d: int, *, noise: float = 0.0, seed: int = 0, loss: str = "squared", **kw
) -> Problem:
    """``y = max(0, w·x + b) + noise·N(0,1)`` with ``w, b`` inside the default box.

    For hinge loss the labels are ``+1`` where the planted unit is active, else ``-1``.
    """
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, d))
    w = rng.uniform(-1.0, 1.0, size=d)
    b = rng.uniform(-0.3, 0.3)
    z = X @ w + b
    if loss == "hinge":
        y = np.where(z > 0, 1.0, -1.0)
    else:
        y = np.maximum(0.0, z) + noise * rng.standard_normal(n)
    return Problem(X, y, loss=loss, **kw)


def random_problem(n: int, d: int, *, seed: int, loss: str, **kw) -> Problem:
    """Unstructured data: Gaussian features, Gaussian targets (random labels for hinge)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    if loss == "hinge":
        y = np.where(y > 0, 1.0, -1.0)
    return Problem(X, y, loss=loss, **kw)


def brute_force_one_node(problem: Problem) -> float:
    """Minimum over all ``2^n`` activation patterns of the fixed-pattern optimum."""
    highs = quiet_highs()
    best = np.inf
    for bits in itertools.product((False, True), repeat=problem.n):
        best = min(best, _fit(problem, np.array(bits)[:, None], None, highs))
    return best


def brute_force_two_layer(problem: Problem) -> float:
    """Minimum over output-sign counts and multisets of ``2^n`` patterns per sign group."""
    highs = quiet_highs()
    n, h = problem.n, problem.width
    pats = [np.array(bits) for bits in itertools.product((False, True), repeat=n)]
    best = np.inf
    for npos in range(h + 1):
        signs = np.array([1.0] * npos + [-1.0] * (h - npos))
        for pos in itertools.combinations_with_replacement(range(len(pats)), npos):
            for neg in itertools.combinations_with_replacement(range(len(pats)), h - npos):
                pattern = np.column_stack([pats[i] for i in pos + neg])
                best = min(best, _fit(problem, pattern, signs, highs))
    return best


def close(a: float, b: float, rel: float = 1e-6, abs_: float = 1e-7) -> bool:
    """``|a - b| <= max(rel·max(|a|, |b|), abs_)``: agreement up to solver tolerances."""
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), abs_)
