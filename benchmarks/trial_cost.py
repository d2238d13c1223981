"""Trial cost estimates against measured trials: the calibration behind the parameter limits.

For each model, a few configurations run as real trials (`ResearchService.train`: walk-forward
folds plus the final fit, in a temporary data home) on the largest offline sample (MSFT daily
bars, about 8,000 rows, of which the locked holdout takes the newest share). Each line
prints the measured seconds, the estimate from `engine/costs.py`, their ratio, and the seconds
per unit of work (the number the estimate uses), and whether the estimate is within a factor
of 3 of the measurement (the promise every configuration here must keep). An estimate at or
above the measurement is conservative; the limit of 60 s per trial applies to the estimate.

`--largest` also runs, per model, the most expensive configuration the limit still allows
(the configuration most likely to break the promise of about a minute per trial).

Example:
    python benchmarks/trial_cost.py
    python benchmarks/trial_cost.py --models random_forest lightgbm --largest
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from typing import Any

from timing import verdict

PROBES: dict[str, list[tuple[dict[str, Any], int]]] = {
    "random_forest": [
        ({"n_estimators": 50, "max_depth": 64, "min_samples_leaf": 1, "max_features": 1.0}, 2),
        ({"n_estimators": 100, "max_depth": 6}, 5),
        ({"n_estimators": 300, "max_depth": 3}, 2),
    ],
    "extra_trees": [
        ({"n_estimators": 50, "max_depth": 64, "min_samples_leaf": 1, "max_features": 1.0}, 2),
        ({"n_estimators": 100, "max_depth": 6}, 5),
    ],
    "decision_tree": [({"max_depth": 64, "min_samples_leaf": 1}, 5)],
    "gradient_boosting": [
        ({"n_estimators": 100, "max_depth": 8, "min_samples_leaf": 1}, 2),
        ({}, 5),
    ],
    "lightgbm": [
        ({"n_estimators": 100, "num_leaves": 256, "min_child_samples": 1}, 2),
        ({"n_estimators": 500, "num_leaves": 8}, 2),
        ({}, 5),
    ],
    "logistic_regression": [({"C": 1e6}, 5)],
    "svm": [({"C": 100.0}, 2), ({"C": 1e4, "kernel": "linear"}, 2), ({}, 5)],
    "knn": [({"n_neighbors": 1000}, 2), ({}, 5)],
    "naive_bayes": [({}, 5)],
    "mlp": [
        ({"hidden_size": 128, "num_layers": 2, "epochs": 20}, 2),
        ({"hidden_size": 8, "epochs": 50}, 2),
        ({"hidden_size": 256, "epochs": 10}, 2),
        ({}, 5),
    ],
    "lstm": [
        ({"hidden_size": 8, "epochs": 1, "batch_size": 1}, 2),
        ({"hidden_size": 8, "epochs": 1, "batch_size": 1, "num_layers": 2}, 2),
        ({"epochs": 1, "batch_size": 4}, 2),
        ({"epochs": 3, "batch_size": 64}, 2),
        ({"hidden_size": 64, "epochs": 5}, 2),
        ({"hidden_size": 64, "epochs": 5, "batch_size": 4096}, 2),
        ({}, 5),
    ],
}


# Every estimate should be within this factor of the measured seconds, either way.
FACTOR = 3.0

# The other settings that make a fit slow, held at their most expensive for `--largest`.
WORST: dict[str, dict[str, Any]] = {
    "random_forest": {"max_depth": 64, "min_samples_leaf": 1, "max_features": 1.0},
    "extra_trees": {"max_depth": 64, "min_samples_leaf": 1, "max_features": 1.0},
    "decision_tree": {"min_samples_leaf": 1},
    "gradient_boosting": {"max_depth": 16, "min_samples_leaf": 1, "learning_rate": 0.1},
    "lightgbm": {"num_leaves": 1024, "min_child_samples": 1},
    "logistic_regression": {"C": 1e6},
    "svm": {"kernel": "rbf"},
    "knn": {"n_neighbors": 1000},
    "naive_bayes": {},
    "mlp": {"hidden_size": 256, "num_layers": 2},
    "lstm": {"hidden_size": 128, "num_layers": 2},
}


def run(model: str, params: dict[str, Any], folds: int) -> tuple[float, float, float]:
    """Measured seconds, estimated seconds, and work units of one trial, trained the way a
    session trains it (`ResearchService.train`: data, locked holdout, folds, final fit)."""
    from mltrainer.engine.costs import REFERENCE_ROWS
    from mltrainer.engine.models import resolve_model
    from mltrainer.engine.service import ResearchService
    from mltrainer.engine.settings import load_settings
    from mltrainer.engine.trial import TrialConfig

    config = TrialConfig(symbol="MSFT", model=model, params=params, folds=folds, save_model=False)
    spec = resolve_model(model)
    checked = spec.cost_inputs(spec.validate_params(params), config.lookback)
    assert spec.cost is not None
    fits = folds + 1
    estimate = spec.cost.seconds(checked, fits=fits, rows=REFERENCE_ROWS)
    units = spec.cost.work(checked) * fits
    service = ResearchService(load_settings())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        service.train(config)
    return time.perf_counter() - started, estimate, units


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(PROBES))
    parser.add_argument("--largest", action="store_true")
    options = parser.parse_args()
    os.environ["MLTRAINER_HOME"] = tempfile.mkdtemp(prefix="trial-cost-")
    from mltrainer.engine.costs import TRIAL_SECONDS_LIMIT
    from mltrainer.engine.models import largest_allowed

    print(f"{'model':<20} {'folds':>5} {'measured s':>10} {'estimate s':>10} {'est/meas':>8} "
          f"{'s/unit':>10} {'x3':>7}  params")  # fmt: skip
    outside = 0
    for model in options.models:
        probes = list(PROBES[model])
        if options.largest:
            probes.append(largest_allowed(model, WORST[model]))
        for params, folds in probes:
            try:
                seconds, estimate, units = run(model, params, folds)
            except Exception as error:  # an optional model (torch) may be missing
                print(f"{model:<20} skipped: {error}")
                break
            within = 1 / FACTOR <= estimate / seconds <= FACTOR
            outside += not within
            print(
                f"{model:<20} {folds:>5} {seconds:>10.2f} {estimate:>10.2f} "
                f"{estimate / seconds:>8.2f} {seconds / units:>10.2e} {verdict(within):>7}  "
                f"{params}",
                flush=True,
            )
            if options.largest and (params, folds) == probes[-1]:
                print(
                    f"{'':<20} largest allowed: {seconds:.0f} s (about {TRIAL_SECONDS_LIMIT:.0f} "
                    f"s promised): {verdict(seconds <= 1.5 * TRIAL_SECONDS_LIMIT)}"
                )
    print(f"estimates within a factor of {FACTOR:g} of the measurement: {verdict(not outside)} "
          f"({outside} outside)")  # fmt: skip


if __name__ == "__main__":
    main()
