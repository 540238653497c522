import streamlit as st

from attention_viz import text
from ui import render
from ui.controls import page_setup
from ui.pages import stage_page

PAGE = stage_page(5)
settings, trace = page_setup(PAGE)
config = trace.config

render.draw_stage_intro(PAGE, trace)
render.draw_shapes(*text.shapes(trace, PAGE.stage))
st.markdown(text.divisor_note(trace))
if render.predict_gate(trace, settings, PAGE.stage):
    render.draw_score_pipeline(trace, settings.head, focus=5)
    render.draw_cell_panel(trace, settings.head, 5)
render.draw_checks(trace, settings.head, PAGE.stage)
render.draw_nav(PAGE, settings)
