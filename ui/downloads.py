"""Downloads: a chart's numbers as CSV, the whole trace as JSON, the view as a lesson file (HTML).

Each file is made only when its button is clicked (a callable, not bytes on every rerun).
"""

import streamlit as st

from attention_viz import export, frames, lesson
from ui import url_state


def csv_button(values, rows, columns, name):  # below a chart: its numbers with their labels
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


def lesson_button(trace, settings):
    """The current view as one HTML file that needs no server (attention_viz.lesson), made when clicked."""
    tokens = frames.token_labels(trace.tokens)
    # The picks dict itself: a pick reruns only its panel, so the file reads the cell when it is made.
    picks = st.session_state.setdefault(url_state.CELL_PICKS, {})

    def index(key):
        label = picks.get(key)
        return tokens.index(label) if label in tokens else 0

    st.sidebar.download_button(
        "Download this lesson (HTML)",
        lambda: lesson.lesson_html(
            trace, lesson.View(settings.head, index("query"), index("key"), settings.sentence)
        ),
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
        lambda: export.trace_json(trace),  # made only when clicked
        file_name="attention_trace.json",
        on_click="ignore",
        mime="application/json",
        icon=":material/data_object:",
        width="stretch",
    )
