"""Overview: all seven stages of self-attention on one screen, for the sentence in the sidebar.

Run with `streamlit run app.py`. Every page starts with the same sidebar (ui.controls).
"""

import streamlit as st

from attention_core import STAGES
from attention_viz import figures
from ui import render
from ui.controls import page_setup
from ui.pages import OVERVIEW, stage_page

THUMBNAIL_PX = 150  # a thumbnail's cells are at most this tall, so both rows of stages fit a screen

settings, trace = page_setup(OVERVIEW)
head = settings.head
tokens = render.labels(trace)
config = trace.config

st.title("Self-attention, step by step")
st.markdown(
    f"**{render.escape_markdown(' '.join(trace.tokens))}** — {len(tokens)} tokens, "
    f"d_model = {config.d_model}, d_k = {config.d_k}, d_v = {config.d_v}"
    + (f", head {head + 1} of {config.n_heads}" if config.n_heads > 1 else "")
    + ". Each panel is one stage: click its title for the details and the arithmetic."
)

panels = figures.overview_panels(trace, head)  # stage number -> its matrix
for row in (STAGES[:3], STAGES[3:]):
    for (column, px), stage in zip(render.flow(len(row), len(row)), row, strict=True):
        panel = panels[stage.number]
        shown = figures.thumbnail(panel)
        with column:
            st.page_link(
                stage_page(stage.number).path,
                label=f"**{stage.number}. {stage.title}**",
                icon=":material/open_in_new:",
                query_params=settings.link_params,
                help=stage.summary,
            )
            render.draw_heatmap(
                shown.values,
                shown.rows,
                shown.columns,
                f"overview_{stage.number}_{stage.slug}",
                room=px,
                kind=panel.kind,
                numbers=False,
                colorbar=False,  # a thumbnail's colours are read on its stage page; the cells get the width
                max_plot=THUMBNAIL_PX,
                download=False,
            )
            if shown.values.shape != panel.values.shape:
                (r, c), (rows, columns) = shown.values.shape, panel.values.shape
                st.caption(f"The first {r} × {c} of {rows} × {columns}.")

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
