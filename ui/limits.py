"""Per-session limits on what costs more than a rerun: files made for download, layers trained.

One visitor clicking without pause must not take the server from the class: each session may start
only a few such jobs a minute; a job already done (a file kept, a layer trained) costs nothing.
"""

import collections
import threading
import time

import streamlit as st

from attention_core.families import Busy

PER_MINUTE = {"downloads": 6, "training": 4}  # jobs a session may start in a minute


class Refused(Busy):
    """A job that is not started now; the message says why (a page shows it as it shows Busy)."""


class Allowance:
    """How many jobs of one kind a session has started in the last minute (kept in its session state)."""

    def __init__(self, kind):
        self.kind, self.per_minute = kind, PER_MINUTE[kind]
        self._started = collections.deque()  # when each job of the last minute started
        self._lock = threading.Lock()  # a download's callable runs outside the session's script thread

    def take(self):  # -> None, or Refused when the session has had its share this minute
        now = time.monotonic()
        with self._lock:
            while self._started and now - self._started[0] > 60:
                self._started.popleft()
            if len(self._started) >= self.per_minute:
                wait = 60 - (now - self._started[0])
                raise Refused(
                    f"That is {self.per_minute} {JOBS[self.kind]} in a minute for this page; try again in "
                    f"{wait:.0f} s (what is already made stays available)."
                )
            self._started.append(now)


JOBS = {"downloads": "files made for download", "training": "new layers trained"}


def allowance(kind):  # -> this session's Allowance for kind
    return st.session_state.setdefault(f"ui_allowance_{kind}", Allowance(kind))
