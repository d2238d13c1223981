"""A tool runs its handler into a typed result and decides how that result reads for the
model: its own `render`, an error naming the tool, or compact JSON without timings."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from mltrainer.engine.results import ModelInfo, ParamInfo
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.trial import ErrorResult
from mltrainer.tools import Tool, get_tool
from mltrainer.tools.base import ToolContext
from mltrainer.tools.results import ModelList, PlainResult, PluginResult


class Roll(BaseModel):
    """Roll a die."""

    sides: int = 6


def roll(context: ToolContext, args: Roll) -> dict[str, Any]:
    return {"status": "success", "type": "roll", "value": args.sides - 1, "timings": {"total": 1}}


def context() -> ToolContext:
    return ToolContext(ResearchService(load_settings(), session="base-test"))


def test_a_handlers_dict_travels_as_a_plain_result():
    output = Tool("roll", Roll, roll).run(context(), Roll(sides=20))

    assert output == PlainResult(status="success", type="roll", value=19, timings={"total": 1})


class Rolled(PluginResult):
    status: str = "success"
    value: int


def test_a_handlers_own_result_model_travels_as_it_is_and_reads_as_its_json():
    tool = Tool("roll", Roll, lambda _, args: Rolled(value=args.sides))

    output = tool.run(context(), Roll(sides=4))

    assert output == Rolled(value=4)
    assert tool.read(output) == '{"status":"success","value":4}'


def test_render_gets_the_dict_the_handler_returned():
    seen: list[Any] = []
    tool = Tool("roll", Roll, roll, render=lambda p: seen.append(p) or f"rolled {p['value']}")

    text = tool.read(tool.run(context(), Roll()))

    assert text == "rolled 5"
    assert seen == [{"status": "success", "type": "roll", "value": 5, "timings": {"total": 1}}]


def test_without_render_a_result_reads_as_compact_json_without_timings():
    tool = Tool("roll", Roll, roll)

    assert tool.read(PlainResult(status="success", value=0.123456, timings={"total": 2.0})) == (
        '{"status":"success","value":0.1235}'
    )


def test_an_error_reads_as_its_message_naming_the_tool():
    tool = get_tool("fetch_data")

    text = tool.read(ErrorResult(type="fetch_failed", error="unknown symbol 'ZZZ'"))

    assert text == "ERROR from fetch_data: unknown symbol 'ZZZ'"


def test_list_models_reads_as_names_and_defaults_only():
    listed = ModelList(
        models=[
            ModelInfo(
                name="knn",
                family="neighbors",
                description="k nearest neighbours",
                aliases=[],
                params={"n_neighbors": ParamInfo(default=15, low=1, high=200, choices=None)},
                needs=None,
            )
        ]
    )

    assert get_tool("list_models").read(listed) == (
        '{"models":[{"name":"knn","params":{"n_neighbors":15}}]}'
    )
