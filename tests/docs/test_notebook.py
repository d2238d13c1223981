"""docs/notebook.ipynb runs as written: every cell executed in order by a real Jupyter kernel
(nbclient, over local IPC sockets), and what it says it did is in its data home afterwards."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

nbclient = pytest.importorskip("nbclient", reason="needs mltrainer[dev] (nbclient, ipykernel)")
nbformat = pytest.importorskip("nbformat", reason="needs mltrainer[dev] (nbformat)")

from jupyter_client.manager import KernelManager  # noqa: E402

from mltrainer.engine.service import ResearchService  # noqa: E402
from mltrainer.engine.settings import load_settings  # noqa: E402

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "notebook.ipynb"


@pytest.mark.slow
def test_the_notebook_runs_and_leaves_two_trials_one_look_and_a_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    notebook.cells.append(
        nbformat.v4.new_code_cell(
            "import json\nprint(json.dumps({'home': str(research.home), 'best': best.trial}))"
        )
    )
    kernel = KernelManager(kernel_name="python3", transport="ipc", ip=str(tmp_path / "kernel"))
    nbclient.NotebookClient(
        notebook, km=kernel, timeout=600, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert [o for o in outputs if o.output_type == "error"] == []
    printed = "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stdout")
    assert "the locked holdout of sample:SPX:bars was already scored: look 1" in printed
    shown = json.loads(printed.strip().splitlines()[-1])
    home = Path(shown["home"])
    assert home.is_relative_to(tmp_path)
    service = ResearchService(load_settings().model_copy(update={"home": home}))
    assert [(row.trial, row.symbol) for row in service.ledger_table()] == [(2, "SPX"), (1, "SPX")]
    assert [(look.trial, look.look) for look in service.ledger.looks()] == [(shown["best"], 1)]
    assert (home / "reports" / f"trial-{shown['best']}" / "report.html").is_file()


@pytest.mark.slow
def test_the_readmes_notebook_example_runs_as_written(isolated_home: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    readme = (NOTEBOOK.parents[1] / "README.md").read_text(encoding="utf-8")
    (block,) = [
        code
        for code in re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
        if "mltrainer.open(" in code
    ]
    exec(compile(block, "README.md", "exec"), {})
    service = ResearchService(load_settings())
    assert [row.model for row in service.ledger_table()] == ["lightgbm"]
    assert [look.trial for look in service.ledger.looks()] == [1]
    assert (isolated_home / "reports" / "trial-1" / "report.html").is_file()
