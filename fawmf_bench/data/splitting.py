"""Train / validation / test splits (owned by the evaluation-core work; this module holds
the shared :class:`Split` contract that models, runner and tests rely on).

Protocols
---------
- ``cv`` (default): per-user stratified k-fold; inside each training fold ~10% of each
  user's training positives become validation (at least one where the user has >= 2).
- ``paper``: one random 80/20 split of all positives (the authors' setting), with the same
  validation carve-out from the 80%.
"""

from __future__ import annotations

from dataclasses import dataclass

import scipy.sparse as sp


@dataclass(frozen=True)
class Split:
    """One fold.

    ``train`` is the whole training fold (the refit model is trained on it and the test
    evaluation excludes it); ``fit_train`` = train minus validation (used while choosing
    epochs / hyperparameters / scoring, evaluated on ``validation`` with ``fit_train``
    excluded). All matrices are binary CSR with the dataset's full shape.
    """

    train: sp.csr_matrix
    fit_train: sp.csr_matrix
    validation: sp.csr_matrix
    test: sp.csr_matrix
    fold: int
    protocol: str
    seed: int
    dataset_checksum: str = ""
