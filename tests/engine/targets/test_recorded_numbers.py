"""Direction trials recorded before the labels were aligned with the execution (issue 17) were
labelled with the close-to-close move, which is what a `close` trial is labelled with now. Run
again through `ResearchService` as `close` trials on the offline sample data, they repeat, to
the last bit, every number fitted and scored on the training period of the recordings in
`tests/fixtures/transcripts_v1/` (recorded at 91524db): train accuracy, each walk-forward fold,
the periods, the features and the bars used. Their selection numbers are not compared: a
`next_bar` trial then dropped its last selection day (its return lay beyond the bars), a
`close` trial now keeps it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.trial import TrialConfig
from mltrainer.tools.sweep import Sweep

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "transcripts_v1"
# Bookkeeping that differs between two runs of the same session: wall time, the data home's
# paths, the model file's bytes and the session's id; and what a finalize says about its
# family of looks (`again`, `family`, `p_values`), added after the recording: its raw p-values
# are the recorded holdout's, compared where they always were.
VOLATILE = {"timings", "model_path", "model_sha256", "session", "again", "family", "p_values"}


def recorded(name: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(tool, arguments, payload) of every successful tool run in a fixture transcript."""
    runs = []
    for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event["event"] == "tool_run" and not event["is_error"]:
            runs.append((event["name"], event["arguments"], event["payload"]))
    return runs


def stable(value: Any) -> Any:
    """`value` as JSON, without the volatile keys at any depth."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


# What a trial fits and scores on its training period, and the data it used.
TRAINING = (
    "model",
    "symbol",
    "train_accuracy",
    "walk_forward",
    "walk_forward_accuracy",
    "features",
    "train_period",
    "dataset",
    "synthetic",
    "data_label",
)


def as_close_trial(arguments: dict[str, Any]) -> TrialConfig:
    return TrialConfig.model_validate(arguments | {"execution": "close"})


@pytest.mark.parametrize("name", ["demo.jsonl", "all_tools.jsonl"])
def test_recorded_direction_trials_repeat_their_training_numbers_as_close_trials(name):
    service = ResearchService(load_settings(), session="pinned")
    trained = 0

    for tool, arguments, payload in recorded(name):
        if tool == "sweep":
            for _, config in Sweep.model_validate(arguments).configurations():
                service.train(config.model_copy(update={"execution": "close"}))
            continue
        if tool != "train_model":
            continue
        result = stable(service.train(as_close_trial(arguments)).result)
        trained += 1
        assert {k: result[k] for k in TRAINING} == {k: stable(payload)[k] for k in TRAINING}
    assert trained >= 2
