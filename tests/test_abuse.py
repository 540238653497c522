"""What one visitor can do to the server, and the limits that hold it: caches bounded by bytes and shared,
one computation per key, limits per session, waits that give up, the trained layers, and a real server
that refuses an editor flood and drops a session that never reads its socket."""

import asyncio
import contextlib
import json
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from attention_core.families import Busy, trained
from attention_viz import budget, charts
from benchmarks.bench_load import REPO, BrowserTab, run_in_thread, start_server
from ui import limits, sockets

# The shared caches


def test_a_cache_keeps_its_values_within_its_byte_budget_least_recently_used_first():
    cache = budget.SharedCache("test", budget=10_000, sizeof=len)
    for key in range(30):
        assert cache.get(key, lambda key=key: bytes(1000)) == bytes(1000)
        assert cache.size <= 10_000
    assert len(cache) == 10 and cache.peek(29) is not None and cache.peek(0) is None
    huge = cache.get("huge", lambda: bytes(20_000))  # larger than the whole budget: used, not kept
    assert len(huge) == 20_000 and cache.peek("huge") is None and cache.size <= 10_000


def test_sessions_asking_at_once_share_one_computation_and_its_error():
    cache = budget.SharedCache("test", budget=10**6, sizeof=len)
    calls, started = [], threading.Event()

    def slow():
        calls.append(1)
        started.set()
        time.sleep(0.3)
        return b"made once"

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("k", slow))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [b"made once"] * 8 and len(calls) == 1

    def fails():
        raise ValueError("a bad sentence")

    for _ in range(2):  # not kept: the next request tries again, and gets the same message
        with pytest.raises(ValueError, match="a bad sentence"):
            cache.get("bad", fails)
    assert cache.peek("bad") is None


def test_a_wait_for_another_sessions_computation_gives_up_with_a_message():
    cache = budget.SharedCache("test", budget=10**6, sizeof=len, timeout=0.1)
    release = threading.Event()
    owner = threading.Thread(target=lambda: cache.get("k", lambda: release.wait(5) and b"done"))
    owner.start()
    time.sleep(0.05)
    with pytest.raises(Busy, match="try again"):
        cache.get("k", lambda: b"second")
    release.set()
    owner.join()
    assert cache.get("k", lambda: b"never") == b"done"  # the owner's value, once it came


def test_a_figures_cache_key_holds_a_digest_not_the_numbers():
    big = np.random.default_rng(0).random((300, 300))  # 720 kB
    key = charts._key_part((big, ["a"], 3))
    assert len(repr(key)) < 200
    assert charts._key_part(big.copy()) == charts._key_part(big) != charts._key_part(big + 1e-12)


def test_a_cached_figure_owns_a_copy_so_it_keeps_no_trace_array_alive():
    trace_array = np.random.default_rng(1).random((4, 6, 6))
    figure = charts.shared(charts.heatmap)(trace_array[2], list("abcdef"), list("abcdef"))
    z = figure.data[0].z
    assert not np.shares_memory(np.asarray(z), trace_array)


def test_trace_sizes_count_their_arrays():
    arrays = SimpleNamespace(a=np.zeros(1000), b=np.zeros((10, 10)), name="x")
    assert budget.size_of(arrays) >= 8000 + 800


# Limits per session


def test_a_session_may_start_only_a_few_costly_jobs_a_minute():
    allowance = limits.Allowance("downloads")
    for _ in range(limits.PER_MINUTE["downloads"]):
        allowance.take()
    with pytest.raises(limits.Refused, match="in a minute"):
        allowance.take()
    assert isinstance(limits.Refused("x"), Busy)  # pages show it as they show Busy


def test_a_session_that_stops_reading_is_dropped_past_its_byte_bound():
    sockets.bound_send_queues()
    client = sockets.starlette_websocket.StarletteSessionClient
    fake = SimpleNamespace(_send_queue=asyncio.Queue(), _closed=threading.Event())  # its socket took nothing
    for _ in range(20):
        fake._send_queue.put_nowait(bytes(2 * 2**20))  # 40 MB queued
    with pytest.raises(sockets.SessionClientDisconnectedError):
        client.write_forward_msg(fake, None)  # refused before the message is even serialized
    assert fake._closed.is_set()


# The trained layers


def test_a_trained_layer_is_read_without_waiting_for_another_training(monkeypatch):
    trained.training_run("first_token", 0)  # trained, or being trained by warm(): now done
    held = trained._training.acquire(timeout=60)  # another session's training holds the slot
    try:
        started = time.perf_counter()
        run = trained.training_run("first_token", 0)  # a hit: no lock, no slot
        assert time.perf_counter() - started < 0.5 and run.accuracy[-1] > 0.9
        monkeypatch.setattr(trained, "WAIT_S", 0.2)
        with pytest.raises(
            Busy, match="training other layers"
        ):  # a new seed waits for the slot, then says so
            trained.training_run("first_token", 987)
        assert not trained.run_ready("first_token", 987)  # the refusal is not remembered as a run
    finally:
        if held:
            trained._training.release()


# A real server


@pytest.fixture(scope="module")
def server():
    with start_server(REPO) as running:
        yield running


def test_an_editor_flood_of_added_rows_is_refused_at_once(server):
    async def flood():
        tab = BrowserTab(server.url, "what_if", {"sentence": "the cat sat on the mat"})
        await tab.open()
        run = await tab.run()
        from streamlit.proto.BackMsg_pb2 import BackMsg

        editor = next(
            e.dataframe.id for e in run.elements if e.WhichOneof("type") == "dataframe" and e.dataframe.id
        )
        message = BackMsg.FromString(tab._rerun_message(None))
        widget = message.rerun_script.widget_states.widgets.add()
        widget.id = editor
        widget.string_value = json.dumps(
            {"edited_rows": {}, "added_rows": [{"c1": 1.0}] * 3000, "deleted_rows": []}
        )
        result = await tab.run(message=message.SerializeToString())
        await tab.close()
        return result

    result = run_in_thread(flood())
    assert result.ok, result.error
    assert result.latency < 3.0  # the rows were not applied one by one
    alerts = [e.alert.body for e in result.elements if e.WhichOneof("type") == "alert"]
    assert any("cannot be added or deleted" in body for body in alerts), alerts
    assert not server.log_problems()


def test_a_session_that_never_reads_its_socket_is_dropped(server):
    from websockets.exceptions import ConnectionClosed

    async def never_read():
        words = [
            "the",
            "cat",
            "sat",
            "on",
            "the",
            "mat",
            "and",
            "the",
            "dog",
            "ran",
            "to",
            "a",
            "red",
            "box",
            "in",
            "the",
            "sun",
        ]
        tab = BrowserTab(server.url, "model_view", {"model": "SmolLM2", "sentence": " ".join(words * 6)})
        tab.reads = False
        await tab.open()
        await tab.run()  # SmolLM2 loads
        # A rerun asked while one runs stops it: space them by what one takes on this machine now, so
        # that each page is made and sent (a grid of 270 heads, about 6 MB: past 24 MB within a few).
        timed = await tab.run(" ".join(words[::-1] * 6))  # as long as the pages below
        assert timed.ok, timed.error
        since, deadline, round_ = server.log_size(), time.monotonic() + 180, 0
        while not any(sockets.DROPPED in line for line in server.log_lines(since)):
            assert time.monotonic() < deadline, "the session was never dropped"
            round_ += 1
            with contextlib.suppress(ConnectionClosed):
                await tab.ws.send(
                    tab._rerun_message(" ".join((words[round_ % 17 :] + words[: round_ % 17]) * 6))
                )
            await asyncio.sleep(max(1.0, 1.5 * timed.latency))
        try:  # now read what the server sent before: it must end in the server's close, not a pause
            async with asyncio.timeout(60):
                while True:
                    await tab.ws.recv()
        except ConnectionClosed:
            return True
        except TimeoutError:
            return False

    assert run_in_thread(never_read())
