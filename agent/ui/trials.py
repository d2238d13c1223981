"""Trials: the ledger as a sortable, filterable table (resolved configuration, data label,
selection and holdout numbers, Holm-adjusted p-values); selecting a trial opens its report."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from mltrainer.agent.ui.widgets import finalized_card, settings, trial_card, trial_figures
from mltrainer.engine.errors import MLTrainerError
from mltrainer.engine.report_data import LedgerEntry
from mltrainer.engine.service import ResearchService, TrialRecord
from mltrainer.engine.settings import Settings
from mltrainer.engine.targets import get_target
from mltrainer.engine.trial import FinalResult

PERCENT_COLUMNS = ("selection acc", "best baseline", "total return", "holdout acc")
SCORE_COLUMNS = ("selection score", "baseline score", "holdout score")


def table_frame(rows: list[LedgerEntry]) -> pd.DataFrame:
    """The trials as a frame. A target scored by accuracy fills the percent columns; one
    scored otherwise (an IC, a Rank IC) fills the score columns, never shown as a percent."""
    percent = [get_target(r.target).headline.percent for r in rows]

    def split(values: list[float | None]) -> tuple[list[float | None], list[float | None]]:
        return (
            [v if p else None for v, p in zip(values, percent, strict=True)],
            [None if p else v for v, p in zip(values, percent, strict=True)],
        )

    selection_acc, selection_score = split([r.selection_accuracy for r in rows])
    baseline_acc, baseline_score = split([r.baseline_accuracy for r in rows])
    holdout_acc, holdout_score = split([r.holdout_accuracy for r in rows])
    frame = pd.DataFrame(
        {
            "trial": [r.trial for r in rows],
            "model": [r.model for r in rows],
            "symbol": [r.symbol for r in rows],
            "target": [r.target for r in rows],
            "data": [r.data for r in rows],
            "excess Sharpe": [r.excess_sharpe for r in rows],
            "return p": [r.return_p_value for r in rows],
            "return adj. p": [r.return_p_value_adjusted for r in rows],
            "selection acc": selection_acc,
            "best baseline": baseline_acc,
            "selection score": selection_score,
            "baseline score": baseline_score,
            "p-value": [r.p_value for r in rows],
            "adj. p (Holm)": [r.p_value_adjusted for r in rows],
            "tries": [r.tries for r in rows],
            "Sharpe": [r.sharpe for r in rows],
            "B&H Sharpe": [r.buy_hold_sharpe for r in rows],
            "total return": [r.total_return for r in rows],
            "holdout excess Sharpe": [r.holdout_excess_sharpe for r in rows],
            "holdout return p": [r.holdout_return_p_value for r in rows],
            "holdout return adj. p": [r.holdout_return_p_value_adjusted for r in rows],
            "holdout acc": holdout_acc,
            "holdout score": holdout_score,
            "holdout p": [r.holdout_p_value for r in rows],
            "holdout adj. p": [r.holdout_p_value_adjusted for r in rows],
            "config": [r.config for r in rows],
            "session": [r.session or "" for r in rows],
            "recorded": [r.created_at for r in rows],
        }
    )
    # Shown as percentages with one decimal; kept numeric so the columns sort as numbers.
    for column in PERCENT_COLUMNS:
        frame[column] = frame[column].astype(float) * 100.0
    return frame


def filtered(frame: pd.DataFrame) -> pd.DataFrame:
    left, middle, right, last = st.columns(4)
    symbols = left.multiselect("Symbol", sorted(frame["symbol"].unique()), key="filter-symbol")
    models = middle.multiselect("Model", sorted(frame["model"].unique()), key="filter-model")
    labels = right.multiselect("Data", sorted(frame["data"].unique()), key="filter-data")
    text = last.text_input("Configuration contains", key="filter-config")
    finalized = st.checkbox("Only finalized trials (scored on the holdout)", key="filter-final")
    keep = pd.Series(True, index=frame.index)
    if symbols:
        keep &= frame["symbol"].isin(symbols)
    if models:
        keep &= frame["model"].isin(models)
    if labels:
        keep &= frame["data"].isin(labels)
    if text:
        keep &= frame["config"].str.contains(text, case=False, regex=False)
    if finalized:
        keep &= frame["holdout acc"].notna() | frame["holdout score"].notna()
    return frame[keep]


def column_config() -> dict[str, Any]:
    percent = {c: st.column_config.NumberColumn(c, format="%.1f%%") for c in PERCENT_COLUMNS}
    p_values = {
        c: st.column_config.NumberColumn(c, format="%.3f")
        for c in (
            "return p",
            "return adj. p",
            "holdout return p",
            "holdout return adj. p",
            "p-value",
            "adj. p (Holm)",
            "holdout p",
            "holdout adj. p",
        )
    }
    scores = {c: st.column_config.NumberColumn(c, format="%+.3f") for c in SCORE_COLUMNS}
    ratios = {
        c: st.column_config.NumberColumn(c, format="%.2f")
        for c in ("excess Sharpe", "holdout excess Sharpe", "Sharpe", "B&H Sharpe")
    }
    return {
        **percent,
        **p_values,
        **scores,
        **ratios,
        "trial": st.column_config.NumberColumn("trial", format="%d"),
        "config": st.column_config.TextColumn("config", width="large"),
    }


def report(trial: int) -> None:
    config = settings()
    st.subheader(f"Trial {trial}")
    try:
        record = ResearchService(config).trial_record(trial)
    except MLTrainerError as error:
        st.error(str(error))
        return
    if record is None:
        st.error(f"no recorded trial '{trial}'")
        return
    trial_card(record.result, config)
    finalize_panel(record, config)
    trial_figures(trial, config)
    if st.button("Write the HTML report", key=f"html-{trial}", icon=":material/description:"):
        from mltrainer.agent.report.writer import trial_report

        with st.spinner("drawing the report ..."):
            written = trial_report(config, trial)
        st.success(f"Written: {written.html}")
        st.download_button(
            "Download report.html", written.html.read_bytes(), f"trial-{trial}.html", "text/html"
        )


def finalize_panel(record: TrialRecord, config: Settings) -> None:
    """The trial's looks at its dataset's locked holdout, and a button for one more, which
    asks first: a look is counted for good, and only the first is untouched. The research
    service decides whether the look is allowed; a refusal is shown as it says it."""
    result = record.result
    trial = result.trial
    key = f"finalize-{trial}"
    for look in record.looks:
        finalized_card(FinalResult.model_validate({**look.result, "look": look.number}))
    outcome = st.session_state.get(f"{key}-outcome")
    if isinstance(outcome, str):
        st.error(f"Not finalized: {outcome}")
    if not st.session_state.get(f"{key}-asked"):
        if st.button("Finalize: score on the locked holdout", key=key, icon=":material/lock_open:"):
            st.session_state[f"{key}-asked"] = True
            st.rerun()
        return
    holdout = result.dataset.holdout
    looks = result.dataset.holdout_looks
    earlier = (
        "Nobody has looked at it yet: this is its one untouched look."
        if looks == 0
        else f"It has been scored {looks} time(s) already, so this look would not be "
        "untouched and its p-values would overstate the evidence."
    )
    st.warning(
        f"Finalizing refits trial {trial}'s configuration on everything before the locked "
        f"holdout of {result.dataset.key} ({holdout.start} to {holdout.end}, {holdout.rows} "
        f"bars) and scores it there, once. The look is counted in the ledger for good. "
        f"{earlier} Report the number it gives, whatever it is.",
        icon=":material/warning:",
    )
    yes, no = st.columns(2)
    if yes.button("Look at the holdout", type="primary", key=f"{key}-yes"):
        st.session_state.pop(f"{key}-asked", None)
        with st.spinner("refitting and scoring the holdout ..."):
            try:
                ResearchService(config).finalize(int(trial or 0))
            except MLTrainerError as error:
                st.session_state[f"{key}-outcome"] = str(error)
            else:
                st.session_state.pop(f"{key}-outcome", None)
        st.rerun()
    if no.button("Cancel", key=f"{key}-no"):
        st.session_state.pop(f"{key}-asked", None)
        st.rerun()


def page() -> None:
    config = settings()
    st.title("Trials")
    frame = table_frame(ResearchService(config).ledger_table())
    if frame.empty:
        st.info("No trials recorded yet. Train one from the Chat page or `mltrainer train`.")
        return
    shown = filtered(frame)
    st.caption(
        f"{len(shown)} of {len(frame)} trials. Selection numbers are out of sample; adjusted "
        "p-values (Holm) count every try on the dataset as of now. Click a row for its report."
    )
    picked = st.dataframe(
        shown,
        hide_index=True,
        column_config=column_config(),
        on_select="rerun",
        selection_mode="single-row",
        key="trials-table",
        width="stretch",
    )
    rows = list(picked.selection.rows)
    trials = shown["trial"].tolist()
    chosen = trials[rows[0]] if rows else st.session_state.get("open-trial")
    options = [None, *trials]
    opened = st.selectbox(
        "Open the report of trial",
        options,
        index=options.index(chosen) if chosen in options else 0,
        format_func=lambda t: "-" if t is None else f"trial {t}",
    )
    if opened is not None:
        st.session_state["open-trial"] = opened
        report(int(opened))


page()
