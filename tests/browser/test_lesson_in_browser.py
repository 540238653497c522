"""The lesson file in Chromium, opened from file:// with every network request blocked.

No request may even be attempted and no console error logged; the seven stages are there and every chart
holds the numbers of the trace it came from; a predict-first answer is revealed by a click; ← and →
move between the stages; printing gives a page per stage at least; the JSON download is the trace.
The app's sidebar button is tested against a real server at the end.
"""

import json

import numpy as np
import pytest
from browser_helpers import PageLog, wait_for_app
from playwright.sync_api import expect

from attention_core import STAGES, AttentionConfig, pretrained, run_attention
from attention_core.stages import SEVEN
from attention_viz import lesson, panels
from attention_viz.frames import token_labels

SENTENCE = "the cat sat on the mat"
HOSTILE = '<img src=x onerror=alert(1)> "quoted" שלום 🙂'


@pytest.fixture
def offline_page(browser):  # -> (page, log): any request that is not for a file is recorded and refused
    context = browser.new_context(viewport={"width": 1280, "height": 720}, accept_downloads=True)
    log = PageLog()

    def refuse(route):
        log.outside_requests.append(route.request.url)
        route.abort()

    context.route(lambda url: not url.startswith("file:"), refuse)
    page = context.new_page()
    page.on("console", lambda m: log.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: log.page_errors.append(str(error)))
    page.on("dialog", lambda dialog: (log.dialogs.append(dialog.message), dialog.dismiss()))
    yield page, log
    context.close()


def open_lesson(page, tmp_path, trace, view=None):  # writes the file, opens it, waits for every chart
    path = tmp_path / "lesson.html"
    path.write_text(lesson.lesson_html(trace, view or lesson.View()), encoding="utf-8")
    page.goto(path.as_uri())
    page.wait_for_function(
        "() => document.querySelectorAll('.chart').length > 0 && [...document.querySelectorAll('.chart')]"
        ".every(chart => chart.querySelector('.main-svg') !== null)"
    )
    return path


def test_the_lesson_works_offline_with_every_number_of_its_trace(offline_page, tmp_path):
    page, log = offline_page
    trace = run_attention(SENTENCE, AttentionConfig(n_heads=2, positional="sinusoidal", causal=True))
    open_lesson(page, tmp_path, trace, lesson.View(head=1, query=2, key=1, sentence=SENTENCE))
    titles = page.locator("section.stage h2").all_inner_texts()
    assert titles == ["Overview"] + [f"{n}. {STAGES[slug].title}" for n, slug in enumerate(SEVEN, 1)]
    charts = page.evaluate(
        """() => [...document.querySelectorAll('.chart')].map(chart => ({
             source: chart.dataset.source, head: Number(chart.dataset.head),
             z: Array.from(chart._fullData[0].z, row => Array.from(row)),
             name: chart.getAttribute('aria-label')}))"""
    )
    assert len(charts) == 7 + 3 + 3 + 3 + 1 + 1 + 1 + 2
    for chart in charts:  # what Plotly draws, back in Python: exactly the trace's float64 numbers
        expected = panels.numbers(trace, chart["source"].split(), chart["head"])
        np.testing.assert_array_equal(np.array(chart["z"], dtype=np.float64), expected)
        assert f"{expected.shape[0]} × {expected.shape[1]}" in chart["name"]  # the text alternative
    expect(page.locator("#stage-4").get_by_text("Query sat against key cat")).to_be_attached()
    assert not log.problems(), log.problems()


def test_a_predict_first_answer_is_revealed_by_a_click(offline_page, tmp_path):
    page, log = offline_page
    trace = run_attention(SENTENCE)
    open_lesson(page, tmp_path, trace)
    softmax = page.locator("#stage-6")
    expect(softmax.locator(".answered")).to_be_hidden()  # the weights wait for a guess
    tokens = token_labels(trace.tokens)
    question = lesson.stages.VIEWS["softmax"].question(trace, 0, 0)
    wrong = next(option for option in question.options if option != question.answer)
    softmax.get_by_role("button", name=wrong, exact=True).click()
    softmax.get_by_role("button", name="Reveal").click()
    expect(softmax.locator(".answer")).to_contain_text(f"Not quite: the answer is “{question.answer}”.")
    expect(softmax.locator(".answer")).to_contain_text(question.reveal)
    expect(softmax.locator(".answered .chart")).to_be_visible()
    assert question.answer in tokens
    assert not log.problems(), log.problems()


def test_arrow_keys_step_through_the_stages(offline_page, tmp_path):
    page, log = offline_page
    open_lesson(page, tmp_path, run_attention(SENTENCE))
    current = page.locator("section.stage.current")
    expect(current).to_have_id("stage-0")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(current).to_have_id("stage-2")
    expect(page.locator("#stage-2 h2")).to_be_in_viewport()
    page.keyboard.press("ArrowLeft")
    expect(current).to_have_id("stage-1")
    page.get_by_role("button", name="Present (full screen)").click()  # one stage on the screen at a time
    expect(page.locator("#stage-1")).to_be_visible()
    expect(page.locator("#stage-2")).to_be_hidden()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#stage-2")).to_be_visible()
    expect(page.locator("#stage-1")).to_be_hidden()
    assert not log.problems(), log.problems()


def test_it_prints_a_page_per_stage_at_least(offline_page, tmp_path):
    page, log = offline_page
    open_lesson(page, tmp_path, run_attention(SENTENCE))
    page.emulate_media(media="print")
    expect(page.locator("#stage-6 .answered")).to_be_visible()  # a handout shows the answers
    expect(page.locator("#present")).to_be_hidden()
    pdf = page.pdf(format="A4", print_background=True)
    pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
    assert pages >= 8, pages  # the overview, then each stage from a new page
    assert not log.problems(), log.problems()


@pytest.mark.parametrize("model", ["random", "MiniLM"])
def test_the_json_download_is_the_whole_trace(offline_page, tmp_path, model):
    page, log = offline_page
    if model == "MiniLM":  # its weights are float32, embedded as such
        trace = pretrained.load_pretrained().run("the cat sat", 1)
    else:
        trace = run_attention(SENTENCE, AttentionConfig(n_heads=2))
    open_lesson(page, tmp_path, trace)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the numbers (JSON)").click()
    saved = json.loads(download.value.path().read_text(encoding="utf-8"))
    expected = json.loads(lesson.export.trace_json(trace))  # the app's download of the same trace
    assert saved.keys() == expected.keys()
    for name, value in expected.items():
        assert saved[name] == value, name  # exactly: JSON numbers of the same float64, same booleans
    assert not log.problems(), log.problems()


def test_user_text_is_shown_as_text(offline_page, tmp_path):
    page, log = offline_page
    open_lesson(page, tmp_path, run_attention(HOSTILE), lesson.View(sentence=HOSTILE))
    expect(page.locator(".sentence")).to_have_text(HOSTILE)
    assert page.locator("img").count() == 0
    assert not log.problems(), log.problems()  # no alert: no dialog


def test_the_app_gives_the_lesson_of_the_current_view(page, streamlit_server, tmp_path):
    page.goto(f"{streamlit_server}/softmax?sentence=a+dog+barked&causal=true&query=dog")
    wait_for_app(page, charts=1)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download this lesson (HTML)").click()
    document = download.value.path().read_text(encoding="utf-8")
    assert download.value.suggested_filename == "attention_lesson.html"
    assert '<p class="sentence">a dog barked</p>' in document
    assert "causal mask on" in document
    assert "Row <strong>dog</strong>" in document  # the query picked in the link
