"""A real browser on the real server: `mltrainer ui` started as a subprocess on 127.0.0.1, Debian's
headless Chromium driven by Selenium through Debian's chromedriver. It types an instruction
into the chat, waits for the trial card, checks the page shows the trial's selection accuracy
as the ledger recorded it, and saves a screenshot as a test artifact.

`make test` installs chromium and chromium-driver with apt-get when they are missing; where
that cannot work (no root, no apt) this test skips and says why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mltrainer.engine.ledger import Ledger
from tests.agent.ui.serving import free_port, served_ui

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(
    os.environ.get(
        "MLTRAINER_TEST_ARTIFACTS", Path(__file__).resolve().parents[3] / "build" / "test-artifacts"
    )
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,800",  # a laptop's width
)
INSTRUCTION = "Train a naive bayes model on SPX using the last 1500 days"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs Debian's chromium and chromium-driver (/usr/bin/chromium, "
        "/usr/bin/chromedriver); `make test` installs them with apt-get where it can (as root)",
    ),
]


@pytest.fixture
def metrics_port() -> int:
    return free_port()


@pytest.fixture
def server(isolated_home: Path, tmp_path: Path, metrics_port: int) -> Iterator[str]:
    with served_ui(
        ["--metrics-port", str(metrics_port)],
        tmp_path / "ui.log",
        {"MLTRAINER_HOME": str(isolated_home)},
    ) as url:
        yield url


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_an_instruction_typed_in_the_chat_shows_its_trial_card(
    server, browser, isolated_home, metrics_port
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server)  # type: ignore[attr-defined]
    box = WebDriverWait(browser, 60).until(
        ready.element_to_be_clickable(
            (By.CSS_SELECTOR, "textarea[data-testid=stChatInputTextArea]")
        )
    )
    box.send_keys(INSTRUCTION)
    box.send_keys(Keys.ENTER)
    card = WebDriverWait(browser, 180).until(
        ready.visibility_of_element_located((By.CSS_SELECTOR, ".st-key-trial-card-1"))
    )
    WebDriverWait(browser, 30).until(lambda _: card.find_elements(By.TAG_NAME, "img"))
    time.sleep(1.0)  # let the one-second refresh settle before the picture

    trial = Ledger(isolated_home / "mltrainer.db").result(1)
    assert trial is not None
    metrics = {
        m.find_element(By.CSS_SELECTOR, "[data-testid=stMetricLabel]").text: m.find_element(
            By.CSS_SELECTOR, "[data-testid=stMetricValue]"
        ).text
        for m in card.find_elements(By.CSS_SELECTOR, "[data-testid=stMetric]")
    }
    assert metrics["Selection accuracy"] == f"{trial['selection_accuracy']:.1%}"
    assert metrics["Best baseline (accuracy)"] == f"{trial['baselines']['best_accuracy']:.1%}"
    assert "naive_bayes on SPX" in card.text
    cut_off = browser.execute_script(  # type: ignore[attr-defined]
        "return [...arguments[0].querySelectorAll("
        "'[data-testid=stMetricValue], [data-testid=stMetricDelta], [data-testid=stMetricLabel]')]"
        ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)",
        card,
    )
    assert cut_off == []  # every number and label of the card fits at a laptop's width
    assert "?session=" in browser.current_url  # type: ignore[attr-defined]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "chat.png"
    assert browser.save_screenshot(str(shot))  # type: ignore[attr-defined]
    assert shot.stat().st_size > 10_000
    # The UI's process counted the trial on the /metrics that `--metrics-port` serves.
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as answer:
        assert "\nml_model_training_total 1.0\n" in answer.read().decode()


def test_the_browser_and_its_driver_are_the_debian_packages():
    assert shutil.which("chromium") == str(CHROMIUM)
    version = subprocess.run(
        [str(CHROMEDRIVER), "--version"], capture_output=True, text=True, check=True, timeout=30
    )
    assert version.stdout.startswith("ChromeDriver ")
