"""Binarize, deduplicate and filter against a plain-Python reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fawmf_bench.data.errors import DataError
from fawmf_bench.data.parsers import RawInteractions
from fawmf_bench.data.preprocess import build
from fawmf_bench.data.registry import Preprocess


def reference(rows, min_item: int, min_user: int, min_rating=None) -> set[tuple[int, int]]:
    """The same preprocessing written with dicts and sets."""
    pairs = {(u, i) for u, i, r in rows if min_rating is None or r >= min_rating}
    item_count: dict[int, int] = {}
    for _, i in pairs:
        item_count[i] = item_count.get(i, 0) + 1
    pairs = {(u, i) for u, i in pairs if item_count[i] >= max(1, min_item)}
    user_count: dict[int, int] = {}
    for u, _ in pairs:
        user_count[u] = user_count.get(u, 0) + 1
    return {(u, i) for u, i in pairs if user_count[u] >= max(1, min_user)}


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 30), st.integers(100, 120), st.integers(1, 5)), min_size=1, max_size=200),
       min_item=st.integers(0, 4), min_user=st.integers(0, 3), min_rating=st.sampled_from([None, 4]))
def test_build_matches_reference(rows, min_item, min_user, min_rating) -> None:
    raw = RawInteractions(*(np.array(c) for c in zip(*rows)))
    expected = reference(rows, min_item, min_user, min_rating)
    prep = Preprocess(min_rating=min_rating, min_item_interactions=min_item, min_user_interactions=min_user)
    if not expected:
        with pytest.raises(DataError, match="empty after filtering"):
            build("t", raw, prep)
        return
    data = build("t", raw, prep)
    coo = data.matrix.tocoo()
    got = {(int(data.user_ids[r]), int(data.item_ids[c])) for r, c in zip(coo.row, coo.col)}
    assert got == expected
    assert data.matrix.dtype == np.float32 and np.all(data.matrix.data == 1)
    assert np.all(np.diff(data.matrix.indptr) > 0) and np.all(data.matrix.getnnz(axis=0) > 0)
    assert np.all(np.diff(data.user_ids) > 0) and np.all(np.diff(data.item_ids) > 0)
    assert data.raw_stats["ratings"] == len(rows)


def test_features_follow_dense_indices() -> None:
    import pandas as pd

    raw = RawInteractions(np.array([5, 5, 9, 9, 7, 7]), np.array([1, 2, 1, 2, 1, 2]))
    users = pd.DataFrame({"gender": ["F", "M", "F"]}, index=[9, 7, 5])
    data = build("t", raw, Preprocess(min_item_interactions=3), user_features=users)
    assert data.user_ids.tolist() == [5, 7, 9]
    assert data.user_features["gender"].tolist() == ["F", "M", "F"]


def test_checksum_depends_on_content_only() -> None:
    raw = RawInteractions(np.array([1, 2, 3, 1]), np.array([4, 4, 4, 4]))
    same = RawInteractions(np.array([3, 2, 1]), np.array([4, 4, 4]))
    other = RawInteractions(np.array([1, 2, 3, 3]), np.array([4, 4, 4, 5]))
    prep = Preprocess(min_item_interactions=1)
    assert build("a", raw, prep).checksum == build("b", same, prep).checksum
    assert build("a", raw, prep).checksum != build("a", other, prep).checksum
