"""Looks at locked holdouts, and the holdout p-values adjusted over them.

A holdout gives one untouched look. A look taken anyway (`again`) makes the holdout one more
selection set: the chance that the best of k looks clears a bar by luck grows with k. So every
holdout p-value a look shows is adjusted (Holm) over its family, as of when it is shown: every
look at that holdout (any session, any name for the same bars) and every look its session made
at any holdout (a session that finalizes several datasets picks among them too).
"""

from __future__ import annotations

from mltrainer.engine.ledger import Look
from mltrainer.engine.stats import holm_adjusted
from mltrainer.engine.trial import AdjustedPValue, FinalResult


def holdout_p_values(final: FinalResult) -> dict[str, float]:
    """The holdout p-values a result carries, by test: what the adjustment over looks covers.
    `binomial` is the target's own test against its baselines whatever the target (the name
    recorded looks carry: direction's binomial test, return's Clark-West, rank's Rank IC
    test); `mcnemar` is direction's alone."""
    holdout = final.holdout
    tests = {"binomial": holdout.baselines.p_value}
    mcnemar = getattr(holdout.baselines, "mcnemar_p_value", None)
    if mcnemar is not None:
        tests["mcnemar"] = mcnemar
    if holdout.return_test is not None:
        tests["return"] = holdout.return_test.p_value
    return tests


def adjusted_over(final: FinalResult, look: Look, family: list[Look]) -> FinalResult:
    """`final` (the result of `look`) with its look number, its family and each holdout
    p-value adjusted over that family. A member that lacks a test (a look recorded before the
    test existed) counts in the family with p = 1: it can only make the adjustment larger."""
    assert any(member.look == look.look for member in family), "a look is in its own family"
    members = {
        member.look: final if member.look == look.look else _result(member) for member in family
    }
    order = [member.look for member in family]
    at = order.index(look.look)
    adjusted = []
    for test, raw in holdout_p_values(final).items():
        family_p = [holdout_p_values(members[number]).get(test, 1.0) for number in order]
        adjusted.append(
            AdjustedPValue(test=test, raw=raw, adjusted=float(holm_adjusted(family_p)[at]))
        )
    number = sum(
        1 for member in family if member.dataset == look.dataset and member.look <= look.look
    )
    return final.model_copy(
        update={
            "look": number,
            "untouched": number == 1,
            "family": len(family),
            "p_values": adjusted,
        }
    )


def relook_note(final: FinalResult) -> str:
    """What a look past the first says next to its numbers."""
    return (
        f"the holdout of {final.dataset} is no longer untouched: this is look {final.look} at "
        "it (asked for with again), so its raw p-values overstate the evidence; report the "
        f"adjusted ones (Holm over {final.family} looks)"
    )


def family_note(final: FinalResult) -> str:
    """What a first look says when its session looked at other holdouts too."""
    return (
        f"this session looked at {final.family} holdouts; each holdout p-value is adjusted "
        "(Holm) over all of them: report the adjusted ones"
    )


def _result(look: Look) -> FinalResult:
    return FinalResult.model_validate(look.result)
