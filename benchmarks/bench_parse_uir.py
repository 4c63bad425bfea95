"""Parse a generated Douban-size ``uir.index`` (default 16,830,839 lines) and report time and
peak memory of the parse and of parse + binarize/filter (each in a fresh child process, so the
peak RSS is the parser's own).

    python benchmarks/bench_parse_uir.py [--lines N] [--repeats R] [--keep PATH]

Target (issue 2): under 60 s and under 3 GB peak on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def generate(path: Path, lines: int, seed: int = 0) -> None:
    """Douban-like ids (129,490 users, 58,541 items, ratings 1-5), written in chunks."""
    rng = np.random.default_rng(seed)
    chunk = 2_000_000
    with open(path, "w") as stream:
        for start in range(0, lines, chunk):
            n = min(chunk, lines - start)
            block = pd.DataFrame({"u": rng.integers(1, 129_491, n), "i": rng.zipf(1.3, n) % 58_541 + 1,
                                  "r": rng.integers(1, 6, n)})
            block.to_csv(stream, sep=" ", header=False, index=False)


def child(path: str, stage: str) -> None:
    from fawmf_bench.data.parsers import parse_uir
    from fawmf_bench.data.preprocess import build
    from fawmf_bench.data.registry import FileSpec, Preprocess

    started = time.perf_counter()
    raw = parse_uir(Path(path), FileSpec("uir.index", "uir"))
    result = {"rows": len(raw)}
    if stage == "build":
        data = build("douban", raw, Preprocess(min_item_interactions=3))
        result.update(data.stats())
    result["seconds"] = time.perf_counter() - started
    result["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=16_830_839)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="reuse / keep the generated file here")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    with tempfile.TemporaryDirectory() as scratch:
        path = args.keep or Path(scratch) / "uir.index"
        if not path.exists():
            started = time.perf_counter()
            generate(path, args.lines)
            print(f"generated {args.lines:,} lines ({path.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - started:.1f} s")
        for stage in ("parse", "build"):
            runs = [json.loads(subprocess.run([sys.executable, __file__, "--child", str(path), stage],
                                              check=True, capture_output=True, text=True).stdout)
                    for _ in range(args.repeats)]
            seconds = statistics.median(r["seconds"] for r in runs)
            peak = max(r["peak_rss_gb"] for r in runs)
            extra = {k: v for k, v in runs[0].items() if k not in ("seconds", "peak_rss_gb")}
            print(f"{stage:>5}: median {seconds:.1f} s over {args.repeats} run(s), peak RSS {peak:.2f} GB, {extra}")


if __name__ == "__main__":
    main()
