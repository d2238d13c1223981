"""How often the verdict calls an edge, measured on worlds where the truth is known: seeded
random walks (nothing to find), and walks with the generator's planted one-day signal (today's
volume foretells tomorrow's move), traded at the close (the execution can earn it) and filled
the next bar (it cannot: the move is over when the position starts). One trial per walk
(logistic regression, the default features), trained and finalized through `ResearchService`
on caller bars; the holdout is the last 20% of the walk.

For each kind of world the table gives the share of holdouts whose return test and whose
accuracy test had p < 0.05, and the median smallest excess Sharpe (and accuracy gain) the
holdout could have detected at 80% power. On random walks both shares should be near or below
5%; under `next_bar` the planted signal should look like a random walk.

Example:
    python benchmarks/verdict_calibration.py --seeds 40
"""

from __future__ import annotations

import os
import statistics
import tempfile
from pathlib import Path

from timing import benchmark_parser

WORLDS = (
    ("random walk, next_bar", 0.0, "next_bar"),
    ("planted signal, close", 0.5, "close"),
    ("planted signal, next_bar", 0.5, "next_bar"),
)


def holdout(seed: int, signal: float, execution: str, bars: int, home: Path) -> dict[str, float]:
    from mltrainer.engine.data.synthetic import synthetic_bars
    from mltrainer.engine.service import ResearchService
    from mltrainer.engine.settings import load_settings
    from mltrainer.engine.trial import TrialConfig

    os.environ["MLTRAINER_HOME"] = str(home)
    symbol = f"W{seed}"
    service = ResearchService(
        load_settings(),
        session=f"calibration-{seed}",
        data={symbol: synthetic_bars(symbol, n_bars=bars, seed=seed, signal=signal)},
    )
    config = TrialConfig(
        symbol=symbol,
        model="logistic_regression",
        folds=2,
        execution=execution,  # type: ignore[arg-type]
        save_model=False,
    )
    service.train(config)
    scored = service.finalize().holdout
    assert scored.return_test is not None and scored.power is not None
    return {
        "return_p": scored.return_test.p_value,
        "accuracy_p": scored.baselines.p_value,
        "detectable_sharpe": scored.power.excess_sharpe,
        "detectable_points": scored.power.accuracy_points,
        "days": scored.return_test.days,
    }


def main() -> None:
    parser = benchmark_parser(__doc__, "python benchmarks/verdict_calibration.py --seeds 40")
    parser.add_argument("--seeds", type=int, default=20, help="walks per kind of world")
    parser.add_argument("--first-seed", type=int, default=0, help="seed of the first walk")
    parser.add_argument("--bars", type=int, default=1500, help="bars per walk")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"One trial finalized per walk, {args.seeds} walks of {args.bars} bars")
    for column in (
        "world",
        "holdout days",
        "return test p < 0.05",
        "accuracy p < 0.05",
        "detectable excess Sharpe (median)",
        "detectable accuracy gain (median)",
    ):
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory(prefix="mltrainer-verdict-") as scratch:
        for name, signal, execution in WORLDS:
            runs = [
                holdout(seed, signal, execution, args.bars, Path(scratch) / f"{name}-{seed}")
                for seed in range(args.first_seed, args.first_seed + args.seeds)
            ]
            table.add_row(
                name,
                f"{statistics.median(r['days'] for r in runs):.0f}",
                f"{sum(r['return_p'] < 0.05 for r in runs)} of {len(runs)}",
                f"{sum(r['accuracy_p'] < 0.05 for r in runs)} of {len(runs)}",
                f"{statistics.median(r['detectable_sharpe'] for r in runs):.2f}",
                f"{statistics.median(r['detectable_points'] for r in runs):.1f} points",
            )
    Console(width=max(Console().width, 130)).print(table)


if __name__ == "__main__":
    main()
