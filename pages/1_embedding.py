import streamlit as st

from attention_viz import frames, text
from ui import render
from ui.controls import page_setup
from ui.pages import stage_page

PAGE = stage_page(1)
settings, trace = page_setup(PAGE)
tokens = render.labels(trace)
d_model = trace.config.d_model
columns = frames.dim_labels("x", d_model)

render.draw_stage_intro(PAGE, trace)
if render.is_pretrained(trace):
    render.draw_pretrained_note(trace, settings.head)
render.draw_shapes(*text.shapes(trace, PAGE.stage))
st.markdown("**Tokens:** " + " · ".join(render.escape_markdown(t) for t in tokens))

if render.is_pretrained(trace) or trace.config.positional == "none":
    render.draw_heatmap(trace.x, tokens, columns, "X", row_name="token", column_name="dimension")
    if not render.is_pretrained(trace):
        st.caption(
            "No positional encoding: repeated words get identical rows. Switch it on under "
            "*Model settings* to see them differ."
        )
else:
    panels = (
        (trace.embeddings, "embeddings", "token embedding E"),
        (trace.positional, "positional", "+ positional encoding P"),
        (trace.x, "X", "= X"),
    )
    places = render.panel_columns([(matrix, tokens, columns, True) for matrix, _, _ in panels])
    for (place, px), (matrix, name, title) in zip(places, panels, strict=True):
        with place:
            render.draw_heatmap(matrix, tokens, columns, name, room=px, title=title)

render.draw_checks(trace, settings.head, PAGE.stage)
render.draw_nav(PAGE, settings)
