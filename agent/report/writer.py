"""Reports people look at instead of read: one HTML file that stands alone (figures embedded)
plus the same figures as PNG files, under the data home's `reports/`.

`trial_report` covers one recorded trial; `session_report` a transcript's session: its goal,
conclusion and holdout scores, its accuracies against baselines and luck, then every trial.
Numbers come from the engine (ledger, selection statistics, report data); this module only
lays them out.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, select_autoescape
from matplotlib.figure import Figure

from mltrainer.agent.report.figures import (
    accuracy_figure,
    confusion_figure,
    equity_figure,
    ic_figure,
    importance_figure,
    png_bytes,
)
from mltrainer.agent.report.formatting import (
    data_label,
    holdout_p_value,
    p_value,
    percent,
    ratio,
    score,
    signed_percent,
)
from mltrainer.agent.session.transcript import read_events, recorded_output, session_header
from mltrainer.engine.errors import ConfigError, MLTrainerError
from mltrainer.engine.paths import inside, safe_name
from mltrainer.engine.report_data import EquityCurves, config_text
from mltrainer.engine.runner import CODE_VERSION
from mltrainer.engine.service import ResearchService, TrialRecord
from mltrainer.engine.settings import Settings
from mltrainer.engine.targets import get_target
from mltrainer.engine.trial import ClassificationMetrics, FinalResult, Power
from mltrainer.prompts import load_text
from mltrainer.tools.results import trials_in


@dataclass(frozen=True)
class WrittenFigure:
    file: Path
    caption: str
    data_uri: str


@dataclass
class WrittenReport:
    html: Path
    figures: list[Path] = field(default_factory=list)
    data: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def _repr_html_(self) -> str:
        """In a notebook the report shows itself: the written page in a frame of its own, so
        its styles stay its own, with the file's path above it."""
        page = escape(self.html.read_text(encoding="utf-8"), quote=True)
        return (
            f"<p><code>{escape(str(self.html))}</code></p>"
            f'<iframe srcdoc="{page}" style="width: 100%; height: 900px; border: 1px solid #ddd">'
            "</iframe>"
        )


@dataclass
class _Section:
    title: str
    meta: list[str]
    numbers: list[tuple[str, str]]
    notes: list[str]
    figures: list[WrittenFigure]


class _Writer:
    """Writes figures into one folder and remembers them for the HTML."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.written: list[Path] = []
        self.written_data: list[Path] = []

    def table(self, frame: pd.DataFrame, name: str) -> Path:
        """A figure's data as CSV beside it, for re-plotting or checking."""
        path = self.folder / f"{name}.csv"
        frame.to_csv(path, index=False, float_format="%.10g")
        self.written_data.append(path)
        return path

    def figure(self, figure: Figure, name: str, caption: str) -> WrittenFigure:
        data = png_bytes(figure)
        path = self.folder / f"{name}.png"
        path.write_bytes(data)
        self.written.append(path)
        uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        return WrittenFigure(path, caption, uri)


def _strategy(stats: dict[str, Any]) -> str:
    return (
        f"{signed_percent(stats['total_return'])} total, Sharpe {ratio(stats['sharpe'])}, "
        f"max drawdown {percent(stats['max_drawdown'])}"
    )


def session_name(settings: Settings, session: str | None) -> str:
    """How a report names the session a trial came from: its id and, when its transcript is in
    the data home, what it set out to do."""
    if session is None:
        return "recorded outside a session (the Python API without one)"
    try:
        header = session_header(read_events(settings.transcripts_dir / f"{session}.jsonl"))
    except MLTrainerError:
        return f"session {session}"
    goal = " ".join(str(header.get("goal", "")).split())
    short = goal if len(goal) <= 80 else goal[:79].rsplit(" ", 1)[0] + " ..."
    return f"session {session} ({header.get('provider')}: {short})"


def _verdict_numbers(record: TrialRecord) -> list[tuple[str, str]]:
    """The return test first, with its Holm p-value and best-of-N bar over every try."""
    test = record.result.return_test
    stats = record.selection_stats
    if test is None:
        return [("return test", "- (recorded before there was one)")]
    return [
        (
            "excess Sharpe after costs",
            f"{ratio(test.excess_sharpe)} over {test.baseline.replace('_', ' ')} "
            f"({test.cost_bps:g} bps, {test.execution}, {test.days} days)",
        ),
        (
            "return test t / p-value (Newey-West)",
            f"{ratio(test.t_stat)} / {p_value(test.p_value)}",
        ),
        (
            "return test, Holm-adjusted",
            f"{p_value(stats.return_p_value_adjusted)} over {stats.tries} tries; best-of-N "
            f"noise bar t {ratio(stats.return_noise_bar)} (95th percentile "
            f"{ratio(stats.return_noise_bar_95)})",
        ),
    ]


def _trial_numbers(record: TrialRecord, session: str) -> tuple[list[str], list[tuple[str, str]]]:
    result = record.result.model_dump(mode="json")
    stats = record.selection_stats
    baselines, backtest = result["baselines"], result["backtest"]
    used = result["dataset"]["used"]
    meta = [
        f"{result['model']} on {result['symbol']}, {result['data_label']} "
        f"({result['provenance']['source']}), {session}",
        f"model id {result['model_id']}, seed {result['seed']}, code {result['code_version']}, "
        f"bars {used['start']} to {used['end']} (hash {result['dataset']['used_hash']})",
        f"configuration: {config_text(result['config'])}",
    ]
    headline = get_target(record.result.config.target).headline
    held, hedged, benchmark = headline.strategies
    selection = result["selection"]
    scored = (
        f"{selection['dates']} dates x {selection['members']} stocks"
        if "members" in selection
        else f"{selection['n']} days"
    )
    own_p = p_value(baselines["p_value"])
    if (mcnemar := baselines.get("mcnemar_p_value")) is not None:
        own_p += f" / {p_value(mcnemar)}"
    numbers = [
        *_verdict_numbers(record),
        ("selection period", " to ".join(result["selection_period"])),
        (
            f"selection {headline.metric}",
            f"{score(result['selection_accuracy'], headline)} on {scored}",
        ),
        (
            "best baseline",
            f"{baselines['best_name']} {score(record.result.baselines.best_score, headline)} "
            f"{headline.baseline_score}",
        ),
        (f"p-value vs baseline ({headline.test})", own_p),
        (
            "Holm-adjusted p-value",
            f"{p_value(stats.p_value_adjusted)} over {stats.tries} tries on "
            f"{result['dataset']['key']}",
        ),
        (
            "best-of-N noise bar",
            f"{score(stats.noise_bar, headline)} (95th percentile "
            f"{score(stats.noise_bar_95, headline)})",
        ),
        (f"walk-forward {headline.metric}", score(result["walk_forward_accuracy"], headline)),
        (held, _strategy(backtest["long_flat"])),
        (hedged, _strategy(backtest["long_short"])),
        (benchmark, _strategy(backtest["buy_and_hold"])),
        ("costs / execution", f"{backtest['cost_bps']:g} bps, {backtest['execution']}"),
        (
            "PSR / DSR (strategy's own return)",
            f"{p_value(stats.strategy_psr)} / {p_value(stats.strategy_dsr)}",
        ),
        (f"PSR / DSR (excess over {benchmark})", f"{p_value(stats.psr)} / {p_value(stats.dsr)}"),
        (
            "PBO (selection window)",
            f"{p_value(stats.pbo)} over {stats.pbo_trials} trials"
            if stats.pbo is not None
            else f"- (needs 4 trials in the window; it has {stats.pbo_trials})",
        ),
    ]
    for look in record.looks:
        holdout = look.result["holdout"]
        numbers.append(
            (
                f"locked holdout (look {look.number} at it)",
                f"{score(holdout['accuracy'], headline)} vs "
                f"{holdout['baselines']['best_name']} "
                f"{score(_best_score(holdout['baselines']), headline)}, p "
                f"{p_value(holdout['baselines']['p_value'])}, {held} Sharpe "
                f"{ratio(holdout['backtest']['long_flat']['sharpe'])} vs "
                f"{ratio(holdout['backtest']['buy_and_hold']['sharpe'])}",
            )
        )
    return meta, numbers


def _best_score(baselines: dict[str, Any]) -> float:
    """The best rule's score in a recorded result (direction's records call it accuracy)."""
    return float(baselines["best_score" if "best_score" in baselines else "best_accuracy"])


def _trial_section(
    service: ResearchService, writer: _Writer, record: TrialRecord, *, repeats: int
) -> _Section:
    meta, numbers = _trial_numbers(record, session_name(service.settings, record.session))
    result = record.result.model_dump(mode="json")
    trial = result["trial"]
    label = data_label(result.get("data_label"), bool(result.get("synthetic")))
    title = f"Trial {trial}: {result.get('model')} on {result.get('symbol')}" + (
        "" if label == "REAL" else f" ({label} DATA)"
    )
    curves = service.equity_curves(trial)
    writer.table(_curves_frame(curves), f"trial-{trial}-equity")
    benchmark = curves.curve("buy_and_hold").label
    figures = [
        writer.figure(
            equity_figure(curves),
            f"trial-{trial}-equity",
            f"Trial {trial}: equity and drawdown of each strategy against {benchmark}",
        ),
        _forecast_figure(service, writer, record),
    ]
    notes = list(result.get("notes", [])[1:])  # the first note is always the holdout's
    try:
        importance = service.feature_importance(trial, repeats=repeats)
    except MLTrainerError as error:
        notes.append(f"No feature importance: {error}")
    else:
        figures.append(
            writer.figure(
                importance_figure(importance),
                f"trial-{trial}-importance",
                f"Trial {trial}: permutation importance on the selection segment",
            )
        )
    return _Section(title, meta, numbers, notes, figures)


def _forecast_figure(
    service: ResearchService, writer: _Writer, record: TrialRecord
) -> WrittenFigure:
    """Calls against what happened, for a classifier; for a forecast of numbers, its IC over
    time and the returns by fifth of the forecast (for rank: the universe's dates)."""
    trial = record.result.trial
    assert trial is not None
    if isinstance(record.result.selection, ClassificationMetrics):
        return writer.figure(
            confusion_figure(service.confusion_matrix(trial)),
            f"trial-{trial}-confusion",
            f"Trial {trial}: calls against what happened on the selection days",
        )
    charts = service.forecast_charts(trial)
    writer.table(
        pd.DataFrame({"date": charts.dates, "ic": charts.ic, "ic_trend": charts.ic_trend}),
        f"trial-{trial}-ic",
    )
    return writer.figure(
        ic_figure(charts),
        f"trial-{trial}-ic",
        f"Trial {trial}: {charts.metric} over the selection segment, and the realised return "
        "of each fifth of the forecast",
    )


def _curves_frame(curves: EquityCurves) -> pd.DataFrame:
    columns: dict[str, list[Any]] = {"date": list(curves.dates)}
    for curve in curves.curves:
        columns[f"{curve.strategy}_equity"] = curve.equity
        columns[f"{curve.strategy}_drawdown"] = curve.drawdown
    return pd.DataFrame(columns)


def _render(
    path: Path,
    *,
    title: str,
    meta: list[str],
    notes: list[str] | None = None,
    tables: list[dict[str, Any]] | None = None,
    figures: list[WrittenFigure] | None = None,
    sections: list[_Section] | None = None,
) -> None:
    environment = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    html = environment.from_string(load_text("report.html")).render(
        title=title,
        meta=meta,
        notes=notes or [],
        tables=tables or [],
        figures=figures or [],
        sections=sections or [],
        version=CODE_VERSION,
        written=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    path.write_text(html, encoding="utf-8")


def trial_report(settings: Settings, trial: int, *, repeats: int = 10) -> WrittenReport:
    """`reports/trial-N/report.html` and its PNG figures."""
    service = ResearchService(settings)
    record = service.trial_record(trial)
    if record is None:
        raise ConfigError(f"no recorded trial '{trial}'; list them with `mltrainer trials list`")
    writer = _Writer(settings.reports_dir / f"trial-{trial}")
    section = _trial_section(service, writer, record, repeats=repeats)
    html = writer.folder / "report.html"
    # The page's title is the trial's; its one section needs no second heading.
    _render(html, title=section.title, meta=[], sections=[replace(section, title="")])
    return WrittenReport(html, writer.written, writer.written_data, section.notes)


def _session_trials(records: list[dict[str, Any]]) -> tuple[list[int], list[FinalResult]]:
    """Trial numbers and holdout scores a transcript's tool runs produced, in order."""
    trials: list[int] = []
    finalized: list[FinalResult] = []
    for record in records:
        if record.get("event") != "tool_run":
            continue
        output = recorded_output(record)
        trials.extend(row.trial for row in trials_in(output) if row.trial is not None)
        if isinstance(output, FinalResult):
            finalized.append(output)
    return trials, finalized


def session_report(settings: Settings, transcript: Path, *, repeats: int = 10) -> WrittenReport:
    """`reports/session-ID/report.html`: the session's goal, end and conclusion, its holdout
    scores, its accuracies against baselines and luck, and a section per trial."""
    records = read_events(transcript)
    header = session_header(records)
    session_id = str(header.get("session_id"))
    trials, finalized = _session_trials(records)
    service = ResearchService(settings)
    found = {trial: service.trial_record(trial) for trial in trials}
    missing = [trial for trial in trials if found[trial] is None]
    if missing:
        raise ConfigError(
            f"{transcript} names trials {missing} that this data home's ledger does not have; "
            "set MLTRAINER_HOME to the data home the session ran in"
        )
    writer = _Writer(inside(settings.reports_dir, f"session-{safe_name(session_id, 'session id')}"))
    end = next((r for r in reversed(records) if r.get("event") == "session_end"), None)
    meta = [
        f"Goal: {header.get('goal')}",
        f"Provider {header.get('provider')} ({header.get('model')}), started "
        f"{str(header.get('ts', ''))[:19]}",
        (
            f"Ended: {end.get('reason')} after {end.get('turns')} turns and "
            f"{end.get('tool_calls')} tool calls"
            if end
            else "Not ended: the session was killed or is still running"
        ),
    ]
    notes = [f"Conclusion: {end['conclusion']}"] if end and end.get("conclusion") else []
    figures = []
    if trials:
        figures.append(
            writer.figure(
                accuracy_figure(service.session_accuracy(trials, session_id)),
                "session-accuracy",
                "Selection accuracy of each trial against its best baseline and the best-of-N "
                "noise band",
            )
        )
    else:
        notes.append("The session recorded no trial.")
    tables = [_trials_table(service, trials)] if trials else []
    if finalized:
        tables.append(_finalized_table(finalized))
    elif trials:
        notes.append(
            f"No trial was finalized: the selection numbers are the best of {len(trials)} "
            "tries and optimistic (see the adjusted p-values)."
        )
    recorded = {trial: record for trial, record in found.items() if record is not None}
    sections = [_trial_section(service, writer, recorded[t], repeats=repeats) for t in trials]
    html = writer.folder / "report.html"
    _render(
        html,
        title=f"Session {session_id}",
        meta=meta,
        notes=notes,
        tables=tables,
        figures=figures,
        sections=sections,
    )
    notes = [n for s in sections for n in s.notes]
    return WrittenReport(html, writer.written, writer.written_data, notes)


def _trials_table(service: ResearchService, trials: list[int]) -> dict[str, Any]:
    rows = []
    for trial in trials:
        result = service.recorded(trial)
        test = result.return_test
        headline = get_target(result.config.target).headline
        rows.append(
            [
                str(trial),
                result.model,
                result.symbol,
                data_label(result.data_label, result.synthetic),
                "-" if test is None else ratio(test.excess_sharpe),
                "-" if test is None else p_value(test.p_value),
                p_value(result.return_p_value_adjusted),
                f"{score(result.selection_accuracy, headline)} {headline.metric}",
                f"{score(result.baselines.best_score, headline)} {result.baselines.best_name}",
                p_value(result.baselines.p_value),
                p_value(result.p_value_adjusted),
                ratio(result.backtest.long_flat.sharpe),
                ratio(result.backtest.buy_and_hold.sharpe),
                signed_percent(result.backtest.long_flat.total_return),
            ]
        )
    names = [
        ("trial", True), ("model", False), ("symbol", False), ("data", False),
        ("excess Sharpe", True), ("return p", True), ("return adj. p", True),
        ("selection score", True), ("best baseline", True), ("p-value", True), ("adj. p", True),
        ("Sharpe", True), ("B&H Sharpe", True), ("total return", True),
    ]  # fmt: skip
    return {
        "title": "Trials (selection segment, out of sample)",
        "columns": [{"name": n, "numeric": numeric} for n, numeric in names],
        "rows": rows,
    }


def _detectable(power: Power | None) -> str:
    """The smallest edges a holdout could detect: an excess Sharpe, and accuracy points for a
    target scored by accuracy."""
    if power is None:
        return "-"
    points = "" if power.accuracy_points is None else f" / {power.accuracy_points:.1f} pts"
    return f"Sharpe {ratio(power.excess_sharpe)}{points}"


def _finalized_table(finalized: list[FinalResult]) -> dict[str, Any]:
    rows = []
    for final in finalized:
        holdout = final.holdout
        test, power = holdout.return_test, holdout.power
        headline = get_target(final.config.target).headline
        rows.append(
            [
                str(final.trial),
                f"{final.model} / {final.symbol}",
                " to ".join(str(day) for day in holdout.period),
                "-" if test is None else f"{ratio(test.excess_sharpe)} vs {test.baseline}",
                "-" if test is None else p_value(test.p_value),
                _detectable(power),
                f"{score(final.selection_accuracy, headline)} {headline.metric}",
                score(holdout.accuracy, headline),
                f"{score(holdout.baselines.best_score, headline)} {holdout.baselines.best_name}",
                holdout_p_value(final),
                f"{ratio(holdout.backtest.long_flat.sharpe)} vs "
                f"{ratio(holdout.backtest.buy_and_hold.sharpe)}",
                f"{final.look}" + (" (untouched)" if final.untouched else " (NOT untouched)"),
            ]
        )
    names = [
        ("trial", True), ("model / symbol", False), ("holdout period", False),
        ("excess Sharpe", True), ("return p", True), ("detectable (80% power)", True),
        ("selection score", True), ("holdout score", True), ("best baseline", True),
        ("p-value", True), ("Sharpe vs B&H", True), ("look", True),
    ]  # fmt: skip
    return {
        "title": "Locked holdout (finalize): the numbers to report",
        "columns": [{"name": n, "numeric": numeric} for n, numeric in names],
        "rows": rows,
    }
