"""FAWMF: fast adaptively weighted matrix factorization (Chen et al., AAAI 2020).

The confidence weight of datum (i, j) is the exposure probability gamma_ij = theta_i . q_j,
a function of the data (Eq. 6): theta_i = softmax(g_i) are user i's community memberships,
q_jd = sigmoid(w_j s_jd + b_j) item j's exposure in community d, s_jd = sum_k alpha_k theta_kd
x_kj. The objective (Eq. 5 with the authors' eta and L2 terms) is in
:mod:`fawmf_bench.models.fawmf_gradient`. Learners (Figure 4):

- ``fbgd`` (default): full-batch Adam on the exact gradient computed in
  O((n + m) K^2 D + |X+| (K + D)) per epoch;
- ``bgd``: the same gradient over dense n x m matrices (the paper's "original BGD");
- ``sgd``: mini-batch Adam on the positives plus ``negative_ratio`` x |X+| sampled pairs
  (``uniform`` or ``itempop`` item sampling), randomly partitioned into batches of about
  ``batch_size`` pairs each epoch; S refreshed once per epoch.

Defaults are the authors' (awmf.m): K = D = 20, eps = 1e-5, eta = 1, learning rates 0.1, L2
0.01 on U, V, w, b and 0.001 on g; U, V ~ U(0, 0.1), g ~ U(-.5, .5), w ~ U(.01, .02),
b ~ U(-.5, .5). ``user_influence=True`` learns alpha (Eq. 6; kept >= 0 by projection, L2
``influence_reg`` towards 1); the default fixes alpha = 1 as the authors' code does.

The floor w >= 1e-5 (``weight_floor``):

- ``"on_read"`` (default, awmf.m): Adam moves an unclamped shadow h_j (``exposure_weight_shadow_``)
  and w_j = max(1e-5, h_j) wherever w is read (the gradient, its L2 term, Q, the scores); the
  gradient with respect to w at max(1e-5, h) is applied to h as it is. h may drift far below the
  floor, so w then sits on it for many epochs;
- ``"projected"``: w itself takes the Adam step and is clamped, w = max(1e-5, w - step), the
  rule of this package before the authors' code was matched step by step.

``device`` (:mod:`~fawmf_bench.models.devices`): "cpu" runs the numba kernels; "cuda",
"torch-cpu" or "auto" run the fbgd / bgd learners in PyTorch (``_torch/fawmf.py``), same
initialisation, objective and update rule (both floor rules).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax

from ._kernels.fawmf_sgd import fawmf_batch_gradient, fawmf_pair_labels, fawmf_softmax_backward
from ._kernels.fbgd import fawmf_adam_step
from .base import (NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE_INT, Characteristics, FitMonitor, Options, Recommender,
                   check_train, run_epochs)
from .devices import DEVICE_NAME, TorchBacked, check_device_name, resolve_device
from .fawmf_gradient import (
    PARAMETER_NAMES,
    FBGDWorkspace,
    Objective,
    dense_loss_and_gradient,
    fbgd_loss_and_gradient,
    item_exposure,
)

LEARNERS = ("fbgd", "bgd", "sgd")
SAMPLERS = ("uniform", "itempop")
WEIGHT_FLOORS = ("on_read", "projected")
#: dense n x m arrays alive at once in the "bgd" gradient (X, R - X, (R - X)^2, (x - eps)^2, G,
#: and two temporaries)
BGD_DENSE_ARRAYS = 7
_FLOORS = {"exposure_weight": 1e-5, "user_influence": 0.0}


class FAWMF(TorchBacked, Recommender):
    """FAWMF with the fBGD, BGD or SGD learner (module docstring)."""

    name = "fawmf"
    label = "FAWMF"
    plot_order = 6
    color = "#0072B2"
    characteristics = Characteristics("yes", "yes", "O((n+m)K^2 D + |X+|(K+D))")
    scorings = ("preference", "exposure")
    _parameter_constraints = {
        **{key: [POSITIVE_INT] for key in ("factors", "communities", "epochs", "batch_size", "negative_ratio")},
        **{key: [NON_NEGATIVE] for key in ("epsilon", "eta", "learning_rate", "exposure_learning_rate", "factor_reg",
                                           "membership_reg", "exposure_weight_reg", "exposure_bias_reg",
                                           "influence_reg", "bgd_memory_budget_mb")},
        "user_influence": [bool], "learner": [Options(LEARNERS)], "sampler": [Options(SAMPLERS)],
        "dtype": [Options(("float32", "float64"))], "random_state": [NON_NEGATIVE_INT],
        "weight_floor": [Options(WEIGHT_FLOORS)], "device": [DEVICE_NAME],
    }
    _saved_private = ("_train_t", "_version")  # the exposure scoring needs the item-user matrix

    def __init__(self, *, factors: int = 20, communities: int = 20, epsilon: float = 1e-5,
                 eta: float = 1.0, learning_rate: float = 0.1, exposure_learning_rate: float = 0.1,
                 factor_reg: float = 0.01, membership_reg: float = 0.001,
                 exposure_weight_reg: float = 0.01, exposure_bias_reg: float = 0.01,
                 user_influence: bool = False, influence_reg: float = 0.01,
                 learner: str = "fbgd", sampler: str = "uniform", negative_ratio: int = 1,
                 batch_size: int = 65536, epochs: int = 1000, random_state: int = 0,
                 scoring: str | None = None, dtype: str = "float32",
                 bgd_memory_budget_mb: float = 2048.0, weight_floor: str = "on_read",
                 device: str = "cpu") -> None:
        self.factors = factors
        self.communities = communities
        self.epsilon = epsilon
        self.eta = eta
        self.learning_rate = learning_rate
        self.exposure_learning_rate = exposure_learning_rate
        self.factor_reg = factor_reg
        self.membership_reg = membership_reg
        self.exposure_weight_reg = exposure_weight_reg
        self.exposure_bias_reg = exposure_bias_reg
        self.user_influence = user_influence
        self.influence_reg = influence_reg
        self.learner = learner
        self.sampler = sampler
        self.negative_ratio = negative_ratio
        self.batch_size = batch_size
        self.epochs = epochs
        self.random_state = random_state
        self.scoring = scoring
        self.dtype = dtype
        self.bgd_memory_budget_mb = bgd_memory_budget_mb
        self.weight_floor = weight_floor
        self.device = device

    # ----------------------------------------------------------------- validation
    def _validate(self, train: sp.spmatrix) -> sp.csr_matrix:
        who = "FAWMF"
        train = check_train(train, who)
        if not np.all(train.data == 1):
            raise ValueError(f"{who}.fit expects a binary matrix (all stored values 1)")
        self._validate_params()
        if self.learner == "sgd" and check_device_name(self.device) not in ("cpu", "auto"):
            raise ValueError("FAWMF: learner 'sgd' runs on the CPU only; use device='cpu' or learner 'fbgd'/'bgd'")
        if self.learner == "bgd":
            needed = bgd_memory_mb(train.shape, self.dtype)
            if needed > self.bgd_memory_budget_mb:
                raise ValueError(
                    f"{who}(learner='bgd') needs about {needed:,.0f} MB for its dense "
                    f"{train.shape[0]} x {train.shape[1]} matrices, over bgd_memory_budget_mb="
                    f"{self.bgd_memory_budget_mb:,.0f}; use learner='fbgd' or raise the budget")
        return train

    def _objective(self) -> Objective:
        return Objective(eta=float(self.eta), epsilon=float(self.epsilon),
                         factor_reg=float(self.factor_reg), membership_reg=float(self.membership_reg),
                         exposure_weight_reg=float(self.exposure_weight_reg),
                         exposure_bias_reg=float(self.exposure_bias_reg),
                         influence_reg=float(self.influence_reg),
                         learn_influence=bool(self.user_influence))

    # ----------------------------------------------------------------- learning
    def fit(self, train: sp.spmatrix, monitor: FitMonitor | None = None) -> "FAWMF":
        """Learn U, V, g, w, b (and alpha) from the binary CSR ``train`` (users x items)."""
        train = self._validate(train)
        n, m = train.shape
        dtype = np.dtype(self.dtype)
        rng = np.random.default_rng(np.random.SeedSequence(self.random_state))
        k, d = self.factors, self.communities
        self.user_factors_ = rng.uniform(0.0, 0.1, (n, k)).astype(dtype)
        self.item_factors_ = rng.uniform(0.0, 0.1, (m, k)).astype(dtype)
        self.membership_logits_ = rng.uniform(-0.5, 0.5, (n, d)).astype(dtype)
        self.exposure_weight_ = rng.uniform(0.01, 0.02, m).astype(dtype)
        # the Adam variable behind w (module docstring); w itself under "projected"
        self.exposure_weight_shadow_ = self.exposure_weight_.copy()
        self.exposure_bias_ = rng.uniform(-0.5, 0.5, m).astype(dtype)
        self.user_influence_ = np.ones(n, dtype)
        self._train_t = train.T.tocsr()
        self._train_t.sort_indices()
        self._version = 0
        self._exposure_cache: tuple[int, np.ndarray] | None = None
        params = self._params()
        self._adam = {key: (np.zeros_like(a), np.zeros_like(a)) for key, a in params.items()}
        objective = self._objective()
        self.device_ = resolve_device(self.device) if self.learner != "sgd" else "cpu"
        self._backend = None
        if self.device_ != "cpu":
            from ._torch.fawmf import TorchFAWMF

            self._backend = TorchFAWMF(train, params, objective, self.device_, self.learner,
                                       getattr(self, "weight_floor", "projected"),
                                       float(self.learning_rate), float(self.exposure_learning_rate))
            step = self._backend.step
        else:
            step = self._make_step(train, objective, rng)
        run_epochs(self, step, int(self.epochs), monitor, self.scoring)
        if self._backend is not None:
            self._take_backend_parameters()
            # the backend stores the Adam variable; the numba path keeps w as read and its shadow apart
            self.exposure_weight_shadow_ = self.exposure_weight_.copy()
            if self.weight_floor == "on_read":
                self.exposure_weight_ = np.maximum(self.exposure_weight_, _FLOORS["exposure_weight"])
        self._version += 1
        return self

    def _params(self) -> dict[str, np.ndarray]:
        return {key: getattr(self, key + "_") for key in PARAMETER_NAMES}

    def _adam_update(self, grads: dict[str, np.ndarray], step: int) -> None:
        """One Adam step on every parameter; the floors of ``_FLOORS`` are applied on read
        (an unclamped shadow) or by projection (module docstring, ``weight_floor``)."""
        params = self._params()
        for key, grad in grads.items():
            rate = self.learning_rate if key in ("user_factors", "item_factors") \
                else self.exposure_learning_rate
            first, second = self._adam[key]
            read = params[key].reshape(-1)
            shadow = read
            if key == "exposure_weight" and self.weight_floor == "on_read":
                shadow = self.exposure_weight_shadow_.reshape(-1)
            fawmf_adam_step(shadow, np.ascontiguousarray(grad).reshape(-1),
                            first.reshape(-1), second.reshape(-1), float(rate), float(step),
                            _FLOORS.get(key, -np.inf), read)
        if self.weight_floor == "projected":
            self.exposure_weight_shadow_[:] = self.exposure_weight_
        self._version += 1

    def _make_step(self, train: sp.csr_matrix, objective: Objective,
                   rng: np.random.Generator) -> Callable[[int], float]:
        if self.learner == "fbgd":
            work = FBGDWorkspace(train, self._train_t, self.factors, self.communities,
                                 np.dtype(self.dtype))

            def step(epoch: int) -> float:
                loss, grads = fbgd_loss_and_gradient(work, self._params(), objective)
                self._adam_update(grads, epoch)
                return loss
            return step
        if self.learner == "bgd":
            dense = train.toarray().astype(self.dtype)

            def step(epoch: int) -> float:
                loss, grads = dense_loss_and_gradient(dense, self._params(), objective)
                self._adam_update(grads, epoch)
                return loss
            return step
        return self._sgd_step(train, objective, rng)

    def _sgd_step(self, train: sp.csr_matrix, objective: Objective,
                  rng: np.random.Generator) -> Callable[[int], float]:
        """Mini-batch Adam over the positives plus sampled pairs (module docstring)."""
        n, m = train.shape
        pos_users = np.repeat(np.arange(n, dtype=np.int64), np.diff(train.indptr))
        pos_items = train.indices.astype(np.int64)
        popularity = np.cumsum(np.bincount(pos_items, minlength=m).astype(np.float64))
        n_neg = int(self.negative_ratio) * train.nnz
        users = np.concatenate([pos_users, np.repeat(pos_users, int(self.negative_ratio))])
        n_batches = max(1, -(-users.size // int(self.batch_size)))
        batch_dtype = np.uint16 if n_batches <= np.iinfo(np.uint16).max else np.int64
        counter = {"batches": 0}
        dtype = np.dtype(self.dtype)

        def step(epoch: int) -> float:
            if self.sampler == "uniform":
                neg_items = rng.integers(0, m, n_neg)
            else:
                neg_items = np.searchsorted(popularity, rng.random(n_neg) * popularity[-1], side="right")
            items = np.concatenate([pos_items, neg_items])
            labels = np.ones(users.size, dtype)
            fawmf_pair_labels(train.indptr, train.indices, users[train.nnz:], items[train.nnz:],
                              labels[train.nnz:])
            # a random partition of the pairs into batches of about batch_size; a stable (radix)
            # sort keeps each batch in user order, so the user-side rows stay in cache
            batch_of = rng.integers(0, n_batches, users.size, dtype=batch_dtype)
            order = np.argsort(batch_of, kind="stable")
            bounds = np.concatenate([[0], np.cumsum(np.bincount(batch_of, minlength=n_batches))])
            params = self._params()
            theta = softmax(params["membership_logits"], axis=1).astype(dtype)
            load, _ = item_exposure(self._train_t, theta, params)
            total = 0.0
            for start, stop in zip(bounds[:-1], bounds[1:]):
                if stop > start:
                    batch = order[start:stop]
                    total += self._sgd_batch(users[batch], items[batch], labels[batch], load,
                                             batch.size / users.size, objective, counter)
            return total + objective.penalty(self._params())
        return step

    def _sgd_batch(self, users: np.ndarray, items: np.ndarray, labels: np.ndarray,
                   load: np.ndarray, share: float, objective: Objective,
                   counter: dict[str, int]) -> float:
        p = self._params()
        theta = softmax(p["membership_logits"], axis=1).astype(load.dtype)
        q = expit(p["exposure_weight"][:, None] * load + p["exposure_bias"][:, None]).astype(load.dtype)
        d_u = share * objective.factor_reg * p["user_factors"]
        d_v = share * objective.factor_reg * p["item_factors"]
        d_theta = np.zeros_like(theta)
        d_q = np.zeros_like(q)
        loss = fawmf_batch_gradient(users, items, labels, p["user_factors"], p["item_factors"],
                                    theta, q, objective.eta, objective.epsilon, d_u, d_v,
                                    d_theta, d_q)
        d_g = np.empty_like(theta)
        fawmf_softmax_backward(theta, d_theta, p["membership_logits"], objective.membership_reg,
                               share, d_g)
        d_z = d_q * q * (1.0 - q)
        grads = {"user_factors": d_u, "item_factors": d_v, "membership_logits": d_g,
                 "exposure_weight": np.sum(d_z * load, axis=1)
                 + share * objective.exposure_weight_reg * p["exposure_weight"],
                 "exposure_bias": np.sum(d_z, axis=1)
                 + share * objective.exposure_bias_reg * p["exposure_bias"]}
        counter["batches"] += 1
        self._adam_update(grads, counter["batches"])
        return float(loss)

    # ----------------------------------------------------------------- inspection
    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        self._version += 1

    def community_membership(self) -> np.ndarray:
        """theta = softmax(g), (n, D): each user's membership of the D communities."""
        return softmax(self.membership_logits_, axis=1).astype(self.user_factors_.dtype)

    def item_community_exposure(self) -> np.ndarray:
        """Q, (m, D): q_jd = sigmoid(w_j s_jd + b_j), item j's exposure in community d (Eq. 6)."""
        if getattr(self, "_exposure_cache", None) is None or self._exposure_cache[0] != self._version:
            _, q = item_exposure(self._train_t, self.community_membership(), self._params())
            self._exposure_cache = (self._version, q)
        return self._exposure_cache[1]

    def item_community_exposure_logits(self) -> np.ndarray:
        """w_j s_jd + b_j, (m, D): the logit of Q, in float64. Orders items like Q but does not
        saturate: for popular items q_jd rounds to exactly 1.0 in float32, so ranking by Q
        would tie them all."""
        load, _ = item_exposure(self._train_t, self.community_membership(), self._params())
        weight = self.exposure_weight_.astype(np.float64)[:, None]
        return weight * load.astype(np.float64) + self.exposure_bias_.astype(np.float64)[:, None]

    def exposure(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        """gamma block theta[users] Q[items]^T, (len(users), len(items) or m)."""
        q = self.item_community_exposure()
        if items is not None:
            q = q[np.asarray(items, dtype=np.int64)]
        return self.community_membership()[np.asarray(users, dtype=np.int64)] @ q.T

    def score(self, users: np.ndarray, scoring: str | None = None) -> np.ndarray:
        """Scores of ``users``: "preference" u_i . v_j or "exposure" gamma_ij * u_i . v_j (the
        paper's S1 / S2); default: the variant chosen on validation, else "preference"."""
        scoring = self._check_scoring(scoring)
        users = np.asarray(users, dtype=np.int64)
        if self._backend is not None:
            return self._backend.score(users, scoring).cpu().numpy()
        preference = self.user_factors_[users] @ self.item_factors_.T
        if scoring == "preference":
            return preference
        theta = softmax(self.membership_logits_[users], axis=1).astype(preference.dtype)
        return (theta @ self.item_community_exposure().T) * preference


def bgd_memory_mb(shape: tuple[int, int], dtype: str | np.dtype) -> float:
    """MB of dense n x m arrays the ``bgd`` learner holds at once."""
    return BGD_DENSE_ARRAYS * shape[0] * shape[1] * np.dtype(dtype).itemsize / 2**20
