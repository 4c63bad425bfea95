"""Where units run: in this process, in a local process pool, or on a Dask cluster.

Every executor has the same small interface (:class:`Executor`): ``submit`` a unit with a
priority, ``next_completed`` blocks until one finishes and returns a :class:`Completion`, and
``slots`` says how many units the runner keeps in flight (the runner holds the rest in its own
priority queue, so a method's final folds overtake other methods' tuning; see ``runner``).

A unit's task is a module-level function ``task(unit, *args) -> None`` that computes the unit
and writes it to the store itself: results travel through the store (a shared filesystem on a
cluster), never through the client's memory, and workers load the dataset themselves.

- :class:`InProcessExecutor`: one unit at a time, in submission (priority) order.
- :class:`PoolExecutor`: ``jobs`` spawned processes; each limits numba and BLAS to
  ``cores // jobs`` threads and exits when its parent dies (``kill -9`` of the run leaves no
  orphans): ``PR_SET_PDEATHSIG`` on Linux plus a thread that watches ``os.getppid()``.
- :class:`DaskExecutor`: a ``distributed.Client`` on an existing scheduler (``--scheduler``)
  or on a ``LocalCluster`` of N single-threaded worker processes (``--cluster local:N``). A
  worker that dies mid-unit is replaced and its task rescheduled by Dask (at most
  ``allowed-failures`` times); exceptions are not retried (they would fail again).
"""

from __future__ import annotations

import abc
import importlib.util
import logging
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # workers import this module before their parent-death guard: keep it light
    from .units import Unit

log = logging.getLogger(__name__)

CLUSTER_EXTRA = 'pip install "fawmf-bench[cluster]"'
#: test hook: "<unit label>=<marker file>" makes a Dask worker SIGKILL itself on that unit's
#: first attempt (the marker file records that it did), to exercise rescheduling.
FAULT_ENV = "FAWMF_BENCH_FAULT_KILL_WORKER"
ALLOWED_FAILURES = 3

Task = Callable[..., Any]


class ExecutorError(RuntimeError):
    """The executor cannot start (no Dask, unreachable scheduler, store not visible)."""


@dataclass(frozen=True)
class Completion:
    unit: Unit
    seconds: float  # wall time of the unit's task on its worker (0 when it failed elsewhere)
    error: str | None = None


class Executor(abc.ABC):
    """Runs units; see the module docstring."""

    slots: int = 1
    description: str = ""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:  # noqa: B027 - optional
        """Release workers (the default holds none)."""

    @abc.abstractmethod
    def submit(self, unit: Unit, priority: int = 0) -> None:
        """Queue ``unit``; a higher ``priority`` runs first where the executor can choose."""

    @abc.abstractmethod
    def next_completed(self) -> Completion:
        """Block until a submitted unit finishes (successfully or not)."""


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


class InProcessExecutor(Executor):
    """Runs each unit in this process when the runner asks for the next completion."""

    slots = 1
    description = "this process"

    def __init__(self, task: Task, args: tuple[Any, ...]) -> None:
        self.task, self.args = task, args
        self.queue: deque[Unit] = deque()

    def submit(self, unit: Unit, priority: int = 0) -> None:
        self.queue.append(unit)

    def next_completed(self) -> Completion:
        unit = self.queue.popleft()
        start = time.perf_counter()
        try:
            self.task(unit, *self.args)
        except KeyboardInterrupt:
            raise
        except Exception as error:  # noqa: BLE001 - reported together at the end of the run
            return Completion(unit, time.perf_counter() - start, _error_text(error))
        return Completion(unit, time.perf_counter() - start)


class PoolExecutor(Executor):
    """``jobs`` spawned worker processes with ``cores // jobs`` numba/BLAS threads each."""

    def __init__(self, task: Task, args: tuple[Any, ...], jobs: int) -> None:
        self.task, self.args, self.slots = task, args, jobs
        threads = max(1, (os.cpu_count() or 1) // jobs)
        self.description = f"a pool of {jobs} processes ({threads} thread(s) each)"
        self.pool = ProcessPoolExecutor(jobs, mp_context=get_context("spawn"), initializer=_pool_worker_setup,
                                        initargs=(threads, os.getpid()))
        self.futures: dict[Future, tuple[Unit, float]] = {}

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, unit: Unit, priority: int = 0) -> None:
        self.futures[self.pool.submit(timed, self.task, unit, self.args)] = (unit, time.perf_counter())

    def next_completed(self) -> Completion:
        done, _ = wait(list(self.futures), return_when=FIRST_COMPLETED)
        future = next(iter(done))
        unit, start = self.futures.pop(future)
        error = future.exception()
        if error is not None:
            return Completion(unit, time.perf_counter() - start, _error_text(error))
        return Completion(unit, future.result())


def timed(task: Task, unit: Unit, args: tuple[Any, ...]) -> float:
    """Run ``task(unit, *args)``; returns its wall seconds."""
    start = time.perf_counter()
    task(unit, *args)
    return time.perf_counter() - start


def limit_threads(threads: int) -> None:
    """numba and BLAS threads of the calling process (numba: of the calling thread)."""
    import numba
    from threadpoolctl import threadpool_limits

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    threadpool_limits(threads)


def _pool_worker_setup(threads: int, parent: int) -> None:
    die_with_parent(parent)
    limit_threads(threads)


def die_with_parent(parent: int, poll_seconds: float = 1.0) -> None:
    """Exit this process when its parent ``parent`` (a pid) dies, even by SIGKILL.

    Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)``; everywhere: a daemon thread polling
    ``os.getppid()`` (the parent's death reparents us). The pid comes from the parent itself:
    a worker still importing when its parent is killed is already reparented when this runs.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os._exit(1)

    threading.Thread(target=watch, name="fawmf-bench-parent-watch", daemon=True).start()


# --------------------------------------------------------------------------------- Dask


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ExecutorError(f"Dask is not installed; {CLUSTER_EXTRA}") from None
    return distributed


def dask_task(task: Task, unit: Unit, args: tuple[Any, ...], threads: int | dict[str, int]) -> float:
    """Run ``task(unit, *args)`` on a Dask worker with its thread limits (and the test hook).

    ``threads``: numba/BLAS threads per unit, or a mapping host -> threads (a host missing
    from it, one that joined later, gives each of its worker's threads an equal share)."""
    fault = os.environ.get(FAULT_ENV)
    if fault:
        label, _, marker = fault.partition("=")
        if unit.label == label and not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
    if isinstance(threads, dict):
        from distributed import get_worker

        worker = get_worker()
        host = worker.address.rsplit(":", 1)[0]
        threads = threads.get(host) or max(1, (os.cpu_count() or 1) // max(1, worker.state.nthreads))
    limit_threads(threads)
    return timed(task, unit, args)


def check_worker_paths(paths: list[str]) -> str | None:
    """On a worker: None when every path is a writable folder here, else what is wrong."""
    for path in paths:
        if not os.path.isdir(path):
            return f"{path} does not exist"
        try:
            with tempfile.TemporaryFile(dir=path):
                pass
        except OSError as error:
            return f"{path} is not writable ({error.strerror})"
    return None


def peak_memory_bytes() -> int:
    """Peak resident memory of the calling process (Linux reports kilobytes)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


#: what a local cluster's fork server imports once for all its workers
FORKSERVER_PRELOAD = ["distributed", "fawmf_bench.experiments.units", __name__]


def local_worker_settings() -> dict[str, Any]:
    """Dask settings for the worker processes of a LocalCluster (see :class:`DaskExecutor`):
    forked from a fork server where the platform has one, and without Dask's
    ``MALLOC_TRIM_THRESHOLD_`` (Dask's Nanny also writes its variables into the spawning
    process's own environment, where every later cluster would inherit them)."""
    settings: dict[str, Any] = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
    if "forkserver" in multiprocessing.get_all_start_methods():
        settings["distributed.worker.multiprocessing-method"] = "forkserver"
    return settings


def start_forkserver() -> None:
    """Start the fork server local workers fork from, importing :data:`FORKSERVER_PRELOAD` in its
    own process (beside the caller's work) instead of once in every worker."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return
    from multiprocessing import forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload(FORKSERVER_PRELOAD)
    forkserver.ensure_running()


class DaskExecutor(Executor):
    """Units as Dask tasks on ``address`` (a running scheduler) or on a new LocalCluster.

    A LocalCluster starts in a background thread, so its start-up (about a second) overlaps
    the runner's own preparation; the first ``submit`` waits for it. Its workers fork from a
    fork server that imported Dask and this package once (:func:`start_forkserver`; spawned
    workers each imported them, about a CPU-second apiece), and they run without Dask's
    default ``MALLOC_TRIM_THRESHOLD_``: that setting disables glibc's adaptive mmap threshold,
    so every large NumPy temporary is mapped and faulted in anew (measured on the synthetic
    default's units: about 13x the minor page faults and 15% more CPU time than the same
    units in a process pool). A worker exits when its Nanny (in this process) goes away.
    """

    def __init__(self, task: Task, args: tuple[Any, ...], *, address: str | None = None,
                 local_workers: int | None = None, shared_paths: tuple[str, ...] = (),
                 connect_timeout: float = 5.0) -> None:
        if address is None and importlib.util.find_spec("distributed") is not None:
            start_forkserver()  # first: its imports run while this process imports Dask
        distributed = _import_distributed()
        import dask

        self.task, self.args = task, args
        self.cluster = self.client = None
        self.shared_paths = list(shared_paths)
        self.slots = 1 << 30  # every unit goes to the scheduler, which orders them by priority
        self.futures: dict[str, tuple[Unit, Any]] = {}  # key -> (unit, future)
        self._starter: threading.Thread | None = None
        self._start_error: BaseException | None = None
        settings: dict[str, Any] = {"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}
        if address is None:
            workers = local_workers or 1
            self.threads: int | dict[str, int] = max(1, (os.cpu_count() or 1) // workers)
            settings.update(local_worker_settings())
        self._config = dask.config.set(settings)
        self._config.__enter__()
        if address is None:
            self.description = f"a local Dask cluster of {workers} worker processes"
            self._starter = threading.Thread(target=self._start_local, args=(distributed, workers),
                                             name="fawmf-bench-cluster-start", daemon=True)
            self._starter.start()
            return
        try:
            try:
                self.client = distributed.Client(address, timeout=connect_timeout, set_as_default=False)
            except (OSError, TimeoutError) as error:
                raise ExecutorError(f"cannot reach the Dask scheduler at {address} within "
                                    f"{connect_timeout:g} s ({error})") from None
            self.description = f"the Dask scheduler at {address}"
            self.threads = self._threads_by_host(self.client.scheduler_info().get("workers", {}))
            self._connected()
        except BaseException:
            self.close()
            raise

    def _start_local(self, distributed: Any, workers: int) -> None:
        try:
            self.cluster = distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, memory_limit=0,
                dashboard_address=":0", silence_logs=logging.ERROR)
            self.client = distributed.Client(self.cluster, set_as_default=False)
            self._connected()
        except BaseException as error:  # noqa: BLE001 - raised in the caller's thread by _ready
            self._start_error = error

    def _connected(self) -> None:
        """After connecting: print the dashboard link, check the shared paths on every worker."""
        if self.cluster is None or _has_bokeh():  # a remote scheduler serves its own dashboard
            log.info("Dask dashboard: %s", self.client.dashboard_link)
        else:
            log.info("Dask dashboard: off (pip install bokeh to get one)")
        self._check_paths(self.shared_paths, len(self.client.scheduler_info().get("workers", {})))
        from distributed.client import _wait

        self._wait = _wait  # distributed.wait needs a default client; this client is not one

    def _ready(self) -> None:
        """Wait for a LocalCluster starting in the background; raise what stopped it."""
        if self._starter is not None:
            self._starter.join()
            self._starter = None
        if self._start_error is not None:
            error, self._start_error = self._start_error, None
            self.close()
            raise ExecutorError(f"the local Dask cluster did not start ({_error_text(error)})") from error

    def _threads_by_host(self, workers: dict[str, dict]) -> dict[str, int]:
        """Each host's cores shared among all worker threads on it (so that several worker
        processes on one machine do not each take every core)."""
        cores = self.client.run(os.cpu_count) if workers else {}
        total: dict[str, int] = {}
        for address, info in workers.items():
            host = address.rsplit(":", 1)[0]
            total[host] = total.get(host, 0) + int(info.get("nthreads", 1))
        return {address.rsplit(":", 1)[0]: max(1, (cores.get(address) or 1) // total[address.rsplit(":", 1)[0]])
                for address in workers}

    def _check_paths(self, paths: list[str], n_workers: int) -> None:
        if not n_workers:
            log.warning("the Dask scheduler has no workers yet; units wait until workers join")
            return
        for worker, problem in self.client.run(check_worker_paths, paths).items():
            if problem:
                raise ExecutorError(f"worker {worker}: {problem}; the store and the data home must be on a "
                                    "filesystem every worker sees, at the same path")

    def submit(self, unit: Unit, priority: int = 0) -> None:
        self._ready()
        future = self.client.submit(dask_task, self.task, unit, self.args, self.threads, priority=priority,
                                    key=f"{unit.label}-{unit.key}", pure=False)
        self.futures[future.key] = (unit, future)

    def next_completed(self) -> Completion:
        self._ready()
        done, _ = self.client.sync(self._wait, [f for _, f in self.futures.values()], timeout=None,
                                   return_when="FIRST_COMPLETED")
        future = min(done, key=lambda f: f.key)  # any; the smallest key for a stable order
        unit, _ = self.futures.pop(future.key)
        error, seconds = None, 0.0
        if future.status == "finished":
            seconds = future.result()
        else:
            try:
                error = future.exception()
            except BaseException as cancelled:  # noqa: BLE001 - cancelled by the scheduler
                error = cancelled
        future.release()
        return Completion(unit, seconds, None if error is None else _error_text(error))

    def worker_peak_memory(self) -> dict[str, int]:
        """Peak resident memory of every live worker process, in bytes."""
        return self.client.run(peak_memory_bytes)

    def close(self) -> None:
        if self._starter is not None:  # closed before its first unit: let the start finish, then stop it
            self._starter.join()
            self._starter = None
        try:
            if self.client is not None and self.cluster is not None:
                peaks = self.worker_peak_memory()
                log.info("peak memory per worker: %s",
                         ", ".join(f"{w.rsplit(':', 1)[-1]}: {p / 2**30:.2f} GiB" for w, p in sorted(peaks.items())))
        except Exception:  # noqa: BLE001 - a report only
            pass
        for closable in (self.client, self.cluster):
            if closable is not None:
                closable.close()
        self.client = self.cluster = None
        if self._config is not None:
            self._config.__exit__(None, None, None)
            self._config = None


def _has_bokeh() -> bool:
    """Whether bokeh (which Dask's dashboard needs) is installed; checked without importing it."""
    return importlib.util.find_spec("bokeh") is not None


def parse_cluster(spec: str) -> int:
    """``local:N`` -> N (raises ValueError otherwise)."""
    kind, _, count = spec.partition(":")
    if kind != "local" or not count.isdigit() or int(count) < 1:
        raise ValueError(f"--cluster must look like local:N (N worker processes), got {spec!r}")
    return int(count)


def make_executor(task: Task, args: tuple[Any, ...], *, jobs: int = 1, scheduler: str | None = None,
                  cluster: str | None = None, shared_paths: tuple[str, ...] = ()) -> Executor:
    """The executor the settings ask for: Dask (scheduler or local cluster), a pool, or in-process."""
    if scheduler and cluster:
        raise ExecutorError("give either a scheduler address or --cluster, not both")
    if scheduler or cluster:
        try:
            local = parse_cluster(cluster) if cluster else None
        except ValueError as error:
            raise ExecutorError(str(error)) from None
        return DaskExecutor(task, args, address=scheduler, local_workers=local, shared_paths=shared_paths)
    if jobs > 1:
        return PoolExecutor(task, args, jobs)
    return InProcessExecutor(task, args)
