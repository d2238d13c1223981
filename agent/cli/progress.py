"""What `mltrainer run`, `demo` and `resume` print while a session runs: a status line naming the
tools at work, a line per finished trial, the LLM's text and every tool error as they happen."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from mltrainer.agent.messages import AssistantTurn, Message, ToolResults, UserMessage
from mltrainer.engine.progress import progress_text

if TYPE_CHECKING:
    from mltrainer.agent.session.dispatch import ProgressHook


def progress_hook(
    console: Console, enabled: bool
) -> tuple[ProgressHook | None, Callable[[], None]]:
    """A rich status line naming the tools running now (several run in parallel)."""
    if not enabled:
        return None, lambda: None
    running: list[str] = []
    status = console.status("waiting for the model ...")
    status.start()

    def label(name: str, payload: dict[str, Any] | None) -> str:
        from mltrainer.tools import start_label

        return start_label(name, payload)

    def hook(event: str, name: str, payload: dict[str, Any] | None) -> None:
        if event == "progress":
            if payload and len(running) == 1:
                status.update(f"{running[0]}: {progress_text(payload)} ...")
            return
        if event == "start":
            running.append(label(name, payload))
        elif running:
            running.pop(0)
            trained = payload and payload.get("type") == "training_complete"
            if trained and payload and payload.get("status") == "success":
                accuracy = payload.get("selection_accuracy", payload.get("test_accuracy"))
                console.print(
                    f"  [green]✓[/green] trial {payload.get('trial')}: {payload['model']} on "
                    f"{payload['symbol']} selection accuracy {accuracy:.1%}"
                )
            elif payload and payload.get("type") == "sweep":
                for row in payload["rows"]:
                    console.print(
                        f"  [green]✓[/green] trial {row['trial']}: {row['model']} on "
                        f"{row['symbol']} selection accuracy {row['selection_accuracy']:.1%}"
                    )
            elif payload and payload.get("type") == "finalized":
                holdout = payload["holdout"]
                console.print(
                    f"  [green]✓[/green] finalized trial {payload['trial']} on the locked "
                    f"holdout: accuracy {holdout['accuracy']:.1%}, p-value "
                    f"{holdout['baselines']['p_value']:.3f}"
                )
        status.update(", ".join(running) + " ..." if running else "waiting for the model ...")

    return hook, status.stop


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
                console.print(f"[cyan]LLM:[/cyan] {escape(text.strip())}", highlight=False)
            case ToolResults(results=results):
                for result in results:
                    if result.is_error:
                        console.print(
                            f"  [yellow]! {result.name}:[/yellow] {escape(result.content)}",
                            highlight=False,
                        )
            case UserMessage(text=text):
                if seen_goal:
                    console.print(f"  [dim]→ {escape(_bridge_note(text))}[/dim]", highlight=False)
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
