"""`sweep`: a small grid of trial configurations run as one tool call, in parallel on the
configured executor. Each configuration is recorded and counted as a try exactly as a
`train_model` call would be, so adjusted p-values and the noise bar stay honest.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from pydantic import ConfigDict, Field, ValidationError, model_validator

from mltrainer.engine.errors import MLTrainerError, validation_message
from mltrainer.engine.results import TrialSummary
from mltrainer.engine.trial import ErrorResult, TrialConfig
from mltrainer.tools.base import ToolContext
from mltrainer.tools.results import GridFailure, GridValue, SweepFailed, SweepResult, SweepRow

MAX_CONFIGURATIONS = 16
# The fields a grid may vary: scalars of `TrialConfig`, and one model's hyper-parameters as
# `params.NAME`. Lists (features, macro) and save_model stay as the base sets them.
GRID_FIELDS = (
    "symbol",
    "source",
    "model",
    "train_ratio",
    "lookback",
    "horizon",
    "folds",
    "embargo",
    "cost_bps",
    "seed",
    "days",
    "start",
    "end",
    "execution",
)
_SCALARS = (str, int, float, bool, type(None))


class Sweep(TrialConfig):
    """Train a small grid of configurations in one call, run in parallel: the base
    configuration (the train_model fields) with every combination of the values in `grid`, at
    most 16 configurations. Each configuration is scored exactly like a train_model call and
    counted as one more try on its dataset, so sweep only what you would otherwise train one by
    one. Returns a table: one row per configuration with its trial number, its return test
    (excess Sharpe over the best baseline strategy after costs, t, p-value adjusted for every
    try), selection accuracy against the best baseline, and Sharpe."""

    model_config = ConfigDict(extra="forbid", title="sweep")

    grid: dict[str, list[Any]] = Field(
        min_length=1,
        max_length=4,
        description=(
            'fields to vary and their values, e.g. {"model": ["lightgbm", "random_forest"], '
            '"params.n_estimators": [100, 300]}; fields: ' + ", ".join(GRID_FIELDS) + ", "
            "params.NAME (a hyper-parameter of the model); at most "
            f"{MAX_CONFIGURATIONS} combinations in all"
        ),
    )

    @model_validator(mode="after")
    def _small_grid(self) -> Sweep:
        for name, values in self.grid.items():
            if name not in GRID_FIELDS and not (name.startswith("params.") and len(name) > 7):
                raise ValueError(
                    f"grid field '{name}' cannot be varied; vary {', '.join(GRID_FIELDS)} or "
                    "params.NAME (a hyper-parameter)"
                )
            if not values:
                raise ValueError(f"grid field '{name}' has no values; give at least one")
            if lists := [v for v in values if not isinstance(v, _SCALARS)]:
                raise ValueError(
                    f"grid field '{name}' has {lists[0]!r}; each value must be one string, "
                    "number, true/false or null"
                )
            if len(set(map(repr, values))) != len(values):
                raise ValueError(f"grid field '{name}' repeats a value: {values}")
        count = math.prod(len(values) for values in self.grid.values())
        if count > MAX_CONFIGURATIONS:
            sizes = " x ".join(f"{len(v)} {k}" for k, v in self.grid.items())
            raise ValueError(
                f"the grid has {count} configurations ({sizes}); the limit is "
                f"{MAX_CONFIGURATIONS}. Drop values, or sweep in steps and compare_trials"
            )
        self.configurations()  # every combination must be a valid configuration
        return self

    def configurations(self) -> list[tuple[dict[str, GridValue], TrialConfig]]:
        """Each combination of grid values (field -> value) and the configuration it makes."""
        base = self.model_dump(exclude={"grid"})
        names = list(self.grid)
        made = []
        for values in itertools.product(*self.grid.values()):
            varied: dict[str, GridValue] = dict(zip(names, values, strict=True))
            fields = {**base, "params": dict(base["params"])}
            for name, value in varied.items():
                if name.startswith("params."):
                    fields["params"][name.removeprefix("params.")] = value
                else:
                    fields[name] = value
            try:
                made.append((varied, TrialConfig.model_validate(fields)))
            except ValidationError as error:
                raise ValueError(f"combination {varied}: {validation_message(error)}") from None
        return made


def run_sweep(context: ToolContext, args: Sweep) -> SweepResult | SweepFailed | ErrorResult:
    """Train every configuration of the grid through the service (checked before any runs,
    then concurrently, each recorded with its own call id) and tabulate them."""
    grid = args.configurations()
    try:
        outcomes = context.service.sweep(
            [config for _, config in grid], call_id=context.call_id, deadline=context.deadline
        )
    except MLTrainerError as error:
        return ErrorResult.of(error, "sweep_failed")
    rows: list[SweepRow] = []
    errors: list[GridFailure] = []
    for (varied, _), outcome in zip(grid, outcomes, strict=True):
        if isinstance(outcome, MLTrainerError):
            errors.append(GridFailure(varied=varied, error=str(outcome)))
            continue
        rows.append(SweepRow(varied=varied, **dict(TrialSummary.of(outcome))))
    if not rows:
        return SweepFailed(
            error="no configuration of the grid could be trained: "
            + "; ".join(failure.error for failure in errors),
            errors=errors,
        )
    # The best by the return test (the headline), ties to the model id (a hash of the
    # configuration and data), never to which configuration finished first.
    best = min(
        rows,
        key=lambda row: (-(row.return_t if row.return_t is not None else -math.inf), row.model_id),
    )
    return SweepResult(
        configurations=len(grid),
        trained=len(rows),
        columns=list(rows[0].model_dump()),
        rows=rows,
        errors=errors,
        best_trial=best.trial,
        note=(
            f"{len(rows)} tries were added; the best of a grid (best_trial: by the return test) "
            "is optimistic, so judge it by its adjusted p-value and finalize only the trial you "
            "would report"
        ),
    )
