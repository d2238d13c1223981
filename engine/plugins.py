"""Plugins: installed packages that add tools, providers, data sources or models through entry
points in the `mltrainer.plugins` group, loaded once per process before anything reads a
registry.

The loader lives in the engine because trials run in processes the agent never starts: a
worker process or a Dask worker loads the plugins before its first trial, so a plugin's model
trains there as it does in the client. Loading a plugin may import `mltrainer.agent` (to
register a tool or a provider); the engine itself never does.

An entry point names a module (importing it calls `register_tool`, `register_provider`, ...)
or a callable (called with no arguments, it does the same):

    [project.entry-points."mltrainer.plugins"]
    volatility = "mltrainer_volatility"            # a module
    weather = "mltrainer_weather.plugin:register"  # a function

A plugin that fails to load stops the program with its name and the error: a registry missing
tools the user installed would change what a session can do without saying so.
"""

from __future__ import annotations

import threading
from importlib.metadata import entry_points

from mltrainer.engine.errors import MLTrainerError

PLUGIN_GROUP = "mltrainer.plugins"

_loaded: list[str] = []
_done = False
_lock = threading.Lock()


class PluginError(MLTrainerError):
    """An installed plugin could not be loaded or registered."""


def load_plugins() -> list[str]:
    """Load every `mltrainer.plugins` entry point once; the names of those loaded."""
    global _done
    with _lock:
        if _done:
            return list(_loaded)
        for entry in entry_points(group=PLUGIN_GROUP):
            try:
                target = entry.load()
                if callable(target):
                    target()
            except Exception as error:
                raise PluginError(
                    f"plugin {entry.name!r} ({entry.value}) failed to load: "
                    f"{type(error).__name__}: {error}"
                ) from error
            _loaded.append(entry.name)
        _done = True
        return list(_loaded)
