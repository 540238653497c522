"""Downloads: a chart's numbers as CSV, the whole trace as JSON, the view as a lesson file (HTML).

Each file is made only when its button is clicked (a callable, not bytes on every rerun), and a file that
costs more than a rerun is made once per view and kept as bytes (``budget.BUDGETS["downloads"]``), so a
thousand clicks cost one. A session may have only a few such files made for it per minute (``ui.limits``),
and the whole server makes one at a time: one visitor clicking without pause cannot stall the class. A
refused click downloads a short file that says why.
"""

import html
import json
import threading

import streamlit as st

from attention_viz import budget, export, frames, lesson
from ui import class_session, limits, url_state

DOWNLOADS = budget.SharedCache("downloads", budget.BUDGETS["downloads"], len)
WAIT_S = 20  # how long a click waits for another file to be made before it is refused
_MAKING = threading.Semaphore(1)  # one file made at a time in the whole server


def _made(key, make, allowance):  # -> the file's bytes: kept, or made now if the session may
    def limited():
        allowance.take()
        if not _MAKING.acquire(timeout=WAIT_S):
            raise limits.Refused("The server is busy making other files; try again in a moment.")
        try:
            return make()
        finally:
            _MAKING.release()

    return DOWNLOADS.get(key, limited)


def _deferred(what, refusal):  # -> the callable a download button calls when clicked
    """``what()`` -> (key, make): read when clicked, as the view is then; ``refusal(message)`` -> bytes."""
    allowance = limits.allowance("downloads")  # read now: the callable runs outside the script

    def data():
        key, make = what()
        try:
            return _made(key, make, allowance)
        except (limits.Refused, budget.Busy) as why:
            return refusal(str(why))

    return data


def _json_refusal(message):
    return json.dumps({"error": message}).encode("utf-8")


def _html_refusal(message):
    return f'<!DOCTYPE html><html lang="en"><meta charset="utf-8"><title>Not made</title><p>{html.escape(message)}</p></html>'.encode()


def csv_button(values, rows, columns, name):  # below a chart: its numbers with their labels (small: not kept)
    if class_session.following():  # see page_setup
        return
    st.download_button(
        f"{name}.csv",
        lambda: export.frame_csv(frames.matrix_frame(values, rows, columns)),  # made only when clicked
        file_name=f"{name}.csv",
        mime="text/csv",
        icon=":material/download:",
        key=f"csv_{name}",
        type="tertiary",
        on_click="ignore",
    )


def _trace_key(trace):  # the model, its options and layer, and the sentence: what a trace's numbers depend on
    return (trace.source, trace.tokens)


def lesson_button(trace, settings):
    """The current view as one HTML file that needs no server (attention_viz.lesson), made when clicked."""
    tokens = frames.token_labels(trace.tokens)
    # The picks dict itself: a pick reruns only its panel, so the file reads the cell when it is clicked.
    picks = st.session_state.setdefault(url_state.CELL_PICKS, {})

    def what():
        def index(key):
            label = picks.get(key)
            return tokens.index(label) if label in tokens else 0

        view = lesson.View(settings.head, index("query"), index("key"), settings.sentence)
        return ("lesson", _trace_key(trace), view), lambda: lesson.lesson_html(trace, view).encode("utf-8")

    st.sidebar.download_button(
        "Download this lesson (HTML)",
        _deferred(what, _html_refusal),
        file_name="attention_lesson.html",
        on_click="ignore",
        mime="text/html",
        icon=":material/school:",
        width="stretch",
        help="Every stage of this view in one file that opens in any browser, offline, and prints as a handout.",
    )


def trace_button(trace):
    st.sidebar.download_button(
        "Download the whole trace (JSON)",
        _deferred(
            lambda: (("json", _trace_key(trace)), lambda: export.trace_json(trace).encode("utf-8")),
            _json_refusal,
        ),
        file_name="attention_trace.json",
        on_click="ignore",
        mime="application/json",
        icon=":material/data_object:",
        width="stretch",
    )
