"""The app opens in a real browser: the overview shows a chart and no exception."""

import pytest
from browser_helpers import screenshot, wait_for_app

pytestmark = pytest.mark.browser


def test_overview_shows_a_chart_and_no_exception(page, streamlit_server):
    page.goto(f"{streamlit_server}/")
    wait_for_app(page, charts=1)
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "overview")
