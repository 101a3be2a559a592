"""Compiled per-node work of the two-layer branch and bound (numba).

:mod:`exactrelu.methods.bnb.two_layer` gives the mathematics and drives the tree; this
module evaluates one node in one call (:func:`node`): the Lagrangian node bound
(:func:`dual_bound`, its dual a non-negative QP solved by an active-set method on the Gram
matrix, :func:`nnqp_gram`), the propagation with the cutoff (:func:`pattern_costs`,
inside :func:`evaluate`), the centre network's loss (:func:`centre_loss`) and the
children (:func:`branch_sample`, or :func:`strong_branch` with a light bound of each
candidate's children). Loops are written out so that numba compiles them; every
bound is evaluated exactly at the multipliers found, so an inexact dual solve only
weakens a bound.
"""

import math

import numpy as np
from numba import njit

MARGIN = 1e-9
SCORE_FLOOR = 1e-6
# Branching candidates whose units' output signs point away from their sample's residual
# rank with this share of the squared residual (rank_key; docs/decisions.md).
WRONG_SIGN_WEIGHT = 0.25


# ----------------------------------------------------------------------------- linear algebra
@njit(cache=True)
def _cholesky(M):
    P = M.shape[0]
    L = np.zeros((P, P))
    for j in range(P):
        s = M[j, j]
        for k in range(j):
            s -= L[j, k] * L[j, k]
        if not (s > 0.0):
            return L, False
        d = math.sqrt(s)
        L[j, j] = d
        for i in range(j + 1, P):
            t = M[i, j]
            for k in range(j):
                t -= L[i, k] * L[j, k]
            L[i, j] = t / d
    return L, True


@njit(cache=True)
def _tri_inv(L):
    P = L.shape[0]
    Li = np.zeros((P, P))
    for j in range(P):
        Li[j, j] = 1.0 / L[j, j]
        for i in range(j + 1, P):
            s = 0.0
            for k in range(j, i):
                s += L[i, k] * Li[k, j]
            Li[i, j] = -s / L[i, i]
    return Li


@njit(cache=True)
def _lin_values(coef, beta, Xt, n, h, D, B):
    """The sign and box rows' violations at beta: coef * (row · beta) - rhs, -inf where
    coef == 0 (no row)."""
    hD = h * D
    nlin = n * h + 2 * hD
    out = np.empty(nlin)
    for i in range(n):
        for j in range(h):
            r = i * h + j
            if coef[r] == 0.0:
                out[r] = -np.inf
            else:
                z = 0.0
                for t in range(D):
                    z += Xt[i, t] * beta[j * D + t]
                out[r] = coef[r] * z
    base = n * h
    for k in range(hD):
        out[base + k] = beta[k] - B
        out[base + hD + k] = -beta[k] - B
    return out


@njit(cache=True)
def _os_rows(beta, Xo, base_lo, base_hi, plus, minus, ou, h, D):
    o = Xo.shape[0]
    P = base_lo.shape[1]
    Al = np.empty((2 * o, P))
    t = np.zeros((o, h), np.bool_)
    for s in range(o):
        for c in range(P):
            Al[s, c] = base_lo[s, c]
            Al[o + s, c] = base_hi[s, c]
        for j in range(h):
            z = 0.0
            for q in range(D):
                z += Xo[s, q] * beta[j * D + q]
            tt = ou[s, j] and z > 0.0
            t[s, j] = tt
            if tt and plus[s, j]:
                for q in range(D):
                    Al[s, j * D + q] += Xo[s, q]
            if tt and minus[s, j]:
                for q in range(D):
                    Al[o + s, j * D + q] += Xo[s, q]
    return Al, t


@njit(cache=True)
def _rowdot(A, r, x):
    s = 0.0
    for c in range(x.shape[0]):
        s += A[r, c] * x[c]
    return s


# ----------------------------------------------------------------------------- node bound
@njit(cache=True)
def dual_bound(
    Xt,
    y,
    U,
    Phi,
    v,
    E,
    R2,
    B,
    ON,
    OFF,
    OPENU,
    KON,
    masks,
    fixed,
    pidx,
    os_idx,
    hint,
    has_hint,
    h,
    D,
    rounds,
    extra_rows,
    extra_os_rows,
):
    n = Xt.shape[0]
    P = Phi.shape[2]
    hD = h * D
    nf = fixed.shape[0]
    M = np.zeros((P, P))
    g0 = np.zeros(P)
    yy = 0.0
    for t in range(nf):
        i = fixed[t]
        row = Phi[i, pidx[t]]
        yi = y[i]
        yy += yi * yi
        for a_ in range(P):
            ra = row[a_]
            if ra != 0.0:
                g0[a_] += ra * yi
                for b_ in range(P):
                    M[a_, b_] += ra * row[b_]
    tr = 0.0
    for a_ in range(P):
        tr += M[a_, a_]
    scale = max(tr / P, 1.0)
    lam = 1e-6 * scale
    for a_ in range(P):
        M[a_, a_] += lam * E[a_]
    L, ok = _cholesky(M)
    if not ok:
        for a_ in range(P):
            M[a_, a_] += lam
        L, ok = _cholesky(M)
    Linv = _tri_inv(L)
    tmp = Linv @ g0
    bh = Linv.T @ tmp
    q0 = yy - np.dot(g0, bh) - lam * R2
    # signs of the potential rows
    nlin = n * h + 2 * hD
    coef = np.ones(nlin)
    for i in range(n):
        m_ = masks[i]
        for j in range(h):
            coef[i * h + j] = -1.0 if ON[m_, j] else (1.0 if OFF[m_, j] else 0.0)
    o = os_idx.shape[0]
    S = np.zeros((o, P))
    a = np.zeros(o)
    Xo = np.empty((o, D))
    base_lo = np.zeros((o, P))
    base_hi = np.zeros((o, P))
    plus = np.zeros((o, h), np.bool_)
    minus = np.zeros((o, h), np.bool_)
    ou = np.zeros((o, h), np.bool_)
    ro = np.empty(2 * o)
    for s in range(o):
        i = os_idx[s]
        mo = masks[i]
        Ui = U[i]
        Lz, Uz = -Ui, Ui
        kap = Uz / max(Uz - Lz, 1e-300) if Uz > Lz else 0.0
        kL = -kap * Lz
        rlo = y[i]
        rhi = -y[i]
        kon = KON[mo]
        for c in range(P):
            base_lo[s, c] = Phi[i, kon, c]
            base_hi[s, c] = -Phi[i, kon, c]
        for q in range(D):
            Xo[s, q] = Xt[i, q]
        for j in range(h):
            ou[s, j] = OPENU[mo, j]
            plus[s, j] = OPENU[mo, j] and v[j] > 0
            minus[s, j] = OPENU[mo, j] and v[j] < 0
            if minus[s, j]:
                rlo += kL
                for q in range(D):
                    base_lo[s, j * D + q] -= kap * Xt[i, q]
            if plus[s, j]:
                rhi += kL
                for q in range(D):
                    base_hi[s, j * D + q] -= kap * Xt[i, q]
        ro[s] = rlo
        ro[o + s] = rhi
    Al, tpat = _os_rows(bh, Xo, base_lo, base_hi, plus, minus, ou, h, D)
    no_act = np.zeros(0, np.int64)
    linv = _lin_values(coef, bh, Xt, n, h, D, B)
    viol_any = False
    nv = 0
    for r in range(nlin):
        if linv[r] > 1e-12:
            viol_any = True
            nv += 1
    ov = np.empty(2 * o)
    onv = 0
    for r in range(2 * o):
        ov[r] = _rowdot(Al, r, bh) - ro[r]
        if ov[r] > 1e-12:
            viol_any = True
            onv += 1
    if not viol_any:
        return q0, bh, S, a, Linv, no_act, False
    eps = 1e8 * scale
    order = np.argsort(-linv)
    nw = min(nlin, nv + extra_rows)
    cnt = 0
    for t in range(nw):
        if np.isfinite(linv[order[t]]):
            cnt += 1
    work = np.empty(cnt, np.int64)
    cnt = 0
    for t in range(nw):
        if np.isfinite(linv[order[t]]):
            work[cnt] = order[t]
            cnt += 1
    if has_hint:
        cnt = 0
        for t in range(hint.shape[0]):
            if np.isfinite(linv[hint[t]]):
                cnt += 1
        hh = np.empty(cnt, np.int64)
        cnt = 0
        for t in range(hint.shape[0]):
            if np.isfinite(linv[hint[t]]):
                hh[cnt] = hint[t]
                cnt += 1
        work = np.unique(np.concatenate((work, hh)))
    owork = np.argsort(-ov)[: min(2 * o, onv + extra_os_rows)]
    best_val = q0
    best_centre = bh
    act = no_act
    has_act = False
    has_nu = False
    best_nos = np.zeros(0)
    best_Al = np.zeros((0, P))
    best_ow = np.zeros(0, np.int64)
    for _ in range(rounds):
        k = work.shape[0]
        no = owork.shape[0]
        m = k + no
        G = np.zeros((m, P))
        rhs = np.zeros(m)
        for t in range(k):
            r = work[t]
            if r < n * h:
                i = r // h
                j = r - i * h
                for q in range(D):
                    G[t, j * D + q] = coef[r] * Xt[i, q]
            else:
                kk = r - n * h
                if kk < hD:
                    G[t, kk] = 1.0
                else:
                    G[t, kk - hD] = -1.0
                rhs[t] = B
        for t in range(no):
            for c in range(P):
                G[k + t, c] = Al[owork[t], c]
            rhs[k + t] = ro[owork[t]]
        vv = G @ bh - rhs
        LinvGt = Linv @ G.T
        # the same NNLS in normal-equation form: H = A'A, c = A'b = (G bh - rhs) / 2
        Hm = np.empty((m, m))
        for c1 in range(m):
            for c2 in range(c1 + 1):
                acc = 0.0
                for a_ in range(P):
                    acc += LinvGt[a_, c1] * LinvGt[a_, c2]
                acc = 0.25 * acc + 0.25 * rhs[c1] * rhs[c2] / eps
                Hm[c1, c2] = acc
                Hm[c2, c1] = acc
        for t in range(k, m):
            Hm[t, t] += 0.25
        nu, ok = nnqp_gram(Hm, 0.5 * vv, 50 * m)
        if not ok:
            break
        w = LinvGt @ nu
        s_os = 0.0
        for t in range(k, m):
            s_os += nu[t] * nu[t]
        val = q0 + (np.dot(nu, vv) - 0.25 * np.dot(w, w) - 0.25 * s_os)
        centre = bh - 0.5 * (Linv.T @ w)
        if val > best_val:
            best_val = val
            best_centre = centre
            c2 = 0
            for t in range(k):
                if nu[t] > 0:
                    c2 += 1
            act = np.empty(c2, np.int64)
            c2 = 0
            for t in range(k):
                if nu[t] > 0:
                    act[c2] = work[t]
                    c2 += 1
            has_act = True
            if o:
                has_nu = True
                best_nos = nu[k:].copy()
                best_Al = np.empty((no, P))
                for t in range(no):
                    for c in range(P):
                        best_Al[t, c] = Al[owork[t], c]
                best_ow = owork.copy()
        newv = _lin_values(coef, centre, Xt, n, h, D, B)
        for t in range(k):
            newv[work[t]] = -np.inf
        nadd = 0
        for r in range(nlin):
            if newv[r] > 1e-9:
                nadd += 1
        changed = False
        if o:
            Al2, t2 = _os_rows(centre, Xo, base_lo, base_hi, plus, minus, ou, h, D)
            for s in range(o):
                for j in range(h):
                    if t2[s, j] != tpat[s, j]:
                        changed = True
            if changed:
                Al = Al2
                tpat = t2
            for r in range(2 * o):
                ov[r] = _rowdot(Al, r, centre) - ro[r]
            for t in range(no):
                ov[owork[t]] = -np.inf
            oc = 0
            for r in range(2 * o):
                if ov[r] > 1e-9:
                    oc += 1
            if oc:
                oadd = np.empty(oc, np.int64)
                oc = 0
                for r in range(2 * o):
                    if ov[r] > 1e-9:
                        oadd[oc] = r
                        oc += 1
                srt = np.argsort(-ov[oadd])
                owork = np.concatenate((owork, oadd[srt][:20]))
                changed = True
        if nadd == 0 and not changed:
            break
        if nadd:
            add = np.empty(nadd, np.int64)
            nadd = 0
            for r in range(nlin):
                if newv[r] > 1e-9:
                    add[nadd] = r
                    nadd += 1
            srt = np.argsort(-newv[add])
            work = np.concatenate((work, add[srt][:20]))
    if has_nu:
        for t in range(best_ow.shape[0]):
            rr = best_ow[t]
            s = rr % o  # owner: rows 0..o-1 lo, o..2o-1 hi (triangle: every sample has both)
            nos = best_nos[t]
            dot = 0.0
            for c in range(P):
                S[s, c] += nos * best_Al[t, c]
                dot += best_Al[t, c] * best_centre[c]
            a[s] += nos * (dot - ro[rr]) - 0.25 * nos * nos
    return best_val, best_centre, S, a, Linv, act, has_act


# ----------------------------------------------------------------------------- propagation
@njit(cache=True)
def pattern_costs(Xt, y, Phi, v, patterns, ALLOWED, open_idx, masks, bh, Linv, S, a, h, D):
    o = open_idx.shape[0]
    K = patterns.shape[0]
    P = Phi.shape[2]
    cost = np.full((o, K), np.inf)
    Q = np.empty((h, P))
    Pw = np.empty(P)
    sig = np.empty(P)
    W = np.empty(P)
    ph = np.empty(P)
    Wperp = np.empty(P)
    Gperp = np.empty((h, P))
    gp = np.empty(h)
    ts = np.empty(h)
    curv = np.empty(h)
    for s in range(o):
        i = open_idx[s]
        mi = masks[i]
        # sigma = Linv S_s ; Q_j = Linv[:, blk_j] x~_i
        for r in range(P):
            acc = 0.0
            for c in range(r + 1):
                acc += Linv[r, c] * S[s, c]
            sig[r] = acc
        for j in range(h):
            for r in range(P):
                acc = 0.0
                for q in range(D):
                    acc += Linv[r, j * D + q] * Xt[i, q]
                Q[j, r] = acc
        ar = a[s]
        for qp in range(K):
            if not ALLOWED[mi, qp]:
                continue
            # Pw = Linv phi
            for r in range(P):
                Pw[r] = Linv[r, P - 1]
            for j in range(h):
                if patterns[qp, j]:
                    vj = v[j]
                    for r in range(P):
                        Pw[r] += vj * Q[j, r]
            pp = 0.0
            for r in range(P):
                pp += Pw[r] * Pw[r]
            pn = math.sqrt(max(pp, 1e-300))
            fb = 0.0
            for c in range(P):
                fb += Phi[i, qp, c] * bh[c]
            rres = y[i] - fb
            wp = 0.0
            for r in range(P):
                ph[r] = Pw[r] / pn
                W[r] = Pw[r] * rres + 0.5 * sig[r]
                wp += ph[r] * W[r]
            quad = 0.0
            for r in range(P):
                Wperp[r] = W[r] - ph[r] * wp
                quad += Wperp[r] * Wperp[r]
            quad += wp * wp / (1.0 + pp)
            add = rres * rres - ar - quad
            coef_c = wp / (1.0 + pp)
            best = 0.0
            for j in range(h):
                sgn = -1.0 if patterns[qp, j] else 1.0
                gbh = 0.0
                for q in range(D):
                    gbh += Xt[i, q] * bh[j * D + q]
                gbh *= sgn
                g = 0.0
                for r in range(P):
                    g += ph[r] * (sgn * Q[j, r])
                gp[j] = g
                t = 0.0
                cv = 0.0
                for r in range(P):
                    gpr = sgn * Q[j, r] - ph[r] * g
                    Gperp[j, r] = gpr
                    t += gpr * Wperp[r]
                    cv += gpr * gpr
                t = gbh + t + g * coef_c
                cv = cv + g * g / (1.0 + pp)
                ts[j] = t
                curv[j] = max(cv, 1e-300)
                if t > 0.0:
                    best = max(best, t * t / curv[j])
            if h >= 2:
                for a_ in range(h):
                    for b_ in range(a_ + 1, h):
                        if not (ts[a_] > 0 and ts[b_] > 0):
                            continue
                        cab = 0.0
                        for r in range(P):
                            cab += Gperp[a_, r] * Gperp[b_, r]
                        cab += gp[a_] * gp[b_] / (1.0 + pp)
                        ca = curv[a_]
                        cb = curv[b_]
                        det = ca * cb - cab * cab
                        if not (det > 1e-9 * ca * cb):
                            continue
                        mua = (cb * ts[a_] - cab * ts[b_]) / det
                        mub = (ca * ts[b_] - cab * ts[a_]) / det
                        val = ts[a_] * mua + ts[b_] * mub
                        if mua >= 0 and mub >= 0 and np.isfinite(val):
                            best = max(best, val)
            margin = 1e-9 * (rres * rres + abs(ar) + quad + best) + 1e-12
            c_ = add + best - margin
            cost[s, qp] = max(c_, 0.0)
    return cost


# ----------------------------------------------------------------------------- node
@njit(cache=True)
def _above_bound(cost, qmin, bound):
    """In place: increases of the node's quadratic (minimum ``qmin``) as increases of the
    node's ``bound >= qmin``. A child's loss is at least ``qmin + cost`` and at least
    ``bound``, so it is at least ``bound + max(0, qmin + cost - bound)``."""
    for s in range(cost.shape[0]):
        for q in range(cost.shape[1]):
            if np.isfinite(cost[s, q]):
                cost[s, q] = max(qmin + cost[s, q] - bound, 0.0)


@njit(cache=True)
def split_samples(masks, POP, SINGLE):
    """``(alive, fixed, pidx, open)`` of a node: the samples with one pattern left and
    those patterns, the samples with more; ``alive`` False when a sample has none left."""
    n = masks.shape[0]
    nf = 0
    for i in range(n):
        c = POP[masks[i]]
        if c == 0:
            empty = np.zeros(0, np.int64)
            return False, empty, empty, empty
        nf += c == 1
    fixed = np.empty(nf, np.int64)
    pidx = np.empty(nf, np.int64)
    open_ = np.empty(n - nf, np.int64)
    nf = 0
    no = 0
    for i in range(n):
        if POP[masks[i]] == 1:
            fixed[nf] = i
            pidx[nf] = SINGLE[masks[i]]
            nf += 1
        else:
            open_[no] = i
            no += 1
    return True, fixed, pidx, open_


@njit(cache=True)
def evaluate(
    Xt,
    y,
    U,
    Phi,
    v,
    E,
    R2,
    B,
    POP,
    SINGLE,
    ON,
    OFF,
    OPENU,
    KON,
    ALLOWED,
    patterns,
    masks_in,
    inherited,
    hint,
    has_hint,
    T,
    h,
    D,
    max_passes,
    dual_rounds,
    extra_rows,
    extra_os_rows,
    propagate,
):
    """One node: its bound and, with ``propagate``, the propagation. Returns (status, bound,
    masks, beta, act, has_act, open, fixed, pidx, cost, fixings); status 0: pruned, 1:
    evaluated. Without ``propagate`` (a strong-branching child, propagated when it is
    explored) only status and bound are meant."""
    K = patterns.shape[0]
    P = Phi.shape[2]
    masks = masks_in.copy()
    e_i = np.zeros(0, np.int64)
    e_f = np.zeros((0, K))
    passes = 0
    fixings = 0
    Tfin = np.isfinite(T)
    while True:
        passes += 1
        alive, fixed, pidx, open_ = split_samples(masks, POP, SINGLE)
        if not alive:
            return 0, 0.0, masks, np.zeros(P), e_i, False, e_i, e_i, e_i, e_f, fixings
        nf = fixed.shape[0]
        no = open_.shape[0]
        if nf == 0:
            cost = np.empty((no, K))
            for s in range(no):
                for q in range(K):
                    cost[s, q] = 0.0 if ALLOWED[masks[open_[s]], q] else np.inf
            return (
                1,
                max(inherited, 0.0),
                masks,
                np.zeros(P),
                e_i,
                False,
                open_,
                fixed,
                pidx,
                cost,
                fixings,
            )
        qmin, bh, S, a, Linv, act, has_act = dual_bound(
            Xt,
            y,
            U,
            Phi,
            v,
            E,
            R2,
            B,
            ON,
            OFF,
            OPENU,
            KON,
            masks,
            fixed,
            pidx,
            open_,
            hint,
            has_hint,
            h,
            D,
            dual_rounds,
            extra_rows,
            extra_os_rows,
        )
        bound = max(qmin, inherited, 0.0)
        if bound > T:
            return 0, 0.0, masks, bh, e_i, False, e_i, e_i, e_i, e_f, fixings
        if not propagate:
            return 1, bound, masks, bh, act, has_act, open_, fixed, pidx, e_f, fixings
        if no == 0 or not Tfin:
            if no:
                cost = pattern_costs(
                    Xt, y, Phi, v, patterns, ALLOWED, open_, masks, bh, Linv, S, a, h, D
                )
                _above_bound(cost, qmin, bound)
            else:
                cost = e_f
            return 1, bound, masks, bh, act, has_act, open_, fixed, pidx, cost, fixings
        # The costs are increases of the quadratic whose minimum is qmin (negative where
        # the box regularisation outweighs the fit), not of the node's bound.
        rho = T - qmin
        cost = pattern_costs(Xt, y, Phi, v, patterns, ALLOWED, open_, masks, bh, Linv, S, a, h, D)
        tol = MARGIN * max(1.0, abs(T))
        anybad = False
        remove = np.zeros(no, np.int64)
        for s in range(no):
            for q in range(K):
                cq = cost[s, q]
                if cq > rho + tol and np.isfinite(cq):
                    remove[s] |= 1 << q
                    anybad = True
        if not anybad:
            _above_bound(cost, qmin, bound)
            return 1, bound, masks, bh, act, has_act, open_, fixed, pidx, cost, fixings
        newly_det = False
        nkeep = 0
        for s in range(no):
            i = open_[s]
            old = masks[i]
            new = old & ~remove[s]
            if new == 0:
                return 0, 0.0, masks, bh, e_i, False, e_i, e_i, e_i, e_f, fixings
            masks[i] = new
            if POP[new] == 1:
                fixings += 1
            else:
                nkeep += 1
            for j in range(h):
                if (ON[new, j] or OFF[new, j]) != (ON[old, j] or OFF[old, j]):
                    newly_det = True
        if not newly_det or passes >= max_passes:
            open2 = np.empty(nkeep, np.int64)
            cost2 = np.empty((nkeep, K))
            t = 0
            for s in range(no):
                if POP[masks[open_[s]]] > 1:
                    open2[t] = open_[s]
                    for q in range(K):
                        cost2[t, q] = np.inf if (remove[s] >> q) & 1 else cost[s, q]
                    t += 1
            _above_bound(cost2, qmin, bound)
            if nkeep == 0:
                if passes >= max_passes + 2:
                    return 1, bound, masks, bh, act, has_act, open2, fixed, pidx, cost2, fixings
                continue
            return 1, bound, masks, bh, act, has_act, open2, fixed, pidx, cost2, fixings


# ----------------------------------------------------------------------------- branching
@njit(cache=True)
def orbital_keep(masks, SWAP, patterns):
    """Bit mask of the patterns a branched sample keeps under orbital fixing: for every
    pair ``(j, jj)`` of same-sign units that the node's masks cannot tell apart (invariant
    under their swap), the patterns with ``π_j < π_jj`` are dropped (the swapped network is
    in the node too and keeps its pattern)."""
    K = patterns.shape[0]
    keep = (1 << K) - 1
    for pr in range(SWAP.shape[0]):
        if SWAP[pr, 0, 0] < 0:
            continue
        invariant = True
        for i in range(masks.shape[0]):
            if SWAP[pr, 1, masks[i]] != masks[i]:
                invariant = False
                break
        if invariant:
            for q in range(K):
                if (not patterns[q, SWAP[pr, 0, 0]]) and patterns[q, SWAP[pr, 0, 1]]:
                    keep &= ~(1 << q)
    return keep


@njit(cache=True)
def relu_outputs(theta, Xt, rows, v, h, D, offset):
    """``offset + Σ_j v_j max(0, x̃_i·θ_j)`` for the samples ``rows`` (``θ_j`` the ``j``-th
    block of ``D`` entries of ``theta``)."""
    out = np.empty(rows.shape[0])
    for s in range(rows.shape[0]):
        i = rows[s]
        f = offset
        for j in range(h):
            z = 0.0
            for q in range(D):
                z += Xt[i, q] * theta[j * D + q]
            if z > 0.0:
                f += z * v[j]
        out[s] = f
    return out


@njit(cache=True)
def centre_residuals(open_, beta, Xt, y, v, h, D):
    """Residuals ``y_i - f_i`` of the network at ``beta`` (true ReLUs) on the open samples."""
    f = relu_outputs(beta, Xt, open_, v, h, D, beta[-1])
    res = np.empty(open_.shape[0])
    for s in range(open_.shape[0]):
        res[s] = y[open_[s]] - f[s]
    return res


@njit(cache=True)
def rank_key(r, closes, has_fixed):
    """A branching candidate's rank: its sample's squared residual ``r²``, times
    ``WRONG_SIGN_WEIGHT`` when no unit of the candidate can move the output towards
    ``y_i`` (``closes``: some unit ``j`` of it has ``v_j r > 0``) at a node with a fixed
    sample.

    The relaxation closes a residual with the slack between a unit's ReLU and its chord,
    which only units of the residual's sign can offer; the others can sit on their ReLU
    (in MIP terms their binaries can be integral), so splitting them gains less. Not at
    a node without a fixed sample: there the relaxation fits every sample (bound 0) and
    the centre says nothing."""
    if has_fixed and not closes:
        return r * r * WRONG_SIGN_WEIGHT
    return r * r


@njit(cache=True)
def branch_sample(
    cost,
    open_,
    masks,
    beta_c,
    Xt,
    y,
    v,
    patterns,
    SWAP,
    T,
    h,
    D,
    symmetry,
):
    """Branching without evaluation (one-sign cases): the open sample of largest
    :func:`rank_key` (its squared residual at the centre network, less where the units'
    sign cannot close it; ties: the larger product of its two cheapest patterns'
    closed-form costs), each allowed pattern a child (orbital fixing applied).
    Returns (i, child sample masks, child cost increments (max(c, 0)))."""
    o = open_.shape[0]
    K = patterns.shape[0]
    floor = SCORE_FLOOR * max(1.0, T if np.isfinite(T) else 1.0)
    residuals = centre_residuals(open_, beta_c, Xt, y, v, h, D)
    kbest = 0
    vbest = -np.inf
    for s in range(o):
        # one sign: every unit closes the residual or none does
        res2 = rank_key(residuals[s], v[0] * residuals[s] > 0.0, o < Xt.shape[0])
        # two smallest costs
        m0 = np.inf
        m1 = np.inf
        for q in range(K):
            c = cost[s, q]
            if c < m0:
                m1 = m0
                m0 = c
            elif c < m1:
                m1 = c
        sc = res2 + 1e-12 * (max(m0, floor) * max(m1, floor))
        if sc > vbest:
            vbest = sc
            kbest = s
    k = kbest
    i = open_[k]
    mi = masks[i]
    kept = mi & orbital_keep(masks, SWAP, patterns) if symmetry else mi
    nk = 0
    for q in range(K):
        nk += (kept >> q) & 1
    kids = np.empty(nk, np.int64)
    inc = np.empty(nk)
    t = 0
    for q in range(K):
        if (kept >> q) & 1:
            kids[t] = 1 << q
            inc[t] = max(cost[k, q], 0.0)
            t += 1
    return i, kids, inc


@njit(cache=True)
def centre_loss(beta, Xt, y, v, B, h, D):
    """The centre network as a candidate incumbent: theta clipped to the box, the output bias
    refitted. Returns (loss, theta, c)."""
    n = Xt.shape[0]
    th = np.empty(h * D)
    for t in range(h * D):
        th[t] = min(max(beta[t], -B), B)
    A = relu_outputs(th, Xt, np.arange(n), v, h, D, 0.0)
    c = 0.0
    for i in range(n):
        c += y[i] - A[i]
    c /= n
    rr = 0.0
    for i in range(n):
        r = y[i] - A[i] - c
        rr += r * r
    return rr, th, c


# ----------------------------------------------------------------------------- strong branching
@njit(cache=True)
def strong_branch(
    cost,
    open_,
    masks,
    beta_c,
    bound,
    ncand,
    units,
    Xt,
    y,
    U,
    Phi,
    v,
    E,
    R2,
    B,
    POP,
    SINGLE,
    ON,
    OFF,
    OPENU,
    KON,
    ALLOWED,
    patterns,
    unit_half,
    SWAP,
    symmetry,
    hint,
    has_hint,
    T,
    h,
    D,
    rounds_s,
    extra_rows,
    extra_os_rows,
):
    """Strong branching with a light child evaluation (:func:`evaluate` with ``rounds_s``
    dual rounds, without propagation), over the open samples in order of the centre
    network's squared residual.

    A candidate is a sample (every allowed pattern a child) or, with ``units``, one open
    unit of a sample (two children: the unit active / inactive there); ``ncand``
    candidates are evaluated and the one whose two weakest children gain most wins
    (product of the gains; a pruned child gains ``T - bound``, the most any child can); a
    candidate is left as soon as its children so far score no more than the best, which
    the rest of its children could only lower. Same-sign units that are
    interchangeable at the node are reduced at the branched sample by orbital fixing.
    Returns (i, child masks (nk, n), child bounds); pruned children are dropped (their
    bound exceeds T).

    Units are ranked by :func:`rank_key`: their sample's squared residual ``r_i²``
    (``r_i = y_i - f_i``, the centre network with true ReLUs), less for a unit whose
    output sign cannot move ``f_i`` towards ``y_i`` (``v_j r_i <= 0``); samples by their
    squared residual.
    """
    o = open_.shape[0]
    n = masks.shape[0]
    K = patterns.shape[0]
    floor = SCORE_FLOOR * max(1.0, T if np.isfinite(T) else 1.0)
    big = max(T - bound, 1e-12) if np.isfinite(T) else 1.0
    residuals = centre_residuals(open_, beta_c, Xt, y, v, h, D)
    per = h if units else 1  # candidates per open sample
    key = np.empty(o * per)
    for s in range(o):
        r = residuals[s]
        for j in range(per):
            key[s * per + j] = rank_key(r, not units or v[j] * r > 0.0, o < n)
    order = np.argsort(-key, kind="mergesort")  # ties: sample order, then unit
    # symmetry: patterns dropped at a branched sample (same for every candidate)
    keep = orbital_keep(masks, SWAP, patterns) if symmetry else (1 << K) - 1
    best_sc = -1.0
    best_i = -1
    best_masks = np.zeros((K, n), np.int64)
    best_b = np.zeros(K)
    best_nk = 0
    cm = np.zeros((K, n), np.int64)
    cb = np.zeros(K)
    kids = np.zeros(K, np.int64)  # the candidate's children's masks at its sample
    child = masks.copy()  # a child's masks: the parent's but at the candidate's sample
    tried = 0
    for t_ in range(o * per):
        if tried >= ncand:
            break
        s = order[t_] // per
        j = order[t_] % per
        i = open_[s]
        if units and not OPENU[masks[i], j]:
            continue
        mi = masks[i] & keep
        tried += 1
        nc = 0
        if units:
            for side in range(2):
                kids[nc] = mi & unit_half[j, side]
                nc += 1
        else:
            for q in range(K):
                if (mi >> q) & 1:
                    kids[nc] = 1 << q
                    nc += 1
        g0 = big
        g1 = big
        nk = 0
        for t in range(nc):
            if kids[t] == 0:
                continue  # emptied by orbital fixing
            child[i] = kids[t]
            cmin = np.inf
            for q in range(K):
                if (kids[t] >> q) & 1:
                    cmin = min(cmin, cost[s, q])
            st, b, _, _, _, _, _, _, _, _, _ = evaluate(
                Xt, y, U, Phi, v, E, R2, B, POP, SINGLE, ON, OFF, OPENU, KON, ALLOWED,
                patterns, child, bound + max(cmin, 0.0), hint, has_hint, T, h, D, 1,
                rounds_s, extra_rows, extra_os_rows, False,
            )  # fmt: skip
            if st == 0:
                g = big
            else:
                g = max(b - bound, 0.0)
                cm[nk] = child
                cb[nk] = b
                nk += 1
            if g < g0:
                g1 = g0
                g0 = g
            elif g < g1:
                g1 = g
            if max(g0, floor) * max(g1, floor) <= best_sc:
                # further children only lower g0 and g1: this candidate cannot win
                break
        child[i] = masks[i]
        sc = max(g0, floor) * max(g1, floor)
        if sc > best_sc:
            best_sc = sc
            best_i = i
            best_nk = nk
            for t in range(nk):
                best_masks[t] = cm[t]
                best_b[t] = cb[t]
    return best_i, best_masks[:best_nk].copy(), best_b[:best_nk].copy()


# ----------------------------------------------------------------------------- NNQP on the Gram
@njit(cache=True)
def _passive_solve(H, c, pl, p):
    """z = H[pl,pl]^-1 c[pl] by Cholesky; ok False if a pivot is not above 1e-12 of its diagonal
    (the column is numerically dependent on the ones before it)."""
    L = np.zeros((p, p))
    for a_ in range(p):
        ia = pl[a_]
        s = H[ia, ia]
        for k in range(a_):
            s -= L[a_, k] * L[a_, k]
        if not (s > 1e-12 * H[ia, ia]):
            return np.zeros(p), False
        d = math.sqrt(s)
        L[a_, a_] = d
        for b_ in range(a_ + 1, p):
            t = H[pl[b_], ia]
            for k in range(a_):
                t -= L[b_, k] * L[a_, k]
            L[b_, a_] = t / d
    z = np.empty(p)
    for a_ in range(p):
        t = c[pl[a_]]
        for k in range(a_):
            t -= L[a_, k] * z[k]
        z[a_] = t / L[a_, a_]
    for a_ in range(p - 1, -1, -1):
        t = z[a_]
        for k in range(a_ + 1, p):
            t -= L[k, a_] * z[k]
        z[a_] = t / L[a_, a_]
    return z, True


@njit(cache=True)
def nnqp_gram(H, c, maxiter):
    """min 1/2 x'Hx - c'x s.t. x >= 0, H = A'A, c = A'b: the NNLS min |Ax - b| in normal-equation
    form, by Lawson-Hanson's active set (Bro & de Jong's FNNLS): same iterates in exact
    arithmetic. The passive block is refactorised by Cholesky at each step (it stays small). A
    column that is numerically dependent on the passive set, or whose new value would not be
    positive, is rejected until the next gradient, as in Lawson-Hanson. Returns (x, ok)."""
    m = c.shape[0]
    x = np.zeros(m)
    passive = np.zeros(m, np.bool_)
    blocked = np.zeros(m, np.bool_)
    pl = np.empty(m, np.int64)
    w = np.empty(m)
    wtol = np.empty(m)
    p = 0
    it = 0
    while p < m:
        for j in range(m):
            blocked[j] = False
            if passive[j]:
                continue
            s = c[j]
            sa = abs(c[j])
            for t in range(p):
                hv = H[j, pl[t]] * x[pl[t]]
                s -= hv
                sa += abs(hv)
            w[j] = s
            wtol[j] = 1e-12 * sa
        found = False
        z = np.zeros(0)
        while True:
            wmax = 0.0
            jmax = -1
            for j in range(m):
                if passive[j] or blocked[j]:
                    continue
                if w[j] > wtol[j] and w[j] > wmax:
                    wmax = w[j]
                    jmax = j
            if jmax < 0:
                break
            pl[p] = jmax
            z, ok = _passive_solve(H, c, pl, p + 1)
            if ok and z[p] > 0.0:
                found = True
                break
            blocked[jmax] = True
        if not found:
            break
        passive[jmax] = True
        p += 1
        while True:
            it += 1
            if it >= maxiter:
                return x, False
            alpha = 2.0
            tsel = -1
            for t in range(p):
                if z[t] <= 0.0:
                    xi = x[pl[t]]
                    T = -xi / (z[t] - xi)
                    if alpha > T:
                        alpha = T
                        tsel = t
            if alpha == 2.0:
                break
            for t in range(p):
                x[pl[t]] += alpha * (z[t] - x[pl[t]])
            x[pl[tsel]] = 0.0
            q = 0
            for t in range(p):
                j = pl[t]
                if x[j] <= 0.0:
                    x[j] = 0.0
                    passive[j] = False
                else:
                    pl[q] = j
                    q += 1
            p = q
            if p == 0:
                z = np.zeros(0)
                break
            z, ok = _passive_solve(H, c, pl, p)
            if not ok:
                return x, False
        for t in range(p):
            x[pl[t]] = z[t]
    return x, True


# ----------------------------------------------------------------------------- one call per node


@njit(cache=True)
def node(
    Xt,
    y,
    U,
    Phi,
    v,
    E,
    R2,
    B,
    POP,
    SINGLE,
    ON,
    OFF,
    OPENU,
    KON,
    ALLOWED,
    patterns,
    unit_half,
    SWAP,
    symmetry,
    masks_in,
    inherited,
    hint,
    has_hint,
    best_loss,
    rel_gap,
    abs_gap,
    h,
    D,
    max_passes,
    dual_rounds,
    extra_rows,
    extra_os_rows,
    strong_k,
    rounds_s,
    unit_strong,
):
    """node() with the children built here: returns (st, bound, beta, act, has_act, fixed, pidx,
    n_open, fixings, rr, th, c, child masks (nk, n), child bounds (nk,), strong used).
    strong_k > 0: strong branching (strong_branch) over the strong_k top-residual samples
    or, with unit_strong, strong_k single units, with a light child evaluation (rounds_s
    dual rounds); children carry their light bound."""
    T = (
        best_loss - (rel_gap / 2 * abs(best_loss) + abs_gap / 2)
        if np.isfinite(best_loss)
        else np.inf
    )
    (st, bound, masks, beta, act, has_act, open_, fixed, pidx, cost, fixings) = evaluate(
        Xt,
        y,
        U,
        Phi,
        v,
        E,
        R2,
        B,
        POP,
        SINGLE,
        ON,
        OFF,
        OPENU,
        KON,
        ALLOWED,
        patterns,
        masks_in,
        inherited,
        hint,
        has_hint,
        T,
        h,
        D,
        max_passes,
        dual_rounds,
        extra_rows,
        extra_os_rows,
        True,
    )
    n = Xt.shape[0]
    e_m = np.zeros((0, n), np.int64)
    e_f = np.zeros(0)
    if st == 0:
        return (
            st,
            bound,
            beta,
            act,
            has_act,
            fixed,
            pidx,
            0,
            fixings,
            np.inf,
            e_f,
            0.0,
            e_m,
            e_f,
            False,
        )
    rr, th, c = centre_loss(beta, Xt, y, v, B, h, D)
    no = open_.shape[0]
    if no == 0:
        return (st, bound, beta, act, has_act, fixed, pidx, 0, fixings, rr, th, c, e_m, e_f, False)
    b2 = min(best_loss, rr)
    T2 = b2 - (rel_gap / 2 * abs(b2) + abs_gap / 2) if np.isfinite(b2) else np.inf
    if strong_k > 0:
        ch = act if (has_act and fixed.shape[0] > 0) else np.zeros(0, np.int64)
        hh = has_act and fixed.shape[0] > 0
        i, cm, cb = strong_branch(
            cost, open_, masks, beta, bound, strong_k, unit_strong, Xt, y, U, Phi, v, E, R2, B,
            POP, SINGLE, ON, OFF, OPENU, KON, ALLOWED, patterns, unit_half, SWAP, symmetry, ch,
            hh, T2, h, D, rounds_s, extra_rows, extra_os_rows,
        )  # fmt: skip
        return (st, bound, beta, act, has_act, fixed, pidx, no, fixings, rr, th, c, cm, cb, True)
    i, kids, inc = branch_sample(
        cost,
        open_,
        masks,
        beta,
        Xt,
        y,
        v,
        patterns,
        SWAP,
        T2,
        h,
        D,
        symmetry,
    )
    nk = kids.shape[0]
    cm = np.empty((nk, n), np.int64)
    cb = np.empty(nk)
    for t in range(nk):
        cm[t] = masks
        cm[t, i] = kids[t]
        cb[t] = bound + inc[t]
    return (st, bound, beta, act, has_act, fixed, pidx, no, fixings, rr, th, c, cm, cb, False)
