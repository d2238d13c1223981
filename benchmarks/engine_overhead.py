"""How much time the engine adds around the estimators, and how fast features build.

1. A standard trial: LightGBM (registry defaults), 5 walk-forward folds, all MSFT sample bars,
   loaded once before timing so every measured run reads cached data. Total is the wall time
   of `ResearchService.train` (data lookup, features, folds, final fit, metrics, model file and
   ledger row); `run_trial` alone is timed too. Estimator time is measured independently of the
   engine's own timings: `LGBMClassifier.fit`, `predict` and `predict_proba` are wrapped at class
   level (the engine clones its pipeline per fold, so clones use the wrapped methods too), and
   only the outermost call is counted because LightGBM's `predict` calls `predict_proba`.
   Target: total / estimator <= 1.10.
2. The same trial against a plain reference written inline below, on the same bars (MSFT
   before its locked holdout): pandas features, LightGBM with the same hyper-parameters,
   single-threaded and deterministic like the engine, the same walk-forward folds (scikit-
   learn's `TimeSeriesSplit` with the same gap), a final fit and the selection accuracy.
   engine / reference is what the engine's honesty costs: the holdout lookup, baselines and
   their tests, the backtest, the model file, the ledger row and the selection statistics.
   Target: <= 1.10.
3. Selection statistics over 40 recorded trials sharing a window: `compare` (Holm over the
   tries, the noise bar, PSR/DSR, and PBO by CSCV over 12,870 splits). Target: < 2 s.
4. Feature building for 1,000,000 bars (`build_features`), on a minute-frequency index because
   a million business days run past pandas' last timestamp. Cold is the first call in this
   process; warm is the median of the repeats. Target: < 1 s. (Cold is mostly the first touch
   of a few hundred MB of fresh memory: a 1,000-row call beforehand leaves it unchanged.)

Each figure is the median of `--repeats` runs, and each ratio comes from numbers measured in
the same run. State goes to a temporary data home unless `--home` is given.

Example:
    python benchmarks/engine_overhead.py --repeats 5
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from timing import Clock, benchmark_parser, verdict

OVERHEAD_TARGET = 1.10
FEATURE_TARGET_SECONDS = 1.0
COMPARE_TARGET_SECONDS = 2.0


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


def reference_trial(bars: pd.DataFrame, params: dict[str, object], folds: int) -> float:
    """A plain trial with no engine: features, walk-forward folds, final fit, accuracy."""
    from lightgbm import LGBMClassifier
    from sklearn.model_selection import TimeSeriesSplit

    close, volume = bars["close"], bars["volume"]
    returns = close.pct_change()
    log_returns = np.log(close / close.shift(1))
    change = close.diff()
    gain = change.clip(lower=0).ewm(alpha=1 / 14, adjust=False, min_periods=14).mean()
    loss = (-change.clip(upper=0)).ewm(alpha=1 / 14, adjust=False, min_periods=14).mean()
    frame = pd.DataFrame(
        {
            "returns": returns,
            "log_returns": log_returns,
            "close_to_sma_20": close / close.rolling(20).mean() - 1,
            "close_to_sma_50": close / close.rolling(50).mean() - 1,
            "rsi": 100 - 100 / (1 + gain / loss),
            "volume_ratio": volume / volume.rolling(20).mean(),
            **{f"ret_lag_{k}": returns.shift(k) for k in range(1, 6)},
            "momentum": close / close.shift(20) - 1,
            "volatility": log_returns.rolling(20).std(),
        }
    )
    frame["target"] = (close.shift(-1) > close).astype(float).where(close.shift(-1).notna())
    frame = frame.dropna()
    X, y = frame.drop(columns="target").to_numpy(), frame["target"].to_numpy()
    first_selection = int(np.searchsorted(frame.index, bars.index[int(len(bars) * 0.8)]))
    X_train, y_train = X[: first_selection - 6], y[: first_selection - 6]

    def model() -> LGBMClassifier:
        extra = {"subsample_freq": 1 if params["subsample"] < 1.0 else 0}  # type: ignore[operator]
        return LGBMClassifier(
            **params,
            **extra,
            random_state=42,
            deterministic=True,
            force_row_wise=True,
            n_jobs=1,
            verbose=-1,
        )

    for train, test in TimeSeriesSplit(n_splits=folds, gap=6).split(X_train):
        model().fit(X_train[train], y_train[train]).predict(X_train[test])
    final = model().fit(X_train, y_train)
    return float(np.mean(final.predict(X[first_selection:]) == y[first_selection:]))


def time_trials(repeats: int, folds: int) -> dict[str, float]:
    from mltrainer.engine.data.sample import SampleSource
    from mltrainer.engine.holdout import split_for_trials
    from mltrainer.engine.models import MODELS
    from mltrainer.engine.runner import run_trial
    from mltrainer.engine.service import ResearchService
    from mltrainer.engine.trial import TrialConfig

    engine = ResearchService()
    config = TrialConfig(symbol="MSFT", source="sample", model="lightgbm", folds=folds)
    trial = config.model_copy(update={"save_model": False, "execution": "close"})
    development = split_for_trials(SampleSource().bars("MSFT"), trial)
    engine.train(config)  # warm-up: imports, thread pools, first model file
    params = MODELS["lightgbm"].validate_params({})
    reference_accuracy = reference_trial(development.bars.frame, params, folds)
    pure = run_trial(trial, development.bars, dataset=development.info).result
    if abs(pure.selection_accuracy - reference_accuracy) > 1e-9:
        raise SystemExit(
            f"the reference is not the same trial: accuracy {reference_accuracy} vs the "
            f"engine's {pure.selection_accuracy}"
        )

    measured: dict[str, list[float]] = {}

    def keep(name: str, value: float) -> None:
        measured.setdefault(name, []).append(value)

    for _ in range(repeats):
        with clocked_lightgbm() as clock:
            started = time.perf_counter()
            result = engine.train(config).result
            total = time.perf_counter() - started
        keep("engine_total", total)
        keep("engine_estimator", clock.seconds)
        keep("engine_ratio", total / clock.seconds)
        keep("stage_fit_predict", result.timings.fit + result.timings.predict)

        with clocked_lightgbm() as clock:
            started = time.perf_counter()
            run_trial(trial, development.bars, dataset=development.info)
            total = time.perf_counter() - started
        keep("pure_total", total)
        keep("pure_estimator", clock.seconds)
        keep("pure_ratio", total / clock.seconds)

        started = time.perf_counter()
        reference_trial(development.bars.frame, params, folds)
        reference = time.perf_counter() - started
        keep("reference_total", reference)
        keep("reference_ratio", measured["engine_total"][-1] / reference)
    return {name: statistics.median(values) for name, values in measured.items()}


def time_selection_statistics(n_trials: int, repeats: int) -> tuple[float, int]:
    """Record `n_trials` quick trials in one session and window, then time `compare`."""
    from mltrainer.engine.service import ResearchService
    from mltrainer.engine.trial import TrialConfig

    service = ResearchService(session="bench-selection")
    for number in range(n_trials):
        config = TrialConfig(
            symbol="SPX",
            source="sample",
            model="naive_bayes" if number % 2 else "decision_tree",
            lookback=5 + number,
            folds=2,
            save_model=False,
        )
        service.train(config)
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        comparison = service.compare()
        seconds.append(time.perf_counter() - started)
    stats = comparison.best.selection_stats
    return statistics.median(seconds), stats.pbo_trials if stats is not None else 0


def main() -> None:
    parser = benchmark_parser(__doc__, "python benchmarks/engine_overhead.py --repeats 5")
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
        compare_seconds, pbo_trials = time_selection_statistics(40, args.repeats)

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
        "train_model / plain reference (same folds)",
        f"{trials['engine_total']:.3f}",
        f"ref {trials['reference_total']:.3f}",
        f"{trials['reference_ratio']:.3f}",
        f"<= {OVERHEAD_TARGET:.2f}",
        verdict(trials["reference_ratio"] <= OVERHEAD_TARGET),
    )
    table.add_row(
        f"compare: Holm, DSR, PBO over {pbo_trials} trials",
        f"{compare_seconds:.3f}",
        "",
        f"{compare_seconds / COMPARE_TARGET_SECONDS:.3f}",
        f"< {COMPARE_TARGET_SECONDS:.0f} s",
        verdict(compare_seconds < COMPARE_TARGET_SECONDS),
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
        "ratio = total / estimator time for trials, engine / reference for the reference row, "
        "seconds / target for timings. "
        f"The engine's own fit+predict stage timings: {trials['stage_fit_predict']:.3f} s "
        "(they include the Pipeline wrapper around the estimator)."
    )


if __name__ == "__main__":
    main()
