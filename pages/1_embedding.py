import streamlit as st

from attention_viz import stages
from ui import render
from ui.columns import panel_columns
from ui.page import page_setup
from ui.pages import stage_page

PAGE = stage_page("embedding")
settings, trace = page_setup(PAGE)
family = settings.family

render.draw_stage_intro(PAGE, trace, family)
st.markdown("**Tokens:** " + " · ".join(render.escape_markdown(t) for t in render.labels(trace)))

panels = stages.stage_panels(trace, PAGE.stage, settings.head)
if len(panels) == 1:
    render.draw_panel(panels[0])
    if family.option("positional"):
        st.caption(
            "No positional encoding: repeated words get identical rows. Switch it on under "
            "*Model settings* to see them differ."
        )
else:  # E + P = X
    for (place, px), panel in zip(panel_columns(panels), panels, strict=True):
        with place:
            render.draw_panel(panel, room=px)

render.draw_checks(trace, settings.head, PAGE.stage)
render.draw_nav(PAGE, settings)
