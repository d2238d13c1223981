"""Speed-up of trials on two Dask workers against one: the same batch of LightGBM trials sent
through `ResearchService.train` with a `DaskExecutor` on a local cluster of one worker process,
then of two (one thread each; each trial pinned to one thread by the executor).

The batch is `--trials` configurations (default 16) on the offline S&P 500 sample (about 4,000
daily bars before the locked holdout), differing in seed and tree count so no two are the same
trial. All are submitted at once from client threads, as a `sweep` call or concurrent sessions
would; the ledger, model files and transcripts stay in the client. Each cluster first runs one
warm-up trial so worker start-up and imports are not measured. Both batches must give the same
selection accuracies (checked, since a result must not depend on where it ran).

The goal is 1.8x or more on a 2-core machine. Other work on the machine competes for the
same cores, so the figure is only as good as the quiet it was measured in; the script prints
the load average before and after.

Example:
    python benchmarks/parallel.py
    python benchmarks/parallel.py --trials 16 --estimators 300
"""

from __future__ import annotations

import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from timing import benchmark_parser, verdict

SPEEDUP_GOAL = 1.8


def _configs(trials: int, estimators: int) -> list[object]:
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


def run_batch(workers: int, home: Path, configs: list[object]) -> tuple[float, list[float]]:
    """Seconds for the whole batch on a fresh local cluster of `workers`, and the accuracies."""
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
            # One warm-up trial per worker: imports and first-call costs happen off the clock.
            with ThreadPoolExecutor(workers) as threads:
                list(threads.map(service.train, [warm] * workers))
            started = time.perf_counter()
            with ThreadPoolExecutor(len(configs)) as threads:
                trained = list(threads.map(service.train, configs))  # type: ignore[arg-type]
            seconds = time.perf_counter() - started
        finally:
            executor.close()
    return seconds, [t.result.selection_accuracy for t in trained]


def main() -> None:
    parser = benchmark_parser(__doc__, "python benchmarks/parallel.py --trials 16")
    parser.add_argument("--trials", type=int, default=16, help="trials in the batch")
    parser.add_argument(
        "--estimators", type=int, default=300, help="LightGBM trees per trial (sets trial length)"
    )
    args = parser.parse_args()
    if args.trials < 2:
        parser.error("--trials must be at least 2")
    configs = _configs(args.trials, args.estimators)
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="mltrainer-parallel-") as folder:
        one, one_accuracies = run_batch(1, Path(folder) / "one", configs)
        print(f"1 worker : {args.trials} trials in {one:6.1f} s ({one / args.trials:.2f} s/trial)")
        two, two_accuracies = run_batch(2, Path(folder) / "two", configs)
        print(f"2 workers: {args.trials} trials in {two:6.1f} s ({two / args.trials:.2f} s/trial)")
    if one_accuracies != two_accuracies:
        raise SystemExit("the two batches gave different accuracies: results depend on placement")
    speedup = one / two
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(
        f"speed-up on 2 workers: {speedup:.2f}x (goal >= {SPEEDUP_GOAL}x: "
        f"{verdict(speedup >= SPEEDUP_GOAL)}); identical accuracies on both: yes"
    )


if __name__ == "__main__":
    main()
