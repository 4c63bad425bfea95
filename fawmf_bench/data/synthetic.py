"""The embedded ``synthetic`` dataset, drawn from the exposure model FAWMF assumes.

Generative story (deterministic given the seed):

- community_membership theta_i ~ Dirichlet(concentration) over D communities;
- item_exposure q_jd = sigmoid(popularity_j + affinity_jd), popularity_j ~ N(pop_mean, pop_sd),
  affinity_jd ~ N(0, affinity_sd): every item is exposed to each community with its own
  probability;
- exposure probability gamma_ij = sum_d theta_id q_jd (the quantity FAWMF's Eq. 6 models);
- preference rho_ij = sigmoid(sharpness * u_i.v_j + bias) with u_i, v_j ~ N(0, I / sqrt(K));
- consumption x_ij ~ Bernoulli(gamma_ij * rho_ij): an item is consumed only when it was
  exposed and liked.

``bias`` is chosen by bisection so that the expected density matches the preset. The true
factors are kept in :class:`SyntheticTruth` so tests can ask whether a model recovers the
exposure. Users are generated in fixed blocks of 2,048, each with its own child seed, so the
Douban-size preset (123,480 x 20,029) never holds a dense n x m matrix.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from .dataset import InteractionMatrix, binary_csr

#: name -> (users, items, communities, factors, target density)
PRESETS: dict[str, tuple[int, int, int, int, float]] = {
    "small": (1000, 800, 5, 8, 0.04),
    "ml-1m": (6040, 3706, 10, 20, 999_917 / (6040 * 3503)),
    "douban": (123_480, 20_029, 20, 20, 16_624_937 / (123_480 * 20_029)),
}
_BLOCK = 2048


@dataclass(frozen=True)
class SyntheticTruth:
    """The generator's latent variables (float64)."""

    community_membership: np.ndarray  # (n, D), rows on the simplex
    item_exposure: np.ndarray  # (m, D), probabilities
    user_preference: np.ndarray  # (n, K)
    item_preference: np.ndarray  # (m, K)
    sharpness: float
    bias: float

    def exposure_probability(self, users: np.ndarray) -> np.ndarray:
        """gamma for the given users, shape (len(users), m)."""
        return self.community_membership[users] @ self.item_exposure.T

    def preference_probability(self, users: np.ndarray) -> np.ndarray:
        logits = self.sharpness * (self.user_preference[users] @ self.item_preference.T)
        return expit(logits + self.bias)

    def unobserved_exposure_probability(self, users: np.ndarray) -> np.ndarray:
        """P(a_ij = 1 | x_ij = 0) = gamma (1 - rho) / (1 - gamma rho): the true exposure of a pair
        that was not consumed, (len(users), m)."""
        gamma = self.exposure_probability(users)
        rho = self.preference_probability(users)
        return gamma * (1.0 - rho) / (1.0 - gamma * rho)


def generate(
    preset: str = "small",
    seed: int = 0,
    *,
    concentration: float = 0.2,
    pop_mean: float = -1.0,
    pop_sd: float = 1.0,
    affinity_sd: float = 2.0,
    sharpness: float = 4.0,
    shape: tuple[int, int, int, int, float] | None = None,
) -> tuple[InteractionMatrix, SyntheticTruth]:
    """Draw the ``preset`` dataset; returns the binary matrix and the true latent factors.

    ``shape`` = (users, items, communities, factors, density) replaces the preset's (the
    dataset is then named "synthetic-custom"), e.g. for a sweep over density."""
    if shape is None and preset not in PRESETS:
        raise KeyError(f"unknown synthetic preset {preset!r}; known: {', '.join(PRESETS)}")
    n, m, n_comm, k, density = PRESETS[preset] if shape is None else shape
    if shape is not None:
        n, m, n_comm, k, density = int(n), int(m), int(n_comm), int(k), float(density)
        if min(n, m, n_comm, k) < 1 or not 0.0 < density < 1.0:
            raise ValueError(f"synthetic shape needs positive sizes and a density in (0, 1), got {shape}")
        preset = "custom"
    root = np.random.SeedSequence([seed, n, m])
    factors_seed, *block_seeds = root.spawn(1 + (n + _BLOCK - 1) // _BLOCK)
    rng = np.random.default_rng(factors_seed)
    membership = rng.dirichlet(np.full(n_comm, concentration), size=n)
    popularity = rng.normal(pop_mean, pop_sd, size=(m, 1))
    exposure = expit(popularity + rng.normal(0.0, affinity_sd, size=(m, n_comm)))
    user_pref = rng.normal(0.0, k**-0.25, size=(n, k))
    item_pref = rng.normal(0.0, k**-0.25, size=(m, k))

    probe = np.arange(min(n, 1024))
    gamma_probe = membership[probe] @ exposure.T
    dot_probe = sharpness * (user_pref[probe] @ item_pref.T)
    lo, hi = -20.0, 20.0
    for _ in range(60):  # bisection on the bias for the target density
        mid = 0.5 * (lo + hi)
        if np.mean(gamma_probe * expit(dot_probe + mid)) < density:
            lo = mid
        else:
            hi = mid
    truth = SyntheticTruth(membership, exposure, user_pref, item_pref, sharpness, 0.5 * (lo + hi))

    rows, cols = [], []
    for b, block_seed in enumerate(block_seeds):
        users = np.arange(b * _BLOCK, min(n, (b + 1) * _BLOCK))
        prob = truth.exposure_probability(users) * truth.preference_probability(users)
        hit_r, hit_c = np.nonzero(np.random.default_rng(block_seed).random(prob.shape) < prob)
        rows.append(users[hit_r])
        cols.append(hit_c)
    matrix = binary_csr(np.concatenate(rows), np.concatenate(cols), (n, m))
    digest = hashlib.sha256()
    for array in (matrix.indptr, matrix.indices):
        digest.update(np.ascontiguousarray(array, dtype=np.int64).tobytes())
    data = InteractionMatrix(
        name="synthetic" if preset == "small" else f"synthetic-{preset}",
        matrix=matrix,
        user_ids=np.arange(n),
        item_ids=np.arange(m),
        checksum=digest.hexdigest(),
        raw_stats={"ratings": matrix.nnz},
        extra={"preset": preset, "seed": seed, "communities": n_comm, "factors": k},
    )
    return data, truth
