"""`mltrainer trials show` on a rank trial and a return trial: the target's own score under its
own name (Rank IC, IC, an R2 for a return's baselines), as the number it is, never a percent
accuracy, with the measures and the baseline test that target has."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from mltrainer.agent.cli.app import app
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.trial import TrialConfig, TrialResult

runner = CliRunner()
RANK = {"target": "rank", "universe": "sp20", "model": "ridge", "features": ["roc"]}
RETURN = {"target": "return", "symbol": "MSFT", "model": "ridge"}


def trained(fields: dict[str, object]) -> TrialResult:
    service = ResearchService(load_settings())
    return service.train(TrialConfig.model_validate({**fields, "save_model": False})).result


def shown(trial: int) -> dict[str, str]:
    """The Details table's rows, field to value."""
    result = runner.invoke(app, ["trials", "show", str(trial)])
    assert result.exit_code == 0, result.output
    rows = (line.split("\t", 1) for line in result.stdout.splitlines() if "\t" in line)
    return {field: value for field, value in rows}


def test_a_rank_trial_shows_its_rank_ic_as_a_signed_number():
    result = trained(RANK)

    rows = shown(1)

    assert rows["train / selection Rank IC"] == (
        f"{result.train_accuracy:+.4f} / {result.selection_accuracy:+.4f}"
    )
    assert rows["walk-forward Rank IC"].endswith(" over 5 folds")
    assert "%" not in rows["train / selection Rank IC"]
    assert "accuracy" not in " ".join(rows)


def test_a_rank_trial_shows_its_ics_and_the_test_against_the_best_ranking_rule():
    result = trained(RANK)

    rows = shown(1)

    assert rows["Rank IC / ICIR"].startswith(f"{result.selection.rank_ic:+.4f} / ")
    assert rows["IC / ICIR"].endswith("dates x 20 stocks")
    assert re.fullmatch(
        rf"{result.baselines.best_name} \(Rank IC [+-]\d\.\d{{4}}\): Newey-West p \d\.\d{{3}} "
        rf"on {result.baselines.tested_days} dates",
        rows["vs best baseline"],
    )
    assert re.fullmatch(
        r"1 tries on the dataset; Holm p \d\.\d{3}; best-of-N noise bar [+-]\d\.\d{4} "
        r"\(95%: [+-]\d\.\d{4}\)",
        rows["Rank IC, selection"],
    )
    assert rows["top fifth long"].startswith("return ")


def test_a_return_trial_shows_its_ic_and_its_baselines_r2():
    result = trained(RETURN)

    rows = shown(1)

    assert rows["train / selection IC"] == (
        f"{result.train_accuracy:+.4f} / {result.selection_accuracy:+.4f}"
    )
    assert rows["R2 (out of sample) / IC / Rank IC"].startswith(
        f"{result.selection.r2_oos:+.4f} / "
    )
    assert re.fullmatch(
        rf"{result.baselines.best_name} \(out-of-sample R2 [+-]\d\.\d{{4}}\): Clark-West p "
        rf"\d\.\d{{3}} on {result.baselines.tested_days} days",
        rows["vs best baseline"],
    )
    assert "accuracy" not in " ".join(rows)
