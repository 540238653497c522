"""Load benchmark: many simulated browsers on a real `streamlit run` server, over Streamlit's websocket.

Run from the repository root::

    python benchmarks/bench_load.py                      # every scenario, a few minutes
    python benchmarks/bench_load.py --quick              # small sizes, a smoke run
    python benchmarks/bench_load.py --scenario stage --sessions 10 --rounds 2
    python benchmarks/bench_load.py --url http://127.0.0.1:8501   # an already-running app (e.g. under py-spy)

It starts two servers side by side and measures both under the same machine conditions: the app
(`python -m streamlit run app.py` from the repository root, so the repo's .streamlit/config.toml
applies) and a bare page (a sentence box bound to the URL and one Plotly heatmap of its words, in its
own temporary folder, so Streamlit's defaults apply). Both are stopped at the end, also on Ctrl-C.

Each simulated session behaves like a browser tab:

* ``GET /_stcore/health`` and ``GET /_stcore/host-config``, keeping the ``_streamlit_xsrf`` cookie;
* the websocket ``/_stcore/stream`` with the ``Origin`` and ``Cookie`` headers and the subprotocols
  ``streamlit, <xsrf cookie value>`` (the server compares that token with the cookie's);
* a ``BackMsg.rerun_script`` (a ``ClientState``) with the address bar's query string
  (``sentence=...``) and the page: on the first run by its URL path in ``page_name`` (``"scores"``
  for pages/4_scores.py, ``""`` for the overview), afterwards by the ``page_script_hash`` that the
  server's ``navigation`` message named, as the frontend does;
* later rounds type a new sentence: the "Sentence" text box's id comes from the ``text_input``
  element of the first run, and the rerun carries its new value in ``widget_states`` and the URL
  rewritten by the frontend's query-parameter binding (``sentence=<new>``);
* the browser's forward-message cache: large elements are kept by hash, their hashes are sent in
  ``cached_message_hashes``, and ``ref_hash`` replies are resolved from the cache.

A run's latency is the time from sending the rerun to its ``script_finished``. A run fails on any
other status than FINISHED_SUCCESSFULLY, an exception element, a missing page, a timeout or a closed
socket. Every session types sentences of invented words (``zq<tag>s<session>r<round>w<i>x``) no other
session uses; after each run the benchmark checks that the Plotly charts show the run's own words,
that nothing in the run carries another session's words, and that no earlier round's words remain.

Scenarios (--scenario): stage and overview (30 sessions × 3 rounds), overview100 (100 × 2), heavy
(29 ordinary sessions with and without one at d_model=64, 8 heads and 64 tokens), disconnect (30
sessions close their socket after the first delta), soak (the app only: 4 batches of 40 × 10, 1,600
sentences), class (a live class: 100 students answering in the same second, 100 following the
teacher's page change, 30 idle followers' CPU; ``benchmarks/bench_class.py``). All sessions of a round start together, like a class pressing Enter at once; a round
starts when every session finished the previous one. The client is one asyncio event loop in this
process, separate from the servers; its CPU share is reported to show it is not the bottleneck
(it shares the machine's cores with the servers).

Importable pieces for tests: ``start_server``, ``bare_page_dir``, ``run_sessions`` and ``RunResult``.
Uses only the standard library, ``websockets`` and ``streamlit.proto``.
"""

import argparse
import asyncio
import concurrent.futures
import contextlib
import functools
import importlib.metadata
import math
import os
import random
import re
import signal
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

REPO = Path(__file__).resolve().parent.parent
LOG_DIR = REPO / "artifacts" / "bench_load"  # server logs; artifacts/ is git-ignored
XSRF_COOKIE = "_streamlit_xsrf"
MAX_TOKENS = 64  # AttentionConfig.max_tokens in attention_core/attention.py: longer sentences are refused
HEAVY_PARAMS = {"d_model": "64", "heads": "8", "d_k": "64", "d_v": "64"}  # the sidebar's largest settings
STAGE_PAGE = "scores"  # pages/4_scores.py: Streamlit drops the number from the URL path
OVERVIEW = ""  # app.py, the main page
RUN_TIMEOUT_S = 180.0  # a run's whole budget; 100 sessions at once take tens of seconds on 2 cores
START_TIMEOUT_S = 90.0
PROBLEM_LINE = re.compile(r"Traceback|Exception|ERROR")
# Invented words: a tag per scenario, then session, round and word number; the closing "x" ends the
# match even when the next byte of a protobuf happens to be a letter or digit.
MARKER = re.compile(rb"zq[a-z]+s\d+r\d+w\d+x")

BARE_PAGE = '''"""The bare page: a sentence box bound to the URL and heatmaps of its words, nothing else.

?charts=N draws N heatmaps, three to a row, and ?numbers=true prints the values in their cells: the
same heatmaps as a page of the app, for the browser benchmark. By default one heatmap, no numbers.
"""

import random

import plotly.graph_objects as go
import streamlit as st

sentence = st.sidebar.text_input("Sentence", "the cat sat on the mat", key="sentence", bind="query-params")
words = sentence.split() or ["(empty)"]
charts = int(st.query_params.get("charts", "1"))
numbers = "%{z:.2f}" if st.query_params.get("numbers") == "true" else None
columns = st.columns(min(charts, 3))
for index in range(charts):
    z = [[random.random() for _ in words] for _ in words]
    heatmap = go.Heatmap(z=z, x=words, y=words, texttemplate=numbers)
    columns[index % 3].plotly_chart(go.Figure(heatmap), key=f"chart_{index}")
'''


# --- Sentences -----------------------------------------------------------------------------------


def new_tag() -> str:  # letters only, so the session number that follows is unambiguous
    return "".join(random.choices(string.ascii_lowercase, k=6))


def marker(tag: str, session: int, round_: int, index: int) -> str:
    return f"zq{tag}s{session}r{round_}w{index}x"


def ordinary_sentence(tag: str, session: int, round_: int) -> str:  # 6 tokens, like the default sentence
    a, b, c = (marker(tag, session, round_, i) for i in range(3))
    return f"the {a} cat {b} sat {c}"


def heavy_sentence(tag: str, session: int, round_: int) -> str:  # exactly the app's token limit
    return " ".join(["the", *(marker(tag, session, round_, i) for i in range(MAX_TOKENS - 1))])


def markers_in(text: str) -> set[bytes]:
    return set(MARKER.findall(text.encode()))


# --- Servers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A streamlit server: its URL, and (when known) its python process and log file."""

    url: str
    pid: int | None = None
    log_path: Path | None = None

    def rss_mb(self) -> float | None:  # VmRSS of the server's own python process
        if self.pid is None:
            return None
        with contextlib.suppress(OSError), open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return None

    def cpu_s(self) -> float | None:  # user + system time of all its threads
        if self.pid is None:
            return None
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path and self.log_path.exists() else 0

    def log_lines(self, since: int = 0) -> list[str]:  # the server's log from byte ``since`` on
        if self.log_path is None:
            return []
        with open(self.log_path, "rb") as log:
            log.seek(since)
            return log.read().decode(errors="replace").splitlines()

    def log_problems(self, since: int = 0) -> list[str] | None:  # lines with Traceback/Exception/ERROR
        if self.log_path is None:
            return None
        return [line for line in self.log_lines(since) if PROBLEM_LINE.search(line)]


def _is_healthy(url: str) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(_host_port(url), timeout=2) as sock:
        host, port = _host_port(url)
        sock.sendall(
            f"GET /_stcore/health HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode()
        )
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
        return reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"ok")
    return False


def _host_port(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


@contextlib.contextmanager
def start_server(
    script_dir: Path | str, script: str = "app.py", port: int | None = None, log_path: Path | None = None
) -> Iterator[Server]:
    """``python -m streamlit run script`` in script_dir (so its .streamlit/config.toml applies); stopped on exit.

    The process is python itself, not a shell, so /proc/<pid> describes the server. It runs in its own
    session: a Ctrl-C in the terminal reaches only this script, which then stops the server itself.
    """
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    if log_path is None:
        log_path = Path(tempfile.mkstemp(prefix="streamlit-", suffix=".log")[1])
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "streamlit", "run", script, f"--server.port={port}"]
    command += ["--server.address=127.0.0.1", "--server.headless=true", "--browser.gatherUsageStats=false"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=script_dir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _is_healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"streamlit ({script} in {script_dir}) did not start:\n{tail}")
            time.sleep(0.2)
        yield Server(url, process.pid, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# Served instead of bare.py when the bare page must also answer at the app's page paths: Streamlit's
# frontend, opened at any address but the main one (/scores), first asks that path's _stcore/health and
# 100 ms later the root's, so a bare page compared with /scores is opened at /scores too.
BARE_PAGES = """import streamlit as st

pages = [st.Page("bare.py", default=True), *(st.Page("bare.py", url_path=path) for path in {paths!r})]
st.navigation(pages, position="hidden").run()
"""


@contextlib.contextmanager
def bare_page_dir(page: str = BARE_PAGE, paths: tuple[str, ...] = ()) -> Iterator[Path]:
    """A temporary folder with bare.py (and pages.py, serving it at ``paths`` too): no .streamlit/ there,
    so Streamlit's defaults apply."""
    with tempfile.TemporaryDirectory(prefix="bench-bare-") as directory:
        (Path(directory) / "bare.py").write_text(page)
        (Path(directory) / "pages.py").write_text(BARE_PAGES.format(paths=paths))
        yield Path(directory)


def pid_listening_on(port: int) -> int | None:
    """The process listening on a loopback TCP port (for --url), read from /proc; None if not found."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # 0A: LISTEN
                    inodes.add(f"socket:[{fields[9]}]")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in inodes for fd in os.listdir(f"/proc/{pid}/fd")):
                return int(pid)
    return None


async def settled_rss(
    server: Server, timeout: float = 20.0, interval: float = 0.5
) -> tuple[float | None, float]:
    """RSS once the server is idle and its RSS steady (or at the timeout) -> (MB, seconds waited)."""
    start = time.monotonic()
    readings = [(server.rss_mb(), server.cpu_s())]
    while readings[0][0] is not None and time.monotonic() - start < timeout:
        await asyncio.sleep(interval)
        readings.append((server.rss_mb(), server.cpu_s()))
        recent = readings[-3:]
        rss = [r for r, _ in recent]
        idle = recent[-1][1] - recent[0][1] < 0.05 * interval * (len(recent) - 1)  # < 5 % of a core
        if len(recent) == 3 and max(rss) - min(rss) < 1.0 and idle:
            break
    return readings[-1][0], time.monotonic() - start


# --- One browser tab -----------------------------------------------------------------------------


async def http_get(
    base_url: str, path: str, cookies: dict[str, str]
) -> tuple[int, dict[str, str], bytes, dict[str, str]]:
    """A plain HTTP/1.1 GET -> (status, cookies it set, body, headers): what a browser's first requests are.

    Headers are keyed in lower case (the last of a repeated one)."""
    host, port = _host_port(base_url)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
        if cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        reply = await reader.read()  # to the end: the server closes after one reply
    finally:
        writer.close()
    head, _, body = reply.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    set_cookies, headers = {}, {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
        if name.strip().lower() == "set-cookie":
            key, _, val = value.strip().split(";", 1)[0].partition("=")
            set_cookies[key] = val
    return int(status_line.split()[1]), set_cookies, body, headers


@dataclass
class Run:
    """What one run delivered, before the isolation check."""

    latency: float | None = None  # seconds to script_finished (or to the first delta, when closing early)
    ok: bool = False
    error: str = ""
    charts: list[str] = field(default_factory=list)  # the Plotly JSON specs
    markers: set[bytes] = field(default_factory=set)  # every invented word anywhere in the run
    cache_hits: int = 0  # ref_hash messages resolved from the tab's cache
    elements: list = field(default_factory=list)  # every new element (protobuf), for the abuse benchmark
    texts: list[str] = field(default_factory=list)  # the markdown, headings and metrics the run drew
    full: bool = False  # a run of the whole page finished (a fragment's run may ask for one: st.rerun)


class BrowserTab:
    """One simulated browser tab: cookies, one websocket, the address bar and the forward-message cache."""

    def __init__(self, base_url: str, page: str, query: dict[str, str], binds_url: bool = True):
        self.base_url = base_url.rstrip("/")
        # The frontend writes a bound widget's new value into the URL itself; False keeps the URL as it was,
        # to check that the typed value alone (widget_states) reaches the script.
        self.binds_url = binds_url
        self.page = page  # URL path of the page, "" for the main page
        self.query = dict(query)  # the address bar's query parameters
        self.ws = None
        self.page_hash = ""  # the page's script hash, once the server has named it
        self.session_id = ""  # the server's id of this tab's session, from its first run
        self.sentence_box = ""  # the "Sentence" text_input's widget id, from the first run
        self.cache: dict[str, list] = {}  # hash -> [raw message, run count when last used]
        self.cache_runs = 0
        self.max_cache_age = 2  # new_session.config.max_cached_message_age
        self.cookies: dict[str, str] = {}  # as a browser keeps them: a balancer's sticky cookie among them
        self.replicas: list[str] = []  # behind a balancer (deploy/haproxy.cfg): the replica of each reply
        self.widgets: dict[str, tuple[str, str]] = {}  # a button's or radio's label -> (id, its fragment)
        self.auto_reruns: dict[str, float] = {}  # st.fragment(run_every=...) the page drew: id -> seconds
        # False: a client that stops reading its socket. websockets then buffers one message, not 16 (which
        # can be 16 grids of heads), and sends no keepalive pings, whose answers would wait behind the
        # unread messages until the client closed itself before the server acts.
        self.reads = True

    async def open(self) -> None:
        """The frontend's first two requests, then the websocket; a reconnect sends the cookies it has."""
        cookies = self.cookies
        for path in ("/_stcore/health", "/_stcore/host-config"):  # the frontend's first two requests
            status, set_cookies, _, headers = await http_get(self.base_url, path, cookies)
            if status != 200:
                raise RuntimeError(f"GET {path}: HTTP {status}")
            cookies.update(set_cookies)
            self.replicas += [headers["x-replica"]] if "x-replica" in headers else []
        # The frontend passes the xsrf cookie's value as the second subprotocol; the server checks that it
        # decodes to the same token as the cookie sent with the handshake.
        subprotocols = ["streamlit", cookies[XSRF_COOKIE]] if XSRF_COOKIE in cookies else ["streamlit"]
        self.ws = await connect(
            "ws" + self.base_url.removeprefix("http") + "/_stcore/stream",
            origin=self.base_url,
            subprotocols=subprotocols,
            additional_headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())},
            proxy=None,  # loopback: never through a proxy from the environment
            max_size=None,  # Streamlit's own limit is 200 MB
            open_timeout=RUN_TIMEOUT_S,
            ping_interval=20 if self.reads else None,
            max_queue=16 if self.reads else 1,
        )
        handshake = self.ws.response.headers
        self.replicas += [handshake["X-Replica"]] if "X-Replica" in handshake else []
        self.page_hash = ""  # a new session: the page is named by its URL again

    async def close(self) -> None:
        if self.ws is None:
            return
        closing = asyncio.create_task(self.ws.close(1001))  # "going away": a closed tab
        # Keep reading (and dropping) what the server still sends, as a browser does: otherwise websockets'
        # incoming queue fills up, it stops reading the socket and misses the server's close reply.
        with contextlib.suppress(WebSocketException, OSError):
            while True:
                await self.ws.recv()
        with contextlib.suppress(WebSocketException, OSError):
            await closing

    def _rerun_message(self, typed: str | None, fragment_id: str = "", widgets=()) -> bytes:
        message = BackMsg()
        state = message.rerun_script
        if fragment_id:  # a fragment's rerun: its own widgets, or its run_every timer
            state.fragment_id = fragment_id
            state.is_auto_rerun = not widgets
        for widget_id, kind, value in widgets:  # a click (trigger_value True) or a choice (string_value)
            widget = state.widget_states.widgets.add()
            widget.id = widget_id
            setattr(widget, kind, value)
        if typed is not None:  # the user typed a sentence and pressed Enter
            widget = state.widget_states.widgets.add()
            widget.id = self.sentence_box
            widget.string_value = typed
            if self.binds_url:
                self.query["sentence"] = typed
        state.query_string = urllib.parse.urlencode(self.query, quote_via=urllib.parse.quote_plus)
        if self.page_hash:
            state.page_script_hash = self.page_hash
        else:  # the first run names the page by its URL path; the server resolves it to a script
            state.page_name = self.page
        state.cached_message_hashes.extend(self.cache)
        context = state.context_info
        context.timezone, context.timezone_offset, context.locale = "UTC", 0, "en-US"
        context.url = f"{self.base_url}/{self.page}" + (
            f"?{state.query_string}" if state.query_string else ""
        )
        context.is_embedded, context.color_scheme = False, "light"
        return message.SerializeToString()

    def _age_cache(self) -> None:  # the frontend's ForwardMsgCache.incrementRunCount after a full run
        self.cache_runs += 1
        for key in [k for k, (_, runs) in self.cache.items() if self.cache_runs - runs > self.max_cache_age]:
            del self.cache[key]

    async def run(
        self,
        typed: str | None = None,
        close_after_first_delta: bool = False,
        fragment_id: str = "",
        widgets=(),
        message: bytes | None = None,
    ) -> Run:
        """Send a rerun (with the typed sentence, if any) and read its messages until script_finished.

        ``fragment_id``: rerun that fragment alone (``auto_reruns`` names the timed ones); ``widgets``:
        (id, WidgetState field, value) for each widget the user set, e.g. (id, "trigger_value", True);
        ``message``: a rerun of the caller's own making instead (the abuse benchmark's hostile ones)."""
        run = Run()
        if self.ws is None or (typed is not None and not self.sentence_box):
            run.error = "no connection" if self.ws is None else "no Sentence text box in the first run"
            return run
        errors: list[str] = []
        new_session = False
        announced: dict[str, float] = {}  # the timed fragments this run drew
        start = time.perf_counter()
        try:
            async with asyncio.timeout(RUN_TIMEOUT_S):
                await self.ws.send(message or self._rerun_message(typed, fragment_id, widgets))
                while True:
                    raw = await self.ws.recv()
                    message = ForwardMsg.FromString(raw)
                    kind = message.WhichOneof("type")
                    if kind == "ref_hash":  # an element this tab already holds: the browser reads its cache
                        entry = self.cache.get(message.ref_hash)
                        if entry is None:
                            errors.append(f"forward-message cache miss {message.ref_hash}")
                            continue
                        entry[1] = self.cache_runs
                        run.cache_hits += 1
                        raw = entry[0]
                        message = ForwardMsg.FromString(raw)
                        kind = message.WhichOneof("type")
                    elif message.metadata.cacheable and message.hash not in self.cache:
                        self.cache[message.hash] = [raw, self.cache_runs]
                    run.markers.update(MARKER.findall(raw))
                    if kind == "delta":
                        if close_after_first_delta:
                            run.latency, run.ok = time.perf_counter() - start, True
                            await self.close()
                            self.ws = None
                            return run
                        if message.delta.WhichOneof("type") == "new_element":
                            element = message.delta.new_element
                            run.elements.append(element)
                            which = element.WhichOneof("type")
                            if which == "plotly_chart":
                                run.charts.append(element.plotly_chart.spec)
                            elif which == "text_input" and element.text_input.label == "Sentence":
                                self.sentence_box = element.text_input.id
                            elif which in ("button", "radio"):
                                widget = getattr(element, which)
                                self.widgets[widget.label] = (widget.id, message.delta.fragment_id)
                            elif which in ("markdown", "heading"):
                                run.texts.append(getattr(element, which).body)
                            elif which == "metric":
                                run.texts.append(f"{element.metric.label}: {element.metric.body}")
                            elif which == "exception":
                                warning = " (warning)" if element.exception.is_warning else ""
                                errors.append(f"exception{warning}: {element.exception.message[:200]}")
                    elif kind == "new_session":  # names the main script; a pages/ app's page follows
                        new_session = True
                        self.session_id = message.new_session.initialize.session_id
                        self.page_hash = message.new_session.page_script_hash
                        self.max_cache_age = message.new_session.config.max_cached_message_age or 2
                    elif kind == "navigation":  # the page that actually ran, in an app with pages
                        self.page_hash = message.navigation.page_script_hash
                    elif kind == "page_info_changed":  # the server rewrote the URL's query string
                        self.query = dict(urllib.parse.parse_qsl(message.page_info_changed.query_string))
                    elif kind == "auto_rerun":
                        announced[message.auto_rerun.fragment_id] = message.auto_rerun.interval
                    elif kind == "stop_auto_rerun":
                        for fragment in message.stop_auto_rerun.fragment_ids:
                            self.auto_reruns.pop(fragment, None)
                    elif kind == "page_not_found":
                        errors.append(f"page not found: {self.page!r}")
                    elif kind == "script_finished":
                        status = message.script_finished
                        if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:  # the app asked for a rerun
                            continue
                        run.latency = time.perf_counter() - start
                        run.full = status == ForwardMsg.FINISHED_SUCCESSFULLY
                        # A run of the whole page names every timed fragment it drew; a fragment's, its own.
                        self.auto_reruns = announced if run.full else self.auto_reruns | announced
                        if new_session:
                            self._age_cache()
                        if status not in (
                            ForwardMsg.FINISHED_SUCCESSFULLY,
                            ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
                        ):
                            errors.append(f"script_finished {ForwardMsg.ScriptFinishedStatus.Name(status)}")
                        run.ok, run.error = not errors, "; ".join(errors)
                        return run
        except TimeoutError:
            errors.append(f"timeout after {RUN_TIMEOUT_S:.0f} s")
        except (WebSocketException, OSError) as error:
            errors.append(f"connection closed: {error!r}")
        await self.close()  # the socket's state is unknown now: later rounds of this tab fail
        self.ws = None
        run.error = "; ".join(errors)
        return run


# --- Many sessions -------------------------------------------------------------------------------


@dataclass
class RunResult:
    session: int
    round: int
    latency: float | None  # seconds from sending the rerun to script_finished; None if it never finished
    ok: bool
    shows_own: bool  # the charts show every invented word of this run's sentence
    shows_other: bool  # some message of the run carries another session's invented word
    error: str = ""
    shows_stale: bool = False  # some message carries a word of this session's sentence of another round
    sentence: str = ""
    page: str = ""
    cache_hits: int = 0  # elements the server sent as ref_hash, read from the tab's cache
    started: float = 0.0  # perf_counter() at the send, for the scenario's wall time
    finished: float = 0.0
    replicas: tuple = ()  # behind a balancer: the replica of each HTTP reply and of the websocket's


async def run_sessions(
    base_url: str,
    page: str | Callable[[int], str],
    sessions: int,
    rounds: int,
    sentence_for: Callable[[int, int], str] | None = None,
    *,
    query_for: Callable[[int], dict[str, str]] | None = None,
    close_after_first_delta: bool = False,
) -> list[RunResult]:
    """``sessions`` browser tabs, each doing ``rounds`` runs; every round starts in all tabs at once.

    ``page`` is a URL path ("" for the main page, "scores") or a function of the session number;
    ``sentence_for(session, round)`` gives the sentence (the first in the URL, later ones typed into
    the text box), made of invented words from ``marker``; by default ``ordinary_sentence`` with a new tag.
    ``query_for(session)`` adds URL parameters, e.g. HEAVY_PARAMS. Returns results by round, then session.
    """
    sentence_for = sentence_for or functools.partial(ordinary_sentence, new_tag())
    page_of = page if callable(page) else lambda _session: page
    start_together = asyncio.Barrier(sessions)  # the class presses Enter at the same moment
    results: list[RunResult] = []

    async def one_session(session: int) -> None:
        sentences = [sentence_for(session, r) for r in range(rounds)]
        query = {"sentence": sentences[0], **(query_for(session) if query_for else {})}
        tab = BrowserTab(base_url, page_of(session), query)
        connect_error = ""
        try:
            await tab.open()
        except (WebSocketException, OSError, RuntimeError, TimeoutError) as error:
            connect_error = f"connect failed: {error!r}"
        try:
            for round_, sentence in enumerate(sentences):
                await start_together.wait()  # also after a failure, so that no other session waits forever
                started = time.perf_counter()
                run = await tab.run(
                    typed=sentence if round_ else None, close_after_first_delta=close_after_first_delta
                )
                own = markers_in(sentence)
                mine = set().union(*(markers_in(s) for s in sentences))
                charts = "".join(run.charts).encode()
                results.append(
                    RunResult(
                        session=session,
                        round=round_,
                        latency=run.latency,
                        ok=run.ok,
                        shows_own=all(word in charts for word in own),
                        shows_other=bool(run.markers - mine),
                        error=connect_error or run.error,
                        shows_stale=bool(run.markers & (mine - own)),
                        sentence=sentence,
                        page=tab.page,
                        cache_hits=run.cache_hits,
                        started=started,
                        finished=time.perf_counter(),
                        replicas=tuple(tab.replicas),
                    )
                )
        finally:
            await tab.close()

    await asyncio.gather(*(one_session(s) for s in range(sessions)))
    return sorted(results, key=lambda r: (r.round, r.session))


# --- Statistics and tables -----------------------------------------------------------------------


def run_in_thread(coroutine):
    """asyncio.run in a thread of its own: Playwright's sync API (the browser tests, same pytest process)
    leaves an event loop running in the main thread, where asyncio.run refuses to start another."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def percentile(values: list[float], fraction: float) -> float | None:  # nearest rank
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] if ordered else None


@dataclass
class Measured:
    """A scenario's results on one server, with the server's RSS and CPU and the client's CPU."""

    results: list[RunResult]
    rss_before: float | None
    rss_after: float | None
    server_cpu: float | None
    client_cpu: float

    @property
    def latencies(self) -> list[float]:
        return [r.latency for r in self.results if r.ok and r.latency is not None]

    @property
    def wall(self) -> float:
        if not self.results:
            return 0.0
        return max(r.finished for r in self.results) - min(r.started for r in self.results)

    def p95(self) -> float | None:
        return percentile(self.latencies, 0.95)

    def failures(self) -> list[RunResult]:
        return [r for r in self.results if not r.ok]


async def measure(server: Server, *args, **kwargs) -> Measured:
    """run_sessions on one server, with its RSS before and after and the CPU both sides used."""
    rss_before, cpu_before, client_before = server.rss_mb(), server.cpu_s(), time.process_time()
    results = await run_sessions(server.url, *args, **kwargs)
    cpu_after = server.cpu_s()
    server_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return Measured(results, rss_before, server.rss_mb(), server_cpu, time.process_time() - client_before)


def fmt(value, digits=2, suffix="") -> str:
    return "–" if value is None else f"{value:.{digits}f}{suffix}"


def table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


LATENCY_HEADERS = ["runs", "median s", "p95 s", "max s", "runs/s", "failed", "own sentence missing"]
LATENCY_HEADERS += ["another's sentence", "earlier round's words"]


def latency_cells(measured: Measured, results: list[RunResult] | None = None) -> list:
    results = measured.results if results is None else results
    latencies = [r.latency for r in results if r.ok and r.latency is not None]
    wall = measured.wall
    return [
        len(results),
        fmt(statistics.median(latencies) if latencies else None),
        fmt(percentile(latencies, 0.95)),
        fmt(max(latencies) if latencies else None),
        fmt(len(results) / wall if wall else None, 1),
        sum(not r.ok for r in results),
        sum(r.ok and not r.shows_own for r in results),
        sum(r.shows_other for r in results),
        sum(r.shows_stale for r in results),
    ]


def resource_cells(measured: Measured) -> list:
    cpu_per_run = (
        measured.server_cpu / len(measured.results) if measured.server_cpu and measured.results else None
    )
    client_share = 100 * measured.client_cpu / measured.wall if measured.wall else None
    return [
        f"{fmt(measured.rss_before, 0)} → {fmt(measured.rss_after, 0)}",
        fmt(cpu_per_run, 3),
        fmt(client_share, 0, " %"),
    ]


RESOURCE_HEADERS = ["server RSS MB before → after", "server CPU s/run", "client CPU"]


def notes_block(notes: list[str]) -> list[str]:  # a blank line, then the notes, if any
    return ["", *notes] if notes else []


def run_notes(label: str, measured: Measured) -> list[str]:
    failed = measured.failures()
    notes = [f"- {label}: {len(failed)} failed runs, e.g. `{r.error}`" for r in failed[:1]]
    others = [r for r in measured.results if r.shows_other]
    notes += [
        f"- {label}: session {r.session} round {r.round} showed another session's words" for r in others[:3]
    ]
    if hits := sum(r.cache_hits for r in measured.results):
        notes.append(
            f"- {label}: {hits} elements arrived as ref_hash, read from the tabs' forward-message caches"
        )
    return notes


# --- Scenarios -----------------------------------------------------------------------------------


@dataclass
class Sizes:
    sessions: int
    rounds: int


FULL = {
    "stage": Sizes(30, 3),
    "overview": Sizes(30, 3),
    "overview100": Sizes(100, 2),
    "heavy": Sizes(30, 3),  # 29 ordinary sessions + 1 heavy one
    "disconnect": Sizes(30, 1),
    "soak": Sizes(40, 10),  # per batch; four batches
    "llm": Sizes(30, 2),
    "class": Sizes(100, 1),  # a teacher and 100 students (bench_class.py)
}
QUICK = {
    "stage": Sizes(5, 2),
    "overview": Sizes(5, 2),
    "overview100": Sizes(10, 2),
    "heavy": Sizes(5, 2),
    "disconnect": Sizes(5, 1),
    "soak": Sizes(5, 2),
    "llm": Sizes(5, 2),
    "class": Sizes(10, 1),
}
SOAK_BATCHES = 4


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


async def scenario_pair(
    name: str, title: str, page: str, sizes: Sizes, app: Server, bare: Server | None
) -> str:
    """The same sessions on the app and then on the bare page, back to back."""
    measured = {}
    for label, server, server_page in (("app", app, page), ("bare", bare, OVERVIEW)):
        if server is None:
            continue
        progress(f"{name}: {label}, {sizes.sessions} sessions × {sizes.rounds} rounds")
        measured[label] = await measure(server, server_page, sizes.sessions, sizes.rounds)
    bare_p95 = measured["bare"].p95() if "bare" in measured else None
    rows, notes = [], []
    for label, m in measured.items():
        ratio = m.p95() / bare_p95 if bare_p95 and m.p95() is not None else None
        rows.append(
            [
                label,
                f"{sizes.sessions} × {sizes.rounds}",
                *latency_cells(m),
                fmt(ratio, 2, "×"),
                *resource_cells(m),
            ]
        )
        notes += run_notes(label, m)
    headers = ["server", "sessions × rounds", *LATENCY_HEADERS, "p95 ÷ bare p95", *RESOURCE_HEADERS]
    return "\n".join([f"### {title}", "", table(headers, rows), *notes_block(notes)])


def heavy_first(tag: str) -> Callable[[int, int], str]:  # session 0 types 64 tokens, the others 6
    return lambda s, r: heavy_sentence(tag, s, r) if s == 0 else ordinary_sentence(tag, s, r)


def heavy_params(session: int) -> dict[str, str]:  # session 0 at the largest settings
    return HEAVY_PARAMS if session == 0 else {}


async def scenario_heavy(sizes: Sizes, app: Server, bare: Server | None) -> str:
    """Ordinary sessions on the stage page, alone and next to one session at the largest settings."""
    ordinary = sizes.sessions - 1
    rows, notes, ratios = [], [], []
    for label, server, page in (("app", app, STAGE_PAGE), ("bare", bare, OVERVIEW)):
        if server is None:
            continue
        progress(f"heavy: {label}, {ordinary} ordinary sessions alone × {sizes.rounds} rounds")
        alone = await measure(server, page, ordinary, sizes.rounds)
        progress(f"heavy: {label}, {ordinary} ordinary + 1 heavy session × {sizes.rounds} rounds")
        with_heavy = await measure(
            server, page, sizes.sessions, sizes.rounds, heavy_first(new_tag()), query_for=heavy_params
        )
        ordinary_results = [r for r in with_heavy.results if r.session]
        heavy_results = [r for r in with_heavy.results if not r.session]
        for variant, measured, results in (
            (f"{ordinary} ordinary, alone", alone, None),
            (f"{ordinary} ordinary, next to the heavy one", with_heavy, ordinary_results),
            ("the heavy session (64 tokens, d_model 64, 8 heads)", with_heavy, heavy_results),
        ):
            rows.append([label, variant, *latency_cells(measured, results), *resource_cells(measured)])
        notes += run_notes(label, alone) + run_notes(label, with_heavy)
        ordinary_p95 = percentile(
            [r.latency for r in ordinary_results if r.ok and r.latency is not None], 0.95
        )
        if alone.p95() and ordinary_p95:
            ratios.append(f"{label} {ordinary_p95 / alone.p95():.2f}×")
    headers = ["server", "sessions", *LATENCY_HEADERS, *RESOURCE_HEADERS]
    summary = "Ordinary sessions' p95 next to the heavy session ÷ alone: " + (", ".join(ratios) or "–")
    note = (
        "The bare page ignores d_model, heads, d_k and d_v: its heavy session is only the 64-word sentence."
    )
    title = (
        f"### {ordinary} ordinary sessions with and without one at the largest settings, on the stage page"
    )
    return "\n".join([title, "", table(headers, rows), "", summary, "", note, *notes_block(notes)])


async def scenario_disconnect(sizes: Sizes, app: Server, bare: Server | None) -> str:
    """Sessions that send their rerun and close the socket when the first delta arrives."""
    rows, notes = [], []
    for label, server, page in (("app", app, STAGE_PAGE), ("bare", bare, OVERVIEW)):
        if server is None:
            continue
        progress(f"disconnect: {label}, {sizes.sessions} sessions close after the first delta")
        log_start = server.log_size()
        measured = await measure(server, page, sizes.sessions, 1, close_after_first_delta=True)
        right_after = server.rss_mb()
        settled, waited = await settled_rss(server)
        check = await run_sessions(server.url, page, 3, 1)  # the server still serves new sessions
        problems = server.log_problems(log_start)
        closed = sum(r.ok for r in measured.results)
        first_delta = [r.latency for r in measured.results if r.ok and r.latency is not None]
        rows.append(
            [
                label,
                sizes.sessions,
                closed,
                fmt(statistics.median(first_delta) if first_delta else None, 3),
                fmt(measured.rss_before, 0),
                fmt(right_after, 0),
                f"{fmt(settled, 0)} (after {waited:.1f} s)",
                "n/a" if problems is None else len(problems),
                "yes" if all(r.ok and r.shows_own for r in check) else "NO",
            ]
        )
        notes += [f"- {label} log: `{line.strip()[:160]}`" for line in (problems or [])[:5]]
        notes += run_notes(label, measured)
    headers = ["server", "sessions", "closed after the first delta", "median s to first delta"]
    headers += ["RSS MB before", "right after", "settled", "log lines Traceback/Exception/ERROR"]
    headers += ["then serves 3 new sessions"]
    title = "### Sessions that close their socket in the middle of a run"
    return "\n".join([title, "", table(headers, rows), *notes_block(notes)])


async def scenario_soak(sizes: Sizes, app: Server) -> str:
    """Four equal batches of distinct sentences on the app, alternating overview and stage page per session."""
    rows, notes, rss = [], [], []
    before, _ = await settled_rss(app)
    for batch in range(1, SOAK_BATCHES + 1):
        progress(f"soak: batch {batch} of {SOAK_BATCHES}, {sizes.sessions} sessions × {sizes.rounds} rounds")
        measured = await measure(
            app, lambda s: OVERVIEW if s % 2 == 0 else STAGE_PAGE, sizes.sessions, sizes.rounds
        )
        settled, _ = await settled_rss(app)
        rss.append(settled)
        sentences = len({r.sentence for r in measured.results})
        rows.append(
            [batch, sentences, *latency_cells(measured), fmt(settled, 0), *resource_cells(measured)[1:]]
        )
        notes += run_notes(f"batch {batch}", measured)
    growth = rss[-1] - rss[-3] if len(rss) >= 3 and None not in (rss[-1], rss[-3]) else None
    headers = ["batch", "distinct sentences", *LATENCY_HEADERS, "RSS MB after batch (settled)"]
    headers += RESOURCE_HEADERS[1:]
    total = sizes.sessions * sizes.rounds * SOAK_BATCHES
    title = (
        f"### Soak on the app: {total:,} distinct sentences in {SOAK_BATCHES} batches "
        "(even sessions on the overview, odd on the stage page)"
    )
    summary = (
        f"RSS before the soak {fmt(before, 0)} MB; growth over the last two batches "
        f"(after batch {SOAK_BATCHES - 2} → after batch {SOAK_BATCHES}): {fmt(growth, 1, ' MB')}"
    )
    return "\n".join([title, "", table(headers, rows), "", summary, *notes_block(notes)])


SCENARIOS = ("stage", "overview", "overview100", "heavy", "disconnect", "soak", "llm", "class")


async def scenario_llm(sizes: Sizes, app: Server) -> str:
    """A class on SmolLM2's stage page, each with a sentence of its own: one forward per sentence (the model
    is loaded first, as a teacher's first click would). Its byte-level tokens split the invented words, so
    the charts show them in pieces: the isolation columns do not apply; every run must still finish."""
    progress("llm: loading SmolLM2 (the first page that chooses it)")
    warm = await run_sessions(app.url, STAGE_PAGE, 1, 1, query_for=lambda _: {"model": "SmolLM2"})
    if not warm[0].ok:
        raise RuntimeError(f"SmolLM2's first page failed: {warm[0].error}")
    progress(f"llm: {sizes.sessions} sessions × {sizes.rounds} rounds on SmolLM2's stage page")
    measured = await measure(
        app, STAGE_PAGE, sizes.sessions, sizes.rounds, query_for=lambda _: {"model": "SmolLM2"}
    )
    rows = [
        [
            "app, SmolLM2",
            f"{sizes.sessions} × {sizes.rounds}",
            *latency_cells(measured)[:6],
            *resource_cells(measured),
        ]
    ]
    headers = ["server", "sessions × rounds", *LATENCY_HEADERS[:6], *RESOURCE_HEADERS]
    return "\n".join(["### SmolLM2's stage page (scores), a sentence each", "", table(headers, rows)])


async def run_benchmark(args, app: Server, bare: Server | None) -> None:
    sizes = QUICK if args.quick else FULL
    chosen = args.scenario or list(SCENARIOS)
    progress("warming up: one session per page on each server (imports, first figures)")
    for server, page in ((app, OVERVIEW), (app, STAGE_PAGE), (bare, OVERVIEW)):
        if server is not None:
            warm = await run_sessions(server.url, page, 1, 1)
            if not warm[0].ok:
                raise RuntimeError(f"warm-up on {server.url}/{page} failed: {warm[0].error}")
    for name in SCENARIOS:
        if name not in chosen:
            continue
        size = sizes[name]
        size = Sizes(args.sessions or size.sessions, args.rounds or size.rounds)
        started = time.monotonic()
        if name == "stage":
            text = await scenario_pair(name, "Stage page (scores)", STAGE_PAGE, size, app, bare)
        elif name == "overview":
            text = await scenario_pair(name, "Overview (app.py)", OVERVIEW, size, app, bare)
        elif name == "overview100":
            text = await scenario_pair(name, "Overview, 100 sessions", OVERVIEW, size, app, bare)
        elif name == "heavy":
            text = await scenario_heavy(size, app, bare)
        elif name == "disconnect":
            text = await scenario_disconnect(size, app, bare)
        elif name == "llm":
            text = await scenario_llm(size, app)
        elif name == "class":  # a live class: answers, following, idle followers (benchmarks/bench_class.py)
            from benchmarks.bench_class import scenario_class

            text = await scenario_class(app, args.quick)
        else:
            text = await scenario_soak(size, app)
        print(f"{text}\n\n_{name}: {time.monotonic() - started:.0f} s_\n", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--scenario", action="append", choices=SCENARIOS, help="run only this (repeatable)")
    parser.add_argument("--sessions", type=int, help="sessions per scenario (per batch for soak)")
    parser.add_argument("--rounds", type=int, help="rounds per session")
    parser.add_argument("--url", help="an already-running app to measure (no servers are started)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the servers are stopped
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        if args.url:
            app = Server(args.url.rstrip("/"), pid_listening_on(_host_port(args.url)[1]))
            bare = None
        else:
            progress("starting the app and the bare page")
            app = stack.enter_context(start_server(REPO, "app.py", log_path=LOG_DIR / "app.log"))
            bare_dir = stack.enter_context(bare_page_dir())
            bare = stack.enter_context(start_server(bare_dir, "bare.py", log_path=LOG_DIR / "bare.log"))
        print(
            f"## Load benchmark: {'quick' if args.quick else 'full'} run, {time.strftime('%Y-%m-%d %H:%M')}, "
            f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, streamlit {importlib.metadata.version('streamlit')}\n\n"
            f"app {app.url} (pid {app.pid or '?'})"
            + (f", bare page {bare.url} (pid {bare.pid})" if bare else "")
            + "; latency = rerun sent → script_finished, in seconds\n",
            flush=True,
        )
        try:
            asyncio.run(run_benchmark(args, app, bare))
        finally:
            for label, server in (("app", app), ("bare page", bare)):
                problems = server.log_problems() if server else None
                if problems:
                    print(f"{label} server log: {len(problems)} problem lines ({server.log_path})")
    print(f"Total: {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # the servers were stopped on the way out
        print("interrupted", file=sys.stderr)
        sys.exit(130)
