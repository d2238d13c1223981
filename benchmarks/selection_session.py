"""What selection does to a session's best number, measured: the example session
(`examples/random_walk_40.yaml`: 40 configurations, compare, finalize the best, finish) run on
seeded random walks passed in as caller bars, one session per seed.

For each walk the table shows the best trial's selection accuracy and raw p-value against the
best baseline, what the best of 40 coin flips reaches on as many days, the Holm-adjusted
p-value over the 40 tries, the deflated Sharpe ratio and PBO, and the finalized holdout score.
With no skill to find, about 5% of finalized p-values should fall below 0.05.

Example:
    python benchmarks/selection_session.py --seeds 20 --first-seed 100
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from timing import benchmark_parser

EXAMPLE = Path(__file__).parents[1] / "examples" / "random_walk_40.yaml"


def session(symbol: str, seed: int, n_bars: int, folder: Path) -> dict[str, object]:
    import json

    from mltrainer.agent.providers import ScriptedProvider
    from mltrainer.agent.session.runs import start_session
    from mltrainer.engine.data.synthetic import synthetic_bars
    from mltrainer.engine.settings import load_settings

    # The example trains on `source: synthetic`; here every trial runs on this seed's walk,
    # which the session receives as caller bars for `symbol` (used with `source: auto`).
    script = folder / f"{symbol}.yaml"
    text = EXAMPLE.read_text().replace("symbol: RW, source: synthetic", f"symbol: {symbol}")
    script.write_text(text)
    summary = asyncio.run(
        start_session(
            ScriptedProvider.from_file(script),
            f"Is {symbol} predictable?",
            settings=load_settings(),
            data={symbol: synthetic_bars(symbol, n_bars=n_bars, seed=seed)},
        )
    )
    events = [json.loads(line) for line in Path(str(summary.transcript)).read_text().splitlines()]
    (final,) = [
        e["payload"] for e in events if e["event"] == "tool_run" and e["name"] == "finalize"
    ]
    (best,) = [t for t in summary.trials if t.trial == final["trial"]]
    return {"final": final, "best": best}


def main() -> None:
    parser = benchmark_parser(
        __doc__, "python benchmarks/selection_session.py --seeds 20 --first-seed 100"
    )
    parser.add_argument("--seeds", type=int, default=5, help="random walks, one session each")
    parser.add_argument("--first-seed", type=int, default=0, help="seed of the first walk")
    parser.add_argument("--bars", type=int, default=1500, help="bars per walk")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"40 tries per random walk, best finalized ({args.bars} bars each)")
    for column in (
        "seed",
        "best sel. acc",
        "raw p",
        "best-of-40 coin flips",
        "Holm p",
        "DSR",
        "PBO",
        "holdout acc",
        "baseline",
        "holdout p",
    ):
        table.add_column(column, justify="right")
    significant = 0
    with tempfile.TemporaryDirectory(prefix="mltrainer-selection-") as scratch:
        os.environ["MLTRAINER_HOME"] = str(Path(scratch) / "home")
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            outcome = session(f"RW{seed}", seed, args.bars, Path(scratch))
            final, best = outcome["final"], outcome["best"]
            stats, holdout = final["selection_stats"], final["holdout"]  # type: ignore[index]
            significant += holdout["baselines"]["p_value"] < 0.05
            table.add_row(
                str(seed),
                f"{best.selection_accuracy:.1%}",  # type: ignore[attr-defined]
                f"{best.p_value:.3f}",  # type: ignore[attr-defined]
                f"{stats['noise_bar']:.1%} (95%: {stats['noise_bar_95']:.1%})",
                f"{stats['p_value_adjusted']:.3f}",
                f"{stats['dsr']:.3f}",
                "-" if stats["pbo"] is None else f"{stats['pbo']:.2f}",
                f"{holdout['accuracy']:.1%}",
                f"{holdout['baselines']['best_accuracy']:.1%}",
                f"{holdout['baselines']['p_value']:.3f}",
            )
    console = Console(width=max(Console().width, 120))
    console.print(table)
    console.print(
        f"finalized p < 0.05 in {significant} of {args.seeds} walks "
        f"(expected with no skill: about {0.05 * args.seeds:.1f})"
    )


if __name__ == "__main__":
    main()
