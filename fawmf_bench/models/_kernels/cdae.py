"""Numba kernels of CDAE (Wu et al., "Collaborative Denoising Auto-Encoders for Top-N
Recommender Systems", WSDM 2016).

For user u with observed items O_u, a corrupted input keeps each j in O_u with probability
1 - q and rescales it by 1 / (1 - q) (drop-out corruption):

    z_u   = sigmoid( sum_{j kept} W_j / (1 - q) + V_u + b )
    o_ui  = W'_i . z_u + b'_i                              (logits)
    L_u   = sum_{i in T_u} BCE(o_ui, y_ui)
            + reg / 2 ( sum_{j kept} |W_j|^2 + |V_u|^2 + sum_{i in T_u} |W'_i|^2 )

T_u holds all of O_u (y = 1) and ``negatives * |O_u|`` items drawn uniformly from the user's
unobserved items (y = 0), redrawn every epoch. One AdaGrad step per user and epoch on the
touched parameters; users run in parallel (lock-free, Hogwild style).

Random draws come from a counter-based generator (splitmix64 keyed by the epoch seed and the
user), so a user's sample does not depend on the thread that processes it.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True)
def _mix64(z: np.uint64) -> np.uint64:
    """The splitmix64 finaliser (Steele et al. 2014)."""
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def _next_unit(state: np.ndarray) -> float:
    """Next uniform [0, 1) double from the one-element uint64 ``state`` (advanced in place)."""
    state[0] += _GOLDEN
    return float(_mix64(state[0]) >> np.uint64(11)) * _TO_UNIT


@njit(cache=True)
def draw_user_sample(
    seed: np.uint64,
    user: int,
    indptr: np.ndarray,
    indices: np.ndarray,
    observed: np.ndarray,
    corruption: float,
    negatives: int,
):
    """One user's corrupted input and training targets for one epoch.

    ``observed`` is a boolean scratch array over the items, all False on entry and on exit.
    Returns (kept input items, target items, target labels 1.0 / 0.0). Negatives are drawn
    uniformly from the unobserved items (up to 64 redraws each; skipped if none is found).
    """
    n_items = observed.shape[0]
    state = np.empty(1, dtype=np.uint64)
    state[0] = _mix64(seed ^ _mix64(np.uint64(user) + _GOLDEN))
    start, stop = indptr[user], indptr[user + 1]
    n_pos = stop - start
    kept = np.empty(n_pos, dtype=np.int64)
    n_kept = 0
    for p in range(start, stop):
        observed[indices[p]] = True
        if _next_unit(state) >= corruption:
            kept[n_kept] = indices[p]
            n_kept += 1
    n_neg = negatives * n_pos if n_pos < n_items else 0
    targets = np.empty(n_pos + n_neg, dtype=np.int64)
    labels = np.zeros(n_pos + n_neg, dtype=np.float64)
    for p in range(n_pos):
        targets[p] = indices[start + p]
        labels[p] = 1.0
    n_targets = n_pos
    for _ in range(n_neg):
        for _try in range(64):
            item = min(int(_next_unit(state) * n_items), n_items - 1)
            if not observed[item]:
                targets[n_targets] = item
                n_targets += 1
                break
    for p in range(start, stop):
        observed[indices[p]] = False
    return kept[:n_kept], targets[:n_targets], labels[:n_targets]


@njit(cache=True, fastmath=True)
def user_step(
    user, kept, targets, labels,
    w_in, v_user, b_hidden, w_out, b_out,
    g_w_in, g_v_user, g_b_hidden, g_w_out, g_b_out,
    inv_keep, learning_rate, reg,
) -> float:
    """One AdaGrad step on L_u (module docstring) for user ``user``; returns L_u before the step.

    Gradients: d_i = sigmoid(o_ui) - y_ui; dW'_i = d_i z + reg W'_i; db'_i = d_i;
    delta = (sum_i d_i W'_i) * z (1 - z); dW_j = delta / (1 - q) + reg W_j; dV_u = delta + reg V_u;
    db = delta. All gradients use the parameters before the step. AdaGrad (Duchi et al. 2011):
    G += g^2; p -= lr g / sqrt(G).
    """
    k = w_in.shape[1]
    dtype = w_out.dtype
    lr = dtype.type(learning_rate)
    lam = dtype.type(reg)
    scale = dtype.type(inv_keep)
    tiny = dtype.type(1e-10)
    pre = np.empty(k, dtype=dtype)
    for f in range(k):
        pre[f] = v_user[user, f] + b_hidden[f]
    for j in kept:
        for f in range(k):
            pre[f] += scale * w_in[j, f]
    z = np.empty(k, dtype=dtype)
    for f in range(k):
        z[f] = 1.0 / (1.0 + np.exp(-pre[f]))
    dz = np.zeros(k, dtype=dtype)
    loss = 0.0
    sq = 0.0
    for t in range(targets.shape[0]):
        i = targets[t]
        row = w_out[i]
        row_acc = g_w_out[i]
        logit = b_out[i]
        norm = dtype.type(0.0)
        for f in range(k):
            logit += row[f] * z[f]
            norm += row[f] * row[f]
        sq += norm
        # BCE(o, y) = softplus(o) - y o, computed stably
        loss += max(logit, 0.0) + np.log1p(np.exp(-abs(logit))) - labels[t] * logit
        d = dtype.type(1.0 / (1.0 + np.exp(-logit)) - labels[t])
        for f in range(k):
            w = row[f]
            dz[f] += d * w
            g = d * z[f] + lam * w
            acc = row_acc[f] + g * g
            row_acc[f] = acc
            row[f] = w - lr * g / (np.sqrt(acc) + tiny)
        acc = g_b_out[i] + d * d
        g_b_out[i] = acc
        b_out[i] -= lr * d / (np.sqrt(acc) + tiny)
    delta = np.empty(k, dtype=dtype)
    for f in range(k):
        delta[f] = dz[f] * z[f] * (1 - z[f])
    for j in kept:
        for f in range(k):
            w = w_in[j, f]
            sq += w * w
            g = scale * delta[f] + lam * w
            acc = g_w_in[j, f] + g * g
            g_w_in[j, f] = acc
            w_in[j, f] = w - lr * g / (np.sqrt(acc) + tiny)
    for f in range(k):
        w = v_user[user, f]
        sq += w * w
        g = delta[f] + lam * w
        acc = g_v_user[user, f] + g * g
        g_v_user[user, f] = acc
        v_user[user, f] = w - lr * g / (np.sqrt(acc) + tiny)
        g = delta[f]
        acc = g_b_hidden[f] + g * g
        g_b_hidden[f] = acc
        b_hidden[f] -= lr * g / (np.sqrt(acc) + tiny)
    return loss + 0.5 * reg * sq


@njit(cache=True, parallel=True)
def cdae_epoch(
    indptr, indices, n_items, user_order, seed, corruption, negatives,
    w_in, v_user, b_hidden, w_out, b_out,
    g_w_in, g_v_user, g_b_hidden, g_w_out, g_b_out,
    learning_rate, reg,
) -> float:
    """One epoch: every user in ``user_order`` draws a sample and takes one AdaGrad step.

    Users are cut into chunks run in parallel (each with its own scratch mask). Returns the
    sum of the per-user losses L_u (each evaluated before its own step).
    """
    n_order = user_order.shape[0]
    losses = np.zeros(n_order)
    inv_keep = 1.0 / (1.0 - corruption)
    chunk = 64
    n_chunks = (n_order + chunk - 1) // chunk
    for c in prange(n_chunks):
        observed = np.zeros(n_items, dtype=np.bool_)
        for idx in range(c * chunk, min(n_order, (c + 1) * chunk)):
            user = user_order[idx]
            if indptr[user + 1] == indptr[user]:
                continue
            kept, targets, labels = draw_user_sample(
                seed, user, indptr, indices, observed, corruption, negatives
            )
            losses[idx] = user_step(
                user, kept, targets, labels,
                w_in, v_user, b_hidden, w_out, b_out,
                g_w_in, g_v_user, g_b_hidden, g_w_out, g_b_out,
                inv_keep, learning_rate, reg,
            )
    return losses.sum()
