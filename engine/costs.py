"""What a trial costs before it runs: an estimate of its seconds on two cores, so that a
configuration that would run for many minutes (2,000 trees of depth 64 over 20 folds) is
refused up front with the limit, instead of holding a session past its deadline.

Each model family has a work formula per fit (trees x depth, rounds x leaves, epochs x
units, gradient steps per batch, ...) and seconds per unit of work measured by
`benchmarks/trial_cost.py` on the largest offline sample (MSFT daily, about 8,000 rows, 13
features) on the 2-core machine this was built on, shared with other work (load average 3 to
6): each figure lies between the runs' measurements so that every configuration there is
estimated within a factor of 3, on the slow side where the spread allows (the README's
"Measured" table has the last run). A trial fits once per walk-forward fold plus the final fit.
Rows scale the estimate linearly (square for the kernel and neighbour models); without `days`
the estimate assumes the reference size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mltrainer.engine.errors import ConfigError

TRIAL_SECONDS_LIMIT = 60.0
REFERENCE_ROWS = 8000
# Features of the default set; macro series add a few, which the margin of the estimate covers.
REFERENCE_FEATURES = 13
# Deeper trees than this stop costing more on daily data: leaves run out of rows first.
EFFECTIVE_DEPTH = 16


@dataclass(frozen=True)
class TrialCost:
    """Work per fit as a function of the hyper-parameters, at `REFERENCE_ROWS` rows."""

    formula: str
    work: Callable[[Mapping[str, Any]], float]
    seconds_per_unit: float
    knobs: tuple[str, ...]
    rows_power: int = 1

    def seconds(self, params: Mapping[str, Any], *, fits: int, rows: int) -> float:
        scale = (rows / REFERENCE_ROWS) ** self.rows_power
        return self.work(params) * self.seconds_per_unit * fits * scale

    def check(self, model: str, params: Mapping[str, Any], *, folds: int, rows: int) -> None:
        """`ConfigError` when the estimate is over the limit, naming what to lower."""
        fits = folds + 1
        estimate = self.seconds(params, fits=fits, rows=rows)
        if estimate <= TRIAL_SECONDS_LIMIT:
            return
        knobs = ", ".join(self.knobs)
        raise ConfigError(
            f"{model} with these settings is estimated at {estimate:.0f} s on two cores "
            f"({self.formula} = {self.work(params):g} per fit, {fits} fits for {folds} folds, "
            f"{rows} rows); the limit is {TRIAL_SECONDS_LIMIT:.0f} s per trial. Lower {knobs}, "
            "folds or days"
        )


def _depth(params: Mapping[str, Any]) -> int:
    depth = int(params.get("max_depth", EFFECTIVE_DEPTH))
    return EFFECTIVE_DEPTH if depth <= 0 else min(depth, EFFECTIVE_DEPTH)


def forest(seconds_per_unit: float) -> TrialCost:
    # + 5: each tree also costs its bootstrap sample and its share of predicting, whatever
    # its depth (measured: shallow forests cost more per level than deep ones).
    return TrialCost(
        "n_estimators x (min(max_depth, 16) x max_features + 5)",
        lambda p: p["n_estimators"] * (_depth(p) * p["max_features"] + 5),
        seconds_per_unit,
        ("n_estimators", "max_depth", "max_features"),
    )


def single_tree(seconds_per_unit: float) -> TrialCost:
    return TrialCost("min(max_depth, 16)", _depth, seconds_per_unit, ("max_depth",))


def histogram_boosting(seconds_per_unit: float, leaf_cap: int) -> TrialCost:
    return TrialCost(
        f"n_estimators x min(2^max_depth, {leaf_cap})",
        lambda p: p["n_estimators"] * min(2 ** _depth(p), leaf_cap),
        seconds_per_unit,
        ("n_estimators", "max_depth"),
    )


def leaf_boosting(seconds_per_unit: float) -> TrialCost:
    return TrialCost(
        "n_estimators x (min(num_leaves, 2^max_depth) + 15)",
        lambda p: p["n_estimators"] * (min(p["num_leaves"], 2 ** _depth(p)) + 15),
        seconds_per_unit,
        ("n_estimators", "num_leaves"),
    )


def perceptron(seconds_per_unit: float) -> TrialCost:
    # + 500: the per-batch Python overhead of an epoch, which dominates small networks.
    return TrialCost(
        "epochs x (hidden_size x (13 + hidden_size x (num_layers - 1)) + 500)",
        lambda p: (
            p["epochs"]
            * (
                p["hidden_size"] * (REFERENCE_FEATURES + p["hidden_size"] * (p["num_layers"] - 1))
                + 500
            )
        ),
        seconds_per_unit,
        ("epochs", "hidden_size", "num_layers"),
    )


# Each gradient step of a recurrent network also costs a fixed overhead per time step
# (autograd, the optimizer, Python), whatever the batch holds: with small batches it
# dominates (measured: batch_size 1 is 10 to 20 times slower per epoch than 256), and a second
# layer adds little to it (measured with 8 units and batch_size 1: 0.96 to 1.46 times one layer).
STEP_UNITS_PER_CELL = 10


def recurrent(seconds_per_unit: float) -> TrialCost:
    return TrialCost(
        "epochs x lookback x (num_layers x hidden_size x (hidden_size + 13) + "
        f"{STEP_UNITS_PER_CELL} x {REFERENCE_ROWS} / batch_size)",
        lambda p: (
            p["epochs"]
            * p["lookback"]
            * (
                p["num_layers"] * p["hidden_size"] * (p["hidden_size"] + REFERENCE_FEATURES)
                + STEP_UNITS_PER_CELL * math.ceil(REFERENCE_ROWS / p["batch_size"])
            )
        ),
        seconds_per_unit,
        ("epochs", "hidden_size", "num_layers", "batch_size"),
    )


def kernel_machine(seconds_per_unit: float, *, capped_at: float) -> TrialCost:
    """libsvm: work grows with the square of the rows and with C, up to the iteration cap."""
    return TrialCost(
        f"min(1 + log10(max(C, 1)), {capped_at:g})",
        lambda p: min(1 + math.log10(max(p["C"], 1.0)), capped_at),
        seconds_per_unit,
        ("C",),
        rows_power=2,
    )


def neighbours(seconds_per_unit: float) -> TrialCost:
    """k nearest neighbours: predicting dominates, and grows with the square of the rows and
    with the neighbours each prediction gathers."""
    return TrialCost(
        "1 + n_neighbors / 100",
        lambda p: 1 + p["n_neighbors"] / 100,
        seconds_per_unit,
        ("n_neighbors",),
        rows_power=2,
    )


def iterations(seconds_per_unit: float, knob: str) -> TrialCost:
    return TrialCost(knob, lambda p: p[knob], seconds_per_unit, (knob,))


def flat(seconds_per_fit: float, *, rows_power: int = 1) -> TrialCost:
    """Models whose cost hardly depends on their parameters, only on rows."""
    return TrialCost("1", lambda p: 1.0, seconds_per_fit, (), rows_power)
