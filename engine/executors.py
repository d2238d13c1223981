"""Where a trial's computation runs: threads in this process, worker processes on this
machine, or a Dask cluster. A trial is a pure function (`run_job`: configuration and data in,
result, fitted pipeline and predictions out), so it gives the same numbers wherever it runs;
the ledger, transcript, holdout lock, compliance and model files stay with `ResearchService`
in the client process.

Executors are shared: `executor_for(settings)` hands every service in a process the same
bounded pool, so N sessions in one process queue for the same workers instead of each starting
its own. Heavy modules (the runner, Dask) are imported inside the functions that need them, so
a spawned worker sets its thread limits before numpy loads its BLAS.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import TYPE_CHECKING, Any, Literal, Protocol

from mltrainer.engine.errors import ConfigError, DeadlineError, MLTrainerError

if TYPE_CHECKING:
    from mltrainer.engine.data.base import BarSet, SeriesSet
    from mltrainer.engine.data.panel import PanelSet
    from mltrainer.engine.runner import TrialOutcome
    from mltrainer.engine.settings import Settings
    from mltrainer.engine.trial import DatasetInfo, TrialConfig

ExecutorKind = Literal["local", "process", "dask"]
EXECUTOR_KINDS: tuple[ExecutorKind, ...] = ("local", "process", "dask")
EXECUTOR_HELP = (
    "local: trials run in threads of this process (the default); process: in a pool of "
    "worker processes on this machine, one thread each; dask: on a Dask cluster's workers "
    "(--scheduler tcp://HOST:8786, or a local cluster of worker processes when no scheduler "
    "is given). Ledger, transcripts and model files always stay in this process."
)
# Libraries that start a thread per core unless told otherwise; a worker runs one trial on
# one thread, so two workers on two cores run two trials at full speed instead of fighting.
_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
# How long past a trial's deadline the client waits for a worker before giving up on it; the
# worker itself stops at its next fold once the deadline has passed.
_DEADLINE_GRACE_SECONDS = 10.0
_DASK_CONNECT_SECONDS = 20.0


class ExecutorError(MLTrainerError):
    """The place trials run in failed (a worker died, a scheduler cannot be reached); the
    message says what happened. Nothing of the trial was recorded."""


@dataclass(frozen=True)
class TrialJob:
    """Everything one trial computes from: picklable, so it can travel to another process or
    machine. The bars already end before the dataset's locked holdout (the service clips them)."""

    config: TrialConfig
    bars: BarSet | PanelSet
    macro: Mapping[str, SeriesSet]
    dataset: DatasetInfo
    data_seconds: float = 0.0
    notes: tuple[str, ...] = ()
    deadline: float | None = None


def run_job(job: TrialJob, *, one_thread: bool = False) -> TrialOutcome:
    """The trial as a pure function. `one_thread` pins the work to the calling thread (no
    joblib threads, BLAS and OpenMP limited to one), which is what a worker process wants;
    forests fit their trees from their own seeds, so the numbers do not change."""
    from mltrainer.engine.runner import run_trial

    def run() -> TrialOutcome:
        return run_trial(
            job.config,
            job.bars,
            job.macro,
            dataset=job.dataset,
            data_seconds=job.data_seconds,
            notes=list(job.notes),
            deadline=job.deadline,
        )

    if not one_thread:
        return run()
    from joblib import parallel_config
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1), parallel_config(backend="sequential"):
        return run()


def run_job_on_worker(job: TrialJob) -> TrialOutcome:
    """`run_job` on one thread: the function worker processes and Dask workers are sent. The
    worker loads the installed plugins first (once per process), so a plugin's model resolves
    there as it did in the client that checked the configuration."""
    from mltrainer.engine.plugins import load_plugins

    load_plugins()
    return run_job(job, one_thread=True)


def _pin_worker_threads() -> None:
    """Initializer of a spawned worker process: runs before numpy is imported there."""
    for name in _THREAD_VARIABLES:
        os.environ[name] = "1"


class TrialExecutor(Protocol):
    """Runs trial jobs. `run` blocks the calling thread (a tool's worker thread) until the
    outcome is back; many threads may call it at once."""

    kind: ExecutorKind
    workers: int

    def run(self, job: TrialJob) -> TrialOutcome: ...

    def close(self) -> None: ...


def _wait_seconds(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    return max(deadline - time.time(), 0.0) + _DEADLINE_GRACE_SECONDS


def _timed_out(job: TrialJob, where: str) -> DeadlineError:
    return DeadlineError(
        f"the trial on {job.config.symbol} ({job.config.model}) was still running on {where} "
        f"{_DEADLINE_GRACE_SECONDS:.0f} s after the session's deadline; nothing was recorded"
    )


@dataclass
class LocalExecutor:
    """Trials in the calling thread, at most `workers` at once across the whole process (the
    tools' threads wait their turn). Engine progress reaches the caller's listener."""

    workers: int
    kind: ExecutorKind = "local"
    _slots: threading.BoundedSemaphore = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._slots = threading.BoundedSemaphore(self.workers)

    def run(self, job: TrialJob) -> TrialOutcome:
        if not self._slots.acquire(timeout=_wait_seconds(job.deadline)):
            raise _timed_out(job, "no free local worker (all were busy)")
        try:
            return run_job(job)
        finally:
            self._slots.release()

    def close(self) -> None:
        """Nothing to release: the threads belong to the callers."""


@dataclass
class ProcessExecutor:
    """Trials in a pool of `workers` spawned processes, each trial on one thread. A worker that
    dies (killed, out of memory) fails its trial with a clear error; the pool is replaced."""

    workers: int
    kind: ExecutorKind = "process"
    _pool: ProcessPoolExecutor | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def _live_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # spawn, not fork: the client has threads (tools, the event loop, SQLite), and a
                # forked child of a threaded process can inherit a held lock.
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=get_context("spawn"),
                    initializer=_pin_worker_threads,
                )
            return self._pool

    def run(self, job: TrialJob) -> TrialOutcome:
        pool = self._live_pool()
        try:
            future: Future[TrialOutcome] = pool.submit(run_job_on_worker, job)
            return future.result(timeout=_wait_seconds(job.deadline))
        except FutureTimeout:
            future.cancel()
            raise _timed_out(job, "a worker process") from None
        except BrokenProcessPool as error:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise ExecutorError(
                f"the worker process running the trial on {job.config.symbol} "
                f"({job.config.model}) died ({error}); nothing was recorded. The pool was "
                "restarted; run the trial again"
            ) from error

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class DaskExecutor:
    """Trials on a Dask cluster: the scheduler at `scheduler`, or a local cluster of `workers`
    processes with one thread each when none is given. The connection opens on the first
    trial, from the thread that runs it."""

    workers: int
    scheduler: str | None = None
    connect_seconds: float = _DASK_CONNECT_SECONDS
    kind: ExecutorKind = "dask"
    _client: Any = field(default=None, init=False, repr=False)
    _cluster: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def client(self) -> Any:
        """The `distributed.Client`, connected (or its local cluster started) on first use."""
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> Any:
        try:
            from distributed import Client, LocalCluster
        except ImportError as error:
            raise ExecutorError(
                "the dask executor needs dask and distributed: pip install 'mltrainer[dask]'"
            ) from error
        if self.scheduler is None:
            self._cluster = LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            return Client(self._cluster)
        try:
            return Client(self.scheduler, timeout=self.connect_seconds)
        except (OSError, TimeoutError) as error:
            raise ExecutorError(
                f"cannot reach the Dask scheduler at {self.scheduler} "
                f"({type(error).__name__}: {error}); start one with `dask-scheduler` and "
                "`dask-worker`, or leave --scheduler out for a local cluster"
            ) from error

    def run(self, job: TrialJob) -> TrialOutcome:
        from distributed import KilledWorker
        from distributed import TimeoutError as DaskTimeout

        future = self.client().submit(run_job_on_worker, job, pure=False)
        try:
            outcome: TrialOutcome = future.result(timeout=_wait_seconds(job.deadline))
        except DaskTimeout:
            future.cancel()
            raise _timed_out(job, "a Dask worker") from None
        except KilledWorker as error:
            raise ExecutorError(
                f"the Dask workers running the trial on {job.config.symbol} "
                f"({job.config.model}) died ({error}); nothing was recorded"
            ) from error
        return outcome

    def close(self) -> None:
        with self._lock:
            client, cluster = self._client, self._cluster
            self._client = self._cluster = None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


_shared: dict[tuple[str, str | None, int], TrialExecutor] = {}
_shared_lock = threading.Lock()


def default_workers() -> int:
    return os.cpu_count() or 1


def make_executor(
    kind: ExecutorKind, *, workers: int | None = None, scheduler: str | None = None
) -> TrialExecutor:
    """A new executor of `kind`; `scheduler` is for Dask only and refused elsewhere."""
    count = workers or default_workers()
    if scheduler is not None and kind != "dask":
        raise ConfigError(
            f"a scheduler address ({scheduler}) is only used with the dask executor, not "
            f"'{kind}'; add --executor dask (MLTRAINER_EXECUTOR=dask) or drop the scheduler"
        )
    match kind:
        case "local":
            return LocalExecutor(count)
        case "process":
            return ProcessExecutor(count)
        case "dask":
            return DaskExecutor(count, scheduler)
    raise ConfigError(f"unknown executor '{kind}'; executors are {', '.join(EXECUTOR_KINDS)}")


def executor_for(settings: Settings) -> TrialExecutor:
    """The process-wide executor these settings name: every service with the same executor,
    scheduler and worker count shares one pool."""
    key = (settings.executor, settings.scheduler, settings.workers or default_workers())
    with _shared_lock:
        if key not in _shared:
            _shared[key] = make_executor(
                settings.executor, workers=key[2], scheduler=settings.scheduler
            )
        return _shared[key]


@atexit.register
def close_executors() -> None:
    """Shut every shared pool down (worker processes, Dask clients and local clusters)."""
    with _shared_lock:
        executors = list(_shared.values())
        _shared.clear()
    for executor in executors:
        executor.close()
