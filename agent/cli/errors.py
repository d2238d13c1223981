"""Every way the command line can fail ends in one line on stderr and an exit code.

Usage mistakes (an unknown option, a value out of range, a missing argument) exit 2; errors
the library reports (`MLTrainerError`), a data home that cannot be used and anything
unexpected exit 1. The line says what is wrong and what to do; a traceback is shown only with
`MLTRAINER_DEBUG=1`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from mltrainer.agent.cli.screen import on_screen
from mltrainer.engine.errors import MLTrainerError

if TYPE_CHECKING:
    from mltrainer.engine.settings import Settings

errors = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")


def one_line(message: str) -> str:
    """The message with its line breaks folded, so each error is one line; redacted and
    shortened like everything else on the screen."""
    return " ".join(on_screen(message).split())


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `error: message` on stderr; raise the returned `typer.Exit` to stop."""
    errors.print(f"[red]error:[/red] {escape(one_line(message))}", highlight=False)
    return typer.Exit(code)


def run_reported(action: Callable[[], T]) -> T:
    """Run a command's work; library errors become one line and exit code 1."""
    try:
        return action()
    except MLTrainerError as error:
        raise fail(str(error)) from error


def load_cli_settings() -> Settings:
    """Settings from the environment and `.env`; a bad value is one line naming it."""
    from pydantic import ValidationError

    from mltrainer.engine.settings import load_settings

    try:
        return load_settings()
    except ValidationError as error:
        first = error.errors()[0]
        raise fail(
            f"invalid settings in the environment or .env: {first['msg']} "
            f"({'.'.join(str(p) for p in first['loc'])})"
        ) from error


class OneLineErrors(TyperGroup):
    """A typer group whose failures print one line instead of usage boxes or tracebacks."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        def invoke() -> Any:
            return super(OneLineErrors, self).main(
                args, prog_name, complete_var, False, windows_expand_args, **extra
            )

        if not standalone_mode:
            return invoke()
        try:
            outcome = invoke()
        except NoArgsIsHelpError as error:
            error.show()
            sys.exit(error.exit_code)
        except UsageError as error:
            _exit(_usage_line(error), 2)
        except ClickException as error:
            _exit(error.format_message(), error.exit_code)
        except typer.Abort:
            _exit("aborted", 1)
        except MLTrainerError as error:
            _exit(str(error), 1)
        except Exception as error:
            if os.environ.get("MLTRAINER_DEBUG"):
                raise
            _exit(
                f"unexpected {type(error).__name__}: {error}. This is a bug in mltrainer; "
                "rerun with MLTRAINER_DEBUG=1 for the traceback and report it",
                1,
            )
        sys.exit(outcome if isinstance(outcome, int) else 0)


def _usage_line(error: UsageError) -> str:
    command = error.ctx.command_path if error.ctx is not None else "mltrainer"
    return f"{error.format_message().rstrip('.')}. See `{command} --help`."


def _exit(message: str, code: int) -> NoReturn:
    errors.print(f"[red]error:[/red] {escape(one_line(message))}", highlight=False)
    sys.exit(code)
