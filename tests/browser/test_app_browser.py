"""The walkthrough in a real browser: pages, typing, deep links, page switches and hostile text."""

import subprocess
import sys
import time
import urllib.parse

import pytest
from browser_helpers import (
    record_reruns,
    record_runs,
    screenshot,
    wait_for_app,
    wait_for_charts,
    wait_for_runs,
)
from conftest import _free_port, _is_healthy
from playwright.sync_api import expect

from ui.pages import PAGES

pytestmark = pytest.mark.browser


def url(base, page, **params):
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    return f"{base}/{page.url_path}{query}"


def y_ticks(page):  # the row labels of every heatmap on the page
    return page.locator(".js-plotly-plot .ytick text").all_text_contents()


def sidebar_sentence(page):
    return page.locator('[data-testid="stSidebar"] input[aria-label="Sentence"]')


def type_sentence(page, text):  # the caller waits for the state it asserts (wait_for_charts)
    box = sidebar_sentence(page)
    box.fill(text)
    box.press("Enter")


OWN_MODEL = {
    "model_view": "MiniLM",
    "atlas": "MiniLM",
    "rotate": "SmolLM2",
    "next_word": "SmolLM2",
}  # real models'
# Every label given is a row label of some heatmap: the page's charts are drawn one after another.
ROWS_SHOWN = """labels => {
  const shown = new Set([...document.querySelectorAll('.js-plotly-plot .ytick text')].map(t => t.textContent));
  return labels.every(label => shown.has(label));
}"""


@pytest.mark.parametrize("app_page", PAGES, ids=lambda p: p.url_path or "overview")
def test_every_page_loads_with_its_heatmaps(page, streamlit_server, app_page):
    model = OWN_MODEL.get(app_page.url_path)
    page.goto(url(streamlit_server, app_page, **({"model": model} if model else {})))
    wait_for_app(page, charts=0 if app_page.url_path == "glossary" else 1, timeout_ms=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    expect(sidebar_sentence(page)).to_have_value("the cat sat on the mat")
    assert page.locator("h1").first.inner_text().strip() != ""
    if app_page.url_path not in ("glossary", "projection", "heads", "model_view", "rotate", "next_word"):
        page.wait_for_function(ROWS_SHOWN, arg=["the", "cat", "sat"], timeout=30_000)
    if app_page.url_path == "rotate":  # SmolLM2's byte-level tokens: a space belongs to the word after it
        rows = page.evaluate("() => document.querySelector('.js-plotly-plot').data[0].y")
        assert rows == ["the", "␣cat", "␣sat", "␣on", "␣the", "␣mat"]


def test_the_charts_code_is_loaded_from_the_first_element_even_on_a_page_without_charts(
    page, streamlit_server
):
    # The glossary draws no chart: only ui/preload.py asks for Plotly's chunk there.
    page.goto(f"{streamlit_server}/glossary")
    wait_for_app(page)
    page.wait_for_function("() => window.__attentionPlotlyLoading !== undefined")
    assert page.evaluate("async () => Boolean((await window.__attentionPlotlyLoading)?.default)")
    assert page.locator(".js-plotly-plot").count() == 0


def test_typing_a_sentence_changes_the_axes(page, streamlit_server):
    old, new = ["the", "cat", "sat", "on", "the²", "mat"], ["a", "dog", "barked", "loudly"]
    page.goto(url(streamlit_server, PAGES[4]))
    wait_for_charts(page, 3, rows=old)
    type_sentence(page, " ".join(new))
    wait_for_charts(page, 3, rows=new)  # all three panels redrawn, not just the first
    assert page.locator(".js-plotly-plot").count() == 3
    for chart in page.locator(".js-plotly-plot").all():
        assert sorted(chart.locator(".ytick text").all_text_contents()) == sorted(new)
    assert "sentence=a+dog+barked+loudly" in page.url


def test_a_deep_link_opens_with_its_settings(page, streamlit_server):
    softmax = next(p for p in PAGES if p.url_path == "softmax")
    page.goto(url(streamlit_server, softmax, sentence="one two three", causal="true", d_k="8"))
    wait_for_app(page, charts=3)
    expect(sidebar_sentence(page)).to_have_value("one two three")
    causal = page.locator('[data-testid="stSidebar"] [data-testid="stCheckbox"] input').nth(1)
    assert causal.is_checked()
    assert set(y_ticks(page)) == {"one", "two", "three"}
    screenshot(page, "softmax_deep_link")


def test_settings_from_a_link_survive_a_page_switch(page, streamlit_server):
    page.goto(url(streamlit_server, PAGES[0], sentence="the dog ran", heads="2", scale="false"))
    wait_for_app(page, charts=7)
    page.locator('[data-testid="stSidebar"]').get_by_text("4. Raw scores").click()
    page.wait_for_function("() => location.pathname.endsWith('/scores')")
    # The overview's seven charts give way to the stage's three, each with the link's sentence.
    wait_for_charts(page, 3, rows=["the", "dog", "ran"])
    expect(page.locator("h1").first).to_have_text("4. Raw scores")
    expect(sidebar_sentence(page)).to_have_value("the dog ran")
    page.locator('[data-testid="stSidebar"]').get_by_text("Link to this view").click()
    link = page.locator('[data-testid="stSidebar"] [data-testid="stCode"] code').inner_text()
    query = urllib.parse.parse_qs(urllib.parse.urlparse(link.strip()).query)
    assert query["heads"] == ["2"] and query["scale"] == ["false"] and query["sentence"] == ["the dog ran"]
    page.get_by_text("Next: 5. Scaling by √d_k").click()
    page.wait_for_function("() => location.pathname.endsWith('/scaling')")
    expect(page.locator("h1").first).to_have_text("5. Scaling by √d_k")
    wait_for_charts(page, 3, rows=["the", "dog", "ran"])
    expect(sidebar_sentence(page)).to_have_value("the dog ran")


@pytest.mark.parametrize(
    "text",
    ["<img src=x onerror=alert(1)>", "<script>alert('x')</script> hi", "**bold** [link](http://x) `code`"],
)
def test_hostile_text_is_shown_as_text_and_never_runs(page, streamlit_server, page_log, text):
    page.goto(url(streamlit_server, PAGES[0]))
    wait_for_app(page, charts=7)
    type_sentence(page, text)
    wait_for_charts(page, 7, lacks=["cat", "mat"])  # every panel shows the new text, none the default
    main = page.locator('[data-testid="stMain"]')
    assert main.locator("img[src='x'], script, strong:text-is('bold'), a[href='http://x']").count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page_log.dialogs == []  # the page fixture also fails the test on any dialog


def test_a_deep_link_works_as_the_first_request_after_a_server_start(browser):
    """Streamlit's pages/ folder mode runs a page alone until the root is opened: the sidebar must still be there."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            f"--server.port={port}",
            "--server.address=127.0.0.1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not _is_healthy(base):
            assert server.poll() is None and time.monotonic() < deadline, "streamlit did not start"
            time.sleep(0.25)
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        page = context.new_page()
        page.goto(f"{base}/output?sentence=birds+fly+south&query=fly")
        wait_for_app(page, charts=3)
        expect(sidebar_sentence(page)).to_have_value("birds fly south")
        # Waited for, as the sentence box is: CI once counted the page list before it was drawn.
        expect(
            page.locator('[data-testid="stSidebar"]').get_by_text("7. Weighted sum of values")
        ).to_have_count(1)
        assert {"birds", "fly", "south"} <= set(y_ticks(page))
        screenshot(page, "output_first_request")
        context.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_screenshots_light_and_dark(browser, streamlit_server):
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport={"width": 1280, "height": 720}, color_scheme=scheme)
        page = context.new_page()
        for app_page in (PAGES[0], PAGES[4]):
            page.goto(url(streamlit_server, app_page))
            wait_for_app(page, charts=3)
            screenshot(page, f"{app_page.url_path or 'overview'}_{scheme}")
        context.close()


FONT_SIZES = """chart => {  // font sizes in px of the numbers in the cells and the axis labels
  const sizes = {"heatmap-label": [], xtick: [], ytick: []};
  for (const text of chart.querySelectorAll("text")) {
    const kind = Object.keys(sizes).find(name => text.closest("g." + name));
    if (kind) sizes[kind].push(parseFloat(getComputedStyle(text).fontSize));
  }
  return sizes;
}"""


def test_presenter_mode_fits_a_projector_and_moves_with_the_keyboard(page, streamlit_server):
    page.goto(url(streamlit_server, PAGES[4], present="true", sentence="the cat sat on the mat"))
    wait_for_app(page, charts=1)
    expect(page.locator('[data-testid="stSidebar"]')).to_be_hidden()
    chart = page.locator(".js-plotly-plot").first
    heatmap = chart.bounding_box()
    assert heatmap["y"] + heatmap["height"] <= 720  # the whole matrix is on the first screen
    sizes = chart.evaluate(FONT_SIZES)  # type to be read from the back of a room
    assert (
        sizes["heatmap-label"]
        and min(sizes["heatmap-label"]) >= 20
        and min(sizes["xtick"] + sizes["ytick"]) >= 18
    ), sizes
    screenshot(page, "presenter_scores_1280x720")
    page.locator("h1").first.click()  # focus the page, as a presenter's first click would
    page.keyboard.press("ArrowRight")
    expect(page.locator("h1").first).to_have_text("5. Scaling by √d_k", timeout=20_000)
    wait_for_app(page, charts=1)
    page.keyboard.press("PageDown")  # what a presentation clicker sends
    expect(page.locator("h1").first).to_have_text("6. Softmax", timeout=20_000)
    wait_for_app(page, charts=1)  # the next key goes to this page's buttons, once they are drawn
    page.keyboard.press("ArrowLeft")
    expect(page.locator("h1").first).to_have_text("5. Scaling by √d_k", timeout=20_000)
    wait_for_app(page, charts=1)
    expect(sidebar_sentence(page)).to_have_value("the cat sat on the mat")


def pick(page, label, option):  # choose in a selectbox by keyboard: focus, type, Enter
    page.get_by_role("combobox", name=label).click()
    page.keyboard.type(option)
    expect(page.get_by_role("option")).to_have_text([option])  # the list shows only it: Enter picks it
    page.keyboard.press("Enter")


def test_picking_a_cell_reruns_its_panel_alone_and_the_next_stage_keeps_it(page, streamlit_server):
    reruns, runs = record_reruns(page), record_runs(page)  # before goto: the websocket opens with the page
    page.goto(url(streamlit_server, PAGES[4]))
    wait_for_charts(page, 3, rows=["the", "cat", "sat", "on", "the²", "mat"])
    assert reruns == [""]  # the first run: the whole page
    page.get_by_text("Show me the numbers").click()
    expect(page.get_by_text("Query the against key the")).to_be_visible()
    wait_for_runs(page, runs)  # the panel's run has ended: a pick now is not undone by the rest of it
    pick(page, "Query token (row)", "sat")
    expect(page.get_by_text("Query sat against key the")).to_be_visible()
    assert len(reruns) == 3 and all(reruns[1:])  # opening and picking reran the panel, not the page
    page.wait_for_function("() => location.search.includes('query=sat')")
    page.locator('[data-testid="stSidebar"]').get_by_text("Link to this view").click()
    link = page.locator('[data-testid="stSidebar"] [data-testid="stCode"] code')
    expect(link).to_contain_text("query=sat")
    wait_for_app(page)
    pick(page, "Key token (column)", "mat")  # the open link names the cell: the page reruns with it
    expect(link).to_contain_text("key=mat")
    page.get_by_text("Next: 5. Scaling by √d_k").click()
    expect(page.locator("h1").first).to_have_text("5. Scaling by √d_k")
    expect(page.get_by_text("Query sat against key mat")).to_be_visible()
    assert "query=sat" in page.url and "key=mat" in page.url


def test_a_guess_reruns_its_question_alone_and_reveal_shows_the_numbers(page, streamlit_server):
    reruns = record_reruns(page)
    page.goto(url(streamlit_server, PAGES[6], predict="true"))
    wait_for_app(page)
    assert page.locator(".js-plotly-plot").count() == 0  # hidden until a guess is committed
    reveal = page.get_by_role("button", name="Reveal")
    expect(reveal).to_be_disabled()
    page.locator('[data-testid="stMain"] [role="radiogroup"] label').first.click()
    expect(reveal).to_be_enabled()
    assert reruns[-1] != ""  # the guess reran the question alone
    reveal.click()
    wait_for_charts(page, 3, rows=["the", "cat", "sat", "on", "the²", "mat"])
    expect(page.get_by_text("Right so far:")).to_be_visible()
    # Reveal too was sent as a rerun of the question; the server then reran the page (st.rerun) for its numbers.
    assert reruns[0] == "" and all(reruns[1:])


# True once the fourth chart (the attention weights) holds exactly these numbers; while it redraws, not yet.
SHOWS_WEIGHTS = """z => {
  const drawn = document.querySelectorAll('.js-plotly-plot')[3]?._fullData?.[0]?.z;
  return drawn !== undefined && drawn.length === z.length
    && z.every((row, i) => row.length === drawn[i].length && row.every((value, j) => value === drawn[i][j]));
}"""


def test_watch_it_learn_moves_through_training_with_its_slider(page, streamlit_server):
    """The slider, by keyboard: the attention weights drawn are the trained snapshot of that step."""
    import numpy as np

    from attention_core.training import train

    run = train("first_token", seed=1)
    page.goto(f"{streamlit_server}/watch_it_learn?task=first_token&train_seed=1")
    wait_for_app(page, charts=6)
    weights_chart = page.locator(".js-plotly-plot").nth(3)  # loss, accuracy, raw scores, then the weights

    def weights_drawn():
        return np.array(weights_chart.evaluate("chart => chart._fullData[0].z.map(row => Array.from(row))"))

    np.testing.assert_array_equal(weights_drawn(), run.snapshots[-1].weights)
    page.get_by_role("slider", name="Training step").focus()
    page.keyboard.press("Home")  # to the random start
    expect(page.get_by_text("Step 0: the random start.")).to_be_visible()
    page.wait_for_function("() => new URLSearchParams(location.search).get('step') === '0'")
    wait_for_app(page, charts=6)
    page.wait_for_function(
        SHOWS_WEIGHTS,
        arg=run.snapshots[0].weights.tolist(),
    )
    page.keyboard.press("ArrowRight")  # one slider step: 10 training steps
    expect(page.get_by_text("Step 10 of 800", exact=False)).to_be_visible()
    page.wait_for_function(
        SHOWS_WEIGHTS,
        arg=run.snapshots[1].weights.tolist(),
    )


def test_play_animates_watch_it_learn_to_the_end(page, streamlit_server):
    """Play reruns the panel on a timer (AppTest cannot see a timer): the slider reaches the end and stops."""
    page.goto(f"{streamlit_server}/watch_it_learn?step=700")
    wait_for_app(page, charts=6)
    page.get_by_text("Play", exact=True).click()  # its label: the switch itself lies under it
    expect(page.get_by_text("Step 720 of 800", exact=False)).to_be_visible()
    expect(page.get_by_text("Step 800 of 800", exact=False)).to_be_visible(timeout=30_000)
    expect(page.get_by_role("switch", name="Play")).not_to_be_checked()
