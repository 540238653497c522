"""The Redis (or Valkey) store: the teacher and the students may be on different replicas.

Key layout, for the class with code ``K7MRTX`` (the braces are a hash tag: a Redis Cluster keeps a class's
keys on one node, so that each script below may touch them all)::

    attention:class:{K7MRTX}:meta     hash  key (SHA-256 of the teacher key), version, view (JSON), qid,
                                            revealed, ended ("0" or "1")
    attention:class:{K7MRTX}:seen     zset  student id -> time of their page's last check
    attention:class:{K7MRTX}:names    hash  student id -> nickname (only those who chose one)
    attention:class:{K7MRTX}:answers  hash  student id -> guess (JSON), for the current qid only

Every call is one round trip: a Lua script (atomic, whichever replica runs it) that checks the teacher
key, the current question or the number of students before it writes. Every key has a TTL of
CLASS_TTL_S, refreshed on every write (activity); an ended class keeps only ``meta`` for ENDED_TTL_S, so
its students are told it ended. Nothing is written without a TTL, so nothing outlives a class.

When Redis cannot be reached, every call raises StoreUnavailable at once for the next
``RETRY_AFTER_S`` (without waiting on a socket), so that a page never hangs on a dead store.
"""

import hmac
import json
import threading
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from classroom.base import (
    CLASS_TTL_S,
    ENDED_TTL_S,
    MAX_STUDENTS,
    PRESENT_S,
    ClassFull,
    ClassStore,
    NoSuchClass,
    NotTeacher,
    Poll,
    StoreUnavailable,
    Summary,
    view_json,
)
from classroom.codes import clean_nickname, key_digest, new_code, new_key

CONNECT_TIMEOUT_S = 0.5
REPLY_TIMEOUT_S = 1.0
RETRY_AFTER_S = 2.0  # after a failure, calls fail at once for this long
GONE, ENDED, REFUSED = -1, -2, -3  # the scripts' refusals

# Shared by the scripts: KEYS = meta, seen, names, answers.
_COMMON = """
local meta, seen, names, answers = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local function status()  -- 0 live, -1 gone, -2 ended
  local ended = redis.call('HGET', meta, 'ended')
  if not ended then return -1 end
  if ended == '1' then return -2 end
  return 0
end
local function touch(ttl)  -- activity: every key of the class lives ttl more seconds
  for _, key in ipairs(KEYS) do
    if redis.call('EXISTS', key) == 1 then redis.call('EXPIRE', key, ttl) end
  end
end
local function check_in(student, now, present, cap)  -- -> whether the student is (now) present
  local gone = redis.call('ZRANGEBYSCORE', seen, '-inf', now - present)
  if #gone > 0 then
    redis.call('ZREM', seen, unpack(gone))
    redis.call('HDEL', answers, unpack(gone))
  end
  if not redis.call('ZSCORE', seen, student) and redis.call('ZCARD', seen) >= cap then return false end
  redis.call('ZADD', seen, now, student)
  if redis.call('TTL', seen) < 0 then redis.call('EXPIRE', seen, redis.call('TTL', meta)) end
  return true
end
local function teacher(digest)  -- -> 0, or why not
  local state = status()
  if state ~= 0 then return state end
  if redis.call('HGET', meta, 'key') ~= digest then return -3 end
  return 0
end
"""
_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'key', ARGV[1], 'version', 1, 'view', ARGV[2], 'qid', '', 'revealed', '', 'ended', '0')
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""
_JOIN = """
local student, nickname, now, present, cap, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]),
  tonumber(ARGV[5]), ARGV[6]
local state = status()
if state ~= 0 then return state end
if not check_in(student, now, present, cap) then return -3 end
if nickname ~= '' then redis.call('HSET', names, student, nickname) else redis.call('HDEL', names, student) end
touch(ttl)
return redis.call('ZCARD', seen)
"""
_POLL = """
local student, now, present, cap, known = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]),
  ARGV[5]
local state = status()
if state ~= 0 then return {state} end
check_in(student, now, present, cap)
local found = redis.call('HMGET', meta, 'version', 'revealed')
if found[1] == known then return {0, found[1], found[2]} end
return {0, found[1], found[2], redis.call('HGET', meta, 'view')}
"""
_PUBLISH = """
local digest, view, qid, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local state = teacher(digest)
if state ~= 0 then return state end
if redis.call('HGET', meta, 'qid') ~= qid then
  redis.call('HSET', meta, 'qid', qid)
  redis.call('DEL', answers)
end
redis.call('HSET', meta, 'view', view)
touch(ttl)
return redis.call('HINCRBY', meta, 'version', 1)
"""
_REVEAL = """
local digest, qid, ttl = ARGV[1], ARGV[2], ARGV[3]
local state = teacher(digest)
if state ~= 0 then return state end
touch(ttl)
local found = redis.call('HMGET', meta, 'qid', 'revealed', 'version')
if found[1] ~= qid or found[2] == qid then return tonumber(found[3]) end
redis.call('HSET', meta, 'revealed', qid)
return redis.call('HINCRBY', meta, 'version', 1)
"""
_END = """
local state = teacher(ARGV[1])
if state ~= 0 then return state end
redis.call('DEL', seen, names, answers)
redis.call('HSET', meta, 'ended', '1', 'view', '{}')
redis.call('HDEL', meta, 'key')
redis.call('EXPIRE', meta, ARGV[2])
return 0
"""
_ANSWER = """
local student, qid, guess, now, present, cap, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]),
  tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
if status() ~= 0 or qid == '' then return 0 end
local found = redis.call('HMGET', meta, 'qid', 'revealed')
if found[1] ~= qid or found[2] == qid then return 0 end
if not check_in(student, now, present, cap) then return 0 end
redis.call('HSET', answers, student, guess)
touch(ttl)
return 1
"""
_SUMMARY = """
local qid, now, present = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local state = status()
if state ~= 0 then return {state} end
local gone = redis.call('ZRANGEBYSCORE', seen, '-inf', now - present)
if #gone > 0 then
  redis.call('ZREM', seen, unpack(gone))
  redis.call('HDEL', answers, unpack(gone))
  redis.call('HDEL', names, unpack(gone))
end
local given = {}
if qid ~= '' and redis.call('HGET', meta, 'qid') == qid then given = redis.call('HGETALL', answers) end
return {redis.call('ZCARD', seen), given, redis.call('HGETALL', names), redis.call('HGET', meta, 'revealed')}
"""
_LEAVE = """
redis.call('ZREM', seen, ARGV[1])
redis.call('HDEL', names, ARGV[1])
redis.call('HDEL', answers, ARGV[1])
return 0
"""


def _keys(code):
    prefix = f"attention:class:{{{code}}}"
    return [f"{prefix}:meta", f"{prefix}:seen", f"{prefix}:names", f"{prefix}:answers"]


def _pairs(flat):  # [k1, v1, k2, v2] -> {k1: v1, k2: v2}
    return dict(zip(flat[::2], flat[1::2], strict=True))


class RedisStore(ClassStore):
    def __init__(self, url):
        self.url = url.replace("valkey", "redis", 1) if url.startswith("valkey") else url
        self.client = redis.Redis.from_url(
            self.url,
            decode_responses=True,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            socket_timeout=REPLY_TIMEOUT_S,
            retry=Retry(NoBackoff(), 1),  # once: a connection kept from before a Redis restart is stale
            health_check_interval=30,
        )
        self._down_until = 0.0
        self._lock = threading.Lock()
        scripts = {
            "create": _CREATE,
            "join": _COMMON + _JOIN,
            "poll": _COMMON + _POLL,
            "publish": _COMMON + _PUBLISH,
            "reveal": _COMMON + _REVEAL,
            "end": _COMMON + _END,
            "answer": _COMMON + _ANSWER,
            "summary": _COMMON + _SUMMARY,
            "leave": _COMMON + _LEAVE,
        }
        self._scripts = {name: self.client.register_script(text) for name, text in scripts.items()}

    def _call(self, command):  # -> command(); StoreUnavailable if Redis is away (at once, for a while)
        if time.monotonic() < self._down_until:
            raise StoreUnavailable("the class store is unreachable")
        try:
            return command()
        except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError, OSError) as error:
            with self._lock:
                self._down_until = time.monotonic() + RETRY_AFTER_S
            raise StoreUnavailable("the class store is unreachable") from error

    def _run(self, name, code, *args, keys=None):  # -> the script's reply
        return self._call(lambda: self._scripts[name](keys=keys or _keys(code), args=list(args)))

    @staticmethod
    def _teacher_reply(reply, code):  # a teacher script's refusal -> its exception
        if reply == REFUSED:
            raise NotTeacher(code)
        if reply in (GONE, ENDED):
            raise NoSuchClass(code)
        return reply

    def create(self, view, now=None):
        text = view_json(view)
        key = new_key()
        for _ in range(20):  # 113 million codes: a clash is rare, twenty in a row impossible in practice
            code = new_code()
            if self._run("create", code, key_digest(key), text, CLASS_TTL_S, keys=_keys(code)[:1]):
                return code, key
        raise StoreUnavailable("no free class code")

    def is_teacher(self, code, key):
        digest = self._call(lambda: self.client.hget(_keys(code)[0], "key"))
        return digest is not None and hmac.compare_digest(digest, key_digest(key))

    def state(self, code):
        ended = self._call(lambda: self.client.hget(_keys(code)[0], "ended"))
        return {"0": "live", "1": "ended"}.get(ended, "gone")

    def join(self, code, student, nickname="", now=None):
        now = time.time() if now is None else now
        reply = self._run(
            "join", code, student, clean_nickname(nickname), now, PRESENT_S, MAX_STUDENTS, CLASS_TTL_S
        )
        if reply == REFUSED:
            raise ClassFull(code)
        if reply in (GONE, ENDED):
            raise NoSuchClass(code)
        return reply

    def poll(self, code, student, known_version, now=None):
        now = time.time() if now is None else now
        reply = self._run("poll", code, student, now, PRESENT_S, MAX_STUDENTS, str(known_version))
        if reply[0] != 0:
            return Poll("ended" if reply[0] == ENDED else "gone")
        view = json.loads(reply[3]) if len(reply) > 3 else None
        return Poll("live", int(reply[1]), view, reply[2] or "")

    def publish(self, code, key, view, qid="", now=None):
        reply = self._run("publish", code, key_digest(key), view_json(view), qid, CLASS_TTL_S)
        return self._teacher_reply(reply, code)

    def reveal(self, code, key, qid, now=None):
        return self._teacher_reply(self._run("reveal", code, key_digest(key), qid, CLASS_TTL_S), code)

    def end(self, code, key):
        self._teacher_reply(self._run("end", code, key_digest(key), ENDED_TTL_S), code)

    def answer(self, code, student, qid, guess, now=None):
        now = time.time() if now is None else now
        reply = self._run(
            "answer", code, student, qid, json.dumps(guess), now, PRESENT_S, MAX_STUDENTS, CLASS_TTL_S
        )
        return reply == 1

    def summary(self, code, qid, now=None):
        now = time.time() if now is None else now
        reply = self._run("summary", code, qid, now, PRESENT_S)
        if reply[0] in (GONE, ENDED) and len(reply) == 1:
            raise NoSuchClass(code)
        answers = {student: json.loads(guess) for student, guess in _pairs(reply[1]).items()}
        return Summary(int(reply[0]), answers, _pairs(reply[2]), reply[3] or "")

    def leave(self, code, student):
        self._run("leave", code, student)
