"""`mltrainer report`: the demo's transcript becomes an HTML report and PNG figures under the data
home's reports/; the images are real PNGs of a sensible size and the equity curve ends at the
total return each trial reported."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from mltrainer.agent.cli.app import app
from mltrainer.agent.session.transcript import read_events
from mltrainer.engine.settings import load_settings

runner = CliRunner()
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The demo, then `mltrainer report` on its transcript (once for the module)."""
    home = tmp_path_factory.mktemp("home")
    transcript = home / "demo.jsonl"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLTRAINER_HOME", str(home))
        demo = runner.invoke(app, ["demo", "--transcript", str(transcript), "--json"])
        assert demo.exit_code == 0, demo.output
        report = runner.invoke(app, ["report", str(transcript), "--repeats", "3", "--json"])
        assert report.exit_code == 0, report.output
    return {"home": home, "transcript": transcript, **json.loads(report.output)}


@pytest.mark.slow
def test_the_demo_report_is_html_and_png_figures_under_the_data_homes_reports(demo_report):
    html = Path(str(demo_report["html"]))
    home = Path(str(demo_report["home"]))

    assert html.parent.parent == home / "reports"
    assert html.name == "report.html"
    names = sorted(Path(f).name for f in demo_report["figures"])  # type: ignore[attr-defined]
    assert names == sorted(
        ["session-accuracy.png"]
        + [
            f"trial-{n}-{kind}.png"
            for n in (1, 2, 3, 4)
            for kind in ("equity", "confusion", "importance")
        ]
    )


@pytest.mark.slow
def test_every_figure_is_a_valid_png_of_sensible_size(demo_report):
    for file in demo_report["figures"]:  # type: ignore[attr-defined]
        path = Path(file)
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE), path
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            width, height = image.size
        assert 350 <= width <= 1600, (path.name, width)
        assert 250 <= height <= 1200, (path.name, height)
        assert 5_000 <= len(data) <= 1_000_000, (path.name, len(data))


@pytest.mark.slow
def test_each_equity_curve_ends_at_the_total_return_its_trial_reported(demo_report):
    transcript = Path(str(demo_report["transcript"]))
    reported = {
        e["payload"]["trial"]: e["payload"]["backtest"]
        for e in read_events(transcript)
        if e.get("event") == "tool_run" and e["payload"].get("type") == "training_complete"
    }
    assert sorted(reported) == [1, 2, 3, 4]
    folder = Path(str(demo_report["html"])).parent

    for trial, backtest in reported.items():
        curve = pd.read_csv(folder / f"trial-{trial}-equity.csv")
        for strategy in ("long_flat", "long_short", "buy_and_hold"):
            last = curve[f"{strategy}_equity"].iloc[-1]
            assert last - 1.0 == pytest.approx(backtest[strategy]["total_return"], abs=1e-8)


@pytest.mark.slow
def test_the_html_stands_alone_with_every_figure_embedded(demo_report):
    text = Path(str(demo_report["html"])).read_text(encoding="utf-8")

    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(embedded) == len(demo_report["figures"])  # type: ignore[arg-type]
    assert all(base64.b64decode(e).startswith(PNG_SIGNATURE) for e in embedded)
    assert 'src="http' not in text and "<script" not in text
    assert "Locked holdout (finalize): the numbers to report" in text
    assert re.search(r"<td class=\"num\">\d+\.\d%</td>", text)  # percentages, one decimal


def test_report_of_one_trial_prints_the_path_of_its_html(isolated_home: Path):
    train = runner.invoke(app, ["train", "naive bayes on SPX, last 1500 days", "--json"])
    assert train.exit_code == 0, train.output

    result = runner.invoke(app, ["report", "--trial", "1", "--repeats", "2"])

    assert result.exit_code == 0, result.output
    html = Path(result.output.strip().splitlines()[-1])
    assert html == load_settings().reports_dir / "trial-1" / "report.html"
    assert html.is_file()
    assert {p.name for p in html.parent.glob("*.png")} == {
        "trial-1-equity.png",
        "trial-1-confusion.png",
        "trial-1-importance.png",
    }


def test_a_trial_without_a_model_file_gets_its_report_and_says_why_importance_is_missing():
    from mltrainer.engine.service import ResearchService
    from mltrainer.engine.trial import TrialConfig

    ResearchService(load_settings()).train(
        TrialConfig(symbol="SPX", model="naive_bayes", days=1500, save_model=False)
    )

    result = runner.invoke(app, ["report", "--trial", "1"])

    assert result.exit_code == 0, result.output
    assert "No feature importance: trial 1 was trained with save_model=false" in result.output
    assert not (load_settings().reports_dir / "trial-1" / "trial-1-importance.png").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give a transcript or --trial N"),
        (["x.jsonl", "--trial", "1"], "give a transcript or --trial N"),
        (["--trial", "7"], "no recorded trial '7'"),
        (["missing.jsonl"], "no transcript at missing.jsonl"),
    ],
)
def test_bad_requests_are_one_line_errors(args: list[str], message: str):
    result = runner.invoke(app, ["report", *args])

    assert result.exit_code == 1
    assert message in result.output


def test_a_session_id_that_climbs_out_of_the_data_home_writes_nothing(tmp_path: Path):
    """The attack: a transcript whose session_id is `../../../X` made `mltrainer report` write
    its HTML, PNGs and CSV outside reports/."""
    crafted = tmp_path / "crafted.jsonl"
    start = {"v": 1, "ts": "2026-01-01T00:00:00+00:00", "event": "session_start"}
    start |= {"session_id": "../../../X", "provider": "scripted", "goal": "g"}
    crafted.write_text(json.dumps(start) + "\n")
    before = {p for p in tmp_path.rglob("*")}

    result = runner.invoke(app, ["report", str(crafted)])

    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "session_id: Value error, a session id may hold only letters, digits" in result.stderr
    assert {p for p in tmp_path.rglob("*")} == before


def test_help_imports_neither_matplotlib_nor_streamlit():
    import subprocess
    import sys

    code = (
        "import sys; from typer.testing import CliRunner; from mltrainer.agent.cli.app import app; "
        "CliRunner().invoke(app, ['--help']); CliRunner().invoke(app, ['report', '--help']); "
        "print(sorted(m for m in ('matplotlib', 'streamlit', 'jinja2') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )

    assert done.stdout.strip() == "[]"
