"""Helpers for browser tests: wait until Streamlit has finished a run, save a screenshot.

Import them in a test module with ``from browser_helpers import screenshot, wait_for_app``
(pytest puts ``tests/browser`` on ``sys.path``). The fixtures are in ``conftest.py``.
"""

from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "artifacts"  # gitignored; CI keeps it
SCREENSHOTS = ARTIFACTS / "screenshots"

# True once the app is connected, its script has run at least once and is not running now
# ("initial" before the first run), no status widget ("Running...") is shown and at least
# `charts` Plotly charts are drawn. Streamlit's own end-to-end tests read the same attributes.
_APP_SETTLED = """(charts) => {
  const app = document.querySelector('[data-testid="stApp"]');
  return app !== null
    && app.dataset.testConnectionState === "CONNECTED"
    && app.dataset.testScriptState === "notRunning"
    && document.querySelector('[data-testid="stStatusWidget"]') === null
    && document.querySelectorAll(".js-plotly-plot").length >= charts;
}"""


def wait_for_app(page: Page, *, charts: int = 0, timeout_ms: float = 30_000) -> Page:
    """Wait until Streamlit has finished running the page's script and drawn `charts` charts.

    Call it after ``page.goto(...)`` and after every interaction that reruns the script
    (typing into a widget and pressing Enter, a click on a button or a page link).
    """
    page.locator('[data-testid="stApp"]').wait_for(state="attached", timeout=timeout_ms)
    page.wait_for_function(_APP_SETTLED, arg=charts, timeout=timeout_ms)
    return page


def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Save a PNG of the page as ``artifacts/screenshots/<name>.png`` and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / (name if name.endswith(".png") else f"{name}.png")
    page.screenshot(path=str(path), full_page=full_page)
    return path


@dataclass
class PageLog:
    """What a page did that a test did not ask for; any entry fails the test.

    A test that expects one of these (a console error it provokes on purpose, say)
    clears that list before it ends: ``page_log.console_errors.clear()``.
    """

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)  # uncaught JavaScript exceptions
    dialogs: list[str] = field(default_factory=list)  # alert/confirm/prompt: never expected here
    outside_requests: list[str] = field(default_factory=list)  # anything not to the test server

    def problems(self) -> list[str]:
        return [
            f"{kind}: {entry}"
            for kind, entries in (
                ("console error", self.console_errors),
                ("page error", self.page_errors),
                ("dialog", self.dialogs),
                ("request off the test server (blocked)", self.outside_requests),
            )
            for entry in entries
        ]
