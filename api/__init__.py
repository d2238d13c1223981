"""mltrainer: honest machine-learning research on market data, driven by an LLM or by you.

From Python or a notebook, `mltrainer.open()` opens a data home (`MLTRAINER_HOME`, or the
per-user default) as a `Research`: its trials as a DataFrame, one trial's result with its
equity curves and HTML report, `train`, `finalize` and the sessions. The agent's API (sessions,
providers, tools, plugins) is `mltrainer.agent`; the engine's is `mltrainer.engine.service`.

`open` resolves on first use, so `import mltrainer` (and every `import mltrainer.X`, which runs
this file first) loads no ML library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mltrainer.agent.notebook import Research, Trial, open

_WHERE = {
    "open": "mltrainer.agent.notebook",
    "Research": "mltrainer.agent.notebook",
    "Trial": "mltrainer.agent.notebook",
}

__all__ = ["Research", "Trial", "open"]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
