"""Show me the numbers: the arithmetic behind one chosen cell, and the token pickers that choose it.

A pick reruns only this panel (``st.fragment``); the chosen cell is bound to the URL and carried to the
next stage in the session (``ui.url_state``).
"""

import streamlit as st

from attention_core import output_terms
from attention_viz import frames, numbers, stages
from ui import render, url_state

NUMBERS_OPEN = "ui_numbers_open"  # session: "Show me the numbers" was left open


def _note_pick():
    st.session_state[url_state.CELL_CHANGED] = True


def token_picker(trace, label, key):  # -> index of the chosen token (the first by default); bound to the URL
    options = render.labels(trace)
    if st.session_state.get(key) not in (None, *options):  # carried over from another sentence
        del st.session_state[key]
    chosen = st.selectbox(label, options, key=key, bind="query-params", on_change=_note_pick)
    st.session_state.setdefault(url_state.CELL_PICKS, {})[key] = chosen
    return options.index(chosen)


@st.fragment
def draw_cell_panel(trace, head, slug):
    """A stage's worked cell (``StageView.cell``); picking another cell reruns this panel alone."""
    cell = stages.VIEWS[slug].cell
    i = None
    if cell == "output":
        st.subheader("One token's output, as a weighted sum")
        i = token_picker(trace, "Token", "query")
        draw_weighted_sum(trace, head, i)
    draw_numbers(trace, head, cell, i)
    if st.session_state.pop(url_state.CELL_CHANGED, False) and st.session_state.get("link_box"):
        st.rerun()  # the sidebar's open "Link to this view" names the cell: redraw the page with it


def draw_numbers(trace, head, cell, i=None):
    """ "Show me the numbers": the arithmetic behind one cell (``numbers.CELLS``).

    ``i`` is the query row when the page already has a picker for it.
    """
    # Made only while open: a new visitor's first view is lighter, and a link naming a cell opens it.
    # Opened through its state, not `expanded=`: a changed argument is a new expander, which would take
    # the keyboard's focus away from the picker a student has just used.
    if "numbers_box" not in st.session_state:
        opened = st.session_state.get(NUMBERS_OPEN) or any(
            key in st.query_params for key in url_state.CELL_KEYS
        )
        st.session_state["numbers_box"] = bool(opened)
    box = st.expander(
        "Show me the numbers", icon=":material/calculate:", key="numbers_box", on_change="rerun"
    )
    st.session_state[NUMBERS_OPEN] = bool(box.open)  # and it stays open on the next stage
    if not box.open:
        return
    with box:
        left, right = st.columns(2)
        if i is None:
            with left:
                i = token_picker(trace, "Query token (row)", "query")
        j = None
        if cell == "pair":
            with right:
                j = token_picker(trace, "Key token (column)", "key")
        work = numbers.worked(trace, head, cell, i, j, lambda token: f"**{render.escape_markdown(token)}**")
        st.markdown(work.intro)
        render.draw_table(work.table, work.description)
        if work.formula:
            st.latex(work.formula)
        if cell == "pair" and not trace.config.scale:
            st.caption("Scaling is off, so the score is divided only by the temperature.")
        if cell == "row" and not work.terms.allowed.all():
            st.caption("Masked keys count as −∞ after the mask, so their exponential is exactly 0.")


def draw_weighted_sum(trace, head, i):
    """Output row i as the picture "0.6·V(the) + 0.3·V(cat) + …": one row per weighted value, then the sum."""
    tokens = render.labels(trace)
    terms = output_terms(trace, head, i)
    order = sorted(range(len(tokens)), key=lambda j: -terms.weights[j])
    st.markdown(
        f"output({render.escape_markdown(tokens[i])}) = "
        + " + ".join(f"{terms.weights[j]:.2f} · V({render.escape_markdown(tokens[j])})" for j in order[:6])
        + (" + …" if len(tokens) > 6 else "")
    )
    rows = [f"{terms.weights[j]:.2f} × V({tokens[j]})" for j in range(len(tokens))] + [
        f"= output({tokens[i]})"
    ]
    render.draw_heatmap(
        [*terms.contributions, terms.total],
        rows,
        frames.dim_labels("v", trace.v.shape[-1]),
        f"weighted_sum_{i + 1}",
        title="each value vector times its weight, and their sum",
    )
