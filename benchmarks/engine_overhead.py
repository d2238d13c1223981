"""How much time the engine adds around the estimators, and how fast features build.

1. A standard trial: LightGBM (registry defaults), 5 walk-forward folds, all MSFT sample bars,
   loaded once before timing so every measured run reads cached data. Total is the wall time
   of `MLEngine.train_model` (data lookup, features, folds, final fit, metrics, model file and
   ledger row); `run_trial` alone is timed too. Estimator time is measured independently of the
   engine's own timings: `LGBMClassifier.fit`, `predict` and `predict_proba` are wrapped at class
   level (the engine clones its pipeline per fold, so clones use the wrapped methods too), and
   only the outermost call is counted because LightGBM's `predict` calls `predict_proba`.
   Target: total / estimator <= 1.10.
2. Feature building for 1,000,000 bars (`build_features`), on a minute-frequency index because
   a million business days run past pandas' last timestamp. Cold is the first call in this
   process; warm is the median of the repeats. Target: < 1 s. (Cold is mostly the first touch
   of a few hundred MB of fresh memory: a 1,000-row call beforehand leaves it unchanged.)

Each figure is the median of `--repeats` runs, and each ratio comes from numbers measured in
the same run. State goes to a temporary data home unless `--home` is given.

Example:
    python benchmarks/engine_overhead.py --repeats 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from timing import Clock, verdict

OVERHEAD_TARGET = 1.10
FEATURE_TARGET_SECONDS = 1.0


@contextmanager
def clocked_lightgbm() -> Iterator[Clock]:
    from lightgbm import LGBMClassifier

    clock = Clock()
    names = ("fit", "predict", "predict_proba")
    originals = {name: LGBMClassifier.__dict__[name] for name in names}
    for name, method in originals.items():
        setattr(LGBMClassifier, name, clock.wrap(method))
    try:
        yield clock
    finally:
        for name, method in originals.items():
            setattr(LGBMClassifier, name, method)


def minute_bars(n_rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, n_rows)))
    open_ = close * np.exp(rng.normal(0.0, 0.0005, n_rows))
    index = pd.date_range("2000-01-03", periods=n_rows, freq="min", name="date").as_unit("ns")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * 1.0005,
            "low": np.minimum(open_, close) * 0.9995,
            "close": close,
            "volume": rng.lognormal(10.0, 0.5, n_rows),
        },
        index=index,
    )


def time_features(n_rows: int, repeats: int) -> tuple[float, float]:
    from mltrainer.engine.features import build_features

    bars = minute_bars(n_rows)
    started = time.perf_counter()
    build_features(bars)
    cold = time.perf_counter() - started
    warm = []
    for _ in range(repeats):
        started = time.perf_counter()
        build_features(bars)
        warm.append(time.perf_counter() - started)
    return cold, statistics.median(warm)


def time_trials(repeats: int, folds: int) -> dict[str, float]:
    from mltrainer.engine import MLEngine
    from mltrainer.engine.data.sample import SampleSource
    from mltrainer.engine.runner import run_trial
    from mltrainer.engine.trial import TrialConfig

    engine = MLEngine()
    config = {"symbol": "MSFT", "source": "sample", "model": "lightgbm", "folds": folds}
    bars = SampleSource().bars("MSFT")  # loads and caches the sample data before timing
    first = engine.train_model(config)  # warm-up: imports, thread pools, first model file
    if first["status"] != "success":
        raise SystemExit(f"the standard trial failed: {first['error']}")

    engine_total, engine_estimator, engine_ratio = [], [], []
    pure_total, pure_estimator, pure_ratio = [], [], []
    stage_fit_predict = []
    for _ in range(repeats):
        with clocked_lightgbm() as clock:
            started = time.perf_counter()
            result = engine.train_model(config)
            total = time.perf_counter() - started
        engine_total.append(total)
        engine_estimator.append(clock.seconds)
        engine_ratio.append(total / clock.seconds)
        stage_fit_predict.append(result["timings"]["fit"] + result["timings"]["predict"])

        trial = TrialConfig.model_validate({**config, "save_model": False})
        with clocked_lightgbm() as clock:
            started = time.perf_counter()
            run_trial(trial, bars)
            total = time.perf_counter() - started
        pure_total.append(total)
        pure_estimator.append(clock.seconds)
        pure_ratio.append(total / clock.seconds)

    median = statistics.median
    return {
        "engine_total": median(engine_total),
        "engine_estimator": median(engine_estimator),
        "engine_ratio": median(engine_ratio),
        "stage_fit_predict": median(stage_fit_predict),
        "pure_total": median(pure_total),
        "pure_estimator": median(pure_estimator),
        "pure_ratio": median(pure_ratio),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Example: python benchmarks/engine_overhead.py --repeats 5",
    )
    parser.add_argument("--repeats", type=int, default=5, help="measured runs per figure (median)")
    parser.add_argument("--folds", type=int, default=5, help="walk-forward folds in the trial")
    parser.add_argument("--rows", type=int, default=1_000_000, help="bars for feature building")
    parser.add_argument(
        "--home", type=Path, default=None, help="data home (default: a temporary folder)"
    )
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    with tempfile.TemporaryDirectory(prefix="mltrainer-bench-") as scratch:
        os.environ["MLTRAINER_HOME"] = str(args.home or scratch)
        cold, warm = time_features(args.rows, args.repeats)
        trials = time_trials(args.repeats, args.folds)

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"engine overhead (median of {args.repeats} runs)")
    for column in ("measure", "total s", "estimator s", "ratio", "target", "result"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    table.add_row(
        f"train_model: LightGBM, {args.folds} folds, MSFT",
        f"{trials['engine_total']:.3f}",
        f"{trials['engine_estimator']:.3f}",
        f"{trials['engine_ratio']:.3f}",
        f"<= {OVERHEAD_TARGET:.2f}",
        verdict(trials["engine_ratio"] <= OVERHEAD_TARGET),
    )
    table.add_row(
        "run_trial (no model file, no ledger)",
        f"{trials['pure_total']:.3f}",
        f"{trials['pure_estimator']:.3f}",
        f"{trials['pure_ratio']:.3f}",
        f"<= {OVERHEAD_TARGET:.2f}",
        verdict(trials["pure_ratio"] <= OVERHEAD_TARGET),
    )
    table.add_row(
        f"features, {args.rows:,} rows, cold",
        f"{cold:.3f}",
        "",
        f"{cold / FEATURE_TARGET_SECONDS:.3f}",
        f"< {FEATURE_TARGET_SECONDS:.0f} s",
        verdict(cold < FEATURE_TARGET_SECONDS),
    )
    table.add_row(
        f"features, {args.rows:,} rows, warm",
        f"{warm:.3f}",
        "",
        f"{warm / FEATURE_TARGET_SECONDS:.3f}",
        f"< {FEATURE_TARGET_SECONDS:.0f} s",
        verdict(warm < FEATURE_TARGET_SECONDS),
    )
    console = Console(width=max(Console().width, 100))
    console.print(table)
    console.print(
        "ratio = total / estimator time for trials, seconds / target for features. "
        f"The engine's own fit+predict stage timings: {trials['stage_fit_predict']:.3f} s "
        "(they include the Pipeline wrapper around the estimator)."
    )


if __name__ == "__main__":
    main()
