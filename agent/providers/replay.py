"""A provider that replays the assistant turns of a recorded transcript, and fails loudly
(`ReplayDivergence`) the moment the conversation stops matching the recording.

The conversation only grows, so each message is compared with the recording once, when it is
new: a replay of N messages costs O(N), not the O(N^2) of re-checking the whole prefix per turn.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mltrainer.agent.messages import AssistantTurn, Message, ToolSpec, Usage
from mltrainer.agent.providers.base import (
    Provider,
    ProviderConfigError,
    ReplayDivergence,
    ScriptFinished,
)
from mltrainer.agent.session.transcript import (
    TranscriptError,
    messages_from_events,
    read_events,
    session_header,
)

_DIFF_CONTEXT = 60
_DIFF_WIDTH = 160


class ReplayProvider(Provider):
    """Serves the recorded assistant turns in order, checking the conversation before each."""

    offline = True

    def __init__(self, events: list[dict[str, Any]]) -> None:
        try:
            header = session_header(events)
        except TranscriptError as error:
            raise ProviderConfigError(f"cannot replay: {error}") from error
        self.name = str(header.get("provider", "replay"))
        self.model = str(header.get("model", ""))
        self._recording = list(messages_from_events(events))
        self._turns = [
            (position, message)
            for position, message in enumerate(self._recording)
            if isinstance(message, AssistantTurn)
        ]
        self._served = 0
        self._checked = 0
        self._ended = next(
            (e.get("reason") for e in events if e.get("event") == "session_end"), None
        )
        # Calls made outside a loop (`mltrainer train`, an MCP host): the recording ends where
        # the caller stopped calling, and so does the replay.
        self._caller_ended = header.get("kind") is not None

    @property
    def recorded_messages(self) -> tuple[Message, ...]:
        """Every message of the recording, in order."""
        return tuple(self._recording)

    @classmethod
    def from_transcript(cls, path: Path) -> ReplayProvider:
        try:
            events = read_events(Path(path))
        except TranscriptError as error:
            raise ProviderConfigError(f"cannot replay: {error}") from error
        return cls(events)

    async def complete(
        self,
        *,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        timeout: float | None = None,
    ) -> AssistantTurn:
        turn_number = self._served + 1
        if self._served >= len(self._turns):
            if self._ended == "script finished" or self._caller_ended:
                _check_new_messages(
                    turn_number, self._recording, len(self._recording), messages, self._checked
                )
                raise ScriptFinished(self._ended or "the recording ends here")
            raise ReplayDivergence(
                f"replay diverged at turn {turn_number}: the recording has only "
                f"{len(self._turns)} assistant turns"
            )
        position, turn = self._turns[self._served]
        _check_new_messages(turn_number, self._recording, position, messages, self._checked)
        self._checked = position
        self._served += 1
        return turn


def _check_new_messages(
    turn_number: int,
    recording: Sequence[Message],
    expected_length: int,
    got: Sequence[Message],
    start: int,
) -> None:
    """Compare the messages from `start` on (the earlier ones matched at an earlier turn) with
    the recording's first `expected_length` messages."""
    for index in range(start, min(expected_length, len(got))):
        if recording[index] is got[index]:  # the recorded turn itself, served back
            continue
        want, have = _comparable(recording[index]), _comparable(got[index])
        if want != have:
            raise ReplayDivergence(
                f"replay diverged at turn {turn_number}, message {index}:\n" + _diff(want, have)
            )
    if expected_length != len(got):
        index = min(expected_length, len(got))
        if len(got) > expected_length:
            detail = f"the conversation has an extra message: {_clip(repr(got[index]), 0)}"
        else:
            detail = f"the conversation lacks the recorded {_clip(repr(recording[index]), 0)}"
        raise ReplayDivergence(
            f"replay diverged at turn {turn_number}, message {index}: the recording has "
            f"{expected_length} messages before this turn, the conversation {len(got)}; {detail}"
        )


def _comparable(message: Message) -> Message:
    # Token counts and cost are the provider's bookkeeping, not part of what was said.
    if isinstance(message, AssistantTurn):
        return dataclasses.replace(message, usage=Usage())
    return message


def _diff(want: Message, have: Message) -> str:
    """Both reprs, clipped to a window around the first character where they differ."""
    expected, got = repr(want), repr(have)
    start = next(
        (i for i, (a, b) in enumerate(zip(expected, got, strict=False)) if a != b),
        min(len(expected), len(got)),
    )
    return f"  expected: {_clip(expected, start)}\n  got:      {_clip(got, start)}"


def _clip(text: str, first_difference: int) -> str:
    begin = max(0, first_difference - _DIFF_CONTEXT)
    end = begin + _DIFF_WIDTH
    return ("..." if begin else "") + text[begin:end] + ("..." if end < len(text) else "")
