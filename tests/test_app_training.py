"""Watch it learn (pages/14_watch_it_learn.py) in AppTest, and the stage pages with the trained weights.

Expected numbers come from attention_core.training's train and trained_trace, called here.
"""

from urllib.parse import parse_qsl

import numpy as np
import pytest
from test_app_pages import charts, heatmap, heatmap_z, open_page

from attention_core import STAGES
from attention_core.stages import SEVEN
from attention_core.training import STEPS, TASKS, probe_tokens, train, trained_trace

LEARN = "pages/14_watch_it_learn.py"
STAGE_TITLES = list(enumerate((STAGES[slug].title for slug in SEVEN), 1))  # its family's seven


@pytest.fixture(scope="module")
def first_token_run():
    return train("first_token", seed=2)


def chart(at, key):
    return charts(at)[f"chart_{key}"]


def test_the_page_shows_the_training_at_the_step_in_the_link(first_token_run):
    at = open_page(LEARN, {"task": "first_token", "train_seed": "2", "step": "120"})
    assert not at.exception
    assert at.slider(key="step").value == 120
    shot = first_token_run.snapshots[12]
    np.testing.assert_array_equal(heatmap_z(chart(at, "learn_signed_raw")), shot.scores)
    np.testing.assert_array_equal(heatmap_z(chart(at, "learn_weights_attention")), shot.weights)
    wanted = TASKS["first_token"].pattern(probe_tokens(TASKS["first_token"]))
    np.testing.assert_array_equal(heatmap_z(chart(at, "learn_weights_the")), wanted)
    np.testing.assert_allclose(heatmap_z(chart(at, "wq_wkT")), shot.w_q[0] @ shot.w_k[0].T, rtol=0, atol=0)
    loss = chart(at, "training_loss")
    assert loss["layout"]["shapes"][0]["x0"] == 120  # the marker at the step
    assert "Step **120** of 800" in "".join(m.value for m in at.markdown)


def test_moving_the_slider_shows_that_step(first_token_run):
    at = open_page(LEARN, {"task": "first_token", "train_seed": "2"})
    assert at.slider(key="step").value == STEPS  # the end of training by default
    at.slider(key="step").set_value(0).run()
    np.testing.assert_array_equal(
        heatmap_z(chart(at, "learn_weights_attention")), first_token_run.snapshots[0].weights
    )


def test_play_moves_the_slider_on():
    at = open_page(LEARN, {"step": "700"})
    at.toggle(key="playing").set_value(True).run()
    seen = [at.slider(key="step").value]
    for _ in range(10):  # each run is a frame (in the browser the fragment reruns itself); the end stops it
        if not at.toggle(key="playing").value:
            break
        at.run()
        seen.append(at.slider(key="step").value)
    assert seen == list(range(720, STEPS + 1, 20))
    assert at.toggle(key="playing").value is False
    at.toggle(key="playing").set_value(True).run()  # at the end, Play starts again from the beginning
    assert at.slider(key="step").value == 20


def test_its_links_open_every_stage_with_the_learned_weights(first_token_run):
    at = open_page(LEARN, {"task": "first_token", "train_seed": "2"})
    stage_links = at.main.get("page_link")
    assert sorted(link.proto.label for link in stage_links) == [f"{s}. {t}" for s, t in STAGE_TITLES]
    for link in stage_links:
        chosen = dict(parse_qsl(link.proto.query_string))
        assert chosen | {"sentence": ""} == {
            "model": "trained",
            "task": "first_token",
            "train_seed": "2",
            "sentence": "",
        }
    sentence = " ".join(TASKS["first_token"].probe)
    softmax = open_page(
        "pages/6_softmax.py",
        {"model": "trained", "task": "first_token", "train_seed": "2", "sentence": sentence},
    )
    assert not softmax.exception
    expected = trained_trace(first_token_run, sentence)
    weights = next(spec for key, spec in charts(softmax).items() if key.endswith("_weights"))
    np.testing.assert_allclose(heatmap_z(weights), expected.weights[0], rtol=0, atol=1e-12)
    assert heatmap(weights)["y"][0] == "a"
    assert any("trained" in caption.value for caption in softmax.caption)


def test_a_word_the_trained_layer_does_not_know_gets_a_message():
    at = open_page("pages/4_scores.py", {"model": "trained", "sentence": "the zebra sat"})
    assert not at.exception
    assert any("knows only these 16 words" in info.value and "zebra" in info.value for info in at.info)
    assert not at.get("plotly_chart")


def test_an_unusable_task_in_the_link_falls_back_with_a_notice():
    at = open_page(LEARN, {"task": "nonsense", "train_seed": "abc"})
    assert not at.exception
    assert at.selectbox(key="task").value == "previous_token"
    notes = " ".join(toast.value for toast in at.toast)
    assert "“task”" in notes and "“train_seed”" in notes
