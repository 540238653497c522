"""Accessible to every student: WCAG 2.1 AA, checked with axe-core, and the walkthrough by keyboard alone.

axe-core (carried by axe-playwright-python, nothing downloaded) runs its WCAG 2.0/2.1 A and AA rules on
every page, in the light and the dark theme, with the random model and with MiniLM, in presenter mode and
with predict first (the atlas of heads and Across layers also with SmolLM2 and the roles' table open);
any serious or critical violation fails. Axe does not ask whether a chart says what it
shows, so every heatmap's accessible name is checked here too. The keyboard tests reach the sentence,
change it, move to the next stage, open "Show me the numbers" and reach its pickers, answer a predict-first
question and use the switches and presenter mode without the mouse, and check that each place the
keyboard reaches shows it.
"""

import urllib.parse

import pytest
from axe_playwright_python.sync_playwright import Axe
from browser_helpers import record_runs, wait_for_charts, wait_for_layout, wait_for_runs
from playwright.sync_api import expect

from attention_core.families import FAMILIES
from attention_core.stages import SEVEN
from attention_viz.stages import VIEWS
from ui.pages import PAGES

pytestmark = pytest.mark.browser

AXE = Axe()
RULES = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
LLM_PAGES = ("qkv", "rotate", "softmax", "model_view", "next_word")
QUESTIONS = [page for page in PAGES if page.stage in SEVEN and VIEWS[page.stage].question]  # stages 4-7
MODES = {
    "random": ({}, PAGES),
    "MiniLM": ({"model": "MiniLM", "layer": "3"}, PAGES),
    # Its own pages, and the stages whose content it changes (the others are MiniLM's in another model).
    "SmolLM2": ({"model": "SmolLM2", "layer": "3"}, [p for p in PAGES if p.url_path in LLM_PAGES]),
    "presenter": ({"present": "true"}, PAGES),
    "predict-first": ({"predict": "true"}, QUESTIONS),
}
# The page is final: every formula or table that scrolls has taken a tab stop (ui/focus.py).
REGIONS_REACHABLE = """() => [...document.querySelectorAll(
    '.katex-display, [data-testid="stTable"], [data-testid="stTable"] > div')].every(region => {
  const style = getComputedStyle(region);
  const scrolls = (region.scrollWidth > region.clientWidth && /auto|scroll/.test(style.overflowX))
    || (region.scrollHeight > region.clientHeight && /auto|scroll/.test(style.overflowY));
  return !scrolls || region.tabIndex === 0;
})"""
BACKGROUND = "() => getComputedStyle(document.querySelector('[data-testid=\"stApp\"]')).backgroundColor"


def open_page(page, base, app_page, params):
    page.goto(f"{base}/{app_page.url_path}?{urllib.parse.urlencode(params)}")
    family = FAMILIES[params.get("model", "random")]
    pointer = (  # a page of another model's: only a pointer to the model choice
        (app_page.stage is not None and app_page.stage not in family.stages)
        or (app_page.url_path in ("model_view", "atlas") and family.attentions is None)
        or (app_page.url_path == "next_word" and not family.writes)
    )
    chartless = app_page.url_path == "glossary" or pointer
    charts = 0 if chartless or "predict" in params else 1  # (predict first hides them until a guess)
    wait_for_layout(page, charts=charts)
    page.wait_for_function(REGIONS_REACHABLE)


def serious_violations(page, where):  # -> one line per serious or critical axe violation
    page.wait_for_function(REGIONS_REACHABLE)
    found = AXE.run(page, options=RULES).response["violations"]
    return [
        f"{where}: {v['id']} ({v['impact']}, {len(v['nodes'])}×) {v['nodes'][0]['target']}: {v['help']}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def unnamed_charts(page, where):  # -> every chart whose text alternative does not say what it shows
    charts = page.locator('[data-testid="stPlotlyChart"]').evaluate_all(
        "charts => charts.map(chart => [chart.getAttribute('aria-label') || '',"
        " chart.querySelector('.heatmaplayer .hm') !== null])"
    )
    return [
        f"{where}: chart {k + 1} has no text alternative" + (" with its shape" if heatmap else "")
        for k, (name, heatmap) in enumerate(charts)
        if not name or (heatmap and " × " not in name)  # a heatmap's names its shape: "X, 6 × 8; ..."
    ]


def problems_in_both_themes(page, where):  # -> the page's axe violations and unnamed charts, light then dark
    problems = []
    for scheme in ("light", "dark"):  # Streamlit follows the system's theme live
        before = page.evaluate(BACKGROUND)
        page.emulate_media(color_scheme=scheme)
        if scheme == "dark":
            page.wait_for_function(f"() => ({BACKGROUND})() !== {before!r}")
        problems += serious_violations(page, f"{where} {scheme}") + unnamed_charts(page, f"{where} {scheme}")
    page.emulate_media(color_scheme="light")
    return problems


@pytest.mark.parametrize("mode", MODES, ids=list(MODES))
def test_every_page_meets_wcag_2_1_aa_in_both_themes(browser, streamlit_server, mode):
    params, pages = MODES[mode]
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    problems = []
    for app_page in pages:
        open_page(page, streamlit_server, app_page, params)
        problems += problems_in_both_themes(page, f"/{app_page.url_path} {mode}")
    context.close()
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


HEADS_PAGES = [page for page in PAGES if page.url_path in ("atlas", "across_layers")]
HEADS_MODES = {  # the two pages with each kind of model, the roles table open, and on a projector
    "random": {},
    "MiniLM": {"model": "MiniLM", "atlas_layer": "0", "atlas_head": "3"},
    "SmolLM2": {"model": "SmolLM2", "atlas_layer": "18", "atlas_head": "7", "rollout_layer": "29"},
    "SmolLM2-presenter": {"model": "SmolLM2", "present": "true"},
}


@pytest.mark.parametrize("mode", HEADS_MODES, ids=list(HEADS_MODES))
def test_the_atlas_and_across_layers_meet_wcag_2_1_aa(browser, streamlit_server, mode):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(120_000)  # a fresh server loads SmolLM2 and measures its heads once
    problems = []
    for app_page in HEADS_PAGES:
        params = HEADS_MODES[mode]
        page.goto(f"{streamlit_server}/{app_page.url_path}?{urllib.parse.urlencode(params)}")
        chartless = app_page.url_path == "atlas" and "model" not in params
        wait_for_layout(page, charts=0 if chartless else 2, timeout_ms=120_000)
        if app_page.url_path == "atlas" and not chartless and "present" not in params:
            page.get_by_text("Roles as a table").click()
            expect(page.get_by_role("table").first).to_be_visible()
        problems += problems_in_both_themes(page, f"/{app_page.url_path} {mode}")
    context.close()
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def test_the_numbers_as_tables_meet_wcag_2_1_aa(page, streamlit_server):
    """The tables behind the charts and "Show me the numbers", opened: a wide one scrolls sideways."""
    embedding = next(p for p in PAGES if p.url_path == "embedding")
    open_page(page, streamlit_server, embedding, {"d_model": "64"})
    page.get_by_text("Numbers as a table (6 × 64)").first.click()
    table = page.get_by_role("table", name="X, 6 × 64")
    expect(table).to_be_visible()
    expect(table.get_by_role("cell")).to_have_count(6 * 64)  # every number, in a cell
    expect(table.get_by_role("rowheader")).to_have_text(["the", "cat", "sat", "on", "the²", "mat"])
    scores = next(p for p in PAGES if p.url_path == "scores")
    problems = serious_violations(page, "/embedding, X's table open")
    open_page(page, streamlit_server, scores, {"query": "sat", "key": "cat"})
    expect(page.get_by_text("Query sat against key cat")).to_be_visible()
    problems += serious_violations(page, "/scores, Show me the numbers open")
    assert not problems, "\n".join(problems)


# True when the element the keyboard is on looks different from when it is not: its focus is visible.
def focus_is_visible(page, tries=20):
    focused = page.evaluate_handle("document.activeElement")
    target = page.evaluate_handle(
        'element => element.closest(\'[data-testid="stElementContainer"], [data-testid="stExpander"]\')'
        " ?? element",
        focused,
    ).as_element()
    shown = target.screenshot()
    page.evaluate("element => element.blur()", focused)
    # A focus ring may fade out: look again until it has changed (each screenshot takes a frame or more).
    differs = any(target.screenshot() != shown for _ in range(tries))
    page.evaluate("element => element.focus({focusVisible: true})", focused)
    return differs


def tab_to(page, describe, *, most=120):  # press Tab until the focused element matches; -> its handle
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const element = document.activeElement; return {describe}; }}"):
            return page.evaluate_handle("document.activeElement")
    raise AssertionError(f"Tab never reached {describe}")


def test_the_walkthrough_works_by_keyboard_alone(page, streamlit_server):
    runs = record_runs(page)
    scores = next(p for p in PAGES if p.url_path == "scores")
    open_page(page, streamlit_server, scores, {"sentence": "the cat sat on the mat"})
    tab_to(page, "element.getAttribute('aria-label') === 'Sentence'")
    assert focus_is_visible(page), "the sentence box shows no focus"
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("a dog barked loudly")
    page.keyboard.press("Enter")
    wait_for_charts(page, 3, rows=["a", "dog", "barked", "loudly"])
    tab_to(page, "element.tagName === 'A' && element.textContent.includes('Next: 5. Scaling')")
    assert focus_is_visible(page), "the Next link shows no focus"
    page.keyboard.press("Enter")
    expect(page.locator("h1").first).to_have_text("5. Scaling by √d_k")
    wait_for_charts(page, 3, rows=["a", "dog", "barked", "loudly"])
    tab_to(page, "element.tagName === 'SUMMARY' && element.textContent.includes('Show me the numbers')")
    assert focus_is_visible(page), "Show me the numbers shows no focus"
    page.keyboard.press("Enter")
    expect(page.get_by_text("Query a against key a")).to_be_visible()
    wait_for_runs(page, runs)  # the panel's run has ended: its pickers are final
    # and the box has finished opening: a list opened while the page still moves closes at once.
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stExpander\"] details[open]')"
        "?.getAnimations({subtree: true}).length === 0"
    )
    query = tab_to(page, "element.ariaLabel === 'Query token (row)'")
    assert focus_is_visible(page), "the query picker shows no focus"
    page.keyboard.press("ArrowDown")  # opens the list on the token after the current pick
    expect(page.get_by_role("option", name="dog")).to_have_attribute("data-focused", "true")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Query dog against key a")).to_be_visible()
    wait_for_runs(page, runs)
    # The focus stays on the picker: the panel's rerun keeps its elements, so the student goes on from here.
    assert page.evaluate("element => element === document.activeElement", query)
    tab_to(page, "element.ariaLabel === 'Key token (column)'")
    page.keyboard.type("loud")  # or type to narrow the list
    expect(page.get_by_role("option")).to_have_text(["loudly"])
    page.keyboard.press("Enter")
    expect(page.get_by_text("Query dog against key loudly")).to_be_visible()
    chosen = urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)
    assert (chosen["query"], chosen["key"]) == (["dog"], ["loudly"])  # and the link to this view names them


def test_a_predict_first_question_is_answered_by_keyboard(page, streamlit_server):
    softmax = next(p for p in PAGES if p.url_path == "softmax")
    open_page(page, streamlit_server, softmax, {"predict": "true"})
    reveal = page.get_by_role("button", name="Reveal")
    expect(reveal).to_be_disabled()
    tab_to(page, "element.type === 'radio' && element.closest('[data-testid=\"stMain\"]') !== null")
    assert focus_is_visible(page), "the answers show no focus"
    page.keyboard.press("Space")  # choose the answer the keyboard is on
    expect(reveal).to_be_enabled()
    tab_to(page, "element.tagName === 'BUTTON' && element.textContent === 'Reveal'")
    assert focus_is_visible(page), "Reveal shows no focus"
    page.keyboard.press("Enter")
    wait_for_charts(page, 3, rows=["the", "cat", "sat", "on", "the²", "mat"])
    expect(page.get_by_text("Right so far:")).to_be_visible()


def test_settings_and_presenter_mode_by_keyboard(page, streamlit_server):
    scores = next(p for p in PAGES if p.url_path == "scores")
    open_page(page, streamlit_server, scores, {"sentence": "the cat sat on the mat"})
    tab_to(page, "element.getAttribute('role') === 'switch' && element.ariaLabel === 'Causal mask'")
    assert focus_is_visible(page), "the switch shows no focus"
    page.keyboard.press("Space")
    page.wait_for_function("() => new URLSearchParams(location.search).get('causal') === 'true'")
    wait_for_layout(page, charts=3)
    tab_to(page, "element.getAttribute('role') === 'switch' && element.ariaLabel === 'Presenter mode'")
    page.keyboard.press("Space")
    expect(page.locator('[data-testid="stSidebar"]')).to_be_hidden()
    wait_for_layout(page, charts=1)
    # Presenter mode's buttons are its navigation by keyboard (← and → are their shortcuts once the page
    # has the focus; the browser test of presenter mode presses them).
    tab_to(page, "element.tagName === 'BUTTON' && element.textContent.includes('5. Scaling')")
    assert focus_is_visible(page), "presenter mode's next button shows no focus"
    page.keyboard.press("Enter")
    expect(page.locator("h1").first).to_have_text("5. Scaling by √d_k")
    wait_for_layout(page, charts=1)
    tab_to(page, "element.tagName === 'BUTTON' && element.textContent.startsWith('Exit')")
    page.keyboard.press("Enter")
    expect(page.locator('[data-testid="stSidebar"]')).to_be_visible()
    assert "causal=true" in page.url  # the setting made by keyboard came along
