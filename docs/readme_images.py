"""Make the README's two pictures from scratch, in a fresh data home: the demo's report figure
(trial 1's equity and drawdown, written by `mltrainer report`) and a screenshot of the chat
after a direct-mode instruction (`mltrainer ui` in Debian's headless Chromium).

Usage: python docs/readme_images.py docs/images     (or `make readme-images`)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from PIL import Image

INSTRUCTION = "Train a random forest on SPX with an 80/20 split and a 30 day lookback"
MLTRAINER = str(Path(sys.executable).parent / "mltrainer")


def small_png(source: Path, target: Path) -> None:
    """256 colours are plenty for a chart or a screenshot and keep the repository small."""
    with Image.open(source) as image:
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
            target, optimize=True
        )
    print(f"{target} ({target.stat().st_size // 1024} KiB)")


def report_figure(home: Path, target: Path) -> None:
    environment = {**os.environ, "MLTRAINER_HOME": str(home)}
    transcript = home / "demo.jsonl"
    subprocess.run(
        [MLTRAINER, "demo", "--transcript", str(transcript), "--json"],
        env=environment,
        check=True,
        capture_output=True,
    )
    written = subprocess.run(
        [MLTRAINER, "report", str(transcript), "--json"],
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    )
    figures = [Path(f) for f in json.loads(written.stdout)["figures"]]
    small_png(next(f for f in figures if f.name == "trial-1-equity.png"), target)


def chat_screenshot(home: Path, target: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [MLTRAINER, "ui", "--port", str(port)],
        env={**os.environ, "MLTRAINER_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={home / 'chromium'}", "--window-size=1280,860",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).close()
                break
            except OSError:
                time.sleep(0.3)
        driver.get(url)
        box = WebDriverWait(driver, 60).until(
            ready.element_to_be_clickable(
                (By.CSS_SELECTOR, "textarea[data-testid=stChatInputTextArea]")
            )
        )
        box.send_keys(INSTRUCTION + Keys.ENTER)
        card = WebDriverWait(driver, 180).until(
            ready.visibility_of_element_located((By.CSS_SELECTOR, "[class*=st-key-trial-card-]"))
        )
        WebDriverWait(driver, 30).until(lambda _: card.find_elements(By.TAG_NAME, "img"))
        time.sleep(1.5)
        said = driver.find_element(By.CSS_SELECTOR, "[data-testid=stChatMessage]")
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", said)
        time.sleep(0.5)
        raw = home / "chat-raw.png"
        driver.save_screenshot(str(raw))
        small_png(raw, target)
    finally:
        driver.quit()
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch) / "home"
        report_figure(home, folder / "report-equity.png")
        chat_screenshot(home, folder / "chat.png")


if __name__ == "__main__":
    main()
