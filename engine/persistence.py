"""Fitted models on disk in formats that run no code when loaded: skops for scikit-learn and
LightGBM pipelines, `state_dict` + JSON for the PyTorch LSTM. Never bare pickle.

No code on load is not enough: a crafted tree file made only of trusted types can still send
`predict` into an endless loop or out of bounds. So every file's SHA-256 is recorded when it
is saved, and `load_model` loads only a file whose content still has that hash.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

from sklearn.pipeline import Pipeline

from mltrainer.engine.errors import MLTrainerError


class UntrustedModelError(MLTrainerError):
    """A model file holds types this engine never writes, or is not the file that was saved
    (its SHA-256 differs); it is refused, not loaded."""


_CHUNK = 1 << 20


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


def model_sha256(path: Path) -> str:
    """SHA-256 of a saved model: the file's bytes, or for a folder (the LSTM) every file's
    relative path and bytes in name order, so renaming, adding or changing a file shows."""
    if not path.is_dir():
        return _file_sha256(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        digest.update(bytes.fromhex(_file_sha256(file)))
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def load_model(path: Path, *, sha256: str) -> Any:
    """Load what `save_model` wrote, if its content still has the SHA-256 recorded when it was
    saved; unknown types in the file are refused, not executed."""
    if path.is_dir():
        _check_hash(path, model_sha256(path), sha256)
        from mltrainer.engine.lstm import LSTMClassifier

        steps: list[tuple[str, Any]] = []
        preprocessing = path / "preprocessing.skops"
        if preprocessing.exists():
            steps.extend(_load_skops(preprocessing.read_bytes(), preprocessing).steps)
        steps.append(("model", LSTMClassifier.load(path / "estimator")))
        return Pipeline(steps)
    # Read once: the bytes that are hashed are the bytes that are loaded.
    data = path.read_bytes()
    _check_hash(path, hashlib.sha256(data).hexdigest(), sha256)
    return _load_skops(data, path)


def _check_hash(path: Path, actual: str, expected: str) -> None:
    if not hmac.compare_digest(actual.encode(), expected.lower().encode()):
        raise UntrustedModelError(
            f"{path} is not the model file that was saved (its SHA-256 is {actual[:12]}..., "
            f"the ledger recorded {expected[:12]}...); it is refused, not loaded. Train the "
            "trial again to get a fresh file"
        )


def _load_skops(data: bytes, path: Path) -> Any:
    import skops.io as sio

    untrusted = sio.get_untrusted_types(data=data)
    refused = [t for t in untrusted if t not in _TRUSTED_EXTRA]
    if refused:
        raise UntrustedModelError(f"{path} contains types this engine never writes: {refused}")
    return sio.loads(data, trusted=untrusted)
