import streamlit as st

from ui.page import page_setup
from ui.pages import page_at

PAGE = page_at("pages/10_glossary.py")
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
2. Switch on **Presenter mode**: the sidebar goes away, the type grows, and each stage fills the screen.
   Move with the large buttons at the top, the ← and → keys, or a presentation clicker (Page Up / Page
   Down); Esc leaves presenter mode.
3. Start at **Overview** to show the whole pipeline, then walk through the stages.
4. Switch on **Predict first** to ask the room before the numbers appear on stages 4 to 7.
5. On stages 4 to 7, open **Show me the numbers** and pick a query and a key: every number of the
   calculation is there.
6. Ask "what if": switch off scaling, turn on the causal mask, add a head, edit a number on
   **What if?**, or put two runs side by side on **Compare two runs** — every page recomputes.
7. Show what a trained model does: choose **MiniLM** under *Model* and browse **Every head of every layer**.
8. **Share the view:** *Link to this view* in the sidebar holds the sentence, the settings, the page and
   the selected cell. Put a list of such links in your lesson plan; each opens exactly that view.
9. Every table can be downloaded as CSV (below each chart) and the whole computation as JSON (sidebar).
""")
st.caption(
    "The random model's embeddings and weights are random (but fixed by the seed): its patterns show how "
    "attention computes, not what a trained model has learned. MiniLM's are learned."
)
