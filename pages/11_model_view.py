import streamlit as st

from ui import models, render
from ui.page import page_setup
from ui.pages import page_at, stage_page

PAGE = page_at("pages/11_model_view.py")
settings, trace = page_setup(PAGE)
family = settings.family

st.title(PAGE.title)
weights = models.unless_busy(lambda: models.attentions_for(family, settings.options, settings.sentence))
if weights is None:
    st.info(
        f"{family.title.capitalize()} has one layer: its heads are on *Heads and W_o*. Choose a model with "
        "several layers under *Model* in the sidebar, such as **MiniLM** (if it is missing, the note below "
        "the choice says why).",
        icon=":material/school:",
    )
    st.stop()

layers, heads = weights.shape[:2]
render.draw_note(PAGE, trace, family)
st.markdown(
    f"Every head of every layer for your sentence: {layers} layers (rows) × {heads} heads (columns). Each square "
    "is one head's attention weights, queries down and keys across, dark 0 to yellow 1. Look for heads "
    "with a bright diagonal (attend to yourself), a bright stripe beside it (attend to the next or "
    "previous token) or a bright first or last column. Hover a square to name it; "
    "choose it with **Layer** and **Head shown** in the sidebar, then open a stage page to see it step by step."
)
render.draw_head_grid(
    weights, [f"layer {L}" for L in range(layers)], [f"head {h + 1}" for h in range(heads)], "model_view"
)
st.markdown(f"Chosen: **layer {settings.layer}, head {settings.head + 1}**.")
left, right = st.columns(2)
left.page_link(
    stage_page("softmax").link,
    label="See its softmax weights",
    icon=":material/arrow_forward:",
    query_params=settings.link_params,
)
right.page_link(
    stage_page("scores").link,
    label="Compute its scores step by step",
    icon=":material/arrow_forward:",
    query_params=settings.link_params,
)
render.draw_nav(PAGE, settings)
