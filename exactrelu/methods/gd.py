"""Projected (sub)gradient descent with seeded random restarts (method ``gd``).

A heuristic baseline, in plain numpy. All restarts run in lockstep as one batched
computation (the leading axis of every array is the restart).

* Model: ``f(x) = Σ_j v_j max(0, θ_j·x̃) + c`` with ``θ_j = (W_j, b_j)``; a one-node
  network is the case ``h = 1``, ``v = +1``, ``c = 0`` (not trained).
* Objective: the mean loss (the sum divided by ``n``, which only rescales steps).
  Gradient of the ReLU: ``1`` where ``z > 0``, else ``0`` (the usual subgradient),
  so a unit active on no sample receives no gradient and stays *dead*.
* Squared loss: gradient steps ``1/L`` with ``L = 2 (h λ_max(X̃ᵀX̃)/n + 1)``, an
  upper bound on the smoothness of the loss on each fixed activation pattern.
  Absolute and hinge loss: normalised subgradient steps of length
  ``step · B / √(t + 1)``.
* After each step the hidden weights are clipped into the box (projection).
  Output signs ``v`` are fixed per restart: restart ``r`` of a two-layer network has
  ``r mod (h + 1)`` positive signs, so every sign count is tried. ``c`` is free.
* The best iterate of every restart is kept (subgradient steps are not monotone).
  A restart stops when its best loss has not improved by a relative ``1e-10`` for
  ``patience`` iterations; the run stops when all have.
* Starting points, in order: ``options.warm_start`` if given, the ``approx``
  solution if ``init="approx"`` (for two-layer: unit 0 gets the one-node ``approx``
  fit, the other units start random), then random: ``W, b ~ N(0, 1/D)`` clipped
  into the box, ``c`` the best constant (mean, median or ±1).

:func:`descend` runs these steps from given starts; :func:`descend_free_output` trains
the usual parameterisation with real output weights instead, kept in the class (the
default trainer of ``exactrelu landscape``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from exactrelu.certificate import Certificate, Stop, make_certificate
from exactrelu.convex.gram import augmented
from exactrelu.errors import InvalidInputError, show
from exactrelu.network.losses import best_constant, loss_gradient, per_sample_loss
from exactrelu.network.networks import Network, OneNodeNetwork, TwoLayerNetwork, check_in_class
from exactrelu.options import Deadline, SolveOptions
from exactrelu.problem import Problem, check_int, check_positive

DEFAULT_RESTARTS = 10
DEFAULT_MAX_ITER = 2000
DEFAULT_INIT = "random"
DEFAULT_STEP = 0.5  # absolute / hinge: first step length as a fraction of B
DEFAULT_PATIENCE = 200
DIVERGE = 1.5  # descend_free_output: a squared-loss step raising the loss more is halved
INITS = ("random", "approx")


def solve_gd(
    problem: Problem,
    options: SolveOptions,
    *,
    restarts: int = DEFAULT_RESTARTS,
    max_iter: int = DEFAULT_MAX_ITER,
    init: str = DEFAULT_INIT,
    step: float = DEFAULT_STEP,
    patience: int = DEFAULT_PATIENCE,
) -> Certificate:
    """Train by projected (sub)gradient descent from several starting points.

    Parameters
    ----------
    problem : Problem
    options : SolveOptions
        ``seed`` seeds the random starts; ``warm_start`` is the first start;
        ``time_limit`` stops the iterations (the best iterate so far is returned).
    restarts : int, default 10
        Number of starting points (including the warm start and the approx start).
    max_iter : int, default 2000
        Iterations per restart.
    init : {"random", "approx"}, default "random"
        ``"approx"`` makes the ``approx`` solution (``k = 1``) one of the starts.
    step : float, default 0.5
        Absolute and hinge loss: length of the first subgradient step, times ``B``.
    patience : int, default 200
        Iterations without relative improvement ``1e-10`` after which a restart stops.

    Returns
    -------
    Certificate
        Status ``feasible`` (``time_limit`` if cut short), no bound. ``details``:
        ``restarts``, ``init``, ``iterations``, ``best_restart``, ``restart_losses``,
        ``dead_units`` (indices of the returned network's units active on no sample),
        ``dead_restarts`` (restarts that ended with every unit dead).
    """
    restarts = check_int("restarts", restarts, minimum=1)
    max_iter = check_int("max_iter", max_iter, minimum=1)
    patience = check_int("patience", patience, minimum=1)
    if init not in INITS:
        raise InvalidInputError(f"init must be one of {', '.join(INITS)}; got {init!r}")
    if (
        isinstance(step, bool)
        or not isinstance(step, (int, float))
        or not (0 < float(step) < float("inf"))
    ):
        raise InvalidInputError(f"step must be a positive finite number, got {show(step)}")
    deadline = Deadline(options.time_limit)
    starts, sources = _starting_points(problem, options, restarts, init, deadline)
    info, finals = _descend(problem, starts, float(step), max_iter, patience, deadline)
    net = finals[0]
    info["sources"] = sources
    info["init"] = init
    info["restarts"] = restarts
    return make_certificate(
        problem,
        net,
        bound=None,
        stop=Stop.TIME_LIMIT if info.pop("timed_out") else Stop.FEASIBLE,
        seconds=deadline.elapsed(),
        method="gd",
        rel_gap=options.rel_gap,
        abs_gap=options.abs_gap,
        details=info,
    )


def gd_restarts(
    problem: Problem,
    options: SolveOptions,
    restarts: int | None = None,
    deadline: Deadline | None = None,
) -> list[Network]:
    """Every restart's best network, best first (random starts; see :func:`solve_gd`).

    ``deadline`` replaces ``options.time_limit``; searches pass one that also expires on
    Ctrl-C (:class:`~exactrelu.methods.search.Budget`).
    """
    if deadline is None:
        deadline = Deadline(options.time_limit)
    starts, _ = _starting_points(
        problem, options, restarts or DEFAULT_RESTARTS, DEFAULT_INIT, deadline
    )
    _, finals = _descend(
        problem, starts, DEFAULT_STEP, DEFAULT_MAX_ITER, DEFAULT_PATIENCE, deadline
    )
    return finals


def _as_arrays(net: Network, problem: Problem) -> tuple[np.ndarray, np.ndarray, float]:
    """``(Θ (h, D), v (h,), c)`` of a network of the class."""
    W, b = net.hidden_weights
    Theta = np.column_stack([W, b]) if problem.bias else W.copy()
    if isinstance(net, OneNodeNetwork):
        return Theta, np.ones(1), 0.0
    return Theta, net.v.copy(), float(net.c)


def _starting_points(
    problem: Problem, options: SolveOptions, restarts: int, init: str, deadline: Deadline
):
    """``(Θ (R, h, D), v (R, h), c (R,))`` and a label per start."""
    rng = np.random.default_rng(options.seed)
    h = problem.width
    D = problem.d + (1 if problem.bias else 0)
    B = problem.box_radius
    two = problem.arch == "two-layer"
    c0 = best_constant(problem.y, problem.loss) if two else 0.0
    Theta = np.clip(rng.normal(0.0, 1.0 / np.sqrt(D), size=(restarts, h, D)), -B, B)
    npos = np.arange(restarts) % (h + 1) if two else np.ones(restarts, int)
    v = np.where(np.arange(h)[None, :] < npos[:, None], 1.0, -1.0)
    c = np.full(restarts, c0)
    sources = ["random"] * restarts
    slot = 0
    if options.warm_start is not None and slot < restarts:
        net = check_in_class(options.warm_start, problem.arch, problem.d, h, B)
        Theta[slot], v[slot], c[slot] = _as_arrays(net, problem)
        sources[slot] = "warm_start"
        slot += 1
    if init == "approx" and slot < restarts:
        from exactrelu.methods.approx import approx_one_node

        one = problem if not two else _one_node_problem(problem)
        net, _ = approx_one_node(one, k=1, deadline=deadline)
        th, _, _ = _as_arrays(net, one)
        Theta[slot, 0] = th[0]
        if two:
            v[slot, 0] = 1.0
            c[slot] = 0.0
        sources[slot] = "approx"
    return (Theta, v, c), sources


def _one_node_problem(problem: Problem) -> Problem:
    return replace(problem, arch="one-node", width=1, weight_bound=problem.box_radius)


@dataclass
class Descent:
    """What :func:`descend` did from each starting point, in the order of the starts.

    Attributes
    ----------
    networks : list of OneNodeNetwork or TwoLayerNetwork
        The best iterate of each start (a network of the class: inside the box).
    losses : ndarray of shape (R,)
        Their losses (sum over samples).
    iterations : ndarray of int, shape (R,)
        Gradient steps each start took before it stopped.
    stalled : ndarray of bool, shape (R,)
        The start stopped because its best loss stopped improving (``patience``), not
        because ``max_iter`` or the deadline ran out.
    timed_out : bool
        The deadline stopped the descent.
    """

    networks: list[Network]
    losses: np.ndarray
    iterations: np.ndarray
    stalled: np.ndarray
    timed_out: bool


def descend(
    problem: Problem,
    Theta: np.ndarray,
    v: np.ndarray,
    c: np.ndarray,
    *,
    max_iter: int = DEFAULT_MAX_ITER,
    patience: int = DEFAULT_PATIENCE,
    lr: float | None = None,
    step: float = DEFAULT_STEP,
    deadline: Deadline | None = None,
) -> Descent:
    """Projected (sub)gradient descent from given starting points (the steps of ``gd``).

    Each start runs exactly as it would alone: the starts only share the arrays, so a
    start's result does not depend on which other starts run beside it.

    Parameters
    ----------
    problem : Problem
        The class trained (its width is the width of the starts).
    Theta : ndarray of shape (R, width, D)
        Hidden weights and (when ``problem.bias``) biases, ``D = d + 1`` or ``d``;
        clipped into the box before the first step.
    v : ndarray of shape (R, width)
        Output signs (±1; one-node: ones). Fixed during the descent.
    c : ndarray of shape (R,)
        Output biases (trained for two-layer networks; one-node: zeros).
    max_iter : int, default 2000
        Gradient steps per start at most.
    patience : int, default 200
        Steps without a relative improvement ``1e-10`` of the best loss after which a
        start stops.
    lr : float, optional
        Squared loss: the constant step (default ``1/L``, module docstring). Absolute
        and hinge loss: the first step length (default ``step·B``), decaying as
        ``1/√(t + 1)``.
    step : float, default 0.5
        Absolute and hinge loss without ``lr``: the first step length, times ``B``.
    deadline : Deadline, optional
        Stops every start (each keeps its best iterate so far).

    Returns
    -------
    Descent
    """
    max_iter = check_int("max_iter", max_iter, minimum=1)
    patience = check_int("patience", patience, minimum=1)
    B = problem.box_radius
    if lr is not None:
        lr = check_positive("learning rate", lr)
    starts = (np.clip(np.asarray(Theta, float), -B, B), np.asarray(v, float), np.asarray(c, float))
    state = _run(problem, starts, step, max_iter, patience, deadline or Deadline(None), lr)
    best_loss, best_Theta, best_c, v_final, stopped_at, stalled, timed_out = state
    networks = [
        _network(best_Theta[k], v_final[k], float(best_c[k]), problem)
        for k in range(len(best_loss))
    ]
    return Descent(networks, best_loss, stopped_at, stalled, timed_out)


def descend_free_output(
    problem: Problem,
    Theta: np.ndarray,
    a: np.ndarray,
    c: np.ndarray,
    *,
    max_iter: int = DEFAULT_MAX_ITER,
    patience: int = DEFAULT_PATIENCE,
    lr: float | None = None,
    step: float = DEFAULT_STEP,
    deadline: Deadline | None = None,
    on_finish: Callable[[int, Network, int, bool], None] | None = None,
) -> Descent:
    """Gradient descent on a two-layer network with real output weights, kept in the class.

    The usual parameterisation ``f(x) = Σ_j a_j max(0, θ_j·x̃) + c`` with every weight
    trained (so an output weight may change sign), each start alone as in
    :func:`descend`. After every step a unit whose normalised weights leave the box
    (``m_j = |a_j|·max_k |θ_jk| > B``) is shrunk onto it: ``θ_j`` and ``a_j`` are
    multiplied by ``√(B/m_j)``, so every iterate, normalised (output weights ±1,
    docs/problem.md), is a network of the class.

    Squared loss: steps of ``lr`` (default ``1/(2(h λ_max(X̃ᵀX̃/n) + 1))``, the step of
    :func:`descend`); the product ``a_j θ_j`` has no global smoothness constant, so a
    step that would raise the loss by more than half (``DIVERGE``) is undone and the
    step of that start halved. Absolute and hinge loss: normalised subgradient steps
    ``step·B/√(t + 1)`` (or ``lr/√(t + 1)``) of all weights. The best iterate is kept.

    Parameters
    ----------
    problem : Problem
        A two-layer class (its width is the width of the starts).
    Theta : ndarray of shape (R, width, D)
        Hidden weights and (when ``problem.bias``) biases.
    a : ndarray of shape (R, width)
        Real output weights.
    c : ndarray of shape (R,)
        Output biases.
    max_iter, patience, deadline
        As for :func:`descend` (a rejected squared-loss step counts as an iteration).
    lr, step : float
        See above.
    on_finish : callable, optional
        Called as ``on_finish(k, network, iterations, stalled)`` the moment start ``k``
        stops (so that its result can be kept before the others finish).

    Returns
    -------
    Descent
        The best iterate of each start, normalised into the class.
    """
    if problem.arch != "two-layer":
        raise InvalidInputError("descend_free_output trains two-layer networks")
    max_iter = check_int("max_iter", max_iter, minimum=1)
    patience = check_int("patience", patience, minimum=1)
    if lr is not None:
        lr = check_positive("learning rate", lr)
    deadline = deadline or Deadline(None)
    Xt = augmented(problem)
    y, n, loss, B = problem.y, problem.n, problem.loss, problem.box_radius
    Theta, a, c = (np.array(x, dtype=float) for x in (Theta, a, c))
    R, h, _ = Theta.shape
    _shrink_into_box(Theta, a, B)
    squared = loss == "squared"
    if squared:
        if lr is None:
            lam = float(np.linalg.eigvalsh(Xt.T @ Xt / n)[-1])
            lr = 1.0 / (2.0 * (h * lam + 1.0))
        rate = np.full(R, lr)
    elif lr is not None:
        step = lr / B

    XtT = Xt.T  # (D, n)

    def evaluate(Theta, a, c):
        # layout (start, unit, sample): batched matmuls, faster than einsum here
        Z = Theta @ XtT  # (k, h, n)
        A = np.maximum(Z, 0.0)
        f = np.matmul(a[:, None, :], A)[:, 0, :] + c[:, None]  # (k, n)
        return Z, A, f, per_sample_loss(y, f, loss).sum(axis=-1)

    def network(k: int) -> TwoLayerNetwork:
        """Start ``k``'s best iterate, normalised (output weights ±1)."""
        W = best[0][k, :, : problem.d]
        b = best[0][k, :, problem.d] if problem.bias else np.zeros(h)
        return TwoLayerNetwork.from_real_output(W, b, best[1][k], float(best[2][k]))

    Z, A, f, L = evaluate(Theta, a, c)
    best_loss = L.copy()
    best = [Theta.copy(), a.copy(), c.copy()]
    last_gain = np.zeros(R, dtype=int)
    running = np.ones(R, dtype=bool)
    stopped_at = np.zeros(R, dtype=int)
    timed_out = False
    for it in range(max_iter):
        # only the starts still running are computed (their epochs vary tenfold)
        idx = np.flatnonzero(running)
        if idx.size == 0:
            break
        if deadline.expired():
            timed_out = True
            break
        Ti, ai, ci, Zi, Ai, fi, Li = (x[idx] for x in (Theta, a, c, Z, A, f, L))
        g = loss_gradient(y, fi, loss) / n  # (k, n)
        gz = g[:, None, :] * ai[:, :, None] * (Zi > 0)  # (k, h, n)
        grads = (gz @ Xt, np.matmul(Ai, g[:, :, None])[:, :, 0], g.sum(axis=1))
        if squared:
            scale = rate[idx]
        else:
            norm = np.sqrt(sum(np.sum(x.reshape(idx.size, -1) ** 2, axis=1) for x in grads))
            scale = np.where(norm > 0, step * B / np.sqrt(it + 1.0) / np.maximum(norm, 1e-300), 0)
        new = [
            Ti - scale[:, None, None] * grads[0],
            ai - scale[:, None] * grads[1],
            ci - scale * grads[2],
        ]
        _shrink_into_box(new[0], new[1], B)
        Zn, An, fn, Ln = evaluate(*new)
        # squared loss: a step that would raise the loss by more than DIVERGE is undone
        # and the step halved (too long for the local curvature). Smaller rises are
        # taken, as plain gradient descent takes them: at a kink of the ReLU no step
        # along the subgradient may lower the loss, and refusing them would park the
        # run on the kink, short of the minimum along it.
        if squared:
            accept = np.isfinite(Ln) & (Ln <= DIVERGE * Li + 1e-300)
            rate[idx[~accept]] /= 2.0
        else:
            accept = np.ones(idx.size, dtype=bool)
        take = idx[accept]
        for whole, part in zip((Theta, a, c, Z, A, f, L), (*new, Zn, An, fn, Ln), strict=True):
            whole[take] = part[accept]
        Lk = L[idx]
        better = Lk < best_loss[idx] * (1 - 1e-10) - 1e-300
        last_gain[idx] = np.where(better, 0, last_gain[idx] + 1)
        improved = idx[Lk < best_loss[idx]]
        best_loss[improved] = L[improved]
        best[0][improved], best[1][improved], best[2][improved] = (
            Theta[improved],
            a[improved],
            c[improved],
        )
        stopped_at[idx] = it + 1
        running[idx] = last_gain[idx] < patience
        if on_finish is not None:
            for k in idx[~running[idx]]:
                on_finish(int(k), network(k), int(stopped_at[k]), True)
    stalled = last_gain >= patience
    if on_finish is not None:  # out of iterations or time: the rest stop here
        for k in np.flatnonzero(running):
            on_finish(int(k), network(k), int(stopped_at[k]), bool(stalled[k]))
    networks = [network(k) for k in range(R)]
    return Descent(networks, best_loss, stopped_at, stalled, timed_out)


def _shrink_into_box(Theta: np.ndarray, a: np.ndarray, B: float) -> None:
    """Shrink, in place, every unit whose normalised weights ``|a_j| θ_j`` leave the box."""
    m = np.abs(a) * np.max(np.abs(Theta), axis=2)  # (R, h)
    # a factor a hair below √(B/m): the normalised weights land inside, not on, the box
    factor = np.where(m > B, np.sqrt(B / np.maximum(m, 1e-300)) * (1 - 1e-12), 1.0)
    Theta *= factor[:, :, None]
    a *= factor


def _descend(
    problem: Problem, starts, step: float, max_iter: int, patience: int, deadline: Deadline
):
    best_loss, best_Theta, best_c, v, stopped_at, _, timed_out = _run(
        problem, starts, step, max_iter, patience, deadline
    )
    # best first; a stable sort puts the first best restart first, as argmin would
    order = np.argsort(best_loss, kind="stable")
    finals = [_network(best_Theta[k], v[k], float(best_c[k]), problem) for k in order]
    r = int(order[0])
    Xt = augmented(problem)
    Zb = np.einsum("nd,rhd->rnh", Xt, best_Theta)
    dead_restarts = int(np.sum(~(Zb > 0).any(axis=1).any(axis=1)))
    info = {
        "iterations": int(stopped_at.max()),
        "best_restart": r,
        "restart_losses": [float(x) for x in best_loss],
        "dead_units": finals[0].dead_units(problem.X),
        "dead_restarts": dead_restarts,
        "timed_out": timed_out,
    }
    return info, finals


def _run(
    problem: Problem,
    starts,
    step: float,
    max_iter: int,
    patience: int,
    deadline: Deadline,
    lr: float | None = None,
):
    """The descent itself: every start in lockstep, each stopping on its own."""
    Theta, v, c = (a.copy() for a in starts)
    Xt = augmented(problem)
    y = problem.y
    n = problem.n
    loss = problem.loss
    B = problem.box_radius
    R, h, _ = Theta.shape
    two = problem.arch == "two-layer"
    if loss == "squared":
        if lr is None:
            lam = float(np.linalg.eigvalsh(Xt.T @ Xt / n)[-1])
            lr = 1.0 / (2.0 * (h * lam + 1.0))
    elif lr is not None:
        step = lr / B  # the first subgradient step is step·B
    best_loss = np.full(R, np.inf)
    best_Theta, best_c = Theta.copy(), c.copy()
    last_gain = np.zeros(R, dtype=int)
    running = np.ones(R, dtype=bool)
    stopped_at = np.zeros(R, dtype=int)
    timed_out = False
    it = 0
    for it in range(max_iter + 1):
        Z = np.einsum("nd,rhd->rnh", Xt, Theta)
        A = np.maximum(Z, 0.0)
        f = np.einsum("rnh,rh->rn", A, v) + c[:, None]
        L = per_sample_loss(y, f, loss).sum(axis=-1)
        better = L < best_loss * (1 - 1e-10) - 1e-300
        last_gain = np.where(better, 0, last_gain + 1)
        improved = L < best_loss
        best_loss = np.where(improved, L, best_loss)
        best_Theta[improved] = Theta[improved]
        best_c[improved] = c[improved]
        stopped_at = np.where(running, it, stopped_at)
        running &= last_gain < patience
        if it == max_iter or not running.any():
            break
        if deadline.expired():
            timed_out = True
            break
        g = loss_gradient(y, f, loss) / n  # (R, n)
        gz = g[:, :, None] * v[:, None, :] * (Z > 0)  # (R, n, h)
        gTheta = np.einsum("rnh,nd->rhd", gz, Xt)
        gc = g.sum(axis=1) if two else np.zeros(R)
        if loss == "squared":
            dT, dc = lr * gTheta, lr * gc
        else:
            norm = np.sqrt(np.sum(gTheta**2, axis=(1, 2)) + gc**2)
            scale = step * B / np.sqrt(it + 1.0) / np.maximum(norm, 1e-300)
            scale = np.where(norm > 0, scale, 0.0)
            dT, dc = scale[:, None, None] * gTheta, scale * gc
        run = running[:, None, None]
        Theta = np.where(run, np.clip(Theta - dT, -B, B), Theta)
        c = np.where(running, c - dc, c)
    # a start that stopped by patience stalled; the others ran out of steps or time
    stalled = last_gain >= patience
    return best_loss, best_Theta, best_c, v, stopped_at, stalled, timed_out


def _network(Theta: np.ndarray, v: np.ndarray, c: float, problem: Problem) -> Network:
    d = problem.d
    W = Theta[:, :d]
    b = Theta[:, d] if problem.bias else np.zeros(Theta.shape[0])
    if problem.arch == "one-node":
        return OneNodeNetwork(W[0].copy(), float(b[0]))
    return TwoLayerNetwork(W.copy(), b.copy(), v.copy(), c)
