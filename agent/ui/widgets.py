"""What the pages have in common: the conversation as chat bubbles, a trial's card with its key
numbers and a small equity curve, a holdout card, and a trial's figures. Everything shown comes
from the session runner's events and from the research service (the ledger's report data)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st

from mltrainer.agent.report.figures import (
    confusion_figure,
    equity_figure,
    equity_sparkline,
    ic_figure,
    importance_figure,
    png_bytes,
)
from mltrainer.agent.report.formatting import (
    data_label,
    p_value,
    ratio,
    score,
    score_gain,
    signed_percent,
)
from mltrainer.agent.session.live import LiveEvent
from mltrainer.agent.ui.markdown import without_images
from mltrainer.engine.errors import MLTrainerError
from mltrainer.engine.results import Comparison, PairedTrial
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import Settings, load_settings
from mltrainer.engine.targets import DEFAULT_TARGET, Headline, get_target
from mltrainer.engine.trial import (
    ClassificationMetrics,
    FinalResult,
    RankingMetrics,
    ReturnTest,
    TrialResult,
)

AVATARS = {
    "person": ":material/person:",
    "llm": ":material/smart_toy:",
    "app": ":material/science:",
}


def settings() -> Settings:
    loaded = load_settings()
    loaded.ensure_home()
    return loaded


# Figures are cached per data home (whose ledger they come from) and trial.
_BY_LEDGER: dict[str | type[Any], Callable[[Any], Any]] = {
    Settings: lambda config: str(config.db_path)
}


@st.cache_data(show_spinner=False, max_entries=256, hash_funcs=_BY_LEDGER)
def sparkline_png(config: Settings, trial: int) -> bytes:
    """A trial's card curve; a recorded trial never changes, so it is drawn once."""
    return png_bytes(equity_sparkline(ResearchService(config).equity_curves(trial)))


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=_BY_LEDGER)
def trial_figures_png(config: Settings, trial: int) -> tuple[bytes, bytes]:
    """Equity and drawdown, then calls against what happened for a classifier, or the IC over
    time and the returns by fifth of the forecast for a return or rank trial."""
    service = ResearchService(config)
    if isinstance(service.recorded(trial).selection, ClassificationMetrics):
        second = confusion_figure(service.confusion_matrix(trial))
    else:
        second = ic_figure(service.forecast_charts(trial))
    return png_bytes(equity_figure(service.equity_curves(trial))), png_bytes(second)


def trial_card(result: TrialResult, config: Settings) -> None:
    """Key numbers of one trial and its long/flat curve against buy-and-hold."""
    trial = result.trial
    baselines = result.baselines
    backtest = result.backtest
    headline = get_target(result.config.target).headline
    held, _, benchmark = headline.strategies
    label = data_label(result.data_label, result.synthetic)
    with st.container(border=True, key=f"trial-card-{trial}"):
        heading = f"**Trial {trial}** · {result.model} on {result.symbol} · {label} data"
        st.markdown(heading)
        numbers, curve = st.columns((3, 2), vertical_alignment="center")
        with numbers:
            verdict_metrics(result.return_test, result.return_p_value_adjusted)
            first, second, third = st.columns(3)
            gain = result.selection_accuracy - baselines.best_score
            first.metric(
                f"Selection {headline.metric}",
                score(result.selection_accuracy, headline),
                f"{score_gain(gain, headline)} vs baseline"
                if headline.baseline_metric is None
                else None,
            )
            second.metric(
                f"Best baseline ({headline.baseline_score})",
                score(baselines.best_score, headline),
                baselines.best_name,
                delta_color="off",
                delta_arrow="off",
            )
            third.metric(
                f"{headline.metric} test p-value",
                p_value(baselines.p_value),
                f"Holm {p_value(result.p_value_adjusted)}",
                delta_color="off",
                delta_arrow="off",
            )
            fourth, fifth, sixth = st.columns(3)
            fourth.metric(f"Sharpe ({held})", ratio(backtest.long_flat.sharpe))
            fifth.metric(f"{benchmark.capitalize()} Sharpe", ratio(backtest.buy_and_hold.sharpe))
            sixth.metric(
                "Total return",
                signed_percent(backtest.long_flat.total_return),
                f"{benchmark} {signed_percent(backtest.buy_and_hold.total_return)}",
                delta_color="off",
                delta_arrow="off",
            )
        with curve:
            if trial is not None:
                try:
                    st.image(sparkline_png(config, int(trial)))
                except MLTrainerError as error:
                    st.caption(f"No curve: {error}")
        period = " to ".join(str(day) for day in result.selection_period)
        tries = result.tries
        noun = "try" if tries == 1 else "tries"
        counted = (
            f" {tries} {noun} on its dataset so far (Holm p counts them all)." if tries else ""
        )
        st.caption(
            f"Selection segment {period}, {_scored(result)}, "
            f"{backtest.cost_bps:g} bps costs, {backtest.execution}.{counted} "
            f"Model id {result.model_id}."
        )


def _scored(result: TrialResult) -> str:
    """How much the selection segment scored: days, or stocks on dates for a ranking."""
    selection = result.selection
    if isinstance(selection, RankingMetrics):
        return f"{selection.dates} dates x {selection.members} stocks"
    return f"{selection.n} days"


def verdict_metrics(test: ReturnTest | None, adjusted: float | None = None) -> None:
    """The verdict's row: excess Sharpe over the best baseline strategy after costs, its t and
    p-value (Holm over the tries, or a holdout's looks, when given). Nothing for a result
    recorded before it."""
    if test is None:
        return
    first, second, third = st.columns(3)
    first.metric(
        "Excess Sharpe after costs",
        ratio(test.excess_sharpe),
        f"vs {test.baseline.replace('_', ' ')}",
        delta_color="off",
        delta_arrow="off",
    )
    second.metric("Newey-West t", ratio(test.t_stat), f"{test.days} days, {test.execution}",
                  delta_color="off", delta_arrow="off")  # fmt: skip
    third.metric(
        "Return p-value",
        p_value(test.p_value),
        None if adjusted is None else f"Holm {p_value(adjusted)}",
        delta_color="off",
        delta_arrow="off",
    )


def finalized_card(final: FinalResult) -> None:
    holdout = final.holdout
    baselines = holdout.baselines
    headline = get_target(final.config.target).headline
    held, _, benchmark = headline.strategies
    with st.container(border=True):
        look = "untouched" if final.untouched else f"look {final.look}, NOT untouched"
        period = " to ".join(str(day) for day in holdout.period)
        st.markdown(
            f"**Locked holdout · trial {final.trial}** · {final.model} on "
            f"{final.symbol} · {period} ({look})"
        )
        test = holdout.return_test
        verdict_metrics(
            test,
            None if test is None or final.family == 1 else final.reported_p("return", test.p_value),
        )
        if (power := holdout.power) is not None:
            points = (
                ""
                if power.accuracy_points is None
                else f" or {power.accuracy_points:.1f} accuracy points"
            )
            st.caption(
                f"At 80% power this holdout detects an excess Sharpe of "
                f"{ratio(power.excess_sharpe)}{points}; smaller edges cannot be told from luck "
                "here."
            )
        first, second, third, fourth = st.columns(4)
        first.metric(f"Holdout {headline.metric}", score(holdout.accuracy, headline))
        second.metric(
            f"Best baseline ({headline.baseline_score})", score(baselines.best_score, headline),
            baselines.best_name,
            delta_color="off",
                delta_arrow="off",
        )  # fmt: skip
        third.metric(
            f"{headline.metric} test p-value"
            if final.family == 1
            else f"{headline.metric} test p-value (Holm, {final.family} looks)",
            p_value(final.reported_p("binomial", baselines.p_value)),
            None if final.family == 1 else f"raw {p_value(baselines.p_value)}",
            delta_color="off",
            delta_arrow="off",
        )
        fourth.metric(
            f"Sharpe, {held} vs {benchmark}",
            f"{ratio(holdout.backtest.long_flat.sharpe)} vs "
            f"{ratio(holdout.backtest.buy_and_hold.sharpe)}",
        )


def _comparison_headline(comparison: Comparison) -> Headline:
    """The score every row of a comparison shares: compare holds one target only."""
    return get_target(comparison.best.target or DEFAULT_TARGET).headline


def score_columns(headline: Headline) -> tuple[str, str]:
    """The selection score's column and the best baseline's, named by what they hold
    (`selection accuracy`, `selection Rank IC`; a return's baselines have an R2, not an IC)."""
    return f"selection {headline.metric}", f"best baseline {headline.baseline_score}"


def comparison_frame(comparison: Comparison) -> pd.DataFrame:
    """A comparison's trials as rows, best first: the numbers, and each one's test against
    the best on the days both scored. Scores are the target's own: accuracy in percent, an IC
    or R2 as the number it is."""
    headline = _comparison_headline(comparison)
    scale = 100.0 if headline.percent else 1.0
    selection, baseline = score_columns(headline)
    rows = []
    for row in comparison.trials:
        paired = row if isinstance(row, PairedTrial) else None
        rows.append(
            {
                "trial": row.trial,
                "model": row.model,
                "symbol": row.symbol,
                "data": data_label(row.data),
                "excess Sharpe": row.excess_sharpe,
                "return p": row.return_p_value,
                "return adj. p": row.return_p_value_adjusted,
                selection: scale * row.selection_accuracy,
                baseline: scale * row.baseline_accuracy,
                "p-value": row.p_value,
                "adj. p (Holm)": row.p_value_adjusted,
                "Sharpe": row.sharpe,
                "B&H Sharpe": row.buy_hold_sharpe,
                "p vs best": paired.p_vs_best if paired else None,
                "shared days": paired.shared_days if paired else None,
            }
        )
    return pd.DataFrame(rows)


def comparison_table(comparison: Comparison) -> None:
    best = comparison.best
    with st.container(border=True):
        st.markdown(
            f"**Comparison of {comparison.compared} trials** by {comparison.rank_by} · best: "
            f"trial {best.trial}, {best.model} on {best.symbol}"
        )
        headline = _comparison_headline(comparison)
        selection, baseline = score_columns(headline)
        score_format = "%.1f%%" if headline.percent else "%+.3f"
        st.dataframe(
            comparison_frame(comparison),
            hide_index=True,
            column_config={
                "trial": st.column_config.NumberColumn("trial", format="%d"),
                "excess Sharpe": st.column_config.NumberColumn(format="%.2f"),
                "return p": st.column_config.NumberColumn(format="%.3f"),
                "return adj. p": st.column_config.NumberColumn(format="%.3f"),
                selection: st.column_config.NumberColumn(format=score_format),
                baseline: st.column_config.NumberColumn(format=score_format),
                "p-value": st.column_config.NumberColumn(format="%.3f"),
                "adj. p (Holm)": st.column_config.NumberColumn(format="%.3f"),
                "Sharpe": st.column_config.NumberColumn(format="%.2f"),
                "B&H Sharpe": st.column_config.NumberColumn(format="%.2f"),
                "p vs best": st.column_config.NumberColumn(format="%.3f"),
                "shared days": st.column_config.NumberColumn(format="%d"),
            },
        )
        stats = best.selection_stats
        if stats is not None:
            st.caption(
                f"The best of {stats.tries} tries on its dataset: Holm-adjusted p "
                f"{p_value(comparison.best_p_value_adjusted)}; the best of that many coin flips "
                f"reaches {score(stats.noise_bar, headline)} (95%: "
                f"{score(stats.noise_bar_95, headline)}); "
                f"deflated Sharpe {p_value(stats.dsr)}, PBO {p_value(stats.pbo)}. p vs best: "
                f"{'McNemar' if headline.percent else 'Newey-West on their differences'} on "
                "the days both trials scored."
            )


def _tool_call(event: LiveEvent) -> None:
    try:
        arguments = json.dumps(json.loads(event.text or "{}"), separators=(", ", ": "))
    except json.JSONDecodeError:
        arguments = event.text
    st.markdown(f":material/build: `{event.name}` `{arguments}`")


def render_events(events: list[LiveEvent], *, direct: bool, config: Settings) -> None:
    """The conversation as a person reads it. In direct mode the person's words are the turns
    and the bridge's feedback is the answer; otherwise the LLM talks and calls tools. No text
    loads an image (`markdown.py`)."""
    carded: set[int | None] = set()
    for shown in events:
        name = None if shown.name is None else without_images(shown.name)
        event = replace(shown, text=without_images(shown.text), name=name)
        if isinstance(event.result, TrialResult):
            if event.result.trial in carded:
                continue  # a resumed session's adopted trial: one card is enough
            carded.add(event.result.trial)
        match event.kind:
            case "goal" | "person":
                with st.chat_message("user", avatar=AVATARS["person"]):
                    st.markdown(event.text)
            case "llm":
                with st.chat_message("assistant", avatar=AVATARS["llm"]):
                    st.markdown(event.text)
            case "tool_call":
                with st.chat_message("assistant", avatar=AVATARS["llm"]):
                    _tool_call(event)
            case "tool_result":
                with st.chat_message("tool", avatar=AVATARS["app"]):
                    if event.is_error:
                        st.error(f"{event.name}: {event.text}")
                    else:
                        with st.expander(f"{event.name} result", expanded=False):
                            st.text(event.text)
            case "feedback":
                with st.chat_message("tool", avatar=AVATARS["app"]):
                    st.markdown(event.text if direct else f"_to the LLM:_ {event.text}")
            case "trial" if isinstance(event.result, TrialResult):
                trial_card(event.result, config)
            case "finalized" if isinstance(event.result, FinalResult):
                finalized_card(event.result)
            case "comparison" if isinstance(event.result, Comparison):
                comparison_table(event.result)
            case "error":
                st.error(event.text)
            case "end":
                st.info(event.text, icon=":material/flag:")


def trial_figures(trial: int, config: Settings) -> None:
    """A trial's report on a page: equity and drawdown, confusion (or IC over time), and (on
    request, since it
    refits nothing but predicts many times) permutation importance."""
    try:
        equity, confusion = trial_figures_png(config, trial)
    except MLTrainerError as error:
        st.error(str(error))
        return
    st.image(equity)
    left, right = st.columns(2)
    left.image(confusion)
    with right:
        if st.button("Compute feature importance", key=f"importance-{trial}"):
            with st.spinner("shuffling each feature on the selection days ..."):
                try:
                    importance = ResearchService(config).feature_importance(trial)
                except MLTrainerError as error:
                    st.warning(f"No feature importance: {error}")
                else:
                    st.image(png_bytes(importance_figure(importance)))
