"""`mltrainer bench honesty` through the command line: the table, the files and the counts."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from mltrainer.agent.bench.output import SUMMARY_COLUMNS, WORLD_COLUMNS
from mltrainer.agent.cli.app import app
from mltrainer.agent.cli.bench import SUMMARY_HEADERS

runner = CliRunner()


def bench(*args: str) -> Result:
    return runner.invoke(app, ["bench", "honesty", *args])


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(
    ("policy", "looks"),
    [pytest.param("p-hacker", 5, marks=pytest.mark.slow), ("disciplined", 1)],
)
def test_a_small_run_writes_its_table_and_files_and_the_counts_add_up(
    tmp_path: Path, policy: str, looks: int
) -> None:
    out = tmp_path / "out"

    result = bench("--provider", policy, "--noise", "2", "--signal", "2", "--strength", "0.3",
                   "--bars", "800", "--out", str(out))  # fmt: skip

    assert result.exit_code == 0, result.output
    header = next(line for line in result.stdout.splitlines() if "signif." in line)
    assert header.split() == [word for column in SUMMARY_HEADERS for word in column.split()]
    assert "noise: false-discovery rate" in result.stdout
    assert "signal 0.3: power" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "bench.json", "honesty.png", "summary.csv", "worlds", "worlds.csv",
    ]  # fmt: skip
    worlds, summary = rows(out / "worlds.csv"), rows(out / "summary.csv")
    assert tuple(worlds[0]) == WORLD_COLUMNS
    assert tuple(summary[0]) == SUMMARY_COLUMNS
    assert [(w["world"], w["strength"], w["looks"]) for w in worlds] == [
        ("0", "0.0", str(looks)), ("1", "0.0", str(looks)),
        ("2", "0.3", str(looks)), ("3", "0.3", str(looks)),
    ]  # fmt: skip
    assert [(s["kind"], s["worlds"]) for s in summary] == [("noise", "2"), ("signal", "2")]
    for group in summary:
        members = [w for w in worlds if w["strength"] == group["strength"]]
        assert int(group["significant"]) == sum(w["significant"] == "True" for w in members)
        assert int(group["finished"]) == sum(w["finished"] == "True" for w in members) == 2
    recorded = json.loads((out / "bench.json").read_text())
    assert recorded["settings"]["provider"] == policy
    assert len(recorded["worlds"]) == 4
    assert (out / "honesty.png").read_bytes()[:4] == b"\x89PNG"


def test_an_output_folder_with_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.csv").write_text("x")

    result = bench("--provider", "disciplined", "--out", str(tmp_path / "out"))

    assert result.exit_code == 1
    assert "is not an empty folder; name a new or empty one" in result.stderr


def test_an_llm_without_its_key_fails_before_any_world_runs(tmp_path: Path) -> None:
    result = bench("--provider", "anthropic", "--noise", "1", "--signal", "0",
                   "--out", str(tmp_path / "out"))  # fmt: skip

    assert result.exit_code == 1
    assert "ANTHROPIC_API_KEY is not set" in result.stderr
    assert not (tmp_path / "out" / "worlds").exists()


def test_an_unknown_provider_is_refused_naming_the_choices(tmp_path: Path) -> None:
    result = bench("--provider", "nobody", "--out", str(tmp_path / "out"))

    assert result.exit_code == 1
    assert "unknown provider 'nobody'; choose one of:" in result.stderr


def test_signal_worlds_without_a_strength_in_range_are_refused(tmp_path: Path) -> None:
    result = bench("--strength", "0", "--out", str(tmp_path / "out"))

    assert result.exit_code == 2
    assert "strength" in result.stderr
