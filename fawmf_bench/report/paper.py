"""The paper's published numbers as data (Chen et al., AAAI 2020, Tables 1-3), and which of
our datasets each column compares with.

Source: /work/shared/paper/NOTES.md (Table 3 transcribed from the paper) and the dataset
registry's ``paper`` entries (Table 1). The paper's "MRR" is the SUM of reciprocal ranks of a
user's test items (our ``mrr_sum``); it printed no first-hit MRR.
"""

from __future__ import annotations

from dataclasses import dataclass

@dataclass(frozen=True)
class PaperDataset:
    """One of the paper's three datasets: its Table 1 row and its Table 3 column block."""

    key: str  # "ML" / "Amz" / "Db" (the NOTES.md column prefixes)
    title: str
    users: int
    items: int
    positives: int


PAPER_DATASETS: dict[str, PaperDataset] = {
    "ML": PaperDataset("ML", "MovieLens (ML-1M)", 6_040, 3_952, 1_000_209),
    "Amz": PaperDataset("Amz", "Amazon fine-food reviews", 10_619, 37_762, 256_287),
    "Db": PaperDataset("Db", "Douban", 123_480, 20_029, 16_624_937),
}

#: our dataset name -> (paper dataset key, True when ours is only a stand-in for it)
DATASET_MATCH: dict[str, tuple[str, bool]] = {
    "ml-1m": ("ML", False),
    "amazon-finefoods": ("Amz", False),
    "douban": ("Db", False),
    "amazon-grocery-5core": ("Amz", True),
    "douban-monti": ("Db", True),
}

#: Table 3 of the paper: method -> paper dataset key -> our metric name -> value
_TABLE3_ROWS = {
    # method:   ML Pre@5, Rec@5, NDCG@5, MRR | Amz ... | Db ...
    "itempop": (0.2092, 0.0400, 0.2201, 0.8958, 0.0027, 0.0048, 0.0055, 0.0191, 0.1409, 0.0332, 0.1582, 0.6308),
    "wmf": (0.3841, 0.0924, 0.4059, 1.5751, 0.0789, 0.0406, 0.0858, 0.3269, 0.2400, 0.0656, 0.2598, 1.0113),
    "eals": (0.3955, 0.0917, 0.4175, 1.5998, 0.0984, 0.0348, 0.1051, 0.3951, 0.2329, 0.0646, 0.2520, 0.9880),
    "bpr": (0.3613, 0.0798, 0.3794, 1.5023, 0.0988, 0.0469, 0.1060, 0.3969, 0.2371, 0.0582, 0.2570, 1.0093),
    "cdae": (0.3786, 0.0860, 0.3950, 1.5454, 0.0948, 0.0472, 0.0947, 0.3994, 0.2377, 0.0589, 0.2573, 1.0162),
    "exmf": (0.3871, 0.0936, 0.4071, 1.5720, 0.0847, 0.0418, 0.0928, 0.3683, 0.2353, 0.0666, 0.2588, 1.0016),
    "fawmf": (0.4054, 0.0949, 0.4275, 1.6279, 0.1129, 0.0441, 0.1285, 0.4470, 0.2661, 0.0680, 0.2915, 1.0984),
}
_TABLE3_METRICS = ("pre@5", "rec@5", "ndcg@5", "mrr_sum")

PAPER_TABLE3: dict[str, dict[str, dict[str, float]]] = {
    method: {
        key: dict(zip(_TABLE3_METRICS, values[4 * block: 4 * block + 4]))
        for block, key in enumerate(("ML", "Amz", "Db"))
    }
    for method, values in _TABLE3_ROWS.items()
}

#: How the paper's Table 3 was produced (EVALUATION.md, "What the paper actually did")
PAPER_PROTOCOL_NOTE = (
    "paper values: one random 80/20 split, best epoch kept by TEST Pre@5 in the authors' code "
    "(optimistic); the paper's MRR is the summed reciprocal rank, comparable to MRR (paper) only"
)


def paper_match(dataset: str) -> tuple[PaperDataset, bool] | None:
    """The paper dataset ours compares with and whether ours is a stand-in; None if none."""
    match = DATASET_MATCH.get(dataset)
    if match is None:
        return None
    key, stand_in = match
    return PAPER_DATASETS[key], stand_in


def dataset_label(dataset: str) -> str:
    """A dataset's name with its role, e.g. "douban-monti (stand-in for Douban)"."""
    match = paper_match(dataset)
    if match is None or not match[1]:
        return dataset
    return f"{dataset} (stand-in for {match[0].title})"


def paper_table3(dataset: str) -> dict[str, dict[str, float]]:
    """method -> metric -> the paper's Table 3 value for ``dataset``'s paper column ({} if none)."""
    match = paper_match(dataset)
    if match is None:
        return {}
    return {method: blocks[match[0].key] for method, blocks in PAPER_TABLE3.items()}
