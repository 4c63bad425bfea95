"""Numba kernel of ExpoMF's E-step (Liang, Charlin, McInerney, Blei; WWW 2016).

Model: a_ui ~ Bernoulli(mu_i); y_ui | a_ui = 1 ~ N(theta_u . beta_i, 1 / lambda_y);
y_ui | a_ui = 0 is 0 with probability 1. The posterior exposure is

    p_ui = 1                                          if y_ui = 1
    p_ui = mu_i phi_ui / (mu_i phi_ui + 1 - mu_i)     if y_ui = 0,
    phi_ui = N(0 | theta_u . beta_i, 1 / lambda_y)
           = sqrt(lambda_y / (2 pi)) exp(-lambda_y (theta_u . beta_i)^2 / 2)

with the correctly normalised Gaussian density (the reference code's sqrt(lambda_y / 2 * pi)
is a known bug, dawenl/expo-mf#4). The marginal log-likelihood of an entry is
log(mu_i phi_ui + 1 - mu_i) for y = 0 and log mu_i + log N(1 | theta_u . beta_i, 1 / lambda_y)
for y = 1.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def exposure_posterior(
    block: np.ndarray,
    mu: np.ndarray,
    lambda_y: float,
    indptr: np.ndarray,
    indices: np.ndarray,
    row_start: int,
    loglik: np.ndarray,
) -> None:
    """Turn ``block`` (predictions theta_u . beta_i for users row_start.. of a block, all items)
    into posteriors p_ui in place.

    Positives come from the CSR (indptr, indices; sorted) of the full matrix. If ``loglik`` has
    one entry per block row, it receives each user's marginal log-likelihood
    sum_i log p(y_ui | theta_u, beta_i, mu_i); pass an empty array to skip that work.
    """
    n_rows, n_items = block.shape
    norm = np.sqrt(lambda_y / (2.0 * np.pi))
    log_norm = np.log(norm)
    half_lam = 0.5 * lambda_y
    with_loglik = loglik.shape[0] == n_rows
    for r in prange(n_rows):
        row = block[r]
        user = row_start + r
        p, stop = indptr[user], indptr[user + 1]
        next_positive = indices[p] if p < stop else n_items
        total = 0.0
        for i in range(n_items):
            pred = row[i]
            if i == next_positive:
                row[i] = 1.0
                if with_loglik:
                    total += np.log(mu[i]) + log_norm - half_lam * (1.0 - pred) * (1.0 - pred)
                p += 1
                next_positive = indices[p] if p < stop else n_items
            else:
                weighted = mu[i] * norm * np.exp(-half_lam * pred * pred)
                evidence = weighted + (1.0 - mu[i])
                row[i] = weighted / evidence
                if with_loglik:
                    total += np.log(evidence)
        if with_loglik:
            loglik[r] = total
