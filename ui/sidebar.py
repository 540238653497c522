"""The sidebar every page shares: the sentence, the model and its settings, the switches, the page list.

``controls(page)`` draws it and returns the ``Settings``. Every widget is bound to the URL (Streamlit's
own query-parameter binding), so the address holds the view; ``ui.url_state`` checks what a link gave
and carries settings across page switches; ``ui.models`` draws whatever the chosen family declares.
"""

from dataclasses import dataclass

import streamlit as st

from attention_core.families import Family
from ui import class_session, live_class, models, render, url_state
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


_SWITCHES = {  # the classroom's switches: key -> (label, help)
    "predict": ("Predict first", "On the stages that ask a question, guess before the numbers are shown."),
    "present": (
        "Presenter mode",
        "For a projector: no sidebar, large type, one stage per screen; ← and → (or a clicker) move between "
        "pages, Esc leaves.",
    ),
}


def _switch_ui(key):
    label, help_text = _SWITCHES[key]
    return st.sidebar.toggle(label, False, key=key, bind="query-params", help=help_text)


def _followed_ui():  # -> (family, options, head 0-based, values): the teacher's settings, said in words
    """A following student's settings are the teacher's (``live_class`` applied them): said, not drawn as
    widgets, which each page a class follows would otherwise draw once per student. Presenter mode stays
    the student's own."""
    values = live_class.followed_values()
    family, options, head = models.followed(values)
    sizes = family.sizes(options)
    model = [family.key] + [f"layer {options['layer']}"] * (sizes.layers > 1)
    model += [f"head {head + 1}"] * (sizes.heads > 1) + [
        f"{o.label} {options[o.name]:g}"
        for o in family.options
        if not isinstance(o.default, bool) and not o.choices and options[o.name] != o.default
    ]
    switches = [o.label for o in family.options if isinstance(o.default, bool) and options[o.name]]
    switches += [_SWITCHES["predict"][0]] * values["predict"]
    lines = {"Sentence": values["sentence"], "Model": " · ".join(model), "On": ", ".join(switches)}
    st.sidebar.markdown(
        "  \n".join(f"**{name}:** {render.escape_markdown(text)}" for name, text in lines.items() if text)
    )
    values |= {
        "model": family.key,
        "layer": options["layer"],
        "head": head + 1,
        "present": _switch_ui("present"),
    }
    return family, options, head, values


def _page_list(family, link_params):
    st.sidebar.divider()
    for page in walkthrough(family):
        st.sidebar.page_link(
            page.link, label=page.title_for(family), icon=page.icon_for(family), query_params=link_params
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
    raw_params = live_class.follow(page, first_run, raw_params)  # a class: the teacher's view, before widgets
    st.session_state.pop(url_state.CELL_CHANGED, None)  # this run draws the view link with the current cell
    if class_session.following():
        family, options, head, values = _followed_ui()
    else:
        values = {"sentence": _sentence_ui()}
        family, options, drawn = models.model_ui(page)
        values |= drawn | {key: _switch_ui(key) for key in _SWITCHES}
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
    link_params = url_state.link_params(values) | pages
    return Settings(values["sentence"], family, options, head, link_params, values["predict"])


def draw_links(page, settings, first_token):  # the page list and "Link to this view"
    """``first_token``: the label of the sentence's first token, the cell pickers' default (left out).

    A student who follows the teacher gets neither: the teacher chooses the page, and each page a class
    follows is drawn once per student, so what they would not use is left out (*Explore on my own*
    brings both back)."""
    if class_session.following():
        st.sidebar.divider()
        st.sidebar.caption(
            "The teacher chooses the page while you follow. **Explore on my own** lets you move freely."
        )
        return
    _page_list(settings.family, settings.link_params)
    cell = {k: v for k, v in _chosen(url_state.CELL_KEYS).items() if v and v != first_token}
    _link_box(page, settings.link_params | cell)
