"""Overview: all seven stages of self-attention on one screen, for the sentence in the sidebar.

Run with `streamlit run app.py`. Every page starts with the same sidebar (ui.controls).
"""

import numpy as np
import streamlit as st

from attention_core import STAGES
from ui import frames, render
from ui.controls import page_setup
from ui.pages import OVERVIEW, stage_page

THUMBNAIL_CELLS = 64  # a panel is a few hundred pixels wide: MiniLM's 384 columns would be a smear
THUMBNAIL_PX = 150  # a thumbnail's cells are at most this tall, so both rows of stages fit a screen

settings, trace = page_setup(OVERVIEW)
head = settings.head
tokens = render.labels(trace)
config = trace.config
x_dims = frames.dim_labels("x", config.d_model)
qkv_dims = [
    *frames.dim_labels("q", config.d_k),
    *frames.dim_labels("k", config.d_k),
    *frames.dim_labels("v", config.d_v),
]

st.title("Self-attention, step by step")
st.markdown(
    f"**{render.escape_markdown(' '.join(trace.tokens))}** — {len(tokens)} tokens, "
    f"d_model = {config.d_model}, d_k = {config.d_k}, d_v = {config.d_v}"
    + (f", head {head + 1} of {config.n_heads}" if config.n_heads > 1 else "")
    + ". Each panel is one stage: click its title for the details and the arithmetic."
)

panels = {  # stage number -> (matrix, row labels, column labels, colour kind); Q, K, V side by side
    1: (trace.x, tokens, x_dims, "signed"),
    2: (np.hstack([trace.w_q[head], trace.w_k[head], trace.w_v[head]]), x_dims, qkv_dims, "signed"),
    3: (np.hstack([trace.q[head], trace.k[head], trace.v[head]]), tokens, qkv_dims, "signed"),
    4: (trace.scores[head], tokens, tokens, "signed"),
    5: (trace.scaled[head], tokens, tokens, "signed"),
    6: (trace.weights[head], tokens, tokens, "weights"),
    7: (trace.head_outputs[head], tokens, frames.dim_labels("o", config.d_v), "signed"),
}
for row in (STAGES[:3], STAGES[3:]):
    for (column, px), stage in zip(render.flow(len(row), len(row)), row, strict=True):
        matrix, rows, columns, kind = panels[stage.number]
        with column:
            st.page_link(
                stage_page(stage.number).path,
                label=f"**{stage.number}. {stage.title}**",
                icon=":material/open_in_new:",
                query_params=settings.link_params,
                help=stage.summary,
            )
            shown = matrix[:THUMBNAIL_CELLS, :THUMBNAIL_CELLS]
            render.draw_heatmap(
                shown,
                rows[:THUMBNAIL_CELLS],
                columns[:THUMBNAIL_CELLS],
                f"overview_{stage.number}_{stage.slug}",
                room=px,
                kind=kind,
                numbers=False,
                colorbar=False,  # a thumbnail's colours are read on its stage page; the cells get the width
                max_plot=THUMBNAIL_PX,
                download=False,
            )
            if shown.shape != matrix.shape:
                st.caption(
                    f"The first {shown.shape[0]} × {shown.shape[1]} of {matrix.shape[0]} × {matrix.shape[1]}."
                )

if config.n_heads > 1:
    st.subheader("Every head's attention weights")
    if render.is_pretrained(trace):  # twelve heads as one figure: one chart to send, not twelve
        render.draw_head_grid(
            trace.weights[None],
            [f"layer {settings.layer}"],
            [f"head {h + 1}" for h in range(config.n_heads)],
            "overview_heads",
        )
    else:
        render.draw_head_weights(trace, "overview_head", max_plot=THUMBNAIL_PX, download=False)

render.draw_nav(OVERVIEW, settings)
