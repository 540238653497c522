"""The sidebar every page shares: the sentence, the model and its settings, the switches, the page list.

``controls(page)`` draws it and returns the ``Settings``. Every widget is bound to the URL (Streamlit's
own query-parameter binding), so the address holds the view; ``ui.url_state`` checks what a link gave
and carries settings across page switches; ``ui.models`` draws whatever the chosen family declares.
"""

from dataclasses import dataclass

import streamlit as st

from attention_core.families import Family
from ui import models, url_state
from ui.pages import walkthrough


@dataclass(frozen=True)
class Settings:
    """What the sidebar chose."""

    sentence: str
    family: Family  # the chosen model family
    options: dict  # its options, and "layer"
    head: int  # 0-based index of the head the stage pages show
    link_params: dict  # the non-default settings as URL parameters, carried by page links
    predict: bool = False  # the walkthrough's questions come before their numbers

    @property
    def layer(self):  # 0-based, as in Hugging Face
        return self.options["layer"]

    def option(self, name):  # the value of one of the family's options
        return self.options[name]


def _sentence_ui():
    return st.sidebar.text_input(
        "Sentence",
        url_state.DEFAULT_SENTENCE,
        key="sentence",
        bind="query-params",
        max_chars=url_state.MAX_SENTENCE_CHARS,
        help="Words and punctuation become tokens; up to 64 tokens (MiniLM: 128 word pieces).",
    )


def _switches_ui():  # -> {"predict", "present"}: the classroom's switches
    sidebar = st.sidebar
    return {
        "predict": sidebar.toggle(
            "Predict first",
            False,
            key="predict",
            bind="query-params",
            help="On the stages that ask a question, guess before the numbers are shown.",
        ),
        "present": sidebar.toggle(
            "Presenter mode",
            False,
            key="present",
            bind="query-params",
            help="For a projector: no sidebar, large type, one stage per screen; ← and → (or a clicker) "
            "move between pages, Esc leaves.",
        ),
    }


def _page_list(family, link_params):
    st.sidebar.divider()
    for page in walkthrough(family):
        st.sidebar.page_link(
            page.path, label=page.title_for(family), icon=page.icon_for(family), query_params=link_params
        )


def _link_box(page, link_params):
    box = st.sidebar.expander("Link to this view", icon=":material/link:", key="link_box", on_change="rerun")
    if box.open:  # spelled out only while open
        box.code(url_state.view_link(page, link_params), language=None, wrap_lines=True)
        box.caption("Opens this page with the same sentence, settings and selection.")


def _chosen(keys):  # -> what a page's own widgets chose: kept in the session, or still only in the URL
    return {key: st.session_state.get(key) or st.query_params.get(key) for key in keys}


def controls(page):  # draws the sidebar's settings -> Settings
    """The page list and the view's link follow once the page knows its trace (``draw_links``)."""
    first_run = "ui_url_checked" not in st.session_state
    raw_params = st.query_params.to_dict() if first_run else {}
    url_state.refuse_unreadable_numbers()  # every run: a rerun can carry the URL the browser opened with
    url_state.carry_over(page)
    st.session_state.pop(url_state.CELL_CHANGED, None)  # this run draws the view link with the current cell
    sentence = _sentence_ui()
    family, options, values = models.model_ui(page)
    values |= {"sentence": sentence} | _switches_ui()
    head, values["head"] = models.head_ui(family, options)
    url_state.remember(values)
    for note in url_state.notices(raw_params, values):
        st.toast(note, icon=":material/link_off:")
    st.session_state["ui_url_checked"] = True
    # A page's own settings, unless at their default; the chosen cell goes only into the view's link.
    pages = {
        key: str(value)
        for key, value in _chosen(url_state.PAGE_DEFAULTS).items()
        if value and value != url_state.PAGE_DEFAULTS[key]
    }
    return Settings(sentence, family, options, head, url_state.link_params(values) | pages, values["predict"])


def draw_links(page, settings, first_token):  # the page list and "Link to this view"
    """``first_token``: the label of the sentence's first token, the cell pickers' default (left out)."""
    _page_list(settings.family, settings.link_params)
    cell = {k: v for k, v in _chosen(url_state.CELL_KEYS).items() if v and v != first_token}
    _link_box(page, settings.link_params | cell)
