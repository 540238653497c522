import streamlit as st

from ui import render
from ui.controls import page_setup, pretrained_attentions
from ui.pages import EXTRA_PAGES, stage_page

PAGE = EXTRA_PAGES[3]
settings, trace = page_setup(PAGE)

st.title(PAGE.title)
if not render.is_pretrained(trace):
    st.info(
        "This page shows the pretrained model. Choose **MiniLM** under *Model* in the sidebar "
        "(if it is greyed out, the note below it says why).",
        icon=":material/school:",
    )
    st.stop()

render.draw_pretrained_note(trace, settings.head)
st.markdown(
    "Every head of every layer for your sentence: 6 layers (rows) × 12 heads (columns). Each square is "
    "one head's attention weights, queries down and keys across, dark 0 to yellow 1. Look for heads "
    "with a bright diagonal (attend to yourself), a bright stripe beside it (attend to the next or "
    "previous token) or a bright first or last column ([CLS] or [SEP]). Hover a square to name it; "
    "choose it with **Layer** and **Head shown** in the sidebar, then open a stage page to see it step by step."
)
weights = pretrained_attentions(settings.sentence)
layers, heads = weights.shape[:2]


render.draw_head_grid(
    weights, [f"layer {L}" for L in range(layers)], [f"head {h + 1}" for h in range(heads)], "model_view"
)
st.markdown(f"Chosen: **layer {settings.layer}, head {settings.head + 1}**.")
left, right = st.columns(2)
left.page_link(
    stage_page(6).path,
    label="See its softmax weights",
    icon=":material/arrow_forward:",
    query_params=settings.link_params,
)
right.page_link(
    stage_page(4).path,
    label="Compute its scores step by step",
    icon=":material/arrow_forward:",
    query_params=settings.link_params,
)
render.draw_nav(PAGE, settings)
