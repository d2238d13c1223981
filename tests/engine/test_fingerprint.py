"""A dataset's content: the same daily returns are the same data whatever the scale, rounding,
start or name; another series is not."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mltrainer.engine.data.sample import SampleSource
from mltrainer.engine.fingerprint import Fingerprint


def spx() -> pd.Series:
    return SampleSource().bars("SPX").frame["close"]


def test_scaled_closes_are_the_same_data_and_keep_their_month_keys() -> None:
    closes = spx()

    original, scaled = Fingerprint.of(closes), Fingerprint.of(closes * 7.3)

    assert scaled.month_keys() == original.month_keys()
    assert original.agreement(scaled).share == 1.0
    assert original.agreement(scaled).same_data


def test_closes_rounded_to_cents_are_the_same_data() -> None:
    closes = spx()

    agreement = Fingerprint.of(closes).agreement(Fingerprint.of(closes.round(2)))

    # 5030 daily returns, 3 of them days the index closed unchanged (no evidence either way).
    assert agreement.shared == 5027
    assert agreement.same_data


def test_a_later_start_shares_the_months_after_its_first() -> None:
    closes = spx()
    later = Fingerprint.of(closes[closes.index >= "2010-03-15"])

    whole = set(Fingerprint.of(closes).month_keys())

    assert later.month_keys()[0] not in whole
    assert set(later.month_keys()[1:]) <= whole
    assert Fingerprint.of(closes).agreement(later).same_data


def test_another_index_is_not_the_same_data() -> None:
    nasdaq = SampleSource().bars("IXIC").frame["close"]

    agreement = Fingerprint.of(spx()).agreement(Fingerprint.of(nasdaq))

    assert agreement.shared == 5030
    assert round(agreement.share, 2) == 0.2
    assert not agreement.same_data


def test_a_missing_day_does_not_misalign_the_rest() -> None:
    closes = spx()
    gappy = closes.drop(closes.index[100:110])

    agreement = Fingerprint.of(closes).agreement(Fingerprint.of(gappy))

    assert agreement.shared == 5017
    assert agreement.share == 1.0


def test_too_few_shared_days_are_no_verdict() -> None:
    closes = spx()

    agreement = Fingerprint.of(closes).agreement(Fingerprint.of(closes.iloc[:15]))

    assert agreement.share == 1.0
    assert not agreement.same_data


def test_flat_days_are_not_evidence() -> None:
    days = pd.bdate_range("2020-01-01", periods=60)
    flat = pd.Series(10.0, index=days)

    assert Fingerprint.of(flat).agreement(Fingerprint.of(flat * 2)).shared == 0


def test_agreement_can_be_limited_to_a_stretch_of_days() -> None:
    closes = spx()
    edited = closes.copy()
    edited.iloc[-1000:] *= np.exp(np.random.default_rng(0).normal(0, 0.01, 1000))
    boundary = closes.index[-1000].date()

    before = Fingerprint.of(closes).agreement(
        Fingerprint.of(edited), until=closes.index[-1001].date()
    )
    after = Fingerprint.of(closes).agreement(Fingerprint.of(edited), since=boundary)

    assert before.same_data
    assert not after.same_data


def test_a_panel_is_one_content_of_several_series() -> None:
    sample = SampleSource()
    panel = pd.concat({"IXIC": sample.bars("IXIC").frame["close"], "SPX": spx()}, axis=1).dropna()

    content = Fingerprint.of(panel)

    assert content.series == 2
    assert content.agreement(Fingerprint.of(panel * 3)).same_data
    assert content.agreement(Fingerprint.of(spx())).shared == 0


def test_missing_and_non_positive_closes_are_left_out() -> None:
    days = pd.bdate_range("2020-01-01", periods=5)
    closes = pd.Series([1.0, np.nan, 2.0, 0.0, 3.0], index=days)

    content = Fingerprint.of(closes)

    assert len(content.days) == 3
    assert content.first_day == days[0].date()
    assert content.last_day == days[4].date()


def test_content_round_trips_through_bytes() -> None:
    content = Fingerprint.of(spx())

    again = Fingerprint.from_bytes(content.to_bytes())

    assert np.array_equal(again.days, content.days)
    assert np.array_equal(again.log_closes, content.log_closes)


def test_merged_content_adds_the_days_it_lacked_at_its_own_level() -> None:
    closes = spx()
    early = Fingerprint.of(closes.iloc[:3000])
    late = Fingerprint.of(closes.iloc[2000:] * 5)

    merged = early.merged(late)

    assert len(merged.days) == len(closes)
    assert np.allclose(merged.log_closes, Fingerprint.of(closes).log_closes)
