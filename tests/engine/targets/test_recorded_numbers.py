"""Direction trials give, to the last bit, the numbers recorded before research targets became
a seam: the demo's and the all-tools session's trials, evaluation, comparison and finalize are
run again through `ResearchService` on the offline sample data and compared with the payloads
in `tests/fixtures/transcripts_v1/` (recorded at 91524db)."""

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


def sweep_rows(service: ResearchService, arguments: dict[str, Any]) -> list[dict[str, Any]]:
    """A sweep's configurations trained one by one, in the order its rows list them (the
    recording's trial numbers follow that order), read as its rows' numbers."""
    rows = []
    for _, config in Sweep.model_validate(arguments).configurations():
        result = service.train(config).result
        rows.append(
            {key: getattr(result, key) for key in ("trial", "model_id", "selection_accuracy")}
        )
        rows[-1] |= {
            "p_value": result.baselines.p_value,
            "baseline_accuracy": result.baselines.best_accuracy,
            "sharpe": result.backtest.long_flat.sharpe,
        }
    return rows


def rerun(service: ResearchService, tool: str, arguments: dict[str, Any]) -> Any:
    match tool:
        case "train_model":
            return service.train(TrialConfig.model_validate(arguments)).result
        case "evaluate_trial":
            return service.evaluate(arguments["trial"], cost_bps=arguments["cost_bps"])
        case "compare_trials":
            return service.compare(arguments["trials"], rank_by=arguments["rank_by"])
        case "finalize":
            return service.finalize(arguments["trial"], rank_by=arguments["rank_by"])
    raise AssertionError(f"{tool} is not replayed here")


REPLAYED = ("train_model", "sweep", "evaluate_trial", "compare_trials", "finalize")


@pytest.mark.parametrize("name", ["demo.jsonl", "all_tools.jsonl"])
def test_direction_trials_repeat_the_recorded_numbers(name):
    service = ResearchService(load_settings(), session="pinned")
    runs = [run for run in recorded(name) if run[0] in REPLAYED]

    for tool, arguments, payload in runs:
        if tool == "sweep":
            keys = ("trial", "model_id", "selection_accuracy", "p_value", "baseline_accuracy")
            expected = [{k: row[k] for k in (*keys, "sharpe")} for row in payload["rows"]]
            assert sweep_rows(service, arguments) == expected
            continue
        assert stable(rerun(service, tool, arguments)) == stable(payload), tool
