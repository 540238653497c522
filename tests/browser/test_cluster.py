"""Replicas behind HAProxy (deploy/haproxy.cfg, started by deploy/cluster.py as `make cluster` does).

Many browserless sessions spread over every replica and each stays on one (its HTTP requests and its
websocket, which carries every rerun); a CSV download works through the balancer; and when a replica is
killed mid-lesson, sessions on the others carry on, while one that was on it gets its view back from
its URL once its browser reconnects. Needs Debian's haproxy (``.ci/run`` installs it).
"""

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from browser_helpers import ARTIFACTS, REPO_ROOT, wait_for_charts, wait_for_reply
from playwright.sync_api import expect

from benchmarks.bench_load import (
    BrowserTab,
    markers_in,
    new_tag,
    ordinary_sentence,
    run_sessions,
)
from benchmarks.bench_load import (
    run_in_thread as run_async,
)
from deploy.cluster import free_ports

REPLICA_LINE = re.compile(r"replica (app\d+): port (\d+), pid (\d+)")


@dataclass
class Cluster:
    url: str
    pids: dict  # replica name -> process id
    process: subprocess.Popen
    ports: dict = field(default_factory=dict)  # replica name -> its own port (not through the balancer)
    https_url: str | None = None  # with a TLS certificate

    def kill(self, replica):  # as a crash would: no goodbye to its sessions
        os.kill(self.pids[replica], signal.SIGKILL)


def start_cluster(replicas, name, environment=None, tls_cert=None) -> Iterator[Cluster]:
    """deploy/cluster.py, as `make cluster` runs it, with these environment variables (the balancer's
    settings, the replicas' Streamlit options) and, given a certificate, HTTPS on the port after the
    replicas'."""
    missing = [name for name in ("haproxy", "redis-server") if shutil.which(name) is None]
    missing = [name for name in missing if not os.path.exists(f"/usr/sbin/{name}")]
    if "ATTENTION_CLASS_STORE" in (environment or {}):  # the test brings its own store
        missing = [name for name in missing if name != "redis-server"]
    if missing:
        reason = f"{' and '.join(missing)} missing (sudo apt-get install {' '.join(missing)})"
        if os.environ.get("REQUIRE_BROWSER") == "1":  # CI: .ci/run installs it
            pytest.fail(f"{reason}; CI must run the balancing test", pytrace=False)
        pytest.skip(reason)
    port = free_ports(replicas + 1)  # the replicas take the ports after it, then HTTPS
    logs = ARTIFACTS / name
    logs.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "deploy/cluster.py", "--replicas", str(replicas), "--port", str(port)]
    command += ["--logs", str(logs)]
    if tls_cert:
        command += ["--tls-cert", str(tls_cert), "--tls-port", str(port + replicas + 1)]
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True, env=os.environ | (environment or {})
    )
    pids, ports = {}, {}
    for line in process.stdout:  # it prints each replica, then "Serving" once haproxy runs
        if found := REPLICA_LINE.search(line):
            pids[found.group(1)], ports[found.group(1)] = int(found.group(3)), int(found.group(2))
        if line.startswith("Serving"):
            break
    assert len(pids) == replicas, f"the cluster did not start; see {logs}"
    https_url = f"https://127.0.0.1:{port + replicas + 1}" if tls_cert else None
    try:
        yield Cluster(f"http://127.0.0.1:{port}", pids, process, ports, https_url)
    finally:
        process.send_signal(signal.SIGTERM)  # it stops haproxy and every replica
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    yield from start_cluster(3, "cluster")


def describe(results):
    return "\n".join(
        f"session {r.session} round {r.round}: ok={r.ok} {r.replicas} {r.error}" for r in results
    )


def test_sessions_spread_over_every_replica_and_each_stays_on_one(cluster):
    results = run_async(run_sessions(cluster.url, "scores", 30, 2))
    assert all(r.ok and r.shows_own and not r.shows_other for r in results), describe(results)
    by_session = {r.session: set(r.replicas) for r in results}
    # Its two HTTP requests and its websocket's handshake (every rerun rides on that websocket) on one replica.
    assert all(len(replicas) == 1 and len(r.replicas) == 3 for r in results for replicas in [set(r.replicas)])
    spread = Counter(next(iter(replicas)) for replicas in by_session.values())
    assert set(spread) == set(cluster.pids), spread  # every replica has sessions
    assert max(spread.values()) <= 2 * min(spread.values()), spread


def test_without_a_certificate_the_security_headers_come_but_no_https_ones(cluster):
    # `make cluster` as it starts without TLS (tests/browser/test_front_door.py has the HTTPS side).
    no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with no_proxy.open(f"{cluster.url}/scores?sentence=a+b", timeout=10) as reply:
        headers = reply.headers
    assert headers["Content-Security-Policy"].endswith("frame-ancestors 'self'")  # FRAME_ANCESTORS' default
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers
    (sticky,) = headers.get_all("Set-Cookie")
    attributes = {part.strip() for part in sticky.split(";")}
    assert {"HttpOnly", "SameSite=Lax"} <= attributes and "Secure" not in attributes


def test_a_reconnecting_browser_returns_to_its_replica(cluster):
    async def reconnect():
        tab = BrowserTab(cluster.url, "scores", {"sentence": ordinary_sentence(new_tag(), 0, 0)})
        await tab.open()
        first = await tab.run()
        await tab.close()
        await tab.open()  # a new websocket with the cookies the browser kept
        second = await tab.run()
        await tab.close()
        return tab.replicas, first, second

    replicas, first, second = run_async(reconnect())
    assert first.ok and second.ok, (first.error, second.error)
    assert len(replicas) == 6 and len(set(replicas)) == 1, replicas


def open_through(browser, cluster, path):  # -> (page, the replica that answered the page's requests)
    context = browser.new_context(viewport={"width": 1280, "height": 720}, accept_downloads=True)
    page = context.new_page()
    replicas = []
    page.on("response", lambda response: replicas.append(response.headers.get("x-replica")))
    page.goto(f"{cluster.url}/{path}")
    return page, replicas


def test_a_csv_download_works_through_the_balancer(browser, cluster):
    page, replicas = open_through(browser, cluster, "scores?sentence=a+dog+barked+loudly")
    wait_for_charts(page, 3, rows=["a", "dog", "barked", "loudly"])
    with page.expect_download() as download:
        page.get_by_role("button", name="scores.csv").click()
    lines = download.value.path().read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",a,dog,barked,loudly" and len(lines) == 5
    assert len({r for r in replicas if r}) == 1, replicas  # the file came from the session's replica
    page.context.close()


@pytest.fixture
def cluster_to_break() -> Iterator[Cluster]:  # its own: a replica of it is killed
    yield from start_cluster(3, "cluster-kill")


def test_killing_a_replica_leaves_the_others_untouched_and_its_sessions_keep_their_view(
    browser, cluster_to_break
):
    cluster = cluster_to_break
    sentence = "when the lights went out"
    page, replicas = open_through(
        browser, cluster, f"softmax?sentence={sentence.replace(' ', '+')}&causal=true"
    )
    rows = sentence.split()
    wait_for_charts(page, 3, rows=rows)
    victim = next(r for r in replicas if r)
    tag = new_tag()

    async def lesson():
        tabs = [
            BrowserTab(cluster.url, "scores", {"sentence": ordinary_sentence(tag, s, 0)}) for s in range(9)
        ]
        for tab in tabs:
            await tab.open()
        first = await asyncio.gather(*(tab.run() for tab in tabs))
        cluster.kill(victim)
        page_side = {tab.replicas[0] == victim for tab in tabs}
        second = await asyncio.gather(
            *(tab.run(typed=ordinary_sentence(tag, s, 1)) for s, tab in enumerate(tabs))
        )
        for tab in tabs:  # the browsers whose websocket closed reconnect, with their cookies and URL
            if tab.ws is None:
                await tab.open()
        third = await asyncio.gather(*(tab.run() for tab in tabs))
        for tab in tabs:
            await tab.close()
        return tabs, first, second, third, page_side

    before_kill = len(replicas)
    tabs, first, second, third, page_side = run_async(lesson())
    assert all(run.ok for run in first), [run.error for run in first]
    assert page_side == {True, False}, "the nine sessions should include the killed replica's and others"
    for s, (tab, run, again) in enumerate(zip(tabs, second, third, strict=True)):
        typed = markers_in(ordinary_sentence(tag, s, 1))
        if tab.replicas[0] != victim:  # untouched: its typed sentence, without a reconnect
            assert run.ok and typed <= run.markers, (s, run.error)
            assert len(set(tab.replicas)) == 1
        else:  # its websocket ended; after the reconnect, on a live replica, the URL's sentence is back
            assert not run.ok
            assert tab.replicas[-1] != victim
        assert again.ok and typed <= again.markers, (s, again.error)
    # The real browser on the killed replica: Streamlit reconnects by itself (a reply from another replica
    # after the kill: the page drawn before it would pass what follows), and the URL restores the view.
    wait_for_reply(page, replicas, before_kill, lambda replica: replica not in (None, victim))
    wait_for_charts(page, 3, rows=rows, timeout_ms=60_000)
    expect(page.locator("h1").first).to_have_text("6. Softmax")
    expect(page.get_by_role("switch", name="Causal mask")).to_be_checked()
    page.context.close()
