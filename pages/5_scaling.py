import streamlit as st

from ui import render
from ui.controls import page_setup
from ui.pages import stage_page

PAGE = stage_page(5)
settings, trace = page_setup(PAGE)
config = trace.config

render.draw_stage_intro(
    PAGE,
    "A dot product of two d_k-long vectors adds up d_k terms, so its typical size grows like √d_k. "
    "Large scores push softmax to put almost all weight on one key, and then its gradients nearly vanish "
    "and training stalls. Dividing by √d_k brings the scores back to a typical size of about 1, whatever "
    "d_k is. A **temperature** T divides them further: below 1 it sharpens the softmax, above 1 it flattens it.",
    r"\tilde S = \frac{Q K^{\top}}{\sqrt{d_k}\; T}",
)
render.draw_shapes(("S", trace.scores.shape[1:]), ("scaled", trace.scaled.shape[1:]))
st.markdown(
    f"Here d_k = {config.d_k}, so √d_k = {config.d_k**0.5:.3f}; temperature {config.temperature:g}. "
    f"Every score is divided by **{trace.divisor:.4g}**."
    + ("" if config.scale else " Scaling is **off** in the sidebar: only the temperature divides.")
)
if render.predict_gate(trace, settings, PAGE.stage):
    render.draw_score_pipeline(trace, settings.head, focus=5)
    render.draw_cell_panel(trace, settings.head, 5)
render.draw_checks(trace, settings.head, PAGE.stage)
render.draw_nav(PAGE, settings)
