"""What `mltrainer run`, `demo` and `resume` print while a session runs: a status line naming the
tools at work, a line per finished trial, the LLM's text and every tool error as they happen
(redacted and shortened, `screen.py`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, assert_never

from rich.console import Console
from rich.markup import escape

from mltrainer.agent.cli.screen import on_screen
from mltrainer.agent.cli.tables import baseline_strategy_text, score_with_name
from mltrainer.agent.messages import AssistantTurn, Message, ToolResults, UserMessage

if TYPE_CHECKING:
    from mltrainer.agent.session.progress import ProgressHook, ToolEnded, ToolEvent

# A model can send thousands of calls in one turn; the screen shows the first errors of a turn
# and counts the rest.
ERRORS_SHOWN_PER_TURN = 10


def progress_hook(
    console: Console, enabled: bool
) -> tuple[ProgressHook | None, Callable[[], None]]:
    """A rich status line naming the tools running now (several run in parallel)."""
    if not enabled:
        return None, lambda: None
    from mltrainer.agent.session.progress import ToolEnded, ToolProgress, ToolStarted

    running: list[str] = []
    status = console.status("waiting for the model ...")
    status.start()

    def hook(event: ToolEvent) -> None:
        match event:
            case ToolProgress():
                if len(running) == 1:
                    status.update(f"{running[0]}: {event.text()} ...")
                return
            case ToolStarted():
                running.append(event.label)
            case ToolEnded():
                if running:
                    running.pop(0)
                    _print_outcome(console, event)
            case _:
                assert_never(event)
        status.update(", ".join(running) + " ..." if running else "waiting for the model ...")

    return hook, status.stop


def _print_outcome(console: Console, ended: ToolEnded) -> None:
    """A line per trial the call made, or the holdout score it looked at."""
    from mltrainer.engine.trial import FinalResult
    from mltrainer.tools.results import trials_in

    output = ended.output
    if isinstance(output, FinalResult):
        holdout = output.holdout
        verdict = holdout.return_test
        lead = (
            ""
            if verdict is None
            else f"excess Sharpe {verdict.excess_sharpe:.2f} over "
            f"{baseline_strategy_text(verdict.baseline)} after costs, p-value "
            f"{verdict.p_value:.3f}; "
        )
        console.print(
            f"  [green]✓[/green] finalized trial {output.trial} on the locked holdout: {lead}"
            f"accuracy {holdout.accuracy:.1%}, p-value {holdout.baselines.p_value:.3f}"
        )
    for row in trials_in(output):
        lead = (
            ""
            if row.excess_sharpe is None or row.return_p_value is None
            else f"excess Sharpe {row.excess_sharpe:.2f} over "
            f"{baseline_strategy_text(row.return_baseline)} (p {row.return_p_value:.3f}), "
        )
        console.print(
            f"  [green]✓[/green] trial {row.trial}: {row.model} on {row.symbol}: {lead}"
            f"selection {score_with_name(row.selection_accuracy, row.target)}"
        )


def message_hook(console: Console, enabled: bool) -> Callable[[Message], None] | None:
    """Prints what happens as it happens: the LLM's text, every tool error, and what the bridge
    answered to free text (what it read, what it could not do). The goal is printed before."""
    if not enabled:
        return None
    seen_goal = False

    def hook(message: Message) -> None:
        nonlocal seen_goal
        match message:
            case AssistantTurn(text=text) if text.strip():
                console.print(
                    f"[cyan]LLM:[/cyan] {escape(on_screen(text.strip()))}", highlight=False
                )
            case ToolResults(results=results):
                failed = [result for result in results if result.is_error]
                for result in failed[:ERRORS_SHOWN_PER_TURN]:
                    console.print(
                        f"  [yellow]! {escape(on_screen(result.name, 100))}:[/yellow] "
                        f"{escape(on_screen(result.content))}",
                        highlight=False,
                    )
                if len(failed) > ERRORS_SHOWN_PER_TURN:
                    console.print(
                        f"  [yellow]! {len(failed) - ERRORS_SHOWN_PER_TURN:,} more tool errors "
                        "this turn, all in the transcript[/yellow]",
                        highlight=False,
                    )
            case UserMessage(text=text):
                if seen_goal:
                    note = on_screen(_bridge_note(text))
                    console.print(f"  [dim]→ {escape(note)}[/dim]", highlight=False)
                seen_goal = True
            case _:
                pass

    return hook


def _bridge_note(text: str) -> str:
    """The bridge's answer to free text, without the trial feedback the ✓ line already sums up:
    "(Read from your text: ...)" alone, or everything when it reports an error or a refusal."""
    head, _, rest = text.partition(") ")
    if text.startswith("(") and rest and not rest.startswith("ERROR"):
        return head + ")"
    return text
