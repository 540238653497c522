"""The only Streamlit code that knows model families: their widgets, their sizes, and their traces.

Everything is asked of the chosen family's declaration (``attention_core.families``): the options it
reads are drawn from ``Family.options``, the layers and heads offered come from ``Family.sizes``, and
its traces are computed once per process and shared by every session.
"""

import numpy as np
import streamlit as st

from attention_core import AttentionInputError
from attention_core.families import DEFAULT, FAMILIES
from attention_viz import budget
from attention_viz.budget import SharedCache
from ui import limits, render, url_state


@st.cache_resource(show_spinner=False)
def status(key):  # -> Status of the family; a model is loaded and checked once per server process
    return FAMILIES[key].status()


def _freeze(trace):  # shared by every session that asks: nobody may write into it
    for value in vars(trace).values():
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
    return trace


# One trace per model, options and sentence, and every layer's weights for the page of every head: shared by
# all sessions within their byte budgets (README: Memory). The family's status is in the key, so another
# model folder (ATTENTION_MODEL_DIR) is never answered from the last one's traces.
TRACES = SharedCache("traces", budget.BUDGETS["traces"])
ATTENTIONS = SharedCache("attentions", budget.BUDGETS["attentions"])


def _key(family, options, sentence):
    return (family.key, status(family.key).message, sentence, tuple(sorted(options.items())))


def trace_for(family, options, sentence):  # -> AttentionTrace of the model
    """Computed once and shared; AttentionInputError if unusable, Busy if it waits too long or is limited."""

    def compute():
        if family.ready and not family.ready(options):  # long work first (training a layer): limited
            limits.allowance("training").take()
        with st.spinner("Running the model…"):
            return _freeze(family.trace(sentence, options))

    return TRACES.get(_key(family, options, sentence), compute)


def attentions_for(family, options, sentence):  # -> every layer's attention weights; None for one layer
    if family.attentions is None:
        return None

    def compute():
        with st.spinner("Running every layer…"):
            weights = family.attentions(sentence, options)
            weights.flags.writeable = False
            return weights

    return ATTENTIONS.get(_key(family, options, sentence), compute)


def unless_busy(compute):  # -> compute(); while the server is busy with it, the page says so and stops
    try:
        return compute()
    except budget.Busy as error:
        st.info(str(error), icon=":material/hourglass:")
        st.stop()


def option_ui(option, place=st.sidebar, disabled=False):  # draws one Option's widget, bound to the URL
    common = {
        "key": option.name,
        "bind": url_state.bound(option.name),
        "help": option.help or None,
        "disabled": disabled,
    }
    if isinstance(option.default, bool):
        return place.toggle(option.label, option.default, **common)
    if option.choices:
        return place.selectbox(option.label, option.choices, **common)
    if isinstance(option.default, float):
        return place.number_input(
            option.label,
            option.low,
            option.high,
            option.default,
            step=option.step,
            format=option.format,
            **common,
        )
    return place.number_input(option.label, int(option.low), int(option.high), option.default, **common)


def _model_radio():  # -> the chosen Family; an unavailable one is left out, with the reason
    sidebar = st.sidebar
    usable = [key for key in FAMILIES if status(key).available]
    help_text = " ".join(f"{key}: {FAMILIES[key].summary}" for key in usable)
    key = sidebar.radio("Model", usable, key="model", bind="query-params", horizontal=True, help=help_text)
    for missing in FAMILIES:
        if missing not in usable:
            sidebar.caption(
                f"{render.escape_markdown(missing)} is unavailable: {render.escape_markdown(status(missing).message)}"
            )
    return FAMILIES[key or DEFAULT]


def _drawn_by_the_page(page):  # -> {name: value} of the options the page draws itself (Page.draws)
    """As the page's widgets last held them, or as the URL gives them: what its links must carry, whichever
    model the sidebar has chosen."""
    values = {}
    for name, option in url_state.options().items():
        if name in page.draws:
            value = st.session_state.get(name)
            try:
                values[name] = (
                    option.check(value) if value is not None else option.parse(st.query_params[name])
                )
            except (KeyError, AttentionInputError):
                values[name] = option.default
    return values


def _settings_ui(family, page):  # draws the family's options -> {name: value}
    sidebar, values = st.sidebar, _drawn_by_the_page(page)
    drawn = [option for option in family.options if option.name not in page.draws]
    url_state.restore([option.name for option in drawn])
    for option in drawn:
        if option.place == "model":
            values[option.name] = option_ui(option)
    settings = [option for option in drawn if option.place == "settings"]
    if settings:
        with sidebar.expander("Model settings", expanded=False, icon=":material/tune:"):
            numbers = [o for o in settings if not o.choices and not isinstance(o.default, bool)]
            columns = st.columns(2)
            for index, option in enumerate(numbers):  # two to a row
                values[option.name] = option_ui(option, columns[index % 2])
            for option in settings:
                if option not in numbers:
                    values[option.name] = option_ui(option, st)
    for option in drawn:
        if option.place == "switch":
            values[option.name] = option_ui(option)
    return values


def _loaded(family, values):  # -> (family, options, its layers, None), or the default model and the error
    options = family.choose(values)
    try:
        return family, options, family.sizes(options).layers, None  # a model whose file passed the quick
    except AttentionInputError as error:  # check loads now; one that fails to: the default model instead
        default = FAMILIES[DEFAULT]
        options = default.choose(values)
        return default, options, default.sizes(options).layers, error


def followed(values):  # -> (family, options with "layer", the head 0-based): the teacher's, no widget drawn
    """What ``model_ui`` and ``head_ui`` would choose from ``values`` (typed, as a view's ``_typed`` gives
    them); a model this server cannot load, a layer or head it does not have: the defaults."""
    key = values.get("model")
    family = FAMILIES[key] if key in FAMILIES and status(key).available else FAMILIES[DEFAULT]
    family, options, layers, _ = _loaded(family, values)
    layer, head = values.get("layer", 0), values.get("head", 1)
    options["layer"] = layer if 0 <= layer < layers else 0
    return family, options, head - 1 if 1 <= head <= family.sizes(options).heads else 0


def model_ui(page):  # draws the model's part of the sidebar -> (family, options, the values drawn)
    """The model, its options, its layer; the head comes later (``head_ui``), after the page's switches."""
    chosen = _model_radio()
    values = _settings_ui(chosen, page)
    family, options, layers, error = _loaded(chosen, values)
    if error:  # say why, and show the default model instead
        st.sidebar.caption(
            f"{render.escape_markdown(chosen.key)} is unavailable: {render.escape_markdown(str(error))}"
        )
    layer = 0
    if layers > 1:
        url_state.restore(["layer"])
        layer = st.sidebar.selectbox(
            "Layer", range(layers), key="layer", bind="query-params", help="0 reads the embeddings."
        )
    options["layer"] = layer
    return family, options, {"model": family.key, "layer": layer} | values


def head_ui(family, options):  # -> (the head shown 0-based, the value drawn for "head", 1-based)
    heads = family.sizes(options).heads
    if heads == 1:
        return 0, 1
    url_state.restore(["head"])
    head = st.sidebar.selectbox("Head shown", range(1, heads + 1), key="head", bind="query-params")
    return head - 1, head
