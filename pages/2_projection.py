import streamlit as st

from ui import frames, render
from ui.controls import page_setup
from ui.pages import stage_page

PAGE = stage_page(2)
settings, trace = page_setup(PAGE)
head = settings.head
tokens = render.labels(trace)
config = trace.config
x_dims = frames.dim_labels("x", config.d_model)

render.draw_stage_intro(
    PAGE,
    "Each token's row of X is multiplied by three **learned weight matrices**. They give every token "
    "three different roles: W_q turns it into a **query** (what am I looking for?), W_k into a **key** "
    "(what do I contain?), and W_v into a **value** (what do I pass on if someone attends to me?). "
    "Training adjusts these matrices; here they are random, scaled by 1/√d_model to keep numbers small.",
    r"Q = X W_q \qquad K = X W_k \qquad V = X W_v",
)
render.draw_shapes(
    ("X", trace.x.shape),
    ("W_q", trace.w_q.shape[1:]),
    ("W_k", trace.w_k.shape[1:]),
    ("W_v", trace.w_v.shape[1:]),
)
if config.n_heads > 1:
    st.caption(f"Showing head {head + 1} of {config.n_heads}; every head has its own three matrices.")

for name, weights, result, prefix in (
    ("Q", trace.w_q, trace.q, "q"),
    ("K", trace.w_k, trace.k, "k"),
    ("V", trace.w_v, trace.v, "v"),
):
    st.subheader(f"X · W_{prefix} = {name}")
    dims = frames.dim_labels(prefix, weights.shape[-1])
    x_col, times, w_col, equals, out_col = st.columns(
        [config.d_model, 0.6, weights.shape[-1] + 1, 0.6, weights.shape[-1] + 1]
    )
    with x_col:
        render.draw_heatmap(
            frames.matrix_frame(trace.x, tokens, x_dims), f"X_for_{name}", title="X", download=False
        )
    times.markdown("## ·")
    with w_col:
        render.draw_heatmap(
            frames.matrix_frame(weights[head], x_dims, dims), f"W_{prefix}", title=f"W_{prefix}"
        )
    equals.markdown("## =")
    with out_col:
        render.draw_heatmap(frames.matrix_frame(result[head], tokens, dims), name, title=name)

render.draw_nav(PAGE, settings)
