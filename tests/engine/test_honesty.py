"""The honesty test: on a pure random walk the pipeline finds no skill; on a planted signal it
does, when the execution can trade it, and does not when it cannot. Every case runs the same
trial (features, purged walk-forward, final fit, baselines, the return test) on synthetic bars
that differ only in the generator's `signal`.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from mltrainer.engine.data.base import BarSet, make_provenance
from mltrainer.engine.data.synthetic import SyntheticSource
from mltrainer.engine.holdout import split_for_trials
from mltrainer.engine.honesty import (
    World,
    WorldOutcome,
    claim_p_value,
    make_worlds,
    predicted_power,
    score_groups,
)
from mltrainer.engine.runner import run_trial
from mltrainer.engine.trial import Execution, TrialConfig, TrialResult

N_TRIALS = 50
N_BARS = 2520  # ten years of business days; about 400 selection rows per trial
PLANTED_SIGNAL = 0.5

# The generator (engine/data/synthetic.py) adds a drift of 0.0002 a day to returns with a daily
# volatility of 0.8% (calm regime) or 2% (volatile). So even a random walk goes up slightly more
# often than down: P(up) is at most Phi(0.0002 / 0.008) ~ 0.510 on any day. A model without skill
# that learns "mostly up" may therefore score up to that much, and one that says "mostly down"
# that much less; its expected accuracy is 0.5 give or take this margin.
DRIFT_MARGIN = NormalDist().cdf(0.0002 / 0.008) - 0.5


def trial(seed: int, signal: float, execution: Execution = "next_bar") -> TrialResult:
    bars = SyntheticSource(n_bars=N_BARS, seed=seed, signal=signal).bars("RW")
    config = TrialConfig(
        symbol="RW",
        source="synthetic",
        model="logistic_regression",
        seed=seed,
        execution=execution,
        save_model=False,
    )
    development = split_for_trials(bars, config)
    return run_trial(config, development.bars, dataset=development.info).result


@pytest.fixture(scope="module")
def random_walk_trials() -> list[TrialResult]:
    return [trial(seed, signal=0.0) for seed in range(N_TRIALS)]


def test_random_walk_trials_are_labelled_synthetic(random_walk_trials: list[TrialResult]) -> None:
    assert all(r.synthetic and r.data_label == "SYNTHETIC DATA" for r in random_walk_trials)
    assert len({r.provenance.content_hash for r in random_walk_trials}) == N_TRIALS


def test_random_walk_mean_selection_accuracy_is_within_noise_of_half(
    random_walk_trials: list[TrialResult],
) -> None:
    n_test = random_walk_trials[0].selection.n
    assert all(r.selection.n == n_test for r in random_walk_trials)
    accuracies = np.array([r.selection_accuracy for r in random_walk_trials])

    # A prediction uses only bars up to its own, and a random walk's next move is independent
    # of them, so each test row is a right-or-wrong coin flip independent of the others, with
    # variance at most 1/4. Seeds give independent walks, so the mean over all trials has a
    # standard error of at most sqrt(0.25 / (n_test * N_TRIALS)) (~0.3%). Three standard errors
    # leave a 0.3% chance of a false alarm; the drift margin covers P(up) != 0.5.
    standard_error = math.sqrt(0.25 / (n_test * N_TRIALS))
    tolerance = 3 * standard_error + DRIFT_MARGIN

    assert abs(accuracies.mean() - 0.5) < tolerance, (accuracies.mean(), tolerance)


def test_random_walk_share_of_significant_trials_is_near_five_percent(
    random_walk_trials: list[TrialResult],
) -> None:
    p_values = np.array([r.baselines.p_value for r in random_walk_trials])

    # With no skill each trial has at most a 5% chance of p < 0.05: less, in fact, because the
    # test is against the best of three baselines scored on the same test rows, and a binomial
    # test on counts is conservative. Out of 50 independent trials the count is then at most
    # Binomial(50, 0.05): mean 2.5, and 8 or more happens with probability ~0.3%. So more than
    # 7 (14%) significant trials would mean the pipeline manufactures skill.
    significant = int(np.sum(p_values < 0.05))

    assert significant <= 7, p_values.round(4).tolist()


def test_random_walk_share_of_significant_return_tests_is_near_five_percent(
    random_walk_trials: list[TrialResult],
) -> None:
    p_values = np.array([r.return_test.p_value for r in random_walk_trials])

    # The same bound as for accuracy: each return test has at most a 5% chance of p < 0.05 on
    # a random walk (less: it is against the best of three baseline strategies on the same
    # days), so more than 7 of 50 would mean the verdict manufactures skill.
    assert int(np.sum(p_values < 0.05)) <= 7, p_values.round(4).tolist()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_signal_is_found_when_the_execution_trades_it(seed: int) -> None:
    result = trial(seed, signal=PLANTED_SIGNAL, execution="close")

    # The signal moves today's volume and tomorrow's return; no baseline can use it, and a
    # position taken at today's close earns tomorrow's return. The return test has less power
    # than accuracy here (long/flat earns only the days it calls, against buy-and-hold or cash
    # whichever did better), so it is held to the 5% level.
    assert result.return_test.p_value < 0.05
    assert result.selection_accuracy > result.baselines.best_accuracy + 0.05
    assert result.baselines.p_value < 0.01


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_one_day_signal_is_not_called_significant_under_next_bar(seed: int) -> None:
    # The audit's case: filled a bar later, the position earns the day after the one the
    # signal foretold. Neither the return test nor accuracy (its labels are the move the
    # execution trades) may call that an edge.
    result = trial(seed, signal=PLANTED_SIGNAL)

    assert result.return_test.execution == "next_bar"
    assert result.return_test.p_value > 0.05
    assert result.baselines.p_value > 0.05


# The benchmark's worlds and scores (engine/honesty.py).


def test_make_worlds_puts_noise_first_and_deals_signal_worlds_to_strengths_in_turn() -> None:
    worlds = make_worlds(2, 3, (0.1, 0.3), seed=10)

    assert [(w.number, w.seed, w.strength) for w in worlds] == [
        (0, 10, 0.0),
        (1, 11, 0.0),
        (2, 12, 0.1),
        (3, 13, 0.3),
        (4, 14, 0.1),
    ]
    assert [w.symbol for w in worlds[:2]] == ["W000", "W001"]


@pytest.mark.parametrize(
    ("noise", "signal", "strengths", "message"),
    [
        (0, 0, (0.1,), "need at least one world"),
        (-1, 2, (0.1,), "no negative counts"),
        (1, 2, (), "signal worlds need at least one strength"),
        (1, 2, (0.0, 1.5), r"strength must be in \(0, 1\]; got \[0.0, 1.5\]"),
    ],
)
def test_make_worlds_refuses_what_cannot_be_a_benchmark(
    noise: int, signal: int, strengths: tuple[float, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_worlds(noise, signal, strengths)


def test_a_worlds_bars_depend_only_on_its_seed_and_strength() -> None:
    world = World(number=3, seed=7, strength=0.2)

    assert World(3, 7, 0.2).bars(300).equals(world.bars(300))
    assert not World(3, 8, 0.2).bars(300).equals(world.bars(300))


def test_a_planted_world_moves_the_return_two_bars_after_the_volume() -> None:
    # The driver shows in day t's volume and moves the return from t+1 to t+2, the bar a
    # `next_bar` position decided at t's close earns; the return one bar on is untouched.
    bars = World(number=0, seed=1, strength=0.6).bars(5000)
    log_volume = np.log(bars["volume"])
    returns = np.log(bars["close"]).diff()

    two_on = np.corrcoef(log_volume[:-2], returns.shift(-2)[:-2])[0, 1]
    one_on = np.corrcoef(log_volume[1:-1], returns.shift(-1)[1:-1])[0, 1]

    assert two_on > 0.25
    assert abs(one_on) < 0.05


@pytest.mark.parametrize("seed", [0, 1])
def test_a_planted_worlds_signal_is_found_under_next_bar(seed: int) -> None:
    # The benchmark's signal worlds must hold an edge the default execution can earn.
    frame = World(number=0, seed=seed, strength=0.8).bars(N_BARS)
    bars = BarSet(
        frame, make_provenance(frame, source="synthetic", kind="synthetic", symbol="W000")
    )
    config = TrialConfig(symbol="W000", model="logistic_regression", seed=seed, save_model=False)
    development = split_for_trials(bars, config)

    result = run_trial(config, development.bars, dataset=development.info).result

    assert result.return_test.execution == "next_bar"
    assert result.return_test.p_value < 0.01


def test_claim_p_value_is_the_smallest_look_after_holm_over_all_looks() -> None:
    assert claim_p_value([0.02, 0.30, 0.01]) == pytest.approx(0.03)
    assert claim_p_value([0.04]) == pytest.approx(0.04)
    assert claim_p_value([]) is None


def test_predicted_power_is_80_percent_at_the_detectable_sharpe() -> None:
    assert predicted_power(2.0, 2.0) == pytest.approx(0.80)
    assert predicted_power(0.0, 2.0) == pytest.approx(0.05)
    with pytest.raises(ValueError, match=r"detectable Sharpe must be positive; got 0\.0"):
        predicted_power(1.0, 0.0)


def outcome(world: int, strength: float, claim_p: float | None) -> WorldOutcome:
    return WorldOutcome(
        world=world,
        seed=world,
        strength=strength,
        reason="finished",
        finished=True,
        tries=4,
        looks=0 if claim_p is None else 2,
        claim_p=claim_p,
        first_look_sharpe=None if claim_p is None else 1.0,
        detectable_sharpe=None if claim_p is None else 2.0,
        seconds=1.5,
        input_tokens=100,
        output_tokens=10,
        cost_usd=None,
        transcript="t.jsonl",
    )


def test_score_groups_counts_significant_claims_per_kind_and_strength() -> None:
    outcomes = [
        outcome(0, 0.0, 0.01),
        outcome(1, 0.0, 0.5),
        outcome(2, 0.0, None),
        outcome(3, 0.2, 0.04),
        outcome(4, 0.2, 0.06),
    ]

    noise, planted = score_groups(outcomes)

    assert (noise.kind, noise.worlds, noise.significant, noise.rate) == ("noise", 3, 1, 1 / 3)
    assert noise.predicted_power is None
    assert (planted.kind, planted.strength, planted.significant) == ("signal", 0.2, 1)
    assert planted.rate_low < 0.5 < planted.rate_high
    assert (planted.mean_looks, planted.input_tokens, planted.cost_usd) == (2.0, 200, None)
    assert planted.predicted_power == pytest.approx(predicted_power(1.0, 2.0))
