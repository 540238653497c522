"""Presenter mode: large previous/next buttons, the projector's keys, and its style."""

import streamlit as st

from ui.pages import neighbours


def presenting():  # the sidebar's "Presenter mode" switch
    return bool(st.session_state.get("present"))


def _switch_to(page):
    # Without query_params, switch_page clears the URL's parameters, which Streamlit refuses while
    # widgets are bound to them; an empty dict replaces only the unbound ones. The sidebar then puts
    # the bound settings back on the new page.
    st.switch_page(page.path, query_params={})


def _stop_presenting():
    st.session_state["present"] = False


def draw_presenter_bar(page, family):
    """Large previous/next buttons at the top of every page in presenter mode, always in the same place.

    Keys: ← and → (the buttons' own shortcuts), and a presentation clicker's PageUp and PageDown
    (shortcuts of two buttons that CSS hides); Esc leaves presenter mode.
    """
    previous, following = neighbours(page, family)
    with st.container(key="presenter_bar"):
        back, _, forward, leave = st.columns([4, 1, 4, 2])
        if previous and back.button(
            f"◀  {previous.title_for(family)}", key="present_previous", shortcut="Left", width="stretch"
        ):
            _switch_to(previous)
        if following and forward.button(
            f"{following.title_for(family)}  ▶", key="present_next", shortcut="Right", width="stretch"
        ):
            _switch_to(following)
        leave.button(
            "Exit",
            key="present_exit",
            shortcut="Esc",
            on_click=_stop_presenting,
            width="stretch",
            help="Leave presenter mode (Esc)",
        )
    with st.container(key="clicker_keys"):
        if previous and st.button("previous page", key="clicker_previous", shortcut="PageUp"):
            _switch_to(previous)
        if following and st.button("next page", key="clicker_next", shortcut="PageDown"):
            _switch_to(following)


_STYLE = (
    "[data-testid='stMainBlockContainer']{padding-top:3.5rem;padding-bottom:2rem}"
    "h1{font-size:2.1rem !important;padding-top:0 !important}"
    ".st-key-clicker_keys{display:none}"  # PageUp/PageDown for presentation clickers: keys, not buttons
    # The invisible components (ui/preload.py, ui/room.py, ui/focus.py) out of the flow: no gap of their own.
    ".st-key-preload,.st-key-room,.st-key-scrolling_regions{position:absolute;width:0;height:0;overflow:hidden}"
    ".katex-display{padding:0 0.25em}"  # a glyph's overhang no longer makes a formula scroll
    # Streamlit draws no focus ring on page links: the keyboard's place must show (WCAG 2.4.7).
    "[data-testid='stPageLink-NavLink']:focus-visible{outline:2px solid currentColor;outline-offset:2px}"
    "[class*='st-key-numbers_table'] td{text-align:right !important;font-variant-numeric:tabular-nums}"
)
_PRESENTER_STYLE = (  # projector: no sidebar, large type, the page uses the whole width
    "[data-testid='stSidebar'],[data-testid='stSidebarCollapsedControl'],[data-testid='stHeader']{display:none}"
    "[data-testid='stMainBlockContainer']{padding:0.8rem 2rem 1rem 2rem;max-width:100%}"
    "html{font-size:20px}"
    "h1{font-size:2rem !important;padding-bottom:0 !important}"
    ".st-key-presenter_bar button{min-height:3.2rem;font-size:1.3rem}"
)


def draw_style():
    """Tighter top margin and headings, so a stage fits a 1280×720 projector; no user text here."""
    st.html(f"<style>{_STYLE}{_PRESENTER_STYLE if presenting() else ''}</style>")
