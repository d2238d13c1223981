"""Plugins load from their `mltrainer.plugins` entry points once per process, a failing one
stops the program with its name, and a worker process loads them before its first trial, so a
plugin's model trains there as in the client. Each case runs in a fresh interpreter with the
plugin's distribution on `PYTHONPATH` (a `.dist-info` folder is all `importlib.metadata`
needs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN = '''\
"""A model plugin: linear discriminant analysis, registered through the entry point."""

from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from mltrainer.engine.models import ModelSpec, register_model

CALLS = []


def register():
    CALLS.append("register")
    register_model(
        ModelSpec(
            name="plugin_lda",
            family="linear",
            description="linear discriminant analysis, from a plugin",
            build=lambda params, seed: LinearDiscriminantAnalysis(),
            params={},
            scaled=True,
        )
    )
'''

BROKEN = "raise RuntimeError('the weather service is down')\n"


def install(site: Path, module: str, source: str, entry: str) -> None:
    """The plugin as an installed distribution: its module and a `.dist-info` folder."""
    (site / f"{module}.py").write_text(source, encoding="utf-8")
    info = site / f"{module}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[mltrainer.plugins]\n{entry}\n")


def run(script: str, site: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site), "MLTRAINER_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )


LOAD_TWICE = """\
import json
from mltrainer.engine.plugins import load_plugins
from mltrainer.engine.models import resolve_model
import lda_plugin

first, second = load_plugins(), load_plugins()
print(json.dumps([first, second, lda_plugin.CALLS, resolve_model("plugin_lda").name]))
"""


def test_plugins_load_once_and_register(tmp_path: Path, isolated_home: Path):
    install(tmp_path, "lda_plugin", PLUGIN, "lda = lda_plugin:register")

    done = run(LOAD_TWICE, tmp_path, isolated_home)

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [["lda"], ["lda"], ["register"], "plugin_lda"]


def test_a_plugin_that_fails_to_load_is_named(tmp_path: Path, isolated_home: Path):
    install(tmp_path, "weather_plugin", BROKEN, "weather = weather_plugin")

    done = run("from mltrainer.engine.plugins import load_plugins; load_plugins()", tmp_path,
               isolated_home)  # fmt: skip

    assert done.returncode == 1
    assert (
        "PluginError: plugin 'weather' (weather_plugin) failed to load: "
        "RuntimeError: the weather service is down"
    ) in done.stderr


TRAIN_ON_A_WORKER = """\
import json
from mltrainer.engine.executors import ProcessExecutor
from mltrainer.engine.plugins import load_plugins
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.trial import TrialConfig

load_plugins()
executor = ProcessExecutor(1)
try:
    trained = ResearchService(load_settings(), session="plugin", executor=executor).train(
        TrialConfig(symbol="MSFT", source="sample", model="plugin_lda", days=1200,
                    save_model=False)
    )
finally:
    executor.close()
print(json.dumps([trained.result.model, trained.result.selection_accuracy]))
"""


@pytest.mark.slow
def test_a_plugin_model_trains_in_a_worker_process(tmp_path: Path, isolated_home: Path):
    install(tmp_path, "lda_plugin", PLUGIN, "lda = lda_plugin:register")

    done = run(TRAIN_ON_A_WORKER, tmp_path, isolated_home)

    assert done.returncode == 0, done.stderr
    model, accuracy = json.loads(done.stdout.strip().splitlines()[-1])
    assert model == "plugin_lda"
    assert 0.3 < accuracy < 0.7
