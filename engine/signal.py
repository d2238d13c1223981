"""A saved model's signal on the latest bars its data source has: the newest bar's features,
built exactly as the trial built them, fed to the trial's own saved model (loaded only if the
file still has the SHA-256 the ledger recorded).

A signal scores nothing (the bar it forecasts has not happened), so it is no try and no look at
any holdout. It carries what a person needs to trust or distrust it: the bar's date, the data's
provenance and content hash, and the model's provenance (trial, configuration, the bars it was
fitted on, seed, code version, file and hash).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from mltrainer.engine.data.base import BarSet, content_hash
from mltrainer.engine.data.catalog import is_live
from mltrainer.engine.data.provenance import Provenance
from mltrainer.engine.data.registry import resolve_bars, resolve_series
from mltrainer.engine.errors import ConfigError, InsufficientDataError
from mltrainer.engine.features import N_LAGS, build_features, select_features
from mltrainer.engine.ledger import Ledger
from mltrainer.engine.models import resolve_model
from mltrainer.engine.persistence import load_trial_model
from mltrainer.engine.settings import Settings
from mltrainer.engine.targets import get_target
from mltrainer.engine.targets.registry import target_descriptions
from mltrainer.engine.trial import TrialConfig

# The longest warm-up a feature has (the 50-bar moving average), before lookback and lags.
_WARM_UP_BARS = 50
# Calendar days per trading bar, with room for holidays, when asking a live source for bars.
_DAYS_PER_BAR = 1.6


class Signal(BaseModel):
    """`predict`: what a recorded trial's saved model says about the bars after the newest."""

    status: Literal["success"] = "success"
    type: Literal["signal"] = "signal"
    trial: int
    model_id: str
    model: str
    symbol: str
    data_label: str
    target: str
    target_description: str
    bar_date: date = Field(description="the newest bar; the forecast is for `horizon` bars later")
    horizon: int
    forecast: float = Field(description="the target's forecast (direction: 1 up, 0 down)")
    probability: float | None = Field(
        description="the model's probability of class 1 (direction: up); None without one"
    )
    config: TrialConfig
    fitted_on: tuple[date, date] = Field(description="the bars the saved model was fitted on")
    seed: int
    code_version: str
    model_path: str
    model_sha256: str = Field(description="checked against the ledger before loading")
    data: Provenance = Field(description="the bars the features were computed from")
    data_hash: str = Field(description="content hash of exactly those bars")
    notes: list[str] = Field(default_factory=list)


def latest_signal(
    ledger: Ledger, settings: Settings, key: str | int, *, as_of: date | None = None
) -> Signal:
    """The signal of recorded trial `key` (number or model id) on the newest bars its source
    has (up to `as_of`, when given: what the model said then); refused with the reason when
    the model file fails its check or the features cannot be built."""
    result = ledger.result(key)
    if result is None:
        raise ConfigError(f"no recorded trial '{key}'; list them with `mltrainer trials list`")
    config = TrialConfig.model_validate(result["config"])
    source = result["provenance"]["source"]
    if source == "caller":
        raise ConfigError(
            f"trial {result['trial']} ran on bars passed in by a caller; they are not stored, "
            "so there are no newer bars to predict from"
        )
    model = load_trial_model(result)
    spec = resolve_model(config.model)
    window = config.lookback if spec.sequence else 1
    bars = _newest_bars(config, source, settings, window, as_of)
    newest = bars.frame.index[-1].date()
    macro = {
        series_id: resolve_series(series_id, settings, start=None, end=newest)
        for series_id in config.macro
    }
    features = build_features(bars.frame, lookback=config.lookback, macro=macro)
    columns = select_features(config.features, list(macro))
    if len(features) < window or features.index[-1] != bars.frame.index[-1]:
        raise InsufficientDataError(
            f"the features of {config.symbol}'s newest bar ({newest}) cannot be built from "
            f"the {len(bars.frame)} bars {source} has: {len(features)} rows survive warm-up"
            + (" and the newest is not one of them" if len(features) else "")
            + f"; {spec.name} needs {window} row(s) of features (lookback={config.lookback}"
            + (f", macro {', '.join(config.macro)} known up to that day)" if macro else ")")
        )
    rows = features[columns].to_numpy(dtype=float)[-window:]
    forecast = get_target(config.target).forecast(model, rows.reshape(1, -1))
    probability = forecast.probability
    return Signal(
        trial=int(result["trial"]),
        model_id=result["model_id"],
        model=result["model"],
        symbol=config.symbol,
        data_label=result.get("data_label", ""),
        target=config.target,
        target_description=target_descriptions()[config.target],
        bar_date=newest,
        horizon=config.horizon,
        forecast=float(forecast.values[0]),
        probability=None if probability is None else float(probability[0]),
        config=config,
        fitted_on=tuple(result["train_period"]),
        seed=int(result["seed"]),
        code_version=str(result["code_version"]),
        model_path=str(result["model_path"]),
        model_sha256=str(result["model_sha256"]),
        data=bars.provenance,
        data_hash=content_hash(bars.frame),
        notes=_notes(ledger, result, newest),
    )


def _newest_bars(
    config: TrialConfig, source: str, settings: Settings, window: int, as_of: date | None
) -> BarSet:
    """The source's bars up to its newest (or `as_of`): all of them where that costs nothing,
    the last stretch the features need from a live source."""
    if not is_live(source):
        return resolve_bars(config.symbol, source, settings, end=as_of)
    needed = _WARM_UP_BARS + config.lookback + N_LAGS + window
    start = (as_of or date.today()) - timedelta(days=int(needed * _DAYS_PER_BAR) + 10)
    return resolve_bars(config.symbol, source, settings, start=start, end=as_of)


def _notes(ledger: Ledger, result: dict[str, Any], newest: date) -> list[str]:
    notes = [
        f"the model was fitted on bars up to {result['train_period'][1]}; the signal uses the "
        f"same configuration on the bars up to {newest}"
    ]
    dataset = ledger.dataset(str(result["dataset"]["key"]))
    if dataset is not None and dataset.holdout_start <= newest:
        notes.append(
            f"the newest bar lies in the dataset's locked holdout ({dataset.holdout_start} to "
            f"{dataset.holdout_end}); a signal scores nothing there, so it is no look at it"
        )
    if result.get("synthetic"):
        notes.append("SYNTHETIC DATA: a seeded random walk, not a market")
    return notes
