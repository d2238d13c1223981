"""From an engine result to the short text that becomes the LLM's next user turn: the resolved
configuration in one line, the verdict (the strategy's return after costs against the best
baseline strategy), the other out-of-sample numbers, and the question. A finalized holdout and a
comparison lead their JSON with the same verdict.

Templates live in `prompts/feedback.md`. Results are read as they come, a typed result (a
model) or the seed's dict, by the names the engine uses now and used before:
`selection_accuracy`, then `test_accuracy`, then the seed's `accuracy`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic import BaseModel

from mltrainer.engine.targets import DEFAULT_TARGET, Headline, get_target, target_names
from mltrainer.engine.trial import TrialConfig
from mltrainer.prompts import load_text

# A result or a configuration, typed or as the seed's dict.
Readable = Mapping[str, Any] | BaseModel

FEEDBACK_WORDS = 85
_ERROR_CHARS = 240
_NUMERIC_TEXT = re.compile(r"\s*-?(?:\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\d+)\s*%?\s*")
# Shown by name in the line's head or in their own slot, not as `name=value` pairs.
_OWN_SLOT = frozenset(
    {
        "symbol",
        "universe",
        "model",
        "params",
        "features",
        "macro",
        "start",
        "end",
        "days",
        "save_model",
    }
)


@cache
def templates() -> dict[str, str]:
    """`## name` sections of prompts/feedback.md, each body joined into one line."""
    sections: dict[str, str] = {}
    name: str | None = None
    lines: list[str] = []
    for line in [*load_text("feedback.md").splitlines(), "## "]:
        if line.startswith("## "):
            if name:
                sections[name] = " ".join(part.strip() for part in lines if part.strip())
            name, lines = line[3:].strip(), []
        elif name:
            lines.append(line)
    return sections


def _get(data: Any, name: str) -> Any:
    """A field of a model, or a key of a dict; None when it has none."""
    if isinstance(data, Mapping):
        return data.get(name)
    if isinstance(data, BaseModel):
        return getattr(data, name, None)
    return None


def _lookup(data: Readable, paths: str) -> Any:
    """The value at the first of the space-separated dotted paths that has one."""
    for path in paths.split():
        value: Any = data
        for part in path.split("."):
            value = _get(value, part)
        if value is not None:
            return value
    return None


def _number(raw: str) -> float | None:
    try:
        value = float(raw)
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def _real(value: Any) -> float | None:
    """A finite number from a number or a numeric string ("0.87", "87%"); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number: float | None = float(value)
    elif isinstance(value, str) and _NUMERIC_TEXT.fullmatch(value):
        text = value.strip()
        number = _number(text.rstrip("%").strip())
        if number is not None and text.endswith("%"):
            number /= 100
    else:
        return None
    return number if number is not None and math.isfinite(number) else None


def _percent(value: float) -> str:
    return f"{value * 100 if abs(value) <= 1 else value:.1f}%"


def _placeholders(value: float) -> dict[str, str]:
    return {
        "pct": _percent(value),
        "num": f"{value:.2f}",
        "int": f"{value:.0f}",
        "pts": f"{value * 100 if abs(value) <= 1 else value:.1f}",
    }


def _fill(name: str, values: Mapping[str, Any]) -> str:
    """Template `name` filled in; empty when the template is missing or a value is."""
    template = templates().get(name, "")
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return ""


def _label(value: Any, limit: int = 40) -> str | None:
    if value is None or isinstance(value, Mapping | BaseModel | list | tuple | set):
        return None
    text = " ".join(str(value).split())
    return text[:limit] or None


def _shorten(text: str, words: int) -> str:
    parts = text.split()
    return text if len(parts) <= words else " ".join(parts[:words]) + " ..."


def _p(value: float) -> str:
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value) or "none"
    return str(value)


def config_line(config: TrialConfig | Mapping[str, Any]) -> str:
    """The whole configuration of a trial in one line: `model on SYMBOL: name=value, ...`.

    Every setting is shown, defaults included, so what ran is never a guess; hyper-parameters
    are shown where they differ from the model's defaults, the target where it is not the
    default (so a direction trial reads as it did before there were targets), and the file
    where bars came from one.
    """
    fields = TrialConfig.model_fields
    model = _label(_get(config, "model")) or str(fields["model"].default)
    symbol = _label(_get(config, "symbol")) or "?"
    parts = []
    for name, field in fields.items():
        value = (
            config.get(name, field.default)
            if isinstance(config, Mapping)
            else getattr(config, name)
        )
        if (
            name in _OWN_SLOT
            or (name == "target" and value == DEFAULT_TARGET)
            or (name == "path" and value is None)
        ):
            continue
        parts.append(f"{name}={_value(value)}")
        if name == "target" and (universe := _get(config, "universe")):
            parts.append(f"universe={_value(universe)}")
    start, end, days = (_get(config, name) for name in ("start", "end", "days"))
    dates = [f"dates={start or 'first'}..{end or 'last'}"] if start or end else []
    dates += [f"days={days}"] if days else []
    parts[1:1] = dates or ["dates=all"]
    features = _get(config, "features")
    parts.append(f"features={_value(features) if features else 'default'}")
    parts.append(f"macro={_value(_get(config, 'macro') or [])}")
    parts.append(f"params={_params(model, _get(config, 'params'))}")
    return f"{model} on {symbol}: " + ", ".join(parts)


def _params(model: str, params: Any) -> str:
    from mltrainer.engine.models import MODELS

    if not isinstance(params, Mapping) or not params:
        return "default"
    spec = MODELS.get(model)
    chosen = {
        name: value
        for name, value in params.items()
        if spec is None or name not in spec.params or spec.params[name].default != value
    }
    return ",".join(f"{k}:{_value(v)}" for k, v in chosen.items()) or "default"


def _is_error(data: Readable) -> bool:
    status = str(_get(data, "status") or "").lower()
    accuracy = _lookup(data, "selection_accuracy test_accuracy accuracy")
    return status in ("error", "failed", "failure") or (
        bool(_get(data, "error")) and _real(accuracy) is None
    )


def _error_feedback(data: Readable) -> str:
    said = _get(data, "error") or _get(data, "message") or _get(data, "detail")
    message = _label(said, _ERROR_CHARS)
    values = {
        "error": _shorten(message or "no error message was given", 40).rstrip(". "),
        "error_type": _label(_get(data, "error_type")) or "",
    }
    head = _fill("error_typed" if values["error_type"] else "error", values)
    return " ".join(part for part in (head, _fill("error_question", values)) if part)


def _data_label(data: Readable) -> str:
    label = str(_get(data, "data_label") or "").upper()
    if _get(data, "synthetic") is True or label == "SYNTHETIC DATA":
        return _fill("synthetic", {})
    if label == "CALLER DATA":
        return _fill("caller_data", {})
    return ""


def _metrics(data: Readable, subject: str) -> str:
    metrics = []
    for name in templates():
        if name.startswith("metric "):
            value = _real(_lookup(data, name.removeprefix("metric ")))
            if value is not None:
                metrics.append(_fill(name, _placeholders(value)))
    listed = ", ".join(metric for metric in metrics if metric)
    if not listed:
        return ""
    return f"{subject}: {listed}." if subject else f"{listed[0].upper()}{listed[1:]}."


def _verdict(data: Readable) -> str:
    p_value = _real(_lookup(data, "baselines.p_value"))
    best = _real(_lookup(data, "baselines.best_accuracy"))
    if best is None or p_value is None:
        return ""
    name = _label(_lookup(data, "baselines.best_name")) or "baseline"
    tries = _real(_get(data, "tries"))
    adjusted = _real(_get(data, "p_value_adjusted"))
    # After several tries the verdict rests on the adjusted p-value, not the raw one.
    deciding = adjusted if adjusted is not None and tries is not None and tries > 1 else p_value
    values = {
        "baseline": name.replace("_", " "),
        "baseline_accuracy": _percent(best),
        "p_value": _p(p_value),
        "verdict": _fill("verdict_edge" if deciding < 0.05 else "verdict_no_edge", {}),
    }
    if deciding is p_value:
        return _fill("baseline", values)
    return _fill("baseline_adjusted", {**values, "tries": f"{tries:.0f}", "adjusted": _p(deciding)})


_STRATEGY_WORDS = {"long_flat": "Long/flat", "long_short": "Long/short"}
_EXECUTION_WORDS = {"next_bar": "filled next bar", "close": "filled at the close"}


def _verdict_word(p_value: float) -> str:
    return _fill("verdict_edge" if p_value < 0.05 else "verdict_no_edge", {})


def return_verdict(
    test: Any,
    *,
    adjusted: float | None = None,
    tries: float | None = None,
    unit: str = "tries",
    held: str | None = None,
) -> str:
    """The headline in one sentence: the strategy's excess return over the best baseline
    strategy after costs, its Newey-West t and p-value (adjusted over the tries, or a
    holdout's looks, when there were several), and whether that is an edge. Empty when `test`
    is not a return test. `held` names the strategy in the target's words (the top fifth
    long, for rank)."""
    p_value = _real(_get(test, "p_value"))
    t_stat = _real(_get(test, "t_stat"))
    sharpe = _real(_get(test, "excess_sharpe"))
    cost = _real(_get(test, "cost_bps"))
    if p_value is None or t_stat is None or sharpe is None or cost is None:
        return ""
    strategy = str(_label(_get(test, "strategy")) or "the strategy")
    execution = str(_label(_get(test, "execution")) or "")
    values = {
        "strategy": held[:1].upper() + held[1:]
        if held
        else _STRATEGY_WORDS.get(strategy, strategy.replace("_", " ")),
        "execution": _EXECUTION_WORDS.get(execution, execution.replace("_", " ")),
        "cost_bps": f"{cost:g}",
        "excess_sharpe": f"{sharpe:.2f}",
        "baseline": (_label(_get(test, "baseline")) or "baseline").replace("_", " "),
        "t_stat": f"{t_stat:.2f}",
        "p_value": _p(p_value),
    }
    # After several tries the verdict rests on the adjusted p-value, not the raw one.
    if adjusted is None or tries is None or tries <= 1:
        return _fill("return_test", {**values, "verdict": _verdict_word(p_value)})
    return _fill(
        "return_test_adjusted",
        {
            **values,
            "adjusted": _p(adjusted),
            "tries": f"{tries:.0f}",
            "unit": unit,
            "verdict": _verdict_word(adjusted),
        },
    )


def _baseline_secondary(data: Readable) -> str:
    """Accuracy against the best baseline rule, as the line after the verdict."""
    p_value = _real(_lookup(data, "baselines.p_value"))
    best = _real(_lookup(data, "baselines.best_accuracy"))
    if best is None or p_value is None:
        return ""
    name = _label(_lookup(data, "baselines.best_name")) or "baseline"
    values = {
        "baseline": name.replace("_", " "),
        "baseline_accuracy": _percent(best),
        "p_value": _p(p_value),
    }
    return _fill("baseline_secondary", values)


def _headline(data: Readable) -> Headline | None:
    """The headline of the result's target, when it is a target other than direction (whose
    sentences are the ones above); None for direction, a result without a config, or an
    unknown target."""
    name = _label(_lookup(data, "config.target"))
    if name is None or name == DEFAULT_TARGET or name not in target_names():
        return None
    return get_target(name).headline


def _score(value: float, headline: Headline) -> str:
    return _percent(value) if headline.percent else f"{value:+.3f}"


def _target_secondary(data: Readable, headline: Headline) -> str:
    """A return or rank trial's own score against its best naive forecast, after the verdict."""
    selection = _real(_get(data, "selection_accuracy"))
    walk_forward = _real(_get(data, "walk_forward_accuracy"))
    best = _real(_lookup(data, "baselines.best_score"))
    p_value = _real(_lookup(data, "baselines.p_value"))
    if selection is None or best is None or p_value is None:
        return ""
    name = _label(_lookup(data, "baselines.best_name")) or "baseline"
    values = {
        "metric": headline.metric,
        "score": _score(selection, headline),
        "walk_forward": "-" if walk_forward is None else _score(walk_forward, headline),
        "baseline": name.replace("_", " "),
        "baseline_score": _score(best, headline),
        "baseline_metric": headline.baseline_score,
        "p_value": _p(p_value),
    }
    return _fill("target_secondary", values)


def holdout_feedback(final: Any) -> str:
    """A finalized holdout's verdict and what the holdout could have detected, to lead its
    JSON."""
    holdout = _get(final, "holdout")
    headline = _headline(final)
    sentence = return_verdict(
        _get(holdout, "return_test"),
        adjusted=_adjusted_return_p(final),
        tries=_real(_get(final, "family")),
        unit="looks",
        held=None if headline is None else headline.strategies[0],
    )
    look = _real(_get(final, "look"))
    if not sentence or look is None:
        return ""
    untouched = " (untouched)" if _get(final, "untouched") is True else " (NOT untouched)"
    parts = [
        _fill(
            "holdout",
            {"look": f"{look:.0f}", "untouched": untouched, "verdict_sentence": sentence},
        )
    ]
    power = _get(holdout, "power")
    sharpe = _real(_get(power, "excess_sharpe"))
    points = _real(_get(power, "accuracy_points"))
    if sharpe is not None and points is not None:
        parts.append(_fill("holdout_power", {"sharpe": f"{sharpe:.2f}", "points": f"{points:.1f}"}))
    elif sharpe is not None:
        parts.append(_fill("holdout_power_sharpe", {"sharpe": f"{sharpe:.2f}"}))
    return " ".join(part for part in parts if part)


def _adjusted_return_p(final: Any) -> float | None:
    """The holdout return test's p-value adjusted over the look's family, when it has one."""
    for adjusted in _get(final, "p_values") or []:
        if _get(adjusted, "test") == "return":
            return _real(_get(adjusted, "adjusted"))
    return None


def comparison_feedback(comparison: Any) -> str:
    """A comparison's best trial and its verdict over every try, to lead its JSON."""
    best = _get(comparison, "best")
    values = {
        "compared": _real(_get(comparison, "compared")),
        "trial": _real(_get(best, "trial")),
        "excess_sharpe": _real(_get(best, "excess_sharpe")),
        "t_stat": _real(_get(best, "return_t")),
        "p_value": _real(_get(comparison, "best_return_p_value")),
        "adjusted": _real(_get(comparison, "best_return_p_value_adjusted")),
        "tries": _real(_get(comparison, "tries")),
    }
    if any(value is None for value in values.values()):
        return ""
    numbers: dict[str, float] = {k: v for k, v in values.items() if v is not None}
    return _fill(
        "comparison",
        {
            "compared": f"{numbers['compared']:.0f}",
            "rank_by": str(_get(comparison, "rank_by") or "").replace("_", " "),
            "trial": f"{numbers['trial']:.0f}",
            "excess_sharpe": f"{numbers['excess_sharpe']:.2f}",
            "baseline": (_label(_get(best, "return_baseline")) or "baseline").replace("_", " "),
            "t_stat": f"{numbers['t_stat']:.2f}",
            "p_value": _p(numbers["p_value"]),
            "adjusted": _p(numbers["adjusted"]),
            "tries": f"{numbers['tries']:.0f}",
            "verdict": _verdict_word(numbers["adjusted"]),
        },
    )


def _backtest(data: Readable) -> str:
    strategy = _real(_lookup(data, "backtest.long_flat.sharpe"))
    hold = _real(_lookup(data, "backtest.buy_and_hold.sharpe"))
    if strategy is None or hold is None:
        return ""
    cost = _real(_lookup(data, "backtest.cost_bps"))
    sharpes = {"sharpe": f"{strategy:.2f}", "buy_and_hold_sharpe": f"{hold:.2f}"}
    if cost is None:
        return _fill("backtest_no_cost", sharpes)
    return _fill("backtest", {**sharpes, "cost_bps": f"{cost:g}"})


def _notes(data: Readable) -> str:
    """The engine's notes on a trial (a substitute it made, a fit that did not converge); the
    synthetic-data note is already the label."""
    notes = _get(data, "notes")
    if not isinstance(notes, list):
        return ""
    said = [
        _shorten(text, 25).rstrip(". ")
        for note in notes
        if (text := _label(note, 300)) and not text.upper().startswith("SYNTHETIC DATA")
    ]
    return _fill("notes", {"notes": "; ".join(said)}) if said else ""


def _trial_feedback(data: Readable) -> tuple[str, list[str]]:
    """The configuration line (when the result carries its config) and the other sentences."""
    config = _get(data, "config")
    head = ""
    if isinstance(config, TrialConfig | Mapping) and _get(config, "symbol"):
        head = _fill("config", {"config": config_line(config)})
    model = _label(_get(data, "model")) or _label(_lookup(data, "config.model"))
    symbol = _label(_get(data, "symbol")) or _label(_lookup(data, "config.symbol"))
    if head:
        subject = ""
    elif model and symbol:
        subject = _fill("subject", {"model": model, "symbol": symbol})
    else:
        subject = _fill("subject_alone", {"name": model or symbol}) if model or symbol else ""
    headline = _headline(data)
    metrics = _metrics(data, subject) if headline is None else ""
    verdict = return_verdict(
        _get(data, "return_test"),
        adjusted=_real(_get(data, "return_p_value_adjusted")),
        tries=_real(_get(data, "tries")),
        held=None if headline is None else headline.strategies[0],
    )
    if headline is not None:
        accuracy = _target_secondary(data, headline)
    else:
        accuracy = _baseline_secondary(data) if verdict else _verdict(data)
    # The verdict already weighs the strategy against buy-and-hold (and cash, and momentum).
    rest = [_notes(data)] if verdict else [_backtest(data), _notes(data)]
    if subject and not metrics and any([verdict, accuracy, *rest]):
        metrics = f"{subject}."
    # A result recorded before the return test (or the seed's dict) leads with accuracy.
    lead = [verdict, metrics] if verdict else [metrics]
    parts = [_data_label(data), *lead, accuracy, *rest]
    return head, [part for part in parts if part]


def _fields_feedback(data: Readable) -> str:
    fields = []
    for key, value in data.items() if isinstance(data, Mapping) else data:
        label = _label(value, 30)
        if label is not None and key not in ("type", "status"):
            fields.append(f"{_label(key, 30)} {label}")
        if len(fields) == 6:
            break
    return _fill("fields", {"fields": ", ".join(fields)}) if fields else _fill("empty", {})


def format_feedback(result: Any) -> str:
    """A short, complete account of a result, ending in the question for the next turn.

    Works on a full `TrialResult` (model or dict), on partial dicts with only some metrics,
    and on error results; keys that are missing are left out of the text, never raised on.
    """
    data: Readable = result if isinstance(result, Mapping | BaseModel) else {}
    if _is_error(data):
        return _error_feedback(data)
    question = _fill("question", {})
    head, sentences = _trial_feedback(data)
    body = " ".join(sentences) if sentences or head else _fields_feedback(data)
    budget = FEEDBACK_WORDS - len(question.split()) - len(head.split())
    return " ".join(part for part in (head, _shorten(body, budget), question) if part)
