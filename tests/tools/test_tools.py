"""The tools an LLM sees: schemas per format, argument validation messages, and the handlers
running on the real engine and sample data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.stats import holm_adjusted
from mltrainer.engine.trial import TrialConfig
from mltrainer.tools import TOOLS, TOOLS_BY_NAME, ToolArgumentError, export_schemas, get_tool
from mltrainer.tools.base import Tool, ToolContext
from mltrainer.tools.research import (
    CompareTrials,
    EvaluateTrial,
    FetchData,
    Finalize,
    Finish,
    ListSymbols,
    TrainModel,
)
from mltrainer.tools.results import dump

TOOL_NAMES = [
    "list_sources",
    "list_symbols",
    "list_models",
    "fetch_data",
    "train_model",
    "sweep",
    "evaluate_trial",
    "compare_trials",
    "finalize",
    "finish",
]
FAST_TRIAL = {"symbol": "SPX", "days": 1500, "save_model": False}


def session_context(session: str = "tools-test", call_id: str | None = None) -> ToolContext:
    return ToolContext(ResearchService(load_settings(), session=session), call_id=call_id)


@pytest.fixture
def engine() -> ToolContext:
    return session_context()


def run(tool: Tool, context: ToolContext, arguments: BaseModel) -> dict[str, Any]:
    """A tool's result as its JSON payload: the shape a transcript and a model see."""
    return dump(tool.run(context, arguments))


def train(engine: ToolContext, **config: object) -> dict[str, Any]:
    tool = get_tool("train_model")
    result = run(tool, engine, TrainModel.model_validate({**FAST_TRIAL, **config}))
    assert result["status"] == "success", result
    return result


# --- schemas ------------------------------------------------------------------------------------


def test_tools_in_order():
    assert [tool.name for tool in TOOLS] == TOOL_NAMES
    assert list(TOOLS_BY_NAME) == TOOL_NAMES


def test_openai_schema_shape():
    schemas = export_schemas("openai")

    assert [s["function"]["name"] for s in schemas] == TOOL_NAMES
    for schema in schemas:
        assert set(schema) == {"type", "function"}
        assert schema["type"] == "function"
        assert set(schema["function"]) == {"name", "description", "parameters"}
        assert schema["function"]["parameters"]["type"] == "object"


def test_anthropic_schema_shape():
    schemas = export_schemas("anthropic")

    assert [s["name"] for s in schemas] == TOOL_NAMES
    for schema in schemas:
        assert set(schema) == {"name", "description", "input_schema"}
        assert schema["input_schema"]["type"] == "object"


def test_json_schema_shape():
    schemas = export_schemas("json")

    assert [s["name"] for s in schemas] == TOOL_NAMES
    for schema in schemas:
        assert set(schema) == {"name", "description", "inputSchema"}
        assert schema["inputSchema"]["type"] == "object"


def test_the_three_formats_carry_the_same_parameters():
    openai = [s["function"]["parameters"] for s in export_schemas("openai")]
    anthropic = [s["input_schema"] for s in export_schemas("anthropic")]
    plain = [s["inputSchema"] for s in export_schemas("json")]

    assert openai == anthropic == plain


def test_parameters_have_no_pydantic_titles():
    for tool in TOOLS:
        parameters = tool.parameters()
        assert "title" not in parameters
        assert all("title" not in field for field in parameters.get("properties", {}).values())


def test_parameters_refuse_unknown_arguments():
    assert all(tool.parameters()["additionalProperties"] is False for tool in TOOLS)


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_every_tool_has_a_description(name: str):
    description = get_tool(name).description

    assert description
    assert description == " ".join(description.split())


def test_train_model_description_says_it_is_out_of_sample():
    description = get_tool("train_model").description

    assert "out of sample" in description
    assert "walk-forward" in description


def test_train_model_bounds_are_in_the_schema():
    properties = get_tool("train_model").parameters()["properties"]

    assert (properties["train_ratio"]["minimum"], properties["train_ratio"]["maximum"]) == (
        0.5,
        0.95,
    )
    assert (properties["lookback"]["minimum"], properties["lookback"]["maximum"]) == (2, 250)
    assert (properties["cost_bps"]["minimum"], properties["cost_bps"]["maximum"]) == (0.0, 100.0)
    # symbol is needed unless the target ranks a universe: the model checks, not the schema.
    assert "required" not in get_tool("train_model").parameters()
    assert properties["symbol"]["default"] is None
    assert properties["target"]["enum"] == ["direction", "return", "rank"]
    assert properties["universe"]["description"].startswith(
        "for target rank only: the stocks ranked each date, a named universe (sp20)"
    )


@pytest.mark.parametrize(
    "field",
    [
        "symbol",
        "source",
        "model",
        "params",
        "train_ratio",
        "lookback",
        "horizon",
        "folds",
        "embargo",
        "cost_bps",
        "days",
        "features",
        "macro",
        "save_model",
    ],
)
def test_train_model_field_has_a_description(field: str):
    assert get_tool("train_model").parameters()["properties"][field]["description"]


def test_every_train_model_field_has_a_description():
    properties = get_tool("train_model").parameters()["properties"]

    assert [name for name, field in properties.items() if not field.get("description")] == []


def test_train_model_accepts_exactly_the_trial_config_fields():
    assert set(TrainModel.model_fields) == set(TrialConfig.model_fields)
    assert set(get_tool("train_model").parameters()["properties"]) == set(TrialConfig.model_fields)


# --- parse: every failure says what to fix ------------------------------------------------------


def test_parse_valid_arguments_returns_the_model():
    arguments = get_tool("train_model").parse('{"symbol": "msft", "model": "rf"}')

    assert isinstance(arguments, TrainModel)
    assert arguments.symbol == "MSFT"
    assert arguments.model == "rf"
    assert arguments.train_ratio == 0.8


def test_parse_empty_string_is_an_empty_object():
    assert get_tool("list_symbols").parse("   ") == ListSymbols(source="sample")


def test_parse_malformed_json():
    with pytest.raises(
        ToolArgumentError,
        match=r"^train_model: arguments are not valid JSON \(Expecting value at position 11\); "
        r'send one JSON object, e\.g\. \{"symbol": "\.\.\."\}$',
    ):
        get_tool("train_model").parse('{"symbol": ')


def test_parse_json_that_is_not_an_object():
    with pytest.raises(
        ToolArgumentError,
        match=r'^finish: arguments must be a JSON object, e\.g\. \{"conclusion": "\.\.\."\}$',
    ):
        get_tool("finish").parse('["no edge"]')


def test_parse_missing_required_field():
    with pytest.raises(
        ToolArgumentError,
        match=r"^train_model: symbol: Field required: a ticker such as MSFT or SPX \(for "
        r"target rank, give universe instead\)$",
    ):
        get_tool("train_model").parse('{"model": "rf"}')


def test_parse_wrong_type():
    with pytest.raises(
        ToolArgumentError,
        match=r"^train_model: lookback: Input should be a valid integer, unable to parse string "
        r"as an integer \(got 'long'\)$",
    ):
        get_tool("train_model").parse('{"symbol": "SPX", "lookback": "long"}')


def test_parse_out_of_bounds():
    with pytest.raises(
        ToolArgumentError,
        match=r"^train_model: train_ratio: Input should be less than or equal to 0\.95 "
        r"\(got 1\.5\)$",
    ):
        get_tool("train_model").parse('{"symbol": "SPX", "train_ratio": 1.5}')


def test_parse_unknown_argument():
    with pytest.raises(
        ToolArgumentError,
        match=r"^evaluate_trial: colour: Extra inputs are not permitted \(got 'red'\)$",
    ):
        get_tool("evaluate_trial").parse('{"trial": 1, "colour": "red"}')


def test_parse_invalid_choice():
    with pytest.raises(
        ToolArgumentError,
        match=r"^list_symbols: source: Input should be 'sample', 'synthetic', 'polygon', "
        r"'fred', 'sp20' or 'csv' \(got 'nasdaq'\)$",
    ):
        get_tool("list_symbols").parse('{"source": "nasdaq"}')


def test_parse_invalid_ticker():
    with pytest.raises(ToolArgumentError, match=r"^train_model: symbol: Value error, not a valid"):
        get_tool("train_model").parse('{"symbol": "DROP TABLE"}')


def test_parse_reports_every_problem():
    with pytest.raises(ToolArgumentError) as caught:
        get_tool("train_model").parse('{"train_ratio": 2, "horizon": 0}')

    assert str(caught.value) == (
        "train_model: symbol: Field required: a ticker such as MSFT or SPX (for target rank, "
        "give universe instead); "
        "train_ratio: Input should be less than or equal to 0.95 (got 2); "
        "horizon: Input should be greater than or equal to 1 (got 0)"
    )


def test_compare_trials_needs_two_trials_when_given():
    with pytest.raises(
        ToolArgumentError, match=r"^compare_trials: trials: List should have at least 2 items"
    ):
        get_tool("compare_trials").parse('{"trials": [3]}')


def test_unknown_tool_lists_the_tools():
    with pytest.raises(
        ToolArgumentError,
        match=r"^unknown tool 'train'; tools are list_sources, list_symbols, list_models, "
        r"fetch_data, train_model, sweep, evaluate_trial, compare_trials, finalize, finish$",
    ):
        get_tool("train")


# --- handlers on the real engine ----------------------------------------------------------------


def test_list_symbols_sample_includes_spx_ixic_msft(engine: ToolContext):
    result = run(get_tool("list_symbols"), engine, ListSymbols())

    assert result["status"] == "success"
    symbols = {s["symbol"] for s in result["symbols"]}
    assert {"SPX", "IXIC", "MSFT"} <= symbols


def test_list_sources_names_every_source(engine: ToolContext):
    result = run(get_tool("list_sources"), engine, get_tool("list_sources").parse("{}"))

    names = sorted(s["name"] for s in result["sources"])
    assert names == ["csv", "fred", "polygon", "sample", "sp20", "synthetic"]


def test_list_models_includes_the_registry(engine: ToolContext):
    result = run(get_tool("list_models"), engine, get_tool("list_models").parse("{}"))

    names = [m["name"] for m in result["models"]]
    assert {"random_forest", "logistic_regression", "lightgbm", "naive_bayes", "lstm"} <= set(names)


def test_fetch_data_of_a_sample_symbol_is_real_data(engine: ToolContext):
    tool = get_tool("fetch_data")

    result = run(tool, engine, tool.parse('{"symbol": "spx", "source": "sample"}'))

    assert result["status"] == "success"
    assert result["data_label"] == "REAL DATA"
    assert result["provenance"]["symbol"] == "SPX"


def test_train_model_records_a_trial_in_the_session(engine: ToolContext):
    result = train(engine, model="naive_bayes")

    assert result["trial"] == 1
    assert result["model"] == "naive_bayes"
    assert engine.service.ledger.count(session="tools-test") == 1


def test_evaluate_trial_at_higher_cost_lowers_long_flat_return(engine: ToolContext):
    trained = train(engine, model="naive_bayes")
    tool = get_tool("evaluate_trial")

    free = run(tool, engine, EvaluateTrial(trial=trained["trial"], cost_bps=0))
    costly = run(tool, engine, EvaluateTrial(trial=trained["trial"], cost_bps=50))

    assert free["backtest"]["long_flat"]["turnover"] > 0
    assert (
        costly["backtest"]["long_flat"]["annual_return"]
        < (free["backtest"]["long_flat"]["annual_return"])
    )
    assert costly["selection"] == free["selection"]
    assert (free["backtest"]["cost_bps"], costly["backtest"]["cost_bps"]) == (0.0, 50.0)


def test_evaluate_unknown_trial_is_an_error_result(engine: ToolContext):
    result = run(get_tool("evaluate_trial"), engine, EvaluateTrial(trial=42))

    assert result["status"] == "error"
    assert result["error"] == "no recorded trial '42'; list them with `mltrainer trials list`"


def test_compare_without_trials_compares_the_sessions_trials(engine: ToolContext):
    first = train(engine, model="naive_bayes")
    second = train(engine, model="logistic_regression")
    third = train(session_context("another-session"), model="knn")

    result = run(get_tool("compare_trials"), engine, CompareTrials())

    assert result["status"] == "success"
    assert sorted(row["trial"] for row in result["trials"]) == sorted(
        [first["trial"], second["trial"]]
    )
    # The other session's try on the same dataset counts in the adjustment.
    p_values = [t["baselines"]["p_value"] for t in (first, second, third)]
    holm = dict(zip((1, 2, 3), holm_adjusted(p_values), strict=True))
    assert result["tries"] == 3
    assert result["best_p_value_adjusted"] == pytest.approx(holm[result["best"]["trial"]])


def test_compare_adjusts_for_every_try_on_the_dataset(engine: ToolContext):
    first = train(engine, model="naive_bayes")
    second = train(engine, model="logistic_regression")
    third = train(engine, model="lightgbm", params={"n_estimators": 20})

    result = run(
        get_tool("compare_trials"), engine, CompareTrials(trials=[first["trial"], second["trial"]])
    )

    p_values = [t["baselines"]["p_value"] for t in (first, second, third)]
    holm = dict(zip((1, 2, 3), holm_adjusted(p_values), strict=True))
    assert len(result["trials"]) == 2
    assert result["tries"] == 3
    assert result["best_p_value_adjusted"] == pytest.approx(holm[result["best"]["trial"]])


def test_compare_without_trials_has_no_cap_of_twenty(engine: ToolContext):
    for seed in range(22):
        train(engine, model="naive_bayes", seed=seed, folds=2, days=600)

    result = run(get_tool("compare_trials"), engine, CompareTrials())

    assert result["compared"] == 22
    assert len(result["trials"]) == 22


def test_compare_with_fewer_than_two_trials_is_an_error_result(engine: ToolContext):
    train(engine, model="naive_bayes")

    result = run(get_tool("compare_trials"), engine, CompareTrials())

    assert result["status"] == "error"
    assert result["error"] == "compare needs at least two trials (trial numbers or model ids)"


def test_finish_without_finalize_says_the_conclusion_rests_on_selection_numbers(
    engine: ToolContext,
):
    result = run(get_tool("finish"), engine, Finish(conclusion="No edge.", best_trial=3))

    assert result == {
        "status": "success",
        "type": "finished",
        "conclusion": "No edge.",
        "best_trial": 3,
        "finalized": [],
        "note": "no trial was finalized, so this conclusion rests on selection numbers, which "
        "are optimistic after many tries",
    }


def test_finalize_scores_the_sessions_best_trial_on_the_holdout(engine: ToolContext):
    first = train(engine, model="naive_bayes")
    second = train(engine, model="logistic_regression")
    best = max((first, second), key=lambda r: r["selection_accuracy"])

    result = run(get_tool("finalize"), engine, Finalize())

    assert result["status"] == "success", result
    assert result["type"] == "finalized"
    assert result["trial"] == best["trial"]
    assert result["holdout"]["period"][0] >= best["dataset"]["holdout"]["start"]
    assert result["look"] == 1 and result["untouched"] is True
    assert result["selection_stats"]["tries"] == 2


def test_finish_carries_the_finalized_numbers(engine: ToolContext):
    train(engine, model="naive_bayes")
    final = run(get_tool("finalize"), engine, Finalize())

    result = run(get_tool("finish"), engine, Finish(conclusion="No edge."))

    assert [f["holdout_accuracy"] for f in result["finalized"]] == [final["holdout"]["accuracy"]]
    assert "note" not in result


def test_second_finalize_in_a_session_is_refused(engine: ToolContext):
    train(engine, model="naive_bayes")
    train(engine, model="logistic_regression")
    assert run(get_tool("finalize"), engine, Finalize(trial=1))["status"] == "success"

    again = run(get_tool("finalize"), engine, Finalize(trial=2))

    assert again["status"] == "error"
    assert again["type"] == "finalize_failed"
    assert again["error_type"] == "HoldoutAlreadyScored"
    assert (
        "the locked holdout of sample:SPX:bars was already scored: look 1, trial 1"
        in (again["error"])
    )


def test_finalize_again_looks_and_adjusts_over_the_looks(engine: ToolContext):
    train(engine, model="naive_bayes")
    train(engine, model="logistic_regression")
    run(get_tool("finalize"), engine, Finalize(trial=1))

    again = run(get_tool("finalize"), engine, Finalize(trial=2, again=True))

    assert again["status"] == "success", again
    assert (again["look"], again["untouched"], again["again"], again["family"]) == (
        2,
        False,
        True,
        2,
    )
    binomial = again["p_values"][0]
    assert binomial["test"] == "binomial"
    assert binomial["raw"] == again["holdout"]["baselines"]["p_value"]
    assert binomial["adjusted"] >= binomial["raw"]


def test_finalize_with_no_trials_is_an_error_result(engine: ToolContext):
    result = run(get_tool("finalize"), engine, Finalize())

    assert result["status"] == "error"
    assert "no trials yet" in result["error"]


def test_only_finish_ends_the_session():
    assert [tool.name for tool in TOOLS if tool.ends_session] == ["finish"]


def test_a_running_call_reads_as_its_tool_says():
    train_model, finalize, list_symbols = map(get_tool, ("train_model", "finalize", "list_symbols"))

    assert train_model.start_label(TrainModel(symbol="SPX", model="lightgbm")) == (
        "training lightgbm on SPX"
    )
    assert finalize.start_label(Finalize(trial=3)) == "scoring the locked holdout"
    assert list_symbols.start_label(ListSymbols()) == "running list_symbols"
    assert finalize.start_label(None) == "running finalize"


def test_fetch_data_of_a_csv_file_is_caller_data_with_its_holdout(
    engine: ToolContext, tmp_path: Path
):
    from mltrainer.engine.data.sample import SampleSource

    SampleSource().bars("MSFT").frame.reset_index().to_csv(tmp_path / "mine.csv", index=False)
    tool = get_tool("fetch_data")

    result = run(
        tool,
        engine,
        FetchData(symbol="MINE", source="csv", path=str(tmp_path / "mine.csv")),
    )

    assert result["status"] == "success", result
    assert result["data_label"] == "CALLER DATA"
    assert result["provenance"]["source"] == "csv"
    assert result["dataset"]["key"] == "csv:MINE:bars"
