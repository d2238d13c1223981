"""How numbers read on every page and report: percentages with one decimal, p-values with three
digits, Sharpe ratios with two, a dash for what is missing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mltrainer.engine.targets import Headline
    from mltrainer.engine.trial import FinalResult


def percent(value: Any) -> str:
    return "-" if value is None else f"{value:.1%}"


def signed_percent(value: Any) -> str:
    return "-" if value is None else f"{value:+.1%}"


def p_value(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"


def holdout_p_value(final: FinalResult) -> str:
    """The binomial holdout p-value to report: after more than one look, adjusted over them
    (Holm) with the raw one beside it."""
    raw = final.holdout.baselines.p_value
    if final.family == 1:
        return p_value(raw)
    adjusted = final.reported_p("binomial", raw)
    return f"{p_value(adjusted)} (Holm, {final.family} looks; raw {p_value(raw)})"


def score(value: Any, headline: Headline) -> str:
    """A target's own score as it reads: accuracy as a percentage, an IC to three decimals."""
    if value is None:
        return "-"
    return percent(value) if headline.percent else f"{value:+.3f}"


def score_gain(gain: float, headline: Headline) -> str:
    """A difference of two scores: points of accuracy, or an IC's difference."""
    return f"{gain * 100:+.1f} pp" if headline.percent else f"{gain:+.3f}"


def ratio(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"


def data_label(label: Any, synthetic: bool = False) -> str:
    """REAL, SYNTHETIC or CALLER, from a result's data label."""
    if synthetic or label == "SYNTHETIC DATA":
        return "SYNTHETIC"
    return "CALLER" if label == "CALLER DATA" else "REAL"
