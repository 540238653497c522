"""What every model family declares, as data: the pages, the sidebar, links and the lesson ask these.

A family is one module (``random.py``, ``encoder.py``, ``trained.py``) with a ``FAMILY``; the registry in
``__init__.py`` lists them. Nothing outside a family knows its layer or head count, its options or its
texts: the app draws the options it declares, offers the layers and heads its ``sizes`` give, and
walks the stages it lists.
"""

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from attention_core.attention import AttentionInputError

_WHOLE = re.compile(r"[+-]?\d{1,30}")


class Busy(RuntimeError):
    """Someone else is computing this and it takes too long: the message says to try again."""


@dataclass(frozen=True)
class Option:
    """One setting a family reads: its widget, its URL parameter and its lesson-command option.

    The default's type says the kind: a bool is a switch, an int or a float a number between ``low`` and
    ``high``, a str one of ``choices``.
    """

    name: str  # the key in the options, the URL parameter and the session-state key
    label: str  # the widget's label
    default: object
    help: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    step: float | None = None  # a float's widget step
    format: str | None = None  # a float's widget format, e.g. "%.2f"
    place: str = "settings"  # "model": beside the model choice; "settings": under Model settings; "switch"

    def parse(self, text):  # URL text -> a usable value, or AttentionInputError (never inf, nan or 1e400)
        """Read the value a link gives as text, strictly: what the widget would show, or an error."""
        text = str(text).strip()
        if isinstance(self.default, bool):
            if text.lower() not in ("true", "false"):
                raise AttentionInputError(f"{self.label} must be true or false; got {text!r}.")
            return text.lower() == "true"
        if isinstance(self.default, int):
            if not _WHOLE.fullmatch(text):
                raise AttentionInputError(f"{self.label} must be a whole number; got {text[:40]!r}.")
            return self.check(int(text))
        if isinstance(self.default, float):
            try:
                value = float(text)
            except ValueError:
                raise AttentionInputError(f"{self.label} must be a number; got {text[:40]!r}.") from None
            return self.check(value)
        return self.check(text)

    def check(self, value):  # -> value, or AttentionInputError when out of range or not a choice
        if self.choices:
            if value not in self.choices:
                raise AttentionInputError(
                    f"{self.label} must be one of {', '.join(map(str, self.choices))}; got {value!r}."
                )
        elif self.low is not None and not (
            isinstance(value, int | float) and math.isfinite(value) and self.low <= value <= self.high
        ):
            raise AttentionInputError(
                f"{self.label} must be from {self.low:g} to {self.high:g}; got {value!r}."
            )
        return value

    def url_text(self, value):  # -> the text a link holds for value (as Streamlit's binding writes it)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)


@dataclass(frozen=True)
class Sizes:
    """How many layers and heads a model has, for the options chosen."""

    layers: int = 1
    heads: int = 1
    kv_heads: int | None = None  # key/value heads, when groups of query heads share one; else = heads

    def __post_init__(self):
        if self.kv_heads is None:
            object.__setattr__(self, "kv_heads", self.heads)


@dataclass(frozen=True)
class Status:
    """Whether a family can be used here, and if not why (the message is meant for the page)."""

    available: bool
    message: str = ""


def _available():
    return Status(True)


@dataclass(frozen=True)
class Family:
    """A kind of model the app can walk through: what it is, what it reads, its sizes and its stages."""

    key: str  # its value of model= in a link: "random", "MiniLM", "trained"
    title: str  # for sentences: "the random-weights model"
    summary: str  # one sentence for the model choice's help
    options: tuple  # Option, in the order the sidebar draws them
    stages: tuple  # stage slugs, in the order of the walkthrough (attention_core.stages)
    sizes: Callable  # options -> Sizes
    run: Callable  # (sentence, options) -> AttentionTrace; options hold the family's and "layer"
    status: Callable = _available  # () -> Status; cheap after the first call
    attentions: Callable | None = None  # (sentence, options) -> [layers, heads, n, n], for several layers
    ready: Callable | None = None  # options -> False when run() would first do long work (train a layer)
    model: Callable | None = None  # () -> the loaded model, for pages that ask it more than traces
    writes: bool = False  # a decoder: its model continues a text (continue_text), for the Next word page
    weights: str = ""  # what its learned weights are, for the stage pages' caption ("" for none)
    units: str = "tokens"  # what a sentence is split into: "tokens", "word pieces"
    texts: Mapping = field(default_factory=dict)  # slug -> (explanation, formula) unlike the textbook's
    # A page's URL path (a stage's slug) -> a note (markdown), or (trace, head) -> a note or None.
    notes: Mapping = field(default_factory=dict)

    def note(self, page, trace, head):  # -> what the family says on that page (its URL path), or None
        note = self.notes.get(page)
        return note(trace, head) if callable(note) else note

    def option(self, name):  # -> the Option called name, or None
        return next((option for option in self.options if option.name == name), None)

    def defaults(self):  # -> {name: default} of its options, with layer 0
        return {option.name: option.default for option in self.options} | {"layer": 0}

    def choose(self, options):  # any mapping -> its options checked, the missing ones at their defaults
        """The options this family reads, from a mapping that may hold others (another family's)."""
        chosen = self.defaults() | {k: v for k, v in options.items() if k in self.defaults()}
        for option in self.options:
            option.check(chosen[option.name])
        return chosen

    def trace(self, sentence, options):  # -> AttentionTrace; options as choose() takes them
        """Check the options and the layer, then run; every error is an AttentionInputError."""
        options = self.choose(options)
        layers = self.sizes(options).layers
        layer = options["layer"]
        if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < layers:
            raise AttentionInputError(
                f"Layer must be from 0 to {layers - 1}; got {layer!r}."
                if layers > 1
                else f"This model has one layer; got layer {layer!r}."
            )
        return self.run(sentence, options)
