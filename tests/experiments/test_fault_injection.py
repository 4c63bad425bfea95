"""Kill -9 at many points of a run (issue 13): the resumed store equals an uninterrupted run's,
bit for bit, and no temporary file is left.

Each interrupted run is a subprocess that SIGKILLs itself at a chosen event: the k-th store or
cache write (half written, or written but not renamed, or just renamed: between a unit's .npz
and its .json), or the k-th evaluation (inside a tuning fit's validation monitor, or after a
final fold's fit); a few more are killed from outside at random times. Runs resume from what
the previous ones left, as a user's would; each round starts from an empty store, and rounds
go on until at least 24 kills have happened.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CONFIG = """
monitor: {metric: pre@5, every: 2, patience: 2}
methods:
  itempop: {params: {}}
  eals:
    params: {factors: 4, epochs: 6}
    grid: {regularization: [0.01, 0.1]}
"""
DRIVER = r'''
import os, signal, sys
from fawmf_bench import _io
from fawmf_bench.experiments import units
from fawmf_bench.cli import main

point, target = sys.argv[1], int(sys.argv[2])
seen = {"n": 0}


def hit(kind):
    if kind == point:
        seen["n"] += 1
        return seen["n"] == target
    return False


def die():
    os.kill(os.getpid(), signal.SIGKILL)


class Handle:
    def __init__(self, handle):
        self.handle = handle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.handle.__exit__(*exc)

    def write(self, data):
        if hit("mid-write"):
            self.handle.write(bytes(data)[: len(data) // 2])
            self.handle.flush()
            die()
        return self.handle.write(data)

    def __getattr__(self, name):
        return getattr(self.handle, name)


class Os:
    def __getattr__(self, name):
        return getattr(os, name)

    def fdopen(self, fd, mode):
        return Handle(os.fdopen(fd, mode))

    def replace(self, source, target):
        if hit("before-rename"):
            die()
        os.replace(source, target)
        if hit("after-rename"):
            die()


_io.os = Os()
evaluate = units.evaluate


def evaluate_then_maybe_die(*args, **kwargs):
    if hit("evaluate"):
        die()
    return evaluate(*args, **kwargs)


units.evaluate = evaluate_then_maybe_die
sys.argv = ["fawmf-bench", *sys.argv[3:]]
main()
'''
POINTS = ("mid-write", "before-rename", "after-rename", "evaluate")


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAWMF_BENCH_")}
    env.update(FAWMF_BENCH_HOME=str(home), PYTHONPATH=str(REPO), NUMBA_NUM_THREADS="1")
    return env


def _run(args: list[str], home: Path, point: str = "none", target: int = 0, kill_after: float | None = None,
         driver: Path | None = None) -> int:
    command = [sys.executable, str(driver), point, str(target), *args]
    process = subprocess.Popen(command, env=_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if kill_after is not None:
        try:
            process.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
    _, err = process.communicate()
    assert process.returncode in (0, -signal.SIGKILL), err.decode()[-2000:]
    return process.returncode


def _canonical(store: Path) -> dict[str, object]:
    """Every record and selection without what legitimately differs between runs (timings,
    provenance, the zip container's timestamps), and every array bit for bit."""
    content: dict[str, object] = {}
    for path in sorted(store.rglob("*")):
        relative = str(path.relative_to(store))
        if path.suffix == ".json":
            record = json.loads(path.read_text())
            for key in ("provenance", "fit_seconds", "fit_cpu_seconds", "arrays_sha256", "_path"):
                record.pop(key, None)
            for row in record.get("trace", []) + record.get("grid", []):
                row.pop("seconds", None)
                row.pop("fit_seconds", None)
            content[relative] = record
        elif path.suffix == ".npz":
            with np.load(path) as npz:
                content[relative] = {k: (npz[k].dtype.str, npz[k].shape, npz[k].tobytes()) for k in npz.files}
    return content


def test_kill_anywhere_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from fawmf_bench.cli import cli

    home = tmp_path / "home"
    rng_data = np.random.default_rng(0)
    rows = [(u, i) for u in range(1, 41) for i in range(1, 31) if rng_data.random() < 0.3]
    (tmp_path / "src" / "douban").mkdir(parents=True)
    (tmp_path / "src" / "douban" / "uir.index").write_text("".join(f"{u} {i} 5\n" for u, i in rows))
    result = CliRunner().invoke(cli, ["download", "douban", "--from", str(tmp_path / "src"), "--no-progress",
                                      "--home", str(home)])
    assert result.exit_code == 0, result.output
    config = tmp_path / "hp.yaml"
    config.write_text(CONFIG)
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)

    def args(out: Path) -> list[str]:
        return ["run", "--dataset", "douban", "--methods", "itempop,eals", "--folds", "3", "--config", str(config),
                "--quiet", "--out", str(out)]

    started = time.perf_counter()
    assert _run(args(tmp_path / "reference"), home, driver=driver) == 0
    full_run = time.perf_counter() - started
    reference = _canonical(tmp_path / "reference" / "store")
    assert sum(1 for k in reference if k.endswith(".npz")) == 2 + 3 + 1 + 3  # eals: 2 tunes + 3 finals, itempop: 1 + 3

    rng = random.Random(13)
    kills: list[str] = []
    round_ = 0
    while round_ < 3 or (len(kills) < 24 and round_ < 8):  # external kills may miss: rounds until enough
        out = tmp_path / f"round{round_}"
        round_ += 1
        for attempt in range(12):
            if attempt % 4 == 3:  # from outside, at a random time
                point, target, after = "none", 0, rng.uniform(0.3, 1.0) * full_run
            else:
                point, target, after = rng.choice(POINTS), rng.randint(1, 3), None
            code = _run(args(out), home, point, target, kill_after=after, driver=driver)
            if code == 0:
                break
            kills.append(f"{point}#{target}" if after is None else f"external@{after:.1f}s")
        assert _run(args(out), home, driver=driver) == 0  # resume to the end
        assert _canonical(out / "store") == reference, f"round {round_} after kills {kills}"
        leftovers = [p for p in [*(out / "store").rglob(".*"), *home.rglob(".*")] if p.is_file()]
        assert not leftovers, leftovers
    assert len(kills) >= 20, kills
    for point in POINTS:
        assert any(k.startswith(point) for k in kills), (point, kills)
