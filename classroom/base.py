"""The store's interface, the same for the in-process store and Redis; what its calls return and raise.

A class, as the store keeps it:

- ``meta``: the digest of the teacher's key, the ``version`` of the teacher's view (one more at every
  change the students must follow), the ``view`` itself (a small JSON object: page, settings, cell,
  the question's draw and id), the id of the question the class answers (``qid``), the id of the last
  question revealed (``revealed``), and ``ended``;
- ``seen``: each student present and when their page last checked in (a student whose page has not
  checked in for ``PRESENT_S`` is no longer counted: a closed laptop, a replica that died);
- ``names``: the nicknames students chose (most choose none);
- ``answers`` of the current question: one per student, a new one replacing the old.

Every write by the teacher or a student is activity: the class is kept ``CLASS_TTL_S`` after the last one.
"""

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

CLASS_TTL_S = 4 * 3600  # a class ends by itself after 4 hours without activity
ENDED_TTL_S = 600  # an ended class is remembered this long, to tell its students (not a wrong code)
MAX_STUDENTS = 500
PRESENT_S = 20  # a student whose page has not checked in for this long is not counted (pages check each 1 s)
MAX_VIEW_BYTES = 32768  # a view: a page, its settings (two sentences of at most 2,000 characters) and a cell


def view_json(view):  # a view -> its JSON as the store keeps it; ValueError past MAX_VIEW_BYTES
    text = json.dumps(view, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    if len(text.encode()) > MAX_VIEW_BYTES:
        raise ValueError(f"a class's view is at most {MAX_VIEW_BYTES} bytes")
    return text


class StoreUnavailable(RuntimeError):
    """The store cannot be reached now (Redis down): live classes wait, every other page works."""


class NoSuchClass(LookupError):
    """No live class has this code (never had, expired or ended)."""


class NotTeacher(PermissionError):
    """The key is not this class's teacher key: the call changes nothing."""


class ClassFull(RuntimeError):
    """The class has its MAX_STUDENTS students present."""


@dataclass(frozen=True)
class Poll:
    """What a student's page learns at each check: one small read."""

    state: str  # "live", "ended" (by the teacher) or "gone" (never existed, or expired)
    version: int = 0  # the teacher's view version
    view: dict | None = None  # the view, when its version differs from the one the page knows
    revealed: str = ""  # the id of the last question the teacher revealed


@dataclass(frozen=True)
class Summary:
    """What the teacher's page shows: who is there and the current question's answers."""

    students: int  # present now
    answers: dict = field(default_factory=dict)  # student id -> guess (a token label or a number)
    names: dict = field(default_factory=dict)  # student id -> nickname, for those who chose one
    revealed: str = ""  # the id of the last question the teacher revealed

    @property
    def answered(self):  # how many of the students present answered (one who left is not counted)
        return len(self.answers)


class ClassStore(ABC):
    """Where classes live. Teacher calls take the teacher key; a student's calls take their student id
    (a random id per browser session). Each call is atomic, whichever replica makes it."""

    @abstractmethod
    def create(self, view, now=None) -> tuple[str, str]:  # -> (join code, teacher key)
        """A new class with the teacher's first view; the code is unused among live classes."""

    @abstractmethod
    def is_teacher(self, code, key) -> bool:
        """Whether key is the class's teacher key (False for an unknown class)."""

    @abstractmethod
    def join(self, code, student, nickname="", now=None) -> int:  # -> students present, them included
        """NoSuchClass for an unknown code (``state`` tells an ended class), ClassFull for the 501st."""

    @abstractmethod
    def state(self, code) -> str:  # -> "live", "ended" or "gone"
        ...

    @abstractmethod
    def poll(self, code, student, known_version, now=None) -> Poll:
        """The student's periodic check: counts them present, and returns the view only when it changed."""

    @abstractmethod
    def publish(self, code, key, view, qid="", now=None) -> int:  # -> the new version
        """The teacher's new view; qid names the question it shows ("" for none). NotTeacher, NoSuchClass."""

    @abstractmethod
    def reveal(self, code, key, qid, now=None) -> int:  # -> the new version
        """The teacher reveals the current question's answer to the class."""

    @abstractmethod
    def end(self, code, key) -> None:
        """The class ends for everyone; students, names and answers are deleted at once."""

    @abstractmethod
    def answer(self, code, student, qid, guess, now=None) -> bool:
        """A student's answer to the current question (replacing theirs); False when qid is not the current
        question, or it was revealed, or the student is not in the class."""

    @abstractmethod
    def summary(self, code, qid, now=None) -> Summary:
        """The students present and their answers to qid."""

    @abstractmethod
    def leave(self, code, student) -> None:
        """A student leaves (their answer goes with them)."""
