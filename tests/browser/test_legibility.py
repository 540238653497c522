"""Legible at every length: no chart text drawn over other text, from 1 to 64 tokens and with MiniLM.

Every Plotly chart of the overview, the stage pages, Heads, Compare and What if? is measured as drawn
(legibility.chart_text_problems) for sentences of 1 to 64 tokens, at three screen sizes, in the light
and the dark theme, in presenter mode, and with MiniLM; the atlas of heads and Across layers with MiniLM
and SmolLM2 (30 × 9 heads). Each test goes through its pages and reports
every problem it found, not only the first. The longest cases are kept as screenshots.
"""

import urllib.parse

import pytest
from browser_helpers import screenshot, wait_for_charts, wait_for_layout
from legibility import boxes_overlap, chart_text_problems

pytestmark = pytest.mark.browser


# Two vocabularies with no word in common: a page changes from a sentence of one to a sentence of the
# other, so that it is finished once no chart shows a word of the sentence before.
def words(text):
    return text.split()


WORDS = words(
    "the quick brown fox jumps over a lazy dog near the river while children watched it from the warm "
    "kitchen window and then everyone went home to sleep until morning light came back again over fields "
    "beyond that old stone bridge where seven tired travellers rested quietly after walking through long "
    "summer afternoons"
)
OTHER_WORDS = words(
    "every student asks why this small number grows so large when twenty keys compete inside one row of "
    "scores because softmax turns differences into shares plus sharp peaks leave little weight elsewhere "
    "unless scaling keeps values calm enough for learning during training runs with many examples today"
)
assert not set(WORDS) & set(OTHER_WORDS)
LENGTHS = (1, 6, 12, 24, 40, 64)
# Every length at 1280×720, the projector's size; the other sizes at the shortest, a middle and the longest
# (the layout rule's arithmetic is checked for every size in tests/test_layout.py): a lean matrix.
LENGTHS_AT = {"1280x720": LENGTHS, "1920x1080": (1, 24, 64), "1024x768": (1, 24, 64)}
PAGES = (
    "",
    "embedding",
    "projection",
    "qkv",
    "scores",
    "scaling",
    "softmax",
    "output",
    "heads",
    "compare",
    "what_if",
)
VIEWPORTS = {"1280x720": (1280, 720), "1920x1080": (1920, 1080), "1024x768": (1024, 768)}
DARK = "() => getComputedStyle(document.querySelector('[data-testid=\"stApp\"]')).backgroundColor"


def sentence(n, words=WORDS):
    return " ".join(words[i % len(words)] for i in range(n))


def audit(page, where, problems, shot=None):  # in the light theme, then the dark one (Streamlit follows live)
    for scheme in ("light", "dark"):
        before = page.evaluate(DARK)
        page.emulate_media(color_scheme=scheme)
        if scheme == "dark":
            page.wait_for_function(f"() => ({DARK})() !== {before!r}")
        found = chart_text_problems(page)
        problems += [f"{where} {scheme} ({len(found)}): {line}" for line in found[:5]]
        if shot and scheme == "light":
            screenshot(page, shot)
    page.emulate_media(color_scheme="light")


def check(page, base, path, params, problems, shot=None):
    page.goto(f"{base}/{path}?{urllib.parse.urlencode(params)}")
    wait_for_layout(page, charts=1)
    audit(page, f"/{path} {len(params.get('sentence', '').split())} tokens", problems, shot)


def report(problems):
    assert not problems, f"{len(problems)} problems, the first ones:\n" + "\n".join(problems[:40])


def test_the_overlap_test_sees_rotated_boxes_as_drawn():
    square = [(0, 0), (10, 0), (10, 10), (0, 10)]
    beside = [(11, 0), (21, 0), (21, 10), (11, 10)]
    diamond = [(15, 5), (20, 10), (15, 15), (10, 10)]  # turned 45°: its corner reaches into the square? no
    assert not boxes_overlap(square, beside)
    assert boxes_overlap(square, [(5, 5), (15, 5), (15, 15), (5, 15)])
    assert not boxes_overlap(square, diamond)  # axis-aligned boxes would say they touch
    assert boxes_overlap(square, [(9, 5), (14, 10), (9, 15), (4, 10)])


@pytest.mark.parametrize("size", VIEWPORTS, ids=list(VIEWPORTS))
def test_no_chart_text_is_drawn_over_other_text(browser, streamlit_server, size):
    """Each page opens with one token; then sentences of 6 to 64 tokens are typed into the sidebar."""
    width, height = VIEWPORTS[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    problems = []
    for path in PAGES:
        # Compare's B is the same sentence with the mask switched: every chart shows the typed sentence.
        extra = {"compare_mode": "the causal mask switched"} if path == "compare" else {}
        check(page, streamlit_server, path, {"sentence": sentence(1), "heads": "2", **extra}, problems)
        before = WORDS
        for n in LENGTHS_AT[size][1:]:
            words = OTHER_WORDS if before is WORDS else WORDS
            box = page.locator('[data-testid="stSidebar"] input[aria-label="Sentence"]')
            box.fill(sentence(n, words))
            box.press("Enter")
            wait_for_charts(page, count=None, lacks=sorted(set(before)))  # no chart shows the old sentence
            wait_for_layout(page, charts=1)
            shot = f"legibility_{size}_{path or 'overview'}_{n}" if n == LENGTHS[-1] else None
            audit(page, f"/{path} {n} tokens", problems, shot)
            before = words
    context.close()
    report(problems)


@pytest.mark.parametrize("size", VIEWPORTS, ids=list(VIEWPORTS))
def test_presenter_mode_is_legible_too(browser, streamlit_server, size):
    width, height = VIEWPORTS[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    problems = []
    for n in LENGTHS_AT[size]:
        for path in ("", "embedding", "qkv", "scores", "softmax", "output"):
            params = {"sentence": sentence(n), "present": "true"}
            shot = f"legibility_presenter_{size}_{path or 'overview'}_{n}" if n == LENGTHS[-1] else None
            check(page, streamlit_server, path, params, problems, shot)
    context.close()
    report(problems)


@pytest.mark.parametrize("words", [8, 58], ids=["10-word-pieces", "60-word-pieces"])
def test_minilm_is_legible_up_to_its_longest_sentences(browser, streamlit_server, words):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    problems = []
    for path in (*PAGES, "model_view"):
        params = {"sentence": sentence(words), "model": "MiniLM", "layer": "3"}
        check(
            page, streamlit_server, path, params, problems, f"legibility_minilm_{path or 'overview'}_{words}"
        )
    context.close()
    report(problems)


# The atlas of heads (SmolLM2: a grid of 30 layers × 9 heads, an induction head with its three panels) and
# Across layers at the last layer, with a long sentence, at a laptop's and a small screen's size.
HEADS_VIEWS = {
    "SmolLM2": {"model": "SmolLM2", "atlas_layer": "18", "atlas_head": "7", "rollout_layer": "29"},
    "MiniLM": {"model": "MiniLM", "atlas_layer": "0", "atlas_head": "3", "rollout_layer": "5"},
}
FIRST_LOAD_MS = 120_000  # a fresh server loads SmolLM2 and measures its heads once


@pytest.mark.parametrize("size", ["1280x720", "1024x768"])
def test_the_atlas_and_across_layers_are_legible(browser, streamlit_server, size):
    width, height = VIEWPORTS[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    problems = []
    for model, params in HEADS_VIEWS.items():
        for path in ("atlas", "across_layers"):
            page.goto(
                f"{streamlit_server}/{path}?{urllib.parse.urlencode({'sentence': sentence(40), **params})}"
            )
            wait_for_layout(page, charts=2, timeout_ms=FIRST_LOAD_MS)
            audit(page, f"/{path} {model} 40 words", problems, f"legibility_{size}_{path}_{model}")
    page.goto(
        f"{streamlit_server}/atlas?{urllib.parse.urlencode({'present': 'true', **HEADS_VIEWS['SmolLM2']})}"
    )
    wait_for_layout(page, charts=2, timeout_ms=FIRST_LOAD_MS)
    audit(page, "/atlas SmolLM2 presenter", problems, f"legibility_presenter_{size}_atlas_SmolLM2")
    context.close()
    report(problems)
