import streamlit as st

from attention_viz import frames
from ui import render
from ui.page import page_setup
from ui.pages import page_at

PAGE = page_at("pages/8_heads.py")
settings, trace = page_setup(PAGE)
tokens = render.labels(trace)
config = trace.config

st.title(PAGE.title)
st.markdown(
    "A layer usually runs several heads side by side, each with its own W_q, W_k and W_v, so each can "
    "attend to something different. Their outputs are placed next to each other (**concatenated**) and "
    "one more learned matrix, **W_o**, mixes them back to d_model columns. Set the number of heads under "
    "*Model settings* in the sidebar."
)
st.latex(r"\text{output} = [\,O_1 \mid O_2 \mid \dots \mid O_h\,]\; W_o")
render.draw_shapes((("concat", trace.concat.shape), ("W_o", trace.w_o.shape), ("output", trace.output.shape)))

st.subheader("Each head's attention weights")
render.draw_head_weights(trace, "weights_head", numbers=config.n_heads <= 2)

st.subheader("concat · W_o = output")
concat_dims = [f"h{h + 1}·o{m + 1}" for h in range(config.n_heads) for m in range(config.d_v)]
model_dims = frames.dim_labels("y", config.d_model)
render.draw_heatmap(
    trace.concat,
    tokens,
    concat_dims,
    "concat",
    title="concat: each head's output, side by side",
    row_name="token",
)
render.draw_heatmap(trace.w_o, concat_dims, model_dims, "W_o", title="· W_o")
render.draw_heatmap(trace.output, tokens, model_dims, "output", title="= output", row_name="token")

render.draw_nav(PAGE, settings)
