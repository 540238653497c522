"""The sidebar every page shares: settings bound to the URL, the page list, and the cached trace.

Every page starts with ``settings, trace = page_setup(PAGE)``. The widgets use
Streamlit's own query-parameter binding, so the URL holds the view. Streamlit 1.67
drops a URL value that was never touched on the first page switch, so the last
values are also kept in the session and put back when the page changes
(``_carry_over``); the page links carry them too, and the sidebar's "Link to this
view" always spells them out.
"""

import math
import threading
import urllib.parse
from dataclasses import dataclass

import streamlit as st

from attention_core import AttentionConfig, AttentionInputError, pretrained, run_attention, tokenize
from attention_core.attention import POSITIONAL_KINDS
from attention_core.training import STEPS as TRAINING_STEPS
from attention_core.training import TASKS, train, trained_trace
from attention_viz import text
from ui import focus, heap, render, room
from ui.pages import PAGES

DEFAULT_SENTENCE = "the cat sat on the mat"
MAX_SENTENCE_CHARS = 2000  # the widget stops accepting text past this; the token limit says why
DEFAULTS = AttentionConfig()


@dataclass(frozen=True)
class Settings:
    """What the sidebar chose."""

    sentence: str
    config: AttentionConfig  # the random-weights model's settings (the pretrained model has its own)
    head: int  # 0-based index of the head the stage pages show
    link_params: dict  # the non-default settings as URL parameters, carried by page links
    model: str = "random"  # one of MODELS
    predict: bool = False  # stages 4-7 ask for a guess before showing their numbers
    layer: int = 0  # the pretrained model's layer, 0-based as in Hugging Face
    task: str = "previous_token"  # the trained model's task (attention_core.training.TASKS)
    train_seed: int = 0  # and the seed it was trained with


@dataclass(frozen=True)
class Control:
    key: str  # the URL parameter and the session-state key
    default: object

    def to_url(self, value):  # the text Streamlit's binding writes for value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)


CONTROLS = {
    c.key: c
    for c in (
        Control("sentence", DEFAULT_SENTENCE),
        Control("seed", DEFAULTS.seed),
        Control("d_model", DEFAULTS.d_model),
        Control("d_k", DEFAULTS.d_k),
        Control("d_v", DEFAULTS.d_v),
        Control("heads", DEFAULTS.n_heads),
        Control("positional", DEFAULTS.positional),
        Control("causal", DEFAULTS.causal),
        Control("scale", DEFAULTS.scale),
        Control("temperature", DEFAULTS.temperature),
        Control("head", 1),
        Control("model", "random"),
        Control("present", False),
        Control("predict", False),
        Control("layer", 0),
        Control("task", "previous_token"),
        Control("train_seed", 0),
    )
}
NUMBER_SETTINGS = (  # the random model's whole-number settings: key, label, range, help; two to a row
    ("d_model", "d_model", 2, 64, "Width of each token's embedding (a row of X)."),
    ("seed", "Seed", 0, 2**32 - 1, "Fixes the random embeddings and weights."),
    ("d_k", "d_k", 1, 64, "Width of each query and key vector."),
    ("d_v", "d_v", 1, 64, "Width of each value vector."),
    ("heads", "Heads", 1, 8, "Independent attention heads, each with its own W_q, W_k, W_v."),
)
# The small random-weights model, the pretrained all-MiniLM-L6-v2, or a layer trained here on a small task.
MODELS = ("random", "MiniLM", "trained")
TRAINING_PAGE = "watch_it_learn"  # draws the task and seed itself
PRETRAINED_HEADS = 12
CELL_KEYS = ("query", "key")  # cell selectors drawn by the stage pages; the first token is their default
PAGE_DEFAULTS = {  # other widgets a page binds to the URL, with their defaults
    "compare_sentence": "the dog sat on the mat",  # one word away from DEFAULT_SENTENCE
    "compare_mode": "another sentence",
    "step": TRAINING_STEPS,  # Watch it learn's slider: the end of training
}


def _parses_to(raw, value):
    """Whether a URL value means the widget's value (so a default-valued parameter raises no notice)."""
    if isinstance(value, bool):
        return raw.lower() == ("true" if value else "false")
    if isinstance(value, int | float):
        try:
            return math.isclose(float(raw), value)
        except ValueError:
            return False
    return raw == value


def _sentence_ui():
    return st.sidebar.text_input(
        "Sentence",
        DEFAULT_SENTENCE,
        key="sentence",
        bind="query-params",
        max_chars=MAX_SENTENCE_CHARS,
        help=f"Words and punctuation become tokens; up to {DEFAULTS.max_tokens} tokens "
        "(MiniLM: 128 word pieces).",
    )


def training_ui(place):  # -> (task, seed) of the trained model; in the sidebar, or on Watch it learn
    # The task's own name, not its title: a bound selectbox writes the text it shows into the URL.
    task = place.selectbox("Task", list(TASKS), key="task", bind="query-params")
    seed = place.number_input("Training seed", 0, 999, 0, key="train_seed", bind="query-params")
    return task, seed


def _training_choice():  # -> {"task", "train_seed"}: as drawn, or still only in the URL; usable values only
    task = st.session_state.get("task", st.query_params.get("task"))
    seed = str(st.session_state.get("train_seed", st.query_params.get("train_seed", "")))
    return {
        "task": task if task in TASKS else CONTROLS["task"].default,
        "train_seed": int(seed) if seed.isdigit() and int(seed) <= 999 else CONTROLS["train_seed"].default,
    }


def _model_ui(status, page):  # -> (model, layer); MiniLM is explained and disabled where absent
    sidebar = st.sidebar
    model = sidebar.radio(
        "Model",
        MODELS,
        key="model",
        bind="query-params",
        horizontal=True,
        disabled=not status.available,
        help="random: small random weights, numbers you can read. MiniLM: the pretrained "
        "all-MiniLM-L6-v2 (6 layers × 12 heads), computed here step by step in NumPy. trained: one "
        "layer trained here on a small task (see Watch it learn); it knows 16 words.",
    )
    if not status.available:
        sidebar.caption(f"The pretrained model is unavailable: {render.escape_markdown(status.message)}")
        return "random", 0
    if model == "random":
        return model, 0
    if model == "trained":
        if page.url_path != TRAINING_PAGE:
            training_ui(sidebar)
        return model, 0
    layer = sidebar.selectbox(
        "Layer", range(6), key="layer", bind="query-params", help="0 reads the embeddings."
    )
    return model, layer


def _settings_ui(model):  # draws the setting widgets -> dict of values
    sidebar = st.sidebar
    values = {}
    pretrained = model != "random"  # MiniLM and the trained layer have their own sizes
    with sidebar.expander("Model settings", expanded=False, icon=":material/tune:"):
        if pretrained:
            st.caption(
                "These set the random-weights model; the other models have their own sizes and weights."
            )
        columns = st.columns(2)
        for index, (key, label, low, high, help_text) in enumerate(NUMBER_SETTINGS):
            values[key] = columns[index % 2].number_input(
                label,
                low,
                high,
                CONTROLS[key].default,
                key=key,
                bind="query-params",
                disabled=pretrained,
                help=help_text,
            )
        values["temperature"] = columns[1].number_input(
            "Temperature",
            0.01,
            100.0,
            DEFAULTS.temperature,
            step=0.25,
            format="%.2f",
            key="temperature",
            bind="query-params",
            disabled=pretrained,
            help="Scores are divided by this before softmax: below 1 sharpens, above 1 flattens.",
        )
        values["positional"] = st.selectbox(
            "Positional encoding",
            POSITIONAL_KINDS,
            key="positional",
            bind="query-params",
            disabled=pretrained,
            help="Sinusoidal adds a different pattern to each position, so word order matters.",
        )
    values["scale"] = sidebar.toggle(
        "Scale by √d_k",
        DEFAULTS.scale,
        key="scale",
        bind="query-params",
        disabled=pretrained,
        help="Switch off to see the softmax saturate.",
    )
    values["causal"] = sidebar.toggle(
        "Causal mask",
        DEFAULTS.causal,
        key="causal",
        bind="query-params",
        disabled=pretrained,
        help="Each token may only attend to itself and the tokens before it.",
    )
    heads = {"MiniLM": PRETRAINED_HEADS, "trained": 1}.get(model, values["heads"])
    values["predict"] = sidebar.toggle(
        "Predict first",
        False,
        key="predict",
        bind="query-params",
        help="On stages 4 to 7, guess before the numbers are shown.",
    )
    values["present"] = sidebar.toggle(
        "Presenter mode",
        False,
        key="present",
        bind="query-params",
        help="For a projector: no sidebar, large type, one stage per screen; ← and → (or a clicker) "
        "move between pages, Esc leaves.",
    )
    values["head"] = (
        sidebar.selectbox("Head shown", range(1, heads + 1), key="head", bind="query-params")
        if heads > 1
        else 1
    )
    return values


def _notices(raw_params, values):
    """Short notes for link parameters that were unknown or could not be used."""
    notes = []
    for key, raw in raw_params.items():
        if key in CELL_KEYS or key in PAGE_DEFAULTS:  # checked by the page that draws them
            continue
        if key not in CONTROLS:
            notes.append(f"Ignored the unknown link parameter “{render.escape_markdown(key)}”.")
        elif key == "sentence" and len(raw) > MAX_SENTENCE_CHARS:
            notes.append(f"The link's sentence was cut to its first {MAX_SENTENCE_CHARS:,} characters.")
        elif not _parses_to(raw, values[key]):
            default = CONTROLS[key].to_url(CONTROLS[key].default)
            notes.append(f"The link's value for “{key}” was not usable; using {default} instead.")
    return notes


def _page_list(link_params):
    st.sidebar.divider()
    for page in PAGES:
        st.sidebar.page_link(page.path, label=page.title, icon=page.icon, query_params=link_params)


def view_link(page, link_params):  # -> the address that opens this page with these settings
    address = urllib.parse.urlsplit(st.context.url or "http://localhost:8501/")
    root = address.path.removesuffix(page.url_path).rstrip("/")
    query = urllib.parse.urlencode(link_params)
    return urllib.parse.urlunsplit((address.scheme, address.netloc, f"{root}/{page.url_path}", query, ""))


def _link_box(page, link_params):
    box = st.sidebar.expander("Link to this view", icon=":material/link:", key="link_box", on_change="rerun")
    if box.open:  # spelled out only while open
        box.code(view_link(page, link_params), language=None, wrap_lines=True)
        box.caption("Opens this page with the same sentence, settings and selection.")


@st.cache_data(max_entries=256, show_spinner=False)
def compute_trace(sentence, config):  # -> AttentionTrace; one computation per setting, shared by all pages
    return run_attention(sentence, config)


@st.cache_resource(show_spinner=False)
def model_status():  # -> PretrainedStatus; loads the weights once per server process
    return pretrained.pretrained_status()


@st.cache_resource(max_entries=64, show_spinner="Running MiniLM…")
def compute_pretrained_trace(sentence, layer):  # -> AttentionTrace, shared read-only by every session
    # A resource, not data: its weights are megabytes that st.cache_data would copy on every rerun.
    return pretrained.load_pretrained().run(sentence, layer)


@st.cache_resource(max_entries=64, show_spinner="Running MiniLM…")
def pretrained_attentions(sentence):  # -> [layers, heads, n, n]
    return pretrained.load_pretrained().attentions(sentence)


_TRAINED = {}  # (task, seed) -> TrainingRun, oldest first; every session of the process shares them
_TRAINING = threading.Lock()


def training_run(task, seed, progress=None):  # -> TrainingRun, trained once per process and shared by all
    """``progress(step, steps)`` while it trains (st.cache_resource would not let it draw a progress bar).

    One training at a time: a class asking for the same run at once waits for the first and shares it."""
    with _TRAINING:
        if (task, seed) not in _TRAINED:
            _TRAINED[(task, seed)] = train(task, seed=seed, progress=progress)
            if len(_TRAINED) > 16:  # about 1 MB each
                del _TRAINED[next(iter(_TRAINED))]
        return _TRAINED[(task, seed)]


@st.cache_resource(max_entries=64, show_spinner=False)
def compute_trained_trace(sentence, task, seed):  # -> AttentionTrace through the trained layer
    return trained_trace(training_run(task, seed), sentence)


def trace_for(settings):  # -> AttentionTrace of the chosen model
    if settings.model == "random":
        return compute_trace(settings.sentence, settings.config)
    if settings.model == "trained":
        return compute_trained_trace(settings.sentence, settings.task, settings.train_seed)
    return compute_pretrained_trace(settings.sentence, settings.layer)


def _carry_over(page):
    """Put back settings that a page switch dropped from the URL.

    Streamlit 1.67 strips bound parameters from a page link's query string, so a value that
    came from an opened link and was never touched would fall back to its default on the next
    page. The last values are kept in the session and restored when the page changes.
    """
    last_page, last_values = st.session_state.get("ui_page"), st.session_state.get("ui_values", {})
    st.session_state["ui_page"] = page.path
    if last_page in (None, page.path):
        return
    dropped = {k: v for k, v in last_values.items() if k not in st.query_params and v != CONTROLS[k].default}
    # The chosen cell too: a pick reruns only its panel, so the page links drawn before it don't carry it.
    dropped |= {
        k: v for k, v in st.session_state.get(render.CELL_PICKS, {}).items() if k not in st.query_params
    }
    st.session_state.update(dropped)


def controls(page):  # draws the sidebar -> Settings
    first_run = "ui_url_checked" not in st.session_state
    raw_params = st.query_params.to_dict() if first_run else {}
    _carry_over(page)
    st.session_state.pop(render.CELL_CHANGED, None)  # this run draws the view link with the current cell
    sentence = _sentence_ui()
    model, layer = _model_ui(model_status(), page)
    values = {"sentence": sentence, "model": model, "layer": layer} | _settings_ui(model)
    values |= _training_choice()
    st.session_state["ui_values"] = values
    for note in _notices(raw_params, values):
        st.toast(note, icon=":material/link_off:")
    st.session_state["ui_url_checked"] = True
    link_params = {
        key: CONTROLS[key].to_url(value) for key, value in values.items() if value != CONTROLS[key].default
    }
    # What a page's own widgets chose (kept in the session, or still only in an opened link's URL),
    # unless it is their default; the chosen cell only in the view's link (page links: _carry_over).
    first = "[CLS]" if model == "MiniLM" else next(iter(tokenize(values["sentence"])), None)
    chosen = {
        key: st.session_state.get(key) or st.query_params.get(key) for key in (*CELL_KEYS, *PAGE_DEFAULTS)
    }
    defaults = dict.fromkeys(CELL_KEYS, first) | PAGE_DEFAULTS
    link_params |= {k: v for k, v in chosen.items() if k in PAGE_DEFAULTS and v and v != defaults[k]}
    cell_params = {k: v for k, v in chosen.items() if k in CELL_KEYS and v and v != defaults[k]}
    _page_list(link_params)
    _link_box(page, link_params | cell_params)
    config = AttentionConfig(
        d_model=values["d_model"],
        d_k=values["d_k"],
        d_v=values["d_v"],
        n_heads=values["heads"],
        seed=values["seed"],
        positional=values["positional"],
        causal=values["causal"],
        scale=values["scale"],
        temperature=values["temperature"],
    )
    heads = {"MiniLM": PRETRAINED_HEADS, "trained": 1}.get(model, values["heads"])
    head = min(values["head"], heads) - 1
    return Settings(
        values["sentence"], config, head, link_params, model, values["predict"], layer,
        values["task"], values["train_seed"],
    )  # fmt: skip


def page_setup(page, compute=True):  # -> (Settings, AttentionTrace or None)
    """Page title, the sidebar and the trace; for unusable input, a message instead of the page."""
    heap.freeze_imports()  # once per process
    st.set_page_config(
        page_title=f"{page.title} · Self-attention, step by step", page_icon="🔍", layout="wide"
    )
    settings = controls(page)
    render.draw_style()  # after controls(): presenter mode is known once its switch has been drawn
    st.session_state[render.ROOM] = room.main_width(render.presenting())
    focus.scrolling_regions_reachable()
    if render.presenting():
        render.draw_presenter_bar(page)
    if not compute:
        return settings, None
    try:
        trace = trace_for(settings)
    except AttentionInputError as error:
        st.title(page.title)
        st.info(str(error), icon=":material/edit_note:")
        st.stop()
    render.draw_lesson_download(trace, settings)
    render.draw_trace_download(trace)
    if render.is_pretrained(trace) and page.stage:
        st.caption(f"{trace.model} · head {settings.head + 1} — real learned weights")
    elif text.is_trained(trace) and page.stage:
        st.caption(
            f"A layer {trace.model} (seed {settings.train_seed}) — its weights were learned on *Watch it learn*"
        )
    return settings, trace
