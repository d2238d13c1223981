"""The synthetic source's generator: where a planted signal lands (`lead`)."""

from __future__ import annotations

import numpy as np
import pytest

from mltrainer.engine.data.synthetic import synthetic_bars


def test_the_default_lead_moves_the_next_return() -> None:
    bars = synthetic_bars("RW", n_bars=5000, seed=1, signal=0.6)
    log_volume = np.log(bars["volume"])
    returns = np.log(bars["close"]).diff()

    assert np.corrcoef(log_volume[:-1], returns.shift(-1)[:-1])[0, 1] > 0.25
    assert bars.equals(synthetic_bars("RW", n_bars=5000, seed=1, signal=0.6, lead=1))


@pytest.mark.parametrize("lead", [0, 100])
def test_a_lead_outside_the_series_is_refused(lead: int) -> None:
    with pytest.raises(
        ValueError, match=f"lead must be between 1 and n_bars - 1 \\(99\\), got {lead}"
    ):
        synthetic_bars("RW", n_bars=100, lead=lead)
