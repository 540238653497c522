import streamlit as st

from attention_viz import text
from ui import render
from ui.controls import page_setup
from ui.pages import stage_page

PAGE = stage_page(6)
settings, trace = page_setup(PAGE)

render.draw_stage_intro(PAGE, trace)
render.draw_shapes(*text.shapes(trace, PAGE.stage))
if trace.config.causal:
    st.caption("Causal mask on: the upper triangle is masked (weight 0).")
if render.predict_gate(trace, settings, PAGE.stage):
    render.draw_score_pipeline(trace, settings.head, focus=6)
    render.draw_cell_panel(trace, settings.head, 6)
render.draw_checks(trace, settings.head, PAGE.stage)
render.draw_nav(PAGE, settings)
