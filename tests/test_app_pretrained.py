"""The real-model mode in the app: MiniLM's numbers on the pages, every head on one page, and the app
without the model."""

import numpy as np
import pytest
import streamlit as st
from test_app_pages import assert_full_page, charts, heatmap, heatmap_z, open_page

from attention_core import run_attention
from attention_core.pretrained import MODEL_DIR_VARIABLE, load_pretrained

SENTENCE = "The cat sat on the mat because it was tired."
LINK = {"model": "MiniLM", "layer": "3", "head": "7", "sentence": SENTENCE}


@pytest.fixture(scope="module")
def model():
    return load_pretrained()


def decode_z(z):  # a heatmap trace's z, plain or base64 as Plotly sends it
    return heatmap_z({"data": [{"type": "heatmap", "z": z}]})


@pytest.mark.parametrize("path", ["pages/4_scores.py", "pages/6_softmax.py"])
def test_stage_pages_show_the_chosen_layer_and_head(model, path):
    at = open_page(path, LINK)
    assert_full_page(at, path)
    expected = model.run(SENTENCE, 3)
    shown = charts(at)
    np.testing.assert_allclose(heatmap_z(shown["chart_scores"]), expected.scores[6], rtol=1e-12)
    np.testing.assert_allclose(heatmap_z(shown["chart_weights"]), expected.weights[6], rtol=1e-12)
    assert heatmap(shown["chart_weights"])["y"][0] == "[CLS]"
    assert heatmap(shown["chart_weights"])["y"][-1] == "[SEP]"
    # Another head of the same layer looks different, so a page that ignored the head would fail.
    assert not np.allclose(expected.weights[6], expected.weights[0])


def test_stage_two_shows_the_real_weight_slices_and_biases(model):
    at = open_page("pages/2_projection.py", LINK)
    assert_full_page(at, "pages/2_projection.py")
    expected = model.run(SENTENCE, 3)
    shown = charts(at)
    np.testing.assert_allclose(heatmap_z(shown["chart_W_q"]), expected.w_q[6], rtol=1e-12)
    np.testing.assert_allclose(heatmap_z(shown["chart_b_k"]), expected.b_k[6][None, :], rtol=1e-12)
    assert "Numbers as a table (384 × 32)" in [e.label for e in at.expander]  # one head's slice of W_q


def test_the_model_view_shows_every_layer_and_head(model):
    at = open_page("pages/11_model_view.py", LINK)
    assert_full_page(at, "pages/11_model_view.py")
    (grid,) = charts(at).values()
    heatmaps = [decode_z(trace["z"]) for trace in grid["data"] if trace["type"] == "heatmap"]
    expected = model.attentions(SENTENCE)
    assert len(heatmaps) == expected.shape[0] * expected.shape[1] == 72
    np.testing.assert_allclose(np.stack(heatmaps).reshape(expected.shape), expected, rtol=1e-12)


def test_the_overview_shows_the_layer_with_every_head(model):
    at = open_page("app.py", LINK)
    assert_full_page(at, "app.py")
    shown = charts(at)
    expected = model.run(SENTENCE, 3)
    np.testing.assert_allclose(heatmap_z(shown["chart_overview_6_softmax"]), expected.weights[6], rtol=1e-12)
    grid = [decode_z(trace["z"]) for trace in shown["chart_overview_heads"]["data"]]
    np.testing.assert_allclose(np.stack(grid), expected.weights, rtol=1e-12)
    # 384 columns are cut to a readable thumbnail, and the page says so.
    assert heatmap_z(shown["chart_overview_1_embedding"]).shape == (len(expected.tokens), 64)
    assert any("of 13 × 384" in caption.value for caption in at.caption)


def test_a_sentence_over_the_window_gets_a_message():
    at = open_page("pages/6_softmax.py", {**LINK, "sentence": "word " * 130})
    assert_full_page(at, "pages/6_softmax.py")
    assert any("word pieces" in info.value and "128" in info.value for info in at.info)
    assert not at.get("plotly_chart")


def test_without_the_model_its_option_is_left_out_with_the_reason_and_the_others_work(tmp_path, monkeypatch):
    monkeypatch.setenv(MODEL_DIR_VARIABLE, str(tmp_path / "no-such-model"))
    st.cache_resource.clear()  # the status is cached per process; this test changes the process's model
    try:
        at = open_page("pages/6_softmax.py", LINK)
        assert_full_page(at, "pages/6_softmax.py")
        radio = at.sidebar.radio(key="model")
        assert (
            list(radio.options) == ["random", "SmolLM2", "trained"] and not radio.disabled
        )  # the trained layer too
        assert any("MiniLM is unavailable" in caption.value for caption in at.sidebar.caption)
        (notice,) = [toast.value for toast in at.toast]  # not one each for the layer and head it named
        assert "“MiniLM” is unavailable" in notice and "using random instead" in notice
        # The random model keeps working: the page shows its trace, not MiniLM's.
        expected = run_attention(SENTENCE).weights[0]
        np.testing.assert_allclose(heatmap_z(charts(at)["chart_weights"]), expected, rtol=1e-12)
    finally:
        monkeypatch.delenv(MODEL_DIR_VARIABLE)
        st.cache_resource.clear()
