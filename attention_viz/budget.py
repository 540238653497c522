"""Caches shared by every session of a server process, each bounded by a byte budget.

A cache keeps values computed once per key (traces, figures, downloads) and shares them: every session
that asks for the same key gets the same object. Each value's size is counted (``size_of``: the bytes of
its arrays and strings), and the least recently used values go first when the budget is full
(``cachetools.LRUCache`` with ``getsizeof``); a value larger than the whole budget is returned but not
kept. Keys are small: arrays enter them as a digest of their bytes (``digest``), never as a copy.

A session asking for a key that another is computing waits for that result (a future) instead of
computing it a second time, and gives up after ``timeout`` seconds with ``Busy``, whose message a page
shows.
"""

import contextlib
import dataclasses
import hashlib
import sys
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

import cachetools
import numpy as np

from attention_core.families.base import Busy  # the core's: a family's long work raises it too

MB = 2**20
# What each cache may hold, in bytes; with the models' weights and Streamlit's own memory they make a
# replica's worst case (README: Memory), from which the Compose and Kubernetes limits are set.
BUDGETS = {
    "traces": 96
    * MB,  # a MiniLM trace at 128 word pieces is about 12 MB, SmolLM2's 25 MB, a random one 0.01-3 MB
    "attentions": 48 * MB,  # every layer's weights: 9.4 MB for MiniLM at 128 word pieces, 35 MB for SmolLM2
    "figures": 64 * MB,  # Plotly figures, built once for the same numbers (charts.shared)
    "downloads": 48 * MB,  # the lesson files and JSON traces people download, as bytes
    "continuations": 8 * MB,  # Next word: each text's tokens so far, and the 10 likeliest at each step
    "rollouts": 16 * MB,  # Across layers: a sentence's rollout after every layer, 3.9 MB for SmolLM2 at 128
}


def digest(array):  # ndarray -> a short key that is equal exactly when the numbers are
    array = np.ascontiguousarray(array)
    return (hashlib.blake2b(array.data, digest_size=16).digest(), array.shape, array.dtype.str)


def size_of(value, _seen=None):  # -> bytes the value holds: arrays, bytes and strings, through containers
    """An estimate from above of what keeping ``value`` costs: every array's buffer, every string and bytes
    object, counted once each, and Python's own size of the containers holding them."""
    seen = _seen if _seen is not None else set()
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        return value.nbytes + 112
    if isinstance(value, str | bytes | bytearray | int | float | bool | type(None)):
        return sys.getsizeof(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sys.getsizeof(value) + sum(size_of(v, seen) for v in vars(value).values())
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(size_of(k, seen) + size_of(v, seen) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return sys.getsizeof(value) + sum(size_of(v, seen) for v in value)
    inner = getattr(value, "__dict__", None)  # e.g. a Plotly figure: its data and layout dicts
    return sys.getsizeof(value) + (size_of(inner, seen) if inner is not None else 0)


class SharedCache:
    """Values by key within ``budget`` bytes, computed once however many sessions ask at the same time."""

    def __init__(self, name, budget, sizeof=size_of, timeout=30.0):
        self.name, self.budget, self.timeout = name, budget, timeout
        self._values = cachetools.LRUCache(maxsize=budget, getsizeof=sizeof)
        self._computing = {}  # key -> Future of the value one session is computing
        self._lock = threading.Lock()  # held only to look up and store, never while computing

    def get(self, key, compute):  # -> the value for key: kept, being computed by another session, or new
        with self._lock:
            try:
                return self._values[key]
            except KeyError:
                pass
            future = self._computing.get(key)
            owner = future is None
            if owner:
                future = self._computing[key] = Future()
        if not owner:
            try:
                return future.result(timeout=self.timeout)
            except FutureTimeout:
                raise Busy(
                    "The server is busy computing this for someone else; try again in a moment."
                ) from None
        try:
            value = compute()
        except BaseException as error:
            with self._lock:
                del self._computing[key]
            future.set_exception(error)  # the sessions waiting get the same error (a bad sentence's message)
            raise
        with self._lock:
            with contextlib.suppress(ValueError):  # larger than the whole budget: used once, not kept
                self._values[key] = value
            del self._computing[key]
        future.set_result(value)
        return value

    def peek(self, key):  # -> the value kept for key, or None; never waits, never computes
        with self._lock:
            return self._values.get(key)

    def __len__(self):
        return len(self._values)

    @property
    def size(self):  # bytes held now
        return self._values.currsize

    def clear(self):
        with self._lock:
            self._values.clear()
