"""A binary user x item matrix on a torch device, as CSR of X and of X^T sharing one value order.

Per-positive values (G_ij, c_ij, ...) are computed once in X's CSR order; products
X_vals @ D (segment sums over each user's positives) and X^T_vals @ D (over each item's) are
sparse-dense matrix products (cuSPARSE on CUDA), so no n x m array is ever formed.
The sampling learners (BPR, CDAE) gather a batch of users' positives (:meth:`DeviceCSR.positions`)
and draw items a user has not consumed by rejection against the sorted keys u * m + j
(:meth:`DeviceCSR.sample_unconsumed`).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import torch


def _csr(indptr: torch.Tensor, indices: torch.Tensor, values: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    with warnings.catch_warnings():  # torch warns once that sparse CSR is "in beta state"
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(indptr, indices, values, size=size, check_invariants=False)


class DeviceCSR:
    """X (n x m, CSR, sorted indices) on ``device``; ``rows``/``cols`` of the positives in X's
    CSR order; ``to_transposed`` the permutation of that order into X^T's CSR order."""

    def __init__(self, matrix: sp.csr_matrix, device: torch.device, dtype: torch.dtype) -> None:
        n, m = matrix.shape
        self.shape = (n, m)
        self.device, self.dtype = device, dtype
        order = sp.csr_matrix((np.arange(matrix.nnz, dtype=np.float64), matrix.indices, matrix.indptr), shape=(n, m))
        order_t = order.T.tocsr()
        order_t.sort_indices()

        def index(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64)).to(device)

        self.indptr, self.indices = index(matrix.indptr), index(matrix.indices)
        self.indptr_t, self.indices_t = index(order_t.indptr), index(order_t.indices)
        self.to_transposed = index(order_t.data.astype(np.int64))
        self.rows = index(np.repeat(np.arange(n, dtype=np.int64), np.diff(matrix.indptr)))
        self.cols = self.indices
        self.ones = torch.ones(matrix.nnz, dtype=dtype, device=device)
        self._keys: torch.Tensor | None = None

    @property
    def nnz(self) -> int:
        return int(self.cols.numel())

    def matrix(self, values: torch.Tensor | None = None) -> torch.Tensor:
        """X with ``values`` (X's CSR order; default 1) as a torch sparse CSR tensor."""
        values = self.ones if values is None else values
        return _csr(self.indptr, self.indices, values, self.shape)

    def transposed(self, values: torch.Tensor | None = None) -> torch.Tensor:
        """X^T with ``values`` given in X's CSR order, as a torch sparse CSR tensor."""
        values = self.ones if values is None else values.index_select(0, self.to_transposed)
        return _csr(self.indptr_t, self.indices_t, values, (self.shape[1], self.shape[0]))

    def row_dot(self, left: torch.Tensor, right: torch.Tensor, chunk: int = 1 << 22) -> torch.Tensor:
        """left[i] . right[j] for every positive (i, j), in X's order, ``chunk`` positives at a
        time (bounds the nnz x K temporary)."""
        out = torch.empty(self.nnz, dtype=left.dtype, device=left.device)
        for start in range(0, self.nnz, chunk):
            stop = min(start + chunk, self.nnz)
            rows, cols = self.rows[start:stop], self.cols[start:stop]
            out[start:stop] = torch.einsum("pk,pk->p", left.index_select(0, rows), right.index_select(0, cols))
        return out

    @property
    def keys(self) -> torch.Tensor:
        """u * m + j of every positive, in X's CSR order, hence sorted (computed once)."""
        if self._keys is None:
            self._keys = self.rows * self.shape[1] + self.cols
        return self._keys

    def contains(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Whether each (users[s], items[s]) is a positive (binary search in :attr:`keys`)."""
        query = users * self.shape[1] + items
        found = torch.searchsorted(self.keys, query).clamp_(max=max(self.nnz - 1, 0))
        return self.keys[found] == query

    def sample_unconsumed(self, users: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One item per entry of ``users``, uniform over the items that user has not consumed:
        uniform draws over all m items, the ones that hit a positive redrawn until none does.
        Every user must have an unconsumed item (else this never ends)."""
        m = self.shape[1]
        items = torch.randint(m, users.shape, generator=generator, device=self.device)
        pending = torch.nonzero(self.contains(users, items)).flatten()
        while pending.numel():
            redrawn = torch.randint(m, pending.shape, generator=generator, device=self.device)
            items[pending] = redrawn
            pending = pending[self.contains(users[pending], redrawn)]
        return items

    def positions(self, users: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(s, p): for every positive of every ``users[s]``, in order, the index s into ``users``
        and the positive's position p in X's CSR order (so ``cols[p]`` is its item)."""
        starts = self.indptr[users]
        counts = self.indptr[users + 1] - starts
        owner = torch.repeat_interleave(torch.arange(len(users), device=self.device), counts)
        first = torch.cumsum(counts, 0) - counts               # exclusive prefix sum
        offset = torch.arange(owner.numel(), device=self.device) - first[owner]
        return owner, starts[owner] + offset
