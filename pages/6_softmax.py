import streamlit as st

from ui import render
from ui.controls import page_setup
from ui.pages import stage_page

PAGE = stage_page(6)
settings, trace = page_setup(PAGE)

render.draw_stage_intro(
    PAGE,
    "Softmax turns each row of scaled scores into **attention weights**: all positive, adding up to 1. "
    "Exponentiating makes the largest score stand out; dividing by the row's sum makes the weights a share. "
    "Subtracting the row's largest score first changes nothing in the result but keeps the exponentials "
    "from overflowing. With the **causal mask** on, a token cannot see later tokens: those weights are exactly 0.",
    r"A_{ij} = \frac{\exp(\tilde S_{ij} - \max_k \tilde S_{ik})}{\sum_{l} \exp(\tilde S_{il} - \max_k \tilde S_{ik})}",
)
render.draw_shapes(("scaled", trace.scaled.shape[1:]), ("A", trace.weights.shape[1:]))
if trace.config.causal:
    st.caption("Causal mask on: the upper triangle is masked (weight 0).")
if render.predict_gate(trace, settings, PAGE.stage):
    render.draw_score_pipeline(trace, settings.head, focus=6)
    render.draw_cell_panel(trace, settings.head, 6)
render.draw_checks(trace, settings.head, PAGE.stage)
render.draw_nav(PAGE, settings)
