"""Fitted models on disk in formats that run no code when loaded: skops for scikit-learn and
LightGBM pipelines, `state_dict` + JSON for the PyTorch LSTM. Never bare pickle.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

from sklearn.pipeline import Pipeline

from mltrainer.engine.errors import MLTrainerError


class UntrustedModelError(MLTrainerError):
    """A model file holds types this engine never writes; it is refused, not loaded."""


# Types our own registry produces; anything else in a file is refused on load.
_TRUSTED_EXTRA = [
    "collections.OrderedDict",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
]


def save_model(pipeline: Pipeline, folder: Path, model_id: str) -> Path:
    """Write atomically (temp then rename) so a crash never leaves a half-written model.

    Each save gets its own name (model id + a random suffix): the same config run twice, even
    at the same moment, never overwrites or deletes a file another ledger row points to.
    """
    # skops is imported here, not at the top: importing it pulls in torch through array-api
    # support and costs seconds at every CLI start, though only trials that save need it.
    import skops.io as sio

    folder.mkdir(parents=True, exist_ok=True)
    estimator = pipeline.steps[-1][1]
    name = f"{model_id}-{uuid.uuid4().hex[:8]}"
    if hasattr(estimator, "save"):
        target = folder / name
        staging = Path(tempfile.mkdtemp(dir=folder, prefix=".staging-"))
        preprocessing = Pipeline(pipeline.steps[:-1]) if len(pipeline.steps) > 1 else None
        if preprocessing is not None:
            sio.dump(preprocessing, staging / "preprocessing.skops")
        estimator.save(staging / "estimator")
        os.replace(staging, target)
        return target
    target = folder / f"{name}.skops"
    handle, staging_name = tempfile.mkstemp(dir=folder, prefix=".staging-", suffix=".skops")
    os.close(handle)
    sio.dump(pipeline, staging_name)
    os.replace(staging_name, target)
    return target


def load_model(path: Path) -> Any:
    """Load what `save_model` wrote; unknown types in the file are refused, not executed."""
    if path.is_dir():
        from mltrainer.engine.lstm import LSTMClassifier

        steps: list[tuple[str, Any]] = []
        preprocessing = path / "preprocessing.skops"
        if preprocessing.exists():
            steps.extend(_load_skops(preprocessing).steps)
        steps.append(("model", LSTMClassifier.load(path / "estimator")))
        return Pipeline(steps)
    return _load_skops(path)


def _load_skops(path: Path) -> Any:
    import skops.io as sio

    untrusted = sio.get_untrusted_types(file=path)
    refused = [t for t in untrusted if t not in _TRUSTED_EXTRA]
    if refused:
        raise UntrustedModelError(f"{path} contains types this engine never writes: {refused}")
    return sio.load(path, trusted=untrusted)
