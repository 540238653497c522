import streamlit as st

from attention_viz import frames, text
from ui import render
from ui.controls import page_setup
from ui.pages import stage_page

PAGE = stage_page(2)
settings, trace = page_setup(PAGE)
head = settings.head
tokens = render.labels(trace)
config = trace.config
x_dims = frames.dim_labels("x", config.d_model)

render.draw_stage_intro(PAGE, trace)
render.draw_shapes(*text.shapes(trace, PAGE.stage))
if config.n_heads > 1:
    st.caption(f"Showing head {head + 1} of {config.n_heads}; every head has its own three matrices.")

if render.is_pretrained(trace):
    render.draw_pretrained_note(trace, head)
    st.markdown(
        "MiniLM's projections also add a learned **bias** vector (b_q, b_k, b_v). PyTorch stores each "
        "weight as [out, in]; here it is transposed to [in, out] so that a row of X times W gives a row of Q."
    )

for name, weights, biases, result, prefix in (
    ("Q", trace.w_q, trace.b_q, trace.q, "q"),
    ("K", trace.w_k, trace.b_k, trace.k, "k"),
    ("V", trace.w_v, trace.b_v, trace.v, "v"),
):
    has_bias = bool(biases[head].any())
    st.subheader(f"X · W_{prefix}{f' + b_{prefix}' if has_bias else ''} = {name}")
    dims = frames.dim_labels(prefix, weights.shape[-1])
    # X · W = result in one row, about the same cell width in each, unless that would be cramped.
    widths = [config.d_model + 3, 0.6, len(dims) + 3, 0.6, len(dims) + 3]
    panels = [
        (trace.x, tokens, x_dims, True),
        (weights[head], x_dims, dims, True),
        (result[head], tokens, dims, True),
    ]
    if render.cramped(panels, render.rooms(widths)[::2]):
        (x_col, x_px), (w_col, w_px), (out_col, out_px) = [(st.container(), None)] * 3
        times = equals = None
    else:
        (x_col, x_px), (times, _), (w_col, w_px), (equals, _), (out_col, out_px) = render.columns(widths)
    with x_col:
        render.draw_heatmap(trace.x, tokens, x_dims, f"X_for_{name}", room=x_px, title="X", download=False)
    if times:
        times.markdown("## ·")
    with w_col:
        render.draw_heatmap(weights[head], x_dims, dims, f"W_{prefix}", room=w_px, title=f"W_{prefix}")
        if has_bias:
            render.draw_heatmap(
                biases[head][None, :], [f"b_{prefix}"], dims, f"b_{prefix}", room=w_px, title=f"+ b_{prefix}"
            )
    if equals:
        equals.markdown("## =")
    with out_col:
        render.draw_heatmap(result[head], tokens, dims, name, room=out_px, title=name)

render.draw_checks(trace, settings.head, PAGE.stage)
render.draw_nav(PAGE, settings)
