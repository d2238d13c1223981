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
import shutil
import time
import uuid
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn.pipeline import Pipeline

from mltrainer.engine.errors import ConfigError, MLTrainerError


class UntrustedModelError(MLTrainerError):
    """A model file holds types this engine never writes, or is not the file that was saved
    (its SHA-256 differs); it is refused, not loaded."""


_CHUNK = 1 << 20


_STAGING = ".staging-"
STALE_STAGING_SECONDS = 600.0

# Types our own registry produces; anything else in a file is refused on load.
_TRUSTED_EXTRA = [
    "collections.OrderedDict",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.sklearn.LGBMRegressor",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
]


@dataclass(frozen=True)
class StagedModel:
    """A model written under a staging name: moved to `final` only once the ledger row that
    points to it is committed, so a kill never leaves a model file no trial refers to."""

    staging: Path
    final: Path
    sha256: str


def _staging_name(final_name: str) -> str:
    # The writer's pid in the name tells a recovery sweep whether the writer is still alive.
    return f"{_STAGING}{os.getpid()}-{final_name}"


def stage_model(pipeline: Pipeline, folder: Path, model_id: str) -> StagedModel:
    """Write the model under a staging name in `folder`; returns where it will go.

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
        staging = folder / _staging_name(name)
        staging.mkdir()
        preprocessing = Pipeline(pipeline.steps[:-1]) if len(pipeline.steps) > 1 else None
        if preprocessing is not None:
            sio.dump(preprocessing, staging / "preprocessing.skops")
        estimator.save(staging / "estimator")
        return StagedModel(staging, folder / name, model_digest(staging))
    final = folder / f"{name}.skops"
    staging = folder / _staging_name(final.name)
    sio.dump(pipeline, staging)
    return StagedModel(staging, final, model_digest(staging))


def commit_staged(staged: StagedModel) -> Path:
    os.replace(staged.staging, staged.final)
    return staged.final


def discard_staged(staged: StagedModel) -> None:
    _remove(staged.staging)


def save_model(pipeline: Pipeline, folder: Path, model_id: str) -> Path:
    """Stage and move into place at once, for callers that keep no ledger row."""
    return commit_staged(stage_model(pipeline, folder, model_id))


def model_digest(path: Path) -> str:
    """SHA-256 of a model file's bytes, or for a folder (the LSTM) of every file's relative
    path and SHA-256 in name order, so renaming, adding or changing a file shows."""
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


def recover_staged(folder: Path, recorded: set[str]) -> list[Path]:
    """After a kill: finish moving staged models whose ledger row was committed, delete the
    rest. Files staged by a process that is still running are left alone. Returns what it
    removed."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        if not entry.name.startswith(_STAGING):
            continue
        pid_text, _, final_name = entry.name[len(_STAGING) :].partition("-")
        # A model is staged only for the moment its ledger row takes to commit, so one older
        # than that is left over even if its pid now belongs to some other process.
        fresh = time.time() - entry.stat().st_mtime < STALE_STAGING_SECONDS
        if pid_text.isdigit() and _alive(int(pid_text)) and fresh:
            continue
        final = folder / final_name
        if final_name and str(final) in recorded and not final.exists():
            os.replace(entry, final)
        else:
            _remove(entry)
            removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def load_trial_model(result: Mapping[str, Any]) -> Any:
    """A recorded trial's saved model (`result` as the ledger stores it), only if it is the
    file the ledger recorded: refused with the reason when there is none, it is missing, no
    SHA-256 was recorded, or its content no longer has that SHA-256."""
    trial = result.get("trial")
    path = result.get("model_path")
    if not path:
        raise ConfigError(
            f"trial {trial} was trained with save_model=false: there is no model file (train "
            "it again with save_model=true)"
        )
    model_file = Path(path)
    if not model_file.exists():
        raise ConfigError(f"trial {trial}'s model file {path} is missing")
    sha256 = result.get("model_sha256")
    if not sha256:
        raise ConfigError(
            f"trial {trial} recorded no SHA-256 for its model file, so it is not loaded"
        )
    return load_model(model_file, sha256=sha256)


def load_model(path: Path, *, sha256: str) -> Any:
    """Load what `save_model` wrote, if its content still has the SHA-256 recorded when it was
    saved (the ledger's `model_sha256`); unknown types in the file are refused, not executed."""
    if path.is_dir():
        _check_hash(path, model_digest(path), sha256)
        from mltrainer.engine.lstm import load_lstm

        steps: list[tuple[str, Any]] = []
        preprocessing = path / "preprocessing.skops"
        if preprocessing.exists():
            steps.extend(_load_skops(preprocessing.read_bytes(), preprocessing).steps)
        steps.append(("model", load_lstm(path / "estimator")))
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

    try:
        untrusted = sio.get_untrusted_types(data=data)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as error:
        # A file whose hash the ledger confirms but that skops cannot read: the file and the
        # ledger row were replaced together, or the row points at something that is no model.
        raise UntrustedModelError(
            f"{path} is not a skops model file ({type(error).__name__}: {error}); it is "
            "refused, not loaded. Train the trial again to get a fresh file"
        ) from error
    refused = [t for t in untrusted if t not in _TRUSTED_EXTRA]
    if refused:
        raise UntrustedModelError(f"{path} contains types this engine never writes: {refused}")
    return sio.loads(data, trusted=untrusted)
