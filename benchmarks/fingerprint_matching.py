"""What counts as the same data: the agreement of SPX's daily returns with variants of itself and
with other series, on the shipped sample data (the table in docs/methodology.md), and what
binding bars to their dataset costs next to the trial it precedes.

    python benchmarks/fingerprint_matching.py
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np
import pandas as pd

from mltrainer.engine.data.sample import SampleSource
from mltrainer.engine.fingerprint import Fingerprint


def pairs(sample: SampleSource) -> list[tuple[str, pd.Series, pd.Series]]:
    spx = sample.bars("SPX").frame["close"]
    msft = sample.bars("MSFT").frame["close"]
    noise = np.exp(np.random.default_rng(0).normal(0, 5e-4, len(spx)))
    return [
        ("SPX vs SPX x 7.3", spx, spx * 7.3),
        ("SPX vs SPX rounded to cents", spx, spx.round(2)),
        ("SPX vs SPX from 2010-03-15", spx, spx[spx.index >= "2010-03-15"]),
        ("SPX vs SPX with 5 bp noise a day", spx, spx * noise),
        ("SPX vs IXIC", spx, sample.bars("IXIC").frame["close"]),
        ("SPX vs MSFT", spx, msft),
        ("MSFT vs MSFT rounded to cents", msft, msft.round(2)),
        (
            "MSFT vs MSFT rounded to cents, 2010 on",
            msft[msft.index >= "2010-01-01"],
            msft.round(2)[msft.index >= "2010-01-01"],
        ),
    ]


def binding_cost() -> tuple[float, float]:
    """Seconds to bind SPX's bars (a second time: the usual case) and to run one quick trial."""
    os.environ["MLTRAINER_HOME"] = tempfile.mkdtemp()
    from mltrainer.engine.holdout import lock_holdout
    from mltrainer.engine.service import ResearchService
    from mltrainer.engine.trial import TrialConfig

    service = ResearchService(session="bench")
    config = TrialConfig(symbol="SPX", model="logistic_regression", folds=2, save_model=False)
    service.train(config)
    bars = SampleSource().bars("SPX")
    tick = time.perf_counter()
    for _ in range(10):
        lock_holdout(
            service.ledger, bars, "sample:SPX:bars", trust_name=True, share=0.2, min_bars=250
        )
    bind = (time.perf_counter() - tick) / 10
    tick = time.perf_counter()
    service.train(config.model_copy(update={"seed": 7}))
    return bind, time.perf_counter() - tick


def main() -> None:
    sample = SampleSource()
    print(f"{'pair':44} {'shared':>7} {'agree':>7}  same data")
    for name, a, b in pairs(sample):
        agreement = Fingerprint.of(a).agreement(Fingerprint.of(b))
        print(f"{name:44} {agreement.shared:7d} {agreement.share:7.1%}  {agreement.same_data}")
    bind, trial = binding_cost()
    print(
        f"binding SPX's bars to their dataset: {bind * 1000:.1f} ms; one quick trial: "
        f"{trial:.2f} s; ratio {bind / trial:.3f}"
    )


if __name__ == "__main__":
    main()
