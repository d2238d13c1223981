"""The ML engine: data, features, models, validation, metrics and the ledger. Knows no LLM.

`ResearchService` is the typed interface (`train(TrialConfig) -> Trained`, `finalize`,
`compare`, and what surfaces show of the ledger); the seed's dict API over it lives with the
agent (`mltrainer.agent.seed`). Names are imported on first use, so importing a light module of
the engine does not load scikit-learn.
"""

from typing import Any

__all__ = ["FinalResult", "ResearchService", "TrialConfig", "TrialResult"]


def __getattr__(name: str) -> Any:
    if name == "ResearchService":
        from mltrainer.engine.service import ResearchService

        return ResearchService
    if name in ("TrialConfig", "TrialResult", "FinalResult"):
        from mltrainer.engine import trial

        return getattr(trial, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
