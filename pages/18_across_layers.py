import streamlit as st

from attention_viz import atlas as figures
from ui import atlas, models, render
from ui.columns import columns
from ui.page import page_setup
from ui.pages import page_at

PAGE = page_at("pages/18_across_layers.py")
settings, trace = page_setup(PAGE)
family = settings.family

st.title(PAGE.title)
one_layer = family.attentions is None  # the random and the trained model
if not render.presenting():
    st.markdown(
        "One head shows where one token looks in one layer. But a token's final representation was built "
        "layer upon layer, and in each layer it also keeps what it had (the **residual connection**). "
        "**Attention rollout** (Abnar & Zuidema, 2020) follows the attention down through the layers: average "
        "each layer's heads (Ā), add the residual as half the weight on the token itself, renormalise the rows, "
        "and multiply the layers from the first up. Row *i* says how much token *i*, after that layer, draws from each token of the "
        "input."
    )
st.latex(
    r"R^{(\ell)} = \tilde A^{(\ell)}\,\tilde A^{(\ell - 1)} \cdots \tilde A^{(0)}, \qquad "
    r"\tilde A = \tfrac12\,\overline{A} + \tfrac12\,I"
)
if one_layer:
    st.markdown(
        f"**Note.** {render.escape_markdown(family.title.capitalize())} has one layer, so its rollout is just "
        "that layer's attention, averaged over its heads, with the residual added: half of each row's weight "
        "stays on the token itself. Choose **MiniLM** or **SmolLM2** under *Model* to follow attention through "
        "6 or 30 layers."
    )
    weights = trace.weights[None]  # its one layer, all its heads
else:  # after the text: the browser lays it out and loads the formula's code while every layer is computed
    weights = models.unless_busy(lambda: models.attentions_for(family, settings.options, settings.sentence))
layer = atlas.layer_slider_ui(len(weights)) if len(weights) > 1 else 0
rolled = atlas.rollout_for(family, settings.options, settings.sentence, weights)[layer]
tokens = render.labels(trace)
(left, left_px), (right, right_px) = columns(2)
through = f"layers 0–{layer}" if layer else "layer 0"
with left:
    render.draw_heatmap(
        rolled, tokens, tokens, "rollout", room=left_px, kind="weights", title=f"rollout through {through}",
        row_name="token", column_name="from input token",
    )  # fmt: skip
with right:
    render.draw_heatmap(
        weights[layer].mean(axis=0), tokens, tokens, "layer_mean", room=right_px, kind="weights",
        title=f"layer {layer} alone, heads averaged", row_name="query", column_name="key",
    )  # fmt: skip
if not render.presenting():
    st.caption(figures.ROLLOUT_CAPTION)
render.draw_nav(PAGE, settings)
