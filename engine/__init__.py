"""The ML engine: data, features, models, validation, metrics and the ledger. Knows no LLM."""

from mltrainer.engine.ml_engine import MLEngine

__all__ = ["MLEngine"]
