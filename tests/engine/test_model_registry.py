"""`register_model`: a model added at run time trains like a built-in, by name or alias, and
a name already taken is refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from mltrainer.engine import models
from mltrainer.engine.models import MODELS, ModelSpec, ParamBound, register_model, resolve_model
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.trial import TrialConfig


def _lda(params: dict[str, Any], seed: int) -> Any:
    return LinearDiscriminantAnalysis(shrinkage=params["shrinkage"], solver="lsqr")


LDA = ModelSpec(
    name="lda",
    family="linear",
    description="linear discriminant analysis with shrinkage",
    build=_lda,
    params={"shrinkage": ParamBound(float, 0.1, 0.0, 1.0, description="Ledoit-Wolf style")},
    aliases=("linear discriminant",),
    scaled=True,
)


@pytest.fixture
def registry() -> Iterator[None]:
    saved_models, saved_aliases = dict(MODELS), dict(models._ALIASES)
    yield
    MODELS.clear()
    MODELS.update(saved_models)
    models._ALIASES.clear()
    models._ALIASES.update(saved_aliases)


def test_a_registered_model_trains_by_its_alias(registry: None):
    register_model(LDA)

    trained = ResearchService(load_settings(), session="lda").train(
        TrialConfig(
            symbol="MSFT",
            source="sample",
            model="Linear Discriminant",
            params={"shrinkage": 0.3},
            days=1500,
            save_model=False,
        )
    )

    assert resolve_model("linear-discriminant") is LDA
    assert trained.result.model == "lda"
    assert trained.result.config.params == {"shrinkage": 0.3}
    assert 0.0 <= trained.result.selection_accuracy <= 1.0


def test_a_taken_alias_is_refused(registry: None):
    clash = ModelSpec("lda2", "linear", "", _lda, {}, aliases=("rf",))
    with pytest.raises(ValueError, match=r"^model name or alias already taken: rf; pass"):
        register_model(clash)
    assert "lda2" not in MODELS
