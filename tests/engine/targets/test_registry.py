"""The target registry: names and descriptions for the schema, implementations by name (given
as an object or as where to import it from), and clear refusals."""

from __future__ import annotations

import pytest

from mltrainer.engine.errors import ConfigError
from mltrainer.engine.targets import (
    get_target,
    register_target,
    target_descriptions,
    target_names,
)
from mltrainer.engine.targets.registry import cross_sectional
from tests.engine.targets.large_move import DESCRIPTION, LargeMove


def test_the_built_ins_are_registered_by_where_to_import_them_from():
    assert target_names() == ("direction", "return", "rank")
    assert target_descriptions() == {
        "direction": "whether the close `horizon` bars ahead is above today's (up or down)",
        "return": "the `horizon`-bar return a position taken now earns (a regression); trades "
        "its sign",
        "rank": "on each date, the stocks of `universe` ordered by their `horizon`-bar return "
        "(one pooled model); trades the top fifth against the bottom fifth",
    }


def test_only_rank_ranks_a_universe():
    assert [cross_sectional(name) for name in target_names()] == [False, False, True]
    assert cross_sectional("no_such_target") is False


def test_a_target_registered_as_an_object_is_returned_as_it_is(targets):
    target = LargeMove()

    register_target("large_move", target, description=DESCRIPTION)

    assert target_names() == ("direction", "return", "rank", "large_move")
    assert get_target("large_move") is target


def test_a_target_registered_by_import_path_is_loaded_once(large_move):
    first = get_target("large_move")

    assert isinstance(first, LargeMove)
    assert get_target("large_move") is first


def test_a_replaced_target_is_loaded_afresh(large_move):
    before = get_target("large_move")
    replacement = LargeMove()

    register_target("large_move", replacement, description=DESCRIPTION, replace=True)

    assert get_target("large_move") is replacement is not before


def test_a_taken_name_is_refused_unless_replaced(large_move):
    with pytest.raises(ValueError, match="a target called 'large_move' is already registered"):
        register_target("large_move", LargeMove(), description=DESCRIPTION)
    with pytest.raises(ValueError, match="a target called 'direction' is already registered"):
        register_target("direction", LargeMove(), description=DESCRIPTION)


def test_an_unknown_target_is_refused_naming_the_registered_ones(large_move):
    with pytest.raises(
        ConfigError, match="unknown target 'size'; targets are direction, return, rank, large_move"
    ):
        get_target("size")


@pytest.mark.parametrize(
    ("name", "implementation", "description", "error", "message"),
    [
        ("Large", LargeMove(), DESCRIPTION, ValueError, "target name 'Large' must be 2 to 32"),
        ("large", "tests.engine.targets.large_move", DESCRIPTION, ValueError, "not an import path"),
        ("large", object(), DESCRIPTION, TypeError, "must be a ResearchTarget or an import path"),
        ("large", LargeMove(), "  ", ValueError, "needs a description: say what it predicts"),
    ],
)
def test_a_bad_registration_is_refused(targets, name, implementation, description, error, message):
    with pytest.raises(error, match=message):
        register_target(name, implementation, description=description)

    assert target_names() == ("direction", "return", "rank")


def test_an_import_path_to_something_else_fails_when_loaded(targets):
    register_target("large", "tests.engine.targets.large_move:DESCRIPTION", description="x y")

    with pytest.raises(TypeError, match="is a str, not a ResearchTarget or a subclass of one"):
        get_target("large")
