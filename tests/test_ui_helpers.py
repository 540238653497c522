"""The pages' plain helpers (attention_viz.frames, attention_viz.charts, attention_viz.export, attention_viz.numbers, and ui.whatif), called without running Streamlit.

Expected values come from the trace of ``run_attention`` or from NumPy in the test, never from the helper.
"""

import dataclasses
import html
import io
import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from attention_core import (
    AttentionConfig,
    OutputTerms,
    output_terms,
    run_attention,
    score_terms,
    softmax_terms,
)
from attention_viz import charts, export, frames, layout, numbers, whatif
from ui import preload

# Emoji with skin tone and joiners, a flag, right-to-left scripts and HTML: labels must survive all of it.
ODD_SENTENCE = "<b>x</b> 👍🏽 👨‍👩‍👧 🇫🇷 مرحبا שלום the the"
ODD_LABELS = ["<b>x</b>", "a,b", 'say "hi"', "the²", "👨‍👩‍👧", "مرحبا", "1", "null"]


def rng_frame(rows, columns, seed=0):
    values = np.random.default_rng(seed).standard_normal((len(rows), len(columns)))
    return frames.matrix_frame(values, rows, columns)


def of(frame):  # a labelled frame -> the matrix and labels a heatmap takes: charts.heatmap(*of(frame))
    return frame.to_numpy(), list(frame.index), list(frame.columns)


# attention_viz.frames


def test_token_labels_number_repeats_and_keep_other_tokens_as_they_are():
    assert frames.token_labels(("the", "cat", "the", "the")) == ["the", "cat", "the²", "the³"]
    assert frames.token_labels(["a"] * 12)[-1] == "a¹²"
    tokens = ("👍🏽", "مرحبا", "שלום", "<b>")
    assert frames.token_labels(tokens) == list(tokens)


def test_token_labels_are_unique_even_when_a_token_looks_like_a_numbered_repeat():
    # Labels are axis categories and selectbox options: two equal labels merge two rows of a chart and make
    # one token impossible to pick. "the²" is one word token ("²" is a digit to the tokenizer).
    labels = frames.token_labels(run_attention("the the the²").tokens)
    assert len(set(labels)) == len(labels), labels


def test_dim_labels_count_from_one():
    assert frames.dim_labels("q", 3) == ["q1", "q2", "q3"]
    assert frames.dim_labels("v", 0) == []


def test_matrix_frame_labels_rows_and_columns():
    matrix = np.arange(6).reshape(2, 3)
    frame = frames.matrix_frame(matrix, ["the", "the²"], ["k1", "k2", "k3"])
    assert list(frame.index) == ["the", "the²"]
    assert list(frame.columns) == ["k1", "k2", "k3"]
    assert frame.to_numpy().dtype == np.float64
    np.testing.assert_array_equal(frame.to_numpy(), matrix)


# attention_viz.charts


def heatmap_trace(figure):
    (trace,) = figure.data
    assert trace.type == "heatmap"
    return trace


def test_signed_heatmap_is_centred_at_zero_and_shows_the_frame():
    frame = rng_frame(["a", "b", "c"], ["x", "y"])
    trace = heatmap_trace(charts.heatmap(*of(frame), kind="signed"))
    limit = np.abs(frame.to_numpy()).max()
    assert trace.zmid == 0
    assert trace.zmin == -limit and trace.zmax == limit
    np.testing.assert_array_equal(np.asarray(trace.z), frame.to_numpy())


def test_signed_heatmap_of_zeros_still_has_a_colour_range():
    trace = heatmap_trace(charts.heatmap(np.zeros((2, 2)), "ab", "xy"))
    assert trace.zmin < 0 < trace.zmax


def test_weights_heatmap_spans_zero_to_one_whatever_the_values():
    frame = frames.matrix_frame([[0.2, 0.3], [0.25, 0.25]], "ab", "xy")
    trace = heatmap_trace(charts.heatmap(*of(frame), kind="weights"))
    assert (trace.zmin, trace.zmax) == (0, 1)


def test_numbers_are_printed_where_they_fit_and_never_when_refused():
    small = rng_frame("ab", "xy")
    assert heatmap_trace(charts.heatmap(*of(small), room=600)).texttemplate
    assert not heatmap_trace(charts.heatmap(*of(small), room=600, numbers=False)).texttemplate
    assert not heatmap_trace(
        charts.heatmap(*of(rng_frame(frames.dim_labels("r", 40), "xy")), room=60)
    ).texttemplate


def test_a_heatmap_shows_the_labels_and_sizes_its_layout_chose():
    frame = rng_frame(frames.dim_labels("r", 40), frames.dim_labels("c", 40))
    figure = charts.heatmap(*of(frame), room=400, title="t", colorbar=False)
    grid = layout.grid(
        list(frame.index), list(frame.columns), charts.printed(frame.to_numpy()), 400, title="t"
    )
    assert (figure.layout.width, figure.layout.height) == (grid.width, grid.height)
    assert list(figure.layout.yaxis.tickvals) == [frame.index[i] for i in grid.y_shown]
    assert list(figure.layout.xaxis.tickvals) == [frame.columns[j] for j in grid.x_shown]
    assert figure.layout.xaxis.tickangle == grid.x_angle
    assert len(heatmap_trace(figure).y) == 40  # the hover still names every row


def test_heatmap_escapes_labels_and_title_so_plotly_shows_them_as_text():
    frame = rng_frame(ODD_LABELS, ["<i>k</i>", "a&b"])
    figure = charts.heatmap(*of(frame), title="<b>title</b>")
    trace = heatmap_trace(figure)
    for shown, label in zip([*trace.y, *trace.x], [*ODD_LABELS, "<i>k</i>", "a&b"], strict=True):
        assert "<" not in shown and ">" not in shown
        assert html.unescape(shown) == label
    assert "<" not in figure.layout.title.text
    assert html.unescape(figure.layout.title.text) == "<b>title</b>"


def test_heatmap_reads_labels_as_categories_with_the_first_row_on_top():
    # Tokens such as "1" and "2" must not become a numeric axis that reorders or spaces the rows.
    figure = charts.heatmap(*of(rng_frame(["2", "1", "10"], ["3", "1"])))
    assert figure.layout.xaxis.type == figure.layout.yaxis.type == "category"
    assert figure.layout.yaxis.autorange == "reversed"
    assert list(heatmap_trace(figure).y) == ["2", "1", "10"]


def test_scaling_figure_draws_both_curves_against_d_k():
    experiment = SimpleNamespace(d_k=np.array([1, 4, 16]))
    raw, scaled = np.array([1.0, 4.0, 16.0]), np.array([1.0, 1.0, 1.0])
    figure = charts.scaling_figure(experiment, raw, scaled, "variance", log_y=True)
    assert len(figure.data) == 2
    for trace, values in zip(figure.data, (raw, scaled), strict=True):
        np.testing.assert_array_equal(trace.x, experiment.d_k)
        np.testing.assert_array_equal(trace.y, values)
    assert figure.data[0].name != figure.data[1].name
    assert figure.layout.yaxis.type == "log"


# attention_viz.export


def test_shared_builds_once_for_equal_numbers_and_labels_and_again_for_any_difference():
    calls = []

    def build(values, rows, **options):
        calls.append((values.copy(), rows, options))
        return object()

    draw = charts.shared(build)
    values = np.arange(6.0).reshape(2, 3)
    first = draw(values, ["a", "b"], kind="signed")
    assert draw(values.copy(), ["a", "b"], kind="signed") is first  # an equal copy finds the same figure
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0][0], values)  # the builder gets the array back, not its key
    changed = values.copy()
    changed[1, 2] += 1e-12
    others = [
        draw(changed, ["a", "b"], kind="signed"),  # one number, in its last bits
        draw(values.reshape(3, 2), ["a", "b"], kind="signed"),  # the same bytes in another shape
        draw(values.astype(np.float32), ["a", "b"], kind="signed"),  # the same numbers in another type
        draw(values, ["a", "c"], kind="signed"),
        draw(values, ["a", "b"], kind="weights"),
    ]
    assert len(calls) == 6 and all(other is not first for other in others)


def test_figures_carry_an_empty_template_but_keep_their_own_colours():
    experiment = SimpleNamespace(d_k=[1, 4, 16])
    for figure in (
        charts.heatmap(*of(rng_frame(["a", "b"], ["c", "d"]))),
        charts.head_grid(np.full((1, 2, 3, 3), 1 / 3), ["layer 1"], ["head 1", "head 2"]),
        charts.scaling_figure(experiment, [1, 4, 16], [1, 1, 1], "variance"),
    ):
        template = figure.to_dict()["layout"]["template"]
        assert figure.layout.template.layout.to_plotly_json() == {}  # no styles: colours are set below
        assert len(json.dumps(template)) < 100  # Streamlit's default is about 4 KB
    assert charts.heatmap(*of(rng_frame(["a"], ["b"]))).data[0].colorscale
    lines = charts.scaling_figure(experiment, [1, 4, 16], [1, 1, 1], "variance").data
    assert [line.line.color for line in lines] == list(charts.LINE_COLORS)


def test_frame_csv_round_trips_labels_and_every_digit():
    values = np.random.default_rng(1).standard_normal((len(ODD_LABELS), 3)) * 10.0 ** np.arange(
        -150, 150, 100
    )
    values[0, 0] = 1 / 3
    frame = frames.matrix_frame(values, ODD_LABELS, ["q1", "<b>k</b>", "v,1"])
    # Read everything as text first, so labels such as "1" and "null" stay strings.
    back = pd.read_csv(io.BytesIO(export.frame_csv(frame)), index_col=0, dtype=str, keep_default_na=False)
    assert list(back.index) == ODD_LABELS
    assert list(back.columns) == list(frame.columns)
    assert back.astype(np.float64).to_numpy().tobytes() == values.tobytes()


def test_trace_json_round_trips_every_array_to_the_last_bit():
    trace = run_attention(
        ODD_SENTENCE, AttentionConfig(d_k=3, n_heads=2, causal=True, positional="sinusoidal", temperature=0.7)
    )

    def refuse(constant):  # NaN and Infinity are not JSON; a browser's JSON.parse rejects them
        raise AssertionError(f"{constant} in the JSON")

    written = export.trace_json(trace)
    document = json.loads(written, parse_constant=refuse)
    # Written row by row, the text is what json.dumps of the whole document writes, key for key.
    whole = {name: getattr(trace, name, None) for name in document}
    assert written == json.dumps(
        document | {name: value.tolist() for name, value in whole.items() if isinstance(value, np.ndarray)},
        ensure_ascii=False,
    )
    assert document["tokens"] == list(trace.tokens)
    assert {"👍🏽", "👨‍👩‍👧", "🇫🇷", "مرحبا", "שלום"} <= set(document["tokens"])
    assert document["config"] == dataclasses.asdict(trace.config)
    assert document["divisor"] == trace.divisor
    arrays = [f.name for f in dataclasses.fields(trace) if isinstance(getattr(trace, f.name), np.ndarray)]
    assert {"x", "q", "k", "v", "scores", "scaled", "mask", "weights", "head_outputs", "output"} <= set(
        arrays
    )
    for name in arrays:
        value = getattr(trace, name)
        restored = np.asarray(document[name], dtype=value.dtype)
        assert restored.shape == value.shape, name
        assert restored.tobytes() == value.tobytes(), name


# attention_viz.numbers

TRACE = run_attention("the quick brown fox jumps", AttentionConfig(d_k=5, n_heads=2, causal=True, seed=3))
HEAD, QUERY, KEY = 1, 3, 1  # a later query, so the causal mask hides some keys of its row


def test_score_table_holds_the_two_vectors_and_their_products():
    q, k = TRACE.q[HEAD, QUERY], TRACE.k[HEAD, KEY]
    table = numbers.score_table(score_terms(TRACE, HEAD, QUERY, KEY))
    assert list(table.index) == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(table.iloc[:, 0], q)
    np.testing.assert_array_equal(table.iloc[:, 1], k)
    np.testing.assert_allclose(table.iloc[:, 2], q * k)
    np.testing.assert_allclose(table.iloc[:, 2].sum(), TRACE.scores[HEAD, QUERY, KEY])


def test_score_formula_shows_the_arithmetic_and_no_user_text():
    trace = run_attention("zebra <b>quokka</b> $x$ **y**", AttentionConfig(d_k=3))
    terms = score_terms(trace, 0, 1, 3)
    formula = numbers.score_formula(terms, 1, 3)
    for text in ("zebra", "quokka", "<b>", "$", "**"):
        assert text not in formula
    score = float(trace.q[0, 1] @ trace.k[0, 3])
    assert f"{score:.4f}" in formula
    assert f"{score / np.sqrt(3):.4f}" in formula
    assert formula.count("\\cdot") == 1 + 3  # q_i · k_j, then one product per term


def test_score_formula_sums_long_vectors_instead_of_writing_them_out():
    trace = run_attention("a b", AttentionConfig(d_k=12))
    formula = numbers.score_formula(score_terms(trace, 0, 0, 1), 0, 1)
    assert "\\sum" in formula and "\\cdot" in formula
    assert formula.count("\\cdot") == 1


def test_softmax_table_follows_the_row_step_by_step():
    labels = frames.token_labels(TRACE.tokens)
    table = numbers.softmax_table(softmax_terms(TRACE, HEAD, QUERY), labels)
    assert list(table.index) == labels
    logits = TRACE.scaled[HEAD, QUERY]
    allowed = np.arange(len(labels)) <= QUERY  # the causal mask, written out
    exps = np.where(allowed, np.exp(logits - logits[allowed].max()), 0.0)
    np.testing.assert_array_equal(table.iloc[:, 0], logits)
    np.testing.assert_allclose(table.iloc[:, 2], exps)
    np.testing.assert_allclose(table.iloc[:, 3], exps / exps.sum())
    np.testing.assert_allclose(table.iloc[:, 3], TRACE.weights[HEAD, QUERY])
    assert (table.iloc[:, 3][~allowed] == 0).all()


def test_output_table_lists_each_weighted_value_and_their_sum():
    labels = frames.token_labels(TRACE.tokens)
    dims = frames.dim_labels("v", TRACE.v.shape[-1])
    table = numbers.output_table(output_terms(TRACE, HEAD, QUERY), labels, dims)
    weights, values = TRACE.weights[HEAD, QUERY], TRACE.v[HEAD]
    assert list(table.index[:-1]) == labels
    np.testing.assert_allclose(table.iloc[:-1, 0], weights)
    np.testing.assert_allclose(table.iloc[:-1, 1:], weights[:, None] * values)
    np.testing.assert_allclose(table.iloc[-1, 0], 1.0)
    np.testing.assert_allclose(table.iloc[-1, 1:], weights @ values)
    np.testing.assert_allclose(table.iloc[-1, 1:], TRACE.head_outputs[HEAD, QUERY])


def formula_terms(formula):  # "o_{3} = 0.40\, v_{2} + ..." -> [(0.40, 2), ...]
    return [(float(w), int(j)) for w, j in re.findall(r"([0-9.]+)\\, v_\{(\d+)\}", formula)]


def output_terms_for(weights):
    weights = np.asarray(weights, dtype=np.float64)
    values = np.ones((len(weights), 2))
    return OutputTerms(weights, values, weights[:, None] * values, weights @ values)


def test_output_formula_lists_the_largest_weights_first():
    weights = [0.1, 0.4, 0.0, 0.3, 0.15, 0.05]
    formula = numbers.output_formula(output_terms_for(weights), 2)
    largest = sorted(range(len(weights)), key=lambda j: -weights[j])[:4]
    assert formula.startswith("o_{3} =")
    assert formula_terms(formula) == [(round(weights[j], 2), j + 1) for j in largest]
    assert formula.endswith("\\dots")  # five keys have weight, four are shown


def test_output_formula_leaves_out_masked_keys_and_says_when_nothing_is_left_out():
    formula = numbers.output_formula(output_terms_for([0.75, 0.25, 0.0, 0.0]), 1)
    assert formula_terms(formula) == [(0.75, 1), (0.25, 2)]
    assert "\\dots" not in formula


def test_every_kind_of_figure_passes_plotlys_validation_unchanged():
    # The server builds figures without validating them (charts.figure); Plotly validates them here.
    experiment = SimpleNamespace(d_k=[1, 4, 16])
    frame = rng_frame(ODD_LABELS, ["<i>k</i>", "a&b"])
    changed = np.zeros(frame.shape, dtype=bool)
    changed[0, 1] = True
    figures = [
        charts.heatmap(*of(frame), title="t", kind="weights", row_name="query", column_name="key"),
        charts.heatmap(*of(frame), numbers=False, large=True, colorbar=False, max_plot=300, room=200),
        whatif.change_heatmap(frame.to_numpy(), frame.to_numpy() + changed, ODD_LABELS, ["a", "b"]),
        whatif.highlighted_heatmap(*of(frame), changed, kind="weights"),
        charts.head_grid(np.full((2, 3, 3, 3), 1 / 3), ["layer 1", "layer 2"], ["h1", "h2", "h3"]),
        charts.scaling_figure(experiment, [1, 4, 16], [1, 1, 1], "variance", log_y=True),
    ]
    for figure in figures:
        validated = go.Figure(figure.to_dict())  # raises ValueError on any unknown or invalid property
        assert json.loads(validated.to_json()) == json.loads(figure.to_json())


def test_the_chunk_fetched_early_is_the_one_streamlit_imports_for_a_chart():
    js = Path(st.__file__).parent / "static" / "static" / "js"
    name = preload._plotly_chunk()
    assert name.startswith("PlotlyChart.") and (js / name).is_file()
    assert any(name in index.read_text() for index in js.glob("index.*.js"))  # the name a chart imports
