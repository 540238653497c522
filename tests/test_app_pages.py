"""Every page under AppTest: hostile sentences, chart data against an independent trace, deep links, page links.

AppTest runs the app in Streamlit's pages-folder mode (STYLE.md point 8). Each test opens a new session
straight on its page with the settings in the URL, as a deep link does; only the page-link tests switch
pages inside one session, because that is what they are about.
"""

import base64
import dataclasses
import html
import json
import re
import string
import threading
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from threadpoolctl import threadpool_info, threadpool_limits

from attention_core import AttentionConfig, run_attention
from attention_core.families import FAMILIES
from ui.pages import PAGES, walkthrough
from ui.url_state import DEFAULT_SENTENCE

APP = Path(__file__).resolve().parents[1] / "app.py"
TIMEOUT_S = 30  # the first run in a process imports Plotly and pandas
# Pages that compute no trace of the sentence, so they have no message for bad input
NO_TRACE = ("pages/10_glossary.py", "pages/14_watch_it_learn.py")
# The real models' own pages: with the random model, only a pointer to the model choice
POINTERS = {
    "pages/11_model_view.py": "MiniLM",  # every layer's heads
    "pages/15_rotate.py": "stage",  # a decoder's stage: the random model has no such stage
    "pages/16_next_word.py": "SmolLM2",  # a model that writes
    "pages/17_atlas.py": "MiniLM",  # heads to name, in layers
}
PAGE_IDS = [Path(page.path).stem for page in PAGES]
CHART_PAGES = [page.path for page in PAGES if page.path not in (*NO_TRACE, *POINTERS)]
DEFAULTS = AttentionConfig()
DEFAULT_VALUES = {  # the sidebar's widgets when the URL says nothing
    "sentence": DEFAULT_SENTENCE,
    "seed": DEFAULTS.seed,
    "d_model": DEFAULTS.d_model,
    "d_k": DEFAULTS.d_k,
    "d_v": DEFAULTS.d_v,
    "heads": DEFAULTS.n_heads,
    "positional": DEFAULTS.positional,
    "causal": DEFAULTS.causal,
    "scale": DEFAULTS.scale,
    "temperature": DEFAULTS.temperature,
    "predict": False,  # the classroom switches (tests/test_classroom.py covers them)
    "present": False,
}

PASTE = "word " * 2000  # 10,000 characters
REFUSED = {  # sentence -> what the page must say instead of drawing
    "": "Type at least one word.",
    "  \t ": "Type at least one word.",
    " ".join(f"w{n}" for n in range(65)): "limit is 64",
    PASTE: "limit is 64",
}
ODD = [  # sentences that must be drawn, shown exactly as typed
    "👍🏽 family 👨‍👩‍👧 🇫🇷",
    "مرحبا بالعالم",
    "שלום עולם",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "**bold** [link](http://x)",
]
HOSTILE = [*REFUSED, *ODD]
HOSTILE_IDS = [
    "empty",
    "blank",
    "65-tokens",
    "10k-paste",
    "emoji",
    "arabic",
    "hebrew",
    "img",
    "script",
    "markdown",
]


_components = {}  # Streamlit's registry of installed custom components, found once for all sessions


def open_page(path, params=None):  # -> AppTest after the first run of a new session opened on path?params
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    # Each new AppTest scans every installed package for components (about 0.5 s, most of a run); sharing
    # the first one's registry makes these tests ten times faster. A renamed attribute only slows them.
    if "registry" in _components:
        at._bidi_component_manager = _components["registry"]
    at.query_params.update(params or {})
    at.switch_page(path).run()
    _components.setdefault("registry", getattr(at, "_bidi_component_manager", None))
    return at


def url_path(path):  # Streamlit's URL for a page file: "" for the main script, "scores" for pages/4_scores.py
    return "" if path == "app.py" else Path(path).stem.split("_", 1)[1]


def sidebar_values(at):  # -> {key: value} of every keyed widget in the sidebar
    widgets = [*at.sidebar.text_input, *at.sidebar.number_input, *at.sidebar.selectbox, *at.sidebar.toggle]
    return {widget.key: widget.value for widget in widgets if widget.key}


def assert_full_page(at, path):
    """No exception, and the sidebar is there: the sentence box and a link to every page, in order."""
    assert not at.exception, [e.value for e in at.exception]
    assert "sentence" in sidebar_values(at)
    family = FAMILIES[at.sidebar.radio(key="model").value]  # the page list walks the chosen model's stages
    assert [link.proto.page for link in at.sidebar.get("page_link")] == [
        url_path(p.path) for p in walkthrough(family)
    ]


def charts(at):  # -> {chart key: Plotly figure as JSON}
    return {chart.key: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")}


def heatmap(spec):  # -> the figure's one heatmap trace
    (trace,) = [trace for trace in spec["data"] if trace["type"] == "heatmap"]
    return trace


def heatmap_z(spec):  # -> the heatmap's values; Plotly 6+ sends arrays base64-encoded with dtype and shape
    z = heatmap(spec)["z"]
    if isinstance(z, dict):
        shape = [int(size) for size in z["shape"].split(",")]
        return np.frombuffer(
            base64.b64decode(z["bdata"]), dtype=np.dtype(z["dtype"]).newbyteorder("<")
        ).reshape(shape)
    return np.asarray(z, dtype=np.float64)


SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def expected_labels(
    tokens,
):  # written out here rather than taken from attention_viz.frames: a repeat gets "²", "³", …
    seen = Counter()
    labels = []
    for token in tokens:
        seen[token] += 1
        labels.append(token if seen[token] == 1 else token + str(seen[token]).translate(SUPERSCRIPTS))
    return labels


_ESCAPABLE = frozenset(string.punctuation)  # CommonMark: a backslash before any of these shows it literally
_MARKUP = frozenset("*_~$[]<>:")  # drawn as formatting (or dropped) when not escaped; ":" starts an icon code


def visible_text(markdown):
    """The text a reader sees of one markdown paragraph, as Streamlit renders it (a small model of CommonMark).

    Backslash escapes are resolved outside code spans only, code spans are literal, and any markup
    character left unescaped is dropped, so user text shows here exactly when the app escaped it right.
    """
    seen, i = [], 0
    while i < len(markdown):
        char = markdown[i]
        if char == "\\" and markdown[i + 1 : i + 2] in _ESCAPABLE:
            seen.append(markdown[i + 1])
            i += 2
        elif char == "`":
            fence = re.match(r"`+", markdown[i:]).group()
            end = markdown.find(fence, i + len(fence))
            if end < 0:  # an unmatched run of backticks is literal
                seen.append(fence)
                i += len(fence)
                continue
            code = markdown[i + len(fence) : end]
            seen.append(code[1:-1] if len(code) > 2 and code[0] == code[-1] == " " else code)
            i = end + len(fence)
        elif char in _MARKUP and not (
            char == "_" and markdown[i - 1 : i].isalnum() and markdown[i + 1 : i + 2].isalnum()
        ):
            i += 1  # an underscore inside a word (d_model) is literal
        else:
            seen.append(char)
            i += 1
    return "".join(seen)


def user_text_lines(path, tokens):
    """The text each page writes about the sentence in markdown, as a reader must see it."""
    labels = expected_labels(tokens)
    chosen = 0  # the output page's default token: the first, as on every page with a token picker
    return {
        "app.py": [" ".join(tokens)],
        "pages/1_embedding.py": [" · ".join(labels)],
        "pages/4_scores.py": [f"Query {labels[0]} against key {labels[0]}"],
        "pages/5_scaling.py": [f"Query {labels[0]} against key {labels[0]}"],
        "pages/6_softmax.py": [f"Row {labels[0]}"],
        "pages/7_output.py": [f"Output for {labels[chosen]}", f"output({labels[chosen]}) = "],
        "pages/13_compare.py": [f"A — {' '.join(tokens)}"],  # the second sentence: tests/test_app_whatif.py
    }.get(path, [])


def assert_sentence_handled(at, path, sentence):
    """A refused sentence gets a clear message; any other is drawn, and shown as typed, never as markup."""
    assert_full_page(at, path)
    if path in NO_TRACE:
        assert at.title
        return
    if sentence in REFUSED:
        assert any(REFUSED[sentence] in info.value for info in at.info), [info.value for info in at.info]
        assert not at.get("plotly_chart")
        return
    if path in POINTERS:  # the random model has no layers, rotation or words to show: a pointer
        assert [POINTERS[path] in info.value for info in at.info] == [True]
        assert not at.get("plotly_chart")
        return
    assert not at.info
    shown = charts(at)
    assert shown
    for key, spec in shown.items():
        if any(trace["type"] == "heatmap" for trace in spec["data"]):
            for label in [*heatmap(spec)["x"], *heatmap(spec)["y"]]:
                assert "<" not in label, (key, label)  # Plotly would read it as a tag
    tokens = run_attention(sentence).tokens
    if "numbers_box" in at.session_state and not at.session_state["numbers_box"]:
        at.session_state["numbers_box"] = True  # open "Show me the numbers", as a student would
        at.run()
        assert_full_page(at, path)
    bodies = [markdown.value for markdown in at.markdown]
    seen = [visible_text(body) for body in bodies]
    for line in user_text_lines(path, tokens):
        assert any(line in text for text in seen), (line, bodies)
    if any(char in sentence for char in "*[<"):
        assert not any(sentence in body for body in bodies)  # the raw sentence would be read as markup


def assert_toasts_are_true(at):
    """A notice that a link's value was not usable says the default replaced it: so it must have."""
    values = sidebar_values(at)
    for toast in (t for t in at.toast if "not usable" in t.value):
        for key, default in DEFAULT_VALUES.items():
            if re.search(rf"\b{key}\b", toast.value):
                assert values[key] == default, (toast.value, key, str(values[key])[:60])


@pytest.mark.parametrize("sentence", HOSTILE, ids=HOSTILE_IDS)
@pytest.mark.parametrize("path", [page.path for page in PAGES], ids=PAGE_IDS)
def test_a_hostile_sentence_in_the_link(path, sentence):
    at = open_page(path, {"sentence": sentence})
    assert_sentence_handled(at, path, sentence)


def test_a_notice_about_a_linked_sentence_tells_what_the_page_used():
    # The sentence box keeps the first 2,000 characters of a longer link; a notice must not claim otherwise.
    at = open_page("app.py", {"sentence": PASTE})
    assert_sentence_handled(at, "app.py", PASTE)
    assert_toasts_are_true(at)
    assert [t.value for t in at.toast] == ["The link's sentence was cut to its first 2,000 characters."]


@pytest.mark.parametrize("path", [page.path for page in PAGES], ids=PAGE_IDS)
def test_defaults_then_hostile_sentences_typed_one_after_another(path):
    at = open_page(path)
    assert_sentence_handled(at, path, DEFAULT_SENTENCE)
    assert not at.toast
    for sentence in [*HOSTILE, DEFAULT_SENTENCE]:  # ending on the default: the page recovers from each
        # set_value, not input: AppTest's input() drops text over max_chars, while a browser keeps the first
        # max_chars characters of a paste; Streamlit then cuts what set_value sends the same way.
        at.sidebar.text_input(key="sentence").set_value(sentence).run()
        assert_sentence_handled(at, path, sentence)


# Chart data against the trace computed here.

SETTINGS = {  # id -> (URL parameters, the same settings as a config, the 0-based head they select)
    "2-heads-causal-unscaled": (
        {"heads": "2", "head": "2", "causal": "true", "scale": "false", "temperature": "0.5"},
        AttentionConfig(n_heads=2, causal=True, scale=False, temperature=0.5),
        1,
    ),
    "3-heads-sinusoidal-sizes": (
        {
            "sentence": "a dog chased the other dog .",
            "seed": "7",
            "d_model": "6",
            "d_k": "5",
            "d_v": "3",
            "heads": "3",
            "head": "3",
            "positional": "sinusoidal",
            "temperature": "2",
        },
        AttentionConfig(d_model=6, d_k=5, d_v=3, n_heads=3, seed=7, positional="sinusoidal", temperature=2.0),
        2,
    ),
}


def reference(params, config):  # the trace the page must show, computed without the app
    return run_attention(params.get("sentence", DEFAULT_SENTENCE), config)


def expected_charts(path, t, h):  # -> {chart key: matrix it must show} for trace t and 0-based head h
    n_heads = t.config.n_heads
    chosen = 0  # the output page's default token: the first, as on every page with a token picker
    pipeline = {"chart_scores": t.scores[h], "chart_scaled": t.scaled[h], "chart_weights": t.weights[h]}
    per_head = {f"chart_overview_head_{g + 1}": t.weights[g] for g in range(n_heads)} if n_heads > 1 else {}
    after_edit = {
        "chart_whatif_Q": t.q[h],
        "chart_whatif_K": t.k[h],
        "chart_whatif_V": t.v[h],
        "chart_whatif_scores": t.scores[h],
        "chart_whatif_weights": t.weights[h],
        "chart_whatif_head_output": t.head_outputs[h],
        "chart_whatif_output": t.output,
    }
    return {
        "app.py": {
            "chart_overview_1_embedding": t.x,
            "chart_overview_2_projection": np.hstack([t.w_q[h], t.w_k[h], t.w_v[h]]),
            "chart_overview_3_qkv": np.hstack([t.q[h], t.k[h], t.v[h]]),
            "chart_overview_4_scores": t.scores[h],
            "chart_overview_5_scaling": t.scaled[h],
            "chart_overview_6_softmax": t.weights[h],
            "chart_overview_7_output": t.head_outputs[h],
            **per_head,
        },
        "pages/1_embedding.py": {"chart_X": t.x}
        | (
            {"chart_embeddings": t.x - t.positional, "chart_positional": t.positional}
            if t.positional.any()
            else {}
        ),
        "pages/2_projection.py": {
            **{f"chart_X_for_{name}": t.x for name in "QKV"},
            "chart_W_q": t.w_q[h],
            "chart_W_k": t.w_k[h],
            "chart_W_v": t.w_v[h],
            "chart_Q": t.q[h],
            "chart_K": t.k[h],
            "chart_V": t.v[h],
        },
        "pages/3_qkv.py": {"chart_Q": t.q[h], "chart_K": t.k[h], "chart_V": t.v[h]},
        "pages/4_scores.py": pipeline,
        "pages/5_scaling.py": pipeline,
        "pages/6_softmax.py": pipeline,
        "pages/7_output.py": {
            "chart_weights": t.weights[h],
            "chart_head_output": t.head_outputs[h],
            f"chart_weighted_sum_{chosen + 1}": np.vstack(
                [t.weights[h, chosen][:, None] * t.v[h], t.weights[h, chosen] @ t.v[h]]
            ),
        },
        "pages/8_heads.py": {
            **{f"chart_weights_head_{g + 1}": t.weights[g] for g in range(n_heads)},
            "chart_concat": np.hstack(list(t.head_outputs)),
            "chart_W_o": t.w_o,
            "chart_output": t.output,
        },
        "pages/9_why_scale.py": pipeline,
        "pages/12_what_if.py": {  # before any edit: the trace, and no change (edits: tests/test_app_whatif.py)
            **after_edit,
            **{f"{key}_change": np.zeros_like(matrix) for key, matrix in after_edit.items()},
        },
        "pages/13_compare.py": {"chart_compare_a": t.weights[h]},  # B and B − A: tests/test_app_whatif.py
        "pages/18_across_layers.py": {  # one layer: its heads' mean, and that with the residual
            "chart_layer_mean": t.weights.mean(axis=0),
            "chart_rollout": 0.5 * t.weights.mean(axis=0) + 0.5 * np.eye(len(t.tokens)),
        },
    }[path]


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("path", CHART_PAGES, ids=[Path(path).stem for path in CHART_PAGES])
def test_charts_show_the_trace_of_the_linked_settings(path, setting):
    params, config, head = SETTINGS[setting]
    t = reference(params, config)
    # The settings must change what is drawn, or a page that ignored them would pass.
    assert not np.allclose(t.weights[head], t.weights[0 if head else 1])
    if config.causal:
        unmasked = reference(params, dataclasses.replace(config, causal=False))
        later = np.triu_indices(len(t.tokens), 1)  # keys after the query
        assert unmasked.weights[head][later].all() and not t.weights[head][later].any()
    at = open_page(path, params)
    assert_full_page(at, path)
    shown = charts(at)
    expected = expected_charts(path, t, head)
    assert set(expected) <= set(shown), sorted(shown)
    labels = [html.escape(label, quote=False) for label in expected_labels(t.tokens)]
    for key, matrix in expected.items():
        np.testing.assert_allclose(heatmap_z(shown[key]), matrix, rtol=1e-12, atol=1e-15, err_msg=key)
        if matrix.shape == (len(labels), len(labels)):  # a query-by-key chart: tokens on both axes
            assert heatmap(shown[key])["y"] == heatmap(shown[key])["x"] == labels, key


# Deep links.

FULL_PARAMS = {  # every setting away from its default, as the URL writes it
    "sentence": "colourless green ideas sleep",
    "seed": "11",
    "d_model": "10",
    "d_k": "6",
    "d_v": "2",
    "heads": "4",
    "head": "3",
    "positional": "sinusoidal",
    "causal": "true",
    "scale": "false",
    "temperature": "0.75",
}
FULL_WIDGETS = {  # the same, as the sidebar's widgets must read it
    "sentence": "colourless green ideas sleep",
    "seed": 11,
    "d_model": 10,
    "d_k": 6,
    "d_v": 2,
    "heads": 4,
    "head": 3,
    "positional": "sinusoidal",
    "causal": True,
    "scale": False,
    "temperature": 0.75,
    "predict": False,
    "present": False,
}
FULL_CONFIG = AttentionConfig(
    d_model=10,
    d_k=6,
    d_v=2,
    n_heads=4,
    seed=11,
    positional="sinusoidal",
    causal=True,
    scale=False,
    temperature=0.75,
)


@pytest.mark.parametrize("path", ["app.py", "pages/6_softmax.py"], ids=["overview", "stage-6"])
def test_a_link_restores_every_setting(path):
    at = open_page(path, FULL_PARAMS)
    assert_full_page(at, path)
    assert not at.toast
    assert sidebar_values(at) == FULL_WIDGETS
    key = "chart_overview_6_softmax" if path == "app.py" else "chart_weights"
    np.testing.assert_allclose(
        heatmap_z(charts(at)[key]), run_attention(FULL_PARAMS["sentence"], FULL_CONFIG).weights[2]
    )


BAD_LINKS = {  # id -> (URL parameters, the ones that must be refused with a notice each)
    "d_k=abc": ({"d_k": "abc"}, ["d_k"]),
    "heads=99": ({"heads": "99"}, ["heads"]),
    "temperature=nan": ({"temperature": "nan"}, ["temperature"]),
    "temperature=inf": ({"temperature": "inf"}, ["temperature"]),
    "causal=maybe": ({"causal": "maybe"}, ["causal"]),
    "positional=zzz": ({"positional": "zzz"}, ["positional"]),
    "seed=-1": ({"seed": "-1"}, ["seed"]),
    "d_model=1.5": ({"d_model": "1.5"}, ["d_model"]),
    "foo=1": ({"foo": "1"}, ["foo"]),
    "all-at-once": (
        {
            "d_k": "abc",
            "heads": "99",
            "temperature": "nan",
            "causal": "maybe",
            "positional": "zzz",
            "foo": "1",
        },
        ["d_k", "heads", "temperature", "causal", "positional", "foo"],
    ),
}


@pytest.mark.parametrize("path", ["app.py", "pages/4_scores.py"], ids=["overview", "stage-4"])
@pytest.mark.parametrize("link", BAD_LINKS)
def test_a_bad_link_opens_with_defaults_and_says_what_it_ignored(link, path):
    params, refused = BAD_LINKS[link]
    at = open_page(path, params)
    assert_full_page(at, path)
    assert sidebar_values(at) == DEFAULT_VALUES
    notices = [toast.value for toast in at.toast]
    assert len(notices) == len(refused), notices
    for key in refused:
        assert sum(bool(re.search(rf"\b{key}\b", notice)) for notice in notices) == 1, (key, notices)
    key = "chart_overview_6_softmax" if path == "app.py" else "chart_weights"
    np.testing.assert_allclose(heatmap_z(charts(at)[key]), run_attention(DEFAULT_SENTENCE).weights[0])


def test_a_head_beyond_the_linked_number_of_heads_falls_back_to_the_first():
    at = open_page("pages/6_softmax.py", {"heads": "2", "head": "5"})
    assert_full_page(at, "pages/6_softmax.py")
    assert sidebar_values(at)["head"] == 1
    assert len(at.toast) == 1 and re.search(r"\bhead\b", at.toast[0].value)
    weights = run_attention(DEFAULT_SENTENCE, AttentionConfig(n_heads=2)).weights[0]
    np.testing.assert_allclose(heatmap_z(charts(at)["chart_weights"]), weights)


@pytest.mark.parametrize("name", ["**foo**", "[x](http://example.com)", "<b>x</b>"])
def test_an_unknown_parameter_is_named_literally_in_its_notice(name):
    # The name comes from whoever wrote the link; st.toast reads markdown.
    at = open_page("app.py", {name: "1"})
    assert_full_page(at, "app.py")
    assert len(at.toast) == 1
    assert name in visible_text(at.toast[0].value), at.toast[0].value


# "Show me the numbers", with the cell chosen in the URL.

NUMBERS_PARAMS = {"heads": "2", "head": "2", "causal": "true", "query": "sat", "key": "cat"}
NUMBERS_TRACE = run_attention(DEFAULT_SENTENCE, AttentionConfig(n_heads=2, causal=True))
SAT, CAT, HEAD = 2, 1, 1  # positions in "the cat sat on the mat", and the second head


PRINTED = 5e-5  # the numbers panel prints 4 decimals


def shown_numbers(table):  # the numbers panel's table as printed (4 decimals, −∞) -> floats
    return table.value.replace("−∞", "-inf").astype(np.float64)


@pytest.mark.parametrize("path", ["pages/4_scores.py", "pages/5_scaling.py"], ids=["stage-4", "stage-5"])
def test_the_score_table_is_the_linked_cell(path):
    at = open_page(path, NUMBERS_PARAMS)
    assert_full_page(at, path)
    assert at.selectbox(key="query").value == "sat" and at.selectbox(key="key").value == "cat"
    table = shown_numbers(at.table[0])  # columns: q_sat[m], k_cat[m], their product
    q, k = NUMBERS_TRACE.q[HEAD, SAT], NUMBERS_TRACE.k[HEAD, CAT]
    np.testing.assert_allclose(table.iloc[:, 0], q, atol=PRINTED)
    np.testing.assert_allclose(table.iloc[:, 1], k, atol=PRINTED)
    np.testing.assert_allclose(table.iloc[:, 2], q * k, atol=PRINTED)
    np.testing.assert_allclose(table.iloc[:, 2].sum(), q @ k, atol=len(q) * PRINTED)


def test_the_softmax_table_is_the_linked_row():
    at = open_page("pages/6_softmax.py", NUMBERS_PARAMS)
    assert_full_page(at, "pages/6_softmax.py")
    table = shown_numbers(at.table[0])  # columns: scaled score, minus row max, exp, weight
    q, k = NUMBERS_TRACE.q[HEAD, SAT], NUMBERS_TRACE.k[HEAD]
    logits = k @ q / np.sqrt(DEFAULTS.d_k)
    allowed = np.arange(len(logits)) <= SAT  # the causal mask: keys up to "sat"
    exps = np.where(allowed, np.exp(logits - logits[allowed].max()), 0.0)
    np.testing.assert_allclose(table.iloc[:, 0], logits, atol=PRINTED)
    np.testing.assert_allclose(table.iloc[:, 2], exps, atol=PRINTED)
    np.testing.assert_allclose(table.iloc[:, 3], exps / exps.sum(), atol=PRINTED)
    assert (at.table[0].value.iloc[:, 1][~allowed] == "−∞").all()  # masked keys, printed as the symbol


def test_the_output_table_is_the_linked_token():
    at = open_page("pages/7_output.py", {**NUMBERS_PARAMS, "query": "on"})
    assert_full_page(at, "pages/7_output.py")
    table = shown_numbers(at.table[0])  # rows: one per key, then the sum; columns: weight, then weight × v
    on = 3
    weights, values = NUMBERS_TRACE.weights[HEAD, on], NUMBERS_TRACE.v[HEAD]
    np.testing.assert_allclose(table.iloc[:-1, 0], weights, atol=PRINTED)
    np.testing.assert_allclose(table.iloc[:-1, 1:], weights[:, None] * values, atol=PRINTED)
    np.testing.assert_allclose(table.iloc[-1, 1:], weights @ values, atol=PRINTED)
    shown = heatmap_z(charts(at)[f"chart_weighted_sum_{on + 1}"])
    np.testing.assert_allclose(shown[-1], weights @ values)


def test_every_heatmap_has_a_text_alternative_and_a_table_made_only_while_open():
    at = open_page("pages/6_softmax.py", {"d_model": "64"})
    trace = run_attention(DEFAULT_SENTENCE, AttentionConfig(d_model=64))
    tokens = ["the", "cat", "sat", "on", "the²", "mat"]
    alts = {chart.key: chart.proto.alt for chart in at.get("plotly_chart")}
    tables = [e.label for e in at.expander if e.label.startswith("Numbers as a table")]
    assert len(tables) == len(alts) == 3 and all(label.endswith("(6 × 6)") for label in tables)
    weights = trace.weights[0]
    i, j = divmod(int(np.argmax(weights)), weights.shape[1])  # the largest weight, found here
    assert alts["chart_weights"].startswith("A (softmax weights), 6 × 6")  # its title, without the ▶
    assert alts["chart_weights"].endswith(
        f"the row for {tokens[i]} puts most weight, {weights[i, j]:.2f}, on {tokens[j]}"
    )
    scores = trace.scores[0]
    i, j = divmod(int(np.argmax(scores)), 6)
    assert (
        f"largest {scores[i, j]:.2f} at query {tokens[i]}, key {tokens[j]}".replace("-", "−")
        in alts["chart_scores"]
    )
    assert not at.table  # closed: nothing is converted or sent
    at.session_state["table_weights"] = True  # what a click on the expander sets
    at.run()
    assert not at.exception
    (table,) = at.table
    np.testing.assert_allclose(shown_numbers(table), weights, atol=PRINTED)
    assert list(table.value.index) == tokens and list(table.value.columns) == tokens


def test_the_link_to_this_view_is_spelled_out_when_its_box_is_opened():
    at = open_page("pages/6_softmax.py", {"sentence": "one two", "causal": "true"})
    assert not at.sidebar.code  # closed
    at.session_state["link_box"] = True
    at.run()
    (code,) = at.sidebar.code
    address = urlsplit(code.value)
    assert address.path.endswith("/softmax")
    assert dict(parse_qsl(address.query)) == {"sentence": "one two", "causal": "true"}


# Page links: the way settings reach the next page.


def link_params(link):  # -> the URL parameters a page link carries
    return dict(parse_qsl(link.proto.query_string, keep_blank_values=True))


@pytest.mark.parametrize("path", ["app.py", "pages/4_scores.py"], ids=["overview", "stage-4"])
def test_page_links_carry_the_linked_settings(path):
    # The chosen cell is not in them: a pick reruns only its panel, so it travels in the session instead.
    params = {**FULL_PARAMS, "query": "green", "key": "ideas"} if path != "app.py" else FULL_PARAMS
    at = open_page(path, params)
    links = at.get("page_link")  # the sidebar list, and the overview's panels or previous/next
    assert len(links) > len(PAGES)
    for link in links:
        assert link_params(link) == FULL_PARAMS, link.proto.label


def open_numbers(at):  # open "Show me the numbers", whose pickers are made only while it is open
    at.session_state["numbers_box"] = True
    return at.run()


def test_the_numbers_panel_is_made_when_opened_and_stays_open_on_the_next_stage():
    at = open_page("pages/4_scores.py")
    assert not at.table and "query" not in [box.key for box in at.selectbox]  # closed: nothing made
    open_numbers(at)
    assert at.table and at.selectbox(key="query").value == "the"
    at.switch_page("pages/6_softmax.py").run()
    assert at.table  # still open
    assert open_page("pages/5_scaling.py", {"key": "cat"}).table  # a link naming a cell opens it


def test_the_chosen_cell_travels_to_the_next_stage_and_into_the_view_link():
    at = open_numbers(open_page("pages/4_scores.py", FULL_PARAMS))
    at.selectbox(key="query").set_value("ideas").run()
    at.selectbox(key="key").set_value("green").run()
    (link,) = [
        link for link in at.sidebar.get("page_link") if link.proto.page == url_path("pages/5_scaling.py")
    ]
    at.query_params = link_params(link)  # what the browser's URL becomes on the click
    at.switch_page("pages/5_scaling.py").run()
    assert not at.exception
    assert at.selectbox(key="query").value == "ideas" and at.selectbox(key="key").value == "green"
    at.session_state["link_box"] = True
    at.run()
    query = dict(parse_qsl(urlsplit(at.sidebar.code[0].value).query))
    assert query == {**FULL_PARAMS, "query": "ideas", "key": "green"}


def test_a_cell_carried_to_a_sentence_without_it_falls_back_to_the_first_token():
    at = open_numbers(open_page("pages/4_scores.py", {"sentence": "one two three"}))
    at.selectbox(key="query").set_value("three").run()
    at.switch_page("app.py").run()
    at.sidebar.text_input(key="sentence").set_value("four five").run()
    at.switch_page("pages/6_softmax.py").run()
    assert not at.exception
    assert at.selectbox(key="query").value == "four"


def test_page_links_carry_nothing_for_the_defaults():
    at = open_page("pages/4_scores.py")
    assert [link_params(link) for link in at.get("page_link")] == [{}] * len(at.get("page_link"))


def test_page_links_carry_settings_changed_in_the_sidebar():
    at = open_page("pages/4_scores.py")
    at.sidebar.text_input(key="sentence").set_value("a b c").run()
    at.sidebar.toggle(key="causal").set_value(True).run()
    at.sidebar.number_input(key="d_k").set_value(7).run()
    open_numbers(at).selectbox(key="key").set_value("b").run()
    assert not at.exception
    for link in at.get("page_link"):
        assert link_params(link) == {"sentence": "a b c", "causal": "true", "d_k": "7"}
    # The view's own link names the chosen cell too; the default query "a" is left out.
    assert at.selectbox(key="query").value == "a"
    at.session_state["link_box"] = True
    at.run()
    query = dict(parse_qsl(urlsplit(at.sidebar.code[0].value).query))
    assert query == {"sentence": "a b c", "causal": "true", "d_k": "7", "key": "b"}


@pytest.mark.parametrize("start", ["app.py", "pages/6_softmax.py"], ids=["from-overview", "from-stage-6"])
def test_settings_from_a_link_survive_a_click_on_a_page_link(start):
    # A teacher shares a link; the class opens it and clicks the next page: it must show the same settings.
    at = open_page(start, FULL_PARAMS)
    target = "pages/4_scores.py"
    (link,) = [link for link in at.sidebar.get("page_link") if link.proto.page == url_path(target)]
    at.query_params = link_params(link)  # what the browser's URL becomes on the click
    at.switch_page(target).run()
    assert_full_page(at, target)
    expected = run_attention(FULL_PARAMS["sentence"], FULL_CONFIG).scores[2]
    np.testing.assert_allclose(heatmap_z(charts(at)["chart_scores"]), expected)
    assert sidebar_values(at) == FULL_WIDGETS


def test_a_page_runs_with_one_blas_thread():
    # OpenBLAS starts with a thread per core; the sessions' script threads are the server's parallelism.
    # threadpoolctl lets one living thread at a time set the limit: a thread of its own sets two.
    setter = threading.Thread(target=threadpool_limits, kwargs={"limits": 2, "user_api": "blas"})
    setter.start()
    setter.join()
    at = open_page("pages/4_scores.py")
    assert not at.exception
    assert {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"} == {1}
