"""One instruction in words (`mltrainer train`, the seed's `MLTrainer`): the whole configuration
the bridge reads, options filling in what the words leave out, or the refusal that says why
nothing runs; and the outcome both report."""

from __future__ import annotations

from datetime import date

import pytest

from mltrainer.agent.bridge import Bridge
from mltrainer.agent.bridge.instruction import instruction_outcome, read_instruction
from mltrainer.engine.compliance import ComplianceEngine
from mltrainer.engine.settings import load_settings


def read(text: str, **defaults: object):
    return read_instruction(Bridge(), ComplianceEngine(load_settings()), text, defaults)


def test_options_fill_in_what_the_text_leaves_out():
    instruction = read("Train naive Bayes on SPX", seed=3, start=date(2005, 1, 3))

    assert instruction.refusal is None
    assert instruction.config is not None
    assert (instruction.config.symbol, instruction.config.model) == ("SPX", "naive_bayes")
    assert (instruction.config.seed, instruction.config.start) == (3, date(2005, 1, 3))


def test_a_text_that_contradicts_an_option_is_refused_naming_both():
    instruction = read("Train naive Bayes on SPX with seed 7", seed=3)

    assert instruction.config is None
    assert instruction.refusal == {
        "status": "error",
        "type": "not_done",
        "error": "the instruction says seed=7 but the option says 3",
    }


def test_a_source_the_policy_forbids_is_refused_listing_the_allowed(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("MLTRAINER_ALLOWED_SOURCES", "sample,polygon")

    instruction = read("Train naive Bayes on SPX with synthetic data")

    assert instruction.refusal is not None
    assert instruction.refusal["type"] == "compliance_failed"
    assert instruction.refusal["error"] == (
        "data source 'synthetic' is not allowed; allowed sources are sample, polygon"
    )


def test_a_text_without_a_symbol_runs_nothing():
    instruction = read("hello there")

    assert instruction.config is None
    assert instruction.refusal is not None
    assert instruction.refusal["type"] == "no_instruction"


def test_the_outcome_of_a_refusal_has_no_configuration_and_says_what_failed():
    instruction = read("Train a transformer on SPX")
    assert instruction.refusal is not None

    outcome = instruction_outcome(instruction, instruction.refusal)

    assert outcome["parsed_config"] is None and outcome["configuration"] is None
    assert outcome["ml_result"]["type"] == "not_done"
    assert outcome["feedback_question"].startswith("The trial failed: Not done, nothing was run:")


def test_the_outcome_names_the_configuration_that_ran_not_the_one_read():
    instruction = read("Train naive Bayes on SPX")
    assert instruction.config is not None
    ran = {**instruction.config.model_dump(mode="json"), "source": "sample", "lookback": 30}

    outcome = instruction_outcome(instruction, {"status": "success", "config": ran})

    assert outcome["parsed_config"] == {"symbol": "SPX", "model": "naive_bayes", "params": {}}
    assert outcome["configuration"].startswith("naive_bayes on SPX: source=sample, ")
    assert "lookback=30" in outcome["configuration"]
