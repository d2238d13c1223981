"""Speed-up of trials on two Dask workers against one: the same batch of LightGBM trials sent
through `ResearchService.train` with a `DaskExecutor` on a local cluster of one worker process,
then of two (one thread each; each trial pinned to one thread by the executor).

The batch is `--trials` configurations (default 16) on the offline S&P 500 sample (about 4,000
daily bars before the locked holdout), differing in seed and tree count so no two are the same
trial. All are submitted at once from client threads, as a `sweep` call or concurrent sessions
would; the ledger, model files and transcripts stay in the client. Each cluster first runs one
warm-up trial per worker so worker start-up and imports are not measured. The batch runs
`--rounds` times on each cluster, alternating, and the best batch of each counts, so a burst of
other work on the machine is less likely to decide the figure (every round is printed). Every
batch must give the same selection accuracies (checked: a result must not depend on where it
ran). Each line also gives the mean time one trial computed on its worker: with a core per
worker it is the same on one worker and on two; when it grows on two, the cores were busy.

The goal is 1.8x or more on a 2-core machine. Other work on the machine competes for the
same cores, so the figure is only as good as the quiet it was measured in; the script prints
the load average before and after.

Example:
    python benchmarks/parallel.py
    python benchmarks/parallel.py --trials 16 --estimators 300
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from timing import benchmark_parser, verdict

SPEEDUP_GOAL = 1.8


def _configs(trials: int, estimators: int) -> list[Any]:
    from mltrainer.engine.trial import TrialConfig

    return [
        TrialConfig(
            symbol="SPX",
            model="lightgbm",
            seed=seed,
            params={"n_estimators": estimators + 10 * (seed % 4), "subsample": 0.8},
            save_model=False,
        )
        for seed in range(trials)
    ]


@contextmanager
def cluster_service(workers: int, home: Path) -> Iterator[Any]:
    """A `ResearchService` whose trials run on a fresh local cluster of `workers` processes,
    warmed up with one trial per worker (imports and first-call costs happen off the clock)."""
    from distributed import LocalCluster

    from mltrainer.engine.executors import DaskExecutor
    from mltrainer.engine.service import ResearchService
    from mltrainer.engine.settings import Settings
    from mltrainer.engine.trial import TrialConfig

    settings = Settings(MLTRAINER_HOME=home)  # type: ignore[call-arg]
    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        executor = DaskExecutor(workers, cluster.scheduler_address)
        service = ResearchService(settings, session=f"parallel-{workers}", executor=executor)
        try:
            warm = TrialConfig(symbol="SPX", model="lightgbm", seed=10_000, save_model=False)
            with ThreadPoolExecutor(workers) as threads:
                list(threads.map(service.train, [warm] * workers))
            yield service
        finally:
            executor.close()


def run_batch(service: Any, configs: list[Any]) -> tuple[float, float, float, list[float]]:
    """Seconds for the whole batch, submitted at once; the mean seconds one trial computed on
    its worker (it grows when the workers do not get a core each); the client process's CPU
    seconds (loading bars, recording, statistics: work that shares the same cores); the
    selection accuracies."""
    started, client_cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(len(configs)) as threads:
        trained = list(threads.map(service.train, configs))
    seconds = time.perf_counter() - started
    client_cpu = time.process_time() - client_cpu
    # Everything but `data`, which the client measures while it loads the bars.
    on_worker = sum(t.result.timings.total - t.result.timings.data for t in trained) / len(trained)
    return seconds, on_worker, client_cpu, [t.result.selection_accuracy for t in trained]


def main() -> None:
    parser = benchmark_parser(__doc__, "python benchmarks/parallel.py --trials 16")
    parser.add_argument("--trials", type=int, default=16, help="trials in the batch")
    parser.add_argument(
        "--estimators", type=int, default=150, help="LightGBM trees per trial (sets trial length)"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="batches on each cluster, alternating; best counts"
    )
    args = parser.parse_args()
    if args.trials < 2 or args.rounds < 1:
        parser.error("--trials must be at least 2 and --rounds at least 1")
    configs = _configs(args.trials, args.estimators)
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    times: dict[int, list[float]] = {1: [], 2: []}
    accuracies: set[tuple[float, ...]] = set()
    folder = Path(tempfile.mkdtemp(prefix="mltrainer-parallel-"))
    with cluster_service(1, folder / "one") as one, cluster_service(2, folder / "two") as two:
        for round_number in range(1, args.rounds + 1):
            for workers, service in ((1, one), (2, two)):
                seconds, on_worker, client_cpu, accuracy = run_batch(service, configs)
                times[workers].append(seconds)
                accuracies.add(tuple(accuracy))
                print(
                    f"round {round_number}, {workers} worker(s): {args.trials} trials in "
                    f"{seconds:6.1f} s ({seconds / args.trials:.2f} s/trial; one trial computes "
                    f"{on_worker:.2f} s on its worker; client CPU {client_cpu:.1f} s), load "
                    f"average {os.getloadavg()[0]:.2f}"
                )
    shutil.rmtree(folder, ignore_errors=True)
    if len(accuracies) != 1:
        raise SystemExit("the batches gave different accuracies: results depend on placement")
    best = min(times[1]) / min(times[2])
    rounds = ", ".join(f"{a / b:.2f}x" for a, b in zip(times[1], times[2], strict=True))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(
        f"speed-up on 2 workers (best batch of each): {best:.2f}x (goal >= {SPEEDUP_GOAL}x: "
        f"{verdict(best >= SPEEDUP_GOAL)}); per round: {rounds}; identical accuracies: yes"
    )


if __name__ == "__main__":
    main()
