"""Equal-work row blocks for the parallel CSR passes (``_kernels/csr.balanced_row_blocks``)."""

from __future__ import annotations

import numpy as np
import pytest

from fawmf_bench.models._kernels.csr import balanced_row_blocks


def test_blocks_cover_every_row_once_in_order():
    indptr = np.array([0, 100, 101, 102, 110, 200])
    bounds = balanced_row_blocks(indptr, n_blocks=4)
    assert bounds.tolist() == [0, 1, 5]          # row 0 alone holds half of the positives


@pytest.mark.parametrize("n_blocks", [1, 2, 7, 64])
def test_skewed_rows_get_equal_shares(n_blocks: int):
    rng = np.random.default_rng(0)
    counts = np.sort(rng.zipf(1.6, 5000).clip(max=3000))[::-1]   # popular rows first, as ML-1M items
    indptr = np.concatenate([[0], np.cumsum(counts)])
    bounds = balanced_row_blocks(indptr, n_blocks=n_blocks)
    assert bounds[0] == 0 and bounds[-1] == counts.size and np.all(np.diff(bounds) > 0)
    work = np.add.reduceat(counts, bounds[:-1])
    assert work.sum() == counts.sum()
    # no block exceeds an equal share by more than its largest row
    assert work.max() <= counts.sum() / n_blocks + counts.max()
    # while equal row counts (plain prange) would give the first share far more
    even = np.array_split(counts, min(n_blocks, 2))
    if n_blocks >= 2:
        assert even[0].sum() > 3 * even[1].sum()


def test_row_cost_spreads_empty_rows_and_edge_cases():
    indptr = np.zeros(11, dtype=np.int64)            # 10 empty rows
    assert balanced_row_blocks(indptr, n_blocks=4).tolist() == [0, 10]
    assert balanced_row_blocks(indptr, row_cost=1.0, n_blocks=5).tolist() == [0, 2, 4, 6, 8, 10]
    assert balanced_row_blocks(np.array([0]), n_blocks=4).tolist() == [0]
