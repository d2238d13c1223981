"""The conversation's memory: how a reply and the last trial become one whole configuration.

The property test at the end is the promise of the issue: a reply never silently changes a
field it did not mention.
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mltrainer.agent.bridge.memory import ConversationMemory, trial_fields
from mltrainer.agent.bridge.reading import read_reply
from mltrainer.agent.bridge.reply import NotDone, ParsedReply
from mltrainer.engine.features import DEFAULT_FEATURES
from mltrainer.engine.models import MODELS
from mltrainer.engine.trial import TrialConfig


def remembered(**config: Any) -> ConversationMemory:
    memory = ConversationMemory()
    memory.remember(TrialConfig(**config))
    return memory


def whole(config: TrialConfig | None) -> dict[str, Any]:
    assert config is not None
    return config.model_dump(mode="json")


def test_nothing_asked_is_no_trial_and_no_complaint():
    resolution = remembered(symbol="SPX").resolve(read_reply("Interesting. Let me think."))

    assert (resolution.config, resolution.not_done, resolution.missing) == (None, (), None)
    assert resolution.asked is False


def test_a_comment_on_the_last_trial_runs_nothing():
    memory = remembered(symbol="SPX", model="random_forest")

    resolution = memory.resolve(read_reply("The LSTM we tried before overfit badly."))

    assert (resolution.config, resolution.asked) == (None, False)


def test_an_instruction_without_a_symbol_and_no_memory_is_missing_one():
    resolution = ConversationMemory().resolve(read_reply("switch to SVM"))

    assert resolution.config is None
    assert resolution.missing == "no symbol was named, and no earlier trial to build on"


def test_the_replys_words_override_and_the_rest_carries_over():
    memory = remembered(symbol="SPX", model="lightgbm", lookback=40, seed=7)

    resolution = memory.resolve(read_reply("same on IXIC with a 10 day horizon"))

    assert whole(resolution.config) == whole(
        TrialConfig(symbol="IXIC", model="lightgbm", lookback=40, seed=7, horizon=10)
    )
    assert resolution.read == ("symbol", "horizon")
    assert resolution.carried is True


def test_a_runnable_reply_becomes_the_memory_and_a_refused_one_does_not():
    memory = remembered(symbol="SPX")

    memory.resolve(read_reply("retrain with a 0.7 ratio"))
    memory.resolve(read_reply("retrain with a 7.0 ratio"))

    assert memory.last is not None
    assert memory.last.train_ratio == 0.7


def test_on_a_switch_of_model_chosen_parameters_move_if_the_new_model_allows_them():
    memory = remembered(
        symbol="SPX", model="random_forest", params={"n_estimators": 300, "max_depth": 40}
    )

    resolution = memory.resolve(read_reply("switch to gradient boosting"))

    # max_depth 40 is beyond gradient boosting's 16: dropped and said, never clipped.
    assert resolution.config is not None
    assert resolution.config.params == {"n_estimators": 300}
    assert resolution.dropped == ("max_depth=40",)


def test_on_a_switch_of_model_the_old_models_defaults_do_not_move():
    # What ran is recorded with every default filled in; random forest's max_depth=6 default
    # must not become gradient boosting's max_depth.
    ran = TrialConfig(symbol="SPX", params=MODELS["random_forest"].validate_params({}))
    memory = ConversationMemory()
    memory.remember(ran)

    resolution = memory.resolve(read_reply("switch to gradient boosting"))

    assert resolution.config is not None
    assert (resolution.config.params, resolution.dropped) == ({}, ())


def test_dates_replace_the_last_n_days_and_the_other_way_round():
    memory = remembered(symbol="SPX", days=1000)

    by_dates = memory.resolve(read_reply("since 2010 instead"))
    by_days = memory.resolve(read_reply("the last 500 days instead"))

    assert by_dates.config is not None and by_days.config is not None
    assert (by_dates.config.days, by_dates.config.start) == (None, date(2010, 1, 1))
    assert "days" in by_dates.read
    assert (by_days.config.days, by_days.config.start) == (500, None)


def test_features_are_added_to_and_removed_from_the_last_trials():
    memory = remembered(symbol="SPX", features=["rsi", "momentum"])

    added = memory.resolve(read_reply("add volatility as a feature"))
    removed = memory.resolve(read_reply("drop momentum"))

    assert added.config is not None and removed.config is not None
    assert added.config.features == ["rsi", "momentum", "volatility"]
    assert removed.config.features == ["rsi", "volatility"]


def test_removing_a_feature_from_the_default_set_starts_from_the_default_set():
    resolution = remembered(symbol="SPX").resolve(read_reply("drop the volume ratio"))

    assert resolution.config is not None
    assert resolution.config.features == [f for f in DEFAULT_FEATURES if f != "volume_ratio"]


def test_removing_every_feature_is_not_done():
    resolution = remembered(symbol="SPX", features=["rsi"]).resolve(read_reply("drop rsi"))

    assert resolution.config is None
    assert resolution.not_done[0].why == "that leaves no features"


def test_a_symbol_the_reply_rules_out_is_not_carried_over():
    resolution = remembered(symbol="SPX").resolve(read_reply("do not train on SPX"))

    assert resolution.config is None
    assert resolution.not_done == (
        NotDone("symbol SPX", "you said not to use it, and named no other symbol"),
    )


def test_defaults_fill_in_what_neither_the_reply_nor_the_memory_says():
    memory = ConversationMemory()

    resolution = memory.resolve(read_reply("RF on SPX, seed 3"), {"seed": 9, "days": 800})

    assert resolution.config is not None
    assert (resolution.config.seed, resolution.config.days) == (3, 800)


def test_a_hand_made_reply_naming_an_unknown_model_is_not_done():
    resolution = ConversationMemory().resolve(ParsedReply(symbol="SPX", model="transformer"))

    assert resolution.config is None
    assert resolution.not_done[0].what == "model 'transformer'"


def test_trial_fields_keeps_only_trial_config_fields_in_json_form():
    assert trial_fields({"symbol": "SPX", "start": date(2010, 1, 1), "id": "x", "foo": 1}) == {
        "symbol": "SPX",
        "start": "2010-01-01",
    }


def test_memory_is_safe_to_share_between_threads():
    memory = remembered(symbol="SPX")
    replies = [read_reply(f"seed {n}") for n in range(40)]

    threads = [threading.Thread(target=memory.resolve, args=(reply,)) for reply in replies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert memory.last is not None
    assert memory.last.symbol == "SPX"
    assert memory.last.seed in range(40)


# --- a reply never silently changes a field it did not mention ---------------------------------

SYMBOLS = ["SPX", "IXIC", "MSFT", "AAPL", "QQQ"]
MODEL_WORDS = {
    "random_forest": "a random forest",
    "extra_trees": "extra trees",
    "gradient_boosting": "gradient boosting",
    "lightgbm": "LightGBM",
    "logistic_regression": "logistic regression",
    "svm": "an SVM",
    "knn": "k-NN",
    "naive_bayes": "naive Bayes",
    "mlp": "an MLP",
}
FILLER = [
    "",
    "Interesting result. ",
    "The baseline is hard to beat. ",
    "OK. ",
    "Markets are noisy, so let's be careful. ",
]


def _phrase(name: str, value: Any) -> str:
    """How a reply asks for one field (each in a way a person or an LLM would write it)."""
    return {
        "symbol": lambda: f"on {value}",
        "model": lambda: f"switch to {MODEL_WORDS[value]}",
        "train_ratio": lambda: f"with a {value} train ratio",
        "lookback": lambda: f"a {value} day lookback",
        "horizon": lambda: f"a {value} day horizon",
        "folds": lambda: f"{value} folds",
        "embargo": lambda: f"an embargo of {value}",
        "cost_bps": lambda: f"{value:g} bps costs",
        "seed": lambda: f"seed {value}",
        "days": lambda: f"using the last {value} days",
        "start": lambda: f"since {value[:4]}",
    }[name]()


FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "symbol": st.sampled_from(SYMBOLS),
    "model": st.sampled_from(sorted(MODEL_WORDS)),
    "train_ratio": st.sampled_from([0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]),
    "lookback": st.integers(2, 250),
    "horizon": st.integers(1, 20),
    "folds": st.integers(2, 20),
    "embargo": st.integers(0, 60),
    "cost_bps": st.sampled_from([0.5, 1.0, 2.0, 5.0, 10.0, 25.0]),
    "seed": st.integers(0, 10**6),
    "days": st.integers(100, 5000),
    "start": st.integers(1995, 2015).map(lambda year: f"{year}-01-01"),
}
WINDOW = {"start", "end", "days"}


@st.composite
def previous_configs(draw: st.DrawFn) -> dict[str, Any]:
    model = draw(st.sampled_from(sorted(MODEL_WORDS)))
    config: dict[str, Any] = {"symbol": draw(st.sampled_from(SYMBOLS)), "model": model}
    for name in ("train_ratio", "lookback", "horizon", "folds", "embargo", "cost_bps", "seed"):
        if draw(st.booleans()):
            config[name] = draw(FIELD_VALUES[name])
    window = draw(st.sampled_from(["none", "days", "start"]))
    if window != "none":
        config[window] = draw(FIELD_VALUES[window])
    if draw(st.booleans()):
        config["features"] = draw(
            st.lists(st.sampled_from(DEFAULT_FEATURES), min_size=1, max_size=4, unique=True)
        )
    spec = MODELS[model]
    numeric = [n for n, b in spec.params.items() if not b.choices and b.kind is int]
    if numeric and draw(st.booleans()):
        name = draw(st.sampled_from(numeric))
        bound = spec.params[name]
        low, high = int(bound.low or 0), int(min(bound.high or 100, 200))
        config["params"] = {name: draw(st.integers(low, high))}
    return TrialConfig(**config).model_dump(mode="json")


@st.composite
def replies(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(
        st.lists(st.sampled_from(sorted(FIELD_VALUES)), min_size=0, max_size=4, unique=True)
    )
    if "days" in names and "start" in names:
        names.remove("start")
    return {name: draw(FIELD_VALUES[name]) for name in names}


@settings(max_examples=150, deadline=None)
@given(
    previous=previous_configs(),
    asked=replies(),
    filler=st.sampled_from(FILLER),
    joiner=st.sampled_from([", ", " and ", "; "]),
)
def test_a_reply_never_silently_changes_a_field_it_did_not_mention(
    previous: dict[str, Any], asked: dict[str, Any], filler: str, joiner: str
):
    memory = ConversationMemory()
    memory.remember(TrialConfig(**previous))
    text = filler + (joiner.join(_phrase(n, v) for n, v in asked.items()) or "continue")

    resolution = memory.resolve(read_reply(text))

    assert resolution.not_done == (), text
    got = whole(resolution.config)
    for name, value in asked.items():
        assert got[name] == value, (text, name)
    said_window = WINDOW & set(asked)
    for name in previous:
        if name in asked or name == "params" or (name in WINDOW and said_window):
            continue
        assert got[name] == previous[name], (text, name)
    # Hyper-parameters: kept when the model stays; on a switch, what does not move is said.
    if got["model"] == previous["model"]:
        assert got["params"] == previous["params"], text
    else:
        spec = MODELS[previous["model"]]
        chosen = {k: v for k, v in previous["params"].items() if spec.params[k].default != v}
        moved = set(got["params"])
        dropped = {item.split("=")[0] for item in resolution.dropped}
        assert set(chosen) == moved | dropped, text
        assert all(got["params"][k] == chosen[k] for k in moved), text
