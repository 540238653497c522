import streamlit as st

from attention_core import rotation_terms
from attention_viz import charts, stages
from ui import numbers_panel, predict_first, render
from ui.columns import columns, panel_columns
from ui.page import page_setup
from ui.pages import stage_page

PAGE = stage_page("rotate")
settings, trace = page_setup(PAGE)
head = settings.head

render.draw_stage_intro(PAGE, trace, settings.family, head)
if predict_first.predict_gate(trace, settings, PAGE.stage):
    q_before, q_after, k_before, k_after = stages.stage_panels(trace, PAGE.stage, head)
    for pair in ((q_before, q_after), (k_before, k_after)):
        for (place, px), panel in zip(panel_columns(pair), pair, strict=True):
            with place:
                render.draw_panel(panel, room=px)

    st.subheader("One pair of numbers, turning with the position")
    left, right = st.columns(2)
    with left:
        i = numbers_panel.token_picker(trace, "Query token", "query")
    with right:
        pair = st.slider(
            "Pair of coordinates", 1, trace.q.shape[-1] // 2, 1, key="rotate_pair",
            help="Pair 1 turns fastest (1 radian per position); the last pairs turn so slowly they barely move.",
        ) - 1  # fmt: skip
    terms = rotation_terms(trace, head, i, 0, pair, places=max(16, len(trace.tokens)))
    (fan, fan_px), (grid, grid_px) = columns(2)
    with fan:
        render.draw_figure(
            charts.rotation_figure(terms, i, fan_px), "rotation_fan", charts.describe_rotation(terms, i)
        )
        st.caption(
            f"The query's numbers {2 * pair + 1} and {2 * pair + 2} as an arrow: placed at position p, it is turned "
            f"by p × {terms.speed:.3g} radians. Its length never changes; the thick arrow is where "
            f"“{render.escape_markdown(render.labels(trace)[i])}” stands."
        )
    with grid:
        places = [str(p) for p in terms.positions]
        render.draw_heatmap(
            terms.scores, places, places, "rotation_scores", room=grid_px, title="the same q and k at positions a, b",
            row_name="query at", column_name="key at", numbers=False, download=False,
        )  # fmt: skip
        st.caption(
            "The same query and key vectors, placed at every pair of positions: each diagonal stripe holds one "
            "value. After rotation, q·k depends only on how far apart the two tokens are, not on where they are."
        )
render.draw_checks(trace, head, PAGE.stage)
render.draw_nav(PAGE, settings)
