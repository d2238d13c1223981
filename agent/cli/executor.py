"""`--executor` and `--scheduler`: where a command's trials compute. The options override
`MLTRAINER_EXECUTOR` / `MLTRAINER_SCHEDULER` for this command only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mltrainer.agent.cli.errors import fail, load_cli_settings, run_reported
from mltrainer.engine.executors import EXECUTOR_HELP, EXECUTOR_KINDS, require_executor

if TYPE_CHECKING:  # pydantic-settings loads with the command that reads settings
    from mltrainer.engine.settings import Settings

ExecutorOption = Annotated[
    str | None, typer.Option(help=f"{'|'.join(EXECUTOR_KINDS)}. {EXECUTOR_HELP}")
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (with --executor dask)."),
]


def executor_settings(executor: str | None, scheduler: str | None) -> Settings:
    """Settings from the environment with the command's executor options applied; a
    scheduler without the dask executor is refused rather than ignored."""
    settings = load_cli_settings()
    if executor is not None and executor not in EXECUTOR_KINDS:
        raise fail(f"unknown executor '{executor}'; executors are {', '.join(EXECUTOR_KINDS)}")
    kind = executor or settings.executor
    address = scheduler or settings.scheduler
    if address is not None and kind != "dask":
        raise fail(
            f"--scheduler {address} is only used with --executor dask (executor is '{kind}')"
        )
    run_reported(lambda: require_executor(kind))
    return settings.model_copy(update={"executor": kind, "scheduler": address})
