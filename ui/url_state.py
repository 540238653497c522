"""The view's state in the URL: which parameters are bound, their defaults, notices, and links.

The registry of bound parameters is made from the families' own declarations (``Family.options``) and
the few settings every page shares; nothing here lists a family's options a second time. Streamlit's
query-parameter binding does the reading and writing; this module checks what a link gave before any
widget sees it, says what it could not use, and carries settings across a page switch.
"""

import math
import urllib.parse

import streamlit as st

from attention_core import AttentionInputError
from attention_core.families import DEFAULT, FAMILIES, Option
from attention_core.heads import ROLES
from attention_core.llm import MAX_NEW_TOKENS
from attention_core.training import STEPS as TRAINING_STEPS
from ui import render

DEFAULT_SENTENCE = "the cat sat on the mat"
MAX_SENTENCE_CHARS = 2000  # the widget stops accepting text past this; the token limit says why
SHARED = {  # what every page binds, whatever the model: key -> default
    "sentence": DEFAULT_SENTENCE,
    "model": DEFAULT,
    "layer": 0,  # 0-based, as in Hugging Face
    "head": 1,  # 1-based, as the sidebar shows it
    "present": False,
    "predict": False,
}
CLASS_KEYS = ("class", "teacher")  # a live class's code and teacher key: read by ui.live_class
CELL_KEYS = ("query", "key")  # cell selectors drawn by the stage pages; the first token is their default
PAGE_OPTIONS = {  # other widgets a page binds to the URL: what they read, their defaults and ranges
    option.name: option
    for option in (
        Option("compare_sentence", "Second sentence", "the dog sat on the mat"),  # one word from the default
        Option("compare_mode", "Compare the current run with", "another sentence"),
        Option("step", "Training step", TRAINING_STEPS, low=0, high=TRAINING_STEPS),  # Watch it learn's slider
        # Next word: how the next token is drawn, and how many have been.
        Option("steps", "Tokens written", 0, low=0, high=MAX_NEW_TOKENS),
        Option(
            "sample_temperature", "Temperature", 1.0,
            "Divides the scores of the next token before softmax: 0 always takes the most likely; below 1 "
            "sharpens, above 1 flattens.", 0.0, 100.0, step=0.1, format="%.2f",
        ),
        Option("top_k", "Top-k", 0, "Draw only among the k most likely tokens (0: no limit).", 0, 50_000),
        Option(
            "top_p", "Top-p", 1.0, "Draw only among the fewest most likely tokens whose probabilities add up "
            "to p (1: no limit; 0: only the most likely).", 0.0, 1.0, step=0.05, format="%.2f",
        ),
        Option("sample_seed", "Draw seed", 0, "Fixes the random draws: the same seed, the same text.", 0, 2**32 - 1),
        # Atlas of heads: the role shown and the head chosen; Across layers: the rollout's last layer.
        Option("atlas_role", "Show", "all roles", "Only the heads of one role.", choices=("all roles", *ROLES)),
        Option("atlas_layer", "Layer", 0, "The chosen head's layer (from 0).", 0, 999),
        Option("atlas_head", "Head", 1, "The chosen head.", 1, 999),
        Option("rollout_layer", "Up to layer", 0, "Attention rolled out from layer 0 to this one.", 0, 999),
    )
}  # fmt: skip
PAGE_DEFAULTS = {name: option.default for name, option in PAGE_OPTIONS.items()}
KEPT = "ui_values"  # session: the last value of every bound setting, across pages and families
REFUSED = "ui_refused_in_url"  # session: settings whose URL value no widget could hold, on this run
CELL_PICKS = "ui_cell"  # session: the last query and key picked, which carry_over() takes to the next page
CELL_CHANGED = "ui_cell_changed"  # session: a pick since the sidebar last drew "Link to this view"


def options():  # -> {name: Option} of every registered family (a name two families share: the first)
    found = {}
    for family in FAMILIES.values():
        for option in family.options:
            found.setdefault(option.name, option)
    return found


def defaults():  # -> {key: default} of every bound setting: the shared ones and every family's options
    return SHARED | {name: option.default for name, option in options().items()}


def url_text(value):  # the text Streamlit's binding writes for value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parses_to(raw, value):
    """Whether a URL value means the widget's value (so a default-valued parameter raises no notice)."""
    if isinstance(value, bool):
        return raw.lower() == ("true" if value else "false")
    if isinstance(value, int | float):
        try:
            return math.isclose(float(raw), value)
        except ValueError:
            return False
    return raw == value


def refuse_unreadable_numbers():
    """Drop a number no widget can hold (``1e400``, ``inf``, ``nan``, 30 digits) from the URL, before any
    widget reads it, and keep its widget off the URL for this run (``bound``).

    Streamlit's binding hands such a value to ``st.number_input`` as an infinite or huge float, which fails
    in the browser; it reads the value the run started with, so the widget drawn on this run must not be
    bound. It starts from its default, and ``notices`` says so.
    """
    refused = set()
    for name, option in (options() | PAGE_OPTIONS).items():
        raw = st.query_params.get(name)
        if raw is None or not isinstance(option.default, int | float) or isinstance(option.default, bool):
            continue
        try:
            option.parse(raw)
        except AttentionInputError:
            del st.query_params[name]
            refused.add(name)
    st.session_state[REFUSED] = refused


def bound(name):  # -> the bind= argument of a setting's widget on this run
    return None if name in st.session_state.get(REFUSED, ()) else "query-params"


def notices(raw_params, values):
    """Short notes for link parameters that were unknown or could not be used.

    ``values``: what the drawn widgets hold. A family's option that is not drawn (another model is chosen)
    is checked by the option's own reading.
    """
    known, notes = defaults(), []
    missing = raw_params.get("model") in FAMILIES and raw_params["model"] != values["model"]
    for key, raw in raw_params.items():
        if key in CELL_KEYS or key in CLASS_KEYS:  # checked where they are read
            continue
        if key in PAGE_OPTIONS:
            if not _readable(key, raw, PAGE_OPTIONS):
                notes.append(
                    f"The link's value for “{key}” was not usable; using {url_text(PAGE_DEFAULTS[key])} instead."
                )
            continue
        if missing and key in ("layer", "head"):  # they were the missing model's: one notice says it all
            continue
        if missing and key == "model":
            notes.append(
                f"The link's model “{raw}” is unavailable on this server (the sidebar says why); "
                f"using {values['model']} instead."
            )
        elif key not in known:
            notes.append(f"Ignored the unknown link parameter “{render.escape_markdown(key)}”.")
        elif key == "sentence" and len(raw) > MAX_SENTENCE_CHARS:
            notes.append(f"The link's sentence was cut to its first {MAX_SENTENCE_CHARS:,} characters.")
        elif not parses_to(raw, values[key]) if key in values else not _readable(key, raw):
            notes.append(
                f"The link's value for “{key}” was not usable; using {url_text(known[key])} instead."
            )
    return notes


def _readable(key, raw, known=None):  # a setting no widget holds on this run: does its option read it?
    option = (known or options()).get(key)
    try:
        return option is None or option.parse(raw) is not None
    except AttentionInputError:
        return False


def link_params(values):  # -> the settings that differ from their defaults, as a link writes them
    known = defaults()
    return {key: url_text(value) for key, value in values.items() if key in known and value != known[key]}


def restore(keys, page_switch=False):
    """Put back, before their widgets are drawn, settings that the URL lacks and the session forgot.

    Streamlit forgets a widget's value after a run that did not draw it (another model was chosen), and a
    page switch strips bound parameters from the query string, which resets their widgets however the
    session remembers them; the last values are kept in the session (``KEPT``) and given back here.
    """
    kept, known = st.session_state.get(KEPT, {}), defaults()
    for key in keys:
        if key not in kept or key in st.query_params or kept[key] == known[key]:
            continue
        if page_switch or key not in st.session_state:
            st.session_state[key] = kept[key]


def remember(values):  # the values drawn on this run, kept for restore()
    st.session_state[KEPT] = st.session_state.get(KEPT, {}) | values


def carry_over(page):
    """On a page switch, put back the settings and the chosen cell that the switch dropped from the URL."""
    last_page = st.session_state.get("ui_page")
    st.session_state["ui_page"] = page.path
    if last_page in (None, page.path):
        return
    restore(defaults(), page_switch=True)
    # The chosen cell too: a pick reruns only its panel, so the page links drawn before it don't carry it.
    st.session_state.update(
        {k: v for k, v in st.session_state.get(CELL_PICKS, {}).items() if k not in st.query_params}
    )


def view_link(page, params):  # -> the address that opens this page with these settings
    address = urllib.parse.urlsplit(st.context.url or "http://localhost:8501/")
    root = address.path.removesuffix(page.url_path).rstrip("/")
    query = urllib.parse.urlencode(params)
    return urllib.parse.urlunsplit((address.scheme, address.netloc, f"{root}/{page.url_path}", query, ""))
