"""The live class's store, both kinds behind one interface: in this process, and a real redis-server.

The Redis one is Debian's ``redis-server``, started by the test on a free port with no persistence (as
``make cluster`` does); without it the Redis half is skipped, unless REQUIRE_BROWSER=1 (CI) makes it fail.
"""

import concurrent.futures
import os
import shutil
import subprocess
import time

import pytest

import classroom
from classroom import (
    ALPHABET,
    CLASS_TTL_S,
    MAX_STUDENTS,
    ClassFull,
    MemoryStore,
    NoSuchClass,
    NotTeacher,
    StoreUnavailable,
    clean_code,
    clean_nickname,
    new_code,
    new_key,
)
from classroom import redis_store as redis_module
from classroom.base import ENDED_TTL_S, MAX_VIEW_BYTES, PRESENT_S
from deploy.cluster import free_ports, redis_answers, start_redis

VIEW = {"page": "pages/4_scores.py", "params": {"sentence": "a b c"}, "cell": {}, "draw": 0, "qid": ""}


@pytest.fixture(scope="module")
def redis_port():
    if shutil.which("redis-server") is None:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("redis-server is missing; CI must test the Redis store", pytrace=False)
        pytest.skip("redis-server is missing (sudo apt-get install redis-server)")
    port = free_ports(0)
    server = start_redis(port)
    yield port
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(params=["memory", "redis"])
def store(request):
    if request.param == "memory":
        return MemoryStore()
    port = request.getfixturevalue("redis_port")
    found = classroom.open_store(f"redis://127.0.0.1:{port}/0")
    found.client.flushdb()
    return found


def test_codes_are_six_characters_without_look_alikes_and_keys_128_bits():
    assert not set(ALPHABET) & set("0OQ1IL2Z5S6G8B")
    codes = {new_code() for _ in range(2000)}
    assert all(len(code) == 6 and set(code) <= set(ALPHABET) for code in codes)
    assert len(codes) > 1990  # random, not a counter
    key = new_key()
    assert len(key) == 22 and len({new_key() for _ in range(100)}) == 100  # 16 bytes in URL-safe base64


def test_a_typed_code_is_read_leniently_but_strictly_from_the_alphabet():
    code = new_code()
    assert clean_code(f" {code[:3].lower()}-{code[3:]} ") == code
    for wrong in ("", "ABC", "ACDEFHJ", "ACDE0H", "<b>XX</b>", "ACDEF\u200bH"):
        assert clean_code(wrong) is None, wrong


def test_a_nickname_is_one_line_of_plain_text_of_at_most_24_characters():
    assert clean_nickname("  Ada   Lovelace \n") == "Ada Lovelace"
    assert clean_nickname("x" * 100) == "x" * 24
    assert clean_nickname("a\u202eb\u200bc\x00d") == "abcd"  # bidi override, zero width, NUL
    assert clean_nickname("<img src=x onerror=alert(1)>") == "<img src=x onerror=alert"  # kept as text


def test_open_store_reads_the_setting():
    assert isinstance(classroom.open_store(""), MemoryStore)
    assert isinstance(classroom.open_store("memory"), MemoryStore)
    with pytest.raises(ValueError, match="ATTENTION_CLASS_STORE"):
        classroom.open_store("mysql://x")


def test_a_class_is_created_joined_and_followed(store):
    code, key = store.create(VIEW)
    assert clean_code(code) == code and store.state(code) == "live"
    assert store.is_teacher(code, key) and not store.is_teacher(code, new_key())
    assert not store.is_teacher(new_code(), key)
    assert store.join(code, "s1") == 1
    assert store.join(code, "s2", "Ada") == 2
    assert store.join(code, "s1") == 2  # joining again is the same student
    first = store.poll(code, "s1", 0)
    assert first.state == "live" and first.view == VIEW
    assert store.poll(code, "s1", first.version).view is None  # unchanged: the small answer
    moved = VIEW | {"page": "pages/6_softmax.py"}
    version = store.publish(code, key, moved)
    assert version > first.version
    assert store.poll(code, "s2", first.version).view == moved
    summary = store.summary(code, "")
    assert summary.students == 2 and summary.names == {"s2": "Ada"} and summary.answers == {}


def test_unknown_codes(store):
    code = new_code()
    assert store.state(code) == "gone"
    with pytest.raises(NoSuchClass):
        store.join(code, "s1")
    assert store.poll(code, "s1", 0).state == "gone"
    assert not store.answer(code, "s1", "q", "cat")


def test_the_join_code_alone_can_neither_publish_reveal_nor_end(store):
    code, key = store.create(VIEW)
    store.publish(code, key, VIEW, qid="q1")
    store.join(code, "s1")
    version = store.poll(code, "s1", 0).version
    for wrong in (new_key(), "", code):
        with pytest.raises(NotTeacher):
            store.publish(code, wrong, VIEW | {"page": "app.py"})
        with pytest.raises(NotTeacher):
            store.reveal(code, wrong, "q1")
        with pytest.raises(NotTeacher):
            store.end(code, wrong)
    after = store.poll(code, "s1", 0)
    assert after.version == version and after.view == VIEW and after.revealed == ""
    assert store.state(code) == "live"


def test_one_answer_per_student_and_question_the_last_one_counts(store):
    code, key = store.create(VIEW)
    store.publish(code, key, VIEW, qid="q1")
    for student in ("s1", "s2", "s3"):
        store.join(code, student)
    assert store.answer(code, "s1", "q1", "cat")
    assert store.answer(code, "s1", "q1", "mat")  # replaces
    assert store.answer(code, "s2", "q1", 0.5)
    assert not store.answer(code, "s3", "q0", "cat")  # not the current question
    summary = store.summary(code, "q1")
    assert summary.students == 3 and summary.answers == {"s1": "mat", "s2": 0.5} and summary.answered == 2
    version = store.reveal(code, key, "q1")
    assert store.poll(code, "s3", 0).revealed == "q1" and store.poll(code, "s3", 0).version == version
    assert not store.answer(code, "s3", "q1", "cat")  # revealed: too late
    assert store.reveal(code, key, "q1") == version  # revealing twice changes nothing
    store.publish(code, key, VIEW | {"draw": 1}, qid="q2")  # the next question starts empty
    assert store.summary(code, "q2").answers == {} and store.summary(code, "q1").answers == {}


def test_a_hundred_answers_in_the_same_moment_are_all_counted(store):
    code, key = store.create(VIEW)
    store.publish(code, key, VIEW, qid="q1")
    students = [f"s{n}" for n in range(100)]
    for student in students:
        store.join(code, student)
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        sent = list(pool.map(lambda s: store.answer(code, s, "q1", s[-1]), students))
    assert all(sent)
    summary = store.summary(code, "q1")
    assert summary.answered == 100 and summary.answers == {s: s[-1] for s in students}


def test_a_class_holds_500_students_and_tells_the_501st(store):
    code, _ = store.create(VIEW)
    now = time.time()
    for n in range(MAX_STUDENTS):
        store.join(code, f"s{n}", now=now)
    with pytest.raises(ClassFull):
        store.join(code, "s500", now=now)
    assert store.join(code, "s7", now=now) == MAX_STUDENTS  # one already in is still welcome
    store.leave(code, "s7")
    assert store.join(code, "s500", now=now) == MAX_STUDENTS


def test_a_student_whose_page_stopped_checking_in_is_not_counted(store):
    code, key = store.create(VIEW)
    store.publish(code, key, VIEW, qid="q1")
    now = time.time()
    store.join(code, "gone", now=now)
    store.join(code, "here", now=now)
    store.answer(code, "gone", "q1", "cat", now=now)
    later = now + PRESENT_S + 1
    store.poll(code, "here", 0, now=later)
    summary = store.summary(code, "q1", now=later)
    assert summary.students == 1 and summary.answers == {}  # a replica died under it: it reconnects anew


def test_ending_a_class_ends_it_for_everyone(store):
    code, key = store.create(VIEW)
    store.join(code, "s1", "Ada")
    store.end(code, key)
    assert store.poll(code, "s1", 0).state == "ended" and store.state(code) == "ended"
    with pytest.raises(NoSuchClass):
        store.join(code, "s2")
    with pytest.raises(NoSuchClass):
        store.publish(code, key, VIEW)
    assert not store.is_teacher(code, key)


def test_a_view_is_bounded(store):
    widest = {"sentence": "ü" * 2000, "compare_sentence": "语" * 2000}  # the longest sentences a view holds
    code, _ = store.create(VIEW | {"params": widest})
    assert store.poll(code, "s1", 0).view["params"] == widest
    with pytest.raises(ValueError, match="bytes"):
        store.create(VIEW | {"params": {"sentence": "x" * MAX_VIEW_BYTES}})


def test_the_in_process_store_forgets_a_class_after_4_hours_without_activity():
    store = MemoryStore()
    code, _ = store.create(VIEW, now=1000.0)
    store.join(code, "s1", now=1000.0 + CLASS_TTL_S - 10)  # activity
    assert store.poll(code, "s1", 0, now=1000.0 + CLASS_TTL_S + 10).state == "live"
    assert store.poll(code, "s1", 0, now=1000.0 + 2 * CLASS_TTL_S).state == "gone"
    assert code not in store._classes  # dropped, not only hidden


def test_the_in_process_store_holds_a_bounded_number_of_classes():
    store = MemoryStore(max_classes=3)
    for _ in range(3):
        store.create(VIEW)
    with pytest.raises(StoreUnavailable):
        store.create(VIEW)


def redis_keys(store):
    return {key: store.client.ttl(key) for key in store.client.keys("*")}


@pytest.mark.parametrize("store", ["redis"], indirect=True)
def test_every_redis_key_expires_within_4_hours_and_an_ended_class_within_minutes(store):
    code, key = store.create(VIEW)
    store.publish(code, key, VIEW, qid="q1")
    store.join(code, "s1", "Ada")
    store.poll(code, "s1", 0)
    store.answer(code, "s1", "q1", "cat")
    ttls = redis_keys(store)
    assert len(ttls) == 4 and all(f"{{{code}}}" in k for k in ttls)
    assert all(CLASS_TTL_S - 60 < ttl <= CLASS_TTL_S for ttl in ttls.values()), ttls
    store.end(code, key)
    ttls = redis_keys(store)
    assert len(ttls) == 1 and 0 < next(iter(ttls.values())) <= ENDED_TTL_S


@pytest.mark.parametrize("store", ["redis"], indirect=True)
def test_a_redis_class_expires_by_itself(store, monkeypatch):
    monkeypatch.setattr(redis_module, "CLASS_TTL_S", 1)
    code, _ = store.create(VIEW)
    store.join(code, "s1")
    deadline = time.monotonic() + 10
    while store.state(code) != "gone":
        assert time.monotonic() < deadline, redis_keys(store)
        time.sleep(0.1)
    assert redis_keys(store) == {}
    assert store.poll(code, "s1", 0).state == "gone" and redis_keys(store) == {}  # a late check adds nothing


def test_an_unreachable_redis_fails_at_once_and_works_again_when_it_is_back(monkeypatch):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is missing")
    monkeypatch.setattr(redis_module, "RETRY_AFTER_S", 0.3)
    port = free_ports(0)
    store = classroom.open_store(f"redis://127.0.0.1:{port}/0")
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        store.create(VIEW)
    with pytest.raises(StoreUnavailable):  # the next call does not even try
        store.poll("ACDEFH", "s1", 0)
    assert time.monotonic() - started < 2
    server = start_redis(port)
    try:
        assert redis_answers(port)
        time.sleep(0.35)
        code, _ = store.create(VIEW)
        assert store.join(code, "s1") == 1
        server.terminate()
        server.wait(timeout=10)
        with pytest.raises(StoreUnavailable):
            store.poll(code, "s1", 0)
        server = start_redis(port)  # a new, empty Redis: the old class is gone, a new one works
        time.sleep(0.35)
        assert store.poll(code, "s1", 0).state == "gone"
        assert store.create(VIEW)
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_redis_server_is_started_without_persistence(redis_port):
    reply = subprocess.run(
        ["redis-cli", "-p", str(redis_port), "config", "get", "save"], capture_output=True, text=True
    )
    assert reply.stdout.split("\n")[1] == ""
    reply = subprocess.run(
        ["redis-cli", "-p", str(redis_port), "config", "get", "appendonly"], capture_output=True, text=True
    )
    assert reply.stdout.split("\n")[1] == "no"
