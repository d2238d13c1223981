"""Executors: a trial gives the same numbers in this process, in a worker process and on a Dask
worker, and every executor refuses what it cannot do by name."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from mltrainer.engine.errors import ConfigError
from mltrainer.engine.executors import (
    DaskExecutor,
    ExecutorError,
    LocalExecutor,
    ProcessExecutor,
    TrialExecutor,
    close_executors,
    executor_for,
    make_executor,
)
from mltrainer.engine.ledger import Ledger
from mltrainer.engine.progress import listening
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import Settings, load_settings
from mltrainer.engine.stopping import StoppedError, stop_when_set
from mltrainer.engine.trial import TrialConfig

# Fields that say when and where a trial ran, not what it computed. The model file's SHA-256
# differs even between two local runs: the skops zip stamps its entries with the write time.
_WHERE_AND_WHEN = {"timings", "model_path", "model_sha256"}


@pytest.fixture(scope="module")
def process_executor() -> Iterator[ProcessExecutor]:
    executor = ProcessExecutor(2)
    yield executor
    executor.close()


@pytest.fixture(scope="module")
def dask_executor(dask_scheduler: str) -> Iterator[DaskExecutor]:
    executor = DaskExecutor(2, dask_scheduler)
    yield executor
    executor.close()


def _trained(executor: TrialExecutor, home: str, config: TrialConfig) -> tuple[dict[str, Any], Any]:
    settings = Settings(MLTRAINER_HOME=home)  # type: ignore[call-arg]
    service = ResearchService(settings, session=f"on-{executor.kind}", executor=executor)
    trained = service.train(config)
    assert trained.result.trial is not None
    predictions = Ledger(settings.db_path).predictions(trained.result.trial)
    return trained.result.model_dump(mode="json", exclude=_WHERE_AND_WHEN), predictions


@pytest.mark.slow
@pytest.mark.parametrize(
    "config",
    [
        TrialConfig(symbol="SPX", model="lightgbm", days=1500, params={"n_estimators": 50}),
        TrialConfig(symbol="MSFT", model="random_forest", days=1200, params={"n_estimators": 40}),
    ],
    ids=["lightgbm", "random_forest"],
)
def test_a_trial_is_the_same_bit_for_bit_wherever_it_runs(
    tmp_path: Any,
    config: TrialConfig,
    process_executor: ProcessExecutor,
    dask_executor: DaskExecutor,
) -> None:
    local, local_predictions = _trained(LocalExecutor(1), str(tmp_path / "local"), config)
    for executor in (process_executor, dask_executor):
        result, predictions = _trained(executor, str(tmp_path / executor.kind), config)
        assert result == local, executor.kind
        assert predictions == local_predictions, executor.kind
    assert local["selection_accuracy"] > 0.3


@pytest.mark.slow
def test_a_trial_refused_on_a_worker_raises_the_engines_error_in_the_client(
    process_executor: ProcessExecutor, dask_executor: DaskExecutor
) -> None:
    for executor in (process_executor, dask_executor):
        service = ResearchService(executor=executor)
        with pytest.raises(ConfigError, match="usable rows for SPX"):
            service.train(TrialConfig(symbol="SPX", model="lightgbm", days=100))
        assert service.ledger.count() == 0


def test_the_settings_name_one_shared_executor_per_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLTRAINER_EXECUTOR", "process")
    monkeypatch.setenv("MLTRAINER_WORKERS", "3")
    try:
        first = ResearchService(session="a").executor
        second = ResearchService(session="b").executor
        assert first is second
        assert (first.kind, first.workers) == ("process", 3)
        assert executor_for(load_settings().model_copy(update={"executor": "local"})) is not first
    finally:
        close_executors()


def test_a_scheduler_without_the_dask_executor_is_refused() -> None:
    with pytest.raises(ConfigError, match="only used with the dask executor, not 'process'"):
        make_executor("process", scheduler="tcp://127.0.0.1:8786")


def test_a_dask_executor_without_distributed_installed_is_refused_with_the_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)

    with pytest.raises(ExecutorError, match=r"pip install 'mltrainer\[dask\]'"):
        make_executor("dask")


def test_an_unknown_executor_setting_names_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLTRAINER_EXECUTOR", "ray")
    with pytest.raises(ValueError, match="'local', 'process' or 'dask'"):
        load_settings()


def test_an_unreachable_scheduler_is_an_error_naming_it() -> None:
    executor = DaskExecutor(1, "tcp://127.0.0.1:9", connect_seconds=2.0)
    service = ResearchService(executor=executor)
    with pytest.raises(
        ExecutorError, match=r"cannot reach the Dask scheduler at tcp://127.0.0.1:9"
    ):
        service.train(TrialConfig(symbol="SPX", model="naive_bayes", days=400))
    assert service.ledger.count() == 0


@pytest.mark.slow
def test_a_worker_process_that_dies_fails_its_trial_and_the_pool_recovers() -> None:
    executor = ProcessExecutor(1)
    service = ResearchService(executor=executor)
    slow = TrialConfig(symbol="MSFT", model="random_forest", params={"n_estimators": 500})
    try:
        with ThreadPoolExecutor(1) as thread:
            pending = thread.submit(service.train, slow)
            give_up = time.time() + 120
            while not (executor._pool and executor._pool._pending_work_items):
                assert time.time() < give_up and not pending.done()
                time.sleep(0.05)
            while not executor._pool._processes:
                time.sleep(0.05)
            for process in list(executor._pool._processes.values()):
                os.kill(process.pid, signal.SIGKILL)
            with pytest.raises(ExecutorError, match=r"the worker process running the trial on "):
                pending.result(timeout=120)
        assert service.ledger.count() == 0
        trained = service.train(TrialConfig(symbol="SPX", model="naive_bayes", days=1500))
        assert trained.result.trial == 1
    finally:
        executor.close()


# --- work its caller gave up on is not waited for ------------------------------------------

# A trial of about a minute whose folds each take seconds.
SLOW = TrialConfig(
    symbol="MSFT",
    model="random_forest",
    params={"n_estimators": 400, "max_depth": 64, "min_samples_leaf": 1, "max_features": 1.0},
    folds=2,
    save_model=False,
)


def _train_until_stopped(service: ResearchService, stop: threading.Event) -> Future[Any]:
    def train() -> Any:
        with stop_when_set(stop):
            return service.train(SLOW)

    return ThreadPoolExecutor(1).submit(train)


def test_a_trial_in_this_process_stops_at_the_next_fold_once_its_caller_gives_up() -> None:
    stop = threading.Event()
    service = ResearchService(executor=LocalExecutor(1))

    def give_up_at_the_first_fold(stage: str, done: int, total: int) -> None:
        stop.set()

    with (
        listening(give_up_at_the_first_fold),
        stop_when_set(stop),
        pytest.raises(StoppedError, match="stopped before walk-forward fold 2 of 2"),
    ):
        service.train(SLOW)
    assert service.ledger.count() == 0


@pytest.mark.slow
def test_a_trial_given_up_on_has_its_worker_process_terminated() -> None:
    executor = ProcessExecutor(1)
    service = ResearchService(executor=executor)
    stop = threading.Event()
    try:
        pending = _train_until_stopped(service, stop)
        give_up = time.time() + 120
        while not (executor._pool and executor._pool._processes):
            assert time.time() < give_up and not pending.done()
            time.sleep(0.05)
        workers = list(executor._pool._processes.values())
        time.sleep(3)  # well into the first fold
        asked = time.monotonic()
        stop.set()

        with pytest.raises(StoppedError, match="was stopped on a worker process"):
            pending.result(timeout=30)

        assert time.monotonic() - asked < 5
        assert [worker.is_alive() for worker in workers] == [False]
        assert service.ledger.count() == 0
        trained = service.train(TrialConfig(symbol="SPX", model="naive_bayes", days=1500))
        assert trained.result.trial == 1  # a fresh pool
    finally:
        executor.close()


@pytest.mark.slow
def test_a_trial_given_up_on_has_its_dask_worker_restarted() -> None:
    pytest.importorskip("distributed")
    executor = DaskExecutor(1)
    service = ResearchService(executor=executor)
    stop = threading.Event()
    try:
        client = executor.client()
        before = set(client.run(os.getpid).values())
        pending = _train_until_stopped(service, stop)
        give_up = time.time() + 120
        while not any(client.processing().values()):
            assert time.time() < give_up and not pending.done()
            time.sleep(0.1)
        time.sleep(3)
        stop.set()

        with pytest.raises(StoppedError, match="was stopped on a Dask worker"):
            pending.result(timeout=60)

        client.wait_for_workers(1, timeout=60)
        assert not before & set(client.run(os.getpid).values())  # a new worker process
        assert not [pid for pid in before if _alive(pid)]
        assert service.ledger.count() == 0
    finally:
        executor.close()


@pytest.mark.slow
def test_closing_a_local_dask_cluster_kills_a_busy_worker_instead_of_waiting() -> None:
    pytest.importorskip("distributed")
    executor = DaskExecutor(1)
    service = ResearchService(executor=executor)
    client = executor.client()
    workers = set(client.run(os.getpid).values())
    pending = _train_until_stopped(service, threading.Event())
    give_up = time.time() + 120
    while not any(client.processing().values()):
        assert time.time() < give_up and not pending.done()
        time.sleep(0.1)
    time.sleep(3)  # well into the first fold, which takes seconds
    asked = time.monotonic()

    executor.close()

    # distributed's own close gives a busy worker 4 s to stop before it kills it
    assert time.monotonic() - asked < 3
    assert not [pid for pid in workers if _alive(pid)]
    with pytest.raises(ExecutorError, match="was cancelled on the Dask cluster before it fin"):
        pending.result(timeout=30)
    assert service.ledger.count() == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
