"""A layer trained here on a small task (attention_core.training): its task and training seed are options.

Training runs are kept per process and shared by every session: a class asking for the same run waits
for one training, and a run already trained is read without waiting for anyone.
"""

import contextlib
import os
import threading
from collections import OrderedDict
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from attention_core.attention import Source
from attention_core.families.base import Busy, Family, Option, Sizes
from attention_core.stages import SEVEN
from attention_core.training import TASKS, WORDS, train, trained_trace

KEPT_RUNS = 16  # about 1 MB each (800 steps of loss and accuracy, 81 snapshots of a 7-word probe)
WAIT_S = 30  # a session waiting for another's training gives up after this (a run takes 2-3 s alone)
WARM_SEEDS = (0, 1)  # trained for every task when a server starts (warm()): a class's links never wait
OPTIONS = (
    Option("task", "Task", "previous_token", "What the layer was trained to do (see Watch it learn).",
           choices=tuple(TASKS), place="model"),
    Option("train_seed", "Training seed", 0, "Fixes its random start and its training sentences.", 0, 999,
           place="model"),
)  # fmt: skip

_runs = OrderedDict()  # (task, seed) -> Future of its TrainingRun, oldest first
_runs_lock = threading.Lock()  # held only to look up or add an entry, never while training
_training = threading.Semaphore(1)  # one training at a time in the process: many seeds at once queue here


def training_run(task, seed, progress=None):  # -> TrainingRun, trained once per process and shared
    """``progress(step, steps)`` while it trains, for the session that started it.

    The first session to ask trains; the others asking for the same run wait for its result (a future),
    up to WAIT_S seconds (then ``Busy``), and a finished run is returned at once, without a lock. A failed
    training is forgotten, so the next request tries again.
    """
    future = _runs.get((task, seed))  # a finished run: read without taking the lock
    if future is not None and future.done() and future.exception() is None:
        return future.result()
    key = (task, seed)
    with _runs_lock:
        future = _runs.get(key)
        owner = future is None
        if owner:
            future = _runs[key] = Future()
            while len(_runs) > KEPT_RUNS:
                _runs.popitem(last=False)
        else:
            _runs.move_to_end(key)
    if owner:
        try:
            if not _training.acquire(timeout=WAIT_S):
                raise Busy("The server is training other layers; try again in a moment.")
            try:
                future.set_result(train(task, seed=seed, progress=progress))
            finally:
                _training.release()
        except BaseException as error:
            with _runs_lock:
                if _runs.get(key) is future:
                    del _runs[key]
            future.set_exception(error)
            raise
    try:
        return future.result(timeout=WAIT_S)
    except FutureTimeout:
        raise Busy("This layer is still being trained for someone else; try again in a moment.") from None


def run_ready(task, seed):  # -> whether training_run(task, seed) answers at once
    future = _runs.get((task, seed))
    return future is not None and future.done() and future.exception() is None


def warm(seeds=WARM_SEEDS):  # train the runs a class is most likely to ask for, in the background, once
    global _warmed
    with _runs_lock:
        if _warmed:
            return
        _warmed = True

    def train_all():
        with contextlib.suppress(OSError, AttributeError):  # the lowest priority: sessions' runs come first
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        for seed in seeds:
            for task in TASKS:
                training_run(task, seed)

    threading.Thread(target=train_all, name="warm-trained-layers", daemon=True).start()


_warmed = False


def run(sentence, options):  # -> AttentionTrace through the trained layer
    task, seed = options["task"], options["train_seed"]
    caption = f"trained: {TASKS[task].title.lower()} (seed {seed})"
    source = Source("trained", 0, (("task", task), ("train_seed", seed)), caption)
    return trained_trace(training_run(task, seed), sentence, source)


FAMILY = Family(
    key="trained",
    title="the trained layer",
    summary=f"one layer trained here on a small task (see Watch it learn); it knows {len(WORDS)} words.",
    options=OPTIONS,
    stages=SEVEN,
    sizes=lambda options: Sizes(layers=1, heads=1),
    run=run,
    ready=lambda options: run_ready(options["task"], options["train_seed"]),
    weights="its weights were learned on *Watch it learn*",
    texts={
        "embedding": (
            "The sentence is split into tokens, and each token is looked up in a table of vectors: its "
            "**embedding**. Stacked as rows, they form the matrix **X**, one row per token. These vectors "
            "were learned with the layer, on its task. Attention by itself ignores word order, so a "
            "**positional encoding** is added to tell the positions apart.",
            r"X_i = E[\text{token}_i] + P_i \qquad X \in \mathbb{R}^{n \times d_{model}}",
        ),
        "projection": (
            "Each token's row of X is multiplied by three **learned weight matrices**. They give every token "
            "three different roles: W_q turns it into a **query** (what am I looking for?), W_k into a "
            "**key** (what do I contain?), and W_v into a **value** (what do I pass on if someone attends to "
            "me?). These were learned: the layer was trained on its task from random ones (see *Watch it "
            "learn*).",
            r"Q = X W_q \qquad K = X W_k \qquad V = X W_v",
        ),
    },
)
