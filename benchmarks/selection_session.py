"""What selection does to a session's best number, measured: the example session
(`examples/random_walk_40.yaml`: 40 configurations, compare, finalize the best, finish) run on
seeded random walks passed in as caller bars, one session per seed.

For each walk the table shows the finalized trial (the best by the return test) on its
selection days: its return test's t against what the best of 40 skill-less tries reaches, the
Holm-adjusted return p-value over the 40 tries, its selection accuracy and raw accuracy p, the
deflated Sharpe ratio (strategy / excess over buy-and-hold) and PBO; then the locked holdout:
its return test, the smallest excess Sharpe it could detect at 80% power, and its accuracy
against the best baseline. With no skill to find, about 5% of finalized p-values should fall
below 0.05.

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
        "best t",
        "best-of-40 t (95%)",
        "Holm p",
        "sel. acc",
        "acc. p",
        "DSR strat. / excess",
        "PBO",
        "holdout excess Sharpe",
        "holdout p",
        "detectable Sharpe",
        "holdout acc / baseline",
        "acc. p",
    ):
        table.add_column(column, justify="right")
    significant = significant_accuracy = 0
    with tempfile.TemporaryDirectory(prefix="mltrainer-selection-") as scratch:
        os.environ["MLTRAINER_HOME"] = str(Path(scratch) / "home")
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            outcome = session(f"RW{seed}", seed, args.bars, Path(scratch))
            final, best = outcome["final"], outcome["best"]
            stats, holdout = final["selection_stats"], final["holdout"]  # type: ignore[index]
            verdict, power = holdout["return_test"], holdout["power"]
            significant += verdict["p_value"] < 0.05
            significant_accuracy += holdout["baselines"]["p_value"] < 0.05
            table.add_row(
                str(seed),
                f"{best.return_t:.2f}",  # type: ignore[attr-defined]
                f"{stats['return_noise_bar']:.2f} ({stats['return_noise_bar_95']:.2f})",
                f"{stats['return_p_value_adjusted']:.3f}",
                f"{best.selection_accuracy:.1%}",  # type: ignore[attr-defined]
                f"{best.p_value:.3f}",  # type: ignore[attr-defined]
                f"{stats['strategy_dsr']:.3f} / {stats['dsr']:.3f}",
                "-" if stats["pbo"] is None else f"{stats['pbo']:.2f}",
                f"{verdict['excess_sharpe']:.2f} vs {verdict['baseline']}",
                f"{verdict['p_value']:.3f}",
                f"{power['excess_sharpe']:.2f}",
                f"{holdout['accuracy']:.1%} / {holdout['baselines']['best_accuracy']:.1%}",
                f"{holdout['baselines']['p_value']:.3f}",
            )
    console = Console(width=max(Console().width, 160))
    console.print(table)
    console.print(
        f"finalized return test p < 0.05 in {significant} of {args.seeds} walks, accuracy "
        f"p < 0.05 in {significant_accuracy} (expected with no skill: about "
        f"{0.05 * args.seeds:.1f} each)"
    )


if __name__ == "__main__":
    main()
