"""The conduit between an LLM's free text and the engine, in both directions.

`MLAgentBridge` reads a reply written the way people and LLMs write (sentences, markdown,
bullets, `key: value` blocks, inline JSON) into a trial configuration, and turns an engine result
back into a short question that becomes the LLM's next user turn. Tool calls are validated by
the tools' own argument models; this text route is for replies that carry no calls.
"""

from __future__ import annotations

import math
import re
import unicodedata
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from mltrainer.engine.models import MODELS, PARAM_ALIASES, known_model_names, resolve_model
from mltrainer.engine.trial import TrialConfig
from mltrainer.prompts import load_text

ACTIONS = ("train", "backtest", "evaluate", "compare", "fetch", "finish")
TRIAL_SOURCES = frozenset({"auto", "sample", "synthetic", "polygon"})
SYMBOL_SHAPE = re.compile(r"[A-Z][A-Z0-9.\-]{0,9}")  # TrialConfig.symbol, upper case

# Only this much of a reply is read: an instruction longer than a short essay is not one.
MAX_TEXT_CHARS = 50_000
_FEEDBACK_WORDS = 85
_ERROR_CHARS = 240

_TRIAL_FIELDS = frozenset(TrialConfig.model_fields)
_TRIAL_LEVEL = (
    "train_ratio",
    "lookback",
    "horizon",
    "folds",
    "embargo",
    "cost_bps",
    "seed",
    "days",
)


# --- parameter names, kinds and spellings ------------------------------------------------------

_PARAM_KINDS: dict[str, type] = {
    "train_ratio": float,
    "lookback": int,
    "horizon": int,
    "folds": int,
    "embargo": int,
    "cost_bps": float,
    "seed": int,
    "days": int,
}
_PARAM_CHOICES: dict[str, tuple[str, ...]] = {}
for _spec in MODELS.values():
    for _name, _bound in _spec.params.items():
        _PARAM_KINDS.setdefault(_name, _bound.kind)
        if _bound.choices:
            _PARAM_CHOICES[_name] = tuple(str(choice) for choice in _bound.choices)

_KEY_ALIASES: dict[str, str] = {
    **PARAM_ALIASES,
    "random_state": "seed",
    "random_seed": "seed",
    "n_folds": "folds",
    "n_splits": "folds",
    "cv_folds": "folds",
    "cost": "cost_bps",
    "costs": "cost_bps",
    "transaction_cost": "cost_bps",
    "transaction_costs": "cost_bps",
    "fee_bps": "cost_bps",
    "window": "lookback",
    "window_size": "lookback",
    "lookback_window": "lookback",
    "lookback_days": "lookback",
    "seq_len": "lookback",
    "seq_length": "lookback",
    "sequence_length": "lookback",
    "train_size": "train_ratio",
    "train_split": "train_ratio",
    "training_ratio": "train_ratio",
    "train_fraction": "train_ratio",
    "prediction_horizon": "horizon",
    "forecast_horizon": "horizon",
    "n_epochs": "epochs",
    "num_epochs": "epochs",
    "n_trees": "n_estimators",
    "num_trees": "n_estimators",
    "hidden_units": "hidden_size",
    "n_layers": "num_layers",
    "layers": "num_layers",
}
_TEST_SIZE_KEYS = ("test_size", "test_ratio", "holdout")

_NUMBER = r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\d+"
_NUM = r"(?<![\w.])(?P<v>" + _NUMBER + r")"
_INT = r"(?<![\w.])(?P<v>\d+)(?!\d|\.\d)"
_PERCENT = r"\s*(?P<pct>%|percent\b|pct\b)"
_PCT = r"(?:" + _PERCENT + r")?"
# A connective between a parameter's name and its value; the optional word never starts with a
# space, so the two `\s*` cannot trade characters (no backtracking blow-up on long whitespace).
_SEP = r"\s*(?:(?:of|=|:=|:|to|is|at|around|about|set\s+to)\s*)?"
_SEPARATORS = re.compile(r"[\s_\-]+")
_SPACES_OR_HYPHENS = re.compile(r"[\s\-]+")
_PERIOD_IN_PARENS = re.compile(r"\((\d+)\)")
_FEATURE_SHAPE = re.compile(r"[A-Za-z][\w \-()]*")
_SERIES_SHAPE = re.compile(r"[A-Z][A-Z0-9]{1,19}")
_UNKNOWN_SERIES_SHAPE = re.compile(r"[A-Z][A-Z0-9]{2,19}")
_K_FOLD = re.compile(r"k_?fold")
_LETTERS = re.compile(r"[a-z]+")
_NUMERIC_TEXT = re.compile(r"\s*-?(?:" + _NUMBER + r")\s*%?\s*")


def _key_pattern(name: str) -> str:
    return re.escape(name).replace("_", r"[\s_\-]?")


_PARAM_KEYS = sorted(
    {*_PARAM_KINDS, *_KEY_ALIASES, *_TEST_SIZE_KEYS}, key=lambda key: (-len(key), key)
)
_KEY_VALUE = re.compile(
    r"(?<![A-Za-z0-9_\-])[\"']?(?P<key>"
    + "|".join(_key_pattern(key) for key in _PARAM_KEYS)
    + r")[\"']?[ \t]*(?::=|=|:)[ \t]*[\"']?"
    r"(?:(?P<v>-?(?:" + _NUMBER + r"))(?:[ \t]*(?P<pct>%))?|(?P<word>[A-Za-z]+))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _ParamPattern:
    name: str
    pattern: re.Pattern[str]
    complement: bool = False  # the number given is the test share; train_ratio is 1 minus it


def _pp(name: str, pattern: str, *, complement: bool = False, flags: int = re.I) -> _ParamPattern:
    return _ParamPattern(name, re.compile(pattern, flags), complement)


_DAYS = r"(?:trading[\s-]+)?(?:days?|bars?|sessions?|d)"
_SPLIT_PAIR = r"(?<![\w./])(?P<v>\d{1,2}(?:\.\d+)?)\s*[/:\-]\s*(?P<w>\d{1,2}(?:\.\d+)?)(?![\w/.])"
_NOT_A_RESULT = r"(?!\s+(?:accuracy|acc|score|error|loss|performance|results?|sharpe|returns?))"

# Natural-language spellings, tried only for names the explicit `key: value` forms did not set.
# Within one name the first pattern that matches anywhere wins.
_PARAM_PATTERNS: tuple[_ParamPattern, ...] = (
    _pp(
        "train_ratio",
        _NUM + _PERCENT + r"\s+(?:of\s+(?:the\s+)?(?:data\s+|sample\s+|history\s+|rows\s+)?)?"
        r"(?:for\s+|as\s+|in\s+)?(?:the\s+)?(?:train|training|in[\s-]sample)\b",
    ),
    _pp(
        "train_ratio",
        _SPLIT_PAIR + r"\s*(?:train(?:ing)?[\s/\-]*(?:test|testing|validation)?\s*)?"
        r"(?:split|ratio|division|partition)\b",
    ),
    _pp("train_ratio", r"\bsplit\s*(?:(?:of|=|:|ratio|at)\s*)?" + _SPLIT_PAIR),
    _pp(
        "train_ratio",
        r"\btrain(?:ing)?[\s_-]*(?:test[\s_-]*)?"
        r"(?:ratio|split|size|fraction|share|proportion|percentage|pct|set\s+size)"
        + _SEP
        + _NUM
        + _PCT,
    ),
    _pp(
        "train_ratio",
        r"\b(?:test|hold[\s-]?out)[\s_-]*(?:set\s+)?(?:size|ratio|fraction|share|split)"
        + _SEP
        + _NUM
        + _PCT,
        complement=True,
    ),
    _pp(
        "train_ratio",
        _NUM + _PERCENT + r"\s+(?:for\s+|as\s+)?(?:the\s+)?(?:test|testing|hold[\s-]?out|"
        r"out[\s-]of[\s-]sample)\b" + _NOT_A_RESULT,
        complement=True,
    ),
    _pp(
        "lookback",
        _INT + r"[\s-]*" + _DAYS + r"[\s-]+(?:(?:rolling|trailing)[\s-]+)?"
        r"(?:look[\s-]?back|window|history)\b",
    ),
    _pp("lookback", _INT + r"\s+(?:days?|bars?)\s+of\s+(?:price\s+)?history\b"),
    _pp(
        "lookback",
        r"\blook[\s_-]?back(?:[\s_-]+(?:window|period|length))?(?:[\s_-]+(?:size|length))?"
        + _SEP
        + r"(?:(?:the\s+)?(?:last|past)\s+)?"
        + _INT,
    ),
    _pp("lookback", r"\bsequence[\s_-]+length" + _SEP + _INT),
    _pp("lookback", r"\bwindow(?:[\s_-]+(?:size|length))?" + _SEP + _INT),
    _pp(
        "horizon",
        _INT + r"[\s-]*" + _DAYS + r"[\s-]+(?:(?:ahead|forward|forecast|prediction)[\s-]+)?"
        r"horizon\b",
    ),
    _pp("horizon", r"\bhorizon" + _SEP + _INT),
    _pp(
        "horizon",
        _INT + r"[\s-]*(?:trading[\s-]+)?(?:days?|bars?|sessions?|steps?|periods?)[\s-]+"
        r"(?:ahead|forward|out|into\s+the\s+future)\b",
    ),
    _pp(
        "folds",
        _INT + r"[\s-]*(?:(?:walk[\s-]*forward|cv|validation|time[\s-]series)[\s-]+)?folds?\b",
    ),
    _pp("folds", r"\b(?:n[\s_-]?|number\s+of\s+)?folds" + _SEP + _INT),
    _pp("cost_bps", _NUM + r"\s*(?:bps|bp|basis[\s-]+points?)\b"),
    _pp(
        "cost_bps",
        r"\b(?:transaction\s+|trading\s+|round[\s-]trip\s+)?(?:costs?|fees?|commissions?|slippage)"
        + _SEP
        + _NUM
        + _PCT,
    ),
    _pp(
        "seed",
        r"\b(?:random[\s_-]+)?seed(?:ed)?(?:[\s_-]+(?:value|number))?(?:\s+with)?" + _SEP + _INT,
    ),
    _pp("seed", r"\brandom[\s_-]?state" + _SEP + _INT),
    _pp("epochs", _INT + r"\s*epochs?\b"),
    _pp("epochs", r"\b(?:n[\s_-]?|num[\s_-]?|number\s+of\s+)?epochs?" + _SEP + _INT),
    _pp("learning_rate", r"\b(?:learning[\s_-]?rate|lr)" + _SEP + _NUM),
    _pp("learning_rate", _NUM + r"\s+(?:learning[\s_-]?rate|lr)\b"),
    _pp(
        "n_estimators",
        _INT + r"\s+(?:(?:decision|boosted|boosting)\s+)?(?:trees|estimators|boosting\s+rounds)\b",
    ),
    _pp(
        "n_estimators",
        r"\b(?:n[\s_-]?estimators|number\s+of\s+(?:trees|estimators|boosting\s+rounds))"
        + _SEP
        + _INT,
    ),
    _pp("max_depth", r"\bmax(?:imum)?[\s_-]*(?:tree[\s_-]+)?depth" + _SEP + _INT),
    _pp("max_depth", r"\b(?:tree\s+)?depth" + _SEP + _INT),
    _pp("C", r"(?<![\w.])C\s*(?:=|:|\bof\b)\s*" + _NUM, flags=0),
    _pp("n_neighbors", r"(?<![\w.\-])k\s*=\s*" + _INT),
    _pp("n_neighbors", _INT + r"\s+(?:nearest\s+)?neighbou?rs\b"),
    _pp("n_neighbors", r"\bn[\s_-]?neighbou?rs" + _SEP + _INT),
    _pp(
        "hidden_size",
        r"\bhidden(?:[\s_-]+(?:layer[\s_-]+)?(?:size|units|dim(?:ension)?s?|neurons))?"
        + _SEP
        + _INT,
    ),
    _pp("hidden_size", _INT + r"\s+(?:(?:hidden|lstm)\s+)?(?:units|neurons|cells)\b"),
    _pp(
        "num_layers",
        r"\b(?:num[\s_-]?|n[\s_-]?|number\s+of\s+)(?:(?:hidden|lstm)\s+)?layers" + _SEP + _INT,
    ),
    _pp("num_layers", _INT + r"[\s-]*(?:(?:hidden|lstm|stacked|recurrent)\s+)?layers?\b"),
    _pp("batch_size", r"\bbatch(?:[\s_-]?size)?" + _SEP + _INT),
    _pp("batch_size", r"\bbatches\s+of\s+" + _INT),
    _pp("dropout", r"\bdropout(?:[\s_-]+(?:rate|probability))?" + _SEP + _NUM + _PCT),
    _pp("dropout", _NUM + _PCT + r"\s+dropout\b"),
    _pp("num_leaves", r"\b(?:num[\s_-]?|number\s+of\s+)leaves" + _SEP + _INT),
    _pp("num_leaves", _INT + r"\s+leaves\b"),
    _pp("embargo", r"\bembargo" + _SEP + _INT),
    _pp("embargo", _INT + r"[\s-]*(?:(?:days?|bars?)[\s-]+)?embargo\b"),
    _pp("kernel", r"\b(?P<word>rbf|linear|poly|polynomial|sigmoid)\s+kernel\b"),
    _pp("weights", r"\b(?P<word>uniform|distance)[\s-]+weight(?:s|ed|ing)?\b"),
)

# A word each spelling of a parameter must contain: checked first, so the ~50 patterns above only
# run on text that could match them (parsing stays well under a millisecond per reply).
_PARAM_HINTS: dict[str, tuple[str, ...]] = {
    "train_ratio": ("train", "split", "ratio", "division", "partition", "test", "hold", "sample"),
    "lookback": ("look", "window", "history", "sequence"),
    "horizon": ("horizon", "ahead", "forward", "out", "future"),
    "folds": ("fold",),
    "cost_bps": ("bp", "basis", "cost", "fee", "commission", "slippage"),
    "seed": ("seed", "random"),
    "epochs": ("epoch",),
    "learning_rate": ("learning", "lr"),
    "n_estimators": ("tree", "estimator", "round"),
    "max_depth": ("depth",),
    "C": ("c",),
    "n_neighbors": ("k", "neighbo"),
    "hidden_size": ("hidden", "unit", "neuron", "cell"),
    "num_layers": ("layer",),
    "batch_size": ("batch",),
    "dropout": ("dropout",),
    "num_leaves": ("leaves",),
    "embargo": ("embargo",),
    "kernel": ("kernel",),
    "weights": ("weight",),
}

_STOP_LOSS = (
    re.compile(
        r"\bstop[\s_-]?loss(?:es)?(?:\s+(?:level|threshold|limit))?[\"']?"
        + _SEP
        + r"(?:at\s+)?"
        + _NUM
        + _PCT,
        re.I,
    ),
    re.compile(_NUM + _PERCENT + r"\s*(?:trailing\s+)?stop(?:[\s_-]?loss)?\b", re.I),
)


# --- words that are never tickers ---------------------------------------------------------------


def _words(block: str) -> list[str]:
    return block.split()


_COMMON_UPPER = """
A AN THE I ME MY WE US OUR YOU YOUR HE SHE IT ITS THEY THEM AND OR NOR NOT NO YES IF SO AS AT BY
TO OF ON IN INTO ONTO FOR FROM WITH WITHOUT UP DOWN OUT OFF OVER UNDER THEN THAN THAT THIS THESE
THOSE IS ARE WAS WERE BE BEEN AM DO DOES DID DONE HAS HAVE HAD CAN MAY MIGHT MUST WILL WOULD
SHALL SHOULD COULD ALL ANY SOME EACH BOTH EVERY NONE ONLY JUST ALSO VERY MORE MOST LESS LEAST
NEW OLD ONE TWO BIG TOP BEST GOOD BAD LET LETS OK OKAY HI HEY PLEASE NOTE NOTES TODO FIXME
WARNING CAUTION IMPORTANT TIP HINT UPDATE EDIT FYI ASAP TLDR TL DR IMO IMHO BTW FAQ ETA PS RE VS
ETC IE EG NB QED NEXT STEP STEPS PLAN GOAL FINAL ANSWER RESULT RESULTS SUMMARY CONCLUSION
ANALYSIS ACTION THOUGHT OBSERVATION REASONING RECOMMENDATION OPTION WHY HOW WHAT WHEN WHERE WHO
WHICH NOW HERE THERE TRUE FALSE NULL NAN NA NEVER ALWAYS STRONGLY AGAIN SAME WARN INFO DEBUG
TBD TBA WIP AKA DIY LOL RIP FWIW IIRC AFAIK
PM ET EST EDT CT CST PT PST UTC GMT USA UK EU EMEA APAC
USD EUR GBP JPY CNY CHF CAD AUD
NYSE NASDAQ AMEX CBOE CME LSE TSX OTC ARCA BATS
API APIS CPU GPU TPU RAM SSD JSON CSV TSV SQL HTML HTTP HTTPS URL URI ID IDS UI CLI SDK LLM
LLMS NLP AI ML DL RL IO OS PDF PNG MD YAML XML REST GPT MCP
RF SVM KNN MLP GBM NB AUC ROC PR F1 MSE RMSE MAE MAPE LR OLS PCA ICA SVD CNN RNN GRU LSTM TCN GAN
VAE ARIMA SARIMA GARCH VAR HMM XGB XGBOOST LGBM LGB CATBOOST ADABOOST CV OOS IS WF TP FP TN FN TPR
FPR ACC LOSS EPOCH EPOCHS SGD ADAM RELU SHAP LIME ENSEMBLE
RSI SMA EMA WMA MA MACD ATR OBV VWAP TWAP ADX CCI BB BOLL MFI KDJ DMI SAR TRIX PPO CMO STOCH MOM
OHLC OHLCV HLC HL VOL RET VIX
ETF ETFS ETN IPO CEO CFO CTO COO EPS PE PB PEG GDP CPI PPI PMI FOMC FED SEC FINRA FX NAV AUM YTD
QTD MTD EOD EOM PNL ROI ROE ROA CAGR IRR NPV BPS BP ATH ATL DCF EBIT EBITDA REIT ADR ESG HFT
CVAR MDD DD SR IR SL FRED BLS BEA ECB BOE BOJ IMF OPEC SPAC LBO
BUY SELL HOLD LONG SHORT FLAT CALL PUT BULL BEAR BULLISH BEARISH OPEN HIGH LOW CLOSE VOLUME ADJ
RETURN RETURNS PRICE PRICES STOCK STOCKS DATA MODEL MODELS TRAIN TEST TRAINING TESTING
VALIDATION SPLIT RATIO FEATURES FEATURE SYMBOL TICKER MARKET INDEX SIGNAL TREND DAY DAYS WEEK
MONTH YEAR DAILY WEEKLY REAL SYNTHETIC SAMPLE POLYGON MASSIVE YAHOO ACCURACY PRECISION RECALL
SHARPE SORTINO CALMAR DRAWDOWN BASELINE PASS FAIL FAILED SUCCESS ERROR STATUS CONFIG PARAMS
DEFAULT LOOKBACK HORIZON FOLDS SEED WALK FORWARD PURGED EMBARGO STOP BACKTEST COMPARE FETCH
FINISH EVALUATE
II III IV VI VII VIII IX XI XII FY
"""

# FRED series ids: macro features, never the symbol traded.
FRED_SERIES = frozenset(
    _words(
        """
        DGS1 DGS2 DGS5 DGS7 DGS10 DGS20 DGS30 DGS3MO DGS6MO DTB3 DTB6 TB3MS FEDFUNDS DFF T10Y2Y
        T10Y3M T10YIE VIXCLS UNRATE CPIAUCSL CPILFESL PCEPI PCEPILFE GDP GDPC1 INDPRO PAYEMS ICSA
        UMCSENT HOUST M2SL DCOILWTICO DCOILBRENTEU DTWEXBGS DEXUSEU DEXJPUS BAMLH0A0HYM2
        BAMLC0A0CM NFCI STLFSI4 WALCL MORTGAGE30US RSAFS GS10 GS2 AAA BAA
        """
    )
)

_MODEL_WORDS = {
    variant
    for alias in known_model_names()
    for variant in (*alias.upper().split(), alias.upper().replace(" ", ""))
}
_NOT_TICKERS = frozenset(_words(_COMMON_UPPER)) | _MODEL_WORDS | FRED_SERIES
_NUMBERED_NON_TICKER = re.compile(
    r"^(?:[A-Z]|SMA|EMA|WMA|MA|RSI|MACD|ATR|ROC|MOM|BB|ADX|CCI|MFI|OBV|VOL|RET|LAG|GPT|FY|PCA|LR)"
    r"\d+[A-Z]?$"
)
# Words that follow a bare "symbol"/"ticker" cue without being one.
_CUE_WORDS = frozenset(
    _words(
        """
        a an the is of for and or in on at by to it its this that these those which we you i be
        as from with was are list lookup name names data value info here below above first next
        same symbol symbols ticker tickers price prices stock stocks market table field column
        only
        """
    )
)


# --- symbol patterns ----------------------------------------------------------------------------

_TICKER = r"[A-Z][A-Z0-9]{0,6}(?:[.\-][A-Z0-9]{1,2})?"
_TICKER_ANY_CASE = r"[A-Za-z][A-Za-z0-9]{0,6}(?:[.\-][A-Za-z0-9]{1,2})?"
_END = r"(?![A-Za-z0-9_&])"
_START = r"(?<![A-Za-z0-9_$.\-^&])"

_SYMBOL_KEY = re.compile(
    r"(?i:\b(?:ticker[\s_-]+symbol|symbol|ticker|stock|asset|instrument|security|underlying)s?)"
    r"[\"']?[ \t]*(?::=|=|:)[ \t]*[\"'$]?(?P<s>" + _TICKER_ANY_CASE + r")" + _END
)
_SYMBOL_NAMED = re.compile(
    r"(?i:\b(?:ticker[\s_-]+symbol|ticker|symbol)[ \t]+(?:is[ \t]+|=[ \t]*)?)"
    r"[\"'$]?(?P<s>" + _TICKER_ANY_CASE + r")" + _END
)
_SYMBOL_DOLLAR = re.compile(r"(?<![A-Za-z0-9_])\$(?P<s>" + _TICKER_ANY_CASE + r")" + _END)
_SYMBOL_CUED = re.compile(
    r"(?i:\b(?:on|for|of|in|with|using|to|about|into|trade|trading|buy|buying|sell|selling|"
    r"short|shorting|long|predict|predicting|forecast|forecasting|model|modeling|modelling|"
    r"analy[sz]e|analy[sz]ing|try|pick|choose)\s+(?:the\s+)?)"
    r"(?P<s>" + _TICKER + r")" + _END
)
_SYMBOL_SUFFIXED = re.compile(
    _START + r"(?P<s>" + _TICKER + r")" + _END + r"(?:'s)?"
    r"(?i:\s+(?:stock|shares|equity|data|prices?|bars|returns|ticker|index|daily|ohlcv|closes?|"
    r"candles|options)\b)"
)
_SYMBOL_BARE = re.compile(_START + r"(?P<s>" + _TICKER + r")" + _END)
_INDEX_NAMES = (
    (
        re.compile(r"(?<![A-Za-z0-9])S\s*&\s*P(?:\s*500)?(?![A-Za-z0-9])|\bSP[\s-]?500\b", re.I),
        "SPX",
    ),
    (re.compile(r"\bnasdaq[\s-]+composite\b", re.I), "IXIC"),
)
_SYMBOL_NEGATED = re.compile(
    r"\b(?:instead\s+of|rather\s+than|than|switch(?:ing)?\s+from|mov(?:e|ing)\s+from|away\s+from|"
    r"except|excluding|not)\s+(?:the\s+)?\$?$",
    re.I,
)
_UPPER_WORD = re.compile(r"\b[A-Z]{2,}\b")
_ANY_WORD = re.compile(r"\b[A-Za-z]{2,}\b")


# --- model patterns -----------------------------------------------------------------------------


def _alias_pattern(alias: str) -> str:
    return r"[\s_\-]*".join(re.escape(word) for word in alias.split())


def _squash(text: str) -> str:
    return _SEPARATORS.sub("", text.lower())


# The registry's phrases with separators dropped, so "RandomForest" and "k-NN" resolve too.
_MODEL_BY_SQUASHED = {_squash(name): resolve_model(name).name for name in known_model_names()}

_MODEL_MENTION = re.compile(
    r"(?<![A-Za-z0-9])(?P<alias>"
    + "|".join(_alias_pattern(alias) for alias in known_model_names())
    + r")(?P<plural>e?s)?(?![A-Za-z0-9])",
    re.I,
)
# Aliases that are also ordinary words or abbreviations: they count only in a model-like context.
_WEAK_ALIASES = frozenset({"tree", "boosting", "logistic", "recurrent", "bayes", "perceptron"})
_UPPERCASE_ONLY_ALIASES = frozenset({"et", "dt", "gb", "nb", "nn", "cart"})
_WEAK_FOLLOWERS = re.compile(
    r"[\s_\-]*(?:of\s+)?(?:based|depth|size|count|rounds?|iterations?|leaves|leaf|levels?|nodes?|"
    r"structure|accuracy|performance|returns?|sharpe|results?|scores?|al)\b|\s*:",
    re.I,
)
_AFTER_NUMBER = re.compile(r"(?:\d|[ap]\.?m\.?)\s*-?\s*$", re.I)
_MODEL_KEY = re.compile(
    r"(?i:\b(?:model|algorithm|estimator|classifier)(?:[\s_-]+(?:name|type))?s?)"
    r"[\"']?[ \t]*(?::=|=|:)[ \t]*[\"']?(?P<value>[^\"'\n,;{}()\[\]]{1,60})"
)
_MODEL_VERB = re.compile(
    r"\b(?:train|retrain|training|try|trying|use|using|fit|fitting|run|running|"
    r"switch(?:ing)?\s+to|mov(?:e|ing)\s+to|go(?:ing)?\s+with|test|testing|build|deploy|pick|"
    r"choose|start\s+with|recommend|suggest|propose|prefer|next)\b(?:\s+\S+){0,3}?\s*$",
    re.I,
)
_MODEL_NEGATED = re.compile(
    r"\b(?:instead\s+of|rather\s+than|than|over|from|not|no|without|drop|dropping|abandon|"
    r"abandoning|replace|replacing|unlike|versus|vs\.?)\s+"
    r"(?:(?:the|a|an|our|my|this|that)\s+)?$",
    re.I,
)
_SENTENCE_BREAK = re.compile(r"[.!?;](?:\s|$)|\n")


# --- the extended patterns: data source, features, macro, validation, action ------------------

_SOURCE_NAMES = {
    "sample": "sample",
    "offline": "sample",
    "bundled": "sample",
    "builtin": "sample",
    "demo": "sample",
    "synthetic": "synthetic",
    "simulated": "synthetic",
    "generated": "synthetic",
    "fake": "synthetic",
    "random": "synthetic",
    "polygon": "polygon",
    "massive": "polygon",
    "live": "polygon",
    "real": "auto",
    "auto": "auto",
    "fred": "fred",
    "yahoo": "yahoo",
    "yfinance": "yfinance",
    "alpaca": "alpaca",
}
_SOURCE_WORD = "|".join(sorted(_SOURCE_NAMES, key=len, reverse=True))
_DATA_SOURCE_PATTERNS = (
    re.compile(
        r"\bdata[\s_-]?source[\"']?(?:\s*(?::=|=|:)\s*|\s+(?:is\s+|=\s*)?)[\"']?(?P<src>[A-Za-z]\w*)",
        re.I,
    ),
    re.compile(
        r"\b(?:source|provider)[\"']?[ \t]*(?::=|=|:)[ \t]*[\"']?(?P<src>[A-Za-z]\w*)", re.I
    ),
    re.compile(r"\bdata[\"']?[ \t]*(?::=|=|:)[ \t]*[\"']?(?P<src>" + _SOURCE_WORD + r")\b", re.I),
    re.compile(
        r"\b(?:use|using|fetch|get|pull|load|download|take|grab)\s+(?:the\s+)?(?:[a-z]+\s+){0,2}?"
        r"data\s+from\s+(?:the\s+)?(?P<src>[A-Za-z]\w*)",
        re.I,
    ),
    re.compile(
        r"\b(?:use|using|with|on|try|fetch|get|pull|load|switch\s+to|move\s+to|from)\s+"
        r"(?:the\s+|some\s+)?(?P<src>" + _SOURCE_WORD + r")\s+(?:price\s+|market\s+)?data\b",
        re.I,
    ),
    re.compile(r"\bdata\s+from\s+(?:the\s+)?(?P<src>[A-Za-z]\w*)", re.I),
    re.compile(r"\b(?:from|via|through)\s+(?:the\s+)?(?P<src>polygon|massive|fred|yahoo)\b", re.I),
)

_LIST_SPLIT = re.compile(r"\s*(?:,|;|\band\b|&|\+|/)\s*", re.I)
_FEATURE_PATTERNS = (
    re.compile(
        r"\bfeatures?(?:[\s_-]+(?:set|list))?[\"']?\s*(?::=|=|:)?\s*\[(?P<items>[^\]\n]{0,500})\]",
        re.I,
    ),
    re.compile(
        r"\bfeatures?(?:[\s_-]+(?:set|list))?[\"']?[ \t]*(?::=|=|:)[ \t]*"
        r"(?P<items>[^\n\[\]{};]{1,300})",
        re.I,
    ),
    re.compile(
        r"\b(?:add|adding|include|including|use|using|plus|with)\s+(?:the\s+)?"
        r"(?P<items>[\w,&+\- \t]{1,200}?)\s+as\s+(?:an?\s+)?"
        r"(?:(?:extra|new|additional|macro|input|exogenous)\s+)?"
        r"(?:features?|inputs?|predictors?|regressors?)\b",
        re.I,
    ),
    re.compile(
        r"\b(?:with|using|add|adding)\s+(?:the\s+)?features?\s+"
        r"(?P<items>[A-Za-z0-9_]+(?:\s*(?:,|\band\b|&)\s*[A-Za-z0-9_]+)*)",
        re.I,
    ),
)
_SERIES_ID = r"[A-Z][A-Z0-9]{1,19}" + _END
_SERIES_LIST = _SERIES_ID + r"(?:\s*(?:,|(?i:and)|&|\+)\s*" + _SERIES_ID + r")*"
_MACRO_PATTERNS = (
    re.compile(
        r"(?i:\b(?:macro|fred)(?:[\s_-]+(?:features?|series|ids?|data|variables?|indicators?))?)"
        r"[\"']?[ \t]*(?::=|=|:)[ \t]*\[?(?P<items>[^\n\]]{1,300})"
    ),
    re.compile(
        r"(?i:\b(?:macro|fred|exogenous)(?:\s+(?:features?|series|data|variables?|indicators?))?"
        r"\s+(?:(?:like|such\s+as|including|ids?)\s+)?)(?P<items>" + _SERIES_LIST + r")"
    ),
    re.compile(
        r"(?<![A-Za-z0-9_])(?P<items>" + _SERIES_LIST + r")"
        r"(?i:\s+(?:as\s+(?:an?\s+)?)?(?:macro|fred|exogenous)\b)"
    ),
)
_VALIDATION_NAME = (
    r"walk[\s_-]*forward|purged(?:[\s_-]*k[\s_-]*fold)?|combinatorial(?:[\s_-]*purged)?|"
    r"expanding(?:[\s_-]*window)?|rolling(?:[\s_-]*window)?|anchored|"
    r"time[\s_-]*series(?:[\s_-]*split)?|k[\s_-]*fold|hold[\s_-]*out|cross[\s_-]*validation"
)
_VALIDATION_PATTERNS = (
    re.compile(
        r"\bvalidation(?:[\s_-]+(?:strategy|scheme|method))?[\"']?\s*(?::=|=|:)\s*[\"']?"
        r"(?P<name>" + _VALIDATION_NAME + r"|[A-Za-z][\w\-]*)",
        re.I,
    ),
    re.compile(r"\buse\s+(?P<name>" + _VALIDATION_NAME + r"|[A-Za-z][\w\-]*)\s+validation\b", re.I),
    re.compile(
        r"\b(?P<name>" + _VALIDATION_NAME + r")(?:[\s_-]*(?:cross[\s_-]*)?"
        r"(?:validation|cv|splits?|scheme|folds?|testing|analysis))?\b",
        re.I,
    ),
)
# Names that mean a validation scheme even without the word "validation" after them.
_VALIDATION_ALONE = re.compile(
    r"walk|purged|combinatorial|time[\s_-]*series[\s_-]*split|cross[\s_-]*validation", re.I
)

_ACTION_MENTION = re.compile(
    r"(?P<finish>\b(?:let'?s|let\s+us|we\s+can|we\s+should|i\s+will|i'?ll|i'?d\s+like\s+to|"
    r"i\s+would\s+like\s+to|time\s+to|ready\s+to|going\s+to)\s+(?:now\s+)?"
    r"(?:finish|conclude|wrap\s+up|stop|end)\b|\b(?:we'?re|we\s+are|i'?m|i\s+am)\s+(?:all\s+)?"
    r"done\b|\bthat'?s\s+all\b|\bfinal\s+(?:report|summary|answer)\b|"
    r"\bfinish(?:ing)?\s+(?:the\s+)?(?:session|research|study|here|now)\b|"
    r"\bcall\s+(?:the\s+)?finish\b|\b(?:in|my|final)\s+conclusion\b|\bto\s+conclude\b|"
    r"^\s*conclusion\s*:)"
    r"|(?P<backtest>\bback[\s-]?test(?:s|ed|ing)?\b)"
    r"|(?P<compare>\bcompar(?:e|ing)\b(?!\s+(?:to|with|against)\b)|"
    r"\brank\s+(?:the\s+)?(?:trials|models)\b)"
    r"|(?P<evaluate>\b(?:evaluat(?:e|ing)|assess(?:ing)?)\b)"
    r"|(?P<fetch>\b(?:fetch(?:es|ed|ing)?|download(?:s|ed|ing)?)\b|"
    r"\b(?:pull|load|get|grab)\s+(?:(?:the|some)\s+)?(?:[a-z]+\s+)?(?:data|prices|bars)\b)"
    r"|(?P<train>\b(?:re)?train(?:s|ed|ing)?\b(?![\s_/-]*(?:ratio|split|size|set|data|period|"
    r"window|fraction|share|portion|accuracy|score|test|/)))",
    re.I,
)
_ACTION_KEY = re.compile(
    r"\b(?:action|next[\s_-]+(?:action|step))[\"']?\s*(?::=|=|:)\s*[\"']?(?P<value>[^\"'\n,;]{1,40})",
    re.I,
)

_QUOTES = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"}
)
_MARKDOWN = re.compile(r"[*`|]|^[ \t]*#{1,6}[ \t]*|^[ \t]*>[ \t]?", re.M)


# --- reading ------------------------------------------------------------------------------------


def _clean(text: str) -> str:
    """Plain text: no accents, straight quotes, no markdown emphasis, headers or table bars."""
    text = unicodedata.normalize("NFKC", text[:MAX_TEXT_CHARS]).translate(_QUOTES)
    decomposed = unicodedata.normalize("NFD", text)
    text = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _MARKDOWN.sub(" ", text)


def _sentence_prefix(text: str, start: int, width: int = 80) -> str:
    prefix = text[max(0, start - width) : start]
    breaks = list(_SENTENCE_BREAK.finditer(prefix))
    return prefix[breaks[-1].end() :] if breaks else prefix


def _number(raw: str) -> float | None:
    try:
        value = float(raw)
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def _as_kind(name: str, value: float) -> int | float:
    if _PARAM_KINDS.get(name) is int and value.is_integer():
        return int(value)
    return value


def _scaled(name: str, value: float, percent: bool, *, complement: bool = False) -> int | float:
    """A parsed number in the unit the engine expects for `name`."""
    if name in ("train_ratio", "dropout"):
        if percent or value > 1:
            value /= 100
        if complement:
            value = 1 - value
        return round(value, 6)
    if name == "cost_bps" and percent:
        return round(value * 100, 6)
    return _as_kind(name, value)


def _canonical_param(key: str) -> str:
    normal = _SPACES_OR_HYPHENS.sub("_", key.strip().lower())
    if key.strip() == "C" or normal == "c":
        return "C"
    if normal in _TEST_SIZE_KEYS:
        return normal
    return _KEY_ALIASES.get(normal, normal)


def _explicit_parameters(text: str) -> dict[str, Any]:
    """`name: value` and `name=value` pairs, wherever they appear (lines, sentences, JSON)."""
    found: dict[str, Any] = {}
    for match in _KEY_VALUE.finditer(text):
        name = _canonical_param(match["key"])
        if match["word"] is not None:
            word = match["word"].lower()
            if word in _PARAM_CHOICES.get(name, ()) and name not in found:
                found[name] = word
            continue
        value = _number(match["v"])
        if value is None:
            continue
        complement = name in _TEST_SIZE_KEYS
        if complement:
            name = "train_ratio"
        if name in found or name not in _PARAM_KINDS:
            continue
        found[name] = _scaled(name, value, bool(match["pct"]), complement=complement)
    return found


def _natural_parameters(text: str, known: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    lowered = text.lower()
    for spec in _PARAM_PATTERNS:
        if spec.name in known or spec.name in found:
            continue
        if not any(hint in lowered for hint in _PARAM_HINTS[spec.name]):
            continue
        for match in spec.pattern.finditer(text):
            groups = match.groupdict()
            if groups.get("word"):
                word = groups["word"].lower()
                found[spec.name] = "poly" if word == "polynomial" else word
                break
            value = _number(groups["v"])
            if value is None:
                continue
            if groups.get("w") is not None:
                other = _number(groups["w"])
                if other is None or abs(value + other - 100) > 1e-6:
                    continue
                value /= 100
            found[spec.name] = _scaled(
                spec.name, value, bool(groups.get("pct")), complement=spec.complement
            )
            break
    return found


def extract_parameters(text: str) -> dict[str, Any]:
    """Trial-level settings and model hyper-parameters, keyed by their engine names."""
    explicit = _explicit_parameters(text)
    return {**explicit, **_natural_parameters(text, explicit)}


_LIST_LEAD = re.compile(r"\b(?:add|adding|include|including|use|using|with|plus|the)\b", re.I)


def _split_items(raw: str) -> list[str]:
    """Names in a list like "rsi, sma_20 and volume ratio"; phrases longer than 3 words are not."""
    raw = _LIST_LEAD.split(raw)[-1]
    items = []
    for item in _LIST_SPLIT.split(raw):
        item = item.strip().strip("\"'.:!?()[]{} \t")
        if item and len(item) <= 40 and len(item.split()) <= 3:
            items.append(item)
    return items[:30]


def _looks_like_series(item: str) -> bool:
    return item in FRED_SERIES or (
        _UNKNOWN_SERIES_SHAPE.fullmatch(item) is not None and item not in _NOT_TICKERS
    )


def _feature_name(item: str) -> str:
    item = _PERIOD_IN_PARENS.sub(r"_\1", item.lower())
    return _SPACES_OR_HYPHENS.sub("_", item).strip("_")


def extract_features_and_macro(text: str) -> tuple[list[str], list[str]]:
    """Feature names asked for, and FRED series ids to join as macro features."""
    features: list[str] = []
    macro: list[str] = []
    for pattern in _FEATURE_PATTERNS:
        for match in pattern.finditer(text):
            for item in _split_items(match["items"]):
                if _looks_like_series(item):
                    macro.append(item)
                elif _FEATURE_SHAPE.fullmatch(item):
                    features.append(_feature_name(item))
        if features or macro:
            break
    for pattern in _MACRO_PATTERNS:
        for match in pattern.finditer(text):
            for item in _split_items(match["items"]):
                series = item.upper()
                if _SERIES_SHAPE.fullmatch(series) and (
                    series in FRED_SERIES or series not in _NOT_TICKERS
                ):
                    macro.append(series)
    return list(dict.fromkeys(features)), list(dict.fromkeys(macro))


def _shouting(text: str) -> bool:
    upper = len(_UPPER_WORD.findall(text))
    total = len(_ANY_WORD.findall(text))
    return total >= 4 and upper > 0.6 * total


def _symbol_candidates(text: str, excluded: set[str]) -> Iterator[tuple[int, int, str]]:
    """(tier, position, symbol): explicit keys, then $cashtags, then cued tokens, then bare ones."""

    def usable(token: str, *, any_case: bool = False) -> bool:
        if any_case and token.lower() in _CUE_WORDS:
            return False
        upper = token.upper()
        if upper in excluded or upper in FRED_SERIES:
            return False
        return any_case or (upper not in _NOT_TICKERS and not _NUMBERED_NON_TICKER.match(upper))

    for match in _SYMBOL_KEY.finditer(text):
        if usable(match["s"], any_case=True) and match["s"].upper() not in _MODEL_WORDS:
            yield 0, match.start(), match["s"].upper()
    for match in _SYMBOL_NAMED.finditer(text):
        token = match["s"]
        short_or_upper = token.isupper() or len(token) <= 5
        if short_or_upper and usable(token, any_case=True) and token.upper() not in _NOT_TICKERS:
            yield 0, match.start(), token.upper()
    for match in _SYMBOL_DOLLAR.finditer(text):
        if match["s"].upper() not in excluded:
            yield 1, match.start(), match["s"].upper()
    for pattern, symbol in _INDEX_NAMES:
        for match in pattern.finditer(text):
            yield 2, match.start(), symbol
    shouting = _shouting(text)
    for tier, pattern in ((2, _SYMBOL_CUED), (2, _SYMBOL_SUFFIXED), (3, _SYMBOL_BARE)):
        if tier == 3 and shouting:
            continue
        for match in pattern.finditer(text):
            token = match["s"]
            if not usable(token) or (tier == 3 and len(token) < 2):
                continue
            start = match.start("s")
            negated = _SYMBOL_NEGATED.search(_sentence_prefix(text, start)) is not None
            yield (4 if negated else tier), start, token


def extract_symbol(text: str, excluded: set[str] | None = None) -> str | None:
    """The ticker the text is about, or None; words that only look like tickers never count."""
    best = min(_symbol_candidates(text, excluded or set()), default=None)
    if best is None:
        return None
    symbol = best[2]
    return symbol if SYMBOL_SHAPE.fullmatch(symbol) else None


def _model_in(value: str) -> str | None:
    squashed = _squash(value)
    if squashed in _MODEL_BY_SQUASHED:
        return _MODEL_BY_SQUASHED[squashed]
    match = _MODEL_MENTION.search(value)
    return _MODEL_BY_SQUASHED.get(_squash(match["alias"])) if match else None


def _model_candidates(text: str) -> Iterator[tuple[int, int, str]]:
    """(tier, position, model): `model:` keys, then directed mentions, bare, then negated ones."""
    for match in _MODEL_KEY.finditer(text):
        model = _model_in(match["value"])
        if model is not None:
            yield 0, match.start(), model
    for match in _MODEL_MENTION.finditer(text):
        alias = match["alias"]
        key = _squash(alias)
        model = _MODEL_BY_SQUASHED.get(key)
        if model is None:
            continue
        prefix = _sentence_prefix(text, match.start())
        if key in _UPPERCASE_ONLY_ALIASES or key in _WEAK_ALIASES:
            if key in _UPPERCASE_ONLY_ALIASES and not alias.isupper():
                continue
            if (
                match["plural"]
                or _AFTER_NUMBER.search(prefix)
                or _WEAK_FOLLOWERS.match(text, match.end())
            ):
                continue
        if _MODEL_NEGATED.search(prefix):
            yield 3, match.start(), model
        elif _MODEL_VERB.search(prefix):
            yield 1, match.start(), model
        else:
            yield 2, match.start(), model


def extract_model(text: str) -> str | None:
    """Canonical registry name of the model the text asks for, or None."""
    best = min(_model_candidates(text), default=None)
    return best[2] if best else None


def extract_data_source(text: str) -> str | None:
    for pattern in _DATA_SOURCE_PATTERNS:
        for match in pattern.finditer(text):
            raw = match["src"]
            name = _SOURCE_NAMES.get(raw.lower())
            if name is not None:
                return name
            if raw.islower() and raw not in _CUE_WORDS and not raw.isdigit():
                return raw
    return None


def extract_validation(text: str) -> str | None:
    for index, pattern in enumerate(_VALIDATION_PATTERNS):
        for match in pattern.finditer(text):
            name = match["name"]
            bare = index == 2 and match.end("name") == match.end()
            if bare and not _VALIDATION_ALONE.match(name):
                continue
            if name.lower() in _CUE_WORDS:
                continue
            normal = _SPACES_OR_HYPHENS.sub("_", name.lower())
            return _K_FOLD.sub("kfold", normal)
    return None


def extract_stop_loss(text: str) -> float | None:
    for pattern in _STOP_LOSS:
        match = pattern.search(text)
        if match:
            value = _number(match["v"])
            if value is None:
                continue
            return round(value / 100 if match["pct"] or value >= 1 else value, 6)
    return None


def extract_action(text: str) -> str | None:
    for match in _ACTION_KEY.finditer(text):
        value = match["value"]
        named = _ACTION_MENTION.search(value)
        if named and named.lastgroup:
            return named.lastgroup
        word = _LETTERS.match(value.strip().lower())
        if word and word[0] in ACTIONS:
            return word[0]
    mention = _ACTION_MENTION.search(text)
    return mention.lastgroup if mention else None


# --- feedback -----------------------------------------------------------------------------------


@cache
def _templates() -> dict[str, str]:
    """`## name` sections of prompts/feedback.md, each body joined into one line."""
    sections: dict[str, str] = {}
    name: str | None = None
    lines: list[str] = []
    for line in [*load_text("feedback.md").splitlines(), "## "]:
        if line.startswith("## "):
            if name:
                sections[name] = " ".join(part.strip() for part in lines if part.strip())
            name, lines = line[3:].strip(), []
        elif name:
            lines.append(line)
    return sections


def _lookup(data: Mapping[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _real(value: Any) -> float | None:
    """A finite number from a number or a numeric string ("0.87", "87%"); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number: float | None = float(value)
    elif isinstance(value, str) and _NUMERIC_TEXT.fullmatch(value):
        text = value.strip()
        number = _number(text.rstrip("%").strip())
        if number is not None and text.endswith("%"):
            number /= 100
    else:
        return None
    return number if number is not None and math.isfinite(number) else None


def _percent(value: float) -> str:
    return f"{value * 100 if abs(value) <= 1 else value:.1f}%"


def _placeholders(value: float) -> dict[str, str]:
    return {
        "pct": _percent(value),
        "num": f"{value:.2f}",
        "int": f"{value:.0f}",
        "pts": f"{value * 100 if abs(value) <= 1 else value:.1f}",
    }


def _fill(name: str, values: Mapping[str, Any]) -> str:
    """Template `name` filled in; empty when the template is missing or a value is."""
    template = _templates().get(name, "")
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return ""


def _label(value: Any, limit: int = 40) -> str | None:
    if value is None or isinstance(value, Mapping | list | tuple | set):
        return None
    text = " ".join(str(value).split())
    return text[:limit] or None


def _shorten(text: str, words: int) -> str:
    parts = text.split()
    return text if len(parts) <= words else " ".join(parts[:words]) + " ..."


def _is_error(data: Mapping[str, Any]) -> bool:
    status = str(data.get("status", "")).lower()
    return status in ("error", "failed", "failure") or (
        bool(data.get("error"))
        and _real(data.get("selection_accuracy", data.get("test_accuracy", data.get("accuracy"))))
        is None
    )


def _error_feedback(data: Mapping[str, Any]) -> str:
    message = _label(data.get("error") or data.get("message") or data.get("detail"), _ERROR_CHARS)
    values = {
        "error": _shorten(message or "no error message was given", 40).rstrip(". "),
        "error_type": _label(data.get("error_type")) or "",
    }
    head = _fill("error_typed" if values["error_type"] else "error", values)
    return " ".join(part for part in (head, _fill("error_question", values)) if part)


def _trial_feedback(data: Mapping[str, Any]) -> list[str]:
    """The sentences for a (possibly partial) trial result, in the order the templates give."""
    parts: list[str] = []
    label = str(data.get("data_label", "")).upper()
    if data.get("synthetic") is True or label == "SYNTHETIC DATA":
        parts.append(_fill("synthetic", {}))
    elif label == "CALLER DATA":
        parts.append(_fill("caller_data", {}))

    model = _label(data.get("model")) or _label(_lookup(data, "config.model"))
    symbol = _label(data.get("symbol")) or _label(_lookup(data, "config.symbol"))
    if model and symbol:
        subject = _fill("subject", {"model": model, "symbol": symbol})
    else:
        subject = _fill("subject_alone", {"name": model or symbol}) if model or symbol else ""
    metrics = []
    for name in _templates():
        if name == "metric test_accuracy" and "selection_accuracy" in data:
            continue  # the seed's name for the same number
        if name.startswith("metric "):
            value = _real(_lookup(data, name.removeprefix("metric ")))
            if value is not None:
                metrics.append(_fill(name, _placeholders(value)))
    listed = ", ".join(metric for metric in metrics if metric)
    if listed:
        parts.append(f"{subject}: {listed}." if subject else f"{listed[0].upper()}{listed[1:]}.")
    headline_at = len(parts)

    p_value = _real(_lookup(data, "baselines.p_value"))
    best = _real(_lookup(data, "baselines.best_accuracy"))
    if best is not None and p_value is not None:
        name = _label(_lookup(data, "baselines.best_name")) or "baseline"
        tries = _real(data.get("tries"))
        adjusted = _real(data.get("p_value_adjusted"))
        # After several tries the verdict rests on the adjusted p-value, not the raw one.
        deciding = adjusted if adjusted is not None and tries is not None and tries > 1 else p_value
        verdict = _fill("verdict_edge" if deciding < 0.05 else "verdict_no_edge", {})
        baseline = {
            "baseline": name.replace("_", " "),
            "baseline_accuracy": _percent(best),
            "p_value": _p(p_value),
            "verdict": verdict,
        }
        if deciding is p_value:
            parts.append(_fill("baseline", baseline))
        else:
            adjusted_values = {**baseline, "tries": f"{tries:.0f}", "adjusted": _p(deciding)}
            parts.append(_fill("baseline_adjusted", adjusted_values))

    strategy = _real(_lookup(data, "backtest.long_flat.sharpe"))
    hold = _real(_lookup(data, "backtest.buy_and_hold.sharpe"))
    if strategy is not None and hold is not None:
        cost = _real(_lookup(data, "backtest.cost_bps"))
        sharpes = {"sharpe": f"{strategy:.2f}", "buy_and_hold_sharpe": f"{hold:.2f}"}
        if cost is None:
            parts.append(_fill("backtest_no_cost", sharpes))
        else:
            parts.append(_fill("backtest", {**sharpes, "cost_bps": f"{cost:g}"}))
    if subject and not listed and len(parts) > headline_at:
        parts.insert(headline_at, f"{subject}.")
    return [part for part in parts if part]


def _p(value: float) -> str:
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _fields_feedback(data: Mapping[str, Any]) -> str:
    fields = []
    for key, value in data.items():
        label = _label(value, 30)
        if label is not None and key not in ("type", "status"):
            fields.append(f"{_label(key, 30)} {label}")
        if len(fields) == 6:
            break
    return _fill("fields", {"fields": ", ".join(fields)}) if fields else _fill("empty", {})


class MLAgentBridge:
    """Reads an LLM's reply into a trial configuration and writes engine results back as text.

    Reading prefers explicit cues over guesses: a `symbol:`/`model:` key beats a `$TICKER`, which
    beats a ticker after "on"/"for" or before "stock"/"data", which beats any bare uppercase
    word that is not a known acronym. A model named after "train"/"try"/"use"/"switch to" beats
    one merely mentioned, which beats one named after "instead of"/"rather than"/"from"; within
    a rank the first mention wins.
    """

    def parse_mltrainer_response(self, text: str) -> dict[str, Any]:
        """Everything the reply asks for, under `extracted_params`; nothing found is None/empty."""
        original = text if isinstance(text, str) else ""
        clean = _clean(original)
        features, macro = extract_features_and_macro(clean)
        symbol = extract_symbol(clean, excluded=set(macro))
        model = extract_model(clean)
        parameters = extract_parameters(clean)
        data_source = extract_data_source(clean)
        validation = extract_validation(clean)
        stop_loss = extract_stop_loss(clean)
        action = extract_action(clean)
        if action is None and model:
            action = "train"  # naming a model without another verb asks for a trial
        extracted: dict[str, Any] = {
            "symbol": symbol,
            "model": model,
            "parameters": parameters,
            "data_source": data_source,
            "features": features,
            "macro": macro,
            "validation_strategy": validation,
            "action": action,
            "stop_loss": stop_loss,
        }
        has_instruction = any(
            (symbol, model, parameters, data_source, features, macro, validation, stop_loss, action)
        )
        return {
            "extracted_params": extracted,
            "data_source": data_source,
            "original_text": original,
            "has_instruction": has_instruction,
        }

    def create_trial_config(self, parsed: Mapping[str, Any]) -> dict[str, Any] | None:
        """Keyword arguments for `TrialConfig` (plus an `id`), or None when no symbol was found.

        Values are passed on as the LLM asked, even out of bounds: `TrialConfig` then refuses
        them with a message that names the allowed range, which is what the LLM needs to hear.
        """
        if not isinstance(parsed, Mapping):
            return None
        extracted = parsed.get("extracted_params", parsed)
        if not isinstance(extracted, Mapping):
            return None
        symbol = extracted.get("symbol")
        if not isinstance(symbol, str) or not SYMBOL_SHAPE.fullmatch(symbol.upper()):
            return None
        model = extracted.get("model")
        model = (_model_in(model) or model) if isinstance(model, str) and model else "random_forest"
        parameters = extracted.get("parameters")
        parameters = parameters if isinstance(parameters, Mapping) else {}
        config: dict[str, Any] = {
            "id": f"trial_{uuid.uuid4().hex[:8]}",
            "symbol": symbol.upper(),
            "model": model,
            "params": {
                str(key): value for key, value in parameters.items() if key not in _TRIAL_FIELDS
            },
        }
        config.update({key: parameters[key] for key in _TRIAL_LEVEL if key in parameters})
        source = extracted.get("data_source", parsed.get("data_source"))
        if isinstance(source, str) and source in TRIAL_SOURCES:
            config["source"] = source
        macro = extracted.get("macro")
        if isinstance(macro, list) and macro:
            config["macro"] = [str(series) for series in macro]
        features = extracted.get("features")
        if isinstance(features, list) and features:
            config["features"] = [str(feature) for feature in features]
        return config

    def format_ml_feedback_as_question(self, result: Mapping[str, Any]) -> str:
        """A short, complete account of a result, ending in the question for the next turn.

        Works on a full `TrialResult` (dict or model), on partial dicts with only some metrics,
        and on error results; keys that are missing are left out of the text, never raised on.
        """
        raw: Any = result.model_dump(mode="json") if hasattr(result, "model_dump") else result
        data: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        if _is_error(data):
            return _error_feedback(data)
        question = _fill("question", {})
        body = " ".join(_trial_feedback(data)) or _fields_feedback(data)
        body = _shorten(body, _FEEDBACK_WORDS - len(question.split()))
        return f"{body} {question}".strip()
