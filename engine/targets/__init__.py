"""Research targets: what a trial predicts and how its forecasts are judged, one module per
target behind the interface in `base`, each registered by name in `registry`.
"""

from mltrainer.engine.targets.base import (
    LABEL,
    Forecast,
    Headline,
    PairedTest,
    ResearchTarget,
    SegmentScore,
)
from mltrainer.engine.targets.registry import (
    DEFAULT_TARGET,
    get_target,
    recorded_target,
    register_target,
    target_descriptions,
    target_names,
)

__all__ = [
    "DEFAULT_TARGET",
    "LABEL",
    "Forecast",
    "Headline",
    "PairedTest",
    "ResearchTarget",
    "SegmentScore",
    "get_target",
    "recorded_target",
    "register_target",
    "target_descriptions",
    "target_names",
]
