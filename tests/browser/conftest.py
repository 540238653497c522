"""Browser tests: a real ``streamlit run app.py`` server, driven by Debian's Chromium.

Fixtures
    ``streamlit_server`` (session): starts ``streamlit run app.py`` from the repository root
        on a free loopback port, waits until ``/_stcore/health`` answers ``ok`` and yields the
        base URL, e.g. ``"http://127.0.0.1:43215"``. Stopped when the session ends. Its log is
        written to ``artifacts/streamlit-server.log``; the last lines are added to the report
        of every failing test that used it.
    ``browser`` (session): Playwright's sync API on ``/usr/bin/chromium``, headless, with the
        flags that keep Chromium off the network. Without ``/usr/bin/chromium`` the browser tests
        are skipped, unless ``REQUIRE_BROWSER=1`` (``.ci/run`` sets it): then they fail.
    ``page``: a fresh 1280x720 page in its own browser context. Console errors, uncaught page
        errors, dialogs (dismissed) and requests to any host but the test server (blocked: the
        app must work offline) go to ``page_log``; any entry fails the test.
    ``page_log``: that record, a ``browser_helpers.PageLog``, for tests that expect an entry.

Helpers, in ``browser_helpers.py``
    ``wait_for_app(page, charts=0)``: wait until Streamlit has finished running the script
        (connected, not running, no status widget) and at least ``charts`` Plotly charts show.
    ``screenshot(page, name)``: save ``artifacts/screenshots/<name>.png``; returns the path.

A test::

    import pytest
    from browser_helpers import screenshot, wait_for_app

    pytestmark = pytest.mark.browser

    def test_softmax_page(page, streamlit_server):
        page.goto(f"{streamlit_server}/softmax?sentence=the+cat+sat")
        wait_for_app(page, charts=1)
        assert page.get_by_text("Softmax").first.is_visible()
        screenshot(page, "softmax")
"""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest
from browser_helpers import ARTIFACTS, REPO_ROOT, PageLog
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"  # Debian's package; never a browser download of Playwright's own
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    # Without these, Chromium calls Google's hosts at start, and this machine refuses them.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 720}
SERVER_START_TIMEOUT_S = 60
SERVER_LOG = ARTIFACTS / "streamlit-server.log"
SERVER_LOG_LINES_ON_FAILURE = 40

_BASE_PATH_PROBE = re.compile(r"^/[a-z_]+/_stcore/(host-config|health)$")
_page_key = pytest.StashKey[tuple[Page, PageLog]]()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_log_tail() -> str:
    if not SERVER_LOG.exists():
        return "(no server log)"
    return "\n".join(SERVER_LOG.read_text(errors="replace").splitlines()[-SERVER_LOG_LINES_ON_FAILURE:])


def _is_healthy(base_url: str) -> bool:
    no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, always direct
    try:
        with no_proxy.open(f"{base_url}/_stcore/health", timeout=2) as response:
            return response.read() == b"ok"
    except OSError:
        return False


@pytest.fixture(scope="session")
def streamlit_server() -> Iterator[str]:
    if not (REPO_ROOT / "app.py").exists():
        pytest.fail(f"no app.py in {REPO_ROOT}", pytrace=False)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = dict(os.environ)  # the server's settings come from .streamlit/config.toml, as under `make run`
    command = [sys.executable, "-m", "streamlit", "run", "app.py"]
    command += ["--server.address=127.0.0.1", f"--server.port={port}"]
    SERVER_LOG.parent.mkdir(parents=True, exist_ok=True)
    with SERVER_LOG.open("w") as log:
        server = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not _is_healthy(base_url):
            if server.poll() is not None:
                why = f"streamlit exited with {server.returncode}"
            elif time.monotonic() > deadline:
                why = f"streamlit was not healthy within {SERVER_START_TIMEOUT_S} s"
            else:
                time.sleep(0.25)
                continue
            pytest.fail(f"{why}:\n{_server_log_tail()}", pytrace=False)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        reason = f"{CHROMIUM} is missing (install Debian's package: apt-get install chromium)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason}; REQUIRE_BROWSER=1 forbids skipping the browser tests", pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


@pytest.fixture
def page(browser: Browser, streamlit_server: str, page_log: PageLog, request) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    context.set_default_timeout(30_000)

    def block_outside(route):
        page_log.outside_requests.append(route.request.url)
        route.abort()

    context.route(lambda url: not url.startswith(f"{streamlit_server}/"), block_outside)

    def record_console(message):
        # On a page URL such as /scores, Streamlit's frontend first asks /scores/_stcore/host-config and
        # /scores/_stcore/health to find its base path, gets a 404 and falls back to the root: not an error.
        url = message.location.get("url", "")
        if message.type == "error" and not _BASE_PATH_PROBE.match(url.removeprefix(streamlit_server)):
            page_log.console_errors.append(f"{message.text} (at {message.location.get('url')})")

    def record_dialog(dialog):
        page_log.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    new_page = context.new_page()
    new_page.on("console", record_console)
    new_page.on("pageerror", lambda error: page_log.page_errors.append(str(error)))
    new_page.on("dialog", record_dialog)
    request.node.stash[_page_key] = (new_page, page_log)
    yield new_page
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """Fail a test whose page logged a console error, a page error, a dialog or an outside request."""
    result = yield
    if _page_key in item.stash:
        page, log = item.stash[_page_key]
        if not page.is_closed():
            page.evaluate("0")  # a round trip, so that events already sent are delivered
        if problems := log.problems():
            pytest.fail("the page logged:\n" + "\n".join(problems), pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    report = yield
    if report.failed and "streamlit_server" in item.fixturenames:
        report.sections.append((f"streamlit server log, last lines ({SERVER_LOG})", _server_log_tail()))
    return report
