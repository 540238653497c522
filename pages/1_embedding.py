import streamlit as st

from ui import frames, render
from ui.controls import page_setup
from ui.pages import stage_page

PAGE = stage_page(1)
settings, trace = page_setup(PAGE)
tokens = render.labels(trace)
d_model = trace.config.d_model
columns = frames.dim_labels("x", d_model)

if render.is_pretrained(trace):
    render.draw_stage_intro(
        PAGE,
        "MiniLM splits the sentence into **WordPiece** tokens (a rare word becomes several pieces marked "
        "##) and adds [CLS] and [SEP]. Layer 0 reads, for each token, the sum of three learned vectors — "
        "its word piece, its position and its segment — normalised to mean 0 and variance 1 "
        "(LayerNorm). Every later layer reads the output of the layer before. That input is **X**.",
        r"X^{(0)} = \mathrm{LayerNorm}(E_{word} + E_{position} + E_{type}) \qquad "
        r"X^{(\ell)} = \text{output of layer } \ell - 1",
    )
    render.draw_pretrained_note(trace, settings.head)
else:
    render.draw_stage_intro(
        PAGE,
        "The sentence is split into tokens, and each token is looked up in a table of vectors: its "
        "**embedding**. Stacked as rows, they form the matrix **X**, one row per token. In a trained model "
        "these vectors are learned so that related words get similar vectors; here they are random but "
        "fixed (the same word always gets the same row). Attention by itself ignores word order, so a "
        "**positional encoding** can be added to tell the positions apart.",
        r"X_i = E[\text{token}_i] + P_i \qquad X \in \mathbb{R}^{n \times d_{model}}",
    )
render.draw_shapes(("tokens", (len(tokens),)), ("X", trace.x.shape))
st.markdown("**Tokens:** " + " · ".join(render.escape_markdown(t) for t in tokens))

if render.is_pretrained(trace) or trace.config.positional == "none":
    render.draw_heatmap(trace.x, tokens, columns, "X", row_name="token", column_name="dimension")
    if not render.is_pretrained(trace):
        st.caption(
            "No positional encoding: repeated words get identical rows. Switch it on under "
            "*Model settings* to see them differ."
        )
else:
    panels = (
        (trace.embeddings, "embeddings", "token embedding E"),
        (trace.positional, "positional", "+ positional encoding P"),
        (trace.x, "X", "= X"),
    )
    places = render.panel_columns([(matrix, tokens, columns, True) for matrix, _, _ in panels])
    for (place, px), (matrix, name, title) in zip(places, panels, strict=True):
        with place:
            render.draw_heatmap(matrix, tokens, columns, name, room=px, title=title)

render.draw_checks(trace, settings.head, PAGE.stage)
render.draw_nav(PAGE, settings)
