"""scikit-learn estimators backed by a PyTorch LSTM on CPU, for the `lstm` model: a binary
classifier (direction) and a regressor (return).

The engine hands them flattened windows of `window` bars, so they fit in the same `Pipeline`
(scaler first, fitted per training window) as every other model in the registry.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted
from torch import nn

from mltrainer.engine.stopping import check_stopped


class _LSTMNet(nn.Module):
    """Stacked LSTM whose last hidden state is mapped to one number: an up-move logit for the
    classifier, the forecast itself for the regressor."""

    def __init__(self, n_features: int, hidden_size: int, num_layers: int, dropout: float):
        super().__init__()
        # torch only applies LSTM dropout between stacked layers; the head dropout makes the
        # parameter mean something for a single layer too.
        between = dropout if num_layers > 1 else 0.0
        self.lstm = nn.LSTM(n_features, hidden_size, num_layers, batch_first=True, dropout=between)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, sequences: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(sequences)
        return self.head(self.dropout(hidden[-1])).squeeze(-1)


_TORCH = threading.Lock()


@contextmanager
def _one_thread() -> Iterator[None]:
    """Torch's RNG and thread count are process-wide, so fits in parallel threads would change
    each other's results: one at a time keeps a seed's result the same. One CPU thread, because
    nets this small run several times faster without intra-op parallelism."""
    with _TORCH:
        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(previous)


class _LSTMEstimator(BaseEstimator):
    """What the classifier and the regressor share: the parameters, the windows, the seeded
    training loop, saving and loading. Same seed and data give the same model."""

    def __init__(
        self,
        *,
        hidden_size: int = 32,
        num_layers: int = 1,
        epochs: int = 20,
        learning_rate: float = 1e-3,
        batch_size: int = 64,
        dropout: float = 0.0,
        window: int | None = None,
        random_state: int = 0,
    ) -> None:
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.dropout = dropout
        self.window = window
        self.random_state = random_state

    def _sequences(self, X: Any) -> torch.Tensor:
        """Rows are flattened (window, n_features) blocks, oldest bar first; undo that."""
        rows = np.asarray(X, dtype=np.float32)
        if rows.ndim != 2:
            raise ValueError(f"X must be 2-D (rows of flattened windows), got shape {rows.shape}")
        if self.window is None or self.window < 1 or rows.shape[1] % self.window:
            raise ValueError(
                f"X.shape[1]={rows.shape[1]} is not a whole number of bars for window="
                f"{self.window}; set window to the lookback the rows were built with"
            )
        return torch.from_numpy(rows.reshape(len(rows), self.window, -1).copy())

    def _new_module(self, n_features: int) -> _LSTMNet:
        return _LSTMNet(n_features, self.hidden_size, self.num_layers, self.dropout)

    def _train(self, X: Any, targets: torch.Tensor, loss_fn: nn.Module) -> None:
        sequences = self._sequences(X)
        self.n_features_in_ = int(np.asarray(X).shape[1])
        # Fork the global RNG so seeding here neither depends on nor disturbs other callers.
        with _one_thread(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state)
            module = self._new_module(sequences.shape[2])
            optimiser = torch.optim.Adam(module.parameters(), lr=self.learning_rate)
            order = torch.Generator().manual_seed(self.random_state)
            # Shuffling mini-batches inside one training window leaks nothing: the train/test
            # split is chronological and made by the engine before the rows reach this model.
            batches = torch.utils.data.DataLoader(
                torch.utils.data.TensorDataset(sequences, targets),
                batch_size=self.batch_size,
                shuffle=True,
                generator=order,
            )
            for epoch in range(1, self.epochs + 1):
                # A fit can run for minutes; one whose caller gave up stops at an epoch.
                check_stopped(f"in LSTM epoch {epoch} of {self.epochs}")
                for batch, target in batches:
                    optimiser.zero_grad()
                    loss_fn(module(batch), target).backward()
                    optimiser.step()
        self.module_ = module.eval()

    def _outputs(
        self, X: Any, transform: Callable[[torch.Tensor], torch.Tensor] = lambda out: out
    ) -> np.ndarray:
        """The net's number per row (a logit, or a forecast), `transform`ed in torch."""
        check_is_fitted(self, "module_")
        sequences = self._sequences(X)
        if (columns := sequences.shape[1] * sequences.shape[2]) != self.n_features_in_:
            raise ValueError(f"X has {columns} columns, fitted on {self.n_features_in_}")
        self.module_.eval()
        with _one_thread(), torch.no_grad():
            return transform(self.module_(sequences)).numpy().astype(np.float64)

    def _settings(self) -> dict[str, Any]:
        return {"params": self.get_params(), "n_features_in": self.n_features_in_}

    def save(self, path: Path) -> None:
        """Weights via `torch.save(state_dict)` plus JSON settings: loading runs no pickle."""
        check_is_fitted(self, "module_")
        path.mkdir(parents=True, exist_ok=True)
        torch.save(self.module_.state_dict(), path / "weights.pt")
        settings = {"estimator": type(self).__name__, **self._settings()}
        (path / "config.json").write_text(json.dumps(settings, indent=2))

    def _restore(self, config: dict[str, Any], path: Path) -> None:
        self.n_features_in_ = int(config["n_features_in"])
        module = self._new_module(self.n_features_in_ // int(self.window or 1))
        module.load_state_dict(torch.load(path / "weights.pt", weights_only=True))
        self.module_ = module.eval()


class LSTMClassifier(ClassifierMixin, _LSTMEstimator):
    """Binary up/down classifier over windows of bars.

    `ClassifierMixin` comes first because scikit-learn reads estimator tags along the MRO.
    """

    def fit(self, X: Any, y: Any) -> LSTMClassifier:
        labels = np.asarray(y)
        self.classes_ = np.unique(labels)
        if len(self.classes_) != 2:
            raise ValueError(f"LSTMClassifier needs exactly two classes in y, got {self.classes_}")
        targets = torch.from_numpy((labels == self.classes_[1]).astype(np.float32))
        self._train(X, targets, nn.BCEWithLogitsLoss())
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """[P(classes_[0]), P(classes_[1])] per row, i.e. [P(down), P(up)] for 0/1 labels."""
        up = self._outputs(X, torch.sigmoid)
        return np.column_stack([1.0 - up, up])

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[(self.predict_proba(X)[:, 1] > 0.5).astype(int)]

    def _settings(self) -> dict[str, Any]:
        return {**super()._settings(), "classes": self.classes_.tolist()}

    @classmethod
    def load(cls, path: Path) -> LSTMClassifier:
        """Rebuild from `save`; `weights_only` keeps a tampered file from running code."""
        config = json.loads((path / "config.json").read_text())
        model = cls(**config["params"])
        model.classes_ = np.asarray(config["classes"])
        model._restore(config, path)
        return model


class LSTMRegressor(RegressorMixin, _LSTMEstimator):
    """A number per window of bars (the `horizon`-bar return), fitted by mean squared error."""

    def fit(self, X: Any, y: Any) -> LSTMRegressor:
        targets = torch.from_numpy(np.asarray(y, dtype=np.float32))
        self._train(X, targets, nn.MSELoss())
        return self

    def predict(self, X: Any) -> np.ndarray:
        return self._outputs(X)

    @classmethod
    def load(cls, path: Path) -> LSTMRegressor:
        config = json.loads((path / "config.json").read_text())
        model = cls(**config["params"])
        model._restore(config, path)
        return model


def load_lstm(path: Path) -> LSTMClassifier | LSTMRegressor:
    """Whichever LSTM estimator `save` wrote (files written before there were two are
    classifiers)."""
    config = json.loads((path / "config.json").read_text())
    if config.get("estimator") == "LSTMRegressor":
        return LSTMRegressor.load(path)
    return LSTMClassifier.load(path)
