"""Test helpers: seeded instances, brute-force optima, random networks, a tiny gradient descent.

Nothing here uses exactrelu's training code: the brute force is :mod:`oracle`'s, the
gradient descent and the loss evaluation are written from scratch (see :mod:`oracle`
for ``forward``/``loss_value``), so that comparisons against the package are
comparisons against independent methods. Every instance maker takes ``(seed, n, d)``
first; the ``*_problem`` ones return an :class:`exactrelu.Problem`, the others arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from oracle import brute_force, forward, loss_value

from exactrelu import OneNodeNetwork, Problem, TwoLayerNetwork


def assert_certifies(cert, best) -> None:
    """``cert`` is an optimal certificate of the oracle's optimum ``best.loss``: status
    ``optimal``, the objective equal to it (the certificate's tolerance), the bound not above it."""
    assert cert.status == "optimal"
    assert abs(cert.objective - best.loss) <= max(1e-6 * abs(best.loss), 1e-9)
    assert cert.bound <= best.loss * (1 + 1e-6) + 1e-9


# ----------------------------------------------------------------------------------------
# instances
# ----------------------------------------------------------------------------------------


def standardised(X, y, arch, loss):
    """Features centred and scaled to unit variance, targets scaled (docs/problem.md),
    recomputed with plain numpy; returns ``(Xs, ys, target_scale)``."""
    scale = X.std(axis=0)
    Xs = (X - X.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    if loss == "hinge":
        sy = 1.0
    elif arch == "two-layer":
        sy = y.std()
    else:
        sy = np.sqrt(np.mean(y**2))
    return Xs, y / sy, sy


def brute_force_in_auto_box(X, y, cert, *, arch="one-node", width=1, loss="squared"):
    """The oracle's optimum over the certificate's final automatic box: brute force on the
    standardised data, its loss and bound brought back to the units of ``y``."""
    Xs, ys, sy = standardised(X, y, arch, loss)
    oracle = brute_force(Xs, ys, arch=arch, width=width, loss=loss, B=cert.weight_bound)
    factor = sy**2 if loss == "squared" else sy
    oracle.loss *= factor
    oracle.lower *= factor
    return oracle


def planted_one_node(seed: int, n: int, d: int, noise: float = 0.1, decimals: int | None = None):
    """``y = max(0, w·x + b) + noise``, with ``w`` in [-1, 1]^d and ``b`` in [-0.5, 0.5]."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if decimals is not None:
        X = np.round(X, decimals)
    w = rng.uniform(-1, 1, size=d)
    b = rng.uniform(-0.5, 0.5)
    y = np.maximum(0.0, X @ w + b) + noise * rng.normal(size=n)
    return X, y


def planted_two_layer(seed: int, n: int, d: int, width: int = 2, noise: float = 0.1):
    """``y = Σ_j v_j max(0, W_j·x + b_j) + c + noise`` with alternating signs ``v``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    W = rng.uniform(-1, 1, size=(width, d))
    b = rng.uniform(-0.5, 0.5, size=width)
    v = np.where(np.arange(width) % 2 == 0, 1.0, -1.0)
    y = forward(X, W, b, v, 0.2) + noise * rng.normal(size=n)
    return X, y


def hinge_labels(seed: int, n: int, d: int, flips: int = 1):
    """Labels ±1 from a planted one-node network thresholded at 0.3, ``flips`` of them flipped."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = rng.uniform(-1, 1, size=d)
    y = np.where(np.maximum(0.0, X @ w + 0.1) > 0.3, 1.0, -1.0)
    y[rng.choice(n, size=flips, replace=False)] *= -1.0
    return X, y


def planted_one_node_problem(
    seed: int, n: int, d: int, *, noise: float = 0.0, loss: str = "squared", **kw
) -> Problem:
    """``y = max(0, w·x + b) + noise·N(0,1)``, features uniform on [-1, 1]^d, ``w, b``
    inside the default box; for hinge loss, labels ``+1`` where the planted unit is
    active, else ``-1``. ``kw`` goes to :class:`~exactrelu.Problem`."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, d))
    w = rng.uniform(-1.0, 1.0, size=d)
    b = rng.uniform(-0.3, 0.3)
    z = X @ w + b
    if loss == "hinge":
        y = np.where(z > 0, 1.0, -1.0)
    else:
        y = np.maximum(0.0, z) + noise * rng.standard_normal(n)
    return Problem(X, y, loss=loss, **{"weight_bound": 2.0, **kw})


def random_problem(seed: int, n: int, d: int, *, loss: str, **kw) -> Problem:
    """Unstructured data: Gaussian features, Gaussian targets (random labels for hinge)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    if loss == "hinge":
        y = np.where(y > 0, 1.0, -1.0)
    return Problem(X, y, loss=loss, **{"weight_bound": 2.0, **kw})


def brute_force_of(problem: Problem):
    """:func:`oracle.brute_force` on a tiny ``problem`` (a fixed box): optimum and bound."""
    return brute_force(
        problem.X,
        problem.y,
        arch=problem.arch,
        width=problem.width,
        loss=problem.loss,
        B=problem.weight_bound,
        bias=problem.bias,
    )


def brute_force_optimum(problem: Problem) -> float:
    """The class optimum of a tiny ``problem`` by :func:`oracle.brute_force`."""
    return brute_force_of(problem).loss


def close(a: float, b: float, rel: float = 1e-6, abs_: float = 1e-7) -> bool:
    """``|a - b| <= max(rel·max(|a|, |b|), abs_)``: agreement up to solver tolerances."""
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), abs_)


def tolerance(value: float, rel: float = 1e-6, abs_: float = 1e-9) -> float:
    """The certificate's optimality tolerance around ``value``."""
    return max(rel * abs(value), abs_)


def assert_matches(objective: float, best) -> None:
    """``objective`` is the optimum bracketed by an oracle result, to the certificate's tolerance.

    ``best.loss`` is the loss of an actual network (an upper bound on the optimum) and
    ``best.lower`` a lower bound (equal to ``best.loss`` when every convex subproblem was
    solved by HiGHS directly).
    """
    lower = best.loss if best.lower is None else best.lower
    assert lower - tolerance(lower) <= objective <= best.loss + tolerance(best.loss), (
        f"objective {objective!r} outside the oracle's [{lower!r}, {best.loss!r}]"
    )


# ----------------------------------------------------------------------------------------
# networks
# ----------------------------------------------------------------------------------------


@dataclass
class Weights:
    """Weights of the common form ``Σ_j v_j max(0, W_j·x + b_j) + c`` (one-node: v=[1], c=0)."""

    W: np.ndarray
    b: np.ndarray
    v: np.ndarray
    c: float
    two_layer: bool

    def loss(self, X, y, loss: str) -> float:
        return loss_value(y, forward(X, self.W, self.b, self.v, self.c), loss)

    def network(self):
        """The exactrelu network object (for warm starts)."""
        if self.two_layer:
            return TwoLayerNetwork(self.W.copy(), self.b.copy(), self.v.copy(), self.c)
        return OneNodeNetwork(self.W[0].copy(), float(self.b[0]))


def certificate_weights(certificate) -> Weights:
    """Read a certificate's ``weights`` dict into :class:`Weights` (no exactrelu code)."""
    w = certificate.weights
    if certificate.arch == "one-node":
        return Weights(np.array([w["w"]], float), np.array([w["b"]], float), np.ones(1), 0.0, False)
    return Weights(
        np.array(w["W"], float).reshape(certificate.width, certificate.d),
        np.array(w["b"], float),
        np.array(w["v"], float),
        float(w["c"]),
        True,
    )


def random_network(problem: Problem, rng: np.random.Generator) -> Weights:
    """A uniformly random network of the class (weights in the box, random signs)."""
    h, d, B = problem.width, problem.d, problem.weight_bound
    two_layer = problem.arch == "two-layer"
    W = rng.uniform(-B, B, size=(h, d))
    b = rng.uniform(-B, B, size=h) if problem.bias else np.zeros(h)
    v = rng.choice([-1.0, 1.0], size=h) if two_layer else np.ones(1)
    c = float(np.mean(problem.y) + rng.normal()) if two_layer else 0.0
    return Weights(W, b, v, c, two_layer)


def gradient_descent(
    problem: Problem, seed: int = 0, steps: int = 400, lr: float = 0.05
) -> Weights:
    """Projected (sub)gradient descent on the summed loss; returns the best iterate.

    Output signs are drawn at random and kept; weights are clipped to the box after
    every step; ``c`` is free. A deliberately plain method, independent of the package.
    """
    rng = np.random.default_rng(seed)
    X, y = np.asarray(problem.X), np.asarray(problem.y)
    n = X.shape[0]
    start = random_network(problem, rng)
    W, b, v, c = start.W * 0.5, start.b * 0.5, start.v, start.c
    two_layer = start.two_layer
    B = problem.weight_bound
    best = Weights(W.copy(), b.copy(), v, c, two_layer)
    best_loss = best.loss(X, y, problem.loss)
    for _ in range(steps):
        Z = X @ W.T + b
        f = np.maximum(0.0, Z) @ v + c
        if problem.loss == "squared":
            g = -2.0 * (y - f)
        elif problem.loss == "absolute":
            g = -np.sign(y - f)
        else:
            g = np.where(1.0 - y * f > 0, -y, 0.0)
        G = g[:, None] * (Z > 0) * v  # dLoss/dz_ij
        W = np.clip(W - lr / n * (G.T @ X), -B, B)
        b = np.clip(b - lr / n * G.sum(axis=0), -B, B) if problem.bias else b
        if two_layer:
            c = c - lr / n * g.sum()
        current = Weights(W.copy(), b.copy(), v, c, two_layer)
        value = current.loss(X, y, problem.loss)
        if value < best_loss:
            best, best_loss = current, value
    return best
