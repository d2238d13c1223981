"""A real Prometheus (Debian's `prometheus` package, run as a subprocess with a temporary config)
scrapes `mltrainer run --metrics-port` during a scripted session on offline sample data; its
HTTP API then says how many trials were trained. `make prometheus` installs the package where
it can (root with apt-get); elsewhere this test skips and says why."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mltrainer.engine.ledger import Ledger
from mltrainer.engine.settings import load_settings

PROMETHEUS = shutil.which("prometheus")
DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "mltrainer.json"
SCRIPT = """\
- tool_calls:
    - name: train_model
      arguments: {symbol: SPX, model: naive_bayes, days: 1500, save_model: false}
- tool_calls:
    - name: train_model
      arguments: {symbol: IXIC, model: naive_bayes, days: 1500, save_model: false}
- Switch to a logistic regression and keep everything else the same.
- tool_calls:
    - name: finish
      arguments: {conclusion: "Nothing beats the baseline."}
"""
TRIALS_IN_SCRIPT = 3
# Long enough for Prometheus (scraping every second) to read the session's final values, and
# for this test to find them; the test stops the process as soon as it has.
LINGER_SECONDS = 60

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        PROMETHEUS is None,
        reason="Debian's prometheus package is not installed; `make prometheus` installs it "
        "(needs root and apt-get)",
    ),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A Prometheus on a free port that scrapes 127.0.0.1:<yielded port> every second."""
    assert PROMETHEUS is not None
    target, api = free_port(), free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: mltrainer\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{target}']\n",
        encoding="utf-8",
    )
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{api}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{api}"
        _wait_until(lambda: _get(url + "/-/ready") is not None, 30, process, "Prometheus ready")
        yield url, target
    finally:
        stop(process)
        log.close()


def _get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bytes(response.read())
    except OSError:
        return None


def _wait_until(check: Any, seconds: float, process: subprocess.Popen[Any], what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if process.poll() is not None:
            pytest.fail(f"the process exited ({process.returncode}) before: {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for: {what}")
        time.sleep(0.25)


def query(api: str, promql: str) -> list[dict[str, Any]]:
    """The result of an instant query; a query Prometheus refuses fails with its reason."""
    url = f"{api}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as refused:  # 400 and 422 carry the reason as JSON
        answer = json.load(refused)
    assert answer["status"] == "success", f"{promql}: {answer}"
    return list(answer["data"]["result"])


def test_prometheus_scrapes_the_number_of_trials_a_scripted_session_trained(
    prometheus: tuple[str, int], tmp_path: Path
):
    api, port = prometheus
    script = tmp_path / "script.yaml"
    script.write_text(SCRIPT, encoding="utf-8")
    session = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("mltrainer")),
            "run",
            "--provider",
            "scripted",
            "--script",
            str(script),
            "--goal",
            "Is the next day's direction of SPX or IXIC predictable?",
            "--metrics-port",
            str(port),
            "--metrics-linger",
            str(LINGER_SECONDS),
            "--json",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        assert session.stderr is not None
        lines = []
        for line in session.stderr:
            lines.append(line)
            if line.startswith("Metrics stay up"):  # the session is over, its metrics final
                break
        else:
            pytest.fail("the session exited without lingering: " + "".join(lines))
        trained = len(Ledger(load_settings().db_path).rows())
        assert trained == TRIALS_IN_SCRIPT

        def scraped_final_count() -> bool:
            result = query(api, "ml_model_training_total")
            return bool(result) and float(result[0]["value"][1]) == trained

        _wait_until(scraped_final_count, 30, session, "a scrape of the final trial count")
    finally:
        stop(session)

    [series] = query(api, "ml_model_training_total")
    assert series["metric"]["job"] == "mltrainer"
    assert series["metric"]["instance"] == f"127.0.0.1:{port}"
    assert float(series["value"][1]) == TRIALS_IN_SCRIPT
    models = {
        (s["metric"]["model_type"], s["metric"]["symbol"]) for s in query(api, "ml_model_accuracy")
    }
    assert models == {
        ("naive_bayes", "SPX"),
        ("naive_bayes", "IXIC"),
        ("logistic_regression", "IXIC"),
    }


def test_every_dashboard_query_is_promql_prometheus_accepts(prometheus: tuple[str, int]):
    api, _ = prometheus
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [
        target["expr"]
        for panel in dashboard["panels"]
        if panel["type"] != "row"
        for target in panel["targets"]
    ]

    for expr in exprs:
        # Grafana's own variables, as it substitutes them before sending the query.
        query(api, expr.replace("$__rate_interval", "1m").replace("$__range", "1h"))
