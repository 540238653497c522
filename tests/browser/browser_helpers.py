"""Helpers for browser tests: wait until Streamlit has finished a run and shows a state, save a screenshot.

Import them in a test module with ``from browser_helpers import screenshot, wait_for_app``
(pytest puts ``tests/browser`` on ``sys.path``). The fixtures are in ``conftest.py``.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

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

    Enough after ``page.goto(...)``: a new page starts in the "initial" state. After an interaction
    that reruns the script (Enter in a text box, a click on a button or a page link) the state can
    still read "notRunning" from the run before for a moment, so wait for what the test asserts
    instead: ``wait_for_charts``, or Playwright's ``expect(...)``, which retries until it holds.
    """
    page.locator('[data-testid="stApp"]').wait_for(state="attached", timeout=timeout_ms)
    page.wait_for_function(_APP_SETTLED, arg=charts, timeout=timeout_ms)
    return page


# True once every Plotly chart on the page is drawn (there are exactly `count`), each one's row labels
# read from top to bottom equal `rows` when given, and no chart shows any label in `lacks`. Streamlit redraws a page's charts one
# after another, so a test that asserts about all of them waits for all of them, not for the first.
_CHARTS_SHOW = """([settled, count, rows, lacks]) => {
  const charts = [...document.querySelectorAll(".js-plotly-plot")];
  const ticks = chart => [...chart.querySelectorAll(".ytick text")]  // top to bottom, as drawn
    .map(text => [text.getBoundingClientRect().top, text.textContent])
    .sort((a, b) => a[0] - b[0]).map(([, label]) => label);
  return settled(count ?? 0) && (count === null || charts.length === count) && charts.every(chart => {
    const labels = ticks(chart);
    return (rows === null || JSON.stringify(labels) === JSON.stringify(rows))
      && !labels.some(label => lacks.includes(label));
  });
}"""


def wait_for_charts(
    page: Page, count: int | None, *, rows=None, lacks=(), timeout_ms: float = 30_000
) -> Page:
    """Wait until the run has finished and all ``count`` charts show the state a test asserts.

    ``count``: how many charts, or None for any number; ``rows``: the row labels every chart must show,
    in order; ``lacks``: labels no chart may show
    (those of the sentence before). After typing a sentence the script state can still read
    "notRunning" from the run before, and the charts update one by one: waiting for the settled
    app alone, or for one chart, races with the redraw.
    """
    page.wait_for_function(
        f"(arg) => ({_CHARTS_SHOW})([{_APP_SETTLED}, ...arg])",
        arg=[count, rows, list(lacks)],
        timeout=timeout_ms,
    )
    return page


# True once the run has finished with `charts` charts and the page is laid out for the width the browser
# measured (ui/room.py notes both on the main column): a first visit at another width than the server
# assumed, or a resize, reruns the page once more.
_LAID_OUT = f"""(charts) => {{
  const main = document.querySelector('[data-testid="stMainBlockContainer"]');
  return ({_APP_SETTLED})(charts) && main !== null && main.dataset.roomLaidOut !== undefined
    && main.dataset.roomLaidOut === main.dataset.roomMeasured;
}}"""


def wait_for_layout(page: Page, *, charts: int = 0, timeout_ms: float = 30_000) -> Page:
    """Wait until the page has finished and is laid out for the width it has on the screen."""
    page.wait_for_function(_LAID_OUT, arg=charts, timeout=timeout_ms)
    return page


def record_reruns(page: Page) -> list[str]:
    """Every rerun the page asks of the server from now on, as its fragment id ("" for the whole page).

    Streamlit's frontend sends a ``rerun_script`` BackMsg over the websocket for each rerun; one that a
    widget inside an ``st.fragment`` triggers names that fragment.
    """
    reruns = []

    def on_frame(payload):
        if isinstance(payload, bytes):
            message = BackMsg.FromString(payload)
            if message.WhichOneof("type") == "rerun_script":
                reruns.append(message.rerun_script.fragment_id)

    page.on("websocket", lambda socket: socket.on("framesent", on_frame))
    return reruns


_DONE = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}


def record_runs(page: Page) -> list[str]:
    """The page's runs as its websocket carries them, in order: "asked" for each rerun the page asks of
    the server (the whole page or a fragment), "done" for each run the server reports finished.

    The app's script state (what ``wait_for_app`` reads) does not change for a fragment's run; the
    server's ``script_finished`` message does. Call before ``goto``: the websocket opens with the page.
    """
    runs = []

    def sent(payload):
        if isinstance(payload, bytes) and BackMsg.FromString(payload).WhichOneof("type") == "rerun_script":
            runs.append("asked")

    def received(payload):
        if isinstance(payload, bytes):
            message = ForwardMsg.FromString(payload)
            if message.WhichOneof("type") == "script_finished" and message.script_finished in _DONE:
                runs.append("done")

    def watch(socket):
        socket.on("framesent", sent)
        socket.on("framereceived", received)

    page.on("websocket", watch)
    return runs


def wait_for_runs(page: Page, runs: list[str], timeout_ms: float = 30_000) -> Page:
    """Wait until the last run the page asked for has finished (``runs`` from ``record_runs``)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not ("asked" in runs and "done" in runs[len(runs) - runs[::-1].index("asked") :]):
        assert time.monotonic() < deadline, f"no run finished after the last one asked: {runs[-6:]}"
        page.wait_for_timeout(20)  # lets Playwright deliver the websocket's frames; the loop polls the state
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


def wait_for_reply(page, replicas, start, wanted, timeout_s=60):
    """Until one of replicas[start:] (the X-Replica of each reply the page had, in order) is wanted."""
    deadline = time.monotonic() + timeout_s
    while not any(wanted(replica) for replica in replicas[start:]):
        assert time.monotonic() < deadline, (
            f"no reply from a live replica in {timeout_s} s: {replicas[start:]}"
        )
        page.wait_for_timeout(100)  # lets Playwright deliver the page's responses to `replicas`
