"""The front door of a public demo (deploy/haproxy.cfg, started by deploy/cluster.py as `make cluster` does,
here with HTTPS from a self-signed certificate): what reaches the replicas, and what every reply says.

One cluster for the module, with a short websocket idle timeout and a short server ping (production: 2 min
and 30 s), a public host name and an LMS allowed to frame the app. Clients other than Chromium speak from
their own loopback addresses (127.0.0.2, …), so each test's limits per address start from nothing.
Needs Debian's haproxy and openssl (``.ci/run`` installs haproxy).
"""

import asyncio
import contextlib
import os
import shutil
import signal
import ssl
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from browser_helpers import wait_for_charts, wait_for_layout
from playwright.sync_api import expect
from test_cluster import Cluster, start_cluster
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from benchmarks.bench_load import run_in_thread as run_async
from deploy.cluster import self_signed_certificate
from tests.test_deploy import CLASS, PAGE_LOAD
from ui.pages import PAGES

IDLE_TIMEOUT_S = 4  # the test copy's websocket idle timeout (WEBSOCKET_IDLE_TIMEOUT)
PING_S = 1  # the replicas' websocket ping (STREAMLIT_SERVER_WEBSOCKET_PING_INTERVAL)
PUBLIC_HOST = "attention.example.test"
LMS = "https://lms.example.test"  # FRAME_ANCESTORS: allowed to show the app in a frame
# Every page is checked twice: as it opens, and with the trained model in presenter mode (its grids of
# heads, the projector's large type).
VARIANTS = ("", "&model=MiniLM&present=true")
HEADERS = (
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
    "strict-transport-security",
)
NO_TLS_CHECK = ssl.create_default_context()
NO_TLS_CHECK.check_hostname, NO_TLS_CHECK.verify_mode = False, ssl.CERT_NONE  # the test's own certificate
# Every Content Security Policy violation on the page, as the browser reports it to the page itself.
RECORD_VIOLATIONS = """window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => window.cspViolations.push(
  `${event.violatedDirective} blocked ${event.blockedURI || "(inline)"} at ${event.sourceFile}:${event.lineNumber}`));"""


@pytest.fixture(scope="module")
def front_door(tmp_path_factory) -> Iterator[Cluster]:
    if shutil.which("openssl") is None:  # Debian's openssl makes the test's certificate
        pytest.fail("openssl is missing (sudo apt-get install openssl)", pytrace=False)
    certificate = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    environment = {
        "WEBSOCKET_IDLE_TIMEOUT": f"{IDLE_TIMEOUT_S}s",
        "STREAMLIT_SERVER_WEBSOCKET_PING_INTERVAL": str(PING_S),
        "PUBLIC_HOST": PUBLIC_HOST,
        "FRAME_ANCESTORS": f"'self' {LMS}",
    }
    yield from start_cluster(2, "front-door", environment, certificate)


# --- A plain HTTP/1.1 client: keep-alive, TLS, and a source address of its own -----------------------


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]  # lower-case names, in order, repeated ones repeated
    body: bytes = b""

    def header(self, name):
        return next((value for key, value in self.headers if key == name), None)

    def all(self, name):
        return [value for key, value in self.headers if key == name]


@dataclass
class Connection:
    """One keep-alive connection, as a browser holds it; reopened when the server closes it."""

    url: str
    source: str = "127.0.0.1"
    host: str | None = None  # the Host header; the URL's by default
    opened: int = 0  # connections made, reopenings included
    _streams: tuple | None = field(default=None, repr=False)

    async def get(self, path, method="GET", headers=()) -> Reply:
        parts = urllib.parse.urlsplit(self.url)
        if self._streams is None:
            self._streams = await asyncio.open_connection(
                parts.hostname, parts.port, local_addr=(self.source, 0),
                ssl=NO_TLS_CHECK if parts.scheme == "https" else None,
            )  # fmt: skip
            self.opened += 1
        reader, writer = self._streams
        host = parts.netloc if self.host is None else self.host
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *headers, "", ""]
        writer.write("\r\n".join(lines).encode("latin-1"))
        head = await reader.readuntil(b"\r\n\r\n")
        status, *fields = head.decode("latin-1").split("\r\n")[:-2]
        reply = Reply(int(status.split()[1]), [])
        for line in fields:
            name, _, value = line.partition(":")
            reply.headers.append((name.strip().lower(), value.strip()))
        if reply.header("transfer-encoding") == "chunked":
            while size := int((await reader.readline()).strip(), 16):
                reply.body += await reader.readexactly(size + 2)
            await reader.readline()
        elif method != "HEAD":
            reply.body = await reader.readexactly(int(reply.header("content-length") or 0))
        if (reply.header("connection") or "").lower() == "close":
            await self.close()
        return reply

    async def close(self):
        if self._streams:
            self._streams[1].close()
            self._streams = None


async def fetch(url, path, method="GET", headers=(), **options) -> Reply:  # on a connection of its own
    connection = Connection(url, **options)
    try:
        return await connection.get(path, method, headers)
    finally:
        await connection.close()


async def open_websocket(url, source="127.0.0.1", origin=None):  # -> the socket, or the refusal's status
    try:
        return await connect(
            "ws" + url.removeprefix("http") + "/_stcore/stream", origin=origin or url,
            subprotocols=["streamlit"], local_addr=(source, 0), proxy=None, max_size=None,
            ssl=NO_TLS_CHECK if url.startswith("https") else None,
        )  # fmt: skip
    except InvalidStatus as refused:
        return refused.response.status_code


# --- Chromium -----------------------------------------------------------------------------------------


@contextlib.contextmanager
def browser_page(browser, *, downloads=False):  # -> (page, what went wrong), over HTTPS
    context = browser.new_context(
        viewport={"width": 1280, "height": 720}, ignore_https_errors=True, accept_downloads=downloads
    )
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    problems = []

    def on_console(message):  # a violation is also logged; a 404 of the base-path probe is not a problem
        if message.type == "error" and "status of 404" not in message.text:
            problems.append(f"console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(  # which request a console error was about; one cut short by the next navigation is not one
        "requestfailed",
        lambda request: (
            problems.append(f"failed: {request.url} ({request.failure})")
            if request.failure != "net::ERR_ABORTED"
            else None
        ),
    )
    try:
        yield page, problems
    finally:
        context.close()


def type_sentence(page, text):  # the caller waits for the state it asserts (wait_for_charts)
    box = page.locator('[data-testid="stSidebar"] input[aria-label="Sentence"]')
    box.fill(text)
    box.press("Enter")


def violations(page):
    return page.evaluate("window.cspViolations")


def wait_until_drawn(page, charts=0):  # the run finished, the layout is final, every chart has its SVG
    """``charts``: at least that many. A finished run's charts appear once Plotly's code has loaded, so
    without a count, "every chart" can hold of none yet (the page still loading its files)."""
    wait_for_layout(page, charts=charts)
    page.wait_for_function(
        "[...document.querySelectorAll('.js-plotly-plot')].every(chart => chart.querySelector('svg.main-svg'))"
    )


# --- The tests ----------------------------------------------------------------------------------------


def test_every_reply_carries_the_security_headers(browser, front_door):
    with browser_page(browser) as (page, problems):
        replies = []
        page.on("response", lambda r: replies.append(r) if r.url.startswith(front_door.https_url) else None)
        page.goto(f"{front_door.https_url}/scores?sentence=the+cat+sat")
        wait_until_drawn(page, charts=3)
        missing = [(r.url, h) for r in replies for h in HEADERS if h not in r.headers]
        assert len(replies) > 100 and not missing, missing[:5]
        (policy,) = {r.headers["content-security-policy"] for r in replies}
        assert policy.endswith(f"frame-ancestors 'self' {LMS}")
        assert {r.headers["x-content-type-options"] for r in replies} == {"nosniff"}
        assert "server" not in replies[0].headers  # uvicorn's name stays inside
        assert not problems, problems

    async def the_balancers_own_replies():
        websocket = await open_websocket(front_door.https_url)
        handshake = websocket.response.headers
        await websocket.close()
        own = [
            await fetch(front_door.https_url, "/_stcore/metrics"),  # 404
            await fetch(front_door.https_url, "/", host="evil.example"),  # 403
            await fetch(front_door.https_url, "/balancer-health"),  # 200, HAProxy's own
            await fetch(front_door.url, "/"),  # 301 to HTTPS
        ]
        return handshake, own

    handshake, own = run_async(the_balancers_own_replies())
    assert all(handshake.get(h) for h in HEADERS[:3]), handshake
    assert [reply.status for reply in own] == [404, 403, 200, 301]
    for reply in own:
        assert all(reply.header(h) for h in HEADERS[:3]), (reply.status, reply.headers)


def test_https_marks_cookies_secure_and_sends_hsts_plain_http_only_redirects(front_door):
    async def replies():
        return (
            await fetch(front_door.https_url, "/"),
            await fetch(front_door.https_url, "/_stcore/health"),
            await fetch(front_door.url, "/scores?sentence=a+b"),
        )

    page, health, plain = run_async(replies())
    assert page.status == 200 and page.header("strict-transport-security") == "max-age=31536000"
    (sticky,) = page.all("set-cookie")
    assert sticky.startswith("ATTENTION_REPLICA=")
    assert {"Secure", "HttpOnly", "SameSite=Lax"} <= {part.strip() for part in sticky.split(";")}
    for cookie in health.all("set-cookie"):  # Streamlit's XSRF cookie among them
        assert "Secure" in {part.strip() for part in cookie.split(";")}, cookie
    assert any(cookie.startswith("_streamlit_xsrf=") for cookie in health.all("set-cookie"))
    assert plain.status == 301 and plain.header("location") == f"{front_door.https_url}/scores?sentence=a+b"
    assert plain.header("strict-transport-security") is None and plain.all("set-cookie") == []


def test_no_page_breaks_the_content_security_policy(browser, front_door):
    seen = Counter()
    with browser_page(browser) as (page, problems):
        for extra in VARIANTS:
            for app_page in PAGES:
                page.goto(f"{front_door.https_url}/{app_page.url_path}?sentence=the+cat+sat{extra}")
                wait_until_drawn(page)
                seen[extra] += 1
                assert not violations(page) and not problems, (
                    app_page.path,
                    extra,
                    violations(page),
                    problems,
                )
        # The check can fail: an inline script of an attacker's is blocked, and reported.
        page.evaluate(
            "document.head.appendChild(Object.assign(document.createElement('script'), {text: '1'}))"
        )
        page.wait_for_function("window.cspViolations.length > 0")
        assert violations(page)[0].startswith("script-src-elem blocked inline")
    assert seen == {extra: len(PAGES) for extra in VARIANTS}


def test_downloads_work_under_the_policy(browser, front_door):
    with browser_page(browser, downloads=True) as (page, problems):
        page.goto(f"{front_door.https_url}/scores?sentence=a+dog+barked")
        wait_for_charts(page, 3, rows=["a", "dog", "barked"])
        wait_until_drawn(page)
        files = {}
        for button in ("scores.csv", "Download this lesson (HTML)", "Download the whole trace (JSON)"):
            with page.expect_download() as download:
                page.get_by_role("button", name=button).click()
            files[download.value.suggested_filename] = download.value.path().read_bytes()
        chart = page.locator(".js-plotly-plot").first
        chart.hover()  # Plotly's own PNG download, in the chart's mode bar
        with page.expect_download() as download:
            chart.locator('[data-title="Download plot as a PNG"]').click()
        files[download.value.suggested_filename] = download.value.path().read_bytes()
        assert files["scores.csv"].decode().splitlines()[0] == ",a,dog,barked"
        assert b"<html" in files["attention_lesson.html"][:500].lower()
        assert files["attention_trace.json"].startswith(b"{")
        assert files["scores.png"].startswith(b"\x89PNG")
        assert not violations(page) and not problems, (violations(page), problems)


def test_internal_endpoints_are_refused_at_the_balancer(front_door):
    refused = [
        "/_stcore/metrics", "/%5Fstcore/metrics", "/_stcore/%6Detrics", "/_stcore/metrics/",
        "/_stcore/agent/openapi.json", "/_stcore/script-health-check", "/auth/login", "/oauth2callback",
    ]  # fmt: skip

    async def replies():
        through = [await fetch(front_door.https_url, path) for path in refused]
        used = [await fetch(front_door.https_url, p) for p in ("/_stcore/health", "/_stcore/host-config")]
        posted = await fetch(front_door.https_url, "/", "POST", ["Content-Length: 0"])
        replica = f"http://127.0.0.1:{next(iter(front_door.ports.values()))}"
        return through, used, posted, await fetch(replica, "/_stcore/metrics")

    through, used, posted, on_the_replica = run_async(replies())
    assert [reply.status for reply in through] == [404] * len(refused)
    assert [reply.status for reply in used] == [200, 200]
    assert posted.status == 405  # the pages only GET
    # The replica still answers whoever runs it, on its own port: the refusal is the balancer's.
    assert on_the_replica.status == 200 and b"active_sessions" in on_the_replica.body


def test_only_known_host_names_are_served(front_door):
    port = urllib.parse.urlsplit(front_door.https_url).port

    async def replies():
        statuses = {}
        for host in ("evil.example", f"evil.example:{port}", f"{PUBLIC_HOST}.evil.example", ""):
            statuses[host] = (await fetch(front_door.https_url, "/", host=host)).status
        for host in (PUBLIC_HOST, f"{PUBLIC_HOST.upper()}:{port}", "localhost", f"127.0.0.1:{port}"):
            statuses[host] = (await fetch(front_door.https_url, "/", host=host)).status
        return statuses

    statuses = run_async(replies())
    assert statuses == {
        "evil.example": 403, f"evil.example:{port}": 403, f"{PUBLIC_HOST}.evil.example": 403, "": 403,
        PUBLIC_HOST: 200, f"{PUBLIC_HOST.upper()}:{port}": 200, "localhost": 200, f"127.0.0.1:{port}": 200,
    }  # fmt: skip


def test_what_streamlit_guards_still_holds_through_the_front_door(front_door):
    url = front_door.https_url

    async def active_sessions():  # on every replica, read on its own port
        total = 0
        for port in front_door.ports.values():
            metrics = (await fetch(f"http://127.0.0.1:{port}", "/_stcore/metrics")).body.decode()
            total += sum(
                int(line.split()[1]) for line in metrics.splitlines() if line.startswith("active_sessions ")
            )
        return total

    async def until(condition):  # the replicas count a session's end as soon as they see it close
        deadline = time.monotonic() + 20
        while not condition(count := await active_sessions()):
            assert time.monotonic() < deadline, count
            await asyncio.sleep(0.05)
        return count

    async def checks():
        traversal = [await fetch(url, p) for p in ("/static/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd")]
        cross_origin = await open_websocket(url, origin="https://evil.example")
        upload = await fetch(url, "/_stcore/upload_file/a/b", "PUT", ["Content-Length: 0"])
        # A message over Streamlit's 25 MB cap for what a browser sends: the server closes the socket.
        websocket = await open_websocket(url)
        with contextlib.suppress(ConnectionClosed):
            await websocket.send(b"\0" * 26_000_000)
            while True:
                await websocket.recv()
        too_big = websocket.close_code
        # Sessions that open and close: the replica's count of sessions comes back.
        before = await active_sessions()
        sockets = [await open_websocket(url, source="127.0.0.7") for _ in range(10)]
        during = await until(lambda count: count >= before + 10)
        for socket in sockets:
            await socket.close()
        after = await until(lambda count: count <= during - 10)
        return traversal, cross_origin, upload, too_big, before, after

    traversal, cross_origin, upload, too_big, before, after = run_async(checks())
    assert [reply.status for reply in traversal] == [400, 400]
    assert cross_origin == 403
    assert upload.status == 403 and b"XSRF" in upload.body
    assert too_big == 1009  # Message Too Big
    assert after <= before  # every session that opened has closed


def test_a_flood_from_one_address_is_refused_while_another_is_served(front_door):
    url = front_door.https_url

    async def flood():  # 1,500 page requests as fast as 20 connections take them, from one address
        connections = [Connection(url, source="127.0.0.2") for _ in range(20)]
        statuses, refusals = Counter(), []

        async def worker(connection, count):
            for _ in range(count):
                reply = await connection.get("/")
                statuses[reply.status] += 1
                if reply.status == 429:
                    refusals.append(reply)

        await asyncio.gather(*(worker(connection, 75) for connection in connections))
        meanwhile = await fetch(url, "/", source="127.0.0.3")  # someone else, at that moment
        for connection in connections:
            await connection.close()
        return statuses, refusals[0], meanwhile.status

    statuses, refusal, other = run_async(flood())
    assert set(statuses) == {200, 429}, statuses
    assert 900 <= statuses[200] <= 1100 and statuses[429] >= 400, statuses  # the limit: 1,000 per 10 s
    assert refusal.header("retry-after") == "10" and all(refusal.header(h) for h in HEADERS)
    assert other == 200


def test_one_address_cannot_hold_more_connections_than_a_class_needs(front_door):
    parts = urllib.parse.urlsplit(front_door.https_url)

    async def hold(count):  # -> how many of `count` TCP connections from one address stay open
        async def connect_one():
            try:
                return await asyncio.open_connection(parts.hostname, parts.port, local_addr=("127.0.0.6", 0))
            except ConnectionResetError:  # refused as it was made
                return None

        opened = [await connect_one() for _ in range(count)]

        async def still_open(streams):  # a refused connection is closed at once; an open one stays silent
            if streams is None:
                return False
            try:
                return await asyncio.wait_for(streams[0].read(1), timeout=2) != b""
            except TimeoutError:
                return True
            except ConnectionResetError:
                return False

        alive = sum(await asyncio.gather(*(still_open(streams) for streams in opened)))
        for streams in opened:
            if streams:
                streams[1].close()
        return alive

    assert run_async(hold(610)) == 600


def test_one_address_may_hold_a_class_of_websockets_but_not_more(front_door):
    url = front_door.https_url

    async def websockets():
        held = [await open_websocket(url, source="127.0.0.5") for _ in range(150)]
        one_more = await open_websocket(url, source="127.0.0.5")
        elsewhere = await open_websocket(url, source="127.0.0.8")
        await held.pop().close()
        deadline = time.monotonic() + 10
        while isinstance(again := await open_websocket(url, source="127.0.0.5"), int):
            assert time.monotonic() < deadline, f"no websocket after one closed: {again}"
            await asyncio.sleep(0.05)
        for socket in [*held, elsewhere, again]:
            await socket.close()
        # New sessions from one address, ten at a time (each closed at once), more than a class opens and
        # reconnects in 10 s: the rate is limited as well as the number open.
        statuses = Counter()

        async def open_and_close():
            socket = await open_websocket(url, source="127.0.0.9")
            if not isinstance(socket, int):
                await socket.close()
            statuses[101 if not isinstance(socket, int) else socket] += 1

        for _ in range(22):
            await asyncio.gather(*(open_and_close() for _ in range(10)))
        return held, one_more, elsewhere, statuses

    held, one_more, elsewhere, burst = run_async(websockets())
    assert all(not isinstance(socket, int) for socket in held)
    assert one_more == 429 and not isinstance(elsewhere, int)
    assert burst == {101: 200, 429: 20}, burst  # the limit: 200 new websockets per 10 s


def test_a_class_behind_one_address_loads_the_page_without_a_refusal(browser, front_door):
    url = front_door.https_url
    with browser_page(browser) as (page, _):  # what a real page load asks for, measured in Chromium
        load = []
        page.on(
            "response",
            lambda r: load.append((r.url.removeprefix(url), r.status)) if r.url.startswith(url) else None,
        )
        page.goto(f"{url}/scores?sentence=the+cat+sat")
        wait_until_drawn(page, charts=3)  # the whole load: its three charts drew with Plotly's code
    static = [path for path, _ in load if path.startswith("/static/")]
    # The limits are sized for this (tests/test_deploy.py); a Streamlit that asks for more needs new ones.
    assert 100 < len(load) <= PAGE_LOAD["requests"] and len(static) <= PAGE_LOAD["static"], len(load)

    async def a_class():  # CLASS tabs at once from one address: each its page's requests on 6 connections
        async def tab():
            connections = [Connection(url, source="127.0.0.4") for _ in range(6)]
            queue = list(load)
            statuses = []

            async def worker(connection):
                while queue:
                    path, _ = queue.pop(0)
                    reply = await connection.get(path, headers=["Accept-Encoding: gzip, deflate, br, zstd"])
                    statuses.append((path, reply.status))

            await asyncio.gather(*(worker(connection) for connection in connections))
            websocket = await open_websocket(url, source="127.0.0.4")  # held while the others load
            for connection in connections:
                await connection.close()
            return statuses, websocket

        tabs = await asyncio.gather(*(tab() for _ in range(CLASS)))
        for _, websocket in tabs:
            if not isinstance(websocket, int):
                await websocket.close()
        return tabs

    tabs = run_async(a_class())
    expected = sorted(load)
    for statuses, websocket in tabs:
        assert sorted(statuses) == expected, Counter(s for _, s in statuses)  # as Chromium got them: no 429
        assert not isinstance(websocket, int), websocket


def test_an_idle_session_keeps_its_websocket_while_the_server_pings(browser, front_door):
    with browser_page(browser) as (page, problems):
        sockets = []
        page.on("websocket", lambda socket: sockets.append(socket))
        page.goto(f"{front_door.https_url}/scores?sentence=the+cat+sat")
        wait_for_charts(page, 3, rows=["the", "cat", "sat"])
        (socket,) = sockets
        # Silent for twice the idle timeout, as a tab left open: the server's pings keep the socket open.
        until = time.monotonic() + 2 * IDLE_TIMEOUT_S
        while time.monotonic() < until:
            assert not socket.is_closed() and len(sockets) == 1, "the idle session's websocket was closed"
            page.wait_for_timeout(250)
        type_sentence(page, "a dog barked")
        wait_for_charts(page, 3, rows=["a", "dog", "barked"])
        assert len(sockets) == 1 and not socket.is_closed()
        assert not problems, problems


def test_a_silent_websocket_is_closed_and_the_browser_reconnects_to_its_view(browser, front_door):
    sentence = "when the lights went out"
    with browser_page(browser) as (page, _):
        sockets, replicas = [], []
        page.on("websocket", lambda socket: sockets.append(socket))
        page.on("response", lambda response: replicas.append(response.headers.get("x-replica")))
        page.goto(f"{front_door.https_url}/softmax?sentence={sentence.replace(' ', '+')}&causal=true")
        wait_for_charts(page, 3, rows=sentence.split())
        replica = front_door.pids[next(r for r in replicas if r)]
        (first,) = sockets
        # The replica hangs: no more pings. The balancer closes the silent socket after its idle timeout.
        os.kill(replica, signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            first.wait_for_event("close", timeout=(IDLE_TIMEOUT_S + 10) * 1000)
            silent_for = time.monotonic() - stopped
        finally:
            os.kill(replica, signal.SIGCONT)
        assert IDLE_TIMEOUT_S - PING_S - 1 <= silent_for <= IDLE_TIMEOUT_S + 3, silent_for
        # Streamlit's frontend reconnects by itself, and the page shows its view again.
        deadline = time.monotonic() + 30
        while len(sockets) < 2:
            assert time.monotonic() < deadline, "the browser did not reconnect"
            page.wait_for_timeout(50)  # lets Playwright deliver the page's events
        expect(page.locator('[data-testid="stApp"]')).to_have_attribute(
            "data-test-connection-state", "CONNECTED"
        )
        wait_for_charts(page, 3, rows=sentence.split())
        expect(page.locator("h1").first).to_have_text("6. Softmax")
        expect(page.get_by_role("switch", name="Causal mask")).to_be_checked()
        # The new websocket carries the session: a new sentence is drawn.
        type_sentence(page, "a dog barked")
        wait_for_charts(page, 3, rows=["a", "dog", "barked"])
        assert len(sockets) == 2 and not sockets[1].is_closed()
