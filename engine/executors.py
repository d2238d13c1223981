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
import weakref
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from mltrainer.engine.errors import ConfigError, DeadlineError, MLTrainerError
from mltrainer.engine.stopping import StoppedError, stop_requested

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
# How long past a trial's deadline the client waits for a worker before terminating it; the
# worker itself stops at its next fold once the deadline has passed.
_DEADLINE_GRACE_SECONDS = 10.0
_DASK_CONNECT_SECONDS = 20.0
# How long a local Dask cluster's worker gets to stop by itself when the executor closes
# before it is killed: a worker busy in a fit cannot stop, and nobody waits for its result.
_DASK_STOP_SECONDS = 0.5
# The longest closing the client, and then the rest of a local cluster (its scheduler), may take.
_DASK_CLOSE_SECONDS = 3.0
# How often a client waiting on a worker looks at whether its caller gave up (`stopping.py`).
_POLL_SECONDS = 0.2
T = TypeVar("T")


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
    forests fit their trees from their own seeds, so the numbers do not change. Without it
    (trials in threads of this process) OpenMP alone is held to the trial's thread."""
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
        from mltrainer.engine.runner import one_openmp_thread

        with one_openmp_thread():
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
        f"{_DEADLINE_GRACE_SECONDS:.0f} s after the session's deadline and was stopped; "
        "nothing was recorded"
    )


def _stopped(job: TrialJob, where: str) -> StoppedError:
    return StoppedError(
        f"the trial on {job.config.symbol} ({job.config.model}) was stopped on {where}: its "
        "caller gave up on it (a deadline passed or the client left); nothing was recorded"
    )


def _wait(
    attempt: Callable[[float], T],
    job: TrialJob,
    *,
    where: str,
    still_running: type[BaseException] | tuple[type[BaseException], ...],
    abandon: Callable[[], None],
) -> T:
    """`attempt(seconds)` again and again until it returns, looking in between at whether the
    caller gave up and at the job's deadline (plus grace). Either way the work is abandoned
    (`abandon` terminates what runs it) and the error says so; `still_running` is what
    `attempt` raises when its wait ran out."""
    limit = _wait_seconds(job.deadline)
    give_up = None if limit is None else time.monotonic() + limit
    while True:
        if stop_requested():
            abandon()
            raise _stopped(job, where)
        now = time.monotonic()
        if give_up is not None and now >= give_up:
            abandon()
            raise _timed_out(job, where)
        wait = _POLL_SECONDS if give_up is None else min(_POLL_SECONDS, give_up - now)
        try:
            return attempt(wait)
        except still_running:
            continue


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
        def take_a_slot(seconds: float) -> None:
            if not self._slots.acquire(timeout=seconds):
                raise FutureTimeout

        _wait(
            take_a_slot,
            job,
            where="no free local worker (all were busy)",
            still_running=FutureTimeout,
            abandon=lambda: None,
        )
        try:
            return run_job(job)
        finally:
            self._slots.release()

    def close(self) -> None:
        """Nothing to release: the threads belong to the callers."""


@dataclass
class ProcessExecutor:
    """Trials in a pool of `workers` spawned processes, each trial on one thread. A worker that
    dies (killed, out of memory) fails its trial with a clear error; the pool is replaced. A
    trial its caller gives up on (a deadline, a client that left) is not waited for: the pool's
    processes are terminated (a worker cannot be stopped alone without breaking its pool), and
    the other trials running in it fail with an error saying to run them again."""

    workers: int
    kind: ExecutorKind = "process"
    _pool: ProcessPoolExecutor | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _stopped_pools: weakref.WeakSet[ProcessPoolExecutor] = field(
        default_factory=weakref.WeakSet, init=False, repr=False
    )

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
            return _wait(
                future.result,
                job,
                where="a worker process",
                still_running=FutureTimeout,
                abandon=lambda: self._abandon(pool),
            )
        except BrokenProcessPool as error:
            stopped_on_purpose = pool in self._stopped_pools
            self._terminate(pool)
            if stopped_on_purpose:
                raise ExecutorError(
                    f"the trial on {job.config.symbol} ({job.config.model}) was cut short: its "
                    "worker pool was stopped because another trial in it ran past its deadline; "
                    "nothing was recorded. Run the trial again"
                ) from error
            raise ExecutorError(
                f"the worker process running the trial on {job.config.symbol} "
                f"({job.config.model}) died ({error}); nothing was recorded. The pool was "
                "restarted; run the trial again"
            ) from error

    def _abandon(self, pool: ProcessPoolExecutor) -> None:
        """A trial in `pool` is given up on: the pool is stopped, and its other trials are
        told why (`run`)."""
        with self._lock:
            self._stopped_pools.add(pool)
        self._terminate(pool)

    def _terminate(self, pool: ProcessPoolExecutor) -> None:
        """Stop `pool` now: no new work, its processes terminated (killed if they linger),
        and the next trial gets a fresh pool."""
        with self._lock:
            if self._pool is pool:
                self._pool = None
        # ProcessPoolExecutor keeps its processes private; Python 3.14 adds terminate_workers.
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=2)
            if process.is_alive():
                process.kill()

    def close(self) -> None:
        """Terminate the pool: at exit nobody waits for a trial still running."""
        with self._lock:
            pool = self._pool
        if pool is not None:
            self._terminate(pool)


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
        require_executor("dask")
        from distributed import Client, LocalCluster

        if self.scheduler is None:
            self._cluster = LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            # distributed closes its clusters at exit too, gently (each busy worker is given
            # seconds to finish): registered after it, this executor's quick close runs first.
            atexit.register(self.close)
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
        client = self.client()
        from distributed import KilledWorker
        from distributed import TimeoutError as DaskTimeout
        from distributed.client import FutureCancelledError

        future = client.submit(run_job_on_worker, job, pure=False)
        try:
            outcome: TrialOutcome = _wait(
                future.result,
                job,
                where="a Dask worker",
                still_running=(DaskTimeout, TimeoutError),
                abandon=lambda: self._abandon(client, future),
            )
        except KilledWorker as error:
            raise ExecutorError(
                f"the Dask workers running the trial on {job.config.symbol} "
                f"({job.config.model}) died ({error}); nothing was recorded"
            ) from error
        except FutureCancelledError as error:
            # asyncio's CancelledError underneath, which no caller would take for a failure
            raise ExecutorError(
                f"the trial on {job.config.symbol} ({job.config.model}) was cancelled on the "
                "Dask cluster before it finished (the executor closed, or the cluster "
                "restarted); nothing was recorded. Run the trial again"
            ) from error
        return outcome

    def _abandon(self, client: Any, future: Any) -> None:
        """Cancel the task and restart the workers running it: a Dask worker cannot interrupt
        a running task, so its process is replaced (its nanny starts a fresh one). Once the
        client is closing (the executor closes, its local workers are killed) nothing is left
        to restart."""
        if client.status != "running":
            return
        running = [address for address, keys in client.processing().items() if future.key in keys]
        future.cancel()
        if running:
            client.restart_workers(running, timeout=_DASK_CONNECT_SECONDS, raise_for_error=False)

    def close(self) -> None:
        """Disconnect now rather than when the running tasks end: the client closes first
        (so no abandoned trial restarts a worker), a local cluster's worker processes are
        killed after `_DASK_STOP_SECONDS` (nobody awaits a result once the executor closes, and
        a fit cannot be interrupted), then the cluster closes. A remote cluster's workers are
        not ours to stop: only the client disconnects, and the scheduler drops its tasks."""
        with self._lock:
            client, cluster = self._client, self._cluster
            self._client = self._cluster = None
        atexit.unregister(self.close)
        try:
            if client is not None:
                client.close(timeout=_DASK_CLOSE_SECONDS)
        finally:
            if cluster is not None:
                try:
                    cluster.sync(_kill_local_workers, cluster)
                finally:
                    cluster.close(timeout=_DASK_CLOSE_SECONDS)


async def _kill_local_workers(cluster: Any) -> None:
    """Close every worker of a local cluster at once, each killed if it has not stopped
    within `_DASK_STOP_SECONDS`. A nanny closes before its worker dies, so none starts a
    replacement."""
    import asyncio

    nannies = list(cluster.workers.values())
    await asyncio.gather(
        *(nanny.close(timeout=_DASK_STOP_SECONDS, reason="mltrainer-exit") for nanny in nannies)
    )


_shared: dict[tuple[str, str | None, int], TrialExecutor] = {}
_shared_lock = threading.Lock()


def default_workers() -> int:
    return os.cpu_count() or 1


def require_executor(kind: ExecutorKind) -> None:
    """`ExecutorError` with the install hint when `kind` needs a package that is missing (Dask's
    `distributed`), so a command fails before its session starts rather than at its first trial."""
    if kind != "dask":
        return
    try:
        import distributed  # noqa: F401
    except ImportError as error:
        raise ExecutorError(
            "the dask executor needs dask and distributed, which are not installed: "
            "pip install 'mltrainer[dask]' (or choose --executor local or process)"
        ) from error


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
            require_executor("dask")
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
