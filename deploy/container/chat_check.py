"""Drives the chat a server (the image's container, or `mltrainer ui`) serves, from this machine,
in Debian's headless Chromium, as a visitor would:

  1. Streamlit's health endpoint answers `ok`;
  2. the page shows the token form and nothing else (no chat box, no page navigation);
  3. a wrong token is refused and still nothing else shows;
  4. the right token opens the chat;
  5. (with --provider) the provider is chosen in the sidebar;
  6. one instruction trains a trial on SPX, and its card shows the selection accuracy the ledger
     recorded for that trial;
  7. the value of no --secret-env variable (the operator's keys) is in the page at any step.

    python chat_check.py http://127.0.0.1:8501 --token-file TOKEN --ledger HOME/mltrainer.db \\
        --provider "Direct (no LLM)" --secret-env CANARY --screenshot chat.png

Needs selenium (the dev extra) and /usr/bin/chromium with /usr/bin/chromedriver (`make browser`).
Prints one line per step; exit 0 when every step holds, 1 naming the one that failed.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,800",
)
INSTRUCTION = "Train a naive bayes model on SPX using the last 1500 days"
CHAT_BOX = "textarea[data-testid=stChatInputTextArea]"
TOKEN_BOX = "input[type=password]"
TRIAL_CARD = re.compile(r"\bst-key-trial-card-(\d+)\b")


class CheckFailed(Exception):
    """A step did not hold; the message says which and what the page showed."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="where the chat is served, e.g. http://127.0.0.1:8501")
    parser.add_argument("--token-file", type=Path, required=True, help="holds the UI token")
    parser.add_argument("--ledger", type=Path, required=True, help="the data home's mltrainer.db")
    parser.add_argument("--provider", help="the provider to choose in the sidebar, by its label")
    parser.add_argument(
        "--secret-env",
        action="append",
        default=[],
        metavar="NAME",
        help="environment variable whose value must never be in the page",
    )
    parser.add_argument("--screenshot", type=Path, help="save the page with the trial card here")
    parser.add_argument("--seconds", type=float, default=300, help="wait this long for the trial")
    return parser.parse_args(argv)


def step(message: str) -> None:
    print(f"chat: {message}", flush=True)


def check_health(url: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=3) as answer:
                body = answer.read().decode()
                if answer.status == 200 and body == "ok":
                    step(f"{url}/_stcore/health answers ok")
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise CheckFailed(f"{url}/_stcore/health did not answer ok within {seconds:.0f} s")


def open_browser(profile: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def no_secret_in_page(driver: Any, secrets: dict[str, str], where: str) -> None:
    source = driver.page_source
    for name, value in secrets.items():
        if value in source:
            raise CheckFailed(f"the value of {name} is in the page ({where})")


def enter_token(driver: Any, token: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    box = WebDriverWait(driver, 30).until(
        ready.element_to_be_clickable((By.CSS_SELECTOR, TOKEN_BOX))
    )
    box.clear()
    box.send_keys(token)
    box.send_keys(Keys.ENTER)


def token_form_only(driver: Any, secrets: dict[str, str]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 60).until(ready.presence_of_element_located((By.CSS_SELECTOR, TOKEN_BOX)))
    time.sleep(1.0)  # anything else the first run would draw is drawn by now
    shown = {
        "chat box": driver.find_elements(By.CSS_SELECTOR, CHAT_BOX),
        "page navigation": driver.find_elements(By.CSS_SELECTOR, "[data-testid=stSidebarNav]"),
        "sidebar": driver.find_elements(By.CSS_SELECTOR, "[data-testid=stSidebar]"),
    }
    visible = [name for name, found in shown.items() if found]
    if visible:
        raise CheckFailed(f"before the token the page shows: {', '.join(visible)}")
    no_secret_in_page(driver, secrets, "the token form")
    step("the page shows the token form and nothing else")


def wrong_token_refused(driver: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    enter_token(driver, "not-the-token-" + os.urandom(8).hex())
    WebDriverWait(driver, 30).until(lambda d: "That is not this server's token." in d.page_source)
    if driver.find_elements(By.CSS_SELECTOR, CHAT_BOX):
        raise CheckFailed("a wrong token opened the chat")
    step("a wrong token is refused; the chat stays closed")


def right_token_opens_the_chat(driver: Any, token: str) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    enter_token(driver, token)
    box = WebDriverWait(driver, 60).until(
        ready.element_to_be_clickable((By.CSS_SELECTOR, CHAT_BOX))
    )
    step("the right token opens the chat")
    return box


PROVIDER_BOX = "[data-testid=stSidebar] [data-testid=stSelectbox] input[role=combobox]"


def choose_provider(driver: Any, label: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    def chosen(d: Any) -> str:
        return str(d.find_element(By.CSS_SELECTOR, PROVIDER_BOX).get_attribute("value"))

    WebDriverWait(driver, 60).until(ready.element_to_be_clickable((By.CSS_SELECTOR, PROVIDER_BOX)))
    if chosen(driver) != label:
        driver.find_element(By.CSS_SELECTOR, PROVIDER_BOX).click()
        options = WebDriverWait(driver, 15).until(
            ready.presence_of_all_elements_located((By.CSS_SELECTOR, "[role=option]"))
        )
        matching = [option for option in options if option.text.strip() == label]
        if not matching:
            offered = ", ".join(option.text.strip() for option in options)
            raise CheckFailed(
                f"no provider labelled {label!r} in the sidebar; it offers: {offered}"
            )
        matching[0].click()
        WebDriverWait(driver, 15).until(lambda d: chosen(d) == label)
    step(f"provider: {label}")


def recorded_accuracy(ledger: Path, trial: int) -> tuple[float, str, str]:
    with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True) as connection:
        row = connection.execute(
            "SELECT selection_accuracy, model, symbol FROM trials WHERE trial = ?", (trial,)
        ).fetchone()
    if row is None:
        raise CheckFailed(f"the page shows trial {trial}, which {ledger} does not hold")
    return float(row[0]), str(row[1]), str(row[2])


def trial_card_numbers(driver: Any) -> set[int]:
    from selenium.webdriver.common.by import By

    cards = driver.find_elements(By.CSS_SELECTOR, "[class*=st-key-trial-card-]")
    found = (TRIAL_CARD.search(card.get_attribute("class") or "") for card in cards)
    return {int(match.group(1)) for match in found if match}


def one_trial_shown(driver: Any, box: Any, ledger: Path, seconds: float) -> tuple[int, str]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    before = trial_card_numbers(driver)
    box.send_keys(INSTRUCTION)
    box.send_keys(Keys.ENTER)
    WebDriverWait(driver, seconds).until(lambda d: trial_card_numbers(d) - before)
    (trial,) = trial_card_numbers(driver) - before
    card = driver.find_element(By.CSS_SELECTOR, f".st-key-trial-card-{trial}")
    WebDriverWait(driver, 30).until(lambda _: card.find_elements(By.TAG_NAME, "img"))
    time.sleep(1.0)  # the one-second refresh settles
    metrics = {
        m.find_element(By.CSS_SELECTOR, "[data-testid=stMetricLabel]").text: m.find_element(
            By.CSS_SELECTOR, "[data-testid=stMetricValue]"
        ).text
        for m in card.find_elements(By.CSS_SELECTOR, "[data-testid=stMetric]")
    }
    accuracy, model, symbol = recorded_accuracy(ledger, trial)
    shown = metrics.get("Selection accuracy")
    if (model, symbol) != ("naive_bayes", "SPX"):
        raise CheckFailed(f"trial {trial} is {model} on {symbol}, not naive_bayes on SPX")
    if shown != f"{accuracy:.1%}":
        raise CheckFailed(
            f"trial {trial}'s card shows selection accuracy {shown!r}; the ledger has "
            f"{accuracy:.4f} ({accuracy:.1%})"
        )
    step(
        f"'{INSTRUCTION}' trained trial {trial} ({model} on {symbol}); its card shows selection "
        f"accuracy {shown}, as the ledger recorded ({accuracy:.4f})"
    )
    return trial, shown


def waited(doing: str, action: Callable[[], T]) -> T:
    """`action()`, with a wait that ran out said as the step that failed and what was shown."""
    from selenium.common.exceptions import TimeoutException

    try:
        return action()
    except TimeoutException as error:
        raise CheckFailed(f"timed out while {doing}") from error


def run(args: argparse.Namespace) -> None:
    token = args.token_file.read_text(encoding="utf-8").splitlines()[0].strip()
    secrets = {name: os.environ[name] for name in args.secret_env if os.environ.get(name)}
    check_health(args.url)
    with tempfile.TemporaryDirectory(prefix="chat-check-") as profile:
        driver = open_browser(Path(profile))
        try:
            driver.get(args.url)
            waited("waiting for the token form", lambda: token_form_only(driver, secrets))
            waited("entering a wrong token", lambda: wrong_token_refused(driver))
            box = waited("entering the token", lambda: right_token_opens_the_chat(driver, token))
            if args.provider:
                waited("choosing the provider", lambda: choose_provider(driver, args.provider))
            waited(
                "waiting for the trial card",
                lambda: one_trial_shown(driver, box, args.ledger, args.seconds),
            )
            no_secret_in_page(driver, secrets, "the chat with its trial card")
            if args.screenshot:
                args.screenshot.parent.mkdir(parents=True, exist_ok=True)
                driver.save_screenshot(str(args.screenshot))
            step(f"no value of {len(secrets)} operator key(s) in the page at any step")
        except CheckFailed:
            if args.screenshot:
                driver.save_screenshot(str(args.screenshot.with_suffix(".failed.png")))
            raise
        finally:
            driver.quit()


def main(argv: list[str]) -> int:
    try:
        run(parse_args(argv))
    except CheckFailed as failure:
        print(f"chat check failed: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
