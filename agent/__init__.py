"""The agent side: providers, the bridge, the loop, transcripts and the CLI."""

from typing import Any

__all__ = ["MLTrainer"]


def __getattr__(name: str) -> Any:
    # Lazy so `import mltrainer.agent.messages` does not pull in the whole engine.
    if name == "MLTrainer":
        from mltrainer.agent.trainer import MLTrainer

        return MLTrainer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
