"""The Grafana dashboard asks only for metrics the app exports, and shows every one of them: its
PromQL is read from the JSON and compared with prometheus-client's registry after a session."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from mltrainer.agent.messages import AssistantTurn, ToolCall
from mltrainer.agent.providers import ScriptedProvider
from mltrainer.agent.session.runs import start_session
from mltrainer.engine.settings import load_settings

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "mltrainer.json"
# Names of the app's metric families (the seed's three and mltrainer's own).
APP_FAMILY = re.compile(r"^(ml_model_|parsing_duration_seconds$|mltrainer_)")
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
}
PROMQL_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects: identifiers that are not functions,
    aggregations, keywords, label names or strings."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    found = re.findall(r"(?<![\w:$])([a-zA-Z_:][\w:]*)\b(?!\s*\()", expr)
    return {name for name in found if name.lower() not in PROMQL_KEYWORDS}


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    flat: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        flat.append(panel)
        flat.extend(panel.get("panels", []))
    return [panel for panel in flat if panel["type"] != "row"]


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def exprs(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in panels(dashboard) for target in panel["targets"]]


@pytest.fixture
async def exported(tmp_path: Path) -> set[str]:
    """Every sample name the app's metric families export, after a short scripted session."""
    finish = ToolCall("call_1", "finish", json.dumps({"conclusion": "Nothing to see."}))
    summary = await start_session(
        ScriptedProvider([AssistantTurn("", (finish,), stop_reason="tool_use")]),
        "Nothing.",
        settings=load_settings(),
        transcript_path=tmp_path / "s.jsonl",
    )
    assert summary.reason == "finished"
    return {
        family.name + suffix
        for family in REGISTRY.collect()
        if APP_FAMILY.match(family.name)
        for suffix in SUFFIXES[family.type]
    }


def test_metric_names_are_read_from_promql():
    expr = (
        'histogram_quantile(0.95, sum by (le, model) (rate(x_seconds_bucket{status="ok",'
        'a=~"b|c"}[$__rate_interval]))) / sum(rate(y_total[5m])) * 60 > bool 0'
    )

    assert metric_names(expr) == {"x_seconds_bucket", "y_total"}


def test_every_dashboard_query_uses_only_metrics_the_app_exports(
    dashboard: dict[str, Any], exported: set[str]
):
    used = {name for expr in exprs(dashboard) for name in metric_names(expr)}

    assert used, "no metric found in the dashboard's queries"
    assert used - exported == set()


def test_the_dashboard_shows_every_metric_family_the_app_exports(
    dashboard: dict[str, Any], exported: set[str]
):
    used = {name for expr in exprs(dashboard) for name in metric_names(expr)}
    families = [family for family in REGISTRY.collect() if APP_FAMILY.match(family.name)]

    unshown = {
        family.name
        for family in families
        if not used & {family.name + suffix for suffix in SUFFIXES[family.type]}
    }
    assert len(families) == 14
    assert unshown == set()
    assert {
        "ml_model_training_total",
        "ml_model_accuracy",
        "parsing_duration_seconds_bucket",
    } <= used


def test_every_panel_reads_the_prometheus_datasource_variable(dashboard: dict[str, Any]):
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}

    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in panels(dashboard):
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert [t["refId"] for t in panel["targets"]] == [
            chr(ord("A") + i) for i in range(len(panel["targets"]))
        ]
