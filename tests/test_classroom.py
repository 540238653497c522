"""Presenter mode, predict-then-reveal and the checks a student sees: the helpers and the pages."""

import dataclasses
import re

import numpy as np
import pytest
from test_app_pages import assert_full_page, open_page

from attention_core import AttentionConfig, run_attention
from attention_core.stages import SEVEN
from attention_viz import quiz, stages
from attention_viz.frames import token_labels
from ui.pages import stage_page

SENTENCE = "the cat sat on the mat"
CONFIGS = [AttentionConfig(), AttentionConfig(n_heads=2, causal=True, seed=3, d_k=8)]


# The questions, answered independently from the trace.


@pytest.mark.parametrize("config", CONFIGS, ids=["plain", "causal-2-heads"])
@pytest.mark.parametrize("draw", range(5))
def test_each_question_is_answered_by_the_trace(config, draw):
    trace = run_attention(SENTENCE, config)
    labels = token_labels(trace.tokens)
    head = config.n_heads - 1
    for stage in ("scores", "scaling", "softmax", "output"):
        question = stages.VIEWS[stage].question(trace, head, draw)
        query = re.search(r"“([^”]+)”", question.prompt).group(1)
        i = labels.index(query)
        visible = [labels[j] for j in range(len(labels)) if j <= i or not config.causal]
        if stage == "scores":
            row = [trace.q[head, i] @ trace.k[head, labels.index(key)] for key in visible]
            assert question.answer == visible[int(np.argmax(row))]
        elif stage == "scaling":
            key = re.findall(r"“([^”]+)”", question.prompt)[1]
            expected = (trace.q[head, i] @ trace.k[head, labels.index(key)]) / np.sqrt(config.d_k)
            assert question.answer == pytest.approx(expected, rel=1e-12)
        elif stage == "softmax":
            assert question.answer == labels[int(np.argmax(trace.weights[head, i]))]
        else:
            lengths = [
                np.linalg.norm(trace.weights[head, i, j] * trace.v[head, j]) for j in range(len(labels))
            ]
            assert question.answer == labels[int(np.argmax(lengths))]
        if question.options:  # a causal row offers only the keys the query can see
            assert list(question.options) == visible
            assert question.answer in question.options


def test_grading_choices_and_numbers():
    choice = quiz.Question("?", ("a", "b"), "b", 0.0, "")
    assert quiz.grade(choice, "b") == (True, "Right!")
    assert quiz.grade(choice, "a")[0] is False
    number = quiz.Question("?", (), 2.0, 0.2, "")
    assert quiz.grade(number, 2.15)[0] is True
    right, message = quiz.grade(number, 2.5)
    assert not right and "0.50" in message


# The checks: they pass on a real trace and fail on a broken one.


@pytest.mark.parametrize("config", CONFIGS, ids=["plain", "causal-2-heads"])
def test_checks_pass_on_every_stage_of_a_real_trace(config):
    trace = run_attention(SENTENCE, config)
    for stage in SEVEN:
        results = stages.stage_checks(trace, config.n_heads - 1, stage)
        assert results and all(check.passed for check in results), [c for c in results if not c.passed]


def test_checks_catch_a_broken_trace():
    trace = run_attention(SENTENCE, AttentionConfig(causal=True))
    broken = dataclasses.replace(trace, weights=trace.weights + 0.01, scores=trace.scores * 1.01)
    failed = {
        check.label
        for stage in ("scores", "softmax", "output")
        for check in stages.stage_checks(broken, 0, stage)
        if not check.passed
    }
    assert {"S = Q·Kᵀ", "each row sums to 1", "masked entries are exactly 0", "output = A·V"} <= failed
    outside = dataclasses.replace(trace, head_outputs=trace.head_outputs + 100.0)
    assert not stages.stage_checks(outside, 0, "output")[1].passed  # the output left the range of the values


# The pages.


def test_presenter_mode_shows_one_stage_and_moves_with_its_buttons():
    at = open_page("pages/4_scores.py", {"present": "true"})
    assert_full_page(at, "pages/4_scores.py")
    assert [chart.key for chart in at.get("plotly_chart")] == ["chart_scores"]  # one stage per screen
    assert at.button(key="present_next").proto.shortcut.lower() == "right"
    at.button(key="present_next").click().run()
    assert at.title[0].value == "5. Scaling by √d_k"
    assert [chart.key for chart in at.get("plotly_chart")] == ["chart_scaled"]
    at.button(key="present_previous").click().run()
    assert at.title[0].value == "4. Raw scores"
    at.button(key="present_exit").click().run()
    assert not at.sidebar.toggle(key="present").value
    assert {"chart_scores", "chart_scaled", "chart_weights"} <= {c.key for c in at.get("plotly_chart")}


def _answer_of(at, trace):
    """The right answer to the stage-6 question on the page, from the trace."""
    prompt = next(m.value for m in at.markdown if "Predict first" in m.value)
    query = re.search(r"“([^”]+)”", prompt).group(1).replace("\\", "")
    labels = token_labels(trace.tokens)
    return labels[int(np.argmax(trace.weights[0, labels.index(query)]))], labels


def test_predict_then_reveal_a_full_round_with_a_tally():
    at = open_page("pages/6_softmax.py", {"predict": "true", "sentence": SENTENCE})
    assert_full_page(at, "pages/6_softmax.py")
    assert not at.get("plotly_chart")  # the answer is hidden until a guess is committed
    assert at.button(key="quiz_reveal").disabled  # no guess yet
    answer, labels = _answer_of(at, run_attention(SENTENCE))
    at.radio(key="quiz_guess_softmax_0").set_value(answer).run()
    at.button(key="quiz_reveal").click().run()
    assert at.success and at.success[0].value.startswith("Right!")
    assert at.get("plotly_chart")  # revealed: the numbers are shown
    assert any("Right so far: 1 of 1" in caption.value for caption in at.caption)
    at.button(key="quiz_next").click().run()
    assert not at.get("plotly_chart")
    answer, labels = _answer_of(at, run_attention(SENTENCE))
    wrong = next(label for label in labels if label != answer)
    at.radio(key="quiz_guess_softmax_1").set_value(wrong).run()
    at.button(key="quiz_reveal").click().run()
    assert at.warning and answer in at.warning[0].value
    assert any("Right so far: 1 of 2" in caption.value for caption in at.caption)


@pytest.mark.parametrize("stage", SEVEN)
def test_every_stage_shows_its_checks_passed(stage):
    at = open_page(stage_page(stage).path, {"causal": "true", "heads": "2", "head": "2"})
    (line,) = [m.value for m in at.markdown if "-badge[" in m.value]  # one line of markdown badges
    badges = re.findall(r":(\w+)-badge\[:material/\w+: ((?:\\.|[^\]\\])*)\]", line)
    expected = stages.stage_checks(run_attention(SENTENCE, AttentionConfig(causal=True, n_heads=2)), 1, stage)
    assert len(badges) == len(expected)
    for (color, label), check in zip(badges, expected, strict=True):
        assert color == "green" and label.replace("\\", "") == check.label
