"""The in-process store: one server (``make run``, the Docker image), nothing to set up, nothing on disk.

Classes live in a dict behind one lock, each with the time of its last activity; a class idle for
CLASS_TTL_S is dropped at the next call that looks at it, and every ``create`` sweeps all. Its size is
bounded: at most MAX_CLASSES classes of at most MAX_STUDENTS students each, nicknames of 24 characters,
one answer per student, views of MAX_VIEW_BYTES.
"""

import hmac
import json
import threading
import time
from dataclasses import dataclass, field

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

MAX_CLASSES = 200  # per server process: a school's worth at once (about 25 MB at 500 students each)


@dataclass
class _Class:
    key: str  # the teacher key's digest
    view: str  # JSON
    active: float  # time of the last activity
    version: int = 1
    qid: str = ""
    revealed: str = ""
    ended: bool = False
    seen: dict = field(default_factory=dict)  # student -> time of the last check
    names: dict = field(default_factory=dict)
    answers: dict = field(default_factory=dict)  # student -> guess, for qid


class MemoryStore(ClassStore):
    def __init__(self, max_classes=MAX_CLASSES):
        self.max_classes = max_classes
        self._classes = {}
        self._lock = threading.Lock()

    def _live(self, code, now):  # -> the class, or None when unknown, expired (dropped here) or ended
        found = self._classes.get(code)
        if found is None:
            return None
        if now - found.active > (ENDED_TTL_S if found.ended else CLASS_TTL_S):
            del self._classes[code]
            return None
        return None if found.ended else found

    def _teachers(self, code, key, now):  # -> the class, if key is its teacher's; else raises
        found = self._live(code, now)
        if found is None:
            raise NoSuchClass(code)
        if not hmac.compare_digest(found.key, key_digest(key)):
            raise NotTeacher(code)
        found.active = now
        return found

    @staticmethod
    def _present(found, now):  # drop the students who stopped checking in
        for student in [s for s, seen in found.seen.items() if now - seen > PRESENT_S]:
            del found.seen[student]
            found.answers.pop(student, None)

    def _check_in(self, found, student, now):  # -> whether the student is (now) present
        self._present(found, now)
        if student not in found.seen and len(found.seen) >= MAX_STUDENTS:
            return False
        found.seen[student] = now
        return True

    def create(self, view, now=None):
        now = time.time() if now is None else now
        text = view_json(view)
        with self._lock:
            for code in list(self._classes):
                self._live(code, now)
            if len(self._classes) >= self.max_classes:
                raise StoreUnavailable("this server holds as many live classes as it can")
            code = new_code()
            while code in self._classes:
                code = new_code()
            key = new_key()
            self._classes[code] = _Class(key_digest(key), text, now)
        return code, key

    def is_teacher(self, code, key):
        with self._lock:
            found = self._live(code, time.time())
            return found is not None and hmac.compare_digest(found.key, key_digest(key))

    def state(self, code):
        with self._lock:
            if self._live(code, time.time()):
                return "live"
            return "ended" if code in self._classes else "gone"

    def join(self, code, student, nickname="", now=None):
        now = time.time() if now is None else now
        with self._lock:
            found = self._live(code, now)
            if found is None:
                raise NoSuchClass(code)
            if not self._check_in(found, student, now):
                raise ClassFull(code)
            if nickname := clean_nickname(nickname):
                found.names[student] = nickname
            else:
                found.names.pop(student, None)
            found.active = now
            return len(found.seen)

    def poll(self, code, student, known_version, now=None):
        now = time.time() if now is None else now
        with self._lock:
            found = self._live(code, now)
            if found is None:
                return Poll("ended" if code in self._classes else "gone")
            self._check_in(found, student, now)
            view = json.loads(found.view) if found.version != known_version else None
            return Poll("live", found.version, view, found.revealed)

    def publish(self, code, key, view, qid="", now=None):
        now = time.time() if now is None else now
        text = view_json(view)
        with self._lock:
            found = self._teachers(code, key, now)
            if qid != found.qid:
                found.qid, found.answers = qid, {}
            found.view = text
            found.version += 1
            return found.version

    def reveal(self, code, key, qid, now=None):
        now = time.time() if now is None else now
        with self._lock:
            found = self._teachers(code, key, now)
            if qid == found.qid and found.revealed != qid:
                found.revealed = qid
                found.version += 1
            return found.version

    def end(self, code, key):
        with self._lock:
            found = self._teachers(code, key, time.time())
            found.ended = True
            found.seen, found.names, found.answers = {}, {}, {}

    def answer(self, code, student, qid, guess, now=None):
        now = time.time() if now is None else now
        with self._lock:
            found = self._live(code, now)
            if found is None or not qid or qid != found.qid or qid == found.revealed:
                return False
            if not self._check_in(found, student, now):
                return False
            found.answers[student] = guess
            found.active = now
            return True

    def summary(self, code, qid, now=None):
        now = time.time() if now is None else now
        with self._lock:
            found = self._live(code, now)
            if found is None:
                raise NoSuchClass(code)
            self._present(found, now)
            answers = dict(found.answers) if qid and qid == found.qid else {}
            names = {s: found.names[s] for s in found.seen if s in found.names}
            return Summary(len(found.seen), answers, names, found.revealed)

    def leave(self, code, student):
        with self._lock:
            found = self._live(code, time.time())
            if found is not None:
                found.seen.pop(student, None)
                found.names.pop(student, None)
                found.answers.pop(student, None)
