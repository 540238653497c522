"""What every page does first: its title, the sidebar, the style, presenter mode, and the trace.

Every page starts with ``settings, trace = page_setup(PAGE)``.
"""

import streamlit as st

from attention_core import AttentionInputError, tokenize
from attention_core.families import trained
from attention_viz import budget, frames
from ui import (
    blas,
    class_session,
    columns,
    downloads,
    focus,
    fragments,
    heap,
    live_class,
    models,
    preload,
    presenter,
    render,
    room,
    sidebar,
    sockets,
)
from ui.pages import OVERVIEW


def page_setup(page, compute=True):  # -> (Settings, AttentionTrace or None)
    """Page title, the sidebar and the trace; for unusable input, a message instead of the page."""
    preload.plotly_early()  # first: the browser fetches the charts' code while the rest is computed
    blas.one_thread()
    heap.freeze_imports()  # once per process
    sockets.bound_send_queues()
    fragments.drop_fragment_runs_of_pages_left()
    fragments.deliver_the_last_messages_of_finished_runs()
    trained.warm()  # the trained layers a class's links name, in the background, once per process
    st.set_page_config(
        page_title=f"{page.title} · Self-attention, step by step", page_icon="🔍", layout="wide"
    )
    settings = sidebar.controls(page)
    presenter.draw_style()  # after the sidebar: presenter mode is known once its switch has been drawn
    st.session_state[columns.ROOM] = room.main_width(presenter.presenting())
    focus.scrolling_regions_reachable()
    if presenter.presenting():
        presenter.draw_presenter_bar(page, settings.family)
    trace, problem = None, None
    if compute:
        try:
            trace = models.trace_for(settings.family, settings.options, settings.sentence)
        except (AttentionInputError, budget.Busy) as error:
            problem = str(error)
    first = frames.token_labels(trace.tokens if trace else tokenize(settings.sentence) or [None])[0]
    live_class.draw(page, settings, trace)  # its sidebar section; the teacher's or the student's bar
    sidebar.draw_links(page, settings, first)
    if problem:
        st.title(page.title_for(settings.family))
        st.info(problem, icon=":material/edit_note:")
        st.stop()
    if trace is None:
        return settings, None
    # A follower's page is drawn once per student: the downloads come back with Explore on my own.
    if not class_session.following():
        downloads.lesson_button(trace, settings)
        downloads.trace_button(trace)
    if page.stage and page.stage not in settings.family.stages:
        st.title(page.title)
        st.info(
            f"{settings.family.title.capitalize()} has no stage “{page.title}”. The page list in the sidebar "
            "shows its stages.",
            icon=":material/info:",
        )
        st.stop()
    if page != OVERVIEW:  # the overview names it in its first line
        render.draw_model_caption(trace, settings.family, settings.head)
    return settings, trace
