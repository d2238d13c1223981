"""Prometheus metrics of sessions, model calls, tool calls, trials and data requests, on
prometheus-client's default registry, served on `/metrics` by whichever surface runs sessions
(`mltrainer run --metrics-port`, `mltrainer ui --metrics-port`, the MCP HTTP server).

The rule that keeps them correct whatever runs a trial (a worker thread, a worker process, a
Dask worker): metrics are recorded in the process that owns the session, from what came back
(the tool's payload, the provider's turn), never inside the trial function. A worker process
has a registry of its own that nobody scrapes; what is counted there is lost. So a trial's
count, accuracy, duration and data requests are read from its returned result here, in
`record_tool_run`, and the engine itself records nothing.

Every label value comes from a bounded set, so no caller can grow `/metrics` without end (5,000
unknown tool names once made 10,000 series): tool, model, provider and data source labels are
registered names, anything else `other`; symbols are the N with most trials so far
(`MLTRAINER_METRICS_SYMBOLS`, default 20), the rest `other`; and no value is longer than 64
characters.

The seed's three metrics keep their names: `ml_model_training_total`,
`ml_model_accuracy{model_type,symbol}` and `parsing_duration_seconds`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from mltrainer.agent.messages import Usage
from mltrainer.engine.data.provenance import Provenance
from mltrainer.engine.results import BarsSummary, SeriesSummary, TrialSummary
from mltrainer.engine.trial import TrialResult
from mltrainer.tools.results import ToolOutput, trials_in

OTHER = "other"
LONGEST_LABEL = 64

# --- the seed's metrics, under the seed's names --------------------------------------------------
MODEL_TRAININGS = Counter("ml_model_training", "Total model trainings (trials recorded).")
MODEL_ACCURACY = Gauge(
    "ml_model_accuracy",
    "Selection (out-of-sample) accuracy of the latest trial per model and symbol.",
    ["model_type", "symbol"],
)
PARSING_DURATION = Histogram(
    "parsing_duration_seconds",
    "Time the bridge takes to read an LLM's free text into an instruction.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)

# --- sessions and turns ---------------------------------------------------------------------------
ACTIVE_SESSIONS = Gauge("mltrainer_active_sessions", "Sessions running in this process.")
TURNS = Counter("mltrainer_turns", "Model turns taken by sessions.", ["provider"])
TOOL_CALLS = Counter(
    "mltrainer_tool_calls",
    "Tool calls run (ok or error) or refused by a budget, by tool.",
    ["tool", "status"],
)
TRIAL_DURATION = Histogram(
    "mltrainer_trial_duration_seconds",
    "Wall time of one trial (data, features, folds, fit, metrics), by model.",
    ["model"],
    buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0),
)

# --- the LLM provider -----------------------------------------------------------------------------
PROVIDER_REQUESTS = Counter(
    "mltrainer_provider_requests",
    "Model calls by outcome: ok, an HTTP status, malformed, too_large, deadline, interrupted, "
    "error.",
    ["provider", "status"],
)
PROVIDER_LATENCY = Histogram(
    "mltrainer_provider_request_duration_seconds",
    "Time from asking the model to its reply (or failure), by outcome.",
    ["provider", "status"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)
PROVIDER_RETRIES = Counter(
    "mltrainer_provider_retries",
    "Model calls asked again after a failure worth retrying, by that failure's status "
    "(retries inside the SDK are its own and not seen here).",
    ["provider", "status"],
)
PROVIDER_ERRORS = Counter(
    "mltrainer_provider_errors", "Model calls that failed, by status.", ["provider", "status"]
)
TOKENS = Counter(
    "mltrainer_llm_tokens",
    "LLM tokens by kind: input (all prompt tokens), cached_input and cache_write (parts of "
    "input), output.",
    ["provider", "kind"],
)
COST = Counter(
    "mltrainer_llm_cost_usd", "LLM cost in US dollars, where a price is known.", ["provider"]
)

# --- data -----------------------------------------------------------------------------------------
DATA_REQUESTS = Counter(
    "mltrainer_data_requests",
    "Data requests behind tool results, by source and cache outcome: hit (served from the "
    "cache), miss (fetched over HTTP), none (a source with no cache: sample, synthetic, "
    "caller data).",
    ["source", "cache"],
)


# --- label values from bounded sets -----------------------------------------------------------


def bounded(value: str, known: Iterable[str]) -> str:
    """`value` when it is one of `known` (cut to 64 characters), else `other`."""
    return value[:LONGEST_LABEL] if value in set(known) else OTHER


def tool_label(name: str) -> str:
    from mltrainer.tools.registry import TOOLS_BY_NAME

    return bounded(name, TOOLS_BY_NAME)


def model_label(name: str) -> str:
    from mltrainer.engine.models import MODELS

    return bounded(name, MODELS)


def provider_label(name: str) -> str:
    from mltrainer.agent.providers.function import FunctionProvider
    from mltrainer.agent.providers.registry import PROVIDERS

    return bounded(name, (*PROVIDERS, FunctionProvider.name))


def source_label(name: str) -> str:
    from mltrainer.engine.data.catalog import source_names

    return bounded(name, (*source_names(), "caller"))


class TopSymbols:
    """The `limit` symbols with the most trials so far keep a label of their own; the others
    are `other`. A symbol that overtakes one of them takes its place, and the series of the
    one it displaced are removed. At most `100 x limit` symbols are counted at all."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._counted = max(100 * limit, 1000)
        self._trials: Tally[str] = Tally()
        self._labelled: list[str] = []
        self._lock = threading.Lock()

    def label(self, symbol: str) -> tuple[str, str | None]:
        """The label for one more trial on `symbol`, and the symbol it displaced (or None)."""
        with self._lock:
            if symbol not in self._trials and len(self._trials) >= self._counted:
                return OTHER, None
            self._trials[symbol] += 1
            if symbol in self._labelled:
                return symbol[:LONGEST_LABEL], None
            if len(self._labelled) < self.limit:
                self._labelled.append(symbol)
                return symbol[:LONGEST_LABEL], None
            weakest = min(self._labelled, key=self._trials.__getitem__, default=None)
            if weakest is None or self._trials[symbol] <= self._trials[weakest]:
                return OTHER, None
            self._labelled[self._labelled.index(weakest)] = symbol
            return symbol[:LONGEST_LABEL], weakest[:LONGEST_LABEL]


_top_symbols: TopSymbols | None = None
_accuracy_series: set[tuple[str, str]] = set()


def top_symbols() -> TopSymbols:
    """The process's symbol labels, sized by `MLTRAINER_METRICS_SYMBOLS` when first used."""
    global _top_symbols
    if _top_symbols is None:
        from mltrainer.engine.settings import load_settings

        _top_symbols = TopSymbols(load_settings().metrics_symbols)
    return _top_symbols


@contextmanager
def active_session() -> Iterator[None]:
    """Counts a session as active while the block runs."""
    with ACTIVE_SESSIONS.track_inprogress():
        yield


def record_turn(provider: str, usage: Usage) -> None:
    """One model turn and its tokens and cost."""
    provider = provider_label(provider)
    TURNS.labels(provider).inc()
    tokens = TOKENS.labels
    tokens(provider, "input").inc(usage.input_tokens)
    tokens(provider, "cached_input").inc(usage.cached_input_tokens)
    tokens(provider, "cache_write").inc(usage.cache_write_tokens)
    tokens(provider, "output").inc(usage.output_tokens)
    if usage.cost_usd:
        COST.labels(provider).inc(usage.cost_usd)


def provider_status(error: BaseException) -> str:
    """The `status` label of a failed model call."""
    from mltrainer.agent.providers.base import (
        MalformedReplyError,
        ProviderError,
        ReplyTooLargeError,
        ScriptFinished,
    )

    if isinstance(error, ScriptFinished):
        return "script_finished"
    if isinstance(error, ReplyTooLargeError):
        return "too_large"
    if isinstance(error, MalformedReplyError):
        return "malformed"
    if isinstance(error, ProviderError):
        return str(error.status) if error.status is not None else "error"
    if isinstance(error, asyncio.CancelledError):
        return "cancelled"
    kind = getattr(error, "kind", None)  # model_call.CallStopped: deadline or interrupted
    return kind if isinstance(kind, str) else "error"


@contextmanager
def provider_request(provider: str) -> Iterator[None]:
    """Times one model call and counts it by outcome; a failure counts as an error too,
    except a scripted provider that has played all its turns (a normal end)."""
    provider = provider_label(provider)
    started = time.perf_counter()
    status = "ok"
    try:
        yield
    except BaseException as error:
        status = provider_status(error)
        raise
    finally:
        PROVIDER_REQUESTS.labels(provider, status).inc()
        PROVIDER_LATENCY.labels(provider, status).observe(time.perf_counter() - started)
        if status not in ("ok", "script_finished"):
            PROVIDER_ERRORS.labels(provider, status).inc()


def record_retry(provider: str, error: BaseException) -> None:
    PROVIDER_RETRIES.labels(provider_label(provider), provider_status(error)).inc()


def record_tool_run(
    name: str, output: ToolOutput, *, is_error: bool, refused: bool = False
) -> None:
    """A tool call that ran (or was refused) in this process, and the trials and data requests
    its result reports. Call it once per call that really ran, not for a replayed recording."""
    status = "refused" if refused else ("error" if is_error else "ok")
    TOOL_CALLS.labels(tool_label(name), status).inc()
    if status != "ok":
        return
    match output:
        case TrialResult():
            record_trial(output)
        case BarsSummary() | SeriesSummary():
            record_data_request(output.provenance)  # fetch_data
        case _:
            for row in trials_in(output):  # a sweep's rows: no timings or provenance of their own
                _count_trial(row)


def record_trial(result: TrialResult) -> None:
    """A trial's result: count, accuracy, duration, its data."""
    _count_trial(TrialSummary.of(result))
    TRIAL_DURATION.labels(model_label(result.model)).observe(result.timings.total)
    for provenance in (result.provenance, *result.macro_provenance):
        record_data_request(provenance)


def _count_trial(row: TrialSummary) -> None:
    MODEL_TRAININGS.inc()
    model = model_label(row.model)
    symbol, displaced = top_symbols().label(row.symbol)
    if displaced is not None:
        for series in [s for s in _accuracy_series if s[1] == displaced]:
            MODEL_ACCURACY.remove(*series)
            _accuracy_series.discard(series)
    MODEL_ACCURACY.labels(model, symbol).set(row.selection_accuracy)
    _accuracy_series.add((model, symbol))


def record_data_request(provenance: Provenance) -> None:
    """One data request, from the provenance it came back with: only sources with a cache
    (Polygon, FRED) stamp a fetch time, and `cached` says whether HTTP was skipped."""
    if provenance.cached:
        cache = "hit"
    elif provenance.fetched_at is not None:
        cache = "miss"
    else:
        cache = "none"
    DATA_REQUESTS.labels(source_label(provenance.source), cache).inc()


# --- serving /metrics -----------------------------------------------------------------------------
_served: dict[tuple[str, int], Any] = {}
_serving = threading.Lock()


def serve(port: int, host: str = "127.0.0.1") -> str:
    """Serve the default registry on http://host:port/metrics from a daemon thread, once per
    process and address (Streamlit reruns its scripts; a second call is a no-op). Returns the
    URL. Raises `OSError` when the port is taken."""
    with _serving:
        if (host, port) not in _served:
            _served[(host, port)] = start_http_server(port, addr=host)
    return f"http://{host}:{port}/metrics"


def stop_serving(port: int, host: str = "127.0.0.1") -> None:
    """Shut down a server `serve` started (a session that ends takes its endpoint with it)."""
    with _serving:
        started = _served.pop((host, port), None)
    if started is not None:
        server, thread = started
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
