"""Overview: every stage of self-attention on one screen, for the sentence in the sidebar.

Run with `streamlit run app.py`. Every page starts with the same sidebar (ui.sidebar).
"""

import streamlit as st

from attention_viz import panels, stages
from ui import render
from ui.columns import flow
from ui.page import page_setup
from ui.pages import OVERVIEW, stage_page

THUMBNAIL_PX = 150  # a thumbnail's cells are at most this tall, so both rows of stages fit a screen

settings, trace = page_setup(OVERVIEW)
family, head = settings.family, settings.head
config = trace.config

st.title("Self-attention, step by step")
st.markdown(
    f"**{render.escape_markdown(' '.join(trace.tokens))}** — {len(trace.tokens)} {family.units}, "
    f"{render.escape_markdown(trace.source.caption)}, d_model = {config.d_model}, d_k = {config.d_k}, d_v = {config.d_v}"
    + (f", head {head + 1} of {config.n_heads}" if config.n_heads > 1 else "")
    + ". Each panel is one stage: click its title for the details and the arithmetic."
)

overview = list(stages.overview_panels(trace, family.stages, head).items())
half = len(overview) // 2  # two rows: seven stages as 3 + 4
for row in (overview[:half], overview[half:]):
    for (column, px), (slug, panel) in zip(flow(len(row), len(row)), row, strict=True):
        shown = panels.thumbnail(panel)
        with column:
            st.page_link(
                stage_page(slug).link,
                label=f"**{panel.title}**",
                icon=":material/open_in_new:",
                query_params=settings.link_params,
                help=stages.VIEWS[slug].stage.summary,
            )
            render.draw_panel(
                shown,
                room=px,
                title=None,
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
    if family.sizes(settings.options).layers > 1:  # a real model's many heads: one chart to send, not twelve
        render.draw_head_grid(
            trace.weights[None],
            [f"layer {settings.layer}"],
            [f"head {h + 1}" for h in range(config.n_heads)],
            "overview_heads",
        )
    else:
        render.draw_head_weights(trace, "overview_head", max_plot=THUMBNAIL_PX, download=False)

render.draw_nav(OVERVIEW, settings)
