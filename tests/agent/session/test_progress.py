"""What a running call tells whoever watches it: the engine's progress reads as fold i of k."""

from __future__ import annotations

from mltrainer.agent.session.progress import ToolProgress


def test_a_step_of_several_reads_as_i_of_k():
    step = ToolProgress("train_model", "c1", "training svm on SPX", "walk-forward fold", 3, 5)

    assert step.text() == "walk-forward fold 3 of 5"


def test_a_single_step_reads_as_its_stage_alone():
    step = ToolProgress("train_model", "c1", "training svm on SPX", "final fit", 1, 1)

    assert step.text() == "final fit"
