"""Overview: all seven stages of self-attention side by side for the sentence in the sidebar.

Run with `streamlit run app.py`. Every page starts with the same sidebar (ui.controls).
"""

import streamlit as st

from attention_core import STAGES
from ui import frames, render
from ui.controls import page_setup
from ui.pages import OVERVIEW, stage_page

settings, trace = page_setup(OVERVIEW)
head = settings.head
tokens = render.labels(trace)
config = trace.config

st.title("Self-attention, step by step")
st.markdown(
    f"Sentence: **{render.escape_markdown(' '.join(trace.tokens))}** — {len(tokens)} tokens, "
    f"d_model = {config.d_model}, d_k = {config.d_k}, d_v = {config.d_v}, "
    f"{config.n_heads} head{'s' if config.n_heads > 1 else ''}"
    + (f" (showing head {head + 1})" if config.n_heads > 1 else "")
    + ". Each panel is one stage; open it for the details and the arithmetic."
)

panels = {
    1: (frames.matrix_frame(trace.x, tokens, frames.dim_labels("x", config.d_model)), "signed", "X"),
    2: (frames.matrix_frame(trace.w_q[head], frames.dim_labels("x", config.d_model),
                            frames.dim_labels("q", config.d_k)), "signed", "W_q"),
    3: (frames.matrix_frame(trace.q[head], tokens, frames.dim_labels("q", config.d_k)), "signed", "Q"),
    4: (frames.matrix_frame(trace.scores[head], tokens, tokens), "signed", "Q·Kᵀ"),
    5: (frames.matrix_frame(trace.scaled[head], tokens, tokens), "signed", "scaled"),
    6: (frames.matrix_frame(trace.weights[head], tokens, tokens), "weights", "weights"),
    7: (frames.matrix_frame(trace.head_outputs[head], tokens, frames.dim_labels("o", config.d_v)), "signed",
        "output"),
}
for column, stage in zip(st.columns(len(STAGES), gap="small"), STAGES, strict=True):
    frame, kind, name = panels[stage.number]
    with column:
        st.page_link(stage_page(stage.number).path, label=f"**{stage.number}. {stage.title}**",
                     query_params=settings.link_params)
        st.caption(stage.summary)
        render.draw_heatmap(frame, f"overview_{stage.number}_{name}", kind=kind, numbers=False, height=260,
                            download=False)

if config.n_heads > 1:
    st.subheader("Every head's attention weights")
    for index, column in enumerate(st.columns(config.n_heads)):
        with column:
            render.draw_heatmap(frames.matrix_frame(trace.weights[index], tokens, tokens),
                                f"overview_head_{index + 1}", kind="weights", title=f"head {index + 1}",
                                numbers=False, height=240, download=False)

st.divider()
render.draw_nav(OVERVIEW, settings)
