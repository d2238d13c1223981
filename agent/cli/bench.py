"""`mltrainer bench honesty`: score a research agent (a scripted reference policy or an LLM) on
noise worlds and planted-signal worlds, one whole session each."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from mltrainer.agent.cli.common import JsonOption, await_result, console
from mltrainer.agent.cli.errors import OneLineErrors, fail, load_cli_settings, run_reported

if TYPE_CHECKING:
    from mltrainer.agent.bench.honesty import ProviderFor
    from mltrainer.engine.honesty import GroupScore, WorldOutcome

bench_app = typer.Typer(
    help="Benchmarks that score a research agent.", no_args_is_help=True, cls=OneLineErrors
)

DEFAULT_STRENGTHS = (0.1, 0.2, 0.3, 0.4)


@bench_app.command("honesty")
def honesty(
    provider: Annotated[
        str,
        typer.Option(
            help="p-hacker or disciplined (the scripted reference policies), or a registered "
            "LLM provider, e.g. anthropic or openai (its key from the environment or .env)."
        ),
    ] = "p-hacker",
    model: Annotated[
        str | None, typer.Option(help="The LLM's model (default: the provider's).")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible server (vLLM, Ollama, ...).")
    ] = None,
    noise: Annotated[int, typer.Option(min=0, max=10_000, help="Pure random-walk worlds.")] = 40,
    signal: Annotated[
        int, typer.Option(min=0, max=10_000, help="Worlds with a planted signal.")
    ] = 40,
    strength: Annotated[
        list[float] | None,
        typer.Option(
            min=0.001,
            max=1.0,
            help="Planted signal strengths, repeatable; signal worlds are dealt to them in turn "
            f"(default: {', '.join(map(str, DEFAULT_STRENGTHS))}).",
        ),
    ] = None,
    bars: Annotated[int, typer.Option(min=500, max=20_000, help="Daily bars per world.")] = 1500,
    seed: Annotated[int, typer.Option(min=0, max=2**31 - 1, help="Seed of world 0.")] = 0,
    relooks: Annotated[
        int,
        typer.Option(
            min=0,
            max=15,
            help="p-hacker: looks again after the first (at most 15, so a session fits the "
            "default budgets of 20 turns and 60 tool calls).",
        ),
    ] = 4,
    out: Annotated[
        Path | None,
        typer.Option(help="An empty or new output folder (default: bench-honesty-<time>)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Score an agent's honesty: K whole sessions, half on pure random walks (any significant
    holdout claim is a false discovery) and half on bars with a planted signal the default
    next_bar execution can trade (a significant claim is a detection). Each world has its own
    data home. Prints the false-discovery rate, the power per strength (with the power the
    holdout's length predicts), tries and looks per session, time and LLM cost; writes
    worlds.csv, summary.csv, bench.json and honesty.png to --out.

    Example: mltrainer bench honesty --provider p-hacker --noise 40 --signal 40
    """
    from mltrainer.agent.bench.honesty import run_bench
    from mltrainer.agent.bench.output import write_outputs
    from mltrainer.engine.honesty import make_worlds

    settings = load_cli_settings()
    strengths = tuple(strength) if strength else DEFAULT_STRENGTHS
    folder = out or Path(f"bench-honesty-{datetime.now(UTC):%Y%m%d-%H%M%S}")
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise fail(f"--out {folder} is not an empty folder; name a new or empty one")
    try:
        worlds = make_worlds(noise, signal, strengths, seed=seed)
    except ValueError as error:
        raise fail(str(error), 2) from error
    provider_for = run_reported(lambda: _provider_for(provider, model, base_url, relooks))
    # A missing key or a provider that cannot start fails here, before any session runs.
    probe = run_reported(lambda: provider_for(worlds[0]))
    await_result(probe.aclose)
    run = {
        "provider": provider,
        "model": model,
        "noise": noise,
        "signal": signal,
        "strengths": list(strengths),
        "bars": bars,
        "seed": seed,
        "relooks": relooks if provider == "p-hacker" else None,
    }
    on_world = None if as_json else _print_world
    report = await_result(
        lambda: run_bench(
            provider_for,
            worlds,
            settings=settings,
            folder=folder,
            n_bars=bars,
            on_world=on_world,
        )
    )
    written = write_outputs(report, folder, run)
    if as_json:
        print(json.dumps({"settings": run, "summary": _rows(report.groups)}, indent=2))
        return
    console.print(summary_table(report.groups, provider))
    for group in report.groups:
        console.print(_headline(group))
    console.print("Wrote " + ", ".join(str(path) for path in written))


def _provider_for(name: str, model: str | None, base_url: str | None, relooks: int) -> ProviderFor:
    """A fresh provider per world: a policy for that world's symbol, or the LLM."""
    from mltrainer.agent.bench.policies import disciplined, p_hacker
    from mltrainer.agent.providers import make_provider
    from mltrainer.agent.providers.registry import provider_entry

    if name == "p-hacker":
        return lambda world: p_hacker(world.symbol, relooks=relooks).provider()
    if name == "disciplined":
        return lambda world: disciplined(world.symbol).provider()
    entry = provider_entry(name)
    chosen = model or entry.default_model or ""
    return lambda world: make_provider(name, model=chosen, base_url=base_url)


SUMMARY_HEADERS = (
    "worlds",
    "done/n",
    "signif.",
    "rate",
    "95% CI",
    "tries",
    "looks",
    "s/world",
    "tokens",
    "cost $",
    "Sharpe 1st",
    "detectable",
    "predicted",
)


def summary_table(groups: list[GroupScore], provider: str) -> Table:
    """One row per kind and strength; "done/n" counts the sessions that finished, "tokens"
    the LLM's input/output tokens, "Sharpe 1st" the mean excess Sharpe of each session's first
    holdout look, "detectable" what those holdouts detect at 80% power, and "predicted" the
    power that implies."""
    table = Table(title=f"Honesty benchmark: {provider}", box=box.SIMPLE_HEAD)
    for column in SUMMARY_HEADERS:
        table.add_column(column, justify="right", no_wrap=True)
    for g in groups:
        table.add_row(
            _label(g),
            f"{g.finished}/{g.worlds}",
            str(g.significant),
            f"{g.rate:.1%}",
            f"{g.rate_low:.1%}-{g.rate_high:.1%}",
            f"{g.mean_tries:.1f}",
            f"{g.mean_looks:.1f}",
            f"{g.mean_seconds:.1f}",
            f"{g.input_tokens}/{g.output_tokens}",
            "-" if g.cost_usd is None else f"{g.cost_usd:.4f}",
            _number(g.effect_sharpe),
            _number(g.detectable_sharpe),
            "-" if g.predicted_power is None else f"{g.predicted_power:.0%}",
        )
    return table


def _label(group: GroupScore) -> str:
    return "noise" if group.kind == "noise" else f"signal {group.strength:g}"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _headline(group: GroupScore) -> str:
    what = "false-discovery rate" if group.kind == "noise" else "power"
    return (
        f"{_label(group)}: {what} {group.significant}/{group.worlds} = {group.rate:.1%} "
        f"(95% CI {group.rate_low:.1%} to {group.rate_high:.1%})"
    )


def _print_world(outcome: WorldOutcome) -> None:
    claim = "no look" if outcome.claim_p is None else f"claim p {outcome.claim_p:.4f}"
    console.print(
        f"world {outcome.world} (strength {outcome.strength:g}): {outcome.tries} tries, "
        f"{outcome.looks} looks, {claim}, {outcome.reason}, {outcome.seconds:.1f}s"
    )


def _rows(groups: list[GroupScore]) -> list[dict[str, Any]]:
    from dataclasses import asdict

    return [asdict(g) for g in groups]
