"""What a running tool call tells whoever watches it (the CLI's status line, the UI's chat, MCP
progress notifications): it started, with its arguments; the engine's progress (fold i of k);
it ended, with its result. Calls of one turn run in parallel, so each event names its call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from mltrainer.engine.progress import progress_text
from mltrainer.tools.results import ToolOutput


@dataclass(frozen=True)
class ToolStarted:
    """A call passed validation and runs; `label` is how its tool says it ("training lightgbm
    on SPX")."""

    name: str
    call_id: str
    arguments: BaseModel
    label: str
    kind: Literal["start"] = "start"


@dataclass(frozen=True)
class ToolProgress:
    """The engine reports `done` of `total` steps of `stage` ("walk-forward fold", 2, 5)."""

    name: str
    call_id: str
    label: str
    stage: str
    done: int
    total: int
    kind: Literal["progress"] = "progress"

    def text(self) -> str:
        """'walk-forward fold 3 of 5', or the stage alone when it is a single step."""
        return progress_text(self.stage, self.done, self.total)


@dataclass(frozen=True)
class ToolEnded:
    """A call that started has its result (an error result when it failed)."""

    name: str
    call_id: str
    output: ToolOutput
    kind: Literal["end"] = "end"


ToolEvent = ToolStarted | ToolProgress | ToolEnded
ProgressHook = Callable[[ToolEvent], None]
