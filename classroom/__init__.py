"""A live class: the state that the teacher's and the students' sessions share, and where it lives.

No Streamlit here (``ui/live_class.py`` draws it). A class is a join code, a teacher key, the teacher's
published view, the students present and their answers to the current question. It lives in a store
(``store()``): in this process by default (``MemoryStore``), or in Redis / Valkey when
``ATTENTION_CLASS_STORE=redis://host:6379/0`` is set (``RedisStore``), so that the teacher and the students
may be on different replicas. Both keep a class 4 hours after its last activity and nothing longer.
"""

import functools
import os

from classroom.base import (
    CLASS_TTL_S,
    MAX_STUDENTS,
    ClassFull,
    ClassStore,
    NoSuchClass,
    NotTeacher,
    Poll,
    StoreUnavailable,
    Summary,
)
from classroom.codes import ALPHABET, CODE_LENGTH, clean_code, clean_nickname, key_digest, new_code, new_key
from classroom.memory import MemoryStore

ENVIRONMENT = "ATTENTION_CLASS_STORE"

__all__ = [
    "ALPHABET",
    "CLASS_TTL_S",
    "CODE_LENGTH",
    "ENVIRONMENT",
    "MAX_STUDENTS",
    "ClassFull",
    "ClassStore",
    "MemoryStore",
    "NoSuchClass",
    "NotTeacher",
    "Poll",
    "StoreUnavailable",
    "Summary",
    "clean_code",
    "clean_nickname",
    "key_digest",
    "new_code",
    "new_key",
    "open_store",
    "store",
]


def open_store(url=None):  # -> a ClassStore for "memory" (or nothing) or a redis:// / rediss:// / unix:// URL
    if not url or url == "memory":
        return MemoryStore()
    if url.split("://", 1)[0] in ("redis", "rediss", "unix", "valkey", "valkeys"):
        from classroom.redis_store import RedisStore  # redis-py only where a Redis is configured

        return RedisStore(url)
    raise ValueError(f"{ENVIRONMENT} must be empty, 'memory' or a redis:// URL; got {url[:60]!r}")


@functools.cache
def store():  # -> the process's ClassStore, made once from ATTENTION_CLASS_STORE
    return open_store(os.environ.get(ENVIRONMENT, "").strip())
