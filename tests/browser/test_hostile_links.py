"""Links with numbers no widget can hold, opened in Chromium on every page: the page, never an error box.

AppTest let ``?seed=1e400`` through while Chromium showed Streamlit's error box (the value reached
``st.number_input`` as an infinite float). Every number a link may carry — each model's options, the
layer and head, and the pages' own settings — is given one of the values below, all in one link; each
page must draw itself with the defaults and say, in notices, what it did not use.
"""

import pytest
from browser_helpers import wait_for_app
from playwright.sync_api import expect

from ui.pages import PAGES

pytestmark = pytest.mark.browser

UNREADABLE = ("1e400", "-1e400", "inf", "nan", "9" * 30, "0x10", "-inf", "1e309")
NUMBERS = (  # every number a link may carry
    "seed", "d_model", "d_k", "d_v", "heads", "temperature", "layer", "head", "train_seed",
    "step", "steps", "sample_temperature", "top_k", "top_p", "sample_seed",
)  # fmt: skip
LINK = {name: UNREADABLE[i % len(UNREADABLE)] for i, name in enumerate(NUMBERS)}


def open_hostile(page, server, path, **extra):
    query = "&".join(f"{k}={v}" for k, v in {**LINK, **extra}.items())
    page.goto(f"{server}/{path}?{query}")
    wait_for_app(page, timeout_ms=60_000)


@pytest.mark.parametrize("target", PAGES, ids=[page.url_path or "overview" for page in PAGES])
def test_unreadable_numbers_in_a_link_open_the_page_with_a_notice(page, streamlit_server, target):
    open_hostile(page, streamlit_server, target.url_path)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)  # no error box
    expect(page.locator("h1").first).to_be_visible()  # the page itself
    expect(page.locator('[data-testid="stToast"]').first).to_contain_text("was not usable")
    expect(page.locator('[data-testid="stSidebar"] input[aria-label="Sentence"]')).to_have_value(
        "the cat sat on the mat"
    )


@pytest.mark.parametrize("model", ["MiniLM", "SmolLM2"])
@pytest.mark.parametrize("path", ["softmax", "next_word"])
def test_unreadable_layers_and_heads_with_a_real_model(page, streamlit_server, model, path):
    open_hostile(page, streamlit_server, path, model=model)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    expect(page.locator("h1").first).to_be_visible()
    # The page's caption names the model, layer and head it shows: the defaults, not the link's 1e400 and inf.
    expect(page.get_by_text("· layer 0 · head 1 of").first).to_be_visible()
