"""The "What if?" and "Compare" pages under AppTest, and their helpers (ui.whatif) called directly.

Expected numbers come from run_attention and attend on copies edited here, never from the page's helpers.
AppTest cannot type into st.data_editor; it is given the edit state the browser sends
({"edited_rows": {row: {column: value}}, ...}) under the editor's key before a run.
"""

import dataclasses
import re
from urllib.parse import parse_qsl

import numpy as np
import pandas as pd
import pytest
from test_app_pages import (
    REFUSED,
    assert_full_page,
    charts,
    expected_labels,
    heatmap,
    heatmap_z,
    open_page,
    visible_text,
)

from attention_core import AttentionConfig, Weights, attend, run_attention
from attention_viz import whatif

WHAT_IF = "pages/12_what_if.py"
COMPARE = "pages/13_compare.py"
SENTENCE = "the cat sat on the mat"
CAT, SAT = 1, 2  # positions in SENTENCE
TWO_HEADS = {"heads": "2", "head": "2"}  # the second head: a page that ignored the head would fail
HEAD = 1
CONFIG = AttentionConfig(n_heads=2)


def weights_of(t):  # the trace's weights, written out here rather than taken from ui.whatif
    return Weights(t.w_q, t.w_k, t.w_v, t.w_o, t.b_q, t.b_k, t.b_v, t.b_o)


def edit(at, rows):  # {row: {column id: value}} -> the page after the browser sent these edits
    (editor,) = at.data_editor
    at.session_state[editor.key] = {"edited_rows": rows, "added_rows": [], "deleted_rows": []}
    return at.run()


def shown(at, name):
    return heatmap_z(charts(at)[f"chart_whatif_{name}"])


def assert_shows(at, before, after, h, names):
    """Each result after the edit, and its change, equal what attend() gave for the same edit."""
    fields = {
        "Q": lambda t: t.q[h],
        "K": lambda t: t.k[h],
        "V": lambda t: t.v[h],
        "scores": lambda t: t.scores[h],
        "weights": lambda t: t.weights[h],
        "head_output": lambda t: t.head_outputs[h],
        "output": lambda t: t.output,
    }
    drawn = charts(at)
    assert {
        key.removeprefix("chart_whatif_").removesuffix("_change") for key in drawn if "whatif" in key
    } == set(names)
    for name in names:
        field = fields[name]
        np.testing.assert_allclose(shown(at, name), field(after), rtol=1e-12, atol=1e-14, err_msg=name)
        np.testing.assert_allclose(
            shown(at, f"{name}_change"), field(after) - field(before), rtol=1e-9, atol=1e-14, err_msg=name
        )


def page_text(at):
    return [visible_text(markdown.value) for markdown in at.markdown]


# What if? Edit a number


def test_the_page_starts_from_the_computed_values_and_says_nothing_changed():
    at = open_page(WHAT_IF, TWO_HEADS)
    assert_full_page(at, WHAT_IF)
    t = run_attention(SENTENCE, CONFIG)
    assert_shows(at, t, t, HEAD, ["Q", "K", "V", "scores", "weights", "head_output", "output"])
    assert at.button(key="whatif_reset").disabled
    table = at.data_editor[0].value
    np.testing.assert_array_equal(table.to_numpy(), t.x)
    assert list(table.index) == expected_labels(t.tokens)


def test_an_edit_of_x_changes_every_later_stage_by_what_attend_computes():
    at = open_page(WHAT_IF, TWO_HEADS)
    edit(at, {CAT: {"c3": 2.0}})  # X[cat, x3] = 2
    assert_full_page(at, WHAT_IF)
    t = run_attention(SENTENCE, CONFIG)
    x = t.x.copy()
    x[CAT, 2] = 2.0
    after = attend(t.config, t.tokens, x, t.positional, weights_of(t))
    assert_shows(at, t, after, HEAD, ["Q", "K", "V", "scores", "weights", "head_output", "output"])
    # Only cat's row of Q changes; its row and column of scores; then every weight, through that column.
    q_change = shown(at, "Q_change")
    assert q_change[CAT].all() and not np.delete(q_change, CAT, axis=0).any()
    score_change = shown(at, "scores_change") != 0
    assert score_change[CAT].all() and score_change[:, CAT].all() and score_change.sum() == 2 * 6 - 1
    assert (shown(at, "weights_change") != 0).all()
    assert any(f"You changed X[cat, x3] = 2.000 (was {t.x[CAT, 2]:.3f})" in text for text in page_text(at))
    assert not at.button(key="whatif_reset").disabled


def test_a_score_edit_changes_only_that_query_row_of_weights():
    at = open_page(WHAT_IF, TWO_HEADS)
    at.segmented_control(key="whatif_target").set_value("scores").run()
    table = at.data_editor[0].value
    t = run_attention(SENTENCE, CONFIG)
    np.testing.assert_array_equal(table.to_numpy(), t.scores[HEAD])
    edit(at, {SAT: {"c2": 10.0}})  # the score of query "sat" against key "cat"
    assert_full_page(at, WHAT_IF)
    scores = t.scores.copy()
    scores[HEAD, SAT, CAT] = 10.0
    after = attend(t.config, t.tokens, t.x, t.positional, weights_of(t), scores=scores)
    assert_shows(at, t, after, HEAD, ["weights", "head_output", "output"])
    weights = shown(at, "weights")
    np.testing.assert_array_equal(np.delete(weights, SAT, axis=0), np.delete(t.weights[HEAD], SAT, axis=0))
    assert (weights[SAT] != t.weights[HEAD, SAT]).all()
    assert weights[SAT].argmax() == CAT  # a score of 10 (÷ √d_k = 5) wins the row
    np.testing.assert_array_equal(
        np.delete(shown(at, "head_output"), SAT, axis=0), np.delete(t.head_outputs[HEAD], SAT, axis=0)
    )


def test_a_w_q_edit_changes_one_column_of_q_and_leaves_k_and_v_alone():
    at = open_page(WHAT_IF, TWO_HEADS)
    at.segmented_control(key="whatif_target").set_value("w_q").run()
    t = run_attention(SENTENCE, CONFIG)
    np.testing.assert_array_equal(at.data_editor[0].value.to_numpy(), t.w_q[HEAD])
    edit(at, {0: {"c2": -3.0}})  # W_q[x1, q2] of the head shown
    w_q = t.w_q.copy()
    w_q[HEAD, 0, 1] = -3.0
    after = attend(t.config, t.tokens, t.x, t.positional, dataclasses.replace(weights_of(t), w_q=w_q))
    assert_shows(at, t, after, HEAD, ["Q", "scores", "weights", "head_output", "output"])
    q_change = shown(at, "Q_change")
    assert q_change[:, 1].all() and not np.delete(q_change, 1, axis=1).any()


def test_reset_returns_every_chart_to_the_computed_values():
    at = open_page(WHAT_IF, TWO_HEADS)
    edit(at, {CAT: {"c3": 2.0}, 0: {"c1": -5.0}})
    t = run_attention(SENTENCE, CONFIG)
    assert not np.allclose(shown(at, "weights"), t.weights[HEAD])
    edited_key = at.data_editor[0].key
    at.button(key="whatif_reset").click().run()
    assert_full_page(at, WHAT_IF)
    assert_shows(at, t, t, HEAD, ["Q", "K", "V", "scores", "weights", "head_output", "output"])
    assert at.data_editor[0].key != edited_key  # a fresh table in the browser too
    np.testing.assert_array_equal(at.data_editor[0].value.to_numpy(), t.x)
    assert at.button(key="whatif_reset").disabled
    assert not any("You changed" in text for text in page_text(at))


def test_changing_the_sentence_starts_again_from_its_computed_values():
    at = open_page(WHAT_IF)
    edit(at, {CAT: {"c3": 2.0}})
    at.sidebar.text_input(key="sentence").set_value("a dog barked").run()
    assert_full_page(at, WHAT_IF)
    t = run_attention("a dog barked")
    assert_shows(at, t, t, 0, ["Q", "K", "V", "scores", "weights", "head_output", "output"])


def test_an_edit_of_a_masked_score_changes_nothing():
    at = open_page(WHAT_IF, {"causal": "true"})
    at.segmented_control(key="whatif_target").set_value("scores").run()
    edit(at, {0: {"c6": 50.0}})  # "the" may not look at "mat", the last token
    t = run_attention(SENTENCE, AttentionConfig(causal=True))
    assert_shows(at, t, t, 0, ["weights", "head_output", "output"])
    assert any("You changed score[the, mat] = 50.000" in text for text in page_text(at))


def test_an_emptied_cell_keeps_its_value_and_a_huge_number_is_held_at_the_limit():
    at = open_page(WHAT_IF)
    edit(at, {0: {"c1": None}, CAT: {"c2": 1e300}})
    t = run_attention(SENTENCE)
    x = t.x.copy()
    x[CAT, 1] = whatif.EDIT_LIMIT
    after = attend(t.config, t.tokens, x, t.positional, weights_of(t))
    assert_shows(at, t, after, 0, ["Q", "K", "V", "scores", "weights", "head_output", "output"])
    assert np.isfinite(shown(at, "output")).all()


@pytest.mark.parametrize(
    "resize",
    [{"added_rows": [{"c1": 1.0}] * 3000}, {"deleted_rows": [0, 1]}],
    ids=["3000-added-rows", "deleted-rows"],
)
def test_rows_added_or_deleted_against_the_fixed_size_are_refused_with_a_message(resize):
    # What a client that ignores num_rows="fixed" can send; the editor must not apply it, or fail on it.
    at = open_page(WHAT_IF, TWO_HEADS)
    (editor,) = at.data_editor
    at.session_state[editor.key] = {
        "edited_rows": {CAT: {"c3": 2.0}},
        "added_rows": [],
        "deleted_rows": [],
    } | resize
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("cannot be added or deleted" in w.value for w in at.warning)
    t = run_attention(SENTENCE, CONFIG)
    np.testing.assert_array_equal(at.data_editor[0].value.to_numpy(), t.x)  # a fresh table, nothing applied
    assert_shows(at, t, t, HEAD, ["Q", "K", "V", "scores", "weights", "head_output", "output"])


def test_an_edit_of_the_wrong_shape_is_refused_where_it_is_accepted():
    with pytest.raises(whatif.EditShapeError, match="cannot be added or removed"):
        whatif.accepted(np.zeros((2, 3)), np.zeros((3000, 3)))
    with pytest.raises(whatif.EditShapeError):
        whatif.accepted(np.zeros((2, 3)), [[1.0, "x", 2.0], [1.0, 2.0, 3.0]])


def test_token_labels_in_the_edit_summary_are_shown_as_typed():
    sentence = "**b** <i>x</i> [y](z)"
    at = open_page(WHAT_IF, {"sentence": sentence})
    edit(at, {1: {"c1": 1.5}})  # the second "*": labelled "*²"
    assert_full_page(at, WHAT_IF)
    assert any("You changed X[*², x1] = 1.500" in text for text in page_text(at)), page_text(at)
    assert not any(sentence in markdown.value for markdown in at.markdown)
    for key, spec in charts(at).items():
        assert not any("<" in label for label in [*heatmap(spec)["x"], *heatmap(spec)["y"]]), key


def test_a_token_named_like_the_editors_index_column_is_an_ordinary_column():
    at = open_page(WHAT_IF, {"sentence": "_index the cat"})
    at.segmented_control(key="whatif_target").set_value("scores").run()
    edit(at, {1: {"c1": 4.0}})  # query "the" against key "_index"
    assert_full_page(at, WHAT_IF)
    t = run_attention("_index the cat")
    scores = t.scores.copy()
    scores[0, 1, 0] = 4.0
    after = attend(t.config, t.tokens, t.x, t.positional, weights_of(t), scores=scores)
    assert_shows(at, t, after, 0, ["weights", "head_output", "output"])


def test_the_pretrained_model_can_be_edited_too():
    link = {"model": "MiniLM", "layer": "2", "head": "4", "sentence": "the cat sat"}
    at = open_page(WHAT_IF, link)
    assert_full_page(at, WHAT_IF)
    at.segmented_control(key="whatif_target").set_value("scores").run()
    from attention_core.pretrained import load_pretrained

    t = load_pretrained().run("the cat sat", 2)
    edit(at, {1: {"c3": 8.0}})  # [CLS] the cat sat [SEP]: query "the" against key "cat"
    scores = t.scores.copy()  # the trace's arrays are read-only: the page must have copied them too
    scores[3, 1, 2] = 8.0
    after = attend(t.config, t.tokens, t.x, t.positional, weights_of(t), scores=scores)
    assert_shows(at, t, after, 3, ["weights", "head_output", "output"])


# Compare two runs

MODE_LABELS = {"causal": "the causal mask switched", "scale": "the scaling switched"}


def test_compare_starts_with_another_sentence_one_word_apart():
    at = open_page(COMPARE)
    assert_full_page(at, COMPARE)
    a, b = run_attention(SENTENCE), run_attention("the dog sat on the mat")
    drawn = charts(at)
    np.testing.assert_allclose(heatmap_z(drawn["chart_compare_a"]), a.weights[0], rtol=1e-12)
    np.testing.assert_allclose(heatmap_z(drawn["chart_compare_b"]), b.weights[0], rtol=1e-12)
    np.testing.assert_allclose(
        heatmap_z(drawn["chart_compare_difference"]), b.weights[0] - a.weights[0], atol=1e-15
    )
    assert heatmap(drawn["chart_compare_difference"])["y"] == ["the", "cat→dog", "sat", "on", "the²", "mat"]
    texts = page_text(at)
    assert "A — the cat sat on the mat" in texts and "B — the dog sat on the mat" in texts


def test_the_second_run_is_part_of_the_link():
    # A teacher's link opens the comparison it was copied from; the page links carry it on.
    at = open_page(
        COMPARE, {"compare_sentence": "a dog barked at the cat", "compare_mode": "another sentence"}
    )
    assert_full_page(at, COMPARE)
    b = run_attention("a dog barked at the cat")
    np.testing.assert_allclose(heatmap_z(charts(at)["chart_compare_b"]), b.weights[0], rtol=1e-12)
    at.run()  # the next interaction: the page's widgets are in the session now
    carried = [dict(parse_qsl(link.proto.query_string)) for link in at.sidebar.get("page_link")]
    assert all(params.get("compare_sentence") == "a dog barked at the cat" for params in carried)
    assert not at.toast  # the page's own parameters are not "unknown"
    switched = open_page(COMPARE, {"compare_mode": "the causal mask switched"})
    a = run_attention(SENTENCE)
    masked = run_attention(SENTENCE, AttentionConfig(causal=True))
    np.testing.assert_allclose(heatmap_z(charts(switched)["chart_compare_a"]), a.weights[0], rtol=1e-12)
    np.testing.assert_allclose(heatmap_z(charts(switched)["chart_compare_b"]), masked.weights[0], rtol=1e-12)


@pytest.mark.parametrize("switch", ["causal", "scale"])
def test_compare_with_a_setting_switched_shows_both_runs_and_their_difference(switch):
    at = open_page(COMPARE, TWO_HEADS)
    at.segmented_control(key="compare_mode").set_value(MODE_LABELS[switch]).run()
    assert_full_page(at, COMPARE)
    a = run_attention(SENTENCE, CONFIG)
    b = run_attention(SENTENCE, dataclasses.replace(CONFIG, **{switch: not getattr(CONFIG, switch)}))
    drawn = charts(at)
    np.testing.assert_allclose(heatmap_z(drawn["chart_compare_a"]), a.weights[HEAD], rtol=1e-12)
    np.testing.assert_allclose(heatmap_z(drawn["chart_compare_b"]), b.weights[HEAD], rtol=1e-12)
    np.testing.assert_allclose(
        heatmap_z(drawn["chart_compare_difference"]), b.weights[HEAD] - a.weights[HEAD], atol=1e-15
    )
    if switch == "causal":
        assert not heatmap_z(drawn["chart_compare_b"])[np.triu_indices(6, 1)].any()
        assert "B — causal mask on" in page_text(at)
    else:  # unscaled scores are twice as large here (√d_k = 2): each row's largest weight grows
        assert b.weights[HEAD].max(axis=1).mean() > a.weights[HEAD].max(axis=1).mean()
    tables = [table.value for table in at.dataframe]
    assert [list(table.index) for table in tables] == [expected_labels(a.tokens)] * 2
    np.testing.assert_allclose(tables[1]["weight"], b.weights[HEAD].max(axis=1))


def test_sentences_of_different_lengths_are_compared_by_where_each_token_looks():
    at = open_page(COMPARE)
    at.text_input(key="compare_sentence").set_value("a dog").run()
    assert_full_page(at, COMPARE)
    assert "chart_compare_difference" not in charts(at)
    assert any("A has 6 tokens and B has 2" in caption.value for caption in at.caption)
    b = run_attention("a dog")
    table = at.dataframe[1].value
    assert list(table["looks most at"]) == [b.tokens[j] for j in b.weights[0].argmax(axis=1)]


@pytest.mark.parametrize("sentence", REFUSED, ids=["empty", "blank", "65-tokens", "10k-paste"])
def test_an_unusable_second_sentence_gets_a_message_not_a_traceback(sentence):
    at = open_page(COMPARE)
    at.text_input(key="compare_sentence").set_value(sentence).run()
    assert_full_page(at, COMPARE)
    assert [REFUSED[sentence] in info.value for info in at.info] == [True]
    assert not {"chart_compare_a", "chart_compare_b"} & set(charts(at))


@pytest.mark.parametrize("sentence", ["<script>alert(1)</script>", "**bold** [link](http://x)", "👍🏽 مرحبا"])
def test_an_odd_second_sentence_is_shown_as_typed(sentence):
    at = open_page(COMPARE)
    at.text_input(key="compare_sentence").set_value(sentence).run()
    assert_full_page(at, COMPARE)
    tokens = run_attention(sentence).tokens
    assert f"B — {' '.join(tokens)}" in page_text(at)
    if any(char in sentence for char in "*[<"):  # the raw sentence would be read as markup
        assert not any(sentence in markdown.value for markdown in at.markdown)
    spec = charts(at)["chart_compare_b"]
    assert not any("<" in label for label in heatmap(spec)["y"])
    np.testing.assert_allclose(heatmap_z(spec), run_attention(sentence).weights[0], rtol=1e-12)


def test_the_pretrained_model_compares_with_its_own_weights():
    link = {"model": "MiniLM", "layer": "1", "head": "3", "sentence": "the cat sat"}
    at = open_page(COMPARE, link)
    at.segmented_control(key="compare_mode").set_value("the causal mask switched").run()
    assert_full_page(at, COMPARE)
    from attention_core.pretrained import load_pretrained

    a = load_pretrained().run("the cat sat", 1)
    b = attend(dataclasses.replace(a.config, causal=True), a.tokens, a.x, a.positional, weights_of(a))
    drawn = charts(at)
    np.testing.assert_allclose(heatmap_z(drawn["chart_compare_b"]), b.weights[2], rtol=1e-12)
    np.testing.assert_allclose(
        heatmap_z(drawn["chart_compare_difference"]), b.weights[2] - a.weights[2], atol=1e-15
    )
    at.segmented_control(key="compare_mode").set_value("another sentence").run()
    b = load_pretrained().run("the dog sat on the mat", 1)
    np.testing.assert_allclose(heatmap_z(charts(at)["chart_compare_b"]), b.weights[2], rtol=1e-12)


# ui.whatif, called directly


@pytest.fixture
def trace():  # a trace whose arrays are read-only, as a MiniLM trace's are
    t = run_attention("the cat sat on the mat", AttentionConfig(n_heads=3, causal=True))
    for name in ("x", "w_q", "w_k", "w_v", "w_o", "scores"):
        getattr(t, name).flags.writeable = False
    return t


def test_recompute_replaces_only_what_was_edited(trace):
    x = trace.x.copy()
    x[2, 0] += 1.0
    after = whatif.recompute(trace, "x", 1, x)
    np.testing.assert_array_equal(after.x, x)
    np.testing.assert_allclose(after.q, x @ trace.w_q)  # all heads read X
    w_q = trace.w_q[1].copy()
    w_q[0, 0] = 5.0
    after = whatif.recompute(trace, "w_q", 1, w_q)
    np.testing.assert_array_equal(after.q[[0, 2]], trace.q[[0, 2]])
    np.testing.assert_allclose(after.q[1], trace.x @ w_q)
    np.testing.assert_array_equal(after.k, trace.k)
    scores = trace.scores[1].copy()
    scores[3, 0] = 7.0
    after = whatif.recompute(trace, "scores", 1, scores)
    np.testing.assert_array_equal(after.scores[[0, 2]], trace.scores[[0, 2]])
    np.testing.assert_array_equal(after.scores[1], scores)
    np.testing.assert_array_equal(after.weights[1, [0, 1, 2, 4, 5]], trace.weights[1, [0, 1, 2, 4, 5]])
    assert trace.w_q[1, 0, 0] != 5.0  # the trace itself is untouched


def test_rerun_equals_a_fresh_run_with_the_setting_changed(trace):
    for changes in ({"causal": False}, {"scale": False}, {"temperature": 3.0}):
        fresh = run_attention("the cat sat on the mat", dataclasses.replace(trace.config, **changes))
        np.testing.assert_allclose(whatif.rerun(trace, **changes).weights, fresh.weights, rtol=1e-12)


def test_target_matrices_and_labels_match_the_trace(trace):
    tokens = expected_labels(trace.tokens)
    np.testing.assert_array_equal(whatif.target_matrix(trace, "x", 2), trace.x)
    np.testing.assert_array_equal(whatif.target_matrix(trace, "w_q", 2), trace.w_q[2])
    np.testing.assert_array_equal(whatif.target_matrix(trace, "scores", 2), trace.scores[2])
    assert whatif.target_labels(trace, "x") == (tokens, [f"x{m}" for m in range(1, 9)])
    assert whatif.target_labels(trace, "w_q") == ([f"x{m}" for m in range(1, 9)], ["q1", "q2", "q3", "q4"])
    assert whatif.target_labels(trace, "scores") == (tokens, tokens)
    assert whatif.result_labels(trace, "weights") == (tokens, tokens)
    assert whatif.result_labels(trace, "output")[1] == [f"y{m}" for m in range(1, 9)]
    np.testing.assert_array_equal(whatif.result_matrix(trace, "head_output", 2), trace.head_outputs[2])
    np.testing.assert_array_equal(whatif.result_matrix(trace, "output", 2), trace.output)


def test_every_target_lists_only_results_that_exist_in_stage_order():
    order = [result.name for result in whatif.RESULTS]
    for target in whatif.TARGETS:
        names = whatif.AFFECTED[target]
        assert [name for name in order if name in names] == list(names)


def test_accepted_keeps_emptied_cells_and_holds_numbers_at_the_limit():
    before = np.array([[1.0, 2.0], [3.0, 4.0]])
    edited = np.array([[np.nan, -1e9], [3.5, 4.0]])
    np.testing.assert_array_equal(whatif.accepted(before, edited), [[1.0, -whatif.EDIT_LIMIT], [3.5, 4.0]])


def test_changed_cells_ignores_rounding_noise():
    before = np.array([[1.0, 2.0, 3.0]])
    after = before + np.array([[0.0, 1e-14, 1e-6]])
    np.testing.assert_array_equal(whatif.changed_cells(before, after), [[False, False, True]])
    assert whatif.changed_cells(before, after, atol=1e-7).tolist() == [[False, False, True]]
    assert whatif.largest_change(before, after) == pytest.approx(1e-6)


def test_edits_name_each_changed_cell():
    before = np.zeros((2, 3))
    after = before.copy()
    after[1, 2] = 4.0
    assert whatif.edits(before, after, ["a", "b"], ["x1", "x2", "x3"]) == [("b", "x3", 0.0, 4.0)]


def test_change_summary_counts():
    assert whatif.change_summary(np.zeros((2, 3), bool), "weights") == "no weights changed"
    assert whatif.change_summary(np.eye(3, dtype=bool), "scores") == "3 of 9 scores changed"
    assert whatif.change_summary(np.ones((2, 2), bool), "numbers") == "all of 4 numbers changed"


def test_editor_frame_is_a_writable_copy_with_safe_column_names(trace):
    frame = whatif.editor_frame(trace.scores[0], ["_index", "a", "b", "c", "d", "e"])
    assert list(frame.columns) == [f"c{m}" for m in range(1, 7)]  # a token may be called "_index"
    assert list(frame.index) == ["_index", "a", "b", "c", "d", "e"]
    frame.iat[0, 0] = 99.0
    assert trace.scores[0, 0, 0] != 99.0


def test_editor_key_changes_with_any_setting_and_only_then():
    key = whatif.editor_key("x", "random", 0, "the cat", AttentionConfig(), 0, 0)
    assert key.startswith("whatif_editor_x_")
    assert key == whatif.editor_key("x", "random", 0, "the cat", AttentionConfig(), 0, 0)
    others = [
        whatif.editor_key("scores", "random", 0, "the cat", AttentionConfig(), 0, 0),
        whatif.editor_key("x", "random", 0, "the dog", AttentionConfig(), 0, 0),
        whatif.editor_key("x", "random", 0, "the cat", AttentionConfig(seed=1), 0, 0),
        whatif.editor_key("x", "random", 0, "the cat", AttentionConfig(), 1, 0),
        whatif.editor_key("x", "random", 0, "the cat", AttentionConfig(), 0, 1),  # after a reset
    ]
    assert len({key, *others}) == 6


def boxes(figure):  # -> the cells framed by the figure's outline, as (row, column)
    (black, white) = figure.layout.shapes
    assert black.path == white.path and black.xref == "x domain" and black.yref == "y domain"
    rows, columns = np.shape(figure.data[0].z)
    found = set()
    for left, top, right, bottom in re.findall(r"M([\d.e-]+),([\d.e-]+) H([\d.e-]+) V([\d.e-]+)", black.path):
        column, row = round(float(left) * columns), round((1 - float(top)) * rows)
        assert float(right) == pytest.approx((column + 1) / columns, abs=1e-4)
        assert float(bottom) == pytest.approx(1 - (row + 1) / rows, abs=1e-4)
        found.add((row, column))
    return found


def test_highlighted_heatmap_frames_exactly_the_changed_cells():
    values = np.arange(12.0).reshape(3, 4)
    frame = values, ["1", "2", "3"], ["a", "b", "c", "d"]
    changed = np.zeros((3, 4), bool)
    changed[0, 3] = changed[2, 1] = True
    figure = whatif.highlighted_heatmap(*frame, changed, title="after")
    assert boxes(figure) == {(0, 3), (2, 1)}
    np.testing.assert_array_equal(figure.data[0].z, values)
    assert not whatif.highlighted_heatmap(*frame, np.zeros((3, 4), bool)).layout.shapes
    assert not whatif.highlighted_heatmap(*frame, np.ones((3, 4), bool)).layout.shapes  # "all" says it


def test_change_heatmap_labels_only_changed_cells():
    before = np.zeros((2, 2))
    after = np.array([[0.0, 0.5], [-0.002, 0.0]])
    figure = whatif.change_heatmap(before, after, ["a", "b"], ["a", "b"])
    np.testing.assert_array_equal(figure.data[0].z, after)
    assert [list(row) for row in figure.data[0].text] == [["", "+0.50"], ["-0.00", ""]]
    assert boxes(figure) == {(0, 1), (1, 0)}
    wide = whatif.change_heatmap(np.zeros((2, 40)), np.eye(2, 40), ["a", "b"], [str(m) for m in range(40)])
    assert wide.data[0].text is None  # too wide for numbers: colours only


def test_pair_labels_mark_the_words_that_differ():
    assert whatif.pair_labels(["the", "cat", "sat"], ["the", "dog", "sat"]) == ["the", "cat→dog", "sat"]
    labels = whatif.pair_labels(["a", "a→b"], ["b", "c"])
    assert len(set(labels)) == 2


def test_most_attended_and_its_summaries():
    weights = np.array([[0.7, 0.3, 0.0], [0.2, 0.2, 0.6], [0.1, 0.8, 0.1]])
    table = whatif.most_attended(weights, ["x", "y", "z"])
    assert isinstance(table, pd.DataFrame)
    assert list(table.index) == ["x", "y", "z"]
    assert list(table["looks most at"]) == ["x", "z", "y"]
    np.testing.assert_allclose(table["weight"], [0.7, 0.6, 0.8])
    assert whatif.mean_largest_weight(weights) == pytest.approx(0.7)
    assert whatif.moved_rows(weights, weights[:, ::-1]) == 2
