"""Saved models load only when they are the file that was saved: the SHA-256 recorded at save
time is checked before anything is parsed. A crafted tree that passes the type check (its
nodes rewired so `predict` would loop forever) is refused by the hash."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mltrainer.engine.persistence import (
    UntrustedModelError,
    load_model,
    model_digest,
    save_model,
)


@pytest.fixture
def fitted() -> Pipeline:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] > 0).astype(int)
    model = RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0)
    return Pipeline([("scale", StandardScaler()), ("model", model)]).fit(X, y)


def test_a_saved_model_loads_with_its_hash(fitted: Pipeline, tmp_path: Path) -> None:
    path = save_model(fitted, tmp_path, "m-1")

    loaded = load_model(path, sha256=model_digest(path))

    X = np.ones((2, 4))
    assert loaded.predict(X).tolist() == fitted.predict(X).tolist()


def test_the_hash_is_of_the_bytes_on_disk(fitted: Pipeline, tmp_path: Path) -> None:
    import hashlib

    path = save_model(fitted, tmp_path, "m-1")

    assert model_digest(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_changed_byte_is_refused(fitted: Pipeline, tmp_path: Path) -> None:
    path = save_model(fitted, tmp_path, "m-1")
    recorded = model_digest(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

    with pytest.raises(UntrustedModelError, match=r"is not the model file that was saved"):
        load_model(path, sha256=recorded)


def test_a_crafted_tree_of_trusted_types_is_refused_by_its_hash(
    fitted: Pipeline, tmp_path: Path
) -> None:
    path = save_model(fitted, tmp_path, "m-1")
    recorded = model_digest(path)
    tree = fitted.named_steps["model"].estimators_[0].tree_
    state = tree.__getstate__()
    state["nodes"]["left_child"][1] = 1  # node 1 points at itself: predict never returns
    tree.__setstate__(state)
    path.unlink()
    crafted = save_model(fitted, tmp_path, "m-1")
    crafted.rename(path)

    with pytest.raises(UntrustedModelError, match=r"refused, not loaded"):
        load_model(path, sha256=recorded)
    # The type check alone lets it through: with its own hash it loads (predict would hang).
    assert load_model(path, sha256=model_digest(path)) is not None


def test_a_hash_that_is_not_hex_is_refused(fitted: Pipeline, tmp_path: Path) -> None:
    path = save_model(fitted, tmp_path, "m-1")

    with pytest.raises(UntrustedModelError):
        load_model(path, sha256="ä" * 64)


def test_a_folder_hash_covers_names_and_contents(tmp_path: Path) -> None:
    folder = tmp_path / "lstm"
    (folder / "estimator").mkdir(parents=True)
    (folder / "estimator" / "weights.pt").write_bytes(b"weights")
    (folder / "estimator" / "config.json").write_text("{}")
    before = model_digest(folder)

    (folder / "estimator" / "config.json").write_text('{"hidden_size": 4}')
    changed = model_digest(folder)
    (folder / "estimator" / "config.json").write_text("{}")
    (folder / "estimator" / "extra.bin").write_bytes(b"")
    added = model_digest(folder)

    assert len({before, changed, added}) == 3


def test_a_file_that_is_no_zip_but_matches_its_hash_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m-1.skops"
    path.write_bytes(b"not a zip archive at all")

    with pytest.raises(UntrustedModelError, match=r"is not a skops model file \(BadZipFile"):
        load_model(path, sha256=model_digest(path))


def test_a_zip_without_a_skops_schema_is_refused(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "m-1.skops"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "no schema here")

    with pytest.raises(UntrustedModelError, match=r"Train the trial again to get a fresh file"):
        load_model(path, sha256=model_digest(path))


def test_a_lightgbm_regressor_round_trips(tmp_path: Path) -> None:
    from mltrainer.engine.models import MODELS

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    pipeline = (
        MODELS["lightgbm"]
        .make_estimator({"n_estimators": 5}, seed=0, kind="regressor")
        .fit(X, X[:, 0])
    )
    path = save_model(pipeline, tmp_path, "M-lightgbm-1")

    loaded = load_model(path, sha256=model_digest(path))

    np.testing.assert_array_equal(loaded.predict(X), pipeline.predict(X))
