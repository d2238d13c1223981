"""What a tool returns: one union of result models (a trial, a holdout score, a sweep, a
comparison, an evaluation, sources, symbols, models, fetched data, a conclusion, an error), typed
from the handler to the surfaces and turned into JSON only where it leaves the process (`dump`).

Recorded JSON comes back through one adapter (`read_output`), by the `status` and `type` every
payload has carried: transcripts written before these models existed read back as the same
classes. The union's open end is `PluginResult`: a plugin's tool may return a subclass of it,
or a plain dict, which travels as a `PlainResult` and serialises as the dict it was.

Code that needs to know what a result holds matches on these classes (`failed`, `trials_in`,
`conclusion_of` below), never on a `type` string.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from functools import cache, reduce
from typing import Annotated, Any, Literal, assert_never

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    TypeAdapter,
    model_serializer,
    model_validator,
)

from mltrainer.engine.data.provenance import SourceInfo, SymbolInfo
from mltrainer.engine.results import (
    BarsSummary,
    Comparison,
    Evaluation,
    FinalSummary,
    ModelInfo,
    SeriesSummary,
    TrialSummary,
)
from mltrainer.engine.trial import ErrorResult, FinalResult, TrialResult

# A value a sweep's grid may give a field: one JSON scalar.
GridValue = str | int | float | bool | None


class _Listing(BaseModel):
    model_config = ConfigDict(defer_build=True)

    status: Literal["success"] = "success"


class SourceList(_Listing):
    """`list_sources`."""

    type: Literal["sources"] = "sources"
    sources: list[SourceInfo]


class SymbolList(_Listing):
    """`list_symbols`."""

    type: Literal["symbols"] = "symbols"
    symbols: list[SymbolInfo]


class ModelList(_Listing):
    """`list_models`."""

    type: Literal["models"] = "models"
    models: list[ModelInfo]


class Conclusion(_Listing):
    """`finish`: the model's conclusion and the holdout scores it rests on; `note` says when
    there are none."""

    type: Literal["finished"] = "finished"
    conclusion: str
    best_trial: int | None
    finalized: list[FinalSummary]
    note: str | None = None

    @model_serializer(mode="wrap")
    def _note_only_when_given(self, dump: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = dump(self)
        if self.note is None:
            data.pop("note", None)
        return data


class _GridPoint(BaseModel):
    """One configuration of a sweep's grid. The values it varied lead its JSON, flat beside its
    own fields (as a table shows them); read back, every key that is not a field is one."""

    model_config = ConfigDict(defer_build=True)

    varied: dict[str, GridValue] = Field(default_factory=dict, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _varied_from_flat(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or "varied" in data:
            return data
        fields = cls.model_fields
        return {
            "varied": {k: v for k, v in data.items() if k not in fields},
            **{k: v for k, v in data.items() if k in fields},
        }

    @model_serializer(mode="wrap")
    def _flat(self, dump: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {**self.varied, **dump(self)}


class SweepRow(TrialSummary, _GridPoint):
    """A configuration of the grid that trained: its trial's row."""


class GridFailure(_GridPoint):
    """A configuration of the grid that could not be trained, and why."""

    error: str


class SweepResult(_Listing):
    """`sweep`: a row per configuration that trained, in grid order, and those that failed."""

    type: Literal["sweep"] = "sweep"
    configurations: int
    trained: int
    columns: list[str]
    rows: list[SweepRow]
    errors: list[GridFailure]
    best_trial: int | None
    note: str


class SweepFailed(ErrorResult):
    """A sweep of which no configuration could be trained."""

    type: Literal["sweep_failed"] = "sweep_failed"
    errors: list[GridFailure]


class PluginResult(BaseModel):
    """The open end of the union: a plugin's tool may return a subclass. It is dumped as it
    is at the edges (a recording of it reads back as a `PlainResult`); a `status` of "error"
    makes it a failure whose `error` the model is shown."""

    @property
    def failed(self) -> bool:
        return getattr(self, "status", None) == "error"


class PlainResult(PluginResult):
    """A plain dict from a plugin's handler (or a recording of one), kept key for key."""

    model_config = ConfigDict(extra="allow")

    @property
    def data(self) -> dict[str, Any]:
        """The dict, as the handler returned it."""
        return dict(self.__pydantic_extra__ or {})


BuiltInOutput = (
    TrialResult
    | FinalResult
    | SweepResult
    | Comparison
    | Evaluation
    | SourceList
    | SymbolList
    | ModelList
    | BarsSummary
    | SeriesSummary
    | Conclusion
    | ErrorResult
)
ToolOutput = BuiltInOutput | PluginResult

# The successes, each named by the `type` its JSON has always carried.
_SUCCESSES: tuple[type[BaseModel], ...] = (
    TrialResult,
    FinalResult,
    SweepResult,
    Comparison,
    Evaluation,
    SourceList,
    SymbolList,
    ModelList,
    BarsSummary,
    SeriesSummary,
    Conclusion,
)
_KINDS = {str(cls.model_fields["type"].default): cls for cls in _SUCCESSES}
_ERROR_KEYS = frozenset(ErrorResult.model_fields)


def _tag(payload: Any) -> str | None:
    """Which class a recorded payload is. Every success names its kind in `type`; an error is
    an `ErrorResult` when it has exactly that shape (a sweep's adds its failed grid points).
    Anything else came from a plugin and stays a plain dict."""
    if not isinstance(payload, Mapping):
        return None
    kind = payload.get("type")
    if payload.get("status") == "success" and kind in _KINDS:
        return str(kind)
    if payload.get("status") != "error" or not isinstance(kind, str):
        return "plain"
    if not isinstance(payload.get("error"), str) or (
        "error_type" in payload and not isinstance(payload["error_type"], str)
    ):
        return "plain"
    keys = set(payload)
    if kind == "sweep_failed" and keys <= _ERROR_KEYS | {"errors"} and "errors" in keys:
        return "sweep_failed"
    return "error" if keys <= _ERROR_KEYS else "plain"


@cache
def _adapter() -> TypeAdapter[ToolOutput]:
    """The one adapter, built on first use: `mltrainer tools` and `--help` never pay for it."""
    tagged = [Annotated[cls, Tag(kind)] for kind, cls in _KINDS.items()] + [
        Annotated[SweepFailed, Tag("sweep_failed")],
        Annotated[ErrorResult, Tag("error")],
        Annotated[PlainResult, Tag("plain")],
    ]
    recorded: Any = Annotated[reduce(operator.or_, tagged), Discriminator(_tag)]
    return TypeAdapter(recorded)


def read_output(payload: Mapping[str, Any]) -> ToolOutput:
    """A result from its JSON (a transcript's payload, a plugin handler's dict): the one way
    back from JSON. Raises `pydantic.ValidationError` when a built-in kind has a wrong shape."""
    output: ToolOutput = _adapter().validate_python(payload)
    return output


def as_output(value: ToolOutput | Mapping[str, Any]) -> ToolOutput:
    """What a handler returned, as a result: a model as it is, a plain dict read."""
    if isinstance(value, BaseModel):
        return value
    return read_output(value)


def dump(output: ToolOutput) -> dict[str, Any]:
    """The result as JSON-ready data, where it leaves the process: a transcript line, MCP
    structured content, `--json`. A plugin's plain dict goes out as it came."""
    if isinstance(output, PlainResult):
        return output.data
    return output.model_dump(mode="json")


def failed(output: ToolOutput) -> bool:
    """The tool failed: the model is shown the error and the call counts against its retries."""
    match output:
        case ErrorResult():
            return True
        case PluginResult():
            return output.failed
        case (
            TrialResult()
            | FinalResult()
            | SweepResult()
            | Comparison()
            | Evaluation()
            | SourceList()
            | SymbolList()
            | ModelList()
            | BarsSummary()
            | SeriesSummary()
            | Conclusion()
        ):
            return False
        case _:
            assert_never(output)


def error_message(output: ToolOutput) -> object:
    """What a failed result says went wrong (None when a plugin's failure says nothing)."""
    match output:
        case ErrorResult():
            return output.error
        case _:
            return getattr(output, "error", None)


def trials_in(output: ToolOutput) -> list[TrialSummary]:
    """The trials a result reports, a row each: a trained trial, or a sweep's rows. The
    session summary, the metrics and the progress lines count trials here, so a new
    trial-making result is taught in one place."""
    match output:
        case TrialResult():
            return [TrialSummary.of(output)]
        case SweepResult():
            return list(output.rows)
        case _:
            return []


def conclusion_of(output: ToolOutput) -> tuple[str, int | None]:
    """The conclusion and best trial of a result that ends the session (`finish`, or a
    plugin's tool with `ends_session`, whose result may carry `conclusion` and `best_trial`)."""
    match output:
        case Conclusion():
            return output.conclusion, output.best_trial
        case PluginResult():
            best = getattr(output, "best_trial", None)
            return str(getattr(output, "conclusion", "")), best if isinstance(best, int) else None
        case _:
            return "", None
