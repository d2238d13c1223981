"""Prometheus metrics, read from prometheus-client's default registry after real sessions: a
scripted LLM, the real bridge, tools and engine on offline sample data. The registry lives as
long as the test process, so every check compares a value before and after."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from mltrainer.agent import metrics
from mltrainer.agent.messages import AssistantTurn, Message, ToolCall, ToolSpec, Usage
from mltrainer.agent.providers import ScriptedProvider, register_provider
from mltrainer.agent.providers.base import MalformedReplyError, Provider, ProviderError
from mltrainer.agent.providers.registry import PROVIDERS
from mltrainer.agent.session.loop import SessionSummary
from mltrainer.agent.session.runs import start_session
from mltrainer.agent.session.state import Budgets
from mltrainer.agent.session.transcript import read_events, recorded_output
from mltrainer.engine.data.provenance import Provenance
from mltrainer.engine.results import SeriesSummary
from mltrainer.engine.settings import load_settings

GOAL = "Is the next day's direction of SPX predictable?"
FAST = {"symbol": "SPX", "model": "naive_bayes", "days": 1500, "save_model": False}
FINISH = ("finish", {"conclusion": "Nothing beats the baseline."})
LEGACY_DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "transcripts_v1" / "demo.jsonl"


@pytest.fixture(autouse=True)
def fresh_symbols(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test counts symbols from nothing: trials of earlier tests in this process (the
    registry lives as long as it does) must not push SPX out of the labelled symbols."""
    monkeypatch.setattr(metrics, "_top_symbols", metrics.TopSymbols(20))


# A macro series as a source describes it; the tests set where it came from and how.
SERIES_PROVENANCE = {
    "kind": "real",
    "symbol": "DGS10",
    "rows": 250,
    "start": "2018-01-02",
    "end": "2018-12-31",
    "content_hash": "0123456789abcdef",
}

# (sample name, labels) of every value the session tests read.
SAMPLES = {
    "trainings": ("ml_model_training_total", {}),
    "parses": ("parsing_duration_seconds_count", {}),
    "train ok": ("mltrainer_tool_calls_total", {"tool": "train_model", "status": "ok"}),
    "train error": ("mltrainer_tool_calls_total", {"tool": "train_model", "status": "error"}),
    "finish ok": ("mltrainer_tool_calls_total", {"tool": "finish", "status": "ok"}),
    "nb trials": ("mltrainer_trial_duration_seconds_count", {"model": "naive_bayes"}),
    "logit trials": ("mltrainer_trial_duration_seconds_count", {"model": "logistic_regression"}),
    "sample data": ("mltrainer_data_requests_total", {"source": "sample", "cache": "none"}),
    "scripted turns": ("mltrainer_turns_total", {"provider": "scripted"}),
    "flaky ok": ("mltrainer_provider_requests_total", {"provider": "flaky", "status": "ok"}),
    "flaky malformed": (
        "mltrainer_provider_requests_total",
        {"provider": "flaky", "status": "malformed"},
    ),
    "flaky errors": (
        "mltrainer_provider_errors_total",
        {"provider": "flaky", "status": "malformed"},
    ),
    "flaky retries": (
        "mltrainer_provider_retries_total",
        {"provider": "flaky", "status": "malformed"},
    ),
    "flaky 503": ("mltrainer_provider_errors_total", {"provider": "flaky", "status": "503"}),
    "flaky latency": (
        "mltrainer_provider_request_duration_seconds_count",
        {"provider": "flaky", "status": "ok"},
    ),
    "input tokens": ("mltrainer_llm_tokens_total", {"provider": "flaky", "kind": "input"}),
    "output tokens": ("mltrainer_llm_tokens_total", {"provider": "flaky", "kind": "output"}),
    "cached tokens": ("mltrainer_llm_tokens_total", {"provider": "flaky", "kind": "cached_input"}),
    "written tokens": ("mltrainer_llm_tokens_total", {"provider": "flaky", "kind": "cache_write"}),
    "cost": ("mltrainer_llm_cost_usd_total", {"provider": "flaky"}),
}


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Changes:
    """How much each of `SAMPLES` moved since this object was made."""

    def __init__(self) -> None:
        self.before = {key: value(name, **labels) for key, (name, labels) in SAMPLES.items()}

    def __getitem__(self, key: str) -> float:
        name, labels = SAMPLES[key]
        return value(name, **labels) - self.before[key]


def turn(*calls: tuple[str, dict[str, Any] | str], usage: Usage | None = None) -> AssistantTurn:
    tool_calls = tuple(
        ToolCall(
            f"call_{i}", name, arguments if isinstance(arguments, str) else json.dumps(arguments)
        )
        for i, (name, arguments) in enumerate(calls, 1)
    )
    return AssistantTurn("", tool_calls, usage or Usage(), "tool_use", "scripted")


async def run(provider: Provider, tmp_path: Path) -> SessionSummary:
    return await start_session(
        provider, GOAL, settings=load_settings(), transcript_path=tmp_path / "session.jsonl"
    )


# --- a session's trials, parses and tool calls --------------------------------------------------


async def test_a_scripted_session_counts_its_trials_parses_and_tool_calls(tmp_path: Path):
    changes = Changes()
    script = [
        turn(("train_model", FAST), ("train_model", {**FAST, "train_ratio": 0.7})),
        turn(("train_model", {**FAST, "train_ratio": 7})),  # out of bounds: a tool error
        AssistantTurn("Switch to a logistic regression and keep everything else the same."),
        turn(FINISH),
    ]

    summary = await run(ScriptedProvider(script), tmp_path)

    assert summary.reason == "finished"
    assert [t.model for t in summary.trials] == ["naive_bayes"] * 2 + ["logistic_regression"]
    assert changes["trainings"] == 3
    assert changes["train ok"] == 3
    assert changes["train error"] == 1
    assert changes["finish ok"] == 1
    assert changes["parses"] == 1
    assert changes["nb trials"] == 2
    assert changes["logit trials"] == 1
    assert changes["sample data"] == 3
    assert changes["scripted turns"] == 4
    assert value("mltrainer_active_sessions") == 0


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["process", "dask"])
async def test_trials_computed_in_worker_processes_are_counted_here(
    executor: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
):
    """Worker processes keep registries nobody scrapes; the session's process records each
    trial from the result that comes back, so the counts match wherever trials ran."""
    monkeypatch.setenv("MLTRAINER_EXECUTOR", executor)
    if executor == "dask":
        monkeypatch.setenv("MLTRAINER_SCHEDULER", request.getfixturevalue("dask_scheduler"))
    changes = Changes()
    script = [
        turn(("train_model", FAST), ("train_model", {**FAST, "train_ratio": 0.7})),
        turn(FINISH),
    ]

    summary = await run(ScriptedProvider(script), tmp_path)

    assert summary.reason == "finished" and len(summary.trials) == 2
    assert changes["trainings"] == 2
    assert changes["nb trials"] == 2
    assert changes["train ok"] == 2
    assert value("ml_model_accuracy", model_type="naive_bayes", symbol="SPX") == pytest.approx(
        summary.trials[-1].selection_accuracy
    )


async def test_a_sweeps_configurations_each_count_as_a_training(tmp_path: Path):
    changes = Changes()
    sweep = {**FAST, "grid": {"train_ratio": [0.7, 0.8]}}

    summary = await run(ScriptedProvider([turn(("sweep", sweep)), turn(FINISH)]), tmp_path)

    assert len(summary.trials) == 2
    assert changes["trainings"] == 2
    assert value("ml_model_accuracy", model_type="naive_bayes", symbol="SPX") in {
        trial.selection_accuracy for trial in summary.trials
    }


async def test_the_accuracy_gauge_holds_the_latest_trial_per_model_and_symbol(tmp_path: Path):
    script = [
        turn(("train_model", FAST)),
        turn(("train_model", {**FAST, "days": 1200})),
        turn(FINISH),
    ]

    summary = await run(ScriptedProvider(script), tmp_path)

    first, latest = summary.trials
    assert first.selection_accuracy != latest.selection_accuracy
    assert value("ml_model_accuracy", model_type="naive_bayes", symbol="SPX") == pytest.approx(
        latest.selection_accuracy
    )


def test_the_seed_system_counts_concurrent_instructions_it_trains():
    from concurrent.futures import ThreadPoolExecutor

    from mltrainer.agent.seed import MLTrainer

    changes = Changes()
    system = MLTrainer()
    defaults = {"days": 1500, "save_model": False}
    instructions = [f"Train a naive Bayes model on {symbol}" for symbol in ("SPX", "IXIC", "MSFT")]

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(
            pool.map(lambda i: system.process_ai_instruction(i, defaults=defaults), instructions)
        )

    assert [r["ml_result"]["status"] for r in results] == ["success"] * 3
    assert changes["trainings"] == 3
    assert changes["nb trials"] == 3
    assert changes["parses"] == 3


# --- the provider: requests, latency, retries, errors, tokens, cost ------------------------------


@pytest.fixture(autouse=True)
def providers_registered() -> Iterator[None]:
    """The test providers below, registered: a provider's label is its registered name."""
    for name in ("flaky", "hung"):
        register_provider(name, lambda **_: Flaky([], []), replace=True)
    yield
    for name in ("flaky", "hung"):
        PROVIDERS.pop(name, None)


class Flaky(Provider):
    """A network provider (raced against the clock, retried) that fails as told, then plays
    its turns."""

    name = "flaky"
    model = "flaky-1"

    def __init__(self, failures: Sequence[ProviderError], turns: Sequence[AssistantTurn]) -> None:
        self.failures = list(failures)
        self.turns = list(turns)

    async def complete(
        self,
        *,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        timeout: float | None = None,
    ) -> AssistantTurn:
        if self.failures:
            raise self.failures.pop(0)
        return self.turns.pop(0)


async def test_model_calls_are_counted_by_status_with_retries_tokens_and_cost(tmp_path: Path):
    changes = Changes()
    paid = Usage(
        input_tokens=1200,
        output_tokens=80,
        cost_usd=0.0125,
        cached_input_tokens=1000,
        cache_write_tokens=150,
    )
    provider = Flaky([MalformedReplyError("HTML instead of JSON")], [turn(FINISH, usage=paid)])

    summary = await run(provider, tmp_path)

    assert summary.reason == "finished"
    assert changes["flaky malformed"] == 1
    assert changes["flaky errors"] == 1
    assert changes["flaky retries"] == 1
    assert changes["flaky ok"] == 1
    assert changes["flaky latency"] == 1
    assert changes["input tokens"] == 1200
    assert changes["output tokens"] == 80
    assert changes["cached tokens"] == 1000
    assert changes["written tokens"] == 150
    assert changes["cost"] == pytest.approx(0.0125)


async def test_a_provider_error_is_counted_under_its_http_status(tmp_path: Path):
    changes = Changes()

    summary = await run(Flaky([ProviderError("HTTP 503: overloaded", status=503)], []), tmp_path)

    assert summary.reason == "provider error: HTTP 503: overloaded"
    assert changes["flaky 503"] == 1
    assert changes["flaky ok"] == 0


class Hung(Flaky):
    name = "hung"

    async def complete(self, **_: Any) -> AssistantTurn:
        await asyncio.sleep(60)
        raise AssertionError("the call should have been cancelled at the deadline")


async def test_a_model_call_cut_off_at_the_deadline_is_counted_as_deadline(tmp_path: Path):
    before = value("mltrainer_provider_errors_total", provider="hung", status="deadline")

    summary = await start_session(
        Hung([], []),
        GOAL,
        settings=load_settings(),
        budgets=Budgets(max_seconds=1),
        transcript_path=tmp_path / "s.jsonl",
    )

    assert summary.reason == "wall-time budget reached (1 s) while waiting for the model"
    after = value("mltrainer_provider_errors_total", provider="hung", status="deadline")
    assert after - before == 1


# --- data requests: cache hits and misses come from the provenance a result carries -------------


@pytest.mark.parametrize(
    ("provenance", "cache"),
    [
        ({"source": "polygon", "cached": True, "fetched_at": "2026-01-02T00:00:00Z"}, "hit"),
        ({"source": "polygon", "cached": False, "fetched_at": "2026-01-02T00:00:00Z"}, "miss"),
        ({"source": "fred", "cached": False, "fetched_at": "2026-01-02T00:00:00Z"}, "miss"),
        ({"source": "sample", "cached": False, "fetched_at": None}, "none"),
    ],
)
def test_a_data_request_is_a_hit_a_miss_or_uncached(provenance: dict[str, Any], cache: str):
    before = value("mltrainer_data_requests_total", source=provenance["source"], cache=cache)
    fetched = SeriesSummary(
        provenance=Provenance(**SERIES_PROVENANCE, **provenance),
        point_in_time=True,
        last_value=4.1,
    )

    metrics.record_tool_run("fetch_data", fetched, is_error=False)

    after = value("mltrainer_data_requests_total", source=provenance["source"], cache=cache)
    assert after - before == 1


async def test_polygon_fetches_count_as_misses_and_offline_answers_from_the_cache_as_hits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from tests.engine.data.market_fakes import POLYGON_KEY, FakeMarket

    market = FakeMarket().start()
    monkeypatch.setenv("POLYGON_API_KEY", POLYGON_KEY)
    monkeypatch.setenv("POLYGON_BASE_URL", market.url)
    monkeypatch.setenv("POLYGON_REQUESTS_PER_MINUTE", "100000")
    hits = ("mltrainer_data_requests_total", {"source": "polygon", "cache": "hit"})
    misses = ("mltrainer_data_requests_total", {"source": "polygon", "cache": "miss"})
    before = {"hit": value(hits[0], **hits[1]), "miss": value(misses[0], **misses[1])}
    fetch = turn(("fetch_data", {"symbol": "MSFT", "source": "polygon", "start": "2012-01-01"}))
    try:
        online = await run(ScriptedProvider([fetch, turn(FINISH)]), tmp_path / "online")
        monkeypatch.delenv("POLYGON_API_KEY")  # the next session works offline, from the cache
        offline = await run(ScriptedProvider([fetch, turn(FINISH)]), tmp_path / "offline")
    finally:
        market.stop()

    assert (online.reason, offline.reason) == ("finished", "finished")
    assert len(market.requests) == 1
    assert value(misses[0], **misses[1]) - before["miss"] == 1
    assert value(hits[0], **hits[1]) - before["hit"] == 1


def test_a_trial_counts_its_bars_and_each_macro_series_as_data_requests():
    cached_fred = Provenance(
        **SERIES_PROVENANCE, source="fred", cached=True, fetched_at="2026-01-02T00:00:00Z"
    )
    before = value("mltrainer_data_requests_total", source="fred", cache="hit")
    (recorded,) = [
        recorded_output(e)
        for e in read_events(LEGACY_DEMO)
        if e["event"] == "tool_run" and e["call_id"] == "call_2"
    ]
    trial = recorded.model_copy(update={"macro_provenance": [cached_fred, cached_fred]})

    metrics.record_tool_run("train_model", trial, is_error=False)

    assert value("mltrainer_data_requests_total", source="fred", cache="hit") - before == 2


# --- serving /metrics ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_is_once_per_process_and_stop_serving_closes_the_port():
    port = free_port()
    url = metrics.serve(port)
    try:
        assert metrics.serve(port) == url  # a Streamlit rerun: the same server, no error
        with urllib.request.urlopen(url, timeout=5) as response:
            assert b"ml_model_training_total" in response.read()
    finally:
        metrics.stop_serving(port)
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=5)


def test_run_refuses_a_metrics_port_in_use_in_one_line(tmp_path: Path):
    script = tmp_path / "script.yaml"
    script.write_text("- tool_calls: [{name: finish, arguments: {conclusion: none}}]\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [
                str(Path(sys.executable).with_name("mltrainer")),
                "run",
                "--provider",
                "scripted",
                "--script",
                str(script),
                "--goal",
                GOAL,
                "--metrics-port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: cannot serve metrics on 127.0.0.1:{port}")
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", [["demo"], ["resume", "missing.jsonl"]])
def test_demo_and_resume_serve_metrics_too(command: list[str], tmp_path: Path):
    """`--metrics-port` on demo and resume: a taken port is refused before any work starts."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [
                str(Path(sys.executable).with_name("mltrainer")),
                *command,
                "--metrics-port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: cannot serve metrics on 127.0.0.1:{port}")
