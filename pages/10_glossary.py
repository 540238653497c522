import streamlit as st

from ui.controls import page_setup
from ui.pages import EXTRA_PAGES

PAGE = EXTRA_PAGES[2]
page_setup(PAGE, compute=False)

st.title(PAGE.title)
st.markdown("""
**Token** — a piece of the sentence: here a word or a punctuation mark.

**Embedding** — the vector that stands for a token. The rows of **X** are the embeddings of the sentence.

**Query** — what a token is looking for. Compared with every key to decide where the token attends.

**Key** — what a token offers to be found by. A key that matches a query gets a high score.

**Value** — what a token hands over when someone attends to it. Outputs are mixes of values.

**Score** — how well one query matches one key: their dot product. High means "relevant".

**Scaling** — dividing scores by √d_k so that their size does not grow with the vector width.

**Softmax** — turns a row of scores into positive weights that add up to 1; the biggest score gets the biggest share.

**Attention weights** — the result of the softmax: row i says how much token i takes from each token.

**Head** — one complete set of W_q, W_k, W_v. Several heads look at the same sentence in different ways; their outputs are joined and mixed by W_o.

**Mask** — a rule that forbids some pairs. The causal mask stops a token from looking at later tokens, as in a model that writes text one token at a time.

**Temperature** — a number that divides the scores before softmax: small values sharpen the weights, large values even them out.
""")

st.header("Using it in class")
st.markdown("""
1. Type a short sentence in the sidebar (four to eight words read best on a projector).
2. Start at **Overview** to show the whole pipeline, then walk through the stages with **Next** at the
   bottom of each page.
3. On stages 4 to 7, open **Show me the numbers** and pick a query and a key: every number of the
   calculation is there.
4. Ask "what if": switch off scaling, turn on the causal mask, add a head — every page recomputes.
5. **Share the view:** the address bar always holds the sentence, the settings, the page and the
   selected cell. Copy it into your slides or a chat; opening it shows exactly the same view.
6. Every table can be downloaded as CSV (below each chart) and the whole computation as JSON (sidebar).
""")
st.caption(
    "The embeddings and weights are random (but fixed by the seed): the patterns show how attention "
    "computes, not what a trained model has learned."
)
