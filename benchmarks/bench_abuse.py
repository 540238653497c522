"""Abuse benchmark: what one hostile visitor does to a real `streamlit run` server, and to the class on it.

Run from the repository root::

    python benchmarks/bench_abuse.py                    # every scenario, about ten minutes
    python benchmarks/bench_abuse.py --scenario downloads --seconds 20

For each scenario a fresh server starts (the app, with the project's .streamlit/config.toml). An
ordinary session — a student on the stage page "4. Raw scores" typing a new 6-word sentence, run after
run — is timed alone, then while one hostile client (browserless, speaking Streamlit's websocket
protocol like benchmarks/bench_load.py) does one thing without pause:

* ``memory``: five sessions typing new sentences as fast as the server answers: the overview at the
  largest settings (d_model 64, 8 heads, d_k = d_v = 64, 64 tokens), the overview and *Every head of
  every layer* with MiniLM and with SmolLM2, 120 words each;
* ``unread``: a session that asks for MiniLM's largest page again and again and never reads its socket;
* ``downloads``: "Download the whole trace (JSON)" of MiniLM at 120 words, four requests in flight at
  all times, a new sentence (a file not yet made) every fifth;
* ``training``: six sessions opening *Watch it learn* with a new training seed each, run after run;
* ``editor``: *What if?* sent an edit with 3,000 added rows, again and again;
* ``idle``: 60 sessions that open a page, then stay connected and silent.

It reports the ordinary session's median and p95 alone and beside the hostile client, the server's
peak resident memory (sampled every 50 ms), and what the hostile client got (runs served, files
served or refused, disconnections). Nothing here is asserted: tests/test_abuse.py checks the limits.
"""

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streamlit.proto.BackMsg_pb2 import BackMsg
from websockets.exceptions import WebSocketException

from benchmarks.bench_load import (
    HEAVY_PARAMS,
    REPO,
    STAGE_PAGE,
    BrowserTab,
    fmt,
    new_tag,
    ordinary_sentence,
    percentile,
    progress,
    start_server,
    table,
)

SCENARIOS = ("memory", "unread", "downloads", "training", "editor", "idle")
BIG = 120  # words: about 125 of MiniLM's word pieces, under its 128


COMMON = [
    "the",
    "a",
    "an",
    "and",
    "or",
    "but",
    "of",
    "to",
    "in",
    "on",
    "at",
    "by",
    "for",
    "with",
    "from",
    "as",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "it",
    "its",
    "this",
    "that",
    "these",
    "those",
    "he",
    "she",
    "they",
    "we",
    "you",
    "i",
    "my",
    "your",
    "our",
    "their",
    "cat",
    "dog",
    "bird",
    "fish",
    "horse",
    "mouse",
    "tree",
    "house",
    "car",
    "road",
    "river",
    "hill",
    "city",
    "town",
    "school",
    "book",
    "table",
    "chair",
    "window",
    "door",
    "garden",
    "field",
    "sun",
    "moon",
    "star",
    "rain",
    "snow",
    "wind",
    "cloud",
    "sky",
    "sea",
    "day",
    "night",
    "morning",
    "evening",
    "summer",
    "winter",
    "spring",
    "red",
    "blue",
    "green",
    "small",
    "big",
    "old",
    "new",
    "good",
    "bad",
    "long",
    "short",
    "fast",
    "slow",
    "happy",
    "sad",
    "warm",
    "cold",
    "quiet",
    "loud",
    "sat",
    "ran",
    "saw",
    "made",
    "took",
    "gave",
    "came",
    "went",
    "said",
    "told",
    "found",
    "kept",
    "left",
]


def words(tag, session, round_, count):  # -> count common words, a different sentence for each argument
    """One word piece each in MiniLM's vocabulary (invented words would split into many and be refused)."""
    rng = random.Random(f"{tag}-{session}-{round_}")
    return " ".join(rng.choice(COMMON) for _ in range(count))


class PeakMemory:
    """The server's resident memory, sampled every 50 ms in a thread; ``peak`` in MB."""

    def __init__(self, server):
        self.server, self.peak, self._stop = server, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.server.rss_mb() or 0.0)
            time.sleep(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


async def student(url, seconds):  # -> latencies (s) of an ordinary session's runs for about that long
    tag = new_tag()
    tab = BrowserTab(url, STAGE_PAGE, {"sentence": ordinary_sentence(tag, 0, 0)})
    await tab.open()
    latencies, errors, round_ = [], [], 0
    try:
        first = await tab.run()
        if not first.ok:
            raise RuntimeError(f"the ordinary session's first run failed: {first.error}")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            round_ += 1
            run = await tab.run(typed=ordinary_sentence(tag, 0, round_))
            if run.ok:
                latencies.append(run.latency)
            else:
                errors.append(run.error)
            await asyncio.sleep(0.25)  # a student reads before typing again
    finally:
        await tab.close()
    return latencies, errors


class Hostile:
    """Counts of what the hostile client did and got."""

    def __init__(self):
        self.counts = {}

    def add(self, what, n=1):
        self.counts[what] = self.counts.get(what, 0) + n

    def __str__(self):
        return ", ".join(f"{n} {what}" for what, n in sorted(self.counts.items())) or "nothing"


async def typing_loop(url, page, query, count, stop, hostile, session):  # a tab typing new sentences
    tag = new_tag()
    tab = BrowserTab(url, page, {**query, "sentence": words(tag, session, 0, count)})
    await tab.open()
    round_ = 0
    try:
        run = await tab.run()
        while not stop.is_set():
            round_ += 1
            run = await tab.run(typed=words(tag, session, round_, count))
            hostile.add("runs served" if run.ok else "runs failed")
            if tab.ws is None:
                hostile.add("disconnections")
                await tab.open()
                await tab.run()
    finally:
        await tab.close()


async def scenario_memory(url, stop, hostile):
    await asyncio.gather(
        typing_loop(url, "", HEAVY_PARAMS, 64, stop, hostile, 1),
        typing_loop(url, "", {"model": "MiniLM"}, BIG, stop, hostile, 2),
        typing_loop(url, "model_view", {"model": "MiniLM"}, BIG, stop, hostile, 3),
        typing_loop(url, "", {"model": "SmolLM2"}, BIG, stop, hostile, 4),
        typing_loop(url, "model_view", {"model": "SmolLM2"}, BIG, stop, hostile, 5),
    )


async def scenario_unread(url, stop, hostile):  # asks for pages and never reads what comes back
    tag = new_tag()
    tab = BrowserTab(url, "model_view", {"model": "MiniLM", "sentence": words(tag, 1, 0, BIG)})
    tab.reads = False  # the server, not the client's own keepalive, must end it
    await tab.open()
    await tab.run()
    round_ = 0
    try:
        while not stop.is_set():
            round_ += 1
            try:
                await tab.ws.send(tab._rerun_message(words(tag, 1, round_, BIG)))
            except (WebSocketException, OSError):
                hostile.add("times the server closed the unread socket")
                await tab.open()
                await tab.run()
                continue
            hostile.add("reruns asked")
            await asyncio.sleep(0.3)
    finally:
        with contextlib.suppress(Exception):
            await tab.ws.close()


def _deferred_ids(run, label):
    return [
        e.download_button.deferred_file_id
        for e in run.elements
        if e.WhichOneof("type") == "download_button" and e.download_button.label == label
    ]


async def scenario_downloads(url, stop, hostile):
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    tag = new_tag()
    tab = BrowserTab(url, STAGE_PAGE, {"model": "MiniLM", "sentence": words(tag, 1, 0, BIG)})
    await tab.open()
    run = await tab.run()
    (file_id,) = _deferred_ids(run, "Download the whole trace (JSON)")
    request_id, round_ = 0, 0

    async def ask_four(file_id):  # four requests in flight, then their replies, then the four files
        nonlocal request_id
        asked = set()
        for _ in range(4):
            request_id += 1
            message = BackMsg()
            operation = message.backend_operation_request
            operation.request_id, operation.session_id = str(request_id), tab.session_id
            operation.deferred_file.file_id = file_id
            await tab.ws.send(message.SerializeToString())
            asked.add(str(request_id))
        urls = []
        async with asyncio.timeout(120):
            while asked:
                message = ForwardMsg.FromString(await tab.ws.recv())
                if message.WhichOneof("type") == "backend_operation_response":
                    reply = message.backend_operation_response
                    asked.discard(reply.request_id)
                    if reply.error_msg:
                        hostile.add("files failed")
                    else:
                        urls.append(reply.deferred_file.url)
        for status, _, body, _ in await asyncio.gather(*(fetch(url, path) for path in urls)):
            refused = status == 200 and body.startswith(b'{"error": ')
            hostile.add("files refused" if refused else "files served" if status == 200 else f"HTTP {status}")

    try:
        while not stop.is_set():
            await ask_four(file_id)
            round_ += 1
            if round_ % 5 == 0:  # a new view: a file the server has not made yet
                run = await tab.run(typed=words(tag, 1, round_, BIG))
                (file_id,) = _deferred_ids(run, "Download the whole trace (JSON)")
    finally:
        await tab.close()


async def fetch(url, path):
    from benchmarks.bench_load import http_get

    return await http_get(url, path, {})


async def scenario_training(url, stop, hostile):  # six tabs, each opened again with a new seed
    async def one(session):
        seed = 10 + session * 150  # the training seeds are 0-999; 0 and 1 are trained when the server starts
        while not stop.is_set():
            seed += 1
            tab = BrowserTab(url, "watch_it_learn", {"train_seed": str(seed)})
            await tab.open()
            run = await tab.run()
            await tab.close()
            said = b"".join(e.SerializeToString() for e in run.elements)
            hostile.add("refused" if b"try again" in said else "layers trained" if run.ok else "runs failed")

    await asyncio.gather(*(one(s) for s in range(6)))


async def scenario_editor(url, stop, hostile):
    tab = BrowserTab(url, "what_if", {"sentence": "the cat sat on the mat"})
    await tab.open()
    run = await tab.run()

    def editor_id(run):  # the editor's widget id in this run: a refused edit gives the editor a new key
        return next(
            e.dataframe.id for e in run.elements if e.WhichOneof("type") == "dataframe" and e.dataframe.id
        )

    editor = editor_id(run)
    state = json.dumps({"edited_rows": {}, "added_rows": [{"c1": 1.0}] * 3000, "deleted_rows": []})
    try:
        while not stop.is_set():
            message = BackMsg.FromString(tab._rerun_message(None))
            widget = message.rerun_script.widget_states.widgets.add()
            widget.id, widget.string_value = editor, state
            result = await tab.run(message=message.SerializeToString())
            hostile.add("editor runs served" if result.ok else "editor runs failed")
            refused = any(
                e.WhichOneof("type") == "alert" and "cannot be added" in e.alert.body for e in result.elements
            )
            hostile.add("refused with the message" if refused else "not refused")
            editor = editor_id(result)
    finally:
        await tab.close()


async def scenario_idle(url, stop, hostile):
    tabs = []
    for session in range(60):
        tab = BrowserTab(url, STAGE_PAGE, {"sentence": f"idle tab {session}"})
        await tab.open()
        run = await tab.run()
        hostile.add("idle sessions open" if run.ok else "idle sessions failed")
        tabs.append(tab)
    await stop.wait()
    await asyncio.gather(*(tab.close() for tab in tabs))


async def measure(name, seconds):  # -> one row of the table
    with start_server(REPO) as server:
        progress(f"{name}: warming up (MiniLM and SmolLM2 load once)")
        for model in ("MiniLM", "SmolLM2"):  # each real model loaded, as a replica is after a while
            warm = BrowserTab(server.url, STAGE_PAGE, {"model": model, "sentence": "warm up"})
            await warm.open()
            await warm.run()
            await warm.close()
        progress(f"{name}: the ordinary session alone, {seconds} s")
        alone, _ = await student(server.url, seconds)
        stop, hostile = asyncio.Event(), Hostile()
        progress(f"{name}: the ordinary session beside the hostile client, {seconds} s")
        with PeakMemory(server) as memory:
            attack = asyncio.create_task(globals()[f"scenario_{name}"](server.url, stop, hostile))
            await asyncio.sleep(2.0)  # the hostile client is under way
            beside, errors = await student(server.url, seconds)
            stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(attack, 60)
        problems = server.log_problems() or []
        for line in problems[:5]:
            progress(f"{name}: server log: {line[:300]}")
        return [
            name,
            fmt(statistics.median(alone) * 1000, 0),
            fmt(percentile(alone, 0.95) * 1000, 0),
            fmt(statistics.median(beside) * 1000, 0) if beside else "–",
            fmt(percentile(beside, 0.95) * 1000, 0) if beside else "–",
            f"{len(errors)} of {len(beside) + len(errors)}",
            fmt(memory.peak, 0),
            str(hostile),
            str(len(problems)),
        ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", action="append", choices=SCENARIOS, help="run only this (repeatable)")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long each part runs (default 30)")
    arguments = parser.parse_args()
    rows = [asyncio.run(measure(name, arguments.seconds)) for name in arguments.scenario or SCENARIOS]
    print(
        table(
            ["hostile client", "alone median (ms)", "alone p95", "beside median", "beside p95",
             "ordinary runs failed", "peak RSS (MB)", "what the hostile client got", "log problems"],
            rows,
        )
    )  # fmt: skip


if __name__ == "__main__":
    main()
