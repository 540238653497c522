import streamlit as st

from attention_viz import whatif
from attention_viz.panels import Panel
from ui import render
from ui.columns import panel_columns, room_width
from ui.page import page_setup
from ui.pages import page_at

PAGE = page_at("pages/12_what_if.py")
settings, trace = page_setup(PAGE)
head = settings.head
heads = trace.config.n_heads
head_name = f"head {head + 1}" if heads > 1 else "the head"
TARGET_NAMES = {
    "x": "Embeddings X",
    "w_q": f"W_q of {head_name}",
    "scores": f"Raw scores Q·Kᵀ of {head_name}",
}
UNCHANGED = {  # target -> what an edit of it cannot change, and why
    "x": [],
    "w_q": ["K and V do not use W_q, so they keep their numbers."],
    "scores": ["Q, K and V come before the scores, so they keep their numbers."],
}


def reset(key):
    st.session_state.pop(key, None)
    # A new key, not only an emptied one: the browser's table keeps its typed numbers while its key lives.
    st.session_state["whatif_resets"] = st.session_state.get("whatif_resets", 0) + 1


REFUSED_RESIZE = (
    "The table's rows and columns are fixed: rows cannot be added or deleted, so that edit was not used."
)


def editor_key(target):  # a new key after each reset: the browser's table drops what was typed in it
    return whatif.editor_key(
        target, trace.source, settings.sentence, head, st.session_state.get("whatif_resets", 0)
    )


def editor_ui(target, before):  # -> the edited matrix, as the page will use it
    rows, columns = whatif.target_labels(trace, target)
    frame = whatif.editor_frame(before, rows)
    number = {
        "format": "%.3f",
        "step": 0.001,
        "min_value": -whatif.EDIT_LIMIT,
        "max_value": whatif.EDIT_LIMIT,
    }
    column_config = {
        "_index": st.column_config.TextColumn(
            {"x": "token", "w_q": "row of W_q", "scores": "query ↓  key →"}[target]
        ),
        **{
            column: st.column_config.NumberColumn(label, **number)
            for column, label in zip(frame.columns, columns, strict=True)
        },
    }
    key = editor_key(target)
    if whatif.resizes(st.session_state.get(key)):  # a client that ignored the fixed size: start afresh
        reset(key)  # before the editor applies thousands of added rows, not after
        key = editor_key(target)
        st.warning(REFUSED_RESIZE, icon=":material/table_rows:")
    edited = st.data_editor(frame, key=key, column_config=column_config, num_rows="fixed", height="auto")
    try:
        after = whatif.accepted(before, edited.to_numpy())
    except whatif.EditShapeError as error:
        reset(key)
        st.warning(f"{error} The edit was not used.", icon=":material/table_rows:")
        after = before
    changes = whatif.edits(before, after, rows, columns)
    with st.container(horizontal=True, vertical_alignment="center"):
        st.button(
            "Reset",
            key="whatif_reset",
            icon=":material/restart_alt:",
            on_click=reset,
            args=(key,),
            disabled=not changes,
            help="Back to the computed values",
        )
        draw_edit_list(target, changes)
    return after


def draw_edit_list(target, changes):
    if not changes:
        st.caption("Double-click a number, type a new one and press Enter. Nothing is changed yet.")
        return
    name = {"x": "X", "w_q": "W_q", "scores": "score"}[target]
    shown = [
        f"{render.escape_markdown(f'{name}[{row}, {column}]')} = **{new:.3f}** (was {old:.3f})"
        for row, column, old, new in changes[:4]
    ]
    more = f" … and {len(changes) - 4} more" if len(changes) > 4 else ""
    st.markdown("You changed " + " · ".join(shown) + more)


def draw_ripple(before, after, target):
    """One badge per later stage: how far the edit reached."""
    with st.container(horizontal=True, gap="small"):
        for name in whatif.AFFECTED[target]:
            mask = whatif.changed_cells(
                whatif.result_matrix(before, name, head), whatif.result_matrix(after, name, head)
            )
            st.badge(
                f"{whatif.result(name).title.split(' =')[0]}: {whatif.change_summary(mask, 'numbers')}",
                icon=":material/change_circle:" if mask.any() else ":material/check:",
                color="orange" if mask.any() else "gray",
            )


def draw_result(before, after, name):
    """The result after the edit, and the change next to it; changed cells framed in both."""
    spec = whatif.result(name)
    rows, columns = whatif.result_labels(after, name)
    old, new = whatif.result_matrix(before, name, head), whatif.result_matrix(after, name, head)
    mask = whatif.changed_cells(old, new)
    square = spec.columns is None
    names = {"row_name": "query" if square else "token", "column_name": "key" if square else "dimension"}
    large = render.presenting()
    # Titles above the figures, not in them: a wide matrix's slanted column labels would run into them.
    st.markdown(
        f"**{render.escape_markdown(spec.title)}** — {whatif.change_summary(mask, 'numbers')}"
        + (f"; the largest change is {whatif.largest_change(old, new):.3g}" if mask.any() else "")
    )
    after_panel = Panel(
        f"whatif_{name}", f"{spec.title} after the edit", new, rows, columns, spec.kind, **names
    )
    change_panel = Panel(
        f"whatif_{name}_change", f"change in {spec.title}", new - old, rows, columns, **names
    )
    (left, left_px), (right, right_px) = panel_columns([after_panel, after_panel])
    with left:
        st.caption("after the edit")
        render.draw_matrix_figure(
            whatif.shared_after_heatmap(
                new,
                rows,
                columns,
                mask,
                room=int(left_px or room_width()),
                large=large,
                **after_panel.options(),
            ),
            new,
            rows,
            columns,
            after_panel.name,
            after_panel.title,
            **after_panel.options(),
        )
    with right:
        st.caption("change = after − before")
        render.draw_matrix_figure(
            whatif.shared_change_heatmap(
                old, new, rows, columns, room=int(right_px or room_width()), large=large, **names
            ),
            change_panel.values,
            rows,
            columns,
            change_panel.name,
            change_panel.title,
            **names,
        )


st.title(PAGE.title)
if not render.presenting():  # on a projector the teacher speaks
    st.markdown(
        "Change a number and press Enter: every later stage is computed again, with the same code as the "
        "stage pages. Each result is shown **after** your edit, next to the **change** (after − before); "
        "the cells that changed are framed (unless all of them did). Things to try:\n"
        "- In **X**, change one number in a token's row: that token's row of Q, K and V changes, then its "
        "row *and its column* of scores — and through that column, every token's weights move a little.\n"
        "- In the **raw scores**, make one number large (say 10): only that query's row of weights changes, "
        "and its attention shifts to that key.\n"
        "- Switch on the **causal mask** (sidebar) and edit a score above the diagonal: nothing changes, "
        "because a masked key gets weight 0 whatever its score."
    )


@st.fragment
def edit_panel():
    """The editor and every result below it: an edit reruns this panel alone, not the sidebar."""
    target = st.segmented_control(
        "What to edit",
        whatif.TARGETS,
        format_func=TARGET_NAMES.get,
        key="whatif_target",
        default="x",
        required=True,
    )
    if settings.family.sizes(settings.options).layers > 1:
        st.caption(
            f"{render.escape_markdown(trace.source.caption)}: X is {trace.x.shape[1]} numbers wide and W_q has "
            f"{trace.w_q.shape[1]} rows; the table scrolls. Only this layer is recomputed — the layers after it "
            "would read the changed output."
        )
    before_matrix = whatif.target_matrix(trace, target, head)
    after_matrix = editor_ui(target, before_matrix)
    after = (
        whatif.recompute(trace, target, head, after_matrix)
        if whatif.changed_cells(before_matrix, after_matrix).any()
        else trace
    )
    if not render.presenting():
        st.caption(
            f"Typed numbers are kept between −{whatif.EDIT_LIMIT:g} and {whatif.EDIT_LIMIT:g}; an emptied cell keeps "
            "its computed value. Choosing something else to edit, or changing the sidebar, starts again from the "
            "computed values."
        )

    st.subheader("What changed")
    draw_ripple(trace, after, target)
    notes = UNCHANGED[target]
    if heads > 1 and target == "x":
        notes = [f"Every head reads X, so the other heads change too; only head {head + 1} is shown."]
    elif heads > 1:
        notes = [*notes, f"Only head {head + 1} uses this; the other heads keep their numbers."]
    if notes:
        st.caption(" ".join(notes) + (" The layer output mixes all heads." if heads > 1 else ""))
    for name in whatif.AFFECTED[target]:
        draw_result(trace, after, name)
        if name == "scores":
            st.caption(
                f"The scaled scores (stage 5) are these ÷ {trace.divisor:.3g}, so they change exactly where these do."
            )


edit_panel()
render.draw_nav(PAGE, settings)
