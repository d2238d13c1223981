"""docs/extending.md runs as written: its Python blocks, in order, in one
namespace. A tool, a provider and a data source are registered, a session runs with the first
two on the offline MSFT sample, and a trial on the CSV source matches one on the sample."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from mltrainer.agent.providers import make_provider
from mltrainer.agent.providers.registry import PROVIDERS
from mltrainer.agent.session.transcript import read_events
from mltrainer.engine.data.catalog import REGISTERED_SOURCES
from mltrainer.engine.data.registry import get_source, list_sources
from mltrainer.engine.data.sample import SampleSource
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.trial import TrialConfig
from mltrainer.tools import TOOLS_BY_NAME

README = Path(__file__).resolve().parents[2] / "docs" / "extending.md"
MAX_LINES = 30


def extending_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Extending", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


@pytest.fixture
def registries() -> Iterator[None]:
    tools, providers = dict(TOOLS_BY_NAME), dict(PROVIDERS)
    sources = dict(REGISTERED_SOURCES)
    yield
    REGISTERED_SOURCES.clear()
    REGISTERED_SOURCES.update(sources)
    TOOLS_BY_NAME.clear()
    TOOLS_BY_NAME.update(tools)
    PROVIDERS.clear()
    PROVIDERS.update(providers)


def test_each_extension_example_is_under_thirty_lines():
    blocks = extending_blocks()
    assert len(blocks) == 4
    lengths = [len(block.splitlines()) for block in blocks]
    assert max(lengths) < MAX_LINES, lengths


def test_the_readme_examples_run_as_written(
    registries: None, capsys: pytest.CaptureFixture[str], isolated_home: Path
):
    csv = isolated_home / "csv"
    csv.mkdir(parents=True)
    SampleSource().bars("MSFT").frame.to_csv(csv / "msft.csv")
    namespace: dict[str, object] = {"__name__": "readme_extending"}
    for block in extending_blocks():
        exec(compile(block, str(README), "exec"), namespace)

    assert "cost_drag" in TOOLS_BY_NAME
    assert type(make_provider("rulebook", model="rulebook-2")).__name__ == "Rulebook"
    summary = namespace["summary"]
    assert summary.finished is True  # type: ignore[attr-defined]
    assert len(summary.trials) == 1  # type: ignore[attr-defined]
    runs = [e for e in read_events(summary.transcript) if e.get("event") == "tool_run"]  # type: ignore[attr-defined]
    assert [run["name"] for run in runs] == ["cost_drag", "train_model", "finish"]
    assert runs[0]["content"] == "drag 5.00%/year"
    assert summary.conclusion.startswith("drag 5.00%/year / Trial 1 (")  # type: ignore[attr-defined]
    assert capsys.readouterr().out.startswith("finished ")

    settings = load_settings()
    names = [(s.name, s.kind, s.allowed) for s in list_sources(settings)]
    assert names[-1] == ("csvfolder", "real", True)
    assert [s.symbol for s in get_source("csvfolder", settings).symbols()] == ["MSFT"]
    trained = ResearchService(settings, session="csv").train(
        TrialConfig(symbol="MSFT", source="csvfolder", days=1500, save_model=False)
    )
    assert trained.result.provenance.source == "csvfolder"
    sample = ResearchService(settings, session="sample").train(
        TrialConfig(symbol="MSFT", source="sample", days=1500, save_model=False)
    )
    assert trained.result.selection_accuracy == sample.result.selection_accuracy
